/* demo.c - the embedded demo: a librdkafka mock cluster and a generator
 * thread producing realistic music-app events, a few percent malformed. */
#include "demo.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "log.h"
#include "rules.h"

#define DEMO_FLUSH_MS    5000   /* demo_stop(): bound on the final flush */
#define DEMO_MAX_BROKERS 32     /* mock brokers at most */
#define DEMO_BATCH       1000   /* events produced between two polls */
#define DEMO_USERS       100000 /* user ids u1..u100000 */
#define DEMO_VIP_EVERY   20     /* every 20th user is vip (5%) */
#define DEMO_OVERSIZE    66000  /* filler bytes of an oversize event */
#define DEMO_BUF_SIZE    (DEMO_OVERSIZE + 1024)
#define DEMO_SEED        0x9e3779b97f4a7c15ULL

struct demo {
    rd_kafka_t *cluster_rk;            /* owns the mock cluster (no traffic) */
    rd_kafka_mock_cluster_t *mcluster; /* the mock brokers, in cluster_rk */
    char *bootstraps;                  /* "127.0.0.1:port,..." (owned) */
    rd_kafka_t *rk;                    /* the generator's producer */
    rd_kafka_topic_t *rkt;             /* source topic handle, on rk */
    double rate;                       /* events per second, 0: unlimited */
    pthread_t thread;                  /* the generator thread */
    bool thread_started;               /* thread was created: join it */
    atomic_bool stop;                  /* set by demo_stop() */
    _Atomic uint64_t produced;         /* delivery reports without error */
    _Atomic uint64_t failed;           /* delivery reports with an error */
    _Atomic uint64_t errors;           /* produce calls refused (not full) */
};

/* ---- event generation --------------------------------------------------- */

/* Kinds of generated events, and what examples/demo.json does with them. */
enum ev_kind {
    EV_PLAY,      /* music.play, music.type.play (+ music.vip) */
    EV_SKIP,      /* music.type.skip */
    EV_LIKE,      /* music.type.like */
    EV_SEARCH,    /* music.type.search, music.search + audit.search when
                   * the query starts with "jay" */
    EV_PAY,       /* music.type.pay, music.pay */
    EV_REFUND,    /* music.type.refund, music.pay */
    EV_SHARE,     /* music.type.share */
    EV_AD_CLICK,  /* type outside the known set: music.type.ad_click */
    EV_HEARTBEAT, /* type outside the known set: music.type.heartbeat */
    EV_BAD_TYPE,  /* type that makes an invalid topic: bad_destination */
    EV_NO_TYPE,   /* old schema, "action" instead of "type": unmatched */
    EV_TRUNCATED, /* JSON cut short: not_json */
    EV_TEXT,      /* plain text: not_json */
    EV_NO_UID,    /* valid JSON without "uid": no_user */
    EV_OVERSIZE,  /* valid JSON larger than 65536 bytes: oversize */
};

/* The event mix, in events per 10,000. */
static const struct ev_weight {
    enum ev_kind kind;
    const char *type; /* the "type" (EV_NO_TYPE: "action") field */
    unsigned weight;
} ev_mix[] = {
    {EV_PLAY, "play", 5815},
    {EV_SKIP, "skip", 1300},
    {EV_LIKE, "like", 800},
    {EV_SEARCH, "search", 1000},
    {EV_PAY, "pay", 250},
    {EV_REFUND, "refund", 30},
    {EV_SHARE, "share", 400},
    {EV_AD_CLICK, "ad_click", 60},
    {EV_HEARTBEAT, "heartbeat", 60},
    {EV_BAD_TYPE, "Ad Click!", 20},
    {EV_NO_TYPE, "play", 20},
    {EV_TRUNCATED, "play", 100},
    {EV_TEXT, NULL, 60},
    {EV_NO_UID, "play", 80},
    {EV_OVERSIZE, "play", 5},
};

