/* batch.c — POST /v1/assignments: the best assignment of a set of open
 * needs to candidates, as a whole (DESIGN.md "Batch assignment").
 *
 * Each need's feasible candidates come from the ordinary ranked search
 * (same hard constraints, same scores), up to limit_per_need of them; the
 * b-matching over those edges is solved exactly by assign.c. When a list
 * was cut at the limit the answer says so ("truncated", and how many in
 * counts.truncated). A cut list can still be shown not to matter: the
 * search asks for one candidate more than the limit, and if the best one
 * left out scores no more than the need's price at the optimum
 * (kb_assign_solve_priced), no left-out candidate could improve the
 * total. "optimal" is true when that holds for every cut list, i.e. the
 * pairs are the optimum over all feasible candidates, not only over the
 * lists; counts.unproven counts the cut lists for which it does not.
 *
 * Rounds. Most lists need far fewer than limit_per_need candidates to be
 * proven harmless, and a search costs more the more it must return. So
 * the lists start at FIRST_LIMIT; after each solve, the needs whose cut
 * list is not proven harmless and is below limit_per_need are searched
 * again with GROWTH times their limit (at most limit_per_need), and the
 * whole is solved again, until no list can grow. The optimum is the same
 * as with every list at limit_per_need: a list that stayed shorter was
 * proven, at the final solution, to leave out nothing that could help, so
 * a longer one would change nothing (ties aside).
 * Each solve after the first starts from the last one's assignment and
 * potentials (kb_assign_resolve, assign.c "Warm start"): only the needs
 * searched again are taken out and added back with their longer lists,
 * which is a small part of solving all of them again.
 *
 * Not freezing the API: bounded slices on the loop, then the solver on
 * the thread pool. The candidate lists need the store and the indexes,
 * which only the loop thread may read (no locks), and copying them for a
 * snapshot would cost more than the searches; so kb_batch_start builds the
 * lists a slice at a time from a uv_idle callback (needs until SLICE_NS
 * have passed, at least one), and the loop serves other requests between
 * slices. The solver needs nothing but the lists, so it runs on libuv's
 * thread pool; the answer and any proposals are made back on the loop.
 * Between slices the state may change, so the batch holds ids, never
 * slots or pointers: a need is looked up again when its slice comes (one
 * deleted or no longer open by then is "not_open"), a candidate's
 * capacity is what it had when first met, and pairs name their need and
 * candidate by id. The optimum is thus that of the lists as each slice
 * saw them (exactly the state's optimum when nothing changed meanwhile);
 * with "propose": true every pair is proposed as POST /v1/matches would,
 * which checks the hard constraints again at that moment, and a pair that
 * no longer fits is skipped and carries the error code ("proposals" counts
 * both). kb_engine_assign runs the same steps in one go (the in-process
 * benchmark). */
#include "batch.h"

#include "core.h"

#include <stdlib.h>
#include <string.h>

#include "assign.h"

#define DEFAULT_LIMIT 100
#define MAX_LIMIT     1000
#define FIRST_LIMIT   20
#define GROWTH        5
#define SLICE_NS      (5 * 1000 * 1000) /* candidate lists per loop turn: about 5 ms */

typedef struct batch_cand {
    char *id; /* owned */
    uint32_t capacity;
    uint8_t type;
} batch_cand_t;

struct kb_batch {
    bool propose;
    uint32_t limit;
    char **need_ids; /* owned, in batch order */
    uint32_t nneeds;
    uint32_t *order; /* needs in the order their lists are built (nearby needs together) */
    uint32_t *queue, nqueue, next; /* this round's needs to search, in that order */
    uint32_t *lim;                 /* per need: its list's limit this round */
    size_t *efirst;                /* per need: its list's first edge in raw */
    kb_assign_edge_t *raw;         /* every list searched, appended (later ones replace) */
    size_t nraw, capraw;
    uint32_t *count;
    uint32_t *feasible; /* per need: edges found */
    uint8_t *open;      /* per need: open when its slice came */
    batch_cand_t *cands;
    uint32_t ncands;
    size_t capcands;
    uint32_t *capacity;      /* per candidate, for the solver */
    kb_imap_t cand_index;    /* (type << 32 | slot) -> candidate, checked by id */
    kb_dict_t cand_ids[2];   /* id -> candidate, per type */
    kb_assign_edge_t *edges; /* the current lists in batch order, for the solver */
    size_t nedges, capedges;
    size_t *eoff;            /* per need: its list's first edge in edges */
    uint8_t *chosen, *spare; /* the last answer; the one before (its memory) */
    size_t capchosen, capspare;
    uint8_t *fresh;      /* per need: searched again since the last solve */
    kb_assign_t *solver; /* kept between rounds: each solve starts from the last */
    double total;
    uint32_t rounds; /* solves so far */
    double *lost;    /* per need: the best score left out of a cut list, else 0 */
    double *price;   /* per need: its price at the optimum (kb_batch_solve) */
    uint64_t start_ns;
    /* kb_batch_start's driver */
    kb_engine_t *engine;
    uv_idle_t *idle; /* own allocation: freed by its close callback */
    uv_work_t work;
    int solve_rc;
    kb_batch_done_fn done;
    void *ctx;
};

