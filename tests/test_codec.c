/* test_codec.c — engine/codec.c and engine/iso639.c: request bodies to
 * records and back, every validation rule, and no side effect on reject. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "iso639.h"
#include "koble/error.h"

#define YEAR 2026

static kb_intern_t tokens;
static kb_codec_ctx_t cx;

static void setup(void) {
    kb_intern_init(&tokens);
    cx = (kb_codec_ctx_t){.tokens = &tokens, .current_year = YEAR};
}
static void teardown(void) { kb_intern_free(&tokens); }

TestSuite(codec, .init = setup, .fini = teardown);

static json_t *parse(const char *text) {
    json_t *j = NULL;
    kb_fault_t f;
    int rc = kb_codec_parse(text, strlen(text), 16, &j, &f);
    cr_assert_eq(rc, 0, "parse failed: %s %s", f.code, f.message);
    return j;
}

/* The keys of obj, in order, must be exactly those of want (NULL-terminated). */
static void assert_keys(const json_t *obj, const char *const *want) {
    size_t i = 0;
    for (void *it = json_object_iter((json_t *)obj); it;
         it = json_object_iter_next((json_t *)obj, it), i++) {
        cr_assert_not_null(want[i], "extra key %s", json_object_iter_key(it));
        cr_assert_str_eq(json_object_iter_key(it), want[i]);
    }
    cr_assert_null(want[i], "missing key %s", want[i]);
}

static void assert_strings(const json_t *arr, const char *const *want) {
    size_t n = 0;
    while (want[n]) n++;
    cr_assert(json_is_array(arr));
    cr_assert_eq(json_array_size(arr), n);
    for (size_t i = 0; i < n; i++)
        cr_assert_str_eq(json_string_value(json_array_get(arr, i)), want[i]);
}

static const char *str(const json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    cr_assert_not_null(s, "no string %s", key);
    return s;
}

static json_int_t num_int(const json_t *o, const char *key) {
    const json_t *v = json_object_get(o, key);
    cr_assert(json_is_integer(v), "no integer %s", key);
    return json_integer_value(v);
}

static double num_real(const json_t *o, const char *key) {
    const json_t *v = json_object_get(o, key);
    cr_assert(json_is_real(v), "no real %s", key);
    return json_real_value(v);
}

/* ---- round trips ---- */

static const char volunteer_example[] =
    "{\"org_id\": \"urk-guldborgsund\", \"location\": {\"lat\": 54.769, \"lon\": 11.874},"
    " \"max_distance_km\": 15, \"skills\": [\"mentoring\", \"job_search\"],"
    " \"languages\": [\"da\", \"en\"], \"birth_year\": 2002,"
    " \"availability\": [\"tue_evening\", \"sat_morning\"], \"capacity\": 1,"
    " \"experience\": [\"left_school_early\"], \"child_certificate_until\": \"2027-06-30\","
    " \"active\": true}";

Test(codec, volunteer_round_trip) {
    json_t *body = parse(volunteer_example);
    kb_cand_t c;
    kb_fault_t f;
    cr_assert_eq(kb_codec_volunteer(&cx, body, "v-1", &c, &f), 0, "%s %s %s", f.code, f.field,
                 f.message);
    cr_assert_eq(c.type, KB_VOLUNTEER);
    cr_assert_null(c.id);
    cr_assert_float_eq(c.pos.lat, 54.769, 1e-12);
    cr_assert_float_eq(c.pos.lon, 11.874, 1e-12);
    cr_assert_float_eq(c.pos.x * c.pos.x + c.pos.y * c.pos.y + c.pos.z * c.pos.z, 1.0, 1e-12);
    cr_assert_float_eq(c.max_km, 15.0f, 1e-6);
    cr_assert_float_eq(c.max_chord2, kb_geo_chord2_of_km(15), 1e-15);
    cr_assert_eq(c.skills.n, 2);
    cr_assert_lt(c.skills.ids[0], c.skills.ids[1]); /* stored by id */
    cr_assert_eq(c.langs.n, 2);
    cr_assert_eq(c.exp.n, 1);
    cr_assert_eq(c.birth_year, 2002);
    cr_assert_eq(c.avail, (1u << 5) | (1u << 15));
    cr_assert_eq(c.capacity, 1);
    int32_t cert;
    kb_date_parse("2027-06-30", &cert);
    cr_assert_eq(c.cert_until, cert);
    cr_assert(c.active);
    cr_assert_str_eq(c.org_id, "urk-guldborgsund");
    cr_assert_eq(tokens.count, 5);

    c.id = "v-1";
    json_t *out = kb_codec_volunteer_json(&tokens, &c);
    c.id = NULL;
    cr_assert_not_null(out);
    static const char *const keys[] = {"id",
                                       "org_id",
                                       "location",
                                       "max_distance_km",
                                       "skills",
                                       "languages",
                                       "birth_year",
                                       "availability",
                                       "capacity",
                                       "experience",
                                       "child_certificate_until",
                                       "active",
                                       NULL};
    assert_keys(out, keys);
    cr_assert_str_eq(str(out, "id"), "v-1");
    cr_assert_str_eq(str(out, "org_id"), "urk-guldborgsund");
    const json_t *loc = json_object_get(out, "location");
    static const char *const loc_keys[] = {"lat", "lon", NULL};
    assert_keys(loc, loc_keys);
    cr_assert_eq(num_real(loc, "lat"), 54.769);
    cr_assert_eq(num_real(loc, "lon"), 11.874);
    cr_assert_eq(num_real(out, "max_distance_km"), 15.0);
    assert_strings(json_object_get(out, "skills"),
                   (const char *const[]){"job_search", "mentoring", NULL});
    assert_strings(json_object_get(out, "languages"), (const char *const[]){"da", "en", NULL});
    cr_assert_eq(num_int(out, "birth_year"), 2002);
    assert_strings(json_object_get(out, "availability"),
                   (const char *const[]){"tue_evening", "sat_morning", NULL});
    cr_assert_eq(num_int(out, "capacity"), 1);
    assert_strings(json_object_get(out, "experience"),
                   (const char *const[]){"left_school_early", NULL});
    cr_assert_str_eq(str(out, "child_certificate_until"), "2027-06-30");
    cr_assert(json_is_true(json_object_get(out, "active")));

    /* What we write out reads back to the same thing. */
    kb_cand_t again;
    cr_assert_eq(kb_codec_volunteer(&cx, out, "v-1", &again, &f), 0, "%s %s", f.code, f.field);
    again.id = "v-1";
    json_t *out2 = kb_codec_volunteer_json(&tokens, &again);
    again.id = NULL;
    cr_assert(json_equal(out, out2));
    cr_assert_eq(tokens.count, 5);

    json_decref(out2);
    json_decref(out);
    json_decref(body);
    kb_cand_clear(&again);
    kb_cand_clear(&c);
}

Test(codec, volunteer_defaults) {
    json_t *body = parse("{\"location\": {\"lat\": 55, \"lon\": 12}}");
    kb_cand_t c;
    kb_fault_t f;
    cr_assert_eq(kb_codec_volunteer(&cx, body, "v-2", &c, &f), 0);
    cr_assert_float_eq(c.max_km, 10.0f, 1e-6);
    cr_assert_eq(c.capacity, 1);
    cr_assert(c.active);
    cr_assert_eq(c.cert_until, KB_NO_DATE);
    cr_assert_eq(c.birth_year, 0);
    cr_assert_null(c.org_id);
    cr_assert_eq(c.skills.n, 0);
    cr_assert_eq(c.avail, 0);
    c.id = "v-2";
    json_t *out = kb_codec_volunteer_json(&tokens, &c);
    c.id = NULL;
    static const char *const keys[] = {
        "id",           "location", "max_distance_km", "skills", "languages",
        "availability", "capacity", "experience",      "active", NULL};
    assert_keys(out, keys);
    cr_assert_eq(num_real(json_object_get(out, "location"), "lat"), 55.0);
    cr_assert_eq(num_real(out, "max_distance_km"), 10.0);
    cr_assert_eq(num_int(out, "capacity"), 1);
    cr_assert(json_is_true(json_object_get(out, "active")));
    cr_assert_eq(json_array_size(json_object_get(out, "skills")), 0);
    json_decref(out);
    json_decref(body);
    kb_cand_clear(&c);
}

