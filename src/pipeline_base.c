/* pipeline_base.c - the ground floor of the pipeline's parts: the fatal
 * error that stops routing, and named counters. */
#include "pipeline_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void pl_fatal(pipeline_t *p, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(p->fatal_reason, sizeof(p->fatal_reason), fmt, ap);
    va_end(ap);
    p->fatal = 1;
}

void pl_count(pl_count_t *c, size_t *n, const char *name)
{
    size_t i;

    for (i = 0; i < *n; i++)
        if (!strcmp(c[i].name, name))
            break;
    if (i == *n) {
        if (*n == PL_MAX_REASONS)
            i = PL_MAX_REASONS - 1; /* the last slot takes the rest */
        else
            snprintf(c[(*n)++].name, sizeof(c[i].name), "%s", name);
    }
    c[i].n++;
}

void pl_count_produced(pipeline_t *p, const rd_kafka_message_t *rkm)
{
    pl_topic_t *t = rd_kafka_topic_opaque(rkm->rkt);

    if (t)
        t->produced++;
    p->produced++;
}

void pl_count_produce_error(pipeline_t *p, const char *name)
{
    p->produce_errors++;
    pl_count(p->errors, &p->nerrors, name);
}