void kb_batch_free(kb_batch_t *b) {
    if (!b) return;
    for (uint32_t i = 0; b->need_ids && i < b->nneeds; i++) free(b->need_ids[i]);
    for (uint32_t j = 0; j < b->ncands; j++) free(b->cands[j].id);
    free(b->need_ids);
    free(b->order);
    free(b->queue);
    free(b->lim);
    free(b->efirst);
    free(b->raw);
    free(b->count);
    free(b->feasible);
    free(b->open);
    free(b->cands);
    free(b->capacity);
    free(b->edges);
    free(b->eoff);
    free(b->chosen);
    free(b->spare);
    free(b->fresh);
    kb_assign_free(b->solver);
    free(b->lost);
    free(b->price);
    kb_imap_free(&b->cand_index);
    kb_dict_free(&b->cand_ids[0]);
    kb_dict_free(&b->cand_ids[1]);
    free(b);
}

static int no_memory(kb_fault_t *f) {
    return kb_fault(f, KB_ENOMEM, 503, "out_of_memory", NULL, "the server is out of memory");
}

static int invalid(kb_fault_t *f, const char *field, const char *msg) {
    return kb_fault(f, KB_EINVAL, 422, "invalid_field", field, "%s", msg);
}

typedef struct scope {
    const char *municipality; /* NULL: any */
    const json_t *need_ids;   /* NULL: all open needs (in scope) */
    bool propose;
    uint32_t limit;
} scope_t;

static int read_scope(const json_t *body, scope_t *s, kb_fault_t *f) {
    *s = (scope_t){.limit = DEFAULT_LIMIT};
    if (!json_is_object(body))
        return kb_fault(f, KB_EINVAL, 422, "invalid_body", NULL, "the body must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)body, key, v) {
        if (!strcmp(key, "municipality")) {
            const char *m = json_string_value(v);
            bool ok = m && strlen(m) == 4;
            for (int i = 0; ok && i < 4; i++) ok = m[i] >= '0' && m[i] <= '9';
            if (!ok) return invalid(f, key, "must be a municipality code of exactly 4 digits");
            s->municipality = m;
        } else if (!strcmp(key, "need_ids")) {
            if (!json_is_array(v) || json_array_size(v) > 100000)
                return invalid(f, key, "must be an array of need ids");
            size_t i;
            json_t *id;
            json_array_foreach(v, i, id) {
                if (!json_is_string(id) || !kb_codec_id_valid(json_string_value(id)))
                    return invalid(f, key, "must be an array of need ids");
            }
            s->need_ids = v;
        } else if (!strcmp(key, "propose")) {
            if (!json_is_boolean(v)) return invalid(f, key, "must be true or false");
            s->propose = json_is_true(v);
        } else if (!strcmp(key, "limit_per_need")) {
            json_int_t n = json_integer_value(v);
            if (!json_is_integer(v) || n < 1 || n > MAX_LIMIT)
                return invalid(f, key, "must be an integer 1..1000");
            s->limit = (uint32_t)n;
        } else {
            return kb_fault(f, KB_EINVAL, 422, "unknown_field", key, "unknown field");
        }
    }
    if (s->municipality && s->need_ids)
        return invalid(f, "need_ids", "give municipality or need_ids, not both");
    return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap * 2 : 64;
    while (n < need) n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q) return KB_ENOMEM;
    *p = q;
    *cap = n;
    return 0;
}

