/* assign.c — maximum-weight b-matching by successive shortest paths.
 *
 * Model. The problem is a min-cost circulation on a hub node s: an arc
 * s -> need i (capacity count[i], cost 0), need i -> candidate j per edge
 * (capacity 1, cost -score), candidate j -> s (capacity capacity[j],
 * cost 0). The constraint matrix is that of a network, so the LP optimum
 * is integral and a circulation is optimal exactly when its residual graph
 * has no negative cycle. Folding source and sink into one node s is what
 * makes this max-weight rather than max-flow: a unit is routed only along
 * a negative cycle, i.e. when it raises the total score, and a cycle can
 * as well move a need to another candidate or drop a weaker assignment.
 *
 * Why this algorithm. Successive shortest paths with Johnson potentials is
 * the textbook exact method for sparse min-cost flow and needs no scaling
 * or tuning. Auction and cost scaling are faster in the worst case but
 * need an ε schedule and a final exactness argument; the Hungarian method
 * on a matrix expanded by counts and capacities is dense and would let a
 * pair be chosen twice. Here the needs are added one at a time (as the
 * Hungarian method adds rows): before need i is added the flow is optimal
 * for needs 0..i-1, so any negative cycle must use the arc s -> i, and the
 * cheapest one is the arc plus a shortest path i ~> s. We augment along it
 * while its cost is below -eps, at most count[i] times. Each search is a
 * Dijkstra on reduced costs cost(a) + pot[tail] - pot[head] >= 0, run
 * from need i with a binary heap, that stops as soon as s is settled; the
 * potentials of the settled nodes then move by dist - dist(s), which keeps
 * every reduced cost non-negative, including those of the arcs out of s
 * that the search never expands. A candidate with free capacity is one
 * step from s, so a typical search settles only a handful of nodes.
 *
 * Cost. O(F (E + V) log V) in the worst case, F = sum of counts actually
 * assigned (at most min(sum count, nedges)), E = nedges, V = nneeds +
 * ncands; memory O(V + E). In practice each search is local.
 *
 * Floating point. Scores are doubles, so reduced costs can come out a hair
 * below zero; they are clamped to 0 in the search, and an augmenting cycle
 * must gain more than eps = KB_ASSIGN_EPS * max score / 4. The total is
 * thus optimal up to about KB_ASSIGN_EPS * max score per assignment (see
 * Fairness).
 *
 * Fairness. Among optimal solutions the one that serves the most needs
 * (at least one unit each) is preferred. Each need's arc from s is split
 * in two: its first unit (capacity 1, cost -delta) and the others
 * (capacity count - 1, cost 0), so the solver maximises
 * total + delta * served; the cheaper arc fills first, as in any
 * min-cost flow with a convex cost per arc pair. Why that cannot cost real
 * score beyond the tolerance: if x is what the solver returns and y any
 * feasible assignment, total(x) + delta served(x) >= total(y) + delta
 * served(y) (up to the ties below), so total(x) >= total(y) - delta
 * (served(x) - served(y)): x gives up less than delta per need it serves,
 * and delta = KB_ASSIGN_EPS * max score, the tolerance per assignment
 * already stated below. Conversely any y with total(y) >= total(x) serves
 * no more needs than x. Cycles must gain more than eps = delta / 4 to be
 * taken, so a cycle that only serves one more need (gain delta) is taken
 * while floating-point noise (~1e-16 of the potentials per step) is not.
 *
 * Determinism. Needs are processed in index order, adjacency lists follow
 * edge order and the heap breaks ties by node index, so the same input
 * always gives the same answer. */
#include "assign.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "koble/error.h"

#define HUB 0u /* node s; need i is node 1 + i, candidate j node 1 + nneeds + j */

enum { UNSEEN, QUEUED, SETTLED };

typedef struct solver {
    size_t nedges;
    const kb_assign_edge_t *edges;
    uint32_t nnodes;
    uint32_t bonus_base; /* first arc of the first-unit arcs */
    double delta;        /* the first unit's bonus (Fairness) */
    /* Arcs come in pairs a, a ^ 1 (forward, reverse). Arcs 2e, 2e+1 are
     * those of edge e; then need arcs (s -> i, i -> s); then candidate arcs
     * (j -> s, s -> j); then first-unit arcs (s -> i, i -> s). Only arcs of
     * edges and first-unit arcs have a non-zero cost. */
    uint32_t *head, *residual;
    uint32_t *adj_start, *adj; /* CSR of arcs leaving each node but s */
    double *pot, *dist;
    uint32_t *pred_arc, *heap, *heap_pos, *touched;
    uint8_t *state;
    uint32_t heap_len, ntouched;
} solver_t;

