/* it_redis_events.c — a real kobled publishes to a real redis-server of
 * the test's own: events arrive in order with their fields; with Redis
 * down, killed mid-burst or restarted empty, and with kobled killed while
 * events wait, every event arrives exactly once.
 *
 * Waiting for events to arrive is bounded (10 s) and is a readiness wait,
 * not a timing assertion. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "harness.h"

static kt_daemon_t d;
static kt_redis_t r;
static char redis_flag[64];
static const char *args[3];

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void start_both(void) {
    cr_assert_eq(kt_redis_start(&r, 0), 0, "redis-server did not start");
    kt_redis_addr(&r, redis_flag, sizeof redis_flag);
    args[0] = "--redis";
    args[1] = redis_flag;
    args[2] = NULL;
    cr_assert_eq(kt_daemon_start(&d, args), 0, "kobled did not start");
}

static void stop_both(void) {
    kt_daemon_stop(&d);
    kt_redis_stop(&r);
}

static void put_need(int i) {
    char path[64], body[256];
    snprintf(path, sizeof path, "/v1/needs/n-%d", i);
    snprintf(body, sizeof body,
             "{\"kind\":\"visit\",\"municipality\":\"0461\",\"person_age\":%d,"
             "\"location\":{\"lat\":55.39,\"lon\":10.38}}",
             70 + i % 25);
    kt_resp_t resp = kt_http(&d, "PUT", path, body);
    cr_assert_eq(resp.status, 201, "PUT %s: %d %s", path, resp.status, resp.body);
    kt_resp_free(&resp);
}

/* Waits until key holds want entries (or 10 s pass); returns the length. */
static long long wait_for(const char *key, long long want) {
    long long n = -1;
    for (int i = 0; i < 1000 && (n = kt_redis_xlen(&r, key)) != want; i++) sleep_ms(10);
    return n;
}

/* Every entry of key: ids strictly increasing, the id field equal to the
 * entry id, and data naming need n-<k> for k = 0..count-1 in order. */
static void check_needs_stream(long long count) {
    redisReply *all = kt_redis_cmd(&r, "XRANGE koble:needs - +");
    cr_assert_not_null(all);
    cr_assert_eq(all->type, REDIS_REPLY_ARRAY);
    cr_assert_eq((long long)all->elements, count);
    unsigned long long prev_seq = 0;
    for (size_t i = 0; i < all->elements; i++) {
        redisReply *entry = all->element[i], *fields = entry->element[1];
        const char *id = entry->element[0]->str;
        unsigned long long seq, n;
        cr_assert_eq(sscanf(id, "%llu-%llu", &seq, &n), 2, "%s", id);
        cr_assert_gt(seq, prev_seq, "ids increase: %s", id);
        prev_seq = seq;
        cr_assert_eq(fields->elements, 8);
        cr_assert_str_eq(fields->element[0]->str, "event");
        cr_assert_str_eq(fields->element[1]->str, "need.created");
        cr_assert_str_eq(fields->element[2]->str, "id");
        cr_assert_str_eq(fields->element[3]->str, id);
        cr_assert_str_eq(fields->element[4]->str, "ts");
        cr_assert_gt(atoll(fields->element[5]->str), 1700000000000LL);
        cr_assert_str_eq(fields->element[6]->str, "data");
        json_t *data = json_loads(fields->element[7]->str, 0, NULL);
        char want[32];
        snprintf(want, sizeof want, "n-%zu", i);
        cr_assert_str_eq(json_string_value(json_object_get(data, "id")), want);
        json_decref(data);
    }
    freeReplyObject(all);
}

Test(events, needs_and_matches_arrive_in_order_with_their_fields, .fini = stop_both) {
    start_both();
    put_need(0);
    kt_resp_t resp =
        kt_http(&d, "PUT", "/v1/volunteers/v-1",
                "{\"location\":{\"lat\":55.39,\"lon\":10.38},\"skills\":[\"visiting\"]}");
    cr_assert_eq(resp.status, 201);
    kt_resp_free(&resp);
    resp = kt_http(&d, "POST", "/v1/matches",
                   "{\"need_id\":\"n-0\",\"candidate\":{\"type\":\"volunteer\",\"id\":\"v-1\"}}");
    cr_assert_eq(resp.status, 201);
    kt_resp_free(&resp);
    resp = kt_http(&d, "POST", "/v1/matches/m-1/accept", NULL);
    cr_assert_eq(resp.status, 200);
    kt_resp_free(&resp);
    resp = kt_http(&d, "POST", "/v1/needs/n-0/close", NULL);
    cr_assert_eq(resp.status, 200);
    kt_resp_free(&resp);
    /* A rejected write publishes nothing. */
    resp = kt_http(&d, "PUT", "/v1/needs/n-bad", "{\"kind\":\"visit\"}");
    cr_assert_eq(resp.status, 422);
    kt_resp_free(&resp);

    cr_assert_eq(wait_for("koble:needs", 2), 2);
    cr_assert_eq(wait_for("koble:matches", 2), 2);
    redisReply *m = kt_redis_cmd(&r, "XRANGE koble:matches - +");
    cr_assert_str_eq(m->element[0]->element[1]->element[1]->str, "match.proposed");
    cr_assert_str_eq(m->element[1]->element[1]->element[1]->str, "match.accepted");
    json_t *data = json_loads(m->element[1]->element[1]->element[7]->str, 0, NULL);
    cr_assert_str_eq(json_string_value(json_object_get(data, "state")), "accepted");
    json_decref(data);
    freeReplyObject(m);
    redisReply *n = kt_redis_cmd(&r, "XRANGE koble:needs - +");
    cr_assert_str_eq(n->element[1]->element[1]->element[1]->str, "need.closed");
    freeReplyObject(n);
}