/* The ids of the needs in scope, in slot order (or in the order need_ids
 * lists them, without repeats); unknown ids are a 404. */
static int pick_needs(kb_engine_t *e, const scope_t *s, kb_batch_t *b, kb_fault_t *f) {
    const kb_pool_t *pool = &e->store.needs;
    size_t cap = s->need_ids ? json_array_size(s->need_ids) : pool->used;
    b->need_ids = calloc(cap ? cap : 1, sizeof *b->need_ids);
    if (!b->need_ids) return no_memory(f);
    if (s->need_ids) {
        kb_imap_t seen;
        kb_imap_init(&seen);
        size_t i;
        json_t *id;
        int rc = 0;
        json_array_foreach(s->need_ids, i, id) {
            uint32_t slot = kb_pool_find(pool, json_string_value(id)), dummy;
            if (slot == KB_NO_SLOT) {
                rc = kb_fault(f, KB_ENOTFOUND, 404, "not_found", NULL,
                              "need_ids[%zu] names no need", i);
                break;
            }
            if (kb_imap_get(&seen, slot, &dummy) == 0) continue;
            if (kb_imap_put(&seen, slot, 0) < 0 ||
                !(b->need_ids[b->nneeds] = strdup(json_string_value(id)))) {
                rc = no_memory(f);
                break;
            }
            b->nneeds++;
        }
        kb_imap_free(&seen);
        return rc;
    }
    for (uint32_t slot = 0; slot < pool->used; slot++) {
        const kb_need_t *n = kb_store_need(&e->store, slot);
        if (!n->live || n->state != KB_NEED_OPEN) continue;
        if (s->municipality && strcmp(n->municipality, s->municipality)) continue;
        if (!(b->need_ids[b->nneeds] = strdup(n->id))) return no_memory(f);
        b->nneeds++;
    }
    return 0;
}

/* x's bits spread to the even bits of the result. */
static uint64_t spread_bits(uint32_t x) {
    uint64_t v = x;
    v = (v | v << 16) & 0x0000FFFF0000FFFFull;
    v = (v | v << 8) & 0x00FF00FF00FF00FFull;
    v = (v | v << 4) & 0x0F0F0F0F0F0F0F0Full;
    v = (v | v << 2) & 0x3333333333333333ull;
    v = (v | v << 1) & 0x5555555555555555ull;
    return v;
}

typedef struct near_key {
    uint64_t key;
    uint32_t need;
} near_key_t;

static int cmp_near(const void *a, const void *b) {
    const near_key_t *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return (x->need > y->need) - (x->need < y->need);
}

/* The order in which the lists are built: by a Z-order key of squares of
 * about 4 km, so that consecutive searches read the same index cells and
 * candidate records while they are still in the cache. It changes no
 * result: the edges go to the solver in batch order (solve_edges). */
static int order_needs(kb_engine_t *e, kb_batch_t *b) {
    near_key_t *k = malloc((b->nneeds ? b->nneeds : 1) * sizeof *k);
    b->order = malloc((b->nneeds ? b->nneeds : 1) * sizeof *b->order);
    if (!k || !b->order) {
        free(k);
        return KB_ENOMEM;
    }
    for (uint32_t i = 0; i < b->nneeds; i++) {
        const kb_need_t *n =
            kb_store_need(&e->store, kb_pool_find(&e->store.needs, b->need_ids[i]));
        uint32_t y = (uint32_t)((n->pos.lat + 90.0) / 0.04),
                 x = (uint32_t)((n->pos.lon + 180.0) / 0.08);
        k[i] = (near_key_t){spread_bits(y) << 1 | spread_bits(x), i};
    }
    qsort(k, b->nneeds, sizeof *k, cmp_near);
    for (uint32_t i = 0; i < b->nneeds; i++) b->order[i] = k[i].need;
    free(k);
    return 0;
}

static const char *cand_id(void *ctx, uint32_t idx) { return ((kb_batch_t *)ctx)->cands[idx].id; }

