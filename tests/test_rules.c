/* test_rules.c - unit tests of the rule engine: loading errors, every
 * operator and combinator, templates, evaluation order, the index. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../rules/rules_internal.h"
#include "rules.h"

/* ---- helpers ------------------------------------------------------------- */

#define NULLV ((const char *)1) /* "null" for a key, value or header */

/* A message for the tests. hdrs: name, value pairs, NULL-terminated. */
typedef struct tmsg {
    const char *topic;
    int32_t partition;
    const char *key;   /* NULL: "u1"; NULLV: null key */
    const char *value; /* NULL: the default event; NULLV: null value */
    const char *hdrs[9];
} tmsg_t;

static const char default_value[] =
    "{\"type\":\"play\",\"uid\":\"u1\",\"n\":5,\"f\":1.5,\"b\":true,"
    "\"z\":null,\"o\":{\"a\":\"x\"},\"arr\":[1,2],\"esc\":\"a\\\"b\\u00e9\","
    "\"s\":\"jay chou\",\"big\":1e3,\"neg\":-0,\"sp\":\"a b\","
    "\"k\":\"music\",\"ns\":\"7\"}";

static int test_header(void *opaque, const char *name, const void **val,
                       size_t *len)
{
    const tmsg_t *m = opaque;
    int i, found = -1;

    for (i = 0; m->hdrs[i] != NULL && m->hdrs[i + 1] != NULL; i += 2)
        if (strcmp(m->hdrs[i], name) == 0)
            found = i; /* the last one wins */
    if (found < 0)
        return -1;
    if (m->hdrs[found + 1] == NULLV) {
        *val = NULL;
        *len = 0;
    } else {
        *val = m->hdrs[found + 1];
        *len = strlen(m->hdrs[found + 1]);
    }
    return 0;
}

static rules_msg_t view(const tmsg_t *m)
{
    rules_msg_t v;

    memset(&v, 0, sizeof(v));
    v.topic = m->topic != NULL ? m->topic : "music.events";
    v.partition = m->partition;
    v.offset = 42;
    v.timestamp = 1700000000000;
    if (m->key != NULLV) {
        v.key = m->key != NULL ? m->key : "u1";
        v.key_len = strlen(v.key);
    }
    if (m->value != NULLV) {
        v.value = m->value != NULL ? m->value : default_value;
        v.value_len = strlen(v.value);
    }
    if (m->hdrs[0] != NULL) {
        v.header = test_header;
        v.header_opaque = (void *)m;
    }
    return v;
}

static rules_set_t *load_or_fail(const char *text, unsigned flags)
{
    rules_error_t err;
    rules_set_t *rs = rules_load_ex(text, strlen(text), &err, flags);

    if (rs == NULL)
        fail_msg("rules did not load: %s\n%s", err.msg, text);
    return rs;
}

/* One route "r" with condition cond to topic "out". */
static rules_set_t *one_route(const char *cond, unsigned flags)
{
    char text[2048];

    snprintf(text, sizeof(text),
             "{\"version\":1,\"sources\":[\"music.events\"],"
             "\"dead_letter\":{\"topic\":\"dl\"},"
             "\"routes\":[{\"name\":\"r\",\"if\":%s,\"to\":\"out\"}]}",
             cond);
    return load_or_fail(text, flags);
}

/* A result in one line: "d=t1,t2 dl=reason m=0,1 u=1". */
static const char *res_str(const rules_result_t *r, char *buf, size_t cap)
{
    size_t i, o = 0;

    o += (size_t)snprintf(buf + o, cap - o, "d=");
    for (i = 0; i < r->ndests; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? "," : "",
                              r->dests[i].topic);
    o += (size_t)snprintf(buf + o, cap - o,
                          " dl=%s m=", r->dead_letter ? r->reason : "-");
    for (i = 0; i < r->nmatched; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%u", i ? "," : "",
                              r->matched[i]);
    snprintf(buf + o, cap - o, " u=%d", r->unmatched);
    return buf;
}

/* ---- loading: errors ----------------------------------------------------- */

#define HEAD "{\"version\":1,\"sources\":[\"s\"],"
#define DL   "\"dead_letter\":{\"topic\":\"dl\"},"
#define R(cond)                                                                \
    HEAD DL "\"routes\":[{\"name\":\"r\",\"if\":" cond ",\"to\":\"o\"}]}"

typedef struct err_case {
    const char *text;
    const char *msg; /* the error message must contain this */
    int line;        /* expected line, -1: any */
} err_case_t;

