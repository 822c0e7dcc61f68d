/* test_assign.c — kb_assign_solve returns an optimal b-matching.
 *
 * Three kinds of evidence, none of which reuses the solver's code:
 *  - hand cases with known answers, including the trap of the issue: the
 *    greedy best pair takes the only candidate of another need;
 *  - small random instances against an exhaustive search over edge
 *    subsets (backtracking with the count/capacity limits);
 *  - medium random instances (200 needs x 300 candidates) against the LP
 *    optimum from HiGHS (tests/assign_oracle.py, scipy's linprog): the
 *    b-matching LP is totally unimodular, so its optimum is the integral
 *    optimum. python3-scipy is a declared dependency, so a missing scipy
 *    fails the test rather than skipping it;
 *  - the same kind of instances against an LP dual certificate, which
 *    needs nothing outside this file: the test builds a feasible solution
 *    of the dual
 *      min sum count_i u_i + sum cap_j v_j + sum_e w_e
 *      s.t. u_i + v_j + w_e >= score_e, u, v, w >= 0
 *    from Bellman-Ford potentials on the residual graph of the returned
 *    assignment, checks every dual constraint explicitly, and requires the
 *    dual objective to equal the returned total. By weak duality that
 *    proves optimality whatever produced the potentials; if the solution
 *    is not optimal, either Bellman-Ford finds a negative cycle or the
 *    objectives differ, and the test fails. Every solution is also checked
 *    for feasibility and for a total that matches the chosen edges.
 * At the end, batch.c's steps on an in-process engine that changes between
 * them, as it may between the daemon's slices. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assign.h"
#include "batch.h"
#include "checker.h"
#include "enginetest.h"
#include "koble/error.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static uint32_t rnd(uint32_t n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

typedef struct instance {
    uint32_t nneeds, ncands;
    uint32_t *count, *capacity;
    kb_assign_edge_t *edges;
    size_t nedges;
} instance_t;

static void instance_free(instance_t *in) {
    free(in->count);
    free(in->capacity);
    free(in->edges);
}

/* Random instance; each need gets up to per_need distinct candidates.
 * With coarse, scores come from {0.25, 0.5, 0.75, 1} so ties are common. */
static instance_t random_instance(uint32_t nneeds, uint32_t ncands, uint32_t per_need,
                                  uint32_t max_count, uint32_t max_cap, bool coarse) {
    instance_t in = {nneeds,
                     ncands,
                     malloc(nneeds * sizeof(uint32_t)),
                     malloc(ncands * sizeof(uint32_t)),
                     malloc((size_t)nneeds * per_need * sizeof(kb_assign_edge_t)),
                     0};
    for (uint32_t i = 0; i < nneeds; i++) in.count[i] = 1 + rnd(max_count);
    for (uint32_t j = 0; j < ncands; j++) in.capacity[j] = 1 + rnd(max_cap);
    for (uint32_t i = 0; i < nneeds; i++) {
        uint32_t n = rnd(per_need + 1);
        size_t first = in.nedges;
        for (uint32_t k = 0; k < n; k++) {
            uint32_t j = rnd(ncands);
            bool dup = false;
            for (size_t e = first; e < in.nedges; e++) dup |= in.edges[e].cand == j;
            if (dup) continue;
            double s = coarse ? (1 + rnd(4)) / 4.0 : (1 + rnd(1000000)) / 1e6;
            in.edges[in.nedges++] = (kb_assign_edge_t){i, j, s};
        }
    }
    return in;
}

/* Feasible, and *total is the sum of the chosen scores. */
static void check_feasible(const instance_t *in, const uint8_t *chosen, double total) {
    uint32_t *used_need = calloc(in->nneeds + 1, sizeof(uint32_t));
    uint32_t *used_cand = calloc(in->ncands + 1, sizeof(uint32_t));
    double sum = 0.0;
    for (size_t e = 0; e < in->nedges; e++) {
        cr_assert(chosen[e] <= 1);
        if (!chosen[e]) continue;
        used_need[in->edges[e].need]++;
        used_cand[in->edges[e].cand]++;
        sum += in->edges[e].score;
    }
    for (uint32_t i = 0; i < in->nneeds; i++) cr_assert_leq(used_need[i], in->count[i]);
    for (uint32_t j = 0; j < in->ncands; j++) cr_assert_leq(used_cand[j], in->capacity[j]);
    cr_assert_float_eq(sum, total, 1e-9);
    free(used_need);
    free(used_cand);
}

