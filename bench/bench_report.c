/* bench_report.c - report the benchmark: Markdown table and target checks
 * on stdout, CSV and gnuplot PNGs in the results directory, and the
 * machine-readable last line. */
#include "bench_report.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BASE_PARTS BENCH_BASE_PARTS
#define BASE_RULES BENCH_BASE_RULES
#define BASE_SIZE  BENCH_BASE_SIZE

/* The result of tool on group (rules: only for the router), or NULL. */
static const bench_result_t *find(const bench_result_t *res, size_t n,
                                  int group, const char *tool, int rules)
{
    for (size_t i = 0; i < n; i++)
        if (res[i].group == group && !strcmp(res[i].tool, tool) &&
            (rules == 0 || res[i].rules == rules) && res[i].ok)
            return &res[i];
    return NULL;
}

static double ratio(double a, double b)
{
    return a > 0 && b > 0 ? a / b : NAN;
}

/* r's msgs/s over tool's on the same backlog, NaN when tool has none. */
static double vs(const bench_result_t *res, size_t n, const bench_result_t *r,
                 const char *tool)
{
    const bench_result_t *t = find(res, n, r->group, tool, 0);

    return t ? ratio(r->msgs_s, t->msgs_s) : NAN;
}

/* The fan-out ratio of r, NaN when not measured. */
static double fanout(const bench_result_t *r)
{
    return r->fanout > 0 ? r->fanout : NAN;
}

/* A latency figure, NaN when not measured (< 0). */
static double lat(double ms)
{
    return ms >= 0 ? ms : NAN;
}

/* Close f; -1 when it or an earlier write failed. */
static int close_checked(FILE *f)
{
    int bad = ferror(f);

    return fclose(f) != 0 || bad ? -1 : 0;
}

/* The fan-out floor's tool name, and its CPU per message against r's:
 * r's CPU s per million over the floor's (same backlog), NaN when either
 * is missing. */
#define FANOUT_TOOL "copy-fanout"
static double cpu_vs_fanout(const bench_result_t *res, size_t n,
                            const bench_result_t *r)
{
    const bench_result_t *f = r ? find(res, n, r->group, FANOUT_TOOL, 0) : NULL;

    return f ? ratio(r->cpu_per_m, f->cpu_per_m) : NAN;
}

/* The base router run: 16 partitions, 100 rules, 200 B when there is one,
 * else the first router run with 100 rules, else the first at all. */
static const bench_result_t *base_run(const bench_result_t *res, size_t n)
{
    const bench_result_t *any = NULL, *r100 = NULL;

    for (size_t i = 0; i < n; i++) {
        const bench_result_t *r = &res[i];

        if (strcmp(r->tool, "router") || !r->ok)
            continue;
        if (r->parts == BASE_PARTS && r->rules == BASE_RULES &&
            r->size == BASE_SIZE)
            return r;
        if (!r100 && r->rules == BASE_RULES)
            r100 = r;
        if (!any)
            any = r;
    }
    return r100 ? r100 : any;
}

/* The exactly-once run's msgs/s over the at-least-once run's (base, same
 * backlog and rule set), NaN when either is missing. */
static double eos_ratio(const bench_result_t *res, size_t n,
                        const bench_result_t *base)
{
    const bench_result_t *e =
        base ? find(res, n, base->group, "router-eos", base->rules) : NULL;

    return e ? ratio(e->msgs_s, base->msgs_s) : NAN;
}

/* 1 when an exactly-once run of base's backlog and rule set was made
 * (measured or failed): its figure is then one the status requires. */
static int eos_tried(const bench_result_t *res, size_t n,
                     const bench_result_t *base)
{
    for (size_t i = 0; base && i < n; i++)
        if (res[i].group == base->group && res[i].rules == base->rules &&
            !strcmp(res[i].tool, "router-eos"))
            return 1;
    return 0;
}

/* A number for the table, "-" when not measured. */
static const char *fmt(char *buf, size_t size, int decimals, double v)
{
    if (isnan(v) || v < 0)
        snprintf(buf, size, "-");
    else
        snprintf(buf, size, "%.*f", decimals, v);
    return buf;
}

