/* lifecycle.c — matches between a need and a candidate.
 *
 *   proposed --accept--> accepted --end--> ended
 *       |  \--decline--> declined
 *       \-----end------> ended
 *
 * Accepting takes one unit of the candidate's capacity and counts towards
 * the need's `count`; when the need has `count` accepted matches it is
 * `matched` and leaves suggestions. Ending an accepted match gives both
 * back (a matched need reopens). A declined pair is never suggested again
 * for that need; a proposed or accepted pair is not suggested twice. An
 * ended pair may be suggested again.
 *
 * Each need keeps the slots of its matches (few), which is what matching
 * reads to exclude pairs; deleting a candidate scans all matches, which is
 * rare and linear in the number of matches, not of volunteers. */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const pair_state_names[] = {"proposed", "accepted", "declined", "ended"};

static kb_pairing_t *pairing_at(const kb_engine_t *e, uint32_t slot) {
    return (kb_pairing_t *)e->pairings.recs + slot;
}

static void clear_pairing(void *rec) {
    kb_pairing_t *p = rec;
    free(p->need_id);
    free(p->cand_id);
    p->need_id = p->cand_id = NULL;
}

void kb_lifecycle_free(kb_engine_t *e) { kb_pool_free(&e->pairings, clear_pairing); }

static json_t *pairing_json(const kb_pairing_t *p) {
    return json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:f, s:f, s:o, s:o}", "id", p->id, "need_id",
                     p->need_id, "candidate", "type",
                     p->cand_type == KB_VOLUNTEER ? "volunteer" : "activity", "id", p->cand_id,
                     "state", pair_state_names[p->state], "score", kb_round(p->score, 4),
                     "distance_km", kb_round(p->dist_km, 2), "created_at",
                     kb_codec_timestamp_json(p->created_ms), "updated_at",
                     kb_codec_timestamp_json(p->updated_ms));
}

/* Emits a "matches" event with p as it is now (after the change). */
static void emit_match(kb_engine_t *e, const char *event, const kb_pairing_t *p) {
    if (kb_engine_emits(e)) kb_engine_emit(e, "matches", event, pairing_json(p));
}

static void set_state(kb_engine_t *e, kb_pairing_t *p, int st) {
    e->pairs_by_state[p->state]--;
    e->pairs_by_state[st]++;
    p->state = (uint8_t)st;
    p->updated_ms = kb_engine_now_ms(e);
}

/* Ends p, giving back capacity if it was accepted. Every end goes through
 * here (explicit, or by a close or a delete), so this is where match.ended
 * is emitted. A need that reopens is offered again, after the end, unless
 * it is the need being deleted (offer false). */
static void end_pairing(kb_engine_t *e, kb_pairing_t *p, bool offer) {
    bool was_accepted = p->state == KB_PAIR_ACCEPTED;
    set_state(e, p, KB_PAIR_ENDED);
    emit_match(e, "match.ended", p);
    if (!was_accepted) return;
    if (p->cand_slot != KB_NO_SLOT) kb_store_cand(&e->store, p->cand_type, p->cand_slot)->load--;
    if (p->need_slot != KB_NO_SLOT) {
        kb_need_t *n = kb_store_need(&e->store, p->need_slot);
        n->accepted--;
        if (kb_need_settle(e, n) && offer) kb_engine_offer(e, n);
    }
}

static bool active(const kb_pairing_t *p) {
    return p->state == KB_PAIR_PROPOSED || p->state == KB_PAIR_ACCEPTED;
}

void kb_lifecycle_detach_need(kb_engine_t *e, uint32_t need_slot) {
    kb_need_t *n = kb_store_need(&e->store, need_slot);
    for (uint32_t i = 0; i < n->npairings; i++) {
        kb_pairing_t *p = pairing_at(e, n->pairings[i]);
        if (active(p)) end_pairing(e, p, false);
        p->need_slot = KB_NO_SLOT;
    }
}

