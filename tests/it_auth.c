/* it_auth.c — tokens, roles, rates and open mode on the real daemon:
 * every endpoint without a token, with a wrong one, and as each role;
 * 429 over the rate; SIGHUP reloading tokens; the access log naming tokens
 * without showing them; loopback-only open mode; and the connection
 * limits (slowloris, too many connections). */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "auth.h"
#include "checker.h"
#include "harness.h"

#define ADMIN "admin-token-0123456789"
#define CW    "caseworker-token-0123456789"
#define ORG   "organisation-token-0123456789"

static kt_daemon_t d;
static char cfg_path[64];

/* A config file with the three tokens and `extra` settings, e.g.
 * "\"limits\":{...},". */
static void write_config(const char *extra, const char *admin_token) {
    char h[3][65];
    const char *toks[3] = {admin_token, CW, ORG};
    cr_assert_eq(kb_auth_init(), 0);
    for (int i = 0; i < 3; i++) kb_auth_hash_hex(toks[i], strlen(toks[i]), h[i]);
    if (!cfg_path[0]) {
        snprintf(cfg_path, sizeof cfg_path, "/tmp/koble-auth-XXXXXX");
        int fd = mkstemp(cfg_path);
        cr_assert_geq(fd, 0);
        close(fd);
    }
    FILE *f = fopen(cfg_path, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "{%s\"tokens\":["
            "{\"name\":\"ops\",\"sha256\":\"%s\",\"role\":\"admin\"},"
            "{\"name\":\"jc-guldborgsund\",\"sha256\":\"%s\",\"role\":\"caseworker\","
            "\"municipalities\":[\"0376\"]},"
            "{\"name\":\"urk\",\"sha256\":\"%s\",\"role\":\"organisation\",\"org_id\":\"urk\"}]}",
            extra, h[0], h[1], h[2]);
    fclose(f);
}

static void start_with(const char *extra) {
    write_config(extra, ADMIN);
    const char *args[] = {"--config", cfg_path, NULL};
    cr_assert_eq(kt_daemon_start(&d, args), 0);
}
static void start(void) { start_with(""); }
/* Tests may stop kobled themselves (to read its whole log). */
static void stop(void) {
    if (d.pid > 0) cr_assert_eq(kt_daemon_term(&d), 0, "kobled must exit 0 on SIGTERM");
    kt_daemon_stop(&d); /* removes the data dir */
    if (cfg_path[0]) unlink(cfg_path);
    cfg_path[0] = '\0';
}

static int status_as(const char *token, const char *method, const char *path, const char *body) {
    kt_resp_t r = kt_http_as(&d, token, method, path, body);
    int s = r.status;
    if (s == 401 || s == 403 || s == 429) {
        /* An error and nothing else: no data in a refusal. */
        cr_assert(json_is_object(r.json) && json_object_size(r.json) == 1 &&
                      json_object_get(r.json, "error"),
                  "%s %s: %s", method, path, r.body);
    }
    kt_resp_free(&r);
    return s;
}

#define VOL(org)                                                                                   \
    "{\"org_id\":\"" org "\",\"location\":{\"lat\":54.77,\"lon\":11.87},"                          \
    "\"skills\":[\"mentoring\"],\"capacity\":2}"
#define NEED(muni)                                                                                 \
    "{\"kind\":\"mentor\",\"municipality\":\"" muni "\",\"location\":{\"lat\":54.77,\"lon\":"      \
    "11.87},\"skills_required\":[\"mentoring\"],\"person_age\":18}"
#define PAIR(need, vol)                                                                            \
    "{\"need_id\":\"" need "\",\"candidate\":{\"type\":\"volunteer\",\"id\":\"" vol "\"}}"

