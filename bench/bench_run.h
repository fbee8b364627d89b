/* bench_run.h - the harness's state and its measurement phases
 * (bench_run.c), shared with the driver (bench_main.c). Internal to
 * router-bench. */
#ifndef ROUTER_BENCH_RUN_H
#define ROUTER_BENCH_RUN_H

#include <signal.h>

#include "bench.h"
#include "bench_report.h"

/* The harness: options, the running mock cluster, the results. */
typedef struct bench {
    char self[4096];              /* our own binary, for the children */
    const char *router;           /* --router */
    const char *kcat;             /* --kcat */
    const char *outdir;           /* --out */
    const char *gp;               /* --plot-script */
    int quick;                    /* --quick */
    int brokers;                  /* --brokers */
    int batch;                    /* --batch (router) */
    int dest_parts;               /* --dest-partitions, 0: auto */
    long msgs_per_part;           /* --msgs-per-partition, 0: auto */
    int lat_rate;                 /* --latency-rate */
    double lat_secs;              /* --latency-secs */
    int no_copy_c;                /* --no-copy-c */
    int no_untuned;               /* --no-untuned */
    int no_eos;                   /* --no-eos */
    int reps;                     /* --repeat */
    const char *compare;          /* --compare: another router binary */
    int keep;                     /* --keep */
    int router_has_admin;         /* the router knows --admin */
    int router_has_eos;           /* ... and --exactly-once */
    bench_props_t cprops, pprops; /* common consumer / producer settings */
    bench_props_t preload;        /* the backlog's producer */
    const char *rargs[32];        /* --router-arg */
    size_t nrargs;
    bench_group_t groups[BENCH_MAX_GROUPS];
    size_t ngroups;

    char work[256]; /* scratch directory (logs, rules) */
    char bs[1024];  /* bootstrap servers of the mock */
    bench_child_t mock;
    int run;      /* runs so far (unique topic names) */
    int failures; /* runs that failed */
    bench_result_t res[BENCH_MAX_RESULTS];
    size_t nres;
} bench_t;

/* Set by SIGINT/SIGTERM: stop at the next check. */
extern volatile sig_atomic_t bench_stop;

/* Progress on stderr (stdout keeps the table and the last line). */
void bench_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Start the mock cluster child (b->bs set). Returns 0, or -1 (said). */
int bench_mock_start(bench_t *b);

/* Stop the mock cluster; returns the CPU seconds it used. */
double bench_mock_stop(bench_t *b);

/* Create topic name with parts partitions on the mock. 0, or -1. */
int bench_topic_create(bench_t *b, const char *name, int parts);

/* Preload g's backlog into BENCH_SRC_TOPIC and check it is all there.
 * Returns 0, or -1 (said). */
int bench_run_preload(bench_t *b, bench_group_t *g);

/* Each measurement below fills r (window, CPU, RSS, socket bytes) and
 * returns 0, or -1 (said; the logs are in b->work). */

/* consume-only of topics (n), or the read-back of the routed topics; the
 * child's stderr goes to b->work/<logname>.log. */
int bench_run_consume(bench_t *b, const char *const *topics, size_t n,
                      long expect, bench_result_t *r, const char *logname);

/* produce-only: the backlog's events into a new topic. */
int bench_run_produce(bench_t *b, bench_group_t *g, bench_result_t *r);

/* The plain copy: kcat -C | kcat -P into a new topic. */
int bench_run_copy(bench_t *b, bench_group_t *g, bench_result_t *r);

/* The C copy loop into a new topic. */
int bench_run_copy_c(bench_t *b, bench_group_t *g, bench_result_t *r);
/* The fan-out floor (`router-bench fanout`): the C copy loop producing
 * each message, key and headers kept, to the one of ten destinations
 * (as many partitions as the router's) its "type" names. 0 or -1. */
int bench_run_fanout(bench_t *b, bench_group_t *g, bench_result_t *r);

/* How bench_run_router() runs the router. */
enum {
    RUN_FULL = 1,         /* also read back (fan-out IO) and live latency */
    RUN_OWN_DEFAULTS = 2, /* without the common -X settings */
    RUN_EXACTLY_ONCE = 4  /* with --exactly-once; no live latency (the mock
                           * does not enforce read_committed) */
};

/* The router binary `router` on g's backlog with a rule set of r->rules
 * routes: drain, CPU, RSS, socket bytes; with RUN_FULL also the read-back
 * of its topics and live latency (not with RUN_EXACTLY_ONCE); then
 * SIGTERM. The drain is judged on the outputs only (the destinations'
 * high watermarks), never on committed offsets. */
int bench_run_router(bench_t *b, bench_group_t *g, bench_result_t *r,
                     const char *router, int mode);

#endif
