/* assign-bench.c — batch assignment on generated Danish data, in-process.
 *
 * Loads V volunteers and N needs (bench/gen.c, placed like people) and
 * runs POST /v1/assignments' engine call for all open needs: candidate
 * lists from the index, then the exact b-matching (engine/assign.c).
 * Prints the time, the total score and the needs served.
 *
 *   build/bench/assign-bench [--volunteers V[,V...]] [--needs N[,N...]] [--limit L] [--seed S]
 *
 * Sizes pair up in order (2000 needs with 20000 volunteers, ...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void run(const kb_gen_towns_t *towns, uint64_t seed, uint32_t vols, uint32_t needs,
                int limit) {
    kb_engine_t *e;
    kb_gen_t g;
    kb_gen_init(&g, towns, seed);
    if (kb_engine_new(NULL, &e) < 0 || put_all(e, &g, KB_ENT_VOLUNTEER, vols) < 0 ||
        put_all(e, &g, KB_ENT_NEED, needs) < 0)
        exit(1);
    json_t *body = json_pack("{s:i}", "limit_per_need", limit), *out = NULL;
    kb_fault_t f;
    double t0 = kb_bench_now();
    if (kb_engine_assign(e, body, &out, &f) < 0) {
        fprintf(stderr, "assign-bench: %s\n", f.message);
        exit(1);
    }
    double secs = kb_bench_now() - t0;
    json_t *counts = json_object_get(out, "counts");
    printf("  %6u needs x %7u volunteers: %7.3f s, total score %.1f, %lld pairs, %zu needs "
           "unassigned, %lld edges, truncated %s\n",
           needs, vols, secs, json_real_value(json_object_get(out, "total_score")),
           (long long)json_integer_value(json_object_get(counts, "pairs")),
           json_array_size(json_object_get(out, "unassigned")),
           (long long)json_integer_value(json_object_get(counts, "edges")),
           json_is_true(json_object_get(out, "truncated")) ? "yes" : "no");
    json_decref(body);
    json_decref(out);
    kb_engine_free(e);
}

int main(int argc, char **argv) {
    const char *vols = "20000,200000", *needs = "2000,20000";
    uint64_t seed = 42;
    int limit = 100;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--volunteers") && i + 1 < argc) vols = argv[++i];
        else if (!strcmp(argv[i], "--needs") && i + 1 < argc) needs = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--limit") && i + 1 < argc) limit = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: assign-bench [--volunteers V[,V...]] [--needs N[,N...]] "
                            "[--limit L] [--seed S]\n");
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
        run(towns, seed, (uint32_t)strtoul(v, NULL, 10), (uint32_t)strtoul(n, NULL, 10), limit);
        v = strchr(v, ',') ? strchr(v, ',') + 1 : "";
        n = strchr(n, ',') ? strchr(n, ',') + 1 : "";
    }
    kb_gen_towns_free(towns);
    return 0;
}
