/* dict.c — see dict.h. Load factor is kept at or below 1/2 so probes stay
 * short; the table doubles when it would pass it. */
#include "dict.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "arena.h"
#include "koble/error.h"

struct kb_dict_entry {
    uint32_t tag; /* high half of the hash, never 0: 0 marks a free slot */
    uint32_t value;
};

static uint32_t tag_of(const char *key, size_t len) {
    uint32_t t = (uint32_t)(XXH3_64bits(key, len) >> 32);
    return t ? t : 1;
}

void kb_dict_init(kb_dict_t *d, kb_dict_key_fn key_of, void *ctx) {
    memset(d, 0, sizeof *d);
    d->key_of = key_of;
    d->ctx = ctx;
}

void kb_dict_free(kb_dict_t *d) {
    free(d->slots);
    d->slots = NULL;
    d->mask = d->count = 0;
}

void kb_dict_prefetch(const kb_dict_t *d, const char *key, size_t len) {
    if (d->mask) __builtin_prefetch(&d->slots[tag_of(key, len) & d->mask], 1);
}

static int key_equals(const kb_dict_t *d, uint32_t value, const char *key, size_t len) {
    const char *k = d->key_of(d->ctx, value);
    return strncmp(k, key, len) == 0 && k[len] == '\0';
}

/* Index of the entry holding key, or of the free slot where it would go. */
static uint32_t probe(const kb_dict_t *d, const char *key, size_t len, uint32_t tag) {
    uint32_t i = tag & d->mask;
    while (d->slots[i].tag) {
        if (d->slots[i].tag == tag && key_equals(d, d->slots[i].value, key, len)) return i;
        i = (i + 1) & d->mask;
    }
    return i;
}

int kb_dict_get(const kb_dict_t *d, const char *key, size_t len, uint32_t *value) {
    if (!d->count) return KB_ENOTFOUND;
    uint32_t i = probe(d, key, len, tag_of(key, len));
    if (!d->slots[i].tag) return KB_ENOTFOUND;
    *value = d->slots[i].value;
    return 0;
}

/* Moves the entries to a new table of cap (a power of two) slots. A large
 * table asks for huge pages: a million ids hash to 16 MiB read at random,
 * where each insert would otherwise fault in or miss the TLB on a page of
 * its own (calloc maps so large a block fresh, untouched until used). */
static int resize(kb_dict_t *d, uint32_t cap) {
    struct kb_dict_entry *n = calloc(cap, sizeof *n);
    if (!n) return KB_ENOMEM;
    kb_advise_huge(n, (size_t)cap * sizeof *n);
    for (uint32_t i = 0; d->mask && i <= d->mask; i++) {
        if (!d->slots[i].tag) continue;
        uint32_t j = d->slots[i].tag & (cap - 1);
        while (n[j].tag) j = (j + 1) & (cap - 1);
        n[j] = d->slots[i];
    }
    free(d->slots);
    d->slots = n;
    d->mask = cap - 1;
    return 0;
}

int kb_dict_reserve(kb_dict_t *d, uint32_t n) {
    uint64_t cap = d->mask ? (uint64_t)d->mask + 1 : 0;
    if ((uint64_t)n * 2 <= cap) return 0;
    /* Straight to the final size: a table sized up front for a snapshot's
     * million ids is allocated once, not doubled twenty times. */
    uint64_t want = cap ? cap * 2 : 16;
    while ((uint64_t)n * 2 > want) want *= 2;
    if (want > (uint64_t)1 << 31) return KB_ENOMEM;
    return resize(d, (uint32_t)want);
}

int kb_dict_add(kb_dict_t *d, const char *key, size_t len, uint32_t value) {
    int rc = kb_dict_reserve(d, d->count + 1);
    if (rc < 0) return rc;
    uint32_t tag = tag_of(key, len);
    uint32_t i = probe(d, key, len, tag);
    if (d->slots[i].tag) return KB_ECONFLICT;
    d->slots[i].tag = tag;
    d->slots[i].value = value;
    d->count++;
    return 0;
}

int kb_dict_del(kb_dict_t *d, const char *key, size_t len) {
    if (!d->count) return KB_ENOTFOUND;
    uint32_t i = probe(d, key, len, tag_of(key, len));
    if (!d->slots[i].tag) return KB_ENOTFOUND;
    /* Backward-shift: pull later entries of the same probe run into the
     * hole so lookups never stop early at it. */
    for (uint32_t j = (i + 1) & d->mask; d->slots[j].tag; j = (j + 1) & d->mask) {
        uint32_t home = d->slots[j].tag & d->mask;
        /* j may move to i only if its home is not in (i, j] cyclically. */
        if (((j - home) & d->mask) >= ((j - i) & d->mask)) {
            d->slots[i] = d->slots[j];
            i = j;
        }
    }
    d->slots[i].tag = 0;
    d->count--;
    return 0;
}

size_t kb_dict_bytes(const kb_dict_t *d) {
    return d->mask ? (size_t)(d->mask + 1) * sizeof(struct kb_dict_entry) : 0;
}
