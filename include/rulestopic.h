/* rulestopic.h - the rules topic of a fleet (--rules-topic): a compacted
 * topic of one partition whose records are rules documents, keyed by
 * consumer group id. A record's offset is its fleet version.
 *
 * It reads the topic from its start with a consumer of its own (no group,
 * no commits), hands every record of its group to a callback in order,
 * and publishes new documents with an idempotent producer (acks=all).
 * It knows nothing of the rules' content: control.c loads them. */
#ifndef ROUTER_RULESTOPIC_H
#define ROUTER_RULESTOPIC_H

#include <stddef.h>
#include <stdint.h>

typedef struct rulestopic rulestopic_t;

/* One record of the group, valid during the callback only. */
typedef struct rulestopic_record {
    int64_t offset;    /* the fleet version */
    const char *value; /* the rules document, NULL for a tombstone */
    size_t len;
    const char *writer; /* router.rules.writer header, "" when absent */
    int64_t written_ms; /* the record's timestamp, -1 unknown */
} rulestopic_record_t;

/* Called for each record of the group, in offset order: by
 * rulestopic_catch_up() on its caller's thread, then by the reader thread
 * of rulestopic_start(). */
typedef void rulestopic_cb(void *opaque, const rulestopic_record_t *rec);

/* Connect to brokers (props: "k=v" for both clients, "consumer.k=v" /
 * "producer.k=v" for one, as the router's -X) and make sure topic exists
 * with one partition: with create, created (compacted, one partition)
 * when missing; without, a missing topic is an error (*code 2).
 * writer names this instance in the records it publishes. Returns NULL
 * with errstr set and *code 2 (the topic has more than one partition, or
 * a bad property) or 1 (no broker answered, creation failed). */
rulestopic_t *rulestopic_open(const char *brokers, const char *const *props,
                              size_t nprops, const char *topic,
                              const char *group, const char *writer, int create,
                              int timeout_ms, int *code, char *errstr,
                              size_t errstr_size);

/* Read the topic to the end it has now, calling cb for each record of the
 * group. Returns 0, or -1 with errstr set (the topic could not be read
 * within timeout_ms). */
int rulestopic_catch_up(rulestopic_t *rt, rulestopic_cb *cb, void *opaque,
                        int timeout_ms, char *errstr, size_t errstr_size);

/* Start the reader thread: it goes on reading where rulestopic_catch_up()
 * stopped and calls cb (opaque) for each new record of the group. Returns
 * 0, or -1 when the thread cannot start. */
int rulestopic_start(rulestopic_t *rt, rulestopic_cb *cb, void *opaque);

/* Publish a rules document (copied) for the group and wait for the
 * cluster to take it (at most the timeout given to rulestopic_open(), as
 * librdkafka's message.timeout.ms). Returns its offset (the new fleet
 * version), or -1 with errstr set: nothing was written. Any thread;
 * publishes are serialized. */
int64_t rulestopic_publish(rulestopic_t *rt, const char *text, size_t len,
                           char *errstr, size_t errstr_size);

/* 1 when the reader was at the end of the topic at some moment after
 * since_ms (clock_ms()): every record published before since_ms was read.
 * Any thread. */
int rulestopic_synced_since(rulestopic_t *rt, int64_t since_ms);

/* Why the topic cannot be read, in buf: "" while the reader keeps up
 * (it was at the end less than a few seconds ago). Any thread. */
void rulestopic_health(rulestopic_t *rt, char *buf, size_t size);

/* The topic's name. */
const char *rulestopic_name(const rulestopic_t *rt);

/* Stop the reader thread and free. Accepts NULL. */
void rulestopic_close(rulestopic_t *rt);

#endif
