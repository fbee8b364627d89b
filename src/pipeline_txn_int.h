/* pipeline_txn_int.h - the exactly-once state, private to pipeline_txn.c
 * (transactions) and pipeline_txnfail.c (what failed in them). */
#ifndef ROUTER_PIPELINE_TXN_INT_H
#define ROUTER_PIPELINE_TXN_INT_H

#include "pipeline_int.h"

/* Exactly-once: a produce that failed for good in an aborted
 * transaction. When its message comes again, that destination gets a
 * dead letter instead (a transaction with a failed produce can only be
 * aborted, so the dead letter can only come in the next one). */
typedef struct pl_poison {
    char *topic; /* source topic (owned) */
    int32_t partition;
    int64_t offset;
    char *dest;  /* the destination that failed (owned) */
    char *error; /* the librdkafka error (owned) */
} pl_poison_t;

/* Exactly-once: a destination whose produces failed for good in two
 * transactions in a row. For a while (until) every action to it becomes a
 * dead letter without being tried: else each transaction would meet a new
 * failure there and abort, and routing would crawl. */
typedef struct pl_failing {
    char *dest;          /* the destination (owned) */
    char *error;         /* its last librdkafka error (owned) */
    uint64_t abort_seen; /* txn_aborts when it last failed */
    int strikes;         /* transactions it failed, since the last
                          * commit */
    int64_t until;       /* ms: held until then (0: not held) */
} pl_failing_t;

struct pl_txn {
    char id[512];      /* transactional.id in use */
    int open;          /* begin_transaction done, not ended */
    int64_t started;   /* ms, when the open one began */
    uint64_t msgs;     /* messages consumed into the open one */
    int failed;        /* the open one can only be aborted */
    int aborting;      /* abort in progress: purged deliveries
                        * are released quietly */
    int64_t resume_at; /* ms: after an abort, consume again from
                        * then on (backoff) */
    int backoff_ms;    /* next backoff */
    char error[256];   /* why the last one aborted; "" after a
                        * commit with messages */
    uint64_t commits, aborts;
    pl_poison_t *poison; /* owned array */
    size_t npoison;
    pl_failing_t *failing; /* owned array */
    size_t nfailing;
};

#endif
