/* durable.c — see durable.h. */
#include "durable.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "journal.h"
#include "log.h"
#include "scratch.h"
#include "snapshot.h"
#include "store.h"

struct kb_durable {
    uv_loop_t *loop;
    kb_engine_t *engine;
    char dir[1024];
    uint64_t snapshot_bytes;
    kb_commit_t *commit;
    uv_timer_t kick; /* starts a snapshot between requests, never inside a write */
    uv_signal_t sigchld;
    int open_handles;
    pid_t child; /* the snapshot being written, or 0 */
    uint64_t child_seq, child_start_ns;
    kb_durable_stats_t stats;
    /* events */
    bool events_on;
    char prefix[64];
    kb_outbox_t outbox;
    uint64_t event_seq; /* the journal record whose write is being applied */
    kb_durable_listener_t listener;
    kb_fsync_t fsync;
    kb_journal_t journal; /* recovered, until kb_durable_attach hands it to the commit */
};

/* ---- files ---- */

typedef struct seqs {
    uint64_t *v;
    size_t n, cap;
} seqs_t;

static int seqs_add(seqs_t *s, uint64_t x) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        uint64_t *v = realloc(s->v, cap * sizeof *v);
        if (!v) return KB_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    return 0;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void file_path(const kb_durable_t *d, const char *kind, uint64_t seq, char *out,
                      size_t cap) {
    snprintf(out, cap, "%s/%s-%020" PRIu64 ".%s", d->dir, kind, seq,
             kind[0] == 's' ? "kbs" : "kbj");
}

/* "<kind>-<20 digits>.<ext>" exactly; *seq gets the number. */
static bool parse_name(const char *name, const char *kind, const char *ext, uint64_t *seq) {
    size_t k = strlen(kind);
    if (strlen(name) != k + 1 + 20 + 1 + strlen(ext) || strncmp(name, kind, k) || name[k] != '-' ||
        name[k + 21] != '.' || strcmp(name + k + 22, ext))
        return false;
    uint64_t v = 0;
    for (size_t i = k + 1; i < k + 21; i++) {
        if (name[i] < '0' || name[i] > '9') return false;
        v = v * 10 + (uint64_t)(name[i] - '0');
    }
    *seq = v;
    return true;
}

/* Snapshots and journals in the directory, each sorted; removes the
 * temporary files of snapshots that never finished. */
static int list_files(const kb_durable_t *d, seqs_t *snaps, seqs_t *journals) {
    DIR *dir = opendir(d->dir);
    if (!dir) return KB_EIO;
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(dir))) {
        uint64_t seq;
        size_t len = strlen(de->d_name);
        if (parse_name(de->d_name, "snapshot", "kbs", &seq)) {
            rc = seqs_add(snaps, seq);
        } else if (parse_name(de->d_name, "journal", "kbj", &seq)) {
            rc = seqs_add(journals, seq);
        } else if (len > 8 && !strncmp(de->d_name, "snapshot-", 9) &&
                   !strcmp(de->d_name + len - 4, ".tmp")) {
            char path[2048];
            snprintf(path, sizeof path, "%s/%s", d->dir, de->d_name);
            unlink(path);
        }
    }
    closedir(dir);
    if (snaps->n > 1) qsort(snaps->v, snaps->n, sizeof *snaps->v, cmp_u64);
    if (journals->n > 1) qsort(journals->v, journals->n, sizeof *journals->v, cmp_u64);
    return rc;
}

/* Keeps the newest snapshot, the one before it and the journals after
 * that one; removes the rest. */
static void remove_old_files(kb_durable_t *d) {
    seqs_t snaps = {0}, journals = {0};
    if (list_files(d, &snaps, &journals) == 0 && snaps.n >= 2) {
        uint64_t keep_from = snaps.v[snaps.n - 2];
        char path[2048];
        int removed = 0;
        for (size_t i = 0; i + 2 < snaps.n; i++) {
            file_path(d, "snapshot", snaps.v[i], path, sizeof path);
            removed += unlink(path) == 0;
        }
        /* journal i holds records below the next one's first: all of them
         * are in the snapshot kept when that first is <= keep_from + 1. */
        for (size_t i = 0; i + 1 < journals.n; i++) {
            if (journals.v[i + 1] > keep_from + 1) break;
            file_path(d, "journal", journals.v[i], path, sizeof path);
            removed += unlink(path) == 0;
        }
        if (removed) kb_log(KB_LOG_INFO, "files_removed", "count=%d", removed);
    }
    free(snaps.v);
    free(journals.v);
}

