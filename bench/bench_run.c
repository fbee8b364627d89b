/* bench_run.c - the measurement phases of the benchmark: the mock cluster
 * child, the backlog preload, and one run of each tool (consume-only,
 * produce-only, kcat copy, C copy loop, the router) timed from the
 * destination's high watermarks, with CPU, RSS and socket bytes. */
#include "bench_run.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS        160
#define DRAIN_TIMEOUT_S 180.0
#define POLL_MS         2

/* An argv being built. */
typedef struct args {
    char *v[MAX_ARGS + 1];
    int n;
    int oom; /* an argument could not be added */
} args_t;

volatile sig_atomic_t bench_stop;

void bench_say(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("[bench] ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ---- argv building ---------------------------------------------------- */

static void arg(args_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void arg(args_t *a, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    if (!s || a->n == MAX_ARGS) {
        free(s);
        a->oom = 1;
        return;
    }
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

/* bench_spawn() of a built argv (see there); errors are said, with what. */
static int spawn(bench_child_t *c, args_t *a, int want_in, int want_out,
                 int in_dup, int out_dup, const char *log, const char *what)
{
    char errstr[512];

    if (a->oom) {
        memset(c, 0, sizeof(*c));
        c->in_fd = c->out_fd = -1;
        bench_say("%s: out of memory building its arguments", what);
        return -1;
    }
    if (bench_spawn(c, a->v, want_in, want_out, in_dup, out_dup, log, errstr,
                    sizeof(errstr))) {
        bench_say("%s: %s", what, errstr);
        return -1;
    }
    return 0;
}

static void args_free(args_t *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->v[i]);
    a->n = 0;
}

/* -X props with prefix ("consumer." / "producer." / ""). */
static void arg_props(args_t *a, const bench_props_t *p, const char *prefix)
{
    for (size_t i = 0; i < p->n; i++) {
        arg(a, "-X");
        arg(a, "%s%s", prefix, p->v[i]);
    }
}

/* "-b BOOTSTRAP -t topic": the cluster and the topic(s) of a client. */
static void arg_bs_topic(args_t *a, const bench_t *b, const char *topic)
{
    arg(a, "-b");
    arg(a, "%s", b->bs);
    arg(a, "-t");
    arg(a, "%s", topic);
}

/* The value of key in a "result k=v ..." line, or NaN. */
static double kv(const char *line, const char *key)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof(pat), " %s=", key);
    p = strstr(line, pat);
    return p ? strtod(p + strlen(pat), NULL) : NAN;
}

/* The librdkafka statistics byte counts of a result line into r (0 when
 * missing: unknown). */
static void kv_stats(const char *line, bench_result_t *r)
{
    double rx = kv(line, "rx"), tx = kv(line, "tx");

    r->srx = rx >= 0 ? (uint64_t)rx : 0;
    r->stx = tx >= 0 ? (uint64_t)tx : 0;
}

/* ---- the mock cluster ------------------------------------------------- */

static int mock_cmd(bench_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Send one command line to the mock and wait for "ok". */
static int mock_cmd(bench_t *b, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line) - 1)
        return -1;
    line[n++] = '\n';
    if (write(b->mock.in_fd, line, (size_t)n) != n ||
        bench_child_readline(&b->mock, line, sizeof(line), 10000) ||
        strcmp(line, "ok")) {
        bench_say("mock: command failed: %s", line);
        return -1;
    }
    return 0;
}

int bench_topic_create(bench_t *b, const char *name, int parts)
{
    return mock_cmd(b, "topic %s %d", name, parts);
}

int bench_mock_start(bench_t *b)
{
    char line[1024], log[512];
    args_t a = {{0}, 0, 0};
    int rc = -1;

    arg(&a, "%s", b->self);
    arg(&a, "mock");
    arg(&a, "--brokers");
    arg(&a, "%d", b->brokers);
    snprintf(log, sizeof(log), "%s/mock.log", b->work);
    if (spawn(&b->mock, &a, 1, 1, -1, -1, log, "mock"))
        goto out;
    if (bench_child_readline(&b->mock, line, sizeof(line), 10000) ||
        strncmp(line, "bootstraps ", 11)) {
        bench_say("mock: did not start (see %s)", log);
        goto out;
    }
    snprintf(b->bs, sizeof(b->bs), "%s", line + 11);
    rc = 0;
out:
    args_free(&a);
    return rc;
}

