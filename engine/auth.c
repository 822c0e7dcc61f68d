/* auth.c — see auth.h.
 *
 * libsodium does the cryptography (SHA-256, constant-time comparison,
 * random tokens): hand-written crypto is where quiet bugs live. */
#include "auth.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "koble/error.h"

int kb_auth_init(void) { return sodium_init() < 0 ? KB_EIO : 0; }

static int fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return KB_EINVAL;
}

static bool valid_name(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n > 63) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("._:-", *s)) return false;
    return true;
}

static bool valid_muni(const char *s) {
    if (strlen(s) != 4) return false;
    for (int i = 0; i < 4; i++)
        if (!isdigit((unsigned char)s[i])) return false;
    return true;
}

/* One entry of the list into t; entry i is named in errors by its name
 * when it has a valid one, else by its position. */
static int parse_token(const json_t *v, size_t i, kb_token_t *t, char *err, size_t errlen) {
    if (!json_is_object(v)) return fail(err, errlen, "tokens[%zu]: must be an object", i);
    const char *name = json_string_value(json_object_get(v, "name"));
    if (!name || !valid_name(name))
        return fail(err, errlen, "tokens[%zu]: name: 1-63 characters of [A-Za-z0-9._:-]", i);
    snprintf(t->name, sizeof t->name, "%s", name);
    const char *key;
    json_t *f;
    json_object_foreach((json_t *)v, key, f) {
        if (strcmp(key, "name") && strcmp(key, "sha256") && strcmp(key, "role") &&
            strcmp(key, "org_id") && strcmp(key, "municipalities"))
            return fail(err, errlen, "token %s: %s: unknown field", name, key);
    }
    const char *hex = json_string_value(json_object_get(v, "sha256"));
    size_t bin_len = 0;
    if (!hex || strlen(hex) != 64 ||
        sodium_hex2bin(t->hash, sizeof t->hash, hex, 64, NULL, &bin_len, NULL) != 0 ||
        bin_len != sizeof t->hash)
        return fail(err, errlen,
                    "token %s: sha256: 64 hex digits (kobled --hash-token prints them)", name);
    const char *role = json_string_value(json_object_get(v, "role"));
    const json_t *org = json_object_get(v, "org_id"), *munis = json_object_get(v, "municipalities");
    if (role && !strcmp(role, "admin")) t->role = KB_ROLE_ADMIN;
    else if (role && !strcmp(role, "caseworker")) t->role = KB_ROLE_CASEWORKER;
    else if (role && !strcmp(role, "organisation")) t->role = KB_ROLE_ORGANISATION;
    else return fail(err, errlen, "token %s: role: admin, caseworker or organisation", name);
    if (t->role != KB_ROLE_ORGANISATION && org)
        return fail(err, errlen, "token %s: org_id is only for the organisation role", name);
    if (t->role != KB_ROLE_CASEWORKER && munis)
        return fail(err, errlen, "token %s: municipalities is only for the caseworker role", name);
    if (t->role == KB_ROLE_ORGANISATION) {
        const char *o = json_string_value(org);
        if (!o || !*o || strlen(o) >= sizeof t->org_id)
            return fail(err, errlen, "token %s: org_id: the organisation's id", name);
        snprintf(t->org_id, sizeof t->org_id, "%s", o);
    }
    if (t->role == KB_ROLE_CASEWORKER) {
        size_t n = json_array_size(munis);
        if (!json_is_array(munis) || n == 0 || n > KB_AUTH_MUNIS_MAX)
            return fail(err, errlen, "token %s: municipalities: a list of 1-%d codes", name,
                        KB_AUTH_MUNIS_MAX);
        for (size_t k = 0; k < n; k++) {
            const char *m = json_string_value(json_array_get(munis, k));
            if (!m || !valid_muni(m))
                return fail(err, errlen, "token %s: municipalities[%zu]: 4 digits", name, k);
            memcpy(t->munis[t->nmunis++], m, 5);
        }
    }
    return 0;
}