static const struct song {
    unsigned id;
    const char *title;  /* JSON-escaped */
    const char *artist; /* JSON-escaped */
} songs[] = {
    {98765, "Sunny Day (\xe6\x99\xb4\xe5\xa4\xa9)", "Jay Chou"}, /* UTF-8 */
    {98766, "Nocturne", "Jay Chou"},
    {91234, "So What", "Miles Davis"},
    {91235, "Take Five", "The Dave Brubeck Quartet"},
    {93001, "Bohemian Rhapsody", "Queen"},
    {93002, "Don't Stop Me Now", "Queen"},
    {94410, "Shake It Off", "Taylor Swift"},
    {95120, "Clair de Lune", "Claude Debussy"},
    {96001, "Empire State of Mind", "JAY-Z"},
    {96002, "Lose Yourself", "Eminem"},
    {97100, "Amish Paradise", "\\\"Weird Al\\\" Yankovic"},
    {97200, "Despacito", "Luis Fonsi"},
    {97300, "La Vie en rose", "\303\211dith Piaf"}, /* UTF-8 E acute */
    {97400, "Gangnam Style", "PSY"},
};

/* Search queries; those starting with "jay" (any case) match the demo's
 * search route, "jazz" does not. */
static const char *const queries[] = {
    "jay chou",   "jazz", "Jaylen",
    "JAY-Z",      "jay",  "taylor swift",
    "lofi beats", "piaf", "\xe5\x91\xa8\xe6\x9d\xb0\xe4\xbc\xa6", /* UTF-8 */
    "queen live",
};

static const struct client {
    const char *os;
    const char *ver;
} clients[] = {
    {"android", "8.1.2"}, {"android", "8.0.9"}, {"ios", "8.1.0"},
    {"ios", "7.9.4"},     {"web", "2024.11"},   {"windows", "3.2.1"},
};

static const char *const countries[] = {"US", "CN", "TW", "DE",
                                        "FR", "BR", "JP", "KR"};
static const char *const currencies[] = {"USD", "EUR", "CNY", "JPY"};
static const char *const share_to[] = {"wechat", "whatsapp", "twitter",
                                       "copy_link"};
static const char *const ad_slots[] = {"banner", "interstitial", "audio"};

/* Plain-text lines (not JSON): before and after the user number. */
static const struct text {
    const char *before;
    const char *after;
} texts[] = {
    {"play u", " 98765"},
    {"ERROR client ", " crashed: NullPointerException at PlayerService"},
    {"GET /api/v1/play?uid=u", " HTTP/1.1"},
    {"hello from user ", ""},
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* xorshift64*: fast and deterministic; the multiply hides the weak low
 * bits of plain xorshift (they skewed the event mix). */
static uint64_t gen_rand(uint64_t *s)
{
    uint64_t x = *s;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* A random index below n. */
static size_t gen_pick(uint64_t *s, size_t n)
{
    return (size_t)(gen_rand(s) % n);
}

/* Milliseconds since the epoch. */
static long long gen_now_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) == -1)
        return 0;
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One generated event. */
struct gen_event {
    size_t len;       /* value length */
    char key[16];     /* "u<n>", or "" for no key */
    const char *tier; /* "vip" or "free" */
};

/* Append to buf at *pos; returns -1 when it did not fit. */
static int gen_append(char *buf, size_t size, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int gen_append(char *buf, size_t size, size_t *pos, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*pos >= size)
        return -1;
    va_start(ap, fmt);
    n = vsnprintf(buf + *pos, size - *pos, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size - *pos)
        return -1;
    *pos += (size_t)n;
    return 0;
}

