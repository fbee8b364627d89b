/* pipeline.c - the routing loop, on top of the pipeline's parts: Kafka
 * client setup, batch consume, backpressure, rules swap and shutdown (the
 * parts and their layers: pipeline_int.h, docs/design.md). */
#include "pipeline_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

#define PART_BUCKETS   1024
#define TOPIC_BUCKETS  256
#define STUCK_RETRY_MS 5000
#define MAX_BATCH      10000
#define IDLE_WAIT_MS   50 /* wait for the first message of a batch */

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    pipeline_t *p = opaque;

    if (rd_kafka_fatal_error(rk, NULL, 0)) {
        pl_fatal(p, "fatal %s error: %s",
                 rd_kafka_type(rk) == RD_KAFKA_PRODUCER ? "producer"
                                                        : "consumer",
                 reason);
        return;
    }
    log_warn("%s: %s: %s", rd_kafka_name(rk),
             rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* librdkafka's own log lines, through ours. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    log_msg(log_level_from_syslog(level), "%s: %s: %s", rd_kafka_name(rk), fac,
            buf);
}

/* ---- setup ------------------------------------------------------------ */

/* Apply one -X property to conf. Returns 0, or -1 with errstr set. */
static int conf_set(rd_kafka_conf_t *conf, const char *prop, char *errstr,
                    size_t errstr_size)
{
    char name[256], err[256];
    const char *eq = strchr(prop, '=');
    size_t n;

    if (!eq || eq == prop) {
        snprintf(errstr, errstr_size, "-X %s: expected prop=value", prop);
        return -1;
    }
    n = (size_t)(eq - prop);
    if (n >= sizeof(name)) {
        snprintf(errstr, errstr_size, "-X %s: property name too long", prop);
        return -1;
    }
    memcpy(name, prop, n);
    name[n] = '\0';
    if (rd_kafka_conf_set(conf, name, eq + 1, err, sizeof(err)) !=
        RD_KAFKA_CONF_OK) {
        snprintf(errstr, errstr_size, "-X %s: %s", prop, err);
        return -1;
    }
    return 0;
}

/* A client configuration for pc: our defaults, then every -X meant for it
 * ("consumer." / "producer." prefixed or plain); txn_id: the producer's
 * transactional.id under --exactly-once. The caller sets the opaque (the
 * error and log callbacks take a pipeline_t). NULL with errstr set on
 * error. */
static rd_kafka_conf_t *make_conf(const pipeline_conf_t *pc, const char *txn_id,
                                  const char *role, const char *const *defaults,
                                  char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    size_t rl = strlen(role);
    char prop[600];

    if (!conf) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    for (size_t i = 0; defaults[i]; i++)
        if (conf_set(conf, defaults[i], errstr, errstr_size))
            goto err;
    snprintf(prop, sizeof(prop), "bootstrap.servers=%s", pc->brokers);
    if (conf_set(conf, prop, errstr, errstr_size))
        goto err;
    if (pc->stats_interval_ms > 0) {
        snprintf(prop, sizeof(prop), "statistics.interval.ms=%d",
                 pc->stats_interval_ms);
        if (conf_set(conf, prop, errstr, errstr_size))
            goto err;
    }
    if (pc->exactly_once && !strcmp(role, "producer")) {
        snprintf(prop, sizeof(prop), "transactional.id=%s", txn_id);
        if (conf_set(conf, prop, errstr, errstr_size))
            goto err;
    }
    if (pc->exactly_once && !strcmp(role, "consumer") &&
        (conf_set(conf, "enable.auto.commit=false", errstr, errstr_size) ||
         conf_set(conf, "isolation.level=read_committed", errstr, errstr_size)))
        goto err;
    for (size_t i = 0; i < pc->nprops; i++) {
        const char *x = pc->props[i];

        if (!strncmp(x, "consumer.", 9) || !strncmp(x, "producer.", 9)) {
            if (strncmp(x, role, rl) || x[rl] != '.')
                continue;
            x += rl + 1;
        }
        if (conf_set(conf, x, errstr, errstr_size))
            goto err;
    }
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    return conf;
err:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

static const char *const consumer_defaults[] = {
    "partition.assignment.strategy=cooperative-sticky",
    "enable.auto.offset.store=false",
    "enable.auto.commit=true",
    "auto.commit.interval.ms=1000",
    "auto.offset.reset=earliest",
    "enable.partition.eof=false",
    "queued.min.messages=1000000",
    "queued.max.messages.kbytes=65536",
    NULL};

static const char *const producer_defaults[] = {
    "enable.idempotence=true",
    "acks=all",
    "partitioner=murmur2_random",
    "linger.ms=5",
    "queue.buffering.max.messages=100000",
    NULL};

int pipeline_conf_check(const pipeline_conf_t *conf, char *errstr,
                        size_t errstr_size)
{
    char txn_id[512] = "";
    rd_kafka_conf_t *c;

    if (conf->exactly_once && pl_txn_id(conf, txn_id, sizeof(txn_id))) {
        snprintf(errstr, errstr_size, "--transactional-id: too long");
        return -1;
    }
    if (!(c = make_conf(conf, txn_id, "producer", producer_defaults, errstr,
                        errstr_size)))
        return -1;
    rd_kafka_conf_destroy(c);
    if (!(c = make_conf(conf, txn_id, "consumer", consumer_defaults, errstr,
                        errstr_size)))
        return -1;
    rd_kafka_conf_destroy(c);
    return 0;
}

/* Wait for a broker to answer a metadata request. */
static int check_brokers(pipeline_t *p, char *errstr, size_t errstr_size)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t err;

    err = rd_kafka_metadata(p->rkp, 0, NULL, &md, p->conf.connect_timeout_ms);
    if (err) {
        snprintf(errstr, errstr_size,
                 "no broker of %s answered within %d ms: %s", p->conf.brokers,
                 p->conf.connect_timeout_ms, rd_kafka_err2str(err));
        return -1;
    }
    rd_kafka_metadata_destroy(md);
    return 0;
}

