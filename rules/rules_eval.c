/* rules_eval.c - evaluate one message against a compiled rule set:
 * anomalies, then the routes (through the index), then "unmatched". */
#include "rules_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

/* ---- scratch ------------------------------------------------------------- */

rules_scratch_t *rules_scratch_create(void)
{
    rules_scratch_t *sc = calloc(1, sizeof(*sc));

    if (sc == NULL)
        return NULL;
    sc->js = jsonscan_create(0);
    sc->md = pcre2_match_data_create(1, NULL);
    sc->mc = pcre2_match_context_create(NULL);
    sc->cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
    sc->arena_cap = 256;
    sc->arena = malloc(sc->arena_cap);
    if (sc->js == NULL || sc->md == NULL || sc->mc == NULL ||
        sc->cloc == (locale_t)0 || sc->arena == NULL)
        goto err;
    if (pcre2_set_match_limit(sc->mc, RULES_MATCH_LIMIT) != 0 ||
        pcre2_set_depth_limit(sc->mc, RULES_DEPTH_LIMIT) != 0)
        goto err;
    /* NULL when there is no JIT: the default (unused) stack then. */
    sc->jit = pcre2_jit_stack_create(32 * 1024, RULES_JIT_STACK_MAX, NULL);
    if (sc->jit != NULL)
        pcre2_jit_stack_assign(sc->mc, NULL, sc->jit);
    return sc;
err:
    rules_scratch_destroy(sc);
    return NULL;
}

void rules_scratch_destroy(rules_scratch_t *sc)
{
    if (sc == NULL)
        return;
    jsonscan_destroy(sc->js);
    pcre2_match_data_free(sc->md);
    pcre2_match_context_free(sc->mc);
    pcre2_jit_stack_free(sc->jit);
    if (sc->cloc != (locale_t)0)
        freelocale(sc->cloc);
    free(sc->pc);
    free(sc->hc);
    free(sc->tseen);
    free(sc->dests);
    free(sc->dtmp);
    free(sc->matched);
    free(sc->cur);
    free(sc->ones);
    free(sc->arena);
    free(sc->ubuf);
    free(sc);
}

/* Make room for everything rs can need; allocates only when sc grows. */
static int scratch_fit(rules_scratch_t *sc, const rules_set_t *rs)
{
    /* dests and dtmp share dests_cap: it moves once both have grown. */
    size_t dcap = sc->dests_cap, tcap = sc->dests_cap;

    if (sc->fit_serial == rs->serial)
        goto stamp;
    if (mem_grow(&sc->pc, &sc->pc_cap, rs->nptrs, sizeof(*sc->pc)) != 0 ||
        mem_grow(&sc->hc, &sc->hc_cap, rs->nheaders, sizeof(*sc->hc)) != 0 ||
        mem_grow(&sc->tseen, &sc->tseen_cap, rs->ntopics, sizeof(*sc->tseen)) !=
            0 ||
        mem_grow(&sc->matched, &sc->matched_cap, rs->nroutes,
                 sizeof(*sc->matched)) != 0 ||
        mem_grow(&sc->cur, &sc->cur_cap, rs->nislots + 1, sizeof(*sc->cur)) !=
            0 ||
        mem_grow(&sc->ones, &sc->ones_cap, rs->nislots + 1,
                 sizeof(*sc->ones)) != 0 ||
        mem_grow(&sc->dests, &dcap, rs->max_dests, sizeof(*sc->dests)) != 0 ||
        mem_grow(&sc->dtmp, &tcap, rs->max_dests, sizeof(*sc->dtmp)) != 0)
        return -1;
    sc->dests_cap = dcap;
    sc->fit_serial = rs->serial;
stamp:
    /* A new stamp for the caches; on wrap-around forget every stamp. */
    if (++sc->gen == 0) {
        memset(sc->pc, 0, sc->pc_cap * sizeof(*sc->pc));
        memset(sc->hc, 0, sc->hc_cap * sizeof(*sc->hc));
        memset(sc->tseen, 0, sc->tseen_cap * sizeof(*sc->tseen));
        sc->gen = 1;
    }
    return 0;
}

/* ---- destinations -------------------------------------------------------- */

