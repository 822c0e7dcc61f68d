/* test_gen.c — the benchmark data generator (bench/gen.c).
 *
 * The generator lives in bench/ and the Makefile links bench helpers only
 * into bench programs, not into tests; including its source here compiles
 * it into this test binary alone, without touching the build rules. */
#include "../bench/gen.c"

#include <criterion/criterion.h>

static kb_gen_towns_t *load_towns(void) {
    /* Tests normally run from the repository root; also allow tests/. */
    static const char *const paths[] = {"bench/data/dk_towns.tsv", "../bench/data/dk_towns.tsv"};
    kb_gen_towns_t *t = NULL;
    int rc = KB_EIO;
    for (size_t i = 0; i < COUNT(paths) && rc < 0; i++) rc = kb_gen_towns_load(paths[i], &t);
    cr_assert_eq(rc, 0, "cannot load dk_towns.tsv: %d", rc);
    return t;
}

typedef json_t *(*gen_fn)(const kb_gen_t *g, uint64_t n);

/* Compact JSON of body, malloc'd; consumes body. */
static char *dump(json_t *body) {
    cr_assert_not_null(body);
    char *s = json_dumps(body, DUMP_FLAGS);
    cr_assert_not_null(s);
    json_decref(body);
    return s;
}

static const struct {
    const char *name;
    gen_fn fn;
    uint64_t count;
} kinds[] = {
    {"organisation", kb_gen_organisation, 300},
    {"activity", kb_gen_activity, 500},
    {"volunteer", kb_gen_volunteer, 3000},
    {"need", kb_gen_need, 1000},
};

Test(gen, same_seed_gives_identical_output_in_any_order) {
    kb_gen_towns_t *t1 = load_towns(), *t2 = load_towns();
    kb_gen_t a, b;
    kb_gen_init(&a, t1, 42);
    kb_gen_init(&b, t2, 42);
    for (size_t k = 0; k < COUNT(kinds); k++) {
        uint64_t count = kinds[k].count;
        char **forward = calloc(count + 1, sizeof *forward);
        cr_assert_not_null(forward);
        for (uint64_t n = 1; n <= count; n++) forward[n] = dump(kinds[k].fn(&a, n));
        /* Backwards on another generator: entity n depends on n alone. */
        for (uint64_t n = count; n >= 1; n--) {
            char *again = dump(kinds[k].fn(&b, n));
            cr_assert_str_eq(again, forward[n], "%s %llu differs", kinds[k].name,
                             (unsigned long long)n);
            free(again);
        }
        for (uint64_t n = 1; n <= count; n++) free(forward[n]);
        free(forward);
    }
    kb_gen_towns_free(t1);
    kb_gen_towns_free(t2);
}

Test(gen, different_seed_gives_different_output) {
    kb_gen_towns_t *t = load_towns();
    kb_gen_t a, b;
    kb_gen_init(&a, t, 42);
    kb_gen_init(&b, t, 43);
    for (size_t k = 0; k < COUNT(kinds); k++) {
        uint64_t same = 0, count = 1000;
        for (uint64_t n = 1; n <= count; n++) {
            char *x = dump(kinds[k].fn(&a, n)), *y = dump(kinds[k].fn(&b, n));
            same += strcmp(x, y) == 0;
            free(x);
            free(y);
        }
        /* Organisations have few fields, but a location to 1e-5 degrees
         * alone makes a repeat vanishingly unlikely. */
        cr_assert_lt(same, 5, "%s: %llu of %llu equal across seeds", kinds[k].name,
                     (unsigned long long)same, (unsigned long long)count);
    }
    /* Entities of different types with the same n are unrelated too. */
    char *v = dump(kb_gen_volunteer(&a, 1)), *v2 = dump(kb_gen_volunteer(&a, 2));
    cr_assert_str_neq(v, v2);
    free(v);
    free(v2);
    kb_gen_towns_free(t);
}

static void check_share(const kb_gen_towns_t *t, const char *name, const uint32_t *hits,
                        uint32_t draws, double tolerance) {
    int i = kb_gen_town_find(t, name);
    cr_assert_geq(i, 0, "%s not in towns", name);
    double expected = t->town[i].population / t->total;
    double got = (double)hits[i] / draws;
    cr_assert(fabs(got - expected) <= tolerance, "%s: share %.5f, population share %.5f", name, got,
              expected);
}

