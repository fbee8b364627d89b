/* anomalies.c - a bounded ring of recent dead letters, searchable. */
#include "anomalies.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* One remembered dead letter; strings owned. */
typedef struct slot {
    char *reason, *detail, *route, *topic;
    int32_t partition;
    int64_t offset, timestamp;
    char *key;          /* preview, UTF-8 cleaned, NULL for a null key */
    char *value;        /* preview, UTF-8 cleaned, NULL for a null value */
    size_t value_size;  /* full size of the value */
    int used;
} slot_t;

struct anomalies {
    pthread_mutex_t lock;   /* guards everything below */
    slot_t *ring;
    size_t cap;
    size_t next;            /* slot the next push writes */
    uint64_t total;         /* pushes since creation */
};

anomalies_t *anomalies_create(size_t capacity)
{
    anomalies_t *a;

    if (capacity == 0 || !(a = calloc(1, sizeof(*a))))
        return NULL;
    if (!(a->ring = calloc(capacity, sizeof(*a->ring))) ||
        pthread_mutex_init(&a->lock, NULL)) {
        free(a->ring);
        free(a);
        return NULL;
    }
    a->cap = capacity;
    return a;
}

static void slot_clear(slot_t *s)
{
    free(s->reason);
    free(s->detail);
    free(s->route);
    free(s->topic);
    free(s->key);
    free(s->value);
    memset(s, 0, sizeof(*s));
}

void anomalies_destroy(anomalies_t *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->cap; i++)
        slot_clear(&a->ring[i]);
    free(a->ring);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if none. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len, i;
    uint32_t c;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2, c = p[0] & 0x1f;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3, c = p[0] & 0x0f;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4, c = p[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3f);
    }
    if ((len == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
        (len == 4 && (c < 0x10000 || c > 0x10ffff)))
        return 0;
    return len;
}

/* A NUL-terminated UTF-8 copy of the n bytes at p: invalid bytes and NULs
 * become U+FFFD. NULL for p == NULL or no memory. */
static char *clean(const void *p, size_t n)
{
    const unsigned char *s = p;
    char *out, *o;

    if (!p)
        return NULL;
    if (!(out = malloc(n * 3 + 1)))
        return NULL;
    o = out;
    for (size_t i = 0; i < n;) {
        size_t l = s[i] ? utf8_len(s + i, n - i) : 0;

        if (l == 0) {
            memcpy(o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(o, s + i, l);
            o += l;
            i += l;
        }
    }
    *o = '\0';
    return out;
}

/* clean() of at most ANOMALIES_PREVIEW bytes of p. */
static char *preview(const void *p, size_t n)
{
    return clean(p, n > ANOMALIES_PREVIEW ? ANOMALIES_PREVIEW : n);
}

/* clean() of a string (the query must give valid JSON whatever the
 * detail quotes). NULL for s == NULL or no memory. */
static char *sdup(const char *s)
{
    return s ? clean(s, strlen(s)) : NULL;
}

void anomalies_push(anomalies_t *a, const anomalies_entry_t *e)
{
    slot_t n;

    memset(&n, 0, sizeof(n));
    n.reason = sdup(e->reason ? e->reason : "");
    n.detail = sdup(e->detail ? e->detail : "");
    n.route = sdup(e->route);
    n.topic = sdup(e->topic ? e->topic : "");
    n.partition = e->partition;
    n.offset = e->offset;
    n.timestamp = e->timestamp;
    n.key = preview(e->key, e->key_len);
    n.value = preview(e->value, e->value_len);
    n.value_size = e->value ? e->value_len : 0;
    n.used = 1;
    pthread_mutex_lock(&a->lock);
    a->total++;
    if (!n.reason || !n.detail || !n.topic || (e->route && !n.route) ||
        (e->key && !n.key) || (e->value && !n.value)) {
        pthread_mutex_unlock(&a->lock);
        slot_clear(&n); /* out of memory: not remembered */
        return;
    }
    slot_clear(&a->ring[a->next]);
    a->ring[a->next] = n;
    a->next = (a->next + 1) % a->cap;
    pthread_mutex_unlock(&a->lock);
}

/* Case-insensitive substring search (ASCII folding). */
static int contains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    if (!hay)
        return 0;
    for (; *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return 1;
    return 0;
}

static int matches(const slot_t *s, const char *reason, const char *q)
{
    if (reason && *reason && strcmp(s->reason, reason))
        return 0;
    if (!q || !*q)
        return 1;
    return contains(s->key, q) || contains(s->value, q) ||
           contains(s->detail, q) || contains(s->route, q);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

char *anomalies_query(anomalies_t *a, const char *reason, const char *q,
                      int limit)
{
    json_t *root = json_object(), *arr = json_array();
    char *out = NULL;
    int err = !root || !arr, returned = 0;

    if (err)
        goto out;
    pthread_mutex_lock(&a->lock);
    for (size_t k = 1; k <= a->cap && returned < limit && !err; k++) {
        slot_t *s = &a->ring[(a->next + a->cap - k) % a->cap];
        json_t *o;

        if (!s->used)
            break;
        if (!matches(s, reason, q))
            continue;
        o = json_pack("{s:s, s:s, s:o, s:s, s:i, s:I, s:I, s:o, s:o, s:I}",
                      "reason", s->reason, "detail", s->detail, "route",
                      str_or_null(s->route), "topic", s->topic, "partition",
                      (int)s->partition, "offset", (json_int_t)s->offset,
                      "timestamp", (json_int_t)s->timestamp, "key",
                      str_or_null(s->key), "value", str_or_null(s->value),
                      "value_size", (json_int_t)s->value_size);
        err |= !o || json_array_append_new(arr, o);
        returned++;
    }
    err |=
        json_object_set_new(root, "total", json_integer((json_int_t)a->total));
    pthread_mutex_unlock(&a->lock);
    err |= json_object_set_new(root, "returned", json_integer(returned));
    err |= json_object_set(root, "anomalies", arr);
    if (!err)
        out = json_dumps(root, JSON_COMPACT);
out:
    json_decref(arr);
    json_decref(root);
    return out;
}
