/* engine.c — the engine's life and its entities: PUT, GET, DELETE.
 *
 * A write is decoded and validated completely into a temporary record
 * before anything is touched (codec.c); then the index is updated and only
 * then the record is swapped in. If the index cannot take the new record
 * (out of memory) the old one is put back, so a failed write changes
 * nothing. Matching is in query.c, matches between needs and candidates in
 * lifecycle.c. */
#include "core.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sbuf.h"

void kb_engine_opts_default(kb_engine_opts_t *o) {
    kb_weights_t w;
    kb_weights_default(&w);
    for (int i = 0; i < KB_C_COUNT; i++) o->weights[i] = w.w[i];
    o->max_json_depth = 16;
}

int kb_engine_new(const kb_engine_opts_t *o, kb_engine_t **out) {
    kb_engine_opts_t defaults;
    if (!o) {
        kb_engine_opts_default(&defaults);
        o = &defaults;
    }
    double sum = 0;
    for (int i = 0; i < KB_C_COUNT; i++) {
        if (!(o->weights[i] >= 0)) return KB_EINVAL;
        sum += o->weights[i];
    }
    if (!(sum > 0) || o->max_json_depth < 2) return KB_EINVAL;
    kb_engine_t *e = calloc(1, sizeof *e);
    if (!e) return KB_ENOMEM;
    kb_store_init(&e->store);
    kb_index_init(&e->cand_ix[KB_VOLUNTEER]);
    kb_index_init(&e->cand_ix[KB_ACTIVITY]);
    kb_index_init(&e->need_ix);
    kb_route_init(&e->route);
    /* The pairing pool reuses the store's pool: slots, free list, id map. */
    kb_pool_init(&e->pairings, sizeof(kb_pairing_t), offsetof(kb_pairing_t, id));
    kb_matcher_init(&e->matcher);
    for (int i = 0; i < KB_C_COUNT; i++) e->weights.w[i] = o->weights[i];
    e->max_json_depth = o->max_json_depth;
    e->next_pairing = 1;
    kb_scratch_init(&e->scratch);
    *out = e;
    return 0;
}

void kb_engine_free(kb_engine_t *e) {
    if (!e) return;
    kb_lifecycle_free(e);
    kb_index_free(&e->cand_ix[KB_VOLUNTEER]);
    kb_index_free(&e->cand_ix[KB_ACTIVITY]);
    kb_index_free(&e->need_ix);
    kb_route_free(&e->route);
    kb_store_free(&e->store);
    kb_matcher_free(&e->matcher);
    free(e->paired_buf);
    kb_scratch_free(&e->scratch);
    free(e);
}

void kb_engine_set_clock(kb_engine_t *e, int64_t now_ms) { e->clock_ms = now_ms; }

void kb_engine_set_events(kb_engine_t *e, kb_engine_event_fn fn, void *ctx) {
    e->events = fn;
    e->events_ctx = ctx;
}

void kb_engine_emit(kb_engine_t *e, const char *stream, const char *event, json_t *data) {
    if (kb_engine_emits(e)) e->events(e->events_ctx, stream, event, kb_engine_now_ms(e), data);
    json_decref(data);
}

