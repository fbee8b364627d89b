/* e2e_tool.c - the end-to-end test helper: a mock Kafka cluster, the
 * dataset producer, output verification (e2e_verify.c), committed offsets
 * and progress probes. An independent client of the router under test. */
#include "e2e.h"
#include "log.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t e2e_stop;

static void on_signal(int sig)
{
    (void)sig;
    e2e_stop = 1;
}

int e2e_stopping(void)
{
    return e2e_stop != 0;
}

double e2e_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int e2e_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!s || !*s || *s == '-')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

int e2e_opts_parse(int argc, char **argv, const e2e_opt_t *opts)
{
    const e2e_opt_t *o;
    int i;

    for (i = 1; i < argc; i++) {
        for (o = opts; o->name && strcmp(o->name, argv[i]); o++)
            ;
        if (!o->name)
            return -1;
        if (!o->str && !o->num) {
            *o->flag = 1;
            continue;
        }
        if (++i >= argc)
            return -1;
        if (o->str)
            *o->str = argv[i];
        else if (e2e_parse_u64(argv[i], o->num))
            return -1;
    }
    return 0;
}

rd_kafka_t *e2e_client_new(
    rd_kafka_type_t type, const char *brokers, const char *const *props,
    void (*dr)(rd_kafka_t *, const rd_kafka_message_t *, void *), void *opaque)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_t *rk;
    size_t i;

    if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr,
                          sizeof(errstr)) != RD_KAFKA_CONF_OK)
        goto err;
    for (i = 0; props && props[i]; i += 2)
        if (rd_kafka_conf_set(conf, props[i], props[i + 1], errstr,
                              sizeof(errstr)) != RD_KAFKA_CONF_OK)
            goto err;
    if (dr) {
        rd_kafka_conf_set_dr_msg_cb(conf, dr);
        rd_kafka_conf_set_opaque(conf, opaque);
    }
    rk = rd_kafka_new(type, conf, errstr, sizeof(errstr));
    if (!rk)
        goto err;
    return rk; /* conf now owned by rk */
err:
    log_error("client: %s", errstr);
    rd_kafka_conf_destroy(conf);
    return NULL;
}

/* ---- mock ------------------------------------------------------------ */

/* Most request errors one "errors" line may push. */
#define MOCK_MAX_ERRS 64

/* An integer argument in [lo, hi]: 0, or -1 when missing or malformed. */
static int mock_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v;

    if (!s)
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Fault injection: one command line applied to the running cluster:
 *   rtt MS                     RTT of every broker
 *   down ID / up ID            a broker goes down / comes back
 *   errors APIKEY ERR...       push request errors (one per request) for
 *                              that API key (Produce 0, OffsetCommit 8...)
 *   clear_errors APIKEY        drop the pushed errors left for that key
 *   broker_errors ID APIKEY COUNT ERR
 *                              the next COUNT requests of that key to
 *                              broker ID fail with ERR (that broker only:
 *                              the faults of one partition it leads)
 *   leader TOPIC PART ID       move a partition's leader
 *   coordinator GROUP ID       move a consumer group's coordinator
 *   topic_error TOPIC ERR      error of the topic in Metadata (0 clears)
 * New faults go here. Returns 0, or -1 when the line is not understood
 * or the cluster refuses it. Silent: mock_command() and mock_batch()
 * log. */