/* Stop the mock; returns its CPU seconds. */
double bench_mock_stop(bench_t *b)
{
    bench_child_close_in(&b->mock);
    bench_child_wait(&b->mock, 10000);
    return bench_ru_cpu(&b->mock.ru);
}

/* ---- helpers of the phases ---------------------------------------------- */

/* A drain seen from the destination's high watermarks. */
typedef struct landing {
    double t_first, t_end; /* first and last message landed */
    double t10, t90;       /* 10% and 90% of them landed */
    int64_t n10, n90;      /* landed at t10, t90 */
    double cpu10, cpu90;   /* CPU s of the tool's processes then */
    double mock10, mock90; /* CPU s of the mock cluster then */
    int64_t total;         /* landed when the drain was complete */
} landing_t;

/* CPU seconds used so far by the processes of kids: /proc for those
 * running, the final rusage for those that ended (reaped here). NaN when
 * one that runs cannot be read. */
static double kids_cpu(bench_child_t *kids, int n)
{
    double sum = 0;

    for (int i = 0; i < n; i++) {
        double c = -1;

        if (kids[i].pid > 0 && bench_child_alive(&kids[i]))
            c = bench_proc_cpu(kids[i].pid);
        if (c < 0 && kids[i].pid > 0 && !bench_child_alive(&kids[i]))
            bench_child_wait(&kids[i], 0);
        if (kids[i].pid == 0)
            c = bench_ru_cpu(&kids[i].ru);
        if (c < 0)
            return NAN;
        sum += c;
    }
    return sum;
}

/* The window of a landing into r. */
static void window(bench_result_t *r, const landing_t *l)
{
    r->drain_s = l->t_end - l->t_first;
    r->secs = l->t90 - l->t10;
    r->win_msgs = (long)(l->n90 - l->n10);
    r->cpu_s = l->cpu90 - l->cpu10;
    if (r->secs > 0)
        r->mock_util = (l->mock90 - l->mock10) / r->secs;
}

/* Wait until the watched topics hold expect messages (the outputs alone
 * decide: no committed offsets are waited for, so that a router with
 * --exactly-once, whose transactional offsets the mock does not store, is
 * judged alike), noting when the
 * first, 10%, 90% and last landed, and the CPU of kids (n of them) at 10%
 * and 90%. kids must stay alive until then (one that exits early with
 * success is fine). Returns 0, or -1 on timeout, error or a failed child. */
static int wait_landing(bench_t *b, bench_watch_t *w, int64_t expect,
                        bench_child_t *kids, int n, landing_t *l)
{
    double end = bench_now() + DRAIN_TIMEOUT_S;
    int64_t total = 0;

    memset(l, 0, sizeof(*l));
    while (!bench_stop && bench_now() < end) {
        double now;

        total = bench_watch_total(w);
        now = bench_now();
        if (total > 0 && l->t_first == 0)
            l->t_first = now;
        if (total >= expect / 10 && l->t10 == 0) {
            l->t10 = now;
            l->n10 = total;
            l->cpu10 = kids_cpu(kids, n);
            l->mock10 = kids_cpu(&b->mock, 1);
        }
        if (total >= expect - expect / 10 && l->t90 == 0) {
            l->t90 = now;
            l->n90 = total;
            l->cpu90 = kids_cpu(kids, n);
            l->mock90 = kids_cpu(&b->mock, 1);
        }
        if (total >= expect) {
            l->t_end = now;
            l->total = total;
            return 0;
        }
        for (int i = 0; i < n; i++) {
            if (kids[i].pid > 0 && !bench_child_alive(&kids[i]))
                bench_child_wait(&kids[i], 0);
            if (kids[i].pid == 0 && !(WIFEXITED(kids[i].status) &&
                                      WEXITSTATUS(kids[i].status) == 0)) {
                bench_say("a child failed before the drain completed "
                          "(%" PRId64 " of %" PRId64 ")",
                          total, expect);
                return -1;
            }
        }
        bench_sleep_ms(POLL_MS);
    }
    bench_say("drain timed out: %" PRId64 " of %" PRId64 " messages landed",
              total, expect);
    return -1;
}

