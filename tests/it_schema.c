/* it_schema.c — the answers of a real kobled hold to proto/: every route
 * is called, the status is asserted, and tests/schema_check.py checks that
 * proto/openapi.yaml documents that status for the route and that the body
 * fits the documented JSON schema (and the named schema in proto/schemas/).
 * A deliberately wrong document must be rejected, so the check can fail.
 *
 * Paths are relative to the repository root, where tests run (as
 * build/kobled in harness.c). The checker runs under $KOBLE_PYTHON, else
 * Debian's /usr/bin/python3 (jsonschema and yaml as Debian packages), else
 * python3 from PATH. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checker.h"
#include "harness.h"
#include "journal.h"

static kt_daemon_t d;
static int year;

static void start(void) {
    /* A checker that exits without reading its stdin must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    year = tm.tm_year + 1900;
    cr_assert_eq(access(KT_CHECKER, R_OK), 0, "%s not found: run from the repository root",
                 KT_CHECKER);
    /* The checker first: it ends by itself when we do, kobled does not. */
    kt_checker_start();
    cr_assert_eq(kt_daemon_start(&d, NULL), 0, "kobled did not start");
}

static void stop(void) {
    kt_checker_stop();
    cr_assert_eq(kt_daemon_stop(&d), 0, "kobled did not exit 0");
}

static void start_checker_only(void) {
    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(access(KT_CHECKER, R_OK), 0, "%s not found: run from the repository root",
                 KT_CHECKER);
}

/* Asserts that openapi.yaml documents status for method path and that the
 * body fits the documented schema and, if given, proto/schemas/<schema>. */
static void conforms(const char *method, const char *path, int status, const char *schema,
                     const char *body) {
    char args[1024], out[4096];
    cr_assert_null(strchr(path, ' '), "paths go to the checker space-separated");
    snprintf(args, sizeof args, "--route %s %s %d %s", method, path, status, schema ? schema : "");
    int rc = kt_checker_ask(args, body, out, sizeof out);
    cr_assert_neq(rc, -1, "%s %s: the checker is gone (see stderr)", method, path);
    cr_assert_eq(rc, 0, "%s %s -> %d does not conform (checker status %d):\n%s\nbody: %.600s",
                 method, path, status, rc, out, body);
}

/* One request: the status must be want, and the answer must conform. */
static kt_resp_t call(const char *method, const char *path, const char *body, int want,
                      const char *schema) {
    kt_resp_t r = kt_http(&d, method, path, body);
    cr_assert_eq(r.status, want, "%s %s: %d, want %d: %s", method, path, r.status, want, r.body);
    conforms(method, path, r.status, schema, r.body);
    return r;
}

static void call_free(const char *method, const char *path, const char *body, int want,
                      const char *schema) {
    kt_resp_t r = call(method, path, body, want, schema);
    kt_resp_free(&r);
}

/* An error answer: status, error.code, and the error shape. */
static void fails(const char *method, const char *path, const char *body, int want,
                  const char *code) {
    kt_resp_t r = call(method, path, body, want, "error");
    const char *got = json_string_value(kt_json_path(r.json, "error.code"));
    cr_assert_str_eq(got ? got : "(none)", code, "%s %s: %s", method, path, r.body);
    kt_resp_free(&r);
}

static const char *str_at(json_t *root, const char *path) {
    const char *s = json_string_value(kt_json_path(root, path));
    return s ? s : "(missing)";
}

/* ---- people and needs: Guldborgsund and Lolland ---- */

