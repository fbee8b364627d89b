/* test_bench.c - unit tests of the benchmark harness's own assumptions:
 * events have the exact size and are JSON, every event of every generated
 * rule set goes to exactly its type's topic (the drain's expected count),
 * the per-process TCP byte counters see the bytes a socket moved, and the
 * report never shows a missing figure as a number, met or missed (the
 * exactly-once ratio included). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "bench_report.h"
#include "rules.h"

#define NEVENTS 3000

/* Events are JSON objects of exactly the asked size, with the fields the
 * rules test, and the generator says their type. */
static void events_have_exact_size_and_fields(void **state)
{
    static const size_t sizes[] = {100, 101, 200, 333, 1024, 4096};

    (void)state;
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        char *val = malloc(sizes[s] + 1), key[16];
        bench_gen_t g;

        assert_non_null(val);
        bench_gen_init(&g, 42, sizes[s]);
        for (int i = 0; i < NEVENTS; i++) {
            size_t kl;
            int type =
                bench_gen_next(&g, 1700000000000000LL + i, val, key, &kl);
            json_error_t jerr;
            json_t *o;

            assert_in_range(type, 0, BENCH_NTYPES - 1);
            assert_int_equal(strlen(val), sizes[s]);
            o = json_loadb(val, sizes[s], 0, &jerr);
            assert_non_null(o);
            assert_int_equal(json_integer_value(json_object_get(o, "ts")),
                             1700000000000000LL + i);
            assert_string_equal(json_string_value(json_object_get(o, "type")),
                                bench_types[type]);
            assert_int_equal(kl, strlen(key));
            assert_string_equal(json_string_value(json_object_get(o, "uid")),
                                key);
            assert_non_null(json_string_value(json_object_get(o, "country")));
            assert_non_null(json_string_value(json_object_get(o, "song")));
            json_decref(o);
        }
        free(val);
    }
}

static void size_too_small_for_an_event_fails(void **state)
{
    char val[64], key[16];
    size_t kl;
    bench_gen_t g;

    (void)state;
    bench_gen_init(&g, 1, 60);
    assert_int_equal(bench_gen_next(&g, 1, val, key, &kl), -1);
}

static void same_seed_same_events(void **state)
{
    char a[201], b[201], ka[16], kb[16];
    size_t la, lb;
    bench_gen_t ga, gb;

    (void)state;
    bench_gen_init(&ga, 9, 200);
    bench_gen_init(&gb, 9, 200);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(bench_gen_next(&ga, 5, a, ka, &la),
                         bench_gen_next(&gb, 5, b, kb, &lb));
        assert_memory_equal(a, b, 200);
        assert_string_equal(ka, kb);
    }
}

/* Load the rule set the harness writes for n routes. */
static rules_set_t *load_generated(int n, const char *prefix)
{
    char path[] = "/tmp/test_bench_rules.XXXXXX", errstr[256], *text;
    rules_error_t err;
    rules_set_t *rs;
    long len;
    FILE *f;
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(bench_rules_write(path, n, prefix, "bench.live", errstr,
                                       sizeof(errstr)),
                     0);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    len = ftell(f);
    rewind(f);
    text = malloc((size_t)len);
    assert_non_null(text);
    assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    unlink(path);
    rs = rules_load(text, (size_t)len, &err);
    if (!rs)
        fail_msg("rules for %d routes: %s", n, err.msg);
    free(text);
    return rs;
}

/* The drain's expected count relies on this: every event goes to exactly
 * one topic, its type's, and nothing is dead-lettered or unmatched. */
