/* e2e_emulate.c - "e2e_tool emulate": a stand-in router that produces what
 * the dataset says the real one must (not by evaluating rules), optionally
 * with one deliberate defect. It exists to prove that verify catches each
 * kind of mistake, and to rehearse the scenario scripts without the real
 * router. At-least-once: offsets are stored once their outputs are
 * acknowledged. */
#include "e2e.h"
#include "log.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Defects verify must catch; the index is the message they hit. */
enum defect {
    D_NONE,
    D_DROP,
    D_DUP,
    D_KEY,
    D_VALUE,
    D_PARTITION,
    D_ORDER,
    D_HEADER,
    D_DLQ_OFFSET,
    D_EXTRA,
    D_STRAY_HEADER,
    D_DUP_MISPLACED
};
static const char *const defect_names[] = {
    "none",  "drop",   "dup",        "key",   "value",        "partition",
    "order", "header", "dlq_offset", "extra", "stray_header", "dup_misplaced"};

typedef struct emu {
    rd_kafka_t *cons, *prod;
    uint64_t seed, count;
    enum defect defect;
    uint64_t victim;          /* first message the defect may hit */
    int hit;                  /* the defect happened */
    e2e_msg_t *m, *m2;        /* scratch messages */
    rd_kafka_message_t *held; /* D_ORDER: source message produced last */
    uint64_t failed;          /* delivery failures */
} emu_t;