static int mock_apply(rd_kafka_mock_cluster_t *mc, int brokers,
                      const char *line)
{
    char buf[256], *tok[MOCK_MAX_ERRS + 2], *save = NULL, *t;
    rd_kafka_resp_err_t errs[MOCK_MAX_ERRS];
    const char *cmd;
    long a, b, c;
    int n = 0, id, i;

    if (snprintf(buf, sizeof(buf), "%s", line) >= (int)sizeof(buf))
        goto err;
    for (t = strtok_r(buf, " \t\r", &save); t && n < MOCK_MAX_ERRS + 2;
         t = strtok_r(NULL, " \t\r", &save))
        tok[n++] = t;
    if (n < 2 || t)
        goto err;
    cmd = tok[0];
    if (strcmp(cmd, "rtt") == 0 && n == 2) {
        if (mock_int(tok[1], 0, 600000, &a))
            goto err;
        for (id = 1; id <= brokers; id++)
            if (rd_kafka_mock_broker_set_rtt(mc, id, (int)a))
                goto err;
    } else if (strcmp(cmd, "down") == 0 && n == 2) {
        if (mock_int(tok[1], 1, brokers, &a) ||
            rd_kafka_mock_broker_set_down(mc, (int32_t)a))
            goto err;
    } else if (strcmp(cmd, "up") == 0 && n == 2) {
        if (mock_int(tok[1], 1, brokers, &a) ||
            rd_kafka_mock_broker_set_up(mc, (int32_t)a))
            goto err;
    } else if (strcmp(cmd, "errors") == 0 && n >= 3) {
        if (mock_int(tok[1], 0, 100, &a))
            goto err;
        for (i = 2; i < n; i++) {
            if (mock_int(tok[i], -200, 200, &b))
                goto err;
            errs[i - 2] = (rd_kafka_resp_err_t)b;
        }
        rd_kafka_mock_push_request_errors_array(mc, (int16_t)a, (size_t)(n - 2),
                                                errs);
    } else if (strcmp(cmd, "broker_errors") == 0 && n == 5) {
        long cnt;
        if (mock_int(tok[1], 1, brokers, &a) || mock_int(tok[2], 0, 100, &b) ||
            mock_int(tok[3], 1, 1000000, &cnt) ||
            mock_int(tok[4], -200, 200, &c))
            goto err;
        for (; cnt > 0; cnt--)
            if (rd_kafka_mock_broker_push_request_error_rtts(
                    mc, (int32_t)a, (int16_t)b, 1, (rd_kafka_resp_err_t)c, 0))
                goto err;
    } else if (strcmp(cmd, "clear_errors") == 0 && n == 2) {
        if (mock_int(tok[1], 0, 100, &a))
            goto err;
        rd_kafka_mock_clear_request_errors(mc, (int16_t)a);
    } else if (strcmp(cmd, "leader") == 0 && n == 4) {
        if (mock_int(tok[2], 0, 100000, &a) ||
            mock_int(tok[3], -1, brokers, &b) ||
            rd_kafka_mock_partition_set_leader(mc, tok[1], (int32_t)a,
                                               (int32_t)b))
            goto err;
    } else if (strcmp(cmd, "coordinator") == 0 && n == 3) {
        if (mock_int(tok[2], 1, brokers, &a) ||
            rd_kafka_mock_coordinator_set(mc, "group", tok[1], (int32_t)a))
            goto err;
    } else if (strcmp(cmd, "topic_error") == 0 && n == 3) {
        if (mock_int(tok[2], -200, 200, &a))
            goto err;
        rd_kafka_mock_topic_set_error(mc, tok[1], (rd_kafka_resp_err_t)a);
    } else {
        goto err;
    }
    return 0;
err:
    return -1;
}

/* Log the outcome of one command (scenarios wait for these lines). */
static void mock_log(const char *line, int rc, double secs)
{
    if (rc)
        log_error("mock: cannot apply \"%s\"", line);
    else
        log_info("mock: applied \"%s\" (%.0f ms)", line, secs * 1000);
}

/* Apply one command line and log it. Returns 0 or -1. */
static int mock_command(rd_kafka_mock_cluster_t *mc, int brokers,
                        const char *line)
{
    double t0 = e2e_now();
    int rc = mock_apply(mc, brokers, line);

    mock_log(line, rc, e2e_now() - t0);
    return rc;
}

/* Most command lines applied together. */
#define MOCK_BATCH 256

/* One command of a batch applied on its own thread. */
typedef struct mock_job {
    rd_kafka_mock_cluster_t *mc;
    int brokers;
    char line[256];
    int rc;
    double secs;
    pthread_t thr;
    int started;
} mock_job_t;

static void *mock_job_run(void *arg)
{
    mock_job_t *j = arg;
    double t0 = e2e_now();

    j->rc = mock_apply(j->mc, j->brokers, j->line);
    j->secs = e2e_now() - t0;
    return NULL;
}

