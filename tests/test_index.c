/* test_index.c — the grid index: counts and key bitmaps through add and
 * remove, and a best-first search that finds every item in range, in
 * non-decreasing order of true lower bounds, at the poles and across the
 * antimeridian too. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "index.h"

static kb_index_t ix;

static void setup(void) { kb_index_init(&ix); }
static void teardown(void) { kb_index_free(&ix); }

TestSuite(index, .init = setup, .fini = teardown);

static void add(uint32_t slot, double lat, double lon, const uint32_t *keys, unsigned nkeys) {
    cr_assert_eq(kb_index_add(&ix, slot, lat, lon, keys, nkeys, NULL), 0);
}

/* The cell holding slot, or NULL. */
static const kb_cell_t *cell_of(uint32_t slot) {
    for (uint32_t i = 0; i < ix.ncells; i++)
        for (uint32_t k = 0; k < ix.cells[i].npos; k++)
            if (ix.cells[i].members[k] == slot) return &ix.cells[i];
    return NULL;
}

/* The slots of the members of c with key, ascending, into out; how many.
 * Every bit set must be a member's. */
static uint32_t key_slots(const kb_cell_t *c, uint32_t key, uint32_t *out) {
    const uint64_t *b = kb_cell_bits(c, key);
    uint32_t n = 0;
    for (uint32_t pos = 0; b && pos < kb_cell_stride(c) * 64; pos++) {
        if (!((b[pos / 64] >> (pos % 64)) & 1)) continue;
        cr_assert_lt(pos, c->npos, "a bit beyond the positions used");
        cr_assert(!kb_cell_is_free(c, pos), "a bit of a free position");
        uint32_t slot = c->members[pos], j = n++;
        for (; j > 0 && out[j - 1] > slot; j--) out[j] = out[j - 1];
        out[j] = slot;
    }
    cr_assert_eq(n, kb_cell_count(c, key));
    return n;
}

static uint32_t block_members(void) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < ix.nblocks; i++) n += ix.blocks[i].members;
    return n;
}

Test(index, candidate_keys_tell_terms_apart) {
    uint32_t skills[] = {1, 3}, langs[] = {1}, exp[] = {4};
    kb_cand_t c;
    memset(&c, 0, sizeof c);
    c.skills = (kb_toks_t){skills, 2};
    c.langs = (kb_toks_t){langs, 1};
    c.exp = (kb_toks_t){exp, 1};
    c.avail = (1u << 0) | (1u << 20);
    c.cert_until = KB_NO_DATE;
    uint32_t keys[KB_INDEX_MAX_KEYS];
    cr_assert_eq(kb_index_cand_keys(&c, keys), 6);
    const uint32_t want[] = {
        1, 3, 1 | KB_INDEX_LANG, 4 | KB_INDEX_EXP, KB_INDEX_SLOT | 0, KB_INDEX_SLOT | 20};
    for (int i = 0; i < 6; i++) cr_assert_eq(keys[i], want[i], "key %d: %#x", i, keys[i]);
    c.avail = 0;
    cr_assert_eq(kb_index_cand_keys(&c, keys), 5);
    cr_assert_eq(keys[4], KB_INDEX_NO_SLOTS);
    c.active = true;
    cr_assert_eq(kb_index_cand_keys(&c, keys), 6);
    cr_assert_eq(keys[5], KB_INDEX_ACTIVE);
    c.cert_until = 0; /* 1970-01-01: long expired, but a certificate */
    cr_assert_eq(kb_index_cand_keys(&c, keys), 7);
    cr_assert_eq(keys[5], KB_INDEX_CERT);
    cr_assert_eq(keys[6], KB_INDEX_ACTIVE);
}

