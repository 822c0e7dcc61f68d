/* slots.c — see slots.h. */
#include "slots.h"

#include <string.h>

static const char *const names[KB_SLOT_COUNT] = {
    "mon_morning", "mon_afternoon", "mon_evening", "tue_morning", "tue_afternoon", "tue_evening",
    "wed_morning", "wed_afternoon", "wed_evening", "thu_morning", "thu_afternoon", "thu_evening",
    "fri_morning", "fri_afternoon", "fri_evening", "sat_morning", "sat_afternoon", "sat_evening",
    "sun_morning", "sun_afternoon", "sun_evening",
};

/* "<day>_<part>": the day by its three letters, then the part, rather
 * than 21 string compares (a volunteer lists several slots on every
 * write). */
int kb_slot_parse(const char *name) {
    static const char days[7][4] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    static const char *const parts[3] = {"morning", "afternoon", "evening"};
    for (int d = 0; d < 7; d++) {
        if (strncmp(name, days[d], 3) != 0) continue;
        if (name[3] != '_') return -1;
        for (int p = 0; p < 3; p++)
            if (strcmp(name + 4, parts[p]) == 0) return d * 3 + p;
        return -1;
    }
    return -1;
}

const char *kb_slot_name(int i) { return (i >= 0 && i < KB_SLOT_COUNT) ? names[i] : ""; }

int kb_slots_count(kb_slots_t s) { return __builtin_popcount(s); }
