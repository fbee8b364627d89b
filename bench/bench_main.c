/* bench_main.c - router-bench: the benchmark harness of `make bench`. It
 * starts a librdkafka mock cluster in a child process, preloads a backlog,
 * measures the baselines (consume-only, produce-only, kcat copy, C copy)
 * and the real router binary (as its own process, at-least-once and with
 * --exactly-once) on the same backlog,
 * then prints a Markdown table, writes CSV and PNG plots (bench_report.c).
 *
 *   router-bench [--quick] [options]      see usage() or bench/README.md
 *   router-bench mock|produce|consume|copy ...   internal child processes
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_run.h"

static void on_signal(int sig)
{
    (void)sig;
    bench_stop = 1;
}

/* ---- one backlog ------------------------------------------------------- */

/* Mark r measured when ok and its window holds messages, and fill its
 * rates from the window (win_msgs in secs, cpu_s). */
static void finish(bench_result_t *r, int ok)
{
    r->ok = ok && r->secs > 0 && r->win_msgs > 0;
    if (ok && !r->ok)
        bench_say("%s: the 10%%..90%% window was too short to time", r->tool);
    if (!r->ok)
        return;
    r->msgs_s = r->win_msgs / r->secs;
    r->mb_s = r->msgs_s * (r->size + BENCH_KEY_LEN) / 1e6;
    r->cpu_per_m = r->cpu_s / (r->win_msgs / 1e6);
}

/* One measurement of a backlog, repeated b->reps times. */
typedef enum {
    JOB_CONSUME,
    JOB_PRODUCE,
    JOB_COPY,
    JOB_COPY_C,
    JOB_FANOUT,
    JOB_ROUTER,
    JOB_EOS,
    JOB_COMPARE,
    JOB_DFLT
} job_kind_t;

typedef struct job {
    job_kind_t kind;
    const char *tool; /* its name in the results */
    int rules;        /* router jobs: routes in the rule set */
} job_t;

/* The baselines (5), then up to 4 router runs per rule set (router,
 * router-eos, compare, router-dflt: --rules may name 100 more than once). */
#define MAX_JOBS (5 + 4 * BENCH_MAX_RULESETS)

/* Run job j once (repetition rep) into r. Returns 0, or -1. */
static int run_job(bench_t *b, bench_group_t *g, const job_t *j, int rep,
                   bench_result_t *r)
{
    const char *src = BENCH_SRC_TOPIC;
    int full = rep == 0 ? RUN_FULL : 0;

    switch (j->kind) {
    case JOB_CONSUME:
        return bench_run_consume(b, &src, 1, g->msgs, r, "consume");
    case JOB_PRODUCE:
        return bench_run_produce(b, g, r);
    case JOB_COPY:
        return bench_run_copy(b, g, r);
    case JOB_COPY_C:
        return bench_run_copy_c(b, g, r);
    case JOB_FANOUT:
        return bench_run_fanout(b, g, r);
    case JOB_ROUTER:
        return bench_run_router(b, g, r, b->router, full);
    case JOB_EOS:
        return bench_run_router(b, g, r, b->router, full | RUN_EXACTLY_ONCE);
    case JOB_COMPARE:
        return bench_run_router(b, g, r, b->compare, full);
    case JOB_DFLT:
        return bench_run_router(b, g, r, b->router, RUN_OWN_DEFAULTS);
    }
    return -1;
}

static int cmp_rate(const void *x, const void *y)
{
    const bench_result_t *a = x, *c = y;

    return a->msgs_s < c->msgs_s ? -1 : a->msgs_s > c->msgs_s;
}

/* The reported result of n repetitions (s[0] is the first): the one with
 * the median msgs/s, with the first one's live latency and fan-out bytes
 * (only the first run measures them). */
static void summarize(bench_result_t *s, int n, bench_result_t *out)
{
    bench_result_t ok[16];
    int k = 0;

    for (int i = 0; i < n && k < 16; i++)
        if (s[i].ok)
            ok[k++] = s[i];
    if (k == 0) {
        *out = s[0];
        return;
    }
    qsort(ok, (size_t)k, sizeof(ok[0]), cmp_rate);
    *out = ok[k / 2];
    out->reps = k;
    out->msgs_s_min = ok[0].msgs_s;
    out->msgs_s_max = ok[k - 1].msgs_s;
    if (s[0].ok) {
        out->p50 = s[0].p50;
        out->p99 = s[0].p99;
        out->pmax = s[0].pmax;
        out->rx = s[0].rx;
        out->tx = s[0].tx;
        out->srx = s[0].srx;
        out->stx = s[0].stx;
        out->routed_rw = s[0].routed_rw;
        out->readback = s[0].readback;
    }
}