static void seed(void) {
    static const struct {
        const char *method, *path, *body;
    } reqs[] = {
        {"PUT", "/v1/organisations/urk", "{\"name\":\"URK\",\"kind\":\"volunteer_org\"}"},
        {"PUT", "/v1/volunteers/v-urk", VOL("urk")},
        {"PUT", "/v1/volunteers/v-dgi", VOL("dgi")},
        {"PUT", "/v1/needs/n-376", NEED("0376")},
        {"PUT", "/v1/needs/n-101", NEED("0101")},
        {"PUT", "/v1/subscriptions/s-urk", "{\"org_id\":\"urk\",\"municipalities\":[\"0376\"]}"},
        {"POST", "/v1/matches", PAIR("n-376", "v-urk")}, /* m-1 */
        {"POST", "/v1/matches", PAIR("n-101", "v-urk")}, /* m-2 */
        {"POST", "/v1/matches", PAIR("n-376", "v-dgi")}, /* m-3 */
    };
    for (size_t i = 0; i < sizeof reqs / sizeof reqs[0]; i++) {
        int s = status_as(ADMIN, reqs[i].method, reqs[i].path, reqs[i].body);
        cr_assert(s == 200 || s == 201, "seed %s %s: %d", reqs[i].method, reqs[i].path, s);
    }
}

typedef struct row {
    const char *token, *method, *path, *body;
    int status;
} row_t;

static void check_rows(const row_t *rows, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const row_t *r = &rows[i];
        int s = status_as(r->token, r->method, r->path, r->body);
        cr_expect_eq(s, r->status, "row %zu: %s %s: got %d, want %d", i, r->method, r->path, s,
                     r->status);
    }
}

/* Every route of proto/openapi.yaml once. */
static const struct {
    const char *method, *path, *body;
} every[] = {
    {"GET", "/metrics", NULL},
    {"GET", "/v1/stats", NULL},
    {"PUT", "/v1/volunteers/v-1", VOL("urk")},
    {"GET", "/v1/volunteers/v-urk", NULL},
    {"DELETE", "/v1/volunteers/v-urk", NULL},
    {"GET", "/v1/volunteers/v-urk/needs", NULL},
    {"PUT", "/v1/activities/a-1", "{}"},
    {"GET", "/v1/activities/a-1", NULL},
    {"DELETE", "/v1/activities/a-1", NULL},
    {"PUT", "/v1/needs/n-1", NEED("0376")},
    {"GET", "/v1/needs/n-376", NULL},
    {"DELETE", "/v1/needs/n-376", NULL},
    {"POST", "/v1/needs/n-376/close", NULL},
    {"GET", "/v1/needs/n-376/matches", NULL},
    {"PUT", "/v1/organisations/o-1", "{}"},
    {"GET", "/v1/organisations/urk", NULL},
    {"DELETE", "/v1/organisations/urk", NULL},
    {"PUT", "/v1/subscriptions/s-1", "{}"},
    {"GET", "/v1/subscriptions/s-urk", NULL},
    {"DELETE", "/v1/subscriptions/s-urk", NULL},
    {"POST", "/v1/match", NEED("0376")},
    {"POST", "/v1/matches", PAIR("n-376", "v-urk")},
    {"GET", "/v1/matches/m-1", NULL},
    {"POST", "/v1/matches/m-1/accept", NULL},
    {"POST", "/v1/matches/m-1/decline", NULL},
    {"POST", "/v1/matches/m-1/end", NULL},
    {"POST", "/v1/assignments", "{}"},
    {"GET", "/v1/nope", NULL},
};

Test(auth, every_route_but_healthz_wants_a_valid_token, .init = start, .fini = stop) {
    seed();
    const char *bad[] = {NULL, "wrong-token", ADMIN "x"};
    for (size_t b = 0; b < 3; b++) {
        for (size_t i = 0; i < sizeof every / sizeof every[0]; i++) {
            kt_resp_t r = kt_http_as(&d, bad[b], every[i].method, every[i].path, every[i].body);
            cr_expect_eq(r.status, 401, "%s %s with %s: %d", every[i].method, every[i].path,
                         bad[b] ? bad[b] : "no token", r.status);
            cr_expect(strstr(r.raw, "WWW-Authenticate: Bearer"), "%s", r.raw);
            cr_expect_str_eq(json_string_value(kt_json_path(r.json, "error.code")), "unauthorized");
            kt_resp_free(&r);
        }
    }
    cr_assert_eq(status_as(NULL, "GET", "/healthz", NULL), 200, "health checks need no secret");
    /* Nothing changed: every write above was refused. */
    kt_resp_t r = kt_http_as(&d, ADMIN, "GET", "/v1/stats", NULL);
    cr_assert_eq(r.status, 200);
    kt_resp_free(&r);
    cr_assert_eq(status_as(ADMIN, "GET", "/v1/volunteers/v-urk", NULL), 200);
    cr_assert_eq(status_as(ADMIN, "GET", "/v1/volunteers/v-1", NULL), 404);
    cr_assert_eq(status_as(ADMIN, "GET", "/v1/matches/m-1", NULL), 200);
}