int kb_batch_new(kb_engine_t *e, const json_t *body, kb_batch_t **out, kb_fault_t *f) {
    uint64_t start_ns = uv_hrtime();
    scope_t s;
    int rc = read_scope(body, &s, f);
    if (rc < 0) return rc;
    kb_batch_t *b = calloc(1, sizeof *b);
    if (!b) return no_memory(f);
    kb_imap_init(&b->cand_index);
    kb_dict_init(&b->cand_ids[0], cand_id, b);
    kb_dict_init(&b->cand_ids[1], cand_id, b);
    b->propose = s.propose;
    b->limit = s.limit;
    b->start_ns = start_ns;
    if ((rc = pick_needs(e, &s, b, f)) < 0) {
        kb_batch_free(b);
        return rc;
    }
    size_t n = b->nneeds ? b->nneeds : 1;
    b->count = calloc(n, sizeof *b->count);
    b->feasible = calloc(n, sizeof *b->feasible);
    b->open = calloc(n, sizeof *b->open);
    b->lost = calloc(n, sizeof *b->lost);
    b->price = calloc(n, sizeof *b->price);
    b->queue = malloc(n * sizeof *b->queue);
    b->lim = malloc(n * sizeof *b->lim);
    b->efirst = calloc(n, sizeof *b->efirst);
    b->eoff = calloc(n, sizeof *b->eoff);
    b->fresh = calloc(n, sizeof *b->fresh);
    if (!b->count || !b->feasible || !b->open || !b->lost || !b->price || !b->queue || !b->lim ||
        !b->efirst || !b->eoff || !b->fresh || kb_assign_new(&b->solver) < 0 ||
        order_needs(e, b) < 0) {
        kb_batch_free(b);
        return no_memory(f);
    }
    for (uint32_t k = 0; k < b->nneeds; k++) {
        b->queue[k] = b->order[k];
        b->lim[k] = b->limit < FIRST_LIMIT ? b->limit : FIRST_LIMIT;
    }
    b->nqueue = b->nneeds;
    *out = b;
    return 0;
}

/* The index of candidate c (in slot), added with its remaining capacity
 * when first met. The map by slot is the fast way; between slices a slot
 * may be freed and reused by another candidate (told apart by id), or a
 * candidate deleted and created again in another slot (found by id, so it
 * is still one candidate with one capacity). */
static int cand_of(kb_batch_t *b, const kb_cand_t *c, int type, uint32_t slot, uint32_t *idx) {
    uint64_t key = (uint64_t)type << 32 | slot;
    if (kb_imap_get(&b->cand_index, key, idx) == 0 && !strcmp(b->cands[*idx].id, c->id)) return 0;
    size_t len = strlen(c->id);
    if (kb_dict_get(&b->cand_ids[type], c->id, len, idx) == 0)
        return kb_imap_put(&b->cand_index, key, *idx) < 0 ? KB_ENOMEM : 0;
    if (grow((void **)&b->cands, &b->capcands, b->ncands + 1, sizeof *b->cands) < 0)
        return KB_ENOMEM;
    char *id = strdup(c->id);
    if (!id) return KB_ENOMEM;
    b->cands[b->ncands] =
        (batch_cand_t){id, c->capacity > c->load ? c->capacity - c->load : 0, (uint8_t)type};
    if (kb_imap_put(&b->cand_index, key, b->ncands) < 0 ||
        kb_dict_add(&b->cand_ids[type], id, len, b->ncands) < 0) {
        free(id);
        return KB_ENOMEM;
    }
    *idx = b->ncands++;
    return 0;
}

/* Need k's feasible candidates with their scores, from the state now, up
 * to its limit this round; they replace its list of an earlier round. */
