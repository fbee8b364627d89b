/* pipeline_route.c - route one consumed message: evaluate the rules,
 * produce to every destination, dead-letter what must be, and account for
 * every delivery report until the message is wholly handled (then its
 * offset may be committed). Routing thread only. */
#include "pipeline_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define SLAB_CTX 1024
#define METADATA_TIMEOUT_MS 5000
#define METADATA_RETRY_MS 1000 /* after a failed partition count look-up */

/* ---- message contexts ------------------------------------------------ */

/* Take a context from the pool. Returns NULL when out of memory. */
static pl_msgctx_t *ctx_get(pipeline_t *p)
{
    pl_msgctx_t *ctx;

    if (!p->free_ctx) {
        pl_slab_t *s = calloc(1, sizeof(*s) + SLAB_CTX * sizeof(s->ctx[0]));

        if (!s)
            return NULL;
        s->n = SLAB_CTX;
        s->next = p->slabs;
        p->slabs = s;
        for (size_t i = 0; i < s->n; i++) {
            s->ctx[i].free_next = p->free_ctx;
            p->free_ctx = &s->ctx[i];
        }
    }
    ctx = p->free_ctx;
    p->free_ctx = ctx->free_next;
    ctx->free_next = NULL;
    ctx->in_use = 1;
    return ctx;
}

/* Drop one reference of ctx; on the last one the message is wholly handled:
 * tell the tracker, free the consumed message, return ctx to the pool. */
static void ctx_release(pipeline_t *p, pl_msgctx_t *ctx)
{
    if (--ctx->refs > 0)
        return;
    if (tracker_done(ctx->part->tr, ctx->seq) != 0)
        log_error("%s [%" PRId32 "] offset %" PRId64
                  ": tracker lost the entry (bug)",
                  ctx->part->topic, ctx->partition, ctx->offset);
    if (ctx->rkm)
        rd_kafka_message_destroy(ctx->rkm);
    ctx->rkm = NULL;
    pl_rules_unref(p, ctx->pr);
    ctx->pr = NULL;
    free(ctx->xdref);
    ctx->xdref = NULL;
    free(ctx->src_key);
    ctx->src_key = NULL;
    ctx->src_key_kept = 0;
    ctx->in_use = 0;
    ctx->free_next = p->free_ctx;
    p->free_ctx = ctx;
    p->inflight--;
}

void pl_ctx_free_all(pipeline_t *p)
{
    pl_slab_t *s;

    while ((s = p->slabs)) {
        p->slabs = s->next;
        for (size_t i = 0; i < s->n; i++) {
            if (!s->ctx[i].in_use)
                continue;
            if (s->ctx[i].rkm)
                rd_kafka_message_destroy(s->ctx[i].rkm);
            pl_rules_unref(p, s->ctx[i].pr);
            free(s->ctx[i].xdref);
            free(s->ctx[i].src_key);
        }
        free(s);
    }
    p->free_ctx = NULL;
}

void pl_rules_unref(pipeline_t *p, pl_rules_t *pr)
{
    (void)p;
    if (!pr || --pr->refs > 0)
        return;
    log_debug("rules version %d released", pr->version);
    rules_destroy(pr->rs);
    free(pr->hits);
    free(pr->hits_pub);
    free(pr);
}

/* ---- producer topic handles ------------------------------------------- */

/* The cached handle of topic name, created on first use. NULL when out of
 * memory or librdkafka refuses the name (errstr says why). */
static pl_topic_t *topic_get(pipeline_t *p, const char *name, char *errstr,
                             size_t errstr_size)
{
    size_t b = pl_hash_str(name, PL_HASH_INIT) % p->ntbuckets;
    rd_kafka_topic_conf_t *tconf;
    pl_topic_t *t;

    for (t = p->topics[b]; t; t = t->next)
        if (!strcmp(t->name, name))
            return t;
    t = calloc(1, sizeof(*t));
    if (!t || !(t->name = strdup(name))) {
        snprintf(errstr, errstr_size, "out of memory");
        goto err;
    }
    tconf = rd_kafka_default_topic_conf_dup(p->rkp);
    if (!tconf) {
        snprintf(errstr, errstr_size, "out of memory");
        goto err;
    }
    /* Delivery reports find their counters through the topic opaque. */
    rd_kafka_topic_conf_set_opaque(tconf, t);
    t->rkt = rd_kafka_topic_new(p->rkp, name, tconf); /* takes tconf */
    if (!t->rkt) {
        snprintf(errstr, errstr_size, "%s",
                 rd_kafka_err2str(rd_kafka_last_error()));
        goto err;
    }
    t->next = p->topics[b];
    p->topics[b] = t;
    return t;
err:
    if (t)
        free(t->name);
    free(t);
    return NULL;
}