/* Read a child's result line, its socket counters, then let it go. */
static int child_finish(bench_child_t *c, char *line, size_t size, uint64_t *rx,
                        uint64_t *tx)
{
    char errstr[256];
    int rc = 0;

    if (bench_child_readline(c, line, size, (int)(DRAIN_TIMEOUT_S * 1000)) ||
        strncmp(line, "result ", 7)) {
        bench_say("child gave no result");
        rc = -1;
    } else if (rx && bench_tcp_bytes(c->pid, rx, tx, errstr, sizeof(errstr))) {
        bench_say("socket counters: %s", errstr);
    }
    bench_child_close_in(c);
    if (bench_child_wait(c, 30000) != 0)
        rc = -1;
    return rc;
}

/* The arguments of a `router-bench produce` child writing g's events to
 * topic with props. */
static void produce_args(args_t *a, bench_t *b, bench_group_t *g,
                         const char *topic, const bench_props_t *props)
{
    arg(a, "%s", b->self);
    arg(a, "produce");
    arg_bs_topic(a, b, topic);
    arg(a, "-n");
    arg(a, "%ld", g->msgs);
    arg(a, "--size");
    arg(a, "%d", g->size);
    arg(a, "--seed");
    arg(a, "1");
    arg_props(a, props, "producer.");
}

/* Create a fresh destination "bench.<kind>.<run>" (into topic) with g's
 * partitions and watch it. Returns the watch, or NULL (said). */
static bench_watch_t *dest_new(bench_t *b, bench_group_t *g, const char *kind,
                               char *topic, size_t size)
{
    char errstr[512];
    const char *tp = topic;
    bench_watch_t *w;

    snprintf(topic, size, "bench.%s.%d", kind, ++b->run);
    if (bench_topic_create(b, topic, g->parts))
        return NULL;
    if (!(w = bench_watch_new(b->bs, &tp, 1, errstr, sizeof(errstr))))
        bench_say("%s: %s", topic, errstr);
    return w;
}

/* Spawn the child of arguments a (its stderr to b->work/<kind>.log),
 * wait until w's topics hold g's backlog, and fill r: the window, its
 * peak RSS, socket and statistics bytes. Returns 0, or -1 (said). */
static int spawn_measure(bench_t *b, bench_group_t *g, const char *kind,
                         args_t *a, bench_watch_t *w, bench_result_t *r)
{
    char line[1024], log[512];
    bench_child_t c;
    landing_t l;

    snprintf(log, sizeof(log), "%s/%s.log", b->work, kind);
    if (spawn(&c, a, 1, 1, -1, -1, log, kind))
        return -1;
    if (wait_landing(b, w, g->msgs, &c, 1, &l)) {
        bench_child_wait(&c, 0);
        return -1;
    }
    if (child_finish(&c, line, sizeof(line), &r->rx, &r->tx))
        return -1;
    window(r, &l);
    r->rss_kb = c.ru.ru_maxrss;
    kv_stats(line, r);
    return 0;
}

/* Run a one-process tool (a `router-bench` child, its arguments made by
 * build for the destination topic) into a fresh destination
 * "bench.<kind>.<run>" until it holds g's backlog, and fill r: the window,
 * its peak RSS, socket and statistics bytes. Its stderr goes to
 * b->work/<kind>.log. Returns 0, or -1 (said). */
static int run_child(bench_t *b, bench_group_t *g, const char *kind,
                     void (*build)(args_t *, bench_t *, bench_group_t *,
                                   const char *),
                     bench_result_t *r)
{
    char topic[64];
    bench_watch_t *w = dest_new(b, g, kind, topic, sizeof(topic));
    args_t a = {{0}, 0, 0};
    int rc = -1;

    if (w) {
        build(&a, b, g, topic);
        rc = spawn_measure(b, g, kind, &a, w, r);
    }
    bench_watch_destroy(w);
    args_free(&a);
    return rc;
}

