/* access.h — who may do what: the roles of DESIGN.md "Security".
 *
 *   admin         everything.
 *   caseworker    needs, their matches and batch assignments in its
 *                 municipalities only; reads volunteers, activities and
 *                 organisations (the candidates' matching attributes), but
 *                 writes none of them.
 *   organisation  its own volunteers, activities and subscriptions (org_id
 *                 equal to its own, before and after a write); reads its own
 *                 organisation record; accepts or declines matches of its
 *                 own candidates. It sees needs only as the pseudonymised
 *                 offers on its Redis stream, never through the API.
 *
 * Each function answers for one kind of request, given the caller's token
 * (NULL when kobled runs open: everything is allowed) and what the request
 * names. It returns NULL when the request is allowed, else the message of
 * the 403 — which names the rule, never data the caller may not see.
 * Whether a named entity exists is not a secret: a request for one that
 * does not exist is allowed here, and the engine answers 404. */
#ifndef KB_ACCESS_H
#define KB_ACCESS_H

#include <stdbool.h>

#include <jansson.h>

#include "auth.h"
#include "koble/engine.h"

/* /metrics, /v1/stats. */
const char *kb_access_admin(const kb_token_t *who);
/* PUT (body non-NULL), GET or DELETE of one entity. */
const char *kb_access_entity(const kb_token_t *who, const kb_engine_t *e, kb_entity_t t, bool write,
                             const char *id, const json_t *body);
/* A need's sub-resources: POST /v1/needs/{id}/close, GET .../matches. */
const char *kb_access_need(const kb_token_t *who, const kb_engine_t *e, const char *need_id);
/* GET /v1/volunteers/{id}/needs: the caller narrows the answer to a
 * caseworker's municipalities itself (kb_match_opts_t.munis). */
const char *kb_access_reverse(const kb_token_t *who, const kb_engine_t *e, const char *vol_id);
/* POST /v1/match (what-if): body is the need, as for PUT. */
const char *kb_access_what_if(const kb_token_t *who, const json_t *body);
/* POST /v1/matches: body names the need. */
const char *kb_access_propose(const kb_token_t *who, const kb_engine_t *e, const json_t *body);
/* GET /v1/matches/{id} (step NULL) and POST /v1/matches/{id}/{step}. */
const char *kb_access_match(const kb_token_t *who, const kb_engine_t *e, const char *match_id,
                            const char *step);
/* POST /v1/assignments. */
const char *kb_access_assign(const kb_token_t *who, const kb_engine_t *e, const json_t *body);

#endif
