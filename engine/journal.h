/* journal.h — the append-only journal of state changes.
 *
 * A journal file is a 16-byte header, "KBJOURNL", a u32 format version and
 * a u32 0, followed by records:
 *
 *   u32 len    payload bytes (at most KB_JREC_MAX)
 *   u32 kind   what the payload is (KB_JREC_*)
 *   u64 seq    sequence number: each record's is the previous one's + 1
 *   u64 check  XXH3-64 of the 16 bytes above and of the payload
 *   payload
 *
 * all little-endian. The file may go on with zeros after its last record:
 * space written ahead so that an fdatasync after each batch of records
 * flushes data only, not the file's size and block map (kb_commit does
 * this under fsync "always"). Records are only ever appended, so a crash
 * can damage only the end of the file: reading stops at the first record that is
 * incomplete, fails its check or breaks the sequence, and the file is cut
 * there. Everything before it was written whole (and, under fsync
 * "always", acknowledged only once it was synced).
 *
 * Not thread-safe: one thread appends; kb_journal_sync may run on another
 * (it only needs the descriptor). */
#ifndef KB_JOURNAL_H
#define KB_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#define KB_JOURNAL_VERSION 1
#define KB_JOURNAL_HEADER  16
#define KB_JREC_HEADER     24
#define KB_JREC_MAX        (64u << 20)

enum {
    KB_JREC_OP = 1,        /* a write as JSON: {"op", "ts", ...}, see engine.h */
    KB_JREC_SNAP = 2,      /* a snapshot record: one kb_engine_dump record */
    KB_JREC_SNAP_END = 3,  /* a snapshot's last record: {"records", "journal_seq"} */
    KB_JREC_ACK = 4,       /* Redis confirmed events up to {"seq", "n"} */
    KB_JREC_SNAP_OWN = 5,  /* a snapshot record of the daemon's own (the outbox) */
    KB_JREC_SNAP_CAND = 6, /* a snapshot's volunteer or activity, binary (dump.c) */
};

/* File magics: journals and snapshots share the header and the framing. */
#define KB_JOURNAL_MAGIC  "KBJOURNL"
#define KB_SNAPSHOT_MAGIC "KBSNAPSH"

typedef struct kb_jrec {
    uint32_t kind;
    uint64_t seq;
    const uint8_t *payload; /* borrowed from the buffer decoded */
    uint32_t len;
} kb_jrec_t;

/* Descriptors of a journal file for fsyncs that may run at once (see
 * kb_journal_t.sync_fd). */
#define KB_JOURNAL_SYNC_FDS 2

typedef struct kb_journal {
    int fd;
    /* More open file descriptions of the same file, each of its own open():
     * a write-back error is reported once to each description that was
     * open when it happened (errseq_t), so fsyncs that run at the same
     * time, each on its own, all see it; none can take it from another. */
    int sync_fd[KB_JOURNAL_SYNC_FDS];
    uint64_t size;     /* bytes in the file, all of them valid */
    uint64_t last_seq; /* of the last record in the file, or the `after` given to open */
} kb_journal_t;

/* What kb_journal_open found. */
typedef struct kb_journal_scan {
    uint64_t records;    /* valid records read (including those skipped) */
    uint64_t replayed;   /* records passed to fn */
    uint64_t cut_bytes;  /* damaged tail removed */
    uint64_t zero_bytes; /* zeros written ahead, removed as the clean end */
} kb_journal_scan_t;

/* Called for each valid record with seq > after, in order. A negative
 * return stops the scan and kb_journal_open returns it. */
typedef int (*kb_journal_fn)(void *ctx, const kb_jrec_t *rec);

/* Writes the record header for payload into out. */
void kb_journal_encode(uint8_t out[KB_JREC_HEADER], uint32_t kind, uint64_t seq,
                       const void *payload, uint32_t len);
/* Decodes the record at the start of buf. Returns its whole size, or 0 if
 * buf does not start with a complete record whose check matches. */
size_t kb_journal_decode(const uint8_t *buf, size_t len, kb_jrec_t *rec);

/* The 16-byte file header for magic (8 characters). */
void kb_journal_file_header(uint8_t out[KB_JOURNAL_HEADER], const char *magic);
/* 0 if buf starts with magic's header; KB_ECORRUPT for another or damaged
 * header, KB_EVERSION for a format version this build does not know. */
int kb_journal_check_header(const uint8_t *buf, size_t len, const char *magic);

/* Opens path for appending, creating it (with its header) if missing.
 * Reads the records already there: those with seq > after go to fn (may
 * be NULL); a damaged tail is cut off and counted in scan (may be NULL),
 * and so is a tail of zeros (counted apart: it is not damage). The file
 * ends at its last record afterwards.
 * Returns KB_EVERSION for a file of an unknown format version, KB_ECORRUPT
 * when the file header itself is damaged, KB_EIO with errno set when a
 * system call fails. On error j holds no open file. */
int kb_journal_open(kb_journal_t *j, const char *path, uint64_t after, kb_journal_fn fn, void *ctx,
                    kb_journal_scan_t *scan);
/* Appends a record numbered last_seq + 1 at offset size (written to the
 * kernel, not yet synced) and stores the number in *seq. If the write fails or is short
 * (disk full, file size limit), the file is cut back to where it was, so a
 * failed append leaves nothing behind; returns KB_EIO with errno set. */
int kb_journal_append(kb_journal_t *j, uint32_t kind, const void *payload, uint32_t len,
                      uint64_t *seq);
/* fdatasync(fd): KB_EIO with errno set on failure. Safe from any thread. */
int kb_journal_sync(int fd);
/* Marks j as holding no open file (kb_journal_close does nothing then). */
void kb_journal_none(kb_journal_t *j);
/* Closes every descriptor of j. */
void kb_journal_close(kb_journal_t *j);

#endif