/* ---- phases ------------------------------------------------------------- */

int bench_run_preload(bench_t *b, bench_group_t *g)
{
    char errstr[512], line[1024], log[512];
    const char *topic = BENCH_SRC_TOPIC;
    bench_watch_t *w = NULL;
    bench_child_t c;
    args_t a = {{0}, 0, 0};
    int rc = -1;
    int64_t have;

    produce_args(&a, b, g, topic, &b->preload);
    snprintf(log, sizeof(log), "%s/preload.log", b->work);
    if (spawn(&c, &a, 1, 1, -1, -1, log, "preload"))
        goto out;
    if (child_finish(&c, line, sizeof(line), NULL, NULL))
        goto out;
    if (!(w = bench_watch_new(b->bs, &topic, 1, errstr, sizeof(errstr)))) {
        bench_say("preload: %s", errstr);
        goto out;
    }
    have = bench_watch_total(w);
    if (have != g->msgs) {
        bench_say("preload: the source holds %" PRId64 " messages, not %ld",
                  have, g->msgs);
        goto out;
    }
    bench_say("preloaded %ld messages of %d B over %d partitions in %.1f s",
              g->msgs, g->size, g->parts,
              kv(line, "t_last") - kv(line, "t_first"));
    rc = 0;
out:
    bench_watch_destroy(w);
    args_free(&a);
    return rc;
}

/* consume-only, or the read-back of topics (n) after a router run. */
int bench_run_consume(bench_t *b, const char *const *topics, size_t n,
                      long expect, bench_result_t *r, const char *logname)
{
    static const char *const keys[] = {"t_first", "t_last", "t10",   "t90",
                                       "n10",     "n90",    "cpu10", "cpu90"};
    enum { T_FIRST, T_LAST, T10, T90, N10, N90, CPU10, CPU90, NKEYS };
    char line[1024], log[512], list[4096] = "";
    double v[NKEYS];
    bench_child_t c;
    args_t a = {{0}, 0, 0};
    size_t len = 0;
    int rc = -1;

    for (size_t i = 0; i < n && len < sizeof(list); i++)
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s",
                                i ? "," : "", topics[i]);
    if (len >= sizeof(list)) {
        bench_say("consume: too many topics");
        goto out;
    }
    arg(&a, "%s", b->self);
    arg(&a, "consume");
    arg_bs_topic(&a, b, list);
    arg(&a, "-n");
    arg(&a, "%ld", expect);
    arg_props(&a, &b->cprops, "consumer.");
    snprintf(log, sizeof(log), "%s/%s.log", b->work, logname);
    if (spawn(&c, &a, 1, 1, -1, -1, log, "consume"))
        goto out;
    if (child_finish(&c, line, sizeof(line), &r->rx, &r->tx))
        goto out;
    for (int k = 0; k < NKEYS; k++)
        if (isnan(v[k] = kv(line, keys[k]))) {
            bench_say("consume: no %s in its result (see %s)", keys[k], log);
            goto out;
        }
    r->drain_s = v[T_LAST] - v[T_FIRST];
    r->secs = v[T90] - v[T10];
    r->win_msgs = (long)(v[N90] - v[N10]);
    /* The child writes a CPU figure it could not read as -1. */
    r->cpu_s = v[CPU10] >= 0 && v[CPU90] >= 0 ? v[CPU90] - v[CPU10] : NAN;
    r->rss_kb = c.ru.ru_maxrss;
    kv_stats(line, r);
    rc = 0;
out:
    args_free(&a);
    return rc;
}

/* The produce-only child's arguments: the backlog's events into topic. */
static void produce_only_args(args_t *a, bench_t *b, bench_group_t *g,
                              const char *topic)
{
    /* The events are generated before the first produce: the window
     * starts later. */
    produce_args(a, b, g, topic, &b->pprops);
}