Test(codec, activity_round_trip) {
    json_t *body = parse("{\"org_id\": \"dgi-lolland\", \"title\": \"Homework café\","
                         " \"location\": {\"lat\": 54.66, \"lon\": 11.36},"
                         " \"skills\": [\"homework_help\"], \"languages\": [\"da\"],"
                         " \"availability\": [\"wed_afternoon\", \"mon_afternoon\"],"
                         " \"capacity\": 12, \"age_min\": 10, \"age_max\": 17}");
    kb_cand_t c;
    kb_fault_t f;
    cr_assert_eq(kb_codec_activity(&cx, body, "a-1", &c, &f), 0, "%s %s", f.code, f.field);
    cr_assert_eq(c.type, KB_ACTIVITY);
    cr_assert_eq(c.max_km, 0);
    cr_assert_eq(c.max_chord2, 4.0);
    cr_assert_eq(c.capacity, 12);
    cr_assert_eq(c.age_min, 10);
    cr_assert_eq(c.age_max, 17);
    cr_assert(c.active);
    cr_assert_str_eq(c.title, "Homework café");
    c.id = "a-1";
    json_t *out = kb_codec_activity_json(&tokens, &c);
    c.id = NULL;
    static const char *const keys[] = {"id",      "org_id",    "title",        "location",
                                       "skills",  "languages", "availability", "capacity",
                                       "age_min", "age_max",   "active",       NULL};
    assert_keys(out, keys);
    cr_assert_str_eq(str(out, "title"), "Homework café");
    cr_assert_str_eq(str(out, "org_id"), "dgi-lolland");
    assert_strings(json_object_get(out, "availability"),
                   (const char *const[]){"mon_afternoon", "wed_afternoon", NULL});
    cr_assert_eq(num_int(out, "capacity"), 12);
    cr_assert_eq(num_int(out, "age_min"), 10);
    cr_assert_eq(num_int(out, "age_max"), 17);
    cr_assert(json_is_true(json_object_get(out, "active")));
    json_decref(out);
    json_decref(body);
    kb_cand_clear(&c);

    /* Defaults: ages 0..120, capacity 1, active. */
    body = parse("{\"org_id\": \"o\", \"title\": \"t\", \"location\": {\"lat\": 1, \"lon\": 2}}");
    cr_assert_eq(kb_codec_activity(&cx, body, "a-2", &c, &f), 0);
    cr_assert_eq(c.age_min, 0);
    cr_assert_eq(c.age_max, 120);
    cr_assert_eq(c.capacity, 1);
    cr_assert(c.active);
    out = kb_codec_activity_json(&tokens, &c);
    cr_assert_eq(num_int(out, "age_max"), 120);
    cr_assert_null(json_object_get(out, "id")); /* no id on the record, none written */
    json_decref(out);
    json_decref(body);
    kb_cand_clear(&c);
}

static const char need_example[] =
    "{\"kind\": \"mentor\", \"municipality\": \"0376\", \"requested_by\": "
    "\"guldborgsund-jobcenter\","
    " \"location\": {\"lat\": 54.77, \"lon\": 11.87}, \"max_distance_km\": 20,"
    " \"skills_required\": [\"mentoring\"], \"skills_wanted\": [\"job_search\"],"
    " \"languages\": [\"da\"], \"person_age\": 18, \"age_gap\": {\"min\": 2, \"max\": 10},"
    " \"availability\": [\"tue_evening\", \"thu_evening\"],"
    " \"experience_wanted\": [\"left_school_early\"], \"count\": 1, \"urgency\": 2}";

Test(codec, need_round_trip) {
    json_t *body = parse(need_example);
    kb_need_t n;
    kb_fault_t f;
    cr_assert_eq(kb_codec_need(&cx, body, "n-7", &n, &f), 0, "%s %s", f.code, f.field);
    cr_assert_eq(n.kind, KB_KIND_MENTOR);
    cr_assert_str_eq(n.municipality, "0376");
    cr_assert_str_eq(n.requested_by, "guldborgsund-jobcenter");
    cr_assert_float_eq(n.max_km, 20.0f, 1e-6);
    cr_assert_eq(n.person_age, 18);
    cr_assert(n.has_age_gap);
    cr_assert_eq(n.gap_min, 2);
    cr_assert_eq(n.gap_max, 10);
    cr_assert_eq(n.count, 1);
    cr_assert_eq(n.urgency, 2);
    cr_assert_eq(n.skills_required.n, 1);
    cr_assert_eq(n.state, KB_NEED_OPEN);
    cr_assert_eq(n.created_at_ms, 0);

    n.id = "n-7";
    n.state = KB_NEED_MATCHED;
    n.created_at_ms = 1767225600123LL + 3723000; /* 2026-01-01T01:02:03.123Z */
    json_t *out = kb_codec_need_json(&tokens, &n);
    n.id = NULL;
    static const char *const keys[] = {"id",
                                       "kind",
                                       "municipality",
                                       "requested_by",
                                       "location",
                                       "max_distance_km",
                                       "skills_required",
                                       "skills_wanted",
                                       "languages",
                                       "person_age",
                                       "age_gap",
                                       "availability",
                                       "experience_wanted",
                                       "count",
                                       "urgency",
                                       "state",
                                       "created_at",
                                       NULL};
    assert_keys(out, keys);
    cr_assert_str_eq(str(out, "kind"), "mentor");
    cr_assert_str_eq(str(out, "municipality"), "0376");
    cr_assert_str_eq(str(out, "state"), "matched");
    cr_assert_str_eq(str(out, "created_at"), "2026-01-01T01:02:03.123Z");
    cr_assert_eq(num_real(out, "max_distance_km"), 20.0);
    cr_assert_eq(num_int(out, "person_age"), 18);
    const json_t *gap = json_object_get(out, "age_gap");
    cr_assert_eq(num_int(gap, "min"), 2);
    cr_assert_eq(num_int(gap, "max"), 10);
    cr_assert_eq(num_int(out, "urgency"), 2);
    assert_strings(json_object_get(out, "availability"),
                   (const char *const[]){"tue_evening", "thu_evening", NULL});

    /* A GET answer can be PUT back: read-only keys are accepted. */
    kb_need_t again;
    cr_assert_eq(kb_codec_need(&cx, out, "n-7", &again, &f), 0, "%s %s", f.code, f.field);
    cr_assert_eq(again.state, KB_NEED_OPEN); /* ignored: the server's to set */
    cr_assert_eq(again.created_at_ms, 0);
    again.id = "n-7";
    again.state = KB_NEED_MATCHED;
    again.created_at_ms = n.created_at_ms;
    json_t *out2 = kb_codec_need_json(&tokens, &again);
    again.id = NULL;
    cr_assert(json_equal(out, out2));
    json_decref(out2);
    json_decref(out);
    json_decref(body);
    kb_need_clear(&again);
    kb_need_clear(&n);
}

Test(codec, need_defaults_and_what_if) {
    json_t *body = parse("{\"id\": \"anything\", \"kind\": \"any\", \"municipality\": \"0101\","
                         " \"location\": {\"lat\": 55.68, \"lon\": 12.57}, \"person_age\": 0}");
    kb_need_t n;
    kb_fault_t f;
    cr_assert_eq(kb_codec_need(&cx, body, NULL, &n, &f), 0, "%s %s", f.code, f.field);
    cr_assert_eq(n.kind, KB_KIND_ANY);
    cr_assert_float_eq(n.max_km, 10.0f, 1e-6);
    cr_assert_eq(n.count, 1);
    cr_assert_eq(n.urgency, 1);
    cr_assert_not(n.has_age_gap);
    cr_assert_null(n.requested_by);
    n.created_at_ms = -1; /* 1969-12-31T23:59:59.999Z */
    json_t *out = kb_codec_need_json(&tokens, &n);
    static const char *const keys[] = {
        "kind",          "municipality", "location",   "max_distance_km", "skills_required",
        "skills_wanted", "languages",    "person_age", "availability",    "experience_wanted",
        "count",         "urgency",      "state",      "created_at",      NULL};
    assert_keys(out, keys);
    cr_assert_str_eq(str(out, "state"), "open");
    cr_assert_str_eq(str(out, "created_at"), "1969-12-31T23:59:59.999Z");
    json_decref(out);
    json_decref(body);
    kb_need_clear(&n);
}

