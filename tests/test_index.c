/* test_index.c — the grid index: counts and postings through add and
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
    cr_assert_eq(kb_index_add(&ix, slot, lat, lon, keys, nkeys), 0);
}

/* The cell holding slot, or NULL. */
static const kb_cell_t *cell_of(uint32_t slot) {
    for (uint32_t i = 0; i < ix.ncells; i++)
        for (uint32_t k = 0; k < ix.cells[i].n; k++)
            if (ix.cells[i].members[k] == slot) return &ix.cells[i];
    return NULL;
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
    uint32_t keys[KB_INDEX_MAX_KEYS];
    cr_assert_eq(kb_index_cand_keys(&c, keys), 6);
    const uint32_t want[] = {
        1, 3, 1 | KB_INDEX_LANG, 4 | KB_INDEX_EXP, KB_INDEX_SLOT | 0, KB_INDEX_SLOT | 20};
    for (int i = 0; i < 6; i++) cr_assert_eq(keys[i], want[i], "key %d: %#x", i, keys[i]);
    c.avail = 0;
    cr_assert_eq(kb_index_cand_keys(&c, keys), 5);
    cr_assert_eq(keys[4], KB_INDEX_NO_SLOTS);
}

Test(index, add_and_remove_keep_counts_and_postings) {
    const uint32_t k1[] = {7, 2 | KB_INDEX_LANG}, k2[] = {7}, k3[] = {9};
    add(1, 55.681, 12.571, k1, 2);
    add(2, 55.682, 12.572, k2, 1); /* same cell */
    add(3, 55.712, 12.571, k3, 1); /* three cells north */
    cr_assert_eq(ix.count, 3);
    cr_assert_eq(ix.ncells, 2);
    cr_assert_eq(ix.posting_entries, 4);
    cr_assert_eq(block_members(), 3);
    const kb_cell_t *c = cell_of(1);
    cr_assert_eq(c, cell_of(2));
    cr_assert_neq(c, cell_of(3));
    cr_assert_eq(c->n, 2);
    /* Postings are sorted by key and hold exactly the members with it. */
    cr_assert_eq(c->nposts, 2);
    cr_assert_lt(c->posts[0].key, c->posts[1].key);
    const kb_posting_t *p = kb_cell_posting(c, 7);
    cr_assert_not_null(p);
    cr_assert_eq(p->n, 2);
    cr_assert_eq(p->slots[0] + p->slots[1], 3);
    p = kb_cell_posting(c, 2 | KB_INDEX_LANG);
    cr_assert_not_null(p);
    cr_assert_eq(p->n, 1);
    cr_assert_eq(p->slots[0], 1);
    cr_assert_null(kb_cell_posting(c, 2), "a skill 2 is not the language 2");
    cr_assert_null(kb_cell_posting(c, 9));

    kb_index_remove(&ix, 1, 55.681, 12.571, k1, 2);
    cr_assert_eq(ix.count, 2);
    cr_assert_eq(ix.posting_entries, 2);
    cr_assert_eq(block_members(), 2);
    cr_assert_null(cell_of(1));
    cr_assert_eq(c->n, 1);
    cr_assert_eq(kb_cell_posting(c, 7)->n, 1);
    cr_assert_eq(kb_cell_posting(c, 7)->slots[0], 2);
    cr_assert_eq(kb_cell_posting(c, 2 | KB_INDEX_LANG)->n, 0);
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
        cell_seen[ci] = true;
        for (uint32_t k = 0; k < c->n; k++) {
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

/* Sorted copy of a posting's slots, for comparing two indexes. */
static void sorted_slots(const kb_posting_t *p, uint32_t *out) {
    memcpy(out, p->slots, p->n * sizeof *out);
    for (uint32_t i = 1; i < p->n; i++)
        for (uint32_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
            uint32_t t = out[j];
            out[j] = out[j - 1];
            out[j - 1] = t;
        }
}

Test(index, adding_a_cell_at_once_equals_adding_one_by_one) {
    /* Two batches into one cell (the second meets postings the first made),
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
    kb_index_t one;
    kb_index_init(&one);
    for (uint32_t i = 0; i < 5; i++)
        cr_assert_eq(
            kb_index_add(&one, slots[i], 55.681, 12.571, keys + off[i], off[i + 1] - off[i]), 0);
    cr_assert_eq(kb_index_add_cell(&ix, 55.681, 12.571, slots, 2, keys, off), 0);
    /* A cell filled at once holds its postings in one block... */
    cr_assert_not_null(ix.cells[0].block);
    cr_assert_eq(ix.cells[0].nposts, 5);
    for (uint32_t p = 0; p < ix.cells[0].nposts; p++)
        cr_assert(ix.cells[0].posts[p].in_block, "posting %u", p);
    const uint32_t off2[] = {0, 1, 5, 8};
    cr_assert_eq(kb_index_add_cell(&ix, 55.6811, 12.5711, slots + 2, 3, keys + 6, off2), 0);
    /* ...and a posting that grows later moves out of it (ASan checks that
     * the block is freed once, and the moved lists on their own). */
    cr_assert(!kb_cell_posting(&ix.cells[0], 5)->in_block);
    cr_assert(kb_cell_posting(&ix.cells[0], 9)->in_block, "key 9 did not grow");

    cr_assert_eq(ix.count, one.count);
    cr_assert_eq(ix.posting_entries, one.posting_entries);
    cr_assert_eq(ix.ncells, 1);
    cr_assert_eq(one.ncells, 1);
    cr_assert_eq(block_members(), 5);
    const kb_cell_t *a = &ix.cells[0], *b = &one.cells[0];
    cr_assert_eq(a->n, b->n);
    cr_assert_eq(a->nposts, b->nposts);
    for (uint32_t p = 0; p < a->nposts; p++) {
        cr_assert_eq(a->posts[p].key, b->posts[p].key, "posting %u", p);
        if (p) cr_assert_gt(a->posts[p].key, a->posts[p - 1].key, "postings stay sorted");
        cr_assert_eq(a->posts[p].n, b->posts[p].n, "key %#x", a->posts[p].key);
        uint32_t x[8], y[8];
        sorted_slots(&a->posts[p], x);
        sorted_slots(&b->posts[p], y);
        cr_assert_arr_eq(x, y, a->posts[p].n * sizeof x[0], "key %#x", a->posts[p].key);
    }
    /* And it takes removals like any other cell. */
    kb_index_remove(&ix, 13, 55.681, 12.571, keys + 7, 4);
    cr_assert_eq(ix.count, 4);
    cr_assert_eq(kb_cell_posting(a, 40 | KB_INDEX_LANG)->n, 0);
    cr_assert_eq(kb_cell_posting(a, 5)->n, 2);
    const uint32_t nine = 9;
    cr_assert_eq(kb_index_add(&ix, 15, 55.681, 12.571, &nine, 1), 0);
    const kb_posting_t *p9 = kb_cell_posting(a, 9);
    cr_assert(!p9->in_block);
    cr_assert_eq(p9->n, 2);
    uint32_t got[2];
    sorted_slots(p9, got);
    cr_assert_eq(got[0], 11);
    cr_assert_eq(got[1], 15);
    kb_index_free(&one);
}
