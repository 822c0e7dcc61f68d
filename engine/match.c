/* match.c — see match.h. */
#include "match.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
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
 * minimum distance. Once the heap is full, a candidate can only enter the
 * top k if the terms it has weigh at least the current k-th score less
 * that bound. The cell's bitmaps of the terms give those members exactly
 * (enough(), 512 positions at a time), and that joins the AND of
 * the hard constraints' bitmaps (scan_cell). Every member left is then
 * tried on its hot record in the cell (kb_score_hot: the constraints
 * masks decide, and a bound of its score against the current k-th); only
 * those it lets through have their full record read and scored. In a
 * dense city that is a few dozen records per query instead of thousands,
 * and about 180 hot records (1,800 when only one of the heaviest terms had
 * to be there: MaxScore's condition, which this one implies). Before the
 * heap is full there is no k-th score to filter with: a cell read then
 * sets aside its members with less than half its terms' weight until the
 * others have given the heap good hits (FIRST_SHARE). */

#define MAX_TERMS (32 + KB_SLOT_COUNT + 32 + 1)
/* Slack for the different order in which the bound and the score add up
 * the same weights; far below any difference a score shows. */
#define BOUND_SLACK 1e-9

typedef struct term {
    uint32_t key;  /* index key */
    double weight; /* share of the score, already divided by the weight sum */
} term_t;

/* Keys whose rows a cell is asked for: active, required skills, the
 * certificate, languages, slots and the terms (the slots twice). */
#define MAX_KEYS (1 + KB_CODEC_TOKENS_MAX + 1 + KB_CODEC_TOKENS_MAX + KB_SLOT_COUNT + 1 + MAX_TERMS)
_Static_assert(MAX_KEYS <= 256, "plan_t indexes its keys with uint8_t");

typedef struct plan {
    term_t terms[MAX_TERMS]; /* lightest first */
    int nterms;
    double fixed; /* bound of every non-term, non-distance part */
    double all;   /* the terms' weights together */
    double wdist; /* distance weight share */
    /* Every key whose row a cell is asked for, ascending and distinct, so
     * that one pass through a cell's keys finds them all; the rest are
     * indices into it. */
    uint32_t keys[MAX_KEYS];
    unsigned nkeys;
    uint8_t every[2 + KB_CODEC_TOKENS_MAX]; /* rows a passing member is in all of */
    uint8_t langs[KB_CODEC_TOKENS_MAX];     /* ... one of: a language */
    uint8_t slots[KB_SLOT_COUNT + 1];       /* ... one of: a shared slot or none listed */
    uint8_t term_key[MAX_TERMS];            /* the row of terms[i] */
    unsigned nevery, nlangs, nslots;
} plan_t;

static int cmp_key(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The index of key in p->keys, which has it. */
static uint8_t key_index(const plan_t *p, uint32_t key) {
    const uint32_t *k = bsearch(&key, p->keys, p->nkeys, sizeof key, cmp_key);
    return (uint8_t)(k - p->keys);
}

/* Fills p->keys and the indices into it. */
static void plan_keys(const kb_query_t *q, int type, plan_t *p) {
    const kb_need_t *n = q->need;
    uint32_t every[2 + KB_CODEC_TOKENS_MAX], slots[KB_SLOT_COUNT + 1];
    unsigned nevery = 0, nslots = 0, nk = 0;
    every[nevery++] = KB_INDEX_ACTIVE;
    for (unsigned i = 0; i < n->skills_required.n; i++) every[nevery++] = n->skills_required.ids[i];
    if (type == KB_VOLUNTEER && n->person_age < 15) every[nevery++] = KB_INDEX_CERT;
    if (n->avail) {
        for (int i = 0; i < KB_SLOT_COUNT; i++)
            if (n->avail & (1u << i)) slots[nslots++] = KB_INDEX_SLOT | (uint32_t)i;
        slots[nslots++] = KB_INDEX_NO_SLOTS;
    }
    for (unsigned i = 0; i < nevery; i++) p->keys[nk++] = every[i];
    for (unsigned i = 0; i < n->langs.n; i++) p->keys[nk++] = n->langs.ids[i] | KB_INDEX_LANG;
    for (unsigned i = 0; i < nslots; i++) p->keys[nk++] = slots[i];
    for (int i = 0; i < p->nterms; i++) p->keys[nk++] = p->terms[i].key;
    qsort(p->keys, nk, sizeof p->keys[0], cmp_key);
    p->nkeys = 0;
    for (unsigned i = 0; i < nk; i++)
        if (i == 0 || p->keys[i] != p->keys[p->nkeys - 1]) p->keys[p->nkeys++] = p->keys[i];
    for (unsigned i = 0; i < nevery; i++) p->every[i] = key_index(p, every[i]);
    for (unsigned i = 0; i < n->langs.n; i++)
        p->langs[i] = key_index(p, n->langs.ids[i] | KB_INDEX_LANG);
    for (unsigned i = 0; i < nslots; i++) p->slots[i] = key_index(p, slots[i]);
    for (int i = 0; i < p->nterms; i++) p->term_key[i] = key_index(p, p->terms[i].key);
    p->nevery = nevery;
    p->nlangs = n->langs.n;
    p->nslots = nslots;
}

static int cmp_term(const void *a, const void *b) {
    const term_t *x = a, *y = b;
    if (x->weight != y->weight) return x->weight < y->weight ? -1 : 1;
    return (x->key > y->key) - (x->key < y->key);
}

/* Terms of q for candidates of the given type, and the keys of the rows
 * to look up in a cell. */
static void make_plan(const kb_query_t *q, int type, plan_t *p) {
    const kb_need_t *n = q->need;
    const double *w = q->weights.w;
    double W = q->wsum;
    p->nterms = 0;
    p->wdist = w[KB_C_DISTANCE] / W;
    p->fixed = (w[KB_C_AGE] + w[KB_C_LOAD]) / W;
    if (n->skills_wanted.n) {
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
    if (type == KB_VOLUNTEER && n->exp_wanted.n) {
        for (unsigned i = 0; i < n->exp_wanted.n; i++)
            p->terms[p->nterms++] = (term_t){n->exp_wanted.ids[i] | KB_INDEX_EXP,
                                             w[KB_C_EXPERIENCE] / n->exp_wanted.n / W};
    } else {
        p->fixed += w[KB_C_EXPERIENCE] / W;
    }
    qsort(p->terms, (size_t)p->nterms, sizeof p->terms[0], cmp_term);
    p->all = 0.0;
    for (int i = 0; i < p->nterms; i++) p->all += p->terms[i].weight;
    plan_keys(q, type, p);
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

/* The k-th score, or -INFINITY while the heap has fewer than k hits. */
static double kth(const kb_matcher_t *m) { return m->n < m->limit ? -INFINITY : m->heap[0].score; }

/* Does the member at pos's hot record let it into the top k as it is? */
static bool hot_lets_in(const kb_matcher_t *m, const kb_query_t *q, int type, const kb_cell_t *cell,
                        uint32_t pos) {
    return kb_score_hot(q, type, &cell->hot[pos], kth(m) - BOUND_SLACK);
}

/* A cell of at most this many positions is cheaper to read through than to
 * look up its bitmaps for (a pass through its keys for those of the need), and its
 * hot records decide the same constraints. */
#define SMALL_CELL 32

/* The terms of a plan that some member of a cell has, heaviest first. */
typedef struct cell_terms {
    const uint64_t *bits[MAX_TERMS];
    double weight[MAX_TERMS];
    double rest[MAX_TERMS + 1]; /* weight of terms i.. together; rest[n] is 0 */
    int n;
} cell_terms_t;

/* A group of KB_CELL_GROUP words of a cell's rows (512 positions), the
 * unit of the word loop. Its operations are loops of a fixed length that
 * the compiler turns into one or two vector instructions where the
 * machine has them (-march=native), and the loop's branches, which cost
 * more than its loads, are taken once per group instead of once a word. */
typedef struct group {
    uint64_t w[KB_CELL_GROUP];
} group_t;

static inline void group_and(group_t *x, const uint64_t *words) {
    for (int l = 0; l < KB_CELL_GROUP; l++) x->w[l] &= words[l];
}

static inline void group_and_not(group_t *x, const uint64_t *words) {
    for (int l = 0; l < KB_CELL_GROUP; l++) x->w[l] &= ~words[l];
}

static inline void group_or(group_t *x, const uint64_t *words) {
    for (int l = 0; l < KB_CELL_GROUP; l++) x->w[l] |= words[l];
}

static inline bool group_any(const group_t *x) {
    uint64_t any = 0;
    for (int l = 0; l < KB_CELL_GROUP; l++) any |= x->w[l];
    return any;
}

/* The OR of the n rows at word w, ANDed into x. */
static void group_and_any(group_t *x, const uint64_t *const *rows, unsigned n, uint32_t w) {
    group_t y;
    memcpy(y.w, rows[0] + w, sizeof y.w);
    for (unsigned i = 1; i < n; i++) group_or(&y, rows[i] + w);
    group_and(x, y.w);
}

/* ORs into out the positions of in (the group at word w of the cell's
 * rows) whose terms from i on weigh at least need together. Each term in
 * turn splits the positions into those with it and those without; a
 * branch ends as soon as nobody is left in it or the terms still to come
 * cannot make up what it lacks, so the heaviest terms, which nearly
 * everybody must have when the k-th score is high, cut most of the tree at
 * once. A term that the terms after it cannot make up for is simply ANDed
 * in. */
static void enough(const cell_terms_t *t, int i, uint32_t w, const group_t *in, double need,
                   group_t *out) {
    group_t mask = *in;
    for (; need > 0 && group_any(&mask); i++) {
        if (i == t->n || t->rest[i] < need) return;
        const uint64_t *has = t->bits[i] + w;
        if (t->rest[i + 1] < need) {
            group_and(&mask, has);
            need -= t->weight[i];
            continue;
        }
        group_t with = mask;
        group_and(&with, has);
        if (group_any(&with)) enough(t, i + 1, w, &with, need - t->weight[i], out);
        group_and_not(&mask, has);
    }
    group_or(out, mask.w);
}

/* The term filter for a score to reach: the heaviest terms that a member
 * must have whatever else it has (those after them weigh less than what it
 * would lack) act as required skills do, and enough() weighs the rest
 * against what is still needed. The k-th score changes only when a member
 * is checked, so this is worked out per cell and per batch, not per group. */
typedef struct filter {
    int nmust;   /* terms 0..nmust-1 are required */
    double need; /* weight still needed from the terms after them; <= 0: none */
} filter_t;

/* The filter for the members that can reach the k-th score and floor both,
 * with the score but for the terms at base. */
static inline void set_filter(const kb_matcher_t *m, const cell_terms_t *t, double base,
                              double floor, filter_t *f) {
    double score = kth(m) > floor ? kth(m) : floor;
    f->nmust = 0;
    f->need = 0.0;
    if (score == -INFINITY) return; /* nothing to reach yet: no filter */
    double need = score - base;
    int i = 0;
    while (i < t->n && need > 0 && t->rest[i + 1] < need) need -= t->weight[i++];
    f->nmust = i;
    f->need = need;
}

/* Keeps the members of x (the group at word w) that f lets through. */
static inline void apply_filter(const cell_terms_t *t, const filter_t *f, uint32_t w, group_t *x) {
    for (int i = 0; i < f->nmust; i++) group_and(x, t->bits[i] + w);
    if (f->need > 0 && group_any(x)) {
        group_t y = {{0}};
        enough(t, f->nmust, w, x, f->need, &y);
        *x = y;
    }
}

/* Positions gathered before their records are read: the records are cache
 * misses, and asking for several at once overlaps them. Each hot record is
 * asked for as its position is found, the most time ahead it can have.
 * After a batch the filter follows the k-th score: 16 is 2-4% faster than
 * 64 and 32, and 8 no faster than 16 (interleaved A/B, bench/README). */
#define BATCH 16

/* Full records asked for before the first of them is checked. */
#define LAG 4

/* Tries the members at pos[0..n) on their hot records (asked for by
 * scan_cell) and checks those they let through on their full records, LAG
 * behind, so that the k-th score those raise is soon the one the next hot
 * records are tried at. */
static void check_batch(kb_matcher_t *m, const kb_query_t *q, int type, const kb_cell_t *cell,
                        const uint32_t *pos, uint32_t n, kb_match_result_t *out) {
    uint32_t passed[LAG], k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!hot_lets_in(m, q, type, cell, pos[i])) continue;
        if (k >= LAG) check_one(m, q, type, passed[k % LAG], out, false);
        passed[k % LAG] = cell->hot[pos[i]].slot;
        __builtin_prefetch(kb_store_cand(m->store, type, passed[k % LAG]));
        k++;
    }
    for (uint32_t j = k > LAG ? k - LAG : 0; j < k; j++)
        check_one(m, q, type, passed[j % LAG], out, false);
}

/* One cell being read (scan_cell): the rows it is read with, the filter
 * at the current k-th score, and the positions waiting for their batch. */
typedef struct scan {
    kb_matcher_t *m;
    const kb_query_t *q;
    int type;
    const kb_cell_t *cell;
    kb_match_result_t *out;
    const cell_terms_t *ct;
    double base; /* the score but for the terms, at its bound in the cell */
    const uint64_t *langs[KB_CODEC_TOKENS_MAX], *slots[KB_SLOT_COUNT + 1];
    unsigned nlangs, nslots;
    filter_t f;
    uint32_t pos[BATCH + 64 * KB_CELL_GROUP], n;
} scan_t;

/* Checks the positions waiting, and sets the filter at the k-th score they
 * leave. */
static void flush(scan_t *s) {
    check_batch(s->m, s->q, s->type, s->cell, s->pos, s->n, s->out);
    s->n = 0;
    set_filter(s->m, s->ct, s->base, -INFINITY, &s->f);
}

/* Takes the members of x (the group at word w, filtered) that speak one of
 * the need's languages and share a slot with it: their hot records are
 * asked for now, and they are checked when their batch is full. Until the
 * heap holds k hits, a batch ends where it could fill it. */
static inline void take(scan_t *s, uint32_t w, group_t *x) {
    if (s->nlangs) group_and_any(x, s->langs, s->nlangs, w);
    if (s->nslots) group_and_any(x, s->slots, s->nslots, w);
    for (uint32_t l = 0; l < KB_CELL_GROUP; l++)
        for (uint64_t b = x->w[l]; b; b &= b - 1) {
            s->pos[s->n] = (w + l) * 64 + (uint32_t)__builtin_ctzll(b);
            __builtin_prefetch(&s->cell->hot[s->pos[s->n++]]);
        }
    const kb_matcher_t *m = s->m;
    if (s->n >= BATCH || (m->n < m->limit && m->n + s->n >= m->limit)) flush(s);
}

/* A cell that is read before the heap holds k hits (the first one or two)
 * would have its members checked against a k-th score that starts from
 * nothing and rises slowly, as members in storage order come in. Its
 * members whose terms weigh less than this share of the cell's all are
 * set aside instead, and read after the others, at the k-th score those
 * leave: 1.07-1.11x queries/s in the three towns (interleaved A/B, shares
 * 0.4-0.6 alike; bench/README). */
#define FIRST_SHARE 0.5

/* Groups set aside in a cell at most; past that they are read at once. */
#define MAX_LATER 64

/* Looks at the members of cell that can enter the top k: the AND of the
 * bitmaps of what every passing candidate has (active, each required
 * skill, one of the languages, a shared time slot or none listed, a child
 * certificate for a person under 15) and, once the heap is full, of those
 * whose terms weigh enough to reach the current k-th score with the rest
 * of the score at its bound in this cell (enough()). Each of them is tried
 * on its hot record, and what that lets through is checked on its record. */
static int scan_cell(kb_matcher_t *m, const kb_query_t *q, const plan_t *plan, int type,
                     const kb_cell_t *cell, double lb_km, kb_match_result_t *out) {
    const kb_need_t *need = q->need;
    /* The score but for the terms, at its bound in this cell. */
    double dist = 1.0 - lb_km / need->max_km;
    double base = plan->fixed + plan->wdist * (dist > 0 ? dist : 0) + BOUND_SLACK;
    if (base + plan->all < kth(m)) return 0; /* nobody here can make it */

    if (cell->npos <= SMALL_CELL) {
        for (uint32_t pos = 0; pos < cell->npos; pos++)
            if (!kb_cell_is_free(cell, pos) && hot_lets_in(m, q, type, cell, pos))
                check_one(m, q, type, cell->members[pos], out, false);
        return 0;
    }
    const uint64_t *rows[MAX_KEYS];
    kb_cell_find(cell, plan->keys, plan->nkeys, rows);
    cell_terms_t ct; /* not zeroed: 2 KiB, filled up to ct.n */
    ct.n = 0;
    for (int i = plan->nterms - 1; i >= 0; i--) {
        const uint64_t *b = rows[plan->term_key[i]];
        if (!b) continue;
        ct.bits[ct.n] = b;
        ct.weight[ct.n++] = plan->terms[i].weight;
    }
    double rest = 0.0;
    ct.rest[ct.n] = 0.0;
    for (int i = ct.n - 1; i >= 0; i--) ct.rest[i] = rest += ct.weight[i];
    if (base + rest < kth(m)) return 0;

    /* Rows every passing member has a bit in, and groups of rows it has a
     * bit in one of. */
    scan_t sc; /* not zeroed: 2 KiB of positions, used up to sc.n */
    sc.m = m;
    sc.q = q;
    sc.type = type;
    sc.cell = cell;
    sc.out = out;
    sc.ct = &ct;
    sc.base = base;
    sc.nlangs = sc.nslots = sc.n = 0;
    const uint64_t *every[2 + KB_CODEC_TOKENS_MAX];
    unsigned nevery = 0;
    for (unsigned i = 0; i < plan->nevery; i++)
        if (!(every[nevery++] = rows[plan->every[i]])) return 0;
    for (unsigned i = 0; i < plan->nlangs; i++)
        if (rows[plan->langs[i]]) sc.langs[sc.nlangs++] = rows[plan->langs[i]];
    for (unsigned i = 0; i < plan->nslots; i++)
        if (rows[plan->slots[i]]) sc.slots[sc.nslots++] = rows[plan->slots[i]];
    if ((plan->nlangs && !sc.nlangs) || (plan->nslots && !sc.nslots)) return 0;

    /* A group of 512 positions at a time, each row read once. The terms
     * filter before the groups of rows (a group costs a load per row); the
     * members left are checked in batches, after each of which the filter
     * follows the k-th score. (Asking for the lines of the rows read for
     * every group at a cell's start made no difference once cells were
     * laid out: bench/README.) */
    uint32_t words = kb_cell_words(cell);
    set_filter(m, &ct, base, -INFINITY, &sc.f);
    /* While the k-th score is below first, members short of it wait. */
    double first = m->n < m->limit ? base + FIRST_SHARE * ct.rest[0] : -INFINITY;
    group_t later[MAX_LATER];
    uint32_t later_w[MAX_LATER], nlater = 0;
    /* The last group's words past the cell's are garbage (index.h). */
    uint32_t wlast = (words - 1) / KB_CELL_GROUP * KB_CELL_GROUP;
    group_t in_cell;
    for (uint32_t l = 0; l < KB_CELL_GROUP; l++) in_cell.w[l] = wlast + l < words ? ~0ull : 0;
    for (uint32_t w = 0; w < words; w += KB_CELL_GROUP) {
        group_t x;
        memcpy(x.w, every[0] + w, sizeof x.w);
        if (w == wlast) group_and(&x, in_cell.w);
        for (unsigned i = 1; i < nevery; i++) group_and(&x, every[i] + w);
        /* In a laid-out cell (index.h) most groups have nobody with the
         * required skills: their term rows are not read. */
        if (!group_any(&x)) continue;
        if (first > kth(m)) {
            group_t wait = x;
            filter_t f;
            set_filter(m, &ct, base, first, &f);
            apply_filter(&ct, &f, w, &x);
            apply_filter(&ct, &sc.f, w, &wait);
            group_and_not(&wait, x.w);
            if (group_any(&wait) && nlater < MAX_LATER) {
                later[nlater] = wait;
                later_w[nlater++] = w;
            } else {
                group_or(&x, wait.w);
            }
        } else {
            apply_filter(&ct, &sc.f, w, &x);
        }
        if (group_any(&x)) take(&sc, w, &x);
    }
    for (uint32_t i = 0; i < nlater; i++) {
        apply_filter(&ct, &sc.f, later_w[i], &later[i]);
        if (group_any(&later[i])) take(&sc, later_w[i], &later[i]);
    }
    flush(&sc);
    return 0;
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
            } else if ((rc = scan_cell(m, q, &plan, type, cell, lb, out)) < 0) {
                return rc;
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