Test(codec, org_round_trip) {
    json_t *body = parse("{\"name\": \"Guldborgsund Kommune\", \"kind\": \"municipality\","
                         " \"location\": {\"lat\": 54.77, \"lon\": 11.87}}");
    kb_org_t o;
    kb_fault_t f;
    cr_assert_eq(kb_codec_org(&cx, body, "o-1", &o, &f), 0, "%s %s", f.code, f.field);
    cr_assert(o.has_pos);
    cr_assert_eq(o.kind, KB_ORG_MUNICIPALITY);
    o.id = "o-1";
    json_t *out = kb_codec_org_json(&o);
    static const char *const keys[] = {"id", "name", "kind", "location", NULL};
    assert_keys(out, keys);
    cr_assert_str_eq(str(out, "name"), "Guldborgsund Kommune");
    cr_assert_str_eq(str(out, "kind"), "municipality");
    cr_assert_eq(num_real(json_object_get(out, "location"), "lon"), 11.87);
    json_decref(out);
    json_decref(body);
    kb_org_clear(&o);

    body = parse("{\"name\": \"Cykling uden alder\", \"kind\": \"citizen_group\"}");
    cr_assert_eq(kb_codec_org(&cx, body, "o-2", &o, &f), 0);
    cr_assert_not(o.has_pos);
    cr_assert_eq(o.kind, KB_ORG_CITIZEN_GROUP);
    out = kb_codec_org_json(&o);
    static const char *const keys2[] = {"name", "kind", NULL};
    assert_keys(out, keys2);
    json_decref(out);
    json_decref(body);
    kb_org_clear(&o);
}

/* ---- rejections ---- */

enum { VOL, ACT, NEED, ORG };

static int decode_any(int entity, const json_t *body, const char *url_id, kb_fault_t *f) {
    union {
        kb_cand_t c;
        kb_need_t n;
        kb_org_t o;
    } rec;
    memset(&rec, 0xa5, sizeof rec); /* decoders must not rely on a zeroed record */
    int rc;
    switch (entity) {
    case VOL: rc = kb_codec_volunteer(&cx, body, url_id, &rec.c, f); break;
    case ACT: rc = kb_codec_activity(&cx, body, url_id, &rec.c, f); break;
    case NEED: rc = kb_codec_need(&cx, body, url_id, &rec.n, f); break;
    default: rc = kb_codec_org(&cx, body, url_id, &rec.o, f); break;
    }
    if (rc == 0) {
        if (entity == VOL || entity == ACT) kb_cand_clear(&rec.c);
        else if (entity == NEED) kb_need_clear(&rec.n);
        else kb_org_clear(&rec.o);
    } else {
        /* A rejected decode leaves a zeroed record: nothing to free. */
        static const char zero[sizeof rec];
        size_t size = entity == NEED ? sizeof rec.n : entity == ORG ? sizeof rec.o : sizeof rec.c;
        cr_assert_eq(memcmp(&rec, zero, size), 0);
    }
    return rc;
}

#define LOC   "\"location\":{\"lat\":55.0,\"lon\":11.0}"
#define ACTB  "\"org_id\":\"o\",\"title\":\"t\"," LOC
#define NEEDB "\"kind\":\"mentor\",\"municipality\":\"0376\"," LOC ",\"person_age\":18"

typedef struct bad {
    int entity;
    const char *body;
    const char *code, *field;
} bad_t;