Test(auth, admin_may_use_every_route, .init = start, .fini = stop) {
    seed();
    for (size_t i = 0; i < sizeof every / sizeof every[0]; i++) {
        int s = status_as(ADMIN, every[i].method, every[i].path, every[i].body);
        cr_expect(s != 401 && s != 403, "admin %s %s: %d", every[i].method, every[i].path, s);
    }
}

Test(auth, caseworker_stays_in_its_municipalities, .init = start, .fini = stop) {
    seed();
    static const row_t rows[] = {
        {CW, "GET", "/metrics", NULL, 403},
        {CW, "GET", "/v1/stats", NULL, 403},
        {CW, "GET", "/v1/needs/n-376", NULL, 200},
        {CW, "GET", "/v1/needs/n-101", NULL, 403},
        {CW, "GET", "/v1/needs/n-404", NULL, 404},
        {CW, "PUT", "/v1/needs/n-376", NEED("0376"), 200},
        {CW, "PUT", "/v1/needs/n-376", NEED("0101"), 403},
        {CW, "PUT", "/v1/needs/n-101", NEED("0376"), 403},
        {CW, "PUT", "/v1/needs/n-new", NEED("0101"), 403},
        {CW, "PUT", "/v1/needs/n-new", NEED("0376"), 201},
        {CW, "DELETE", "/v1/needs/n-101", NULL, 403},
        {CW, "POST", "/v1/needs/n-101/close", NULL, 403},
        {CW, "GET", "/v1/needs/n-376/matches", NULL, 200},
        {CW, "GET", "/v1/needs/n-101/matches", NULL, 403},
        {CW, "GET", "/v1/volunteers/v-dgi", NULL, 200},
        {CW, "PUT", "/v1/volunteers/v-dgi", VOL("dgi"), 403},
        {CW, "DELETE", "/v1/volunteers/v-dgi", NULL, 403},
        {CW, "GET", "/v1/volunteers/v-urk/needs", NULL, 200},
        {CW, "GET", "/v1/activities/a-404", NULL, 404},
        {CW, "GET", "/v1/organisations/urk", NULL, 200},
        {CW, "PUT", "/v1/organisations/urk", "{\"name\":\"x\",\"kind\":\"company\"}", 403},
        {CW, "DELETE", "/v1/organisations/urk", NULL, 403},
        {CW, "GET", "/v1/subscriptions/s-urk", NULL, 403},
        {CW, "PUT", "/v1/subscriptions/s-cw", "{\"org_id\":\"urk\"}", 403},
        {CW, "POST", "/v1/match", NEED("0376"), 200},
        {CW, "POST", "/v1/match", NEED("0101"), 403},
        {CW, "POST", "/v1/matches", PAIR("n-101", "v-dgi"), 403},
        {CW, "GET", "/v1/matches/m-1", NULL, 200},
        {CW, "GET", "/v1/matches/m-2", NULL, 403},
        {CW, "POST", "/v1/matches/m-2/accept", NULL, 403},
        {CW, "POST", "/v1/matches/m-2/end", NULL, 403},
        {CW, "POST", "/v1/assignments", "{\"municipality\":\"0376\"}", 200},
        {CW, "POST", "/v1/assignments", "{\"municipality\":\"0101\"}", 403},
        {CW, "POST", "/v1/assignments", "{}", 403},
        {CW, "POST", "/v1/assignments", "{\"need_ids\":[\"n-376\",\"n-101\"]}", 403},
        {CW, "POST", "/v1/matches/m-1/accept", NULL, 200},
        {CW, "POST", "/v1/matches/m-1/end", NULL, 200},
        {CW, "POST", "/v1/needs/n-376/close", NULL, 200},
        {CW, "DELETE", "/v1/needs/n-new", NULL, 204},
    };
    check_rows(rows, sizeof rows / sizeof rows[0]);
    /* The refused writes changed nothing. */
    kt_resp_t r = kt_http_as(&d, ADMIN, "GET", "/v1/needs/n-101", NULL);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "municipality")), "0101");
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "state")), "open");
    kt_resp_free(&r);
}