void kb_lifecycle_detach_cand(kb_engine_t *e, int type, uint32_t slot) {
    for (uint32_t i = 0; i < e->pairings.used; i++) {
        kb_pairing_t *p = pairing_at(e, i);
        if (!p->id || p->cand_type != type || p->cand_slot != slot) continue;
        if (active(p)) end_pairing(e, p, true);
        p->cand_slot = KB_NO_SLOT;
    }
}

void kb_lifecycle_end_proposals(kb_engine_t *e, uint32_t need_slot) {
    kb_need_t *n = kb_store_need(&e->store, need_slot);
    for (uint32_t i = 0; i < n->npairings; i++) {
        kb_pairing_t *p = pairing_at(e, n->pairings[i]);
        if (p->state == KB_PAIR_PROPOSED) end_pairing(e, p, true);
    }
}

static int no_memory(kb_fault_t *f) {
    return kb_fault(f, KB_ENOMEM, 503, "out_of_memory", NULL, "the server is out of memory");
}

/* A new pairing record with its ids, and room for it in n's list (n may
 * be NULL); the caller fills in the rest and appends it to n. On failure
 * nothing is left allocated. */
static int new_pairing(kb_engine_t *e, kb_need_t *n, const char *id, const char *need_id,
                       const char *cand_id, uint32_t *ps) {
    if (n && n->npairings == n->cappairings) {
        uint32_t cap = n->cappairings ? n->cappairings * 2 : 4;
        uint32_t *grown = realloc(n->pairings, cap * sizeof *grown);
        if (!grown) return KB_ENOMEM;
        n->pairings = grown;
        n->cappairings = cap;
    }
    char *nid = strdup(need_id), *cid = strdup(cand_id);
    if (!nid || !cid || kb_pool_alloc(&e->pairings, id, ps) < 0) {
        free(nid);
        free(cid);
        return KB_ENOMEM;
    }
    kb_pairing_t *p = pairing_at(e, *ps);
    p->need_id = nid;
    p->cand_id = cid;
    return 0;
}

static int answer(const kb_pairing_t *p, json_t **out, kb_fault_t *f) {
    *out = pairing_json(p);
    return *out ? 0 : no_memory(f);
}

/* Reads {"need_id": ..., "candidate": {"type": ..., "id": ...}}. */
static int read_proposal(const json_t *body, const char **need_id, int *type, const char **cand_id,
                         kb_fault_t *f) {
    const char *key;
    json_t *v;
    *need_id = *cand_id = NULL;
    *type = -1;
    json_object_foreach((json_t *)body, key, v) {
        if (strcmp(key, "need_id") == 0) {
            *need_id = json_string_value(v);
            if (!*need_id || !kb_codec_id_valid(*need_id))
                return kb_fault(f, KB_EINVAL, 422, "invalid_field", "need_id", "must be an id");
        } else if (strcmp(key, "candidate") == 0) {
            const char *k2;
            json_t *v2;
            if (!json_is_object(v))
                return kb_fault(f, KB_EINVAL, 422, "invalid_field", "candidate",
                                "must be an object with type and id");
            json_object_foreach(v, k2, v2) {
                const char *s = json_string_value(v2);
                if (strcmp(k2, "type") == 0) {
                    *type = s && strcmp(s, "volunteer") == 0  ? KB_VOLUNTEER
                            : s && strcmp(s, "activity") == 0 ? KB_ACTIVITY
                                                              : -2;
                    if (*type == -2)
                        return kb_fault(f, KB_EINVAL, 422, "invalid_field", "candidate.type",
                                        "must be \"volunteer\" or \"activity\"");
                } else if (strcmp(k2, "id") == 0) {
                    *cand_id = s;
                    if (!s || !kb_codec_id_valid(s))
                        return kb_fault(f, KB_EINVAL, 422, "invalid_field", "candidate.id",
                                        "must be an id");
                } else {
                    char field[128];
                    snprintf(field, sizeof field, "candidate.%.100s", k2);
                    return kb_fault(f, KB_EINVAL, 422, "unknown_field", field, "unknown field");
                }
            }
        } else {
            return kb_fault(f, KB_EINVAL, 422, "unknown_field", key, "unknown field");
        }
    }
    if (!*need_id) return kb_fault(f, KB_EINVAL, 422, "missing_field", "need_id", "is required");
    if (*type < 0)
        return kb_fault(f, KB_EINVAL, 422, "missing_field", "candidate.type", "is required");
    if (!*cand_id)
        return kb_fault(f, KB_EINVAL, 422, "missing_field", "candidate.id", "is required");
    return 0;
}

