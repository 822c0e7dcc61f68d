/* imap.h — uint64 -> uint32 hash table for the index's grid cells.
 * Open addressing, linear probing; entries are never deleted (a grid cell,
 * once used, stays: it costs a few bytes and saves churn on updates). */
#ifndef KB_IMAP_H
#define KB_IMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct kb_imap {
    struct kb_imap_entry *slots;
    uint32_t mask, count;
} kb_imap_t;

void kb_imap_init(kb_imap_t *m);
void kb_imap_free(kb_imap_t *m);
int kb_imap_get(const kb_imap_t *m, uint64_t key, uint32_t *value); /* 0 or KB_ENOTFOUND */
/* Insert or overwrite; every key but UINT64_MAX (KB_EINVAL). */
int kb_imap_put(kb_imap_t *m, uint64_t key, uint32_t value);
size_t kb_imap_bytes(const kb_imap_t *m);

#endif
