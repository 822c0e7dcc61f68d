/* batch.h — POST /v1/assignments in steps, so that the daemon can build
 * the candidate lists in slices on the loop and solve off it (batch.c
 * explains the choice). kb_engine_assign (koble/engine.h) runs the same
 * steps in one go.
 *
 * A batch holds ids, not slots or pointers, so the engine may change
 * between steps. Every step but kb_batch_solve runs on the loop thread. */
#ifndef KB_BATCH_H
#define KB_BATCH_H

#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "assign.h"
#include "fault.h"
#include "koble/engine.h"

typedef struct kb_batch kb_batch_t;

/* Validates body and picks the needs in scope now: 0 and *out (free with
 * kb_batch_free), or a fault (422, 404, 503). body is not kept. */
int kb_batch_new(kb_engine_t *e, const json_t *body, kb_batch_t **out, kb_fault_t *f);
/* Builds the candidate lists of the next needs, from the state now, until
 * budget_ns have passed (at least one need). 1 while needs remain, 0 when
 * every list is built, or a 503 fault. */
int kb_batch_step(kb_engine_t *e, kb_batch_t *b, uint64_t budget_ns, kb_fault_t *f);
/* Solves the lists: touches nothing but b, so it may run on any thread.
 * 0 or KB_ENOMEM. */
int kb_batch_solve(kb_batch_t *b);
/* After a solve: whether another round is due (some cut lists to search
 * again, longer; batch.c "Rounds"). If so, kb_batch_step then
 * kb_batch_solve again; if not, kb_batch_finish. */
int kb_batch_more(kb_batch_t *b);
/* The answer (new reference in *out), making the proposals if asked. */
int kb_batch_finish(kb_engine_t *e, kb_batch_t *b, json_t **out, kb_fault_t *f);
void kb_batch_free(kb_batch_t *b);
/* The instance kb_batch_solve solved (for the benchmark): valid after it,
 * until kb_batch_free. */
void kb_batch_instance(const kb_batch_t *b, uint32_t *nneeds, uint32_t *ncands,
                       const kb_assign_edge_t **edges, size_t *nedges);

/* Called once on the loop with the batch's result: rc, and the answer
 * (stolen) or the fault. */
typedef void (*kb_batch_done_fn)(void *ctx, int rc, json_t *out, const kb_fault_t *f);
/* Runs a whole batch on loop: slices from a uv_idle handle, the solver on
 * the thread pool, then done(ctx, ...). A body or scope that is refused
 * returns the fault at once and done is not called; otherwise 0, and done
 * is called later, never from within this call. */
int kb_batch_start(uv_loop_t *loop, kb_engine_t *e, const json_t *body, kb_batch_done_fn done,
                   void *ctx, kb_fault_t *f);

#endif
