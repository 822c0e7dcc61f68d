/* test_engine.c — the public engine API in-process: put/get/delete,
 * index consistency after replace and delete, matches and lifecycle
 * through JSON, and a fixed clock for certificate dates. */
#include <criterion/criterion.h>
#include <string.h>

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