static const bad_t bad_cases[] = {
    /* Several faults: an unknown key wins wherever it stands, then the
     * fields in the order of their table, whatever the body's order. */
    {VOL, "{\"capacity\":0,\"locaton\":{}," LOC "}", "unknown_field", "locaton"},
    {VOL, "{\"capacity\":0,\"location\":{\"lon\":11,\"lat\":91}}", "invalid_field", "location.lat"},
    {VOL, "{\"active\":1,\"capacity\":0," LOC "}", "invalid_field", "capacity"},
    {NEED, "{\"age_gap\":{\"max\":101,\"min\":-101},\"person_age\":18,\"kind\":\"mentor\"}",
     "missing_field", "municipality"},
    {NEED, "{" NEEDB ",\"age_gap\":{\"max\":101,\"min\":-101}}", "invalid_field", "age_gap.min"},
    /* unknown and missing */
    {VOL, "{" LOC ",\"skils\":[\"x\"]}", "unknown_field", "skils"},
    {VOL, "{\"location\":{\"lat\":55,\"lon\":11,\"alt\":3}}", "unknown_field", "location.alt"},
    {VOL, "{}", "missing_field", "location"},
    {VOL, "{\"location\":{\"lat\":55}}", "missing_field", "location.lon"},
    {ACT, "{\"title\":\"t\"," LOC "}", "missing_field", "org_id"},
    {ACT, "{\"org_id\":\"o\"," LOC "}", "missing_field", "title"},
    {ACT, "{\"org_id\":\"o\",\"title\":\"t\"}", "missing_field", "location"},
    {ACT, "{" ACTB ",\"max_distance_km\":5}", "unknown_field", "max_distance_km"},
    {ACT, "{" ACTB ",\"birth_year\":2000}", "unknown_field", "birth_year"},
    {ORG, "{\"kind\":\"company\"}", "missing_field", "name"},
    {ORG, "{\"name\":\"x\"}", "missing_field", "kind"},
    {ORG, "{\"name\":\"x\",\"kind\":\"company\",\"state\":\"open\"}", "unknown_field", "state"},
    {NEED, "{\"municipality\":\"0376\"," LOC ",\"person_age\":18}", "missing_field", "kind"},
    {NEED, "{\"kind\":\"mentor\"," LOC ",\"person_age\":18}", "missing_field", "municipality"},
    {NEED, "{\"kind\":\"mentor\",\"municipality\":\"0376\",\"person_age\":18}", "missing_field",
     "location"},
    {NEED, "{\"kind\":\"mentor\",\"municipality\":\"0376\"," LOC "}", "missing_field",
     "person_age"},
    {NEED, "{" NEEDB ",\"age_gap\":{\"min\":1}}", "missing_field", "age_gap.max"},
    {NEED, "{" NEEDB ",\"age_gap\":{\"min\":1,\"max\":2,\"mean\":1}}", "unknown_field",
     "age_gap.mean"},
    /* location */
    {VOL, "{\"location\":{\"lat\":91,\"lon\":11}}", "invalid_field", "location.lat"},
    {VOL, "{\"location\":{\"lat\":-90.5,\"lon\":11}}", "invalid_field", "location.lat"},
    {VOL, "{\"location\":{\"lat\":55,\"lon\":-181}}", "invalid_field", "location.lon"},
    {VOL, "{\"location\":{\"lat\":55,\"lon\":180.01}}", "invalid_field", "location.lon"},
    {VOL, "{\"location\":{\"lat\":\"55\",\"lon\":11}}", "invalid_field", "location.lat"},
    {VOL, "{\"location\":{\"lat\":null,\"lon\":11}}", "invalid_field", "location.lat"},
    {VOL, "{\"location\":[55,11]}", "invalid_field", "location"},
    {ORG, "{\"name\":\"x\",\"kind\":\"company\",\"location\":{\"lat\":1,\"lon\":200}}",
     "invalid_field", "location.lon"},
    /* distances and integers */
    {VOL, "{" LOC ",\"max_distance_km\":0}", "invalid_field", "max_distance_km"},
    {VOL, "{" LOC ",\"max_distance_km\":1e-50}", "invalid_field", "max_distance_km"},
    {VOL, "{" LOC ",\"max_distance_km\":-1}", "invalid_field", "max_distance_km"},
    {VOL, "{" LOC ",\"max_distance_km\":500.5}", "invalid_field", "max_distance_km"},
    {VOL, "{" LOC ",\"max_distance_km\":\"5\"}", "invalid_field", "max_distance_km"},
    {NEED, "{" NEEDB ",\"max_distance_km\":501}", "invalid_field", "max_distance_km"},
    {VOL, "{" LOC ",\"capacity\":0}", "invalid_field", "capacity"},
    {VOL, "{" LOC ",\"capacity\":1001}", "invalid_field", "capacity"},
    {VOL, "{" LOC ",\"capacity\":2.5}", "invalid_field", "capacity"},
    {VOL, "{" LOC ",\"capacity\":2.0}", "invalid_field", "capacity"},
    {VOL, "{" LOC ",\"capacity\":true}", "invalid_field", "capacity"},
    {ACT, "{" ACTB ",\"capacity\":0}", "invalid_field", "capacity"},
    {VOL, "{" LOC ",\"birth_year\":1899}", "invalid_field", "birth_year"},
    {VOL, "{" LOC ",\"birth_year\":2014}", "invalid_field", "birth_year"}, /* YEAR - 12 */
    {VOL, "{" LOC ",\"birth_year\":1990.0}", "invalid_field", "birth_year"},
    {ACT, "{" ACTB ",\"age_min\":-1}", "invalid_field", "age_min"},
    {ACT, "{" ACTB ",\"age_max\":121}", "invalid_field", "age_max"},
    {ACT, "{" ACTB ",\"age_min\":12,\"age_max\":10}", "invalid_field", "age_max"},
    {ACT, "{" ACTB ",\"age_min\":121}", "invalid_field", "age_min"},
    {NEED, "{\"kind\":\"mentor\",\"municipality\":\"0376\"," LOC ",\"person_age\":121}",
     "invalid_field", "person_age"},
    {NEED, "{\"kind\":\"mentor\",\"municipality\":\"0376\"," LOC ",\"person_age\":-1}",
     "invalid_field", "person_age"},
    {NEED, "{\"kind\":\"mentor\",\"municipality\":\"0376\"," LOC ",\"person_age\":18.5}",
     "invalid_field", "person_age"},
    {NEED, "{" NEEDB ",\"age_gap\":{\"min\":5,\"max\":2}}", "invalid_field", "age_gap.max"},
    {NEED, "{" NEEDB ",\"age_gap\":{\"min\":-101,\"max\":2}}", "invalid_field", "age_gap.min"},
    {NEED, "{" NEEDB ",\"age_gap\":{\"min\":1,\"max\":101}}", "invalid_field", "age_gap.max"},
    {NEED, "{" NEEDB ",\"age_gap\":[1,2]}", "invalid_field", "age_gap"},
    {NEED, "{" NEEDB ",\"count\":0}", "invalid_field", "count"},
    {NEED, "{" NEEDB ",\"count\":101}", "invalid_field", "count"},
    {NEED, "{" NEEDB ",\"urgency\":0}", "invalid_field", "urgency"},
    {NEED, "{" NEEDB ",\"urgency\":6}", "invalid_field", "urgency"},
    /* booleans, dates, enums, strings */
    {VOL, "{" LOC ",\"active\":1}", "invalid_field", "active"},
    {ACT, "{" ACTB ",\"active\":\"yes\"}", "invalid_field", "active"},
    {VOL, "{" LOC ",\"child_certificate_until\":\"2027-02-29\"}", "invalid_field",
     "child_certificate_until"},
    {VOL, "{" LOC ",\"child_certificate_until\":\"2027-13-01\"}", "invalid_field",
     "child_certificate_until"},
    {VOL, "{" LOC ",\"child_certificate_until\":\"2027-6-30\"}", "invalid_field",
     "child_certificate_until"},
    {VOL, "{" LOC ",\"child_certificate_until\":\"2027-06-30T00:00:00Z\"}", "invalid_field",
     "child_certificate_until"},
    {VOL, "{" LOC ",\"child_certificate_until\":20270630}", "invalid_field",
     "child_certificate_until"},
    {ORG, "{\"name\":\"x\",\"kind\":\"club\"}", "invalid_field", "kind"},
    {ORG, "{\"name\":\"x\",\"kind\":\"Company\"}", "invalid_field", "kind"},
    {ORG, "{\"name\":\"\",\"kind\":\"company\"}", "invalid_field", "name"},
    {ORG, "{\"name\":\"a\\nb\",\"kind\":\"company\"}", "invalid_field", "name"},
    {ORG, "{\"name\":\"a\\u0085b\",\"kind\":\"company\"}", "invalid_field", "name"},
    {ORG, "{\"name\":\"a\\u007fb\",\"kind\":\"company\"}", "invalid_field", "name"},
    {ORG, "{\"name\":3,\"kind\":\"company\"}", "invalid_field", "name"},
    {ACT, "{\"org_id\":\"o\",\"title\":\"a\\tb\"," LOC "}", "invalid_field", "title"},
    {NEED, "{\"kind\":\"helper\",\"municipality\":\"0376\"," LOC ",\"person_age\":18}",
     "invalid_field", "kind"},
    {NEED, "{\"kind\":\"mentor\",\"municipality\":\"376\"," LOC ",\"person_age\":18}",
     "invalid_field", "municipality"},
    {NEED, "{\"kind\":\"mentor\",\"municipality\":\"03760\"," LOC ",\"person_age\":18}",
     "invalid_field", "municipality"},
    {NEED, "{\"kind\":\"mentor\",\"municipality\":\"03a6\"," LOC ",\"person_age\":18}",
     "invalid_field", "municipality"},
    {NEED, "{\"kind\":\"mentor\",\"municipality\":376," LOC ",\"person_age\":18}", "invalid_field",
     "municipality"},
    /* ids */
    {VOL, "{" LOC ",\"org_id\":\"has space\"}", "invalid_field", "org_id"},
    {VOL, "{" LOC ",\"org_id\":\"\"}", "invalid_field", "org_id"},
    {VOL,
     "{" LOC ",\"org_id\":\"x1234567890123456789012345678901234567890123456789012345678901234\"}",
     "invalid_field", "org_id"}, /* 65 bytes */
    {ACT, "{\"org_id\":\"a/b\",\"title\":\"t\"," LOC "}", "invalid_field", "org_id"},
    {NEED, "{" NEEDB ",\"requested_by\":\"x y\"}", "invalid_field", "requested_by"},
    {VOL, "{" LOC ",\"id\":\"v-2\"}", "invalid_field", "id"},
    {VOL, "{" LOC ",\"id\":1}", "invalid_field", "id"},
    {ORG, "{\"id\":\"o-2\",\"name\":\"x\",\"kind\":\"company\"}", "invalid_field", "id"},
    {NEED, "{" NEEDB ",\"id\":\"n-2\"}", "invalid_field", "id"},
    /* lists */
    {VOL, "{" LOC ",\"availability\":[\"mon_night\"]}", "invalid_field", "availability[0]"},
    {VOL, "{" LOC ",\"availability\":[\"mon_evening\",\"mon_evening\"]}", "invalid_field",
     "availability[1]"},
    {VOL, "{" LOC ",\"availability\":\"mon_evening\"}", "invalid_field", "availability"},
    {NEED, "{" NEEDB ",\"availability\":[\"sun_evening\",3]}", "invalid_field", "availability[1]"},
    {VOL, "{" LOC ",\"skills\":[\"Mentoring\"]}", "invalid_field", "skills[0]"},
    {VOL, "{" LOC ",\"skills\":[\"a\",\"a\"]}", "invalid_field", "skills[1]"},
    {VOL, "{" LOC ",\"skills\":[\"a\",\"b\",\"\"]}", "invalid_field", "skills[2]"},
    {VOL, "{" LOC ",\"skills\":[\"a-b\"]}", "invalid_field", "skills[0]"},
    {VOL, "{" LOC ",\"skills\":[\"abcdefghijabcdefghijabcdefghijabcdefghijabcdefghi\"]}",
     "invalid_field", "skills[0]"}, /* 49 bytes */
    {VOL, "{" LOC ",\"skills\":\"mentoring\"}", "invalid_field", "skills"},
    {VOL, "{" LOC ",\"experience\":[1]}", "invalid_field", "experience[0]"},
    {ACT, "{" ACTB ",\"skills\":[\"x\",\"x\"]}", "invalid_field", "skills[1]"},
    {NEED, "{" NEEDB ",\"skills_required\":[\"ok\",\"NO\"]}", "invalid_field",
     "skills_required[1]"},
    {NEED, "{" NEEDB ",\"skills_wanted\":[null]}", "invalid_field", "skills_wanted[0]"},
    {NEED, "{" NEEDB ",\"experience_wanted\":[\"a\",\"a\"]}", "invalid_field",
     "experience_wanted[1]"},
    {VOL, "{" LOC ",\"languages\":[\"xx\"]}", "invalid_field", "languages[0]"},
    {VOL, "{" LOC ",\"languages\":[\"DA\"]}", "invalid_field", "languages[0]"},
    {VOL, "{" LOC ",\"languages\":[\"dan\"]}", "invalid_field", "languages[0]"},
    {VOL, "{" LOC ",\"languages\":[\"da\",\"da\"]}", "invalid_field", "languages[1]"},
    {NEED, "{" NEEDB ",\"languages\":[\"en\",\"zz\"]}", "invalid_field", "languages[1]"},
    {VOL,
     "{" LOC ",\"languages\":[\"aa\",\"ab\",\"af\",\"ak\",\"am\",\"an\",\"ar\",\"as\",\"av\","
     "\"ay\",\"az\",\"ba\",\"be\",\"bg\",\"bi\",\"bm\",\"bn\"]}",
     "invalid_field", "languages"}, /* 17 > 16 */
};

