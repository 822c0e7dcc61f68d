/* journal.c — see journal.h. */
#include "journal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* XXH3_state_t on the stack rather than from XXH3_createState. */
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include "koble/error.h"

static void put_u32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static uint64_t get_u64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

/* Records up to this size are hashed from a copy on the stack. */
#define ONE_SHOT_MAX 1024

/* The check covers the header fields too, so a flipped length, kind or
 * sequence number is caught like a flipped payload byte. It is the XXH3
 * of the 16 header bytes followed by the payload; XXH3 gives the same
 * value whether the bytes come in one piece or several, and for the small
 * records that are nearly all of them, copying them together and hashing
 * once costs far less than setting up the streaming state. */
static uint64_t check_of(const uint8_t head[16], const void *payload, uint32_t len) {
    if (len <= ONE_SHOT_MAX - 16) {
        uint8_t buf[ONE_SHOT_MAX];
        memcpy(buf, head, 16);
        if (len) memcpy(buf + 16, payload, len);
        return XXH3_64bits(buf, 16 + (size_t)len);
    }
    XXH3_state_t st;
    XXH3_64bits_reset(&st);
    XXH3_64bits_update(&st, head, 16);
    XXH3_64bits_update(&st, payload, len);
    return XXH3_64bits_digest(&st);
}

void kb_journal_encode(uint8_t out[KB_JREC_HEADER], uint32_t kind, uint64_t seq,
                       const void *payload, uint32_t len) {
    put_u32(out, len);
    put_u32(out + 4, kind);
    put_u64(out + 8, seq);
    put_u64(out + 16, check_of(out, payload, len));
}

size_t kb_journal_decode(const uint8_t *buf, size_t len, kb_jrec_t *rec) {
    if (len < KB_JREC_HEADER) return 0;
    uint32_t plen = get_u32(buf);
    if (plen > KB_JREC_MAX || plen > len - KB_JREC_HEADER) return 0;
    const uint8_t *payload = buf + KB_JREC_HEADER;
    if (check_of(buf, payload, plen) != get_u64(buf + 16)) return 0;
    rec->len = plen;
    rec->kind = get_u32(buf + 4);
    rec->seq = get_u64(buf + 8);
    rec->payload = payload;
    return KB_JREC_HEADER + (size_t)plen;
}

static int io_error(void) { return KB_EIO; }

/* Writes the n (at most 2) buffers at offset at. Not O_APPEND: the file
 * may go on past its records with zeros written ahead (see journal.h). */
static int write_all(int fd, const struct iovec *iov_in, int n, uint64_t at) {
    struct iovec iov[2];
    memcpy(iov, iov_in, (size_t)n * sizeof *iov);
    struct iovec *v = iov;
    while (n > 0) {
        ssize_t w = pwritev(fd, v, n, (off_t)at);
        if (w < 0) {
            if (errno == EINTR) continue;
            return io_error();
        }
        if (w == 0) {
            errno = EIO;
            return io_error();
        }
        at += (uint64_t)w;
        size_t done = (size_t)w;
        while (n > 0 && done >= v->iov_len) {
            done -= v->iov_len;
            v++;
            n--;
        }
        if (n > 0) {
            v->iov_base = (char *)v->iov_base + done;
            v->iov_len -= done;
        }
    }
    return 0;
}

/* Reads the records of a mapped file. Returns the length of the valid
 * prefix, or a negative code from fn. */
static int64_t scan_records(kb_journal_t *j, const uint8_t *buf, size_t len, uint64_t after,
                            kb_journal_fn fn, void *ctx, kb_journal_scan_t *scan) {
    size_t off = KB_JOURNAL_HEADER;
    bool first = true;
    while (off < len) {
        kb_jrec_t rec;
        size_t n = kb_journal_decode(buf + off, len - off, &rec);
        if (n == 0 || (!first && rec.seq != j->last_seq + 1)) break;
        first = false;
        j->last_seq = rec.seq;
        scan->records++;
        if (rec.seq > after) {
            scan->replayed++;
            if (fn) {
                int rc = fn(ctx, &rec);
                if (rc < 0) return rc;
            }
        }
        off += n;
    }
    return (int64_t)off;
}

void kb_journal_file_header(uint8_t out[KB_JOURNAL_HEADER], const char *magic) {
    memcpy(out, magic, 8);
    put_u32(out + 8, KB_JOURNAL_VERSION);
    put_u32(out + 12, 0);
}

int kb_journal_check_header(const uint8_t *buf, size_t len, const char *magic) {
    if (len < KB_JOURNAL_HEADER || memcmp(buf, magic, 8) != 0 || get_u32(buf + 12) != 0)
        return KB_ECORRUPT;
    return get_u32(buf + 8) == KB_JOURNAL_VERSION ? 0 : KB_EVERSION;
}

