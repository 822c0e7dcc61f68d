/* it_streams.c — every kind of event a real kobled publishes to a real
 * redis-server of the test's own holds to the streams contract:
 * proto/streams.md, proto/schemas/stream-entry.json (the field map),
 * stream-event.json with event-need.json, event-need-offered.json and
 * event-match.json (the entry with data decoded: need.json, the
 * pseudonymised offer or match.json, the state the event names).
 *
 * One scenario makes writes that produce each of the eight events,
 * including the implicit match.ended of a close, of a deleted volunteer
 * and of a deleted need, and the need.offered of a new need and of a need
 * that reopens. Every entry Redis holds then goes, as XRANGE returns it,
 * to tests/schema_check.py --entry (which also checks that the id field is
 * the entry id), and the data of need and match events to the checker as
 * need or match on their own. The test itself checks what a schema
 * cannot: the keys, the events and their order (across all streams, by
 * id), the stream each goes to, the ids and ts of the events of one write,
 * ts against the data's timestamps, data against the GET answer, an offer
 * against its need. Wrong entries made from the real ones must be
 * rejected, so the check can fail.
 *
 * Waiting for the events is bounded (10 s) and is a readiness wait, not a
 * timing assertion. Paths are relative to the repository root, where tests
 * run; the checker runs under $KOBLE_PYTHON, else /usr/bin/python3, else
 * python3 from PATH (as in it_schema.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "checker.h"
#include "harness.h"

static kt_daemon_t d;
static kt_redis_t r;
static char redis_flag[64];

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- processes ---- */

