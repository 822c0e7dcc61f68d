/* intern.c — see intern.h. */
#include "intern.h"

#include <stdlib.h>
#include <string.h>

#include "koble/error.h"

static const char *name_of(void *ctx, uint32_t id) { return ((kb_intern_t *)ctx)->names[id]; }

void kb_intern_init(kb_intern_t *in) {
    memset(in, 0, sizeof *in);
    kb_dict_init(&in->dict, name_of, in);
}

void kb_intern_free(kb_intern_t *in) {
    for (uint32_t i = 0; i < in->count; i++) free(in->names[i]);
    free(in->names);
    kb_dict_free(&in->dict);
    memset(in, 0, sizeof *in);
}

int kb_intern_find(const kb_intern_t *in, const char *token, uint32_t *id) {
    return kb_dict_get(&in->dict, token, strlen(token), id);
}

int kb_intern_add(kb_intern_t *in, const char *token, uint32_t *id) {
    size_t len = strlen(token);
    if (kb_dict_get(&in->dict, token, len, id) == 0) return 0;
    if (in->count == in->cap) {
        uint32_t cap = in->cap ? in->cap * 2 : 64;
        char **n = realloc(in->names, cap * sizeof *n);
        if (!n) return KB_ENOMEM;
        in->names = n;
        in->cap = cap;
    }
    char *copy = strdup(token);
    if (!copy) return KB_ENOMEM;
    in->names[in->count] = copy;
    int rc = kb_dict_add(&in->dict, token, len, in->count);
    if (rc < 0) {
        free(copy);
        return rc;
    }
    *id = in->count++;
    return 0;
}

const char *kb_intern_name(const kb_intern_t *in, uint32_t id) {
    return id < in->count ? in->names[id] : "";
}

size_t kb_intern_bytes(const kb_intern_t *in) {
    size_t n = kb_dict_bytes(&in->dict) + in->cap * sizeof(char *);
    for (uint32_t i = 0; i < in->count; i++) n += strlen(in->names[i]) + 1;
    return n;
}
