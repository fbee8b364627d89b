/* test_anomalies.c - unit tests of the ring of recent dead letters. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "anomalies.h"

#define FFFD "\xef\xbf\xbd" /* U+FFFD in UTF-8 */

/* ---- helpers ------------------------------------------------------------ */

static anomalies_t *new_ring(size_t cap)
{
    anomalies_t *a = anomalies_create(cap);

    assert_non_null(a);
    return a;
}

/* Push one entry with NUL-terminated key and value (either may be NULL). */
static void push(anomalies_t *a, const char *reason, const char *detail,
                 const char *route, int64_t offset, const char *key,
                 const char *value)
{
    anomalies_entry_t e = {
        .reason = reason,
        .detail = detail,
        .route = route,
        .topic = "src",
        .partition = 0,
        .offset = offset,
        .timestamp = 1000 + offset,
        .key = key,
        .key_len = key ? strlen(key) : 0,
        .value = value,
        .value_len = value ? strlen(value) : 0,
    };

    anomalies_push(a, &e);
}

/* Query, check the answer is JSON whose "returned" counts "anomalies". */
static json_t *query(anomalies_t *a, const char *reason, const char *q,
                     int limit)
{
    char *s = anomalies_query(a, reason, q, limit);
    json_error_t jerr;
    json_t *j;

    assert_non_null(s);
    j = json_loads(s, 0, &jerr);
    if (!j)
        fail_msg("not JSON: %s at %d:%d in %s", jerr.text, jerr.line,
                 jerr.column, s);
    free(s);
    assert_true(json_is_array(json_object_get(j, "anomalies")));
    assert_int_equal(json_integer_value(json_object_get(j, "returned")),
                     json_array_size(json_object_get(j, "anomalies")));
    return j;
}

static json_t *nth(json_t *j, size_t i)
{
    json_t *o = json_array_get(json_object_get(j, "anomalies"), i);

    assert_non_null(o);
    return o;
}

static const char *str(json_t *o, const char *field)
{
    json_t *v = json_object_get(o, field);

    if (!json_is_string(v))
        fail_msg("%s is not a string", field);
    return json_string_value(v);
}

#define END (-1)

/* The offsets returned, in order, must be want (END-terminated). */
static void expect_offsets(json_t *j, const int64_t *want, const char *what)
{
    json_t *arr = json_object_get(j, "anomalies"), *o;
    size_t i, n = 0;

    while (want[n] != END)
        n++;
    if (json_array_size(arr) != n)
        fail_msg("%s: %zu returned, want %zu", what, json_array_size(arr), n);
    json_array_foreach(arr, i, o)
    {
        json_int_t off = json_integer_value(json_object_get(o, "offset"));

        if (off != want[i])
            fail_msg("%s: [%zu] offset %lld, want %lld", what, i,
                     (long long)off, (long long)want[i]);
    }
}

/* ---- order, eviction --------------------------------------------------- */

static void test_create_rejects_zero_capacity(void **state)
{
    (void)state;
    assert_null(anomalies_create(0));
    anomalies_destroy(NULL);
}