/* 1 when a destination for topic p[0..n) is already in the result. */
static int dest_has(const rules_scratch_t *sc, const char *p, size_t n)
{
    size_t i;

    for (i = 0; i < sc->res.ndests; i++) {
        const rules_dtmp_t *d = &sc->dtmp[i];
        const char *t = d->tarena ? sc->arena + d->toff : sc->dests[i].topic;
        if (d->tlen == n && memcmp(t, p, n) == 0)
            return 1;
    }
    return 0;
}

/* The first template failure of the message dead-letters it. */
static void bad_destination(rules_scratch_t *sc, uint32_t route)
{
    rules_result_t *res = &sc->res;

    if (res->dead_letter)
        return;
    res->dead_letter = 1;
    res->reason = "bad_destination";
    res->route = (int)route;
    memcpy(sc->detail, sc->tdetail, sizeof(sc->detail));
}

static rules_dest_t *dest_add(rules_scratch_t *sc, const rules_route_t *r,
                              int route, size_t koff, int karena)
{
    const rules_msg_t *m = sc->msg;
    rules_dest_t *d = &sc->dests[sc->res.ndests];
    rules_dtmp_t *t = &sc->dtmp[sc->res.ndests++];

    memset(t, 0, sizeof(*t));
    d->topic = NULL;
    d->route = route;
    d->partition =
        r != NULL && r->part_source ? m->partition : RULES_PARTITION_ANY;
    d->key = m->key;
    d->key_len = m->key_len;
    t->karena = (uint8_t)karena;
    t->koff = koff;
    return d;
}

/* Apply the actions of matched route r (index ri). -1: out of memory. */
static int route_apply(const rules_route_t *r, uint32_t ri, rules_scratch_t *sc)
{
    size_t koff = 0, klen = 0, off, len, i;
    int rc;

    if (r->key != NULL) {
        rc = rules_tmpl_expand(r->key, sc, &koff, &klen);
        if (rc != 0) { /* no key, none of this route's destinations */
            if (rc > 0)
                bad_destination(sc, ri);
            return rc < 0 ? -1 : 0;
        }
    }
    for (i = 0; i < r->nto; i++) {
        const rules_tmpl_t *t = &r->to[i];
        rules_dest_t *d;

        if (t->topic != UINT32_MAX) {
            const char *name = t->name;
            if (sc->tseen[t->topic] == sc->gen)
                continue;
            sc->tseen[t->topic] = sc->gen;
            if (sc->ntdests > 0 && dest_has(sc, name, t->len))
                continue;
            d = dest_add(sc, r, (int)ri, koff, r->key != NULL);
            d->topic = name;
            sc->dtmp[sc->res.ndests - 1].tlen = t->len;
        } else {
            rc = rules_tmpl_expand(t, sc, &off, &len);
            if (rc != 0) {
                if (rc > 0)
                    bad_destination(sc, ri);
                if (rc < 0)
                    return -1;
                continue;
            }
            if (dest_has(sc, sc->arena + off, len)) {
                sc->arena_len = off;
                continue;
            }
            if (rules_arena_put(sc, "", 1) != 0) /* the topic's NUL */
                return -1;
            d = dest_add(sc, r, (int)ri, koff, r->key != NULL);
            sc->dtmp[sc->res.ndests - 1].tarena = 1;
            sc->dtmp[sc->res.ndests - 1].toff = off;
            sc->dtmp[sc->res.ndests - 1].tlen = len;
            sc->ntdests++;
        }
        if (r->key != NULL)
            d->key_len = klen;
    }
    return 0;
}

/* Arena offsets become pointers once the arena stops moving. */
static void dests_finish(rules_scratch_t *sc)
{
    size_t i;

    for (i = 0; i < sc->res.ndests; i++) {
        const rules_dtmp_t *t = &sc->dtmp[i];
        if (t->tarena)
            sc->dests[i].topic = sc->arena + t->toff;
        if (t->karena)
            sc->dests[i].key = sc->arena + t->koff;
    }
}

/* ---- routes -------------------------------------------------------------- */

