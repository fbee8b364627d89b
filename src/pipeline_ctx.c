/* pipeline_ctx.c - the message contexts (one per consumed message until
 * every action for it is done) and the rules versions they hold. Routing
 * thread only. */
#include "pipeline_int.h"

#include <inttypes.h>
#include <stdlib.h>

#include "log.h"

#define SLAB_CTX 1024

/* Take a context from the pool. Returns NULL when out of memory. */
pl_msgctx_t *pl_ctx_get(pipeline_t *p)
{
    pl_msgctx_t *ctx;

    if (!p->free_ctx) {
        pl_slab_t *s = calloc(1, sizeof(*s) + SLAB_CTX * sizeof(s->ctx[0]));

        if (!s)
            return NULL;
        s->n = SLAB_CTX;
        s->next = p->slabs;
        p->slabs = s;
        for (size_t i = 0; i < s->n; i++) {
            s->ctx[i].free_next = p->free_ctx;
            p->free_ctx = &s->ctx[i];
        }
    }
    ctx = p->free_ctx;
    p->free_ctx = ctx->free_next;
    ctx->free_next = NULL;
    ctx->in_use = 1;
    return ctx;
}

/* Drop one reference of ctx; on the last one the message is wholly handled:
 * tell the tracker, free the consumed message, return ctx to the pool. */
void pl_ctx_release(pipeline_t *p, pl_msgctx_t *ctx)
{
    if (--ctx->refs > 0)
        return;
    if (tracker_done(ctx->part->tr, ctx->seq) != 0)
        log_error("%s [%" PRId32 "] offset %" PRId64
                  ": tracker lost the entry (bug)",
                  ctx->part->topic, ctx->partition, ctx->offset);
    if (ctx->rkm)
        rd_kafka_message_destroy(ctx->rkm);
    ctx->rkm = NULL;
    pl_rules_unref(p, ctx->pr);
    ctx->pr = NULL;
    free(ctx->xactions);
    ctx->xactions = NULL;
    free(ctx->src_key);
    ctx->src_key = NULL;
    ctx->src_key_kept = 0;
    ctx->in_use = 0;
    ctx->free_next = p->free_ctx;
    p->free_ctx = ctx;
    p->inflight--;
}

void pl_ctx_free_all(pipeline_t *p)
{
    pl_slab_t *s;

    while ((s = p->slabs)) {
        p->slabs = s->next;
        for (size_t i = 0; i < s->n; i++) {
            if (!s->ctx[i].in_use)
                continue;
            if (s->ctx[i].rkm)
                rd_kafka_message_destroy(s->ctx[i].rkm);
            pl_rules_unref(p, s->ctx[i].pr);
            free(s->ctx[i].xactions);
            free(s->ctx[i].src_key);
        }
        free(s);
    }
    p->free_ctx = NULL;
}

void pl_rules_unref(pipeline_t *p, pl_rules_t *pr)
{
    (void)p;
    if (!pr || --pr->refs > 0)
        return;
    log_debug("rules version %" PRId64 " released", pr->version);
    rules_destroy(pr->rs);
    free(pr->hits);
    free(pr->hits_pub);
    free(pr);
}

/* A pl_rules_t for rs (taken over, also on failure) with one reference.
 * NULL when out of memory. */
pl_rules_t *pl_rules_new(rules_set_t *rs, int64_t version)
{
    pl_rules_t *pr = calloc(1, sizeof(*pr));
    size_t n = rules_route_count(rs);

    if (!pr || !(pr->hits = calloc(n + 1, sizeof(*pr->hits))) ||
        !(pr->hits_pub = calloc(n + 1, sizeof(*pr->hits_pub)))) {
        if (pr)
            free(pr->hits);
        free(pr);
        rules_destroy(rs);
        return NULL;
    }
    pr->rs = rs;
    pr->version = version;
    pr->refs = 1;
    return pr;
}
