/* bench_child.c - the child processes of the benchmark, run as
 * `router-bench SUBCOMMAND ...`: the mock cluster, the producer (preload
 * and produce-only), the consumer (consume-only and read-back) and the C
 * copy loop. Each prints one "result k=v ..." line, then waits for its
 * stdin to close so that the harness can read its socket counters. */
#include "bench.h"

#include <inttypes.h>
#include <jansson.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONSUME_BATCH   1000
#define CHILD_TIMEOUT_S 300.0

/* Options shared by the child subcommands. */
typedef struct child_opts {
    const char *bs;                       /* -b */
    const char *topics[BENCH_MAX_TOPICS]; /* -t, comma separated */
    size_t ntopics;
    char topics_buf[4096];
    const char *dest;             /* -d */
    long count;                   /* -n */
    size_t size;                  /* --size */
    uint64_t seed;                /* --seed */
    bench_props_t cprops, pprops; /* -X [consumer.|producer.]k=v */
} child_opts_t;

/* librdkafka statistics: the last top-level rx/tx byte totals. */
typedef struct stats_bytes {
    uint64_t rx, tx;
} stats_bytes_t;

static int stats_cb(rd_kafka_t *rk, char *json, size_t len, void *opaque)
{
    stats_bytes_t *sb = opaque;
    json_t *root = json_loadb(json, len, 0, NULL);

    (void)rk;
    if (root) {
        sb->rx =
            (uint64_t)json_integer_value(json_object_get(root, "rx_bytes"));
        sb->tx =
            (uint64_t)json_integer_value(json_object_get(root, "tx_bytes"));
        json_decref(root);
    }
    return 0;
}

static int parse_child_opts(int argc, char **argv, child_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->size = 200;
    o->seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

        if (!v)
            goto usage;
        i++;
        if (!strcmp(a, "-b")) {
            o->bs = v;
        } else if (!strcmp(a, "-t")) {
            char *save = NULL, *tok;

            snprintf(o->topics_buf, sizeof(o->topics_buf), "%s", v);
            for (tok = strtok_r(o->topics_buf, ",", &save);
                 tok && o->ntopics < BENCH_MAX_TOPICS;
                 tok = strtok_r(NULL, ",", &save))
                o->topics[o->ntopics++] = tok;
        } else if (!strcmp(a, "-d")) {
            o->dest = v;
        } else if (!strcmp(a, "-n")) {
            o->count = atol(v);
        } else if (!strcmp(a, "--size")) {
            o->size = (size_t)atol(v);
        } else if (!strcmp(a, "--seed")) {
            o->seed = strtoull(v, NULL, 10);
        } else if (!strcmp(a, "-X")) {
            if (bench_props_add_x(&o->cprops, &o->pprops, v))
                goto usage;
        } else {
            goto usage;
        }
    }
    if (!o->bs || !o->ntopics || o->count <= 0)
        goto usage;
    return 0;
usage:
    fprintf(stderr, "%s: bad arguments\n", argv[0]);
    return -1;
}

/* Block until stdin closes (the harness has read our socket counters). */
static void wait_stdin_eof(void)
{
    char buf[256];

    while (read(STDIN_FILENO, buf, sizeof(buf)) > 0)
        ;
}

static double self_cpu(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return bench_ru_cpu(&ru);
}

/* A consumer assigned to every partition of o->topics from the start;
 * sb NULL: without librdkafka's statistics. */
static rd_kafka_t *start_consumer(child_opts_t *o, stats_bytes_t *sb,
                                  rd_kafka_queue_t **rkqu)
{
    rd_kafka_topic_partition_list_t *l = NULL;
    bench_props_t cp = o->cprops;
    char errstr[512], gid[64];
    rd_kafka_t *rk = NULL;

    snprintf(gid, sizeof(gid), "group.id=bench-%d", (int)getpid());
    if (bench_props_add(&cp, gid) ||
        bench_props_add(&cp, "enable.auto.commit=false") ||
        bench_props_add(&cp, "enable.partition.eof=false")) {
        fprintf(stderr, "too many properties\n");
        return NULL;
    }
    rk = bench_client(RD_KAFKA_CONSUMER, o->bs, &cp, sb ? stats_cb : NULL, sb,
                      errstr, sizeof(errstr));
    if (!rk)
        goto err;
    if (rd_kafka_poll_set_consumer(rk)) {
        snprintf(errstr, sizeof(errstr), "no consumer queue");
        goto err;
    }
    if (!(l = rd_kafka_topic_partition_list_new(64))) {
        snprintf(errstr, sizeof(errstr), "out of memory");
        goto err;
    }
    if (bench_add_partitions(rk, l, o->topics, o->ntopics,
                             RD_KAFKA_OFFSET_BEGINNING, errstr, sizeof(errstr)))
        goto err;
    if (rd_kafka_assign(rk, l)) {
        snprintf(errstr, sizeof(errstr), "assign failed");
        goto err;
    }
    rd_kafka_topic_partition_list_destroy(l);
    l = NULL;
    if (!(*rkqu = rd_kafka_queue_get_consumer(rk))) {
        snprintf(errstr, sizeof(errstr), "no consumer queue");
        goto err;
    }
    return rk;
err:
    fprintf(stderr, "consumer: %s\n", errstr);
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    bench_consumer_destroy(rk);
    return NULL;
}

