/* dlqreplay.c - `router dlq replay`: the selected dead letters' original
 * messages routed again through given rules (or back to their source
 * topic), resumable under a replay id: its range and progress live in the
 * committed offsets of the consumer group router-replay-ID. */
#include "dlqtool_int.h"

#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "dlhdr.h"
#include "log.h"
#include "mem.h"
#include "rules.h"
#include "rulestopic.h"

#define MAX_DESTS    256   /* destination topics counted in the summary */
#define FLUSH_MS     60000 /* wait for acknowledgements before a commit */
#define PROGRESS_MS  500   /* progress line on a terminal */
#define LOG_EVERY_MS 5000  /* progress line in a log */
#define RULES_MAX    (8 * 1024 * 1024)

typedef struct dest_count {
    char *topic;    /* owned */
    uint64_t n;     /* records sent there */
    int partitions; /* its partition count, 0 until looked up */
} dest_count_t;

typedef struct replay {
    const dlqtool_conf_t *conf;
    char group[300];   /* router-replay-ID */
    char version[300]; /* router.rules.version of new dead letters */
    rules_set_t *rs;   /* NULL with --to-source */
    rules_scratch_t *sc;
    rd_kafka_t *rkp;       /* producer, NULL with --dry-run */
    rd_kafka_t *rkc;       /* committer: commits and reads progress */
    dlqscan_range_t *r;    /* the range of each partition */
    int64_t *next;         /* next offset to do, per partition */
    int n;                 /* partitions */
    uint64_t total, done;  /* records in the range, records handled */
    uint64_t since_commit; /* records handled since the last commit */
    uint64_t selected, skipped, dropped, dead_again, produced;
    uint64_t acked, failed; /* delivery reports */
    char first_error[256];
    dest_count_t dests[MAX_DESTS];
    size_t ndests;
    uint64_t dests_other;
    int64_t t0, last_progress;
    int tty, stop_err; /* stop_err: stopped on an error (rc 1) */
} replay_t;

/* ---- counting and progress ---------------------------------------------- */

static void count_dest(replay_t *rp, const char *topic)
{
    for (size_t i = 0; i < rp->ndests; i++)
        if (!strcmp(rp->dests[i].topic, topic)) {
            rp->dests[i].n++;
            return;
        }
    if (rp->ndests == MAX_DESTS ||
        !(rp->dests[rp->ndests].topic = mem_dup(topic, strlen(topic)))) {
        rp->dests_other++;
        return;
    }
    rp->dests[rp->ndests++].n = 1;
}

static void progress(replay_t *rp, int last)
{
    int64_t now = clock_ms(), el = now - rp->t0;
    double rate = el > 0 ? rp->done * 1000.0 / el : 0;
    double eta = rate > 0 ? (rp->total - rp->done) / rate : 0;

    if (!last &&
        now - rp->last_progress < (rp->tty ? PROGRESS_MS : LOG_EVERY_MS))
        return;
    rp->last_progress = now;
    if (rp->tty)
        fprintf(stderr,
                "\rreplay %s: %llu/%llu records, %.0f/s, ETA %.0f s  %s",
                rp->conf->replay_id, (unsigned long long)rp->done,
                (unsigned long long)rp->total, rate, eta, last ? "\n" : "");
    else
        log_info("replay %s: %llu/%llu records, %.0f/s", rp->conf->replay_id,
                 (unsigned long long)rp->done, (unsigned long long)rp->total,
                 rate);
}

/* ---- clients ------------------------------------------------------------ */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
    replay_t *rp = opaque;

    (void)rk;
    if (!m->err) {
        rp->acked++;
        return;
    }
    if (!rp->failed++)
        snprintf(rp->first_error, sizeof(rp->first_error), "%s: %s",
                 rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
}

/* A client of role with the -X properties meant for it ("consumer." /
 * "producer." prefixed, or plain). NULL with errstr. */
