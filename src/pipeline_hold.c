/* pipeline_hold.c - fleet: a partition newly assigned to this instance is
 * held, not routed, until the running rules are at least the version its
 * previous owner committed with (commit metadata) and the rules topic was
 * read to its end after the assignment. What it delivers meanwhile is
 * kept, and it is paused; on release the kept messages are routed first.
 * So a partition's rules versions never go backwards when it moves.
 * Routing thread only. */
#include "pipeline_int.h"

#include <inttypes.h>
#include <stdlib.h>

#include "clock.h"
#include "log.h"

#define ASK_EVERY_MS   1000 /* committed() at most this often */
#define ASK_TIMEOUT_MS 5000

int pl_hold_msg(pipeline_t *p, pl_part_t *pt, rd_kafka_message_t *rkm)
{
    if (pt->nhold == pt->hold_cap) {
        size_t cap = pt->hold_cap ? pt->hold_cap * 2 : 64;
        rd_kafka_message_t **h = realloc(pt->hold, cap * sizeof(*h));

        if (!h) {
            rd_kafka_message_destroy(rkm);
            pl_fatal(p, "out of memory holding %s [%" PRId32 "]", pt->topic,
                     pt->partition);
            return -1;
        }
        pt->hold = h;
        pt->hold_cap = cap;
    }
    pt->hold[pt->nhold++] = rkm;
    /* Paused only now: its fetch has started, so the pause cannot race
     * with it (docs/design.md, "Rebalance"). What was fetched beyond rkm
     * is fetched again after the resume. */
    pl_part_sync_pause(p, pt);
    return 0;
}

/* Ask the group coordinator for the committed metadata of the held
 * partitions that don't know their need yet. */
static void ask_needs(pipeline_t *p, int64_t now)
{
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_resp_err_t err;

    if (now - p->hold_asked_at < ASK_EVERY_MS)
        return;
    p->hold_asked_at = now;
    if (!(l = rd_kafka_topic_partition_list_new(8)))
        return;
    PL_FOREACH_PART(p, pt)
    if (!pt->revoked && pt->held && pt->need_version == -2)
        rd_kafka_topic_partition_list_add(l, pt->topic, pt->partition);
    if (l->cnt == 0) {
        rd_kafka_topic_partition_list_destroy(l);
        return;
    }
    err = rd_kafka_committed(p->rkc, l, ASK_TIMEOUT_MS);
    if (err) {
        log_warn("held partitions: committed offsets: %s (asking again)",
                 rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(l);
        return;
    }
    for (int i = 0; i < l->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &l->elems[i];
        pl_part_t *pt = pl_part_find(p, tp->topic, tp->partition);

        if (!pt || !pt->held || tp->err)
            continue;
        pt->need_version = pl_version_of_md(tp->metadata, tp->metadata_size);
        log_debug("%s [%" PRId32 "]: committed at %" PRId64
                  " with rules version %" PRId64,
                  pt->topic, pt->partition, tp->offset, pt->need_version);
    }
    rd_kafka_topic_partition_list_destroy(l);
}

/* Route the messages pt kept while held, and let it fetch. */
static int release(pipeline_t *p, pl_part_t *pt, int64_t now)
{
    size_t i;

    log_info("%s [%" PRId32 "]: routing with rules version %" PRId64
             " after a hold of %" PRId64 " ms (its last commit: version "
             "%" PRId64 ")",
             pt->topic, pt->partition, p->cur->version, now - pt->held_since,
             pt->need_version);
    pt->held = 0;
    for (i = 0; i < pt->nhold; i++) {
        rd_kafka_message_t *rkm = pt->hold[i];

        pt->hold[i] = NULL;
        if (pl_route(p, rkm, pt) != 0) /* takes rkm */
            goto fatal;
    }
    pt->nhold = 0;
    pl_part_sync_pause(p, pt);
    return 0;
fatal:
    for (i++; i < pt->nhold; i++)
        rd_kafka_message_destroy(pt->hold[i]);
    pt->nhold = 0;
    return -1;
}

int pl_hold_check(pipeline_t *p)
{
    int64_t now = clock_ms();
    int any = 0;

    PL_FOREACH_PART(p, pt)
    any |= !pt->revoked && pt->held;
    if (!any)
        return 0;
    ask_needs(p, now);
    PL_FOREACH_PART(p, pt)
    {
        if (pt->revoked || !pt->held || pt->need_version == -2 ||
            p->cur->version < pt->need_version ||
            !p->conf.rules_synced(p->conf.rules_opaque, pt->held_since))
            continue;
        if (release(p, pt, now))
            return -1;
    }
    return 0;
}
