/* bench_data.c - the benchmark's data: deterministic music-app events of
 * an exact size, and rule sets of N routes of which ten deliver. */
#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *const bench_types[BENCH_NTYPES] = {
    "play",  "pause", "skip",   "search", "like",
    "share", "add",   "remove", "pay",    "login"};

static const char *const countries[] = {"SE", "NO", "DK", "FI", "DE", "FR",
                                        "GB", "US", "BR", "JP", "IN", "ES",
                                        "IT", "NL", "PL", "MX"};

static const char *const apps[] = {"ios-8.9.2", "android-8.9.4", "web-2024.3",
                                   "desktop-1.2.31"};

static const char *const queries[] = {"jay chou", "taylor swift", "abba gold",
                                      "daft punk live", "miles davis"};

#define NCOUNTRIES (sizeof(countries) / sizeof(countries[0]))
#define NAPPS      (sizeof(apps) / sizeof(apps[0]))
#define NQUERIES   (sizeof(queries) / sizeof(queries[0]))
#define PAD_TAIL   10 /* strlen(",\"pad\":\"\"}") */

static uint64_t rnd(bench_gen_t *g)
{
    g->state ^= g->state >> 12;
    g->state ^= g->state << 25;
    g->state ^= g->state >> 27;
    return g->state * 0x2545F4914F6CDD1DULL;
}

void bench_gen_init(bench_gen_t *g, uint64_t seed, size_t size)
{
    g->state = seed * 0x9E3779B97F4A7C15ULL + 0x853c49e6748fea9bULL;
    g->size = size;
    g->seq = 0;
}

/* Append to val at *len what fmt makes, only if it leaves room for the
 * pad field within size; returns 1 when appended. */
static int add(char *val, size_t *len, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int add(char *val, size_t *len, size_t size, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp) || *len + (size_t)n + PAD_TAIL > size)
        return 0;
    memcpy(val + *len, tmp, (size_t)n);
    *len += (size_t)n;
    return 1;
}

int bench_gen_next(bench_gen_t *g, int64_t ts_us, char *val, char *key,
                   size_t *key_len)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789-_";
    uint64_t r = rnd(g), r2 = rnd(g);
    int type = (int)(r % BENCH_NTYPES);
    unsigned uid = (unsigned)((r >> 8) % 1000000);
    unsigned song = (unsigned)((r >> 32) % 100000);
    size_t len = 0, size = g->size;

    g->seq++;
    *key_len = (size_t)snprintf(key, 16, "u%07u", uid);
    if (!add(val, &len, size, "{\"ts\":%" PRId64, ts_us) ||
        !add(val, &len, size, ",\"uid\":\"u%07u\"", uid) ||
        !add(val, &len, size, ",\"type\":\"%s\"", bench_types[type]) ||
        !add(val, &len, size, ",\"country\":\"%s\"",
             countries[r2 % NCOUNTRIES]) ||
        !add(val, &len, size, ",\"song\":\"s%06u\"", song))
        return -1;
    /* Optional fields while they fit, then the padding. */
    if (add(val, &len, size, ",\"seq\":%" PRIu64, g->seq) &&
        add(val, &len, size, ",\"app\":\"%s\"", apps[(r2 >> 8) % NAPPS]) &&
        add(val, &len, size, ",\"ms\":%u", (unsigned)((r2 >> 16) % 400000)) &&
        type == 3)
        add(val, &len, size, ",\"query\":\"%s\"",
            queries[(r2 >> 40) % NQUERIES]);
    memcpy(val + len, ",\"pad\":\"", 8);
    len += 8;
    while (len < size - 2) {
        uint64_t x = rnd(g);

        for (int i = 0; i < 10 && len < size - 2; i++, x >>= 6)
            val[len++] = alnum[(x & 63) % (sizeof(alnum) - 1)];
    }
    memcpy(val + len, "\"}", 2);
    val[size] = '\0';
    return type;
}

/* ---- rule sets -------------------------------------------------------- */

/* The condition of filler route i: realistic, never true for our events.
 * Out of 50: 20 eq on /song, 8 eq on /type, 8 in on /uid, 7 on two fields
 * (type and country), 3 in on /country, 1 prefix, 1 regex, 1 header and
 * 1 key test. */
static void filler_cond(FILE *f, int i)
{
    int k = i % 50;

    if (k < 20)
        fprintf(f, "{\"field\": \"/song\", \"eq\": \"n%06d\"}", i);
    else if (k < 28)
        fprintf(f, "{\"field\": \"/type\", \"eq\": \"t%d\"}", i);
    else if (k < 36)
        fprintf(f,
                "{\"field\": \"/uid\", \"in\": [\"v%07d\", \"w%07d\", "
                "\"x%07d\"]}",
                i, i, i);
    else if (k < 43)
        fprintf(f,
                "{\"all\": [{\"field\": \"/type\", \"eq\": \"%s\"}, "
                "{\"field\": \"/country\", \"eq\": \"X%d\"}]}",
                bench_types[i % BENCH_NTYPES], i);
    else if (k < 46)
        fprintf(f, "{\"field\": \"/country\", \"in\": [\"Q%d\", \"R%d\"]}", i,
                i);
    else if (k == 46)
        fprintf(f, "{\"field\": \"/query\", \"prefix\": \"zz%d\"}", i);
    else if (k == 47)
        fprintf(f, "{\"field\": \"/query\", \"regex\": \"^nomatch%d [a-z]+$\"}",
                i);
    else if (k == 48)
        fprintf(f, "{\"header\": \"tier\", \"eq\": \"gold%d\"}", i);
    else
        fprintf(f, "{\"key\": true, \"prefix\": \"x%d\"}", i);
}

int bench_rules_write(const char *path, int nroutes, const char *prefix,
                      const char *live, char *errstr, size_t errstr_size)
{
    FILE *f = fopen(path, "w");
    int i;

    if (!f) {
        snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    fprintf(
        f,
        "{\n  \"version\": 1,\n  \"sources\": [\"%s\", \"%s\"],\n"
        "  \"dead_letter\": {\"topic\": \"%s.dead\"},\n"
        "  \"unmatched\": \"drop\",\n  \"anomalies\": [\n"
        "    {\"name\": \"not_json\", \"if\": {\"not\": {\"json\": true}}},\n"
        "    {\"name\": \"no_user\", \"if\": {\"missing\": \"/uid\"}},\n"
        "    {\"name\": \"oversize\", \"if\": {\"size\": {\"gt\": 65536}}}\n"
        "  ],\n  \"routes\": [\n",
        BENCH_SRC_TOPIC, live, prefix);
    for (i = 0; i < BENCH_NTYPES; i++)
        fprintf(f,
                "    {\"name\": \"%s\", \"if\": {\"field\": \"/type\", "
                "\"eq\": \"%s\"}, \"to\": \"%s.%s\"},\n",
                bench_types[i], bench_types[i], prefix, bench_types[i]);
    for (; i < nroutes; i++) {
        fprintf(f, "    {\"name\": \"f%d\", \"if\": ", i);
        filler_cond(f, i);
        fprintf(f, ", \"to\": \"%s.filler%d\"}%s\n", prefix, i,
                i + 1 < nroutes ? "," : "");
    }
    if (nroutes <= BENCH_NTYPES) {
        /* Drop the trailing comma of the last delivering route. */
        if (fseek(f, -2, SEEK_CUR) != 0)
            goto err;
        fputs("\n", f);
    }
    fputs("  ]\n}\n", f);
    if (fclose(f) != 0) {
        f = NULL;
        goto err;
    }
    return 0;
err:
    snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
    if (f)
        fclose(f);
    return -1;
}