Test(index, add_and_remove_keep_counts_and_bitmaps) {
    const uint32_t k1[] = {7, 2 | KB_INDEX_LANG}, k2[] = {7}, k3[] = {9};
    add(1, 55.681, 12.571, k1, 2);
    add(2, 55.682, 12.572, k2, 1); /* same cell */
    add(3, 55.801, 12.571, k3, 1); /* three cells north */
    cr_assert_eq(ix.count, 3);
    cr_assert_eq(ix.ncells, 2);
    cr_assert_eq(ix.posting_entries, 4);
    cr_assert_eq(block_members(), 3);
    const kb_cell_t *c = cell_of(1);
    cr_assert_eq(c, cell_of(2));
    cr_assert_neq(c, cell_of(3));
    cr_assert_eq(c->n, 2);
    /* Keys are sorted and their bitmaps hold exactly the members with them. */
    cr_assert_eq(c->nkeys, 2);
    cr_assert_lt(c->keys[0], c->keys[1]);
    uint32_t got[4];
    cr_assert_eq(key_slots(c, 7, got), 2);
    cr_assert_eq(got[0], 1);
    cr_assert_eq(got[1], 2);
    cr_assert_eq(key_slots(c, 2 | KB_INDEX_LANG, got), 1);
    cr_assert_eq(got[0], 1);
    cr_assert_null(kb_cell_bits(c, 2), "a skill 2 is not the language 2");
    cr_assert_null(kb_cell_bits(c, 9));

    kb_index_remove(&ix, 1, 55.681, 12.571, k1, 2);
    cr_assert_eq(ix.count, 2);
    cr_assert_eq(ix.posting_entries, 2);
    cr_assert_eq(block_members(), 2);
    cr_assert_null(cell_of(1));
    cr_assert_eq(c->n, 1);
    cr_assert_eq(key_slots(c, 7, got), 1);
    cr_assert_eq(got[0], 2);
    cr_assert_eq(key_slots(c, 2 | KB_INDEX_LANG, got), 0);
    /* Removing what is not there changes nothing. */
    kb_index_remove(&ix, 1, 55.681, 12.571, k1, 2);
    kb_index_remove(&ix, 5, 55.682, 12.572, k2, 1);
    kb_index_remove(&ix, 2, -33.9, 151.2, k2, 1);
    cr_assert_eq(ix.count, 2);
    cr_assert_eq(ix.posting_entries, 2);
    cr_assert_eq(block_members(), 2);
    /* An emptied cell is kept and reused. */
    kb_index_remove(&ix, 2, 55.682, 12.572, k2, 1);
    cr_assert_eq(c->n, 0);
    add(4, 55.683, 12.573, k2, 1);
    cr_assert_eq(ix.ncells, 2);
    cr_assert_eq(cell_of(4), c);
    cr_assert_eq(ix.count, 2);
}

Test(index, the_antimeridian_and_the_poles_are_one_cell_each_way) {
    add(1, 10.0, 180.0, NULL, 0);
    add(2, 10.0, -180.0, NULL, 0);
    cr_assert_eq(ix.ncells, 1, "180 and -180 are one meridian");
    add(3, 90.0, 0.0, NULL, 0);
    add(4, 89.995, 0.0, NULL, 0);
    cr_assert_eq(ix.ncells, 2, "the pole falls in the last row of cells");
    add(5, -90.0, 0.0, NULL, 0);
    cr_assert_eq(ix.ncells, 3);
    cr_assert_eq(ix.count, 5);
}

/* Runs a whole search; marks the slots of the cells returned in found[]
 * and checks the order and the bounds on the way. */
static void search(const kb_point_t *pts, const kb_point_t *at, double radius, bool *found) {
    kb_index_search_t s;
    kb_index_search_init(&s);
    kb_index_search_begin(&s, &ix, at, radius);
    bool *cell_seen = calloc(ix.ncells ? ix.ncells : 1, sizeof *cell_seen);
    cr_assert_not_null(cell_seen);
    double last = 0;
    for (;;) {
        double lb = kb_index_search_peek(&s);
        const kb_cell_t *c = kb_index_search_next(&s);
        if (lb == INFINITY) {
            cr_assert_null(c);
            break;
        }
        cr_assert_not_null(c);
        cr_assert_leq(lb, radius);
        cr_assert_geq(lb, last - 1e-9, "cells come best-first: %f after %f", lb, last);
        last = lb;
        uint32_t ci = (uint32_t)(c - ix.cells);
        cr_assert(!cell_seen[ci], "cell %u returned twice", ci);
        cr_assert_gt(c->n, 0, "cell %u returned empty", ci);
        cell_seen[ci] = true;
        for (uint32_t k = 0; k < c->npos; k++) {
            if (kb_cell_is_free(c, k)) continue;
            uint32_t slot = c->members[k];
            double d = kb_geo_distance_km(at, &pts[slot]);
            cr_assert_leq(lb, d + 1e-9, "bound %f above the true %f km (%f,%f)", lb, d,
                          pts[slot].lat, pts[slot].lon);
            found[slot] = true;
        }
    }
    cr_assert_eq(s.err, 0);
    free(cell_seen);
    kb_index_search_free(&s);
}

