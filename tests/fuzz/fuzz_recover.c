/* fuzz_recover.c — recovery from a data directory: snapshot loading
 * (framing, JSON and binary records, the outbox's own records), journal
 * decoding, op replay and the cut of a damaged tail (journal.c, snapshot.c,
 * dump.c, oplog.c, durable.c).
 *
 * Records carry a checksum, so random bytes would almost never get past
 * the framing. Instead an input is a list of chunks separated by
 * RECOVER_SEP; a chunk's first byte says what the rest is:
 *
 *   2, 3, 5, 6   a snapshot record of that kind (journal.h), framed and
 *                numbered here, in order from 1
 *   0            raw bytes appended to the journal file as they are
 *   255          raw bytes appended to the snapshot file as they are
 *   other        a journal record of that kind (1 an op, 4 an ack),
 *                framed and numbered from the snapshot's journal_seq + 1
 *
 * The files are written as snapshot-<S>.kbs and journal-<S+1>.kbj into a
 * directory of this process's own under /tmp and recovered with
 * kb_durable_recover, events on. A state that recovers must survive a
 * snapshot round trip (fz_check_roundtrip). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "fuzz.h"
#include "journal.h"

#define RECOVER_SEP     "\0KB\0"
#define RECOVER_SEP_LEN 4

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
    int err;
} buf_t;

static void buf_add(buf_t *b, const void *p, size_t n) {
    if (b->err || n == 0) return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        uint8_t *q = realloc(b->p, cap);
        if (!q) {
            b->err = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

typedef struct recover_run {
    buf_t snap, journal;
    bool has_snap;
    uint64_t snap_seq, journal_seq; /* records framed so far */
    uint64_t base;                  /* the snapshot's journal_seq */
    /* journal chunks wait until the snapshot's end tells where they start */
    struct {
        const uint8_t *p;
        size_t len;
    } jchunks[64];
    size_t njchunks;
} recover_run_t;

static void frame(buf_t *b, uint32_t kind, uint64_t seq, const uint8_t *p, size_t len) {
    uint8_t head[KB_JREC_HEADER];
    kb_journal_encode(head, kind, seq, p, (uint32_t)len);
    buf_add(b, head, sizeof head);
    buf_add(b, p, len);
}

static void recover_chunk(void *ctx, const uint8_t *p, size_t len) {
    recover_run_t *r = ctx;
    if (len == 0) return;
    uint8_t kind = p[0];
    p++;
    len--;
    if (kind == KB_JREC_SNAP || kind == KB_JREC_SNAP_END || kind == KB_JREC_SNAP_OWN ||
        kind == KB_JREC_SNAP_CAND) {
        r->has_snap = true;
        frame(&r->snap, kind, ++r->snap_seq, p, len);
        if (kind == KB_JREC_SNAP_END) {
            json_t *end = json_loadb((const char *)p, len, 0, NULL);
            json_t *seq = json_object_get(end, "journal_seq");
            if (json_is_integer(seq) && json_integer_value(seq) >= 0 &&
                json_integer_value(seq) < (1LL << 40))
                r->base = (uint64_t)json_integer_value(seq);
            json_decref(end);
        }
    } else if (kind == 255) {
        r->has_snap = true;
        buf_add(&r->snap, p, len);
    } else if (r->njchunks < sizeof r->jchunks / sizeof *r->jchunks) {
        r->jchunks[r->njchunks].p = p - 1;
        r->jchunks[r->njchunks++].len = len + 1;
    }
}

static int write_file(const char *path, const buf_t *b, const char *magic) {
    uint8_t head[KB_JOURNAL_HEADER];
    kb_journal_file_header(head, magic);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return -1;
    bool ok = write(fd, head, sizeof head) == (ssize_t)sizeof head &&
              (b->len == 0 || write(fd, b->p, b->len) == (ssize_t)b->len);
    close(fd);
    return ok ? 0 : -1;
}

static void empty_dir(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *ent;
    char path[512];
    while (d && (ent = readdir(d))) {
        if (ent->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, ent->d_name);
        unlink(path);
    }
    if (d) closedir(d);
}

static char recover_dir[64];

static void remove_recover_dir(void) {
    empty_dir(recover_dir);
    rmdir(recover_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    /* Recovery logs the damage it finds as errors; tests/fuzz/run.sh
     * closes the targets' stderr (libFuzzer keeps its own and the
     * sanitizers' reports). */
    fz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!recover_dir[0]) {
        snprintf(recover_dir, sizeof recover_dir, "/tmp/koble-fuzz-recover-%d", (int)getpid());
        mkdir(recover_dir, 0700);
        atexit(remove_recover_dir);
    }
    recover_run_t r = {0};
    fz_split(data, size, RECOVER_SEP, RECOVER_SEP_LEN, 256, recover_chunk, &r);
    for (size_t i = 0; i < r.njchunks; i++) {
        const uint8_t *p = r.jchunks[i].p;
        if (p[0] == 0) buf_add(&r.journal, p + 1, r.jchunks[i].len - 1);
        else frame(&r.journal, p[0], r.base + ++r.journal_seq, p + 1, r.jchunks[i].len - 1);
    }
    char path[512];
    int rc = r.snap.err || r.journal.err ? -1 : 0;
    if (rc == 0 && r.has_snap) {
        snprintf(path, sizeof path, "%s/snapshot-%020llu.kbs", recover_dir,
                 (unsigned long long)r.base);
        rc = write_file(path, &r.snap, KB_SNAPSHOT_MAGIC);
    }
    if (rc == 0 && (r.njchunks || !r.has_snap)) {
        snprintf(path, sizeof path, "%s/journal-%020llu.kbj", recover_dir,
                 (unsigned long long)r.base + 1);
        rc = write_file(path, &r.journal, KB_JOURNAL_MAGIC);
    }
    free(r.snap.p);
    free(r.journal.p);
    if (rc == 0) {
        kb_durable_opts_t o = {.dir = recover_dir, .fsync = KB_FSYNC_NO, .stream_prefix = "koble:"};
        kb_durable_t *d = NULL;
        kb_engine_t *e = NULL;
        if (kb_durable_recover(&o, NULL, &d, &e) == 0) {
            fz_check_roundtrip(e);
            kb_durable_discard(d);
            kb_engine_free(e);
        }
    }
    empty_dir(recover_dir);
    return 0;
}