/* 1 when the n jobs may run at once: all "leader" moves of distinct
 * partitions (any other command, or two moves of one partition, keep
 * their order). */
static int mock_parallel(const mock_job_t *jobs, size_t n)
{
    size_t i, k, li, lk;

    for (i = 0; i < n; i++) {
        if (strncmp(jobs[i].line, "leader ", 7))
            return 0;
        li = strcspn(jobs[i].line + 7, " ") + 7;
        li += strcspn(jobs[i].line + li + 1, " ") + 1; /* "leader T P" */
        for (k = 0; k < i; k++) {
            lk = strcspn(jobs[k].line + 7, " ") + 7;
            lk += strcspn(jobs[k].line + lk + 1, " ") + 1;
            if (li == lk && !strncmp(jobs[i].line, jobs[k].line, li))
                return 0;
        }
    }
    return 1;
}

/* Apply the n command lines of jobs, in order, or all at once when
 * mock_parallel() allows it: librdkafka 2.0.2's mock thread sometimes
 * takes a control request only at its next 1 s wake-up, so a scenario
 * moving 48 leaders one at a time waited up to 10 s. Logs each line in
 * order. */
static void mock_batch(mock_job_t *jobs, size_t n)
{
    size_t i;

    if (n > 1 && mock_parallel(jobs, n)) {
        for (i = 0; i < n; i++)
            jobs[i].started =
                pthread_create(&jobs[i].thr, NULL, mock_job_run, &jobs[i]) == 0;
        for (i = 0; i < n; i++) {
            if (jobs[i].started)
                pthread_join(jobs[i].thr, NULL);
            else
                mock_job_run(&jobs[i]);
            mock_log(jobs[i].line, jobs[i].rc, jobs[i].secs);
        }
        return;
    }
    for (i = 0; i < n; i++)
        mock_command(jobs[i].mc, jobs[i].brokers, jobs[i].line);
}

