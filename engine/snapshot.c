/* snapshot.c — see snapshot.h. */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"

/* Records are gathered in a buffer and written in large pieces. */
#define BUF_SIZE (1u << 20)

typedef struct writer {
    int fd;
    uint8_t *buf;
    size_t len;
    uint64_t records, bytes;
} writer_t;

static int write_all(int fd, const void *p, size_t n) {
    size_t off = 0;
    while (off < n) {
        ssize_t k = write(fd, (const char *)p + off, n - off);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return KB_EIO;
        off += (size_t)k;
    }
    return 0;
}

static int flush(writer_t *w) {
    int rc = write_all(w->fd, w->buf, w->len);
    w->bytes += w->len;
    w->len = 0;
    return rc;
}

static int put_bytes(writer_t *w, const void *p, size_t n) {
    if (w->len + n > BUF_SIZE) {
        int rc = flush(w);
        if (rc < 0) return rc;
        if (n > BUF_SIZE) { /* a record larger than the buffer goes straight out */
            w->bytes += n;
            return write_all(w->fd, p, n);
        }
    }
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    return 0;
}

static int put_record(writer_t *w, uint32_t kind, const char *payload, size_t len) {
    if (len > KB_JREC_MAX) return KB_EINVAL;
    uint8_t head[KB_JREC_HEADER];
    kb_journal_encode(head, kind, ++w->records, payload, (uint32_t)len);
    int rc = put_bytes(w, head, sizeof head);
    return rc < 0 ? rc : put_bytes(w, payload, len);
}

static int put_json(writer_t *w, uint32_t kind, const json_t *rec) {
    char *text = json_dumps(rec, JSON_COMPACT);
    if (!text) return KB_ENOMEM;
    int rc = put_record(w, kind, text, strlen(text));
    free(text);
    return rc;
}

static int dump_one(void *ctx, const json_t *rec) { return put_json(ctx, KB_JREC_SNAP, rec); }

static int dump_own(void *ctx, const json_t *rec) { return put_json(ctx, KB_JREC_SNAP_OWN, rec); }

static int dump_bin(void *ctx, const void *rec, size_t len) {
    return put_record(ctx, KB_JREC_SNAP_CAND, rec, len);
}

static int sync_dir_of(const char *path) {
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return KB_EIO;
    int rc = fsync(fd) < 0 ? KB_EIO : 0;
    close(fd);
    return rc;
}

int kb_snapshot_write(const kb_engine_t *e, const char *path, uint64_t seq, kb_snapshot_own_fn own,
                      void *own_ctx, kb_snapshot_info_t *info) {
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp) return KB_EINVAL;
    writer_t w = {.buf = malloc(BUF_SIZE)};
    if (!w.buf) return KB_ENOMEM;
    w.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = w.fd < 0 ? KB_EIO : 0;
    uint8_t head[KB_JOURNAL_HEADER];
    kb_journal_file_header(head, KB_SNAPSHOT_MAGIC);
    if (rc == 0) rc = put_bytes(&w, head, sizeof head);
    if (rc == 0) rc = kb_engine_dump_bin(e, dump_one, dump_bin, &w);
    if (rc == 0 && own) rc = own(own_ctx, dump_own, &w);
    if (rc == 0) {
        char end[96];
        uint64_t records = w.records;
        int n = snprintf(end, sizeof end, "{\"records\":%llu,\"journal_seq\":%llu}",
                         (unsigned long long)records, (unsigned long long)seq);
        rc = put_record(&w, KB_JREC_SNAP_END, end, (size_t)n);
        w.records = records;
    }
    if (rc == 0) rc = flush(&w);
    if (rc == 0 && fsync(w.fd) < 0) rc = KB_EIO;
    int err = errno;
    if (w.fd >= 0 && close(w.fd) < 0 && rc == 0) rc = KB_EIO;
    if (rc == 0 && rename(tmp, path) < 0) rc = KB_EIO;
    if (rc == 0) rc = sync_dir_of(path);
    if (rc < 0) {
        err = errno ? errno : err;
        unlink(tmp);
        errno = err;
    } else if (info) {
        info->records = w.records;
        info->bytes = w.bytes;
    }
    free(w.buf);
    return rc;
}

static int damaged(kb_fault_t *f, const char *what) {
    return kb_fault(f, KB_ECORRUPT, 500, "damaged_snapshot", NULL, "%s", what);
}

/* Counts the binary candidate records by type (their first byte), going
 * from length to length without checking anything: only to size the
 * engine's pools, the real reading checks every record. */
