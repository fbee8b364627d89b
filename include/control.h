/* control.h - rules management and the admin endpoints' behaviour: load
 * the rules file, reload it (SIGHUP, POST /rules/reload), replace it (PUT
 * /rules, persisted atomically), and answer health, metrics, stats and
 * anomaly queries from the pipeline's figures. In a fleet (--rules-topic)
 * the rules come from the rules topic instead: a reload or a PUT is
 * published there, and every record of the group is applied in order.
 * Thread-safe: reloads are serialized by a mutex; nothing here runs on
 * the routing thread. */
#ifndef ROUTER_CONTROL_H
#define ROUTER_CONTROL_H

#include <stddef.h>

#include "admin.h"
#include "anomalies.h"
#include "metrics.h"
#include "pipeline.h"
#include "rules.h"
#include "rulestopic.h"

typedef struct control control_t;

/* Create the controller of the rules file at path (NULL: none, fleet
 * only); metrics and anomalies
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

/* Fleet: read the rules topic rt (not owned; c uses it until destroyed)
 * to its end and return the latest valid rules of the group (the caller
 * hands them to pipeline_create()) with their version in *version. When
 * the topic has none, the rules file is published as the first version.
 * NULL with errstr set and *code 2 (no valid rules anywhere) or 1 (the
 * topic cannot be read or written). Then start the reader with
 * rulestopic_start(rt, control_on_record, c). */
rules_set_t *control_load_topic(control_t *c, rulestopic_t *rt,
                                int64_t *version, int *code, char *errstr,
                                size_t errstr_size);

/* Fleet: apply one record of the rules topic (rulestopic_cb): loaded and
 * handed to the pipeline, or refused (the running rules stay, the error
 * shows in GET /rules and /healthz). */
void control_on_record(void *opaque, const rulestopic_record_t *rec);

/* The pipeline that reloads go to (not owned). */
void control_set_pipeline(control_t *c, pipeline_t *pl);

/* Let GET /anomalies?scan=topic (and since=, until=) read the running
 * rules' dead-letter topic from brokers with the consumer's share of the
 * -X properties props[0..nprops) ("consumer.P=V", "producer.P=V" or
 * "P=V"); all are copied. Until then such a query gets 503. Returns 0, or
 * -1 when out of memory or already set (the first setting stays). */
int control_set_dlq_scan(control_t *c, const char *brokers,
                         const char *const *props, size_t nprops);

/* Re-read the rules file and hand it to the pipeline (fleet: publish it
 * and wait until it runs here). Returns the new version, or -1 with
 * errstr set (the running rules stay). */
int64_t control_reload(control_t *c, char *errstr, size_t errstr_size);

/* Fill ops with the admin endpoints' callbacks, served by c. */
void control_admin_ops(control_t *c, admin_ops_t *ops);

#endif