/* Every slot within radius of at was found, and no removed one. */
static void assert_complete(const kb_point_t *pts, uint32_t n, const kb_point_t *at, double radius,
                            const bool *found, const bool *gone) {
    for (uint32_t i = 0; i < n; i++) {
        if (gone[i]) {
            cr_assert(!found[i], "removed slot %u found", i);
            continue;
        }
        double d = kb_geo_distance_km(at, &pts[i]);
        cr_assert(d > radius || found[i], "(%f,%f) at %f km from (%f,%f) not found, radius %f",
                  pts[i].lat, pts[i].lon, d, at->lat, at->lon, radius);
    }
}

Test(index, search_around_the_north_pole) {
    kb_point_t pts[6], at;
    const double where[6][2] = {{89.98, 0},   {89.98, 90},  {89.98, 180},
                                {89.98, -90}, {90.0, 45.0}, {89.9, 0}};
    for (uint32_t i = 0; i < 6; i++) {
        kb_point_set(&pts[i], where[i][0], where[i][1]);
        add(i, where[i][0], where[i][1], NULL, 0);
    }
    bool found[6] = {0};
    kb_point_set(&at, 90.0, 0.0);
    search(pts, &at, 5, found);
    for (int i = 0; i < 5; i++) cr_assert(found[i], "point %d, 2.2 km from the pole", i);
    cr_assert(!found[5], "11 km away, its cell's bound is past 5 km");
    /* Across the pole: 89.95,0 to 89.95,180 is 11.1 km. */
    memset(found, 0, sizeof found);
    kb_point_set(&at, 89.95, 0.0);
    kb_point_set(&pts[5], 89.95, 180.0);
    add(5, 89.95, 180.0, NULL, 0);
    search(pts, &at, 15, found);
    cr_assert(found[5]);
}

Test(index, search_across_the_antimeridian) {
    /* The last two are due west and due east: 55 and 105 km away. */
    const double where[6][2] = {{0, -179.995},    {0, 179.99}, {-17.0, 179.9},
                                {-17.0, -179.95}, {0, 179.5},  {-17.0, -179.0}};
    kb_point_t pts[6], at;
    for (uint32_t i = 0; i < 6; i++) {
        kb_point_set(&pts[i], where[i][0], where[i][1]);
        add(i, where[i][0], where[i][1], NULL, 0);
    }
    bool found[6] = {0};
    kb_point_set(&at, 0, 179.999);
    search(pts, &at, 3, found);
    cr_assert(found[0] && found[1]);
    cr_assert(!found[2] && !found[3] && !found[4] && !found[5]);
    memset(found, 0, sizeof found);
    kb_point_set(&at, -17.0, -179.99);
    search(pts, &at, 20, found);
    cr_assert(found[2] && found[3]);
    cr_assert(!found[0] && !found[1] && !found[4] && !found[5]);
}

/* Block 1187 of longitude spans [9.92, 10.08): the query sits at its west
 * end, so blocks on both sides are scanned, and only the cells' bounds
 * keep the points 11 km east and west out of a 1 km search. */
Test(index, search_skips_cells_beyond_the_radius) {
    const double where[4][2] = {{0, 9.93}, {0, 10.025}, {0, 9.825}, {0.005, 9.92}};
    kb_point_t pts[4], at;
    for (uint32_t i = 0; i < 4; i++) {
        kb_point_set(&pts[i], where[i][0], where[i][1]);
        add(i, where[i][0], where[i][1], NULL, 0);
    }
    bool found[4] = {0};
    kb_point_set(&at, 0, 9.925);
    search(pts, &at, 1, found);
    cr_assert(found[0] && found[3]);
    cr_assert(!found[1], "a cell 11 km east was returned");
    cr_assert(!found[2], "a cell 11 km west was returned");
}

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static double rndf(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (double)(rng % 1000000) / 1e6;
}

/* A point near centre (lat, lon), spread deg degrees of latitude, on the
 * sphere's coordinates: longitude wrapped, latitude at most 90. */
static void near(kb_point_t *p, double lat, double lon, double deg) {
    double la = lat + (rndf() * 2 - 1) * deg;
    double lo = lon + (rndf() * 2 - 1) * deg / fmax(cos(la * M_PI / 180), 0.05);
    if (la > 90) la = 180 - la, lo += 180;
    if (la < -90) la = -180 - la, lo += 180;
    lo = fmod(lo + 540.0, 360.0) - 180.0;
    kb_point_set(p, la, lo);
}

#define NPTS     20000
#define NCENTRES 7

/* Random clusters at a city, both poles, the antimeridian at the equator
 * and in the south and north, and the Arctic; queries of 0.5 to 1000 km
 * around them. The search must find what a brute-force scan finds, before
 * and after a third of the items are removed. */