static int write_header(int fd) {
    uint8_t head[KB_JOURNAL_HEADER];
    kb_journal_file_header(head, KB_JOURNAL_MAGIC);
    struct iovec iov = {head, sizeof head};
    return write_all(fd, &iov, 1, 0);
}

/* True if the n bytes at p are all zero. */
static bool all_zero(const uint8_t *p, size_t n) {
    if (n == 0) return true;
    return p[0] == 0 && memcmp(p, p + 1, n - 1) == 0;
}

int kb_journal_open(kb_journal_t *j, const char *path, uint64_t after, kb_journal_fn fn, void *ctx,
                    kb_journal_scan_t *scan) {
    kb_journal_scan_t unused;
    if (!scan) scan = &unused;
    memset(scan, 0, sizeof *scan);
    memset(j, 0, sizeof *j);
    kb_journal_none(j);
    j->last_seq = after;
    j->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->fd < 0) return io_error();
    /* fdatasync needs no write access: read-only descriptions do. */
    for (int i = 0; i < KB_JOURNAL_SYNC_FDS; i++)
        if ((j->sync_fd[i] = open(path, O_RDONLY | O_CLOEXEC)) < 0) goto io_fail;
    int rc = 0;
    struct stat st;
    if (fstat(j->fd, &st) < 0) goto io_fail;
    size_t len = (size_t)st.st_size;
    if (len < KB_JOURNAL_HEADER) {
        /* New, or torn while its header was written: nothing was ever
         * acknowledged from it. */
        if (ftruncate(j->fd, 0) < 0 || write_header(j->fd) < 0) goto io_fail;
        j->size = KB_JOURNAL_HEADER;
        scan->cut_bytes = len;
        return 0;
    }
    uint8_t *buf = mmap(NULL, len, PROT_READ, MAP_PRIVATE, j->fd, 0);
    if (buf == MAP_FAILED) goto io_fail;
    rc = kb_journal_check_header(buf, len, KB_JOURNAL_MAGIC);
    int64_t valid = rc ? 0 : scan_records(j, buf, len, after, fn, ctx, scan);
    /* Zeros alone after the last record are space written ahead of the
     * records (kb_commit, fsync "always"): the clean end of the journal,
     * not damage. A torn record leaves some of its bytes there, and those
     * are cut and counted as before. */
    bool zero_tail = valid >= 0 && all_zero(buf + valid, len - (size_t)valid);
    munmap(buf, len);
    if (rc == 0 && valid < 0) rc = (int)valid;
    if (rc < 0) {
        kb_journal_close(j);
        return rc;
    }
    j->size = (uint64_t)valid;
    if (zero_tail) scan->zero_bytes = len - (size_t)valid;
    else scan->cut_bytes = len - (size_t)valid;
    /* Either way the file ends at its last record from here on: nothing
     * behind it can be read as a successor later, and the owner writes
     * space ahead again as it needs (within the limits of this run). */
    if ((uint64_t)valid < len && ftruncate(j->fd, (off_t)valid) < 0) goto io_fail;
    return 0;
io_fail:
    rc = errno;
    kb_journal_close(j);
    errno = rc;
    return KB_EIO;
}

int kb_journal_append(kb_journal_t *j, uint32_t kind, const void *payload, uint32_t len,
                      uint64_t *seq) {
    if (len > KB_JREC_MAX) return KB_EINVAL;
    if (j->size == UINT64_MAX) {
        errno = EIO;
        return KB_EIO;
    }
    uint8_t head[KB_JREC_HEADER];
    uint64_t next = j->last_seq + 1;
    kb_journal_encode(head, kind, next, payload, len);
    struct iovec iov[2] = {{head, sizeof head}, {(void *)payload, len}};
    if (write_all(j->fd, iov, 2, j->size) < 0) {
        int err = errno;
        /* Leave no partial record: the next append must follow a whole one. */
        if (ftruncate(j->fd, (off_t)j->size) < 0) {
            /* The tail stays torn; recovery will cut it. Appending after
             * it would hide every later record, so refuse from now on. */
            j->size = UINT64_MAX;
        }
        errno = err;
        return KB_EIO;
    }
    j->size += sizeof head + len;
    j->last_seq = next;
    *seq = next;
    return 0;
}

int kb_journal_sync(int fd) {
    while (fdatasync(fd) < 0) {
        if (errno != EINTR) return KB_EIO;
    }
    return 0;
}

void kb_journal_none(kb_journal_t *j) {
    j->fd = -1;
    for (int i = 0; i < KB_JOURNAL_SYNC_FDS; i++) j->sync_fd[i] = -1;
}

void kb_journal_close(kb_journal_t *j) {
    if (j->fd >= 0) close(j->fd);
    for (int i = 0; i < KB_JOURNAL_SYNC_FDS; i++)
        if (j->sync_fd[i] >= 0) close(j->sync_fd[i]);
    kb_journal_none(j);
}
