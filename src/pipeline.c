/* pipeline.c - the routing loop: Kafka client setup, batch consume,
 * rebalance (cooperative), offset storing, backpressure, shutdown and the
 * published counters. Routing of one message is in pipeline_route.c. */
#include "pipeline_int.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define PART_BUCKETS 1024
#define TOPIC_BUCKETS 256
#define STUCK_RETRY_MS 5000
#define MAX_BATCH 10000
#define IDLE_WAIT_MS 50 /* wait for the first message of a batch */

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A pl_rules_t for rs (taken over, also on failure) with one reference.
 * NULL when out of memory. */
static pl_rules_t *rules_new(rules_set_t *rs, int version)
{
    pl_rules_t *pr = calloc(1, sizeof(*pr));
    size_t n = rules_route_count(rs);

    if (!pr || !(pr->hits = calloc(n + 1, sizeof(*pr->hits))) ||
        !(pr->hits_pub = calloc(n + 1, sizeof(*pr->hits_pub)))) {
        if (pr)
            free(pr->hits);
        free(pr);
        rules_destroy(rs);
        return NULL;
    }
    pr->rs = rs;
    pr->version = version;
    pr->refs = 1;
    return pr;
}

/* ---- partitions ------------------------------------------------------- */

static size_t part_bucket(const pipeline_t *p, const char *topic,
                          int32_t partition)
{
    uint64_t h = pl_hash_str(topic, PL_HASH_INIT);

    return ((h ^ (uint32_t)partition) * 1099511628211ULL) % p->nbuckets;
}

