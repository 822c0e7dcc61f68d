/* test_commit.c — group commit on a real uv loop over a journal in a
 * temporary directory: answers come after an fsync that covers them, in
 * order, one fsync per loop iteration's writes; "everysec" and "no" answer
 * at once; a switch moves appends to the next journal. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commit.h"
#include "koble/error.h"

static char dir[64], path_a[96], path_b[96];
static uv_loop_t loop;
static kb_commit_t *commit;

/* What the waiters saw: record, status, and fsyncs done when answered. */
typedef struct answer {
    uint64_t seq;
    int status;
    uint64_t fsyncs;
} answer_t;
static answer_t answers[64];
static int nanswers;
static uint64_t seqs[64]; /* waiter args */
static int fails, fail_err;

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/koble-commit-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path_a, sizeof path_a, "%s/journal-a", dir);
    snprintf(path_b, sizeof path_b, "%s/journal-b", dir);
    cr_assert_eq(uv_loop_init(&loop), 0);
    nanswers = fails = fail_err = 0;
}

static void teardown(void) {
    unlink(path_a);
    unlink(path_b);
    rmdir(dir);
}

TestSuite(commit, .init = setup, .fini = teardown);

static void on_fail(void *arg, int err) {
    (void)arg;
    fails++;
    fail_err = err;
}

static void open_commit(kb_fsync_t policy) {
    kb_journal_t j;
    cr_assert_eq(kb_journal_open(&j, path_a, 0, NULL, NULL, NULL), 0);
    cr_assert_eq(kb_commit_new(&loop, &j, policy, on_fail, NULL, &commit), 0);
}

static kb_commit_stats_t stats(void) {
    kb_commit_stats_t st;
    kb_commit_stats(commit, &st);
    return st;
}

static void answered(void *arg, int status) {
    cr_assert_lt(nanswers, 64);
    answers[nanswers++] = (answer_t){*(const uint64_t *)arg, status, stats().fsyncs};
}

/* Appends text and waits for its record, as a write request does. */
static void write_and_wait(const char *text) {
    cr_assert_eq(kb_commit_append(commit, KB_JREC_OP, text, (uint32_t)strlen(text)), 0);
    uint64_t seq = kb_commit_written(commit);
    cr_assert_lt(seq, 64);
    seqs[seq] = seq;
    cr_assert_eq(kb_commit_wait(commit, seq, answered, &seqs[seq]), 0);
}

/* Closes the commit and lets the loop finish with it. */
static void close_commit(void) {
    kb_commit_close(commit);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(uv_loop_close(&loop), 0, "a handle or request was left behind");
}

#define RECORDS_CAP 256

static int collect(void *ctx, const kb_jrec_t *rec) {
    char *text = ctx;
    size_t used = strlen(text);
    snprintf(text + used, RECORDS_CAP - used, "%llu:%.*s;", (unsigned long long)rec->seq,
             (int)rec->len, (const char *)rec->payload);
    return 0;
}

/* The records of the journal at path as "seq:payload;...". */
static const char *records_of(const char *path) {
    static char text[RECORDS_CAP];
    text[0] = '\0';
    kb_journal_t j;
    cr_assert_eq(kb_journal_open(&j, path, 0, collect, text, NULL), 0);
    kb_journal_close(&j);
    return text;
}

/* Runs step in a timer callback, as the loop runs a request handler, and
 * the loop until nothing is left to do. (The commit's own handles do not
 * keep the loop alive: in kobled the listening socket does.) */
static void (*step)(void);
static void run_step(uv_timer_t *t) {
    (void)t;
    step();
}
static void run_in_loop(void (*fn)(void)) {
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    step = fn;
    uv_timer_start(&t, run_step, 0, 0);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    uv_close((uv_handle_t *)&t, NULL);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
}

/* One loop iteration's writes: appended before the check handle that
 * starts the fsync runs. */
static void five_writes(void) {
    const char *texts[] = {"a", "b", "c", "d", "e"};
    for (int i = 0; i < 5; i++) write_and_wait(texts[i]);
    cr_assert_eq(nanswers, 0, "nothing answered before an fsync");
    cr_assert_eq(stats().waiting, 5);
}