int kb_auth_parse(kb_auth_t *a, const json_t *tokens, char *err, size_t errlen) {
    if (!json_is_array(tokens)) return fail(err, errlen, "tokens: must be a list");
    size_t n = json_array_size(tokens);
    kb_token_t *ts = n ? calloc(n, sizeof *ts) : NULL;
    if (n && !ts) return fail(err, errlen, "tokens: out of memory");
    for (size_t i = 0; i < n; i++) {
        int rc = parse_token(json_array_get(tokens, i), i, &ts[i], err, errlen);
        for (size_t k = 0; rc == 0 && k < i; k++) {
            if (!strcmp(ts[k].name, ts[i].name))
                rc = fail(err, errlen, "token %s: the name is used twice", ts[i].name);
            else if (!sodium_memcmp(ts[k].hash, ts[i].hash, sizeof ts[i].hash))
                rc = fail(err, errlen, "token %s: the same token as %s", ts[i].name, ts[k].name);
        }
        if (rc < 0) {
            free(ts);
            return rc;
        }
    }
    a->tokens = ts;
    a->n = n;
    return 0;
}

int kb_auth_load_file(kb_auth_t *a, const char *path, char *err, size_t errlen) {
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) return fail(err, errlen, "%s:%d:%d: %s", path, je.line, je.column, je.text);
    const json_t *tokens = json_object_get(root, "tokens");
    int rc = 0;
    if (tokens) {
        char why[256];
        rc = kb_auth_parse(a, tokens, why, sizeof why);
        if (rc < 0) fail(err, errlen, "%s: %s", path, why);
    } else {
        a->tokens = NULL;
        a->n = 0;
    }
    json_decref(root);
    return rc;
}

void kb_auth_replace(kb_auth_t *a, kb_auth_t *next) {
    for (size_t i = 0; i < next->n; i++) {
        kb_token_t *t = &next->tokens[i];
        t->bucket = a->burst;
        t->last_ns = 0;
        for (size_t k = 0; k < a->n; k++) {
            if (strcmp(a->tokens[k].name, t->name)) continue;
            t->bucket = a->tokens[k].bucket;
            t->last_ns = a->tokens[k].last_ns;
        }
    }
    free(a->tokens);
    a->tokens = next->tokens;
    a->n = next->n;
    next->tokens = NULL;
    next->n = 0;
}

void kb_auth_free(kb_auth_t *a) {
    free(a->tokens);
    a->tokens = NULL;
    a->n = 0;
}

kb_token_t *kb_auth_check(kb_auth_t *a, const char *authorization) {
    if (!authorization || strncasecmp(authorization, "Bearer ", 7)) return NULL;
    const char *tok = authorization + 7;
    while (*tok == ' ') tok++;
    size_t len = strlen(tok);
    while (len && tok[len - 1] == ' ') len--;
    if (!len) return NULL;
    unsigned char h[32];
    crypto_hash_sha256(h, (const unsigned char *)tok, len);
    kb_token_t *found = NULL;
    for (size_t i = 0; i < a->n; i++) /* all of them: no early exit to time */
        if (!sodium_memcmp(h, a->tokens[i].hash, sizeof h)) found = &a->tokens[i];
    return found;
}

bool kb_auth_take(const kb_auth_t *a, kb_token_t *t, uint64_t now_ns) {
    if (a->rate <= 0) return true;
    if (t->last_ns == 0) t->bucket = a->burst;
    else if (now_ns > t->last_ns) t->bucket += (double)(now_ns - t->last_ns) / 1e9 * a->rate;
    if (t->bucket > a->burst) t->bucket = a->burst;
    t->last_ns = now_ns;
    if (t->bucket < 1) return false;
    t->bucket -= 1;
    return true;
}

bool kb_token_has_muni(const kb_token_t *t, const char *m) {
    for (unsigned i = 0; i < t->nmunis; i++)
        if (!strcmp(t->munis[i], m)) return true;
    return false;
}

void kb_auth_hash_hex(const char *token, size_t len, char out[65]) {
    unsigned char h[32];
    crypto_hash_sha256(h, (const unsigned char *)token, len);
    sodium_bin2hex(out, 65, h, sizeof h);
}

void kb_auth_new_token(char out[44]) {
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, 44, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}
