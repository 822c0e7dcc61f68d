/* http.h — a small HTTP/1.1 server on libuv, parsing with http-parser.
 *
 * Keep-alive and pipelining: requests on a connection are parsed in order
 * and answered in order, even when the handler answers them out of order
 * or later (after an fsync, say). Limits on header and body size,
 * connections, unanswered pipelined requests and time; every protocol error
 * is answered with a JSON error body before the connection closes. */
#ifndef KB_HTTP_H
#define KB_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

typedef struct kb_http_limits {
    size_t max_header_bytes;  /* request line + headers; default 8 KiB, else 431 */
    size_t max_body_bytes;    /* default 1 MiB, else 413 without reading the rest */
    unsigned max_connections; /* default 1024, else 503 and close */
    unsigned idle_timeout_ms; /* default 30 s: a request must complete within this
                                 of the previous one (or of the connection) */
    unsigned max_pipeline;    /* default 64 unanswered requests; reading pauses beyond */
} kb_http_limits_t;

typedef struct kb_http_server kb_http_server_t;
typedef struct kb_http_conn kb_http_conn_t;

/* A request, owned by the server: valid until kb_http_respond() for it. */
typedef struct kb_http_req {
    void *data;         /* free for the handler */
    const char *method; /* "GET", "PUT", ... */
    const char *path;   /* without the query; not percent-decoded */
    const char *query;  /* after '?', "" if none */
    const char *body;   /* NUL-terminated for convenience */
    size_t body_len;
    const char *authorization; /* header value or NULL */
    const char *content_type;  /* header value or NULL */
    uint64_t start_ns;         /* uv_hrtime() when the request was complete */
    /* private */
    kb_http_conn_t *conn;
    struct kb_http_req *next;
    char *url, *auth_buf, *ctype_buf, *body_buf;
    size_t url_len, body_cap;
    char *answer; /* the response bytes once answered */
    size_t answer_len;
    int keep_alive, answered;
} kb_http_req_t;

typedef void (*kb_http_handler_fn)(void *data, kb_http_req_t *req);

typedef struct kb_http_stats {
    uint64_t connections_open, connections_total, connections_rejected;
    uint64_t requests_total, bad_requests, timeouts;
} kb_http_stats_t;

void kb_http_limits_default(kb_http_limits_t *l);
int kb_http_server_init(uv_loop_t *loop, kb_http_server_t **out, const kb_http_limits_t *l,
                        kb_http_handler_fn fn, void *data);
/* host: an IPv4 or IPv6 literal; port 0 picks a free port (kb_http_port). */
int kb_http_listen(kb_http_server_t *s, const char *host, int port);
int kb_http_port(const kb_http_server_t *s);
/* Answers req (copies body); the request is freed once its answer is written. */
void kb_http_respond(kb_http_req_t *req, int status, const char *content_type, const char *body,
                     size_t len);
/* The same with extra header lines, each ending in "\r\n" (e.g.
 * "Retry-After: 1\r\n"); headers may be NULL. */
void kb_http_respond_headers(kb_http_req_t *req, int status, const char *content_type,
                             const char *headers, const char *body, size_t len);
/* Closes the listener, answers what was already received, closes the rest,
 * then calls done(s) once every connection is closed. */
void kb_http_shutdown(kb_http_server_t *s, void (*done)(kb_http_server_t *s));
/* After shutdown's done (or if never listening). */
void kb_http_server_free(kb_http_server_t *s);
void kb_http_stats(const kb_http_server_t *s, kb_http_stats_t *out);
const kb_http_limits_t *kb_http_limits(const kb_http_server_t *s);

#endif
