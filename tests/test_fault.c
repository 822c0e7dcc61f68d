/* test_fault.c — the error answer: kb_fault's value and fields, and the
 * JSON it becomes. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "koble/error.h"

/* The compact, key-sorted JSON of f (malloc'd). */
static char *dump(const kb_fault_t *f) {
    json_t *j = kb_fault_json(f);
    cr_assert_not_null(j);
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(j);
    cr_assert_not_null(s);
    return s;
}

Test(fault, evaluates_to_rc_and_fills_every_field) {
    kb_fault_t f;
    memset(&f, 0xab, sizeof f);
    int rc =
        kb_fault(&f, KB_EINVAL, 422, "invalid_field", "need.max_km", "must be at most %d km", 500);
    cr_assert_eq(rc, KB_EINVAL);
    cr_assert_eq(f.status, 422);
    cr_assert_str_eq(f.code, "invalid_field");
    cr_assert_str_eq(f.field, "need.max_km");
    cr_assert_str_eq(f.message, "must be at most 500 km");
}

Test(fault, null_field_is_empty_and_null_fault_is_allowed) {
    kb_fault_t f;
    memset(&f, 0xab, sizeof f);
    cr_assert_eq(kb_fault(&f, KB_ESYNTAX, 400, "invalid_json", NULL, "%s", "unexpected end"),
                 KB_ESYNTAX);
    cr_assert_str_eq(f.field, "");
    cr_assert_str_eq(f.message, "unexpected end");
    /* Callers that do not want the details pass NULL and still get rc. */
    cr_assert_eq(kb_fault(NULL, KB_ENOTFOUND, 404, "not_found", "id", "no such need"),
                 KB_ENOTFOUND);
}

Test(fault, long_field_and_message_are_cut_to_fit) {
    char field[300], msg[600];
    memset(field, 'f', sizeof field - 1);
    field[sizeof field - 1] = '\0';
    memset(msg, 'm', sizeof msg - 1);
    msg[sizeof msg - 1] = '\0';
    kb_fault_t f;
    kb_fault_set(&f, 422, "invalid_field", field, "%s", msg);
    cr_assert_eq(strlen(f.field), sizeof f.field - 1);
    cr_assert_eq(strlen(f.message), sizeof f.message - 1);
    cr_assert_eq(strncmp(f.field, field, sizeof f.field - 1), 0);
}

Test(fault, json_shape_with_field) {
    kb_fault_t f;
    kb_fault_set(&f, 422, "unknown_field", "skills.0", "unknown field \"%s\"", "x");
    char *s = dump(&f);
    cr_assert_str_eq(s, "{\"error\":{\"code\":\"unknown_field\",\"field\":\"skills.0\","
                        "\"message\":\"unknown field \\\"x\\\"\"}}");
    free(s);
}

Test(fault, json_field_is_null_when_empty_and_code_defaults) {
    kb_fault_t f;
    kb_fault_set(&f, 400, "invalid_json", NULL, "bad");
    char *s = dump(&f);
    cr_assert_str_eq(s,
                     "{\"error\":{\"code\":\"invalid_json\",\"field\":null,\"message\":\"bad\"}}");
    free(s);
    f.code = NULL;
    s = dump(&f);
    cr_assert_str_eq(s, "{\"error\":{\"code\":\"error\",\"field\":null,\"message\":\"bad\"}}");
    free(s);
}