static void put_people(void) {
    char body[1024];
    call_free("PUT", "/v1/organisations/urk-guldborgsund",
              "{\"name\":\"Ungdommens Røde Kors Guldborgsund\",\"kind\":\"volunteer_org\","
              "\"location\":{\"lat\":54.769,\"lon\":11.874}}",
              201, "organisation");
    call_free("PUT", "/v1/organisations/guldborgsund-kommune",
              "{\"name\":\"Guldborgsund Kommune, Jobcenter\",\"kind\":\"municipality\"}", 201,
              "organisation");
    /* A peer mentor of 22 who also left school early, with a valid
     * børneattest, so he may also see the 12-year-old. */
    snprintf(body, sizeof body,
             "{\"org_id\":\"urk-guldborgsund\",\"location\":{\"lat\":54.7691,\"lon\":11.874},"
             "\"max_distance_km\":15,\"skills\":[\"mentoring\",\"job_search\",\"homework_help\"],"
             "\"languages\":[\"da\",\"en\"],\"birth_year\":%d,"
             "\"availability\":[\"tue_evening\",\"sat_morning\",\"wed_afternoon\"],\"capacity\":2,"
             "\"experience\":[\"left_school_early\"],\"child_certificate_until\":\"2099-12-31\"}",
             year - 22);
    call_free("PUT", "/v1/volunteers/v-peer", body, 201, "volunteer");
    /* A retired teacher whose certificate has run out. */
    snprintf(body, sizeof body,
             "{\"location\":{\"lat\":54.765,\"lon\":11.88},\"skills\":[\"mentoring\","
             "\"homework_help\"],\"languages\":[\"da\"],\"birth_year\":%d,"
             "\"availability\":[\"tue_evening\",\"wed_afternoon\"],"
             "\"child_certificate_until\":\"2020-01-31\"}",
             year - 67);
    call_free("PUT", "/v1/volunteers/v-senior", body, 201, "volunteer");
    call_free("PUT", "/v1/activities/a-lektiecafe",
              "{\"org_id\":\"urk-guldborgsund\",\"title\":\"Lektiecafé Nykøbing F\","
              "\"location\":{\"lat\":54.766,\"lon\":11.872},\"skills\":[\"homework_help\"],"
              "\"languages\":[\"da\"],\"availability\":[\"mon_afternoon\",\"wed_afternoon\"],"
              "\"capacity\":12,\"age_min\":10,\"age_max\":17}",
              201, "activity");
    call_free("PUT", "/v1/needs/n-ung",
              "{\"kind\":\"mentor\",\"municipality\":\"0376\",\"requested_by\":"
              "\"guldborgsund-kommune\",\"location\":{\"lat\":54.77,\"lon\":11.87},"
              "\"max_distance_km\":20,\"skills_required\":[\"mentoring\"],\"skills_wanted\":"
              "[\"job_search\"],\"languages\":[\"da\"],\"person_age\":18,\"age_gap\":{\"min\":2,"
              "\"max\":10},\"availability\":[\"tue_evening\",\"thu_evening\"],"
              "\"experience_wanted\":[\"left_school_early\"],\"count\":1,\"urgency\":2}",
              201, "need");
    /* A 12-year-old: only a volunteer with a valid certificate may help. */
    call_free("PUT", "/v1/needs/n-barn",
              "{\"kind\":\"any\",\"municipality\":\"0376\",\"location\":{\"lat\":54.768,"
              "\"lon\":11.873},\"skills_required\":[\"homework_help\"],\"languages\":[\"da\"],"
              "\"person_age\":12,\"availability\":[\"wed_afternoon\"],\"urgency\":3}",
              201, "need");
}

/* ---- the checker itself ---- */

Test(schema, contract_is_consistent, .init = start_checker_only) {
    char out[8192];
    const char *args[] = {"--openapi", NULL};
    int rc = kt_checker_run(args, "", out, sizeof out);
    cr_assert_eq(rc, 0, "proto/openapi.yaml is broken:\n%s", out);
}

