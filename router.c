/* router.c - main(): command line, signals, lifecycle. Wires the rule
 * engine, the pipeline (routing thread) and the embedded demo cluster. */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "anomalies.h"
#include "clock.h"
#include "control.h"
#include "demo.h"
#include "dlqtool.h"
#include "log.h"
#include "metrics.h"
#include "options.h"
#include "pipeline.h"
#include "rules.h"
#include "rulestopic.h"

#define ROUTER_VERSION   "0.1.0"
#define DEMO_RULES       "examples/demo.json"
#define DEMO_SOURCE      "music.events"
#define DEMO_TYPE_PREFIX "music.type." /* examples/demo.json "typed" */
#define ANOMALY_RING     1000 /* dead letters kept for GET /anomalies */
#define PL_STATUS_TOPICS 5    /* destinations shown in the status line */

/* Everything the command line sets. */
typedef struct router_conf {
    const char *brokers;     /* -b */
    const char *group;       /* -G */
    const char *rules;       /* -r */
    const char *rules_topic; /* --rules-topic */
    double hold_warn;        /* --hold-warn, seconds */
    options_list_t topics;   /* -t: subscription instead of sources */
    options_list_t props;    /* -X */
    const char *admin;       /* --admin ADDR:PORT or "off" */
    const char *admin_token; /* --admin-token-file */
    double admin_body_max;   /* --admin-body-max, bytes */
    double health_grace;     /* --health-grace, seconds */
    int batch;               /* --batch */
    double connect_timeout;  /* --connect-timeout, seconds */
    double drain_timeout;    /* --drain-timeout, seconds */
    double stats_interval;   /* --stats-interval, seconds */
    double duration;         /* --duration, seconds, 0 = until signal */
    int exactly_once;        /* --exactly-once */
    const char *txn_id;      /* --transactional-id */
    double txn_interval;     /* --txn-interval, seconds */
    int txn_max;             /* --txn-max */
    int demo;                /* --demo */
    double demo_rate;        /* --demo-rate, events/s */
    int demo_partitions;     /* --demo-partitions */
    int verbose;             /* -v */
    int version;             /* --version */
    int help;                /* -h */
} router_conf_t;

#define OFF(f)  offsetof(router_conf_t, f)
#define STR_(x) #x
#define STR(x)  STR_(x) /* a macro's value as an option default */

