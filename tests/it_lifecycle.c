/* it_lifecycle.c — propose, accept, decline and end matches on a real
 * kobled, with capacity accounting and need states. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

static kt_daemon_t d;

static void start(void) { cr_assert_eq(kt_daemon_start(&d, NULL), 0); }
static void stop(void) { cr_assert_eq(kt_daemon_stop(&d), 0); }

static kt_resp_t call(const char *method, const char *path, const char *body, int want) {
    kt_resp_t r = kt_http(&d, method, path, body);
    cr_assert_eq(r.status, want, "%s %s: %d %s", method, path, r.status, r.body);
    return r;
}

static void call_free(const char *method, const char *path, const char *body, int want) {
    kt_resp_t r = call(method, path, body, want);
    kt_resp_free(&r);
}

static const char *str_at(json_t *j, const char *p) {
    const char *s = json_string_value(kt_json_path(j, p));
    return s ? s : "(missing)";
}

/* Proposes v-1 for need and returns the new match id (static buffer). */
static const char *propose(const char *need, int want) {
    static char id[64];
    char body[256];
    snprintf(body, sizeof body,
             "{\"need_id\":\"%s\",\"candidate\":{\"type\":\"volunteer\",\"id\":\"v-1\"}}", need);
    kt_resp_t r = call("POST", "/v1/matches", body, want);
    snprintf(id, sizeof id, "%s", want == 201 ? str_at(r.json, "id") : "");
    if (want == 201) cr_assert_str_eq(str_at(r.json, "state"), "proposed");
    kt_resp_free(&r);
    return id;
}

static size_t match_count(const char *need) {
    char path[128];
    snprintf(path, sizeof path, "/v1/needs/%s/matches", need);
    kt_resp_t r = call("GET", path, NULL, 200);
    size_t n = json_array_size(kt_json_path(r.json, "matches"));
    kt_resp_free(&r);
    return n;
}

static void setup_people(void) {
    call_free(
        "PUT", "/v1/volunteers/v-1",
        "{\"location\":{\"lat\":56.15,\"lon\":10.2},\"skills\":[\"visiting\"],\"capacity\":1}",
        201);
    const char *need = "{\"kind\":\"visit\",\"municipality\":\"0751\",\"location\":{\"lat\":56.16,"
                       "\"lon\":10.21},\"skills_required\":[\"visiting\"],\"person_age\":84}";
    call_free("PUT", "/v1/needs/n-1", need, 201);
    call_free("PUT", "/v1/needs/n-2", need, 201);
}

Test(lifecycle, accept_takes_capacity_and_end_gives_it_back, .init = start, .fini = stop) {
    setup_people();
    char m1[64];
    snprintf(m1, sizeof m1, "%s", propose("n-1", 201));
    /* A proposed pair is not suggested again for the same need. */
    cr_assert_eq(match_count("n-1"), 0);
    cr_assert_eq(match_count("n-2"), 1);

    char path[128];
    snprintf(path, sizeof path, "/v1/matches/%s/accept", m1);
    kt_resp_t r = call("POST", path, NULL, 200);
    cr_assert_str_eq(str_at(r.json, "state"), "accepted");
    kt_resp_free(&r);
    r = call("GET", "/v1/needs/n-1", NULL, 200);
    cr_assert_str_eq(str_at(r.json, "state"), "matched");
    kt_resp_free(&r);

    /* Capacity 1 is used: n-2 gets nobody, and a proposal is refused. */
    cr_assert_eq(match_count("n-2"), 0);
    r = call("POST", "/v1/matches",
             "{\"need_id\":\"n-2\",\"candidate\":{\"type\":\"volunteer\",\"id\":\"v-1\"}}", 409);
    cr_assert_str_eq(str_at(r.json, "error.code"), "constraint_failed");
    cr_assert_str_eq(str_at(r.json, "error.field"), "capacity");
    kt_resp_free(&r);
    /* Accepting twice is a conflict. */
    call_free("POST", path, NULL, 409);

    snprintf(path, sizeof path, "/v1/matches/%s/end", m1);
    r = call("POST", path, NULL, 200);
    cr_assert_str_eq(str_at(r.json, "state"), "ended");
    kt_resp_free(&r);
    r = call("GET", "/v1/needs/n-1", NULL, 200);
    cr_assert_str_eq(str_at(r.json, "state"), "open", "ending reopens the need");
    kt_resp_free(&r);
    cr_assert_eq(match_count("n-2"), 1, "capacity is free again");

    r = call("GET", "/v1/stats", NULL, 200);
    cr_assert_eq(json_integer_value(kt_json_path(r.json, "counts.matches.ended")), 1);
    kt_resp_free(&r);
}

