/* index.h — spatial and attribute index over candidates (or needs).
 *
 * Items (slots of a store pool) live in cells of a fixed lat/lon grid,
 * 0.01° × 0.02° (about 1.1 km × 1.2 km in Denmark). Cells are grouped in
 * blocks of 8 × 8 so a search touches only the blocks in range and then
 * only their non-empty cells; a query with a 500 km radius still looks at
 * a few thousand blocks, not a million cells. Each cell keeps, besides its
 * member list, a posting list per key (a skill, or a language marked with
 * KB_INDEX_LANG) so a query can walk only the members that have a required
 * skill or speak a wanted language.
 *
 * A search visits cells best-first: a heap ordered by a lower bound of the
 * distance from the query point to each block or cell. The caller scores a
 * cell's items and stops as soon as the next bound can no longer produce a
 * better result (see match.c). */
#ifndef KB_INDEX_H
#define KB_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "geo.h"
#include "imap.h"
#include "store.h"

/* Posting keys of a candidate: its skills (the token id), languages,
 * experience tags and time slots, told apart by flag bits; and one key
 * for "lists no availability". Matching walks the posting lists of the
 * terms a need asks for instead of every member of a cell. */
#define KB_INDEX_LANG     0x80000000u
#define KB_INDEX_EXP      0x40000000u
#define KB_INDEX_SLOT     0x20000000u
#define KB_INDEX_NO_SLOTS (KB_INDEX_SLOT | 31u)
#define KB_INDEX_MAX_KEYS 128 /* 32 skills + 16 languages + 32 tags + 21 slots + 1 */

typedef struct kb_posting {
    uint32_t key;
    uint32_t n, cap;
    bool in_block; /* slots lies in the cell's block: never realloc'd or freed alone */
    uint32_t *slots;
} kb_posting_t;

typedef struct kb_cell {
    int32_t ilat, ilon;
    uint32_t n, cap;
    uint32_t *members;
    uint32_t nposts, capposts;
    kb_posting_t *posts; /* sorted by key */
    /* The posting lists kb_index_add_cell made for a cell that was empty,
     * in one allocation (a restored snapshot would otherwise make one per
     * key and cell, about a million); a list that outgrows its piece
     * moves to a malloc of its own. Freed with the index. */
    uint32_t *block;
} kb_cell_t;

typedef struct kb_block {
    int32_t blat, blon;
    uint32_t members; /* items in all its cells */
    uint32_t ncells, cap;
    uint32_t *cells; /* indices into kb_index_t.cells */
} kb_block_t;

typedef struct kb_index {
    kb_cell_t *cells;
    uint32_t ncells, capcells;
    kb_block_t *blocks;
    uint32_t nblocks, capblocks;
    kb_imap_t cellmap, blockmap;
    uint32_t count; /* items */
    size_t posting_entries;
    /* kb_index_add_cell's per-key counters and posting numbers, all zero
     * between calls; 2 * scratch_cap entries. */
    uint32_t *scratch;
    uint32_t scratch_cap;
} kb_index_t;

typedef struct kb_index_item {
    double lb_km;
    uint32_t idx;
    bool is_block;
} kb_index_item_t;

/* The state of one best-first search; reusable across searches (its heap
 * is kept to avoid allocation per query). */
typedef struct kb_index_search {
    const kb_index_t *ix;
    kb_point_t at;
    double radius_km;
    double km_per_deg_lon; /* at the latitude farthest from the equator in reach */
    kb_index_item_t *heap;
    uint32_t n, cap;
    int err; /* KB_ENOMEM if the heap could not grow */
} kb_index_search_t;

/* The posting keys of c into keys (KB_INDEX_MAX_KEYS); returns how many. */
unsigned kb_index_cand_keys(const kb_cand_t *c, uint32_t *keys);

void kb_index_init(kb_index_t *ix);
void kb_index_free(kb_index_t *ix);
/* Adds slot at lat/lon with posting keys (may repeat none). On failure the
 * index is unchanged. */
int kb_index_add(kb_index_t *ix, uint32_t slot, double lat, double lon, const uint32_t *keys,
                 unsigned nkeys);
/* Adds n items that all lie in the cell of lat/lon, as kb_index_add would
 * one by one: item i has slots[i] and the keys keys[off[i]..off[i+1]).
 * Each array of the cell grows once, to its final size, so a snapshot
 * restored cell by cell (dump.c) allocates exactly what it keeps. On
 * failure nothing is added (empty postings may remain). */
int kb_index_add_cell(kb_index_t *ix, double lat, double lon, const uint32_t *slots, uint32_t n,
                      const uint32_t *keys, const uint32_t *off);
/* Whether a and b lie in the same cell. */
bool kb_index_same_cell(double lat_a, double lon_a, double lat_b, double lon_b);
/* Removes what kb_index_add added; the same lat/lon and keys must be given. */
void kb_index_remove(kb_index_t *ix, uint32_t slot, double lat, double lon, const uint32_t *keys,
                     unsigned nkeys);
/* Posting list of key in cell, or NULL. */
const kb_posting_t *kb_cell_posting(const kb_cell_t *c, uint32_t key);

void kb_index_search_init(kb_index_search_t *s);
void kb_index_search_free(kb_index_search_t *s);
/* Starts a search of the cells within radius_km of at. */
void kb_index_search_begin(kb_index_search_t *s, const kb_index_t *ix, const kb_point_t *at,
                           double radius_km);
/* Lower bound of the distance to the next cell, or INFINITY if none is left
 * within the radius. */
double kb_index_search_peek(kb_index_search_t *s);
/* The next cell in best-first order, or NULL when none is left. */
const kb_cell_t *kb_index_search_next(kb_index_search_t *s);

size_t kb_index_bytes(const kb_index_t *ix);

#endif
