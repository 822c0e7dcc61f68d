/* test_score.c — each hard constraint and its reason code, each soft
 * component on hand-computed cases, and kb_score_bound as an upper bound. */
#include <criterion/criterion.h>
#include <string.h>

#include "score.h"

#define TODAY 20781 /* 2026-11-24 */
#define YEAR  2026

static uint32_t need_skills[] = {1, 2}, need_langs[] = {10, 11};
static uint32_t cand_skills[] = {1, 2, 3}, cand_langs[] = {11};

static kb_need_t need;
static kb_cand_t cand;
static kb_weights_t weights;
static kb_query_t q;

/* A 30-year-old's mentor need within 10 km, and a volunteer that passes
 * every constraint of it. */
static void setup(void) {
    memset(&need, 0, sizeof need);
    kb_point_set(&need.pos, 55.68, 12.57);
    need.max_km = 10;
    need.kind = KB_KIND_MENTOR;
    need.person_age = 30;
    need.count = 1;
    need.skills_required = (kb_toks_t){need_skills, 2};
    need.langs = (kb_toks_t){need_langs, 2};
    need.avail = 1u << 0;
    memset(&cand, 0, sizeof cand);
    cand.type = KB_VOLUNTEER;
    cand.live = cand.active = true;
    cand.capacity = 2;
    cand.max_km = 20;
    cand.max_chord2 = kb_geo_chord2_of_km(20);
    cand.cert_until = KB_NO_DATE;
    cand.skills = (kb_toks_t){cand_skills, 3};
    cand.langs = (kb_toks_t){cand_langs, 1};
    cand.avail = (1u << 0) | (1u << 1);
    kb_cand_derive(&cand);
    kb_weights_default(&weights);
    kb_query_init(&q, &need, &weights, TODAY, YEAR, NULL, 0);
}

TestSuite(score, .init = setup);

static int check_at(double km) {
    kb_cand_derive(&cand);
    kb_query_init(&q, &need, &weights, TODAY, YEAR, q.paired, q.npaired);
    return kb_score_check(&q, &cand, 3, kb_geo_chord2_of_km(km));
}
static int check(void) { return check_at(5.0); }

Test(score, a_fitting_candidate_passes) { cr_assert_eq(check(), KB_X_COUNT); }

Test(score, distance_beyond_either_radius) {
    cr_assert_eq(check_at(9.9), KB_X_COUNT);
    cr_assert_eq(check_at(10.1), KB_X_DISTANCE, "beyond the need's 10 km");
    cand.max_chord2 = kb_geo_chord2_of_km(4);
    cr_assert_eq(check_at(5), KB_X_DISTANCE, "beyond the volunteer's own 4 km");
}

Test(score, inactive_and_full) {
    cand.active = false;
    cr_assert_eq(check(), KB_X_INACTIVE);
    cand.active = true;
    cand.load = 2;
    cr_assert_eq(check(), KB_X_CAPACITY);
    cand.load = 3; /* a replace lowered capacity below the load */
    cr_assert_eq(check(), KB_X_CAPACITY);
    cand.load = 1;
    cr_assert_eq(check(), KB_X_COUNT);
}

Test(score, every_required_skill_is_needed) {
    cand.skills.n = 1; /* {1} lacks 2 */
    cr_assert_eq(check(), KB_X_SKILLS);
    /* Ids past the mask bits share bit 63: the merge decides. */
    uint32_t req[] = {5, 100}, has[] = {5, 70}, all[] = {5, 100};
    need.skills_required = (kb_toks_t){req, 2};
    cand.skills = (kb_toks_t){has, 2};
    cr_assert_eq(check(), KB_X_SKILLS);
    cand.skills = (kb_toks_t){all, 2};
    cr_assert_eq(check(), KB_X_COUNT);
    need.skills_required.n = 1; /* just 5 */
    cand.skills = (kb_toks_t){req + 1, 1};
    cr_assert_eq(check(), KB_X_SKILLS);
}

Test(score, one_shared_language_is_enough) {
    uint32_t other[] = {12}, big_need[] = {70}, big_cand[] = {80};
    cand.langs = (kb_toks_t){other, 1};
    cr_assert_eq(check(), KB_X_LANGUAGE);
    cand.langs.n = 0;
    cr_assert_eq(check(), KB_X_LANGUAGE);
    need.langs = (kb_toks_t){big_need, 1};
    cand.langs = (kb_toks_t){big_cand, 1};
    cr_assert_eq(check(), KB_X_LANGUAGE, "70 and 80 share a mask bit, not a language");
    need.langs.n = 0;
    cr_assert_eq(check(), KB_X_COUNT, "a need without languages takes any");
}

