/* it_assign.c — batch assignment through the API on a real kobled with a
 * real redis-server: the optimum where greedy choice would strand a need,
 * proposals with their events, a scope that is refused, and a large batch
 * that does not stop the daemon from answering meanwhile. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "harness.h"

static kt_daemon_t d;
static kt_redis_t r;

static void stop(void) {
    kt_daemon_stop(&d);
    kt_redis_stop(&r);
}

static void put(const char *path, const char *body) {
    kt_resp_t resp = kt_http(&d, "PUT", path, body);
    cr_assert_eq(resp.status, 201, "PUT %s: %d %s", path, resp.status, resp.body);
    kt_resp_free(&resp);
}

static const char *str_at(json_t *root, const char *path) {
    const char *s = json_string_value(kt_json_path(root, path));
    return s ? s : "(missing)";
}

/* Guldborgsund: v-a near both young people, v-b reachable only by n-1.
 * Greedy would give v-a to n-1 (its best) and leave n-2 with nothing; the
 * optimum gives n-1 v-b and n-2 v-a. n-3 is far from everyone. */
static void setup_people(void) {
    put("/v1/volunteers/v-a", "{\"location\":{\"lat\":54.77,\"lon\":11.87},\"max_distance_km\":50,"
                              "\"skills\":[\"mentoring\"]}");
    put("/v1/volunteers/v-b", "{\"location\":{\"lat\":54.90,\"lon\":11.87},\"max_distance_km\":50,"
                              "\"skills\":[\"mentoring\"]}");
    put("/v1/needs/n-1", "{\"kind\":\"mentor\",\"municipality\":\"0376\",\"person_age\":18,"
                         "\"location\":{\"lat\":54.77,\"lon\":11.87},\"max_distance_km\":30,"
                         "\"skills_required\":[\"mentoring\"]}");
    put("/v1/needs/n-2", "{\"kind\":\"mentor\",\"municipality\":\"0376\",\"person_age\":17,"
                         "\"location\":{\"lat\":54.76,\"lon\":11.87},\"max_distance_km\":5,"
                         "\"skills_required\":[\"mentoring\"]}");
    put("/v1/needs/n-3", "{\"kind\":\"mentor\",\"municipality\":\"0376\",\"person_age\":19,"
                         "\"location\":{\"lat\":56.0,\"lon\":9.87},\"max_distance_km\":5,"
                         "\"skills_required\":[\"mentoring\"]}");
    put("/v1/needs/n-odense", "{\"kind\":\"visit\",\"municipality\":\"0461\",\"person_age\":80,"
                              "\"location\":{\"lat\":55.39,\"lon\":10.38}}");
}