/* Redis goes away in the middle of a burst and comes back empty: the API
 * answers all along, and every event arrives exactly once. */
Test(events, redis_killed_mid_burst_and_restarted_empty, .fini = stop_both) {
    start_both();
    enum { N = 300 };
    for (int i = 0; i < N; i++) {
        if (i == N / 3) kt_redis_stop(&r);
        put_need(i);
    }
    kt_resp_t resp = kt_http(&d, "GET", "/v1/stats", NULL);
    cr_assert_gt(json_integer_value(kt_json_path(resp.json, "events.waiting")), 0);
    kt_resp_free(&resp);
    /* The events Redis took before it died died with it; those not yet
     * confirmed are sent again. A new Redis on the same port: */
    cr_assert_eq(kt_redis_start(&r, r.port), 0);
    /* "published" counts each event once, whichever Redis took it. */
    kt_resp_t resp2 = {0};
    for (int i = 0; i < 1000; i++) {
        kt_resp_free(&resp2);
        resp2 = kt_http(&d, "GET", "/v1/stats", NULL);
        if (json_integer_value(kt_json_path(resp2.json, "events.waiting")) == 0) break;
        sleep_ms(10);
    }
    cr_assert_eq(json_integer_value(kt_json_path(resp2.json, "events.waiting")), 0);
    cr_assert_eq(json_integer_value(kt_json_path(resp2.json, "events.published")), N);
    kt_resp_free(&resp2);
    redisReply *all = kt_redis_cmd(&r, "XRANGE koble:needs - +");
    cr_assert_gt((long long)all->elements, 0);
    /* The new Redis has a suffix of the events, starting where the old
     * one's confirmations ended, without gaps. */
    long long first = -1;
    for (size_t i = 0; i < all->elements; i++) {
        json_t *data = json_loads(all->element[i]->element[1]->element[7]->str, 0, NULL);
        int k = atoi(json_string_value(json_object_get(data, "id")) + 2);
        json_decref(data);
        if (first < 0) first = k;
        cr_assert_eq(k, first + (long long)i, "entry %zu is need %d", i, k);
    }
    cr_assert_eq(first + (long long)all->elements, N);
    freeReplyObject(all);
}

/* Events wait while Redis is down; kobled is killed, comes back, Redis
 * comes up: every event arrives, once. Killed and restarted again after
 * delivery (Redis emptied meanwhile), kobled sends nothing twice. */
Test(events, kobled_killed_while_events_wait, .fini = stop_both) {
    start_both();
    kt_redis_stop(&r);
    enum { N = 50 };
    for (int i = 0; i < N; i++) put_need(i);
    cr_assert_eq(kt_daemon_kill(&d), 0);
    cr_assert_eq(kt_redis_start(&r, r.port), 0);
    cr_assert_eq(kt_daemon_spawn(&d, args), 0);
    cr_assert_eq(wait_for("koble:needs", N), N);
    check_needs_stream(N);
    /* Delivered and confirmed: the confirmation is journaled once nothing
     * is in flight, which /v1/stats shows as waiting 0. */
    for (int i = 0; i < 1000; i++) {
        kt_resp_t resp = kt_http(&d, "GET", "/v1/stats", NULL);
        long long waiting = json_integer_value(kt_json_path(resp.json, "events.waiting"));
        kt_resp_free(&resp);
        if (waiting == 0) break;
        sleep_ms(10);
    }
    cr_assert_eq(kt_daemon_kill(&d), 0);
    redisReply *ok = kt_redis_cmd(&r, "FLUSHALL");
    freeReplyObject(ok);
    cr_assert_eq(kt_daemon_spawn(&d, args), 0);
    put_need(N); /* a new event, to know the old ones had their chance */
    cr_assert_eq(wait_for("koble:needs", 1), 1);
    redisReply *all = kt_redis_cmd(&r, "XRANGE koble:needs - +");
    json_t *data = json_loads(all->element[0]->element[1]->element[7]->str, 0, NULL);
    char want[16];
    snprintf(want, sizeof want, "n-%d", N);
    cr_assert_str_eq(json_string_value(json_object_get(data, "id")), want, "nothing sent twice");
    json_decref(data);
    freeReplyObject(all);
}

static void put_ok(const char *path, const char *body) {
    kt_resp_t resp = kt_http(&d, "PUT", path, body);
    cr_assert_eq(resp.status, 201, "PUT %s: %d %s", path, resp.status, resp.body);
    kt_resp_free(&resp);
}

