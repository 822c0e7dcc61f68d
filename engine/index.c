/* index.c — see index.h.
 *
 * Grid arithmetic: cell (ilat, ilon) covers latitudes
 * [ilat*DLAT - 90, +DLAT) and longitudes [ilon*DLON - 180, +DLON); block
 * (blat, blon) = (ilat >> 3, ilon >> 3). Longitude indices wrap at the
 * antimeridian. Freed positions are reused, so the order of members in a
 * cell is not the order they came in; matching never depends on it (its
 * ordering is total: score, distance, id). Empty cells and blocks are kept
 * for reuse. */
#include "index.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "koble/error.h"

#define DLAT        0.04
#define DLON        0.075
#define BLOCK_SHIFT 3    /* KB_BLOCK_SIDE is 1 << BLOCK_SHIFT */
#define LAT_CELLS   4500 /* 180 / DLAT */
#define LON_CELLS   4800 /* 360 / DLON, a multiple of the blocks' 8 so they wrap too */
#define LON_BLOCKS  (LON_CELLS >> BLOCK_SHIFT)
#define KM_PER_DEG  111.19 /* km per degree of latitude, rounded down: sizes the range */
_Static_assert(KB_BLOCK_SIDE == 1 << BLOCK_SHIFT, "a block is KB_BLOCK_SIDE cells a side");

static int32_t cell_lat(double lat) {
    int32_t i = (int32_t)floor((lat + 90.0) / DLAT);
    return i < 0 ? 0 : (i >= LAT_CELLS ? LAT_CELLS - 1 : i);
}

static int32_t cell_lon(double lon) {
    int32_t i = (int32_t)floor((lon + 180.0) / DLON);
    return ((i % LON_CELLS) + LON_CELLS) % LON_CELLS;
}

static uint64_t grid_key(int32_t a, int32_t b) {
    return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
}

unsigned kb_index_cand_keys(const kb_cand_t *c, uint32_t *keys) {
    unsigned n = 0;
    for (unsigned i = 0; i < c->skills.n; i++) keys[n++] = c->skills.ids[i];
    for (unsigned i = 0; i < c->langs.n; i++) keys[n++] = c->langs.ids[i] | KB_INDEX_LANG;
    for (unsigned i = 0; i < c->exp.n; i++) keys[n++] = c->exp.ids[i] | KB_INDEX_EXP;
    for (int i = 0; i < KB_SLOT_COUNT; i++)
        if (c->avail & (1u << i)) keys[n++] = KB_INDEX_SLOT | (uint32_t)i;
    if (!c->avail) keys[n++] = KB_INDEX_NO_SLOTS;
    if (c->cert_until != KB_NO_DATE) keys[n++] = KB_INDEX_CERT;
    if (c->active) keys[n++] = KB_INDEX_ACTIVE;
    return n;
}

void kb_index_init(kb_index_t *ix) {
    memset(ix, 0, sizeof *ix);
    kb_imap_init(&ix->cellmap);
    kb_imap_init(&ix->blockmap);
}

void kb_index_free(kb_index_t *ix) {
    for (uint32_t i = 0; i < ix->ncells; i++) {
        kb_cell_t *c = &ix->cells[i];
        free(c->keys);
        free(c->bits);
        free(c->members);
        free(c->hot);
    }
    free(ix->scratch);
    free(ix->slotpos);
    free(ix->cells);
    free(ix->blocks);
    kb_imap_free(&ix->cellmap);
    kb_imap_free(&ix->blockmap);
    memset(ix, 0, sizeof *ix);
}

/* Grows *arr (of elem-sized items) so it can hold need items. */
static int reserve(void **arr, uint32_t *cap, uint32_t need, size_t elem) {
    if (need <= *cap) return 0;
    uint32_t n = *cap ? *cap : 4;
    while (n < need) n *= 2;
    void *p = realloc(*arr, (size_t)n * elem);
    if (!p) return KB_ENOMEM;
    *arr = p;
    *cap = n;
    return 0;
}

