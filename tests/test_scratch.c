/* test_scratch.c — Jansson's values come from the scratch between begin
 * and pause and from malloc otherwise (after the pause, on other threads,
 * past a full block); freeing either kind is right (ASan and LeakSanitizer
 * would tell), and a block that overflowed grows. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core.h"
#include "koble/engine.h"
#include "scratch.h"

Test(scratch, a_parse_comes_from_the_block_and_later_values_from_malloc) {
    kb_scratch_t s;
    kb_scratch_init(&s);
    /* Made before the scratch: freed with free() while it is begun. */
    json_t *before = json_string("before");
    kb_scratch_begin(&s);
    json_error_t err;
    json_t *root = json_loads("{\"a\": [1, \"xy\"], \"b\": {\"c\": true, \"d\": 2.5}}", 0, &err);
    kb_scratch_pause();
    cr_assert_not_null(root, "%s", err.text);
    cr_assert(kb_scratch_owns(&s, root));
    json_t *xy = json_array_get(json_object_get(root, "a"), 1);
    cr_assert(kb_scratch_owns(&s, xy));
    cr_assert(kb_scratch_owns(&s, json_string_value(xy)), "the text too");
    cr_assert_str_eq(json_string_value(xy), "xy");
    cr_assert_eq(json_integer_value(json_array_get(json_object_get(root, "a"), 0)), 1);
    cr_assert_float_eq(json_real_value(json_object_get(json_object_get(root, "b"), "d")), 2.5,
                       1e-12);
    cr_assert(json_is_true(json_object_get(json_object_get(root, "b"), "c")));
    size_t used = s.used;
    cr_assert_gt(used, 0);
    /* Paused: new values come from malloc and outlive the scratch. */
    json_t *after = json_pack("{s:s}", "k", "after");
    cr_assert_not_null(after);
    cr_assert(!kb_scratch_owns(&s, after));
    cr_assert_eq(s.used, used, "nothing more from the block");
    json_decref(before);
    /* Wholly in the block: not walked. A value from malloc is decref'd
     * (LeakSanitizer would report it otherwise). */
    kb_scratch_decref(root);
    json_t *loose = json_string("loose");
    kb_scratch_decref(loose);
    kb_scratch_end();
    cr_assert_eq(s.used, 0);
    cr_assert(!s.bumping);
    cr_assert_str_eq(json_string_value(json_object_get(after, "k")), "after");
    json_decref(after);
    /* Without a scratch begun, Jansson allocates with malloc. */
    json_t *plain = json_string("plain");
    cr_assert(!kb_scratch_owns(&s, plain));
    json_decref(plain);
    kb_scratch_free(&s);
    cr_assert_null(s.base);
}

/* A body whose tree does not fit: the rest comes from malloc, every value
 * reads back, and the next begin has a block big enough. */
Test(scratch, an_overflow_falls_back_to_malloc_and_the_block_grows) {
    enum { N = 2000 };
    char *body = malloc(N * 12 + 16);
    size_t len = 0;
    body[len++] = '[';
    for (int i = 0; i < N; i++) len += (size_t)sprintf(body + len, "%s\"s%d\"", i ? "," : "", i);
    body[len++] = ']';
    body[len] = '\0';
    kb_scratch_t s;
    kb_scratch_init(&s);
    size_t first = s.size;
    bool overflowed = true;
    for (int round = 0; round < 8 && overflowed; round++) {
        kb_scratch_begin(&s);
        json_t *root = json_loadb(body, len, 0, NULL);
        kb_scratch_pause();
        cr_assert_not_null(root);
        cr_assert_eq(json_array_size(root), N);
        char want[16];
        for (int i = 0; i < N; i += 97) {
            snprintf(want, sizeof want, "s%d", i);
            cr_assert_str_eq(json_string_value(json_array_get(root, (size_t)i)), want);
        }
        overflowed = s.overflowed;
        if (round == 0) {
            cr_assert(overflowed, "2000 strings do not fit in the first block");
            cr_assert(kb_scratch_owns(&s, json_array_get(root, 0)));
            cr_assert(!kb_scratch_owns(&s, json_array_get(root, N - 1)), "from malloc");
        }
        if (!overflowed) cr_assert(kb_scratch_owns(&s, json_array_get(root, N - 1)));
        /* After an overflow the tree is walked, freeing its malloc'd part. */
        kb_scratch_decref(root);
        kb_scratch_end();
    }
    cr_assert(!overflowed, "the block grew until the tree fits");
    cr_assert_gt(s.size, first);
    kb_scratch_free(&s);
    free(body);
}

