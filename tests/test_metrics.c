/* test_metrics.c - unit tests of the metrics registry and its renderings. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "metrics.h"

/* ---- helpers ------------------------------------------------------------ */

static metrics_t *new_registry(void)
{
    metrics_t *m = metrics_create();

    assert_non_null(m);
    return m;
}

static int add(metrics_t *m, const char *name, const char *v1, const char *v2,
               double v)
{
    int rc;

    metrics_lock(m);
    rc = metrics_add(m, name, v1, v2, v);
    metrics_unlock(m);
    return rc;
}

static int set(metrics_t *m, const char *name, const char *v1, const char *v2,
               double v)
{
    int rc;

    metrics_lock(m);
    rc = metrics_set(m, name, v1, v2, v);
    metrics_unlock(m);
    return rc;
}

static json_t *render_json_parsed(metrics_t *m)
{
    char *s = metrics_render_json(m);
    json_error_t jerr;
    json_t *j;

    assert_non_null(s);
    j = json_loads(s, 0, &jerr);
    if (!j)
        fail_msg("render_json is not JSON: %s at %d:%d in %s", jerr.text,
                 jerr.line, jerr.column, s);
    free(s);
    return j;
}

/* ---- a validator of the Prometheus text format (0.0.4) ----------------- */

/* Skip a metric (colon) or label (no colon) name; NULL if there is none. */
static const char *skip_name(const char *p, int colon)
{
    const char *s = p;

    for (; *p; p++) {
        int c = (unsigned char)*p;
        int ok = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (colon && c == ':') || (p > s && c >= '0' && c <= '9');
        if (!ok)
            break;
    }
    return p > s ? p : NULL;
}

