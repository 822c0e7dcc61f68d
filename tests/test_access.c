/* test_access.c — the role rules of access.h on an in-memory engine: for
 * every kind of request, what an admin, a caseworker of Guldborgsund
 * (0376) and the organisation "urk" may and may not do. */
#include <criterion/criterion.h>
#include <string.h>

#include "access.h"
#include "enginetest.h"
#include "fault.h"

static kb_engine_t *e;
static kb_token_t admin = {.name = "ops", .role = KB_ROLE_ADMIN};
static kb_token_t cw = {.name = "jc", .role = KB_ROLE_CASEWORKER, .munis = {"0376"}, .nmunis = 1};
static kb_token_t urk = {.name = "urk", .role = KB_ROLE_ORGANISATION, .org_id = "urk"};

#define VOL(org)                                                                                   \
    "{" org "\"location\":{\"lat\":54.77,\"lon\":11.87},\"skills\":[\"mentoring\"],"               \
    "\"capacity\":2}"
#define NEED(muni)                                                                                 \
    "{\"kind\":\"mentor\",\"municipality\":\"" muni "\",\"location\":{\"lat\":54.77,\"lon\":"      \
    "11.87},\"skills_required\":[\"mentoring\"],\"person_age\":18}"

static void put(kb_entity_t t, const char *id, const char *body) {
    kb_fault_t f;
    cr_assert_eq(kt_put(e, t, id, body, &f), 0, "%s: %s", id, f.message);
}

static void propose(const char *need, const char *cand) {
    json_t *b = json_pack("{s:s, s:{s:s, s:s}}", "need_id", need, "candidate", "type", "volunteer",
                          "id", cand),
           *out = NULL;
    kb_fault_t f;
    cr_assert_eq(kb_engine_propose(e, b, &out, &f), 0, "%s", f.message);
    json_decref(out);
    json_decref(b);
}

static void setup(void) {
    cr_assert_eq(kb_engine_new(NULL, &e), 0);
    kb_engine_set_clock(e, 1795478400000LL);
    put(KB_ENT_ORGANISATION, "urk", "{\"name\":\"URK\",\"kind\":\"volunteer_org\"}");
    put(KB_ENT_VOLUNTEER, "v-urk", VOL("\"org_id\":\"urk\","));
    put(KB_ENT_VOLUNTEER, "v-dgi", VOL("\"org_id\":\"dgi\","));
    put(KB_ENT_VOLUNTEER, "v-none", VOL(""));
    put(KB_ENT_NEED, "n-376", NEED("0376"));
    put(KB_ENT_NEED, "n-101", NEED("0101"));
    put(KB_ENT_SUBSCRIPTION, "s-urk", "{\"org_id\":\"urk\",\"municipalities\":[\"0376\"]}");
    put(KB_ENT_SUBSCRIPTION, "s-dgi", "{\"org_id\":\"dgi\",\"municipalities\":[\"0376\"]}");
    propose("n-376", "v-urk"); /* m-1 */
    propose("n-101", "v-urk"); /* m-2 */
    propose("n-376", "v-dgi"); /* m-3 */
}
static void teardown(void) { kb_engine_free(e); }

static json_t *J(const char *text) { return kt_parse(text); }

static bool entity_ok(const kb_token_t *who, kb_entity_t t, bool write, const char *id,
                      const char *body) {
    json_t *b = body ? J(body) : NULL;
    const char *why = kb_access_entity(who, e, t, write, id, b);
    json_decref(b);
    return why == NULL;
}

Test(access, open_mode_and_admin_may_do_everything, .init = setup, .fini = teardown) {
    const kb_token_t *all[] = {NULL, &admin};
    for (int i = 0; i < 2; i++) {
        const kb_token_t *w = all[i];
        cr_assert_null(kb_access_admin(w));
        cr_assert(entity_ok(w, KB_ENT_NEED, true, "n-101", NEED("0101")));
        cr_assert(entity_ok(w, KB_ENT_VOLUNTEER, true, "v-dgi", NULL));
        cr_assert(entity_ok(w, KB_ENT_ORGANISATION, true, "x", NULL));
        cr_assert_null(kb_access_match(w, e, "m-2", "end"));
        json_t *all_needs = J("{}");
        cr_assert_null(kb_access_assign(w, e, all_needs));
        json_decref(all_needs);
    }
}

