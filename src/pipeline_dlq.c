/* pipeline_dlq.c - dead letters: the message with its reason and source
 * position in router.* headers, produced to the rules' dead-letter topic;
 * a dead letter that cannot be produced parks its partition and is
 * retried. Routing thread only. */
#include "pipeline_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlhdr.h"
#include "log.h"
#include "mem.h"

void pl_deadletter_free(pl_deadletter_t *dl)
{
    if (!dl)
        return;
    free(dl->key);
    free(dl->value);
    if (dl->hdrs)
        rd_kafka_headers_destroy(dl->hdrs);
    free(dl);
}

/* Append dl to the list head/tail (oldest first, so sends keep the
 * order). */
static void dl_append(pl_deadletter_t **head, pl_deadletter_t **tail,
                      pl_deadletter_t *dl)
{
    dl->next = NULL;
    if (*tail)
        (*tail)->next = dl;
    else
        *head = dl;
    *tail = dl;
}

/* Park dl on its partition's retry list and stop the partition. */
static void stuck_push(pipeline_t *p, pl_deadletter_t *dl)
{
    pl_part_t *part = dl->d.ctx->part;

    dl_append(&part->stuck_head, &part->stuck_tail, dl);
    pl_part_stuck(p, part, 1);
}

/* 1 when err says the dead letter is too large for its topic. */
static int too_large(rd_kafka_resp_err_t err)
{
    return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
           err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
}

/* A dead letter too large for its topic would park its partition for
 * good: leave the value out (the router.source.* headers say where to
 * find it) and say so. Returns 1 when dl shrank, 0 when it has no value
 * to leave out. */
static int dl_shrink(pl_deadletter_t *dl, rd_kafka_resp_err_t err)
{
    size_t n;

    if (!dl->value)
        return 0;
    dl->omitted = dl->value_len;
    free(dl->value);
    dl->value = NULL;
    dl->value_len = 0;
    n = strlen(dl->detail);
    snprintf(dl->detail + n, sizeof(dl->detail) - n,
             "; value of %zu bytes left out: %s", dl->omitted,
             rd_kafka_err2str(err));
    log_warn("%s [%" PRId32 "] offset %" PRId64 ": dead letter (%s) too "
             "large (%zu bytes): sent without its value",
             dl->d.ctx->part->topic, dl->d.ctx->partition, dl->d.ctx->offset,
             dl->reason, dl->omitted);
    return 1;
}

/* Produce the dead letter dl for its message. On success the message holds
 * one more reference. Returns 0, or -1 when it could not even be enqueued
 * (the partition is then stuck with dl on its retry list). */
