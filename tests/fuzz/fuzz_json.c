/* fuzz_json.c — every JSON decoder: entity bodies, what-if, proposals,
 * match steps, assignments, journal ops, snapshot records, the config file.
 *
 * An input is up to 16 commands separated by NUL bytes (JSON text has
 * none). A command's first byte picks what it does (modulo 16), the rest
 * is its argument; "ID\nBODY" where it takes both:
 *
 *   0..4  PUT volunteer, activity, need, organisation, subscription: ID\nBODY
 *         (parsed and put; with bit 16 of the byte set, kb_engine_put_text)
 *   5     DELETE: ID, the type from the byte after the selector
 *   6     POST /v1/match (what-if): BODY        7  POST /v1/matches: BODY
 *   8     POST /v1/matches/ID/STEP: ID\nSTEP    9  POST /v1/assignments: BODY
 *   10    POST /v1/needs/ID/close: ID           11 GET .../matches and .../needs: ID
 *   12    a journal op replayed (kb_engine_apply): BODY
 *   13    snapshot records restored into a new engine: BODY, a JSON array
 *   14    the config file, tokens included: BODY 15 GET of every type: ID
 *
 * Commands 0..12 act on one engine with the seed entities. Afterwards two
 * invariants are checked: the journal ops it handed out, replayed into an
 * empty engine, give the same state (what recovery relies on), and its
 * snapshot, JSON and binary, restores to the same state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "fault.h"
#include "fuzz.h"

typedef struct json_run {
    kb_engine_t *e;
    json_t *ops; /* every op the journal hook saw, in order */
    char config_path[64];
} json_run_t;

/* Every op the engine hands out must be JSON, as the journal keeps it. */
static int json_journal(void *ctx, const char *text, size_t len) {
    json_run_t *r = ctx;
    json_error_t err;
    json_t *op = json_loadb(text, len, 0, &err);
    if (!op) fz_fail("a journal op is not JSON", err.text);
    return json_array_append_new(r->ops, op) < 0 ? KB_ENOMEM : 0;
}

/* Events carry their data as JSON text: build it as the daemon would. */
static void json_event(void *ctx, const char *stream, const char *event, int64_t ts,
                       const json_t *data) {
    (void)ctx;
    (void)ts;
    if (!stream || !event) fz_fail("an event without stream or name", NULL);
    free(data ? json_dumps(data, JSON_COMPACT) : NULL);
}

/* "ID\nREST": copies ID into id (NUL-terminated) and points *rest after it. */
static void split_id(const uint8_t *p, size_t len, char *id, size_t cap, const uint8_t **rest,
                     size_t *rest_len) {
    size_t n = 0;
    while (n < len && p[n] != '\n') n++;
    size_t k = n < cap - 1 ? n : cap - 1;
    memcpy(id, p, k);
    id[k] = '\0';
    *rest = n < len ? p + n + 1 : p + len;
    *rest_len = n < len ? len - n - 1 : 0;
}

static json_t *parse(const json_run_t *r, const uint8_t *p, size_t len) {
    kb_fault_t f;
    json_t *v = NULL;
    /* kb_engine_parse takes text; give it a NUL-terminated copy. */
    char *text = malloc(len + 1);
    if (!text) return NULL;
    memcpy(text, p, len);
    text[len] = '\0';
    if (kb_engine_parse(r->e, text, len, &v, &f) < 0) v = NULL;
    free(text);
    return v;
}

static void restore_records(const json_t *recs) {
    kb_engine_t *e = NULL;
    if (!json_is_array(recs) || kb_engine_new(NULL, &e) < 0) return;
    kb_engine_set_clock(e, FZ_CLOCK_MS);
    size_t i;
    json_t *rec;
    kb_fault_t f;
    int rc = 0;
    json_array_foreach(recs, i, rec) {
        if ((rc = kb_engine_restore(e, rec, &f)) < 0) break;
    }
    /* A snapshot that restored must survive another round trip. */
    if (rc == 0) fz_check_roundtrip(e);
    kb_engine_free(e);
}

static void load_config(json_run_t *r, const uint8_t *p, size_t len) {
    FILE *f = fopen(r->config_path, "w");
    if (!f) return;
    size_t n = fwrite(p, 1, len, f);
    fclose(f);
    if (n != len) return;
    kb_config_t c;
    char err[512];
    kb_config_default(&c);
    kb_config_load_file(&c, r->config_path, err, sizeof err);
    /* kobled reads the tokens from the same file, apart. */
    kb_auth_t a = {0};
    if (kb_auth_load_file(&a, r->config_path, err, sizeof err) == 0) kb_auth_free(&a);
    unlink(r->config_path);
}

