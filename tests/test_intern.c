/* test_intern.c — token ids: dense from 0 in first-seen order, stable,
 * found without being added, and named back. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "intern.h"
#include "koble/error.h"

static kb_intern_t in;

static void setup(void) { kb_intern_init(&in); }
static void teardown(void) { kb_intern_free(&in); }

TestSuite(intern, .init = setup, .fini = teardown);

Test(intern, ids_are_dense_from_zero_in_first_seen_order) {
    const char *tokens[] = {"cooking", "da", "driving", "en", "first_aid"};
    for (uint32_t i = 0; i < 5; i++) {
        uint32_t id = 99;
        cr_assert_eq(kb_intern_add(&in, tokens[i], &id), 0);
        cr_assert_eq(id, i, "%s got id %u", tokens[i], id);
    }
    cr_assert_eq(in.count, 5);
    /* Adding a known token again returns its id and adds nothing. */
    uint32_t id = 99;
    cr_assert_eq(kb_intern_add(&in, "driving", &id), 0);
    cr_assert_eq(id, 2);
    cr_assert_eq(in.count, 5);
    /* The next new token takes the next id. */
    cr_assert_eq(kb_intern_add(&in, "music", &id), 0);
    cr_assert_eq(id, 5);
}

Test(intern, find_does_not_add) {
    uint32_t id = 99;
    cr_assert_eq(kb_intern_find(&in, "cooking", &id), KB_ENOTFOUND);
    cr_assert_eq(in.count, 0);
    cr_assert_eq(kb_intern_add(&in, "cooking", &id), 0);
    cr_assert_eq(kb_intern_add(&in, "music", &id), 0);
    cr_assert_eq(kb_intern_find(&in, "cooking", &id), 0);
    cr_assert_eq(id, 0);
    cr_assert_eq(kb_intern_find(&in, "music", &id), 0);
    cr_assert_eq(id, 1);
    /* Tokens are compared whole and case-sensitively. */
    cr_assert_eq(kb_intern_find(&in, "cook", &id), KB_ENOTFOUND);
    cr_assert_eq(kb_intern_find(&in, "cooking2", &id), KB_ENOTFOUND);
    cr_assert_eq(kb_intern_find(&in, "Cooking", &id), KB_ENOTFOUND);
    cr_assert_eq(in.count, 2);
}

Test(intern, names_are_copies_and_unknown_ids_are_empty) {
    char buf[16];
    snprintf(buf, sizeof buf, "%s", "gardening");
    uint32_t id;
    cr_assert_eq(kb_intern_add(&in, buf, &id), 0);
    buf[0] = 'X'; /* the caller's buffer is not kept */
    cr_assert_str_eq(kb_intern_name(&in, id), "gardening");
    cr_assert_str_eq(kb_intern_name(&in, id + 1), "");
    cr_assert_str_eq(kb_intern_name(&in, UINT32_MAX), "");
}

/* Past the first allocations: every id, name and lookup still holds, and a
 * name returned early stays valid (it is not moved by growth). */
Test(intern, many_tokens_keep_their_ids_and_names) {
    uint32_t id;
    cr_assert_eq(kb_intern_add(&in, "t0", &id), 0);
    const char *first = kb_intern_name(&in, 0);
    size_t bytes_before = kb_intern_bytes(&in);
    char tok[16];
    for (uint32_t i = 1; i < 3000; i++) {
        snprintf(tok, sizeof tok, "t%u", i);
        cr_assert_eq(kb_intern_add(&in, tok, &id), 0);
        cr_assert_eq(id, i);
    }
    cr_assert_eq(in.count, 3000);
    cr_assert_str_eq(first, "t0");
    cr_assert_gt(kb_intern_bytes(&in), bytes_before);
    for (uint32_t i = 0; i < 3000; i++) {
        snprintf(tok, sizeof tok, "t%u", i);
        cr_assert_str_eq(kb_intern_name(&in, i), tok);
        cr_assert_eq(kb_intern_find(&in, tok, &id), 0);
        cr_assert_eq(id, i);
    }
}