/* The type-specific middle of a JSON event (each part ends with ','). */
static int gen_body(uint64_t *s, enum ev_kind kind, char *buf, size_t size,
                    size_t *pos)
{
    const struct song *so = &songs[gen_pick(s, NELEM(songs))];
    int rc = 0;

    switch (kind) {
    case EV_SEARCH:
        return gen_append(buf, size, pos, "\"query\":\"%s\",\"results\":%u,",
                          queries[gen_pick(s, NELEM(queries))],
                          (unsigned)gen_pick(s, 200));
    case EV_PAY:
    case EV_REFUND:
        return gen_append(buf, size, pos,
                          "\"amount\":%u.%02u,\"currency\":\"%s\","
                          "\"order\":\"o%u\",",
                          1 + (unsigned)gen_pick(s, 30),
                          (unsigned)gen_pick(s, 100),
                          currencies[gen_pick(s, NELEM(currencies))],
                          (unsigned)gen_pick(s, 10000000));
    case EV_AD_CLICK:
    case EV_BAD_TYPE:
        return gen_append(buf, size, pos, "\"ad\":{\"id\":%u,\"slot\":\"%s\"},",
                          (unsigned)gen_pick(s, 5000),
                          ad_slots[gen_pick(s, NELEM(ad_slots))]);
    case EV_HEARTBEAT:
        return 0;
    default:
        break;
    }
    rc = gen_append(buf, size, pos,
                    "\"song\":{\"id\":%u,\"title\":\"%s\",\"artist\":\"%s\"},",
                    so->id, so->title, so->artist);
    if (rc == 0 && kind == EV_PLAY)
        rc = gen_append(buf, size, pos, "\"ms_played\":%u,",
                        (unsigned)gen_pick(s, 300000));
    if (rc == 0 && kind == EV_SKIP)
        rc = gen_append(buf, size, pos, "\"at_ms\":%u,",
                        (unsigned)gen_pick(s, 240000));
    if (rc == 0 && kind == EV_SHARE)
        rc = gen_append(buf, size, pos, "\"to\":\"%s\",",
                        share_to[gen_pick(s, NELEM(share_to))]);
    return rc;
}

/* Build one event into buf (size >= DEMO_BUF_SIZE). Returns 0; -1 when the
 * buffer was too small (a bug: the caller skips the event). */
static int gen_event(uint64_t *s, char *buf, size_t size, struct gen_event *ev)
{
    const struct ev_weight *w = &ev_mix[0];
    const struct client *cl = &clients[gen_pick(s, NELEM(clients))];
    unsigned total = 0, r, user;
    size_t i, pos = 0;
    int rc;

    for (i = 0; i < NELEM(ev_mix); i++)
        total += ev_mix[i].weight;
    r = (unsigned)gen_pick(s, total);
    for (i = 0; i < NELEM(ev_mix); i++) {
        w = &ev_mix[i];
        if (r < w->weight)
            break;
        r -= w->weight;
    }
    user = 1 + (unsigned)gen_pick(s, DEMO_USERS);
    ev->tier = user % DEMO_VIP_EVERY == 0 ? "vip" : "free";
    snprintf(ev->key, sizeof(ev->key), "u%u", user);

    if (w->kind == EV_TEXT) {
        const struct text *t = &texts[gen_pick(s, NELEM(texts))];

        rc = snprintf(buf, size, "%s%u%s", t->before, user, t->after);
        if (rc < 0 || (size_t)rc >= size)
            return -1;
        ev->len = (size_t)rc;
        return 0;
    }

    rc = gen_append(buf, size, &pos, "{\"%s\":\"%s\",",
                    w->kind == EV_NO_TYPE ? "action" : "type", w->type);
    if (rc == 0 && w->kind != EV_NO_UID)
        rc = gen_append(buf, size, &pos, "\"uid\":\"%s\",", ev->key);
    if (rc == 0)
        rc = gen_body(s, w->kind, buf, size, &pos);
    if (rc == 0 && w->kind == EV_OVERSIZE) {
        rc = gen_append(buf, size, &pos, "\"blob\":\"");
        if (rc == 0 && size - pos > DEMO_OVERSIZE + 2) {
            memset(buf + pos, 'A', DEMO_OVERSIZE);
            pos += DEMO_OVERSIZE;
            rc = gen_append(buf, size, &pos, "\",");
        } else {
            rc = -1;
        }
    }
    if (rc == 0)
        rc = gen_append(buf, size, &pos,
                        "\"session\":\"s%08x\",\"ts\":%lld,"
                        "\"client\":{\"os\":\"%s\",\"ver\":\"%s\","
                        "\"country\":\"%s\"}}",
                        (unsigned)(gen_rand(s) >> 32), gen_now_ms(), cl->os,
                        cl->ver, countries[gen_pick(s, NELEM(countries))]);
    if (rc == -1)
        return -1;
    if (w->kind == EV_NO_UID)
        ev->key[0] = '\0';
    /* Cut before the closing brace: never valid JSON. */
    if (w->kind == EV_TRUNCATED)
        pos = 1 + gen_pick(s, pos - 2);
    ev->len = pos;
    return 0;
}

/* ---- the generator thread ----------------------------------------------- */

