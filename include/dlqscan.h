/* dlqscan.h - read a dead-letter topic directly: every record of a time
 * range, as it stood when the scan began, with its router.* headers
 * decoded. The reader of `router dlq` (dlqtool.h); no consumer group, no
 * commits. */
#ifndef ROUTER_DLQSCAN_H
#define ROUTER_DLQSCAN_H

#include <stddef.h>
#include <stdint.h>

/* One record of the topic, valid during the callback only. Strings are
 * NUL-terminated copies of the headers (cut to fit), "" when absent. */
typedef struct dlqscan_rec {
    int32_t partition; /* its position in the dead-letter topic */
    int64_t offset;
    int64_t timestamp;      /* ms, the dead letter's own; -1 unknown */
    int is_dead_letter;     /* it has a router.reason header */
    char reason[64];        /* router.reason */
    char detail[512];       /* router.detail */
    char route[256];        /* router.route */
    char src_topic[256];    /* router.source.topic */
    int32_t src_partition;  /* router.source.partition, -1 absent */
    int64_t src_offset;     /* router.source.offset, -1 absent */
    int64_t src_timestamp;  /* router.source.timestamp, -1 absent */
    char rules_version[32]; /* router.rules.version */
    void *headers;   /* all its headers (rd_kafka_headers_t *), NULL: none */
    const void *key; /* NULL for a null key */
    size_t key_len;
    const void *value; /* NULL for a null value */
    size_t value_len;
} dlqscan_rec_t;

/* What to scan. since_ms/until_ms: the range of record timestamps, both
 * inclusive, -1 for open (narrowed with offsets-for-times, so a long topic
 * is not read from its start; records outside it are skipped, not
 * counted). */
typedef struct dlqscan_conf {
    const char *brokers;
    const char *topic;
    const char *const *props; /* "prop=val" for the consumer, NULL-ended
                               * or NULL */
    int64_t since_ms, until_ms;
    int timeout_ms; /* bound on metadata calls and on a stall */
} dlqscan_conf_t;

/* One partition's range of offsets: [start, end). */
typedef struct dlqscan_range {
    int32_t partition;
    int64_t start, end;
} dlqscan_range_t;

/* What a scan saw. */
typedef struct dlqscan_summary {
    uint64_t records;      /* records read in the range */
    uint64_t dead_letters; /* of which with router.* headers */
    int partitions;        /* partitions of the topic */
} dlqscan_summary_t;

/* The ranges a scan of conf would read now, one per partition (*n of
 * them, in *out, which the caller frees): [low, high watermark) narrowed to
 * [since, until] where the cluster indexes times. Returns 0; 1 or 2 with
 * errstr as dlqscan_run(). */
int dlqscan_ranges(const dlqscan_conf_t *conf, dlqscan_range_t **out, int *n,
                   char *errstr, size_t errstr_size);

/* Read ranges[0..n) (NULL: those of dlqscan_ranges() now), skipping
 * records outside [since, until], and call cb for each record, partition
 * by partition in offset order; cb returns 0 to go on, 1 to stop early.
 * Returns 0; 1 (errstr) when the cluster could not be read (unreachable,
 * a stalled fetch); 2 (errstr) when the topic does not exist or holds
 * records of which none is a dead letter. sum may be NULL. */
int dlqscan_run(const dlqscan_conf_t *conf, const dlqscan_range_t *ranges,
                int n, int (*cb)(const dlqscan_rec_t *rec, void *opaque),
                void *opaque, dlqscan_summary_t *sum, char *errstr,
                size_t errstr_size);

/* Parse a time for --since/--until into ms since the epoch: RFC 3339 UTC
 * ("2026-12-02T10:00:00.123Z", seconds, milliseconds and "Z" optional,
 * also "2026-12-02"), epoch milliseconds (13 digits or more) or seconds, or an
 * age ("30m", "2h", "7d", "45s": that long before now). Returns 0, or -1
 * when malformed or before 1970 (*out unchanged). */
int dlqscan_parse_time(const char *s, int64_t now_ms, int64_t *out);

/* Format ms since the epoch as RFC 3339 UTC with milliseconds into out
 * ("2026-12-02T10:00:00.123Z"; "-" for a negative time). */
void dlqscan_fmt_time(int64_t ms, char *out, size_t size);

/* A selection of dead letters; every field NULL for any. */
typedef struct dlqscan_filter {
    const char *reason, *route, *source_topic, *rules_version; /* equal */
    const char *q; /* in the key, value or detail, ASCII case ignored */
} dlqscan_filter_t;

/* 1 when rec is a dead letter (it has router.reason) that f keeps, else
 * 0. Can't fail. */
int dlqscan_selected(const dlqscan_filter_t *f, const dlqscan_rec_t *rec);

/* The consumer's share of -X properties x[0..n) as dlqscan_conf_t.props
 * takes them: "producer.P=V" left out, "consumer.P=V" as "P=V", plain
 * ones kept. Returns a malloc'd NULL-ended array of pointers into x[]
 * (the caller frees the array, not the strings), NULL when out of
 * memory. */
const char **dlqscan_consumer_props(const char *const *x, size_t n);

#endif
