/* rulestopic.c - the fleet's rules topic: make sure it exists with one
 * partition, read it in order (at the start, then on a thread of its
 * own), publish new rules documents, and tell whether the reader is at
 * the topic's end. */
#include "rulestopic.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

#define POLL_MS         200
#define SYNC_EVERY_MS   500   /* how often the reader checks the end */
#define SYNC_TIMEOUT_MS 5000  /* bound on one watermark query */
#define STALE_MS        10000 /* not at the end for longer: unhealthy */
#define WRITER_HEADER   "router.rules.writer"
#define CLOSE_WAIT_MS   10000 /* wait this long for the reader to return */
#define REFRESH_MS      5000  /* bound on a metadata refresh after a failure */

struct rulestopic {
    char *topic;          /* owned */
    char *group;          /* owned: the record key */
    char *writer;         /* owned: this instance, for the header */
    rd_kafka_t *rkc;      /* reader: partition 0 assigned, no group */
    rd_kafka_t *rkp;      /* publisher: idempotent, acks=all */
    int msg_timeout_ms;   /* the producer's message.timeout.ms */
    pthread_t thr;        /* the reader thread, once started */
    int started;          /* thr runs */
    atomic_int stop;      /* asks thr to return */
    atomic_int done;      /* thr returned (it may be joined) */
    rulestopic_cb *cb;    /* the reader thread's callback */
    void *opaque;         /* ... and its argument */
    pthread_mutex_t pub;  /* serializes publishes */
    pthread_mutex_t lock; /* guards the fields below */
    int64_t pos;          /* offset of the next record to read */
    int64_t synced_ms;    /* last moment pos was the topic's end */
    int64_t want_hi;      /* a watermark pos must reach, -1: none */
    int64_t want_ms;      /* ... queried at this moment */
    char error[256];      /* the last reading error, "" none */
};

/* librdkafka's log lines, through ours as debug: what goes wrong reaches
 * the log and /healthz through our own messages (the pipeline's clients
 * already log a cluster's trouble). */
static void on_log(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    (void)rk;
    (void)level;
    log_debug("rules topic: %s: %s", fac, buf);
}

static int set1(rd_kafka_conf_t *kc, const char *name, const char *val,
                char *errstr, size_t errstr_size)
{
    char err[256];

    if (rd_kafka_conf_set(kc, name, val, err, sizeof(err)) == RD_KAFKA_CONF_OK)
        return 0;
    snprintf(errstr, errstr_size, "%s=%s: %s", name, val, err);
    return -1;
}

/* A client configuration for role ("consumer" or "producer"): defaults
 * (name, value pairs, NULL-ended), then the -X properties meant for it.
 * NULL with errstr set. */
static rd_kafka_conf_t *make_conf(const char *brokers, const char *const *props,
                                  size_t nprops, const char *role,
                                  const char *const *defaults, char *errstr,
                                  size_t errstr_size)
{
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    size_t rl = strlen(role);

    if (!kc) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (set1(kc, "bootstrap.servers", brokers, errstr, errstr_size))
        goto err;
    for (size_t i = 0; defaults[i]; i += 2)
        if (set1(kc, defaults[i], defaults[i + 1], errstr, errstr_size))
            goto err;
    for (size_t i = 0; i < nprops; i++) {
        const char *x = props[i], *eq;
        char name[256];
        size_t n;

        if (!strncmp(x, "consumer.", 9) || !strncmp(x, "producer.", 9)) {
            if (strncmp(x, role, rl) || x[rl] != '.')
                continue;
            x += rl + 1;
        }
        eq = strchr(x, '=');
        n = eq ? (size_t)(eq - x) : 0;
        if (!eq || n == 0 || n >= sizeof(name)) {
            snprintf(errstr, errstr_size, "-X %s: expected prop=value", x);
            goto err;
        }
        memcpy(name, x, n);
        name[n] = '\0';
        if (set1(kc, name, eq + 1, errstr, errstr_size))
            goto err;
    }
    rd_kafka_conf_set_log_cb(kc, on_log);
    return kc;
err:
    rd_kafka_conf_destroy(kc);
    return NULL;
}

