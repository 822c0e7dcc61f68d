/* test_engine.c — the public engine API in-process: put/get/delete,
 * index consistency after replace and delete, matches and lifecycle
 * through JSON, a fixed clock for certificate dates, and the match
 * answers written as text against the Jansson objects they stand for. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "enginetest.h"
#include "fault.h"
#include "koble/engine.h"

static kb_engine_t *e;

static void setup(void) {
    cr_assert_eq(kb_engine_new(NULL, &e), 0);
    kb_engine_set_clock(e, 1795478400000LL); /* 2026-11-24T00:00:00Z */
}
static void teardown(void) { kb_engine_free(e); }

static json_t *put(kb_entity_t t, const char *id, const char *body, bool want_created) {
    json_error_t err;
    json_t *b = json_loads(body, 0, &err);
    cr_assert_not_null(b, "bad test JSON: %s", err.text);
    json_t *out = NULL;
    bool created = !want_created;
    kb_fault_t f;
    int rc = kb_engine_put(e, t, id, b, &out, &created, &f);
    json_decref(b);
    cr_assert_eq(rc, 0, "put %s: %s %s", id, f.message, f.field);
    cr_assert_eq(created, want_created);
    return out;
}

static json_t *matches(const char *need, bool explain) {
    kb_match_opts_t o = {.limit = 10, .explain = explain};
    json_t *out = NULL;
    kb_fault_t f;
    cr_assert_eq(kb_engine_matches(e, need, &o, &out, &f), 0, "%s", f.message);
    return out;
}

static const char *cand_id(json_t *res, size_t i) {
    return json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(res, "matches"), i), "candidate"), "id"));
}

#define NEED                                                                                       \
    "{\"kind\":\"mentor\",\"municipality\":\"0101\",\"location\":{\"lat\":55.68,\"lon\":12.57},"   \
    "\"skills_required\":[\"mentoring\"],\"person_age\":12}"

Test(engine, moving_a_volunteer_keeps_the_index_exact, .init = setup, .fini = teardown) {
    json_decref(put(KB_ENT_VOLUNTEER, "v-1",
                    "{\"location\":{\"lat\":55.68,\"lon\":12.57},\"skills\":[\"mentoring\"],"
                    "\"child_certificate_until\":\"2026-11-24\"}",
                    true));
    json_decref(put(KB_ENT_NEED, "n-1", NEED, true));
    json_t *r = matches("n-1", false);
    cr_assert_str_eq(cand_id(r, 0), "v-1", "a certificate valid through today counts");
    json_decref(r);
    /* Moved to Aarhus and skill changed: gone from this need. */
    json_decref(put(KB_ENT_VOLUNTEER, "v-1",
                    "{\"location\":{\"lat\":56.15,\"lon\":10.2},\"skills\":[\"cooking\"],"
                    "\"child_certificate_until\":\"2027-01-01\"}",
                    false));
    r = matches("n-1", true);
    cr_assert_eq(json_array_size(json_object_get(r, "matches")), 0);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(r, "excluded"), "distance")),
                 1);
    json_decref(r);
    /* Back, with the skill: found again. */
    json_decref(put(KB_ENT_VOLUNTEER, "v-1",
                    "{\"location\":{\"lat\":55.681,\"lon\":12.571},\"skills\":[\"mentoring\"],"
                    "\"child_certificate_until\":\"2027-01-01\"}",
                    false));
    r = matches("n-1", false);
    cr_assert_str_eq(cand_id(r, 0), "v-1");
    json_decref(r);
    kb_fault_t f;
    cr_assert_eq(kb_engine_delete(e, KB_ENT_VOLUNTEER, "v-1", &f), 0);
    cr_assert_eq(kb_engine_delete(e, KB_ENT_VOLUNTEER, "v-1", &f), KB_ENOTFOUND);
    cr_assert_eq(f.status, 404);
    r = matches("n-1", true);
    cr_assert_eq(json_array_size(json_object_get(r, "matches")), 0);
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(r, "excluded"), "distance")),
                 0);
    json_decref(r);
    cr_assert_eq(kb_engine_count(e, KB_ENT_VOLUNTEER), 0);
}

