/* query.c — the match queries of the API, from need (or what-if body) to
 * the JSON answer, written as text. The ranking itself is match.c; this
 * file prepares queries (the pairs a need already has), and explains
 * results. */
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

/* ---- answers as text ----
 *
 * The answers are written straight to text with the codec's JSON writers
 * (kb_codec_text_*): on the read path, building Jansson objects and
 * dumping them cost about as much as the search. The text is what
 * json_dumps(JSON_COMPACT | JSON_REAL_PRECISION(15)) gives for the same
 * object (test_engine compares them): keys in the order below, scores and
 * components rounded to 4 decimals and distances to 2 (kb_round) and
 * written as reals ("1.0"), counts as integers. Keys are constants that
 * need no escaping; ids and other values go through kb_codec_text_str. */

/* Appends a string literal ("" lit "" refuses anything else: sizeof a
 * pointer would silently cut the text). */
#define ADD(t, lit) kb_sbuf_add((t), "" lit "", sizeof(lit) - 1)

static int no_memory(kb_fault_t *f) {
    return kb_fault(f, KB_ENOMEM, 503, "out_of_memory", NULL, "the server is out of memory");
}

/* "name": for a key from a table of names (kb_comp_names, kb_excl_names):
 * lower-case words that need no escaping. */
static void key(kb_sbuf_t *t, const char *name) {
    ADD(t, "\"");
    kb_sbuf_add(t, name, strlen(name));
    ADD(t, "\":");
}

/* The answer in t as *answer / *answer_len, with the newline answers end
 * with; frees it on failure. A writer fails only when out of memory or
 * given a score that is not finite (a bug, answered like Jansson's
 * refusal was: 503). */
static int text_done(kb_sbuf_t *t, char **answer, size_t *answer_len, kb_fault_t *f) {
    ADD(t, "\n");
    if (t->err) {
        free(t->p);
        return no_memory(f);
    }
    *answer = t->p;
    *answer_len = t->len;
    return 0;
}

/* ,"score":..,"distance_km":..,"components":{..}} closing a hit whose
 * first member the caller wrote. */
static void hit_text(kb_sbuf_t *t, const kb_query_t *q, const kb_cand_t *c, const kb_hit_t *h) {
    double comp[KB_C_COUNT];
    kb_score(q, c, h->dist_km, comp);
    ADD(t, ",\"score\":");
    kb_codec_text_round(t, h->score, 4);
    ADD(t, ",\"distance_km\":");
    kb_codec_text_round(t, h->dist_km, 2);
    ADD(t, ",\"components\":{");
    for (int i = 0; i < KB_C_COUNT; i++) {
        if (i) ADD(t, ",");
        key(t, kb_comp_names[i]);
        kb_codec_text_round(t, comp[i], 4);
    }
    ADD(t, "}}");
}

/* {"need_id", "matches": [...], "excluded"?, "searched"?} for q's result;
 * need_id NULL (what-if) leaves its key out. */
static int matches_answer(kb_engine_t *e, const kb_query_t *q, const char *need_id,
                          const kb_match_opts_t *o, char **answer, size_t *answer_len,
                          kb_fault_t *f) {
    const kb_index_t *ix[2] = {&e->cand_ix[KB_VOLUNTEER], &e->cand_ix[KB_ACTIVITY]};
    kb_match_result_t r;
    if (kb_match_need(&e->matcher, &e->store, ix, q, o->limit, o->explain, &r) < 0)
        return no_memory(f);
    /* The ids lie far apart in memory: ask for all of them before the
     * first is written, so that their cache misses overlap. */
    for (uint32_t i = 0; i < r.n; i++)
        __builtin_prefetch(kb_store_cand(&e->store, r.hits[i].type, r.hits[i].slot)->id);
    kb_sbuf_t t = {0};
    /* One allocation for most answers: a hit takes about 200 bytes. */
    kb_sbuf_reserve(&t, 256 + (size_t)r.n * 224);
    if (need_id) {
        ADD(&t, "{\"need_id\":");
        kb_codec_text_str(&t, need_id);
        ADD(&t, ",\"matches\":[");
    } else {
        ADD(&t, "{\"matches\":[");
    }
    for (uint32_t i = 0; i < r.n; i++) {
        const kb_hit_t *h = &r.hits[i];
        const kb_cand_t *c = kb_store_cand(&e->store, h->type, h->slot);
        if (i) ADD(&t, ",");
        ADD(&t, "{\"candidate\":{\"type\":");
        if (h->type == KB_VOLUNTEER) ADD(&t, "\"volunteer\"");
        else ADD(&t, "\"activity\"");
        ADD(&t, ",\"id\":");
        kb_codec_text_str(&t, c->id);
        ADD(&t, "}");
        hit_text(&t, q, c, h);
    }
    ADD(&t, "]");
    if (o->explain) {
        ADD(&t, ",\"excluded\":{");
        for (int i = 0; i < KB_X_COUNT; i++) {
            if (i) ADD(&t, ",");
            key(&t, kb_excl_names[i]);
            kb_codec_text_int(&t, (long long)r.excluded[i]);
        }
        ADD(&t, "},\"searched\":{\"cells\":");
        kb_codec_text_int(&t, r.cells);
        ADD(&t, ",\"checked\":");
        kb_codec_text_int(&t, r.checked);
        ADD(&t, "}");
    }
    ADD(&t, "}");
    return text_done(&t, answer, answer_len, f);
}

