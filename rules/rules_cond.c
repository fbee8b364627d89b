/* rules_cond.c - conditions: validate and compile the JSON form
 * ({"field": "/type", "eq": "play"}, {"all": [...]}, ...). Evaluation is in
 * rules_match.c. */
#include "rules_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- compile ------------------------------------------------------------- */

static const char *const subj_names[] = {
    NULL, "field", "key", "header", "topic", "partition", "value", "size"};
static const char *const op_names[] = {NULL,    "eq", "ne", "in", "prefix",
                                       "regex", "lt", "le", "gt", "ge"};
static const char *const alone_names[] = {NULL,     "all",     "any", "not",
                                          "exists", "missing", "json"};

static int lookup(const char *const *names, size_t n, const char *k)
{
    size_t i;

    for (i = 1; i < n; i++)
        if (strcmp(names[i], k) == 0)
            return (int)i;
    return 0;
}

#define NAMES(a) (sizeof(a) / sizeof((a)[0]))

/* One literal operand of operator op (by name) into l. */
static int compile_lit(rules_ctx_t *cx, const rules_cond_t *c, const char *op,
                       const json_t *j, rules_lit_t *l)
{
    switch (c->subj) {
    case SUBJ_FIELD:
        if (json_is_object(j) || json_is_array(j))
            return rules_fail(cx,
                              "%s takes a string, number, boolean or "
                              "null",
                              op);
        break;
    case SUBJ_PARTITION:
    case SUBJ_SIZE:
        if (!json_is_number(j))
            return rules_fail(cx, "%s takes a number here (%s is a number)", op,
                              subj_names[c->subj]);
        break;
    default:
        if (!json_is_string(j))
            return rules_fail(cx,
                              "%s takes a string here (%s is compared "
                              "as bytes)",
                              op, subj_names[c->subj]);
        break;
    }
    if (json_is_string(j)) {
        l->type = JSONSCAN_STRING;
        l->len = (uint32_t)json_string_length(j);
        l->str = malloc(l->len + 1);
        if (l->str == NULL)
            return rules_fail(cx, "out of memory");
        memcpy(l->str, json_string_value(j), l->len + 1);
    } else if (json_is_number(j)) {
        l->type = JSONSCAN_NUMBER;
        l->num = json_number_value(j);
        if (l->num == 0)
            l->num = 0; /* -0 == 0: one index key for both */
    } else if (json_is_true(j)) {
        l->type = JSONSCAN_TRUE;
    } else if (json_is_false(j)) {
        l->type = JSONSCAN_FALSE;
    } else {
        l->type = JSONSCAN_NULL;
    }
    return 0;
}

