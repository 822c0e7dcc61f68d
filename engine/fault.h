/* fault.h — the JSON error answer {"error": {"code", "message", "field"}}.
 *
 * Every layer that rejects input fills a kb_fault_t and returns a negative
 * KB_E* code; only the API layer turns it into a response. Messages name
 * the problem and the field, never echo the value (it could be personal
 * data and it would end up in somebody's log). */
#ifndef KB_FAULT_H
#define KB_FAULT_H

#include <jansson.h>

typedef struct kb_fault {
    int status;          /* HTTP status */
    const char *code;    /* stable code: "invalid_json", "unknown_field", ... */
    char field[128];     /* JSON path of the field at fault, "" for none */
    char message[256];
} kb_fault_t;

/* Fills f and returns rc, so callers can `return kb_fault(...)`. */
int kb_fault(kb_fault_t *f, int rc, int status, const char *code, const char *field,
             const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* New reference to the error object; NULL only when out of memory. */
json_t *kb_fault_json(const kb_fault_t *f);

#endif