static int need_edges(kb_engine_t *e, kb_batch_t *b, uint32_t k) {
    b->open[k] = 0;
    b->count[k] = b->feasible[k] = 0;
    b->lost[k] = 0.0;
    b->efirst[k] = b->nraw;
    uint32_t limit = b->lim[k], slot = kb_pool_find(&e->store.needs, b->need_ids[k]);
    if (slot == KB_NO_SLOT) return 0; /* deleted since: not_open */
    const kb_need_t *n = kb_store_need(&e->store, slot);
    if (n->state != KB_NEED_OPEN) return 0;
    b->open[k] = 1;
    b->count[k] = n->count > n->accepted ? (uint32_t)(n->count - n->accepted) : 0;
    const kb_index_t *ix[2] = {&e->cand_ix[KB_VOLUNTEER], &e->cand_ix[KB_ACTIVITY]};
    kb_query_t q;
    kb_match_result_t r;
    if (kb_engine_query(e, n, &q) < 0 ||
        kb_match_need(&e->matcher, &e->store, ix, &q, limit + 1, false, &r) < 0)
        return KB_ENOMEM;
    if (r.n > limit) {
        b->lost[k] = r.hits[limit].score;
        r.n = limit;
    }
    if (grow((void **)&b->raw, &b->capraw, b->nraw + r.n, sizeof *b->raw) < 0) return KB_ENOMEM;
    for (uint32_t h = 0; h < r.n; h++) {
        uint32_t idx;
        const kb_cand_t *c = kb_store_cand(&e->store, r.hits[h].type, r.hits[h].slot);
        if (cand_of(b, c, r.hits[h].type, r.hits[h].slot, &idx) < 0) return KB_ENOMEM;
        b->raw[b->nraw++] = (kb_assign_edge_t){k, idx, r.hits[h].score};
        b->feasible[k]++;
    }
    return 0;
}

int kb_batch_step(kb_engine_t *e, kb_batch_t *b, uint64_t budget_ns, kb_fault_t *f) {
    uint64_t t0 = uv_hrtime();
    do {
        if (b->next == b->nqueue) return 0;
        if (need_edges(e, b, b->queue[b->next++]) < 0) return no_memory(f);
    } while (uv_hrtime() - t0 < budget_ns);
    return b->next < b->nqueue;
}

/* The current lists in batch order of their needs (each need's best
 * first), whatever order or round they were searched in; chosen carries
 * the last solve's answer over for the lists not searched again (the same
 * edges, moved), as the warm start wants it. The arrays are kept from
 * round to round: fresh memory for 400k edges each round cost more than
 * copying them. */
static int solve_edges(kb_batch_t *b) {
    size_t n = 0;
    for (uint32_t k = 0; k < b->nneeds; k++) n += b->feasible[k];
    if (grow((void **)&b->edges, &b->capedges, n ? n : 1, sizeof *b->edges) < 0 ||
        grow((void **)&b->spare, &b->capspare, n ? n : 1, 1) < 0)
        return KB_ENOMEM;
    memset(b->spare, 0, n);
    n = 0;
    for (uint32_t k = 0; k < b->nneeds; k++) {
        memcpy(b->edges + n, b->raw + b->efirst[k], b->feasible[k] * sizeof *b->edges);
        if (b->rounds > 0 && !b->fresh[k])
            memcpy(b->spare + n, b->chosen + b->eoff[k], b->feasible[k]);
        b->eoff[k] = n;
        n += b->feasible[k];
    }
    uint8_t *last = b->chosen;
    size_t caplast = b->capchosen;
    b->chosen = b->spare;
    b->capchosen = b->capspare;
    b->spare = last;
    b->capspare = caplast;
    b->nedges = n;
    return 0;
}

int kb_batch_solve(kb_batch_t *b) {
    uint32_t *capacity = realloc(b->capacity, (b->ncands ? b->ncands : 1) * sizeof *capacity);
    if (!capacity) return KB_ENOMEM;
    b->capacity = capacity;
    for (uint32_t j = 0; j < b->ncands; j++) b->capacity[j] = b->cands[j].capacity;
    if (solve_edges(b) < 0) return KB_ENOMEM;
    return kb_assign_resolve(b->solver, b->nneeds, b->count, b->ncands, b->capacity, b->edges,
                             b->nedges, b->rounds > 0 ? b->fresh : NULL, b->chosen, &b->total,
                             b->price);
}

/* A cut list not shown harmless: what it left out might help. Scores are
 * at most 1, so KB_ASSIGN_EPS is the solver's tolerance. */
static bool unproven(const kb_batch_t *b, uint32_t k) {
    return b->lost[k] > b->price[k] + KB_ASSIGN_EPS;
}

int kb_batch_more(kb_batch_t *b) {
    b->nqueue = b->next = 0;
    memset(b->fresh, 0, b->nneeds);
    for (uint32_t i = 0; i < b->nneeds; i++) {
        uint32_t k = b->order[i];
        if (!unproven(b, k) || b->lim[k] >= b->limit) continue;
        b->lim[k] = b->lim[k] > b->limit / GROWTH ? b->limit : b->lim[k] * GROWTH;
        b->queue[b->nqueue++] = k;
        b->fresh[k] = 1;
    }
    b->rounds++;
    return b->nqueue > 0;
}

