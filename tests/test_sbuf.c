/* test_sbuf.c — the growable text buffer: appends, formatted appends,
 * growth past the first allocation, room reserved ahead, the sticky
 * error, and integers in decimal against printf. */
#include <criterion/criterion.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "koble/error.h"
#include "sbuf.h"

Test(sbuf, appends_and_formats_in_order) {
    kb_sbuf_t b = {0};
    kb_sbuf_add(&b, "ab", 2);
    kb_sbuf_printf(&b, "-%d-%s", 42, "x");
    kb_sbuf_add(&b, "cdef", 2);
    cr_assert_eq(b.err, 0);
    cr_assert_str_eq(b.p, "ab-42-xcd");
    cr_assert_eq(b.len, 9);
    free(b.p);
}

Test(sbuf, grows_past_its_first_allocation) {
    kb_sbuf_t b = {0};
    for (int i = 0; i < 1000; i++) kb_sbuf_printf(&b, "%04d,", i);
    cr_assert_eq(b.err, 0);
    cr_assert_eq(b.len, 5000);
    cr_assert_eq(strncmp(b.p + 4995, "0999,", 5), 0);
    cr_assert_eq(b.p[b.len], '\0');
    free(b.p);
}

Test(sbuf, an_error_sticks_and_later_appends_do_nothing) {
    kb_sbuf_t b = {.err = KB_ENOMEM};
    kb_sbuf_add(&b, "ab", 2);
    kb_sbuf_printf(&b, "%d", 1);
    cr_assert_eq(b.err, KB_ENOMEM);
    cr_assert_eq(b.len, 0);
    cr_assert_null(b.p);
}

Test(sbuf, reserved_room_takes_appends_without_moving) {
    kb_sbuf_t b = {0};
    cr_assert_eq(kb_sbuf_reserve(&b, 1000), 0);
    cr_assert_geq(b.cap, 1001);
    const char *p = b.p;
    for (int i = 0; i < 100; i++) kb_sbuf_add(&b, "0123456789", 10);
    cr_assert_eq(b.p, p, "1000 bytes fit the room reserved");
    cr_assert_eq(b.len, 1000);
    cr_assert_eq(b.p[1000], '\0');
    kb_sbuf_add(&b, "x", 1);
    cr_assert_eq(b.len, 1001);
    cr_assert_eq(b.p[1000], 'x');
    free(b.p);
    kb_sbuf_t bad = {.err = KB_ENOMEM};
    cr_assert_eq(kb_sbuf_reserve(&bad, 1), -1);
    cr_assert_null(bad.p);
}

Test(sbuf, integers_are_written_as_printf_writes_them) {
    const long long v[] = {0, 7, -1, 10, 1234567890, -987654321012LL, LLONG_MAX, LLONG_MIN};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        char buf[KB_INT_TEXT], want[32];
        char *s = kb_int_text(buf, v[i]);
        snprintf(want, sizeof want, "%lld", v[i]);
        cr_assert_eq((size_t)(buf + KB_INT_TEXT - s), strlen(want), "%s", want);
        cr_assert_arr_eq(s, want, strlen(want), "%s", want);
    }
}
