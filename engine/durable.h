/* durable.h — kobled's state on disk: journals and snapshots in the data
 * directory, recovery at start, snapshots in the background.
 *
 * The directory holds
 *
 *   snapshot-<S>.kbs   the whole state after journal record S (snapshot.h)
 *   journal-<F>.kbj    records F, F+1, ... (journal.h); a new journal is
 *                      started whenever a snapshot is taken, at F = S + 1
 *
 * with S and F as 20-digit decimals, so names sort by number. Recovery
 * loads the newest snapshot that is whole (a damaged one is reported and
 * the one before it used), replays the journals after it, checking that
 * no record is missing, cuts a torn tail off the last journal, and keeps
 * appending to it. A gap, or no usable snapshot where one is needed, stops
 * start-up: kobled never runs on silently partial state.
 *
 * A snapshot is taken when the journal passes a size, in a forked child
 * that writes the state it inherited copy-on-write (as Redis does), while
 * the parent goes on serving: the loop stops only for the fork and for an
 * fsync of the journal it switches away from. Files are removed only once
 * a newer snapshot is durable, and one generation is kept: the snapshot
 * before the newest and the journals after it, so that a newest snapshot
 * damaged later still has a way back. On a clean shutdown a last snapshot
 * is written in-process, so the next start replays nothing. */
#ifndef KB_DURABLE_H
#define KB_DURABLE_H

#include <stdint.h>

#include <uv.h>

#include "commit.h"
#include "config.h"
#include "koble/engine.h"
#include "outbox.h"

typedef struct kb_durable_opts {
    const char *dir;
    kb_fsync_t fsync;
    uint64_t snapshot_bytes;   /* journal size that starts a snapshot; 0: only at shutdown */
    const char *stream_prefix; /* keep events for Redis under this key prefix; NULL: none */
} kb_durable_opts_t;

typedef struct kb_durable kb_durable_t;

typedef struct kb_durable_stats {
    uint64_t journal_bytes; /* current journal file */
    uint64_t last_seq;      /* last record written */
    uint64_t snapshot_seq;  /* newest durable snapshot */
    uint64_t snapshots, snapshot_failures;
    double last_snapshot_seconds;
    uint64_t last_snapshot_bytes;
    int snapshot_running;
} kb_durable_stats_t;

/* Recovers the state in o->dir into a new engine (made with eo) and
 * keeps the last journal open for appends. Touches no event loop, so it
 * may run on a worker thread while the loop answers "starting". On
 * success *engine is owned by the caller and must outlive *out. Errors
 * are logged. */
int kb_durable_recover(const kb_durable_opts_t *o, const kb_engine_opts_t *eo, kb_durable_t **out,
                       kb_engine_t **engine);
/* On the loop's thread, after kb_durable_recover: group commit, timers,
 * and the engine's journal hook. */
int kb_durable_attach(kb_durable_t *d, uv_loop_t *loop, kb_commit_fail_cb on_fail);
/* Frees a recovered d that was never attached (start-up gave up). */
void kb_durable_discard(kb_durable_t *d);
kb_commit_t *kb_durable_commit(const kb_durable_t *d);

/* ---- events (when opts.stream_prefix is set) ----
 *
 * The engine's events go to the outbox with ids from the journal record of
 * their write (outbox.h). Waiting events are part of every snapshot, and
 * the confirmed mark is journaled (kb_durable_ack), so neither a restart
 * nor the removal of old journals loses or repeats one. */
kb_outbox_t *kb_durable_outbox(kb_durable_t *d); /* NULL without events */
/* Called when new events are queued, and when records up to seq became
 * durable (so their events may leave); both on the loop. */
typedef struct kb_durable_listener {
    void (*events)(void *ctx);
    void (*durable)(void *ctx, uint64_t seq);
    void *ctx;
} kb_durable_listener_t;
void kb_durable_listen(kb_durable_t *d, const kb_durable_listener_t *l);
/* Records that Redis confirmed every event up to id (not waited for:
 * losing it only means Redis sees those ids again and refuses them). */
void kb_durable_ack(kb_durable_t *d, kb_event_id_t id);
/* Starts a snapshot in the background unless one runs or nothing changed. */
int kb_durable_snapshot(kb_durable_t *d);
void kb_durable_stats(const kb_durable_t *d, kb_durable_stats_t *out);
/* Clean shutdown: stops a background snapshot, writes one in-process if
 * anything changed since the last, and frees d (its handles close with the
 * loop). The engine is unhooked. */
int kb_durable_close(kb_durable_t *d);

#endif
