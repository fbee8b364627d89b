/* rules_set.c - the compiled rule set: the route index, the one-segment
 * pointer table, destruction and accessors. */
#include "rules_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- the index ----------------------------------------------------------- */

/* The condition through which route r can be indexed, or NULL: the whole
 * "if" when it is a field eq/in, or the first member of an "all". */
static const rules_cond_t *index_cond(const rules_route_t *r)
{
    const rules_cond_t *c = &r->cond;

    if (c->kind == COND_ALL && c->nkids > 0)
        c = &c->kids[0];
    if (c->kind == COND_CMP && c->subj == SUBJ_FIELD &&
        (c->op == OP_EQ || c->op == OP_IN))
        return c;
    return NULL;
}

static int index_add(rules_set_t *rs, const rules_cond_t *c, uint32_t route)
{
    size_t i;

    for (i = 0; i < c->nlits; i++) {
        const rules_lit_t *l = &c->lits[i];
        uint32_t tag = c->slot << 3 | l->type, id;
        const void *key = l->type == JSONSCAN_STRING   ? (const void *)l->str
                          : l->type == JSONSCAN_NUMBER ? (const void *)&l->num
                                                       : "";
        size_t len = l->type == JSONSCAN_STRING   ? l->len
                     : l->type == JSONSCAN_NUMBER ? sizeof(double)
                                                  : 0;
        rules_ilist_t *il;
        int rc;

        rc = rules_map_put(&rs->index, tag, key, len, (uint32_t)rs->nilists,
                           &id);
        if (rc < 0)
            return -1;
        if (rc == 1) {
            id = (uint32_t)rs->nilists++;
            memset(&rs->ilists[id], 0, sizeof(rs->ilists[id]));
        }
        il = &rs->ilists[id];
        if (il->n > 0 && il->r[il->n - 1] == route)
            continue; /* the same literal twice in one "in" */
        if (il->n == il->cap) {
            uint32_t ncap = il->cap ? il->cap * 2 : 2;
            uint32_t *nr = realloc(il->r, ncap * sizeof(*nr));
            if (nr == NULL)
                return -1;
            il->r = nr;
            il->cap = ncap;
        }
        il->r[il->n++] = route;
    }
    return 0;
}

int rules_index_build(rules_set_t *rs, unsigned flags)
{
    size_t i, nlits = 0;
    uint8_t *slot_seen = NULL;
    int rc = -1;

    for (i = 0; i < rs->nroutes; i++) {
        const rules_cond_t *c = index_cond(&rs->routes[i]);
        if (c != NULL)
            nlits += c->nlits;
    }
    rs->ilists = calloc(nlits ? nlits : 1, sizeof(*rs->ilists));
    rs->plain = calloc(rs->nroutes ? rs->nroutes : 1, sizeof(*rs->plain));
    rs->islots = calloc(rs->nptrs ? rs->nptrs : 1, sizeof(*rs->islots));
    slot_seen = calloc(rs->nptrs ? rs->nptrs : 1, 1);
    if (!rs->ilists || !rs->plain || !rs->islots || !slot_seen)
        goto out;
    for (i = 0; i < rs->nroutes; i++) {
        rules_route_t *r = &rs->routes[i];
        const rules_cond_t *c = index_cond(r);

        if (c == NULL || (flags & RULES_LOAD_NO_INDEX)) {
            rs->plain[rs->nplain++] = (uint32_t)i;
            continue;
        }
        r->indexed = 1;
        if (c != &r->cond) { /* the first of an "all": check the others */
            r->rest = r->cond.kids + 1;
            r->nrest = r->cond.nkids - 1;
        }
        if (index_add(rs, c, (uint32_t)i) != 0)
            goto out;
        if (!slot_seen[c->slot]) {
            slot_seen[c->slot] = 1;
            rs->islots[rs->nislots++] = c->slot;
        }
    }
    for (i = 0; i < rs->index.cap; i++) { /* one route: in the map */
        rules_map_ent_t *e = &rs->index.ents[i];
        if (e->used && rs->ilists[e->val].n == 1 &&
            rs->ilists[e->val].r[0] < RULES_INDEX_ONE)
            e->val = RULES_INDEX_ONE | rs->ilists[e->val].r[0];
    }
    rc = 0;
out:
    free(slot_seen);
    return rc;
}

