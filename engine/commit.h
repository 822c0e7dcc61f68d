/* commit.h — group commit: the journal's fsyncs, off the loop thread.
 *
 * A write is appended to the journal on the loop thread and its answer
 * waits here until an fsync covers it. Under "always" the records of one
 * loop iteration are kept in memory and written with one write(2) at its
 * end, just before the fsync starts; whatever could refuse a record (the
 * file size limit, a full disk: the file is made longer ahead with zeros)
 * is decided when it is appended, before the write is applied. All
 * writes read in one loop iteration share one fdatasync, run on libuv's
 * thread pool so reads keep being answered while the disk works; the
 * writes that arrive meanwhile get a second one once they are at least as
 * many as the first covers, and later ones wait for a free slot (two
 * fsyncs in flight at most). When an
 * fsync returns, every answer it covers goes out, in sequence order:
 * never before the fsyncs started earlier have returned as well.
 *
 * Policies (DESIGN.md "Durability"): KB_FSYNC_ALWAYS answers only after
 * the fsync; KB_FSYNC_EVERYSEC answers at once and syncs once a second (up
 * to a second of acknowledged writes can be lost in a power cut, none in a
 * crash of kobled alone); KB_FSYNC_NO leaves flushing to the kernel.
 *
 * A failed fsync leaves the file in an unknown state (the kernel may have
 * dropped the dirty pages), so the waiting writes are answered 503 and the
 * failure is reported to the owner, which must stop: a restart recovers
 * exactly what is on disk. */
#ifndef KB_COMMIT_H
#define KB_COMMIT_H

#include <stdint.h>

#include <uv.h>

#include "config.h"
#include "journal.h"

typedef struct kb_commit kb_commit_t;

/* status: 0 once durable, KB_EIO if the fsync failed. */
typedef void (*kb_commit_cb)(void *arg, int status);
/* Called once, on the loop, when an fsync or the write of an iteration's
 * records fails. */
typedef void (*kb_commit_fail_cb)(void *arg, int err);

/* Takes over the open journal *j (its descriptor is closed when the
 * commit is freed); appends go through kb_commit_append from then on. */
int kb_commit_new(uv_loop_t *loop, const kb_journal_t *j, kb_fsync_t policy,
                  kb_commit_fail_cb on_fail, void *fail_arg, kb_commit_t **out);
/* Called on the loop whenever records up to seq have become durable under
 * the policy: after each fsync for "always", after each append otherwise. */
typedef void (*kb_commit_durable_fn)(void *ctx, uint64_t seq);
void kb_commit_on_durable(kb_commit_t *c, kb_commit_durable_fn fn, void *ctx);
/* Number of the last record appended (kb_commit_append). */
uint64_t kb_commit_written(const kb_commit_t *c);
/* The journal appended to (size, last_seq); read only. */
const kb_journal_t *kb_commit_journal(const kb_commit_t *c);
/* Appends one record of kind (KB_JREC_*) to the journal (under "always",
 * written at the end of the loop iteration); 0, or KB_EIO with errno set
 * (EFBIG, ENOSPC, ...) when it cannot go in, KB_EINVAL, KB_ENOMEM. */
int kb_commit_append(kb_commit_t *c, uint32_t kind, const void *payload, uint32_t len);
/* Calls cb(arg, status) once record seq is durable under the policy:
 * at once (synchronously) for "everysec" and "no". 0 or KB_ENOMEM. */
int kb_commit_wait(kb_commit_t *c, uint64_t seq, kb_commit_cb cb, void *arg);
/* Syncs what is written, on this thread (shutdown, journal switch), and
 * answers the writes waiting for it. */
int kb_commit_flush(kb_commit_t *c);
/* Makes the current journal durable (kb_commit_flush), then appends go to
 * next from here on: its content is copied into the kb_journal_t the
 * commit was made with. The old file's descriptor is closed (once no
 * fsync runs on it). */
int kb_commit_switch(kb_commit_t *c, const kb_journal_t *next);
typedef struct kb_commit_stats {
    uint64_t records, fsyncs, fsync_failures, waiting;
    double fsync_seconds; /* total */
} kb_commit_stats_t;
void kb_commit_stats(const kb_commit_t *c, kb_commit_stats_t *out);
/* Closes the handles; the commit and its journal are freed once they are
 * closed and no fsync runs. Waiters still queued are answered KB_EIO. */
void kb_commit_close(kb_commit_t *c);

#endif
