/* api.h — the HTTP/JSON API: routes requests to the engine and answers.
 *
 * The API is the edge: it validates the path, the query string and the
 * body's syntax, calls one kb_engine_* function and turns its result or
 * fault into a response. It records metrics and writes one access-log line
 * per request: method, route template, status, duration and the token's
 * name — never ids, bodies or tokens.
 *
 * With tokens configured, every request but GET /healthz must present one
 * ("Authorization: Bearer <token>"): 401 without a valid one, 429 when the
 * token's rate is spent, 403 when its role does not allow the request
 * (access.h). These answers carry no data. */
#ifndef KB_API_H
#define KB_API_H

#include <stdbool.h>

#include "auth.h"
#include "commit.h"
#include "durable.h"
#include "http.h"
#include "publish.h"
#include "koble/engine.h"
#include "metrics.h"

typedef struct kb_api {
    kb_engine_t *engine;
    kb_metrics_t *metrics;
    kb_http_server_t *http; /* for connection figures in /metrics; may be NULL */
    kb_commit_t *commit;    /* the journal's group commit; NULL: writes are not journaled */
    kb_durable_t *durable;  /* for /metrics; may be NULL */
    kb_publish_t *publish;  /* for /metrics and /v1/stats; NULL without Redis */
    kb_auth_t *auth;        /* tokens; NULL or none: open, every request is an admin's */
    bool ready;             /* /healthz answers 503 until set */
    bool access_log;
    uint64_t unauthorized, forbidden, rate_limited; /* 401, 403, 429 answers */
} kb_api_t;

/* The kb_http_handler_fn: data is a kb_api_t *. */
void kb_api_handle(void *data, kb_http_req_t *req);

#endif
