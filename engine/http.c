/* http.c — see http.h.
 *
 * A connection reads into one input buffer and feeds it to http-parser.
 * Each complete request is appended to the connection's queue and handed
 * to the handler; answers may come at once or later, but are written
 * strictly from the head of the queue, so pipelined requests are answered
 * in order. Parsing pauses (and reading stops) when too many requests wait
 * for an answer, when a request asked to close the connection, or on a
 * protocol error, whose JSON answer is queued behind the earlier ones.
 *
 * Writing: an answer is not written when it is made but after the loop's
 * poll phase, with the answers to every other connection that the same
 * pass through the ready sockets produced (a uv_check handle, as Redis
 * writes its replies before it sleeps). The client's end then gets them
 * back to back, and kobled has written them all before it reads what comes
 * next: on the benchmark's four connections, 4-10% more matches a second
 * and as much less CPU per request (bench/README). An idle handle runs
 * meanwhile, so that an answer made outside the poll phase (in a timer)
 * does not wait for the poll's timeout. A protocol error's answer, after
 * which the connection closes, is written at once (fail()).
 *
 * Time: a request must be complete within idle_timeout_ms of the
 * connection opening or of the previous request; bytes trickling in do not
 * reset the clock, so a slow client cannot hold a connection forever.
 *
 * Lifetime: a connection owns two handles (TCP, timer) and is freed when
 * both are closed. A request handed to the handler is never freed under it:
 * if its connection closes first, the request is orphaned and freed by
 * kb_http_respond. A request being written is owned by its write. */
#include "http.h"

#include <http_parser.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "koble/error.h"
#include "sbuf.h"

#define READ_CHUNK 65536

struct kb_http_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    kb_http_server_t *srv;
    http_parser parser;
    kb_http_conn_t *prev, *next;
    kb_http_req_t *cur;         /* being parsed */
    kb_http_req_t *head, *tail; /* complete, not yet written */
    unsigned unanswered;
    unsigned writes; /* uv_write requests in flight */
    char *in;        /* input not yet parsed: [in_off, in_len) */
    size_t in_off, in_len, in_cap;
    size_t header_bytes;
    uint64_t deadline; /* loop time (ms) by which the next request must be complete */
    int error_status;  /* set by a callback that rejects the request */
    char field[16];    /* current header name, if short enough to matter */
    size_t field_len;
    char **value; /* where the current header's value goes, or NULL */
    bool last_was_value;
    bool paused;   /* parsing stopped (pipeline full, close, error) */
    bool in_parse; /* inside http_parser_execute: do not re-enter */
    bool reading, closing, close_after;
    bool due;                 /* on the server's list of connections with answers to write */
    kb_http_conn_t *due_next; /* ... and its neighbours there */
    kb_http_conn_t *due_prev;
    int open_handles;
};

struct kb_http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    bool listening, listener_closed, stopping;
    kb_http_limits_t lim;
    kb_http_handler_fn fn;
    void *data;
    kb_http_conn_t *conns;
    unsigned nconns;
    void (*done)(kb_http_server_t *s);
    kb_http_stats_t stats;
    http_parser_settings settings;
    kb_http_conn_t *due; /* connections with answers to write (see the top) */
    uv_check_t writer;   /* writes them, active while there are any */
    uv_idle_t keep_polling;
    int handles_closed; /* of writer and keep_polling, once stopping */
};

void kb_http_limits_default(kb_http_limits_t *l) {
    l->max_header_bytes = 8192;
    l->max_body_bytes = 1 << 20;
    l->max_connections = 1024;
    l->idle_timeout_ms = 30000;
    l->max_pipeline = 64;
}

/* ---- requests ---- */

static void req_free(kb_http_req_t *r) {
    if (!r) return;
    free(r->url);
    free(r->auth_buf);
    free(r->ctype_buf);
    free(r->body_buf);
    free(r->answer);
    free(r);
}

