/* it_crash_recovery.c — a real kobled is killed with SIGKILL and started
 * again on the same data directory: every acknowledged write is there,
 * every delete stays deleted, a torn journal tail is cut, and a disk that
 * fills up gives 503s, never an answer that lies. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "journal.h"

static kt_daemon_t d;

static void stop(void) { kt_daemon_stop(&d); }

static int request(const char *method, const char *path, const char *body) {
    kt_resp_t r = kt_http(&d, method, path, body);
    int status = r.status;
    kt_resp_free(&r);
    return status;
}

static void volunteer_body(char *buf, size_t cap, int i) {
    snprintf(buf, cap,
             "{\"location\":{\"lat\":%.4f,\"lon\":12.5683},\"skills\":[\"visiting\",\"cooking\"],"
             "\"languages\":[\"da\"],\"availability\":[\"tue_afternoon\"],\"capacity\":2}",
             55.6 + i * 0.001);
}

static void restart(void) {
    cr_assert_eq(kt_daemon_kill(&d), 0);
    cr_assert_eq(kt_daemon_spawn(&d, NULL), 0, "kobled did not come back");
}

static long long count_of(const char *path) {
    kt_resp_t r = kt_http(&d, "GET", "/v1/stats", NULL);
    cr_assert_eq(r.status, 200);
    long long n = json_integer_value(kt_json_path(r.json, path));
    kt_resp_free(&r);
    return n;
}

Test(recovery, acknowledged_writes_survive_kill_9, .fini = stop) {
    cr_assert_eq(kt_daemon_start(&d, NULL), 0);
    char path[64], body[512];
    enum { N = 150 };
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "/v1/volunteers/v-%d", i);
        volunteer_body(body, sizeof body, i);
        cr_assert_eq(request("PUT", path, body), 201);
    }
    for (int i = 0; i < N; i += 3) {
        snprintf(path, sizeof path, "/v1/volunteers/v-%d", i);
        cr_assert_eq(request("DELETE", path, NULL), 204);
    }
    cr_assert_eq(
        request(
            "PUT", "/v1/needs/n-1",
            "{\"kind\":\"visit\",\"municipality\":\"0101\",\"person_age\":82,"
            "\"location\":{\"lat\":55.601,\"lon\":12.5683},\"skills_required\":[\"visiting\"]}"),
        201);
    cr_assert_eq(
        request("POST", "/v1/matches",
                "{\"need_id\":\"n-1\",\"candidate\":{\"type\":\"volunteer\",\"id\":\"v-1\"}}"),
        201);
    cr_assert_eq(request("POST", "/v1/matches/m-1/accept", NULL), 200);
    kt_resp_t before = kt_http(&d, "GET", "/v1/volunteers/v-1", NULL);

    restart();
    /* The zeros written ahead of the records are the journal's clean end,
     * not a damaged tail. */
    char *log = kt_daemon_log(&d);
    cr_assert_null(strstr(log, "event=journal_tail_cut"), "%s", log);
    free(log);

    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "/v1/volunteers/v-%d", i);
        cr_assert_eq(request("GET", path, NULL), i % 3 == 0 ? 404 : 200, "%s", path);
    }
    kt_resp_t after = kt_http(&d, "GET", "/v1/volunteers/v-1", NULL);
    cr_assert_str_eq(after.body, before.body);
    kt_resp_free(&before);
    kt_resp_free(&after);
    cr_assert_eq(count_of("counts.volunteers"), N - N / 3);
    cr_assert_eq(count_of("counts.needs.matched"), 1);
    cr_assert_eq(count_of("counts.matches.accepted"), 1);
    /* Match ids go on where they stopped. */
    kt_resp_t r =
        kt_http(&d, "POST", "/v1/matches",
                "{\"need_id\":\"n-1\",\"candidate\":{\"type\":\"volunteer\",\"id\":\"v-2\"}}");
    cr_assert_eq(r.status, 409, "the need is matched: %s", r.body);
    kt_resp_free(&r);
    log = kt_daemon_log(&d);
    cr_assert(strstr(log, "event=recovered records=203"), "%s", log);
    free(log);
}

