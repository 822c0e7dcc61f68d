/* test_auth.c — token lists, the bearer check, rate buckets and hashes. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "koble/error.h"

/* sha256("abc") */
#define H_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"

static void init(void) { cr_assert_eq(kb_auth_init(), 0); }

static int parse(kb_auth_t *a, const char *text, char *err, size_t errlen) {
    json_t *v = json_loads(text, 0, NULL);
    cr_assert_not_null(v, "bad test JSON");
    int rc = kb_auth_parse(a, v, err, errlen);
    json_decref(v);
    return rc;
}

/* A list of the three roles with tokens "secret-1" .. "secret-3". */
static void three(kb_auth_t *a) {
    char h[3][65], text[1024], err[256];
    for (int i = 0; i < 3; i++) {
        char tok[16];
        snprintf(tok, sizeof tok, "secret-%d", i + 1);
        kb_auth_hash_hex(tok, strlen(tok), h[i]);
    }
    snprintf(text, sizeof text,
             "[{\"name\":\"ops\",\"sha256\":\"%s\",\"role\":\"admin\"},"
             "{\"name\":\"jc\",\"sha256\":\"%s\",\"role\":\"caseworker\","
             "\"municipalities\":[\"0376\",\"0101\"]},"
             "{\"name\":\"urk\",\"sha256\":\"%s\",\"role\":\"organisation\",\"org_id\":\"urk\"}]",
             h[0], h[1], h[2]);
    cr_assert_eq(parse(a, text, err, sizeof err), 0, "%s", err);
}

Test(auth, hashes_are_sha256_hex, .init = init) {
    char hex[65];
    kb_auth_hash_hex("abc", 3, hex);
    cr_assert_str_eq(hex, H_ABC);
}

Test(auth, new_tokens_are_random_url_safe_256_bits, .init = init) {
    char a[44], b[44];
    kb_auth_new_token(a);
    kb_auth_new_token(b);
    cr_assert_eq(strlen(a), 43);
    cr_assert_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    cr_assert_str_neq(a, b);
}

Test(auth, parses_the_three_roles, .init = init) {
    kb_auth_t a = {0};
    three(&a);
    cr_assert_eq(a.n, 3);
    cr_assert_eq(a.tokens[0].role, KB_ROLE_ADMIN);
    cr_assert_eq(a.tokens[1].role, KB_ROLE_CASEWORKER);
    cr_assert_eq(a.tokens[1].nmunis, 2);
    cr_assert(kb_token_has_muni(&a.tokens[1], "0101"));
    cr_assert_not(kb_token_has_muni(&a.tokens[1], "0102"));
    cr_assert_eq(a.tokens[2].role, KB_ROLE_ORGANISATION);
    cr_assert_str_eq(a.tokens[2].org_id, "urk");
    kb_auth_free(&a);
}

Test(auth, bearer_check_finds_the_token, .init = init) {
    kb_auth_t a = {0};
    three(&a);
    cr_assert_eq(kb_auth_check(&a, "Bearer secret-2"), &a.tokens[1]);
    cr_assert_eq(kb_auth_check(&a, "bearer   secret-3 "), &a.tokens[2], "scheme is case-blind");
    cr_assert_null(kb_auth_check(&a, "Bearer secret-4"));
    cr_assert_null(kb_auth_check(&a, "Bearer secret-"));
    cr_assert_null(kb_auth_check(&a, "Bearer "));
    cr_assert_null(kb_auth_check(&a, "Basic c2VjcmV0LTE="));
    cr_assert_null(kb_auth_check(&a, "secret-1"));
    cr_assert_null(kb_auth_check(&a, NULL));
    kb_auth_free(&a);
}

