/* metrics.h — Prometheus metrics of the daemon.
 *
 * Requests are counted by route template and status, and timed into one
 * latency histogram per route. Gauges (entity counts, connection figures)
 * are set by the caller before rendering. One thread only, no locks: the
 * event loop owns the metrics. Routes are a small fixed set of templates
 * ("GET /v1/needs/{id}/matches"), never raw paths, so the label set is
 * bounded and carries no ids. */
#ifndef KB_METRICS_H
#define KB_METRICS_H

#include <stddef.h>

typedef struct kb_metrics kb_metrics_t;

/* NULL when out of memory. */
kb_metrics_t *kb_metrics_new(void);
void kb_metrics_free(kb_metrics_t *m);
/* Counts one request; route must be a string that lives as long as m
 * (a literal). More than 64 routes are counted as "other". */
void kb_metrics_observe(kb_metrics_t *m, const char *route, int status, double seconds);
/* Sets a gauge; name and help must live as long as m (literals). */
void kb_metrics_gauge(kb_metrics_t *m, const char *name, const char *help, double value);
/* Renders the text exposition format 0.0.4 into *out (the caller frees it). */
int kb_metrics_render(const kb_metrics_t *m, char **out, size_t *len);

#endif