static int compile_regex(rules_ctx_t *cx, rules_cond_t *c, const json_t *j)
{
    PCRE2_UCHAR msg[200];
    PCRE2_SIZE off;
    int code;

    if (c->subj == SUBJ_PARTITION || c->subj == SUBJ_SIZE)
        return rules_fail(cx, "regex does not apply to %s (a number)",
                          subj_names[c->subj]);
    if (!json_is_string(j))
        return rules_fail(cx, "regex takes a string (a PCRE2 pattern)");
    /* UTF mode, but subjects that are not valid UTF-8 are matched too
     * (invalid sequences match nothing) instead of failing. */
    c->re = pcre2_compile(
        (PCRE2_SPTR)json_string_value(j), json_string_length(j),
        PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C, &code,
        &off, NULL);
    if (c->re == NULL) {
        if (pcre2_get_error_message(code, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "error %d", code);
        return rules_fail(cx, "%s at offset %zu", (char *)msg, (size_t)off);
    }
    /* No JIT (unsupported platform, no memory): the interpreter runs it. */
    (void)pcre2_jit_compile(c->re, PCRE2_JIT_COMPLETE);
    rules_need_dl(cx, "is a regex (hitting a match limit dead-letters)");
    return 0;
}

static int compile_op(rules_ctx_t *cx, rules_cond_t *c, const char *op,
                      const json_t *j)
{
    size_t i, old;

    c->op = (uint8_t)lookup(op_names, NAMES(op_names), op);
    switch (c->op) {
    case OP_IN:
        if (!json_is_array(j) || json_array_size(j) == 0)
            return rules_fail(cx, "in takes a non-empty array");
        c->lits = calloc(json_array_size(j), sizeof(*c->lits));
        if (c->lits == NULL)
            return rules_fail(cx, "out of memory");
        for (i = 0; i < json_array_size(j); i++) {
            old = rules_path_push(cx, "[%zu]", i);
            c->nlits++;
            if (compile_lit(cx, c, "in", json_array_get(j, i), &c->lits[i]) !=
                0)
                return -1;
            rules_path_pop(cx, old);
        }
        return 0;
    case OP_REGEX:
        return compile_regex(cx, c, j);
    case OP_PREFIX:
        if (c->subj == SUBJ_PARTITION || c->subj == SUBJ_SIZE)
            return rules_fail(cx, "prefix does not apply to %s (a number)",
                              subj_names[c->subj]);
        if (!json_is_string(j))
            return rules_fail(cx, "prefix takes a string");
        break;
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE:
        if (!json_is_number(j))
            return rules_fail(cx, "%s takes a number", op);
        break;
    default:
        break;
    }
    c->lits = calloc(1, sizeof(*c->lits));
    if (c->lits == NULL)
        return rules_fail(cx, "out of memory");
    c->nlits = 1;
    if (json_is_number(j) && c->op >= OP_LT) { /* any subject: a number */
        c->lits[0].type = JSONSCAN_NUMBER;
        c->lits[0].num = json_number_value(j);
        return 0;
    }
    return compile_lit(cx, c, op, j, &c->lits[0]);
}

/* {"size": {"gt": 65536}}: the operator is inside. */
static int compile_size(rules_ctx_t *cx, rules_cond_t *c, const json_t *j)
{
    const char *k;
    json_t *v;
    size_t old;
    int op;

    if (!json_is_object(j) || json_object_size(j) != 1)
        return rules_fail(cx, "size takes one operator: {\"size\": "
                              "{\"gt\": 65536}}");
    json_object_foreach((json_t *)j, k, v)
    {
        op = lookup(op_names, NAMES(op_names), k);
        if (op == 0) {
            char esc[80];
            rules_escape(esc, sizeof(esc), k, strlen(k));
            return rules_fail(cx, "unknown operator \"%s\"", esc);
        }
        old = rules_path_push(cx, ".%s", k);
        if (compile_op(cx, c, k, v) != 0)
            return -1;
        rules_path_pop(cx, old);
    }
    return 0;
}

static int compile_subject(rules_ctx_t *cx, rules_cond_t *c, const json_t *j)
{
    switch (c->subj) {
    case SUBJ_FIELD:
        if (!json_is_string(j))
            return rules_fail(cx, "must be a JSON Pointer (a string)");
        return rules_intern(cx, INTERN_PTR, json_string_value(j),
                            json_string_length(j), &c->slot);
    case SUBJ_HEADER:
        if (!json_is_string(j) || json_string_length(j) == 0)
            return rules_fail(cx, "must be a header name (a non-empty "
                                  "string)");
        return rules_intern(cx, INTERN_HEADER, json_string_value(j),
                            json_string_length(j), &c->slot);
    case SUBJ_SIZE:
        return compile_size(cx, c, j);
    default:
        if (!json_is_true(j))
            return rules_fail(cx,
                              "must be true, as in {\"%s\": true, "
                              "\"eq\": ...}",
                              subj_names[c->subj]);
        return 0;
    }
}

static int compile_alone(rules_ctx_t *cx, rules_cond_t *c, int which,
                         const json_t *j)
{
    size_t i, n, old;

    switch (which) {
    case 1: /* all */
    case 2: /* any */
        c->kind = which == 1 ? COND_ALL : COND_ANY;
        if (!json_is_array(j))
            return rules_fail(cx, "must be an array of conditions");
        n = json_array_size(j);
        c->kids = calloc(n ? n : 1, sizeof(*c->kids));
        if (c->kids == NULL)
            return rules_fail(cx, "out of memory");
        for (i = 0; i < n; i++) {
            old = rules_path_push(cx, "[%zu]", i);
            c->nkids++;
            if (rules_cond_compile(cx, json_array_get(j, i), &c->kids[i]))
                return -1;
            rules_path_pop(cx, old);
        }
        return 0;
    case 3: /* not */
        c->kind = COND_NOT;
        c->kids = calloc(1, sizeof(*c->kids));
        if (c->kids == NULL)
            return rules_fail(cx, "out of memory");
        c->nkids = 1;
        return rules_cond_compile(cx, j, &c->kids[0]);
    case 4: /* exists */
    case 5: /* missing */
        c->kind = which == 4 ? COND_EXISTS : COND_MISSING;
        if (!json_is_string(j))
            return rules_fail(cx, "must be a JSON Pointer (a string)");
        return rules_intern(cx, INTERN_PTR, json_string_value(j),
                            json_string_length(j), &c->slot);
    default: /* json */
        c->kind = COND_JSON;
        if (!json_is_boolean(j))
            return rules_fail(cx, "must be true or false");
        c->want = json_is_true(j);
        return 0;
    }
}

int rules_cond_compile(rules_ctx_t *cx, const json_t *j, rules_cond_t *c)
{
    const char *k, *subj = NULL, *op = NULL, *alone = NULL, *other = NULL;
    json_t *v, *sv = NULL, *ov = NULL, *av = NULL;
    size_t old;
    char esc[80];
    int rc;

    c->path = strdup(cx->path);
    if (c->path == NULL)
        return rules_fail(cx, "out of memory");
    if (!json_is_object(j))
        return rules_fail(cx, "a condition must be an object, e.g. "
                              "{\"field\": \"/type\", \"eq\": \"play\"}");
    if (json_object_size(j) == 0)
        return rules_fail(cx, "empty condition");
    json_object_foreach((json_t *)j, k, v)
    {
        if (lookup(subj_names, NAMES(subj_names), k)) {
            if (subj != NULL)
                return rules_fail(cx,
                                  "two subjects \"%s\" and \"%s\" in "
                                  "one condition (use \"all\")",
                                  subj, k);
            subj = k, sv = v;
        } else if (lookup(op_names, NAMES(op_names), k)) {
            if (op != NULL)
                return rules_fail(cx,
                                  "two operators \"%s\" and \"%s\" in "
                                  "one condition (use \"all\" or \"any\")",
                                  op, k);
            op = k, ov = v;
        } else if (lookup(alone_names, NAMES(alone_names), k)) {
            if (alone != NULL)
                other = k;
            else
                alone = k, av = v;
        } else {
            rules_escape(esc, sizeof(esc), k, strlen(k));
            return rules_fail(cx, "unknown key \"%s\"", esc);
        }
    }
    if (alone != NULL) {
        if (other == NULL)
            other = subj != NULL ? subj : op;
        if (other != NULL)
            return rules_fail(cx,
                              "\"%s\" cannot be combined with \"%s\" "
                              "in one condition",
                              alone, other);
        old = rules_path_push(cx, ".%s", alone);
        rc = compile_alone(cx, c,
                           lookup(alone_names, NAMES(alone_names), alone), av);
        rules_path_pop(cx, old);
        return rc;
    }
    if (subj == NULL)
        return rules_fail(cx,
                          "operator \"%s\" without a subject (field, key, "
                          "header, topic, partition, value or size)",
                          op);
    c->kind = COND_CMP;
    c->subj = (uint8_t)lookup(subj_names, NAMES(subj_names), subj);
    if (c->subj == SUBJ_SIZE && op != NULL)
        return rules_fail(cx,
                          "size takes its operator inside: {\"size\": "
                          "{\"%s\": ...}}",
                          op);
    if (c->subj != SUBJ_SIZE && op == NULL)
        return rules_fail(cx,
                          "\"%s\" needs an operator (eq, ne, in, prefix, "
                          "regex, lt, le, gt or ge)",
                          subj);
    old = rules_path_push(cx, ".%s", subj);
    rc = compile_subject(cx, c, sv);
    rules_path_pop(cx, old);
    if (rc != 0 || op == NULL)
        return rc;
    old = rules_path_push(cx, ".%s", op);
    rc = compile_op(cx, c, op, ov);
    rules_path_pop(cx, old);
    return rc;
}

void rules_cond_free(rules_cond_t *c)
{
    uint32_t i;

    if (c == NULL)
        return;
    for (i = 0; i < c->nkids; i++)
        rules_cond_free(&c->kids[i]);
    free(c->kids);
    for (i = 0; i < c->nlits; i++)
        free(c->lits[i].str);
    free(c->lits);
    pcre2_code_free(c->re);
    free(c->path);
    memset(c, 0, sizeof(*c));
}
