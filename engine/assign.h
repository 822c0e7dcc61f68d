/* assign.h — exact maximum-weight b-matching between needs and candidates.
 *
 * Each need i may take at most count[i] candidates, each candidate j may
 * serve at most capacity[j] needs, each edge (i, j, score) is used at most
 * once; the solver picks the set of edges with the largest total score.
 * It does not have to fill any need or candidate: an assignment is made
 * only when it raises the total; among optimal assignments it prefers one
 * that serves more needs. See assign.c for the algorithm. */
#ifndef KB_ASSIGN_H
#define KB_ASSIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The total is optimal up to KB_ASSIGN_EPS times the largest score per
 * assignment: smaller differences are ties, and among tied solutions the
 * one serving the most needs (at least one unit each) is chosen. */
#define KB_ASSIGN_EPS 1e-9

typedef struct kb_assign_edge {
    uint32_t need, cand;
    double score; /* edges with score <= 0 are never chosen */
} kb_assign_edge_t;

/* Solves the instance. count has nneeds entries, capacity ncands entries;
 * every edge must name a need < nneeds and a candidate < ncands and carry
 * a finite score (else KB_EINVAL). On success chosen[e] is 1 for the edges
 * of an optimal assignment and 0 otherwise, *total is their score summed
 * in edge order, and 0 is returned; KB_ENOMEM if the working memory
 * (linear in nneeds + ncands + nedges) cannot be allocated. The result
 * depends only on the input, including its order. Nothing is retained
 * between calls. */
int kb_assign_solve(uint32_t nneeds, const uint32_t *count, uint32_t ncands,
                    const uint32_t *capacity, const kb_assign_edge_t *edges, size_t nedges,
                    uint8_t *chosen, double *total);

/* kb_assign_solve, and also each need's price (nneeds entries): what one
 * more unit of its count would be worth at the optimum, an optimal dual
 * value of its row in the LP. It bounds what a candidate missing from the
 * need's edges could add: if every such candidate scores at most price[i]
 * (up to KB_ASSIGN_EPS times the largest score), adding them all leaves
 * the assignment optimal. This is how a batch whose candidate lists were
 * cut at a limit knows that the cut did not matter. */
int kb_assign_solve_priced(uint32_t nneeds, const uint32_t *count, uint32_t ncands,
                           const uint32_t *capacity, const kb_assign_edge_t *edges, size_t nedges,
                           uint8_t *chosen, double *total, double *price);

/* A solver kept between solves of an instance that grows by rounds (the
 * batch's longer candidate lists, batch.c "Rounds"): the next solve starts
 * from the last one's assignment and potentials instead of from nothing.
 * Owned by the caller: kb_assign_new, then kb_assign_free. */
typedef struct kb_assign kb_assign_t;

int kb_assign_new(kb_assign_t **out); /* 0 or KB_ENOMEM */
void kb_assign_free(kb_assign_t *as);

/* kb_assign_solve_priced with as's memory and state. With fresh NULL, or
 * when as has no earlier solve, it starts from nothing (the same answer
 * as kb_assign_solve_priced). Otherwise it starts from the last solve with
 * as (assign.c "Warm start"): fresh (nneeds entries) marks the needs whose
 * edges or count changed since, chosen must hold on entry that solve's
 * answer for the edges of the other needs (entries of fresh needs are
 * ignored), and candidates may have been added after the last ones. The
 * start is checked, in time linear in the instance, and dropped for a
 * solve from nothing if it is not an optimal assignment of the instance
 * without the fresh needs: whatever is passed, the answer is optimal.
 * Among several optimal assignments the one picked can depend on the
 * start. Retains nothing of the arguments. */
int kb_assign_resolve(kb_assign_t *as, uint32_t nneeds, const uint32_t *count, uint32_t ncands,
                      const uint32_t *capacity, const kb_assign_edge_t *edges, size_t nedges,
                      const uint8_t *fresh, uint8_t *chosen, double *total, double *price);

/* Whether the last kb_assign_resolve started from the one before. */
bool kb_assign_was_warm(const kb_assign_t *as);

#endif
