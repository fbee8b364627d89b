/* control.c - rules management, from a file (load, reload, replace and
 * persist) or a fleet's rules topic (read, publish, apply each record in
 * order), and the behaviour behind the admin endpoints. */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "anomscan.h"
#include "dlqscan.h"
#include "log.h"
#include "sha256.h"

#define MAX_RULES_FILE (64 * 1024 * 1024)
#define APPLY_WAIT_MS  15000 /* a publish waits this long to run here */
#define CATCH_UP_MS    30000 /* start: read the rules topic within */

struct control {
    char *path;             /* the rules file (owned) */
    metrics_t *metrics;     /* not owned, may be NULL */
    anomalies_t *anomalies; /* not owned, may be NULL */
    pipeline_t *_Atomic pl; /* not owned; NULL until set (set by the
                             * main thread while admin threads read) */
    rulestopic_t *rt;       /* fleet: the rules topic (not owned);
                             * NULL: rules from the file */
    pthread_mutex_t lock;   /* serializes loads; guards below */
    pthread_cond_t applied; /* fleet: a record was handled */
    char *text;             /* text of the running rules (owned) */
    size_t len;
    int64_t version; /* version of the running rules */
    time_t loaded_at;
    char checksum[65]; /* sha256 of text */
    /* Fleet only: */
    int64_t seen;          /* offset of the last record handled, -1 */
    rules_set_t *pending;  /* start: the latest valid record's rules,
                            * until the pipeline takes them (owned) */
    char writer[256];      /* who published the running rules */
    int64_t written_ms;    /* ... and when (ms since the epoch) */
    int64_t refused;       /* the newest record refused, -1 none */
    char refused_why[512]; /* ... and why */
    /* GET /anomalies?scan=topic: what to read the dead-letter topic with,
     * NULL until control_set_dlq_scan() (then fixed until destroy); at
     * most one scan at a time (scan_busy), so that a slow scan never
     * holds every admin thread and /healthz keeps answering. */
    struct dlq_scan *_Atomic scan;
    atomic_int scan_busy;
};

/* The client settings of a topic scan, owned by control. */
struct dlq_scan {
    char *brokers;
    char **x; /* copies of the -X properties, nx of them */
    size_t nx;
    const char **props; /* the consumer's share of x, NULL-ended */
};

static void dlq_scan_free(struct dlq_scan *ds)
{
    if (!ds)
        return;
    for (size_t i = 0; i < ds->nx; i++)
        free(ds->x[i]);
    free(ds->x);
    free(ds->props);
    free(ds->brokers);
    free(ds);
}

control_t *control_create(const char *path, metrics_t *metrics,
                          anomalies_t *anomalies)
{
    control_t *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    if ((path && !(c->path = strdup(path))) ||
        pthread_mutex_init(&c->lock, NULL)) {
        free(c->path);
        free(c);
        return NULL;
    }
    if (pthread_cond_init(&c->applied, NULL)) {
        pthread_mutex_destroy(&c->lock);
        free(c->path);
        free(c);
        return NULL;
    }
    c->seen = -1;
    c->refused = -1;
    c->metrics = metrics;
    c->anomalies = anomalies;
    if (metrics &&
        metrics_declare(metrics, "router_rules_reloads_total", METRICS_COUNTER,
                        "Rules loads after the start, per result (ok, "
                        "error).",
                        "result", NULL)) {
        control_destroy(c);
        return NULL;
    }
    return c;
}

void control_destroy(control_t *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->applied);
    rules_destroy(c->pending);
    dlq_scan_free(atomic_load(&c->scan));
    free(c->text);
    free(c->path);
    free(c);
}

void control_set_pipeline(control_t *c, pipeline_t *pl)
{
    atomic_store(&c->pl, pl);
}

/* Read a whole file. Returns a malloc'd, NUL-terminated buffer (length in
 * *len) or NULL with errstr set. */
