/* it_validation.c — every input is checked at the edge and a rejected
 * write changes nothing. Table-driven: body, expected status, code, field. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static kt_daemon_t d;
static void start(void) { cr_assert_eq(kt_daemon_start(&d, NULL), 0); }
static void stop(void) { cr_assert_eq(kt_daemon_stop(&d), 0); }

#define LOC  "\"location\":{\"lat\":55.0,\"lon\":11.0}"
#define NEED "\"kind\":\"mentor\",\"municipality\":\"0376\"," LOC ",\"person_age\":18"

typedef struct bad {
    const char *path, *body;
    int status;
    const char *code, *field; /* field NULL: not checked */
} bad_t;

static const bad_t cases[] = {
    {"/v1/volunteers/v-1", "{" LOC ",\"skils\":[\"x\"]}", 422, "unknown_field", "skils"},
    {"/v1/volunteers/v-1", "{\"location\":{\"lat\":91,\"lon\":11}}", 422, "invalid_field",
     "location.lat"},
    {"/v1/volunteers/v-1", "{\"location\":{\"lat\":55,\"lon\":-181}}", 422, "invalid_field",
     "location.lon"},
    {"/v1/volunteers/v-1", "{\"location\":{\"lat\":\"55\",\"lon\":11}}", 422, "invalid_field",
     "location.lat"},
    {"/v1/volunteers/v-1", "{}", 422, "missing_field", "location"},
    {"/v1/volunteers/v-1", "{" LOC ",\"max_distance_km\":0}", 422, "invalid_field",
     "max_distance_km"},
    {"/v1/volunteers/v-1", "{" LOC ",\"max_distance_km\":501}", 422, "invalid_field",
     "max_distance_km"},
    {"/v1/volunteers/v-1", "{" LOC ",\"capacity\":0}", 422, "invalid_field", "capacity"},
    {"/v1/volunteers/v-1", "{" LOC ",\"capacity\":1001}", 422, "invalid_field", "capacity"},
    {"/v1/volunteers/v-1", "{" LOC ",\"capacity\":2.5}", 422, "invalid_field", "capacity"},
    {"/v1/volunteers/v-1", "{" LOC ",\"birth_year\":1850}", 422, "invalid_field", "birth_year"},
    {"/v1/volunteers/v-1", "{" LOC ",\"child_certificate_until\":\"2027-02-29\"}", 422,
     "invalid_field", "child_certificate_until"},
    {"/v1/volunteers/v-1", "{" LOC ",\"availability\":[\"mon_night\"]}", 422, "invalid_field",
     "availability[0]"},
    {"/v1/volunteers/v-1", "{" LOC ",\"skills\":[\"Mentoring\"]}", 422, "invalid_field",
     "skills[0]"},
    {"/v1/volunteers/v-1", "{" LOC ",\"skills\":[\"a\",\"a\"]}", 422, "invalid_field", "skills[1]"},
    {"/v1/volunteers/v-1", "{" LOC ",\"languages\":[\"xx\"]}", 422, "invalid_field",
     "languages[0]"},
    {"/v1/volunteers/v-1", "{" LOC ",\"active\":1}", 422, "invalid_field", "active"},
    {"/v1/volunteers/v-1", "{" LOC ",\"org_id\":\"has space\"}", 422, "invalid_field", "org_id"},
    {"/v1/volunteers/v%201", "{" LOC "}", 422, "invalid_id", "id"},
    {"/v1/volunteers/v-1", "{" LOC ",}", 400, "invalid_json", NULL},
    {"/v1/volunteers/v-1", "[1]", 422, "invalid_body", NULL},
    {"/v1/volunteers/v-1", "{\"a\":1,\"a\":2}", 400, "invalid_json", NULL},
    {"/v1/volunteers/v-1",
     "{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", 400, "too_deep",
     NULL},
    {"/v1/activities/a-1", "{" LOC ",\"title\":\"x\"}", 422, "missing_field", "org_id"},
    {"/v1/activities/a-1",
     "{\"org_id\":\"o\",\"title\":\"x\"," LOC ",\"age_min\":12,\"age_max\":10}", 422,
     "invalid_field", "age_max"},
    {"/v1/organisations/o-1", "{\"name\":\"x\",\"kind\":\"club\"}", 422, "invalid_field", "kind"},
    {"/v1/needs/n-1", "{\"kind\":\"helper\",\"municipality\":\"0376\"," LOC ",\"person_age\":18}",
     422, "invalid_field", "kind"},
    {"/v1/needs/n-1", "{\"kind\":\"mentor\",\"municipality\":\"376\"," LOC ",\"person_age\":18}",
     422, "invalid_field", "municipality"},
    {"/v1/needs/n-1", "{\"kind\":\"mentor\",\"municipality\":\"0376\"," LOC "}", 422,
     "missing_field", "person_age"},
    {"/v1/needs/n-1", "{" NEED ",\"count\":0}", 422, "invalid_field", "count"},
    {"/v1/needs/n-1", "{" NEED ",\"age_gap\":{\"min\":5,\"max\":2}}", 422, "invalid_field", NULL},
    {"/v1/needs/n-1", "{\"kind\":\"mentor\",\"municipality\":\"0376\"," LOC ",\"person_age\":121}",
     422, "invalid_field", "person_age"},
};