Test(codec, every_rule_is_enforced) {
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_t *c = &bad_cases[i];
        json_t *body = parse(c->body);
        kb_fault_t f = {0};
        const char *url = c->entity == VOL    ? "v-1"
                          : c->entity == ACT  ? "a-1"
                          : c->entity == NEED ? "n-1"
                                              : "o-1";
        int rc = decode_any(c->entity, body, url, &f);
        cr_assert_eq(rc, KB_EINVAL, "case %zu (%s): rc %d", i, c->body, rc);
        cr_assert_eq(f.status, 422, "case %zu", i);
        cr_assert_str_eq(f.code, c->code, "case %zu (%s): %s %s", i, c->body, f.code, f.field);
        cr_assert_str_eq(f.field, c->field, "case %zu (%s)", i, c->body);
        cr_assert_neq(f.message[0], '\0', "case %zu", i);
        json_decref(body);
    }
    cr_assert_eq(tokens.count, 0, "a rejected body interned %u tokens", tokens.count);
}

Test(codec, token_lists_at_their_limits) {
    /* 32 skills and 16 languages are fine; 33 skills are not. */
    char body[2048];
    int n = snprintf(body, sizeof body, "{" LOC ",\"skills\":[");
    for (int i = 0; i < 33; i++)
        n += snprintf(body + n, sizeof body - (size_t)n, "%s\"s%d\"", i ? "," : "", i);
    snprintf(body + n, sizeof body - (size_t)n, "]}");
    json_t *j = parse(body);
    kb_fault_t f;
    cr_assert_eq(decode_any(VOL, j, "v", &f), KB_EINVAL);
    cr_assert_str_eq(f.field, "skills");
    json_array_remove(json_object_get(j, "skills"), 32);
    cr_assert_eq(decode_any(VOL, j, "v", &f), 0);
    cr_assert_eq(tokens.count, 32);
    json_decref(j);

    j = parse("{" LOC ",\"languages\":[\"aa\",\"ab\",\"af\",\"ak\",\"am\",\"an\",\"ar\",\"as\","
              "\"av\",\"ay\",\"az\",\"ba\",\"be\",\"bg\",\"bi\",\"bm\"]}");
    cr_assert_eq(decode_any(VOL, j, "v", &f), 0);
    json_decref(j);

    j = parse("{" LOC ",\"skills\":[\"abcdefghijabcdefghijabcdefghijabcdefghijabcdefgh\"]}");
    cr_assert_eq(decode_any(VOL, j, "v", &f), 0); /* 48 bytes */
    json_decref(j);
}

