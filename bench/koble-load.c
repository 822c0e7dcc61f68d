/* koble-load.c — HTTP load generator for kobled.
 *
 *   koble-load --url http://127.0.0.1:PORT --connections N [--pipeline P]
 *              --duration SECONDS --mix put|match|whatif|healthz|load
 *              [--volunteers N] [--needs N] [--town NAME] [--seed S]
 *              [--warmup SECONDS] [--strict] [--towns FILE]
 *
 * One thread, one libuv loop, N keep-alive connections. Each connection
 * keeps up to P requests in flight: when answers come back it writes as many
 * new requests as there are free slots in one uv_write, so pipelining costs
 * one write per read, not one per request. http-parser parses the answers;
 * HTTP/1.1 answers in order, so a ring of P send times per connection gives
 * each latency: from handing the request to libuv to the answer's last byte.
 * The generator is closed-loop (a slow answer delays the next request on its
 * connection) and does not correct for coordinated omission: under a stall
 * the upper percentiles are optimistic.
 *
 * Bodies come from the seeded generator (gen.h), rendered to JSON text
 * before any clock starts (about 300 bytes a volunteer), so the timed phase
 * spends no client CPU on JSON: client and server often share a machine.
 * Needs of kind "activity" or "any" are stored as "mentor", as match-bench
 * does, so they rank volunteers. With --town the needs sit at the centre of
 * that town (kb_gen_need_at, any kind), the needs of the baselines'
 * comparison (bench/compare.sh). `whatif` sends the same needs as bodies
 * of POST /v1/match, which ranks without storing anything: each request
 * then also costs kobled the decoding and checking of a need. `match` and
 * `whatif` expect volunteers loaded before (`--mix load`); bytes/answer in
 * the report shows whether answers carry matches.
 *
 * Latencies go to a log-linear histogram (HDR style), not an array: memory
 * is fixed (58 KiB) whatever the duration and rate, recording is a shift
 * and an increment, and the resolution (1/128 of the value, under 0.8%) is
 * far finer than the noise of a shared machine. A percentile is the top of
 * its bucket; max is exact.
 *
 * Phases: `match` first stores its needs (untimed; any failure aborts);
 * timed mixes then run --warmup seconds unrecorded and --duration seconds
 * recorded, and abandon what is in flight at the end. `load` PUTs volunteers
 * 1..N once each, timed from the first request to the last answer.
 *
 * Errors: a non-2xx answer is an HTTP error; a request left without an
 * answer (connect, write, read or parse failure, the server closing) is a
 * transport error, as is a failed connection with nothing in flight. In a
 * timed phase the connection is reopened at the next one-second progress
 * tick; a count-bound phase (setup, load) stops, as it can no longer
 * complete. Exit status: 1 after a transport error, or an HTTP error with
 * --strict; 2 for bad usage. */
#include <http_parser.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "gen.h"
#include "koble/error.h"

#define HEADER_MAX 512 /* request line and headers; the Host value is at most 270 */
#define READ_SIZE  65536
#define SAMPLE_MAX 200 /* bytes of the first non-2xx answer shown */
#define REPORT_MAX 5   /* transport failures described on stderr */

/* Counts of values in ns. Below 256 each value has its own bucket; a larger
 * value whose top bit is b keeps its top 8 bits m = v >> (b-7), in bucket
 * (b-7)*128 + m, so every power of two spans 128 buckets. */
#define HIST_SUB     128u
#define HIST_BUCKETS (58 * HIST_SUB) /* b up to 63 */
typedef struct hist {
    uint64_t count[HIST_BUCKETS];
    uint64_t total, max;
} hist_t;

static void hist_record(hist_t *h, uint64_t v) {
    unsigned shift = v < 2 * HIST_SUB ? 0 : (unsigned)(63 - __builtin_clzll(v)) - 7;
    h->count[shift * HIST_SUB + (v >> shift)]++;
    h->total++;
    if (v > h->max) h->max = v;
}

