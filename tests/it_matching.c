/* it_matching.c — a case worker registers people and needs on a real
 * kobled and gets ranked, explained matches: the seed situations of
 * DESIGN.md, checked by ids, order, components and exclusion counts. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "harness.h"

static kt_daemon_t d;
static int year;

static void start(void) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    year = tm.tm_year + 1900;
    cr_assert_eq(kt_daemon_start(&d, NULL), 0, "kobled did not start");
}

static void stop(void) { cr_assert_eq(kt_daemon_stop(&d), 0, "kobled did not exit 0"); }

static void put(const char *path, const char *body, int want) {
    kt_resp_t r = kt_http(&d, "PUT", path, body);
    cr_assert_eq(r.status, want, "PUT %s: %d %s", path, r.status, r.body);
    kt_resp_free(&r);
}

static kt_resp_t get_ok(const char *path) {
    kt_resp_t r = kt_http(&d, "GET", path, NULL);
    cr_assert_eq(r.status, 200, "GET %s: %d %s", path, r.status, r.body);
    cr_assert_not_null(r.json);
    return r;
}

static const char *str_at(json_t *root, const char *path) {
    const char *s = json_string_value(kt_json_path(root, path));
    return s ? s : "(missing)";
}

static long long int_at(json_t *root, const char *path) {
    json_t *v = kt_json_path(root, path);
    cr_assert(json_is_integer(v), "%s is not an integer", path);
    return json_integer_value(v);
}

static double num_at(json_t *root, const char *path) {
    json_t *v = kt_json_path(root, path);
    cr_assert(json_is_number(v), "%s is not a number", path);
    return json_number_value(v);
}

/* Nykøbing Falster, Guldborgsund: an 18-year-old who left school. */
static void young_person_and_mentors(void) {
    char body[1024];
    /* A peer mentor 4 years older who also left school early, 2 km away. */
    snprintf(body, sizeof body,
             "{\"org_id\":\"urk-guldborgsund\",\"location\":{\"lat\":54.7691,\"lon\":11.8740},"
             "\"max_distance_km\":15,\"skills\":[\"mentoring\",\"job_search\"],"
             "\"languages\":[\"da\",\"en\"],\"birth_year\":%d,"
             "\"availability\":[\"tue_evening\",\"sat_morning\"],\"capacity\":1,"
             "\"experience\":[\"left_school_early\"]}",
             year - 22);
    put("/v1/volunteers/v-peer", body, 201);
    /* A mentor of the parents' generation, same place, no lived experience. */
    snprintf(
        body, sizeof body,
        "{\"location\":{\"lat\":54.7691,\"lon\":11.8740},\"skills\":[\"mentoring\",\"job_search\"],"
        "\"languages\":[\"da\"],\"birth_year\":%d,\"availability\":[\"tue_evening\"]}",
        year - 58);
    put("/v1/volunteers/v-senior", body, 201);
    /* Knows job search but is no mentor: excluded by skills. */
    put("/v1/volunteers/v-no-mentor",
        "{\"location\":{\"lat\":54.77,\"lon\":11.87},\"skills\":[\"job_search\"],\"languages\":["
        "\"da\"]}",
        201);
    /* A mentor in Copenhagen: excluded by distance. */
    put("/v1/volunteers/v-cph",
        "{\"location\":{\"lat\":55.676,\"lon\":12.568},\"skills\":[\"mentoring\"],\"languages\":["
        "\"da\"]}",
        201);
    put("/v1/needs/n-ung",
        "{\"kind\":\"mentor\",\"municipality\":\"0376\",\"requested_by\":\"guldborgsund-"
        "jobcenter\","
        "\"location\":{\"lat\":54.77,\"lon\":11.87},\"max_distance_km\":20,"
        "\"skills_required\":[\"mentoring\"],\"skills_wanted\":[\"job_search\"],"
        "\"languages\":[\"da\"],\"person_age\":18,\"age_gap\":{\"min\":2,\"max\":10},"
        "\"availability\":[\"tue_evening\",\"thu_evening\"],"
        "\"experience_wanted\":[\"left_school_early\"],\"count\":1,\"urgency\":2}",
        201);
}