Test(recovery, a_torn_tail_is_cut_and_the_rest_kept, .fini = stop) {
    cr_assert_eq(kt_daemon_start(&d, NULL), 0);
    char path[64], body[512], file[128];
    for (int i = 0; i < 10; i++) {
        snprintf(path, sizeof path, "/v1/volunteers/v-%d", i);
        volunteer_body(body, sizeof body, i);
        cr_assert_eq(request("PUT", path, body), 201);
    }
    cr_assert_eq(kt_daemon_kill(&d), 0);
    /* Half a record, as a crash in the middle of a write leaves it: right
     * after the last record (which ends in '}'), over the zeros written
     * ahead, which stay after it. */
    cr_assert_eq(kt_daemon_journal(&d, file, sizeof file), 0);
    int fd = open(file, O_RDWR);
    cr_assert_geq(fd, 0);
    off_t length = lseek(fd, 0, SEEK_END), end = length;
    char ch = 0;
    while (end > 0 && pread(fd, &ch, 1, end - 1) == 1 && ch == 0) end--;
    cr_assert_eq(ch, '}');
    cr_assert_gt(length, end, "zeros after the records");
    static const char torn[] = "\x40\x01\x00\x00\x01\x00\x00\x00\x0b\x00\x00\x00{\"op\":\"put";
    cr_assert_eq(pwrite(fd, torn, sizeof torn - 1, end), (ssize_t)(sizeof torn - 1));
    close(fd);

    cr_assert_eq(kt_daemon_spawn(&d, NULL), 0);
    char *log = kt_daemon_log(&d);
    cr_assert(strstr(log, "event=journal_tail_cut"), "%s", log);
    cr_assert(strstr(log, "records=10 "), "%s", log);
    free(log);
    cr_assert_eq(count_of("counts.volunteers"), 10);
    /* Writing goes on after the cut, and survives the next crash too. */
    volunteer_body(body, sizeof body, 10);
    cr_assert_eq(request("PUT", "/v1/volunteers/v-10", body), 201);
    restart();
    cr_assert_eq(count_of("counts.volunteers"), 11);
    cr_assert_eq(request("GET", "/v1/volunteers/v-10", NULL), 200);
}

Test(recovery, a_full_disk_answers_503_and_acknowledges_nothing_it_lost, .fini = stop) {
    memset(&d, 0, sizeof d);
    cr_assert_eq(kt_daemon_start(&d, NULL), 0);
    cr_assert_eq(kt_daemon_kill(&d), 0);
    /* Room for some dozens of records only. */
    d.fsize_limit = 12000;
    cr_assert_eq(kt_daemon_spawn(&d, NULL), 0);
    char path[64], body[512];
    int acked = 0, refused = -1;
    for (int i = 0; i < 200 && refused < 0; i++) {
        snprintf(path, sizeof path, "/v1/volunteers/v-%d", i);
        volunteer_body(body, sizeof body, i);
        kt_resp_t r = kt_http(&d, "PUT", path, body);
        if (r.status == 201) {
            acked++;
        } else {
            cr_assert_eq(r.status, 503, "%d %s", r.status, r.body);
            cr_assert_str_eq(json_string_value(kt_json_path(r.json, "error.code")),
                             "journal_failed");
            refused = i;
        }
        kt_resp_free(&r);
    }
    cr_assert_geq(refused, 5, "the limit leaves room for a few writes");
    snprintf(path, sizeof path, "/v1/volunteers/v-%d", refused);
    cr_assert_eq(request("GET", path, NULL), 404, "a refused write changes nothing");
    cr_assert_eq(request("GET", "/v1/volunteers/v-0", NULL), 200, "reads go on");
    cr_assert_eq(count_of("counts.volunteers"), acked);

    d.fsize_limit = 0;
    restart();
    cr_assert_eq(count_of("counts.volunteers"), acked);
    cr_assert_eq(request("GET", path, NULL), 404);
    /* With room again, writes are accepted. */
    cr_assert_eq(request("PUT", path, body), 201);
}

