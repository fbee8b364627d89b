/* pipeline_txn.c - exactly-once transactions: the messages routed from a
 * run of consumed messages and the source offsets past them commit in one
 * Kafka transaction (read_committed consumers see each routed message
 * once). A transaction ends every txn_interval_ms or txn_max_messages
 * consumed messages, on a revoke and on stop; on an abortable error it is
 * aborted and its partitions rewound to where it began (what failed in it:
 * pipeline_txnfail.c). Fencing and other fatal errors stop the router.
 * Routing thread only. */
#include "pipeline_txn_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

#define TXN_OFFSETS_TIMEOUT_MS 30000
#define TXN_TRIES              5    /* retriable errors before aborting */
#define TXN_CALL_MS            5000 /* one commit or abort call waits this */
#define TXN_ABORT_TRIES        3    /* abort calls before giving up */
#define TXN_BACKOFF_MIN_MS     200  /* pause after an abort, doubling ... */
#define TXN_BACKOFF_MAX_MS     5000 /* ... up to this */

int pl_txn_id(const pipeline_conf_t *conf, char *id, size_t id_size)
{
    char host[256];
    int n;

    if (conf->transactional_id) {
        n = snprintf(id, id_size, "%s", conf->transactional_id);
    } else {
        if (gethostname(host, sizeof(host)) != 0)
            snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = '\0';
        n = snprintf(id, id_size, "router-%s-%s", conf->group, host);
    }
    return n < 0 || (size_t)n >= id_size ? -1 : 0;
}

/* The producer was fenced or hit another fatal error: stop routing. */
static void txn_fatal(pipeline_t *p, const char *what, rd_kafka_error_t *e)
{
    rd_kafka_resp_err_t code = rd_kafka_error_code(e);
    char fatal[256];

    if (code == RD_KAFKA_RESP_ERR__FATAL &&
        rd_kafka_fatal_error(p->rkp, fatal, sizeof(fatal)))
        ; /* the underlying error says more */
    else
        snprintf(fatal, sizeof(fatal), "%s", rd_kafka_error_string(e));
    if (code == RD_KAFKA_RESP_ERR__FENCED ||
        code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
        code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH ||
        strstr(fatal, "fenced"))
        pl_fatal(p,
                 "exactly-once: fenced by another producer with "
                 "transactional.id \"%.64s\": give each router instance "
                 "its own --transactional-id (%.40s)",
                 p->txn->id, fatal);
    else
        pl_fatal(p, "exactly-once: %s: %.200s", what, fatal);
}

/* What to do after a failed transactional call (e is destroyed). */
enum txn_next { TXN_RETRY, TXN_ABORT, TXN_FATAL };

static enum txn_next txn_error(pipeline_t *p, const char *what,
                               rd_kafka_error_t *e)
{
    enum txn_next next;

    if (rd_kafka_error_is_fatal(e)) {
        txn_fatal(p, what, e);
        next = TXN_FATAL;
    } else if (rd_kafka_error_txn_requires_abort(e) ||
               !rd_kafka_error_is_retriable(e)) {
        pl_txn_fail(p, "%s: %s", what, rd_kafka_error_string(e));
        next = TXN_ABORT;
    } else {
        log_warn("exactly-once: %s: %s; retrying", what,
                 rd_kafka_error_string(e));
        next = TXN_RETRY;
    }
    rd_kafka_error_destroy(e);
    return next;
}

int pl_txn_create(pipeline_t *p, char *errstr, size_t errstr_size)
{
    p->txn = calloc(1, sizeof(*p->txn));
    if (!p->txn) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    if (pl_txn_id(&p->conf, p->txn->id, sizeof(p->txn->id))) {
        snprintf(errstr, errstr_size, "--transactional-id: too long");
        return -1;
    }
    p->txn->backoff_ms = TXN_BACKOFF_MIN_MS;
    return 0;
}

const char *pl_txn_name(const pipeline_t *p)
{
    return p->txn ? p->txn->id : NULL;
}

int pl_txn_backing_off(const pipeline_t *p, int64_t now)
{
    return p->txn && now < p->txn->resume_at;
}