/* A sample value: a Go float, or +Inf, -Inf, NaN exactly. */
static int valid_number(const char *p, const char *end)
{
    size_t n = (size_t)(end - p);
    char buf[64], *e;

    if ((n == 4 && !strncmp(p, "+Inf", 4)) ||
        (n == 4 && !strncmp(p, "-Inf", 4)) || (n == 3 && !strncmp(p, "NaN", 3)))
        return 1;
    if (n == 0 || n >= sizeof(buf) || strspn(p, "0123456789+-.eE") < n)
        return 0;
    memcpy(buf, p, n);
    buf[n] = '\0';
    (void)strtod(buf, &e);
    return *e == '\0';
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

#define VFAIL(...)                                                             \
    do {                                                                       \
        snprintf(err, errlen, __VA_ARGS__);                                    \
        goto out;                                                              \
    } while (0)

/* Check text line by line: "# HELP name text", "# TYPE name counter|gauge"
 * once per family, then only samples `name{l="v",...} number` of that
 * family, label values escaped, no series twice. Returns the number of
 * samples, -1 with a message in err. */
static long prom_validate(const char *text, char *err, size_t errlen)
{
    char fam[256] = "", help[256] = "";
    char **seen = NULL, **series = NULL;
    size_t nseen = 0, nseries = 0;
    long ret = -1;
    int lineno = 0;

    if (*text && text[strlen(text) - 1] != '\n')
        VFAIL("no final newline");
    for (const char *line = text; *line;) {
        const char *eol = strchr(line, '\n'), *p, *q;
        size_t n;

        lineno++;
        if (line[0] == '#') {
            int is_help = !strncmp(line, "# HELP ", 7);

            if (!is_help && strncmp(line, "# TYPE ", 7))
                VFAIL("line %d: unknown comment", lineno);
            if (!(p = skip_name(line + 7, 1)) || *p != ' ')
                VFAIL("line %d: bad metric name", lineno);
            n = (size_t)(p - (line + 7));
            if (n >= sizeof(fam))
                VFAIL("line %d: name too long", lineno);
            for (size_t i = 0; i < nseen; i++)
                if (strlen(seen[i]) == n && !strncmp(seen[i], line + 7, n))
                    VFAIL("line %d: family described twice", lineno);
            if (is_help) {
                for (q = p + 1; q < eol; q++)
                    if (*q == '\\' && (++q == eol || (*q != '\\' && *q != 'n')))
                        VFAIL("line %d: bad escape in HELP", lineno);
                memcpy(help, line + 7, n);
                help[n] = '\0';
            } else {
                if (strncmp(p, " counter\n", 9) && strncmp(p, " gauge\n", 7))
                    VFAIL("line %d: bad type", lineno);
                if (*help && (strlen(help) != n || strncmp(help, line + 7, n)))
                    VFAIL("line %d: HELP of another family", lineno);
                memcpy(fam, line + 7, n);
                fam[n] = '\0';
                *help = '\0';
                seen = realloc(seen, (nseen + 1) * sizeof(*seen));
                assert_non_null(seen);
                seen[nseen++] = strdup(fam);
            }
            line = eol + 1;
            continue;
        }
        if (!*fam)
            VFAIL("line %d: sample before any # TYPE", lineno);
        if (!(p = skip_name(line, 1)) || (size_t)(p - line) != strlen(fam) ||
            strncmp(line, fam, strlen(fam)))
            VFAIL("line %d: sample not of family %s", lineno, fam);
        if (*p == '{') {
            char names[8][64];
            int nl = 0;

            do {
                q = ++p;
                if (!(p = skip_name(p, 0)) || p[0] != '=' || p[1] != '"')
                    VFAIL("line %d: bad label name", lineno);
                if (nl == 8 || (size_t)(p - q) >= sizeof(names[0]))
                    VFAIL("line %d: too many or long labels", lineno);
                memcpy(names[nl], q, (size_t)(p - q));
                names[nl][p - q] = '\0';
                for (int i = 0; i < nl; i++)
                    if (!strcmp(names[i], names[nl]))
                        VFAIL("line %d: label twice", lineno);
                nl++;
                for (p += 2; *p != '"'; p++) {
                    if (p >= eol)
                        VFAIL("line %d: unterminated label value", lineno);
                    if (*p == '\\' && p[1] != '\\' && p[1] != '"' &&
                        p[1] != 'n')
                        VFAIL("line %d: bad escape in label value", lineno);
                    if (*p == '\\')
                        p++;
                }
                p++;
            } while (*p == ',');
            if (*p++ != '}')
                VFAIL("line %d: labels not closed", lineno);
        }
        series = realloc(series, (nseries + 1) * sizeof(*series));
        assert_non_null(series);
        series[nseries++] = strndup(line, (size_t)(p - line));
        if (*p != ' ' || !valid_number(p + 1, eol))
            VFAIL("line %d: bad value", lineno);
        line = eol + 1;
    }
    if (nseries)
        qsort(series, nseries, sizeof(*series), cmp_str);
    for (size_t i = 1; i < nseries; i++)
        if (!strcmp(series[i - 1], series[i]))
            VFAIL("series %s twice", series[i]);
    ret = (long)nseries;
out:
    for (size_t i = 0; i < nseen; i++)
        free(seen[i]);
    for (size_t i = 0; i < nseries; i++)
        free(series[i]);
    free(seen);
    free(series);
    return ret;
}

static long validate_ok(const char *text)
{
    char err[256];
    long n = prom_validate(text, err, sizeof(err));

    if (n < 0)
        fail_msg("invalid exposition: %s\n%s", err, text);
    return n;
}

/* ---- declaring and updating -------------------------------------------- */

static void test_declare_rejects_duplicate_name(void **state)
{
    metrics_t *m = new_registry();
    char *t;

    (void)state;
    assert_int_equal(
        metrics_declare(m, "x_total", METRICS_COUNTER, "X.", NULL, NULL), 0);
    assert_int_equal(
        metrics_declare(m, "x_total", METRICS_COUNTER, "X.", NULL, NULL), -1);
    assert_int_equal(
        metrics_declare(m, "x_total", METRICS_GAUGE, "Y.", "a", NULL), -1);
    assert_int_equal(metrics_declare(m, "y", METRICS_GAUGE, "Y.", "a", "b"), 0);
    t = metrics_render_text(m);
    assert_string_equal(t, "# HELP x_total X.\n# TYPE x_total counter\n"
                           "x_total 0\n# HELP y Y.\n# TYPE y gauge\n");
    free(t);
    metrics_destroy(m);
    metrics_destroy(NULL);
}

static void test_update_of_unknown_family_fails(void **state)
{
    metrics_t *m = new_registry();

    (void)state;
    assert_int_equal(
        metrics_declare(m, "known", METRICS_GAUGE, "K.", NULL, NULL), 0);
    assert_int_equal(add(m, "unknown", NULL, NULL, 1), -1);
    assert_int_equal(set(m, "unknown", "a", "b", 1), -1);
    assert_int_equal(add(m, "know", NULL, NULL, 1), -1);
    assert_true(metrics_get(m, "unknown", NULL, NULL) == 0);
    metrics_lock(m);
    metrics_clear(m, "unknown"); /* a no-op, no crash */
    metrics_unlock(m);
    assert_true(metrics_get(m, "known", NULL, NULL) == 0);
    metrics_destroy(m);
}

enum op { OP_END, OP_ADD, OP_SET };

/* One update and the value metrics_get() must see right after it. */
struct upd {
    enum op op;
    const char *name, *v1, *v2;
    double v;
    double expect;
};

static const struct upd updates[] = {
    {OP_ADD, "plain_total", NULL, NULL, 1, 1},
    {OP_ADD, "plain_total", NULL, NULL, 2.5, 3.5},
    /* label values passed to an unlabelled family are ignored */
    {OP_ADD, "plain_total", "ignored", "too", 1, 4.5},
    {OP_SET, "gauge", NULL, NULL, 7, 7},
    {OP_SET, "gauge", NULL, NULL, -3, -3},
    {OP_ADD, "gauge", NULL, NULL, 1, -2},
    {OP_ADD, "one_total", "a", NULL, 1, 1},
    {OP_ADD, "one_total", "b", NULL, 10, 10},
    {OP_ADD, "one_total", "a", NULL, 1, 2},
    {OP_ADD, "one_total", "", NULL, 5, 5},
    {OP_SET, "one_total", "a", "ignored", 100, 100},
    {OP_SET, "two", "t", "0", 1, 1},
    {OP_SET, "two", "t", "1", 2, 2},
    {OP_SET, "two", "u", "0", 3, 3},
    {OP_ADD, "two", "t", "0", 0.25, 1.25},
    {OP_SET, "two", "t", "1", 0, 0},
    {OP_END, NULL, NULL, NULL, 0, 0},
};

/* Every sample's value after the whole table ran. */
static const struct upd finals[] = {
    {OP_END, "plain_total", NULL, NULL, 0, 4.5},
    {OP_END, "gauge", NULL, NULL, 0, -2},
    {OP_END, "one_total", "a", NULL, 0, 100},
    {OP_END, "one_total", "b", NULL, 0, 10},
    {OP_END, "one_total", "", NULL, 0, 5},
    {OP_END, "one_total", "c", NULL, 0, 0},
    {OP_END, "two", "t", "0", 0, 1.25},
    {OP_END, "two", "t", "1", 0, 0},
    {OP_END, "two", "u", "0", 0, 3},
    {OP_END, "two", "u", "1", 0, 0},
    {OP_END, "two", "0", "t", 0, 0},
    {OP_END, NULL, NULL, NULL, 0, 0},
};

static void test_add_set_get_with_0_1_2_labels(void **state)
{
    metrics_t *m = new_registry();

    (void)state;
    assert_int_equal(
        metrics_declare(m, "plain_total", METRICS_COUNTER, "P.", NULL, NULL),
        0);
    assert_int_equal(
        metrics_declare(m, "gauge", METRICS_GAUGE, "G.", NULL, NULL), 0);
    assert_int_equal(
        metrics_declare(m, "one_total", METRICS_COUNTER, "O.", "k", NULL), 0);
    assert_int_equal(metrics_declare(m, "two", METRICS_GAUGE, "T.", "k", "p"),
                     0);
    for (const struct upd *u = updates; u->op != OP_END; u++) {
        int rc = u->op == OP_ADD ? add(m, u->name, u->v1, u->v2, u->v)
                                 : set(m, u->name, u->v1, u->v2, u->v);

        assert_int_equal(rc, 0);
        if (metrics_get(m, u->name, u->v1, u->v2) != u->expect)
            fail_msg("update %d: %s got %g, want %g", (int)(u - updates),
                     u->name, metrics_get(m, u->name, u->v1, u->v2), u->expect);
    }
    for (const struct upd *u = finals; u->name; u++)
        if (metrics_get(m, u->name, u->v1, u->v2) != u->expect)
            fail_msg("final %d: %s{%s,%s} got %g, want %g", (int)(u - finals),
                     u->name, u->v1, u->v2,
                     metrics_get(m, u->name, u->v1, u->v2), u->expect);
    metrics_destroy(m);
}

/* ---- text rendering ---------------------------------------------------- */

static void test_render_text_small_registry_exact(void **state)
{
    metrics_t *m = new_registry();
    char *t;

    (void)state;
    assert_int_equal(
        metrics_declare(m, "t_up", METRICS_GAUGE, "Whether up.", NULL, NULL),
        0);
    assert_int_equal(metrics_declare(m, "t_msgs_total", METRICS_COUNTER,
                                     "Messages read.", "topic", NULL),
                     0);
    assert_int_equal(metrics_declare(m, "t_lag", METRICS_GAUGE, "Lag.", "topic",
                                     "partition"),
                     0);
    assert_int_equal(
        metrics_declare(m, "t_ratio", METRICS_GAUGE, "A ratio.", NULL, NULL),
        0);
    assert_int_equal(metrics_declare(m, "t_none_total", METRICS_COUNTER,
                                     "No sample yet.", "x", NULL),
                     0);
    assert_int_equal(add(m, "t_msgs_total", "a", NULL, 3), 0);
    assert_int_equal(add(m, "t_msgs_total", "a", NULL, 2), 0);
    assert_int_equal(add(m, "t_msgs_total", "b\\\"\nc", NULL, 1), 0);
    assert_int_equal(set(m, "t_lag", "x", "0", 1.5), 0);
    assert_int_equal(set(m, "t_lag", "x", "1", 1.0 / 3), 0);
    assert_int_equal(set(m, "t_lag", "y", "0", 1e15), 0);
    assert_int_equal(set(m, "t_lag", "y", "1", -2), 0);
    assert_int_equal(set(m, "t_ratio", NULL, NULL, 0.25), 0);
    t = metrics_render_text(m);
    assert_non_null(t);
    assert_string_equal(t,
                        "# HELP t_up Whether up.\n"
                        "# TYPE t_up gauge\n"
                        "t_up 0\n"
                        "# HELP t_msgs_total Messages read.\n"
                        "# TYPE t_msgs_total counter\n"
                        "t_msgs_total{topic=\"a\"} 5\n"
                        "t_msgs_total{topic=\"b\\\\\\\"\\nc\"} 1\n"
                        "# HELP t_lag Lag.\n"
                        "# TYPE t_lag gauge\n"
                        "t_lag{topic=\"x\",partition=\"0\"} 1.5\n"
                        "t_lag{topic=\"x\",partition=\"1\"} "
                        "0.33333333333333331\n"
                        "t_lag{topic=\"y\",partition=\"0\"} 1000000000000000\n"
                        "t_lag{topic=\"y\",partition=\"1\"} -2\n"
                        "# HELP t_ratio A ratio.\n"
                        "# TYPE t_ratio gauge\n"
                        "t_ratio 0.25\n"
                        "# HELP t_none_total No sample yet.\n"
                        "# TYPE t_none_total counter\n");
    assert_int_equal(validate_ok(t), 8);
    free(t);
    metrics_destroy(m);
}

/* How one value renders as text, and as JSON (integer or not). */
struct num {
    double v;
    const char *text;
    int json_int; /* 1: a JSON integer, 0: a real, -1: null */
};

static const struct num nums[] = {
    {0, "0", 1},
    {42, "42", 1},
    {-7, "-7", 1},
    {123456789012, "123456789012", 1},
    {1e15, "1000000000000000", 1},
    {9007199254740991.0, "9007199254740991", 1},
    {0.5, "0.5", 0},
    {-0.125, "-0.125", 0},
    {0.1, "0.10000000000000001", 0},
    {1.0 / 3, "0.33333333333333331", 0},
    {2.5e-300, "2.5e-300", 0},
    {1e20, "1e+20", 0},
    {HUGE_VAL, "+Inf", -1},
    {-HUGE_VAL, "-Inf", -1},
    {NAN, "NaN", -1},
};

static void test_values_render_exactly(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        const struct num *c = &nums[i];
        metrics_t *m = new_registry();
        char want[128], *t;
        json_t *j, *v;

        assert_int_equal(
            metrics_declare(m, "v", METRICS_GAUGE, "V.", NULL, NULL), 0);
        assert_int_equal(set(m, "v", NULL, NULL, c->v), 0);
        snprintf(want, sizeof(want), "# HELP v V.\n# TYPE v gauge\nv %s\n",
                 c->text);
        t = metrics_render_text(m);
        assert_non_null(t);
        if (strcmp(t, want))
            fail_msg("case %zu: got %s want %s", i, t, want);
        validate_ok(t);
        free(t);
        j = render_json_parsed(m);
        v = json_object_get(j, "v");
        assert_non_null(v);
        if (c->json_int == 1) {
            assert_true(json_is_integer(v));
            assert_true((double)json_integer_value(v) == c->v);
        } else if (c->json_int == 0) {
            assert_true(json_is_real(v));
            assert_true(json_real_value(v) == c->v);
        } else {
            assert_true(json_is_null(v));
        }
        json_decref(j);
        metrics_destroy(m);
    }
}

