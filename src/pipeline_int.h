/* pipeline_int.h - the pipeline's private state, shared by pipeline.c (the
 * loop, Kafka handles, rebalance, offsets) and pipeline_route.c (routing a
 * message, producing, delivery reports, dead letters). Not a public
 * interface: nothing outside src/pipeline*.c includes it. */
#ifndef ROUTER_PIPELINE_INT_H
#define ROUTER_PIPELINE_INT_H

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "pipeline.h"
#include "rules.h"
#include "tracker.h"

#define PL_INLINE_DESTS 4       /* destinations held inside a msgctx */
#define PL_COPY_MAX 65535       /* librdkafka message.copy.max.bytes */
#define PL_DREF_UNMATCHED (-1)  /* dref.route of the unmatched topic */
#define PL_DREF_DEAD (-2)       /* dref.route of a dead-letter produce */
#define PL_MAX_TOPIC_STATS 32
#define PL_MAX_REASONS 16

/* A named counter and how much of it is published. */
typedef struct pl_count {
    char name[64];
    uint64_t n, pub;
} pl_count_t;

/* A rule set and the in-flight messages routed by it. Touched only by the
 * routing thread. */
typedef struct pl_rules {
    rules_set_t *rs;            /* owned */
    int version;                /* 1 for the first rules, +1 per reload */
    unsigned refs;              /* in-flight messages + 1 while current */
    uint64_t *hits;             /* matches per route index (owned) */
    uint64_t *hits_pub;         /* hits already published (owned) */
} pl_rules_t;

/* One source partition we own (or owned: revoked, draining). */
typedef struct pl_part {
    char *topic;                /* owned */
    int32_t partition;
    tracker_t *tr;              /* owned */
    int64_t stored;             /* last offset passed to offsets_store */
    int revoked;                /* given up; freed once tr drains */
    int stuck;                  /* a dead-letter produce failed */
    int paused;                 /* paused by us (backpressure, stuck, or
                                 * waiting) */
    int waiting;                /* reassigned while its revoked former self
                                 * still has messages in flight: not
                                 * fetched until they are done, so that
                                 * the replay comes after them */
    struct pl_dlreq *stuck_head; /* dead letters waiting for a retry,
                                  * oldest first */
    struct pl_dlreq *stuck_tail;
    unsigned dl_retrying;       /* retried dead letters not reported yet */
    int64_t txn_base;           /* exactly-once: offset of the first message
                                 * consumed in the open transaction, -1
                                 * when none: where an abort rewinds to */
    uint64_t consumed;          /* messages consumed */
    uint64_t consumed_pub;      /* of which published to the metrics */
    struct pl_part *next;       /* hash chain */
} pl_part_t;

struct pl_msgctx;

/* Exactly-once: a produce that failed for good in an aborted
 * transaction. When its message comes again, that destination gets a
 * dead letter instead (a transaction with a failed produce can only be
 * aborted, so the dead letter can only come in the next one). */
typedef struct pl_poison {
    char *topic;                /* source topic (owned) */
    int32_t partition;
    int64_t offset;
    char *dest;                 /* the destination that failed (owned) */
    char *error;                /* the librdkafka error (owned) */
} pl_poison_t;

/* Exactly-once: a destination whose produces failed for good in two
 * transactions in a row. For a while (until) every action to it becomes a
 * dead letter without being tried: else each transaction would meet a new
 * failure there and abort, and routing would crawl. */
typedef struct pl_failing {
    char *dest;                 /* the destination (owned) */
    char *error;                /* its last librdkafka error (owned) */
    uint64_t abort_seen;        /* txn_aborts when it last failed */
    int strikes;                /* transactions it failed, since the last
                                 * commit */
    int64_t until;              /* ms: held until then (0: not held) */
} pl_failing_t;

/* The opaque of one produce: which message, which action. */
typedef struct pl_dref {
    struct pl_msgctx *ctx;
    int route;                  /* route index, PL_DREF_UNMATCHED or
                                 * PL_DREF_DEAD */
} pl_dref_t;

/* A dead-letter produce (d.route == PL_DREF_DEAD); d must stay first. It
 * owns copies of the message's key, value and headers, so it can be
 * retried after the consumed message (or the failed delivery) is gone. */
typedef struct pl_dlreq {
    pl_dref_t d;
    char reason[64];
    char detail[512];
    int route;                  /* index of the route whose action failed,
                                 * or -1 */
    int retry;                  /* this produce is a retry of a stuck one */
    size_t omitted;             /* bytes of value left out (too large for
                                 * the dead-letter topic), 0 for none */
    void *key;                  /* owned copy, NULL for a null key */
    size_t key_len;
    void *value;                /* owned copy, NULL for a null value */
    size_t value_len;
    rd_kafka_headers_t *hdrs;   /* owned copy of the source headers, or
                                 * NULL */
    struct pl_dlreq *next;      /* stuck or deferred list */
} pl_dlreq_t;

