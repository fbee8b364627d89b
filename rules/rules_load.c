/* rules_load.c - parse and validate a JSON rules file and compile it into
 * a rules_set_t: the top level, sources, dead letter, anomalies, routes. */
#include "rules_internal.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small validators ---------------------------------------------------- */

/* Reject every key of object j not in the NULL-terminated list. */
static int check_keys(rules_ctx_t *cx, const json_t *j,
                      const char *const *known)
{
    const char *k;
    json_t *v;
    size_t i;

    json_object_foreach((json_t *)j, k, v)
    {
        for (i = 0; known[i] != NULL; i++)
            if (strcmp(k, known[i]) == 0)
                break;
        if (known[i] == NULL) {
            char esc[80];
            rules_escape(esc, sizeof(esc), k, strlen(k));
            return rules_fail(cx, "unknown key \"%s\"", esc);
        }
    }
    return 0;
}

/* The "topic" of {"topic": name} object j, a valid topic name; NULL with
 * the error recorded. */
static const json_t *topic_member(rules_ctx_t *cx, const json_t *j)
{
    static const char *const known[] = {"topic", NULL};
    const json_t *t;
    size_t old;

    if (check_keys(cx, j, known) != 0)
        return NULL;
    t = json_object_get(j, "topic");
    if (t == NULL) {
        rules_fail(cx, "missing \"topic\"");
        return NULL;
    }
    old = rules_path_push(cx, ".topic");
    if (!json_is_string(t)) {
        rules_fail(cx, "must be a topic name (a string)");
        return NULL;
    }
    if (rules_topic_check(cx, json_string_value(t), json_string_length(t)))
        return NULL;
    rules_path_pop(cx, old);
    return t;
}

/* A name: a non-empty string, unique within its list (names). */
static int unique_name(rules_ctx_t *cx, rules_map_t *names, const json_t *j,
                       const char *what, char **out)
{
    const char *s;
    size_t n;
    char esc[300];
    int rc;

    if (!json_is_string(j) || json_string_length(j) == 0)
        return rules_fail(cx, "must be a non-empty string");
    s = json_string_value(j);
    n = json_string_length(j);
    rc = rules_map_put(names, 0, s, n, 0, NULL);
    if (rc < 0)
        return rules_fail(cx, "out of memory");
    if (rc == 0) {
        rules_escape(esc, sizeof(esc), s, n);
        return rules_fail(cx, "duplicate %s name \"%s\"", what, esc);
    }
    *out = strdup(s);
    if (*out == NULL)
        return rules_fail(cx, "out of memory");
    return 0;
}

/* ---- the sections -------------------------------------------------------- */

static int load_sources(rules_ctx_t *cx, const json_t *j)
{
    rules_set_t *rs = cx->rs;
    rules_map_t seen = {0};
    size_t i, old;
    int rc = -1;

    if (!json_is_array(j) || json_array_size(j) == 0)
        return rules_fail(cx, "must be a non-empty array of topic names");
    rs->sources = calloc(json_array_size(j), sizeof(*rs->sources));
    if (rs->sources == NULL)
        return rules_fail(cx, "out of memory");
    for (i = 0; i < json_array_size(j); i++) {
        const json_t *e = json_array_get(j, i);
        const char *s = json_string_value(e);
        size_t n = json_string_length(e);
        char esc[300];
        int put;

        old = rules_path_push(cx, "[%zu]", i);
        if (!json_is_string(e)) {
            rules_fail(cx, "must be a topic name or a \"^regex\"");
            goto out;
        }
        if (s[0] == '^' && n < 2) {
            rules_fail(cx, "\"^\" needs a regex after it");
            goto out;
        }
        if (s[0] != '^' && rules_topic_check(cx, s, n) != 0)
            goto out;
        put = rules_map_put(&seen, 0, s, n, 0, NULL);
        if (put <= 0) {
            rules_escape(esc, sizeof(esc), s, n);
            rules_fail(cx,
                       put < 0 ? "out of memory"
                               : "duplicate source "
                                 "\"%s\"",
                       esc);
            goto out;
        }
        rs->sources[i] = strdup(s);
        if (rs->sources[i] == NULL) {
            rules_fail(cx, "out of memory");
            goto out;
        }
        rs->nsources++;
        rules_path_pop(cx, old);
    }
    rc = 0;
out:
    rules_map_free(&seen);
    return rc;
}

