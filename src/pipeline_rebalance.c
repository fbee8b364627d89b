/* pipeline_rebalance.c - the cooperative rebalance: new partitions
 * assigned (their pause state set first), revoked ones drained of their
 * in-flight deliveries and committed before they are let go, and freed
 * once their last message is handled. Routing thread only. */
#include "pipeline_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "log.h"

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
                    pl_publish_delta(
                        p->conf.metrics, "router_messages_consumed_total",
                        pt->topic, pt->consumed, &pt->consumed_pub);
                    metrics_unlock(p->conf.metrics);
                }
                *pp = pt->next;
                if (p->last_part == pt)
                    p->last_part = NULL;
                live = pl_part_find(p, pt->topic, pt->partition);
                if (live && live->waiting &&
                    !pl_part_find_revoked(p, pt->topic, pt->partition)) {
                    live->waiting = 0;
                    pl_part_sync_pause(p, live);
                    log_info("%s [%" PRId32 "]: previous deliveries done, "
                             "fetching",
                             live->topic, live->partition);
                }
                pl_part_free(pt);
            } else {
                pp = &pt->next;
            }
        }
    }
}

/* Commit, synchronously, the low watermarks of the partitions of parts,
 * which were just marked revoked (only those: an older revoked partition
 * may belong to another member by now). */
/* pl_offsets_list() pick: the newest revoked state of a partition of the
 * list opaque, with an offset to commit. */
static int pick_revoked(pipeline_t *p, pl_part_t *pt, int64_t *off,
                        void *opaque)
{
    const rd_kafka_topic_partition_list_t *parts = opaque;

    if (!pt->revoked || *off < 0 ||
        pl_part_find_revoked(p, pt->topic, pt->partition) != pt)
        return 0;
    return rd_kafka_topic_partition_list_find(parts, pt->topic,
                                              pt->partition) != NULL;
}

static void commit_revoked(pipeline_t *p,
                           const rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_resp_err_t err;

    if (!(l = pl_offsets_list(p, pick_revoked, (void *)parts)))
        return;
    if (l->cnt > 0 && (err = rd_kafka_commit(p->rkc, l, 0)) &&
        err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        log_warn("commit of revoked partitions: %s", rd_kafka_err2str(err));
    rd_kafka_topic_partition_list_destroy(l);
}

/* Wait until the revoked partitions have nothing in flight, at most
 * timeout_ms. */
static void drain_revoked(pipeline_t *p, int timeout_ms)
{
    int64_t end = clock_ms() + timeout_ms;

    for (;;) {
        size_t left = 0;

        PL_FOREACH_PART(p, pt)
        if (pt->revoked)
            left += tracker_inflight(pt->tr);
        if (left == 0)
            return;
        if (clock_ms() >= end) {
            log_warn("revoke: %zu messages still in flight after %d ms; "
                     "their offsets stay uncommitted",
                     left, timeout_ms);
            return;
        }
        pl_serve_producer(p, 50);
    }
}

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
 * the deliveries of their previous assignment), else resumed (librdkafka
 * keeps a pause across unassign and assign). Must come before
 * rd_kafka_incremental_assign(): docs/design.md, "Rebalance". */
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
        pt->waiting = pl_part_find_revoked(p, pt->topic, pt->partition) != NULL;
        if (pt->waiting)
            log_info("%s [%" PRId32 "]: waiting for the deliveries of its "
                     "previous assignment before fetching",
                     pt->topic, pt->partition);
        rd_kafka_topic_partition_list_add(p->bp_paused || pt->waiting ? pl : rl,
                                          tp->topic, tp->partition);
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
    int64_t now = clock_ms();

    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
        pl_part_t *pt;

        if (pl_part_find(p, tp->topic, tp->partition))
            continue;
        if (!(pt = pl_part_add(p, tp->topic, tp->partition))) {
            pl_fatal(p, "out of memory on assignment");
            return;
        }
        /* Fleet: not routed before the rules are recent enough
         * (pipeline_hold.c). */
        pt->held = p->conf.fleet;
        pt->held_since = now;
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
        pl_part_t *pt =
            pl_part_find(p, parts->elems[i].topic, parts->elems[i].partition);

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
    } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
        on_revoke(p, parts);
    else
        log_error("rebalance: %s", rd_kafka_err2str(err));
}
