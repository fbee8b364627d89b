/* bench_kafka.c - the benchmark's Kafka clients: client setup, the
 * high-watermark watcher and the live latency probe. */
#include "bench.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- clients ---------------------------------------------------------- */

int bench_props_add(bench_props_t *p, const char *kv)
{
    if (p->n == BENCH_MAX_PROPS)
        return -1;
    p->v[p->n++] = kv;
    return 0;
}

int bench_props_add_x(bench_props_t *c, bench_props_t *p, const char *arg)
{
    if (!strncmp(arg, "consumer.", 9))
        return bench_props_add(c, arg + 9);
    if (!strncmp(arg, "producer.", 9))
        return bench_props_add(p, arg + 9);
    return bench_props_add(c, arg) || bench_props_add(p, arg) ? -1 : 0;
}

static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    if (level <= 3)
        fprintf(stderr, "%s: %s: %s\n", rd_kafka_name(rk), fac, buf);
}

/* Delivery reports: count failures in the long the message opaque points
 * to (when it has one). */
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
    (void)rk;
    (void)opaque;
    if (rkm->err && rkm->_private)
        (*(long *)rkm->_private)++;
}

/* Set "k=v" on conf. Returns 0, or -1 with errstr. */
static int conf_kv(rd_kafka_conf_t *conf, const char *kv, char *errstr,
                   size_t errstr_size)
{
    const char *eq = strchr(kv, '=');
    char name[256], err[256];

    if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof(name)) {
        snprintf(errstr, errstr_size, "bad property %s", kv);
        return -1;
    }
    snprintf(name, sizeof(name), "%.*s", (int)(eq - kv), kv);
    if (rd_kafka_conf_set(conf, name, eq + 1, err, sizeof(err)) !=
        RD_KAFKA_CONF_OK) {
        snprintf(errstr, errstr_size, "%s: %s", kv, err);
        return -1;
    }
    return 0;
}

rd_kafka_t *bench_client(rd_kafka_type_t type, const char *bs,
                         const bench_props_t *props,
                         int (*stats_cb)(rd_kafka_t *, char *, size_t, void *),
                         void *opaque, char *errstr, size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    char kv[1024];

    if (!conf) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    snprintf(kv, sizeof(kv), "bootstrap.servers=%s", bs);
    if (conf_kv(conf, kv, errstr, errstr_size))
        goto err;
    for (size_t i = 0; props && i < props->n; i++)
        if (conf_kv(conf, props->v[i], errstr, errstr_size))
            goto err;
    if (stats_cb) {
        if (conf_kv(conf, "statistics.interval.ms=100", errstr, errstr_size))
            goto err;
        rd_kafka_conf_set_stats_cb(conf, stats_cb);
    }
    if (type == RD_KAFKA_PRODUCER)
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_opaque(conf, opaque);
    rk = rd_kafka_new(type, conf, errstr, errstr_size);
    if (!rk)
        goto err;
    return rk; /* conf owned by rk */
err:
    rd_kafka_conf_destroy(conf);
    return NULL;
}

void bench_consumer_destroy(rd_kafka_t *rk)
{
    rd_kafka_resp_err_t err;

    if (!rk)
        return;
    if ((err = rd_kafka_consumer_close(rk)))
        fprintf(stderr, "%s: close: %s\n", rd_kafka_name(rk),
                rd_kafka_err2str(err));
    rd_kafka_destroy(rk);
}

int bench_topic_partitions(rd_kafka_t *rk, const char *topic)
{
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    int n = -1;

    if (!rkt)
        return -1;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 5000) ==
        RD_KAFKA_RESP_ERR_NO_ERROR) {
        if (md->topic_cnt == 1 && !md->topics[0].err)
            n = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    return n;
}

int bench_add_partitions(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *l,
                         const char *const *topics, size_t n, int64_t offset,
                         char *errstr, size_t errstr_size)
{
    for (size_t t = 0; t < n; t++) {
        int np = bench_topic_partitions(rk, topics[t]);

        if (np <= 0) {
            snprintf(errstr, errstr_size, "no metadata for topic %s",
                     topics[t]);
            return -1;
        }
        for (int p = 0; p < np; p++)
            rd_kafka_topic_partition_list_add(l, topics[t], p)->offset = offset;
    }
    return 0;
}

/* ---- watermark watcher ------------------------------------------------ */

struct bench_watch {
    rd_kafka_t *rk;                         /* owned */
    rd_kafka_topic_partition_list_t *parts; /* owned, what we watch */
    rd_kafka_topic_partition_list_t *last;  /* owned, last answer */
};

bench_watch_t *bench_watch_new(const char *bs, const char *const *topics,
                               size_t n, char *errstr, size_t errstr_size)
{
    bench_watch_t *w = calloc(1, sizeof(*w));

    if (!w) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    w->parts = rd_kafka_topic_partition_list_new(64);
    w->rk = bench_client(RD_KAFKA_PRODUCER, bs, NULL, NULL, NULL, errstr,
                         errstr_size);
    if (!w->parts || !w->rk ||
        bench_add_partitions(w->rk, w->parts, topics, n, 0, errstr,
                             errstr_size)) {
        bench_watch_destroy(w);
        return NULL;
    }
    return w;
}