Test(commit, one_iterations_writes_share_one_fsync_and_answer_in_order) {
    open_commit(KB_FSYNC_ALWAYS);
    run_in_loop(five_writes);
    cr_assert_eq(nanswers, 5);
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(answers[i].seq, (uint64_t)i + 1, "answer %d is for record %llu", i,
                     (unsigned long long)answers[i].seq);
        cr_assert_eq(answers[i].status, 0);
        cr_assert_geq(answers[i].fsyncs, 1, "answer %d came before any fsync", i);
    }
    kb_commit_stats_t st = stats();
    cr_assert_eq(st.records, 5);
    cr_assert_lt(st.fsyncs, 5, "%llu fsyncs for 5 writes", (unsigned long long)st.fsyncs);
    cr_assert_eq(st.fsyncs, 1);
    cr_assert_eq(st.waiting, 0);
    cr_assert_eq(st.fsync_failures, 0);
    close_commit();
    cr_assert_str_eq(records_of(path_a), "1:a;2:b;3:c;4:d;5:e;");
}

/* Iteration 1 appends a, b, c and its check starts their fsync; iteration
 * 2 appends d, e, f before that fsync can be reported (completions are
 * read in the poll phase, after idle handles). */
static int batches;
static void batch(uv_idle_t *h) {
    const char *texts[2][3] = {{"a", "b", "c"}, {"d", "e", "f"}};
    for (int i = 0; i < 3; i++) write_and_wait(texts[batches][i]);
    if (++batches == 2) uv_idle_stop(h);
}

Test(commit, writes_arriving_during_an_fsync_wait_for_the_next) {
    open_commit(KB_FSYNC_ALWAYS);
    uv_idle_t idle;
    uv_idle_init(&loop, &idle);
    batches = 0;
    uv_idle_start(&idle, batch);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(nanswers, 6);
    for (int i = 0; i < 6; i++) {
        cr_assert_eq(answers[i].seq, (uint64_t)i + 1);
        cr_assert_eq(answers[i].status, 0);
        cr_assert_eq(answers[i].fsyncs, i < 3 ? 1 : 2, "record %d answered after %llu fsyncs",
                     i + 1, (unsigned long long)answers[i].fsyncs);
    }
    cr_assert_eq(stats().fsyncs, 2);
    uv_close((uv_handle_t *)&idle, NULL);
    close_commit();
    cr_assert_str_eq(records_of(path_a), "1:a;2:b;3:c;4:d;5:e;6:f;");
}

/* Two fsyncs run at once: the first iteration's records get one, the
 * second's another, started at once. While both run, later iterations'
 * records wait in memory and go to the file in one write when the next
 * fsync starts. The thread pool's threads (4, libuv's default) are held
 * busy so that the first two fsyncs stay queued for as long as the test
 * looks. */
enum { POOL_THREADS = 4 };
static uv_sem_t gate;
static uv_work_t blockers[POOL_THREADS];
static int iterations;
static off_t size_after_first;
static void block_thread(uv_work_t *w) {
    (void)w;
    uv_sem_wait(&gate);
}
static void blocker_done(uv_work_t *w, int status) {
    (void)w;
    (void)status;
}
static off_t data_size(const char *path);
/* What the third iteration saw; asserted once the pool is free again (a
 * failed assert with its threads held would hang the test's exit). */
static off_t size_while_held;
static uint64_t fsyncs_while_held;
static int answers_while_held;
/* Notes what the held iterations left and lets the pool threads go. */
static void open_gate(uv_idle_t *h) {
    fsyncs_while_held = stats().fsyncs;
    answers_while_held = nanswers;
    for (int i = 0; i < POOL_THREADS; i++) uv_sem_post(&gate);
    uv_idle_stop(h);
}

static void held_batches(uv_idle_t *h) {
    const char *texts[3][3] = {{"a", "b", "c"}, {"d", "e", "f"}, {"g", "h", "i"}};
    if (iterations < 3) {
        for (int i = 0; i < 3; i++) write_and_wait(texts[iterations][i]);
        if (iterations == 2) size_after_first = data_size(path_a);
    } else {
        size_while_held = data_size(path_a);
        open_gate(h);
    }
    iterations++;
}

/* Opens an "always" commit with every pool thread held at the gate and
 * runs the loop with cb as idle callback (it opens the gate). */