static void every_event_routes_to_its_type_topic_only(void **state)
{
    static const int routes[] = {10, 11, 100, 1000};
    static const size_t sizes[] = {100, 200, 1024};
    rules_scratch_t *sc = rules_scratch_create();

    (void)state;
    assert_non_null(sc);
    for (size_t r = 0; r < sizeof(routes) / sizeof(routes[0]); r++) {
        rules_set_t *rs = load_generated(routes[r], "bench.t");

        assert_int_equal(rules_route_count(rs), (size_t)routes[r]);
        assert_int_equal(rules_source_count(rs), 2);
        assert_string_equal(rules_source(rs, 0), BENCH_SRC_TOPIC);
        assert_string_equal(rules_dead_letter_topic(rs), "bench.t.dead");
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            char *val = malloc(sizes[s] + 1), key[16], want[64];
            bench_gen_t g;

            assert_non_null(val);
            bench_gen_init(&g, 3, sizes[s]);
            for (int i = 0; i < NEVENTS; i++) {
                size_t kl;
                int type = bench_gen_next(&g, 1, val, key, &kl);
                rules_msg_t m = {BENCH_SRC_TOPIC, 0,    i,   0, key, kl, val,
                                 sizes[s],        NULL, NULL};
                const rules_result_t *res = rules_eval(rs, &m, sc);

                assert_non_null(res);
                assert_false(res->dead_letter);
                assert_false(res->unmatched);
                assert_int_equal(res->ndests, 1);
                snprintf(want, sizeof(want), "bench.t.%s", bench_types[type]);
                assert_string_equal(res->dests[0].topic, want);
            }
            free(val);
        }
        rules_destroy(rs);
    }
    rules_scratch_destroy(sc);
}

/* The fan-out figure counts TCP bytes per process: a loopback connection
 * inside this process moves n bytes each way, the counters see at least
 * that much (both ends are ours). */
static void tcp_counters_see_socket_bytes(void **state)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    static char buf[200000];
    uint64_t rx0, tx0, rx1, tx1;
    char errstr[256];
    int ls, cs, as;
    size_t got = 0;

    (void)state;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ls = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(ls >= 0);
    assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(ls, 1), 0);
    assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &sl), 0);
    cs = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(cs, (struct sockaddr *)&sa, sizeof(sa)), 0);
    as = accept(ls, NULL, NULL);
    assert_true(as >= 0);
    assert_int_equal(
        bench_tcp_bytes(getpid(), &rx0, &tx0, errstr, sizeof(errstr)), 0);
    memset(buf, 'x', sizeof(buf));
    /* Send in pieces the peer drains, so nothing blocks. */
    for (size_t off = 0; off < sizeof(buf); off += 50000) {
        assert_int_equal(send(cs, buf + off, 50000, 0), 50000);
        for (size_t want = off + 50000; got < want;) {
            ssize_t r = recv(as, buf, sizeof(buf), 0);

            assert_true(r > 0);
            got += (size_t)r;
        }
    }
    assert_int_equal(
        bench_tcp_bytes(getpid(), &rx1, &tx1, errstr, sizeof(errstr)), 0);
    assert_true(rx1 - rx0 >= sizeof(buf));
    assert_true(rx1 - rx0 < sizeof(buf) + 1000);
    assert_true(tx1 - tx0 >= sizeof(buf));
    assert_true(tx1 - tx0 < sizeof(buf) + 1000);
    close(as);
    close(cs);
    close(ls);
}

/* A process whose sockets cannot be read fails, with the counters at 0
 * (unknown), never a partial sum. */
static void tcp_counters_fail_without_a_process(void **state)
{
    uint64_t rx = 1, tx = 1;
    char errstr[256] = "";

    (void)state;
    assert_int_equal(bench_tcp_bytes(-1, &rx, &tx, errstr, sizeof(errstr)), -1);
    assert_true(rx == 0 && tx == 0);
    assert_true(errstr[0] != '\0');
}

static void proc_cpu_grows_with_work(void **state)
{
    double a = bench_proc_cpu(getpid()), b;
    volatile uint64_t x = 0;

    (void)state;
    assert_true(a >= 0);
    for (uint64_t i = 0; i < 50000000ULL; i++)
        x += i * i;
    b = bench_proc_cpu(getpid());
    assert_true(b > a);
    assert_true(bench_proc_cpu(-1) < 0);
}

/* ---- the report ------------------------------------------------------- */