static int check_dead_letter(rules_ctx_t *cx, const json_t *j)
{
    const json_t *t;

    if (!json_is_object(j))
        return rules_fail(cx, "must be an object {\"topic\": name}");
    t = topic_member(cx, j);
    if (t == NULL)
        return -1;
    cx->rs->dead_letter = strdup(json_string_value(t));
    if (cx->rs->dead_letter == NULL)
        return rules_fail(cx, "out of memory");
    return 0;
}

static int check_unmatched(rules_ctx_t *cx, const json_t *j)
{
    if (json_is_string(j) && strcmp(json_string_value(j), "drop") == 0) {
        cx->rs->unmatched = UNM_DROP;
        return 0;
    }
    if (json_is_string(j) && strcmp(json_string_value(j), "dead_letter") == 0) {
        cx->rs->unmatched = UNM_DEAD_LETTER;
        rules_need_dl(cx, "is \"dead_letter\"");
        return 0;
    }
    if (!json_is_object(j))
        return rules_fail(cx, "must be \"drop\", \"dead_letter\" or "
                              "{\"topic\": name}");
    /* Validated now, interned after the routes (topic order). */
    if (topic_member(cx, j) == NULL)
        return -1;
    cx->rs->unmatched = UNM_TOPIC;
    return 0;
}

/* A list of named items (anomalies, routes): item i of the array at the
 * current path; names holds the names seen so far in the list. */
typedef int (*load_item_fn)(rules_ctx_t *cx, rules_map_t *names,
                            const json_t *j, size_t i);

/* Load every element of array j with fn into *items (allocated here, zeroed,
 * elements of size bytes), the element's index appended to the path.
 * *count is raised before each element so that rules_destroy() frees a
 * half-built one. */
static int load_list(rules_ctx_t *cx, const json_t *j, void **items,
                     size_t size, size_t *count, load_item_fn fn)
{
    rules_map_t names = {0};
    size_t i, old;
    int rc = -1;

    /* One element more than the array holds (an empty array too). */
    *items = calloc(json_array_size(j) + 1, size);
    if (*items == NULL)
        return rules_fail(cx, "out of memory");
    if (!json_is_array(j))
        return rules_fail(cx, "must be an array");
    for (i = 0; i < json_array_size(j); i++) {
        old = rules_path_push(cx, "[%zu]", i);
        (*count)++;
        if (fn(cx, &names, json_array_get(j, i), i) != 0)
            goto out;
        rules_path_pop(cx, old);
    }
    rc = 0;
out:
    rules_map_free(&names);
    return rc;
}

static const char *const reserved_reasons[] = {
    "bad_destination", "produce_failed", "unmatched", "regex_limit", NULL};