static int cmp_pair(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* No (need, candidate) pair is chosen twice, even if the instance lists
 * it twice. */
static void check_pairs_distinct(const instance_t *in, const uint8_t *chosen) {
    uint64_t *pairs = malloc((in->nedges + 1) * sizeof *pairs);
    size_t n = 0;
    for (size_t e = 0; e < in->nedges; e++)
        if (chosen[e]) pairs[n++] = (uint64_t)in->edges[e].need << 32 | in->edges[e].cand;
    qsort(pairs, n, sizeof *pairs, cmp_pair);
    for (size_t k = 1; k < n; k++)
        cr_assert_neq(pairs[k], pairs[k - 1], "need %u and candidate %u paired twice",
                      (unsigned)(pairs[k] >> 32), (unsigned)pairs[k]);
    free(pairs);
}

static double solve(const instance_t *in, uint8_t *chosen) {
    double total = -1.0;
    cr_assert_eq(kb_assign_solve(in->nneeds, in->count, in->ncands, in->capacity, in->edges,
                                 in->nedges, chosen, &total),
                 0);
    check_feasible(in, chosen, total);
    check_pairs_distinct(in, chosen);
    return total;
}

/* ---- exhaustive search -------------------------------------------------- */

static void exhaustive(const instance_t *in, size_t e, uint32_t *left_need, uint32_t *left_cand,
                       double sum, double *best) {
    if (e == in->nedges) {
        if (sum > *best) *best = sum;
        return;
    }
    const kb_assign_edge_t *ed = &in->edges[e];
    if (left_need[ed->need] > 0 && left_cand[ed->cand] > 0) {
        left_need[ed->need]--;
        left_cand[ed->cand]--;
        exhaustive(in, e + 1, left_need, left_cand, sum + ed->score, best);
        left_need[ed->need]++;
        left_cand[ed->cand]++;
    }
    exhaustive(in, e + 1, left_need, left_cand, sum, best);
}

/* The most needs served (at least one unit each) by any assignment whose
 * total is at least floor. */
static void exhaustive_served(const instance_t *in, size_t e, uint32_t *left_need,
                              uint32_t *left_cand, double sum, double floor, uint32_t *best) {
    if (e == in->nedges) {
        if (sum < floor) return;
        uint32_t served = 0;
        for (uint32_t i = 0; i < in->nneeds; i++) served += left_need[i] < in->count[i];
        if (served > *best) *best = served;
        return;
    }
    const kb_assign_edge_t *ed = &in->edges[e];
    if (left_need[ed->need] > 0 && left_cand[ed->cand] > 0) {
        left_need[ed->need]--;
        left_cand[ed->cand]--;
        exhaustive_served(in, e + 1, left_need, left_cand, sum + ed->score, floor, best);
        left_need[ed->need]++;
        left_cand[ed->cand]++;
    }
    exhaustive_served(in, e + 1, left_need, left_cand, sum, floor, best);
}

static uint32_t exhaustive_most_served(const instance_t *in, double floor) {
    uint32_t left_need[16], left_cand[16], best = 0;
    memcpy(left_need, in->count, in->nneeds * sizeof(uint32_t));
    memcpy(left_cand, in->capacity, in->ncands * sizeof(uint32_t));
    exhaustive_served(in, 0, left_need, left_cand, 0.0, floor, &best);
    return best;
}

static uint32_t needs_served(const instance_t *in, const uint8_t *chosen) {
    uint8_t served[16] = {0};
    uint32_t n = 0;
    for (size_t e = 0; e < in->nedges; e++) {
        if (chosen[e] && !served[in->edges[e].need]) {
            served[in->edges[e].need] = 1;
            n++;
        }
    }
    return n;
}

static double exhaustive_optimum(const instance_t *in) {
    uint32_t left_need[16], left_cand[16];
    memcpy(left_need, in->count, in->nneeds * sizeof(uint32_t));
    memcpy(left_cand, in->capacity, in->ncands * sizeof(uint32_t));
    double best = 0.0;
    exhaustive(in, 0, left_need, left_cand, 0.0, &best);
    return best;
}

/* ---- LP oracle ---------------------------------------------------------- */

/* The optimum of in according to tests/assign_oracle.py (HiGHS via scipy),
 * which reads the instance from a temporary file. Fails the test, saying
 * why, if python3 or scipy is missing: the oracle is a declared dependency
 * (deploy/install-deps.sh), and a skipped comparison would look like a
 * passed one. */
static double lp_optimum(const instance_t *in) {
    char path[] = "/tmp/koble-assign-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0, "mkstemp");
    FILE *f = fdopen(fd, "w");
    cr_assert_not_null(f);
    fprintf(f, "%u %u %zu\n", in->nneeds, in->ncands, in->nedges);
    for (uint32_t i = 0; i < in->nneeds; i++) fprintf(f, "%u ", in->count[i]);
    fputc('\n', f);
    for (uint32_t j = 0; j < in->ncands; j++) fprintf(f, "%u ", in->capacity[j]);
    fputc('\n', f);
    for (size_t e = 0; e < in->nedges; e++)
        fprintf(f, "%u %u %.17g\n", in->edges[e].need, in->edges[e].cand, in->edges[e].score);
    cr_assert_eq(fclose(f), 0);

    char cmd[512], out[512] = "";
    snprintf(cmd, sizeof cmd, "%s tests/assign_oracle.py %s 2>&1", kt_python(), path);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p, "cannot run %s", cmd);
    size_t len = fread(out, 1, sizeof out - 1, p);
    out[len] = '\0';
    int status = pclose(p);
    unlink(path);
    cr_assert_eq(status, 0,
                 "the LP oracle failed (python3-scipy is required, see "
                 "deploy/install-deps.sh): %s",
                 out);
    double optimum = -1.0;
    int fractional = -1;
    cr_assert_eq(sscanf(out, "optimum %lf fractional %d", &optimum, &fractional), 2,
                 "unexpected oracle output: %s", out);
    /* Total unimodularity: HiGHS ends on a vertex, which is integral. */
    cr_assert_eq(fractional, 0, "the LP optimum has %d fractional pairs", fractional);
    return optimum;
}

/* ---- dual certificate --------------------------------------------------- */

typedef struct arc {
    uint32_t from, to;
    double cost;
} arc_t;

/* Circulation through a hub node 0: 0 -> need (count), need -> cand per
 * edge (1, -score), cand -> 0 (capacity). Residual arcs of the chosen
 * assignment, Bellman-Ford from a virtual root, then the dual above with
 * u_i = max(0, p_i - p_hub), v_j = max(0, p_hub - p_j), w_e = the slack. */
static void check_dual_certificate(const instance_t *in, const uint8_t *chosen, double total) {
    uint32_t nnodes = 1 + in->nneeds + in->ncands;
    uint32_t *used_need = calloc(in->nneeds, sizeof(uint32_t));
    uint32_t *used_cand = calloc(in->ncands + 1, sizeof(uint32_t));
    arc_t *arcs = malloc((2 * (in->nneeds + in->ncands) + in->nedges) * sizeof(arc_t));
    size_t narcs = 0;
    for (size_t e = 0; e < in->nedges; e++) {
        uint32_t need = 1 + in->edges[e].need, cand = 1 + in->nneeds + in->edges[e].cand;
        if (chosen[e]) {
            arcs[narcs++] = (arc_t){cand, need, in->edges[e].score};
            used_need[in->edges[e].need]++;
            used_cand[in->edges[e].cand]++;
        } else {
            arcs[narcs++] = (arc_t){need, cand, -in->edges[e].score};
        }
    }
    for (uint32_t i = 0; i < in->nneeds; i++) {
        if (used_need[i] < in->count[i]) arcs[narcs++] = (arc_t){0, 1 + i, 0.0};
        if (used_need[i] > 0) arcs[narcs++] = (arc_t){1 + i, 0, 0.0};
    }
    for (uint32_t j = 0; j < in->ncands; j++) {
        uint32_t node = 1 + in->nneeds + j;
        if (used_cand[j] < in->capacity[j]) arcs[narcs++] = (arc_t){node, 0, 0.0};
        if (used_cand[j] > 0) arcs[narcs++] = (arc_t){0, node, 0.0};
    }

    double *p = calloc(nnodes, sizeof(double));
    bool changed = true;
    for (uint32_t round = 0; round <= nnodes && changed; round++) {
        changed = false;
        for (size_t a = 0; a < narcs; a++) {
            if (p[arcs[a].from] + arcs[a].cost < p[arcs[a].to] - 1e-12) {
                p[arcs[a].to] = p[arcs[a].from] + arcs[a].cost;
                changed = true;
            }
        }
    }
    cr_assert(!changed, "negative cycle in the residual graph: not optimal");

    double dual = 0.0;
    double *u = calloc(in->nneeds, sizeof(double)), *v = calloc(in->ncands + 1, sizeof(double));
    for (uint32_t i = 0; i < in->nneeds; i++) {
        u[i] = fmax(0.0, p[1 + i] - p[0]);
        dual += in->count[i] * u[i];
    }
    for (uint32_t j = 0; j < in->ncands; j++) {
        v[j] = fmax(0.0, p[0] - p[1 + in->nneeds + j]);
        dual += in->capacity[j] * v[j];
    }
    for (size_t e = 0; e < in->nedges; e++) {
        const kb_assign_edge_t *ed = &in->edges[e];
        double w = chosen[e] ? fmax(0.0, ed->score - u[ed->need] - v[ed->cand]) : 0.0;
        cr_assert_geq(u[ed->need] + v[ed->cand] + w, ed->score - 1e-9, "dual infeasible");
        dual += w;
    }
    cr_assert_float_eq(dual, total, 1e-6, "dual %.9f != primal %.9f", dual, total);
    free(u);
    free(v);
    free(p);
    free(arcs);
    free(used_need);
    free(used_cand);
}

