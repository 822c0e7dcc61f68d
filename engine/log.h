/* log.h — structured one-line logs on stderr:
 *
 *   ts=2026-11-24T05:40:26.123Z level=info event=listening addr=127.0.0.1:8080
 *
 * Each line is formatted into one buffer and written with a single
 * write(2), so lines never interleave. Callers pass key=value tails; values
 * with spaces are quoted by the caller. Never log request bodies, tokens or
 * anything that identifies a person: logs end up in places nobody audits. */
#ifndef KB_LOG_H
#define KB_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum { KB_LOG_DEBUG, KB_LOG_INFO, KB_LOG_WARN, KB_LOG_ERROR };

void kb_log_set_level(int level);
/* Level for "debug", "info", "warn" or "error"; -1 for anything else. */
int kb_log_level_parse(const char *name);
void kb_log(int level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same line with its key=value tail written by the caller (len bytes,
 * cut at about 1 KiB like any line): for the access log, where vsnprintf
 * was most of the cost of a line. */
void kb_log_text(int level, const char *event, const char *tail, size_t len);
/* Between kb_log_hold and kb_log_release, the lines this thread logs are
 * kept and written together at the release (or when 16 KiB are waiting,
 * or right after a warning or error), still whole and in order: a batch
 * of answers sent at once (commit.c) costs one write(2) for its access
 * lines instead of one each. Holds nest. */
void kb_log_hold(void);
void kb_log_release(void);
/* Writes the lines held so far; the hold goes on (kobled holds for its
 * whole run and flushes on a timer). */
void kb_log_flush(void);
/* Are lines held, waiting for a release or a flush? */
bool kb_log_waiting(void);

#endif