static int append(char **buf, size_t *len, size_t *cap, const char *at, size_t n) {
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n + 1) c *= 2;
        char *p = realloc(*buf, c);
        if (!p) return KB_ENOMEM;
        *buf = p;
        *cap = c;
    }
    memcpy(*buf + *len, at, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

/* Appends the len bytes of s at *w if they fit before end; false if not. */
static bool put_text(char **w, const char *end, const char *s, size_t len) {
    if ((size_t)(end - *w) < len) return false;
    memcpy(*w, s, len);
    *w += len;
    return true;
}

static bool put_str(char **w, const char *end, const char *s) {
    return put_text(w, end, s, strlen(s));
}

static bool put_uint(char **w, const char *end, size_t v) {
    char buf[KB_INT_TEXT], *s = kb_int_text(buf, (long long)v);
    return put_text(w, end, s, (size_t)(buf + KB_INT_TEXT - s));
}

/* Every answer's head, piece by piece: with snprintf it was a few
 * thousand instructions an answer, as much as the rest of the write. */
static char *format_answer(int status, const char *ctype, const char *headers, const char *body,
                           size_t len, bool keep_alive, size_t *out_len) {
    if (status < 0) return NULL;
    char head[512], *w = head;
    const char *end = head + sizeof head;
    bool ok =
        put_text(&w, end, "HTTP/1.1 ", 9) && put_uint(&w, end, (size_t)status) &&
        put_text(&w, end, " ", 1) && put_str(&w, end, http_status_str((enum http_status)status)) &&
        put_text(&w, end, "\r\n", 2) &&
        (!ctype || (put_text(&w, end, "Content-Type: ", 14) && put_str(&w, end, ctype) &&
                    put_text(&w, end, "\r\n", 2))) &&
        put_text(&w, end, "Content-Length: ", 16) && put_uint(&w, end, len) &&
        put_text(&w, end, "\r\nConnection: ", 14) &&
        put_str(&w, end, keep_alive ? "keep-alive" : "close") && put_text(&w, end, "\r\n", 2) &&
        (!headers || put_str(&w, end, headers)) && put_text(&w, end, "\r\n", 2);
    if (!ok) return NULL;
    size_t n = (size_t)(w - head);
    char *a = malloc(n + len);
    if (!a) return NULL;
    memcpy(a, head, n);
    if (len) memcpy(a + n, body, len);
    *out_len = n + len;
    return a;
}

/* ---- connection lifetime ---- */

static void on_writer_closed(uv_handle_t *h) {
    kb_http_server_t *s = h->data;
    if (++s->handles_closed < 2) return;
    void (*done)(kb_http_server_t *) = s->done;
    s->done = NULL;
    done(s);
}

static void maybe_done(kb_http_server_t *s) {
    if (s->stopping && s->listener_closed && s->nconns == 0 && s->done &&
        !uv_is_closing((uv_handle_t *)&s->writer)) {
        uv_close((uv_handle_t *)&s->writer, on_writer_closed);
        uv_close((uv_handle_t *)&s->keep_polling, on_writer_closed);
    }
}

static void on_handle_closed(uv_handle_t *h) {
    kb_http_conn_t *c = h->data;
    if (--c->open_handles > 0) return;
    kb_http_server_t *s = c->srv;
    if (c->prev) c->prev->next = c->next;
    else s->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    s->nconns--;
    s->stats.connections_open--;
    free(c->in);
    free(c);
    maybe_done(s);
}

static void stop_reading(kb_http_conn_t *c) {
    if (c->reading) uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
}

/* Takes c off the server's list of connections with answers to write. */
static void not_due(kb_http_conn_t *c) {
    if (!c->due) return;
    c->due = false;
    if (c->due_prev) c->due_prev->due_next = c->due_next;
    else c->srv->due = c->due_next;
    if (c->due_next) c->due_next->due_prev = c->due_prev;
    c->due_prev = c->due_next = NULL;
}

static void conn_close(kb_http_conn_t *c) {
    if (c->closing) return;
    not_due(c);
    c->closing = true;
    uv_timer_stop(&c->timer);
    stop_reading(c);
    /* Answered requests die with the connection; unanswered ones belong to
     * the handler until it answers (see kb_http_respond). */
    for (kb_http_req_t *r = c->head, *next; r; r = next) {
        next = r->next;
        if (r->answered) req_free(r);
        else r->conn = NULL;
    }
    c->head = c->tail = NULL;
    req_free(c->cur);
    c->cur = NULL;
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
}

static void arm_timer(kb_http_conn_t *c);
static void on_write_due(uv_check_t *h);
static void on_keep_polling(uv_idle_t *h);
static void parse(kb_http_conn_t *c);
static void start_reading(kb_http_conn_t *c);

static void on_write(uv_write_t *w, int status) {
    kb_http_req_t *r = w->data;
    kb_http_conn_t *c = (kb_http_conn_t *)w->handle->data;
    free(w);
    req_free(r);
    c->writes--;
    if (c->closing) return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->close_after && !c->writes && !c->head) conn_close(c);
}