/* The memory figures add up to what the store and the indexes hold, each
 * table counted once (the id tables are the index's). */
Test(engine, memory_counts_every_table_once, .init = setup, .fini = teardown) {
    char id[32], body[256];
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof id, "v-%d", i);
        snprintf(body, sizeof body,
                 "{\"location\":{\"lat\":%.4f,\"lon\":12.57},\"skills\":[\"mentoring\"],"
                 "\"languages\":[\"da\"]}",
                 55.5 + i * 0.001);
        json_decref(put(KB_ENT_VOLUNTEER, id, body, true));
    }
    json_decref(put(KB_ENT_NEED, "n-1", NEED, true));
    json_t *st = kb_engine_stats(e);
    json_int_t total =
        json_integer_value(json_object_get(json_object_get(st, "memory"), "total_bytes"));
    size_t want = kb_store_bytes(&e->store) + kb_pool_bytes(&e->pairings) +
                  kb_index_bytes(&e->cand_ix[0]) + kb_index_bytes(&e->cand_ix[1]) +
                  kb_index_bytes(&e->need_ix);
    cr_assert_eq((size_t)total, want);
    json_decref(st);
}

Test(engine, expired_certificate_is_excluded_by_the_clock, .init = setup, .fini = teardown) {
    json_decref(put(KB_ENT_VOLUNTEER, "v-1",
                    "{\"location\":{\"lat\":55.68,\"lon\":12.57},\"skills\":[\"mentoring\"],"
                    "\"child_certificate_until\":\"2026-11-23\"}",
                    true));
    json_decref(put(KB_ENT_NEED, "n-1", NEED, true));
    json_t *r = matches("n-1", true);
    cr_assert_eq(json_array_size(json_object_get(r, "matches")), 0);
    cr_assert_eq(
        json_integer_value(json_object_get(json_object_get(r, "excluded"), "child_certificate")),
        1);
    json_decref(r);
}

Test(engine, ties_are_broken_by_distance_then_id, .init = setup, .fini = teardown) {
    const char *v = "{\"location\":{\"lat\":55.68,\"lon\":12.57},\"skills\":[\"visiting\"]}";
    json_decref(put(KB_ENT_VOLUNTEER, "v-b", v, true));
    json_decref(put(KB_ENT_VOLUNTEER, "v-a", v, true));
    json_decref(put(KB_ENT_VOLUNTEER, "v-c",
                    "{\"location\":{\"lat\":55.69,\"lon\":12.57},\"skills\":[\"visiting\"]}",
                    true));
    json_decref(put(KB_ENT_NEED, "n-1",
                    "{\"kind\":\"visit\",\"municipality\":\"0101\",\"location\":{\"lat\":55.68,"
                    "\"lon\":12.57},\"person_age\":80}",
                    true));
    json_t *r = matches("n-1", false);
    cr_assert_str_eq(cand_id(r, 0), "v-a");
    cr_assert_str_eq(cand_id(r, 1), "v-b");
    cr_assert_str_eq(cand_id(r, 2), "v-c");
    json_decref(r);
}

Test(engine, stored_objects_round_trip, .init = setup, .fini = teardown) {
    json_t *out = put(KB_ENT_NEED, "n-1", NEED, true);
    cr_assert_str_eq(json_string_value(json_object_get(out, "state")), "open");
    cr_assert_str_eq(json_string_value(json_object_get(out, "created_at")),
                     "2026-11-24T00:00:00.000Z");
    /* What GET answers can be PUT back unchanged. */
    char *text = json_dumps(out, JSON_COMPACT);
    json_t *again = put(KB_ENT_NEED, "n-1", text, false);
    cr_assert(json_equal(out, again));
    free(text);
    json_decref(out);
    json_decref(again);
}

/* ---- the match answers as text ----
 *
 * query.c writes the answers straight to text. The reference here builds
 * each answer as a Jansson object from the same ranking (kb_match_need,
 * kb_match_volunteer, kb_score), as query.c did before it wrote text, and
 * dumps it as answers were dumped (JSON_COMPACT | JSON_REAL_PRECISION(15)):
 * the text must be that dump byte for byte, then a newline. */

