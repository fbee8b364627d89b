/* dlqscan.c - read a dead-letter topic directly, partition by partition,
 * over a time range fixed when the scan begins, decoding the router.*
 * headers of each record. */
#include "dlqscan.h"

#include <errno.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

#define POLL_MS 200

/* librdkafka's log lines, through ours; its info lines are debug here. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
    enum log_level l = log_level_from_syslog(level);

    (void)rk;
    log_msg(l < LOG_INFO ? l : LOG_DEBUG, "dlq: %s: %s", fac, buf);
}

/* The consumer for conf. NULL with errstr on error. */
static rd_kafka_t *consumer_new(const dlqscan_conf_t *conf, char *errstr,
                                size_t errstr_size)
{
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    char group[64];
    rd_kafka_t *rk;

    if (!kc) {
        snprintf(errstr, errstr_size, "out of memory");
        return NULL;
    }
    /* assign() needs a group.id; nothing joins or commits under it. */
    snprintf(group, sizeof(group), "router-dlq-%ld", (long)getpid());
    if (rd_kafka_conf_set(kc, "bootstrap.servers", conf->brokers, errstr,
                          errstr_size) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(kc, "group.id", group, errstr, errstr_size) !=
            RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(kc, "enable.auto.commit", "false", errstr,
                          errstr_size) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(kc, "enable.partition.eof", "false", errstr,
                          errstr_size) != RD_KAFKA_CONF_OK)
        goto err;
    for (size_t i = 0; conf->props && conf->props[i]; i++) {
        char name[256];
        const char *eq = strchr(conf->props[i], '=');
        size_t n = eq ? (size_t)(eq - conf->props[i]) : 0;

        if (!eq || n == 0 || n >= sizeof(name)) {
            snprintf(errstr, errstr_size, "-X %s: not prop=val",
                     conf->props[i]);
            goto err;
        }
        memcpy(name, conf->props[i], n);
        name[n] = '\0';
        if (rd_kafka_conf_set(kc, name, eq + 1, errstr, errstr_size) !=
            RD_KAFKA_CONF_OK)
            goto err;
    }
    rd_kafka_conf_set_log_cb(kc, on_log);
    rk = rd_kafka_new(RD_KAFKA_CONSUMER, kc, errstr, errstr_size);
    if (!rk)
        goto err;
    return rk; /* took kc */
err:
    rd_kafka_conf_destroy(kc);
    return NULL;
}

/* The partition count of conf->topic: > 0; 0 with errstr when it does
 * not exist (rc 2); -1 with errstr when no broker answered (rc 1). */
static int partition_count(rd_kafka_t *rk, const dlqscan_conf_t *conf,
                           char *errstr, size_t errstr_size)
{
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, conf->topic, NULL);
    rd_kafka_resp_err_t err;
    int n = -1;

    if (!rkt) {
        snprintf(errstr, errstr_size, "topic %s: %s", conf->topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        return 0;
    }
    err = rd_kafka_metadata(rk, 0, rkt, &md, conf->timeout_ms);
    if (err) {
        snprintf(errstr, errstr_size, "no broker of %s answered in %d s (%s)",
                 conf->brokers, conf->timeout_ms / 1000, rd_kafka_err2str(err));
    } else if (md->topic_cnt != 1 || md->topics[0].err ||
               md->topics[0].partition_cnt <= 0) {
        snprintf(errstr, errstr_size, "topic %s: %s", conf->topic,
                 md->topic_cnt == 1 && md->topics[0].err
                     ? rd_kafka_err2str(md->topics[0].err)
                     : "no such topic");
        n = 0;
    } else {
        n = md->topics[0].partition_cnt;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n;
}

/* The offsets of the first records at or after ts (ms) in the n
 * partitions of topic, into off[]: -1 when unknown (an error, or -1 in
 * the answer: "no record that late" from a broker, "not indexed" from the
 * mock; the range then stays whole and the timestamps decide). 0, or -1
 * with errstr. */
static int offsets_at(rd_kafka_t *rk, const dlqscan_conf_t *conf, int n,
                      int64_t ts, int64_t *off, char *errstr,
                      size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    rd_kafka_resp_err_t err;

    if (!l) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        rd_kafka_topic_partition_list_add(l, conf->topic, i)->offset = ts;
        off[i] = -1;
    }
    err = rd_kafka_offsets_for_times(rk, l, conf->timeout_ms);
    if (err) {
        snprintf(errstr, errstr_size, "offsets for times of %s: %s",
                 conf->topic, rd_kafka_err2str(err));
        rd_kafka_topic_partition_list_destroy(l);
        return -1;
    }
    for (int i = 0; i < l->cnt; i++) {
        const rd_kafka_topic_partition_t *tp = &l->elems[i];

        if (tp->partition >= 0 && tp->partition < n && !tp->err)
            off[tp->partition] = tp->offset;
    }
    rd_kafka_topic_partition_list_destroy(l);
    return 0;
}