/* Where the cell (ilat, ilon) is in its block (kb_block_t). */
static unsigned place(int32_t ilat, int32_t ilon) {
    unsigned side = KB_BLOCK_SIDE - 1;
    return ((unsigned)ilat & side) * KB_BLOCK_SIDE + ((unsigned)ilon & side);
}

/* Finds or creates the cell for lat/lon (and its block). */
static int cell_for(kb_index_t *ix, double lat, double lon, uint32_t *out) {
    int32_t ilat = cell_lat(lat), ilon = cell_lon(lon);
    if (kb_imap_get(&ix->cellmap, grid_key(ilat, ilon), out) == 0) return 0;

    uint32_t b;
    int32_t blat = ilat >> BLOCK_SHIFT, blon = ilon >> BLOCK_SHIFT;
    if (kb_imap_get(&ix->blockmap, grid_key(blat, blon), &b) != 0) {
        if (reserve((void **)&ix->blocks, &ix->capblocks, ix->nblocks + 1, sizeof(kb_block_t)))
            return KB_ENOMEM;
        b = ix->nblocks;
        ix->blocks[b] = (kb_block_t){.blat = blat, .blon = blon};
        if (kb_imap_put(&ix->blockmap, grid_key(blat, blon), b)) return KB_ENOMEM;
        ix->nblocks++;
    }
    if (reserve((void **)&ix->cells, &ix->capcells, ix->ncells + 1, sizeof(kb_cell_t)))
        return KB_ENOMEM;
    uint32_t c = ix->ncells;
    ix->cells[c] = (kb_cell_t){.ilat = ilat, .ilon = ilon, .free = KB_CELL_NONE};
    if (kb_imap_put(&ix->cellmap, grid_key(ilat, ilon), c)) return KB_ENOMEM;
    ix->ncells++;
    ix->blocks[b].cell[place(ilat, ilon)] = c;
    *out = c;
    return 0;
}

/* Adds delta items to c's count, its block's and the index's. */
static void count_items(kb_index_t *ix, kb_cell_t *c, int32_t delta) {
    uint32_t b = 0;
    kb_imap_get(&ix->blockmap, grid_key(c->ilat >> BLOCK_SHIFT, c->ilon >> BLOCK_SHIFT), &b);
    kb_block_t *blk = &ix->blocks[b];
    c->n += (uint32_t)delta;
    blk->members += (uint32_t)delta;
    ix->count += (uint32_t)delta;
    uint64_t bit = 1ull << place(c->ilat, c->ilon);
    if (c->n) blk->filled |= bit;
    else blk->filled &= ~bit;
}

/* ---- a cell's keys and bitmaps ---- */

