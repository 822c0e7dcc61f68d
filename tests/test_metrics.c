/* test_metrics.c — Prometheus text: counters, cumulative buckets, gauges. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

Test(metrics, counts_and_cumulative_histogram) {
    kb_metrics_t *m = kb_metrics_new();
    cr_assert_not_null(m);
    kb_metrics_observe(m, "GET /healthz", 200, 0.00005);
    kb_metrics_observe(m, "GET /healthz", 200, 0.0003);
    kb_metrics_observe(m, "GET /healthz", 503, 2.0);
    kb_metrics_gauge(m, "koble_volunteers", "Volunteers stored", 1000000);
    char *text;
    size_t len;
    cr_assert_eq(kb_metrics_render(m, &text, &len), 0);
    cr_assert_eq(strlen(text), len);
    const char *want[] = {
        "koble_http_requests_total{route=\"GET /healthz\",status=\"200\"} 2\n",
        "koble_http_requests_total{route=\"GET /healthz\",status=\"503\"} 1\n",
        "koble_http_request_duration_seconds_bucket{route=\"GET /healthz\",le=\"0.0001\"} 1\n",
        "koble_http_request_duration_seconds_bucket{route=\"GET /healthz\",le=\"0.0005\"} 2\n",
        "koble_http_request_duration_seconds_bucket{route=\"GET /healthz\",le=\"1\"} 2\n",
        "koble_http_request_duration_seconds_bucket{route=\"GET /healthz\",le=\"+Inf\"} 3\n",
        "koble_http_request_duration_seconds_count{route=\"GET /healthz\"} 3\n",
        "# TYPE koble_volunteers gauge\nkoble_volunteers 1000000\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        cr_assert(strstr(text, want[i]), "missing %s in:\n%s", want[i], text);
    free(text);
    kb_metrics_free(m);
}

Test(metrics, routes_beyond_the_table_fold_into_other) {
    kb_metrics_t *m = kb_metrics_new();
    static char names[100][16];
    for (int i = 0; i < 100; i++) {
        snprintf(names[i], sizeof names[i], "GET /r%d", i);
        kb_metrics_observe(m, names[i], 200, 0.001);
    }
    char *text;
    size_t len;
    cr_assert_eq(kb_metrics_render(m, &text, &len), 0);
    cr_assert(strstr(text, "koble_http_requests_total{route=\"other\",status=\"200\"} 37\n"), "%s",
              text);
    free(text);
    kb_metrics_free(m);
}