static void json_command(void *ctx, const uint8_t *p, size_t len) {
    json_run_t *r = ctx;
    if (len == 0) return;
    int sel = p[0] % 16;
    p++;
    len--;
    kb_engine_t *e = r->e;
    kb_fault_t f;
    json_t *body = NULL, *out = NULL;
    char id[256], step[32];
    const uint8_t *rest;
    size_t rest_len;
    bool created;
    kb_match_opts_t mo = {.limit = 10, .explain = true};
    switch (sel) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
        split_id(p, len, id, sizeof id, &rest, &rest_len);
        if (p[-1] & 16) { /* the text path of an API PUT */
            char *text = malloc(rest_len + 1), *answer = NULL;
            size_t answer_len;
            if (!text) break;
            memcpy(text, rest, rest_len);
            text[rest_len] = '\0';
            if (kb_engine_put_text(e, (kb_entity_t)sel, id, text, rest_len, &answer, &answer_len,
                                   &created, &f) == 0 &&
                !(out = json_loadb(answer, answer_len, 0, NULL)))
                fz_fail("a PUT answer is not JSON", answer);
            free(answer);
            free(text);
        } else if ((body = parse(r, rest, rest_len))) {
            kb_engine_put(e, (kb_entity_t)sel, id, body, &out, &created, &f);
        }
        break;
    case 5:
        if (len == 0) break;
        split_id(p + 1, len - 1, id, sizeof id, &rest, &rest_len);
        kb_engine_delete(e, (kb_entity_t)(p[0] % 5), id, &f);
        break;
    case 6:
        if ((body = parse(r, p, len))) kb_engine_what_if(e, body, &mo, &out, &f);
        break;
    case 7:
        if ((body = parse(r, p, len))) kb_engine_propose(e, body, &out, &f);
        break;
    case 8:
        split_id(p, len, id, sizeof id, &rest, &rest_len);
        split_id(rest, rest_len, step, sizeof step, &rest, &rest_len);
        kb_engine_match_step(e, id, step, &out, &f);
        break;
    case 9:
        if ((body = parse(r, p, len))) kb_engine_assign(e, body, &out, &f);
        break;
    case 10:
        split_id(p, len, id, sizeof id, &rest, &rest_len);
        kb_engine_close_need(e, id, &out, &f);
        break;
    case 11:
        split_id(p, len, id, sizeof id, &rest, &rest_len);
        kb_engine_matches(e, id, &mo, &out, &f);
        json_decref(out);
        out = NULL;
        kb_engine_volunteer_needs(e, id, &mo, &out, &f);
        break;
    case 12:
        /* A replayed op is journaled by whoever replays it: keep it for
         * the replay check when it took. */
        if ((body = parse(r, p, len)) && kb_engine_apply(e, body, &f) == 0)
            json_array_append(r->ops, body);
        break;
    case 13:
        if ((body = parse(r, p, len))) restore_records(body);
        break;
    case 14: load_config(r, p, len); break;
    default:
        split_id(p, len, id, sizeof id, &rest, &rest_len);
        for (int t = 0; t <= KB_ENT_SUBSCRIPTION; t++) {
            if (kb_engine_get(e, (kb_entity_t)t, id, &out, &f) == 0) json_decref(out);
            out = NULL;
        }
        kb_engine_match_get(e, id, &out, &f);
        break;
    }
    json_decref(body);
    json_decref(out);
}

/* The ops, replayed into an empty engine, must rebuild the state. */
static void check_replay(const json_run_t *r) {
    kb_engine_t *copy = NULL;
    if (kb_engine_new(NULL, &copy) < 0) return;
    kb_engine_set_clock(copy, FZ_CLOCK_MS);
    size_t i;
    json_t *op;
    kb_fault_t f = {0};
    json_array_foreach(r->ops, i, op) {
        int rc = kb_engine_apply(copy, op, &f);
        if (rc == KB_ENOMEM) {
            kb_engine_free(copy);
            return;
        }
        if (rc < 0) {
            char *text = json_dumps(op, JSON_COMPACT);
            fprintf(stderr, "op %zu: %s\n", i, text ? text : "?");
            free(text);
            fz_fail("a journaled op does not replay", f.message);
        }
    }
    char *want = fz_state(r->e), *got = fz_state(copy);
    kb_engine_free(copy);
    if (want && got && strcmp(want, got) != 0) {
        fprintf(stderr, "want:\n%s\ngot:\n%s\n", want, got);
        fz_fail("the journal replays into another state", NULL);
    }
    free(want);
    free(got);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fz_init();
    if (kb_auth_init() < 0) fz_fail("sodium_init failed", NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    json_run_t r = {.ops = json_array()};
    snprintf(r.config_path, sizeof r.config_path, "/tmp/koble-fuzz-config-%d.json", (int)getpid());
    if (!r.ops || kb_engine_new(NULL, &r.e) < 0) {
        json_decref(r.ops);
        return 0;
    }
    kb_engine_set_clock(r.e, FZ_CLOCK_MS);
    kb_engine_set_journal(r.e, json_journal, &r);
    kb_engine_set_events(r.e, json_event, &r);
    if (fz_seed(r.e) == 0) {
        size_t seeded = json_array_size(r.ops);
        fz_split(data, size, "", 1, 16, json_command, &r);
        /* The checks cost more than the commands: only when one wrote. */
        if (json_array_size(r.ops) > seeded) {
            check_replay(&r);
            fz_check_roundtrip(r.e);
        }
    }
    kb_engine_free(r.e);
    json_decref(r.ops);
    return 0;
}