/* Index of the first key >= key. */
static uint32_t key_pos(const kb_cell_t *c, uint32_t key) {
    uint32_t lo = 0, hi = c->nkeys;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (c->keys[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static uint64_t *row(const kb_cell_t *c, uint32_t i) {
    return c->bits + (size_t)i * kb_cell_stride(c);
}

const uint64_t *kb_cell_bits(const kb_cell_t *c, uint32_t key) {
    uint32_t i = key_pos(c, key);
    return i < c->nkeys && c->keys[i] == key ? row(c, i) : NULL;
}

uint32_t kb_cell_count(const kb_cell_t *c, uint32_t key) {
    const uint64_t *b = kb_cell_bits(c, key);
    uint32_t n = 0;
    for (uint32_t w = 0; b && w < kb_cell_words(c); w++) n += (uint32_t)__builtin_popcountll(b[w]);
    return n;
}

void kb_cell_find(const kb_cell_t *c, const uint32_t *keys, unsigned n, const uint64_t **rows) {
    uint32_t lo = 0;
    for (unsigned k = 0; k < n; k++) {
        /* Gallop from where the last key was: the keys asked for are few
         * and spread over the cell's, so each is a short step ahead. */
        uint32_t step = 1, hi = lo;
        while (hi < c->nkeys && c->keys[hi] < keys[k]) {
            lo = hi + 1;
            hi += step;
            step *= 2;
        }
        if (hi > c->nkeys) hi = c->nkeys;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (c->keys[mid] < keys[k]) lo = mid + 1;
            else hi = mid;
        }
        rows[k] = lo < c->nkeys && c->keys[lo] == keys[k] ? row(c, lo) : NULL;
    }
}

static void set_bit(uint64_t *b, uint32_t pos) { b[pos / 64] |= 1ull << (pos % 64); }

/* Grows c to hold need positions (exactly need when exact): members, the
 * hot records if with_hot, and every bitmap row. Nothing changes unless
 * all of them could be allocated. */
static int reserve_positions(kb_cell_t *c, uint32_t need, bool with_hot, bool exact) {
    if (need <= c->cap) return 0;
    uint32_t cap = c->cap ? c->cap : 4;
    while (cap < need) cap *= 2;
    if (exact) cap = need;
    uint32_t stride = (cap + 63) / 64, old = kb_cell_stride(c);
    kb_hot_t *hot = NULL;
    uint64_t *bits = NULL;
    if (with_hot || c->hot) {
        /* Cache-line aligned, which realloc does not promise. */
        hot = aligned_alloc(_Alignof(kb_hot_t), (size_t)cap * sizeof *hot);
        if (!hot) return KB_ENOMEM;
    }
    if (stride != old && c->capkeys) {
        bits = calloc((size_t)c->capkeys * stride + KB_CELL_GROUP - 1, sizeof *bits);
        if (!bits) goto nomem;
    }
    uint32_t *members = realloc(c->members, (size_t)cap * sizeof *members);
    if (!members) goto nomem;
    c->members = members;
    if (hot) {
        if (c->hot) memcpy(hot, c->hot, (size_t)c->npos * sizeof *hot);
        free(c->hot);
        c->hot = hot;
    }
    if (bits) {
        for (uint32_t k = 0; k < c->nkeys; k++)
            memcpy(bits + (size_t)k * stride, row(c, k), (size_t)old * sizeof *bits);
        free(c->bits);
        c->bits = bits;
    }
    c->cap = cap;
    return 0;
nomem:
    free(hot);
    free(bits);
    return KB_ENOMEM;
}

/* Room for extra more keys (and their rows); exact as above. */
static int reserve_keys(kb_cell_t *c, uint32_t extra, bool exact) {
    uint32_t need = c->nkeys + extra;
    if (need <= c->capkeys) return 0;
    uint32_t cap = c->capkeys ? c->capkeys : 4;
    while (cap < need) cap *= 2;
    if (exact) cap = need;
    uint32_t *keys = realloc(c->keys, (size_t)cap * sizeof *keys);
    if (!keys) return KB_ENOMEM;
    c->keys = keys;          /* a larger array than capkeys says is harmless */
    if (kb_cell_stride(c)) { /* else the rows get their words with the first positions */
        uint64_t *bits =
            realloc(c->bits, ((size_t)cap * kb_cell_stride(c) + KB_CELL_GROUP - 1) * sizeof *bits);
        if (!bits) return KB_ENOMEM;
        c->bits = bits;
    }
    c->capkeys = cap;
    return 0;
}

/* Inserts key (not in c; room reserved) at index i with an empty row. */
static void insert_key(kb_cell_t *c, uint32_t i, uint32_t key) {
    size_t stride = kb_cell_stride(c);
    memmove(&c->keys[i + 1], &c->keys[i], (c->nkeys - i) * sizeof *c->keys);
    memmove(row(c, i + 1), row(c, i), (c->nkeys - i) * stride * sizeof *c->bits);
    memset(row(c, i), 0, stride * sizeof *c->bits);
    c->keys[i] = key;
    c->nkeys++;
}

/* ---- a cell's layout ----
 *
 * A need requires its candidates to be active and to have its required
 * skills, and the word loop (match.c) passes over a group of 512
 * positions in which nobody has them without reading the group's other
 * rows. Items in the order they came spread every skill over every group;
 * laid out by what they offer, the members of a skill lie together. The
 * order: active first, then by skill set, compared skill by skill from the
 * one most items of the cell have down to the rarest, so that the common
 * skills, which needs require most, are the ones least split (ids past
 * the skill mask's 63 share its last bit). With every cell laid out this
 * way, 44% of the groups read in central Copenhagen at 1M still hold
 * somebody active with the required skills, against 315 of 316 before
 * (bench/README). */

typedef struct placed {
    uint64_t key;
    uint32_t pos;
} placed_t;

static int cmp_placed(const void *a, const void *b) {
    const placed_t *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* The items of c (which has hot records) with their layout keys, in
 * position order, into out (c->n entries). */
static void layout_keys(const kb_cell_t *c, placed_t *out) {
    uint32_t have[64] = {0};
    for (uint32_t p = 0; p < c->npos; p++)
        if (!kb_cell_is_free(c, p))
            for (uint64_t m = c->hot[p].skill_mask; m; m &= m - 1) have[__builtin_ctzll(m)]++;
    /* Bit 63 of a key is "inactive"; the most common skill is bit 62, the
     * next 61, and so on (a 64th skill falls off the end). */
    uint64_t bit[64];
    for (int b = 0; b < 64; b++) {
        int rank = 0;
        for (int o = 0; o < 64; o++) rank += have[o] > have[b] || (have[o] == have[b] && o < b);
        bit[b] = rank < 63 ? 1ull << (62 - rank) : 0;
    }
    uint32_t n = 0;
    for (uint32_t p = 0; p < c->npos; p++) {
        if (kb_cell_is_free(c, p)) continue;
        const kb_hot_t *h = &c->hot[p];
        uint64_t key = h->active ? 0 : 1ull << 63;
        for (uint64_t m = h->skill_mask; m; m &= m - 1) key |= bit[__builtin_ctzll(m)];
        out[n++] = (placed_t){key, p};
    }
}

/* Moves the items of c to positions 0..n-1 in layout order, unless they
 * are there already (a cell restored from a snapshot of a laid-out one).
 * A sort of its items and a pass over its set bits (2.5 ms for 10,000
 * items): once per quarter of new items on the add path, a constant per
 * add, or a sixteenth from kb_index_tidy. The layout only saves work, so
 * if its memory cannot be had the cell stays as it is until its next. */
static void layout(kb_index_t *ix, kb_cell_t *c) {
    uint32_t n = c->n, stride = kb_cell_stride(c), words = kb_cell_words(c);
    c->added = 0;
    placed_t *order = malloc((size_t)n * sizeof *order);
    if (!order) return;
    layout_keys(c, order);
    bool in_order = n == c->npos;
    for (uint32_t i = 1; in_order && i < n; i++)
        in_order = cmp_placed(&order[i - 1], &order[i]) < 0;
    uint32_t *to = NULL, *members = NULL;
    kb_hot_t *hot = NULL;
    uint64_t *bits = NULL;
    if (in_order) goto done;
    to = malloc((size_t)c->npos * sizeof *to);
    members = malloc((size_t)c->cap * sizeof *members);
    hot = aligned_alloc(_Alignof(kb_hot_t), (size_t)c->cap * sizeof *hot);
    bits = calloc((size_t)c->capkeys * stride + KB_CELL_GROUP - 1, sizeof *bits);
    if (!to || !members || !hot || !bits) goto done;
    qsort(order, n, sizeof *order, cmp_placed);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t p = order[i].pos;
        to[p] = i;
        members[i] = c->members[p];
        hot[i] = c->hot[p];
        ix->slotpos[members[i]] = i;
    }
    for (uint32_t r = 0; r < c->nkeys; r++) {
        const uint64_t *from = row(c, r);
        uint64_t *into = bits + (size_t)r * stride;
        for (uint32_t w = 0; w < words; w++)
            for (uint64_t x = from[w]; x; x &= x - 1)
                set_bit(into, to[w * 64 + (uint32_t)__builtin_ctzll(x)]);
    }
    /* The new arrays take the old ones' places, and done frees those. */
    uint32_t *old_members = c->members;
    kb_hot_t *old_hot = c->hot;
    uint64_t *old_bits = c->bits;
    c->members = members;
    c->hot = hot;
    c->bits = bits;
    members = old_members;
    hot = old_hot;
    bits = old_bits;
    c->npos = n;
    c->free = KB_CELL_NONE;
done:
    free(order);
    free(to);
    free(members);
    free(hot);
    free(bits);
}

/* Whether c is a cell of candidates large enough to lay out, with at
 * least 1/share of its items new since its last layout. */
static bool due(const kb_cell_t *c, uint32_t share) {
    return c->hot && c->n >= KB_CELL_LAYOUT_MIN && c->added >= c->n / share;
}

/* Lays c out again if a quarter of its items are new since the last time. */
static void settle(kb_index_t *ix, kb_cell_t *c) {
    if (due(c, 4)) layout(ix, c);
}

uint32_t kb_index_tidy(kb_index_t *ix, uint32_t max) {
    uint32_t done = 0;
    for (uint32_t seen = 0; seen < ix->ncells && done < max; seen++) {
        kb_cell_t *c = &ix->cells[ix->tidy_at];
        ix->tidy_at = (ix->tidy_at + 1) % ix->ncells;
        if (due(c, 16)) {
            layout(ix, c);
            done++;
        }
    }
    return done;
}

void kb_index_remove(kb_index_t *ix, uint32_t slot, double lat, double lon, const uint32_t *keys,
                     unsigned nkeys) {
    uint32_t ci;
    if (kb_imap_get(&ix->cellmap, grid_key(cell_lat(lat), cell_lon(lon)), &ci) != 0) return;
    kb_cell_t *c = &ix->cells[ci];
    uint32_t pos = slot < ix->capslot ? ix->slotpos[slot] : UINT32_MAX;
    if (pos >= c->npos || c->members[pos] != slot) return; /* not in this cell */
    uint64_t bit = 1ull << (pos % 64);
    for (unsigned k = 0; k < nkeys; k++) {
        uint32_t i = key_pos(c, keys[k]);
        if (i < c->nkeys && c->keys[i] == keys[k] && (row(c, i)[pos / 64] & bit)) {
            row(c, i)[pos / 64] &= ~bit;
            ix->posting_entries--;
        }
    }
    c->members[pos] = KB_CELL_FREE | c->free;
    c->free = pos;
    count_items(ix, c, -1);
}

int kb_index_add(kb_index_t *ix, uint32_t slot, double lat, double lon, const uint32_t *keys,
                 unsigned nkeys, const kb_hot_t *hot) {
    uint32_t ci;
    int rc = cell_for(ix, lat, lon, &ci);
    if (rc < 0) return rc;
    kb_cell_t *c = &ix->cells[ci];
    /* Reserve everything first so a failure leaves the cell untouched. */
    uint32_t pos = c->free != KB_CELL_NONE ? c->free : c->npos, fresh = 0;
    for (unsigned k = 0; k < nkeys; k++) fresh += !kb_cell_bits(c, keys[k]);
    if (reserve_positions(c, pos + 1, hot != NULL, false) || reserve_keys(c, fresh, false) ||
        reserve((void **)&ix->slotpos, &ix->capslot, slot + 1, sizeof(uint32_t)))
        return KB_ENOMEM;
    for (unsigned k = 0; k < nkeys; k++) {
        uint32_t i = key_pos(c, keys[k]);
        if (i == c->nkeys || c->keys[i] != keys[k]) insert_key(c, i, keys[k]);
        set_bit(row(c, i), pos);
    }
    ix->posting_entries += nkeys;
    if (pos == c->npos) c->npos++;
    else c->free = c->members[pos] & ~KB_CELL_FREE;
    c->members[pos] = slot;
    ix->slotpos[slot] = pos;
    if (hot) {
        c->hot[pos] = *hot;
        c->hot[pos].slot = slot;
    }
    c->added++;
    count_items(ix, c, 1);
    settle(ix, c);
    return 0;
}

bool kb_index_same_cell(double lat_a, double lon_a, double lat_b, double lon_b) {
    return cell_lat(lat_a) == cell_lat(lat_b) && cell_lon(lon_a) == cell_lon(lon_b);
}

/* A key as a dense number: its class times span plus its id, so per-key
 * marks are an array indexed directly. The classes are numbered in the
 * order of their flag bits (none, slot, tag, language), so dense order is
 * key order. */
static const uint32_t class_flag[4] = {0, KB_INDEX_SLOT, KB_INDEX_EXP, KB_INDEX_LANG};
#define KEY_FLAGS (KB_INDEX_LANG | KB_INDEX_EXP | KB_INDEX_SLOT)

static uint32_t dense_key(uint32_t key, uint32_t span) {
    uint32_t cls = key & KB_INDEX_LANG ? 3 : key & KB_INDEX_EXP ? 2 : key & KB_INDEX_SLOT ? 1 : 0;
    return cls * span + (key & ~KEY_FLAGS);
}

/* Merges the nnew keys in fresh (sorted, none in c yet; room reserved)
 * into c from the back, moving rows along and keeping keys sorted. */
static void merge_keys(kb_cell_t *c, const uint32_t *fresh, uint32_t nnew) {
    size_t stride = kb_cell_stride(c);
    uint32_t i = c->nkeys, j = nnew, w = c->nkeys + nnew;
    while (j > 0) {
        --w;
        if (i > 0 && c->keys[i - 1] > fresh[j - 1]) {
            c->keys[w] = c->keys[--i];
            memcpy(row(c, w), row(c, i), stride * sizeof *c->bits);
        } else {
            c->keys[w] = fresh[--j];
            memset(row(c, w), 0, stride * sizeof *c->bits);
        }
    }
    c->nkeys += nnew;
}

int kb_index_add_cell(kb_index_t *ix, double lat, double lon, const uint32_t *slots, uint32_t n,
                      const uint32_t *keys, const uint32_t *off, const kb_hot_t *hot) {
    uint32_t total = off[n], span = 1;
    for (uint32_t k = 0; k < total; k++)
        if ((keys[k] & ~KEY_FLAGS) >= span) span = (keys[k] & ~KEY_FLAGS) + 1;
    /* Four arrays of 4 * span: marks, row numbers, the distinct keys in
     * order and those of them the cell has no row for. */
    uint32_t dense = 4 * span;
    if (dense > ix->scratch_cap) {
        uint32_t *grown = calloc(4 * (size_t)dense, sizeof *grown);
        if (!grown) return KB_ENOMEM;
        free(ix->scratch);
        ix->scratch = grown;
        ix->scratch_cap = dense;
    }
    uint32_t *mark = ix->scratch, *rown = mark + ix->scratch_cap,
             *distinct = rown + ix->scratch_cap, *fresh = distinct + ix->scratch_cap;
    uint32_t ci;
    int rc = cell_for(ix, lat, lon, &ci);
    if (rc < 0) return rc;
    kb_cell_t *c = &ix->cells[ci];
    for (uint32_t k = 0; k < total; k++) mark[dense_key(keys[k], span)] = 1;
    uint32_t ndistinct = 0, nfresh = 0;
    for (uint32_t dk = 0; dk < dense; dk++) {
        if (!mark[dk]) continue;
        uint32_t key = class_flag[dk / span] | dk % span;
        distinct[ndistinct++] = key;
        if (!kb_cell_bits(c, key)) fresh[nfresh++] = key;
    }
    uint32_t top = 0;
    for (uint32_t i = 0; i < n; i++)
        if (slots[i] >= top) top = slots[i] + 1;
    /* Exactly sized when this fills an empty cell (a snapshot written cell
     * by cell); a cell that gets several runs (a snapshot from a build with
     * smaller cells) grows by doubling, or each run would copy it all. */
    bool exact = c->npos == 0;
    rc = reserve_positions(c, c->npos + n, hot != NULL, exact);
    if (rc == 0) rc = reserve_keys(c, nfresh, exact);
    if (rc == 0) rc = reserve((void **)&ix->slotpos, &ix->capslot, top, sizeof(uint32_t));
    if (rc == 0) {
        merge_keys(c, fresh, nfresh);
        for (uint32_t d = 0; d < ndistinct; d++)
            rown[dense_key(distinct[d], span)] = key_pos(c, distinct[d]);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t pos = c->npos++;
            for (uint32_t k = off[i]; k < off[i + 1]; k++)
                set_bit(row(c, rown[dense_key(keys[k], span)]), pos);
            c->members[pos] = slots[i];
            ix->slotpos[slots[i]] = pos;
            if (hot) {
                c->hot[pos] = hot[i];
                c->hot[pos].slot = slots[i];
            }
        }
        c->added += n;
        count_items(ix, c, (int32_t)n);
        ix->posting_entries += total;
        settle(ix, c);
    }
    for (uint32_t d = 0; d < ndistinct; d++) mark[dense_key(distinct[d], span)] = 0;
    return rc;
}

/* ---- best-first search ---- */

void kb_index_search_init(kb_index_search_t *s) { memset(s, 0, sizeof *s); }

void kb_index_search_free(kb_index_search_t *s) {
    free(s->heap);
    memset(s, 0, sizeof *s);
}

static void heap_push(kb_index_search_t *s, kb_index_item_t it) {
    if (reserve((void **)&s->heap, &s->cap, s->n + 1, sizeof it)) {
        s->err = KB_ENOMEM;
        return;
    }
    uint32_t i = s->n++;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (s->heap[parent].lb_km <= it.lb_km) break;
        s->heap[i] = s->heap[parent];
        i = parent;
    }
    s->heap[i] = it;
}

