/* test_log.c — one structured line per call, filtered by level. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Runs kb_log calls with stderr pointed at a pipe and returns what came out. */
static void capture(char *out, size_t cap, void (*fn)(void)) {
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    int saved = dup(2);
    dup2(fds[1], 2);
    fn();
    dup2(saved, 2);
    close(saved);
    close(fds[1]);
    ssize_t n = read(fds[0], out, cap - 1);
    out[n > 0 ? n : 0] = '\0';
    close(fds[0]);
}

static void two_lines(void) {
    kb_log_set_level(KB_LOG_INFO);
    kb_log(KB_LOG_DEBUG, "hidden", "x=%d", 1);
    kb_log(KB_LOG_INFO, "listening", "addr=%s:%d", "127.0.0.1", 8080);
    kb_log(KB_LOG_ERROR, "listen", "error=\"%s\"", "address in use");
}

Test(log, format_and_level) {
    char out[1024];
    capture(out, sizeof out, two_lines);
    cr_assert(strncmp(out, "ts=", 3) == 0, "%s", out);
    cr_assert(strstr(out, "Z level=info event=listening addr=127.0.0.1:8080\n"), "%s", out);
    cr_assert(strstr(out, "level=error event=listen error=\"address in use\"\n"), "%s", out);
    cr_assert_null(strstr(out, "hidden"));
    int lines = 0;
    for (char *p = out; *p; p++) lines += *p == '\n';
    cr_assert_eq(lines, 2);
    cr_assert_eq(kb_log_level_parse("warn"), KB_LOG_WARN);
    cr_assert_eq(kb_log_level_parse("loud"), -1);
}

/* Lines logged while held, nested holds among them. */
static void held_lines(void) {
    kb_log_set_level(KB_LOG_INFO);
    kb_log_hold();
    kb_log_hold(); /* nested */
    kb_log(KB_LOG_INFO, "request", "n=%d", 1);
    kb_log(KB_LOG_INFO, "request", "n=%d", 2);
    kb_log_release();
    kb_log(KB_LOG_INFO, "request", "n=%d", 3);
    kb_log_release();
}

/* stderr into a pipe whose reading end (fds[0]) does not block, for a
 * test that looks at what was written while lines are held; returns the
 * stderr to put back with from_pipe. */