/* The live (not revoked) state of topic/partition, or NULL. */
static pl_part_t *part_find(pipeline_t *p, const char *topic,
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
static pl_part_t *zombie_find(pipeline_t *p, const char *topic,
                              int32_t partition)
{
    for (pl_part_t *pt = p->parts[part_bucket(p, topic, partition)]; pt;
         pt = pt->next)
        if (pt->partition == partition && pt->revoked &&
            !strcmp(pt->topic, topic))
            return pt;
    return NULL;
}

static void part_sync_pause(pipeline_t *p, pl_part_t *pt);

static void part_free(pl_part_t *pt)
{
    if (!pt)
        return;
    tracker_destroy(pt->tr);
    free(pt->topic);
    free(pt);
}

/* Unlink and free revoked partitions whose messages are all handled. */
static void parts_reap(pipeline_t *p)
{
    for (size_t b = 0; b < p->nbuckets; b++) {
        pl_part_t **pp = &p->parts[b];

        while (*pp) {
            pl_part_t *pt = *pp;

            if (pt->revoked && tracker_inflight(pt->tr) == 0 &&
                !pt->stuck_head) {
                if (p->conf.metrics && pt->consumed > pt->consumed_pub) {
                    metrics_lock(p->conf.metrics);
                    metrics_add(p->conf.metrics,
                                "router_messages_consumed_total", pt->topic,
                                NULL, (double)(pt->consumed - pt->consumed_pub));
                    metrics_unlock(p->conf.metrics);
                }
                pl_part_t *live;

                *pp = pt->next;
                if (p->last_part == pt)
                    p->last_part = NULL;
                live = part_find(p, pt->topic, pt->partition);
                if (live && live->waiting &&
                    !zombie_find(p, pt->topic, pt->partition)) {
                    live->waiting = 0;
                    part_sync_pause(p, live);
                    log_info("%s [%" PRId32 "]: previous deliveries done, "
                             "fetching", live->topic, live->partition);
                }
                part_free(pt);
            } else {
                pp = &pt->next;
            }
        }
    }
}

static pl_part_t *part_add(pipeline_t *p, const char *topic,
                           int32_t partition)
{
    pl_part_t *pt = calloc(1, sizeof(*pt));
    size_t b;

    if (!pt || !(pt->topic = strdup(topic)) ||
        !(pt->tr = tracker_create(topic, partition))) {
        part_free(pt);
        return NULL;
    }
    pt->partition = partition;
    pt->stored = -1;
    b = part_bucket(p, topic, partition);
    pt->next = p->parts[b];
    p->parts[b] = pt;
    return pt;
}

/* Pause or resume one partition's fetching. */
static void part_pause(pipeline_t *p, pl_part_t *pt, int pause)
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
static void part_sync_pause(pipeline_t *p, pl_part_t *pt)
{
    int want = p->bp_paused || pt->stuck || pt->waiting;

    if (!pt->revoked && pt->paused != want)
        part_pause(p, pt, want);
}

void pl_part_stuck(pipeline_t *p, pl_part_t *pt, int stuck)
{
    if (pt->stuck == stuck)
        return;
    pt->stuck = stuck;
    part_sync_pause(p, pt);
}

void pl_count(pl_count_t *c, size_t *n, const char *name)
{
    size_t i;

    for (i = 0; i < *n; i++)
        if (!strcmp(c[i].name, name))
            break;
    if (i == *n) {
        if (*n == PL_MAX_REASONS)
            i = PL_MAX_REASONS - 1; /* the last slot takes the rest */
        else
            snprintf(c[(*n)++].name, sizeof(c[i].name), "%s", name);
    }
    c[i].n++;
}

/* ---- offsets ---------------------------------------------------------- */

/* Give librdkafka's offsets_store the low watermarks of the live
 * partitions that moved (auto commit sends them). A partition's stored
 * offset only moves when librdkafka took it: a refused one is offered
 * again next time. */
static void offsets_flush(pipeline_t *p)
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
            pl_part_t *pt = part_find(p, tp->topic, tp->partition);

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
        pl_part_t *pt = zombie_find(p, parts->elems[i].topic,
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
static void serve_producer(pipeline_t *p, int timeout_ms)
{
    rd_kafka_poll(p->rkp, timeout_ms);
    pl_send_deferred(p);
}

/* Wait until the revoked partitions have nothing in flight, at most
 * timeout_ms. */
static void drain_revoked(pipeline_t *p, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;

    for (;;) {
        size_t left = 0;

        for (size_t b = 0; b < p->nbuckets; b++)
            for (pl_part_t *pt = p->parts[b]; pt; pt = pt->next)
                if (pt->revoked)
                    left += tracker_inflight(pt->tr);
        if (left == 0)
            return;
        if (now_ms() >= end) {
            log_warn("revoke: %zu messages still in flight after %d ms; "
                     "their offsets stay uncommitted",
                     left, timeout_ms);
            return;
        }
        serve_producer(p, 50);
    }
}

/* ---- rebalance -------------------------------------------------------- */

static void on_assign(pipeline_t *p, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_error_t *error;

    for (int i = 0; i < parts->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &parts->elems[i];

        if (part_find(p, tp->topic, tp->partition))
            continue;
        if (!part_add(p, tp->topic, tp->partition)) {
            snprintf(p->fatal_reason, sizeof(p->fatal_reason),
                     "out of memory on assignment");
            p->fatal = 1;
            return;
        }
        p->assigned++;
        log_info("assigned %s [%" PRId32 "]", tp->topic, tp->partition);
    }
    error = rd_kafka_incremental_assign(p->rkc, parts);
    if (error) {
        log_error("incremental_assign: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
        return;
    }
    /* librdkafka keeps a partition's pause across unassign and assign: a
     * partition revoked while paused for backpressure would come back
     * paused forever. Set every new partition to what we want now. */
    for (int i = 0; i < parts->cnt; i++) {
        pl_part_t *pt = part_find(p, parts->elems[i].topic,
                                  parts->elems[i].partition);

        if (!pt)
            continue;
        pt->waiting = zombie_find(p, pt->topic, pt->partition) != NULL;
        if (pt->waiting)
            log_info("%s [%" PRId32 "]: waiting for the deliveries of its "
                     "previous assignment before fetching",
                     pt->topic, pt->partition);
        /* Force the state: pt->paused says 0 but librdkafka may not. */
        pt->paused = !(p->bp_paused || pt->waiting);
        part_sync_pause(p, pt);
    }
}

static void on_revoke(pipeline_t *p, rd_kafka_topic_partition_list_t *parts)
{
    rd_kafka_error_t *error;

    for (int i = 0; i < parts->cnt; i++) {
        pl_part_t *pt = part_find(p, parts->elems[i].topic,
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
    drain_revoked(p, p->stopping ? 0 : p->conf.drain_timeout_ms);
    commit_revoked(p, parts);
    error = rd_kafka_incremental_unassign(p->rkc, parts);
    if (error) {
        log_error("incremental_unassign: %s", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
    parts_reap(p);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
    pipeline_t *p = opaque;

    (void)rk;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
        on_assign(p, parts);
    else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
        on_revoke(p, parts);
    else
        log_error("rebalance: %s", rd_kafka_err2str(err));
}

/* ---- statistics (consumer lag) ---------------------------------------- */

/* Consumer lag per partition from librdkafka's statistics: summed for
 * the status line, per partition for router_consumer_lag. */
static int on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    pipeline_t *p = opaque;
    json_t *root = json_loadb(json, len, 0, NULL), *topics, *t;
    metrics_t *m = p->conf.metrics;
    const char *tname;
    int64_t lag = -1;

    (void)rk;
    if (!root)
        return 0;
    if (m) {
        metrics_lock(m);
        metrics_clear(m, "router_consumer_lag");
    }
    topics = json_object_get(root, "topics");
    json_object_foreach(topics, tname, t)
    {
        json_t *parts = json_object_get(t, "partitions"), *pj;
        const char *pname;

        json_object_foreach(parts, pname, pj)
        {
            json_int_t l =
                json_integer_value(json_object_get(pj, "consumer_lag"));

            if (!strcmp(pname, "-1") || l < 0 ||
                !part_find(p, tname, (int32_t)strtol(pname, NULL, 10)))
                continue;
            lag = (lag < 0 ? 0 : lag) + l;
            if (m)
                metrics_set(m, "router_consumer_lag", tname, pname,
                            (double)l);
        }
    }
    if (m)
        metrics_unlock(m);
    json_decref(root);
    pthread_mutex_lock(&p->lock);
    p->lag = lag;
    pthread_mutex_unlock(&p->lock);
    return 0;
}

static void on_error(rd_kafka_t *rk, int err, const char *reason,
                     void *opaque)
{
    pipeline_t *p = opaque;

    if (rd_kafka_fatal_error(rk, NULL, 0)) {
        snprintf(p->fatal_reason, sizeof(p->fatal_reason),
                 "fatal %s error: %s",
                 rd_kafka_type(rk) == RD_KAFKA_PRODUCER ? "producer"
                                                        : "consumer",
                 reason);
        p->fatal = 1;
        return;
    }
    log_warn("%s: %s: %s", rd_kafka_name(rk),
             rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

/* librdkafka's own log lines, through ours. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    log_msg(log_level_from_syslog(level), "%s: %s: %s", rd_kafka_name(rk),
            fac, buf);
}

/* ---- publishing counters ---------------------------------------------- */

/* Add what a count array gained since the last publish to family name. */
static void publish_counts(metrics_t *m, const char *name, pl_count_t *c,
                           size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (c[i].n > c[i].pub) {
            metrics_add(m, name, c[i].name, NULL, (double)(c[i].n - c[i].pub));
            c[i].pub = c[i].n;
        }
}

void pl_fold_hits(pipeline_t *p, pl_rules_t *pr)
{
    metrics_t *m = p->conf.metrics;
    size_t n = rules_route_count(pr->rs);

    if (!m)
        return;
    metrics_lock(m);
    for (size_t i = 0; i < n; i++)
        if (pr->hits[i] > pr->hits_pub[i]) {
            metrics_add(m, "router_route_matches_total",
                        rules_route_name(pr->rs, i), NULL,
                        (double)(pr->hits[i] - pr->hits_pub[i]));
            pr->hits_pub[i] = pr->hits[i];
        }
    metrics_unlock(m);
}

/* Publish the routing thread's counters: into the metrics registry (as
 * deltas) and into the snapshot pipeline_stats() copies. */
static void publish_metrics(pipeline_t *p, int paused)
{
    metrics_t *m = p->conf.metrics;

    if (!m)
        return;
    pl_fold_hits(p, p->cur);
    metrics_lock(m);
    for (size_t b = 0; b < p->nbuckets; b++)
        for (pl_part_t *pt = p->parts[b]; pt; pt = pt->next)
            if (pt->consumed > pt->consumed_pub) {
                metrics_add(m, "router_messages_consumed_total", pt->topic,
                            NULL, (double)(pt->consumed - pt->consumed_pub));
                pt->consumed_pub = pt->consumed;
            }
    for (size_t b = 0; b < p->ntbuckets; b++)
        for (pl_topic_t *t = p->topics[b]; t; t = t->next)
            if (t->produced > t->produced_pub) {
                metrics_add(m, "router_messages_produced_total", t->name,
                            NULL, (double)(t->produced - t->produced_pub));
                t->produced_pub = t->produced;
            }
    publish_counts(m, "router_anomalies_total", p->reasons, p->nreasons);
    publish_counts(m, "router_produce_errors_total", p->errors, p->nerrors);
    metrics_add(m, "router_unmatched_total", NULL, NULL,
                (double)(p->unmatched - p->unmatched_pub));
    p->unmatched_pub = p->unmatched;
    metrics_set(m, "router_inflight_messages", NULL, NULL,
                (double)p->inflight);
    metrics_set(m, "router_rules_version", NULL, NULL, p->cur->version);
    metrics_set(m, "router_paused_partitions", NULL, NULL, paused);
    metrics_unlock(m);
}

static void publish(pipeline_t *p)
{
    pipeline_stats_t *st = &p->pub;
    int paused = 0, stuck = 0;
    int64_t now = now_ms();

    /* A revoked partition stuck on a dead letter counts: its successor
     * waits for it (pl_part_t.waiting). */
    for (size_t b = 0; b < p->nbuckets; b++)
        for (pl_part_t *pt = p->parts[b]; pt; pt = pt->next) {
            paused += !pt->revoked && pt->paused;
            stuck += pt->stuck;
        }
    if (p->assigned > 0)
        p->no_assignment_since = 0;
    else if (p->no_assignment_since == 0)
        p->no_assignment_since = now;
    publish_metrics(p, paused);
    pthread_mutex_lock(&p->lock);
    st->consumed = p->consumed;
    st->produced = p->produced;
    st->dead_lettered = p->dead_lettered;
    st->dropped = p->dropped;
    st->unmatched = p->unmatched;
    st->produce_errors = p->produce_errors;
    st->inflight = p->inflight;
    st->assigned = p->assigned;
    st->paused = paused;
    st->stuck = stuck;
    st->rules_version = p->cur->version;
    st->running = !atomic_load(&p->stop) && !p->fatal;
    if (p->fatal)
        snprintf(st->health, sizeof(st->health), "%s", p->fatal_reason);
    else if (stuck)
        snprintf(st->health, sizeof(st->health),
                 "%d partition(s) stuck on a failed dead letter", stuck);
    else if (p->no_assignment_since &&
             now - p->no_assignment_since > p->conf.health_grace_ms)
        snprintf(st->health, sizeof(st->health),
                 "no partition assigned for %lld s",
                 (long long)(now - p->no_assignment_since) / 1000);
    else
        st->health[0] = '\0';
    st->nreasons = 0;
    for (size_t i = 0; i < p->nreasons && i < 16; i++) {
        snprintf(st->reasons[i].reason, sizeof(st->reasons[i].reason), "%s",
                 p->reasons[i].name);
        st->reasons[i].n = p->reasons[i].n;
        st->nreasons++;
    }
    st->ntopics = 0;
    for (size_t b = 0; b < p->ntbuckets; b++)
        for (pl_topic_t *t = p->topics[b]; t; t = t->next)
            if (st->ntopics < PL_MAX_TOPIC_STATS) {
                pipeline_topic_stat_t *ts = &st->topics[st->ntopics++];

                snprintf(ts->topic, sizeof(ts->topic), "%s", t->name);
                ts->produced = t->produced;
            }
    pthread_mutex_unlock(&p->lock);
}

void pipeline_stats(pipeline_t *p, pipeline_stats_t *st)
{
    pthread_mutex_lock(&p->lock);
    *st = p->pub;
    st->lag = p->lag;
    pthread_mutex_unlock(&p->lock);
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

/* A client configuration: our defaults, then every -X meant for it
 * ("consumer." / "producer." prefixed or plain). NULL with errstr set on
 * error. */
static rd_kafka_conf_t *make_conf(pipeline_t *p, const char *role,
                                  const char *const *defaults, char *errstr,
                                  size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    size_t rl = strlen(role);
    char prop[512];

    if (!conf) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    for (size_t i = 0; defaults[i]; i++)
        if (conf_set(conf, defaults[i], errstr, errstr_size))
            goto err;
    snprintf(prop, sizeof(prop), "bootstrap.servers=%s", p->conf.brokers);
    if (conf_set(conf, prop, errstr, errstr_size))
        goto err;
    if (p->conf.stats_interval_ms > 0) {
        snprintf(prop, sizeof(prop), "statistics.interval.ms=%d",
                 p->conf.stats_interval_ms);
        if (conf_set(conf, prop, errstr, errstr_size))
            goto err;
    }
    for (size_t i = 0; i < p->conf.nprops; i++) {
        const char *x = p->conf.props[i];

        if (!strncmp(x, "consumer.", 9) || !strncmp(x, "producer.", 9)) {
            if (strncmp(x, role, rl) || x[rl] != '.')
                continue;
            x += rl + 1;
        }
        if (conf_set(conf, x, errstr, errstr_size))
            goto err;
    }
    rd_kafka_conf_set_opaque(conf, p);
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
    pipeline_t tmp;
    rd_kafka_conf_t *c;

    memset(&tmp, 0, sizeof(tmp));
    tmp.conf = *conf;
    if (!(c = make_conf(&tmp, "producer", producer_defaults, errstr,
                        errstr_size)))
        return -1;
    rd_kafka_conf_destroy(c);
    if (!(c = make_conf(&tmp, "consumer", consumer_defaults, errstr,
                        errstr_size)))
        return -1;
    rd_kafka_conf_destroy(c);
    return 0;
}

/* The router_* families of DESIGN section 7 that the pipeline feeds. */
static int declare_metrics(metrics_t *m)
{
    static const struct {
        const char *name;
        metrics_type_t type;
        const char *help, *l1, *l2;
    } fam[] = {
        {"router_messages_consumed_total", METRICS_COUNTER,
         "Messages consumed from the source topics.", "topic", NULL},
        {"router_messages_produced_total", METRICS_COUNTER,
         "Messages acknowledged by the brokers, per destination topic "
         "(the dead-letter topic included).", "topic", NULL},
        {"router_route_matches_total", METRICS_COUNTER,
         "Messages whose route condition held, per route.", "route", NULL},
        {"router_anomalies_total", METRICS_COUNTER,
         "Messages dead-lettered, per reason.", "reason", NULL},
        {"router_unmatched_total", METRICS_COUNTER,
         "Messages no route matched.", NULL, NULL},
        {"router_produce_errors_total", METRICS_COUNTER,
         "Produces that failed permanently, per librdkafka error.", "error",
         NULL},
        {"router_consumer_lag", METRICS_GAUGE,
         "Messages behind the high watermark, per assigned partition.",
         "topic", "partition"},
        {"router_inflight_messages", METRICS_GAUGE,
         "Messages consumed and not yet wholly handled.", NULL, NULL},
        {"router_rules_version", METRICS_GAUGE,
         "Version of the running rules (1 at start, +1 per reload).", NULL,
         NULL},
        {"router_paused_partitions", METRICS_GAUGE,
         "Source partitions paused (backpressure or a stuck dead letter).",
         NULL, NULL},
    };

    for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++)
        if (metrics_declare(m, fam[i].name, fam[i].type, fam[i].help,
                            fam[i].l1, fam[i].l2))
            return -1;
    return 0;
}

/* Wait for a broker to answer a metadata request. */
static int check_brokers(pipeline_t *p, char *errstr, size_t errstr_size)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t err;

    err = rd_kafka_metadata(p->rkp, 0, NULL, &md,
                            p->conf.connect_timeout_ms);
    if (err) {
        snprintf(errstr, errstr_size,
                 "no broker of %s answered within %d ms: %s",
                 p->conf.brokers, p->conf.connect_timeout_ms,
                 rd_kafka_err2str(err));
        return -1;
    }
    rd_kafka_metadata_destroy(md);
    return 0;
}

static int subscribe(pipeline_t *p, char *errstr, size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *l;
    rd_kafka_resp_err_t err;
    size_t n = p->conf.topics ? p->conf.ntopics
                              : rules_source_count(p->cur->rs);

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

    if (!p) {
        rules_destroy(rs);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    p->conf = *conf;
    if (p->conf.batch_size <= 0 || p->conf.batch_size > MAX_BATCH)
        p->conf.batch_size = 1000;
    p->lag = -1;
    p->cur = rules_new(rs, 1); /* takes rs */
    if (!p->cur) {
        snprintf(errstr, errstr_size, "out of memory");
        goto err;
    }
    atomic_init(&p->next_version, 1);
    if (p->conf.metrics && declare_metrics(p->conf.metrics)) {
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

    if (!(pc = make_conf(p, "producer", producer_defaults, errstr,
                         errstr_size)))
        goto err;
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

    if (!(cc = make_conf(p, "consumer", consumer_defaults, errstr,
                         errstr_size)))
        goto err;
    snprintf(gid, sizeof(gid), "group.id=%s", conf->group);
    if (conf_set(cc, gid, errstr, errstr_size))
        goto err;
    rd_kafka_conf_set_rebalance_cb(cc, on_rebalance);
    if (p->conf.stats_interval_ms > 0)
        rd_kafka_conf_set_stats_cb(cc, on_stats);
    p->rkc = rd_kafka_new(RD_KAFKA_CONSUMER, cc, errstr, errstr_size);
    if (!p->rkc)
        goto err;
    cc = NULL; /* owned by rkc */
    rd_kafka_poll_set_consumer(p->rkc);
    p->rkqu = rd_kafka_queue_get_consumer(p->rkc);
    if (!p->rkqu) {
        snprintf(errstr, errstr_size, "no consumer queue");
        goto err;
    }
    if (check_brokers(p, errstr, errstr_size))
        goto err;
    if (subscribe(p, errstr, errstr_size))
        goto err;
    publish(p);
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
    for (size_t b = 0; b < p->nbuckets; b++)
        for (pl_part_t *pt = p->parts[b]; pt; pt = pt->next)
            part_sync_pause(p, pt);
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
    rules_set_t *rs = atomic_exchange(&p->next_rules, NULL);
    pl_rules_t *pr, *old = p->cur;
    char errstr[512];

    if (!rs)
        return 0;
    pr = rules_new(rs, atomic_load(&p->next_version)); /* takes rs */
    if (!pr) {
        log_error("out of memory switching rules; keeping version %d",
                  p->cur->version);
        return -1;
    }
    pl_fold_hits(p, old);
    p->cur = pr;
    if (!p->conf.topics && !same_sources(old->rs, pr->rs)) {
        if (subscribe(p, errstr, sizeof(errstr)))
            log_error("rules version %d: %s", pr->version, errstr);
        else
            log_info("rules version %d: subscription updated",
                     pr->version);
    }
    pl_rules_unref(p, old);
    log_info("rules version %d in effect", pr->version);
    return 0;
}

static void retry_stuck(pipeline_t *p)
{
    for (size_t b = 0; b < p->nbuckets; b++)
        for (pl_part_t *pt = p->parts[b]; pt; pt = pt->next)
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
        pt = part_find(p, rd_kafka_topic_name(rkm->rkt), rkm->partition);
        if (!pt) {
            /* Not ours any more: the new owner reads it from the last
             * commit. */
            rd_kafka_message_destroy(rkm);
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
    p->fatal = 1;
    return -1;
}

static void shutdown_clean(pipeline_t *p)
{
    rd_kafka_resp_err_t err;
    int64_t end = now_ms() + p->conf.drain_timeout_ms;

    log_info("stopping: draining %" PRIu64 " in-flight messages",
             p->inflight);
    /* Stop fetching, then wait for what is in flight. */
    for (size_t b = 0; b < p->nbuckets; b++)
        for (pl_part_t *pt = p->parts[b]; pt; pt = pt->next)
            if (!pt->revoked && !pt->paused)
                part_pause(p, pt, 1);
    while (p->inflight > 0 && now_ms() < end) {
        serve_producer(p, 50);
        offsets_flush(p);
    }
    if (p->inflight > 0)
        log_warn("stopping: %" PRIu64 " messages still in flight after %d "
                 "ms; they will be routed again after a restart",
                 p->inflight, p->conf.drain_timeout_ms);
    p->stopping = 1;
    offsets_flush(p);
    err = rd_kafka_commit(p->rkc, NULL, 0);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        log_warn("final commit: %s", rd_kafka_err2str(err));
    err = rd_kafka_consumer_close(p->rkc);
    if (err)
        log_warn("consumer close: %s", rd_kafka_err2str(err));
}

int pipeline_run(pipeline_t *p)
{
    rd_kafka_message_t **msgs = calloc((size_t)p->conf.batch_size,
                                       sizeof(*msgs));
    int64_t last_retry = now_ms(), last_pub = 0;

    if (!msgs) {
        log_error("out of memory");
        return -1;
    }
    while (!atomic_load(&p->stop) && !p->fatal) {
        ssize_t n;
        int64_t now;

        swap_rules(p);
        n = consume_batch(p, msgs);
        if (route_batch(p, msgs, n) != 0)
            break;
        serve_producer(p, 0);
        offsets_flush(p);
        parts_reap(p);
        backpressure(p);
        now = now_ms();
        if (now - last_retry >= STUCK_RETRY_MS) {
            retry_stuck(p);
            last_retry = now;
        }
        if (now - last_pub >= 100) {
            publish(p);
            last_pub = now;
        }
    }
    free(msgs);
    if (p->fatal) {
        log_error("%s", p->fatal_reason);
        publish(p);
        return -1;
    }
    shutdown_clean(p);
    publish(p);
    return 0;
}

void pipeline_stop(pipeline_t *p)
{
    atomic_store(&p->stop, 1);
}

int pipeline_set_rules(pipeline_t *p, rules_set_t *rs)
{
    int v = atomic_fetch_add(&p->next_version, 1) + 1;
    rules_set_t *old = atomic_exchange(&p->next_rules, rs);

    /* Not picked up yet: it never routed anything. */
    rules_destroy(old);
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
        if (rd_kafka_purge(p->rkp, RD_KAFKA_PURGE_F_QUEUE |
                                       RD_KAFKA_PURGE_F_INFLIGHT))
            log_debug("purge failed");
        if (rd_kafka_flush(p->rkp, 2000))
            log_warn("producer: %d messages not purged",
                     rd_kafka_outq_len(p->rkp));
    }
    if (p->rkqu)
        rd_kafka_queue_destroy(p->rkqu);
    if (p->rkc)
        rd_kafka_destroy(p->rkc);
    pl_topics_destroy(p);
    if (p->rkp)
        rd_kafka_destroy(p->rkp);
    pl_ctx_free_all(p);
    while (p->dl_deferred) {
        pl_dlreq_t *dl = p->dl_deferred;

        p->dl_deferred = dl->next;
        pl_dlreq_free(dl);
    }
    for (size_t b = 0; p->parts && b < p->nbuckets; b++) {
        pl_part_t *pt;

        while ((pt = p->parts[b])) {
            p->parts[b] = pt->next;
            while (pt->stuck_head) {
                pl_dlreq_t *dl = pt->stuck_head;

                pt->stuck_head = dl->next;
                pl_dlreq_free(dl);
            }
            part_free(pt);
        }
    }
    free(p->parts);
    free(p->topics);
    rules_scratch_destroy(p->scratch);
    pl_rules_unref(p, p->cur); /* the "current" reference */
    rules_destroy(atomic_load(&p->next_rules));
    pthread_mutex_destroy(&p->lock);
    free(p);
}
