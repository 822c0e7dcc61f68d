/* engine.h — libkoble's public API: an in-memory matching engine.
 *
 * The engine holds needs, volunteers, organisations, activities and the
 * matches between them, and answers ranked, explained match queries. Its
 * interface speaks the public JSON contract (DESIGN.md, proto/), so the
 * daemon is a thin HTTP layer over it and tests and benchmarks drive
 * exactly the code the daemon runs.
 *
 * Threading: an engine belongs to one thread (kobled's event loop); no call
 * blocks or locks.
 *
 * Errors: functions return 0 or a negative KB_E* code; on error *f says
 * what to tell the client (status, code, field, message) and the engine
 * is unchanged: a rejected write changes nothing.
 *
 * Ownership: every json_t ** out-parameter receives a new reference the
 * caller must json_decref(); json_t * inputs are borrowed. */
#ifndef KOBLE_ENGINE_H
#define KOBLE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "koble/error.h"

typedef struct kb_engine kb_engine_t;
typedef struct kb_fault kb_fault_t; /* see fault.h */

typedef enum kb_entity {
    KB_ENT_VOLUNTEER,
    KB_ENT_ACTIVITY,
    KB_ENT_NEED,
    KB_ENT_ORGANISATION,
    KB_ENT_SUBSCRIPTION, /* an organisation's interest in new needs */
} kb_entity_t;

typedef struct kb_engine_opts {
    /* Score weights: skills, distance, availability, age, experience, load
     * (DESIGN.md defaults 3, 2, 2, 1, 1, 1). Each >= 0, sum > 0. */
    double weights[6];
    int max_json_depth; /* nesting bound for request bodies */
} kb_engine_opts_t;

typedef struct kb_match_opts {
    uint32_t limit; /* 1..100, default 10 */
    bool explain;   /* add components and exclusion counts */
    /* The reverse query (kb_engine_volunteer_needs) offers only needs in
     * these municipalities (4-digit codes): a caseworker's scope. NULL: all. */
    const char (*munis)[5];
    unsigned nmunis;
} kb_match_opts_t;

void kb_engine_opts_default(kb_engine_opts_t *o);
int kb_engine_new(const kb_engine_opts_t *o, kb_engine_t **out);
void kb_engine_free(kb_engine_t *e);
/* Fixes the engine's clock (ms since the epoch) for tests; 0 = real time.
 * "Today" decides child certificates and ages. */
void kb_engine_set_clock(kb_engine_t *e, int64_t now_ms);

/* Whose an entity is, for access control: the org_id of a volunteer,
 * activity or subscription, the municipality of a need, the id of an
 * organisation; "" for one that belongs to no organisation. NULL if there is
 * no such entity. The string belongs to the engine and is valid until its
 * next write. */
const char *kb_engine_owner(const kb_engine_t *e, kb_entity_t t, const char *id);
/* The municipality of a match's need and the org_id of its candidate ("" if
 * it has none); each NULL once that entity is deleted. KB_ENOTFOUND if there is no such match.
 * Valid until the engine's next write. */
int kb_engine_match_owners(const kb_engine_t *e, const char *match_id, const char **municipality,
                           const char **org_id);

/* Parses a request body (malformed JSON, duplicate keys, too deep: 400). */
int kb_engine_parse(const kb_engine_t *e, const char *body, size_t len, json_t **out,
                    kb_fault_t *f);

/* PUT: create (*created = true) or replace; *out is the stored object. */
int kb_engine_put(kb_engine_t *e, kb_entity_t t, const char *id, const json_t *body, json_t **out,
                  bool *created, kb_fault_t *f);
/* PUT from the body text as received: kb_engine_parse, then
 * kb_engine_put; the journal record carries text as it is (see
 * kb_engine_set_journal). On success *answer is the stored object as
 * compact JSON text (reals with 15 digits) and a newline, *answer_len
 * its length: malloc'ed, the caller frees it. */
int kb_engine_put_text(kb_engine_t *e, kb_entity_t t, const char *id, const char *text, size_t len,
                       char **answer, size_t *answer_len, bool *created, kb_fault_t *f);