int64_t bench_watch_total(bench_watch_t *w)
{
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_copy(w->parts);
    int64_t sum = 0;

    if (!l)
        return -1;
    /* A ListOffsets "timestamp" of -1 asks for the end offset: one request
     * per broker for every partition. */
    for (int i = 0; i < l->cnt; i++)
        l->elems[i].offset = RD_KAFKA_OFFSET_END;
    if (rd_kafka_offsets_for_times(w->rk, l, 5000)) {
        rd_kafka_topic_partition_list_destroy(l);
        return -1;
    }
    for (int i = 0; i < l->cnt; i++) {
        if (l->elems[i].err || l->elems[i].offset < 0) {
            rd_kafka_topic_partition_list_destroy(l);
            return -1;
        }
        sum += l->elems[i].offset;
    }
    if (w->last)
        rd_kafka_topic_partition_list_destroy(w->last);
    w->last = l;
    return sum;
}

const rd_kafka_topic_partition_list_t *bench_watch_last(bench_watch_t *w)
{
    return w->last;
}

void bench_watch_destroy(bench_watch_t *w)
{
    if (!w)
        return;
    if (w->parts)
        rd_kafka_topic_partition_list_destroy(w->parts);
    if (w->last)
        rd_kafka_topic_partition_list_destroy(w->last);
    if (w->rk)
        rd_kafka_destroy(w->rk);
    free(w);
}

/* ---- live latency ----------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int bench_latency(const char *bs, const char *src, size_t size,
                  const bench_props_t *cprops,
                  const rd_kafka_topic_partition_list_t *from, int rate,
                  double secs, double *p50, double *p99, double *pmax,
                  long *received, char *errstr, size_t errstr_size)
{
    static const char *const pprops[] = {"linger.ms=1", "acks=all"};
    bench_props_t pp = {{0}, 0}, cp = *cprops;
    rd_kafka_t *prod = NULL, *cons = NULL;
    rd_kafka_topic_partition_list_t *asg = NULL;
    long total = (long)(rate * secs), produced = 0, got = 0;
    double *lat = calloc((size_t)total + 1, sizeof(*lat));
    char *val = malloc(size + 1), key[16];
    bench_gen_t g;
    double t0, end;
    int rc = -1;

    *received = 0;
    *p50 = *p99 = *pmax = -1;
    if (bench_props_add(&pp, pprops[0]) || bench_props_add(&pp, pprops[1]) ||
        bench_props_add(&cp, "group.id=bench-latency") ||
        bench_props_add(&cp, "enable.auto.commit=false")) {
        snprintf(errstr, errstr_size, "too many properties");
        goto out;
    }
    if (!lat || !val) {
        snprintf(errstr, errstr_size, "out of memory");
        goto out;
    }
    if (!(prod = bench_client(RD_KAFKA_PRODUCER, bs, &pp, NULL, NULL, errstr,
                              errstr_size)) ||
        !(cons = bench_client(RD_KAFKA_CONSUMER, bs, &cp, NULL, NULL, errstr,
                              errstr_size)))
        goto out;
    asg = rd_kafka_topic_partition_list_copy(from);
    if (!asg || rd_kafka_assign(cons, asg)) {
        snprintf(errstr, errstr_size, "cannot assign the destinations");
        goto out;
    }
    /* Let the consumer connect and start fetching, and the producer learn
     * the source's partitions, before the clock runs. */
    if (bench_topic_partitions(prod, src) <= 0) {
        snprintf(errstr, errstr_size, "no metadata for %s", src);
        goto out;
    }
    end = bench_now() + 0.5;
    while (bench_now() < end) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(cons, 10);

        if (rkm)
            rd_kafka_message_destroy(rkm);
        rd_kafka_poll(prod, 0);
    }
    bench_gen_init(&g, 7, size);
    t0 = bench_now();
    end = t0 + secs + 5.0;
    while (got < total && bench_now() < end) {
        long due = (long)((bench_now() - t0) * rate);
        rd_kafka_message_t *rkm;

        if (due > total)
            due = total;
        while (produced < due) {
            size_t kl;

            if (bench_gen_next(&g, bench_now_us(), val, key, &kl) < 0) {
                snprintf(errstr, errstr_size, "bad event size %zu", size);
                goto out;
            }
            if (rd_kafka_producev(prod, RD_KAFKA_V_TOPIC(src),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                  RD_KAFKA_V_VALUE(val, size),
                                  RD_KAFKA_V_KEY(key, kl), RD_KAFKA_V_END))
                break;
            produced++;
        }
        rd_kafka_poll(prod, 0);
        rkm = rd_kafka_consumer_poll(cons, 1);
        if (rkm && !rkm->err && rkm->len > 6 &&
            !memcmp(rkm->payload, "{\"ts\":", 6) && got < total) {
            long long ts = strtoll((const char *)rkm->payload + 6, NULL, 10);

            lat[got++] = (double)(bench_now_us() - ts) / 1000.0;
        }
        if (rkm)
            rd_kafka_message_destroy(rkm);
    }
    *received = got;
    if (got == 0) {
        snprintf(errstr, errstr_size, "no live event came through");
        goto out;
    }
    qsort(lat, (size_t)got, sizeof(*lat), cmp_double);
    *p50 = lat[(size_t)(got * 0.50)];
    *p99 = lat[(size_t)(got * 0.99) < (size_t)got ? (size_t)(got * 0.99)
                                                  : (size_t)got - 1];
    *pmax = lat[got - 1];
    rc = 0;
out:
    if (asg)
        rd_kafka_topic_partition_list_destroy(asg);
    bench_consumer_destroy(cons);
    if (prod) {
        rd_kafka_flush(prod, 5000);
        rd_kafka_destroy(prod);
    }
    free(lat);
    free(val);
    return rc;
}
