/* fuzz.c — see fuzz.h. */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "log.h"

/* A few entities of the demo set (bench/koble-gen --demo) around
 * Guldborgsund, so that matching, proposals and assignments have
 * candidates, plus a subscription for offers. */
static const struct {
    kb_entity_t t;
    const char *id, *body;
} seeds[] = {
    {KB_ENT_ORGANISATION, "urk-guldborgsund",
     "{\"name\":\"Ungdommens Røde Kors Guldborgsund\",\"kind\":\"volunteer_org\","
     "\"location\":{\"lat\":54.7691,\"lon\":11.8742}}"},
    {KB_ENT_ORGANISATION, "guldborgsund-jobcenter",
     "{\"name\":\"Jobcenter Guldborgsund\",\"kind\":\"municipality\","
     "\"location\":{\"lat\":54.77,\"lon\":11.869}}"},
    {KB_ENT_ACTIVITY, "a-lektiecafe-nykobing",
     "{\"org_id\":\"urk-guldborgsund\",\"title\":\"Lektiecafé Nykøbing F.\","
     "\"location\":{\"lat\":54.7665,\"lon\":11.8781},\"skills\":[\"homework_help\"],"
     "\"languages\":[\"da\",\"en\"],\"availability\":[\"tue_afternoon\",\"thu_afternoon\"],"
     "\"capacity\":15,\"age_min\":13,\"age_max\":17}"},
    {KB_ENT_VOLUNTEER, "v-ali-nykobing",
     "{\"org_id\":\"urk-guldborgsund\",\"location\":{\"lat\":54.7712,\"lon\":11.8801},"
     "\"max_distance_km\":15,\"skills\":[\"mentoring\",\"job_search\"],"
     "\"languages\":[\"da\",\"ar\",\"en\"],\"birth_year\":2002,"
     "\"availability\":[\"tue_evening\",\"thu_evening\",\"sat_morning\"],\"capacity\":1,"
     "\"experience\":[\"left_school_early\"],\"active\":true}"},
    {KB_ENT_VOLUNTEER, "v-henrik-nykobing",
     "{\"org_id\":\"urk-guldborgsund\",\"location\":{\"lat\":54.7634,\"lon\":11.8625},"
     "\"max_distance_km\":20,\"skills\":[\"mentoring\",\"job_search\",\"cv_writing\"],"
     "\"languages\":[\"da\",\"en\"],\"birth_year\":1966,"
     "\"availability\":[\"tue_evening\",\"wed_evening\"],\"capacity\":2,\"active\":true}"},
    {KB_ENT_VOLUNTEER, "v-emil-nykobing",
     "{\"org_id\":\"urk-guldborgsund\",\"location\":{\"lat\":54.775,\"lon\":11.866},"
     "\"max_distance_km\":10,\"skills\":[\"homework_help\"],\"languages\":[\"da\",\"en\"],"
     "\"birth_year\":2004,\"availability\":[\"tue_afternoon\",\"thu_afternoon\"],"
     "\"capacity\":1,\"child_certificate_until\":\"2029-12-31\",\"active\":true}"},
    {KB_ENT_SUBSCRIPTION, "s-urk-mentor",
     "{\"org_id\":\"urk-guldborgsund\",\"kinds\":[\"mentor\"],\"municipalities\":[\"0376\"]}"},
    {KB_ENT_NEED, "n-ung-nakskov",
     "{\"kind\":\"mentor\",\"municipality\":\"0376\",\"requested_by\":\"guldborgsund-jobcenter\","
     "\"location\":{\"lat\":54.77,\"lon\":11.87},\"max_distance_km\":20,"
     "\"skills_required\":[\"mentoring\"],\"skills_wanted\":[\"job_search\"],"
     "\"languages\":[\"da\"],\"person_age\":18,\"age_gap\":{\"min\":2,\"max\":10},"
     "\"availability\":[\"tue_evening\",\"thu_evening\"],"
     "\"experience_wanted\":[\"left_school_early\"],\"count\":1,\"urgency\":2}"},
    {KB_ENT_NEED, "n-lektier-nykobing",
     "{\"kind\":\"activity\",\"municipality\":\"0376\",\"requested_by\":\"guldborgsund-jobcenter\","
     "\"location\":{\"lat\":54.768,\"lon\":11.87},\"max_distance_km\":10,"
     "\"skills_required\":[\"homework_help\"],\"languages\":[\"da\"],\"person_age\":14,"
     "\"availability\":[\"tue_afternoon\"],\"count\":1,\"urgency\":1}"},
};

void fz_init(void) { kb_log_set_level(KB_LOG_WARN); }

void fz_fail(const char *what, const char *detail) {
    fprintf(stderr, "fuzz invariant broken: %s\n%s\n", what, detail ? detail : "");
    abort();
}

int fz_seed(kb_engine_t *e) {
    for (size_t i = 0; i < sizeof seeds / sizeof *seeds; i++) {
        json_t *body = json_loads(seeds[i].body, 0, NULL), *out = NULL;
        kb_fault_t f;
        bool created;
        int rc =
            body ? kb_engine_put(e, seeds[i].t, seeds[i].id, body, &out, &created, &f) : KB_ENOMEM;
        json_decref(body);
        json_decref(out);
        if (rc < 0) return rc;
    }
    return 0;
}