static int run_group(bench_t *b, bench_group_t *g)
{
    static bench_result_t samples[MAX_JOBS][16];
    job_t jobs[MAX_JOBS];
    bench_result_t *consume = NULL;
    int nj = 0, reps = b->reps < 1 ? 1 : b->reps > 16 ? 16 : b->reps;
    double mock_cpu;
    int rc = -1;

    bench_say("== backlog: %d partitions, %d B events, %ld messages", g->parts,
              g->size, g->msgs);
    jobs[nj++] = (job_t){JOB_CONSUME, "consume", 0};
    jobs[nj++] = (job_t){JOB_PRODUCE, "produce", 0};
    jobs[nj++] = (job_t){JOB_COPY, "copy", 0};
    if (!b->no_copy_c)
        jobs[nj++] = (job_t){JOB_COPY_C, "copy-c", 0};
    jobs[nj++] = (job_t){JOB_FANOUT, "copy-fanout", 0};
    for (int i = 0; i < g->nrules; i++) {
        jobs[nj++] = (job_t){JOB_ROUTER, "router", g->rules[i]};
        /* Right after its at-least-once run: the pair alternates. */
        if (g->base && g->rules[i] == BENCH_BASE_RULES && !b->no_eos)
            jobs[nj++] = (job_t){JOB_EOS, "router-eos", g->rules[i]};
        if (b->compare)
            jobs[nj++] = (job_t){JOB_COMPARE, "compare", g->rules[i]};
        if (g->base && g->rules[i] == BENCH_BASE_RULES && !b->no_untuned)
            jobs[nj++] = (job_t){JOB_DFLT, "router-dflt", g->rules[i]};
    }
    if (bench_mock_start(b))
        return -1;
    if (bench_topic_create(b, BENCH_SRC_TOPIC, g->parts) ||
        bench_run_preload(b, g))
        goto out;
    /* Repetitions interleaved, so that a noisy moment of the box does not
     * hit every run of one tool, in reverse order every other time, so that
     * no tool always follows the same one (a run is slower right after a
     * router run: about 10% in A/A tests). */
    for (int rep = 0; rep < reps && !bench_stop; rep++)
        for (int k = 0; k < nj && !bench_stop; k++) {
            int j = rep % 2 ? nj - 1 - k : k;
            bench_result_t *r = &samples[j][rep];

            memset(r, 0, sizeof(*r));
            r->group = (int)(g - b->groups);
            r->parts = g->parts;
            r->size = g->size;
            r->rules = jobs[j].rules;
            r->msgs = g->msgs;
            r->p50 = r->p99 = r->pmax = -1;
            /* Not measured until a run says otherwise. */
            r->cpu_total_s = r->mock_util = NAN;
            snprintf(r->tool, sizeof(r->tool), "%s", jobs[j].tool);
            bench_say("%s%s%.0d (run %d of %d)", jobs[j].tool,
                      jobs[j].rules ? ", rules " : "", jobs[j].rules, rep + 1,
                      reps);
            finish(r, run_job(b, g, &jobs[j], rep, r) == 0);
            if (!r->ok) {
                b->failures++;
                bench_say("%s failed (logs in %s)", jobs[j].tool, b->work);
            }
        }
    for (int j = 0; j < nj && b->nres < BENCH_MAX_RESULTS; j++) {
        bench_result_t *r = &b->res[b->nres++];

        summarize(samples[j], reps, r);
        if (jobs[j].kind == JOB_CONSUME)
            consume = r;
        /* Only from counters that all were read (0: unknown). */
        if ((jobs[j].kind == JOB_ROUTER || jobs[j].kind == JOB_EOS) && r->ok &&
            consume && consume->ok && consume->rx + consume->tx &&
            r->routed_rw && r->readback) {
            r->direct = (uint64_t)BENCH_NTYPES * (consume->rx + consume->tx);
            r->fanout =
                (double)r->direct / (double)(r->routed_rw + r->readback);
        }
    }
    rc = 0;
out:
    mock_cpu = bench_mock_stop(b);
    bench_say("mock cluster used %.1f CPU s for this backlog", mock_cpu);
    return rc;
}

