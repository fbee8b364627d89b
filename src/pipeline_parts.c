/* pipeline_parts.c - the table of source partitions and their states
 * (live, paused, stuck, revoked and draining), and the offsets handed to
 * librdkafka. Routing thread only. */
#include "pipeline_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* ---- partitions ------------------------------------------------------- */

static size_t part_bucket(const pipeline_t *p, const char *topic,
                          int32_t partition)
{
    uint64_t h = pl_hash_str(topic, PL_HASH_INIT);

    return ((h ^ (uint32_t)partition) * 1099511628211ULL) % p->nbuckets;
}

/* The live (not revoked) state of topic/partition, or NULL. */
pl_part_t *pl_part_find(pipeline_t *p, const char *topic, int32_t partition)
{
    pl_part_t *pt = p->last_part;

    if (pt && pt->partition == partition && !pt->revoked &&
        !strcmp(pt->topic, topic))
        return pt;
    for (pt = p->parts[part_bucket(p, topic, partition)]; pt; pt = pt->next)
        if (pt->partition == partition && !pt->revoked &&
            !strcmp(pt->topic, topic))
            return p->last_part = pt;
    return NULL;
}

/* The revoked, still draining state of topic/partition, or NULL. */
pl_part_t *pl_part_find_revoked(pipeline_t *p, const char *topic,
                                int32_t partition)
{
    for (pl_part_t *pt = p->parts[part_bucket(p, topic, partition)]; pt;
         pt = pt->next)
        if (pt->partition == partition && pt->revoked &&
            !strcmp(pt->topic, topic))
            return pt;
    return NULL;
}

void pl_part_free(pl_part_t *pt)
{
    if (!pt)
        return;
    tracker_destroy(pt->tr);
    /* Held messages were never routed: the next owner reads them from
     * the last commit. */
    for (size_t i = 0; i < pt->nhold; i++)
        rd_kafka_message_destroy(pt->hold[i]);
    free(pt->hold);
    free(pt->topic);
    free(pt);
}

pl_part_t *pl_part_add(pipeline_t *p, const char *topic, int32_t partition)
{
    pl_part_t *pt = calloc(1, sizeof(*pt));
    size_t b;

    if (!pt || !(pt->topic = strdup(topic)) ||
        !(pt->tr = tracker_create(topic, partition))) {
        pl_part_free(pt);
        return NULL;
    }
    pt->partition = partition;
    pt->stored = -1;
    pt->txn_base = -1;
    b = part_bucket(p, topic, partition);
    pt->next = p->parts[b];
    p->parts[b] = pt;
    return pt;
}

/* Pause or resume one partition's fetching. */
void pl_part_pause(pipeline_t *p, pl_part_t *pt, int pause)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_resp_err_t err;

    if (!l)
        return;
    rd_kafka_topic_partition_list_add(l, pt->topic, pt->partition);
    err = pause ? rd_kafka_pause_partitions(p->rkc, l)
                : rd_kafka_resume_partitions(p->rkc, l);
    if (err)
        log_warn("%s %s [%" PRId32 "]: %s", pause ? "pause" : "resume",
                 pt->topic, pt->partition, rd_kafka_err2str(err));
    else
        pt->paused = pause;
    rd_kafka_topic_partition_list_destroy(l);
}

/* Pause or resume a live partition to match why it should be paused. */
void pl_part_sync_pause(pipeline_t *p, pl_part_t *pt)
{
    int want =
        p->bp_paused || pt->stuck || pt->waiting || (pt->held && pt->nhold > 0);

    if (!pt->revoked && pt->paused != want)
        pl_part_pause(p, pt, want);
}

void pl_part_stuck(pipeline_t *p, pl_part_t *pt, int stuck)
{
    if (pt->stuck == stuck)
        return;
    pt->stuck = stuck;
    pl_part_sync_pause(p, pt);
}

/* ---- offsets ---------------------------------------------------------- */

/* Give librdkafka's offsets_store the low watermarks of the live
 * partitions that moved (auto commit sends them). A partition's stored
 * offset only moves when librdkafka took it: a refused one is offered
 * again next time. */
rd_kafka_topic_partition_list_t *pl_offsets_list(
    pipeline_t *p,
    int (*pick)(pipeline_t *p, pl_part_t *pt, int64_t *off, void *opaque),
    void *opaque)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);

    if (!l)
        return NULL;
    PL_FOREACH_PART(p, pt)
    {
        int64_t off = tracker_commit_offset(pt->tr);

        if (pick(p, pt, &off, opaque))
            rd_kafka_topic_partition_list_add(l, pt->topic, pt->partition)
                ->offset = off;
    }
    return l;
}

int pl_hold_count(const pipeline_t *p, int64_t now, int64_t *longest)
{
    int n = 0;

    *longest = 0;
    PL_FOREACH_PART(p, pt)
    if (!pt->revoked && pt->held) {
        n++;
        if (now - pt->held_since > *longest)
            *longest = now - pt->held_since;
    }
    return n;
}

/* pl_offsets_list() pick: live partitions whose watermark moved. */
static int pick_moved(pipeline_t *p, pl_part_t *pt, int64_t *off, void *opaque)
{
    (void)p;
    (void)opaque;
    return !pt->revoked && *off > pt->stored;
}

void pl_offsets_flush(pipeline_t *p)
{
    rd_kafka_topic_partition_list_t *l = pl_offsets_list(p, pick_moved, NULL);
    rd_kafka_resp_err_t err;

    if (!l)
        return;
    if (l->cnt > 0) {
        err = rd_kafka_offsets_store(p->rkc, l);
        if (err)
            log_debug("offsets_store: %s", rd_kafka_err2str(err));
        for (int i = 0; i < l->cnt; i++) {
            const rd_kafka_topic_partition_t *tp = &l->elems[i];
            pl_part_t *pt = pl_part_find(p, tp->topic, tp->partition);

            if (pt && !tp->err)
                pt->stored = tp->offset;
        }
    }
    rd_kafka_topic_partition_list_destroy(l);
}
