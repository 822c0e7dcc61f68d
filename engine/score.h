/* score.h — hard constraints and soft components of a need × candidate pair.
 *
 * A kb_query_t is a need prepared once per query (its radius as a chord,
 * the weights' sum, today's date) so that checking a candidate costs a few
 * comparisons. kb_score_check returns the *first* constraint a candidate
 * fails, in a fixed order, so "excluded" counts add up to the candidates
 * looked at and each is counted once:
 *
 *   distance, inactive, capacity, skills, language, availability,
 *   child_certificate (volunteers, person under 15), age_range (activities),
 *   paired (declined for this need, or already proposed or accepted).
 *
 * Components are each in [0, 1] and 1 when there is nothing to compare;
 * score is their weighted mean. kb_score_bound is the best score any
 * candidate at a given distance could reach: since every step of the score
 * is a monotone floating-point operation of non-negative terms, a real
 * score never exceeds the bound computed the same way. */
#ifndef KB_SCORE_H
#define KB_SCORE_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

enum kb_comp {
    KB_C_SKILLS,
    KB_C_DISTANCE,
    KB_C_AVAILABILITY,
    KB_C_AGE,
    KB_C_EXPERIENCE,
    KB_C_LOAD,
    KB_C_COUNT
};

enum kb_excl {
    KB_X_DISTANCE,
    KB_X_INACTIVE,
    KB_X_CAPACITY,
    KB_X_SKILLS,
    KB_X_LANGUAGE,
    KB_X_AVAILABILITY,
    KB_X_CHILD_CERTIFICATE,
    KB_X_AGE_RANGE,
    KB_X_PAIRED,
    KB_X_COUNT /* = passes */
};

typedef struct kb_weights {
    double w[KB_C_COUNT];
} kb_weights_t;

/* Candidate key for pair exclusion: type in the top bits, slot below. */
static inline uint64_t kb_cand_key(int type, uint32_t slot) {
    return ((uint64_t)type << 32) | slot;
}

typedef struct kb_query {
    const kb_need_t *need;
    double chord2_max; /* the need's radius */
    double chord_max;  /* its square root */
    double wsum;
    kb_weights_t weights;
    int32_t today; /* days since 1970-01-01 */
    int current_year;
    /* kb_toks_mask()s of the need's lists, and whether each is exact
     * (kb_toks_small): then no candidate's token arrays are read. */
    uint64_t required_mask, lang_mask, wanted_mask, exp_mask;
    bool required_exact, lang_exact, wanted_exact, exp_exact;
    const uint64_t *paired; /* sorted kb_cand_key()s excluded for this need */
    uint32_t npaired;
} kb_query_t;

extern const char *const kb_comp_names[KB_C_COUNT];
extern const char *const kb_excl_names[KB_X_COUNT];

void kb_weights_default(kb_weights_t *w);
void kb_query_init(kb_query_t *q, const kb_need_t *need, const kb_weights_t *w, int32_t today,
                   int current_year, const uint64_t *paired, uint32_t npaired);
/* KB_X_COUNT if c passes every hard constraint, else the first it fails.
 * chord2 is kb_geo_chord2(need, candidate). */
int kb_score_check(const kb_query_t *q, const kb_cand_t *c, uint32_t slot, double chord2);
/* Score of a candidate that passed; comps (may be NULL) receives the parts. */
double kb_score(const kb_query_t *q, const kb_cand_t *c, double dist_km, double *comps);
double kb_score_bound(const kb_query_t *q, double min_km);
/* From a candidate's hot record alone (type is its kb_cand_type_t): false
 * if the candidate surely fails a hard constraint, or surely scores below
 * min_score; true if it may pass and reach it (then its record decides).
 * Pass -INFINITY for "any score". */
bool kb_score_hot(const kb_query_t *q, int type, const kb_hot_t *h, double min_score);
/* Does need kind k look for candidates of type t? */
bool kb_kind_wants(int kind, int type);

#endif
