/* route-bench.c — routing a new need to organisation subscriptions.
 *
 * Stores N generated subscriptions through the engine (a mix of the shapes
 * organisations use: by municipality, by area around a town, by skill,
 * and a few taking everything; most also name one or two skills), then routes generated needs one
 * at a time (kb_route_match: the index lookups and the full check) and reports the time per need
 * and how many subscriptions matched.
 *
 *   build/bench/route-bench [--subscriptions N] [--needs N] [--seed S]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "gen.h"
#include "timing.h"

static const char *const skills[] = {"mentoring", "job_search", "homework_help",  "football",
                                     "visiting",  "cooking",    "language_buddy", "it_help"};
static const char *const kinds[] = {"mentor", "visit", "activity"};

/* A subscription body of one of the usual shapes, placed like people. */
static json_t *subscription(const kb_gen_towns_t *towns, kb_gen_rng_t *rng, int i) {
    int shape = kb_gen_rng_range(rng, 0, 999);
    char org[32];
    snprintf(org, sizeof org, "org-%d", i % 5000);
    json_t *s = json_pack("{s:s, s:[s]}", "org_id", org, "kinds", kinds[i % 3]);
    /* Half by municipality, most of the rest by an area around a town,
     * a few wide areas and skills, one in a thousand taking everything. */
    if (shape < 500) {
        json_t *munis = json_array();
        int n = kb_gen_rng_range(rng, 1, 3);
        for (int k = 0; k < n; k++) {
            char code[8];
            snprintf(code, sizeof code, "%04d", 101 + kb_gen_rng_range(rng, 0, 97) * 7 % 760);
            bool seen = false;
            for (size_t j = 0; j < json_array_size(munis); j++)
                seen |= !strcmp(code, json_string_value(json_array_get(munis, j)));
            if (!seen) json_array_append_new(munis, json_string(code));
        }
        json_object_set_new(s, "municipalities", munis);
    } else if (shape < 960) {
        double lat, lon;
        kb_gen_town_place(towns, kb_gen_town_pick(towns, rng), rng, &lat, &lon);
        int radius = shape < 950 ? kb_gen_rng_range(rng, 2, 10) : kb_gen_rng_range(rng, 40, 80);
        json_object_set_new(
            s, "area", json_pack("{s:f, s:f, s:i}", "lat", lat, "lon", lon, "radius_km", radius));
    } else if (shape < 999) {
        json_object_set_new(s, "skills_any", json_pack("[s]", skills[kb_gen_rng_range(rng, 0, 7)]));
    }
    /* Most organisations offer something particular: skills narrow the
     * municipality and area ones too. */
    if (shape < 960 && kb_gen_rng_range(rng, 0, 9) < 7) {
        int a = kb_gen_rng_range(rng, 0, 7), b = (a + kb_gen_rng_range(rng, 1, 7)) % 8;
        json_object_set_new(s, "skills_any", json_pack("[s, s]", skills[a], skills[b]));
    }
    return s;
}

int main(int argc, char **argv) {
    int nsubs = 100000, nneeds = 20000;
    uint64_t seed = 42;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--subscriptions") && i + 1 < argc) nsubs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--needs") && i + 1 < argc) nneeds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: route-bench [--subscriptions N] [--needs N] [--seed S]\n");
            return 2;
        }
    }
    if (nneeds < 10) nneeds = 10;
    kb_gen_towns_t *towns;
    if (kb_gen_towns_load("bench/data/dk_towns.tsv", &towns) < 0) {
        fprintf(stderr, "route-bench: cannot read bench/data/dk_towns.tsv\n");
        return 1;
    }
    kb_engine_t *e;
    if (kb_engine_new(NULL, &e) < 0) return 1;
    kb_gen_rng_t rng;
    kb_gen_rng_seed(&rng, seed);
    for (int i = 0; i < nsubs; i++) {
        char id[32];
        snprintf(id, sizeof id, "s-%d", i);
        json_t *body = subscription(towns, &rng, i), *out = NULL;
        bool created;
        kb_fault_t f;
        if (kb_engine_put(e, KB_ENT_SUBSCRIPTION, id, body, &out, &created, &f) < 0) {
            fprintf(stderr, "route-bench: %s: %s (%s)\n", id, f.message, f.field);
            return 1;
        }
        json_decref(body);
        json_decref(out);
    }
    /* Needs as the generator makes them, decoded but not stored. */
    kb_gen_t g;
    kb_gen_init(&g, towns, seed + 1);
    kb_codec_ctx_t cx = {.tokens = &e->store.tokens, .current_year = 2026, .lookup_only = true};
    double *lat = malloc((size_t)nneeds * sizeof *lat), total = 0, matched = 0;
    if (!lat) return 1;
    for (int i = 0; i < nneeds; i++) {
        json_t *body = kb_gen_need(&g, (uint64_t)i + 1);
        kb_need_t n;
        kb_fault_t f;
        if (kb_codec_need(&cx, body, NULL, &n, &f) < 0) {
            fprintf(stderr, "route-bench: need: %s (%s)\n", f.message, f.field);
            free(lat);
            return 1;
        }
        json_decref(body);
        const uint32_t *slots;
        uint32_t count;
        double t0 = kb_bench_now();
        if (kb_route_match(&e->route, &e->store, &n, &slots, &count) < 0) {
            free(lat);
            return 1;
        }
        lat[i] = kb_bench_now() - t0;
        total += lat[i];
        matched += count;
        kb_need_clear(&n);
    }
    kb_bench_sort(lat, (size_t)nneeds);
    printf("koble routing benchmark: %d subscriptions, %d needs, seed %llu\n", nsubs, nneeds,
           (unsigned long long)seed);
    printf("  per need: mean %.1f us, p50 %.1f us, p99 %.1f us, max %.1f us; %.1f subscriptions "
           "matched per need\n",
           total / nneeds * 1e6, lat[nneeds / 2] * 1e6, lat[(int)(nneeds * 0.99)] * 1e6,
           lat[nneeds - 1] * 1e6, matched / nneeds);
    free(lat);
    kb_engine_free(e);
    kb_gen_towns_free(towns);
    return 0;
}