void kb_batch_instance(const kb_batch_t *b, uint32_t *nneeds, uint32_t *ncands,
                       const kb_assign_edge_t **edges, size_t *nedges) {
    *nneeds = b->nneeds;
    *ncands = b->ncands;
    *edges = b->edges;
    *nedges = b->nedges;
}

/* Proposes one chosen pair as POST /v1/matches would; its id goes into
 * the pair's answer, or the error code if it no longer fits. */
static int propose_pair(kb_engine_t *e, const char *need_id, const batch_cand_t *c, json_t *pair,
                        kb_fault_t *f) {
    json_t *body = json_pack("{s:s, s:{s:s, s:s}}", "need_id", need_id, "candidate", "type",
                             c->type == KB_VOLUNTEER ? "volunteer" : "activity", "id", c->id),
           *out = NULL;
    if (!body) return no_memory(f);
    int rc = kb_engine_propose(e, body, &out, f);
    json_decref(body);
    if (rc == 0) json_object_set(pair, "match_id", json_object_get(out, "id"));
    json_decref(out);
    return rc;
}

/* The answer's pairs, making the proposals on the way; served counts the
 * pairs of each need. */
static int answer_pairs(kb_engine_t *e, const kb_batch_t *b, uint32_t *served, json_t *pairs,
                        uint32_t proposals[2]) {
    for (size_t k = 0; k < b->nedges; k++) {
        if (!b->chosen[k]) continue;
        const kb_assign_edge_t *ed = &b->edges[k];
        const batch_cand_t *c = &b->cands[ed->cand];
        served[ed->need]++;
        json_t *pair =
            json_pack("{s:s, s:{s:s, s:s}, s:f}", "need_id", b->need_ids[ed->need], "candidate",
                      "type", c->type == KB_VOLUNTEER ? "volunteer" : "activity", "id", c->id,
                      "score", kb_round(ed->score, 4));
        if (!pair || json_array_append_new(pairs, pair) < 0) return KB_ENOMEM;
        /* A proposal per pair, as POST /v1/matches would make it (journaled,
         * with its event). One that fails (it no longer fits, or the need
         * or candidate is gone) says why and the rest go on. */
        if (!b->propose) continue;
        kb_fault_t pf;
        if (propose_pair(e, b->need_ids[ed->need], c, pair, &pf) < 0) {
            json_object_set_new(pair, "error", json_string(pf.code));
            proposals[1]++;
        } else {
            proposals[0]++;
        }
    }
    return 0;
}

int kb_batch_finish(kb_engine_t *e, kb_batch_t *b, json_t **out, kb_fault_t *f) {
    json_t *pairs = json_array(), *unassigned = json_array();
    uint32_t *served = calloc(b->nneeds ? b->nneeds : 1, sizeof *served);
    uint32_t proposals[2] = {0, 0}; /* made, skipped */
    int rc = no_memory(f);
    if (!pairs || !unassigned || !served || answer_pairs(e, b, served, pairs, proposals) < 0)
        goto done;
    uint32_t hard = 0, hard_served = 0, cut = 0, not_proven = 0;
    for (uint32_t k = 0; k < b->nneeds; k++) {
        cut += b->lost[k] > 0.0;
        not_proven += unproven(b, k);
        if (b->feasible[k] >= 1 && b->feasible[k] <= 2 && b->lost[k] == 0.0) { /* not cut */
            hard++;
            hard_served += served[k] > 0;
        }
        if (served[k]) continue;
        const char *why = !b->open[k]           ? "not_open"
                          : b->feasible[k] == 0 ? "no_feasible_candidate"
                                                : "capacity_exhausted";
        if (json_array_append_new(
                unassigned, json_pack("{s:s, s:s}", "need_id", b->need_ids[k], "reason", why)) < 0)
            goto done;
    }
    *out = json_pack(
        "{s:O, s:f, s:O, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}, s:{s:I, s:I}, s:b, s:b, s:I, s:f}",
        "pairs", pairs, "total_score", kb_round(b->total, 4), "unassigned", unassigned, "counts",
        "needs", (json_int_t)b->nneeds, "candidates", (json_int_t)b->ncands, "edges",
        (json_int_t)b->nedges, "pairs", (json_int_t)json_array_size(pairs), "truncated",
        (json_int_t)cut, "unproven", (json_int_t)not_proven, "rounds", (json_int_t)b->rounds,
        "hard_to_reach", "needs", (json_int_t)hard, "served", (json_int_t)hard_served, "truncated",
        cut > 0, "optimal", not_proven == 0, "limit_per_need", (json_int_t)b->limit, "took_ms",
        (double)(uv_hrtime() - b->start_ns) / 1e6);
    if (*out && b->propose &&
        json_object_set_new(*out, "proposals",
                            json_pack("{s:I, s:I}", "made", (json_int_t)proposals[0], "skipped",
                                      (json_int_t)proposals[1])) < 0) {
        json_decref(*out);
        *out = NULL;
    }
    rc = *out ? 0 : no_memory(f);
done:
    json_decref(pairs);
    json_decref(unassigned);
    free(served);
    return rc;
}

