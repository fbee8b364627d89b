/* dlqstats.c - `router dlq stats`: the selected dead letters counted by
 * reason, route, source topic and rules version, first and last, and per
 * minute (per hour past 6 h); a table for a person or one JSON object. */
#include "dlqtool_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

#define MAX_KEYS        10000 /* distinct values counted per dimension */
#define HOURLY_AFTER_MS (6 * 3600 * 1000LL) /* histogram per hour beyond */

/* Counts by one dimension's value. */
typedef struct tally_ent {
    char *name; /* owned */
    uint64_t n;
} tally_ent_t;

typedef struct tally {
    tally_ent_t *v;
    size_t n, cap;
    uint64_t other; /* dead letters whose value came past MAX_KEYS */
} tally_t;

/* Count one more of name. 0, or -1 when out of memory. */
static int tally_add(tally_t *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->v[i].name, name)) {
            t->v[i].n++;
            return 0;
        }
    if (t->n == MAX_KEYS) {
        t->other++;
        return 0;
    }
    if (mem_grow(&t->v, &t->cap, t->n + 1, sizeof(*t->v)) ||
        !(t->v[t->n].name = mem_dup(name, strlen(name))))
        return -1;
    t->v[t->n++].n = 1;
    return 0;
}

/* qsort: the largest count first, then by name. */
static int by_count(const void *a, const void *b)
{
    const tally_ent_t *x = a, *y = b;

    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* Sort t, largest count first (qsort must not see a NULL array). */
static void tally_sort(tally_t *t)
{
    if (t->n > 1)
        qsort(t->v, t->n, sizeof(*t->v), by_count);
}

static void tally_free(tally_t *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].name);
    free(t->v);
}

/* Dead letters per minute: an open-addressing map from the minute (ms /
 * 60000) to its count. */
typedef struct histo {
    int64_t *key; /* minute + 1; 0 for an empty slot */
    uint64_t *n;
    size_t cap, used;
} histo_t;

static int histo_add(histo_t *h, int64_t minute)
{
    size_t i;

    if ((h->used + 1) * 2 > h->cap) {
        histo_t g = {NULL, NULL, h->cap ? h->cap * 2 : 1024, 0};

        g.key = calloc(g.cap, sizeof(*g.key));
        g.n = calloc(g.cap, sizeof(*g.n));
        if (!g.key || !g.n) {
            free(g.key);
            free(g.n);
            return -1;
        }
        for (size_t k = 0; k < h->cap; k++) {
            if (!h->key[k])
                continue;
            for (i = (size_t)h->key[k] & (g.cap - 1); g.key[i];
                 i = (i + 1) & (g.cap - 1))
                ;
            g.key[i] = h->key[k];
            g.n[i] = h->n[k];
            g.used++;
        }
        free(h->key);
        free(h->n);
        *h = g;
    }
    for (i = (size_t)(minute + 1) & (h->cap - 1);
         h->key[i] && h->key[i] != minute + 1; i = (i + 1) & (h->cap - 1))
        ;
    if (!h->key[i]) {
        h->key[i] = minute + 1;
        h->used++;
    }
    h->n[i]++;
    return 0;
}

typedef struct stats {
    const dlqtool_conf_t *conf;
    uint64_t total;
    int64_t first, last; /* ms, -1 before the first */
    tally_t reason, route, source, version;
    histo_t minutes;
    int oom;
} stats_t;

static int stats_cb(const dlqscan_rec_t *r, void *opaque)
{
    stats_t *s = opaque;

    if (!dlq_selected(s->conf, r))
        return 0;
    s->total++;
    if (r->timestamp >= 0) {
        if (s->first < 0 || r->timestamp < s->first)
            s->first = r->timestamp;
        if (r->timestamp > s->last)
            s->last = r->timestamp;
        if (histo_add(&s->minutes, r->timestamp / 60000))
            s->oom = 1;
    }
    if (tally_add(&s->reason, r->reason) ||
        tally_add(&s->route, r->route[0] ? r->route : "(none)") ||
        tally_add(&s->source, r->src_topic[0] ? r->src_topic : "(none)") ||
        tally_add(&s->version,
                  r->rules_version[0] ? r->rules_version : "(none)"))
        s->oom = 1;
    return s->oom; /* out of memory: stop */
}

