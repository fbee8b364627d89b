/* bench.h - shared declarations of the router benchmark harness: child
 * processes, the mock cluster, the Kafka clients, events and rules. */
#ifndef ROUTER_BENCH_H
#define ROUTER_BENCH_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#define BENCH_SRC_TOPIC  "bench.src"
#define BENCH_KEY_LEN    8  /* event keys: the user id, "u%07u" */
#define BENCH_NTYPES     10 /* event types = routed topics (K) */
#define BENCH_MAX_PROPS  64 /* -X properties per client */
#define BENCH_MAX_TOPICS 64 /* topics one client reads */

/* ---- bench_proc.c: processes, /proc, socket byte counters ------------ */

/* A child process and the pipes to it (-1: none). */
typedef struct bench_child {
    pid_t pid;      /* 0 once reaped */
    int in_fd;      /* write end of its stdin, or -1 */
    int out_fd;     /* read end of its stdout, or -1 */
    char buf[4096]; /* unread bytes of out_fd */
    size_t buflen;
    struct rusage ru; /* filled by bench_child_wait() */
    int status;       /* wait status */
} bench_child_t;

/* Monotonic clock in seconds (CLOCK_MONOTONIC, shared by all processes). */
double bench_now(void);

/* Wall clock in microseconds (CLOCK_REALTIME): the events' "ts". */
int64_t bench_now_us(void);

/* Sleep ms milliseconds (restarts after signals). */
void bench_sleep_ms(int ms);

/* Start argv[0] (a path) with argv. stdin and stdout are pipes to us when
 * want_in / want_out, else stdin is /dev/null and stdout goes to out_fd_dup
 * (or /dev/null when -1); stderr is appended to errlog (or inherited when
 * NULL). The child gets SIGKILL if we die. Returns 0, or -1 with errstr. */
int bench_spawn(bench_child_t *c, char *const argv[], int want_in, int want_out,
                int in_fd_dup, int out_fd_dup, const char *errlog, char *errstr,
                size_t errstr_size);

/* Read one line of the child's stdout into line (without the newline)
 * within timeout_ms. Returns 0, or -1 on timeout, EOF or error. */
int bench_child_readline(bench_child_t *c, char *line, size_t size,
                         int timeout_ms);

/* Close the child's stdin (its signal to finish). */
void bench_child_close_in(bench_child_t *c);

/* Wait for the child to exit within timeout_ms; then SIGTERM, 5 s later
 * SIGKILL. Fills c->ru and c->status. Returns 0 when it exited by itself
 * with status 0, -1 otherwise. Accepts a child already reaped. */
int bench_child_wait(bench_child_t *c, int timeout_ms);

/* 1 while the child runs (not reaped, not a zombie). */
int bench_child_alive(bench_child_t *c);

/* Send sig to the child (only if not reaped). */
void bench_child_kill(bench_child_t *c, int sig);

/* CPU seconds (user + system, all threads) and peak RSS in KiB of a
 * running process from /proc. Returns 0, or -1. */
int bench_proc_usage(pid_t pid, double *cpu_s, long *hwm_kb);

/* CPU seconds used so far by every live thread of process pid, from
 * /proc/PID/task/TID/schedstat (nanosecond precision). -1 on error. */
double bench_proc_cpu(pid_t pid);

/* Bytes received and sent (acknowledged) over every TCP socket of process
 * pid, from the kernel's tcp_info (sock_diag netlink). Returns 0, or -1
 * with errstr and both set to 0 (unknown). */
int bench_tcp_bytes(pid_t pid, uint64_t *rx, uint64_t *tx, char *errstr,
                    size_t errstr_size);

/* CPU seconds of a rusage. */
double bench_ru_cpu(const struct rusage *ru);

/* ---- bench_data.c: events and rule sets ------------------------------ */

/* The event types; route i sends type i to topic "<prefix>.<type>". */
extern const char *const bench_types[BENCH_NTYPES];

/* A deterministic event generator. */
typedef struct bench_gen {
    uint64_t state; /* xorshift state */
    size_t size;    /* value size in bytes (>= 100) */
    uint64_t seq;   /* events generated */
} bench_gen_t;

/* Start a generator of size-byte events from seed. */
void bench_gen_init(bench_gen_t *g, uint64_t seed, size_t size);

/* Write the next event: a JSON object of exactly g->size bytes (not NUL
 * terminated) into val (room for g->size + 1) with "ts" = ts_us, and its
 * key (the user id) into key (room for 16). Returns the event type index,
 * or -1 when g->size is too small for an event. */
