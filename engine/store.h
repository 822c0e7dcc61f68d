/* store.h — the entities koble holds, in flat arrays indexed by slot.
 *
 * Volunteers and activities are both *candidates* (kb_cand_t): they share
 * every field matching reads, so one index, one scorer and one top-k loop
 * serve both. Needs and organisations have their own pools. A slot is
 * stable while the entity lives; deleted slots go on a free list and are
 * reused. Ids map to slots through a kb_dict per pool.
 *
 * Token lists (skills, languages, experience) are interned ids, each group
 * sorted ascending so set operations are merges.
 *
 * Ownership: the store owns every record and every string and token array
 * hanging off it. kb_store_put_* take a fully built record and take over
 * its heap members on success (on failure they stay with the caller).
 *
 * Candidates restored from a snapshot are the exception: their id, org id,
 * title and token lists lie in the store's arena (arena.h), a few large
 * blocks instead of five mallocs per candidate, and such a record has
 * in_arena set. Those members are never freed one by one: kb_cand_clear
 * and the pool (for ids, by kb_arena_owns) just drop them, and the arena
 * goes with kb_store_free. A restored candidate that is later replaced
 * takes heap members like any other; what it had in the arena stays
 * there, unused, until the store is freed (at most the snapshot's size). */
#ifndef KB_STORE_H
#define KB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "dict.h"
#include "geo.h"
#include "intern.h"
#include "slots.h"

#define KB_ID_MAX  64
#define KB_NO_DATE INT32_MIN /* a date field that is absent */
#define KB_NO_SLOT UINT32_MAX

typedef enum kb_cand_type { KB_VOLUNTEER = 0, KB_ACTIVITY = 1 } kb_cand_type_t;

/* A token list: n ids, sorted ascending, owned by the record. */
typedef struct kb_toks {
    uint32_t *ids;
    uint16_t n;
} kb_toks_t;

/* Fields in the order matching reads them, so a rejection touches one or
 * two adjacent cache lines of this record and nothing else. */
typedef struct kb_cand {
    kb_point_t pos;
    double max_chord2;   /* squared chord of max_km (4.0, the diameter, if none) */
    uint64_t skill_mask; /* kb_toks_mask()s: set tests without leaving */
    uint64_t lang_mask;  /* the record (see kb_toks_mask) */
    uint64_t exp_mask;
    kb_slots_t avail;         /* 0 = lists no availability */
    uint16_t capacity;        /* 1..1000 */
    uint16_t load;            /* accepted matches holding capacity */
    int32_t cert_until;       /* child certificate valid through this day
                                 (days since 1970-01-01) or KB_NO_DATE */
    int16_t birth_year;       /* 0 = not given; volunteers only */
    uint8_t age_min, age_max; /* activities: person age range (0..120) */
    uint8_t type;             /* kb_cand_type_t */
    bool active;
    bool live;     /* slot in use */
    bool in_arena; /* id, org_id, title and token lists lie in the store's
                      arena: never free() them (store.h, top) */
    float max_km;  /* volunteer's own travel limit; 0 for activities */
    kb_toks_t skills, langs, exp;
    char *id, *org_id;
    char *title; /* activities only */
} kb_cand_t;

/* The part of a candidate that matching reads first, copied next to its
 * entry in an index cell (index.h) so that most candidates are turned down
 * from a short, cell-local record instead of a read of the kb_cand_t
 * somewhere in a large pool. It only ever rejects what the full record
 * would reject too (score.c's kb_score_hot), so the position is rounded to
 * floats and the candidate's own limit rounded up. An index entry is
 * rewritten whenever the candidate is (every replace re-indexes it); the
 * load, which changes without a replace, is not here. */
typedef struct kb_hot {
    _Alignas(64) uint64_t skill_mask; /* one cache line each, in an array too */
    uint64_t lang_mask, exp_mask;
    float x, y, z;   /* unit vector, each within KB_HOT_POS_ERR of the record's */
    float max_chord; /* chord of the candidate's own limit, rounded up (2: none) */
    kb_slots_t avail;
    int32_t cert_until;
    int16_t birth_year;
    uint8_t age_min, age_max;
    bool active;
    uint32_t slot; /* set by the index: members[pos], so a passing candidate costs no other read */
} kb_hot_t;

