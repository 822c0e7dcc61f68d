/* match.c — see match.h. */
#include "match.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "koble/error.h"

void kb_matcher_init(kb_matcher_t *m) {
    memset(m, 0, sizeof *m);
    kb_index_search_init(&m->search);
}

void kb_matcher_free(kb_matcher_t *m) {
    kb_index_search_free(&m->search);
    free(m->heap);
    memset(m, 0, sizeof *m);
}

static const char *hit_id(const kb_store_t *s, const kb_hit_t *h) {
    return h->type == KB_HIT_NEED ? kb_store_need(s, h->slot)->id
                                  : kb_store_cand(s, h->type, h->slot)->id;
}

/* Is a a better hit than b? */
static bool better(const kb_store_t *s, const kb_hit_t *a, const kb_hit_t *b) {
    if (a->score != b->score) return a->score > b->score;
    if (a->dist_km != b->dist_km) return a->dist_km < b->dist_km;
    int c = strcmp(hit_id(s, a), hit_id(s, b));
    if (c) return c < 0;
    return a->type < b->type;
}

/* The heap keeps the worst of the k best at its root. */
static void sift_down(kb_matcher_t *m, uint32_t i) {
    kb_hit_t it = m->heap[i];
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= m->n) break;
        if (child + 1 < m->n && better(m->store, &m->heap[child], &m->heap[child + 1])) child++;
        if (!better(m->store, &it, &m->heap[child])) break;
        m->heap[i] = m->heap[child];
        i = child;
    }
    m->heap[i] = it;
}

static void offer(kb_matcher_t *m, const kb_hit_t *h) {
    if (m->n < m->limit) {
        uint32_t i = m->n++;
        while (i > 0) {
            uint32_t parent = (i - 1) / 2;
            if (!better(m->store, &m->heap[parent], h)) break;
            m->heap[i] = m->heap[parent];
            i = parent;
        }
        m->heap[i] = *h;
    } else if (m->limit && better(m->store, h, &m->heap[0])) {
        m->heap[0] = *h;
        sift_down(m, 0);
    }
}

static int begin(kb_matcher_t *m, const kb_store_t *s, uint32_t limit, kb_match_result_t *out) {
    if (limit > m->cap) {
        kb_hit_t *h = realloc(m->heap, limit * sizeof *h);
        if (!h) return KB_ENOMEM;
        m->heap = h;
        m->cap = limit;
    }
    m->n = 0;
    m->limit = limit;
    m->store = s;
    memset(out, 0, sizeof *out);
    return 0;
}

/* Pops the heap into best-first order in place. */
static void finish(kb_matcher_t *m, kb_match_result_t *out) {
    uint32_t n = m->n;
    while (m->n > 1) {
        kb_hit_t worst = m->heap[0];
        m->heap[0] = m->heap[--m->n];
        sift_down(m, 0);
        m->heap[m->n] = worst;
    }
    m->n = n;
    out->hits = m->heap;
    out->n = n;
}

/* The members of cell worth checking for q: the shortest of the cell's
 * posting lists that every passing candidate must be on. Language postings
 * are a union (any shared language), so they count as the sum of their
 * lengths and each candidate is taken from the posting of its smallest
 * shared language only. */
typedef struct source {
    const uint32_t *slots;
    uint32_t n;
    int lang; /* >= 0: walking the postings of the need's languages from this index */
} source_t;

static source_t pick_source(const kb_query_t *q, const kb_cell_t *cell) {
    source_t src = {cell->members, cell->n, -1};
    const kb_need_t *need = q->need;
    for (unsigned i = 0; i < need->skills_required.n; i++) {
        const kb_posting_t *p = kb_cell_posting(cell, need->skills_required.ids[i]);
        if (!p) return (source_t){NULL, 0, -1}; /* nobody here has the skill */
        if (p->n < src.n) src = (source_t){p->slots, p->n, -1};
    }
    if (need->langs.n) {
        uint32_t sum = 0;
        for (unsigned i = 0; i < need->langs.n; i++) {
            const kb_posting_t *p = kb_cell_posting(cell, need->langs.ids[i] | KB_INDEX_LANG);
            sum += p ? p->n : 0;
        }
        if (sum < src.n) src = (source_t){NULL, sum, 0};
    }
    return src;
}

/* First language shared by the need and c, as an index into need->langs. */
static unsigned first_shared_lang(const kb_toks_t *need, const kb_toks_t *c) {
    unsigned i = 0, j = 0;
    while (i < need->n && j < c->n) {
        if (need->ids[i] < c->ids[j]) i++;
        else if (need->ids[i] > c->ids[j]) j++;
        else return i;
    }
    return need->n;
}

