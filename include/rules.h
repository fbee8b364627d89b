/* rules.h - the routing rule engine: parse, validate and compile a JSON
 * rules file (docs/rules.md), then evaluate one message
 * against it and say what to do with it.
 *
 * Pure: no librdkafka, no HTTP, no threads, no globals. A compiled
 * rules_set_t is immutable and may be read by any number of threads; each
 * evaluating thread owns its own rules_scratch_t. */
#ifndef ROUTER_RULES_H
#define ROUTER_RULES_H

#include <stddef.h>
#include <stdint.h>

/* rules_dest_t.partition when the producer's partitioner chooses. */
#define RULES_PARTITION_ANY (-1)

typedef struct rules_set rules_set_t;
typedef struct rules_scratch rules_scratch_t;

/* Where a load failed: msg names the place ("routes[3].if.field: JSON
 * Pointer must start with '/'"); line and column are 1-based when jansson
 * gave them (syntax errors), 0 otherwise. */
typedef struct rules_error {
    char msg[512];
    int line;
    int column;
} rules_error_t;

/* The message being routed, as seen by the rule engine. Nothing is copied:
 * every pointer must stay valid during rules_eval() and for as long as the
 * result is used (keys of destinations may point into it). */
typedef struct rules_msg {
    const char *topic; /* source topic, NUL-terminated */
    int32_t partition; /* source partition */
    int64_t offset;    /* source offset */
    int64_t timestamp; /* ms since the epoch, -1 when unknown */
    const void *key;   /* NULL: null key */
    size_t key_len;
    const void *value; /* NULL: null value (tombstone) */
    size_t value_len;
    /* Header lookup: find the last header called name; on success set *val
     * (NULL for a null header value) and *len and return 0; return -1 when
     * there is no such header. NULL: the message has no headers. */
    int (*header)(void *opaque, const char *name, const void **val,
                  size_t *len);
    void *header_opaque; /* passed to header() */
} rules_msg_t;

/* One destination the message must be produced to. */
typedef struct rules_dest {
    const char *topic; /* NUL-terminated, valid until the next
                        * rules_eval() with the same scratch */
    const void *key;   /* key to produce with: the source key, or the
                        * rewritten one (owned by the scratch); NULL
                        * for a null key */
    size_t key_len;
    int32_t partition; /* RULES_PARTITION_ANY, or the source partition
                        * for "partition": "source" (the caller takes
                        * it modulo the destination's partitions) */
    int route;         /* index of the route, -1 for the "unmatched"
                        * topic */
} rules_dest_t;

/* What to do with one message. The message is wholly handled when every
 * destination has been produced and, if dead_letter is set, it has been
 * dead-lettered once. No destination and no dead letter means: dropped by
 * rule (unmatched "drop"). */
typedef struct rules_result {
    const rules_dest_t *dests; /* deduplicated by topic, in route order */
    size_t ndests;
    int dead_letter;         /* 1: produce to the dead-letter topic */
    const char *reason;      /* dead_letter: anomaly name,
                              * "bad_destination", "unmatched",
                              * "regex_limit" */
    const char *detail;      /* dead_letter: human text, never NULL */
    int route;               /* dead_letter: index of the route whose
                              * action failed, or -1 */
    int anomaly;             /* index of the anomaly that matched, -1 */
    int unmatched;           /* 1 when no route matched */
    const uint32_t *matched; /* indexes of the routes that matched, in
                              * order (for metrics) */
    size_t nmatched;
} rules_result_t;

/* Parse, validate and compile the rules in text[0..len). The whole file is
 * rejected on the first error: NULL is returned and *err (if not NULL) says
 * where and why. The caller owns the result and frees it with
 * rules_destroy(). */
rules_set_t *rules_load(const char *text, size_t len, rules_error_t *err);

/* Free a rule set. Accepts NULL. */
void rules_destroy(rules_set_t *rs);

/* The source topics to subscribe to (names, or "^regex" subscriptions). */
size_t rules_source_count(const rules_set_t *rs);
const char *rules_source(const rules_set_t *rs, size_t i);

/* The dead-letter topic, or NULL when the file names none. */
const char *rules_dead_letter_topic(const rules_set_t *rs);

/* Routes and anomalies, by index (names are unique within each list). */
size_t rules_route_count(const rules_set_t *rs);
const char *rules_route_name(const rules_set_t *rs, size_t i);
size_t rules_anomaly_count(const rules_set_t *rs);
const char *rules_anomaly_name(const rules_set_t *rs, size_t i);

/* Literal destination topics named anywhere in the rules (routes without
 * templates, the unmatched topic, the dead letter), deduplicated. */
size_t rules_topic_count(const rules_set_t *rs);
const char *rules_topic(const rules_set_t *rs, size_t i);

/* Create the per-thread working memory of rules_eval(). Returns NULL when
 * out of memory. It may be used with any rule set. */
rules_scratch_t *rules_scratch_create(void);

/* Free scratch memory. Accepts NULL. */
void rules_scratch_destroy(rules_scratch_t *sc);

/* Evaluate msg against rs (docs/rules.md): anomalies first, in order, the
 * first match dead-letters the message; then every route whose condition
 * holds, in order, until a matching route with "stop"; each destination
 * topic at most once; no route matched: "unmatched" decides. A template
 * that cannot be filled or yields an invalid topic name dead-letters the
 * message with reason "bad_destination" (the other destinations still
 * get it); a regex that hits its match limit dead-letters it with reason
 * "regex_limit". Returns a result owned by sc, valid until the next call
 * with sc; NULL only when out of memory (the message is then not handled
 * and the caller must retry or stop). Allocates only when sc grows. */
const rules_result_t *rules_eval(const rules_set_t *rs, const rules_msg_t *msg,
                                 rules_scratch_t *sc);

/* 1 when name is a valid Kafka topic name: 1..249 characters of
 * [a-zA-Z0-9._-], and not "." or "..". */
int rules_topic_valid(const char *name, size_t len);

#endif