/* ---- options ----------------------------------------------------------- */

/* The default consumer and producer settings of every tool: the router's
 * own defaults made explicit (so the baselines get the same), plus the
 * tuning the bench showed (bench/README.md). */
static const char *const default_cprops[] = {
    "fetch.wait.max.ms=10", /* the mock: no early wake-up */
    "queued.max.messages.kbytes=131072",
    "queued.min.messages=1000000",
    "fetch.max.bytes=52428800",
    "max.partition.fetch.bytes=1048576",
    NULL};

static const char *const default_pprops[] = {
    "enable.idempotence=true",
    "acks=all",
    "partitioner=murmur2_random",
    "linger.ms=5",
    "batch.num.messages=10000",
    "queue.buffering.max.messages=100000",
    NULL};

/* The backlog's producer: large batches, so that the mock (which answers
 * a fetch with one batch per partition) serves about what a real broker
 * would (max.partition.fetch.bytes per partition). */
static const char *const preload_props[] = {
    "linger.ms=200",
    "batch.num.messages=100000",
    "batch.size=1000000",
    "acks=1",
    "enable.idempotence=false",
    "queue.buffering.max.kbytes=1048576",
    "queue.buffering.max.messages=1000000",
    "partitioner=murmur2_random",
    NULL};

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: router-bench [--quick] [options]\n"
        "Benchmarks the router binary against consume-only, produce-only and\n"
        "copy baselines on a librdkafka mock cluster (see bench/README.md).\n"
        "  --quick                one configuration (16 partitions, 100\n"
        "                         rules, 200 B events), without copy-c and\n"
        "                         router-dflt: `make bench-quick`\n"
        "  --partitions LIST      e.g. 1,4,16    (a custom sweep: every\n"
        "  --rules LIST           e.g. 10,100    combination of the lists;\n"
        "  --sizes LIST           e.g. 100,1024  default: see README)\n"
        "  --msgs-per-partition N backlog per partition (default: 3.5 MB\n"
        "                         worth, at most 20000)\n"
        "  --dest-partitions N    partitions of each routed topic\n"
        "                         (default: source partitions / 4, >= 1)\n"
        "  --brokers N            mock brokers (default 3)\n"
        "  --batch N              router --batch (default: the router's)\n"
        "  -X [consumer.|producer.]PROP=VAL  setting for every tool\n"
        "  --router-arg ARG       extra router argument (repeatable)\n"
        "  --latency-rate N       live events/s (default 10000, 0: off)\n"
        "  --latency-secs S       live phase length (default 3)\n"
        "  --repeat N             runs of every measurement, the median\n"
        "                         is reported (default 5; --quick: 3)\n"
        "  --no-copy-c            skip the C copy loop baseline\n"
        "  --no-untuned           skip the run of the router with its\n"
        "                         built-in client settings (router-dflt)\n"
        "  --no-eos               skip the run of the router with\n"
        "                         --exactly-once (router-eos, base\n"
        "                         configuration and --quick)\n"
        "  --compare PATH         also run this router binary on every\n"
        "                         rule set (rows \"compare\"), for A/B tests\n"
        "  --router PATH          (default ./router)\n"
        "  --kcat PATH            (default kcat from PATH)\n"
        "  --out DIR              results directory (default bench/results)\n"
        "  --plot-script FILE     (default bench/plots.gp)\n"
        "  --keep                 keep the scratch directory (logs, rules)\n");
}

/* Parse "1,4,16" into v (at most max). Returns the count, -1 if bad or
 * longer. */
static int parse_list(const char *s, int *v, int max)
{
    int n = 0;

    while (*s && n < max) {
        char *end;
        long x = strtol(s, &end, 10);

        if (end == s || x <= 0 || x > 100000)
            return -1;
        v[n++] = (int)x;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    return *s ? -1 : n; /* more than max */
}

/* Parse a whole number or decimal within [lo, hi] into *out. Returns 0,
 * -1 when v is not one (the caller reports the option). */
static int parse_num(const char *v, double lo, double hi, double *out)
{
    char *end;
    double x = strtod(v, &end);

    if (end == v || *end || !(x >= lo && x <= hi))
        return -1;
    *out = x;
    return 0;
}

static char *find_in_path(const char *name)
{
    const char *path = getenv("PATH");
    char buf[4096];

    while (path && *path) {
        const char *c = strchr(path, ':');
        size_t n = c ? (size_t)(c - path) : strlen(path);

        snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name);
        if (access(buf, X_OK) == 0)
            return strdup(buf);
        path += n + (c ? 1 : 0);
    }
    return NULL;
}