static int produce_out(emu_t *em, const rd_kafka_message_t *src,
                       const e2e_out_t *o, int wrong_partition)
{
    const e2e_msg_t *m = em->m;
    const e2e_topic_t *t = &e2e_topics[o->topic];
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    const void *key = o->key_uid ? m->uid : m->key_null ? NULL : m->key;
    size_t key_len = o->key_uid ? m->uid_len : m->key_len, i;
    int32_t part = RD_KAFKA_PARTITION_UA;
    char num[32], *value = NULL;
    rd_kafka_resp_err_t err;

    for (i = 0; i < m->nhdrs; i++) {
        if (em->defect == D_HEADER && !em->hit && m->n >= em->victim &&
            i == 1) {
            em->hit = 1; /* lose the source header after e2e.n */
            continue;
        }
        rd_kafka_header_add(h, m->hdrs[i].name, -1, m->hdrs[i].value,
                            (ssize_t)m->hdrs[i].len);
    }
    if (em->defect == D_STRAY_HEADER && !em->hit && !o->reason &&
        m->n >= em->victim) {
        rd_kafka_header_add(h, "router.stray", -1, "1", -1);
        em->hit = 1; /* a header the source message does not have */
    }
    if (o->reason) {
        int64_t off = src->offset;
        if (em->defect == D_DLQ_OFFSET && !em->hit && m->n >= em->victim) {
            off++;
            em->hit = 1;
        }
        rd_kafka_header_add(h, "router.reason", -1, o->reason, -1);
        rd_kafka_header_add(h, "router.detail", -1, "emulated", -1);
        if (o->route)
            rd_kafka_header_add(h, "router.route", -1, o->route, -1);
        rd_kafka_header_add(h, "router.source.topic", -1, E2E_SOURCE_TOPIC, -1);
        snprintf(num, sizeof(num), "%d", (int)src->partition);
        rd_kafka_header_add(h, "router.source.partition", -1, num, -1);
        snprintf(num, sizeof(num), "%" PRId64, off);
        rd_kafka_header_add(h, "router.source.offset", -1, num, -1);
        snprintf(num, sizeof(num), "%" PRId64,
                 rd_kafka_message_timestamp(src, NULL));
        rd_kafka_header_add(h, "router.source.timestamp", -1, num, -1);
        rd_kafka_header_add(h, "router.rules.version", -1, "1", -1);
    }
    if (o->place == E2E_PLACE_SOURCE)
        part = src->partition % t->partitions;
    if (wrong_partition)
        part = (e2e_key_partition(key, key_len, t->partitions) + 1) %
               t->partitions;
    if (em->defect == D_KEY && !em->hit && key && m->n >= em->victim) {
        key_len--;
        em->hit = 1;
    }
    if (em->defect == D_VALUE && !em->hit && m->n >= em->victim) {
        value = malloc(src->len);
        if (!value)
            return -1;
        memcpy(value, src->payload, src->len);
        value[0] ^= 1;
        em->hit = 1;
    }
    for (;;) {
        err = rd_kafka_producev(
            em->prod, RD_KAFKA_V_TOPIC(t->name), RD_KAFKA_V_PARTITION(part),
            RD_KAFKA_V_KEY(key, key_len),
            RD_KAFKA_V_VALUE(value ? value : src->payload, src->len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(h),
            RD_KAFKA_V_END);
        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
            break;
        rd_kafka_poll(em->prod, 100);
    }
    free(value);
    if (err) {
        rd_kafka_headers_destroy(h);
        log_error("emulate: produce to %s: %s", t->name, rd_kafka_err2str(err));
        return -1;
    }
    return 0;
}

/* 1 when a later message of the dataset has the same key as em->m and
 * shares an output topic with it (same key there too): holding em->m back
 * then makes a visible order error. */
static int key_repeats(emu_t *em)
{
    const e2e_msg_t *m = em->m, *o = em->m2;
    uint64_t j;
    size_t a, b;

    for (j = m->n + 1; j < em->count && j < m->n + 50000; j++) {
        e2e_gen(em->seed, j, em->m2);
        if (o->key_null || o->key_len != m->key_len ||
            memcmp(o->key, m->key, m->key_len))
            continue;
        for (a = 0; a < m->nouts; a++)
            for (b = 0; b < o->nouts; b++)
                if (m->outs[a].topic == o->outs[b].topic &&
                    !m->outs[a].key_uid && !o->outs[b].key_uid)
                    return 1;
    }
    return 0;
}

/* Produce every output of one source message. Returns 0, 1 when it kept
 * src to produce it last (D_ORDER: src is then em->held's), -1 on error. */
static int route(emu_t *em, rd_kafka_message_t *src)
{
    rd_kafka_headers_t *h;
    const void *v;
    size_t len, i;
    char buf[32];
    uint64_t n;
    int reps = 1, r, misplace_copy = 0;

    if (rd_kafka_message_headers(src, &h) ||
        rd_kafka_header_get_last(h, E2E_HDR_N, &v, &len) || len >= sizeof(buf))
        return 0; /* not ours */
    memcpy(buf, v, len);
    buf[len] = '\0';
    if (e2e_parse_u64(buf, &n) || n >= em->count)
        return 0;
    e2e_gen(em->seed, n, em->m);
    if (!em->hit && n >= em->victim) {
        switch (em->defect) {
        case D_DROP:
            em->hit = 1;
            return 0;
        case D_DUP_MISPLACED: /* the copy's keyed outputs elsewhere */
            for (i = 0; i < em->m->nouts; i++)
                misplace_copy |= em->m->outs[i].place == E2E_PLACE_HASH;
            if (!misplace_copy)
                break;
            /* fall through */
        case D_DUP:
            reps = 2;
            em->hit = 1;
            break;
        case D_ORDER:
            if (!em->m->key_null && !em->held && key_repeats(em)) {
                em->held = src; /* produced last */
                em->hit = 1;
                return 1;
            }
            break;
        case D_EXTRA:
            if (em->m->nouts < E2E_MAX_OUTS && !em->m->outs[0].reason) {
                em->m->outs[em->m->nouts] = em->m->outs[0];
                em->m->outs[em->m->nouts++].topic =
                    e2e_topic_index("e2e.type.admin", 14);
                em->hit = 1;
            }
            break;
        default:
            break;
        }
    }
    while (reps--)
        for (i = 0; i < em->m->nouts; i++) {
            const e2e_out_t *o = &em->m->outs[i];
            int wrong =
                o->place == E2E_PLACE_HASH &&
                ((em->defect == D_PARTITION && !em->hit && n >= em->victim) ||
                 (misplace_copy && reps == 0));
            em->hit |= wrong;
            r = produce_out(em, src, o, wrong);
            if (r)
                return -1;
        }
    return 0;
}

static void emu_dr(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *op)
{
    emu_t *em = op;

    (void)rk;
    if (rkm->err && em->failed++ < 5)
        log_error("emulate: delivery failed: %s", rd_kafka_err2str(rkm->err));
}

/* Wait for every output so far, then store the source offsets done. */
static int checkpoint(emu_t *em, rd_kafka_topic_partition_list_t *done)
{
    if (rd_kafka_flush(em->prod, 30000) || em->failed)
        return -1;
    if (done->cnt && rd_kafka_offsets_store(em->cons, done))
        log_warn("emulate: offsets_store failed");
    return 0;
}

int e2e_cmd_emulate(int argc, char **argv)
{
    static const char *const cons_props[] = {"group.id",
                                             NULL,
                                             "auto.offset.reset",
                                             "earliest",
                                             "enable.auto.offset.store",
                                             "false",
                                             "auto.commit.interval.ms",
                                             "1000",
                                             "session.timeout.ms",
                                             "6000",
                                             "heartbeat.interval.ms",
                                             "500",
                                             "enable.partition.eof",
                                             "true",
                                             NULL};
    static const char *const prod_props[] = {
        "enable.idempotence", "true", "partitioner", "murmur2_random",
        "linger.ms",          "5",    NULL};
    const char *brokers = NULL, *group = NULL, *defect = "none";
    const char *cprops[sizeof(cons_props) / sizeof(*cons_props)];
    rd_kafka_topic_partition_list_t *sub = NULL, *done = NULL;
    rd_kafka_resp_err_t err;
    emu_t em;
    int rc = 1, i, since = 0, once = 0, at_end = 0;
    int eof[E2E_SOURCE_PARTITIONS] = {0};
    const e2e_opt_t opts[] = {
        {"-b", &brokers, NULL, NULL},      {"-G", &group, NULL, NULL},
        {"--seed", NULL, &em.seed, NULL},  {"--count", NULL, &em.count, NULL},
        {"--defect", &defect, NULL, NULL}, {"--once", NULL, NULL, &once},
        {NULL, NULL, NULL, NULL}};
    size_t d;

    memset(&em, 0, sizeof(em));
    em.seed = 42;
    em.count = 1000000;
    em.victim = 1000;
    if (e2e_opts_parse(argc, argv, opts) || !brokers || !group)
        goto usage;
    for (d = 0; d < sizeof(defect_names) / sizeof(*defect_names); d++)
        if (!strcmp(defect, defect_names[d]))
            em.defect = (enum defect)d;
    if (strcmp(defect, defect_names[em.defect]))
        goto usage;
    memcpy(cprops, cons_props, sizeof(cprops));
    cprops[1] = group;
    em.m = malloc(sizeof(*em.m));
    em.m2 = malloc(sizeof(*em.m2));
    em.cons = e2e_client_new(RD_KAFKA_CONSUMER, brokers, cprops, NULL, NULL);
    em.prod =
        e2e_client_new(RD_KAFKA_PRODUCER, brokers, prod_props, emu_dr, &em);
    sub = rd_kafka_topic_partition_list_new(1);
    done = rd_kafka_topic_partition_list_new(E2E_SOURCE_PARTITIONS);
    if (!em.m || !em.m2 || !em.cons || !em.prod)
        goto out;
    rd_kafka_poll_set_consumer(em.cons);
    if (once) {
        /* Assigned, not subscribed: all of the source from the start,
         * once; the stored offsets are still committed (auto commit). */
        for (i = 0; i < E2E_SOURCE_PARTITIONS; i++)
            rd_kafka_topic_partition_list_add(sub, E2E_SOURCE_TOPIC, i)
                ->offset = RD_KAFKA_OFFSET_BEGINNING;
        err = rd_kafka_assign(em.cons, sub);
    } else {
        rd_kafka_topic_partition_list_add(sub, E2E_SOURCE_TOPIC,
                                          RD_KAFKA_PARTITION_UA);
        err = rd_kafka_subscribe(em.cons, sub);
    }
    if (err) {
        log_error("emulate: %s", rd_kafka_err2str(err));
        goto out;
    }
    while (!e2e_stopping() && at_end < E2E_SOURCE_PARTITIONS) {
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(em.cons, 100);
        if (once && rkm && rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF &&
            rkm->partition >= 0 && rkm->partition < E2E_SOURCE_PARTITIONS &&
            !eof[rkm->partition]) {
            eof[rkm->partition] = 1;
            at_end++;
        }
        if ((!rkm && !once) || ++since >= (once ? 100000 : 500)) {
            if (checkpoint(&em, done))
                goto out;
            rd_kafka_topic_partition_list_destroy(done);
            done = rd_kafka_topic_partition_list_new(E2E_SOURCE_PARTITIONS);
            since = 0;
        }
        if (!rkm)
            continue;
        if (!rkm->err) {
            int r = route(&em, rkm);
            if (r < 0) {
                rd_kafka_message_destroy(rkm);
                goto out;
            }
            if (r == 1)
                continue; /* held, not done (nor stored) */
            rd_kafka_topic_partition_list_add(done, E2E_SOURCE_TOPIC,
                                              rkm->partition)
                ->offset = rkm->offset + 1;
        }
        rd_kafka_poll(em.prod, 0);
        rd_kafka_message_destroy(rkm);
    }
    if (em.held) {
        rd_kafka_message_t *held = em.held;
        em.held = NULL;
        em.defect = D_NONE;
        if (route(&em, held) < 0) {
            rd_kafka_message_destroy(held);
            goto out;
        }
        rd_kafka_message_destroy(held);
    }
    if (checkpoint(&em, done))
        goto out;
    err = once ? 0 : rd_kafka_commit(em.cons, NULL, 0);
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
        log_warn("emulate: final commit: %s", rd_kafka_err2str(err));
    rc = 0;
out:
    /* Before the consumer: offsets_store() left partition references in
     * done, and rd_kafka_destroy() waits for them forever. */
    if (done)
        rd_kafka_topic_partition_list_destroy(done);
    if (em.held)
        rd_kafka_message_destroy(em.held);
    if (em.cons) {
        rd_kafka_consumer_close(em.cons);
        rd_kafka_destroy(em.cons);
    }
    if (em.prod) {
        rd_kafka_flush(em.prod, 10000);
        rd_kafka_destroy(em.prod);
    }
    if (sub)
        rd_kafka_topic_partition_list_destroy(sub);
    free(em.m);
    free(em.m2);
    return rc;
usage:
    fprintf(stderr,
            "usage: e2e_tool emulate [--once] -b BROKERS -G GROUP"
            " [--count N]"
            " [--seed S] [--defect none|drop|dup|key|value|partition|order|"
            "header|dlq_offset|extra|stray_header|dup_misplaced]\n");
    return 2;
}
