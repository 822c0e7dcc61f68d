/* timing.c — see timing.h. */
#include "timing.h"

#include <stdlib.h>
#include <time.h>

double kb_bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void kb_bench_sort(double *v, size_t n) { qsort(v, n, sizeof *v, cmp_double); }
