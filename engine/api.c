/* api.c — see api.h.
 *
 * Routes (DESIGN.md "Data model", "Matching", "Match lifecycle", "Running"):
 *
 *   GET /healthz, GET /metrics, GET /v1/stats
 *   PUT|GET|DELETE /v1/{volunteers,activities,needs,organisations}/{id}
 *   POST /v1/needs/{id}/close
 *   GET  /v1/needs/{id}/matches?limit=&explain=
 *   GET  /v1/volunteers/{id}/needs?limit=&explain=
 *   POST /v1/match?limit=&explain=          (what-if, nothing stored)
 *   POST /v1/matches, GET /v1/matches/{id}, POST /v1/matches/{id}/{accept,decline,end}
 *
 * Paths are split on '/' into at most four segments; ids are checked by the
 * engine (a malformed id on GET is simply not found). */
#include "api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "access.h"
#include "batch.h"
#include "fault.h"
#include "log.h"
#include "sbuf.h"

#define MAX_SEGS 4

typedef struct call {
    kb_api_t *api;
    kb_http_req_t *req;
    const char *route; /* metric label, e.g. "GET /v1/needs/{id}/matches" */
    char *seg[MAX_SEGS];
    int nseg;
    uint64_t written_before; /* journal records before this request */
    const char *method;      /* HEAD is routed as GET; http.c sends no body for it */
    kb_token_t *who;         /* the caller's token; NULL when kobled runs open */
    char who_name[64];       /* its name for the access log, "-" when open */
    const char *headers;     /* extra header lines for the answer, or NULL */
    char path[512];
} call_t;

/* Appends len bytes of s to the n used of tail's cap, cutting what does
 * not fit. */
static size_t put(char *tail, size_t cap, size_t n, const char *s, size_t len) {
    if (len > cap - n) len = cap - n;
    memcpy(tail + n, s, len);
    return n + len;
}

/* The access line, `route="R" status=S us=U token=T`, written by hand:
 * vsnprintf with its %.0f was most of the cost of a line. nearbyint
 * rounds half to even as %.0f does. */
static void log_access(const char *route, int status, double us, const char *who) {
    char tail[512], num[KB_INT_TEXT], *digits;
    size_t n = put(tail, sizeof tail, 0, "route=\"", 7);
    n = put(tail, sizeof tail, n, route, strlen(route));
    n = put(tail, sizeof tail, n, "\" status=", 9);
    digits = kb_int_text(num, status);
    n = put(tail, sizeof tail, n, digits, (size_t)(num + KB_INT_TEXT - digits));
    n = put(tail, sizeof tail, n, " us=", 4);
    double rounded = nearbyint(us);
    if (rounded >= 0 && rounded < 1e18) {
        digits = kb_int_text(num, (long long)rounded);
        n = put(tail, sizeof tail, n, digits, (size_t)(num + KB_INT_TEXT - digits));
    } else {
        char wide[400];
        int k = snprintf(wide, sizeof wide, "%.0f", us);
        n = put(tail, sizeof tail, n, wide, k > 0 ? (size_t)k : 0);
    }
    n = put(tail, sizeof tail, n, " token=", 7);
    n = put(tail, sizeof tail, n, who, strlen(who));
    kb_log_text(KB_LOG_INFO, "request", tail, n);
}

static void send_answer(kb_api_t *api, kb_http_req_t *req, const char *route, const char *who,
                        const char *headers, int status, const char *ctype, const char *body,
                        size_t len) {
    double secs = (double)(uv_hrtime() - req->start_ns) / 1e9;
    kb_http_respond_headers(req, status, ctype, headers, body, len);
    if (api->metrics) kb_metrics_observe(api->metrics, route, status, secs);
    if (api->access_log) log_access(route, status, secs * 1e6, who);
}

static const char journal_failed[] =
    "{\"error\":{\"code\":\"journal_failed\",\"message\":\"the change could not be made "
    "durable; it may or may not survive a restart\",\"field\":null}}\n";

/* An answer held back until the journal record of its write is on disk. */
typedef struct deferred {
    kb_api_t *api;
    kb_http_req_t *req;
    const char *route, *ctype;
    char who[64]; /* a copy: a SIGHUP may replace the tokens meanwhile */
    int status;
    size_t len;
    char body[];
} deferred_t;

