/* dlqtool_int.h - the parts of `router dlq` (dlqtool.c: options and main;
 * dlqstats.c, dlqsearch.c, dlqreplay.c: the subcommands; dlqsel.c below
 * them: the selection and JSON helpers). Not a public interface. */
#ifndef ROUTER_DLQTOOL_INT_H
#define ROUTER_DLQTOOL_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "dlqscan.h"
#include "options.h"

/* The options of `router dlq`, one table for every subcommand. */
typedef struct dlqtool_conf {
    const char *brokers, *topic, *since, *until;
    const char *reason, *route, *source_topic, *rules_version, *q;
    options_list_t props;
    int limit, json, verbose, help;
    double timeout;
    /* replay */
    const char *rules, *replay_id;
    const char *rules_topic, *group; /* --rules-topic T -G GROUP */
    int to_source, dry_run, rate, commit_every;
} dlqtool_conf_t;

/* dlqsel.c */

/* 1 when r is a dead letter the selection of c keeps. */
int dlq_selected(const dlqtool_conf_t *c, const dlqscan_rec_t *r);
/* A JSON string of an RFC 3339 time, or null for a negative one. */
json_t *dlq_time_json(int64_t ms);
/* buf[0..n) as a JSON string (invalid UTF-8 replaced), "..." appended when
 * cut (full > n); null for NULL. NULL when out of memory. */
json_t *dlq_bytes_json(const char *buf, size_t n, size_t full);
/* Scan sc with cb, then report a failure (or *oom set by cb) as one line
 * "router: error: dlq CMD: ..." on stderr, and a --reason that no dead
 * letter has as a warning naming the reasons there are. Returns
 * dlqscan_run()'s code (1 for out of memory). */
int dlq_scan(const dlqtool_conf_t *c, const dlqscan_conf_t *sc, const char *cmd,
             int (*cb)(const dlqscan_rec_t *, void *), void *opaque,
             const int *oom, dlqscan_summary_t *sum);

/* dlqstats.c, dlqsearch.c, dlqreplay.c: the subcommands; exit codes as
 * dlqtool_main */
int dlq_run_stats(const dlqtool_conf_t *c, const dlqscan_conf_t *sc);
int dlq_run_search(const dlqtool_conf_t *c, const dlqscan_conf_t *sc);
/* dlqreplay.c */
int dlq_run_replay(const dlqtool_conf_t *c, const dlqscan_conf_t *sc);

#endif