static void print_table(const bench_result_t *res, size_t n)
{
    printf("| P | rules | size B | msgs | tool | msg/s | MB/s | msg/s/part "
           "| MB/s/part | CPU s/M msgs | peak RSS MB | vs copy | vs copy-c "
           "| vs fanout | lat p50 ms | lat p99 ms | fan-out IO | mock CPU |\n"
           "|--:|--:|--:|--:|:--|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
           "--:|--:|"
           "\n");
    for (size_t i = 0; i < n; i++) {
        const bench_result_t *r = &res[i];
        char a[14][32];

        if (!r->ok) {
            printf("| %d | %s | %d | %ld | %s | failed | | | | | | | | | | "
                   "| | |\n",
                   r->parts, r->rules ? "" : "-", r->size, r->msgs, r->tool);
            continue;
        }
        printf("| %d | %s | %d | %ld | %s | %s | %s | %s | %s | %s | %s | "
               "%s | %s | %s | %s | %s | %s | %s |\n",
               r->parts, r->rules ? fmt(a[0], 32, 0, r->rules) : "-", r->size,
               r->msgs, r->tool, fmt(a[1], 32, 0, r->msgs_s),
               fmt(a[2], 32, 1, r->mb_s),
               fmt(a[3], 32, 0, r->msgs_s / r->parts),
               fmt(a[4], 32, 2, r->mb_s / r->parts),
               fmt(a[5], 32, 2, r->cpu_per_m),
               fmt(a[6], 32, 0, r->rss_kb / 1024.0),
               fmt(a[7], 32, 2, vs(res, n, r, "copy")),
               fmt(a[8], 32, 2, vs(res, n, r, "copy-c")),
               fmt(a[13], 32, 2, vs(res, n, r, FANOUT_TOOL)),
               fmt(a[9], 32, 1, r->p50), fmt(a[10], 32, 1, r->p99),
               fmt(a[11], 32, 2, fanout(r)),
               fmt(a[12], 32, 2, r->mock_util > 0 ? r->mock_util : NAN));
    }
}

/* One row of the targets table: the figure (decimals, then unit), the
 * goal and whether it is met; a figure that is missing (NaN) is "-" and
 * "not measured", never met or missed. goal "" for an informative row. */
static void target_row(const char *what, double v, const char *unit,
                       const char *goal, int met)
{
    char fig[32];

    printf("| %s | %s%s | %s | %s |\n", what, fmt(fig, sizeof(fig), 2, v),
           isnan(v) ? "" : unit, goal,
           isnan(v) ? "not measured"
           : !*goal ? ""
           : met    ? "met"
                    : "MISSED");
}

/* What the throughput goal leaves the router: at 1.5x the copy's msg/s,
 * the CPU seconds per million messages the machine's cores can give it
 * when nothing else runs (less what the mock spent per message while the
 * router ran), against what consume-only plus produce-only cost on their
 * own. Says whether the goal fits this machine at all. */
static void print_budget(long cores, const bench_result_t *base,
                         const bench_result_t *copy, const bench_result_t *co,
                         const bench_result_t *pr)
{
    double goal, budget, mock = 0, need;

    if (!copy || !co || !pr || cores <= 0 || !(copy->msgs_s > 0) ||
        !(co->cpu_per_m > 0) || !(pr->cpu_per_m > 0))
        return;
    goal = 1.5 * copy->msgs_s;
    if (base->mock_util > 0 && base->msgs_s > 0)
        mock = base->mock_util / base->msgs_s * 1e6;
    budget = (double)cores / goal * 1e6 - mock;
    need = co->cpu_per_m + pr->cpu_per_m;
    printf("\nCPU budget of the throughput goal: 1.5x the copy is %.0f "
           "msg/s. At that rate %ld cores give the router at most %.2f CPU "
           "s per million messages (%.2f, less the mock's %.2f per million "
           "in the router's run), even with nothing else running. "
           "Consume-only plus produce-only take %.2f s per million on "
           "their own, the router %.2f. ",
           goal, cores, budget, budget + mock, mock, need, base->cpu_per_m);
    if (need >= budget)
        printf("The goal is out of reach on this machine: it needs the "
               "router to spend less CPU per message than librdkafka "
               "spends consuming and producing it alone.\n");
    else
        printf("The goal fits only if the router's own work (rules, "
               "offset tracking, delivery reports) costs under %.2f s per "
               "million.\n",
               budget - need);
}

