/* test_snapshot.c — snapshot files: a complete one restores the state; a
 * cut, flipped, extended or foreign one is refused as a whole. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "enginetest.h"
#include "koble/engine.h"
#include "snapshot.h"

static char dir[64], path[128];
static kb_engine_t *e;

static void put(kb_entity_t t, const char *id, const char *body) {
    json_t *b = json_loads(body, 0, NULL), *out = NULL;
    cr_assert_not_null(b);
    bool created;
    kb_fault_t f;
    cr_assert_eq(kb_engine_put(e, t, id, b, &out, &created, &f), 0, "%s", f.message);
    json_decref(b);
    json_decref(out);
}

static void setup(void) {
    snprintf(dir, sizeof dir, "/tmp/koble-snap-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/snapshot", dir);
    cr_assert_eq(kb_engine_new(NULL, &e), 0);
    kb_engine_set_clock(e, 1795478400000LL);
    char id[16], body[256];
    for (int i = 0; i < 20; i++) {
        snprintf(id, sizeof id, "v-%d", i);
        snprintf(body, sizeof body,
                 "{\"location\":{\"lat\":55.%02d,\"lon\":12.5},\"skills\":[\"visiting\",\"s%d\"]}",
                 i, i % 4);
        put(KB_ENT_VOLUNTEER, id, body);
    }
    put(KB_ENT_NEED, "n-1",
        "{\"kind\":\"visit\",\"municipality\":\"0101\",\"location\":{\"lat\":55.1,\"lon\":12.5},"
        "\"person_age\":81}");
}

static void teardown(void) {
    kb_engine_free(e);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

static uint8_t *read_file(size_t *len) {
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    static uint8_t buf[1 << 16];
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    cr_assert_lt(*len, sizeof buf);
    return buf;
}

static void write_file(const uint8_t *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
}

/* Loads path into a fresh engine; returns the code. */
static int load(uint64_t *seq) {
    kb_engine_t *r;
    cr_assert_eq(kb_engine_new(NULL, &r), 0);
    kb_fault_t f;
    int rc = kb_snapshot_load(r, path, seq, NULL, NULL, NULL, &f);
    kb_engine_free(r);
    return rc;
}

TestSuite(snapshot, .init = setup, .fini = teardown);

Test(snapshot, a_written_snapshot_restores_the_same_state) {
    kb_snapshot_info_t info;
    cr_assert_eq(kb_snapshot_write(e, path, 4242, NULL, NULL, &info), 0);
    cr_assert_eq(info.records, 2 + 20 + 1);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq((uint64_t)st.st_size, info.bytes);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cr_assert_neq(access(tmp, F_OK), 0, "no temporary file is left");

    kb_engine_t *r;
    cr_assert_eq(kb_engine_new(NULL, &r), 0);
    kb_engine_set_clock(r, 1795478400000LL); /* the dumps carry the clock */
    uint64_t seq = 0;
    kb_fault_t f;
    cr_assert_eq(kb_snapshot_load(r, path, &seq, NULL, NULL, NULL, &f), 0, "%s", f.message);
    cr_assert_eq(seq, 4242);
    char *a = kt_dump_text(e), *b = kt_dump_text(r);
    cr_assert_str_eq(b, a);
    free(a);
    free(b);
    /* The index is rebuilt too (in bulk, dump.c): the same matches, the
     * same cells and postings. */
    kb_match_opts_t o = {.limit = 20};
    json_t *ma = NULL, *mb = NULL, *sa = kb_engine_stats(e), *sb = kb_engine_stats(r);
    cr_assert_eq(kb_engine_matches(e, "n-1", &o, &ma, &f), 0, "%s", f.message);
    cr_assert_eq(kb_engine_matches(r, "n-1", &o, &mb, &f), 0, "%s", f.message);
    a = json_dumps(ma, JSON_SORT_KEYS);
    b = json_dumps(mb, JSON_SORT_KEYS);
    cr_assert_str_eq(b, a);
    cr_assert(strstr(a, "v-9"), "the need has matches: %s", a);
    free(a);
    free(b);
    /* Byte counts differ: restored arrays are allocated to their size. */
    json_t *stats[] = {sa, sb};
    for (int i = 0; i < 2; i++) {
        json_t *ix = json_object_get(stats[i], "index");
        json_object_del(ix, "bytes");
        json_object_del(ix, "bytes_per_volunteer");
        json_object_del(ix, "volunteer_bytes");
        json_object_del(stats[i], "memory");
    }
    a = json_dumps(sa, JSON_SORT_KEYS);
    b = json_dumps(sb, JSON_SORT_KEYS);
    cr_assert_str_eq(b, a);
    free(a);
    free(b);
    json_decref(ma);
    json_decref(mb);
    json_decref(sa);
    json_decref(sb);
    kb_engine_free(r);
}

