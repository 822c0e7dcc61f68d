/* batch.c — POST /v1/assignments: the best assignment of a set of open
 * needs to candidates, as a whole (DESIGN.md "Batch assignment").
 *
 * Each need's feasible candidates come from the ordinary ranked search
 * (same hard constraints, same scores), up to limit_per_need of them; the
 * b-matching over those edges is solved exactly by assign.c. When a list
 * was cut at the limit the answer says so ("truncated"): the optimum is
 * then over the candidates considered. The batch runs on the loop thread,
 * in one go: at the default limit a municipality's needs take a few
 * milliseconds, but a whole-country batch blocks the API while it runs
 * (running it off the loop is still to do). */
#include "core.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "assign.h"

#define DEFAULT_LIMIT 100
#define MAX_LIMIT     1000

typedef struct batch {
    uint32_t *needs; /* need slots in the batch */
    uint32_t nneeds;
    uint32_t *count;
    uint64_t *cands; /* (type << 32 | slot) per candidate index */
    uint32_t *capacity;
    uint32_t ncands, capcands;
    kb_assign_edge_t *edges;
    size_t nedges, capedges;
    uint32_t *feasible; /* per need: edges found */
    kb_imap_t cand_index;
    bool truncated;
} batch_t;

static void batch_free(batch_t *b) {
    free(b->needs);
    free(b->count);
    free(b->cands);
    free(b->capacity);
    free(b->edges);
    free(b->feasible);
    kb_imap_free(&b->cand_index);
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

/* The needs in scope, in slot order (or in the order need_ids lists
 * them); unknown ids are a 404. */
static int pick_needs(kb_engine_t *e, const scope_t *s, batch_t *b, kb_fault_t *f) {
    const kb_pool_t *pool = &e->store.needs;
    size_t cap = s->need_ids ? json_array_size(s->need_ids) : pool->used;
    b->needs = calloc(cap ? cap : 1, sizeof *b->needs);
    if (!b->needs) return no_memory(f);
    if (s->need_ids) {
        size_t i;
        json_t *id;
        json_array_foreach(s->need_ids, i, id) {
            uint32_t slot = kb_pool_find(pool, json_string_value(id));
            if (slot == KB_NO_SLOT)
                return kb_fault(f, KB_ENOTFOUND, 404, "not_found", NULL,
                                "need_ids[%zu] names no need", i);
            bool dup = false;
            for (uint32_t k = 0; k < b->nneeds && !dup; k++) dup = b->needs[k] == slot;
            if (!dup) b->needs[b->nneeds++] = slot;
        }
        return 0;
    }
    for (uint32_t slot = 0; slot < pool->used; slot++) {
        const kb_need_t *n = kb_store_need(&e->store, slot);
        if (!n->live || n->state != KB_NEED_OPEN) continue;
        if (s->municipality && strcmp(n->municipality, s->municipality)) continue;
        b->needs[b->nneeds++] = slot;
    }
    return 0;
}

/* The candidate index of (type, slot), added with its remaining capacity. */
static int cand_of(kb_engine_t *e, batch_t *b, int type, uint32_t slot, uint32_t *idx) {
    uint64_t key = (uint64_t)type << 32 | slot;
    if (kb_imap_get(&b->cand_index, key, idx) == 0) return 0;
    size_t cap = b->capcands;
    if (grow((void **)&b->cands, &cap, b->ncands + 1, sizeof *b->cands) < 0) return KB_ENOMEM;
    cap = b->capcands;
    if (grow((void **)&b->capacity, &cap, b->ncands + 1, sizeof *b->capacity) < 0) return KB_ENOMEM;
    b->capcands = (uint32_t)cap;
    const kb_cand_t *c = kb_store_cand(&e->store, type, slot);
    b->cands[b->ncands] = key;
    b->capacity[b->ncands] = c->capacity > c->load ? c->capacity - c->load : 0;
    if (kb_imap_put(&b->cand_index, key, b->ncands) < 0) return KB_ENOMEM;
    *idx = b->ncands++;
    return 0;
}

/* The edges: each need's feasible candidates with their scores. */
static int find_edges(kb_engine_t *e, const scope_t *s, batch_t *b, kb_fault_t *f) {
    b->count = calloc(b->nneeds ? b->nneeds : 1, sizeof *b->count);
    b->feasible = calloc(b->nneeds ? b->nneeds : 1, sizeof *b->feasible);
    if (!b->count || !b->feasible) return no_memory(f);
    const kb_index_t *ix[2] = {&e->cand_ix[KB_VOLUNTEER], &e->cand_ix[KB_ACTIVITY]};
    for (uint32_t i = 0; i < b->nneeds; i++) {
        const kb_need_t *n = kb_store_need(&e->store, b->needs[i]);
        if (n->state != KB_NEED_OPEN) continue; /* from need_ids: unassigned, not_open */
        b->count[i] = n->count > n->accepted ? (uint32_t)(n->count - n->accepted) : 0;
        kb_query_t q;
        kb_match_result_t r;
        if (kb_engine_query(e, n, &q) < 0 ||
            kb_match_need(&e->matcher, &e->store, ix, &q, s->limit, false, &r) < 0)
            return no_memory(f);
        if (r.n == s->limit) b->truncated = true;
        for (uint32_t k = 0; k < r.n; k++) {
            uint32_t idx;
            if (cand_of(e, b, r.hits[k].type, r.hits[k].slot, &idx) < 0 ||
                grow((void **)&b->edges, &b->capedges, b->nedges + 1, sizeof *b->edges) < 0)
                return no_memory(f);
            b->edges[b->nedges++] = (kb_assign_edge_t){i, idx, r.hits[k].score};
            b->feasible[i]++;
        }
    }
    return 0;
}

static double ms_since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Proposes one chosen pair as POST /v1/matches would; its id goes into
 * the pair's answer. */
static int propose_pair(kb_engine_t *e, const kb_need_t *n, int type, const kb_cand_t *c,
                        json_t *pair, kb_fault_t *f) {
    json_t *body = json_pack("{s:s, s:{s:s, s:s}}", "need_id", n->id, "candidate", "type",
                             type == KB_VOLUNTEER ? "volunteer" : "activity", "id", c->id),
           *out = NULL;
    if (!body) return no_memory(f);
    int rc = kb_engine_propose(e, body, &out, f);
    json_decref(body);
    if (rc == 0) json_object_set(pair, "match_id", json_object_get(out, "id"));
    json_decref(out);
    return rc;
}

int kb_engine_assign(kb_engine_t *e, const json_t *body, json_t **out, kb_fault_t *f) {
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    scope_t s;
    int rc = read_scope(body, &s, f);
    if (rc < 0) return rc;
    batch_t b = {0};
    kb_imap_init(&b.cand_index);
    uint8_t *chosen = NULL;
    json_t *pairs = NULL, *unassigned = NULL;
    double total = 0;
    if ((rc = pick_needs(e, &s, &b, f)) < 0 || (rc = find_edges(e, &s, &b, f)) < 0) goto done;
    chosen = calloc(b.nedges ? b.nedges : 1, 1);
    if (!chosen) {
        rc = no_memory(f);
        goto done;
    }
    if (kb_assign_solve(b.nneeds, b.count, b.ncands, b.capacity, b.edges, b.nedges, chosen,
                        &total) < 0) {
        rc = no_memory(f);
        goto done;
    }
    pairs = json_array();
    unassigned = json_array();
    uint32_t *served = calloc(b.nneeds ? b.nneeds : 1, sizeof *served);
    if (!pairs || !unassigned || !served) {
        free(served);
        rc = no_memory(f);
        goto done;
    }
    for (size_t k = 0; k < b.nedges; k++) {
        if (!chosen[k]) continue;
        const kb_assign_edge_t *ed = &b.edges[k];
        const kb_need_t *n = kb_store_need(&e->store, b.needs[ed->need]);
        int type = (int)(b.cands[ed->cand] >> 32);
        const kb_cand_t *c = kb_store_cand(&e->store, type, (uint32_t)b.cands[ed->cand]);
        served[ed->need]++;
        json_t *pair = json_pack("{s:s, s:{s:s, s:s}, s:f}", "need_id", n->id, "candidate", "type",
                                 type == KB_VOLUNTEER ? "volunteer" : "activity", "id", c->id,
                                 "score", kb_round(ed->score, 4));
        if (!pair || json_array_append_new(pairs, pair) < 0) {
            free(served);
            rc = no_memory(f);
            goto done;
        }
        /* A proposal per pair, as POST /v1/matches would make it (journaled,
         * with its event). One that fails says why and the rest go on. */
        kb_fault_t pf;
        if (s.propose && propose_pair(e, n, type, c, pair, &pf) < 0)
            json_object_set_new(pair, "error", json_string(pf.code));
    }
    uint32_t hard = 0, hard_served = 0;
    for (uint32_t k = 0; k < b.nneeds; k++) {
        const kb_need_t *n = kb_store_need(&e->store, b.needs[k]);
        if (b.feasible[k] >= 1 && b.feasible[k] <= 2) {
            hard++;
            hard_served += served[k] > 0;
        }
        if (served[k]) continue;
        const char *why = n->state != KB_NEED_OPEN ? "not_open"
                          : b.feasible[k] == 0     ? "no_feasible_candidate"
                                                   : "capacity_exhausted";
        json_array_append_new(unassigned, json_pack("{s:s, s:s}", "need_id", n->id, "reason", why));
    }
    free(served);
    *out = json_pack("{s:O, s:f, s:O, s:{s:I, s:I, s:I, s:I}, s:{s:I, s:I}, s:b, s:I, s:f}",
                     "pairs", pairs, "total_score", kb_round(total, 4), "unassigned", unassigned,
                     "counts", "needs", (json_int_t)b.nneeds, "candidates", (json_int_t)b.ncands,
                     "edges", (json_int_t)b.nedges, "pairs", (json_int_t)json_array_size(pairs),
                     "hard_to_reach", "needs", (json_int_t)hard, "served", (json_int_t)hard_served,
                     "truncated", b.truncated, "limit_per_need", (json_int_t)s.limit, "took_ms",
                     ms_since(&t0));
    rc = *out ? 0 : no_memory(f);
done:
    json_decref(pairs);
    json_decref(unassigned);
    free(chosen);
    batch_free(&b);
    return rc;
}