static const options_def_t router_options[] = {
    {"brokers", 'b', OPT_STR, "LIST", NULL, 0, 0, OFF(brokers),
     "bootstrap brokers host:port,... (required unless --demo)"},
    {"group", 'G', OPT_STR, "ID", "router", 0, 0, OFF(group),
     "consumer group id; run more instances with the same id to scale out"},
    {"rules", 'r', OPT_STR, "FILE", NULL, 0, 0, OFF(rules),
     "rules file, JSON (required unless --rules-topic; --demo: " DEMO_RULES
     ")"},
    {"rules-topic", 0, OPT_STR, "TOPIC", NULL, 0, 0, OFF(rules_topic),
     "fleet: the group's rules live in TOPIC (one partition, compacted; "
     "created when missing); -r FILE is then only published when TOPIC "
     "has no rules for the group"},
    {"hold-warn", 0, OPT_DOUBLE, "S", "30", 1, 86400, OFF(hold_warn),
     "fleet: /healthz turns 503 when a moved partition waits longer than "
     "S seconds for the rules version its last owner used (it keeps "
     "waiting)"},
    {"topic", 't', OPT_LIST, "TOPIC", NULL, 0, 0, OFF(topics),
     "subscribe to TOPIC (or ^regex) instead of the rules' sources; "
     "repeatable"},
    {"property", 'X', OPT_LIST, "PROP=VAL", NULL, 0, 0, OFF(props),
     "librdkafka property for both clients; consumer.PROP=VAL or "
     "producer.PROP=VAL for one; repeatable"},
    {"admin", 0, OPT_STR, "ADDR:PORT", ADMIN_DEFAULT_ADDR, 0, 0, OFF(admin),
     "admin HTTP endpoint (rules, health, metrics), or \"off\""},
    {"admin-token-file", 0, OPT_STR, "FILE", NULL, 0, 0, OFF(admin_token),
     "PUT/POST on the admin endpoint need \"Authorization: Bearer "
     "<token>\" with the token in FILE; set it when ADDR is not loopback"},
    {"admin-body-max", 0, OPT_DOUBLE, "BYTES", STR(ADMIN_DEFAULT_BODY_MAX),
     1024, 1073741824, OFF(admin_body_max), "larger request bodies get 413"},
    {"health-grace", 0, OPT_DOUBLE, "S", "60", 0, 86400, OFF(health_grace),
     "/healthz turns 503 after S seconds without any assigned partition"},
    {"batch", 0, OPT_INT, "N", "1000", 1, 10000, OFF(batch),
     "messages per consume batch"},
    {"connect-timeout", 0, OPT_DOUBLE, "S", "30", 1, 3600, OFF(connect_timeout),
     "exit 1 when no broker answers within S seconds "
     "at start"},
    {"drain-timeout", 0, OPT_DOUBLE, "S", "30", 0, 3600, OFF(drain_timeout),
     "on stop or revoke, wait at most S seconds for in-flight deliveries"},
    {"stats-interval", 0, OPT_DOUBLE, "S", "0", 0, 3600, OFF(stats_interval),
     "print a status line every S seconds (0: never; --demo: 1)"},
    {"duration", 0, OPT_DOUBLE, "S", "0", 0, 1e9, OFF(duration),
     "stop cleanly after S seconds (0: run until SIGINT/SIGTERM)"},
    {"exactly-once", 0, OPT_FLAG, NULL, NULL, 0, 0, OFF(exactly_once),
     "transactional producer: routed messages and source offsets commit "
     "together (read the destinations with isolation.level=read_committed)"},
    {"transactional-id", 0, OPT_STR, "ID", NULL, 0, 0, OFF(txn_id),
     "--exactly-once: transactional.id, unique per running instance "
     "(default router-GROUP-HOSTNAME)"},
    {"txn-interval", 0, OPT_DOUBLE, "S", "1", 0.001, 600, OFF(txn_interval),
     "--exactly-once: commit a transaction at least "
     "every S seconds"},
    {"txn-max", 0, OPT_INT, "N", "100000", 1, 10000000, OFF(txn_max),
     "--exactly-once: ... or after N consumed messages"},
    {"demo", 0, OPT_FLAG, NULL, NULL, 0, 0, OFF(demo),
     "start an embedded mock cluster with generated music-app events"},
    {"demo-rate", 0, OPT_DOUBLE, "N", "2000", 0, 1e7, OFF(demo_rate),
     "--demo: events per second (0: as fast as possible)"},
    {"demo-partitions", 0, OPT_INT, "N", "4", 1, 64, OFF(demo_partitions),
     "--demo: partitions of every demo topic"},
    {"verbose", 'v', OPT_COUNT, NULL, NULL, 0, 0, OFF(verbose),
     "debug logging (info is the default)"},
    {"version", 0, OPT_FLAG, NULL, NULL, 0, 0, OFF(version),
     "print the version and exit"},
    {"help", 'h', OPT_FLAG, NULL, NULL, 0, 0, OFF(help),
     "print this help and exit"},
    {NULL, 0, 0, NULL, NULL, 0, 0, 0, NULL}};

static volatile sig_atomic_t sig_stop;   /* SIGINT / SIGTERM */
static volatile sig_atomic_t sig_reload; /* SIGHUP */

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        sig_reload = 1;
    else
        sig_stop = 1;
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: router -b BROKERS -G GROUP -r RULES.json [-X prop=val]... "
        "[options]\n"
        "       router --demo\n"
        "       router dlq stats|search|replay ... (see router dlq --help)\n"
        "Reads the source topics once, routes every message by the rules "
        "into\nsmaller topics, dead-letters anomalies. Options:\n");
    options_help(router_options, out);
}

