/* anomscan.c - GET /anomalies from the dead-letter topic: the newest
 * selected dead letters of the newest records of each partition, kept in
 * a heap of the query's limit while dlqscan reads. */
#include "anomscan.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anomalies.h"
#include "clock.h"
#include "dlqscan.h"
#include "utf8.h"

/* A dead letter kept for the reply: where it sits, and its JSON. */
typedef struct kept {
    int64_t ts; /* the dead letter's timestamp */
    int32_t partition;
    int64_t offset;
    json_t *o; /* owned */
} kept_t;

/* One scan's state, the opaque of scan_cb. */
typedef struct scan {
    dlqscan_filter_t filter;
    int64_t deadline; /* clock_ms() past which the scan stops */
    kept_t *heap;     /* min-heap, the oldest kept on top; limit slots */
    size_t n, limit;
    uint64_t matched;
    int timed_out, oom;
} scan_t;

/* 1 when a is newer than b: timestamp, then partition, then offset. */
static int newer(const kept_t *a, const kept_t *b)
{
    if (a->ts != b->ts)
        return a->ts > b->ts;
    if (a->partition != b->partition)
        return a->partition > b->partition;
    return a->offset > b->offset;
}

/* qsort order of the reply: newest first. */
static int cmp_newest(const void *a, const void *b)
{
    return newer(b, a) - newer(a, b);
}