/* An organisation with two subscriptions the need satisfies gets one
 * offer, pseudonymised; one whose area is elsewhere gets none. */
Test(events, a_subscription_in_range_gets_one_pseudonymised_offer, .fini = stop_both) {
    start_both();
    put_ok("/v1/subscriptions/urk-area",
           "{\"org_id\":\"urk-guldborgsund\",\"kinds\":[\"mentor\"],"
           "\"area\":{\"lat\":54.77,\"lon\":11.87,\"radius_km\":15}}");
    put_ok("/v1/subscriptions/urk-muni",
           "{\"org_id\":\"urk-guldborgsund\",\"municipalities\":[\"0376\"]}");
    put_ok("/v1/subscriptions/aarhus", "{\"org_id\":\"aarhus-frivillig\","
                                       "\"area\":{\"lat\":56.15,\"lon\":10.2,\"radius_km\":30}}");
    put_ok("/v1/needs/n-ung",
           "{\"kind\":\"mentor\",\"municipality\":\"0376\",\"requested_by\":\"guldborgsund-"
           "jobcenter\","
           "\"location\":{\"lat\":54.7712,\"lon\":11.8749},\"person_age\":17,"
           "\"skills_required\":[\"mentoring\"],\"experience_wanted\":[\"left_school_early\"]}");
    /* The need's own event is the marker that its offers went out too
     * (they come from the same write, and leave in order). */
    cr_assert_eq(wait_for("koble:needs", 1), 1);
    cr_assert_eq(wait_for("koble:org:urk-guldborgsund:needs", 1), 1);
    cr_assert_eq(kt_redis_xlen(&r, "koble:org:aarhus-frivillig:needs"), 0);
    redisReply *all = kt_redis_cmd(&r, "XRANGE koble:org:urk-guldborgsund:needs - +");
    redisReply *fields = all->element[0]->element[1];
    cr_assert_str_eq(fields->element[1]->str, "need.offered");
    const char *text = fields->element[7]->str;
    json_t *offer = json_loads(text, 0, NULL);
    cr_assert_not_null(offer);
    cr_assert_str_eq(json_string_value(json_object_get(offer, "need_id")), "n-ung");
    cr_assert_str_eq(json_string_value(json_object_get(offer, "age_band")), "15_17");
    cr_assert_str_eq(json_string_value(json_object_get(offer, "municipality")), "0376");
    cr_assert_float_eq(json_real_value(kt_json_path(offer, "area.lat")), 54.77, 1e-9);
    cr_assert_float_eq(json_real_value(kt_json_path(offer, "area.lon")), 11.87, 1e-9);
    /* Nothing that points at the person. */
    const char *absent[] = {"person_age",        "requested_by", "location",
                            "experience_wanted", "created_at",   "age_gap"};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
        cr_assert_null(json_object_get(offer, absent[i]), "%s in %s", absent[i], text);
    cr_assert_null(strstr(text, "guldborgsund-jobcenter"));
    cr_assert_null(strstr(text, "left_school_early"));
    cr_assert_null(strstr(text, "54.7712"));
    json_decref(offer);
    freeReplyObject(all);
}

/* A Redis that wants a password: with it (from the environment, never
 * logged) events arrive; with a wrong one nothing is published, the API
 * goes on, and the log says why. */
Test(events, redis_auth_from_the_environment, .fini = stop_both) {
    r.password = "s3cret-koble";
    cr_assert_eq(kt_redis_start(&r, 0), 0);
    kt_redis_addr(&r, redis_flag, sizeof redis_flag);
    args[0] = "--redis";
    args[1] = redis_flag;
    args[2] = NULL;
    setenv("KOBLE_REDIS_PASSWORD", "wrong", 1);
    cr_assert_eq(kt_daemon_start(&d, args), 0);
    put_need(0);
    /* Wait (bounded) for the refusal to be logged; by then the event has
     * had its chance to go out. */
    char *log = NULL;
    for (int i = 0; i < 1000; i++) {
        free(log);
        log = kt_daemon_log(&d);
        if (strstr(log, "event=redis_setup step=auth")) break;
        sleep_ms(10);
    }
    cr_assert(strstr(log, "event=redis_setup step=auth"), "%s", log);
    cr_assert_eq(kt_redis_xlen(&r, "koble:needs"), 0);
    cr_assert_null(strstr(log, "wrong"), "the password is never logged");
    free(log);
    cr_assert_eq(kt_daemon_kill(&d), 0);
    setenv("KOBLE_REDIS_PASSWORD", "s3cret-koble", 1);
    cr_assert_eq(kt_daemon_spawn(&d, args), 0);
    unsetenv("KOBLE_REDIS_PASSWORD");
    cr_assert_eq(wait_for("koble:needs", 1), 1, "the waiting event arrives once authenticated");
    log = kt_daemon_log(&d);
    cr_assert_null(strstr(log, "s3cret"), "the password is never logged");
    free(log);
}
