/* koble-gen.c — write a reproducible data set as JSON lines.
 *
 *   koble-gen [--seed N] [--volunteers N] [--activities N] [--organisations N]
 *             [--needs N] [--needs-at TOWN] [--towns FILE]
 *   koble-gen --demo
 *
 * Each line is {"type":"volunteer","id":"v-1","body":{...}}, body being what
 * PUT /v1/{type}s/{id} takes; organisations come first, then activities,
 * volunteers and needs, so a loader replaying the lines in order never sees
 * an org_id before its organisation. With --needs-at TOWN the needs are
 * those the HTTP and baseline comparison asks for (bench/compare.sh): need n
 * is kb_gen_need_at(n, TOWN, any kind, at the centre), as koble-load --town
 * and redis-baseline --town make them. The same arguments always give the same
 * bytes (see bench/gen.h). The line is assembled around json_dumpb's output
 * in a reused buffer: a million volunteers take a few seconds. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "koble/error.h"

typedef struct out_buf {
    char *data;
    size_t cap;
} out_buf_t;

/* Writes one line, assembled in b around the body's JSON so the whole line
 * is one fwrite; returns 0, or -1 on a write or allocation error. Consumes
 * body. */
static int emit(out_buf_t *b, const char *type, const char *id, json_t *body) {
    if (!body) return -1;
    char head[128];
    int head_len =
        snprintf(head, sizeof head, "{\"type\":\"%s\",\"id\":\"%s\",\"body\":", type, id);
    if (head_len < 0 || (size_t)head_len >= sizeof head) goto fail;
    size_t room = b->cap - (size_t)head_len - 2;
    size_t len = kb_gen_dump(body, b->data + head_len, room);
    if (len > room) {
        size_t cap = (len + (size_t)head_len + 2) * 2;
        char *grown = realloc(b->data, cap);
        if (!grown) goto fail;
        b->data = grown;
        b->cap = cap;
        len = kb_gen_dump(body, b->data + head_len, cap - (size_t)head_len - 2);
    }
    json_decref(body);
    if (len == 0) return -1;
    memcpy(b->data, head, (size_t)head_len);
    memcpy(b->data + head_len + len, "}\n", 2);
    len += (size_t)head_len + 2;
    return fwrite(b->data, 1, len, stdout) == len ? 0 : -1;
fail:
    json_decref(body);
    return -1;
}

static void usage(FILE *f) {
    fputs("usage: koble-gen [--seed N] [--volunteers N] [--activities N] [--organisations N]\n"
          "                 [--needs N] [--needs-at TOWN] [--towns FILE]\n"
          "       koble-gen --demo\n"
          "Writes JSON lines {\"type\",\"id\",\"body\"} to stdout: organisations, activities,\n"
          "volunteers, needs. Defaults: seed 42, 10000 volunteers, 500 activities,\n"
          "200 organisations, 2000 needs, towns bench/data/dk_towns.tsv.\n"
          "--needs-at TOWN: the needs sit at the centre of TOWN (e.g. Copenhagen).\n"
          "--demo writes the small hand-written Danish demo set instead.\n",
          f);
}

static int parse_u64(const char *s, uint64_t *out) {
    char *end;
    if (!s || !*s || *s == '-') return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return -1;
    *out = v;
    return 0;
}

static int run_demo(out_buf_t *b) {
    for (size_t i = 0; i < kb_gen_demo_count(); i++) {
        const char *type, *id;
        json_t *body;
        if (kb_gen_demo(i, &type, &id, &body) < 0 || emit(b, type, id, body) < 0) return -1;
    }
    return 0;
}

typedef json_t *(*gen_fn)(const kb_gen_t *g, uint64_t n);

/* Needs 1..count at the centre of town, as bench/compare.sh asks them. */
static int run_town_needs(out_buf_t *b, const kb_gen_t *g, int town, uint64_t count) {
    char id[32];
    for (uint64_t n = 1; n <= count; n++) {
        kb_gen_id(id, sizeof id, "n", n);
        json_t *body = kb_gen_need_at(g, n, town, KB_GEN_NEED_ANY, KB_GEN_AT_CENTRE);
        if (emit(b, "need", id, body) < 0) return -1;
    }
    return 0;
}

static int run_type(out_buf_t *b, const kb_gen_t *g, const char *type, const char *prefix,
                    uint64_t count, gen_fn fn) {
    char id[32];
    for (uint64_t n = 1; n <= count; n++) {
        kb_gen_id(id, sizeof id, prefix, n);
        if (emit(b, type, id, fn(g, n)) < 0) return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    uint64_t seed = 42, volunteers = 10000, activities = 500, organisations = 200, needs = 2000;
    const char *towns_path = "bench/data/dk_towns.tsv", *needs_at = NULL;
    int demo = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t *target = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--demo") == 0) {
            demo = 1;
            continue;
        } else if (strcmp(a, "--towns") == 0 && v) {
            towns_path = v;
            i++;
            continue;
        } else if (strcmp(a, "--needs-at") == 0 && v) {
            needs_at = v;
            i++;
            continue;
        } else if (strcmp(a, "--seed") == 0) {
            target = &seed;
        } else if (strcmp(a, "--volunteers") == 0) {
            target = &volunteers;
        } else if (strcmp(a, "--activities") == 0) {
            target = &activities;
        } else if (strcmp(a, "--organisations") == 0) {
            target = &organisations;
        } else if (strcmp(a, "--needs") == 0) {
            target = &needs;
        }
        if (!target || parse_u64(v, target) < 0) {
            fprintf(stderr, "koble-gen: bad argument '%s%s%s'\n", a, v ? " " : "", v ? v : "");
            usage(stderr);
            return 2;
        }
        i++;
    }

    static char stdout_buf[1 << 20];
    setvbuf(stdout, stdout_buf, _IOFBF, sizeof stdout_buf);
    out_buf_t b = {malloc(4096), 4096};
    if (!b.data) return 1;
    int rc = 0;
    if (demo) {
        rc = run_demo(&b);
    } else {
        kb_gen_towns_t *towns;
        int err = kb_gen_towns_load(towns_path, &towns);
        if (err < 0) {
            fprintf(stderr, "koble-gen: %s: %s\n", towns_path, kb_strerror(err));
            free(b.data);
            return 1;
        }
        int town = needs_at ? kb_gen_town_find(towns, needs_at) : 0;
        if (town < 0) {
            fprintf(stderr, "koble-gen: %s: not in %s\n", needs_at, towns_path);
            kb_gen_towns_free(towns);
            free(b.data);
            return 2;
        }
        kb_gen_t g;
        kb_gen_init(&g, towns, seed);
        rc = run_type(&b, &g, "organisation", "o", organisations, kb_gen_organisation);
        if (rc == 0) rc = run_type(&b, &g, "activity", "a", activities, kb_gen_activity);
        if (rc == 0) rc = run_type(&b, &g, "volunteer", "v", volunteers, kb_gen_volunteer);
        if (rc == 0 && needs_at) rc = run_town_needs(&b, &g, town, needs);
        else if (rc == 0) rc = run_type(&b, &g, "need", "n", needs, kb_gen_need);
        kb_gen_towns_free(towns);
    }
    free(b.data);
    if (fflush(stdout) != 0) rc = -1;
    if (rc < 0) {
        fprintf(stderr, "koble-gen: write failed: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
