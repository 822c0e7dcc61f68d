/* score.c — see score.h. */
#include "score.h"

#include <math.h>

const char *const kb_comp_names[KB_C_COUNT] = {"skills", "distance",   "availability",
                                               "age",    "experience", "load"};
const char *const kb_excl_names[KB_X_COUNT] = {
    "distance",     "inactive",          "capacity",  "skills", "language",
    "availability", "child_certificate", "age_range", "paired"};

/* Years outside the wanted age gap at which the age component reaches 0. */
#define AGE_DECAY_YEARS 10.0

void kb_weights_default(kb_weights_t *w) {
    w->w[KB_C_SKILLS] = 3;
    w->w[KB_C_DISTANCE] = 2;
    w->w[KB_C_AVAILABILITY] = 2;
    w->w[KB_C_AGE] = 1;
    w->w[KB_C_EXPERIENCE] = 1;
    w->w[KB_C_LOAD] = 1;
}

void kb_query_init(kb_query_t *q, const kb_need_t *need, const kb_weights_t *w, int32_t today,
                   int current_year, const uint64_t *paired, uint32_t npaired) {
    q->need = need;
    q->chord2_max = kb_geo_chord2_of_km(need->max_km);
    q->chord_max = sqrt(q->chord2_max);
    q->weights = *w;
    q->wsum = 0;
    for (int i = 0; i < KB_C_COUNT; i++) q->wsum += w->w[i];
    q->today = today;
    q->current_year = current_year;
    q->paired = paired;
    q->npaired = npaired;
    q->required_mask = kb_toks_mask(&need->skills_required);
    q->lang_mask = kb_toks_mask(&need->langs);
    q->wanted_mask = kb_toks_mask(&need->skills_wanted);
    q->exp_mask = kb_toks_mask(&need->exp_wanted);
    q->required_exact = kb_toks_small(&need->skills_required);
    q->lang_exact = kb_toks_small(&need->langs);
    q->wanted_exact = kb_toks_small(&need->skills_wanted);
    q->exp_exact = kb_toks_small(&need->exp_wanted);
}

/* |need ∩ c| for a need list with mask m: a popcount when the list is
 * exact, a merge otherwise. */
static unsigned common(bool exact, uint64_t m, uint64_t cmask, const kb_toks_t *need,
                       const kb_toks_t *c) {
    return exact ? (unsigned)__builtin_popcountll(m & cmask) : kb_toks_common(need, c);
}

bool kb_kind_wants(int kind, int type) {
    if (kind == KB_KIND_ANY) return true;
    return type == (kind == KB_KIND_ACTIVITY ? KB_ACTIVITY : KB_VOLUNTEER);
}

static bool is_paired(const kb_query_t *q, uint64_t key) {
    uint32_t lo = 0, hi = q->npaired;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (q->paired[mid] < key) lo = mid + 1;
        else hi = mid;
    }
    return lo < q->npaired && q->paired[lo] == key;
}

static bool shares_language(const kb_toks_t *a, const kb_toks_t *b) {
    return kb_toks_common(a, b) > 0;
}

int kb_score_check(const kb_query_t *q, const kb_cand_t *c, uint32_t slot, double chord2) {
    const kb_need_t *n = q->need;
    if (chord2 > q->chord2_max || chord2 > c->max_chord2) return KB_X_DISTANCE;
    if (!c->active) return KB_X_INACTIVE;
    if (c->load >= c->capacity) return KB_X_CAPACITY;
    /* A mask test is necessary in any case and sufficient when exact. */
    if (n->skills_required.n &&
        ((q->required_mask & ~c->skill_mask) ||
         (!q->required_exact && !kb_toks_subset(&n->skills_required, &c->skills))))
        return KB_X_SKILLS;
    if (n->langs.n && (!(q->lang_mask & c->lang_mask) ||
                       (!q->lang_exact && !shares_language(&n->langs, &c->langs))))
        return KB_X_LANGUAGE;
    if (n->avail && c->avail && !(n->avail & c->avail)) return KB_X_AVAILABILITY;
    if (c->type == KB_VOLUNTEER) {
        if (n->person_age < 15 && (c->cert_until == KB_NO_DATE || c->cert_until < q->today))
            return KB_X_CHILD_CERTIFICATE;
    } else if (n->person_age < c->age_min || n->person_age > c->age_max) {
        return KB_X_AGE_RANGE;
    }
    if (q->npaired && is_paired(q, kb_cand_key(c->type, slot))) return KB_X_PAIRED;
    return KB_X_COUNT;
}

static double share(unsigned have, unsigned want) { return want ? (double)have / want : 1.0; }

