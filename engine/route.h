/* route.h — which subscriptions a need satisfies, without looking at all
 * of them.
 *
 * A subscription is filed under one index, by its most selective part:
 * its municipalities if it lists any, else its area (a grid index of the
 * centres, in three classes of radius so a search reaches only as far as
 * the class needs), else its skills, else on the short list of
 * subscriptions that take every need. Routing a need gathers the
 * subscriptions filed under its municipality, under areas around it, under
 * its skills, and the short list, and checks each in full (kinds, skills,
 * municipalities, area). */
#ifndef KB_ROUTE_H
#define KB_ROUTE_H

#include <stdint.h>

#include "imap.h"
#include "index.h"
#include "store.h"

#define KB_ROUTE_AREA_CLASSES 3

typedef struct kb_route_list {
    uint32_t *slots;
    uint32_t n, cap;
} kb_route_list_t;

typedef struct kb_route {
    kb_imap_t by_muni, by_skill; /* key -> index into lists */
    kb_route_list_t *lists;
    uint32_t nlists, caplists;
    kb_index_t areas[KB_ROUTE_AREA_CLASSES];
    kb_index_search_t search;
    kb_route_list_t everything;
    kb_route_list_t found; /* scratch for kb_route_match */
} kb_route_t;

void kb_route_init(kb_route_t *r);
void kb_route_free(kb_route_t *r);
int kb_route_add(kb_route_t *r, const kb_sub_t *sub, uint32_t slot);
void kb_route_remove(kb_route_t *r, const kb_sub_t *sub, uint32_t slot);
/* Whether need n satisfies subscription sub (the full check). */
bool kb_route_satisfies(const kb_sub_t *sub, const kb_need_t *n);
/* The slots of the subscriptions n satisfies, sorted, each once; valid
 * until the next call. KB_ENOMEM on failure. */
int kb_route_match(kb_route_t *r, const kb_store_t *s, const kb_need_t *n, const uint32_t **slots,
                   uint32_t *count);

#endif
