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

/* ---- which members of a cell to check ----
 *
 * The score is a weighted sum, and most of it comes from *terms*: each
 * wanted skill, each of the need's time slots and each wanted experience
 * tag adds its share of its component's weight when the candidate has it.
 * The rest (distance, age, load, and components with nothing to compare)
 * is bounded per cell by `fixed` plus the distance part at the cell's
 * minimum distance. This is the MaxScore method of text retrieval: sort
 * the terms by weight; the lightest ones whose weights together with the
 * fixed part cannot reach the current k-th score are non-essential, and a
 * candidate having none of the essential terms cannot enter the top k. So
 * a cell is walked through the posting lists of the essential terms only,
 * or through another list every passing candidate must be on (a required
 * skill, the need's languages) with a mask test for "has an essential
 * term". Every member on the walk is first tried on its hot record in the
 * cell (kb_score_hot: the hard constraints masks can decide, and a bound of
 * its score against the current k-th); only those it lets through have
 * their full record read and scored. In a dense city that is a few dozen
 * records per query instead of thousands. */

#define MAX_TERMS (32 + KB_SLOT_COUNT + 32 + 1)
/* Slack for the different order in which the bound and the score add up
 * the same weights; far below any difference a score shows. */
#define BOUND_SLACK 1e-9

typedef struct term {
    uint32_t key;  /* posting key */
    double weight; /* share of the score, already divided by the weight sum */
} term_t;

typedef struct plan {
    term_t terms[MAX_TERMS]; /* lightest first */
    int nterms;
    double fixed; /* bound of every non-term, non-distance part */
    double wdist; /* distance weight share */
} plan_t;

static int cmp_term(const void *a, const void *b) {
    const term_t *x = a, *y = b;
    if (x->weight != y->weight) return x->weight < y->weight ? -1 : 1;
    return (x->key > y->key) - (x->key < y->key);
}

/* Terms of q for candidates of the given type. A list that is not exact
 * (see kb_toks_small) cannot be tested with masks, so its component goes to
 * the fixed part at full weight: a weaker bound, never a wrong one. */
static void make_plan(const kb_query_t *q, int type, plan_t *p) {
    const kb_need_t *n = q->need;
    const double *w = q->weights.w;
    double W = q->wsum;
    p->nterms = 0;
    p->wdist = w[KB_C_DISTANCE] / W;
    p->fixed = (w[KB_C_AGE] + w[KB_C_LOAD]) / W;
    if (n->skills_wanted.n && q->wanted_exact) {
        for (unsigned i = 0; i < n->skills_wanted.n; i++)
            p->terms[p->nterms++] =
                (term_t){n->skills_wanted.ids[i], w[KB_C_SKILLS] / n->skills_wanted.n / W};
    } else {
        p->fixed += w[KB_C_SKILLS] / W;
    }
    if (n->avail) {
        int slots = kb_slots_count(n->avail);
        for (int i = 0; i < KB_SLOT_COUNT; i++)
            if (n->avail & (1u << i))
                p->terms[p->nterms++] =
                    (term_t){KB_INDEX_SLOT | (uint32_t)i, w[KB_C_AVAILABILITY] / slots / W};
        /* Listing no slots scores full availability: one term of the whole weight. */
        p->terms[p->nterms++] = (term_t){KB_INDEX_NO_SLOTS, w[KB_C_AVAILABILITY] / W};
    } else {
        p->fixed += w[KB_C_AVAILABILITY] / W;
    }
    if (type == KB_VOLUNTEER && n->exp_wanted.n && q->exp_exact) {
        for (unsigned i = 0; i < n->exp_wanted.n; i++)
            p->terms[p->nterms++] = (term_t){n->exp_wanted.ids[i] | KB_INDEX_EXP,
                                             w[KB_C_EXPERIENCE] / n->exp_wanted.n / W};
    } else {
        p->fixed += w[KB_C_EXPERIENCE] / W;
    }
    qsort(p->terms, (size_t)p->nterms, sizeof p->terms[0], cmp_term);
}