static kb_index_item_t heap_pop(kb_index_search_t *s) {
    kb_index_item_t top = s->heap[0], last = s->heap[--s->n];
    uint32_t i = 0;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= s->n) break;
        if (child + 1 < s->n && s->heap[child + 1].lb_km < s->heap[child].lb_km) child++;
        if (last.lb_km <= s->heap[child].lb_km) break;
        s->heap[i] = s->heap[child];
        i = child;
    }
    if (s->n) s->heap[i] = last;
    return top;
}

static double box_lb(const kb_index_search_t *s, int32_t ilat, int32_t ilon, int32_t cells) {
    double lat0 = ilat * DLAT - 90.0, lon0 = ilon * DLON - 180.0;
    return kb_geo_box_lb(&s->at, s->km_per_deg_lon, lat0, lat0 + cells * DLAT, lon0,
                         lon0 + cells * DLON);
}

void kb_index_search_begin(kb_index_search_t *s, const kb_index_t *ix, const kb_point_t *at,
                           double radius_km) {
    s->ix = ix;
    s->at = *at;
    s->radius_km = radius_km;
    s->n = 0;
    s->err = 0;
    if (!ix->count) return;

    double dlat = radius_km / KM_PER_DEG + DLAT;
    double lat_lo = at->lat - dlat, lat_hi = at->lat + dlat;
    int32_t b_lat0 = cell_lat(lat_lo) >> BLOCK_SHIFT, b_lat1 = cell_lat(lat_hi) >> BLOCK_SHIFT;
    /* Longitude span at the latitude farthest from the equator in range;
     * near a pole every longitude is in range. */
    double far_lat = fmax(fabs(lat_lo), fabs(lat_hi));
    /* Blocks reach up to a block beyond the range searched. */
    double far_block = fmin(90.0, far_lat + (1 << BLOCK_SHIFT) * DLAT);
    s->km_per_deg_lon = kb_geo_km_per_deg_lon(far_block);
    int32_t b_lon0 = 0, nb_lon = LON_BLOCKS;
    if (far_lat < 89.0) {
        double dlon = radius_km / (KM_PER_DEG * cos(far_lat * M_PI / 180.0)) + DLON;
        if (dlon < 180.0) {
            b_lon0 = cell_lon(at->lon - dlon) >> BLOCK_SHIFT;
            int32_t b_lon1 = cell_lon(at->lon + dlon) >> BLOCK_SHIFT;
            nb_lon = ((b_lon1 - b_lon0 + LON_BLOCKS) % LON_BLOCKS) + 1;
        }
    }
    for (int32_t bl = b_lat0; bl <= b_lat1; bl++) {
        for (int32_t k = 0; k < nb_lon; k++) {
            int32_t bo = (b_lon0 + k) % LON_BLOCKS;
            uint32_t b;
            if (kb_imap_get(&ix->blockmap, grid_key(bl, bo), &b) != 0) continue;
            if (!ix->blocks[b].members) continue;
            double lb = box_lb(s, bl << BLOCK_SHIFT, bo << BLOCK_SHIFT, 1 << BLOCK_SHIFT);
            if (lb <= radius_km) heap_push(s, (kb_index_item_t){lb, b, true});
        }
    }
}

