/* test_match.c — the pruned best-first search returns exactly what a
 * brute-force scan of every candidate returns, on random data dense enough
 * that pruning stops early; and explain counts add up. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"
#include "match.h"
#include "score.h"
#include "store.h"

#define NVOL  20000
#define TODAY 20781 /* 2026-11-24 */

static uint64_t rng = 88172645463325252ULL;
static uint32_t rnd(uint32_t n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}
static double rndf(void) { return rnd(1000000) / 1e6; }

static kb_store_t store;
static kb_index_t ix[2];
/* First language and experience token ids. Above KB_TOKS_MASK_BITS the
 * masks are not exact and matching must read token lists; below it they
 * are, and it must not need to. */
static uint32_t lang_base = 100, exp_base = 200;

static kb_toks_t toks(uint32_t n, uint32_t base, uint32_t range) {
    kb_toks_t t = {calloc(n ? n : 1, sizeof(uint32_t)), 0};
    for (uint32_t i = 0; i < n; i++) {
        uint32_t v = base + rnd(range), j = 0;
        while (j < t.n && t.ids[j] < v) j++;
        if (j < t.n && t.ids[j] == v) continue;
        memmove(&t.ids[j + 1], &t.ids[j], (t.n - j) * sizeof(uint32_t));
        t.ids[j] = v;
        t.n++;
    }
    return t;
}

static void index_cand(const kb_cand_t *c, uint32_t slot) {
    uint32_t keys[KB_INDEX_MAX_KEYS];
    unsigned nk = kb_index_cand_keys(c, keys);
    kb_hot_t hot;
    kb_cand_hot(c, &hot);
    cr_assert_eq(kb_index_add(&ix[c->type], slot, c->pos.lat, c->pos.lon, keys, nk, &hot), 0);
}

static void setup(void) {
    kb_store_init(&store);
    kb_index_init(&ix[0]);
    kb_index_init(&ix[1]);
    char id[32];
    for (uint32_t i = 0; i < NVOL; i++) {
        int type = i % 10 == 0 ? KB_ACTIVITY : KB_VOLUNTEER;
        uint32_t slot;
        snprintf(id, sizeof id, "c-%05u", rnd(NVOL * 4)); /* may repeat: skip those */
        if (kb_pool_find(&store.cands[type], id) != KB_NO_SLOT) continue;
        cr_assert_eq(kb_pool_alloc(&store.cands[type], id, &slot), 0);
        kb_cand_t *c = kb_store_cand(&store, type, slot);
        /* A dense centre and a sparse ring: like a city and its county. */
        double r = i % 3 ? rndf() * 0.05 : rndf() * 0.4;
        double a = rndf() * 2 * M_PI;
        kb_point_set(&c->pos, 55.68 + r * sin(a), 12.57 + 1.7 * r * cos(a));
        c->type = (uint8_t)type;
        c->live = true;
        c->active = rnd(20) != 0;
        c->capacity = (uint16_t)(1 + rnd(3));
        c->load = (uint16_t)rnd(c->capacity + 1);
        c->skills = toks(1 + rnd(3), 0, 6);
        c->langs = toks(1 + rnd(2), lang_base, 4);
        c->exp = toks(rnd(2), exp_base, 3);
        c->avail = rnd(1u << 21);
        if (type == KB_VOLUNTEER) {
            c->max_km = (float)(3 + rnd(30));
            c->max_chord2 = kb_geo_chord2_of_km(c->max_km);
            c->birth_year = (int16_t)(1950 + rnd(55));
            c->cert_until = rnd(2) ? TODAY - 100 + (int32_t)rnd(400) : KB_NO_DATE;
        } else {
            c->max_chord2 = 4.0;
            c->age_min = (uint8_t)rnd(15);
            c->age_max = (uint8_t)(c->age_min + rnd(60));
        }
        kb_cand_derive(c);
        index_cand(c, slot);
    }
}

static void setup_small_ids(void) {
    lang_base = 20;
    exp_base = 30;
    setup();
}

