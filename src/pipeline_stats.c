/* pipeline_stats.c - the routing thread's counters published: the
 * router_* metrics (as deltas, a few times a second), the snapshot of
 * pipeline_stats(), and the consumer lag from librdkafka's statistics. */
#include "pipeline_int.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"

/* The router_* families the pipeline feeds (README.md, "Metrics"). */
int pl_declare_metrics(metrics_t *m)
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
         "(the dead-letter topic included).",
         "topic", NULL},
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
         "Messages behind the high watermark, per assigned partition.", "topic",
         "partition"},
        {"router_inflight_messages", METRICS_GAUGE,
         "Messages consumed and not yet wholly handled.", NULL, NULL},
        {"router_rules_version", METRICS_GAUGE,
         "Version of the running rules (1 at start, +1 per reload).", NULL,
         NULL},
        {"router_transactions_total", METRICS_COUNTER,
         "Exactly-once transactions ended, per result (committed, "
         "aborted).",
         "result", NULL},
        {"router_paused_partitions", METRICS_GAUGE,
         "Source partitions paused (backpressure or a stuck dead letter).",
         NULL, NULL},
    };

    for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++)
        if (metrics_declare(m, fam[i].name, fam[i].type, fam[i].help, fam[i].l1,
                            fam[i].l2))
            return -1;
    return 0;
}

/* ---- statistics (consumer lag) ---------------------------------------- */

/* Consumer lag per partition from librdkafka's statistics: summed for
 * the status line, per partition for router_consumer_lag. */
int pl_on_stats(rd_kafka_t *rk, char *json, size_t len, void *opaque)
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
                !pl_part_find(p, tname, (int32_t)strtol(pname, NULL, 10)))
                continue;
            lag = (lag < 0 ? 0 : lag) + l;
            if (m)
                metrics_set(m, "router_consumer_lag", tname, pname, (double)l);
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

/* ---- publishing counters ---------------------------------------------- */

void pl_publish_delta(metrics_t *m, const char *name, const char *label,
                      uint64_t n, uint64_t *pub)
{
    if (n > *pub && metrics_add(m, name, label, NULL, (double)(n - *pub)) == 0)
        *pub = n;
}

/* Add what a count array gained since the last publish to family name. */
static void publish_counts(metrics_t *m, const char *name, pl_count_t *c,
                           size_t n)
{
    for (size_t i = 0; i < n; i++)
        pl_publish_delta(m, name, c[i].name, c[i].n, &c[i].pub);
}

void pl_fold_hits(pipeline_t *p, pl_rules_t *pr)
{
    metrics_t *m = p->conf.metrics;
    size_t n = rules_route_count(pr->rs);

    if (!m)
        return;
    metrics_lock(m);
    for (size_t i = 0; i < n; i++)
        pl_publish_delta(m, "router_route_matches_total",
                         rules_route_name(pr->rs, i), pr->hits[i],
                         &pr->hits_pub[i]);
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
    PL_FOREACH_PART(p, pt)
    pl_publish_delta(m, "router_messages_consumed_total", pt->topic,
                     pt->consumed, &pt->consumed_pub);
    for (size_t b = 0; b < p->ntbuckets; b++)
        for (pl_topic_t *t = p->topics[b]; t; t = t->next)
            pl_publish_delta(m, "router_messages_produced_total", t->name,
                             t->produced, &t->produced_pub);
    publish_counts(m, "router_anomalies_total", p->reasons, p->nreasons);
    publish_counts(m, "router_produce_errors_total", p->errors, p->nerrors);
    pl_publish_delta(m, "router_unmatched_total", NULL, p->unmatched,
                     &p->unmatched_pub);
    metrics_set(m, "router_inflight_messages", NULL, NULL, (double)p->inflight);
    metrics_set(m, "router_rules_version", NULL, NULL, (double)p->cur->version);
    metrics_set(m, "router_paused_partitions", NULL, NULL, paused);
    if (p->conf.exactly_once) {
        uint64_t commits, aborts;
        const char *why; /* not published here */

        pl_txn_counts(p, &commits, &aborts, &why);
        pl_publish_delta(m, "router_transactions_total", "committed", commits,
                         &p->txn_commits_pub);
        pl_publish_delta(m, "router_transactions_total", "aborted", aborts,
                         &p->txn_aborts_pub);
    }
    metrics_unlock(m);
}

void pl_publish(pipeline_t *p)
{
    pipeline_stats_t *st = &p->pub;
    int paused = 0, stuck = 0, held;
    int64_t now = clock_ms(), held_ms = 0;
    const char *txn_why;

    /* A revoked partition stuck on a dead letter counts: its successor
     * waits for it (pl_part_t.waiting). */
    PL_FOREACH_PART(p, pt)
    {
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
    held = p->conf.fleet ? pl_hold_count(p, now, &held_ms) : 0;
    st->held = held;
    pl_txn_counts(p, &st->txn_commits, &st->txn_aborts, &txn_why);
    st->running = !atomic_load(&p->stop) && !p->fatal;
    if (p->fatal)
        snprintf(st->health, sizeof(st->health), "%s", p->fatal_reason);
    else if (stuck)
        snprintf(st->health, sizeof(st->health),
                 "%d partition(s) stuck on a failed dead letter", stuck);
    else if (txn_why)
        snprintf(st->health, sizeof(st->health),
                 "exactly-once: transaction aborted, replaying: %.180s",
                 txn_why);
    else if (held && p->conf.hold_warn_ms > 0 && held_ms > p->conf.hold_warn_ms)
        snprintf(st->health, sizeof(st->health),
                 "%d partition(s) held for %lld s waiting for newer rules "
                 "(running version %lld): see the log",
                 held, (long long)held_ms / 1000, (long long)p->cur->version);
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