Test(matching, peer_mentor_ranks_first_and_explains, .init = start, .fini = stop) {
    young_person_and_mentors();
    kt_resp_t r = get_ok("/v1/needs/n-ung/matches?limit=10&explain=1");
    json_t *j = r.json;
    cr_assert_str_eq(str_at(j, "need_id"), "n-ung");
    cr_assert_eq(json_array_size(kt_json_path(j, "matches")), 2, "%s", r.body);
    cr_assert_str_eq(str_at(j, "matches.0.candidate.id"), "v-peer");
    cr_assert_str_eq(str_at(j, "matches.0.candidate.type"), "volunteer");
    cr_assert_str_eq(str_at(j, "matches.1.candidate.id"), "v-senior");
    /* The peer: all wanted skills, 1 of 2 slots, inside the age gap, the
     * wanted experience, no load. */
    cr_assert_float_eq(num_at(j, "matches.0.components.skills"), 1.0, 1e-9);
    cr_assert_float_eq(num_at(j, "matches.0.components.availability"), 0.5, 1e-9);
    cr_assert_float_eq(num_at(j, "matches.0.components.age"), 1.0, 1e-9);
    cr_assert_float_eq(num_at(j, "matches.0.components.experience"), 1.0, 1e-9);
    cr_assert_float_eq(num_at(j, "matches.0.components.load"), 1.0, 1e-9);
    /* The senior: 40 years older, 30 past the gap: age 0; no experience. */
    cr_assert_float_eq(num_at(j, "matches.1.components.age"), 0.0, 1e-9);
    cr_assert_float_eq(num_at(j, "matches.1.components.experience"), 0.0, 1e-9);
    /* score = weighted mean (3,2,2,1,1,1)/10 of the components. */
    double dist = num_at(j, "matches.0.components.distance");
    double want = (3 * 1.0 + 2 * dist + 2 * 0.5 + 1 + 1 + 1) / 10;
    cr_assert_float_eq(num_at(j, "matches.0.score"), want, 2e-4);
    cr_assert_gt(num_at(j, "matches.0.score"), num_at(j, "matches.1.score"));
    cr_assert_lt(num_at(j, "matches.0.distance_km"), 1.0);
    cr_assert_eq(int_at(j, "excluded.skills"), 1);
    cr_assert_eq(int_at(j, "excluded.distance"), 1);
    cr_assert_eq(int_at(j, "excluded.child_certificate"), 0);
    kt_resp_free(&r);

    /* Without explain: same ranking, no exclusion counts. */
    r = get_ok("/v1/needs/n-ung/matches?limit=1");
    cr_assert_eq(json_array_size(kt_json_path(r.json, "matches")), 1);
    cr_assert_str_eq(str_at(r.json, "matches.0.candidate.id"), "v-peer");
    cr_assert_null(kt_json_path(r.json, "excluded"));
    kt_resp_free(&r);
}

Test(matching, child_under_15_needs_a_valid_certificate, .init = start, .fini = stop) {
    const char *base = "\"location\":{\"lat\":55.403,\"lon\":10.385},\"skills\":[\"mentoring\"],"
                       "\"languages\":[\"da\"]";
    char body[512];
    snprintf(body, sizeof body, "{%s,\"child_certificate_until\":\"2099-12-31\"}", base);
    put("/v1/volunteers/v-valid", body, 201);
    snprintf(body, sizeof body, "{%s,\"child_certificate_until\":\"2020-01-31\"}", base);
    put("/v1/volunteers/v-expired", body, 201);
    snprintf(body, sizeof body, "{%s}", base);
    put("/v1/volunteers/v-none", body, 201);
    put("/v1/needs/n-child",
        "{\"kind\":\"mentor\",\"municipality\":\"0461\",\"location\":{\"lat\":55.40,\"lon\":10.39},"
        "\"skills_required\":[\"mentoring\"],\"person_age\":12}",
        201);
    kt_resp_t r = get_ok("/v1/needs/n-child/matches?explain=1");
    cr_assert_eq(json_array_size(kt_json_path(r.json, "matches")), 1, "%s", r.body);
    cr_assert_str_eq(str_at(r.json, "matches.0.candidate.id"), "v-valid");
    cr_assert_eq(int_at(r.json, "excluded.child_certificate"), 2);
    kt_resp_free(&r);

    /* At 15 the rule no longer applies: all three fit. */
    put("/v1/needs/n-child",
        "{\"kind\":\"mentor\",\"municipality\":\"0461\",\"location\":{\"lat\":55.40,\"lon\":10.39},"
        "\"skills_required\":[\"mentoring\"],\"person_age\":15}",
        200);
    r = get_ok("/v1/needs/n-child/matches?explain=1");
    cr_assert_eq(json_array_size(kt_json_path(r.json, "matches")), 3, "%s", r.body);
    cr_assert_eq(int_at(r.json, "excluded.child_certificate"), 0);
    kt_resp_free(&r);
}

