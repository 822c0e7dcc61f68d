/* store.c — see store.h. */
#define _GNU_SOURCE /* mremap */
#include "store.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include "koble/error.h"

static const char *pool_key(void *ctx, uint32_t slot) {
    const kb_pool_t *p = ctx;
    const char *rec = (const char *)p->recs + (size_t)slot * p->elem;
    return *(char *const *)(rec + p->id_off);
}

void kb_pool_init(kb_pool_t *p, size_t elem, size_t id_off) {
    memset(p, 0, sizeof *p);
    p->elem = elem;
    p->id_off = id_off;
    kb_dict_init(&p->ids, pool_key, p);
}

int kb_store_init(kb_store_t *s) {
    memset(s, 0, sizeof *s);
    kb_pool_init(&s->cands[KB_VOLUNTEER], sizeof(kb_cand_t), offsetof(kb_cand_t, id));
    kb_pool_init(&s->cands[KB_ACTIVITY], sizeof(kb_cand_t), offsetof(kb_cand_t, id));
    kb_pool_init(&s->needs, sizeof(kb_need_t), offsetof(kb_need_t, id));
    kb_pool_init(&s->orgs, sizeof(kb_org_t), offsetof(kb_org_t, id));
    kb_pool_init(&s->subs, sizeof(kb_sub_t), offsetof(kb_sub_t, id));
    kb_intern_init(&s->tokens);
    kb_arena_init(&s->arena);
    s->cands[KB_VOLUNTEER].arena = s->cands[KB_ACTIVITY].arena = &s->arena;
    return 0;
}

/* The record array is a mapping of its own, cap records rounded up to
 * whole pages (grow_recs). */
static size_t recs_bytes(uint32_t cap, size_t elem) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE), bytes = (size_t)cap * elem;
    return (bytes + page - 1) / page * page;
}

/* LeakSanitizer looks for pointers in the heap, not in mappings of our
 * own: under it the record array is a root, or what only a record points
 * to (ids, token lists) would count as leaked when kobled exits without
 * freeing the store. */
static void recs_watch(void *recs, size_t bytes, bool on) {
#ifdef __SANITIZE_ADDRESS__
    if (on) __lsan_register_root_region(recs, bytes);
    else __lsan_unregister_root_region(recs, bytes);
#else
    (void)recs;
    (void)bytes;
    (void)on;
#endif
}

void kb_pool_free(kb_pool_t *p, void (*clear)(void *)) {
    for (uint32_t i = 0; i < p->used; i++) {
        char *rec = (char *)p->recs + (size_t)i * p->elem;
        char **id = (char **)(rec + p->id_off);
        if (*id) {
            clear(rec);
            if (!kb_arena_owns(p->arena, *id)) free(*id);
        }
    }
    if (p->recs) {
        recs_watch(p->recs, recs_bytes(p->cap, p->elem), false);
        munmap(p->recs, recs_bytes(p->cap, p->elem));
    }
    free(p->free_slots);
    kb_dict_free(&p->ids);
    memset(p, 0, sizeof *p);
}

static void clear_cand(void *r) { kb_cand_clear(r); }
static void clear_need(void *r) { kb_need_clear(r); }
static void clear_org(void *r) { kb_org_clear(r); }
static void clear_sub(void *r) { kb_sub_clear(r); }

void kb_store_free(kb_store_t *s) {
    kb_pool_free(&s->cands[KB_VOLUNTEER], clear_cand);
    kb_pool_free(&s->cands[KB_ACTIVITY], clear_cand);
    kb_pool_free(&s->needs, clear_need);
    kb_pool_free(&s->orgs, clear_org);
    kb_pool_free(&s->subs, clear_sub);
    kb_intern_free(&s->tokens);
    kb_arena_free(&s->arena); /* after the pools, which look into it */
}

uint32_t kb_pool_find(const kb_pool_t *p, const char *id) {
    uint32_t slot;
    return kb_dict_get(&p->ids, id, strlen(id), &slot) == 0 ? slot : KB_NO_SLOT;
}

/* Grows the record array to cap records. It is a mapping of its own and
 * grows with mremap, which moves the pages rather than copying them:
 * realloc copied the whole array at every doubling, on the loop thread
 * (2.5% of its time while a benchmark inserted volunteers, tens of MB at
 * once near a million). Should mremap refuse, a new mapping and a copy
 * do. Huge pages are asked for over the whole mapping (a million
 * candidates fill ~40k small pages, and faulting each in one by one is a
 * good part of restoring them): advice on part of it would split it in
 * two, which mremap cannot move. A new mapping starts zeroed. */
