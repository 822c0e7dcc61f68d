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
#include "iso639.h"

#include <stdlib.h>
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

/* ---- candidates in binary ----
 *
 * Volunteers and activities are nearly all of a large state, and turning
 * them into JSON and back (parse, then the full decoder) made recovery
 * take ~20 s per million. In binary they are copied field by field and
 * indexed, nothing more. Layout (machine byte order: a snapshot is read on
 * the kind of machine that wrote it):
 *
 *   u8 type, u8 active, u16 capacity, i16 birth_year, u8 age_min, u8 age_max,
 *   i32 cert_until, u32 avail, f32 max_km, f64 lat, f64 lon,
 *   u16 id, org_id, title lengths, u16 skills, langs, exp counts,
 *   the three strings, then the token ids (u32) of the three lists. */

#define BIN_HEAD 48

/* v may be NULL when n is 0 (an empty token list): memcpy may not see it. */
static char *put(char *p, const void *v, size_t n) {
    if (n) memcpy(p, v, n);
    return p + n;
}

/* Candidates go out cell by cell, so that restoring them fills one cell
 * of the index after the other while it is in the cache (in slot order,
 * each insert would land in a random cell). Slots are internal: nothing a
 * client sees depends on them. */
static int dump_cands_bin(const kb_engine_t *e, int type, kb_engine_bin_fn bin, void *ctx) {
    const kb_index_t *ix = &e->cand_ix[type];
    size_t cap = 512;
    char *buf = malloc(cap);
    if (!buf) return KB_ENOMEM;
    int rc = 0;
    for (uint32_t cell = 0; rc == 0 && cell < ix->ncells; cell++) {
        const kb_cell_t *cl = &ix->cells[cell];
        for (uint32_t m = 0; rc == 0 && m < cl->npos; m++) {
            if (kb_cell_is_free(cl, m)) continue;
            const kb_cand_t *c = kb_store_cand(&e->store, type, cl->members[m]);
            uint16_t lens[3] = {(uint16_t)strlen(c->id),
                                (uint16_t)(c->org_id ? strlen(c->org_id) : 0),
                                (uint16_t)(c->title ? strlen(c->title) : 0)};
            const kb_toks_t *lists[3] = {&c->skills, &c->langs, &c->exp};
            size_t need = BIN_HEAD + lens[0] + lens[1] + lens[2] +
                          4 * ((size_t)lists[0]->n + lists[1]->n + lists[2]->n);
            if (need > cap) {
                char *grown = realloc(buf, need);
                if (!grown) {
                    rc = KB_ENOMEM;
                    break;
                }
                buf = grown;
                cap = need;
            }
            uint8_t t = c->type, active = c->active;
            char *w = buf;
            w = put(w, &t, 1);
            w = put(w, &active, 1);
            w = put(w, &c->capacity, 2);
            w = put(w, &c->birth_year, 2);
            w = put(w, &c->age_min, 1);
            w = put(w, &c->age_max, 1);
            w = put(w, &c->cert_until, 4);
            w = put(w, &c->avail, 4);
            w = put(w, &c->max_km, 4);
            w = put(w, &c->pos.lat, 8);
            w = put(w, &c->pos.lon, 8);
            w = put(w, lens, sizeof lens);
            for (int k = 0; k < 3; k++) w = put(w, &lists[k]->n, 2);
            w = put(w, c->id, lens[0]);
            w = put(w, c->org_id ? c->org_id : "", lens[1]);
            w = put(w, c->title ? c->title : "", lens[2]);
            for (int k = 0; k < 3; k++) w = put(w, lists[k]->ids, 4 * (size_t)lists[k]->n);
            rc = bin(ctx, buf, (size_t)(w - buf));
        }
    }
    free(buf);
    return rc;
}

static int bad_bin(kb_fault_t *f) {
    return kb_fault(f, KB_ECORRUPT, 500, "bad_snapshot_record", NULL,
                    "a binary candidate record does not fit the engine");
}

/* Whether the id, org_id and title at p (lengths lens) are what the codec
 * takes for a candidate of type: ids of id characters, the title text. */
static bool bin_text_ok(const char *p, const uint16_t lens[3], uint8_t type) {
    for (int k = 0; k < 2; k++) {
        if (k == 1 && lens[1] == 0 && type == KB_VOLUNTEER) break; /* org_id is optional */
        if (!kb_codec_id_valid_n(p, lens[k])) return false;
        p += lens[k];
    }
    if (type == KB_VOLUNTEER) return lens[2] == 0;
    return kb_codec_text_valid(p, lens[2]);
}

