/* e2e_verify.c - "e2e_tool verify": read every output topic of the test
 * cluster from the beginning and compare what the router produced with
 * what the dataset says it must: the exact multiset of (topic, key,
 * value), dead-letter headers, key placement and per-key order. With
 * --fail-topic T it expects what a destination failing permanently gives:
 * the outputs to T as produce_failed dead letters instead. */
#include "e2e.h"
#include "log.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TOPICS    128
#define STUCK_SECONDS 15 /* reading: give up after this long without data */

/* One topic being read. */
typedef struct vtopic {
    char name[256];
    int idx;      /* index in e2e_topics, -1 for an unknown topic */
    int parts;    /* partition count */
    int64_t *hwm; /* high watermark per partition, last query */
    int64_t *pos; /* next offset to read per partition */
} vtopic_t;

/* One order group: an output partition, a produced key and a source
 * partition; messages in it must appear in source order. */
typedef struct vgroup {
    char *key; /* NULL: empty slot */
    size_t len;
    uint64_t last_n; /* highest message index seen so far */
} vgroup_t;

/* Everything verify knows. */
typedef struct vstate {
    uint64_t count, seed; /* the dataset */
    const char *version;  /* expected router.rules.version */
    e2e_msg_t *m;         /* scratch message */
    uint32_t *base;       /* count + 1: first expected entry of n */
    uint8_t *etopic;      /* topic of each expected entry */
    uint32_t *seen;       /* copies found of each expected entry */
    uint64_t entries;     /* number of expected entries */
    int32_t *src_part;    /* per n: where it is in the source, -1 */
    int64_t *src_off;
    vgroup_t *groups; /* open addressing, ngroups_cap slots */
    size_t ngroups, ngroups_cap;
    vtopic_t topics[MAX_TOPICS];
    int ntopics;
    uint64_t found, dups, unexpected, misplaced, bad_headers, order, missing;
    uint64_t source_bad;
    uint64_t trimmed;        /* messages gone before they could be read */
    int fail_t;              /* --fail-topic index, -1 for none */
    const char *fail_detail; /* must be in router.detail of those */
    int unread;              /* partitions not read to the end: fails */
    int allow_dups;          /* at-least-once: copies are fine */
    int max_report;          /* detail lines per kind */
    int reported[8];
} vstate_t;

enum {
    R_UNEXPECTED,
    R_MISPLACED,
    R_HEADERS,
    R_ORDER,
    R_MISSING,
    R_SOURCE,
    R_DUP,
    R_TRIMMED
};
static const char *const report_names[] = {
    "UNEXPECTED", "MISPLACED", "BAD HEADERS", "OUT OF ORDER",
    "MISSING",    "SOURCE",    "DUPLICATE",   "TRIMMED"};

