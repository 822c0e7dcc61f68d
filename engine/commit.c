/* commit.c — see commit.h.
 *
 * Waiters form a FIFO in sequence order (records are numbered as they are
 * appended, and writes wait for their own record right away), so releasing
 * the ones an fsync covers pops from the front. The fsync starts from a
 * uv_check handle, which runs right after the loop has handled the I/O of
 * an iteration: every write read in that iteration is in the batch.
 *
 * Up to SLOTS fsyncs run at once, the second for records appended while
 * the first runs: the time an fsync takes is mostly waiting (the disk, and
 * the worker thread being woken on a busy machine), and two waits overlap.
 * A second one starts only for at least as many records as the one in
 * flight covers. An fsync is not cheap in CPU (about 200 us of a worker's
 * system time on this VM, on the loop's core when kobled is pinned, and a
 * preemption of the loop), and when the loop is the limit the first one
 * returns about when as many writes have come in again: starting the
 * second for the first few made the batches about 21 PUTs (64
 * connections) where one fsync at a time gives about 32; with this rule
 * they are about 25. When the disk is the limit, the writes behind the
 * first fsync all arrive while it runs and get the second as before.
 * Slot i syncs through the journal's sync_fd[i], a description of its own,
 * so a write-back error reaches each slot's next fsync (journal.h). Slots
 * finish in the order they started: a later fsync that returns first waits
 * for the earlier ones, so waiters are released in sequence order and only
 * up to what fsyncs that all succeeded cover; any failure fails the
 * commit (nothing more is acknowledged). */
#include "commit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#include "koble/error.h"
#include "log.h"

typedef struct waiter {
    uint64_t seq;
    kb_commit_cb cb;
    void *arg;
} waiter_t;

/* Fsyncs in flight at most. */
#define SLOTS KB_JOURNAL_SYNC_FDS

typedef struct slot {
    uv_work_t work;
    struct kb_commit *c;
    int fd;          /* the description this fsync runs on */
    bool busy, done; /* started; returned (busy until handled in order) */
    bool close_fd;   /* fd belongs to a journal switched away from */
    int status, rc, err;
    uint64_t order;  /* start order */
    uint64_t target; /* what it covers */
    uint64_t start_ns;
} slot_t;

struct kb_commit {
    uv_loop_t *loop;
    kb_journal_t journal; /* owned: its descriptor closes with the commit */
    kb_journal_t *j;      /* &journal */
    kb_fsync_t policy;
    uv_check_t check;
    uv_timer_t timer; /* everysec */
    slot_t slot[SLOTS];
    int inflight; /* busy slots */
    bool failed, closing;
    int open_handles;
    uint64_t started; /* fsyncs started, to order the slots */
    uint64_t covered; /* what the last fsync started covers */
    uint64_t batch;   /* records the last fsync started covers */
    uint64_t synced;
    waiter_t *q;
    size_t head, n, cap;
    kb_commit_fail_cb on_fail;
    void *fail_arg;
    kb_commit_durable_fn on_durable;
    void *durable_ctx;
    kb_commit_stats_t stats;
    /* "always": records appended but not yet written, the last pending
     * bytes of the journal (j->size and j->last_seq count them). */
    uint8_t *buf;
    size_t pending, bufcap;
    uint64_t reserved;   /* the file is this long: zeros from its records' end */
    uint64_t size_limit; /* RLIMIT_FSIZE when made */
};

/* Under "always" the journal file is made longer ahead of its records in
 * steps of this size, by writing zeros; the records then overwrite them.
 * An fdatasync of data written over blocks the file already has, within
 * its size, flushes the data alone: on ext4 that spares each batch a
 * journal commit for the new size and block map (fallocate'd space, the
 * former way, still needs one to mark its blocks written). Measured on
 * this machine's disk: 0.46-0.62 ms per fdatasync of ~10 KB against
 * 0.88-1.02 ms (bench/README.md). Recovery reads the zeros as the clean
 * end of the journal (journal.h). */
#define RESERVE_STEP (4u << 20)

static void work_cb(uv_work_t *w) {
    slot_t *s = w->data;
    s->rc = kb_journal_sync(s->fd);
    s->err = errno;
}

static void maybe_free(kb_commit_t *c) {
    if (c->closing && c->inflight == 0 && c->open_handles == 0) {
        kb_journal_close(&c->journal);
        free(c->q);
        free(c->buf);
        free(c);
    }
}

