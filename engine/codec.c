/* codec.c — see codec.h.
 *
 * Design. Each entity is described once, by a table of its fields in the
 * order DESIGN.md lists them: the JSON key, a kind (id, text, number,
 * integer, token list, ...), where the value lives in the record (offset
 * and width), its range and its default. One walker reads a body against
 * such a table and one writer turns a record back into JSON with it, so
 * the four entities share every check and the input and output formats
 * cannot drift apart. What no table can say (age_min <= age_max, the
 * candidate type) sits in a small per-entity finish hook.
 *
 * Decoding runs in two passes so that a rejected body has no side effect:
 *   1. check: walk the whole body, reject unknown keys, check every field
 *      and store the plain values (numbers, dates, slots) in the record;
 *      then the finish hook checks the rules across fields. Nothing is
 *      allocated or interned in this pass.
 *   2. build: only once everything is valid, strdup the strings and intern
 *      the tokens. Its only failure is out of memory, after which the
 *      record is cleared (tokens interned by then stay interned: the
 *      interner never forgets, and an unused token costs a few bytes).
 * Nested objects (location, age_gap) hold plain values only, so pass 2
 * looks at the top level alone.
 *
 * Integers are stored through unsigned types of the member's width; a
 * field whose minimum is negative is read back as signed. Two's
 * complement makes the round trip exact for every value in range. */
#include "codec.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iso639.h"
#include "koble/error.h"

/* ---- names ---- */

static const char *const need_kinds[] = {"mentor", "visit", "activity", "any", NULL};
static const char *const need_states[] = {"open", "matched", "closed", NULL};
static const char *const org_kinds[] = {"municipality", "volunteer_org", "company", "citizen_group",
                                        NULL};

static const char *name_at(const char *const *names, size_t count, int i) {
    return i >= 0 && (size_t)i < count ? names[i] : "unknown";
}

const char *kb_codec_kind_name(int need_kind) { return name_at(need_kinds, 4, need_kind); }
const char *kb_codec_state_name(int need_state) { return name_at(need_states, 3, need_state); }
const char *kb_codec_org_kind_name(int org_kind) { return name_at(org_kinds, 4, org_kind); }

/* The bytes an id may hold, as a table: ids are checked on every write
 * and for every restored candidate (twice: its id and its org's). */
static const bool id_chars[256] = {
    ['-'] = 1, ['.'] = 1, [':'] = 1, ['_'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,
    ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1,
    ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1,
    ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1,
    ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1,
    ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

bool kb_codec_id_valid_n(const char *id, size_t len) {
    if (len == 0 || len > KB_ID_MAX) return false;
    for (size_t i = 0; i < len; i++)
        if (!id_chars[(unsigned char)id[i]]) return false;
    return true;
}

bool kb_codec_id_valid(const char *id) {
    if (!id) return false;
    size_t n = 0;
    while (id[n] && n <= KB_ID_MAX) n++; /* an id longer than that is refused unread */
    return kb_codec_id_valid_n(id, n);
}

bool kb_codec_token_valid(const char *tok) {
    if (!tok) return false;
    size_t n = 0;
    for (const char *p = tok; *p; p++, n++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        if (!ok || n >= KB_CODEC_TOKEN_MAX) return false;
    }
    return n > 0;
}

/* ---- parsing ---- */

/* Deepest nesting of [ and { outside strings, stopping once above limit:
 * Jansson recurses per level, so the bound is enforced before it runs. */
static bool nesting_exceeds(const char *s, size_t len, int limit) {
    /* Every byte of every body passes here: one table lookup lets the
     * ordinary ones through (1: a quote, 2: a backslash, 3: an opening,
     * 4: a closing bracket). */
    static const unsigned char kind[256] = {
        ['"'] = 1, ['\\'] = 2, ['['] = 3, ['{'] = 3, [']'] = 4, ['}'] = 4};
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char k = kind[(unsigned char)s[i]];
        if (!k) continue;
        if (in_string) {
            if (k == 2) i++;
            else if (k == 1) in_string = false;
        } else if (k == 1) {
            in_string = true;
        } else if (k == 3) {
            if (++depth > limit) return true;
        } else if (k == 4) {
            depth--;
        }
    }
    return false;
}

/* Whether the body holds at most limit openers ([ and {), strings
 * included: then no nesting can pass limit. Counted with memchr, which
 * skips the bytes between them many at a time; an upsert has a handful
 * of openers, and then nesting_exceeds' walk of every byte is spared. */
static bool few_openers(const char *s, size_t len, int limit) {
    const char *end = s + len;
    int n = 0;
    for (const char *p = s; (p = memchr(p, '[', (size_t)(end - p))); p++)
        if (++n > limit) return false;
    for (const char *p = s; (p = memchr(p, '{', (size_t)(end - p))); p++)
        if (++n > limit) return false;
    return true;
}

int kb_codec_parse(const char *body, size_t len, int max_depth, json_t **out, kb_fault_t *f) {
    *out = NULL;
    if (!body) len = 0;
    if (max_depth < 1) max_depth = 1;
    if (len && !few_openers(body, len, max_depth) && nesting_exceeds(body, len, max_depth))
        return kb_fault(f, KB_ESYNTAX, 400, "too_deep", NULL,
                        "the body nests arrays and objects deeper than %d levels", max_depth);
    json_error_t err;
    json_t *root = json_loadb(len ? body : "", len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (!root) {
        /* err.text quotes the input near the error: never pass it on. */
        const char *what;
        switch (json_error_code(&err)) {
        case json_error_out_of_memory:
            return kb_fault(f, KB_ENOMEM, 503, "out_of_memory", NULL,
                            "the server is out of memory");
        case json_error_duplicate_key: what = "duplicate object key"; break;
        case json_error_invalid_utf8: what = "invalid UTF-8"; break;
        case json_error_null_character: what = "NUL character in a string"; break;
        case json_error_numeric_overflow: what = "number out of range"; break;
        case json_error_premature_end_of_input: what = "unexpected end of the body"; break;
        case json_error_end_of_input_expected: what = "text after the JSON value"; break;
        default: what = "malformed JSON"; break;
        }
        if (len == 0) what = "empty body";
        return kb_fault(f, KB_ESYNTAX, 400, "invalid_json", NULL, "%s at line %d, column %d", what,
                        err.line, err.column);
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return kb_fault(f, KB_EINVAL, 422, "invalid_body", NULL, "the body must be a JSON object");
    }
    *out = root;
    return 0;
}

/* ---- field tables ---- */

typedef enum field_kind {
    FK_URL_ID,         /* "id": read-only, must match the URL id */
    FK_ID,             /* char *, kb_codec_id_valid */
    FK_TEXT,           /* char *, 1..KB_CODEC_TEXT_MAX bytes, no control characters */
    FK_NUMBER,         /* double or float, finite, in range */
    FK_INT,            /* integer of 1, 2 or 4 bytes, JSON integers only */
    FK_BOOL,           /* bool */
    FK_DATE,           /* int32 days since 1970 from "YYYY-MM-DD"; KB_NO_DATE if absent */
    FK_ENUM,           /* uint8 index into names */
    FK_MUNICIPALITY,   /* char[8]: exactly 4 digits */
    FK_TOKENS,         /* kb_toks_t of tokens, at most max entries */
    FK_LANGS,          /* kb_toks_t of ISO 639-1 codes, at most max entries */
    FK_SLOTS,          /* kb_slots_t from slot names */
    FK_POINT,          /* kb_point_t from {"lat", "lon"} */
    FK_OBJECT,         /* nested object of sub fields (plain values only) */
    FK_ENUM_SET,       /* uint8 bit set of names, from an array of them */
    FK_MUNICIPALITIES, /* kb_munis_t from an array of 4-digit codes, at most max */
    FK_STATE,          /* need state: output only, ignored on input */
    FK_CREATED,        /* need created_at: output only, ignored on input */
} field_kind_t;

enum field_flag {
    F_REQUIRED = 1,
    F_DEFAULT = 2,     /* absent: store dflt */
    F_ZERO_ABSENT = 4, /* 0 means "not given": not written out */
    F_YEAR_MAX = 8,    /* max is relative to the current year */
};

typedef struct field {
    const char *key;
    uint8_t kind;   /* field_kind_t */
    uint8_t flags;  /* enum field_flag */
    uint8_t width;  /* bytes of the member */
    size_t off;     /* member offset in the enclosing record */
    size_t present; /* offset + 1 of a bool set when the field is given; 0: none */
    double min, max, dflt;
    const char *const *names; /* FK_ENUM, NULL-terminated */
    const struct field *sub;  /* FK_POINT, FK_OBJECT */
    size_t nsub;
} field_t;

/* The most fields a table may have: check_object keeps a value per field. */
#define FIELDS_MAX 20

#define MEMBER(T, m)  .off = offsetof(T, m), .width = sizeof(((T *)0)->m)
#define PRESENT(T, m) .present = offsetof(T, m) + 1
#define COUNT(a)      (sizeof(a) / sizeof((a)[0]))

/* The tables read best one field a line: keep clang-format away. */
/* clang-format off */
static const field_t point_fields[] = {
    {.key = "lat", .kind = FK_NUMBER, .flags = F_REQUIRED, MEMBER(kb_point_t, lat), .min = -90, .max = 90},
    {.key = "lon", .kind = FK_NUMBER, .flags = F_REQUIRED, MEMBER(kb_point_t, lon), .min = -180, .max = 180},
};

/* Fields several entities share. */
#define LOCATION(T, fl) {.key = "location", .kind = FK_POINT, .flags = (fl), MEMBER(T, pos), \
                         .sub = point_fields, .nsub = COUNT(point_fields)}
/* Distances start at 1 m: anything smaller would be 0 once stored as a float. */
#define MAX_KM(T)       {.key = "max_distance_km", .kind = FK_NUMBER, .flags = F_DEFAULT, \
                         MEMBER(T, max_km), .min = 0.001, .max = 500, .dflt = 10}