Test(codec, boundaries_accepted) {
    static const struct {
        int entity;
        const char *body;
    } good[] = {
        {VOL, "{\"location\":{\"lat\":-90,\"lon\":180}}"},
        {VOL, "{\"location\":{\"lat\":90,\"lon\":-180}}"},
        {VOL, "{" LOC ",\"max_distance_km\":500}"},
        {VOL, "{" LOC ",\"max_distance_km\":0.1}"},
        {VOL, "{" LOC ",\"capacity\":1000,\"birth_year\":1900}"},
        {VOL, "{" LOC ",\"birth_year\":2013}"}, /* YEAR - 13 */
        {VOL, "{" LOC ",\"active\":false,\"id\":\"v-1\"}"},
        {VOL, "{" LOC ",\"languages\":[\"da\"]}"},
        {VOL, "{" LOC ",\"child_certificate_until\":\"2028-02-29\"}"},
        {ACT, "{" ACTB ",\"age_min\":7,\"age_max\":7}"},
        {ACT, "{" ACTB ",\"age_min\":0,\"age_max\":120,\"capacity\":1000}"},
        {NEED, "{" NEEDB ",\"age_gap\":{\"min\":-100,\"max\":100},\"count\":100,\"urgency\":5}"},
        {NEED, "{" NEEDB ",\"age_gap\":{\"min\":3,\"max\":3}}"},
        {NEED, "{" NEEDB ",\"id\":\"n-1\",\"state\":\"closed\",\"created_at\":\"x\"}"},
        {NEED, "{\"kind\":\"visit\",\"municipality\":\"0000\"," LOC ",\"person_age\":120}"},
        {ORG, "{\"name\":\"Ærø Frivillige – «café»\",\"kind\":\"volunteer_org\"}"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        json_t *j = parse(good[i].body);
        kb_fault_t f = {0};
        const char *url = good[i].entity == VOL ? "v-1" : good[i].entity == NEED ? "n-1" : "x";
        cr_assert_eq(decode_any(good[i].entity, j, url, &f), 0, "case %zu (%s): %s %s %s", i,
                     good[i].body, f.code, f.field, f.message);
        json_decref(j);
    }
}

Test(codec, leap_days_and_languages) {
    kb_cand_t c;
    kb_fault_t f;
    json_t *j = parse("{" LOC ",\"languages\":[\"da\"],"
                      "\"child_certificate_until\":\"2028-02-29\"}");
    cr_assert_eq(kb_codec_volunteer(&cx, j, "v", &c, &f), 0);
    cr_assert_eq(c.langs.n, 1);
    cr_assert_str_eq(kb_intern_name(&tokens, c.langs.ids[0]), "da");
    json_t *out = kb_codec_volunteer_json(&tokens, &c);
    cr_assert_str_eq(str(out, "child_certificate_until"), "2028-02-29");
    json_decref(out);
    kb_cand_clear(&c);
    json_decref(j);

    j = parse("{" LOC ",\"child_certificate_until\":\"2027-02-29\"}");
    cr_assert_eq(kb_codec_volunteer(&cx, j, "v", &c, &f), KB_EINVAL);
    cr_assert_str_eq(f.field, "child_certificate_until");
    json_decref(j);

    cr_assert(kb_iso639_1_valid("da"));
    cr_assert(kb_iso639_1_valid("aa"));
    cr_assert(kb_iso639_1_valid("zu"));
    cr_assert(kb_iso639_1_valid("uk"));
    cr_assert(kb_iso639_1_valid("ar"));
    cr_assert_not(kb_iso639_1_valid("xx"));
    cr_assert_not(kb_iso639_1_valid("dk")); /* the country, not the language */
    cr_assert_not(kb_iso639_1_valid("Da"));
    cr_assert_not(kb_iso639_1_valid("d"));
    cr_assert_not(kb_iso639_1_valid("dan"));
    cr_assert_not(kb_iso639_1_valid(""));
    cr_assert_not(kb_iso639_1_valid(NULL));
}

Test(codec, rejected_body_interns_nothing) {
    json_t *ok = parse("{" LOC ",\"skills\":[\"mentoring\"]}");
    kb_fault_t f;
    cr_assert_eq(decode_any(VOL, ok, "v", &f), 0);
    cr_assert_eq(tokens.count, 1);
    json_decref(ok);
    /* New tokens in valid lists, rejected by a later field or a rule across
     * fields: none of them may stay behind. */
    static const struct {
        int entity;
        const char *body;
    } rejected[] = {
        {VOL, "{" LOC ",\"skills\":[\"cooking\"],\"languages\":[\"fr\"],\"capacity\":0}"},
        {VOL, "{" LOC ",\"experience\":[\"refugee\"],\"active\":null}"},
        {ACT, "{" ACTB ",\"skills\":[\"chess\"],\"age_min\":9,\"age_max\":8}"},
        {NEED, "{" NEEDB ",\"skills_required\":[\"driving\"],\"age_gap\":{\"min\":9,\"max\":1}}"},
        {NEED, "{" NEEDB ",\"skills_wanted\":[\"driving\"],\"typo\":1}"},
    };
    for (size_t i = 0; i < sizeof rejected / sizeof rejected[0]; i++) {
        json_t *j = parse(rejected[i].body);
        cr_assert_eq(decode_any(rejected[i].entity, j, NULL, &f), KB_EINVAL, "case %zu", i);
        json_decref(j);
        cr_assert_eq(tokens.count, 1, "case %zu interned a token", i);
    }
}

/* ---- parsing ---- */

Test(codec, parse_errors) {
    static const struct {
        const char *text;
        int rc, status;
        const char *code;
    } cases[] = {
        {"{\"location\":{\"lat\":55.0,\"lon\":11.0},}", KB_ESYNTAX, 400, "invalid_json"},
        {"{\"a\":1,\"a\":2}", KB_ESYNTAX, 400, "invalid_json"},
        {"{\"a\":{\"b\":1,\"b\":1}}", KB_ESYNTAX, 400, "invalid_json"},
        {"", KB_ESYNTAX, 400, "invalid_json"},
        {"{\"a\":1} x", KB_ESYNTAX, 400, "invalid_json"},
        {"{\"a\":\"\\u0000\"}", KB_ESYNTAX, 400, "invalid_json"},
        {"{\"a\":1e999}", KB_ESYNTAX, 400, "invalid_json"},
        {"{\"a\":\"\xff\"}", KB_ESYNTAX, 400, "invalid_json"},
        {"[1]", KB_EINVAL, 422, "invalid_body"},
        {"\"text\"", KB_EINVAL, 422, "invalid_body"},
        {"null", KB_EINVAL, 422, "invalid_body"},
        {"{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", KB_ESYNTAX,
         400, "too_deep"},
        {"{\"x\":[[[[[[[[[[[[[[[[", KB_ESYNTAX, 400, "too_deep"}, /* before Jansson sees it */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *j = (json_t *)1;
        kb_fault_t f = {0};
        int rc = kb_codec_parse(cases[i].text, strlen(cases[i].text), 16, &j, &f);
        cr_assert_eq(rc, cases[i].rc, "case %zu: rc %d", i, rc);
        cr_assert_null(j, "case %zu", i);
        cr_assert_eq(f.status, cases[i].status, "case %zu", i);
        cr_assert_str_eq(f.code, cases[i].code, "case %zu", i);
        cr_assert_neq(f.message[0], '\0');
    }
}

Test(codec, parse_depth_is_counted_outside_strings) {
    json_t *j;
    kb_fault_t f;
    /* Brackets inside strings, escaped quotes included, do not count. */
    const char *text = "{\"a\":\"[[[[\\\"[[[[\",\"b\":[[1]]}";
    cr_assert_eq(kb_codec_parse(text, strlen(text), 3, &j, &f), 0, "%s", f.message);
    json_decref(j);
    cr_assert_eq(kb_codec_parse(text, strlen(text), 2, &j, &f), KB_ESYNTAX);
    cr_assert_str_eq(f.code, "too_deep");
    /* Exactly at the limit is fine; one more is not. */
    text = "{\"a\":{\"b\":{}}}";
    cr_assert_eq(kb_codec_parse(text, strlen(text), 3, &j, &f), 0);
    json_decref(j);
    cr_assert_eq(kb_codec_parse(text, strlen(text), 2, &j, &f), KB_ESYNTAX);
    /* Openers past the limit in a string, none too deep: the byte walk
     * decides. Openers past len do not count. */
    text = "{\"a\":\"{{{{\",\"b\":[1]}";
    cr_assert_eq(kb_codec_parse(text, strlen(text), 2, &j, &f), 0, "%s", f.message);
    json_decref(j);
    text = "{\"a\":[1]}[[[[";
    cr_assert_eq(kb_codec_parse(text, 9, 2, &j, &f), 0, "%s", f.message);
    json_decref(j);
    /* The body is bounded by len, not by a NUL. */
    text = "{\"a\":1}garbage";
    cr_assert_eq(kb_codec_parse(text, 7, 16, &j, &f), 0);
    cr_assert_eq(json_integer_value(json_object_get(j, "a")), 1);
    json_decref(j);
}

Test(codec, errors_never_echo_input) {
    json_t *j;
    kb_fault_t f;
    const char *text = "{\"cpr\": 0101701234x}";
    cr_assert_eq(kb_codec_parse(text, strlen(text), 16, &j, &f), KB_ESYNTAX);
    cr_assert_null(strstr(f.message, "0101701234"), "%s", f.message);
    cr_assert_not_null(strstr(f.message, "line 1"), "%s", f.message);
    text = "{\"secret\": 1, \"secret\": 2}";
    cr_assert_eq(kb_codec_parse(text, strlen(text), 16, &j, &f), KB_ESYNTAX);
    cr_assert_null(strstr(f.message, "secret"), "%s", f.message);

    j = parse("{\"name\":\"Anna Hansen\\n\",\"kind\":\"company\"}");
    cr_assert_eq(decode_any(ORG, j, "o", &f), KB_EINVAL);
    cr_assert_null(strstr(f.message, "Anna"), "%s", f.message);
    json_decref(j);
    j = parse("{\"kind\":\"mentor\",\"municipality\":\"Lolland\"," LOC ",\"person_age\":18}");
    cr_assert_eq(decode_any(NEED, j, "n", &f), KB_EINVAL);
    cr_assert_null(strstr(f.message, "Lolland"), "%s", f.message);
    json_decref(j);
}

/* ---- small helpers ---- */

Test(codec, ids_tokens_and_names) {
    cr_assert(kb_codec_id_valid("a"));
    cr_assert(kb_codec_id_valid("urk-guldborgsund.v:1_2"));
    cr_assert(
        kb_codec_id_valid("1234567890123456789012345678901234567890123456789012345678901234"));
    cr_assert_not(
        kb_codec_id_valid("12345678901234567890123456789012345678901234567890123456789012345"));
    cr_assert_not(kb_codec_id_valid(""));
    cr_assert_not(kb_codec_id_valid(NULL));
    cr_assert_not(kb_codec_id_valid("a b"));
    cr_assert_not(kb_codec_id_valid("a/b"));
    cr_assert_not(kb_codec_id_valid("æ"));

    cr_assert(kb_codec_token_valid("job_search"));
    cr_assert(kb_codec_token_valid("a1"));
    cr_assert_not(kb_codec_token_valid("Job"));
    cr_assert_not(kb_codec_token_valid("job-search"));
    cr_assert_not(kb_codec_token_valid(""));
    cr_assert_not(kb_codec_token_valid(NULL));

    cr_assert_str_eq(kb_codec_kind_name(KB_KIND_MENTOR), "mentor");
    cr_assert_str_eq(kb_codec_kind_name(KB_KIND_VISIT), "visit");
    cr_assert_str_eq(kb_codec_kind_name(KB_KIND_ACTIVITY), "activity");
    cr_assert_str_eq(kb_codec_kind_name(KB_KIND_ANY), "any");
    cr_assert_str_eq(kb_codec_kind_name(4), "unknown");
    cr_assert_str_eq(kb_codec_kind_name(-1), "unknown");
    cr_assert_str_eq(kb_codec_state_name(KB_NEED_OPEN), "open");
    cr_assert_str_eq(kb_codec_state_name(KB_NEED_MATCHED), "matched");
    cr_assert_str_eq(kb_codec_state_name(KB_NEED_CLOSED), "closed");
    cr_assert_str_eq(kb_codec_org_kind_name(KB_ORG_CITIZEN_GROUP), "citizen_group");
}

Test(codec, token_lists_come_out_sorted_by_name) {
    /* Intern in one order, list in another: output is alphabetical. */
    uint32_t id;
    kb_intern_add(&tokens, "zebra", &id);
    kb_intern_add(&tokens, "apple", &id);
    json_t *j = parse("{" LOC ",\"skills\":[\"mango\",\"apple\",\"zebra\"]}");
    kb_cand_t c;
    kb_fault_t f;
    cr_assert_eq(kb_codec_volunteer(&cx, j, "v", &c, &f), 0);
    cr_assert_eq(c.skills.ids[0], 0);
    cr_assert_eq(c.skills.ids[1], 1);
    cr_assert_eq(c.skills.ids[2], 2);
    json_t *out = kb_codec_volunteer_json(&tokens, &c);
    assert_strings(json_object_get(out, "skills"),
                   (const char *const[]){"apple", "mango", "zebra", NULL});
    json_decref(out);
    json_decref(j);
    kb_cand_clear(&c);
}

/* Both writers sort a list by name, and a decoded list is kept sorted by
 * id, whatever order the body gave: six tokens interned in reverse order
 * and listed shuffled. */
Test(codec, text_lists_are_sorted_by_name_and_stored_by_id) {
    static const char *const names[] = {"fff", "eee", "ddd", "ccc", "bbb", "aaa"};
    uint32_t id;
    for (int i = 0; i < 6; i++) kb_intern_add(&tokens, names[i], &id);
    json_t *j = parse("{" LOC ",\"skills\":[\"ccc\",\"fff\",\"aaa\",\"eee\",\"bbb\",\"ddd\"],"
                      "\"experience\":[\"bbb\",\"aaa\"]}");
    kb_cand_t c;
    kb_fault_t f;
    cr_assert_eq(kb_codec_volunteer(&cx, j, "v", &c, &f), 0);
    cr_assert_eq(c.skills.n, 6);
    for (uint32_t i = 0; i < 6; i++) cr_assert_eq(c.skills.ids[i], i, "ids ascending");
    cr_assert_eq(c.exp.n, 2);
    cr_assert_eq(c.exp.ids[0], 4);
    cr_assert_eq(c.exp.ids[1], 5);
    c.id = "v";
    size_t len = 0;
    char *text = kb_codec_cand_text(&tokens, &c, &len);
    cr_assert_not_null(text);
    cr_assert_not_null(
        strstr(text, ",\"skills\":[\"aaa\",\"bbb\",\"ccc\",\"ddd\",\"eee\",\"fff\"],"), "%s", text);
    cr_assert_not_null(strstr(text, ",\"experience\":[\"aaa\",\"bbb\"],"), "%s", text);
    cr_assert_eq(strncmp(text, "{\"id\":\"v\",\"location\":{\"lat\":", 28), 0, "%s", text);
    cr_assert_eq(len, strlen(text));
    free(text);
    c.id = NULL;
    kb_cand_clear(&c);
    json_decref(j);
}

Test(codec, timestamps_and_withdrawn_languages) {
    static const struct {
        int64_t ms;
        const char *iso;
    } ts[] = {
        {0, "1970-01-01T00:00:00.000Z"},
        {1767225600123LL, "2026-01-01T00:00:00.123Z"},
        {951782400000LL + 86399999, "2000-02-29T23:59:59.999Z"},
        {-86400000LL, "1969-12-31T00:00:00.000Z"},
    };
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
        json_t *j = kb_codec_timestamp_json(ts[i].ms);
        cr_assert_str_eq(json_string_value(j), ts[i].iso);
        json_decref(j);
    }
    /* Withdrawn from ISO 639-1 but still found in data: accepted. */
    cr_assert(kb_iso639_1_valid("sh"));
    cr_assert(kb_iso639_1_valid("bh"));
}