static double age_component(const kb_query_t *q, int type, int birth_year) {
    const kb_need_t *n = q->need;
    if (type != KB_VOLUNTEER || !n->has_age_gap || !birth_year) return 1.0;
    int gap = (q->current_year - birth_year) - n->person_age;
    int outside = gap < n->gap_min ? n->gap_min - gap : (gap > n->gap_max ? gap - n->gap_max : 0);
    double v = 1.0 - outside / AGE_DECAY_YEARS;
    return v > 0 ? v : 0;
}

/* The weighted mean, written once so score and bound round identically. */
static double weighted(const kb_query_t *q, const double *comp) {
    double sum = 0;
    for (int i = 0; i < KB_C_COUNT; i++) sum += q->weights.w[i] * comp[i];
    return q->wsum > 0 ? sum / q->wsum : 0;
}

static double distance_component(const kb_query_t *q, double km) {
    double v = 1.0 - km / q->need->max_km;
    return v > 0 ? v : 0;
}

static double avail_component(kb_slots_t need, kb_slots_t c) {
    return need && c ? share((unsigned)kb_slots_count(need & c), (unsigned)kb_slots_count(need))
                     : 1.0;
}

double kb_score(const kb_query_t *q, const kb_cand_t *c, double dist_km, double *comps) {
    const kb_need_t *n = q->need;
    double comp[KB_C_COUNT];
    comp[KB_C_SKILLS] =
        share(common(q->wanted_exact, q->wanted_mask, c->skill_mask, &n->skills_wanted, &c->skills),
              n->skills_wanted.n);
    comp[KB_C_DISTANCE] = distance_component(q, dist_km);
    comp[KB_C_AVAILABILITY] = avail_component(n->avail, c->avail);
    comp[KB_C_AGE] = age_component(q, c->type, c->birth_year);
    comp[KB_C_EXPERIENCE] =
        c->type == KB_VOLUNTEER
            ? share(common(q->exp_exact, q->exp_mask, c->exp_mask, &n->exp_wanted, &c->exp),
                    n->exp_wanted.n)
            : 1.0;
    /* A replace may lower capacity below the accepted load: clamp. */
    comp[KB_C_LOAD] = c->load < c->capacity ? 1.0 - (double)c->load / c->capacity : 0.0;
    if (comps)
        for (int i = 0; i < KB_C_COUNT; i++) comps[i] = comp[i];
    return weighted(q, comp);
}

/* The hot record repeats kb_score_check's tests that need nothing but
 * masks, and bounds the score with the components it can compute exactly
 * (availability, age, and skills and experience when their masks are
 * exact); the rest count as 1. The distance is bounded from below: the
 * float position is within KB_HOT_POS_ERR of the record's, and an arc is
 * never shorter than its chord. */
bool kb_score_hot(const kb_query_t *q, int type, const kb_hot_t *h, double min_score) {
    const kb_need_t *n = q->need;
    double dx = h->x - n->pos.x, dy = h->y - n->pos.y, dz = h->z - n->pos.z;
    double chord = sqrt(dx * dx + dy * dy + dz * dz) - KB_HOT_POS_ERR;
    if (chord > q->chord_max || chord > h->max_chord) return false;
    if (!h->active) return false;
    if (n->skills_required.n && (q->required_mask & ~h->skill_mask)) return false;
    if (n->langs.n && !(q->lang_mask & h->lang_mask)) return false;
    if (n->avail && h->avail && !(n->avail & h->avail)) return false;
    if (type == KB_VOLUNTEER) {
        if (n->person_age < 15 && (h->cert_until == KB_NO_DATE || h->cert_until < q->today))
            return false;
    } else if (n->person_age < h->age_min || n->person_age > h->age_max) {
        return false;
    }
    if (min_score == -INFINITY) return true;

    double comp[KB_C_COUNT];
    comp[KB_C_SKILLS] = q->wanted_exact
                            ? share((unsigned)__builtin_popcountll(q->wanted_mask & h->skill_mask),
                                    n->skills_wanted.n)
                            : 1.0;
    comp[KB_C_DISTANCE] = distance_component(q, chord > 0 ? chord * KB_EARTH_RADIUS_KM : 0);
    comp[KB_C_AVAILABILITY] = avail_component(n->avail, h->avail);
    comp[KB_C_AGE] = age_component(q, type, h->birth_year);
    comp[KB_C_EXPERIENCE] =
        type == KB_VOLUNTEER && q->exp_exact
            ? share((unsigned)__builtin_popcountll(q->exp_mask & h->exp_mask), n->exp_wanted.n)
            : 1.0;
    comp[KB_C_LOAD] = 1.0;
    return weighted(q, comp) >= min_score;
}

double kb_score_bound(const kb_query_t *q, double min_km) {
    double comp[KB_C_COUNT];
    for (int i = 0; i < KB_C_COUNT; i++) comp[i] = 1.0;
    comp[KB_C_DISTANCE] = distance_component(q, min_km);
    return weighted(q, comp);
}