static int subscribe(pipeline_t *p, char *errstr, size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_resp_err_t err;
    size_t n =
        p->conf.topics ? p->conf.ntopics : rules_source_count(p->cur->rs);

    l = rd_kafka_topic_partition_list_new((int)n);
    if (!l) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(
            l, p->conf.topics ? p->conf.topics[i] : rules_source(p->cur->rs, i),
            RD_KAFKA_PARTITION_UA);
    err = rd_kafka_subscribe(p->rkc, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err) {
        snprintf(errstr, errstr_size, "subscribe: %s", rd_kafka_err2str(err));
        return -1;
    }
    p->subscribed = 1;
    return 0;
}

pipeline_t *pipeline_create(const pipeline_conf_t *conf, rules_set_t *rs,
                            char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *cc = NULL, *pc = NULL;
    pipeline_t *p = calloc(1, sizeof(*p));
    char val[64];
    size_t vlen = sizeof(val);
    char gid[512];

    if (!p || pthread_mutex_init(&p->lock, NULL)) {
        free(p);
        rules_destroy(rs);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    p->conf = *conf;
    if (p->conf.batch_size <= 0 || p->conf.batch_size > MAX_BATCH)
        p->conf.batch_size = 1000;
    p->lag = -1;
    if (p->conf.txn_interval_ms <= 0)
        p->conf.txn_interval_ms = 1000;
    if (p->conf.txn_max_messages <= 0)
        p->conf.txn_max_messages = 100000;
    if (p->conf.exactly_once && pl_txn_create(p, errstr, errstr_size)) {
        rules_destroy(rs);
        goto err;
    }
    p->cur = pl_rules_new(rs, conf->fleet ? conf->rules_version : 1);
    if (!p->cur) { /* it took rs */
        snprintf(errstr, errstr_size, "out of memory");
        goto err;
    }
    atomic_init(&p->last_version, p->cur->version);
    if (p->conf.metrics && pl_declare_metrics(p->conf.metrics)) {
        snprintf(errstr, errstr_size, "out of memory");
        goto err;
    }
    p->nbuckets = PART_BUCKETS;
    p->ntbuckets = TOPIC_BUCKETS;
    p->parts = calloc(p->nbuckets, sizeof(*p->parts));
    p->topics = calloc(p->ntbuckets, sizeof(*p->topics));
    p->scratch = rules_scratch_create();
    if (!p->parts || !p->topics || !p->scratch) {
        snprintf(errstr, errstr_size, "out of memory");
        goto err;
    }

    if (!(pc = make_conf(&p->conf, pl_txn_name(p), "producer",
                         producer_defaults, errstr, errstr_size)))
        goto err;
    rd_kafka_conf_set_opaque(pc, p);
    rd_kafka_conf_set_dr_msg_cb(pc, pl_on_delivery);
    if (rd_kafka_conf_get(pc, "queue.buffering.max.messages", val, &vlen) ==
        RD_KAFKA_CONF_OK)
        p->queue_max = strtol(val, NULL, 10);
    if (p->queue_max <= 0)
        p->queue_max = 100000;
    p->rkp = rd_kafka_new(RD_KAFKA_PRODUCER, pc, errstr, errstr_size);
    if (!p->rkp)
        goto err;
    pc = NULL; /* owned by rkp */

    if (!(cc = make_conf(&p->conf, pl_txn_name(p), "consumer",
                         consumer_defaults, errstr, errstr_size)))
        goto err;
    snprintf(gid, sizeof(gid), "group.id=%s", conf->group);
    if (conf_set(cc, gid, errstr, errstr_size))
        goto err;
    rd_kafka_conf_set_opaque(cc, p);
    rd_kafka_conf_set_rebalance_cb(cc, pl_on_rebalance);
    if (p->conf.stats_interval_ms > 0)
        rd_kafka_conf_set_stats_cb(cc, pl_on_stats);
    p->rkc = rd_kafka_new(RD_KAFKA_CONSUMER, cc, errstr, errstr_size);
    if (!p->rkc)
        goto err;
    cc = NULL; /* owned by rkc */
    /* Its callbacks (rebalance, stats, errors) are served by the routing
     * thread's consume calls. */
    if (rd_kafka_poll_set_consumer(p->rkc)) {
        snprintf(errstr, errstr_size,
                 "cannot redirect the consumer's "
                 "events to its queue");
        goto err;
    }
    p->rkqu = rd_kafka_queue_get_consumer(p->rkc);
    if (!p->rkqu) {
        snprintf(errstr, errstr_size, "no consumer queue");
        goto err;
    }
    if (check_brokers(p, errstr, errstr_size))
        goto err;
    if (p->conf.exactly_once && pl_txn_init(p, errstr, errstr_size))
        goto err;
    if (subscribe(p, errstr, errstr_size))
        goto err;
    pl_publish(p);
    return p;
err:
    if (pc)
        rd_kafka_conf_destroy(pc);
    if (cc)
        rd_kafka_conf_destroy(cc);
    pipeline_destroy(p);
    return NULL;
}

/* ---- the loop --------------------------------------------------------- */

/* Pause every live partition while the producer queue is above 80%, resume
 * below 50% (stuck partitions stay paused). */
static void backpressure(pipeline_t *p)
{
    long q = rd_kafka_outq_len(p->rkp);
    int want;

    if (!p->bp_paused && q >= p->queue_max * 8 / 10)
        want = 1;
    else if (p->bp_paused && q <= p->queue_max / 2)
        want = 0;
    else
        return;
    p->bp_paused = want;
    log_debug("backpressure: %s (%ld queued)", want ? "pause" : "resume", q);
    PL_FOREACH_PART(p, pt)
    pl_part_sync_pause(p, pt);
}

/* 1 when a and b have the same sources, in any order. */
static int same_sources(const rules_set_t *a, const rules_set_t *b)
{
    size_t n = rules_source_count(a);

    if (n != rules_source_count(b))
        return 0;
    for (size_t i = 0; i < n; i++) {
        size_t j;

        for (j = 0; j < n; j++)
            if (!strcmp(rules_source(a, i), rules_source(b, j)))
                break;
        if (j == n)
            return 0;
    }
    return 1;
}

/* Switch to rules handed over by pipeline_set_rules(), between batches;
 * follow a change of sources with the subscription. */
static int swap_rules(pipeline_t *p)
{
    pl_rules_t *pr = atomic_exchange(&p->next_rules, NULL), *old = p->cur;
    char errstr[512];

    if (!pr)
        return 0;
    pl_fold_hits(p, old);
    p->cur = pr;
    if (!p->conf.topics && !same_sources(old->rs, pr->rs)) {
        if (subscribe(p, errstr, sizeof(errstr)))
            log_error("rules version %" PRId64 ": %s", pr->version, errstr);
        else
            log_info("rules version %" PRId64 ": subscription updated",
                     pr->version);
    }
    pl_rules_unref(p, old);
    log_info("rules version %" PRId64 " in effect", pr->version);
    return 0;
}

static void retry_stuck(pipeline_t *p)
{
    PL_FOREACH_PART(p, pt)
    if (pt->stuck_head)
        pl_retry_stuck(p, pt);
}

/* Take what the consumer queue holds, up to a batch, without waiting for
 * the batch to fill (consume_batch_queue would wait its whole timeout for
 * that); when the queue is empty, wait up to IDLE_WAIT_MS for the first
 * message. Returns the number of messages in msgs. */
static ssize_t consume_batch(pipeline_t *p, rd_kafka_message_t **msgs)
{
    size_t max = (size_t)p->conf.batch_size;
    ssize_t n = rd_kafka_consume_batch_queue(p->rkqu, 0, msgs, max);
    ssize_t more;

    if (n != 0)
        goto out;
    msgs[0] = rd_kafka_consume_queue(p->rkqu, IDLE_WAIT_MS);
    if (!msgs[0])
        return 0;
    n = 1;
    if (max > 1 && msgs[0]->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        more = rd_kafka_consume_batch_queue(p->rkqu, 0, msgs + 1, max - 1);
        if (more > 0)
            n += more;
    }
out:
    if (n < 0) {
        log_error("consume: %s", rd_kafka_err2str(rd_kafka_last_error()));
        n = 0;
    }
    return n;
}

/* Route one consumed batch. Returns -1 on a fatal error. */
static int route_batch(pipeline_t *p, rd_kafka_message_t **msgs, ssize_t n)
{
    ssize_t i;

    for (i = 0; i < n; i++) {
        rd_kafka_message_t *rkm = msgs[i];
        pl_part_t *pt;

        if (rkm->err) {
            if (rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                log_warn("consume: %s", rd_kafka_message_errstr(rkm));
            rd_kafka_message_destroy(rkm);
            continue;
        }
        pt = pl_part_find(p, rd_kafka_topic_name(rkm->rkt), rkm->partition);
        if (!pt) {
            /* Not ours any more: the new owner reads it from the last
             * commit. */
            rd_kafka_message_destroy(rkm);
            continue;
        }
        if (pt->held) {
            if (pl_hold_msg(p, pt, rkm) != 0) /* takes rkm */
                goto fatal;
            continue;
        }
        if (pl_route(p, rkm, pt) != 0)
            goto fatal;
    }
    return 0;
fatal:
    /* pl_route() took msgs[i], also on failure. */
    for (i++; i < n; i++)
        rd_kafka_message_destroy(msgs[i]);
    return -1;
}

static void shutdown_clean(pipeline_t *p)
{
    rd_kafka_resp_err_t err;
    int64_t end = clock_ms() + p->conf.drain_timeout_ms;

    log_info("stopping: draining %" PRIu64 " in-flight messages", p->inflight);
    /* Stop fetching, then wait for what is in flight. */
    PL_FOREACH_PART(p, pt)
    if (!pt->revoked && !pt->paused)
        pl_part_pause(p, pt, 1);
    while (!p->conf.exactly_once && p->inflight > 0 && clock_ms() < end) {
        pl_serve_producer(p, 50);
        pl_offsets_flush(p);
    }
    if (!p->conf.exactly_once && p->inflight > 0)
        log_warn("stopping: %" PRIu64 " messages still in flight after %d "
                 "ms; they will be routed again after a restart",
                 p->inflight, p->conf.drain_timeout_ms);
    p->stopping = 1;
    if (p->conf.exactly_once) {
        /* What was routed commits with its offsets, or is aborted and
         * routed again after a restart. */
        pl_txn_commit(p);
    } else {
        pl_offsets_flush(p);
        err = rd_kafka_commit(p->rkc, NULL, 0);
        if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
            log_warn("final commit: %s", rd_kafka_err2str(err));
    }
    err = rd_kafka_consumer_close(p->rkc);
    if (err)
        log_warn("consumer close: %s", rd_kafka_err2str(err));
}

int pipeline_run(pipeline_t *p)
{
    rd_kafka_message_t **msgs =
        calloc((size_t)p->conf.batch_size, sizeof(*msgs));
    int64_t last_retry = clock_ms(), last_pub = 0;

    if (!msgs) {
        log_error("out of memory");
        return -1;
    }
    while (!atomic_load(&p->stop) && !p->fatal) {
        ssize_t n;
        int64_t now;

        swap_rules(p);
        if (!p->conf.exactly_once) {
            n = consume_batch(p, msgs);
        } else if (pl_txn_backing_off(p, clock_ms())) {
            pl_serve_producer(p, 50); /* backing off after an abort */
            n = 0;
        } else {
            if (pl_txn_begin(p))
                break;
            n = consume_batch(p, msgs);
        }
        if (route_batch(p, msgs, n) != 0)
            break;
        if (p->conf.fleet && pl_hold_check(p) != 0)
            break;
        pl_serve_producer(p, 0);
        if (!p->conf.exactly_once)
            pl_offsets_flush(p);
        pl_parts_reap(p);
        backpressure(p);
        now = clock_ms();
        if (p->conf.exactly_once && pl_txn_due(p, now))
            pl_txn_commit(p);
        if (now - last_retry >= STUCK_RETRY_MS) {
            retry_stuck(p);
            last_retry = now;
        }
        if (now - last_pub >= 100) {
            pl_publish(p);
            last_pub = now;
        }
    }
    free(msgs);
    if (p->fatal) {
        log_error("%s", p->fatal_reason);
        pl_publish(p);
        return -1;
    }
    shutdown_clean(p);
    pl_publish(p);
    return 0;
}

void pipeline_stop(pipeline_t *p)
{
    atomic_store(&p->stop, 1);
}

int64_t pipeline_set_rules(pipeline_t *p, rules_set_t *rs, int64_t version)
{
    int64_t v = version >= 0 ? version : atomic_load(&p->last_version) + 1;
    pl_rules_t *pr = pl_rules_new(rs, v), *old; /* takes rs */

    if (!pr)
        return -1;
    atomic_store(&p->last_version, v);
    /* Not picked up yet: it never routed anything (one reference). */
    if ((old = atomic_exchange(&p->next_rules, pr)))
        pl_rules_unref(p, old);
    return v;
}

void pipeline_destroy(pipeline_t *p)
{
    if (!p)
        return;
    if (p->rkp) {
        /* Whatever is still queued is abandoned: its offsets were not
         * committed, so it is routed again after a restart. */
        p->stopping = 1;
        if (rd_kafka_purge(p->rkp,
                           RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
            log_debug("purge failed");
        if (rd_kafka_flush(p->rkp, 2000))
            log_warn("producer: %d messages not purged",
                     rd_kafka_outq_len(p->rkp));
    }
    if (p->rkqu)
        rd_kafka_queue_destroy(p->rkqu);
    /* Consumed messages kept by unfinished contexts (a stuck dead letter,
     * deliveries purged after the drain timeout) hold the consumer:
     * rd_kafka_destroy() would wait for them forever. The producer was
     * purged above: nothing reads them any more. */
    for (pl_slab_t *s = p->slabs; s; s = s->next)
        for (size_t i = 0; i < s->n; i++)
            if (s->ctx[i].in_use && s->ctx[i].rkm) {
                rd_kafka_message_destroy(s->ctx[i].rkm);
                s->ctx[i].rkm = NULL;
            }
    /* So do the messages of held partitions (never routed). */
    for (size_t b = 0; p->parts && b < p->nbuckets; b++)
        for (pl_part_t *pt = p->parts[b]; pt; pt = pt->next) {
            for (size_t i = 0; i < pt->nhold; i++)
                rd_kafka_message_destroy(pt->hold[i]);
            pt->nhold = 0;
        }
    /* librdkafka 2.0.2 aborts destroying a cooperative-sticky consumer
     * that got a JoinGroup answer but no assignment yet (its assignor
     * state is still NULL: librdkafka #4312). The state exists once an
     * assignment was handed to us, even an empty one (cooperative
     * rebalances always call back); a consumer that subscribed and got
     * none is left to the process's exit. docs/design.md, "Shutdown". */
    if (p->rkc && (!p->subscribed || p->ever_assigned))
        rd_kafka_destroy(p->rkc);
    else if (p->rkc)
        log_info("consumer left undestroyed: it never got an assignment "
                 "(librdkafka #4312)");
    pl_topics_destroy(p);
    if (p->rkp)
        rd_kafka_destroy(p->rkp);
    pl_ctx_free_all(p);
    pl_txn_destroy(p);
    while (p->dl_deferred) {
        pl_deadletter_t *dl = p->dl_deferred;

        p->dl_deferred = dl->next;
        pl_deadletter_free(dl);
    }
    for (size_t b = 0; p->parts && b < p->nbuckets; b++) {
        pl_part_t *pt;

        while ((pt = p->parts[b])) {
            p->parts[b] = pt->next;
            while (pt->stuck_head) {
                pl_deadletter_t *dl = pt->stuck_head;

                pt->stuck_head = dl->next;
                pl_deadletter_free(dl);
            }
            pl_part_free(pt);
        }
    }
    free(p->parts);
    free(p->topics);
    rules_scratch_destroy(p->scratch);
    pl_rules_unref(p, p->cur); /* the "current" reference */
    pl_rules_unref(p, atomic_load(&p->next_rules));
    pthread_mutex_destroy(&p->lock);
    free(p);
}