int64_t kb_engine_now_ms(const kb_engine_t *e) {
    if (e->clock_ms) return e->clock_ms;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kb_engine_today(const kb_engine_t *e, int32_t *today, int *year) {
    int64_t ms = kb_engine_now_ms(e);
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    *today = (int32_t)(ms / 86400000);
    *year = tm.tm_year + 1900;
}

static kb_codec_ctx_t codec_ctx(kb_engine_t *e) {
    int32_t today;
    int year;
    kb_engine_today(e, &today, &year);
    return (kb_codec_ctx_t){.tokens = &e->store.tokens, .current_year = year};
}

int kb_engine_parse(const kb_engine_t *e, const char *body, size_t len, json_t **out,
                    kb_fault_t *f) {
    return kb_codec_parse(body, len, e->max_json_depth, out, f);
}

uint32_t kb_engine_tidy(kb_engine_t *e, uint32_t max) {
    uint32_t n = kb_index_tidy(&e->cand_ix[KB_VOLUNTEER], max);
    return n < max ? n + kb_index_tidy(&e->cand_ix[KB_ACTIVITY], max - n) : n;
}

uint32_t kb_engine_count(const kb_engine_t *e, kb_entity_t t) {
    switch (t) {
    case KB_ENT_VOLUNTEER: return e->store.cands[KB_VOLUNTEER].live;
    case KB_ENT_ACTIVITY: return e->store.cands[KB_ACTIVITY].live;
    case KB_ENT_NEED: return e->store.needs.live;
    case KB_ENT_ORGANISATION: return e->store.orgs.live;
    case KB_ENT_SUBSCRIPTION: return e->store.subs.live;
    }
    return 0;
}

const char *kb_engine_owner(const kb_engine_t *e, kb_entity_t t, const char *id) {
    const kb_store_t *s = &e->store;
    uint32_t slot;
    switch (t) {
    case KB_ENT_VOLUNTEER:
    case KB_ENT_ACTIVITY: {
        int type = t == KB_ENT_VOLUNTEER ? KB_VOLUNTEER : KB_ACTIVITY;
        slot = kb_pool_find(&s->cands[type], id);
        if (slot == KB_NO_SLOT) return NULL;
        const char *org = kb_store_cand(s, type, slot)->org_id;
        return org ? org : ""; /* exists, belongs to no organisation */
    }
    case KB_ENT_NEED:
        slot = kb_pool_find(&s->needs, id);
        return slot == KB_NO_SLOT ? NULL : kb_store_need(s, slot)->municipality;
    case KB_ENT_ORGANISATION:
        slot = kb_pool_find(&s->orgs, id);
        return slot == KB_NO_SLOT ? NULL : kb_store_org(s, slot)->id;
    case KB_ENT_SUBSCRIPTION:
        slot = kb_pool_find(&s->subs, id);
        if (slot == KB_NO_SLOT) return NULL;
        const char *sub_org = ((const kb_sub_t *)s->subs.recs + slot)->org_id;
        return sub_org ? sub_org : "";
    }
    return NULL;
}

static int not_found(kb_fault_t *f, kb_entity_t t) {
    return kb_fault(f, KB_ENOTFOUND, 404, "not_found", NULL, "no such %s",
                    kb_engine_entity_name(t));
}

static int no_memory(kb_fault_t *f) {
    return kb_fault(f, KB_ENOMEM, 503, "out_of_memory", NULL, "the server is out of memory");
}

/* The record of a put made from text splices that text in as the body:
 * it parsed (kb_codec_parse, duplicate keys refused) to the very value
 * being stored, so replaying it decides the same, and the write path
 * spends nothing on encoding the body again. ids are checked before
 * (put_entity) and need no escaping. */
static int log_put(kb_engine_t *e, kb_entity_t t, const char *id, const json_t *body,
                   kb_fault_t *f) {
    if (!e->put_text)
        return kb_engine_log(e, f, "{s:s, s:s, s:s, s:O}", "op", "put", "entity",
                             kb_engine_entity_name(t), "id", id, "body", (json_t *)body);
    if (!e->journal || e->replaying) return 0;
    /* {"op":"put","entity":"<name>","id":"<id>","ts":<ms>,"body":<text>},
     * put together by hand: snprintf was a noticeable part of a write. The
     * id needs no escaping (kb_codec_id_valid), the name none either. */
    const char *name = kb_engine_entity_name(t);
    size_t name_len = strlen(name), id_len = strlen(id);
    if (id_len > KB_ID_MAX)
        return kb_fault(f, KB_EINVAL, 422, "invalid_id", "id", "the id is too long");
    char ts_buf[KB_INT_TEXT], *ts = kb_int_text(ts_buf, (long long)kb_engine_now_ms(e));
    static const char p1[] = "{\"op\":\"put\",\"entity\":\"", p2[] = "\",\"id\":\"",
                      p3[] = "\",\"ts\":", p4[] = ",\"body\":";
    size_t ts_len = (size_t)(ts_buf + KB_INT_TEXT - ts);
    size_t len = sizeof p1 - 1 + name_len + sizeof p2 - 1 + id_len + sizeof p3 - 1 + ts_len +
                 sizeof p4 - 1 + e->put_text_len + 1;
    char *op = malloc(len), *w = op;
    if (!op) return no_memory(f);
    const char *parts[] = {p1, name, p2, id, p3, ts, p4, e->put_text};
    const size_t lens[] = {sizeof p1 - 1, name_len, sizeof p2 - 1, id_len,
                           sizeof p3 - 1, ts_len,   sizeof p4 - 1, e->put_text_len};
    for (int i = 0; i < 8; i++) {
        memcpy(w, parts[i], lens[i]);
        w += lens[i];
    }
    *w = '}';
    int rc = kb_engine_log_text(e, f, op, len);
    free(op);
    return rc;
}

/* ---- candidates (volunteers and activities) ---- */

int kb_engine_index_cand(kb_engine_t *e, const kb_cand_t *c, uint32_t slot) {
    uint32_t keys[KB_INDEX_MAX_KEYS];
    unsigned n = kb_index_cand_keys(c, keys);
    kb_hot_t hot;
    kb_cand_hot(c, &hot);
    return kb_index_add(&e->cand_ix[c->type], slot, c->pos.lat, c->pos.lon, keys, n, &hot);
}

static void cand_unindex(kb_engine_t *e, const kb_cand_t *c, uint32_t slot) {
    uint32_t keys[KB_INDEX_MAX_KEYS];
    unsigned n = kb_index_cand_keys(c, keys);
    kb_index_remove(&e->cand_ix[c->type], slot, c->pos.lat, c->pos.lon, keys, n);
}

static json_t *cand_json(const kb_engine_t *e, const kb_cand_t *c) {
    return c->type == KB_VOLUNTEER ? kb_codec_volunteer_json(&e->store.tokens, c)
                                   : kb_codec_activity_json(&e->store.tokens, c);
}

static int put_cand(kb_engine_t *e, int type, const char *id, const json_t *body, json_t **out,
                    bool *created, kb_fault_t *f) {
    kb_codec_ctx_t cx = codec_ctx(e);
    kb_cand_t nc;
    int rc = type == KB_VOLUNTEER ? kb_codec_volunteer(&cx, body, id, &nc, f)
                                  : kb_codec_activity(&cx, body, id, &nc, f);
    if (rc < 0) return rc;
    nc.live = true;
    kb_cand_derive(&nc);
    if ((rc = log_put(e, type == KB_VOLUNTEER ? KB_ENT_VOLUNTEER : KB_ENT_ACTIVITY, id, body, f)) <
        0) {
        kb_cand_clear(&nc);
        return rc;
    }

    kb_pool_t *pool = &e->store.cands[type];
    uint32_t slot = kb_pool_find(pool, id);
    *created = slot == KB_NO_SLOT;
    if (*created) {
        if (kb_pool_alloc(pool, id, &slot) < 0) goto nomem;
        kb_cand_t *c = kb_store_cand(&e->store, type, slot);
        nc.id = c->id;
        if (kb_engine_index_cand(e, &nc, slot) < 0) {
            kb_pool_release(pool, slot);
            goto nomem;
        }
        *c = nc;
    } else {
        kb_cand_t *c = kb_store_cand(&e->store, type, slot);
        cand_unindex(e, c, slot);
        if (kb_engine_index_cand(e, &nc, slot) < 0) {
            if (kb_engine_index_cand(e, c, slot) < 0)
                abort(); /* its cell, position and key bitmaps are still there */
            goto nomem;
        }
        nc.id = c->id;
        nc.load = c->load; /* accepted matches survive a replace */
        kb_cand_clear(c);
        *c = nc;
    }
    if (out) *out = cand_json(e, kb_store_cand(&e->store, type, slot));
    return 0;
nomem:
    kb_cand_clear(&nc);
    return no_memory(f);
}

/* ---- needs ---- */

bool kb_need_settle(kb_engine_t *e, kb_need_t *n) {
    if (n->state == KB_NEED_CLOSED) return false;
    uint8_t st = n->accepted >= n->count ? KB_NEED_MATCHED : KB_NEED_OPEN;
    bool reopens = n->state == KB_NEED_MATCHED && st == KB_NEED_OPEN;
    e->needs_by_state[n->state]--;
    e->needs_by_state[st]++;
    n->state = st;
    return reopens;
}

static int put_need(kb_engine_t *e, const char *id, const json_t *body, json_t **out, bool *created,
                    kb_fault_t *f) {
    kb_codec_ctx_t cx = codec_ctx(e);
    kb_need_t nn;
    int rc = kb_codec_need(&cx, body, id, &nn, f);
    if (rc < 0) return rc;
    nn.live = true;
    if ((rc = log_put(e, KB_ENT_NEED, id, body, f)) < 0) {
        kb_need_clear(&nn);
        return rc;
    }

    kb_pool_t *pool = &e->store.needs;
    uint32_t slot = kb_pool_find(pool, id);
    bool reopened = false;
    *created = slot == KB_NO_SLOT;
    if (*created) {
        if (kb_pool_alloc(pool, id, &slot) < 0) goto nomem;
        kb_need_t *n = kb_store_need(&e->store, slot);
        if (kb_index_add(&e->need_ix, slot, nn.pos.lat, nn.pos.lon, NULL, 0, NULL) < 0) {
            kb_pool_release(pool, slot);
            goto nomem;
        }
        nn.id = n->id;
        nn.state = KB_NEED_OPEN;
        nn.created_at_ms = kb_engine_now_ms(e);
        *n = nn;
        e->needs_by_state[KB_NEED_OPEN]++;
        kb_need_settle(e, n);
    } else {
        kb_need_t *n = kb_store_need(&e->store, slot);
        kb_index_remove(&e->need_ix, slot, n->pos.lat, n->pos.lon, NULL, 0);
        if (kb_index_add(&e->need_ix, slot, nn.pos.lat, nn.pos.lon, NULL, 0, NULL) < 0) {
            if (kb_index_add(&e->need_ix, slot, n->pos.lat, n->pos.lon, NULL, 0, NULL) < 0) abort();
            goto nomem;
        }
        /* Server-side fields survive a replace. */
        nn.id = n->id;
        nn.state = n->state;
        nn.accepted = n->accepted;
        nn.created_at_ms = n->created_at_ms;
        nn.pairings = n->pairings;
        nn.npairings = n->npairings;
        nn.cappairings = n->cappairings;
        n->pairings = NULL;
        kb_need_clear(n);
        *n = nn;
        reopened = kb_need_settle(e, n);
    }
    const kb_need_t *stored = kb_store_need(&e->store, slot);
    if (kb_engine_emits(e))
        kb_engine_emit(e, "needs", *created ? "need.created" : "need.updated",
                       kb_codec_need_json(&e->store.tokens, stored));
    if (*created || reopened) kb_engine_offer(e, stored);
    *out = kb_codec_need_json(&e->store.tokens, stored);
    return 0;
nomem:
    kb_need_clear(&nn);
    return no_memory(f);
}

/* ---- organisations ---- */

static int put_org(kb_engine_t *e, const char *id, const json_t *body, json_t **out, bool *created,
                   kb_fault_t *f) {
    kb_codec_ctx_t cx = codec_ctx(e);
    kb_org_t no;
    int rc = kb_codec_org(&cx, body, id, &no, f);
    if (rc < 0) return rc;
    no.live = true;
    if ((rc = log_put(e, KB_ENT_ORGANISATION, id, body, f)) < 0) {
        kb_org_clear(&no);
        return rc;
    }
    uint32_t slot = kb_pool_find(&e->store.orgs, id);
    *created = slot == KB_NO_SLOT;
    if (*created && kb_pool_alloc(&e->store.orgs, id, &slot) < 0) {
        kb_org_clear(&no);
        return no_memory(f);
    }
    kb_org_t *o = kb_store_org(&e->store, slot);
    no.id = o->id;
    kb_org_clear(o);
    *o = no;
    *out = kb_codec_org_json(o);
    return 0;
}

/* ---- subscriptions ---- */

static int put_sub(kb_engine_t *e, const char *id, const json_t *body, json_t **out, bool *created,
                   kb_fault_t *f) {
    kb_codec_ctx_t cx = codec_ctx(e);
    kb_sub_t ns;
    int rc = kb_codec_subscription(&cx, body, id, &ns, f);
    if (rc < 0) return rc;
    ns.live = true;
    if ((rc = log_put(e, KB_ENT_SUBSCRIPTION, id, body, f)) < 0) {
        kb_sub_clear(&ns);
        return rc;
    }
    kb_pool_t *pool = &e->store.subs;
    uint32_t slot = kb_pool_find(pool, id);
    *created = slot == KB_NO_SLOT;
    if (*created) {
        if (kb_pool_alloc(pool, id, &slot) < 0) goto nomem;
        if (kb_route_add(&e->route, &ns, slot) < 0) {
            kb_pool_release(pool, slot);
            goto nomem;
        }
    } else {
        kb_sub_t *old = kb_store_sub(&e->store, slot);
        kb_route_remove(&e->route, old, slot);
        if (kb_route_add(&e->route, &ns, slot) < 0) {
            if (kb_route_add(&e->route, old, slot) < 0) abort(); /* its lists still have room */
            goto nomem;
        }
        kb_sub_clear(old);
    }
    kb_sub_t *sub = kb_store_sub(&e->store, slot);
    ns.id = sub->id;
    *sub = ns;
    *out = kb_codec_subscription_json(&e->store.tokens, sub);
    return 0;
nomem:
    kb_sub_clear(&ns);
    return no_memory(f);
}

/* The offer of a need to organisations: what a helper needs to know to
 * say "we can", and nothing that points at the person (DESIGN.md "Privacy
 * by design"): an age band instead of the age, the place rounded to about
 * a kilometre, no requester, no experience wanted (it tells about the
 * person), no exact distances. */
json_t *kb_engine_offer_json(const kb_engine_t *e, const kb_need_t *n) {
    static const char *const bands[] = {"under_15", "15_17", "18_24", "25_64", "65_plus"};
    int age = n->person_age;
    int band = age < 15 ? 0 : age < 18 ? 1 : age < 25 ? 2 : age < 65 ? 3 : 4;
    json_t *full = kb_codec_need_json(&e->store.tokens, n);
    if (!full) return NULL;
    json_t *offer = json_pack(
        "{s:s, s:O, s:s, s:s, s:{s:f, s:f}, s:O, s:O, s:O, s:O, s:O, s:O}", "need_id", n->id,
        "kind", json_object_get(full, "kind"), "municipality", n->municipality, "age_band",
        bands[band], "area", "lat", round(n->pos.lat * 100) / 100, "lon",
        round(n->pos.lon * 100) / 100, "skills_required", json_object_get(full, "skills_required"),
        "skills_wanted", json_object_get(full, "skills_wanted"), "languages",
        json_object_get(full, "languages"), "availability", json_object_get(full, "availability"),
        "count", json_object_get(full, "count"), "urgency", json_object_get(full, "urgency"));
    json_decref(full);
    return offer;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void kb_engine_offer(kb_engine_t *e, const kb_need_t *n) {
    if (!kb_engine_emits(e) || n->state != KB_NEED_OPEN) return;
    const uint32_t *slots;
    uint32_t count = 0;
    /* Out of memory here loses the offer (not the need, nor its events). */
    if (kb_route_match(&e->route, &e->store, n, &slots, &count) < 0 || count == 0) return;
    /* Once per organisation, in the order of their ids. */
    const char **orgs = malloc(count * sizeof *orgs);
    if (!orgs) return;
    for (uint32_t i = 0; i < count; i++) orgs[i] = kb_store_sub(&e->store, slots[i])->org_id;
    qsort(orgs, count, sizeof *orgs, cmp_str);
    for (uint32_t i = 0; i < count; i++) {
        if (i && !strcmp(orgs[i], orgs[i - 1])) continue;
        char stream[KB_ID_MAX + 16];
        snprintf(stream, sizeof stream, "org:%s:needs", orgs[i]);
        kb_engine_emit(e, stream, "need.offered", kb_engine_offer_json(e, n));
    }
    free(orgs);
}

static int put_entity(kb_engine_t *e, kb_entity_t t, const char *id, const json_t *body,
                      json_t **out, bool *created, kb_fault_t *f) {
    if (!kb_codec_id_valid(id))
        return kb_fault(f, KB_EINVAL, 422, "invalid_id", "id",
                        "ids are 1-64 characters of A-Z a-z 0-9 . _ : -");
    int rc;
    switch (t) {
    case KB_ENT_VOLUNTEER: rc = put_cand(e, KB_VOLUNTEER, id, body, out, created, f); break;
    case KB_ENT_ACTIVITY: rc = put_cand(e, KB_ACTIVITY, id, body, out, created, f); break;
    case KB_ENT_NEED: rc = put_need(e, id, body, out, created, f); break;
    case KB_ENT_ORGANISATION: rc = put_org(e, id, body, out, created, f); break;
    case KB_ENT_SUBSCRIPTION: rc = put_sub(e, id, body, out, created, f); break;
    default: return kb_fault(f, KB_EINVAL, 404, "not_found", NULL, "no such collection");
    }
    if (rc == 0 && out && !*out) return no_memory(f);
    return rc;
}

int kb_engine_put(kb_engine_t *e, kb_entity_t t, const char *id, const json_t *body, json_t **out,
                  bool *created, kb_fault_t *f) {
    int64_t saved = kb_engine_pin_clock(e);
    int rc = put_entity(e, t, id, body, out, created, f);
    e->clock_ms = saved;
    return rc;
}

/* A candidate's answer is written as text straight from the stored
 * record (kb_codec_cand_text); the other entities are rare writes and go
 * through their JSON object. */
int kb_engine_put_text(kb_engine_t *e, kb_entity_t t, const char *id, const char *text, size_t len,
                       char **answer, size_t *answer_len, bool *created, kb_fault_t *f) {
    *answer = NULL;
    json_t *body, *out = NULL;
    /* The body's tree lives in the scratch: it is freed below, and the
     * codec copies what the store keeps. What put_entity makes (out, the
     * events) comes from malloc, after the pause. */
    kb_scratch_begin(&e->scratch);
    int rc = kb_codec_parse(text, len, e->max_json_depth, &body, f);
    kb_scratch_pause();
    if (rc < 0) {
        kb_scratch_end();
        return rc;
    }
    bool cand = t == KB_ENT_VOLUNTEER || t == KB_ENT_ACTIVITY;
    int64_t saved = kb_engine_pin_clock(e);
    e->put_text = text;
    e->put_text_len = len;
    rc = put_entity(e, t, id, body, cand ? NULL : &out, created, f);
    e->put_text = NULL;
    e->clock_ms = saved;
    kb_scratch_decref(body);
    kb_scratch_end();
    if (rc < 0) return rc;
    size_t n = 0;
    char *json = NULL;
    if (cand) {
        int type = t == KB_ENT_VOLUNTEER ? KB_VOLUNTEER : KB_ACTIVITY;
        uint32_t slot = kb_pool_find(&e->store.cands[type], id);
        json = kb_codec_cand_text(&e->store.tokens, kb_store_cand(&e->store, type, slot), &n);
    } else {
        json = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(15));
        n = json ? strlen(json) : 0;
        json_decref(out);
    }
    /* The write is made: out of memory now loses only its answer. */
    char *grown = json ? realloc(json, n + 2) : NULL;
    if (!grown) {
        free(json);
        return no_memory(f);
    }
    grown[n++] = '\n';
    grown[n] = '\0';
    *answer = grown;
    *answer_len = n;
    return 0;
}

kb_pool_t *kb_engine_pool(const kb_engine_t *ec, kb_entity_t t) {
    kb_engine_t *e = (kb_engine_t *)ec;
    switch (t) {
    case KB_ENT_VOLUNTEER: return &e->store.cands[KB_VOLUNTEER];
    case KB_ENT_ACTIVITY: return &e->store.cands[KB_ACTIVITY];
    case KB_ENT_NEED: return &e->store.needs;
    case KB_ENT_ORGANISATION: return &e->store.orgs;
    case KB_ENT_SUBSCRIPTION: return &e->store.subs;
    }
    return NULL;
}

int kb_engine_get(const kb_engine_t *e, kb_entity_t t, const char *id, json_t **out,
                  kb_fault_t *f) {
    const kb_pool_t *pool = kb_engine_pool(e, t);
    uint32_t slot = pool ? kb_pool_find(pool, id) : KB_NO_SLOT;
    if (slot == KB_NO_SLOT) return not_found(f, t);
    switch (t) {
    case KB_ENT_VOLUNTEER:
    case KB_ENT_ACTIVITY:
        *out = cand_json(
            e, kb_store_cand(&e->store, t == KB_ENT_VOLUNTEER ? KB_VOLUNTEER : KB_ACTIVITY, slot));
        break;
    case KB_ENT_NEED:
        *out = kb_codec_need_json(&e->store.tokens, kb_store_need(&e->store, slot));
        break;
    case KB_ENT_ORGANISATION: *out = kb_codec_org_json(kb_store_org(&e->store, slot)); break;
    case KB_ENT_SUBSCRIPTION:
        *out = kb_codec_subscription_json(&e->store.tokens, kb_store_sub(&e->store, slot));
        break;
    }
    return *out ? 0 : no_memory(f);
}

static int delete_entity(kb_engine_t *e, kb_entity_t t, const char *id, kb_fault_t *f) {
    kb_pool_t *pool = kb_engine_pool(e, t);
    uint32_t slot = pool ? kb_pool_find(pool, id) : KB_NO_SLOT;
    if (slot == KB_NO_SLOT) return not_found(f, t);
    int rc = kb_engine_log(e, f, "{s:s, s:s, s:s}", "op", "delete", "entity",
                           kb_engine_entity_name(t), "id", id);
    if (rc < 0) return rc;
    if (t == KB_ENT_VOLUNTEER || t == KB_ENT_ACTIVITY) {
        int type = t == KB_ENT_VOLUNTEER ? KB_VOLUNTEER : KB_ACTIVITY;
        kb_cand_t *c = kb_store_cand(&e->store, type, slot);
        kb_lifecycle_detach_cand(e, type, slot);
        cand_unindex(e, c, slot);
        kb_cand_clear(c);
    } else if (t == KB_ENT_NEED) {
        kb_need_t *n = kb_store_need(&e->store, slot);
        kb_lifecycle_detach_need(e, slot);
        kb_index_remove(&e->need_ix, slot, n->pos.lat, n->pos.lon, NULL, 0);
        e->needs_by_state[n->state]--;
        kb_need_clear(n);
    } else if (t == KB_ENT_SUBSCRIPTION) {
        kb_sub_t *sub = kb_store_sub(&e->store, slot);
        kb_route_remove(&e->route, sub, slot);
        kb_sub_clear(sub);
    } else {
        kb_org_clear(kb_store_org(&e->store, slot));
    }
    kb_pool_release(pool, slot);
    return 0;
}

int kb_engine_delete(kb_engine_t *e, kb_entity_t t, const char *id, kb_fault_t *f) {
    int64_t saved = kb_engine_pin_clock(e);
    int rc = delete_entity(e, t, id, f);
    e->clock_ms = saved;
    return rc;
}

int kb_engine_close_need(kb_engine_t *e, const char *id, json_t **out, kb_fault_t *f) {
    uint32_t slot = kb_pool_find(&e->store.needs, id);
    if (slot == KB_NO_SLOT) return not_found(f, KB_ENT_NEED);
    kb_need_t *n = kb_store_need(&e->store, slot);
    if (n->state != KB_NEED_CLOSED) {
        int64_t saved = kb_engine_pin_clock(e);
        int rc = kb_engine_log(e, f, "{s:s, s:s}", "op", "close", "id", id);
        if (rc < 0) {
            e->clock_ms = saved;
            return rc;
        }
        kb_lifecycle_end_proposals(e, slot);
        e->needs_by_state[n->state]--;
        e->needs_by_state[KB_NEED_CLOSED]++;
        n->state = KB_NEED_CLOSED;
        if (kb_engine_emits(e))
            kb_engine_emit(e, "needs", "need.closed", kb_codec_need_json(&e->store.tokens, n));
        e->clock_ms = saved;
    }
    *out = kb_codec_need_json(&e->store.tokens, n);
    return *out ? 0 : no_memory(f);
}

json_t *kb_engine_stats(const kb_engine_t *e) {
    const kb_index_t *vix = &e->cand_ix[KB_VOLUNTEER];
    /* The id tables count as index; kb_store_bytes has them too. */
    size_t ids = kb_dict_bytes(&e->store.cands[0].ids) + kb_dict_bytes(&e->store.cands[1].ids) +
                 kb_dict_bytes(&e->store.needs.ids);
    size_t index_bytes = kb_index_bytes(vix) + kb_index_bytes(&e->cand_ix[KB_ACTIVITY]) +
                         kb_index_bytes(&e->need_ix) + ids;
    size_t store_bytes = kb_store_bytes(&e->store) + kb_pool_bytes(&e->pairings) - ids;
    uint32_t vols = e->store.cands[KB_VOLUNTEER].live;
    return json_pack(
        "{s:{s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I}, s:I},"
        " s:{s:I, s:I, s:I, s:I, s:I, s:f},"
        " s:{s:I, s:I}}",
        "counts", "volunteers", (json_int_t)vols, "activities",
        (json_int_t)e->store.cands[KB_ACTIVITY].live, "organisations",
        (json_int_t)e->store.orgs.live, "subscriptions", (json_int_t)e->store.subs.live, "needs",
        "open", (json_int_t)e->needs_by_state[KB_NEED_OPEN], "matched",
        (json_int_t)e->needs_by_state[KB_NEED_MATCHED], "closed",
        (json_int_t)e->needs_by_state[KB_NEED_CLOSED], "matches", "proposed",
        (json_int_t)e->pairs_by_state[KB_PAIR_PROPOSED], "accepted",
        (json_int_t)e->pairs_by_state[KB_PAIR_ACCEPTED], "declined",
        (json_int_t)e->pairs_by_state[KB_PAIR_DECLINED], "ended",
        (json_int_t)e->pairs_by_state[KB_PAIR_ENDED], "tokens", (json_int_t)e->store.tokens.count,
        "index", "cells", (json_int_t)(vix->ncells + e->cand_ix[1].ncells + e->need_ix.ncells),
        "blocks", (json_int_t)(vix->nblocks + e->cand_ix[1].nblocks + e->need_ix.nblocks),
        "posting_entries", (json_int_t)(vix->posting_entries + e->cand_ix[1].posting_entries),
        "bytes", (json_int_t)index_bytes, "volunteer_bytes",
        (json_int_t)(kb_index_bytes(vix) + kb_dict_bytes(&e->store.cands[0].ids)),
        "bytes_per_volunteer",
        vols ? (double)(kb_index_bytes(vix) + kb_dict_bytes(&e->store.cands[0].ids)) / vols : 0.0,
        "memory", "store_bytes", (json_int_t)store_bytes, "total_bytes",
        (json_int_t)(store_bytes + index_bytes));
}