static rd_kafka_t *client_new(replay_t *rp, rd_kafka_type_t type, char *errstr,
                              size_t errstr_size)
{
    const char *mine = type == RD_KAFKA_PRODUCER ? "producer." : "consumer.";
    const char *other = type == RD_KAFKA_PRODUCER ? "consumer." : "producer.";
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    const options_list_t *pl = &rp->conf->props;
    rd_kafka_t *rk;

    if (!kc) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (rd_kafka_conf_set(kc, "bootstrap.servers", rp->conf->brokers, errstr,
                          errstr_size) ||
        (type == RD_KAFKA_PRODUCER
             ? rd_kafka_conf_set(kc, "enable.idempotence", "true", errstr,
                                 errstr_size) ||
                   rd_kafka_conf_set(kc, "acks", "all", errstr, errstr_size)
             : rd_kafka_conf_set(kc, "group.id", rp->group, errstr,
                                 errstr_size) ||
                   rd_kafka_conf_set(kc, "enable.auto.commit", "false", errstr,
                                     errstr_size)))
        goto err;
    for (size_t i = 0; i < pl->n; i++) {
        const char *x = pl->v[i], *eq;
        char name[256];
        size_t n;

        if (!strncmp(x, other, 9))
            continue;
        if (!strncmp(x, mine, 9))
            x += 9;
        eq = strchr(x, '=');
        n = eq ? (size_t)(eq - x) : 0;
        if (!eq || !n || n >= sizeof(name)) {
            snprintf(errstr, errstr_size, "-X %s: not prop=val", pl->v[i]);
            goto err;
        }
        memcpy(name, x, n);
        name[n] = '\0';
        if (rd_kafka_conf_set(kc, name, eq + 1, errstr, errstr_size))
            goto err;
    }
    rd_kafka_conf_set_opaque(kc, rp);
    if (type == RD_KAFKA_PRODUCER)
        rd_kafka_conf_set_dr_msg_cb(kc, on_delivery);
    if ((rk = rd_kafka_new(type, kc, errstr, errstr_size)))
        return rk; /* took kc */
err:
    rd_kafka_conf_destroy(kc);
    return NULL;
}

/* ---- the range and the progress, in the group's committed offsets ----- */

/* Commit next[] with each range's end in the metadata ("end=N"). 0, or -1
 * with errstr. */
static int commit(replay_t *rp, char *errstr, size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(rp->n);
    rd_kafka_resp_err_t err;

    if (!l) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    for (int i = 0; i < rp->n; i++) {
        rd_kafka_topic_partition_t *tp = rd_kafka_topic_partition_list_add(
            l, rp->conf->topic, rp->r[i].partition);
        char md[48];

        tp->offset = rp->next[i];
        snprintf(md, sizeof(md), "end=%" PRId64, rp->r[i].end);
        /* Without its range the progress is worthless: no commit. */
        if (!(tp->metadata = mem_dup(md, strlen(md)))) { /* freed with l */
            rd_kafka_topic_partition_list_destroy(l);
            snprintf(errstr, errstr_size, "out of memory");
            return -1;
        }
        tp->metadata_size = strlen(md);
    }
    err = rd_kafka_commit(rp->rkc, l, 0);
    rd_kafka_topic_partition_list_destroy(l);
    if (err) {
        snprintf(errstr, errstr_size, "commit of the progress: %s",
                 rd_kafka_err2str(err));
        return -1;
    }
    rp->since_commit = 0;
    return 0;
}

/* The range: resumed from the group's committed offsets and their "end="
 * metadata, or (first use of the id) the range now, committed at once. */