/* ---- hand cases --------------------------------------------------------- */

/* Small instances with one right answer each, solved and checked for
 * feasibility on the way. */
Test(assign, hand_cases) {
    static const struct {
        const char *what;
        uint32_t nneeds, ncands, count[3], cap[3];
        size_t nedges;
        kb_assign_edge_t edges[4];
        double total;
        uint8_t chosen[4];
    } cases[] = {
        /* what, needs, candidates, counts, capacities, edges, total, chosen */
        /* clang-format off */
        {"greedy trap: need 0 prefers X (0.9) but can use Y (0.8); need 1 can only use X",
         2, 2, {1, 1}, {1, 1}, 3, {{0, 0, 0.9}, {0, 1, 0.8}, {1, 0, 0.85}}, 1.65, {0, 1, 1}},
        {"max weight, not max cardinality: 0.1 + 0.5 is worth less than 1.0",
         2, 2, {1, 1}, {1, 1}, 3, {{0, 0, 1.0}, {0, 1, 0.1}, {1, 0, 0.5}}, 1.0, {1, 0, 0}},
        {"a later need displaces an earlier one",
         2, 1, {1, 1}, {1}, 2, {{0, 0, 0.5}, {1, 0, 0.9}}, 0.9, {0, 1}},
        {"a pair once, despite spare count and capacity",
         1, 1, {3}, {3}, 1, {{0, 0, 0.7}}, 0.7, {1}},
        /* Two optimal solutions of total 1.0: need 0 takes both X and Y, or
         * need 0 takes Y and need 1 takes X. Need 0 comes first and, without
         * the preference, would keep both; the second serves both needs. */
        {"ties prefer serving more needs",
         2, 2, {2, 1}, {1, 1}, 3, {{0, 0, 0.5}, {0, 1, 0.5}, {1, 0, 0.5}}, 1.0, {0, 1, 1}},
        {"the preference never costs score: serving both would cost 0.001",
         2, 2, {2, 1}, {1, 1}, 3, {{0, 0, 0.5}, {0, 1, 0.5}, {1, 0, 0.499}}, 1.0, {1, 1, 0}},
        /* clang-format on */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uint32_t count[3], cap[3];
        kb_assign_edge_t edges[4];
        memcpy(count, cases[c].count, sizeof count);
        memcpy(cap, cases[c].cap, sizeof cap);
        memcpy(edges, cases[c].edges, sizeof edges);
        instance_t in = {cases[c].nneeds, cases[c].ncands, count, cap, edges, cases[c].nedges};
        uint8_t chosen[4];
        cr_assert_float_eq(solve(&in, chosen), cases[c].total, 1e-12, "%s", cases[c].what);
        for (size_t e = 0; e < cases[c].nedges; e++)
            cr_assert_eq(chosen[e], cases[c].chosen[e], "%s: edge %zu", cases[c].what, e);
    }
}

Test(assign, capacities_and_counts_bind) {
    /* Candidate 0 (capacity 2) is everybody's favourite; need 2 wants two. */
    uint32_t count[] = {1, 1, 2}, cap[] = {2, 1, 1};
    kb_assign_edge_t edges[] = {{0, 0, 0.9}, {1, 0, 0.8}, {2, 0, 0.95},
                                {2, 1, 0.3}, {0, 2, 0.2}, {1, 1, 0.1}};
    instance_t in = {3, 3, count, cap, edges, 6};
    uint8_t chosen[6];
    double total = solve(&in, chosen);
    /* 0-0 0.9, 2-0 0.95, 2-1 0.3, 1-1 would clash with 2-1: best is
     * {0-0, 2-0, 2-1} = 2.15 vs {0-2, 1-0, 2-0, 2-1} = 2.25. */
    cr_assert_float_eq(total, 2.25, 1e-12);
    cr_assert_float_eq(exhaustive_optimum(&in), 2.25, 1e-12);
}

Test(assign, empty_zero_and_invalid) {
    uint8_t chosen[2] = {7, 7};
    double total = -1.0;
    cr_assert_eq(kb_assign_solve(0, NULL, 0, NULL, NULL, 0, chosen, &total), 0);
    cr_assert_float_eq(total, 0.0, 1e-12);

    uint32_t count[] = {0, 1}, cap[] = {1, 0};
    kb_assign_edge_t edges[] = {{0, 0, 0.9}, {1, 1, 0.9}};
    cr_assert_eq(kb_assign_solve(2, count, 2, cap, edges, 2, chosen, &total), 0);
    cr_assert_eq(chosen[0], 0);
    cr_assert_eq(chosen[1], 0);
    cr_assert_float_eq(total, 0.0, 1e-12);

    uint32_t one[] = {1, 1};
    kb_assign_edge_t bad_cand[] = {{0, 2, 0.5}};
    cr_assert_eq(kb_assign_solve(2, one, 2, one, bad_cand, 1, chosen, &total), KB_EINVAL);
    kb_assign_edge_t bad_score[] = {{0, 0, NAN}};
    cr_assert_eq(kb_assign_solve(2, one, 2, one, bad_score, 1, chosen, &total), KB_EINVAL);
    kb_assign_edge_t nonpositive[] = {{0, 0, 0.0}, {1, 1, -1.0}};
    cr_assert_eq(kb_assign_solve(2, one, 2, one, nonpositive, 2, chosen, &total), 0);
    cr_assert_eq(chosen[0] + chosen[1], 0);
}

