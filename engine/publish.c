/* publish.c — see publish.h. */
#include "publish.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/adapters/libuv.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "koble/error.h"
#include "log.h"

#define WINDOW         512 /* XADDs in flight */
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define CONFIRM_EVERY  256  /* the owner hears of confirmations at least this often */
#define STALL_MS       3000 /* no connection, or no reply to what is in flight, for this long */

struct kb_publish {
    uv_loop_t *loop;
    kb_outbox_t *box;
    char *host, *user, *password;
    int port, db;
    long maxlen;
    char maxlen_text[24];
    redisAsyncContext *ac; /* NULL while disconnected */
    bool ready;            /* connected, authenticated, database selected */
    bool warned;           /* about a refused id, on this connection */
    bool closing;
    uint64_t durable_seq; /* events of later records wait */
    size_t inflight;      /* the first inflight events of the outbox are sent */
    unsigned backoff_ms;
    uv_timer_t retry;
    uv_timer_t watch; /* once a second: a connection that hangs is dropped */
    int open_handles;
    uv_getaddrinfo_t resolve;
    bool resolving;      /* a lookup of host runs on the thread pool */
    uint64_t since_ns;   /* connect started, or the last reply came */
    uint64_t unreported; /* confirmations the owner has not heard of */
    kb_publish_confirm_fn on_confirm;
    void *ctx;
    kb_publish_stats_t stats;
};

static void connect_now(kb_publish_t *p);

/* Drops the connection at once (without its callbacks) and tries again
 * later. hiredis 0.14's libuv adapter ignores a poll error (libuv reports
 * a refused or reset connection that way), so a link can hang without
 * hiredis noticing: the watch timer below calls this then. */
static void drop(kb_publish_t *p, const char *why) {
    redisAsyncContext *ac = p->ac;
    p->ac = NULL;
    p->ready = false;
    p->inflight = 0;
    p->stats.connected = false;
    if (ac) {
        ac->data = NULL;
        redisAsyncFree(ac);
    }
    kb_log(KB_LOG_WARN, "redis_unavailable", "addr=%s:%d error=\"%s\" retry_ms=%u", p->host,
           p->port, why, p->backoff_ms);
}

static void retry_cb(uv_timer_t *t) { connect_now(t->data); }

static void schedule_retry(kb_publish_t *p) {
    if (p->closing) return;
    uv_timer_start(&p->retry, retry_cb, p->backoff_ms, 0);
    p->backoff_ms = p->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : p->backoff_ms * 2;
}

static void report(kb_publish_t *p) {
    if (p->unreported && p->on_confirm) p->on_confirm(p->ctx, p->box->confirmed);
    p->unreported = 0;
}

/* The owner hears at the end of every burst (nothing left in flight), and
 * every CONFIRM_EVERY events within a long one. */
static void confirmed(kb_publish_t *p, bool duplicate) {
    kb_outbox_confirm(p->box);
    p->inflight--;
    if (duplicate) p->stats.duplicates++;
    else p->stats.published++;
    if (++p->unreported >= CONFIRM_EVERY) report(p);
}

/* The reply to one XADD; replies come in the order the commands went. */
static void on_xadd(redisAsyncContext *ac, void *r, void *priv) {
    (void)priv;
    kb_publish_t *p = ac->data;
    redisReply *reply = r;
    if (!reply || !p || p->closing || ac != p->ac || !p->inflight) return; /* a torn-down link */
    p->since_ns = uv_hrtime();
    /* An error saying the id is not above the stream's top means it was
     * sent before and taken, unless the stream holds entries this data
     * directory did not write (an old stream, a new data dir): say so,
     * once per connection, since those events are then skipped. */
    bool taken = reply->type != REDIS_REPLY_ERROR;
    if (taken || strstr(reply->str, "equal or smaller")) {
        if (!taken && !p->warned) {
            const kb_event_t *e = kb_outbox_at(p->box, 0);
            kb_log(KB_LOG_WARN, "redis_id_taken",
                   "stream=\"%s\" id=%" PRIu64 "-%" PRIu32
                   " msg=\"taken as sent before; if the stream was not written from this data "
                   "directory, events are being skipped: use a new redis_prefix\"",
                   e->stream, e->id.seq, e->id.n);
            p->warned = true;
        }
        confirmed(p, !taken);
        kb_publish_kick(p);
        if (!p->inflight) report(p);
        return;
    }
    p->stats.errors++;
    kb_log(KB_LOG_ERROR, "redis_xadd", "error=\"%.200s\" action=reconnect", reply->str);
    redisAsyncDisconnect(ac);
}

