/* scratch.h — a bump arena for the JSON tree of one request body.
 *
 * Jansson parsed an upsert's body with about 60 small mallocs (the object,
 * its hash table and one pair per key, a value and a copy of its text per
 * string, the lexer's growing buffer) and freed the tree with as many
 * frees: malloc and free were 15% of kobled's instructions per upsert.
 * While a scratch is begun on a thread, Jansson's allocations on that
 * thread come from one block by bumping an offset, freeing a piece of the
 * block does nothing, and kb_scratch_end takes the whole block back.
 *
 * Ownership. Memory from a scratch dies at kb_scratch_end, so a scratch
 * covers only a tree that is freed before its end: the body parsed
 * between kb_scratch_begin and kb_scratch_pause and json_decref'd before
 * kb_scratch_end. From the pause on, new values come from malloc again
 * (they may outlive the request: answers, events), while freeing scratch
 * memory stays a no-op until the end. Nothing may keep a reference into
 * the tree past the end (json_incref, a borrowed json_string_value): the
 * code that reads it copies what it keeps (codec.c strdups and interns).
 * Under ASan the used part of the block is poisoned at the end and each
 * piece gets a poisoned gap after it, so a use after the end or past a
 * piece is reported as with malloc.
 *
 * Everything else falls back to malloc and free: a thread with no
 * scratch begun, a paused scratch, a full block (the piece comes from
 * malloc, and the next block is twice as big), a scratch whose block could
 * not be allocated. The free function tells the pieces apart by address:
 * what is not inside the current thread's block goes to free(). The
 * current scratch is per thread (recovery may parse on the thread pool).
 * Scratches nest: a begin inside another makes the inner one current
 * until its end, and freeing a piece of either stays a no-op. */
#ifndef KB_SCRATCH_H
#define KB_SCRATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

typedef struct kb_scratch {
    char *base;               /* the block, or NULL until the first begin */
    size_t size;              /* bytes of the block, or of the next one to allocate */
    size_t used;              /* bytes handed out since the begin */
    bool bumping;             /* between begin and pause: Jansson allocates here */
    bool overflowed;          /* a piece did not fit since the begin */
    struct kb_scratch *outer; /* the thread's scratch before this one began */
} kb_scratch_t;

/* No memory is taken until the first kb_scratch_begin. */
void kb_scratch_init(kb_scratch_t *s);
/* Frees the block; s must not be begun (or must have ended). */
void kb_scratch_free(kb_scratch_t *s);
/* From now on, Jansson's allocations on this thread come from s (installs
 * the allocation functions on first use, for the whole process). */
void kb_scratch_begin(kb_scratch_t *s);
/* New allocations on this thread come from malloc again; pieces of s stay
 * valid and freeing them stays a no-op until kb_scratch_end. */
void kb_scratch_pause(void);
/* json_decref(v) for a tree parsed in the thread's scratch, skipped when
 * v lies in the block and nothing since the begin came from malloc: the
 * whole tree is then in the block, and kb_scratch_end takes it back
 * without walking it. Nothing may hold another reference to v. */
void kb_scratch_decref(json_t *v);
/* Takes back everything the thread's current scratch handed out: every
 * pointer into it dies, and the scratch it was begun in (if any) is
 * current again. A scratch that overflowed gets a block twice as big (up
 * to a limit) at its next begin. */
void kb_scratch_end(void);
/* Whether p points into s's block: a piece handed out from it. */
bool kb_scratch_owns(const kb_scratch_t *s, const void *p);

#endif