Test(schema, checker_rejects_wrong_documents, .init = start_checker_only) {
    char out[4096];
    /* A volunteer with a typo'd field, a capitalised skill and a slot that
     * does not exist: three problems, each named by its path. */
    const char *bad_volunteer =
        "{\"id\":\"v-1\",\"location\":{\"lat\":54.77,\"lon\":11.87},\"max_distance_km\":10.0,"
        "\"skills\":[\"Mentoring\"],\"languages\":[\"da\"],\"availability\":[\"mon_night\"],"
        "\"capacity\":1,\"experience\":[],\"active\":true,\"skils\":[]}";
    const char *named[] = {"volunteer", NULL};
    cr_assert_eq(kt_checker_run(named, bad_volunteer, out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "skils"), "%s", out);
    cr_assert(strstr(out, "$.skills[0]"), "%s", out);
    cr_assert(strstr(out, "$.availability[0]"), "%s", out);

    /* A valid need answer with the server's fields left out. */
    const char *need_input = "{\"kind\":\"mentor\",\"municipality\":\"0376\",\"location\":{"
                             "\"lat\":54.77,\"lon\":11.87},\"person_age\":18}";
    const char *need[] = {"need", NULL};
    cr_assert_eq(kt_checker_run(need, need_input, out, sizeof out), 1, "%s", out);
    const char *need_in[] = {"need-input", NULL};
    cr_assert_eq(kt_checker_run(need_in, need_input, out, sizeof out), 0, "%s", out);

    /* A status the route does not document, and an error code that does
     * not belong to the status. */
    const char *not_found = "{\"error\":{\"code\":\"not_found\",\"message\":\"no such need\","
                            "\"field\":null}}\n";
    const char *teapot[] = {"--route", "DELETE", "/v1/needs/n-1", "418", NULL};
    cr_assert_eq(kt_checker_run(teapot, "", out, sizeof out), 1, "%s", out);
    cr_assert(strstr(out, "not documented"), "%s", out);
    const char *wrong_code[] = {"--route", "GET", "/v1/needs/n-1", "400", NULL};
    cr_assert_eq(kt_checker_run(wrong_code, not_found, out, sizeof out), 1, "%s", out);
    const char *right_code[] = {"--route", "GET", "/v1/needs/n-1", "404", "error", NULL};
    cr_assert_eq(kt_checker_run(right_code, not_found, out, sizeof out), 0, "%s", out);
    /* A body where none is documented, and no JSON where JSON is. */
    const char *deleted[] = {"--route", "DELETE", "/v1/needs/n-1", "204", NULL};
    cr_assert_eq(kt_checker_run(deleted, "{}", out, sizeof out), 1, "%s", out);
    const char *stats[] = {"--route", "GET", "/v1/stats", "200", NULL};
    cr_assert_eq(kt_checker_run(stats, "counts: 1", out, sizeof out), 1, "%s", out);
    /* An undocumented query parameter on a success. */
    const char *query[] = {"--route", "GET", "/v1/needs/n-1/matches?explian=1", "200", NULL};
    cr_assert_eq(kt_checker_run(query, "{\"need_id\":\"n-1\",\"matches\":[]}", out, sizeof out), 1,
                 "%s", out);
}

/* ---- entities ---- */

