/* fault.c — see fault.h. */
#include "fault.h"

#include <stdarg.h>
#include <stdio.h>

void kb_fault_set(kb_fault_t *f, int status, const char *code, const char *field, const char *fmt,
                  ...) {
    if (!f) return;
    f->status = status;
    f->code = code;
    snprintf(f->field, sizeof f->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->message, sizeof f->message, fmt, ap);
    va_end(ap);
}

json_t *kb_fault_json(const kb_fault_t *f) {
    return json_pack("{s:{s:s, s:s, s:o}}", "error", "code", f->code ? f->code : "error", "message",
                     f->message, "field", f->field[0] ? json_string(f->field) : json_null());
}
