/* route.h — which subscriptions a need satisfies, without looking at all
 * of them.
 *
 * A subscription is filed under one index, by its most selective part:
 * its municipalities if it lists any, else its area, else its skills,
 * else on the short list of subscriptions that take every need. An area
 * is filed under every cell of a coarse grid (0.1 x 0.2 degrees, about
 * 11 x 12 km in Denmark) its circle may reach, so a need looks up the one
 * cell it lies in; areas wider than 200 km, few and reaching nearly
 * everything, go on a list of their own. Skills narrow the first two: a
 * subscription to a municipality or an area and skills is filed under
 * each (place, skill) pair, so a need meets only the subscriptions that
 * share a skill with it or ask for none. Routing gathers what is filed
 * under the need's municipality, cell and skills, and the two lists, and
 * checks each subscription in full (kinds, skills, municipalities, area).
 * Its cost grows with the subscriptions that match, not with all. */
#ifndef KB_ROUTE_H
#define KB_ROUTE_H

#include <stdint.h>

#include "imap.h"
#include "store.h"

typedef struct kb_route_list {
    uint32_t *slots;
    uint32_t n, cap;
} kb_route_list_t;

typedef struct kb_route {
    kb_imap_t by_key; /* place or skill key -> index into lists */
    kb_route_list_t *lists;
    uint32_t nlists, caplists;
    kb_route_list_t wide; /* areas over 200 km */
    kb_route_list_t everything;
    kb_route_list_t found; /* scratch for kb_route_match */
    uint32_t *seen;        /* per slot: the epoch it was last gathered in */
    uint32_t nseen, epoch;
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
