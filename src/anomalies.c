/* anomalies.c - a bounded ring of recent dead letters, searchable. */
#include "anomalies.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "utf8.h"

/* One remembered dead letter. Its strings are UTF-8 cleaned copies that
 * live in buf, one allocation per entry. */
typedef struct slot {
    char *buf; /* owned; NULL: the slot was never used */
    const char *reason, *detail, *topic;
    const char *route; /* NULL when no route's action failed */
    const char *key;   /* preview, NULL for a null key */
    const char *value; /* preview, NULL for a null value */
    int32_t partition;
    int64_t offset, timestamp;
    size_t value_size; /* full size of the value */
} slot_t;

struct anomalies {
    pthread_mutex_t lock; /* guards everything below */
    slot_t *ring;
    size_t cap;
    size_t next;    /* slot the next push writes */
    uint64_t total; /* pushes since creation */
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

void anomalies_destroy(anomalies_t *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->cap; i++)
        free(a->ring[i].buf);
    free(a->ring);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

/* Write a NUL-terminated UTF-8 copy of the n bytes at p at *o (room for
 * 3 * n + 1 bytes) and advance *o past it: invalid bytes and NULs become
 * U+FFFD. Returns the copy, NULL for p == NULL. */
static const char *clean(char **out, const void *p, size_t n)
{
    char *start = *out;

    if (!p)
        return NULL;
    *out += utf8_clean(p, n, start) + 1;
    return start;
}

static size_t cut(size_t n)
{
    return n > ANOMALIES_PREVIEW ? ANOMALIES_PREVIEW : n;
}

void anomalies_push(anomalies_t *a, const anomalies_entry_t *e)
{
    const char *reason = e->reason ? e->reason : "";
    const char *detail = e->detail ? e->detail : "";
    const char *topic = e->topic ? e->topic : "";
    size_t rlen = strlen(reason), dlen = strlen(detail), tlen = strlen(topic);
    size_t ulen = e->route ? strlen(e->route) : 0;
    size_t klen = cut(e->key_len), vlen = cut(e->value_len);
    slot_t n = {0}, old;
    char *o;

    /* The strings are cleaned here, before the lock, into one block: each
     * byte takes at most 3 (U+FFFD), each string a NUL. */
    n.buf = malloc(3 * (rlen + dlen + tlen + ulen + klen + vlen) + 6);
    if (n.buf) {
        o = n.buf;
        n.reason = clean(&o, reason, rlen);
        n.detail = clean(&o, detail, dlen);
        n.topic = clean(&o, topic, tlen);
        n.route = clean(&o, e->route, ulen);
        n.key = clean(&o, e->key, klen);
        n.value = clean(&o, e->value, vlen);
        n.partition = e->partition;
        n.offset = e->offset;
        n.timestamp = e->timestamp;
        n.value_size = e->value ? e->value_len : 0;
    }
    pthread_mutex_lock(&a->lock);
    a->total++;
    if (!n.buf) { /* out of memory: counted, not remembered */
        pthread_mutex_unlock(&a->lock);
        return;
    }
    old = a->ring[a->next];
    a->ring[a->next] = n;
    a->next = (a->next + 1) % a->cap;
    pthread_mutex_unlock(&a->lock);
    free(old.buf); /* the evicted entry, freed outside the lock */
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

    if (err || json_object_set_new(root, "source", json_string("ring")))
        goto out;
    pthread_mutex_lock(&a->lock);
    for (size_t k = 1; k <= a->cap && returned < limit && !err; k++) {
        slot_t *s = &a->ring[(a->next + a->cap - k) % a->cap];
        json_t *o;

        if (!s->buf)
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
