/* pipeline.h - the router's data path: one consumer, the rule engine, one
 * producer, delivery reports, the offset trackers (docs/design.md).
 *
 * pipeline_run() is the routing thread: it owns the Kafka handles, the
 * trackers and every in-flight message. Other threads talk to it only
 * through pipeline_stop(), pipeline_set_rules() and pipeline_stats(). */
#ifndef ROUTER_PIPELINE_H
#define ROUTER_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "anomalies.h"
#include "metrics.h"
#include "rules.h"

typedef struct pipeline pipeline_t;

typedef struct pipeline_conf {
    const char *brokers;      /* bootstrap.servers */
    const char *group;        /* group.id */
    const char *const *props; /* "k=v" (both clients), "consumer.k=v",
                               * "producer.k=v" */
    size_t nprops;
    const char *const *topics; /* subscription; NULL: the rules' sources */
    size_t ntopics;
    int batch_size;               /* messages per consume batch */
    int connect_timeout_ms;       /* give up at start when no broker answers */
    int drain_timeout_ms;         /* shutdown/revoke wait for deliveries */
    int stats_interval_ms;        /* librdkafka statistics (for lag) */
    metrics_t *metrics;           /* where to publish the router_* metrics
                                   * (declared by pipeline_create); NULL:
                                   * none. Not owned. */
    anomalies_t *anomalies;       /* where to record dead letters; NULL:
                                   * none. Not owned. */
    int health_grace_ms;          /* no assignment for longer: unhealthy */
    int exactly_once;             /* transactional producer: the routed
                                   * messages and the source offsets commit
                                   * in one transaction */
    const char *transactional_id; /* exactly_once: NULL derives
                                   * "router-<group>-<hostname>" */
    int txn_interval_ms;          /* exactly_once: end a transaction at
                                   * least this often */
    int txn_max_messages;         /* ... or after this many consumed
                                   * messages */
    /* Fleet (--rules-topic): rules versions are the fleet's, given by
     * the caller. A newly assigned partition is held (not routed) until
     * rules_synced() says the rules were the latest at some moment after
     * the assignment: a partition never goes back to older rules when it
     * moves (pipeline_hold.c). */
    int fleet;
    int64_t rules_version; /* fleet: version of the rules given to
                            * pipeline_create() (else 1) */
    /* fleet: 1 when the rules were the latest at some moment after
     * since_ms (clock_ms()); called with rules_opaque */
    int (*rules_synced)(void *opaque, int64_t since_ms);
    void *rules_opaque;
    int hold_warn_ms; /* fleet: a partition held longer turns the health
                       * red (it stays held) */
} pipeline_conf_t;

/* Per-destination-topic counters in a stats snapshot. */
typedef struct pipeline_topic_stat {
    char topic[256];
    uint64_t produced;
} pipeline_topic_stat_t;

/* A consistent snapshot of the counters. */
typedef struct pipeline_stats {
    uint64_t consumed;       /* messages consumed */
    uint64_t produced;       /* deliveries acknowledged (all topics,
                              * dead letter included) */
    uint64_t dead_lettered;  /* dead letters acknowledged */
    uint64_t dropped;        /* dropped by rule (unmatched "drop") */
    uint64_t unmatched;      /* messages no route matched */
    uint64_t produce_errors; /* deliveries that failed permanently */
    uint64_t inflight;       /* consumed, not yet wholly handled */
    int64_t lag;             /* consumer lag summed over partitions,
                              * -1 when unknown */
    int assigned;            /* assigned partitions */
    int paused;              /* partitions paused for backpressure or
                              * a stuck dead letter */
    int stuck;               /* partitions stuck on a failed dead
                              * letter */
    uint64_t txn_commits;    /* exactly-once: transactions committed */
    uint64_t txn_aborts;     /* ... and aborted (then replayed) */
    int64_t rules_version;   /* version of the running rules */
    int held;                /* partitions held for newer rules (fleet) */
    int running;             /* pipeline_run() is routing */
    char health[256];        /* "" when healthy, else the reason */
    /* Dead letters by reason, and produced by destination topic: the
     * first entries only (enough for a status line). */
    struct {
        char reason[64];
        uint64_t n;
    } reasons[16];
    size_t nreasons;
    pipeline_topic_stat_t topics[32];
    size_t ntopics;
} pipeline_stats_t;

/* Check every -X property of conf against librdkafka without connecting.
 * Returns 0, or -1 with errstr naming the property ("-X foo=1: No such
 * configuration property: \"foo\""). */
int pipeline_conf_check(const pipeline_conf_t *conf, char *errstr,
                        size_t errstr_size);

/* Create the consumer and producer, check that a broker answers within
 * conf->connect_timeout_ms, and subscribe. Takes ownership of rs (also on
 * failure). Returns NULL with errstr set on failure. */
pipeline_t *pipeline_create(const pipeline_conf_t *conf, rules_set_t *rs,
                            char *errstr, size_t errstr_size);

/* Route until pipeline_stop() is called, then stop fetching, wait for
 * in-flight deliveries (up to drain_timeout_ms), commit and close the
 * consumer. Returns 0 after a clean stop, -1 after a fatal error (logged). */
int pipeline_run(pipeline_t *p);

/* Ask pipeline_run() to stop. Async-signal-safe, any thread. */
void pipeline_stop(pipeline_t *p);

/* Hand a new rule set to the routing thread, which switches to it between
 * two batches (each message is routed wholly by one version) and frees the
 * old one when no in-flight message refers to it. Takes ownership of rs.
 * version: the fleet version, or -1 for the next local one (the previous
 * + 1). Returns the new version number, or -1 when out of memory (rs is
 * freed, the running rules stay). Any thread. */
int64_t pipeline_set_rules(pipeline_t *p, rules_set_t *rs, int64_t version);

/* Copy the counters into *st. Any thread. */
void pipeline_stats(pipeline_t *p, pipeline_stats_t *st);

/* Free everything. Call after pipeline_run() returned. Accepts NULL. */
void pipeline_destroy(pipeline_t *p);

#endif