Test(auth, bad_lists_are_refused_without_showing_hashes, .init = init) {
    static const char *const bad[] = {
        "{}",
        "[{\"name\":\"x\",\"sha256\":\"" H_ABC "\",\"role\":\"root\"}]",
        "[{\"name\":\"x\",\"sha256\":\"abc\",\"role\":\"admin\"}]",
        "[{\"name\":\"x\",\"sha256\":\"" H_ABC "\",\"role\":\"admin\",\"token\":\"abc\"}]",
        "[{\"name\":\"x y\",\"sha256\":\"" H_ABC "\",\"role\":\"admin\"}]",
        "[{\"name\":\"x\",\"sha256\":\"" H_ABC "\",\"role\":\"caseworker\"}]",
        "[{\"name\":\"x\",\"sha256\":\"" H_ABC "\",\"role\":\"caseworker\","
        "\"municipalities\":[\"376\"]}]",
        "[{\"name\":\"x\",\"sha256\":\"" H_ABC "\",\"role\":\"organisation\"}]",
        "[{\"name\":\"x\",\"sha256\":\"" H_ABC "\",\"role\":\"admin\",\"org_id\":\"o\"}]",
        "[{\"name\":\"x\",\"sha256\":\"" H_ABC "\",\"role\":\"admin\"},"
        "{\"name\":\"x\",\"sha256\":\"" H_ABC "\",\"role\":\"admin\"}]",
        "[{\"name\":\"x\",\"sha256\":\"" H_ABC "\",\"role\":\"admin\"},"
        "{\"name\":\"y\",\"sha256\":\"" H_ABC "\",\"role\":\"admin\"}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        kb_auth_t a = {0};
        char err[256] = "";
        cr_assert_eq(parse(&a, bad[i], err, sizeof err), KB_EINVAL, "accepted: %s", bad[i]);
        cr_assert_null(a.tokens);
        cr_assert(err[0], "no message for %s", bad[i]);
        cr_assert_null(strstr(err, "ba7816bf"), "hash in message: %s", err);
    }
}

Test(auth, buckets_refill_at_the_rate, .init = init) {
    kb_auth_t a = {0};
    three(&a);
    a.rate = 10;
    a.burst = 3;
    kb_token_t *t = &a.tokens[0];
    uint64_t now = 5000000000ull;
    for (int i = 0; i < 3; i++) cr_assert(kb_auth_take(&a, t, now), "burst %d", i);
    cr_assert_not(kb_auth_take(&a, t, now), "the burst is spent");
    cr_assert_not(kb_auth_take(&a, t, now + 50000000), "half a request refilled");
    cr_assert(kb_auth_take(&a, t, now + 100000000), "one refilled after 0.1 s at 10/s");
    cr_assert_not(kb_auth_take(&a, t, now + 100000000));
    for (int i = 0; i < 3; i++) cr_assert(kb_auth_take(&a, t, now + 60000000000ull));
    cr_assert_not(kb_auth_take(&a, t, now + 60000000000ull), "a long pause refills only burst");
    cr_assert(kb_auth_take(&a, &a.tokens[1], now), "buckets are per token");
    a.rate = 0;
    for (int i = 0; i < 100; i++) cr_assert(kb_auth_take(&a, t, now), "rate 0 is unlimited");
    kb_auth_free(&a);
}

Test(auth, replace_keeps_buckets_by_name, .init = init) {
    kb_auth_t a = {0}, next = {0};
    three(&a);
    a.rate = 1;
    a.burst = 2;
    uint64_t now = 1000000000ull;
    cr_assert(kb_auth_take(&a, &a.tokens[1], now));
    cr_assert(kb_auth_take(&a, &a.tokens[1], now));
    three(&next);
    kb_auth_replace(&a, &next);
    cr_assert_eq(next.n, 0);
    cr_assert_null(next.tokens);
    cr_assert_eq(a.n, 3);
    cr_assert_not(kb_auth_take(&a, &a.tokens[1], now), "jc's spent bucket survives a reload");
    cr_assert(kb_auth_take(&a, &a.tokens[0], now));
    kb_auth_free(&a);
}

Test(auth, loads_the_config_files_list, .init = init) {
    char path[] = "/tmp/koble-auth-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    static const char cfg[] = "{\"listen\":\"127.0.0.1:0\",\"tokens\":[{\"name\":\"ops\","
                              "\"sha256\":\"" H_ABC "\",\"role\":\"admin\"}]}";
    cr_assert_eq(write(fd, cfg, sizeof cfg - 1), (ssize_t)sizeof cfg - 1);
    close(fd);
    kb_auth_t a = {0};
    char err[256];
    cr_assert_eq(kb_auth_load_file(&a, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(a.n, 1);
    cr_assert_eq(kb_auth_check(&a, "Bearer abc"), &a.tokens[0]);
    kb_auth_free(&a);
    FILE *f = fopen(path, "w");
    fputs("{\"listen\":\"127.0.0.1:0\"}", f);
    fclose(f);
    cr_assert_eq(kb_auth_load_file(&a, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(a.n, 0, "no list: no tokens (open mode)");
    unlink(path);
}