static double arc_cost(const solver_t *sv, uint32_t a) {
    if (a >= sv->bonus_base) return (a & 1u) ? sv->delta : -sv->delta;
    if (a >= 2 * sv->nedges) return 0.0;
    double score = sv->edges[a >> 1].score;
    return (a & 1u) ? score : -score;
}

static bool heap_less(const solver_t *sv, uint32_t u, uint32_t v) {
    return sv->dist[u] < sv->dist[v] || (sv->dist[u] == sv->dist[v] && u < v);
}

static void heap_up(solver_t *sv, uint32_t k) {
    uint32_t v = sv->heap[k];
    while (k > 0) {
        uint32_t parent = (k - 1) / 2;
        if (!heap_less(sv, v, sv->heap[parent])) break;
        sv->heap[k] = sv->heap[parent];
        sv->heap_pos[sv->heap[k]] = k;
        k = parent;
    }
    sv->heap[k] = v;
    sv->heap_pos[v] = k;
}

static uint32_t heap_pop(solver_t *sv) {
    uint32_t top = sv->heap[0], v = sv->heap[--sv->heap_len], k = 0;
    for (;;) {
        uint32_t child = 2 * k + 1;
        if (child >= sv->heap_len) break;
        if (child + 1 < sv->heap_len && heap_less(sv, sv->heap[child + 1], sv->heap[child]))
            child++;
        if (!heap_less(sv, sv->heap[child], v)) break;
        sv->heap[k] = sv->heap[child];
        sv->heap_pos[sv->heap[k]] = k;
        k = child;
    }
    if (sv->heap_len > 0) {
        sv->heap[k] = v;
        sv->heap_pos[v] = k;
    }
    return top;
}

/* Dijkstra on reduced costs from node src until s is settled; returns
 * whether s was reached. Leaves dist/pred_arc/state set for touched nodes. */
static bool shortest_path_to_hub(solver_t *sv, uint32_t src) {
    sv->heap_len = 0;
    sv->ntouched = 0;
    sv->dist[src] = 0.0;
    sv->state[src] = QUEUED;
    sv->touched[sv->ntouched++] = src;
    sv->heap[sv->heap_len++] = src;
    heap_up(sv, 0);
    while (sv->heap_len > 0) {
        uint32_t u = heap_pop(sv);
        sv->state[u] = SETTLED;
        if (u == HUB) return true;
        for (uint32_t k = sv->adj_start[u]; k < sv->adj_start[u + 1]; k++) {
            uint32_t a = sv->adj[k];
            if (sv->residual[a] == 0) continue;
            uint32_t v = sv->head[a];
            if (sv->state[v] == SETTLED) continue;
            double reduced = arc_cost(sv, a) + sv->pot[u] - sv->pot[v];
            double nd = sv->dist[u] + (reduced > 0.0 ? reduced : 0.0);
            if (sv->state[v] == UNSEEN) {
                sv->state[v] = QUEUED;
                sv->touched[sv->ntouched++] = v;
                sv->dist[v] = nd;
                sv->pred_arc[v] = a;
                sv->heap[sv->heap_len++] = v;
                heap_up(sv, sv->heap_len - 1);
            } else if (nd < sv->dist[v]) {
                sv->dist[v] = nd;
                sv->pred_arc[v] = a;
                heap_up(sv, sv->heap_pos[v]);
            }
        }
    }
    return false;
}

/* Routes units into node from s along in_arc while that closes a cycle
 * cheaper than -eps. Returns false once nothing reachable from node leads
 * back to s (no unit along any arc into node can help then). */
