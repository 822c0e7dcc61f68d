/* kobled.c — the daemon: configuration, one libuv loop, the HTTP server
 * and the engine, the journal, and an orderly exit.
 *
 * Start-up replays the journal in the data directory into the engine
 * (cutting a torn tail) before the listener opens. From then on every
 * write is journaled before it is applied, and answered once its record
 * is synced (commit.h).
 *
 * SIGTERM or SIGINT closes the listener, lets in-flight requests finish,
 * closes the remaining connections, syncs the journal and exits 0. A
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
#include "commit.h"
#include "config.h"
#include "fault.h"
#include "http.h"
#include "journal.h"
#include "koble/engine.h"
#include "log.h"
#include "metrics.h"

typedef struct daemon {
    uv_loop_t *loop;
    uv_signal_t sigterm, sigint;
    kb_http_server_t *http;
    kb_commit_t *commit;
    bool stopping;
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
    if (d->commit) {
        if (kb_commit_flush(d->commit) < 0)
            kb_log(KB_LOG_ERROR, "journal_sync", "error=\"%s\"", strerror(errno));
        kb_commit_close(d->commit);
        d->commit = NULL;
    }
    kb_log(KB_LOG_INFO, "stopped", "reason=signal");
    /* Everything left (signal handlers) closes so uv_run returns. */
    uv_walk(d->loop, close_handle, NULL);
}