static int load_range(replay_t *rp, const dlqscan_conf_t *sc, char *errstr,
                      size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    rd_kafka_resp_err_t err;
    int rc, resumed = 0;

    if ((rc = dlqscan_ranges(sc, &rp->r, &rp->n, errstr, errstr_size)))
        return rc;
    if (!(rp->next = calloc((size_t)rp->n, sizeof(*rp->next))) ||
        !(l = rd_kafka_topic_partition_list_new(rp->n))) {
        snprintf(errstr, errstr_size, "out of memory");
        rc = 1;
        goto out;
    }
    for (int i = 0; i < rp->n; i++)
        rd_kafka_topic_partition_list_add(l, sc->topic, rp->r[i].partition);
    err = rd_kafka_committed(rp->rkc, l, sc->timeout_ms);
    if (err) {
        snprintf(errstr, errstr_size, "committed offsets of %s: %s", rp->group,
                 rd_kafka_err2str(err));
        rc = 1;
        goto out;
    }
    for (int i = 0; i < l->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &l->elems[i];
        char md[48] = "";

        if (tp->offset < 0)
            continue;
        if (tp->metadata && tp->metadata_size < sizeof(md))
            memcpy(md, tp->metadata, tp->metadata_size);
        if (strncmp(md, "end=", 4)) {
            snprintf(errstr, errstr_size,
                     "group %s has offsets but no replay range: not a "
                     "replay id of router dlq replay",
                     rp->group);
            rc = 2;
            goto out;
        }
        for (int k = 0; k < rp->n; k++)
            if (rp->r[k].partition == tp->partition) {
                rp->r[k].start = tp->offset;
                rp->r[k].end = strtoll(md + 4, NULL, 10);
                resumed = 1;
            }
    }
    for (int i = 0; i < rp->n; i++) {
        rp->next[i] = rp->r[i].start;
        if (rp->r[i].end > rp->r[i].start)
            rp->total += (uint64_t)(rp->r[i].end - rp->r[i].start);
    }
    log_info("replay %s: %s, %llu records to read", rp->conf->replay_id,
             resumed ? "resumed from its committed progress"
                     : "first run: range fixed now",
             (unsigned long long)rp->total);
    rc = !resumed && !rp->conf->dry_run && commit(rp, errstr, errstr_size) ? 1
                                                                           : 0;
out:
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    return rc;
}

/* ---- one record -----------------------------------------------------------
 */

static int header_get(void *opaque, const char *name, const void **val,
                      size_t *len)
{
    return rd_kafka_header_get_last(opaque, name, val, len) ? -1 : 0;
}

/* The record's headers without the router.* ones into *out (NULL when it
 * has none): what the source message carried. 0, or -1 when out of memory
 * (a message must not go out stripped of its headers). */
static int original_headers(const dlqscan_rec_t *r, rd_kafka_headers_t **out)
{
    rd_kafka_headers_t *all = r->headers, *h;
    const char *name;
    const void *val;
    size_t len;

    *out = NULL;
    if (!all)
        return 0;
    if (!(h = rd_kafka_headers_new(rd_kafka_header_cnt(all))))
        return -1;
    for (size_t i = 0; !rd_kafka_header_get_all(all, i, &name, &val, &len); i++)
        if (strncmp(name, "router.", 7) &&
            rd_kafka_header_add(h, name, -1, val, (ssize_t)len)) {
            rd_kafka_headers_destroy(h);
            return -1;
        }
    *out = h;
    return 0;
}

/* Count a record that could not be sent (the first error is kept).
 * Returns -1. */
static int failed(replay_t *rp, const char *what)
{
    if (!rp->failed++)
        snprintf(rp->first_error, sizeof(rp->first_error), "%.255s", what);
    return -1;
}

/* Produce (copy) to topic, partition (RD_KAFKA_PARTITION_UA for the
 * partitioner); h is copied. Waits through a full queue. 0, or -1 with
 * the error counted as failed. */