static json_t *ref_components(const double *comp) {
    json_t *o = json_object();
    for (int i = 0; i < KB_C_COUNT; i++)
        json_object_set_new(o, kb_comp_names[i], json_real(kb_round(comp[i], 4)));
    return o;
}

/* One hit: {head_key: head, "score", "distance_km", "components"}. */
static json_t *ref_hit(const kb_query_t *q, const kb_cand_t *c, const kb_hit_t *h,
                       const char *head_key, json_t *head) {
    double comp[KB_C_COUNT];
    kb_score(q, c, h->dist_km, comp);
    return json_pack("{s:o, s:f, s:f, s:o}", head_key, head, "score", kb_round(h->score, 4),
                     "distance_km", kb_round(h->dist_km, 2), "components", ref_components(comp));
}

static json_t *ref_matches(const kb_query_t *q, const char *need_id, const kb_match_opts_t *o) {
    const kb_index_t *ix[2] = {&e->cand_ix[KB_VOLUNTEER], &e->cand_ix[KB_ACTIVITY]};
    kb_match_result_t r;
    cr_assert_eq(kb_match_need(&e->matcher, &e->store, ix, q, o->limit, o->explain, &r), 0);
    json_t *list = json_array();
    for (uint32_t i = 0; i < r.n; i++) {
        const kb_hit_t *h = &r.hits[i];
        const kb_cand_t *c = kb_store_cand(&e->store, h->type, h->slot);
        json_t *cand = json_pack("{s:s, s:s}", "type",
                                 h->type == KB_VOLUNTEER ? "volunteer" : "activity", "id", c->id);
        json_array_append_new(list, ref_hit(q, c, h, "candidate", cand));
    }
    json_t *out = json_pack("{s:s*, s:o}", "need_id", need_id, "matches", list);
    if (o->explain) {
        json_t *ex = json_object();
        for (int i = 0; i < KB_X_COUNT; i++)
            json_object_set_new(ex, kb_excl_names[i], json_integer((json_int_t)r.excluded[i]));
        json_object_set_new(out, "excluded", ex);
        json_object_set_new(out, "searched",
                            json_pack("{s:I, s:I}", "cells", (json_int_t)r.cells, "checked",
                                      (json_int_t)r.checked));
    }
    return out;
}

static json_t *ref_need_matches(const char *need_id, const kb_match_opts_t *o) {
    const kb_need_t *n = kb_store_need(&e->store, kb_pool_find(&e->store.needs, need_id));
    if (n->state != KB_NEED_OPEN)
        return json_pack("{s:s, s:[], s:s}", "need_id", need_id, "matches", "state",
                         kb_codec_state_name(n->state));
    kb_query_t q;
    cr_assert_eq(kb_engine_query(e, n, &q), 0);
    return ref_matches(&q, need_id, o);
}

static json_t *ref_what_if(const json_t *body, const kb_match_opts_t *o) {
    int32_t today;
    int year;
    kb_engine_today(e, &today, &year);
    kb_codec_ctx_t cx = {.tokens = &e->store.tokens, .current_year = year, .lookup_only = true};
    kb_need_t n;
    kb_fault_t f;
    cr_assert_eq(kb_codec_need(&cx, body, NULL, &n, &f), 0, "%s", f.message);
    kb_query_t q;
    kb_query_init(&q, &n, &e->weights, today, year, NULL, 0);
    json_t *out = ref_matches(&q, NULL, o);
    kb_need_clear(&n);
    return out;
}

typedef struct ref_scope {
    const kb_match_opts_t *o;
} ref_scope_t;

/* The reverse query's need source, as the API defines it: open needs of a
 * kind that wants volunteers, in the caller's municipalities if scoped. */