#define TOKENS(T, k, m) {.key = (k), .kind = FK_TOKENS, MEMBER(T, m), .max = KB_CODEC_TOKENS_MAX}
#define LANGS(T)        {.key = "languages", .kind = FK_LANGS, MEMBER(T, langs), .max = KB_CODEC_LANGS_MAX}
#define SLOTS(T)        {.key = "availability", .kind = FK_SLOTS, MEMBER(T, avail)}
#define CAPACITY(T)     {.key = "capacity", .kind = FK_INT, .flags = F_DEFAULT, MEMBER(T, capacity), \
                         .min = 1, .max = 1000, .dflt = 1}
#define ACTIVE(T)       {.key = "active", .kind = FK_BOOL, .flags = F_DEFAULT, MEMBER(T, active), .dflt = 1}

static const field_t volunteer_fields[] = {
    {.key = "id", .kind = FK_URL_ID, MEMBER(kb_cand_t, id)},
    {.key = "org_id", .kind = FK_ID, MEMBER(kb_cand_t, org_id)},
    LOCATION(kb_cand_t, F_REQUIRED),
    MAX_KM(kb_cand_t),
    TOKENS(kb_cand_t, "skills", skills),
    LANGS(kb_cand_t),
    /* max -13: at least 13 years old, the youngest volunteers associations take. */
    {.key = "birth_year", .kind = FK_INT, .flags = F_ZERO_ABSENT | F_YEAR_MAX,
     MEMBER(kb_cand_t, birth_year), .min = 1900, .max = -13},
    SLOTS(kb_cand_t),
    CAPACITY(kb_cand_t),
    TOKENS(kb_cand_t, "experience", exp),
    {.key = "child_certificate_until", .kind = FK_DATE, MEMBER(kb_cand_t, cert_until)},
    ACTIVE(kb_cand_t),
};

static const field_t activity_fields[] = {
    {.key = "id", .kind = FK_URL_ID, MEMBER(kb_cand_t, id)},
    {.key = "org_id", .kind = FK_ID, .flags = F_REQUIRED, MEMBER(kb_cand_t, org_id)},
    {.key = "title", .kind = FK_TEXT, .flags = F_REQUIRED, MEMBER(kb_cand_t, title)},
    LOCATION(kb_cand_t, F_REQUIRED),
    TOKENS(kb_cand_t, "skills", skills),
    LANGS(kb_cand_t),
    SLOTS(kb_cand_t),
    CAPACITY(kb_cand_t),
    {.key = "age_min", .kind = FK_INT, .flags = F_DEFAULT, MEMBER(kb_cand_t, age_min), .min = 0, .max = 120, .dflt = 0},
    {.key = "age_max", .kind = FK_INT, .flags = F_DEFAULT, MEMBER(kb_cand_t, age_max), .min = 0, .max = 120, .dflt = 120},
    ACTIVE(kb_cand_t),
};

/* Offsets relative to the need itself: age_gap has no struct of its own. */
static const field_t age_gap_fields[] = {
    {.key = "min", .kind = FK_INT, .flags = F_REQUIRED, MEMBER(kb_need_t, gap_min), .min = -100, .max = 100},
    {.key = "max", .kind = FK_INT, .flags = F_REQUIRED, MEMBER(kb_need_t, gap_max), .min = -100, .max = 100},
};

static const field_t need_fields[] = {
    {.key = "id", .kind = FK_URL_ID, MEMBER(kb_need_t, id)},
    {.key = "kind", .kind = FK_ENUM, .flags = F_REQUIRED, MEMBER(kb_need_t, kind), .names = need_kinds},
    {.key = "municipality", .kind = FK_MUNICIPALITY, .flags = F_REQUIRED, MEMBER(kb_need_t, municipality)},
    {.key = "requested_by", .kind = FK_ID, MEMBER(kb_need_t, requested_by)},
    LOCATION(kb_need_t, F_REQUIRED),
    MAX_KM(kb_need_t),
    TOKENS(kb_need_t, "skills_required", skills_required),
    TOKENS(kb_need_t, "skills_wanted", skills_wanted),
    LANGS(kb_need_t),
    {.key = "person_age", .kind = FK_INT, .flags = F_REQUIRED, MEMBER(kb_need_t, person_age), .min = 0, .max = 120},
    {.key = "age_gap", .kind = FK_OBJECT, .off = 0, PRESENT(kb_need_t, has_age_gap),
     .sub = age_gap_fields, .nsub = COUNT(age_gap_fields)},
    SLOTS(kb_need_t),
    TOKENS(kb_need_t, "experience_wanted", exp_wanted),
    {.key = "count", .kind = FK_INT, .flags = F_DEFAULT, MEMBER(kb_need_t, count), .min = 1, .max = 100, .dflt = 1},
    {.key = "urgency", .kind = FK_INT, .flags = F_DEFAULT, MEMBER(kb_need_t, urgency), .min = 1, .max = 5, .dflt = 1},
    {.key = "state", .kind = FK_STATE, MEMBER(kb_need_t, state)},
    {.key = "created_at", .kind = FK_CREATED, MEMBER(kb_need_t, created_at_ms)},
};

