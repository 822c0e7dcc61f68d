/* intern.h — tokens (skills, experience tags, languages) as small integers.
 *
 * Matching compares token sets many times per query; comparing sorted
 * uint32 arrays is far cheaper than strings. A token, once interned, keeps
 * its id for the life of the engine (a few thousand distinct tokens at most
 * in practice, so nothing is ever freed before kb_intern_free). */
#ifndef KB_INTERN_H
#define KB_INTERN_H

#include <stddef.h>
#include <stdint.h>

#include "dict.h"

typedef struct kb_intern {
    kb_dict_t dict;
    char **names; /* id -> token */
    uint32_t count, cap;
} kb_intern_t;

void kb_intern_init(kb_intern_t *in);
void kb_intern_free(kb_intern_t *in);
/* Id of token, adding it if new. 0 on success. */
int kb_intern_add(kb_intern_t *in, const char *token, uint32_t *id);
/* Id of an existing token; KB_ENOTFOUND if it was never interned. */
int kb_intern_find(const kb_intern_t *in, const char *token, uint32_t *id);
/* The token for id; borrowed, valid until kb_intern_free. */
const char *kb_intern_name(const kb_intern_t *in, uint32_t id);
size_t kb_intern_bytes(const kb_intern_t *in);

#endif
