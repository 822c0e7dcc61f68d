/* imap.c — see imap.h. Keys are mixed with the splitmix64 finaliser so
 * neighbouring grid cells do not land in neighbouring slots. */
#include "imap.h"

#include <stdlib.h>
#include <string.h>

#include "koble/error.h"

struct kb_imap_entry {
    uint64_t key; /* stored as key + 1 so 0 marks a free slot */
    uint32_t value;
};

static uint32_t mix(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (uint32_t)x;
}

void kb_imap_init(kb_imap_t *m) { memset(m, 0, sizeof *m); }

void kb_imap_free(kb_imap_t *m) {
    free(m->slots);
    memset(m, 0, sizeof *m);
}

int kb_imap_get(const kb_imap_t *m, uint64_t key, uint32_t *value) {
    if (!m->count) return KB_ENOTFOUND;
    for (uint32_t i = mix(key) & m->mask; m->slots[i].key; i = (i + 1) & m->mask) {
        if (m->slots[i].key == key + 1) {
            *value = m->slots[i].value;
            return 0;
        }
    }
    return KB_ENOTFOUND;
}

static int grow(kb_imap_t *m) {
    uint32_t cap = m->mask ? (m->mask + 1) * 2 : 64;
    struct kb_imap_entry *n = calloc(cap, sizeof *n);
    if (!n) return KB_ENOMEM;
    for (uint32_t i = 0; m->mask && i <= m->mask; i++) {
        if (!m->slots[i].key) continue;
        uint32_t j = mix(m->slots[i].key - 1) & (cap - 1);
        while (n[j].key) j = (j + 1) & (cap - 1);
        n[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = n;
    m->mask = cap - 1;
    return 0;
}

int kb_imap_put(kb_imap_t *m, uint64_t key, uint32_t value) {
    if (key == UINT64_MAX) return KB_EINVAL; /* would be stored as 0, "free" */
    if ((m->count + 1) * 2 > (m->mask ? m->mask + 1 : 0)) {
        int rc = grow(m);
        if (rc < 0) return rc;
    }
    uint32_t i = mix(key) & m->mask;
    while (m->slots[i].key && m->slots[i].key != key + 1) i = (i + 1) & m->mask;
    if (!m->slots[i].key) m->count++;
    m->slots[i].key = key + 1;
    m->slots[i].value = value;
    return 0;
}

size_t kb_imap_bytes(const kb_imap_t *m) {
    return m->mask ? (size_t)(m->mask + 1) * sizeof(struct kb_imap_entry) : 0;
}
