/* rules_expand.c - fill a compiled "to" or "key" template in for one message
 * into the scratch arena ("music.${/type}" -> "music.play"). */
#include "rules_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Append s[0..n) to the scratch arena; -1 when out of memory. */
int rules_arena_put(rules_scratch_t *sc, const void *s, size_t n)
{
    if (n > sc->arena_cap - sc->arena_len) {
        size_t cap = sc->arena_cap ? sc->arena_cap : 256;
        char *na;

        while (cap - sc->arena_len < n) {
            if (cap > SIZE_MAX / 2)
                return -1;
            cap *= 2;
        }
        na = realloc(sc->arena, cap);
        if (na == NULL)
            return -1;
        sc->arena = na;
        sc->arena_cap = cap;
    }
    if (n > 0)
        memcpy(sc->arena + sc->arena_len, s, n);
    sc->arena_len += n;
    return 0;
}

/* Fill the one variable p in; 1 with sc->tdetail set when it cannot be. */
static int expand_var(const rules_tmpl_t *t, const rules_tpart_t *p,
                      rules_scratch_t *sc)
{
    const rules_msg_t *m = sc->msg;
    const jsonscan_tok_t *tok;
    const char *s;
    const void *v;
    char num[16];
    size_t n;
    long ti;

    switch (p->kind) {
    case TV_PTR:
        ti = rules_field(sc, p->slot);
        if (ti < 0) {
            snprintf(sc->tdetail, sizeof(sc->tdetail), "%s: %s is missing%s",
                     t->path, p->text,
                     sc->json == 1 ? "" : " (the value is not JSON)");
            return 1;
        }
        tok = &jsonscan_tokens(sc->js, &n)[ti];
        if (tok->type == JSONSCAN_NUMBER)
            return rules_arena_put(sc, jsonscan_input(sc->js) + tok->start,
                                   tok->len);
        if (tok->type != JSONSCAN_STRING || rules_str(sc, tok, &s, &n) != 0) {
            snprintf(sc->tdetail, sizeof(sc->tdetail),
                     "%s: %s is not a string or number", t->path, p->text);
            return 1;
        }
        return rules_arena_put(sc, s, n);
    case TV_KEY:
        if (m->key == NULL) {
            snprintf(sc->tdetail, sizeof(sc->tdetail), "%s: ${key} is null",
                     t->path);
            return 1;
        }
        return rules_arena_put(sc, m->key, m->key_len);
    case TV_TOPIC:
        return rules_arena_put(sc, m->topic, strlen(m->topic));
    case TV_PARTITION:
        n = (size_t)snprintf(num, sizeof(num), "%d", (int)m->partition);
        return rules_arena_put(sc, num, n);
    case TV_HEADER:
        if (!rules_header(sc, p->slot, &v, &n)) {
            snprintf(sc->tdetail, sizeof(sc->tdetail), "%s: %s is missing",
                     t->path, p->text);
            return 1;
        }
        return rules_arena_put(sc, v, n);
    default:
        return rules_arena_put(sc, p->text, p->len);
    }
}

int rules_tmpl_expand(const rules_tmpl_t *t, rules_scratch_t *sc, size_t *off,
                      size_t *len)
{
    size_t start = sc->arena_len, n;
    char esc[300];
    uint32_t i;
    int rc;

    for (i = 0; i < t->nparts; i++) {
        rc = expand_var(t, &t->parts[i], sc);
        if (rc != 0)
            goto out;
        if (t->is_topic && sc->arena_len - start > RULES_TOPIC_MAX)
            break; /* already too long: stop copying */
    }
    n = sc->arena_len - start;
    if (t->is_topic && !rules_topic_valid(sc->arena + start, n)) {
        rules_escape(esc, sizeof(esc), sc->arena + start, n);
        snprintf(sc->tdetail, sizeof(sc->tdetail),
                 "%s: \"%s\" is not a valid topic name", t->path, esc);
        rc = 1;
        goto out;
    }
    *off = start;
    *len = n;
    return 0;
out:
    sc->arena_len = start;
    return rc;
}
