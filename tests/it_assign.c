/* it_assign.c — batch assignment through the API on a real kobled with a
 * real redis-server: the optimum where greedy choice would strand a need,
 * proposals with their events, and a scope that is refused. */
#include <criterion/criterion.h>
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