static int write_portfile(const char *path, const char *bs)
{
    char tmp[4096];
    FILE *f;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -1;
    f = fopen(tmp, "w");
    if (!f)
        return -1;
    if (fprintf(f, "%s\n", bs) < 0) {
        fclose(f);
        return -1;
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -1;
    return 0;
}

/* One topic the mock cluster must create. */
typedef struct mock_topic {
    char name[250];
    int parts;
    rd_kafka_mock_cluster_t *mc;
    int replicas;
    rd_kafka_resp_err_t err;
    pthread_t thr;
    int started; /* thr runs */
} mock_topic_t;

static void *topic_thread(void *arg)
{
    mock_topic_t *t = arg;

    t->err = rd_kafka_mock_topic_create(t->mc, t->name, t->parts, t->replicas);
    return NULL;
}

/* Create the topics, in parallel: librdkafka 2.0.2's mock thread sometimes
 * notices a control request only at its next 1 s wake-up; one at a time,
 * 21 topics took up to 8 s. Returns 0, or -1 (logged). */
static int create_topics(rd_kafka_mock_cluster_t *mc, int brokers,
                         mock_topic_t *ts, size_t n)
{
    double t0 = e2e_now();
    size_t i;
    int rc = 0;

    for (i = 0; i < n; i++) {
        ts[i].mc = mc;
        ts[i].replicas = brokers < 3 ? brokers : 3;
        ts[i].started =
            pthread_create(&ts[i].thr, NULL, topic_thread, &ts[i]) == 0;
        if (!ts[i].started)
            topic_thread(&ts[i]);
    }
    for (i = 0; i < n; i++) {
        if (ts[i].started)
            pthread_join(ts[i].thr, NULL);
        if (ts[i].err) {
            log_error("mock: topic %s: %s", ts[i].name,
                      rd_kafka_err2str(ts[i].err));
            rc = -1;
        }
    }
    log_debug("mock: %zu topic(s) created in %.3f s", n, e2e_now() - t0);
    return rc;
}

static int add_topic(mock_topic_t *ts, size_t *n, const char *name, int parts)
{
    if (*n >= 256 || strlen(name) >= sizeof(ts->name) || parts < 1) {
        log_error("mock: bad topic %s:%d (or too many)", name, parts);
        return -1;
    }
    snprintf(ts[*n].name, sizeof(ts[*n].name), "%s", name);
    ts[*n].parts = parts;
    (*n)++;
    return 0;
}

static int cmd_mock(int argc, char **argv)
{
    static const char *const quiet[] = {"log_level", "4", NULL, NULL};
    const char *portfile = NULL;
    int brokers = 3, use_stdin = 1, rc = 1, i, rtt = 0;
    rd_kafka_mock_cluster_t *mc = NULL;
    rd_kafka_t *rk = NULL;
    mock_topic_t *ts = calloc(256, sizeof(*ts));
    mock_job_t *jobs = calloc(MOCK_BATCH, sizeof(*jobs));
    size_t njobs = 0;
    char line[256];
    size_t linelen = 0, nts = 0;
    const char *bs;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--die-with-parent") == 0) {
            if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() == 1)
                return 1;
        }
    }
    rk = e2e_client_new(RD_KAFKA_PRODUCER, "", quiet, NULL, NULL);
    if (!rk || !ts || !jobs)
        goto out;
    for (i = 1; i < argc; i++)
        if (strcmp(argv[i], "--brokers") == 0 && i + 1 < argc)
            brokers = atoi(argv[i + 1]);
    if (brokers < 1 || brokers > 16) {
        log_error("mock: --brokers must be 1..16");
        rc = 2;
        goto out;
    }
    log_debug("mock: creating the cluster");
    mc = rd_kafka_mock_cluster_new(rk, brokers);
    if (!mc) {
        log_error("mock: cannot create the mock cluster");
        goto out;
    }
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--brokers") == 0 && v) {
            i++;
        } else if (strcmp(a, "--topic") == 0 && v) {
            char name[256];
            int parts = 0;
            if (sscanf(v, "%255[^:]:%d", name, &parts) != 2 ||
                add_topic(ts, &nts, name, parts)) {
                log_error("mock: --topic wants NAME:PARTITIONS, not %s", v);
                rc = 2;
                goto out;
            }
            i++;
        } else if (strcmp(a, "--e2e-topics") == 0) {
            size_t t;
            for (t = 0; t < e2e_topic_count; t++)
                if (add_topic(ts, &nts, e2e_topics[t].name,
                              e2e_topics[t].partitions))
                    goto out;
        } else if (strcmp(a, "--portfile") == 0 && v) {
            portfile = v;
            i++;
        } else if (strcmp(a, "--rtt") == 0 && v) {
            rtt = atoi(v);
            i++;
        } else if (strcmp(a, "--no-stdin") == 0) {
            use_stdin = 0;
        } else if (strcmp(a, "--die-with-parent") != 0) {
            log_error("mock: unknown argument %s", a);
            rc = 2;
            goto out;
        }
    }
    if (create_topics(mc, brokers, ts, nts))
        goto out;
    if (rtt > 0) {
        snprintf(line, sizeof(line), "rtt %d", rtt);
        if (mock_command(mc, brokers, line))
            goto out;
    }
    bs = rd_kafka_mock_cluster_bootstraps(mc);
    printf("%s\n", bs);
    fflush(stdout);
    if (portfile && write_portfile(portfile, bs)) {
        log_error("mock: cannot write %s: %s", portfile, strerror(errno));
        goto out;
    }
    log_info("mock: %d broker(s) at %s", brokers, bs);
    /* Run until a signal, or stdin closes; stdin lines are faults, the
     * lines that came together applied as one batch. */
    while (!e2e_stop) {
        struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
        char c;
        ssize_t r;
        if (!use_stdin) {
            sleep_ms(200);
            continue;
        }
        if (poll(&pfd, 1, njobs ? 0 : 200) <= 0) {
            mock_batch(jobs, njobs); /* nothing more came: apply */
            njobs = 0;
            continue;
        }
        r = read(STDIN_FILENO, &c, 1);
        if (r == 0)
            break;
        if (r < 0)
            continue;
        if (c != '\n') {
            if (linelen < sizeof(line) - 1)
                line[linelen++] = c;
            continue;
        }
        line[linelen] = '\0';
        linelen = 0;
        if (!line[0])
            continue;
        if (njobs == MOCK_BATCH) {
            mock_batch(jobs, njobs);
            njobs = 0;
        }
        jobs[njobs].mc = mc;
        jobs[njobs].brokers = brokers;
        snprintf(jobs[njobs].line, sizeof(jobs[njobs].line), "%s", line);
        njobs++;
    }
    mock_batch(jobs, njobs);
    rc = 0;