_Static_assert(sizeof(kb_hot_t) == 64, "a hot record is one cache line");

/* Bound on the distance between the float unit vector of a kb_hot_t and
 * the record's: three components each rounded by at most 2^-25. */
#define KB_HOT_POS_ERR 1e-7

typedef enum kb_need_kind {
    KB_KIND_MENTOR,
    KB_KIND_VISIT,
    KB_KIND_ACTIVITY,
    KB_KIND_ANY
} kb_need_kind_t;
typedef enum kb_need_state { KB_NEED_OPEN, KB_NEED_MATCHED, KB_NEED_CLOSED } kb_need_state_t;

typedef struct kb_need {
    kb_point_t pos;
    float max_km; /* default 10 */
    kb_slots_t avail;
    uint8_t kind;       /* kb_need_kind_t */
    uint8_t state;      /* kb_need_state_t; set by the server */
    uint8_t person_age; /* 0..120 */
    uint8_t urgency;    /* 1..5, default 1 */
    bool has_age_gap;
    int8_t gap_min, gap_max; /* years candidate is older than the person */
    uint16_t count;          /* helpers wanted, 1..100, default 1 */
    uint16_t accepted;       /* accepted matches right now */
    bool live;
    char municipality[8]; /* 4 digits */
    kb_toks_t skills_required, skills_wanted, langs, exp_wanted;
    char *id, *requested_by;
    int64_t created_at_ms; /* set by the server */
    uint32_t *pairings;    /* slots of this need's matches, any state */
    uint32_t npairings, cappairings;
} kb_need_t;

typedef enum kb_org_kind {
    KB_ORG_MUNICIPALITY,
    KB_ORG_VOLUNTEER_ORG,
    KB_ORG_COMPANY,
    KB_ORG_CITIZEN_GROUP
} kb_org_kind_t;

typedef struct kb_org {
    kb_point_t pos;
    bool has_pos;
    uint8_t kind; /* kb_org_kind_t */
    bool live;
    char *id, *name;
} kb_org_t;

/* Municipality codes, 4 digits as a number (0101 -> 101), sorted. */
#define KB_MUNIS_MAX 100
typedef struct kb_munis {
    uint16_t n;
    uint16_t codes[KB_MUNIS_MAX];
} kb_munis_t;

/* An organisation's standing interest in new needs (DESIGN.md "Redis"). */
typedef struct kb_sub {
    kb_point_t area_pos; /* derived from area_lat/lon */
    double area_lat, area_lon, area_km;
    bool has_area;
    uint8_t kinds; /* bit per kb_need_kind_t; 0: every kind */
    bool live;
    kb_toks_t skills_any;
    kb_munis_t munis;
    char *id, *org_id;
} kb_sub_t;

/* A pool of records of one size with a free list and an id dictionary. */
typedef struct kb_pool {
    void *recs; /* array of elem-sized records */
    size_t elem;
    size_t id_off;      /* offsetof the record's char *id */
    uint32_t cap, used; /* used = high-water mark of slots */
    uint32_t live;      /* live records */
    uint32_t *free_slots;
    uint32_t nfree, capfree;
    kb_dict_t ids;
    const kb_arena_t *arena; /* ids that lie in it are not freed; NULL: none */
} kb_pool_t;

typedef struct kb_store {
    kb_pool_t cands[2]; /* by kb_cand_type_t */
    kb_pool_t needs, orgs, subs;
    kb_intern_t tokens; /* skills, experience tags and languages */
    kb_arena_t arena;   /* members of restored candidates (top of this file) */
} kb_store_t;

int kb_store_init(kb_store_t *s);
void kb_store_free(kb_store_t *s);