/* Writes the answered requests at the head of the queue, in order. */
static void flush(kb_http_conn_t *c) {
    while (!c->closing && c->head && c->head->answered) {
        kb_http_req_t *r = c->head;
        c->head = r->next;
        if (!c->head) c->tail = NULL;
        if (!r->keep_alive) c->close_after = true;
        uv_buf_t b = uv_buf_init(r->answer, (unsigned)r->answer_len);
        /* Most answers fit the socket buffer: write them at once, which
         * spares libuv a write request and two changes of the socket's
         * epoll registration per answer. Only with nothing queued before
         * (answers keep their order); what does not fit goes the usual way. */
        int sent = c->writes ? 0 : uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (sent == (int)b.len) {
            req_free(r);
            goto next;
        }
        if (sent > 0) {
            b.base += sent;
            b.len -= (size_t)sent;
        }
        uv_write_t *w = malloc(sizeof *w);
        if (!w) {
            req_free(r);
            conn_close(c);
            return;
        }
        w->data = r;
        c->writes++;
        if (uv_write(w, (uv_stream_t *)&c->tcp, &b, 1, on_write) < 0) {
            c->writes--;
            free(w);
            req_free(r);
            conn_close(c);
            return;
        }
    next:
        if (c->close_after) {
            /* Nothing after a "Connection: close" answer is answered. */
            for (kb_http_req_t *q = c->head, *next; q; q = next) {
                next = q->next;
                if (q->answered) req_free(q);
                else q->conn = NULL;
            }
            c->head = c->tail = NULL;
            break;
        }
    }
    if (c->closing) return;
    if (c->close_after && !c->writes && !c->head) {
        conn_close(c);
        return;
    }
    /* Room in the pipeline again: carry on with what is buffered (parse()
     * does it itself if this answer came from inside the parser). */
    if (c->paused && !c->close_after && !c->srv->stopping &&
        c->unanswered < c->srv->lim.max_pipeline) {
        c->paused = false;
        http_parser_pause(&c->parser, 0);
        parse(c);
        if (!c->closing && !c->paused) start_reading(c);
    }
}

/* Queues an error answer behind the earlier requests and closes after it. */
static void fail(kb_http_conn_t *c, int status, const char *code, const char *msg) {
    char body[256];
    int n =
        snprintf(body, sizeof body,
                 "{\"error\":{\"code\":\"%s\",\"message\":\"%s\",\"field\":null}}\n", code, msg);
    kb_http_req_t *r = calloc(1, sizeof *r);
    if (r)
        r->answer =
            format_answer(status, "application/json", NULL, body, (size_t)n, false, &r->answer_len);
    if (!r || !r->answer) {
        req_free(r);
        conn_close(c);
        return;
    }
    r->answered = 1;
    r->conn = c;
    if (c->tail) c->tail->next = r;
    else c->head = r;
    c->tail = r;
    c->paused = true;
    stop_reading(c);
    c->srv->stats.bad_requests++;
    flush(c);
}

/* ---- parser callbacks ---- */

static kb_http_conn_t *conn_of(http_parser *p) { return p->data; }

static int count_header(kb_http_conn_t *c, size_t n) {
    c->header_bytes += n;
    if (c->header_bytes <= c->srv->lim.max_header_bytes) return 0;
    c->error_status = 431;
    return 1;
}

static int on_message_begin(http_parser *p) {
    kb_http_conn_t *c = conn_of(p);
    c->cur = calloc(1, sizeof *c->cur);
    c->header_bytes = 0;
    c->field_len = 0;
    c->value = NULL;
    c->last_was_value = false;
    return c->cur ? 0 : 1;
}