double kb_index_search_peek(kb_index_search_t *s) {
    /* Expand blocks at the top until a cell is there: a cell's bound is
     * tighter than its block's and is what the caller's stop test needs. */
    while (s->n && s->heap[0].is_block && s->heap[0].lb_km <= s->radius_km) {
        kb_index_item_t it = heap_pop(s);
        const kb_block_t *blk = &s->ix->blocks[it.idx];
        double dy[KB_BLOCK_SIDE], dx[KB_BLOCK_SIDE];
        for (int32_t i = 0; i < KB_BLOCK_SIDE; i++) {
            double lat0 = ((blk->blat << BLOCK_SHIFT) + i) * DLAT - 90.0;
            double lon0 = ((blk->blon << BLOCK_SHIFT) + i) * DLON - 180.0;
            dy[i] = kb_geo_lat_gap_km(&s->at, lat0, lat0 + DLAT);
            dx[i] = kb_geo_lon_gap_km(&s->at, s->km_per_deg_lon, lon0, lon0 + DLON);
        }
        for (uint64_t f = blk->filled; f; f &= f - 1) {
            unsigned at = (unsigned)__builtin_ctzll(f);
            double lb = kb_geo_gap_lb(dy[at / KB_BLOCK_SIDE], dx[at % KB_BLOCK_SIDE]);
            if (lb <= s->radius_km) heap_push(s, (kb_index_item_t){lb, blk->cell[at], false});
        }
    }
    return s->n && s->heap[0].lb_km <= s->radius_km ? s->heap[0].lb_km : INFINITY;
}

const kb_cell_t *kb_index_search_next(kb_index_search_t *s) {
    if (kb_index_search_peek(s) == INFINITY) return NULL;
    return &s->ix->cells[heap_pop(s).idx];
}

size_t kb_index_bytes(const kb_index_t *ix) {
    size_t n =
        (size_t)ix->capcells * sizeof(kb_cell_t) + (size_t)ix->capblocks * sizeof(kb_block_t);
    n += kb_imap_bytes(&ix->cellmap) + kb_imap_bytes(&ix->blockmap);
    for (uint32_t i = 0; i < ix->ncells; i++) {
        const kb_cell_t *c = &ix->cells[i];
        n += (size_t)c->cap * (sizeof(uint32_t) + (c->hot ? sizeof(kb_hot_t) : 0));
        n += (size_t)c->capkeys * (sizeof(uint32_t) + kb_cell_stride(c) * sizeof(uint64_t));
        if (c->bits) n += (KB_CELL_GROUP - 1) * sizeof(uint64_t);
    }
    return n + (size_t)ix->capslot * sizeof(uint32_t);
}
