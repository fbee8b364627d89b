/* pipeline_parts.c - the source partitions: their states (live, paused,
 * stuck, revoked and draining), offsets handed to librdkafka, and the
 * cooperative rebalance (assign, drain and commit on revoke). Routing
 * thread only. */
#include "pipeline_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

int64_t pl_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- partitions ------------------------------------------------------- */

static size_t part_bucket(const pipeline_t *p, const char *topic,
                          int32_t partition)
{
    uint64_t h = pl_hash_str(topic, PL_HASH_INIT);

    return ((h ^ (uint32_t)partition) * 1099511628211ULL) % p->nbuckets;
}

/* The live (not revoked) state of topic/partition, or NULL. */
pl_part_t *pl_part_find(pipeline_t *p, const char *topic,
                            int32_t partition)
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
pl_part_t *pl_zombie_find(pipeline_t *p, const char *topic,
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
    free(pt->topic);
    free(pt);
}

/* Unlink and free revoked partitions whose messages are all handled. */
void pl_parts_reap(pipeline_t *p)
{
    for (size_t b = 0; b < p->nbuckets; b++) {
        pl_part_t **pp = &p->parts[b];

        while (*pp) {
            pl_part_t *pt = *pp;

            if (pt->revoked && tracker_inflight(pt->tr) == 0 &&
                !pt->stuck_head) {
                pl_part_t *live;

                if (p->conf.metrics && pt->consumed > pt->consumed_pub) {
                    metrics_lock(p->conf.metrics);
                    pl_publish_delta(p->conf.metrics,
                                     "router_messages_consumed_total",
                                     pt->topic, pt->consumed,
                                     &pt->consumed_pub);
                    metrics_unlock(p->conf.metrics);
                }
                *pp = pt->next;
                if (p->last_part == pt)
                    p->last_part = NULL;
                live = pl_part_find(p, pt->topic, pt->partition);
                if (live && live->waiting &&
                    !pl_zombie_find(p, pt->topic, pt->partition)) {
                    live->waiting = 0;
                    pl_part_sync_pause(p, live);
                    log_info("%s [%" PRId32 "]: previous deliveries done, "
                             "fetching", live->topic, live->partition);
                }
                pl_part_free(pt);
            } else {
                pp = &pt->next;
            }
        }
    }
}

pl_part_t *pl_part_add(pipeline_t *p, const char *topic,
                           int32_t partition)
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
    int want = p->bp_paused || pt->stuck || pt->waiting;

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
void pl_offsets_flush(pipeline_t *p)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    rd_kafka_resp_err_t err;

    if (!l)
        return;
    for (size_t b = 0; b < p->nbuckets; b++) {
        for (pl_part_t *pt = p->parts[b]; pt; pt = pt->next) {
            int64_t off = tracker_commit_offset(pt->tr);

            if (!pt->revoked && off > pt->stored)
                rd_kafka_topic_partition_list_add(l, pt->topic,
                                                  pt->partition)
                    ->offset = off;
        }
    }
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

/* Commit, synchronously, the low watermarks of the partitions of parts,
 * which were just marked revoked (only those: an older revoked partition
 * may belong to another member by now). */
