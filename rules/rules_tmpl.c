/* rules_tmpl.c - "to" and "key" templates: compile "music.${/type}" into
 * literal parts and variables (filling them in: rules_expand.c). */
#include "rules_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

/* Compile the variable s[0..n) (what is between "${" and "}") into p. */
static int compile_var(rules_ctx_t *cx, const char *s, size_t n,
                       rules_tpart_t *p)
{
    char esc[120];

    if (n > 0 && s[0] == '/') {
        p->kind = TV_PTR;
        return rules_intern(cx, INTERN_PTR, s, n, &p->slot);
    }
    if (n == 3 && memcmp(s, "key", 3) == 0) {
        p->kind = TV_KEY;
        return 0;
    }
    if (n == 5 && memcmp(s, "topic", 5) == 0) {
        p->kind = TV_TOPIC;
        return 0;
    }
    if (n == 9 && memcmp(s, "partition", 9) == 0) {
        p->kind = TV_PARTITION;
        return 0;
    }
    if (n > 7 && memcmp(s, "header:", 7) == 0) {
        p->kind = TV_HEADER;
        return rules_intern(cx, INTERN_HEADER, s + 7, n - 7, &p->slot);
    }
    rules_escape(esc, sizeof(esc), s, n);
    return rules_fail(cx,
                      "unknown template variable \"${%s}\" (use "
                      "${/json/pointer}, ${key}, ${topic}, ${partition} or "
                      "${header:name})",
                      esc);
}

int rules_tmpl_compile(rules_ctx_t *cx, const char *s, size_t n, int is_topic,
                       rules_tmpl_t *t)
{
    size_t i, lit, cap = 1, nvars = 0;
    char esc[8];

    t->topic = UINT32_MAX;
    t->is_topic = (uint8_t)is_topic;
    t->path = strdup(cx->path);
    t->len = n;
    for (i = 0; i + 1 < n; i++)
        if (s[i] == '$' && s[i + 1] == '{')
            cap += 2;
    t->parts = calloc(cap, sizeof(*t->parts));
    if (t->path == NULL || t->parts == NULL)
        return rules_fail(cx, "out of memory");
    for (i = lit = 0; i <= n; i++) {
        const char *end;
        rules_tpart_t *p;

        if (i < n && !(s[i] == '$' && i + 1 < n && s[i + 1] == '{'))
            continue;
        if (i > lit) { /* the literal text before this point */
            p = &t->parts[t->nparts++];
            p->kind = TV_LIT;
            p->len = (uint32_t)(i - lit);
            p->text = mem_dup(s + lit, i - lit);
            if (p->text == NULL)
                return rules_fail(cx, "out of memory");
        }
        if (i == n)
            break;
        end = memchr(s + i + 2, '}', n - i - 2);
        if (end == NULL)
            return rules_fail(cx,
                              "\"${\" at offset %zu is not closed by "
                              "\"}\"",
                              i);
        p = &t->parts[t->nparts++];
        p->len = (uint32_t)(end + 1 - (s + i));
        p->text = mem_dup(s + i, p->len);
        if (p->text == NULL)
            return rules_fail(cx, "out of memory");
        if (compile_var(cx, s + i + 2, (size_t)(end - s - i - 2), p) != 0)
            return -1;
        nvars++;
        i = (size_t)(end - s);
        lit = i + 1;
    }
    if (nvars == 0) {
        if (!is_topic)
            return 0;
        if (rules_topic_check(cx, s, n) != 0)
            return -1;
        if (rules_intern(cx, INTERN_TOPIC, s, n, &t->topic) != 0)
            return -1;
        t->name = cx->rs->topics[t->topic]; /* the string does not move */
        return 0;
    }
    for (i = 0; is_topic && i < t->nparts; i++) {
        const rules_tpart_t *p = &t->parts[i];
        size_t k;

        for (k = 0; p->kind == TV_LIT && k < p->len; k++)
            if (!rules_topic_char((unsigned char)p->text[k])) {
                rules_escape(esc, sizeof(esc), p->text + k, 1);
                return rules_fail(cx,
                                  "'%s' can never be part of a topic "
                                  "name (only [a-zA-Z0-9._-])",
                                  esc);
            }
    }
    rules_need_dl(cx, "is a template that may not resolve");
    return 0;
}

void rules_tmpl_free(rules_tmpl_t *t)
{
    uint32_t i;

    if (t == NULL)
        return;
    for (i = 0; i < t->nparts; i++)
        free(t->parts[i].text);
    free(t->parts);
    free(t->path);
    memset(t, 0, sizeof(*t));
}
