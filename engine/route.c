/* route.c — see route.h. */
#include "route.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "koble/error.h"

#define CELL_DLAT  0.1
#define CELL_DLON  0.2
#define WIDE_KM    200.0
#define KM_PER_DEG 111.2

/* Keys: a tag in the top bits, then what it files under. */
#define TAG_MUNI  1ull
#define TAG_CELL  2ull
#define TAG_SKILL 3ull
#define NO_SKILL  0xffffffffu

static uint64_t place_key(uint64_t tag, uint32_t place, uint32_t skill) {
    return tag << 62 | (uint64_t)(place & 0x3fffffffu) << 32 | skill;
}

static uint32_t cell_of(double lat, double lon) {
    uint32_t i = (uint32_t)floor((lat + 90.0) / CELL_DLAT),
             j = (uint32_t)floor((lon + 180.0) / CELL_DLON);
    return i << 12 | j; /* i < 1801, j < 1801 */
}

void kb_route_init(kb_route_t *r) {
    memset(r, 0, sizeof *r);
    kb_imap_init(&r->by_key);
}

void kb_route_free(kb_route_t *r) {
    kb_imap_free(&r->by_key);
    for (uint32_t i = 0; i < r->nlists; i++) free(r->lists[i].slots);
    free(r->lists);
    free(r->wide.slots);
    free(r->everything.slots);
    free(r->found.slots);
    free(r->seen);
    memset(r, 0, sizeof *r);
}

static int list_push(kb_route_list_t *l, uint32_t slot) {
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? l->cap * 2 : 4;
        uint32_t *s = realloc(l->slots, cap * sizeof *s);
        if (!s) return KB_ENOMEM;
        l->slots = s;
        l->cap = cap;
    }
    l->slots[l->n++] = slot;
    return 0;
}

static void list_drop(kb_route_list_t *l, uint32_t slot) {
    for (uint32_t i = 0; l && i < l->n; i++)
        if (l->slots[i] == slot) {
            l->slots[i] = l->slots[--l->n];
            return;
        }
}

/* The list filed under key, made on first use (NULL: none, or no memory). */
static kb_route_list_t *list_of(kb_route_t *r, uint64_t key, bool make) {
    uint32_t idx;
    if (kb_imap_get(&r->by_key, key, &idx) == 0) return &r->lists[idx];
    if (!make) return NULL;
    if (r->nlists == r->caplists) {
        uint32_t cap = r->caplists ? r->caplists * 2 : 16;
        kb_route_list_t *l = realloc(r->lists, cap * sizeof *l);
        if (!l) return NULL;
        r->lists = l;
        r->caplists = cap;
    }
    if (kb_imap_put(&r->by_key, key, r->nlists) < 0) return NULL;
    r->lists[r->nlists] = (kb_route_list_t){0};
    return &r->lists[r->nlists++];
}

/* Calls fn on every key sub is filed under; stops at the first error. */
typedef int (*key_fn)(kb_route_t *r, uint64_t key, uint32_t slot);

static int each_place_skill(kb_route_t *r, const kb_sub_t *sub, uint64_t tag, uint32_t place,
                            uint32_t slot, key_fn fn) {
    if (!sub->skills_any.n) return fn(r, place_key(tag, place, NO_SKILL), slot);
    for (unsigned k = 0; k < sub->skills_any.n; k++) {
        int rc = fn(r, place_key(tag, place, sub->skills_any.ids[k]), slot);
        if (rc < 0) return rc;
    }
    return 0;
}

static int each_key(kb_route_t *r, const kb_sub_t *sub, uint32_t slot, key_fn fn) {
    int rc = 0;
    if (sub->munis.n) {
        for (unsigned i = 0; rc == 0 && i < sub->munis.n; i++)
            rc = each_place_skill(r, sub, TAG_MUNI, sub->munis.codes[i], slot, fn);
        return rc;
    }
    if (sub->has_area) {
        /* Every cell of the circle's bounding box: a few too many at the
         * corners, which the full check sorts out. */
        double dlat = sub->area_km / KM_PER_DEG;
        double lat0 = fmax(-90, sub->area_lat - dlat), lat1 = fmin(89.999, sub->area_lat + dlat);
        double far = fmax(fabs(lat0), fabs(lat1));
        double dlon = far >= 89 ? 180 : sub->area_km / (KM_PER_DEG * cos(far * M_PI / 180));
        if (dlon >= 180) dlon = 179.999;
        for (double lat = lat0; rc == 0 && lat < lat1 + CELL_DLAT; lat += CELL_DLAT)
            for (double lon = sub->area_lon - dlon;
                 rc == 0 && lon < sub->area_lon + dlon + CELL_DLON; lon += CELL_DLON) {
                double wrapped = lon < -180 ? lon + 360 : lon >= 180 ? lon - 360 : lon;
                rc =
                    each_place_skill(r, sub, TAG_CELL, cell_of(fmin(lat, lat1), wrapped), slot, fn);
            }
        return rc;
    }
    for (unsigned k = 0; rc == 0 && k < sub->skills_any.n; k++)
        rc = fn(r, place_key(TAG_SKILL, 0, sub->skills_any.ids[k]), slot);
    return rc;
}