static void commit_revoked(pipeline_t *p,
                           const rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_resp_err_t err;

    if (!(l = rd_kafka_topic_partition_list_new(parts->cnt)))
        return;
    for (int i = 0; i < parts->cnt; i++) {
        /* The newest revoked state comes first in its hash chain. */
        pl_part_t *pt = pl_zombie_find(p, parts->elems[i].topic,
                                    parts->elems[i].partition);
        int64_t off = pt ? tracker_commit_offset(pt->tr) : -1;

        if (off >= 0)
            rd_kafka_topic_partition_list_add(l, pt->topic, pt->partition)
                ->offset = off;
    }
    if (l->cnt > 0 && (err = rd_kafka_commit(p->rkc, l, 0)) &&
        err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        log_warn("commit of revoked partitions: %s", rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(l);
}

/* Serve delivery reports (and the dead letters they ask for). */
void pl_serve_producer(pipeline_t *p, int timeout_ms)
{
    rd_kafka_poll(p->rkp, timeout_ms);
    pl_send_deferred(p);
}

/* Wait until the revoked partitions have nothing in flight, at most
 * timeout_ms. */
static void drain_revoked(pipeline_t *p, int timeout_ms)
{
    int64_t end = pl_now_ms() + timeout_ms;

    for (;;) {
        size_t left = 0;

        for (size_t b = 0; b < p->nbuckets; b++)
            for (pl_part_t *pt = p->parts[b]; pt; pt = pt->next)
                if (pt->revoked)
                    left += tracker_inflight(pt->tr);
        if (left == 0)
            return;
        if (pl_now_ms() >= end) {
            log_warn("revoke: %zu messages still in flight after %d ms; "
                     "their offsets stay uncommitted",
                     left, timeout_ms);
            return;
        }
        pl_serve_producer(p, 50);
    }
}

/* ---- rebalance -------------------------------------------------------- */

/* Apply one pause or resume list of partitions about to be assigned, and
 * record in each pl_part_t what librdkafka now has. A partition
 * librdkafka does not know yet (never assigned here) cannot be paused: it
 * starts unpaused, and follows the next change of backpressure. */
static void pre_assign_apply(pipeline_t *p, rd_kafka_topic_partition_list_t *l,
                             int pause)
{
    rd_kafka_resp_err_t err;

    if (l->cnt == 0)
        return;
    err = pause ? rd_kafka_pause_partitions(p->rkc, l)
                : rd_kafka_resume_partitions(p->rkc, l);
    for (int i = 0; i < l->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &l->elems[i];
        pl_part_t *pt = pl_part_find(p, tp->topic, tp->partition);
        rd_kafka_resp_err_t e = err ? err : tp->err;

        if (!pt)
            continue;
        if (!e) {
            pt->paused = pause;
        } else if (e == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION) {
            pt->paused = 0; /* new to librdkafka: not paused */
        } else {
            pt->paused = !pause; /* unchanged as far as we know */
            log_warn("%s %s [%" PRId32 "]: %s", pause ? "pause" : "resume",
                     tp->topic, tp->partition, rd_kafka_err2str(e));
        }
    }
}

/* Set librdkafka's pause state of the partitions of parts (all in
 * p->parts, not assigned yet): paused when they must wait (backpressure,
 * the deliveries of their previous assignment), else resumed, since
 * librdkafka keeps a partition's pause across unassign and assign (a
 * partition revoked while paused would come back paused for good).
 *
 * This must come before rd_kafka_incremental_assign(). A pause or resume
 * crossing the assignment's own fetch start (issued by librdkafka's main
 * thread once the committed offset is known) can make librdkafka 2.0.2
 * drop the fetch start as outdated: that partition then never fetches,
 * without an error (librdkafka issue #2190). Issued before the
 * assignment, they are served before its fetch start. */
static void pre_assign_pause(pipeline_t *p,
                             const rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *pl, *rl;

    pl = rd_kafka_topic_partition_list_new(parts->cnt);
    rl = rd_kafka_topic_partition_list_new(parts->cnt);
    if (!pl || !rl) {
        log_error("out of memory: partitions of the new assignment keep "
                  "their pause state");
        goto out;
    }
    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        pl_part_t *pt = pl_part_find(p, tp->topic, tp->partition);

        if (!pt)
            continue;
        pt->waiting = pl_zombie_find(p, pt->topic, pt->partition) != NULL;
        if (pt->waiting)
            log_info("%s [%" PRId32 "]: waiting for the deliveries of its "
                     "previous assignment before fetching",
                     pt->topic, pt->partition);
        rd_kafka_topic_partition_list_add(
            p->bp_paused || pt->waiting ? pl : rl, tp->topic, tp->partition);
    }
    pre_assign_apply(p, pl, 1);
    pre_assign_apply(p, rl, 0);
out:
    if (pl)
        rd_kafka_topic_partition_list_destroy(pl);
    if (rl)
        rd_kafka_topic_partition_list_destroy(rl);
}

static void on_assign(pipeline_t *p, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_error_t *error;

    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];

        if (pl_part_find(p, tp->topic, tp->partition))
            continue;
        if (!pl_part_add(p, tp->topic, tp->partition)) {
            snprintf(p->fatal_reason, sizeof(p->fatal_reason),
                     "out of memory on assignment");
            p->fatal = 1;
            return;
        }
        p->assigned++;
        log_info("assigned %s [%" PRId32 "]", tp->topic, tp->partition);
    }
    pre_assign_pause(p, parts);
    error = rd_kafka_incremental_assign(p->rkc, parts);
    if (error) {
        log_error("incremental_assign: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
}

static void on_revoke(pipeline_t *p, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_error_t *error;

    /* Exactly-once: what was routed from them commits (or aborts) now,
     * with everything else in the open transaction. */
    if (p->conf.exactly_once && !p->fatal)
        pl_txn_commit(p);
    for (int i = 0; i < parts->cnt; i++) {
        pl_part_t *pt = pl_part_find(p, parts->elems[i].topic,
                                  parts->elems[i].partition);

        if (!pt)
            continue;
        pt->revoked = 1;
        p->assigned--;
        if (p->last_part == pt)
            p->last_part = NULL;
        log_info("revoked %s [%" PRId32 "] (%zu in flight)", pt->topic,
                 pt->partition, tracker_inflight(pt->tr));
    }
    /* Stop fetching them, wait for their deliveries, commit, let go. */
    if (!p->conf.exactly_once) {
        drain_revoked(p, p->stopping ? 0 : p->conf.drain_timeout_ms);
        /* Lost (the group dropped us): a commit can only be refused. */
        if (!rd_kafka_assignment_lost(p->rkc))
            commit_revoked(p, parts);
        else
            log_warn("assignment lost: the new owner replays from the "
                     "last commit");
    }
    error = rd_kafka_incremental_unassign(p->rkc, parts);
    if (error) {
        log_error("incremental_unassign: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
    pl_parts_reap(p);
    /* Routing goes on in a new transaction. */
    if (p->conf.exactly_once && !p->stopping && !p->fatal)
        pl_txn_begin(p);
}

void pl_on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    pipeline_t *p = opaque;

    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        p->ever_assigned = 1;
        on_assign(p, parts);
    }
    else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
        on_revoke(p, parts);
    else
        log_error("rebalance: %s", rd_kafka_err2str(err));
}