/* The ranges of the n partitions: [low watermark, high watermark) now,
 * narrowed to [since, until] where the cluster knows the offsets. 0, or -1
 * with errstr. */
static int ranges(rd_kafka_t *rk, const dlqscan_conf_t *conf, int n,
                  dlqscan_range_t *r, char *errstr, size_t errstr_size)
{
    int64_t *off = calloc((size_t)n, sizeof(*off));
    int rc = -1;

    if (!off) {
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(
            rk, conf->topic, i, &r[i].start, &r[i].end, conf->timeout_ms);

        r[i].partition = i;
        if (err) {
            snprintf(errstr, errstr_size, "%s [%d]: watermarks: %s",
                     conf->topic, i, rd_kafka_err2str(err));
            goto out;
        }
    }
    if (conf->since_ms >= 0) {
        if (offsets_at(rk, conf, n, conf->since_ms, off, errstr, errstr_size))
            goto out;
        for (int i = 0; i < n; i++)
            if (off[i] > r[i].start && off[i] <= r[i].end)
                r[i].start = off[i];
    }
    if (conf->until_ms >= 0) {
        if (offsets_at(rk, conf, n, conf->until_ms + 1, off, errstr,
                       errstr_size))
            goto out;
        for (int i = 0; i < n; i++)
            if (off[i] >= r[i].start && off[i] < r[i].end)
                r[i].end = off[i];
    }
    rc = 0;
out:
    free(off);
    return rc;
}

/* Copy header name of h into out (cut to fit, NUL-terminated); "" when
 * absent. Returns 1 when present. */
static int hdr_str(rd_kafka_headers_t *h, const char *name, char *out,
                   size_t size)
{
    const void *v;
    size_t n;

    out[0] = '\0';
    if (!h || rd_kafka_header_get_last(h, name, &v, &n) || !v)
        return 0;
    if (n >= size)
        n = size - 1;
    memcpy(out, v, n);
    out[n] = '\0';
    return 1;
}

/* A header holding a decimal integer; -1 when absent or malformed. */
static int64_t hdr_int(rd_kafka_headers_t *h, const char *name)
{
    char buf[32], *end;
    long long v;

    if (!hdr_str(h, name, buf, sizeof(buf)) || !buf[0])
        return -1;
    errno = 0;
    v = strtoll(buf, &end, 10);
    return errno || *end ? -1 : (int64_t)v;
}

/* Fill rec from the consumed message m. */
static void decode(rd_kafka_message_t *m, dlqscan_rec_t *rec)
{
    rd_kafka_headers_t *h = NULL;
    rd_kafka_timestamp_type_t tst;

    if (rd_kafka_message_headers(m, &h))
        h = NULL;
    rec->partition = m->partition;
    rec->offset = m->offset;
    rec->timestamp = rd_kafka_message_timestamp(m, &tst);
    rec->is_dead_letter =
        hdr_str(h, "router.reason", rec->reason, sizeof(rec->reason));
    hdr_str(h, "router.detail", rec->detail, sizeof(rec->detail));
    hdr_str(h, "router.route", rec->route, sizeof(rec->route));
    hdr_str(h, "router.source.topic", rec->src_topic, sizeof(rec->src_topic));
    rec->src_partition = (int32_t)hdr_int(h, "router.source.partition");
    rec->src_offset = hdr_int(h, "router.source.offset");
    rec->src_timestamp = hdr_int(h, "router.source.timestamp");
    hdr_str(h, "router.rules.version", rec->rules_version,
            sizeof(rec->rules_version));
    rec->headers = h;
    rec->key = m->key;
    rec->key_len = m->key_len;
    rec->value = m->payload;
    rec->value_len = m->len;
}

/* Read partition range r, calling cb. 0 when done, 1 when cb stopped, -1
 * with errstr on a fetch error or a stall. */