/* Offsets relative to the subscription: area has no struct of its own. */
static const field_t area_fields[] = {
    {.key = "lat", .kind = FK_NUMBER, .flags = F_REQUIRED, MEMBER(kb_sub_t, area_lat), .min = -90, .max = 90},
    {.key = "lon", .kind = FK_NUMBER, .flags = F_REQUIRED, MEMBER(kb_sub_t, area_lon), .min = -180, .max = 180},
    {.key = "radius_km", .kind = FK_NUMBER, .flags = F_REQUIRED, MEMBER(kb_sub_t, area_km), .min = 0.001, .max = 500},
};

static const field_t sub_fields[] = {
    {.key = "id", .kind = FK_URL_ID, MEMBER(kb_sub_t, id)},
    {.key = "org_id", .kind = FK_ID, .flags = F_REQUIRED, MEMBER(kb_sub_t, org_id)},
    {.key = "kinds", .kind = FK_ENUM_SET, MEMBER(kb_sub_t, kinds), .names = need_kinds},
    TOKENS(kb_sub_t, "skills_any", skills_any),
    {.key = "municipalities", .kind = FK_MUNICIPALITIES, MEMBER(kb_sub_t, munis), .max = KB_MUNIS_MAX},
    {.key = "area", .kind = FK_OBJECT, .off = 0, PRESENT(kb_sub_t, has_area),
     .sub = area_fields, .nsub = COUNT(area_fields)},
};

static const field_t org_fields[] = {
    {.key = "id", .kind = FK_URL_ID, MEMBER(kb_org_t, id)},
    {.key = "name", .kind = FK_TEXT, .flags = F_REQUIRED, MEMBER(kb_org_t, name)},
    {.key = "kind", .kind = FK_ENUM, .flags = F_REQUIRED, MEMBER(kb_org_t, kind), .names = org_kinds},
    {.key = "location", .kind = FK_POINT, MEMBER(kb_org_t, pos), PRESENT(kb_org_t, has_pos),
     .sub = point_fields, .nsub = COUNT(point_fields)},
};
/* clang-format on */

_Static_assert(COUNT(volunteer_fields) <= FIELDS_MAX && COUNT(activity_fields) <= FIELDS_MAX &&
                   COUNT(need_fields) <= FIELDS_MAX && COUNT(sub_fields) <= FIELDS_MAX &&
                   COUNT(org_fields) <= FIELDS_MAX && COUNT(area_fields) <= FIELDS_MAX,
               "check_object keeps at most FIELDS_MAX values");

/* ---- storing and loading plain values ---- */

static void store_int(char *p, unsigned width, long long v) {
    if (width == 1) {
        uint8_t x = (uint8_t)v;
        memcpy(p, &x, 1);
    } else if (width == 2) {
        uint16_t x = (uint16_t)v;
        memcpy(p, &x, 2);
    } else if (width == 4) {
        uint32_t x = (uint32_t)v;
        memcpy(p, &x, 4);
    } else {
        uint64_t x = (uint64_t)v;
        memcpy(p, &x, 8);
    }
}

static long long load_int(const char *p, unsigned width, bool is_signed) {
    if (width == 1) {
        uint8_t x;
        memcpy(&x, p, 1);
        return is_signed ? (int8_t)x : x;
    }
    if (width == 2) {
        uint16_t x;
        memcpy(&x, p, 2);
        return is_signed ? (int16_t)x : x;
    }
    if (width == 4) {
        uint32_t x;
        memcpy(&x, p, 4);
        return is_signed ? (int32_t)x : (long long)x;
    }
    int64_t x;
    memcpy(&x, p, 8);
    return x;
}

static void store_number(char *p, unsigned width, double v) {
    if (width == sizeof(float)) {
        float x = (float)v;
        memcpy(p, &x, sizeof x);
    } else {
        memcpy(p, &v, sizeof v);
    }
}

double kb_codec_float_decimal(float x) {
    /* "%.7g" and strtod cost a few thousand instructions, and every answer
     * about a volunteer has a float (max_distance_km). Without them: the
     * decimal of fewest digits, m / 10^d, that becomes x again the way x
     * was made ((float) of the nearest double). For x in [1e-3, 1e7) the
     * rounding interval of a float holds at most one point of the 7-digit
     * grid of its decade in its interior (a float's ulp there is at most
     * 0.84 of the grid's step), so that decimal, padded with zeros, is the
     * grid point nearest x: exactly what "%.7g" prints. And m / 10^d, both
     * exact, rounds to the double nearest the decimal, as strtod does.
     * Below 1e-3 ([2^-10, 1e-3) breaks the bound) printf decides. */
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11};
    double a = fabs((double)x);
    if (a >= 1e-3 && a < 1e7) {
        for (int d = 0; d < 12 && a * p10[d] < 1e7; d++) {
            double back = (double)llround(a * p10[d]) / p10[d];
            if ((float)back == (float)a) return copysign(back, (double)x);
        }
    }
    char buf[32];
    snprintf(buf, sizeof buf, "%.7g", (double)x);
    return strtod(buf, NULL);
}

static double load_number(const char *p, unsigned width) {
    if (width == sizeof(float)) {
        float x;
        memcpy(&x, p, sizeof x);
        return kb_codec_float_decimal(x);
    }
    double x;
    memcpy(&x, p, sizeof x);
    return x;
}

static char *member_str(const char *base, const field_t *fd) {
    char *s;
    memcpy(&s, base + fd->off, sizeof s);
    return s;
}

/* ---- pass 1: check ---- */

typedef struct walk {
    const kb_codec_ctx_t *cx;
    const char *url_id;
    kb_fault_t *f;
} walk_t;

static int invalid(const walk_t *w, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int invalid(const walk_t *w, const char *path, const char *fmt, ...) {
    char msg[sizeof w->f->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return kb_fault(w->f, KB_EINVAL, 422, "invalid_field", path, "%s", msg);
}

/* "prefix.key", or "key" at the top; cut to size. Runs for every field of
 * every body, so it copies bytes rather than calling snprintf. */
static void join_path(char *out, size_t size, const char *prefix, const char *key) {
    size_t used = 0;
    for (const char *p = prefix; *p && used + 1 < size; p++) out[used++] = *p;
    if (prefix[0] && used + 1 < size) out[used++] = '.';
    for (const char *p = key; *p && used + 1 < size; p++) out[used++] = *p;
    out[used] = '\0';
}

/* "skills[2]"; a path that does not fit is cut (fault fields are bounded). */
static void element_path(char *out, size_t size, const char *path, size_t i) {
    if (snprintf(out, size, "%s[%zu]", path, i) >= (int)size) out[size - 1] = '\0';
}

static const field_t *find_field(const field_t *fields, size_t n, const char *key) {
    for (size_t i = 0; i < n; i++)
        if (fields[i].key[0] == key[0] && strcmp(fields[i].key, key) == 0) return &fields[i];
    return NULL;
}

static double max_of(const walk_t *w, const field_t *fd) {
    return fd->flags & F_YEAR_MAX ? w->cx->current_year + fd->max : fd->max;
}

/* Printable bytes only: no C0 controls, DEL or C1 controls (U+0080..U+009F,
 * C2 80..C2 9F in UTF-8; Jansson has already checked the encoding). */
static bool text_valid(const json_t *v);

bool kb_codec_text_valid(const char *s, size_t len) {
    json_t *v = json_stringn(s, len); /* NULL unless s is UTF-8 */
    bool ok = v && text_valid(v);
    json_decref(v);
    return ok;
}

static bool text_valid(const json_t *v) {
    if (!json_is_string(v)) return false;
    const unsigned char *s = (const unsigned char *)json_string_value(v);
    size_t len = json_string_length(v);
    if (len < 1 || len > KB_CODEC_TEXT_MAX) return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < 0x20 || s[i] == 0x7f) return false;
        if (s[i] == 0xc2 && i + 1 < len && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f) return false;
    }
    return true;
}