Test(schema, entities, .init = start, .fini = stop) {
    put_people();
    call_free("GET", "/healthz", NULL, 200, "health");
    call_free("GET", "/v1/organisations/urk-guldborgsund", NULL, 200, "organisation");
    call_free("GET", "/v1/volunteers/v-peer", NULL, 200, "volunteer");
    call_free("GET", "/v1/activities/a-lektiecafe", NULL, 200, "activity");
    kt_resp_t r = call("GET", "/v1/needs/n-barn", NULL, 200, "need");
    cr_assert_str_eq(str_at(r.json, "state"), "open");

    /* A GET answer can be PUT back as it is: a replace, 200. */
    char *again = json_dumps(r.json, JSON_COMPACT);
    kt_resp_free(&r);
    call_free("PUT", "/v1/needs/n-barn", again, 200, "need");
    free(again);
    /* Replacing with only the required fields writes every default out. */
    r = call("PUT", "/v1/volunteers/v-senior", "{\"location\":{\"lat\":54.765,\"lon\":11.88}}", 200,
             "volunteer");
    cr_assert_null(kt_json_path(r.json, "birth_year"));
    kt_resp_free(&r);
    call_free("PUT", "/v1/activities/a-lektiecafe",
              "{\"org_id\":\"urk-guldborgsund\",\"title\":\"Lektiecafé Nykøbing F\","
              "\"location\":{\"lat\":54.766,\"lon\":11.872}}",
              200, "activity");
    call_free("PUT", "/v1/organisations/guldborgsund-kommune",
              "{\"id\":\"guldborgsund-kommune\",\"name\":\"Guldborgsund Kommune\",\"kind\":"
              "\"municipality\",\"location\":{\"lat\":54.7693,\"lon\":11.8723}}",
              200, "organisation");

    /* Refusals, each with its documented status and code. */
    fails("PUT", "/v1/volunteers/v-2", "{\"location\":{\"lat\":54.7,\"lon\":11.8},}", 400,
          "invalid_json");
    fails("PUT", "/v1/volunteers/v-2", "", 400, "invalid_json");
    fails("PUT", "/v1/volunteers/v-2",
          "{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", 400,
          "too_deep");
    fails("PUT", "/v1/volunteers/v-2?dry_run=1", "{\"location\":{\"lat\":54.7,\"lon\":11.8}}", 400,
          "invalid_query");
    fails("PUT", "/v1/volunteers/v-2", "[{\"location\":{\"lat\":54.7,\"lon\":11.8}}]", 422,
          "invalid_body");
    fails("PUT", "/v1/volunteers/v-2", "{\"location\":{\"lat\":54.7,\"lon\":11.8},\"skils\":[]}",
          422, "unknown_field");
    fails("PUT", "/v1/activities/a-2",
          "{\"title\":\"Fodbold U9\",\"location\":{\"lat\":54.83,\"lon\":11.14}}", 422,
          "missing_field");
    fails("PUT", "/v1/needs/n-2",
          "{\"kind\":\"mentor\",\"municipality\":\"376\",\"location\":{\"lat\":54.7,\"lon\":11.8},"
          "\"person_age\":18}",
          422, "invalid_field");
    fails("PUT", "/v1/organisations/o%202", "{\"name\":\"DGI Lolland\",\"kind\":\"volunteer_org\"}",
          422, "invalid_id");
    fails("PUT", "/v1/organisations/dgi-lolland",
          "{\"id\":\"dgi-falster\",\"name\":\"DGI Lolland\",\"kind\":\"volunteer_org\"}", 422,
          "invalid_field");
    fails("PATCH", "/v1/volunteers/v-peer", "{\"active\":false}", 405, "method_not_allowed");
    fails("POST", "/v1/needs/n-ung", NULL, 405, "method_not_allowed");
    fails("GET", "/v1/needs/n-ung?fields=state", NULL, 400, "invalid_query");
    fails("GET", "/v1/needs/n-nope", NULL, 404, "not_found");
    fails("GET", "/v1/needs/has%20space", NULL, 404, "not_found");
    fails("GET", "/v1/subscriptions/s-1", NULL, 404, "not_found");

    /* Over the HTTP layer's limits: body, path. */
    static const char big[] = "PUT /v1/needs/n-big HTTP/1.1\r\nHost: x\r\nContent-Type: "
                              "application/json\r\nContent-Length: 2000000\r\n\r\n{";
    char *raw = kt_raw(&d, big, sizeof big - 1);
    int status = 0;
    sscanf(raw, "HTTP/1.1 %d", &status);
    cr_assert_eq(status, 413, "%s", raw);
    char *sep = strstr(raw, "\r\n\r\n");
    conforms("PUT", "/v1/needs/n-big", status, "error", sep ? sep + 4 : "");
    free(raw);
    char path[700] = "/v1/needs/";
    memset(path + strlen(path), 'n', 600);
    path[610] = '\0';
    fails("GET", path, NULL, 414, "uri_too_long");

    /* Subscriptions: created, replaced, read, refused, deleted. */
    call_free("PUT", "/v1/subscriptions/urk-mentors",
              "{\"org_id\":\"urk-guldborgsund\",\"kinds\":[\"mentor\"],"
              "\"skills_any\":[\"mentoring\"],\"municipalities\":[\"0376\",\"0360\"]}",
              201, "subscription");
    call_free("PUT", "/v1/subscriptions/urk-mentors",
              "{\"org_id\":\"urk-guldborgsund\",\"area\":{\"lat\":54.77,\"lon\":11.87,"
              "\"radius_km\":15}}",
              200, "subscription");
    call_free("GET", "/v1/subscriptions/urk-mentors", NULL, 200, "subscription");
    fails("PUT", "/v1/subscriptions/bad", "{\"org_id\":\"x\",\"kinds\":[\"dance\"]}", 422,
          "invalid_field");
    fails("PUT", "/v1/subscriptions/bad", "{\"org_id\":\"x\",\"municipalities\":[\"376\"]}", 422,
          "invalid_field");
    fails("PUT", "/v1/subscriptions/bad", "{\"kinds\":[]}", 422, "missing_field");
    call_free("DELETE", "/v1/subscriptions/urk-mentors", NULL, 204, NULL);
    fails("GET", "/v1/subscriptions/urk-mentors", NULL, 404, "not_found");

    /* Deletes: 204 without a body, then gone. */
    call_free("DELETE", "/v1/needs/n-barn", NULL, 204, NULL);
    call_free("DELETE", "/v1/activities/a-lektiecafe", NULL, 204, NULL);
    call_free("DELETE", "/v1/volunteers/v-senior", NULL, 204, NULL);
    call_free("DELETE", "/v1/organisations/guldborgsund-kommune", NULL, 204, NULL);
    fails("DELETE", "/v1/needs/n-barn", NULL, 404, "not_found");
    fails("GET", "/v1/activities/a-lektiecafe", NULL, 404, "not_found");
    fails("DELETE", "/v1/volunteers/v-senior?force=1", NULL, 400, "invalid_query");

    r = call("GET", "/v1/stats", NULL, 200, "stats");
    cr_assert_eq(json_integer_value(kt_json_path(r.json, "counts.volunteers")), 1);
    cr_assert_eq(json_integer_value(kt_json_path(r.json, "counts.needs.open")), 1);
    kt_resp_free(&r);
    fails("POST", "/v1/stats", "{}", 405, "method_not_allowed");
}