Test(gen, towns_are_picked_by_population) {
    kb_gen_towns_t *t = load_towns();
    uint32_t *hits = calloc(t->count, sizeof *hits);
    cr_assert_not_null(hits);
    kb_gen_rng_t r;
    kb_gen_rng_seed(&r, 2024);
    const uint32_t draws = 200000;
    for (uint32_t i = 0; i < draws; i++) {
        int town = kb_gen_town_pick(t, &r);
        cr_assert(town >= 0 && (size_t)town < t->count);
        double lat, lon;
        kb_gen_town_place(t, town, &r, &lat, &lon);
        /* Within the 2.5-sigma truncation of the town (plus rounding). */
        double km = km_between(lat, lon, t->town[town].lat, t->town[town].lon);
        cr_assert_leq(km, 2.5 * kb_gen_town_spread_km(&t->town[town]) * 1.01 + 0.01,
                      "%.2f km from %s", km, t->town[town].name);
        hits[town]++;
    }
    /* Tolerances are about five standard errors of a binomial share. */
    check_share(t, "Copenhagen", hits, draws, 0.005); /* ~25.7% of the file */
    check_share(t, "Odense", hits, draws, 0.002);     /* ~3.2% */
    check_share(t, "Nakskov", hits, draws, 0.0007);   /* ~0.31% */
    /* Towns of population 0 are never picked. */
    for (size_t i = 0; i < t->count; i++)
        if (t->town[i].population == 0) cr_assert_eq(hits[i], 0, "%s", t->town[i].name);
    free(hits);
    kb_gen_towns_free(t);
}

Test(gen, towns_have_plausible_municipalities) {
    kb_gen_towns_t *t = load_towns();
    cr_assert_eq(t->count, 339);
    static const struct {
        const char *town, *code;
    } expect[] = {
        {"Copenhagen", "0101"}, {"Odense", "0461"},           {"Århus", "0751"},
        {"Aalborg", "0851"},    {"Nakskov", "0360"},          {"Maribo", "0360"},
        {"Holeby", "0360"},     {"Nykøbing Falster", "0376"}, {"Rønne", "0400"},
        {"Skagen", "0813"},     {"Frederiksberg", "0147"},
    };
    for (size_t i = 0; i < COUNT(expect); i++) {
        int ti = kb_gen_town_find(t, expect[i].town);
        cr_assert_geq(ti, 0, "%s", expect[i].town);
        cr_assert_str_eq(t->town[ti].municipality, expect[i].code, "%s", expect[i].town);
    }
    for (size_t i = 0; i < t->count; i++) {
        const char *m = t->town[i].municipality;
        cr_assert(strlen(m) == 4 && strspn(m, "0123456789") == 4, "%s", t->town[i].name);
        cr_assert_not_null(t->town[i].municipality_slug);
    }
    int ti = kb_gen_town_find(t, "Nykøbing Falster");
    cr_assert_str_eq(t->town[ti].slug, "nykoebing-falster");
    cr_assert_eq(kb_gen_town_find(t, "Atlantis"), KB_ENOTFOUND);
    kb_gen_towns_t *none = NULL;
    cr_assert_eq(kb_gen_towns_load("/nonexistent/towns.tsv", &none), KB_EIO);
    kb_gen_towns_free(t);
}

/* ---- Field validity ------------------------------------------------------------ */

static int is_token(const char *s) {
    size_t n = strlen(s);
    return n >= 1 && n <= 48 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static int is_id(const char *s) {
    size_t n = strlen(s);
    return n >= 1 && n <= 64 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-") == n;
}

static int is_slot(const char *s) {
    for (int i = 0; i < 21; i++)
        if (strcmp(s, slot_names[i]) == 0) return 1;
    return 0;
}

static int is_language(const char *s) {
    return strlen(s) == 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z';
}

/* YYYY-MM-DD with a plausible month and day. */
static int is_date(const char *s) {
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) return 0;
    int month = (s[5] - '0') * 10 + (s[6] - '0'), day = (s[8] - '0') * 10 + (s[9] - '0');
    return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

/* Every element a string accepted by valid, no duplicates, min..max long. */
static void check_list(const json_t *o, const char *key, int (*valid)(const char *), size_t min,
                       size_t max) {
    const json_t *a = json_object_get(o, key);
    cr_assert(json_is_array(a), "%s is not an array", key);
    size_t n = json_array_size(a);
    cr_assert(n >= min && n <= max, "%s has %zu items", key, n);
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        cr_assert_not_null(s, "%s[%zu] is not a string", key, i);
        cr_assert(valid(s), "%s[%zu] = '%s' is invalid", key, i, s);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(s, json_string_value(json_array_get(a, j)), "%s repeats", key);
    }
}

static void check_only_keys(const json_t *o, const char *const *allowed) {
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        int known = 0;
        for (size_t i = 0; allowed[i]; i++) known |= strcmp(key, allowed[i]) == 0;
        cr_assert(known, "unexpected field '%s'", key);
    }
}