static const err_case_t err_cases[] = {
    /* syntax */
    {"{\"version\":1,\n \"sources\":[\"s\",],\n}", "invalid JSON at line 2", 2},
    {"", "invalid JSON", -1},
    {"{\"version\":1,\"version\":1}", "duplicate", -1},
    /* top level */
    {"[]", "the rules must be a JSON object", 0},
    {HEAD "\"routs\":[]}", "unknown key \"routs\"", 0},
    {"{\"sources\":[\"s\"],\"routes\":[]}", "missing \"version\"", 0},
    {"{\"version\":2,\"sources\":[\"s\"],\"routes\":[]}", "version: must be 1",
     0},
    {"{\"version\":1,\"routes\":[]}", "missing \"sources\"", 0},
    {"{\"version\":1,\"sources\":[],\"routes\":[]}",
     "sources: must be a non-empty array", 0},
    {"{\"version\":1,\"sources\":[\"a b\"],\"routes\":[]}",
     "sources[0]: \"a b\" is not a valid topic name", 0},
    {"{\"version\":1,\"sources\":[\"a\",\"a\"],\"routes\":[]}",
     "sources[1]: duplicate source \"a\"", 0},
    {"{\"version\":1,\"sources\":[\"^\"],\"routes\":[]}",
     "sources[0]: \"^\" needs a regex", 0},
    {"{\"version\":1,\"sources\":[3],\"routes\":[]}", "sources[0]: must be", 0},
    {HEAD "\"unmatched\":\"keep\",\"routes\":[]}",
     "unmatched: must be \"drop\", \"dead_letter\" or {\"topic\": name}", 0},
    {HEAD "\"unmatched\":{\"topic\":\"..\"},\"routes\":[]}",
     "unmatched.topic: \"..\" is not a valid topic name", 0},
    {HEAD "\"unmatched\":{\"topik\":\"x\"},\"routes\":[]}",
     "unmatched: unknown key \"topik\"", 0},
    {HEAD "\"unmatched\":\"dead_letter\",\"routes\":[]}",
     "dead_letter: missing, but needed: unmatched is \"dead_letter\"", 0},
    {HEAD "\"dead_letter\":{\"topic\":\".\"},\"routes\":[]}",
     "dead_letter.topic: \".\" is not a valid topic name", 0},
    {HEAD "\"dead_letter\":{\"topic\":\"d\",\"x\":1},\"routes\":[]}",
     "dead_letter: unknown key \"x\"", 0},
    {HEAD "\"dead_letter\":\"d\",\"routes\":[]}",
     "dead_letter: must be an object", 0},
    {HEAD "\"anomalies\":[]}", "missing \"routes\"", 0},
    /* anomalies */
    {HEAD DL "\"anomalies\":[{\"name\":\"a\",\"iff\":{\"json\":true}}],"
             "\"routes\":[]}",
     "anomalies[0]: unknown key \"iff\"", 0},
    {HEAD DL "\"anomalies\":[{\"name\":\"a\",\"if\":{\"json\":true}},"
             "{\"name\":\"a\",\"if\":{\"json\":true}}],\"routes\":[]}",
     "anomalies[1].name: duplicate anomaly name \"a\"", 0},
    {HEAD DL "\"anomalies\":[{\"name\":\"\",\"if\":{\"json\":true}}],"
             "\"routes\":[]}",
     "anomalies[0].name: must be a non-empty string", 0},
    {HEAD DL "\"anomalies\":[{\"name\":\"unmatched\",\"if\":{\"json\":true}}"
             "],\"routes\":[]}",
     "anomalies[0].name: \"unmatched\" is reserved", 0},
    {HEAD DL "\"anomalies\":[{\"if\":{\"json\":true}}],\"routes\":[]}",
     "anomalies[0]: missing \"name\"", 0},
    {HEAD "\"anomalies\":[{\"name\":\"a\",\"if\":{\"json\":false}}],"
          "\"routes\":[]}",
     "dead_letter: missing, but needed: anomalies[0] dead-letters", 0},
    /* routes */
    {HEAD DL "\"routes\":[{\"name\":\"r\",\"if\":{\"all\":[]},\"to\":\"o\"},"
             "{\"name\":\"q\",\"if\":{\"all\":[]},\"too\":\"o\"}]}",
     "routes[1]: unknown key \"too\"", 0},
    {HEAD DL "\"routes\":[{\"name\":\"r\",\"if\":{\"all\":[]},\"to\":\"o\"},"
             "{\"name\":\"r\",\"if\":{\"all\":[]},\"to\":\"o\"}]}",
     "routes[1].name: duplicate route name \"r\"", 0},
    {HEAD DL "\"routes\":[{\"name\":\"r\",\"to\":\"o\"}]}",
     "routes[0]: missing \"if\" (use {\"all\": []}", 0},
    {HEAD DL "\"routes\":[{\"name\":\"r\",\"if\":{\"all\":[]}}]}",
     "routes[0]: missing \"to\"", 0},
    {HEAD DL "\"routes\":[{\"if\":{\"all\":[]},\"to\":\"o\"}]}",
     "routes[0]: missing \"name\"", 0},
    {HEAD DL "\"routes\":[{\"name\":\"r\",\"if\":{\"all\":[]},\"to\":[]}]}",
     "routes[0].to: must not be empty", 0},
    {HEAD DL "\"routes\":[{\"name\":\"r\",\"if\":{\"all\":[]},\"to\":\"\"}]}",
     "routes[0].to: \"\" is not a valid topic name", 0},
    {HEAD DL "\"routes\":[{\"name\":\"r\",\"if\":{\"all\":[]},"
             "\"to\":[\"ok\",\"a/b\"]}]}",
     "routes[0].to[1]: \"a/b\" is not a valid topic name", 0},
    {HEAD DL "\"routes\":[{\"name\":\"r\",\"if\":{\"all\":[]},\"to\":3}]}",
     "routes[0].to: must be a topic", 0},
    {HEAD DL "\"routes\":[{\"name\":\"r\",\"if\":{\"all\":[]},\"to\":\"o\","
             "\"partition\":\"random\"}]}",
     "routes[0].partition: must be \"source\"", 0},
    {HEAD DL "\"routes\":[{\"name\":\"r\",\"if\":{\"all\":[]},\"to\":\"o\","
             "\"stop\":1}]}",
     "routes[0].stop: must be true or false", 0},
    {HEAD DL "\"routes\":[{\"name\":\"r\",\"if\":{\"all\":[]},\"to\":\"o\","
             "\"key\":1}]}",
     "routes[0].key: must be a string", 0},
    {HEAD DL "\"routes\":{}}", "routes: must be an array", 0},
    {HEAD DL "\"routes\":[3]}", "routes[0]: must be an object", 0},
    /* templates */
    {HEAD DL "\"routes\":[{\"name\":\"r\",\"if\":{\"all\":[]},"
             "\"to\":\"a.${/type\"}]}",
     "routes[0].to: \"${\" at offset 2 is not closed", 0},
    {HEAD DL "\"routes\":[{\"name\":\"r\",\"if\":{\"all\":[]},"
             "\"to\":\"a.${type}\"}]}",
     "routes[0].to: unknown template variable \"${type}\"", 0},
    {HEAD DL "\"routes\":[{\"name\":\"r\",\"if\":{\"all\":[]},"
             "\"to\":\"a.${header:}\"}]}",
     "unknown template variable \"${header:}\"", 0},
    {HEAD DL "\"routes\":[{\"name\":\"r\",\"if\":{\"all\":[]},"
             "\"to\":\"a b.${/t}\"}]}",
     "routes[0].to: ' ' can never be part of a topic name", 0},
    {HEAD DL "\"routes\":[{\"name\":\"r\",\"if\":{\"all\":[]},"
             "\"to\":[\"x\",\"a.${/a~2}\"]}]}",
     "routes[0].to[1]: ", 0},
    {HEAD DL "\"routes\":[{\"name\":\"r\",\"if\":{\"all\":[]},\"to\":\"o\","
             "\"key\":\"${nope}\"}]}",
     "routes[0].key: unknown template variable", 0},
    {HEAD "\"routes\":[{\"name\":\"r\",\"if\":{\"all\":[]},"
          "\"to\":\"a.${/t}\"}]}",
     "dead_letter: missing, but needed: routes[0].to is a template", 0},
    {HEAD "\"routes\":[{\"name\":\"r\",\"if\":{\"all\":[]},"
          "\"to\":[\"a\",\"a.${/t}\"]}]}",
     "needed: routes[0].to[1] is a template", 0},
    /* conditions */
    {R("{\"field\":\"type\",\"eq\":\"play\"}"),
     "routes[0].if.field: JSON Pointer must start with '/'", 0},
    {R("{\"field\":\"/type\",\"regex\":\"(ab\"}"),
     "routes[0].if.regex: missing closing parenthesis at offset 3", 0},
    {HEAD "\"routes\":[{\"name\":\"r\",\"if\":{\"field\":\"/t\","
          "\"regex\":\"a\"},\"to\":\"o\"}]}",
     "needed: routes[0].if.regex is a regex", 0},
    {R("{\"field\":\"/type\",\"eq\":\"play\",\"ne\":\"x\"}"),
     "routes[0].if: two operators", 0},
    {R("{\"field\":\"/type\"}"), "routes[0].if: \"field\" needs an operator",
     0},
    {R("{\"eq\":\"play\"}"), "routes[0].if: operator \"eq\" without a subject",
     0},
    {R("{\"field\":\"/a\",\"key\":true,\"eq\":\"x\"}"),
     "routes[0].if: two subjects", 0},
    {R("{}"), "routes[0].if: empty condition", 0},
    {R("[]"), "routes[0].if: a condition must be an object", 0},
    {R("{\"fild\":\"/a\",\"eq\":1}"), "routes[0].if: unknown key \"fild\"", 0},
    {R("{\"field\":\"/a\",\"eq\":{\"x\":1}}"),
     "routes[0].if.eq: eq takes a string, number, boolean or null", 0},
    {R("{\"field\":\"/a\",\"ne\":[1]}"),
     "routes[0].if.ne: ne takes a string, number, boolean or null", 0},
    {R("{\"field\":\"/a\",\"in\":[]}"),
     "routes[0].if.in: in takes a non-empty array", 0},
    {R("{\"field\":\"/a\",\"in\":\"x\"}"),
     "routes[0].if.in: in takes a non-empty array", 0},
    {R("{\"field\":\"/a\",\"in\":[\"x\",[1]]}"),
     "routes[0].if.in[1]: in takes a string, number, boolean or null", 0},
    {R("{\"field\":\"/a\",\"prefix\":1}"),
     "routes[0].if.prefix: prefix takes a string", 0},
    {R("{\"field\":\"/a\",\"lt\":\"1\"}"), "routes[0].if.lt: lt takes a number",
     0},
    {R("{\"field\":3,\"eq\":1}"), "routes[0].if.field: must be a JSON Pointer",
     0},
    {R("{\"key\":\"u1\",\"eq\":\"u1\"}"), "routes[0].if.key: must be true", 0},
    {R("{\"topic\":1,\"eq\":\"t\"}"), "routes[0].if.topic: must be true", 0},
    {R("{\"key\":true,\"eq\":1}"),
     "routes[0].if.eq: eq takes a string here (key is compared as bytes)", 0},
    {R("{\"value\":true,\"in\":[\"a\",null]}"),
     "routes[0].if.in[1]: in takes a string here", 0},
    {R("{\"header\":\"\",\"eq\":\"x\"}"),
     "routes[0].if.header: must be a header name", 0},
    {R("{\"partition\":true,\"eq\":\"1\"}"),
     "routes[0].if.eq: eq takes a number here", 0},
    {R("{\"partition\":true,\"prefix\":\"1\"}"),
     "routes[0].if.prefix: prefix does not apply to partition", 0},
    {R("{\"partition\":true,\"regex\":\"1\"}"),
     "routes[0].if.regex: regex does not apply to partition", 0},
    {R("{\"size\":{\"gt\":\"1\"}}"), "routes[0].if.size.gt: gt takes a number",
     0},
    {R("{\"size\":{\"gt\":1,\"lt\":9}}"),
     "routes[0].if.size: size takes one operator", 0},
    {R("{\"size\":{\"big\":1}}"), "routes[0].if.size: unknown operator \"big\"",
     0},
    {R("{\"size\":{\"prefix\":\"1\"}}"),
     "routes[0].if.size.prefix: prefix does not apply to size", 0},
    {R("{\"size\":{\"gt\":1},\"lt\":2}"),
     "routes[0].if: size takes its operator inside", 0},
    {R("{\"all\":{}}"), "routes[0].if.all: must be an array of conditions", 0},
    {R("{\"any\":[{\"json\":true},{\"nope\":1}]}"),
     "routes[0].if.any[1]: unknown key \"nope\"", 0},
    {R("{\"not\":[]}"), "routes[0].if.not: a condition must be an object", 0},
    {R("{\"not\":{\"all\":[{\"field\":\"/a\",\"eq\":\"x\",\"ne\":\"y\"}]}}"),
     "routes[0].if.not.all[0]: two operators", 0},
    {R("{\"json\":1}"), "routes[0].if.json: must be true or false", 0},
    {R("{\"exists\":\"a\"}"),
     "routes[0].if.exists: JSON Pointer must start with '/'", 0},
    {R("{\"missing\":\"/a~x\"}"), "routes[0].if.missing: ", 0},
    {R("{\"exists\":\"/a\",\"json\":true}"), "cannot be combined", 0},
    {R("{\"all\":[],\"field\":\"/a\",\"eq\":1}"), "cannot be combined", 0},
    {R("{\"size\":{\"gt\":1e999}}"), "invalid JSON", -1},
};

static void test_load_errors_name_the_place(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(err_cases) / sizeof(err_cases[0]); i++) {
        const err_case_t *c = &err_cases[i];
        rules_error_t err;
        rules_set_t *rs = rules_load(c->text, strlen(c->text), &err);

        if (rs != NULL) {
            rules_destroy(rs);
            fail_msg("case %zu loaded: %s", i, c->text);
        }
        if (strstr(err.msg, c->msg) == NULL)
            fail_msg("case %zu: got \"%s\", want \"%s\"", i, err.msg, c->msg);
        if (c->line >= 0 && err.line != c->line)
            fail_msg("case %zu: line %d, want %d", i, err.line, c->line);
        if (c->line > 0)
            assert_true(err.column > 0);
    }
}

static void test_load_null_text_and_null_err(void **state)
{
    rules_error_t err;

    (void)state;
    assert_null(rules_load(NULL, 0, &err));
    assert_true(err.msg[0] != '\0');
    assert_null(rules_load("{", 1, NULL));
    rules_destroy(NULL);
    rules_scratch_destroy(NULL);
}

/* ---- loading: what a valid file gives ------------------------------------ */