int kb_engine_matches_text(kb_engine_t *e, const char *need_id, const kb_match_opts_t *o,
                           char **answer, size_t *answer_len, kb_fault_t *f) {
    *answer = NULL;
    uint32_t slot = kb_pool_find(&e->store.needs, need_id);
    if (slot == KB_NO_SLOT)
        return kb_fault(f, KB_ENOTFOUND, 404, "not_found", NULL, "no such need");
    const kb_need_t *n = kb_store_need(&e->store, slot);
    if (n->state != KB_NEED_OPEN) {
        /* A matched or closed need leaves suggestions: nothing to rank. */
        kb_sbuf_t t = {0};
        ADD(&t, "{\"need_id\":");
        kb_codec_text_str(&t, need_id);
        ADD(&t, ",\"matches\":[],\"state\":");
        kb_codec_text_str(&t, kb_codec_state_name(n->state));
        ADD(&t, "}");
        return text_done(&t, answer, answer_len, f);
    }
    kb_query_t q;
    if (kb_engine_query(e, n, &q) < 0) return no_memory(f);
    return matches_answer(e, &q, need_id, o, answer, answer_len, f);
}

int kb_engine_what_if_text(kb_engine_t *e, const json_t *body, const kb_match_opts_t *o,
                           char **answer, size_t *answer_len, kb_fault_t *f) {
    *answer = NULL;
    int32_t today;
    int year;
    kb_engine_today(e, &today, &year);
    kb_codec_ctx_t cx = {.tokens = &e->store.tokens, .current_year = year, .lookup_only = true};
    kb_need_t n;
    int rc = kb_codec_need(&cx, body, NULL, &n, f);
    if (rc < 0) return rc;
    kb_query_t q;
    kb_query_init(&q, &n, &e->weights, today, year, NULL, 0);
    rc = matches_answer(e, &q, NULL, o, answer, answer_len, f);
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

int kb_engine_volunteer_needs_text(kb_engine_t *e, const char *volunteer_id,
                                   const kb_match_opts_t *o, char **answer, size_t *answer_len,
                                   kb_fault_t *f) {
    *answer = NULL;
    uint32_t v = kb_pool_find(&e->store.cands[KB_VOLUNTEER], volunteer_id);
    if (v == KB_NO_SLOT)
        return kb_fault(f, KB_ENOTFOUND, 404, "not_found", NULL, "no such volunteer");
    need_source_t ns = {e, o};
    kb_need_source_t src = {prepare_need, &ns};
    kb_match_result_t r;
    if (kb_match_volunteer(&e->matcher, &e->store, &e->need_ix, v, &src, o->limit, &r) < 0)
        return no_memory(f);
    const kb_cand_t *c = kb_store_cand(&e->store, KB_VOLUNTEER, v);
    kb_sbuf_t t = {0};
    kb_sbuf_reserve(&t, 256 + (size_t)r.n * 224);
    ADD(&t, "{\"volunteer_id\":");
    kb_codec_text_str(&t, volunteer_id);
    ADD(&t, ",\"needs\":[");
    for (uint32_t i = 0; i < r.n; i++) {
        const kb_hit_t *h = &r.hits[i];
        const kb_need_t *n = kb_store_need(&e->store, h->slot);
        kb_query_t q;
        if (kb_engine_query(e, n, &q) < 0) {
            free(t.p);
            return no_memory(f);
        }
        if (i) ADD(&t, ",");
        ADD(&t, "{\"need\":{\"id\":");
        kb_codec_text_str(&t, n->id);
        ADD(&t, ",\"kind\":");
        kb_codec_text_str(&t, kb_codec_kind_name(n->kind));
        ADD(&t, ",\"municipality\":");
        kb_codec_text_str(&t, n->municipality);
        ADD(&t, "}");
        hit_text(&t, &q, c, h);
    }
    ADD(&t, "]}");
    return text_done(&t, answer, answer_len, f);
}

/* ---- the same answers as JSON values ---- */

static int parsed(int rc, char *text, json_t **out, kb_fault_t *f) {
    *out = NULL;
    if (rc < 0) return rc;
    *out = json_loads(text, 0, NULL);
    free(text);
    return *out ? 0 : no_memory(f);
}

int kb_engine_matches(kb_engine_t *e, const char *need_id, const kb_match_opts_t *o, json_t **out,
                      kb_fault_t *f) {
    char *text;
    size_t len;
    int rc = kb_engine_matches_text(e, need_id, o, &text, &len, f);
    return parsed(rc, text, out, f);
}

int kb_engine_what_if(kb_engine_t *e, const json_t *body, const kb_match_opts_t *o, json_t **out,
                      kb_fault_t *f) {
    char *text;
    size_t len;
    int rc = kb_engine_what_if_text(e, body, o, &text, &len, f);
    return parsed(rc, text, out, f);
}

int kb_engine_volunteer_needs(kb_engine_t *e, const char *volunteer_id, const kb_match_opts_t *o,
                              json_t **out, kb_fault_t *f) {
    char *text;
    size_t len;
    int rc = kb_engine_volunteer_needs_text(e, volunteer_id, o, &text, &len, f);
    return parsed(rc, text, out, f);
}