int pl_txn_init(pipeline_t *p, char *errstr, size_t errstr_size)
{
    rd_kafka_error_t *e;

    e = rd_kafka_init_transactions(p->rkp, p->conf.connect_timeout_ms);
    if (e) {
        snprintf(errstr, errstr_size,
                 "exactly-once: init_transactions (transactional.id "
                 "\"%s\"): %s",
                 p->txn->id, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return -1;
    }
    log_info("exactly-once: transactional.id \"%s\"", p->txn->id);
    return 0;
}

int pl_txn_begin(pipeline_t *p)
{
    rd_kafka_error_t *e;

    if (p->txn->open)
        return 0;
    if ((e = rd_kafka_begin_transaction(p->rkp))) {
        txn_fatal(p, "begin_transaction", e);
        rd_kafka_error_destroy(e);
        return -1;
    }
    p->txn->open = 1;
    p->txn->failed = 0;
    p->txn->started = clock_ms();
    p->txn->msgs = 0;
    return 0;
}

int pl_txn_due(const pipeline_t *p, int64_t now)
{
    if (!p->txn->open)
        return 0;
    if (p->txn->failed)
        return 1;
    return p->txn->msgs > 0 &&
           (p->txn->msgs >= (uint64_t)p->conf.txn_max_messages ||
            now - p->txn->started >= p->conf.txn_interval_ms);
}

/* ---- commit and abort ------------------------------------------------- */

/* Serve delivery reports until nothing of the open transaction is in
 * flight. Returns 0, or -1 when a delivery failed or it took longer than
 * the drain timeout (the transaction is then doomed). */
static int txn_drain(pipeline_t *p)
{
    int64_t end = clock_ms() + p->conf.drain_timeout_ms;

    while (p->inflight > 0 && !p->txn->failed && !p->fatal) {
        if (clock_ms() >= end) {
            pl_txn_fail(p,
                        "%" PRIu64 " messages not acknowledged within "
                        "%d ms",
                        p->inflight, p->conf.drain_timeout_ms);
            break;
        }
        pl_serve_producer(p, 10);
    }
    return p->txn->failed || p->fatal ? -1 : 0;
}

/* The offsets past what the open transaction handled, per partition it
 * read. NULL when out of memory. */
/* pl_offsets_list() pick: partitions the open transaction read. */
static int pick_txn(pipeline_t *p, pl_part_t *pt, int64_t *off, void *opaque)
{
    (void)p;
    (void)opaque;
    return pt->txn_base >= 0 && *off >= 0;
}

/* The source offsets of the open transaction: NULL when out of memory. */
static rd_kafka_topic_partition_list_t *txn_offsets(pipeline_t *p)
{
    return pl_offsets_list(p, pick_txn, NULL);
}

/* Rewind every partition the aborted transaction read to where it began,
 * with a fresh tracker (its offsets come again). Returns 0, or -1 (fatal)
 * when a live partition cannot be rewound. */
static int txn_rewind(pipeline_t *p)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    rd_kafka_error_t *e;
    int rc = 0;

    if (!l)
        goto oom;
    PL_FOREACH_PART(p, pt)
    {
        tracker_t *tr;

        if (pt->txn_base < 0)
            continue;
        if (!(tr = tracker_create(pt->topic, pt->partition)))
            goto oom;
        tracker_destroy(pt->tr);
        pt->tr = tr;
        if (!pt->revoked)
            rd_kafka_topic_partition_list_add(l, pt->topic, pt->partition)
                ->offset = pt->txn_base;
        log_info("exactly-once: %s [%" PRId32 "] rewound to offset "
                 "%" PRId64,
                 pt->topic, pt->partition, pt->txn_base);
        pt->txn_base = -1;
    }
    if (l->cnt > 0) {
        e = rd_kafka_seek_partitions(p->rkc, l, 10000);
        if (e) {
            pl_fatal(p, "exactly-once: cannot rewind after an abort: %s",
                     rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            rc = -1;
        }
        for (int i = 0; i < l->cnt && rc == 0; i++)
            if (l->elems[i].err) {
                pl_fatal(p,
                         "exactly-once: cannot rewind %s [%" PRId32
                         "] after an abort: %s",
                         l->elems[i].topic, l->elems[i].partition,
                         rd_kafka_err2str(l->elems[i].err));
                rc = -1;
            }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
oom:
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    pl_fatal(p, "exactly-once: out of memory rewinding after an abort");
    return -1;
}

/* Abort the open transaction, wait for its purged deliveries, rewind its
 * partitions and back off before the next one. Returns -1 (the caller's
 * work was not committed), with p->fatal set if it could not. */
static int txn_abort(pipeline_t *p)
{
    int64_t end;
    rd_kafka_error_t *e;
    int tries = 0;

    p->txn->aborting = 1;
    /* Each call is bounded: an abort that cannot complete (librdkafka
     * 2.0.2 can wait for ever for a partition whose retried request lost
     * its sequence to the abort's purge) must not hang the router, nor
     * keep it from stopping. */
    while ((e = rd_kafka_abort_transaction(p->rkp, TXN_CALL_MS))) {
        char why[256];

        snprintf(why, sizeof(why), "%s", rd_kafka_error_string(e));
        if (txn_error(p, "abort_transaction", e) != TXN_RETRY ||
            ++tries == TXN_ABORT_TRIES || atomic_load(&p->stop)) {
            if (!p->fatal) {
                pl_fatal(p,
                         "exactly-once: the transaction could not be "
                         "aborted (%.100s); nothing of it was committed: "
                         "restarted, the router routes it again from the "
                         "last committed offsets",
                         why);
            }
            p->txn->aborting = 0;
            return -1;
        }
    }
    end = clock_ms() + p->conf.drain_timeout_ms;
    while (p->inflight > 0 && clock_ms() < end)
        pl_serve_producer(p, 10);
    p->txn->aborting = 0;
    p->txn->open = 0;
    p->txn->failed = 0;
    p->txn->aborts++;
    if (p->inflight > 0) {
        pl_fatal(p,
                 "exactly-once: %" PRIu64 " messages still in flight after "
                 "an abort",
                 p->inflight);
        return -1;
    }
    if (txn_rewind(p))
        return -1;
    p->txn->resume_at = clock_ms() + p->txn->backoff_ms;
    log_warn("exactly-once: transaction aborted (%s); replaying in %d ms",
             p->txn->error, p->txn->backoff_ms);
    p->txn->backoff_ms = p->txn->backoff_ms * 2 > TXN_BACKOFF_MAX_MS
                             ? TXN_BACKOFF_MAX_MS
                             : p->txn->backoff_ms * 2;
    return -1;
}

int pl_txn_commit(pipeline_t *p)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    rd_kafka_consumer_group_metadata_t *cgmd = NULL;
    rd_kafka_error_t *e;
    enum txn_next next;
    int tries = 0;
    uint64_t msgs = p->txn->msgs;

    if (!p->txn->open)
        return 0;
    if (txn_drain(p))
        goto abort;
    if (!(l = txn_offsets(p))) {
        pl_txn_fail(p, "out of memory");
        goto abort;
    }
    if (l->cnt > 0) {
        if (!(cgmd = rd_kafka_consumer_group_metadata(p->rkc))) {
            pl_txn_fail(p, "no consumer group metadata");
            goto abort;
        }
        while ((e = rd_kafka_send_offsets_to_transaction(
                    p->rkp, l, cgmd, TXN_OFFSETS_TIMEOUT_MS))) {
            next = txn_error(p, "send_offsets_to_transaction", e);
            if (next == TXN_FATAL)
                goto out;
            if (next == TXN_ABORT || ++tries == TXN_TRIES)
                goto abort;
        }
    }
    tries = 0;
    while ((e = rd_kafka_commit_transaction(p->rkp, TXN_CALL_MS))) {
        next = txn_error(p, "commit_transaction", e);
        if (next == TXN_FATAL)
            goto out;
        if (next == TXN_ABORT || ++tries == TXN_TRIES || atomic_load(&p->stop))
            goto abort;
    }
    PL_FOREACH_PART(p, pt)
    pt->txn_base = -1;
    if (p->txn->npoison)
        pl_txn_poison_prune(p, l);
    pl_txn_failing_prune(p);
    p->txn->open = 0;
    p->txn->commits++;
    if (msgs > 0) {
        p->txn->error[0] = '\0';
        p->txn->backoff_ms = TXN_BACKOFF_MIN_MS;
    }
    log_debug("exactly-once: committed %" PRIu64 " messages", msgs);
out:
    if (cgmd)
        rd_kafka_consumer_group_metadata_destroy(cgmd);
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    return p->fatal ? -1 : 0;
abort:
    if (cgmd)
        rd_kafka_consumer_group_metadata_destroy(cgmd);
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    if (p->fatal)
        return -1;
    return txn_abort(p);
}