/* Read the admin token: the first line of path, without surrounding
 * white space. Returns 0, or -1 with errstr set. */
static int read_token(const char *path, char *tok, size_t size, char *errstr,
                      size_t errstr_size)
{
    FILE *f = fopen(path, "r");
    char *s, *e;

    if (!f) {
        snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (!fgets(tok, (int)size, f))
        tok[0] = '\0';
    if (!strchr(tok, '\n') && !feof(f)) {
        /* A cut token would never match what clients send. */
        fclose(f);
        explicit_bzero(tok, size);
        snprintf(errstr, errstr_size, "%s: token longer than %zu bytes", path,
                 size - 2);
        return -1;
    }
    fclose(f);
    for (s = tok; *s == ' ' || *s == '\t'; s++)
        ;
    memmove(tok, s, strlen(s) + 1);
    for (e = tok + strlen(tok); e > tok && strchr(" \t\r\n", e[-1]); e--)
        ;
    *e = '\0';
    if (!tok[0]) {
        snprintf(errstr, errstr_size, "%s: empty token", path);
        return -1;
    }
    return 0;
}

static atomic_int routing_done; /* pipeline_run() returned */

/* pipeline_conf_t.rules_synced of a fleet. */
static int rules_synced(void *opaque, int64_t since_ms)
{
    return rulestopic_synced_since(opaque, since_ms);
}

/* Open the fleet's rules topic and read the group's rules from it (or
 * publish the rules file there first). Returns the rules with their
 * version in *version, or NULL with errstr and *code. */
static rules_set_t *fleet_start(const router_conf_t *rc, control_t *ctl,
                                rulestopic_t **rt, int64_t *version, int *code,
                                char *errstr, size_t errstr_size)
{
    char host[256], writer[320];

    if (gethostname(host, sizeof(host)))
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = '\0';
    snprintf(writer, sizeof(writer), "%s:%ld", host, (long)getpid());
    *rt =
        rulestopic_open(rc->brokers, rc->props.v, rc->props.n, rc->rules_topic,
                        rc->group, writer, 1, (int)(rc->connect_timeout * 1000),
                        code, errstr, errstr_size);
    if (!*rt)
        return NULL;
    return control_load_topic(ctl, *rt, version, code, errstr, errstr_size);
}

static void *routing_thread(void *arg)
{
    static int rc;

    rc = pipeline_run(arg);
    atomic_store(&routing_done, 1);
    return &rc;
}

/* One status line: rates since the previous snapshot, the busiest
 * destinations first. */
static void print_status(const pipeline_stats_t *now,
                         const pipeline_stats_t *prev, double secs)
{
    struct {
        const char *topic;
        double rate;
    } top[PL_STATUS_TOPICS];
    size_t ntop = 0, more = 0;
    char line[2048];
    size_t n = 0;

#define ADD(...)                                                               \
    do {                                                                       \
        int m_ = snprintf(line + n, sizeof(line) - n, __VA_ARGS__);            \
        if (m_ > 0)                                                            \
            n = n + (size_t)m_ < sizeof(line) ? n + (size_t)m_                 \
                                              : sizeof(line) - 1;              \
    } while (0)

    for (size_t i = 0; i < now->ntopics; i++) {
        uint64_t before = 0;
        double r;
        size_t j;

        for (j = 0; j < prev->ntopics; j++)
            if (!strcmp(prev->topics[j].topic, now->topics[i].topic))
                before = prev->topics[j].produced;
        r = (double)(now->topics[i].produced - before) / secs;
        /* Insertion into the top list, by rate. */
        for (j = ntop; j > 0 && top[j - 1].rate < r; j--)
            if (j < PL_STATUS_TOPICS)
                top[j] = top[j - 1];
        if (j < PL_STATUS_TOPICS) {
            top[j].topic = now->topics[i].topic;
            top[j].rate = r;
            if (ntop < PL_STATUS_TOPICS)
                ntop++;
            else
                more++;
        } else {
            more++;
        }
    }
    ADD("in %.0f/s out %.0f/s", (double)(now->consumed - prev->consumed) / secs,
        (double)(now->produced - prev->produced) / secs);
    if (now->lag >= 0)
        ADD(" lag %lld", (long long)now->lag);
    ADD(" inflight %llu |", (unsigned long long)now->inflight);
    for (size_t i = 0; i < ntop; i++)
        ADD(" %s %.0f/s", top[i].topic, top[i].rate);
    if (more)
        ADD(" (+%zu topics)", more);
    ADD(" | dead letters:");
    for (size_t i = 0; i < now->nreasons; i++)
        ADD(" %s=%llu", now->reasons[i].reason,
            (unsigned long long)now->reasons[i].n);
    if (now->nreasons == 0)
        ADD(" 0");
    if (now->txn_commits || now->txn_aborts)
        ADD(" | transactions: %llu committed, %llu aborted",
            (unsigned long long)now->txn_commits,
            (unsigned long long)now->txn_aborts);
    if (now->health[0])
        ADD(" | UNHEALTHY: %s", now->health);
#undef ADD
    printf("%s\n", line);
    fflush(stdout);
}

/* The demo's topics: the source, the dead letter, every literal
 * destination, and music.type.<type> for the "typed" route's template. */
static demo_t *start_demo(const router_conf_t *rc, const rules_set_t *rs,
                          char *errstr, size_t errstr_size)
{
    const char *topics[256];
    size_t n = 0;
    demo_conf_t dc;

    for (size_t i = 0; i < rules_topic_count(rs) && n < 256; i++)
        topics[n++] = rules_topic(rs, i);
    memset(&dc, 0, sizeof(dc));
    dc.brokers = 3;
    dc.topic = DEMO_SOURCE;
    dc.partitions = rc->demo_partitions;
    dc.rate = rc->demo_rate;
    dc.topics = topics;
    dc.ntopics = n;
    dc.type_topic_prefix = DEMO_TYPE_PREFIX;
    return demo_start(&dc, errstr, errstr_size);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !sig_stop)
        ;
}

