/* dlqsel.c - the selection of `router dlq` (reason, route, source topic,
 * rules version, keyword) and what its subcommands share: the scan and its
 * error line, JSON of times and bytes. */
#include "dlqtool_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

int dlq_selected(const dlqtool_conf_t *c, const dlqscan_rec_t *r)
{
    dlqscan_filter_t f = {c->reason, c->route, c->source_topic,
                          c->rules_version, c->q};

    return dlqscan_selected(&f, r);
}

/* A JSON string of an RFC 3339 time, or null for none. */
json_t *dlq_time_json(int64_t ms)
{
    char buf[40];

    if (ms < 0)
        return json_null();
    dlqscan_fmt_time(ms, buf, sizeof(buf));
    return json_string(buf);
}

/* buf[0..n) as a JSON string (invalid UTF-8 replaced), "..." appended
 * when cut (full > n); null for NULL. */
json_t *dlq_bytes_json(const char *buf, size_t n, size_t full)
{
    char *clean;
    json_t *j;

    if (!buf)
        return json_null();
    if (!(clean = malloc(3 * n + 4)))
        return NULL;
    n = utf8_clean(buf, n, clean);
    if (full > n)
        memcpy(clean + n, "...", 4), n += 3;
    j = json_stringn(clean, n);
    free(clean);
    return j;
}

/* A scan's view of the reasons, to say which exist when --reason R kept
 * nothing (a typo must not look like "no such dead letters"). */
#define SEEN_MAX 16
typedef struct seen {
    const dlqtool_conf_t *c;
    int (*cb)(const dlqscan_rec_t *, void *);
    void *opaque;
    char reasons[SEEN_MAX][64];
    int n;
    uint64_t kept;
} seen_t;

static int seen_cb(const dlqscan_rec_t *r, void *opaque)
{
    seen_t *s = opaque;
    int i;

    for (i = 0; r->is_dead_letter && i < s->n; i++)
        if (!strcmp(s->reasons[i], r->reason))
            break;
    if (r->is_dead_letter && i == s->n && s->n < SEEN_MAX)
        snprintf(s->reasons[s->n++], sizeof(s->reasons[0]), "%s", r->reason);
    s->kept += dlq_selected(s->c, r);
    return s->cb(r, s->opaque);
}

int dlq_scan(const dlqtool_conf_t *c, const dlqscan_conf_t *sc, const char *cmd,
             int (*cb)(const dlqscan_rec_t *, void *), void *opaque,
             const int *oom, dlqscan_summary_t *sum)
{
    seen_t s = {c, cb, opaque, {{0}}, 0, 0};
    char errstr[512], list[SEEN_MAX * 66] = "";
    int rc = dlqscan_run(sc, NULL, 0, seen_cb, &s, sum, errstr, sizeof(errstr));

    if (rc == 0 && *oom) {
        snprintf(errstr, sizeof(errstr), "out of memory");
        rc = 1;
    }
    if (rc) {
        fprintf(stderr, "router: error: dlq %s: %s\n", cmd, errstr);
        return rc;
    }
    if (c->reason && !s.kept) {
        for (int i = 0; i < s.n; i++) {
            if (!strcmp(s.reasons[i], c->reason))
                return 0; /* it exists; the rest of the selection missed */
            strcat(list, i ? ", " : "");
            strcat(list, s.reasons[i]);
        }
        fprintf(stderr,
                "router: warn: dlq %s: no dead letter in the range has "
                "reason \"%s\"; its reasons: %s\n",
                cmd, c->reason, s.n ? list : "(none)");
    }
    return 0;
}