static void test_query_returns_every_field_newest_first(void **state)
{
    anomalies_t *a = new_ring(8);
    anomalies_entry_t e = {
        .reason = "produce_failed",
        .detail = "Broker: Unknown topic",
        .route = "to_eu",
        .topic = "music.events",
        .partition = 7,
        .offset = INT64_C(1) << 40,
        .timestamp = -1,
        .key = "user-1",
        .key_len = 6,
        .value = "{\"a\":1}",
        .value_len = 7,
    };
    anomalies_entry_t bare = {.offset = 0, .timestamp = 5};
    char *s;
    json_t *j;

    (void)state;
    anomalies_push(a, &bare);
    anomalies_push(a, &e);
    push(a, "no_user", "missing /uid", NULL, 2, "", "x");
    s = anomalies_query(a, NULL, NULL, 2);
    assert_string_equal(
        s,
        "{\"source\":\"ring\",\"total\":3,\"returned\":2,\"anomalies\":["
        "{\"reason\":\"no_user\",\"detail\":\"missing /uid\",\"route\":null,"
        "\"topic\":\"src\",\"partition\":0,\"offset\":2,\"timestamp\":1002,"
        "\"key\":\"\",\"value\":\"x\",\"value_size\":1},"
        "{\"reason\":\"produce_failed\",\"detail\":\"Broker: Unknown topic\","
        "\"route\":\"to_eu\",\"topic\":\"music.events\",\"partition\":7,"
        "\"offset\":1099511627776,\"timestamp\":-1,\"key\":\"user-1\","
        "\"value\":\"{\\\"a\\\":1}\",\"value_size\":7}]}");
    free(s);
    j = query(a, NULL, NULL, 10);
    assert_int_equal(json_array_size(json_object_get(j, "anomalies")), 3);
    /* NULL reason, detail, topic: "", NULL route, key, value: null */
    assert_string_equal(str(nth(j, 2), "reason"), "");
    assert_string_equal(str(nth(j, 2), "detail"), "");
    assert_string_equal(str(nth(j, 2), "topic"), "");
    assert_int_equal(
        json_integer_value(json_object_get(nth(j, 2), "timestamp")), 5);
    assert_true(json_is_null(json_object_get(nth(j, 2), "route")));
    assert_true(json_is_null(json_object_get(nth(j, 2), "key")));
    assert_true(json_is_null(json_object_get(nth(j, 2), "value")));
    assert_int_equal(
        json_integer_value(json_object_get(nth(j, 2), "value_size")), 0);
    json_decref(j);
    anomalies_destroy(a);
}

static const struct {
    size_t cap;
    int pushes;
    int64_t want[4];
} evictions[] = {
    {3, 0, {END}},          {3, 2, {1, 0, END}},         {3, 3, {2, 1, 0, END}},
    {3, 5, {4, 3, 2, END}}, {3, 100, {99, 98, 97, END}}, {1, 4, {3, END}},
};

static void test_capacity_evicts_the_oldest(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(evictions) / sizeof(evictions[0]); c++) {
        anomalies_t *a = new_ring(evictions[c].cap);
        char what[64];
        json_t *j;

        for (int i = 0; i < evictions[c].pushes; i++)
            push(a, "r", "d", NULL, i, "k", "v");
        j = query(a, NULL, NULL, 1000);
        snprintf(what, sizeof(what), "cap %zu, %d pushes", evictions[c].cap,
                 evictions[c].pushes);
        expect_offsets(j, evictions[c].want, what);
        assert_int_equal(json_integer_value(json_object_get(j, "total")),
                         evictions[c].pushes);
        json_decref(j);
        anomalies_destroy(a);
    }
}

/* ---- filters ----------------------------------------------------------- */

static const struct {
    const char *reason, *q;
    int limit;
    int64_t want[6];
} filters[] = {
    {NULL, NULL, 100, {4, 3, 2, 1, 0, END}},
    {"", "", 100, {4, 3, 2, 1, 0, END}},
    {"not_json", NULL, 100, {3, 0, END}},
    {"NOT_JSON", NULL, 100, {END}}, /* reason is exact */
    {"not", NULL, 100, {END}},
    {"nope", NULL, 100, {END}},
    {NULL, "USER", 100, {0, END}},  /* key; the reason is not searched */
    {NULL, "abc", 100, {3, END}},   /* key */
    {NULL, "WoRlD", 100, {0, END}}, /* value */
    {NULL, "\"x\"", 100, {1, END}}, /* value */
    {NULL, "unknown TOPIC", 100, {2, END}}, /* detail */
    {NULL, "spam", 100, {4, END}},          /* route */
    {NULL, "eu", 100, {2, END}},            /* route */
    {NULL, "src", 100, {END}},              /* the topic is not searched */
    {NULL, "zzz", 100, {END}},
    {NULL, "o", 100, {4, 2, 0, END}},
    {"not_json", "abc", 100, {3, END}},
    {"not_json", "missing", 100, {END}},
    {NULL, NULL, 2, {4, 3, END}},
    {NULL, NULL, 1, {4, END}},
    {NULL, NULL, 0, {END}},
    {NULL, NULL, -1, {END}},
    {"not_json", NULL, 1, {3, END}},
    {NULL, "o", 2, {4, 2, END}},
};