Test(score, availability_must_overlap_when_both_list_it) {
    cand.avail = 1u << 5;
    cr_assert_eq(check(), KB_X_AVAILABILITY);
    cand.avail = 0;
    cr_assert_eq(check(), KB_X_COUNT, "a candidate without availability is not excluded");
    cand.avail = 1u << 5;
    need.avail = 0;
    cr_assert_eq(check(), KB_X_COUNT);
}

Test(score, volunteers_for_children_need_a_valid_certificate) {
    need.person_age = 14;
    cr_assert_eq(check(), KB_X_CHILD_CERTIFICATE);
    cand.cert_until = TODAY - 1;
    cr_assert_eq(check(), KB_X_CHILD_CERTIFICATE);
    cand.cert_until = TODAY;
    cr_assert_eq(check(), KB_X_COUNT);
    cand.cert_until = KB_NO_DATE;
    need.person_age = 15;
    cr_assert_eq(check(), KB_X_COUNT);
}

Test(score, activities_have_an_age_range_and_no_certificate) {
    cand.type = KB_ACTIVITY;
    cand.age_min = 10;
    cand.age_max = 14;
    need.person_age = 9;
    cr_assert_eq(check(), KB_X_AGE_RANGE);
    need.person_age = 15;
    cr_assert_eq(check(), KB_X_AGE_RANGE);
    need.person_age = 10;
    cr_assert_eq(check(), KB_X_COUNT, "no certificate asked of an activity");
    need.person_age = 14;
    cr_assert_eq(check(), KB_X_COUNT);
}

Test(score, paired_candidates_by_type_and_slot) {
    const uint64_t paired[] = {kb_cand_key(KB_VOLUNTEER, 2), kb_cand_key(KB_VOLUNTEER, 3),
                               kb_cand_key(KB_ACTIVITY, 7)};
    q.paired = paired;
    q.npaired = 3;
    cr_assert_eq(check(), KB_X_PAIRED); /* volunteer slot 3 */
    cand.type = KB_ACTIVITY;
    cand.age_max = 120;
    cr_assert_eq(check(), KB_X_COUNT, "activity slot 3 is another candidate");
    kb_query_init(&q, &need, &weights, TODAY, YEAR, paired, 3);
    cr_assert_eq(kb_score_check(&q, &cand, 7, 0), KB_X_PAIRED);
}

/* A candidate failing everything reports the first reason in the
 * documented order; fixing each in turn reveals the next. */
Test(score, reasons_come_in_the_documented_order) {
    const uint64_t paired[] = {kb_cand_key(KB_VOLUNTEER, 3)};
    q.paired = paired;
    q.npaired = 1;
    need.person_age = 10;
    cand.active = false;
    cand.load = 2;
    cand.skills.n = 1;
    cand.langs.n = 0;
    cand.avail = 1u << 7;
    cr_assert_eq(check_at(50), KB_X_DISTANCE);
    cr_assert_eq(check(), KB_X_INACTIVE);
    cand.active = true;
    cr_assert_eq(check(), KB_X_CAPACITY);
    cand.load = 0;
    cr_assert_eq(check(), KB_X_SKILLS);
    cand.skills.n = 3;
    cr_assert_eq(check(), KB_X_LANGUAGE);
    cand.langs.n = 1;
    cr_assert_eq(check(), KB_X_AVAILABILITY);
    cand.avail = 0;
    cr_assert_eq(check(), KB_X_CHILD_CERTIFICATE);
    cand.cert_until = TODAY + 365;
    cr_assert_eq(check(), KB_X_PAIRED);
    cr_assert_str_eq(kb_excl_names[KB_X_CHILD_CERTIFICATE], "child_certificate");
    cr_assert_str_eq(kb_excl_names[KB_X_PAIRED], "paired");
}

static double comps[KB_C_COUNT];

static double score_at(double km) {
    kb_cand_derive(&cand);
    kb_query_init(&q, &need, &weights, TODAY, YEAR, NULL, 0);
    return kb_score(&q, &cand, km, comps);
}

