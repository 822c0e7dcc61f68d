/* test_imap.c — the uint64 -> uint32 table of the index's grid cells. */
#include <criterion/criterion.h>

#include "imap.h"
#include "koble/error.h"

static kb_imap_t m;

static void setup(void) { kb_imap_init(&m); }
static void teardown(void) { kb_imap_free(&m); }

TestSuite(imap, .init = setup, .fini = teardown);

/* Keys as index.c makes them: (lat cell << 32) | lon cell. */
static uint64_t cell_key(uint32_t a, uint32_t b) { return ((uint64_t)a << 32) | b; }

Test(imap, empty_map_finds_nothing_and_holds_no_memory) {
    uint32_t v = 77;
    cr_assert_eq(kb_imap_get(&m, 0, &v), KB_ENOTFOUND);
    cr_assert_eq(kb_imap_get(&m, 12345, &v), KB_ENOTFOUND);
    cr_assert_eq(v, 77, "a miss leaves value alone");
    cr_assert_eq(m.count, 0);
    cr_assert_eq(kb_imap_bytes(&m), 0);
}

Test(imap, key_zero_is_an_ordinary_key) {
    uint32_t v;
    cr_assert_eq(kb_imap_put(&m, 0, 5), 0);
    cr_assert_eq(kb_imap_get(&m, 0, &v), 0);
    cr_assert_eq(v, 5);
    cr_assert_eq(kb_imap_get(&m, 1, &v), KB_ENOTFOUND);
    cr_assert_eq(m.count, 1);
}

/* A block of neighbouring grid cells, through several doublings: all
 * found, and overwrites do not add. */
Test(imap, neighbouring_cells_survive_growth) {
    uint32_t n = 0;
    for (uint32_t a = 14000; a < 14100; a++)
        for (uint32_t b = 9600; b < 9700; b++)
            cr_assert_eq(kb_imap_put(&m, cell_key(a, b), n++), 0);
    cr_assert_eq(m.count, 10000);
    cr_assert_gt(kb_imap_bytes(&m), 0);
    for (uint32_t a = 14000; a < 14100; a += 3)
        cr_assert_eq(kb_imap_put(&m, cell_key(a, 9650), 1000000 + a), 0);
    cr_assert_eq(m.count, 10000);
    n = 0;
    for (uint32_t a = 14000; a < 14100; a++) {
        for (uint32_t b = 9600; b < 9700; b++, n++) {
            uint32_t v;
            cr_assert_eq(kb_imap_get(&m, cell_key(a, b), &v), 0, "cell %u,%u lost", a, b);
            uint32_t want = b == 9650 && (a - 14000) % 3 == 0 ? 1000000 + a : n;
            cr_assert_eq(v, want);
        }
    }
    uint32_t v;
    cr_assert_eq(kb_imap_get(&m, cell_key(14100, 9600), &v), KB_ENOTFOUND);
    cr_assert_eq(kb_imap_get(&m, cell_key(9600, 14000), &v), KB_ENOTFOUND);
}

/* Keys are stored as key + 1 with 0 meaning "free", so UINT64_MAX cannot
 * be stored: it is refused, and leaves the map as it was. */
Test(imap, the_largest_key_is_refused) {
    uint32_t v = 7;
    cr_assert_eq(kb_imap_put(&m, UINT64_MAX, 9), KB_EINVAL);
    cr_assert_eq(m.count, 0);
    cr_assert_eq(kb_imap_get(&m, UINT64_MAX, &v), KB_ENOTFOUND);
    cr_assert_eq(v, 7);
    cr_assert_eq(kb_imap_put(&m, UINT64_MAX - 1, 9), 0, "the one below is an ordinary key");
    cr_assert_eq(kb_imap_get(&m, UINT64_MAX - 1, &v), 0);
    cr_assert_eq(v, 9);
}