Test(auth, caseworkers_reverse_query_shows_only_its_needs, .init = start, .fini = stop) {
    seed();
    cr_assert_eq(status_as(ADMIN, "PUT", "/v1/volunteers/v-free", VOL("dgi")), 201);
    kt_resp_t r = kt_http_as(&d, ADMIN, "GET", "/v1/volunteers/v-free/needs", NULL);
    cr_assert_eq(json_array_size(json_object_get(r.json, "needs")), 2, "%s", r.body);
    kt_resp_free(&r);
    r = kt_http_as(&d, CW, "GET", "/v1/volunteers/v-free/needs", NULL);
    json_t *needs = json_object_get(r.json, "needs");
    cr_assert_eq(json_array_size(needs), 1, "%s", r.body);
    cr_assert_str_eq(json_string_value(kt_json_path(needs, "0.need.id")), "n-376");
    kt_resp_free(&r);
}

Test(auth, organisation_manages_its_own_and_sees_no_needs, .init = start, .fini = stop) {
    seed();
    static const row_t rows[] = {
        {ORG, "GET", "/metrics", NULL, 403},
        {ORG, "GET", "/v1/stats", NULL, 403},
        {ORG, "GET", "/v1/needs/n-376", NULL, 403},
        {ORG, "PUT", "/v1/needs/n-org", NEED("0376"), 403},
        {ORG, "DELETE", "/v1/needs/n-376", NULL, 403},
        {ORG, "POST", "/v1/needs/n-376/close", NULL, 403},
        {ORG, "GET", "/v1/needs/n-376/matches", NULL, 403},
        {ORG, "GET", "/v1/volunteers/v-urk/needs", NULL, 403},
        {ORG, "POST", "/v1/match", NEED("0376"), 403},
        {ORG, "POST", "/v1/matches", PAIR("n-376", "v-urk"), 403},
        {ORG, "POST", "/v1/assignments", "{\"municipality\":\"0376\"}", 403},
        {ORG, "GET", "/v1/volunteers/v-urk", NULL, 200},
        {ORG, "GET", "/v1/volunteers/v-dgi", NULL, 403},
        {ORG, "PUT", "/v1/volunteers/v-dgi", VOL("urk"), 403},
        {ORG, "PUT", "/v1/volunteers/v-new", VOL("dgi"), 403},
        {ORG, "PUT", "/v1/volunteers/v-new", VOL("urk"), 201},
        {ORG, "DELETE", "/v1/volunteers/v-dgi", NULL, 403},
        {ORG, "DELETE", "/v1/volunteers/v-new", NULL, 204},
        {ORG, "PUT", "/v1/activities/a-urk",
         "{\"org_id\":\"urk\",\"title\":\"Lektiecafé\",\"location\":{\"lat\":54.77,\"lon\":11.87},"
         "\"capacity\":10}",
         201},
        {ORG, "GET", "/v1/activities/a-urk", NULL, 200},
        {ORG, "PUT", "/v1/subscriptions/s-urk2", "{\"org_id\":\"urk\"}", 201},
        {ORG, "PUT", "/v1/subscriptions/s-dgi", "{\"org_id\":\"dgi\"}", 403},
        {ORG, "GET", "/v1/subscriptions/s-urk", NULL, 200},
        {ORG, "DELETE", "/v1/subscriptions/s-urk2", NULL, 204},
        {ORG, "GET", "/v1/organisations/urk", NULL, 200},
        {ORG, "GET", "/v1/organisations/dgi", NULL, 403},
        {ORG, "PUT", "/v1/organisations/urk", "{\"name\":\"x\",\"kind\":\"company\"}", 403},
        {ORG, "DELETE", "/v1/organisations/urk", NULL, 403},
        {ORG, "GET", "/v1/matches/m-1", NULL, 200},
        {ORG, "GET", "/v1/matches/m-3", NULL, 403},
        {ORG, "POST", "/v1/matches/m-3/accept", NULL, 403},
        {ORG, "POST", "/v1/matches/m-1/end", NULL, 403},
        {ORG, "POST", "/v1/matches/m-1/accept", NULL, 200},
        {ORG, "POST", "/v1/matches/m-2/decline", NULL, 200},
    };
    check_rows(rows, sizeof rows / sizeof rows[0]);
    kt_resp_t r = kt_http_as(&d, ADMIN, "GET", "/v1/volunteers/v-dgi", NULL);
    cr_assert_str_eq(json_string_value(json_object_get(r.json, "org_id")), "dgi",
                     "a refused write changes nothing");
    kt_resp_free(&r);
}