/* One consumed message until every action for it is done. Values up to
 * PL_COPY_MAX bytes are produced with a copy (librdkafka copies them into
 * its request buffers anyway) and the consumed message is freed right
 * after routing; larger ones are produced by reference and the consumed
 * message is kept until its last delivery report. */
typedef struct pl_msgctx {
    rd_kafka_message_t *rkm;    /* owned when kept (large value), else
                                 * NULL */
    pl_part_t *part;            /* its source partition (topic) */
    int32_t partition;          /* source position, for dead letters */
    int64_t offset;
    int64_t timestamp;          /* source timestamp, -1 unknown */
    pl_rules_t *pr;             /* rules that routed it (counted ref) */
    uint64_t seq;               /* tracker handle */
    unsigned refs;              /* produces not reported yet (+1 guard
                                 * while routing) */
    int in_use;
    pl_dref_t dref[PL_INLINE_DESTS];
    pl_dref_t *xdref;           /* owned, when more destinations */
    void *src_key;              /* owned copy of the source key when a
                                 * route rewrote it and rkm is not kept:
                                 * a dead letter carries the source key */
    size_t src_key_len;
    int src_key_kept;           /* src_key is set (it may be a NULL key) */
    struct pl_msgctx *free_next;
} pl_msgctx_t;

/* A slab of message contexts; the pool never shrinks while running. */
typedef struct pl_slab {
    struct pl_slab *next;
    size_t n;
    pl_msgctx_t ctx[];
} pl_slab_t;

/* A cached producer topic handle. */
typedef struct pl_topic {
    char *name;                 /* owned */
    rd_kafka_topic_t *rkt;      /* owned */
    int partitions;             /* 0 until looked up */
    int64_t partitions_retry_at; /* ms: a failed look-up is not tried
                                  * again before then */
    uint64_t produced;          /* acknowledged produces */
    uint64_t produced_pub;      /* of which published to the metrics */
    struct pl_topic *next;
} pl_topic_t;

struct pipeline {
    pipeline_conf_t conf;       /* copy; strings owned by the caller */
    rd_kafka_t *rkc;            /* consumer */
    rd_kafka_t *rkp;            /* producer */
    rd_kafka_queue_t *rkqu;     /* the consumer queue */
    rules_scratch_t *scratch;   /* per routing thread */
    pl_rules_t *cur;            /* current rules */
    _Atomic(rules_set_t *) next_rules; /* handed over by set_rules */
    atomic_int next_version;    /* version of the latest set_rules */
    atomic_int stop;            /* set by pipeline_stop() */
    int stopping;               /* routing thread is shutting down */
    int fatal;                  /* a fatal error happened */

    pl_part_t **parts;          /* hash of partitions by topic+partition */
    size_t nbuckets;
    pl_part_t *last_part;       /* lookup cache */
    int assigned;               /* assigned, not revoked */
    int subscribed;             /* rd_kafka_subscribe() succeeded */
    int ever_assigned;          /* an assign rebalance was served: the
                                 * consumer may be destroyed (see
                                 * pipeline_destroy) */

    pl_topic_t **topics;        /* hash of producer topic handles */
    size_t ntbuckets;

    pl_slab_t *slabs;
    pl_msgctx_t *free_ctx;
    uint64_t inflight;          /* messages not wholly handled */
    pl_dlreq_t *dl_deferred;    /* dead letters asked for by delivery
                                 * reports, sent by pl_send_deferred(),
                                 * oldest first */
    pl_dlreq_t *dl_deferred_tail;
    int bp_paused;              /* backpressure pause active */
    long queue_max;             /* producer queue.buffering.max.messages */

    /* Counters of the routing thread, published under lock. */
    uint64_t consumed, produced, dead_lettered, dropped, unmatched;
    uint64_t produce_errors;
    pl_count_t reasons[PL_MAX_REASONS];  /* dead letters by reason */
    size_t nreasons;
    pl_count_t errors[PL_MAX_REASONS];   /* produce errors by name */
    size_t nerrors;
    uint64_t unmatched_pub;
    int64_t no_assignment_since; /* ms, 0 while partitions are assigned */

    /* Exactly-once (conf.exactly_once): pipeline_txn.c. */
    char txn_id[512];           /* transactional.id in use */
    int txn_open;               /* begin_transaction done, not ended */
    int64_t txn_started;        /* ms, when the open one began */
    uint64_t txn_msgs;          /* messages consumed into the open one */
    int txn_failed;             /* the open one can only be aborted */
    int txn_aborting;           /* abort in progress: purged deliveries
                                 * are released quietly */
    int64_t txn_resume_at;      /* ms: after an abort, consume again from
                                 * then on (backoff) */
    int txn_backoff_ms;         /* next backoff */
    char txn_error[256];        /* why the last one aborted; "" after a
                                 * commit with messages */
    uint64_t txn_commits, txn_aborts;
    uint64_t txn_commits_pub, txn_aborts_pub; /* published to metrics */
    pl_poison_t *poison;        /* owned array */
    size_t npoison;
    pl_failing_t *failing;      /* owned array */
    size_t nfailing;

    char fatal_reason[256];