/* ---- matching ---- */

Test(schema, matching, .init = start, .fini = stop) {
    put_people();
    kt_resp_t r =
        call("GET", "/v1/needs/n-ung/matches?limit=10&explain=1", NULL, 200, "match-result");
    cr_assert_str_eq(str_at(r.json, "matches.0.candidate.id"), "v-peer", "%s", r.body);
    cr_assert_not_null(kt_json_path(r.json, "searched.cells"));
    kt_resp_free(&r);
    r = call("GET", "/v1/needs/n-ung/matches?limit=1", NULL, 200, "match-result");
    cr_assert_eq(json_array_size(kt_json_path(r.json, "matches")), 1, "%s", r.body);
    cr_assert_null(kt_json_path(r.json, "excluded"));
    kt_resp_free(&r);

    /* The 12-year-old: the certified peer and the café, not the senior. */
    r = call("GET", "/v1/needs/n-barn/matches?explain=true", NULL, 200, "match-result");
    cr_assert_eq(json_array_size(kt_json_path(r.json, "matches")), 2, "%s", r.body);
    cr_assert_eq(json_integer_value(kt_json_path(r.json, "excluded.child_certificate")), 1, "%s",
                 r.body);
    kt_resp_free(&r);
    call_free("GET", "/v1/needs/n-barn/matches?explain", NULL, 200, "match-result");
    call_free("GET", "/v1/needs/n-barn/matches?explain=0", NULL, 200, "match-result");
    fails("GET", "/v1/needs/n-barn/matches?limit=0", NULL, 400, "invalid_query");
    fails("GET", "/v1/needs/n-barn/matches?limit=101", NULL, 400, "invalid_query");
    fails("GET", "/v1/needs/n-barn/matches?explain=yes", NULL, 400, "invalid_query");
    fails("GET", "/v1/needs/n-barn/matches?sort=score", NULL, 400, "invalid_query");
    fails("GET", "/v1/needs/n-nope/matches", NULL, 404, "not_found");
    fails("POST", "/v1/needs/n-barn/matches", NULL, 405, "method_not_allowed");

    /* What-if: a visit for an 84-year-old in Nykøbing, nothing stored. */
    const char *visit = "{\"kind\":\"visit\",\"municipality\":\"0376\",\"location\":{\"lat\":54.77,"
                        "\"lon\":11.87},\"skills_required\":[\"mentoring\"],\"languages\":[\"da\"],"
                        "\"person_age\":84,\"availability\":[\"tue_evening\"]}";
    r = call("POST", "/v1/match?limit=5&explain=1", visit, 200, "match-result");
    cr_assert_geq(json_array_size(kt_json_path(r.json, "matches")), 1, "%s", r.body);
    kt_resp_free(&r);
    call_free("POST", "/v1/match", visit, 200, "match-result");
    fails("POST", "/v1/match", "{\"kind\":\"visit\"", 400, "invalid_json");
    fails("POST", "/v1/match?limit=x", visit, 400, "invalid_query");
    fails("POST", "/v1/match", "{\"kind\":\"visit\",\"municipality\":\"0376\"}", 422,
          "missing_field");
    fails("POST", "/v1/match", "\"visit\"", 422, "invalid_body");
    fails("GET", "/v1/match", NULL, 405, "method_not_allowed");

    /* The reverse query. */
    r = call("GET", "/v1/volunteers/v-peer/needs?limit=5", NULL, 200, "volunteer-needs");
    cr_assert_eq(json_array_size(kt_json_path(r.json, "needs")), 2, "%s", r.body);
    kt_resp_free(&r);
    call_free("GET", "/v1/volunteers/v-senior/needs?explain=1", NULL, 200, "volunteer-needs");
    fails("GET", "/v1/volunteers/v-peer/needs?limit=-1", NULL, 400, "invalid_query");
    fails("GET", "/v1/volunteers/v-nope/needs", NULL, 404, "not_found");
    fails("DELETE", "/v1/volunteers/v-peer/needs", NULL, 405, "method_not_allowed");

    call_free("GET", "/v1/stats", NULL, 200, "stats");
    r = call("GET", "/metrics", NULL, 200, NULL);
    cr_assert(strstr(r.body, "koble_volunteers 2"), "%s", r.body);
    kt_resp_free(&r);
}