Test(snapshot, a_snapshot_cut_anywhere_is_refused) {
    cr_assert_eq(kb_snapshot_write(e, path, 7, NULL, NULL, NULL), 0);
    size_t len;
    uint8_t *full = read_file(&len);
    uint8_t *copy = malloc(len);
    memcpy(copy, full, len);
    uint64_t seq;
    /* Every cut short of the whole file, including just before the end
     * record, which a crash in the middle of writing would leave. */
    for (size_t cut = 0; cut < len; cut += (cut < 64 || len - cut < 200) ? 1 : 37) {
        write_file(copy, cut);
        cr_assert_eq(load(&seq), KB_ECORRUPT, "cut at %zu of %zu", cut, len);
    }
    write_file(copy, len);
    cr_assert_eq(load(&seq), 0);
    free(copy);
}

Test(snapshot, flipped_bits_extra_bytes_and_versions_are_refused) {
    cr_assert_eq(kb_snapshot_write(e, path, 7, NULL, NULL, NULL), 0);
    size_t len;
    uint8_t *full = read_file(&len);
    uint8_t *copy = malloc(len + 8);
    uint64_t seq;
    for (size_t at = 16; at < len; at += 97) {
        memcpy(copy, full, len);
        copy[at] ^= 0x10;
        write_file(copy, len);
        cr_assert_eq(load(&seq), KB_ECORRUPT, "flip at %zu", at);
    }
    memcpy(copy, full, len);
    memcpy(copy + len, "trailing", 8);
    write_file(copy, len + 8);
    cr_assert_eq(load(&seq), KB_ECORRUPT, "bytes after the end record");
    memcpy(copy, full, len);
    copy[8] = 2;
    write_file(copy, len);
    cr_assert_eq(load(&seq), KB_EVERSION);
    memcpy(copy, "KBJOURNL", 8);
    copy[8] = 1;
    write_file(copy, len);
    cr_assert_eq(load(&seq), KB_ECORRUPT, "a journal is not a snapshot");
    free(copy);
}

Test(snapshot, a_failed_write_leaves_nothing) {
    char bad[160];
    snprintf(bad, sizeof bad, "%s/no/such/dir/snapshot", dir);
    cr_assert_eq(kb_snapshot_write(e, bad, 1, NULL, NULL, NULL), KB_EIO);
    cr_assert_neq(access(bad, F_OK), 0);
}

/* Collects the JSON records and the first binary record of a dump. */
typedef struct parts {
    json_t *recs;
    char bin[512];
    size_t bin_len;
} parts_t;

static int part_json(void *ctx, const json_t *rec) {
    return json_array_append(((parts_t *)ctx)->recs, (json_t *)rec);
}

static int part_bin(void *ctx, const void *rec, size_t len) {
    parts_t *p = ctx;
    if (!p->bin_len && len <= sizeof p->bin) {
        memcpy(p->bin, rec, len);
        p->bin_len = len;
    }
    return 0;
}

Test(snapshot, a_candidate_listed_twice_is_refused) {
    parts_t p = {.recs = json_array()};
    cr_assert_eq(kb_engine_dump_bin(e, part_json, part_bin, &p), 0);
    cr_assert_gt(p.bin_len, 0);
    kb_engine_t *r;
    cr_assert_eq(kb_engine_new(NULL, &r), 0);
    kb_fault_t f;
    /* The engine and tokens records come first. */
    for (size_t i = 0; i < 2; i++)
        cr_assert_eq(kb_engine_restore(r, json_array_get(p.recs, i), &f), 0, "%s", f.message);
    cr_assert_eq(kb_engine_restore_bin(r, p.bin, p.bin_len, &f), 0, "%s", f.message);
    cr_assert_eq(kb_engine_restore_bin(r, p.bin, p.bin_len, &f), KB_ECORRUPT);
    cr_assert_eq(kb_engine_restore_index(r, &f), 0);
    cr_assert_eq(kb_engine_count(r, KB_ENT_VOLUNTEER), 1);
    kb_engine_free(r);
    json_decref(p.recs);
}

