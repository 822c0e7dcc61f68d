/* test_events.c — writes emit their events through the hook, in the order
 * things happen, at the write's instant, with the stored object as data;
 * rejected writes emit nothing; journal replay emits the same events again
 * and a snapshot restore emits none. */
#include <criterion/criterion.h>
#include <string.h>

#include "enginetest.h"
#include "fault.h"
#include "koble/engine.h"

#define T0  1795478400000LL /* 2026-11-24T00:00:00Z */
#define SEC 1000LL

/* What a hook saw: one row [stream, event, ts, data.id, data.state] per
 * event, and a copy of each event's whole data. */
typedef struct recorder {
    json_t *rows;
    json_t *data;
} recorder_t;

static kb_engine_t *e;
static recorder_t rec;
static json_t *ops; /* the journal of e */

static void on_event(void *ctx, const char *stream, const char *event, int64_t ts,
                     const json_t *data) {
    recorder_t *r = ctx;
    json_t *row = json_pack("[s, s, I, s?, s?]", stream, event, (json_int_t)ts,
                            json_string_value(json_object_get(data, "id")),
                            json_string_value(json_object_get(data, "state")));
    cr_assert_not_null(row);
    json_array_append_new(r->rows, row);
    json_array_append_new(r->data, data ? json_deep_copy(data) : json_null());
}

static int journal(void *ctx, const char *op, size_t len) {
    json_t *v = json_loadb(op, len, 0, NULL);
    return v ? json_array_append_new(ctx, v) : KB_ECORRUPT;
}

static int failing_journal(void *ctx, const char *op, size_t len) {
    (void)ctx;
    (void)op;
    (void)len;
    return KB_EIO;
}

static void recorder_init(recorder_t *r) {
    r->rows = json_array();
    r->data = json_array();
}

static void recorder_clear(recorder_t *r) {
    json_array_clear(r->rows);
    json_array_clear(r->data);
}

static void recorder_free(recorder_t *r) {
    json_decref(r->rows);
    json_decref(r->data);
}

static void setup(void) {
    cr_assert_eq(kb_engine_new(NULL, &e), 0);
    kb_engine_set_clock(e, T0);
    recorder_init(&rec);
    ops = json_array();
    kb_engine_set_events(e, on_event, &rec);
    kb_engine_set_journal(e, journal, ops);
}

static void teardown(void) {
    kb_engine_free(e);
    recorder_free(&rec);
    json_decref(ops);
}

/* The next write runs k seconds after T0. */
static void at(int k) { kb_engine_set_clock(e, T0 + k * SEC); }

static int try_put(kb_entity_t t, const char *id, const char *body, kb_fault_t *f) {
    return kt_put(e, t, id, body, f);
}

static void put(kb_entity_t t, const char *id, const char *body) {
    kb_fault_t f;
    cr_assert_eq(try_put(t, id, body, &f), 0, "put %s: %s", id, f.message);
}

static int try_propose(const char *need, const char *vol, kb_fault_t *f) {
    json_t *b = json_pack("{s:s, s:{s:s, s:s}}", "need_id", need, "candidate", "type", "volunteer",
                          "id", vol),
           *out = NULL;
    int rc = kb_engine_propose(e, b, &out, f);
    json_decref(b);
    json_decref(out);
    return rc;
}

static void propose(const char *need, const char *vol) {
    kb_fault_t f;
    cr_assert_eq(try_propose(need, vol, &f), 0, "propose %s %s: %s", need, vol, f.message);
}

static int try_step(const char *match, const char *what, kb_fault_t *f) {
    json_t *out = NULL;
    int rc = kb_engine_match_step(e, match, what, &out, f);
    json_decref(out);
    return rc;
}

static void step(const char *match, const char *what) {
    kb_fault_t f;
    cr_assert_eq(try_step(match, what, &f), 0, "%s %s: %s", what, match, f.message);
}

static int try_close(const char *need, kb_fault_t *f) {
    json_t *out = NULL;
    int rc = kb_engine_close_need(e, need, &out, f);
    json_decref(out);
    return rc;
}

