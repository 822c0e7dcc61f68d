/* slots.c — see slots.h. */
#include "slots.h"

#include <string.h>

static const char *const names[KB_SLOT_COUNT] = {
    "mon_morning", "mon_afternoon", "mon_evening", "tue_morning", "tue_afternoon", "tue_evening",
    "wed_morning", "wed_afternoon", "wed_evening", "thu_morning", "thu_afternoon", "thu_evening",
    "fri_morning", "fri_afternoon", "fri_evening", "sat_morning", "sat_afternoon", "sat_evening",
    "sun_morning", "sun_afternoon", "sun_evening",
};

int kb_slot_parse(const char *name) {
    for (int i = 0; i < KB_SLOT_COUNT; i++)
        if (strcmp(name, names[i]) == 0) return i;
    return -1;
}

const char *kb_slot_name(int i) { return (i >= 0 && i < KB_SLOT_COUNT) ? names[i] : ""; }

int kb_slots_count(kb_slots_t s) { return __builtin_popcount(s); }
