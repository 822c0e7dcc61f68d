/* test_route.c — routing a need to subscriptions through the indexes
 * finds exactly what checking every subscription finds, before and after
 * subscriptions are replaced and removed. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "fault.h"
#include "route.h"

static kb_store_t store;
static kb_route_t route;

static void setup(void) {
    kb_store_init(&store);
    kb_route_init(&route);
}

static void teardown(void) {
    kb_route_free(&route);
    kb_store_free(&store);
}

static uint32_t add_sub(const char *id, const char *body) {
    json_t *b = json_loads(body, 0, NULL);
    cr_assert_not_null(b, "bad test JSON: %s", body);
    kb_codec_ctx_t cx = {.tokens = &store.tokens, .current_year = 2026};
    kb_sub_t sub;
    kb_fault_t f;
    cr_assert_eq(kb_codec_subscription(&cx, b, id, &sub, &f), 0, "%s: %s", f.field, f.message);
    json_decref(b);
    uint32_t slot;
    cr_assert_eq(kb_pool_alloc(&store.subs, id, &slot), 0);
    sub.id = kb_store_sub(&store, slot)->id;
    sub.live = true;
    *kb_store_sub(&store, slot) = sub;
    cr_assert_eq(kb_route_add(&route, &sub, slot), 0);
    return slot;
}

static void remove_sub(uint32_t slot) {
    kb_sub_t *sub = kb_store_sub(&store, slot);
    kb_route_remove(&route, sub, slot);
    kb_sub_clear(sub);
    kb_pool_release(&store.subs, slot);
}

static kb_need_t need(const char *body) {
    json_t *b = json_loads(body, 0, NULL);
    cr_assert_not_null(b, "bad test JSON: %s", body);
    kb_codec_ctx_t cx = {.tokens = &store.tokens, .current_year = 2026};
    kb_need_t n;
    kb_fault_t f;
    cr_assert_eq(kb_codec_need(&cx, b, NULL, &n, &f), 0, "%s: %s", f.field, f.message);
    json_decref(b);
    return n;
}

/* The ids routed to, as "a b c". */
static const char *routed(const kb_need_t *n) {
    static char buf[512];
    const uint32_t *slots;
    uint32_t count;
    cr_assert_eq(kb_route_match(&route, &store, n, &slots, &count), 0);
    buf[0] = '\0';
    for (uint32_t i = 0; i < count; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, sizeof buf - len, "%s%s", i ? " " : "",
                 kb_store_sub(&store, slots[i])->id);
    }
    return buf;
}

TestSuite(route, .init = setup, .fini = teardown);

Test(route, each_kind_of_subscription_is_found_and_checked_in_full) {
    add_sub("by-muni", "{\"org_id\":\"o1\",\"municipalities\":[\"0376\",\"0360\"]}");
    add_sub("muni-visit",
            "{\"org_id\":\"o1\",\"municipalities\":[\"0376\"],\"kinds\":[\"visit\"]}");
    add_sub("area-10",
            "{\"org_id\":\"o2\",\"area\":{\"lat\":54.77,\"lon\":11.87,\"radius_km\":5}}");
    add_sub("area-400",
            "{\"org_id\":\"o2\",\"area\":{\"lat\":56.0,\"lon\":10.0,\"radius_km\":300}}");
    add_sub("far", "{\"org_id\":\"o3\",\"area\":{\"lat\":57.0,\"lon\":10.0,\"radius_km\":20}}");
    add_sub("football", "{\"org_id\":\"o4\",\"skills_any\":[\"football\"]}");
    add_sub("all", "{\"org_id\":\"o5\"}");
    add_sub("all-activity", "{\"org_id\":\"o6\",\"kinds\":[\"activity\"]}");
    /* Nykøbing Falster, a mentor need wanting football. */
    kb_need_t n =
        need("{\"kind\":\"mentor\",\"municipality\":\"0376\",\"person_age\":16,"
             "\"location\":{\"lat\":54.7712,\"lon\":11.8749},\"skills_wanted\":[\"football\"]}");
    cr_assert_str_eq(routed(&n), "by-muni area-10 area-400 football all");
    kb_need_clear(&n);
    /* Aarhus, an activity need without skills: the wide area only, and
     * the two subscriptions to everything (one of them activities only). */
    n = need("{\"kind\":\"activity\",\"municipality\":\"0751\",\"person_age\":12,"
             "\"location\":{\"lat\":56.15,\"lon\":10.2}}");
    cr_assert_str_eq(routed(&n), "area-400 all all-activity");
    kb_need_clear(&n);
    /* A need of kind "any" interests subscriptions to any kind. */
    n = need("{\"kind\":\"any\",\"municipality\":\"0376\",\"person_age\":80,"
             "\"location\":{\"lat\":40.0,\"lon\":3.0}}");
    cr_assert_str_eq(routed(&n), "by-muni muni-visit all all-activity");
    kb_need_clear(&n);
}