static bool ref_prepare(void *ctx, uint32_t slot, kb_query_t *q) {
    const ref_scope_t *sc = ctx;
    const kb_need_t *n = kb_store_need(&e->store, slot);
    if (n->state != KB_NEED_OPEN || !kb_kind_wants(n->kind, KB_VOLUNTEER)) return false;
    bool in = !sc->o->munis;
    for (unsigned i = 0; !in && i < sc->o->nmunis; i++)
        in = !strcmp(sc->o->munis[i], n->municipality);
    return in && kb_engine_query(e, n, q) == 0;
}

static json_t *ref_volunteer_needs(const char *vid, const kb_match_opts_t *o) {
    uint32_t v = kb_pool_find(&e->store.cands[KB_VOLUNTEER], vid);
    ref_scope_t sc = {o};
    kb_need_source_t src = {ref_prepare, &sc};
    kb_match_result_t r;
    cr_assert_eq(kb_match_volunteer(&e->matcher, &e->store, &e->need_ix, v, &src, o->limit, &r), 0);
    const kb_cand_t *c = kb_store_cand(&e->store, KB_VOLUNTEER, v);
    json_t *list = json_array();
    for (uint32_t i = 0; i < r.n; i++) {
        const kb_hit_t *h = &r.hits[i];
        const kb_need_t *n = kb_store_need(&e->store, h->slot);
        kb_query_t q;
        cr_assert_eq(kb_engine_query(e, n, &q), 0);
        json_t *head = json_pack("{s:s, s:s, s:s}", "id", n->id, "kind",
                                 kb_codec_kind_name(n->kind), "municipality", n->municipality);
        json_array_append_new(list, ref_hit(&q, c, h, "need", head));
    }
    return json_pack("{s:s, s:o}", "volunteer_id", vid, "needs", list);
}

/* got (rc, text, len from a *_text call) against the dump of want
 * (stolen); returns how many hits the answer has under list_key. */
static size_t same_answer(int rc, char *got, size_t len, const kb_fault_t *f, json_t *want,
                          const char *list_key, const char *what) {
    cr_assert_eq(rc, 0, "%s: %s", what, f->message);
    cr_assert_not_null(want, "%s: reference", what);
    char *text = json_dumps(want, JSON_COMPACT | JSON_REAL_PRECISION(15));
    size_t n = strlen(text);
    cr_assert_eq(len, n + 1, "%s: length %zu, want %zu:\n%s\n%s", what, len, n + 1, got, text);
    cr_assert_eq(got[n], '\n', "%s: ends with a newline", what);
    cr_assert_eq(strncmp(got, text, n), 0, "%s:\n got %s\nwant %s", what, got, text);
    cr_assert_eq(strlen(got), len);
    /* And as a value: the in-process form is the same answer. */
    json_error_t err;
    json_t *back = json_loads(got, 0, &err);
    cr_assert_not_null(back, "%s: not JSON: %s", what, err.text);
    cr_assert(json_equal(back, want), "%s", what);
    size_t hits = json_array_size(json_object_get(back, list_key));
    json_decref(back);
    json_decref(want);
    free(text);
    free(got);
    return hits;
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17; /* xorshift64 */
    return (uint32_t)((rng >> 11) % n);
}

/* A JSON list of a random subset of names (each with probability 1/odds). */
static void random_list(char *out, size_t size, const char *const *names, size_t n, uint32_t odds) {
    size_t w = (size_t)snprintf(out, size, "[");
    for (size_t i = 0; i < n; i++)
        if (!rnd(odds))
            w += (size_t)snprintf(out + w, size - w, "%s\"%s\"", w > 1 ? "," : "", names[i]);
    snprintf(out + w, size - w, "]");
}

static const char *const skills[] = {"mentoring", "job_search", "homework", "visiting", "cooking"};
static const char *const langs[] = {"da", "en", "ar", "so"};
static const char *const slots[] = {"mon_evening", "tue_evening", "sat_morning", "sun_afternoon"};
static const char *const exps[] = {"left_school_early", "dementia", "refugee"};
static const char *const munis[] = {"0101", "0147", "0376"};

