/* match-bench.c — in-process matching benchmark.
 *
 * Loads generated volunteers (placed like Danes live, bench/gen.c) through
 * the engine's public API, stores needs of the seed kinds, then runs one
 * match query at a time on this thread and reports queries/s and latency
 * percentiles per set of needs: all of Denmark (sampled like people),
 * central Copenhagen, central Odense and rural Lolland (Nakskov). Each set
 * is also run through the brute-force scan that scores every volunteer, so
 * the index's speed-up is visible. The timed work is what a request does
 * minus HTTP: rank, then encode the answer as JSON text.
 *
 *   build/bench/match-bench [--volunteers N[,N...]] [--queries N] [--seed S]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "gen.h"
#include "timing.h"

typedef struct stats {
    double qps, p50, p99, max, checked, cells;
} stats_t;

static stats_t summarise(double *lat, int n, double total_s, double checked, double cells) {
    kb_bench_sort(lat, (size_t)n);
    stats_t s = {n / total_s, lat[n / 2], lat[(int)(n * 0.99)], lat[n - 1], checked / n, cells / n};
    return s;
}

static void print_row(const char *set, const char *how, const stats_t *s) {
    printf("  %-22s %-12s %10.0f %9.1f %9.1f %9.1f %10.0f %8.0f\n", set, how, s->qps, s->p50 * 1e6,
           s->p99 * 1e6, s->max * 1e6, s->checked, s->cells);
}

/* The query for a stored need; the benchmark stops on any engine error. */
static void need_query(kb_engine_t *e, const char *id, kb_query_t *q) {
    const kb_need_t *n = kb_store_need(&e->store, kb_pool_find(&e->store.needs, id));
    if (kb_engine_query(e, n, q) < 0) {
        fprintf(stderr, "match-bench: out of memory\n");
        exit(1);
    }
}

static int load(kb_engine_t *e, const kb_gen_t *g, uint32_t volunteers) {
    kb_fault_t f;
    char id[32];
    for (uint32_t i = 1; i <= volunteers; i++) {
        json_t *body = kb_gen_volunteer(g, i), *out = NULL;
        bool created;
        kb_gen_id(id, sizeof id, "v", i);
        int rc = kb_engine_put(e, KB_ENT_VOLUNTEER, id, body, &out, &created, &f);
        json_decref(body);
        json_decref(out);
        if (rc < 0) {
            fprintf(stderr, "match-bench: volunteer %s: %s (%s)\n", id, f.message, f.field);
            return rc;
        }
    }
    return 0;
}

/* Stores `count` needs from make() as n-<base+i> and returns their ids. */
static char **store_needs(kb_engine_t *e, const kb_gen_t *g, int count, uint64_t base, int town) {
    char **ids = calloc((size_t)count, sizeof *ids);
    for (int i = 0; i < count; i++) {
        uint64_t n = base + (uint64_t)i;
        json_t *body = town < 0 ? kb_gen_need(g, n)
                                : kb_gen_need_at(g, n, town, KB_GEN_NEED_ANY, KB_GEN_AT_CENTRE);
        /* The benchmark ranks volunteers: keep needs on volunteer kinds. */
        const char *kind = json_string_value(json_object_get(body, "kind"));
        if (kind && (!strcmp(kind, "activity") || !strcmp(kind, "any")))
            json_object_set_new(body, "kind", json_string("mentor"));
        char id[32];
        kb_gen_id(id, sizeof id, "n", n);
        json_t *out = NULL;
        bool created;
        kb_fault_t f;
        if (kb_engine_put(e, KB_ENT_NEED, id, body, &out, &created, &f) < 0) {
            fprintf(stderr, "match-bench: need %s: %s (%s)\n", id, f.message, f.field);
            exit(1);
        }
        json_decref(body);
        json_decref(out);
        ids[i] = strdup(id);
    }
    return ids;
}

static stats_t run_index(kb_engine_t *e, char **ids, int count) {
    double *lat = malloc((size_t)count * sizeof *lat), checked = 0;
    kb_match_opts_t o = {.limit = 10, .explain = false};
    double t0 = kb_bench_now();
    for (int i = 0; i < count; i++) {
        double s = kb_bench_now();
        char *text = NULL;
        size_t len;
        kb_fault_t f;
        /* The answer as kobled sends it: the query and its text. */
        if (kb_engine_matches_text(e, ids[i], &o, &text, &len, &f) < 0) exit(1);
        free(text);
        lat[i] = kb_bench_now() - s;
    }
    double total = kb_bench_now() - t0;
    /* Cells visited and candidates checked, counted apart so the timing
     * has no extra work. */
    double cells = 0;
    for (int i = 0; i < count; i++) {
        kb_query_t q;
        need_query(e, ids[i], &q);
        const kb_index_t *ix[2] = {&e->cand_ix[0], &e->cand_ix[1]};
        kb_match_result_t r;
        if (kb_match_need(&e->matcher, &e->store, ix, &q, 10, false, &r) < 0) exit(1);
        checked += r.checked;
        cells += r.cells;
    }
    stats_t st = summarise(lat, count, total, checked, cells);
    free(lat);
    return st;
}