/* Restore the heap from slot i down (its subtrees are heaps). */
static void sift_down(kept_t *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        kept_t t;

        if (l < n && newer(&h[m], &h[l]))
            m = l;
        if (l + 1 < n && newer(&h[m], &h[l + 1]))
            m = l + 1;
        if (m == i)
            return;
        t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void sift_up(kept_t *h, size_t i)
{
    while (i > 0 && newer(&h[(i - 1) / 2], &h[i])) {
        kept_t t = h[i];

        h[i] = h[(i - 1) / 2];
        h[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

/* p[0..n) as a JSON string, invalid UTF-8 as U+FFFD. NULL when out of
 * memory. */
static json_t *text(const void *p, size_t n)
{
    char *clean = malloc(3 * n + 1);
    json_t *j;

    if (!clean)
        return NULL;
    n = utf8_clean(p, n, clean);
    j = json_stringn(clean, n);
    free(clean);
    return j;
}

/* A byte preview as the ring shows it: null for NULL. */
static json_t *preview(const void *p, size_t n)
{
    if (!p)
        return json_null();
    return text(p, n < ANOMALIES_PREVIEW ? n : ANOMALIES_PREVIEW);
}

/* The reply's entry for r: the ring's fields, then what the topic adds.
 * NULL when out of memory. */
static json_t *entry_json(const dlqscan_rec_t *r)
{
    return json_pack(
        "{s:o, s:o, s:o, s:o, s:i, s:I, s:I, s:o, s:o, s:I, s:o,"
        " s:{s:i, s:I, s:I}}",
        "reason", text(r->reason, strlen(r->reason)), "detail",
        text(r->detail, strlen(r->detail)), "route",
        r->route[0] ? text(r->route, strlen(r->route)) : json_null(), "topic",
        text(r->src_topic, strlen(r->src_topic)), "partition",
        (int)r->src_partition, "offset", (json_int_t)r->src_offset, "timestamp",
        (json_int_t)r->src_timestamp, "key", preview(r->key, r->key_len),
        "value", preview(r->value, r->value_len), "value_size",
        (json_int_t)(r->value ? r->value_len : 0), "rules_version",
        text(r->rules_version, strlen(r->rules_version)), "dead_letter",
        "partition", (int)r->partition, "offset", (json_int_t)r->offset,
        "timestamp", (json_int_t)r->timestamp);
}

static int scan_cb(const dlqscan_rec_t *r, void *opaque)
{
    scan_t *s = opaque;
    kept_t k = {r->timestamp, r->partition, r->offset, NULL};

    if (clock_ms() >= s->deadline) {
        s->timed_out = 1;
        return 1;
    }
    if (!dlqscan_selected(&s->filter, r))
        return 0;
    s->matched++;
    if (s->n == s->limit && !newer(&k, &s->heap[0]))
        return 0;
    if (!(k.o = entry_json(r))) {
        s->oom = 1;
        return 1;
    }
    if (s->n < s->limit) {
        s->heap[s->n] = k;
        sift_up(s->heap, s->n++);
    } else {
        json_decref(s->heap[0].o); /* the oldest kept makes room */
        s->heap[0] = k;
        sift_down(s->heap, s->n, 0);
    }
    return 0;
}

/* Narrow the n ranges to their newest records, at most budget in all:
 * each partition gets the same share, and what a short one leaves goes to
 * the others. Returns 1 when a range was cut, else 0. */
static int tail_ranges(dlqscan_range_t *r, int n, int64_t budget)
{
    int64_t lo = 0, hi = 0, used = 0, left;
    int cut = 0;

    for (int i = 0; i < n; i++)
        if (r[i].end - r[i].start > hi)
            hi = r[i].end - r[i].start;
    /* The largest share that fits the budget, by bisection. */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2, sum = 0;

        for (int i = 0; i < n && sum <= budget; i++) {
            int64_t len = r[i].end - r[i].start;

            sum += len < mid ? (len > 0 ? len : 0) : mid;
        }
        if (sum <= budget)
            lo = mid;
        else
            hi = mid - 1;
    }
    for (int i = 0; i < n; i++) {
        int64_t len = r[i].end - r[i].start;

        used += len < lo ? (len > 0 ? len : 0) : lo;
    }
    left = budget - used;
    for (int i = 0; i < n; i++) {
        int64_t take = lo;

        if (r[i].end - r[i].start <= lo)
            continue;
        if (left > 0) {
            take++;
            left--;
        }
        r[i].start = r[i].end - take;
        cut = 1;
    }
    return cut;
}

/* ms since the epoch as an RFC 3339 JSON string, null for -1. */
static json_t *time_json(int64_t ms)
{
    char buf[40];

    if (ms < 0)
        return json_null();
    dlqscan_fmt_time(ms, buf, sizeof(buf));
    return json_string(buf);
}

/* The reply of a finished scan; takes the kept entries. NULL when out of
 * memory. */
static char *reply(const anomscan_conf_t *c, scan_t *s,
                   const dlqscan_summary_t *sum, int truncated)
{
    json_t *arr = json_array(), *root;
    char *out = NULL;
    int err = !arr;

    qsort(s->heap, s->n, sizeof(*s->heap), cmp_newest);
    for (size_t i = 0; i < s->n; i++) {
        if (!arr)
            json_decref(s->heap[i].o);
        else if (json_array_append_new(arr, s->heap[i].o))
            err = 1; /* it was freed */
        s->heap[i].o = NULL;
    }
    s->n = 0;
    if (err) {
        json_decref(arr);
        return NULL;
    }
    root = json_pack(
        "{s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:I, s:b, s:o}", "source", "topic",
        "topic", c->topic, "since", time_json(c->since_ms), "until",
        time_json(c->until_ms), "scanned", (json_int_t)sum->records, "total",
        (json_int_t)sum->dead_letters, "matched", (json_int_t)s->matched,
        "returned", (json_int_t)json_array_size(arr), "truncated", truncated,
        "anomalies", arr); /* takes arr */
    if (root)
        out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return out;
}

char *anomscan_query(const anomscan_conf_t *c, int *status, char *errstr,
                     size_t errstr_size)
{
    dlqscan_conf_t sc = {c->brokers,  c->topic,    c->props,
                         c->since_ms, c->until_ms, c->max_ms};
    dlqscan_summary_t sum;
    dlqscan_range_t *r = NULL;
    scan_t s;
    char *out = NULL;
    int64_t left;
    int n, rc, truncated;

    memset(&s, 0, sizeof(s));
    s.filter.reason = c->reason;
    s.filter.q = c->q;
    s.deadline = clock_ms() + c->max_ms;
    s.limit = (size_t)c->limit;
    *status = 500;
    if (!(s.heap = calloc(s.limit, sizeof(*s.heap)))) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    rc = dlqscan_ranges(&sc, &r, &n, errstr, errstr_size);
    if (rc) {
        *status = rc == 2 ? 404 : 502;
        goto out;
    }
    truncated = tail_ranges(r, n, c->max_records);
    /* What is left of the time for the reading; a stall gets 1 s at least
     * so that a slow metadata answer is not taken for a dead cluster. */
    left = s.deadline - clock_ms();
    sc.timeout_ms = left > 1000 ? (int)left : 1000;
    rc = dlqscan_run(&sc, r, n, scan_cb, &s, &sum, errstr, errstr_size);
    if (rc) {
        *status = rc == 2 ? 404 : 502;
        goto out;
    }
    if (s.oom || !(out = reply(c, &s, &sum, truncated || s.timed_out)))
        snprintf(errstr, errstr_size, "out of memory");
out:
    for (size_t i = 0; i < s.n; i++)
        json_decref(s.heap[i].o);
    free(s.heap);
    free(r);
    return out;
}