/* ---- random ------------------------------------------------------------- */

Test(assign, small_random_matches_exhaustive_search) {
    uint8_t chosen[64];
    for (int round = 0; round < 1500; round++) {
        instance_t in = random_instance(1 + rnd(6), 1 + rnd(6), 4, 2, 3, round % 3 == 0);
        if (in.nedges > 18) in.nedges = 18; /* keep the search small */
        double total = solve(&in, chosen), best = exhaustive_optimum(&in);
        cr_assert_float_eq(total, best, 1e-9, "round %d", round);
        /* Among the optimal solutions, one serving the most needs. */
        cr_assert_eq(needs_served(&in, chosen), exhaustive_most_served(&in, best - 1e-9),
                     "round %d", round);
        check_dual_certificate(&in, chosen, total);
        instance_free(&in);
    }
}

Test(assign, medium_random_has_dual_certificate) {
    for (int round = 0; round < 12; round++) {
        instance_t in = random_instance(200, 300, 20, 2, 3, round % 4 == 3);
        uint8_t *chosen = malloc(in.nedges), *again = malloc(in.nedges);
        double total = solve(&in, chosen);
        cr_assert_gt(total, 0.0);
        check_dual_certificate(&in, chosen, total);
        /* Deterministic: the same input gives the same edges. */
        cr_assert_float_eq(solve(&in, again), total, 0.0);
        cr_assert_eq(memcmp(chosen, again, in.nedges), 0);
        free(chosen);
        free(again);
        instance_free(&in);
    }
}

Test(assign, contested_candidates_have_dual_certificate) {
    /* Few candidates of capacity 1 and many needs: long reassignment paths. */
    for (int round = 0; round < 6; round++) {
        instance_t in = random_instance(300, 60, 8, 2, 1, round % 2 == 1);
        uint8_t *chosen = malloc(in.nedges);
        check_dual_certificate(&in, chosen, solve(&in, chosen));
        free(chosen);
        instance_free(&in);
    }
}

Test(assign, medium_random_matches_lp_oracle, .timeout = 120) {
    /* Capacities 1-3, counts 1-2, up to 12 candidates per need; fine and
     * coarse scores (coarse ones make many ties). A fixed seed per round
     * so a failure can be replayed. */
    for (int round = 0; round < 6; round++) {
        rng = 0x51ED5EEDULL * (uint64_t)(round + 1);
        instance_t in = random_instance(200, 300, 12, 2, 3, round % 3 == 2);
        uint8_t *chosen = malloc(in.nedges);
        double total = solve(&in, chosen);
        double lp = lp_optimum(&in);
        cr_assert_gt(lp, 0.0);
        cr_assert_float_eq(total, lp, 1e-6, "round %d: solver %.9f, LP %.9f", round, total, lp);
        free(chosen);
        instance_free(&in);
    }
}

/* ---- prices: when cut candidate lists did not matter -------------------- */

static int cmp_edge_desc(const void *a, const void *b) {
    const kb_assign_edge_t *x = a, *y = b;
    if (x->need != y->need) return x->need < y->need ? -1 : 1;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return (x->cand > y->cand) - (x->cand < y->cand);
}

Test(assign, prices_prove_when_cut_lists_do_not_matter) {
    /* Each need keeps its best `keep` edges, as a batch's limit does. When
     * every cut need's price reaches the best score it lost, the cut
     * instance's optimum must be the whole instance's; count how often
     * that is claimed, so the test cannot pass by never claiming it. */
    int proven = 0, unproven = 0;
    for (int round = 0; round < 400; round++) {
        instance_t in = random_instance(2 + rnd(40), 2 + rnd(40), 8, 2, 3, round % 3 == 0);
        qsort(in.edges, in.nedges, sizeof *in.edges, cmp_edge_desc);
        uint32_t keep = 1 + rnd(3);
        instance_t cut = in;
        cut.edges = malloc((in.nedges + 1) * sizeof *cut.edges);
        double *cutoff = calloc(in.nneeds, sizeof *cutoff);
        cut.nedges = 0;
        for (size_t e = 0, k = 0; e < in.nedges; e++) {
            k = e > 0 && in.edges[e].need == in.edges[e - 1].need ? k + 1 : 0;
            if (k < keep) cut.edges[cut.nedges++] = in.edges[e];
            else if (k == keep) cutoff[in.edges[e].need] = in.edges[e].score; /* best lost */
        }
        uint8_t *chosen = malloc(in.nedges + 1), *chosen_cut = malloc(cut.nedges + 1);
        double *price = malloc(in.nneeds * sizeof *price), total_cut = -1.0;
        cr_assert_eq(kb_assign_solve_priced(cut.nneeds, cut.count, cut.ncands, cut.capacity,
                                            cut.edges, cut.nedges, chosen_cut, &total_cut, price),
                     0);
        check_feasible(&cut, chosen_cut, total_cut);
        bool ok = true;
        for (uint32_t i = 0; i < in.nneeds; i++) {
            cr_assert_geq(price[i], 0.0);
            if (cutoff[i] > price[i] + KB_ASSIGN_EPS) ok = false;
        }
        double total = solve(&in, chosen);
        if (ok) {
            proven++;
            cr_assert_float_eq(total_cut, total, 1e-6, "round %d: cut %.9f, whole %.9f", round,
                               total_cut, total);
        } else {
            unproven++;
            cr_assert_leq(total_cut, total + 1e-9);
        }
        free(chosen);
        free(chosen_cut);
        free(price);
        free(cutoff);
        free(cut.edges);
        instance_free(&in);
    }
    cr_assert_gt(proven, 40, "proven %d, unproven %d", proven, unproven);
    cr_assert_gt(unproven, 40, "proven %d, unproven %d", proven, unproven);
}

/* ---- warm start across rounds ------------------------------------------ */

/* A batch's rounds on a whole instance (edges sorted per need, best
 * first): each round's instance holds each need's best lim[i] edges, with
 * count cnt[i], and names candidates in the order the rounds first met
 * them, so that later rounds add candidates after the earlier ones. */
typedef struct rounds {
    const instance_t *full;
    size_t *first;      /* per need: its first edge in full */
    uint32_t *len;      /* per need: its edges in full */
    uint32_t *label;    /* full candidate -> index in the rounds, or UINT32_MAX */
    uint32_t *capacity; /* per index */
    uint32_t nseen;
} rounds_t;