static json_int_t int_in(const json_t *o, const char *key, json_int_t lo, json_int_t hi) {
    const json_t *v = json_object_get(o, key);
    cr_assert(json_is_integer(v), "%s is not an integer", key);
    json_int_t x = json_integer_value(v);
    cr_assert(x >= lo && x <= hi, "%s = %lld outside %lld..%lld", key, (long long)x, (long long)lo,
              (long long)hi);
    return x;
}

static void check_location(const json_t *o) {
    const json_t *loc = json_object_get(o, "location");
    cr_assert(json_is_object(loc) && json_object_size(loc) == 2);
    const json_t *lat = json_object_get(loc, "lat"), *lon = json_object_get(loc, "lon");
    cr_assert(json_is_real(lat) && json_is_real(lon));
    /* Denmark, Bornholm included. */
    cr_assert(json_real_value(lat) >= 54.5 && json_real_value(lat) <= 57.8);
    cr_assert(json_real_value(lon) >= 8.0 && json_real_value(lon) <= 15.25);
}

static int valid_date_in_range(const char *s) {
    return is_date(s) && strcmp(s, "2025-06-30") >= 0 && strcmp(s, "2028-12-31") <= 0;
}

Test(gen, volunteers_have_valid_fields) {
    static const char *const allowed[] = {"org_id",          "location",
                                          "max_distance_km", "skills",
                                          "languages",       "birth_year",
                                          "availability",    "capacity",
                                          "experience",      "child_certificate_until",
                                          "active",          NULL};
    kb_gen_towns_t *t = load_towns();
    kb_gen_t g;
    kb_gen_init(&g, t, 7);
    uint64_t with_cert = 0, active = 0, with_da = 0, count = 20000;
    for (uint64_t n = 1; n <= count; n++) {
        json_t *v = kb_gen_volunteer(&g, n);
        cr_assert_not_null(v);
        check_only_keys(v, allowed);
        const char *org = json_string_value(json_object_get(v, "org_id"));
        cr_assert(org && is_id(org), "org_id '%s'", org ? org : "(null)");
        check_location(v);
        int_in(v, "max_distance_km", 5, 30);
        check_list(v, "skills", is_token, 1, 4);
        check_list(v, "languages", is_language, 1, 4);
        int_in(v, "birth_year", 1945, 2007);
        check_list(v, "availability", is_slot, 2, 6);
        int_in(v, "capacity", 1, 1000);
        int_in(v, "capacity", 1, 3);
        if (json_object_get(v, "experience")) check_list(v, "experience", is_token, 1, 3);
        const json_t *cert = json_object_get(v, "child_certificate_until");
        if (cert) {
            cr_assert(json_is_string(cert) && valid_date_in_range(json_string_value(cert)),
                      "child_certificate_until '%s'", json_string_value(cert));
            with_cert++;
        }
        const json_t *act = json_object_get(v, "active");
        cr_assert(json_is_boolean(act));
        active += json_is_true(act);
        const json_t *langs = json_object_get(v, "languages");
        for (size_t i = 0; i < json_array_size(langs); i++)
            with_da += strcmp(json_string_value(json_array_get(langs, i)), "da") == 0;
        json_decref(v);
    }
    cr_assert(with_cert > count * 35 / 100 && with_cert < count * 45 / 100, "%llu certificates",
              (unsigned long long)with_cert);
    cr_assert(active > count * 93 / 100 && active < count * 97 / 100);
    cr_assert(with_da > count * 95 / 100);
    kb_gen_towns_free(t);
}