/* A need body near Copenhagen with random constraints. */
static void random_need(char *out, size_t size) {
    static const char *const kinds[] = {"mentor", "visit", "activity", "any"};
    char req[128], want[128], lang[64], av[128], ex[96], gap[48] = "";
    random_list(req, sizeof req, skills, 5, 6);
    random_list(want, sizeof want, skills, 5, 2);
    random_list(lang, sizeof lang, langs, 4, 3);
    random_list(av, sizeof av, slots, 4, 2);
    random_list(ex, sizeof ex, exps, 3, 2);
    if (!rnd(3))
        snprintf(gap, sizeof gap, ",\"age_gap\":{\"min\":-%u,\"max\":%u}", rnd(20), rnd(20));
    snprintf(out, size,
             "{\"kind\":\"%s\",\"municipality\":\"%s\",\"location\":{\"lat\":%.4f,\"lon\":%.4f},"
             "\"max_distance_km\":%.1f,\"skills_required\":%s,\"skills_wanted\":%s,"
             "\"languages\":%s,\"person_age\":%u,\"availability\":%s,\"experience_wanted\":%s%s}",
             kinds[rnd(4)], munis[rnd(3)], 55.6 + rnd(2000) / 1e4, 12.4 + rnd(3000) / 1e4,
             1 + rnd(150) / 10.0, req, want, lang, 8 + rnd(70), av, ex, gap);
}

/* Volunteers and activities around Copenhagen with every field varied,
 * ids using every character an id may have, and needs with a closed one,
 * a matched one and proposals (so "paired" and "capacity" exclude). */
static void random_world(void) {
    char body[1024], sk[128], lang[64], av[128], ex[96], id[64];
    for (int i = 0; i < 400; i++) {
        random_list(sk, sizeof sk, skills, 5, 2);
        random_list(lang, sizeof lang, langs, 4, 2);
        random_list(av, sizeof av, slots, 4, 2);
        random_list(ex, sizeof ex, exps, 3, 3);
        bool act = i % 4 == 3;
        snprintf(id, sizeof id, act ? "a.%d:Q_z-%d" : "v.%d:X_y-%d", i, i * 7);
        if (act)
            snprintf(body, sizeof body,
                     "{\"org_id\":\"o-1\",\"title\":\"Caf\\u00e9 \\\"%d\\\" \\\\\","
                     "\"location\":{\"lat\":%.5f,\"lon\":%.5f},\"skills\":%s,\"languages\":%s,"
                     "\"availability\":%s,\"capacity\":%u,\"age_min\":%u,\"age_max\":%u,"
                     "\"active\":%s}",
                     i, 55.6 + rnd(20000) / 1e5, 12.4 + rnd(30000) / 1e5, sk, lang, av, 1 + rnd(5),
                     rnd(15), 15 + rnd(80), rnd(8) ? "true" : "false");
        else
            snprintf(body, sizeof body,
                     "{\"location\":{\"lat\":%.5f,\"lon\":%.5f},\"max_distance_km\":%u,"
                     "\"skills\":%s,\"languages\":%s,\"availability\":%s,\"capacity\":%u,"
                     "\"experience\":%s,\"birth_year\":%u%s,\"active\":%s}",
                     55.6 + rnd(20000) / 1e5, 12.4 + rnd(30000) / 1e5, 2 + rnd(30), sk, lang, av,
                     1 + rnd(3), ex, 1950 + rnd(56),
                     rnd(2) ? ",\"child_certificate_until\":\"2027-06-30\"" : "",
                     rnd(8) ? "true" : "false");
        json_decref(put(act ? KB_ENT_ACTIVITY : KB_ENT_VOLUNTEER, id, body, true));
    }
    for (int i = 0; i < 80; i++) {
        random_need(body, sizeof body);
        snprintf(id, sizeof id, "n.%d:N_n-%d", i, i);
        json_decref(put(KB_ENT_NEED, id, body, true));
    }
    /* Proposals on the first needs' best candidates, one accepted. */
    kb_fault_t f;
    for (int i = 0; i < 8; i++) {
        snprintf(id, sizeof id, "n.%d:N_n-%d", i, i);
        json_t *m = matches(id, false), *out = NULL;
        json_t *first = json_array_get(json_object_get(m, "matches"), 0);
        if (first) {
            json_t *b = json_pack("{s:s, s:O}", "need_id", id, "candidate",
                                  json_object_get(first, "candidate"));
            cr_assert_eq(kb_engine_propose(e, b, &out, &f), 0, "%s", f.message);
            json_decref(b);
            if (i % 2) {
                json_t *step = NULL;
                const char *mid = json_string_value(json_object_get(out, "id"));
                cr_assert_eq(kb_engine_match_step(e, mid, "accept", &step, &f), 0, "%s", f.message);
                json_decref(step);
            }
            json_decref(out);
        }
        json_decref(m);
    }
    json_t *closed = NULL;
    cr_assert_eq(kb_engine_close_need(e, "n.79:N_n-79", &closed, &f), 0, "%s", f.message);
    json_decref(closed);
}