static rounds_t rounds_new(const instance_t *full) {
    rounds_t r = {full,
                  calloc(full->nneeds + 1, sizeof(size_t)),
                  calloc(full->nneeds + 1, sizeof(uint32_t)),
                  malloc((full->ncands + 1) * sizeof(uint32_t)),
                  malloc((full->ncands + 1) * sizeof(uint32_t)),
                  0};
    for (size_t e = full->nedges; e-- > 0;) {
        r.first[full->edges[e].need] = e;
        r.len[full->edges[e].need]++;
    }
    for (uint32_t j = 0; j < full->ncands; j++) r.label[j] = UINT32_MAX;
    return r;
}

static void rounds_free(rounds_t *r) {
    free(r->first);
    free(r->len);
    free(r->label);
    free(r->capacity);
}

/* This round's instance (its arrays owned by the caller) and where each
 * need's list starts in it (off). */
static instance_t round_instance(rounds_t *r, const uint32_t *lim, const uint32_t *cnt,
                                 size_t *off) {
    const instance_t *full = r->full;
    instance_t in = {full->nneeds,
                     0,
                     malloc((full->nneeds + 1) * sizeof(uint32_t)),
                     NULL,
                     malloc((full->nedges + 1) * sizeof(kb_assign_edge_t)),
                     0};
    for (uint32_t i = 0; i < full->nneeds; i++) {
        in.count[i] = cnt[i];
        off[i] = in.nedges;
        for (uint32_t k = 0; k < lim[i] && k < r->len[i]; k++) {
            kb_assign_edge_t ed = full->edges[r->first[i] + k];
            if (r->label[ed.cand] == UINT32_MAX) {
                r->capacity[r->nseen] = full->capacity[ed.cand];
                r->label[ed.cand] = r->nseen++;
            }
            ed.cand = r->label[ed.cand];
            in.edges[in.nedges++] = ed;
        }
    }
    in.ncands = r->nseen;
    in.capacity = malloc((in.ncands + 1) * sizeof(uint32_t));
    memcpy(in.capacity, r->capacity, in.ncands * sizeof(uint32_t));
    return in;
}

/* The warm solve of in against a cold one and the dual certificate: the
 * same total, and as many needs served (the fairness rule). */
static double check_warm(kb_assign_t *as, const instance_t *in, const uint8_t *fresh,
                         uint8_t *chosen, double *price) {
    double total = -1.0, cold_total = -1.0;
    cr_assert_eq(kb_assign_resolve(as, in->nneeds, in->count, in->ncands, in->capacity, in->edges,
                                   in->nedges, fresh, chosen, &total, price),
                 0);
    check_feasible(in, chosen, total);
    check_pairs_distinct(in, chosen);
    check_dual_certificate(in, chosen, total);
    uint8_t *cold = malloc(in->nedges + 1);
    cold_total = solve(in, cold);
    cr_assert_float_eq(total, cold_total, 1e-9, "warm %.12f, cold %.12f", total, cold_total);
    uint32_t served[2] = {0, 0};
    for (uint32_t i = 0; i < in->nneeds; i++) {
        bool warm_has = false, cold_has = false;
        for (size_t e = 0; e < in->nedges; e++) {
            if (in->edges[e].need != i) continue;
            warm_has |= chosen[e];
            cold_has |= cold[e];
        }
        served[0] += warm_has;
        served[1] += cold_has;
    }
    cr_assert_eq(served[0], served[1], "warm serves %u needs, cold %u", served[0], served[1]);
    free(cold);
    return total;
}

/* Runs rounds on full as a batch would: first lists of 0-2 edges, then
 * some needs' lists grow (and sometimes their count changes) and the
 * solve starts from the last one. Returns the rounds that started warm;
 * with lp, the last round is also checked against the LP oracle. */
static int warm_rounds(instance_t *full, int nrounds, bool lp) {
    qsort(full->edges, full->nedges, sizeof *full->edges, cmp_edge_desc);
    rounds_t r = rounds_new(full);
    uint32_t n = full->nneeds, *lim = calloc(n, sizeof *lim), *cnt = calloc(n, sizeof *cnt);
    size_t *off = calloc(n, sizeof *off), *prev_off = calloc(n, sizeof *prev_off);
    uint8_t *fresh = calloc(n, 1), *prev = NULL;
    double *price = malloc(n * sizeof *price);
    for (uint32_t i = 0; i < n; i++) {
        lim[i] = rnd(3);
        cnt[i] = full->count[i];
    }
    kb_assign_t *as;
    cr_assert_eq(kb_assign_new(&as), 0);
    int warm = 0;
    for (int round = 0; round < nrounds; round++) {
        if (round > 0) {
            for (uint32_t i = 0; i < n; i++) {
                fresh[i] = rnd(3) == 0;
                if (!fresh[i]) continue;
                lim[i] += 1 + rnd(4);
                if (rnd(4) == 0) cnt[i] = rnd(4);
            }
        }
        instance_t in = round_instance(&r, lim, cnt, off);
        uint8_t *chosen = calloc(in.nedges + 1, 1);
        /* The last answer, moved to where each unchanged list now is. */
        for (uint32_t i = 0; round > 0 && i < n; i++)
            if (!fresh[i])
                memcpy(chosen + off[i], prev + prev_off[i], lim[i] < r.len[i] ? lim[i] : r.len[i]);
        check_warm(as, &in, round > 0 ? fresh : NULL, chosen, price);
        warm += kb_assign_was_warm(as);
        if (lp && round == nrounds - 1) {
            double total = 0.0;
            for (size_t e = 0; e < in.nedges; e++) total += chosen[e] ? in.edges[e].score : 0.0;
            cr_assert_float_eq(total, lp_optimum(&in), 1e-6);
        }
        free(prev);
        prev = chosen;
        memcpy(prev_off, off, n * sizeof *off);
        free(in.count);
        free(in.capacity);
        free(in.edges);
    }
    kb_assign_free(as);
    free(prev);
    free(price);
    free(fresh);
    free(prev_off);
    free(off);
    free(cnt);
    free(lim);
    rounds_free(&r);
    return warm;
}

