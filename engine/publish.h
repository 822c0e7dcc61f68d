/* publish.h — the outbox to Redis Streams, with hiredis's async API on
 * kobled's own libuv loop.
 *
 * Events go out in order, pipelined (up to a window of XADDs in flight),
 * each as `XADD <stream> MAXLEN ~ <n> <id> event <e> id <id> ts <ms> data
 * <json>` with the event's own id. A reply with that id, or Redis saying
 * the id is not above the stream's last one (it was delivered before),
 * confirms the event; anything else drops the connection and the events
 * not confirmed are sent again on the next one. Reconnection backs off from
 * 100 ms to 5 s. The API never waits for any of this.
 *
 * After confirmations the owner is told (on_confirm) so it can record the
 * mark durably: when nothing is left in flight, and every 256 events in a
 * long burst. */
#ifndef KB_PUBLISH_H
#define KB_PUBLISH_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "outbox.h"

typedef struct kb_publish_opts {
    const char *host;
    int port;
    const char *user;     /* ACL user for AUTH, or NULL */
    const char *password; /* AUTH password, or NULL for none */
    int db;               /* SELECT db, 0 = default */
    long maxlen;          /* MAXLEN ~ bound per stream, 0 = none */
} kb_publish_opts_t;

typedef struct kb_publish kb_publish_t;

typedef struct kb_publish_stats {
    bool connected;
    uint64_t published, duplicates, reconnects, errors;
    uint64_t inflight;
} kb_publish_stats_t;

typedef void (*kb_publish_confirm_fn)(void *ctx, kb_event_id_t upto);

/* The outbox stays owned by the caller and must outlive the publisher.
 * Strings in o are copied. Connecting starts at once, in the background. */
int kb_publish_new(uv_loop_t *loop, const kb_publish_opts_t *o, kb_outbox_t *box,
                   kb_publish_confirm_fn on_confirm, void *ctx, kb_publish_t **out);
/* New events are in the outbox: send what the window allows. */
void kb_publish_kick(kb_publish_t *p);
/* Journal records up to seq are durable: their events may leave (an
 * event never reaches Redis before the write that made it is on disk). */
void kb_publish_durable(kb_publish_t *p, uint64_t seq);
void kb_publish_stats(const kb_publish_t *p, kb_publish_stats_t *out);
/* Disconnects and frees p once its handles are closed. */
void kb_publish_close(kb_publish_t *p);

#endif