static void tell_durable(kb_commit_t *c) {
    if (c->on_durable && c->policy == KB_FSYNC_ALWAYS) c->on_durable(c->durable_ctx, c->synced);
}

/* The answers an fsync releases go out together; so do the access log
 * lines they write (one write(2) for the batch rather than one each). */
static void release(kb_commit_t *c, int status) {
    kb_log_hold();
    while (c->n > 0) {
        waiter_t *w = &c->q[c->head];
        if (status == 0 && w->seq > c->synced) break;
        waiter_t done = *w;
        c->head = (c->head + 1) % c->cap;
        c->n--;
        done.cb(done.arg, status);
    }
    kb_log_release();
}

/* The journal can no longer be trusted to hold what was appended: answer
 * every waiter KB_EIO, refuse appends, tell the owner (who must stop). */
static void fail(kb_commit_t *c, int err) {
    if (c->failed) return;
    c->failed = true;
    c->stats.fsync_failures++;
    release(c, KB_EIO);
    if (c->on_fail) c->on_fail(c->fail_arg, err);
}

/* Writes the pending records with one write. They were applied to the
 * engine already, so a failure here is like a failed fsync: nothing
 * pending is ever acknowledged, and the owner stops (a restart recovers
 * what is on disk). Space reserved ahead (reserve_for) means a full disk
 * is refused at append time instead, before anything is applied. */
static int flush_pending(kb_commit_t *c) {
    if (!c->pending) return c->failed ? KB_EIO : 0;
    kb_journal_t *j = c->j;
    uint64_t at = j->size - c->pending;
    size_t done = 0;
    while (done < c->pending) {
        ssize_t w = pwrite(j->fd, c->buf + done, c->pending - done, (off_t)(at + done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int err = w < 0 ? errno : EIO;
            /* Cut a partial write; if that fails too, recovery cuts it. */
            int cut = ftruncate(j->fd, (off_t)at);
            (void)cut;
            c->reserved = at;
            c->pending = 0;
            fail(c, err);
            errno = err;
            return KB_EIO;
        }
        done += (size_t)w;
    }
    c->pending = 0;
    return 0;
}

/* Makes sure the file is at least end bytes long, zeros after its
 * records: a step ahead at a time, or as far as the disk and the size
 * limit allow when the step does not fit. KB_EIO with errno ENOSPC (or
 * what pwrite said) if not even end fits; the zeros written stay, and the
 * file is as long as they reach. */
static int reserve_for(kb_commit_t *c, uint64_t end) {
    static const uint8_t zeros[64 * 1024];
    if (end <= c->reserved) return 0;
    uint64_t want = end + RESERVE_STEP;
    if (want > c->size_limit) want = c->size_limit;
    while (c->reserved < want) {
        uint64_t n = want - c->reserved;
        if (n > sizeof zeros) n = sizeof zeros;
        ssize_t w = pwrite(c->j->fd, zeros, (size_t)n, (off_t)c->reserved);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = ENOSPC;
            break;
        }
        c->reserved += (uint64_t)w;
    }
    return c->reserved >= end ? 0 : KB_EIO;
}

/* Cuts the zeros after the records written, so that a journal at rest ends
 * at its last record. Recovery would cut them too; this is tidiness. */
static void trim(kb_commit_t *c) {
    uint64_t end = c->j->size - c->pending;
    if (c->policy == KB_FSYNC_ALWAYS && c->reserved > end && ftruncate(c->j->fd, (off_t)end) == 0)
        c->reserved = end;
}

static void start(kb_commit_t *c);

/* The oldest slot in flight, or NULL. */
static slot_t *oldest(kb_commit_t *c) {
    slot_t *o = NULL;
    for (int i = 0; i < SLOTS; i++)
        if (c->slot[i].busy && (!o || c->slot[i].order < o->order)) o = &c->slot[i];
    return o;
}

static void after_work(uv_work_t *w, int status) {
    slot_t *s = w->data;
    kb_commit_t *c = s->c;
    s->done = true;
    s->status = status;
    c->stats.fsyncs++;
    c->stats.fsync_seconds += (double)(uv_hrtime() - s->start_ns) / 1e9;
    /* Handle the returned ones in start order, up to the first still out. */
    slot_t *o;
    while ((o = oldest(c)) && o->done) {
        o->busy = o->done = false;
        c->inflight--;
        if (o->close_fd) {
            close(o->fd);
            o->close_fd = false;
        }
        if (o->status == 0 && o->rc == 0) {
            /* Released before a later slot's failure is handled: these
             * are durable whatever comes after. */
            if (!c->failed && o->target > c->synced) {
                c->synced = o->target;
                release(c, 0);
                tell_durable(c);
            }
        } else {
            fail(c, o->status ? o->status : o->err);
        }
    }
    if (!c->failed && c->n > 0 && !c->closing) start(c);
    maybe_free(c);
}

