/* test_oplog.c — every write reaches the journal hook as a command that,
 * replayed on a fresh engine, rebuilds the same state; a failing hook
 * refuses the write and changes nothing. */
#include <criterion/criterion.h>
#include <string.h>

#include "enginetest.h"
#include "fault.h"
#include "koble/engine.h"

static kb_engine_t *e;
static json_t *ops;   /* what the hook received, in order */
static int fail_hook; /* > 0: the hook fails from this many calls on */

static int hook(void *ctx, const char *op, size_t len) {
    (void)ctx;
    if (fail_hook && (size_t)fail_hook <= json_array_size(ops) + 1) return KB_EIO;
    json_t *v = json_loadb(op, len, 0, NULL);
    return v ? json_array_append_new(ops, v) : KB_ECORRUPT;
}

static void setup(void) {
    cr_assert_eq(kb_engine_new(NULL, &e), 0);
    ops = json_array();
    fail_hook = 0;
    kb_engine_set_journal(e, hook, NULL);
}

static void teardown(void) {
    kb_engine_free(e);
    json_decref(ops);
}

static int put(kb_entity_t t, const char *id, const char *body, kb_fault_t *f) {
    return kt_put(e, t, id, body, f);
}

static int propose(const char *need, const char *vol, kb_fault_t *f) {
    json_t *b = json_pack("{s:s, s:{s:s, s:s}}", "need_id", need, "candidate", "type", "volunteer",
                          "id", vol),
           *out = NULL;
    int rc = kb_engine_propose(e, b, &out, f);
    json_decref(b);
    json_decref(out);
    return rc;
}

static int step(const char *match, const char *what, kb_fault_t *f) {
    json_t *out = NULL;
    int rc = kb_engine_match_step(e, match, what, &out, f);
    json_decref(out);
    return rc;
}

/* Everything a client can read about the state, as one JSON value. */
static json_t *state_of(kb_engine_t *x) {
    static const char *const vols[] = {"v-1", "v-2", "v-3"};
    json_t *s = json_object();
    kb_fault_t f;
    for (int i = 0; i < 3; i++) {
        json_t *v = NULL;
        kb_engine_get(x, KB_ENT_VOLUNTEER, vols[i], &v, &f);
        json_object_set_new(s, vols[i], v ? v : json_string("absent"));
    }
    static const char *const needs[] = {"n-1", "n-2"};
    for (int i = 0; i < 2; i++) {
        json_t *v = NULL;
        kb_engine_get(x, KB_ENT_NEED, needs[i], &v, &f);
        json_object_set_new(s, needs[i], v ? v : json_string("absent"));
    }
    for (int i = 1; i <= 4; i++) {
        char id[8];
        snprintf(id, sizeof id, "m-%d", i);
        json_t *v = NULL;
        kb_engine_match_get(x, id, &v, &f);
        json_object_set_new(s, id, v ? v : json_string("absent"));
    }
    json_t *org = NULL;
    kb_engine_get(x, KB_ENT_ORGANISATION, "urk", &org, &f);
    json_object_set_new(s, "urk", org ? org : json_string("absent"));
    json_object_set_new(s, "stats", kb_engine_stats(x));
    return s;
}

#define VOL(lat)                                                                                   \
    "{\"location\":{\"lat\":" lat ",\"lon\":11.87},\"skills\":[\"mentoring\"],\"capacity\":1}"
#define NEED                                                                                       \
    "{\"kind\":\"mentor\",\"municipality\":\"0376\",\"location\":{\"lat\":54.77,\"lon\":11.87},"   \
    "\"skills_required\":[\"mentoring\"],\"person_age\":18,\"count\":2}"

TestSuite(oplog, .init = setup, .fini = teardown);