/* A measured result of tool on backlog 0 (16 partitions, 200 B). */
static bench_result_t result(const char *tool, int rules, double msgs_s,
                             double cpu_per_m)
{
    bench_result_t r;

    memset(&r, 0, sizeof(r));
    r.parts = 16;
    r.size = 200;
    r.rules = rules;
    r.msgs = 254400;
    snprintf(r.tool, sizeof(r.tool), "%s", tool);
    r.ok = 1;
    r.reps = 1;
    r.msgs_s = msgs_s;
    r.mb_s = msgs_s * 208 / 1e6;
    r.cpu_per_m = cpu_per_m;
    r.p50 = r.p99 = r.pmax = -1;
    return r;
}

/* The consume, produce and copy results every report test starts with
 * (res[0..2]); returns their count. */
static size_t baselines(bench_result_t *res)
{
    res[0] = result("consume", 0, 2000000, 0.5);
    res[1] = result("produce", 0, 1000000, 1.5);
    res[2] = result("copy", 0, 800000, 1.7);
    return 3;
}

/* Read the file at path into buf (NUL terminated). */
static void slurp(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    size_t len;

    assert_non_null(f);
    len = fread(buf, 1, size - 1, f);
    buf[len] = '\0';
    fclose(f);
}

/* Run bench_report() on res into a temporary directory; its stdout into
 * out and, when csv is not NULL, the CSV into csv (NUL terminated).
 * Returns its status. */
static int report_csv(bench_result_t *res, size_t n, char *out, size_t size,
                      char *csv, size_t csv_size)
{
    static const bench_props_t none = {{0}, 0};
    char dir[] = "/tmp/test_bench_report.XXXXXX", path[256];
    bench_report_conf_t c;
    int fd, saved, rc;

    assert_non_null(mkdtemp(dir));
    memset(&c, 0, sizeof(c));
    c.outdir = dir;
    c.stamp = "t";
    c.gp = "/nonexistent.gp";
    c.brokers = 3;
    c.cprops = c.pprops = &none;
    c.reps = 1;
    c.work = dir;
    c.cores = 2;
    snprintf(path, sizeof(path), "%s/stdout", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fd, STDOUT_FILENO) >= 0);
    rc = bench_report(&c, res, n);
    fflush(stdout);
    assert_true(dup2(saved, STDOUT_FILENO) >= 0);
    close(saved);
    close(fd);
    slurp(path, out, size);
    unlink(path);
    snprintf(path, sizeof(path), "%s/t.csv", dir);
    if (csv)
        slurp(path, csv, csv_size);
    assert_int_equal(unlink(path), 0); /* the CSV was written */
    assert_int_equal(rmdir(dir), 0);   /* and nothing else */
    return rc;
}

static int report(bench_result_t *res, size_t n, char *out, size_t size)
{
    return report_csv(res, n, out, size, NULL, 0);
}

/* The field column of the CSV row of tool into buf, or fail. */
static const char *csv_field(const char *csv, const char *tool,
                             const char *column, char *buf, size_t size)
{
    const char *row = csv, *p;
    int col = 0, tcol = -1, want = -1;
    size_t n;

    /* The header: which columns are "tool" and column. */
    for (p = csv; *p && *p != '\n'; p += n + (p[n] == ',')) {
        n = strcspn(p, ",\n");
        if (n == strlen(column) && !strncmp(p, column, n))
            want = col;
        if (n == 4 && !strncmp(p, "tool", 4))
            tcol = col;
        col++;
    }
    if (want < 0 || tcol < 0)
        fail_msg("no column %s in the CSV", column);
    for (row = strchr(csv, '\n'); row && row[1]; row = strchr(row, '\n')) {
        const char *f[64];
        int nf = 0;

        row++;
        for (p = row; nf < 64; p += n + 1) {
            n = strcspn(p, ",\n");
            f[nf++] = p;
            if (p[n] != ',')
                break;
        }
        if (tcol < nf && !strncmp(f[tcol], tool, strlen(tool)) &&
            f[tcol][strlen(tool)] == ',' && want < nf) {
            snprintf(buf, size, "%.*s", (int)strcspn(f[want], ",\n"), f[want]);
            return buf;
        }
    }
    fail_msg("no CSV row for %s", tool);
    return NULL;
}

/* The first line of out that starts with prefix (without its newline),
 * or fail. */
