/* enginetest.c — see enginetest.h. */
#include "enginetest.h"

#include <criterion/criterion.h>

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

char *kt_dump_text(const kb_engine_t *e) {
    json_t *recs = kt_dump(e);
    char *text = json_dumps(recs, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(recs);
    return text;
}
