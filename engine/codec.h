/* codec.h — request bodies to store records and records back to JSON.
 *
 * The codec is the one place where the public data model (DESIGN.md,
 * "Data model") meets the records of store.h: every field of a write is
 * checked here, so the layers behind it may trust a record completely.
 * Decoding is all-or-nothing: a rejected body interns no token and leaves
 * nothing allocated. Errors fill a kb_fault_t (fault.h) whose field is the
 * JSON path at fault ("location.lat", "skills[2]") and whose message says
 * what is expected without echoing the value. */
#ifndef KB_CODEC_H
#define KB_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "fault.h"
#include "intern.h"
#include "sbuf.h"
#include "store.h"

#define KB_CODEC_TOKEN_MAX  48  /* bytes of a skill or experience token */
#define KB_CODEC_TOKENS_MAX 32  /* entries of a token list */
#define KB_CODEC_LANGS_MAX  16  /* entries of a language list */
#define KB_CODEC_TEXT_MAX   200 /* bytes of a title or name */

typedef struct kb_codec_ctx {
    kb_intern_t *tokens; /* where accepted tokens and languages are interned */
    int current_year;    /* bounds birth_year (at least 13 years old) */
    bool lookup_only;    /* intern nothing: a body that is not stored (what-if)
                            must not grow the interner; unknown tokens get ids
                            that match nothing */
} kb_codec_ctx_t;

/* Parses a request body into *out (a new reference the caller decrefs).
 * Nesting deeper than max_depth (at least 1; the top-level object counts 1)
 * is refused by a pre-scan of the bytes before Jansson runs: 400 "too_deep".
 * Malformed JSON, duplicate keys or a NUL in a string: 400 "invalid_json",
 * the message giving line and column but never the text. A top level that
 * is not an object: 422 "invalid_body". Returns 0, KB_ESYNTAX (400),
 * KB_EINVAL (422) or KB_ENOMEM (503 "out_of_memory"). */
int kb_codec_parse(const char *body, size_t len, int max_depth, json_t **out, kb_fault_t *f);

/* Decode and validate body into *out. url_id is the id from the URL
 * (already validated by the caller) or NULL for a body that is not stored
 * (what-if); the body may carry "id" only in id format and, when url_id is
 * given, equal to it. On success *out is fully built — defaults filled,
 * tokens interned, strings strdup'd — and the caller owns its heap members
 * (release them with kb_cand_clear / kb_need_clear / kb_org_clear).
 * Left to the caller: id (NULL), live, load, need state, accepted and
 * created_at_ms (all zero). Candidates get type, max_km and max_chord2.
 * On failure *out is zeroed, f says why, and the return is KB_EINVAL (422)
 * or KB_ENOMEM (503; tokens interned before the failure stay interned). */
int kb_codec_volunteer(const kb_codec_ctx_t *cx, const json_t *body, const char *url_id,
                       kb_cand_t *out, kb_fault_t *f);
int kb_codec_activity(const kb_codec_ctx_t *cx, const json_t *body, const char *url_id,
                      kb_cand_t *out, kb_fault_t *f);
int kb_codec_need(const kb_codec_ctx_t *cx, const json_t *body, const char *url_id, kb_need_t *out,
                  kb_fault_t *f);
int kb_codec_org(const kb_codec_ctx_t *cx, const json_t *body, const char *url_id, kb_org_t *out,
                 kb_fault_t *f);
int kb_codec_subscription(const kb_codec_ctx_t *cx, const json_t *body, const char *url_id,
                          kb_sub_t *out, kb_fault_t *f);

/* A record as the public JSON object (a new reference; NULL only when out
 * of memory): keys in DESIGN.md order with "id" first, defaults written
 * out, token lists sorted alphabetically, availability in slot order,
 * optional fields only when set. A need ends with "state" and "created_at"
 * (RFC 3339 UTC with milliseconds). */