static char *read_file(const char *path, size_t *len, char *errstr,
                       size_t errstr_size)
{
    char *buf = NULL;
    size_t cap = 0;
    FILE *f = fopen(path, "rb");

    *len = 0;
    if (!f) {
        snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        size_t n;

        if (*len + 1 >= cap) {
            char *nb;

            if (cap >= MAX_RULES_FILE) {
                snprintf(errstr, errstr_size, "%s: larger than %d bytes", path,
                         MAX_RULES_FILE);
                goto err;
            }
            cap = cap ? cap * 2 : 65536;
            if (!(nb = realloc(buf, cap))) {
                snprintf(errstr, errstr_size, "%s: out of memory", path);
                goto err;
            }
            buf = nb;
        }
        n = fread(buf + *len, 1, cap - *len - 1, f);
        *len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        snprintf(errstr, errstr_size, "%s: read error", path);
        goto err;
    }
    buf[*len] = '\0';
    fclose(f);
    return buf;
err:
    free(buf);
    fclose(f);
    return NULL;
}

/* Compile text; on error fill errstr (prefixed with what) and *rerr. */
static rules_set_t *compile(const char *what, const char *text, size_t len,
                            rules_error_t *rerr, char *errstr,
                            size_t errstr_size)
{
    rules_set_t *rs = rules_load(text, len, rerr);

    if (!rs) {
        if (rerr->line > 0)
            snprintf(errstr, errstr_size, "%s:%d:%d: %s", what, rerr->line,
                     rerr->column, rerr->msg);
        else
            snprintf(errstr, errstr_size, "%s: %s", what, rerr->msg);
    }
    return rs;
}

/* Make text (taken over) the running rules' text. Lock held. */
static void set_text(control_t *c, char *text, size_t len, int64_t version)
{
    free(c->text);
    c->text = text;
    c->len = len;
    c->version = version;
    c->loaded_at = time(NULL);
    sha256_hex(text, len, c->checksum);
}

static void count_reload(control_t *c, const char *result)
{
    if (!c->metrics)
        return;
    metrics_lock(c->metrics);
    metrics_add(c->metrics, "router_rules_reloads_total", result, NULL, 1);
    metrics_unlock(c->metrics);
}

/* Hand rs (taken) to the pipeline as version (-1: the next local one)
 * and make text (taken) the running rules' text; copy the checksum to sum
 * when not NULL. Lock held, pl set. Returns the new version, or -1 when
 * out of memory (nothing changed). */
static int64_t install(control_t *c, pipeline_t *pl, rules_set_t *rs,
                       char *text, size_t len, int64_t version, char sum[65])
{
    int64_t v = pipeline_set_rules(pl, rs, version); /* takes rs */

    if (v < 0) {
        free(text);
        count_reload(c, "error");
        return -1;
    }
    set_text(c, text, len, v);
    count_reload(c, "ok");
    if (sum)
        memcpy(sum, c->checksum, sizeof(c->checksum));
    return v;
}

rules_set_t *control_load(control_t *c, char *errstr, size_t errstr_size)
{
    rules_error_t rerr;
    rules_set_t *rs;
    size_t len;
    char *text = read_file(c->path, &len, errstr, errstr_size);

    if (!text)
        return NULL;
    rs = compile(c->path, text, len, &rerr, errstr, errstr_size);
    if (!rs) {
        free(text);
        return NULL;
    }
    pthread_mutex_lock(&c->lock);
    set_text(c, text, len, 1);
    pthread_mutex_unlock(&c->lock);
    return rs;
}

/* ---- fleet: the rules topic ------------------------------------------ */

