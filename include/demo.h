/* demo.h - the embedded demo: an in-process librdkafka mock cluster and a
 * generator of realistic music-app events (a few percent malformed). */
#ifndef ROUTER_DEMO_H
#define ROUTER_DEMO_H

#include <stddef.h>
#include <stdint.h>

typedef struct demo demo_t;

typedef struct demo_conf {
    int brokers;               /* mock brokers (3) */
    const char *topic;         /* source topic the generator writes to */
    int partitions;            /* partitions of every created topic */
    double rate;               /* events per second (0: as fast as possible) */
    const char *const *topics; /* other topics to create (destinations) */
    size_t ntopics;
    const char *type_topic_prefix; /* also create PREFIX<type> for every
                                    * event type generated (for a
                                    * templated route); NULL: none */
} demo_conf_t;

/* Start the mock cluster, create conf->topic, conf->topics and the
 * per-type topics, and start
 * the generator thread. Returns NULL with errstr set on failure (nothing is
 * left running). The caller stops it with demo_stop(). */
demo_t *demo_start(const demo_conf_t *conf, char *errstr, size_t errstr_size);

/* The cluster's bootstrap servers ("127.0.0.1:port,..."), owned by d. */
const char *demo_bootstraps(const demo_t *d);

/* Events the generator has had acknowledged so far. Thread-safe. */
uint64_t demo_produced(const demo_t *d);

/* Stop the generator, flush it, destroy the cluster. Accepts NULL. */
void demo_stop(demo_t *d);

#endif