out:
    free(ts);
    free(jobs);
    if (mc)
        rd_kafka_mock_cluster_destroy(mc);
    if (rk)
        rd_kafka_destroy(rk);
    return rc;
}

/* ---- produce --------------------------------------------------------- */

typedef struct produce_state {
    uint64_t delivered; /* acknowledged */
    uint64_t failed;    /* permanently failed */
} produce_state_t;

static void produce_dr(rd_kafka_t *rk, const rd_kafka_message_t *rkm,
                       void *opaque)
{
    produce_state_t *ps = opaque;

    (void)rk;
    if (rkm->err) {
        if (ps->failed++ < 5)
            log_error("produce: delivery failed: %s",
                      rd_kafka_err2str(rkm->err));
    } else {
        ps->delivered++;
    }
}

/* Partition count of topic, -1 (logged) when unknown. */
static int topic_partitions(rd_kafka_t *rk, const char *topic)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t err;
    int parts = -1;

    if (!rkt)
        return -1;
    err = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    if (err)
        log_error("metadata of %s: %s", topic, rd_kafka_err2str(err));
    else if (md->topic_cnt == 1 && !md->topics[0].err)
        parts = md->topics[0].partition_cnt;
    else
        log_error("metadata of %s: %s", topic,
                  md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "?");
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return parts;
}

static int cmd_produce(int argc, char **argv)
{
    static const char *const props[] = {
        "enable.idempotence",           "true",   "linger.ms", "5",
        "queue.buffering.max.messages", "200000", NULL};
    const char *brokers = NULL, *topic = E2E_SOURCE_TOPIC;
    uint64_t count = 0, seed = 42, from = 0, n;
    const e2e_opt_t opts[] = {
        {"-b", &brokers, NULL, NULL},    {"-t", &topic, NULL, NULL},
        {"--count", NULL, &count, NULL}, {"--seed", NULL, &seed, NULL},
        {"--from", NULL, &from, NULL},   {NULL, NULL, NULL, NULL}};
    produce_state_t ps = {0, 0};
    rd_kafka_t *rk = NULL;
    e2e_msg_t *m = NULL;
    double t0 = e2e_now();
    int rc = 1, parts;

    if (e2e_opts_parse(argc, argv, opts) || !brokers || !count || from >= count)
        goto usage;
    rk = e2e_client_new(RD_KAFKA_PRODUCER, brokers, props, produce_dr, &ps);
    if (!rk)
        goto out;
    parts = topic_partitions(rk, topic);
    if (parts != E2E_SOURCE_PARTITIONS) {
        log_error("produce: %s has %d partitions, the dataset needs %d", topic,
                  parts, E2E_SOURCE_PARTITIONS);
        goto out;
    }
    m = malloc(sizeof(*m));
    if (!m)
        goto out;
    for (n = from; n < count && !e2e_stop; n++) {
        rd_kafka_headers_t *hdrs;
        rd_kafka_resp_err_t err;
        size_t h;

        e2e_gen(seed, n, m);
        hdrs = rd_kafka_headers_new(m->nhdrs);
        for (h = 0, err = 0; h < m->nhdrs && !err; h++)
            err =
                rd_kafka_header_add(hdrs, m->hdrs[h].name, -1, m->hdrs[h].value,
                                    (ssize_t)m->hdrs[h].len);
        while (!err) {
            err = rd_kafka_producev(
                rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(m->partition),
                RD_KAFKA_V_KEY(m->key_null ? NULL : m->key, m->key_len),
                RD_KAFKA_V_VALUE(m->value, m->value_len),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_TIMESTAMP(m->timestamp), RD_KAFKA_V_HEADERS(hdrs),
                RD_KAFKA_V_END);
            if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                break;
            rd_kafka_poll(rk, 100); /* make room, then retry */
            err = RD_KAFKA_RESP_ERR_NO_ERROR;
        }
        if (err) {
            rd_kafka_headers_destroy(hdrs); /* not taken on failure */
            log_error("produce: message %llu: %s", (unsigned long long)n,
                      rd_kafka_err2str(err));
            goto out;
        }
        rd_kafka_poll(rk, 0);
    }
    if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        log_error("produce: %d message(s) still in flight after 60 s",
                  rd_kafka_outq_len(rk));
        goto out;
    }
    if (ps.failed || ps.delivered != count - from) {
        log_error("produce: %llu of %llu delivered, %llu failed",
                  (unsigned long long)ps.delivered,
                  (unsigned long long)(count - from),
                  (unsigned long long)ps.failed);
        goto out;
    }
    printf("produce: messages %llu..%llu to %s in %.1f s\n",
           (unsigned long long)from, (unsigned long long)count - 1, topic,
           e2e_now() - t0);
    rc = 0;