/* Serve stats for a little while so that the last figures are fresh. */
static void settle_stats(rd_kafka_t *cons, rd_kafka_t *prod)
{
    double end = bench_now() + 0.25;

    while (bench_now() < end) {
        if (cons) {
            rd_kafka_message_t *rkm = rd_kafka_consumer_poll(cons, 20);

            if (rkm)
                rd_kafka_message_destroy(rkm);
        }
        if (prod)
            rd_kafka_poll(prod, cons ? 0 : 20);
    }
}

/* Marks of a drain: when 10% and 90% of the messages had come through,
 * with the process's CPU seconds then. */
typedef struct marks {
    double t_first, t10, t90, cpu10, cpu90;
    long n10, n90;
} marks_t;

static void mark(marks_t *m, long got, long count)
{
    if (m->t_first == 0 && got > 0)
        m->t_first = bench_now();
    if (!m->n10 && got >= count / 10) {
        m->t10 = bench_now();
        m->cpu10 = bench_proc_cpu(getpid());
        m->n10 = got;
    }
    if (!m->n90 && got >= count - count / 10) {
        m->t90 = bench_now();
        m->cpu90 = bench_proc_cpu(getpid());
        m->n90 = got;
    }
}

/* Consume count messages from rkqu in batches (or as many as come within
 * CHILD_TIMEOUT_S), calling each (when set) on every message without error
 * before it is freed, and serving serve (a producer, or NULL) after every
 * batch. Fills m and *bytes (value + key). Returns the messages consumed. */
static long drain(rd_kafka_queue_t *rkqu, long count,
                  void (*each)(const rd_kafka_message_t *, void *), void *ctx,
                  rd_kafka_t *serve, marks_t *m, uint64_t *bytes)
{
    rd_kafka_message_t *msgs[CONSUME_BATCH];
    double end = bench_now() + CHILD_TIMEOUT_S;
    long got = 0;

    while (got < count && bench_now() < end) {
        /* Never ask for more than is left: a batch call waits for a full
         * batch until its timeout. */
        size_t want =
            count - got < CONSUME_BATCH ? (size_t)(count - got) : CONSUME_BATCH;
        ssize_t n = rd_kafka_consume_batch_queue(rkqu, 100, msgs, want);

        for (ssize_t i = 0; i < n; i++) {
            if (!msgs[i]->err) {
                got++;
                *bytes += msgs[i]->len + msgs[i]->key_len;
                if (each)
                    each(msgs[i], ctx);
            }
            rd_kafka_message_destroy(msgs[i]);
        }
        if (n > 0)
            mark(m, got, count);
        if (serve)
            rd_kafka_poll(serve, 0);
    }
    return got;
}

/* ---- mock ------------------------------------------------------------- */

int bench_cmd_mock(int argc, char **argv)
{
    static const char *const quiet[] = {"log_level=3"};
    bench_props_t props = {{quiet[0]}, 1};
    rd_kafka_mock_cluster_t *mc = NULL;
    rd_kafka_t *rk = NULL;
    int brokers = 3, rc = 1;
    char errstr[512], line[512];
    FILE *in = stdin;

    if (argc == 3 && !strcmp(argv[1], "--brokers"))
        brokers = atoi(argv[2]);
    if (brokers < 1 || brokers > 16) {
        fprintf(stderr, "mock: --brokers 1..16\n");
        return 2;
    }
    rk = bench_client(RD_KAFKA_PRODUCER, "", &props, NULL, NULL, errstr,
                      sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "mock: %s\n", errstr);
        goto out;
    }
    mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        fprintf(stderr, "mock: cannot create the mock cluster\n");
        goto out;
    }
    printf("bootstraps %s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    /* "topic NAME PARTITIONS" lines until stdin closes. */
    while (fgets(line, sizeof(line), in)) {
        char name[256];
        int parts;
        rd_kafka_resp_err_t err;

        if (sscanf(line, "topic %255s %d", name, &parts) != 2 || parts < 1) {
            printf("err bad command\n");
        } else {
            err = rd_kafka_mock_topic_create(mc, name, parts,
                                             brokers < 3 ? brokers : 3);
            if (err)
                printf("err %s\n", rd_kafka_err2str(err));
            else
                printf("ok\n");
        }
        fflush(stdout);
    }
    rc = 0;
out:
    if (mc)
        rd_kafka_mock_cluster_destroy(mc);
    if (rk)
        rd_kafka_destroy(rk);
    return rc;
}