static int enum_index(const char *const *names, const char *s) {
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0) return i;
    return -1;
}

static int check_enum(const walk_t *w, const field_t *fd, const json_t *v, char *dst,
                      const char *path) {
    int i = json_is_string(v) ? enum_index(fd->names, json_string_value(v)) : -1;
    if (i >= 0) {
        store_int(dst, fd->width, i);
        return 0;
    }
    char list[160] = "";
    size_t used = 0;
    for (int k = 0; fd->names[k] && used < sizeof list; k++)
        used +=
            (size_t)snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "", fd->names[k]);
    return invalid(w, path, "must be one of: %s", list);
}

/* A token or language list: checked entry by entry, stored in pass 2. */
static int check_list(const walk_t *w, const field_t *fd, const json_t *v, const char *path) {
    bool langs = fd->kind == FK_LANGS;
    const char *what = langs ? "ISO 639-1 language codes" : "tokens";
    if (!json_is_array(v) || json_array_size(v) > (size_t)fd->max)
        return invalid(w, path, "must be an array of at most %d %s", (int)fd->max, what);
    char at[sizeof w->f->field];
    for (size_t i = 0; i < json_array_size(v); i++) {
        const char *s = json_string_value(json_array_get(v, i));
        if (langs ? !kb_iso639_1_valid(s) : !kb_codec_token_valid(s)) {
            element_path(at, sizeof at, path, i);
            return langs ? invalid(w, at, "must be an ISO 639-1 language code such as \"da\"")
                         : invalid(w, at, "must be a token of 1-%d characters a-z, 0-9 or _",
                                   KB_CODEC_TOKEN_MAX);
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(s, json_string_value(json_array_get(v, j))) == 0) {
                element_path(at, sizeof at, path, i);
                return invalid(w, at, "duplicate entry");
            }
    }
    return 0;
}

static int check_enum_set(const walk_t *w, const field_t *fd, const json_t *v, char *dst,
                          const char *path) {
    if (!json_is_array(v)) return invalid(w, path, "must be an array of names");
    uint8_t set = 0;
    char at[sizeof w->f->field];
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *name = json_array_get(v, i);
        element_path(at, sizeof at, path, i);
        uint8_t bit = 0;
        int rc = check_enum(w, fd, name, (char *)&bit, at);
        if (rc < 0) return rc;
        if (set & (1u << bit)) return invalid(w, at, "duplicate entry");
        set |= (uint8_t)(1u << bit);
    }
    memcpy(dst, &set, sizeof set);
    return 0;
}