int bench_gen_next(bench_gen_t *g, int64_t ts_us, char *val, char *key,
                   size_t *key_len);

/* Write a rules file of nroutes routes (>= BENCH_NTYPES) reading
 * BENCH_SRC_TOPIC and live: one route per event type to "<prefix>.<type>"
 * (every event matches exactly one) and filler routes that never match
 * (eq/in on one or two fields mostly, a few prefix, regex, header and key
 * tests), three anomalies that never match, dead letter "<prefix>.dead".
 * Returns 0, or -1 with errstr. */
int bench_rules_write(const char *path, int nroutes, const char *prefix,
                      const char *live, char *errstr, size_t errstr_size);

/* ---- bench_kafka.c: clients ------------------------------------------ */

/* Client settings: "k=v" properties. */
typedef struct bench_props {
    const char *v[BENCH_MAX_PROPS];
    size_t n;
} bench_props_t;

/* Append "k=v" (not copied: must outlive the props). Returns 0, or -1 when
 * full. */
int bench_props_add(bench_props_t *p, const char *kv);

/* An -X argument: "consumer.k=v" to c, "producer.k=v" to p, "k=v" to both
 * (not copied). Returns 0, or -1 when a list is full. */
int bench_props_add_x(bench_props_t *c, bench_props_t *p, const char *arg);

/* A Kafka client of type with bootstrap bs and props; quiet logging.
 * stats_cb, when set, gets librdkafka statistics every 100 ms. Returns
 * NULL with errstr set on failure. */
rd_kafka_t *bench_client(rd_kafka_type_t type, const char *bs,
                         const bench_props_t *props,
                         int (*stats_cb)(rd_kafka_t *, char *, size_t, void *),
                         void *opaque, char *errstr, size_t errstr_size);

/* Close the consumer rk (a failure is said on stderr) and free it.
 * Accepts NULL. */
void bench_consumer_destroy(rd_kafka_t *rk);

/* Partition count of topic (metadata), or -1. */
int bench_topic_partitions(rd_kafka_t *rk, const char *topic);

/* Add every partition of topics (n) to l with the given offset. Returns 0,
 * or -1 with errstr when a topic has no metadata. */
int bench_add_partitions(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *l,
                         const char *const *topics, size_t n, int64_t offset,
                         char *errstr, size_t errstr_size);

/* The sum of the high watermarks of a set of topic partitions. */
typedef struct bench_watch bench_watch_t;

/* Watch every partition of topics (n of them) on cluster bs. NULL with
 * errstr on failure. */
bench_watch_t *bench_watch_new(const char *bs, const char *const *topics,
                               size_t n, char *errstr, size_t errstr_size);

/* Sum of the high watermarks now, or -1 on error. */
int64_t bench_watch_total(bench_watch_t *w);

/* The per-partition high watermarks of the last bench_watch_total() (a
 * list owned by w, offsets set). */
const rd_kafka_topic_partition_list_t *bench_watch_last(bench_watch_t *w);

/* Free w. Accepts NULL. */
void bench_watch_destroy(bench_watch_t *w);

/* Live latency: produce rate events/s for secs seconds to src (each with
 * its send time in "ts"), read them from the destination partitions
 * starting at the offsets of from, and report the latency percentiles in
 * milliseconds. Returns 0, or -1 with errstr. */
int bench_latency(const char *bs, const char *src, size_t size,
                  const bench_props_t *cprops,
                  const rd_kafka_topic_partition_list_t *from, int rate,
                  double secs, double *p50, double *p99, double *pmax,
                  long *received, char *errstr, size_t errstr_size);

/* ---- bench_child.c: the child processes ------------------------------- */

/* Subcommands run as child processes by the harness (argv after the
 * subcommand name). Each prints one "result k=v ..." line on stdout, then
 * waits for stdin to close before it exits (so that the harness can read
 * its socket counters). Return the exit status. */
int bench_cmd_mock(int argc, char **argv);
int bench_cmd_produce(int argc, char **argv);
int bench_cmd_consume(int argc, char **argv);
int bench_cmd_copy(int argc, char **argv);
/* The fan-out floor: the copy loop producing each message (key and
 * headers kept) to -d PREFIX.<type>, its "type" found by a plain scan. */
int bench_cmd_fanout(int argc, char **argv);
/* router-bench wait -b BS -t TOPICS -n N: until the topics' high
 * watermarks add up to N (bench/profile.sh's "landed"). Exit status 0,
 * 1 when they do not within CHILD_TIMEOUT_S or cannot be read, 2 on bad
 * arguments. */
int bench_cmd_wait(int argc, char **argv);

#endif
