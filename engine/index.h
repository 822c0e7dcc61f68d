/* index.h — spatial and attribute index over candidates (or needs).
 *
 * Items (slots of a store pool) live in cells of a fixed lat/lon grid,
 * 0.04° × 0.075° (about 4.4 km × 4.7 km in Denmark). Cells are grouped in
 * blocks of 8 × 8 so a search touches only the blocks in range and then
 * only their non-empty cells. The size is a trade: a search pays per cell
 * it visits (the heap, a bound, the bitmaps of the need's keys), and per
 * member it tries; bitmaps make a large town cell cheap to filter, so
 * cells this size beat 1 km ones everywhere on the generated data (central
 * Copenhagen to rural Lolland), and the 8 km ones tried lost in the city.
 * Each cell keeps, besides its members, a bitmap per key over their
 * positions (a skill, a language marked with KB_INDEX_LANG, ...), so a
 * query combines the bitmaps of what it requires with a few word
 * operations and looks only at the members left. An index of candidates
 * also keeps each member's kb_hot_t (store.h) in its cell, so matching
 * turns most of those down without reading their records.
 *
 * Bitmaps rather than lists of positions: in a town cell most keys are
 * held by a good share of the members, where a bit costs far less than a
 * 4-byte entry, and "has a required skill, speaks one of the languages,
 * shares a time slot" is then an AND of ORs instead of a walk through the
 * shortest of the lists.
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

/* Keys of a candidate: its skills (the token id), languages, experience
 * tags and time slots, told apart by flag bits; one key each for "lists no
 * availability", "active" and "has a child certificate" (of any date). */
#define KB_INDEX_LANG     0x80000000u
#define KB_INDEX_EXP      0x40000000u
#define KB_INDEX_SLOT     0x20000000u
#define KB_INDEX_CERT     (KB_INDEX_SLOT | 29u)
#define KB_INDEX_ACTIVE   (KB_INDEX_SLOT | 30u)
#define KB_INDEX_NO_SLOTS (KB_INDEX_SLOT | 31u)
#define KB_INDEX_MAX_KEYS 128 /* 32 skills + 16 languages + 32 tags + 21 slots + 3 */

/* An item keeps its position in its cell while it stays there, so bits
 * and hot records are found by position. A removed item's position is
 * freed (chained through members, its bits cleared) and reused by the
 * next item added to the cell.
 *
 * That holds until the cell is laid out again. Once a quarter of the
 * items of a cell of candidates are new since its last layout (and it
 * holds at least KB_CELL_LAYOUT_MIN), or a sixteenth when kb_index_tidy
 * comes by, they all move to positions in the order of what they offer
 * (layout() in index.c), and its free positions go. Matching passes over
 * 512 positions at a time where nobody has what a need requires; in the
 * order items came, every skill is spread over every such group. */
#define KB_CELL_LAYOUT_MIN 1024
#define KB_CELL_FREE       0x80000000u /* members[] of a free position has this bit */
#define KB_CELL_NONE       0x7fffffffu /* no free position: the end of the chain */

typedef struct kb_cell {
    int32_t ilat, ilon;
    uint32_t n;         /* items */
    uint32_t npos, cap; /* positions used (items and free ones), allocated */
    uint32_t free;      /* first free position, or KB_CELL_NONE */
    uint32_t added;     /* items added since the cell was last laid out */
    uint32_t *members;  /* by position: a slot, or KB_CELL_FREE | next free */
    kb_hot_t *hot;      /* by position, in an index of candidates; else NULL */
    uint32_t nkeys, capkeys;
    uint32_t *keys; /* sorted */
    uint64_t *bits; /* row i, kb_cell_stride() words, is the bitmap of keys[i] */
} kb_cell_t;

static inline bool kb_cell_is_free(const kb_cell_t *c, uint32_t pos) {
    return c->members[pos] & KB_CELL_FREE;
}
/* Words per bitmap row as allocated, and as far as positions are used. */
static inline uint32_t kb_cell_stride(const kb_cell_t *c) { return (c->cap + 63) / 64; }
static inline uint32_t kb_cell_words(const kb_cell_t *c) { return (c->npos + 63) / 64; }

/* Matching reads rows KB_CELL_GROUP words at a time (match.c), the last
 * group of a row running past its end into the next row. So that the last
 * row's does too, a cell's bits end with KB_CELL_GROUP - 1 words more;
 * what is read past kb_cell_words() is garbage, and matching masks it. */