static int grow_recs(kb_pool_t *p, uint32_t cap) {
    size_t old = p->recs ? recs_bytes(p->cap, p->elem) : 0, bytes = recs_bytes(cap, p->elem);
    void *n = p->recs ? mremap(p->recs, old, bytes, MREMAP_MAYMOVE) : MAP_FAILED;
    if (n == MAP_FAILED) {
        n = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (n == MAP_FAILED) return KB_ENOMEM;
        if (p->recs) {
            memcpy(n, p->recs, old);
            munmap(p->recs, old);
        }
    }
    if (p->recs) recs_watch(p->recs, old, false);
    recs_watch(n, bytes, true);
    p->recs = n;
    p->cap = cap;
#ifdef MADV_HUGEPAGE
    (void)madvise(n, bytes, MADV_HUGEPAGE);
#endif
    return 0;
}

int kb_pool_reserve(kb_pool_t *p, uint32_t n) {
    if (n > p->cap && grow_recs(p, n) < 0) return KB_ENOMEM;
    return kb_dict_reserve(&p->ids, n);
}

int kb_pool_alloc(kb_pool_t *p, const char *id, uint32_t *out) {
    size_t len = strlen(id);
    char *copy = malloc(len + 1);
    if (!copy) return KB_ENOMEM;
    memcpy(copy, id, len + 1);
    int rc = kb_pool_adopt(p, copy, len, out);
    if (rc < 0) free(copy);
    return rc;
}

int kb_pool_adopt(kb_pool_t *p, char *id, size_t len, uint32_t *out) {
    uint32_t slot;
    if (p->nfree) {
        slot = p->free_slots[p->nfree - 1];
    } else {
        if (p->used == p->cap && grow_recs(p, p->cap ? p->cap * 2 : 256) < 0) return KB_ENOMEM;
        slot = p->used;
    }
    char *rec = (char *)p->recs + (size_t)slot * p->elem;
    memset(rec, 0, p->elem);
    *(char **)(rec + p->id_off) = id;
    int rc = kb_dict_add(&p->ids, id, len, slot);
    if (rc < 0) {
        *(char **)(rec + p->id_off) = NULL;
        return rc;
    }
    /* Commit the slot only now that nothing can fail. */
    if (p->nfree) p->nfree--;
    else p->used++;
    p->live++;
    *out = slot;
    return 0;
}

void kb_pool_release(kb_pool_t *p, uint32_t slot) {
    char *rec = (char *)p->recs + (size_t)slot * p->elem;
    char **id = (char **)(rec + p->id_off);
    kb_dict_del(&p->ids, *id, strlen(*id));
    if (!kb_arena_owns(p->arena, *id)) free(*id);
    memset(rec, 0, p->elem);
    /* free_slots can always hold every slot: grown ahead on alloc would
     * complicate failure; grow here and, if that fails, just leak the slot
     * index (the record is already empty and never reused). */
    if (p->nfree == p->capfree) {
        uint32_t cap = p->capfree ? p->capfree * 2 : 64;
        uint32_t *n = realloc(p->free_slots, cap * sizeof *n);
        if (n) {
            p->free_slots = n;
            p->capfree = cap;
        }
    }
    if (p->nfree < p->capfree) p->free_slots[p->nfree++] = slot;
    p->live--;
}

void kb_toks_free(kb_toks_t *t) {
    free(t->ids);
    t->ids = NULL;
    t->n = 0;
}

void kb_cand_clear(kb_cand_t *c) {
    if (c->in_arena) {
        c->skills = c->langs = c->exp = (kb_toks_t){0};
        c->in_arena = false;
    } else {
        kb_toks_free(&c->skills);
        kb_toks_free(&c->langs);
        kb_toks_free(&c->exp);
        free(c->org_id);
        free(c->title);
    }
    c->org_id = c->title = NULL;
}

void kb_need_clear(kb_need_t *n) {
    kb_toks_free(&n->skills_required);
    kb_toks_free(&n->skills_wanted);
    kb_toks_free(&n->langs);
    kb_toks_free(&n->exp_wanted);
    free(n->requested_by);
    free(n->pairings);
    n->requested_by = NULL;
    n->pairings = NULL;
    n->npairings = n->cappairings = 0;
}

void kb_org_clear(kb_org_t *o) {
    free(o->name);
    o->name = NULL;
}

void kb_sub_clear(kb_sub_t *s) {
    free(s->org_id);
    free(s->skills_any.ids);
    s->org_id = NULL;
    s->skills_any = (kb_toks_t){0};
    s->live = false;
}

uint64_t kb_toks_mask(const kb_toks_t *t) {
    uint64_t m = 0;
    for (unsigned i = 0; i < t->n; i++)
        m |= 1ull << (t->ids[i] < KB_TOKS_MASK_BITS ? t->ids[i] : KB_TOKS_MASK_BITS);
    return m;
}

