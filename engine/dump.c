/* dump.c — the whole state as a list of JSON records, and back.
 *
 * Unlike the journal, which holds commands, a snapshot holds results: the
 * stored objects and matches as they are, so restoring never re-runs a
 * decision (a proposal made when a certificate was still valid must be
 * restored even if it has expired since). Order matters and is fixed:
 *
 *   {"kind":"engine","version":1,"ts":ms,"next_pairing":n}
 *   {"kind":"tokens","names":[...]}                  ids in interning order
 *   {"kind":"organisation"|"volunteer"|"activity"|"need","id":...,"body":{...}}
 *   {"kind":"match","id":...,"need_id":...,"need_attached":true,...}
 *
 * Tokens come first and keep their ids, so a restored engine is the same
 * engine, down to the bit masks matching uses. Entities are restored
 * through the ordinary put (at the snapshot's instant, not journaled);
 * then a need's server-side fields; matches last, since they point at
 * both sides and carry the capacity taken. Restoring emits no events. */
#include "core.h"

#include <string.h>

#define DUMP_VERSION 1

static int emit(kb_engine_dump_fn fn, void *ctx, json_t *rec) {
    if (!rec) return KB_ENOMEM;
    int rc = fn(ctx, rec);
    json_decref(rec);
    return rc;
}

/* Every live entity of type t, as GET returns it. A free slot's record is
 * all zero, so its id is NULL. */
static int dump_entities(const kb_engine_t *e, kb_entity_t t, kb_engine_dump_fn fn, void *ctx) {
    const kb_pool_t *p = kb_engine_pool(e, t);
    for (uint32_t slot = 0; slot < p->used; slot++) {
        const char *id =
            *(char *const *)((const char *)p->recs + (size_t)slot * p->elem + p->id_off);
        if (!id) continue;
        json_t *body = NULL;
        kb_fault_t f;
        if (kb_engine_get(e, t, id, &body, &f) < 0) return KB_ENOMEM;
        int rc = emit(
            fn, ctx,
            json_pack("{s:s, s:s, s:o}", "kind", kb_engine_entity_name(t), "id", id, "body", body));
        if (rc < 0) return rc;
    }
    return 0;
}

int kb_engine_dump(const kb_engine_t *e, kb_engine_dump_fn fn, void *ctx) {
    int rc = emit(fn, ctx,
                  json_pack("{s:s, s:i, s:I, s:I}", "kind", "engine", "version", DUMP_VERSION, "ts",
                            (json_int_t)kb_engine_now_ms(e), "next_pairing",
                            (json_int_t)e->next_pairing));
    if (rc < 0) return rc;
    json_t *names = json_array();
    const kb_intern_t *tokens = &e->store.tokens;
    for (uint32_t i = 0; names && i < tokens->count; i++)
        if (json_array_append_new(names, json_string(kb_intern_name(tokens, i))) < 0) {
            json_decref(names);
            names = NULL;
        }
    if (!names ||
        (rc = emit(fn, ctx, json_pack("{s:s, s:o}", "kind", "tokens", "names", names))) < 0)
        return names ? rc : KB_ENOMEM;
    static const kb_entity_t order[] = {KB_ENT_ORGANISATION, KB_ENT_VOLUNTEER, KB_ENT_ACTIVITY,
                                        KB_ENT_NEED, KB_ENT_SUBSCRIPTION};
    for (int i = 0; i < 5; i++)
        if ((rc = dump_entities(e, order[i], fn, ctx)) < 0) return rc;
    return kb_lifecycle_dump(e, fn, ctx);
}

static int bad(kb_fault_t *f, const char *what) {
    return kb_fault(f, KB_ECORRUPT, 500, "bad_snapshot_record", NULL, "%s", what);
}