Test(validation, every_rule_answers_a_json_error, .init = start, .fini = stop) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_t *c = &cases[i];
        kt_resp_t r = kt_http(&d, "PUT", c->path, c->body);
        cr_assert_eq(r.status, c->status, "case %zu (%s): status %d: %s", i, c->body, r.status,
                     r.body);
        cr_assert_not_null(r.json, "case %zu: body is not JSON: %s", i, r.body);
        const char *code = json_string_value(kt_json_path(r.json, "error.code"));
        cr_assert_not_null(code, "case %zu: %s", i, r.body);
        cr_assert_str_eq(code, c->code, "case %zu: %s", i, r.body);
        cr_assert(json_is_string(kt_json_path(r.json, "error.message")), "case %zu", i);
        if (c->field) {
            const char *field = json_string_value(kt_json_path(r.json, "error.field"));
            cr_assert_not_null(field, "case %zu: %s", i, r.body);
            cr_assert_str_eq(field, c->field, "case %zu: %s", i, r.body);
        }
        kt_resp_free(&r);
    }
    /* Nothing of it was stored. */
    kt_resp_t r = kt_http(&d, "GET", "/v1/stats", NULL);
    cr_assert_eq(json_integer_value(kt_json_path(r.json, "counts.volunteers")), 0);
    cr_assert_eq(json_integer_value(kt_json_path(r.json, "counts.needs.open")), 0);
    kt_resp_free(&r);
}

Test(validation, rejected_replace_keeps_the_old_record, .init = start, .fini = stop) {
    kt_resp_t r = kt_http(&d, "PUT", "/v1/volunteers/v-1",
                          "{" LOC ",\"skills\":[\"mentoring\"],\"capacity\":2}");
    cr_assert_eq(r.status, 201, "%s", r.body);
    /* Defaults are filled in the stored object. */
    cr_assert_eq(json_number_value(kt_json_path(r.json, "max_distance_km")), 10);
    cr_assert_eq(json_is_true(kt_json_path(r.json, "active")), 1);
    cr_assert_str_eq(json_string_value(kt_json_path(r.json, "id")), "v-1");
    kt_resp_free(&r);
    r = kt_http(&d, "PUT", "/v1/volunteers/v-1",
                "{" LOC ",\"skills\":[\"cooking\"],\"capacity\":0}");
    cr_assert_eq(r.status, 422);
    kt_resp_free(&r);
    r = kt_http(&d, "GET", "/v1/volunteers/v-1", NULL);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(json_string_value(kt_json_path(r.json, "skills.0")), "mentoring");
    cr_assert_eq(json_integer_value(kt_json_path(r.json, "capacity")), 2);
    kt_resp_free(&r);
    /* The token of the rejected body was not interned either. */
    r = kt_http(&d, "GET", "/v1/stats", NULL);
    cr_assert_eq(json_integer_value(kt_json_path(r.json, "counts.tokens")), 1, "%s", r.body);
    kt_resp_free(&r);
    /* Replace answers 200. */
    r = kt_http(&d, "PUT", "/v1/volunteers/v-1", "{" LOC "}");
    cr_assert_eq(r.status, 200);
    kt_resp_free(&r);
}

Test(validation, query_strings_and_routes, .init = start, .fini = stop) {
    struct {
        const char *method, *path;
        int status;
        const char *code;
    } q[] = {
        {"GET", "/v1/needs/n-1/matches?limit=0", 400, "invalid_query"},
        {"GET", "/v1/needs/n-1/matches?limit=101", 400, "invalid_query"},
        {"GET", "/v1/needs/n-1/matches?limit=abc", 400, "invalid_query"},
        {"GET", "/v1/needs/n-1/matches?explain=maybe", 400, "invalid_query"},
        {"GET", "/v1/needs/n-1/matches?limt=3", 400, "invalid_query"},
        {"GET", "/v1/needs/n-1/matches", 404, "not_found"},
        {"GET", "/v1/nothing", 404, "not_found"},
        {"GET", "/v1/volunteers//x", 404, "not_found"},
        {"POST", "/v1/volunteers/v-1", 405, "method_not_allowed"},
        {"GET", "/v1/match", 405, "method_not_allowed"},
        {"DELETE", "/v1/needs/n-404", 404, "not_found"},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        kt_resp_t r = kt_http(&d, q[i].method, q[i].path, NULL);
        cr_assert_eq(r.status, q[i].status, "%s %s: %d %s", q[i].method, q[i].path, r.status,
                     r.body);
        cr_assert_str_eq(json_string_value(kt_json_path(r.json, "error.code")), q[i].code,
                         "%s %s: %s", q[i].method, q[i].path, r.body);
        kt_resp_free(&r);
    }
}
