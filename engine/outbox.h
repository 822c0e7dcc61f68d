/* outbox.h — events waiting for Redis, in order, with their ids.
 *
 * An event's id is "<seq>-<n>": the journal record of the write that
 * produced it and its place among that write's events. Ids therefore grow
 * with every write and across restarts, and are valid explicit Redis
 * stream ids: XADD with an id at or below a stream's last one is refused
 * by Redis, which is how a re-sent event is recognised as delivered.
 *
 * Events leave from the front once Redis has confirmed them. The last
 * confirmed id is what survives a restart (journal "ack" records and the
 * snapshot): a replayed write regenerates its events, and those at or
 * below the mark are dropped on push, so nothing confirmed is sent again
 * and nothing unconfirmed is lost.
 *
 * Memory: the queue lives in memory, so a long Redis outage costs memory
 * (about the event's JSON size each); /metrics reports the backlog. */
#ifndef KB_OUTBOX_H
#define KB_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

typedef struct kb_event_id {
    uint64_t seq;
    uint32_t n;
} kb_event_id_t;

typedef struct kb_event {
    kb_event_id_t id;
    int64_t ts;   /* ms */
    char *stream; /* the full key, prefix included */
    char *event;
    char *data; /* JSON text */
} kb_event_t;

typedef struct kb_outbox {
    kb_event_t *q; /* ring */
    size_t head, n, cap;
    size_t bytes;       /* held by queued events */
    kb_event_id_t last; /* last id given out */
    kb_event_id_t confirmed;
    uint64_t pushed, confirmed_total;
} kb_outbox_t;

void kb_outbox_init(kb_outbox_t *o);
void kb_outbox_free(kb_outbox_t *o);
/* -1, 0, 1 as a is before, equal to, after b. */
int kb_event_id_cmp(kb_event_id_t a, kb_event_id_t b);
/* Queues an event of the write journaled as record seq (its n follows the
 * previous event of the same seq). An id at or below the confirmed mark is
 * dropped (returns 0 all the same). Strings are copied. */
int kb_outbox_push(kb_outbox_t *o, uint64_t seq, const char *stream, const char *event, int64_t ts,
                   const char *data);
/* Queues an event with its id as it was (from a snapshot). */
int kb_outbox_push_id(kb_outbox_t *o, kb_event_id_t id, const char *stream, const char *event,
                      int64_t ts, const char *data);
/* The i-th waiting event (0: the oldest), or NULL. */
const kb_event_t *kb_outbox_at(const kb_outbox_t *o, size_t i);
/* Redis took the oldest event: drop it and move the mark to its id. */
void kb_outbox_confirm(kb_outbox_t *o);
/* Moves the mark to id (from an ack record) and drops what it covers. */
void kb_outbox_confirm_upto(kb_outbox_t *o, kb_event_id_t id);

#endif