Test(index, search_finds_everything_in_range_best_first) {
    static const double centres[NCENTRES][2] = {{55.68, 12.57}, {89.9, 0},    {-89.9, 40}, {0, 180},
                                                {-17, 180},     {66, -179.9}, {78.2, 15.6}};
    kb_point_t *pts = malloc(NPTS * sizeof *pts);
    bool *found = malloc(NPTS * sizeof *found), *gone = calloc(NPTS, sizeof *gone);
    cr_assert(pts && found && gone);
    const uint32_t keys[] = {1};
    for (uint32_t i = 0; i < NPTS; i++) {
        const double *c = centres[i % NCENTRES];
        near(&pts[i], c[0], c[1], i % 5 ? 0.3 : 3.0);
        add(i, pts[i].lat, pts[i].lon, keys, 1);
    }
    cr_assert_eq(ix.count, NPTS);
    cr_assert_eq(block_members(), NPTS);
    for (int iter = 0; iter < 400; iter++) {
        if (iter == 200) {
            uint32_t live = NPTS;
            for (uint32_t i = 0; i < NPTS; i += 3, live--) {
                kb_index_remove(&ix, i, pts[i].lat, pts[i].lon, keys, 1);
                gone[i] = true;
            }
            cr_assert_eq(ix.count, live);
            cr_assert_eq(block_members(), live);
            cr_assert_eq(ix.posting_entries, live);
        }
        kb_point_t at;
        const double *c = centres[iter % NCENTRES];
        near(&at, c[0], c[1], 1.0);
        double radius = iter % 4 ? 0.5 + rndf() * 50 : 50 + rndf() * 950;
        memset(found, 0, NPTS * sizeof *found);
        search(pts, &at, radius, found);
        assert_complete(pts, NPTS, &at, radius, found, gone);
    }
    free(gone);
    free(found);
    free(pts);
}

/* A block knows which of its cells hold items: one emptied is left out
 * of a search, and is back once an item is added to it again. */
Test(index, a_cell_emptied_is_not_searched_until_refilled) {
    kb_point_t pts[2], at;
    kb_point_set(&pts[0], 55.68, 12.57);
    kb_point_set(&pts[1], 55.70, 12.50); /* the next cell west, same block */
    for (uint32_t i = 0; i < 2; i++) add(i, pts[i].lat, pts[i].lon, NULL, 0);
    cr_assert_eq(ix.ncells, 2);
    cr_assert_eq(ix.nblocks, 1);
    at = pts[0];
    kb_index_search_t s;
    kb_index_search_init(&s);
    for (int round = 0; round < 3; round++) {
        /* round 0: both cells; 1: the second emptied; 2: refilled */
        if (round == 1) kb_index_remove(&ix, 1, pts[1].lat, pts[1].lon, NULL, 0);
        if (round == 2) add(1, pts[1].lat, pts[1].lon, NULL, 0);
        kb_index_search_begin(&s, &ix, &at, 50);
        unsigned cells = 0;
        while (kb_index_search_next(&s)) cells++;
        cr_assert_eq(cells, round == 1 ? 1u : 2u, "round %d", round);
        cr_assert_eq(__builtin_popcountll(ix.blocks[0].filled), round == 1 ? 1 : 2);
    }
    kb_index_search_free(&s);
}

Test(index, empty_index_yields_nothing) {
    kb_index_search_t s;
    kb_index_search_init(&s);
    kb_point_t at;
    kb_point_set(&at, 55.68, 12.57);
    kb_index_search_begin(&s, &ix, &at, 500);
    cr_assert_eq(kb_index_search_peek(&s), INFINITY);
    cr_assert_null(kb_index_search_next(&s));
    kb_index_search_free(&s);
}