/* ---- writes ---- */

static void kick_cb(uv_timer_t *h) { kb_durable_snapshot(h->data); }

/* The engine's journal hook: one record per write, appended now. */
static int journal_op(void *ctx, const char *op, size_t len) {
    kb_durable_t *d = ctx;
    int rc =
        len > KB_JREC_MAX ? KB_EINVAL : kb_commit_append(d->commit, KB_JREC_OP, op, (uint32_t)len);
    if (rc < 0) kb_log(KB_LOG_ERROR, "journal_append", "error=\"%s\"", strerror(errno));
    d->event_seq = kb_commit_written(d->commit);
    if (rc == 0 && d->snapshot_bytes && !d->child &&
        kb_commit_journal(d->commit)->size > d->snapshot_bytes)
        uv_timer_start(&d->kick, kick_cb, 0, 0);
    return rc;
}

/* ---- events ---- */

static void on_event(void *ctx, const char *stream, const char *event, int64_t ts,
                     const json_t *data) {
    kb_durable_t *d = ctx;
    char key[sizeof d->prefix + KB_ID_MAX + 16]; /* prefix + "org:<id>:needs" */
    snprintf(key, sizeof key, "%s%s", d->prefix, stream);
    char *text = json_dumps(data, JSON_COMPACT | JSON_REAL_PRECISION(15));
    if (!text || kb_outbox_push(&d->outbox, d->event_seq, key, event, ts, text) < 0)
        kb_log(KB_LOG_ERROR, "event_lost", "event=%s seq=%" PRIu64 " error=\"out of memory\"",
               event, d->event_seq);
    free(text);
    if (d->listener.events) d->listener.events(d->listener.ctx);
}

kb_outbox_t *kb_durable_outbox(kb_durable_t *d) { return d->events_on ? &d->outbox : NULL; }

static void forward_durable(void *ctx, uint64_t seq) {
    kb_durable_t *d = ctx;
    if (d->listener.durable) d->listener.durable(d->listener.ctx, seq);
}

void kb_durable_listen(kb_durable_t *d, const kb_durable_listener_t *l) {
    d->listener = *l;
    kb_commit_on_durable(d->commit, forward_durable, d);
}

void kb_durable_ack(kb_durable_t *d, kb_event_id_t id) {
    char text[64];
    int n = snprintf(text, sizeof text, "{\"seq\":%" PRIu64 ",\"n\":%" PRIu32 "}", id.seq, id.n);
    if (kb_commit_append(d->commit, KB_JREC_ACK, text, (uint32_t)n) < 0)
        kb_log(KB_LOG_WARN, "ack_not_journaled", "error=\"%s\"", strerror(errno));
}

/* The outbox in a snapshot: the mark, then every waiting event. */
static int dump_own(void *ctx, kb_engine_dump_fn emit, void *emit_ctx) {
    kb_durable_t *d = ctx;
    if (!d->events_on) return 0;
    const kb_outbox_t *o = &d->outbox;
    json_t *rec = json_pack("{s:s, s:I, s:I}", "kind", "confirmed", "seq",
                            (json_int_t)o->confirmed.seq, "n", (json_int_t)o->confirmed.n);
    int rc = rec ? emit(emit_ctx, rec) : KB_ENOMEM;
    json_decref(rec);
    const kb_event_t *e;
    for (size_t i = 0; rc == 0 && (e = kb_outbox_at(o, i)); i++) {
        rec = json_pack("{s:s, s:I, s:I, s:I, s:s, s:s, s:s}", "kind", "event", "seq",
                        (json_int_t)e->id.seq, "n", (json_int_t)e->id.n, "ts", (json_int_t)e->ts,
                        "stream", e->stream, "event", e->event, "data", e->data);
        rc = rec ? emit(emit_ctx, rec) : KB_ENOMEM;
        json_decref(rec);
    }
    return rc;
}