static int to_pipe(int fds[2]) {
    cr_assert_eq(pipe(fds), 0);
    cr_assert_eq(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
    int saved = dup(2);
    dup2(fds[1], 2);
    return saved;
}

static void from_pipe(int saved, int fds[2]) {
    dup2(saved, 2);
    close(saved);
    close(fds[1]);
    close(fds[0]);
}

/* What the pipe holds now, without waiting. */
static ssize_t drain(int fd, char *out, size_t cap) {
    ssize_t n = read(fd, out, cap - 1);
    out[n > 0 ? n : 0] = '\0';
    return n;
}

Test(log, held_lines_go_out_whole_in_order_at_the_release) {
    int fds[2], saved = to_pipe(fds);
    char out[1024];
    kb_log_hold();
    kb_log(KB_LOG_INFO, "request", "n=%d", 0);
    cr_assert_lt(drain(fds[0], out, sizeof out), 0, "nothing is written while held");
    kb_log_release();
    held_lines();
    cr_assert_gt(drain(fds[0], out, sizeof out), 0);
    from_pipe(saved, fds);
    const char *a = strstr(out, "n=0\n"), *b = strstr(out, "n=1\n"), *c = strstr(out, "n=2\n"),
               *d = strstr(out, "n=3\n");
    cr_assert(a && b && c && d && a < b && b < c && c < d, "%s", out);
}

/* kobled holds for its whole run and flushes on a timer: a flush writes
 * what waits and the hold goes on; a warning writes at once. */
Test(log, a_flush_writes_what_waits_and_the_hold_goes_on) {
    int fds[2], saved = to_pipe(fds);
    kb_log_set_level(KB_LOG_INFO);
    char out[1024];
    kb_log_hold();
    cr_assert_not(kb_log_waiting());
    kb_log(KB_LOG_INFO, "request", "n=%d", 1);
    cr_assert(kb_log_waiting());
    cr_assert_lt(drain(fds[0], out, sizeof out), 0, "nothing is written while held");
    kb_log_flush();
    cr_assert_not(kb_log_waiting());
    cr_assert_gt(drain(fds[0], out, sizeof out), 0);
    cr_assert(strstr(out, "event=request n=1\n"), "%s", out);
    kb_log(KB_LOG_INFO, "request", "n=%d", 2);
    cr_assert(kb_log_waiting(), "still held after the flush");
    cr_assert_lt(drain(fds[0], out, sizeof out), 0);
    kb_log(KB_LOG_WARN, "slow", "n=%d", 3);
    cr_assert_not(kb_log_waiting());
    cr_assert_gt(drain(fds[0], out, sizeof out), 0);
    const char *a = strstr(out, "n=2\n"), *b = strstr(out, "event=slow n=3\n");
    cr_assert(a && b && a < b, "%s", out);
    kb_log_release();
    from_pipe(saved, fds);
}

/* The timestamp, whose seconds part is kept from line to line: the form
 * "ts=YYYY-MM-DDTHH:MM:SS.mmmZ" and the same second as time() around it. */
static time_t before, after;
static void stamped_lines(void) {
    kb_log_set_level(KB_LOG_INFO);
    before = time(NULL);
    kb_log(KB_LOG_INFO, "a", "n=%d", 1);
    kb_log(KB_LOG_WARN, "b", "n=%d", 2);
    after = time(NULL);
}

Test(log, timestamps_have_the_iso_form_and_the_current_second) {
    char out[1024];
    capture(out, sizeof out, stamped_lines);
    char *line = out;
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(strlen(line) > 28, true, "%s", out);
        const char *form = "ts=dddd-dd-ddTdd:dd:dd.dddZ ";
        for (int k = 0; form[k]; k++)
            if (form[k] == 'd') cr_assert(line[k] >= '0' && line[k] <= '9', "%s", line);
            else cr_assert_eq(line[k], form[k], "%s", line);
        struct tm tm = {0};
        cr_assert_eq(sscanf(line + 3, "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon,
                            &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
                     6);
        tm.tm_year -= 1900;
        tm.tm_mon -= 1;
        time_t at = timegm(&tm);
        cr_assert(at >= before && at <= after, "%s", line);
        line = strchr(line, '\n') + 1;
    }
    cr_assert(strstr(out, "Z level=info event=a n=1\n"), "%s", out);
    cr_assert(strstr(out, "Z level=warn event=b n=2\n"), "%s", out);
}

static void text_lines(void) {
    kb_log_set_level(KB_LOG_INFO);
    kb_log_text(KB_LOG_DEBUG, "hidden", "x=1", 3);
    kb_log_text(KB_LOG_INFO, "request", "route=\"GET /healthz\" status=200 us=31 token=-  ", 47);
    kb_log(KB_LOG_INFO, "request", "route=\"%s\" status=%d us=%.0f token=%s", "GET /healthz", 200,
           31.0, "-");
    char tail[2000];
    memset(tail, 'a', sizeof tail);
    kb_log_text(KB_LOG_WARN, "long", tail, sizeof tail);
}

/* A tail written by the caller makes the same line as kb_log's format;
 * trailing spaces go, and a tail too long is cut to a 1 KiB line. */
Test(log, a_written_tail_makes_the_same_line) {
    char out[4096];
    capture(out, sizeof out, text_lines);
    cr_assert_null(strstr(out, "hidden"));
    const char *want =
        " level=info event=request route=\"GET /healthz\" status=200 us=31 token=-\n";
    const char *first = strstr(out, want);
    cr_assert_not_null(first, "%s", out);
    cr_assert_not_null(strstr(first + 1, want), "kb_log gives the same line: %s", out);
    const char *lng = strstr(out, "event=long aaa");
    cr_assert_not_null(lng);
    const char *line = lng;
    while (line > out && line[-1] != '\n') line--;
    const char *end = strchr(lng, '\n');
    cr_assert_not_null(end);
    cr_assert_eq(end - line + 1, 1024, "cut to 1023 bytes and the newline");
}