int kb_engine_restore_bin(kb_engine_t *e, const void *rec, size_t len, kb_fault_t *f) {
    if (!e->restore_ms || len < BIN_HEAD) return bad_bin(f);
    const char *r = rec;
    kb_cand_t c = {0};
    uint8_t type, active;
    double lat, lon;
    uint16_t lens[3], counts[3];
    memcpy(&type, r, 1);
    memcpy(&active, r + 1, 1);
    memcpy(&c.capacity, r + 2, 2);
    memcpy(&c.birth_year, r + 4, 2);
    memcpy(&c.age_min, r + 6, 1);
    memcpy(&c.age_max, r + 7, 1);
    memcpy(&c.cert_until, r + 8, 4);
    memcpy(&c.avail, r + 12, 4);
    memcpy(&c.max_km, r + 16, 4);
    memcpy(&lat, r + 20, 8);
    memcpy(&lon, r + 28, 8);
    memcpy(lens, r + 36, 6);
    memcpy(counts, r + 42, 6);
    size_t want = BIN_HEAD + (size_t)lens[0] + lens[1] + lens[2] +
                  4 * ((size_t)counts[0] + counts[1] + counts[2]);
    if (type > KB_ACTIVITY || want != len || lens[0] == 0) return bad_bin(f);
    /* The file passed its checksum but is not trusted further: what the
     * codec would refuse must not reach the index (a NaN or infinite
     * position breaks the grid arithmetic). A birth year is checked
     * against the last year the codec knows, not today: a clock set back
     * must not make a snapshot unreadable. */
    if (!(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180) ||
        (type == KB_VOLUNTEER ? !(c.max_km >= 0.001 && c.max_km <= 500) : c.max_km != 0) ||
        c.capacity < 1 || c.capacity > 1000 || c.age_min > 120 || c.age_max > 120 ||
        c.age_min > c.age_max || (c.avail >> KB_SLOT_COUNT) != 0 ||
        (c.birth_year != 0 && (c.birth_year < 1900 || c.birth_year > 2200 - 13)) ||
        counts[0] > KB_CODEC_TOKENS_MAX || counts[1] > KB_CODEC_LANGS_MAX ||
        counts[2] > KB_CODEC_TOKENS_MAX ||
        (c.cert_until != KB_NO_DATE && (c.cert_until < KB_DATE_MIN || c.cert_until > KB_DATE_MAX)))
        return bad_bin(f);
    const char *p = r + BIN_HEAD;
    if (lens[0] > KB_ID_MAX || !bin_text_ok(p, lens, type)) return bad_bin(f);
    kb_pool_t *pool = &e->store.cands[type];
    /* The id's slot in the pool's dictionary is a cache miss: start it
     * now, so that it overlaps the copying below rather than stall
     * kb_pool_adopt. */
    kb_dict_prefetch(&pool->ids, p, lens[0]);
    c.type = type;
    c.active = active != 0;
    c.live = true;
    kb_point_set(&c.pos, lat, lon);
    c.max_chord2 = type == KB_VOLUNTEER ? kb_geo_chord2_of_km(c.max_km) : 4.0;
    /* The token lists, then the three strings (each with its NUL), in one
     * piece of the store's arena (store.h): no malloc per candidate. A
     * record refused below leaves its piece unused; the engine being
     * restored is thrown away then anyway. */
    size_t nids = (size_t)counts[0] + counts[1] + counts[2];
    char *mem = kb_arena_alloc(&e->store.arena, 4 * nids + lens[0] + lens[1] + lens[2] + 3, 4);
    if (!mem) return kb_fault(f, KB_ENOMEM, 503, "out_of_memory", NULL, "out of memory");
    c.in_arena = true;
    uint32_t *ids = (uint32_t *)(void *)mem;
    memcpy(ids, p + lens[0] + lens[1] + lens[2], 4 * nids);
    char *text = mem + 4 * nids, *id = text;
    for (int k = 0; k < 3; k++) {
        memcpy(text, p, lens[k]);
        text[lens[k]] = '\0';
        if (k == 1 && lens[1]) c.org_id = text;
        if (k == 2 && lens[2]) c.title = text;
        p += lens[k];
        text += lens[k] + 1;
    }
    kb_toks_t *lists[3] = {&c.skills, &c.langs, &c.exp};
    int rc = 0;
    for (int k = 0; k < 3; k++) {
        lists[k]->n = counts[k];
        lists[k]->ids = counts[k] ? ids : NULL;
        /* Ids known, ascending and unique (the set operations merge), and
         * languages ISO 639-1 codes. */
        for (unsigned i = 0; i < counts[k]; i++)
            if (ids[i] >= e->store.tokens.count || (i > 0 && ids[i] <= ids[i - 1]) ||
                (k == 1 && !kb_iso639_1_valid(kb_intern_name(&e->store.tokens, ids[i]))))
                rc = KB_ECORRUPT;
        ids += counts[k];
    }
    kb_cand_derive(&c);
    uint32_t slot;
    /* Indexed later, with its cell (kb_engine_restore_index), as long as
     * slots come in order: a pool being restored has no free ones. */
    bool later = pool->nfree == 0;
    /* The pool takes the id in the arena as it is (KB_ECONFLICT: listed
     * twice). */
    if (rc == 0) rc = kb_pool_adopt(pool, id, lens[0], &slot);
    if (rc == 0) {
        c.id = id;
        if (later) {
            if (!e->unindexed[type]) e->unindexed_from[type] = slot;
            e->unindexed[type] = true;
        } else if (kb_engine_index_cand(e, &c, slot) < 0) {
            kb_pool_release(pool, slot);
            rc = KB_ENOMEM;
        }
    }
    if (rc < 0) {
        kb_cand_clear(&c);
        return rc == KB_ECORRUPT || rc == KB_ECONFLICT
                   ? bad_bin(f)
                   : kb_fault(f, rc, 503, "out_of_memory", NULL, "out of memory");
    }
    *kb_store_cand(&e->store, type, slot) = c;
    return 0;
}