Test(oplog, replaying_the_journal_rebuilds_the_same_state) {
    kb_fault_t f;
    cr_assert_eq(
        put(KB_ENT_ORGANISATION, "urk", "{\"name\":\"URK\",\"kind\":\"volunteer_org\"}", &f), 0);
    cr_assert_eq(put(KB_ENT_VOLUNTEER, "v-1", VOL("54.77"), &f), 0);
    cr_assert_eq(put(KB_ENT_VOLUNTEER, "v-2", VOL("54.78"), &f), 0);
    cr_assert_eq(put(KB_ENT_VOLUNTEER, "v-3", VOL("54.79"), &f), 0);
    cr_assert_eq(put(KB_ENT_NEED, "n-1", NEED, &f), 0);
    cr_assert_eq(put(KB_ENT_NEED, "n-2", NEED, &f), 0);
    cr_assert_eq(propose("n-1", "v-1", &f), 0); /* m-1 */
    cr_assert_eq(step("m-1", "accept", &f), 0);
    cr_assert_eq(propose("n-1", "v-2", &f), 0); /* m-2 */
    cr_assert_eq(step("m-2", "decline", &f), 0);
    cr_assert_eq(propose("n-2", "v-3", &f), 0); /* m-3 */
    cr_assert_eq(step("m-3", "accept", &f), 0);
    cr_assert_eq(step("m-3", "end", &f), 0);
    cr_assert_eq(propose("n-2", "v-2", &f), 0); /* m-4 */
    json_t *out = NULL;
    cr_assert_eq(kb_engine_close_need(e, "n-2", &out, &f), 0); /* ends m-4 */
    json_decref(out);
    cr_assert_eq(put(KB_ENT_VOLUNTEER, "v-2", VOL("54.80"), &f), 0);   /* replace */
    cr_assert_eq(kb_engine_delete(e, KB_ENT_VOLUNTEER, "v-1", &f), 0); /* ends m-1 */
    /* Rejected writes are not journaled. */
    cr_assert_lt(put(KB_ENT_VOLUNTEER, "v-9", "{\"location\":{\"lat\":99,\"lon\":1}}", &f), 0);
    cr_assert_lt(step("m-2", "accept", &f), 0);
    cr_assert_lt(kb_engine_delete(e, KB_ENT_NEED, "n-9", &f), 0);
    cr_assert_eq(json_array_size(ops), 17);

    kb_engine_t *r;
    cr_assert_eq(kb_engine_new(NULL, &r), 0);
    size_t i;
    json_t *op;
    json_array_foreach(ops, i, op) {
        cr_assert_eq(kb_engine_apply(r, op, &f), 0, "op %zu: %s", i, f.message);
    }
    json_t *want = state_of(e), *got = state_of(r);
    char *w = json_dumps(want, JSON_SORT_KEYS), *g = json_dumps(got, JSON_SORT_KEYS);
    cr_assert_str_eq(g, w);
    /* And it is a real state, not two empty ones. */
    cr_assert(strstr(w, "\"state\": \"ended\""), "%s", w);
    cr_assert(strstr(w, "\"state\": \"declined\""), "%s", w);
    free(w);
    free(g);
    json_decref(want);
    json_decref(got);
    kb_engine_free(r);
}

Test(oplog, a_failing_journal_refuses_the_write_and_changes_nothing) {
    kb_fault_t f;
    cr_assert_eq(put(KB_ENT_VOLUNTEER, "v-1", VOL("54.77"), &f), 0);
    cr_assert_eq(put(KB_ENT_NEED, "n-1", NEED, &f), 0);
    cr_assert_eq(propose("n-1", "v-1", &f), 0);
    json_t *before = state_of(e);
    fail_hook = 1;
    cr_assert_eq(put(KB_ENT_VOLUNTEER, "v-1", VOL("54.80"), &f), KB_EIO);
    cr_assert_eq(f.status, 503);
    cr_assert_str_eq(f.code, "journal_failed");
    cr_assert_eq(put(KB_ENT_VOLUNTEER, "v-2", VOL("54.80"), &f), KB_EIO);
    cr_assert_eq(step("m-1", "accept", &f), KB_EIO);
    cr_assert_eq(propose("n-1", "v-1", &f), KB_ECONFLICT, "already proposed: a 409 comes first");
    cr_assert_eq(kb_engine_delete(e, KB_ENT_NEED, "n-1", &f), KB_EIO);
    json_t *out = NULL;
    cr_assert_eq(kb_engine_close_need(e, "n-1", &out, &f), KB_EIO);
    json_t *after = state_of(e);
    char *b = json_dumps(before, JSON_SORT_KEYS), *a = json_dumps(after, JSON_SORT_KEYS);
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
    json_decref(before);
    json_decref(after);
}