static int produce(replay_t *rp, const char *topic, int32_t partition,
                   const void *key, size_t key_len, const dlqscan_rec_t *r,
                   const rd_kafka_headers_t *h)
{
    rd_kafka_headers_t *copy = h ? rd_kafka_headers_copy(h) : NULL;
    rd_kafka_resp_err_t err;

    count_dest(rp, topic);
    if (!rp->rkp) {
        if (copy)
            rd_kafka_headers_destroy(copy);
        return 0; /* dry run */
    }
    do {
        err = rd_kafka_producev(
            rp->rkp, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, key_len),
            RD_KAFKA_V_VALUE((void *)r->value, r->value_len),
            RD_KAFKA_V_TIMESTAMP(r->src_timestamp > 0 ? r->src_timestamp : 0),
            RD_KAFKA_V_HEADERS(copy), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
            rd_kafka_poll(rp->rkp, 100);
    } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
    if (err) {
        if (copy)
            rd_kafka_headers_destroy(copy); /* not taken on failure */
        char what[400];

        snprintf(what, sizeof(what), "%s: %s", topic, rd_kafka_err2str(err));
        return failed(rp, what);
    }
    rp->produced++;
    rd_kafka_poll(rp->rkp, 0);
    return 0;
}

/* Dead-letter the record again under the replay rules: the original
 * headers, the new router.* ones and where it was replayed from. */
static int dead_letter_again(replay_t *rp, const dlqscan_rec_t *r,
                             const rules_result_t *res,
                             const rd_kafka_headers_t *orig)
{
    const char *dlt = rules_dead_letter_topic(rp->rs);
    rd_kafka_headers_t *h =
        orig ? rd_kafka_headers_copy(orig) : rd_kafka_headers_new(12);
    char from[400];
    dlhdr_t dh;
    int rc;

    if (!dlt || !h) {
        if (h)
            rd_kafka_headers_destroy(h);
        return failed(rp, !dlt ? "the replay rules have no dead_letter topic"
                               : "out of memory copying headers");
    }
    dh.reason = res->reason;
    dh.detail = res->detail;
    dh.route =
        res->route >= 0 ? rules_route_name(rp->rs, (size_t)res->route) : NULL;
    dh.src_topic = r->src_topic;
    dh.src_partition = r->src_partition;
    dh.src_offset = r->src_offset;
    dh.src_timestamp = r->src_timestamp;
    dh.rules_version = rp->version;
    dlhdr_add(h, &dh);
    dlhdr_add1(h, "router.replay.id", rp->conf->replay_id);
    snprintf(from, sizeof(from), "%s/%" PRId32 "@%" PRId64, rp->conf->topic,
             r->partition, r->offset);
    dlhdr_add1(h, "router.replay.from", from);
    rc = produce(rp, dlt, RD_KAFKA_PARTITION_UA, r->key, r->key_len, r, h);
    rd_kafka_headers_destroy(h);
    rp->dead_again++;
    return rc;
}

/* The partition for a "partition": "source" destination: the source
 * partition modulo topic's partition count (looked up once);
 * RD_KAFKA_PARTITION_UA when unknown. */
static int32_t source_partition(replay_t *rp, const char *topic, int32_t p)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt;
    dest_count_t *d = NULL;

    for (size_t i = 0; i < rp->ndests && !d; i++)
        if (!strcmp(rp->dests[i].topic, topic))
            d = &rp->dests[i];
    if (d && d->partitions > 0)
        return p % d->partitions;
    rkt = rd_kafka_topic_new(rp->rkc, topic, NULL);
    if (rkt &&
        !rd_kafka_metadata(rp->rkc, 0, rkt, &md, rp->conf->timeout * 1000) &&
        md->topic_cnt == 1 && !md->topics[0].err &&
        md->topics[0].partition_cnt > 0) {
        int n = md->topics[0].partition_cnt;

        if (d)
            d->partitions = n;
        p %= n;
    } else {
        p = RD_KAFKA_PARTITION_UA;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    return p;
}

/* Where the record goes under the rules, produced (or counted in a dry
 * run). 0, or -1 when a produce could not be enqueued. */