Test(score, distance_is_one_minus_share_of_radius) {
    score_at(0);
    cr_assert_float_eq(comps[KB_C_DISTANCE], 1.0, 1e-12);
    score_at(2.5);
    cr_assert_float_eq(comps[KB_C_DISTANCE], 0.75, 1e-12);
    score_at(10);
    cr_assert_float_eq(comps[KB_C_DISTANCE], 0.0, 1e-12);
    score_at(12);
    cr_assert_float_eq(comps[KB_C_DISTANCE], 0.0, 1e-12, "clamped at 0");
}

Test(score, skills_and_experience_are_shares_of_what_is_wanted) {
    uint32_t wanted[] = {1, 2, 3, 4}, has[] = {2, 4, 9}, exp_w[] = {20, 21, 22}, exp_h[] = {21};
    score_at(1);
    cr_assert_float_eq(comps[KB_C_SKILLS], 1.0, 1e-12, "nothing wanted");
    cr_assert_float_eq(comps[KB_C_EXPERIENCE], 1.0, 1e-12);
    need.skills_wanted = (kb_toks_t){wanted, 4};
    cand.skills = (kb_toks_t){has, 3};
    need.exp_wanted = (kb_toks_t){exp_w, 3};
    cand.exp = (kb_toks_t){exp_h, 1};
    score_at(1);
    cr_assert_float_eq(comps[KB_C_SKILLS], 0.5, 1e-12);
    cr_assert_float_eq(comps[KB_C_EXPERIENCE], 1.0 / 3, 1e-12);
    /* Past the mask bits, by merge. */
    uint32_t wanted_big[] = {5, 100}, has_big[] = {70};
    need.skills_wanted = (kb_toks_t){wanted_big, 2};
    cand.skills = (kb_toks_t){has_big, 1};
    score_at(1);
    cr_assert_float_eq(comps[KB_C_SKILLS], 0.0, 1e-12);
    /* Activities have no experience to compare. */
    cand.type = KB_ACTIVITY;
    score_at(1);
    cr_assert_float_eq(comps[KB_C_EXPERIENCE], 1.0, 1e-12);
}

Test(score, availability_is_the_share_of_the_needs_slots) {
    need.avail = (1u << 0) | (1u << 3) | (1u << 6) | (1u << 9);
    cand.avail = (1u << 3) | (1u << 4);
    score_at(1);
    cr_assert_float_eq(comps[KB_C_AVAILABILITY], 0.25, 1e-12);
    cand.avail = 0;
    score_at(1);
    cr_assert_float_eq(comps[KB_C_AVAILABILITY], 1.0, 1e-12);
    cand.avail = 1u << 3;
    need.avail = 0;
    score_at(1);
    cr_assert_float_eq(comps[KB_C_AVAILABILITY], 1.0, 1e-12);
}