bool kb_toks_small(const kb_toks_t *t) {
    /* Sorted: the last id is the largest. */
    return t->n == 0 || t->ids[t->n - 1] < KB_TOKS_MASK_BITS;
}

void kb_cand_derive(kb_cand_t *c) {
    c->skill_mask = kb_toks_mask(&c->skills);
    c->lang_mask = kb_toks_mask(&c->langs);
    c->exp_mask = kb_toks_mask(&c->exp);
}

void kb_cand_hot(const kb_cand_t *c, kb_hot_t *h) {
    *h = (kb_hot_t){
        .x = (float)c->pos.x,
        .y = (float)c->pos.y,
        .z = (float)c->pos.z,
        .max_chord = nextafterf((float)sqrt(c->max_chord2), INFINITY),
        .skill_mask = c->skill_mask,
        .lang_mask = c->lang_mask,
        .exp_mask = c->exp_mask,
        .avail = c->avail,
        .cert_until = c->cert_until,
        .birth_year = c->birth_year,
        .age_min = c->age_min,
        .age_max = c->age_max,
        .active = c->active,
    };
}

unsigned kb_toks_common(const kb_toks_t *a, const kb_toks_t *b) {
    unsigned i = 0, j = 0, n = 0;
    while (i < a->n && j < b->n) {
        if (a->ids[i] < b->ids[j]) i++;
        else if (a->ids[i] > b->ids[j]) j++;
        else n++, i++, j++;
    }
    return n;
}

bool kb_toks_subset(const kb_toks_t *sub, const kb_toks_t *super) {
    return kb_toks_common(sub, super) == sub->n;
}

bool kb_toks_contains(const kb_toks_t *t, uint32_t id) {
    for (unsigned i = 0; i < t->n; i++)
        if (t->ids[i] == id) return true;
    return false;
}

size_t kb_store_bytes(const kb_store_t *s) {
    return kb_pool_bytes(&s->cands[0]) + kb_pool_bytes(&s->cands[1]) + kb_pool_bytes(&s->needs) +
           kb_pool_bytes(&s->orgs) + kb_pool_bytes(&s->subs) + kb_intern_bytes(&s->tokens) +
           kb_arena_bytes(&s->arena);
}

size_t kb_pool_bytes(const kb_pool_t *p) {
    return (size_t)p->cap * p->elem + p->capfree * sizeof(uint32_t) + kb_dict_bytes(&p->ids);
}

/* Days from civil date, after Howard Hinnant's public-domain algorithm. */
static int32_t days_from_civil(int y, unsigned m, unsigned d) {
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int32_t)doe - 719468;
}

/* By hand rather than with sscanf, which cost a few thousand
 * instructions on every write that carries a date. */
int kb_date_parse(const char *s, int32_t *days) {
    int v[3] = {0, 0, 0};
    static const int field_of[10] = {0, 0, 0, 0, -1, 1, 1, -1, 2, 2};
    for (int i = 0; i < 10; i++) {
        if (field_of[i] < 0) {
            if (s[i] != '-') return KB_EINVAL;
        } else if (s[i] >= '0' && s[i] <= '9') {
            v[field_of[i]] = v[field_of[i]] * 10 + (s[i] - '0');
        } else {
            return KB_EINVAL; /* also a NUL before the tenth byte */
        }
    }
    if (s[10] != '\0') return KB_EINVAL;
    int y = v[0], m = v[1], d = v[2];
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1) return KB_EINVAL;
    if (d > mdays[m - 1] + (m == 2 && leap)) return KB_EINVAL;
    *days = days_from_civil(y, (unsigned)m, (unsigned)d);
    return 0;
}

void kb_date_format(int32_t z, char out[11]) {
    z += 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    int y = (int)yoe + era * 400 + (m <= 2);
    /* Dates are validated to 1900..2200 on the way in; clamp anyway so the
     * output always fits its 11 bytes. */
    y = y < 0 ? 0 : (y > 9999 ? 9999 : y);
    /* Digit by digit: an answer about a volunteer with a certificate
     * writes one, and snprintf cost more than the rest of the date. */
    unsigned year = (unsigned)y, month = (m - 1) % 12 + 1, day = (d - 1) % 31 + 1;
    char text[11] = {(char)('0' + year / 1000),
                     (char)('0' + year / 100 % 10),
                     (char)('0' + year / 10 % 10),
                     (char)('0' + year % 10),
                     '-',
                     (char)('0' + month / 10),
                     (char)('0' + month % 10),
                     '-',
                     (char)('0' + day / 10),
                     (char)('0' + day % 10),
                     '\0'};
    memcpy(out, text, sizeof text);
}
