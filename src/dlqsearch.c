/* dlqsearch.c - `router dlq search`: the oldest selected dead letters,
 * with where they came from and a preview, for a person or one JSON
 * object per line. */
#include "dlqtool_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"
#include "utf8.h"

#define PREVIEW   200 /* bytes of a value shown */
#define KEY_SHOWN 256 /* bytes of a key shown */

/* One match kept: the record with owned copies of its key (up to
 * KEY_SHOWN bytes) and value preview. */
typedef struct match {
    dlqscan_rec_t rec;           /* key and value point into the copies below */
    char *key, *value;           /* owned; NULL for null */
    size_t key_full, value_full; /* their whole lengths */
} match_t;

typedef struct search {
    const dlqtool_conf_t *conf;
    match_t *m; /* the oldest matches, sorted, at most conf->limit */
    size_t n;
    uint64_t matched; /* all matches */
    int oom;
} search_t;

/* 1 when a comes before b: timestamp, then partition, then offset. */
static int older(const dlqscan_rec_t *a, const dlqscan_rec_t *b)
{
    if (a->timestamp != b->timestamp)
        return a->timestamp < b->timestamp;
    if (a->partition != b->partition)
        return a->partition < b->partition;
    return a->offset < b->offset;
}

static void match_free(match_t *m)
{
    free(m->key);
    free(m->value);
}

static int search_cb(const dlqscan_rec_t *r, void *opaque)
{
    search_t *s = opaque;
    size_t i, limit = (size_t)s->conf->limit;
    match_t nm;

    if (!dlq_selected(s->conf, r))
        return 0;
    s->matched++;
    if (s->n == limit && !older(r, &s->m[limit - 1].rec))
        return 0;
    memset(&nm, 0, sizeof(nm));
    nm.rec = *r;
    nm.key_full = r->key_len;
    nm.value_full = r->value_len;
    nm.rec.key_len = r->key_len < KEY_SHOWN ? r->key_len : KEY_SHOWN;
    nm.rec.value_len = r->value_len < PREVIEW ? r->value_len : PREVIEW;
    if ((r->key && !(nm.key = mem_dup(r->key, nm.rec.key_len))) ||
        (r->value && !(nm.value = mem_dup(r->value, nm.rec.value_len)))) {
        match_free(&nm);
        s->oom = 1;
        return 1;
    }
    nm.rec.key = nm.key;
    nm.rec.value = nm.value;
    if (s->n == limit)
        match_free(&s->m[--s->n]); /* the newest kept makes room */
    for (i = s->n; i > 0 && older(&nm.rec, &s->m[i - 1].rec); i--)
        s->m[i] = s->m[i - 1];
    s->m[i] = nm;
    s->n++;
    return 0;
}

static int match_print_json(const match_t *m, const char *topic)
{
    const dlqscan_rec_t *r = &m->rec;
    json_t *o = json_object(), *src = json_object();
    char *text = NULL;
    int rc = -1;

    if (!o || !src ||
        json_object_set_new(src, "topic", json_string(r->src_topic)) ||
        json_object_set_new(src, "partition", json_integer(r->src_partition)) ||
        json_object_set_new(src, "offset", json_integer(r->src_offset)) ||
        json_object_set_new(src, "timestamp",
                            dlq_time_json(r->src_timestamp)) ||
        json_object_set_new(o, "topic", json_string(topic)) ||
        json_object_set_new(o, "partition", json_integer(r->partition)) ||
        json_object_set_new(o, "offset", json_integer(r->offset)) ||
        json_object_set_new(o, "timestamp", dlq_time_json(r->timestamp)) ||
        json_object_set_new(o, "reason", json_string(r->reason)) ||
        json_object_set_new(o, "detail",
                            dlq_bytes_json(r->detail, strlen(r->detail), 0)) ||
        json_object_set_new(
            o, "route", r->route[0] ? json_string(r->route) : json_null()) ||
        json_object_set_new(o, "rules_version",
                            json_string(r->rules_version)) ||
        json_object_set(o, "source", src) ||
        json_object_set_new(o, "key",
                            dlq_bytes_json(m->key, r->key_len, m->key_full)) ||
        json_object_set_new(
            o, "value",
            dlq_bytes_json(m->value, r->value_len, m->value_full)) ||
        json_object_set_new(o, "value_bytes",
                            json_integer((json_int_t)m->value_full)))
        goto out;
    if (!(text = json_dumps(o, JSON_COMPACT)))
        goto out;
    printf("%s\n", text);
    rc = 0;
out:
    free(text);
    json_decref(src);
    json_decref(o);
    return rc;
}

static int match_print_text(const match_t *m, const char *topic)
{
    const dlqscan_rec_t *r = &m->rec;
    char t[40], st[40];
    char *key = malloc(3 * KEY_SHOWN + 1), *val = malloc(3 * PREVIEW + 1);

    if (!key || !val) {
        free(key);
        free(val);
        return -1;
    }
    dlqscan_fmt_time(r->timestamp, t, sizeof(t));
    dlqscan_fmt_time(r->src_timestamp, st, sizeof(st));
    if (m->key)
        utf8_clean(m->key, r->key_len, key);
    if (m->value)
        utf8_clean(m->value, r->value_len, val);
    printf("%s [%d] @%lld  %s  reason=%s route=%s rules=%s\n"
           "  source %s [%d] @%lld (%s)\n  detail: %s\n"
           "  key: %s%s%s%s\n  value (%zu bytes): %s%s\n",
           topic, (int)r->partition, (long long)r->offset, t, r->reason,
           r->route[0] ? r->route : "-", r->rules_version, r->src_topic,
           (int)r->src_partition, (long long)r->src_offset, st, r->detail,
           m->key ? "\"" : "(null)", m->key ? key : "",
           m->key && m->key_full > r->key_len ? "..." : "", m->key ? "\"" : "",
           m->value_full, m->value ? val : "(null)",
           m->value && m->value_full > r->value_len ? "..." : "");
    free(key);
    free(val);
    return 0;
}

int dlq_run_search(const dlqtool_conf_t *c, const dlqscan_conf_t *sc)
{
    dlqscan_summary_t sum;
    search_t s;
    int rc;

    memset(&s, 0, sizeof(s));
    s.conf = c;
    if (!(s.m = calloc((size_t)c->limit, sizeof(*s.m)))) {
        fprintf(stderr, "router: error: dlq search: out of memory\n");
        return 1;
    }
    rc = dlq_scan(c, sc, "search", search_cb, &s, &s.oom, &sum);
    if (rc == 0 && !c->json)
        printf("%s: %llu of %llu dead letters match; the %zu oldest:\n",
               c->topic, (unsigned long long)s.matched,
               (unsigned long long)sum.dead_letters, s.n);
    for (size_t i = 0; rc == 0 && i < s.n; i++)
        if (c->json ? match_print_json(&s.m[i], c->topic)
                    : match_print_text(&s.m[i], c->topic)) {
            fprintf(stderr, "router: error: dlq search: out of memory\n");
            rc = 1;
        }
    for (size_t i = 0; i < s.n; i++)
        match_free(&s.m[i]);
    free(s.m);
    return rc;
}