/* AUTH and SELECT answer before any XADD (they were sent first). */
static void on_setup(redisAsyncContext *ac, void *r, void *priv) {
    kb_publish_t *p = ac->data;
    redisReply *reply = r;
    if (!reply || !p || p->closing || ac != p->ac) return;
    if (reply->type == REDIS_REPLY_ERROR) {
        p->stats.errors++;
        kb_log(KB_LOG_ERROR, "redis_setup", "step=%s error=\"%.200s\" action=reconnect",
               (const char *)priv, reply->str);
        redisAsyncDisconnect(ac);
        return;
    }
    if (!strcmp(priv, "select") || (!strcmp(priv, "auth") && p->db == 0)) {
        p->ready = true;
        p->backoff_ms = BACKOFF_MIN_MS;
        p->stats.connected = true;
        kb_log(KB_LOG_INFO, "redis_connected", "addr=%s:%d waiting=%zu", p->host, p->port,
               p->box->n);
        kb_publish_kick(p);
    }
}

static void send_setup(kb_publish_t *p) {
    if (p->password) {
        const char *argv[3] = {"AUTH", p->user ? p->user : p->password, p->password};
        redisAsyncCommandArgv(p->ac, on_setup, "auth", p->user ? 3 : 2, argv, NULL);
    }
    if (p->db) {
        char db[16];
        snprintf(db, sizeof db, "%d", p->db);
        const char *argv[2] = {"SELECT", db};
        redisAsyncCommandArgv(p->ac, on_setup, "select", 2, argv, NULL);
    }
    if (!p->password && !p->db) {
        p->ready = true;
        p->backoff_ms = BACKOFF_MIN_MS;
        p->stats.connected = true;
        kb_log(KB_LOG_INFO, "redis_connected", "addr=%s:%d waiting=%zu", p->host, p->port,
               p->box->n);
        kb_publish_kick(p);
    }
}

static void on_connect(const redisAsyncContext *ac, int status) {
    kb_publish_t *p = ac->data;
    if (!p || ac != p->ac) return;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback. */
        kb_log(KB_LOG_WARN, "redis_unavailable", "addr=%s:%d error=\"%s\" retry_ms=%u", p->host,
               p->port, ac->errstr, p->backoff_ms);
        p->ac = NULL;
        schedule_retry(p);
        return;
    }
    send_setup(p);
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
    (void)status;
    kb_publish_t *p = ac->data;
    if (!p || ac != p->ac) return;
    p->ac = NULL;
    p->ready = false;
    p->inflight = 0; /* what was not confirmed goes again */
    p->stats.connected = false;
    if (p->closing) return;
    p->stats.reconnects++;
    kb_log(KB_LOG_WARN, "redis_disconnected", "addr=%s:%d retry_ms=%u", p->host, p->port,
           p->backoff_ms);
    schedule_retry(p);
}

/* Connects to an address already resolved (hiredis 0.14 would resolve a
 * host name itself, blocking the loop: see connect_now). */
static void connect_ip(kb_publish_t *p, const char *ip) {
    redisAsyncContext *ac = redisAsyncConnect(ip, p->port);
    if (!ac || ac->err) {
        kb_log(KB_LOG_WARN, "redis_unavailable", "addr=%s:%d error=\"%s\"", p->host, p->port,
               ac ? ac->errstr : "out of memory");
        if (ac) redisAsyncFree(ac);
        schedule_retry(p);
        return;
    }
    ac->data = p;
    if (redisLibuvAttach(ac, p->loop) != REDIS_OK) {
        redisAsyncFree(ac);
        schedule_retry(p);
        return;
    }
    p->ac = ac;
    p->warned = false;
    p->since_ns = uv_hrtime();
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
}

static void maybe_free(kb_publish_t *p) {
    if (p->open_handles || p->resolving) return;
    free(p->host);
    free(p->user);
    free(p->password);
    free(p);
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
    kb_publish_t *p = req->data;
    p->resolving = false;
    char ip[64] = "";
    if (status == 0 && res) {
        if (res->ai_family == AF_INET6)
            uv_ip6_name((const struct sockaddr_in6 *)(const void *)res->ai_addr, ip, sizeof ip);
        else uv_ip4_name((const struct sockaddr_in *)(const void *)res->ai_addr, ip, sizeof ip);
    }
    if (res) uv_freeaddrinfo(res);
    if (p->closing) {
        maybe_free(p);
        return;
    }
    if (!ip[0]) {
        kb_log(KB_LOG_WARN, "redis_unavailable", "addr=%s:%d error=\"%s\" retry_ms=%u", p->host,
               p->port, status ? uv_strerror(status) : "no address", p->backoff_ms);
        schedule_retry(p);
        return;
    }
    connect_ip(p, ip);
}

/* The name is resolved on libuv's thread pool: a slow or failing DNS must
 * not stop the loop that answers the API. */