static void close_need(const char *need) {
    kb_fault_t f;
    cr_assert_eq(try_close(need, &f), 0, "close %s: %s", need, f.message);
}

static void delete_entity(kb_entity_t t, const char *id) {
    kb_fault_t f;
    cr_assert_eq(kb_engine_delete(e, t, id, &f), 0, "delete %s: %s", id, f.message);
}

typedef struct want {
    const char *stream, *event;
    int64_t ts;
    const char *id, *state;
} want_t;

static void expect_rows(const json_t *rows, const want_t *want, size_t n) {
    char *text = json_dumps(rows, JSON_COMPACT);
    cr_assert_eq(json_array_size(rows), n, "events: %s", text);
    for (size_t i = 0; i < n; i++) {
        const json_t *row = json_array_get(rows, i);
        const char *stream = json_string_value(json_array_get(row, 0)),
                   *event = json_string_value(json_array_get(row, 1)),
                   *id = json_string_value(json_array_get(row, 3)),
                   *state = json_string_value(json_array_get(row, 4));
        cr_assert(stream && event && id && state, "%zu: %s", i, text);
        cr_assert_str_eq(stream, want[i].stream, "%zu: %s", i, text);
        cr_assert_str_eq(event, want[i].event, "%zu: %s", i, text);
        cr_assert_eq(json_integer_value(json_array_get(row, 2)), want[i].ts, "%zu: %s", i, text);
        cr_assert_str_eq(id, want[i].id, "%zu: %s", i, text);
        cr_assert_str_eq(state, want[i].state, "%zu: %s", i, text);
    }
    free(text);
}

#define EXPECT(...)                                                                                \
    do {                                                                                           \
        const want_t want_[] = {__VA_ARGS__};                                                      \
        expect_rows(rec.rows, want_, sizeof want_ / sizeof want_[0]);                              \
    } while (0)

static const json_t *data_at(size_t i) { return json_array_get(rec.data, i); }

static const char *str_at(const json_t *v, const char *key) {
    return json_string_value(json_object_get(v, key));
}

static void expect_none(const json_t *rows) { expect_rows(rows, NULL, 0); }

/* The event's data is what GET answers right after the write. */
static void same_json(const json_t *data, json_t *got) {
    char *a = json_dumps(data, JSON_SORT_KEYS | JSON_COMPACT),
         *b = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
    cr_assert_str_eq(a, b);
    free(a);
    free(b);
    json_decref(got);
}

static void data_is_need(size_t i) {
    json_t *got = NULL;
    kb_fault_t f;
    cr_assert_eq(kb_engine_get(e, KB_ENT_NEED, str_at(data_at(i), "id"), &got, &f), 0);
    same_json(data_at(i), got);
}

static void data_is_match(size_t i) {
    json_t *got = NULL;
    kb_fault_t f;
    cr_assert_eq(kb_engine_match_get(e, str_at(data_at(i), "id"), &got, &f), 0);
    same_json(data_at(i), got);
}

#define VOL(lat, cap)                                                                              \
    "{\"location\":{\"lat\":" lat ",\"lon\":11.87},\"skills\":[\"mentoring\"],\"capacity\":" cap "}"
#define NEED(count)                                                                                \
    "{\"kind\":\"mentor\",\"municipality\":\"0376\",\"location\":{\"lat\":54.77,\"lon\":11.87},"   \
    "\"skills_required\":[\"mentoring\"],\"person_age\":18,\"count\":" count "}"

TestSuite(events, .init = setup, .fini = teardown);

