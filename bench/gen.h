/* gen.h — reproducible synthetic data for benchmarks, tests and the demo.
 *
 * Benchmarks are only comparable when every run matches against the same
 * data, and a bug found on "volunteer 81234 of seed 42" is only useful if
 * that volunteer can be produced again alone. So every entity is a pure
 * function of (seed, entity type, n): each call reseeds a private PRNG
 * (xoshiro256** seeded through splitmix64) from those three values. Output
 * is byte-identical for the same seed whatever else was generated, in
 * whatever order, and needs no state beyond the seed and the towns table.
 *
 * Realism comes from the towns: 339 Danish towns with population
 * (bench/data/dk_towns.tsv). A point picks a town with probability
 * proportional to its population, then lands around the town centre with a
 * Gaussian spread that grows with the town (0.6 km * sqrt(pop / 1000),
 * capped at 12 km), so Copenhagen is dense and Lolland is sparse, as the
 * engine must expect. Skills, languages, ages and time slots follow skewed
 * tables (mentors young, visitors old, evenings and weekends busy).
 *
 * Entities come back as Jansson objects in the public JSON format of
 * DESIGN.md "Data model" (the body of PUT /v1/{type}/{id}; the id itself is
 * "v-<n>", "o-<n>", "a-<n>", "n-<n>" and not part of the body). The caller
 * owns each returned json_t and releases it with json_decref.
 *
 * kb_gen_demo() gives instead a small hand-written Danish data set whose
 * stories (a school leaver and a peer mentor in Guldborgsund, an expired
 * child certificate in Odense, a need in Skagen nobody can meet) make the
 * engine's explanations easy to show. */
#ifndef KB_GEN_H
#define KB_GEN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* xoshiro256** state. Any value produced by kb_gen_rng_seed is valid. */
typedef struct kb_gen_rng {
    uint64_t s[4];
} kb_gen_rng_t;

void kb_gen_rng_seed(kb_gen_rng_t *r, uint64_t seed);
uint64_t kb_gen_rng_next(kb_gen_rng_t *r);
/* Uniform in [0, 1), 53 random bits. */
double kb_gen_rng_uniform(kb_gen_rng_t *r);
/* Uniform integer in [lo, hi], inclusive; requires lo <= hi. */
int kb_gen_rng_range(kb_gen_rng_t *r, int lo, int hi);
/* Standard normal deviate (Box-Muller). */
double kb_gen_rng_gauss(kb_gen_rng_t *r);

typedef struct kb_gen_town {
    char *name;           /* UTF-8, as in the file */
    char *slug;           /* ASCII id fragment: "Nykøbing Falster" -> "nykoebing-falster" */
    double lat, lon;      /* centre, degrees */
    uint32_t population;  /* may be 0: never picked by kb_gen_town_pick */
    int region;           /* GeoNames admin1: 17 Capital .. 21 Southern Denmark */
    char municipality[5]; /* 4-digit code, e.g. "0376" */
    const char *municipality_name; /* "Guldborgsund"; static storage */
    const char *municipality_slug; /* "guldborgsund"; static storage */
} kb_gen_town_t;

typedef struct kb_gen_towns {
    kb_gen_town_t *town;
    size_t count;
    double *cumulative; /* cumulative[i] = population of towns 0..i */
    double total;       /* population of all towns */
} kb_gen_towns_t;

/* Loads a towns TSV (header line, then name, lat, lon, population,
 * admin code, geonames id). On success *out is owned by the caller and freed
 * with kb_gen_towns_free. Returns KB_EIO when the file cannot be read,
 * KB_ESYNTAX for a malformed line or an empty table, KB_ENOMEM. */
int kb_gen_towns_load(const char *path, kb_gen_towns_t **out);
void kb_gen_towns_free(kb_gen_towns_t *t);
/* Index of the first town named exactly name (UTF-8, e.g. "Nakskov",
 * "Copenhagen", "Århus"), or KB_ENOTFOUND. */