static void run_held(uv_idle_t *idle, uv_idle_cb cb) {
    cr_assert_eq(uv_sem_init(&gate, 0), 0);
    open_commit(KB_FSYNC_ALWAYS);
    for (int i = 0; i < POOL_THREADS; i++)
        cr_assert_eq(uv_queue_work(&loop, &blockers[i], block_thread, blocker_done), 0);
    uv_idle_init(&loop, idle);
    iterations = 0;
    uv_idle_start(idle, cb);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
}

Test(commit, records_appended_during_an_fsync_are_written_when_the_next_starts) {
    uv_idle_t idle;
    run_held(&idle, held_batches);
    cr_assert_eq(iterations, 4);
    cr_assert_eq(size_after_first, 16 + 6 * (24 + 1), "a to f were written, for two fsyncs");
    cr_assert_eq(size_while_held, size_after_first, "g, h and i waited for a free slot");
    cr_assert_eq(fsyncs_while_held, 0);
    cr_assert_eq(answers_while_held, 0);
    cr_assert_eq(nanswers, 9);
    /* In sequence order; a-c after the first fsync returned at least (the
     * second may have returned before it and waited). */
    for (int i = 0; i < 9; i++) {
        cr_assert_eq(answers[i].seq, (uint64_t)i + 1);
        cr_assert_eq(answers[i].status, 0);
        cr_assert_geq(answers[i].fsyncs, i < 3 ? 1 : i < 6 ? 2 : 3);
    }
    cr_assert_eq(stats().fsyncs, 3);
    uv_close((uv_handle_t *)&idle, NULL);
    close_commit();
    uv_sem_destroy(&gate);
    cr_assert_str_eq(records_of(path_a), "1:a;2:b;3:c;4:d;5:e;6:f;7:g;8:h;9:i;");
}

/* A second fsync starts only for at least as many records as the one in
 * flight covers (a, b, c: three). d and e alone wait in memory; with
 * add_f, f makes them three and they get the second fsync at once;
 * without it, the first fsync's return starts theirs. */
static bool add_f;
static off_t size_before_d, size_after_d_e, size_after_f;
static void uneven_batches(uv_idle_t *h) {
    if (iterations == 0) {
        write_and_wait("a");
        write_and_wait("b");
        write_and_wait("c");
    } else if (iterations == 1) {
        size_before_d = data_size(path_a);
        write_and_wait("d");
        write_and_wait("e");
    } else if (iterations == 2) {
        size_after_d_e = data_size(path_a);
        if (add_f) write_and_wait("f");
    } else {
        size_after_f = data_size(path_a);
        open_gate(h);
    }
    iterations++;
}

static void run_uneven(bool with_f) {
    add_f = with_f;
    uv_idle_t idle;
    run_held(&idle, uneven_batches);
    cr_assert_eq(size_before_d, 16 + 3 * (24 + 1), "a to c were written for the first fsync");
    cr_assert_eq(size_after_d_e, size_before_d, "d and e wait: two are fewer than three");
    cr_assert_eq(fsyncs_while_held, 0);
    cr_assert_eq(answers_while_held, 0);
    int n = with_f ? 6 : 5;
    cr_assert_eq(nanswers, n);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(answers[i].seq, (uint64_t)i + 1);
        cr_assert_eq(answers[i].status, 0);
        cr_assert_geq(answers[i].fsyncs, i < 3 ? 1 : 2);
    }
    cr_assert_eq(stats().fsyncs, 2);
    uv_close((uv_handle_t *)&idle, NULL);
    close_commit();
    uv_sem_destroy(&gate);
}

Test(commit, a_second_fsync_waits_for_as_many_records_as_the_first_covers) {
    run_uneven(true);
    cr_assert_eq(size_after_f, 16 + 6 * (24 + 1), "d to f were written for the second fsync");
    cr_assert_str_eq(records_of(path_a), "1:a;2:b;3:c;4:d;5:e;6:f;");
}

Test(commit, records_left_waiting_get_the_fsync_after_the_one_in_flight) {
    run_uneven(false);
    cr_assert_eq(size_after_f, size_after_d_e, "no second fsync while the first is held");
    cr_assert_str_eq(records_of(path_a), "1:a;2:b;3:c;4:d;5:e;");
}

