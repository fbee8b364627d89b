/* pipeline_int.h - the pipeline's private state and the functions its parts
 * (src/pipeline_*.c, listed by layer below) offer each other. Not a public
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

#define PL_INLINE_DESTS     4     /* destinations held inside a msgctx */
#define PL_COPY_MAX         65535 /* librdkafka message.copy.max.bytes */
#define PL_ACTION_UNMATCHED (-1)  /* actions.route of the unmatched topic */
#define PL_ACTION_DEAD      (-2)  /* actions.route of a dead-letter produce */
#define PL_MAX_TOPIC_STATS  32
#define PL_MAX_REASONS      16

/* A named counter and how much of it is published. */
typedef struct pl_count {
    char name[64];
    uint64_t n, pub;
} pl_count_t;

/* A rule set and the in-flight messages routed by it. Touched only by the
 * routing thread. */
typedef struct pl_rules {
    rules_set_t *rs;    /* owned */
    int64_t version;    /* file: 1 for the first rules, +1 per
                         * reload; fleet: the record's offset */
    unsigned refs;      /* in-flight messages + 1 while current */
    uint64_t *hits;     /* matches per route index (owned) */
    uint64_t *hits_pub; /* hits already published (owned) */
} pl_rules_t;

/* One source partition we own (or owned: revoked, draining). */
typedef struct pl_part {
    char *topic; /* owned */
    int32_t partition;
    tracker_t *tr;             /* owned */
    int64_t stored;            /* last offset passed to offsets_store */
    int revoked;               /* given up; freed once tr drains */
    int stuck;                 /* a dead-letter produce failed */
    int paused;                /* paused by us (backpressure, stuck, or
                                * waiting) */
    int waiting;               /* reassigned while its revoked former self
                                * still has messages in flight: not
                                * fetched until they are done, so that
                                * the replay comes after them */
    int held;                  /* fleet: assigned, not routed until the
                                * rules are recent enough (pipeline_hold.c) */
    int64_t held_since;        /* ms, when it was assigned */
    rd_kafka_message_t **hold; /* messages consumed while held, in
                                * order (owned) */
    size_t nhold, hold_cap;
    struct pl_deadletter *stuck_head; /* dead letters waiting for a retry,
                                       * oldest first */
    struct pl_deadletter *stuck_tail;
    unsigned dl_retrying;  /* retried dead letters not reported yet */
    int64_t txn_base;      /* exactly-once: offset of the first message
                            * consumed in the open transaction, -1
                            * when none: where an abort rewinds to */
    uint64_t consumed;     /* messages consumed */
    uint64_t consumed_pub; /* of which published to the metrics */
    struct pl_part *next;  /* hash chain */
} pl_part_t;

struct pl_msgctx;

/* The exactly-once state: pipeline_txn.c and pipeline_txnfail.c
 * (src/pipeline_txn_int.h); the other parts use their functions. */
typedef struct pl_txn pl_txn_t;

/* The opaque of one produce: which message, which action. */
typedef struct pl_action {
    struct pl_msgctx *ctx;
    int route; /* route index, PL_ACTION_UNMATCHED or
                * PL_ACTION_DEAD */
} pl_action_t;

/* A dead-letter produce (d.route == PL_ACTION_DEAD); d must stay first. It
 * owns copies of the message's key, value and headers, so it can be
 * retried after the consumed message (or the failed delivery) is gone. */
typedef struct pl_deadletter {
    pl_action_t d;
    char reason[64];
    char detail[512];
    int route;      /* index of the route whose action failed,
                     * or -1 */
    int retry;      /* this produce is a retry of a stuck one */
    size_t omitted; /* bytes of value left out (too large for
                     * the dead-letter topic), 0 for none */
    void *key;      /* owned copy, NULL for a null key */
    size_t key_len;
    void *value; /* owned copy, NULL for a null value */
    size_t value_len;
    rd_kafka_headers_t *hdrs;   /* owned copy of the source headers, or
                                 * NULL */
    struct pl_deadletter *next; /* stuck or deferred list */
} pl_deadletter_t;

/* One consumed message until every action for it is done. Values up to
 * PL_COPY_MAX bytes are produced with a copy (librdkafka copies them into
 * its request buffers anyway) and the consumed message is freed right
 * after routing; larger ones are produced by reference and the consumed
 * message is kept until its last delivery report. */