static int route(replay_t *rp, const dlqscan_rec_t *r,
                 const rd_kafka_headers_t *orig)
{
    const rules_result_t *res;
    rules_msg_t m;
    int rc = 0;

    m.topic = r->src_topic;
    m.partition = r->src_partition;
    m.offset = r->src_offset;
    m.timestamp = r->src_timestamp;
    m.key = r->key;
    m.key_len = r->key_len;
    m.value = r->value;
    m.value_len = r->value_len;
    m.header = orig ? header_get : NULL;
    m.header_opaque = (void *)orig;
    if (!(res = rules_eval(rp->rs, &m, rp->sc)))
        return failed(rp, "out of memory evaluating the rules");
    for (size_t i = 0; i < res->ndests; i++) {
        const rules_dest_t *d = &res->dests[i];

        rc |= produce(rp, d->topic,
                      d->partition == RULES_PARTITION_ANY
                          ? RD_KAFKA_PARTITION_UA
                          : source_partition(rp, d->topic, d->partition),
                      d->key, d->key_len, r, orig);
    }
    if (res->dead_letter)
        rc |= dead_letter_again(rp, r, res, orig);
    if (!res->ndests && !res->dead_letter)
        rp->dropped++;
    if (rp->conf->dry_run && rp->conf->json == 0) {
        printf("%s [%d] @%lld (%s) ->", rp->conf->topic, (int)r->partition,
               (long long)r->offset, r->reason);
        for (size_t i = 0; i < res->ndests; i++)
            printf(" %s", res->dests[i].topic);
        if (res->dead_letter)
            printf(" dead letter (%s)", res->reason);
        if (!res->ndests && !res->dead_letter)
            printf(" dropped by rule");
        printf("\n");
    }
    return rc;
}

/* Commit the progress when due: every --commit-every records, after
 * every produce so far is acknowledged. 0, or -1 (errstr in rp) when a
 * produce failed or the commit did. */
static int checkpoint(replay_t *rp, int force)
{
    char errstr[256];

    if (!force && rp->since_commit < (uint64_t)rp->conf->commit_every)
        return 0;
    if (rp->conf->dry_run)
        return 0;
    if (rd_kafka_flush(rp->rkp, FLUSH_MS)) {
        snprintf(rp->first_error, sizeof(rp->first_error),
                 "%d produces unacknowledged after %d s",
                 rd_kafka_outq_len(rp->rkp), FLUSH_MS / 1000);
        return -1;
    }
    if (rp->failed)
        return -1; /* the progress stays before them: a rerun retries */
    if (commit(rp, errstr, sizeof(errstr))) {
        snprintf(rp->first_error, sizeof(rp->first_error), "%s", errstr);
        return -1;
    }
    return 0;
}

/* Pace produces to --rate records per second. */
static void pace(replay_t *rp)
{
    int64_t due;

    if (rp->conf->rate <= 0)
        return;
    due = rp->t0 + (int64_t)(rp->selected * 1000 / (uint64_t)rp->conf->rate);
    while (clock_ms() < due) {
        if (rp->rkp)
            rd_kafka_poll(rp->rkp, (int)(due - clock_ms()));
        else
            usleep(1000);
    }
}

static int replay_cb(const dlqscan_rec_t *r, void *opaque)
{
    replay_t *rp = opaque;
    rd_kafka_headers_t *orig = NULL;
    int rc = 0, i;

    for (i = 0; i < rp->n && rp->r[i].partition != r->partition; i++)
        ;
    if (i == rp->n || r->offset >= rp->r[i].end)
        return 0; /* past the range fixed at the first run */
    if (dlq_selected(rp->conf, r)) {
        rp->selected++;
        pace(rp);
        if (original_headers(r, &orig))
            rc = failed(rp, "out of memory copying headers");
        else if (!rp->conf->to_source)
            rc = route(rp, r, orig);
        else if (!r->src_topic[0])
            rc = failed(rp, "a dead letter without router.source.topic");
        else
            rc = produce(rp, r->src_topic,
                         r->src_partition >= 0 ? r->src_partition
                                               : RD_KAFKA_PARTITION_UA,
                         r->key, r->key_len, r, orig);
        if (orig)
            rd_kafka_headers_destroy(orig);
    } else {
        rp->skipped++;
    }
    rp->next[i] = r->offset + 1;
    rp->done++;
    rp->since_commit++;
    progress(rp, 0);
    if (rc || checkpoint(rp, 0)) {
        rp->stop_err = 1;
        return 1;
    }
    return 0;
}