static int scan_range(rd_kafka_t *rk, const dlqscan_conf_t *conf,
                      const dlqscan_range_t *r,
                      int (*cb)(const dlqscan_rec_t *, void *), void *opaque,
                      dlqscan_summary_t *sum, char *errstr, size_t errstr_size)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    int64_t next = r->start, last_progress = clock_ms();
    dlqscan_rec_t *rec = calloc(1, sizeof(*rec));
    rd_kafka_resp_err_t err;
    int rc = -1;

    if (!l || !rec) {
        snprintf(errstr, errstr_size, "out of memory");
        goto out;
    }
    rd_kafka_topic_partition_list_add(l, conf->topic, r->partition)->offset =
        r->start;
    if ((err = rd_kafka_assign(rk, l))) {
        snprintf(errstr, errstr_size, "%s [%" PRId32 "]: assign: %s",
                 conf->topic, r->partition, rd_kafka_err2str(err));
        goto out;
    }
    while (next < r->end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, POLL_MS);

        if (!m) {
            if (clock_ms() - last_progress > conf->timeout_ms) {
                snprintf(errstr, errstr_size,
                         "%s [%" PRId32 "]: no record for %d s at offset "
                         "%" PRId64 " (end %" PRId64 ")",
                         conf->topic, r->partition, conf->timeout_ms / 1000,
                         next, r->end);
                goto out;
            }
            continue;
        }
        if (m->err) {
            if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                log_warn("dlq: %s [%" PRId32 "]: %s", conf->topic, r->partition,
                         rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        last_progress = clock_ms();
        if (m->partition != r->partition || m->offset < next) {
            rd_kafka_message_destroy(m);
            continue;
        }
        next = m->offset + 1; /* compacted or aborted gaps are skipped */
        if (m->offset >= r->end) {
            rd_kafka_message_destroy(m);
            break;
        }
        decode(m, rec);
        /* Offsets for times narrowed the range; the timestamps decide
         * (a cluster may not index times, or index them coarsely). */
        if ((conf->since_ms >= 0 && rec->timestamp < conf->since_ms) ||
            (conf->until_ms >= 0 && rec->timestamp > conf->until_ms)) {
            rd_kafka_message_destroy(m);
            continue;
        }
        sum->records++;
        sum->dead_letters += rec->is_dead_letter;
        rc = cb(rec, opaque);
        rd_kafka_message_destroy(m);
        if (rc) {
            rc = 1;
            goto out;
        }
    }
    rc = 0;
out:
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    free(rec);
    return rc;
}

/* A consumer for conf and the topic's partition count (> 0). Returns 0;
 * 1 or 2 with errstr (rk NULL) as dlqscan_run(). */
static int open_topic(const dlqscan_conf_t *conf, rd_kafka_t **rk, int *n,
                      char *errstr, size_t errstr_size)
{
    if (!(*rk = consumer_new(conf, errstr, errstr_size)))
        return 2;
    *n = partition_count(*rk, conf, errstr, errstr_size);
    if (*n > 0)
        return 0;
    rd_kafka_destroy(*rk);
    *rk = NULL;
    return *n == 0 ? 2 : 1;
}

int dlqscan_ranges(const dlqscan_conf_t *conf, dlqscan_range_t **out, int *n,
                   char *errstr, size_t errstr_size)
{
    rd_kafka_t *rk;
    int rc = open_topic(conf, &rk, n, errstr, errstr_size);

    *out = NULL;
    if (rc)
        return rc;
    rc = 1;
    if (!(*out = calloc((size_t)*n, sizeof(**out))))
        snprintf(errstr, errstr_size, "out of memory");
    else if (ranges(rk, conf, *n, *out, errstr, errstr_size) == 0)
        rc = 0;
    if (rc) {
        free(*out);
        *out = NULL;
    }
    rd_kafka_destroy(rk);
    return rc;
}

int dlqscan_run(const dlqscan_conf_t *conf, const dlqscan_range_t *given,
                int ngiven, int (*cb)(const dlqscan_rec_t *rec, void *opaque),
                void *opaque, dlqscan_summary_t *sum, char *errstr,
                size_t errstr_size)
{
    dlqscan_summary_t local = {0, 0, 0};
    dlqscan_range_t *r = NULL;
    const dlqscan_range_t *use = given;
    rd_kafka_t *rk;
    int n, rc;

    if (!sum)
        sum = &local;
    memset(sum, 0, sizeof(*sum));
    if ((rc = open_topic(conf, &rk, &n, errstr, errstr_size)))
        return rc;
    rc = 1;
    sum->partitions = n;
    if (!given) {
        if (!(r = calloc((size_t)n, sizeof(*r)))) {
            snprintf(errstr, errstr_size, "out of memory");
            goto out;
        }
        if (ranges(rk, conf, n, r, errstr, errstr_size))
            goto out;
        use = r;
        ngiven = n;
    }
    for (int i = 0; i < ngiven; i++) {
        int s = use[i].start < use[i].end
                    ? scan_range(rk, conf, &use[i], cb, opaque, sum, errstr,
                                 errstr_size)
                    : 0;

        if (s < 0)
            goto out;
        if (s > 0)
            break;
    }
    if (sum->records > 0 && sum->dead_letters == 0) {
        snprintf(errstr, errstr_size,
                 "%s is not a dead-letter topic: none of its %" PRIu64
                 " records in the range has router.* headers",
                 conf->topic, sum->records);
        rc = 2;
        goto out;
    }
    rc = 0;
out:
    free(r);
    /* Never subscribed: no group to leave, nothing to commit. */
    rd_kafka_destroy(rk);
    return rc;
}