void control_on_record(void *opaque, const rulestopic_record_t *rec)
{
    control_t *c = opaque;
    pipeline_t *pl = atomic_load(&c->pl);
    rules_error_t rerr;
    rules_set_t *rs = NULL;
    char what[300], errstr[512], *text = NULL;

    pthread_mutex_lock(&c->lock);
    if (rec->offset <= c->seen)
        goto out;
    c->seen = rec->offset;
    snprintf(what, sizeof(what), "%s offset %" PRId64, rulestopic_name(c->rt),
             rec->offset);
    if (!rec->value)
        snprintf(errstr, sizeof(errstr), "%s: empty record (a tombstone)",
                 what);
    else if (!(text = malloc(rec->len + 1)))
        snprintf(errstr, sizeof(errstr), "%s: out of memory", what);
    else
        rs = compile(what, rec->value, rec->len, &rerr, errstr, sizeof(errstr));
    if (rs) {
        memcpy(text, rec->value, rec->len);
        text[rec->len] = '\0';
        if (pl) {
            if (install(c, pl, rs, text, rec->len, rec->offset, NULL) < 0)
                snprintf(errstr, sizeof(errstr), "%s: out of memory", what);
        } else {
            /* Start: the pipeline takes the latest valid one. */
            rules_destroy(c->pending);
            c->pending = rs;
            set_text(c, text, rec->len, rec->offset);
        }
        text = NULL; /* taken by install() or set_text(), also on failure */
    }
    if (c->version == rec->offset) {
        snprintf(c->writer, sizeof(c->writer), "%s", rec->writer);
        c->written_ms = rec->written_ms;
        if (c->refused < rec->offset)
            c->refused = -1;
        log_info("rules version %" PRId64 " from %s (written by %s)",
                 rec->offset, rulestopic_name(c->rt),
                 rec->writer[0] ? rec->writer : "unknown");
    } else {
        free(text);
        c->refused = rec->offset;
        snprintf(c->refused_why, sizeof(c->refused_why), "%s", errstr);
        if (pl)
            count_reload(c, "error");
        log_error("rules refused, keeping version %" PRId64 ": %s", c->version,
                  errstr);
    }
    pthread_cond_broadcast(&c->applied);
out:
    pthread_mutex_unlock(&c->lock);
}

/* Publish text (validated) to the rules topic and wait until this instance
 * runs it. Returns its version, or -1 with errstr and *status (503: not
 * written, or not running here within APPLY_WAIT_MS; 500: refused
 * here). */
static int64_t publish(control_t *c, const char *text, size_t len, int *status,
                       char *errstr, size_t errstr_size)
{
    int64_t v = rulestopic_publish(c->rt, text, len, errstr, errstr_size);
    struct timespec until;
    char why[256];

    *status = 503;
    if (v < 0) {
        count_reload(c, "error");
        return -1;
    }
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += APPLY_WAIT_MS / 1000;
    pthread_mutex_lock(&c->lock);
    while (c->seen < v &&
           pthread_cond_timedwait(&c->applied, &c->lock, &until) == 0)
        ;
    if (c->version >= v) {
        pthread_mutex_unlock(&c->lock);
        return v;
    }
    if (c->seen >= v) {
        *status = 500;
        snprintf(errstr, errstr_size,
                 "published as version %" PRId64 " but refused here: %s", v,
                 c->refused_why);
    } else {
        rulestopic_health(c->rt, why, sizeof(why));
        snprintf(errstr, errstr_size,
                 "published as version %" PRId64 ", but not running here "
                 "after %d s%s%s",
                 v, APPLY_WAIT_MS / 1000, why[0] ? ": " : "", why);
    }
    pthread_mutex_unlock(&c->lock);
    return -1;
}

rules_set_t *control_load_topic(control_t *c, rulestopic_t *rt,
                                int64_t *version, int *code, char *errstr,
                                size_t errstr_size)
{
    rules_error_t rerr;
    rules_set_t *rs;
    size_t len;
    char *text;

    c->rt = rt;
    *code = 1;
    if (rulestopic_catch_up(rt, control_on_record, c, CATCH_UP_MS, errstr,
                            errstr_size))
        return NULL;
    if (!c->pending) {
        *code = 2;
        if (!c->path) {
            snprintf(errstr, errstr_size,
                     "rules topic %s holds no valid rules for this group: "
                     "give -r FILE to publish the first version",
                     rulestopic_name(rt));
            return NULL;
        }
        if (!(text = read_file(c->path, &len, errstr, errstr_size)))
            return NULL;
        rs = compile(c->path, text, len, &rerr, errstr, errstr_size);
        rules_destroy(rs);
        if (!rs) {
            free(text);
            return NULL;
        }
        *code = 1;
        /* Not routing yet: no pipeline to wait for, the catch-up reads it. */
        if (rulestopic_publish(rt, text, len, errstr, errstr_size) < 0 ||
            rulestopic_catch_up(rt, control_on_record, c, CATCH_UP_MS, errstr,
                                errstr_size)) {
            free(text);
            return NULL;
        }
        free(text);
        if (!c->pending) {
            snprintf(errstr, errstr_size,
                     "rules topic %s: published %s, but did not read it back",
                     rulestopic_name(rt), c->path);
            return NULL;
        }
        log_info("rules topic %s had no rules for this group: published %s "
                 "as version %" PRId64,
                 rulestopic_name(rt), c->path, c->version);
    }
    pthread_mutex_lock(&c->lock);
    rs = c->pending;
    c->pending = NULL;
    *version = c->version;
    pthread_mutex_unlock(&c->lock);
    return rs;
}

