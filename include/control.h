/* control.h - rules management and the admin endpoints' behaviour: load
 * the rules file, reload it (SIGHUP, POST /rules/reload), replace it (PUT
 * /rules, persisted atomically), and answer health, metrics, stats and
 * anomaly queries from the pipeline's figures. Thread-safe: reloads are
 * serialized by a mutex; nothing here runs on the routing thread. */
#ifndef ROUTER_CONTROL_H
#define ROUTER_CONTROL_H

#include <stddef.h>

#include "admin.h"
#include "anomalies.h"
#include "metrics.h"
#include "pipeline.h"
#include "rules.h"

typedef struct control control_t;

/* Create the controller of the rules file at path; metrics and anomalies
 * (not owned, may be NULL) are what /metrics, /stats and /anomalies show.
 * Declares router_rules_reloads_total. NULL when out of memory. */
control_t *control_create(const char *path, metrics_t *metrics,
                          anomalies_t *anomalies);

/* Free it. Accepts NULL. */
void control_destroy(control_t *c);

/* Read and compile the rules file for the start (version 1). Returns the
 * rule set (the caller hands it to pipeline_create()), or NULL with
 * errstr set ("rules.json:3:9: ..." or "rules.json: routes[0].to: ..."). */
rules_set_t *control_load(control_t *c, char *errstr, size_t errstr_size);

/* The pipeline that reloads go to (not owned). */
void control_set_pipeline(control_t *c, pipeline_t *pl);

/* Let GET /anomalies?scan=topic (and since=, until=) read the running
 * rules' dead-letter topic from brokers with the consumer's share of the
 * -X properties props[0..nprops) ("consumer.P=V", "producer.P=V" or
 * "P=V"); all are copied. Until then such a query gets 503. Returns 0, or
 * -1 when out of memory or already set (the first setting stays). */
int control_set_dlq_scan(control_t *c, const char *brokers,
                         const char *const *props, size_t nprops);

/* Re-read the rules file and hand it to the pipeline. Returns the new
 * version, or -1 with errstr set (the running rules stay). */
int control_reload(control_t *c, char *errstr, size_t errstr_size);

/* Fill ops with the admin endpoints' callbacks, served by c. */
void control_admin_ops(control_t *c, admin_ops_t *ops);

#endif
