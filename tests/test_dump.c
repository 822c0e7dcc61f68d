/* test_dump.c — a snapshot's records restore the same engine: same
 * objects, matches, counts and rankings, and the same dump again. */
#include <criterion/criterion.h>
#include <string.h>

#include "enginetest.h"
#include "fault.h"
#include "koble/engine.h"

#define DAY 86400000LL
#define T0  1795478400000LL /* 2026-11-24T00:00:00Z */

static kb_engine_t *e;

static void setup(void) {
    cr_assert_eq(kb_engine_new(NULL, &e), 0);
    kb_engine_set_clock(e, T0);
}

static void teardown(void) { kb_engine_free(e); }

static void put(kb_entity_t t, const char *id, const char *body) {
    json_error_t err;
    json_t *b = json_loads(body, 0, &err), *out = NULL;
    cr_assert_not_null(b, "bad test JSON: %s", err.text);
    bool created;
    kb_fault_t f;
    cr_assert_eq(kb_engine_put(e, t, id, b, &out, &created, &f), 0, "%s: %s", id, f.message);
    json_decref(b);
    json_decref(out);
}

/* out by address: the engine call is an argument, and C does not order
 * the evaluation of arguments. */
static void call(int rc, json_t **out, const kb_fault_t *f) {
    cr_assert_eq(rc, 0, "%s", f->message);
    if (out) json_decref(*out);
}

static void propose(const char *need, const char *type, const char *cand) {
    json_t *b = json_pack("{s:s, s:{s:s, s:s}}", "need_id", need, "candidate", "type", type, "id",
                          cand),
           *out = NULL;
    kb_fault_t f;
    call(kb_engine_propose(e, b, &out, &f), &out, &f);
    json_decref(b);
}

static void step(const char *match, const char *what) {
    json_t *out = NULL;
    kb_fault_t f;
    call(kb_engine_match_step(e, match, what, &out, &f), &out, &f);
}

