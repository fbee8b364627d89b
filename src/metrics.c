/* metrics.c - labelled counters and gauges, rendered for Prometheus and
 * as JSON. */
#include "metrics.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

#include "utf8.h"

/* One labelled value. */
typedef struct sample {
    char *v[2]; /* label values (owned), NULL past nlabels */
    double value;
} sample_t;

/* One metric family and its samples. */
typedef struct family {
    char *name;     /* owned */
    char *help;     /* owned */
    char *label[2]; /* owned label names */
    int nlabels;
    metrics_type_t type;
    sample_t *s; /* owned array */
    size_t n, cap;
    size_t *idx; /* open-addressing hash of sample indexes + 1 */
    size_t nidx; /* slots, a power of two, 0 before the first */
} family_t;

struct metrics {
    pthread_mutex_t lock; /* guards everything below */
    family_t *f;
    size_t n, cap;
};

metrics_t *metrics_create(void)
{
    metrics_t *m = calloc(1, sizeof(*m));

    if (m && pthread_mutex_init(&m->lock, NULL)) {
        free(m);
        return NULL;
    }
    return m;
}

static void family_free(family_t *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->s[i].v[0]);
        free(f->s[i].v[1]);
    }
    free(f->s);
    free(f->idx);
    free(f->name);
    free(f->help);
    free(f->label[0]);
    free(f->label[1]);
}

void metrics_destroy(metrics_t *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++)
        family_free(&m->f[i]);
    free(m->f);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static char *dup_or_null(const char *s, int *oom)
{
    char *d;

    if (!s)
        return NULL;
    if (!(d = strdup(s)))
        *oom = 1;
    return d;
}

int metrics_declare(metrics_t *m, const char *name, metrics_type_t type,
                    const char *help, const char *label1, const char *label2)
{
    family_t *f;
    int oom = 0;

    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->f[i].name, name))
            goto err;
    if (mem_grow(&m->f, &m->cap, m->n + 1, sizeof(*m->f)))
        goto err;
    f = &m->f[m->n];
    memset(f, 0, sizeof(*f));
    f->type = type;
    f->name = dup_or_null(name, &oom);
    f->help = dup_or_null(help, &oom);
    f->label[0] = dup_or_null(label1, &oom);
    f->label[1] = dup_or_null(label1 ? label2 : NULL, &oom);
    f->nlabels = label1 ? (label2 ? 2 : 1) : 0;
    if (oom) {
        family_free(f);
        goto err;
    }
    m->n++;
    pthread_mutex_unlock(&m->lock);
    return 0;
err:
    pthread_mutex_unlock(&m->lock);
    return -1;
}

void metrics_lock(metrics_t *m)
{
    pthread_mutex_lock(&m->lock);
}

void metrics_unlock(metrics_t *m)
{
    pthread_mutex_unlock(&m->lock);
}

static family_t *family_find(metrics_t *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->f[i].name, name))
            return &m->f[i];
    return NULL;
}

static uint64_t hash_labels(const char *v1, const char *v2)
{
    uint64_t h = 1469598103934665603ULL;

    for (const char *s = v1 ? v1 : ""; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (const char *s = v2 ? v2 : ""; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Rebuild the hash index with nidx slots. Returns 0 or -1. */
static int reindex(family_t *f, size_t nidx)
{
    size_t *idx = calloc(nidx, sizeof(*idx));

    if (!idx)
        return -1;
    for (size_t i = 0; i < f->n; i++) {
        size_t b = hash_labels(f->s[i].v[0], f->s[i].v[1]) & (nidx - 1);

        while (idx[b])
            b = (b + 1) & (nidx - 1);
        idx[b] = i + 1;
    }
    free(f->idx);
    f->idx = idx;
    f->nidx = nidx;
    return 0;
}

/* The sample with these label values (already trimmed by the caller to
 * nlabels), NULL when absent. */
static sample_t *sample_find(family_t *f, const char *v1, const char *v2)
{
    if (!f->nidx)
        return NULL;
    for (size_t b = hash_labels(v1, v2) & (f->nidx - 1); f->idx[b];
         b = (b + 1) & (f->nidx - 1)) {
        sample_t *s = &f->s[f->idx[b] - 1];

        if (same(s->v[0], v1) && same(s->v[1], v2))
            return s;
    }
    return NULL;
}

/* Label values past the family's nlabels are ignored: make them NULL. */
static void labels_trim(const family_t *f, const char **v1, const char **v2)
{
    if (f->nlabels < 2)
        *v2 = NULL;
    if (f->nlabels < 1)
        *v1 = NULL;
}

/* The sample with these label values (trimmed), created at 0 if needed. */
static sample_t *sample_get(family_t *f, const char *v1, const char *v2)
{
    sample_t *s = sample_find(f, v1, v2);
    size_t b;
    int oom = 0;

    if (s)
        return s;
    if (mem_grow(&f->s, &f->cap, f->n + 1, sizeof(*f->s)))
        return NULL;
    if ((f->n + 1) * 2 > f->nidx && reindex(f, f->nidx ? f->nidx * 2 : 16) != 0)
        return NULL;
    s = &f->s[f->n];
    s->v[0] = dup_or_null(v1, &oom);
    s->v[1] = dup_or_null(v2, &oom);
    s->value = 0;
    if (oom) {
        free(s->v[0]);
        free(s->v[1]);
        return NULL;
    }
    f->n++;
    b = hash_labels(v1, v2) & (f->nidx - 1);
    while (f->idx[b])
        b = (b + 1) & (f->nidx - 1);
    f->idx[b] = f->n;
    return s;
}

static int update(metrics_t *m, const char *name, const char *v1,
                  const char *v2, double v, int add)
{
    family_t *f = family_find(m, name);
    sample_t *s;

    if (!f)
        return -1;
    labels_trim(f, &v1, &v2);
    if (!(s = sample_get(f, v1, v2)))
        return -1;
    s->value = add ? s->value + v : v;
    return 0;
}

int metrics_add(metrics_t *m, const char *name, const char *v1, const char *v2,
                double v)
{
    return update(m, name, v1, v2, v, 1);
}

int metrics_set(metrics_t *m, const char *name, const char *v1, const char *v2,
                double v)
{
    return update(m, name, v1, v2, v, 0);
}

void metrics_clear(metrics_t *m, const char *name)
{
    family_t *f = family_find(m, name);

    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->s[i].v[0]);
        free(f->s[i].v[1]);
    }
    f->n = 0;
    if (f->idx)
        memset(f->idx, 0, f->nidx * sizeof(*f->idx));
}

double metrics_get(metrics_t *m, const char *name, const char *v1,
                   const char *v2)
{
    family_t *f;
    sample_t *s = NULL;
    double v;

    pthread_mutex_lock(&m->lock);
    if ((f = family_find(m, name))) {
        labels_trim(f, &v1, &v2);
        s = sample_find(f, v1, v2);
    }
    v = s ? s->value : 0;
    pthread_mutex_unlock(&m->lock);
    return v;
}

/* ---- rendering -------------------------------------------------------- */

/* A growing string; on out of memory it stays failed (s == NULL). */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    int failed;
} sbuf_t;