static void print_targets(const bench_report_conf_t *c,
                          const bench_result_t *res, size_t n,
                          const bench_result_t *base)
{
    const bench_result_t *co, *pr, *eos;
    char what[128], a[2][32];
    double tput, cpu, fan, fmsg, fcpu;

    if (!base) {
        printf("\nNo router run completed: no target can be checked.\n");
        return;
    }
    co = find(res, n, base->group, "consume", 0);
    pr = find(res, n, base->group, "produce", 0);
    tput = vs(res, n, base, "copy");
    cpu =
        ratio(base->cpu_per_m, co && pr ? co->cpu_per_m + pr->cpu_per_m : NAN);
    fan = fanout(base);
    printf("\nTargets (router, %d partitions, %d rules, %d B):\n\n",
           base->parts, base->rules, base->size);
    printf("| target | figure | goal | |\n|:--|--:|--:|:--|\n");
    target_row("msg/s vs plain copy (kcat pipe)", tput, "x", ">= 1.5x",
               tput >= 1.5);
    target_row("msg/s vs C copy loop (informative)", vs(res, n, base, "copy-c"),
               "x", "", 0);
    fmsg = vs(res, n, base, FANOUT_TOOL);
    fcpu = cpu_vs_fanout(res, n, base);
    target_row("fan-out floor: msg/s vs copy-fanout", fmsg, "x", ">= 0.85x",
               fmsg >= 0.85);
    target_row("fan-out floor: CPU/M msgs vs copy-fanout", fcpu, "x", "<= 1.2x",
               fcpu <= 1.2);
    snprintf(what, sizeof(what),
             "CPU/M msgs vs consume-only + produce-only (%s + %s s)",
             fmt(a[0], sizeof(a[0]), 2, co ? co->cpu_per_m : NAN),
             fmt(a[1], sizeof(a[1]), 2, pr ? pr->cpu_per_m : NAN));
    target_row(what, cpu, "x", "<= 1.5x", cpu <= 1.5);
    snprintf(what, sizeof(what), "fan-out IO ratio, K=%d", BENCH_NTYPES);
    target_row(what, fan, "", ">= 3", fan >= 3);
    target_row("exactly-once msg/s vs at-least-once (informative)",
               eos_ratio(res, n, base), "x", "", 0);
    if (base->direct)
        printf("\nFan-out IO (TCP bytes on the clients' sockets): %d direct "
               "consumers each reading the source: %.1f MB; with the router: "
               "read %.1f MB + written %.1f MB + read back by the %d "
               "consumers %.1f MB = %.1f MB.\n",
               BENCH_NTYPES, base->direct / 1e6, base->rx / 1e6, base->tx / 1e6,
               BENCH_NTYPES, base->readback / 1e6,
               (base->routed_rw + base->readback) / 1e6);
    print_budget(c->cores > 0 ? c->cores : sysconf(_SC_NPROCESSORS_ONLN), base,
                 find(res, n, base->group, "copy", 0), co, pr);
    eos = find(res, n, base->group, "router-eos", base->rules);
    if (eos)
        printf("\nExactly-once (router-eos, --exactly-once): %.0f msg/s vs "
               "%.0f at-least-once, %.2f vs %.2f CPU s per million. The mock "
               "does not enforce read_committed (messages are visible before "
               "their commit): this is the transactional producer's cost "
               "(commits, offsets, drains), not a read_committed consumer's "
               "latency.\n",
               eos->msgs_s, base->msgs_s, eos->cpu_per_m, base->cpu_per_m);
}

/* ---- CSV -------------------------------------------------------------- */

