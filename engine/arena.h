/* arena.h — bump allocation from a few large blocks, freed all at once.
 *
 * Restoring a snapshot of a million candidates used to make five small
 * mallocs per candidate (id, org id, token lists): a quarter of kobled's
 * start-up went to malloc, and more to the kernel faulting in the heap
 * page by page. An arena hands out those strings and lists from blocks of
 * a few MiB (mapped with a huge-page hint), one bump per record.
 *
 * Nothing is freed one by one: memory taken from an arena stays until
 * kb_arena_free. Whoever holds a pointer into an arena must never free()
 * or realloc() it; kb_arena_owns tells such pointers apart (a range check
 * over the blocks, of which there are few). */
#ifndef KB_ARENA_H
#define KB_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct kb_arena_block {
    char *base;
    size_t size, used;
} kb_arena_block_t;

typedef struct kb_arena {
    kb_arena_block_t *blocks; /* the last one is being filled */
    uint32_t n, cap;
    size_t block_size; /* the size of the next new block, doubled up to a limit */
} kb_arena_t;

void kb_arena_init(kb_arena_t *a);
/* Unmaps every block: every pointer the arena gave out dies. */
void kb_arena_free(kb_arena_t *a);
/* n bytes aligned to align (a power of two, at most 16), or NULL when out
 * of memory. Valid until kb_arena_free. */
void *kb_arena_alloc(kb_arena_t *a, size_t n, size_t align);
/* Whether p points into one of a's blocks (a may be NULL: false). */
bool kb_arena_owns(const kb_arena_t *a, const void *p);
/* Bytes mapped for a's blocks. */
size_t kb_arena_bytes(const kb_arena_t *a);

/* Asks for transparent huge pages over the whole 2 MiB pages inside
 * [p, p + bytes): for large tables read at random, where faulting in and
 * looking up 4 KiB pages one by one costs more than the work itself. A
 * hint; nothing happens where huge pages are off. */
void kb_advise_huge(void *p, size_t bytes);

#endif