static int on_url(http_parser *p, const char *at, size_t n) {
    kb_http_conn_t *c = conn_of(p);
    size_t cap = c->cur->url_len ? c->cur->url_len + 1 : 0;
    if (count_header(c, n)) return 1;
    return append(&c->cur->url, &c->cur->url_len, &cap, at, n) < 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n) {
    kb_http_conn_t *c = conn_of(p);
    if (count_header(c, n)) return 1;
    if (c->last_was_value) {
        c->field_len = 0;
        c->value = NULL;
        c->last_was_value = false;
    }
    if (c->field_len + n < sizeof c->field) memcpy(c->field + c->field_len, at, n);
    c->field_len += n;
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n) {
    kb_http_conn_t *c = conn_of(p);
    if (count_header(c, n)) return 1;
    if (!c->last_was_value) {
        c->last_was_value = true;
        c->value = NULL;
        if (c->field_len < sizeof c->field) {
            c->field[c->field_len] = '\0';
            if (!strcasecmp(c->field, "authorization")) c->value = &c->cur->auth_buf;
            else if (!strcasecmp(c->field, "content-type")) c->value = &c->cur->ctype_buf;
        }
        if (c->value) {
            free(*c->value); /* a repeated header: the last one counts */
            *c->value = NULL;
        }
    }
    if (!c->value) return 0;
    size_t len = *c->value ? strlen(*c->value) : 0, cap = *c->value ? len + 1 : 0;
    return append(c->value, &len, &cap, at, n) < 0;
}