static void summary(replay_t *rp)
{
    printf("replay %s%s: %llu records read, %llu selected, %llu skipped; "
           "%llu produced (%llu acknowledged, %llu failed), %llu "
           "dead-lettered again, %llu dropped by rule\n",
           rp->conf->replay_id, rp->conf->dry_run ? " (dry run)" : "",
           (unsigned long long)rp->done, (unsigned long long)rp->selected,
           (unsigned long long)rp->skipped,
           (unsigned long long)(rp->conf->dry_run ? 0 : rp->produced),
           (unsigned long long)rp->acked, (unsigned long long)rp->failed,
           (unsigned long long)rp->dead_again, (unsigned long long)rp->dropped);
    for (size_t i = 0; i < rp->ndests; i++)
        printf("  %-40s %10llu\n", rp->dests[i].topic,
               (unsigned long long)rp->dests[i].n);
    if (rp->dests_other)
        printf("  %-40s %10llu\n", "(other)",
               (unsigned long long)rp->dests_other);
}

/* Load the rules file path. NULL with errstr. */
static rules_set_t *load_rules(const char *path, char *errstr,
                               size_t errstr_size)
{
    FILE *f = fopen(path, "rb");
    char *text = malloc(RULES_MAX + 1);
    rules_error_t err;
    rules_set_t *rs = NULL;
    size_t n;

    if (!f || !text) {
        snprintf(errstr, errstr_size, "%s: %s", path,
                 f ? "out of memory" : strerror(errno));
        goto out;
    }
    n = fread(text, 1, RULES_MAX + 1, f);
    if (ferror(f) || n > RULES_MAX) {
        snprintf(errstr, errstr_size, "%s: %s", path,
                 n > RULES_MAX ? "larger than 8 MiB" : "read error");
        goto out;
    }
    if (!(rs = rules_load(text, n, &err)))
        snprintf(errstr, errstr_size, "%.200s: %.300s", path, err.msg);
out:
    if (f)
        fclose(f);
    free(text);
    return rs;
}

/* The latest valid rules of the group, read from the rules topic. */
typedef struct topic_rules {
    rules_set_t *rs; /* the latest that loads (owned) */
    int64_t version; /* its offset */
    int64_t seen;    /* the latest record's offset */
    char error[300]; /* why the latest record did not load */
} topic_rules_t;

static void on_rules_record(void *opaque, const rulestopic_record_t *rec)
{
    topic_rules_t *tr = opaque;
    rules_error_t err;
    rules_set_t *rs =
        rec->value ? rules_load(rec->value, rec->len, &err) : NULL;

    tr->seen = rec->offset;
    if (!rs) {
        snprintf(tr->error, sizeof(tr->error), "%.250s",
                 rec->value ? err.msg : "empty record");
        return;
    }
    rules_destroy(tr->rs);
    tr->rs = rs;
    tr->version = rec->offset;
}

/* Read the latest valid rules of c->group from c->rules_topic. NULL with
 * errstr and *rc (1: unreadable, 2: no valid rules). */
