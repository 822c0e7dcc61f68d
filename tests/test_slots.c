/* test_slots.c — the 21 weekly slot names and their bits. */
#include <criterion/criterion.h>
#include <stdio.h>

#include "slots.h"

static const char *const days[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
static const char *const parts[3] = {"morning", "afternoon", "evening"};

/* Slot i is day i / 3, part i % 3: built here independently of the table. */
Test(slots, every_name_round_trips_to_its_bit) {
    char name[32];
    for (int i = 0; i < KB_SLOT_COUNT; i++) {
        snprintf(name, sizeof name, "%s_%s", days[i / 3], parts[i % 3]);
        cr_assert_str_eq(kb_slot_name(i), name, "slot %d", i);
        cr_assert_eq(kb_slot_parse(name), i, "%s", name);
    }
    cr_assert_eq(KB_SLOT_COUNT, 21);
}

Test(slots, invalid_names_and_indices) {
    const char *bad[] = {
        "",
        "mon",
        "mon_",
        "morning",
        "Mon_morning",
        "MON_MORNING",
        "mon-morning",
        "mon morning",
        "mon_morning ",
        " mon_morning",
        "mon_morningx",
        "mon_mor",
        "sun_night",
        "monday_morning",
        "m",
        "mo",
        "tue_a",
        "wed_e",
        "thu_xmorning",
        "fri_Morning",
        "sat_evenin",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(kb_slot_parse(bad[i]), -1, "\"%s\" parsed", bad[i]);
    cr_assert_str_eq(kb_slot_name(-1), "");
    cr_assert_str_eq(kb_slot_name(KB_SLOT_COUNT), "");
}

Test(slots, masks_count_their_slots) {
    kb_slots_t weekend_evenings =
        (1u << kb_slot_parse("sat_evening")) | (1u << kb_slot_parse("sun_evening"));
    cr_assert_eq(weekend_evenings, (1u << 17) | (1u << 20));
    cr_assert_eq(kb_slots_count(weekend_evenings), 2);
    cr_assert_eq(kb_slots_count(0), 0);
    cr_assert_eq(kb_slots_count(1u << 0), 1);
    kb_slots_t all = (1u << KB_SLOT_COUNT) - 1;
    cr_assert_eq(kb_slots_count(all), KB_SLOT_COUNT);
    /* Availability overlap is one AND. */
    kb_slots_t mornings = 0;
    for (int d = 0; d < 7; d++) mornings |= 1u << (d * 3);
    cr_assert_eq(kb_slots_count(mornings), 7);
    cr_assert_eq(kb_slots_count(mornings & weekend_evenings), 0);
    cr_assert_eq(kb_slots_count(mornings & all), 7);
}