static void count_cands(const uint8_t *buf, size_t len, uint32_t count[2]) {
    count[0] = count[1] = 0;
    for (size_t off = KB_JOURNAL_HEADER; len - off >= KB_JREC_HEADER;) {
        const uint8_t *h = buf + off; /* u32 len, u32 kind, little-endian */
        uint32_t plen = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
                        (uint32_t)h[3] << 24,
                 kind = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 |
                        (uint32_t)h[7] << 24;
        if (plen > len - off - KB_JREC_HEADER) return;
        if (kind == KB_JREC_SNAP_CAND && plen > 0 && buf[off + KB_JREC_HEADER] < 2 &&
            count[buf[off + KB_JREC_HEADER]] < UINT32_MAX)
            count[buf[off + KB_JREC_HEADER]]++;
        off += KB_JREC_HEADER + (size_t)plen;
    }
}

/* Restores the records of a mapped snapshot. */
static int load_records(kb_engine_t *e, const uint8_t *buf, size_t len, uint64_t *seq,
                        kb_snapshot_restore_fn restore_own, void *own_ctx, kb_snapshot_info_t *info,
                        kb_fault_t *f) {
    size_t off = KB_JOURNAL_HEADER;
    uint64_t records = 0;
    uint32_t cands[2];
    count_cands(buf, len, cands);
    int reserved = kb_engine_restore_reserve(e, cands, f);
    if (reserved < 0) return reserved;
    while (off < len) {
        kb_jrec_t rec;
        size_t n = kb_journal_decode(buf + off, len - off, &rec);
        if (n == 0) return damaged(f, "a record fails its check or is cut short");
        if (rec.seq != records + 1) return damaged(f, "records are out of sequence");
        off += n;
        if (rec.kind == KB_JREC_SNAP_CAND) {
            int rc = kb_engine_restore_bin(e, rec.payload, rec.len, f);
            if (rc < 0) return rc;
            records++;
            continue;
        }
        json_t *v = json_loadb((const char *)rec.payload, rec.len, 0, NULL);
        if (!v) return damaged(f, "a record is not JSON");
        int rc = 0;
        if (rec.kind == KB_JREC_SNAP) {
            rc = kb_engine_restore(e, v, f);
            records++;
        } else if (rec.kind == KB_JREC_SNAP_OWN) {
            if (restore_own && (rc = restore_own(own_ctx, v)) < 0)
                rc = damaged(f, "a record of the outbox does not fit");
            records++;
        } else if (rec.kind == KB_JREC_SNAP_END) {
            if ((rc = kb_engine_restore_index(e, f)) < 0) {
                json_decref(v);
                return rc;
            }
            json_t *count = json_object_get(v, "records"), *js = json_object_get(v, "journal_seq");
            if (off != len || !json_is_integer(count) || !json_is_integer(js) ||
                (uint64_t)json_integer_value(count) != records)
                rc = damaged(f, "the end record does not match the file");
            else *seq = (uint64_t)json_integer_value(js);
            json_decref(v);
            if (rc == 0 && info) {
                info->records = records;
                info->bytes = len;
            }
            return rc;
        } else {
            rc = damaged(f, "a record of an unknown kind");
        }
        json_decref(v);
        if (rc < 0) return rc;
    }
    return damaged(f, "the file ends before its end record (an unfinished snapshot)");
}

int kb_snapshot_load(kb_engine_t *e, const char *path, uint64_t *seq,
                     kb_snapshot_restore_fn restore_own, void *own_ctx, kb_snapshot_info_t *info,
                     kb_fault_t *f) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return kb_fault(f, KB_EIO, 500, "io_error", NULL, "%s", strerror(errno));
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int err = errno;
        close(fd);
        return kb_fault(f, KB_EIO, 500, "io_error", NULL, "%s", strerror(err));
    }
    size_t len = (size_t)st.st_size;
    if (len < KB_JOURNAL_HEADER) {
        close(fd);
        return damaged(f, "the file is too short for a snapshot");
    }
    uint8_t *buf = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (buf == MAP_FAILED) return kb_fault(f, KB_EIO, 500, "io_error", NULL, "%s", strerror(errno));
    int rc = kb_journal_check_header(buf, len, KB_SNAPSHOT_MAGIC);
    if (rc == KB_EVERSION)
        kb_fault_set(f, 500, "damaged_snapshot", NULL, "the snapshot format version is unknown");
    else if (rc < 0) rc = damaged(f, "not a snapshot file, or its header is damaged");
    else rc = load_records(e, buf, len, seq, restore_own, own_ctx, info, f);
    munmap(buf, len);
    return rc;
}