#define KB_CELL_GROUP 8

/* A block's cells are found by their place in it, row (latitude) by row:
 * bit i of filled, and cell[i], for the cell at row i / KB_BLOCK_SIDE and
 * column i % KB_BLOCK_SIDE. So a search bounds the distance to each of
 * them from one gap per row and one per column, without reading a cell
 * it will not visit. */
#define KB_BLOCK_SIDE 8

typedef struct kb_block {
    int32_t blat, blon;
    uint32_t members;                             /* items in all its cells */
    uint64_t filled;                              /* cells with items */
    uint32_t cell[KB_BLOCK_SIDE * KB_BLOCK_SIDE]; /* into kb_index_t.cells, once made */
} kb_block_t;

typedef struct kb_index {
    kb_cell_t *cells;
    uint32_t ncells, capcells;
    kb_block_t *blocks;
    uint32_t nblocks, capblocks;
    kb_imap_t cellmap, blockmap;
    uint32_t count;         /* items */
    size_t posting_entries; /* bits set */
    /* kb_index_add_cell's per-key marks and row numbers, the marks all
     * zero between calls; 4 * scratch_cap entries. */
    uint32_t *scratch;
    uint32_t scratch_cap;
    /* Each item's position in its cell, by slot, so removal need not
     * search the cell; capslot entries. */
    uint32_t *slotpos;
    uint32_t capslot;
    uint32_t tidy_at; /* the cell kb_index_tidy looks at next */
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

/* The keys of c into keys (KB_INDEX_MAX_KEYS), distinct; returns how many. */
unsigned kb_index_cand_keys(const kb_cand_t *c, uint32_t *keys);

void kb_index_init(kb_index_t *ix);
void kb_index_free(kb_index_t *ix);
/* Adds slot at lat/lon with distinct keys and hot record
 * (NULL in an index that keeps none, such as the needs'). On failure the
 * index is unchanged. */
int kb_index_add(kb_index_t *ix, uint32_t slot, double lat, double lon, const uint32_t *keys,
                 unsigned nkeys, const kb_hot_t *hot);
/* Adds n items that all lie in the cell of lat/lon, as kb_index_add would
 * one by one: item i has slots[i], the keys keys[off[i]..off[i+1]) and
 * hot[i] (hot may be NULL). They take new positions, not freed ones.
 * Into an empty cell, each array grows once, to its final size, so a
 * snapshot restored cell by cell (dump.c) allocates exactly what it
 * keeps; into a cell with members, by doubling. Then the cell is laid
 * out if it is due, which leaves a run in layout order (a snapshot of a
 * laid-out cell) where it is. On failure nothing is added (empty bitmaps
 * may remain). */
int kb_index_add_cell(kb_index_t *ix, double lat, double lon, const uint32_t *slots, uint32_t n,
                      const uint32_t *keys, const uint32_t *off, const kb_hot_t *hot);
/* Lays out again up to max cells of candidates that have had a sixteenth
 * of their items added since their last layout, going round the cells
 * from where the last call stopped; returns how many. The add path lays
 * a cell out only once a quarter are new: this is for a caller with time
 * to spare (kobled's timer, match-bench after loading). */
uint32_t kb_index_tidy(kb_index_t *ix, uint32_t max);
/* Whether a and b lie in the same cell. */
bool kb_index_same_cell(double lat_a, double lon_a, double lat_b, double lon_b);
/* Removes what kb_index_add added; the same lat/lon and keys must be given. */
void kb_index_remove(kb_index_t *ix, uint32_t slot, double lat, double lon, const uint32_t *keys,
                     unsigned nkeys);
/* The bitmap of key in cell (kb_cell_words() words), or NULL if no member
 * ever had the key. */
const uint64_t *kb_cell_bits(const kb_cell_t *c, uint32_t key);
/* How many members of c have key. */
uint32_t kb_cell_count(const kb_cell_t *c, uint32_t key);
/* The bitmap of each of the n keys (which must ascend) in c, or NULL where
 * no member ever had it, into rows: kb_cell_bits for them all, in one
 * pass through the cell's keys. */
void kb_cell_find(const kb_cell_t *c, const uint32_t *keys, unsigned n, const uint64_t **rows);

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
