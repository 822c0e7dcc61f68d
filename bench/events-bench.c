/* events-bench.c — events from kobled to Redis Streams: latency and
 * throughput, against a real kobled and a real redis-server that this
 * program starts on free loopback ports and stops at the end.
 *
 *  1. Latency: one need at a time (PUT over a keep-alive connection); from
 *     the moment the answer is read to the moment the need.created entry
 *     is readable with XREAD BLOCK on another connection.
 *  2. Throughput: with Redis stopped, N writes pile up in the outbox; then
 *     Redis starts and the time until all N entries are in the stream is
 *     the publisher's own rate (pipelined XADDs), not the HTTP rate.
 *
 *   build/bench/events-bench [--latency N] [--backlog N] [--fsync always|everysec|no]
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "servers.h"
#include "timing.h"

static void die(const char *what) {
    fprintf(stderr, "events-bench: %s\n", what);
    exit(1);
}

static pid_t spawn(char *const argv[]) {
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static pid_t start_redis(int port) {
    pid_t pid = kb_bench_start_redis(port, -1);
    if (pid < 0) die("redis-server did not start");
    return pid;
}

static int connect_to(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* One PUT on a keep-alive connection; returns the status. The answers are
 * small and come whole, so reading up to the body's end is enough. */
static int put_need(int fd, int i) {
    char body[256], req[512], buf[4096];
    int blen = snprintf(body, sizeof body,
                        "{\"kind\":\"visit\",\"municipality\":\"0461\",\"person_age\":80,"
                        "\"location\":{\"lat\":55.%04d,\"lon\":10.38}}",
                        i % 10000);
    int rlen = snprintf(req, sizeof req,
                        "PUT /v1/needs/n-%d HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", i,
                        blen, body);
    if (write(fd, req, (size_t)rlen) != rlen) return -1;
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
        if (n <= 0) return -1;
        got += (size_t)n;
        buf[got] = '\0';
        char *end = strstr(buf, "\r\n\r\n"), *cl = strstr(buf, "Content-Length: ");
        if (end && cl && got >= (size_t)(end + 4 - buf) + (size_t)atoi(cl + 16)) break;
    }
    return atoi(buf + 9);
}

static pid_t start_kobled(int port, const char *redis, const char *dir, const char *fsync) {
    char listen[32];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    char *argv[] = {"build/kobled", "--listen",    listen,        "--data-dir",
                    (char *)dir,    "--redis",     (char *)redis, "--fsync",
                    (char *)fsync,  "--log-level", "warn",        NULL};
    pid_t pid = spawn(argv);
    for (int i = 0; i < 500; i++) {
        int fd = connect_to(port);
        if (fd >= 0) {
            close(fd);
            return pid;
        }
        usleep(10000);
    }
    die("kobled did not start");
    return -1;
}

int main(int argc, char **argv) {
    int latency_n = 2000, backlog_n = 100000;
    const char *fsync = "always";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--latency") && i + 1 < argc) latency_n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--backlog") && i + 1 < argc) backlog_n = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--fsync") && i + 1 < argc) fsync = argv[++i];
        else {
            fprintf(stderr, "usage: events-bench [--latency N] [--backlog N] [--fsync P]\n");
            return 2;
        }
    }
    if (latency_n < 10) latency_n = 10;
    signal(SIGPIPE, SIG_IGN);
    char dir[] = "/tmp/koble-events-bench-XXXXXX";
    if (!mkdtemp(dir)) die("mkdtemp");
    int rport = kb_bench_free_port(), kport = kb_bench_free_port();
    if (rport < 0 || kport < 0) die("no free port");
    char redis[32];
    snprintf(redis, sizeof redis, "127.0.0.1:%d", rport);
    printf("koble events benchmark: kobled --fsync %s, redis-server on loopback, both on this "
           "machine\n",
           fsync);

    /* 1. latency */
    pid_t rpid = start_redis(rport), kpid = start_kobled(kport, redis, dir, fsync);
    int fd = connect_to(kport);
    redisContext *rc = redisConnect("127.0.0.1", rport);
    if (fd < 0 || !rc || rc->err) die("cannot connect");
    double *lat = malloc((size_t)latency_n * sizeof *lat);
    char last[64] = "0-0";
    for (int i = 0; i < latency_n; i++) {
        if (put_need(fd, i) != 201) die("PUT failed");
        double t0 = kb_bench_now();
        redisReply *r = redisCommand(rc, "XREAD BLOCK 5000 STREAMS koble:needs %s", last);
        double t1 = kb_bench_now();
        if (!r || r->type != REDIS_REPLY_ARRAY) die("XREAD timed out");
        redisReply *entries = r->element[0]->element[1];
        snprintf(last, sizeof last, "%s", entries->element[entries->elements - 1]->element[0]->str);
        freeReplyObject(r);
        lat[i] = t1 - t0;
    }
    kb_bench_sort(lat, (size_t)latency_n);
    printf("  answer -> entry readable (%d needs, one at a time): p50 %.0f us, p99 %.0f us, "
           "max %.0f us\n",
           latency_n, lat[latency_n / 2] * 1e6, lat[(int)(latency_n * 0.99)] * 1e6,
           lat[latency_n - 1] * 1e6);
    free(lat);
    close(fd);
    redisFree(rc);

    /* 2. throughput: a backlog built while Redis is away, then drained */
    kb_bench_stop(rpid);
    fd = connect_to(kport);
    double w0 = kb_bench_now();
    for (int i = 0; i < backlog_n; i++)
        if (put_need(fd, latency_n + i) != 201) die("PUT failed");
    double write_s = kb_bench_now() - w0;
    close(fd);
    double t0 = kb_bench_now();
    rpid = start_redis(rport);
    rc = redisConnect("127.0.0.1", rport);
    /* Timed from the first entry seen (kobled reconnects with a backoff
     * of up to 5 s) to the last. */
    long long n = 0, first_n = -1;
    double first_t = 0;
    while (n < backlog_n) {
        usleep(1000);
        redisReply *r = redisCommand(rc, "XLEN koble:needs");
        n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
        if (r) freeReplyObject(r);
        if (n > 0 && first_n < 0) {
            first_n = n;
            first_t = kb_bench_now();
        }
        if (kb_bench_now() - t0 > 120) die("the backlog did not drain in 120 s");
    }
    double drain_s = kb_bench_now() - first_t;
    printf("  backlog of %d events (written at %.0f/s over one HTTP connection): %lld more "
           "entries in %.3f s after the first, %.0f events/s\n",
           backlog_n, backlog_n / write_s, backlog_n - first_n, drain_s,
           (double)(backlog_n - first_n) / drain_s);
    redisFree(rc);
    kb_bench_stop(kpid);
    kb_bench_stop(rpid);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "events-bench: could not remove %s\n", dir);
    return 0;
}