int bench_run_produce(bench_t *b, bench_group_t *g, bench_result_t *r)
{
    return run_child(b, g, "produce", produce_only_args, r);
}

/* kcat -C ... | kcat -P ...: the plain copy baseline (bench/README.md). */
int bench_run_copy(bench_t *b, bench_group_t *g, bench_result_t *r)
{
    char log[512], topic[64];
    bench_child_t kids[2];
    bench_watch_t *w = dest_new(b, g, "copy", topic, sizeof(topic));
    args_t ac = {{0}, 0, 0}, ap = {{0}, 0, 0};
    int pfd[2] = {-1, -1}, rc = -1, started = 0;
    landing_t l;

    snprintf(log, sizeof(log), "%s/kcat.log", b->work);
    if (!w)
        goto out;
    arg(&ac, "%s", b->kcat);
    arg(&ac, "-C");
    arg_bs_topic(&ac, b, BENCH_SRC_TOPIC);
    arg(&ac, "-o");
    arg(&ac, "beginning");
    arg(&ac, "-e");
    arg(&ac, "-q");
    arg(&ac, "-f");
    arg(&ac, "%%k\\t%%s\\n");
    arg_props(&ac, &b->cprops, "");
    arg(&ap, "%s", b->kcat);
    arg(&ap, "-P");
    arg_bs_topic(&ap, b, topic);
    arg(&ap, "-K");
    arg(&ap, "\\t");
    arg_props(&ap, &b->pprops, "");
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        bench_say("pipe: %s", strerror(errno));
        goto out;
    }
    if (spawn(&kids[0], &ap, 0, 0, pfd[0], -1, log, "kcat -P"))
        goto out;
    started = 1;
    if (spawn(&kids[1], &ac, 0, 0, -1, pfd[1], log, "kcat -C"))
        goto out;
    started = 2;
    close(pfd[0]);
    close(pfd[1]);
    pfd[0] = pfd[1] = -1;
    if (wait_landing(b, w, g->msgs, kids, 2, &l))
        goto out;
    window(r, &l);
    /* kcat -C exits at the end of the source, kcat -P at the end of its
     * input. */
    if (bench_child_wait(&kids[1], 30000) || bench_child_wait(&kids[0], 30000))
        bench_say("kcat copy: a kcat did not exit cleanly (see %s)", log);
    r->rss_kb = kids[0].ru.ru_maxrss + kids[1].ru.ru_maxrss;
    rc = 0;
out:
    if (rc)
        bench_say("kcat copy failed (see %s)", log);
    for (int i = 0; i < started; i++)
        bench_child_wait(&kids[i], 0);
    for (int i = 0; i < 2; i++)
        if (pfd[i] >= 0)
            close(pfd[i]);
    bench_watch_destroy(w);
    args_free(&ac);
    args_free(&ap);
    return rc;
}

/* The C copy loop's arguments: batch consume the source, produce a copy
 * into topic, same settings. */
static void copy_c_args(args_t *a, bench_t *b, bench_group_t *g,
                        const char *topic)
{
    arg(a, "%s", b->self);
    arg(a, "copy");
    arg_bs_topic(a, b, BENCH_SRC_TOPIC);
    arg(a, "-d");
    arg(a, "%s", topic);
    arg(a, "-n");
    arg(a, "%ld", g->msgs);
    arg_props(a, &b->cprops, "consumer.");
    arg_props(a, &b->pprops, "producer.");
}

int bench_run_copy_c(bench_t *b, bench_group_t *g, bench_result_t *r)
{
    return run_child(b, g, "copyc", copy_c_args, r);
}