Test(recovery, an_unknown_journal_version_stops_start_up, .fini = stop) {
    cr_assert_eq(kt_daemon_start(&d, NULL), 0);
    cr_assert_eq(kt_daemon_kill(&d), 0);
    char file[128];
    cr_assert_eq(kt_daemon_journal(&d, file, sizeof file), 0);
    FILE *f = fopen(file, "r+b");
    cr_assert_not_null(f);
    fseek(f, 8, SEEK_SET);
    fputc(9, f); /* format version 9 */
    fclose(f);
    cr_assert_eq(kt_daemon_spawn(&d, NULL), -1, "kobled must refuse to start");
    char *log = kt_daemon_log(&d);
    cr_assert(strstr(log, "unknown file format version"), "%s", log);
    free(log);
}

/* Counts files in the data dir whose names start with prefix. */
static int files_named(const char *prefix) {
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c '^%s' || true", d.dir, prefix);
    FILE *p = popen(cmd, "r");
    cr_assert_not_null(p);
    int n = -1;
    cr_assert_eq(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

static const char *const small_snapshots[] = {"--snapshot-bytes", "4096", NULL};

/* Snapshots are taken (in a child) every few kilobytes of journal while
 * writes go on; a kill -9 at any moment, even while one is written, loses
 * nothing acknowledged, and old files are removed as newer snapshots land. */
Test(recovery, snapshots_under_writes_lose_nothing, .fini = stop) {
    cr_assert_eq(kt_daemon_start(&d, small_snapshots), 0);
    char path[64], body[512];
    enum { N = 400 };
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "/v1/volunteers/v-%d", i);
        volunteer_body(body, sizeof body, i);
        cr_assert_eq(request("PUT", path, body), 201);
        if (i % 5 == 4) {
            snprintf(path, sizeof path, "/v1/volunteers/v-%d", i - 2);
            cr_assert_eq(request("DELETE", path, NULL), 204);
        }
    }
    char *log = kt_daemon_log(&d);
    cr_assert(strstr(log, "event=snapshot seq="), "no snapshot was taken:\n%s", log);
    free(log);
    cr_assert_eq(kt_daemon_kill(&d), 0);
    cr_assert_eq(kt_daemon_spawn(&d, small_snapshots), 0);
    log = kt_daemon_log(&d);
    cr_assert(strstr(log, "event=snapshot_loaded"), "%s", log);
    free(log);
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "/v1/volunteers/v-%d", i);
        cr_assert_eq(request("GET", path, NULL), i % 5 == 2 ? 404 : 200, "%s", path);
    }
    cr_assert_eq(count_of("counts.volunteers"), N - N / 5);
    /* One generation kept: at most two snapshots (plus one being written). */
    cr_assert_leq(files_named("snapshot-"), 3);
}

/* A clean stop writes a snapshot, so the next start replays nothing; a
 * newest snapshot damaged afterwards is reported and the one before it,
 * with the journals after it, gives back the same state. */