/* The text a PUT answers with is, byte for byte, the dump of the object
 * GET answers with: two writers over one table must not drift apart. */
Test(codec, candidate_text_is_the_dump_of_its_json) {
    static const char *const vols[] = {
        "{\"location\":{\"lat\":55.6761,\"lon\":12.5683}}",
        "{\"org_id\":\"org-1\",\"location\":{\"lat\":-33.123456789012345,\"lon\":1e-7},"
        "\"max_distance_km\":7.3,\"skills\":[\"zumba\",\"cooking\",\"a_b\"],"
        "\"languages\":[\"da\",\"en\",\"ar\"],\"birth_year\":1950,"
        "\"availability\":[\"sun_evening\",\"mon_morning\"],\"capacity\":1000,"
        "\"experience\":[\"dementia\"],\"child_certificate_until\":\"2031-02-28\","
        "\"active\":false}",
        "{\"location\":{\"lat\":0,\"lon\":-180},\"max_distance_km\":0.001,\"skills\":[],"
        "\"availability\":[]}",
        "{\"location\":{\"lat\":90,\"lon\":179.99999999999},\"max_distance_km\":500}",
    };
    static const char *const acts[] = {
        "{\"org_id\":\"o\",\"title\":\"Strik \\\"og\\\" snak \\\\ kaffe\",\"location\":"
        "{\"lat\":56.1,\"lon\":10.2}}",
        "{\"org_id\":\"o:2\",\"title\":\"Læsegruppe på Ærø – été\",\"location\":{\"lat\":54.9,"
        "\"lon\":10.4},\"skills\":[\"reading\"],\"languages\":[\"da\"],\"availability\":"
        "[\"tue_evening\"],\"capacity\":12,\"age_min\":7,\"age_max\":99,\"active\":true}",
    };
    for (size_t k = 0; k < 6; k++) {
        bool vol = k < 4;
        json_t *body = parse(vol ? vols[k] : acts[k - 4]);
        kb_cand_t c;
        kb_fault_t f;
        int rc = vol ? kb_codec_volunteer(&cx, body, "v-1", &c, &f)
                     : kb_codec_activity(&cx, body, "a-1", &c, &f);
        cr_assert_eq(rc, 0, "body %zu: %s", k, f.message);
        c.id = vol ? "v-1" : "a-1";
        json_t *j =
            vol ? kb_codec_volunteer_json(&tokens, &c) : kb_codec_activity_json(&tokens, &c);
        char *want = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
        size_t len = 0;
        char *got = kb_codec_cand_text(&tokens, &c, &len);
        cr_assert_not_null(got);
        cr_assert_str_eq(got, want, "body %zu", k);
        cr_assert_eq(len, strlen(want));
        free(got);
        free(want);
        json_decref(j);
        json_decref(body);
        c.id = NULL;
        kb_cand_clear(&c);
    }
}

/* Reals as answers write them (without printf where it can) against
 * Jansson's dump: coordinates with 0 to 12 decimals, negative ones, tiny
 * and whole ones, and arbitrary doubles. */
Test(codec, candidate_text_writes_every_real_as_the_dump_does) {
    uint64_t x = 88172645463325252ull;
    for (int k = 0; k < 4000; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        double lat = (double)(x % 180000000000ull) / 1e9 - 90;
        int decimals = (int)(x >> 40) % 13;
        char body[256], latbuf[40], lonbuf[40];
        snprintf(latbuf, sizeof latbuf, "%.*f", decimals, lat);
        switch (k % 4) {
        case 0:
            snprintf(lonbuf, sizeof lonbuf, "%.17g",
                     (double)(x >> 11) / 9007199254740992.0 * 360 - 180);
            break;
        case 1:
            snprintf(lonbuf, sizeof lonbuf, "%.*f", (int)(x >> 50) % 9, (double)(x % 1000) / 1e4);
            break;
        case 2: snprintf(lonbuf, sizeof lonbuf, "%d", (int)(x % 361) - 180); break;
        default: snprintf(lonbuf, sizeof lonbuf, "%.3e", (double)(x % 1000) * 1e-7); break;
        }
        snprintf(body, sizeof body,
                 "{\"location\":{\"lat\":%s,\"lon\":%s},\"max_distance_km\":%.*f}", latbuf, lonbuf,
                 (int)(x >> 30) % 5, 0.001 + (double)(x % 499000) / 1000);
        json_t *j = parse(body);
        kb_cand_t c;
        kb_fault_t f;
        cr_assert_eq(kb_codec_volunteer(&cx, j, "v-1", &c, &f), 0, "%s: %s", body, f.message);
        c.id = "v-1";
        json_t *out = kb_codec_volunteer_json(&tokens, &c);
        char *want = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(15));
        size_t len;
        char *got = kb_codec_cand_text(&tokens, &c, &len);
        cr_assert_str_eq(got, want, "from %s", body);
        free(got);
        free(want);
        json_decref(out);
        json_decref(j);
        c.id = NULL;
        kb_cand_clear(&c);
    }
}