/* ---- produce ---------------------------------------------------------- */

/* Produce one message, waiting through a full queue. */
static rd_kafka_resp_err_t produce_one(rd_kafka_t *rk, rd_kafka_topic_t *rkt,
                                       int flags, void *val, size_t len,
                                       const void *key, size_t klen, int64_t ts,
                                       void *opaque)
{
    rd_kafka_resp_err_t err;

    for (;;) {
        err = rd_kafka_producev(
            rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_MSGFLAGS(flags),
            RD_KAFKA_V_VALUE(val, len), RD_KAFKA_V_KEY(key, klen),
            RD_KAFKA_V_TIMESTAMP(ts), RD_KAFKA_V_OPAQUE(opaque),
            RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            return err;
        rd_kafka_poll(rk, 10);
    }
}

int bench_cmd_produce(int argc, char **argv)
{
    child_opts_t o;
    stats_bytes_t sb = {0, 0};
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_t *rkt = NULL;
    char *vals = NULL, (*keys)[16] = NULL, errstr[512];
    unsigned char *klens = NULL;
    long errors = 0, i;
    double gen_cpu, t_first, t_last;
    uint64_t bytes = 0;
    bench_gen_t g;
    int rc = 1;

    if (parse_child_opts(argc, argv, &o))
        return 2;
    vals = malloc((size_t)o.count * o.size + 1);
    keys = malloc((size_t)o.count * sizeof(*keys));
    klens = malloc((size_t)o.count);
    if (!vals || !keys || !klens) {
        fprintf(stderr, "produce: out of memory\n");
        goto out;
    }
    /* The events first (not timed), so that only producing is measured. */
    bench_gen_init(&g, o.seed, o.size);
    for (i = 0; i < o.count; i++) {
        size_t kl;

        /* Its NUL lands on the next event's first byte (or the spare). */
        if (bench_gen_next(&g, bench_now_us(), vals + (size_t)i * o.size,
                           keys[i], &kl) < 0) {
            fprintf(stderr, "produce: bad size %zu\n", o.size);
            goto out;
        }
        klens[i] = (unsigned char)kl;
        bytes += o.size + kl;
    }
    gen_cpu = self_cpu();
    rk = bench_client(RD_KAFKA_PRODUCER, o.bs, &o.pprops, stats_cb, &sb, errstr,
                      sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "produce: %s\n", errstr);
        goto out;
    }
    rkt = rd_kafka_topic_new(rk, o.topics[0], NULL);
    if (!rkt) {
        fprintf(stderr, "produce: topic %s\n", o.topics[0]);
        goto out;
    }
    t_first = bench_now();
    for (i = 0; i < o.count; i++) {
        /* As the router: values up to message.copy.max.bytes (64 KB) are
         * copied, larger ones produced by reference (the buffers outlive
         * the flush). */
        rd_kafka_resp_err_t err = produce_one(
            rk, rkt, o.size <= 65535 ? RD_KAFKA_MSG_F_COPY : 0,
            vals + (size_t)i * o.size, o.size, keys[i], klens[i], 0, &errors);

        if (err) {
            fprintf(stderr, "produce: %s\n", rd_kafka_err2str(err));
            goto out;
        }
        rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, (int)(CHILD_TIMEOUT_S * 1000)) != 0) {
        fprintf(stderr, "produce: flush timed out\n");
        goto out;
    }
    t_last = bench_now();
    settle_stats(NULL, rk);
    printf("result msgs=%ld bytes=%" PRIu64 " errors=%ld gen_cpu=%.3f "
           "t_first=%.6f t_last=%.6f rx=%" PRIu64 " tx=%" PRIu64 "\n",
           o.count, bytes, errors, gen_cpu, t_first, t_last, sb.rx, sb.tx);
    fflush(stdout);
    wait_stdin_eof();
    rc = errors ? 1 : 0;