/* The delivery of one publish. */
typedef struct publish {
    int done;
    rd_kafka_resp_err_t err;
    int64_t offset;
} publish_t;

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *rkm,
                        void *opaque)
{
    publish_t *pb = rkm->_private;

    (void)rk;
    (void)opaque;
    if (!pb)
        return;
    pb->err = rkm->err;
    pb->offset = rkm->offset;
    pb->done = 1;
}

/* The partition count of the topic (0: it does not exist) and the
 * number of brokers, or -1 with errstr when no broker answered. Asks for
 * every topic: asking for this one would have a cluster that auto-creates
 * topics create it with its default partition count. */
static int describe(rulestopic_t *rt, int timeout_ms, int *brokers,
                    char *errstr, size_t errstr_size)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_resp_err_t err;
    int n = 0;

    err = rd_kafka_metadata(rt->rkp, 1, NULL, &md, timeout_ms);
    if (err) {
        snprintf(errstr, errstr_size, "no broker answered within %d ms: %s",
                 timeout_ms, rd_kafka_err2str(err));
        return -1;
    }
    for (int i = 0; i < md->topic_cnt; i++)
        if (!strcmp(md->topics[i].topic, rt->topic) && !md->topics[i].err)
            n = md->topics[i].partition_cnt;
    *brokers = md->broker_cnt;
    rd_kafka_metadata_destroy(md);
    return n;
}

/* Create the topic: one partition, compacted, replicated up to three
 * times. Returns 0, or -1 with errstr. */
static int create_topic(rulestopic_t *rt, int brokers, int timeout_ms,
                        char *errstr, size_t errstr_size)
{
    rd_kafka_NewTopic_t *nt;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_event_t *ev = NULL;
    const rd_kafka_CreateTopics_result_t *res;
    const rd_kafka_topic_result_t **tr;
    size_t ntr;
    char err[256];
    int rc = -1;

    nt = rd_kafka_NewTopic_new(rt->topic, 1, brokers < 3 ? brokers : 3, err,
                               sizeof(err));
    if (!nt) {
        snprintf(errstr, errstr_size, "%s", err);
        return -1;
    }
    if (rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact")) {
        snprintf(errstr, errstr_size, "cleanup.policy: refused");
        goto out;
    }
    if (!(q = rd_kafka_queue_new(rt->rkp))) {
        snprintf(errstr, errstr_size, "out of memory");
        goto out;
    }
    rd_kafka_CreateTopics(rt->rkp, &nt, 1, NULL, q);
    ev = rd_kafka_queue_poll(q, timeout_ms);
    if (!ev) {
        snprintf(errstr, errstr_size, "no answer within %d ms", timeout_ms);
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        snprintf(errstr, errstr_size, "%s", rd_kafka_event_error_string(ev));
        goto out;
    }
    res = rd_kafka_event_CreateTopics_result(ev);
    tr = res ? rd_kafka_CreateTopics_result_topics(res, &ntr) : NULL;
    if (!tr || ntr != 1) {
        snprintf(errstr, errstr_size, "no result");
        goto out;
    }
    if (rd_kafka_topic_result_error(tr[0]) &&
        rd_kafka_topic_result_error(tr[0]) !=
            RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        snprintf(errstr, errstr_size, "%s",
                 rd_kafka_topic_result_error_string(tr[0]));
        goto out;
    }
    rc = 0;
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    if (q)
        rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return rc;
}

/* Make sure the topic exists with one partition. 0, or -1 with errstr
 * and *code. */