void rules_destroy(rules_set_t *rs)
{
    size_t i, k;

    if (rs == NULL)
        return;
    for (i = 0; i < rs->nsources; i++)
        free(rs->sources[i]);
    free(rs->sources);
    free(rs->dead_letter);
    for (i = 0; i < rs->nanomalies; i++) {
        free(rs->anomalies[i].name);
        rules_cond_free(&rs->anomalies[i].cond);
        free(rs->anomalies[i].desc);
    }
    free(rs->anomalies);
    for (i = 0; i < rs->nroutes; i++) {
        rules_route_t *r = &rs->routes[i];
        free(r->name);
        rules_cond_free(&r->cond);
        for (k = 0; k < r->nto; k++)
            rules_tmpl_free(&r->to[k]);
        if (r->to != &r->to1)
            free(r->to);
        rules_tmpl_free(r->key);
        free(r->key);
    }
    free(rs->routes);
    for (i = 0; i < rs->nptrs; i++)
        jsonptr_destroy(rs->ptrs[i]);
    free(rs->ptrs);
    free(rs->ptr_top);
    for (i = 0; i < rs->ntops; i++)
        free(rs->tops[i].name);
    free(rs->tops);
    rules_map_free(&rs->top_map);
    for (i = 0; i < rs->nheaders; i++)
        free(rs->headers[i]);
    free(rs->headers);
    for (i = 0; i < rs->ntopics; i++)
        free(rs->topics[i]);
    free(rs->topics);
    rules_map_free(&rs->index);
    for (i = 0; i < rs->nilists; i++)
        free(rs->ilists[i].r);
    free(rs->ilists);
    free(rs->islots);
    free(rs->plain);
    free(rs);
}

/* ---- one-segment pointers ------------------------------------------------ */

/* The member name of pointer text t when it has exactly one segment. */
static char *top_name(const char *t, uint32_t *len)
{
    size_t i, n = 0;
    char *name;

    if (t[0] != '/' || strchr(t + 1, '/') != NULL)
        return NULL;
    name = malloc(strlen(t));
    if (name == NULL)
        return NULL;
    for (i = 1; t[i] != '\0'; i++) {
        if (t[i] == '~') { /* validated: "~0" or "~1" */
            name[n++] = t[i + 1] == '0' ? '~' : '/';
            i++;
        } else {
            name[n++] = t[i];
        }
    }
    name[n] = '\0';
    *len = (uint32_t)n;
    return name;
}

int rules_tops_build(rules_set_t *rs)
{
    uint8_t *h;
    size_t i;

    rs->ptr_top = calloc(rs->nptrs ? rs->nptrs : 1, 1);
    rs->tops = calloc(rs->nptrs ? rs->nptrs : 1, sizeof(*rs->tops));
    if (rs->ptr_top == NULL || rs->tops == NULL)
        return -1;
    for (i = 0; i < rs->nptrs; i++) {
        const char *t = jsonptr_text(rs->ptrs[i]);
        rules_top_t *top = &rs->tops[rs->ntops];

        if (t[0] != '/' || strchr(t + 1, '/') != NULL)
            continue;
        top->name = top_name(t, &top->len);
        if (top->name == NULL)
            return -1;
        top->slot = (uint32_t)i;
        rs->ptr_top[i] = 1;
        h = &rs->top_hint[rules_top_hint(top->name, top->len)];
        *h = *h == 0 && rs->ntops + 1 < RULES_TOP_SEVERAL
                 ? (uint8_t)(rs->ntops + 1)
                 : RULES_TOP_SEVERAL;
        rs->ntops++;
        if (rs->ntops > RULES_TOP_LINEAR) {
            size_t k;
            for (k = rs->top_map.n; k < rs->ntops; k++)
                if (rules_map_put(&rs->top_map, 0, rs->tops[k].name,
                                  rs->tops[k].len, (uint32_t)k, NULL) < 0)
                    return -1;
        }
    }
    return 0;
}

/* ---- accessors ----------------------------------------------------------- */

size_t rules_source_count(const rules_set_t *rs)
{
    return rs->nsources;
}

const char *rules_source(const rules_set_t *rs, size_t i)
{
    return i < rs->nsources ? rs->sources[i] : NULL;
}

const char *rules_dead_letter_topic(const rules_set_t *rs)
{
    return rs->dead_letter;
}

size_t rules_route_count(const rules_set_t *rs)
{
    return rs->nroutes;
}

const char *rules_route_name(const rules_set_t *rs, size_t i)
{
    return i < rs->nroutes ? rs->routes[i].name : NULL;
}

size_t rules_anomaly_count(const rules_set_t *rs)
{
    return rs->nanomalies;
}

const char *rules_anomaly_name(const rules_set_t *rs, size_t i)
{
    return i < rs->nanomalies ? rs->anomalies[i].name : NULL;
}

size_t rules_topic_count(const rules_set_t *rs)
{
    return rs->ntopics;
}

const char *rules_topic(const rules_set_t *rs, size_t i)
{
    return i < rs->ntopics ? rs->topics[i] : NULL;
}