/* A value of /metrics (fetched with the admin token, or none when open). */
static double metric(const char *name) {
    kt_resp_t r = kt_http_as(&d, ADMIN, "GET", "/metrics", NULL);
    cr_assert_eq(r.status, 200);
    const char *p = r.body;
    double v = -1;
    while ((p = strstr(p, name))) {
        if ((p == r.body || p[-1] == '\n') && p[strlen(name)] == ' ') {
            v = strtod(p + strlen(name) + 1, NULL);
            break;
        }
        p += strlen(name);
    }
    kt_resp_free(&r);
    return v;
}

Test(auth, a_spent_rate_gets_429_per_token, .fini = stop) {
    start_with("\"limits\":{\"rate_per_token\":1,\"rate_burst\":3},");
    int ok = 0, limited = 0;
    for (int i = 0; i < 6; i++) {
        kt_resp_t r = kt_http_as(&d, CW, "GET", "/v1/needs/n-1", NULL);
        if (r.status == 404) ok++;
        if (r.status == 429) {
            limited++;
            cr_assert(strstr(r.raw, "Retry-After: "), "%s", r.raw);
            cr_assert_str_eq(json_string_value(kt_json_path(r.json, "error.code")), "rate_limited");
        }
        kt_resp_free(&r);
    }
    /* A burst of 3 and one more a second: at least 2 of 6 are refused
     * however slow the machine (it would take 2 s for two more). */
    cr_assert_geq(ok, 3);
    cr_assert_geq(limited, 2, "ok %d limited %d", ok, limited);
    cr_assert_eq(ok + limited, 6);
    cr_assert_eq(metric("koble_http_rate_limited_total"), (double)limited,
                 "the admin's bucket is its own");
    cr_assert_eq(metric("koble_limit_rate_burst"), 3);
}

/* 401, 403 and 429 answers are documented for any route, in the shape
 * proto/ gives them. */
Test(auth, refusals_conform_to_the_contract, .fini = stop) {
    signal(SIGPIPE, SIG_IGN);
    kt_checker_start();
    start_with("\"limits\":{\"rate_per_token\":1,\"rate_burst\":1},");
    static const struct {
        const char *token, *method, *path;
        int status;
    } cases[] = {{NULL, "GET", "/v1/needs/n-1", 401},
                 {CW, "GET", "/v1/stats", 403},
                 {CW, "GET", "/v1/stats", 429},
                 {ORG, "POST", "/v1/matches/m-1/end", 404}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        kt_resp_t r = kt_http_as(&d, cases[i].token, cases[i].method, cases[i].path, "{}");
        cr_assert_eq(r.status, cases[i].status, "%s", r.raw);
        char args[256], out[4096];
        snprintf(args, sizeof args, "--route %s %s %d error", cases[i].method, cases[i].path,
                 r.status);
        int rc = kt_checker_ask(args, r.body, out, sizeof out);
        cr_assert_eq(rc, 0, "%s %s -> %d does not conform: %s", cases[i].method, cases[i].path,
                     r.status, out);
        kt_resp_free(&r);
    }
    kt_checker_stop();
}

static bool log_has(const char *needle) {
    char *log = kt_daemon_log(&d);
    bool has = strstr(log, needle) != NULL;
    free(log);
    return has;
}

/* Polls (bounded, 10 s) until the log has n lines with needle. */
static bool wait_log_count(const char *needle, unsigned n) {
    for (int i = 0; i < 200; i++) {
        char *log = kt_daemon_log(&d);
        unsigned seen = 0;
        for (const char *p = log; (p = strstr(p, needle)); p++) seen++;
        free(log);
        if (seen >= n) return true;
        usleep(50000);
    }
    return false;
}