static stats_t run_scan(kb_engine_t *e, char **ids, int count) {
    double *lat = malloc((size_t)count * sizeof *lat), checked = 0;
    double t0 = kb_bench_now();
    for (int i = 0; i < count; i++) {
        double s = kb_bench_now();
        kb_query_t q;
        need_query(e, ids[i], &q);
        kb_match_result_t r;
        if (kb_match_need_scan(&e->matcher, &e->store, &q, 10, &r) < 0) exit(1);
        lat[i] = kb_bench_now() - s;
        checked += r.checked;
    }
    stats_t st = summarise(lat, count, kb_bench_now() - t0, checked, 0);
    free(lat);
    return st;
}

static void bench_size(const kb_gen_towns_t *towns, uint64_t seed, uint32_t volunteers,
                       int queries) {
    kb_engine_t *e;
    if (kb_engine_new(NULL, &e) < 0) exit(1);
    kb_gen_t g;
    kb_gen_init(&g, towns, seed);
    double t0 = kb_bench_now();
    if (load(e, &g, volunteers) < 0) exit(1);
    double load_s = kb_bench_now() - t0;
    /* What kobled's timer does after a load: finish the cells that the
     * adds left partly laid out (engine/index.h). */
    t0 = kb_bench_now();
    while (kb_engine_tidy(e, 64) > 0) {
    }
    double tidy_s = kb_bench_now() - t0;
    json_t *st = kb_engine_stats(e);
    double per_vol =
        json_real_value(json_object_get(json_object_get(st, "index"), "bytes_per_volunteer"));
    double total_mb =
        (double)json_integer_value(json_object_get(json_object_get(st, "memory"), "total_bytes")) /
        1048576.0;
    json_decref(st);
    printf("\n%u volunteers: loaded in %.2f s (%.0f/s), cells tidied in %.2f s, index %.0f "
           "bytes/volunteer, engine memory %.0f MiB\n",
           volunteers, load_s, volunteers / load_s, tidy_s, per_vol, total_mb);
    printf("  %-22s %-12s %10s %9s %9s %9s %10s %8s\n", "needs", "method", "queries/s", "p50 us",
           "p99 us", "max us", "checked", "cells");

    struct {
        const char *name, *town;
        int count;
    } sets[] = {
        {"Denmark (by people)", NULL, queries},
        {"central Copenhagen", "Copenhagen", queries / 2},
        {"central Odense", "Odense", queries / 2},
        {"rural Lolland", "Nakskov", queries / 2},
    };
    uint64_t base = 1;
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++) {
        int town = sets[s].town ? kb_gen_town_find(towns, sets[s].town) : -1;
        char **ids = store_needs(e, &g, sets[s].count, base, town);
        base += (uint64_t)sets[s].count;
        stats_t a = run_index(e, ids, sets[s].count);
        print_row(sets[s].name, "index", &a);
        int scan_n = sets[s].count < 200 ? sets[s].count : 200; /* the scan is slow */
        stats_t b = run_scan(e, ids, scan_n);
        print_row("", "brute force", &b);
        for (int i = 0; i < sets[s].count; i++) free(ids[i]);
        free(ids);
    }
    kb_engine_free(e);
}

int main(int argc, char **argv) {
    const char *sizes = "100000,1000000", *towns_path = "bench/data/dk_towns.tsv";
    int queries = 2000;
    uint64_t seed = 42;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--volunteers") && i + 1 < argc) sizes = argv[++i];
        else if (!strcmp(argv[i], "--queries") && i + 1 < argc) queries = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--towns") && i + 1 < argc) towns_path = argv[++i];
        else {
            fprintf(stderr, "usage: match-bench [--volunteers N[,N...]] [--queries N] [--seed S] "
                            "[--towns FILE]\n");
            return 2;
        }
    }
    if (queries < 10) queries = 10;
    kb_gen_towns_t *towns;
    if (kb_gen_towns_load(towns_path, &towns) < 0) {
        fprintf(stderr, "match-bench: cannot read %s\n", towns_path);
        return 1;
    }
    printf("koble in-process matching benchmark: seed %llu, %d queries per set, limit 10, "
           "one thread\n",
           (unsigned long long)seed, queries);
    char *list = strdup(sizes), *save = NULL;
    for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        bench_size(towns, seed, (uint32_t)strtoul(tok, NULL, 10), queries);
    free(list);
    kb_gen_towns_free(towns);
    return 0;
}