/* Seconds on the monotonic clock. */
static double demo_now(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
        return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Produce one event, waiting through a full queue. Returns 0 when it was
 * enqueued, 1 when demo_stop() interrupted the wait, -1 on another
 * error (logged now and then; the event is dropped). */
static int demo_produce(demo_t *d, const char *val, const struct gen_event *ev)
{
    rd_kafka_resp_err_t err;
    size_t keylen = strlen(ev->key);
    uint64_t n;

    for (;;) {
        err = rd_kafka_producev(d->rk, RD_KAFKA_V_RKT(d->rkt),
                                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                RD_KAFKA_V_KEY(keylen ? ev->key : NULL, keylen),
                                RD_KAFKA_V_VALUE((void *)val, ev->len),
                                RD_KAFKA_V_HEADER("tier", ev->tier, -1),
                                RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        if (atomic_load(&d->stop))
            return 1;
        rd_kafka_poll(d->rk, 100);
    }
    if (!err)
        return 0;
    n = atomic_fetch_add(&d->errors, 1) + 1;
    if ((n & (n - 1)) == 0) /* 1, 2, 4, 8... */
        log_error("demo: produce failed (%llu so far): %s",
                  (unsigned long long)n, rd_kafka_err2str(err));
    return -1;
}

/* The generator thread: events at d->rate per second (token bucket, at
 * most 0.1 s of burst) or as fast as the producer takes them, until
 * demo_stop(). */
static void *demo_run(void *arg)
{
    demo_t *d = arg;
    uint64_t s = DEMO_SEED;
    double tokens = 0, burst, last;
    struct gen_event ev;
    char *buf;

    buf = malloc(DEMO_BUF_SIZE);
    if (!buf) {
        log_error("demo: generator: out of memory");
        return NULL;
    }
    burst = d->rate / 10 > 1 ? d->rate / 10 : 1;
    last = demo_now();
    while (!atomic_load(&d->stop)) {
        long n = DEMO_BATCH, i;

        if (d->rate > 0) {
            double now = demo_now();

            tokens += (now - last) * d->rate;
            last = now;
            if (tokens > burst)
                tokens = burst;
            if (tokens < 1) {
                double ms = (1 - tokens) / d->rate * 1000;

                /* Wait for the next token, serving delivery reports. */
                rd_kafka_poll(d->rk, ms < 99 ? (int)ms + 1 : 100);
                continue;
            }
            if (tokens < DEMO_BATCH)
                n = (long)tokens;
        }
        for (i = 0; i < n && !atomic_load(&d->stop); i++) {
            if (gen_event(&s, buf, DEMO_BUF_SIZE, &ev) == -1)
                continue;
            if (demo_produce(d, buf, &ev) == 1)
                break;
        }
        tokens -= (double)i;
        rd_kafka_poll(d->rk, 0);
    }
    free(buf);
    return NULL;
}

/* ---- librdkafka callbacks ----------------------------------------------- */

static void demo_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm,
                       void *opaque)
{
    demo_t *d = opaque;
    uint64_t n;

    (void)rk;
    if (!rkm->err) {
        atomic_fetch_add(&d->produced, 1);
        return;
    }
    n = atomic_fetch_add(&d->failed, 1) + 1;
    if ((n & (n - 1)) == 0)
        log_error("demo: delivery failed (%llu so far): %s",
                  (unsigned long long)n, rd_kafka_err2str(rkm->err));
}

/* librdkafka's log lines go through log.h. */
static void demo_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                        const char *buf)
{
    log_msg(log_level_from_syslog(level), "demo: %s: %s: %s", rd_kafka_name(rk),
            fac, buf);
}

/* ---- start / stop ------------------------------------------------------- */

/* A configuration with the log callback and the given properties (name,
 * value pairs, NULL-terminated). Returns NULL with errstr set on error. */
static rd_kafka_conf_t *demo_conf(const char *const *props, char *errstr,
                                  size_t errstr_size)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    size_t i;

    rd_kafka_conf_set_log_cb(conf, demo_log_cb);
    for (i = 0; props[i]; i += 2) {
        if (rd_kafka_conf_set(conf, props[i], props[i + 1], errstr,
                              errstr_size) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(conf);
            return NULL;
        }
    }
    return conf;
}