Test(oplog, damaged_records_are_refused) {
    kb_fault_t f;
    const char *bad[] = {"{}", "{\"op\":\"put\",\"ts\":5}", "{\"op\":\"fly\",\"ts\":5}",
                         "{\"op\":\"put\",\"entity\":\"dog\",\"id\":\"d\",\"body\":{},\"ts\":5}",
                         "{\"op\":\"step\",\"id\":\"m-1\",\"ts\":5}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *op = kt_parse(bad[i]);
        cr_assert_eq(kb_engine_apply(e, op, &f), KB_ECORRUPT, "%s", bad[i]);
        json_decref(op);
    }
    /* A well-formed record the state refuses gives the engine's error. */
    json_t *op = kt_parse("{\"op\":\"delete\",\"entity\":\"need\",\"id\":\"n-1\",\"ts\":5}");
    cr_assert_eq(kb_engine_apply(e, op, &f), KB_ENOTFOUND);
    json_decref(op);
    cr_assert_eq(json_array_size(ops), 0, "replay never journals");
}

/* The hook for the next test: keeps the text itself, not a parse of it. */
static int keep_text(void *ctx, const char *op, size_t len) {
    return json_array_append_new(ctx, json_stringn(op, len));
}

Test(oplog, a_put_from_text_journals_the_body_as_sent_and_replays_the_same) {
    json_t *texts = json_array();
    kb_engine_set_journal(e, keep_text, texts);
    kb_engine_set_clock(e, 1764079200000);
    /* Spacing, key order and a number written as 5.40e1 stay as sent. */
    const char *body = "{ \"skills\": [\"mentoring\", \"cooking\"],\n"
                       "  \"location\": {\"lon\": 11.87, \"lat\": 5.40e1}, \"capacity\": 2 }";
    char *answer = NULL;
    size_t len = 0;
    bool created = false;
    kb_fault_t f;
    cr_assert_eq(kb_engine_put_text(e, KB_ENT_VOLUNTEER, "v-1", body, strlen(body), &answer, &len,
                                    &created, &f),
                 0, "%s", f.message);
    cr_assert(created);
    /* The answer is what GET gives, as the API writes it. */
    json_t *got = NULL;
    cr_assert_eq(kb_engine_get(e, KB_ENT_VOLUNTEER, "v-1", &got, &f), 0);
    char *text = json_dumps(got, JSON_COMPACT | JSON_REAL_PRECISION(15));
    cr_assert_eq(len, strlen(text) + 1);
    cr_assert_eq(answer[len - 1], '\n');
    cr_assert_eq(strncmp(answer, text, len - 1), 0, "%s", answer);
    free(text);
    free(answer);
    json_decref(got);
    /* Refused bodies reach no journal: bad JSON, duplicate keys, bad fields. */
    const char *bad[] = {"{", "{\"capacity\":1,\"capacity\":2}", "{\"location\":{\"lat\":99}}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cr_assert_lt(kb_engine_put_text(e, KB_ENT_VOLUNTEER, "v-2", bad[i], strlen(bad[i]), &answer,
                                        &len, &created, &f),
                     0, "%s", bad[i]);
        cr_assert_null(answer);
    }
    cr_assert_eq(json_array_size(texts), 1);
    char want[512];
    snprintf(want, sizeof want,
             "{\"op\":\"put\",\"entity\":\"volunteer\",\"id\":\"v-1\",\"ts\":1764079200000,"
             "\"body\":%s}",
             body);
    cr_assert_str_eq(json_string_value(json_array_get(texts, 0)), want);

    kb_engine_t *r;
    cr_assert_eq(kb_engine_new(NULL, &r), 0);
    json_t *op = kt_parse(want);
    cr_assert_eq(kb_engine_apply(r, op, &f), 0, "%s", f.message);
    json_decref(op);
    json_t *a = state_of(e), *b = state_of(r);
    char *sa = json_dumps(a, JSON_SORT_KEYS), *sb = json_dumps(b, JSON_SORT_KEYS);
    cr_assert_str_eq(sb, sa);
    cr_assert(strstr(sa, "cooking"), "%s", sa);
    free(sa);
    free(sb);
    json_decref(a);
    json_decref(b);
    kb_engine_free(r);
    json_decref(texts);
}