static void start_with(const char *const *extra) {
    /* A checker that exits without reading its stdin must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(access(KT_CHECKER, R_OK), 0, "%s not found: run from the repository root",
                 KT_CHECKER);
    kt_checker_start();
    cr_assert_eq(kt_redis_start(&r, 0), 0, "redis-server did not start");
    kt_redis_addr(&r, redis_flag, sizeof redis_flag);
    const char *args[8] = {"--redis", redis_flag};
    int n = 2;
    for (int i = 0; extra && extra[i] && n < 7; i++) args[n++] = extra[i];
    args[n] = NULL;
    cr_assert_eq(kt_daemon_start(&d, args), 0, "kobled did not start");
}

static void start(void) { start_with(NULL); }

static void start_prefixed(void) {
    const char *extra[] = {"--redis-prefix", "acme:koble:", NULL};
    start_with(extra);
}

static void stop(void) {
    kt_checker_stop();
    int st = kt_daemon_stop(&d);
    kt_redis_stop(&r);
    cr_assert_eq(st, 0, "kobled did not exit 0");
}

/* ---- HTTP ---- */

/* One request; the status must be want. Returns the JSON answer (a new
 * reference, or NULL without one). */
static json_t *call(const char *method, const char *path, const char *body, int want) {
    kt_resp_t resp = kt_http(&d, method, path, body);
    cr_assert_eq(resp.status, want, "%s %s: %d, want %d: %s", method, path, resp.status, want,
                 resp.body ? resp.body : "");
    json_t *j = json_incref(resp.json);
    kt_resp_free(&resp);
    return j;
}

static void call_free(const char *method, const char *path, const char *body, int want) {
    json_decref(call(method, path, body, want));
}

static long long stat_at(const char *path) {
    json_t *s = call("GET", "/v1/stats", NULL, 200);
    json_t *v = kt_json_path(s, path);
    long long n = json_is_integer(v) ? (long long)json_integer_value(v) : -1;
    json_decref(s);
    return n;
}

/* Every event is confirmed by Redis (or 10 s pass): the events of a write
 * are queued before it is answered, so nothing else is on its way. */
static void wait_published(void) {
    long long waiting = -1;
    for (int i = 0; i < 1000 && (waiting = stat_at("events.waiting")) != 0; i++) sleep_ms(10);
    cr_assert_eq(waiting, 0, "events still waiting for Redis after 10 s");
}

/* ---- entries ---- */

enum { MAX_ENTRIES = 64 };

typedef struct entry {
    const char *stream;
    char id[48];
    uint64_t seq;
    uint32_t n;
    char *fv[8]; /* event, E, id, I, ts, T, data, D as Redis returned them */
    json_t *data;
} entry_t;

static entry_t entries[MAX_ENTRIES];
static size_t nentries;

static const char *ev(const entry_t *e) { return e->fv[1]; }

/* The id of what data describes: a need's or match's id, an offer's need. */
static const char *data_id(const entry_t *e) {
    json_t *id = json_object_get(e->data, "id");
    return json_string_value(id ? id : json_object_get(e->data, "need_id"));
}

static void entries_free(void) {
    for (size_t i = 0; i < nentries; i++) {
        for (int k = 0; k < 8; k++) free(entries[i].fv[k]);
        json_decref(entries[i].data);
    }
    nentries = 0;
}

/* An entry as XRANGE returns it, ["ID", ["event", E, ...]], as JSON text
 * (malloc'd) for the checker's --entry mode; nfv strings of fv. */
static char *entry_doc(const char *id, char *const *fv, int nfv) {
    json_t *flat = json_array();
    for (int k = 0; k < nfv; k++) json_array_append_new(flat, json_string(fv[k]));
    json_t *doc = json_pack("[s, o]", id, flat);
    cr_assert_not_null(doc);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    cr_assert_not_null(text);
    return text;
}

/* Reads every entry of key with XRANGE into entries[]; each must have the
 * four fields, in kobled's order. */
static void read_stream(const char *key, const char *label) {
    redisReply *all = kt_redis_cmd(&r, "XRANGE %s - +", key);
    cr_assert_not_null(all, "XRANGE %s: no reply", key);
    cr_assert_eq(all->type, REDIS_REPLY_ARRAY, "XRANGE %s: %s", key,
                 all->type == REDIS_REPLY_ERROR ? all->str : "not an array");
    static const char *const names[4] = {"event", "id", "ts", "data"};
    for (size_t i = 0; i < all->elements; i++) {
        cr_assert_lt(nentries, (size_t)MAX_ENTRIES);
        redisReply *entry = all->element[i], *fields = entry->element[1];
        entry_t *e = &entries[nentries++];
        e->stream = label;
        snprintf(e->id, sizeof e->id, "%s", entry->element[0]->str);
        cr_assert_eq(sscanf(e->id, "%" SCNu64 "-%" SCNu32, &e->seq, &e->n), 2, "%s", e->id);
        cr_assert_eq(fields->elements, 8, "%s %s: %zu field names and values, want 8", key, e->id,
                     fields->elements);
        for (int k = 0; k < 8; k++) {
            e->fv[k] = strdup(fields->element[k]->str);
            cr_assert_not_null(e->fv[k]);
        }
        for (int k = 0; k < 4; k++)
            cr_assert_str_eq(e->fv[2 * k], names[k], "%s %s: field %d", key, e->id, k);
        e->data = json_loads(e->fv[7], 0, NULL);
        cr_assert(json_is_object(e->data), "%s %s: data is not a JSON object: %s", key, e->id,
                  e->fv[7]);
    }
    freeReplyObject(all);
}

static int by_id(const void *a, const void *b) {
    const entry_t *x = a, *y = b;
    if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
    return (x->n > y->n) - (x->n < y->n);
}

/* "2026-11-25T14:53:38.934Z" in ms since the epoch, -1 if it is not one. */
static long long timestamp_ms(const char *s) {
    struct tm tm = {0};
    int ms, used = 0;
    if (!s ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &used) != 7 ||
        s[used] != '\0')
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (long long)timegm(&tm) * 1000 + ms;
}

/* The entry passes the checker: the field map, the id field, the decoded
 * entry; and its data on its own against need.json or match.json. */
