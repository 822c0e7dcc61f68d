/* iso639.h — ISO 639-1 language codes ("da", "en", ...), the form in
 * which languages appear in volunteers, activities and needs. */
#ifndef KB_ISO639_H
#define KB_ISO639_H

#include <stdbool.h>

/* 1 if code is one of the two-letter ISO 639-1 codes (lowercase only). */
bool kb_iso639_1_valid(const char *code);

#endif
