/* kobled.c — the daemon: configuration, one libuv loop, the HTTP server
 * and the engine, the journal, and an orderly exit.
 *
 * Start-up opens the listener, then recovers the state in the data
 * directory (durable.h) on libuv's thread pool while every request is
 * answered 503 "starting". From then on every write is journaled before it
 * is applied, and answered once its record is synced (commit.h).
 *
 * SIGTERM or SIGINT closes the listener, lets in-flight requests finish,
 * closes the remaining connections, writes a snapshot and exits 0. A
 * second signal exits at once (an operator who presses ^C twice means it);
 * nothing acknowledged is lost by that either. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <uv.h>

#include "api.h"
#include "auth.h"
#include "config.h"
#include "durable.h"
#include "http.h"
#include "koble/engine.h"
#include "log.h"
#include "metrics.h"
#include "publish.h"

typedef struct daemon {
    uv_loop_t *loop;
    uv_signal_t sigterm, sigint, sighup;
    /* The loop thread's log lines (the access log: a line per request)
     * are held for the whole run and written together: LOG_FLUSH_MS after
     * the first of them (log_check starts log_flush), when 16 KiB wait, or
     * at once with a warning or error (log.h). */
    uv_check_t log_check;
    uv_timer_t log_flush;
    kb_auth_t auth;
    const char *config_path; /* "" without --config: nothing to reload */
    kb_http_server_t *http;
    kb_durable_t *durable;
    kb_publish_t *publish; /* NULL with --redis none */
    bool stopping;
    bool recovering; /* the journal is replayed on the thread pool */
    uv_timer_t tidy; /* lays out index cells that writes left partly laid out */
} daemon_t;