static void on_durable(void *arg, int status) {
    deferred_t *d = arg;
    if (status == 0)
        send_answer(d->api, d->req, d->route, d->who, NULL, d->status, d->ctype, d->body, d->len);
    else
        send_answer(d->api, d->req, d->route, d->who, NULL, 503, "application/json", journal_failed,
                    sizeof journal_failed - 1);
    free(d);
}

/* Answers, or for a request that wrote to the journal, waits for the
 * fsync first: a 2xx means the write is on disk. */
static void finish(call_t *c, int status, const char *ctype, const char *body, size_t len) {
    kb_commit_t *commit = c->api->commit;
    const char *who = c->who_name;
    if (!commit || kb_commit_written(commit) == c->written_before) {
        send_answer(c->api, c->req, c->route, who, c->headers, status, ctype, body, len);
        return;
    }
    deferred_t *d = malloc(sizeof *d + len);
    if (!d) {
        send_answer(c->api, c->req, c->route, who, NULL, 503, "application/json", journal_failed,
                    sizeof journal_failed - 1);
        return;
    }
    *d = (deferred_t){.api = c->api,
                      .req = c->req,
                      .route = c->route,
                      .ctype = ctype,
                      .status = status,
                      .len = len};
    size_t who_len = strnlen(who, sizeof d->who - 1); /* cut to fit, as before */
    memcpy(d->who, who, who_len);
    d->who[who_len] = '\0';
    memcpy(d->body, body, len);
    if (kb_commit_wait(commit, kb_commit_written(commit), on_durable, d) < 0)
        on_durable(d, KB_ENOMEM);
}

/* Answers with a JSON value (stolen). */
static void reply_json(call_t *c, int status, json_t *v) {
    char *text = v ? json_dumps(v, JSON_COMPACT | JSON_REAL_PRECISION(15)) : NULL;
    json_decref(v);
    if (!text) {
        static const char oom[] =
            "{\"error\":{\"code\":\"out_of_memory\",\"message\":\"the server is out of memory\","
            "\"field\":null}}\n";
        finish(c, 503, "application/json", oom, sizeof oom - 1);
        return;
    }
    size_t len = strlen(text);
    char *body = realloc(text, len + 2);
    if (body) {
        body[len++] = '\n';
        body[len] = '\0';
        text = body;
    }
    finish(c, status, "application/json", text, len);
    free(text);
}

static void reply_fault(call_t *c, const kb_fault_t *f) {
    reply_json(c, f->status ? f->status : 500, kb_fault_json(f));
}

static void reply_error(call_t *c, int status, const char *code, const char *field,
                        const char *msg) {
    kb_fault_t f;
    kb_fault_set(&f, status, code, field, "%s", msg);
    reply_fault(c, &f);
}

/* Answers an engine call: rc/out/f as the kb_engine_* functions leave them.
 * out is passed by address because callers write the engine call as an
 * argument, and C does not order the evaluation of arguments. */
static void reply_result(call_t *c, int rc, int status, json_t **out, const kb_fault_t *f) {
    if (rc < 0) reply_fault(c, f);
    else reply_json(c, status, *out);
}

/* ---- query strings ---- */