static const char design_example[] =
    "{\n"
    "  \"version\": 1,\n"
    "  \"sources\": [\"music.events\", \"^music\\\\..*\"],\n"
    "  \"dead_letter\": {\"topic\": \"music.events.anomalies\"},\n"
    "  \"unmatched\": {\"topic\": \"music.other\"},\n"
    "  \"anomalies\": [\n"
    "    {\"name\": \"not_json\",  \"if\": {\"not\": {\"json\": true}}},\n"
    "    {\"name\": \"no_user\",   \"if\": {\"missing\": \"/uid\"}},\n"
    "    {\"name\": \"oversize\",  \"if\": {\"size\": {\"gt\": 65536}}}\n"
    "  ],\n"
    "  \"routes\": [\n"
    "    {\"name\": \"plays\",  \"if\": {\"field\": \"/type\", \"eq\": "
    "\"play\"}, \"to\": \"music.play\"},\n"
    "    {\"name\": \"search\", \"if\": {\"field\": \"/query\", \"regex\": "
    "\"(?i)^jay\"},\n"
    "     \"to\": [\"music.search\", \"audit.search\", \"music.play\"]},\n"
    "    {\"name\": \"typed\",  \"if\": {\"exists\": \"/type\"}, \"to\": "
    "\"music.type.${/type}\"},\n"
    "    {\"name\": \"vip\",    \"if\": {\"header\": \"tier\", \"eq\": "
    "\"vip\"},\n"
    "     \"to\": \"music.vip\", \"key\": \"${/uid}\", \"stop\": true},\n"
    "    {\"name\": \"after\",  \"if\": {\"all\": []}, \"to\": "
    "\"music.after\", \"partition\": \"source\"}\n"
    "  ]\n"
    "}\n";

static void test_accessors_list_sources_names_and_topics(void **state)
{
    static const char *const topics[] = {
        "music.play",  "music.search", "audit.search",          "music.vip",
        "music.after", "music.other",  "music.events.anomalies"};
    rules_set_t *rs = load_or_fail(design_example, 0);
    size_t i;

    (void)state;
    assert_int_equal(rules_source_count(rs), 2);
    assert_string_equal(rules_source(rs, 0), "music.events");
    assert_string_equal(rules_source(rs, 1), "^music\\..*");
    assert_null(rules_source(rs, 2));
    assert_string_equal(rules_dead_letter_topic(rs), "music.events.anomalies");
    assert_int_equal(rules_route_count(rs), 5);
    assert_string_equal(rules_route_name(rs, 0), "plays");
    assert_string_equal(rules_route_name(rs, 4), "after");
    assert_null(rules_route_name(rs, 5));
    assert_int_equal(rules_anomaly_count(rs), 3);
    assert_string_equal(rules_anomaly_name(rs, 1), "no_user");
    assert_null(rules_anomaly_name(rs, 3));
    assert_int_equal(rules_topic_count(rs), sizeof(topics) / sizeof(*topics));
    for (i = 0; i < sizeof(topics) / sizeof(*topics); i++)
        assert_string_equal(rules_topic(rs, i), topics[i]);
    assert_null(rules_topic(rs, i));
    rules_destroy(rs);
}

static void test_minimal_file_has_no_dead_letter(void **state)
{
    const char *t = "{\"version\":1,\"sources\":[\"s\"],\"routes\":[]}";
    rules_set_t *rs = load_or_fail(t, 0);
    rules_scratch_t *sc = rules_scratch_create();
    tmsg_t m = {0};
    rules_msg_t v = view(&m);
    const rules_result_t *r;

    (void)state;
    assert_null(rules_dead_letter_topic(rs));
    assert_int_equal(rules_topic_count(rs), 0);
    r = rules_eval(rs, &v, sc);
    assert_non_null(r);
    /* unmatched defaults to "drop" */
    assert_int_equal(r->ndests, 0);
    assert_int_equal(r->dead_letter, 0);
    assert_int_equal(r->unmatched, 1);
    assert_non_null(r->detail);
    rules_scratch_destroy(sc);
    rules_destroy(rs);
}

static void test_topic_names_follow_kafka(void **state)
{
    static const struct {
        const char *name;
        int ok;
    } cases[] = {{"a", 1},   {"music.play", 1},  {"A-Z_0.9", 1}, {".", 0},
                 {"..", 0},  {"...", 1},         {"", 0},        {"a b", 0},
                 {"a/b", 0}, {"caf\xc3\xa9", 0}, {"a:b", 0}};
    char long_name[251];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (rules_topic_valid(cases[i].name, strlen(cases[i].name)) !=
            cases[i].ok)
            fail_msg("topic \"%s\" want %d", cases[i].name, cases[i].ok);
    memset(long_name, 'x', sizeof(long_name));
    assert_int_equal(rules_topic_valid(long_name, 249), 1);
    assert_int_equal(rules_topic_valid(long_name, 250), 0);
    assert_int_equal(rules_topic_valid(NULL, 0), 0);
    assert_int_equal(rules_topic_valid("a\0b", 3), 0);
}

/* ---- every operator, subject and combinator ------------------------------ */

typedef struct op_case {
    const char *cond;
    int want; /* 1: the route matches */
    tmsg_t m;
} op_case_t;

#define TIER_VIP                                                               \
    {                                                                          \
        "tier", "vip", "num", "42", "nullh", NULLV, NULL                       \
    }