static rules_set_t *topic_rules(const dlqtool_conf_t *c, int *rc, char *errstr,
                                size_t errstr_size)
{
    topic_rules_t tr = {NULL, -1, -1, ""};
    int timeout = (int)(c->timeout * 1000);
    rulestopic_t *rt = rulestopic_open(
        c->brokers, (const char *const *)c->props.v, c->props.n, c->rules_topic,
        c->group, "router-dlq-replay", 0, timeout, rc, errstr, errstr_size);

    if (!rt)
        return NULL;
    *rc = 1;
    if (rulestopic_catch_up(rt, on_rules_record, &tr, timeout, errstr,
                            errstr_size)) {
        rules_destroy(tr.rs);
        tr.rs = NULL;
    } else if (!tr.rs) {
        *rc = 2;
        snprintf(errstr, errstr_size,
                 "rules topic %s holds no valid rules for group %s%s%.300s",
                 c->rules_topic, c->group, tr.error[0] ? ": " : "", tr.error);
    } else {
        log_info("replay: rules version %" PRId64 " of group %s from %s",
                 tr.version, c->group, c->rules_topic);
        if (tr.seen > tr.version)
            log_warn("replay: the newest rules (version %" PRId64
                     ") do not load, using version %" PRId64 ": %s",
                     tr.seen, tr.version, tr.error);
    }
    rulestopic_close(rt);
    return tr.rs;
}

int dlq_run_replay(const dlqtool_conf_t *c, const dlqscan_conf_t *sc)
{
    replay_t *rp = calloc(1, sizeof(*rp));
    dlqscan_summary_t sum;
    char errstr[640];
    int rc = 2;

    if (!rp) {
        fprintf(stderr, "router: error: dlq replay: out of memory\n");
        return 1;
    }
    rp->conf = c;
    rp->tty = isatty(STDERR_FILENO);
    snprintf(rp->group, sizeof(rp->group), "router-replay-%s", c->replay_id);
    snprintf(rp->version, sizeof(rp->version), "replay:%s", c->replay_id);
    if (!c->to_source) {
        if (c->rules_topic)
            rp->rs = topic_rules(c, &rc, errstr, sizeof(errstr));
        else
            rp->rs = load_rules(c->rules, errstr, sizeof(errstr));
        if (!rp->rs)
            goto out;
        if (!(rp->sc = rules_scratch_create())) {
            snprintf(errstr, sizeof(errstr), "out of memory");
            rc = 1;
            goto out;
        }
    }
    rc = 1;
    if (!(rp->rkc =
              client_new(rp, RD_KAFKA_CONSUMER, errstr, sizeof(errstr))) ||
        (!c->dry_run && !(rp->rkp = client_new(rp, RD_KAFKA_PRODUCER, errstr,
                                               sizeof(errstr))))) {
        rc = 2; /* a bad -X */
        goto out;
    }
    if ((rc = load_range(rp, sc, errstr, sizeof(errstr))))
        goto out;
    rp->t0 = clock_ms();
    rc = dlqscan_run(sc, rp->r, rp->n, replay_cb, rp, &sum, errstr,
                     sizeof(errstr));
    if (rc == 0 && !rp->stop_err && checkpoint(rp, 1))
        rp->stop_err = 1;
    progress(rp, 1);
    if (rc == 0 && rp->stop_err) {
        snprintf(errstr, sizeof(errstr),
                 "%llu produce(s) failed (first: %s); the progress is "
                 "committed before them: run again with --replay-id %s",
                 (unsigned long long)rp->failed, rp->first_error, c->replay_id);
        rc = 1;
    }
    summary(rp);
out:
    if (rc)
        fprintf(stderr, "router: error: dlq replay: %s\n", errstr);
    if (rp->rkp) {
        rd_kafka_flush(rp->rkp, FLUSH_MS);
        rd_kafka_destroy(rp->rkp);
    }
    if (rp->rkc)
        rd_kafka_destroy(rp->rkc);
    for (size_t i = 0; i < rp->ndests; i++)
        free(rp->dests[i].topic);
    rules_scratch_destroy(rp->sc);
    rules_destroy(rp->rs);
    free(rp->r);
    free(rp->next);
    free(rp);
    return rc;
}