Test(assign, warm_rounds_match_cold_solves_and_exhaustive_search) {
    int warm = 0, rounds = 0;
    for (int c = 0; c < 400; c++) {
        instance_t full = random_instance(1 + rnd(6), 1 + rnd(6), 5, 3, 3, c % 3 == 0);
        if (full.nedges > 18) full.nedges = 18; /* keep the search small */
        double best = exhaustive_optimum(&full);
        warm += warm_rounds(&full, 4, false);
        rounds += 3;
        /* Once every list is whole, the rounds must reach the optimum. */
        kb_assign_t *as;
        cr_assert_eq(kb_assign_new(&as), 0);
        uint8_t chosen[32];
        double total;
        cr_assert_eq(kb_assign_resolve(as, full.nneeds, full.count, full.ncands, full.capacity,
                                       full.edges, full.nedges, NULL, chosen, &total, NULL),
                     0);
        cr_assert_float_eq(total, best, 1e-9);
        kb_assign_free(as);
        instance_free(&full);
    }
    /* Every round after the first starts warm: the start it is given is
     * the last answer, which the check must accept. */
    cr_assert_eq(warm, rounds);
}

Test(assign, warm_rounds_match_cold_solves_on_medium_instances) {
    int warm = 0;
    for (int c = 0; c < 12; c++) {
        /* Contested (few candidates, capacity 1-2) and spread instances. */
        instance_t full = c % 2 ? random_instance(200, 300, 16, 3, 3, c % 4 == 1)
                                : random_instance(300, 60, 8, 2, 2, c % 4 == 2);
        warm += warm_rounds(&full, 5, false);
        instance_free(&full);
    }
    cr_assert_eq(warm, 12 * 4);
}

Test(assign, warm_rounds_match_lp_oracle, .timeout = 120) {
    for (int c = 0; c < 3; c++) {
        rng = 0x3A3A5EEDULL * (uint64_t)(c + 1);
        instance_t full = random_instance(200, 300, 12, 2, 3, c == 2);
        cr_assert_eq(warm_rounds(&full, 4, true), 3);
        instance_free(&full);
    }
}

Test(assign, a_start_that_is_not_the_last_answer_is_dropped) {
    /* Random chosen flags instead of the last answer: whether the check
     * takes the start or drops it, the answer is the cold one; and it must
     * drop some, or it checks nothing. */
    int dropped = 0;
    for (int c = 0; c < 200; c++) {
        instance_t in = random_instance(2 + rnd(30), 2 + rnd(30), 6, 2, 2, c % 2 == 0);
        kb_assign_t *as;
        cr_assert_eq(kb_assign_new(&as), 0);
        uint8_t *chosen = malloc(in.nedges + 1), *fresh = calloc(in.nneeds, 1);
        double total;
        cr_assert_eq(kb_assign_resolve(as, in.nneeds, in.count, in.ncands, in.capacity, in.edges,
                                       in.nedges, NULL, chosen, &total, NULL),
                     0);
        for (size_t e = 0; e < in.nedges; e++)
            if (rnd(4) == 0) chosen[e] ^= 1;
        for (uint32_t i = 0; i < in.nneeds; i++) fresh[i] = rnd(4) == 0;
        check_warm(as, &in, fresh, chosen, NULL);
        dropped += !kb_assign_was_warm(as);
        free(fresh);
        free(chosen);
        kb_assign_free(as);
        instance_free(&in);
    }
    cr_assert_gt(dropped, 20);
}

Test(assign, warm_prices_prove_when_cut_lists_do_not_matter) {
    /* As prices_prove_when_cut_lists_do_not_matter, with the prices of a
     * warm round: the batch trusts them to end its rounds. */
    int proven = 0, unproven = 0;
    for (int c = 0; c < 300; c++) {
        instance_t full = random_instance(2 + rnd(40), 2 + rnd(40), 8, 2, 3, c % 3 == 0);
        qsort(full.edges, full.nedges, sizeof *full.edges, cmp_edge_desc);
        rounds_t r = rounds_new(&full);
        uint32_t n = full.nneeds, *lim = calloc(n, sizeof *lim);
        size_t *off = calloc(n, sizeof *off), *off0 = calloc(n, sizeof *off0);
        uint8_t *fresh = calloc(n, 1);
        double *price = malloc(n * sizeof *price), total;
        for (uint32_t i = 0; i < n; i++) lim[i] = 1;
        instance_t first = round_instance(&r, lim, full.count, off0);
        kb_assign_t *as;
        cr_assert_eq(kb_assign_new(&as), 0);
        uint8_t *chosen0 = malloc(first.nedges + 1);
        cr_assert_eq(kb_assign_resolve(as, n, first.count, first.ncands, first.capacity,
                                       first.edges, first.nedges, NULL, chosen0, &total, price),
                     0);
        /* Lists whose cut is not proven harmless grow, as in batch.c. */
        for (uint32_t i = 0; i < n; i++) {
            bool cut = r.len[i] > 1,
                 harmless = !cut || full.edges[r.first[i] + 1].score <= price[i] + KB_ASSIGN_EPS;
            fresh[i] = !harmless;
            if (fresh[i]) lim[i] = 3;
        }
        instance_t second = round_instance(&r, lim, full.count, off);
        uint8_t *chosen = calloc(second.nedges + 1, 1);
        for (uint32_t i = 0; i < n; i++)
            if (!fresh[i] && r.len[i] > 0) chosen[off[i]] = chosen0[off0[i]];
        double warm_total = check_warm(as, &second, fresh, chosen, price);
        cr_assert(kb_assign_was_warm(as));
        bool ok = true;
        for (uint32_t i = 0; i < n; i++)
            if (r.len[i] > lim[i] &&
                full.edges[r.first[i] + lim[i]].score > price[i] + KB_ASSIGN_EPS)
                ok = false;
        uint8_t *whole = malloc(full.nedges + 1);
        double best = solve(&full, whole);
        if (ok) {
            proven++;
            cr_assert_float_eq(warm_total, best, 1e-6, "case %d: warm %.9f, whole %.9f", c,
                               warm_total, best);
        } else {
            unproven++;
            cr_assert_leq(warm_total, best + 1e-9);
        }
        kb_assign_free(as);
        free(whole);
        free(chosen);
        free(chosen0);
        free(price);
        free(fresh);
        free(off);
        free(off0);
        free(lim);
        instance_free(&first);
        instance_free(&second);
        rounds_free(&r);
        instance_free(&full);
    }
    cr_assert_gt(proven, 30, "proven %d, unproven %d", proven, unproven);
    cr_assert_gt(unproven, 30, "proven %d, unproven %d", proven, unproven);
}

/* ---- batch steps on a changing engine ----------------------------------- */