static int write_csv(const char *path, const bench_result_t *res, size_t n)
{
    FILE *f = fopen(path, "w");

    if (!f)
        return -1;
    fprintf(f, "partitions,rules,msg_size,msgs,tool,ok,reps,window_msgs,"
               "window_secs,drain_secs,msgs_per_s,msgs_per_s_min,"
               "msgs_per_s_max,mb_per_s,msgs_per_s_per_partition,"
               "mb_per_s_per_partition,cpu_s,cpu_s_per_million,"
               "cpu_total_s,peak_rss_kb,mock_cpu_util,ratio_vs_copy,"
               "ratio_vs_copy_c,lat_p50_ms,lat_p99_ms,lat_max_ms,"
               "tcp_rx_bytes,tcp_tx_bytes,stats_rx_bytes,stats_tx_bytes,"
               "fanout_direct_bytes,fanout_routed_rw_bytes,"
               "fanout_readback_bytes,fanout_io_ratio,ratio_vs_fanout,"
               "cpu_vs_fanout\n");
    for (size_t i = 0; i < n; i++) {
        const bench_result_t *r = &res[i];

        fprintf(f,
                "%d,%d,%d,%ld,%s,%d,%d,%ld,%.4f,%.4f,%.1f,%.1f,%.1f,%.3f,"
                "%.1f,%.3f,%.4f,%.4f,%.3f,%ld,%.3f,%.3f,%.3f,%.2f,%.2f,"
                "%.2f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                ",%" PRIu64 ",%" PRIu64 ",%.3f,%.3f,%.3f\n",
                r->parts, r->rules, r->size, r->msgs, r->tool, r->ok, r->reps,
                r->win_msgs, r->secs, r->drain_s, r->msgs_s, r->msgs_s_min,
                r->msgs_s_max, r->mb_s, r->msgs_s / r->parts,
                r->mb_s / r->parts, r->cpu_s, r->cpu_per_m, r->cpu_total_s,
                r->rss_kb, r->mock_util, vs(res, n, r, "copy"),
                vs(res, n, r, "copy-c"), lat(r->p50), lat(r->p99), lat(r->pmax),
                r->rx, r->tx, r->srx, r->stx, r->direct, r->routed_rw,
                r->readback, fanout(r), vs(res, n, r, FANOUT_TOOL),
                cpu_vs_fanout(res, n, r));
    }
    return close_checked(f);
}

/* ---- plots ------------------------------------------------------------ */

/* msgs/s of tool in group (router: with rules), NaN when missing. */
static double rate_of(const bench_result_t *res, size_t n, int group,
                      const char *tool, int rules, int mb)
{
    const bench_result_t *r = find(res, n, group, tool, rules);

    return r ? (mb ? r->mb_s : r->msgs_s) : NAN;
}

/* One row per group matching (parts or size fixed), x = the other; the
 * columns: router (with `rules`), copy, copy-c, consume, produce. Returns
 * the number of rows written. */
static int sweep_dat(const char *path, const bench_result_t *res, size_t n,
                     int by_parts, int rules, int mb)
{
    static const char *const tools[] = {"copy", "copy-c", "consume", "produce"};
    int groups[BENCH_MAX_GROUPS], ng = 0, rows = 0;
    FILE *f;

    for (size_t i = 0; i < n; i++) {
        const bench_result_t *r = &res[i];
        int seen = 0;

        if (strcmp(r->tool, "router") || r->rules != rules || !r->ok ||
            (by_parts ? r->size != BASE_SIZE : r->parts != BASE_PARTS))
            continue;
        for (int g = 0; g < ng; g++)
            seen |= groups[g] == r->group;
        if (!seen && ng < BENCH_MAX_GROUPS)
            groups[ng++] = r->group;
    }
    if (ng < 2 || !(f = fopen(path, "w")))
        return 0;
    /* In order of x (insertion sort: a handful of rows). */
    for (int i = 1; i < ng; i++)
        for (int k = i; k > 0; k--) {
            const bench_result_t *a =
                find(res, n, groups[k - 1], "router", rules);
            const bench_result_t *c = find(res, n, groups[k], "router", rules);
            int xa = by_parts ? a->parts : a->size;
            int xc = by_parts ? c->parts : c->size;
            int t;

            if (xa <= xc)
                break;
            t = groups[k];
            groups[k] = groups[k - 1];
            groups[k - 1] = t;
        }
    fprintf(f, "# x router copy copy-c consume produce\n");
    for (int g = 0; g < ng; g++) {
        const bench_result_t *r = find(res, n, groups[g], "router", rules);

        fprintf(f, "%d %.1f", by_parts ? r->parts : r->size,
                mb ? r->mb_s : r->msgs_s);
        for (size_t t = 0; t < 4; t++)
            fprintf(f, " %.1f", rate_of(res, n, groups[g], tools[t], 0, mb));
        fputc('\n', f);
        rows++;
    }
    return close_checked(f) == 0 ? rows : 0;
}

