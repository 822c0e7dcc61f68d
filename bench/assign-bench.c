/* assign-bench.c — batch assignment on generated Danish data, in-process.
 *
 * Loads V volunteers and N needs (bench/gen.c, placed like people) and
 * runs POST /v1/assignments' steps for all open needs: candidate lists
 * from the index, then the exact b-matching (engine/assign.c), then the
 * answer. Prints the times, the total score, the needs served and a
 * digest of the pairs. With --scipy FILE, also compares the solver with
 * scipy's min_weight_full_bipartite_matching on the same edges (FILE is
 * the instance handed to bench/assign-scipy.py).
 *
 *   build/bench/assign-bench [--volunteers V[,V...]] [--needs N[,N...]] [--limit L] [--seed S]
 *                            [--scipy FILE]
 *
 * Sizes pair up in order (2000 needs with 20000 volunteers, ...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "batch.h"
#include "core.h"
#include "gen.h"
#include "timing.h"

static int put_all(kb_engine_t *e, const kb_gen_t *g, kb_entity_t t, uint32_t n) {
    char id[32];
    for (uint32_t i = 1; i <= n; i++) {
        json_t *body = t == KB_ENT_NEED ? kb_gen_need(g, i) : kb_gen_volunteer(g, i), *out = NULL;
        bool created;
        kb_fault_t f;
        kb_gen_id(id, sizeof id, t == KB_ENT_NEED ? "n" : "v", i);
        int rc = kb_engine_put(e, t, id, body, &out, &created, &f);
        json_decref(body);
        json_decref(out);
        if (rc < 0) {
            fprintf(stderr, "assign-bench: %s: %s (%s)\n", id, f.message, f.field);
            return rc;
        }
    }
    return 0;
}

/* A digest of the pairs, to check that a change to the batch leaves its
 * result exactly as it was. */
static unsigned long long pairs_digest(const json_t *pairs) {
    char *text = json_dumps(pairs, JSON_COMPACT);
    unsigned long long h = text ? XXH64(text, strlen(text), 0) : 0;
    free(text);
    return h;
}

/* The solver against scipy on the instance the batch built, reduced to
 * count 1 and capacity 1 (each need one candidate, each candidate one
 * need): a maximum-weight matching, which min_weight_full_bipartite_matching
 * can solve exactly (bench/assign-scipy.py explains the reduction). Both
 * see the same edges; the totals must agree. */
static void versus_scipy(const kb_batch_t *b, const char *file) {
    uint32_t nneeds, ncands;
    const kb_assign_edge_t *edges;
    size_t nedges;
    kb_batch_instance(b, &nneeds, &ncands, &edges, &nedges);
    uint32_t *ones = malloc(((nneeds > ncands ? nneeds : ncands) + 1) * sizeof *ones);
    uint8_t *chosen = malloc(nedges + 1);
    FILE *f = fopen(file, "w");
    if (!ones || !chosen || !f) {
        fprintf(stderr, "assign-bench: cannot write %s\n", file);
        exit(1);
    }
    for (uint32_t i = 0; i < (nneeds > ncands ? nneeds : ncands); i++) ones[i] = 1;
    double total, t0 = kb_bench_now();
    if (kb_assign_solve(nneeds, ones, ncands, ones, edges, nedges, chosen, &total) < 0) exit(1);
    double secs = kb_bench_now() - t0;
    fprintf(f, "%u %u %zu\n", nneeds, ncands, nedges);
    for (size_t e = 0; e < nedges; e++)
        fprintf(f, "%u %u %.17g\n", edges[e].need, edges[e].cand, edges[e].score);
    fclose(f);
    printf("    unit instance (count = capacity = 1): koble %.3f s, total %.6f\n", secs, total);
    fflush(stdout);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 bench/assign-scipy.py %s", file);
    if (system(cmd) != 0) fprintf(stderr, "assign-bench: bench/assign-scipy.py failed\n");
    free(ones);
    free(chosen);
}

