/* rules_ctx.c - the loader's context: the error and the path it names
 * ("routes[2].to: ..."), and interning of pointers, header names and
 * literal topics into the rule set. */
#include "rules_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

int rules_fail(rules_ctx_t *cx, const char *fmt, ...)
{
    char text[240];
    va_list ap;

    if (cx->err->msg[0] != '\0')
        return -1; /* the first error is the one reported */
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (cx->path[0] != '\0')
        snprintf(cx->err->msg, sizeof(cx->err->msg), "%s: %s", cx->path, text);
    else
        snprintf(cx->err->msg, sizeof(cx->err->msg), "%s", text);
    if (cx->err->msg[0] == '\0') /* never report an empty message */
        snprintf(cx->err->msg, sizeof(cx->err->msg), "invalid rules");
    return -1;
}

size_t rules_path_push(rules_ctx_t *cx, const char *fmt, ...)
{
    size_t old = strlen(cx->path);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cx->path + old, sizeof(cx->path) - old, fmt, ap);
    va_end(ap);
    return old;
}

void rules_path_pop(rules_ctx_t *cx, size_t old)
{
    cx->path[old] = '\0';
}

void rules_need_dl(rules_ctx_t *cx, const char *why)
{
    if (cx->needs_dl)
        return;
    cx->needs_dl = 1;
    snprintf(cx->needs_dl_why, sizeof(cx->needs_dl_why), "%s %s", cx->path,
             why);
}

int rules_intern(rules_ctx_t *cx, int kind, const char *s, size_t n,
                 uint32_t *slot)
{
    rules_set_t *rs = cx->rs;
    rules_map_t *m;
    size_t *count, *cap;
    void **arr;
    char *copy = NULL, errstr[200];
    jsonptr_t *p = NULL;
    int rc;

    switch (kind) {
    case INTERN_PTR:
        m = &cx->ptr_map, count = &rs->nptrs, cap = &cx->ptr_cap;
        arr = (void **)&rs->ptrs;
        break;
    case INTERN_HEADER:
        m = &cx->hdr_map, count = &rs->nheaders, cap = &cx->hdr_cap;
        arr = (void **)&rs->headers;
        break;
    default:
        m = &cx->top_map, count = &rs->ntopics, cap = &cx->top_cap;
        arr = (void **)&rs->topics;
        break;
    }
    rc = rules_map_put(m, 0, s, n, (uint32_t)*count, slot);
    if (rc == 0)
        return 0;
    if (rc < 0)
        return rules_fail(cx, "out of memory");
    /* New: compile or copy it, then keep it at index *count. */
    *slot = (uint32_t)*count;
    copy = mem_dup(s, n);
    if (copy == NULL)
        goto oom;
    if (kind == INTERN_PTR) {
        p = jsonptr_compile(copy, errstr, sizeof(errstr));
        free(copy);
        copy = NULL;
        if (p == NULL)
            return rules_fail(cx, "%s", errstr);
    }
    if (mem_grow(arr, cap, *count + 1, sizeof(void *)) != 0)
        goto oom;
    if (kind == INTERN_PTR)
        rs->ptrs[*count] = p;
    else if (kind == INTERN_HEADER)
        rs->headers[*count] = copy;
    else
        rs->topics[*count] = copy;
    (*count)++;
    return 0;
oom:
    free(copy);
    jsonptr_destroy(p);
    return rules_fail(cx, "out of memory");
}
