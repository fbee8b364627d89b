/* anomscan.h - GET /anomalies answered from the dead-letter topic itself
 * (scan=topic, since=, until=): the newest dead letters of a time range,
 * filtered like the in-memory ring (anomalies.h), read with dlqscan.h and
 * bounded in records and in time, so that any instance answers for every
 * instance that writes the topic. */
#ifndef ROUTER_ANOMSCAN_H
#define ROUTER_ANOMSCAN_H

#include <stddef.h>
#include <stdint.h>

#define ANOMSCAN_MAX_RECORDS 100000 /* records read by one query at most */
#define ANOMSCAN_MAX_MS      10000  /* ms one query takes, about, at most */

/* One query. Nothing is kept past anomscan_query(). */
typedef struct anomscan_conf {
    const char *brokers;
    const char *const *props; /* consumer "prop=val", NULL-ended, or NULL */
    const char *topic;        /* the dead-letter topic */
    const char *reason;       /* equal to router.reason; NULL: any */
    const char *q; /* in the key, value or detail, ASCII case ignored;
                    * NULL: any */
    int64_t since_ms, until_ms; /* dead letters' timestamps, inclusive, ms
                                 * since the epoch; -1: open */
    int limit;                  /* dead letters returned at most, > 0 */
    int64_t max_records; /* records read at most (> 0): the newest of each
                          * partition, shared out between partitions */
    int max_ms;          /* the scan stops after about this long (> 0) */
} anomscan_conf_t;

/* Scan c->topic and return a malloc'd JSON text (the caller frees it):
 * {"source": "topic", "topic", "since", "until" (RFC 3339 or null),
 * "scanned": records read in the range, "total": of them dead letters,
 * "matched": of them selected, "returned": n, "truncated": a bound cut
 * the scan short, "anomalies": [...]}, newest first (dead letter's
 * timestamp, then partition and offset), each entry with the fields of
 * anomalies_query()'s ("topic", "partition", "offset", "timestamp" are the
 * source's; key and value are previews of ANOMALIES_PREVIEW bytes, U+FFFD
 * for invalid UTF-8) plus "rules_version" and "dead_letter": {"partition",
 * "offset", "timestamp"}. On failure returns NULL with errstr and
 * *status: 404 (no such topic, or not a dead-letter topic), 502 (the
 * cluster could not be read), 500 (out of memory). */
char *anomscan_query(const anomscan_conf_t *c, int *status, char *errstr,
                     size_t errstr_size);

#endif