static void run(const kb_gen_towns_t *towns, uint64_t seed, uint32_t vols, uint32_t needs,
                int limit, const char *scipy_file) {
    kb_engine_t *e;
    kb_gen_t g;
    kb_gen_init(&g, towns, seed);
    if (kb_engine_new(NULL, &e) < 0 || put_all(e, &g, KB_ENT_VOLUNTEER, vols) < 0 ||
        put_all(e, &g, KB_ENT_NEED, needs) < 0)
        exit(1);
    json_t *body = json_pack("{s:i}", "limit_per_need", limit), *out = NULL;
    kb_fault_t f;
    kb_batch_t *b;
    /* The daemon's steps, timed apart: candidate lists, solver (each round),
     * answer. */
    double t0 = kb_bench_now();
    int rc = kb_batch_new(e, body, &b, &f);
    double lists = 0.0, solve = 0.0, t1, t2 = kb_bench_now();
    do {
        while (rc == 0 && (rc = kb_batch_step(e, b, UINT64_MAX, &f)) > 0) continue;
        t1 = kb_bench_now();
        if (rc == 0 && kb_batch_solve(b) < 0) rc = KB_ENOMEM;
        lists += t1 - t2;
        t2 = kb_bench_now();
        solve += t2 - t1;
    } while (rc == 0 && kb_batch_more(b));
    if (rc == 0) rc = kb_batch_finish(e, b, &out, &f);
    double t3 = kb_bench_now();
    if (rc < 0) {
        fprintf(stderr, "assign-bench: %s\n", f.message);
        exit(1);
    }
    json_t *counts = json_object_get(out, "counts");
    printf("  %6u needs x %7u volunteers: %7.3f s (lists %.3f, solve %.3f, answer %.3f, "
           "%lld rounds), total score %.4f, %lld pairs, %zu needs unassigned, %lld edges, "
           "%lld lists cut (%lld not proven harmless: optimal %s), pairs digest %016llx\n",
           needs, vols, t3 - t0, lists, solve, t3 - t2,
           (long long)json_integer_value(json_object_get(counts, "rounds")),
           json_real_value(json_object_get(out, "total_score")),
           (long long)json_integer_value(json_object_get(counts, "pairs")),
           json_array_size(json_object_get(out, "unassigned")),
           (long long)json_integer_value(json_object_get(counts, "edges")),
           (long long)json_integer_value(json_object_get(counts, "truncated")),
           (long long)json_integer_value(json_object_get(counts, "unproven")),
           json_is_true(json_object_get(out, "optimal")) ? "yes" : "no",
           pairs_digest(json_object_get(out, "pairs")));
    fflush(stdout);
    if (scipy_file) versus_scipy(b, scipy_file);
    kb_batch_free(b);
    json_decref(body);
    json_decref(out);
    kb_engine_free(e);
}

int main(int argc, char **argv) {
    const char *vols = "20000,200000", *needs = "2000,20000", *scipy_file = NULL;
    uint64_t seed = 42;
    int limit = 100;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--volunteers") && i + 1 < argc) vols = argv[++i];
        else if (!strcmp(argv[i], "--needs") && i + 1 < argc) needs = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--limit") && i + 1 < argc) limit = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--scipy") && i + 1 < argc) scipy_file = argv[++i];
        else {
            fprintf(stderr, "usage: assign-bench [--volunteers V[,V...]] [--needs N[,N...]] "
                            "[--limit L] [--seed S] [--scipy FILE]\n");
            return 2;
        }
    }
    kb_gen_towns_t *towns;
    if (kb_gen_towns_load("bench/data/dk_towns.tsv", &towns) < 0) {
        fprintf(stderr, "assign-bench: cannot read bench/data/dk_towns.tsv\n");
        return 1;
    }
    printf("koble batch assignment benchmark: all open needs, limit_per_need %d, seed %llu\n",
           limit, (unsigned long long)seed);
    const char *v = vols, *n = needs;
    while (*v && *n) {
        run(towns, seed, (uint32_t)strtoul(v, NULL, 10), (uint32_t)strtoul(n, NULL, 10), limit,
            scipy_file);
        v = strchr(v, ',') ? strchr(v, ',') + 1 : "";
        n = strchr(n, ',') ? strchr(n, ',') + 1 : "";
    }
    kb_gen_towns_free(towns);
    return 0;
}