static void test_help_text_is_escaped(void **state)
{
    metrics_t *m = new_registry();
    char *t;

    (void)state;
    assert_int_equal(metrics_declare(m, "h", METRICS_GAUGE,
                                     "Line one\nC:\\path \"q\"", NULL, NULL),
                     0);
    assert_int_equal(metrics_declare(m, "n", METRICS_GAUGE, NULL, NULL, NULL),
                     0);
    t = metrics_render_text(m);
    assert_string_equal(t, "# HELP h Line one\\nC:\\\\path \"q\"\n"
                           "# TYPE h gauge\nh 0\n"
                           "# HELP n \n# TYPE n gauge\nn 0\n");
    validate_ok(t);
    free(t);
    metrics_destroy(m);
}

static void test_empty_registry_renders_empty(void **state)
{
    metrics_t *m = new_registry();
    char *t = metrics_render_text(m), *j = metrics_render_json(m);

    (void)state;
    assert_non_null(t);
    assert_string_equal(t, "");
    assert_non_null(j);
    assert_string_equal(j, "{}");
    free(t);
    free(j);
    metrics_destroy(m);
}

/* The validator itself must reject what is wrong. */
static const char *const bad_texts[] = {
    "x 1\n",
    "# TYPE x gauge\nx 1",
    "# TYPE x gauge\ny 1\n",
    "# TYPE x gauge\nx{a=\"1\"} inf\n",
    "# TYPE x gauge\nx{a=\"1\"} 1 2\n",
    "# TYPE x gauge\nx{a=\"1\",a=\"2\"} 1\n",
    "# TYPE x gauge\nx{a=\"\\t\"} 1\n",
    "# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n",
    "# TYPE x gauge\nx{a=\"1} 1\n",
    "# TYPE x gauge\n# TYPE x gauge\n",
    "# TYPE x histo\n",
    "# HELP x a\\b\n# TYPE x gauge\n",
    "# HELP y y\n# TYPE x gauge\n",
    "# TYPE 1x gauge\n",
    "# TYPE x gauge\nx{1a=\"1\"} 1\n",
};