static const char *line_of(const char *out, const char *prefix, char *buf,
                           size_t size)
{
    const char *p = out;

    while (p && strncmp(p, prefix, strlen(prefix)))
        if ((p = strchr(p, '\n')))
            p++;
    if (!p)
        fail_msg("no line \"%s\" in:\n%s", prefix, out);
    snprintf(buf, size, "%.*s", (int)strcspn(p, "\n"), p);
    return buf;
}

/* Everything measured: each target says met or MISSED from its figure,
 * the last line carries the figures, and the status is 0. */
static void report_checks_each_measured_target(void **state)
{
    bench_result_t res[7];
    char out[16384], csv[8192], l[512];

    (void)state;
    baselines(res);
    res[3] = result("copy-c", 0, 500000, 1.2);
    res[4] = result("router", 100, 400000, 2.4);
    res[4].fanout = 3.3;
    res[4].p50 = 4.5;
    res[5] = result("router-eos", 100, 300000, 3.0);
    res[6] = result("copy-fanout", 0, 500000, 1.5);
    assert_int_equal(report_csv(res, 7, out, sizeof(out), csv, sizeof(csv)), 0);
    assert_string_equal(
        csv_field(csv, "router", "ratio_vs_fanout", l, sizeof(l)), "0.800");
    assert_string_equal(csv_field(csv, "router", "cpu_vs_fanout", l, sizeof(l)),
                        "1.600");
    assert_string_equal(
        line_of(out, "| fan-out floor: msg/s", l, sizeof(l)),
        "| fan-out floor: msg/s vs copy-fanout | 0.80x | >= 0.85x | MISSED |");
    assert_string_equal(
        line_of(out, "| fan-out floor: CPU", l, sizeof(l)),
        "| fan-out floor: CPU/M msgs vs copy-fanout | 1.60x | <= 1.2x | "
        "MISSED |");
    assert_string_equal(
        csv_field(csv, "router", "fanout_io_ratio", l, sizeof(l)), "3.300");
    assert_string_equal(csv_field(csv, "router", "ratio_vs_copy", l, sizeof(l)),
                        "0.500");
    assert_string_equal(csv_field(csv, "router", "lat_p50_ms", l, sizeof(l)),
                        "4.50");
    assert_null(strstr(out, "nan"));
    assert_null(strstr(out, "not measured"));
    assert_string_equal(line_of(out, "| msg/s vs plain copy", l, sizeof(l)),
                        "| msg/s vs plain copy (kcat pipe) | 0.50x | >= 1.5x "
                        "| MISSED |");
    assert_string_equal(line_of(out, "| msg/s vs C copy", l, sizeof(l)),
                        "| msg/s vs C copy loop (informative) | 0.80x |  |  |");
    assert_string_equal(line_of(out, "| CPU/M msgs", l, sizeof(l)),
                        "| CPU/M msgs vs consume-only + produce-only (0.50 + "
                        "1.50 s) | 1.20x | <= 1.5x | met |");
    assert_string_equal(line_of(out, "| fan-out IO ratio", l, sizeof(l)),
                        "| fan-out IO ratio, K=10 | 3.30 | >= 3 | met |");
    assert_string_equal(line_of(out, "| exactly-once", l, sizeof(l)),
                        "| exactly-once msg/s vs at-least-once (informative) "
                        "| 0.75x |  |  |");
    assert_non_null(strstr(out, "| router-eos | 300000 |"));
    assert_string_equal(line_of(out, "bench ", l, sizeof(l)),
                        "bench router_msgs_per_s=400000 "
                        "copy_msgs_per_s=800000 consume_msgs_per_s=2000000 "
                        "ratio_vs_copy=0.50 cpu_s_per_million=2.40 "
                        "fanout_io_ratio=3.30 ratio_vs_fanout=0.80 "
                        "cpu_vs_fanout=1.60");
    assert_string_equal(line_of(out, "bench-eos ", l, sizeof(l)),
                        "bench-eos eos_ratio=0.75");
}

/* The CPU budget of the throughput goal: the cores' CPU per million
 * messages at 1.5x the copy, less the mock's share, against consume-only
 * plus produce-only; said only when all of it was measured. */