Test(events, need_create_then_replace) {
    put(KB_ENT_ORGANISATION, "urk", "{\"name\":\"URK\",\"kind\":\"volunteer_org\"}");
    put(KB_ENT_VOLUNTEER, "v-1", VOL("54.77", "1"));
    expect_none(rec.rows); /* only needs and matches have events */
    at(1);
    put(KB_ENT_NEED, "n-1", NEED("1"));
    at(2);
    put(KB_ENT_NEED, "n-1", NEED("2"));
    EXPECT({"needs", "need.created", T0 + 1 * SEC, "n-1", "open"},
           {"needs", "need.updated", T0 + 2 * SEC, "n-1", "open"});
    cr_assert_eq(json_integer_value(json_object_get(data_at(0), "count")), 1);
    cr_assert_eq(json_integer_value(json_object_get(data_at(1), "count")), 2, "after the write");
    cr_assert_str_eq(str_at(data_at(0), "created_at"), "2026-11-24T00:00:01.000Z");
    cr_assert_str_eq(str_at(data_at(1), "created_at"), "2026-11-24T00:00:01.000Z");
    cr_assert_str_eq(str_at(data_at(1), "municipality"), "0376");
    data_is_need(1);
}

Test(events, propose_accept_decline_end) {
    put(KB_ENT_VOLUNTEER, "v-1", VOL("54.77", "1"));
    put(KB_ENT_VOLUNTEER, "v-2", VOL("54.78", "1"));
    put(KB_ENT_VOLUNTEER, "v-3", VOL("54.79", "1"));
    put(KB_ENT_NEED, "n-1", NEED("2"));
    at(1);
    propose("n-1", "v-1"); /* m-1 */
    at(2);
    step("m-1", "accept");
    at(3);
    propose("n-1", "v-2"); /* m-2 */
    at(4);
    step("m-2", "decline");
    at(5);
    propose("n-1", "v-3"); /* m-3 */
    at(6);
    step("m-3", "end"); /* a proposal */
    at(7);
    step("m-1", "end"); /* an accepted match */
    EXPECT({"needs", "need.created", T0, "n-1", "open"},
           {"matches", "match.proposed", T0 + 1 * SEC, "m-1", "proposed"},
           {"matches", "match.accepted", T0 + 2 * SEC, "m-1", "accepted"},
           {"matches", "match.proposed", T0 + 3 * SEC, "m-2", "proposed"},
           {"matches", "match.declined", T0 + 4 * SEC, "m-2", "declined"},
           {"matches", "match.proposed", T0 + 5 * SEC, "m-3", "proposed"},
           {"matches", "match.ended", T0 + 6 * SEC, "m-3", "ended"},
           {"matches", "match.ended", T0 + 7 * SEC, "m-1", "ended"});
    const json_t *ended = data_at(7);
    cr_assert_str_eq(str_at(ended, "need_id"), "n-1");
    cr_assert_str_eq(str_at(json_object_get(ended, "candidate"), "type"), "volunteer");
    cr_assert_str_eq(str_at(json_object_get(ended, "candidate"), "id"), "v-1");
    cr_assert_str_eq(str_at(ended, "created_at"), "2026-11-24T00:00:01.000Z");
    cr_assert_str_eq(str_at(ended, "updated_at"), "2026-11-24T00:00:07.000Z");
    cr_assert_str_eq(str_at(data_at(2), "updated_at"), "2026-11-24T00:00:02.000Z");
    cr_assert_str_eq(str_at(data_at(4), "updated_at"), "2026-11-24T00:00:04.000Z");
    data_is_match(7);
}

Test(events, close_ends_proposals_before_closing) {
    put(KB_ENT_VOLUNTEER, "v-1", VOL("54.77", "1"));
    put(KB_ENT_VOLUNTEER, "v-2", VOL("54.78", "1"));
    put(KB_ENT_VOLUNTEER, "v-3", VOL("54.79", "1"));
    put(KB_ENT_NEED, "n-1", NEED("3"));
    propose("n-1", "v-1"); /* m-1 */
    step("m-1", "accept");
    propose("n-1", "v-2"); /* m-2 */
    propose("n-1", "v-3"); /* m-3 */
    recorder_clear(&rec);
    at(5);
    close_need("n-1");
    EXPECT({"matches", "match.ended", T0 + 5 * SEC, "m-2", "ended"},
           {"matches", "match.ended", T0 + 5 * SEC, "m-3", "ended"},
           {"needs", "need.closed", T0 + 5 * SEC, "n-1", "closed"});
    cr_assert_str_eq(str_at(json_object_get(data_at(1), "candidate"), "id"), "v-3");
    data_is_need(2);
    /* The accepted match stays; closing again changes nothing and emits nothing. */
    json_t *m = NULL;
    kb_fault_t f;
    cr_assert_eq(kb_engine_match_get(e, "m-1", &m, &f), 0);
    cr_assert_str_eq(str_at(m, "state"), "accepted");
    json_decref(m);
    recorder_clear(&rec);
    at(6);
    close_need("n-1");
    expect_none(rec.rows);
}