static const char v_near[] = "{\"location\":{\"lat\":54.77,\"lon\":11.87},\"max_distance_km\":50,"
                             "\"skills\":[\"mentoring\"]}",
                  v_north[] = "{\"location\":{\"lat\":54.90,\"lon\":11.87},\"max_distance_km\":50,"
                              "\"skills\":[\"mentoring\"]}",
                  v_far[] = "{\"location\":{\"lat\":56.0,\"lon\":9.87},\"max_distance_km\":50,"
                            "\"skills\":[\"mentoring\"]}";

/* Guldborgsund as in it_assign.c: n-1 reaches v-a and v-b, n-2 only v-a.
 * Both needs lie in one square of batch.c's build order, so their lists
 * are built in batch order: n-1 first. */
static kb_engine_t *guldborgsund(void) {
    kb_engine_t *e;
    kb_fault_t f;
    cr_assert_eq(kb_engine_new(NULL, &e), 0);
    cr_assert_eq(kt_put(e, KB_ENT_VOLUNTEER, "v-a", v_near, &f), 0);
    cr_assert_eq(kt_put(e, KB_ENT_VOLUNTEER, "v-b", v_north, &f), 0);
    cr_assert_eq(kt_put(e, KB_ENT_NEED, "n-1",
                        "{\"kind\":\"mentor\",\"municipality\":\"0376\",\"person_age\":18,"
                        "\"location\":{\"lat\":54.77,\"lon\":11.87},\"max_distance_km\":30,"
                        "\"skills_required\":[\"mentoring\"]}",
                        &f),
                 0);
    cr_assert_eq(kt_put(e, KB_ENT_NEED, "n-2",
                        "{\"kind\":\"mentor\",\"municipality\":\"0376\",\"person_age\":17,"
                        "\"location\":{\"lat\":54.775,\"lon\":11.87},\"max_distance_km\":5,"
                        "\"skills_required\":[\"mentoring\"]}",
                        &f),
                 0);
    return e;
}

static const char *str_at(json_t *root, const char *path) {
    json_t *v = root;
    char buf[128], *save = NULL;
    snprintf(buf, sizeof buf, "%s", path);
    for (char *tok = strtok_r(buf, ".", &save); v && tok; tok = strtok_r(NULL, ".", &save))
        v = json_is_array(v) ? json_array_get(v, strtoul(tok, NULL, 10)) : json_object_get(v, tok);
    return json_string_value(v) ? json_string_value(v) : "(missing)";
}

/* A batch of body_text on e with its first need's list built (a zero
 * budget still makes progress: one need a step). */
static kb_batch_t *batch_after_first_need(kb_engine_t *e, const char *body_text) {
    kb_batch_t *b;
    kb_fault_t f;
    json_t *body = kt_parse(body_text);
    cr_assert_eq(kb_batch_new(e, body, &b, &f), 0);
    json_decref(body);
    cr_assert_eq(kb_batch_step(e, b, 0, &f), 1);
    return b;
}

/* The other need's list, then the solve (lists this short take one round). */
static void batch_solved(kb_engine_t *e, kb_batch_t *b) {
    kb_fault_t f;
    cr_assert_eq(kb_batch_step(e, b, 0, &f), 0);
    cr_assert_eq(kb_batch_solve(b), 0);
    cr_assert_eq(kb_batch_more(b), 0);
}

/* The answer (new reference); frees b. */
static json_t *batch_answer(kb_engine_t *e, kb_batch_t *b) {
    kb_fault_t f;
    json_t *out = NULL;
    cr_assert_eq(kb_batch_finish(e, b, &out, &f), 0);
    kb_batch_free(b);
    return out;
}

Test(batch, proposals_recheck_constraints_and_skip_pairs_that_no_longer_fit) {
    kb_engine_t *e = guldborgsund();
    kb_fault_t f;
    kb_batch_t *b = batch_after_first_need(e, "{\"propose\":true}");
    batch_solved(e, b);
    /* Between the lists and the proposals, v-a moves out of n-2's reach. */
    cr_assert_eq(kt_put(e, KB_ENT_VOLUNTEER, "v-a", v_far, &f), 0);
    json_t *out = batch_answer(e, b);
    cr_assert_str_eq(str_at(out, "pairs.0.need_id"), "n-1");
    cr_assert_str_eq(str_at(out, "pairs.0.candidate.id"), "v-b");
    cr_assert_str_eq(str_at(out, "pairs.0.match_id"), "m-1");
    cr_assert_str_eq(str_at(out, "pairs.1.need_id"), "n-2");
    cr_assert_str_eq(str_at(out, "pairs.1.candidate.id"), "v-a");
    cr_assert_str_eq(str_at(out, "pairs.1.error"), "constraint_failed");
    cr_assert_str_eq(str_at(out, "pairs.1.match_id"), "(missing)");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(out, "proposals"), "made")), 1);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(out, "proposals"), "skipped")),
                 1);
    json_decref(out);
    kb_engine_free(e);
}

Test(batch, slices_hold_ids_not_slots) {
    kb_engine_t *e = guldborgsund();
    kb_fault_t f;
    kb_batch_t *b = batch_after_first_need(e, "{}"); /* n-1: v-a, v-b */
    /* v-a and v-b leave, and v-c, next to n-2, takes the slot freed last
     * (v-b's, unless the pool changes how it reuses slots: either way a
     * slot n-1's list named). */
    cr_assert_eq(kb_engine_delete(e, KB_ENT_VOLUNTEER, "v-a", &f), 0);
    cr_assert_eq(kb_engine_delete(e, KB_ENT_VOLUNTEER, "v-b", &f), 0);
    cr_assert_eq(kt_put(e, KB_ENT_VOLUNTEER, "v-c", v_near, &f), 0);
    batch_solved(e, b); /* n-2: v-c */
    json_t *out = batch_answer(e, b);
    /* Three candidates (v-c is not mistaken for v-b), both needs served. */
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(out, "counts"), "candidates")),
                 3);
    cr_assert_eq(json_array_size(json_object_get(out, "pairs")), 2);
    cr_assert_str_eq(str_at(out, "pairs.0.need_id"), "n-1");
    cr_assert_str_eq(str_at(out, "pairs.1.need_id"), "n-2");
    cr_assert_str_eq(str_at(out, "pairs.1.candidate.id"), "v-c");
    json_decref(out);
    kb_engine_free(e);
}

