/* arena.c — see arena.h. Blocks are mapped directly rather than malloc'd,
 * so they never mix with the heap and go back to the system at once. */
#include "arena.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define FIRST_BLOCK ((size_t)1 << 20)  /* 1 MiB */
#define MAX_BLOCK   ((size_t)32 << 20) /* 32 MiB: at most a few dozen blocks */
#define HUGE_PAGE   ((uintptr_t)2 << 20)

void kb_advise_huge(void *p, size_t bytes) {
#ifdef MADV_HUGEPAGE
    uintptr_t from = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1),
              to = ((uintptr_t)p + bytes) & ~(HUGE_PAGE - 1);
    if (to > from) (void)madvise((void *)from, to - from, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

void kb_arena_init(kb_arena_t *a) {
    memset(a, 0, sizeof *a);
    a->block_size = FIRST_BLOCK;
}

void kb_arena_free(kb_arena_t *a) {
    for (uint32_t i = 0; i < a->n; i++) munmap(a->blocks[i].base, a->blocks[i].size);
    free(a->blocks);
    kb_arena_init(a);
}

/* Starts a block that holds at least n bytes. */
static int new_block(kb_arena_t *a, size_t n) {
    if (n > SIZE_MAX / 4) return -1;
    if (a->n == a->cap || !a->blocks) {
        uint32_t cap = a->cap ? a->cap * 2 : 8;
        kb_arena_block_t *grown = realloc(a->blocks, cap * sizeof *grown);
        if (!grown) return -1;
        a->blocks = grown;
        a->cap = cap;
    }
    size_t size = a->block_size;
    while (size < n) size *= 2;
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) return -1;
    kb_advise_huge(base, size);
    a->blocks[a->n++] = (kb_arena_block_t){.base = base, .size = size};
    if (a->block_size < MAX_BLOCK) a->block_size *= 2;
    return 0;
}

void *kb_arena_alloc(kb_arena_t *a, size_t n, size_t align) {
    kb_arena_block_t *b = a->n ? &a->blocks[a->n - 1] : NULL;
    size_t at = b ? (b->used + align - 1) & ~(align - 1) : 0;
    if (!b || at > b->size || b->size - at < n) {
        if (new_block(a, n) < 0) return NULL;
        b = &a->blocks[a->n - 1];
        at = 0; /* mmap gives page-aligned memory */
    }
    b->used = at + n;
    return b->base + at;
}

bool kb_arena_owns(const kb_arena_t *a, const void *p) {
    if (!a) return false;
    uintptr_t q = (uintptr_t)p;
    for (uint32_t i = a->n; i-- > 0;) {
        uintptr_t base = (uintptr_t)a->blocks[i].base;
        if (q >= base && q - base < a->blocks[i].size) return true;
    }
    return false;
}

size_t kb_arena_bytes(const kb_arena_t *a) {
    size_t n = 0;
    for (uint32_t i = 0; i < a->n; i++) n += a->blocks[i].size;
    return n;
}