int kb_engine_assign(kb_engine_t *e, const json_t *body, json_t **out, kb_fault_t *f) {
    kb_batch_t *b;
    int rc = kb_batch_new(e, body, &b, f);
    if (rc < 0) return rc;
    do {
        while ((rc = kb_batch_step(e, b, UINT64_MAX, f)) > 0) continue;
        if (rc == 0 && kb_batch_solve(b) < 0) rc = no_memory(f);
    } while (rc == 0 && kb_batch_more(b));
    if (rc == 0) rc = kb_batch_finish(e, b, out, f);
    kb_batch_free(b);
    return rc;
}

/* ---- on the loop: slices, then the solver on the thread pool ---- */

static void on_idle_closed(uv_handle_t *h) { free(h); }

/* Answers and frees the batch. */
static void batch_done(kb_batch_t *b, int rc, json_t *out, const kb_fault_t *f) {
    if (!uv_is_closing((uv_handle_t *)b->idle)) uv_close((uv_handle_t *)b->idle, on_idle_closed);
    b->done(b->ctx, rc, out, f);
    kb_batch_free(b);
}

static void solve_work(uv_work_t *w) {
    kb_batch_t *b = w->data;
    b->solve_rc = kb_batch_solve(b);
}

static void on_slice(uv_idle_t *h);

static void solve_done(uv_work_t *w, int status) {
    kb_batch_t *b = w->data;
    kb_fault_t f;
    json_t *out = NULL;
    if (status == 0 && b->solve_rc == 0 && kb_batch_more(b)) {
        /* Another round of searches, in slices again. */
        if (uv_idle_start(b->idle, on_slice) == 0) return;
        b->solve_rc = KB_ENOMEM;
    }
    int rc =
        status < 0 || b->solve_rc < 0 ? no_memory(&f) : kb_batch_finish(b->engine, b, &out, &f);
    batch_done(b, rc, out, &f);
}

static void on_slice(uv_idle_t *h) {
    kb_batch_t *b = h->data;
    kb_fault_t f;
    int rc = kb_batch_step(b->engine, b, SLICE_NS, &f);
    if (rc > 0) return;
    uv_idle_stop(h);
    if (rc == 0) {
        b->work.data = b;
        if (uv_queue_work(h->loop, &b->work, solve_work, solve_done) == 0) return;
        rc = no_memory(&f);
    }
    batch_done(b, rc, NULL, &f);
}

int kb_batch_start(uv_loop_t *loop, kb_engine_t *e, const json_t *body, kb_batch_done_fn done,
                   void *ctx, kb_fault_t *f) {
    kb_batch_t *b;
    int rc = kb_batch_new(e, body, &b, f);
    if (rc < 0) return rc;
    b->engine = e;
    b->done = done;
    b->ctx = ctx;
    b->idle = malloc(sizeof *b->idle);
    if (!b->idle) {
        kb_batch_free(b);
        return no_memory(f);
    }
    b->idle->data = b;
    if (uv_idle_init(loop, b->idle) < 0) {
        free(b->idle);
        kb_batch_free(b);
        return no_memory(f);
    }
    if (uv_idle_start(b->idle, on_slice) < 0) {
        uv_close((uv_handle_t *)b->idle, on_idle_closed);
        kb_batch_free(b);
        return no_memory(f);
    }
    return 0;
}