Test(assign, the_optimum_serves_the_need_greedy_would_strand, .fini = stop) {
    cr_assert_eq(kt_redis_start(&r, 0), 0);
    char redis[64];
    kt_redis_addr(&r, redis, sizeof redis);
    const char *args[] = {"--redis", redis, NULL};
    cr_assert_eq(kt_daemon_start(&d, args), 0);
    setup_people();

    kt_resp_t a = kt_http(&d, "POST", "/v1/assignments", "{\"municipality\":\"0376\"}");
    cr_assert_eq(a.status, 200, "%s", a.body);
    cr_assert_str_eq(str_at(a.json, "pairs.0.need_id"), "n-1");
    cr_assert_str_eq(str_at(a.json, "pairs.0.candidate.id"), "v-b");
    cr_assert_str_eq(str_at(a.json, "pairs.1.need_id"), "n-2");
    cr_assert_str_eq(str_at(a.json, "pairs.1.candidate.id"), "v-a");
    cr_assert_eq(json_array_size(kt_json_path(a.json, "pairs")), 2);
    cr_assert_str_eq(str_at(a.json, "unassigned.0.need_id"), "n-3");
    cr_assert_str_eq(str_at(a.json, "unassigned.0.reason"), "no_feasible_candidate");
    cr_assert_eq(json_array_size(kt_json_path(a.json, "unassigned")), 1,
                 "n-odense is out of scope");
    double total = json_real_value(kt_json_path(a.json, "total_score"));
    double s0 = json_real_value(kt_json_path(a.json, "pairs.0.score"));
    double s1 = json_real_value(kt_json_path(a.json, "pairs.1.score"));
    cr_assert_float_eq(total, s0 + s1, 1e-3);
    cr_assert_eq(json_integer_value(kt_json_path(a.json, "hard_to_reach.served")), 2);
    cr_assert(json_is_false(kt_json_path(a.json, "truncated")));
    cr_assert(json_is_true(kt_json_path(a.json, "optimal")));
    kt_resp_free(&a);
    /* Without propose nothing changed. */
    a = kt_http(&d, "GET", "/v1/stats", NULL);
    cr_assert_eq(json_integer_value(kt_json_path(a.json, "counts.matches.proposed")), 0);
    kt_resp_free(&a);

    a = kt_http(&d, "POST", "/v1/assignments", "{\"need_ids\":[\"n-1\",\"n-2\"],\"propose\":true}");
    cr_assert_eq(a.status, 200, "%s", a.body);
    cr_assert_str_eq(str_at(a.json, "pairs.0.match_id"), "m-1");
    cr_assert_str_eq(str_at(a.json, "pairs.1.match_id"), "m-2");
    kt_resp_free(&a);
    a = kt_http(&d, "GET", "/v1/matches/m-2", NULL);
    cr_assert_str_eq(str_at(a.json, "candidate.id"), "v-a");
    cr_assert_str_eq(str_at(a.json, "state"), "proposed");
    kt_resp_free(&a);
    /* The proposals' events, as POST /v1/matches publishes them. */
    long long n = -1;
    for (int i = 0; i < 1000 && (n = kt_redis_xlen(&r, "koble:matches")) != 2; i++) usleep(10000);
    cr_assert_eq(n, 2);
    redisReply *all = kt_redis_cmd(&r, "XRANGE koble:matches - +");
    cr_assert_str_eq(all->element[0]->element[1]->element[1]->str, "match.proposed");
    cr_assert_str_eq(all->element[1]->element[1]->element[1]->str, "match.proposed");
    freeReplyObject(all);
}

