/* pipeline_route.c - route one consumed message (evaluate the rules,
 * produce to every destination, dead-letter what must be) and account for
 * its delivery reports until it is wholly handled (then its offset may be
 * committed). Routing thread only. */
#include "pipeline_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mem.h"

#define SLAB_CTX            1024
#define METADATA_TIMEOUT_MS 5000
#define METADATA_RETRY_MS   1000 /* after a failed partition count look-up */

/* ---- message contexts ------------------------------------------------ */

/* ---- delivery reports ------------------------------------------------- */

void pl_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    pipeline_t *p = opaque;
    pl_action_t *d = rkm->_private;
    pl_msgctx_t *ctx = d->ctx;
    char detail[512];

    (void)rk;
    if (p->conf.exactly_once && rkm->err) {
        /* The transaction can only be aborted now: its messages are
         * routed again after the rewind. */
        pl_txn_delivery_failed(p, rkm);
        if (d->route == PL_ACTION_DEAD)
            pl_deadletter_free((pl_deadletter_t *)d);
        pl_ctx_release(p, ctx);
        return;
    }
    if (p->stopping && (rkm->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
                        rkm->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)) {
        /* Shutting down after the drain timeout: offsets are final. */
        if (d->route == PL_ACTION_DEAD)
            pl_deadletter_free((pl_deadletter_t *)d);
        return;
    }
    if (d->route == PL_ACTION_DEAD) {
        pl_dlq_delivered(p, rkm, (pl_deadletter_t *)d);
        return;
    }
    if (rkm->err) {
        const void *key = rkm->key; /* the produced key ... */
        size_t key_len = rkm->key_len;
        rd_kafka_headers_t *h;

        if (ctx->rkm) { /* ... but a dead letter keeps the source's */
            key = ctx->rkm->key;
            key_len = ctx->rkm->key_len;
        } else if (ctx->src_key_kept) {
            key = ctx->src_key;
            key_len = ctx->src_key_len;
        }
        pl_count_produce_error(p, rd_kafka_err2name(rkm->err));
        snprintf(detail, sizeof(detail), "produce to %s failed: %s",
                 rd_kafka_topic_name(rkm->rkt), rd_kafka_err2str(rkm->err));
        /* The delivery's own copy of the message makes the dead letter. */
        if (rd_kafka_message_headers((rd_kafka_message_t *)rkm, &h))
            h = NULL;
        pl_dead_letter(p, ctx, "produce_failed", detail,
                       d->route >= 0 ? d->route : -1, 1, key, key_len,
                       rkm->payload, rkm->len, h);
    } else {
        pl_count_produced(p, rkm);
    }
    pl_ctx_release(p, ctx);
}

/* ---- routing ---------------------------------------------------------- */

/* rules_msg_t header callback over a consumed message's headers. */
static int header_get(void *opaque, const char *name, const void **val,
                      size_t *len)
{
    return rd_kafka_header_get_last(opaque, name, val, len) ==
                   RD_KAFKA_RESP_ERR_NO_ERROR
               ? 0
               : -1;
}

/* Produce the consumed message rkm (ctx's) to one destination; a failure
 * to enqueue is a produce failure and goes to the dead letter. */
static void route_dest(pipeline_t *p, pl_msgctx_t *ctx,
                       const rd_kafka_message_t *rkm, const rules_dest_t *dd,
                       rd_kafka_headers_t *hdrs, pl_action_t *d)
{
    char errstr[256], detail[512];
    int32_t part = RD_KAFKA_PARTITION_UA;
    rd_kafka_resp_err_t err;
    pl_topic_t *t;

    d->ctx = ctx;
    d->route = dd->route >= 0 ? dd->route : PL_ACTION_UNMATCHED;
    if (p->txn && pl_txn_poison_take(p, ctx, dd->topic, errstr, sizeof(errstr)))
        goto dead; /* failed in an aborted transaction: counted then */
    t = pl_topic_get(p, dd->topic, errstr, sizeof(errstr));
    if (!t)
        goto failed;
    if (dd->partition != RULES_PARTITION_ANY) {
        int n = pl_topic_partitions(p, t);

        if (n <= 0) {
            snprintf(errstr, sizeof(errstr), "partition count of %s unknown",
                     dd->topic);
            goto failed;
        }
        part = dd->partition % n;
    }
    /* Small values are copied (librdkafka copies them into its requests
     * anyway) so the consumed message can go at once; large ones are
     * produced by reference and ctx keeps the message (pl_route()). */
    err = pl_produce(p, t, part, rkm->payload, rkm->len, dd->key, dd->key_len,
                     pl_produce_ts(ctx),
                     hdrs ? rd_kafka_headers_copy(hdrs) : NULL,
                     rkm->len > PL_COPY_MAX, d);
    if (!err) {
        ctx->refs++;
        return;
    }
    snprintf(errstr, sizeof(errstr), "%s", rd_kafka_err2str(err));
    pl_count_produce_error(p, rd_kafka_err2name(err));
    goto dead;
failed:
    pl_count_produce_error(p, "router_internal");
dead:
    snprintf(detail, sizeof(detail), "produce to %s failed: %s", dd->topic,
             errstr);
    pl_dead_letter(p, ctx, "produce_failed", detail,
                   dd->route >= 0 ? dd->route : -1, 0, rkm->key, rkm->key_len,
                   rkm->payload, rkm->len, hdrs);
}

