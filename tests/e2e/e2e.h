/* e2e.h - shared parts of the end-to-end test tool: the topics of the test
 * cluster, the deterministic dataset, what tests/e2e/rules-e2e.json must do
 * with each message (worked out from how it was generated, not by running
 * a rule engine), Kafka's murmur2 partitioner, and the subcommands. */
#ifndef E2E_H
#define E2E_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>
#include <stdint.h>

#define E2E_SOURCE_TOPIC      "e2e.src"
#define E2E_SOURCE_PARTITIONS 4
#define E2E_DLQ_TOPIC         "e2e.dlq"
#define E2E_HDR_N             "e2e.n" /* header carrying the message index */
#define E2E_TS_BASE           1700000000000LL /* timestamp of message 0 */
#define E2E_MAX_OUTS          10
#define E2E_MAX_HDRS          4
#define E2E_VALUE_MAX         10240
#define E2E_OVERSIZE_PAD      9000 /* bytes of padding of oversize values */

/* How the partition of an output message is checked. */
enum e2e_place {
    E2E_PLACE_ANY = 0, /* null key: the partitioner picks any */
    E2E_PLACE_HASH,    /* murmur2(key) like the Java client */
    E2E_PLACE_SOURCE   /* source partition modulo the partition count */
};

/* One topic of the test cluster. */
typedef struct e2e_topic {
    const char *name;
    int partitions;
} e2e_topic_t;

/* Every topic the mock cluster must create, the source first. */
extern const e2e_topic_t e2e_topics[];
extern const size_t e2e_topic_count;

/* Index of topic name in e2e_topics, -1 when it is not one of them. */
int e2e_topic_index(const char *name, size_t len);

/* One message the router must produce for a source message. */
typedef struct e2e_out {
    int topic;            /* index in e2e_topics */
    int key_uid;          /* 1: key rewritten to /uid; 0: the source key */
    enum e2e_place place; /* how to check its partition */
    const char *reason;   /* dead letter: expected router.reason */
    const char *route;    /* dead letter: expected router.route, or NULL
                           * when the header must be absent */
    const char *by;       /* routed: the route that names this topic
                           * first, NULL for the unmatched topic */
} e2e_out_t;

/* One source header. */
typedef struct e2e_hdr {
    const char *name;
    char value[40];
    size_t len;
} e2e_hdr_t;

/* One generated source message and its expected outcome. */
typedef struct e2e_msg {
    uint64_t n;        /* index in the dataset */
    int32_t partition; /* source partition it is produced to */
    int64_t timestamp; /* its CreateTime, ms */
    int key_null;      /* 1: null key */
    char key[16];
    size_t key_len;
    char uid[24]; /* decoded /uid when it has one */
    size_t uid_len;
    char value[E2E_VALUE_MAX];
    size_t value_len;
    e2e_hdr_t hdrs[E2E_MAX_HDRS];
    size_t nhdrs;
    e2e_out_t outs[E2E_MAX_OUTS]; /* deduplicated by topic */
    size_t nouts;
    const char *kind; /* category, for reports */
} e2e_msg_t;

/* Fill *m with message n of the dataset of this seed. Deterministic, can't
 * fail. m is about 11 KB: do not put many on the stack. */
void e2e_gen(uint64_t seed, uint64_t n, e2e_msg_t *m);

/* Reason of the dead letter of a produce that failed permanently. */
#define E2E_PRODUCE_FAILED "produce_failed"

/* Turn message m's output to topic t (an index in e2e_topics), if it has
 * one, into the dead letter the router owes when every produce to t fails
 * permanently: router.reason produce_failed, router.route the route that
 * named t, the source key. Returns 1 when it did, 0 when m has no output
 * to t, -1 when m already has a produce_failed dead letter (two could not
 * be told apart: the expectation can't be written; m is left as it was).
 * A dead letter of another reason may be there too: the verifier tells
 * them apart by router.reason. */
int e2e_fail_topic(e2e_msg_t *m, int t);

/* Kafka's murmur2 (Java Utils.murmur2, seed 0x9747b28c). */
uint32_t e2e_murmur2(const void *data, size_t len);

/* The partition the Java client and librdkafka's murmur2_random put a
 * non-null key in: (murmur2(key) & 0x7fffffff) % cnt. */
int32_t e2e_key_partition(const void *key, size_t len, int32_t cnt);

/* Self-checks of the dataset and murmur2; 0 when all pass. */
int e2e_selftest(void);

/* Subcommands: argc/argv start at the subcommand name. Each returns the
 * process exit code (0 ok, 1 failed check or runtime error, 2 usage). */
int e2e_cmd_verify(int argc, char **argv);
int e2e_cmd_emulate(int argc, char **argv);

/* Helpers shared by the subcommands (e2e_tool.c). */
double e2e_now(void);
int e2e_parse_u64(const char *s, uint64_t *out);

/* One option of a subcommand, in a table ended by {NULL}: "NAME VALUE"
 * stores VALUE in *str, or parses it (a decimal integer >= 0) into *num;
 * a flag "NAME" (str and num NULL) sets *flag to 1. */
typedef struct e2e_opt {
    const char *name;
    const char **str;
    uint64_t *num;
    int *flag;
} e2e_opt_t;

/* Parse argv[1..argc) (argv[0] is the subcommand) against opts. Returns 0,
 * or -1 on an unknown option, a missing or malformed value. */
int e2e_opts_parse(int argc, char **argv, const e2e_opt_t *opts);

/* A librdkafka client of type on brokers, with props (name, value pairs,
 * NULL-ended; may be NULL) and, when dr is not NULL, that delivery report
 * callback with opaque. NULL (logged) on error; the caller destroys it. */
rd_kafka_t *e2e_client_new(
    rd_kafka_type_t type, const char *brokers, const char *const *props,
    void (*dr)(rd_kafka_t *, const rd_kafka_message_t *, void *), void *opaque);
/* 1 once SIGINT or SIGTERM arrived (handlers installed by main()). */
int e2e_stopping(void);

#endif