static void report_budget_of_the_throughput_goal(void **state)
{
    bench_result_t res[4];
    char out[16384];

    (void)state;
    baselines(res); /* consume 0.5 + produce 1.5 s per million */
    res[3] = result("router", 100, 400000, 2.4);
    res[3].fanout = 3.3;
    /* 1.5 x 800000 msg/s on 2 cores: 1.67 s per million, no mock share. */
    assert_int_equal(report(res, 4, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "1.5x the copy is 1200000 msg/s. At that "
                                "rate 2 cores give the router at most 1.67 "
                                "CPU s per million messages (1.67, less the "
                                "mock's 0.00 per million"));
    assert_non_null(strstr(out, "Consume-only plus produce-only take 2.00 s "
                                "per million on their own, the router 2.40. "
                                "The goal is out of reach on this machine"));

    /* A slower copy: 600000 msg/s give 3.33 s per million, less the
     * mock's 0.2 cores at the router's 400000 msg/s (0.50). */
    res[2].msgs_s = 400000;
    res[3].mock_util = 0.2;
    assert_int_equal(report(res, 4, out, sizeof(out)), 0);
    assert_non_null(strstr(out, "at most 2.83 CPU s per million messages "
                                "(3.33, less the mock's 0.50 per million"));
    assert_non_null(strstr(out, "The goal fits only if the router's own "
                                "work (rules, offset tracking, delivery "
                                "reports) costs under 0.83 s per million."));
    assert_null(strstr(out, "out of reach"));

    /* No copy measured: no budget. */
    res[2].ok = 0;
    report(res, 4, out, sizeof(out));
    assert_null(strstr(out, "CPU budget"));
}

/* The exactly-once ratio is taken against the at-least-once run of the
 * same backlog and rule set, never another one; without an exactly-once
 * run (--no-eos) it is "not measured" and nan, and the status does not
 * depend on it; a failed exactly-once run makes the status -1. */
static void report_eos_ratio_of_the_base_rule_set(void **state)
{
    bench_result_t res[7];
    char out[16384], l[512];

    (void)state;
    baselines(res);
    res[3] = result("router-eos", 10, 100000, 9.0); /* other rules */
    res[4] = result("router", 100, 400000, 2.4);
    res[4].fanout = 3.3;
    res[5] = result("router-eos", 100, 300000, 9.0); /* other backlog */
    res[5].group = 1;
    res[5].parts = 4;
    res[6] = result("router-eos", 100, 200000, 4.0);
    assert_int_equal(report(res, 7, out, sizeof(out)), 0);
    assert_string_equal(line_of(out, "bench-eos ", l, sizeof(l)),
                        "bench-eos eos_ratio=0.50");

    /* --no-eos: no exactly-once row at all. */
    res[3] = res[4];
    assert_int_equal(report(res, 4, out, sizeof(out)), 0);
    assert_string_equal(line_of(out, "| exactly-once", l, sizeof(l)),
                        "| exactly-once msg/s vs at-least-once (informative) "
                        "| - |  | not measured |");
    assert_null(strstr(out, "router-eos"));
    assert_string_equal(line_of(out, "bench-eos ", l, sizeof(l)),
                        "bench-eos eos_ratio=nan");

    /* The exactly-once run failed: nan, and the status says so. */
    res[3] = result("router-eos", 10, 100000, 9.0);
    res[6].ok = 0;
    assert_int_equal(report(res, 7, out, sizeof(out)), -1);
    assert_non_null(strstr(out, "| router-eos | failed |"));
    assert_string_equal(line_of(out, "bench-eos ", l, sizeof(l)),
                        "bench-eos eos_ratio=nan");
}

/* Figures missing (no C copy, no produce-only, CPU and fan-out not
 * measured): "-" and "not measured", never "nan" in the tables nor met or
 * MISSED; the last line says nan, never 0; the status is -1. */