static int parse_match_opts(call_t *c, kb_match_opts_t *o) {
    o->limit = 10;
    o->explain = false;
    char buf[256];
    size_t qlen = strlen(c->req->query);
    if (qlen >= sizeof buf) {
        reply_error(c, 400, "invalid_query", NULL, "query string too long");
        return -1;
    }
    memcpy(buf, c->req->query, qlen + 1);
    char *save = NULL;
    for (char *kv = strtok_r(buf, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
        char *v = strchr(kv, '=');
        if (v) *v++ = '\0';
        else v = "";
        if (strcmp(kv, "limit") == 0) {
            char *end;
            long n = strtol(v, &end, 10);
            if (!*v || *end || n < 1 || n > 100) {
                reply_error(c, 400, "invalid_query", "limit", "limit must be an integer 1..100");
                return -1;
            }
            o->limit = (uint32_t)n;
        } else if (strcmp(kv, "explain") == 0) {
            if (!strcmp(v, "1") || !strcmp(v, "true") || !*v) o->explain = true;
            else if (!strcmp(v, "0") || !strcmp(v, "false")) o->explain = false;
            else {
                reply_error(c, 400, "invalid_query", "explain",
                            "explain must be 0, 1, true or false");
                return -1;
            }
        } else {
            reply_error(c, 400, "invalid_query", NULL,
                        "unknown query parameter (known: limit, explain)");
            return -1;
        }
    }
    return 0;
}

static bool no_query(call_t *c) {
    if (!c->req->query[0]) return true;
    reply_error(c, 400, "invalid_query", NULL, "this route takes no query parameters");
    return false;
}

/* Whether the request uses method m; answers 405 if not. */
static bool method_is(call_t *c, const char *m) {
    if (!strcmp(c->method, m)) return true;
    char msg[16];
    snprintf(msg, sizeof msg, "use %s", m);
    reply_error(c, 405, "method_not_allowed", NULL, msg);
    return false;
}

/* For read-only routes without parameters. */
static bool only_get(call_t *c) { return method_is(c, "GET") && no_query(c); }

/* Parses the request body into *out, answering 400 itself on failure. The
 * Content-Type is not checked: the body must be JSON whatever it claims. */
static bool body_json(call_t *c, json_t **out) {
    kb_fault_t f;
    if (kb_engine_parse(c->api->engine, c->req->body, c->req->body_len, out, &f) < 0) {
        reply_fault(c, &f);
        return false;
    }
    return true;
}

/* Answers 403 when an access rule (access.h) gives a reason to refuse. */
static bool denied(call_t *c, const char *why) {
    if (!why) return false;
    c->api->forbidden++;
    reply_error(c, 403, "forbidden", NULL, why);
    return true;
}

/* ---- handlers ---- */

static void entity(call_t *c, kb_entity_t t, const char *label) {
    const char *m = c->method, *id = c->seg[2];
    kb_engine_t *e = c->api->engine;
    kb_fault_t f;
    json_t *out = NULL;
    static char routes[5][3][48];
    int mi = !strcmp(m, "PUT") ? 0 : !strcmp(m, "GET") ? 1 : !strcmp(m, "DELETE") ? 2 : -1;
    if (mi >= 0) {
        if (!routes[t][mi][0])
            snprintf(routes[t][mi], sizeof routes[t][mi], "%s /v1/%s/{id}", m, label);
        c->route = routes[t][mi];
    }
    if (mi < 0) {
        reply_error(c, 405, "method_not_allowed", NULL, "use PUT, GET or DELETE");
        return;
    }
    if (!no_query(c)) return;
    if (mi == 0) {
        /* A scoped role is checked against the body (its org_id or
         * municipality) before the engine sees it; admins and open mode
         * skip this second parse, the engine parses the text itself. */
        if (c->who && c->who->role != KB_ROLE_ADMIN) {
            json_t *body;
            if (!body_json(c, &body)) return;
            const char *why = kb_access_entity(c->who, e, t, true, id, body);
            json_decref(body);
            if (denied(c, why)) return;
        }
        bool created = false;
        char *text = NULL;
        size_t len = 0;
        if (kb_engine_put_text(e, t, id, c->req->body, c->req->body_len, &text, &len, &created,
                               &f) < 0)
            reply_fault(c, &f);
        else finish(c, created ? 201 : 200, "application/json", text, len);
        free(text);
        return;
    }
    if (denied(c, kb_access_entity(c->who, e, t, mi == 2, id, NULL))) return;
    if (mi == 1) {
        reply_result(c, kb_engine_get(e, t, id, &out, &f), 200, &out, &f);
        return;
    }
    int rc = kb_engine_delete(e, t, id, &f);
    if (rc < 0) {
        reply_fault(c, &f);
        return;
    }
    finish(c, 204, NULL, "", 0);
}

/* Answers an engine call that wrote its answer as text (the *_text calls). */
static void reply_text(call_t *c, int rc, char *text, size_t len, const kb_fault_t *f) {
    if (rc < 0) reply_fault(c, f);
    else finish(c, 200, "application/json", text, len);
    free(text);
}

/* The ranked queries: GET /v1/needs/{id}/matches, GET /v1/volunteers/{id}/needs. */
typedef int (*ranked_fn)(kb_engine_t *e, const char *id, const kb_match_opts_t *o, char **answer,
                         size_t *answer_len, kb_fault_t *f);

static void ranked(call_t *c, const char *route, ranked_fn fn, bool reverse) {
    c->route = route;
    if (!method_is(c, "GET")) return;
    kb_match_opts_t o = {0};
    if (parse_match_opts(c, &o) < 0) return;
    kb_engine_t *e = c->api->engine;
    if (denied(c, reverse ? kb_access_reverse(c->who, e, c->seg[2])
                          : kb_access_need(c->who, e, c->seg[2])))
        return;
    if (reverse && c->who && c->who->role == KB_ROLE_CASEWORKER) {
        o.munis = (const char(*)[5])c->who->munis; /* only needs it may see */
        o.nmunis = c->who->nmunis;
    }
    kb_fault_t f;
    char *text = NULL;
    size_t len = 0;
    int rc = fn(c->api->engine, c->seg[2], &o, &text, &len, &f);
    reply_text(c, rc, text, len, &f);
}

static void need_close(call_t *c) {
    c->route = "POST /v1/needs/{id}/close";
    if (!method_is(c, "POST")) return;
    if (!no_query(c)) return;
    if (denied(c, kb_access_need(c->who, c->api->engine, c->seg[2]))) return;
    kb_fault_t f;
    json_t *out = NULL;
    reply_result(c, kb_engine_close_need(c->api->engine, c->seg[2], &out, &f), 200, &out, &f);
}

static void what_if(call_t *c) {
    c->route = "POST /v1/match";
    if (!method_is(c, "POST")) return;
    kb_match_opts_t o = {0};
    json_t *body;
    if (parse_match_opts(c, &o) < 0 || !body_json(c, &body)) return;
    if (denied(c, kb_access_what_if(c->who, body))) {
        json_decref(body);
        return;
    }
    kb_fault_t f;
    char *text = NULL;
    size_t len = 0;
    int rc = kb_engine_what_if_text(c->api->engine, body, &o, &text, &len, &f);
    json_decref(body);
    reply_text(c, rc, text, len, &f);
}

static void matches(call_t *c) {
    kb_engine_t *e = c->api->engine;
    kb_fault_t f;
    json_t *out = NULL, *body;
    if (c->nseg == 2) {
        c->route = "POST /v1/matches";
        if (!method_is(c, "POST")) return;
        if (!no_query(c) || !body_json(c, &body)) return;
        if (denied(c, kb_access_propose(c->who, e, body))) {
            json_decref(body);
            return;
        }
        int rc = kb_engine_propose(e, body, &out, &f);
        json_decref(body);
        reply_result(c, rc, 201, &out, &f);
        return;
    }
    if (c->nseg == 3) {
        c->route = "GET /v1/matches/{id}";
        if (!method_is(c, "GET")) return;
        if (!no_query(c)) return;
        if (denied(c, kb_access_match(c->who, e, c->seg[2], NULL))) return;
        reply_result(c, kb_engine_match_get(e, c->seg[2], &out, &f), 200, &out, &f);
        return;
    }
    const char *step = c->seg[3];
    c->route = !strcmp(step, "accept")    ? "POST /v1/matches/{id}/accept"
               : !strcmp(step, "decline") ? "POST /v1/matches/{id}/decline"
               : !strcmp(step, "end")     ? "POST /v1/matches/{id}/end"
                                          : "other";
    if (c->route[0] == 'o') {
        reply_error(c, 404, "not_found", NULL, "no such route");
        return;
    }
    if (!method_is(c, "POST")) return;
    if (!no_query(c)) return;
    if (denied(c, kb_access_match(c->who, e, c->seg[2], step))) return;
    reply_result(c, kb_engine_match_step(e, c->seg[2], step, &out, &f), 200, &out, &f);
}

static void metrics(call_t *c) {
    c->route = "GET /metrics";
    if (!only_get(c) || denied(c, kb_access_admin(c->who))) return;
    kb_engine_t *e = c->api->engine;
    kb_metrics_t *m = c->api->metrics;
    if (!m) {
        reply_error(c, 404, "not_found", NULL, "metrics are off");
        return;
    }
    kb_metrics_gauge(m, "koble_volunteers", "Volunteers stored",
                     kb_engine_count(e, KB_ENT_VOLUNTEER));
    kb_metrics_gauge(m, "koble_activities", "Activities stored",
                     kb_engine_count(e, KB_ENT_ACTIVITY));
    kb_metrics_gauge(m, "koble_needs", "Needs stored", kb_engine_count(e, KB_ENT_NEED));
    kb_metrics_gauge(m, "koble_organisations", "Organisations stored",
                     kb_engine_count(e, KB_ENT_ORGANISATION));
    kb_metrics_gauge(m, "koble_subscriptions", "Subscriptions stored",
                     kb_engine_count(e, KB_ENT_SUBSCRIPTION));
    if (c->api->http) {
        kb_http_stats_t hs;
        kb_http_stats(c->api->http, &hs);
        kb_metrics_gauge(m, "koble_http_connections_open", "Open client connections",
                         (double)hs.connections_open);
        kb_metrics_gauge(m, "koble_http_connections_rejected_total",
                         "Connections refused over the limit", (double)hs.connections_rejected);
        kb_metrics_gauge(m, "koble_http_bad_requests_total", "Malformed or oversized requests",
                         (double)hs.bad_requests);
        kb_metrics_gauge(m, "koble_http_timeouts_total", "Connections closed idle or slow",
                         (double)hs.timeouts);
        const kb_http_limits_t *l = kb_http_limits(c->api->http);
        kb_metrics_gauge(m, "koble_limit_max_header_bytes", "Largest request line and headers",
                         (double)l->max_header_bytes);
        kb_metrics_gauge(m, "koble_limit_max_body_bytes", "Largest request body",
                         (double)l->max_body_bytes);
        kb_metrics_gauge(m, "koble_limit_max_connections", "Most open client connections",
                         (double)l->max_connections);
        kb_metrics_gauge(m, "koble_limit_idle_timeout_seconds", "Time a request may take to arrive",
                         l->idle_timeout_ms / 1000.0);
        kb_metrics_gauge(m, "koble_limit_max_pipeline", "Most unanswered requests per connection",
                         l->max_pipeline);
    }
    kb_auth_t *auth = c->api->auth;
    kb_metrics_gauge(m, "koble_auth_tokens", "Tokens configured (0: open mode)",
                     auth ? (double)auth->n : 0);
    kb_metrics_gauge(m, "koble_limit_rate_per_token", "Requests per second per token (0: none)",
                     auth ? auth->rate : 0);
    kb_metrics_gauge(m, "koble_limit_rate_burst", "Requests a token may make at once",
                     auth ? auth->burst : 0);
    kb_metrics_gauge(m, "koble_http_unauthorized_total", "Requests without a valid token (401)",
                     (double)c->api->unauthorized);
    kb_metrics_gauge(m, "koble_http_forbidden_total", "Requests outside the token's role (403)",
                     (double)c->api->forbidden);
    kb_metrics_gauge(m, "koble_http_rate_limited_total", "Requests over the token's rate (429)",
                     (double)c->api->rate_limited);
    if (c->api->durable) {
        kb_durable_stats_t ds;
        kb_commit_stats_t cs;
        kb_durable_stats(c->api->durable, &ds);
        kb_commit_stats(c->api->commit, &cs);
        kb_metrics_gauge(m, "koble_journal_bytes", "Size of the current journal file",
                         (double)ds.journal_bytes);
        kb_metrics_gauge(m, "koble_journal_last_seq", "Sequence number of the last journal record",
                         (double)ds.last_seq);
        kb_metrics_gauge(m, "koble_journal_fsyncs_total", "Journal fsyncs", (double)cs.fsyncs);
        kb_metrics_gauge(m, "koble_journal_fsync_seconds_total", "Time spent in journal fsyncs",
                         cs.fsync_seconds);
        kb_metrics_gauge(m, "koble_journal_waiting", "Writes waiting for an fsync",
                         (double)cs.waiting);
        kb_metrics_gauge(m, "koble_snapshots_total", "Snapshots written", (double)ds.snapshots);
        kb_metrics_gauge(m, "koble_snapshot_failures_total", "Snapshots that failed",
                         (double)ds.snapshot_failures);
        kb_metrics_gauge(m, "koble_snapshot_seq", "Journal sequence of the newest snapshot",
                         (double)ds.snapshot_seq);
        kb_metrics_gauge(m, "koble_snapshot_last_seconds", "Duration of the last snapshot",
                         ds.last_snapshot_seconds);
        kb_metrics_gauge(m, "koble_snapshot_last_bytes", "Size of the last snapshot",
                         (double)ds.last_snapshot_bytes);
        kb_metrics_gauge(m, "koble_snapshot_running", "1 while a snapshot is written",
                         ds.snapshot_running);
    }
    kb_outbox_t *box = c->api->durable ? kb_durable_outbox(c->api->durable) : NULL;
    if (box && c->api->publish) {
        kb_publish_stats_t ps;
        kb_publish_stats(c->api->publish, &ps);
        kb_metrics_gauge(m, "koble_events_waiting", "Events not yet confirmed by Redis",
                         (double)box->n);
        kb_metrics_gauge(m, "koble_events_waiting_bytes", "Memory held by waiting events",
                         (double)box->bytes);
        kb_metrics_gauge(m, "koble_events_published_total", "Events Redis took",
                         (double)ps.published);
        kb_metrics_gauge(m, "koble_events_duplicates_total",
                         "Events Redis already had (sent again after a reconnect)",
                         (double)ps.duplicates);
        kb_metrics_gauge(m, "koble_redis_connected", "1 while connected to Redis", ps.connected);
        kb_metrics_gauge(m, "koble_redis_reconnects_total", "Connections to Redis lost",
                         (double)ps.reconnects);
        kb_metrics_gauge(m, "koble_redis_errors_total", "Error replies from Redis",
                         (double)ps.errors);
    }
    char *text = NULL;
    size_t len = 0;
    if (kb_metrics_render(m, &text, &len) < 0) {
        reply_error(c, 503, "out_of_memory", NULL, "out of memory");
        return;
    }
    finish(c, 200, "text/plain; version=0.0.4", text, len);
    free(text);
}

/* The answer of POST /v1/assignments once its batch is done (batch.c). */
static void assigned(void *ctx, int rc, json_t *out, const kb_fault_t *f) {
    call_t *c = ctx;
    reply_result(c, rc, 200, &out, f);
    free(c);
}

static void route(call_t *c) {
    int n = c->nseg;
    char **s = c->seg;
    if (n == 1 && !strcmp(s[0], "healthz")) {
        c->route = "GET /healthz";
        if (!only_get(c)) return;
        if (!c->api->ready) {
            reply_error(c, 503, "starting", NULL, "recovery is not finished");
            return;
        }
        static const char ok[] = "{\"status\":\"ok\"}\n";
        finish(c, 200, "application/json", ok, sizeof ok - 1);
        return;
    }
    /* Until recovery is done there is no engine to ask. */
    if (!c->api->ready) {
        reply_error(c, 503, "starting", NULL, "recovery is not finished");
        return;
    }
    if (n == 1 && !strcmp(s[0], "metrics")) {
        metrics(c);
        return;
    }
    if (n < 2 || strcmp(s[0], "v1")) {
        reply_error(c, 404, "not_found", NULL, "no such route");
        return;
    }
    if (n == 2 && !strcmp(s[1], "stats")) {
        c->route = "GET /v1/stats";
        if (!only_get(c) || denied(c, kb_access_admin(c->who))) return;
        json_t *stats = kb_engine_stats(c->api->engine);
        kb_outbox_t *box = c->api->durable ? kb_durable_outbox(c->api->durable) : NULL;
        if (stats && box && c->api->publish) {
            kb_publish_stats_t ps;
            kb_publish_stats(c->api->publish, &ps);
            json_object_set_new(stats, "events",
                                json_pack("{s:I, s:I, s:b}", "waiting", (json_int_t)box->n,
                                          "published", (json_int_t)ps.published, "redis_connected",
                                          ps.connected));
        }
        reply_json(c, 200, stats);
        return;
    }
    if (n == 2 && !strcmp(s[1], "assignments")) {
        c->route = "POST /v1/assignments";
        if (!method_is(c, "POST") || !no_query(c)) return;
        json_t *body;
        if (!body_json(c, &body)) return;
        if (denied(c, kb_access_assign(c->who, c->api->engine, body))) {
            json_decref(body);
            return;
        }
        /* Candidate lists in slices on the loop, the solver on the thread
         * pool: the answer comes later, from assigned(). */
        kb_fault_t f;
        call_t *later = malloc(sizeof *later);
        int rc = KB_ENOMEM;
        if (!later) kb_fault_set(&f, 503, "out_of_memory", NULL, "the server is out of memory");
        else {
            *later = *c;
            later->who = NULL; /* a SIGHUP may free it meanwhile; the name stays */
            later->nseg = 0;   /* seg points into c->path */
        }
        if (later) rc = kb_batch_start(c->api->loop, c->api->engine, body, assigned, later, &f);
        json_decref(body);
        if (rc < 0) {
            free(later);
            reply_fault(c, &f);
        }
        return;
    }
    if (n == 2 && !strcmp(s[1], "match")) {
        what_if(c);
        return;
    }
    if (!strcmp(s[1], "matches") && n <= 4) {
        matches(c);
        return;
    }
    static const struct {
        const char *name;
        kb_entity_t t;
    } kinds[] = {{"volunteers", KB_ENT_VOLUNTEER},
                 {"activities", KB_ENT_ACTIVITY},
                 {"needs", KB_ENT_NEED},
                 {"organisations", KB_ENT_ORGANISATION},
                 {"subscriptions", KB_ENT_SUBSCRIPTION}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(s[1], kinds[i].name)) continue;
        if (n == 3) {
            entity(c, kinds[i].t, kinds[i].name);
            return;
        }
        if (n == 4 && kinds[i].t == KB_ENT_NEED && !strcmp(s[3], "matches")) {
            ranked(c, "GET /v1/needs/{id}/matches", kb_engine_matches_text, false);
            return;
        }
        if (n == 4 && kinds[i].t == KB_ENT_NEED && !strcmp(s[3], "close")) {
            need_close(c);
            return;
        }
        if (n == 4 && kinds[i].t == KB_ENT_VOLUNTEER && !strcmp(s[3], "needs")) {
            ranked(c, "GET /v1/volunteers/{id}/needs", kb_engine_volunteer_needs_text, true);
            return;
        }
    }
    reply_error(c, 404, "not_found", NULL, "no such route");
}