/* control_reload(), and the checksum of what it loaded into sum (when not
 * NULL), read under the same lock so both belong to one version. Fleet:
 * validated, then published; *status says why it failed. */
static int64_t reload(control_t *c, char sum[65], int *status, char *errstr,
                      size_t errstr_size)
{
    pipeline_t *pl = atomic_load(&c->pl);
    rules_error_t rerr;
    rules_set_t *rs = NULL;
    size_t len;
    char *text;
    int64_t v = -1;

    *status = 400;
    if (!c->path) {
        snprintf(errstr, errstr_size, "no rules file to reload (no -r)");
        return -1;
    }
    if (c->rt) {
        if (!(text = read_file(c->path, &len, errstr, errstr_size)))
            return -1;
        rs = compile(c->path, text, len, &rerr, errstr, errstr_size);
        rules_destroy(rs);
        if (rs)
            v = publish(c, text, len, status, errstr, errstr_size);
        else
            count_reload(c, "error");
        free(text);
        if (v >= 0 && sum) {
            pthread_mutex_lock(&c->lock);
            memcpy(sum, c->checksum, sizeof(c->checksum));
            pthread_mutex_unlock(&c->lock);
        }
        if (v >= 0)
            log_info("rules reloaded from %s: published as version %" PRId64,
                     c->path, v);
        return v;
    }
    pthread_mutex_lock(&c->lock);
    text = read_file(c->path, &len, errstr, errstr_size);
    if (text)
        rs = compile(c->path, text, len, &rerr, errstr, errstr_size);
    if (!rs || !pl) {
        if (rs && !pl)
            snprintf(errstr, errstr_size, "not routing yet");
        rules_destroy(rs);
        free(text);
        count_reload(c, "error");
        goto out;
    }
    v = install(c, pl, rs, text, len, -1, sum);
    if (v >= 0)
        log_info("rules reloaded from %s: version %" PRId64, c->path, v);
    else
        snprintf(errstr, errstr_size, "out of memory");
out:
    pthread_mutex_unlock(&c->lock);
    return v;
}

int64_t control_reload(control_t *c, char *errstr, size_t errstr_size)
{
    int status;

    return reload(c, NULL, &status, errstr, errstr_size);
}

/* Write text to path atomically: a temporary file in the same directory,
 * fsync, rename over path, fsync the directory. Returns 0 or -1 with
 * errstr set (path is then unchanged). */
static int persist(const char *path, const char *text, size_t len, char *errstr,
                   size_t errstr_size)
{
    char tmp[4096], dir[4096];
    size_t off = 0;
    int fd, dfd;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
        (int)sizeof(tmp)) {
        snprintf(errstr, errstr_size, "%.512s: path too long", path);
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(errstr, errstr_size, "%.512s: %s", tmp, strerror(errno));
        return -1;
    }
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(errstr, errstr_size, "%.512s: %s", tmp, strerror(errno));
            goto err;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0) {
        snprintf(errstr, errstr_size, "%.512s: fsync: %s", tmp,
                 strerror(errno));
        goto err;
    }
    if (close(fd) != 0) {
        fd = -1;
        snprintf(errstr, errstr_size, "%.512s: %s", tmp, strerror(errno));
        goto err;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        snprintf(errstr, errstr_size, "%.512s: %s", path, strerror(errno));
        goto err;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0)
            log_warn("fsync of the directory of %s: %s", path, strerror(errno));
        close(dfd);
    }
    return 0;
err:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    return -1;
}

/* ---- admin callbacks -------------------------------------------------- */

/* Reply with a JSON value (taken over); 500 when it can't be dumped. */
static void reply_json(admin_reply_t *r, int status, json_t *j)
{
    r->type = ADMIN_TYPE_JSON;
    r->body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    r->status = r->body ? status : 500;
    json_decref(j);
}