/* A second fsync would cover fewer records than the one in flight: they
 * wait for it (after_work starts theirs) or for more to come. */
static bool second_waits(const kb_commit_t *c) {
    return c->inflight > 0 && c->j->last_seq - c->covered < c->batch;
}

static void start(kb_commit_t *c) {
    uint64_t last = c->j->last_seq;
    if (c->failed || last <= c->synced || last <= c->covered || c->inflight == SLOTS ||
        second_waits(c))
        return;
    if (flush_pending(c) < 0) return;
    int i = 0;
    while (c->slot[i].busy) i++;
    slot_t *s = &c->slot[i];
    s->c = c;
    s->fd = c->j->sync_fd[i];
    s->target = last;
    s->order = ++c->started;
    s->work.data = s;
    s->start_ns = uv_hrtime();
    if (uv_queue_work(c->loop, &s->work, work_cb, after_work) == 0) {
        s->busy = true;
        c->inflight++;
        c->batch = last - c->covered;
        c->covered = last;
    }
}

/* Once per loop iteration, after its I/O: the iteration's records go to
 * the file in one write, and an fsync starts for those waiting if a slot
 * is free. While every slot is busy, or a second fsync waits for more
 * records (second_waits), the records stay in buf: they wait for the next
 * fsync anyway, and start() writes all the iterations' records since in
 * one write when it begins (one write(2) per fsync rather than per
 * iteration). */
static void check_cb(uv_check_t *h) {
    kb_commit_t *c = h->data;
    if (c->inflight == SLOTS || (c->n > 0 && second_waits(c))) return;
    if (flush_pending(c) == 0 && c->n > 0) start(c);
}

static void timer_cb(uv_timer_t *h) { start(h->data); }

int kb_commit_new(uv_loop_t *loop, const kb_journal_t *j, kb_fsync_t policy,
                  kb_commit_fail_cb on_fail, void *fail_arg, kb_commit_t **out) {
    kb_commit_t *c = calloc(1, sizeof *c);
    if (!c) return KB_ENOMEM;
    c->loop = loop;
    c->journal = *j;
    c->j = &c->journal;
    c->policy = policy;
    c->synced = c->covered = j->last_seq; /* what was in the file at open is on disk */
    c->reserved = j->size;
    struct rlimit rl;
    c->size_limit = getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
                        ? (uint64_t)rl.rlim_cur
                        : UINT64_MAX;
    c->on_fail = on_fail;
    c->fail_arg = fail_arg;
    uv_check_init(loop, &c->check);
    uv_timer_init(loop, &c->timer);
    c->check.data = c->timer.data = c;
    c->open_handles = 2;
    uv_check_start(&c->check, check_cb);
    if (policy == KB_FSYNC_EVERYSEC) uv_timer_start(&c->timer, timer_cb, 1000, 1000);
    /* Neither keeps the loop alive on its own. */
    uv_unref((uv_handle_t *)&c->check);
    uv_unref((uv_handle_t *)&c->timer);
    *out = c;
    return 0;
}

uint64_t kb_commit_written(const kb_commit_t *c) { return c->j->last_seq; }

const kb_journal_t *kb_commit_journal(const kb_commit_t *c) { return c->j; }

/* Under "always" a record is kept in buf until the iteration's end
 * (check_cb): a write's answer waits for the fsync anyway, and one
 * write(2) per iteration instead of one per record is a large part of an
 * upsert's cost. Everything that can refuse a record is decided here,
 * before the engine applies it: the size limit, and room on the disk
 * (zeros written ahead, reserve_for). Under "everysec" and "no" an answer
 * goes out at once, so the record must be in the file first. */