static void conforms(const entry_t *e) {
    char out[4096];
    char *doc = entry_doc(e->id, e->fv, 8);
    int rc = kt_checker_ask("--entry", doc, out, sizeof out);
    cr_assert_neq(rc, -1, "the checker is gone (see stderr)");
    cr_assert_eq(rc, 0, "%s %s (%s) does not conform (checker status %d):\n%s\nentry: %.800s",
                 e->stream, e->id, ev(e), rc, out, doc);
    free(doc);
    if (!strcmp(ev(e), "need.offered")) return; /* no schema of its own: stream-event's */
    const char *schema = strncmp(ev(e), "need.", 5) == 0 ? "need" : "match";
    rc = kt_checker_ask(schema, e->fv[7], out, sizeof out);
    cr_assert_eq(rc, 0, "%s %s (%s): data is not a %s (checker status %d):\n%s", e->stream, e->id,
                 ev(e), schema, rc, out);
}

/* A copy of e with field value k (1 event, 3 id, 5 ts, 7 data) replaced,
 * or with field pair k/2 left out when value is NULL, must be rejected;
 * the checker's message must contain says. */
static void rejected(const entry_t *e, int k, const char *value, const char *says) {
    char *fv[8];
    int nfv = 0;
    for (int i = 0; i < 8; i++) {
        if (!value && (i == k || i == k - 1)) continue;
        fv[nfv++] = i == k ? (char *)value : e->fv[i];
    }
    char *doc = entry_doc(e->id, fv, nfv);
    char out[4096];
    int rc = kt_checker_ask("--entry", doc, out, sizeof out);
    cr_assert_eq(rc, 1, "a wrong entry was not rejected (status %d): %s\n%s", rc, doc, out);
    cr_assert(strstr(out, says), "the checker did not say \"%s\":\n%s", says, out);
    free(doc);
}

/* ---- the scenario ---- */

typedef struct want {
    const char *stream, *event, *data_id;
    uint32_t n; /* place among the write's events */
} want_t;

#define AELDRE "org:aeldresagen-odense:needs"
#define RK     "org:rode-kors-odense:needs"

/* What the writes of every_event_holds_to_the_contract publish, in the
 * order of their ids across all streams. */
static const want_t want[] = {
    {"needs", "need.created", "n-karen", 0},
    {AELDRE, "need.offered", "n-karen", 1}, /* offers: once per organisation, */
    {RK, "need.offered", "n-karen", 2},     /* in the order of their ids */
    {"needs", "need.updated", "n-karen", 0},
    {"matches", "match.proposed", "m-1", 0},
    {"matches", "match.accepted", "m-1", 0}, /* n-karen is matched: no need event */
    {"matches", "match.ended", "m-1", 0},    /* the explicit end reopens n-karen: */
    {AELDRE, "need.offered", "n-karen", 1},  /* offered again, after the end */
    {RK, "need.offered", "n-karen", 2},
    {"matches", "match.proposed", "m-2", 0},
    {"matches", "match.declined", "m-2", 0},
    {"matches", "match.proposed", "m-3", 0},
    {"matches", "match.ended", "m-3", 0},   /* the close ends the proposal... */
    {"needs", "need.closed", "n-karen", 1}, /* ...in the same write */
    {"needs", "need.created", "n-poul", 0},
    {AELDRE, "need.offered", "n-poul", 1},
    {RK, "need.offered", "n-poul", 2},
    {"matches", "match.proposed", "m-4", 0},
    {"matches", "match.accepted", "m-4", 0},
    {"matches", "match.ended", "m-4", 0},  /* deleting v-mette ends its match */
    {AELDRE, "need.offered", "n-poul", 1}, /* and so reopens n-poul */
    {RK, "need.offered", "n-poul", 2},
    {"needs", "need.created", "n-inger", 0},
    {RK, "need.offered", "n-inger", 1}, /* two subscriptions, one offer */
    {"matches", "match.proposed", "m-5", 0},
    {"matches", "match.ended", "m-5", 0}, /* its need is deleted: no need event */
};
enum { NWANT = sizeof want / sizeof want[0] };