static void test_validator_rejects_bad_exposition(void **state)
{
    char err[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad_texts) / sizeof(bad_texts[0]); i++)
        if (prom_validate(bad_texts[i], err, sizeof(err)) != -1)
            fail_msg("validator accepted case %zu: %s", i, bad_texts[i]);
    assert_int_equal(prom_validate("# HELP x a\\\\b\\n\n# TYPE x gauge\n"
                                   "x{a=\"\\\"\\\\\\n\",b=\"\"} -1.5e3\n",
                                   err, sizeof(err)),
                     1);
}

static void test_bigger_registry_is_valid_exposition(void **state)
{
    static const char *const routes[] = {
        "eu", "us-west",     "quo\"te",    "back\\slash", "new\nline",
        "",   "caf\xc3\xa9", "sp ace,{}=", "\\\"\\n",
    };
    metrics_t *m = new_registry();
    size_t nr = sizeof(routes) / sizeof(routes[0]);
    char *t;

    (void)state;
    assert_int_equal(metrics_declare(m, "router_messages_consumed_total",
                                     METRICS_COUNTER, "Read.", "topic", NULL),
                     0);
    assert_int_equal(metrics_declare(m, "router_route_matches_total",
                                     METRICS_COUNTER, "Matches.", "route",
                                     NULL),
                     0);
    assert_int_equal(metrics_declare(m, "router_unmatched_total",
                                     METRICS_COUNTER, "Unmatched.", NULL, NULL),
                     0);
    assert_int_equal(metrics_declare(m, "router_consumer_lag", METRICS_GAUGE,
                                     "Lag \\ per\npartition.", "topic",
                                     "partition"),
                     0);
    assert_int_equal(metrics_declare(m, "router_inflight_messages",
                                     METRICS_GAUGE, "In flight.", NULL, NULL),
                     0);
    assert_int_equal(metrics_declare(m, "router_produce_errors_total",
                                     METRICS_COUNTER, "Errors.", "error", NULL),
                     0);
    assert_int_equal(
        metrics_declare(m, "router:odd_ratio", METRICS_GAUGE, "Odd.", "a", "b"),
        0);
    assert_int_equal(
        add(m, "router_messages_consumed_total", "music.events", NULL, 1e6), 0);
    for (size_t i = 0; i < nr; i++) {
        char p[16];

        assert_int_equal(
            add(m, "router_route_matches_total", routes[i], NULL, (double)i),
            0);
        for (int k = 0; k < 3; k++) {
            snprintf(p, sizeof(p), "%d", k);
            assert_int_equal(set(m, "router_consumer_lag", routes[i], p,
                                 (double)(i * 1000 + (size_t)k) / 7),
                             0);
        }
    }
    assert_int_equal(add(m, "router_unmatched_total", NULL, NULL, 17), 0);
    assert_int_equal(set(m, "router_inflight_messages", NULL, NULL, -0.5), 0);
    assert_int_equal(set(m, "router:odd_ratio", "x", "y", HUGE_VAL), 0);
    assert_int_equal(set(m, "router:odd_ratio", "x", "z", NAN), 0);
    assert_int_equal(set(m, "router:odd_ratio", "y", "x", -HUGE_VAL), 0);
    t = metrics_render_text(m);
    assert_non_null(t);
    /* 1 + nr + 1 + 3 nr + 1 + 0 + 3 */
    assert_int_equal(validate_ok(t), (long)(6 + 4 * nr));
    free(t);
    metrics_destroy(m);
}

