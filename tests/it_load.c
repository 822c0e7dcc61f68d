/* it_load.c — koble-load's accounting against a tiny server with a known
 * delay (issue 5 "Tests"), and its what-if mix against a real kobled.
 *
 * The server lives in this test process: a thread per connection answers
 * each request D after it starts on it, one at a time, as kobled answers a
 * pipelined connection in order. That makes lower bounds certain whatever
 * the machine's load: no answer can come back sooner than D after it was
 * sent, and a connection completes at most one request per D. Upper timing
 * bounds would flake on a shared machine, so there are none; counts are
 * checked exactly where the server decides them (which answers are 500,
 * which connection closes). koble-load runs as a process
 * (build/bench/koble-load, or $KOBLE_LOAD) and its one-line summary is
 * parsed. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define DELAY_MS 20

typedef enum srv_mode {
    SRV_OK,        /* every answer 200 */
    SRV_ALTERNATE, /* per connection: 200, 500, 200, 500, ... */
    SRV_CLOSE,     /* reads the first request, then closes without answering */
} srv_mode_t;

typedef struct srv {
    int fd, port;
    srv_mode_t mode;
} srv_t;

typedef struct conn_arg {
    int fd;
    srv_mode_t mode;
} conn_arg_t;

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* MSG_NOSIGNAL: koble-load leaves with requests in flight, and an answer
 * written after it has gone must not kill the test's process with SIGPIPE
 * (Criterion then reports a crash in the teardown of a test that passed). */
static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Requests are GETs without a body: each ends at a blank line. */
static void *conn_main(void *p) {
    conn_arg_t a = *(conn_arg_t *)p;
    free(p);
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    static const char bad[] = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 3\r\n\r\nbad";
    char buf[65536];
    size_t len = 0;
    unsigned answered = 0;
    for (;;) {
        ssize_t n = read(a.fd, buf + len, sizeof buf - 1 - len);
        if (n <= 0) break;
        len += (size_t)n;
        buf[len] = 0;
        char *end;
        while ((end = strstr(buf, "\r\n\r\n"))) {
            if (a.mode == SRV_CLOSE) goto done;
            sleep_ms(DELAY_MS);
            bool fail = a.mode == SRV_ALTERNATE && answered++ % 2 == 1;
            if (write_all(a.fd, fail ? bad : ok, fail ? sizeof bad - 1 : sizeof ok - 1) < 0)
                goto done;
            size_t used = (size_t)(end + 4 - buf);
            memmove(buf, end + 4, len - used + 1);
            len -= used;
        }
    }
done:
    close(a.fd);
    return NULL;
}

static void *accept_main(void *p) {
    srv_t *s = p; /* a copy of the test's, which outlives the test */
    for (;;) {
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0) continue;
        conn_arg_t *a = malloc(sizeof *a);
        cr_assert_not_null(a);
        *a = (conn_arg_t){fd, s->mode};
        pthread_t t;
        cr_assert_eq(pthread_create(&t, NULL, conn_main, a), 0);
        pthread_detach(t);
    }
    return NULL;
}

/* Starts the server on a free loopback port; its threads end with the
 * test's process. */
static void srv_start(srv_t *s, srv_mode_t mode) {
    s->mode = mode;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(s->fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof a;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(s->fd, 64), 0);
    cr_assert_eq(getsockname(s->fd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    srv_t *copy = malloc(sizeof *copy);
    cr_assert_not_null(copy);
    *copy = *s;
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, accept_main, copy), 0);
    pthread_detach(t);
}

/* koble-load's summary: the fields of its "mix=..." line. */
typedef struct summary {
    double requests, ok, http_errors, transport_errors, p50_us, p90_us, max_us, bytes_per_answer;
    int status; /* exit status */
} summary_t;

static double field(const char *line, const char *name) {
    char key[32];
    snprintf(key, sizeof key, " %s=", name);
    const char *p = strstr(line, key);
    cr_assert_not_null(p, "no %s in: %s", name, line);
    return strtod(p + strlen(key), NULL);
}

/* Runs koble-load against port with args after --url; its summary. */
static summary_t run(int port, const char *args) {
    const char *bin = getenv("KOBLE_LOAD") ? getenv("KOBLE_LOAD") : "build/bench/koble-load";
    char cmd[512], line[1024] = "";
    snprintf(cmd, sizeof cmd, "%s --url http://127.0.0.1:%d %s 2>/dev/null", bin, port, args);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    char buf[1024];
    while (fgets(buf, sizeof buf, f))
        if (!strncmp(buf, "mix=", 4)) snprintf(line, sizeof line, "%s", buf);
    int st = pclose(f);
    cr_assert(line[0], "koble-load printed no summary (%s)", cmd);
    summary_t r = {
        .requests = field(line, "requests"),
        .ok = field(line, "ok"),
        .http_errors = field(line, "http_errors"),
        .transport_errors = field(line, "transport_errors"),
        .p50_us = field(line, "p50_us"),
        .p90_us = field(line, "p90_us"),
        .max_us = field(line, "max_us"),
        .bytes_per_answer = field(line, "bytes_per_answer"),
        .status = WIFEXITED(st) ? WEXITSTATUS(st) : -1,
    };
    return r;
}

