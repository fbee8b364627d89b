/* tracker.c - per-partition offset tracker: a ring of in-flight offsets
 * that yields the contiguous low watermark to commit. */
#include "tracker.h"

#include <stdlib.h>
#include <string.h>

/* Initial ring capacity (a power of two). */
#define TRACKER_INIT_CAP 64

/* One registered offset and the number of its actions not yet done. */
struct tracker_entry {
    int64_t offset;   /* source offset */
    unsigned pending; /* actions not done yet; 0: done */
};

struct tracker {
    char *topic;                /* source topic (owned copy) */
    int32_t partition;          /* source partition */
    struct tracker_entry *ring; /* cap slots; entry seq is at seq & mask */
    size_t cap;                 /* ring capacity, a power of two */
    uint64_t head;              /* seq of the oldest entry still held */
    uint64_t tail;              /* seq the next tracker_add() gets */
    int64_t last_offset;        /* last registered offset, -1: none yet */
    int64_t commit;             /* offset to commit, -1: none done yet */
};

tracker_t *tracker_create(const char *topic, int32_t partition)
{
    tracker_t *tr;

    tr = calloc(1, sizeof(*tr));
    if (!tr)
        goto err;
    /* A NULL topic is kept as "" so tracker_topic() never returns NULL. */
    tr->topic = strdup(topic ? topic : "");
    if (!tr->topic)
        goto err;
    tr->cap = TRACKER_INIT_CAP;
    tr->ring = calloc(tr->cap, sizeof(*tr->ring));
    if (!tr->ring)
        goto err;
    tr->partition = partition;
    tr->last_offset = -1;
    tr->commit = -1;
    return tr;

err:
    tracker_destroy(tr);
    return NULL;
}

void tracker_destroy(tracker_t *tr)
{
    if (!tr)
        return;
    free(tr->ring);
    free(tr->topic);
    free(tr);
}

/* The slot of sequence number seq (which must be held). */
static struct tracker_entry *tracker_slot(const tracker_t *tr, uint64_t seq)
{
    return &tr->ring[seq & (uint64_t)(tr->cap - 1)];
}

/* Release done entries from the head and advance the commit offset. After
 * it, the head entry (if any) is pending. Amortised O(1) per entry. */
static void tracker_release(tracker_t *tr)
{
    while (tr->head != tr->tail) {
        const struct tracker_entry *e = tracker_slot(tr, tr->head);

        if (e->pending)
            break;
        tr->commit = e->offset + 1;
        tr->head++;
    }
}

/* Double the ring. Entries keep their seq; each moves to the slot that seq
 * maps to under the new mask. Returns 0; -1 when out of memory (the ring is
 * unchanged). */
static int tracker_grow(tracker_t *tr)
{
    struct tracker_entry *ring;
    size_t cap;
    uint64_t seq;

    if (tr->cap > SIZE_MAX / 2 / sizeof(*ring))
        return -1;
    cap = tr->cap * 2;
    ring = calloc(cap, sizeof(*ring));
    if (!ring)
        return -1;
    for (seq = tr->head; seq != tr->tail; seq++)
        ring[seq & (uint64_t)(cap - 1)] = *tracker_slot(tr, seq);
    free(tr->ring);
    tr->ring = ring;
    tr->cap = cap;
    return 0;
}

/* The held entry of seq, or NULL when seq was never given out or has
 * already been released. */
static struct tracker_entry *tracker_find(tracker_t *tr, uint64_t seq)
{
    if (seq < tr->head || seq >= tr->tail)
        return NULL;
    return tracker_slot(tr, seq);
}

int tracker_add(tracker_t *tr, int64_t offset, unsigned actions, uint64_t *seq)
{
    struct tracker_entry *e;

    /* Negative offsets are not Kafka offsets (and -1 means "none" here). */
    if (offset < 0 || offset <= tr->last_offset)
        return -1;
    if (tr->tail - tr->head == tr->cap && tracker_grow(tr) == -1)
        return -1;
    e = tracker_slot(tr, tr->tail);
    e->offset = offset;
    e->pending = actions;
    if (seq)
        *seq = tr->tail;
    tr->tail++;
    tr->last_offset = offset;
    if (actions == 0)
        tracker_release(tr);
    return 0;
}

int tracker_more(tracker_t *tr, uint64_t seq, unsigned n)
{
    struct tracker_entry *e = tracker_find(tr, seq);

    if (!e || e->pending == 0 || n > (unsigned)-1 - e->pending)
        return -1;
    e->pending += n;
    return 0;
}

int tracker_done(tracker_t *tr, uint64_t seq)
{
    struct tracker_entry *e = tracker_find(tr, seq);

    if (!e || e->pending == 0)
        return -1;
    e->pending--;
    if (e->pending == 0 && seq == tr->head)
        tracker_release(tr);
    return 0;
}

int64_t tracker_commit_offset(const tracker_t *tr)
{
    return tr->commit;
}

size_t tracker_inflight(const tracker_t *tr)
{
    return (size_t)(tr->tail - tr->head);
}

int64_t tracker_oldest_pending(const tracker_t *tr)
{
    /* tracker_release() keeps the head entry pending whenever one is held. */
    if (tr->head == tr->tail)
        return -1;
    return tracker_slot(tr, tr->head)->offset;
}

const char *tracker_topic(const tracker_t *tr)
{
    return tr->topic;
}

int32_t tracker_partition(const tracker_t *tr)
{
    return tr->partition;
}
