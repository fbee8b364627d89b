/* pipeline_txnfail.c - what failed under exactly-once: the open
 * transaction doomed (it can only be aborted and replayed), the produces
 * that failed for good in aborted transactions (the poison list: their
 * destination gets a dead letter on the replay), and destinations held
 * as failing. Routing thread only. */
#include "pipeline_txn_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

#define TXN_POISON_MAX  10000 /* remembered failed produces */
#define TXN_HOLD_MS     10000 /* a failing destination is held this long */
#define TXN_FAILING_MAX 64    /* failing destinations remembered */

void pl_txn_fail(pipeline_t *p, const char *fmt, ...)
{
    va_list ap;

    if (p->txn->failed || p->txn->aborting)
        return; /* the first reason is the one to tell */
    va_start(ap, fmt);
    vsnprintf(p->txn->error, sizeof(p->txn->error), fmt, ap);
    va_end(ap);
    p->txn->failed = 1;
    log_warn("exactly-once: transaction will be aborted and replayed: %s",
             p->txn->error);
}

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

    for (size_t i = 0; i < p->txn->nfailing && !f; i++)
        if (!strcmp(p->txn->failing[i].dest, dest))
            f = &p->txn->failing[i];
    if (!f) {
        if (p->txn->nfailing == TXN_FAILING_MAX ||
            !(f = realloc(p->txn->failing,
                          (p->txn->nfailing + 1) * sizeof(*f))))
            return; /* only per message, then */
        p->txn->failing = f;
        f = &p->txn->failing[p->txn->nfailing];
        memset(f, 0, sizeof(*f));
        f->abort_seen = UINT64_MAX;
        if (!(f->dest = strdup(dest)))
            return;
        p->txn->nfailing++;
    }
    if ((e = strdup(err))) {
        free(f->error);
        f->error = e;
    }
    if (f->abort_seen == p->txn->aborts)
        return; /* this transaction already counted */
    f->abort_seen = p->txn->aborts;
    if (++f->strikes >= 2 && f->error) {
        f->until = clock_ms() + TXN_HOLD_MS;
        log_warn("exactly-once: produces to %s failed in %d transactions "
                 "in a row (%s): its messages go to the dead letter for "
                 "%d s",
                 dest, f->strikes, f->error, TXN_HOLD_MS / 1000);
    }
}

void pl_txn_delivery_failed(pipeline_t *p, const rd_kafka_message_t *rkm)
{
    const pl_action_t *d = rkm->_private;
    const pl_msgctx_t *ctx = d->ctx;
    const char *dest = rd_kafka_topic_name(rkm->rkt);
    const char *err = rd_kafka_err2str(rkm->err);
    pl_poison_t *x;

    /* A failure reported while aborting is still a failure (only the
     * purges of the abort are not: they are local errors, below). */
    if (!p->txn->aborting)
        pl_txn_fail(p, "produce to %s failed: %s", dest, err);
    if (d->route == PL_ACTION_DEAD)
        return; /* no substitute for a dead letter: the replay retries */
    /* Local errors of the transaction itself (purged, state, fenced) say
     * nothing about this message: it is simply routed again. */
    if (rkm->err < 0 && rkm->err != RD_KAFKA_RESP_ERR__MSG_TIMED_OUT &&
        rkm->err != RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC &&
        rkm->err != RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION &&
        rkm->err != RD_KAFKA_RESP_ERR__INVALID_ARG)
        return;
    pl_count_produce_error(p, rd_kafka_err2name(rkm->err));
    dest_strike(p, dest, err);
    if (p->txn->npoison == TXN_POISON_MAX) {
        log_warn("exactly-once: %d failed produces remembered; forgetting "
                 "the oldest (it will be retried)",
                 TXN_POISON_MAX);
        poison_free(&p->txn->poison[0]);
        memmove(p->txn->poison, p->txn->poison + 1,
                --p->txn->npoison * sizeof(*p->txn->poison));
    }
    x = realloc(p->txn->poison,
                (p->txn->npoison + 1) * sizeof(*p->txn->poison));
    if (!x) {
        log_error("exactly-once: out of memory remembering a failed "
                  "produce; it will be retried");
        return;
    }
    p->txn->poison = x;
    x = &p->txn->poison[p->txn->npoison];
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
    p->txn->npoison++;
}