/* ---- clear, growth ----------------------------------------------------- */

static void test_clear_drops_every_sample_of_a_gauge(void **state)
{
    metrics_t *m = new_registry();
    char *t;

    (void)state;
    assert_int_equal(
        metrics_declare(m, "lag", METRICS_GAUGE, "L.", "topic", "partition"),
        0);
    assert_int_equal(metrics_declare(m, "up", METRICS_GAUGE, "U.", NULL, NULL),
                     0);
    assert_int_equal(set(m, "lag", "t", "0", 5), 0);
    assert_int_equal(set(m, "lag", "t", "1", 6), 0);
    assert_int_equal(set(m, "lag", "t", "2", 7), 0);
    assert_int_equal(set(m, "up", NULL, NULL, 1), 0);
    metrics_lock(m);
    metrics_clear(m, "lag");
    metrics_clear(m, "up");
    assert_int_equal(metrics_set(m, "lag", "t", "1", 60), 0);
    metrics_unlock(m);
    assert_true(metrics_get(m, "lag", "t", "0") == 0);
    assert_true(metrics_get(m, "lag", "t", "1") == 60);
    assert_true(metrics_get(m, "lag", "t", "2") == 0);
    assert_true(metrics_get(m, "up", NULL, NULL) == 0);
    t = metrics_render_text(m);
    assert_string_equal(t, "# HELP lag L.\n# TYPE lag gauge\n"
                           "lag{topic=\"t\",partition=\"1\"} 60\n"
                           "# HELP up U.\n# TYPE up gauge\nup 0\n");
    free(t);
    /* a sample set again after the clear is found, not duplicated */
    assert_int_equal(add(m, "lag", "t", "1", 1), 0);
    assert_true(metrics_get(m, "lag", "t", "1") == 61);
    t = metrics_render_text(m);
    assert_int_equal(validate_ok(t), 2);
    free(t);
    metrics_destroy(m);
}