Test(gen, other_entities_have_valid_fields) {
    static const char *const org_keys[] = {"name", "kind", "location", NULL};
    static const char *const activity_keys[] = {
        "org_id",       "title",    "location", "skills",  "languages",
        "availability", "capacity", "age_min",  "age_max", NULL};
    static const char *const need_keys[] = {"kind",          "municipality",    "requested_by",
                                            "location",      "max_distance_km", "skills_required",
                                            "skills_wanted", "languages",       "person_age",
                                            "age_gap",       "availability",    "experience_wanted",
                                            "count",         "urgency",         NULL};
    kb_gen_towns_t *t = load_towns();
    kb_gen_t g;
    kb_gen_init(&g, t, 11);
    for (uint64_t n = 1; n <= 2000; n++) {
        json_t *o = kb_gen_organisation(&g, n);
        check_only_keys(o, org_keys);
        cr_assert(json_string_length(json_object_get(o, "name")) > 0);
        const char *kind = json_string_value(json_object_get(o, "kind"));
        cr_assert(strcmp(kind, "municipality") == 0 || strcmp(kind, "volunteer_org") == 0 ||
                  strcmp(kind, "company") == 0 || strcmp(kind, "citizen_group") == 0);
        check_location(o);
        json_decref(o);

        json_t *a = kb_gen_activity(&g, n);
        check_only_keys(a, activity_keys);
        cr_assert(is_id(json_string_value(json_object_get(a, "org_id"))));
        check_location(a);
        check_list(a, "skills", is_token, 1, 2);
        check_list(a, "languages", is_language, 1, 2);
        check_list(a, "availability", is_slot, 1, 4);
        int_in(a, "capacity", 5, 30);
        json_int_t lo = int_in(a, "age_min", 6, 65), hi = int_in(a, "age_max", 12, 99);
        cr_assert_lt(lo, hi);
        json_decref(a);

        json_t *d = kb_gen_need(&g, n);
        check_only_keys(d, need_keys);
        kind = json_string_value(json_object_get(d, "kind"));
        cr_assert(strcmp(kind, "mentor") == 0 || strcmp(kind, "visit") == 0 ||
                  strcmp(kind, "activity") == 0);
        const char *m = json_string_value(json_object_get(d, "municipality"));
        cr_assert(m && strlen(m) == 4 && strspn(m, "0123456789") == 4);
        cr_assert(is_id(json_string_value(json_object_get(d, "requested_by"))));
        check_location(d);
        int_in(d, "max_distance_km", 10, 30);
        check_list(d, "skills_required", is_token, 1, 1);
        if (json_object_get(d, "skills_wanted")) check_list(d, "skills_wanted", is_token, 1, 2);
        check_list(d, "languages", is_language, 1, 2);
        json_int_t age = int_in(d, "person_age", 7, 95);
        check_list(d, "availability", is_slot, 1, 4);
        if (json_object_get(d, "experience_wanted"))
            check_list(d, "experience_wanted", is_token, 1, 1);
        int_in(d, "count", 1, 2);
        int_in(d, "urgency", 1, 3);
        const json_t *gap = json_object_get(d, "age_gap");
        if (gap) {
            cr_assert_str_eq(kind, "mentor");
            cr_assert_lt(int_in(gap, "min", 0, 10), int_in(gap, "max", 1, 30));
        }
        if (strcmp(kind, "visit") == 0) cr_assert(age >= 70);
        if (strcmp(kind, "activity") == 0) cr_assert(age <= 14);
        json_decref(d);
    }
    kb_gen_towns_free(t);
}

Test(gen, need_at_a_named_town) {
    kb_gen_towns_t *t = load_towns();
    kb_gen_t g;
    kb_gen_init(&g, t, 42);
    int nakskov = kb_gen_town_find(t, "Nakskov");
    cr_assert_geq(nakskov, 0);
    json_t *d = kb_gen_need_at(&g, 1, nakskov, KB_GEN_NEED_YOUTH_MENTOR, KB_GEN_AT_CENTRE);
    cr_assert_not_null(d);
    cr_assert_str_eq(json_string_value(json_object_get(d, "municipality")), "0360");
    cr_assert_str_eq(json_string_value(json_object_get(d, "kind")), "mentor");
    cr_assert_str_eq(json_string_value(json_object_get(d, "requested_by")), "lolland-jobcenter");
    const json_t *loc = json_object_get(d, "location");
    cr_assert_float_eq(json_real_value(json_object_get(loc, "lat")), 54.83038, 1e-9);
    cr_assert_float_eq(json_real_value(json_object_get(loc, "lon")), 11.13567, 1e-9);
    json_int_t age = json_integer_value(json_object_get(d, "person_age"));
    cr_assert(age >= 16 && age <= 24);
    json_decref(d);

    int odense = kb_gen_town_find(t, "Odense");
    for (uint64_t n = 1; n <= 200; n++) {
        d = kb_gen_need_at(&g, n, odense, KB_GEN_NEED_CHILD_MENTOR, 0);
        cr_assert_str_eq(json_string_value(json_object_get(d, "municipality")), "0461");
        age = json_integer_value(json_object_get(d, "person_age"));
        cr_assert(age >= 9 && age <= 14);
        json_decref(d);
    }
    cr_assert_null(kb_gen_need_at(&g, 1, -1, KB_GEN_NEED_ANY, 0));
    kb_gen_towns_free(t);
}

/* ---- Dump -------------------------------------------------------------------- */