static int dead_letter_send(pipeline_t *p, pl_deadletter_t *dl)
{
    pl_msgctx_t *ctx = dl->d.ctx;
    const char *dlt = rules_dead_letter_topic(ctx->pr->rs);
    rd_kafka_headers_t *h;
    rd_kafka_resp_err_t err;
    pl_topic_t *t = NULL;
    char errstr[256] = "no dead_letter topic in the rules";
    char num[32], version[32];
    dlhdr_t dh;

    if (dlt)
        t = pl_topic_get(p, dlt, errstr, sizeof(errstr));
    if (!t)
        goto stuck;
again:
    h = dl->hdrs ? rd_kafka_headers_copy(dl->hdrs) : rd_kafka_headers_new(8);
    if (!h) {
        snprintf(errstr, sizeof(errstr), "out of memory");
        goto stuck;
    }
    snprintf(version, sizeof(version), "%" PRId64, ctx->pr->version);
    dh.reason = dl->reason;
    dh.detail = dl->detail;
    dh.route = dl->route >= 0 ? rules_route_name(ctx->pr->rs, (size_t)dl->route)
                              : NULL;
    dh.src_topic = ctx->part->topic;
    dh.src_partition = ctx->partition;
    dh.src_offset = ctx->offset;
    dh.src_timestamp = ctx->timestamp;
    dh.rules_version = version;
    dlhdr_add(h, &dh);
    if (dl->omitted) {
        snprintf(num, sizeof(num), "%zu", dl->omitted);
        dlhdr_add1(h, "router.value.omitted", num);
    }

    /* dl keeps its copy of the value until the dead letter is
     * acknowledged: produced by reference, not copied again. */
    err = pl_produce(p, t, RD_KAFKA_PARTITION_UA, dl->value, dl->value_len,
                     dl->key, dl->key_len, pl_produce_ts(ctx), h, 1, &dl->d);
    if (!err) {
        ctx->refs++;
        if (dl->retry)
            ctx->part->dl_retrying++;
        return 0;
    }
    if (too_large(err) && dl_shrink(dl, err))
        goto again; /* pl_produce() freed h */
    snprintf(errstr, sizeof(errstr), "%s", rd_kafka_err2str(err));
stuck:
    if (p->conf.exactly_once) {
        /* Nothing stays parked in a transaction: abort and replay. */
        pl_txn_fail(p, "dead letter (%s) to %s failed: %s", dl->reason,
                    dlt ? dlt : "(none)", errstr);
        pl_deadletter_free(dl);
        return -1;
    }
    log_error("%s [%" PRId32 "] offset %" PRId64
              ": dead letter (%s) failed: %s; partition stopped",
              ctx->part->topic, ctx->partition, ctx->offset, dl->reason,
              errstr);
    ctx->refs++; /* the message stays in flight until the retry works */
    stuck_push(p, dl);
    return -1;
}

/* Queue dl for pl_send_deferred(), after the others. */
static void defer_push(pipeline_t *p, pl_deadletter_t *dl)
{
    dl_append(&p->dl_deferred, &p->dl_deferred_tail, dl);
}

/* A copy of n bytes of b (NULL stays NULL). Sets *oom on failure. */
static void *copy_or_null(const void *b, size_t n, int *oom)
{
    void *c = b ? mem_dup(b, n) : NULL;

    if (b && !c)
        *oom = 1;
    return c;
}

/* Dead-letter ctx's message (key, value and headers given: the consumed
 * message's, or a failed delivery's; copied) with reason/detail (route:
 * failed route or -1). The message holds one more reference until the
 * dead letter is done. From a delivery report (defer), the produce is
 * queued for pl_send_deferred(): producing there could recurse through a
 * full queue. */
void pl_dead_letter(pipeline_t *p, pl_msgctx_t *ctx, const char *reason,
                    const char *detail, int route, int defer, const void *key,
                    size_t key_len, const void *value, size_t value_len,
                    const rd_kafka_headers_t *hdrs)
{
    pl_deadletter_t *dl = calloc(1, sizeof(*dl));
    int oom = !dl;

    if (dl) {
        dl->key = copy_or_null(key, key_len, &oom);
        dl->key_len = key_len;
        dl->value = copy_or_null(value, value_len, &oom);
        dl->value_len = value_len;
        if (hdrs && !(dl->hdrs = rd_kafka_headers_copy(hdrs)))
            oom = 1;
    }
    if (oom && p->conf.exactly_once) {
        pl_txn_fail(p, "out of memory dead-lettering offset %" PRId64,
                    ctx->offset);
        pl_deadletter_free(dl);
        return;
    }
    if (oom) {
        /* Can't even say why: keep the message in flight forever (its
         * offset is never committed) rather than lose it. */
        log_error("out of memory dead-lettering offset %" PRId64, ctx->offset);
        pl_deadletter_free(dl);
        ctx->refs++;
        pl_part_stuck(p, ctx->part, 1);
        return;
    }
    dl->d.ctx = ctx;
    dl->d.route = PL_ACTION_DEAD;
    dl->route = route;
    snprintf(dl->reason, sizeof(dl->reason), "%s", reason);
    snprintf(dl->detail, sizeof(dl->detail), "%s", detail);
    if (defer) {
        ctx->refs++; /* held by the queued request */
        defer_push(p, dl);
        return;
    }
    dead_letter_send(p, dl);
}