static void teardown(void) {
    kb_index_free(&ix[0]);
    kb_index_free(&ix[1]);
    kb_store_free(&store);
}

static kb_need_t random_need(void) {
    kb_need_t n;
    memset(&n, 0, sizeof n);
    double r = rndf() * 0.2, a = rndf() * 2 * M_PI;
    kb_point_set(&n.pos, 55.68 + r * sin(a), 12.57 + 1.7 * r * cos(a));
    n.max_km = (float)(2 + rnd(30));
    n.kind = (uint8_t)rnd(4);
    n.person_age = (uint8_t)(8 + rnd(80));
    n.skills_required = toks(rnd(2), 0, 6);
    n.skills_wanted = toks(rnd(3), 0, 6);
    n.langs = toks(rnd(3), lang_base, 4);
    n.exp_wanted = toks(rnd(2), exp_base, 3);
    n.avail = rnd(3) ? rnd(1u << 21) : 0;
    n.has_age_gap = rnd(2);
    n.gap_min = 2;
    n.gap_max = 10;
    n.count = 1;
    return n;
}

/* Random needs: the index's answer (with and without explain) equals the
 * brute-force scan's, hit for hit. */
static void compare_with_brute_force(int iterations) {
    kb_matcher_t m;
    kb_matcher_init(&m);
    kb_weights_t w;
    kb_weights_default(&w);
    kb_matcher_t scan; /* the reference keeps its hits while m runs */
    kb_matcher_init(&scan);
    uint64_t paired[3];
    for (int iter = 0; iter < iterations; iter++) {
        kb_need_t n = random_need();
        /* Exclude a few pairs, as declined or proposed matches would. */
        uint32_t np = 0;
        for (uint32_t k = 0; k < 3; k++) paired[np++] = kb_cand_key(KB_VOLUNTEER, rnd(200));
        for (uint32_t a = 0; a < np; a++)
            for (uint32_t b = a + 1; b < np; b++)
                if (paired[b] < paired[a]) {
                    uint64_t t = paired[a];
                    paired[a] = paired[b];
                    paired[b] = t;
                }
        kb_query_t q;
        kb_query_init(&q, &n, &w, TODAY, 2026, paired, np);

        kb_match_result_t ref;
        cr_assert_eq(kb_match_need_scan(&scan, &store, &q, NVOL, &ref), 0);
        uint64_t total = ref.n;
        for (int k = 0; k < KB_X_COUNT; k++) total += ref.excluded[k];
        cr_assert_eq(total, (kb_kind_wants(n.kind, 0) ? store.cands[0].live : 0) +
                                (kb_kind_wants(n.kind, 1) ? store.cands[1].live : 0));

        const kb_index_t *ixs[2] = {&ix[0], &ix[1]};
        uint32_t limit = 1 + rnd(20);
        for (int explain = 0; explain < 2; explain++) {
            kb_match_result_t r;
            cr_assert_eq(kb_match_need(&m, &store, ixs, &q, limit, explain, &r), 0);
            uint32_t want = ref.n < limit ? ref.n : limit;
            cr_assert_eq(r.n, want, "iter %d: %u hits, want %u", iter, r.n, want);
            for (uint32_t i = 0; i < r.n; i++) {
                cr_assert_eq(r.hits[i].slot, ref.hits[i].slot, "iter %d rank %u", iter, i);
                cr_assert_eq(r.hits[i].type, ref.hits[i].type);
                cr_assert_eq(r.hits[i].score, ref.hits[i].score);
            }
            for (int k = 0; explain && k < KB_X_COUNT; k++)
                cr_assert_eq(r.excluded[k], ref.excluded[k], "iter %d reason %s: %llu vs %llu",
                             iter, kb_excl_names[k], (unsigned long long)r.excluded[k],
                             (unsigned long long)ref.excluded[k]);
        }
        kb_toks_free(&n.skills_required);
        kb_toks_free(&n.skills_wanted);
        kb_toks_free(&n.langs);
        kb_toks_free(&n.exp_wanted);
    }
    kb_matcher_free(&scan);
    kb_matcher_free(&m);
}