Test(access, caseworker_sees_needs_only_in_its_municipalities, .init = setup, .fini = teardown) {
    cr_assert_not_null(kb_access_admin(&cw), "metrics and stats are for admins");
    cr_assert(entity_ok(&cw, KB_ENT_NEED, false, "n-376", NULL));
    cr_assert_not(entity_ok(&cw, KB_ENT_NEED, false, "n-101", NULL));
    cr_assert(entity_ok(&cw, KB_ENT_NEED, true, "n-376", NEED("0376")));
    cr_assert_not(entity_ok(&cw, KB_ENT_NEED, true, "n-376", NEED("0101")),
                  "may not move a need out of its scope");
    cr_assert_not(entity_ok(&cw, KB_ENT_NEED, true, "n-101", NEED("0376")),
                  "may not take over another municipality's need");
    cr_assert(entity_ok(&cw, KB_ENT_NEED, true, "n-new", NEED("0376")));
    cr_assert_not(entity_ok(&cw, KB_ENT_NEED, true, "n-new", NEED("0101")));
    cr_assert(entity_ok(&cw, KB_ENT_NEED, true, "n-376", NULL), "delete in scope");
    cr_assert_not(entity_ok(&cw, KB_ENT_NEED, true, "n-101", NULL));
    cr_assert_null(kb_access_need(&cw, e, "n-376"));
    cr_assert_not_null(kb_access_need(&cw, e, "n-101"));
    cr_assert_null(kb_access_need(&cw, e, "n-nope"), "the engine answers 404");
}

Test(access, caseworker_reads_candidates_but_does_not_write_them, .init = setup, .fini = teardown) {
    cr_assert(entity_ok(&cw, KB_ENT_VOLUNTEER, false, "v-dgi", NULL));
    cr_assert(entity_ok(&cw, KB_ENT_ORGANISATION, false, "urk", NULL));
    cr_assert_not(entity_ok(&cw, KB_ENT_VOLUNTEER, true, "v-dgi", VOL("")));
    cr_assert_not(entity_ok(&cw, KB_ENT_VOLUNTEER, true, "v-dgi", NULL));
    cr_assert_not(entity_ok(&cw, KB_ENT_ORGANISATION, true, "urk", NULL));
    cr_assert_not(entity_ok(&cw, KB_ENT_SUBSCRIPTION, false, "s-urk", NULL));
    cr_assert_null(kb_access_reverse(&cw, e, "v-urk"));
}

Test(access, caseworker_matches_and_batches_in_scope, .init = setup, .fini = teardown) {
    json_t *in =
        J("{\"need_id\":\"n-376\",\"candidate\":{\"type\":\"volunteer\",\"id\":\"v-urk\"}}");
    json_t *out =
        J("{\"need_id\":\"n-101\",\"candidate\":{\"type\":\"volunteer\",\"id\":\"v-urk\"}}");
    cr_assert_null(kb_access_propose(&cw, e, in));
    cr_assert_not_null(kb_access_propose(&cw, e, out));
    json_decref(in);
    json_decref(out);
    cr_assert_null(kb_access_match(&cw, e, "m-1", NULL));
    cr_assert_null(kb_access_match(&cw, e, "m-1", "end"));
    cr_assert_not_null(kb_access_match(&cw, e, "m-2", NULL));
    cr_assert_not_null(kb_access_match(&cw, e, "m-2", "accept"));
    cr_assert_null(kb_access_match(&cw, e, "m-404", NULL), "the engine answers 404");
    static const struct {
        const char *body;
        bool ok;
    } batches[] = {{"{\"municipality\":\"0376\"}", true},
                   {"{\"municipality\":\"0101\"}", false},
                   {"{}", false},
                   {"{\"need_ids\":[\"n-376\"]}", true},
                   {"{\"need_ids\":[\"n-376\",\"n-101\"]}", false},
                   {"{\"municipality\":\"0376\",\"need_ids\":[\"n-101\"]}", false}};
    for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++) {
        json_t *b = J(batches[i].body);
        cr_assert_eq(kb_access_assign(&cw, e, b) == NULL, batches[i].ok, "%s", batches[i].body);
        json_decref(b);
    }
    json_t *what_in = J(NEED("0376")), *what_out = J(NEED("0101"));
    cr_assert_null(kb_access_what_if(&cw, what_in));
    cr_assert_not_null(kb_access_what_if(&cw, what_out));
    json_decref(what_in);
    json_decref(what_out);
}