static void test_filters_by_reason_keyword_and_limit(void **state)
{
    anomalies_t *a = new_ring(16);

    (void)state;
    push(a, "not_json", "", NULL, 0, "user-1", "hello world");
    push(a, "no_user", "missing /uid", NULL, 1, NULL, "{\"x\":1}");
    push(a, "produce_failed", "Broker: Unknown topic", "to_EU", 2, "k2", "v");
    push(a, "not_json", "d", NULL, 3, "ABC", NULL);
    push(a, "regex_limit", "routes[1].if.regex: match limit", "Spam", 4, NULL,
         NULL);
    for (size_t c = 0; c < sizeof(filters) / sizeof(filters[0]); c++) {
        json_t *j = query(a, filters[c].reason, filters[c].q, filters[c].limit);
        char what[128];

        snprintf(what, sizeof(what), "case %zu (reason %s, q %s, limit %d)", c,
                 filters[c].reason ? filters[c].reason : "NULL",
                 filters[c].q ? filters[c].q : "NULL", filters[c].limit);
        expect_offsets(j, filters[c].want, what);
        assert_int_equal(json_integer_value(json_object_get(j, "total")), 5);
        json_decref(j);
    }
    anomalies_destroy(a);
}

/* ---- previews ---------------------------------------------------------- */

static const struct {
    size_t len;     /* value and key length pushed */
    size_t preview; /* bytes kept */
} cuts[] = {
    {0, 0}, {1, 1}, {255, 255}, {256, 256}, {257, 256}, {5000, 256},
};

static void test_previews_cut_at_preview_bytes(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
        anomalies_t *a = new_ring(2);
        char *buf = malloc(cuts[c].len + 1), *k = malloc(cuts[c].len + 1);
        json_t *j, *o;

        assert_non_null(buf);
        assert_non_null(k);
        for (size_t i = 0; i < cuts[c].len; i++) {
            buf[i] = (char)('a' + i % 26);
            k[i] = 'k';
        }
        buf[cuts[c].len] = k[cuts[c].len] = '\0';
        push(a, "r", "d", NULL, 0, k, buf);
        j = query(a, NULL, NULL, 10);
        o = nth(j, 0);
        assert_int_equal(strlen(str(o, "value")), cuts[c].preview);
        assert_memory_equal(str(o, "value"), buf, cuts[c].preview);
        assert_int_equal(strlen(str(o, "key")), cuts[c].preview);
        assert_int_equal(json_integer_value(json_object_get(o, "value_size")),
                         cuts[c].len);
        json_decref(j);
        free(buf);
        free(k);
        anomalies_destroy(a);
    }
}

static void test_keyword_searches_only_the_preview(void **state)
{
    static const struct {
        size_t at; /* where "needle" starts in a 1000-byte value */
        int found;
    } at[] = {{0, 1}, {250, 1}, {251, 0}, {300, 0}};

    (void)state;
    for (size_t c = 0; c < sizeof(at) / sizeof(at[0]); c++) {
        anomalies_t *a = new_ring(2);
        char v[1001];
        json_t *j;

        memset(v, '.', 1000);
        v[1000] = '\0';
        memcpy(v + at[c].at, "needle", 6);
        push(a, "r", "d", NULL, 0, NULL, v);
        j = query(a, NULL, "NEEDLE", 10);
        assert_int_equal(json_integer_value(json_object_get(j, "returned")),
                         at[c].found);
        json_decref(j);
        anomalies_destroy(a);
    }
}

/* Bytes pushed as key and value, and the string the query must show. */
static const struct {
    const char *in;
    size_t len;
    const char *out;
} cleans[] = {
    {"a\0b", 3, "a" FFFD "b"},
    {"\0", 1, FFFD},
    {"\xff", 1, FFFD},
    {"caf\xc3\xa9", 5, "caf\xc3\xa9"},
    {"\xe2\x82\xac\xf0\x9f\x98\x80", 7, "\xe2\x82\xac\xf0\x9f\x98\x80"},
    {"\xc3", 1, FFFD},
    {"\xc3(", 2, FFFD "("},
    {"\xc0\x80", 2, FFFD FFFD},                   /* overlong NUL */
    {"\xe0\x80\xaf", 3, FFFD FFFD FFFD},          /* overlong / */
    {"\xed\xa0\x80", 3, FFFD FFFD FFFD},          /* surrogate */
    {"\xf4\x90\x80\x80", 4, FFFD FFFD FFFD FFFD}, /* above U+10FFFF */
    {"\xf8\x88\x80\x80\x80", 5, FFFD FFFD FFFD FFFD FFFD},
    {"\xe2\x82x", 3, FFFD FFFD "x"},
    {"\x80\xbf", 2, FFFD FFFD},
};