int kb_gen_town_find(const kb_gen_towns_t *t, const char *name);
/* A town index drawn with probability proportional to population. */
int kb_gen_town_pick(const kb_gen_towns_t *t, kb_gen_rng_t *r);
/* A point around town's centre (see top of file), rounded to 1e-5 degrees
 * (about 1 m) so the JSON stays short and stable. */
void kb_gen_town_place(const kb_gen_towns_t *t, int town, kb_gen_rng_t *r, double *lat,
                       double *lon);
/* Standard deviation of the spread around town, km. */
double kb_gen_town_spread_km(const kb_gen_town_t *town);

/* A generator is a seed and a borrowed towns table; it holds no other state,
 * so one may be shared by threads generating disjoint ranges of n. */
typedef struct kb_gen {
    const kb_gen_towns_t *towns;
    uint64_t seed;
} kb_gen_t;

void kb_gen_init(kb_gen_t *g, const kb_gen_towns_t *towns, uint64_t seed);

/* Need profiles of the generated population; KB_GEN_NEED_ANY draws one with
 * realistic shares (youth 30%, visit 25%, language 15%, child activity 20%,
 * child mentor 10%). */
typedef enum kb_gen_need_kind {
    KB_GEN_NEED_ANY = 0,
    KB_GEN_NEED_YOUTH_MENTOR,   /* 16-24, left school: peer mentor, "mentor" */
    KB_GEN_NEED_ELDER_VISIT,    /* 70-95, lonely: visiting friend, "visit" */
    KB_GEN_NEED_LANGUAGE_BUDDY, /* refugee family: language buddy, "mentor" */
    KB_GEN_NEED_CHILD_ACTIVITY, /* 7-14: homework café, sports, ..., "activity" */
    KB_GEN_NEED_CHILD_MENTOR,   /* 9-14: needs a child certificate, "mentor" */
    KB_GEN_NEED_KINDS
} kb_gen_need_kind_t;

/* Flags for kb_gen_need_at. */
enum { KB_GEN_AT_CENTRE = 1 }; /* exactly at the town centre, no spread */

/* Bodies of entity n of each type; the caller owns the result (json_decref).
 * NULL only when out of memory. */
json_t *kb_gen_volunteer(const kb_gen_t *g, uint64_t n);
json_t *kb_gen_organisation(const kb_gen_t *g, uint64_t n);
json_t *kb_gen_activity(const kb_gen_t *g, uint64_t n);
json_t *kb_gen_need(const kb_gen_t *g, uint64_t n);
/* Need n located in town (an index from kb_gen_town_find), of the given
 * profile. Differs from kb_gen_need(g, n) even for the same n and town, as
 * its random stream is separate. */
json_t *kb_gen_need_at(const kb_gen_t *g, uint64_t n, int town, kb_gen_need_kind_t kind,
                       unsigned flags);

/* Entity id into buf: prefix "v", "o", "a" or "n", then "-<n>". Returns the
 * length, as snprintf. */
int kb_gen_id(char *buf, size_t size, const char *prefix, uint64_t n);

/* Writes body (an object or array) into buf, no NUL terminator: the same
 * bytes as json_dumpb(body, buf, size, JSON_COMPACT | JSON_REAL_PRECISION(7)),
 * about three times faster. Like json_dumpb, returns the length needed,
 * which may exceed size (then buf holds a truncated prefix and the caller
 * retries with a larger buffer), and 0 on error. */
size_t kb_gen_dump(const json_t *body, char *buf, size_t size);

/* The hand-written demo set, one entity at a time: i from 0 while the
 * function returns 0. *type is "organisation", "activity", "volunteer" or
 * "need" (organisations first, then activities, volunteers, needs), *id a
 * static string, *body owned by the caller. Returns KB_ENOTFOUND past the
 * end, KB_ENOMEM. */
int kb_gen_demo(size_t i, const char **type, const char **id, json_t **body);
size_t kb_gen_demo_count(void);

#endif
