/* e2e_dataset.c - the deterministic end-to-end dataset and, for each
 * message, what tests/e2e/rules-e2e.json must make of it.
 *
 * The expected outcome is written down while the message is built, from
 * the choices that built it (category, type, header, key...), never by
 * evaluating the rules: a bug in the rule engine cannot hide in here. Keep
 * this file and rules-e2e.json in step: the comment above e2e_expect()
 * restates the rules in the order they apply. */
#include "e2e.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const e2e_topic_t e2e_topics[] = {
    {E2E_SOURCE_TOPIC, E2E_SOURCE_PARTITIONS},
    {"e2e.vip", 3},
    {"e2e.audit", 2},
    {"e2e.play", 3},
    {"e2e.mirror", 3},
    {"e2e.social", 2},
    {"e2e.search", 1},
    {"e2e.u1", 4},
    {"e2e.quiet", 2},
    {"e2e.region.eu", 1},
    {"e2e.region.us", 2},
    {"e2e.admin", 1},
    {"e2e.type.play", 4},
    {"e2e.type.skip", 3},
    {"e2e.type.like", 2},
    {"e2e.type.share", 1},
    {"e2e.type.search", 2},
    {"e2e.type.pause", 1},
    {"e2e.type.admin", 1}, /* must stay empty: the admin route stops */
    {"e2e.unmatched", 3},
    {E2E_DLQ_TOPIC, 2},
};
const size_t e2e_topic_count = sizeof(e2e_topics) / sizeof(e2e_topics[0]);

/* Message types. T_BAD makes the "typed" template an invalid topic name. */
enum e2e_type {
    T_NONE = 0,
    T_PLAY,
    T_SKIP,
    T_LIKE,
    T_SHARE,
    T_SEARCH,
    T_PAUSE,
    T_ADMIN,
    T_BAD
};
static const char *const type_names[] = {NULL,    "play",  "skip",
                                         "like",  "share", "search",
                                         "pause", "admin", "bad type"};

/* Values of /q; the first four match (?i)^jay. JSON text (escaped). */
static const char *const queries[] = {"jay chou",         "JAY-Z",   "Jayhawk",
                                      "jay \\\"live\\\"", "beyonce", "a jay",
                                      "taylor",           "jazz"};
#define QUERY_MATCHES 4

/* What the generator chose for one message: the facts the expected
 * outcome is derived from. */
typedef struct facts {
    const char *anomaly; /* NULL, or the anomaly the message must hit */
    enum e2e_type type;
    int vip;     /* the last "tier" header says vip */
    int q_match; /* /q present and starts with "jay", any case */
    int key_u1;  /* key present and starts with "u1" */
    int region;  /* skip: 0 no /geo/region, 1 eu, 2 us */
} facts_t;

/* splitmix64: small, good enough and the same everywhere. */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static unsigned rng_below(uint64_t *s, unsigned n)
{
    return (unsigned)(rng_next(s) % n);
}

uint32_t e2e_murmur2(const void *data, size_t len)
{
    const uint32_t m = 0x5bd1e995;
    const unsigned char *p = data;
    uint32_t h = 0x9747b28c ^ (uint32_t)len;
    size_t i;

    for (i = 0; i + 4 <= len; i += 4) {
        uint32_t k = (uint32_t)p[i] | (uint32_t)p[i + 1] << 8 |
                     (uint32_t)p[i + 2] << 16 | (uint32_t)p[i + 3] << 24;
        k *= m;
        k ^= k >> 24;
        k *= m;
        h *= m;
        h ^= k;
    }
    switch (len & 3) {
    case 3:
        h ^= (uint32_t)p[i + 2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t)p[i + 1] << 8;
        /* fall through */
    case 1:
        h ^= p[i];
        h *= m;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return h;
}

int32_t e2e_key_partition(const void *key, size_t len, int32_t cnt)
{
    return (int32_t)((e2e_murmur2(key, len) & 0x7fffffff) % (uint32_t)cnt);
}

int e2e_topic_index(const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < e2e_topic_count; i++)
        if (strlen(e2e_topics[i].name) == len &&
            memcmp(e2e_topics[i].name, name, len) == 0)
            return (int)i;
    return -1;
}

