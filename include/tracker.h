/* tracker.h - per-partition offset tracker: which consumed offsets are
 * wholly handled, and the contiguous low watermark that may be committed.
 *
 * One tracker per assigned source partition. Offsets are registered in
 * consumption order (strictly increasing); each carries a count of pending
 * actions (one per produce, plus one per dead-letter produce). The commit
 * offset is 1 + the highest offset N such that every registered offset up to
 * N has no pending action. Not thread-safe: the routing thread owns it. */
#ifndef ROUTER_TRACKER_H
#define ROUTER_TRACKER_H

#include <stddef.h>
#include <stdint.h>

typedef struct tracker tracker_t;

/* Create a tracker for one partition. Returns NULL when out of memory. */
tracker_t *tracker_create(const char *topic, int32_t partition);

/* Free a tracker. Accepts NULL. */
void tracker_destroy(tracker_t *tr);

/* Register a consumed offset with `actions` pending actions (0 means it is
 * already done: dropped by rule). *seq (if not NULL) gets the handle to pass
 * to tracker_done()/tracker_more(). Returns 0; -1 when offset is not greater
 * than the last registered one or when out of memory (nothing changes). */
int tracker_add(tracker_t *tr, int64_t offset, unsigned actions, uint64_t *seq);

/* Add n pending actions to a registered, not yet done entry (for example a
 * failed produce that is now being dead-lettered). Returns 0; -1 when seq is
 * unknown or already done. */
int tracker_more(tracker_t *tr, uint64_t seq, unsigned n);

/* One pending action of entry seq is done. Returns 0; -1 when seq is
 * unknown or has no pending action (nothing changes). */
int tracker_done(tracker_t *tr, uint64_t seq);

/* The offset to commit (last contiguous done offset + 1), or -1 when no
 * offset has been done since the tracker was created. */
int64_t tracker_commit_offset(const tracker_t *tr);

/* Registered entries not yet released (pending, or done behind a pending
 * one). */
size_t tracker_inflight(const tracker_t *tr);

/* The offset of the oldest pending entry, or -1 when none is pending. */
int64_t tracker_oldest_pending(const tracker_t *tr);

const char *tracker_topic(const tracker_t *tr);
int32_t tracker_partition(const tracker_t *tr);

#endif
