/* test_geo.c — distances and the box lower bound. */
#include <criterion/criterion.h>
#include <math.h>

#include "geo.h"
#include "slots.h"

Test(geo, known_distances) {
    kb_point_t cph, odense, same;
    kb_point_set(&cph, 55.67594, 12.56553);
    kb_point_set(&odense, 55.39594, 10.38831);
    kb_point_set(&same, 55.67594, 12.56553);
    /* Copenhagen–Odense is about 140.5 km as the crow flies. */
    cr_assert_float_eq(kb_geo_distance_km(&cph, &odense), 140.49, 0.05);
    cr_assert_float_eq(kb_geo_distance_km(&cph, &same), 0.0, 1e-9);
    double c2 = kb_geo_chord2_of_km(25.0);
    cr_assert_float_eq(kb_geo_km_of_chord2(c2), 25.0, 1e-9);
}

Test(geo, box_bound_never_exceeds_true_distance) {
    kb_point_t p;
    kb_point_set(&p, 55.7, 12.5);
    double k = kb_geo_km_per_deg_lon(55.7 + 0.21 + 0.1);
    /* Sample points of boxes around p; the bound must hold for each. */
    for (int i = -20; i <= 20; i++) {
        for (int j = -20; j <= 20; j++) {
            double lat0 = 55.7 + i * 0.01, lon0 = 12.5 + j * 0.02;
            double lb = kb_geo_box_lb(&p, k, lat0, lat0 + 0.01, lon0, lon0 + 0.02);
            for (int a = 0; a <= 4; a++) {
                for (int b = 0; b <= 4; b++) {
                    kb_point_t q;
                    kb_point_set(&q, lat0 + a * 0.0025, lon0 + b * 0.005);
                    cr_assert_leq(lb, kb_geo_distance_km(&p, &q) + 1e-12);
                }
            }
        }
    }
    cr_assert_eq(kb_geo_box_lb(&p, k, 55.69, 55.71, 12.49, 12.51), 0.0);
    /* And it is tight enough to prune: within 3% of the truth due east. */
    kb_point_t q;
    kb_point_set(&q, 55.7, 12.7);
    double lb = kb_geo_box_lb(&p, kb_geo_km_per_deg_lon(55.7), 55.69, 55.71, 12.7, 12.72);
    cr_assert_gt(lb, kb_geo_distance_km(&p, &q) * 0.97);
}

Test(slots, names_and_bits) {
    cr_assert_eq(kb_slot_parse("mon_morning"), 0);
    cr_assert_eq(kb_slot_parse("tue_evening"), 5);
    cr_assert_eq(kb_slot_parse("sun_evening"), 20);
    cr_assert_eq(kb_slot_parse("sun_night"), -1);
    cr_assert_eq(kb_slot_parse("Mon_morning"), -1);
    cr_assert_str_eq(kb_slot_name(11), "thu_evening");
    cr_assert_eq(kb_slots_count((1u << 5) | (1u << 11)), 2);
}