Test(batch, a_need_closed_before_its_slice_is_not_open) {
    kb_engine_t *e = guldborgsund();
    kb_fault_t f;
    kb_batch_t *b = batch_after_first_need(e, "{\"municipality\":\"0376\"}");
    cr_assert_eq(kb_engine_delete(e, KB_ENT_NEED, "n-2", &f), 0);
    batch_solved(e, b);
    json_t *out = batch_answer(e, b);
    /* n-1 gets its favourite now that n-2 is gone. */
    cr_assert_str_eq(str_at(out, "pairs.0.candidate.id"), "v-a");
    cr_assert_str_eq(str_at(out, "unassigned.0.need_id"), "n-2");
    cr_assert_str_eq(str_at(out, "unassigned.0.reason"), "not_open");
    json_decref(out);
    kb_engine_free(e);
}

Test(batch, a_candidate_created_again_in_another_slot_is_one_candidate) {
    kb_engine_t *e = guldborgsund();
    kb_fault_t f;
    kb_batch_t *b = batch_after_first_need(e, "{}"); /* n-1: v-a, v-b */
    /* v-a is deleted, v-x takes its slot, and v-a comes back in another. */
    cr_assert_eq(kb_engine_delete(e, KB_ENT_VOLUNTEER, "v-a", &f), 0);
    cr_assert_eq(kt_put(e, KB_ENT_VOLUNTEER, "v-x", v_far, &f), 0);
    cr_assert_eq(kt_put(e, KB_ENT_VOLUNTEER, "v-a", v_near, &f), 0);
    batch_solved(e, b); /* n-2: v-a */
    json_t *out = batch_answer(e, b);
    /* v-a once, with capacity 1: the greedy trap's optimum as ever. */
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(out, "counts"), "candidates")),
                 2);
    cr_assert_eq(json_array_size(json_object_get(out, "pairs")), 2);
    cr_assert_str_eq(str_at(out, "pairs.0.candidate.id"), "v-b");
    cr_assert_str_eq(str_at(out, "pairs.1.candidate.id"), "v-a");
    json_decref(out);
    kb_engine_free(e);
}

static json_t *assign(kb_engine_t *e, const char *body_text) {
    json_t *body = kt_parse(body_text), *out = NULL;
    kb_fault_t f;
    cr_assert_eq(kb_engine_assign(e, body, &out, &f), 0, "%s", f.message);
    json_decref(body);
    return out;
}

static json_int_t int_at(json_t *o, const char *a, const char *b) {
    json_t *v = json_object_get(o, a);
    return json_integer_value(b ? json_object_get(v, b) : v);
}

Test(batch, a_cut_list_that_matters_is_not_called_optimal) {
    kb_engine_t *e = guldborgsund();
    /* Limit 1: n-1 keeps only v-a and loses v-b, which the optimum needs. */
    json_t *out = assign(e, "{\"limit_per_need\":1}");
    cr_assert(json_is_true(json_object_get(out, "truncated")));
    cr_assert(json_is_false(json_object_get(out, "optimal")));
    cr_assert_eq(int_at(out, "counts", "truncated"), 1);
    cr_assert_eq(int_at(out, "counts", "unproven"), 1);
    cr_assert_eq(json_array_size(json_object_get(out, "pairs")), 1);
    /* n-2 has one feasible candidate; n-1's one is a cut list, not that. */
    cr_assert_eq(int_at(out, "hard_to_reach", "needs"), 1);
    json_decref(out);
    /* Limit 2 cuts nothing (the search asks for one more to know). */
    out = assign(e, "{\"limit_per_need\":2}");
    cr_assert(json_is_false(json_object_get(out, "truncated")));
    cr_assert(json_is_true(json_object_get(out, "optimal")));
    cr_assert_eq(int_at(out, "counts", "truncated"), 0);
    cr_assert_eq(json_array_size(json_object_get(out, "pairs")), 2);
    json_decref(out);
    kb_engine_free(e);
}

Test(batch, a_cut_list_that_cannot_matter_is_proven_optimal) {
    kb_engine_t *e = guldborgsund();
    kb_fault_t f;
    /* n-2 leaves; n-1 alone keeps its best, v-a, and loses v-b: v-b
     * scores less than v-a, which n-1 gets, so nothing lost could help. */
    cr_assert_eq(kb_engine_delete(e, KB_ENT_NEED, "n-2", &f), 0);
    json_t *out = assign(e, "{\"limit_per_need\":1}");
    cr_assert(json_is_true(json_object_get(out, "truncated")));
    cr_assert_eq(int_at(out, "counts", "truncated"), 1);
    cr_assert_eq(int_at(out, "counts", "unproven"), 0);
    cr_assert(json_is_true(json_object_get(out, "optimal")));
    json_decref(out);
    kb_engine_free(e);
}

Test(batch, lists_that_matter_grow_in_later_rounds) {
    /* 25 needs and 30 alike volunteers at one spot: the first round's
     * lists (20 each) all name the same 20 volunteers, so 5 needs go
     * without; their lists are cut and not harmless, so they are searched
     * again, longer, and everybody is served. */
    kb_engine_t *e;
    kb_fault_t f;
    cr_assert_eq(kb_engine_new(NULL, &e), 0);
    char id[16];
    for (int i = 0; i < 30; i++) {
        snprintf(id, sizeof id, "v-%02d", i);
        cr_assert_eq(kt_put(e, KB_ENT_VOLUNTEER, id, v_near, &f), 0);
    }
    for (int i = 0; i < 25; i++) {
        snprintf(id, sizeof id, "n-%02d", i);
        cr_assert_eq(kt_put(e, KB_ENT_NEED, id,
                            "{\"kind\":\"mentor\",\"municipality\":\"0376\",\"person_age\":18,"
                            "\"location\":{\"lat\":54.77,\"lon\":11.87},\"max_distance_km\":30}",
                            &f),
                     0);
    }
    json_t *out = assign(e, "{}");
    cr_assert_eq(json_array_size(json_object_get(out, "pairs")), 25);
    cr_assert(json_is_true(json_object_get(out, "optimal")));
    cr_assert_geq(int_at(out, "counts", "rounds"), 2);
    json_decref(out);
    /* With limit_per_need 20 nothing may grow: 20 served, not optimal. */
    out = assign(e, "{\"limit_per_need\":20}");
    cr_assert_eq(json_array_size(json_object_get(out, "pairs")), 20);
    cr_assert(json_is_false(json_object_get(out, "optimal")));
    cr_assert_eq(int_at(out, "counts", "rounds"), 1);
    json_decref(out);
    kb_engine_free(e);
}
