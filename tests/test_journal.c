/* test_journal.c — record framing, checksums and tail cutting. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "journal.h"
#include "koble/error.h"

static char dir[64], path[96];

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/koble-journal-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/journal", dir);
}

static void teardown(void) {
    unlink(path);
    rmdir(dir);
}

/* Collects replayed payloads as "seq:payload;" into a string. */
typedef struct seen {
    char text[4096];
    int n;
} seen_t;

static int collect(void *ctx, const kb_jrec_t *rec) {
    seen_t *s = ctx;
    size_t used = strlen(s->text);
    snprintf(s->text + used, sizeof s->text - used, "%llu:%.*s;", (unsigned long long)rec->seq,
             (int)rec->len, (const char *)rec->payload);
    s->n++;
    return 0;
}

static const char *payloads[] = {"{\"op\":\"put\"}", "", "{\"op\":\"delete\",\"id\":\"v-1\"}", "x"};
#define NPAY 4

/* Writes the four records (seq 1..4) and returns the file's bytes. */
static uint8_t *write_four(size_t *len) {
    kb_journal_t j;
    cr_assert_eq(kb_journal_open(&j, path, 0, NULL, NULL, NULL), 0);
    for (int i = 0; i < NPAY; i++) {
        uint64_t seq = 0;
        cr_assert_eq(
            kb_journal_append(&j, KB_JREC_OP, payloads[i], (uint32_t)strlen(payloads[i]), &seq), 0);
        cr_assert_eq(seq, (uint64_t)i + 1);
    }
    cr_assert_eq(kb_journal_sync(j.fd), 0);
    kb_journal_close(&j);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    static uint8_t buf[4096];
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

static void rewrite(const uint8_t *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
}

static off_t file_size(void) {
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    return st.st_size;
}

TestSuite(journal, .init = setup, .fini = teardown);

Test(journal, records_come_back_in_order_after_reopen) {
    size_t len;
    write_four(&len);
    seen_t s = {0};
    kb_journal_t j;
    kb_journal_scan_t scan;
    cr_assert_eq(kb_journal_open(&j, path, 0, collect, &s, &scan), 0);
    cr_assert_str_eq(s.text, "1:{\"op\":\"put\"};2:;3:{\"op\":\"delete\",\"id\":\"v-1\"};4:x;");
    cr_assert_eq(scan.records, 4);
    cr_assert_eq(scan.cut_bytes, 0);
    /* Appending continues the sequence. */
    uint64_t seq;
    cr_assert_eq(kb_journal_append(&j, KB_JREC_OP, "y", 1, &seq), 0);
    cr_assert_eq(seq, 5);
    kb_journal_close(&j);
}

Test(journal, records_up_to_after_are_skipped) {
    size_t len;
    write_four(&len);
    seen_t s = {0};
    kb_journal_t j;
    kb_journal_scan_t scan;
    cr_assert_eq(kb_journal_open(&j, path, 2, collect, &s, &scan), 0);
    cr_assert_str_eq(s.text, "3:{\"op\":\"delete\",\"id\":\"v-1\"};4:x;");
    cr_assert_eq(scan.records, 4);
    cr_assert_eq(scan.replayed, 2);
    cr_assert_eq(j.last_seq, 4);
    kb_journal_close(&j);
}

/* A crash can stop the file at any byte: recovery keeps exactly the whole
 * records before that byte and cuts the rest. */
Test(journal, a_tail_torn_at_every_offset_is_cut_to_the_whole_records) {
    size_t len;
    uint8_t *full = write_four(&len);
    uint8_t copy[4096];
    memcpy(copy, full, len);
    /* Record boundaries, to know how many records each cut keeps. */
    size_t ends[NPAY], off = KB_JOURNAL_HEADER;
    for (int i = 0; i < NPAY; i++) {
        off += KB_JREC_HEADER + strlen(payloads[i]);
        ends[i] = off;
    }
    cr_assert_eq(off, len);
    for (size_t cut = 0; cut <= len; cut++) {
        rewrite(copy, cut);
        seen_t s = {0};
        kb_journal_t j;
        kb_journal_scan_t scan;
        cr_assert_eq(kb_journal_open(&j, path, 0, collect, &s, &scan), 0, "cut at %zu", cut);
        int whole = 0;
        while (whole < NPAY && ends[whole] <= cut) whole++;
        cr_assert_eq(s.n, whole, "cut at %zu: %d records, want %d", cut, s.n, whole);
        size_t keep = whole ? ends[whole - 1] : KB_JOURNAL_HEADER;
        cr_assert_eq((size_t)file_size(), keep, "cut at %zu", cut);
        /* A torn record whose bytes so far happen to be zeros is cut as a
         * tail of zeros (it is removed all the same). */
        size_t gone = cut < KB_JOURNAL_HEADER ? cut : cut - keep;
        bool zeros = cut >= KB_JOURNAL_HEADER && gone && copy[keep] == 0 &&
                     memcmp(copy + keep, copy + keep + 1, gone - 1) == 0;
        cr_assert_eq(scan.cut_bytes, zeros ? 0 : gone, "cut at %zu", cut);
        cr_assert_eq(scan.zero_bytes, zeros ? gone : 0, "cut at %zu", cut);
        /* And the file takes appends again, numbered on. */
        uint64_t seq;
        cr_assert_eq(kb_journal_append(&j, KB_JREC_OP, "z", 1, &seq), 0);
        cr_assert_eq(seq, (uint64_t)whole + 1);
        kb_journal_close(&j);
    }
}

/* Zeros after the last record are space written ahead (fsync "always"):
 * the journal ends there cleanly, nothing counts as cut, and the file is
 * trimmed to its records. */
Test(journal, a_tail_of_zeros_is_the_clean_end) {
    size_t len;
    uint8_t *full = write_four(&len);
    static uint8_t copy[4096 + 8192];
    memset(copy, 0, sizeof copy);
    memcpy(copy, full, len);
    rewrite(copy, len + 8192);
    seen_t s = {0};
    kb_journal_t j;
    kb_journal_scan_t scan;
    cr_assert_eq(kb_journal_open(&j, path, 0, collect, &s, &scan), 0);
    cr_assert_eq(s.n, 4);
    cr_assert_eq(scan.cut_bytes, 0);
    cr_assert_eq(scan.zero_bytes, 8192);
    cr_assert_eq(j.size, len);
    cr_assert_eq((size_t)file_size(), len);
    uint64_t seq;
    cr_assert_eq(kb_journal_append(&j, KB_JREC_OP, "z", 1, &seq), 0);
    cr_assert_eq(seq, 5);
    kb_journal_close(&j);
    s = (seen_t){0};
    cr_assert_eq(kb_journal_open(&j, path, 3, collect, &s, NULL), 0);
    cr_assert_str_eq(s.text, "4:x;5:z;");
    kb_journal_close(&j);
}

/* A record torn in the middle of the zeros written ahead (a crash while
 * its batch was written over them) is still cut, zeros and all, and
 * nothing after it is read: not even a whole record further on, which no
 * fsync covered (its predecessor is missing). */
Test(journal, a_torn_record_before_zeros_is_cut) {
    size_t len;
    uint8_t *full = write_four(&len);
    size_t third =
        KB_JOURNAL_HEADER + 2 * KB_JREC_HEADER + strlen(payloads[0]) + strlen(payloads[1]);
    static uint8_t copy[4096 + 8192];
    memset(copy, 0, sizeof copy);
    memcpy(copy, full, len);
    /* Record 3's first 10 bytes never reached the disk; record 4 did. */
    memset(copy + third, 0, 10);
    rewrite(copy, len + 8192);
    seen_t s = {0};
    kb_journal_t j;
    kb_journal_scan_t scan;
    cr_assert_eq(kb_journal_open(&j, path, 0, collect, &s, &scan), 0);
    cr_assert_str_eq(s.text, "1:{\"op\":\"put\"};2:;");
    cr_assert_eq(scan.cut_bytes, len + 8192 - third);
    cr_assert_eq(scan.zero_bytes, 0);
    cr_assert_eq((size_t)file_size(), third);
    kb_journal_close(&j);
}

/* Any single flipped bit in a record is detected, and reading stops there. */
Test(journal, every_flipped_bit_in_a_record_is_caught) {
    size_t len;
    uint8_t *full = write_four(&len);
    uint8_t copy[4096];
    size_t third =
        KB_JOURNAL_HEADER + 2 * KB_JREC_HEADER + strlen(payloads[0]) + strlen(payloads[1]);
    for (size_t byte = third; byte < len; byte++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, full, len);
            copy[byte] ^= (uint8_t)(1u << bit);
            rewrite(copy, len);
            seen_t s = {0};
            kb_journal_t j;
            cr_assert_eq(kb_journal_open(&j, path, 0, collect, &s, NULL), 0);
            kb_journal_close(&j);
            /* Records 1 and 2 stand; a flip in record 3 also drops 4. */
            int want = byte < third + KB_JREC_HEADER + strlen(payloads[2]) ? 2 : 3;
            cr_assert_eq(s.n, want, "byte %zu bit %d: %d records", byte, bit, s.n);
        }
    }
}