/* ---- times ------------------------------------------------------------ */

/* dlqscan_parse_time() without the range check. */
static int parse_time(const char *s, int64_t now_ms, int64_t *out)
{
    struct tm tm;
    const char *p;
    char *end;
    long long v;
    int64_t frac = 0;
    size_t n = s ? strlen(s) : 0;

    if (n == 0)
        return -1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (!errno && end != s && v >= 0 && end == s + n) {
        *out = n >= 13 ? (int64_t)v : (int64_t)v * 1000; /* ms or s */
        return 0;
    }
    if (!errno && end != s && v >= 0 && end == s + n - 1) {
        static const struct {
            char unit;
            int64_t ms;
        } units[] = {
            {'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}};

        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (*end == units[i].unit) {
                if (v > INT64_MAX / units[i].ms)
                    return -1; /* longer ago than anything */
                *out = now_ms - (int64_t)v * units[i].ms;
                return 0;
            }
        return -1;
    }
    memset(&tm, 0, sizeof(tm));
    p = strptime(s, "%Y-%m-%d", &tm);
    if (!p)
        return -1;
    if (*p == 'T' || *p == ' ') {
        const char *q = strptime(p + 1, "%H:%M:%S", &tm);

        p = q ? q : strptime(p + 1, "%H:%M", &tm);
        if (!p)
            return -1;
    }
    if (*p == '.') { /* milliseconds (more digits are cut) */
        int digits = 0;

        for (p++; *p >= '0' && *p <= '9'; p++, digits++)
            if (digits < 3)
                frac = frac * 10 + (*p - '0');
        if (!digits)
            return -1;
        while (digits++ < 3)
            frac *= 10;
    }
    if (*p == 'Z')
        p++;
    if (*p)
        return -1;
    *out = (int64_t)timegm(&tm) * 1000 + frac;
    return 0;
}

void dlqscan_fmt_time(int64_t ms, char *out, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char buf[32];

    if (ms < 0 || !gmtime_r(&t, &tm) ||
        !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm)) {
        snprintf(out, size, "-");
        return;
    }
    snprintf(out, size, "%s.%03dZ", buf, (int)(ms % 1000));
}

/* ---- selection -------------------------------------------------------- */

/* 1 when hay[0..n) holds needle (ASCII case ignored). */
static int holds(const void *hay, size_t n, const char *needle)
{
    const char *h = hay;
    size_t m = strlen(needle);

    if (!h || m > n)
        return 0;
    for (size_t i = 0; i + m <= n; i++)
        if (!strncasecmp(h + i, needle, m))
            return 1;
    return 0;
}

int dlqscan_selected(const dlqscan_filter_t *f, const dlqscan_rec_t *r)
{
    if (!r->is_dead_letter)
        return 0;
    if ((f->reason && strcmp(f->reason, r->reason)) ||
        (f->route && strcmp(f->route, r->route)) ||
        (f->source_topic && strcmp(f->source_topic, r->src_topic)) ||
        (f->rules_version && strcmp(f->rules_version, r->rules_version)))
        return 0;
    return !f->q || holds(r->key, r->key_len, f->q) ||
           holds(r->value, r->value_len, f->q) ||
           holds(r->detail, strlen(r->detail), f->q);
}

const char **dlqscan_consumer_props(const char *const *x, size_t n)
{
    const char **props = calloc(n + 1, sizeof(*props));
    size_t np = 0;

    if (!props)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!strncmp(x[i], "producer.", 9))
            continue;
        props[np++] = strncmp(x[i], "consumer.", 9) ? x[i] : x[i] + 9;
    }
    return props; /* NULL-ended: calloc'd one more */
}

int dlqscan_parse_time(const char *s, int64_t now_ms, int64_t *out)
{
    int64_t t;

    /* Before 1970 no record can be: refused, as a malformed time. */
    if (parse_time(s, now_ms, &t) || t < 0)
        return -1;
    *out = t;
    return 0;
}