Test(matching, rural_child_and_homework_cafe_age_range, .init = start, .fini = stop) {
    /* Nakskov, Lolland: a homework café for 10-17, a football club for
     * 6-9 next door, and a café in Odense far away. */
    put("/v1/activities/a-lektiecafe",
        "{\"org_id\":\"dgi-lolland\",\"title\":\"Lektiecafé Nakskov\",\"location\":{\"lat\":54.832,"
        "\"lon\":11.136},\"skills\":[\"homework_help\"],\"languages\":[\"da\"],"
        "\"availability\":[\"mon_afternoon\",\"wed_afternoon\"],\"capacity\":12,\"age_min\":10,"
        "\"age_max\":17}",
        201);
    put("/v1/activities/a-fodbold",
        "{\"org_id\":\"dgi-lolland\",\"title\":\"Fodbold U9\",\"location\":{\"lat\":54.83,"
        "\"lon\":11.14},\"skills\":[\"sports_coach\"],\"capacity\":20,\"age_min\":6,\"age_max\":9}",
        201);
    put("/v1/activities/a-odense",
        "{\"org_id\":\"dgi-fyn\",\"title\":\"Lektiecafé Odense\",\"location\":{\"lat\":55.40,"
        "\"lon\":10.39},\"skills\":[\"homework_help\"],\"capacity\":12,\"age_min\":10,\"age_max\":"
        "17}",
        201);
    put("/v1/volunteers/v-helper",
        "{\"location\":{\"lat\":54.83,\"lon\":11.14},\"skills\":[\"homework_help\"],"
        "\"child_certificate_until\":\"2099-01-01\"}",
        201);
    put("/v1/needs/n-rural",
        "{\"kind\":\"activity\",\"municipality\":\"0360\",\"location\":{\"lat\":54.80,"
        "\"lon\":11.20},\"max_distance_km\":25,\"languages\":[\"da\"],\"person_age\":11,"
        "\"availability\":[\"wed_afternoon\"]}",
        201);
    kt_resp_t r = get_ok("/v1/needs/n-rural/matches?explain=1");
    cr_assert_eq(json_array_size(kt_json_path(r.json, "matches")), 1, "%s", r.body);
    cr_assert_str_eq(str_at(r.json, "matches.0.candidate.id"), "a-lektiecafe");
    cr_assert_str_eq(str_at(r.json, "matches.0.candidate.type"), "activity");
    /* The football club has no language in common before the age test:
     * the first failing constraint is counted. */
    cr_assert_eq(int_at(r.json, "excluded.distance"), 1);
    cr_assert_eq(int_at(r.json, "excluded.language") + int_at(r.json, "excluded.age_range"), 1);
    kt_resp_free(&r);

    /* kind "any" also considers the volunteer. */
    put("/v1/needs/n-rural",
        "{\"kind\":\"any\",\"municipality\":\"0360\",\"location\":{\"lat\":54.80,\"lon\":11.20},"
        "\"max_distance_km\":25,\"person_age\":11,\"skills_required\":[\"homework_help\"]}",
        200);
    r = get_ok("/v1/needs/n-rural/matches");
    cr_assert_eq(json_array_size(kt_json_path(r.json, "matches")), 2, "%s", r.body);
    kt_resp_free(&r);
}

Test(matching, what_if_stores_nothing_and_reverse_query, .init = start, .fini = stop) {
    young_person_and_mentors();
    const char *need = "{\"kind\":\"mentor\",\"municipality\":\"0376\",\"location\":{\"lat\":54.77,"
                       "\"lon\":11.87},\"skills_required\":[\"mentoring\"],\"person_age\":19}";
    kt_resp_t r = kt_http(&d, "POST", "/v1/match?limit=5", need);
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_null(json_object_get(r.json, "need_id"), "a what-if answer names no need");
    cr_assert_eq(json_array_size(kt_json_path(r.json, "matches")), 2);
    kt_resp_free(&r);
    r = get_ok("/v1/stats");
    cr_assert_eq(int_at(r.json, "counts.needs.open"), 1, "what-if stored nothing");
    long long tokens = int_at(r.json, "counts.tokens");
    kt_resp_free(&r);

    /* A skill nobody has: no match, and it is not interned either. */
    r = kt_http(&d, "POST", "/v1/match?explain=1",
                "{\"kind\":\"mentor\",\"municipality\":\"0376\",\"location\":{\"lat\":54.77,"
                "\"lon\":11.87},\"skills_required\":[\"sign_language\"],\"person_age\":19}");
    cr_assert_eq(r.status, 200, "%s", r.body);
    cr_assert_eq(json_array_size(kt_json_path(r.json, "matches")), 0);
    cr_assert_eq(int_at(r.json, "excluded.skills"), 3, "%s", r.body);
    kt_resp_free(&r);
    r = get_ok("/v1/stats");
    cr_assert_eq(int_at(r.json, "counts.tokens"), tokens);
    kt_resp_free(&r);

    r = get_ok("/v1/volunteers/v-peer/needs");
    cr_assert_str_eq(str_at(r.json, "volunteer_id"), "v-peer");
    cr_assert_eq(json_array_size(kt_json_path(r.json, "needs")), 1, "%s", r.body);
    cr_assert_str_eq(str_at(r.json, "needs.0.need.id"), "n-ung");
    kt_resp_free(&r);
    r = get_ok("/v1/volunteers/v-cph/needs");
    cr_assert_eq(json_array_size(kt_json_path(r.json, "needs")), 0, "%s", r.body);
    kt_resp_free(&r);
}

