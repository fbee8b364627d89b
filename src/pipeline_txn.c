/* pipeline_txn.c - the exactly-once mode (DESIGN section 5): the messages
 * routed from a run of consumed messages and the source offsets past them
 * commit in one Kafka transaction, so a consumer reading the destinations
 * with isolation.level=read_committed sees each routed message once.
 *
 * A transaction ends every txn_interval_ms or txn_max_messages consumed
 * messages, on a revoke and on stop. On an abortable error it is aborted
 * and every partition it read is rewound to where it began: the same
 * messages are routed again in the next one. A produce that failed for
 * good is remembered (the poison list) and its destination gets a dead
 * letter on the replay. Fencing and other fatal errors stop the router.
 * Routing thread only. */
#include "pipeline_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define TXN_OFFSETS_TIMEOUT_MS 30000
#define TXN_TRIES 5             /* retriable errors before aborting */
#define TXN_CALL_MS 5000        /* one commit or abort call waits this */
#define TXN_ABORT_TRIES 3       /* abort calls before giving up */
#define TXN_BACKOFF_MIN_MS 200  /* pause after an abort, doubling ... */
#define TXN_BACKOFF_MAX_MS 5000 /* ... up to this */
#define TXN_POISON_MAX 10000    /* remembered failed produces */
#define TXN_HOLD_MS 10000       /* a failing destination is held this long */
#define TXN_FAILING_MAX 64      /* failing destinations remembered */

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
        snprintf(p->fatal_reason, sizeof(p->fatal_reason),
                 "exactly-once: fenced by another producer with "
                 "transactional.id \"%.64s\": give each router instance "
                 "its own --transactional-id (%.40s)",
                 p->txn_id, fatal);
    else
        snprintf(p->fatal_reason, sizeof(p->fatal_reason),
                 "exactly-once: %s: %.200s", what, fatal);
    p->fatal = 1;
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