json_t *kb_codec_volunteer_json(const kb_intern_t *tokens, const kb_cand_t *c);
json_t *kb_codec_activity_json(const kb_intern_t *tokens, const kb_cand_t *c);
json_t *kb_codec_need_json(const kb_intern_t *tokens, const kb_need_t *n);
json_t *kb_codec_org_json(const kb_org_t *o);
json_t *kb_codec_subscription_json(const kb_intern_t *tokens, const kb_sub_t *sub);

/* A volunteer or activity as the text json_dumps gives for its
 * kb_codec_*_json object with JSON_COMPACT | JSON_REAL_PRECISION(15)
 * (what answers use), written directly: a PUT answers with it without
 * building the object. Returns a malloc'ed, NUL-terminated string (the
 * caller frees it) and its length in *len, or NULL when out of memory. */
char *kb_codec_cand_text(const kb_intern_t *tokens, const kb_cand_t *c, size_t *len);

/* JSON values appended to t as json_dumps writes them with JSON_COMPACT |
 * JSON_REAL_PRECISION(15): every answer written as text uses these, so
 * text and Jansson answers cannot drift apart.
 * kb_codec_text_str: s (UTF-8, NUL-terminated) quoted, with '"', '\\' and
 * control characters escaped (\n, \t, ..., else \u00XX); nothing else is.
 * kb_codec_text_real: "%.15g" with ".0" added when that reads as an
 * integer and the exponent without "+" or leading zeros; common values
 * (zero, short decimals such as rounded scores) without printf. A NaN or
 * infinity, which JSON cannot hold, sets t->err to KB_EINVAL. */
void kb_codec_text_str(kb_sbuf_t *t, const char *s);
void kb_codec_text_real(kb_sbuf_t *t, double v);
/* kb_codec_text_real(t, kb_round(v, digits)) (digits 2 or 4, as
 * kb_round), without the search for the shortest decimal: the digits are
 * those of the rounded integer. Answers write 8 such numbers per hit. */
void kb_codec_text_round(kb_sbuf_t *t, double v, int digits);
void kb_codec_text_int(kb_sbuf_t *t, long long v);

/* ms since 1970 as an RFC 3339 UTC timestamp with milliseconds,
 * "2026-03-01T12:34:56.789Z" (a new reference; NULL when out of memory). */
json_t *kb_codec_timestamp_json(int64_t ms);
/* The inverse, for exactly that form ("2026-11-24T09:30:00.000Z"), up to
 * KB_CODEC_MS_MAX (dates as kb_date_parse takes them). */
int kb_codec_parse_timestamp(const char *text, int64_t *ms);
#define KB_CODEC_MS_MAX ((int64_t)(KB_DATE_MAX + 1) * 86400000 - 1)

/* A float member as the short decimal it was most likely given as (10 km,
 * not 10.000000149...; floats carry about 7 digits): exactly what
 * strtod of "%.7g" of x gives, faster. */
double kb_codec_float_decimal(float x);
/* 1-64 bytes of [A-Za-z0-9._:-]. */
bool kb_codec_id_valid(const char *id);
/* The same for the len bytes at id (which need no NUL; one inside is
 * refused, as is any byte outside the id characters). */
bool kb_codec_id_valid_n(const char *id, size_t len);
/* len bytes of UTF-8 as a text field takes them: 1..KB_CODEC_TEXT_MAX
 * bytes, no control characters. */
bool kb_codec_text_valid(const char *s, size_t len);
/* [a-z0-9_]{1,48}. */
bool kb_codec_token_valid(const char *tok);
/* "mentor", "visit", "activity", "any"; "unknown" out of range. */
const char *kb_codec_kind_name(int need_kind);
/* "open", "matched", "closed"; "unknown" out of range. */
const char *kb_codec_state_name(int need_state);
/* "municipality", "volunteer_org", "company", "citizen_group"; "unknown". */
const char *kb_codec_org_kind_name(int org_kind);

#endif