static char *matches_text(kb_engine_t *x, const char *need) {
    kb_match_opts_t o = {.limit = 10, .explain = true};
    json_t *out = NULL;
    kb_fault_t f;
    cr_assert_eq(kb_engine_matches(x, need, &o, &out, &f), 0, "%s", f.message);
    char *text = json_dumps(out, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(out);
    return text;
}

/* A state with every kind of entity and every match state, a deleted
 * volunteer whose match stays readable, a closed need and a child whose
 * mentor's certificate has expired since the proposal. */
static void build(void) {
    put(KB_ENT_ORGANISATION, "dgi-lolland",
        "{\"name\":\"DGI Lolland\",\"kind\":\"volunteer_org\"}");
    put(KB_ENT_VOLUNTEER, "v-1",
        "{\"location\":{\"lat\":54.77,\"lon\":11.87},\"max_distance_km\":25,\"skills\":["
        "\"mentoring\",\"job_search\"],"
        "\"languages\":[\"da\",\"ar\"],\"availability\":[\"tue_evening\"],\"capacity\":2,"
        "\"experience\":[\"left_school_early\"],\"birth_year\":2002,"
        "\"child_certificate_until\":\"2026-11-30\"}");
    put(KB_ENT_VOLUNTEER, "v-2",
        "{\"location\":{\"lat\":54.78,\"lon\":11.88},\"skills\":[\"mentoring\"]}");
    put(KB_ENT_VOLUNTEER, "v-3",
        "{\"location\":{\"lat\":54.79,\"lon\":11.86},\"skills\":[\"mentoring\"]}");
    put(KB_ENT_ACTIVITY, "a-1",
        "{\"org_id\":\"dgi-lolland\",\"title\":\"Lektiecafé\",\"location\":{\"lat\":54.77,\"lon\":"
        "11.5},"
        "\"skills\":[\"homework_help\"],\"capacity\":12,\"age_min\":10,\"age_max\":16}");
    put(KB_ENT_NEED, "n-child",
        "{\"kind\":\"any\",\"municipality\":\"0360\",\"location\":{\"lat\":54.77,\"lon\":11.6},"
        "\"max_distance_km\":30,\"person_age\":12}");
    put(KB_ENT_NEED, "n-ung",
        "{\"kind\":\"mentor\",\"municipality\":\"0376\",\"location\":{\"lat\":54.77,\"lon\":11.87},"
        "\"skills_required\":[\"mentoring\"],\"person_age\":18,\"count\":2,"
        "\"age_gap\":{\"min\":2,\"max\":10},\"experience_wanted\":[\"left_school_early\"]}");
    put(KB_ENT_NEED, "n-closed",
        "{\"kind\":\"visit\",\"municipality\":\"0376\",\"location\":{\"lat\":54.77,\"lon\":11.87},"
        "\"person_age\":80}");
    propose("n-child", "volunteer", "v-1"); /* m-1, certificate valid today */
    propose("n-child", "activity", "a-1");  /* m-2 */
    step("m-2", "accept");
    propose("n-ung", "volunteer", "v-1"); /* m-3 */
    step("m-3", "accept");
    propose("n-ung", "volunteer", "v-2"); /* m-4 */
    step("m-4", "decline");
    propose("n-ung", "volunteer", "v-3"); /* m-5 */
    step("m-5", "accept");
    step("m-5", "end");
    propose("n-closed", "volunteer", "v-2"); /* m-6 */
    json_t *out = NULL;
    kb_fault_t f;
    call(kb_engine_close_need(e, "n-closed", &out, &f), &out, &f);
    call(kb_engine_delete(e, KB_ENT_VOLUNTEER, "v-3", &f), NULL, &f);
    kb_engine_set_clock(e, T0 + 30 * DAY); /* v-1's certificate has expired */
}

TestSuite(dump, .init = setup, .fini = teardown);

Test(dump, restore_gives_back_the_same_engine) {
    build();
    json_t *recs = kt_dump(e);
    cr_assert_eq(json_array_size(recs), 2 + 1 + 2 + 1 + 3 + 6, "header, tokens, entities, matches");

    kb_engine_t *r;
    cr_assert_eq(kb_engine_new(NULL, &r), 0);
    kb_engine_set_clock(r, T0 + 30 * DAY);
    size_t i;
    json_t *rec;
    kb_fault_t f;
    json_array_foreach(recs, i, rec) {
        cr_assert_eq(kb_engine_restore(r, rec, &f), 0, "record %zu: %s", i, f.message);
    }
    json_decref(recs);

    char *a = kt_dump_text(e), *b = kt_dump_text(r);
    cr_assert_str_eq(b, a);
    free(a);
    free(b);
    /* The expired certificate's proposal stays: restoring decides nothing. */
    json_t *m = NULL;
    cr_assert_eq(kb_engine_match_get(r, "m-1", &m, &f), 0);
    cr_assert_str_eq(json_string_value(json_object_get(m, "state")), "proposed");
    json_decref(m);
    const char *needs[] = {"n-child", "n-ung"};
    for (int k = 0; k < 2; k++) {
        a = matches_text(e, needs[k]);
        b = matches_text(r, needs[k]);
        cr_assert_str_eq(b, a);
        free(a);
        free(b);
    }
    json_t *sa = kb_engine_stats(e), *sb = kb_engine_stats(r);
    cr_assert(json_equal(json_object_get(sa, "counts"), json_object_get(sb, "counts")));
    cr_assert_eq(json_integer_value(json_object_get(
                     json_object_get(json_object_get(sb, "counts"), "needs"), "matched")),
                 1);
    json_decref(sa);
    json_decref(sb);
    /* Life goes on after a restore: capacity and ids are where they were. */
    json_t *out = NULL, *body = json_pack("{s:s, s:{s:s, s:s}}", "need_id", "n-ung", "candidate",
                                          "type", "volunteer", "id", "v-2");
    cr_assert_eq(kb_engine_propose(r, body, &out, &f), KB_ECONFLICT, "declined stays declined");
    json_decref(body);
    cr_assert_eq(kb_engine_match_step(r, "m-3", "end", &out, &f), 0);
    json_decref(out);
    body = json_pack("{s:s, s:{s:s, s:s}}", "need_id", "n-ung", "candidate", "type", "volunteer",
                     "id", "v-1");
    cr_assert_eq(kb_engine_propose(r, body, &out, &f), 0);
    cr_assert_str_eq(json_string_value(json_object_get(out, "id")), "m-7");
    json_decref(out);
    json_decref(body);
    kb_engine_free(r);
}

Test(dump, records_out_of_order_or_damaged_are_refused) {
    build();
    json_t *recs = kt_dump(e);
    kb_engine_t *r;
    kb_fault_t f;
    /* An entity before the engine record. */
    cr_assert_eq(kb_engine_new(NULL, &r), 0);
    cr_assert_eq(kb_engine_restore(r, json_array_get(recs, 3), &f), KB_ECORRUPT);
    /* A match whose need was never restored. */
    cr_assert_eq(kb_engine_restore(r, json_array_get(recs, 0), &f), 0);
    cr_assert_eq(kb_engine_restore(r, json_array_get(recs, json_array_size(recs) - 1), &f),
                 KB_ECORRUPT);
    /* An unknown version. */
    json_t *hdr = json_deep_copy(json_array_get(recs, 0));
    json_object_set_new(hdr, "version", json_integer(99));
    cr_assert_eq(kb_engine_restore(r, hdr, &f), KB_EVERSION);
    json_decref(hdr);
    kb_engine_free(r);
    json_decref(recs);
}