out:
    free(m);
    if (rk)
        rd_kafka_destroy(rk);
    return rc;
usage:
    fprintf(stderr, "usage: e2e_tool produce -b BROKERS [-t TOPIC] --count N"
                    " [--from I] [--seed S]\n");
    return 2;
}

/* ---- committed ------------------------------------------------------- */

static int cmd_committed(int argc, char **argv)
{
    const char *brokers = NULL, *group = NULL, *topic = NULL;
    const char *props[] = {"group.id", NULL, "enable.auto.commit",
                           "false",    NULL, NULL};
    uint64_t wait = 0;
    const e2e_opt_t opts[] = {{"-b", &brokers, NULL, NULL},
                              {"-G", &group, NULL, NULL},
                              {"-t", &topic, NULL, NULL},
                              {"--wait", NULL, &wait, NULL},
                              {NULL, NULL, NULL, NULL}};
    rd_kafka_topic_partition_list_t *tp = NULL;
    rd_kafka_t *rk = NULL;
    double deadline;
    int rc = 1, i, parts, at_end = 0;

    if (e2e_opts_parse(argc, argv, opts) || !brokers || !group || !topic)
        goto usage;
    props[1] = group;
    rk = e2e_client_new(RD_KAFKA_CONSUMER, brokers, props, NULL, NULL);
    if (!rk)
        goto out;
    parts = topic_partitions(rk, topic);
    if (parts < 1)
        goto out;
    deadline = e2e_now() + (double)wait;
    tp = rd_kafka_topic_partition_list_new(parts);
    for (i = 0; i < parts; i++)
        rd_kafka_topic_partition_list_add(tp, topic, i);
    for (;;) {
        rd_kafka_resp_err_t err = rd_kafka_committed(rk, tp, 10000);
        int last = e2e_now() >= deadline || e2e_stop;
        at_end = !err;
        if (err)
            log_error("committed: %s", rd_kafka_err2str(err));
        for (i = 0; !err && i < parts; i++) {
            rd_kafka_topic_partition_t *p = &tp->elems[i];
            int64_t lo = 0, hi = 0;
            if (p->err || rd_kafka_query_watermark_offsets(rk, topic, i, &lo,
                                                           &hi, 10000)) {
                at_end = 0;
                continue;
            }
            /* No commit is fine only for a partition with nothing in it. */
            if (p->offset < 0 ? hi != lo : p->offset != hi)
                at_end = 0;
            if (at_end || last || !wait)
                printf("committed: %s [%d] group %s committed %lld high "
                       "%lld lag %lld\n",
                       topic, i, group, (long long)p->offset, (long long)hi,
                       (long long)(hi - (p->offset < 0 ? lo : p->offset)));
        }
        if (at_end || last)
            break;
        sleep_ms(300);
    }
    printf("committed: %s\n", at_end ? "at end" : "NOT at end");
    rc = at_end ? 0 : 1;
out:
    if (tp)
        rd_kafka_topic_partition_list_destroy(tp);
    if (rk)
        rd_kafka_destroy(rk);
    return rc;
usage:
    fprintf(stderr, "usage: e2e_tool committed -b BROKERS -G GROUP -t TOPIC"
                    " [--wait SEC]\n");
    return 2;
}