int bench_run_fanout(bench_t *b, bench_group_t *g, bench_result_t *r)
{
    char prefix[64], topics[BENCH_NTYPES][96], errstr[512];
    const char *tl[BENCH_NTYPES];
    int dp = b->dest_parts > 0 ? b->dest_parts : (g->parts + 3) / 4;
    bench_watch_t *w = NULL;
    args_t a = {{0}, 0, 0};
    int rc = -1;

    snprintf(prefix, sizeof(prefix), "bench.fanout%d", ++b->run);
    for (int i = 0; i < BENCH_NTYPES; i++) {
        snprintf(topics[i], sizeof(topics[i]), "%s.%s", prefix, bench_types[i]);
        tl[i] = topics[i];
        if (bench_topic_create(b, topics[i], dp))
            goto out;
    }
    if (!(w = bench_watch_new(b->bs, tl, BENCH_NTYPES, errstr,
                              sizeof(errstr)))) {
        bench_say("fanout: %s", errstr);
        goto out;
    }
    arg(&a, "%s", b->self);
    arg(&a, "fanout");
    arg_bs_topic(&a, b, BENCH_SRC_TOPIC);
    arg(&a, "-d");
    arg(&a, "%s", prefix);
    arg(&a, "-n");
    arg(&a, "%ld", g->msgs);
    arg_props(&a, &b->cprops, "consumer.");
    arg_props(&a, &b->pprops, "producer.");
    rc = spawn_measure(b, g, "fanout", &a, w, r);
out:
    bench_watch_destroy(w);
    args_free(&a);
    return rc;
}