static int add_key(kb_route_t *r, uint64_t key, uint32_t slot) {
    kb_route_list_t *l = list_of(r, key, true);
    if (!l) return KB_ENOMEM;
    /* A bounding box can name one cell twice (at the wrap): file once. */
    if (l->n && l->slots[l->n - 1] == slot) return 0;
    return list_push(l, slot);
}

static int drop_key(kb_route_t *r, uint64_t key, uint32_t slot) {
    list_drop(list_of(r, key, false), slot);
    return 0;
}

static kb_route_list_t *own_list(kb_route_t *r, const kb_sub_t *sub) {
    if (sub->munis.n) return NULL;
    if (sub->has_area) return sub->area_km > WIDE_KM ? &r->wide : NULL;
    return sub->skills_any.n ? NULL : &r->everything;
}

int kb_route_add(kb_route_t *r, const kb_sub_t *sub, uint32_t slot) {
    kb_route_list_t *own = own_list(r, sub);
    if (own) return list_push(own, slot);
    int rc = each_key(r, sub, slot, add_key);
    if (rc < 0) each_key(r, sub, slot, drop_key);
    return rc;
}

void kb_route_remove(kb_route_t *r, const kb_sub_t *sub, uint32_t slot) {
    kb_route_list_t *own = own_list(r, sub);
    if (own) list_drop(own, slot);
    else each_key(r, sub, slot, drop_key);
}

static bool has_token(const kb_toks_t *t, uint32_t id) {
    for (unsigned i = 0; i < t->n; i++)
        if (t->ids[i] == id) return true;
    return false;
}

bool kb_route_satisfies(const kb_sub_t *sub, const kb_need_t *n) {
    /* A need of kind "any" takes helpers of every kind, so it interests
     * every subscription to some kind. */
    if (sub->kinds && n->kind != KB_KIND_ANY && !(sub->kinds & (1u << n->kind))) return false;
    if (sub->munis.n) {
        uint16_t code = (uint16_t)atoi(n->municipality);
        bool found = false;
        for (unsigned i = 0; !found && i < sub->munis.n; i++) found = sub->munis.codes[i] == code;
        if (!found) return false;
    }
    if (sub->has_area && kb_geo_chord2(&sub->area_pos, &n->pos) > kb_geo_chord2_of_km(sub->area_km))
        return false;
    if (sub->skills_any.n) {
        bool any = false;
        for (unsigned i = 0; !any && i < sub->skills_any.n; i++)
            any = has_token(&n->skills_required, sub->skills_any.ids[i]) ||
                  has_token(&n->skills_wanted, sub->skills_any.ids[i]);
        if (!any) return false;
    }
    return true;
}

/* Adds the subscriptions of l not gathered yet in this round. */
static int gather(kb_route_t *r, const kb_route_list_t *l) {
    for (uint32_t i = 0; l && i < l->n; i++) {
        uint32_t slot = l->slots[i];
        if (slot >= r->nseen) {
            uint32_t n = slot + 1024, *seen = realloc(r->seen, n * sizeof *seen);
            if (!seen) return KB_ENOMEM;
            memset(seen + r->nseen, 0, (n - r->nseen) * sizeof *seen);
            r->seen = seen;
            r->nseen = n;
        }
        if (r->seen[slot] == r->epoch) continue;
        r->seen[slot] = r->epoch;
        if (list_push(&r->found, slot) < 0) return KB_ENOMEM;
    }
    return 0;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int kb_route_match(kb_route_t *r, const kb_store_t *s, const kb_need_t *n, const uint32_t **slots,
                   uint32_t *count) {
    r->found.n = 0;
    if (++r->epoch == 0) { /* wrapped: forget every stamp */
        memset(r->seen, 0, r->nseen * sizeof *r->seen);
        r->epoch = 1;
    }
    uint32_t places[2] = {(uint32_t)atoi(n->municipality), cell_of(n->pos.lat, n->pos.lon)};
    const uint64_t tags[2] = {TAG_MUNI, TAG_CELL};
    const kb_toks_t *skills[2] = {&n->skills_required, &n->skills_wanted};
    int rc = gather(r, &r->everything);
    if (rc == 0) rc = gather(r, &r->wide);
    for (int p = 0; rc == 0 && p < 2; p++)
        rc = gather(r, list_of(r, place_key(tags[p], places[p], NO_SKILL), false));
    for (int k = 0; rc == 0 && k < 2; k++)
        for (unsigned i = 0; rc == 0 && i < skills[k]->n; i++) {
            uint32_t skill = skills[k]->ids[i];
            rc = gather(r, list_of(r, place_key(TAG_SKILL, 0, skill), false));
            for (int p = 0; rc == 0 && p < 2; p++)
                rc = gather(r, list_of(r, place_key(tags[p], places[p], skill), false));
        }
    if (rc < 0) return rc;
    uint32_t out = 0;
    for (uint32_t i = 0; i < r->found.n; i++)
        if (kb_route_satisfies(kb_store_sub(s, r->found.slots[i]), n))
            r->found.slots[out++] = r->found.slots[i];
    if (out > 1) /* found.slots is NULL while nothing was ever found */
        qsort(r->found.slots, out, sizeof *r->found.slots, cmp_u32);
    *slots = r->found.slots;
    *count = out;
    return 0;
}