/* What Jansson writes for one value, as the answers dumped it. */
static char *jansson_text(json_t *v) {
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(v);
    cr_assert_not_null(s);
    return s;
}

/* The writers every text answer uses (the match answers too) against
 * Jansson, string by string: each ASCII character alone and amid text,
 * and UTF-8 that passes through as it is. */
Test(codec, text_strings_are_escaped_as_jansson_does) {
    char s[8];
    for (int ch = 1; ch < 0x80; ch++) {
        for (int k = 0; k < 2; k++) {
            if (k) snprintf(s, sizeof s, "a%cb", ch);
            else snprintf(s, sizeof s, "%c", ch);
            kb_sbuf_t t = {0};
            kb_codec_text_str(&t, s);
            char *want = jansson_text(json_string(s));
            cr_assert_eq(t.err, 0);
            cr_assert_str_eq(t.p, want, "character 0x%02x", ch);
            json_t *back = json_loads(t.p, JSON_DECODE_ANY, NULL);
            cr_assert_str_eq(json_string_value(back), s, "0x%02x reads back", ch);
            json_decref(back);
            free(want);
            free(t.p);
        }
    }
    static const char *const texts[] = {"", "v-1", "Læsegruppe på Ærø – été \xf0\x9f\x98\x80",
                                        "\"\\\"\\\\/\x7f\x01\x1f", "tab\there\r\n\b\f"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        kb_sbuf_t t = {0};
        kb_codec_text_str(&t, texts[i]);
        char *want = jansson_text(json_string(texts[i]));
        cr_assert_str_eq(t.p, want, "text %zu", i);
        free(want);
        free(t.p);
    }
}

/* Reals: rounded scores (4 decimals) and distances (2), zero of both
 * signs, values with exponents, integers, and arbitrary doubles, each as
 * Jansson writes it; what is written reads back as Jansson's would. Not
 * finite: an error, as Jansson has no such real. */
Test(codec, text_reals_are_written_as_jansson_does) {
    uint64_t x = 0x2545f4914f6cdd1dull;
    for (int k = 0; k < 20000; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        double u = (double)(x >> 11) / 9007199254740992.0, v;
        switch (k % 8) {
        case 0: v = round(u * 1e4) / 1e4; break; /* a score or component */
        case 1: v = round(u * 1e5) / 1e2; break; /* a distance, km */
        case 2: v = round(u * 300 * 1e4) / 1e4 - 150; break;
        case 3: v = u; break;
        case 4: v = ldexp(u, (int)(x % 200) - 100); break; /* exponents both ways */
        case 5: v = (double)(int64_t)(x >> 8) * (k & 16 ? -1 : 1); break;
        case 6: v = round(u * 1e6) / (k & 16 ? 1e9 : 1e3); break;
        default: v = (double)(x % 100000) / 1e4; break;
        }
        kb_sbuf_t t = {0};
        kb_codec_text_real(&t, v);
        char *want = jansson_text(json_real(v));
        cr_assert_eq(t.err, 0);
        cr_assert_str_eq(t.p, want, "%.17g", v);
        cr_assert_eq(strtod(t.p, NULL), strtod(want, NULL));
        free(want);
        free(t.p);
    }
    static const double fixed[] = {0.0,
                                   -0.0,
                                   1.0,
                                   -1.0,
                                   0.5,
                                   0.0001,
                                   0.00009999,
                                   1e15,
                                   1e-300,
                                   5e-324,
                                   1.7976931348623157e308,
                                   123456789012345.6,
                                   0.1 + 0.2};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        kb_sbuf_t t = {0};
        kb_codec_text_real(&t, fixed[i]);
        char *want = jansson_text(json_real(fixed[i]));
        cr_assert_str_eq(t.p, want, "%.17g", fixed[i]);
        free(want);
        free(t.p);
    }
    const double bad[] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) {
        kb_sbuf_t t = {0};
        kb_codec_text_real(&t, bad[i]);
        cr_assert_eq(t.err, KB_EINVAL);
        free(t.p);
    }
}

Test(codec, rounded_reals_read_as_the_rounded_value_does) {
    /* kb_codec_text_round(v, d) must write exactly what
     * kb_codec_text_real writes for v rounded to d decimals. */
    uint64_t x = 0x9e3779b97f4a7c15ull;
    const double fixed[] = {0.0,     -0.0,   -0.00001, 0.00005, 0.99995,           1.0,
                            9.99999, 123.45, -7.5,     1e10,    99999999999.99999, 1e11,
                            -3e12,   1e17,   NAN,      INFINITY};
    for (int k = 0; k < 40000; k++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        double u = (double)(x >> 11) / 9007199254740992.0, v;
        switch (k % 5) {
        case 0: v = u; break;                             /* a score or component */
        case 1: v = u * 60; break;                        /* a distance, km */
        case 2: v = (u - 0.5) * 2e6; break;               /* either sign */
        case 3: v = ldexp(u, (int)(x % 120) - 60); break; /* tiny to large */
        default: v = fixed[(size_t)k / 5 % (sizeof fixed / sizeof fixed[0])]; break;
        }
        for (int digits = 2; digits <= 4; digits += 2) {
            double scale = digits == 2 ? 100.0 : 10000.0;
            kb_sbuf_t a = {0}, b = {0};
            kb_codec_text_round(&a, v, digits);
            kb_codec_text_real(&b, round(v * scale) / scale);
            cr_assert_eq(a.err, b.err, "%.17g", v);
            if (!b.err) cr_assert_str_eq(a.p, b.p, "%.17g to %d decimals", v, digits);
            free(a.p);
            free(b.p);
        }
    }
}

Test(codec, ids_by_length) {
    char id[KB_ID_MAX + 2];
    memset(id, 'a', sizeof id);
    cr_assert(kb_codec_id_valid_n(id, KB_ID_MAX));
    cr_assert(!kb_codec_id_valid_n(id, KB_ID_MAX + 1));
    cr_assert(!kb_codec_id_valid_n(id, 0));
    cr_assert(kb_codec_id_valid_n("v-1:x_y.Z", 9));
    cr_assert(!kb_codec_id_valid_n("v\0001", 3), "a NUL inside is refused");
    cr_assert(!kb_codec_id_valid_n("v 1", 3));
    cr_assert(!kb_codec_id_valid_n("v\xc3\xa6", 3), "bytes above 127 are refused");
    id[KB_ID_MAX] = '\0';
    cr_assert(kb_codec_id_valid(id));
    id[KB_ID_MAX] = 'a';
    id[KB_ID_MAX + 1] = '\0';
    cr_assert(!kb_codec_id_valid(id));
    cr_assert(!kb_codec_id_valid(""));
    cr_assert(!kb_codec_id_valid(NULL));
}

/* The fast path of kb_codec_float_decimal against what it replaces,
 * strtod of "%.7g", bit for bit: decimals as people give them and floats
 * that are no short decimal, in every decade it takes and around it. */
static void same_as_printf(float x) {
    char buf[32];
    snprintf(buf, sizeof buf, "%.7g", (double)x);
    double want = strtod(buf, NULL), got = kb_codec_float_decimal(x);
    cr_assert_eq(memcmp(&want, &got, sizeof want), 0, "%.9g: %.17g, not %.17g", (double)x, got,
                 want);
}

Test(codec, float_decimals_are_what_printf_and_strtod_make) {
    for (int k = 0; k <= 200000; k++) {
        same_as_printf((float)(k / 1000.0)); /* 0.001 steps up to 200 km */
        same_as_printf((float)(k / 7.0));
        same_as_printf(-(float)(k * 0.37));
    }
    same_as_printf(-0.0f);
    same_as_printf(1e-5f);
    same_as_printf(0.0009999f);
    same_as_printf(9999999.0f);
    same_as_printf(1e7f);
    same_as_printf(3.4e38f);
    /* Every float of two whole binades. */
    for (float x = 8.0f; x < 8.0f + 65536 * 9.5367431640625e-07f; x = nextafterf(x, 16.0f))
        same_as_printf(x);
    for (float x = 0.001f; x < 0.00101f; x = nextafterf(x, 1.0f)) same_as_printf(x);
}