/* ---- progress -------------------------------------------------------- */

/* Sum of the high watermarks of every topic but the source and internal
 * ones: what the router produced so far (duplicates included). -1 on
 * error. */
static int64_t output_total(rd_kafka_t *rk, const char *source)
{
    const struct rd_kafka_metadata *md = NULL;
    int64_t total = 0;
    int t, p;

    if (rd_kafka_metadata(rk, 1, NULL, &md, 5000))
        return -1;
    for (t = 0; t < md->topic_cnt && total >= 0; t++) {
        const struct rd_kafka_metadata_topic *mt = &md->topics[t];
        if (strcmp(mt->topic, source) == 0 || strncmp(mt->topic, "__", 2) == 0)
            continue;
        for (p = 0; p < mt->partition_cnt; p++) {
            int64_t lo, hi;
            if (rd_kafka_query_watermark_offsets(rk, mt->topic, p, &lo, &hi,
                                                 5000)) {
                total = -1;
                break;
            }
            total += hi;
        }
    }
    rd_kafka_metadata_destroy(md);
    return total;
}

/* Wait until the outputs hold --until messages. --stall gives up when
 * they stopped growing for that long, counting only once they moved during
 * this call (a restarted router first has to join its group). Prints the
 * last total; exit 0 when reached, 1 on timeout, 3 on a stall. */
static int cmd_progress(int argc, char **argv)
{
    const char *brokers = NULL, *source = E2E_SOURCE_TOPIC;
    uint64_t until = 0, timeout = 60, stall = 0, interval = 50;
    const e2e_opt_t opts[] = {{"-b", &brokers, NULL, NULL},
                              {"--source", &source, NULL, NULL},
                              {"--until", NULL, &until, NULL},
                              {"--timeout", NULL, &timeout, NULL},
                              {"--stall", NULL, &stall, NULL},
                              {"--interval-ms", NULL, &interval, NULL},
                              {NULL, NULL, NULL, NULL}};
    int64_t total = -1, prev = -1;
    double t0 = e2e_now(), changed = t0;
    rd_kafka_t *rk;
    int rc = 1, moved = 0;

    if (e2e_opts_parse(argc, argv, opts) || !brokers)
        goto usage;
    rk = e2e_client_new(RD_KAFKA_PRODUCER, brokers, NULL, NULL, NULL);
    if (!rk)
        return 1;
    for (;;) {
        double now = e2e_now();
        total = output_total(rk, source);
        if (total >= 0 && prev >= 0 && total != prev) {
            moved = 1;
            changed = now;
        }
        if (total >= 0)
            prev = total;
        if (!until || (total >= 0 && (uint64_t)total >= until)) {
            rc = 0;
            break;
        }
        if (e2e_stop || now - t0 >= (double)timeout) {
            log_warn("progress: timed out at %lld of %llu", (long long)total,
                     (unsigned long long)until);
            break;
        }
        if (stall && moved && now - changed >= (double)stall) {
            log_warn("progress: no progress for %llu s at %lld of %llu",
                     (unsigned long long)stall, (long long)total,
                     (unsigned long long)until);
            rc = 3;
            break;
        }
        sleep_ms((int)interval);
    }
    printf("%lld\n", (long long)total);
    rd_kafka_destroy(rk);
    return rc;
usage:
    fprintf(stderr, "usage: e2e_tool progress -b BROKERS [--until N] "
                    "[--timeout SEC] [--stall SEC] [--interval-ms MS] "
                    "[--source TOPIC]\n");
    return 2;
}

/* ---- expect, topics, selftest ---------------------------------------- */