static void check_one(kb_matcher_t *m, const kb_query_t *q, int type, uint32_t slot,
                      kb_match_result_t *out, bool explain) {
    const kb_cand_t *c = kb_store_cand(m->store, type, slot);
    double chord2 = kb_geo_chord2(&q->need->pos, &c->pos);
    int why = kb_score_check(q, c, slot, chord2);
    out->checked++;
    if (why != KB_X_COUNT) {
        if (explain) out->excluded[why]++;
        return;
    }
    kb_hit_t h = {.dist_km = kb_geo_km_of_chord2(chord2), .slot = slot, .type = (uint8_t)type};
    h.score = kb_score(q, c, h.dist_km, NULL);
    offer(m, &h);
}

static void scan_cell(kb_matcher_t *m, const kb_query_t *q, int type, const kb_cell_t *cell,
                      kb_match_result_t *out, bool explain) {
    source_t src = explain ? (source_t){cell->members, cell->n, -1} : pick_source(q, cell);
    if (src.lang < 0) {
        for (uint32_t i = 0; i < src.n; i++) check_one(m, q, type, src.slots[i], out, explain);
        return;
    }
    const kb_toks_t *langs = &q->need->langs;
    for (unsigned l = 0; l < langs->n; l++) {
        const kb_posting_t *p = kb_cell_posting(cell, langs->ids[l] | KB_INDEX_LANG);
        for (uint32_t i = 0; p && i < p->n; i++) {
            const kb_cand_t *c = kb_store_cand(m->store, type, p->slots[i]);
            if (first_shared_lang(langs, &c->langs) != l) continue;
            check_one(m, q, type, p->slots[i], out, explain);
        }
    }
}

int kb_match_need(kb_matcher_t *m, const kb_store_t *s, const kb_index_t *const ix[2],
                  const kb_query_t *q, uint32_t limit, bool explain, kb_match_result_t *out) {
    int rc = begin(m, s, limit, out);
    if (rc < 0) return rc;
    for (int type = 0; type < 2; type++) {
        if (!ix[type] || !kb_kind_wants(q->need->kind, type)) continue;
        uint64_t seen = 0;
        kb_index_search_begin(&m->search, ix[type], &q->need->pos, q->need->max_km);
        for (;;) {
            double lb = kb_index_search_peek(&m->search);
            if (lb == INFINITY) break;
            if (!explain && m->n == m->limit &&
                (m->limit == 0 || kb_score_bound(q, lb) < m->heap[0].score))
                break;
            const kb_cell_t *cell = kb_index_search_next(&m->search);
            out->cells++;
            seen += cell->n;
            scan_cell(m, q, type, cell, out, explain);
        }
        if (m->search.err) return m->search.err;
        if (explain) out->excluded[KB_X_DISTANCE] += ix[type]->count - seen;
    }
    finish(m, out);
    return 0;
}

int kb_match_volunteer(kb_matcher_t *m, const kb_store_t *s, const kb_index_t *needs,
                       uint32_t v, const kb_need_source_t *src, uint32_t limit,
                       kb_match_result_t *out) {
    int rc = begin(m, s, limit, out);
    if (rc < 0) return rc;
    const kb_cand_t *c = kb_store_cand(s, KB_VOLUNTEER, v);
    /* Both limits must hold, so the volunteer's own is the search radius;
     * each need's radius is checked by kb_score_check. Needs are far fewer
     * than volunteers and their radii differ, so there is no pruning. */
    kb_index_search_begin(&m->search, needs, &c->pos, c->max_km);
    const kb_cell_t *cell;
    while ((cell = kb_index_search_next(&m->search))) {
        out->cells++;
        for (uint32_t i = 0; i < cell->n; i++) {
            kb_query_t q;
            uint32_t slot = cell->members[i];
            if (!src->prepare(src->ctx, slot, &q)) continue;
            double chord2 = kb_geo_chord2(&q.need->pos, &c->pos);
            out->checked++;
            if (kb_score_check(&q, c, v, chord2) != KB_X_COUNT) continue;
            kb_hit_t h = {.dist_km = kb_geo_km_of_chord2(chord2), .slot = slot, .type = KB_HIT_NEED};
            h.score = kb_score(&q, c, h.dist_km, NULL);
            offer(m, &h);
        }
    }
    if (m->search.err) return m->search.err;
    finish(m, out);
    return 0;
}
