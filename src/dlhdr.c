/* dlhdr.c - the router.* headers of a dead letter, for the router and for
 * `router dlq replay`. */
#include "dlhdr.h"

#include <inttypes.h>
#include <stdio.h>

#include "log.h"

int dlhdr_add1(rd_kafka_headers_t *h, const char *name, const char *val)
{
    if (!rd_kafka_header_add(h, name, -1, val, -1))
        return 0;
    log_warn("cannot add dead-letter header %s", name);
    return -1;
}

int dlhdr_add(rd_kafka_headers_t *h, const dlhdr_t *d)
{
    char num[32];
    int rc = 0;

    rc |= dlhdr_add1(h, "router.reason", d->reason);
    rc |= dlhdr_add1(h, "router.detail", d->detail);
    if (d->route)
        rc |= dlhdr_add1(h, "router.route", d->route);
    rc |= dlhdr_add1(h, "router.source.topic", d->src_topic);
    snprintf(num, sizeof(num), "%" PRId32, d->src_partition);
    rc |= dlhdr_add1(h, "router.source.partition", num);
    snprintf(num, sizeof(num), "%" PRId64, d->src_offset);
    rc |= dlhdr_add1(h, "router.source.offset", num);
    snprintf(num, sizeof(num), "%" PRId64, d->src_timestamp);
    rc |= dlhdr_add1(h, "router.source.timestamp", num);
    rc |= dlhdr_add1(h, "router.rules.version", d->rules_version);
    return rc ? -1 : 0;
}
