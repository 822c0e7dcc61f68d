/* oplog.c — writes as journal records, and their replay.
 *
 * The journal holds commands, not resulting states: "put this body at
 * this instant", "accept m-7 at this instant". A command replayed on the
 * same state at the same instant makes the same decisions, so recovery is
 * the write path run again, and there is one piece of code for validating
 * and applying a write, not two. The price: a replayed command must still
 * pass validation, so validation may only get looser between versions, or
 * old journals need a snapshot first (see DESIGN.md "Durability"). */
#include "core.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void kb_engine_set_journal(kb_engine_t *e, kb_engine_journal_fn fn, void *ctx) {
    e->journal = fn;
    e->journal_ctx = ctx;
}

int64_t kb_engine_pin_clock(kb_engine_t *e) {
    int64_t saved = e->clock_ms;
    if (!saved) e->clock_ms = kb_engine_now_ms(e);
    return saved;
}

int kb_engine_log(kb_engine_t *e, kb_fault_t *f, const char *fmt, ...) {
    if (!e->journal || e->replaying) return 0;
    va_list ap;
    va_start(ap, fmt);
    json_t *op = json_vpack_ex(NULL, 0, fmt, ap);
    va_end(ap);
    if (!op || json_object_set_new(op, "ts", json_integer(kb_engine_now_ms(e))) < 0) {
        json_decref(op);
        return kb_fault(f, KB_ENOMEM, 503, "out_of_memory", NULL, "the server is out of memory");
    }
    char *text = json_dumps(op, JSON_COMPACT);
    json_decref(op);
    if (!text)
        return kb_fault(f, KB_ENOMEM, 503, "out_of_memory", NULL, "the server is out of memory");
    int rc = kb_engine_log_text(e, f, text, strlen(text));
    free(text);
    return rc;
}

int kb_engine_log_text(kb_engine_t *e, kb_fault_t *f, const char *op, size_t len) {
    if (!e->journal || e->replaying) return 0;
    int rc = e->journal(e->journal_ctx, op, len);
    if (rc < 0)
        return kb_fault(f, rc, 503, "journal_failed", NULL,
                        "the change could not be written to disk, so it was not made");
    return 0;
}

static const char *const entity_names[] = {"volunteer", "activity", "need", "organisation",
                                           "subscription"};

const char *kb_engine_entity_name(kb_entity_t t) { return entity_names[t]; }

static int entity_of(const char *name, kb_entity_t *t) {
    for (int i = 0; i < 5; i++) {
        if (name && !strcmp(name, entity_names[i])) {
            *t = (kb_entity_t)i;
            return 0;
        }
    }
    return KB_EINVAL;
}

static int bad_record(kb_fault_t *f, const char *what) {
    return kb_fault(f, KB_ECORRUPT, 500, "bad_journal_record", NULL, "%s", what);
}

int kb_engine_apply(kb_engine_t *e, const json_t *op, kb_fault_t *f) {
    const char *name = json_string_value(json_object_get(op, "op"));
    const char *id = json_string_value(json_object_get(op, "id"));
    json_t *body = json_object_get(op, "body"), *ts = json_object_get(op, "ts"), *out = NULL;
    /* ts becomes created_at and updated_at, which a snapshot must read back. */
    if (!name || !json_is_integer(ts) || json_integer_value(ts) <= 0 ||
        json_integer_value(ts) > KB_CODEC_MS_MAX)
        return bad_record(f, "a journal record lacks op or ts");
    kb_entity_t t = KB_ENT_VOLUNTEER;
    int rc;
    int64_t saved = e->clock_ms;
    e->clock_ms = json_integer_value(ts);
    e->replaying = true;
    if (!strcmp(name, "put")) {
        bool created;
        rc = entity_of(json_string_value(json_object_get(op, "entity")), &t) < 0 || !id || !body
                 ? bad_record(f, "a put record lacks entity, id or body")
                 : kb_engine_put(e, t, id, body, &out, &created, f);
    } else if (!strcmp(name, "delete")) {
        rc = entity_of(json_string_value(json_object_get(op, "entity")), &t) < 0 || !id
                 ? bad_record(f, "a delete record lacks entity or id")
                 : kb_engine_delete(e, t, id, f);
    } else if (!strcmp(name, "close")) {
        rc = id ? kb_engine_close_need(e, id, &out, f) : bad_record(f, "a close record lacks id");
    } else if (!strcmp(name, "propose")) {
        rc = body ? kb_engine_propose(e, body, &out, f)
                  : bad_record(f, "a propose record lacks body");
    } else if (!strcmp(name, "step")) {
        const char *step = json_string_value(json_object_get(op, "step"));
        rc = id && step ? kb_engine_match_step(e, id, step, &out, f)
                        : bad_record(f, "a step record lacks id or step");
    } else {
        rc = bad_record(f, "a journal record has an unknown op");
    }
    e->replaying = false;
    e->clock_ms = saved;
    json_decref(out);
    return rc;
}