int kb_engine_get(const kb_engine_t *e, kb_entity_t t, const char *id, json_t **out, kb_fault_t *f);
/* DELETE: a deleted need or candidate ends its proposed and accepted
 * matches (freeing capacity) first. */
int kb_engine_delete(kb_engine_t *e, kb_entity_t t, const char *id, kb_fault_t *f);
/* Closes a need: it leaves suggestions; its proposals are ended. */
int kb_engine_close_need(kb_engine_t *e, const char *id, json_t **out, kb_fault_t *f);

/* The ranked queries answer with text, written without building a
 * Jansson object (the answers of the hot read path): on success *answer
 * is compact JSON text (reals with 15 digits, as json_dumps would write
 * them) and a newline, *answer_len its length; malloc'ed, the caller
 * frees it. On failure *answer is NULL and f says why. */
/* GET /v1/needs/{id}/matches */
int kb_engine_matches_text(kb_engine_t *e, const char *need_id, const kb_match_opts_t *o,
                           char **answer, size_t *answer_len, kb_fault_t *f);
/* POST /v1/match: the same for a need body that is not stored. */
int kb_engine_what_if_text(kb_engine_t *e, const json_t *need_body, const kb_match_opts_t *o,
                           char **answer, size_t *answer_len, kb_fault_t *f);
/* GET /v1/volunteers/{id}/needs: open needs that fit a volunteer. */
int kb_engine_volunteer_needs_text(kb_engine_t *e, const char *volunteer_id,
                                   const kb_match_opts_t *o, char **answer, size_t *answer_len,
                                   kb_fault_t *f);
/* The same answers as JSON values (the text parsed; *out a new
 * reference), for callers in-process. */
int kb_engine_matches(kb_engine_t *e, const char *need_id, const kb_match_opts_t *o, json_t **out,
                      kb_fault_t *f);
int kb_engine_what_if(kb_engine_t *e, const json_t *need_body, const kb_match_opts_t *o,
                      json_t **out, kb_fault_t *f);
int kb_engine_volunteer_needs(kb_engine_t *e, const char *volunteer_id, const kb_match_opts_t *o,
                              json_t **out, kb_fault_t *f);

/* POST /v1/matches: propose a need × candidate pair (409 if a hard
 * constraint fails). */
int kb_engine_propose(kb_engine_t *e, const json_t *body, json_t **out, kb_fault_t *f);
/* POST /v1/matches/{id}/{step}, step "accept", "decline" or "end". */
int kb_engine_match_step(kb_engine_t *e, const char *match_id, const char *step, json_t **out,
                         kb_fault_t *f);
int kb_engine_match_get(const kb_engine_t *e, const char *match_id, json_t **out, kb_fault_t *f);

/* ---- durability ----
 *
 * Every write (put, delete, close, propose, match step), once validated and
 * before it changes anything, is handed to the journal hook as one JSON
 * object, borrowed for the call:
 *
 *   {"op":"put","entity":"volunteer","id":"v-1","ts":1764079200000,"body":{...}}
 *   {"op":"delete","entity":"need","id":"n-1","ts":...}
 *   {"op":"close","id":"n-1","ts":...}
 *   {"op":"propose","ts":...,"body":{"need_id":...,"candidate":{...}}}
 *   {"op":"step","id":"m-1","step":"accept","ts":...}
 *
 * The hook gets the object as compact JSON text (op, len: not
 * NUL-terminated), borrowed for the call: a put made with
 * kb_engine_put_text carries its body as the client sent it, so the
 * write path never encodes a body again (kb_engine_apply parses both
 * forms alike).
 *
 * `ts` is the instant the write ran at (one per write). If the hook
 * returns an error the write is refused with 503 "journal_failed" and the
 * engine is unchanged. kb_engine_apply replays such an object with the
 * clock at its ts, so the engine makes the same decisions and assigns the
 * same ids and timestamps as the first time; it does not call the hook. */
typedef int (*kb_engine_journal_fn)(void *ctx, const char *op, size_t len);
void kb_engine_set_journal(kb_engine_t *e, kb_engine_journal_fn fn, void *ctx);
int kb_engine_apply(kb_engine_t *e, const json_t *op, kb_fault_t *f);