static int ensure_topic(rulestopic_t *rt, int create, int timeout_ms, int *code,
                        char *errstr, size_t errstr_size)
{
    int64_t end = clock_ms() + timeout_ms;
    char err[512];
    int brokers = 0, n;

    *code = 1;
    n = describe(rt, timeout_ms, &brokers, err, sizeof(err));
    if (n < 0) {
        snprintf(errstr, errstr_size, "rules topic %s: %s", rt->topic, err);
        return -1;
    }
    if (n == 0 && !create) {
        *code = 2;
        snprintf(errstr, errstr_size, "rules topic %s does not exist",
                 rt->topic);
        return -1;
    }
    if (n == 0) {
        if (create_topic(rt, brokers, timeout_ms, err, sizeof(err))) {
            snprintf(errstr, errstr_size,
                     "rules topic %s does not exist and could not be "
                     "created: %s (create it with one partition and "
                     "cleanup.policy=compact)",
                     rt->topic, err);
            return -1;
        }
        log_info("rules topic %s created (one partition, compacted)",
                 rt->topic);
        while ((n = describe(rt, timeout_ms, &brokers, err, sizeof(err))) ==
                   0 &&
               clock_ms() < end)
            usleep(100 * 1000);
        if (n <= 0) {
            snprintf(errstr, errstr_size,
                     "rules topic %s: created, but not in the metadata "
                     "within %d ms",
                     rt->topic, timeout_ms);
            return -1;
        }
    }
    if (n > 1) {
        *code = 2;
        snprintf(errstr, errstr_size,
                 "rules topic %s has %d partitions: it must have exactly "
                 "one, so that every instance reads the rules in one order",
                 rt->topic, n);
        return -1;
    }
    return 0;
}

static const char *const consumer_defaults[] = {"enable.auto.commit",
                                                "false",
                                                "enable.auto.offset.store",
                                                "false",
                                                "enable.partition.eof",
                                                "true",
                                                "auto.offset.reset",
                                                "earliest",
                                                "fetch.wait.max.ms",
                                                "100",
                                                NULL};