static void test_invalid_utf8_and_nul_become_replacement(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(cleans) / sizeof(cleans[0]); c++) {
        anomalies_t *a = new_ring(1);
        anomalies_entry_t e = {
            .reason = "r",
            .detail = "d",
            .topic = "t",
            .key = cleans[c].in,
            .key_len = cleans[c].len,
            .value = cleans[c].in,
            .value_len = cleans[c].len,
        };
        json_t *j;

        anomalies_push(a, &e);
        j = query(a, NULL, NULL, 1);
        if (strcmp(str(nth(j, 0), "value"), cleans[c].out) ||
            strcmp(str(nth(j, 0), "key"), cleans[c].out))
            fail_msg("case %zu: got %s", c, str(nth(j, 0), "value"));
        assert_int_equal(
            json_integer_value(json_object_get(nth(j, 0), "value_size")),
            cleans[c].len);
        json_decref(j);
        anomalies_destroy(a);
    }
}

/* A multibyte character across the preview boundary. */
static const struct {
    size_t pad; /* 'a' bytes before it */
    const char *ch;
    const char *tail; /* what must follow the pad in the preview */
} boundaries[] = {
    {255, "\xc3\xa9", FFFD},
    {254, "\xc3\xa9", "\xc3\xa9"},
    {256, "\xc3\xa9", ""},
    {254, "\xe2\x82\xac", FFFD FFFD},
    {255, "\xe2\x82\xac", FFFD},
    {253, "\xe2\x82\xac", "\xe2\x82\xac"},
    {253, "\xf0\x9f\x98\x80", FFFD FFFD FFFD},
    {252, "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"},
};

static void test_multibyte_char_cut_at_the_boundary(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(boundaries) / sizeof(boundaries[0]); c++) {
        anomalies_t *a = new_ring(1);
        char v[300], want[300];
        const char *got;
        json_t *j;

        memset(v, 'a', boundaries[c].pad);
        strcpy(v + boundaries[c].pad, boundaries[c].ch);
        strcat(v, "zz");
        memset(want, 'a', boundaries[c].pad);
        strcpy(want + boundaries[c].pad, boundaries[c].tail);
        push(a, "r", "d", NULL, 0, v, v);
        j = query(a, NULL, NULL, 1); /* parsing checks the UTF-8 */
        got = str(nth(j, 0), "value");
        if (strcmp(got, want))
            fail_msg("case %zu: preview ends with %s", c,
                     got + boundaries[c].pad);
        assert_string_equal(str(nth(j, 0), "key"), want);
        json_decref(j);
        anomalies_destroy(a);
    }
}

static void test_invalid_utf8_in_text_fields_still_gives_json(void **state)
{
    anomalies_t *a = new_ring(4);
    anomalies_entry_t e = {
        .reason = "bad\xff",
        .detail = "regex on \xc3(",
        .route = "r\x80",
        .topic = "t\xed\xa0\x80",
        .key = "k",
        .key_len = 1,
    };
    json_t *j;

    (void)state;
    anomalies_push(a, &e);
    push(a, "ok", "fine", NULL, 1, "k", "v");
    j = query(a, NULL, NULL, 10);
    assert_int_equal(json_array_size(json_object_get(j, "anomalies")), 2);
    assert_string_equal(str(nth(j, 1), "reason"), "bad" FFFD);
    assert_string_equal(str(nth(j, 1), "detail"), "regex on " FFFD "(");
    assert_string_equal(str(nth(j, 1), "route"), "r" FFFD);
    assert_string_equal(str(nth(j, 1), "topic"), "t" FFFD FFFD FFFD);
    json_decref(j);
    j = query(a, NULL, "REGEX", 10);
    assert_int_equal(json_array_size(json_object_get(j, "anomalies")), 1);
    json_decref(j);
    anomalies_destroy(a);
}

