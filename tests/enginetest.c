/* enginetest.c — see enginetest.h. */
#include "enginetest.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *kt_parse(const char *text) {
    json_error_t err;
    json_t *v = json_loads(text, 0, &err);
    cr_assert_not_null(v, "bad test JSON: %s", err.text);
    return v;
}

int kt_put(kb_engine_t *e, kb_entity_t t, const char *id, const char *body, kb_fault_t *f) {
    json_t *b = kt_parse(body), *out = NULL;
    bool created;
    int rc = kb_engine_put(e, t, id, b, &out, &created, f);
    json_decref(b);
    json_decref(out);
    return rc;
}

static int collect(void *ctx, const json_t *rec) {
    return json_array_append_new(ctx, json_deep_copy(rec));
}

json_t *kt_dump(const kb_engine_t *e) {
    json_t *recs = json_array();
    cr_assert_eq(kb_engine_dump(e, collect, recs), 0);
    return recs;
}

static int cmp_text(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *kt_dump_text(const kb_engine_t *e) {
    json_t *recs = kt_dump(e);
    size_t n = json_array_size(recs), len = 0;
    char **lines = calloc(n + 1, sizeof *lines);
    cr_assert_not_null(lines);
    for (size_t i = 0; i < n; i++) {
        lines[i] = json_dumps(json_array_get(recs, i), JSON_SORT_KEYS | JSON_COMPACT);
        len += strlen(lines[i]) + 1;
    }
    json_decref(recs);
    /* The header and tokens first, as dumped; the rest in text order. */
    if (n > 2) qsort(lines + 2, n - 2, sizeof *lines, cmp_text);
    char *text = malloc(len + 1), *w = text;
    cr_assert_not_null(text);
    for (size_t i = 0; i < n; i++) {
        w += sprintf(w, "%s\n", lines[i]);
        free(lines[i]);
    }
    *w = '\0';
    free(lines);
    return text;
}