static char *get_text(kb_engine_t *x, kb_entity_t t, const char *id) {
    json_t *out = NULL;
    kb_fault_t f;
    if (kb_engine_get(x, t, id, &out, &f) < 0) return NULL;
    char *text = json_dumps(out, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(out);
    return text;
}

/* Restored candidates keep their members in the store's arena (store.h);
 * replacing, deleting and re-adding them afterwards must neither free
 * arena memory nor leak the heap members that replace it (the ASan run
 * checks both), and must leave the engine as if nothing were restored. */
Test(snapshot, restored_candidates_can_be_replaced_and_deleted) {
    put(KB_ENT_ORGANISATION, "club", "{\"name\":\"Club\",\"kind\":\"volunteer_org\"}");
    put(KB_ENT_ACTIVITY, "a-1",
        "{\"org_id\":\"club\",\"title\":\"Chess\",\"location\":{\"lat\":55.1,\"lon\":12.5},"
        "\"skills\":[\"visiting\"],\"languages\":[\"da\"]}");
    put(KB_ENT_VOLUNTEER, "v-org",
        "{\"org_id\":\"club\",\"location\":{\"lat\":55.2,\"lon\":12.5},\"languages\":[\"da\","
        "\"en\"],\"experience\":[\"elderly\"]}");
    cr_assert_eq(kb_snapshot_write(e, path, 7, NULL, NULL, NULL), 0);
    kb_engine_t *r;
    cr_assert_eq(kb_engine_new(NULL, &r), 0);
    kb_engine_set_clock(r, 1795478400000LL);
    uint64_t seq;
    kb_fault_t f;
    cr_assert_eq(kb_snapshot_load(r, path, &seq, NULL, NULL, NULL, &f), 0, "%s", f.message);

    const kb_store_t *s = &r->store;
    uint32_t vs = kb_pool_find(&s->cands[KB_VOLUNTEER], "v-org"),
             as = kb_pool_find(&s->cands[KB_ACTIVITY], "a-1");
    cr_assert_neq(vs, KB_NO_SLOT);
    const kb_cand_t *v = kb_store_cand(s, KB_VOLUNTEER, vs), *a = kb_store_cand(s, KB_ACTIVITY, as);
    cr_assert(v->in_arena && a->in_arena);
    cr_assert(kb_arena_owns(&s->arena, v->id) && kb_arena_owns(&s->arena, v->org_id) &&
              kb_arena_owns(&s->arena, v->langs.ids) && kb_arena_owns(&s->arena, v->exp.ids));
    cr_assert(kb_arena_owns(&s->arena, a->title) && kb_arena_owns(&s->arena, a->skills.ids));
    cr_assert_str_eq(v->org_id, "club");
    cr_assert_str_eq(a->title, "Chess");
    cr_assert_eq(v->langs.n, 2);

    /* The same changes to the original and to the restored engine. */
    kb_engine_t *both[] = {e, r};
    for (int i = 0; i < 2; i++) {
        kb_engine_t *saved = e;
        e = both[i];
        put(KB_ENT_VOLUNTEER, "v-org",
            "{\"location\":{\"lat\":55.3,\"lon\":12.5},\"skills\":[\"mentoring\"]}");
        put(KB_ENT_ACTIVITY, "a-1",
            "{\"org_id\":\"club\",\"title\":\"Chess club\",\"location\":{\"lat\":55.1,"
            "\"lon\":12.5}}");
        cr_assert_eq(kb_engine_delete(e, KB_ENT_VOLUNTEER, "v-3", &f), 0, "%s", f.message);
        cr_assert_eq(kb_engine_delete(e, KB_ENT_VOLUNTEER, "v-4", &f), 0, "%s", f.message);
        put(KB_ENT_VOLUNTEER, "v-4", "{\"location\":{\"lat\":55.4,\"lon\":12.6}}");
        e = saved;
    }
    v = kb_store_cand(s, KB_VOLUNTEER, vs);
    cr_assert(!v->in_arena, "a replaced record has heap members");
    cr_assert(kb_arena_owns(&s->arena, v->id), "the pool keeps the restored id");
    cr_assert(!kb_arena_owns(&s->arena, v->skills.ids));
    cr_assert_null(v->org_id);
    cr_assert_null(get_text(r, KB_ENT_VOLUNTEER, "v-3"));
    uint32_t v4 = kb_pool_find(&s->cands[KB_VOLUNTEER], "v-4");
    cr_assert(!kb_arena_owns(&s->arena, kb_store_cand(s, KB_VOLUNTEER, v4)->id),
              "a re-added id is the pool's own copy");
    const char *ids[] = {"v-org", "v-4", "v-5"};
    for (int i = 0; i < 3; i++) {
        char *x = get_text(e, KB_ENT_VOLUNTEER, ids[i]), *y = get_text(r, KB_ENT_VOLUNTEER, ids[i]);
        cr_assert_not_null(y);
        cr_assert_str_eq(y, x);
        free(x);
        free(y);
    }
    char *x = kt_dump_text(e), *y = kt_dump_text(r);
    cr_assert_str_eq(y, x);
    free(x);
    free(y);
    kb_engine_free(r);
}
