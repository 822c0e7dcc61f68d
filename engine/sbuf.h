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

/* Room for extra more bytes and a NUL: 0, or -1 with err set (also when
 * it was set before). kb_sbuf_add calls it only when the room is short. */
int kb_sbuf_reserve(kb_sbuf_t *b, size_t extra);

/* Inline: JSON writers append many short pieces, most of them literals
 * whose copy the compiler then inlines too. */
static inline void kb_sbuf_add(kb_sbuf_t *b, const char *s, size_t len) {
    if (b->err || (b->len + len >= b->cap && kb_sbuf_reserve(b, len) < 0)) return;
    memcpy(b->p + b->len, s, len);
    b->len += len;
    b->p[b->len] = '\0';
}
void kb_sbuf_printf(kb_sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* v in decimal, written at the end of buf; returns where it starts (it
 * ends at buf + KB_INT_TEXT). For the writers that put numbers together
 * by hand: printf costs far more than the few digits. */
#define KB_INT_TEXT 21 /* "-9223372036854775808" */
static inline char *kb_int_text(char buf[KB_INT_TEXT], long long v) {
    char *s = buf + KB_INT_TEXT;
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do *--s = (char)('0' + u % 10), u /= 10;
    while (u);
    if (v < 0) *--s = '-';
    return s;
}

#endif
