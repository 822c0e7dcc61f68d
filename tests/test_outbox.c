/* test_outbox.c — event ids from journal records, order, confirmation,
 * and the confirmed mark that keeps replayed events from going twice. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "outbox.h"

static kb_outbox_t o;

static void setup(void) { kb_outbox_init(&o); }
static void teardown(void) { kb_outbox_free(&o); }

static char *ids(void) {
    static char buf[1024];
    buf[0] = '\0';
    const kb_event_t *e;
    for (size_t i = 0; (e = kb_outbox_at(&o, i)); i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, sizeof buf - len, "%llu-%u:%s ", (unsigned long long)e->id.seq, e->id.n,
                 e->event);
    }
    return buf;
}

TestSuite(outbox, .init = setup, .fini = teardown);

Test(outbox, ids_count_events_within_a_journal_record) {
    cr_assert_eq(kb_outbox_push(&o, 3, "koble:needs", "need.created", 10, "{}"), 0);
    cr_assert_eq(kb_outbox_push(&o, 5, "koble:matches", "match.ended", 11, "{}"), 0);
    cr_assert_eq(kb_outbox_push(&o, 5, "koble:matches", "match.ended", 11, "{}"), 0);
    cr_assert_eq(kb_outbox_push(&o, 5, "koble:needs", "need.closed", 11, "{\"id\":\"n\"}"), 0);
    cr_assert_eq(kb_outbox_push(&o, 9, "koble:needs", "need.created", 12, "{}"), 0);
    cr_assert_str_eq(ids(), "3-0:need.created 5-0:match.ended 5-1:match.ended 5-2:need.closed "
                            "9-0:need.created ");
    const kb_event_t *e = kb_outbox_at(&o, 3);
    cr_assert_str_eq(e->stream, "koble:needs");
    cr_assert_str_eq(e->data, "{\"id\":\"n\"}");
    cr_assert_eq(e->ts, 11);
    cr_assert_gt(o.bytes, 0);
}

Test(outbox, confirming_pops_in_order_and_moves_the_mark) {
    for (uint64_t seq = 1; seq <= 4; seq++) kb_outbox_push(&o, seq, "s", "e", 0, "{}");
    kb_outbox_confirm(&o);
    kb_outbox_confirm(&o);
    cr_assert_str_eq(ids(), "3-0:e 4-0:e ");
    cr_assert_eq(o.confirmed.seq, 2);
    kb_outbox_confirm(&o);
    kb_outbox_confirm(&o);
    kb_outbox_confirm(&o); /* nothing left: no effect */
    cr_assert_eq(o.n, 0);
    cr_assert_eq(o.bytes, 0, "memory accounting returns to zero");
    cr_assert_eq(o.confirmed_total, 4);
}

/* A restart replays writes and so pushes their events again: those at or
 * below the journaled mark are dropped, the rest queue up with the same
 * ids as the first time. */
Test(outbox, replayed_events_at_or_below_the_mark_are_dropped) {
    kb_outbox_confirm_upto(&o, (kb_event_id_t){5, 1});
    kb_outbox_push(&o, 4, "s", "old", 0, "{}");
    kb_outbox_push(&o, 5, "s", "a", 0, "{}");
    kb_outbox_push(&o, 5, "s", "b", 0, "{}");
    kb_outbox_push(&o, 5, "s", "c", 0, "{}");
    kb_outbox_push(&o, 6, "s", "d", 0, "{}");
    cr_assert_str_eq(ids(), "5-2:c 6-0:d ");
    /* A later mark drops what it covers from the front. */
    kb_outbox_confirm_upto(&o, (kb_event_id_t){5, 2});
    cr_assert_str_eq(ids(), "6-0:d ");
}

Test(outbox, events_from_a_snapshot_keep_their_ids_and_the_ring_grows) {
    kb_outbox_confirm_upto(&o, (kb_event_id_t){10, 0});
    cr_assert_eq(kb_outbox_push_id(&o, (kb_event_id_t){10, 0}, "s", "confirmed", 0, "{}"), 0);
    cr_assert_eq(kb_outbox_push_id(&o, (kb_event_id_t){10, 1}, "s", "waiting", 0, "{}"), 0);
    cr_assert_str_eq(ids(), "10-1:waiting ");
    /* Numbering goes on after the restored ids. */
    kb_outbox_push(&o, 10, "s", "next", 0, "{}");
    cr_assert_str_eq(ids(), "10-1:waiting 10-2:next ");
    /* Past the first allocation, with the ring wrapped. */
    for (uint64_t seq = 11; seq <= 310; seq++) {
        kb_outbox_confirm(&o);
        kb_outbox_push(&o, seq, "s", "x", 0, "{}");
        kb_outbox_push(&o, seq, "s", "y", 0, "{}");
    }
    /* 602 events pushed, 300 confirmed: the 301st, 160-0, is first. */
    cr_assert_eq(o.n, 302);
    const kb_event_t *first = kb_outbox_at(&o, 0), *last = kb_outbox_at(&o, o.n - 1);
    cr_assert_eq(first->id.seq, 160);
    cr_assert_eq(first->id.n, 0);
    cr_assert_eq(last->id.seq, 310);
    cr_assert_eq(last->id.n, 1);
}
