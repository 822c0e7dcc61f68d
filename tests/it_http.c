/* it_http.c — malformed and oversized HTTP against the real daemon,
 * keep-alive and pipelining, and an orderly shutdown. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static kt_daemon_t d;
static void start(void) { cr_assert_eq(kt_daemon_start(&d, NULL), 0); }
static void stop(void) { cr_assert_eq(kt_daemon_stop(&d), 0, "kobled must exit 0 on SIGTERM"); }

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

Test(http, garbage_gets_400_json, .init = start, .fini = stop) {
    static const char junk[] = "HELLO THERE\r\n\r\n";
    char *out = kt_raw(&d, junk, sizeof junk - 1);
    cr_assert(strncmp(out, "HTTP/1.1 400", 12) == 0, "%s", out);
    cr_assert(strstr(out, "\"error\""), "%s", out);
    free(out);
}

Test(http, oversized_body_gets_413_without_sending_it, .init = start, .fini = stop) {
    static const char req[] = "PUT /v1/volunteers/v-1 HTTP/1.1\r\nHost: x\r\n"
                              "Content-Type: application/json\r\nContent-Length: 2000000\r\n\r\n{";
    char *out = kt_raw(&d, req, sizeof req - 1);
    cr_assert(strncmp(out, "HTTP/1.1 413", 12) == 0, "%s", out);
    cr_assert(strstr(out, "\"error\""));
    free(out);
}

Test(http, oversized_headers_get_431, .init = start, .fini = stop) {
    size_t n = 10000;
    char *req = malloc(n + 128);
    int k = sprintf(req, "GET /healthz HTTP/1.1\r\nX-Big: ");
    memset(req + k, 'a', n);
    memcpy(req + k + n, "\r\n\r\n", 5);
    char *out = kt_raw(&d, req, strlen(req));
    cr_assert(strncmp(out, "HTTP/1.1 431", 12) == 0, "%.200s", out);
    free(out);
    free(req);
}

Test(http, pipelined_requests_answer_in_order, .init = start, .fini = stop) {
    char body[] = "{\"name\":\"DGI Lolland\",\"kind\":\"volunteer_org\"}";
    char buf[1024];
    snprintf(buf, sizeof buf,
             "PUT /v1/organisations/o-1 HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n%s"
             "GET /v1/organisations/o-1 HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /v1/organisations/o-2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
             strlen(body), body);
    char *out = kt_raw(&d, buf, strlen(buf));
    char *a = strstr(out, "HTTP/1.1 201"), *b = strstr(out, "HTTP/1.1 200"),
         *c = strstr(out, "HTTP/1.1 404");
    cr_assert(a && b && c, "%s", out);
    cr_assert(a < b && b < c, "answers out of order: %s", out);
    cr_assert_eq(count(out, "HTTP/1.1 "), 3);
    free(out);
}

/* A body that arrives in several reads is put together whole; one whose
 * connection closes before it is complete is dropped. */