int pl_txn_init(pipeline_t *p, char *errstr, size_t errstr_size)
{
    rd_kafka_error_t *e;

    e = rd_kafka_init_transactions(p->rkp, p->conf.connect_timeout_ms);
    if (e) {
        snprintf(errstr, errstr_size,
                 "exactly-once: init_transactions (transactional.id "
                 "\"%s\"): %s",
                 p->txn_id, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return -1;
    }
    log_info("exactly-once: transactional.id \"%s\"", p->txn_id);
    return 0;
}

int pl_txn_begin(pipeline_t *p)
{
    rd_kafka_error_t *e;

    if (p->txn_open)
        return 0;
    if ((e = rd_kafka_begin_transaction(p->rkp))) {
        txn_fatal(p, "begin_transaction", e);
        rd_kafka_error_destroy(e);
        return -1;
    }
    p->txn_open = 1;
    p->txn_failed = 0;
    p->txn_started = pl_now_ms();
    p->txn_msgs = 0;
    return 0;
}

int pl_txn_due(const pipeline_t *p, int64_t now)
{
    if (!p->txn_open)
        return 0;
    if (p->txn_failed)
        return 1;
    return p->txn_msgs > 0 &&
           (p->txn_msgs >= (uint64_t)p->conf.txn_max_messages ||
            now - p->txn_started >= p->conf.txn_interval_ms);
}

void pl_txn_fail(pipeline_t *p, const char *fmt, ...)
{
    va_list ap;

    if (p->txn_failed || p->txn_aborting)
        return; /* the first reason is the one to tell */
    va_start(ap, fmt);
    vsnprintf(p->txn_error, sizeof(p->txn_error), fmt, ap);
    va_end(ap);
    p->txn_failed = 1;
    log_warn("exactly-once: transaction will be aborted and replayed: %s",
             p->txn_error);
}

/* ---- the poison list -------------------------------------------------- */

static void poison_free(pl_poison_t *x)
{
    free(x->topic);
    free(x->dest);
    free(x->error);
}

static void failing_free(pl_failing_t *f)
{
    free(f->dest);
    free(f->error);
}

/* dest failed for good in the open transaction: one strike per
 * transaction; the second in a row holds it for TXN_HOLD_MS. */
static void dest_strike(pipeline_t *p, const char *dest, const char *err)
{
    pl_failing_t *f = NULL;
    char *e;

    for (size_t i = 0; i < p->nfailing && !f; i++)
        if (!strcmp(p->failing[i].dest, dest))
            f = &p->failing[i];
    if (!f) {
        if (p->nfailing == TXN_FAILING_MAX ||
            !(f = realloc(p->failing, (p->nfailing + 1) * sizeof(*f))))
            return; /* only per message, then */
        p->failing = f;
        f = &p->failing[p->nfailing];
        memset(f, 0, sizeof(*f));
        f->abort_seen = UINT64_MAX;
        if (!(f->dest = strdup(dest)))
            return;
        p->nfailing++;
    }
    if ((e = strdup(err))) {
        free(f->error);
        f->error = e;
    }
    if (f->abort_seen == p->txn_aborts)
        return; /* this transaction already counted */
    f->abort_seen = p->txn_aborts;
    if (++f->strikes >= 2 && f->error) {
        f->until = pl_now_ms() + TXN_HOLD_MS;
        log_warn("exactly-once: produces to %s failed in %d transactions "
                 "in a row (%s): its messages go to the dead letter for "
                 "%d s", dest, f->strikes, f->error, TXN_HOLD_MS / 1000);
    }
}

void pl_txn_delivery_failed(pipeline_t *p, const rd_kafka_message_t *rkm)
{
    const pl_dref_t *d = rkm->_private;
    const pl_msgctx_t *ctx = d->ctx;
    const char *dest = rd_kafka_topic_name(rkm->rkt);
    const char *err = rd_kafka_err2str(rkm->err);
    pl_poison_t *x;

    /* A failure reported while aborting is still a failure (only the
     * purges of the abort are not: they are local errors, below). */
    if (!p->txn_aborting)
        pl_txn_fail(p, "produce to %s failed: %s", dest, err);
    if (d->route == PL_DREF_DEAD)
        return; /* no substitute for a dead letter: the replay retries */
    /* Local errors of the transaction itself (purged, state, fenced) say
     * nothing about this message: it is simply routed again. */
    if (rkm->err < 0 && rkm->err != RD_KAFKA_RESP_ERR__MSG_TIMED_OUT &&
        rkm->err != RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC &&
        rkm->err != RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION &&
        rkm->err != RD_KAFKA_RESP_ERR__INVALID_ARG)
        return;
    p->produce_errors++;
    pl_count(p->errors, &p->nerrors, rd_kafka_err2name(rkm->err));
    dest_strike(p, dest, err);
    if (p->npoison == TXN_POISON_MAX) {
        log_warn("exactly-once: %d failed produces remembered; forgetting "
                 "the oldest (it will be retried)", TXN_POISON_MAX);
        poison_free(&p->poison[0]);
        memmove(p->poison, p->poison + 1,
                --p->npoison * sizeof(*p->poison));
    }
    x = realloc(p->poison, (p->npoison + 1) * sizeof(*p->poison));
    if (!x) {
        log_error("exactly-once: out of memory remembering a failed "
                  "produce; it will be retried");
        return;
    }
    p->poison = x;
    x = &p->poison[p->npoison];
    x->topic = strdup(ctx->part->topic);
    x->dest = strdup(dest);
    x->error = strdup(err);
    x->partition = ctx->partition;
    x->offset = ctx->offset;
    if (!x->topic || !x->dest || !x->error) {
        poison_free(x);
        log_error("exactly-once: out of memory remembering a failed "
                  "produce; it will be retried");
        return;
    }
    p->npoison++;
}

int pl_txn_poison_take(pipeline_t *p, const pl_msgctx_t *ctx,
                       const char *dest, char *err, size_t err_size)
{
    for (size_t i = 0; i < p->nfailing; i++) {
        const pl_failing_t *f = &p->failing[i];

        if (f->until && !strcmp(f->dest, dest) && pl_now_ms() < f->until) {
            snprintf(err, err_size, "%s (failing: not tried again until "
                     "it has been held %d s)", f->error, TXN_HOLD_MS / 1000);
            return 1;
        }
    }
    for (size_t i = 0; i < p->npoison; i++) {
        pl_poison_t *x = &p->poison[i];

        if (x->offset != ctx->offset || x->partition != ctx->partition ||
            strcmp(x->dest, dest) || strcmp(x->topic, ctx->part->topic))
            continue;
        snprintf(err, err_size, "%s", x->error);
        poison_free(x);
        memmove(x, x + 1, (--p->npoison - i) * sizeof(*x));
        return 1;
    }
    return 0;
}

/* Forget the failed produces of messages at or past which l's offsets
 * were just committed: they are not consumed again, and each entry left
 * would cost every later routed message a comparison. */
static void poison_prune(pipeline_t *p,
                         const rd_kafka_topic_partition_list_t *l)
{
    size_t keep = 0;

    for (size_t i = 0; i < p->npoison; i++) {
        pl_poison_t *x = &p->poison[i];
        int stale = 0;

        for (int j = 0; j < l->cnt && !stale; j++)
            stale = l->elems[j].partition == x->partition &&
                    x->offset < l->elems[j].offset &&
                    !strcmp(l->elems[j].topic, x->topic);
        if (stale)
            poison_free(x);
        else
            p->poison[keep++] = *x;
    }
    p->npoison = keep;
}

/* After a commit: a destination that was not held starts counting
 * strikes again; one whose hold ran out is forgotten (tried again). */
static void failing_prune(pipeline_t *p)
{
    int64_t now = pl_now_ms();
    size_t keep = 0;

    for (size_t i = 0; i < p->nfailing; i++) {
        pl_failing_t *f = &p->failing[i];

        if (!f->until || now >= f->until)
            failing_free(f);
        else
            p->failing[keep++] = *f;
    }
    p->nfailing = keep;
}

/* ---- commit and abort ------------------------------------------------- */

/* Serve delivery reports until nothing of the open transaction is in
 * flight. Returns 0, or -1 when a delivery failed or it took longer than
 * the drain timeout (the transaction is then doomed). */
static int txn_drain(pipeline_t *p)
{
    int64_t end = pl_now_ms() + p->conf.drain_timeout_ms;

    while (p->inflight > 0 && !p->txn_failed && !p->fatal) {
        if (pl_now_ms() >= end) {
            pl_txn_fail(p, "%" PRIu64 " messages not acknowledged within "
                        "%d ms", p->inflight, p->conf.drain_timeout_ms);
            break;
        }
        pl_serve_producer(p, 10);
    }
    return p->txn_failed || p->fatal ? -1 : 0;
}

/* The offsets past what the open transaction handled, per partition it
 * read. NULL when out of memory. */
static rd_kafka_topic_partition_list_t *txn_offsets(pipeline_t *p)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);

    if (!l)
        return NULL;
    for (size_t b = 0; b < p->nbuckets; b++)
        for (pl_part_t *pt = p->parts[b]; pt; pt = pt->next) {
            int64_t off = tracker_commit_offset(pt->tr);

            if (pt->txn_base >= 0 && off >= 0)
                rd_kafka_topic_partition_list_add(l, pt->topic,
                                                  pt->partition)
                    ->offset = off;
        }
    return l;
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
    for (size_t b = 0; b < p->nbuckets; b++)
        for (pl_part_t *pt = p->parts[b]; pt; pt = pt->next) {
            tracker_t *tr;

            if (pt->txn_base < 0)
                continue;
            if (!(tr = tracker_create(pt->topic, pt->partition)))
                goto oom;
            tracker_destroy(pt->tr);
            pt->tr = tr;
            if (!pt->revoked)
                rd_kafka_topic_partition_list_add(l, pt->topic,
                                                  pt->partition)
                    ->offset = pt->txn_base;
            log_info("exactly-once: %s [%" PRId32 "] rewound to offset "
                     "%" PRId64, pt->topic, pt->partition, pt->txn_base);
            pt->txn_base = -1;
        }
    if (l->cnt > 0) {
        e = rd_kafka_seek_partitions(p->rkc, l, 10000);
        if (e) {
            snprintf(p->fatal_reason, sizeof(p->fatal_reason),
                     "exactly-once: cannot rewind after an abort: %s",
                     rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            p->fatal = 1;
            rc = -1;
        }
        for (int i = 0; i < l->cnt && rc == 0; i++)
            if (l->elems[i].err) {
                snprintf(p->fatal_reason, sizeof(p->fatal_reason),
                         "exactly-once: cannot rewind %s [%" PRId32
                         "] after an abort: %s",
                         l->elems[i].topic, l->elems[i].partition,
                         rd_kafka_err2str(l->elems[i].err));
                p->fatal = 1;
                rc = -1;
            }
    }
    rd_kafka_topic_partition_list_destroy(l);
    return rc;
oom:
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    snprintf(p->fatal_reason, sizeof(p->fatal_reason),
             "exactly-once: out of memory rewinding after an abort");
    p->fatal = 1;
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

    p->txn_aborting = 1;
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
                snprintf(p->fatal_reason, sizeof(p->fatal_reason),
                         "exactly-once: the transaction could not be "
                         "aborted (%.100s); nothing of it was committed: "
                         "restarted, the router routes it again from the "
                         "last committed offsets",
                         why);
                p->fatal = 1;
            }
            p->txn_aborting = 0;
            return -1;
        }
    }
    end = pl_now_ms() + p->conf.drain_timeout_ms;
    while (p->inflight > 0 && pl_now_ms() < end)
        pl_serve_producer(p, 10);
    p->txn_aborting = 0;
    p->txn_open = 0;
    p->txn_failed = 0;
    p->txn_aborts++;
    if (p->inflight > 0) {
        snprintf(p->fatal_reason, sizeof(p->fatal_reason),
                 "exactly-once: %" PRIu64 " messages still in flight after "
                 "an abort", p->inflight);
        p->fatal = 1;
        return -1;
    }
    if (txn_rewind(p))
        return -1;
    p->txn_resume_at = pl_now_ms() + p->txn_backoff_ms;
    log_warn("exactly-once: transaction aborted (%s); replaying in %d ms",
             p->txn_error, p->txn_backoff_ms);
    p->txn_backoff_ms = p->txn_backoff_ms * 2 > TXN_BACKOFF_MAX_MS
                            ? TXN_BACKOFF_MAX_MS
                            : p->txn_backoff_ms * 2;
    return -1;
}