static inline kb_cand_t *kb_store_cand(const kb_store_t *s, int type, uint32_t slot) {
    return (kb_cand_t *)s->cands[type].recs + slot;
}
static inline kb_sub_t *kb_store_sub(const kb_store_t *s, uint32_t slot) {
    return (kb_sub_t *)s->subs.recs + slot;
}
static inline kb_need_t *kb_store_need(const kb_store_t *s, uint32_t slot) {
    return (kb_need_t *)s->needs.recs + slot;
}
static inline kb_org_t *kb_store_org(const kb_store_t *s, uint32_t slot) {
    return (kb_org_t *)s->orgs.recs + slot;
}

/* A pool of elem-sized records whose char *id sits at id_off. */
void kb_pool_init(kb_pool_t *p, size_t elem, size_t id_off);
/* Frees every live record (clear releases its members other than id). */
void kb_pool_free(kb_pool_t *p, void (*clear)(void *));
/* Slot of id in pool, or KB_NO_SLOT. */
uint32_t kb_pool_find(const kb_pool_t *p, const char *id);
/* Reserves a slot for a new record with id (the record is zeroed, live,
 * and its id already set to a copy). 0 and *slot, KB_ECONFLICT if id is
 * in the pool already, or KB_ENOMEM. */
int kb_pool_alloc(kb_pool_t *p, const char *id, uint32_t *slot);
/* As kb_pool_alloc, but the record takes id itself, not a copy: a string
 * of len bytes in p->arena (or on the heap, which then belongs to the
 * pool). On failure id stays with the caller. */
int kb_pool_adopt(kb_pool_t *p, char *id, size_t len, uint32_t *slot);
/* Makes room for n records in all without growing again (restoring a
 * snapshot that says how many it holds). 0 or KB_ENOMEM. */
int kb_pool_reserve(kb_pool_t *p, uint32_t n);
/* Frees slot: the caller has already released the record's members
 * other than id (kb_*_clear below). */
void kb_pool_release(kb_pool_t *p, uint32_t slot);

/* Release the heap members of a record except id (which the pool owns);
 * a candidate's members in the arena are only dropped. */
void kb_cand_clear(kb_cand_t *c);
void kb_need_clear(kb_need_t *n);
void kb_org_clear(kb_org_t *o);
void kb_sub_clear(kb_sub_t *s);

void kb_toks_free(kb_toks_t *t);
/* Bit id for each id < 63 of t, and bit 63 for any larger id. For a list
 * whose ids are all below 63 (kb_toks_small) — any realistic vocabulary of
 * skills — the mask is the set itself: subset, overlap and the size of an
 * intersection with it are one AND and a popcount. */
#define KB_TOKS_MASK_BITS 63
uint64_t kb_toks_mask(const kb_toks_t *t);
bool kb_toks_small(const kb_toks_t *t);
/* Sets the fields derived from others: the token masks. */
void kb_cand_derive(kb_cand_t *c);
/* The hot copy of c. */
void kb_cand_hot(const kb_cand_t *c, kb_hot_t *h);
/* Number of ids in both sorted lists. */
unsigned kb_toks_common(const kb_toks_t *a, const kb_toks_t *b);
/* 1 if every id of sub is in super. */
bool kb_toks_subset(const kb_toks_t *sub, const kb_toks_t *super);
bool kb_toks_contains(const kb_toks_t *t, uint32_t id);

size_t kb_pool_bytes(const kb_pool_t *p);
/* Every pool's bytes, the tokens' and the arena's. */
size_t kb_store_bytes(const kb_store_t *s);

/* Days since 1970-01-01 of an ISO date "YYYY-MM-DD"; KB_EINVAL unless it is
 * a real calendar date between 1900 and 2200. */
int kb_date_parse(const char *iso, int32_t *days);
/* The days it reads: 1900-01-01 and 2200-12-31. */
#define KB_DATE_MIN (-25567)
#define KB_DATE_MAX 84370
/* Writes "YYYY-MM-DD" (11 bytes with NUL) for days. */
void kb_date_format(int32_t days, char out[11]);

#endif