/* With tokens configured: the caller's token into c->who, or a 401 (no
 * valid token) or 429 (its rate is spent) answered here. /healthz is open
 * so load balancers and systemd need no secret. */
static bool authenticate(call_t *c) {
    kb_auth_t *auth = c->api->auth;
    if (!auth || !auth->n || (c->nseg == 1 && !strcmp(c->seg[0], "healthz"))) return true;
    c->who = kb_auth_check(auth, c->req->authorization);
    if (c->who) snprintf(c->who_name, sizeof c->who_name, "%s", c->who->name);
    if (!c->who) {
        c->api->unauthorized++;
        c->headers = "WWW-Authenticate: Bearer realm=\"koble\"\r\n";
        reply_error(c, 401, "unauthorized", NULL,
                    "send a valid token: Authorization: Bearer <token>");
        return false;
    }
    if (!kb_auth_take(auth, c->who, c->req->start_ns)) {
        c->api->rate_limited++;
        c->headers = "Retry-After: 1\r\n";
        reply_error(c, 429, "rate_limited", NULL, "too many requests for this token; slow down");
        return false;
    }
    return true;
}

static void bad_path(call_t *c, int status, const char *msg) {
    reply_error(c, status,
                status == 404   ? "not_found"
                : status == 414 ? "uri_too_long"
                                : "bad_request",
                NULL, msg);
}

void kb_api_handle(void *data, kb_http_req_t *req) {
    kb_api_t *api = data;
    call_t c = {.api = api,
                .req = req,
                .route = "other",
                .written_before = api->commit ? kb_commit_written(api->commit) : 0,
                .method = strcmp(req->method, "HEAD") ? req->method : "GET",
                .who_name = "-"};
    size_t len = strlen(req->path);
    if (len >= sizeof c.path) {
        bad_path(&c, 414, "path too long");
        return;
    }
    memcpy(c.path, req->path, len + 1);
    /* Split "/a/b/c" into segments; empty segments ("//", trailing "/")
     * make the path unknown rather than silently equal to another. */
    char *p = c.path + 1;
    if (c.path[0] != '/') {
        bad_path(&c, 400, "path must start with /");
        return;
    }
    for (;;) {
        char *start = p;
        while (*p && *p != '/') p++;
        if (p == start || c.nseg == MAX_SEGS) {
            bad_path(&c, 404, "no such route");
            return;
        }
        c.seg[c.nseg++] = start;
        if (!*p) break;
        *p++ = '\0';
    }
    if (!authenticate(&c)) return;
    route(&c);
}