static int restore_own(void *ctx, const json_t *rec) {
    kb_durable_t *d = ctx;
    const char *kind = json_string_value(json_object_get(rec, "kind"));
    json_t *seq = json_object_get(rec, "seq"), *n = json_object_get(rec, "n");
    if (!kind || !json_is_integer(seq) || !json_is_integer(n)) return KB_ECORRUPT;
    kb_event_id_t id = {(uint64_t)json_integer_value(seq), (uint32_t)json_integer_value(n)};
    if (!d->events_on) return 0; /* kept only when publishing */
    if (!strcmp(kind, "confirmed")) {
        kb_outbox_confirm_upto(&d->outbox, id);
        return 0;
    }
    const char *stream = json_string_value(json_object_get(rec, "stream"));
    const char *event = json_string_value(json_object_get(rec, "event"));
    const char *data = json_string_value(json_object_get(rec, "data"));
    json_t *ts = json_object_get(rec, "ts");
    if (strcmp(kind, "event") || !stream || !event || !data || !json_is_integer(ts))
        return KB_ECORRUPT;
    return kb_outbox_push_id(&d->outbox, id, stream, event, json_integer_value(ts), data);
}

/* ---- recovery ---- */

typedef struct replay {
    kb_durable_t *d;
    kb_engine_t *engine;
    kb_scratch_t scratch; /* each record's JSON tree (scratch.h) */
    uint64_t last;        /* last record applied (or in the snapshot) */
    uint64_t applied;
    kb_fault_t fault;
} replay_t;

static int replay_record(void *ctx, const kb_jrec_t *rec) {
    replay_t *r = ctx;
    if (rec->seq != r->last + 1)
        return kb_fault(&r->fault, KB_ECORRUPT, 500, "journal_gap", NULL,
                        "records %" PRIu64 "..%" PRIu64 " are missing", r->last + 1, rec->seq - 1);
    /* The record's tree lives in the scratch: what the engine keeps, it
     * copies (as for a PUT, kb_engine_put_text), and what it makes while
     * applying (events) comes from malloc, after the pause. */
    kb_scratch_begin(&r->scratch);
    json_t *v = json_loadb((const char *)rec->payload, rec->len, 0, NULL);
    kb_scratch_pause();
    int rc = 0;
    if (v && rec->kind == KB_JREC_OP) {
        r->d->event_seq = rec->seq;
        rc = kb_engine_apply(r->engine, v, &r->fault);
    } else if (v && rec->kind == KB_JREC_ACK) {
        json_t *seq = json_object_get(v, "seq"), *n = json_object_get(v, "n");
        if (!json_is_integer(seq) || !json_is_integer(n))
            rc = kb_fault(&r->fault, KB_ECORRUPT, 500, "bad_journal_record", NULL,
                          "record %" PRIu64 " is not an ack", rec->seq);
        else if (r->d->events_on)
            kb_outbox_confirm_upto(&r->d->outbox, (kb_event_id_t){(uint64_t)json_integer_value(seq),
                                                                  (uint32_t)json_integer_value(n)});
    } else {
        rc = kb_fault(&r->fault, KB_ECORRUPT, 500, "bad_journal_record", NULL,
                      "record %" PRIu64 " is not a JSON write", rec->seq);
    }
    kb_scratch_decref(v);
    kb_scratch_end();
    if (rc < 0) return rc;
    r->last = rec->seq;
    r->applied++;
    return 0;
}

/* Loads the newest whole snapshot into a new engine (*e), or starts
 * empty when there is none. *base is the snapshot's journal sequence. */