Test(recovery, a_damaged_snapshot_falls_back_to_the_previous_one, .fini = stop) {
    cr_assert_eq(kt_daemon_start(&d, NULL), 0);
    char path[64], body[512];
    for (int i = 0; i < 30; i++) {
        snprintf(path, sizeof path, "/v1/volunteers/v-%d", i);
        volunteer_body(body, sizeof body, i);
        cr_assert_eq(request("PUT", path, body), 201);
    }
    cr_assert_eq(kt_daemon_term(&d), 0);
    cr_assert_eq(files_named("snapshot-"), 1);
    cr_assert_eq(kt_daemon_spawn(&d, NULL), 0);
    char *log = kt_daemon_log(&d);
    cr_assert(strstr(log, "event=recovered records=0 last_seq=30"), "%s", log);
    free(log);
    cr_assert_eq(request("DELETE", "/v1/volunteers/v-0", NULL), 204);
    volunteer_body(body, sizeof body, 30);
    cr_assert_eq(request("PUT", "/v1/volunteers/v-30", body), 201);
    cr_assert_eq(kt_daemon_term(&d), 0);
    cr_assert_eq(files_named("snapshot-"), 2);

    /* Damage the newest snapshot in its middle. */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls '%s'/snapshot-*.kbs | tail -1", d.dir);
    FILE *p = popen(cmd, "r");
    char snap[256] = "";
    cr_assert_not_null(fgets(snap, sizeof snap, p));
    pclose(p);
    snap[strcspn(snap, "\n")] = '\0';
    FILE *f = fopen(snap, "r+b");
    cr_assert_not_null(f);
    fseek(f, 400, SEEK_SET);
    int c = fgetc(f);
    fseek(f, 400, SEEK_SET);
    fputc(c ^ 0x20, f);
    fclose(f);

    cr_assert_eq(kt_daemon_spawn(&d, NULL), 0);
    log = kt_daemon_log(&d);
    cr_assert(strstr(log, "event=snapshot_damaged"), "%s", log);
    cr_assert(strstr(log, "action=using_previous"), "%s", log);
    cr_assert(strstr(log, "event=recovered records=2 last_seq=32"), "%s", log);
    free(log);
    cr_assert_eq(count_of("counts.volunteers"), 30);
    cr_assert_eq(request("GET", "/v1/volunteers/v-0", NULL), 404);
    cr_assert_eq(request("GET", "/v1/volunteers/v-30", NULL), 200);
}

/* kobled listens before it recovers: while the journal is replayed every
 * request, reads and writes alike, is answered 503 "starting" and nothing
 * is accepted; then it is ready with the whole state. The journal is
 * written here directly (100k records, about 2 s to replay on a 2-core VM,
 * a thousand times what the first requests below need). */
Test(recovery, requests_during_recovery_get_503_starting, .fini = stop) {
    cr_assert_eq(kt_daemon_start(&d, NULL), 0);
    cr_assert_eq(kt_daemon_kill(&d), 0);
    char file[128];
    cr_assert_eq(kt_daemon_journal(&d, file, sizeof file), 0);
    cr_assert_eq(unlink(file), 0);
    kb_journal_t j;
    cr_assert_eq(kb_journal_open(&j, file, 0, NULL, NULL, NULL), 0);
    enum { N = 100000 };
    for (int i = 0; i < N; i++) {
        char op[256];
        int n = snprintf(
            op, sizeof op,
            "{\"op\":\"put\",\"entity\":\"volunteer\",\"id\":\"v-%d\",\"ts\":1795478400000,"
            "\"body\":{\"location\":{\"lat\":55.%04d,\"lon\":12.5}}}",
            i, i % 10000);
        uint64_t seq;
        cr_assert_eq(kb_journal_append(&j, KB_JREC_OP, op, (uint32_t)n, &seq), 0);
    }
    kb_journal_close(&j);

    d.no_wait = true;
    cr_assert_eq(kt_daemon_spawn(&d, NULL), 0);
    kt_resp_t r = kt_http(&d, "GET", "/healthz", NULL);
    cr_assert_eq(r.status, 503, "%s", r.body);
    cr_assert_str_eq(json_string_value(kt_json_path(r.json, "error.code")), "starting");
    kt_resp_free(&r);
    r = kt_http(&d, "GET", "/v1/stats", NULL);
    cr_assert_eq(r.status, 503);
    kt_resp_free(&r);
    char body[512];
    volunteer_body(body, sizeof body, 1);
    r = kt_http(&d, "PUT", "/v1/volunteers/v-new", body);
    cr_assert_eq(r.status, 503, "no write is taken before recovery is done");
    kt_resp_free(&r);

    int status = 0;
    for (int i = 0; i < 3000 && status != 200; i++) {
        r = kt_http(&d, "GET", "/healthz", NULL);
        status = r.status;
        kt_resp_free(&r);
        if (status != 200) usleep(10000);
    }
    cr_assert_eq(status, 200, "ready within 30 s");
    cr_assert_eq(count_of("counts.volunteers"), N);
    cr_assert_eq(request("GET", "/v1/volunteers/v-new", NULL), 404);
}