Test(lifecycle, decline_excludes_the_pair_for_that_need_only, .init = start, .fini = stop) {
    setup_people();
    char m[64], path[128];
    snprintf(m, sizeof m, "%s", propose("n-2", 201));
    snprintf(path, sizeof path, "/v1/matches/%s/decline", m);
    call_free("POST", path, NULL, 200);
    cr_assert_eq(match_count("n-2"), 0);
    cr_assert_eq(match_count("n-1"), 1);
    /* A declined pair cannot be proposed again, nor accepted. */
    propose("n-2", 409);
    snprintf(path, sizeof path, "/v1/matches/%s/accept", m);
    call_free("POST", path, NULL, 409);
    snprintf(path, sizeof path, "/v1/matches/%s", m);
    kt_resp_t r = call("GET", path, NULL, 200);
    cr_assert_str_eq(str_at(r.json, "state"), "declined");
    cr_assert_str_eq(str_at(r.json, "need_id"), "n-2");
    cr_assert_str_eq(str_at(r.json, "candidate.id"), "v-1");
    kt_resp_free(&r);
}

Test(lifecycle, unknown_ids_and_closed_needs, .init = start, .fini = stop) {
    setup_people();
    call_free("POST", "/v1/matches/m-999/accept", NULL, 404);
    call_free("GET", "/v1/matches/m-999", NULL, 404);
    call_free("POST", "/v1/matches",
              "{\"need_id\":\"n-x\",\"candidate\":{\"type\":\"volunteer\",\"id\":\"v-1\"}}", 404);
    call_free("POST", "/v1/matches",
              "{\"need_id\":\"n-1\",\"candidate\":{\"type\":\"volunteer\",\"id\":\"v-x\"}}", 404);
    call_free("POST", "/v1/matches",
              "{\"need_id\":\"n-1\",\"candidate\":{\"type\":\"activity\",\"id\":\"v-1\"}}", 404);
    kt_resp_t r = call("POST", "/v1/needs/n-1/close", NULL, 200);
    cr_assert_str_eq(str_at(r.json, "state"), "closed");
    kt_resp_free(&r);
    r = call("POST", "/v1/matches",
             "{\"need_id\":\"n-1\",\"candidate\":{\"type\":\"volunteer\",\"id\":\"v-1\"}}", 409);
    cr_assert_str_eq(str_at(r.json, "error.code"), "need_not_open");
    kt_resp_free(&r);
    cr_assert_eq(match_count("n-1"), 0);
}

Test(lifecycle, deleting_a_volunteer_ends_its_matches, .init = start, .fini = stop) {
    setup_people();
    char m[64], path[128];
    snprintf(m, sizeof m, "%s", propose("n-1", 201));
    snprintf(path, sizeof path, "/v1/matches/%s/accept", m);
    call_free("POST", path, NULL, 200);
    call_free("DELETE", "/v1/volunteers/v-1", NULL, 204);
    call_free("GET", "/v1/volunteers/v-1", NULL, 404);
    snprintf(path, sizeof path, "/v1/matches/%s", m);
    kt_resp_t r = call("GET", path, NULL, 200);
    cr_assert_str_eq(str_at(r.json, "state"), "ended");
    kt_resp_free(&r);
    r = call("GET", "/v1/needs/n-1", NULL, 200);
    cr_assert_str_eq(str_at(r.json, "state"), "open");
    kt_resp_free(&r);
}