static int topic_idx(const char *name)
{
    return e2e_topic_index(name, strlen(name));
}

/* Append to the value; the buffer is sized for the largest message. */
static void put(e2e_msg_t *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void put(e2e_msg_t *m, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = vsnprintf(m->value + m->value_len, sizeof(m->value) - m->value_len, fmt,
                  ap);
    va_end(ap);
    if (r > 0)
        m->value_len += (size_t)r;
    if (m->value_len >= sizeof(m->value))
        m->value_len = sizeof(m->value) - 1;
}

static void put_pad(e2e_msg_t *m, uint64_t *s, size_t len)
{
    size_t i;

    for (i = 0; i < len && m->value_len < sizeof(m->value) - 8; i++)
        m->value[m->value_len++] = (char)('a' + rng_below(s, 26));
}

static void add_hdr(e2e_msg_t *m, const char *name, const char *val)
{
    e2e_hdr_t *h;

    if (m->nhdrs >= E2E_MAX_HDRS)
        return;
    h = &m->hdrs[m->nhdrs++];
    h->name = name;
    snprintf(h->value, sizeof(h->value), "%s", val);
    h->len = strlen(h->value);
}

/* Add one output, once per topic: the first route naming a topic decides
 * its key (docs/rules.md). */
static void add_out(e2e_msg_t *m, const char *topic, int key_uid,
                    enum e2e_place place, const char *by)
{
    int t = topic_idx(topic);
    size_t i;

    for (i = 0; i < m->nouts; i++)
        if (m->outs[i].topic == t)
            return;
    if (t < 0 || m->nouts >= E2E_MAX_OUTS)
        return;
    m->outs[m->nouts].topic = t;
    m->outs[m->nouts].key_uid = key_uid;
    m->outs[m->nouts].place = place;
    m->outs[m->nouts].reason = NULL;
    m->outs[m->nouts].route = NULL;
    m->outs[m->nouts].by = by;
    m->nouts++;
}

static void add_dead(e2e_msg_t *m, const char *reason, const char *route)
{
    add_out(m, E2E_DLQ_TOPIC, 0, E2E_PLACE_ANY, NULL);
    m->outs[m->nouts - 1].reason = reason;
    m->outs[m->nouts - 1].route = route;
}

int e2e_fail_topic(e2e_msg_t *m, int t)
{
    size_t i, hit = m->nouts;

    for (i = 0; i < m->nouts; i++) {
        if (m->outs[i].topic == t)
            hit = i;
        else if (m->outs[i].reason &&
                 !strcmp(m->outs[i].reason, E2E_PRODUCE_FAILED))
            return -1; /* two produce_failed dead letters: not told apart */
    }
    if (hit == m->nouts || t == topic_idx(E2E_DLQ_TOPIC))
        return 0;
    m->outs[hit].topic = topic_idx(E2E_DLQ_TOPIC);
    m->outs[hit].key_uid = 0;
    m->outs[hit].place = E2E_PLACE_ANY;
    m->outs[hit].reason = E2E_PRODUCE_FAILED;
    m->outs[hit].route = m->outs[hit].by;
    return 1;
}

/* The rules of rules-e2e.json, as they apply to what was generated:
 *   anomalies, first match wins: not_json, oversize (> 8192), no_user;
 *   routes in order: vip (tier: vip -> e2e.vip + e2e.audit, key /uid),
 *   plays (play -> e2e.play), mirror (play -> e2e.mirror, source
 *   partition), social (like|share -> e2e.social + e2e.audit), search
 *   (/q ~ ^jay -> e2e.search + e2e.audit), u1 (key prefix u1 -> e2e.u1),
 *   quiet ((skip|pause) and not vip -> e2e.quiet), region (skip ->
 *   e2e.region.${/geo/region}), admin (admin -> e2e.admin, stop), typed
 *   (has /type -> e2e.type.${/type}); nothing matched -> e2e.unmatched. */
static void e2e_expect(e2e_msg_t *m, const facts_t *f)
{
    enum e2e_place src = m->key_null ? E2E_PLACE_ANY : E2E_PLACE_HASH;
    int matched = 0;
    char topic[64];

    if (f->anomaly) {
        add_dead(m, f->anomaly, NULL);
        return;
    }
    if (f->vip) {
        add_out(m, "e2e.vip", 1, E2E_PLACE_HASH, "vip");
        add_out(m, "e2e.audit", 1, E2E_PLACE_HASH, "vip");
        matched = 1;
    }
    if (f->type == T_PLAY) {
        add_out(m, "e2e.play", 0, src, "plays");
        add_out(m, "e2e.mirror", 0, E2E_PLACE_SOURCE, "mirror");
        matched = 1;
    }
    if (f->type == T_LIKE || f->type == T_SHARE) {
        add_out(m, "e2e.social", 0, src, "social");
        add_out(m, "e2e.audit", 0, src, "social");
        matched = 1;
    }
    if (f->q_match) {
        add_out(m, "e2e.search", 0, src, "search");
        add_out(m, "e2e.audit", 0, src, "search");
        matched = 1;
    }
    if (f->key_u1) {
        add_out(m, "e2e.u1", 0, src, "u1");
        matched = 1;
    }
    if ((f->type == T_SKIP || f->type == T_PAUSE) && !f->vip) {
        add_out(m, "e2e.quiet", 0, src, "quiet");
        matched = 1;
    }
    if (f->type == T_SKIP) {
        if (f->region == 0)
            add_dead(m, "bad_destination", "region");
        else
            add_out(m, f->region == 1 ? "e2e.region.eu" : "e2e.region.us", 0,
                    src, "region");
        matched = 1;
    }
    if (f->type == T_ADMIN) {
        add_out(m, "e2e.admin", 0, src, "admin");
        return; /* stop: "typed" is not applied */
    }
    if (f->type == T_BAD) {
        add_dead(m, "bad_destination", "typed");
        matched = 1;
    } else if (f->type != T_NONE) {
        snprintf(topic, sizeof(topic), "e2e.type.%s", type_names[f->type]);
        add_out(m, topic, 0, src, "typed");
        matched = 1;
    }
    if (!matched)
        add_out(m, "e2e.unmatched", 0, src, NULL);
}

/* Values that are not JSON (RFC 8259): the not_json anomaly. */
static void gen_not_json(e2e_msg_t *m, uint64_t *s)
{
    static const unsigned char bin[] = {0x00, 0xff, 0x7b, 0x00, 0x22, 0x80};
    unsigned n = (unsigned)m->n;

    switch (rng_below(s, 5)) {
    case 0:
        put(m, "not json %u", n);
        break;
    case 1: /* truncated */
        put(m, "{\"n\":%u,\"uid\":\"id1\",\"type\":\"play\"", n);
        break;
    case 2: /* trailing comma */
        put(m, "{\"n\":%u,\"uid\":\"id1\",}", n);
        break;
    case 3: /* single quotes */
        put(m, "{'n':%u,'uid':'id1'}", n);
        break;
    default: /* binary, with NUL bytes */
        memcpy(m->value, bin, sizeof(bin));
        m->value_len = sizeof(bin);
        put(m, "%u", n);
        break;
    }
}

/* JSON values without a top-level /uid: the no_user anomaly. */
static void gen_no_uid(e2e_msg_t *m, uint64_t *s)
{
    unsigned n = (unsigned)m->n;

    switch (rng_below(s, 5)) {
    case 0:
        put(m, "{\"n\":%u,\"type\":\"play\"}", n);
        break;
    case 1:
        put(m, "%u", n);
        break;
    case 2:
        put(m, "[%u,\"uid\"]", n);
        break;
    case 3: /* nested, not at the top */
        put(m, "{\"n\":%u,\"user\":{\"uid\":\"id7\"}}", n);
        break;
    default:
        put(m, "\"uid %u\"", n);
        break;
    }
}

/* A valid event: n, uid, then maybe type, q and geo, then padding. */
static void gen_valid(e2e_msg_t *m, uint64_t *s, facts_t *f, size_t pad)
{
    int pretty = rng_below(s, 10) == 0;
    const char *sep = pretty ? ", " : ",";
    const char *col = pretty ? " : " : ":";
    unsigned uid = rng_below(s, 2000), t = rng_below(s, 100);
    int escaped = rng_below(s, 100) < 3;
    unsigned q = rng_below(s, 20), g = rng_below(s, 100);

    f->type = t < 22   ? T_PLAY
              : t < 34 ? T_SKIP
              : t < 42 ? T_LIKE
              : t < 48 ? T_SHARE
              : t < 56 ? T_SEARCH
              : t < 61 ? T_PAUSE
              : t < 65 ? T_ADMIN
              : t < 66 ? T_BAD
                       : T_NONE;
    put(m, "{%s\"n\"%s%u", pretty ? " " : "", col, (unsigned)m->n);
    /* \u00e9 must reach the key rewrite decoded, as UTF-8 */
    if (escaped)
        put(m, "%s\"uid\"%s\"id\\u00e9%u\"", sep, col, uid);
    else
        put(m, "%s\"uid\"%s\"id%u\"", sep, col, uid);
    snprintf(m->uid, sizeof(m->uid), escaped ? "id\xc3\xa9%u" : "id%u", uid);
    m->uid_len = strlen(m->uid);
    if (f->type == T_PLAY && rng_below(s, 20) == 0)
        put(m, "%s\"type\"%s\"pl\\u0061y\"", sep, col); /* "play" */
    else if (f->type != T_NONE)
        put(m, "%s\"type\"%s\"%s\"", sep, col, type_names[f->type]);
    if (f->type == T_BAD)
        q = 0; /* another route must match: see rules-e2e.json */
    if (q < 8) {
        put(m, "%s\"q\"%s\"%s\"", sep, col, queries[q]);
        f->q_match = q < QUERY_MATCHES;
    }
    if (f->type == T_SKIP) {
        f->region = g < 45 ? 1 : g < 85 ? 2 : 0;
        if (f->region)
            put(m, "%s\"geo\":{\"region\":\"%s\"}", sep,
                f->region == 1 ? "eu" : "us");
        else if (g < 93)
            put(m, "%s\"geo\":{\"city\":\"x\"}", sep);
    }
    put(m, "%s\"pad\":\"", sep);
    put_pad(m, s, pad);
    put(m, "\"%s}", pretty ? " " : "");
}

void e2e_gen(uint64_t seed, uint64_t n, e2e_msg_t *m)
{
    uint64_t s = seed * 0x100000001b3ULL ^ n;
    char buf[40];
    facts_t f;
    unsigned tier, c;

    memset(&f, 0, sizeof(f));
    rng_next(&s);
    m->n = n;
    m->timestamp = E2E_TS_BASE + (int64_t)n;
    m->value_len = 0;
    m->nhdrs = 0;
    m->nouts = 0;
    m->uid_len = 0;
    m->key_null = rng_below(&s, 100) < 4;
    if (m->key_null) {
        m->key_len = 0;
        m->partition = (int32_t)(n % E2E_SOURCE_PARTITIONS);
    } else {
        snprintf(m->key, sizeof(m->key), "u%u", rng_below(&s, 3000));
        m->key_len = strlen(m->key);
        m->partition =
            e2e_key_partition(m->key, m->key_len, E2E_SOURCE_PARTITIONS);
        f.key_u1 = m->key[1] == '1';
    }

    snprintf(buf, sizeof(buf), "%llu", (unsigned long long)n);
    add_hdr(m, E2E_HDR_N, buf);
    tier = rng_below(&s, 1000);
    if (tier < 5) { /* two tier headers: the last one counts */
        add_hdr(m, "tier", tier < 3 ? "std" : "vip");
        add_hdr(m, "tier", tier < 3 ? "vip" : "std");
        f.vip = tier < 3;
    } else if (tier < 65) {
        add_hdr(m, "tier", "vip");
        f.vip = 1;
    } else if (tier < 365) {
        add_hdr(m, "tier", "std");
    }
    if (rng_below(&s, 5) == 0) {
        snprintf(buf, sizeof(buf), "t-%llu-%u", (unsigned long long)n,
                 rng_below(&s, 100000));
        add_hdr(m, "trace", buf);
    }

    c = rng_below(&s, 1000);
    if (n % 4001 == 17) {
        /* Few oversize values (the mock keeps 5 MB a partition). Anomaly
         * order decides: not_json before oversize before no_user. */
        switch ((n / 4001) % 3) {
        case 0:
            m->kind = "oversize";
            gen_valid(m, &s, &f, E2E_OVERSIZE_PAD);
            f.anomaly = "oversize";
            break;
        case 1:
            m->kind = "oversize_no_uid";
            put(m, "{\"n\":%u,\"pad\":\"", (unsigned)n);
            put_pad(m, &s, E2E_OVERSIZE_PAD);
            put(m, "\"}");
            f.anomaly = "oversize";
            break;
        default:
            m->kind = "oversize_not_json";
            put(m, "<%u>", (unsigned)n);
            put_pad(m, &s, E2E_OVERSIZE_PAD);
            f.anomaly = "not_json";
            break;
        }
    } else if (c < 6) {
        m->kind = "not_json";
        gen_not_json(m, &s);
        f.anomaly = "not_json";
    } else if (c < 12) {
        m->kind = "no_user";
        gen_no_uid(m, &s);
        f.anomaly = "no_user";
    } else {
        gen_valid(m, &s, &f, rng_below(&s, 120));
        m->kind = f.type == T_NONE ? "untyped" : type_names[f.type];
    }
    e2e_expect(m, &f);
}

/* Self-tests: murmur2 against known Java values, determinism, and that
 * the dataset covers every outcome the suite relies on. */
int e2e_selftest(void)
{
    static const struct {
        const char *in;
        int32_t java; /* org.apache.kafka.common.utils.Utils.murmur2 */
    } mm[] = {
        {"21", -973932308},
    };
    static e2e_msg_t a, b;
    size_t per_topic[64] = {0}, bytes[64] = {0}, i, fails = 0, total = 0;
    unsigned long long n;

    for (i = 0; i < sizeof(mm) / sizeof(mm[0]); i++) {
        int32_t got = (int32_t)e2e_murmur2(mm[i].in, strlen(mm[i].in));
        if (got != mm[i].java) {
            fprintf(stderr, "selftest: murmur2(\"%s\") = %d, want %d\n",
                    mm[i].in, got, mm[i].java);
            fails++;
        }
    }
    for (n = 0; n < 50000; n++) {
        e2e_gen(42, n, &a);
        e2e_gen(42, n, &b);
        if (a.value_len != b.value_len ||
            memcmp(a.value, b.value, a.value_len) != 0 || a.nouts != b.nouts ||
            a.nouts == 0) {
            fprintf(stderr,
                    "selftest: message %llu not deterministic or "
                    "without outcome\n",
                    n);
            fails++;
            break;
        }
        if (a.value_len >= sizeof(a.value) - 8) {
            fprintf(stderr, "selftest: message %llu too big\n", n);
            fails++;
        }
        for (i = 0; i < a.nouts; i++) {
            per_topic[a.outs[i].topic]++;
            bytes[a.outs[i].topic] += a.value_len + 100;
        }
        per_topic[0]++;
        bytes[0] += a.value_len + 100;
        total += a.nouts;
    }
    for (i = 1; i < e2e_topic_count; i++) {
        int must_be_empty = !strcmp(e2e_topics[i].name, "e2e.type.admin");
        if ((per_topic[i] == 0) != must_be_empty) {
            fprintf(stderr, "selftest: topic %s gets %zu messages\n",
                    e2e_topics[i].name, per_topic[i]);
            fails++;
        }
    }
    /* The mock keeps about 5 MB a partition: leave room for duplicates. */
    for (i = 0; i < e2e_topic_count; i++) {
        size_t limit = i == 0 ? 4000000 : 2500000;
        if (bytes[i] / (size_t)e2e_topics[i].partitions > limit) {
            fprintf(stderr,
                    "selftest: topic %s: %zu bytes in %d "
                    "partition(s)\n",
                    e2e_topics[i].name, bytes[i], e2e_topics[i].partitions);
            fails++;
        }
    }
    printf("selftest: %zu expected outputs for 50000 messages, %zu "
           "failure(s)\n",
           total, fails);
    return fails ? 1 : 0;
}
