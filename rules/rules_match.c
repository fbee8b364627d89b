/* rules_match.c - conditions on one message: the per-message accessors
 * (parse once, each pointer and header resolved once) and evaluation. */
#include "rules_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- per-message accessors, cached in the scratch ------------------------ */

int rules_json(rules_scratch_t *sc)
{
    const rules_msg_t *m = sc->msg;

    if (sc->json == 0) {
        sc->json = m->value != NULL &&
                           jsonscan_parse(sc->js, m->value, m->value_len) == 0
                       ? 1
                       : -1;
        if (sc->json == 1) {
            sc->jin = jsonscan_input(sc->js);
            sc->jtoks = jsonscan_tokens(sc->js, NULL);
        }
    }
    return sc->json;
}

/* Index in rs->tops of member name k, or -1. */
static long top_find(rules_scratch_t *sc, const jsonscan_tok_t *k)
{
    const rules_set_t *rs = sc->rs;
    const char *in = sc->jin + k->start, *p;
    const rules_map_ent_t *e;
    const rules_top_t *t;
    size_t i, n;
    unsigned h;

    if (!k->escaped) { /* most names: one bucket, one candidate */
        h = rs->top_hint[rules_top_hint(in, k->len)];
        if (h == 0)
            return -1;
        if (h != RULES_TOP_SEVERAL) {
            t = &rs->tops[h - 1];
            return k->len == t->len && memcmp(in, t->name, t->len) == 0
                       ? (long)h - 1
                       : -1;
        }
    }
    if (rs->ntops <= RULES_TOP_LINEAR) {
        for (i = 0; i < rs->ntops; i++) {
            t = &rs->tops[i];
            if (k->escaped
                    ? jsonscan_str_eq(sc->js, k, t->name, t->len)
                    : k->len == t->len && memcmp(in, t->name, t->len) == 0)
                return (long)i;
        }
        return -1;
    }
    if (rules_str(sc, k, &p, &n) != 0)
        return -1;
    e = rules_map_get(&rs->top_map, rules_hash(0, p, n), 0, p, n);
    return e != NULL ? (long)e->val : -1;
}

/* Resolve every one-segment pointer in one pass over the root object's
 * members (the last of a duplicated name wins, as in jsonptr_get()). */
static void top_pass(rules_scratch_t *sc)
{
    const rules_set_t *rs = sc->rs;
    const jsonscan_tok_t *toks;
    size_t i, m, n;
    long t;

    for (i = 0; i < rs->ntops; i++) {
        rules_pcache_t *pc = &sc->pc[rs->tops[i].slot];
        pc->gen = sc->gen;
        pc->tok = -1;
    }
    if (rules_json(sc) != 1)
        return;
    toks = jsonscan_tokens(sc->js, &n);
    if (toks[0].type == JSONSCAN_ARRAY) { /* "/0": an index */
        for (i = 0; i < rs->ntops; i++)
            sc->pc[rs->tops[i].slot].tok =
                jsonptr_get(sc->js, rs->ptrs[rs->tops[i].slot]);
        return;
    }
    if (toks[0].type != JSONSCAN_OBJECT)
        return;
    for (i = 1, m = 0; m < toks[0].count; m++) {
        t = top_find(sc, &toks[i]);
        if (t >= 0)
            sc->pc[rs->tops[t].slot].tok = (long)i + 1;
        i = toks[i + 1].next;
    }
}

long rules_field_resolve(rules_scratch_t *sc, uint32_t slot)
{
    rules_pcache_t *pc = &sc->pc[slot];

    if (sc->rs->ptr_top[slot]) {
        top_pass(sc);
    } else {
        pc->gen = sc->gen;
        pc->tok =
            rules_json(sc) == 1 ? jsonptr_get(sc->js, sc->rs->ptrs[slot]) : -1;
    }
    return pc->tok;
}

int rules_field_num(rules_scratch_t *sc, uint32_t slot, double *out)
{
    rules_pcache_t *pc = &sc->pc[slot];
    const jsonscan_tok_t *t;
    long ti = rules_field(sc, slot);

    if (ti < 0)
        return -1;
    if (pc->numgen != sc->gen) {
        t = &sc->jtoks[ti];
        if (t->type != JSONSCAN_NUMBER ||
            jsonscan_number(sc->js, t, &pc->num) != 0)
            return -1;
        pc->numgen = sc->gen;
    }
    *out = pc->num;
    return 0;
}

