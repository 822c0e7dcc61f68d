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
    int status;       /* HTTP status */
    const char *code; /* stable code: "invalid_json", "unknown_field", ... */
    char field[128];  /* JSON path of the field at fault, "" for none */
    char message[256];
} kb_fault_t;

/* Fills f (which may be NULL). */
void kb_fault_set(kb_fault_t *f, int status, const char *code, const char *field, const char *fmt,
                  ...) __attribute__((format(printf, 5, 6)));
/* Fills f and evaluates to rc, so callers can `return kb_fault(...)`. A
 * macro rather than a function so that the compiler and the analyzer see
 * that the result is rc (a negative KB_E* constant) on every error path. */
#define kb_fault(f, rc, ...) (kb_fault_set((f), __VA_ARGS__), (rc))
/* New reference to the error object; NULL only when out of memory. */
json_t *kb_fault_json(const kb_fault_t *f);

#endif