static uint64_t hist_percentile(const hist_t *h, double q) {
    uint64_t rank = (uint64_t)ceil(q * (double)h->total), seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS && h->total; i++) {
        seen += h->count[i];
        if (seen < rank || !h->count[i]) continue;
        unsigned shift = i < 2 * HIST_SUB ? 0 : i / HIST_SUB - 1;
        uint64_t top = ((i - shift * HIST_SUB + 1ull) << shift) - 1;
        return top < h->max ? top : h->max;
    }
    return h->max;
}

typedef enum mix { MIX_PUT, MIX_MATCH, MIX_WHATIF, MIX_HEALTHZ, MIX_LOAD } mix_t;
static const char *const mix_names[] = {"put", "match", "whatif", "healthz", "load"};
typedef enum job { JOB_PUT_VOLUNTEER, JOB_PUT_NEED, JOB_MATCH, JOB_WHATIF, JOB_HEALTHZ } job_t;
typedef enum conn_state { CONN_DEAD, CONN_CONNECTING, CONN_OPEN, CONN_CLOSING } conn_state_t;
typedef struct lg lg_t;

typedef struct conn {
    uv_tcp_t tcp;
    uv_connect_t connect;
    http_parser parser;
    lg_t *lg;
    conn_state_t state;
    unsigned inflight, oldest; /* ring of send times: [oldest, oldest + inflight) mod P */
    uint64_t *sent_ns;
    bool server_closes; /* an answer said "Connection: close" */
    char err_body[SAMPLE_MAX];
    size_t err_len;
    char in[READ_SIZE];
} conn_t;

/* One write of one or more requests; freed when libuv is done with it. */
typedef struct batch {
    uv_write_t req;
    char data[];
} batch_t;

struct lg {
    uv_loop_t *loop;
    struct sockaddr_storage addr;
    char host[300];                      /* Host header value */
    const char *url, *towns_path, *town; /* town: --town, or NULL */
    mix_t mix;
    bool strict;
    double connections, pipeline, duration_s, warmup_s, volunteers, needs, seed; /* options */
    /* Pre-rendered bodies (volunteers, or needs for `match` and `whatif`): body i is
     * text[off[i], off[i+1]), of entity i+1. */
    char *text;
    size_t *off, max_body;
    uint64_t count;
    conn_t *conns;
    unsigned nconns, depth; /* --connections, --pipeline */
    uint64_t *sent_ns;      /* the connections' rings of send times, depth each */
    uv_timer_t tick, phase_timer;
    uv_signal_t sigint;
    /* current phase */
    job_t job;
    const char *phase;
    uint64_t next, limit, finished; /* limit UINT64_MAX: until the time is up */
    uint64_t phase_start_ns;
    bool recording, ending, aborted, sample_shown;
    /* answers since the run began, reset when recording begins */
    hist_t hist;
    uint64_t by_class[6]; /* answers by status / 100; 0 for anything outside 1xx..5xx */
    uint64_t body_bytes, rec_start_ns, rec_end_ns;
    uint64_t transport_errors, transport_reported;
    uint64_t answered, tick_answered, start_ns, tick_ns;
};

static void end_run(lg_t *lg);
static void phase_done(lg_t *lg);

/* ---- requests ---- */

/* Writes request n of the current phase at dst, which has room for
 * HEADER_MAX + the body; returns its length. Ids run from 1, as koble-gen's. */
