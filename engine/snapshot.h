/* snapshot.h — a snapshot file: the whole state at one journal sequence.
 *
 * The file is the journal's header (magic "KBSNAPSH") and framing
 * (journal.h): one KB_JREC_SNAP record per kb_engine_dump record, numbered
 * from 1, then a KB_JREC_SNAP_END record {"records": n, "journal_seq": s}
 * as the very last bytes. A file without that end, with a record that
 * fails its check, or with anything after the end is damaged as a whole:
 * a snapshot is used completely or not at all.
 *
 * Files are written under a temporary name, synced, renamed into place
 * and the directory synced, so a snapshot that exists under its final
 * name is complete on disk. */
#ifndef KB_SNAPSHOT_H
#define KB_SNAPSHOT_H

#include <stdint.h>

#include "fault.h"
#include "koble/engine.h"

typedef struct kb_snapshot_info {
    uint64_t records; /* dump records */
    uint64_t bytes;   /* file size */
} kb_snapshot_info_t;

/* Records of the snapshot's owner besides the engine's (the outbox of
 * events): `own` writes them through emit; `restore_own` gets them back. */
typedef int (*kb_snapshot_own_fn)(void *ctx, kb_engine_dump_fn emit, void *emit_ctx);
typedef int (*kb_snapshot_restore_fn)(void *ctx, const json_t *rec);

/* Writes e's state, then own's records (own may be NULL), as the snapshot
 * at journal sequence seq to path (via path + ".tmp"). info may be NULL.
 * KB_EIO with errno set on a failed system call; nothing is left under
 * path then. */
int kb_snapshot_write(const kb_engine_t *e, const char *path, uint64_t seq, kb_snapshot_own_fn own,
                      void *own_ctx, kb_snapshot_info_t *info);
/* Restores the snapshot at path into e, which must be empty, passing the
 * owner's records to restore_own (may be NULL: they are skipped), and
 * stores its journal sequence in *seq. KB_ECORRUPT or KB_EVERSION (f says
 * what) for a damaged or foreign file; e is then partly filled and must be
 * thrown away. */
int kb_snapshot_load(kb_engine_t *e, const char *path, uint64_t *seq,
                     kb_snapshot_restore_fn restore_own, void *own_ctx, kb_snapshot_info_t *info,
                     kb_fault_t *f);

#endif
