/* fuzz.h — what the libFuzzer targets in tests/fuzz/ share.
 *
 * Each target (fuzz_http.c, fuzz_json.c, fuzz_recover.c) defines
 * LLVMFuzzerTestOneInput. `make fuzz` links each with libFuzzer (clang);
 * tests/test_fuzz_corpus.c includes all three into one Criterion binary
 * (the entry points renamed) and replays the seed corpus and every input
 * that ever crashed, so `make test` runs them with gcc and no libFuzzer.
 *
 * Every input starts from the same small engine: a handful of real
 * entities from the Danish demo set (fz_engine), on a fixed clock, so an
 * input behaves the same in every run. A broken invariant calls
 * fz_fail, which aborts: libFuzzer records the input as a crash and a
 * Criterion test fails. */
#ifndef KB_FUZZ_H
#define KB_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "koble/engine.h"

/* The engines' fixed clock: 2025-11-25 14:00 UTC. */
#define FZ_CLOCK_MS 1764079200000LL
/* 2200-12-31 00:00 UTC, the last day dates and timestamps can hold. */
#define FZ_LATE_MS (84370LL * 86400000)

/* Once per process: quiet logs (warnings and errors only). */
void fz_init(void);
/* A new engine holding the seed entities, on the fixed clock, or NULL
 * (out of memory). The caller frees it with kb_engine_free. */
kb_engine_t *fz_engine(void);
/* Loads the seed entities into e through put; 0 or the first error. */
int fz_seed(kb_engine_t *e);

/* Calls fn for each part of data between separators sep (seplen bytes),
 * at most max parts. */
void fz_split(const uint8_t *data, size_t size, const char *sep, size_t seplen, int max,
              void (*fn)(void *ctx, const uint8_t *part, size_t len), void *ctx);

/* e's state as text to compare two engines (the dump, one record a line,
 * sorted; the engine record's instant and the token table left out, as
 * rejected writes may intern tokens). malloc'd; NULL when out of memory. */
char *fz_state(const kb_engine_t *e);
/* Checks that e's snapshot, JSON and binary, restores into an engine with
 * the same state. Aborts if not. Moves e's clock to the last instant
 * timestamps can hold (2200-12-31): whatever was valid when it was
 * written is valid then (a volunteer born 13 years before a replayed
 * op's instant), and a snapshot is only ever restored after it was taken. */
void fz_check_roundtrip(kb_engine_t *e);

/* Reports a broken invariant on stderr and aborts. */
void fz_fail(const char *what, const char *detail) __attribute__((noreturn));

#endif
