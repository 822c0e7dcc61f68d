/* enginetest.h — helpers for tests that drive the engine in-process. */
#ifndef KT_ENGINETEST_H
#define KT_ENGINETEST_H

#include <jansson.h>

#include "fault.h"
#include "koble/engine.h"

/* Parses test JSON, failing the test if it is not JSON. */
json_t *kt_parse(const char *text);
/* PUT of body (text) as id; returns the engine's code, f says why. */
int kt_put(kb_engine_t *e, kb_entity_t t, const char *id, const char *body, kb_fault_t *f);
/* The records kb_engine_dump gives, as a JSON array (new reference). */
json_t *kt_dump(const kb_engine_t *e);
/* The whole state as kb_engine_dump gives it, as text to compare two
 * engines: one record a line, keys sorted, records after the header and
 * tokens in text order (slot order is internal and may differ between
 * engines with the same state); free() it. */
char *kt_dump_text(const kb_engine_t *e);

#endif