static void close_handle(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

/* One daemon per process: the drain callback finds it here. */
static daemon_t *the_daemon;

static void on_drained(kb_http_server_t *s) {
    (void)s;
    daemon_t *d = the_daemon;
    if (d->publish) {
        kb_publish_close(d->publish); /* its last confirmations are journaled */
        d->publish = NULL;
    }
    if (d->durable) {
        kb_durable_close(d->durable); /* logs its own errors */
        d->durable = NULL;
    }
    kb_log(KB_LOG_INFO, "stopped", "reason=signal");
    /* Everything left (signal handlers) closes so uv_run returns. */
    uv_walk(d->loop, close_handle, NULL);
}

/* How long an info line may wait to be written. A write per loop
 * iteration, as before, was 0.4 write(2)s per Copenhagen match request at
 * 1M with 4 connections, and kobled without an access log answered 2-5%
 * more of them (bench/README). nginx's access_log buffer= and flush= make
 * the same trade. A crash loses at most this much of the access log. */
#define LOG_FLUSH_MS 100

static void on_log_flush(uv_timer_t *h) {
    (void)h;
    kb_log_flush();
}

/* After each poll: lines are waiting, so they are written soon. */
static void on_log_check(uv_check_t *h) {
    daemon_t *d = h->data;
    if (kb_log_waiting() && !uv_is_active((uv_handle_t *)&d->log_flush))
        uv_timer_start(&d->log_flush, on_log_flush, LOG_FLUSH_MS, 0);
}

static void on_signal(uv_signal_t *h, int signum) {
    daemon_t *d = h->data;
    if (d->stopping) {
        kb_log(KB_LOG_WARN, "exit", "reason=second_signal");
        exit(1);
    }
    d->stopping = true;
    kb_log(KB_LOG_INFO, "stopping", "signal=%s", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    if (d->recovering) {
        /* Nothing was accepted yet in this run, so nothing can be lost. */
        kb_log(KB_LOG_INFO, "stopped", "reason=signal_during_recovery");
        kb_log_flush(); /* exit() skips the release after uv_run */
        exit(0);
    }
    uv_timer_stop(&d->tidy); /* started when recovery ended */
    kb_http_shutdown(d->http, on_drained);
}

/* SIGHUP reloads the tokens from the config file; everything else in it
 * needs a restart. A file that fails to parse, or that would take every
 * token away (and so open an API that may listen beyond loopback), leaves
 * the old tokens in place. */
static void on_sighup(uv_signal_t *h, int signum) {
    (void)signum;
    daemon_t *d = h->data;
    char err[512];
    kb_auth_t next = {0};
    if (!d->config_path[0]) {
        kb_log(KB_LOG_WARN, "reload", "msg=\"no --config file to reload\"");
        return;
    }
    if (kb_auth_load_file(&next, d->config_path, err, sizeof err) < 0) {
        kb_log(KB_LOG_ERROR, "reload", "error=\"%s\" action=kept_old_tokens", err);
        return;
    }
    if (d->auth.n && !next.n) {
        kb_log(KB_LOG_ERROR, "reload",
               "error=\"the new configuration has no tokens; restart to run open\" "
               "action=kept_old_tokens");
        return;
    }
    kb_auth_replace(&d->auth, &next);
    kb_log(KB_LOG_INFO, "reload", "tokens=%zu", d->auth.n);
}

/* kobled --hash-token [-]: a new random token and its hash, or the hash
 * of one read from stdin. The token goes only to stdout, for the operator
 * to hand over; the config file gets the hash. */
static int hash_token(bool from_stdin) {
    char tok[512], hex[65];
    if (from_stdin) {
        if (!fgets(tok, sizeof tok, stdin)) {
            fputs("kobled: --hash-token -: no token on stdin\n", stderr);
            return 2;
        }
        tok[strcspn(tok, "\r\n")] = '\0';
        if (!tok[0]) {
            fputs("kobled: --hash-token -: the token is empty\n", stderr);
            return 2;
        }
    } else {
        kb_auth_new_token(tok);
        printf("token:  %s\n", tok);
    }
    kb_auth_hash_hex(tok, strlen(tok), hex);
    printf("sha256: %s\n", hex);
    return 0;
}

/* A failed fsync: what is on disk is unknown, so stop; a restart
 * recovers exactly the durable state. The waiting writes got 503s. */
static void on_sync_failed(void *arg, int err) {
    (void)arg;
    kb_log(KB_LOG_ERROR, "journal_sync", "error=\"%s\" action=exit", strerror(err > 0 ? err : EIO));
    exit(1);
}

/* ---- Redis: the durable layer's outbox to the publisher, and back ---- */

static void events_queued(void *ctx) { kb_publish_kick(ctx); }

static void records_durable(void *ctx, uint64_t seq) { kb_publish_durable(ctx, seq); }

static void events_confirmed(void *ctx, kb_event_id_t upto) { kb_durable_ack(ctx, upto); }

static int start_publishing(daemon_t *d, const kb_config_t *cfg) {
    /* The password may come from the environment rather than a file. */
    const char *password =
        cfg->redis_password[0] ? cfg->redis_password : getenv("KOBLE_REDIS_PASSWORD");
    kb_publish_opts_t po = {.host = cfg->redis_host,
                            .port = cfg->redis_port,
                            .user = cfg->redis_user[0] ? cfg->redis_user : NULL,
                            .password = password && *password ? password : NULL,
                            .db = cfg->redis_db,
                            .maxlen = cfg->redis_maxlen};
    kb_outbox_t *box = kb_durable_outbox(d->durable);
    if (kb_publish_new(d->loop, &po, box, events_confirmed, d->durable, &d->publish) < 0) {
        kb_log(KB_LOG_ERROR, "init", "error=\"out of memory\"");
        return KB_ENOMEM;
    }
    kb_durable_listener_t l = {events_queued, records_durable, d->publish};
    kb_durable_listen(d->durable, &l);
    /* What recovery found on disk may leave at once. */
    kb_publish_durable(d->publish, kb_commit_written(kb_durable_commit(d->durable)));
    kb_log(KB_LOG_INFO, "publishing", "redis=%s:%d prefix=\"%s\" waiting=%zu", cfg->redis_host,
           cfg->redis_port, cfg->redis_prefix, box->n);
    return 0;
}

/* The add path lays an index cell out again only once a quarter of its
 * members are new (engine/index.h); the rest is done here, a cell at a
 * time until a millisecond has passed (one of 10,000 members takes 2.5
 * ms), so that requests wait little for it: every 10 ms while there is
 * some, else once a second. After a load of 1M volunteers that is about
 * 0.1 s of work. */
#define TIDY_BUDGET_NS (1000 * 1000)
#define TIDY_BUSY_MS   10
#define TIDY_IDLE_MS   1000

static void on_tidy(uv_timer_t *t) {
    const kb_api_t *api = t->data;
    uint64_t until = uv_hrtime() + TIDY_BUDGET_NS;
    uint32_t done = 0, n;
    while (uv_hrtime() < until && (n = kb_engine_tidy(api->engine, 1)) > 0) done += n;
    uv_timer_set_repeat(t, done ? TIDY_BUSY_MS : TIDY_IDLE_MS);
}

/* ---- start-up: recovery off the loop, then everything that needs it ---- */

typedef struct recovery {
    uv_work_t work;
    daemon_t *d;
    kb_api_t *api;
    const kb_config_t *cfg;
    kb_engine_opts_t eo;
    kb_durable_opts_t opts;
    int rc;
    kb_durable_t *durable;
    kb_engine_t *engine;
} recovery_t;

/* On a worker thread: nothing else touches the engine or the data
 * directory until recover_done, since the API answers 503 meanwhile. */
static void recover_work(uv_work_t *w) {
    recovery_t *r = w->data;
    r->rc = kb_durable_recover(&r->opts, &r->eo, &r->durable, &r->engine);
}

static void recover_done(uv_work_t *w, int status) {
    recovery_t *r = w->data;
    daemon_t *d = r->d;
    d->recovering = false;
    if (status < 0 || r->rc < 0) {
        kb_log(KB_LOG_ERROR, "exit", "reason=recovery_failed");
        exit(1);
    }
    if (kb_durable_attach(r->durable, d->loop, on_sync_failed) < 0) {
        kb_log(KB_LOG_ERROR, "exit", "reason=out_of_memory");
        exit(1);
    }
    d->durable = r->durable;
    if (r->cfg->redis_enabled && start_publishing(d, r->cfg) < 0) exit(1);
    r->api->engine = r->engine;
    r->api->commit = kb_durable_commit(d->durable);
    r->api->durable = d->durable;
    r->api->publish = d->publish;
    r->api->ready = true;
    uv_timer_init(d->loop, &d->tidy);
    d->tidy.data = r->api;
    uv_timer_start(&d->tidy, on_tidy, TIDY_BUSY_MS, TIDY_BUSY_MS);
    kb_log(KB_LOG_INFO, "ready", "data_dir=\"%s\"", r->opts.dir);
}

/* Without access control (DESIGN.md "Security") kobled listens on
 * loopback only, whatever it was asked. */
static bool is_loopback(const char *host) {
    return !strncmp(host, "127.", 4) || !strcmp(host, "::1") || !strcmp(host, "localhost");
}

int main(int argc, char **argv) {
    kb_config_t cfg;
    char err[512];
    if (kb_auth_init() < 0) {
        fputs("kobled: libsodium failed to initialise\n", stderr);
        return 1;
    }
    if (argc >= 2 && !strcmp(argv[1], "--hash-token")) {
        if (argc > 3 || (argc == 3 && strcmp(argv[2], "-"))) {
            fputs(kb_config_usage(), stderr);
            return 2;
        }
        return hash_token(argc == 3);
    }
    kb_config_default(&cfg);
    int rc = kb_config_parse_args(&cfg, argc, argv, err, sizeof err);
    if (rc == KB_CONFIG_HELP) {
        fputs(kb_config_usage(), stdout);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "kobled: %s\n%s", err, kb_config_usage());
        return 2;
    }
    kb_log_set_level(kb_log_level_parse(cfg.log_level));
    signal(SIGPIPE, SIG_IGN);
    /* A file size limit makes appends fail with EFBIG, answered as 503s. */
    signal(SIGXFSZ, SIG_IGN);

    kb_engine_opts_t eo;
    kb_engine_opts_default(&eo);
    memcpy(eo.weights, cfg.weights, sizeof eo.weights);
    eo.max_json_depth = cfg.max_json_depth;
    daemon_t d = {.loop = uv_default_loop(), .config_path = cfg.config_path};
    if (cfg.config_path[0] && kb_auth_load_file(&d.auth, cfg.config_path, err, sizeof err) < 0) {
        fprintf(stderr, "kobled: %s\n", err);
        return 2;
    }
    d.auth.rate = cfg.rate_per_token;
    d.auth.burst = cfg.rate_burst;
    kb_api_t api = {
        .loop = d.loop, .metrics = kb_metrics_new(), .access_log = true, .auth = &d.auth};
    recovery_t rec = {.d = &d,
                      .api = &api,
                      .cfg = &cfg,
                      .eo = eo,
                      .opts = {.dir = cfg.data_dir,
                               .fsync = cfg.fsync,
                               .snapshot_bytes = cfg.snapshot_bytes,
                               .stream_prefix = cfg.redis_enabled ? cfg.redis_prefix : NULL}};
    kb_http_limits_t limits;
    kb_http_limits_default(&limits);
    limits.max_header_bytes = cfg.max_header_bytes;
    limits.max_body_bytes = cfg.max_body_bytes;
    limits.max_connections = cfg.max_connections;
    limits.idle_timeout_ms = cfg.idle_timeout_ms;
    limits.max_pipeline = cfg.max_pipeline;
    if (!api.metrics || kb_http_server_init(d.loop, &d.http, &limits, kb_api_handle, &api) < 0) {
        kb_log(KB_LOG_ERROR, "init", "error=\"out of memory\"");
        return 1;
    }
    the_daemon = &d;
    api.http = d.http;

    const char *host = cfg.listen_host;
    if (d.auth.n) {
        kb_log(KB_LOG_INFO, "access_control", "tokens=%zu rate_per_token=%.0f burst=%.0f", d.auth.n,
               cfg.rate_per_token, cfg.rate_burst);
    } else if (cfg.allow_open_network) {
        kb_log(KB_LOG_WARN, "open_mode",
               "msg=\"no tokens are configured and --allow-open-network is given: anyone who "
               "reaches %s may read and change everything\"",
               host);
    } else if (!is_loopback(host)) {
        const char *lo = strchr(host, ':') ? "::1" : "127.0.0.1";
        kb_log(KB_LOG_WARN, "open_mode",
               "msg=\"no tokens are configured: listening on %s, not %s (configure tokens, or "
               "give --allow-open-network)\"",
               lo, host);
        host = lo;
    } else {
        kb_log(KB_LOG_WARN, "open_mode", "msg=\"no tokens are configured: loopback only\"");
    }
    if ((rc = kb_http_listen(d.http, host, cfg.listen_port)) < 0) {
        kb_log(KB_LOG_ERROR, "listen", "addr=%s:%d error=\"%s\"", host, cfg.listen_port,
               uv_strerror(rc));
        return 1;
    }
    /* Listening at once: until recovery is done every request is answered
     * 503 "starting", so orchestrators see a live, not yet ready, process. */
    kb_log(KB_LOG_INFO, "listening", "addr=%s:%d", host, kb_http_port(d.http));
    rec.work.data = &rec;
    d.recovering = true;
    if ((rc = uv_queue_work(d.loop, &rec.work, recover_work, recover_done)) < 0) {
        kb_log(KB_LOG_ERROR, "recovery", "error=\"%s\"", uv_strerror(rc));
        return 1;
    }

    uv_signal_init(d.loop, &d.sigterm);
    uv_signal_init(d.loop, &d.sigint);
    uv_signal_init(d.loop, &d.sighup);
    d.sigterm.data = d.sigint.data = d.sighup.data = &d;
    uv_signal_start(&d.sigterm, on_signal, SIGTERM);
    uv_signal_start(&d.sigint, on_signal, SIGINT);
    uv_signal_start(&d.sighup, on_sighup, SIGHUP);

    /* Neither keeps the loop running: the lines left are written below. */
    uv_check_init(d.loop, &d.log_check);
    uv_timer_init(d.loop, &d.log_flush);
    d.log_check.data = &d;
    uv_check_start(&d.log_check, on_log_check);
    uv_unref((uv_handle_t *)&d.log_check);
    uv_unref((uv_handle_t *)&d.log_flush);
    kb_log_hold();

    uv_run(d.loop, UV_RUN_DEFAULT);
    kb_log_release();

    kb_http_server_free(d.http);
    kb_metrics_free(api.metrics);
    kb_engine_free(api.engine);
    kb_auth_free(&d.auth);
    uv_loop_close(d.loop);
    return 0;
}