static void make_every_event(void) {
    call_free("PUT", "/v1/organisations/rode-kors-odense",
              "{\"name\":\"Røde Kors Odense\",\"kind\":\"volunteer_org\","
              "\"location\":{\"lat\":55.3959,\"lon\":10.3883}}",
              201);
    /* Røde Kors takes visits in Odense and anything near the centre;
     * Ældre Sagen anything that asks for visiting; the Aarhus
     * organisation only needs near Aarhus (so none of these). */
    call_free(
        "PUT", "/v1/subscriptions/s-rk-kommune",
        "{\"org_id\":\"rode-kors-odense\",\"kinds\":[\"visit\"],\"municipalities\":[\"0461\"]}",
        201);
    call_free("PUT", "/v1/subscriptions/s-rk-naer",
              "{\"org_id\":\"rode-kors-odense\",\"area\":{\"lat\":55.40,\"lon\":10.39,"
              "\"radius_km\":5}}",
              201);
    call_free("PUT", "/v1/subscriptions/s-aeldre",
              "{\"org_id\":\"aeldresagen-odense\",\"skills_any\":[\"visiting\"]}", 201);
    call_free("PUT", "/v1/subscriptions/s-aarhus",
              "{\"org_id\":\"aarhus-frivillig\",\"area\":{\"lat\":56.15,\"lon\":10.2,"
              "\"radius_km\":30}}",
              201);
    call_free("PUT", "/v1/volunteers/v-mette",
              "{\"org_id\":\"rode-kors-odense\",\"location\":{\"lat\":55.3959,\"lon\":10.3883},"
              "\"max_distance_km\":8,\"skills\":[\"visiting\",\"reading_aloud\"],"
              "\"languages\":[\"da\",\"en\"],\"birth_year\":1961,"
              "\"availability\":[\"tue_afternoon\",\"thu_afternoon\"],\"capacity\":2}",
              201);
    call_free(
        "PUT", "/v1/volunteers/v-jens",
        "{\"org_id\":\"rode-kors-odense\",\"location\":{\"lat\":55.4038,\"lon\":10.4024},"
        "\"skills\":[\"visiting\"],\"languages\":[\"da\"],\"availability\":[\"tue_afternoon\"]}",
        201);
    /* An 84-year-old in Odense who would like a visit: created, then
     * replaced with more detail. */
    call_free("PUT", "/v1/needs/n-karen",
              "{\"kind\":\"visit\",\"municipality\":\"0461\",\"requested_by\":\"odense-kommune\","
              "\"location\":{\"lat\":55.3984,\"lon\":10.3911},\"skills_required\":[\"visiting\"],"
              "\"languages\":[\"da\"],\"person_age\":84,\"availability\":[\"tue_afternoon\"]}",
              201);
    call_free("PUT", "/v1/needs/n-karen",
              "{\"kind\":\"visit\",\"municipality\":\"0461\",\"requested_by\":\"odense-kommune\","
              "\"location\":{\"lat\":55.3984,\"lon\":10.3911},\"skills_required\":[\"visiting\"],"
              "\"skills_wanted\":[\"reading_aloud\"],\"languages\":[\"da\"],\"person_age\":84,"
              "\"availability\":[\"tue_afternoon\",\"thu_afternoon\"],\"urgency\":2}",
              200);
    const char *mette = "{\"need_id\":\"n-karen\",\"candidate\":{\"type\":\"volunteer\","
                        "\"id\":\"v-mette\"}}";
    call_free("POST", "/v1/matches", mette, 201); /* m-1 */
    call_free("POST", "/v1/matches/m-1/accept", NULL, 200);
    call_free("POST", "/v1/matches/m-1/end", NULL, 200);
    call_free("POST", "/v1/matches",
              "{\"need_id\":\"n-karen\",\"candidate\":{\"type\":\"volunteer\",\"id\":\"v-jens\"}}",
              201); /* m-2 */
    call_free("POST", "/v1/matches/m-2/decline", NULL, 200);
    call_free("POST", "/v1/matches", mette, 201); /* m-3, ended by the close */
    call_free("POST", "/v1/needs/n-karen/close", NULL, 200);
    call_free("POST", "/v1/needs/n-karen/close", NULL, 200); /* closed already: no event */
    /* An accepted match ended by deleting its volunteer. */
    call_free("PUT", "/v1/needs/n-poul",
              "{\"kind\":\"mentor\",\"municipality\":\"0461\",\"location\":{\"lat\":55.401,"
              "\"lon\":10.395},\"skills_required\":[\"visiting\"],\"person_age\":79}",
              201);
    call_free("POST", "/v1/matches",
              "{\"need_id\":\"n-poul\",\"candidate\":{\"type\":\"volunteer\",\"id\":\"v-mette\"}}",
              201); /* m-4 */
    call_free("POST", "/v1/matches/m-4/accept", NULL, 200);
    call_free("DELETE", "/v1/volunteers/v-mette", NULL, 204);
    /* A proposal ended by deleting its need. */
    call_free("PUT", "/v1/needs/n-inger",
              "{\"kind\":\"visit\",\"municipality\":\"0461\",\"location\":{\"lat\":55.4012,"
              "\"lon\":10.3947},\"person_age\":91}",
              201);
    call_free("POST", "/v1/matches",
              "{\"need_id\":\"n-inger\",\"candidate\":{\"type\":\"volunteer\",\"id\":\"v-jens\"}}",
              201); /* m-5 */
    call_free("DELETE", "/v1/needs/n-inger", NULL, 204);
    /* Refused writes publish nothing. */
    call_free("PUT", "/v1/needs/n-bad", "{\"kind\":\"visit\"}", 422);
    call_free("POST", "/v1/matches/m-2/accept", NULL, 409);
    call_free("POST", "/v1/matches/m-1/end", NULL, 409);
}