/* Cells of volunteers whose members are no longer in the order they came
 * (ascending slots): laid out by the index (index.h). */
static uint32_t laid_out_cells(void) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < ix[KB_VOLUNTEER].ncells; i++) {
        const kb_cell_t *c = &ix[KB_VOLUNTEER].cells[i];
        for (uint32_t pos = 1; pos < c->npos; pos++)
            if (c->members[pos] < c->members[pos - 1]) {
                n++;
                break;
            }
    }
    return n;
}

Test(match, pruned_search_equals_brute_force, .init = setup, .fini = teardown) {
    cr_assert_gt(laid_out_cells(), 0, "the dense centre's cells are laid out");
    compare_with_brute_force(300);
}

Test(match, pruned_search_equals_brute_force_with_exact_masks, .init = setup_small_ids,
     .fini = teardown) {
    compare_with_brute_force(300);
}

Test(match, replaced_candidates_match_from_their_new_records, .init = setup_small_ids,
     .fini = teardown) {
    /* Replace every third volunteer as an upsert does (out of the index,
     * changed, back in: into a freed position of its new cell), then the
     * index must still agree with the records. */
    for (uint32_t s = 0; s < store.cands[KB_VOLUNTEER].used; s += 3) {
        kb_cand_t *c = kb_store_cand(&store, KB_VOLUNTEER, s);
        uint32_t keys[KB_INDEX_MAX_KEYS];
        unsigned nk = kb_index_cand_keys(c, keys);
        kb_index_remove(&ix[KB_VOLUNTEER], s, c->pos.lat, c->pos.lon, keys, nk);
        kb_toks_free(&c->skills);
        c->skills = toks(1 + rnd(3), 0, 6);
        c->avail = rnd(1u << 21);
        c->active = rnd(20) != 0;
        kb_point_set(&c->pos, c->pos.lat + (rndf() - 0.5) * 0.01, c->pos.lon);
        kb_cand_derive(c);
        index_cand(c, s);
    }
    compare_with_brute_force(150);
}

/* Builds ix[type] again as a snapshot restores it (dump.c): each cell's
 * members added at once, so its arrays have their exact sizes and no spare
 * rows after the last. */
static void rebuild_cell_by_cell(int type) {
    kb_index_t fresh;
    kb_index_init(&fresh);
    for (uint32_t i = 0; i < ix[type].ncells; i++) {
        const kb_cell_t *cell = &ix[type].cells[i];
        uint32_t *slots = calloc(cell->n, sizeof *slots), *off = calloc(cell->n + 1, sizeof *off);
        uint32_t *keys = calloc((size_t)cell->n * KB_INDEX_MAX_KEYS, sizeof *keys);
        kb_hot_t *hot = aligned_alloc(_Alignof(kb_hot_t), cell->n * sizeof *hot);
        cr_assert(slots && off && keys && hot);
        const kb_cand_t *c = NULL;
        uint32_t n = 0;
        for (uint32_t pos = 0; pos < cell->npos; pos++) {
            if (kb_cell_is_free(cell, pos)) continue;
            c = kb_store_cand(&store, type, cell->members[pos]);
            slots[n] = cell->members[pos];
            off[n + 1] = off[n] + kb_index_cand_keys(c, keys + off[n]);
            kb_cand_hot(c, &hot[n++]);
        }
        cr_assert_eq(n, cell->n);
        if (n)
            cr_assert_eq(
                kb_index_add_cell(&fresh, c->pos.lat, c->pos.lon, slots, n, keys, off, hot), 0);
        free(slots);
        free(off);
        free(keys);
        free(hot);
    }
    cr_assert_eq(fresh.count, ix[type].count);
    kb_index_free(&ix[type]);
    ix[type] = fresh;
}

