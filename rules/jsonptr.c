/* jsonptr.c - RFC 6901 JSON Pointers: compiled once, resolved against the
 * tokens of a jsonscan parse without allocating. */
#include "jsonptr.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One reference token of a compiled pointer. */
typedef struct ptr_seg {
    const char *name; /* unescaped, into jsonptr.names */
    size_t len;       /* its length */
    long index;       /* its value as an array index, or -1 */
} ptr_seg_t;

struct jsonptr {
    char *text;      /* the pointer as given */
    char *names;     /* unescaped reference tokens, back to back */
    ptr_seg_t *segs; /* the reference tokens, in order */
    size_t nsegs;    /* their number (0 = whole document) */
};

/* Set errstr, if there is room for it. */
static void set_err(char *errstr, size_t errstr_size, const char *msg)
{
    if (errstr && errstr_size)
        snprintf(errstr, errstr_size, "%s", msg);
}

/* The array index a reference token stands for, or -1: decimal digits
 * without a leading zero, small enough to be a token count. */
static long seg_index(const char *s, size_t len)
{
    unsigned long v = 0;
    size_t i;

    if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
        return -1;
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    return v <= UINT32_MAX ? (long)v : -1;
}

jsonptr_t *jsonptr_compile(const char *ptr, char *errstr, size_t errstr_size)
{
    jsonptr_t *jp = NULL;
    size_t len, i, nsegs = 0;
    char *w;

    if (!ptr) {
        set_err(errstr, errstr_size, "JSON Pointer is missing");
        goto err;
    }
    if (ptr[0] != '\0' && ptr[0] != '/') {
        set_err(errstr, errstr_size, "JSON Pointer must start with '/'");
        goto err;
    }
    len = strlen(ptr);
    for (i = 0; i < len; i++) {
        if (ptr[i] == '/')
            nsegs++;
        else if (ptr[i] == '~' && ptr[i + 1] != '0' && ptr[i + 1] != '1') {
            if (errstr && errstr_size)
                snprintf(errstr, errstr_size,
                         "JSON Pointer has an invalid escape at offset %zu "
                         "('~' must be followed by '0' or '1')",
                         i);
            goto err;
        }
    }
    jp = calloc(1, sizeof(*jp));
    if (!jp)
        goto oom;
    jp->text = strdup(ptr);
    jp->names = malloc(len + 1);
    jp->segs = calloc(nsegs ? nsegs : 1, sizeof(*jp->segs));
    if (!jp->text || !jp->names || !jp->segs)
        goto oom;
    w = jp->names;
    for (i = 0; i < len;) {
        ptr_seg_t *s = &jp->segs[jp->nsegs++];

        i++; /* the '/' */
        s->name = w;
        for (; i < len && ptr[i] != '/'; i++) {
            if (ptr[i] == '~') {
                *w++ = ptr[i + 1] == '0' ? '~' : '/';
                i++;
            } else {
                *w++ = ptr[i];
            }
        }
        s->len = (size_t)(w - s->name);
        s->index = seg_index(s->name, s->len);
    }
    return jp;
oom:
    set_err(errstr, errstr_size, "out of memory");
err:
    jsonptr_destroy(jp);
    return NULL;
}

void jsonptr_destroy(jsonptr_t *p)
{
    if (!p)
        return;
    free(p->text);
    free(p->names);
    free(p->segs);
    free(p);
}

const char *jsonptr_text(const jsonptr_t *p)
{
    return p ? p->text : NULL;
}

long jsonptr_get(const jsonscan_t *js, const jsonptr_t *p)
{
    const jsonscan_tok_t *toks = jsonscan_tokens(js, NULL);
    size_t cur = 0, s, i, m;

    if (!toks || !p)
        return -1;
    for (s = 0; s < p->nsegs; s++) {
        const ptr_seg_t *seg = &p->segs[s];
        const jsonscan_tok_t *t = &toks[cur];
        long found = -1;

        if (t->type == JSONSCAN_OBJECT) {
            /* Every member is looked at: with duplicates the last wins. */
            for (i = cur + 1, m = 0; m < t->count; m++) {
                if (jsonscan_str_eq(js, &toks[i], seg->name, seg->len))
                    found = (long)(i + 1);
                i = toks[i + 1].next;
            }
            if (found < 0)
                return -1;
            cur = (size_t)found;
        } else if (t->type == JSONSCAN_ARRAY) {
            if (seg->index < 0 || (unsigned long)seg->index >= t->count)
                return -1;
            for (i = cur + 1, m = 0; m < (size_t)seg->index; m++)
                i = toks[i].next;
            cur = i;
        } else {
            return -1;
        }
    }
    return (long)cur;
}