#define MANY 10000

static void test_many_samples_grow_the_hash(void **state)
{
    metrics_t *m = new_registry();
    char a[32], b[32], *t;
    json_t *j, *arr;

    (void)state;
    assert_int_equal(metrics_declare(m, "many", METRICS_GAUGE, "M.", "a", "b"),
                     0);
    for (int pass = 0; pass < 2; pass++) {
        metrics_lock(m);
        for (int i = 0; i < MANY; i++) {
            snprintf(a, sizeof(a), "topic-%d", i % 97);
            snprintf(b, sizeof(b), "%d", i);
            assert_int_equal(metrics_add(m, "many", a, b, i), 0);
        }
        metrics_unlock(m);
    }
    for (int i = 0; i < MANY; i++) {
        snprintf(a, sizeof(a), "topic-%d", i % 97);
        snprintf(b, sizeof(b), "%d", i);
        if (metrics_get(m, "many", a, b) != 2.0 * i)
            fail_msg("sample %d: got %g", i, metrics_get(m, "many", a, b));
    }
    assert_true(metrics_get(m, "many", "topic-1", "0") == 0);
    t = metrics_render_text(m);
    assert_int_equal(validate_ok(t), MANY);
    free(t);
    j = render_json_parsed(m);
    arr = json_object_get(j, "many");
    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), MANY);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(arr, MANY - 1), "value")),
                     2 * (MANY - 1));
    json_decref(j);
    metrics_destroy(m);
}

/* ---- JSON rendering ---------------------------------------------------- */