static const entry_t *find(const char *stream, const char *event, const char *id) {
    for (size_t i = 0; i < nentries; i++)
        if (!strcmp(entries[i].stream, stream) && !strcmp(ev(&entries[i]), event) &&
            !strcmp(data_id(&entries[i]), id))
            return &entries[i];
    cr_assert_fail("no %s event for %s in %s", event, id, stream);
    return NULL;
}

static const char *age_band(json_int_t age) {
    return age < 15   ? "under_15"
           : age < 18 ? "15_17"
           : age < 25 ? "18_24"
           : age < 65 ? "25_64"
                      : "65_plus";
}

/* The data of need id's last event in <prefix>needs before entries[i]. */
static const json_t *need_before(size_t i, const char *id) {
    while (i-- > 0)
        if (!strcmp(entries[i].stream, "needs") && !strcmp(data_id(&entries[i]), id))
            return entries[i].data;
    return NULL;
}

/* An offer is its need (the need's last event before it), pseudonymised:
 * the matching attributes as they are, the age as its band, the place
 * rounded to 0.01 degree. */
static void offer_fits_need(const entry_t *offer, const json_t *need) {
    cr_assert_not_null(need, "%s: no need event before the offer", offer->id);
    static const char *const same[] = {"kind",          "municipality", "skills_required",
                                       "skills_wanted", "languages",    "availability",
                                       "count",         "urgency"};
    for (size_t k = 0; k < sizeof same / sizeof same[0]; k++)
        cr_assert(json_equal(json_object_get(offer->data, same[k]), json_object_get(need, same[k])),
                  "%s: %s differs from the need's", offer->id, same[k]);
    cr_assert_str_eq(json_string_value(json_object_get(offer->data, "age_band")),
                     age_band(json_integer_value(json_object_get(need, "person_age"))), "%s",
                     offer->id);
    static const char *const axes[] = {"lat", "lon"};
    for (int k = 0; k < 2; k++) {
        double exact =
            json_number_value(kt_json_path((json_t *)need, k ? "location.lon" : "location.lat"));
        json_t *area = json_object_get(offer->data, "area");
        double got = json_number_value(json_object_get(area, axes[k]));
        double want_area = (double)(long long)(exact * 100 + (exact < 0 ? -0.5 : 0.5)) / 100;
        cr_assert_float_eq(got, want_area, 1e-9, "%s: area.%s %g for %g", offer->id, axes[k], got,
                           exact);
    }
}