void pl_topics_destroy(pipeline_t *p)
{
    for (size_t b = 0; p->topics && b < p->ntbuckets; b++) {
        pl_topic_t *t;

        while ((t = p->topics[b])) {
            p->topics[b] = t->next;
            rd_kafka_topic_destroy(t->rkt);
            free(t->name);
            free(t);
        }
    }
}

/* The partition count of t (cached), or -1 when metadata can't be had.
 * A request that got no answer (up to METADATA_TIMEOUT_MS, blocking the
 * routing thread) is not repeated for METADATA_RETRY_MS: not for every
 * message while the brokers are away. */
static int topic_partitions(pipeline_t *p, pl_topic_t *t)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t err;

    if (t->partitions > 0)
        return t->partitions;
    if (pl_now_ms() < t->partitions_retry_at)
        return -1;
    err = rd_kafka_metadata(p->rkp, 0, t->rkt, &md, METADATA_TIMEOUT_MS);
    if (err) {
        log_warn("metadata for %s: %s", t->name, rd_kafka_err2str(err));
        t->partitions_retry_at = pl_now_ms() + METADATA_RETRY_MS;
        return -1;
    }
    if (md->topic_cnt == 1 && !md->topics[0].err)
        t->partitions = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return t->partitions > 0 ? t->partitions : -1;
}

/* ---- producing -------------------------------------------------------- */

/* Produce value to t with key and headers hdrs (taken over, also on
 * failure). With by_ref, value is not copied: the caller keeps it alive
 * until the delivery report. Waits through a full queue by serving
 * delivery reports. Returns 0 when enqueued, else the error. */