int rules_str(rules_scratch_t *sc, const jsonscan_tok_t *t, const char **p,
              size_t *n)
{
    ssize_t r;

    if (!t->escaped) {
        *p = sc->jin + t->start;
        *n = t->len;
        return 0;
    }
    if (sc->ubuf_cap < t->len) { /* unescaping never lengthens */
        char *nb = realloc(sc->ubuf, t->len);
        if (nb == NULL) {
            sc->oom = 1;
            return -1;
        }
        sc->ubuf = nb;
        sc->ubuf_cap = t->len;
    }
    r = jsonscan_str_copy(sc->js, t, sc->ubuf, sc->ubuf_cap);
    if (r < 0)
        return -1;
    *p = sc->ubuf;
    *n = (size_t)r;
    return 0;
}

int rules_header(rules_scratch_t *sc, uint32_t slot, const void **val,
                 size_t *len)
{
    rules_hcache_t *hc = &sc->hc[slot];
    const rules_msg_t *m = sc->msg;

    if (hc->gen != sc->gen) {
        hc->gen = sc->gen;
        hc->val = NULL;
        hc->len = 0;
        hc->found = m->header != NULL &&
                    m->header(m->header_opaque, sc->rs->headers[slot], &hc->val,
                              &hc->len) == 0 &&
                    hc->val != NULL;
    }
    *val = hc->val;
    *len = hc->len;
    return hc->found;
}

/* ---- evaluate ------------------------------------------------------------ */

static int num_op(const rules_cond_t *c, double x)
{
    uint32_t i;

    switch (c->op) {
    case OP_EQ:
        return x == c->lits[0].num;
    case OP_NE:
        return x != c->lits[0].num;
    case OP_IN:
        for (i = 0; i < c->nlits; i++)
            if (x == c->lits[i].num)
                return 1;
        return 0;
    case OP_LT:
        return x < c->lits[0].num;
    case OP_LE:
        return x <= c->lits[0].num;
    case OP_GT:
        return x > c->lits[0].num;
    case OP_GE:
        return x >= c->lits[0].num;
    default:
        return 0;
    }
}

static int re_match(const rules_cond_t *c, rules_scratch_t *sc, const char *p,
                    size_t n)
{
    int rc = pcre2_match(c->re, (PCRE2_SPTR)(n > 0 ? p : ""), n, 0, 0, sc->md,
                         sc->mc);

    if (rc >= 0)
        return 1;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    /* Match, depth, heap or JIT stack limit (or no memory): never a
     * silent "no match". */
    sc->limit = c;
    sc->limit_rc = rc;
    return -1;
}

/* The whole of p[0..n) as a decimal number: -?d+(.d+)?([eE][+-]?d+)? */
static int parse_dec(rules_scratch_t *sc, const char *p, size_t n, double *d)
{
    char buf[72], *end;
    size_t i = 0, digits;

    if (n == 0 || n >= sizeof(buf))
        return -1;
    if (p[i] == '-')
        i++;
    for (digits = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++)
        digits++;
    if (digits == 0)
        return -1;
    if (i < n && p[i] == '.') {
        for (i++, digits = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++)
            digits++;
        if (digits == 0)
            return -1;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        for (digits = 0; i < n && p[i] >= '0' && p[i] <= '9'; i++)
            digits++;
        if (digits == 0)
            return -1;
    }
    if (i != n)
        return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    *d = strtod_l(buf, &end, sc->cloc);
    return end == buf + n ? 0 : -1;
}

static int bytes_eq(const rules_lit_t *l, const char *p, size_t n)
{
    return l->len == n && memcmp(l->str, p, n) == 0;
}