Test(matching, empty_result_says_why, .init = start, .fini = stop) {
    young_person_and_mentors();
    put("/v1/needs/n-bornholm",
        "{\"kind\":\"mentor\",\"municipality\":\"0400\",\"location\":{\"lat\":55.10,\"lon\":14.70},"
        "\"skills_required\":[\"mentoring\"],\"person_age\":30}",
        201);
    kt_resp_t r = get_ok("/v1/needs/n-bornholm/matches?explain=1");
    cr_assert_eq(json_array_size(kt_json_path(r.json, "matches")), 0);
    cr_assert_eq(int_at(r.json, "excluded.distance"), 4, "%s", r.body);
    kt_resp_free(&r);
}

/* The ranked answers are written as text (query.c): on the wire each is
 * one compact JSON object as Jansson would dump it, a newline, and a
 * Content-Length that counts exactly that; failures keep their JSON
 * errors. */
Test(matching, answers_on_the_wire_are_compact_json_and_a_newline, .init = start, .fini = stop) {
    young_person_and_mentors();
    put("/v1/needs/n-closed",
        "{\"kind\":\"mentor\",\"municipality\":\"0376\",\"location\":{\"lat\":54.77,\"lon\":11.87},"
        "\"skills_required\":[\"mentoring\"],\"person_age\":30}",
        201);
    kt_resp_t r = kt_http(&d, "POST", "/v1/needs/n-closed/close", NULL);
    cr_assert_eq(r.status, 200, "%s", r.body);
    kt_resp_free(&r);
    static const struct {
        const char *method, *path, *body;
    } calls[] = {
        {"GET", "/v1/needs/n-ung/matches?explain=1", NULL},
        {"GET", "/v1/needs/n-ung/matches?limit=1", NULL},
        {"GET", "/v1/needs/n-closed/matches", NULL},
        {"GET", "/v1/volunteers/v-peer/needs", NULL},
        {"POST", "/v1/match?explain=true",
         "{\"kind\":\"any\",\"municipality\":\"0376\",\"location\":{\"lat\":54.77,"
         "\"lon\":11.87},\"person_age\":19}"},
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++) {
        r = kt_http(&d, calls[i].method, calls[i].path, calls[i].body);
        cr_assert_eq(r.status, 200, "%s: %s", calls[i].path, r.body);
        cr_assert_not_null(r.json, "%s", calls[i].path);
        cr_assert(strstr(r.raw, "Content-Type: application/json\r\n"), "%s", r.raw);
        char *want = json_dumps(r.json, JSON_COMPACT | JSON_REAL_PRECISION(15));
        size_t n = strlen(want);
        cr_assert_eq(strncmp(r.body, want, n), 0, "%s:\n got %s\nwant %s", calls[i].path, r.body,
                     want);
        cr_assert_str_eq(r.body + n, "\n", "%s", calls[i].path);
        char length[48];
        snprintf(length, sizeof length, "Content-Length: %zu\r\n", n + 1);
        cr_assert(strstr(r.raw, length), "%s: %s", length, r.raw);
        free(want);
        kt_resp_free(&r);
    }
    r = kt_http(&d, "GET", "/v1/needs/n-closed/matches", NULL);
    cr_assert_str_eq(str_at(r.json, "state"), "closed");
    cr_assert_eq(json_array_size(kt_json_path(r.json, "matches")), 0);
    kt_resp_free(&r);
    r = kt_http(&d, "GET", "/v1/needs/n-none/matches", NULL);
    cr_assert_eq(r.status, 404);
    cr_assert_str_eq(str_at(r.json, "error.code"), "not_found");
    kt_resp_free(&r);
    r = kt_http(&d, "GET", "/v1/volunteers/v-none/needs", NULL);
    cr_assert_eq(r.status, 404);
    kt_resp_free(&r);
    r = kt_http(&d, "POST", "/v1/match", "{\"kind\":\"mentor\"}");
    cr_assert_eq(r.status, 422, "%s", r.body);
    cr_assert_not_null(r.json);
    kt_resp_free(&r);
}
