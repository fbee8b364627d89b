/* dlhdr.h - the router.* headers of a dead letter (README, "Dead
 * letters"), written in one place for the router (pipeline_dlq.c) and for
 * `router dlq replay` (dlqreplay.c), so both write the same index that
 * `router dlq` and GET /anomalies?scan=topic read (dlqscan.c). */
#ifndef ROUTER_DLHDR_H
#define ROUTER_DLHDR_H

#include <librdkafka/rdkafka.h>
#include <stdint.h>

/* What a dead letter says about itself. */
typedef struct dlhdr {
    const char *reason;        /* router.reason */
    const char *detail;        /* router.detail */
    const char *route;         /* router.route, NULL: none failed */
    const char *src_topic;     /* router.source.topic */
    int32_t src_partition;     /* router.source.partition */
    int64_t src_offset;        /* router.source.offset */
    int64_t src_timestamp;     /* router.source.timestamp, -1 unknown */
    const char *rules_version; /* router.rules.version */
} dlhdr_t;

/* Add the router.* headers of d to h (after whatever h holds: the
 * source's own headers). Returns 0, or -1 when librdkafka refused one
 * (logged with its name); the others are added. */
int dlhdr_add(rd_kafka_headers_t *h, const dlhdr_t *d);

/* Add one header name=val (a NUL-terminated string) to h. 0 or -1
 * (logged). */
int dlhdr_add1(rd_kafka_headers_t *h, const char *name, const char *val);

#endif