/* Router msgs/s by rule count on the group of base (>= 2 rule sets). */
static int rules_dat(const char *path, const bench_result_t *res, size_t n,
                     const bench_result_t *base)
{
    int rows = 0;
    FILE *f;

    for (size_t i = 0; i < n; i++)
        rows += !strcmp(res[i].tool, "router") && res[i].ok &&
                res[i].group == base->group;
    if (rows < 2 || !(f = fopen(path, "w")))
        return 0;
    fprintf(f, "# rules router copy copy-c\n");
    for (size_t i = 0; i < n; i++)
        if (!strcmp(res[i].tool, "router") && res[i].ok &&
            res[i].group == base->group)
            fprintf(f, "%d %.1f %.1f %.1f\n", res[i].rules, res[i].msgs_s,
                    rate_of(res, n, base->group, "copy", 0, 0),
                    rate_of(res, n, base->group, "copy-c", 0, 0));
    return close_checked(f) == 0 ? rows : 0;
}

static int fanout_dat(const char *path, const bench_result_t *base)
{
    FILE *f;

    if (!base->direct || !(f = fopen(path, "w")))
        return 0;
    fprintf(f, "# what read written readback (MB)\n");
    fprintf(f, "\"%d consumers read the source\" %.2f 0 0\n", BENCH_NTYPES,
            base->direct / 1e6);
    fprintf(f, "\"router: read + write + %d read back\" %.2f %.2f %.2f\n",
            BENCH_NTYPES, base->rx / 1e6, base->tx / 1e6, base->readback / 1e6);
    return close_checked(f) == 0 ? 1 : 0;
}

/* Run gnuplot on the script with the data files that exist. */
static int plot(const bench_report_conf_t *c, const char *stem, int parts,
                int rules, int sizes, int fanout, const bench_result_t *base)
{
    char e[4096];
    size_t len = 0;
    pid_t pid;
    int st;

    len += (size_t)snprintf(e + len, sizeof(e) - len,
                            "stem='%s'; title_suffix='%d brokers, 2 cores "
                            "shared with the mock cluster';",
                            stem, c->brokers);
    if (parts)
        len += (size_t)snprintf(e + len, sizeof(e) - len, "have_parts=1;");
    if (rules)
        len += (size_t)snprintf(e + len, sizeof(e) - len,
                                "have_rules=1; rules_parts=%d;", base->parts);
    if (sizes)
        len += (size_t)snprintf(e + len, sizeof(e) - len,
                                "have_sizes=1; sizes_parts=%d;", BASE_PARTS);
    if (fanout)
        len +=
            (size_t)snprintf(e + len, sizeof(e) - len,
                             "have_fanout=1; fanout_ratio=%.2f;", base->fanout);
    if (len >= sizeof(e))
        return -1;
    fflush(NULL);
    pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execlp("gnuplot", "gnuplot", "-e", e, c->gp, (char *)NULL);
        _exit(127);
    }
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return 0;
}

