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
 * Warm start (kb_assign_resolve). A batch solves in rounds, and between
 * two rounds only some needs' lists grow. The last round's flow is optimal
 * for its instance and its potentials prove it; a longer list adds arcs
 * that may have a negative reduced cost, but only at its need. So each
 * changed ("fresh") need is taken out: its units are cancelled and its
 * edges closed, which leaves a feasible flow on the other needs whose
 * residual arcs all keep a non-negative reduced cost except one kind: a
 * candidate j that gave up a unit regains room on j -> s, whose reduced
 * cost is -v_j < 0 if j had a price. Any negative cycle then uses such an
 * arc, and the cheapest through j -> s is that arc plus a shortest path
 * s ~> j, found by the same Dijkstra run backwards from j over arcs into
 * each node (repair_cand; it stops at s, never expanding it). Units are
 * routed along it while it gains more than eps, and the potentials move
 * as in the forward case, so afterwards the flow is optimal for the
 * instance without the fresh needs, which is exactly the state before
 * add_need in a solve from nothing; the fresh needs are then added in
 * index order with their new edges. The start is checked first, in time
 * linear in the instance (feasible, and every residual arc away from the
 * fresh needs other than j -> s within 2 eps of non-negative under the
 * kept potentials); one that fails is dropped for a solve from nothing,
 * so a wrong start costs time, never optimality. New candidates start
 * with no units and price 0.
 *
 * Determinism. Needs are processed in index order, adjacency lists follow
 * edge order and the heap breaks ties by node index, so the same input
 * always gives the same answer; with a warm start, the same input and
 * start. Among optimal solutions a warm start may pick another one than a
 * solve from nothing (the total, and the needs served, are the same). */
#include "assign.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

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

/* Dijkstra on reduced costs between node src and s, stopping as soon as s
 * is settled; returns whether it was reached. Forward it follows residual
 * arcs out of each node (dist: the shortest path src ~> node) and
 * pred_arc[v] is the arc into v; backward it follows residual arcs into
 * each node, found as the partners of the arcs out of it (dist: node ~>
 * src), and pred_arc[v] is the arc out of v towards src. Leaves
 * dist/pred_arc/state set for touched nodes. Inlined into the two callers
 * below so that the direction is a constant in each. */
