/* sbuf.c — see sbuf.h. */
#include "sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "koble/error.h"

/* Room for extra more bytes and a NUL; -1 (err set) if there is none. */
static int reserve(kb_sbuf_t *b, size_t extra) {
    if (b->err) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->err = KB_ENOMEM;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void kb_sbuf_add_slow(kb_sbuf_t *b, const char *s, size_t len) {
    if (reserve(b, len) < 0) return;
    memcpy(b->p + b->len, s, len);
    b->len += len;
    b->p[b->len] = '\0';
}

void kb_sbuf_printf(kb_sbuf_t *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        if (!b->err) b->err = KB_EINVAL;
        return;
    }
    if (reserve(b, (size_t)n) < 0) return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}