static int need_not_open(kb_fault_t *f, const kb_need_t *n) {
    return kb_fault(f, KB_ECONFLICT, 409, "need_not_open", "need_id", "the need is %s",
                    kb_codec_state_name(n->state));
}

static int propose(kb_engine_t *e, const json_t *body, json_t **out, kb_fault_t *f) {
    const char *need_id, *cand_id;
    int type;
    int rc = read_proposal(body, &need_id, &type, &cand_id, f);
    if (rc < 0) return rc;
    uint32_t ns = kb_pool_find(&e->store.needs, need_id);
    if (ns == KB_NO_SLOT)
        return kb_fault(f, KB_ENOTFOUND, 404, "not_found", "need_id", "no such need");
    uint32_t cs = kb_pool_find(&e->store.cands[type], cand_id);
    if (cs == KB_NO_SLOT)
        return kb_fault(f, KB_ENOTFOUND, 404, "not_found", "candidate.id", "no such %s",
                        type == KB_VOLUNTEER ? "volunteer" : "activity");
    kb_need_t *n = kb_store_need(&e->store, ns);
    kb_cand_t *c = kb_store_cand(&e->store, type, cs);
    if (n->state != KB_NEED_OPEN) return need_not_open(f, n);
    if (!kb_kind_wants(n->kind, type))
        return kb_fault(f, KB_ECONFLICT, 409, "kind_mismatch", "candidate.type",
                        "a need of kind %s does not take this type of candidate",
                        kb_codec_kind_name(n->kind));
    kb_query_t q;
    if (kb_engine_query(e, n, &q) < 0) return no_memory(f);
    double chord2 = kb_geo_chord2(&n->pos, &c->pos);
    int why = kb_score_check(&q, c, cs, chord2);
    if (why != KB_X_COUNT)
        return kb_fault(f, KB_ECONFLICT, 409, "constraint_failed", kb_excl_names[why],
                        "the candidate fails the hard constraint \"%s\"", kb_excl_names[why]);
    if ((rc = kb_engine_log(e, f, "{s:s, s:O}", "op", "propose", "body", (json_t *)body)) < 0)
        return rc;

    char id[32];
    snprintf(id, sizeof id, "m-%llu", (unsigned long long)e->next_pairing);
    uint32_t ps;
    if (new_pairing(e, n, id, need_id, cand_id, &ps) < 0) return no_memory(f);
    e->next_pairing++;
    kb_pairing_t *p = pairing_at(e, ps);
    p->need_slot = ns;
    p->cand_slot = cs;
    p->cand_type = (uint8_t)type;
    p->state = KB_PAIR_PROPOSED;
    p->dist_km = kb_geo_km_of_chord2(chord2);
    p->score = kb_score(&q, c, p->dist_km, NULL);
    p->created_ms = p->updated_ms = kb_engine_now_ms(e);
    e->pairs_by_state[KB_PAIR_PROPOSED]++;
    n->pairings[n->npairings++] = ps;
    emit_match(e, "match.proposed", p);
    return answer(p, out, f);
}

int kb_engine_propose(kb_engine_t *e, const json_t *body, json_t **out, kb_fault_t *f) {
    int64_t saved = kb_engine_pin_clock(e);
    int rc = propose(e, body, out, f);
    e->clock_ms = saved;
    return rc;
}

static int bad_step(kb_fault_t *f, const kb_pairing_t *p, const char *step) {
    return kb_fault(f, KB_ECONFLICT, 409, "invalid_transition", NULL,
                    "a match that is %s cannot be %s", pair_state_names[p->state], step);
}

