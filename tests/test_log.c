/* test_log.c — one structured line per call, filtered by level. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
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
