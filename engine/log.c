/* log.c — see log.h. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int min_level = KB_LOG_INFO;

/* kb_log_hold's lines, per thread: recovery logs from the thread pool
 * while the loop thread answers. A line is at most 1024 bytes. */
static _Thread_local int held;
static _Thread_local char hold_buf[16384];
static _Thread_local size_t pending;

static void flush_held(void) {
    if (!pending) return;
    ssize_t w = write(STDERR_FILENO, hold_buf, pending);
    (void)w;
    pending = 0;
}
static const char *const names[] = {"debug", "info", "warn", "error"};

void kb_log_set_level(int level) {
    if (level >= KB_LOG_DEBUG && level <= KB_LOG_ERROR) min_level = level;
}

int kb_log_level_parse(const char *name) {
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0) return i;
    return -1;
}

/* "ts=YYYY-MM-DDTHH:MM:SS" of the second last logged, per thread: a busy
 * server logs a line per request (the access log), and gmtime_r with
 * strftime for each was a good part of the cost of one. */
static _Thread_local time_t stamp_sec = -1;
static _Thread_local char stamp[32];
static _Thread_local size_t stamp_len;

/* Appends the len bytes of s to line (of cap bytes, n used), keeping room
 * for the NUL; cuts what does not fit. */
static size_t append(char *line, size_t cap, size_t n, const char *s, size_t len) {
    if (len > cap - 1 - n) len = cap - 1 - n;
    memcpy(line + n, s, len);
    return n + len;
}

/* Writes "ts=... level=L event=E " into line; returns its length. */
static size_t head(char *line, size_t cap, int level, const char *event) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec != stamp_sec) {
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        stamp_len = strftime(stamp, sizeof stamp, "ts=%Y-%m-%dT%H:%M:%S", &tm);
        stamp_sec = ts.tv_sec;
    }
    long ms = ts.tv_nsec / 1000000L;
    char frac[5] = {'.', (char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10),
                    'Z'};
    size_t n = append(line, cap, 0, stamp, stamp_len);
    n = append(line, cap, n, frac, sizeof frac);
    n = append(line, cap, n, " level=", 7);
    n = append(line, cap, n, names[level], strlen(names[level]));
    n = append(line, cap, n, " event=", 7);
    n = append(line, cap, n, event, strlen(event));
    return append(line, cap, n, " ", 1);
}

/* Ends the line of n bytes (line has room for one more) and writes it,
 * or keeps it while held. */
static void emit(char *line, size_t n, int level) {
    while (n > 0 && line[n - 1] == ' ') n--;
    line[n++] = '\n';
    if (held) {
        if (pending + n > sizeof hold_buf) flush_held();
        memcpy(hold_buf + pending, line, n);
        pending += n;
        if (level >= KB_LOG_WARN) flush_held();
        return;
    }
    /* One write per line; a short write to a broken stderr is not worth
     * failing a request over. */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}

void kb_log(int level, const char *event, const char *fmt, ...) {
    if (level < min_level || level > KB_LOG_ERROR) return;
    char line[1024];
    size_t n = head(line, sizeof line, level, event);
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(line + n, sizeof line - n, fmt, ap);
    va_end(ap);
    if (k > 0) n += (size_t)k < sizeof line - n ? (size_t)k : sizeof line - n - 1;
    emit(line, n, level);
}

void kb_log_text(int level, const char *event, const char *tail, size_t len) {
    if (level < min_level || level > KB_LOG_ERROR) return;
    char line[1024];
    size_t n = head(line, sizeof line, level, event);
    n = append(line, sizeof line, n, tail, len);
    emit(line, n, level);
}

void kb_log_hold(void) { held++; }

void kb_log_release(void) {
    if (held > 0 && --held == 0) flush_held();
}

void kb_log_flush(void) { flush_held(); }

bool kb_log_waiting(void) { return pending > 0; }