static inline bool search(solver_t *sv, uint32_t src, bool backward) {
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
            uint32_t a = backward ? sv->adj[k] ^ 1u : sv->adj[k];
            if (sv->residual[a] == 0) continue;
            uint32_t v = sv->head[sv->adj[k]]; /* the other end, either way */
            if (sv->state[v] == SETTLED) continue;
            double reduced = backward ? arc_cost(sv, a) + sv->pot[v] - sv->pot[u]
                                      : arc_cost(sv, a) + sv->pot[u] - sv->pot[v];
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

static bool shortest_path_to_hub(solver_t *sv, uint32_t src) { return search(sv, src, false); }

static bool shortest_path_from_hub(solver_t *sv, uint32_t dst) { return search(sv, dst, true); }

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

/* Candidate j's arc j -> s, which the warm start (below) may leave with
 * room at a negative reduced cost: while it has both, the cheapest cycle
 * through it, s ~> j -> s, is found by a backward search from j, and a
 * unit is routed along it if that gains more than eps; else the
 * potentials move so that the arc costs at least -eps. Every other
 * residual arc keeps a non-negative reduced cost, as in fill_arc. */
static void repair_cand(solver_t *sv, uint32_t node, uint32_t out_arc, double eps) {
    while (sv->residual[out_arc] > 0 && sv->pot[node] - sv->pot[HUB] < -eps) {
        bool reached = shortest_path_from_hub(sv, node);
        double cycle = 0.0;
        if (reached) {
            double from_hub = sv->dist[HUB];
            cycle = from_hub + sv->pot[node] - sv->pot[HUB];
            for (uint32_t t = 0; t < sv->ntouched; t++) {
                uint32_t v = sv->touched[t];
                if (sv->state[v] == SETTLED) sv->pot[v] += from_hub - sv->dist[v];
            }
        } else {
            /* Nothing leads from s to node: raise the closed set that
             * reaches node so that the arc node -> s costs 0. */
            double shift = sv->pot[HUB] - sv->pot[node];
            for (uint32_t t = 0; t < sv->ntouched; t++) sv->pot[sv->touched[t]] += shift;
        }
        if (reached && cycle < -eps) {
            for (uint32_t v = HUB; v != node;) {
                uint32_t a = sv->pred_arc[v];
                sv->residual[a]--;
                sv->residual[a ^ 1u]++;
                v = sv->head[a];
            }
            sv->residual[out_arc]--;
            sv->residual[out_arc ^ 1u]++;
        }
        for (uint32_t t = 0; t < sv->ntouched; t++) sv->state[sv->touched[t]] = UNSEEN;
        if (!reached || cycle >= -eps) break;
    }
}

struct kb_assign {
    solver_t sv;
    size_t cap_nodes, cap_arcs, cap_adj;
    bool solved; /* sv.pot holds the potentials of the last solve */
    bool warm;   /* the last solve started from the one before */
    uint32_t nneeds, ncands;
    double delta;
};

int kb_assign_new(kb_assign_t **out) {
    *out = calloc(1, sizeof **out);
    return *out ? 0 : KB_ENOMEM;
}

void kb_assign_free(kb_assign_t *as) {
    if (!as) return;
    solver_t *sv = &as->sv;
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
    free(as);
}

bool kb_assign_was_warm(const kb_assign_t *as) { return as->warm; }

static bool resize(void **p, size_t n, size_t elem) {
    void *q = realloc(*p, (n ? n : 1) * elem);
    if (!q) return false;
    *p = q;
    return true;
}

/* Room for the instance, keeping pot (and state, all UNSEEN between
 * searches) of the nodes that exist already. */
static int reserve(kb_assign_t *as, size_t nnodes, size_t narcs, size_t nadj) {
    solver_t *sv = &as->sv;
    if (nnodes > as->cap_nodes) {
        if (!resize((void **)&sv->adj_start, nnodes + 1, sizeof *sv->adj_start) ||
            !resize((void **)&sv->pot, nnodes, sizeof *sv->pot) ||
            !resize((void **)&sv->dist, nnodes, sizeof *sv->dist) ||
            !resize((void **)&sv->pred_arc, nnodes, sizeof *sv->pred_arc) ||
            !resize((void **)&sv->heap, nnodes, sizeof *sv->heap) ||
            !resize((void **)&sv->heap_pos, nnodes, sizeof *sv->heap_pos) ||
            !resize((void **)&sv->touched, nnodes, sizeof *sv->touched) ||
            !resize((void **)&sv->state, nnodes, sizeof *sv->state))
            return KB_ENOMEM;
        memset(sv->state + as->cap_nodes, UNSEEN, nnodes - as->cap_nodes);
        as->cap_nodes = nnodes;
    }
    if (narcs > as->cap_arcs || !sv->head) {
        if (!resize((void **)&sv->head, narcs, sizeof *sv->head) ||
            !resize((void **)&sv->residual, narcs, sizeof *sv->residual))
            return KB_ENOMEM;
        as->cap_arcs = narcs;
    }
    if (nadj > as->cap_adj) {
        if (!resize((void **)&sv->adj, nadj, sizeof *sv->adj)) return KB_ENOMEM;
        as->cap_adj = nadj;
    }
    /* Every array exists after the first call (even for no arcs). */
    return sv->adj_start && sv->head && sv->residual && sv->adj ? 0 : KB_ENOMEM;
}

/* The arcs and the adjacency of the instance (residual capacities are
 * set by the caller). */
static void build_graph(solver_t *sv, uint32_t nneeds, uint32_t ncands) {
    const kb_assign_edge_t *edges = sv->edges;
    size_t nedges = sv->nedges, nnodes = sv->nnodes;
    uint32_t need_base = (uint32_t)(2 * nedges), cand_base = need_base + 2 * nneeds;
    memset(sv->adj_start, 0, (nnodes + 1) * sizeof *sv->adj_start);
    for (size_t e = 0; e < nedges; e++) {
        uint32_t need_node = 1 + edges[e].need, cand_node = 1 + nneeds + edges[e].cand;
        sv->head[2 * e] = cand_node;
        sv->head[2 * e + 1] = need_node;
        sv->adj_start[need_node + 1]++;
        sv->adj_start[cand_node + 1]++;
    }
    for (uint32_t i = 0; i < nneeds; i++) {
        sv->head[need_base + 2 * i] = 1 + i;
        sv->head[need_base + 2 * i + 1] = HUB;
        sv->head[sv->bonus_base + 2 * i] = 1 + i;
        sv->head[sv->bonus_base + 2 * i + 1] = HUB;
        sv->adj_start[1 + i + 1] += 2;
    }
    for (uint32_t j = 0; j < ncands; j++) {
        sv->head[cand_base + 2 * j] = HUB;
        sv->head[cand_base + 2 * j + 1] = 1 + nneeds + j;
        sv->adj_start[1 + nneeds + j + 1]++;
    }
    for (size_t v = 0; v < nnodes; v++) sv->adj_start[v + 1] += sv->adj_start[v];
    /* Fill in edge order, then the arc back to s, using pred_arc as a cursor. */
    uint32_t *fill = sv->pred_arc;
    for (size_t v = 0; v < nnodes; v++) fill[v] = sv->adj_start[v];
    for (size_t e = 0; e < nedges; e++) {
        sv->adj[fill[1 + edges[e].need]++] = (uint32_t)(2 * e);
        sv->adj[fill[1 + nneeds + edges[e].cand]++] = (uint32_t)(2 * e + 1);
    }
    /* Both ways back to s: the other units (cost 0) and the first (+delta). */
    for (uint32_t i = 0; i < nneeds; i++) {
        sv->adj[fill[1 + i]++] = need_base + 2 * i + 1;
        sv->adj[fill[1 + i]++] = sv->bonus_base + 2 * i + 1;
    }
    for (uint32_t j = 0; j < ncands; j++) sv->adj[fill[1 + nneeds + j]++] = cand_base + 2 * j;
}

/* Need i's arcs from s carrying used units: the first one on the
 * first-unit arc, which a min-cost flow always fills first. */
static void set_need_units(solver_t *sv, uint32_t i, uint32_t count, uint32_t used) {
    uint32_t need_arc = (uint32_t)(2 * sv->nedges) + 2 * i, bonus_arc = sv->bonus_base + 2 * i;
    uint32_t first = count > 0 ? 1 : 0, on_first = used > 0 ? 1 : 0;
    sv->residual[bonus_arc] = first - on_first;
    sv->residual[bonus_arc + 1] = on_first;
    sv->residual[need_arc] = count - first - (used - on_first);
    sv->residual[need_arc + 1] = used - on_first;
}

static void cold_start(solver_t *sv, uint32_t nneeds, const uint32_t *count, uint32_t ncands,
                       const uint32_t *capacity) {
    uint32_t cand_base = (uint32_t)(2 * sv->nedges) + 2 * nneeds;
    for (size_t e = 0; e < sv->nedges; e++) {
        sv->residual[2 * e] = sv->edges[e].score > 0.0 ? 1 : 0;
        sv->residual[2 * e + 1] = 0;
    }
    for (uint32_t i = 0; i < nneeds; i++) set_need_units(sv, i, count[i], 0);
    for (uint32_t j = 0; j < ncands; j++) {
        sv->residual[cand_base + 2 * j] = capacity[j];
        sv->residual[cand_base + 2 * j + 1] = 0;
    }
    for (size_t v = 0; v < sv->nnodes; v++) sv->pot[v] = 0.0;
}

/* Warm start: the flow of chosen on the needs not fresh, none on the
 * fresh ones, whose edges stay closed (residual 0 both ways) until they
 * are added. False if that is not a feasible flow, or if a residual arc
 * away from the fresh needs, other than a candidate's arc to s, has a
 * reduced cost below -tol under the kept potentials: then the previous
 * solution is not one of this instance minus the fresh needs. */
static bool warm_start(solver_t *sv, uint32_t nneeds, const uint32_t *count, uint32_t ncands,
                       const uint32_t *capacity, const uint8_t *fresh, const uint8_t *chosen,
                       double tol) {
    uint32_t cand_base = (uint32_t)(2 * sv->nedges) + 2 * nneeds;
    uint32_t *used = sv->pred_arc; /* units per node, need or candidate */
    memset(used, 0, sv->nnodes * sizeof *used);
    for (size_t e = 0; e < sv->nedges; e++) {
        const kb_assign_edge_t *ed = &sv->edges[e];
        bool on = !fresh[ed->need] && chosen[e];
        if (on && !(ed->score > 0.0)) return false;
        sv->residual[2 * e] = !fresh[ed->need] && !on && ed->score > 0.0 ? 1 : 0;
        sv->residual[2 * e + 1] = on;
        used[1 + ed->need] += on;
        used[1 + nneeds + ed->cand] += on;
    }
    for (uint32_t i = 0; i < nneeds; i++) {
        if (used[1 + i] > count[i]) return false;
        set_need_units(sv, i, count[i], used[1 + i]);
    }
    for (uint32_t j = 0; j < ncands; j++) {
        uint32_t u = used[1 + nneeds + j];
        if (u > capacity[j]) return false;
        sv->residual[cand_base + 2 * j] = capacity[j] - u;
        sv->residual[cand_base + 2 * j + 1] = u;
    }
    size_t narcs = 2 * (sv->nedges + 2 * (size_t)nneeds + ncands);
    for (size_t a = 0; a < narcs; a++) {
        if (sv->residual[a] == 0 || (a >= cand_base && a < cand_base + 2 * ncands && !(a & 1u)))
            continue;
        uint32_t to = sv->head[a], from = sv->head[a ^ 1u];
        if ((to >= 1 && to <= nneeds && fresh[to - 1]) ||
            (from >= 1 && from <= nneeds && fresh[from - 1]))
            continue;
        if (arc_cost(sv, (uint32_t)a) + sv->pot[from] - sv->pot[to] < -tol) return false;
    }
    return true;
}

/* Opens fresh need i's edges, then adds it as any need. */
static void add_fresh_need(solver_t *sv, uint32_t i, double eps) {
    for (uint32_t k = sv->adj_start[1 + i]; k < sv->adj_start[2 + i]; k++) {
        uint32_t a = sv->adj[k];
        if (a < 2 * sv->nedges) sv->residual[a] = sv->edges[a >> 1].score > 0.0 ? 1 : 0;
    }
    add_need(sv, i, eps);
}

int kb_assign_resolve(kb_assign_t *as, uint32_t nneeds, const uint32_t *count, uint32_t ncands,
                      const uint32_t *capacity, const kb_assign_edge_t *edges, size_t nedges,
                      const uint8_t *fresh, uint8_t *chosen, double *total, double *price) {
    double max_score = 0.0;
    for (size_t e = 0; e < nedges; e++) {
        if (edges[e].need >= nneeds || edges[e].cand >= ncands || !isfinite(edges[e].score))
            return KB_EINVAL;
        if (edges[e].score > max_score) max_score = edges[e].score;
    }
    size_t nnodes = 1 + (size_t)nneeds + ncands;
    size_t narcs = 2 * (nedges + 2 * (size_t)nneeds + ncands);
    if (nnodes > UINT32_MAX || narcs > UINT32_MAX) return KB_EINVAL;
    double scale = max_score > 1.0 ? max_score : 1.0, delta = KB_ASSIGN_EPS * scale;
    bool warm =
        fresh && as->solved && as->nneeds == nneeds && as->ncands <= ncands && as->delta == delta;
    as->solved = as->warm = false;
    if (reserve(as, nnodes, narcs, 2 * nedges + 2 * (size_t)nneeds + ncands + 1) < 0)
        return KB_ENOMEM;

    solver_t *sv = &as->sv;
    sv->nedges = nedges;
    sv->edges = edges;
    sv->nnodes = (uint32_t)nnodes;
    sv->bonus_base = (uint32_t)(2 * nedges) + 2 * nneeds + 2 * ncands;
    sv->delta = delta;
    double eps = delta / 4;
    /* New candidates start with no units and price 0. */
    for (size_t v = 1 + (size_t)nneeds + as->ncands; warm && v < nnodes; v++)
        sv->pot[v] = sv->pot[HUB];
    build_graph(sv, nneeds, ncands);
    /* The kept potentials hold to within eps (clamping in the searches
     * leaves such arcs as they are) plus rounding: 2 eps. */
    if (warm) warm = warm_start(sv, nneeds, count, ncands, capacity, fresh, chosen, 2 * eps);
    if (warm) {
        uint32_t cand_base = (uint32_t)(2 * nedges) + 2 * nneeds;
        for (uint32_t j = 0; j < ncands; j++)
            repair_cand(sv, 1 + nneeds + j, cand_base + 2 * j, eps);
        for (uint32_t i = 0; i < nneeds; i++)
            if (fresh[i]) add_fresh_need(sv, i, eps);
    } else {
        cold_start(sv, nneeds, count, ncands, capacity);
        for (uint32_t i = 0; i < nneeds; i++) add_need(sv, i, eps);
    }

    double sum = 0.0;
    for (size_t e = 0; e < nedges; e++) {
        chosen[e] = sv->residual[2 * e + 1] > 0;
        if (chosen[e]) sum += edges[e].score;
    }
    *total = sum;
    for (uint32_t i = 0; price && i < nneeds; i++) {
        double u = sv->pot[1 + i] - sv->pot[HUB];
        price[i] = u > 0.0 ? u : 0.0;
    }
    as->solved = true;
    as->warm = warm;
    as->nneeds = nneeds;
    as->ncands = ncands;
    as->delta = delta;
    return 0;
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
    kb_assign_t *as;
    if (kb_assign_new(&as) < 0) return KB_ENOMEM;
    int rc = kb_assign_resolve(as, nneeds, count, ncands, capacity, edges, nedges, NULL, chosen,
                               total, price);
    kb_assign_free(as);
    return rc;
}
