/* access.c — see access.h. */
#include "access.h"

#include <string.h>

static bool all_allowed(const kb_token_t *who) { return !who || who->role == KB_ROLE_ADMIN; }

static bool is_org(const kb_token_t *who) { return who->role == KB_ROLE_ORGANISATION; }

/* A need's municipality as the caseworker names it in a body. */
static bool body_muni_ok(const kb_token_t *who, const json_t *body) {
    const char *m = json_string_value(json_object_get(body, "municipality"));
    return m && kb_token_has_muni(who, m);
}

/* An existing need (or none: the engine answers 404) in the caseworker's scope. */
static bool need_ok(const kb_token_t *who, const kb_engine_t *e, const char *need_id) {
    const char *m = kb_engine_owner(e, KB_ENT_NEED, need_id);
    return !m || kb_token_has_muni(who, m);
}

static const char not_yours[] = "this belongs to another organisation";
static const char outside[] = "this need is outside your municipalities";
static const char no_needs[] =
    "organisations see needs only as the offers on their stream, not through the API";

const char *kb_access_admin(const kb_token_t *who) {
    return all_allowed(who) ? NULL : "only an admin token may read this";
}

const char *kb_access_entity(const kb_token_t *who, const kb_engine_t *e, kb_entity_t t, bool write,
                             const char *id, const json_t *body) {
    if (all_allowed(who)) return NULL;
    if (t == KB_ENT_NEED) {
        if (is_org(who)) return no_needs;
        if (!need_ok(who, e, id)) return outside;
        if (body && !body_muni_ok(who, body))
            return "municipality must be one of your municipalities";
        return NULL;
    }
    if (t == KB_ENT_ORGANISATION) {
        if (write) return "only an admin may change organisations";
        if (is_org(who) && strcmp(id, who->org_id)) return not_yours;
        return NULL;
    }
    if (!is_org(who)) {
        if (t == KB_ENT_SUBSCRIPTION) return "subscriptions belong to organisations";
        return write ? "caseworkers read volunteers and activities but do not change them" : NULL;
    }
    const char *owner = kb_engine_owner(e, t, id);
    if (owner && strcmp(owner, who->org_id)) return not_yours;
    if (body) {
        const char *o = json_string_value(json_object_get(body, "org_id"));
        if (!o || strcmp(o, who->org_id)) return "org_id must be your organisation";
    }
    return NULL;
}

const char *kb_access_need(const kb_token_t *who, const kb_engine_t *e, const char *need_id) {
    if (all_allowed(who)) return NULL;
    if (is_org(who)) return no_needs;
    return need_ok(who, e, need_id) ? NULL : outside;
}

const char *kb_access_reverse(const kb_token_t *who, const kb_engine_t *e, const char *vol_id) {
    (void)e;
    (void)vol_id;
    if (all_allowed(who)) return NULL;
    return is_org(who) ? no_needs : NULL;
}

const char *kb_access_what_if(const kb_token_t *who, const json_t *body) {
    if (all_allowed(who)) return NULL;
    if (is_org(who)) return no_needs;
    return body_muni_ok(who, body) ? NULL : "municipality must be one of your municipalities";
}

const char *kb_access_propose(const kb_token_t *who, const kb_engine_t *e, const json_t *body) {
    if (all_allowed(who)) return NULL;
    if (is_org(who)) return "organisations accept or decline proposals; caseworkers make them";
    const char *need_id = json_string_value(json_object_get(body, "need_id"));
    return !need_id || need_ok(who, e, need_id) ? NULL : outside;
}

const char *kb_access_match(const kb_token_t *who, const kb_engine_t *e, const char *match_id,
                            const char *step) {
    if (all_allowed(who)) return NULL;
    const char *muni, *org;
    if (kb_engine_match_owners(e, match_id, &muni, &org) < 0) return NULL; /* 404 */
    if (!is_org(who)) return muni && kb_token_has_muni(who, muni) ? NULL : outside;
    if (!org || strcmp(org, who->org_id)) return not_yours;
    if (step && strcmp(step, "accept") && strcmp(step, "decline"))
        return "organisations accept or decline proposals; caseworkers end matches";
    return NULL;
}

const char *kb_access_assign(const kb_token_t *who, const kb_engine_t *e, const json_t *body) {
    if (all_allowed(who)) return NULL;
    if (is_org(who)) return "batch assignment is for caseworkers";
    static const char scope[] = "name a municipality of yours, or need_ids in your municipalities";
    const json_t *muni = json_object_get(body, "municipality");
    const json_t *ids = json_object_get(body, "need_ids");
    if (!muni && !ids) return scope;
    if (muni && !body_muni_ok(who, body)) return scope;
    if (ids) {
        if (!json_is_array(ids)) return NULL; /* the engine says what is wrong */
        size_t i;
        const json_t *v;
        json_array_foreach(ids, i, v) {
            const char *id = json_string_value(v);
            if (id && !need_ok(who, e, id)) return outside;
        }
    }
    return NULL;
}