static bool fill_arc(solver_t *sv, uint32_t node, uint32_t in_arc, double eps) {
    double cost = arc_cost(sv, in_arc);
    while (sv->residual[in_arc] > 0 && cost + sv->pot[HUB] - sv->pot[node] < -eps) {
        bool reached = shortest_path_to_hub(sv, node);
        double cycle = 0.0;
        if (reached) {
            double to_hub = sv->dist[HUB];
            cycle = cost + sv->pot[HUB] - sv->pot[node] + to_hub;
            for (uint32_t t = 0; t < sv->ntouched; t++) {
                uint32_t v = sv->touched[t];
                if (sv->state[v] == SETTLED) sv->pot[v] += sv->dist[v] - to_hub;
            }
        } else {
            /* Nothing reachable from node leads back to s: lower the closed
             * set it reaches so that no arc s -> node is violated (the
             * first-unit arc, the cheapest, gets reduced cost 0). */
            double shift = sv->pot[node] - sv->pot[HUB] + sv->delta;
            for (uint32_t t = 0; t < sv->ntouched; t++) sv->pot[sv->touched[t]] -= shift;
        }
        if (reached && cycle < -eps) {
            for (uint32_t v = HUB; v != node;) {
                uint32_t a = sv->pred_arc[v];
                sv->residual[a]--;
                sv->residual[a ^ 1u]++;
                v = sv->head[a ^ 1u];
            }
            sv->residual[in_arc]--;
            sv->residual[in_arc ^ 1u]++;
        }
        for (uint32_t t = 0; t < sv->ntouched; t++) sv->state[sv->touched[t]] = UNSEEN;
        if (!reached) return false;
        if (cycle >= -eps) break;
    }
    return true;
}

/* Adds need i's units one by one while a negative cycle through an arc
 * s -> i exists: first the first-unit arc, then the others. */
static void add_need(solver_t *sv, uint32_t i, double eps) {
    uint32_t node = 1 + i;
    /* Fresh need: the largest score + pot over its edges makes every
     * reduced cost out of it non-negative and the best one zero. */
    double best = sv->pot[HUB];
    for (uint32_t k = sv->adj_start[node]; k < sv->adj_start[node + 1]; k++) {
        uint32_t a = sv->adj[k];
        if (sv->residual[a] == 0) continue;
        double p = -arc_cost(sv, a) + sv->pot[sv->head[a]];
        if (p > best) best = p;
    }
    sv->pot[node] = best;
    if (fill_arc(sv, node, sv->bonus_base + 2 * i, eps))
        fill_arc(sv, node, (uint32_t)(2 * sv->nedges) + 2 * i, eps);
}

static void solver_free(solver_t *sv) {
    free(sv->head);
    free(sv->residual);
    free(sv->adj_start);
    free(sv->adj);
    free(sv->pot);
    free(sv->dist);
    free(sv->pred_arc);
    free(sv->heap);
    free(sv->heap_pos);
    free(sv->touched);
    free(sv->state);
}

int kb_assign_solve(uint32_t nneeds, const uint32_t *count, uint32_t ncands,
                    const uint32_t *capacity, const kb_assign_edge_t *edges, size_t nedges,
                    uint8_t *chosen, double *total) {
    return kb_assign_solve_priced(nneeds, count, ncands, capacity, edges, nedges, chosen, total,
                                  NULL);
}

/* The prices. At the end every residual arc has a non-negative reduced
 * cost under pot, so u_i = max(0, pot_i - pot_s) for needs, v_j =
 * max(0, pot_s - pot_j) for candidates and w_e = score_e - u_i - v_j for
 * chosen edges (0 for the others) satisfy u_i + v_j + w_e >= score_e on
 * every edge and complementary slackness (u_i > 0 only if s -> i is
 * saturated, v_j > 0 only if j -> s is, w_e > 0 only if e is chosen):
 * an optimal dual. A missing edge (i, j) with x = 0, w = 0 keeps it
 * feasible when score <= u_i, since v_j >= 0; the primal stays optimal.
 * (With the first-unit bonus the same holds for the problem with the
 * bonus, whose optimum is the one returned.) */