static summary_t run_load(const srv_t *s, int connections, int pipeline, const char *duration) {
    char args[256];
    snprintf(args, sizeof args,
             "--mix healthz --connections %d --pipeline %d --duration %s --warmup 0", connections,
             pipeline, duration);
    return run(s->port, args);
}

Test(load, latency_is_at_least_the_servers_delay) {
    srv_t s;
    srv_start(&s, SRV_OK);
    summary_t r = run_load(&s, 2, 1, "0.6");
    cr_assert_eq(r.status, 0);
    cr_assert_gt(r.requests, 0);
    cr_assert_eq(r.ok, r.requests);
    cr_assert_eq(r.http_errors, 0);
    cr_assert_eq(r.transport_errors, 0);
    cr_assert_geq(r.p50_us, DELAY_MS * 1000.0, "p50 %.0f us", r.p50_us);
    cr_assert_geq(r.max_us, r.p50_us);
    /* At most one answer per connection every DELAY_MS: 0.6 s / 20 ms = 30. */
    cr_assert_leq(r.requests, 2 * (600 / DELAY_MS + 1), "%.0f requests", r.requests);
}

/* Four in flight on one connection, answered one at a time: each new
 * request waits behind three, so the latency is near 4 D, and the ring of
 * send times must pair each answer with its own request. */
Test(load, pipelined_latency_counts_the_wait_in_line) {
    srv_t s;
    srv_start(&s, SRV_OK);
    summary_t r = run_load(&s, 1, 4, "0.6");
    cr_assert_eq(r.status, 0);
    cr_assert_gt(r.requests, 4);
    cr_assert_eq(r.transport_errors, 0);
    cr_assert_geq(r.p50_us, 3 * DELAY_MS * 1000.0, "p50 %.0f us", r.p50_us);
    cr_assert_leq(r.requests, 600 / DELAY_MS + 1, "%.0f requests", r.requests);
}

Test(load, http_errors_are_counted_apart) {
    srv_t s;
    srv_start(&s, SRV_ALTERNATE);
    summary_t r = run_load(&s, 2, 1, "0.6");
    cr_assert_eq(r.status, 0, "non-2xx fails the run only with --strict");
    cr_assert_gt(r.requests, 4);
    cr_assert_eq(r.ok + r.http_errors, r.requests);
    /* Each connection alternates 200 and 500 from its first answer. */
    cr_assert_leq(r.ok - r.http_errors, 2, "%.0f ok, %.0f errors", r.ok, r.http_errors);
    cr_assert_geq(r.ok - r.http_errors, 0, "%.0f ok, %.0f errors", r.ok, r.http_errors);
    cr_assert_eq(r.transport_errors, 0);
}

Test(load, unanswered_requests_are_transport_errors) {
    srv_t s;
    srv_start(&s, SRV_CLOSE);
    summary_t r = run_load(&s, 3, 1, "0.3");
    cr_assert_eq(r.status, 1, "a transport error fails the run");
    cr_assert_eq(r.requests, 0);
    cr_assert_eq(r.transport_errors, 3, "one lost request per connection");
}

/* The what-if mix against a real kobled: needs go as bodies of POST
 * /v1/match, are ranked (answers with matches in them), and none is
 * stored, where the match mix would have stored every one. */
static kt_daemon_t d;
static void start(void) { cr_assert_eq(kt_daemon_start(&d, NULL), 0); }
static void stop(void) { kt_daemon_stop(&d); } /* also when an assertion ended the test */

Test(load, whatif_ranks_needs_without_storing_them, .init = start, .fini = stop) {
    summary_t r = run(d.port, "--mix load --volunteers 400 --connections 2 --pipeline 8 --strict");
    cr_assert_eq(r.status, 0);
    cr_assert_eq(r.ok, 400);
    r = run(d.port, "--mix whatif --town Copenhagen --needs 20 --connections 2 --duration 0.3 "
                    "--warmup 0 --strict");
    cr_assert_eq(r.status, 0, "a what-if request failed");
    cr_assert_gt(r.requests, 0);
    cr_assert_eq(r.ok, r.requests);
    cr_assert_gt(r.bytes_per_answer, 300, "answers of %.0f bytes carry no matches",
                 r.bytes_per_answer);
    kt_resp_t st = kt_http(&d, "GET", "/v1/stats", NULL);
    cr_assert_eq(st.status, 200);
    json_t *open =
        json_object_get(json_object_get(json_object_get(st.json, "counts"), "needs"), "open");
    cr_assert(json_is_integer(open));
    cr_assert_eq(json_integer_value(open), 0, "a what-if need was stored");
    kt_resp_free(&st);
}