/* A scratch begun inside another is current until its end; pieces of
 * either can be freed meanwhile, and the outer one goes on after. */
Test(scratch, scratches_nest) {
    kb_scratch_t a, b;
    kb_scratch_init(&a);
    kb_scratch_init(&b);
    kb_scratch_begin(&a);
    json_t *x = json_loads("[\"in a\"]", 0, NULL);
    kb_scratch_begin(&b);
    json_t *y = json_loads("[\"in b\"]", 0, NULL);
    kb_scratch_pause();
    cr_assert(kb_scratch_owns(&a, x));
    cr_assert(kb_scratch_owns(&b, y));
    cr_assert(!kb_scratch_owns(&a, y));
    json_decref(x); /* a piece of the outer scratch: not given to free() */
    kb_scratch_decref(y);
    kb_scratch_end();
    cr_assert_eq(b.used, 0);
    cr_assert_gt(a.used, 0, "the outer scratch keeps its pieces");
    json_t *z = json_loads("[\"in a again\"]", 0, NULL);
    cr_assert(kb_scratch_owns(&a, z), "the outer scratch is current again");
    kb_scratch_pause();
    cr_assert_str_eq(json_string_value(json_array_get(z, 0)), "in a again");
    kb_scratch_decref(z);
    kb_scratch_end();
    json_t *w = json_string("after both");
    cr_assert(!kb_scratch_owns(&a, w) && !kb_scratch_owns(&b, w));
    json_decref(w);
    kb_scratch_free(&a);
    kb_scratch_free(&b);
}

static void *parse_elsewhere(void *arg) {
    const kb_scratch_t *s = arg;
    json_t *v = json_loads("{\"t\": \"other thread\"}", 0, NULL);
    bool owned = v && kb_scratch_owns(s, v);
    json_decref(v);
    return owned ? (void *)s : NULL;
}

Test(scratch, another_thread_allocates_with_malloc) {
    kb_scratch_t s;
    kb_scratch_init(&s);
    kb_scratch_begin(&s);
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, parse_elsewhere, &s), 0);
    void *owned;
    pthread_join(t, &owned);
    cr_assert_null(owned, "the scratch belongs to the thread that began it");
    kb_scratch_end();
    kb_scratch_free(&s);
}

/* kb_engine_put_text parses into the engine's scratch and ends it before
 * returning: the record keeps copies, and a failed parse ends it too. */
Test(scratch, an_engine_put_ends_its_scratch) {
    kb_engine_t *e;
    cr_assert_eq(kb_engine_new(NULL, &e), 0);
    const char *body = "{\"org_id\": \"urk\", \"location\": {\"lat\": 54.77, \"lon\": 11.87}, "
                       "\"skills\": [\"mentoring\"], \"languages\": [\"da\"]}";
    char *answer = NULL;
    size_t len = 0;
    bool created = false;
    kb_fault_t f;
    cr_assert_eq(kb_engine_put_text(e, KB_ENT_VOLUNTEER, "v-1", body, strlen(body), &answer, &len,
                                    &created, &f),
                 0, "%s", f.message);
    cr_assert_not_null(e->scratch.base, "the parse used the scratch");
    cr_assert_eq(e->scratch.used, 0);
    cr_assert(!e->scratch.bumping);
    cr_assert(!kb_scratch_owns(&e->scratch, answer));
    free(answer);
    cr_assert_lt(kb_engine_put_text(e, KB_ENT_VOLUNTEER, "v-2", "{\"org_id\": ", 11, &answer, &len,
                                    &created, &f),
                 0);
    cr_assert_str_eq(f.code, "invalid_json");
    cr_assert_eq(e->scratch.used, 0);
    cr_assert(!e->scratch.bumping);
    json_t *got = NULL;
    cr_assert_eq(kb_engine_get(e, KB_ENT_VOLUNTEER, "v-1", &got, &f), 0);
    cr_assert(!kb_scratch_owns(&e->scratch, got));
    cr_assert_str_eq(json_string_value(json_object_get(got, "org_id")), "urk");
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(got, "skills"), 0)),
                     "mentoring");
    json_decref(got);
    kb_engine_free(e);
}