/* Create topic with partitions partitions; an existing topic is fine. */
static int demo_topic(demo_t *d, const char *topic, int partitions,
                      char *errstr, size_t errstr_size)
{
    rd_kafka_resp_err_t err;

    err = rd_kafka_mock_topic_create(d->mcluster, topic, partitions, 1);
    if (err && err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        snprintf(errstr, errstr_size, "demo: cannot create topic %s: %s", topic,
                 rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

/* 1 when name is a valid Kafka topic name (the rule engine's check). */
static int demo_topic_valid(const char *name)
{
    return rules_topic_valid(name, strlen(name));
}

/* Create PREFIX<type> for every event type the generator makes whose
 * name makes a valid topic (the others go to bad_destination). */
static int demo_type_topics(demo_t *d, const demo_conf_t *conf, char *errstr,
                            size_t errstr_size)
{
    char name[256];

    for (size_t i = 0; i < sizeof(ev_mix) / sizeof(ev_mix[0]); i++) {
        if (!ev_mix[i].type ||
            snprintf(name, sizeof(name), "%s%s", conf->type_topic_prefix,
                     ev_mix[i].type) >= (int)sizeof(name) ||
            !demo_topic_valid(name))
            continue;
        if (demo_topic(d, name, conf->partitions, errstr, errstr_size))
            return -1;
    }
    return 0;
}

/* Check a demo configuration. Returns 0; -1 with errstr set. */
static int demo_conf_check(const demo_conf_t *conf, char *errstr,
                           size_t errstr_size)
{
    size_t i;

    if (!conf) {
        snprintf(errstr, errstr_size, "demo: no configuration");
        return -1;
    }
    /* librdkafka 2.0.2 aborts when it cannot open a broker's socket: keep
     * the broker count small. */
    if (conf->brokers < 1 || conf->brokers > DEMO_MAX_BROKERS ||
        conf->partitions < 1) {
        snprintf(errstr, errstr_size,
                 "demo: brokers (%d) must be 1..%d and partitions (%d) "
                 ">= 1",
                 conf->brokers, DEMO_MAX_BROKERS, conf->partitions);
        return -1;
    }
    if (!(conf->rate >= 0)) {
        snprintf(errstr, errstr_size, "demo: rate (%g) must be >= 0",
                 conf->rate);
        return -1;
    }
    if (!conf->topic || !demo_topic_valid(conf->topic)) {
        snprintf(errstr, errstr_size, "demo: invalid source topic \"%s\"",
                 conf->topic ? conf->topic : "(null)");
        return -1;
    }
    if (conf->ntopics && !conf->topics) {
        snprintf(errstr, errstr_size, "demo: %zu topics but no list",
                 conf->ntopics);
        return -1;
    }
    for (i = 0; i < conf->ntopics; i++) {
        if (!conf->topics[i] || !demo_topic_valid(conf->topics[i])) {
            snprintf(errstr, errstr_size,
                     "demo: topics[%zu]: invalid topic "
                     "name \"%s\"",
                     i, conf->topics[i] ? conf->topics[i] : "(null)");
            return -1;
        }
    }
    return 0;
}

demo_t *demo_start(const demo_conf_t *conf, char *errstr, size_t errstr_size)
{
    /* log_level 4: no notice about the missing bootstrap.servers. */
    const char *cluster_props[] = {"client.id", "router-demo-cluster",
                                   "log_level", "4", NULL};
    const char *gen_props[] = {"client.id", "router-demo-generator",
                               "bootstrap.servers", NULL, NULL};
    rd_kafka_conf_t *kconf = NULL;
    demo_t *d = NULL;
    const char *bs;
    size_t i;
    int rc;

    if (demo_conf_check(conf, errstr, errstr_size) == -1)
        goto err;
    d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(errstr, errstr_size, "demo: out of memory");
        goto err;
    }
    atomic_init(&d->stop, false);
    atomic_init(&d->produced, 0);
    atomic_init(&d->failed, 0);
    atomic_init(&d->errors, 0);
    d->rate = conf->rate;

    /* The cluster's own handle: it carries the mock brokers, nothing else. */
    kconf = demo_conf(cluster_props, errstr, errstr_size);
    if (!kconf)
        goto err;
    d->cluster_rk = rd_kafka_new(RD_KAFKA_PRODUCER, kconf, errstr, errstr_size);
    if (!d->cluster_rk)
        goto err;
    kconf = NULL; /* owned by cluster_rk */
    d->mcluster = rd_kafka_mock_cluster_new(d->cluster_rk, conf->brokers);
    if (!d->mcluster) {
        snprintf(errstr, errstr_size, "demo: cannot create mock cluster");
        goto err;
    }
    bs = rd_kafka_mock_cluster_bootstraps(d->mcluster);
    d->bootstraps = strdup(bs ? bs : "");
    if (!d->bootstraps) {
        snprintf(errstr, errstr_size, "demo: out of memory");
        goto err;
    }
    if (demo_topic(d, conf->topic, conf->partitions, errstr, errstr_size))
        goto err;
    for (i = 0; i < conf->ntopics; i++)
        if (demo_topic(d, conf->topics[i], conf->partitions, errstr,
                       errstr_size))
            goto err;
    if (conf->type_topic_prefix &&
        demo_type_topics(d, conf, errstr, errstr_size))
        goto err;

    /* The generator: a normal client of the mock brokers. */
    gen_props[3] = d->bootstraps;
    kconf = demo_conf(gen_props, errstr, errstr_size);
    if (!kconf)
        goto err;
    rd_kafka_conf_set_dr_msg_cb(kconf, demo_dr_cb);
    rd_kafka_conf_set_opaque(kconf, d);
    d->rk = rd_kafka_new(RD_KAFKA_PRODUCER, kconf, errstr, errstr_size);
    if (!d->rk)
        goto err;
    kconf = NULL; /* owned by rk */
    d->rkt = rd_kafka_topic_new(d->rk, conf->topic, NULL);
    if (!d->rkt) {
        snprintf(errstr, errstr_size, "demo: topic handle %s: %s", conf->topic,
                 rd_kafka_err2str(rd_kafka_last_error()));
        goto err;
    }
    rc = pthread_create(&d->thread, NULL, demo_run, d);
    if (rc) {
        snprintf(errstr, errstr_size, "demo: cannot start generator: %s",
                 strerror(rc));
        goto err;
    }
    d->thread_started = true;
    if (conf->rate > 0)
        log_info("demo: mock cluster of %d brokers at %s; generating to %s "
                 "(%d partitions) at %g events/s",
                 conf->brokers, d->bootstraps, conf->topic, conf->partitions,
                 conf->rate);
    else
        log_info("demo: mock cluster of %d brokers at %s; generating to %s "
                 "(%d partitions) at full speed",
                 conf->brokers, d->bootstraps, conf->topic, conf->partitions);
    return d;

err:
    if (kconf)
        rd_kafka_conf_destroy(kconf);
    demo_stop(d);
    return NULL;
}

const char *demo_bootstraps(const demo_t *d)
{
    return d->bootstraps;
}

uint64_t demo_produced(const demo_t *d)
{
    return atomic_load(&((demo_t *)d)->produced);
}

void demo_stop(demo_t *d)
{
    rd_kafka_resp_err_t err;

    if (!d)
        return;
    atomic_store(&d->stop, true);
    if (d->thread_started) {
        int rc = pthread_join(d->thread, NULL);

        if (rc)
            log_error("demo: joining the generator: %s", strerror(rc));
    }
    if (d->rkt)
        rd_kafka_topic_destroy(d->rkt);
    if (d->rk) {
        err = rd_kafka_flush(d->rk, DEMO_FLUSH_MS);
        if (err)
            log_warn("demo: %d events not flushed: %s",
                     rd_kafka_outq_len(d->rk), rd_kafka_err2str(err));
        if (d->thread_started)
            log_info("demo: generator stopped: %llu events acknowledged, "
                     "%llu failed",
                     (unsigned long long)atomic_load(&d->produced),
                     (unsigned long long)atomic_load(&d->failed));
        rd_kafka_destroy(d->rk);
    }
    if (d->mcluster)
        rd_kafka_mock_cluster_destroy(d->mcluster);
    if (d->cluster_rk)
        rd_kafka_destroy(d->cluster_rk);
    free(d->bootstraps);
    free(d);
}
