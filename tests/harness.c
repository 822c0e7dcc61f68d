/* harness.c — see harness.h. */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <fcntl.h>
#include <glob.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

/* Test helpers have no way to report out of memory but to stop. */
static void *must_alloc(void *p, size_t n) {
    void *q = realloc(p, n);
    if (!q) abort();
    return q;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* A sanitized kobled (make test-asan) writes its reports to its stderr,
 * this run's log. Whenever the harness reaps kobled it copies such a report
 * to the test's stderr, where tests/run.sh finds it and fails the run, and
 * answers true so that the caller reports a failure too. */
static bool sanitizer_report(const kt_daemon_t *d) {
    char *log = kt_daemon_log(d);
    const char *marks[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error: "};
    const char *first = NULL;
    for (size_t i = 0; i < sizeof marks / sizeof *marks; i++) {
        const char *at = strstr(log, marks[i]);
        if (at && (!first || at < first)) first = at;
    }
    if (first) {
        while (first > log && first[-1] != '\n') first--;
        fprintf(stderr, "kobled (%s) sanitizer report:\n%s\n", d->log, first);
    }
    free(log);
    return first != NULL;
}

/* Polls ready(ctx) every 10 ms for at most 10 s (a readiness wait, not a
 * timing assertion): 0 once it holds, -1 if the child *pid exits first
 * (then *pid is 0) or the time runs out. */
static int wait_until(pid_t *pid, bool (*ready)(void *ctx), void *ctx) {
    for (int i = 0; i < 1000; i++) {
        if (ready(ctx)) return 0;
        if (waitpid(*pid, NULL, WNOHANG) == *pid) {
            *pid = 0;
            return -1;
        }
        sleep_ms(10);
    }
    return -1;
}

/* kobled listens before it recovers and answers 503 until it is ready. */
static bool healthy(void *ctx) {
    kt_resp_t r = kt_http(ctx, "GET", "/healthz", NULL);
    int status = r.status;
    kt_resp_free(&r);
    return status == 200;
}

/* The port of this run's "event=listening" log line, once there. */
static bool listening(void *ctx) {
    kt_daemon_t *d = ctx;
    FILE *f = fopen(d->log, "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f)) {
        char *p = strstr(line, "event=listening");
        char *a = p ? strstr(p, "addr=") : NULL;
        char *colon = a ? strrchr(a, ':') : NULL;
        if (colon) d->port = atoi(colon + 1);
    }
    if (f) fclose(f);
    return d->port > 0;
}

int kt_daemon_start(kt_daemon_t *d, const char *const *extra) {
    memset(d, 0, sizeof *d);
    snprintf(d->dir, sizeof d->dir, "/tmp/koble-it-XXXXXX");
    if (!mkdtemp(d->dir)) return -1;
    return kt_daemon_spawn(d, extra);
}

int kt_daemon_spawn(kt_daemon_t *d, const char *const *extra) {
    d->port = 0;
    d->runs++;
    /* A log per run, so the port found is this run's. */
    snprintf(d->log, sizeof d->log, "%s/kobled-%d.log", d->dir, d->runs);
    const char *bin = getenv("KOBLED");
    if (!bin) bin = "build/kobled";
    const char *argv[32] = {bin,    "--listen", "127.0.0.1:0", "--data-dir",
                            d->dir, "--redis",  "none"};
    int argc = 7;
    for (int i = 0; extra && extra[i] && argc < 31; i++) argv[argc++] = extra[i];
    argv[argc] = NULL;
    d->pid = fork();
    if (d->pid < 0) return -1;
    if (d->pid == 0) {
        int fd = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 2);
        if (d->fsize_limit) {
            struct rlimit lim = {(rlim_t)d->fsize_limit, (rlim_t)d->fsize_limit};
            setrlimit(RLIMIT_FSIZE, &lim);
        }
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int rc = wait_until(&d->pid, listening, d);
    if (rc == 0 && !d->no_wait) rc = wait_until(&d->pid, healthy, d);
    if (d->pid == 0) sanitizer_report(d); /* it exited on its own */
    return rc;
}

int kt_daemon_kill(kt_daemon_t *d) {
    if (d->pid <= 0) return -1;
    kill(d->pid, SIGKILL);
    int st;
    pid_t w = waitpid(d->pid, &st, 0);
    d->pid = 0;
    if (sanitizer_report(d)) return -1;
    return w > 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? 0 : -1;
}

int kt_daemon_journal(const kt_daemon_t *d, char *out, size_t cap) {
    char pattern[128];
    snprintf(pattern, sizeof pattern, "%s/journal-*.kbj", d->dir);
    glob_t g;
    if (glob(pattern, 0, NULL, &g) != 0 || g.gl_pathc == 0) return -1;
    /* Names carry zero-padded sequence numbers: the last sorts last. */
    snprintf(out, cap, "%s", g.gl_pathv[g.gl_pathc - 1]);
    globfree(&g);
    return 0;
}

char *kt_daemon_log(const kt_daemon_t *d) {
    FILE *f = fopen(d->log, "r");
    size_t cap = 1 << 16, len = 0;
    char *text = must_alloc(NULL, cap);
    while (f) {
        if (cap - len < 4096) text = must_alloc(text, cap *= 2);
        size_t n = fread(text + len, 1, cap - len - 1, f);
        if (n == 0) break;
        len += n;
    }
    if (f) fclose(f);
    text[len] = '\0';
    return text;
}

int kt_daemon_term(kt_daemon_t *d) {
    int status = -1;
    if (d->pid > 0) {
        kill(d->pid, SIGTERM);
        int st;
        if (waitpid(d->pid, &st, 0) == d->pid && WIFEXITED(st)) status = WEXITSTATUS(st);
        d->pid = 0;
        if (sanitizer_report(d)) status = -1;
    }
    return status;
}

int kt_daemon_stop(kt_daemon_t *d) {
    int status = kt_daemon_term(d);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->dir);
    if (d->dir[0] && system(cmd) != 0) status = -1;
    return status;
}

int kt_connect(const kt_daemon_t *d) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)d->port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

