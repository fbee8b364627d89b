/* bench_report.h - the benchmark's results and how they are reported:
 * Markdown table, CSV, gnuplot PNGs, target checks, the last line. */
#ifndef ROUTER_BENCH_REPORT_H
#define ROUTER_BENCH_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "bench.h"

#define BENCH_MAX_GROUPS   16
#define BENCH_MAX_RULESETS 8
#define BENCH_MAX_RESULTS  128

/* The base configuration: the quick run, the rules sweep, the targets. */
#define BENCH_BASE_PARTS 16
#define BENCH_BASE_RULES 100
#define BENCH_BASE_SIZE  200

/* One backlog (mock cluster + preloaded source) and the rule sets the
 * router runs on it. */
typedef struct bench_group {
    int parts;                     /* source partitions */
    int size;                      /* event value size, bytes */
    int rules[BENCH_MAX_RULESETS]; /* router runs: routes per rule set */
    int nrules;
    long msgs; /* backlog messages */
    int base;  /* the base configuration's backlog */
} bench_group_t;

/* One tool measured on one backlog. */
typedef struct bench_result {
    int group;              /* index of its backlog */
    int parts, size, rules; /* rules: 0 for the baselines */
    long msgs;
    char tool[16];                 /* consume produce copy copy-c router */
    int ok;                        /* measured */
    double drain_s;                /* first message through to last */
    double secs;                   /* the measured window: from 10% of the
                                    * messages through to 90% */
    long win_msgs;                 /* messages through in the window */
    double msgs_s, mb_s;           /* payload (value + key) rates */
    int reps;                      /* successful repetitions (the median
                                    * one is reported) */
    double msgs_s_min, msgs_s_max; /* spread over the repetitions */
    double cpu_s, cpu_per_m;       /* CPU seconds in the window, per million
                                    * messages */
    double mock_util;              /* mock cluster CPU s per s in the window
                                    * (1.0: one core busy) */
    double cpu_total_s;            /* router: CPU s from start to drained */
    long rss_kb;                   /* peak RSS (sum over a kcat pipe) */
    double p50, p99, pmax;         /* live latency, ms (router; else < 0) */
    uint64_t rx, tx;               /* TCP bytes of its sockets (0: unknown) */
    uint64_t srx, stx;             /* librdkafka statistics rx/tx_bytes */
    uint64_t direct;               /* fan-out: K x consume-only bytes */
    uint64_t routed_rw;            /* router read + written bytes */
    uint64_t readback;             /* K consumers reading routed topics */
    double fanout;                 /* direct / (routed_rw + readback) */
} bench_result_t;

/* How the run was set up, for the report. */
typedef struct bench_report_conf {
    const char *outdir; /* CSV and PNGs go there */
    const char *stamp;  /* file name stem */
    const char *gp;     /* gnuplot script */
    int quick;
    int brokers;
    const bench_props_t *cprops, *pprops;
    int batch; /* router --batch, 0: its default */
    int lat_rate;
    double lat_secs;
    int reps;                    /* runs of each measurement */
    int failures;                /* runs that failed */
    const char *work;            /* where their logs are */
    double load_start, load_end; /* 1-minute load average, -1: unknown */
    double wall_s;               /* harness wall time so far */
    int cores;                   /* CPU cores, 0: the machine's online ones */
} bench_report_conf_t;

/* Print the table and target checks on stdout, write
 * <outdir>/<stamp>.csv and the PNG plots, and print the machine-readable
 * last line. Returns 0, or -1 when the base configuration's figures are
 * missing (a run failed) or a file could not be written. */
int bench_report(const bench_report_conf_t *c, bench_result_t *res, size_t n);

#endif