typedef struct pl_msgctx {
    rd_kafka_message_t *rkm; /* owned when kept (large value), else
                              * NULL */
    pl_part_t *part;         /* its source partition (topic) */
    int32_t partition;       /* source position, for dead letters */
    int64_t offset;
    int64_t timestamp; /* source timestamp, -1 unknown */
    pl_rules_t *pr;    /* rules that routed it (counted ref) */
    uint64_t seq;      /* tracker handle */
    unsigned refs;     /* produces not reported yet (+1 guard
                        * while routing) */
    int in_use;
    pl_action_t actions[PL_INLINE_DESTS];
    pl_action_t *xactions; /* owned, when more destinations */
    void *src_key;         /* owned copy of the source key when a
                            * route rewrote it and rkm is not kept:
                            * a dead letter carries the source key */
    size_t src_key_len;
    int src_key_kept; /* src_key is set (it may be a NULL key) */
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
    char *name;                  /* owned */
    rd_kafka_topic_t *rkt;       /* owned */
    int partitions;              /* 0 until looked up */
    int64_t partitions_retry_at; /* ms: a failed look-up is not tried
                                  * again before then */
    uint64_t produced;           /* acknowledged produces */
    uint64_t produced_pub;       /* of which published to the metrics */
    struct pl_topic *next;
} pl_topic_t;

struct pipeline {
    pipeline_conf_t conf;               /* copy; strings owned by the caller */
    rd_kafka_t *rkc;                    /* consumer */
    rd_kafka_t *rkp;                    /* producer */
    rd_kafka_queue_t *rkqu;             /* the consumer queue */
    rules_scratch_t *scratch;           /* per routing thread */
    pl_rules_t *cur;                    /* current rules */
    _Atomic(pl_rules_t *) next_rules;   /* handed over by set_rules */
    _Atomic int_least64_t last_version; /* version of the latest
                                         * set_rules */
    atomic_int stop;                    /* set by pipeline_stop() */
    int stopping;                       /* routing thread is shutting down */
    int fatal;                          /* a fatal error happened */

    pl_part_t **parts; /* hash of partitions by topic+partition */
    size_t nbuckets;
    pl_part_t *last_part; /* lookup cache */
    int assigned;         /* assigned, not revoked */
    int subscribed;       /* rd_kafka_subscribe() succeeded */
    int ever_assigned;    /* an assign rebalance was served: the
                           * consumer may be destroyed (see
                           * pipeline_destroy) */

    pl_topic_t **topics; /* hash of producer topic handles */
    size_t ntbuckets;

    pl_slab_t *slabs;
    pl_msgctx_t *free_ctx;
    uint64_t inflight;            /* messages not wholly handled */
    pl_deadletter_t *dl_deferred; /* dead letters asked for by delivery
                                   * reports, sent by pl_send_deferred(),
                                   * oldest first */
    pl_deadletter_t *dl_deferred_tail;
    int bp_paused;  /* backpressure pause active */
    long queue_max; /* producer queue.buffering.max.messages */

    /* Counters of the routing thread, published under lock. */
    uint64_t consumed, produced, dead_lettered, dropped, unmatched;
    uint64_t produce_errors;
    pl_count_t reasons[PL_MAX_REASONS]; /* dead letters by reason */
    size_t nreasons;
    pl_count_t errors[PL_MAX_REASONS]; /* produce errors by name */
    size_t nerrors;
    uint64_t unmatched_pub;
    int64_t no_assignment_since; /* ms, 0 while partitions are assigned */

    pl_txn_t *txn; /* exactly-once state (owned), NULL without it */
    uint64_t txn_commits_pub, txn_aborts_pub; /* published to metrics */

    char fatal_reason[256];

