/* kobled.c — the daemon: configuration, one libuv loop, the HTTP server
 * and the engine, and an orderly exit.
 *
 * SIGTERM or SIGINT closes the listener, lets in-flight requests finish,
 * closes the remaining connections and exits 0. A second signal exits at
 * once (an operator who presses ^C twice means it). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "api.h"
#include "config.h"
#include "http.h"
#include "koble/engine.h"
#include "log.h"
#include "metrics.h"

typedef struct daemon {
    uv_loop_t *loop;
    uv_signal_t sigterm, sigint;
    kb_http_server_t *http;
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
    kb_api_t api = {.engine = engine, .metrics = kb_metrics_new(), .access_log = true};
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
    /* Nothing to recover yet (journal: issue 3), so ready at once. */
    api.ready = true;
    kb_log(KB_LOG_INFO, "listening", "addr=%s:%d", host, kb_http_port(d.http));

    uv_signal_init(d.loop, &d.sigterm);
    uv_signal_init(d.loop, &d.sigint);
    d.sigterm.data = d.sigint.data = &d;
    uv_signal_start(&d.sigterm, on_signal, SIGTERM);
    uv_signal_start(&d.sigint, on_signal, SIGINT);

    uv_run(d.loop, UV_RUN_DEFAULT);

    kb_http_server_free(d.http);
    kb_metrics_free(api.metrics);
    kb_engine_free(engine);
    uv_loop_close(d.loop);
    return 0;
}