Test(http, a_body_in_pieces_is_read_whole, .init = start, .fini = stop) {
    const char body[] = "{\"name\":\"Ungdomsringen Guldborgsund\",\"kind\":\"volunteer_org\"}";
    char head[256];
    int n = snprintf(head, sizeof head,
                     "PUT /v1/organisations/o-7 HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     strlen(body));
    int fd = kt_connect(&d);
    cr_assert_geq(fd, 0);
    size_t half = strlen(body) / 2;
    cr_assert_eq(write(fd, head, (size_t)n), n);
    cr_assert_eq(write(fd, body, 5), 5);
    usleep(20000);
    cr_assert_eq(write(fd, body + 5, half - 5), (ssize_t)(half - 5));
    usleep(20000);
    cr_assert_eq(write(fd, body + half, strlen(body) - half), (ssize_t)(strlen(body) - half));
    char *out = kt_read_all(fd, 5000);
    close(fd);
    cr_assert(strncmp(out, "HTTP/1.1 201", 12) == 0, "%s", out);
    free(out);
    kt_resp_t r = kt_http(&d, "GET", "/v1/organisations/o-7", NULL);
    cr_assert_eq(r.status, 200);
    cr_assert(strstr(r.body, "\"name\":\"Ungdomsringen Guldborgsund\""), "%s", r.body);
    kt_resp_free(&r);
    /* Half a body, then the client goes away. */
    fd = kt_connect(&d);
    cr_assert_geq(fd, 0);
    n = snprintf(head, sizeof head,
                 "PUT /v1/organisations/o-8 HTTP/1.1\r\nHost: x\r\nContent-Length: 200\r\n\r\n"
                 "{\"name\":");
    cr_assert_eq(write(fd, head, (size_t)n), n);
    usleep(20000);
    close(fd);
    r = kt_http(&d, "GET", "/v1/organisations/o-8", NULL);
    cr_assert_eq(r.status, 404);
    kt_resp_free(&r);
}

Test(http, health_stats_and_metrics, .init = start, .fini = stop) {
    kt_resp_t r = kt_http(&d, "GET", "/healthz", NULL);
    cr_assert_eq(r.status, 200);
    cr_assert_str_eq(json_string_value(kt_json_path(r.json, "status")), "ok");
    kt_resp_free(&r);
    r = kt_http(&d, "GET", "/v1/stats", NULL);
    cr_assert_eq(r.status, 200);
    cr_assert(json_is_integer(kt_json_path(r.json, "index.bytes")));
    cr_assert(json_is_integer(kt_json_path(r.json, "memory.total_bytes")));
    kt_resp_free(&r);
    r = kt_http(&d, "GET", "/metrics", NULL);
    cr_assert_eq(r.status, 200);
    /* 2: the harness's readiness check, then this test's. */
    cr_assert(strstr(r.body, "koble_http_requests_total{route=\"GET /healthz\",status=\"200\"} 2"),
              "%s", r.body);
    cr_assert(strstr(r.body, "koble_http_request_duration_seconds_bucket{route=\"GET /v1/stats\""),
              "%s", r.body);
    cr_assert(strstr(r.body, "koble_volunteers 0"), "%s", r.body);
    kt_resp_free(&r);
}

/* HEAD answers like GET without a body, so the next pipelined answer is
 * read right; the health and metrics routes take GET (and HEAD) only. */
Test(http, head_has_no_body_and_read_only_routes_refuse_writes, .init = start, .fini = stop) {
    static const char req[] = "HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                              "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char *out = kt_raw(&d, req, sizeof req - 1);
    cr_assert_eq(count(out, "HTTP/1.1 200 OK"), 2, "%s", out);
    cr_assert_eq(count(out, "Content-Length: 16"), 2, "%s", out);
    cr_assert_eq(count(out, "{\"status\":\"ok\"}"), 1, "only GET has a body: %s", out);
    free(out);
    const char *routes[] = {"/healthz", "/metrics", "/v1/stats"};
    for (int i = 0; i < 3; i++) {
        kt_resp_t r = kt_http(&d, "POST", routes[i], "{}");
        cr_assert_eq(r.status, 405, "POST %s: %d", routes[i], r.status);
        kt_resp_free(&r);
        char path[64];
        snprintf(path, sizeof path, "%s?x=1", routes[i]);
        r = kt_http(&d, "GET", path, NULL);
        cr_assert_eq(r.status, 400, "GET %s: %d", path, r.status);
        kt_resp_free(&r);
    }
}

Test(http, shutdown_closes_idle_keepalive_connections) {
    cr_assert_eq(kt_daemon_start(&d, NULL), 0);
    /* An idle keep-alive connection must not hold up the exit. */
    int fd = kt_connect(&d);
    cr_assert_geq(fd, 0);
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    cr_assert_eq(write(fd, req, sizeof req - 1), (ssize_t)(sizeof req - 1));
    char buf[512];
    cr_assert_gt(read(fd, buf, sizeof buf), 0);
    cr_assert_eq(kt_daemon_stop(&d), 0);
    close(fd);
}