static const op_case_t op_cases[] = {
    /* field eq: by JSON type */
    {"{\"field\":\"/type\",\"eq\":\"play\"}", 1, {0}},
    {"{\"field\":\"/type\",\"eq\":\"skip\"}", 0, {0}},
    {"{\"field\":\"/type\",\"eq\":\"pla\"}", 0, {0}},
    {"{\"field\":\"/n\",\"eq\":5}", 1, {0}},
    {"{\"field\":\"/n\",\"eq\":5.0}", 1, {0}},
    {"{\"field\":\"/n\",\"eq\":\"5\"}", 0, {0}},
    {"{\"field\":\"/ns\",\"eq\":7}", 0, {0}},
    {"{\"field\":\"/ns\",\"eq\":\"7\"}", 1, {0}},
    {"{\"field\":\"/big\",\"eq\":1000}", 1, {0}},
    {"{\"field\":\"/neg\",\"eq\":0}", 1, {0}},
    {"{\"field\":\"/f\",\"eq\":1.5}", 1, {0}},
    {"{\"field\":\"/b\",\"eq\":true}", 1, {0}},
    {"{\"field\":\"/b\",\"eq\":false}", 0, {0}},
    {"{\"field\":\"/b\",\"eq\":\"true\"}", 0, {0}},
    {"{\"field\":\"/z\",\"eq\":null}", 1, {0}},
    {"{\"field\":\"/z\",\"eq\":false}", 0, {0}},
    {"{\"field\":\"/esc\",\"eq\":\"a\\\"b\\u00e9\"}", 1, {0}},
    {"{\"field\":\"/esc\",\"eq\":\"a\\\\\\\"b\\\\u00e9\"}", 0, {0}},
    {"{\"field\":\"/o\",\"eq\":\"x\"}", 0, {0}},
    {"{\"field\":\"/o/a\",\"eq\":\"x\"}", 1, {0}},
    {"{\"field\":\"/arr/1\",\"eq\":2}", 1, {0}},
    {"{\"field\":\"/arr/2\",\"eq\":2}", 0, {0}},
    {"{\"field\":\"/nope\",\"eq\":\"x\"}", 0, {0}},
    /* ne: present and different */
    {"{\"field\":\"/type\",\"ne\":\"skip\"}", 1, {0}},
    {"{\"field\":\"/type\",\"ne\":\"play\"}", 0, {0}},
    {"{\"field\":\"/n\",\"ne\":\"5\"}", 1, {0}},
    {"{\"field\":\"/nope\",\"ne\":\"x\"}", 0, {0}},
    {"{\"not\":{\"field\":\"/nope\",\"eq\":\"x\"}}", 1, {0}},
    /* in */
    {"{\"field\":\"/type\",\"in\":[\"skip\",\"play\"]}", 1, {0}},
    {"{\"field\":\"/type\",\"in\":[\"skip\"]}", 0, {0}},
    {"{\"field\":\"/n\",\"in\":[\"5\",5]}", 1, {0}},
    {"{\"field\":\"/n\",\"in\":[\"5\",6]}", 0, {0}},
    {"{\"field\":\"/z\",\"in\":[1,null]}", 1, {0}},
    {"{\"field\":\"/b\",\"in\":[false,true]}", 1, {0}},
    /* prefix and regex on fields: JSON strings only, unescaped */
    {"{\"field\":\"/s\",\"prefix\":\"jay\"}", 1, {0}},
    {"{\"field\":\"/s\",\"prefix\":\"\"}", 1, {0}},
    {"{\"field\":\"/s\",\"prefix\":\"chou\"}", 0, {0}},
    {"{\"field\":\"/s\",\"prefix\":\"jay chou!\"}", 0, {0}},
    {"{\"field\":\"/n\",\"prefix\":\"5\"}", 0, {0}},
    {"{\"field\":\"/esc\",\"prefix\":\"a\\\"b\"}", 1, {0}},
    {"{\"field\":\"/s\",\"regex\":\"(?i)^JAY\"}", 1, {0}},
    {"{\"field\":\"/s\",\"regex\":\"^chou\"}", 0, {0}},
    {"{\"field\":\"/n\",\"regex\":\"5\"}", 0, {0}},
    {"{\"field\":\"/esc\",\"regex\":\"^a\\\"b.$\"}", 1, {0}},
    {"{\"field\":\"/nope\",\"regex\":\"\"}", 0, {0}},
    /* numeric comparisons: JSON numbers only */
    {"{\"field\":\"/n\",\"lt\":6}", 1, {0}},
    {"{\"field\":\"/n\",\"lt\":5}", 0, {0}},
    {"{\"field\":\"/n\",\"le\":5}", 1, {0}},
    {"{\"field\":\"/n\",\"gt\":4.5}", 1, {0}},
    {"{\"field\":\"/n\",\"gt\":5}", 0, {0}},
    {"{\"field\":\"/n\",\"ge\":5.1}", 0, {0}},
    {"{\"field\":\"/n\",\"ge\":5}", 1, {0}},
    {"{\"field\":\"/f\",\"gt\":1}", 1, {0}},
    {"{\"field\":\"/ns\",\"gt\":1}", 0, {0}},
    {"{\"field\":\"/nope\",\"lt\":1}", 0, {0}},
    /* exists, missing, json */
    {"{\"exists\":\"/o/a\"}", 1, {0}},
    {"{\"exists\":\"/z\"}", 1, {0}},
    {"{\"exists\":\"\"}", 1, {0}},
    {"{\"exists\":\"/nope\"}", 0, {0}},
    {"{\"missing\":\"/nope\"}", 1, {0}},
    {"{\"missing\":\"/uid\"}", 0, {0}},
    {"{\"missing\":\"/uid\"}", 1, {.value = "nope"}},
    {"{\"exists\":\"\"}", 0, {.value = NULLV}},
    {"{\"json\":true}", 1, {0}},
    {"{\"json\":false}", 0, {0}},
    {"{\"json\":false}", 1, {.value = "{\"a\":1,}"}},
    {"{\"json\":true}", 0, {.value = ""}},
    {"{\"json\":true}", 0, {.value = NULLV}},
    {"{\"json\":true}", 1, {.value = "3"}},
    /* a field of a value that is not JSON: every operator false */
    {"{\"field\":\"/type\",\"eq\":\"play\"}",
     0,
     {.value = "{\"type\":\"play\""}},
    {"{\"field\":\"/type\",\"ne\":\"skip\"}", 0, {.value = "x"}},
    {"{\"not\":{\"field\":\"/type\",\"eq\":\"play\"}}", 1, {.value = "x"}},
    {"{\"field\":\"/type\",\"eq\":\"play\"}", 0, {.value = NULLV}},
    /* key: raw bytes; a null key makes everything false */
    {"{\"key\":true,\"eq\":\"u1\"}", 1, {0}},
    {"{\"key\":true,\"eq\":\"u2\"}", 0, {0}},
    {"{\"key\":true,\"ne\":\"u2\"}", 1, {0}},
    {"{\"key\":true,\"in\":[\"a\",\"u1\"]}", 1, {0}},
    {"{\"key\":true,\"prefix\":\"u\"}", 1, {0}},
    {"{\"key\":true,\"regex\":\"^u\\\\d$\"}", 1, {0}},
    {"{\"key\":true,\"gt\":9}", 1, {.key = "17"}},
    {"{\"key\":true,\"gt\":9}", 0, {.key = "u1"}},
    {"{\"key\":true,\"lt\":0}", 1, {.key = "-1.5e1"}},
    {"{\"key\":true,\"gt\":0}", 0, {.key = "+1"}},
    {"{\"key\":true,\"gt\":0}", 0, {.key = " 1"}},
    {"{\"key\":true,\"gt\":0}", 0, {.key = "1."}},
    {"{\"key\":true,\"gt\":0}", 0, {.key = ""}},
    {"{\"key\":true,\"eq\":\"\"}", 1, {.key = ""}},
    {"{\"key\":true,\"eq\":\"u1\"}", 0, {.key = NULLV}},
    {"{\"key\":true,\"ne\":\"x\"}", 0, {.key = NULLV}},
    {"{\"key\":true,\"regex\":\".*\"}", 0, {.key = NULLV}},
    {"{\"not\":{\"key\":true,\"eq\":\"x\"}}", 1, {.key = NULLV}},
    /* header: the last one of the name; absent or null: false */
    {"{\"header\":\"tier\",\"eq\":\"vip\"}", 1, {.hdrs = TIER_VIP}},
    {"{\"header\":\"tier\",\"eq\":\"vip\"}", 0, {0}},
    {"{\"header\":\"tier\",\"ne\":\"x\"}", 0, {0}},
    {"{\"header\":\"tier\",\"ne\":\"x\"}", 1, {.hdrs = TIER_VIP}},
    {"{\"header\":\"tiers\",\"eq\":\"vip\"}", 0, {.hdrs = TIER_VIP}},
    {"{\"header\":\"nullh\",\"ne\":\"x\"}", 0, {.hdrs = TIER_VIP}},
    {"{\"header\":\"num\",\"ge\":42}", 1, {.hdrs = TIER_VIP}},
    {"{\"header\":\"tier\",\"regex\":\"^v\"}", 1, {.hdrs = TIER_VIP}},
    {"{\"header\":\"tier\",\"prefix\":\"vi\"}", 1, {.hdrs = TIER_VIP}},
    {"{\"header\":\"tier\",\"in\":[\"gold\",\"vip\"]}", 1, {.hdrs = TIER_VIP}},
    {"{\"header\":\"tier\",\"eq\":\"vip\"}",
     1,
     {.hdrs = {"tier", "free", "tier", "vip", NULL}}},
    {"{\"header\":\"tier\",\"eq\":\"free\"}",
     0,
     {.hdrs = {"tier", "free", "tier", "vip", NULL}}},
    /* topic */
    {"{\"topic\":true,\"eq\":\"music.events\"}", 1, {0}},
    {"{\"topic\":true,\"eq\":\"music\"}", 0, {0}},
    {"{\"topic\":true,\"prefix\":\"music.\"}", 1, {0}},
    {"{\"topic\":true,\"regex\":\"events$\"}", 1, {0}},
    {"{\"topic\":true,\"in\":[\"a\",\"b\"]}", 0, {0}},
    {"{\"topic\":true,\"ne\":\"a\"}", 1, {.topic = "a.b"}},
    /* partition (3) */
    {"{\"partition\":true,\"eq\":3}", 1, {.partition = 3}},
    {"{\"partition\":true,\"ne\":3}", 0, {.partition = 3}},
    {"{\"partition\":true,\"in\":[1,3]}", 1, {.partition = 3}},
    {"{\"partition\":true,\"lt\":4}", 1, {.partition = 3}},
    {"{\"partition\":true,\"ge\":4}", 0, {.partition = 3}},
    /* value: raw bytes */
    {"{\"value\":true,\"regex\":\"\\\"play\\\"\"}", 1, {0}},
    {"{\"value\":true,\"prefix\":\"{\"}", 1, {0}},
    {"{\"value\":true,\"eq\":\"abc\"}", 1, {.value = "abc"}},
    {"{\"value\":true,\"eq\":\"ab\"}", 0, {.value = "abc"}},
    {"{\"value\":true,\"gt\":12}", 1, {.value = "12.5"}},
    {"{\"value\":true,\"gt\":12}", 0, {.value = "12.5 "}},
    {"{\"value\":true,\"regex\":\"\"}", 0, {.value = NULLV}},
    {"{\"value\":true,\"regex\":\"^\\\\x{ff}\"}", 0, {.value = "\xff\xfe"}},
    {"{\"value\":true,\"regex\":\"b$\"}", 1, {.value = "\xff\xfe b"}},
    /* size: bytes of the value, null is 0 */
    {"{\"size\":{\"gt\":10}}", 1, {0}},
    {"{\"size\":{\"eq\":0}}", 1, {.value = NULLV}},
    {"{\"size\":{\"eq\":0}}", 1, {.value = ""}},
    {"{\"size\":{\"lt\":3}}", 0, {.value = "abc"}},
    {"{\"size\":{\"le\":3}}", 1, {.value = "abc"}},
    {"{\"size\":{\"in\":[3,4]}}", 1, {.value = "abc"}},
    {"{\"size\":{\"ne\":3}}", 0, {.value = "abc"}},
    /* combinators */
    {"{\"all\":[]}", 1, {0}},
    {"{\"any\":[]}", 0, {0}},
    {"{\"not\":{\"all\":[]}}", 0, {0}},
    {"{\"all\":[{\"field\":\"/type\",\"eq\":\"play\"},{\"key\":true,"
     "\"eq\":\"u1\"}]}",
     1,
     {0}},
    {"{\"all\":[{\"field\":\"/type\",\"eq\":\"play\"},{\"key\":true,"
     "\"eq\":\"u2\"}]}",
     0,
     {0}},
    {"{\"all\":[{\"field\":\"/type\",\"eq\":\"skip\"},{\"key\":true,"
     "\"eq\":\"u1\"}]}",
     0,
     {0}},
    {"{\"any\":[{\"exists\":\"/nope\"},{\"field\":\"/type\",\"eq\":"
     "\"play\"}]}",
     1,
     {0}},
    {"{\"any\":[{\"exists\":\"/nope\"},{\"field\":\"/type\",\"eq\":"
     "\"x\"}]}",
     0,
     {0}},
    {"{\"not\":{\"any\":[{\"exists\":\"/nope\"},{\"json\":false}]}}", 1, {0}},
};

static void test_every_operator_subject_and_combinator(void **state)
{
    rules_scratch_t *sc = rules_scratch_create();
    size_t i;
    unsigned flags;

    (void)state;
    assert_non_null(sc);
    for (i = 0; i < sizeof(op_cases) / sizeof(op_cases[0]); i++) {
        for (flags = 0; flags <= RULES_LOAD_NO_INDEX; flags++) {
            const op_case_t *c = &op_cases[i];
            rules_set_t *rs = one_route(c->cond, flags);
            rules_msg_t v = view(&c->m);
            const rules_result_t *r = rules_eval(rs, &v, sc);

            assert_non_null(r);
            if ((int)r->nmatched != c->want)
                fail_msg("case %zu %s: matched %zu, want %d (flags %u)", i,
                         c->cond, r->nmatched, c->want, flags);
            assert_int_equal(r->dead_letter, 0);
            assert_int_equal(r->ndests, (size_t)c->want);
            assert_int_equal(r->unmatched, !c->want);
            rules_destroy(rs);
        }
    }
    rules_scratch_destroy(sc);
}

/* ---- evaluation order, results ------------------------------------------- */

typedef struct order_case {
    const char *name;
    tmsg_t m;
    const char *want;   /* res_str() */
    const char *detail; /* substring of the detail, or NULL */
} order_case_t;