static void reply_error(admin_reply_t *r, int status, const char *msg, int line,
                        int column)
{
    json_t *j = json_pack("{s:s}", "error", msg);

    if (j && line > 0) {
        json_object_set_new(j, "line", json_integer(line));
        json_object_set_new(j, "column", json_integer(column));
    }
    reply_json(r, status, j);
}

/* The pipeline's figures; st->health is "" when healthy, else the reason
 * ("starting" before the pipeline is set, "stopping" once it stopped). */
static void snapshot(control_t *c, pipeline_stats_t *st)
{
    pipeline_t *pl = atomic_load(&c->pl);

    memset(st, 0, sizeof(*st));
    st->lag = -1;
    if (!pl) {
        snprintf(st->health, sizeof(st->health), "starting");
        return;
    }
    pipeline_stats(pl, st);
    if (!st->running && !st->health[0])
        snprintf(st->health, sizeof(st->health), "stopping");
}

static void on_health(void *opaque, admin_reply_t *r)
{
    control_t *c = opaque;
    pipeline_stats_t st;
    char body[sizeof(st.health) + 1];

    snapshot(c, &st);
    if (!st.health[0] && c->rt) {
        /* Fleet: not on the fleet's rules, or cannot tell. */
        pthread_mutex_lock(&c->lock);
        if (c->refused > c->version)
            snprintf(st.health, sizeof(st.health),
                     "rules version %lld refused, running %lld: %.180s",
                     (long long)c->refused, (long long)c->version,
                     c->refused_why);
        pthread_mutex_unlock(&c->lock);
        if (!st.health[0])
            rulestopic_health(c->rt, st.health, sizeof(st.health));
    }
    snprintf(body, sizeof(body), "%s\n", st.health[0] ? st.health : "ok");
    r->type = ADMIN_TYPE_TEXT;
    r->body = strdup(body);
    r->status = !r->body ? 500 : st.health[0] ? 503 : 200;
}

static void on_metrics(void *opaque, admin_reply_t *r)
{
    control_t *c = opaque;

    r->type = ADMIN_TYPE_METRICS;
    r->body = c->metrics ? metrics_render_text(c->metrics) : strdup("");
    r->status = r->body ? 200 : 500;
}

static void on_stats(void *opaque, admin_reply_t *r)
{
    control_t *c = opaque;
    pipeline_stats_t st;
    json_t *j, *m = NULL;
    char *mtext;

    snapshot(c, &st);
    if (c->metrics && (mtext = metrics_render_json(c->metrics))) {
        m = json_loads(mtext, 0, NULL);
        free(mtext);
    }
    j = json_pack("{s:s, s:i, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
                  "s:o}",
                  "health", st.health[0] ? st.health : "ok", "assigned",
                  st.assigned, "paused", st.paused, "held", st.held,
                  "rules_version", (json_int_t)st.rules_version, "consumed",
                  (json_int_t)st.consumed, "produced", (json_int_t)st.produced,
                  "dead_lettered", (json_int_t)st.dead_lettered, "dropped",
                  (json_int_t)st.dropped, "inflight", (json_int_t)st.inflight,
                  "lag", (json_int_t)st.lag, "metrics", m ? m : json_object());
    reply_json(r, 200, j);
}