rulestopic_t *rulestopic_open(const char *brokers, const char *const *props,
                              size_t nprops, const char *topic,
                              const char *group, const char *writer, int create,
                              int timeout_ms, int *code, char *errstr,
                              size_t errstr_size)
{
    rulestopic_t *rt = calloc(1, sizeof(*rt));
    rd_kafka_conf_t *kc = NULL;
    rd_kafka_topic_partition_list_t *l = NULL;
    rd_kafka_resp_err_t err;
    char tmo[32], gid[64];
    const char *producer_defaults[] = {
        "enable.idempotence", "true", "acks", "all", "linger.ms", "0",
        "message.timeout.ms", tmo,    NULL};
    const char
        *cdefs[sizeof(consumer_defaults) / sizeof(*consumer_defaults) + 2];
    size_t nd = 0;

    *code = 2;
    if (!rt || pthread_mutex_init(&rt->lock, NULL)) {
        free(rt);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    if (pthread_mutex_init(&rt->pub, NULL)) {
        pthread_mutex_destroy(&rt->lock);
        free(rt);
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    rt->want_hi = -1;
    if (!(rt->topic = strdup(topic)) || !(rt->group = strdup(group)) ||
        !(rt->writer = strdup(writer))) {
        snprintf(errstr, errstr_size, "out of memory");
        goto err;
    }
    rt->msg_timeout_ms = timeout_ms;
    snprintf(tmo, sizeof(tmo), "%d", timeout_ms);
    if (!(kc = make_conf(brokers, props, nprops, "producer", producer_defaults,
                         errstr, errstr_size)))
        goto err;
    rd_kafka_conf_set_dr_msg_cb(kc, on_delivery);
    if (!(rt->rkp = rd_kafka_new(RD_KAFKA_PRODUCER, kc, errstr, errstr_size)))
        goto err;
    kc = NULL; /* owned by rkp */

    /* assign() needs a group.id; nothing joins or commits under it. */
    snprintf(gid, sizeof(gid), "router-rules-%ld", (long)getpid());
    for (nd = 0; consumer_defaults[nd]; nd++)
        cdefs[nd] = consumer_defaults[nd];
    cdefs[nd++] = "group.id";
    cdefs[nd++] = gid;
    cdefs[nd] = NULL;
    if (!(kc = make_conf(brokers, props, nprops, "consumer", cdefs, errstr,
                         errstr_size)))
        goto err;
    if (!(rt->rkc = rd_kafka_new(RD_KAFKA_CONSUMER, kc, errstr, errstr_size)))
        goto err;
    kc = NULL; /* owned by rkc */

    if (ensure_topic(rt, create, timeout_ms, code, errstr, errstr_size))
        goto err_code;
    *code = 1;
    if (!(l = rd_kafka_topic_partition_list_new(1))) {
        snprintf(errstr, errstr_size, "out of memory");
        goto err_code;
    }
    rd_kafka_topic_partition_list_add(l, topic, 0)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
    err = rd_kafka_assign(rt->rkc, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (err) {
        snprintf(errstr, errstr_size, "rules topic %s: assign: %s", topic,
                 rd_kafka_err2str(err));
        goto err_code;
    }
    return rt;
err:
    *code = 2;
err_code:
    if (kc)
        rd_kafka_conf_destroy(kc);
    rulestopic_close(rt);
    return NULL;
}

/* Hand one consumed record to cb when it is the group's. */
static void deliver(rulestopic_t *rt, const rd_kafka_message_t *rkm,
                    rulestopic_cb *cb, void *opaque)
{
    rulestopic_record_t rec;
    rd_kafka_headers_t *hdrs = NULL;
    char writer[256] = "";
    const void *v;
    size_t vlen;
    rd_kafka_timestamp_type_t tt;

    if (atomic_load(&rt->stop) || rkm->key_len != strlen(rt->group) ||
        memcmp(rkm->key, rt->group, rkm->key_len))
        return;
    if (!rd_kafka_message_headers(rkm, &hdrs) &&
        !rd_kafka_header_get_last(hdrs, WRITER_HEADER, &v, &vlen) && v) {
        if (vlen >= sizeof(writer))
            vlen = sizeof(writer) - 1;
        memcpy(writer, v, vlen);
        writer[vlen] = '\0';
    }
    rec.offset = rkm->offset;
    rec.value = rkm->payload;
    rec.len = rkm->len;
    rec.writer = writer;
    rec.written_ms = rd_kafka_message_timestamp(rkm, &tt);
    cb(opaque, &rec);
}

/* Note that the reader is at offset pos now (or at least). Lock held. */
static void advance(rulestopic_t *rt, int64_t pos)
{
    if (pos > rt->pos)
        rt->pos = pos;
    if (rt->want_hi >= 0 && rt->pos >= rt->want_hi) {
        rt->synced_ms = rt->want_ms;
        rt->want_hi = -1;
        rt->error[0] = '\0';
    }
}

/* Consume for up to timeout_ms; hand a record to cb. */
static void read_one(rulestopic_t *rt, rulestopic_cb *cb, void *opaque,
                     int timeout_ms)
{
    rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rt->rkc, timeout_ms);

    if (!rkm)
        return;
    if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        pthread_mutex_lock(&rt->lock);
        advance(rt, rkm->offset);
        pthread_mutex_unlock(&rt->lock);
    } else if (rkm->err) {
        const char *e = rd_kafka_message_errstr(rkm);
        int again;

        /* Said once per change: a cluster that is down repeats it. */
        pthread_mutex_lock(&rt->lock);
        again = !strcmp(rt->error, e);
        snprintf(rt->error, sizeof(rt->error), "%s", e);
        pthread_mutex_unlock(&rt->lock);
        if (!again)
            log_warn("rules topic %s: %s", rt->topic, e);
    } else {
        deliver(rt, rkm, cb, opaque);
        pthread_mutex_lock(&rt->lock);
        advance(rt, rkm->offset + 1);
        pthread_mutex_unlock(&rt->lock);
    }
    rd_kafka_message_destroy(rkm);
}

/* Ask the cluster where the topic ends; the reader is synced as of now
 * once it gets there. Returns 0, or -1 with the error recorded. */
static int query_end(rulestopic_t *rt, int timeout_ms)
{
    int64_t lo, hi, t = clock_ms();
    rd_kafka_resp_err_t err;

    err = rd_kafka_query_watermark_offsets(rt->rkc, rt->topic, 0, &lo, &hi,
                                           timeout_ms);
    pthread_mutex_lock(&rt->lock);
    if (err) {
        snprintf(rt->error, sizeof(rt->error), "end of the topic: %s",
                 rd_kafka_err2str(err));
    } else {
        rt->want_hi = hi;
        rt->want_ms = t;
        advance(rt, rt->pos);
    }
    pthread_mutex_unlock(&rt->lock);
    return err ? -1 : 0;
}

int rulestopic_catch_up(rulestopic_t *rt, rulestopic_cb *cb, void *opaque,
                        int timeout_ms, char *errstr, size_t errstr_size)
{
    int64_t start = clock_ms(), end = start + timeout_ms;

    if (query_end(rt, timeout_ms)) {
        snprintf(errstr, errstr_size, "rules topic %s: %s", rt->topic,
                 rt->error);
        return -1;
    }
    while (!rulestopic_synced_since(rt, start)) {
        if (clock_ms() >= end) {
            pthread_mutex_lock(&rt->lock);
            snprintf(errstr, errstr_size,
                     "rules topic %s: not read to its end (offset %" PRId64
                     ") within %d ms%s%s",
                     rt->topic, rt->want_hi, timeout_ms,
                     rt->error[0] ? ": " : "", rt->error);
            pthread_mutex_unlock(&rt->lock);
            return -1;
        }
        read_one(rt, cb, opaque, POLL_MS);
    }
    return 0;
}

static void *reader(void *arg)
{
    rulestopic_t *rt = arg;
    int64_t last_query = 0;

    while (!atomic_load(&rt->stop)) {
        int64_t now = clock_ms();

        if (now - last_query >= SYNC_EVERY_MS) {
            last_query = now;
            query_end(rt, SYNC_TIMEOUT_MS);
            if (atomic_load(&rt->stop))
                break; /* the query may outlast a close: cb's owner may
                        * be gone */
        }
        read_one(rt, rt->cb, rt->opaque, POLL_MS);
    }
    atomic_store(&rt->done, 1);
    return NULL;
}

int rulestopic_start(rulestopic_t *rt, rulestopic_cb *cb, void *opaque)
{
    rt->cb = cb;
    rt->opaque = opaque;
    if (pthread_create(&rt->thr, NULL, reader, rt))
        return -1;
    rt->started = 1;
    return 0;
}

/* Produce the rules record, its delivery report to pb. */
static rd_kafka_resp_err_t produce(rulestopic_t *rt, const char *text,
                                   size_t len, publish_t *pb)
{
    return rd_kafka_producev(rt->rkp, RD_KAFKA_V_TOPIC(rt->topic),
                             RD_KAFKA_V_PARTITION(0),
                             RD_KAFKA_V_KEY(rt->group, strlen(rt->group)),
                             RD_KAFKA_V_VALUE((void *)text, len),
                             RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_HEADER(WRITER_HEADER, rt->writer, -1),
                             RD_KAFKA_V_OPAQUE(pb), RD_KAFKA_V_END);
}

/* After a failed publish: the producer's metadata again. librdkafka 2.0.2
 * keeps a topic-level produce error (TOPIC_AUTHORIZATION_FAILED) and fails
 * every later produce to the topic at once, until its metadata is next
 * updated (topic.metadata.refresh.interval.ms), even when the cause is
 * gone. describe() asks for every topic, so it creates none. */
static void refresh(rulestopic_t *rt)
{
    char why[256];
    int brokers;

    if (describe(rt, REFRESH_MS, &brokers, why, sizeof(why)) < 0)
        log_debug("rules topic %s: metadata refresh: %s", rt->topic, why);
}

int64_t rulestopic_publish(rulestopic_t *rt, const char *text, size_t len,
                           char *errstr, size_t errstr_size)
{
    publish_t *pb = calloc(1, sizeof(*pb));
    rd_kafka_resp_err_t err;
    int64_t end, off = -1;

    if (!pb) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    pthread_mutex_lock(&rt->pub);
    if ((err = produce(rt, text, len, pb))) {
        /* Perhaps an error librdkafka kept from an earlier failure. */
        refresh(rt);
        err = produce(rt, text, len, pb);
    }
    if (err) {
        pthread_mutex_unlock(&rt->pub);
        free(pb);
        snprintf(errstr, errstr_size, "rules topic %s: %s", rt->topic,
                 rd_kafka_err2str(err));
        return -1;
    }
    /* The delivery report comes by message.timeout.ms at the latest. */
    end = clock_ms() + rt->msg_timeout_ms + 30000;
    while (!pb->done && clock_ms() < end)
        rd_kafka_poll(rt->rkp, 100);
    if (pb->done && pb->err)
        refresh(rt); /* so that the next publish meets the cause, if any */
    pthread_mutex_unlock(&rt->pub);
    if (!pb->done) {
        /* pb is left to the late report: it must not write freed memory. */
        snprintf(errstr, errstr_size,
                 "rules topic %s: no delivery report within %d ms: the "
                 "record may or may not be written",
                 rt->topic, rt->msg_timeout_ms + 30000);
        return -1;
    }
    if (pb->err)
        snprintf(errstr, errstr_size, "rules topic %s: %s", rt->topic,
                 rd_kafka_err2str(pb->err));
    else
        off = pb->offset;
    free(pb);
    return off;
}

int rulestopic_synced_since(rulestopic_t *rt, int64_t since_ms)
{
    int ok;

    pthread_mutex_lock(&rt->lock);
    ok = rt->synced_ms >= since_ms && rt->synced_ms > 0;
    pthread_mutex_unlock(&rt->lock);
    return ok;
}

void rulestopic_health(rulestopic_t *rt, char *buf, size_t size)
{
    int64_t age;

    pthread_mutex_lock(&rt->lock);
    age = clock_ms() - rt->synced_ms;
    if (age <= STALE_MS)
        buf[0] = '\0';
    else
        snprintf(buf, size,
                 "rules topic %s not read to its end for %" PRId64 " s%s%s",
                 rt->topic, age / 1000, rt->error[0] ? ": " : "", rt->error);
    pthread_mutex_unlock(&rt->lock);
}

const char *rulestopic_name(const rulestopic_t *rt)
{
    return rt->topic;
}

void rulestopic_close(rulestopic_t *rt)
{
    if (!rt)
        return;
    if (rt->started) {
        int64_t end = clock_ms() + CLOSE_WAIT_MS;

        atomic_store(&rt->stop, 1);
        /* librdkafka 2.0.2's watermark query waits for its answer past
         * its timeout once the request is queued to a broker that is
         * down: a reader blocked there is left to the process's exit
         * (rt with it) rather than hang the stop. */
        while (!atomic_load(&rt->done) && clock_ms() < end)
            usleep(20 * 1000);
        if (!atomic_load(&rt->done)) {
            log_warn("rules topic %s: its reader is blocked in librdkafka "
                     "(no broker answers); left to the process's exit",
                     rt->topic);
            pthread_detach(rt->thr);
            return;
        }
        pthread_join(rt->thr, NULL);
    }
    if (rt->rkc) {
        rd_kafka_resp_err_t err = rd_kafka_consumer_close(rt->rkc);

        if (err)
            log_debug("rules topic: close: %s", rd_kafka_err2str(err));
        rd_kafka_destroy(rt->rkc);
    }
    if (rt->rkp) {
        if (rd_kafka_flush(rt->rkp, 5000))
            log_warn("rules topic: %d records not flushed",
                     rd_kafka_outq_len(rt->rkp));
        rd_kafka_destroy(rt->rkp);
    }
    pthread_mutex_destroy(&rt->pub);
    pthread_mutex_destroy(&rt->lock);
    free(rt->topic);
    free(rt->group);
    free(rt->writer);
    free(rt);
}
