/* timing.h — what every benchmark program needs to time things. */
#ifndef KB_TIMING_H
#define KB_TIMING_H

#include <stddef.h>

/* Monotonic seconds. */
double kb_bench_now(void);
/* Sorts v ascending, so v[(size_t)(n * q)] is the q-quantile. */
void kb_bench_sort(double *v, size_t n);

#endif
