/* outbox.c — see outbox.h. */
#include "outbox.h"

#include <stdlib.h>
#include <string.h>

#include "koble/error.h"

void kb_outbox_init(kb_outbox_t *o) { memset(o, 0, sizeof *o); }

static void event_clear(kb_event_t *e) {
    free(e->stream);
    free(e->event);
    free(e->data);
}

void kb_outbox_free(kb_outbox_t *o) {
    for (size_t i = 0; i < o->n; i++) event_clear(&o->q[(o->head + i) % o->cap]);
    free(o->q);
    memset(o, 0, sizeof *o);
}

int kb_event_id_cmp(kb_event_id_t a, kb_event_id_t b) {
    if (a.seq != b.seq) return a.seq < b.seq ? -1 : 1;
    return (a.n > b.n) - (a.n < b.n);
}

int kb_outbox_push_id(kb_outbox_t *o, kb_event_id_t id, const char *stream, const char *event,
                      int64_t ts, const char *data) {
    if (kb_event_id_cmp(id, o->last) > 0) o->last = id;
    if (kb_event_id_cmp(id, o->confirmed) <= 0) return 0;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 256;
        kb_event_t *q = malloc(cap * sizeof *q);
        if (!q) return KB_ENOMEM;
        for (size_t i = 0; i < o->n; i++) q[i] = o->q[(o->head + i) % o->cap];
        free(o->q);
        o->q = q;
        o->cap = cap;
        o->head = 0;
    }
    kb_event_t e = {id, ts, strdup(stream), strdup(event), strdup(data)};
    if (!e.stream || !e.event || !e.data) {
        event_clear(&e);
        return KB_ENOMEM;
    }
    o->q[(o->head + o->n) % o->cap] = e;
    o->n++;
    o->pushed++;
    o->bytes += strlen(stream) + strlen(event) + strlen(data) + 3 + sizeof e;
    return 0;
}

int kb_outbox_push(kb_outbox_t *o, uint64_t seq, const char *stream, const char *event, int64_t ts,
                   const char *data) {
    kb_event_id_t id = {seq, o->last.seq == seq ? o->last.n + 1 : 0};
    return kb_outbox_push_id(o, id, stream, event, ts, data);
}

const kb_event_t *kb_outbox_at(const kb_outbox_t *o, size_t i) {
    return i < o->n ? &o->q[(o->head + i) % o->cap] : NULL;
}

void kb_outbox_confirm(kb_outbox_t *o) {
    if (!o->n) return;
    kb_event_t *e = &o->q[o->head];
    o->confirmed = e->id;
    o->bytes -= strlen(e->stream) + strlen(e->event) + strlen(e->data) + 3 + sizeof *e;
    event_clear(e);
    o->head = (o->head + 1) % o->cap;
    o->n--;
    o->confirmed_total++;
}

void kb_outbox_confirm_upto(kb_outbox_t *o, kb_event_id_t id) {
    while (o->n && kb_event_id_cmp(o->q[o->head].id, id) <= 0) kb_outbox_confirm(o);
    /* Numbering (last) follows pushes only: a write replayed after the
     * mark was restored numbers its events as it did the first time. */
    if (kb_event_id_cmp(id, o->confirmed) > 0) o->confirmed = id;
}
