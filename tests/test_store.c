/* test_store.c — pools, token sets and dates. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "koble/error.h"
#include "store.h"

Test(store, pool_reuses_slots_and_maps_ids) {
    kb_store_t s;
    kb_store_init(&s);
    kb_pool_t *p = &s.cands[KB_VOLUNTEER];
    uint32_t a, b, c;
    cr_assert_eq(kb_pool_alloc(p, "v-1", &a), 0);
    cr_assert_eq(kb_pool_alloc(p, "v-2", &b), 0);
    cr_assert_eq(kb_pool_find(p, "v-2"), b);
    cr_assert_str_eq(kb_store_cand(&s, KB_VOLUNTEER, a)->id, "v-1");
    kb_pool_release(p, a);
    cr_assert_eq(kb_pool_find(p, "v-1"), KB_NO_SLOT);
    cr_assert_eq(p->live, 1);
    cr_assert_eq(kb_pool_alloc(p, "v-3", &c), 0);
    cr_assert_eq(c, a, "a freed slot is reused");
    cr_assert_eq(kb_pool_find(p, "v-3"), a);
    cr_assert_eq(kb_pool_find(p, "v-2"), b);
    kb_store_free(&s);
}

/* The record array grows by doubling (256, 512, ... records), here past
 * 8 MiB, where it takes huge pages, and then by kb_pool_reserve: what
 * each record held stays, in the same slot, and a new record starts
 * zeroed. */
Test(store, records_keep_their_values_as_the_pool_grows) {
    kb_store_t s;
    kb_store_init(&s);
    kb_pool_t *p = &s.needs;
    char id[16];
    uint32_t n = 0;
    while ((size_t)p->cap * p->elem < (8u << 20) || n < p->cap) {
        snprintf(id, sizeof id, "n-%u", n);
        uint32_t slot;
        cr_assert_eq(kb_pool_alloc(p, id, &slot), 0, "record %u", n);
        cr_assert_eq(slot, n);
        kb_need_t *rec = kb_store_need(&s, slot);
        cr_assert_eq(rec->count, 0, "record %u starts zeroed", n);
        cr_assert_eq(rec->person_age, 0);
        rec->count = (uint16_t)(n + 1);
        rec->person_age = (uint8_t)(n % 100);
        n++;
    }
    cr_assert_eq(kb_pool_reserve(p, 3 * n), 0);
    cr_assert_geq(p->cap, 3 * n);
    for (uint32_t i = 0; i < n; i++) {
        snprintf(id, sizeof id, "n-%u", i);
        cr_assert_eq(kb_pool_find(p, id), i);
        const kb_need_t *rec = kb_store_need(&s, i);
        cr_assert_str_eq(rec->id, id);
        cr_assert_eq(rec->count, (uint16_t)(i + 1));
        cr_assert_eq(rec->person_age, i % 100);
    }
    kb_store_free(&s);
}

/* When mremap cannot grow the array (here: advice on one page of it
 * splits its mapping in three, which mremap refuses to move), a new
 * mapping and a copy do. */
Test(store, records_survive_a_grow_that_mremap_refuses) {
    kb_store_t s;
    kb_store_init(&s);
    kb_pool_t *p = &s.needs;
    char id[16];
    uint32_t n = 0, slot;
    for (; n < p->cap || n == 0; n++) {
        snprintf(id, sizeof id, "n-%u", n);
        cr_assert_eq(kb_pool_alloc(p, id, &slot), 0);
        kb_store_need(&s, slot)->count = (uint16_t)(n + 1);
    }
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    cr_assert_gt((size_t)p->cap * p->elem, 2 * page);
    cr_assert_eq(madvise((char *)p->recs + page, page, MADV_RANDOM), 0);
    void *before = p->recs;
    snprintf(id, sizeof id, "n-%u", n);
    cr_assert_eq(kb_pool_alloc(p, id, &slot), 0, "grown by a copy");
    cr_assert_eq(slot, n);
    cr_assert_neq(p->recs, before);
    cr_assert_eq(kb_store_need(&s, slot)->count, 0);
    for (uint32_t i = 0; i < n; i++) {
        snprintf(id, sizeof id, "n-%u", i);
        cr_assert_eq(kb_pool_find(p, id), i);
        cr_assert_str_eq(kb_store_need(&s, i)->id, id);
        cr_assert_eq(kb_store_need(&s, i)->count, (uint16_t)(i + 1));
    }
    kb_store_free(&s);
}

Test(store, token_sets) {
    uint32_t x[] = {1, 4, 9}, y[] = {2, 4, 9, 12}, z[] = {4, 9};
    kb_toks_t a = {x, 3}, b = {y, 4}, c = {z, 2}, none = {NULL, 0};
    cr_assert_eq(kb_toks_common(&a, &b), 2);
    cr_assert(kb_toks_subset(&c, &b));
    cr_assert(!kb_toks_subset(&a, &b));
    cr_assert(kb_toks_subset(&none, &a));
    cr_assert(kb_toks_contains(&b, 12));
    cr_assert(!kb_toks_contains(&b, 3));
}

Test(store, dates_parse_and_format) {
    int32_t d;
    cr_assert_eq(kb_date_parse("1970-01-01", &d), 0);
    cr_assert_eq(d, 0);
    cr_assert_eq(kb_date_parse("2027-06-30", &d), 0);
    cr_assert_eq(d, 20999);
    char out[11];
    kb_date_format(d, out);
    cr_assert_str_eq(out, "2027-06-30");
    cr_assert_eq(kb_date_parse("2028-02-29", &d), 0);
    kb_date_format(d, out);
    cr_assert_str_eq(out, "2028-02-29");
    /* Every day the parser accepts formats back to its own text. */
    for (int32_t day = KB_DATE_MIN; day <= KB_DATE_MAX; day++) {
        kb_date_format(day, out);
        int32_t back;
        cr_assert_eq(kb_date_parse(out, &back), 0, "%s", out);
        cr_assert_eq(back, day, "%s", out);
    }
    kb_date_format(KB_DATE_MIN, out);
    cr_assert_str_eq(out, "1900-01-01");
    kb_date_format(KB_DATE_MAX, out);
    cr_assert_str_eq(out, "2200-12-31");
    kb_date_format(-1, out);
    cr_assert_str_eq(out, "1969-12-31");
    cr_assert_eq(kb_date_parse("2027-02-29", &d), KB_EINVAL);
    cr_assert_eq(kb_date_parse("2027-13-01", &d), KB_EINVAL);
    cr_assert_eq(kb_date_parse("2027-6-30", &d), KB_EINVAL);
    cr_assert_eq(kb_date_parse("2027-06-30T00", &d), KB_EINVAL);
    cr_assert_eq(kb_date_parse("1899-12-31", &d), KB_EINVAL);
    cr_assert_eq(kb_date_parse("2200-12-31", &d), 0);
    cr_assert_eq(d, KB_DATE_MAX);
    cr_assert_eq(kb_date_parse("1900-01-01", &d), 0);
    cr_assert_eq(d, KB_DATE_MIN);
    const char *bad[] = {"2201-01-01", "2027-06-3",  "2027-06-30x", "+027-06-30",
                         "2027/06/30", "2027-06-00", "2027-00-10",  "2027-04-31",
                         "",           "2027-0a-01", "20270-6-01"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(kb_date_parse(bad[i], &d), KB_EINVAL, "%s", bad[i]);
}