Test(assign, refused_scopes, .fini = stop) {
    cr_assert_eq(kt_daemon_start(&d, NULL), 0);
    setup_people();
    struct {
        const char *body;
        int status;
        const char *code;
    } cases[] = {
        {"{\"municipality\":\"376\"}", 422, "invalid_field"},
        {"{\"municipality\":\"0376\",\"need_ids\":[\"n-1\"]}", 422, "invalid_field"},
        {"{\"need_ids\":[\"n-9\"]}", 404, "not_found"},
        {"{\"limit_per_need\":0}", 422, "invalid_field"},
        {"{\"propose\":\"yes\"}", 422, "invalid_field"},
        {"{\"everything\":true}", 422, "unknown_field"},
        {"[1]", 422, "invalid_body"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kt_resp_t a = kt_http(&d, "POST", "/v1/assignments", cases[i].body);
        cr_assert_eq(a.status, cases[i].status, "%s: %d %s", cases[i].body, a.status, a.body);
        cr_assert_str_eq(str_at(a.json, "error.code"), cases[i].code, "%s", cases[i].body);
        kt_resp_free(&a);
    }
    kt_resp_t a = kt_http(&d, "GET", "/v1/assignments", NULL);
    cr_assert_eq(a.status, 405);
    kt_resp_free(&a);
}

/* n PUTs pipelined on one connection (the last closes it); all must be 201. */
static void put_many(const char *kind, const char *prefix, int n, const char *body) {
    size_t cap = (size_t)n * (strlen(body) + 160) + 1, len = 0;
    char *req = malloc(cap);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(req + len, cap - len,
                                "PUT /v1/%s/%s-%d HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
                                "%s\r\n%s",
                                kind, prefix, i, strlen(body),
                                i == n - 1 ? "Connection: close\r\n" : "", body);
    char *out = kt_raw(&d, req, len);
    int created = 0;
    for (char *p = out; (p = strstr(p, "HTTP/1.1 201")); p++) created++;
    cr_assert_eq(created, n, "%d of %d %s created: %.300s", created, n, kind, out);
    free(out);
    free(req);
}

/* The batch builds its candidate lists in slices, so other requests are
 * served while it runs. Shown by order, not time: connection A pipelines
 * the batch (all of Guldborgsund: 1,500 needs at one spot, so their lists
 * are built in batch order, n-1499 last) and then closes n-marker, a need
 * outside the batch. The
 * daemon parses A's second request as soon as the batch has started, but
 * answers it after the batch. Once another connection sees n-marker
 * closed, the batch has started; that connection then gets /healthz and
 * closes n-1499. If the loop were busy with the batch, n-marker would not
 * be closed before the batch was over, and n-1499 would have been
 * considered open with plenty of candidates; answered while the batch
 * runs, n-1499's slice comes after its close and it is "not_open". */
Test(assign, health_and_writes_are_served_while_a_large_batch_runs, .fini = stop, .timeout = 120) {
    const char *args[] = {"--redis", "none", "--fsync", "no", NULL};
    cr_assert_eq(kt_daemon_start(&d, args), 0);
    put("/v1/needs/n-marker", "{\"kind\":\"visit\",\"municipality\":\"0461\",\"person_age\":80,"
                              "\"location\":{\"lat\":55.39,\"lon\":10.38}}");
    put_many("volunteers", "v", 1000,
             "{\"location\":{\"lat\":54.77,\"lon\":11.87},\"max_distance_km\":50,"
             "\"skills\":[\"mentoring\"]}");
    put_many("needs", "n", 1500,
             "{\"kind\":\"mentor\",\"municipality\":\"0376\",\"person_age\":18,"
             "\"location\":{\"lat\":54.77,\"lon\":11.87},\"max_distance_km\":30}");

    int a = kt_connect(&d);
    cr_assert_geq(a, 0);
    static const char batch[] =
        "POST /v1/assignments HTTP/1.1\r\nHost: x\r\nContent-Length: 45\r\n\r\n"
        "{\"municipality\":\"0376\",\"limit_per_need\":1000}"
        "POST /v1/needs/n-marker/close HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
        "Connection: close\r\n\r\n";
    cr_assert_eq(write(a, batch, sizeof batch - 1), (ssize_t)(sizeof batch - 1));

    /* A readiness wait (bounded), not a timing assertion. */
    bool started = false;
    for (int i = 0; i < 6000 && !started; i++) {
        kt_resp_t m = kt_http(&d, "GET", "/v1/needs/n-marker", NULL);
        started = !strcmp(str_at(m.json, "state"), "closed");
        kt_resp_free(&m);
        if (!started) usleep(10000);
    }
    cr_assert(started, "n-marker was never closed");
    kt_resp_t h = kt_http(&d, "GET", "/healthz", NULL);
    cr_assert_eq(h.status, 200);
    cr_assert_str_eq(str_at(h.json, "status"), "ok");
    kt_resp_free(&h);
    kt_resp_t c = kt_http(&d, "POST", "/v1/needs/n-1499/close", NULL);
    cr_assert_eq(c.status, 200, "%s", c.body);
    kt_resp_free(&c);

    char *out = kt_read_all(a, 60000);
    close(a);
    /* Two answers, in request order: the batch, then the close. */
    char *first = strstr(out, "HTTP/1.1 200"), *body = strstr(out, "\r\n\r\n");
    cr_assert(first == out && body, "%.300s", out);
    char *second = strstr(body, "HTTP/1.1 200");
    cr_assert_not_null(second, "%.300s", out);
    *second = '\0';
    json_t *ans = json_loads(body + 4, 0, NULL);
    cr_assert_not_null(ans, "%.300s", body + 4);
    cr_assert_eq(json_integer_value(kt_json_path(ans, "counts.needs")), 1500);
    json_t *un = kt_json_path(ans, "unassigned");
    size_t i;
    json_t *u;
    const char *reason = NULL;
    json_array_foreach(un, i, u) {
        if (!strcmp(str_at(u, "need_id"), "n-1499")) reason = str_at(u, "reason");
    }
    cr_assert_str_eq(reason ? reason : "(served)", "not_open",
                     "n-1499 was closed while the batch ran");
    /* The 1,000 volunteers (each need's whole list) take one need each. */
    cr_assert_eq(json_integer_value(kt_json_path(ans, "counts.pairs")), 1000);
    cr_assert_eq(json_array_size(un), 500);
    json_decref(ans);
    free(out);
}