Test(streams, every_event_holds_to_the_contract, .init = start, .fini = stop) {
    make_every_event();
    wait_published();
    /* The keys: these four, and nothing for the organisation whose
     * subscription no need satisfied. */
    redisReply *keys = kt_redis_cmd(&r, "KEYS *");
    cr_assert(keys && keys->type == REDIS_REPLY_ARRAY);
    cr_assert_eq(keys->elements, 4, "%zu keys", keys->elements);
    freeReplyObject(keys);
    cr_assert_eq(kt_redis_xlen(&r, "koble:needs"), 5);
    cr_assert_eq(kt_redis_xlen(&r, "koble:matches"), 12);
    cr_assert_eq(kt_redis_xlen(&r, "koble:" AELDRE), 4);
    cr_assert_eq(kt_redis_xlen(&r, "koble:" RK), 5);
    read_stream("koble:needs", "needs");
    read_stream("koble:matches", "matches");
    read_stream("koble:" AELDRE, AELDRE);
    read_stream("koble:" RK, RK);
    cr_assert_eq(nentries, (size_t)NWANT);
    qsort(entries, nentries, sizeof *entries, by_id);

    for (size_t i = 0; i < nentries; i++) {
        const entry_t *e = &entries[i];
        conforms(e);
        /* The events, in write order across all streams, each in its own
         * stream (ids are unique across streams). */
        cr_assert_str_eq(e->stream, want[i].stream, "entry %zu (%s %s)", i, e->id, ev(e));
        cr_assert_str_eq(ev(e), want[i].event, "entry %zu (%s)", i, e->id);
        cr_assert_str_eq(data_id(e), want[i].data_id, "entry %zu (%s %s)", i, e->id, ev(e));
        cr_assert_eq(e->n, want[i].n, "entry %zu (%s %s)", i, e->id, ev(e));
        if (i > 0) {
            const entry_t *prev = &entries[i - 1];
            cr_assert_lt(by_id(prev, e), 0, "%s after %s", e->id, prev->id);
            /* The events of one write: n counts up from 0, one ts. */
            if (prev->seq == e->seq) {
                cr_assert_eq(e->n, prev->n + 1, "%s after %s", e->id, prev->id);
                cr_assert_str_eq(e->fv[5], prev->fv[5], "ts of %s and %s", e->id, prev->id);
            }
        }
        /* ts is the write's instant: a match's updated_at, a new need's
         * created_at. */
        long long ts = atoll(e->fv[5]);
        cr_assert_gt(ts, 1700000000000LL, "%s: ts %s", e->id, e->fv[5]);
        const char *stamp = !strcmp(e->stream, "matches")    ? "updated_at"
                            : !strcmp(ev(e), "need.created") ? "created_at"
                                                             : NULL;
        if (stamp)
            cr_assert_eq(timestamp_ms(json_string_value(json_object_get(e->data, stamp))), ts,
                         "%s %s: ts %lld is not data.%s", e->id, ev(e), ts, stamp);
        if (!strcmp(ev(e), "need.offered")) offer_fits_need(e, need_before(i, data_id(e)));
    }

    /* data is what GET answers after the write (and still does for these,
     * each the entity's last event). */
    static const struct {
        const char *path, *stream, *event, *id;
    } last[] = {{"/v1/needs/n-karen", "needs", "need.closed", "n-karen"},
                {"/v1/needs/n-poul", "needs", "need.created", "n-poul"},
                {"/v1/matches/m-1", "matches", "match.ended", "m-1"},
                {"/v1/matches/m-2", "matches", "match.declined", "m-2"},
                {"/v1/matches/m-4", "matches", "match.ended", "m-4"},
                {"/v1/matches/m-5", "matches", "match.ended", "m-5"}};
    for (size_t i = 0; i < sizeof last / sizeof last[0]; i++) {
        json_t *got = call("GET", last[i].path, NULL, 200);
        const entry_t *e = find(last[i].stream, last[i].event, last[i].id);
        char *a = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        char *b = json_dumps(e->data, JSON_COMPACT | JSON_SORT_KEYS);
        cr_assert(json_equal(got, e->data), "GET %s:\n%s\n%s %s data:\n%s", last[i].path, a, e->id,
                  ev(e), b);
        free(a);
        free(b);
        json_decref(got);
    }

    /* Wrong entries made from real ones are rejected, each for its reason:
     * the check can fail. */
    const entry_t *accepted = find("matches", "match.accepted", "m-1");
    const entry_t *created = find("needs", "need.created", "n-karen");
    const entry_t *closed = find("needs", "need.closed", "n-karen");
    const entry_t *offered = find(RK, "need.offered", "n-inger");
    rejected(accepted, 1, "match.declined", "'declined' was expected");
    rejected(created, 1, "match.proposed", "$.data");
    rejected(closed, 1, "need.deleted", "is not one of");
    rejected(created, 1, "need.offered", "Additional properties are not allowed");
    rejected(offered, 1, "need.created", "$.data");
    rejected(accepted, 3, created->id, "is not the entry id");
    rejected(accepted, 5, "1795618419025.0", "$.ts");
    rejected(created, 7, "{\"id\":\"n-karen\"", "not JSON");
    rejected(created, 5, NULL, "'ts' is a required property");
    char *bad = strdup(created->fv[7]);
    cr_assert_not_null(bad);
    char *at = strstr(bad, "\"state\":\"open\"");
    cr_assert_not_null(at, "%s", bad);
    memcpy(at, "\"state\":\"lost\"", 14);
    rejected(created, 7, bad, "$.data.state");
    free(bad);
    /* An offer that tells the age. */
    json_t *told = json_deep_copy(offered->data);
    json_object_set_new(told, "person_age", json_integer(91));
    bad = json_dumps(told, JSON_COMPACT);
    json_decref(told);
    cr_assert_not_null(bad);
    rejected(offered, 7, bad, "'person_age' was unexpected");
    free(bad);
    entries_free();
}