Test(index, adding_a_cell_at_once_equals_adding_one_by_one) {
    /* Two batches into one cell (the second meets keys the first added),
     * keys of every class, a key only some items have. */
    const uint32_t keys[] = {5,
                             9 | KB_INDEX_LANG,
                             KB_INDEX_SLOT | 3, /* item 10 */
                             9,
                             5,
                             2 | KB_INDEX_EXP,  /* item 11 */
                             KB_INDEX_NO_SLOTS, /* item 12 */
                             5,
                             40 | KB_INDEX_LANG,
                             9 | KB_INDEX_LANG,
                             1, /* item 13 */
                             2 | KB_INDEX_EXP,
                             KB_INDEX_SLOT | 3,
                             0}; /* item 14 */
    const uint32_t off[] = {0, 3, 6, 7, 11, 14}, slots[] = {10, 11, 12, 13, 14};
    kb_hot_t hot[5];
    for (int i = 0; i < 5; i++) hot[i] = (kb_hot_t){.skill_mask = 100u + (unsigned)i};
    kb_index_t one;
    kb_index_init(&one);
    for (uint32_t i = 0; i < 5; i++)
        cr_assert_eq(kb_index_add(&one, slots[i], 55.681, 12.571, keys + off[i],
                                  off[i + 1] - off[i], &hot[i]),
                     0);
    cr_assert_eq(kb_index_add_cell(&ix, 55.681, 12.571, slots, 2, keys, off, hot), 0);
    const uint32_t off2[] = {0, 1, 5, 8};
    cr_assert_eq(kb_index_add_cell(&ix, 55.6811, 12.5711, slots + 2, 3, keys + 6, off2, hot + 2),
                 0);

    cr_assert_eq(ix.count, one.count);
    cr_assert_eq(ix.posting_entries, one.posting_entries);
    cr_assert_eq(ix.ncells, 1);
    cr_assert_eq(one.ncells, 1);
    cr_assert_eq(block_members(), 5);
    const kb_cell_t *a = &ix.cells[0], *b = &one.cells[0];
    cr_assert_eq(a->n, b->n);
    cr_assert_eq(a->nkeys, b->nkeys);
    for (uint32_t k = 0; k < a->nkeys; k++) {
        cr_assert_eq(a->keys[k], b->keys[k], "key %u", k);
        if (k) cr_assert_gt(a->keys[k], a->keys[k - 1], "keys stay sorted");
        uint32_t x[8], y[8], nx = key_slots(a, a->keys[k], x);
        cr_assert_eq(nx, key_slots(b, b->keys[k], y), "key %#x", a->keys[k]);
        cr_assert_arr_eq(x, y, nx * sizeof x[0], "key %#x", a->keys[k]);
    }
    for (uint32_t k = 0; k < a->npos; k++) {
        cr_assert_eq(a->hot[k].skill_mask, 100 + a->members[k] - 10, "hot record of position %u",
                     k);
        cr_assert_eq(a->hot[k].slot, a->members[k], "slot in the hot record of position %u", k);
    }
    /* And it takes removals like any other cell. */
    kb_index_remove(&ix, 13, 55.681, 12.571, keys + 7, 4);
    cr_assert_eq(ix.count, 4);
    cr_assert_eq(kb_cell_count(a, 40 | KB_INDEX_LANG), 0);
    cr_assert_eq(kb_cell_count(a, 5), 2);
    kb_index_free(&one);
}

Test(index, find_gives_each_sorted_key_the_bitmap_kb_cell_bits_does) {
    const uint32_t k1[] = {2, 5 | KB_INDEX_LANG}, k2[] = {3, 7 | KB_INDEX_LANG},
                   k3[] = {2, 3, 9 | KB_INDEX_LANG};
    add(1, 55.681, 12.571, k1, 2);
    add(2, 55.681, 12.571, k2, 2);
    add(3, 55.681, 12.571, k3, 3);
    const kb_cell_t *c = cell_of(1);
    const uint64_t *rows[30];
    const uint32_t keys[] = {1, 2, 4, 5, 7 | KB_INDEX_LANG, 8 | KB_INDEX_LANG, 9 | KB_INDEX_LANG};
    kb_cell_find(c, keys, 7, rows);
    cr_assert_eq(rows[1][0], (1u << 0) | (1u << 2), "members 1 and 3 have skill 2");
    cr_assert_eq(rows[4][0], 1u << 1, "member 2 speaks 7");
    cr_assert_eq(rows[6][0], 1u << 2, "member 3 speaks 9");
    cr_assert_null(rows[0]);
    cr_assert_null(rows[2]);
    cr_assert_null(rows[3], "5 is a language, not a skill");
    cr_assert_null(rows[5]);
    /* Against the one-key lookup, over a cell with many keys. */
    uint32_t many[40], probe[30];
    for (uint32_t i = 0; i < 40; i++) many[i] = 3 * i + 100;
    add(4, 55.681, 12.571, many, 40);
    for (uint32_t i = 0; i < 30; i++) probe[i] = 4 * i + 98; /* some hit, some miss */
    kb_cell_find(c, probe, 30, rows);
    for (uint32_t i = 0; i < 30; i++)
        cr_assert_eq(rows[i], kb_cell_bits(c, probe[i]), "key %u", probe[i]);
}