kb_engine_t *fz_engine(void) {
    kb_engine_t *e = NULL;
    if (kb_engine_new(NULL, &e) < 0) return NULL;
    kb_engine_set_clock(e, FZ_CLOCK_MS);
    int rc = fz_seed(e);
    if (rc == KB_ENOMEM) {
        kb_engine_free(e);
        return NULL;
    }
    if (rc < 0) fz_fail("the seed entities are refused", NULL);
    return e;
}

void fz_split(const uint8_t *data, size_t size, const char *sep, size_t seplen, int max,
              void (*fn)(void *ctx, const uint8_t *part, size_t len), void *ctx) {
    size_t start = 0;
    for (int n = 0; n < max && start <= size; n++) {
        size_t end = start;
        while (end + seplen <= size && memcmp(data + end, sep, seplen) != 0) end++;
        if (end + seplen > size) end = size;
        fn(ctx, data + start, end - start);
        start = end + seplen;
    }
}

/* ---- state comparison ---- */

typedef struct lines {
    char **v;
    size_t n, cap;
    int err;
} lines_t;

static int add_line(void *ctx, const json_t *rec) {
    lines_t *l = ctx;
    const char *kind = json_string_value(json_object_get(rec, "kind"));
    if (kind && !strcmp(kind, "tokens")) return 0;
    char *text = NULL;
    if (kind && !strcmp(kind, "engine")) {
        char line[64];
        snprintf(line, sizeof line, "engine next_pairing=%lld",
                 (long long)json_integer_value(json_object_get(rec, "next_pairing")));
        text = strdup(line);
    } else {
        text = json_dumps(rec, JSON_SORT_KEYS | JSON_COMPACT);
    }
    if (!text) return l->err = KB_ENOMEM;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            free(text);
            return l->err = KB_ENOMEM;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = text;
    return 0;
}

static int cmp_text(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *fz_state(const kb_engine_t *e) {
    lines_t l = {0};
    int rc = kb_engine_dump(e, add_line, &l);
    size_t len = 1;
    for (size_t i = 0; i < l.n; i++) len += strlen(l.v[i]) + 1;
    char *text = rc == 0 && !l.err ? malloc(len) : NULL;
    if (l.n) qsort(l.v, l.n, sizeof *l.v, cmp_text);
    char *w = text;
    for (size_t i = 0; i < l.n; i++) {
        if (w) w += sprintf(w, "%s\n", l.v[i]);
        free(l.v[i]);
    }
    if (w) *w = '\0';
    free(l.v);
    return text;
}

/* ---- snapshot round trip ---- */

/* The records of a dump in order: JSON (json set) or binary. */
typedef struct recs {
    struct rec {
        json_t *json;
        void *bin;
        size_t len;
    } * v;
    size_t n, cap;
} recs_t;

static int push(recs_t *r, json_t *json, const void *bin, size_t len) {
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        struct rec *v = realloc(r->v, cap * sizeof *v);
        if (!v) return KB_ENOMEM;
        r->v = v;
        r->cap = cap;
    }
    struct rec *x = &r->v[r->n];
    *x = (struct rec){json, NULL, len};
    if (bin) {
        if (!(x->bin = malloc(len ? len : 1))) return KB_ENOMEM;
        memcpy(x->bin, bin, len);
    } else if (!json) {
        return KB_ENOMEM;
    }
    r->n++;
    return 0;
}

static int push_json(void *ctx, const json_t *rec) {
    return push(ctx, json_deep_copy(rec), NULL, 0);
}

static int push_bin(void *ctx, const void *rec, size_t len) { return push(ctx, NULL, rec, len); }

static void recs_free(recs_t *r) {
    for (size_t i = 0; i < r->n; i++) {
        json_decref(r->v[i].json);
        free(r->v[i].bin);
    }
    free(r->v);
}

static void roundtrip(const kb_engine_t *e, const char *want, bool bin) {
    recs_t r = {0};
    kb_engine_t *copy = NULL;
    int rc =
        bin ? kb_engine_dump_bin(e, push_json, push_bin, &r) : kb_engine_dump(e, push_json, &r);
    if (rc == 0) rc = kb_engine_new(NULL, &copy);
    if (copy) kb_engine_set_clock(copy, FZ_LATE_MS);
    kb_fault_t f = {0};
    for (size_t i = 0; rc == 0 && i < r.n; i++)
        rc = r.v[i].json ? kb_engine_restore(copy, r.v[i].json, &f)
                         : kb_engine_restore_bin(copy, r.v[i].bin, r.v[i].len, &f);
    recs_free(&r);
    if (rc == KB_ENOMEM) {
        kb_engine_free(copy);
        return;
    }
    if (rc < 0)
        fz_fail(bin ? "a binary snapshot does not restore" : "a snapshot does not restore",
                f.message);
    char *got = fz_state(copy);
    kb_engine_free(copy);
    if (got && strcmp(got, want) != 0) {
        fprintf(stderr, "want:\n%s\ngot:\n%s\n", want, got);
        fz_fail(bin ? "a binary snapshot restores another state"
                    : "a snapshot restores another state",
                NULL);
    }
    free(got);
}

void fz_check_roundtrip(kb_engine_t *e) {
    kb_engine_set_clock(e, FZ_LATE_MS);
    char *want = fz_state(e);
    if (!want) return;
    roundtrip(e, want, false);
    roundtrip(e, want, true);
    free(want);
}