Test(commit, everysec_and_no_answer_at_once) {
    const kb_fsync_t policies[] = {KB_FSYNC_EVERYSEC, KB_FSYNC_NO};
    for (int p = 0; p < 2; p++) {
        nanswers = 0;
        open_commit(policies[p]);
        write_and_wait("x");
        cr_assert_eq(nanswers, 1, "policy %d: not answered at once", p);
        cr_assert_eq(answers[0].status, 0);
        cr_assert_eq(answers[0].fsyncs, 0);
        cr_assert_eq(stats().waiting, 0);
        /* A flush syncs for "everysec"; "no" leaves it to the kernel. */
        cr_assert_eq(kb_commit_flush(commit), 0);
        cr_assert_eq(stats().fsyncs, policies[p] == KB_FSYNC_EVERYSEC ? 1 : 0);
        close_commit();
        cr_assert_eq(uv_loop_init(&loop), 0);
    }
    cr_assert_str_eq(records_of(path_a), "1:x;2:x;");
}

/* Stops the loop once a sync has run, or after 10 s (a bound on the wait,
 * not an expectation of how long it takes). */
static int ticks;
static void until_synced(uv_timer_t *t) {
    if (stats().fsyncs > 0 || ++ticks >= 500) uv_timer_stop(t);
}

Test(commit, everysec_syncs_by_itself) {
    open_commit(KB_FSYNC_EVERYSEC);
    write_and_wait("x");
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    ticks = 0;
    uv_timer_start(&t, until_synced, 20, 20);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(stats().fsyncs, 1, "no fsync in %d ticks", ticks);
    uv_close((uv_handle_t *)&t, NULL);
    close_commit();
}

static void write_c_d(void) {
    write_and_wait("c");
    write_and_wait("d");
}

Test(commit, switch_syncs_then_appends_to_the_next_journal) {
    open_commit(KB_FSYNC_ALWAYS);
    write_and_wait("a");
    write_and_wait("b");
    int old_fd = kb_commit_journal(commit)->fd;
    kb_journal_t next;
    cr_assert_eq(kb_journal_open(&next, path_b, kb_commit_written(commit), NULL, NULL, NULL), 0);
    cr_assert_eq(kb_commit_switch(commit, &next), 0);
    /* The old journal was synced on the spot and its waiters answered. */
    cr_assert_eq(nanswers, 2);
    cr_assert_eq(answers[1].seq, 2);
    cr_assert_eq(answers[1].status, 0);
    cr_assert_eq(stats().fsyncs, 1);
    errno = 0;
    cr_assert_eq(fcntl(old_fd, F_GETFD), -1, "the old journal's descriptor is still open");
    cr_assert_eq(errno, EBADF);
    run_in_loop(write_c_d);
    cr_assert_eq(kb_commit_written(commit), 4);
    cr_assert_eq(kb_commit_journal(commit)->fd, next.fd);
    cr_assert_eq(nanswers, 4);
    cr_assert_eq(answers[3].seq, 4);
    cr_assert_eq(answers[3].status, 0);
    cr_assert_eq(stats().fsyncs, 2);
    close_commit();
    cr_assert_str_eq(records_of(path_a), "1:a;2:b;");
    cr_assert_str_eq(records_of(path_b), "3:c;4:d;");
}

Test(commit, close_answers_waiters_with_eio) {
    open_commit(KB_FSYNC_ALWAYS);
    write_and_wait("a");
    kb_commit_close(commit);
    cr_assert_eq(nanswers, 1);
    cr_assert_eq(answers[0].status, KB_EIO);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(uv_loop_close(&loop), 0);
}

/* Fault injection: the description the first fsync runs on (the first
 * slot's, sync_fd[0]) becomes /dev/null, on which fdatasync fails
 * (EINVAL). The waiter gets KB_EIO, the owner hears once, and nothing
 * more is accepted. */
static int null_fd;
static void write_to_dev_null(void) {
    write_and_wait("a");
    cr_assert_geq(dup2(null_fd, kb_commit_journal(commit)->sync_fd[0]), 0);
}