static rd_kafka_resp_err_t produce(pipeline_t *p, pl_topic_t *t,
                                   int32_t partition, const void *value,
                                   size_t len, const void *key,
                                   size_t key_len, int64_t ts,
                                   rd_kafka_headers_t *hdrs, int by_ref,
                                   pl_dref_t *d)
{
    int flags = by_ref ? 0 : RD_KAFKA_MSG_F_COPY;
    rd_kafka_resp_err_t err;

    for (;;) {
        err = rd_kafka_producev(
            p->rkp, RD_KAFKA_V_RKT(t->rkt), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_MSGFLAGS(flags),
            RD_KAFKA_V_VALUE((void *)value, len),
            RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_TIMESTAMP(ts),
            RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(d), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        /* Backpressure: serve delivery reports until there is room. */
        rd_kafka_poll(p->rkp, 10);
    }
    if (err && hdrs)
        rd_kafka_headers_destroy(hdrs); /* not taken over on failure */
    return err;
}

/* The timestamp to produce with: the source's create time, or 0 (now). */
static int64_t produce_ts(const pl_msgctx_t *ctx)
{
    return ctx->timestamp > 0 ? ctx->timestamp : 0;
}

static void hdr_add(rd_kafka_headers_t *h, const char *name, const char *val)
{
    if (rd_kafka_header_add(h, name, -1, val, -1))
        log_warn("cannot add header %s", name);
}

void pl_dlreq_free(pl_dlreq_t *dl)
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
static void dl_append(pl_dlreq_t **head, pl_dlreq_t **tail, pl_dlreq_t *dl)
{
    dl->next = NULL;
    if (*tail)
        (*tail)->next = dl;
    else
        *head = dl;
    *tail = dl;
}

/* Park dl on its partition's retry list and stop the partition. */
static void stuck_push(pipeline_t *p, pl_dlreq_t *dl)
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
static int dl_shrink(pl_dlreq_t *dl, rd_kafka_resp_err_t err)
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
static int dead_letter_send(pipeline_t *p, pl_dlreq_t *dl)
{
    pl_msgctx_t *ctx = dl->d.ctx;
    const char *dlt = rules_dead_letter_topic(ctx->pr->rs);
    rd_kafka_headers_t *h;
    rd_kafka_resp_err_t err;
    pl_topic_t *t = NULL;
    char errstr[256] = "no dead_letter topic in the rules";
    char num[32];

    if (dlt)
        t = topic_get(p, dlt, errstr, sizeof(errstr));
    if (!t)
        goto stuck;
again:
    h = dl->hdrs ? rd_kafka_headers_copy(dl->hdrs) : rd_kafka_headers_new(8);
    if (!h) {
        snprintf(errstr, sizeof(errstr), "out of memory");
        goto stuck;
    }
    hdr_add(h, "router.reason", dl->reason);
    hdr_add(h, "router.detail", dl->detail);
    if (dl->route >= 0)
        hdr_add(h, "router.route", rules_route_name(ctx->pr->rs,
                                                    (size_t)dl->route));
    hdr_add(h, "router.source.topic", ctx->part->topic);
    snprintf(num, sizeof(num), "%" PRId32, ctx->partition);
    hdr_add(h, "router.source.partition", num);
    snprintf(num, sizeof(num), "%" PRId64, ctx->offset);
    hdr_add(h, "router.source.offset", num);
    snprintf(num, sizeof(num), "%" PRId64, ctx->timestamp);
    hdr_add(h, "router.source.timestamp", num);
    snprintf(num, sizeof(num), "%d", ctx->pr->version);
    hdr_add(h, "router.rules.version", num);
    if (dl->omitted) {
        snprintf(num, sizeof(num), "%zu", dl->omitted);
        hdr_add(h, "router.value.omitted", num);
    }

    /* dl keeps its copy of the value until the dead letter is
     * acknowledged: produced by reference, not copied again. */
    err = produce(p, t, RD_KAFKA_PARTITION_UA, dl->value, dl->value_len,
                  dl->key, dl->key_len, produce_ts(ctx), h, 1, &dl->d);
    if (!err) {
        ctx->refs++;
        if (dl->retry)
            ctx->part->dl_retrying++;
        return 0;
    }
    if (too_large(err) && dl_shrink(dl, err))
        goto again; /* produce() freed h */
    snprintf(errstr, sizeof(errstr), "%s", rd_kafka_err2str(err));
stuck:
    if (p->conf.exactly_once) {
        /* Nothing stays parked in a transaction: abort and replay. */
        pl_txn_fail(p, "dead letter (%s) to %s failed: %s", dl->reason,
                    dlt ? dlt : "(none)", errstr);
        pl_dlreq_free(dl);
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
static void defer_push(pipeline_t *p, pl_dlreq_t *dl)
{
    dl_append(&p->dl_deferred, &p->dl_deferred_tail, dl);
}

/* A copy of n bytes of b (NULL stays NULL). Sets *oom on failure. */
static void *copy_bytes(const void *b, size_t n, int *oom)
{
    void *c;

    if (!b)
        return NULL;
    if (!(c = malloc(n ? n : 1)))
        *oom = 1;
    else
        memcpy(c, b, n);
    return c;
}

/* Dead-letter ctx's message (key, value and headers given: the consumed
 * message's, or a failed delivery's; copied) with reason/detail (route:
 * failed route or -1). The message holds one more reference until the
 * dead letter is done. From a delivery report (defer), the produce is
 * queued for pl_send_deferred(): producing there could recurse through a
 * full queue. */
static void dead_letter(pipeline_t *p, pl_msgctx_t *ctx, const char *reason,
                        const char *detail, int route, int defer,
                        const void *key, size_t key_len, const void *value,
                        size_t value_len, const rd_kafka_headers_t *hdrs)
{
    pl_dlreq_t *dl = calloc(1, sizeof(*dl));
    int oom = !dl;

    if (dl) {
        dl->key = copy_bytes(key, key_len, &oom);
        dl->key_len = key_len;
        dl->value = copy_bytes(value, value_len, &oom);
        dl->value_len = value_len;
        if (hdrs && !(dl->hdrs = rd_kafka_headers_copy(hdrs)))
            oom = 1;
    }
    if (oom && p->conf.exactly_once) {
        pl_txn_fail(p, "out of memory dead-lettering offset %" PRId64,
                    ctx->offset);
        pl_dlreq_free(dl);
        return;
    }
    if (oom) {
        /* Can't even say why: keep the message in flight forever (its
         * offset is never committed) rather than lose it. */
        log_error("out of memory dead-lettering offset %" PRId64,
                  ctx->offset);
        pl_dlreq_free(dl);
        ctx->refs++;
        pl_part_stuck(p, ctx->part, 1);
        return;
    }
    dl->d.ctx = ctx;
    dl->d.route = PL_DREF_DEAD;
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
        pl_dlreq_t *dl = p->dl_deferred;
        pl_msgctx_t *ctx = dl->d.ctx;

        p->dl_deferred = dl->next;
        if (!p->dl_deferred)
            p->dl_deferred_tail = NULL;
        dl->next = NULL;
        /* The send takes its own reference (or frees dl in a doomed
         * transaction); then the queued request's is dropped, which may
         * be the message's last. */
        dead_letter_send(p, dl);
        ctx_release(p, ctx);
    }
}

void pl_retry_stuck(pipeline_t *p, pl_part_t *part)
{
    pl_dlreq_t *list = part->stuck_head;

    /* The partition stays stuck (paused, unhealthy) until every retried
     * dead letter is acknowledged: see pl_on_delivery(). */
    part->stuck_head = part->stuck_tail = NULL;
    while (list) {
        pl_dlreq_t *dl = list;
        pl_msgctx_t *ctx = dl->d.ctx;

        list = dl->next;
        dl->next = NULL;
        dl->retry = 1;
        log_info("%s [%" PRId32 "] offset %" PRId64 ": retrying dead letter",
                 part->topic, part->partition, ctx->offset);
        /* The new attempt takes its own reference; then the stuck one is
         * dropped. */
        dead_letter_send(p, dl);
        ctx_release(p, ctx);
    }
}

/* ---- delivery reports ------------------------------------------------- */

/* Record an acknowledged dead letter for GET /anomalies. */
static void remember(pipeline_t *p, const pl_dlreq_t *dl)
{
    const pl_msgctx_t *ctx = dl->d.ctx;
    anomalies_entry_t e;

    if (!p->conf.anomalies)
        return;
    e.reason = dl->reason;
    e.detail = dl->detail;
    e.route = dl->route >= 0
                  ? rules_route_name(ctx->pr->rs, (size_t)dl->route)
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

void pl_on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm,
                    void *opaque)
{
    pipeline_t *p = opaque;
    pl_dref_t *d = rkm->_private;
    pl_msgctx_t *ctx = d->ctx;
    char detail[512];
    pl_topic_t *t;

    (void)rk;
    if (p->conf.exactly_once && rkm->err) {
        /* The transaction can only be aborted now: its messages are
         * routed again after the rewind. */
        pl_txn_delivery_failed(p, rkm);
        if (d->route == PL_DREF_DEAD)
            pl_dlreq_free((pl_dlreq_t *)d);
        ctx_release(p, ctx);
        return;
    }
    if (p->stopping && (rkm->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
                        rkm->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)) {
        /* Shutting down after the drain timeout: offsets are final. */
        if (d->route == PL_DREF_DEAD)
            pl_dlreq_free((pl_dlreq_t *)d);
        return;
    }
    if (d->route == PL_DREF_DEAD) {
        pl_dlreq_t *dl = (pl_dlreq_t *)d;
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
            p->produce_errors++;
            pl_count(p->errors, &p->nerrors, rd_kafka_err2name(rkm->err));
            log_error("%s [%" PRId32 "] offset %" PRId64
                      ": dead letter to %s failed: %s; partition stopped",
                      ctx->part->topic, ctx->partition, ctx->offset,
                      rd_kafka_topic_name(rkm->rkt),
                      rd_kafka_err2str(rkm->err));
            stuck_push(p, dl);
            return; /* the message stays in flight */
        }
        if (part->stuck && !part->stuck_head && part->dl_retrying == 0)
            pl_part_stuck(p, part, 0); /* every stuck dead letter is in */
        t = rd_kafka_topic_opaque(rkm->rkt);
        if (t)
            t->produced++;
        p->produced++;
        p->dead_lettered++;
        pl_count(p->reasons, &p->nreasons, dl->reason);
        remember(p, dl);
        pl_dlreq_free(dl);
        ctx_release(p, ctx);
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
        p->produce_errors++;
        pl_count(p->errors, &p->nerrors, rd_kafka_err2name(rkm->err));
        snprintf(detail, sizeof(detail), "produce to %s failed: %s",
                 rd_kafka_topic_name(rkm->rkt), rd_kafka_err2str(rkm->err));
        /* The delivery's own copy of the message makes the dead letter. */
        if (rd_kafka_message_headers((rd_kafka_message_t *)rkm, &h))
            h = NULL;
        dead_letter(p, ctx, "produce_failed", detail,
                    d->route >= 0 ? d->route : -1, 1, key, key_len,
                    rkm->payload, rkm->len, h);
    } else {
        t = rd_kafka_topic_opaque(rkm->rkt);
        p->produced++;
        if (t)
            t->produced++;
    }
    ctx_release(p, ctx);
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
                       rd_kafka_headers_t *hdrs, pl_dref_t *d)
{
    char errstr[256], detail[512];
    int32_t part = RD_KAFKA_PARTITION_UA;
    rd_kafka_resp_err_t err;
    pl_topic_t *t;

    d->ctx = ctx;
    d->route = dd->route >= 0 ? dd->route : PL_DREF_UNMATCHED;
    if ((p->npoison || p->nfailing) &&
        pl_txn_poison_take(p, ctx, dd->topic, errstr, sizeof(errstr)))
        goto dead; /* failed in an aborted transaction: counted then */
    t = topic_get(p, dd->topic, errstr, sizeof(errstr));
    if (!t)
        goto failed;
    if (dd->partition != RULES_PARTITION_ANY) {
        int n = topic_partitions(p, t);

        if (n <= 0) {
            snprintf(errstr, sizeof(errstr),
                     "partition count of %s unknown", dd->topic);
            goto failed;
        }
        part = dd->partition % n;
    }
    /* Small values are copied (librdkafka copies them into its requests
     * anyway) so the consumed message can go at once; large ones are
     * produced by reference and ctx keeps the message (pl_route()). */
    err = produce(p, t, part, rkm->payload, rkm->len, dd->key, dd->key_len,
                  produce_ts(ctx), hdrs ? rd_kafka_headers_copy(hdrs) : NULL,
                  rkm->len > PL_COPY_MAX, d);
    if (!err) {
        ctx->refs++;
        return;
    }
    snprintf(errstr, sizeof(errstr), "%s", rd_kafka_err2str(err));
    pl_count(p->errors, &p->nerrors, rd_kafka_err2name(err));
    p->produce_errors++;
    goto dead;
failed:
    p->produce_errors++;
    pl_count(p->errors, &p->nerrors, "router_internal");
dead:
    snprintf(detail, sizeof(detail), "produce to %s failed: %s", dd->topic,
             errstr);
    dead_letter(p, ctx, "produce_failed", detail,
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
    if (rkm->key) {
        if (!(ctx->src_key = malloc(rkm->key_len ? rkm->key_len : 1)))
            return -1;
        memcpy(ctx->src_key, rkm->key, rkm->key_len);
    }
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
    if (p->conf.exactly_once && p->txn_failed) {
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
        snprintf(p->fatal_reason, sizeof(p->fatal_reason),
                 "out of memory evaluating rules");
        rd_kafka_message_destroy(rkm);
        return -1;
    }
    p->txn_msgs++;
    for (size_t i = 0; i < res->nmatched; i++)
        p->cur->hits[res->matched[i]]++;
    if (res->unmatched)
        p->unmatched++;
    nact = res->ndests + (res->dead_letter ? 1 : 0);
    if (tracker_add(part->tr, rkm->offset, nact ? 1 : 0, &seq) != 0) {
        snprintf(p->fatal_reason, sizeof(p->fatal_reason),
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
    ctx = ctx_get(p);
    if (!ctx) {
        snprintf(p->fatal_reason, sizeof(p->fatal_reason), "out of memory");
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
        snprintf(p->fatal_reason, sizeof(p->fatal_reason), "out of memory");
        rd_kafka_message_destroy(rkm);
        return -1;
    }
    p->inflight++;
    if (res->ndests > PL_INLINE_DESTS &&
        !(ctx->xdref = calloc(res->ndests, sizeof(*ctx->xdref)))) {
        dead_letter(p, ctx, "produce_failed", "out of memory", -1, 0,
                    rkm->key, rkm->key_len, rkm->payload, rkm->len, hdrs);
    } else {
        for (size_t i = 0; i < res->ndests; i++)
            route_dest(p, ctx, rkm, &res->dests[i], hdrs,
                       ctx->xdref ? &ctx->xdref[i] : &ctx->dref[i]);
    }
    if (res->dead_letter)
        dead_letter(p, ctx, res->reason, res->detail, res->route, 0,
                    rkm->key, rkm->key_len, rkm->payload, rkm->len, hdrs);
    if (!ctx->rkm)
        rd_kafka_message_destroy(rkm); /* every produce copied it */
    ctx_release(p, ctx);
    return 0;
}
