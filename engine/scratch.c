/* scratch.c — see scratch.h. */
#include "scratch.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#if defined(__SANITIZE_ADDRESS__)
#define KB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KB_ASAN 1
#endif
#endif

#ifdef KB_ASAN
#include <sanitizer/asan_interface.h>
/* Poisoned bytes after each piece, so that ASan sees an overrun. */
#define GAP            16
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define GAP            0
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* 32 KiB holds the tree of a body of a few KiB (an upsert of 300 bytes
 * takes about 4 KiB); a block that overflows doubles, up to 1 MiB, past
 * which the rare huge body takes its extra pieces from malloc. */
#define FIRST_SIZE ((size_t)32 << 10)
#define MAX_SIZE   ((size_t)1 << 20)
/* What malloc guarantees, so that any of Jansson's structs fits. */
#define ALIGN ((size_t)16)

static _Thread_local kb_scratch_t *current;

static void *scratch_malloc(size_t n) {
    kb_scratch_t *s = current;
    if (s && s->bumping && s->base) {
        size_t need = (n + ALIGN - 1) & ~(ALIGN - 1); /* n <= size: no overflow */
        if (n <= s->size && need + GAP <= s->size - s->used) {
            char *p = s->base + s->used;
            s->used += need + GAP;
            UNPOISON(p, n);
            return p;
        }
        s->overflowed = true;
    }
    return malloc(n);
}

static void scratch_free(void *p) {
    for (const kb_scratch_t *s = current; s; s = s->outer)
        if (kb_scratch_owns(s, p)) return;
    free(p);
}

static pthread_once_t installed = PTHREAD_ONCE_INIT;

/* Both functions fall back to malloc and free, so values Jansson made
 * before they were installed are freed correctly after. */
static void install(void) { json_set_alloc_funcs(scratch_malloc, scratch_free); }

void kb_scratch_init(kb_scratch_t *s) { *s = (kb_scratch_t){.size = FIRST_SIZE}; }

void kb_scratch_free(kb_scratch_t *s) {
    if (s->base) {
        UNPOISON(s->base, s->size);
        free(s->base);
    }
    kb_scratch_init(s);
}

bool kb_scratch_owns(const kb_scratch_t *s, const void *p) {
    uintptr_t at = (uintptr_t)p, base = (uintptr_t)s->base;
    return s->base && at >= base && at - base < s->size;
}

void kb_scratch_begin(kb_scratch_t *s) {
    pthread_once(&installed, install);
    if (!s->base) {
        s->base = malloc(s->size);
        /* Without a block every piece comes from malloc: slower, not wrong. */
        if (!s->base) s->size = 0;
        else POISON(s->base, s->size);
    }
    s->used = 0;
    s->overflowed = false;
    s->bumping = true;
    s->outer = current;
    current = s;
}

void kb_scratch_pause(void) {
    if (current) current->bumping = false;
}

void kb_scratch_decref(json_t *v) {
    const kb_scratch_t *s = current;
    if (s && !s->overflowed && kb_scratch_owns(s, v)) return;
    json_decref(v);
}

void kb_scratch_end(void) {
    kb_scratch_t *s = current;
    if (!s) return;
    current = s->outer;
    s->outer = NULL;
    s->bumping = false;
    if (s->overflowed && s->size < MAX_SIZE) {
        size_t next = s->size ? s->size * 2 : FIRST_SIZE;
        kb_scratch_free(s);
        s->size = next;
    } else if (s->base) {
        POISON(s->base, s->used);
    }
    s->used = 0;
}