Test(commit, a_failed_fsync_answers_eio_and_stops_appends) {
    open_commit(KB_FSYNC_ALWAYS);
    null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    cr_assert_geq(null_fd, 0);
    run_in_loop(write_to_dev_null);
    cr_assert_eq(nanswers, 1);
    cr_assert_eq(answers[0].status, KB_EIO);
    cr_assert_eq(fails, 1);
    cr_assert_eq(fail_err, EINVAL);
    cr_assert_eq(stats().fsync_failures, 1);
    cr_assert_eq(kb_commit_append(commit, KB_JREC_OP, "b", 1), KB_EIO);
    cr_assert_eq(kb_commit_wait(commit, 1, answered, &seqs[1]), 0);
    cr_assert_eq(nanswers, 2);
    cr_assert_eq(answers[1].status, KB_EIO);
    close_commit();
    close(null_fd);
}

/* Two fsyncs in flight, one of them failing (its description becomes
 * /dev/null): with the pool held, a's fsync (slot 0) and b's (slot 1) are
 * both queued before either runs, so they return in any order. Whichever
 * order: a is acknowledged only if its own fsync succeeded, nothing after
 * a failed fsync is, and the owner hears once. */
static int failing_slot;
static void two_in_flight(uv_idle_t *h) {
    if (iterations == 0) {
        write_and_wait("a");
    } else if (iterations == 1) {
        write_and_wait("b");
        cr_assert_geq(dup2(null_fd, kb_commit_journal(commit)->sync_fd[failing_slot]), 0);
    } else {
        answers_while_held = nanswers;
        for (int i = 0; i < POOL_THREADS; i++) uv_sem_post(&gate);
        uv_idle_stop(h);
    }
    iterations++;
}

static void run_two_in_flight(int slot) {
    null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    cr_assert_geq(null_fd, 0);
    failing_slot = slot;
    uv_idle_t idle;
    run_held(&idle, two_in_flight);
    cr_assert_eq(answers_while_held, 0);
    cr_assert_eq(nanswers, 2);
    cr_assert_eq(answers[0].seq, 1);
    cr_assert_eq(answers[1].seq, 2);
    cr_assert_eq(stats().fsyncs, 2, "both fsyncs ran");
    cr_assert_eq(stats().fsync_failures, 1);
    cr_assert_eq(fails, 1);
    cr_assert_eq(fail_err, EINVAL);
    cr_assert_eq(kb_commit_append(commit, KB_JREC_OP, "c", 1), KB_EIO);
    uv_close((uv_handle_t *)&idle, NULL);
    close_commit();
    uv_sem_destroy(&gate);
    close(null_fd);
}

Test(commit, with_two_in_flight_the_first_durable_record_is_acknowledged_and_no_later_one) {
    run_two_in_flight(1);
    cr_assert_eq(answers[0].status, 0, "a's fsync succeeded");
    cr_assert_eq(answers[1].status, KB_EIO);
}

Test(commit, with_two_in_flight_a_failed_first_fsync_acknowledges_nothing_after_it) {
    run_two_in_flight(0);
    cr_assert_eq(answers[0].status, KB_EIO);
    cr_assert_eq(answers[1].status, KB_EIO, "b's fsync succeeded, but a is not durable");
}

/* Under "always" an iteration's records reach the file together, at its
 * end, before its fsync starts. */
/* The bytes of the file up to the zeros written ahead of its records (the
 * header's own zeros count: it is always there). */
static off_t data_size(const char *path) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    off_t size = 0, at = 0;
    int ch;
    while ((ch = fgetc(f)) != EOF) {
        at++;
        if (ch != 0) size = at;
    }
    fclose(f);
    return size < KB_JOURNAL_HEADER ? KB_JOURNAL_HEADER : size;
}

static void writes_then_look(void) {
    write_and_wait("a");
    write_and_wait("b");
    cr_assert_eq(data_size(path_a), 16, "records are not written one by one");
    cr_assert_eq(kb_commit_journal(commit)->size, 16 + 2 * (24 + 1), "but counted at once");
}

Test(commit, an_iterations_records_are_written_together_before_the_fsync) {
    open_commit(KB_FSYNC_ALWAYS);
    run_in_loop(writes_then_look);
    cr_assert_eq(nanswers, 2);
    cr_assert_eq(answers[1].status, 0);
    cr_assert_eq(data_size(path_a), 16 + 2 * (24 + 1));
    close_commit();
    cr_assert_str_eq(records_of(path_a), "1:a;2:b;");
}

/* Under "always" the file is made longer ahead of its records with zeros
 * (so that each fdatasync flushes data only); a clean close trims them,
 * and so does a switch to the next journal for the one left. */
