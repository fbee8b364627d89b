/* pipeline_topics.c - the destination topics: producer handles cached by
 * name, their partition counts, and producing to them. Routing thread
 * only. */
#include "pipeline_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

#define METADATA_TIMEOUT_MS 5000
#define METADATA_RETRY_MS   1000 /* after a failed partition count look-up */

/* The cached handle of topic name, created on first use. NULL when out of
 * memory or librdkafka refuses the name (errstr says why). */
pl_topic_t *pl_topic_get(pipeline_t *p, const char *name, char *errstr,
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
int pl_topic_partitions(pipeline_t *p, pl_topic_t *t)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t err;

    if (t->partitions > 0)
        return t->partitions;
    if (clock_ms() < t->partitions_retry_at)
        return -1;
    err = rd_kafka_metadata(p->rkp, 0, t->rkt, &md, METADATA_TIMEOUT_MS);
    if (err) {
        log_warn("metadata for %s: %s", t->name, rd_kafka_err2str(err));
        t->partitions_retry_at = clock_ms() + METADATA_RETRY_MS;
        return -1;
    }
    if (md->topic_cnt == 1 && !md->topics[0].err)
        t->partitions = md->topics[0].partition_cnt;
    rd_kafka_metadata_destroy(md);
    return t->partitions > 0 ? t->partitions : -1;
}

/* Produce value to t with key and headers hdrs (taken over, also on
 * failure). With by_ref, value is not copied: the caller keeps it alive
 * until the delivery report. Waits through a full queue by serving
 * delivery reports. Returns 0 when enqueued, else the error. */
rd_kafka_resp_err_t pl_produce(pipeline_t *p, pl_topic_t *t, int32_t partition,
                               const void *value, size_t len, const void *key,
                               size_t key_len, int64_t ts,
                               rd_kafka_headers_t *hdrs, int by_ref,
                               pl_action_t *d)
{
    int flags = by_ref ? 0 : RD_KAFKA_MSG_F_COPY;
    rd_kafka_resp_err_t err;

    for (;;) {
        err = rd_kafka_producev(
            p->rkp, RD_KAFKA_V_RKT(t->rkt), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_MSGFLAGS(flags), RD_KAFKA_V_VALUE((void *)value, len),
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