static void check_dump_matches_jansson(const json_t *body) {
    char fast[4096], ref[4096];
    size_t n = kb_gen_dump(body, fast, sizeof fast);
    size_t m = json_dumpb(body, ref, sizeof ref, DUMP_FLAGS);
    cr_assert(n > 0 && n <= sizeof fast);
    cr_assert_eq(n, m, "length %zu, Jansson %zu: %.*s", n, m, (int)m, ref);
    cr_assert(memcmp(fast, ref, n) == 0, "%.*s\nJansson: %.*s", (int)n, fast, (int)m, ref);
}

Test(gen, dump_is_jansson_compact_output) {
    kb_gen_towns_t *t = load_towns();
    kb_gen_t g;
    kb_gen_init(&g, t, 99);
    for (size_t k = 0; k < COUNT(kinds); k++) {
        for (uint64_t n = 1; n <= kinds[k].count; n++) {
            json_t *body = kinds[k].fn(&g, n);
            check_dump_matches_jansson(body);
            json_decref(body);
        }
    }
    /* The slow paths: escapes, reals that are not 1e-5 multiples. */
    json_t *odd =
        json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:[], s:{}, s:n, s:I}", "quo\"te\n", "tab\there",
                  "r1", 1e-7, "r2", 55.0, "r3", -8.12345, "r4", 123.456789, "r5", 0.5, "empty",
                  "obj", "nothing", "big", (json_int_t)-1234567890123);
    cr_assert_not_null(odd);
    check_dump_matches_jansson(odd);
    /* Too small a buffer: the needed length, as json_dumpb. */
    char tiny[8];
    cr_assert_eq(kb_gen_dump(odd, tiny, sizeof tiny), json_dumpb(odd, NULL, 0, DUMP_FLAGS));
    json_decref(odd);
    kb_gen_towns_free(t);
}

/* ---- Demo -------------------------------------------------------------------- */

static json_t *demo_find(const char *want_id, const char **type) {
    for (size_t i = 0; i < kb_gen_demo_count(); i++) {
        const char *id;
        json_t *body;
        cr_assert_eq(kb_gen_demo(i, type, &id, &body), 0);
        if (strcmp(id, want_id) == 0) return body;
        json_decref(body);
    }
    return NULL;
}

Test(gen, demo_set_tells_its_stories) {
    size_t count = kb_gen_demo_count(), per_type[4] = {0};
    static const char *const order[] = {"organisation", "activity", "volunteer", "need"};
    int last = 0;
    for (size_t i = 0; i < count; i++) {
        const char *type, *id;
        json_t *body;
        cr_assert_eq(kb_gen_demo(i, &type, &id, &body), 0);
        cr_assert(is_id(id), "%s", id);
        int ti = 0;
        while (ti < 4 && strcmp(type, order[ti]) != 0) ti++;
        cr_assert_lt(ti, 4, "type %s", type);
        cr_assert_geq(ti, last, "%s out of order", id);
        last = ti;
        per_type[ti]++;
        check_dump_matches_jansson(body);
        check_location(body);
        for (size_t j = 0; j < i; j++) {
            const char *t2, *id2;
            json_t *b2;
            kb_gen_demo(j, &t2, &id2, &b2);
            cr_assert(strcmp(id, id2) != 0 || strcmp(type, t2) != 0, "duplicate %s", id);
            json_decref(b2);
        }
        json_decref(body);
    }
    cr_assert(per_type[0] >= 6 && per_type[1] >= 6 && per_type[2] >= 25 && per_type[3] >= 10);
    const char *type, *id;
    json_t *body;
    cr_assert_eq(kb_gen_demo(count, &type, &id, &body), KB_ENOTFOUND);

    json_t *n = demo_find("n-ung-nakskov", &type);
    cr_assert_not_null(n);
    cr_assert_str_eq(type, "need");
    cr_assert_eq(json_integer_value(json_object_get(n, "person_age")), 18);
    cr_assert_str_eq(json_string_value(json_object_get(n, "municipality")), "0376");
    json_decref(n);
    json_t *ali = demo_find("v-ali-nykobing", &type);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(ali, "experience"), 0)),
                     "left_school_early");
    json_decref(ali);
    json_t *jonas = demo_find("v-jonas-odense", &type);
    cr_assert_lt(
        strcmp(json_string_value(json_object_get(jonas, "child_certificate_until")), "2025-01-01"),
        0);
    json_decref(jonas);
    json_t *cafe = demo_find("a-lektiecafe-maribo", &type);
    cr_assert_eq(json_integer_value(json_object_get(cafe, "age_min")), 10);
    cr_assert_eq(json_integer_value(json_object_get(cafe, "age_max")), 17);
    json_decref(cafe);
    cr_assert_null(demo_find("v-nobody", &type));
}