static int append_pending(kb_commit_t *c, uint32_t kind, const void *payload, uint32_t len) {
    kb_journal_t *j = c->j;
    size_t rec = KB_JREC_HEADER + (size_t)len;
    uint64_t end = j->size + rec;
    if (end > c->size_limit) {
        errno = EFBIG;
        return KB_EIO;
    }
    if (reserve_for(c, end) < 0) return KB_EIO;
    if (c->pending + rec > c->bufcap) {
        size_t cap = c->bufcap ? c->bufcap : 65536;
        while (cap < c->pending + rec) cap *= 2;
        uint8_t *grown = realloc(c->buf, cap);
        if (!grown) return KB_ENOMEM;
        c->buf = grown;
        c->bufcap = cap;
    }
    uint8_t *at = c->buf + c->pending;
    kb_journal_encode(at, kind, j->last_seq + 1, payload, len);
    if (len) memcpy(at + KB_JREC_HEADER, payload, len);
    c->pending += rec;
    j->size = end;
    j->last_seq++;
    return 0;
}

int kb_commit_append(kb_commit_t *c, uint32_t kind, const void *payload, uint32_t len) {
    if (c->failed) {
        errno = EIO;
        return KB_EIO;
    }
    if (len > KB_JREC_MAX) return KB_EINVAL;
    int rc;
    if (c->policy == KB_FSYNC_ALWAYS) {
        if ((rc = append_pending(c, kind, payload, len)) < 0) return rc;
    } else {
        uint64_t seq;
        if ((rc = kb_journal_append(c->j, kind, payload, len, &seq)) < 0) return rc;
    }
    c->stats.records++;
    /* Under "everysec" and "no" a record counts as durable once written. */
    if (c->policy != KB_FSYNC_ALWAYS && c->on_durable)
        c->on_durable(c->durable_ctx, c->j->last_seq);
    return 0;
}

void kb_commit_on_durable(kb_commit_t *c, kb_commit_durable_fn fn, void *ctx) {
    c->on_durable = fn;
    c->durable_ctx = ctx;
}

int kb_commit_wait(kb_commit_t *c, uint64_t seq, kb_commit_cb cb, void *arg) {
    if (c->failed) {
        cb(arg, KB_EIO);
        return 0;
    }
    if (c->policy != KB_FSYNC_ALWAYS || seq <= c->synced) {
        cb(arg, 0);
        return 0;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        waiter_t *q = malloc(cap * sizeof *q);
        if (!q) return KB_ENOMEM;
        for (size_t i = 0; i < c->n; i++) q[i] = c->q[(c->head + i) % c->cap];
        free(c->q);
        c->q = q;
        c->cap = cap;
        c->head = 0;
    }
    c->q[(c->head + c->n) % c->cap] = (waiter_t){seq, cb, arg};
    c->n++;
    return 0;
}

int kb_commit_flush(kb_commit_t *c) {
    if (c->failed) return 0;
    int rc = flush_pending(c);
    if (rc < 0) return rc;
    if (c->policy == KB_FSYNC_NO || c->j->last_seq <= c->synced) return 0;
    uint64_t t0 = uv_hrtime();
    rc = kb_journal_sync(c->j->fd);
    c->stats.fsyncs++;
    c->stats.fsync_seconds += (double)(uv_hrtime() - t0) / 1e9;
    if (rc < 0) {
        int err = errno;
        fail(c, err);
        errno = err;
        return rc;
    }
    c->synced = c->j->last_seq;
    release(c, 0);
    tell_durable(c);
    return 0;
}

int kb_commit_switch(kb_commit_t *c, const kb_journal_t *next) {
    int rc = kb_commit_flush(c);
    if (rc < 0) return rc;
    trim(c);
    /* An fsync still running on the old file keeps its description until
     * it returns; the rest close now. */
    close(c->j->fd);
    for (int i = 0; i < SLOTS; i++) {
        if (c->slot[i].busy) c->slot[i].close_fd = true;
        else close(c->j->sync_fd[i]);
    }
    *c->j = *next;
    c->reserved = next->size;
    return 0;
}

void kb_commit_stats(const kb_commit_t *c, kb_commit_stats_t *out) {
    *out = c->stats;
    out->waiting = c->n;
}

static void on_closed(uv_handle_t *h) {
    kb_commit_t *c = h->data;
    c->open_handles--;
    maybe_free(c);
}

void kb_commit_close(kb_commit_t *c) {
    if (!c->failed) trim(c);
    c->closing = true;
    release(c, KB_EIO);
    uv_close((uv_handle_t *)&c->check, on_closed);
    uv_close((uv_handle_t *)&c->timer, on_closed);
}