static void sb_printf(sbuf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(b->s ? b->s + b->len : NULL, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = 1;
            return;
        }
        if (b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
        char *ns = realloc(b->s, cap);

        if (!ns) {
            b->failed = 1;
            return;
        }
        b->s = ns;
        b->cap = cap;
    }
}

/* A label value (quote != 0) or HELP text escaped per the exposition
 * format: \\, \n, and \" in label values only. */
static void sb_escaped(sbuf_t *b, const char *v, int quote)
{
    for (; *v; v++) {
        if (*v == '\\')
            sb_printf(b, "\\\\");
        else if (*v == '"' && quote)
            sb_printf(b, "\\\"");
        else if (*v == '\n')
            sb_printf(b, "\\n");
        else
            sb_printf(b, "%c", *v);
    }
}

static void sb_value(sbuf_t *b, double v)
{
    if (isnan(v))
        sb_printf(b, "NaN");
    else if (isinf(v))
        sb_printf(b, "%cInf", v > 0 ? '+' : '-');
    else if (v == floor(v) && fabs(v) < 9007199254740992.0)
        sb_printf(b, "%.0f", v);
    else
        sb_printf(b, "%.17g", v);
}

char *metrics_render_text(metrics_t *m)
{
    sbuf_t b = {0};

    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n; i++) {
        family_t *f = &m->f[i];

        sb_printf(&b, "# HELP %s ", f->name);
        sb_escaped(&b, f->help ? f->help : "", 0);
        sb_printf(&b, "\n# TYPE %s %s\n", f->name,
                  f->type == METRICS_COUNTER ? "counter" : "gauge");
        if (f->nlabels == 0 && f->n == 0) {
            /* An unlabelled family always has its one sample. */
            sb_printf(&b, "%s 0\n", f->name);
            continue;
        }
        for (size_t j = 0; j < f->n; j++) {
            sb_printf(&b, "%s", f->name);
            for (int l = 0; l < f->nlabels; l++) {
                sb_printf(&b, "%s%s=\"", l ? "," : "{", f->label[l]);
                sb_escaped(&b, f->s[j].v[l] ? f->s[j].v[l] : "", 1);
                sb_printf(&b, "\"");
            }
            sb_printf(&b, "%s ", f->nlabels ? "}" : "");
            sb_value(&b, f->s[j].value);
            sb_printf(&b, "\n");
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (!b.failed && !b.s)
        return strdup(""); /* no family declared */
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* A JSON string of v. Label values are not checked when set: invalid
 * UTF-8 becomes U+FFFD rather than failing the whole rendering. NULL when
 * out of memory. */
static json_t *json_label(const char *v)
{
    json_t *j = json_string(v);
    char *c;

    if (j || !(c = malloc(strlen(v) * 3 + 1)))
        return j;
    utf8_clean(v, strlen(v), c);
    j = json_string(c);
    free(c);
    return j;
}

/* Integral values as JSON integers, the rest as reals; JSON has no NaN
 * or infinity: null. */
static json_t *json_num(double v)
{
    if (!isfinite(v))
        return json_null();
    if (v == floor(v) && fabs(v) < 9007199254740992.0)
        return json_integer((json_int_t)v);
    return json_real(v);
}

char *metrics_render_json(metrics_t *m)
{
    json_t *root = json_object();
    char *out = NULL;
    int err = !root;

    pthread_mutex_lock(&m->lock);
    for (size_t i = 0; i < m->n && !err; i++) {
        family_t *f = &m->f[i];
        json_t *arr;

        if (f->nlabels == 0) {
            err |= json_object_set_new(root, f->name,
                                       json_num(f->n ? f->s[0].value : 0));
            continue;
        }
        arr = json_array();
        err |= json_object_set_new(root, f->name, arr);
        for (size_t j = 0; j < f->n && !err; j++) {
            json_t *o = json_object();

            err |= json_array_append_new(arr, o);
            for (int l = 0; l < f->nlabels && !err; l++)
                err |= json_object_set_new(
                    o, f->label[l],
                    json_label(f->s[j].v[l] ? f->s[j].v[l] : ""));
            err |= json_object_set_new(o, "value", json_num(f->s[j].value));
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (!err)
        out = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(root);
    return out;
}