Test(journal, a_gap_in_the_sequence_ends_the_valid_part) {
    uint8_t buf[256], head[KB_JREC_HEADER];
    memcpy(buf, "KBJOURNL\x01\0\0\0\0\0\0\0", KB_JOURNAL_HEADER);
    size_t len = KB_JOURNAL_HEADER;
    const uint64_t seqs[] = {7, 8, 10};
    for (int i = 0; i < 3; i++) {
        kb_journal_encode(head, KB_JREC_OP, seqs[i], "a", 1);
        memcpy(buf + len, head, sizeof head);
        buf[len + sizeof head] = 'a';
        len += sizeof head + 1;
    }
    rewrite(buf, len);
    seen_t s = {0};
    kb_journal_t j;
    cr_assert_eq(kb_journal_open(&j, path, 0, collect, &s, NULL), 0);
    cr_assert_str_eq(s.text, "7:a;8:a;");
    cr_assert_eq(j.last_seq, 8);
    kb_journal_close(&j);
}

Test(journal, unknown_version_and_damaged_header_refuse_to_open) {
    size_t len;
    uint8_t *full = write_four(&len);
    uint8_t copy[4096];
    memcpy(copy, full, len);
    copy[8] = 2; /* version 2 */
    rewrite(copy, len);
    kb_journal_t j;
    cr_assert_eq(kb_journal_open(&j, path, 0, NULL, NULL, NULL), KB_EVERSION);
    copy[8] = 1;
    copy[0] = 'X';
    rewrite(copy, len);
    cr_assert_eq(kb_journal_open(&j, path, 0, NULL, NULL, NULL), KB_ECORRUPT);
    /* Neither attempt changed the file. */
    cr_assert_eq((size_t)file_size(), len);
}