/* ---- match lifecycle ---- */

static const char *propose(const char *need, const char *type, const char *id, int want,
                           const char *schema) {
    static char match_id[64];
    char body[256];
    snprintf(body, sizeof body,
             "{\"need_id\":\"%s\",\"candidate\":{\"type\":\"%s\",\"id\":\"%s\"}}", need, type, id);
    kt_resp_t r = call("POST", "/v1/matches", body, want, schema);
    snprintf(match_id, sizeof match_id, "%s", want == 201 ? str_at(r.json, "id") : "");
    kt_resp_free(&r);
    return match_id;
}

static void step(const char *match, const char *what, int want, const char *state) {
    char path[128];
    snprintf(path, sizeof path, "/v1/matches/%s%s%s", match, what[0] ? "/" : "", what);
    kt_resp_t r = call(what[0] ? "POST" : "GET", path, NULL, want, want < 300 ? "match" : "error");
    if (state) cr_assert_str_eq(str_at(r.json, want < 300 ? "state" : "error.code"), state);
    kt_resp_free(&r);
}

Test(schema, lifecycle, .init = start, .fini = stop) {
    put_people();
    char m1[64], m2[64], m3[64];
    snprintf(m1, sizeof m1, "%s", propose("n-ung", "volunteer", "v-peer", 201, "match"));
    step(m1, "", 200, "proposed");
    step(m1, "accept", 200, "accepted");
    step(m1, "accept", 409, "invalid_transition");
    step(m1, "decline", 409, "invalid_transition");

    /* n-ung wants one helper: it is matched, and says so without ranking. */
    kt_resp_t r = call("GET", "/v1/needs/n-ung/matches?explain=1", NULL, 200, "match-result");
    cr_assert_str_eq(str_at(r.json, "state"), "matched", "%s", r.body);
    kt_resp_free(&r);
    propose("n-ung", "volunteer", "v-senior", 409, "error");
    r = call("GET", "/v1/stats", NULL, 200, "stats");
    cr_assert_eq(json_integer_value(kt_json_path(r.json, "counts.needs.matched")), 1);
    kt_resp_free(&r);
    step(m1, "end", 200, "ended");
    step(m1, "end", 409, "invalid_transition");

    /* The child: the café is proposed and declined, and cannot come back;
     * the expired certificate fails its hard constraint. */
    snprintf(m2, sizeof m2, "%s", propose("n-barn", "activity", "a-lektiecafe", 201, "match"));
    step(m2, "decline", 200, "declined");
    step(m2, "end", 409, "invalid_transition");
    r = call(
        "POST", "/v1/matches",
        "{\"need_id\":\"n-barn\",\"candidate\":{\"type\":\"activity\",\"id\":\"a-lektiecafe\"}}",
        409, "error");
    cr_assert_str_eq(str_at(r.json, "error.code"), "constraint_failed");
    cr_assert_str_eq(str_at(r.json, "error.field"), "paired");
    kt_resp_free(&r);
    r = call("POST", "/v1/matches",
             "{\"need_id\":\"n-barn\",\"candidate\":{\"type\":\"volunteer\",\"id\":\"v-senior\"}}",
             409, "error");
    cr_assert_str_eq(str_at(r.json, "error.field"), "child_certificate", "%s", r.body);
    kt_resp_free(&r);
    r = call(
        "POST", "/v1/matches",
        "{\"need_id\":\"n-ung\",\"candidate\":{\"type\":\"activity\",\"id\":\"a-lektiecafe\"}}",
        409, "error");
    cr_assert_str_eq(str_at(r.json, "error.code"), "kind_mismatch");
    kt_resp_free(&r);

    /* Closing ends the open proposal; a closed need takes none. */
    snprintf(m3, sizeof m3, "%s", propose("n-barn", "volunteer", "v-peer", 201, "match"));
    r = call("POST", "/v1/needs/n-barn/close", NULL, 200, "need");
    cr_assert_str_eq(str_at(r.json, "state"), "closed");
    kt_resp_free(&r);
    call_free("POST", "/v1/needs/n-barn/close", NULL, 200, "need");
    step(m3, "", 200, "ended");
    r = call("GET", "/v1/needs/n-barn/matches", NULL, 200, "match-result");
    cr_assert_str_eq(str_at(r.json, "state"), "closed");
    kt_resp_free(&r);
    propose("n-barn", "volunteer", "v-peer", 409, "error");
    fails("POST", "/v1/needs/n-barn/close?reason=done", NULL, 400, "invalid_query");
    fails("POST", "/v1/needs/n-nope/close", NULL, 404, "not_found");
    fails("GET", "/v1/needs/n-barn/close", NULL, 405, "method_not_allowed");

    /* Deleting the volunteer ends an accepted match; the record stays. */
    snprintf(m1, sizeof m1, "%s", propose("n-ung", "volunteer", "v-peer", 201, "match"));
    step(m1, "accept", 200, "accepted");
    call_free("DELETE", "/v1/volunteers/v-peer", NULL, 204, NULL);
    step(m1, "", 200, "ended");

    /* Refused proposals and steps. */
    propose("n-nope", "volunteer", "v-senior", 404, "error");
    propose("n-ung", "volunteer", "v-peer", 404, "error");
    fails("POST", "/v1/matches", "{\"need_id\":\"n-ung\"}", 422, "missing_field");
    fails("POST", "/v1/matches",
          "{\"need_id\":\"n-ung\",\"candidate\":{\"type\":\"person\",\"id\":\"v-senior\"}}", 422,
          "invalid_field");
    fails("POST", "/v1/matches",
          "{\"need_id\":\"n-ung\",\"candidate\":{\"type\":\"volunteer\",\"id\":\"v-senior\"},"
          "\"note\":\"x\"}",
          422, "unknown_field");
    fails("POST", "/v1/matches", "[]", 422, "invalid_body");
    fails("POST", "/v1/matches", "{\"need_id\":", 400, "invalid_json");
    fails("POST", "/v1/matches?dry_run=1", "{}", 400, "invalid_query");
    fails("GET", "/v1/matches", NULL, 405, "method_not_allowed");
    fails("GET", "/v1/matches/m-999", NULL, 404, "not_found");
    fails("GET", "/v1/matches/m-1?verbose=1", NULL, 400, "invalid_query");
    fails("DELETE", "/v1/matches/m-1", NULL, 405, "method_not_allowed");
    fails("POST", "/v1/matches/m-999/accept", NULL, 404, "not_found");
    fails("POST", "/v1/matches/m-999/decline", NULL, 404, "not_found");
    fails("POST", "/v1/matches/m-999/end", NULL, 404, "not_found");
    fails("GET", "/v1/matches/m-1/accept", NULL, 405, "method_not_allowed");
    fails("POST", "/v1/matches/m-1/approve", NULL, 404, "not_found");
}