int kb_assign_solve_priced(uint32_t nneeds, const uint32_t *count, uint32_t ncands,
                           const uint32_t *capacity, const kb_assign_edge_t *edges, size_t nedges,
                           uint8_t *chosen, double *total, double *price) {
    double max_score = 0.0;
    for (size_t e = 0; e < nedges; e++) {
        if (edges[e].need >= nneeds || edges[e].cand >= ncands || !isfinite(edges[e].score))
            return KB_EINVAL;
        if (edges[e].score > max_score) max_score = edges[e].score;
    }
    size_t nnodes = 1 + (size_t)nneeds + ncands;
    size_t narcs = 2 * (nedges + 2 * (size_t)nneeds + ncands);
    if (nnodes > UINT32_MAX || narcs > UINT32_MAX) return KB_EINVAL;

    int rc = KB_ENOMEM;
    solver_t sv = {.nedges = nedges, .edges = edges, .nnodes = (uint32_t)nnodes};
    sv.head = malloc(narcs * sizeof *sv.head);
    sv.residual = malloc(narcs * sizeof *sv.residual);
    sv.adj_start = calloc(nnodes + 1, sizeof *sv.adj_start);
    sv.adj = malloc((2 * nedges + 2 * (size_t)nneeds + ncands + 1) * sizeof *sv.adj);
    sv.pot = calloc(nnodes, sizeof *sv.pot);
    sv.dist = malloc(nnodes * sizeof *sv.dist);
    sv.pred_arc = malloc(nnodes * sizeof *sv.pred_arc);
    sv.heap = malloc(nnodes * sizeof *sv.heap);
    sv.heap_pos = malloc(nnodes * sizeof *sv.heap_pos);
    sv.touched = malloc(nnodes * sizeof *sv.touched);
    sv.state = calloc(nnodes, sizeof *sv.state);
    if (!sv.head || !sv.residual || !sv.adj_start || !sv.adj || !sv.pot || !sv.dist ||
        !sv.pred_arc || !sv.heap || !sv.heap_pos || !sv.touched || !sv.state)
        goto fail;

    uint32_t need_base = (uint32_t)(2 * nedges), cand_base = need_base + 2 * nneeds;
    uint32_t bonus_base = cand_base + 2 * ncands;
    double scale = max_score > 1.0 ? max_score : 1.0;
    sv.bonus_base = bonus_base;
    sv.delta = KB_ASSIGN_EPS * scale;
    for (size_t e = 0; e < nedges; e++) {
        uint32_t need_node = 1 + edges[e].need, cand_node = 1 + nneeds + edges[e].cand;
        sv.head[2 * e] = cand_node;
        sv.head[2 * e + 1] = need_node;
        sv.residual[2 * e] = edges[e].score > 0.0 ? 1 : 0;
        sv.residual[2 * e + 1] = 0;
        sv.adj_start[need_node + 1]++;
        sv.adj_start[cand_node + 1]++;
    }
    for (uint32_t i = 0; i < nneeds; i++) {
        uint32_t first = count[i] > 0 ? 1 : 0;
        sv.head[need_base + 2 * i] = 1 + i;
        sv.head[need_base + 2 * i + 1] = HUB;
        sv.residual[need_base + 2 * i] = count[i] - first;
        sv.residual[need_base + 2 * i + 1] = 0;
        sv.head[bonus_base + 2 * i] = 1 + i;
        sv.head[bonus_base + 2 * i + 1] = HUB;
        sv.residual[bonus_base + 2 * i] = first;
        sv.residual[bonus_base + 2 * i + 1] = 0;
        sv.adj_start[1 + i + 1] += 2;
    }
    for (uint32_t j = 0; j < ncands; j++) {
        sv.head[cand_base + 2 * j] = HUB;
        sv.head[cand_base + 2 * j + 1] = 1 + nneeds + j;
        sv.residual[cand_base + 2 * j] = capacity[j];
        sv.residual[cand_base + 2 * j + 1] = 0;
        sv.adj_start[1 + nneeds + j + 1]++;
    }
    for (size_t v = 0; v < nnodes; v++) sv.adj_start[v + 1] += sv.adj_start[v];
    /* Fill in edge order, then the arc back to s, using dist as a cursor. */
    uint32_t *fill = sv.pred_arc;
    for (size_t v = 0; v < nnodes; v++) fill[v] = sv.adj_start[v];
    for (size_t e = 0; e < nedges; e++) {
        sv.adj[fill[1 + edges[e].need]++] = (uint32_t)(2 * e);
        sv.adj[fill[1 + nneeds + edges[e].cand]++] = (uint32_t)(2 * e + 1);
    }
    /* Both ways back to s: the other units (cost 0) and the first (+delta). */
    for (uint32_t i = 0; i < nneeds; i++) {
        sv.adj[fill[1 + i]++] = need_base + 2 * i + 1;
        sv.adj[fill[1 + i]++] = bonus_base + 2 * i + 1;
    }
    for (uint32_t j = 0; j < ncands; j++) sv.adj[fill[1 + nneeds + j]++] = cand_base + 2 * j;

    for (uint32_t i = 0; i < nneeds; i++) add_need(&sv, i, sv.delta / 4);

    double sum = 0.0;
    for (size_t e = 0; e < nedges; e++) {
        chosen[e] = sv.residual[2 * e + 1] > 0;
        if (chosen[e]) sum += edges[e].score;
    }
    *total = sum;
    for (uint32_t i = 0; price && i < nneeds; i++) {
        double u = sv.pot[1 + i] - sv.pot[HUB];
        price[i] = u > 0.0 ? u : 0.0;
    }
    rc = 0;
fail:
    solver_free(&sv);
    return rc;
}