Test(auth, the_access_log_names_tokens_and_never_shows_them, .init = start, .fini = stop) {
    cr_assert_eq(status_as(CW, "GET", "/v1/needs/n-1", NULL), 404);
    cr_assert_eq(status_as("not-a-token", "GET", "/v1/needs/n-1", NULL), 401);
    cr_assert_eq(status_as(ORG, "PUT", "/v1/volunteers/v-9", VOL("urk")), 201);
    cr_assert_eq(kt_daemon_term(&d), 0);
    char *log = kt_daemon_log(&d);
    cr_assert(strstr(log, "token=jc-guldborgsund"), "%s", log);
    cr_assert(strstr(log, "token=urk"), "%s", log);
    cr_assert(strstr(log, "status=401"), "%s", log);
    /* The whole access line of the PUT: route, status, whole microseconds. */
    const char *put = strstr(log, "event=request route=\"PUT /v1/volunteers/{id}\" status=201 us=");
    cr_assert_not_null(put, "%s", log);
    const char *us = strstr(put, " us=") + 4;
    size_t digits = strspn(us, "0123456789");
    cr_assert_gt(digits, 0, "%s", put);
    cr_assert_eq(strncmp(us + digits, " token=urk\n", 11), 0, "%s", put);
    cr_assert_null(strstr(log, CW), "a token in the log");
    cr_assert_null(strstr(log, ORG), "a token in the log");
    cr_assert_null(strstr(log, "not-a-token"), "a presented token in the log");
    cr_assert_null(strstr(log, "54.77"), "a request body in the log");
    free(log);
}

Test(auth, access_lines_are_written_while_kobled_runs, .init = start, .fini = stop) {
    /* Lines are held for at most LOG_FLUSH_MS (kobled.c), not until exit
     * or 16 KiB: the line is in the log without a stop, soon after its
     * answer is out (bounded wait, 10 s, for the file to show it). */
    cr_assert_eq(status_as(CW, "GET", "/v1/needs/n-404", NULL), 404);
    cr_assert(wait_log_count("event=request route=\"GET /v1/needs/{id}\" status=404", 1),
              "no access line while running");
}

/* Polls (bounded, 10 s) until token gets want: SIGHUP is asynchronous. */
static bool wait_status(const char *token, int want) {
    for (int i = 0; i < 200; i++) {
        if (status_as(token, "GET", "/v1/needs/n-1", NULL) == want) return true;
        usleep(50000);
    }
    return false;
}

Test(auth, sighup_reloads_the_tokens, .init = start, .fini = stop) {
    cr_assert_eq(status_as(ADMIN, "GET", "/v1/needs/n-1", NULL), 404);
    write_config("", "new-admin-token-42");
    cr_assert_eq(kill(d.pid, SIGHUP), 0);
    cr_assert(wait_status("new-admin-token-42", 404), "the new token works after SIGHUP");
    cr_assert_eq(status_as(ADMIN, "GET", "/v1/needs/n-1", NULL), 401, "the old one does not");
    cr_assert_eq(status_as(CW, "GET", "/v1/needs/n-1", NULL), 404, "unchanged ones still work");
    /* A broken file, then one without tokens: both keep the tokens. Each
     * refusal is awaited before the next signal: two SIGHUPs sent before
     * kobled takes the first are one to the kernel. */
    const char *files[2] = {"{\"tokens\": [", "{}"};
    for (unsigned k = 0; k < 2; k++) {
        FILE *f = fopen(cfg_path, "w");
        fputs(files[k], f);
        fclose(f);
        cr_assert_eq(kill(d.pid, SIGHUP), 0);
        cr_assert(wait_log_count("action=kept_old_tokens", k + 1), "bad reload %u refused", k + 1);
    }
    cr_assert_eq(status_as("new-admin-token-42", "GET", "/v1/needs/n-1", NULL), 404);
    cr_assert_eq(status_as(NULL, "GET", "/v1/needs/n-1", NULL), 401, "still not open");
}

Test(auth, without_tokens_kobled_listens_on_loopback_only) {
    const char *args[] = {"--listen", "0.0.0.0:0", NULL};
    cr_assert_eq(kt_daemon_start(&d, args), 0);
    cr_assert(log_has("event=open_mode"));
    cr_assert(log_has("event=listening addr=127.0.0.1:"), "0.0.0.0 was asked, loopback given");
    cr_assert_eq(status_as(NULL, "GET", "/v1/stats", NULL), 200, "open: no token needed");
    cr_assert_eq(metric("koble_auth_tokens"), 0);
    cr_assert_eq(kt_daemon_stop(&d), 0);
    const char *open_args[] = {"--listen", "0.0.0.0:0", "--allow-open-network", NULL};
    cr_assert_eq(kt_daemon_start(&d, open_args), 0);
    cr_assert(log_has("event=listening addr=0.0.0.0:"));
    cr_assert(log_has("--allow-open-network is given"));
    cr_assert_eq(kt_daemon_stop(&d), 0);
}