/* Wanted: 2..10 years older than the 30-year-old; 0 at 10 years outside. */
Test(score, age_decays_over_ten_years_outside_the_gap) {
    need.has_age_gap = true;
    need.gap_min = 2;
    need.gap_max = 10;
    const struct {
        int older;
        double want;
    } cases[] = {
        {2, 1.0},  {6, 1.0},  {10, 1.0}, {13, 0.7},  {-1, 0.7},
        {19, 0.1}, {20, 0.0}, {35, 0.0}, {-30, 0.0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cand.birth_year = (int16_t)(YEAR - 30 - cases[i].older);
        score_at(1);
        cr_assert_float_eq(comps[KB_C_AGE], cases[i].want, 1e-12, "%d years older", cases[i].older);
    }
    cand.birth_year = 0;
    score_at(1);
    cr_assert_float_eq(comps[KB_C_AGE], 1.0, 1e-12, "no birth year given");
    cand.birth_year = YEAR - 80;
    need.has_age_gap = false;
    score_at(1);
    cr_assert_float_eq(comps[KB_C_AGE], 1.0, 1e-12, "no gap wanted");
}

Test(score, load_is_the_free_share_of_capacity) {
    cand.capacity = 4;
    cand.load = 1;
    score_at(1);
    cr_assert_float_eq(comps[KB_C_LOAD], 0.75, 1e-12);
    cand.load = 0;
    score_at(1);
    cr_assert_float_eq(comps[KB_C_LOAD], 1.0, 1e-12);
    cand.load = 5;
    score_at(1);
    cr_assert_float_eq(comps[KB_C_LOAD], 0.0, 1e-12, "clamped when over capacity");
}

/* Default weights 3, 2, 2, 1, 1, 1 over skills, distance, availability,
 * age, experience, load. */
Test(score, score_is_the_weighted_mean) {
    uint32_t wanted[] = {1, 2}, exp_w[] = {20, 21}, exp_h[] = {20};
    need.skills_wanted = (kb_toks_t){wanted, 2}; /* has 1, 2: 1.0 */
    need.exp_wanted = (kb_toks_t){exp_w, 2};     /* 0.5 */
    cand.exp = (kb_toks_t){exp_h, 1};
    need.avail = (1u << 0) | (1u << 1) | (1u << 2) | (1u << 3); /* cand has 0, 1: 0.5 */
    need.has_age_gap = true;
    need.gap_min = 0;
    need.gap_max = 5;
    cand.birth_year = YEAR - 30 - 8; /* 3 years too old: 0.7 */
    cand.capacity = 4;
    cand.load = 3;            /* 0.25 */
    double s = score_at(2.5); /* 0.75 */
    double want = (3 * 1.0 + 2 * 0.75 + 2 * 0.5 + 1 * 0.7 + 1 * 0.5 + 1 * 0.25) / 10;
    cr_assert_float_eq(s, want, 1e-12);
    /* Only distance weighed: the score is the distance component. */
    memset(&weights, 0, sizeof weights);
    weights.w[KB_C_DISTANCE] = 5;
    cr_assert_float_eq(score_at(2.5), 0.75, 1e-12);
    memset(&weights, 0, sizeof weights);
    cr_assert_float_eq(score_at(2.5), 0.0, 1e-12, "no weights, no score");
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(uint32_t n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* Random tokens from [0, range) into ids, sorted and distinct. */
static kb_toks_t random_toks(uint32_t *ids, uint32_t max, uint32_t range) {
    uint16_t n = 0;
    for (uint32_t v = 0; v < range && n < max; v++)
        if (rnd(range) < max) ids[n++] = v;
    return (kb_toks_t){ids, n};
}

Test(score, bound_is_never_below_a_real_score) {
    uint32_t ids[6][8];
    for (int iter = 0; iter < 20000; iter++) {
        need.max_km = (float)(1 + rnd(50));
        need.skills_wanted = random_toks(ids[0], 4, iter % 2 ? 8 : 90);
        need.exp_wanted = random_toks(ids[1], 3, 6);
        need.avail = rnd(1u << 21);
        need.has_age_gap = rnd(2);
        need.gap_min = (int8_t)rnd(10);
        need.gap_max = (int8_t)(need.gap_min + rnd(20));
        need.person_age = (uint8_t)rnd(90);
        cand.type = (uint8_t)rnd(2);
        cand.skills = random_toks(ids[2], 8, iter % 2 ? 8 : 90);
        cand.exp = random_toks(ids[3], 4, 6);
        cand.avail = rnd(1u << 21);
        cand.birth_year = (int16_t)(rnd(3) ? 1930 + rnd(90) : 0);
        cand.capacity = (uint16_t)(1 + rnd(5));
        cand.load = (uint16_t)rnd(cand.capacity + 2);
        for (int k = 0; k < KB_C_COUNT; k++) weights.w[k] = rnd(4) ? rnd(1000) / 100.0 : 0;
        double d = rnd(60000) / 1000.0;
        double s = score_at(d);
        double min_km = d * (rnd(1000) / 1000.0);
        cr_assert_leq(s, kb_score_bound(&q, d), "iter %d", iter);
        cr_assert_leq(kb_score_bound(&q, d), kb_score_bound(&q, min_km), "iter %d", iter);
        cr_assert_geq(s, 0.0);
        cr_assert_leq(s, 1.0);
    }
}

Test(score, kinds_want_their_candidate_types) {
    cr_assert(kb_kind_wants(KB_KIND_MENTOR, KB_VOLUNTEER));
    cr_assert(!kb_kind_wants(KB_KIND_MENTOR, KB_ACTIVITY));
    cr_assert(kb_kind_wants(KB_KIND_VISIT, KB_VOLUNTEER));
    cr_assert(!kb_kind_wants(KB_KIND_VISIT, KB_ACTIVITY));
    cr_assert(kb_kind_wants(KB_KIND_ACTIVITY, KB_ACTIVITY));
    cr_assert(!kb_kind_wants(KB_KIND_ACTIVITY, KB_VOLUNTEER));
    cr_assert(kb_kind_wants(KB_KIND_ANY, KB_VOLUNTEER));
    cr_assert(kb_kind_wants(KB_KIND_ANY, KB_ACTIVITY));
}