static void report_never_shows_a_missing_figure_as_a_number(void **state)
{
    bench_result_t res[4];
    char out[16384], csv[8192], l[512];
    static const char *const unmeasured[] = {
        "cpu_s_per_million", "lat_p50_ms",      "lat_p99_ms",
        "lat_max_ms",        "fanout_io_ratio", "ratio_vs_copy_c",
        "ratio_vs_fanout",   "cpu_vs_fanout"};

    (void)state;
    baselines(res);
    res[1].cpu_per_m = NAN;
    res[1].ok = 0; /* failed */
    res[3] = result("router", 100, 400000, NAN);
    assert_int_equal(report_csv(res, 4, out, sizeof(out), csv, sizeof(csv)),
                     -1);
    /* No row of the tables (lines that start with "|") shows nan. */
    for (const char *p = out; *p;) {
        size_t len = strcspn(p, "\n");

        if (*p == '|' && memmem(p, len, "nan", 3))
            fail_msg("nan in a table row: %.*s", (int)len, p);
        p += len + (p[len] == '\n');
    }
    assert_non_null(strstr(out, "| 16 | 100 | 200 | 254400 | router | 400000"));
    assert_non_null(strstr(out, "| produce | failed |"));
    /* Nor does the CSV show a figure not measured as a number. */
    for (size_t i = 0; i < sizeof(unmeasured) / sizeof(unmeasured[0]); i++)
        assert_string_equal(
            csv_field(csv, "router", unmeasured[i], l, sizeof(l)), "nan");
    assert_string_equal(line_of(out, "| msg/s vs plain copy", l, sizeof(l)),
                        "| msg/s vs plain copy (kcat pipe) | 0.50x | >= 1.5x "
                        "| MISSED |");
    assert_string_equal(line_of(out, "| msg/s vs C copy", l, sizeof(l)),
                        "| msg/s vs C copy loop (informative) | - |  | not "
                        "measured |");
    assert_string_equal(line_of(out, "| CPU/M msgs", l, sizeof(l)),
                        "| CPU/M msgs vs consume-only + produce-only (0.50 + "
                        "- s) | - | <= 1.5x | not measured |");
    assert_string_equal(line_of(out, "| fan-out IO ratio", l, sizeof(l)),
                        "| fan-out IO ratio, K=10 | - | >= 3 | not measured |");
    assert_string_equal(line_of(out, "bench ", l, sizeof(l)),
                        "bench router_msgs_per_s=400000 "
                        "copy_msgs_per_s=800000 consume_msgs_per_s=2000000 "
                        "ratio_vs_copy=0.50 cpu_s_per_million=nan "
                        "fanout_io_ratio=nan ratio_vs_fanout=nan "
                        "cpu_vs_fanout=nan");
}

/* No router run at all: no target is checked, every figure of the last
 * line is nan, the status is -1. */
static void report_without_router_checks_nothing(void **state)
{
    bench_result_t res[1];
    char out[16384], l[512];

    (void)state;
    res[0] = result("consume", 0, 2000000, 0.5);
    assert_int_equal(report(res, 1, out, sizeof(out)), -1);
    assert_non_null(strstr(out, "No router run completed"));
    assert_null(strstr(out, "met"));
    assert_string_equal(line_of(out, "bench ", l, sizeof(l)),
                        "bench router_msgs_per_s=nan copy_msgs_per_s=nan "
                        "consume_msgs_per_s=nan ratio_vs_copy=nan "
                        "cpu_s_per_million=nan fanout_io_ratio=nan "
                        "ratio_vs_fanout=nan cpu_vs_fanout=nan");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(events_have_exact_size_and_fields),
        cmocka_unit_test(size_too_small_for_an_event_fails),
        cmocka_unit_test(same_seed_same_events),
        cmocka_unit_test(every_event_routes_to_its_type_topic_only),
        cmocka_unit_test(tcp_counters_see_socket_bytes),
        cmocka_unit_test(tcp_counters_fail_without_a_process),
        cmocka_unit_test(proc_cpu_grows_with_work),
        cmocka_unit_test(report_checks_each_measured_target),
        cmocka_unit_test(report_eos_ratio_of_the_base_rule_set),
        cmocka_unit_test(report_budget_of_the_throughput_goal),
        cmocka_unit_test(report_never_shows_a_missing_figure_as_a_number),
        cmocka_unit_test(report_without_router_checks_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
