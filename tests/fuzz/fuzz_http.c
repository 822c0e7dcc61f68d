/* fuzz_http.c — the bytes a client sends, through the real HTTP server
 * (http.c: http-parser, limits, pipelining), the API's routing, query and
 * body validation (api.c), into an engine holding the seed entities.
 *
 * The server listens on a loopback port of its own, on a libuv loop of
 * the target's own. Each input is one connection: a non-blocking client
 * socket on the same loop writes the input, shuts its side down, and reads
 * the answers until the server closes; the loop then runs until the
 * server has freed the connection. A fresh engine per input keeps inputs
 * independent. Everything the server answers must be an HTTP/1.1
 * response.
 *
 * The input's first byte chooses the mode: odd, kobled has three tokens
 * (HTTP_TOKENS: "Bearer admin-token", "Bearer cw-token" for a caseworker
 * in 0376, "Bearer org-token" for urk-guldborgsund), without a rate limit
 * (time must not decide); even, it runs open. The rest goes on the wire. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <uv.h>

#include "api.h"
#include "auth.h"
#include "fuzz.h"
#include "http.h"

typedef struct http_client {
    uv_poll_t poll;
    int fd;
    const uint8_t *data;
    size_t size, off;
    bool shut, eof, closed;
    char head[16]; /* the first bytes answered */
    size_t head_len, got;
} http_client_t;

static uv_loop_t *http_loop; /* the server's; batch assignments run on it too */
static kb_http_server_t *http_srv;
static kb_api_t http_api;
static int http_port;
static kb_auth_t http_auth;

#define HTTP_TOKENS                                                                                \
    "[{\"name\": \"ops\", \"sha256\": \"%s\", \"role\": \"admin\"},"                               \
    " {\"name\": \"jc\", \"sha256\": \"%s\", \"role\": \"caseworker\", \"municipalities\": "       \
    "[\"0376\"]},"                                                                                 \
    " {\"name\": \"urk\", \"sha256\": \"%s\", \"role\": \"organisation\","                         \
    " \"org_id\": \"urk-guldborgsund\"}]"

static void http_tokens(void) {
    static const char *const tokens[] = {"admin-token", "cw-token", "org-token"};
    char hex[3][65], text[1024], err[256];
    for (int i = 0; i < 3; i++) kb_auth_hash_hex(tokens[i], strlen(tokens[i]), hex[i]);
    snprintf(text, sizeof text, HTTP_TOKENS, hex[0], hex[1], hex[2]);
    json_t *list = json_loads(text, 0, NULL);
    if (kb_auth_init() < 0 || !list || kb_auth_parse(&http_auth, list, err, sizeof err) < 0)
        fz_fail("cannot set up the tokens", err);
    json_decref(list);
}

static void http_setup(void) {
    fz_init();
    kb_http_limits_t lim;
    kb_http_limits_default(&lim);
    lim.max_body_bytes = 16384; /* within reach of an input, for 413 */
    lim.max_header_bytes = 4096;
    http_loop = uv_default_loop();
    http_api = (kb_api_t){.loop = http_loop, .metrics = kb_metrics_new(), .ready = true};
    if (!http_loop || !http_api.metrics ||
        kb_http_server_init(http_loop, &http_srv, &lim, kb_api_handle, &http_api) < 0 ||
        kb_http_listen(http_srv, "127.0.0.1", 0) < 0 || (http_port = kb_http_port(http_srv)) <= 0)
        fz_fail("cannot start the HTTP server", NULL);
    http_api.http = http_srv;
    http_tokens();
}

static void on_client(uv_poll_t *h, int status, int events) {
    http_client_t *c = h->data;
    if (status < 0) c->eof = true;
    if (!c->shut && (events & UV_WRITABLE)) {
        ssize_t n =
            c->off < c->size ? send(c->fd, c->data + c->off, c->size - c->off, MSG_NOSIGNAL) : 0;
        if (n > 0) c->off += (size_t)n;
        /* The server may close before it read everything (413, 431, 400). */
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) c->off = c->size;
        if (c->off == c->size) {
            shutdown(c->fd, SHUT_WR);
            c->shut = true;
            uv_poll_start(h, UV_READABLE, on_client);
        }
    }
    if (events & UV_READABLE) {
        char buf[65536];
        for (;;) {
            ssize_t n = recv(c->fd, buf, sizeof buf, 0);
            if (n > 0) {
                size_t k = sizeof c->head - c->head_len;
                if (k > (size_t)n) k = (size_t)n;
                memcpy(c->head + c->head_len, buf, k);
                c->head_len += k;
                c->got += (size_t)n;
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            c->eof = true; /* closed (0) or reset */
            break;
        }
    }
    if (c->eof) uv_poll_stop(h);
}

static void on_client_closed(uv_handle_t *h) {
    http_client_t *c = h->data;
    close(c->fd);
    c->closed = true;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!http_srv) http_setup();
    if (size == 0) return 0;
    http_api.auth = data[0] & 1 ? &http_auth : NULL;
    data++;
    size--;
    http_api.engine = fz_engine();
    if (!http_api.engine) return 0;
    http_client_t c = {
        .fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), .data = data, .size = size};
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)http_port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (c.fd < 0 || (connect(c.fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS))
        fz_fail("cannot connect to the HTTP server", strerror(errno));
    uv_poll_init(http_loop, &c.poll, c.fd);
    c.poll.data = &c;
    uv_poll_start(&c.poll, UV_READABLE | UV_WRITABLE, on_client);
    while (!c.eof) uv_run(http_loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&c.poll, on_client_closed);
    kb_http_stats_t st;
    do {
        uv_run(http_loop, UV_RUN_ONCE);
        kb_http_stats(http_srv, &st);
    } while (!c.closed || st.connections_open > 0);
    /* A batch assignment may still run for a connection closed under it:
     * the engine must outlive it. The listener is the one handle left. */
    while (http_loop->active_handles > 1 || http_loop->active_reqs.count > 0)
        uv_run(http_loop, UV_RUN_ONCE);
    kb_engine_free(http_api.engine);
    http_api.engine = NULL;
    if (c.got > 0 && (c.head_len < 9 || memcmp(c.head, "HTTP/1.1 ", 9) != 0))
        fz_fail("the server answered something that is not HTTP/1.1", NULL);
    return 0;
}