static int cmp_u16(const void *a, const void *b) {
    return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static int check_munis(const walk_t *w, const field_t *fd, const json_t *v, char *dst,
                       const char *path) {
    if (!json_is_array(v) || json_array_size(v) > (size_t)fd->max)
        return invalid(w, path, "must be an array of at most %d municipality codes", (int)fd->max);
    kb_munis_t m = {0};
    char at[sizeof w->f->field];
    for (size_t i = 0; i < json_array_size(v); i++) {
        const char *code = json_string_value(json_array_get(v, i));
        bool ok = code && strlen(code) == 4;
        for (int k = 0; ok && k < 4; k++) ok = code[k] >= '0' && code[k] <= '9';
        element_path(at, sizeof at, path, i);
        if (!ok) return invalid(w, at, "must be a municipality code of exactly 4 digits");
        m.codes[m.n++] = (uint16_t)atoi(code);
    }
    qsort(m.codes, m.n, sizeof m.codes[0], cmp_u16);
    for (unsigned i = 1; i < m.n; i++)
        if (m.codes[i] == m.codes[i - 1]) return invalid(w, path, "duplicate entry");
    memcpy(dst, &m, sizeof m);
    return 0;
}

static int check_slots(const walk_t *w, const json_t *v, char *dst, const char *path) {
    if (!json_is_array(v))
        return invalid(w, path, "must be an array of time slots such as \"tue_evening\"");
    kb_slots_t slots = 0;
    char at[sizeof w->f->field];
    for (size_t i = 0; i < json_array_size(v); i++) {
        const char *s = json_string_value(json_array_get(v, i));
        int bit = s ? kb_slot_parse(s) : -1;
        if (bit < 0 || (slots & (1u << bit))) element_path(at, sizeof at, path, i);
        if (bit < 0)
            return invalid(w, at,
                           "must be a time slot: mon..sun, _morning, _afternoon or _evening, "
                           "such as \"tue_evening\"");
        if (slots & (1u << bit)) return invalid(w, at, "duplicate entry");
        slots |= 1u << bit;
    }
    memcpy(dst, &slots, sizeof slots);
    return 0;
}

/* vals: room for n values (FIELDS_MAX), filled by field index. */
static int check_object(const walk_t *w, const field_t *fields, size_t n, const json_t *obj,
                        char *base, const char *prefix, const json_t **vals);

static int check_value(const walk_t *w, const field_t *fd, const json_t *v, char *base,
                       const char *path) {
    char *dst = base + fd->off;
    switch ((field_kind_t)fd->kind) {
    case FK_URL_ID: {
        const char *s = json_string_value(v);
        if (!kb_codec_id_valid(s) || (w->url_id && strcmp(s, w->url_id) != 0))
            return invalid(w, path, "is read-only: leave it out or give the id of the URL");
        return 0;
    }
    case FK_STATE:
    case FK_CREATED: return 0; /* set by the server; accepted so a GET answer can be PUT back */
    case FK_ID:
        if (!kb_codec_id_valid(json_string_value(v)))
            return invalid(w, path, "must be an id: 1-%d characters of A-Z a-z 0-9 . _ : -",
                           KB_ID_MAX);
        return 0;
    case FK_TEXT:
        if (!text_valid(v))
            return invalid(w, path, "must be a string of 1-%d bytes without control characters",
                           KB_CODEC_TEXT_MAX);
        return 0;
    case FK_NUMBER: {
        double d = json_number_value(v);
        if (!json_is_number(v) || !isfinite(d) || d < fd->min || d > fd->max)
            return invalid(w, path, "must be a number between %g and %g", fd->min, fd->max);
        store_number(dst, fd->width, d);
        return 0;
    }
    case FK_INT: {
        double max = max_of(w, fd);
        json_int_t i = json_integer_value(v);
        if (!json_is_integer(v) || (double)i < fd->min || (double)i > max)
            return invalid(w, path, "must be an integer between %.0f and %.0f", fd->min, max);
        store_int(dst, fd->width, i);
        return 0;
    }
    case FK_BOOL: {
        if (!json_is_boolean(v)) return invalid(w, path, "must be true or false");
        bool b = json_is_true(v);
        memcpy(dst, &b, sizeof b);
        return 0;
    }
    case FK_DATE: {
        int32_t days;
        const char *s = json_string_value(v);
        if (!s || kb_date_parse(s, &days) < 0)
            return invalid(w, path, "must be a calendar date YYYY-MM-DD between 1900 and 2200");
        memcpy(dst, &days, sizeof days);
        return 0;
    }
    case FK_ENUM: return check_enum(w, fd, v, dst, path);
    case FK_MUNICIPALITY: {
        const char *s = json_string_value(v);
        bool ok = s && strlen(s) == 4;
        for (int i = 0; ok && i < 4; i++) ok = s[i] >= '0' && s[i] <= '9';
        if (!ok) return invalid(w, path, "must be a municipality code of exactly 4 digits");
        memcpy(dst, s, 5);
        return 0;
    }
    case FK_TOKENS:
    case FK_LANGS: return check_list(w, fd, v, path);
    case FK_SLOTS: return check_slots(w, v, dst, path);
    case FK_ENUM_SET: return check_enum_set(w, fd, v, dst, path);
    case FK_MUNICIPALITIES: return check_munis(w, fd, v, dst, path);
    case FK_POINT:
    case FK_OBJECT: {
        if (!json_is_object(v)) {
            char keys[64] = "";
            for (size_t i = 0, used = 0; i < fd->nsub && used < sizeof keys; i++)
                used += (size_t)snprintf(keys + used, sizeof keys - used, "%s\"%s\"",
                                         i ? " and " : "", fd->sub[i].key);
            return invalid(w, path, "must be an object with exactly %s", keys);
        }
        const json_t *vals[FIELDS_MAX];
        int rc = check_object(w, fd->sub, fd->nsub, v, dst, path, vals);
        if (rc < 0) return rc;
        if (fd->kind == FK_POINT) {
            kb_point_t *p = (kb_point_t *)(void *)dst;
            kb_point_set(p, p->lat, p->lon);
        }
        return 0;
    }
    }
    return invalid(w, path, "cannot be decoded");
}

static void apply_default(const field_t *fd, char *base) {
    char *dst = base + fd->off;
    if (fd->kind == FK_DATE) {
        int32_t none = KB_NO_DATE;
        memcpy(dst, &none, sizeof none);
    } else if (fd->flags & F_DEFAULT) {
        if (fd->kind == FK_NUMBER) store_number(dst, fd->width, fd->dflt);
        else if (fd->kind == FK_BOOL) {
            bool b = fd->dflt != 0;
            memcpy(dst, &b, sizeof b);
        } else store_int(dst, fd->width, (long long)fd->dflt);
    }
}

static int check_object(const walk_t *w, const field_t *fields, size_t n, const json_t *obj,
                        char *base, const char *prefix, const json_t **vals) {
    /* One walk over the body's keys finds each field's value (the object
     * is not looked up again per field: that hashed every key a second
     * time). Unknown keys first: a misspelt key is the likeliest cause of
     * a missing one, and naming it is the more useful answer. */
    memset(vals, 0, n * sizeof *vals);
    char path[sizeof w->f->field];
    for (void *it = json_object_iter((json_t *)obj); it;
         it = json_object_iter_next((json_t *)obj, it)) {
        const char *key = json_object_iter_key(it);
        const field_t *fd = find_field(fields, n, key);
        if (!fd) {
            join_path(path, sizeof path, prefix, key);
            return kb_fault(w->f, KB_EINVAL, 422, "unknown_field", path,
                            "unknown field; the accepted fields are listed in the API reference");
        }
        vals[fd - fields] = json_object_iter_value(it);
    }
    /* Then the fields in the table's order, which decides which of
     * several faults is reported. */
    for (size_t i = 0; i < n; i++) {
        const field_t *fd = &fields[i];
        const json_t *v = vals[i];
        const char *at = fd->key;
        if (prefix[0]) {
            join_path(path, sizeof path, prefix, fd->key);
            at = path;
        }
        if (!v) {
            if (fd->flags & F_REQUIRED)
                return kb_fault(w->f, KB_EINVAL, 422, "missing_field", at, "is required");
            apply_default(fd, base);
            continue;
        }
        int rc = check_value(w, fd, v, base, at);
        if (rc < 0) return rc;
        if (fd->present) {
            bool given = true;
            memcpy(base + fd->present - 1, &given, sizeof given);
        }
    }
    return 0;
}

/* ---- pass 2: build ---- */

static int compare_id(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Ids for tokens a lookup-only decode has never seen: counting down from
 * below the index's language flag, far above any interned id, so they are
 * distinct within a body and match nothing stored. */
#define UNSEEN_TOKEN 0x7fffffffu

static int intern_list(const kb_codec_ctx_t *cx, const json_t *arr, kb_toks_t *out,
                       uint32_t *unseen) {
    size_t n = json_array_size(arr);
    if (n == 0) return 0;
    uint32_t *ids = malloc(n * sizeof *ids);
    if (!ids) return KB_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *tok = json_string_value(json_array_get(arr, i));
        if (cx->lookup_only) {
            if (kb_intern_find(cx->tokens, tok, &ids[i]) < 0) ids[i] = (*unseen)--;
        } else if (kb_intern_add(cx->tokens, tok, &ids[i]) < 0) {
            free(ids);
            return KB_ENOMEM;
        }
    }
    if (n > KB_CODEC_TOKENS_MAX) qsort(ids, n, sizeof *ids, compare_id);
    else /* short: insertion sort, as sort_names */
        for (size_t i = 1; i < n; i++) {
            uint32_t x = ids[i];
            size_t j = i;
            for (; j > 0 && ids[j - 1] > x; j--) ids[j] = ids[j - 1];
            ids[j] = x;
        }
    out->ids = ids;
    out->n = (uint16_t)n;
    return 0;
}

/* vals: each field's value, as check_object found them. */
static int build(const walk_t *w, const field_t *fields, size_t n, const json_t *const *vals,
                 char *base) {
    uint32_t unseen = UNSEEN_TOKEN;
    for (size_t i = 0; i < n; i++) {
        const field_t *fd = &fields[i];
        const json_t *v = vals[i];
        /* Only ids, texts and token lists own heap memory. */
        if (!v) continue;
        if (fd->kind == FK_ID || fd->kind == FK_TEXT) {
            char *s = strdup(json_string_value(v));
            if (!s) return KB_ENOMEM;
            memcpy(base + fd->off, &s, sizeof s);
        } else if (fd->kind == FK_TOKENS || fd->kind == FK_LANGS) {
            if (intern_list(w->cx, v, (kb_toks_t *)(void *)(base + fd->off), &unseen) < 0)
                return KB_ENOMEM;
        }
    }
    return 0;
}

/* ---- entities ---- */

typedef struct entity {
    const field_t *fields;
    size_t nfields;
    size_t size;
    /* Rules across fields and derived members; runs after pass 1, before
     * anything is allocated. */
    int (*finish)(const walk_t *w, void *rec);
    void (*clear)(void *rec);
} entity_t;

static int decode(const entity_t *ent, const kb_codec_ctx_t *cx, const json_t *body,
                  const char *url_id, void *rec, kb_fault_t *f) {
    memset(rec, 0, ent->size);
    if (!json_is_object(body))
        return kb_fault(f, KB_EINVAL, 422, "invalid_body", NULL, "the body must be a JSON object");
    walk_t w = {.cx = cx, .url_id = url_id, .f = f};
    const json_t *vals[FIELDS_MAX];
    int rc = check_object(&w, ent->fields, ent->nfields, body, rec, "", vals);
    if (rc == 0 && ent->finish) rc = ent->finish(&w, rec);
    if (rc < 0) {
        memset(rec, 0, ent->size); /* only plain values were written */
        return rc;
    }
    if (build(&w, ent->fields, ent->nfields, vals, rec) < 0) {
        ent->clear(rec);
        memset(rec, 0, ent->size);
        return kb_fault(f, KB_ENOMEM, 503, "out_of_memory", NULL, "the server is out of memory");
    }
    return 0;
}

static int volunteer_finish(const walk_t *w, void *rec) {
    (void)w;
    kb_cand_t *c = rec;
    c->type = KB_VOLUNTEER;
    c->max_chord2 = kb_geo_chord2_of_km(c->max_km);
    return 0;
}

static int activity_finish(const walk_t *w, void *rec) {
    kb_cand_t *c = rec;
    if (c->age_min > c->age_max) return invalid(w, "age_max", "must be at least age_min");
    c->type = KB_ACTIVITY;
    c->max_km = 0;
    c->max_chord2 = 4.0; /* no limit of its own: the need's distance decides */
    return 0;
}

static int need_finish(const walk_t *w, void *rec) {
    const kb_need_t *n = rec;
    if (n->has_age_gap && n->gap_min > n->gap_max)
        return invalid(w, "age_gap.max", "must be at least age_gap.min");
    return 0;
}

static void cand_clear(void *rec) { kb_cand_clear(rec); }
static void need_clear(void *rec) { kb_need_clear(rec); }
static void org_clear(void *rec) { kb_org_clear(rec); }
static void sub_clear(void *rec) { kb_sub_clear(rec); }

static int sub_finish(const walk_t *w, void *rec) {
    (void)w;
    kb_sub_t *sub = rec;
    if (sub->has_area) kb_point_set(&sub->area_pos, sub->area_lat, sub->area_lon);
    return 0;
}

static const entity_t volunteer_entity = {volunteer_fields, COUNT(volunteer_fields),
                                          sizeof(kb_cand_t), volunteer_finish, cand_clear};
static const entity_t activity_entity = {activity_fields, COUNT(activity_fields), sizeof(kb_cand_t),
                                         activity_finish, cand_clear};
static const entity_t need_entity = {need_fields, COUNT(need_fields), sizeof(kb_need_t),
                                     need_finish, need_clear};
static const entity_t org_entity = {org_fields, COUNT(org_fields), sizeof(kb_org_t), NULL,
                                    org_clear};
static const entity_t sub_entity = {sub_fields, COUNT(sub_fields), sizeof(kb_sub_t), sub_finish,
                                    sub_clear};

int kb_codec_volunteer(const kb_codec_ctx_t *cx, const json_t *body, const char *url_id,
                       kb_cand_t *out, kb_fault_t *f) {
    return decode(&volunteer_entity, cx, body, url_id, out, f);
}

int kb_codec_activity(const kb_codec_ctx_t *cx, const json_t *body, const char *url_id,
                      kb_cand_t *out, kb_fault_t *f) {
    return decode(&activity_entity, cx, body, url_id, out, f);
}

int kb_codec_need(const kb_codec_ctx_t *cx, const json_t *body, const char *url_id, kb_need_t *out,
                  kb_fault_t *f) {
    return decode(&need_entity, cx, body, url_id, out, f);
}

int kb_codec_org(const kb_codec_ctx_t *cx, const json_t *body, const char *url_id, kb_org_t *out,
                 kb_fault_t *f) {
    return decode(&org_entity, cx, body, url_id, out, f);
}

int kb_codec_subscription(const kb_codec_ctx_t *cx, const json_t *body, const char *url_id,
                          kb_sub_t *out, kb_fault_t *f) {
    return decode(&sub_entity, cx, body, url_id, out, f);
}

/* ---- encoding ---- */

static int compare_name(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Lists are short (a PUT's have two or three entries): insertion sort
 * there, where qsort's set-up cost several times the sorting. */
static void sort_names(const char **names, size_t n) {
    if (n > KB_CODEC_TOKENS_MAX) {
        qsort(names, n, sizeof *names, compare_name);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        const char *x = names[i];
        size_t j = i;
        for (; j > 0 && strcmp(names[j - 1], x) > 0; j--) names[j] = names[j - 1];
        names[j] = x;
    }
}

/* Stored order is by token id; people read lists alphabetically. */
static json_t *tokens_json(const kb_intern_t *tokens, const kb_toks_t *t) {
    json_t *arr = json_array();
    const char *stack[KB_CODEC_TOKENS_MAX];
    const char **names = t->n <= KB_CODEC_TOKENS_MAX ? stack : malloc(t->n * sizeof *names);
    if (!arr || !names) goto fail;
    for (unsigned i = 0; i < t->n; i++) names[i] = kb_intern_name(tokens, t->ids[i]);
    sort_names(names, t->n);
    for (unsigned i = 0; i < t->n; i++)
        if (json_array_append_new(arr, json_string(names[i])) < 0) goto fail;
    if (names != stack) free(names);
    return arr;
fail:
    if (names != stack) free(names);
    json_decref(arr);
    return NULL;
}

static json_t *slots_json(kb_slots_t slots) {
    json_t *arr = json_array();
    for (int i = 0; arr && i < KB_SLOT_COUNT; i++)
        if ((slots & (1u << i)) && json_array_append_new(arr, json_string(kb_slot_name(i))) < 0) {
            json_decref(arr);
            return NULL;
        }
    return arr;
}

json_t *kb_codec_timestamp_json(int64_t ms) {
    int64_t day_ms = 86400000;
    int64_t days = ms / day_ms, rem = ms % day_ms;
    if (rem < 0) { /* before 1970: floor, not truncation */
        rem += day_ms;
        days--;
    }
    char date[11], buf[32];
    kb_date_format((int32_t)days, date);
    snprintf(buf, sizeof buf, "%sT%02d:%02d:%02d.%03dZ", date, (int)(rem / 3600000),
             (int)(rem / 60000 % 60), (int)(rem / 1000 % 60), (int)(rem % 1000));
    return json_string(buf);
}

int kb_codec_parse_timestamp(const char *text, int64_t *ms) {
    char date[11];
    int h, m, sec, milli, end = 0;
    int32_t days;
    if (!text || strlen(text) != 24 || text[10] != 'T') return KB_EINVAL;
    memcpy(date, text, 10);
    date[10] = '\0';
    if (kb_date_parse(date, &days) < 0 ||
        sscanf(text + 11, "%2d:%2d:%2d.%3dZ%n", &h, &m, &sec, &milli, &end) != 4 || end != 13 ||
        h > 23 || m > 59 || sec > 59 || h < 0 || m < 0 || sec < 0 || milli < 0)
        return KB_EINVAL;
    *ms = (int64_t)days * 86400000 + h * 3600000 + m * 60000 + sec * 1000 + milli;
    return 0;
}

static json_t *encode_object(const kb_intern_t *tokens, const field_t *fields, size_t n,
                             const char *base);

/* The JSON of one field, or NULL with *skip set when it is not written
 * out (optional and not set); NULL without skip means out of memory. */
static json_t *encode_value(const kb_intern_t *tokens, const field_t *fd, const char *base,
                            bool *skip) {
    const char *src = base + fd->off;
    *skip = false;
    if (fd->present) {
        bool given;
        memcpy(&given, base + fd->present - 1, sizeof given);
        if (!given) {
            *skip = true;
            return NULL;
        }
    }
    switch ((field_kind_t)fd->kind) {
    case FK_URL_ID:
    case FK_ID:
    case FK_TEXT: {
        const char *s = member_str(base, fd);
        *skip = !s;
        return s ? json_string(s) : NULL;
    }
    case FK_NUMBER: return json_real(load_number(src, fd->width));
    case FK_INT: {
        long long i = load_int(src, fd->width, fd->min < 0);
        *skip = (fd->flags & F_ZERO_ABSENT) && i == 0;
        return *skip ? NULL : json_integer(i);
    }
    case FK_BOOL: {
        bool b;
        memcpy(&b, src, sizeof b);
        return json_boolean(b);
    }
    case FK_DATE: {
        int32_t days;
        memcpy(&days, src, sizeof days);
        *skip = days == KB_NO_DATE;
        if (*skip) return NULL;
        char iso[11];
        kb_date_format(days, iso);
        return json_string(iso);
    }
    case FK_ENUM: {
        long long i = load_int(src, fd->width, false), count = 0;
        while (fd->names[count]) count++;
        return json_string(i < count ? fd->names[i] : "unknown");
    }
    case FK_MUNICIPALITY: return json_string(src);
    case FK_TOKENS:
    case FK_LANGS: return tokens_json(tokens, (const kb_toks_t *)(const void *)src);
    case FK_SLOTS: {
        kb_slots_t slots;
        memcpy(&slots, src, sizeof slots);
        return slots_json(slots);
    }
    case FK_ENUM_SET: {
        json_t *arr = json_array();
        for (int i = 0; arr && fd->names[i]; i++)
            if ((*(const uint8_t *)src & (1u << i)) &&
                json_array_append_new(arr, json_string(fd->names[i])) < 0) {
                json_decref(arr);
                return NULL;
            }
        return arr;
    }
    case FK_MUNICIPALITIES: {
        const kb_munis_t *m = (const kb_munis_t *)(const void *)src;
        json_t *arr = json_array();
        for (unsigned i = 0; arr && i < m->n; i++) {
            char code[8];
            snprintf(code, sizeof code, "%04u", m->codes[i]);
            if (json_array_append_new(arr, json_string(code)) < 0) {
                json_decref(arr);
                return NULL;
            }
        }
        return arr;
    }
    case FK_POINT:
    case FK_OBJECT: return encode_object(tokens, fd->sub, fd->nsub, src);
    case FK_STATE: return json_string(kb_codec_state_name((int)load_int(src, fd->width, false)));
    case FK_CREATED: {
        int64_t ms;
        memcpy(&ms, src, sizeof ms);
        return kb_codec_timestamp_json(ms);
    }
    }
    *skip = true;
    return NULL;
}

static json_t *encode_object(const kb_intern_t *tokens, const field_t *fields, size_t n,
                             const char *base) {
    json_t *obj = json_object();
    for (size_t i = 0; obj && i < n; i++) {
        bool skip;
        json_t *v = encode_value(tokens, &fields[i], base, &skip);
        if (skip) continue;
        if (json_object_set_new(obj, fields[i].key, v) < 0) { /* consumes v, also NULL */
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

json_t *kb_codec_volunteer_json(const kb_intern_t *tokens, const kb_cand_t *c) {
    return encode_object(tokens, volunteer_fields, COUNT(volunteer_fields), (const char *)c);
}

json_t *kb_codec_activity_json(const kb_intern_t *tokens, const kb_cand_t *c) {
    return encode_object(tokens, activity_fields, COUNT(activity_fields), (const char *)c);
}

json_t *kb_codec_need_json(const kb_intern_t *tokens, const kb_need_t *n) {
    return encode_object(tokens, need_fields, COUNT(need_fields), (const char *)n);
}

json_t *kb_codec_org_json(const kb_org_t *o) {
    return encode_object(NULL, org_fields, COUNT(org_fields), (const char *)o);
}

json_t *kb_codec_subscription_json(const kb_intern_t *tokens, const kb_sub_t *sub) {
    return encode_object(tokens, sub_fields, COUNT(sub_fields), (const char *)sub);
}

/* ---- encoding as text ----
 *
 * The same walk over the same tables as encode_value, writing JSON text
 * as Jansson's compact dump does: keys in table order, values by the
 * kb_codec_text_* writers (codec.h), which the match answers of query.c
 * use too. Candidates have no field of the kinds needs, organisations and
 * subscriptions add, so only theirs are written. test_codec checks that
 * both writers agree. */

void kb_codec_text_str(kb_sbuf_t *t, const char *s) {
    kb_sbuf_add(t, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch >= 0x20 && ch != '"' && ch != '\\') continue;
        kb_sbuf_add(t, run, (size_t)(s - run));
        char esc[8];
        switch (ch) {
        case '"': kb_sbuf_add(t, "\\\"", 2); break;
        case '\\': kb_sbuf_add(t, "\\\\", 2); break;
        case '\b': kb_sbuf_add(t, "\\b", 2); break;
        case '\f': kb_sbuf_add(t, "\\f", 2); break;
        case '\n': kb_sbuf_add(t, "\\n", 2); break;
        case '\r': kb_sbuf_add(t, "\\r", 2); break;
        case '\t': kb_sbuf_add(t, "\\t", 2); break;
        default: snprintf(esc, sizeof esc, "\\u%04X", ch); kb_sbuf_add(t, esc, 6);
        }
        run = s + 1;
    }
    kb_sbuf_add(t, run, (size_t)(s - run));
    kb_sbuf_add(t, "\"", 1);
}

/* v as "%.15g" would print it, without printf, when v is zero or the
 * double nearest to a decimal of at most 15 significant digits written
 * without an exponent (1e-4 <= |v| < 1e15): the coordinates and distances
 * people send, and the rounded scores of the match answers. That decimal is then exactly what
 * "%.15g" prints (a double is within 1.2e-16 of it, the 15-digit grid is 1e-14 apart), so trying
 * fraction lengths from 0 up finds it. Returns the length, or 0 when v is
 * not such a number. */
static int short_decimal(double v, char out[40]) {
    static const double p10[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    double a = fabs(v);
    if (a == 0) { /* scores and distances are often exactly 0 */
        int w = 0;
        if (signbit(v)) out[w++] = '-';
        out[w++] = '0';
        out[w] = '\0';
        return w;
    }
    if (!(a >= 1e-4 && a < 1e15)) return 0;
    int whole = 1; /* digits before the point */
    while (whole < 15 && a >= p10[whole]) whole++;
    for (int d = 0; d + (a >= 1 ? whole : 0) <= 15 && d < 16; d++) {
        double scaled = a * p10[d];
        if (scaled >= 1e15) return 0;
        /* llround without the call: scaled is >= 0 and below 2^50,
         * where adding 0.5 is exact. */
        long long m = (long long)(scaled + 0.5);
        if ((double)m / p10[d] != a) continue;
        char digits[24];
        int n = 0;
        do digits[n++] = (char)('0' + m % 10), m /= 10;
        while (m);
        while (n <= d) digits[n++] = '0'; /* 0.05: a zero before the point */
        int w = 0;
        if (v < 0) out[w++] = '-';
        for (int i = n - 1; i >= d; i--) out[w++] = digits[i];
        if (d) {
            out[w++] = '.';
            for (int i = d - 1; i >= 0; i--) out[w++] = digits[i];
        }
        out[w] = '\0';
        return w;
    }
    return 0;
}

void kb_codec_text_real(kb_sbuf_t *t, double v) {
    if (!isfinite(v)) { /* Jansson has no real for these either */
        if (!t->err) t->err = KB_EINVAL;
        return;
    }
    char buf[40];
    int fast = short_decimal(v, buf);
    if (fast) {
        if (!memchr(buf, '.', (size_t)fast)) {
            memcpy(buf + fast, ".0", 3);
            fast += 2;
        }
        kb_sbuf_add(t, buf, (size_t)fast);
        return;
    }
    int n = snprintf(buf, sizeof buf, "%.15g", v);
    if (n < 0 || (size_t)n >= sizeof buf - 3) {
        t->err = KB_ENOMEM; /* cannot happen for a finite double */
        return;
    }
    if (!strchr(buf, '.') && !strchr(buf, 'e')) {
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    char *e = strchr(buf, 'e');
    if (e) {
        char *start = e + 1, *end = start + 1;
        if (*start == '-') start++;
        while (*end == '0') end++;
        if (end != start) {
            memmove(start, end, (size_t)(buf + n - end) + 1);
            n -= (int)(end - start);
        }
    }
    kb_sbuf_add(t, buf, (size_t)n);
}

void kb_codec_text_round(kb_sbuf_t *t, double v, int digits) {
    double scale = digits == 2 ? 100.0 : 10000.0; /* as kb_round */
    double r = round(v * scale);
    /* Below 1e15, r / scale has at most 15 significant digits, which
     * "%.15g" writes exactly: they are r's, with the point put in. */
    if (!(fabs(r) < 1e15)) {
        kb_codec_text_real(t, r / scale);
        return;
    }
    uint64_t k = (uint64_t)fabs(r), unit = digits == 2 ? 100 : 10000;
    char buf[KB_INT_TEXT + 8], *s = kb_int_text(buf, (long long)(k / unit));
    size_t n = (size_t)(buf + KB_INT_TEXT - s);
    if (signbit(r)) { /* -0.0 as well, as Jansson writes it */
        *--s = '-';
        n++;
    }
    char *end = s + n;
    *end++ = '.';
    uint64_t frac = k % unit;
    for (uint64_t d = unit / 10; d; d /= 10) *end++ = (char)('0' + frac / d % 10);
    while (end[-1] == '0' && end[-2] != '.') end--;
    kb_sbuf_add(t, s, (size_t)(end - s));
}

void kb_codec_text_int(kb_sbuf_t *t, long long v) {
    char buf[KB_INT_TEXT], *s = kb_int_text(buf, v);
    kb_sbuf_add(t, s, (size_t)(buf + KB_INT_TEXT - s));
}

static void kb_sbuf_tokens(kb_sbuf_t *t, const kb_intern_t *tokens, const kb_toks_t *list) {
    const char *stack[KB_CODEC_TOKENS_MAX];
    const char **names = list->n <= KB_CODEC_TOKENS_MAX ? stack : malloc(list->n * sizeof *names);
    if (!names) {
        t->err = KB_ENOMEM;
        return;
    }
    for (unsigned i = 0; i < list->n; i++) names[i] = kb_intern_name(tokens, list->ids[i]);
    sort_names(names, list->n);
    kb_sbuf_add(t, "[", 1);
    for (unsigned i = 0; i < list->n; i++) {
        if (i) kb_sbuf_add(t, ",", 1);
        kb_codec_text_str(t, names[i]);
    }
    kb_sbuf_add(t, "]", 1);
    if (names != stack) free(names);
}

static int text_object(kb_sbuf_t *t, const kb_intern_t *tokens, const field_t *fields, size_t n,
                       const char *base);

/* ,"key": in one piece: an answer has a dozen keys, and three appends
 * each were a fifth of writing it. */
static void text_key(kb_sbuf_t *t, const field_t *fd, bool *first) {
    size_t n = strlen(fd->key);
    if (t->err || (t->len + n + 4 >= t->cap && kb_sbuf_reserve(t, n + 4) < 0)) return;
    char *w = t->p + t->len;
    if (!*first) *w++ = ',';
    *first = false;
    *w++ = '"';
    memcpy(w, fd->key, n);
    w += n;
    *w++ = '"';
    *w++ = ':';
    *w = '\0';
    t->len = (size_t)(w - t->p);
}

/* Writes ,"key": and the value of one field, as encode_value would give
 * it; nothing for a field left out. KB_EINVAL for a kind this writer does
 * not know. */
static int text_field(kb_sbuf_t *t, const kb_intern_t *tokens, const field_t *fd, const char *base,
                      bool *first) {
    const char *src = base + fd->off;
    if (fd->present) {
        bool given;
        memcpy(&given, base + fd->present - 1, sizeof given);
        if (!given) return 0;
    }
    switch ((field_kind_t)fd->kind) {
    case FK_URL_ID:
    case FK_ID:
    case FK_TEXT: {
        const char *s = member_str(base, fd);
        if (!s) return 0;
        text_key(t, fd, first);
        kb_codec_text_str(t, s);
        return 0;
    }
    case FK_INT: {
        long long i = load_int(src, fd->width, fd->min < 0);
        if ((fd->flags & F_ZERO_ABSENT) && i == 0) return 0;
        text_key(t, fd, first);
        kb_codec_text_int(t, i);
        return 0;
    }
    case FK_DATE: {
        int32_t days;
        memcpy(&days, src, sizeof days);
        if (days == KB_NO_DATE) return 0;
        char iso[11];
        kb_date_format(days, iso);
        text_key(t, fd, first);
        kb_codec_text_str(t, iso);
        return 0;
    }
    case FK_NUMBER:
        text_key(t, fd, first);
        kb_codec_text_real(t, load_number(src, fd->width));
        return 0;
    case FK_BOOL: {
        bool b;
        memcpy(&b, src, sizeof b);
        text_key(t, fd, first);
        kb_sbuf_add(t, b ? "true" : "false", b ? 4 : 5);
        return 0;
    }
    case FK_TOKENS:
    case FK_LANGS:
        text_key(t, fd, first);
        kb_sbuf_tokens(t, tokens, (const kb_toks_t *)(const void *)src);
        return 0;
    case FK_SLOTS: {
        kb_slots_t slots;
        memcpy(&slots, src, sizeof slots);
        text_key(t, fd, first);
        kb_sbuf_add(t, "[", 1);
        for (int k = 0, n = 0; k < KB_SLOT_COUNT; k++) {
            if (!(slots & (1u << k))) continue;
            if (n++) kb_sbuf_add(t, ",", 1);
            kb_codec_text_str(t, kb_slot_name(k));
        }
        kb_sbuf_add(t, "]", 1);
        return 0;
    }
    case FK_POINT: text_key(t, fd, first); return text_object(t, tokens, fd->sub, fd->nsub, src);
    default: return KB_EINVAL;
    }
}

static int text_object(kb_sbuf_t *t, const kb_intern_t *tokens, const field_t *fields, size_t n,
                       const char *base) {
    bool first = true;
    kb_sbuf_add(t, "{", 1);
    for (size_t i = 0; i < n; i++) {
        int rc = text_field(t, tokens, &fields[i], base, &first);
        if (rc < 0) return rc;
    }
    kb_sbuf_add(t, "}", 1);
    return 0;
}

char *kb_codec_cand_text(const kb_intern_t *tokens, const kb_cand_t *c, size_t *len) {
    kb_sbuf_t t = {0};
    /* A volunteer's answer is about 300 bytes: one allocation, not two. */
    kb_sbuf_reserve(&t, 511);
    const field_t *fields = c->type == KB_VOLUNTEER ? volunteer_fields : activity_fields;
    size_t n = c->type == KB_VOLUNTEER ? COUNT(volunteer_fields) : COUNT(activity_fields);
    if (text_object(&t, tokens, fields, n, (const char *)c) < 0 || t.err) {
        free(t.p);
        return NULL;
    }
    *len = t.len;
    return t.p;
}