    pthread_mutex_t lock;       /* guards pub and lag */
    pipeline_stats_t pub;
    int64_t lag;
};

/* FNV-1a of a string, continuing from h (start with PL_HASH_INIT). */
#define PL_HASH_INIT 1469598103934665603ULL
static inline uint64_t pl_hash_str(const char *s, uint64_t h)
{
    while (*s)
        h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
    return h;
}

/* pipeline_route.c */
/* Route one consumed message; takes rkm (also on failure). Returns 0, or
 * -1 on a fatal error (p->fatal_reason says which). */
int pl_route(pipeline_t *p, rd_kafka_message_t *rkm, pl_part_t *part);
void pl_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm,
                    void *opaque);
void pl_retry_stuck(pipeline_t *p, pl_part_t *part);
void pl_send_deferred(pipeline_t *p);
void pl_dlreq_free(pl_dlreq_t *dl);
void pl_ctx_free_all(pipeline_t *p);
void pl_topics_destroy(pipeline_t *p);
void pl_rules_unref(pipeline_t *p, pl_rules_t *pr);

/* pipeline_parts.c: partition states, offsets, rebalance */
int64_t pl_now_ms(void);
/* The live (not revoked) state of topic/partition, or NULL. */
pl_part_t *pl_part_find(pipeline_t *p, const char *topic, int32_t partition);
/* The newest revoked, still draining state of topic/partition, or NULL. */
pl_part_t *pl_zombie_find(pipeline_t *p, const char *topic,
                          int32_t partition);
/* A new live partition state, in the hash. NULL when out of memory. */
pl_part_t *pl_part_add(pipeline_t *p, const char *topic, int32_t partition);
/* Pause or resume fetching one partition (pl_part_sync_pause: to match
 * backpressure, stuck and waiting). */
void pl_part_pause(pipeline_t *p, pl_part_t *pt, int pause);
void pl_part_sync_pause(pipeline_t *p, pl_part_t *pt);
void pl_part_stuck(pipeline_t *p, pl_part_t *pt, int stuck);
/* Free one partition state (accepts NULL); pl_parts_reap(): unlink and
 * free the revoked ones whose messages are all handled. */
void pl_part_free(pl_part_t *pt);
void pl_parts_reap(pipeline_t *p);
/* offsets_store the live partitions' low watermarks that moved. */
void pl_offsets_flush(pipeline_t *p);
/* Serve delivery reports and the dead letters they ask for. */
void pl_serve_producer(pipeline_t *p, int timeout_ms);
void pl_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                     rd_kafka_topic_partition_list_t *parts, void *opaque);

/* pipeline_txn.c: exactly-once transactions */
/* The transactional.id for conf (written to id); 0 or -1 when too long. */
int pl_txn_id(const pipeline_conf_t *conf, char *id, size_t id_size);
/* Register the transactional producer with its coordinator (fences an
 * older instance with the same transactional.id). 0, or -1 with errstr. */
int pl_txn_init(pipeline_t *p, char *errstr, size_t errstr_size);
/* Open a transaction unless one is open. 0, or -1 on a fatal error. */
int pl_txn_begin(pipeline_t *p);
/* 1 when the open transaction is due to end (interval, size, failure). */
int pl_txn_due(const pipeline_t *p, int64_t now);
/* Wait for the open transaction's deliveries, send the source offsets
 * and commit. On an abortable error, abort it and rewind its partitions
 * (pl_txn_abort). Returns 0 when committed (or none was open), -1 when
 * aborted or on a fatal error (p->fatal). */
int pl_txn_commit(pipeline_t *p);
/* A delivery of the open transaction failed: remember it for the replay
 * and doom the transaction (the caller releases the message). */
void pl_txn_delivery_failed(pipeline_t *p, const rd_kafka_message_t *rkm);
/* Doom the open transaction (it will be aborted and replayed). */
void pl_txn_fail(pipeline_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* 1 when the action of ctx's message to dest failed for good in an
 * aborted transaction (the entry is taken), or dest is held as failing:
 * the error is written to err. */
int pl_txn_poison_take(pipeline_t *p, const pl_msgctx_t *ctx,
                       const char *dest, char *err, size_t err_size);
void pl_txn_destroy(pipeline_t *p);

/* pipeline_stats.c: counters, metrics, lag */
void pl_count(pl_count_t *c, size_t *n, const char *name);
/* Add what counter n gained since *pub to the sample of family name
 * (label: its one label value, or NULL); *pub follows only when the
 * registry took it, so a refused delta is offered again. The caller holds
 * the metrics lock. */
void pl_publish_delta(metrics_t *m, const char *name, const char *label,
                      uint64_t n, uint64_t *pub);
void pl_fold_hits(pipeline_t *p, pl_rules_t *pr);
/* Declare the router_* families the pipeline feeds. Returns 0 or -1. */
int pl_declare_metrics(metrics_t *m);
int pl_on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque);
/* Publish the counters (metrics deltas and the pipeline_stats snapshot). */
void pl_publish(pipeline_t *p);

#endif