void pl_send_deferred(pipeline_t *p)
{
    while (p->dl_deferred) {
        pl_deadletter_t *dl = p->dl_deferred;
        pl_msgctx_t *ctx = dl->d.ctx;

        p->dl_deferred = dl->next;
        if (!p->dl_deferred)
            p->dl_deferred_tail = NULL;
        dl->next = NULL;
        /* The send takes its own reference (or frees dl in a doomed
         * transaction); then the queued request's is dropped, which may
         * be the message's last. */
        dead_letter_send(p, dl);
        pl_ctx_release(p, ctx);
    }
}

void pl_retry_stuck(pipeline_t *p, pl_part_t *part)
{
    pl_deadletter_t *list = part->stuck_head;

    /* The partition stays stuck (paused, unhealthy) until every retried
     * dead letter is acknowledged: see pl_on_delivery(). */
    part->stuck_head = part->stuck_tail = NULL;
    while (list) {
        pl_deadletter_t *dl = list;
        pl_msgctx_t *ctx = dl->d.ctx;

        list = dl->next;
        dl->next = NULL;
        dl->retry = 1;
        log_info("%s [%" PRId32 "] offset %" PRId64 ": retrying dead letter",
                 part->topic, part->partition, ctx->offset);
        /* The new attempt takes its own reference; then the stuck one is
         * dropped. */
        dead_letter_send(p, dl);
        pl_ctx_release(p, ctx);
    }
}

/* Record an acknowledged dead letter for GET /anomalies. */
static void record_anomaly(pipeline_t *p, const pl_deadletter_t *dl)
{
    const pl_msgctx_t *ctx = dl->d.ctx;
    anomalies_entry_t e;

    if (!p->conf.anomalies)
        return;
    e.reason = dl->reason;
    e.detail = dl->detail;
    e.route = dl->route >= 0 ? rules_route_name(ctx->pr->rs, (size_t)dl->route)
                             : NULL;
    e.topic = ctx->part->topic;
    e.partition = ctx->partition;
    e.offset = ctx->offset;
    e.timestamp = ctx->timestamp;
    e.key = dl->key;
    e.key_len = dl->key_len;
    e.value = dl->value;
    e.value_len = dl->value_len;
    anomalies_push(p->conf.anomalies, &e);
}

/* The delivery report of dead letter dl (rkm): counted and recorded when
 * acknowledged; sent again without its value when too large; parked on
 * its partition (stopped) when it failed. */
void pl_dlq_delivered(pipeline_t *p, const rd_kafka_message_t *rkm,
                      pl_deadletter_t *dl)
{
    pl_msgctx_t *ctx = dl->d.ctx;
    pl_part_t *part = ctx->part;

    if (dl->retry) {
        part->dl_retrying--;
        dl->retry = 0;
    }
    if (rkm->err && too_large(rkm->err) && dl_shrink(dl, rkm->err)) {
        /* Sent again without its value; the reference this delivery
         * held goes to the deferred request. */
        defer_push(p, dl);
        return;
    }
    if (rkm->err) {
        pl_count_produce_error(p, rd_kafka_err2name(rkm->err));
        log_error("%s [%" PRId32 "] offset %" PRId64
                  ": dead letter to %s failed: %s; partition stopped",
                  ctx->part->topic, ctx->partition, ctx->offset,
                  rd_kafka_topic_name(rkm->rkt), rd_kafka_err2str(rkm->err));
        stuck_push(p, dl);
        return; /* the message stays in flight */
    }
    if (part->stuck && !part->stuck_head && part->dl_retrying == 0)
        pl_part_stuck(p, part, 0); /* every stuck dead letter is in */
    pl_count_produced(p, rkm);
    p->dead_lettered++;
    pl_count(p->reasons, &p->nreasons, dl->reason);
    record_anomaly(p, dl);
    pl_deadletter_free(dl);
    pl_ctx_release(p, ctx);
}