int bench_report(const bench_report_conf_t *c, bench_result_t *res, size_t n)
{
    const bench_result_t *base = base_run(res, n);
    const bench_result_t *cp = NULL, *co = NULL;
    char path[1200], stem[1024];
    int parts = 0, rules = 0, sizes = 0, fan = 0, rc = 0;
    long cores = c->cores > 0 ? c->cores : sysconf(_SC_NPROCESSORS_ONLN);

    printf("\n## router benchmark %s\n\n", c->stamp);
    printf("Machine: %ld cores, shared by the mock cluster (%d brokers, one "
           "thread), the tool measured and the harness: absolute figures "
           "are this box's, the ratios are the point. Load average at the "
           "start %.2f, "
           "at the end %.2f (anything above what the bench itself adds "
           "means other processes competed for the cores).\n",
           cores, c->brokers, c->load_start, c->load_end);
    printf("Same client settings for every tool: consumer");
    for (size_t i = 0; i < c->cprops->n; i++)
        printf(" %s", c->cprops->v[i]);
    printf("; producer");
    for (size_t i = 0; i < c->pprops->n; i++)
        printf(" %s", c->pprops->v[i]);
    if (c->batch > 0)
        printf("; router --batch %d", c->batch);
    else
        printf("; router --batch (default)");
    if (c->lat_rate > 0 && c->lat_secs > 0)
        printf(". Live latency: %d events/s for %.0f s", c->lat_rate,
               c->lat_secs);
    else
        printf(". Live latency: off");
    printf(". Each figure: the median of %d run(s), over the window from "
           "10%% to 90%% of the messages through.\n\n",
           c->reps);
    print_table(res, n);
    print_targets(c, res, n, base);

    if (mkdir(c->outdir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "router-bench: %s: %s\n", c->outdir, strerror(errno));
        rc = -1;
    } else {
        snprintf(path, sizeof(path), "%s/%s.csv", c->outdir, c->stamp);
        if (write_csv(path, res, n) != 0) {
            fprintf(stderr, "router-bench: cannot write %s\n", path);
            rc = -1;
        } else {
            printf("\nCSV: %s\n", path);
        }
        snprintf(stem, sizeof(stem), "%s/%s", c->outdir, c->stamp);
        snprintf(path, sizeof(path), "%s-partitions.dat", stem);
        parts = sweep_dat(path, res, n, 1, BASE_RULES, 0);
        snprintf(path, sizeof(path), "%s-sizes.dat", stem);
        sizes = sweep_dat(path, res, n, 0, BASE_RULES, 1);
        if (base) {
            snprintf(path, sizeof(path), "%s-rules.dat", stem);
            rules = rules_dat(path, res, n, base);
            snprintf(path, sizeof(path), "%s-fanout.dat", stem);
            fan = fanout_dat(path, base);
        }
        if (parts + rules + sizes + fan > 0) {
            if (plot(c, stem, parts, rules, sizes, fan, base) != 0)
                fprintf(stderr, "router-bench: gnuplot failed (plots "
                                "skipped)\n");
            else
                printf("Plots: %s-{%s%s%s%s}.png\n", stem,
                       parts ? "partitions," : "", rules ? "rules," : "",
                       sizes ? "sizes," : "", fan ? "fanout" : "");
        }
    }
    if (c->failures)
        printf("FAILED RUNS: %d (not in the figures; logs in %s)\n",
               c->failures, c->work);
    printf("Wall time: %.0f s\n\n", c->wall_s);
    if (base) {
        cp = find(res, n, base->group, "copy", 0);
        co = find(res, n, base->group, "consume", 0);
    }
    /* A figure not measured is "nan" (and the status -1), never 0. */
    if (!base || !cp || !co || isnan(base->cpu_per_m) || isnan(fanout(base)))
        rc = -1;
    /* eos_ratio is nan without an exactly-once run (--no-eos): required
     * only when one was made. */
    if (eos_tried(res, n, base) && isnan(eos_ratio(res, n, base)))
        rc = -1;
    /* The last line keeps the format of issue 5, the fan-out floor's two
     * figures appended; the exactly-once figure comes on the line before
     * it. */
    printf("bench-eos eos_ratio=%.2f\n", eos_ratio(res, n, base));
    printf("bench router_msgs_per_s=%.0f copy_msgs_per_s=%.0f "
           "consume_msgs_per_s=%.0f ratio_vs_copy=%.2f "
           "cpu_s_per_million=%.2f fanout_io_ratio=%.2f "
           "ratio_vs_fanout=%.2f cpu_vs_fanout=%.2f\n",
           base ? base->msgs_s : NAN, cp ? cp->msgs_s : NAN,
           co ? co->msgs_s : NAN, base ? vs(res, n, base, "copy") : NAN,
           base ? base->cpu_per_m : NAN, base ? fanout(base) : NAN,
           base ? vs(res, n, base, FANOUT_TOOL) : NAN,
           cpu_vs_fanout(res, n, base));
    fflush(stdout);
    return rc;
}
