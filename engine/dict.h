/* dict.h — string-keyed hash table mapping to uint32 values.
 *
 * The table does not store keys: an entry is a 32-bit hash tag and the
 * value, 8 bytes, and the key is fetched back through key_of(ctx, value)
 * when tags collide. Ids and tokens already live in their records, so
 * storing them twice would double the memory for a million volunteers.
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones), hashed with XXH3. */
#ifndef KB_DICT_H
#define KB_DICT_H

#include <stddef.h>
#include <stdint.h>

typedef const char *(*kb_dict_key_fn)(void *ctx, uint32_t value);

typedef struct kb_dict {
    struct kb_dict_entry *slots; /* power-of-two array */
    uint32_t mask;               /* capacity - 1, or 0 when empty */
    uint32_t count;
    kb_dict_key_fn key_of;
    void *ctx;
} kb_dict_t;

void kb_dict_init(kb_dict_t *d, kb_dict_key_fn key_of, void *ctx);
void kb_dict_free(kb_dict_t *d);
/* 0 and *value set when found, KB_ENOTFOUND otherwise. */
int kb_dict_get(const kb_dict_t *d, const char *key, size_t len, uint32_t *value);
/* Adds key -> value; key_of(value) must already return it. KB_ECONFLICT
 * if the key is present, KB_ENOMEM if growing fails (table unchanged
 * either way). */
int kb_dict_add(kb_dict_t *d, const char *key, size_t len, uint32_t value);
/* Grows the table so n keys fit without growing again. 0 or KB_ENOMEM. */
int kb_dict_reserve(kb_dict_t *d, uint32_t n);
/* Starts loading the slot where key's probe begins into the cache, for a
 * kb_dict_add or kb_dict_get of the same key a little later: a table of a
 * million ids is far larger than the cache, and a bulk insert (a snapshot
 * being restored) otherwise waits on memory for every key. */
void kb_dict_prefetch(const kb_dict_t *d, const char *key, size_t len);
/* Removes key; KB_ENOTFOUND if absent. */
int kb_dict_del(kb_dict_t *d, const char *key, size_t len);
size_t kb_dict_bytes(const kb_dict_t *d);

#endif