static int load_snapshot(kb_durable_t *d, const seqs_t *snaps, const seqs_t *journals,
                         const kb_engine_opts_t *eo, kb_engine_t **e, uint64_t *base) {
    char path[2048];
    for (size_t i = snaps->n; i-- > 0;) {
        int rc = kb_engine_new(eo, e);
        if (rc < 0) return rc;
        file_path(d, "snapshot", snaps->v[i], path, sizeof path);
        kb_fault_t f;
        kb_snapshot_info_t info;
        uint64_t t0 = uv_hrtime();
        rc = kb_snapshot_load(*e, path, base, restore_own, d, &info, &f);
        if (rc == 0) {
            kb_log(KB_LOG_INFO, "snapshot_loaded", "file=\"%s\" records=%" PRIu64 " ms=%.1f", path,
                   info.records, (double)(uv_hrtime() - t0) / 1e6);
            d->stats.snapshot_seq = *base;
            return 0;
        }
        kb_log(KB_LOG_ERROR, "snapshot_damaged", "file=\"%s\" error=\"%s\" action=%s", path,
               f.message, i > 0 ? "using_previous" : "none_left");
        kb_engine_free(*e);
        *e = NULL;
        kb_outbox_free(&d->outbox); /* what the damaged file gave */
        kb_outbox_init(&d->outbox);
    }
    /* No whole snapshot: only journals reaching back to record 1 can
     * rebuild the state. */
    if (snaps->n > 0 && (journals->n == 0 || journals->v[0] != 1)) {
        kb_log(KB_LOG_ERROR, "recovery",
               "dir=\"%s\" error=\"no whole snapshot, and the journals "
               "do not reach back to the first record\"",
               d->dir);
        return KB_ECORRUPT;
    }
    *base = 0;
    return kb_engine_new(eo, e);
}

/* Replays the journals after base; the last stays open in *j. */
static int replay_journals(kb_durable_t *d, const seqs_t *journals, replay_t *r, kb_journal_t *j) {
    char path[2048];
    size_t first = 0;
    /* Start at the last journal that begins at or before base + 1. */
    for (size_t i = 0; i < journals->n; i++)
        if (journals->v[i] <= r->last + 1) first = i;
    kb_journal_none(j);
    for (size_t i = first; i < journals->n; i++) {
        file_path(d, "journal", journals->v[i], path, sizeof path);
        if (journals->v[i] > r->last + 1) {
            kb_fault_set(&r->fault, 500, "journal_gap", NULL,
                         "records %" PRIu64 "..%" PRIu64 " are missing", r->last + 1,
                         journals->v[i] - 1);
            kb_log(KB_LOG_ERROR, "recovery", "file=\"%s\" error=\"%s\"", path, r->fault.message);
            return KB_ECORRUPT;
        }
        kb_journal_scan_t scan;
        int rc = kb_journal_open(j, path, r->last, replay_record, r, &scan);
        if (rc < 0) {
            kb_log(KB_LOG_ERROR, "recovery", "file=\"%s\" error=\"%s\"", path,
                   rc == KB_EIO          ? strerror(errno)
                   : r->fault.message[0] ? r->fault.message
                                         : kb_strerror(rc));
            return rc;
        }
        if (scan.cut_bytes)
            kb_log(KB_LOG_WARN, "journal_tail_cut", "file=\"%s\" bytes=%" PRIu64, path,
                   scan.cut_bytes);
        if (i + 1 < journals->n) kb_journal_close(j);
    }
    /* Append to the last journal only if it goes on from the state; a
     * journal whose records all lie in the snapshot is left as it is. */
    if (j->fd >= 0 && j->last_seq != r->last) kb_journal_close(j);
    if (j->fd < 0) {
        file_path(d, "journal", r->last + 1, path, sizeof path);
        int rc = kb_journal_open(j, path, r->last, NULL, NULL, NULL);
        if (rc < 0) {
            kb_log(KB_LOG_ERROR, "recovery", "file=\"%s\" error=\"%s\"", path, strerror(errno));
            return rc;
        }
    }
    return 0;
}