out:
    if (rkt)
        rd_kafka_topic_destroy(rkt);
    if (rk)
        rd_kafka_destroy(rk);
    free(vals);
    free(keys);
    free(klens);
    return rc;
}

/* ---- consume and copy ------------------------------------------------- */

/* The copy loop's producer: each consumed message is produced again. */
typedef struct copier {
    rd_kafka_t *prod;      /* the producer */
    rd_kafka_topic_t *rkt; /* the destination */
    long errors;           /* failed produce calls and delivery reports */
} copier_t;

static void copy_one(const rd_kafka_message_t *rkm, void *opaque)
{
    copier_t *cp = opaque;

    /* A plain copy: the payload is copied, the consumed message freed at
     * once. */
    if (produce_one(cp->prod, cp->rkt, RD_KAFKA_MSG_F_COPY, rkm->payload,
                    rkm->len, rkm->key, rkm->key_len, 0, &cp->errors)) {
        fprintf(stderr, "copy: produce failed\n");
        cp->errors++;
    }
}

/* The fan-out floor's producer: each consumed message goes to the topic
 * its "type" names, as the bench's ten delivering routes send it. */
typedef struct fanner {
    rd_kafka_t *prod;
    rd_kafka_topic_t *rkt[BENCH_NTYPES]; /* PREFIX.<type> */
    long errors;
} fanner_t;

/* The index of the event's "type" by a plain scan of the value (no JSON
 * parser, no rules), -1 when none of the ten. */
static int event_type(const rd_kafka_message_t *rkm)
{
    static const char pat[] = "\"type\":\"";
    const char *v = rkm->payload, *t;
    size_t left;

    if (!v || !(t = memmem(v, rkm->len, pat, sizeof(pat) - 1)))
        return -1;
    t += sizeof(pat) - 1;
    left = rkm->len - (size_t)(t - v);
    for (int i = 0; i < BENCH_NTYPES; i++) {
        size_t n = strlen(bench_types[i]);

        if (n < left && !memcmp(t, bench_types[i], n) && t[n] == '"')
            return i;
    }
    return -1;
}