int main(int argc, char **argv)
{
    router_conf_t rc;
    pipeline_conf_t pc;
    pipeline_stats_t st, prev;
    pipeline_t *pl = NULL;
    demo_t *demo = NULL;
    rules_set_t *rs = NULL;
    rulestopic_t *rt = NULL;
    int64_t version = 1;
    metrics_t *metrics = NULL;
    anomalies_t *anomalies = NULL;
    control_t *ctl = NULL;
    admin_t *admin = NULL;
    admin_ops_t ops;
    char token[512];
    pthread_t thr;
    struct sigaction sa;
    char errstr[1024];
    int next, exit_code = 2, started = 0, *thr_rc;
    int64_t t0, last_status;

    if (argc > 1 && !strcmp(argv[1], "dlq"))
        return dlqtool_main(argc - 2, argv + 2); /* router dlq SUBCOMMAND */
    memset(&rc, 0, sizeof(rc));
    switch (options_parse(router_options, &rc, argc, argv, &next, errstr,
                          sizeof(errstr))) {
    case -1:
        fprintf(stderr, "router: error: %s\n", errstr);
        goto out;
    case 1:
        fprintf(stderr,
                "router: error: unexpected argument \"%s\" (see "
                "--help)\n",
                argv[next]);
        goto out;
    }
    if (rc.help) {
        usage(stdout);
        exit_code = 0;
        goto out;
    }
    if (rc.version) {
        printf("router %s (librdkafka %s)\n", ROUTER_VERSION,
               rd_kafka_version_str());
        exit_code = 0;
        goto out;
    }
    log_set_level(rc.verbose ? LOG_DEBUG : LOG_INFO);
    if (rc.demo) {
        if (!rc.rules)
            rc.rules = DEMO_RULES;
        if (rc.stats_interval == 0)
            rc.stats_interval = 1;
    }
    if (!rc.rules && !rc.rules_topic) {
        fprintf(stderr, "router: error: no rules file: give -r FILE "
                        "(or --rules-topic TOPIC)\n");
        goto out;
    }
    if (rc.rules_topic && rc.demo) {
        fprintf(stderr, "router: error: --rules-topic does not go with "
                        "--demo\n");
        goto out;
    }
    if (!rc.brokers && !rc.demo) {
        fprintf(stderr, "router: error: no brokers: give -b host:port "
                        "(or --demo)\n");
        goto out;
    }
    if (!(metrics = metrics_create()) ||
        !(anomalies = anomalies_create(ANOMALY_RING)) ||
        !(ctl = control_create(rc.rules, metrics, anomalies))) {
        fprintf(stderr, "router: error: out of memory\n");
        goto out;
    }
    if (!rc.rules_topic && !(rs = control_load(ctl, errstr, sizeof(errstr)))) {
        fprintf(stderr, "router: error: %s\n", errstr);
        goto out;
    }
    if (rc.admin_token && read_token(rc.admin_token, token, sizeof(token),
                                     errstr, sizeof(errstr))) {
        fprintf(stderr, "router: error: --admin-token-file %s\n", errstr);
        goto out;
    }
    if (strcmp(rc.admin, "off")) {
        if (!rc.admin_token && strncmp(rc.admin, "127.", 4) &&
            strncmp(rc.admin, "[::1]", 5))
            log_warn("--admin %s is not on loopback and no "
                     "--admin-token-file is set: anyone who reaches it can "
                     "change the rules",
                     rc.admin);
        control_admin_ops(ctl, &ops);
        admin = admin_start(rc.admin, rc.admin_token ? token : NULL,
                            (size_t)rc.admin_body_max, &ops, errstr,
                            sizeof(errstr));
        explicit_bzero(token, sizeof(token)); /* admin keeps its own copy */
        if (!admin) {
            fprintf(stderr, "router: error: --admin %s\n", errstr);
            goto out;
        }
        log_info("admin endpoint on %s (port %d)%s", rc.admin,
                 admin_port(admin),
                 rc.admin_token ? ", token required to change rules" : "");
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL) ||
        sigaction(SIGHUP, &sa, NULL)) {
        fprintf(stderr, "router: error: sigaction: %s\n", strerror(errno));
        goto out;
    }
    signal(SIGPIPE, SIG_IGN);

    exit_code = 1;
    if (rc.demo) {
        if (!(demo = start_demo(&rc, rs, errstr, sizeof(errstr)))) {
            fprintf(stderr, "router: error: demo: %s\n", errstr);
            goto out;
        }
        if (!rc.brokers)
            rc.brokers = demo_bootstraps(demo);
        printf("router: demo cluster at %s; watch it with:\n"
               "  kcat -b %s -L\n"
               "  kcat -b %s -C -t music.play -o end\n",
               demo_bootstraps(demo), demo_bootstraps(demo),
               demo_bootstraps(demo));
        fflush(stdout);
    }

    if (rc.rules_topic) {
        int code;

        /* Before joining the group: nothing routes with older rules. */
        rs =
            fleet_start(&rc, ctl, &rt, &version, &code, errstr, sizeof(errstr));
        if (!rs) {
            fprintf(stderr, "router: error: %s\n", errstr);
            exit_code = code;
            goto out;
        }
    }

    /* GET /anomalies?scan=topic reads the cluster on its own: it works
     * from here on, while the pipeline still connects. */
    if (control_set_dlq_scan(ctl, rc.brokers, rc.props.v, rc.props.n)) {
        fprintf(stderr, "router: error: out of memory\n");
        goto out;
    }
    memset(&pc, 0, sizeof(pc));
    pc.brokers = rc.brokers;
    pc.group = rc.group;
    pc.props = rc.props.v;
    pc.nprops = rc.props.n;
    pc.topics = rc.topics.n ? rc.topics.v : NULL;
    pc.ntopics = rc.topics.n;
    pc.batch_size = rc.batch;
    pc.connect_timeout_ms = (int)(rc.connect_timeout * 1000);
    pc.drain_timeout_ms = (int)(rc.drain_timeout * 1000);
    /* Statistics feed the lag figures of the status line and /metrics. */
    pc.stats_interval_ms = rc.stats_interval > 0
                               ? (int)(rc.stats_interval * 1000)
                               : (admin ? 5000 : 0);
    pc.metrics = metrics;
    pc.anomalies = anomalies;
    pc.health_grace_ms = (int)(rc.health_grace * 1000);
    pc.exactly_once = rc.exactly_once;
    pc.transactional_id = rc.txn_id;
    pc.txn_interval_ms = (int)(rc.txn_interval * 1000);
    if (pc.txn_interval_ms < 1)
        pc.txn_interval_ms = 1;
    pc.txn_max_messages = rc.txn_max;
    pc.fleet = rt != NULL;
    pc.rules_version = version;
    pc.rules_synced = rules_synced;
    pc.rules_opaque = rt;
    pc.hold_warn_ms = (int)(rc.hold_warn * 1000);
    if (pipeline_conf_check(&pc, errstr, sizeof(errstr))) {
        fprintf(stderr, "router: error: %s\n", errstr);
        exit_code = 2;
        goto out;
    }
    pl = pipeline_create(&pc, rs, errstr, sizeof(errstr));
    rs = NULL; /* owned by the pipeline, also on failure */
    if (!pl) {
        fprintf(stderr, "router: error: %s\n", errstr);
        goto out;
    }
    control_set_pipeline(ctl, pl);
    if (rt && rulestopic_start(rt, control_on_record, ctl)) {
        fprintf(stderr, "router: error: cannot start the rules reader\n");
        goto out;
    }
    if (pthread_create(&thr, NULL, routing_thread, pl)) {
        fprintf(stderr, "router: error: cannot start the routing thread\n");
        goto out;
    }
    started = 1;
    if (rt)
        log_info("routing with rules version %lld of %s (group %s, "
                 "brokers %s)",
                 (long long)version, rc.rules_topic, rc.group, rc.brokers);
    else
        log_info("routing with %s (group %s, brokers %s)", rc.rules, rc.group,
                 rc.brokers);

    t0 = last_status = clock_ms();
    pipeline_stats(pl, &prev);
    while (!sig_stop) {
        int64_t now;

        sleep_ms(100);
        now = clock_ms();
        if (sig_reload) {
            sig_reload = 0;
            if (control_reload(ctl, errstr, sizeof(errstr)) < 0)
                log_error("SIGHUP: reload rejected, keeping the running "
                          "rules: %s",
                          errstr);
        }
        if (rc.stats_interval > 0 &&
            now - last_status >= (int64_t)(rc.stats_interval * 1000)) {
            pipeline_stats(pl, &st);
            print_status(&st, &prev, (now - last_status) / 1000.0);
            prev = st;
            last_status = now;
        }
        if (rc.duration > 0 && now - t0 >= (int64_t)(rc.duration * 1000))
            break;
        if (atomic_load(&routing_done))
            break; /* fatal error, already logged */
    }
    pipeline_stop(pl);
    if (pthread_join(thr, (void **)&thr_rc) == 0 && *thr_rc == 0)
        exit_code = 0;
    started = 0;
    pipeline_stats(pl, &st);
    log_info("stopped: consumed %llu, produced %llu, dead-lettered %llu, "
             "dropped %llu",
             (unsigned long long)st.consumed, (unsigned long long)st.produced,
             (unsigned long long)st.dead_lettered,
             (unsigned long long)st.dropped);
out:
    admin_stop(admin); /* no callback may run past this */
    if (started) {
        pipeline_stop(pl);
        pthread_join(thr, NULL);
    }
    rulestopic_close(rt); /* its reader hands rules to pl */
    pipeline_destroy(pl);
    demo_stop(demo);
    rules_destroy(rs);
    control_destroy(ctl);
    anomalies_destroy(anomalies);
    metrics_destroy(metrics);
    options_free(router_options, &rc);
    return exit_code;
}
