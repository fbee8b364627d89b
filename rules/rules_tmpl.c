/* rules_tmpl.c - "to" and "key" templates: compile "music.${/type}" into
 * literal parts and variables, and fill them in for one message. */
#include "rules_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rules_escape(char *out, size_t cap, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, o = 0;

    if (cap == 0)
        return;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
        size_t need = plain ? 1 : 4;

        if (o + need + 4 > cap) { /* keep room for "..." and the NUL */
            if (o + 3 < cap)
                memcpy(out + o, "...", 3), o += 3;
            break;
        }
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}

static char *dup_bytes(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d != NULL) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

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
    return rules_fail(cx, "unknown template variable \"${%s}\" (use "
                      "${/json/pointer}, ${key}, ${topic}, ${partition} or "
                      "${header:name})", esc);
}

int rules_tmpl_compile(rules_ctx_t *cx, const char *s, size_t n,
                       int is_topic, rules_tmpl_t *t)
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
            p->text = dup_bytes(s + lit, i - lit);
            if (p->text == NULL)
                return rules_fail(cx, "out of memory");
        }
        if (i == n)
            break;
        end = memchr(s + i + 2, '}', n - i - 2);
        if (end == NULL)
            return rules_fail(cx, "\"${\" at offset %zu is not closed by "
                              "\"}\"", i);
        p = &t->parts[t->nparts++];
        p->len = (uint32_t)(end + 1 - (s + i));
        p->text = dup_bytes(s + i, p->len);
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
                return rules_fail(cx, "'%s' can never be part of a topic "
                                  "name (only [a-zA-Z0-9._-])", esc);
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
            snprintf(sc->tdetail, sizeof(sc->tdetail),
                     "%s: %s is missing", t->path, p->text);
            return 1;
        }
        return rules_arena_put(sc, v, n);
    default:
        return rules_arena_put(sc, p->text, p->len);
    }
}

int rules_tmpl_expand(const rules_tmpl_t *t, rules_scratch_t *sc,
                      size_t *off, size_t *len)
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