/* When a destination of res gets a rewritten key, keep a copy of the
 * source key in ctx: a failed delivery's dead letter must carry it, and
 * the consumed message is gone by then. Returns 0, or -1 when out of
 * memory. */
static int keep_source_key(pl_msgctx_t *ctx, const rd_kafka_message_t *rkm,
                           const rules_result_t *res)
{
    size_t i;

    for (i = 0; i < res->ndests; i++)
        if (res->dests[i].key != rkm->key ||
            res->dests[i].key_len != rkm->key_len)
            break;
    if (i == res->ndests)
        return 0;
    if (rkm->key && !(ctx->src_key = mem_dup(rkm->key, rkm->key_len)))
        return -1;
    ctx->src_key_len = rkm->key_len;
    ctx->src_key_kept = 1;
    return 0;
}

int pl_route(pipeline_t *p, rd_kafka_message_t *rkm, pl_part_t *part)
{
    rd_kafka_timestamp_type_t tstype;
    const rules_result_t *res;
    rd_kafka_headers_t *hdrs;
    pl_msgctx_t *ctx;
    rules_msg_t m;
    uint64_t seq;
    size_t nact;

    p->consumed++;
    part->consumed++;
    if (p->conf.exactly_once && part->txn_base < 0)
        part->txn_base = rkm->offset; /* where an abort rewinds to */
    if (p->txn && pl_txn_doomed(p)) {
        /* The transaction can only be aborted: this message comes again
         * after the rewind to txn_base (at or before it), and is routed
         * then. */
        rd_kafka_message_destroy(rkm);
        return 0;
    }
    m.topic = part->topic;
    m.partition = rkm->partition;
    m.offset = rkm->offset;
    m.timestamp = rd_kafka_message_timestamp(rkm, &tstype);
    m.key = rkm->key;
    m.key_len = rkm->key_len;
    m.value = rkm->payload;
    m.value_len = rkm->len;
    /* Look the headers up once: without headers, each call would allocate
     * and free to say there are none. */
    if (rd_kafka_message_headers(rkm, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
        hdrs = NULL;
    m.header = hdrs ? header_get : NULL;
    m.header_opaque = hdrs;

    res = rules_eval(p->cur->rs, &m, p->scratch);
    if (!res) {
        pl_fatal(p, "out of memory evaluating rules");
        rd_kafka_message_destroy(rkm);
        return -1;
    }
    if (p->txn) /* at-least-once pays no call per message */
        pl_txn_consumed(p);
    for (size_t i = 0; i < res->nmatched; i++)
        p->cur->hits[res->matched[i]]++;
    if (res->unmatched)
        p->unmatched++;
    nact = res->ndests + (res->dead_letter ? 1 : 0);
    if (tracker_add(part->tr, rkm->offset, nact ? 1 : 0, &seq) != 0) {
        pl_fatal(p,
                 "offset tracker refused %s [%" PRId32 "] offset %" PRId64
                 " (not after the last one)",
                 part->topic, rkm->partition, rkm->offset);
        rd_kafka_message_destroy(rkm);
        return -1;
    }
    if (nact == 0) {
        p->dropped++;
        rd_kafka_message_destroy(rkm);
        return 0;
    }
    ctx = pl_ctx_get(p);
    if (!ctx) {
        pl_fatal(p, "out of memory");
        rd_kafka_message_destroy(rkm);
        return -1;
    }
    ctx->part = part;
    ctx->partition = rkm->partition;
    ctx->offset = rkm->offset;
    ctx->timestamp = m.timestamp; /* -1 when not available */
    /* Large values are produced by reference: keep the message. */
    ctx->rkm = rkm->len > PL_COPY_MAX ? rkm : NULL;
    ctx->pr = p->cur;
    ctx->pr->refs++;
    ctx->seq = seq;
    ctx->refs = 1; /* guard: no release before every action is issued */
    if (!ctx->rkm && keep_source_key(ctx, rkm, res) != 0) {
        /* Fatal: ctx stays in flight (never done, never committed). */
        pl_fatal(p, "out of memory");
        rd_kafka_message_destroy(rkm);
        return -1;
    }
    p->inflight++;
    if (res->ndests > PL_INLINE_DESTS &&
        !(ctx->xactions = calloc(res->ndests, sizeof(*ctx->xactions)))) {
        pl_dead_letter(p, ctx, "produce_failed", "out of memory", -1, 0,
                       rkm->key, rkm->key_len, rkm->payload, rkm->len, hdrs);
    } else {
        for (size_t i = 0; i < res->ndests; i++)
            route_dest(p, ctx, rkm, &res->dests[i], hdrs,
                       ctx->xactions ? &ctx->xactions[i] : &ctx->actions[i]);
    }
    if (res->dead_letter)
        pl_dead_letter(p, ctx, res->reason, res->detail, res->route, 0,
                       rkm->key, rkm->key_len, rkm->payload, rkm->len, hdrs);
    if (!ctx->rkm)
        rd_kafka_message_destroy(rkm); /* every produce copied it */
    pl_ctx_release(p, ctx);
    return 0;
}

/* Serve delivery reports (and the dead letters they ask for). */
void pl_serve_producer(pipeline_t *p, int timeout_ms)
{
    rd_kafka_poll(p->rkp, timeout_ms);
    pl_send_deferred(p);
}
