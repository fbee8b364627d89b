/* pipeline_hold.c - fleet: a partition newly assigned to this instance is
 * held, not routed, until the rules topic was read to its end after the
 * assignment: its previous owner only routed with versions that were in
 * the topic before it let the partition go, so this instance's are at
 * least as recent (unless it refused one: /healthz says so). What it
 * delivers meanwhile is kept, and it is paused; on release the kept
 * messages are routed first. Routing thread only. */
#include "pipeline_int.h"

#include <inttypes.h>
#include <stdlib.h>

#include "clock.h"
#include "log.h"

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

/* Route the messages pt kept while held, and let it fetch. */
static int release(pipeline_t *p, pl_part_t *pt, int64_t now)
{
    size_t i;

    log_info("%s [%" PRId32 "]: routing with rules version %" PRId64
             " after a hold of %" PRId64 " ms",
             pt->topic, pt->partition, p->cur->version, now - pt->held_since);
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

    PL_FOREACH_PART(p, pt)
    {
        if (pt->revoked || !pt->held ||
            !p->conf.rules_synced(p->conf.rules_opaque, pt->held_since))
            continue;
        if (release(p, pt, now))
            return -1;
    }
    return 0;
}