/* "2026-12-02T10:00:00Z" of t (seconds), or "unknown". */
static void fmt_time(time_t t, char when[32])
{
    struct tm tm;

    if (!gmtime_r(&t, &tm) || !strftime(when, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(when, 32, "unknown");
}

/* What GET /rules shows: the running rules and where they come from.
 * Lock held. NULL when out of memory. */
static json_t *rules_json(control_t *c)
{
    json_t *rules = c->text ? json_loadb(c->text, c->len, 0, NULL) : NULL;
    char when[32], written[32];
    json_t *j;

    fmt_time(c->loaded_at, when);
    j = json_pack("{s:I, s:s, s:s, s:s, s:o}", "version",
                  (json_int_t)c->version, "source", c->rt ? "topic" : "file",
                  "loaded_at", when, "checksum", c->checksum, "rules",
                  rules ? rules : json_null());
    if (!j)
        return NULL;
    if (c->path)
        json_object_set_new(j, "file", json_string(c->path));
    if (c->rt) {
        fmt_time((time_t)(c->written_ms / 1000), written);
        json_object_set_new(j, "topic", json_string(rulestopic_name(c->rt)));
        json_object_set_new(j, "written_by", json_string(c->writer));
        json_object_set_new(
            j, "written_at",
            json_string(c->written_ms > 0 ? written : "unknown"));
    }
    if (c->refused > c->version)
        json_object_set_new(j, "refused",
                            json_pack("{s:I, s:s}", "version",
                                      (json_int_t)c->refused, "error",
                                      c->refused_why));
    return j;
}

static void on_rules_get(void *opaque, admin_reply_t *r)
{
    control_t *c = opaque;
    json_t *j;

    pthread_mutex_lock(&c->lock);
    j = rules_json(c);
    pthread_mutex_unlock(&c->lock);
    reply_json(r, 200, j);
}

static void on_rules_put(void *opaque, const char *body, size_t len, int apply,
                         admin_reply_t *r)
{
    control_t *c = opaque;
    pipeline_t *pl = atomic_load(&c->pl);
    rules_error_t rerr;
    rules_set_t *rs;
    char errstr[1024], sum[65], *text = NULL;
    int64_t v;
    int status;

    rs = compile("body", body ? body : "", body ? len : 0, &rerr, errstr,
                 sizeof(errstr));
    if (!rs) {
        if (apply)
            count_reload(c, "error");
        reply_error(r, 400, rerr.msg, rerr.line, rerr.column);
        return;
    }
    if (!apply) {
        reply_json(r, 200,
                   json_pack("{s:b, s:i, s:i}", "valid", 1, "routes",
                             (int)rules_route_count(rs), "anomalies",
                             (int)rules_anomaly_count(rs)));
        rules_destroy(rs);
        return;
    }
    if (c->rt) {
        /* Fleet: every instance (this one too) applies it from the topic. */
        rules_destroy(rs);
        if (!pl) {
            reply_error(r, 503, "not routing yet", 0, 0);
            return;
        }
        if ((v = publish(c, body, len, &status, errstr, sizeof(errstr))) < 0) {
            log_error("PUT /rules: %s", errstr);
            reply_error(r, status, errstr, 0, 0);
            return;
        }
        pthread_mutex_lock(&c->lock);
        reply_json(r, 200, rules_json(c));
        pthread_mutex_unlock(&c->lock);
        log_info("PUT /rules: version %" PRId64 " published and running here",
                 v);
        return;
    }
    if (!pl || !(text = malloc(len + 1))) {
        rules_destroy(rs);
        reply_error(r, 503, pl ? "out of memory" : "not routing yet", 0, 0);
        return;
    }
    memcpy(text, body, len);
    text[len] = '\0';
    pthread_mutex_lock(&c->lock);
    /* Persist first: rules that would not survive a restart don't run. */
    if (persist(c->path, text, len, errstr, sizeof(errstr))) {
        pthread_mutex_unlock(&c->lock);
        free(text);
        rules_destroy(rs);
        count_reload(c, "error");
        log_error("PUT /rules: %s", errstr);
        reply_error(r, 500, errstr, 0, 0);
        return;
    }
    v = install(c, pl, rs, text, len, -1, sum);
    pthread_mutex_unlock(&c->lock);
    if (v < 0) {
        reply_error(r, 500, "out of memory", 0, 0);
        return;
    }
    reply_json(
        r, 200,
        json_pack("{s:I, s:s}", "version", (json_int_t)v, "checksum", sum));
    log_info("PUT /rules: version %" PRId64 " in place, saved to %s", v,
             c->path);
}

static void on_rules_reload(void *opaque, admin_reply_t *r)
{
    char errstr[1024], sum[65];
    int status;
    int64_t v = reload(opaque, sum, &status, errstr, sizeof(errstr));

    if (v < 0) {
        log_error("POST /rules/reload: %s", errstr);
        reply_error(r, status, errstr, 0, 0);
        return;
    }
    reply_json(
        r, 200,
        json_pack("{s:I, s:s}", "version", (json_int_t)v, "checksum", sum));
}

int control_set_dlq_scan(control_t *c, const char *brokers,
                         const char *const *props, size_t nprops)
{
    struct dlq_scan *ds = calloc(1, sizeof(*ds)), *none = NULL;

    if (!ds || !(ds->brokers = strdup(brokers)) ||
        !(ds->x = calloc(nprops + 1, sizeof(*ds->x))))
        goto err;
    for (; ds->nx < nprops; ds->nx++)
        if (!(ds->x[ds->nx] = strdup(props[ds->nx])))
            goto err;
    if (!(ds->props =
              dlqscan_consumer_props((const char *const *)ds->x, ds->nx)))
        goto err;
    if (!atomic_compare_exchange_strong(&c->scan, &none, ds))
        goto err; /* set already: the first stays */
    return 0;
err:
    dlq_scan_free(ds);
    return -1;
}

/* The running rules' dead-letter topic into *topic (malloc'd; NULL when
 * they name none). Returns 0, or -1 when out of memory. */
static int dead_letter_topic(control_t *c, char **topic)
{
    json_t *j, *t;

    *topic = NULL;
    pthread_mutex_lock(&c->lock);
    j = c->text ? json_loadb(c->text, c->len, 0, NULL) : NULL;
    pthread_mutex_unlock(&c->lock);
    t = json_object_get(json_object_get(j, "dead_letter"), "topic");
    if (json_is_string(t) && !(*topic = strdup(json_string_value(t)))) {
        json_decref(j);
        return -1;
    }
    json_decref(j);
    return 0;
}

/* GET /anomalies with scan=topic, since= or until=: read the dead-letter
 * topic (anomscan.h), one scan at a time. */
static void anomalies_topic(control_t *c, const admin_anom_query_t *aq,
                            admin_reply_t *r)
{
    struct dlq_scan *ds = atomic_load(&c->scan);
    anomscan_conf_t ac;
    char errstr[600], msg[700], *topic;
    int status;

    if (!ds) {
        reply_error(r, 503, "scan=topic: starting (brokers not known yet)", 0,
                    0);
        return;
    }
    if (dead_letter_topic(c, &topic)) {
        reply_error(r, 500, "out of memory", 0, 0);
        return;
    }
    if (!topic) {
        reply_error(r, 404,
                    "scan=topic: the running rules name no dead_letter "
                    "topic to read",
                    0, 0);
        return;
    }
    if (atomic_exchange(&c->scan_busy, 1)) {
        free(topic);
        reply_error(r, 429,
                    "scan=topic: another scan of the dead-letter topic is "
                    "running; try again when it is done",
                    0, 0);
        return;
    }
    memset(&ac, 0, sizeof(ac));
    ac.brokers = ds->brokers;
    ac.props = ds->props;
    ac.topic = topic;
    ac.reason = aq->reason;
    ac.q = aq->q;
    ac.since_ms = aq->since_ms;
    ac.until_ms = aq->until_ms;
    ac.limit = aq->limit;
    ac.max_records = ANOMSCAN_MAX_RECORDS;
    ac.max_ms = ANOMSCAN_MAX_MS;
    r->type = ADMIN_TYPE_JSON;
    r->body = anomscan_query(&ac, &status, errstr, sizeof(errstr));
    atomic_store(&c->scan_busy, 0);
    if (r->body) {
        r->status = 200;
    } else {
        snprintf(msg, sizeof(msg), "scan=topic: %s", errstr);
        log_warn("GET /anomalies: %s", msg);
        reply_error(r, status, msg, 0, 0);
    }
    free(topic);
}

static void on_anomalies(void *opaque, const admin_anom_query_t *aq,
                         admin_reply_t *r)
{
    control_t *c = opaque;

    if (aq->source == ADMIN_ANOM_TOPIC) {
        anomalies_topic(c, aq, r);
        return;
    }
    if (!c->anomalies) {
        reply_error(r, 404, "anomaly ring disabled", 0, 0);
        return;
    }
    r->type = ADMIN_TYPE_JSON;
    r->body = anomalies_query(c->anomalies, aq->reason, aq->q, aq->limit);
    r->status = r->body ? 200 : 500;
}

void control_admin_ops(control_t *c, admin_ops_t *ops)
{
    memset(ops, 0, sizeof(*ops));
    ops->opaque = c;
    ops->health = on_health;
    ops->metrics = on_metrics;
    ops->stats = on_stats;
    ops->rules_get = on_rules_get;
    ops->rules_put = on_rules_put;
    ops->rules_reload = on_rules_reload;
    ops->anomalies = on_anomalies;
}