/* Journals a step that is allowed, just before it is made. */
static int log_step(kb_engine_t *e, const char *match_id, const char *step, kb_fault_t *f) {
    return kb_engine_log(e, f, "{s:s, s:s, s:s}", "op", "step", "id", match_id, "step", step);
}

static int match_step(kb_engine_t *e, const char *match_id, const char *step, json_t **out,
                      kb_fault_t *f) {
    uint32_t ps = kb_pool_find(&e->pairings, match_id);
    if (ps == KB_NO_SLOT) return kb_fault(f, KB_ENOTFOUND, 404, "not_found", NULL, "no such match");
    kb_pairing_t *p = pairing_at(e, ps);
    if (strcmp(step, "accept") == 0) {
        if (p->state != KB_PAIR_PROPOSED) return bad_step(f, p, "accepted");
        kb_need_t *n = kb_store_need(&e->store, p->need_slot);
        kb_cand_t *c = kb_store_cand(&e->store, p->cand_type, p->cand_slot);
        if (n->state != KB_NEED_OPEN) return need_not_open(f, n);
        if (c->load >= c->capacity)
            return kb_fault(f, KB_ECONFLICT, 409, "constraint_failed", "capacity",
                            "the candidate has no capacity left");
        int rc = log_step(e, match_id, step, f);
        if (rc < 0) return rc;
        c->load++;
        n->accepted++;
        set_state(e, p, KB_PAIR_ACCEPTED);
        kb_need_settle(e, n);
        emit_match(e, "match.accepted", p);
    } else if (strcmp(step, "decline") == 0) {
        if (p->state != KB_PAIR_PROPOSED) return bad_step(f, p, "declined");
        int rc = log_step(e, match_id, step, f);
        if (rc < 0) return rc;
        set_state(e, p, KB_PAIR_DECLINED);
        emit_match(e, "match.declined", p);
    } else if (strcmp(step, "end") == 0) {
        if (!active(p)) return bad_step(f, p, "ended");
        int rc = log_step(e, match_id, step, f);
        if (rc < 0) return rc;
        end_pairing(e, p, true);
    } else {
        return kb_fault(f, KB_ENOTFOUND, 404, "not_found", NULL, "no such step");
    }
    return answer(p, out, f);
}

int kb_engine_match_step(kb_engine_t *e, const char *match_id, const char *step, json_t **out,
                         kb_fault_t *f) {
    int64_t saved = kb_engine_pin_clock(e);
    int rc = match_step(e, match_id, step, out, f);
    e->clock_ms = saved;
    return rc;
}

int kb_engine_match_get(const kb_engine_t *e, const char *match_id, json_t **out, kb_fault_t *f) {
    uint32_t ps = kb_pool_find(&e->pairings, match_id);
    if (ps == KB_NO_SLOT) return kb_fault(f, KB_ENOTFOUND, 404, "not_found", NULL, "no such match");
    return answer(pairing_at(e, ps), out, f);
}

int kb_engine_match_owners(const kb_engine_t *e, const char *match_id, const char **municipality,
                           const char **org_id) {
    uint32_t ps = kb_pool_find(&e->pairings, match_id);
    if (ps == KB_NO_SLOT) return KB_ENOTFOUND;
    const kb_pairing_t *p = pairing_at(e, ps);
    *municipality =
        p->need_slot == KB_NO_SLOT ? NULL : kb_store_need(&e->store, p->need_slot)->municipality;
    const char *org = p->cand_slot == KB_NO_SLOT
                          ? NULL
                          : kb_store_cand(&e->store, p->cand_type, p->cand_slot)->org_id;
    *org_id = p->cand_slot != KB_NO_SLOT && !org ? "" : org;
    return 0;
}

/* ---- snapshots ---- */