int kb_durable_recover(const kb_durable_opts_t *o, const kb_engine_opts_t *eo, kb_durable_t **out,
                       kb_engine_t **engine) {
    kb_durable_t *d = calloc(1, sizeof *d);
    if (!d) return KB_ENOMEM;
    d->snapshot_bytes = o->snapshot_bytes;
    d->fsync = o->fsync;
    kb_journal_none(&d->journal);
    kb_outbox_init(&d->outbox);
    if (o->stream_prefix) {
        d->events_on = true;
        snprintf(d->prefix, sizeof d->prefix, "%s", o->stream_prefix);
    }
    snprintf(d->dir, sizeof d->dir, "%s", o->dir);
    seqs_t snaps = {0}, journals = {0};
    kb_engine_t *e = NULL;
    replay_t r = {0};
    kb_scratch_init(&r.scratch);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = 0;
    if (mkdir(d->dir, 0700) < 0 && errno != EEXIST) {
        kb_log(KB_LOG_ERROR, "recovery", "dir=\"%s\" error=\"%s\"", d->dir, strerror(errno));
        rc = KB_EIO;
        goto fail;
    }
    if ((rc = list_files(d, &snaps, &journals)) < 0) {
        kb_log(KB_LOG_ERROR, "recovery", "dir=\"%s\" error=\"%s\"", d->dir, strerror(errno));
        goto fail;
    }
    if ((rc = load_snapshot(d, &snaps, &journals, eo, &e, &r.last)) < 0) goto fail;
    r.engine = e;
    r.d = d;
    if (d->events_on) kb_engine_set_events(e, on_event, d);
    if ((rc = replay_journals(d, &journals, &r, &d->journal)) < 0) goto fail;
    d->engine = e;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    kb_log(KB_LOG_INFO, "recovered", "records=%" PRIu64 " last_seq=%" PRIu64 " ms=%.1f", r.applied,
           r.last, (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    kb_scratch_free(&r.scratch);
    free(snaps.v);
    free(journals.v);
    *out = d;
    *engine = e;
    return 0;
fail:
    kb_scratch_free(&r.scratch);
    kb_journal_close(&d->journal);
    kb_engine_free(e);
    free(snaps.v);
    free(journals.v);
    kb_outbox_free(&d->outbox);
    free(d);
    return rc < 0 ? rc : KB_EIO;
}

int kb_durable_attach(kb_durable_t *d, uv_loop_t *loop, kb_commit_fail_cb on_fail) {
    int rc = kb_commit_new(loop, &d->journal, d->fsync, on_fail, NULL, &d->commit);
    if (rc < 0) return rc;
    kb_journal_none(&d->journal); /* the commit owns its descriptors now */
    d->loop = loop;
    kb_engine_set_journal(d->engine, journal_op, d);
    uv_timer_init(loop, &d->kick);
    uv_signal_init(loop, &d->sigchld);
    d->kick.data = d->sigchld.data = d;
    d->open_handles = 2;
    return 0;
}

void kb_durable_discard(kb_durable_t *d) {
    kb_journal_close(&d->journal);
    kb_outbox_free(&d->outbox);
    free(d);
}

kb_commit_t *kb_durable_commit(const kb_durable_t *d) { return d->commit; }

/* ---- snapshots ---- */

/* Starts journal seq + 1 and makes appends go there. */
static int switch_journal(kb_durable_t *d, uint64_t seq) {
    char path[2048];
    file_path(d, "journal", seq + 1, path, sizeof path);
    kb_journal_t next;
    int rc = kb_journal_open(&next, path, seq, NULL, NULL, NULL);
    if (rc == 0 && (rc = kb_commit_switch(d->commit, &next)) < 0) {
        kb_journal_close(&next);
        unlink(path);
    }
    if (rc < 0)
        kb_log(KB_LOG_ERROR, "journal_switch", "file=\"%s\" error=\"%s\"", path, strerror(errno));
    return rc;
}

static void snapshot_done(kb_durable_t *d, uint64_t seq, uint64_t bytes, uint64_t start_ns) {
    d->stats.snapshots++;
    d->stats.snapshot_seq = seq;
    d->stats.last_snapshot_seconds = (double)(uv_hrtime() - start_ns) / 1e9;
    d->stats.last_snapshot_bytes = bytes;
    kb_log(KB_LOG_INFO, "snapshot", "seq=%" PRIu64 " bytes=%" PRIu64 " ms=%.1f", seq, bytes,
           d->stats.last_snapshot_seconds * 1e3);
    remove_old_files(d);
}

static void on_sigchld(uv_signal_t *h, int signum) {
    (void)signum;
    kb_durable_t *d = h->data;
    int st;
    if (d->child <= 0 || waitpid(d->child, &st, WNOHANG) != d->child) return;
    d->child = 0;
    uv_signal_stop(&d->sigchld);
    char path[2048];
    file_path(d, "snapshot", d->child_seq, path, sizeof path);
    struct stat sb;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && stat(path, &sb) == 0) {
        snapshot_done(d, d->child_seq, (uint64_t)sb.st_size, d->child_start_ns);
    } else {
        d->stats.snapshot_failures++;
        kb_log(KB_LOG_ERROR, "snapshot_failed", "seq=%" PRIu64 " status=%d", d->child_seq, st);
    }
    /* The journal may have passed the size again meanwhile. */
    if (d->snapshot_bytes && kb_commit_journal(d->commit)->size > d->snapshot_bytes)
        uv_timer_start(&d->kick, kick_cb, 0, 0);
}

int kb_durable_snapshot(kb_durable_t *d) {
    uint64_t seq = kb_commit_written(d->commit);
    if (d->child || seq == d->stats.snapshot_seq) return 0;
    int rc = switch_journal(d, seq);
    if (rc < 0) return rc;
    uv_signal_start(&d->sigchld, on_sigchld, SIGCHLD);
    uint64_t start_ns = uv_hrtime();
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) {
        d->stats.snapshot_failures++;
        kb_log(KB_LOG_ERROR, "snapshot_failed", "error=\"fork: %s\"", strerror(errno));
        return KB_EIO;
    }
    if (pid == 0) {
        /* The child: the state as it was at the fork, written and gone.
         * It touches nothing of the loop's, and dies with its parent: a
         * writer outliving a crash would race the next kobled's files. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        /* libuv's handlers would pass a signal to the child on to the
         * parent's loop (they share its pipe): a SIGTERM to the whole group
         * must stop the child, not count as the parent's second one. */
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        char path[2048];
        file_path(d, "snapshot", seq, path, sizeof path);
        int wrc = kb_snapshot_write(d->engine, path, seq, dump_own, d, NULL);
        if (wrc < 0) kb_log(KB_LOG_ERROR, "snapshot_write", "error=\"%s\"", strerror(errno));
        _exit(wrc == 0 ? 0 : 1);
    }
    d->child = pid;
    d->child_seq = seq;
    d->child_start_ns = start_ns;
    return 0;
}