Test(engine, need_matches_as_text_are_the_dump_of_the_answer, .init = setup, .fini = teardown) {
    random_world();
    static const uint32_t limits[] = {1, 3, 10, 100};
    size_t hits = 0, stopped = 0;
    char id[64], what[96];
    for (int i = 0; i < 80; i++) {
        snprintf(id, sizeof id, "n.%d:N_n-%d", i, i);
        for (int k = 0; k < 8; k++) {
            kb_match_opts_t o = {.limit = limits[k % 4], .explain = k >= 4};
            char *got = NULL;
            size_t len = 0;
            kb_fault_t f;
            int rc = kb_engine_matches_text(e, id, &o, &got, &len, &f);
            snprintf(what, sizeof what, "%s limit %u explain %d", id, o.limit, o.explain);
            json_t *want = ref_need_matches(id, &o);
            if (json_object_get(want, "state")) stopped++;
            hits += same_answer(rc, got, len, &f, want, "matches", what);
        }
    }
    cr_assert_gt(hits, 1000, "the needs have matches to write (%zu)", hits);
    cr_assert_geq(stopped, 8, "a closed need answers with its state");
    /* Not found stays a 404 without an answer. */
    char *got = (char *)"unset";
    size_t len = 0;
    kb_fault_t f;
    kb_match_opts_t o = {.limit = 10};
    cr_assert_eq(kb_engine_matches_text(e, "n-none", &o, &got, &len, &f), KB_ENOTFOUND);
    cr_assert_eq(f.status, 404);
    cr_assert_null(got);
}

Test(engine, what_if_and_reverse_answers_as_text_are_the_dump, .init = setup, .fini = teardown) {
    random_world();
    char body[1024], what[96];
    size_t hits = 0;
    for (int i = 0; i < 60; i++) {
        random_need(body, sizeof body);
        json_t *b = kt_parse(body);
        kb_match_opts_t o = {.limit = 1 + rnd(20), .explain = i % 2};
        char *got = NULL;
        size_t len = 0;
        kb_fault_t f;
        int rc = kb_engine_what_if_text(e, b, &o, &got, &len, &f);
        snprintf(what, sizeof what, "what-if %d", i);
        hits += same_answer(rc, got, len, &f, ref_what_if(b, &o), "matches", what);
        json_decref(b);
    }
    cr_assert_gt(hits, 100, "what-if needs have matches (%zu)", hits);
    hits = 0;
    static const char scope[2][5] = {"0101", "0376"};
    for (int i = 0; i < 400; i += 4) {
        char id[64];
        snprintf(id, sizeof id, "v.%d:X_y-%d", i, i * 7);
        kb_match_opts_t o = {.limit = 1 + rnd(12)};
        if (i % 8 == 4) o.munis = scope, o.nmunis = 2;
        char *got = NULL;
        size_t len = 0;
        kb_fault_t f;
        int rc = kb_engine_volunteer_needs_text(e, id, &o, &got, &len, &f);
        snprintf(what, sizeof what, "%s limit %u", id, o.limit);
        hits += same_answer(rc, got, len, &f, ref_volunteer_needs(id, &o), "needs", what);
    }
    cr_assert_gt(hits, 100, "volunteers have needs (%zu)", hits);
}