Test(match, an_index_restored_cell_by_cell_matches_the_same, .init = setup, .fini = teardown) {
    /* The word loop reads a cell's rows in groups of words, the last one
     * past the end of the last row (index.h): here there is no spare row. */
    rebuild_cell_by_cell(KB_VOLUNTEER);
    rebuild_cell_by_cell(KB_ACTIVITY);
    const kb_cell_t *big = &ix[KB_VOLUNTEER].cells[0];
    for (uint32_t i = 1; i < ix[KB_VOLUNTEER].ncells; i++)
        if (ix[KB_VOLUNTEER].cells[i].npos > big->npos) big = &ix[KB_VOLUNTEER].cells[i];
    cr_assert_eq(big->capkeys, big->nkeys);
    cr_assert_neq(kb_cell_words(big) % KB_CELL_GROUP, 0, "a last group that runs past its row");
    compare_with_brute_force(150);
}

Test(match, pruning_checks_fewer_candidates_in_a_dense_centre, .init = setup, .fini = teardown) {
    kb_matcher_t m;
    kb_matcher_init(&m);
    kb_weights_t w;
    kb_weights_default(&w);
    kb_need_t n;
    memset(&n, 0, sizeof n);
    kb_point_set(&n.pos, 55.68, 12.57);
    n.max_km = 30;
    n.kind = KB_KIND_MENTOR;
    n.person_age = 30;
    n.count = 1;
    kb_query_t q;
    kb_query_init(&q, &n, &w, TODAY, 2026, NULL, 0);
    const kb_index_t *ixs[2] = {&ix[0], &ix[1]};
    kb_match_result_t pruned, full;
    cr_assert_eq(kb_match_need(&m, &store, ixs, &q, 10, false, &pruned), 0);
    uint32_t checked = pruned.checked;
    cr_assert_eq(kb_match_need(&m, &store, ixs, &q, 10, true, &full), 0);
    cr_assert_eq(full.n, 10);
    cr_assert_lt(checked * 4, full.checked, "pruned %u vs full %u", checked, full.checked);
    kb_matcher_free(&m);
}

Test(index, remove_keeps_index_exact, .init = setup, .fini = teardown) {
    /* Remove half the volunteers; a full search must see exactly the rest. */
    kb_pool_t *p = &store.cands[KB_VOLUNTEER];
    uint32_t live = 0;
    for (uint32_t s = 0; s < p->used; s++) {
        kb_cand_t *c = kb_store_cand(&store, KB_VOLUNTEER, s);
        if (s % 2 == 0) {
            uint32_t keys[KB_INDEX_MAX_KEYS];
            unsigned nk = kb_index_cand_keys(c, keys);
            kb_index_remove(&ix[0], s, c->pos.lat, c->pos.lon, keys, nk);
        } else {
            live++;
        }
    }
    cr_assert_eq(ix[0].count, live);
    kb_point_t at;
    kb_point_set(&at, 55.68, 12.57);
    kb_index_search_t s;
    kb_index_search_init(&s);
    kb_index_search_begin(&s, &ix[0], &at, 500);
    uint32_t seen = 0;
    double last = 0;
    const kb_cell_t *cell;
    while (1) {
        double lb = kb_index_search_peek(&s);
        if (lb == INFINITY) break;
        cr_assert_geq(lb, last - 1e-9, "cells come best-first: %f after %f", lb, last);
        last = lb;
        cell = kb_index_search_next(&s);
        for (uint32_t i = 0; i < cell->npos; i++) {
            if (kb_cell_is_free(cell, i)) continue;
            cr_assert_eq(cell->members[i] % 2, 1, "removed slot %u still indexed",
                         cell->members[i]);
            seen++;
        }
        /* Bitmaps hold only members. */
        for (uint32_t k = 0; k < cell->nkeys; k++)
            for (uint32_t pos = 0; pos < kb_cell_stride(cell) * 64; pos++) {
                if (!((cell->bits[k * kb_cell_stride(cell) + pos / 64] >> (pos % 64)) & 1))
                    continue;
                cr_assert_lt(pos, cell->npos);
                cr_assert(!kb_cell_is_free(cell, pos));
                cr_assert_eq(cell->members[pos] % 2, 1);
            }
    }
    cr_assert_eq(seen, live);
    kb_index_search_free(&s);
}