static const order_case_t order_cases[] = {
    {"not JSON: first anomaly, nothing else",
     {.value = "{\"uid\":"},
     "d= dl=not_json m= u=0",
     "anomalies[0] \"not_json\": the value is not JSON: "},
    {"null value is not JSON",
     {.value = NULLV},
     "d= dl=not_json m= u=0",
     "anomalies[0] \"not_json\": the value is null"},
    {"first matching anomaly wins",
     {.value = "{\"type\":\"play\"}"},
     "d= dl=no_user m= u=0",
     "anomalies[1] \"no_user\": /uid is missing"},
    {"every matching route in order",
     {.value = "{\"uid\":\"u1\",\"type\":\"play\"}"},
     "d=music.play,music.type.play,music.after dl=- m=0,2,4 u=0",
     NULL},
    {"a topic named twice is produced once",
     {.value = "{\"uid\":\"u1\",\"type\":\"play\",\"query\":\"jay\"}"},
     "d=music.play,music.search,audit.search,music.type.play,music.after "
     "dl=- m=0,1,2,4 u=0",
     NULL},
    {"stop ends the routes",
     {.value = "{\"uid\":\"u9\",\"type\":\"skip\"}",
      .hdrs = {"tier", "vip", NULL}},
     "d=music.type.skip,music.vip dl=- m=2,3 u=0",
     NULL},
    {"a bad destination dead-letters and the rest is produced",
     {.value = "{\"uid\":\"u1\",\"type\":\"a b\"}"},
     "d=music.after dl=bad_destination m=2,4 u=0",
     "routes[2].to: \"music.type.a b\" is not a valid topic name"},
    {"a number fills a template",
     {.value = "{\"uid\":\"u1\",\"type\":7}"},
     "d=music.type.7,music.after dl=- m=2,4 u=0",
     NULL},
    {"an object does not fill a template",
     {.value = "{\"uid\":\"u1\",\"type\":{}}"},
     "d=music.after dl=bad_destination m=2,4 u=0",
     "routes[2].to: ${/type} is not a string or number"},
};

static void test_evaluation_order_and_results(void **state)
{
    rules_set_t *rs = load_or_fail(design_example, 0);
    rules_scratch_t *sc = rules_scratch_create();
    char buf[512];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(order_cases) / sizeof(order_cases[0]); i++) {
        const order_case_t *c = &order_cases[i];
        rules_msg_t v = view(&c->m);
        const rules_result_t *r = rules_eval(rs, &v, sc);

        assert_non_null(r);
        if (strcmp(res_str(r, buf, sizeof(buf)), c->want) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", c->name, buf, c->want);
        assert_non_null(r->detail);
        if (c->detail != NULL && strstr(r->detail, c->detail) == NULL)
            fail_msg("%s: detail \"%s\", want \"%s\"", c->name, r->detail,
                     c->detail);
        if (!r->dead_letter)
            assert_int_equal(r->anomaly, -1);
    }
    rules_scratch_destroy(sc);
    rules_destroy(rs);
}

static void test_result_fields_of_routes_and_anomalies(void **state)
{
    rules_set_t *rs = load_or_fail(design_example, 0);
    rules_scratch_t *sc = rules_scratch_create();
    tmsg_t m = {.partition = 7,
                .key = "src",
                .value = "{\"uid\":\"u9\",\"type\":\"play\","
                         "\"query\":\"JAY\"}",
                .hdrs = {"tier", "vip", NULL}};
    rules_msg_t v = view(&m);
    const rules_result_t *r = rules_eval(rs, &v, sc);
    char big[70000];
    size_t i;

    (void)state;
    assert_non_null(r);
    /* plays, search, typed, vip (stop) */
    assert_int_equal(r->nmatched, 4);
    assert_int_equal(r->ndests, 5);
    for (i = 0; i < 4; i++) { /* the source key, any partition */
        assert_int_equal(r->dests[i].key_len, 3);
        assert_memory_equal(r->dests[i].key, "src", 3);
        assert_int_equal(r->dests[i].partition, RULES_PARTITION_ANY);
    }
    assert_int_equal(r->dests[0].route, 0);
    assert_int_equal(r->dests[1].route, 1);
    assert_int_equal(r->dests[2].route, 1);
    assert_int_equal(r->dests[3].route, 2);
    assert_string_equal(r->dests[4].topic, "music.vip");
    assert_int_equal(r->dests[4].route, 3);
    assert_int_equal(r->dests[4].key_len, 2); /* "key": "${/uid}" */
    assert_memory_equal(r->dests[4].key, "u9", 2);
    assert_int_equal(r->route, -1);
    assert_int_equal(r->anomaly, -1);

    /* "partition": "source" */
    m.hdrs[0] = NULL;
    v = view(&m);
    r = rules_eval(rs, &v, sc);
    assert_non_null(r);
    assert_string_equal(r->dests[r->ndests - 1].topic, "music.after");
    assert_int_equal(r->dests[r->ndests - 1].partition, 7);

    /* oversize: the third anomaly, with the size in the detail */
    memset(big, ' ', sizeof(big));
    memcpy(big, "{\"uid\":\"u\"}", 11);
    big[sizeof(big) - 1] = '\0';
    m.value = big;
    v = view(&m);
    r = rules_eval(rs, &v, sc);
    assert_non_null(r);
    assert_int_equal(r->dead_letter, 1);
    assert_string_equal(r->reason, "oversize");
    assert_int_equal(r->anomaly, 2);
    assert_int_equal(r->route, -1);
    assert_int_equal(r->ndests, 0);
    assert_string_equal(r->detail, "anomalies[2] \"oversize\": the value is "
                                   "69999 bytes: {\"size\":{\"gt\":65536}}");
    rules_scratch_destroy(sc);
    rules_destroy(rs);
}

static void
test_first_route_naming_a_topic_decides_key_and_partition(void **state)
{
    rules_set_t *rs = load_or_fail(
        HEAD DL "\"routes\":["
                "{\"name\":\"a\",\"if\":{\"all\":[]},\"to\":[\"x\",\"y\"]},"
                "{\"name\":\"b\",\"if\":{\"all\":[]},\"to\":[\"y\",\"z\","
                "\"x\"],\"key\":\"${/uid}\",\"partition\":\"source\"},"
                "{\"name\":\"c\",\"if\":{\"all\":[]},\"to\":\"${/k}\"}]}",
        0);
    rules_scratch_t *sc = rules_scratch_create();
    tmsg_t m = {
        .partition = 5, .key = "src", .value = "{\"uid\":\"u7\",\"k\":\"z\"}"};
    rules_msg_t v = view(&m);
    const rules_result_t *r = rules_eval(rs, &v, sc);
    char buf[256];

    (void)state;
    assert_non_null(r);
    assert_string_equal(res_str(r, buf, sizeof(buf)),
                        "d=x,y,z dl=- m=0,1,2 u=0");
    assert_int_equal(r->dests[1].route, 0); /* y: route a's */
    assert_int_equal(r->dests[1].partition, RULES_PARTITION_ANY);
    assert_memory_equal(r->dests[1].key, "src", 3);
    assert_int_equal(r->dests[2].route, 1); /* z: route b's */
    assert_int_equal(r->dests[2].partition, 5);
    assert_int_equal(r->dests[2].key_len, 2);
    assert_memory_equal(r->dests[2].key, "u7", 2);
    rules_scratch_destroy(sc);
    rules_destroy(rs);
}

static void test_unmatched_drop_dead_letter_or_topic(void **state)
{
    static const struct {
        const char *unmatched;
        const char *want;
    } cases[] = {
        {"\"drop\"", "d= dl=- m= u=1"},
        {"\"dead_letter\"", "d= dl=unmatched m= u=1"},
        {"{\"topic\":\"other\"}", "d=other dl=- m= u=1"},
    };
    rules_scratch_t *sc = rules_scratch_create();
    tmsg_t m = {0};
    rules_msg_t v = view(&m);
    char text[512], buf[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rules_set_t *rs;
        const rules_result_t *r;

        snprintf(text, sizeof(text),
                 HEAD DL "\"unmatched\":%s,\"routes\":[{\"name\":\"r\","
                         "\"if\":{\"field\":\"/type\",\"eq\":\"skip\"},"
                         "\"to\":\"o\"}]}",
                 cases[i].unmatched);
        rs = load_or_fail(text, 0);
        r = rules_eval(rs, &v, sc);
        assert_non_null(r);
        assert_string_equal(res_str(r, buf, sizeof(buf)), cases[i].want);
        if (r->ndests == 1) {
            assert_int_equal(r->dests[0].route, -1);
            assert_memory_equal(r->dests[0].key, "u1", 2);
        }
        if (r->dead_letter) {
            assert_string_equal(r->detail, "no route matched");
            assert_int_equal(r->route, -1);
        }
        rules_destroy(rs);
    }
    rules_scratch_destroy(sc);
}

/* ---- templates ----------------------------------------------------------- */

typedef struct tmpl_case {
    const char *to;  /* JSON text of "to" */
    const char *key; /* JSON text of "key", or NULL */
    tmsg_t m;
    const char *topics; /* the destinations, "a,b" */
    const char *dkey;   /* the first destination's key; NULL: null key */
    const char *detail; /* bad_destination detail, or NULL */
} tmpl_case_t;