Test(events, deletes_end_the_matches_they_touch) {
    put(KB_ENT_VOLUNTEER, "v-1", VOL("54.77", "2"));
    put(KB_ENT_VOLUNTEER, "v-2", VOL("54.78", "1"));
    put(KB_ENT_NEED, "n-1", NEED("1"));
    put(KB_ENT_NEED, "n-2", NEED("1"));
    propose("n-1", "v-1"); /* m-1 */
    step("m-1", "accept"); /* n-1 is matched */
    propose("n-2", "v-1"); /* m-2 */
    propose("n-2", "v-2"); /* m-3 */
    recorder_clear(&rec);
    at(5);
    delete_entity(KB_ENT_VOLUNTEER, "v-1");
    EXPECT({"matches", "match.ended", T0 + 5 * SEC, "m-1", "ended"},
           {"matches", "match.ended", T0 + 5 * SEC, "m-2", "ended"});
    cr_assert_str_eq(str_at(json_object_get(data_at(0), "candidate"), "id"), "v-1");
    cr_assert_str_eq(str_at(data_at(0), "need_id"), "n-1");
    cr_assert_str_eq(str_at(data_at(0), "updated_at"), "2026-11-24T00:00:05.000Z");
    data_is_match(0);
    json_t *n = NULL;
    kb_fault_t f;
    cr_assert_eq(kb_engine_get(e, KB_ENT_NEED, "n-1", &n, &f), 0);
    cr_assert_str_eq(str_at(n, "state"), "open", "the ended match gave its place back");
    json_decref(n);
    recorder_clear(&rec);
    at(6);
    delete_entity(KB_ENT_NEED, "n-2");
    EXPECT({"matches", "match.ended", T0 + 6 * SEC, "m-3", "ended"});
    cr_assert_str_eq(str_at(data_at(0), "need_id"), "n-2");
}