/* Add the routes indexed under the value at pointer slot to the cursors. */
static void index_lookup(const rules_set_t *rs, uint32_t slot,
                         rules_scratch_t *sc, size_t *ncur)
{
    const rules_map_ent_t *e;
    const jsonscan_tok_t *t;
    const void *key = "";
    const char *p;
    size_t len = 0;
    long ti = rules_field(sc, slot);
    uint32_t tag;
    double d;

    if (ti < 0)
        return;
    t = &sc->jtoks[ti];
    switch (t->type) {
    case JSONSCAN_STRING:
        if (rules_str(sc, t, &p, &len) != 0)
            return;
        key = p;
        break;
    case JSONSCAN_NUMBER:
        if (rules_field_num(sc, slot, &d) != 0)
            return;
        if (d == 0)
            d = 0; /* -0 */
        key = &d;
        len = sizeof(d);
        break;
    case JSONSCAN_OBJECT:
    case JSONSCAN_ARRAY:
        return;
    default:
        break;
    }
    tag = slot << 3 | t->type;
    e = rules_map_get(&rs->index, rules_hash(tag, key, len), tag, key, len);
    if (e == NULL)
        return;
    if (e->val & RULES_INDEX_ONE) {
        sc->ones[*ncur] = e->val & ~RULES_INDEX_ONE;
        sc->cur[*ncur].p = &sc->ones[*ncur];
        sc->cur[*ncur].end = &sc->ones[*ncur] + 1;
    } else {
        const rules_ilist_t *il = &rs->ilists[e->val];
        sc->cur[*ncur].p = il->r;
        sc->cur[*ncur].end = il->r + il->n;
    }
    (*ncur)++;
}

/* The routes: every one that holds, in order, until a "stop". Returns 0,
 * -1 when a regex hit a limit (*at: the route), -2 when out of memory. */
static int routes_run(const rules_set_t *rs, rules_scratch_t *sc, int *at)
{
    rules_result_t *res = &sc->res;
    size_t ncur = 0, i, best;
    uint32_t k;
    int r;

    if (rs->nplain > 0) {
        sc->cur[0].p = rs->plain;
        sc->cur[0].end = rs->plain + rs->nplain;
        ncur = 1;
    }
    for (i = 0; i < rs->nislots; i++)
        index_lookup(rs, rs->islots[i], sc, &ncur);
    while (ncur > 0) {
        const rules_route_t *route;
        uint32_t ri;

        /* The next candidate in route order: the smallest head; a list
         * that runs dry is replaced by the last one. */
        for (i = 1, best = 0; i < ncur; i++)
            if (*sc->cur[i].p < *sc->cur[best].p)
                best = i;
        ri = *sc->cur[best].p++;
        if (sc->cur[best].p == sc->cur[best].end)
            sc->cur[best] = sc->cur[--ncur];
        route = &rs->routes[ri];
        if (route->indexed) { /* its index condition holds */
            for (k = 0, r = 1; k < route->nrest && r == 1; k++)
                r = rules_cond_eval(&route->rest[k], sc);
        } else {
            r = rules_cond_eval(&route->cond, sc);
        }
        if (r < 0) {
            *at = (int)ri;
            return -1;
        }
        if (r == 0)
            continue;
        sc->matched[res->nmatched++] = ri;
        if (route_apply(route, ri, sc) != 0)
            return -2;
        if (route->stop)
            return 0;
    }
    return 0;
}

/* ---- results ------------------------------------------------------------- */