static size_t render(const lg_t *lg, uint64_t n, char *dst) {
    uint64_t i = lg->count ? n % lg->count : 0;
    bool put = lg->job == JOB_PUT_VOLUNTEER || lg->job == JOB_PUT_NEED;
    size_t blen = put || lg->job == JOB_WHATIF ? lg->off[i + 1] - lg->off[i] : 0;
    int h = 0;
    if (lg->job == JOB_WHATIF)
        h = snprintf(dst, HEADER_MAX,
                     "POST /v1/match?limit=10 HTTP/1.1\r\nHost: %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     lg->host, blen);
    else if (put)
        h = snprintf(dst, HEADER_MAX,
                     "PUT /v1/%s-%" PRIu64 " HTTP/1.1\r\nHost: %s\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     lg->job == JOB_PUT_VOLUNTEER ? "volunteers/v" : "needs/n", i + 1, lg->host,
                     blen);
    else if (lg->job == JOB_MATCH)
        h = snprintf(dst, HEADER_MAX,
                     "GET /v1/needs/n-%" PRIu64 "/matches?limit=10 HTTP/1.1\r\nHost: %s\r\n\r\n",
                     i + 1, lg->host);
    else h = snprintf(dst, HEADER_MAX, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", lg->host);
    if (h < 0 || h >= HEADER_MAX) h = 0; /* cannot happen: the host is at most 270 bytes */
    if (blen) memcpy(dst + h, lg->text + lg->off[i], blen);
    return (size_t)h + blen;
}

/* ---- connections ---- */

static void on_closed(uv_handle_t *h) {
    conn_t *c = h->data;
    c->state = CONN_DEAD;
}

static void conn_close(conn_t *c) {
    if (c->state == CONN_DEAD || c->state == CONN_CLOSING) return;
    c->state = CONN_CLOSING;
    uv_close((uv_handle_t *)&c->tcp, on_closed);
}

/* Closes c after a transport failure; its requests in flight are lost. */
static void conn_fail(conn_t *c, const char *why) {
    lg_t *lg = c->lg;
    if (c->state == CONN_DEAD || c->state == CONN_CLOSING || lg->ending) return;
    uint64_t lost = c->inflight;
    lg->transport_errors += lost ? lost : 1;
    if (lg->transport_reported++ < REPORT_MAX)
        fprintf(stderr, "koble-load: connection %td: %s (%" PRIu64 " in flight lost)%s\n",
                c - lg->conns, why, lost,
                lg->transport_reported == REPORT_MAX ? "; further failures only counted" : "");
    c->inflight = 0;
    conn_close(c);
    if (lg->limit != UINT64_MAX) { /* a count-bound phase can no longer complete */
        fprintf(stderr, "koble-load: stopping: the %s phase lost requests\n", lg->phase);
        lg->aborted = lg->job == JOB_PUT_NEED;
        end_run(lg);
    }
}

static void on_write(uv_write_t *req, int status) {
    conn_t *c = req->handle->data;
    free(req->data);
    if (status < 0 && status != UV_ECANCELED) conn_fail(c, uv_strerror(status));
}

/* Fills c's free slots with the phase's next requests, in one write. */
static void pump(conn_t *c) {
    lg_t *lg = c->lg;
    if (c->state != CONN_OPEN || lg->ending || c->server_closes) return;
    uint64_t room = lg->depth - c->inflight, len = 0;
    if (lg->limit - lg->next < room) room = lg->limit - lg->next;
    if (room == 0) return;
    batch_t *b = malloc(sizeof *b + room * (HEADER_MAX + lg->max_body));
    if (!b) {
        conn_fail(c, "out of memory");
        return;
    }
    uint64_t now = uv_hrtime();
    for (uint64_t k = 0; k < room; k++) {
        len += render(lg, lg->next++, b->data + len);
        c->sent_ns[(c->oldest + c->inflight++) % lg->depth] = now;
    }
    b->req.data = b;
    uv_buf_t buf = uv_buf_init(b->data, (unsigned)len);
    int rc = uv_write(&b->req, (uv_stream_t *)&c->tcp, &buf, 1, on_write);
    if (rc < 0) {
        free(b);
        conn_fail(c, uv_strerror(rc));
    }
}

static int on_body(http_parser *p, const char *at, size_t n) {
    conn_t *c = p->data;
    c->lg->body_bytes += n;
    if (p->status_code / 100 != 2 && c->err_len < SAMPLE_MAX) {
        size_t take = n < SAMPLE_MAX - c->err_len ? n : SAMPLE_MAX - c->err_len;
        memcpy(c->err_body + c->err_len, at, take);
        c->err_len += take;
    }
    return 0;
}

static int on_message_complete(http_parser *p) {
    conn_t *c = p->data;
    lg_t *lg = c->lg;
    if (c->inflight == 0) return 1; /* an answer nobody asked for: a parse error */
    uint64_t latency = uv_hrtime() - c->sent_ns[c->oldest];
    c->oldest = (c->oldest + 1) % lg->depth;
    c->inflight--;
    lg->answered++;
    unsigned status = p->status_code, class = status >= 100 && status < 600 ? status / 100 : 0;
    if (!http_should_keep_alive(p)) c->server_closes = true;
    if (class != 2 && !lg->sample_shown) {
        lg->sample_shown = true;
        int n = (int)c->err_len;
        while (n > 0 && c->err_body[n - 1] == '\n') n--;
        fprintf(stderr, "koble-load: first non-2xx answer: %u %.*s\n", status, n, c->err_body);
    }
    c->err_len = 0;
    hist_record(&lg->hist, latency);
    lg->by_class[class]++;
    if (lg->limit != UINT64_MAX && ++lg->finished == lg->limit) phase_done(lg);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    conn_t *c = h->data;
    *buf = uv_buf_init(c->in, sizeof c->in);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    conn_t *c = s->data;
    if (nread == 0) return;
    if (nread < 0) {
        conn_fail(c, nread == UV_EOF ? "closed by the server" : uv_strerror((int)nread));
        return;
    }
    size_t used = http_parser_execute(&c->parser, &parser_settings, buf->base, (size_t)nread);
    if (c->state != CONN_OPEN) return; /* the run ended meanwhile */
    enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
    if (err != HPE_OK || used != (size_t)nread)
        conn_fail(c, err == HPE_CB_message_complete ? "an answer to no request"
                                                    : http_errno_description(err));
    else if (c->server_closes && c->inflight)
        conn_fail(c, "the server answered \"Connection: close\"");
    else if (c->server_closes) conn_close(c); /* nothing lost; reopened at the next tick */
    else pump(c);
}

static void on_connect(uv_connect_t *req, int status) {
    conn_t *c = req->handle->data;
    if (status == UV_ECANCELED || c->state != CONN_CONNECTING) return;
    int rc = status;
    if (rc == 0) {
        c->state = CONN_OPEN;
        uv_tcp_nodelay(&c->tcp, 1);
        rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
    if (rc < 0) conn_fail(c, uv_strerror(rc));
    else pump(c);
}

static void conn_open(conn_t *c) {
    lg_t *lg = c->lg;
    c->inflight = c->oldest = 0;
    c->err_len = 0;
    c->server_closes = false;
    http_parser_init(&c->parser, HTTP_RESPONSE);
    c->parser.data = c;
    uv_tcp_init(lg->loop, &c->tcp);
    c->tcp.data = c;
    c->state = CONN_CONNECTING;
    int rc = uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&lg->addr, on_connect);
    if (rc < 0) conn_fail(c, uv_strerror(rc));
}

/* ---- phases ---- */

static void close_handle(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

/* Stops everything; uv_run returns once the handles are closed. */
static void end_run(lg_t *lg) {
    if (lg->ending) return;
    if (lg->recording) lg->rec_end_ns = uv_hrtime();
    lg->recording = false;
    lg->ending = true;
    uv_walk(lg->loop, close_handle, NULL);
    for (unsigned i = 0; i < lg->nconns; i++)
        if (lg->conns[i].state != CONN_DEAD) lg->conns[i].state = CONN_CLOSING;
}

static void begin_phase(lg_t *lg, job_t job, const char *name, uint64_t limit) {
    lg->job = job;
    lg->phase = name;
    lg->next = lg->finished = 0;
    lg->limit = limit;
    lg->phase_start_ns = uv_hrtime();
    for (unsigned i = 0; i < lg->nconns; i++) pump(&lg->conns[i]);
}

/* Counts from now on: what came before was setup or warm-up. */
static void start_recording(lg_t *lg) {
    memset(&lg->hist, 0, sizeof lg->hist);
    memset(lg->by_class, 0, sizeof lg->by_class);
    lg->body_bytes = 0;
    lg->recording = true;
    lg->rec_start_ns = uv_hrtime();
    lg->phase = lg->mix == MIX_LOAD ? "load" : "measure";
}

static void on_time_up(uv_timer_t *t) {
    lg_t *lg = t->data;
    if (lg->recording) {
        end_run(lg);
        return;
    }
    start_recording(lg); /* the warm-up is over */
    uv_timer_start(&lg->phase_timer, on_time_up, (uint64_t)(lg->duration_s * 1000 + 0.5), 0);
}

static void begin_timed(lg_t *lg, job_t job) {
    begin_phase(lg, job, "warmup", UINT64_MAX);
    uv_timer_start(&lg->phase_timer, on_time_up, (uint64_t)(lg->warmup_s * 1000 + 0.5), 0);
}

/* Every request of a count-bound phase is answered. */
static void phase_done(lg_t *lg) {
    if (lg->job != JOB_PUT_NEED) { /* --mix load */
        end_run(lg);
        return;
    }
    double secs = (double)(uv_hrtime() - lg->phase_start_ns) / 1e9;
    if (lg->by_class[2] != lg->limit) {
        fprintf(stderr, "koble-load: %" PRIu64 " of %" PRIu64 " needs not stored; stopping\n",
                lg->limit - lg->by_class[2], lg->limit);
        lg->aborted = true;
        end_run(lg);
        return;
    }
    fprintf(stderr, "koble-load: stored %" PRIu64 " needs in %.2f s (%.0f/s)\n", lg->limit, secs,
            (double)lg->limit / secs);
    begin_timed(lg, JOB_MATCH);
}

static uint64_t http_errors(const lg_t *lg) {
    return lg->by_class[0] + lg->by_class[1] + lg->by_class[3] + lg->by_class[4] + lg->by_class[5];
}

static void on_tick(uv_timer_t *t) {
    lg_t *lg = t->data;
    uint64_t now = uv_hrtime();
    fprintf(stderr,
            "%6.1fs %-7s requests=%" PRIu64 " rate=%.0f/s non2xx=%" PRIu64
            " transport_errors=%" PRIu64 "\n",
            (double)(now - lg->start_ns) / 1e9, lg->phase, lg->answered,
            (double)(lg->answered - lg->tick_answered) / ((double)(now - lg->tick_ns) / 1e9),
            http_errors(lg), lg->transport_errors);
    lg->tick_ns = now;
    lg->tick_answered = lg->answered;
    for (unsigned i = 0; i < lg->nconns; i++)
        if (lg->conns[i].state == CONN_DEAD) conn_open(&lg->conns[i]);
}

static void on_sigint(uv_signal_t *s, int signum) {
    (void)signum;
    fprintf(stderr, "koble-load: interrupted; reporting what was measured\n");
    end_run(s->data);
}

/* ---- setup and report ---- */

/* Renders volunteers (or needs) 1..count into lg->text and lg->off. */
static int render_bodies(lg_t *lg, const kb_gen_t *g, bool needs, int town, uint64_t count) {
    size_t cap = (size_t)count * 400 + 4096, len = 0;
    lg->text = malloc(cap);
    lg->off = malloc(((size_t)count + 1) * sizeof *lg->off);
    lg->count = count;
    if (!lg->text || !lg->off) return KB_ENOMEM;
    for (uint64_t i = 0; i < count; i++) {
        json_t *body = !needs ? kb_gen_volunteer(g, i + 1)
                       : town < 0
                           ? kb_gen_need(g, i + 1)
                           : kb_gen_need_at(g, i + 1, town, KB_GEN_NEED_ANY, KB_GEN_AT_CENTRE);
        if (!body) return KB_ENOMEM;
        const char *kind = json_string_value(json_object_get(body, "kind"));
        if (needs && kind && (!strcmp(kind, "activity") || !strcmp(kind, "any")))
            json_object_set_new(body, "kind", json_string("mentor"));
        size_t n;
        while ((n = kb_gen_dump(body, lg->text + len, cap - len)) > cap - len) {
            char *grown = realloc(lg->text, cap * 2);
            if (!grown) break;
            lg->text = grown;
            cap *= 2;
        }
        json_decref(body);
        if (n == 0 || n > cap - len) return KB_ENOMEM;
        lg->off[i] = len;
        len += n;
        if (n > lg->max_body) lg->max_body = n;
    }
    lg->off[count] = len;
    return 0;
}

/* http://HOST[:PORT][/] into lg->addr and lg->host; 0 or -1. */
static int resolve_url(lg_t *lg) {
    struct http_parser_url u;
    http_parser_url_init(&u);
    const char *url = lg->url;
    if (http_parser_parse_url(url, strlen(url), 0, &u) != 0 || !(u.field_set & (1 << UF_HOST)) ||
        !(u.field_set & (1 << UF_SCHEMA)) || u.field_data[UF_SCHEMA].len != 4 ||
        strncmp(url + u.field_data[UF_SCHEMA].off, "http", 4) != 0 ||
        u.field_data[UF_HOST].len > 255 ||
        ((u.field_set & (1 << UF_PATH)) && u.field_data[UF_PATH].len > 1)) {
        fprintf(stderr, "koble-load: --url must be http://HOST[:PORT] with no path\n");
        return -1;
    }
    char host[256], port[8];
    snprintf(host, sizeof host, "%.*s", (int)u.field_data[UF_HOST].len,
             url + u.field_data[UF_HOST].off);
    unsigned port_num = u.field_set & (1 << UF_PORT) ? u.port : 80;
    snprintf(port, sizeof port, "%u", port_num);
    snprintf(lg->host, sizeof lg->host, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port_num);
    uv_getaddrinfo_t req;
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int rc = uv_getaddrinfo(lg->loop, &req, NULL, host, port, &hints); /* NULL: synchronous */
    if (rc < 0) {
        fprintf(stderr, "koble-load: %s: %s\n", host, uv_strerror(rc));
        return -1;
    }
    memcpy(&lg->addr, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
    uv_freeaddrinfo(req.addrinfo);
    return 0;
}

static void report(const lg_t *lg) {
    static const double qs[] = {0.50, 0.90, 0.99, 0.999};
    double secs = (double)(lg->rec_end_ns - lg->rec_start_ns) / 1e9, us[5];
    uint64_t errors = http_errors(lg), requests = lg->by_class[2] + errors;
    double rate = secs > 0 ? (double)requests / secs : 0;
    double bytes = requests ? (double)lg->body_bytes / (double)requests : 0;
    for (int i = 0; i < 4; i++) us[i] = (double)hist_percentile(&lg->hist, qs[i]) / 1e3;
    us[4] = (double)lg->hist.max / 1e3;
    printf("mix=%s connections=%u pipeline=%u seconds=%.3f requests=%" PRIu64 " ok=%" PRIu64
           " http_errors=%" PRIu64 " transport_errors=%" PRIu64 " rps=%.1f p50_us=%.1f"
           " p90_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f bytes_per_answer=%.0f\n",
           mix_names[lg->mix], lg->nconns, lg->depth, secs, requests, lg->by_class[2], errors,
           lg->transport_errors, rate, us[0], us[1], us[2], us[3], us[4], bytes);
    printf("\n%s, %s: %u connection(s) x %u in flight, %.2f s measured%s\n", mix_names[lg->mix],
           lg->url, lg->nconns, lg->depth, secs, lg->mix == MIX_LOAD ? "" : " after warm-up");
    printf("  requests          %12" PRIu64 "\n  2xx               %12" PRIu64
           "\n  non-2xx           %12" PRIu64 "   (4xx %" PRIu64 ", 5xx %" PRIu64 ")"
           "\n  transport errors  %12" PRIu64 "   (requests without an answer, whole run)"
           "\n  requests/s        %12.1f\n  bytes/answer      %12.0f"
           "\n  latency µs      p50       p90       p99     p99.9       max"
           "\n          %9.1f %9.1f %9.1f %9.1f %9.1f\n",
           requests, lg->by_class[2], errors, lg->by_class[4], lg->by_class[5],
           lg->transport_errors, rate, bytes, us[0], us[1], us[2], us[3], us[4]);
}

static void usage(FILE *f) {
    fputs("usage: koble-load --url http://HOST:PORT --connections N [--pipeline P]\n"
          "                  --duration SECONDS --mix put|match|whatif|healthz|load\n"
          "                  [--volunteers N] [--needs N] [--town NAME] [--seed S]\n"
          "                  [--warmup SECONDS] [--strict] [--towns FILE]\n"
          "put      PUT /v1/volunteers/v-<i>, i cycling over 1..--volunteers (100000)\n"
          "match    store --needs (1000) needs, then GET /v1/needs/<id>/matches?limit=10;\n"
          "         with --town NAME the needs sit at the centre of that town\n"
          "whatif   the same needs as bodies of POST /v1/match?limit=10 (nothing stored)\n"
          "healthz  GET /healthz\n"
          "load     PUT volunteers 1..--volunteers once each, as fast as possible\n"
          "Defaults: --pipeline 1, --warmup 1, --seed 42, --towns bench/data/dk_towns.tsv.\n"
          "Exit 1 after a transport error, or an HTTP error with --strict.\n",
          f);
}

static int parse_args(lg_t *lg, int argc, char **argv) {
    const struct {
        const char *name;
        double *value, lo, hi;
    } nums[] = {
        {"--connections", &lg->connections, 1, 10000}, {"--pipeline", &lg->pipeline, 1, 1024},
        {"--duration", &lg->duration_s, 0.001, 1e6},   {"--warmup", &lg->warmup_s, 0, 1e6},
        {"--volunteers", &lg->volunteers, 1, 1e8},     {"--needs", &lg->needs, 1, 1e7},
        {"--seed", &lg->seed, 0, 9007199254740992.0}, /* 2^53: exact in a double */
    };
    const char *mix = NULL;
    lg->pipeline = 1, lg->duration_s = -1, lg->warmup_s = 1;
    lg->volunteers = 100000, lg->needs = 1000, lg->seed = 42;
    lg->towns_path = "bench/data/dk_towns.tsv";
    for (int i = 1; i < argc && argv[i]; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = v != NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--strict")) {
            lg->strict = true;
            continue;
        } else if (!strcmp(a, "--url")) {
            lg->url = v;
        } else if (!strcmp(a, "--mix")) {
            mix = v;
        } else if (!strcmp(a, "--town")) {
            lg->town = v;
        } else if (!strcmp(a, "--towns")) {
            lg->towns_path = v;
        } else {
            size_t k = 0;
            while (k < sizeof nums / sizeof nums[0] && strcmp(a, nums[k].name)) k++;
            char *end = NULL;
            double d = ok && k < sizeof nums / sizeof nums[0] ? strtod(v, &end) : NAN;
            ok = end && end != v && !*end && d >= nums[k].lo && d <= nums[k].hi;
            if (ok) *nums[k].value = d;
        }
        if (!ok) {
            fprintf(stderr, "koble-load: bad argument '%s%s%s'\n", a, v ? " " : "", v ? v : "");
            return -1;
        }
        i++;
    }
    unsigned m = 0;
    while (mix && m <= MIX_LOAD && strcmp(mix, mix_names[m])) m++;
    lg->mix = (mix_t)m;
    if (!lg->url || !mix || m > MIX_LOAD || !lg->connections ||
        (lg->mix != MIX_LOAD && lg->duration_s < 0)) {
        fprintf(stderr, "koble-load: --url, --connections, --mix and, but for load, --duration "
                        "are required\n");
        return -1;
    }
    lg->nconns = (unsigned)lg->connections;
    lg->depth = (unsigned)lg->pipeline;
    return 0;
}

int main(int argc, char **argv) {
    static lg_t lg; /* large (the histogram), and alive until the end */
    lg.loop = uv_default_loop();
    if (parse_args(&lg, argc, argv) < 0) {
        usage(stderr);
        return 2;
    }
    if (resolve_url(&lg) < 0) return 2;
    signal(SIGPIPE, SIG_IGN);

    if (lg.mix != MIX_HEALTHZ) {
        kb_gen_towns_t *towns;
        int rc = kb_gen_towns_load(lg.towns_path, &towns);
        if (rc < 0) {
            fprintf(stderr, "koble-load: %s: %s\n", lg.towns_path, kb_strerror(rc));
            return 1;
        }
        int town = lg.town ? kb_gen_town_find(towns, lg.town) : -1;
        if (lg.town && town < 0) {
            fprintf(stderr, "koble-load: %s: not in %s\n", lg.town, lg.towns_path);
            kb_gen_towns_free(towns);
            return 2;
        }
        kb_gen_t g;
        kb_gen_init(&g, towns, (uint64_t)lg.seed);
        uint64_t t0 = uv_hrtime();
        bool needs = lg.mix == MIX_MATCH || lg.mix == MIX_WHATIF;
        rc = render_bodies(&lg, &g, needs, town, (uint64_t)(needs ? lg.needs : lg.volunteers));
        kb_gen_towns_free(towns);
        if (rc < 0) {
            fprintf(stderr, "koble-load: rendering bodies: %s\n", kb_strerror(rc));
            return 1;
        }
        fprintf(stderr, "koble-load: rendered %" PRIu64 " bodies (%.1f MB) in %.2f s\n", lg.count,
                (double)lg.off[lg.count] / 1e6, (double)(uv_hrtime() - t0) / 1e9);
    }

    lg.conns = calloc(lg.nconns, sizeof *lg.conns);
    lg.sent_ns = calloc((size_t)lg.nconns * lg.depth, sizeof *lg.sent_ns);
    if (!lg.conns || !lg.sent_ns) return 1;
    for (unsigned i = 0; i < lg.nconns; i++) {
        lg.conns[i].lg = &lg;
        lg.conns[i].sent_ns = lg.sent_ns + (size_t)i * lg.depth;
    }
    uv_update_time(lg.loop); /* rendering took a while: timers count from now */
    uv_timer_init(lg.loop, &lg.tick);
    uv_timer_init(lg.loop, &lg.phase_timer);
    uv_signal_init(lg.loop, &lg.sigint);
    lg.tick.data = lg.phase_timer.data = lg.sigint.data = &lg;
    uv_signal_start(&lg.sigint, on_sigint, SIGINT);
    uv_unref((uv_handle_t *)&lg.sigint);
    lg.start_ns = lg.tick_ns = uv_hrtime();
    uv_timer_start(&lg.tick, on_tick, 1000, 1000);

    /* The first phase is set before any connection opens; each connection
     * pumps when its connect completes. */
    if (lg.mix == MIX_MATCH) {
        begin_phase(&lg, JOB_PUT_NEED, "setup", lg.count);
    } else if (lg.mix == MIX_LOAD) {
        begin_phase(&lg, JOB_PUT_VOLUNTEER, "load", lg.count);
        start_recording(&lg);
    } else {
        begin_timed(&lg, lg.mix == MIX_PUT      ? JOB_PUT_VOLUNTEER
                         : lg.mix == MIX_WHATIF ? JOB_WHATIF
                                                : JOB_HEALTHZ);
    }
    for (unsigned i = 0; i < lg.nconns; i++) conn_open(&lg.conns[i]);
    uv_run(lg.loop, UV_RUN_DEFAULT);

    if (!lg.aborted) report(&lg);
    free(lg.sent_ns);
    free(lg.conns);
    free(lg.text);
    free(lg.off);
    uv_loop_close(lg.loop);
    if (lg.aborted || lg.transport_errors) return 1;
    return lg.strict && http_errors(&lg) > 0 ? 1 : 0;
}