Test(index, positions_are_reused_and_keep_their_hot_records) {
    const uint32_t ka[] = {3, 1 | KB_INDEX_LANG}, kb[] = {3}, kc[] = {4};
    kb_hot_t ha = {.skill_mask = 0xa}, hb = {.skill_mask = 0xb}, hc = {.skill_mask = 0xc};
    cr_assert_eq(kb_index_add(&ix, 1, 55.681, 12.571, ka, 2, &ha), 0);
    cr_assert_eq(kb_index_add(&ix, 2, 55.681, 12.571, kb, 1, &hb), 0);
    const kb_cell_t *c = cell_of(1);
    cr_assert_eq(c->npos, 2);
    kb_index_remove(&ix, 1, 55.681, 12.571, ka, 2);
    cr_assert_eq(c->n, 1);
    cr_assert_eq(c->npos, 2, "a freed position stays in place");
    cr_assert(kb_cell_is_free(c, 0));
    cr_assert_null(cell_of(1));
    /* The next item takes the freed position, with its own hot record. */
    cr_assert_eq(kb_index_add(&ix, 7, 55.681, 12.571, kc, 1, &hc), 0);
    cr_assert_eq(c->npos, 2);
    cr_assert_eq(c->n, 2);
    cr_assert_eq(c->members[0], 7);
    cr_assert_eq(c->hot[0].skill_mask, 0xc);
    cr_assert_eq(c->hot[0].slot, 7, "the index sets the slot of a hot record");
    cr_assert_eq(c->hot[1].skill_mask, 0xb);
    cr_assert_eq(c->hot[1].slot, 2);
    uint32_t got[4];
    cr_assert_eq(key_slots(c, 3, got), 1);
    cr_assert_eq(got[0], 2);
    cr_assert_eq(key_slots(c, 4, got), 1);
    cr_assert_eq(got[0], 7);
    cr_assert_eq(key_slots(c, 1 | KB_INDEX_LANG, got), 0);
    /* Once the free list is used up, positions are appended again. */
    cr_assert_eq(kb_index_add(&ix, 8, 55.681, 12.571, kc, 1, &ha), 0);
    cr_assert_eq(c->npos, 3);
    cr_assert_eq(c->members[2], 8);
    cr_assert_eq(c->hot[2].skill_mask, 0xa);
    cr_assert_eq(key_slots(c, 4, got), 2);
    cr_assert_eq(got[0], 7);
    cr_assert_eq(got[1], 8);
    cr_assert_eq(ix.count, 3);
    cr_assert_eq(ix.posting_entries, 3);
}

/* ---- layout ---- */

#define LAYOUT_ITEMS 3000

/* What the test put in: per slot, live or not, its skills and activity. */
static struct {
    bool live, active;
    uint64_t skills; /* bits 0..7: skill ids, as keys and in the hot record */
} items[LAYOUT_ITEMS];

static unsigned item_keys(uint32_t slot, uint32_t *keys) {
    unsigned n = 0;
    for (uint32_t k = 0; k < 8; k++)
        if (items[slot].skills >> k & 1) keys[n++] = k;
    if (items[slot].active) keys[n++] = KB_INDEX_ACTIVE;
    return n;
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n) {
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return (uint32_t)(rnd_state % n);
}

static void add_item(uint32_t slot) {
    /* Skill 0 common, the others rarer and rarer; a tenth inactive. */
    items[slot].skills = 0;
    for (uint32_t k = 0; k < 8; k++)
        if (rnd(16) < 12u >> k) items[slot].skills |= 1ull << k;
    items[slot].active = rnd(10) != 0;
    items[slot].live = true;
    uint32_t keys[9];
    kb_hot_t h = {.skill_mask = items[slot].skills, .active = items[slot].active};
    cr_assert_eq(kb_index_add(&ix, slot, 55.681, 12.571, keys, item_keys(slot, keys), &h), 0);
}

static void remove_item(uint32_t slot) {
    uint32_t keys[9];
    kb_index_remove(&ix, slot, 55.681, 12.571, keys, item_keys(slot, keys));
    items[slot].live = false;
}

/* The cell holds exactly the live items, each with its bits and hot
 * record at its position. */