/* ---- events ----
 *
 * Writes that change what other services follow produce events, in the
 * order they happen, through the event hook (when a write runs and when it
 * is replayed from the journal, never when a snapshot is restored):
 *
 *   stream "needs":   "need.created", "need.updated" (PUT), "need.closed"
 *                     (POST .../close); data: the need as GET returns it
 *   stream "org:<org_id>:needs": "need.offered" when a need is created or
 *                     reopens (matched -> open) and satisfies one or more of
 *                     the organisation's subscriptions: once per organisation;
 *                     data: the need pseudonymised (kb_engine_offer_json)
 *   stream "matches": "match.proposed", "match.accepted", "match.declined",
 *                     "match.ended" (an explicit end, and the proposals and
 *                     matches a close or a delete ends); data: the match
 *                     as GET /v1/matches/{id} returns it
 *
 * ts is the write's instant (ms), the same on replay. data is borrowed for
 * the call, and NULL only if building it ran out of memory (the event
 * still happened). A rejected write produces no event. The hook runs in
 * the middle of a write and must not call back into the engine. */
typedef void (*kb_engine_event_fn)(void *ctx, const char *stream, const char *event, int64_t ts,
                                   const json_t *data);
void kb_engine_set_events(kb_engine_t *e, kb_engine_event_fn fn, void *ctx);

/* POST /v1/assignments: the optimal assignment of the open needs in scope
 * ({"municipality"} or {"need_ids"}, else all) to candidates, optionally
 * proposing its pairs ("propose": true). See batch.c. */
int kb_engine_assign(kb_engine_t *e, const json_t *body, json_t **out, kb_fault_t *f);

/* Snapshots: kb_engine_dump calls fn with every record of the state, in
 * an order kb_engine_restore can replay into an empty engine to get the
 * same state back (records: see dump.c). A negative return from fn stops
 * the dump and is returned. The records are results, not commands, so
 * restoring never re-decides anything. */
typedef int (*kb_engine_dump_fn)(void *ctx, const json_t *rec);
int kb_engine_dump(const kb_engine_t *e, kb_engine_dump_fn fn, void *ctx);
int kb_engine_restore(kb_engine_t *e, const json_t *rec, kb_fault_t *f);
/* The same with volunteers and activities as compact binary records
 * passed to bin (machine byte order), restored by kb_engine_restore_bin:
 * what snapshots use, since candidates are nearly all of a large state. */
typedef int (*kb_engine_bin_fn)(void *ctx, const void *rec, size_t len);
int kb_engine_dump_bin(const kb_engine_t *e, kb_engine_dump_fn fn, kb_engine_bin_fn bin, void *ctx);
int kb_engine_restore_bin(kb_engine_t *e, const void *rec, size_t len, kb_fault_t *f);
/* Candidates restored by kb_engine_restore_bin are stored at once but
 * indexed only here, cell by cell (a snapshot lists them so): call it
 * after the last one. kb_engine_restore calls it itself first. 0 or
 * KB_ENOMEM (f says so). */
int kb_engine_restore_index(kb_engine_t *e, kb_fault_t *f);
/* Makes room for count[0] volunteers and count[1] activities about to be
 * restored (a snapshot counts its records first),
 * so the pools and id tables grow once. 0 or KB_ENOMEM (f says so). */
int kb_engine_restore_reserve(kb_engine_t *e, const uint32_t count[2], kb_fault_t *f);

/* Finishes up to max cells of the index that writes left partly laid
 * out (engine/index.h): 2.5 ms for a cell of 10,000 candidates. Returns
 * how many; 0 when none is left. Matching answers the same either way,
 * only faster after. */
uint32_t kb_engine_tidy(kb_engine_t *e, uint32_t max);

/* Counts, index sizes and memory, as GET /v1/stats answers. */
json_t *kb_engine_stats(const kb_engine_t *e);
/* Number of live entities of type t. */
uint32_t kb_engine_count(const kb_engine_t *e, kb_entity_t t);

#endif