static const tmpl_case_t tmpl_cases[] = {
    {"\"t.${/type}\"", NULL, {.partition = 3}, "t.play", "u1", NULL},
    {"\"t.${/n}.${/f}\"", NULL, {0}, "t.5.1.5", "u1", NULL},
    {"\"${/type}${/type}\"", NULL, {0}, "playplay", "u1", NULL},
    {"\"t.${key}\"", NULL, {0}, "t.u1", "u1", NULL},
    {"\"t.${topic}\"", NULL, {0}, "t.music.events", "u1", NULL},
    {"\"t.${partition}\"", NULL, {.partition = 11}, "t.11", "u1", NULL},
    {"\"t.${header:tier}\"", NULL, {.hdrs = TIER_VIP}, "t.vip", "u1", NULL},
    {"\"t.${/k}\"",
     "\"a$b-${/uid}-${partition}\"",
     {.partition = 2},
     "t.music",
     "a$b-u1-2",
     NULL},
    {"\"o\"", "\"${header:tier}\"", {.hdrs = TIER_VIP}, "o", "vip", NULL},
    {"\"o\"", "\"\"", {0}, "o", "", NULL},
    {"\"o\"",
     "\"${key}\"",
     {.key = NULLV},
     "",
     NULL,
     "routes[0].key: ${key} is null"},
    {"\"o\"", NULL, {.key = NULLV}, "o", NULL, NULL},
    {"\"t.${key}\"",
     NULL,
     {.key = NULLV},
     "",
     NULL,
     "routes[0].to: ${key} is null"},
    {"\"t.${header:tier}\"",
     NULL,
     {0},
     "",
     NULL,
     "routes[0].to: ${header:tier} is missing"},
    {"\"t.${header:nullh}\"",
     NULL,
     {.hdrs = TIER_VIP},
     "",
     NULL,
     "routes[0].to: ${header:nullh} is missing"},
    {"\"t.${/nope}\"",
     NULL,
     {0},
     "",
     NULL,
     "routes[0].to: ${/nope} is missing"},
    {"\"t.${/type}\"",
     NULL,
     {.value = "x"},
     "",
     NULL,
     "routes[0].to: ${/type} is missing (the value is not JSON)"},
    {"\"t.${/o}\"",
     NULL,
     {0},
     "",
     NULL,
     "routes[0].to: ${/o} is not a string or number"},
    {"\"t.${/z}\"",
     NULL,
     {0},
     "",
     NULL,
     "routes[0].to: ${/z} is not a string or number"},
    {"\"t.${/sp}\"",
     NULL,
     {0},
     "",
     NULL,
     "routes[0].to: \"t.a b\" is not a valid topic name"},
    {"\"${/esc}\"",
     NULL,
     {0},
     "",
     NULL,
     "routes[0].to: \"a\\x22b\\xc3\\xa9\" is not a valid topic name"},
    {"\"${/dot}\"",
     NULL,
     {.value = "{\"dot\":\"..\"}"},
     "",
     NULL,
     "is not a valid topic name"},
    {"\"${/e}\"",
     NULL,
     {.value = "{\"e\":\"\"}"},
     "",
     NULL,
     "routes[0].to: \"\" is not a valid topic name"},
    /* first failure wins, the other destinations are produced */
    {"[\"ok\",\"x.${/nope}\",\"y.${/o}\",\"t.${/type}\"]",
     NULL,
     {0},
     "ok,t.play",
     "u1",
     "routes[0].to[1]: ${/nope} is missing"},
    /* a key that cannot be filled: none of the route's destinations */
    {"[\"a\",\"b\"]",
     "\"${/nope}\"",
     {0},
     "",
     NULL,
     "routes[0].key: ${/nope} is missing"},
    /* a template naming a literal topic of the same route: once */
    {"[\"t.play\",\"t.${/type}\"]", NULL, {0}, "t.play", "u1", NULL},
    {"[\"t.${/type}\",\"t.play\"]", NULL, {0}, "t.play", "u1", NULL},
};

static void test_templates_fill_or_dead_letter(void **state)
{
    rules_scratch_t *sc = rules_scratch_create();
    char text[1024], topics[512];
    size_t i, k, o;

    (void)state;
    for (i = 0; i < sizeof(tmpl_cases) / sizeof(tmpl_cases[0]); i++) {
        const tmpl_case_t *c = &tmpl_cases[i];
        rules_msg_t v = view(&c->m);
        const rules_result_t *r;
        rules_set_t *rs;

        snprintf(text, sizeof(text),
                 HEAD DL "\"routes\":[{\"name\":\"r\",\"if\":{\"all\":[]},"
                         "\"to\":%s%s%s}]}",
                 c->to, c->key != NULL ? ",\"key\":" : "",
                 c->key != NULL ? c->key : "");
        rs = load_or_fail(text, 0);
        r = rules_eval(rs, &v, sc);
        assert_non_null(r);
        for (k = 0, o = 0, topics[0] = '\0'; k < r->ndests; k++)
            o += (size_t)snprintf(topics + o, sizeof(topics) - o, "%s%s",
                                  k ? "," : "", r->dests[k].topic);
        if (strcmp(topics, c->topics) != 0)
            fail_msg("case %zu: topics \"%s\", want \"%s\"", i, topics,
                     c->topics);
        if (r->ndests > 0 && c->dkey == NULL)
            assert_null(r->dests[0].key);
        if (r->ndests > 0 && c->dkey != NULL) {
            assert_int_equal(r->dests[0].key_len, strlen(c->dkey));
            assert_memory_equal(r->dests[0].key, c->dkey, strlen(c->dkey));
        }
        assert_int_equal(r->dead_letter, c->detail != NULL);
        if (c->detail != NULL) {
            assert_string_equal(r->reason, "bad_destination");
            assert_int_equal(r->route, 0);
            if (strcmp(r->detail, c->detail) != 0 &&
                strstr(r->detail, c->detail) == NULL)
                fail_msg("case %zu: detail \"%s\", want \"%s\"", i, r->detail,
                         c->detail);
        }
        assert_int_equal(r->nmatched, 1);
        rules_destroy(rs);
    }
    rules_scratch_destroy(sc);
}

/* Evaluate rs on {"a": "<n zeros>"}: the template "x.${/a}" makes a
 * topic name of n + 2 characters. */
static const rules_result_t *eval_zeros(rules_set_t *rs, rules_scratch_t *sc,
                                        int n)
{
    static char value[400];
    tmsg_t m = {.value = value};
    rules_msg_t v;
    const rules_result_t *r;

    snprintf(value, sizeof(value), "{\"a\":\"%0*d\"}", n, 0);
    v = view(&m);
    r = rules_eval(rs, &v, sc);
    assert_non_null(r);
    return r;
}

static void test_long_template_is_a_bad_destination(void **state)
{
    rules_set_t *rs = load_or_fail(HEAD DL "\"routes\":[{\"name\":\"r\","
                                           "\"if\":{\"all\":[]},"
                                           "\"to\":\"x.${/a}\"}]}",
                                   0);
    rules_scratch_t *sc = rules_scratch_create();
    const rules_result_t *r;

    (void)state;
    r = eval_zeros(rs, sc, 300);
    assert_int_equal(r->ndests, 0);
    assert_int_equal(r->dead_letter, 1);
    assert_string_equal(r->reason, "bad_destination");
    assert_int_equal(r->route, 0);
    assert_non_null(strstr(r->detail, "is not a valid topic name"));
    /* one character too many: 250 */
    r = eval_zeros(rs, sc, 248);
    assert_int_equal(r->ndests, 0);
    assert_int_equal(r->dead_letter, 1);
    assert_string_equal(r->reason, "bad_destination");
    /* 249 characters is fine */
    r = eval_zeros(rs, sc, 247);
    assert_int_equal(r->ndests, 1);
    assert_int_equal(r->dead_letter, 0);
    assert_int_equal(strlen(r->dests[0].topic), 249);
    rules_scratch_destroy(sc);
    rules_destroy(rs);
}

/* ---- regex limits -------------------------------------------------------- */

