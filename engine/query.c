/* query.c — the match queries of the API, from need (or what-if body) to
 * JSON answer. The ranking itself is match.c; this file prepares queries
 * (the pairs a need already has), and explains results. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

int kb_engine_query(kb_engine_t *e, const kb_need_t *n, kb_query_t *q) {
    if (n->npairings > e->paired_cap) {
        uint64_t *buf = realloc(e->paired_buf, n->npairings * sizeof *buf);
        if (!buf) return KB_ENOMEM;
        e->paired_buf = buf;
        e->paired_cap = n->npairings;
    }
    uint32_t np = 0;
    for (uint32_t i = 0; i < n->npairings; i++) {
        const kb_pairing_t *p = (const kb_pairing_t *)e->pairings.recs + n->pairings[i];
        if (p->state != KB_PAIR_ENDED && p->cand_slot != KB_NO_SLOT)
            e->paired_buf[np++] = kb_cand_key(p->cand_type, p->cand_slot);
    }
    if (np > 1) qsort(e->paired_buf, np, sizeof *e->paired_buf, cmp_u64);
    int32_t today;
    int year;
    kb_engine_today(e, &today, &year);
    kb_query_init(q, n, &e->weights, today, year, e->paired_buf, np);
    return 0;
}

static json_t *components_json(const double *comp) {
    json_t *o = json_object();
    for (int i = 0; o && i < KB_C_COUNT; i++)
        json_object_set_new(o, kb_comp_names[i], json_real(kb_round(comp[i], 4)));
    return o;
}

static json_t *excluded_json(const kb_match_result_t *r) {
    json_t *o = json_object();
    for (int i = 0; o && i < KB_X_COUNT; i++)
        json_object_set_new(o, kb_excl_names[i], json_integer((json_int_t)r->excluded[i]));
    return o;
}

static int no_memory(kb_fault_t *f) {
    return kb_fault(f, KB_ENOMEM, 503, "out_of_memory", NULL, "the server is out of memory");
}

/* {"need_id", "matches": [...], "excluded"?, "searched"?} for q's result. */
static int matches_answer(kb_engine_t *e, const kb_query_t *q, const char *need_id,
                          const kb_match_opts_t *o, json_t **out, kb_fault_t *f) {
    const kb_index_t *ix[2] = {&e->cand_ix[KB_VOLUNTEER], &e->cand_ix[KB_ACTIVITY]};
    kb_match_result_t r;
    if (kb_match_need(&e->matcher, &e->store, ix, q, o->limit, o->explain, &r) < 0)
        return no_memory(f);
    json_t *list = json_array();
    for (uint32_t i = 0; list && i < r.n; i++) {
        const kb_hit_t *h = &r.hits[i];
        const kb_cand_t *c = kb_store_cand(&e->store, h->type, h->slot);
        double comp[KB_C_COUNT];
        kb_score(q, c, h->dist_km, comp);
        json_array_append_new(list, json_pack("{s:{s:s, s:s}, s:f, s:f, s:o}", "candidate", "type",
                                              h->type == KB_VOLUNTEER ? "volunteer" : "activity",
                                              "id", c->id, "score", kb_round(h->score, 4),
                                              "distance_km", kb_round(h->dist_km, 2), "components",
                                              components_json(comp)));
    }
    *out = json_pack("{s:s*, s:o}", "need_id", need_id, "matches", list);
    if (*out && o->explain) {
        json_object_set_new(*out, "excluded", excluded_json(&r));
        json_object_set_new(*out, "searched",
                            json_pack("{s:I, s:I}", "cells", (json_int_t)r.cells, "checked",
                                      (json_int_t)r.checked));
    }
    return *out ? 0 : no_memory(f);
}