int kb_lifecycle_dump(const kb_engine_t *e, kb_engine_dump_fn fn, void *ctx) {
    for (uint32_t slot = 0; slot < e->pairings.used; slot++) {
        const kb_pairing_t *p = pairing_at(e, slot);
        if (!p->id) continue;
        json_t *rec = json_pack(
            "{s:s, s:s, s:s, s:b, s:s, s:s, s:b, s:s, s:f, s:f, s:I, s:I}", "kind", "match", "id",
            p->id, "need_id", p->need_id, "need_attached", p->need_slot != KB_NO_SLOT, "cand_type",
            p->cand_type == KB_VOLUNTEER ? "volunteer" : "activity", "cand_id", p->cand_id,
            "cand_attached", p->cand_slot != KB_NO_SLOT, "state", pair_state_names[p->state],
            "score", p->score, "distance_km", p->dist_km, "created_ms", (json_int_t)p->created_ms,
            "updated_ms", (json_int_t)p->updated_ms);
        if (!rec) return KB_ENOMEM;
        int rc = fn(ctx, rec);
        json_decref(rec);
        if (rc < 0) return rc;
    }
    return 0;
}

static int bad_match(kb_fault_t *f, const char *what) {
    return kb_fault(f, KB_ECORRUPT, 500, "bad_snapshot_record", NULL, "%s", what);
}

int kb_lifecycle_restore(kb_engine_t *e, const json_t *rec, kb_fault_t *f) {
    const char *kind, *id, *need_id, *cand_type, *cand_id, *state;
    int need_attached, cand_attached;
    double score, dist;
    json_int_t created, updated;
    json_error_t err;
    if (json_unpack_ex((json_t *)rec, &err, JSON_STRICT,
                       "{s:s, s:s, s:s, s:b, s:s, s:s, s:b, s:s, s:F, s:F, s:I, s:I}", "kind",
                       &kind, "id", &id, "need_id", &need_id, "need_attached", &need_attached,
                       "cand_type", &cand_type, "cand_id", &cand_id, "cand_attached",
                       &cand_attached, "state", &state, "score", &score, "distance_km", &dist,
                       "created_ms", &created, "updated_ms", &updated) < 0)
        return bad_match(f, "a match record is malformed");
    int type = !strcmp(cand_type, "volunteer")  ? KB_VOLUNTEER
               : !strcmp(cand_type, "activity") ? KB_ACTIVITY
                                                : -1;
    int st = -1;
    for (int i = 0; i < 4; i++)
        if (!strcmp(state, pair_state_names[i])) st = i;
    uint32_t ns = need_attached ? kb_pool_find(&e->store.needs, need_id) : KB_NO_SLOT;
    uint32_t cs =
        type >= 0 && cand_attached ? kb_pool_find(&e->store.cands[type], cand_id) : KB_NO_SLOT;
    if (type < 0 || st < 0 || (need_attached && ns == KB_NO_SLOT) ||
        (cand_attached && cs == KB_NO_SLOT) || kb_pool_find(&e->pairings, id) != KB_NO_SLOT)
        return bad_match(f, "a match record does not fit the entities restored");
    kb_need_t *n = ns != KB_NO_SLOT ? kb_store_need(&e->store, ns) : NULL;
    uint32_t ps;
    if (new_pairing(e, n, id, need_id, cand_id, &ps) < 0) return no_memory(f);
    kb_pairing_t *p = pairing_at(e, ps);
    *p = (kb_pairing_t){.id = p->id,
                        .need_id = p->need_id,
                        .cand_id = p->cand_id,
                        .need_slot = ns,
                        .cand_slot = cs,
                        .cand_type = (uint8_t)type,
                        .state = (uint8_t)st,
                        .score = score,
                        .dist_km = dist,
                        .created_ms = created,
                        .updated_ms = updated};
    e->pairs_by_state[st]++;
    if (n) n->pairings[n->npairings++] = ps;
    if (st == KB_PAIR_ACCEPTED) {
        if (cs != KB_NO_SLOT) kb_store_cand(&e->store, type, cs)->load++;
        if (n) {
            n->accepted++;
            kb_need_settle(e, n);
        }
    }
    return 0;
}