/* Lines of the file at path that contain needle (0 when unreadable). */
static int log_count(const char *path, const char *needle)
{
    char line[1024];
    FILE *f = fopen(path, "r");
    int n = 0;

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

/* The router binary `router` on the backlog with a rule set of r->rules
 * routes: drain time, CPU, RSS, socket bytes; with RUN_FULL then the
 * read-back of its topics and live latency (not with RUN_EXACTLY_ONCE:
 * the mock shows transactional messages before their commit, so the
 * latency would not be what a read_committed consumer sees); then
 * SIGTERM. */
int bench_run_router(bench_t *b, bench_group_t *g, bench_result_t *r,
                     const char *router, int mode)
{
    char errstr[512], prefix[64], live[80], rules[512], log[512];
    char topics[BENCH_NTYPES + 1][96];
    const char *tl[BENCH_NTYPES + 1];
    int dp = b->dest_parts > 0 ? b->dest_parts : (g->parts + 3) / 4;
    bench_result_t rb;
    bench_watch_t *w = NULL;
    bench_child_t c = {.pid = 0, .in_fd = -1, .out_fd = -1};
    args_t a = {{0}, 0, 0};
    landing_t l;
    double cpu;
    long hwm;
    int rc = -1, i;
    long got;

    b->run++;
    snprintf(prefix, sizeof(prefix), "bench.r%d", b->run);
    snprintf(live, sizeof(live), "%s.live", prefix);
    for (i = 0; i < BENCH_NTYPES; i++) {
        snprintf(topics[i], sizeof(topics[i]), "%s.%s", prefix, bench_types[i]);
        tl[i] = topics[i];
    }
    snprintf(topics[i], sizeof(topics[i]), "%s.dead", prefix);
    tl[i] = topics[i];
    for (i = 0; i < BENCH_NTYPES; i++)
        if (bench_topic_create(b, topics[i], dp))
            goto out;
    if (bench_topic_create(b, topics[BENCH_NTYPES], 1) ||
        bench_topic_create(b, live, g->parts))
        goto out;
    snprintf(rules, sizeof(rules), "%s/rules-%s.json", b->work, prefix);
    if (bench_rules_write(rules, r->rules, prefix, live, errstr,
                          sizeof(errstr)) ||
        !(w = bench_watch_new(b->bs, tl, BENCH_NTYPES + 1, errstr,
                              sizeof(errstr)))) {
        bench_say("router: %s", errstr);
        goto out;
    }
    arg(&a, "%s", router);
    arg(&a, "-b");
    arg(&a, "%s", b->bs);
    arg(&a, "-G");
    arg(&a, "bench-%d-%d", (int)getpid(), b->run);
    arg(&a, "-r");
    arg(&a, "%s", rules);
    if (b->batch > 0) {
        arg(&a, "--batch");
        arg(&a, "%d", b->batch);
    }
    if (b->router_has_admin) {
        arg(&a, "--admin");
        arg(&a, "off");
    }
    if (!(mode & RUN_OWN_DEFAULTS)) {
        arg_props(&a, &b->cprops, "consumer.");
        arg_props(&a, &b->pprops, "producer.");
    }
    /* Its own defaults: --transactional-id router-GROUP-HOSTNAME (unique:
     * the group is), --txn-interval and --txn-max (--router-arg to try
     * others). */
    if (mode & RUN_EXACTLY_ONCE)
        arg(&a, "--exactly-once");
    for (size_t k = 0; k < b->nrargs; k++)
        arg(&a, "%s", b->rargs[k]);
    snprintf(log, sizeof(log), "%s/router-%s.log", b->work, prefix);
    if (spawn(&c, &a, 0, 0, -1, -1, log, "router"))
        goto out;
    if (wait_landing(b, w, g->msgs, &c, 1, &l)) {
        bench_say("router run failed; its log: %s", log);
        goto out;
    }
    window(r, &l);
    /* More than the backlog: some messages were routed twice (an aborted
     * transaction replayed, or a rebalance), and the rate counts them. */
    if (l.total > g->msgs)
        bench_say("warning: %" PRId64 " messages landed for a backlog of "
                  "%ld: %" PRId64 " routed twice",
                  l.total, g->msgs, l.total - g->msgs);
    if (bench_proc_usage(c.pid, &cpu, &hwm) == 0) {
        r->cpu_total_s = cpu;
        r->rss_kb = hwm;
    } else {
        r->cpu_total_s = NAN; /* the RSS comes from wait4() below */
    }
    if (bench_tcp_bytes(c.pid, &r->rx, &r->tx, errstr, sizeof(errstr)))
        bench_say("router socket counters: %s", errstr);
    {
        const rd_kafka_topic_partition_list_t *l = bench_watch_last(w);

        for (i = 0; l && i < l->cnt; i++)
            if (!strcmp(l->elems[i].topic, topics[BENCH_NTYPES]) &&
                l->elems[i].offset > 0)
                bench_say("warning: %" PRId64 " messages were dead-lettered",
                          l->elems[i].offset);
    }
    /* Read back what the K downstream consumers would read. */
    memset(&rb, 0, sizeof(rb));
    if ((mode & RUN_FULL) &&
        bench_run_consume(b, tl, BENCH_NTYPES, g->msgs, &rb, "readback") == 0) {
        r->readback = rb.rx + rb.tx;
        r->routed_rw = r->rx + r->tx;
    }
    /* Live latency, on the topics' partitions from where the drain ended. */
    if ((mode & RUN_FULL) && !(mode & RUN_EXACTLY_ONCE) && b->lat_rate > 0 &&
        b->lat_secs > 0) {
        long sent = (long)(b->lat_rate * b->lat_secs);

        if (bench_latency(b->bs, live, (size_t)g->size, &b->cprops,
                          bench_watch_last(w), b->lat_rate, b->lat_secs,
                          &r->p50, &r->p99, &r->pmax, &got, errstr,
                          sizeof(errstr)))
            bench_say("latency: %s", errstr);
        else if (got < sent)
            bench_say("latency: only %ld of %ld live events came through", got,
                      sent);
    }
    bench_child_kill(&c, SIGTERM);
    if (bench_child_wait(&c, 60000) != 0)
        bench_say("router did not exit cleanly on SIGTERM (status %d); log: %s",
                  c.status, log);
    if (c.ru.ru_maxrss > r->rss_kb)
        r->rss_kb = c.ru.ru_maxrss;
    if ((mode & RUN_EXACTLY_ONCE) &&
        (i = log_count(log, "transaction aborted")) > 0)
        bench_say("warning: %d transaction(s) aborted and replayed; log: %s", i,
                  log);
    rc = 0;
out:
    if (c.pid > 0) {
        bench_child_kill(&c, SIGTERM);
        bench_child_wait(&c, 10000);
    }
    bench_watch_destroy(w);
    args_free(&a);
    return rc;
}