static int cmd_expect(int argc, char **argv)
{
    uint64_t count = 0, seed = 42, n, total = 0;
    uint64_t per_topic[64] = {0};
    int only_total = 0;
    const e2e_opt_t opts[] = {{"--count", NULL, &count, NULL},
                              {"--seed", NULL, &seed, NULL},
                              {"--total", NULL, NULL, &only_total},
                              {NULL, NULL, NULL, NULL}};
    e2e_msg_t *m;
    size_t t;

    if (e2e_opts_parse(argc, argv, opts) || !count)
        goto usage;
    m = malloc(sizeof(*m));
    if (!m)
        return 1;
    for (n = 0; n < count; n++) {
        e2e_gen(seed, n, m);
        for (t = 0; t < m->nouts; t++)
            per_topic[m->outs[t].topic]++;
        total += m->nouts;
    }
    free(m);
    if (only_total) {
        printf("%llu\n", (unsigned long long)total);
        return 0;
    }
    for (t = 1; t < e2e_topic_count; t++)
        printf("%-20s %llu\n", e2e_topics[t].name,
               (unsigned long long)per_topic[t]);
    printf("expected=%llu\n", (unsigned long long)total);
    return 0;
usage:
    fprintf(stderr, "usage: e2e_tool expect --count N [--seed S] "
                    "[--total]\n");
    return 2;
}

static int cmd_topics(int argc, char **argv)
{
    size_t t;

    (void)argc;
    (void)argv;
    for (t = 0; t < e2e_topic_count; t++)
        printf("%s:%d\n", e2e_topics[t].name, e2e_topics[t].partitions);
    return 0;
}

static const char usage_text[] =
    "usage: e2e_tool COMMAND [options]\n"
    "  mock --brokers N [--topic NAME:PARTS]... [--e2e-topics]\n"
    "       [--portfile F] [--rtt MS] [--no-stdin] [--die-with-parent]\n"
    "      run a mock cluster until SIGTERM/SIGINT or stdin EOF; stdin\n"
    "      lines inject faults: \"rtt MS\", \"down ID\", \"up ID\",\n"
    "      \"errors APIKEY ERR...\", \"clear_errors APIKEY\",\n"
    "      \"broker_errors ID APIKEY COUNT ERR\",\n"
    "      \"leader TOPIC PART ID\", \"coordinator GROUP ID\",\n"
    "      \"topic_error TOPIC ERR\"\n"
    "  produce -b BS [-t TOPIC] --count N [--from I] [--seed S]\n"
    "      messages I..N-1 of the dataset (all of them by default)\n"
    "  verify -b BS --count N [--seed S] [--timeout SEC] [--allow-dups]\n"
    "         [--rules-version V] [--max-report K]\n"
    "         [--fail-topic TOPIC [--fail-detail TEXT]]\n"
    "      with --fail-topic, the outputs to TOPIC are expected as\n"
    "      produce_failed dead letters (router.detail holding TEXT)\n"
    "  committed -b BS -G GROUP -t TOPIC [--wait SEC]\n"
    "  progress -b BS [--until N] [--timeout SEC] [--stall SEC]\n"
    "  expect --count N [--seed S] [--total]\n"
    "  emulate [--once] -b BS -G GROUP [--count N] [--seed S]\n"
    "          [--defect KIND]\n"
    "      stand-in router (from the dataset, not the rules), to test\n"
    "      verify and the scripts; runs until SIGTERM/SIGINT, or with\n"
    "      --once reads the source once (assigned, not subscribed; it\n"
    "      still commits) and exits\n"
    "  topics      list the test topics as NAME:PARTITIONS\n"
    "  selftest    check murmur2 and the dataset generator\n";

static int cmd_selftest(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return e2e_selftest();
}

/* The subcommands: argc/argv start at the name; return the exit code. */
static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} cmds[] = {
    {"mock", cmd_mock},           {"produce", cmd_produce},
    {"verify", e2e_cmd_verify},   {"emulate", e2e_cmd_emulate},
    {"committed", cmd_committed}, {"progress", cmd_progress},
    {"expect", cmd_expect},       {"topics", cmd_topics},
    {"selftest", cmd_selftest},
};

int main(int argc, char **argv)
{
    struct sigaction sa;
    const char *cmd = argc > 1 ? argv[1] : "";
    size_t i;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
        return 1;
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0); /* interleave with the log lines */
    if (getenv("E2E_DEBUG"))
        log_set_level(LOG_DEBUG);
    for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(cmd, cmds[i].name) == 0)
            return cmds[i].run(argc - 1, argv + 1);
    fputs(usage_text, stderr);
    return 2;
}