static void on_signal(uv_signal_t *h, int signum) {
    daemon_t *d = h->data;
    if (d->stopping) {
        kb_log(KB_LOG_WARN, "exit", "reason=second_signal");
        exit(1);
    }
    d->stopping = true;
    kb_log(KB_LOG_INFO, "stopping", "signal=%s", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    kb_http_shutdown(d->http, on_drained);
}

/* The engine's journal hook: one record per write, appended now. */
static int journal_op(void *ctx, const json_t *op) {
    char *text = json_dumps(op, JSON_COMPACT);
    if (!text) return KB_ENOMEM;
    int rc = kb_commit_append(ctx, text, (uint32_t)strlen(text));
    if (rc < 0) kb_log(KB_LOG_ERROR, "journal_append", "error=\"%s\"", strerror(errno));
    free(text);
    return rc;
}

/* A failed fsync: what is on disk is unknown, so stop; a restart
 * recovers exactly the durable state. The waiting writes got 503s. */
static void on_sync_failed(void *arg, int err) {
    (void)arg;
    kb_log(KB_LOG_ERROR, "journal_sync", "error=\"%s\" action=exit",
           strerror(err > 0 ? err : EIO));
    exit(1);
}

typedef struct replay {
    kb_engine_t *engine;
    uint64_t failed_seq;
    kb_fault_t fault;
} replay_t;

static int replay_record(void *ctx, const kb_jrec_t *rec) {
    replay_t *r = ctx;
    json_t *op = rec->kind == KB_JREC_OP ? json_loadb((const char *)rec->payload, rec->len, 0, NULL)
                                         : NULL;
    int rc = op ? kb_engine_apply(r->engine, op, &r->fault)
                : kb_fault(&r->fault, KB_ECORRUPT, 500, "bad_journal_record", NULL,
                           "the record is not a JSON write");
    json_decref(op);
    if (rc < 0) r->failed_seq = rec->seq;
    return rc;
}

/* Replays data_dir/journal.kbj into the engine and opens it for appends. */
static int recover(const kb_config_t *cfg, kb_engine_t *engine, kb_journal_t *j) {
    if (mkdir(cfg->data_dir, 0700) < 0 && errno != EEXIST) {
        kb_log(KB_LOG_ERROR, "recovery", "dir=\"%s\" error=\"%s\"", cfg->data_dir, strerror(errno));
        return KB_EIO;
    }
    char path[sizeof cfg->data_dir + 16];
    snprintf(path, sizeof path, "%s/journal.kbj", cfg->data_dir);
    uint64_t t0 = uv_hrtime();
    replay_t r = {.engine = engine};
    kb_journal_scan_t scan;
    int rc = kb_journal_open(j, path, 0, replay_record, &r, &scan);
    if (rc < 0) {
        if (r.failed_seq)
            kb_log(KB_LOG_ERROR, "recovery", "file=\"%s\" seq=%llu error=\"%s\"", path,
                   (unsigned long long)r.failed_seq, r.fault.message);
        else
            kb_log(KB_LOG_ERROR, "recovery", "file=\"%s\" error=\"%s%s%s\"", path, kb_strerror(rc),
                   rc == KB_EIO ? ": " : "", rc == KB_EIO ? strerror(errno) : "");
        return rc;
    }
    if (scan.cut_bytes)
        kb_log(KB_LOG_WARN, "journal_tail_cut", "file=\"%s\" bytes=%llu", path,
               (unsigned long long)scan.cut_bytes);
    kb_log(KB_LOG_INFO, "recovered", "records=%llu last_seq=%llu ms=%.1f",
           (unsigned long long)scan.replayed, (unsigned long long)j->last_seq,
           (double)(uv_hrtime() - t0) / 1e6);
    return 0;
}

/* Without access control (DESIGN.md "Security") kobled listens on
 * loopback only, whatever it was asked. */
static bool is_loopback(const char *host) {
    return !strncmp(host, "127.", 4) || !strcmp(host, "::1") || !strcmp(host, "localhost");
}

int main(int argc, char **argv) {
    kb_config_t cfg;
    char err[256];
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
    kb_engine_t *engine;
    if ((rc = kb_engine_new(&eo, &engine)) < 0) {
        kb_log(KB_LOG_ERROR, "engine", "error=\"%s\"", kb_strerror(rc));
        return 1;
    }

    daemon_t d = {.loop = uv_default_loop()};
    kb_journal_t journal = {.fd = -1};
    if (recover(&cfg, engine, &journal) < 0) return 1;
    if (kb_commit_new(d.loop, &journal, cfg.fsync, on_sync_failed, NULL, &d.commit) < 0) {
        kb_log(KB_LOG_ERROR, "init", "error=\"out of memory\"");
        return 1;
    }
    kb_engine_set_journal(engine, journal_op, d.commit);
    kb_api_t api = {.engine = engine, .metrics = kb_metrics_new(), .access_log = true,
                    .commit = d.commit};
    kb_http_limits_t limits;
    kb_http_limits_default(&limits);
    limits.max_header_bytes = cfg.max_header_bytes;
    limits.max_body_bytes = cfg.max_body_bytes;
    limits.max_connections = cfg.max_connections;
    limits.idle_timeout_ms = cfg.idle_timeout_ms;
    if (!api.metrics || kb_http_server_init(d.loop, &d.http, &limits, kb_api_handle, &api) < 0) {
        kb_log(KB_LOG_ERROR, "init", "error=\"out of memory\"");
        return 1;
    }
    the_daemon = &d;
    api.http = d.http;

    const char *host = cfg.listen_host;
    if (!is_loopback(host)) {
        kb_log(KB_LOG_WARN, "open_mode",
               "msg=\"no access control is configured: listening on 127.0.0.1, not %s\"", host);
        host = "127.0.0.1";
    } else {
        kb_log(KB_LOG_WARN, "open_mode", "msg=\"no access control is configured: loopback only\"");
    }
    if ((rc = kb_http_listen(d.http, host, cfg.listen_port)) < 0) {
        kb_log(KB_LOG_ERROR, "listen", "addr=%s:%d error=\"%s\"", host, cfg.listen_port,
               uv_strerror(rc));
        return 1;
    }
    /* Recovery is done before the listener opens. */
    api.ready = true;
    kb_log(KB_LOG_INFO, "listening", "addr=%s:%d", host, kb_http_port(d.http));

    uv_signal_init(d.loop, &d.sigterm);
    uv_signal_init(d.loop, &d.sigint);
    d.sigterm.data = d.sigint.data = &d;
    uv_signal_start(&d.sigterm, on_signal, SIGTERM);
    uv_signal_start(&d.sigint, on_signal, SIGINT);

    uv_run(d.loop, UV_RUN_DEFAULT);

    kb_http_server_free(d.http);
    kb_journal_close(&journal);
    kb_metrics_free(api.metrics);
    kb_engine_free(engine);
    uv_loop_close(d.loop);
    return 0;
}