static void limit_result(rules_scratch_t *sc, int route)
{
    rules_result_t *res = &sc->res;
    PCRE2_UCHAR msg[160];
    const char *what;

    switch (sc->limit_rc) {
    case PCRE2_ERROR_MATCHLIMIT:
        what = "match limit hit";
        break;
    case PCRE2_ERROR_DEPTHLIMIT:
        what = "depth limit hit";
        break;
    case PCRE2_ERROR_HEAPLIMIT:
        what = "heap limit hit";
        break;
    case PCRE2_ERROR_JIT_STACKLIMIT:
        what = "JIT stack limit hit";
        break;
    default:
        if (pcre2_get_error_message(sc->limit_rc, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "error %d", sc->limit_rc);
        what = (const char *)msg;
        break;
    }
    res->ndests = 0;
    res->nmatched = 0;
    res->dead_letter = 1;
    res->reason = "regex_limit";
    res->route = route;
    res->anomaly = -1;
    res->unmatched = 0;
    snprintf(sc->detail, sizeof(sc->detail), "%s.regex: %s", sc->limit->path,
             what);
}

/* "the value is not JSON: <why> at offset N" */
static void json_why(rules_scratch_t *sc, char *out, size_t cap)
{
    const char *why;
    size_t off = 0;

    if (sc->msg->value == NULL) {
        snprintf(out, cap, "the value is null");
        return;
    }
    why = jsonscan_error(sc->js, &off);
    snprintf(out, cap, "the value is not JSON: %s at offset %zu",
             why != NULL ? why : "invalid", off);
}

static void anomaly_result(const rules_set_t *rs, rules_scratch_t *sc, size_t i)
{
    const rules_anomaly_t *a = &rs->anomalies[i];
    const rules_cond_t *c = &a->cond;
    const rules_msg_t *m = sc->msg;
    rules_result_t *res = &sc->res;
    char what[400];

    if (c->kind == COND_MISSING)
        snprintf(what, sizeof(what), "%s is missing%s",
                 jsonptr_text(rs->ptrs[c->slot]),
                 sc->json == 1 ? "" : " (the value is not JSON)");
    else if (c->kind == COND_EXISTS)
        snprintf(what, sizeof(what), "%s exists",
                 jsonptr_text(rs->ptrs[c->slot]));
    else if ((c->kind == COND_JSON && !c->want) ||
             (c->kind == COND_NOT && c->kids[0].kind == COND_JSON &&
              c->kids[0].want))
        json_why(sc, what, sizeof(what));
    else if (c->kind == COND_CMP && c->subj == SUBJ_SIZE)
        snprintf(what, sizeof(what), "the value is %zu bytes: %s",
                 m->value != NULL ? m->value_len : 0, a->desc);
    else
        snprintf(what, sizeof(what), "matched %s", a->desc);
    res->dead_letter = 1;
    res->reason = a->name;
    res->anomaly = (int)i;
    snprintf(sc->detail, sizeof(sc->detail), "anomalies[%zu] \"%s\": %s", i,
             a->name, what);
}

static void unmatched_result(const rules_set_t *rs, rules_scratch_t *sc)
{
    rules_result_t *res = &sc->res;
    rules_dest_t *d;

    res->unmatched = 1;
    switch (rs->unmatched) {
    case UNM_DEAD_LETTER:
        res->dead_letter = 1;
        res->reason = "unmatched";
        snprintf(sc->detail, sizeof(sc->detail), "no route matched");
        break;
    case UNM_TOPIC:
        d = dest_add(sc, NULL, -1, 0, 0);
        d->topic = rs->topics[rs->unmatched_topic];
        break;
    default:
        break;
    }
}

const rules_result_t *rules_eval(const rules_set_t *rs, const rules_msg_t *msg,
                                 rules_scratch_t *sc)
{
    rules_result_t *res = &sc->res;
    size_t i;
    int r, at = -1;

    if (scratch_fit(sc, rs) != 0)
        return NULL;
    sc->rs = rs;
    sc->msg = msg;
    sc->json = 0;
    sc->limit = NULL;
    sc->oom = 0;
    sc->arena_len = 0;
    sc->ntdests = 0;
    sc->detail[0] = '\0';
    memset(res, 0, sizeof(*res));
    res->dests = sc->dests;
    res->matched = sc->matched;
    res->detail = sc->detail;
    res->route = -1;
    res->anomaly = -1;
    for (i = 0; i < rs->nanomalies; i++) {
        r = rules_cond_eval(&rs->anomalies[i].cond, sc);
        if (r < 0) {
            limit_result(sc, -1);
            goto out;
        }
        if (r > 0) {
            anomaly_result(rs, sc, i);
            goto out;
        }
    }
    r = routes_run(rs, sc, &at);
    if (r == -2)
        return NULL;
    if (r == -1) {
        limit_result(sc, at);
        goto out;
    }
    if (res->nmatched == 0)
        unmatched_result(rs, sc);
    dests_finish(sc);
out:
    if (sc->oom)
        return NULL;
    return res;
}
