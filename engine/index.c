/* index.c — see index.h.
 *
 * Grid arithmetic: cell (ilat, ilon) covers latitudes
 * [ilat*DLAT - 90, +DLAT) and longitudes [ilon*DLON - 180, +DLON); block
 * (blat, blon) = (ilat >> 3, ilon >> 3). Longitude indices wrap at the
 * antimeridian. Removal swaps the last entry into the hole, so order inside
 * a cell is not stable; matching never depends on it (its ordering is
 * total: score, distance, id). Empty cells and blocks are kept for reuse. */
#include "index.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "koble/error.h"

#define DLAT        0.01
#define DLON        0.02
#define BLOCK_SHIFT 3
#define LON_CELLS   18000 /* 360 / DLON */
#define LON_BLOCKS  (LON_CELLS >> BLOCK_SHIFT)
#define KM_PER_DEG  111.19 /* km per degree of latitude, rounded down: sizes the range */

static int32_t cell_lat(double lat) {
    int32_t i = (int32_t)floor((lat + 90.0) / DLAT);
    return i < 0 ? 0 : (i > 17999 ? 17999 : i);
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
        for (uint32_t p = 0; p < c->nposts; p++)
            if (!c->posts[p].in_block) free(c->posts[p].slots);
        free(c->posts);
        free(c->members);
        free(c->block);
    }
    for (uint32_t i = 0; i < ix->nblocks; i++) free(ix->blocks[i].cells);
    free(ix->scratch);
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

/* Grows *arr to exactly need items (if it holds fewer): for arrays whose
 * final size is known. */
static int reserve_exact(void **arr, uint32_t *cap, uint32_t need, size_t elem) {
    if (need <= *cap) return 0;
    void *p = realloc(*arr, (size_t)need * elem);
    if (!p) return KB_ENOMEM;
    *arr = p;
    *cap = need;
    return 0;
}

/* Grows post's list so it holds need slots: as reserve (exact: to need
 * and no more), and a list in the cell's block moves to its own memory. */
static int posting_reserve(kb_posting_t *post, uint32_t need, bool exact) {
    if (need <= post->cap) return 0;
    if (!post->in_block) {
        return exact ? reserve_exact((void **)&post->slots, &post->cap, need, sizeof(uint32_t))
                     : reserve((void **)&post->slots, &post->cap, need, sizeof(uint32_t));
    }
    uint32_t cap = need;
    if (!exact)
        while (cap < 2 * post->cap) cap *= 2;
    uint32_t *own = malloc((size_t)cap * sizeof *own);
    if (!own) return KB_ENOMEM;
    memcpy(own, post->slots, (size_t)post->n * sizeof *own);
    post->slots = own;
    post->cap = cap;
    post->in_block = false;
    return 0;
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
    kb_block_t *blk = &ix->blocks[b];
    if (reserve((void **)&ix->cells, &ix->capcells, ix->ncells + 1, sizeof(kb_cell_t)) ||
        reserve((void **)&blk->cells, &blk->cap, blk->ncells + 1, sizeof(uint32_t)))
        return KB_ENOMEM;
    uint32_t c = ix->ncells;
    ix->cells[c] = (kb_cell_t){.ilat = ilat, .ilon = ilon};
    if (kb_imap_put(&ix->cellmap, grid_key(ilat, ilon), c)) return KB_ENOMEM;
    ix->ncells++;
    blk->cells[blk->ncells++] = c;
    *out = c;
    return 0;
}

static kb_block_t *block_of(kb_index_t *ix, const kb_cell_t *c) {
    uint32_t b = 0;
    kb_imap_get(&ix->blockmap, grid_key(c->ilat >> BLOCK_SHIFT, c->ilon >> BLOCK_SHIFT), &b);
    return &ix->blocks[b];
}