void kb_durable_stats(const kb_durable_t *d, kb_durable_stats_t *out) {
    *out = d->stats;
    const kb_journal_t *j = kb_commit_journal(d->commit);
    out->journal_bytes = j->size;
    out->last_seq = j->last_seq;
    out->snapshot_running = d->child != 0;
}

static void on_closed(uv_handle_t *h) {
    kb_durable_t *d = h->data;
    if (--d->open_handles) return;
    kb_outbox_free(&d->outbox);
    free(d);
}

int kb_durable_close(kb_durable_t *d) {
    int rc = 0;
    if (d->child) {
        /* The snapshot written below supersedes the one in progress. */
        kill(d->child, SIGKILL);
        waitpid(d->child, NULL, 0);
        d->child = 0;
        char path[2048], tmp[2100];
        file_path(d, "snapshot", d->child_seq, path, sizeof path);
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        unlink(tmp);
    }
    kb_engine_set_journal(d->engine, NULL, NULL);
    uint64_t seq = kb_commit_written(d->commit);
    if (seq != d->stats.snapshot_seq && (rc = switch_journal(d, seq)) == 0) {
        char path[2048];
        file_path(d, "snapshot", seq, path, sizeof path);
        kb_snapshot_info_t info;
        uint64_t t0 = uv_hrtime();
        rc = kb_snapshot_write(d->engine, path, seq, dump_own, d, &info);
        if (rc == 0) snapshot_done(d, seq, info.bytes, t0);
        else
            kb_log(KB_LOG_ERROR, "snapshot_failed", "seq=%" PRIu64 " error=\"%s\"", seq,
                   strerror(errno));
    }
    kb_commit_close(d->commit);
    uv_close((uv_handle_t *)&d->kick, on_closed);
    uv_close((uv_handle_t *)&d->sigchld, on_closed);
    return rc;
}