/* The prefix names every key: --redis-prefix acme:koble: publishes to
 * acme:koble:needs and acme:koble:org:<org_id>:needs, nothing else. */
Test(streams, prefix_names_the_keys, .init = start_prefixed, .fini = stop) {
    call_free("PUT", "/v1/subscriptions/s-1", "{\"org_id\":\"rode-kors-odense\"}", 201);
    call_free("PUT", "/v1/needs/n-1",
              "{\"kind\":\"visit\",\"municipality\":\"0461\",\"location\":{\"lat\":55.39,"
              "\"lon\":10.38},\"person_age\":80}",
              201);
    wait_published();
    redisReply *keys = kt_redis_cmd(&r, "KEYS *");
    cr_assert(keys && keys->type == REDIS_REPLY_ARRAY);
    cr_assert_eq(keys->elements, 2, "%zu keys", keys->elements);
    freeReplyObject(keys);
    cr_assert_eq(kt_redis_xlen(&r, "acme:koble:needs"), 1);
    cr_assert_eq(kt_redis_xlen(&r, "acme:koble:" RK), 1);
    read_stream("acme:koble:needs", "needs");
    read_stream("acme:koble:" RK, RK);
    cr_assert_eq(nentries, 2);
    for (size_t i = 0; i < nentries; i++) conforms(&entries[i]);
    cr_assert_str_eq(ev(&entries[0]), "need.created");
    cr_assert_str_eq(ev(&entries[1]), "need.offered");
    entries_free();
}