    pthread_mutex_t lock; /* guards pub and lag */
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

/* ---- the pipeline's parts, by layer --------------------------------------
 * Each file below calls only the ones listed before it (and the modules of
 * include/): pipeline_base, then parts, ctx, topics, txnfail, dlq, route,
 * stats, txn, hold, rebalance, and pipeline.c on top. */

/* pipeline_base.c: the fatal error, named counters */

/* Stop routing: record the reason (printf format; it replaces an earlier
 * one, which a later, closer diagnosis may refine) and set p->fatal. */
void pl_fatal(pipeline_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Count one more of name in c[0..*n) (the last slot takes the rest). */
void pl_count(pl_count_t *c, size_t *n, const char *name);
/* Count an acknowledged produce (its topic's and the total). */
void pl_count_produced(pipeline_t *p, const rd_kafka_message_t *rkm);
/* Count a produce that failed for good, by error name. */
void pl_count_produce_error(pipeline_t *p, const char *name);

/* pipeline_parts.c: the table of source partitions, their pause state, the
 * offsets handed to librdkafka */

/* Every partition state, live and revoked: PL_FOREACH_PART(p, pt) { ... }
 * (a `break` leaves only the inner loop). */
#define PL_FOREACH_PART(p, pt)                                                 \
    for (size_t pl_b_ = 0; pl_b_ < (p)->nbuckets; pl_b_++)                     \
        for (pl_part_t *pt = (p)->parts[pl_b_]; pt; pt = pt->next)
/* The live (not revoked) state of topic/partition, or NULL. */
pl_part_t *pl_part_find(pipeline_t *p, const char *topic, int32_t partition);
/* The newest revoked, still draining state of topic/partition, or NULL. */
pl_part_t *pl_part_find_revoked(pipeline_t *p, const char *topic,
                                int32_t partition);
/* A new live partition state, in the table. NULL when out of memory. */
pl_part_t *pl_part_add(pipeline_t *p, const char *topic, int32_t partition);
/* Free one partition state (accepts NULL); the caller unlinked it. */
void pl_part_free(pl_part_t *pt);
/* Pause or resume fetching one partition (pl_part_sync_pause: to match
 * backpressure, stuck and waiting; pl_part_stuck: set stuck, then sync). */
void pl_part_pause(pipeline_t *p, pl_part_t *pt, int pause);
void pl_part_sync_pause(pipeline_t *p, pl_part_t *pt);
void pl_part_stuck(pipeline_t *p, pl_part_t *pt, int stuck);
/* A new list of (topic, partition, offset) of the partition states that
 * pick() keeps (it gets each one's low watermark in *off, may change it,
 * and returns 1 to keep it). NULL when out of memory; the caller destroys
 * the list. */
rd_kafka_topic_partition_list_t *pl_offsets_list(
    pipeline_t *p,
    int (*pick)(pipeline_t *p, pl_part_t *pt, int64_t *off, void *opaque),
    void *opaque);
/* offsets_store the live partitions' low watermarks that moved. */
void pl_offsets_flush(pipeline_t *p);
/* How many live partitions are held (fleet), and the longest hold so far
 * (ms). */
int pl_hold_count(const pipeline_t *p, int64_t now, int64_t *longest);

/* pipeline_ctx.c: message contexts and the rules versions they hold */

/* A pl_rules_t for rs (taken over, also on failure) with one reference.
 * NULL when out of memory. */
pl_rules_t *pl_rules_new(rules_set_t *rs, int64_t version);
/* Drop one reference of pr (accepts NULL); the last one frees it. */
void pl_rules_unref(pipeline_t *p, pl_rules_t *pr);
/* A context from the pool, marked in use. NULL when out of memory. */
pl_msgctx_t *pl_ctx_get(pipeline_t *p);
/* Drop one reference of ctx; on the last one its message is wholly
 * handled: the tracker is told, the context goes back to the pool. */
void pl_ctx_release(pipeline_t *p, pl_msgctx_t *ctx);
/* Free the pool and what the contexts still in use hold (shutdown). */
void pl_ctx_free_all(pipeline_t *p);

/* pipeline_topics.c: destination topics */

/* The cached handle of topic name, created on first use. NULL when out of
 * memory or librdkafka refuses the name (errstr says why). */
pl_topic_t *pl_topic_get(pipeline_t *p, const char *name, char *errstr,
                         size_t errstr_size);
/* The partition count of t (cached), or -1 when metadata can't be had. */
int pl_topic_partitions(pipeline_t *p, pl_topic_t *t);
/* Produce value to t with key and headers hdrs (taken over, also on
 * failure), opaque a. With by_ref, value is not copied: the caller keeps
 * it alive until the delivery report. Waits through a full queue by
 * serving delivery reports. Returns 0 when enqueued, else the error. */
rd_kafka_resp_err_t pl_produce(pipeline_t *p, pl_topic_t *t, int32_t partition,
                               const void *value, size_t len, const void *key,
                               size_t key_len, int64_t ts,
                               rd_kafka_headers_t *hdrs, int by_ref,
                               pl_action_t *a);
void pl_topics_destroy(pipeline_t *p);

/* The timestamp to produce ctx's message with: the source's, or 0 (now). */
static inline int64_t pl_produce_ts(const pl_msgctx_t *ctx)
{
    return ctx->timestamp > 0 ? ctx->timestamp : 0;
}

/* pipeline_stats.c: counters, metrics, lag */

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

/* pipeline_txnfail.c: what failed under exactly-once */

/* Doom the open transaction (it will be aborted and replayed). */
void pl_txn_fail(pipeline_t *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A delivery of the open transaction failed: remember it for the replay
 * and doom the transaction (the caller releases the message). */
void pl_txn_delivery_failed(pipeline_t *p, const rd_kafka_message_t *rkm);
/* 1 when the action of ctx's message to dest failed for good in an
 * aborted transaction (the entry is taken), or dest is held as failing:
 * the error is written to err. */
int pl_txn_poison_take(pipeline_t *p, const pl_msgctx_t *ctx, const char *dest,
                       char *err, size_t err_size);
/* After a commit of offsets l: forget the failures of messages before
 * them, and the destinations whose hold ran out. */
void pl_txn_poison_prune(pipeline_t *p,
                         const rd_kafka_topic_partition_list_t *l);
void pl_txn_failing_prune(pipeline_t *p);
/* 1 when the open transaction can only be aborted (0 without one). */
int pl_txn_doomed(const pipeline_t *p);
/* One more message consumed into the open transaction (if any). */
void pl_txn_consumed(pipeline_t *p);
/* The transactions committed and aborted, and why the last one aborted
 * (NULL after a commit with messages). All 0 and NULL without
 * --exactly-once. */
void pl_txn_counts(const pipeline_t *p, uint64_t *commits, uint64_t *aborts,
                   const char **error);
/* Free the exactly-once state (accepts p->txn NULL). */
void pl_txn_destroy(pipeline_t *p);

/* pipeline_dlq.c: dead letters */

/* Dead-letter ctx's message (key, value and headers given: the consumed
 * message's, or a failed delivery's; copied) with reason/detail (route:
 * failed route or -1). The message holds one more reference until the
 * dead letter is done. With defer (from a delivery report), the produce
 * waits for pl_send_deferred(): producing there could recurse through a
 * full queue. */
void pl_dead_letter(pipeline_t *p, pl_msgctx_t *ctx, const char *reason,
                    const char *detail, int route, int defer, const void *key,
                    size_t key_len, const void *value, size_t value_len,
                    const rd_kafka_headers_t *hdrs);
/* Send the dead letters deferred by delivery reports, oldest first. */
void pl_send_deferred(pipeline_t *p);
/* Send again the dead letters parked on part (stuck). */
void pl_retry_stuck(pipeline_t *p, pl_part_t *part);
void pl_dlq_delivered(pipeline_t *p, const rd_kafka_message_t *rkm,
                      pl_deadletter_t *dl);
void pl_deadletter_free(pl_deadletter_t *dl);

/* pipeline_route.c: routing and delivery reports */

/* Route one consumed message; takes rkm (also on failure). Returns 0, or
 * -1 on a fatal error (pl_fatal() said why). */
int pl_route(pipeline_t *p, rd_kafka_message_t *rkm, pl_part_t *part);
void pl_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm,
                    void *opaque);
/* Serve delivery reports (and the dead letters they ask for), waiting up
 * to timeout_ms for the first. */
void pl_serve_producer(pipeline_t *p, int timeout_ms);

/* pipeline_txn.c: exactly-once transactions */

/* The transactional.id for conf (written to id); 0 or -1 when too long. */
int pl_txn_id(const pipeline_conf_t *conf, char *id, size_t id_size);
/* Create p->txn (--exactly-once). 0, or -1 with errstr. */
int pl_txn_create(pipeline_t *p, char *errstr, size_t errstr_size);
/* The transactional.id in use, NULL without --exactly-once. */
const char *pl_txn_name(const pipeline_t *p);
/* 1 while backing off after an abort (consume nothing until then). */
int pl_txn_backing_off(const pipeline_t *p, int64_t now);
/* Register the transactional producer with its coordinator (fences an
 * older instance with the same transactional.id). 0, or -1 with errstr. */
int pl_txn_init(pipeline_t *p, char *errstr, size_t errstr_size);
/* Open a transaction unless one is open. 0, or -1 on a fatal error. */
int pl_txn_begin(pipeline_t *p);
/* 1 when the open transaction is due to end (interval, size, failure). */
int pl_txn_due(const pipeline_t *p, int64_t now);
/* Wait for the open transaction's deliveries, send the source offsets
 * and commit. On an abortable error, abort it and rewind its partitions.
 * Returns 0 when committed (or none was open), -1 when aborted or on a
 * fatal error (p->fatal). */
int pl_txn_commit(pipeline_t *p);

/* pipeline_hold.c: partitions held for newer rules (fleet) */

/* Keep rkm (taken) of held partition pt until it is released, and stop
 * fetching pt. Returns 0, or -1 on a fatal error (out of memory). */
int pl_hold_msg(pipeline_t *p, pl_part_t *pt, rd_kafka_message_t *rkm);
/* Learn what the held partitions need, and release those whose need is
 * met: their kept messages are routed, their fetching resumes. Returns 0,
 * or -1 on a fatal error. */
int pl_hold_check(pipeline_t *p);

/* pipeline_rebalance.c: assign, revoke, drain, reap */

void pl_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                     rd_kafka_topic_partition_list_t *parts, void *opaque);
/* Unlink and free the revoked partitions whose messages are all handled
 * (a reassigned one waiting for them then fetches). */
void pl_parts_reap(pipeline_t *p);

#endif