static void connect_now(kb_publish_t *p) {
    if (p->closing || p->ac || p->resolving) return;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    p->resolve.data = p;
    if (uv_getaddrinfo(p->loop, &p->resolve, on_resolved, p->host, NULL, &hints) < 0) {
        schedule_retry(p);
        return;
    }
    p->resolving = true;
}

static void watch_cb(uv_timer_t *t) {
    kb_publish_t *p = t->data;
    bool waiting = p->ac && (!p->ready || p->inflight);
    if (!waiting || uv_hrtime() - p->since_ns < (uint64_t)STALL_MS * 1000000) return;
    if (p->ready) p->stats.reconnects++;
    drop(p, p->ready ? "no reply" : "cannot connect");
    schedule_retry(p);
}

void kb_publish_kick(kb_publish_t *p) {
    if (!p->ready || p->closing) return;
    if (!p->inflight) p->since_ns = uv_hrtime(); /* the wait for a reply starts now */
    const kb_event_t *e;
    while (p->inflight < WINDOW && (e = kb_outbox_at(p->box, p->inflight))) {
        if (e->id.seq > p->durable_seq) break; /* its write is not on disk yet */
        char id[48], ts[24];
        snprintf(id, sizeof id, "%" PRIu64 "-%" PRIu32, e->id.seq, e->id.n);
        snprintf(ts, sizeof ts, "%" PRId64, e->ts);
        const char *argv[14];
        int argc = 0;
        argv[argc++] = "XADD";
        argv[argc++] = e->stream;
        if (p->maxlen > 0) {
            argv[argc++] = "MAXLEN";
            argv[argc++] = "~";
            argv[argc++] = p->maxlen_text;
        }
        argv[argc++] = id;
        argv[argc++] = "event";
        argv[argc++] = e->event;
        argv[argc++] = "id";
        argv[argc++] = id;
        argv[argc++] = "ts";
        argv[argc++] = ts;
        argv[argc++] = "data";
        argv[argc++] = e->data;
        if (redisAsyncCommandArgv(p->ac, on_xadd, NULL, argc, argv, NULL) != REDIS_OK) break;
        p->inflight++;
    }
    p->stats.inflight = p->inflight;
}

void kb_publish_durable(kb_publish_t *p, uint64_t seq) {
    if (seq > p->durable_seq) p->durable_seq = seq;
    kb_publish_kick(p);
}

int kb_publish_new(uv_loop_t *loop, const kb_publish_opts_t *o, kb_outbox_t *box,
                   kb_publish_confirm_fn on_confirm, void *ctx, kb_publish_t **out) {
    kb_publish_t *p = calloc(1, sizeof *p);
    if (!p) return KB_ENOMEM;
    p->loop = loop;
    p->box = box;
    p->host = strdup(o->host);
    p->user = o->user ? strdup(o->user) : NULL;
    p->password = o->password ? strdup(o->password) : NULL;
    if (!p->host || (o->user && !p->user) || (o->password && !p->password)) {
        free(p->host);
        free(p->user);
        free(p->password);
        free(p);
        return KB_ENOMEM;
    }
    p->port = o->port;
    p->db = o->db;
    p->maxlen = o->maxlen;
    snprintf(p->maxlen_text, sizeof p->maxlen_text, "%ld", o->maxlen);
    p->backoff_ms = BACKOFF_MIN_MS;
    p->on_confirm = on_confirm;
    p->ctx = ctx;
    uv_timer_init(loop, &p->retry);
    uv_timer_init(loop, &p->watch);
    p->retry.data = p->watch.data = p;
    p->open_handles = 2;
    uv_timer_start(&p->watch, watch_cb, 1000, 1000);
    uv_unref((uv_handle_t *)&p->watch);
    connect_now(p);
    *out = p;
    return 0;
}

void kb_publish_stats(const kb_publish_t *p, kb_publish_stats_t *out) { *out = p->stats; }

static void on_closed(uv_handle_t *h) {
    kb_publish_t *p = h->data;
    p->open_handles--;
    maybe_free(p); /* once the handles are closed and no lookup runs */
}

void kb_publish_close(kb_publish_t *p) {
    p->closing = true;
    if (p->resolving) uv_cancel((uv_req_t *)&p->resolve); /* on_resolved frees p then */
    if (p->ac) {
        redisAsyncContext *ac = p->ac;
        p->ac = NULL;
        ac->data = NULL;
        redisAsyncFree(ac);
    }
    p->inflight = 0;
    /* The last confirmations reach the owner before it records its state. */
    report(p);
    uv_close((uv_handle_t *)&p->retry, on_closed);
    uv_close((uv_handle_t *)&p->watch, on_closed);
}