static void check_cell(const kb_cell_t *c) {
    uint32_t live = 0, per_key[8] = {0}, active = 0;
    for (uint32_t s = 0; s < LAYOUT_ITEMS; s++) {
        if (!items[s].live) continue;
        live++;
        active += items[s].active;
        for (uint32_t k = 0; k < 8; k++) per_key[k] += items[s].skills >> k & 1;
    }
    cr_assert_eq(c->n, live);
    cr_assert_eq(ix.count, live);
    uint32_t seen = 0;
    for (uint32_t pos = 0; pos < c->npos; pos++) {
        if (kb_cell_is_free(c, pos)) continue;
        uint32_t slot = c->members[pos];
        cr_assert(items[slot].live, "slot %u is not in the cell", slot);
        cr_assert_eq(c->hot[pos].slot, slot);
        cr_assert_eq(c->hot[pos].skill_mask, items[slot].skills, "hot record of slot %u", slot);
        for (uint32_t k = 0; k < 8; k++) {
            const uint64_t *b = kb_cell_bits(c, k);
            bool bit = b && (b[pos / 64] >> (pos % 64) & 1);
            cr_assert_eq(bit, (items[slot].skills >> k & 1) != 0, "slot %u, key %u", slot, k);
        }
        seen++;
    }
    cr_assert_eq(seen, live);
    uint32_t got[LAYOUT_ITEMS];
    for (uint32_t k = 0; k < 8; k++) cr_assert_eq(key_slots(c, k, got), per_key[k], "key %u", k);
    cr_assert_eq(key_slots(c, KB_INDEX_ACTIVE, got), active);
}

/* Positions 0..n-1 hold the items in layout order: the active ones first,
 * and among them those with the most common skill (0) in one run. */
static void check_laid_out(const kb_cell_t *c) {
    cr_assert_eq(c->npos, c->n, "no free positions left");
    cr_assert_eq(c->free, KB_CELL_NONE);
    cr_assert_eq(c->added, 0);
    uint32_t pos = 0, runs = 0;
    for (; pos < c->n && c->hot[pos].active; pos++)
        runs += (c->hot[pos].skill_mask & 1) && (pos == 0 || !(c->hot[pos - 1].skill_mask & 1));
    for (; pos < c->n; pos++) cr_assert(!c->hot[pos].active, "an active item after inactive ones");
    cr_assert_eq(runs, 1, "the members of the most common skill lie together");
}

Test(index, a_large_cell_is_laid_out_by_what_its_items_offer) {
    uint32_t slot = 0;
    for (; slot < KB_CELL_LAYOUT_MIN - 1; slot++) add_item(slot);
    const kb_cell_t *c = &ix.cells[0];
    cr_assert_eq(c->added, KB_CELL_LAYOUT_MIN - 1, "too small to be laid out");
    for (uint32_t i = 0; i < c->n; i++)
        cr_assert_eq(c->members[i], i, "items in the order they came");
    add_item(slot++);
    check_laid_out(c);
    check_cell(c);
    /* Until a quarter of the items are new, they go where there is room. */
    for (uint32_t removed = 0; removed < 100;) {
        uint32_t s = rnd(slot);
        if (items[s].live) remove_item(s), removed++;
    }
    uint32_t before = c->npos;
    for (uint32_t i = 0; i < 100; i++) add_item(slot++);
    cr_assert_eq(c->npos, before, "freed positions are taken first");
    check_cell(c);
    while (c->added) add_item(slot++);
    check_laid_out(c);
    check_cell(c);
}

Test(index, layouts_keep_every_item_through_adds_and_removes) {
    uint32_t next = 0, layouts = 0;
    for (int op = 0; op < 12000; op++) {
        /* Adds of new items, removals, and items coming back. */
        uint32_t what = rnd(20), slot = next ? rnd(next) : 0;
        bool add = false;
        if (what < 9 && next < LAYOUT_ITEMS) add_item(next++), add = true;
        else if (what < 16 && next && items[slot].live) remove_item(slot);
        else if (next && !items[slot].live) add_item(slot), add = true;
        if (add && ix.cells[0].added == 0) {
            layouts++;
            check_laid_out(&ix.cells[0]);
        }
        if (op % 1000 == 0 && ix.ncells) check_cell(&ix.cells[0]);
    }
    check_cell(&ix.cells[0]);
    cr_assert_gt(layouts, 3);
}