static void report(vstate_t *vs, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Print one discrepancy, at most max_report of each kind. */
static void report(vstate_t *vs, int kind, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (vs->reported[kind]++ >= vs->max_report)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    printf("verify: %s: %s\n", report_names[kind], line);
}

/* Printable excerpt of bytes (at most 40), for reports. */
static const char *show(const void *p, size_t len, char *buf, size_t size)
{
    const unsigned char *s = p;
    size_t i, o = 0;

    if (!p)
        return "(null)";
    for (i = 0; i < len && i < 40 && o + 5 < size; i++) {
        if (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"')
            buf[o++] = (char)s[i];
        else
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", s[i]);
    }
    if (i < len && o + 4 < size)
        o += (size_t)snprintf(buf + o, size - o, "...");
    buf[o] = '\0';
    return buf;
}

static uint64_t fnv64(const void *p, size_t len)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i;

    for (i = 0; i < len; i++)
        h = (h ^ s[i]) * 0x100000001b3ULL;
    return h;
}

/* The order group of key k (len bytes); NULL when out of memory. */
static vgroup_t *group_get(vstate_t *vs, const char *k, size_t len)
{
    size_t i;

    if (vs->ngroups * 2 >= vs->ngroups_cap) {
        size_t cap = vs->ngroups_cap ? vs->ngroups_cap * 2 : 4096, j;
        vgroup_t *g = calloc(cap, sizeof(*g));
        if (!g)
            return NULL;
        for (j = 0; j < vs->ngroups_cap; j++) {
            vgroup_t *o = &vs->groups[j];
            if (!o->key)
                continue;
            i = fnv64(o->key, o->len) & (cap - 1);
            while (g[i].key)
                i = (i + 1) & (cap - 1);
            g[i] = *o;
        }
        free(vs->groups);
        vs->groups = g;
        vs->ngroups_cap = cap;
    }
    i = fnv64(k, len) & (vs->ngroups_cap - 1);
    while (vs->groups[i].key) {
        if (vs->groups[i].len == len && !memcmp(vs->groups[i].key, k, len))
            return &vs->groups[i];
        i = (i + 1) & (vs->ngroups_cap - 1);
    }
    vs->groups[i].key = malloc(len ? len : 1);
    if (!vs->groups[i].key)
        return NULL;
    memcpy(vs->groups[i].key, k, len);
    vs->groups[i].len = len;
    vs->groups[i].last_n = 0;
    vs->ngroups++;
    return &vs->groups[i];
}

/* Message n of the dataset into vs->m, as this run expects it (with
 * --fail-topic, its output there dead-lettered). */
static void vgen(vstate_t *vs, uint64_t n)
{
    e2e_gen(vs->seed, n, vs->m);
    if (vs->fail_t >= 0)
        e2e_fail_topic(vs->m, vs->fail_t); /* -1 refused by expect_all */
}

/* Value of the only header called name: 0 and *val, *len; -1 when there
 * is none; -2 when there are several. */
static int header_one(rd_kafka_headers_t *h, const char *name, const void **val,
                      size_t *len)
{
    const void *v2;
    size_t l2;

    if (!h || rd_kafka_header_get(h, 0, name, val, len))
        return -1;
    if (!rd_kafka_header_get(h, 1, name, &v2, &l2))
        return -2;
    return 0;
}

/* 1 when header name is there once and equals want. */
static int header_is(rd_kafka_headers_t *h, const char *name, const char *want,
                     char *why, size_t whysize)
{
    const void *v;
    size_t len;
    char b[128];
    int r = header_one(h, name, &v, &len);

    if (r == -1)
        snprintf(why, whysize, "%s missing (want \"%s\")", name, want);
    else if (r == -2)
        snprintf(why, whysize, "%s more than once", name);
    else if (len != strlen(want) || (len && memcmp(v, want, len)))
        snprintf(why, whysize, "%s is \"%s\", want \"%s\"", name,
                 show(v, len, b, sizeof(b)), want);
    else
        return 1;
    return 0;
}

/* Check the headers of an output message; 0 when right, else -1 with the
 * reason in why. */
static int check_headers(vstate_t *vs, const e2e_msg_t *m, const e2e_out_t *o,
                         rd_kafka_headers_t *h, char *why, size_t whysize)
{
    int used[64] = {0};
    size_t i, cnt = h ? rd_kafka_header_cnt(h) : 0, j, want;
    const void *v;
    size_t len;
    char num[32];

    /* Every source header kept (as a multiset). */
    for (i = 0; i < m->nhdrs; i++) {
        const e2e_hdr_t *sh = &m->hdrs[i];
        for (j = 0; j < cnt && j < 64; j++) {
            const char *name;
            if (used[j] || rd_kafka_header_get_all(h, j, &name, &v, &len))
                continue;
            if (!strcmp(name, sh->name) && len == sh->len &&
                !memcmp(v, sh->value, len))
                break;
        }
        if (j >= cnt || j >= 64) {
            snprintf(why, whysize, "source header %s: %s lost", sh->name,
                     sh->value);
            return -1;
        }
        used[j] = 1;
    }
    /* Nothing more than the source headers, plus on a dead letter the
     * router.* ones: 7, and router.route when a route failed (each is
     * checked to be there once below). */
    want = m->nhdrs + (o->reason ? 7 + (o->route != NULL) : 0);
    if (cnt != want) {
        snprintf(why, whysize, "%zu headers, want %zu", cnt, want);
        return -1;
    }
    if (!o->reason) {
        if (header_one(h, "router.reason", &v, &len) != -1) {
            snprintf(why, whysize, "router.reason on a routed message");
            return -1;
        }
        return 0;
    }
    /* Dead letter: where it comes from and why. */
    if (!header_is(h, "router.reason", o->reason, why, whysize))
        return -1;
    if (header_one(h, "router.detail", &v, &len) || len == 0) {
        snprintf(why, whysize, "router.detail missing, repeated or empty");
        return -1;
    }
    if (vs->fail_detail && !strcmp(o->reason, E2E_PRODUCE_FAILED) &&
        !memmem(v, len, vs->fail_detail, strlen(vs->fail_detail))) {
        char b[128];
        snprintf(why, whysize, "router.detail \"%s\" does not say \"%s\"",
                 show(v, len, b, sizeof(b)), vs->fail_detail);
        return -1;
    }
    if (o->route) {
        if (!header_is(h, "router.route", o->route, why, whysize))
            return -1;
    } else if (header_one(h, "router.route", &v, &len) != -1) {
        snprintf(why, whysize,
                 "router.route present without a failed "
                 "route");
        return -1;
    }
    if (!header_is(h, "router.source.topic", E2E_SOURCE_TOPIC, why, whysize))
        return -1;
    snprintf(num, sizeof(num), "%d", (int)m->partition);
    if (!header_is(h, "router.source.partition", num, why, whysize))
        return -1;
    if (vs->src_off[m->n] >= 0) {
        snprintf(num, sizeof(num), "%" PRId64, vs->src_off[m->n]);
        if (!header_is(h, "router.source.offset", num, why, whysize))
            return -1;
    }
    snprintf(num, sizeof(num), "%" PRId64, m->timestamp);
    if (!header_is(h, "router.source.timestamp", num, why, whysize))
        return -1;
    if (!header_is(h, "router.rules.version", vs->version, why, whysize))
        return -1;
    return 0;
}

/* Find the expected entry of message n in topic t, -1 when none. */
static int64_t entry_of(vstate_t *vs, uint64_t n, int t,
                        const rd_kafka_message_t *rkm)
{
    int64_t first = -1;
    rd_kafka_headers_t *h;
    const void *r = NULL;
    size_t rlen = 0;
    uint32_t e;

    /* A message may have two dead letters (a bad destination and a
     * failed produce): router.reason tells which entry this one is. */
    if (!rd_kafka_message_headers(rkm, &h) &&
        header_one(h, "router.reason", &r, &rlen))
        r = NULL;
    for (e = vs->base[n]; e < vs->base[n + 1]; e++) {
        const e2e_out_t *o = &vs->m->outs[e - vs->base[n]];

        if (vs->etopic[e] != t)
            continue;
        if (first < 0)
            first = e;
        if (r && o->reason && strlen(o->reason) == rlen &&
            !memcmp(o->reason, r, rlen))
            return e;
    }
    return first;
}

/* The message index from the e2e.n header, -1 when absent or invalid. */
static int64_t msg_index(vstate_t *vs, const rd_kafka_message_t *rkm)
{
    rd_kafka_headers_t *h;
    const void *v;
    size_t len;
    char buf[32];
    uint64_t n;

    if (rd_kafka_message_headers(rkm, &h) ||
        header_one(h, E2E_HDR_N, &v, &len) || !len || len >= sizeof(buf))
        return -1;
    memcpy(buf, v, len);
    buf[len] = '\0';
    if (e2e_parse_u64(buf, &n) || n >= vs->count)
        return -1;
    return (int64_t)n;
}

static void on_source(vstate_t *vs, const rd_kafka_message_t *rkm)
{
    int64_t n = msg_index(vs, rkm);

    if (n < 0) {
        vs->source_bad++;
        report(vs, R_SOURCE, "[%d] @%" PRId64 ": no dataset index",
               (int)rkm->partition, rkm->offset);
        return;
    }
    vgen(vs, (uint64_t)n);
    if (vs->src_part[n] >= 0 || rkm->partition != vs->m->partition ||
        rkm->len != vs->m->value_len ||
        memcmp(rkm->payload, vs->m->value, rkm->len) != 0) {
        vs->source_bad++;
        report(vs, R_SOURCE,
               "[%d] @%" PRId64 ": n=%" PRId64 " repeated or "
               "not as generated (seed?)",
               (int)rkm->partition, rkm->offset, n);
        return;
    }
    vs->src_part[n] = rkm->partition;
    vs->src_off[n] = rkm->offset;
}

static void on_output(vstate_t *vs, const vtopic_t *vt,
                      const rd_kafka_message_t *rkm)
{
    const char *tname = vt->name;
    int64_t n = msg_index(vs, rkm), e;
    const e2e_msg_t *m = vs->m;
    const e2e_out_t *o;
    const void *key;
    size_t key_len;
    rd_kafka_headers_t *h = NULL;
    char why[512], b1[200], b2[200], gk[128];
    vgroup_t *g;
    int32_t want;
    size_t gl;

    vs->found++;
    if (n < 0) {
        vs->unexpected++;
        report(vs, R_UNEXPECTED,
               "%s [%d] @%" PRId64 ": no valid %s header "
               "(value \"%s\")",
               tname, (int)rkm->partition, rkm->offset, E2E_HDR_N,
               show(rkm->payload, rkm->len, b1, sizeof(b1)));
        return;
    }
    vgen(vs, (uint64_t)n);
    e = vt->idx < 0 ? -1 : entry_of(vs, (uint64_t)n, vt->idx, rkm);
    if (e < 0) {
        vs->unexpected++;
        report(vs, R_UNEXPECTED,
               "%s [%d] @%" PRId64 ": n=%" PRId64
               " (%s) must not go to this topic",
               tname, (int)rkm->partition, rkm->offset, n, m->kind);
        return;
    }
    o = &m->outs[e - vs->base[n]];
    key = o->key_uid ? m->uid : m->key_null ? NULL : m->key;
    key_len = o->key_uid ? m->uid_len : m->key_len;
    if ((key == NULL) != (rkm->key == NULL) || rkm->key_len != key_len ||
        (key_len && memcmp(rkm->key, key, key_len))) {
        vs->unexpected++;
        report(vs, R_UNEXPECTED,
               "%s [%d] @%" PRId64 ": n=%" PRId64 " (%s) "
               "key \"%s\", want \"%s\"",
               tname, (int)rkm->partition, rkm->offset, n, m->kind,
               show(rkm->key, rkm->key_len, b1, sizeof(b1)),
               show(key, key_len, b2, sizeof(b2)));
        return;
    }
    if (rkm->len != m->value_len ||
        memcmp(rkm->payload, m->value, m->value_len)) {
        vs->unexpected++;
        report(vs, R_UNEXPECTED,
               "%s [%d] @%" PRId64 ": n=%" PRId64 " (%s) "
               "value \"%s\" (%zu bytes), want \"%s\" (%zu bytes)",
               tname, (int)rkm->partition, rkm->offset, n, m->kind,
               show(rkm->payload, rkm->len, b1, sizeof(b1)), rkm->len,
               show(m->value, m->value_len, b2, sizeof(b2)), m->value_len);
        return;
    }
    /* Every copy, not just the first, where its key puts it. */
    want = o->place == E2E_PLACE_HASH
               ? e2e_key_partition(key, key_len, vt->parts)
           : o->place == E2E_PLACE_SOURCE ? m->partition % vt->parts
                                          : rkm->partition;
    if (rkm->partition != want) {
        vs->misplaced++;
        report(vs, R_MISPLACED,
               "%s: n=%" PRId64 " (%s) key \"%s\" in "
               "partition %d, want %d of %d",
               tname, n, m->kind, show(key, key_len, b1, sizeof(b1)),
               (int)rkm->partition, (int)want, vt->parts);
    }
    if (++vs->seen[e] > 1) {
        vs->dups++;
        if (!vs->allow_dups)
            report(vs, R_DUP, "%s [%d] @%" PRId64 ": n=%" PRId64 " copy %u",
                   tname, (int)rkm->partition, rkm->offset, n, vs->seen[e]);
        return; /* headers and order: checked on first appearance */
    }
    if (rd_kafka_message_headers(rkm, &h))
        h = NULL;
    if (check_headers(vs, m, o, h, why, sizeof(why))) {
        vs->bad_headers++;
        report(vs, R_HEADERS, "%s [%d] @%" PRId64 ": n=%" PRId64 " (%s): %s",
               tname, (int)rkm->partition, rkm->offset, n, m->kind, why);
    }
    /* Order within (topic, partition, key, source partition). A copy of
     * a null-key message may land in another partition than the first:
     * with duplicates, only keyed messages have an order to check. The
     * dead letters of failed produces have none: each is written when its
     * failure shows, from a delivery report or (once librdkafka knows the
     * topic fails) at once when a later message is routed. */
    if ((!key && vs->allow_dups) ||
        (o->reason && !strcmp(o->reason, E2E_PRODUCE_FAILED)))
        return;
    gl = (size_t)snprintf(gk, sizeof(gk), "%d|%d|%d|%c", vt->idx,
                          (int)rkm->partition, (int)m->partition,
                          key ? 'k' : 'n');
    if (key_len > sizeof(gk) - gl)
        key_len = sizeof(gk) - gl;
    memcpy(gk + gl, key ? key : "", key_len);
    g = group_get(vs, gk, gl + key_len);
    if (g && g->key && (uint64_t)n < g->last_n) {
        vs->order++;
        report(vs, R_ORDER,
               "%s [%d] key \"%s\": n=%" PRId64 " after n=%" PRIu64, tname,
               (int)rkm->partition, show(key, key_len, b1, sizeof(b1)), n,
               g->last_n);
    } else if (g) {
        g->last_n = (uint64_t)n;
    }
}

/* Read the topics [first, ntopics) with consumer rk to their high
 * watermarks (asked through meta: on the consumer's connections they would
 * wait behind long-polling fetches); for the outputs, again and again
 * while something is missing, until the deadline. Partitions it could not
 * read to the end count in vs->unread. Returns 0, -1 on client error. */
static int read_topics(vstate_t *vs, rd_kafka_t *rk, rd_kafka_t *meta,
                       int first, double deadline, int source)
{
    rd_kafka_topic_partition_list_t *tp;
    int t, p, left, rc = -1;
    double last_msg;

    tp = rd_kafka_topic_partition_list_new(64);
    for (t = first; t < vs->ntopics; t++)
        for (p = 0; p < vs->topics[t].parts; p++)
            rd_kafka_topic_partition_list_add(tp, vs->topics[t].name, p)
                ->offset = RD_KAFKA_OFFSET_BEGINNING;
    if (rd_kafka_assign(rk, tp)) {
        log_error("verify: assign failed");
        goto out;
    }
    for (;;) {
        /* Where the ends are now. */
        for (t = first; t < vs->ntopics; t++) {
            vtopic_t *vt = &vs->topics[t];
            for (p = 0; p < vt->parts; p++) {
                int64_t lo;
                if (rd_kafka_query_watermark_offsets(meta, vt->name, p, &lo,
                                                     &vt->hwm[p], 5000)) {
                    log_error("verify: no watermarks for %s [%d]", vt->name, p);
                    goto out;
                }
                /* The mock keeps ~5 MB per partition: what it dropped
                 * can't be checked (copies, order): that fails. */
                if (vt->pos[p] < lo) {
                    vs->trimmed += (uint64_t)(lo - vt->pos[p]);
                    report(vs, R_TRIMMED,
                           "%s [%d]: offsets %" PRId64 "..%" PRId64
                           " gone before they were read (the "
                           "mock's retention)",
                           vt->name, p, vt->pos[p], lo - 1);
                    vt->pos[p] = lo;
                }
            }
        }
        /* Read up to them (however long it takes while messages come). */
        last_msg = e2e_now();
        for (;;) {
            rd_kafka_message_t *rkm;
            left = 0;
            for (t = first; t < vs->ntopics; t++)
                for (p = 0; p < vs->topics[t].parts; p++)
                    left += vs->topics[t].pos[p] < vs->topics[t].hwm[p];
            if (!left || e2e_now() - last_msg > STUCK_SECONDS || e2e_stopping())
                break;
            rkm = rd_kafka_consumer_poll(rk, 200);
            if (!rkm)
                continue;
            last_msg = e2e_now();
            if (rkm->err && rkm->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                log_warn("verify: consumer: %s", rd_kafka_message_errstr(rkm));
                rd_kafka_message_destroy(rkm);
                continue;
            }
            for (t = first; rkm->rkt && t < vs->ntopics; t++) {
                vtopic_t *vt = &vs->topics[t];
                int64_t next = rkm->err ? rkm->offset : rkm->offset + 1;
                if (strcmp(vt->name, rd_kafka_topic_name(rkm->rkt)))
                    continue;
                /* At the end (EOF) even when control records (from
                 * transactions) keep the last offset below the end. */
                if (rkm->partition >= 0 && rkm->partition < vt->parts &&
                    next > vt->pos[rkm->partition])
                    vt->pos[rkm->partition] = next;
                if (rkm->err)
                    break;
                if (source)
                    on_source(vs, rkm);
                else
                    on_output(vs, vt, rkm);
                break;
            }
            rd_kafka_message_destroy(rkm);
        }
        if (left) {
            log_error("verify: no message for %d s with %d partition(s) "
                      "not read to the end",
                      STUCK_SECONDS, left);
            vs->unread += left; /* what is there unread may be wrong */
            break;
        }
        if (source)
            break;
        /* Outputs: wait for the router while something is missing. */
        vs->missing = 0;
        for (p = 0; (uint64_t)p < vs->entries; p++)
            vs->missing += vs->seen[p] == 0;
        if (!vs->missing || e2e_now() > deadline || e2e_stopping())
            break;
        usleep(500 * 1000);
    }
    rc = 0;
out:
    rd_kafka_topic_partition_list_destroy(tp);
    return rc;
}

/* Add every topic of the cluster (sources, or outputs) to vs->topics.
 * Returns 0, or -1 (logged) when one cannot be added. */
static int list_topics(vstate_t *vs, rd_kafka_t *rk, int source)
{
    const struct rd_kafka_metadata *md = NULL;
    int t;

    if (rd_kafka_metadata(rk, 1, NULL, &md, 10000)) {
        log_error("verify: cannot get the cluster's metadata");
        return -1;
    }
    for (t = 0; t < md->topic_cnt; t++) {
        const struct rd_kafka_metadata_topic *mt = &md->topics[t];
        vtopic_t *vt = &vs->topics[vs->ntopics];
        int is_src = !strcmp(mt->topic, E2E_SOURCE_TOPIC);
        if (is_src != source || !strncmp(mt->topic, "__", 2) || mt->err ||
            mt->partition_cnt < 1)
            continue;
        if (vs->ntopics >= MAX_TOPICS) {
            log_error("verify: more than %d topics", MAX_TOPICS);
            goto err;
        }
        snprintf(vt->name, sizeof(vt->name), "%s", mt->topic);
        vt->idx = e2e_topic_index(mt->topic, strlen(mt->topic));
        vt->parts = mt->partition_cnt;
        vt->hwm = calloc((size_t)vt->parts, sizeof(*vt->hwm));
        vt->pos = calloc((size_t)vt->parts, sizeof(*vt->pos));
        vs->ntopics++; /* hwm and pos freed by vstate_free() */
        if (!vt->hwm || !vt->pos) {
            log_error("verify: out of memory");
            goto err;
        }
    }
    rd_kafka_metadata_destroy(md);
    return 0;
err:
    rd_kafka_metadata_destroy(md);
    return -1;
}

/* Build the table of expected entries. -1 when out of memory. */
static int expect_all(vstate_t *vs)
{
    uint64_t n;
    size_t i;

    vs->base = calloc(vs->count + 1, sizeof(*vs->base));
    vs->etopic = malloc((vs->count * E2E_MAX_OUTS) * sizeof(*vs->etopic));
    vs->src_part = malloc(vs->count * sizeof(*vs->src_part));
    vs->src_off = malloc(vs->count * sizeof(*vs->src_off));
    if (!vs->base || !vs->etopic || !vs->src_part || !vs->src_off)
        return -1;
    for (n = 0; n < vs->count; n++) {
        e2e_gen(vs->seed, n, vs->m);
        if (vs->fail_t >= 0 && e2e_fail_topic(vs->m, vs->fail_t) < 0) {
            log_error("verify: --fail-topic %s: message %" PRIu64 " has "
                      "another dead letter too",
                      e2e_topics[vs->fail_t].name, n);
            return -1;
        }
        vs->base[n] = (uint32_t)vs->entries;
        for (i = 0; i < vs->m->nouts; i++)
            vs->etopic[vs->entries++] = (uint8_t)vs->m->outs[i].topic;
        vs->src_part[n] = -1;
        vs->src_off[n] = -1;
    }
    vs->base[vs->count] = (uint32_t)vs->entries;
    vs->seen = calloc(vs->entries ? vs->entries : 1, sizeof(*vs->seen));
    return vs->seen ? 0 : -1;
}

/* Per topic: expected and found, for topics that differ. */
static void report_topics(vstate_t *vs)
{
    uint64_t want[64] = {0}, got[64] = {0};
    uint64_t n;
    uint32_t e;
    size_t t;

    for (n = 0; n < vs->count; n++)
        for (e = vs->base[n]; e < vs->base[n + 1]; e++) {
            want[vs->etopic[e]]++;
            got[vs->etopic[e]] += vs->seen[e] > 0;
        }
    vs->missing = 0;
    for (e = 0; e < vs->entries; e++)
        vs->missing += vs->seen[e] == 0;
    for (t = 1; t < e2e_topic_count; t++)
        if (want[t] != got[t])
            printf("verify: topic %s: %" PRIu64 " of %" PRIu64
                   " expected messages found\n",
                   e2e_topics[t].name, got[t], want[t]);
    for (n = 0; n < vs->count; n++)
        for (e = vs->base[n]; e < vs->base[n + 1]; e++)
            if (!vs->seen[e]) {
                vgen(vs, n);
                report(vs, R_MISSING, "%s: n=%" PRIu64 " (%s) from [%d]",
                       e2e_topics[vs->etopic[e]].name, n, vs->m->kind,
                       (int)vs->m->partition);
            }
}

static void vstate_free(vstate_t *vs)
{
    size_t i;
    int t;

    for (i = 0; i < vs->ngroups_cap; i++)
        free(vs->groups[i].key);
    free(vs->groups);
    for (t = 0; t < vs->ntopics; t++) {
        free(vs->topics[t].hwm);
        free(vs->topics[t].pos);
    }
    free(vs->base);
    free(vs->etopic);
    free(vs->seen);
    free(vs->src_part);
    free(vs->src_off);
    free(vs->m);
}

int e2e_cmd_verify(int argc, char **argv)
{
    const char *brokers = NULL;
    char group[64];
    const char *props[] = {"group.id",
                           group,
                           "enable.auto.commit",
                           "false",
                           "enable.auto.offset.store",
                           "false",
                           "enable.partition.eof",
                           "true",
                           "fetch.wait.max.ms",
                           "20",
                           NULL};
    uint64_t timeout = 10, max_report = 10;
    const char *fail_topic = NULL;
    int allow_dups = 0, rc = 1, ok;
    rd_kafka_t *rk = NULL, *meta = NULL;
    double t0 = e2e_now();
    uint64_t n, src_missing = 0;
    vstate_t vs;
    const e2e_opt_t opts[] = {{"-b", &brokers, NULL, NULL},
                              {"--rules-version", &vs.version, NULL, NULL},
                              {"--count", NULL, &vs.count, NULL},
                              {"--seed", NULL, &vs.seed, NULL},
                              {"--timeout", NULL, &timeout, NULL},
                              {"--max-report", NULL, &max_report, NULL},
                              {"--allow-dups", NULL, NULL, &allow_dups},
                              {"--fail-topic", &fail_topic, NULL, NULL},
                              {"--fail-detail", &vs.fail_detail, NULL, NULL},
                              {NULL, NULL, NULL, NULL}};

    memset(&vs, 0, sizeof(vs));
    vs.seed = 42;
    vs.version = "1";
    vs.fail_t = -1;
    if (e2e_opts_parse(argc, argv, opts) || !brokers || !vs.count ||
        vs.count > 1000000)
        goto usage;
    if (fail_topic) {
        vs.fail_t = e2e_topic_index(fail_topic, strlen(fail_topic));
        if (vs.fail_t <= 0 || !strcmp(fail_topic, E2E_DLQ_TOPIC)) {
            log_error("verify: --fail-topic %s: not an output topic",
                      fail_topic);
            goto usage;
        }
    }
    vs.max_report = (int)max_report;
    vs.allow_dups = allow_dups;
    vs.m = malloc(sizeof(*vs.m));
    if (!vs.m || expect_all(&vs)) {
        log_error("verify: cannot build the expected outputs");
        goto out;
    }
    snprintf(group, sizeof(group), "e2e-verify-%d", (int)getpid());
    rk = e2e_client_new(RD_KAFKA_CONSUMER, brokers, props, NULL, NULL);
    meta = e2e_client_new(RD_KAFKA_PRODUCER, brokers, NULL, NULL, NULL);
    if (!rk || !meta)
        goto out;

    /* The source first: where each message really is. */
    if (list_topics(&vs, rk, 1) || vs.ntopics != 1) {
        log_error("verify: no topic %s", E2E_SOURCE_TOPIC);
        goto out;
    }
    if (read_topics(&vs, rk, meta, 0, e2e_now(), 1))
        goto out;
    for (n = 0; n < vs.count; n++)
        src_missing += vs.src_part[n] < 0;
    log_info("verify: source read in %.1f s", e2e_now() - t0);
    if (src_missing || vs.source_bad)
        printf("verify: source %s: %" PRIu64 " dataset message(s) missing, "
               "%" PRIu64 " wrong\n",
               E2E_SOURCE_TOPIC, src_missing, vs.source_bad);

    /* Then every other topic there is. */
    if (list_topics(&vs, rk, 0) ||
        read_topics(&vs, rk, meta, 1, e2e_now() + (double)timeout, 0))
        goto out;
    log_info("verify: outputs read in %.1f s", e2e_now() - t0);
    report_topics(&vs);
    ok = !vs.missing && !vs.unexpected && !vs.misplaced && !vs.bad_headers &&
         !vs.order && (allow_dups || !vs.dups) && !src_missing &&
         !vs.source_bad && !vs.unread && !vs.trimmed;
    printf("verify: expected=%" PRIu64 " found=%" PRIu64 " missing=%" PRIu64
           " duplicates=%" PRIu64 " unexpected=%" PRIu64 " misplaced=%" PRIu64
           " bad_headers=%" PRIu64 " out_of_order=%" PRIu64
           " unread=%d trimmed=%" PRIu64 " (%.1f s) %s\n",
           vs.entries, vs.found, vs.missing, vs.dups, vs.unexpected,
           vs.misplaced, vs.bad_headers, vs.order, vs.unread, vs.trimmed,
           e2e_now() - t0, ok ? "OK" : "FAILED");
    rc = ok ? 0 : 1;
out:
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    if (meta)
        rd_kafka_destroy(meta);
    vstate_free(&vs);
    return rc;
usage:
    fprintf(stderr,
            "usage: e2e_tool verify -b BROKERS --count N [--seed S]"
            " [--timeout SEC] [--allow-dups] [--rules-version V]"
            " [--max-report K] [--fail-topic TOPIC [--fail-detail TEXT]]\n");
    return 2;
}