/* Random subscriptions and needs around Denmark: the indexes give exactly
 * the subscriptions a check of every one of them gives. */
Test(route, routing_equals_checking_every_subscription) {
    srand(7);
    static const char *const skills[] = {"football", "homework_help", "mentoring", "visiting",
                                         "da"};
    static const char *const kinds[] = {"mentor", "visit", "activity", "any"};
    enum { SUBS = 400, NEEDS = 300 };
    uint32_t slots[SUBS];
    for (int i = 0; i < SUBS; i++) {
        char id[16], body[256];
        snprintf(id, sizeof id, "s%d", i);
        int shape = rand() % 4;
        double lat = 54.6 + (rand() % 1000) / 400.0, lon = 8.2 + (rand() % 1000) / 200.0;
        /* Half of the municipality and area ones also ask for skills. */
        char skill_part[64] = "";
        if (rand() % 2)
            snprintf(skill_part, sizeof skill_part, ",\"skills_any\":[\"%s\",\"%s\"]",
                     skills[i % 5], skills[(i + 2) % 5]);
        if (shape == 0)
            snprintf(body, sizeof body, "{\"org_id\":\"o%d\",\"municipalities\":[\"%04d\"]%s}",
                     i % 37, 101 + rand() % 5, skill_part);
        else if (shape == 1)
            snprintf(body, sizeof body,
                     "{\"org_id\":\"o%d\",\"kinds\":[\"%s\"],\"area\":{\"lat\":%.3f,\"lon\":%.3f,"
                     "\"radius_km\":%d}%s}",
                     i % 37, kinds[rand() % 3], lat, lon, 1 + rand() % 120, skill_part);
        else if (shape == 2)
            snprintf(body, sizeof body, "{\"org_id\":\"o%d\",\"skills_any\":[\"%s\"]}", i % 37,
                     skills[rand() % 5]);
        else
            snprintf(body, sizeof body, "{\"org_id\":\"o%d\",\"kinds\":[\"%s\"]}", i % 37,
                     kinds[rand() % 4]);
        slots[i] = add_sub(id, body);
    }
    for (int round = 0; round < 2; round++) {
        if (round == 1) /* remove a third */
            for (int i = 0; i < SUBS; i += 3) remove_sub(slots[i]);
        for (int k = 0; k < NEEDS; k++) {
            char body[320];
            snprintf(body, sizeof body,
                     "{\"kind\":\"%s\",\"municipality\":\"%04d\",\"person_age\":30,"
                     "\"location\":{\"lat\":%.3f,\"lon\":%.3f},\"skills_wanted\":[\"%s\"]}",
                     kinds[rand() % 4], 101 + rand() % 5, 54.6 + (rand() % 1000) / 400.0,
                     8.2 + (rand() % 1000) / 200.0, skills[rand() % 5]);
            kb_need_t n = need(body);
            char want[8192] = "";
            for (uint32_t s = 0; s < store.subs.used; s++) {
                const kb_sub_t *sub = kb_store_sub(&store, s);
                if (!sub->id || !kb_route_satisfies(sub, &n)) continue;
                size_t len = strlen(want);
                snprintf(want + len, sizeof want - len, "%s%s", len ? " " : "", sub->id);
            }
            const uint32_t *found;
            uint32_t count;
            cr_assert_eq(kb_route_match(&route, &store, &n, &found, &count), 0);
            char got[8192] = "";
            for (uint32_t i = 0; i < count; i++) {
                size_t len = strlen(got);
                snprintf(got + len, sizeof got - len, "%s%s", len ? " " : "",
                         kb_store_sub(&store, found[i])->id);
            }
            cr_assert_str_eq(got, want, "round %d need %d: %s", round, k, body);
            kb_need_clear(&n);
        }
    }
}