static long msgs_per_part(const bench_t *b, int size)
{
    long n = b->msgs_per_part ? b->msgs_per_part
                              : 3500000L / (size + 20) / 100 * 100;

    return n > 20000 && !b->msgs_per_part ? 20000 : n;
}

/* Add a backlog. Returns 0, or -1 (said) when there are too many. */
static int add_group(bench_t *b, int parts, int size, const int *rules,
                     int nrules)
{
    bench_group_t *g;

    if (b->ngroups == BENCH_MAX_GROUPS) {
        fprintf(stderr,
                "router-bench: at most %d backlogs (partitions x "
                "sizes)\n",
                BENCH_MAX_GROUPS);
        return -1;
    }
    g = &b->groups[b->ngroups++];
    memset(g, 0, sizeof(*g));
    g->parts = parts;
    g->size = size;
    for (int i = 0; i < nrules && i < BENCH_MAX_RULESETS; i++)
        g->rules[g->nrules++] = rules[i];
    g->msgs = msgs_per_part(b, size) * parts;
    g->base = parts == BENCH_BASE_PARTS && size == BENCH_BASE_SIZE;
    return 0;
}

static int parse(bench_t *b, int argc, char **argv)
{
    int parts[8], rules[8], sizes[8], np = 0, nr = 0, ns = 0;
    const char *what = NULL; /* the option being parsed, for errors */
    static const int r100[] = {100}, rsweep[] = {10, 100, 1000};
    /* The options without a value. */
    const struct {
        const char *name;
        int *on;
    } flags[] = {{"--quick", &b->quick},
                 {"--no-copy-c", &b->no_copy_c},
                 {"--no-untuned", &b->no_untuned},
                 {"--no-eos", &b->no_eos},
                 {"--keep", &b->keep}};

    b->router = "./router";
    b->outdir = "bench/results";
    b->gp = "bench/plots.gp";
    b->brokers = 3;
    b->lat_rate = 10000;
    b->lat_secs = 3;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        size_t f = 0;

        what = a;
        while (f < sizeof(flags) / sizeof(flags[0]) && strcmp(a, flags[f].name))
            f++;
        if (f < sizeof(flags) / sizeof(flags[0])) {
            *flags[f].on = 1;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (!v)
            goto bad;
        i++;
        if (!strcmp(a, "--partitions"))
            np = parse_list(v, parts, 8);
        else if (!strcmp(a, "--rules"))
            nr = parse_list(v, rules, 8);
        else if (!strcmp(a, "--sizes"))
            ns = parse_list(v, sizes, 8);
        else if (!strcmp(a, "--msgs-per-partition") ||
                 !strcmp(a, "--dest-partitions") || !strcmp(a, "--brokers") ||
                 !strcmp(a, "--batch") || !strcmp(a, "--latency-rate") ||
                 !strcmp(a, "--latency-secs") || !strcmp(a, "--repeat")) {
            double x;

            if (parse_num(v, 0, 1e9, &x))
                goto bad;
            if (!strcmp(a, "--msgs-per-partition"))
                b->msgs_per_part = (long)x;
            else if (!strcmp(a, "--dest-partitions"))
                b->dest_parts = (int)x;
            else if (!strcmp(a, "--brokers"))
                b->brokers = (int)x;
            else if (!strcmp(a, "--batch"))
                b->batch = (int)x;
            else if (!strcmp(a, "--latency-rate"))
                b->lat_rate = (int)x;
            else if (!strcmp(a, "--latency-secs"))
                b->lat_secs = x;
            else
                b->reps = (int)x;
        } else if (!strcmp(a, "--router"))
            b->router = v;
        else if (!strcmp(a, "--compare"))
            b->compare = v;
        else if (!strcmp(a, "--kcat"))
            b->kcat = v;
        else if (!strcmp(a, "--out"))
            b->outdir = v;
        else if (!strcmp(a, "--plot-script"))
            b->gp = v;
        else if (!strcmp(a, "--router-arg")) {
            if (b->nrargs == 32)
                goto bad; /* more than the harness passes on */
            b->rargs[b->nrargs++] = v;
        } else if (strcmp(a, "-X") ||
                   bench_props_add_x(&b->cprops, &b->pprops, v))
            goto bad;
        if (np < 0 || nr < 0 || ns < 0)
            goto bad;
    }
    if (b->reps == 0)
        b->reps = b->quick ? 3 : 5;
    if (b->quick) {
        /* Under a minute: only what the last line needs. */
        b->no_copy_c = 1;
        b->no_untuned = 1;
    }
    if (b->brokers < 1 || b->brokers > 16 || b->msgs_per_part < 0 ||
        b->reps < 1 || b->reps > 16)
        goto bad;
    if (np || nr || ns) {
        /* A custom sweep: every combination. */
        if (!np)
            parts[np++] = BENCH_BASE_PARTS;
        if (!nr)
            rules[nr++] = 100;
        if (!ns)
            sizes[ns++] = 200;
        for (int s = 0; s < ns; s++)
            for (int p = 0; p < np; p++)
                if (add_group(b, parts[p], sizes[s], rules, nr))
                    return -1;
    } else if (b->quick) {
        if (add_group(b, BENCH_BASE_PARTS, BENCH_BASE_SIZE, r100, 1))
            return -1;
    } else {
        /* The default sweep: partitions at 200 B and 100 rules; rules and
         * sizes at 16 partitions. The base configuration (16 partitions,
         * 100 rules, 200 B) is the --quick one. */
        if (add_group(b, 1, 200, r100, 1) || add_group(b, 4, 200, r100, 1) ||
            add_group(b, 16, 200, rsweep, 3) ||
            add_group(b, 16, 100, r100, 1) || add_group(b, 16, 1024, r100, 1))
            return -1;
    }
    for (size_t g = 0; g < b->ngroups; g++)
        for (int r = 0; r < b->groups[g].nrules; r++)
            if (b->groups[g].rules[r] < BENCH_NTYPES) {
                fprintf(stderr, "router-bench: at least %d rules\n",
                        BENCH_NTYPES);
                return -1;
            }
    return 0;
bad:
    fprintf(stderr, "router-bench: %s: bad option or value (see --help)\n",
            what ? what : "?");
    return -1;
}