Test(events, rejected_writes_emit_nothing) {
    put(KB_ENT_VOLUNTEER, "v-1", VOL("54.77", "1"));
    put(KB_ENT_VOLUNTEER, "v-2", VOL("54.78", "1"));
    put(KB_ENT_NEED, "n-1", NEED("1"));
    propose("n-1", "v-1"); /* m-1 */
    step("m-1", "accept"); /* n-1 is matched */
    recorder_clear(&rec);
    at(1);
    kb_fault_t f;
    /* 422 */
    cr_assert_lt(try_put(KB_ENT_NEED, "n-1", "{\"kind\":\"mentor\"}", &f), 0);
    cr_assert_eq(f.status, 422);
    cr_assert_lt(try_put(KB_ENT_NEED, "n 2", NEED("1"), &f), 0);
    cr_assert_eq(f.status, 422);
    json_t *bad = kt_parse("{\"need_id\":\"n-1\",\"candidate\":{\"type\":\"dog\",\"id\":\"v-2\"}}"),
           *out = NULL;
    cr_assert_lt(kb_engine_propose(e, bad, &out, &f), 0);
    cr_assert_eq(f.status, 422);
    json_decref(bad);
    /* 404 */
    cr_assert_lt(try_close("n-9", &f), 0);
    cr_assert_eq(f.status, 404);
    cr_assert_lt(kb_engine_delete(e, KB_ENT_VOLUNTEER, "v-9", &f), 0);
    cr_assert_eq(f.status, 404);
    cr_assert_lt(try_step("m-9", "end", &f), 0);
    cr_assert_eq(f.status, 404);
    cr_assert_lt(try_step("m-1", "fly", &f), 0);
    cr_assert_eq(f.status, 404);
    cr_assert_lt(try_propose("n-9", "v-2", &f), 0);
    cr_assert_eq(f.status, 404);
    /* 409 */
    cr_assert_lt(try_step("m-1", "accept", &f), 0);
    cr_assert_eq(f.status, 409);
    cr_assert_lt(try_step("m-1", "decline", &f), 0);
    cr_assert_eq(f.status, 409);
    cr_assert_lt(try_propose("n-1", "v-2", &f), 0, "the need is matched");
    cr_assert_eq(f.status, 409);
    /* 503: the journal refuses every write. */
    kb_engine_set_journal(e, failing_journal, NULL);
    cr_assert_eq(try_put(KB_ENT_NEED, "n-1", NEED("2"), &f), KB_EIO);
    cr_assert_eq(f.status, 503);
    cr_assert_eq(try_put(KB_ENT_NEED, "n-2", NEED("1"), &f), KB_EIO);
    cr_assert_eq(try_step("m-1", "end", &f), KB_EIO);
    cr_assert_eq(try_close("n-1", &f), KB_EIO);
    cr_assert_eq(kb_engine_delete(e, KB_ENT_VOLUNTEER, "v-1", &f), KB_EIO);
    cr_assert_eq(kb_engine_delete(e, KB_ENT_NEED, "n-1", &f), KB_EIO);
    expect_none(rec.rows);
    /* The hook is still there: the next write that goes through emits. */
    kb_engine_set_journal(e, journal, ops);
    at(2);
    step("m-1", "end");
    EXPECT({"matches", "match.ended", T0 + 2 * SEC, "m-1", "ended"});
    /* And with the hook removed, nothing is called. */
    kb_engine_set_events(e, NULL, NULL);
    close_need("n-1");
    cr_assert_eq(json_array_size(rec.rows), 1);
}

/* Every kind of event, each write at its own instant. */
static void scenario(void) {
    put(KB_ENT_VOLUNTEER, "v-1", VOL("54.77", "2"));
    put(KB_ENT_VOLUNTEER, "v-2", VOL("54.78", "1"));
    put(KB_ENT_VOLUNTEER, "v-3", VOL("54.79", "1"));
    at(1);
    put(KB_ENT_NEED, "n-1", NEED("1"));
    at(2);
    put(KB_ENT_NEED, "n-2", NEED("3"));
    at(3);
    put(KB_ENT_NEED, "n-2", NEED("2"));
    at(4);
    propose("n-1", "v-1"); /* m-1 */
    at(5);
    step("m-1", "accept");
    at(6);
    propose("n-2", "v-2"); /* m-2 */
    at(7);
    step("m-2", "decline");
    at(8);
    propose("n-2", "v-1"); /* m-3 */
    at(9);
    propose("n-2", "v-3"); /* m-4 */
    at(10);
    step("m-4", "end");
    at(11);
    close_need("n-2"); /* ends m-3 */
    at(12);
    delete_entity(KB_ENT_VOLUNTEER, "v-1"); /* ends m-1 */
    at(13);
    propose("n-1", "v-3"); /* m-5 */
    at(14);
    delete_entity(KB_ENT_NEED, "n-1"); /* ends m-5 */
}

