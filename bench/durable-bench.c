/* durable-bench.c — snapshot and recovery costs, in-process.
 *
 * Loads N generated volunteers (bench/gen.c) into an engine, writes a
 * snapshot of it (time, size), then restores that snapshot into a fresh
 * engine (the bulk of a restart's recovery) and replays a journal of N
 * writes (a restart without a snapshot). Files go to a temporary directory
 * on the same disk as the working directory, removed at the end.
 *
 *   build/bench/durable-bench [--volunteers N] [--seed S] [--dir DIR]
 *   build/bench/durable-bench [--volunteers N] [--seed S] --data-dir DIR
 *
 * With --data-dir it only loads the volunteers (not journaled) and leaves
 * their snapshot in DIR, named as kobled names it, for timing kobled's own
 * start-up on it (bench/coldstart.sh).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "gen.h"
#include "timing.h"
#include "journal.h"
#include "snapshot.h"

static void die(const char *what, int rc) {
    fprintf(stderr, "durable-bench: %s: %s\n", what, kb_strerror(rc));
    exit(1);
}

/* The journal hook of the loading engine: every write appended. */
static int append(void *ctx, const char *op, size_t len) {
    uint64_t seq;
    return kb_journal_append(ctx, KB_JREC_OP, op, (uint32_t)len, &seq);
}

static int replay(void *ctx, const kb_jrec_t *rec) {
    json_t *op = json_loadb((const char *)rec->payload, rec->len, 0, NULL);
    kb_fault_t f;
    int rc = op ? kb_engine_apply(ctx, op, &f) : KB_ECORRUPT;
    json_decref(op);
    return rc;
}

static double file_mb(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (double)st.st_size / (1 << 20) : 0;
}

/* Puts n volunteers into an engine and writes their snapshot to
 * dir/snapshot-<n>.kbs, as if they had been journal records 1..n. */
static void put_volunteers(kb_engine_t *e, kb_gen_t *g, uint32_t n) {
    char id[32];
    for (uint32_t i = 1; i <= n; i++) {
        json_t *body = kb_gen_volunteer(g, i), *out = NULL;
        bool created;
        kb_fault_t f;
        kb_gen_id(id, sizeof id, "v", i);
        int rc = kb_engine_put(e, KB_ENT_VOLUNTEER, id, body, &out, &created, &f);
        json_decref(body);
        json_decref(out);
        if (rc < 0) die("put", rc);
    }
}

static int leave_snapshot(kb_gen_t *g, kb_gen_towns_t *towns, uint32_t n, const char *dir) {
    kb_engine_t *e;
    int rc = kb_engine_new(NULL, &e);
    if (rc < 0) die("engine", rc);
    put_volunteers(e, g, n);
    char path[1200];
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/snapshot-%020u.kbs", dir, n);
    kb_snapshot_info_t info;
    if ((rc = kb_snapshot_write(e, path, n, NULL, NULL, &info)) < 0) die("snapshot write", rc);
    printf("%s: %u volunteers, %.0f MiB\n", path, n, file_mb(path));
    kb_engine_free(e);
    kb_gen_towns_free(towns);
    return 0;
}

int main(int argc, char **argv) {
    uint32_t volunteers = 1000000;
    uint64_t seed = 42;
    const char *base = "bench/out", *data_dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--volunteers") && i + 1 < argc)
            volunteers = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--dir") && i + 1 < argc) base = argv[++i];
        else if (!strcmp(argv[i], "--data-dir") && i + 1 < argc) data_dir = argv[++i];
        else {
            fprintf(stderr, "usage: durable-bench [--volunteers N] [--seed S] [--dir DIR | "
                            "--data-dir DIR]\n");
            return 2;
        }
    }
    kb_gen_towns_t *towns;
    if (kb_gen_towns_load("bench/data/dk_towns.tsv", &towns) < 0) {
        fprintf(stderr, "durable-bench: cannot read bench/data/dk_towns.tsv\n");
        return 1;
    }
    kb_gen_t g;
    kb_gen_init(&g, towns, seed);
    if (data_dir) return leave_snapshot(&g, towns, volunteers, data_dir);
    char dir[1100], journal[1200], snap[1200];
    mkdir(base, 0755); /* bench/out is not in git */
    snprintf(dir, sizeof dir, "%s/durable-bench-XXXXXX", base);
    if (!mkdtemp(dir)) die("mkdtemp", KB_EIO);
    snprintf(journal, sizeof journal, "%s/journal", dir);
    snprintf(snap, sizeof snap, "%s/snapshot", dir);

    kb_engine_t *e;
    int rc = kb_engine_new(NULL, &e);
    if (rc < 0) die("engine", rc);
    kb_journal_t j;
    if ((rc = kb_journal_open(&j, journal, 0, NULL, NULL, NULL)) < 0) die("journal", rc);
    kb_engine_set_journal(e, append, &j);
    double t0 = kb_bench_now();
    put_volunteers(e, &g, volunteers);
    double load_s = kb_bench_now() - t0;
    kb_journal_sync(j.fd);
    kb_journal_close(&j);
    printf("koble durability benchmark: %u volunteers, seed %llu\n", volunteers,
           (unsigned long long)seed);
    printf("  load through the engine, journaling  %8.2f s  (%.0f/s), journal %.0f MiB\n", load_s,
           volunteers / load_s, file_mb(journal));

    kb_snapshot_info_t info;
    t0 = kb_bench_now();
    if ((rc = kb_snapshot_write(e, snap, volunteers, NULL, NULL, &info)) < 0)
        die("snapshot write", rc);
    double snap_s = kb_bench_now() - t0;
    printf("  snapshot write (incl. fsync)         %8.2f s  %.0f MiB, %llu records\n", snap_s,
           file_mb(snap), (unsigned long long)info.records);
    kb_engine_free(e);

    kb_engine_t *r;
    if ((rc = kb_engine_new(NULL, &r)) < 0) die("engine", rc);
    uint64_t seq;
    kb_fault_t f;
    t0 = kb_bench_now();
    if ((rc = kb_snapshot_load(r, snap, &seq, NULL, NULL, NULL, &f)) < 0) die(f.message, rc);
    printf("  recovery from the snapshot           %8.2f s\n", kb_bench_now() - t0);
    kb_engine_free(r);

    if ((rc = kb_engine_new(NULL, &r)) < 0) die("engine", rc);
    t0 = kb_bench_now();
    if ((rc = kb_journal_open(&j, journal, 0, replay, r, NULL)) < 0) die("journal replay", rc);
    printf("  recovery from the journal alone      %8.2f s\n", kb_bench_now() - t0);
    kb_journal_close(&j);
    kb_engine_free(r);

    unlink(journal);
    unlink(snap);
    rmdir(dir);
    kb_gen_towns_free(towns);
    return 0;
}