int pl_txn_commit(pipeline_t *p)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    rd_kafka_consumer_group_metadata_t *cgmd = NULL;
    rd_kafka_error_t *e;
    enum txn_next next;
    int tries = 0;
    uint64_t msgs = p->txn_msgs;

    if (!p->txn_open)
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
        if (next == TXN_ABORT || ++tries == TXN_TRIES ||
            atomic_load(&p->stop))
            goto abort;
    }
    for (size_t b = 0; b < p->nbuckets; b++)
        for (pl_part_t *pt = p->parts[b]; pt; pt = pt->next)
            pt->txn_base = -1;
    if (p->npoison)
        poison_prune(p, l);
    failing_prune(p);
    p->txn_open = 0;
    p->txn_commits++;
    if (msgs > 0) {
        p->txn_error[0] = '\0';
        p->txn_backoff_ms = TXN_BACKOFF_MIN_MS;
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

void pl_txn_destroy(pipeline_t *p)
{
    for (size_t i = 0; i < p->npoison; i++)
        poison_free(&p->poison[i]);
    free(p->poison);
    p->poison = NULL;
    p->npoison = 0;
    for (size_t i = 0; i < p->nfailing; i++)
        failing_free(&p->failing[i]);
    free(p->failing);
    p->failing = NULL;
    p->nfailing = 0;
}