static int refuse_third(void *ctx, const kb_jrec_t *rec) {
    (*(int *)ctx)++;
    return rec->seq == 3 ? KB_EINVAL : 0;
}

/* A record the engine cannot apply stops recovery with its error. */
Test(journal, a_failing_replay_stops_open) {
    size_t len;
    write_four(&len);
    kb_journal_t j;
    int calls = 0;
    cr_assert_eq(kb_journal_open(&j, path, 0, refuse_third, &calls, NULL), KB_EINVAL);
    cr_assert_eq(calls, 3);
    cr_assert_eq((size_t)file_size(), len, "nothing was cut");
}

/* A write that does not fit (here: the file size limit, as on a full
 * disk) fails without leaving a partial record, and later appends that
 * fit still work and read back. */
Test(journal, a_failed_append_leaves_nothing_behind) {
    size_t len;
    write_four(&len);
    kb_journal_t j;
    cr_assert_eq(kb_journal_open(&j, path, 0, NULL, NULL, NULL), 0);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = (rlim_t)len + 40;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    char big[100];
    memset(big, 'b', sizeof big);
    uint64_t seq = 0;
    cr_assert_eq(kb_journal_append(&j, KB_JREC_OP, big, sizeof big, &seq), KB_EIO);
    cr_assert_eq(errno, EFBIG);
    cr_assert_eq((size_t)file_size(), len, "the partial record was cut");
    cr_assert_eq(kb_journal_append(&j, KB_JREC_OP, "s", 1, &seq), 0);
    cr_assert_eq(seq, 5);
    setrlimit(RLIMIT_FSIZE, &old);
    kb_journal_close(&j);
    seen_t s = {0};
    cr_assert_eq(kb_journal_open(&j, path, 3, collect, &s, NULL), 0);
    cr_assert_str_eq(s.text, "4:x;5:s;");
    kb_journal_close(&j);
}

/* The check is XXH3-64 of the 16 header bytes and the payload, however it
 * is computed: small records are hashed from a copy, large ones streamed,
 * and files written before either way must keep reading. */
Test(journal, the_check_is_xxh3_of_header_and_payload_at_every_size) {
    static uint8_t payload[3000];
    for (size_t i = 0; i < sizeof payload; i++) payload[i] = (uint8_t)(i * 131 + 7);
    const uint32_t sizes[] = {0, 1, 100, 1008, 1009, 1024, 3000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint32_t len = sizes[k];
        uint8_t head[KB_JREC_HEADER];
        kb_journal_encode(head, KB_JREC_OP, 42, payload, len);
        static uint8_t whole[16 + sizeof payload];
        memcpy(whole, head, 16);
        memcpy(whole + 16, payload, len);
        uint64_t want = XXH3_64bits(whole, 16 + (size_t)len), got = 0;
        for (int i = 7; i >= 0; i--) got = got << 8 | head[16 + i];
        cr_assert_eq(got, want, "payload of %u bytes", len);
    }
}