static int restore_tokens(kb_engine_t *e, const json_t *names, kb_fault_t *f) {
    if (!json_is_array(names) || e->store.tokens.count != 0)
        return bad(f, "tokens must come once, before any entity");
    size_t i;
    json_t *v;
    json_array_foreach(names, i, v) {
        uint32_t id;
        const char *name = json_string_value(v);
        if (!name) return bad(f, "a token is not a string");
        int rc = kb_intern_add(&e->store.tokens, name, &id);
        if (rc < 0) return kb_fault(f, rc, 503, "out_of_memory", NULL, "out of memory");
        if (id != i) return bad(f, "a token appears twice");
    }
    return 0;
}

/* A need's fields the server keeps: when it was made, and closed. */
static void restore_need_state(kb_engine_t *e, const char *id, const json_t *body) {
    kb_need_t *n = kb_store_need(&e->store, kb_pool_find(&e->store.needs, id));
    int64_t created;
    if (kb_codec_parse_timestamp(json_string_value(json_object_get(body, "created_at")),
                                 &created) == 0)
        n->created_at_ms = created;
    const char *state = json_string_value(json_object_get(body, "state"));
    if (state && !strcmp(state, "closed")) {
        e->needs_by_state[n->state]--;
        e->needs_by_state[KB_NEED_CLOSED]++;
        n->state = KB_NEED_CLOSED;
    }
}

static int restore_record(kb_engine_t *e, const json_t *rec, kb_fault_t *f) {
    const char *kind = json_string_value(json_object_get(rec, "kind"));
    if (!kind) return bad(f, "a snapshot record has no kind");
    if (!strcmp(kind, "engine")) {
        json_t *ts = json_object_get(rec, "ts"), *next = json_object_get(rec, "next_pairing");
        if (json_integer_value(json_object_get(rec, "version")) != DUMP_VERSION)
            return kb_fault(f, KB_EVERSION, 500, "bad_snapshot_record", NULL,
                            "the snapshot's engine records are of an unknown version");
        if (!json_is_integer(ts) || json_integer_value(ts) <= 0 || !json_is_integer(next) ||
            json_integer_value(next) < 1)
            return bad(f, "the engine record lacks ts or next_pairing");
        e->restore_ms = json_integer_value(ts);
        e->next_pairing = (uint64_t)json_integer_value(next);
        return 0;
    }
    if (!e->restore_ms) return bad(f, "the engine record must come first");
    if (!strcmp(kind, "tokens")) return restore_tokens(e, json_object_get(rec, "names"), f);
    if (!strcmp(kind, "match")) return kb_lifecycle_restore(e, rec, f);
    for (int t = 0; t <= KB_ENT_SUBSCRIPTION; t++) {
        if (strcmp(kind, kb_engine_entity_name((kb_entity_t)t))) continue;
        const char *id = json_string_value(json_object_get(rec, "id"));
        json_t *body = json_object_get(rec, "body"), *out = NULL;
        if (!id || !json_is_object(body)) return bad(f, "an entity record lacks id or body");
        if (kb_pool_find(kb_engine_pool(e, (kb_entity_t)t), id) != KB_NO_SLOT)
            return bad(f, "an entity appears twice");
        int64_t saved = e->clock_ms;
        e->clock_ms = e->restore_ms;
        e->replaying = true;
        bool created;
        int rc = kb_engine_put(e, (kb_entity_t)t, id, body, &out, &created, f);
        e->replaying = false;
        e->clock_ms = saved;
        json_decref(out);
        if (rc == 0 && t == KB_ENT_NEED) restore_need_state(e, id, body);
        return rc;
    }
    return bad(f, "a snapshot record has an unknown kind");
}

/* A snapshot holds results whose events were emitted when they happened;
 * restoring them emits nothing (journal replay, in contrast, does). */
int kb_engine_restore(kb_engine_t *e, const json_t *rec, kb_fault_t *f) {
    e->restoring = true;
    int rc = restore_record(e, rec, f);
    e->restoring = false;
    return rc;
}