static void test_render_json_structure_and_values(void **state)
{
    metrics_t *m = new_registry();
    json_t *j, *arr, *o;
    char *s;

    (void)state;
    assert_int_equal(metrics_declare(m, "up", METRICS_GAUGE, "U.", NULL, NULL),
                     0);
    assert_int_equal(
        metrics_declare(m, "ratio", METRICS_GAUGE, "R.", NULL, NULL), 0);
    assert_int_equal(
        metrics_declare(m, "msgs_total", METRICS_COUNTER, "M.", "topic", NULL),
        0);
    assert_int_equal(
        metrics_declare(m, "lag", METRICS_GAUGE, "L.", "topic", "partition"),
        0);
    assert_int_equal(
        metrics_declare(m, "empty_total", METRICS_COUNTER, "E.", "x", NULL), 0);
    assert_int_equal(set(m, "ratio", NULL, NULL, 0.75), 0);
    assert_int_equal(add(m, "msgs_total", "a\"b", NULL, 5), 0);
    assert_int_equal(add(m, "msgs_total", "caf\xc3\xa9", NULL, 6), 0);
    assert_int_equal(set(m, "lag", "t", "3", 2.5), 0);
    assert_int_equal(set(m, "lag", "t", "4", 9), 0);

    s = metrics_render_json(m);
    assert_string_equal(s, "{\"up\":0,\"ratio\":0.75,\"msgs_total\":"
                           "[{\"topic\":\"a\\\"b\",\"value\":5},"
                           "{\"topic\":\"caf\xc3\xa9\",\"value\":6}],"
                           "\"lag\":[{\"topic\":\"t\",\"partition\":\"3\","
                           "\"value\":2.5},{\"topic\":\"t\",\"partition\":"
                           "\"4\",\"value\":9}],\"empty_total\":[]}");
    free(s);

    j = render_json_parsed(m);
    assert_true(json_is_object(j));
    assert_int_equal(json_object_size(j), 5);
    assert_true(json_is_integer(json_object_get(j, "up")));
    assert_int_equal(json_integer_value(json_object_get(j, "up")), 0);
    assert_true(json_is_real(json_object_get(j, "ratio")));
    assert_true(json_real_value(json_object_get(j, "ratio")) == 0.75);
    arr = json_object_get(j, "msgs_total");
    assert_int_equal(json_array_size(arr), 2);
    o = json_array_get(arr, 0);
    assert_int_equal(json_object_size(o), 2);
    assert_string_equal(json_string_value(json_object_get(o, "topic")), "a\"b");
    assert_true(json_is_integer(json_object_get(o, "value")));
    assert_int_equal(json_integer_value(json_object_get(o, "value")), 5);
    arr = json_object_get(j, "lag");
    assert_int_equal(json_array_size(arr), 2);
    o = json_array_get(arr, 0);
    assert_int_equal(json_object_size(o), 3);
    assert_string_equal(json_string_value(json_object_get(o, "partition")),
                        "3");
    assert_true(json_is_real(json_object_get(o, "value")));
    assert_true(json_real_value(json_object_get(o, "value")) == 2.5);
    o = json_array_get(arr, 1);
    assert_true(json_is_integer(json_object_get(o, "value")));
    assert_int_equal(json_integer_value(json_object_get(o, "value")), 9);
    arr = json_object_get(j, "empty_total");
    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), 0);
    json_decref(j);
    metrics_destroy(m);
}

