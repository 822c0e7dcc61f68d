/* harness.h — helpers for integration tests: a real kobled process and
 * plain-socket HTTP to it.
 *
 * kobled is started with --listen 127.0.0.1:0 and its stderr goes to a
 * file; the harness reads the bound port from the "listening" log line, so
 * tests never race for a free port. Waiting for that line is bounded (10 s)
 * and is a readiness wait, not a timing assertion.
 *
 * Under the sanitizers (make test-asan) each function that reaps kobled
 * copies a sanitizer report from its log to stderr, and term, kill and stop
 * then answer -1. */
#ifndef KT_HARNESS_H
#define KT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

typedef struct kt_daemon {
    pid_t pid;
    int port;
    int runs;         /* processes started in this data dir */
    long fsize_limit; /* RLIMIT_FSIZE for kobled in bytes (a "full disk"); 0: none */
    bool no_wait;     /* spawn returns once kobled listens, before it is ready */
    char dir[64];     /* temporary data dir, removed by kt_daemon_stop */
    char log[96];     /* this run's stderr */
} kt_daemon_t;

typedef struct kt_resp {
    int status;
    char *raw;    /* the whole response, headers included */
    char *body;   /* points into raw */
    json_t *json; /* parsed body, or NULL */
} kt_resp_t;

/* Starts build/kobled (or $KOBLED) with extra args (NULL-terminated list). */
int kt_daemon_start(kt_daemon_t *d, const char *const *extra_args);
/* Starts kobled again in d's data dir (after kt_daemon_kill, or when the
 * previous start failed); -1 if it exits before listening. */
int kt_daemon_spawn(kt_daemon_t *d, const char *const *extra_args);
/* SIGTERM and wait, keeping the data dir: a clean stop. Exit status, or
 * -1 if killed by a signal. */
int kt_daemon_term(kt_daemon_t *d);
/* SIGKILL and wait, keeping the data dir: a crash. 0 if it was killed. */
int kt_daemon_kill(kt_daemon_t *d);
/* The path of the journal kobled appends to (the newest journal-*.kbj in
 * the data dir) into out; -1 if there is none. */
int kt_daemon_journal(const kt_daemon_t *d, char *out, size_t cap);
/* This run's log (malloc'd, NUL-terminated). */
char *kt_daemon_log(const kt_daemon_t *d);
/* SIGTERM and wait, then remove the data dir; returns the exit status (or
 * -1 if killed by a signal). */
int kt_daemon_stop(kt_daemon_t *d);

/* One request on a fresh connection; body may be NULL. */
kt_resp_t kt_http(const kt_daemon_t *d, const char *method, const char *path, const char *body);
/* The same with "Authorization: Bearer <token>" (token may be NULL). */
kt_resp_t kt_http_as(const kt_daemon_t *d, const char *token, const char *method, const char *path,
                     const char *body);
void kt_resp_free(kt_resp_t *r);
/* Sends raw bytes on a fresh connection and reads until the server closes
 * it (or 10 s pass). Returns a malloc'd NUL-terminated string. */
char *kt_raw(const kt_daemon_t *d, const char *bytes, size_t len);
/* Everything the server sends on fd until it closes it, or until nothing
 * comes for timeout_ms (a bound, not a timing assertion); malloc'd,
 * NUL-terminated. fd stays open. */
char *kt_read_all(int fd, int timeout_ms);
/* Connects and returns the socket (for tests that hold a connection). */
int kt_connect(const kt_daemon_t *d);

/* A real redis-server of the test's own on a free loopback port, with no
 * persistence: stopping it and starting it again on the same port is
 * "Redis restarted empty". */
typedef struct kt_redis {
    pid_t pid;
    int port;
    const char *password; /* --requirepass, set before kt_redis_start; NULL: none */
} kt_redis_t;

/* Starts redis-server (port 0: pick a free one) and waits until it answers
 * PING (bounded: 10 s). */
int kt_redis_start(kt_redis_t *r, int port);
int kt_redis_stop(kt_redis_t *r);
/* "127.0.0.1:PORT" for kobled's --redis. */
void kt_redis_addr(const kt_redis_t *r, char *out, size_t cap);
/* One command (hiredis format) on a fresh connection; the reply is freed
 * with freeReplyObject, NULL on a transport error. */
void *kt_redis_cmd(const kt_redis_t *r, const char *fmt, ...);
/* XLEN of key, -1 on error. */
long long kt_redis_xlen(const kt_redis_t *r, const char *key);

/* Shorthands that fail the test on a transport error. */
json_t *kt_json_path(json_t *root, const char *path); /* "matches.0.candidate.id" */

#endif
