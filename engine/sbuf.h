/* sbuf.h — a growable, NUL-terminated text buffer for writers that build
 * an answer piece by piece (metrics text, JSON written without Jansson).
 *
 * Appends never fail loudly: the first failure sets err and later appends
 * do nothing, so a writer checks once at the end. The caller owns p and
 * frees it (also after an error). */
#ifndef KB_SBUF_H
#define KB_SBUF_H

#include <stddef.h>
#include <string.h>

typedef struct kb_sbuf {
    char *p;
    size_t len, cap;
    int err; /* 0, or the first KB_E* code */
} kb_sbuf_t;

/* The growing (and failing) part of kb_sbuf_add. */
void kb_sbuf_add_slow(kb_sbuf_t *b, const char *s, size_t len);
/* Inline while the text fits: a JSON answer is built from about a
 * hundred small pieces. */
static inline void kb_sbuf_add(kb_sbuf_t *b, const char *s, size_t len) {
    if (b->err || b->cap - b->len <= len || !b->p) {
        kb_sbuf_add_slow(b, s, len);
        return;
    }
    memcpy(b->p + b->len, s, len);
    b->len += len;
    b->p[b->len] = '\0';
}
void kb_sbuf_printf(kb_sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