char *kt_raw(const kt_daemon_t *d, const char *bytes, size_t len) {
    int fd = kt_connect(d);
    if (fd < 0) return strdup("");
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, bytes + off, len - off);
        if (n <= 0) break; /* the server may close early (413, 431) */
        off += (size_t)n;
    }
    char *buf = kt_read_all(fd, 10000);
    close(fd);
    return buf;
}

char *kt_read_all(int fd, int timeout_ms) {
    size_t cap = 4096, got = 0;
    char *buf = must_alloc(NULL, cap);
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0) break;
        if (got + 1024 > cap) buf = must_alloc(buf, cap *= 2);
        ssize_t n = read(fd, buf + got, cap - got - 1);
        if (n <= 0) break;
        got += (size_t)n;
    }
    buf[got] = '\0';
    return buf;
}

kt_resp_t kt_http(const kt_daemon_t *d, const char *method, const char *path, const char *body) {
    return kt_http_as(d, NULL, method, path, body);
}

kt_resp_t kt_http_as(const kt_daemon_t *d, const char *token, const char *method, const char *path,
                     const char *body) {
    kt_resp_t r = {0};
    size_t blen = body ? strlen(body) : 0;
    size_t cap = blen + strlen(path) + (token ? strlen(token) : 0) + 256;
    char *req = must_alloc(NULL, cap);
    int n = snprintf(req, cap,
                     "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s%s%s"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     method, path, token ? "Authorization: Bearer " : "", token ? token : "",
                     token ? "\r\n" : "", blen);
    memcpy(req + n, body ? body : "", blen);
    r.raw = kt_raw(d, req, (size_t)n + blen);
    free(req);
    sscanf(r.raw, "HTTP/1.1 %d", &r.status);
    char *sep = strstr(r.raw, "\r\n\r\n");
    r.body = sep ? sep + 4 : r.raw + strlen(r.raw);
    r.json = json_loads(r.body, 0, NULL);
    return r;
}

void kt_resp_free(kt_resp_t *r) {
    json_decref(r->json);
    free(r->raw);
    memset(r, 0, sizeof *r);
}

json_t *kt_json_path(json_t *root, const char *path) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = root;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ".", &save); cur && tok; tok = strtok_r(NULL, ".", &save)) {
        if (json_is_array(cur)) {
            char *end;
            long i = strtol(tok, &end, 10);
            cur = *end ? NULL : json_array_get(cur, (size_t)i);
        } else {
            cur = json_object_get(cur, tok);
        }
    }
    return cur;
}

/* ---- redis-server ---- */

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0) close(fd);
    return port;
}

void *kt_redis_cmd(const kt_redis_t *r, const char *fmt, ...) {
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", r->port, tv);
    if (!c || c->err) {
        if (c) redisFree(c);
        return NULL;
    }
    if (r->password) {
        redisReply *auth = redisCommand(c, "AUTH %s", r->password);
        if (auth) freeReplyObject(auth);
    }
    va_list ap;
    va_start(ap, fmt);
    void *reply = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    return reply;
}

long long kt_redis_xlen(const kt_redis_t *r, const char *key) {
    redisReply *reply = kt_redis_cmd(r, "XLEN %s", key);
    long long n = reply && reply->type == REDIS_REPLY_INTEGER ? reply->integer : -1;
    if (reply) freeReplyObject(reply);
    return n;
}

void kt_redis_addr(const kt_redis_t *r, char *out, size_t cap) {
    snprintf(out, cap, "127.0.0.1:%d", r->port);
}

static bool answers_ping(void *ctx) {
    redisReply *reply = kt_redis_cmd(ctx, "PING");
    bool up = reply && reply->type == REDIS_REPLY_STATUS;
    if (reply) freeReplyObject(reply);
    return up;
}

int kt_redis_start(kt_redis_t *r, int port) {
    r->port = port ? port : free_port();
    if (r->port <= 0) return -1;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", r->port);
    r->pid = fork();
    if (r->pid < 0) return -1;
    if (r->pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        if (r->password)
            execlp("redis-server", "redis-server", "--port", portstr, "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no", "--dir", "/tmp", "--requirepass",
                   r->password, (char *)NULL);
        execlp("redis-server", "redis-server", "--port", portstr, "--bind", "127.0.0.1", "--save",
               "", "--appendonly", "no", "--dir", "/tmp", (char *)NULL);
        _exit(127);
    }
    return wait_until(&r->pid, answers_ping, r);
}

int kt_redis_stop(kt_redis_t *r) {
    if (r->pid <= 0) return -1;
    kill(r->pid, SIGKILL);
    int st;
    waitpid(r->pid, &st, 0);
    r->pid = 0;
    return 0;
}