static void test_regex_limit_dead_letters_never_stalls(void **state)
{
    char value[128];
    rules_set_t *rs = load_or_fail(
        HEAD DL "\"anomalies\":[{\"name\":\"evil\",\"if\":{\"not\":{"
                "\"header\":\"h\",\"regex\":\"^(a|aa)+$\"}}}],"
                "\"routes\":[{\"name\":\"ok\",\"if\":{\"all\":[]},"
                "\"to\":\"o\"},{\"name\":\"bad\",\"if\":{\"any\":["
                "{\"field\":\"/nope\",\"eq\":1},{\"field\":\"/a\","
                "\"regex\":\"^(a|aa)+$\"}]},\"to\":\"p\"}]}",
        0);
    rules_scratch_t *sc = rules_scratch_create();
    tmsg_t m = {.value = value, .hdrs = {"h", "a", NULL}};
    rules_msg_t v;
    const rules_result_t *r;

    (void)state;
    /* harmless subjects first */
    snprintf(value, sizeof(value), "{\"a\":\"aaaa\"}");
    v = view(&m);
    r = rules_eval(rs, &v, sc);
    assert_non_null(r);
    assert_int_equal(r->nmatched, 2);
    assert_int_equal(r->dead_letter, 0);
    /* the route's regex explodes: dead letter, nothing produced */
    snprintf(value, sizeof(value), "{\"a\":\"%s!\"}",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    v = view(&m);
    r = rules_eval(rs, &v, sc);
    assert_non_null(r);
    assert_int_equal(r->dead_letter, 1);
    assert_string_equal(r->reason, "regex_limit");
    assert_int_equal(r->route, 1);
    assert_int_equal(r->anomaly, -1);
    assert_int_equal(r->ndests, 0);
    assert_int_equal(r->nmatched, 0);
    if (strcmp(r->detail, "routes[1].if.any[1].regex: match limit hit") != 0 &&
        strcmp(r->detail, "routes[1].if.any[1].regex: JIT stack limit hit"))
        fail_msg("detail \"%s\"", r->detail);
    /* the anomaly's regex explodes */
    m.hdrs[1] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!";
    v = view(&m);
    r = rules_eval(rs, &v, sc);
    assert_non_null(r);
    assert_string_equal(r->reason, "regex_limit");
    if (strstr(r->detail, "anomalies[0].if.not.regex: ") == NULL)
        fail_msg("detail \"%s\"", r->detail);
    assert_int_equal(r->route, -1);
    rules_scratch_destroy(sc);
    rules_destroy(rs);
}

/* ---- the index ----------------------------------------------------------- */

static void test_eq_routes_are_indexed(void **state)
{
    rules_set_t *rs = load_or_fail(
        HEAD DL "\"routes\":["
                "{\"name\":\"a\",\"if\":{\"field\":\"/t\",\"eq\":\"x\"},"
                "\"to\":\"o\"},"
                "{\"name\":\"b\",\"if\":{\"field\":\"/t\",\"in\":[1,\"y\"]},"
                "\"to\":\"o\"},"
                "{\"name\":\"c\",\"if\":{\"all\":[{\"field\":\"/u\",\"eq\":"
                "true},{\"key\":true,\"eq\":\"k\"}]},\"to\":\"o\"},"
                "{\"name\":\"d\",\"if\":{\"field\":\"/t\",\"ne\":\"x\"},"
                "\"to\":\"o\"},"
                "{\"name\":\"e\",\"if\":{\"any\":[{\"field\":\"/t\",\"eq\":"
                "\"x\"}]},\"to\":\"o\"}]}",
        0);

    (void)state;
    assert_int_equal(rs->nplain, 2); /* d and e */
    assert_int_equal(rs->plain[0], 3);
    assert_int_equal(rs->plain[1], 4);
    assert_int_equal(rs->nislots, 2); /* /t and /u */
    /* what is left to check once a route is a candidate */
    assert_int_equal(rs->routes[0].nrest, 0); /* the lone eq: nothing */
    assert_int_equal(rs->routes[1].nrest, 0);
    assert_int_equal(rs->routes[2].nrest, 1); /* the key test */
    assert_ptr_equal(rs->routes[2].rest, &rs->routes[2].cond.kids[1]);
    assert_int_equal(rs->routes[2].indexed, 1);
    assert_int_equal(rs->routes[3].indexed, 0); /* its whole "if" */
    assert_int_equal(rs->routes[4].indexed, 0);
    assert_int_equal(rs->index.n, 4); /* "x", 1, "y", true */
    rules_destroy(rs);
}

/* xorshift64*: deterministic randomness for the tests. */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static const char *const rnd_values[] = {
    "\"v0\"", "\"v1\"", "\"v\\u0031\"", "\"v2\"", "0",    "1",    "1.0", "1e0",
    "-0",     "2",      "true",         "false",  "null", "\"\"", "[1]", "{}"};
#define NVALUES (sizeof(rnd_values) / sizeof(rnd_values[0]))

/* A random condition that the index can take (field eq/in on /a or /b). */
static size_t rnd_indexable(uint64_t *s, char *out, size_t cap)
{
    const char *f = rnd(s) % 2 ? "/a" : "/b";
    size_t o, k, n;

    if (rnd(s) % 2)
        return (size_t)snprintf(out, cap, "{\"field\":\"%s\",\"eq\":%s}", f,
                                rnd_values[rnd(s) % (NVALUES - 2)]);
    o = (size_t)snprintf(out, cap, "{\"field\":\"%s\",\"in\":[", f);
    n = 1 + rnd(s) % 3;
    for (k = 0; k < n; k++)
        o += (size_t)snprintf(out + o, cap - o, "%s%s", k ? "," : "",
                              rnd_values[rnd(s) % (NVALUES - 2)]);
    return o + (size_t)snprintf(out + o, cap - o, "]}");
}

static size_t rnd_other(uint64_t *s, char *out, size_t cap)
{
    static const char *const others[] = {
        "{\"field\":\"/a\",\"prefix\":\"v\"}",
        "{\"exists\":\"/b\"}",
        "{\"key\":true,\"eq\":\"k1\"}",
        "{\"header\":\"h\",\"eq\":\"x\"}",
        "{\"all\":[]}",
        "{\"field\":\"/a\",\"ne\":\"v1\"}",
        "{\"field\":\"/b\",\"regex\":\"^v\"}",
        "{\"any\":[{\"field\":\"/a\",\"eq\":1},{\"json\":false}]}",
        "{\"not\":{\"field\":\"/b\",\"eq\":\"v2\"}}",
        "{\"field\":\"/a\",\"gt\":0}",
        "{\"field\":\"/b\",\"regex\":\"^(v|vv)+$\"}", /* can blow up */
    };
    size_t n = sizeof(others) / sizeof(*others);

    return (size_t)snprintf(out, cap, "%s", others[rnd(s) % n]);
}

static char *rnd_rules(uint64_t *s, size_t nroutes)
{
    size_t cap = nroutes * 400 + 1024, o, i;
    char *t = malloc(cap);

    assert_non_null(t);
    o = (size_t)snprintf(t, cap,
                         HEAD DL "\"unmatched\":{\"topic\":\"un\"},"
                                 "\"routes\":[");
    for (i = 0; i < nroutes; i++) {
        unsigned kind = (unsigned)(rnd(s) % 4);

        o += (size_t)snprintf(t + o, cap - o,
                              "%s{\"name\":\"r%zu\",\"if\":", i ? "," : "", i);
        if (kind == 0) {
            o += rnd_other(s, t + o, cap - o);
        } else if (kind == 1) { /* "all" led by an indexable condition */
            o += (size_t)snprintf(t + o, cap - o, "{\"all\":[");
            o += rnd_indexable(s, t + o, cap - o);
            o += (size_t)snprintf(t + o, cap - o, ",");
            o += rnd_other(s, t + o, cap - o);
            o += (size_t)snprintf(t + o, cap - o, "]}");
        } else {
            o += rnd_indexable(s, t + o, cap - o);
        }
        if (rnd(s) % 4 == 0)
            o += (size_t)snprintf(t + o, cap - o, ",\"to\":\"t.${/a}\"");
        else
            o += (size_t)snprintf(t + o, cap - o, ",\"to\":[\"d%u\",\"d%u\"]",
                                  (unsigned)(rnd(s) % 20),
                                  (unsigned)(rnd(s) % 20));
        if (rnd(s) % 10 == 0)
            o += (size_t)snprintf(t + o, cap - o, ",\"stop\":true");
        if (rnd(s) % 8 == 0)
            o += (size_t)snprintf(t + o, cap - o, ",\"key\":\"${/b}\"");
        if (rnd(s) % 8 == 0)
            o += (size_t)snprintf(t + o, cap - o, ",\"partition\":\"source\"");
        o += (size_t)snprintf(t + o, cap - o, "}");
    }
    snprintf(t + o, cap - o, "]}");
    return t;
}

/* Compare two results field by field. */
static void same_result(const rules_result_t *a, const rules_result_t *b,
                        const char *msg)
{
    size_t i;

    if (a->ndests != b->ndests || a->nmatched != b->nmatched ||
        a->dead_letter != b->dead_letter || a->route != b->route ||
        a->anomaly != b->anomaly || a->unmatched != b->unmatched ||
        strcmp(a->detail, b->detail) != 0)
        fail_msg("results differ for %s", msg);
    if (a->dead_letter)
        assert_string_equal(a->reason, b->reason);
    for (i = 0; i < a->nmatched; i++)
        assert_int_equal(a->matched[i], b->matched[i]);
    for (i = 0; i < a->ndests; i++) {
        const rules_dest_t *x = &a->dests[i], *y = &b->dests[i];
        assert_string_equal(x->topic, y->topic);
        assert_int_equal(x->route, y->route);
        assert_int_equal(x->partition, y->partition);
        assert_int_equal(x->key_len, y->key_len);
        if (x->key == NULL || y->key == NULL)
            assert_ptr_equal(x->key, y->key);
        else
            assert_memory_equal(x->key, y->key, x->key_len);
    }
}

static void test_index_gives_the_same_results_as_no_index(void **state)
{
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    rules_scratch_t *sa = rules_scratch_create(), *sb = rules_scratch_create();
    size_t set, i, matched = 0, stops = 0, dl = 0, limits = 0;
    char value[256];

    (void)state;
    for (set = 0; set < 20; set++) {
        char *text = rnd_rules(&s, 10 + rnd(&s) % 150);
        rules_set_t *ra = load_or_fail(text, 0);
        rules_set_t *rb = load_or_fail(text, RULES_LOAD_NO_INDEX);

        assert_true(ra->nplain < rb->nplain);
        for (i = 0; i < 300; i++) {
            tmsg_t m = {.key = rnd(&s) % 2 ? "k1" : NULLV, .value = value};
            const rules_result_t *a, *b;
            rules_msg_t v;

            if (rnd(&s) % 3 == 0)
                m.hdrs[0] = "h", m.hdrs[1] = "x";
            switch (rnd(&s) % 20) {
            case 0: /* not JSON */
                snprintf(value, sizeof(value), "{\"a\":");
                break;
            case 1: /* roots that are no object */
                snprintf(value, sizeof(value), "[%s]",
                         rnd_values[rnd(&s) % NVALUES]);
                break;
            case 2:
                snprintf(value, sizeof(value), "%s",
                         rnd_values[rnd(&s) % NVALUES]);
                break;
            case 3: /* the regex of rnd_other() hits its limit */
                snprintf(value, sizeof(value), "{\"a\":%s,\"b\":\"%s!\"}",
                         rnd_values[rnd(&s) % NVALUES],
                         "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv");
                break;
            default:
                snprintf(value, sizeof(value), "{\"a\":%s,\"b\":%s}",
                         rnd_values[rnd(&s) % NVALUES],
                         rnd_values[rnd(&s) % NVALUES]);
                break;
            }
            v = view(&m);
            a = rules_eval(ra, &v, sa);
            b = rules_eval(rb, &v, sb);
            assert_non_null(a);
            assert_non_null(b);
            same_result(a, b, value);
            matched += a->nmatched;
            dl += (size_t)a->dead_letter;
            limits += a->dead_letter && strcmp(a->reason, "regex_limit") == 0;
            stops +=
                a->nmatched > 0 && ra->routes[a->matched[a->nmatched - 1]].stop;
        }
        rules_destroy(ra);
        rules_destroy(rb);
        free(text);
    }
    /* the comparison covered matches, stops, dead letters, regex limits */
    assert_true(matched > 1000);
    assert_true(stops > 50);
    assert_true(dl > 50);
    assert_true(limits > 10);
    rules_scratch_destroy(sa);
    rules_scratch_destroy(sb);
}

static void test_ten_thousand_routes_load_and_route(void **state)
{
    size_t cap = 10000 * 120 + 256, o, i;
    char *t = malloc(cap);
    rules_scratch_t *sc = rules_scratch_create();
    tmsg_t m = {.value = "{\"song\":\"s7777\",\"uid\":\"u5\"}"};
    rules_msg_t v = view(&m);
    const rules_result_t *r;
    rules_set_t *rs;

    (void)state;
    assert_non_null(t);
    o = (size_t)snprintf(t, cap, HEAD DL "\"routes\":[");
    for (i = 0; i < 10000; i++)
        o += (size_t)snprintf(t + o, cap - o,
                              "%s{\"name\":\"song%zu\",\"if\":{\"field\":"
                              "\"/song\",\"eq\":\"s%zu\"},\"to\":\"song.%zu\"}",
                              i ? "," : "", i, i, i % 500);
    snprintf(t + o, cap - o, "]}");
    rs = load_or_fail(t, 0);
    assert_int_equal(rules_route_count(rs), 10000);
    assert_int_equal(rules_topic_count(rs), 501);
    assert_int_equal(rs->nplain, 0);
    r = rules_eval(rs, &v, sc);
    assert_non_null(r);
    assert_int_equal(r->nmatched, 1);
    assert_int_equal(r->matched[0], 7777);
    assert_string_equal(r->dests[0].topic, "song.277");
    rules_destroy(rs);
    rules_scratch_destroy(sc);
    free(t);
}

/* One-segment pointers are resolved in one pass over the root object: it
 * must agree with jsonptr_get() (escaped names, duplicates, arrays). */
static void test_one_pass_pointers_agree_with_jsonptr_get(void **state)
{
    static const char *const ptrs[] = {"/a",    "/b",    "",     "/",
                                       "/a~1b", "/m~0n", "/0",   "/\u00e9",
                                       "/ab",   "/ac",   "/a/b", "/ba"};
    static const char *const docs[] = {"{\"a\":1,\"a\":2}",
                                       "{\"a\\u0062\":1,\"ac\":[]}",
                                       "{\"a/b\":1,\"m~n\":2}",
                                       "{\"\":1}",
                                       "[5,6]",
                                       "\"str\"",
                                       "{\"\\u00e9\":1,\"0\":0}",
                                       "{\"a\":{\"b\":3},\"ba\":null}",
                                       "{\"ab\":1,\"a\\u0062\":2,\"b\":3}",
                                       "{}",
                                       "[]",
                                       "{\"a\":"};
    char text[8192], esc[64];
    rules_scratch_t *sc = rules_scratch_create();
    jsonscan_t *js = jsonscan_create(0);
    size_t many, i, d, o, k;

    (void)state;
    for (many = 0; many < 2; many++) {
        rules_set_t *rs;

        o = (size_t)snprintf(text, sizeof(text), HEAD DL "\"routes\":[");
        for (i = 0; i < sizeof(ptrs) / sizeof(*ptrs); i++)
            o += (size_t)snprintf(text + o, sizeof(text) - o,
                                  "%s{\"name\":\"r%zu\",\"if\":{\"exists\":"
                                  "\"%s\"},\"to\":\"o\"}",
                                  i ? "," : "", i, ptrs[i]);
        for (k = 0; many && k < 20; k++) /* past RULES_TOP_LINEAR */
            o += (size_t)snprintf(text + o, sizeof(text) - o,
                                  ",{\"name\":\"p%zu\",\"if\":{\"exists\":"
                                  "\"/p%zu\"},\"to\":\"o\"}",
                                  k, k);
        o += (size_t)snprintf(text + o, sizeof(text) - o,
                              ",{\"name\":\"last\",\"if\":{\"field\":"
                              "\"/a\",\"eq\":2},\"to\":\"o\"}]}");
        rs = load_or_fail(text, 0);
        assert_true(many ? rs->ntops > RULES_TOP_LINEAR : rs->ntops > 5);
        for (d = 0; d < sizeof(docs) / sizeof(*docs); d++) {
            tmsg_t m = {.value = docs[d]};
            rules_msg_t v = view(&m);
            const rules_result_t *r = rules_eval(rs, &v, sc);
            int valid = jsonscan_parse(js, docs[d], strlen(docs[d])) == 0;
            size_t got = 0;

            assert_non_null(r);
            for (i = 0; i < sizeof(ptrs) / sizeof(*ptrs); i++) {
                int want = 0, found = 0;
                if (valid) {
                    char errstr[100], ptr[32];
                    jsonptr_t *p;
                    /* the JSON text of the pointer, unescaped */
                    snprintf(ptr, sizeof(ptr), "%s",
                             strcmp(ptrs[i], "/\\u00e9") == 0 ? "/\xc3\xa9"
                                                              : ptrs[i]);
                    p = jsonptr_compile(ptr, errstr, sizeof(errstr));
                    assert_non_null(p);
                    want = jsonptr_get(js, p) >= 0;
                    jsonptr_destroy(p);
                }
                for (k = 0; k < r->nmatched; k++)
                    found |= r->matched[k] == i;
                if (want != found) {
                    rules_escape(esc, sizeof(esc), docs[d], strlen(docs[d]));
                    fail_msg("doc %s pointer %s: want %d (many %zu)", esc,
                             ptrs[i], want, many);
                }
                got += (size_t)found;
            }
            /* "last": duplicates resolve to the last member */
            assert_int_equal(r->nmatched - got, d == 0 ? 1 : 0);
        }
        rules_destroy(rs);
    }
    jsonscan_destroy(js);
    rules_scratch_destroy(sc);
}

static void test_one_scratch_serves_several_rule_sets(void **state)
{
    rules_set_t *a = load_or_fail(design_example, 0);
    rules_set_t *b = one_route("{\"field\":\"/x\",\"eq\":1}", 0);
    rules_scratch_t *sc = rules_scratch_create();
    tmsg_t m = {.value = "{\"uid\":\"u\",\"type\":\"play\",\"x\":1}"};
    rules_msg_t v = view(&m);
    const rules_result_t *r;
    int round;

    (void)state;
    for (round = 0; round < 3; round++) {
        r = rules_eval(b, &v, sc);
        assert_non_null(r);
        assert_int_equal(r->ndests, 1);
        assert_string_equal(r->dests[0].topic, "out");
        r = rules_eval(a, &v, sc);
        assert_non_null(r);
        assert_int_equal(r->ndests, 3);
        assert_string_equal(r->dests[1].topic, "music.type.play");
    }
    rules_scratch_destroy(sc);
    rules_destroy(a);
    rules_destroy(b);
}

/* The scratch stamps its caches with a per-message counter: when the
 * counter wraps around, what an old message cached must be forgotten. */
static void test_scratch_stamp_wrap_forgets_cached_fields(void **state)
{
    rules_set_t *rs = load_or_fail(
        HEAD DL "\"routes\":["
                "{\"name\":\"t\",\"if\":{\"all\":[]},\"to\":\"t.${/type}\"},"
                "{\"name\":\"v\",\"if\":{\"header\":\"tier\",\"eq\":"
                "\"vip\"},\"to\":\"vip\"}]}",
        0);
    rules_scratch_t *sc = rules_scratch_create();
    tmsg_t a = {.value = "{\"type\":\"play\"}", .hdrs = {"tier", "vip"}};
    tmsg_t b = {.value = "{\"type\":\"skip\"}"};
    rules_msg_t v;
    const rules_result_t *r;
    char buf[256];

    (void)state;
    assert_non_null(sc);
    sc->gen = 0; /* message a gets stamp 1 */
    v = view(&a);
    r = rules_eval(rs, &v, sc);
    assert_non_null(r);
    assert_string_equal(res_str(r, buf, sizeof(buf)),
                        "d=t.play,vip dl=- m=0,1 u=0");
    sc->gen = UINT32_MAX; /* message b wraps around to stamp 1 again */
    v = view(&b);
    r = rules_eval(rs, &v, sc);
    assert_non_null(r);
    assert_int_equal(sc->gen, 1);
    assert_string_equal(res_str(r, buf, sizeof(buf)), "d=t.skip dl=- m=0 u=0");
    rules_scratch_destroy(sc);
    rules_destroy(rs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_errors_name_the_place),
        cmocka_unit_test(test_load_null_text_and_null_err),
        cmocka_unit_test(test_accessors_list_sources_names_and_topics),
        cmocka_unit_test(test_minimal_file_has_no_dead_letter),
        cmocka_unit_test(test_topic_names_follow_kafka),
        cmocka_unit_test(test_every_operator_subject_and_combinator),
        cmocka_unit_test(test_evaluation_order_and_results),
        cmocka_unit_test(test_result_fields_of_routes_and_anomalies),
        cmocka_unit_test(
            test_first_route_naming_a_topic_decides_key_and_partition),
        cmocka_unit_test(test_unmatched_drop_dead_letter_or_topic),
        cmocka_unit_test(test_templates_fill_or_dead_letter),
        cmocka_unit_test(test_long_template_is_a_bad_destination),
        cmocka_unit_test(test_regex_limit_dead_letters_never_stalls),
        cmocka_unit_test(test_eq_routes_are_indexed),
        cmocka_unit_test(test_index_gives_the_same_results_as_no_index),
        cmocka_unit_test(test_ten_thousand_routes_load_and_route),
        cmocka_unit_test(test_one_pass_pointers_agree_with_jsonptr_get),
        cmocka_unit_test(test_one_scratch_serves_several_rule_sets),
        cmocka_unit_test(test_scratch_stamp_wrap_forgets_cached_fields),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