/* Indexes the slots [from, to) of candidate pool type, a run of the same
 * cell at a time. */
static int index_range(kb_engine_t *e, int type, uint32_t from, uint32_t to) {
    /* One buffer: a run's slots, then its n + 1 key offsets, then up to
     * KB_INDEX_MAX_KEYS keys per item; and one of its hot records. */
    size_t cap = 0;
    uint32_t *buf = NULL;
    kb_hot_t *hot = NULL;
    int rc = 0;
    for (uint32_t start = from; rc == 0 && start < to;) {
        const kb_cand_t *first = kb_store_cand(&e->store, type, start);
        uint32_t end = start + 1;
        while (end < to) {
            const kb_cand_t *c = kb_store_cand(&e->store, type, end);
            if (!kb_index_same_cell(first->pos.lat, first->pos.lon, c->pos.lat, c->pos.lon)) break;
            end++;
        }
        uint32_t n = end - start;
        size_t need = (size_t)n * (2 + KB_INDEX_MAX_KEYS) + 1;
        if (!buf || need > cap) {
            uint32_t *grown = realloc(buf, need * sizeof *grown);
            if (!grown) {
                rc = KB_ENOMEM;
                break;
            }
            buf = grown;
            free(hot); /* kb_hot_t is cache-line aligned, which realloc does not promise */
            hot = aligned_alloc(_Alignof(kb_hot_t), (size_t)n * sizeof *hot);
            if (!hot) {
                rc = KB_ENOMEM;
                break;
            }
            cap = need;
        }
        uint32_t *slots = buf, *off = buf + n, *keys = off + n + 1;
        off[0] = 0;
        for (uint32_t i = 0; i < n; i++) {
            const kb_cand_t *c = kb_store_cand(&e->store, type, start + i);
            slots[i] = start + i;
            off[i + 1] = off[i] + kb_index_cand_keys(c, keys + off[i]);
            kb_cand_hot(c, &hot[i]);
        }
        rc = kb_index_add_cell(&e->cand_ix[type], first->pos.lat, first->pos.lon, slots, n, keys,
                               off, hot);
        start = end;
    }
    free(buf);
    free(hot);
    return rc;
}

int kb_engine_restore_reserve(kb_engine_t *e, const uint32_t count[2], kb_fault_t *f) {
    for (int type = 0; type < 2; type++)
        if (kb_pool_reserve(&e->store.cands[type], e->store.cands[type].used + count[type]) < 0)
            return kb_fault(f, KB_ENOMEM, 503, "out_of_memory", NULL, "out of memory");
    return 0;
}

int kb_engine_restore_index(kb_engine_t *e, kb_fault_t *f) {
    for (int type = 0; type < 2; type++) {
        if (!e->unindexed[type]) continue;
        int rc = index_range(e, type, e->unindexed_from[type], e->store.cands[type].used);
        if (rc < 0) return kb_fault(f, rc, 503, "out_of_memory", NULL, "out of memory");
        e->unindexed[type] = false;
    }
    return 0;
}

int kb_engine_dump(const kb_engine_t *e, kb_engine_dump_fn fn, void *ctx) {
    return kb_engine_dump_bin(e, fn, NULL, ctx);
}

int kb_engine_dump_bin(const kb_engine_t *e, kb_engine_dump_fn fn, kb_engine_bin_fn bin,
                       void *ctx) {
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
    for (int i = 0; i < 5; i++) {
        bool cands = order[i] == KB_ENT_VOLUNTEER || order[i] == KB_ENT_ACTIVITY;
        rc = bin && cands
                 ? dump_cands_bin(e, order[i] == KB_ENT_VOLUNTEER ? KB_VOLUNTEER : KB_ACTIVITY, bin,
                                  ctx)
                 : dump_entities(e, order[i], fn, ctx);
        if (rc < 0) return rc;
    }
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
        if (!kb_codec_token_valid(name)) return bad(f, "a token is not a token");
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
        if (!json_is_integer(ts) || json_integer_value(ts) <= 0 ||
            json_integer_value(ts) > KB_CODEC_MS_MAX || !json_is_integer(next) ||
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
    int rc = kb_engine_restore_index(e, f);
    if (rc < 0) return rc;
    e->restoring = true;
    rc = restore_record(e, rec, f);
    e->restoring = false;
    return rc;
}