/* Append the default props that the user did not override. Returns 0, or
 * -1 (said) when p is full: every tool must get the same settings. */
static int defaults(bench_props_t *p, const char *const *d)
{
    for (size_t i = 0; d[i]; i++) {
        size_t n = strcspn(d[i], "=") + 1;
        int set = 0;

        for (size_t j = 0; j < p->n; j++)
            if (!strncmp(p->v[j], d[i], n))
                set = 1;
        if (!set && bench_props_add(p, d[i])) {
            fprintf(stderr, "router-bench: too many -X settings\n");
            return -1;
        }
    }
    return 0;
}

/* 1 when `router --help` mentions option opt, else 0. */
static int router_knows(const char *router, const char *opt)
{
    char cmd[4200], line[512];
    FILE *f;
    int yes = 0;

    snprintf(cmd, sizeof(cmd), "'%s' --help 2>&1", router);
    if (!(f = popen(cmd, "r")))
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, opt))
            yes = 1;
    pclose(f);
    return yes;
}

/* The 1-minute load average, or -1. */
static double loadavg(void)
{
    FILE *f = fopen("/proc/loadavg", "r");
    double l = -1;

    if (f) {
        if (fscanf(f, "%lf", &l) != 1)
            l = -1;
        fclose(f);
    }
    return l;
}

static void rm_work(const char *dir)
{
    char cmd[600];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        bench_say("could not remove %s", dir);
}

/* router-bench settings [preload]: the -X settings every tool gets
 * ("consumer.k=v" and "producer.k=v"), or the backlog producer's, one per
 * line (bench/profile.sh runs the router with them by hand). */
