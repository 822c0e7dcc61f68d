/* metrics.c — see metrics.h. Fixed-size tables: 64 routes × 16 status
 * codes, 32 gauges; a full table folds the rest into "other" rather than
 * grow without bound. */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "koble/error.h"
#include "sbuf.h"

#define MAX_ROUTES 64
#define MAX_STATUS 16
#define MAX_GAUGES 32

static const double buckets[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                 0.025,  0.05,    0.1,    0.25,  0.5,    1.0};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

typedef struct route {
    const char *name;
    int status[MAX_STATUS];
    unsigned long long count[MAX_STATUS];
    unsigned long long hist[NBUCKETS + 1]; /* last: +Inf */
    unsigned long long observations;
    double sum;
} route_t;

struct kb_metrics {
    route_t routes[MAX_ROUTES];
    int nroutes;
    struct {
        const char *name, *help;
        double value;
    } gauges[MAX_GAUGES];
    int ngauges;
};

kb_metrics_t *kb_metrics_new(void) { return calloc(1, sizeof(kb_metrics_t)); }

void kb_metrics_free(kb_metrics_t *m) { free(m); }

static route_t *find(kb_metrics_t *m, const char *name) {
    for (int i = 0; i < m->nroutes; i++)
        if (strcmp(m->routes[i].name, name) == 0) return &m->routes[i];
    return NULL;
}

/* The last row is kept for "other". */
static route_t *route_of(kb_metrics_t *m, const char *name) {
    route_t *r = find(m, name);
    if (r) return r;
    if (m->nroutes >= MAX_ROUTES - 1) {
        name = "other";
        if ((r = find(m, name))) return r;
    }
    r = &m->routes[m->nroutes++];
    r->name = name;
    return r;
}

void kb_metrics_observe(kb_metrics_t *m, const char *route, int status, double seconds) {
    route_t *r = route_of(m, route);
    int i = 0;
    while (i < MAX_STATUS && r->status[i] && r->status[i] != status) i++;
    if (i == MAX_STATUS) i = MAX_STATUS - 1; /* a 17th distinct status shares the last row */
    r->status[i] = r->status[i] ? r->status[i] : status;
    r->count[i]++;
    size_t b = 0;
    while (b < NBUCKETS && seconds > buckets[b]) b++;
    r->hist[b]++;
    r->observations++;
    r->sum += seconds;
}

void kb_metrics_gauge(kb_metrics_t *m, const char *name, const char *help, double value) {
    for (int i = 0; i < m->ngauges; i++) {
        if (strcmp(m->gauges[i].name, name) == 0) {
            m->gauges[i].value = value;
            return;
        }
    }
    if (m->ngauges == MAX_GAUGES) return;
    m->gauges[m->ngauges].name = name;
    m->gauges[m->ngauges].help = help;
    m->gauges[m->ngauges++].value = value;
}

/* Route names are our own templates: no quotes, backslashes or newlines to
 * escape. */
int kb_metrics_render(const kb_metrics_t *m, char **out, size_t *len) {
    kb_sbuf_t b = {0};
    kb_sbuf_printf(&b, "# HELP koble_http_requests_total HTTP requests by route and status.\n"
                       "# TYPE koble_http_requests_total counter\n");
    for (int i = 0; i < m->nroutes; i++)
        for (int s = 0; s < MAX_STATUS && m->routes[i].status[s]; s++)
            kb_sbuf_printf(&b, "koble_http_requests_total{route=\"%s\",status=\"%d\"} %llu\n",
                           m->routes[i].name, m->routes[i].status[s], m->routes[i].count[s]);
    kb_sbuf_printf(&b,
                   "# HELP koble_http_request_duration_seconds Time from a complete request to its "
                   "answer.\n# TYPE koble_http_request_duration_seconds histogram\n");
    for (int i = 0; i < m->nroutes; i++) {
        const route_t *r = &m->routes[i];
        unsigned long long cum = 0;
        for (size_t k = 0; k <= NBUCKETS; k++) {
            cum += r->hist[k];
            if (k < NBUCKETS)
                kb_sbuf_printf(
                    &b, "koble_http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                    r->name, buckets[k], cum);
            else
                kb_sbuf_printf(
                    &b,
                    "koble_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                    r->name, cum);
        }
        kb_sbuf_printf(&b, "koble_http_request_duration_seconds_sum{route=\"%s\"} %.9g\n", r->name,
                       r->sum);
        kb_sbuf_printf(&b, "koble_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                       r->name, r->observations);
    }
    for (int i = 0; i < m->ngauges; i++)
        kb_sbuf_printf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s %.17g\n", m->gauges[i].name,
                       m->gauges[i].help, m->gauges[i].name, m->gauges[i].name, m->gauges[i].value);
    if (b.err) {
        free(b.p);
        return b.err;
    }
    *out = b.p;
    *len = b.len;
    return 0;
}
