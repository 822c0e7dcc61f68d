/* match.h — top-k matching: the best candidates for a need, and the best
 * open needs for a volunteer (the reverse query).
 *
 * The search walks index cells best-first (see index.h) and keeps a
 * bounded heap of the k best hits so far. Before each cell it asks the
 * scorer for the best score any candidate at that cell's minimum distance
 * could reach; once the heap is full and that bound is below the k-th
 * score, no remaining cell can change the answer and the search stops. In
 * a dense city this is what keeps a query from scoring everybody in range.
 *
 * With explain, pruning is off: every candidate in range is checked so the
 * exclusion counts are exact, and candidates outside the searched cells are
 * counted under "distance". The hits are the same either way.
 *
 * Ordering is total and deterministic: higher score, then shorter
 * distance, then id (then type, for "any" needs). */
#ifndef KB_MATCH_H
#define KB_MATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "index.h"
#include "score.h"
#include "store.h"

#define KB_HIT_NEED 2 /* kb_hit_t.type of a reverse-query hit */

typedef struct kb_hit {
    double score, dist_km;
    uint32_t slot;
    uint8_t type; /* kb_cand_type_t, or KB_HIT_NEED */
} kb_hit_t;

typedef struct kb_match_result {
    const kb_hit_t *hits; /* best first; owned by the matcher, valid until its next run */
    uint32_t n;
    uint64_t excluded[KB_X_COUNT]; /* filled with explain only */
    uint32_t cells;                /* cells visited */
    uint32_t checked;              /* candidates whose full record was checked */
} kb_match_result_t;

/* Scratch state reused across queries so a query allocates nothing once
 * the buffers have grown. One per thread (the loop has one). */
typedef struct kb_matcher {
    kb_index_search_t search;
    kb_hit_t *heap;
    uint32_t n, cap, limit;
    const kb_store_t *store;
} kb_matcher_t;

/* What the reverse query needs to know about each need it looks at. */
typedef struct kb_need_source {
    /* Prepares q for need slot; false if the need is not to be offered
     * (not open, or not looking for volunteers). */
    bool (*prepare)(void *ctx, uint32_t need_slot, kb_query_t *q);
    void *ctx;
} kb_need_source_t;

void kb_matcher_init(kb_matcher_t *m);
void kb_matcher_free(kb_matcher_t *m);

/* Best `limit` candidates for q among the candidate indexes ix[type]
 * (NULL for a type the need does not want). */
int kb_match_need(kb_matcher_t *m, const kb_store_t *s, const kb_index_t *const ix[2],
                  const kb_query_t *q, uint32_t limit, bool explain, kb_match_result_t *out);

/* The same answer by scoring every live candidate of the wanted types,
 * without the index: the baseline the index must beat, and the reference
 * the tests compare it with. excluded is filled as with explain. */
int kb_match_need_scan(kb_matcher_t *m, const kb_store_t *s, const kb_query_t *q, uint32_t limit,
                       kb_match_result_t *out);

/* Best `limit` open needs for volunteer slot v, from the index of needs. */
int kb_match_volunteer(kb_matcher_t *m, const kb_store_t *s, const kb_index_t *needs, uint32_t v,
                       const kb_need_source_t *src, uint32_t limit, kb_match_result_t *out);

#endif
