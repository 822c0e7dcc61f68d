/* test_http.c — the HTTP server on one loop with a client on the same loop:
 * answers made outside the poll phase (here in a timer, as after an
 * fsync) are written without waiting for the next event, answers to
 * several connections made in one pass all go out, and a pipelined
 * request answered first still waits for the one before it. */
#include <criterion/criterion.h>
#include <string.h>

#include "http.h"

#define CLIENTS 3

typedef struct client {
    uv_tcp_t tcp;
    uv_connect_t connect;
    uv_write_t write;
    const char *request;
    char got[4096];
    size_t len;
    unsigned answers_wanted; /* done after this many "HTTP/1.1" */
} client_t;

static uv_loop_t loop;
static kb_http_server_t *srv;
static client_t clients[CLIENTS];
static unsigned nclients, clients_done;
static uv_timer_t guard;
static bool timed_out;

/* "/later" is answered from a timer of 0 ms, anything else at once. The
 * timers stay open until the teardown: a handle closing would itself keep
 * the poll from blocking. */
static uv_timer_t timers[4];
static unsigned nlater;

static void on_later(uv_timer_t *t) { kb_http_respond(t->data, 200, "text/plain", "later\n", 6); }

static void handle(void *data, kb_http_req_t *r) {
    (void)data;
    if (strcmp(r->path, "/later")) {
        kb_http_respond(r, 200, "text/plain", r->path, strlen(r->path));
        return;
    }
    cr_assert_lt(nlater, 4);
    uv_timer_t *t = &timers[nlater++];
    uv_timer_init(&loop, t);
    t->data = r;
    uv_timer_start(t, on_later, 0, 0);
}

static unsigned answers(const client_t *c) {
    unsigned n = 0;
    for (const char *p = c->got; (p = strstr(p, "HTTP/1.1 ")); p++) n++;
    return n;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    client_t *c = h->data;
    *buf = uv_buf_init(c->got + c->len, (unsigned)(sizeof c->got - 1 - c->len));
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf) {
    (void)buf;
    client_t *c = st->data;
    cr_assert_geq(n, 0, "client read: %s", uv_strerror((int)n));
    c->len += (size_t)n;
    c->got[c->len] = 0;
    if (answers(c) < c->answers_wanted) return;
    uv_read_stop(st);
    if (++clients_done == nclients) uv_stop(&loop);
}

static void on_written(uv_write_t *w, int status) {
    (void)w;
    cr_assert_eq(status, 0);
}

static void on_connected(uv_connect_t *req, int status) {
    cr_assert_eq(status, 0, "connect: %s", uv_strerror(status));
    client_t *c = req->data;
    uv_buf_t b = uv_buf_init((char *)c->request, (unsigned)strlen(c->request));
    cr_assert_eq(uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, on_written), 0);
    cr_assert_eq(uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read), 0);
}

static void on_guard(uv_timer_t *t) {
    (void)t;
    timed_out = true;
    uv_stop(&loop);
}

static void setup(void) {
    cr_assert_eq(uv_loop_init(&loop), 0);
    cr_assert_eq(kb_http_server_init(&loop, &srv, NULL, handle, NULL), 0);
    cr_assert_eq(kb_http_listen(srv, "127.0.0.1", 0), 0);
    nclients = clients_done = nlater = 0;
    timed_out = false;
    memset(clients, 0, sizeof clients);
    uv_timer_init(&loop, &guard);
}

static void on_down(kb_http_server_t *s) { (void)s; }

static void close_any(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h) && h != (uv_handle_t *)&guard) uv_close(h, NULL);
}

static void teardown(void) {
    kb_http_shutdown(srv, on_down);
    uv_close((uv_handle_t *)&guard, NULL);
    uv_walk(&loop, close_any, NULL); /* clients, timers, and the server's own handles */
    uv_run(&loop, UV_RUN_DEFAULT);
    kb_http_server_free(srv);
    cr_assert_eq(uv_loop_close(&loop), 0, "a handle was left open");
}

TestSuite(http, .init = setup, .fini = teardown);

static void start_client(const char *request, unsigned answers_wanted) {
    client_t *c = &clients[nclients++];
    c->request = request;
    c->answers_wanted = answers_wanted;
    uv_tcp_init(&loop, &c->tcp);
    c->tcp.data = c->connect.data = c;
    struct sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", kb_http_port(srv), &addr);
    cr_assert_eq(uv_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&addr, on_connected), 0);
}

/* Runs the loop until every client has its answers. The guard is far
 * beyond what any of this takes; it is there because without the idle
 * handle an answer made in a timer waits for the connection's 30 s
 * timeout, and the test must fail rather than hang. */
static void run(void) {
    uv_timer_start(&guard, on_guard, 5000, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_timer_stop(&guard);
    cr_assert(!timed_out, "the answers took until the guard: %u of %u clients had theirs",
              clients_done, nclients);
}

Test(http, an_answer_made_in_a_timer_is_written_at_once) {
    start_client("GET /later HTTP/1.1\r\nHost: x\r\n\r\n", 1);
    run();
    cr_assert(strstr(clients[0].got, "HTTP/1.1 200"), "%s", clients[0].got);
    cr_assert(strstr(clients[0].got, "\r\n\r\nlater\n"), "%s", clients[0].got);
}

Test(http, answers_to_several_connections_all_go_out) {
    start_client("GET /a HTTP/1.1\r\nHost: x\r\n\r\n", 1);
    start_client("GET /b HTTP/1.1\r\nHost: x\r\n\r\n", 1);
    start_client("GET /c HTTP/1.1\r\nHost: x\r\n\r\n", 1);
    run();
    const char *want[CLIENTS] = {"\r\n\r\n/a", "\r\n\r\n/b", "\r\n\r\n/c"};
    for (unsigned i = 0; i < CLIENTS; i++)
        cr_assert(strstr(clients[i].got, want[i]), "client %u: %s", i, clients[i].got);
}

Test(http, a_pipelined_answer_waits_for_the_one_before) {
    start_client("GET /later HTTP/1.1\r\nHost: x\r\n\r\nGET /now HTTP/1.1\r\nHost: x\r\n\r\n", 2);
    run();
    const char *later = strstr(clients[0].got, "later\n"), *now = strstr(clients[0].got, "/now");
    cr_assert(later && now, "%s", clients[0].got);
    cr_assert_lt(later, now, "answered out of order: %s", clients[0].got);
}