int pl_txn_poison_take(pipeline_t *p, const pl_msgctx_t *ctx, const char *dest,
                       char *err, size_t err_size)
{
    if (!p->txn || (!p->txn->npoison && !p->txn->nfailing))
        return 0;
    for (size_t i = 0; i < p->txn->nfailing; i++) {
        const pl_failing_t *f = &p->txn->failing[i];

        if (f->until && !strcmp(f->dest, dest) && clock_ms() < f->until) {
            snprintf(err, err_size,
                     "%s (failing: not tried again until "
                     "it has been held %d s)",
                     f->error, TXN_HOLD_MS / 1000);
            return 1;
        }
    }
    for (size_t i = 0; i < p->txn->npoison; i++) {
        pl_poison_t *x = &p->txn->poison[i];

        if (x->offset != ctx->offset || x->partition != ctx->partition ||
            strcmp(x->dest, dest) || strcmp(x->topic, ctx->part->topic))
            continue;
        snprintf(err, err_size, "%s", x->error);
        poison_free(x);
        memmove(x, x + 1, (--p->txn->npoison - i) * sizeof(*x));
        return 1;
    }
    return 0;
}

/* Forget the failed produces of messages at or past which l's offsets
 * were just committed: they are not consumed again, and each entry left
 * would cost every later routed message a comparison. */
void pl_txn_poison_prune(pipeline_t *p,
                         const rd_kafka_topic_partition_list_t *l)
{
    size_t keep = 0;

    for (size_t i = 0; i < p->txn->npoison; i++) {
        pl_poison_t *x = &p->txn->poison[i];
        int stale = 0;

        for (int j = 0; j < l->cnt && !stale; j++)
            stale = l->elems[j].partition == x->partition &&
                    x->offset < l->elems[j].offset &&
                    !strcmp(l->elems[j].topic, x->topic);
        if (stale)
            poison_free(x);
        else
            p->txn->poison[keep++] = *x;
    }
    p->txn->npoison = keep;
}

/* After a commit: a destination that was not held starts counting
 * strikes again; one whose hold ran out is forgotten (tried again). */
void pl_txn_failing_prune(pipeline_t *p)
{
    int64_t now = clock_ms();
    size_t keep = 0;

    for (size_t i = 0; i < p->txn->nfailing; i++) {
        pl_failing_t *f = &p->txn->failing[i];

        if (!f->until || now >= f->until)
            failing_free(f);
        else
            p->txn->failing[keep++] = *f;
    }
    p->txn->nfailing = keep;
}

void pl_txn_destroy(pipeline_t *p)
{
    if (!p->txn)
        return;
    for (size_t i = 0; i < p->txn->npoison; i++)
        poison_free(&p->txn->poison[i]);
    free(p->txn->poison);
    for (size_t i = 0; i < p->txn->nfailing; i++)
        failing_free(&p->txn->failing[i]);
    free(p->txn->failing);
    free(p->txn);
    p->txn = NULL;
}

int pl_txn_doomed(const pipeline_t *p)
{
    return p->txn && p->txn->failed;
}

void pl_txn_consumed(pipeline_t *p)
{
    if (p->txn)
        p->txn->msgs++;
}

void pl_txn_counts(const pipeline_t *p, uint64_t *commits, uint64_t *aborts,
                   const char **error)
{
    *commits = p->txn ? p->txn->commits : 0;
    *aborts = p->txn ? p->txn->aborts : 0;
    *error = p->txn && p->txn->error[0] ? p->txn->error : NULL;
}