static off_t length_of(const char *path) {
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    return st.st_size;
}
static off_t length_in_loop;
static void write_and_look(void) {
    write_and_wait("a");
    write_and_wait("b");
    length_in_loop = length_of(path_a);
}

Test(commit, zeros_are_written_ahead_and_trimmed_at_close) {
    open_commit(KB_FSYNC_ALWAYS);
    run_in_loop(write_and_look);
    cr_assert_eq(nanswers, 2);
    cr_assert_eq(answers[1].status, 0);
    const off_t records = 16 + 2 * (24 + 1);
    cr_assert_eq(length_in_loop, 16 + 24 + 1 + (4 << 20), "a step of zeros after the first");
    cr_assert_eq(data_size(path_a), records);
    close_commit();
    cr_assert_eq(length_of(path_a), records);
    cr_assert_str_eq(records_of(path_a), "1:a;2:b;");
}

static void write_then_switch(void) {
    write_and_wait("a");
    kb_journal_t next;
    cr_assert_eq(kb_journal_open(&next, path_b, 1, NULL, NULL, NULL), 0);
    cr_assert_eq(kb_commit_switch(commit, &next), 0);
    write_and_wait("b");
}

Test(commit, a_switch_trims_the_journal_left) {
    open_commit(KB_FSYNC_ALWAYS);
    run_in_loop(write_then_switch);
    cr_assert_eq(nanswers, 2);
    cr_assert_eq(answers[0].status, 0);
    cr_assert_eq(answers[1].status, 0);
    cr_assert_eq(length_of(path_a), 16 + 24 + 1);
    cr_assert_gt(length_of(path_b), 16 + 24 + 1, "zeros ahead in the new one");
    close_commit();
    cr_assert_eq(length_of(path_b), 16 + 24 + 1);
    cr_assert_str_eq(records_of(path_a), "1:a;");
    cr_assert_str_eq(records_of(path_b), "2:b;");
}

/* A record that would pass the file size limit is refused when appended,
 * before its write is applied, and the commit goes on; the ones before it
 * are written and answered. */
static void up_to_the_limit(void) {
    write_and_wait("a");
    write_and_wait("b");
    errno = 0;
    cr_assert_eq(kb_commit_append(commit, KB_JREC_OP, "c", 1), KB_EIO);
    cr_assert_eq(errno, EFBIG);
    cr_assert_eq(kb_commit_written(commit), 2);
}

Test(commit, a_record_past_the_size_limit_is_refused_before_it_is_taken) {
    struct rlimit saved, small;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &saved), 0);
    small = saved;
    small.rlim_cur = 16 + 2 * (24 + 1) + 10; /* two records and a bit */
    signal(SIGXFSZ, SIG_IGN);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    open_commit(KB_FSYNC_ALWAYS);
    run_in_loop(up_to_the_limit);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &saved), 0);
    cr_assert_eq(nanswers, 2);
    cr_assert_eq(answers[0].status, 0);
    cr_assert_eq(answers[1].status, 0);
    cr_assert_eq(fails, 0, "a refused record is no failure of the journal");
    close_commit();
    cr_assert_str_eq(records_of(path_a), "1:a;2:b;");
}

/* Fault injection: the journal's descriptor becomes a read-only one, so
 * the iteration's write fails. Its records were taken already, so this is
 * a failure of the journal: nothing is acknowledged and the owner hears. */
static void write_to_a_read_only_fd(void) {
    write_and_wait("a");
    int ro = open("/dev/null", O_RDONLY);
    cr_assert_geq(ro, 0);
    cr_assert_geq(dup2(ro, kb_commit_journal(commit)->fd), 0);
    close(ro);
}

Test(commit, a_failed_write_answers_eio_and_stops_appends) {
    open_commit(KB_FSYNC_ALWAYS);
    run_in_loop(write_to_a_read_only_fd);
    cr_assert_eq(nanswers, 1);
    cr_assert_eq(answers[0].status, KB_EIO);
    cr_assert_eq(fails, 1);
    cr_assert_eq(fail_err, EBADF);
    cr_assert_eq(stats().fsyncs, 0, "no fsync for what was not written");
    cr_assert_eq(kb_commit_append(commit, KB_JREC_OP, "b", 1), KB_EIO);
    close_commit();
}
