/* metrics.h - a small thread-safe registry of labelled counters and gauges,
 * rendered as Prometheus text exposition format and as JSON.
 *
 * Writers update it in bulk (the routing thread publishes deltas a few
 * times a second), readers render it; one mutex guards it, never taken on
 * the per-message path. */
#ifndef ROUTER_METRICS_H
#define ROUTER_METRICS_H

#include <stddef.h>

typedef struct metrics metrics_t;

typedef enum metrics_type { METRICS_COUNTER, METRICS_GAUGE } metrics_type_t;

/* Create an empty registry. NULL when out of memory. */
metrics_t *metrics_create(void);

/* Free it. Accepts NULL. */
void metrics_destroy(metrics_t *m);

/* Declare a family: name, type, HELP text, and the names of its labels
 * (0 to 2; NULL for none). Families render in declaration order. Returns
 * 0; -1 when out of memory or the name is taken. */
int metrics_declare(metrics_t *m, const char *name, metrics_type_t type,
                    const char *help, const char *label1, const char *label2);

/* Take or release the registry's lock around a series of updates (so a
 * reader sees them all or none). The update functions below require it. */
void metrics_lock(metrics_t *m);
void metrics_unlock(metrics_t *m);

/* Add v to (or set to v) the sample of family name with the given label
 * values (as many as declared; NULL for unused). Creates the sample at 0
 * first. Returns 0; -1 for an unknown family or out of memory. */
int metrics_add(metrics_t *m, const char *name, const char *v1, const char *v2,
                double v);
int metrics_set(metrics_t *m, const char *name, const char *v1, const char *v2,
                double v);

/* Drop every sample of a gauge family (before setting the current ones,
 * e.g. the lag of the partitions assigned now). */
void metrics_clear(metrics_t *m, const char *name);

/* The value of one sample, 0 when absent (takes the lock itself). */
double metrics_get(metrics_t *m, const char *name, const char *v1,
                   const char *v2);

/* Render everything: Prometheus text format (# HELP, # TYPE, samples with
 * escaped label values) or a JSON object {"name": value} for unlabelled
 * families and {"name": [{"label": "v", ..., "value": x}, ...]} for the
 * others. Returns a malloc'd string, NULL when out of memory. Takes the
 * lock itself. */
char *metrics_render_text(metrics_t *m);
char *metrics_render_json(metrics_t *m);

#endif