/* Index of the first posting with key >= key. */
static uint32_t posting_pos(const kb_cell_t *c, uint32_t key) {
    uint32_t lo = 0, hi = c->nposts;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (c->posts[mid].key < key) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

const kb_posting_t *kb_cell_posting(const kb_cell_t *c, uint32_t key) {
    uint32_t i = posting_pos(c, key);
    return i < c->nposts && c->posts[i].key == key ? &c->posts[i] : NULL;
}

static void drop(uint32_t *arr, uint32_t *n, uint32_t slot) {
    for (uint32_t i = 0; i < *n; i++) {
        if (arr[i] == slot) {
            arr[i] = arr[--*n];
            return;
        }
    }
}

void kb_index_remove(kb_index_t *ix, uint32_t slot, double lat, double lon, const uint32_t *keys,
                     unsigned nkeys) {
    uint32_t ci;
    if (kb_imap_get(&ix->cellmap, grid_key(cell_lat(lat), cell_lon(lon)), &ci) != 0) return;
    kb_cell_t *c = &ix->cells[ci];
    uint32_t before = c->n;
    drop(c->members, &c->n, slot);
    if (c->n == before) return;
    for (unsigned k = 0; k < nkeys; k++) {
        uint32_t p = posting_pos(c, keys[k]);
        if (p < c->nposts && c->posts[p].key == keys[k]) {
            uint32_t had = c->posts[p].n;
            drop(c->posts[p].slots, &c->posts[p].n, slot);
            ix->posting_entries -= had - c->posts[p].n;
        }
    }
    block_of(ix, c)->members--;
    ix->count--;
}

int kb_index_add(kb_index_t *ix, uint32_t slot, double lat, double lon, const uint32_t *keys,
                 unsigned nkeys) {
    uint32_t ci;
    int rc = cell_for(ix, lat, lon, &ci);
    if (rc < 0) return rc;
    kb_cell_t *c = &ix->cells[ci];
    /* Reserve everything first so a failure leaves the cell untouched. */
    if (reserve((void **)&c->members, &c->cap, c->n + 1, sizeof(uint32_t)) ||
        reserve((void **)&c->posts, &c->capposts, c->nposts + nkeys, sizeof(kb_posting_t)))
        return KB_ENOMEM;
    for (unsigned k = 0; k < nkeys; k++) {
        uint32_t p = posting_pos(c, keys[k]);
        if (p == c->nposts || c->posts[p].key != keys[k]) {
            memmove(&c->posts[p + 1], &c->posts[p], (c->nposts - p) * sizeof(kb_posting_t));
            c->posts[p] = (kb_posting_t){.key = keys[k]};
            c->nposts++;
        }
        kb_posting_t *post = &c->posts[p];
        if (posting_reserve(post, post->n + 1, false)) {
            /* Undo the postings already extended; empty ones may stay. */
            for (unsigned u = 0; u < k; u++) {
                kb_posting_t *q = &c->posts[posting_pos(c, keys[u])];
                drop(q->slots, &q->n, slot);
                ix->posting_entries--;
            }
            return KB_ENOMEM;
        }
        post->slots[post->n++] = slot;
        ix->posting_entries++;
    }
    c->members[c->n++] = slot;
    block_of(ix, c)->members++;
    ix->count++;
    return 0;
}

bool kb_index_same_cell(double lat_a, double lon_a, double lat_b, double lon_b) {
    return cell_lat(lat_a) == cell_lat(lat_b) && cell_lon(lon_a) == cell_lon(lon_b);
}

/* A posting key as a dense number: its class times span plus its id, so
 * per-key counters are an array indexed directly. The classes are
 * numbered in the order of their flag bits (none, slot, tag, language),
 * so dense order is key order. */
static const uint32_t class_flag[4] = {0, KB_INDEX_SLOT, KB_INDEX_EXP, KB_INDEX_LANG};
#define KEY_FLAGS (KB_INDEX_LANG | KB_INDEX_EXP | KB_INDEX_SLOT)

static uint32_t dense_key(uint32_t key, uint32_t span) {
    uint32_t cls = key & KB_INDEX_LANG ? 3 : key & KB_INDEX_EXP ? 2 : key & KB_INDEX_SLOT ? 1 : 0;
    return cls * span + (key & ~KEY_FLAGS);
}

/* Makes room for the postings of the nnew keys in fresh (sorted, none in
 * c yet) and merges them in from the back, keeping c->posts sorted. */
static int merge_postings(kb_cell_t *c, const uint32_t *fresh, uint32_t nnew) {
    if (!nnew) return 0;
    if (reserve((void **)&c->posts, &c->capposts, c->nposts + nnew, sizeof(kb_posting_t)))
        return KB_ENOMEM;
    uint32_t i = c->nposts, j = nnew, w = c->nposts + nnew;
    while (j > 0) {
        if (i > 0 && c->posts[i - 1].key > fresh[j - 1]) c->posts[--w] = c->posts[--i];
        else c->posts[--w] = (kb_posting_t){.key = fresh[--j]};
    }
    c->nposts += nnew;
    return 0;
}

int kb_index_add_cell(kb_index_t *ix, double lat, double lon, const uint32_t *slots, uint32_t n,
                      const uint32_t *keys, const uint32_t *off) {
    uint32_t total = off[n], span = 1;
    for (uint32_t k = 0; k < total; k++)
        if ((keys[k] & ~KEY_FLAGS) >= span) span = (keys[k] & ~KEY_FLAGS) + 1;
    /* Four arrays of 4 * span: counters, posting numbers, the distinct
     * keys in order and those of them the cell has no posting for. */
    uint32_t dense = 4 * span;
    if (dense > ix->scratch_cap) {
        uint32_t *grown = calloc(4 * (size_t)dense, sizeof *grown);
        if (!grown) return KB_ENOMEM;
        free(ix->scratch);
        ix->scratch = grown;
        ix->scratch_cap = dense;
    }
    uint32_t *count = ix->scratch, *post = count + ix->scratch_cap,
             *distinct = post + ix->scratch_cap, *fresh = distinct + ix->scratch_cap;
    uint32_t ci;
    int rc = cell_for(ix, lat, lon, &ci);
    if (rc < 0) return rc;
    kb_cell_t *c = &ix->cells[ci];
    for (uint32_t k = 0; k < total; k++) count[dense_key(keys[k], span)]++;
    uint32_t ndistinct = 0, nfresh = 0;
    for (uint32_t dk = 0; dk < dense; dk++) {
        if (!count[dk]) continue;
        uint32_t key = class_flag[dk / span] | dk % span;
        distinct[ndistinct++] = key;
        if (!kb_cell_posting(c, key)) fresh[nfresh++] = key;
    }
    rc = reserve_exact((void **)&c->members, &c->cap, c->n + n, sizeof(uint32_t));
    if (rc == 0) rc = merge_postings(c, fresh, nfresh);
    /* A cell without postings yet (every cell of a snapshot being
     * restored) gets all its lists in one piece, sized exactly. */
    uint32_t *block = NULL;
    if (rc == 0 && !c->block && nfresh == c->nposts && nfresh == ndistinct) {
        if (!(block = malloc((size_t)total * sizeof *block))) rc = KB_ENOMEM;
    }
    for (uint32_t d = 0, at = 0; rc == 0 && d < ndistinct; d++) {
        uint32_t dk = dense_key(distinct[d], span), p = posting_pos(c, distinct[d]);
        kb_posting_t *ps = &c->posts[p];
        post[dk] = p;
        if (block) {
            *ps = (kb_posting_t){
                .key = ps->key, .cap = count[dk], .in_block = true, .slots = block + at};
            at += count[dk];
        } else {
            rc = posting_reserve(ps, ps->n + count[dk], true);
        }
    }
    if (block) {
        if (rc == 0) c->block = block;
        else free(block);
    }
    if (rc == 0) {
        for (uint32_t i = 0; i < n; i++) {
            for (uint32_t k = off[i]; k < off[i + 1]; k++) {
                kb_posting_t *ps = &c->posts[post[dense_key(keys[k], span)]];
                ps->slots[ps->n++] = slots[i];
            }
            c->members[c->n++] = slots[i];
        }
        block_of(ix, c)->members += n;
        ix->count += n;
        ix->posting_entries += total;
    }
    for (uint32_t d = 0; d < ndistinct; d++) count[dense_key(distinct[d], span)] = 0;
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
        for (uint32_t i = 0; i < blk->ncells; i++) {
            const kb_cell_t *c = &s->ix->cells[blk->cells[i]];
            if (!c->n) continue;
            double lb = box_lb(s, c->ilat, c->ilon, 1);
            if (lb <= s->radius_km) heap_push(s, (kb_index_item_t){lb, blk->cells[i], false});
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
        n += (size_t)c->cap * sizeof(uint32_t) + (size_t)c->capposts * sizeof(kb_posting_t);
        for (uint32_t p = 0; p < c->nposts; p++) n += (size_t)c->posts[p].cap * sizeof(uint32_t);
    }
    for (uint32_t i = 0; i < ix->nblocks; i++) n += (size_t)ix->blocks[i].cap * sizeof(uint32_t);
    return n;
}