Test(index, a_laid_out_cell_restored_in_its_order_stays_as_it_is) {
    uint32_t next = 0;
    do add_item(next++); /* laid out at 1,024 items, 1,366, 1,821, ... */
    while (next < 1500 || ix.cells[0].added);
    const kb_cell_t *c = &ix.cells[0];
    check_laid_out(c);
    /* As a snapshot restores it: the cell's items in position order. */
    uint32_t n = c->n, *slots = malloc(n * sizeof *slots), *keys = malloc(9 * n * sizeof *keys),
             *off = malloc((n + 1) * sizeof *off);
    kb_hot_t *hot = aligned_alloc(_Alignof(kb_hot_t), n * sizeof *hot);
    off[0] = 0;
    for (uint32_t i = 0; i < n; i++) {
        slots[i] = c->members[i];
        hot[i] = c->hot[i];
        off[i + 1] = off[i] + item_keys(slots[i], keys + off[i]);
    }
    kb_index_t copy;
    kb_index_init(&copy);
    cr_assert_eq(kb_index_add_cell(&copy, 55.681, 12.571, slots, n, keys, off, hot), 0);
    cr_assert_arr_eq(copy.cells[0].members, c->members, n * sizeof *slots);
    cr_assert_eq(copy.cells[0].added, 0);
    /* The same items in another order are laid out as they come in. */
    kb_index_t other;
    kb_index_init(&other);
    for (uint32_t i = 0; i < n / 2; i++) {
        uint32_t j = n - 1 - i, t = slots[i];
        kb_hot_t h = hot[i];
        slots[i] = slots[j], slots[j] = t;
        hot[i] = hot[j], hot[j] = h;
    }
    off[0] = 0;
    for (uint32_t i = 0; i < n; i++) off[i + 1] = off[i] + item_keys(slots[i], keys + off[i]);
    cr_assert_eq(kb_index_add_cell(&other, 55.681, 12.571, slots, n, keys, off, hot), 0);
    cr_assert_neq(other.cells[0].members[0], slots[0], "moved");
    check_laid_out(&other.cells[0]);
    kb_index_free(&copy);
    kb_index_free(&other);
    free(slots);
    free(keys);
    free(off);
    free(hot);
}

Test(index, tidy_lays_out_what_the_add_path_left) {
    uint32_t next = 0;
    while (next < KB_CELL_LAYOUT_MIN) add_item(next++);
    const kb_cell_t *c = &ix.cells[0];
    check_laid_out(c);
    /* Fewer than a sixteenth new: not worth a layout yet. */
    for (uint32_t i = 0; i < KB_CELL_LAYOUT_MIN / 16 - 1; i++) add_item(next++);
    cr_assert_eq(kb_index_tidy(&ix, 10), 0);
    cr_assert_eq(c->added, KB_CELL_LAYOUT_MIN / 16 - 1);
    /* A sixteenth, and the add path (a quarter) still leaves it. */
    for (uint32_t i = 0; i < 10; i++) add_item(next++);
    cr_assert_gt(c->added, 0);
    cr_assert_eq(kb_index_tidy(&ix, 10), 1);
    check_laid_out(c);
    check_cell(c);
    cr_assert_eq(kb_index_tidy(&ix, 10), 0, "nothing left");
}

Test(index, tidy_goes_round_the_cells) {
    /* Two large cells, each with a tail the add path left. */
    for (uint32_t slot = 0; slot < 2 * 1100; slot++) {
        uint32_t keys[1] = {KB_INDEX_ACTIVE};
        kb_hot_t h = {.skill_mask = slot % 3, .active = true};
        double lon = slot < 1100 ? 12.571 : 12.9;
        cr_assert_eq(kb_index_add(&ix, slot, 55.681, lon, keys, 1, &h), 0);
    }
    cr_assert_eq(ix.ncells, 2);
    cr_assert_gt(ix.cells[0].added, 0);
    cr_assert_gt(ix.cells[1].added, 0);
    cr_assert_eq(kb_index_tidy(&ix, 1), 1);
    cr_assert_eq(ix.cells[0].added, 0, "the first cell first");
    cr_assert_gt(ix.cells[1].added, 0, "and only it");
    cr_assert_eq(kb_index_tidy(&ix, 1), 1);
    cr_assert_eq(ix.cells[1].added, 0, "then the next");
    cr_assert_eq(kb_index_tidy(&ix, 1), 0);
    /* An index of needs has no hot records, and is never laid out. */
    kb_index_t needs;
    kb_index_init(&needs);
    for (uint32_t slot = 0; slot < 1100; slot++)
        cr_assert_eq(kb_index_add(&needs, slot, 55.681, 12.571, NULL, 0, NULL), 0);
    cr_assert_eq(kb_index_tidy(&needs, 10), 0);
    for (uint32_t pos = 0; pos < 1100; pos++) cr_assert_eq(needs.cells[0].members[pos], pos);
    kb_index_free(&needs);
}