/* ---- concurrency ------------------------------------------------------- */

#define PUSHES 20000
#define CAP    64

struct conc {
    anomalies_t *a;
    int id;
    volatile int *stop;
    pthread_barrier_t *start; /* all four threads start together */
    long queries;
    int bad;
};

static void *pusher(void *arg)
{
    struct conc *c = arg;
    char key[32];

    pthread_barrier_wait(c->start);
    for (int i = 0; i < PUSHES; i++) {
        anomalies_entry_t e = {
            .reason = c->id ? "odd" : "even",
            .detail = "d",
            .topic = "t",
            .partition = c->id,
            .offset = i,
            .timestamp = -1,
            .key = key,
            .value = "v",
            .value_len = 1,
        };

        e.key_len = (size_t)snprintf(key, sizeof(key), "k%d", i);
        anomalies_push(c->a, &e);
    }
    return NULL;
}

/* Every answer: valid JSON, at most CAP entries, newest first within each
 * pusher, total never going back. */
static void *querier(void *arg)
{
    struct conc *c = arg;
    json_int_t last_total = 0;

    pthread_barrier_wait(c->start);
    do {
        char *s = anomalies_query(c->a, c->id ? "odd" : NULL, NULL, 1000);
        json_t *j = s ? json_loads(s, 0, NULL) : NULL, *o;
        json_int_t total, prev[2] = {PUSHES, PUSHES};
        size_t i;

        free(s);
        if (!j) {
            c->bad++;
            break;
        }
        total = json_integer_value(json_object_get(j, "total"));
        if (total < last_total ||
            json_array_size(json_object_get(j, "anomalies")) > CAP)
            c->bad++;
        last_total = total;
        json_array_foreach(json_object_get(j, "anomalies"), i, o)
        {
            json_int_t p = json_integer_value(json_object_get(o, "partition"));
            json_int_t off = json_integer_value(json_object_get(o, "offset"));

            if (p < 0 || p > 1 || off >= prev[p] || (c->id && p != 1))
                c->bad++;
            else
                prev[p] = off;
        }
        json_decref(j);
        c->queries++;
    } while (!__atomic_load_n(c->stop, __ATOMIC_ACQUIRE));
    return NULL;
}

static void test_concurrent_push_and_query(void **state)
{
    anomalies_t *a = new_ring(CAP);
    volatile int stop = 0;
    pthread_barrier_t start;
    struct conc c[4];
    pthread_t th[4];
    json_t *j;

    (void)state;
    assert_int_equal(pthread_barrier_init(&start, NULL, 4), 0);
    for (int i = 0; i < 4; i++) {
        c[i] =
            (struct conc){.a = a, .id = i % 2, .stop = &stop, .start = &start};
        assert_int_equal(
            pthread_create(&th[i], NULL, i < 2 ? pusher : querier, &c[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 2; i < 4; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(c[i].bad, 0);
        assert_true(c[i].queries > 0);
    }
    j = query(a, NULL, NULL, 1000);
    assert_int_equal(json_integer_value(json_object_get(j, "total")),
                     2 * PUSHES);
    assert_int_equal(json_array_size(json_object_get(j, "anomalies")), CAP);
    /* the newest is the last push of whichever pusher finished last */
    assert_int_equal(json_integer_value(json_object_get(nth(j, 0), "offset")),
                     PUSHES - 1);
    assert_string_equal(str(nth(j, 0), "key"), "k19999");
    json_decref(j);
    pthread_barrier_destroy(&start);
    anomalies_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_rejects_zero_capacity),
        cmocka_unit_test(test_query_returns_every_field_newest_first),
        cmocka_unit_test(test_capacity_evicts_the_oldest),
        cmocka_unit_test(test_filters_by_reason_keyword_and_limit),
        cmocka_unit_test(test_previews_cut_at_preview_bytes),
        cmocka_unit_test(test_keyword_searches_only_the_preview),
        cmocka_unit_test(test_invalid_utf8_and_nul_become_replacement),
        cmocka_unit_test(test_multibyte_char_cut_at_the_boundary),
        cmocka_unit_test(test_invalid_utf8_in_text_fields_still_gives_json),
        cmocka_unit_test(test_concurrent_push_and_query),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