static bool has_term(const kb_hot_t *h, uint32_t key) {
    if (key == KB_INDEX_NO_SLOTS) return h->avail == 0;
    if (key & KB_INDEX_SLOT) return (h->avail >> (key & 31)) & 1;
    if (key & KB_INDEX_EXP) return (h->exp_mask >> (key & ~KB_INDEX_EXP)) & 1;
    return (h->skill_mask >> key) & 1;
}

/* Does h have one of the terms from index `from` to `to`? */
static bool has_any(const plan_t *p, int from, int to, const kb_hot_t *h) {
    for (int i = from; i < to; i++)
        if (has_term(h, p->terms[i].key)) return true;
    return false;
}

/* Is language l (an index into the need's languages) the first of them the
 * candidate speaks? From the mask when the need's list is exact, else
 * from the record. */
static bool first_shared_lang(const kb_matcher_t *m, const kb_query_t *q, int type,
                              const kb_cell_t *cell, uint32_t pos, unsigned l) {
    const kb_toks_t *need = &q->need->langs;
    if (q->lang_exact) {
        uint64_t mask = cell->hot[pos].lang_mask;
        for (unsigned i = 0; i < l; i++)
            if ((mask >> need->ids[i]) & 1) return false;
        return true;
    }
    const kb_toks_t *c = &kb_store_cand(m->store, type, cell->members[pos])->langs;
    unsigned i = 0, j = 0;
    while (i < need->n && j < c->n) {
        if (need->ids[i] < c->ids[j]) i++;
        else if (need->ids[i] > c->ids[j]) j++;
        else return i == l;
    }
    return false;
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

/* A posting jumps through the cell's hot records; asking for the one a few
 * entries ahead overlaps the cache misses instead of paying them one after
 * another. */
#define PREFETCH_AHEAD 8

/* Checks the member at pos if its hot record lets it into the top k. */
static void consider(kb_matcher_t *m, const kb_query_t *q, int type, const kb_cell_t *cell,
                     uint32_t pos, kb_match_result_t *out) {
    double min_score = m->n == m->limit ? m->heap[0].score - BOUND_SLACK : -INFINITY;
    if (kb_score_hot(q, type, &cell->hot[pos], min_score))
        check_one(m, q, type, cell->members[pos], out, false);
}

static uint32_t posting_len(const kb_cell_t *cell, uint32_t key) {
    const kb_posting_t *p = kb_cell_posting(cell, key);
    return p ? p->n : 0;
}

/* Walks the cell through the cheapest list that every candidate able to
 * enter the top k is on. */
static void scan_cell(kb_matcher_t *m, const kb_query_t *q, const plan_t *plan, int type,
                      const kb_cell_t *cell, double lb_km, kb_match_result_t *out) {
    const kb_need_t *need = q->need;
    /* Essential terms: from index `ess` on. */
    int ess = 0;
    if (m->n == m->limit) {
        double dist = 1.0 - lb_km / need->max_km;
        double acc = plan->fixed + plan->wdist * (dist > 0 ? dist : 0);
        double theta = m->heap[0].score - BOUND_SLACK;
        while (ess < plan->nterms && acc + plan->terms[ess].weight < theta)
            acc += plan->terms[ess++].weight;
        if (ess == plan->nterms && acc < theta) return; /* nobody here can make it */
    }

    /* The candidate lists to choose from, by length; NULL is every position. */
    const uint32_t *list = NULL;
    uint32_t len = cell->npos;
    for (unsigned i = 0; i < need->skills_required.n; i++) {
        const kb_posting_t *p = kb_cell_posting(cell, need->skills_required.ids[i]);
        if (!p) return; /* nobody here has a required skill */
        if (p->n < len) list = p->pos, len = p->n;
    }
    uint32_t lang_len = 0, ess_len = 0;
    for (unsigned i = 0; i < need->langs.n; i++)
        lang_len += posting_len(cell, need->langs.ids[i] | KB_INDEX_LANG);
    for (int i = ess; ess > 0 && i < plan->nterms; i++)
        ess_len += posting_len(cell, plan->terms[i].key);

    if (ess > 0 && ess_len < len && (!need->langs.n || ess_len <= lang_len)) {
        /* The union of the essential postings: each candidate is taken
         * from the first of them it is on. */
        for (int t = ess; t < plan->nterms; t++) {
            const kb_posting_t *p = kb_cell_posting(cell, plan->terms[t].key);
            for (uint32_t i = 0; p && i < p->n; i++) {
                if (i + PREFETCH_AHEAD < p->n)
                    __builtin_prefetch(&cell->hot[p->pos[i + PREFETCH_AHEAD]]);
                if (t > ess && has_any(plan, ess, t, &cell->hot[p->pos[i]])) continue;
                consider(m, q, type, cell, p->pos[i], out);
            }
        }
    } else if (need->langs.n && lang_len < len) {
        for (unsigned l = 0; l < need->langs.n; l++) {
            const kb_posting_t *p = kb_cell_posting(cell, need->langs.ids[l] | KB_INDEX_LANG);
            for (uint32_t i = 0; p && i < p->n; i++) {
                if (i + PREFETCH_AHEAD < p->n)
                    __builtin_prefetch(&cell->hot[p->pos[i + PREFETCH_AHEAD]]);
                if (l > 0 && !first_shared_lang(m, q, type, cell, p->pos[i], l)) continue;
                if (ess > 0 && !has_any(plan, ess, plan->nterms, &cell->hot[p->pos[i]])) continue;
                consider(m, q, type, cell, p->pos[i], out);
            }
        }
    } else {
        for (uint32_t i = 0; i < len; i++) {
            uint32_t pos = list ? list[i] : i;
            if (list && i + PREFETCH_AHEAD < len)
                __builtin_prefetch(&cell->hot[list[i + PREFETCH_AHEAD]]);
            if (!list && kb_cell_is_free(cell, pos)) continue;
            if (ess > 0 && !has_any(plan, ess, plan->nterms, &cell->hot[pos])) continue;
            consider(m, q, type, cell, pos, out);
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
        plan_t plan;
        make_plan(q, type, &plan);
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
            if (explain) {
                for (uint32_t pos = 0; pos < cell->npos; pos++)
                    if (!kb_cell_is_free(cell, pos))
                        check_one(m, q, type, cell->members[pos], out, true);
            } else {
                scan_cell(m, q, &plan, type, cell, lb, out);
            }
        }
        if (m->search.err) return m->search.err;
        if (explain) out->excluded[KB_X_DISTANCE] += ix[type]->count - seen;
    }
    finish(m, out);
    return 0;
}

int kb_match_need_scan(kb_matcher_t *m, const kb_store_t *s, const kb_query_t *q, uint32_t limit,
                       kb_match_result_t *out) {
    int rc = begin(m, s, limit, out);
    if (rc < 0) return rc;
    for (int type = 0; type < 2; type++) {
        if (!kb_kind_wants(q->need->kind, type)) continue;
        const kb_pool_t *p = &s->cands[type];
        for (uint32_t slot = 0; slot < p->used; slot++)
            if (kb_store_cand(s, type, slot)->live) check_one(m, q, type, slot, out, true);
    }
    finish(m, out);
    return 0;
}

int kb_match_volunteer(kb_matcher_t *m, const kb_store_t *s, const kb_index_t *needs, uint32_t v,
                       const kb_need_source_t *src, uint32_t limit, kb_match_result_t *out) {
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
        for (uint32_t pos = 0; pos < cell->npos; pos++) {
            kb_query_t q;
            uint32_t slot = cell->members[pos];
            if (kb_cell_is_free(cell, pos)) continue;
            if (!src->prepare(src->ctx, slot, &q)) continue;
            double chord2 = kb_geo_chord2(&q.need->pos, &c->pos);
            out->checked++;
            if (kb_score_check(&q, c, v, chord2) != KB_X_COUNT) continue;
            kb_hit_t h = {
                .dist_km = kb_geo_km_of_chord2(chord2), .slot = slot, .type = KB_HIT_NEED};
            h.score = kb_score(&q, c, h.dist_km, NULL);
            offer(m, &h);
        }
    }
    if (m->search.err) return m->search.err;
    finish(m, out);
    return 0;
}