static int on_headers_complete(http_parser *p) {
    kb_http_conn_t *c = conn_of(p);
    /* Refuse an oversized body before reading any of it. */
    if (!(p->flags & F_CHUNKED) && p->content_length > 0 && p->content_length != ULLONG_MAX &&
        p->content_length > c->srv->lim.max_body_bytes) {
        c->error_status = 413;
        return -1; /* 1 and 2 mean "skip the body" to http-parser; other values fail */
    }
    /* A body of known length may come in pieces: room for all of it at
     * once, rather than growing by doubling from 256 bytes. Without the
     * room, on_body grows the buffer as for a chunked body. */
    kb_http_req_t *r = c->cur;
    if (!(p->flags & F_CHUNKED) && p->content_length > 0 && p->content_length != ULLONG_MAX &&
        !r->body_buf) {
        size_t cap = (size_t)p->content_length + 1;
        r->body_buf = malloc(cap);
        if (r->body_buf) r->body_cap = cap;
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n) {
    kb_http_conn_t *c = conn_of(p);
    kb_http_req_t *r = c->cur;
    if (r->body_len + n > c->srv->lim.max_body_bytes) {
        c->error_status = 413;
        return 1;
    }
    return append(&r->body_buf, &r->body_len, &r->body_cap, at, n) < 0;
}

static int on_message_complete(http_parser *p) {
    kb_http_conn_t *c = conn_of(p);
    kb_http_server_t *s = c->srv;
    kb_http_req_t *r = c->cur;
    c->cur = NULL;
    r->conn = c;
    r->method = http_method_str((enum http_method)p->method);
    if (!r->url) r->url = strdup("/");
    if (!r->url) {
        req_free(r);
        return 1;
    }
    char *q = strchr(r->url, '?');
    if (q) *q++ = '\0';
    r->path = r->url;
    r->query = q ? q : "";
    r->body = r->body_buf ? r->body_buf : "";
    r->authorization = r->auth_buf;
    r->content_type = r->ctype_buf;
    r->keep_alive = http_should_keep_alive(p) && !s->stopping;
    r->start_ns = uv_hrtime();
    if (c->tail) c->tail->next = r;
    else c->head = r;
    c->tail = r;
    c->unanswered++;
    s->stats.requests_total++;
    arm_timer(c);
    /* Stop parsing after a request that closes the connection, or when the
     * pipeline is full; the rest of the input stays buffered. */
    if (!r->keep_alive || c->unanswered >= s->lim.max_pipeline) {
        c->paused = true;
        http_parser_pause(p, 1);
        stop_reading(c);
    }
    s->fn(s->data, r);
    return 0;
}

/* ---- reading ---- */

static void parse(kb_http_conn_t *c) {
    if (c->in_parse) return;
    c->in_parse = true;
    while (!c->closing && !c->paused && c->in_off < c->in_len) {
        size_t n = http_parser_execute(&c->parser, &c->srv->settings, c->in + c->in_off,
                                       c->in_len - c->in_off);
        if (c->closing) break;
        c->in_off += n;
        enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
        if (err == HPE_PAUSED) {
            /* Paused by on_message_complete; an answer may have resumed it since. */
            if (!c->paused) http_parser_pause(&c->parser, 0);
            continue;
        }
        if (err == HPE_OK) continue;
        req_free(c->cur);
        c->cur = NULL;
        if (c->error_status == 413)
            fail(c, 413, "payload_too_large", "the request body is larger than the server accepts");
        else if (c->error_status == 431)
            fail(c, 431, "headers_too_large",
                 "the request headers are larger than the server accepts");
        else fail(c, 400, "bad_request", "malformed HTTP request");
        break;
    }
    if (!c->closing && c->in_off == c->in_len) c->in_off = c->in_len = 0;
    c->in_parse = false;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    kb_http_conn_t *c = h->data;
    if (c->in_off) { /* keep the unparsed tail at the front */
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    if (c->in_cap - c->in_len < READ_CHUNK) {
        char *p = realloc(c->in, c->in_len + READ_CHUNK);
        if (!p) {
            *buf = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
            return;
        }
        c->in = p;
        c->in_cap = c->in_len + READ_CHUNK;
    }
    *buf = uv_buf_init(c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
    (void)buf;
    kb_http_conn_t *c = st->data;
    if (nread < 0) {
        /* The client is gone or done sending: answer what it asked, then close. */
        stop_reading(c);
        c->close_after = true;
        if (!c->head && !c->writes) conn_close(c);
        return;
    }
    c->in_len += (size_t)nread;
    parse(c);
}

static void start_reading(kb_http_conn_t *c) {
    if (c->reading || c->closing || c->close_after) return;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) < 0) conn_close(c);
    else c->reading = true;
}

static void on_timeout(uv_timer_t *t) {
    kb_http_conn_t *c = t->data;
    uint64_t now = uv_now(c->srv->loop);
    if (now < c->deadline) { /* moved by a request since the timer was set */
        uv_timer_start(&c->timer, on_timeout, c->deadline - now, 0);
        return;
    }
    if (c->unanswered) { /* the handler is still working: not the client's fault */
        arm_timer(c);
        return;
    }
    c->srv->stats.timeouts++;
    conn_close(c);
}

/* Every request moves the deadline; the timer itself is set again only
 * when it fires early (on_timeout), not per request: restarting a libuv
 * timer takes it out of the loop's heap and puts it back. */
static void arm_timer(kb_http_conn_t *c) {
    c->deadline = uv_now(c->srv->loop) + c->srv->lim.idle_timeout_ms;
    if (!uv_is_active((uv_handle_t *)&c->timer))
        uv_timer_start(&c->timer, on_timeout, c->srv->lim.idle_timeout_ms, 0);
}

static void on_connection(uv_stream_t *l, int status) {
    kb_http_server_t *s = l->data;
    if (status < 0) return;
    kb_http_conn_t *c = calloc(1, sizeof *c);
    if (!c) return;
    c->srv = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->open_handles = 2;
    c->next = s->conns;
    if (s->conns) s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    s->stats.connections_open++;
    s->stats.connections_total++;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) < 0) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    if (s->nconns > s->lim.max_connections) {
        s->stats.connections_rejected++;
        s->stats.bad_requests--; /* not a bad request: fail() counts it as one */
        fail(c, 503, "too_many_connections", "the server has too many open connections");
        return;
    }
    arm_timer(c);
    start_reading(c);
}

/* ---- server ---- */

