/* servers.h — the servers benchmark programs start for themselves, on
 * loopback, and stop again. */
#ifndef KB_SERVERS_H
#define KB_SERVERS_H

#include <sys/types.h>

/* A free loopback TCP port, or -1. */
int kb_bench_free_port(void);
/* Starts redis-server without persistence on port, pinned to cpu (-1: not
 * pinned), and waits until it answers PING (5 s at most). Returns its pid,
 * or -1 if it exited or did not answer. */
pid_t kb_bench_start_redis(int port, int cpu);
/* Pins the calling process to cpu (-1: nothing). */
void kb_bench_pin(int cpu);
/* SIGTERM and wait. */
void kb_bench_stop(pid_t pid);

#endif