/* ---- a full disk: every write route answers the documented 503 ---- */

Test(schema, full_disk, .init = start, .fini = stop) {
    put_people();
    char m[64], path[128];
    snprintf(m, sizeof m, "%s", propose("n-ung", "volunteer", "v-peer", 201, "match"));
    /* Restart with no room for one more journal record. */
    char journal[128];
    cr_assert_eq(kt_daemon_kill(&d), 0);
    cr_assert_eq(kt_daemon_journal(&d, journal, sizeof journal), 0);
    /* Where its records end: the file goes on with zeros written ahead,
     * which kobled trims at start as this open does. */
    kb_journal_t j;
    cr_assert_eq(kb_journal_open(&j, journal, 0, NULL, NULL, NULL), 0, "no %s", journal);
    kb_journal_close(&j);
    d.fsize_limit = (long)j.size + 1;
    cr_assert_eq(kt_daemon_spawn(&d, NULL), 0, "kobled did not restart");

    fails("PUT", "/v1/organisations/dgi-lolland",
          "{\"name\":\"DGI Lolland\",\"kind\":\"volunteer_org\"}", 503, "journal_failed");
    fails("DELETE", "/v1/volunteers/v-senior", NULL, 503, "journal_failed");
    fails("POST", "/v1/needs/n-barn/close", NULL, 503, "journal_failed");
    fails("POST", "/v1/matches",
          "{\"need_id\":\"n-barn\",\"candidate\":{\"type\":\"volunteer\",\"id\":\"v-peer\"}}", 503,
          "journal_failed");
    snprintf(path, sizeof path, "/v1/matches/%s/accept", m);
    fails("POST", path, NULL, 503, "journal_failed");
    /* Reads and what-if go on, and nothing refused was applied. */
    step(m, "", 200, "proposed");
    call_free("GET", "/v1/volunteers/v-senior", NULL, 200, "volunteer");
    call_free("POST", "/v1/match",
              "{\"kind\":\"mentor\",\"municipality\":\"0376\","
              "\"location\":{\"lat\":54.77,\"lon\":11.87},\"person_age\":19}",
              200, "match-result");
}
