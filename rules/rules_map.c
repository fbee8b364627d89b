/* rules_map.c - the rule engine's open-addressing hash map (tagged byte keys
 * to 32-bit values), used for interning and for the route index. */
#include "rules_internal.h"

#include <stdlib.h>
#include <string.h>

uint64_t rules_hash(uint32_t tag, const void *key, size_t len)
{
    /* Eight bytes at a time, multiply and fold; then a final avalanche. */
    const unsigned char *p = key;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (tag * 0xff51afd7ed558ccdULL) ^
                 ((uint64_t)len * 0xc4ceb9fe1a85ec53ULL);
    uint64_t w;

    for (; len >= 8; len -= 8, p += 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
    }
    if (len > 0) {
        /* The last 1 to 7 bytes without a loop: two overlapping 4-byte
         * words, or the first, middle and last byte (len is mixed in). */
        if (len >= 4) {
            uint32_t lo, hi;
            memcpy(&lo, p, 4);
            memcpy(&hi, p + len - 4, 4);
            w = (uint64_t)lo | (uint64_t)hi << 32;
        } else {
            w = (uint64_t)p[0] | (uint64_t)p[len / 2] << 8 |
                (uint64_t)p[len - 1] << 16;
        }
        h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
        h ^= h >> 29;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static const char *map_key(const rules_map_ent_t *e)
{
    return e->len <= RULES_MAP_INLINE ? e->k.inl : e->k.heap;
}

static rules_map_ent_t *map_find(const rules_map_t *m, uint64_t h, uint32_t tag,
                                 const void *key, size_t len)
{
    size_t i, mask;

    if (m->cap == 0)
        return NULL;
    mask = m->cap - 1;
    for (i = (size_t)h & mask;; i = (i + 1) & mask) {
        rules_map_ent_t *e = &m->ents[i];
        if (!e->used)
            return e;
        if (e->hash == h && e->tag == tag && e->len == len &&
            memcmp(map_key(e), key, len) == 0)
            return e;
    }
}

static int map_grow(rules_map_t *m)
{
    size_t cap = m->cap ? m->cap * 2 : 16, i;
    rules_map_t nm = {NULL, cap, m->n};

    nm.ents = calloc(cap, sizeof(*nm.ents));
    if (nm.ents == NULL)
        return -1;
    for (i = 0; i < m->cap; i++) {
        const rules_map_ent_t *e = &m->ents[i];
        if (e->used) /* the key moves with the entry (inline or heap) */
            *map_find(&nm, e->hash, e->tag, map_key(e), e->len) = *e;
    }
    free(m->ents);
    *m = nm;
    return 0;
}

int rules_map_put(rules_map_t *m, uint32_t tag, const void *key, size_t len,
                  uint32_t val, uint32_t *old)
{
    uint64_t h = rules_hash(tag, key, len);
    rules_map_ent_t *e;

    if (len > UINT32_MAX)
        return -1;
    if ((m->n + 1) * 4 > m->cap * 3 && map_grow(m) != 0)
        return -1;
    e = map_find(m, h, tag, key, len);
    if (e->used) {
        if (old != NULL)
            *old = e->val;
        return 0;
    }
    if (len > RULES_MAP_INLINE) {
        e->k.heap = malloc(len);
        if (e->k.heap == NULL)
            return -1;
    }
    if (len > 0)
        memcpy(len <= RULES_MAP_INLINE ? e->k.inl : e->k.heap, key, len);
    e->used = 1;
    e->hash = h;
    e->tag = tag;
    e->len = (uint32_t)len;
    e->val = val;
    m->n++;
    return 1;
}

const rules_map_ent_t *rules_map_get(const rules_map_t *m, uint64_t h,
                                     uint32_t tag, const void *key, size_t len)
{
    const rules_map_ent_t *e = map_find(m, h, tag, key, len);

    return (e == NULL || !e->used) ? NULL : e;
}

void rules_map_free(rules_map_t *m)
{
    size_t i;

    for (i = 0; i < m->cap; i++)
        if (m->ents[i].used && m->ents[i].len > RULES_MAP_INLINE)
            free(m->ents[i].k.heap);
    free(m->ents);
    m->ents = NULL;
    m->cap = 0;
    m->n = 0;
}