Test(auth, with_tokens_kobled_listens_where_it_is_told, .fini = stop) {
    write_config("", ADMIN);
    const char *args[] = {"--config", cfg_path, "--listen", "0.0.0.0:0", NULL};
    cr_assert_eq(kt_daemon_start(&d, args), 0);
    cr_assert(log_has("event=access_control tokens=3"));
    cr_assert(log_has("event=listening addr=0.0.0.0:"));
}

/* ---- connection limits ---- */

Test(limits, a_slowloris_client_is_cut_off, .fini = stop) {
    start_with("\"limits\":{\"idle_timeout_ms\":300},");
    int fd = kt_connect(&d);
    cr_assert_geq(fd, 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    static const char head[] = "GET /healthz HTTP/1.1\r\nX-Slow: ";
    cr_assert_eq(send(fd, head, sizeof head - 1, MSG_NOSIGNAL), (ssize_t)sizeof head - 1);
    /* One byte every 50 ms never completes the request; the server must
     * close the connection anyway (bounded here by 10 s). */
    bool closed = false;
    for (int i = 0; i < 200 && !closed; i++) {
        usleep(50000);
        if (send(fd, "a", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) closed = true;
        char buf[256];
        ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0) closed = true;
    }
    close(fd);
    cr_assert(closed, "a trickling request kept its connection for 10 s");
    cr_assert_eq(metric("koble_http_timeouts_total"), 1);
    cr_assert_eq(metric("koble_limit_idle_timeout_seconds"), 0.3);
}

/* The idle clock restarts with every request: a client that keeps asking
 * keeps its connection past the timeout, and loses it once it stops. */
Test(limits, requests_keep_a_connection_open_past_the_idle_timeout, .fini = stop) {
    start_with("\"limits\":{\"idle_timeout_ms\":500},");
    int fd = kt_connect(&d);
    cr_assert_geq(fd, 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    char buf[1024];
    for (int i = 0; i < 15; i++) { /* 1.5 s of requests 100 ms apart */
        cr_assert_eq(send(fd, req, sizeof req - 1, MSG_NOSIGNAL), (ssize_t)sizeof req - 1,
                     "request %d", i);
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        cr_assert_gt(n, 0, "request %d got no answer", i);
        buf[n] = '\0';
        cr_assert(strncmp(buf, "HTTP/1.1 200", 12) == 0, "%s", buf);
        usleep(100000);
    }
    cr_assert_eq(metric("koble_http_timeouts_total"), 0);
    /* Then silence: the server closes it (bounded here by 10 s). */
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    cr_assert_eq(n, 0, "the idle connection was closed");
    close(fd);
    cr_assert_eq(metric("koble_http_timeouts_total"), 1);
}

Test(limits, connections_over_the_limit_get_503, .fini = stop) {
    start_with("\"limits\":{\"max_connections\":3},");
    int fds[3];
    for (int i = 0; i < 3; i++) cr_assert_geq(fds[i] = kt_connect(&d), 0);
    kt_resp_t r = kt_http_as(&d, ADMIN, "GET", "/v1/stats", NULL);
    cr_assert_eq(r.status, 503, "%s", r.raw);
    cr_assert_str_eq(json_string_value(kt_json_path(r.json, "error.code")), "too_many_connections");
    kt_resp_free(&r);
    for (int i = 0; i < 3; i++) close(fds[i]);
    /* Closed connections free their places (polled: the server sees the
     * close on its next loop turn). */
    int s = 0;
    for (int i = 0; i < 200 && s != 200; i++) {
        s = status_as(NULL, "GET", "/healthz", NULL);
        if (s != 200) usleep(50000);
    }
    cr_assert_eq(s, 200);
    cr_assert_geq(metric("koble_http_connections_rejected_total"), 1);
    cr_assert_eq(metric("koble_limit_max_connections"), 3);
}