static int cmd_settings(int argc, char **argv)
{
    int preload = argc == 2 && !strcmp(argv[1], "preload");

    if (argc > 2 || (argc == 2 && !preload)) {
        fprintf(stderr, "usage: router-bench settings [preload]\n");
        return 2;
    }
    for (size_t i = 0; !preload && default_cprops[i]; i++)
        printf("consumer.%s\n", default_cprops[i]);
    for (size_t i = 0; !preload && default_pprops[i]; i++)
        printf("producer.%s\n", default_pprops[i]);
    for (size_t i = 0; preload && preload_props[i]; i++)
        printf("producer.%s\n", preload_props[i]);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* router-bench rules N PREFIX LIVE FILE: write the bench's rule set of N
 * routes (bench/profile.sh runs the router on it by hand). */
static int cmd_rules(int argc, char **argv)
{
    char errstr[512];
    int n = argc == 5 ? atoi(argv[1]) : 0;

    if (n < 1) {
        fprintf(stderr, "usage: router-bench rules N PREFIX LIVE FILE\n");
        return 2;
    }
    if (bench_rules_write(argv[4], n, argv[2], argv[3], errstr,
                          sizeof(errstr))) {
        fprintf(stderr, "router-bench rules: %s\n", errstr);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static bench_t b;
    struct sigaction sa;
    char stamp[32];
    time_t now = time(NULL);
    ssize_t n;
    double t0 = bench_now(), load0 = loadavg();
    int rc = 1;

    if (argc > 1 && !strcmp(argv[1], "mock"))
        return bench_cmd_mock(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "produce"))
        return bench_cmd_produce(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "consume"))
        return bench_cmd_consume(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "copy"))
        return bench_cmd_copy(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "fanout"))
        return bench_cmd_fanout(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "rules"))
        return cmd_rules(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "settings"))
        return cmd_settings(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "wait"))
        return bench_cmd_wait(argc - 1, argv + 1);
    if (parse(&b, argc, argv))
        return 2;
    if (defaults(&b.cprops, default_cprops) ||
        defaults(&b.pprops, default_pprops) ||
        defaults(&b.preload, preload_props))
        return 2;
    n = readlink("/proc/self/exe", b.self, sizeof(b.self) - 1);
    if (n <= 0) {
        perror("router-bench: /proc/self/exe");
        return 1;
    }
    b.self[n] = '\0';
    if (access(b.router, X_OK) != 0) {
        fprintf(stderr, "router-bench: no router binary at %s (make)\n",
                b.router);
        return 1;
    }
    if (!b.kcat && !(b.kcat = find_in_path("kcat"))) {
        fprintf(stderr, "router-bench: kcat not found (make deps)\n");
        return 1;
    }
    b.router_has_admin = router_knows(b.router, "--admin");
    b.router_has_eos = router_knows(b.router, "--exactly-once");
    if (!b.no_eos && !b.router_has_eos) {
        bench_say("%s has no --exactly-once: no router-eos row", b.router);
        b.no_eos = 1;
    }
    snprintf(b.work, sizeof(b.work), "%s/router-bench.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(b.work)) {
        perror("router-bench: mkdtemp");
        return 1;
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    if (sigaction(SIGINT, &sa, NULL) != 0 ||
        sigaction(SIGTERM, &sa, NULL) != 0 ||
        signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        perror("router-bench: signals");
        rm_work(b.work);
        return 1;
    }
    strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", gmtime(&now));
    bench_say("scratch directory %s; %zu backlog(s)", b.work, b.ngroups);
    for (size_t g = 0; g < b.ngroups && !bench_stop; g++)
        if (run_group(&b, &b.groups[g]))
            bench_say("backlog %zu failed", g);
    {
        bench_report_conf_t rc_conf = {.outdir = b.outdir,
                                       .stamp = stamp,
                                       .gp = b.gp,
                                       .quick = b.quick,
                                       .brokers = b.brokers,
                                       .cprops = &b.cprops,
                                       .pprops = &b.pprops,
                                       .batch = b.batch,
                                       .lat_rate = b.lat_rate,
                                       .lat_secs = b.lat_secs,
                                       .reps = b.reps,
                                       .failures = b.failures,
                                       .work = b.work,
                                       .load_start = load0,
                                       .load_end = loadavg(),
                                       .wall_s = bench_now() - t0};

        rc = bench_report(&rc_conf, b.res, b.nres) == 0 && !bench_stop ? 0 : 1;
    }
    if (b.keep || rc || b.failures)
        bench_say("logs kept in %s", b.work);
    else
        rm_work(b.work);
    return rc;
}