static int load_anomaly(rules_ctx_t *cx, rules_map_t *names, const json_t *j,
                        size_t i)
{
    static const char *const known[] = {"name", "if", NULL};
    rules_anomaly_t *an = &cx->rs->anomalies[i];
    const json_t *nm, *cond;
    size_t k, old;

    if (!json_is_object(j))
        return rules_fail(cx, "must be an object {\"name\", \"if\"}");
    if (check_keys(cx, j, known) != 0)
        return -1;
    nm = json_object_get(j, "name");
    cond = json_object_get(j, "if");
    if (nm == NULL || cond == NULL)
        return rules_fail(cx, "missing \"%s\"", nm == NULL ? "name" : "if");
    old = rules_path_push(cx, ".name");
    if (unique_name(cx, names, nm, "anomaly", &an->name) != 0)
        return -1;
    for (k = 0; reserved_reasons[k] != NULL; k++)
        if (strcmp(an->name, reserved_reasons[k]) == 0)
            return rules_fail(cx,
                              "\"%s\" is reserved for the router's own "
                              "dead-letter reasons",
                              an->name);
    rules_path_pop(cx, old);
    rules_need_dl(cx, "dead-letters what it matches");
    old = rules_path_push(cx, ".if");
    if (rules_cond_compile(cx, cond, &an->cond) != 0)
        return -1;
    rules_path_pop(cx, old);
    an->desc = json_dumps(cond, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (an->desc == NULL)
        return rules_fail(cx, "out of memory");
    return 0;
}

static int load_anomalies(rules_ctx_t *cx, const json_t *j)
{
    rules_set_t *rs = cx->rs;

    return load_list(cx, j, (void **)&rs->anomalies, sizeof(*rs->anomalies),
                     &rs->nanomalies, load_anomaly);
}

static int load_route_to(rules_ctx_t *cx, rules_route_t *r, const json_t *to)
{
    size_t i, n = json_is_array(to) ? json_array_size(to) : 1, old;

    if (!json_is_string(to) && !json_is_array(to))
        return rules_fail(cx, "must be a topic or an array of topics");
    if (n == 0)
        return rules_fail(cx, "must not be empty");
    r->to = n == 1 ? &r->to1 : calloc(n, sizeof(*r->to));
    if (r->to == NULL)
        return rules_fail(cx, "out of memory");
    for (i = 0; i < n; i++) {
        const json_t *e = json_is_array(to) ? json_array_get(to, i) : to;

        old = json_is_array(to) ? rules_path_push(cx, "[%zu]", i)
                                : rules_path_push(cx, "%s", "");
        if (!json_is_string(e))
            return rules_fail(cx, "must be a topic name (a string)");
        r->nto++;
        if (rules_tmpl_compile(cx, json_string_value(e), json_string_length(e),
                               1, &r->to[i]) != 0)
            return -1;
        rules_path_pop(cx, old);
    }
    return 0;
}

static int load_route(rules_ctx_t *cx, rules_map_t *names, const json_t *j,
                      size_t i)
{
    static const char *const known[] = {"name",      "if",   "to", "key",
                                        "partition", "stop", NULL};
    rules_route_t *r = &cx->rs->routes[i];
    const json_t *nm, *cond, *to, *key, *part, *stop;
    size_t old;

    if (!json_is_object(j))
        return rules_fail(cx, "must be an object {\"name\", \"if\", \"to\"}");
    if (check_keys(cx, j, known) != 0)
        return -1;
    nm = json_object_get(j, "name");
    cond = json_object_get(j, "if");
    to = json_object_get(j, "to");
    key = json_object_get(j, "key");
    part = json_object_get(j, "partition");
    stop = json_object_get(j, "stop");
    if (nm == NULL || cond == NULL || to == NULL)
        return rules_fail(cx, "missing \"%s\"%s",
                          nm == NULL     ? "name"
                          : cond == NULL ? "if"
                                         : "to",
                          cond == NULL && nm != NULL
                              ? " (use {\"all\": []} to match every message)"
                              : "");
    old = rules_path_push(cx, ".name");
    if (unique_name(cx, names, nm, "route", &r->name) != 0)
        return -1;
    rules_path_pop(cx, old);
    old = rules_path_push(cx, ".if");
    if (rules_cond_compile(cx, cond, &r->cond) != 0)
        return -1;
    rules_path_pop(cx, old);
    old = rules_path_push(cx, ".to");
    if (load_route_to(cx, r, to) != 0)
        return -1;
    rules_path_pop(cx, old);
    if (key != NULL) {
        old = rules_path_push(cx, ".key");
        if (!json_is_string(key))
            return rules_fail(cx, "must be a string (a template)");
        r->key = calloc(1, sizeof(*r->key));
        if (r->key == NULL)
            return rules_fail(cx, "out of memory");
        if (rules_tmpl_compile(cx, json_string_value(key),
                               json_string_length(key), 0, r->key) != 0)
            return -1;
        rules_path_pop(cx, old);
    }
    if (part != NULL) {
        if (!json_is_string(part) ||
            strcmp(json_string_value(part), "source") != 0) {
            rules_path_push(cx, ".partition");
            return rules_fail(cx, "must be \"source\"");
        }
        r->part_source = 1;
    }
    if (stop != NULL) {
        if (!json_is_boolean(stop)) {
            rules_path_push(cx, ".stop");
            return rules_fail(cx, "must be true or false");
        }
        r->stop = json_is_true(stop);
    }
    cx->rs->max_dests += r->nto;
    return 0;
}

static int load_routes(rules_ctx_t *cx, const json_t *j)
{
    rules_set_t *rs = cx->rs;

    return load_list(cx, j, (void **)&rs->routes, sizeof(*rs->routes),
                     &rs->nroutes, load_route);
}

/* ---- top level ----------------------------------------------------------- */

/* The sections of the file after "version", loaded in this order. */
static const struct {
    const char *key;
    int required;
    int (*load)(rules_ctx_t *cx, const json_t *j);
} sections[] = {
    {"sources", 1, load_sources},      {"dead_letter", 0, check_dead_letter},
    {"unmatched", 0, check_unmatched}, {"anomalies", 0, load_anomalies},
    {"routes", 1, load_routes},
};

static int load_top(rules_ctx_t *cx, const json_t *root)
{
    static const char *const known[] = {"version",   "sources",   "dead_letter",
                                        "unmatched", "anomalies", "routes",
                                        NULL};
    rules_set_t *rs = cx->rs;
    const json_t *v;
    uint32_t idx;
    size_t i, old;

    if (!json_is_object(root))
        return rules_fail(cx, "the rules must be a JSON object");
    if (check_keys(cx, root, known) != 0)
        return -1;
    v = json_object_get(root, "version");
    if (v == NULL)
        return rules_fail(cx, "missing \"version\" (1)");
    if (!json_is_number(v) || json_number_value(v) != 1.0) {
        rules_path_push(cx, "version");
        return rules_fail(cx, "must be 1");
    }
    for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        v = json_object_get(root, sections[i].key);
        if (v == NULL && sections[i].required)
            return rules_fail(cx, "missing \"%s\"", sections[i].key);
        old = rules_path_push(cx, "%s", sections[i].key);
        if (v != NULL && sections[i].load(cx, v) != 0)
            return -1;
        rules_path_pop(cx, old);
    }
    /* Literal topics: the routes', then unmatched's, then the dead letter */
    if (rs->unmatched == UNM_TOPIC) {
        v = json_object_get(json_object_get(root, "unmatched"), "topic");
        if (rules_intern(cx, INTERN_TOPIC, json_string_value(v),
                         json_string_length(v), &rs->unmatched_topic) != 0)
            return -1;
        rs->max_dests++;
    }
    if (rs->dead_letter != NULL &&
        rules_intern(cx, INTERN_TOPIC, rs->dead_letter, strlen(rs->dead_letter),
                     &idx) != 0)
        return -1;
    if (cx->needs_dl && rs->dead_letter == NULL) {
        rules_path_push(cx, "dead_letter");
        return rules_fail(cx, "missing, but needed: %s", cx->needs_dl_why);
    }
    return 0;
}

