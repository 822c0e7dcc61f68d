/* route.c — see route.h. */
#include "route.h"

#include <stdlib.h>
#include <string.h>

#include "koble/error.h"

/* Upper radius of each area class, km: most areas are a town or a
 * municipality; a few cover a region. */
static const double area_class_km[KB_ROUTE_AREA_CLASSES] = {10, 50, 500};

static int area_class(double km) {
    int c = 0;
    while (c < KB_ROUTE_AREA_CLASSES - 1 && km > area_class_km[c]) c++;
    return c;
}

void kb_route_init(kb_route_t *r) {
    memset(r, 0, sizeof *r);
    kb_imap_init(&r->by_muni);
    kb_imap_init(&r->by_skill);
    for (int i = 0; i < KB_ROUTE_AREA_CLASSES; i++) kb_index_init(&r->areas[i]);
    kb_index_search_init(&r->search);
}

void kb_route_free(kb_route_t *r) {
    kb_imap_free(&r->by_muni);
    kb_imap_free(&r->by_skill);
    for (uint32_t i = 0; i < r->nlists; i++) free(r->lists[i].slots);
    free(r->lists);
    for (int i = 0; i < KB_ROUTE_AREA_CLASSES; i++) kb_index_free(&r->areas[i]);
    kb_index_search_free(&r->search);
    free(r->everything.slots);
    free(r->found.slots);
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
    for (uint32_t i = 0; i < l->n; i++)
        if (l->slots[i] == slot) {
            l->slots[i] = l->slots[--l->n];
            return;
        }
}

/* The list filed under key in map, made on first use (NULL: no memory). */
static kb_route_list_t *list_of(kb_route_t *r, kb_imap_t *map, uint64_t key, bool make) {
    uint32_t idx;
    if (kb_imap_get(map, key, &idx) == 0) return &r->lists[idx];
    if (!make) return NULL;
    if (r->nlists == r->caplists) {
        uint32_t cap = r->caplists ? r->caplists * 2 : 16;
        kb_route_list_t *l = realloc(r->lists, cap * sizeof *l);
        if (!l) return NULL;
        r->lists = l;
        r->caplists = cap;
    }
    if (kb_imap_put(map, key, r->nlists) < 0) return NULL;
    r->lists[r->nlists] = (kb_route_list_t){0};
    return &r->lists[r->nlists++];
}

int kb_route_add(kb_route_t *r, const kb_sub_t *sub, uint32_t slot) {
    if (sub->munis.n) {
        for (unsigned i = 0; i < sub->munis.n; i++) {
            kb_route_list_t *l = list_of(r, &r->by_muni, sub->munis.codes[i], true);
            if (!l || list_push(l, slot) < 0) {
                while (i-- > 0) list_drop(list_of(r, &r->by_muni, sub->munis.codes[i], false), slot);
                return KB_ENOMEM;
            }
        }
        return 0;
    }
    if (sub->has_area)
        return kb_index_add(&r->areas[area_class(sub->area_km)], slot, sub->area_lat, sub->area_lon,
                            NULL, 0);
    if (sub->skills_any.n) {
        for (unsigned i = 0; i < sub->skills_any.n; i++) {
            kb_route_list_t *l = list_of(r, &r->by_skill, sub->skills_any.ids[i], true);
            if (!l || list_push(l, slot) < 0) {
                while (i-- > 0)
                    list_drop(list_of(r, &r->by_skill, sub->skills_any.ids[i], false), slot);
                return KB_ENOMEM;
            }
        }
        return 0;
    }
    return list_push(&r->everything, slot);
}

void kb_route_remove(kb_route_t *r, const kb_sub_t *sub, uint32_t slot) {
    if (sub->munis.n) {
        for (unsigned i = 0; i < sub->munis.n; i++)
            list_drop(list_of(r, &r->by_muni, sub->munis.codes[i], false), slot);
    } else if (sub->has_area) {
        kb_index_remove(&r->areas[area_class(sub->area_km)], slot, sub->area_lat, sub->area_lon,
                        NULL, 0);
    } else if (sub->skills_any.n) {
        for (unsigned i = 0; i < sub->skills_any.n; i++)
            list_drop(list_of(r, &r->by_skill, sub->skills_any.ids[i], false), slot);
    } else {
        list_drop(&r->everything, slot);
    }
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

static int gather(kb_route_t *r, const kb_route_list_t *l) {
    for (uint32_t i = 0; l && i < l->n; i++)
        if (list_push(&r->found, l->slots[i]) < 0) return KB_ENOMEM;
    return 0;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int kb_route_match(kb_route_t *r, const kb_store_t *s, const kb_need_t *n, const uint32_t **slots,
                   uint32_t *count) {
    r->found.n = 0;
    int rc = gather(r, list_of(r, &r->by_muni, (uint64_t)atoi(n->municipality), false));
    const kb_toks_t *skills[2] = {&n->skills_required, &n->skills_wanted};
    for (int k = 0; rc == 0 && k < 2; k++)
        for (unsigned i = 0; rc == 0 && i < skills[k]->n; i++)
            rc = gather(r, list_of(r, &r->by_skill, skills[k]->ids[i], false));
    if (rc == 0) rc = gather(r, &r->everything);
    for (int c = 0; rc == 0 && c < KB_ROUTE_AREA_CLASSES; c++) {
        const kb_cell_t *cell;
        kb_index_search_begin(&r->search, &r->areas[c], &n->pos, area_class_km[c]);
        while (rc == 0 && (cell = kb_index_search_next(&r->search)))
            for (uint32_t i = 0; rc == 0 && i < cell->n; i++)
                rc = list_push(&r->found, cell->members[i]);
        if (r->search.err) rc = r->search.err;
    }
    if (rc < 0) return rc;
    /* Sorted, each once, and satisfied in full. */
    qsort(r->found.slots, r->found.n, sizeof *r->found.slots, cmp_u32);
    uint32_t out = 0, prev = KB_NO_SLOT;
    for (uint32_t i = 0; i < r->found.n; i++) {
        uint32_t slot = r->found.slots[i];
        if (slot == prev) continue;
        prev = slot;
        if (kb_route_satisfies(kb_store_sub(s, slot), n)) r->found.slots[out++] = slot;
    }
    *slots = r->found.slots;
    *count = out;
    return 0;
}
