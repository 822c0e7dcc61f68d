/* test_arena.c — the arena's pieces are aligned, apart, and its own; a
 * pool adopts ids in it and never frees them (ASan would tell). */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "koble/error.h"
#include "store.h"

Test(arena, pieces_are_aligned_distinct_and_owned) {
    kb_arena_t a;
    kb_arena_init(&a);
    cr_assert(!kb_arena_owns(&a, &a), "an empty arena owns nothing");
    cr_assert(!kb_arena_owns(NULL, &a));
    char *first = kb_arena_alloc(&a, 3, 1);
    cr_assert_not_null(first);
    memcpy(first, "ab", 3);
    /* Enough pieces to fill several blocks (1 MiB, then doubling). */
    uint32_t *prev = NULL;
    for (int i = 0; i < 200000; i++) {
        uint32_t *p = kb_arena_alloc(&a, 4 * (size_t)(1 + i % 7), 4);
        cr_assert_not_null(p);
        cr_assert_eq((uintptr_t)p % 4, 0);
        cr_assert(kb_arena_owns(&a, p));
        cr_assert(kb_arena_owns(&a, p + i % 7), "the piece's last word");
        p[i % 7] = (uint32_t)i;
        if (prev) cr_assert_neq(p, prev);
        prev = p;
    }
    cr_assert_gt(a.n, 1, "the pieces spread over several blocks");
    cr_assert_str_eq(first, "ab", "a new block leaves the old ones as they were");
    /* A piece larger than any block gets a block of its own. */
    size_t big = (size_t)40 << 20;
    char *huge = kb_arena_alloc(&a, big, 16);
    cr_assert_not_null(huge);
    huge[big - 1] = 'x';
    cr_assert(kb_arena_owns(&a, huge + big - 1));
    cr_assert_geq(kb_arena_bytes(&a), big + ((size_t)1 << 20));
    int local = 0;
    cr_assert(!kb_arena_owns(&a, &local));
    char *heap = strdup("heap");
    cr_assert(!kb_arena_owns(&a, heap));
    free(heap);
    kb_arena_free(&a);
    cr_assert_eq(a.n, 0);
    cr_assert_eq(kb_arena_bytes(&a), 0);
}

/* An id and token list in the arena, then the record released and the
 * store freed: nothing in the arena goes to free(). */
Test(arena, a_pool_adopts_ids_in_the_arena_and_never_frees_them) {
    kb_store_t s;
    kb_store_init(&s);
    kb_pool_t *p = &s.cands[KB_VOLUNTEER];
    char *id = kb_arena_alloc(&s.arena, 4, 1);
    memcpy(id, "v-1", 4);
    uint32_t slot, again, heap_slot;
    cr_assert_eq(kb_pool_adopt(p, id, 3, &slot), 0);
    cr_assert_eq(kb_pool_find(p, "v-1"), slot);
    cr_assert_eq(kb_store_cand(&s, KB_VOLUNTEER, slot)->id, id, "adopted, not copied");
    char *dup = kb_arena_alloc(&s.arena, 4, 1);
    memcpy(dup, "v-1", 4);
    cr_assert_eq(kb_pool_adopt(p, dup, 3, &again), KB_ECONFLICT);
    kb_cand_t *c = kb_store_cand(&s, KB_VOLUNTEER, slot);
    uint32_t *ids = kb_arena_alloc(&s.arena, 8, 4);
    ids[0] = 2;
    ids[1] = 5;
    c->skills = (kb_toks_t){ids, 2};
    c->in_arena = true;
    c->live = true;
    /* A heap record next to it is freed as usual. */
    cr_assert_eq(kb_pool_alloc(p, "v-2", &heap_slot), 0);
    kb_cand_t *h = kb_store_cand(&s, KB_VOLUNTEER, heap_slot);
    h->org_id = strdup("org");
    kb_cand_clear(c);
    cr_assert_null(c->skills.ids);
    cr_assert(!c->in_arena);
    kb_pool_release(p, slot);
    cr_assert_eq(kb_pool_find(p, "v-1"), KB_NO_SLOT);
    cr_assert_eq(kb_pool_find(p, "v-2"), heap_slot);
    kb_store_free(&s); /* frees v-2's id and org, and the arena */
}
