/* anomalies.h - a bounded ring of the most recent dead-lettered messages,
 * searchable by reason and keyword (GET /anomalies). Thread-safe: the
 * routing thread pushes, admin threads query. */
#ifndef ROUTER_ANOMALIES_H
#define ROUTER_ANOMALIES_H

#include <stddef.h>
#include <stdint.h>

#define ANOMALIES_PREVIEW 256 /* bytes of key and value kept */

typedef struct anomalies anomalies_t;

/* One dead letter as pushed: every pointer is copied (previews cut to
 * ANOMALIES_PREVIEW bytes). */
typedef struct anomalies_entry {
    const char *reason;
    const char *detail;
    const char *route; /* NULL when no route's action failed */
    const char *topic; /* source */
    int32_t partition;
    int64_t offset;
    int64_t timestamp; /* source timestamp, ms, -1 unknown */
    const void *key;   /* NULL: null key */
    size_t key_len;
    const void *value; /* NULL: null value */
    size_t value_len;
} anomalies_entry_t;

/* A ring of capacity entries (> 0). NULL when out of memory. */
anomalies_t *anomalies_create(size_t capacity);

/* Free it. Accepts NULL. */
void anomalies_destroy(anomalies_t *a);

/* Record one dead letter, evicting the oldest when full. Can't fail (an
 * entry is dropped from the ring, never from Kafka, if memory runs out). */
void anomalies_push(anomalies_t *a, const anomalies_entry_t *e);

/* The newest entries first, at most limit, whose reason equals reason
 * (NULL: any) and whose key, value preview, detail or route contains q
 * (NULL or "": any; case-insensitive), as a malloc'd JSON text:
 * {"source": "ring", "total": seen since start, "returned": n,
 * "anomalies": [{"reason",
 * "detail", "route", "topic", "partition", "offset", "timestamp", "key",
 * "value", "value_size"}...]}. Non-UTF-8 bytes in previews are shown as
 * U+FFFD. NULL when out of memory. */
char *anomalies_query(anomalies_t *a, const char *reason, const char *q,
                      int limit);

#endif