/* key, header, topic, value: raw bytes. */
static int bytes_op(const rules_cond_t *c, rules_scratch_t *sc, const char *p,
                    size_t n)
{
    uint32_t i;
    double d;

    switch (c->op) {
    case OP_EQ:
        return bytes_eq(&c->lits[0], p, n);
    case OP_NE:
        return !bytes_eq(&c->lits[0], p, n);
    case OP_IN:
        for (i = 0; i < c->nlits; i++)
            if (bytes_eq(&c->lits[i], p, n))
                return 1;
        return 0;
    case OP_PREFIX:
        return n >= c->lits[0].len &&
               memcmp(p, c->lits[0].str, c->lits[0].len) == 0;
    case OP_REGEX:
        return re_match(c, sc, p, n);
    default:
        return parse_dec(sc, p, n, &d) == 0 && num_op(c, d);
    }
}

/* Does token ti (at pointer slot) equal literal l, by JSON type? */
static int lit_eq(rules_scratch_t *sc, uint32_t slot, const jsonscan_tok_t *t,
                  const rules_lit_t *l)
{
    double d;

    if (t->type != l->type)
        return 0;
    switch (l->type) {
    case JSONSCAN_STRING: /* a plain memcmp when t has no escapes */
        return jsonscan_str_eq(sc->js, t, l->str, l->len);
    case JSONSCAN_NUMBER:
        return rules_field_num(sc, slot, &d) == 0 && d == l->num;
    default:
        return 1; /* true, false, null */
    }
}

static int field_op(const rules_cond_t *c, rules_scratch_t *sc)
{
    const jsonscan_tok_t *t;
    const char *p;
    long ti = rules_field(sc, c->slot);
    uint32_t i;
    size_t n;
    double d;

    if (ti < 0)
        return 0;
    t = &sc->jtoks[ti];
    switch (c->op) {
    case OP_EQ:
        return lit_eq(sc, c->slot, t, &c->lits[0]);
    case OP_NE:
        return !lit_eq(sc, c->slot, t, &c->lits[0]);
    case OP_IN:
        for (i = 0; i < c->nlits; i++)
            if (lit_eq(sc, c->slot, t, &c->lits[i]))
                return 1;
        return 0;
    case OP_PREFIX:
    case OP_REGEX:
        if (t->type != JSONSCAN_STRING || rules_str(sc, t, &p, &n) != 0)
            return 0;
        if (c->op == OP_REGEX)
            return re_match(c, sc, p, n);
        return n >= c->lits[0].len &&
               memcmp(p, c->lits[0].str, c->lits[0].len) == 0;
    default:
        return rules_field_num(sc, c->slot, &d) == 0 && num_op(c, d);
    }
}

static int cmp_eval(const rules_cond_t *c, rules_scratch_t *sc)
{
    const rules_msg_t *m = sc->msg;
    const void *v;
    size_t n;

    switch (c->subj) {
    case SUBJ_FIELD:
        return field_op(c, sc);
    case SUBJ_PARTITION:
        return num_op(c, (double)m->partition);
    case SUBJ_SIZE:
        return num_op(c, m->value != NULL ? (double)m->value_len : 0.0);
    case SUBJ_KEY: /* a missing subject: every operator is false */
        return m->key != NULL ? bytes_op(c, sc, m->key, m->key_len) : 0;
    case SUBJ_HEADER:
        return rules_header(sc, c->slot, &v, &n) ? bytes_op(c, sc, v, n) : 0;
    case SUBJ_TOPIC:
        return bytes_op(c, sc, m->topic, strlen(m->topic));
    default: /* SUBJ_VALUE */
        return m->value != NULL ? bytes_op(c, sc, m->value, m->value_len) : 0;
    }
}

int rules_cond_eval(const rules_cond_t *c, rules_scratch_t *sc)
{
    uint32_t i;
    int r;

    switch (c->kind) {
    case COND_ALL:
        for (i = 0; i < c->nkids; i++)
            if ((r = rules_cond_eval(&c->kids[i], sc)) != 1)
                return r;
        return 1;
    case COND_ANY:
        for (i = 0; i < c->nkids; i++)
            if ((r = rules_cond_eval(&c->kids[i], sc)) != 0)
                return r;
        return 0;
    case COND_NOT:
        r = rules_cond_eval(&c->kids[0], sc);
        return r < 0 ? r : !r;
    case COND_EXISTS:
        return rules_field(sc, c->slot) >= 0;
    case COND_MISSING:
        return rules_field(sc, c->slot) < 0;
    case COND_JSON:
        return (rules_json(sc) == 1) == c->want;
    default:
        return cmp_eval(c, sc);
    }
}