Test(events, journal_replay_emits_the_same_events) {
    scenario();
    EXPECT({"needs", "need.created", T0 + 1 * SEC, "n-1", "open"},
           {"needs", "need.created", T0 + 2 * SEC, "n-2", "open"},
           {"needs", "need.updated", T0 + 3 * SEC, "n-2", "open"},
           {"matches", "match.proposed", T0 + 4 * SEC, "m-1", "proposed"},
           {"matches", "match.accepted", T0 + 5 * SEC, "m-1", "accepted"},
           {"matches", "match.proposed", T0 + 6 * SEC, "m-2", "proposed"},
           {"matches", "match.declined", T0 + 7 * SEC, "m-2", "declined"},
           {"matches", "match.proposed", T0 + 8 * SEC, "m-3", "proposed"},
           {"matches", "match.proposed", T0 + 9 * SEC, "m-4", "proposed"},
           {"matches", "match.ended", T0 + 10 * SEC, "m-4", "ended"},
           {"matches", "match.ended", T0 + 11 * SEC, "m-3", "ended"},
           {"needs", "need.closed", T0 + 11 * SEC, "n-2", "closed"},
           {"matches", "match.ended", T0 + 12 * SEC, "m-1", "ended"},
           {"matches", "match.proposed", T0 + 13 * SEC, "m-5", "proposed"},
           {"matches", "match.ended", T0 + 14 * SEC, "m-5", "ended"});

    /* A fresh engine on real time: the instants come from the journal. */
    kb_engine_t *r;
    cr_assert_eq(kb_engine_new(NULL, &r), 0);
    recorder_t again;
    recorder_init(&again);
    kb_engine_set_events(r, on_event, &again);
    size_t i;
    json_t *op;
    kb_fault_t f;
    json_array_foreach(ops, i, op) {
        cr_assert_eq(kb_engine_apply(r, op, &f), 0, "op %zu: %s", i, f.message);
    }
    char *want_rows = json_dumps(rec.rows, JSON_COMPACT),
         *got_rows = json_dumps(again.rows, JSON_COMPACT),
         *want_data = json_dumps(rec.data, JSON_SORT_KEYS | JSON_COMPACT),
         *got_data = json_dumps(again.data, JSON_SORT_KEYS | JSON_COMPACT);
    cr_assert_str_eq(got_rows, want_rows);
    cr_assert_str_eq(got_data, want_data);
    free(want_rows);
    free(got_rows);
    free(want_data);
    free(got_data);
    recorder_free(&again);
    kb_engine_free(r);
}

static int collect(void *ctx, const json_t *r) {
    return json_array_append_new(ctx, json_deep_copy(r));
}

Test(events, snapshot_restore_emits_nothing) {
    scenario();
    json_t *recs = json_array();
    cr_assert_eq(kb_engine_dump(e, collect, recs), 0);
    cr_assert_gt(json_array_size(recs), 5);

    kb_engine_t *r;
    cr_assert_eq(kb_engine_new(NULL, &r), 0);
    kb_engine_set_clock(r, T0 + 20 * SEC);
    recorder_t again;
    recorder_init(&again);
    kb_engine_set_events(r, on_event, &again);
    size_t i;
    json_t *one;
    kb_fault_t f;
    json_array_foreach(recs, i, one) {
        cr_assert_eq(kb_engine_restore(r, one, &f), 0, "record %zu: %s", i, f.message);
    }
    /* A refused record (that match is there already) leaves no trace either. */
    cr_assert_eq(kb_engine_restore(r, json_array_get(recs, json_array_size(recs) - 1), &f),
                 KB_ECORRUPT);
    expect_none(again.rows);
    json_decref(recs);

    /* Writes after the restore emit as usual. */
    json_t *out = NULL;
    cr_assert_eq(kb_engine_close_need(r, "n-2", &out, &f), 0);
    json_decref(out);
    expect_none(again.rows); /* n-2 was restored closed */
    json_t *b = json_pack("{s:s, s:{s:s, s:s}}", "need_id", "n-3", "candidate", "type", "volunteer",
                          "id", "v-2");
    bool created;
    json_t *need = kt_parse(NEED("1"));
    cr_assert_eq(kb_engine_put(r, KB_ENT_NEED, "n-3", need, &out, &created, &f), 0);
    json_decref(out);
    json_decref(need);
    cr_assert_eq(kb_engine_propose(r, b, &out, &f), 0, "%s", f.message);
    json_decref(out);
    json_decref(b);
    const want_t want[] = {{"needs", "need.created", T0 + 20 * SEC, "n-3", "open"},
                           {"matches", "match.proposed", T0 + 20 * SEC, "m-6", "proposed"}};
    expect_rows(again.rows, want, 2);
    recorder_free(&again);
    kb_engine_free(r);
}