static void fan_one(const rd_kafka_message_t *rkm, void *opaque)
{
    fanner_t *fn = opaque;
    int i = event_type(rkm);
    rd_kafka_headers_t *h = NULL, *hc = NULL;
    rd_kafka_resp_err_t err;

    if (i < 0)
        return; /* as "unmatched": "drop" */
    /* Key and headers kept, the value copied: what the router does for
     * values up to message.copy.max.bytes. */
    if (!rd_kafka_message_headers(rkm, &h) && h &&
        !(hc = rd_kafka_headers_copy(h))) {
        fn->errors++;
        return;
    }
    for (;;) {
        err = rd_kafka_producev(fn->prod, RD_KAFKA_V_RKT(fn->rkt[i]),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_VALUE(rkm->payload, rkm->len),
                                RD_KAFKA_V_KEY(rkm->key, rkm->key_len),
                                RD_KAFKA_V_HEADERS(hc),
                                RD_KAFKA_V_OPAQUE(&fn->errors), RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(fn->prod, 10);
    }
    if (err) {
        if (hc)
            rd_kafka_headers_destroy(hc); /* not taken on failure */
        fprintf(stderr, "fanout: produce failed: %s\n", rd_kafka_err2str(err));
        fn->errors++;
    }
}

/* The consumer child: consume-only, or with -d DEST the C copy loop.
 * Exit status 0, 1 on failure (a delivery failed: after the result line),
 * 2 on bad arguments. */
static int consume_cmd(int argc, char **argv, int copy)
{
    const char *what = copy == 2 ? "fanout" : copy ? "copy" : "consume";
    fanner_t fn;
    child_opts_t o;
    stats_bytes_t csb = {0, 0}, psb = {0, 0};
    rd_kafka_queue_t *rkqu = NULL;
    rd_kafka_t *cons = NULL;
    copier_t cp = {NULL, NULL, 0};
    marks_t m = {0, 0, 0, 0, 0, 0, 0};
    char errstr[512];
    long got;
    uint64_t bytes = 0;
    double t_last;
    int rc = 1;

    memset(&fn, 0, sizeof(fn));
    if (parse_child_opts(argc, argv, &o))
        return 2;
    if (copy && !o.dest) {
        fprintf(stderr, "%s: -d DEST missing\n", what);
        return 2;
    }
    if (copy == 2) {
        /* The floor does only what routing needs: no statistics (their
         * JSON, built and parsed every 100 ms, cost it ~3% of its CPU;
         * the router in the bench has none either). */
        fn.prod = bench_client(RD_KAFKA_PRODUCER, o.bs, &o.pprops, NULL, NULL,
                               errstr, sizeof(errstr));
        if (!fn.prod) {
            fprintf(stderr, "fanout: %s\n", errstr);
            goto out;
        }
        cp.prod = fn.prod; /* drain() serves its delivery reports */
        for (int i = 0; i < BENCH_NTYPES; i++) {
            char t[256];

            snprintf(t, sizeof(t), "%s.%s", o.dest, bench_types[i]);
            if (!(fn.rkt[i] = rd_kafka_topic_new(fn.prod, t, NULL))) {
                fprintf(stderr, "fanout: topic %s\n", t);
                goto out;
            }
        }
    } else if (copy) {
        cp.prod = bench_client(RD_KAFKA_PRODUCER, o.bs, &o.pprops, stats_cb,
                               &psb, errstr, sizeof(errstr));
        if (!cp.prod) {
            fprintf(stderr, "copy: %s\n", errstr);
            goto out;
        }
        if (!(cp.rkt = rd_kafka_topic_new(cp.prod, o.dest, NULL))) {
            fprintf(stderr, "copy: topic %s\n", o.dest);
            goto out;
        }
    }
    if (!(cons = start_consumer(&o, copy == 2 ? NULL : &csb, &rkqu)))
        goto out;
    if (copy == 2)
        got = drain(rkqu, o.count, fan_one, &fn, fn.prod, &m, &bytes);
    else
        got = drain(rkqu, o.count, copy ? copy_one : NULL, &cp, cp.prod, &m,
                    &bytes);
    if (got < o.count) {
        fprintf(stderr, "%s: %ld of %ld messages\n", what, got, o.count);
        goto out;
    }
    if (cp.prod && rd_kafka_flush(cp.prod, (int)(CHILD_TIMEOUT_S * 1000))) {
        fprintf(stderr, "copy: flush timed out\n");
        goto out;
    }
    t_last = bench_now();
    cp.errors += fn.errors; /* its delivery reports are in by now */
    settle_stats(cons, cp.prod);
    printf("result msgs=%ld bytes=%" PRIu64 " errors=%ld t_first=%.6f "
           "t_last=%.6f t10=%.6f t90=%.6f n10=%ld n90=%ld cpu10=%.6f "
           "cpu90=%.6f rx=%" PRIu64 " tx=%" PRIu64 "\n",
           got, bytes, cp.errors, m.t_first, t_last, m.t10, m.t90, m.n10, m.n90,
           m.cpu10, m.cpu90, csb.rx + psb.rx, csb.tx + psb.tx);
    fflush(stdout);
    wait_stdin_eof();
    rc = cp.errors ? 1 : 0;
out:
    if (rkqu)
        rd_kafka_queue_destroy(rkqu);
    bench_consumer_destroy(cons);
    if (cp.rkt)
        rd_kafka_topic_destroy(cp.rkt);
    for (int i = 0; i < BENCH_NTYPES; i++)
        if (fn.rkt[i])
            rd_kafka_topic_destroy(fn.rkt[i]);
    if (cp.prod)
        rd_kafka_destroy(cp.prod);
    return rc;
}

int bench_cmd_consume(int argc, char **argv)
{
    return consume_cmd(argc, argv, 0);
}

int bench_cmd_copy(int argc, char **argv)
{
    return consume_cmd(argc, argv, 1);
}

int bench_cmd_fanout(int argc, char **argv)
{
    return consume_cmd(argc, argv, 2);
}

int bench_cmd_wait(int argc, char **argv)
{
    double end = bench_now() + CHILD_TIMEOUT_S;
    bench_watch_t *w;
    child_opts_t o;
    char errstr[512];
    int64_t got = -1;

    if (parse_child_opts(argc, argv, &o))
        return 2;
    if (!(w = bench_watch_new(o.bs, o.topics, o.ntopics, errstr,
                              sizeof(errstr)))) {
        fprintf(stderr, "wait: %s\n", errstr);
        return 1;
    }
    while ((got = bench_watch_total(w)) < o.count && bench_now() < end)
        bench_sleep_ms(50);
    bench_watch_destroy(w);
    if (got < o.count) {
        fprintf(stderr, "wait: %" PRId64 " of %ld messages in %.0f s\n", got,
                o.count, CHILD_TIMEOUT_S);
        return 1;
    }
    return 0;
}
