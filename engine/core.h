/* core.h — the engine's state, shared by the files that implement
 * include/koble/engine.h: engine.c (entities), query.c (matching) and
 * lifecycle.c (matches between needs and candidates). */
#ifndef KB_CORE_H
#define KB_CORE_H

#include "koble/engine.h"

#include <math.h>

#include "codec.h"
#include "fault.h"
#include "index.h"
#include "match.h"
#include "route.h"
#include "score.h"
#include "scratch.h"
#include "store.h"

typedef enum kb_pairing_state {
    KB_PAIR_PROPOSED,
    KB_PAIR_ACCEPTED,
    KB_PAIR_DECLINED,
    KB_PAIR_ENDED,
} kb_pairing_state_t;

/* A match between a need and a candidate. Slots become KB_NO_SLOT when
 * the entity is deleted; the ids stay so the record still reads well. */
typedef struct kb_pairing {
    char *id; /* "m-<sequence>"; owned by the pool */
    char *need_id, *cand_id;
    uint32_t need_slot, cand_slot;
    uint8_t cand_type, state;
    double score, dist_km;
    int64_t created_ms, updated_ms;
} kb_pairing_t;

struct kb_engine {
    kb_store_t store;
    kb_index_t cand_ix[2]; /* volunteers, activities; keys: skills, languages */
    kb_index_t need_ix;    /* every live need, no keys */
    kb_route_t route;      /* subscriptions, for offering new needs */
    kb_pool_t pairings;
    uint64_t next_pairing; /* sequence for match ids */
    uint32_t pairs_by_state[4];
    uint32_t needs_by_state[3];
    kb_matcher_t matcher;
    uint64_t *paired_buf; /* scratch for kb_query_t.paired */
    uint32_t paired_cap;
    kb_weights_t weights;
    int max_json_depth;
    int64_t clock_ms; /* 0: real time */
    kb_engine_journal_fn journal;
    void *journal_ctx;
    bool replaying; /* in kb_engine_apply: do not journal again */
    /* In kb_engine_put_text: the body as the client sent it, which the
     * journal record takes verbatim instead of encoding the parsed body. */
    const char *put_text;
    size_t put_text_len;
    /* Where kb_engine_put_text's parse of the body allocates (scratch.h):
     * the tree is freed before the put returns. */
    kb_scratch_t scratch;
    int64_t restore_ms; /* the instant of the snapshot being restored */
    kb_engine_event_fn events;
    void *events_ctx;
    /* In kb_engine_restore: emit nothing. Separate from `replaying`, since
     * a journal replay must emit (it regenerates unpublished events) while
     * a snapshot holds results whose events went out long ago. */
    bool restoring;
    /* kb_engine_restore_bin stores candidates without indexing them: slots
     * [unindexed_from[t], used) of pool t are indexed together, cell by
     * cell, by kb_engine_restore_index. */
    bool unindexed[2];
    uint32_t unindexed_from[2];
};

/* v rounded to digits decimals, for answers (ordering uses exact values). */
static inline double kb_round(double v, int digits) {
    double scale = digits == 2 ? 100.0 : 10000.0;
    return round(v * scale) / scale;
}

int64_t kb_engine_now_ms(const kb_engine_t *e);
/* Write entry points pin the clock for their duration, so one write sees
 * one instant and its journal record carries it. Returns what to restore. */
int64_t kb_engine_pin_clock(kb_engine_t *e);
/* Journals a validated write: fmt and the arguments build the op object
 * with json_pack ("ts" is added). 0, or a 503 fault if the hook failed. */
int kb_engine_log(kb_engine_t *e, kb_fault_t *f, const char *fmt, ...);
/* Journals a write given as the op's JSON text already (with "ts"). */
int kb_engine_log_text(kb_engine_t *e, kb_fault_t *f, const char *op, size_t len);
/* Whether events are wanted now: callers check it before building an
 * event's data, so an engine without a hook builds nothing. */
static inline bool kb_engine_emits(const kb_engine_t *e) { return e->events && !e->restoring; }
/* Hands one event to the hook, at the write's pinned instant; data is
 * stolen (NULL, out of memory while building it, is passed on as NULL so
 * the event is not lost unseen). Emit once the change is made, in the order
 * changes are made. The hook runs in the middle of a write, so it must not
 * call back into the engine. */
void kb_engine_emit(kb_engine_t *e, const char *stream, const char *event, json_t *data);
/* "volunteer", "activity", "need", "organisation". */
const char *kb_engine_entity_name(kb_entity_t t);
/* Adds candidate c (in slot) to its index; on failure the index is as it was. */
int kb_engine_index_cand(kb_engine_t *e, const kb_cand_t *c, uint32_t slot);
/* The pool that holds entities of type t. */
kb_pool_t *kb_engine_pool(const kb_engine_t *e, kb_entity_t t);
/* Snapshot records of the matches (dump.c has the whole picture). */
int kb_lifecycle_dump(const kb_engine_t *e, kb_engine_dump_fn fn, void *ctx);
int kb_lifecycle_restore(kb_engine_t *e, const json_t *rec, kb_fault_t *f);
void kb_engine_today(const kb_engine_t *e, int32_t *today, int *year);
/* Prepares q for need n (which may be a what-if need with no slot). */
int kb_engine_query(kb_engine_t *e, const kb_need_t *n, kb_query_t *q);
/* Ends the proposed and accepted matches of a need or candidate that is
 * about to be deleted and detaches all its matches. */
void kb_lifecycle_detach_need(kb_engine_t *e, uint32_t need_slot);
void kb_lifecycle_detach_cand(kb_engine_t *e, int type, uint32_t slot);
/* Ends the proposals (not accepted matches) of a need being closed. */
void kb_lifecycle_end_proposals(kb_engine_t *e, uint32_t need_slot);
void kb_lifecycle_free(kb_engine_t *e);
/* Recomputes a need's state from its accepted count (unless closed).
 * Returns whether it reopened (matched -> open): the caller offers it
 * again once its own events are out, so events keep the order of things. */
bool kb_need_settle(kb_engine_t *e, kb_need_t *n);
/* Emits need.offered to each organisation with a subscription n satisfies. */
void kb_engine_offer(kb_engine_t *e, const kb_need_t *n);
/* The pseudonymised need of a need.offered event (new reference). */
json_t *kb_engine_offer_json(const kb_engine_t *e, const kb_need_t *n);

#endif
