/* test_dict.c — the string and integer hash tables. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "dict.h"
#include "imap.h"
#include "koble/error.h"

static char keys[5000][16];

static const char *key_of(void *ctx, uint32_t v) {
    (void)ctx;
    return keys[v];
}

Test(dict, add_get_delete_keeps_every_other_key) {
    kb_dict_t d;
    kb_dict_init(&d, key_of, NULL);
    for (uint32_t i = 0; i < 5000; i++) {
        snprintf(keys[i], sizeof keys[i], "k%u", i * 7919);
        cr_assert_eq(kb_dict_add(&d, keys[i], strlen(keys[i]), i), 0);
    }
    cr_assert_eq(d.count, 5000);
    /* Delete every third key; backward-shift must not lose the others. */
    for (uint32_t i = 0; i < 5000; i += 3)
        cr_assert_eq(kb_dict_del(&d, keys[i], strlen(keys[i])), 0);
    for (uint32_t i = 0; i < 5000; i++) {
        uint32_t v = 99999;
        int rc = kb_dict_get(&d, keys[i], strlen(keys[i]), &v);
        if (i % 3 == 0) {
            cr_assert_eq(rc, KB_ENOTFOUND, "key %u should be gone", i);
        } else {
            cr_assert_eq(rc, 0, "key %u lost", i);
            cr_assert_eq(v, i);
        }
    }
    cr_assert_eq(kb_dict_del(&d, "nope", 4), KB_ENOTFOUND);
    /* A prefix of a key is a different key. */
    uint32_t v;
    cr_assert_eq(kb_dict_get(&d, keys[1], strlen(keys[1]) - 1, &v), KB_ENOTFOUND);
    kb_dict_free(&d);
}

Test(imap, put_get_overwrite) {
    kb_imap_t m;
    kb_imap_init(&m);
    for (uint64_t k = 0; k < 10000; k++)
        cr_assert_eq(kb_imap_put(&m, k * 1000003ULL, (uint32_t)k), 0);
    cr_assert_eq(kb_imap_put(&m, 5 * 1000003ULL, 42), 0);
    cr_assert_eq(m.count, 10000);
    uint32_t v;
    cr_assert_eq(kb_imap_get(&m, 5 * 1000003ULL, &v), 0);
    cr_assert_eq(v, 42);
    cr_assert_eq(kb_imap_get(&m, 9999 * 1000003ULL, &v), 0);
    cr_assert_eq(v, 9999);
    cr_assert_eq(kb_imap_get(&m, 7, &v), KB_ENOTFOUND);
    kb_imap_free(&m);
}

Test(dict, a_reserved_table_does_not_grow_and_a_present_key_is_refused) {
    kb_dict_t d;
    kb_dict_init(&d, key_of, NULL);
    cr_assert_eq(kb_dict_reserve(&d, 3000), 0);
    struct kb_dict_entry *table = d.slots;
    uint32_t mask = d.mask;
    cr_assert_geq((uint64_t)mask + 1, 6000, "load stays at most 1/2");
    for (uint32_t i = 0; i < 3000; i++) {
        snprintf(keys[i], sizeof keys[i], "r%u", i);
        cr_assert_eq(kb_dict_add(&d, keys[i], strlen(keys[i]), i), 0);
    }
    cr_assert_eq(d.slots, table, "no growth after reserving");
    cr_assert_eq(d.mask, mask);
    /* Another value under a key already there: refused, table unchanged. */
    snprintf(keys[3000], sizeof keys[3000], "r17");
    cr_assert_eq(kb_dict_add(&d, keys[3000], strlen(keys[3000]), 3000), KB_ECONFLICT);
    cr_assert_eq(d.count, 3000);
    uint32_t v = 0;
    cr_assert_eq(kb_dict_get(&d, "r17", 3, &v), 0);
    cr_assert_eq(v, 17);
    kb_dict_free(&d);
}