int kb_http_server_init(uv_loop_t *loop, kb_http_server_t **out, const kb_http_limits_t *l,
                        kb_http_handler_fn fn, void *data) {
    kb_http_server_t *s = calloc(1, sizeof *s);
    if (!s) return KB_ENOMEM;
    s->loop = loop;
    if (l) s->lim = *l;
    else kb_http_limits_default(&s->lim);
    if (!s->lim.max_pipeline) s->lim.max_pipeline = 1;
    s->fn = fn;
    s->data = data;
    s->settings.on_message_begin = on_message_begin;
    s->settings.on_url = on_url;
    s->settings.on_header_field = on_header_field;
    s->settings.on_header_value = on_header_value;
    s->settings.on_headers_complete = on_headers_complete;
    s->settings.on_body = on_body;
    s->settings.on_message_complete = on_message_complete;
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    uv_check_init(loop, &s->writer);
    uv_idle_init(loop, &s->keep_polling);
    s->writer.data = s->keep_polling.data = s;
    *out = s;
    return 0;
}

int kb_http_listen(kb_http_server_t *s, const char *host, int port) {
    struct sockaddr_storage addr;
    int rc = strchr(host, ':') ? uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr)
                               : uv_ip4_addr(host, port, (struct sockaddr_in *)&addr);
    if (rc < 0) return rc;
    if ((rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0)) < 0) return rc;
    if ((rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection)) < 0) return rc;
    s->listening = true;
    return 0;
}

int kb_http_port(const kb_http_server_t *s) {
    struct sockaddr_storage addr;
    int len = sizeof addr;
    if (uv_tcp_getsockname(&s->listener, (struct sockaddr *)&addr, &len) < 0) return -1;
    return addr.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&addr)->sin6_port)
                                      : ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

void kb_http_respond(kb_http_req_t *r, int status, const char *ctype, const char *body,
                     size_t len) {
    kb_http_respond_headers(r, status, ctype, NULL, body, len);
}

void kb_http_respond_headers(kb_http_req_t *r, int status, const char *ctype, const char *headers,
                             const char *body, size_t len) {
    kb_http_conn_t *c = r->conn;
    if (!c) { /* its connection is gone */
        req_free(r);
        return;
    }
    if (c->srv->stopping) r->keep_alive = 0;
    r->answer = format_answer(status, ctype, headers, body, len, r->keep_alive, &r->answer_len);
    /* HEAD: the headers GET would send, Content-Length included, no body. */
    if (r->answer && !strcmp(r->method, "HEAD")) r->answer_len -= len;
    r->answered = 1;
    c->unanswered--;
    if (!r->answer) {
        conn_close(c);
        return;
    }
    if (c->due) return;
    kb_http_server_t *s = c->srv;
    c->due = true;
    c->due_prev = NULL;
    c->due_next = s->due;
    if (s->due) s->due->due_prev = c;
    else {
        uv_check_start(&s->writer, on_write_due);
        uv_idle_start(&s->keep_polling, on_keep_polling);
    }
    s->due = c;
}

/* After the poll phase: the answers made since, to every connection. A
 * flush may parse pipelined requests whose answers put their connection
 * back on the list; those are written in the same pass. */
static void on_write_due(uv_check_t *h) {
    kb_http_server_t *s = h->data;
    while (s->due) {
        kb_http_conn_t *c = s->due;
        not_due(c);
        flush(c);
    }
    uv_check_stop(&s->writer);
    uv_idle_stop(&s->keep_polling);
}

static void on_keep_polling(uv_idle_t *h) { (void)h; }

static void on_listener_closed(uv_handle_t *h) {
    kb_http_server_t *s = h->data;
    s->listener_closed = true;
    maybe_done(s);
}

void kb_http_shutdown(kb_http_server_t *s, void (*done)(kb_http_server_t *s)) {
    s->stopping = true;
    s->done = done;
    for (kb_http_conn_t *c = s->conns, *next; c; c = next) {
        next = c->next;
        stop_reading(c);
        c->paused = true;
        c->close_after = true;
        if (!c->head && !c->writes) conn_close(c);
    }
    uv_close((uv_handle_t *)&s->listener, on_listener_closed);
}

void kb_http_server_free(kb_http_server_t *s) { free(s); }

void kb_http_stats(const kb_http_server_t *s, kb_http_stats_t *out) { *out = s->stats; }

const kb_http_limits_t *kb_http_limits(const kb_http_server_t *s) { return &s->lim; }