Test(access, organisation_manages_only_its_own, .init = setup, .fini = teardown) {
    cr_assert_not_null(kb_access_admin(&urk));
    cr_assert(entity_ok(&urk, KB_ENT_VOLUNTEER, false, "v-urk", NULL));
    cr_assert(entity_ok(&urk, KB_ENT_VOLUNTEER, true, "v-urk", VOL("\"org_id\":\"urk\",")));
    cr_assert(entity_ok(&urk, KB_ENT_VOLUNTEER, true, "v-new", VOL("\"org_id\":\"urk\",")));
    cr_assert(entity_ok(&urk, KB_ENT_VOLUNTEER, true, "v-urk", NULL), "delete its own");
    cr_assert_not(entity_ok(&urk, KB_ENT_VOLUNTEER, true, "v-urk", VOL("\"org_id\":\"dgi\",")),
                  "may not give a volunteer away");
    cr_assert_not(entity_ok(&urk, KB_ENT_VOLUNTEER, true, "v-new", VOL("")),
                  "a volunteer it writes is its own");
    cr_assert_not(entity_ok(&urk, KB_ENT_VOLUNTEER, false, "v-dgi", NULL));
    cr_assert_not(entity_ok(&urk, KB_ENT_VOLUNTEER, true, "v-dgi", VOL("\"org_id\":\"urk\",")),
                  "may not take another organisation's volunteer");
    cr_assert_not(entity_ok(&urk, KB_ENT_VOLUNTEER, true, "v-none", VOL("\"org_id\":\"urk\",")),
                  "nor one that belongs to no organisation");
    cr_assert_not(entity_ok(&urk, KB_ENT_ACTIVITY, true, "a-new", "{\"org_id\":\"dgi\"}"));
    cr_assert(entity_ok(&urk, KB_ENT_SUBSCRIPTION, false, "s-urk", NULL));
    cr_assert_not(entity_ok(&urk, KB_ENT_SUBSCRIPTION, false, "s-dgi", NULL));
    cr_assert_not(entity_ok(&urk, KB_ENT_SUBSCRIPTION, true, "s-dgi", NULL));
    cr_assert(entity_ok(&urk, KB_ENT_ORGANISATION, false, "urk", NULL));
    cr_assert_not(entity_ok(&urk, KB_ENT_ORGANISATION, false, "dgi", NULL));
    cr_assert_not(entity_ok(&urk, KB_ENT_ORGANISATION, true, "urk", NULL));
}

Test(access, organisation_sees_no_needs_and_steps_its_own_matches, .init = setup,
     .fini = teardown) {
    cr_assert_not(entity_ok(&urk, KB_ENT_NEED, false, "n-376", NULL));
    cr_assert_not(entity_ok(&urk, KB_ENT_NEED, true, "n-new", NEED("0376")));
    cr_assert_not_null(kb_access_need(&urk, e, "n-376"));
    cr_assert_not_null(kb_access_reverse(&urk, e, "v-urk"));
    json_t *need = J(NEED("0376"));
    cr_assert_not_null(kb_access_what_if(&urk, need));
    cr_assert_not_null(kb_access_propose(&urk, e, need));
    cr_assert_not_null(kb_access_assign(&urk, e, need));
    json_decref(need);
    cr_assert_null(kb_access_match(&urk, e, "m-1", NULL));
    cr_assert_null(kb_access_match(&urk, e, "m-1", "accept"));
    cr_assert_null(kb_access_match(&urk, e, "m-2", "decline"));
    cr_assert_not_null(kb_access_match(&urk, e, "m-1", "end"));
    cr_assert_not_null(kb_access_match(&urk, e, "m-3", NULL), "dgi's volunteer");
    cr_assert_not_null(kb_access_match(&urk, e, "m-3", "accept"));
}

Test(access, deleted_entities_leave_their_matches_to_admins, .init = setup, .fini = teardown) {
    kb_fault_t f;
    cr_assert_eq(kb_engine_delete(e, KB_ENT_VOLUNTEER, "v-urk", &f), 0);
    cr_assert_not_null(kb_access_match(&urk, e, "m-1", NULL), "no owner left to match");
    cr_assert_null(kb_access_match(&cw, e, "m-1", NULL), "the need is still in scope");
    cr_assert_eq(kb_engine_delete(e, KB_ENT_NEED, "n-376", &f), 0);
    cr_assert_not_null(kb_access_match(&cw, e, "m-1", NULL));
    cr_assert_null(kb_access_match(&admin, e, "m-1", NULL));
}
