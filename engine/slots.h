/* slots.h — the 21 weekly time slots as bits of a uint32.
 * Slot i is day (i / 3) and part (i % 3): mon_morning is bit 0,
 * sun_evening bit 20. Availability tests become one AND. */
#ifndef KB_SLOTS_H
#define KB_SLOTS_H

#include <stdint.h>

#define KB_SLOT_COUNT 21
typedef uint32_t kb_slots_t;

/* Bit index of name, or -1 if name is not one of the 21 slot names. */
int kb_slot_parse(const char *name);
/* Name of slot i (0..20). */
const char *kb_slot_name(int i);
int kb_slots_count(kb_slots_t s);

#endif
