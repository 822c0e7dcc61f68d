/* auth.h — bearer tokens, roles and per-token request rates (DESIGN.md
 * "Security").
 *
 * Tokens come from the config file's "tokens" list, each stored as the
 * SHA-256 of the token in hex — never the token itself:
 *
 *   {"name": "jc-guldborgsund", "sha256": "9f86d0…", "role": "caseworker",
 *    "municipalities": ["0376"]}
 *   {"name": "urk", "sha256": "…", "role": "organisation", "org_id": "urk-guldborgsund"}
 *   {"name": "ops", "sha256": "…", "role": "admin"}
 *
 * A request's token is hashed and compared with every stored hash in
 * constant time (sodium_memcmp), all of them, so neither the comparison nor
 * the position of the match leaks through timing. The name is what logs
 * and metrics show.
 *
 * Rates are a token bucket per token: `rate` requests per second on
 * average, up to `burst` at once. A reload keeps the buckets of tokens
 * whose name stays. */
#ifndef KB_AUTH_H
#define KB_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define KB_AUTH_MUNIS_MAX 100 /* Denmark has 98 municipalities */

typedef enum kb_role { KB_ROLE_ADMIN, KB_ROLE_CASEWORKER, KB_ROLE_ORGANISATION } kb_role_t;

typedef struct kb_token {
    char name[64];
    unsigned char hash[32]; /* SHA-256 of the token */
    kb_role_t role;
    char org_id[65];                  /* organisation: its one org */
    char munis[KB_AUTH_MUNIS_MAX][5]; /* caseworker: 4-digit codes */
    unsigned nmunis;
    double bucket;    /* requests left in the bucket */
    uint64_t last_ns; /* when the bucket was last filled */
} kb_token_t;

typedef struct kb_auth {
    kb_token_t *tokens; /* owned; n of them */
    size_t n;
    double rate, burst; /* per token; rate 0: unlimited */
} kb_auth_t;

/* Parses a "tokens" list into a (which must be zeroed or freed before).
 * KB_EINVAL with err filled (naming the entry, never a hash) on any
 * problem; a is left untouched then. */
int kb_auth_parse(kb_auth_t *a, const json_t *tokens, char *err, size_t errlen);
/* Reads the "tokens" list of a config file; a file without one gives no
 * tokens. */
int kb_auth_load_file(kb_auth_t *a, const char *path, char *err, size_t errlen);
/* Replaces a's tokens with those of next (which is emptied), keeping the
 * rate buckets of tokens whose name is in both. */
void kb_auth_replace(kb_auth_t *a, kb_auth_t *next);
void kb_auth_free(kb_auth_t *a);

/* The token an Authorization header value ("Bearer <token>") presents, or
 * NULL when the header is missing, malformed or the token unknown. */
kb_token_t *kb_auth_check(kb_auth_t *a, const char *authorization);
/* Takes one request from t's bucket at now_ns; false when it is empty. */
bool kb_auth_take(const kb_auth_t *a, kb_token_t *t, uint64_t now_ns);

/* Whether a caseworker's scope holds municipality code m. */
bool kb_token_has_muni(const kb_token_t *t, const char *m);

/* SHA-256 of token as 64 lowercase hex digits and a NUL. */
void kb_auth_hash_hex(const char *token, size_t len, char out[65]);
/* A new random token: 43 characters of URL-safe base64 (256 bits) and a NUL. */
void kb_auth_new_token(char out[44]);
/* Must be called once before any other kb_auth_* function (sodium_init). */
int kb_auth_init(void);

#endif
