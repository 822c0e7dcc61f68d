/* slots.c — see slots.h. */
#include "slots.h"

#include <string.h>

static const char *const names[KB_SLOT_COUNT] = {
    "mon_morning", "mon_afternoon", "mon_evening", "tue_morning", "tue_afternoon", "tue_evening",
    "wed_morning", "wed_afternoon", "wed_evening", "thu_morning", "thu_afternoon", "thu_evening",
    "fri_morning", "fri_afternoon", "fri_evening", "sat_morning", "sat_afternoon", "sat_evening",
    "sun_morning", "sun_afternoon", "sun_evening",
};

/* "<day>_<part>": the day by its three letters, then the part by its
 * first letter and one compare, rather than 21 string compares (a
 * volunteer lists several slots on every write). The && chains stop at
 * the first byte that differs, so nothing past a short name's NUL is read. */
int kb_slot_parse(const char *name) {
    static const char days[7][4] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    for (int d = 0; d < 7; d++) {
        if (!(name[0] == days[d][0] && name[1] == days[d][1] && name[2] == days[d][2])) continue;
        if (name[3] != '_') return -1;
        const char *part = name + 4;
        switch (part[0]) {
        case 'm': return strcmp(part, "morning") == 0 ? d * 3 : -1;
        case 'a': return strcmp(part, "afternoon") == 0 ? d * 3 + 1 : -1;
        case 'e': return strcmp(part, "evening") == 0 ? d * 3 + 2 : -1;
        default: return -1;
        }
    }
    return -1;
}

const char *kb_slot_name(int i) { return (i >= 0 && i < KB_SLOT_COUNT) ? names[i] : ""; }

int kb_slots_count(kb_slots_t s) { return __builtin_popcount(s); }