int kb_engine_matches(kb_engine_t *e, const char *need_id, const kb_match_opts_t *o, json_t **out,
                      kb_fault_t *f) {
    uint32_t slot = kb_pool_find(&e->store.needs, need_id);
    if (slot == KB_NO_SLOT)
        return kb_fault(f, KB_ENOTFOUND, 404, "not_found", NULL, "no such need");
    const kb_need_t *n = kb_store_need(&e->store, slot);
    if (n->state != KB_NEED_OPEN) {
        /* A matched or closed need leaves suggestions: nothing to rank. */
        *out = json_pack("{s:s, s:[], s:s}", "need_id", need_id, "matches", "state",
                         kb_codec_state_name(n->state));
        return *out ? 0 : no_memory(f);
    }
    kb_query_t q;
    if (kb_engine_query(e, n, &q) < 0) return no_memory(f);
    return matches_answer(e, &q, need_id, o, out, f);
}

int kb_engine_what_if(kb_engine_t *e, const json_t *body, const kb_match_opts_t *o, json_t **out,
                      kb_fault_t *f) {
    int32_t today;
    int year;
    kb_engine_today(e, &today, &year);
    kb_codec_ctx_t cx = {.tokens = &e->store.tokens, .current_year = year, .lookup_only = true};
    kb_need_t n;
    int rc = kb_codec_need(&cx, body, NULL, &n, f);
    if (rc < 0) return rc;
    kb_query_t q;
    kb_query_init(&q, &n, &e->weights, today, year, NULL, 0);
    rc = matches_answer(e, &q, NULL, o, out, f);
    kb_need_clear(&n);
    return rc;
}

/* kb_need_source_t for the reverse query: open needs wanting volunteers,
 * in the caller's municipalities when it has a scope. */
typedef struct need_source {
    kb_engine_t *e;
    const kb_match_opts_t *o;
} need_source_t;

static bool in_scope(const kb_match_opts_t *o, const char *muni) {
    if (!o->munis) return true;
    for (unsigned i = 0; i < o->nmunis; i++)
        if (!strcmp(o->munis[i], muni)) return true;
    return false;
}

static bool prepare_need(void *ctx, uint32_t slot, kb_query_t *q) {
    const need_source_t *ns = ctx;
    const kb_need_t *n = kb_store_need(&ns->e->store, slot);
    if (n->state != KB_NEED_OPEN || !kb_kind_wants(n->kind, KB_VOLUNTEER)) return false;
    if (!in_scope(ns->o, n->municipality)) return false;
    return kb_engine_query(ns->e, n, q) == 0;
}

int kb_engine_volunteer_needs(kb_engine_t *e, const char *volunteer_id, const kb_match_opts_t *o,
                              json_t **out, kb_fault_t *f) {
    uint32_t v = kb_pool_find(&e->store.cands[KB_VOLUNTEER], volunteer_id);
    if (v == KB_NO_SLOT)
        return kb_fault(f, KB_ENOTFOUND, 404, "not_found", NULL, "no such volunteer");
    need_source_t ns = {e, o};
    kb_need_source_t src = {prepare_need, &ns};
    kb_match_result_t r;
    if (kb_match_volunteer(&e->matcher, &e->store, &e->need_ix, v, &src, o->limit, &r) < 0)
        return no_memory(f);
    const kb_cand_t *c = kb_store_cand(&e->store, KB_VOLUNTEER, v);
    json_t *list = json_array();
    for (uint32_t i = 0; list && i < r.n; i++) {
        const kb_hit_t *h = &r.hits[i];
        const kb_need_t *n = kb_store_need(&e->store, h->slot);
        kb_query_t q;
        if (kb_engine_query(e, n, &q) < 0) {
            json_decref(list);
            return no_memory(f);
        }
        double comp[KB_C_COUNT];
        kb_score(&q, c, h->dist_km, comp);
        json_array_append_new(
            list, json_pack("{s:{s:s, s:s, s:s}, s:f, s:f, s:o}", "need", "id", n->id, "kind",
                            kb_codec_kind_name(n->kind), "municipality", n->municipality, "score",
                            kb_round(h->score, 4), "distance_km", kb_round(h->dist_km, 2),
                            "components", components_json(comp)));
    }
    *out = json_pack("{s:s, s:o}", "volunteer_id", volunteer_id, "needs", list);
    return *out ? 0 : no_memory(f);
}