/* A label value as set, and as it must come out of render_json. */
static const struct {
    const char *in, *out;
} utf8_cases[] = {
    {"a\xff"
     "b",
     "a\xef\xbf\xbd"
     "b"},
    {"caf\xc3\xa9\xc3", "caf\xc3\xa9\xef\xbf\xbd"},
    {"\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd"},                 /* overlong */
    {"\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"}, /* surrogate */
    {"\xf4\x90\x80\x80x", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx"},
    {"\xe2\x82\xac\xf0\x9f\x98\x80", "\xe2\x82\xac\xf0\x9f\x98\x80"},
};

static void test_render_json_survives_invalid_utf8_label(void **state)
{
    size_t n = sizeof(utf8_cases) / sizeof(utf8_cases[0]);
    metrics_t *m = new_registry();
    json_t *j, *arr, *o;

    (void)state;
    assert_int_equal(
        metrics_declare(m, "bad", METRICS_COUNTER, "B.", "k", NULL), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(add(m, "bad", utf8_cases[i].in, NULL, (double)i), 0);
    j = render_json_parsed(m);
    arr = json_object_get(j, "bad");
    assert_int_equal(json_array_size(arr), n);
    for (size_t i = 0; i < n; i++) {
        o = json_array_get(arr, i);
        assert_string_equal(json_string_value(json_object_get(o, "k")),
                            utf8_cases[i].out);
        assert_int_equal(json_integer_value(json_object_get(o, "value")), i);
    }
    json_decref(j);
    metrics_destroy(m);
}

/* ---- concurrency ------------------------------------------------------- */

struct conc {
    metrics_t *m;
    const char *id; /* writer's label value */
    long n;         /* writer: updates done; renderer: renders */
    int bad;        /* renderer: inconsistent snapshots seen */
    struct timespec end;
};

static int past(const struct timespec *end)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > end->tv_sec ||
           (now.tv_sec == end->tv_sec && now.tv_nsec >= end->tv_nsec);
}

static void *writer(void *arg)
{
    struct conc *c = arg;

    while (!past(&c->end)) {
        for (int i = 0; i < 100; i++) {
            metrics_lock(c->m);
            metrics_add(c->m, "c_total", "shared", NULL, 1);
            metrics_add(c->m, "c_by_writer_total", c->id, NULL, 1);
            metrics_add(c->m, "c_unlabelled_total", NULL, NULL, 1);
            metrics_unlock(c->m);
            c->n++;
        }
    }
    return NULL;
}

/* Each render must show the three counters updated together. */
static void *renderer(void *arg)
{
    struct conc *c = arg;

    while (!past(&c->end)) {
        char *s = metrics_render_json(c->m), *t = metrics_render_text(c->m);
        json_t *j = s ? json_loads(s, 0, NULL) : NULL;
        json_int_t shared = 0, sum = 0, un;
        json_t *arr, *o;
        size_t i;

        if (!j || !t) {
            c->bad++;
        } else {
            un = json_integer_value(json_object_get(j, "c_unlabelled_total"));
            arr = json_object_get(j, "c_total");
            json_array_foreach(arr, i, o) shared +=
                json_integer_value(json_object_get(o, "value"));
            arr = json_object_get(j, "c_by_writer_total");
            json_array_foreach(arr, i, o) sum +=
                json_integer_value(json_object_get(o, "value"));
            if (shared != un || sum != un)
                c->bad++;
        }
        json_decref(j);
        free(s);
        free(t);
        c->n++;
    }
    return NULL;
}

static void test_concurrent_writers_and_renderer(void **state)
{
    metrics_t *m = new_registry();
    struct conc c[3];
    pthread_t th[3];
    struct timespec end;

    (void)state;
    assert_int_equal(
        metrics_declare(m, "c_total", METRICS_COUNTER, "C.", "k", NULL), 0);
    assert_int_equal(metrics_declare(m, "c_by_writer_total", METRICS_COUNTER,
                                     "W.", "writer", NULL),
                     0);
    assert_int_equal(metrics_declare(m, "c_unlabelled_total", METRICS_COUNTER,
                                     "U.", NULL, NULL),
                     0);
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_nsec += 500000000;
    if (end.tv_nsec >= 1000000000) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000;
    }
    for (int i = 0; i < 3; i++) {
        memset(&c[i], 0, sizeof(c[i]));
        c[i].m = m;
        c[i].id = i == 0 ? "w0" : "w1";
        c[i].end = end;
        assert_int_equal(
            pthread_create(&th[i], NULL, i < 2 ? writer : renderer, &c[i]), 0);
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_true(c[0].n > 0 && c[1].n > 0 && c[2].n > 0);
    assert_int_equal(c[2].bad, 0);
    assert_true(metrics_get(m, "c_total", "shared", NULL) ==
                (double)(c[0].n + c[1].n));
    assert_true(metrics_get(m, "c_by_writer_total", "w0", NULL) ==
                (double)c[0].n);
    assert_true(metrics_get(m, "c_by_writer_total", "w1", NULL) ==
                (double)c[1].n);
    assert_true(metrics_get(m, "c_unlabelled_total", NULL, NULL) ==
                (double)(c[0].n + c[1].n));
    metrics_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_declare_rejects_duplicate_name),
        cmocka_unit_test(test_update_of_unknown_family_fails),
        cmocka_unit_test(test_add_set_get_with_0_1_2_labels),
        cmocka_unit_test(test_render_text_small_registry_exact),
        cmocka_unit_test(test_values_render_exactly),
        cmocka_unit_test(test_help_text_is_escaped),
        cmocka_unit_test(test_empty_registry_renders_empty),
        cmocka_unit_test(test_validator_rejects_bad_exposition),
        cmocka_unit_test(test_bigger_registry_is_valid_exposition),
        cmocka_unit_test(test_clear_drops_every_sample_of_a_gauge),
        cmocka_unit_test(test_many_samples_grow_the_hash),
        cmocka_unit_test(test_render_json_structure_and_values),
        cmocka_unit_test(test_render_json_survives_invalid_utf8_label),
        cmocka_unit_test(test_concurrent_writers_and_renderer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