/* Serial numbers of loaded rule sets (rules_set.serial), from 1. */
static atomic_uint_fast64_t serials;

rules_set_t *rules_load_ex(const char *text, size_t len, rules_error_t *err,
                           unsigned flags)
{
    rules_error_t dummy;
    rules_ctx_t cx;
    json_error_t je;
    json_t *root = NULL;
    rules_set_t *rs = NULL;

    if (err == NULL)
        err = &dummy;
    memset(err, 0, sizeof(*err));
    memset(&cx, 0, sizeof(cx));
    cx.err = err;
    if (text == NULL) {
        rules_fail(&cx, "no rules text");
        goto err;
    }
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (root == NULL) {
        if (je.line > 0) {
            err->line = je.line;
            err->column = je.column > 0 ? je.column : 0;
            rules_fail(&cx, "invalid JSON at line %d, column %d: %s", je.line,
                       je.column, je.text);
        } else {
            rules_fail(&cx, "invalid JSON: %s", je.text);
        }
        goto err;
    }
    rs = calloc(1, sizeof(*rs));
    if (rs == NULL) {
        rules_fail(&cx, "out of memory");
        goto err;
    }
    rs->serial = atomic_fetch_add(&serials, 1) + 1;
    cx.rs = rs;
    if (load_top(&cx, root) != 0)
        goto err;
    if (rules_index_build(rs, flags) != 0 || rules_tops_build(rs) != 0) {
        rules_fail(&cx, "out of memory");
        goto err;
    }
    rs->max_dests++; /* never zero: the scratch's dests always exist */
    goto out;
err:
    rules_destroy(rs);
    rs = NULL;
out:
    rules_map_free(&cx.ptr_map);
    rules_map_free(&cx.hdr_map);
    rules_map_free(&cx.top_map);
    json_decref(root);
    return rs;
}

rules_set_t *rules_load(const char *text, size_t len, rules_error_t *err)
{
    return rules_load_ex(text, len, err, 0);
}