/* qsort: histogram rows (start, count) by start. */
static int by_start(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* The histogram's buckets, sorted: (start ms, count) pairs, per minute or
 * per hour (hourly set). NULL when out of memory or empty. */
static int64_t *histo_rows(const stats_t *s, size_t *nrows, int *hourly)
{
    int64_t *rows = NULL;
    size_t n = 0;

    *hourly = s->last - s->first > HOURLY_AFTER_MS;
    *nrows = 0;
    if (!s->minutes.used ||
        !(rows = calloc(s->minutes.used * 2, sizeof(*rows))))
        return NULL;
    for (size_t i = 0; i < s->minutes.cap; i++) {
        int64_t start;
        size_t k;

        if (!s->minutes.key[i])
            continue;
        start = (s->minutes.key[i] - 1) * 60000;
        if (*hourly)
            start -= start % 3600000;
        for (k = 0; k < n && rows[2 * k] != start; k++)
            ;
        if (k == n) {
            rows[2 * n] = start;
            rows[2 * n++ + 1] = 0;
        }
        rows[2 * k + 1] += (int64_t)s->minutes.n[i];
    }
    qsort(rows, n, 2 * sizeof(*rows), by_start);
    *nrows = n;
    return rows;
}

/* A tally as a JSON object, largest count first (sorts t). NULL when out
 * of memory. */
static json_t *tally_json(tally_t *t)
{
    json_t *o = json_object();

    tally_sort(t);
    for (size_t i = 0; o && i < t->n; i++)
        if (json_object_set_new(o, t->v[i].name,
                                json_integer((json_int_t)t->v[i].n)))
            goto err;
    if (o && t->other &&
        json_object_set_new(o, "(other)", json_integer((json_int_t)t->other)))
        goto err;
    return o;
err:
    json_decref(o);
    return NULL;
}

static int stats_print_json(stats_t *s)
{
    json_t *o = json_object(), *h = json_object(), *counts = json_object();
    size_t nrows = 0;
    int hourly = 0, rc = -1;
    int64_t *rows = histo_rows(s, &nrows, &hourly);
    char *text = NULL;

    if (!o || !h || !counts || (s->minutes.used && !rows))
        goto out;
    for (size_t i = 0; i < nrows; i++) {
        char t[40];

        dlqscan_fmt_time(rows[2 * i], t, sizeof(t));
        if (json_object_set_new(counts, t, json_integer(rows[2 * i + 1])))
            goto out;
    }
    if (json_object_set_new(h, "unit",
                            json_string(hourly ? "hour" : "minute")) ||
        json_object_set(h, "counts", counts) ||
        json_object_set_new(o, "topic", json_string(s->conf->topic)) ||
        json_object_set_new(o, "total", json_integer((json_int_t)s->total)) ||
        json_object_set_new(o, "by_reason", tally_json(&s->reason)) ||
        json_object_set_new(o, "by_route", tally_json(&s->route)) ||
        json_object_set_new(o, "by_source", tally_json(&s->source)) ||
        json_object_set_new(o, "by_rules_version", tally_json(&s->version)) ||
        json_object_set_new(o, "first", dlq_time_json(s->first)) ||
        json_object_set_new(o, "last", dlq_time_json(s->last)) ||
        json_object_set(o, "histogram", h))
        goto out;
    if (!(text = json_dumps(o, JSON_INDENT(2))))
        goto out;
    printf("%s\n", text);
    rc = 0;
out:
    free(text);
    free(rows);
    json_decref(counts);
    json_decref(h);
    json_decref(o);
    return rc;
}

static void tally_print(const char *title, tally_t *t)
{
    printf("by %s:\n", title);
    tally_sort(t);
    for (size_t i = 0; i < t->n; i++)
        printf("  %-32s %10llu\n", t->v[i].name, (unsigned long long)t->v[i].n);
    if (t->other)
        printf("  %-32s %10llu\n", "(other)", (unsigned long long)t->other);
}

static int stats_print_text(stats_t *s, const dlqscan_summary_t *sum)
{
    size_t nrows = 0;
    int hourly = 0;
    int64_t *rows = histo_rows(s, &nrows, &hourly), max = 1;
    char a[40], b[40];

    if (s->minutes.used && !rows)
        return -1;
    dlqscan_fmt_time(s->first, a, sizeof(a));
    dlqscan_fmt_time(s->last, b, sizeof(b));
    printf("%s: %llu dead letters selected (%llu records read in %d "
           "partitions), first %s, last %s\n",
           s->conf->topic, (unsigned long long)s->total,
           (unsigned long long)sum->records, sum->partitions, a, b);
    tally_print("reason", &s->reason);
    tally_print("route", &s->route);
    tally_print("source topic", &s->source);
    tally_print("rules version", &s->version);
    printf("per %s:\n", hourly ? "hour" : "minute");
    for (size_t i = 0; i < nrows; i++)
        if (rows[2 * i + 1] > max)
            max = rows[2 * i + 1];
    for (size_t i = 0; i < nrows; i++) {
        int bar = (int)(rows[2 * i + 1] * 40 / max);

        dlqscan_fmt_time(rows[2 * i], a, sizeof(a));
        printf("  %.16sZ %10lld %.*s\n", a, (long long)rows[2 * i + 1],
               bar ? bar : 1, "########################################");
    }
    free(rows);
    return 0;
}

int dlq_run_stats(const dlqtool_conf_t *c, const dlqscan_conf_t *sc)
{
    dlqscan_summary_t sum;
    stats_t s;
    int rc;

    memset(&s, 0, sizeof(s));
    s.conf = c;
    s.first = s.last = -1;
    rc = dlq_scan(c, sc, "stats", stats_cb, &s, &s.oom, &sum);
    if (rc == 0 &&
        (c->json ? stats_print_json(&s) : stats_print_text(&s, &sum))) {
        fprintf(stderr, "router: error: dlq stats: out of memory\n");
        rc = 1;
    }
    tally_free(&s.reason);
    tally_free(&s.route);
    tally_free(&s.source);
    tally_free(&s.version);
    free(s.minutes.key);
    free(s.minutes.n);
    return rc;
}
