/* test_jsonscan.c - unit tests of the strict JSON scanner and pointers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonptr.h"
#include "jsonscan.h"

/* ---- Validation ---- */

typedef struct valid_case {
    const char *in;  /* the input */
    size_t len;      /* its length; 0 = strlen(in) */
    int ok;          /* 1 when it must be accepted */
    const char *why; /* substring of the error, or NULL */
    long off;        /* expected error offset, or -1 for any */
} valid_case_t;

static const valid_case_t valid_cases[] = {
    /* top-level scalars and containers */
    {"\"x\"", 0, 1, NULL, -1},
    {"3", 0, 1, NULL, -1},
    {"true", 0, 1, NULL, -1},
    {"false", 0, 1, NULL, -1},
    {"null", 0, 1, NULL, -1},
    {"{}", 0, 1, NULL, -1},
    {"[]", 0, 1, NULL, -1},
    {" \t\r\n[ 1 , { \"a\" : [ ] } ]\n ", 0, 1, NULL, -1},
    {"", 0, 0, "empty input", 0},
    {" \t\r\n", 0, 0, "only whitespace", 4},
    {"1 2", 0, 0, "unexpected data after the JSON value", 2},
    {"{} []", 0, 0, "unexpected data after the JSON value", 3},
    {"\xEF\xBB\xBF{}", 0, 0, "byte order mark", 0},
    {"\v1", 0, 0, "expected a JSON value", 0},
    {"\f1", 0, 0, "expected a JSON value", 0},
    /* numbers */
    {"0", 0, 1, NULL, -1},
    {"-0", 0, 1, NULL, -1},
    {"0.5", 0, 1, NULL, -1},
    {"-0.0e-0", 0, 1, NULL, -1},
    {"1e5", 0, 1, NULL, -1},
    {"1E+5", 0, 1, NULL, -1},
    {"1e-5", 0, 1, NULL, -1},
    {"123456789012345678901234567890", 0, 1, NULL, -1},
    {"[10,-20.25e+3]", 0, 1, NULL, -1},
    {"01", 0, 0, "leading zero in number", 0},
    {"-01", 0, 0, "leading zero in number", 1},
    {"[00]", 0, 0, "leading zero in number", 1},
    {"+1", 0, 0, "invalid number", 0},
    {".5", 0, 0, "invalid number", 0},
    {"1.", 0, 0, "expected a digit after the decimal point", 2},
    {"1.e5", 0, 0, "expected a digit after the decimal point", 2},
    {"1e", 0, 0, "expected a digit in the exponent", 2},
    {"1e+", 0, 0, "expected a digit in the exponent", 3},
    {"-", 0, 0, "expected a digit in number", 1},
    {"-a", 0, 0, "expected a digit in number", 1},
    {"NaN", 0, 0, "expected a JSON value", 0},
    {"-NaN", 0, 0, "expected a digit in number", 1},
    {"Infinity", 0, 0, "expected a JSON value", 0},
    {"-Infinity", 0, 0, "expected a digit in number", 1},
    {"0x10", 0, 0, "unexpected data after the JSON value", 1},
    {"1.5.5", 0, 0, "unexpected data after the JSON value", 3},
    /* literals */
    {"tru", 0, 0, "invalid literal", 0},
    {"nul", 0, 0, "invalid literal", 0},
    {"nulll", 0, 0, "unexpected data after the JSON value", 4},
    {"fals", 0, 0, "invalid literal", 0},
    {"True", 0, 0, "expected a JSON value", 0},
    {"[truex]", 0, 0, "expected ',' or ']'", 5},
    /* arrays and objects */
    {"[1,]", 0, 0, "trailing comma in array", 3},
    {"[1, ]", 0, 0, "trailing comma in array", 4},
    {"{\"a\":1,}", 0, 0, "trailing comma in object", 7},
    {"[,]", 0, 0, "expected a JSON value", 1},
    {"[,1]", 0, 0, "expected a JSON value", 1},
    {"[1,,2]", 0, 0, "expected a JSON value", 3},
    {"{,}", 0, 0, "expected a string as the member name", 1},
    {"[1 2]", 0, 0, "expected ',' or ']' after an array element", 3},
    {"{\"a\":1 \"b\":2}", 0, 0, "expected ',' or '}' after an object member",
     7},
    {"{\"a\" 1}", 0, 0, "expected ':' after the member name", 5},
    {"{\"a\"}", 0, 0, "expected ':' after the member name", 4},
    {"{\"a\":}", 0, 0, "expected a JSON value", 5},
    {"{a:1}", 0, 0, "expected a string as the member name", 1},
    {"{1:1}", 0, 0, "expected a string as the member name", 1},
    {"{'a':1}", 0, 0, "single-quoted strings are not allowed", 1},
    {"['a']", 0, 0, "single-quoted strings are not allowed", 1},
    {"[1]]", 0, 0, "unexpected data after the JSON value", 3},
    {"[1}", 0, 0, "expected ',' or ']'", 2},
    {"{\"a\":1]", 0, 0, "expected ',' or '}'", 6},
    {"[", 0, 0, "unexpected end of input", 1},
    {"[1", 0, 0, "unclosed array", 2},
    {"[1,", 0, 0, "unexpected end of input", 3},
    {"{", 0, 0, "unexpected end of input", 1},
    {"{\"a\":1", 0, 0, "unclosed object", 6},
    {"{\"a\":", 0, 0, "unexpected end of input", 5},
    {"]", 0, 0, "expected a JSON value", 0},
    /* comments */
    {"/* c */ 1", 0, 0, "comments are not allowed", 0},
    {"[1 // c\n]", 0, 0, "comments are not allowed", 3},
    {"[1, /* c */ 2]", 0, 0, "comments are not allowed", 4},
    {"{/*c*/\"a\":1}", 0, 0, "comments are not allowed", 1},
    {"# c\n1", 0, 0, "comments are not allowed", 0},
    /* strings: control characters and escapes */
    {"\"a\tb\"", 0, 0, "unescaped control character in string", 2},
    {"\"a\nb\"", 0, 0, "unescaped control character in string", 2},
    {"\"\x1f\"", 0, 0, "unescaped control character in string", 1},
    {"\"\x7f\"", 0, 1, NULL, -1},
    {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", 0, 1, NULL, -1},
    {"\"\\u0000\"", 0, 1, NULL, -1},
    {"\"\\uABCD\\uabcd\"", 0, 1, NULL, -1},
    {"\"\\x41\"", 0, 0, "invalid escape in string", 1},
    {"\"\\a\"", 0, 0, "invalid escape in string", 1},
    {"\"\\'\"", 0, 0, "invalid escape in string", 1},
    {"\"\\u12\"", 0, 0, "invalid \\u escape", 1},
    {"\"\\u12", 0, 0, "invalid \\u escape", 1},
    {"\"\\u12G4\"", 0, 0, "invalid \\u escape", 1},
    {"\"\\U0041\"", 0, 0, "invalid escape in string", 1},
    {"\"\\", 0, 0, "unterminated string", -1},
    {"\"abc", 0, 0, "unterminated string", 0},
    {"[\"abc]", 0, 0, "unterminated string", 1},
    {"\"\\ud800\"", 0, 0, "lone surrogate", 1},
    {"\"\\udc00\"", 0, 0, "lone surrogate", 1},
    {"\"\\ud800\\u0041\"", 0, 0, "lone surrogate", 1},
    {"\"\\ud800\\ud800\"", 0, 0, "lone surrogate", 1},
    {"\"\\ud800\\n\"", 0, 0, "lone surrogate", 1},
    {"\"\\ud800x\"", 0, 0, "lone surrogate", 1},
    {"\"\\ud800\\udc0\"", 0, 0, "lone surrogate", 1},
    {"\"\\ud83d\\ude00\"", 0, 1, NULL, -1},
    {"\"\\uDBFF\\uDFFF\"", 0, 1, NULL, -1},
    /* UTF-8 */
    {"\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF\"", 0, 1,
     NULL, -1},
    {"\"\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xED\x9F\xBF\xEE\x80\x80\"", 0,
     1, NULL, -1},
    {"\"\xF0\x90\x80\x80\xF3\xBF\xBF\xBF\"", 0, 1, NULL, -1},
    {"\"\xC0\x80\"", 0, 0, "invalid UTF-8", 1},
    {"\"\xC1\xBF\"", 0, 0, "invalid UTF-8", 1},
    {"\"\xE0\x80\x80\"", 0, 0, "invalid UTF-8", 1},
    {"\"\xE0\x9F\xBF\"", 0, 0, "invalid UTF-8", 1},
    {"\"\xF0\x80\x80\x80\"", 0, 0, "invalid UTF-8", 1},
    {"\"\xF0\x8F\xBF\xBF\"", 0, 0, "invalid UTF-8", 1},
    {"\"\xED\xA0\x80\"", 0, 0, "invalid UTF-8", 1},
    {"\"\xED\xBF\xBF\"", 0, 0, "invalid UTF-8", 1},
    {"\"\xF4\x90\x80\x80\"", 0, 0, "invalid UTF-8", 1},
    {"\"\xC3\"", 0, 0, "invalid UTF-8", 1},
    {"\"\xC3", 0, 0, "invalid UTF-8", 1},
    {"\"\xE2\x82\"", 0, 0, "invalid UTF-8", 1},
    {"\"\xE2\x82", 0, 0, "invalid UTF-8", 1},
    {"\"\xF0\x9F\x98\"", 0, 0, "invalid UTF-8", 1},
    {"\"\xF0\x9F\x98", 0, 0, "invalid UTF-8", 1},
    {"\"a\xE2\x28\xA1\"", 0, 0, "invalid UTF-8", 2},
    {"\"\xF0\x9F\x28\x80\"", 0, 0, "invalid UTF-8", 1},
    {"\"\xF0\x9F\x98\x28\"", 0, 0, "invalid UTF-8", 1},
    {"\"\x80\"", 0, 0, "invalid UTF-8", 1},
    {"\"\xBF\"", 0, 0, "invalid UTF-8", 1},
    {"\"\xC3\xA9\xA9\"", 0, 0, "invalid UTF-8", 3},
    {"\"\xF5\x80\x80\x80\"", 0, 0, "invalid UTF-8", 1},
    {"\"\xF8\"", 0, 0, "invalid UTF-8", 1},
    {"\"\xFE\"", 0, 0, "invalid UTF-8", 1},
    {"\"\xFF\"", 0, 0, "invalid UTF-8", 1},
    {"\xC3\xA9", 0, 0, "expected a JSON value", 0},
    /* NUL bytes */
    {"\"a\0b\"", 5, 0, "unescaped control character in string", 2},
    {"1\0", 2, 0, "unexpected data after the JSON value", 1},
    {"[1]\0", 4, 0, "unexpected data after the JSON value", 3},
    {"\0", 1, 0, "expected a JSON value", 0},
    {"[1,\0]", 5, 0, "expected a JSON value", 3},
};

static void test_validation_table(void **state)
{
    jsonscan_t *js = jsonscan_create(0);
    size_t i, off, n;

    (void)state;
    assert_non_null(js);
    for (i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
        const valid_case_t *c = &valid_cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        int rc = jsonscan_parse(js, c->in, len);
        const char *why = jsonscan_error(js, &off);

        if ((rc == 0) != c->ok)
            fail_msg("case %zu '%s': expected %s, got rc %d (%s at %zu)", i,
                     c->in, c->ok ? "valid" : "invalid", rc, why, off);
        if (c->ok) {
            assert_non_null(jsonscan_tokens(js, &n));
            assert_true(n >= 1);
            assert_ptr_equal(jsonscan_input(js), c->in);
            continue;
        }
        assert_null(jsonscan_tokens(js, &n));
        assert_int_equal(n, 0);
        assert_null(jsonscan_input(js));
        if (c->why && !strstr(why, c->why))
            fail_msg("case %zu '%s': error '%s' lacks '%s'", i, c->in, why,
                     c->why);
        if (c->off >= 0 && off != (size_t)c->off)
            fail_msg("case %zu '%s': error '%s' at %zu, expected at %ld", i,
                     c->in, why, off, c->off);
    }
    jsonscan_destroy(js);
}

/* Every single-byte prefix of a valid document but the whole is invalid,
 * and no prefix crashes. */
static void test_every_prefix_of_a_document_is_invalid(void **state)
{
    static const char doc[] =
        "{\"a\":[1,-2.5e+3,true,false,null,\"\\u00e9\\ud83d\\ude00\xC3\xA9\"],"
        "\"b\":{}}";
    jsonscan_t *js = jsonscan_create(0);
    size_t i;

    (void)state;
    assert_non_null(js);
    assert_int_equal(jsonscan_parse(js, doc, sizeof(doc) - 1), 0);
    for (i = 0; i < sizeof(doc) - 1; i++) {
        char *copy = malloc(i ? i : 1);

        /* An exact-size heap copy so that ASan sees any over-read. */
        assert_non_null(copy);
        memcpy(copy, doc, i);
        assert_int_equal(jsonscan_parse(js, copy, i), -1);
        free(copy);
    }
    jsonscan_destroy(js);
}

/* n '[' then n ']', in an exact-size heap buffer. */
static char *nested(size_t n, size_t *len)
{
    char *s = malloc(2 * n);

    assert_non_null(s);
    memset(s, '[', n);
    memset(s + n, ']', n);
    *len = 2 * n;
    return s;
}

/* The string scan reads eight bytes at a time: each kind of byte that ends
 * a plain run (quote, escape, control character, UTF-8, bad UTF-8) is found
 * at every offset of a run of 0 to 24 plain bytes, also where fewer than
 * eight bytes are left before the end of the input. */
static void test_string_specials_at_every_offset(void **state)
{
    static const struct {
        const char *tail; /* what follows the plain run, in the string */
        int ok;
        const char *why;
        size_t extra; /* the error offset after the run, from its start */
    } kinds[] = {
        {"\"", 1, NULL, 0},
        {"\\n\"", 1, NULL, 0},
        {"\\u00e9\"", 1, NULL, 0},
        {"\xc3\xa9\"", 1, NULL, 0},
        {"\xe2\x82\xac\"", 1, NULL, 0},
        {"\x7f\"", 1, NULL, 0},
        {"\x1f\"", 0, "control character", 0},
        {"\x80\"", 0, "invalid UTF-8", 0},
        {"\xc3(\"", 0, "invalid UTF-8", 0},
        {"\\x\"", 0, "invalid escape", 0},
    };
    jsonscan_t *js = jsonscan_create(0);
    char in[64], out[64];
    size_t run, k, off, n;
    const jsonscan_tok_t *t;

    (void)state;
    assert_non_null(js);
    for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        for (run = 0; run <= 24; run++) {
            int len = snprintf(in, sizeof(in), "[\"%.*s%s]", (int)run,
                               "abcdefghijklmnopqrstuvwxyz", kinds[k].tail);
            int rc = jsonscan_parse(js, in, (size_t)len);

            assert_int_equal(rc, kinds[k].ok ? 0 : -1);
            if (!kinds[k].ok) {
                assert_non_null(strstr(jsonscan_error(js, &off), kinds[k].why));
                assert_int_equal(off, 2 + run + kinds[k].extra);
                continue;
            }
            t = jsonscan_tokens(js, &n);
            assert_int_equal(n, 2);
            assert_int_equal(t[1].type, JSONSCAN_STRING);
            assert_int_equal(t[1].start, 2);
            assert_int_equal(t[1].len, (size_t)len - 2 - 2);
            assert_int_equal(jsonscan_str_copy(js, &t[1], out, sizeof(out)) >=
                                 (ssize_t)run,
                             1);
            assert_memory_equal(out, "abcdefghijklmnopqrstuvwxyz", run);
        }
    }
    jsonscan_destroy(js);
}

/* The eight-byte string scan and the byte class table must agree on every
 * byte value: each of the 256 after a plain run of 0 to 17 bytes (so at
 * every offset of a word, and in the tail read byte by byte). */
static void test_every_byte_value_after_every_run(void **state)
{
    jsonscan_t *js = jsonscan_create(0);
    const jsonscan_tok_t *t;
    char in[64];
    size_t run, off, n;
    unsigned c;

    (void)state;
    assert_non_null(js);
    for (c = 0; c < 256; c++) {
        for (run = 0; run <= 17; run++) {
            size_t len = 0;
            int rc;

            in[len++] = '[';
            in[len++] = '"';
            memset(in + len, 'a', run);
            len += run;
            in[len++] = (char)c;
            in[len++] = '"';
            in[len++] = ']';
            rc = jsonscan_parse(js, in, len);
            if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
                assert_int_equal(rc, 0);
                t = jsonscan_tokens(js, &n);
                assert_int_equal(n, 2);
                assert_int_equal(t[1].len, run + 1);
                continue;
            }
            assert_int_equal(rc, -1);
            (void)jsonscan_error(js, &off);
            if (c == '"') /* the string ends before it: a second string */
                assert_int_equal(off, 2 + run + 1);
            else if (c == '\\') /* \" escapes the quote: never closed */
                assert_int_equal(off, 1);
            else /* a control character, or UTF-8 cut short */
                assert_int_equal(off, 2 + run);
        }
    }
    jsonscan_destroy(js);
}

static void test_depth_limit_default(void **state)
{
    jsonscan_t *js = jsonscan_create(0);
    size_t len, off, n;
    char *s;

    (void)state;
    assert_non_null(js);
    s = nested(JSONSCAN_DEFAULT_MAX_DEPTH, &len);
    assert_int_equal(jsonscan_parse(js, s, len), 0);
    assert_non_null(jsonscan_tokens(js, &n));
    assert_int_equal(n, JSONSCAN_DEFAULT_MAX_DEPTH);
    free(s);
    s = nested(JSONSCAN_DEFAULT_MAX_DEPTH + 1, &len);
    assert_int_equal(jsonscan_parse(js, s, len), -1);
    assert_string_equal(jsonscan_error(js, &off), "nesting deeper than 512");
    assert_int_equal(off, JSONSCAN_DEFAULT_MAX_DEPTH);
    free(s);
    jsonscan_destroy(js);
}

static void test_depth_limit_custom_objects_and_arrays(void **state)
{
    jsonscan_t *js = jsonscan_create(3);
    size_t off;

    (void)state;
    assert_non_null(js);
    assert_int_equal(jsonscan_parse(js, "{\"a\":[{}]}", 10), 0);
    assert_int_equal(jsonscan_parse(js, "[[[1],[2]],[3]]", 15), 0);
    assert_int_equal(jsonscan_parse(js, "{\"a\":[{\"b\":[]}]}", 16), -1);
    assert_string_equal(jsonscan_error(js, &off), "nesting deeper than 3");
    assert_int_equal(off, 11);
    assert_int_equal(jsonscan_parse(js, "[[[[]]]]", 8), -1);
    jsonscan_destroy(js);
}

static void test_100000_deep_is_rejected(void **state)
{
    jsonscan_t *js = jsonscan_create(0);
    size_t n = 100000, off;
    char *s = malloc(n);

    (void)state;
    assert_non_null(js);
    assert_non_null(s);
    memset(s, '[', n);
    assert_int_equal(jsonscan_parse(js, s, n), -1);
    assert_string_equal(jsonscan_error(js, &off), "nesting deeper than 512");
    assert_int_equal(off, 512);
    free(s);
    jsonscan_destroy(js);
}

static void test_input_of_4_gib_is_rejected(void **state)
{
    jsonscan_t *js = jsonscan_create(0);
    size_t off;

    (void)state;
    assert_non_null(js);
    /* Rejected on the length alone: the buffer is never read. */
    if (SIZE_MAX > UINT32_MAX) {
        assert_int_equal(jsonscan_parse(js, "1", (size_t)UINT32_MAX + 1), -1);
        assert_non_null(strstr(jsonscan_error(js, &off), "4 GiB"));
    }
    assert_int_equal(jsonscan_parse(js, NULL, 0), -1);
    assert_string_equal(jsonscan_error(js, &off), "empty input");
    assert_int_equal(jsonscan_parse(js, NULL, 3), -1);
    assert_int_equal(jsonscan_parse(NULL, "1", 1), -1);
    jsonscan_destroy(js);
    jsonscan_destroy(NULL);
}

/* ---- Tokens ---- */

static void test_token_layout(void **state)
{
    static const char doc[] =
        "{\"a\": [1, {\"b\": null}, \"x\\ny\"], \"c\": true, \"d\": {}}";
    static const struct {
        uint8_t type;
        const char *span;
        uint32_t count, next;
        uint8_t escaped;
    } want[] = {
        {JSONSCAN_OBJECT, doc, 3, 12, 0},
        {JSONSCAN_STRING, "a", 0, 2, 0},
        {JSONSCAN_ARRAY, "[1, {\"b\": null}, \"x\\ny\"]", 3, 8, 0},
        {JSONSCAN_NUMBER, "1", 0, 4, 0},
        {JSONSCAN_OBJECT, "{\"b\": null}", 1, 7, 0},
        {JSONSCAN_STRING, "b", 0, 6, 0},
        {JSONSCAN_NULL, "null", 0, 7, 0},
        {JSONSCAN_STRING, "x\\ny", 0, 8, 1},
        {JSONSCAN_STRING, "c", 0, 9, 0},
        {JSONSCAN_TRUE, "true", 0, 10, 0},
        {JSONSCAN_STRING, "d", 0, 11, 0},
        {JSONSCAN_OBJECT, "{}", 0, 12, 0},
    };
    jsonscan_t *js = jsonscan_create(0);
    const jsonscan_tok_t *t;
    size_t n, i;

    (void)state;
    assert_non_null(js);
    assert_int_equal(jsonscan_parse(js, doc, sizeof(doc) - 1), 0);
    t = jsonscan_tokens(js, &n);
    assert_non_null(t);
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (i = 0; i < n; i++) {
        if (t[i].type != want[i].type || t[i].count != want[i].count ||
            t[i].next != want[i].next || t[i].escaped != want[i].escaped ||
            t[i].len != strlen(want[i].span) ||
            memcmp(doc + t[i].start, want[i].span, t[i].len))
            fail_msg("token %zu: type %u '%.*s' count %u next %u esc %u", i,
                     t[i].type, (int)t[i].len, doc + t[i].start, t[i].count,
                     t[i].next, t[i].escaped);
    }
    jsonscan_destroy(js);
}

static void test_scalar_root_and_buffer_growth(void **state)
{
    jsonscan_t *js = jsonscan_create(0);
    const jsonscan_tok_t *t;
    size_t n, i, len = 0, count = 20000;
    char *s = malloc(count * 2 + 2);

    (void)state;
    assert_non_null(js);
    assert_non_null(s);
    assert_int_equal(jsonscan_parse(js, " \"str\" ", 7), 0);
    t = jsonscan_tokens(js, &n);
    assert_int_equal(n, 1);
    assert_int_equal(t[0].type, JSONSCAN_STRING);
    assert_int_equal(t[0].start, 2);
    assert_int_equal(t[0].len, 3);
    assert_int_equal(t[0].next, 1);
    assert_int_equal(jsonscan_parse(js, "-12.5e3", 7), 0);
    t = jsonscan_tokens(js, &n);
    assert_int_equal(n, 1);
    assert_int_equal(t[0].type, JSONSCAN_NUMBER);
    assert_int_equal(t[0].len, 7);

    /* [0,0,0,...]: far more tokens than the initial buffer holds. */
    s[len++] = '[';
    for (i = 0; i < count; i++) {
        s[len++] = '0';
        s[len++] = i + 1 < count ? ',' : ']';
    }
    assert_int_equal(jsonscan_parse(js, s, len), 0);
    t = jsonscan_tokens(js, &n);
    assert_int_equal(n, count + 1);
    assert_int_equal(t[0].count, count);
    assert_int_equal(t[0].next, count + 1);
    assert_int_equal(t[count].start, len - 2);
    free(s);
    jsonscan_destroy(js);
}

/* ---- JSON Pointers ---- */

typedef struct ptr_case {
    const char *doc;
    const char *ptr;
    const char *want; /* raw span of the value found, or NULL for -1 */
} ptr_case_t;

static const char ptr_doc[] =
    "{\"a\": {\"b\": 1, \"c\": [true]}, \"arr\": [10, 20, 30], "
    "\"a/b\": \"slash\", \"m~n\": \"tilde\", \"\": \"empty\", "
    "\"s\": \"scalar\", \"dup\": 1, \"dup\": 2, \"\\u0061x\": \"esc\", "
    "\"n\": null, \"e\\\\\": \"bs\", \"arr2\": [[0, 1], {\"0\": \"zero\"}]}";

static const ptr_case_t ptr_cases[] = {
    {ptr_doc, "", ptr_doc},
    {ptr_doc, "/a", "{\"b\": 1, \"c\": [true]}"},
    {ptr_doc, "/a/b", "1"},
    {ptr_doc, "/a/c/0", "true"},
    {ptr_doc, "/a/c/1", NULL},
    {ptr_doc, "/a/x", NULL},
    {ptr_doc, "/arr/0", "10"},
    {ptr_doc, "/arr/2", "30"},
    {ptr_doc, "/arr/3", NULL},
    {ptr_doc, "/arr/10", NULL},
    {ptr_doc, "/arr/01", NULL},
    {ptr_doc, "/arr/-", NULL},
    {ptr_doc, "/arr/-1", NULL},
    {ptr_doc, "/arr/+1", NULL},
    {ptr_doc, "/arr/ 1", NULL},
    {ptr_doc, "/arr/99999999999999999999", NULL},
    {ptr_doc, "/arr/", NULL},
    {ptr_doc, "/a~1b", "slash"},
    {ptr_doc, "/m~0n", "tilde"},
    {ptr_doc, "/", "empty"},
    {ptr_doc, "/s", "scalar"},
    {ptr_doc, "/s/0", NULL},
    {ptr_doc, "/s/x", NULL},
    {ptr_doc, "/a/b/c", NULL},
    {ptr_doc, "/n", "null"},
    {ptr_doc, "/n/0", NULL},
    {ptr_doc, "/dup", "2"},
    {ptr_doc, "/ax", "esc"},
    {ptr_doc, "/\\u0061x", NULL},
    {ptr_doc, "/e\\", "bs"},
    {ptr_doc, "/arr2/0/1", "1"},
    {ptr_doc, "/arr2/1/0", "zero"},
    {ptr_doc, "/arr2/1/00", NULL},
    {ptr_doc, "/A", NULL},
    {"{\"\\u0061\":1}", "/a", "1"},
    {"{\"a\":1,\"a\":{\"b\":2}}", "/a/b", "2"},
    {"{\"a\":{\"b\":2},\"a\":1}", "/a/b", NULL},
    {"[[], [1], {}]", "/1/0", "1"},
    {"[[], [1], {}]", "/0/0", NULL},
    {"[[], [1], {}]", "/2/x", NULL},
    {"{\"0\": \"m\"}", "/0", "m"},
    {"{\"01\": \"m\"}", "/01", "m"},
    {"{\"-\": \"m\"}", "/-", "m"},
    {"{\"caf\xC3\xA9\": 1}", "/caf\xC3\xA9", "1"},
    {"{\"caf\\u00e9\": 1}", "/caf\xC3\xA9", "1"},
    {"{\"\\ud83d\\ude00\": 1}", "/\xF0\x9F\x98\x80", "1"},
    {"{\"a\\/b\": 1}", "/a~1b", "1"},
    {"{\"a\\u0000b\": 1}", "/a", NULL},
    {"3", "", "3"},
    {"3", "/0", NULL},
};

static void test_pointer_table(void **state)
{
    jsonscan_t *js = jsonscan_create(0);
    char err[128];
    size_t i, n;

    (void)state;
    assert_non_null(js);
    for (i = 0; i < sizeof(ptr_cases) / sizeof(ptr_cases[0]); i++) {
        const ptr_case_t *c = &ptr_cases[i];
        jsonptr_t *p = jsonptr_compile(c->ptr, err, sizeof(err));
        const jsonscan_tok_t *t;
        long idx;

        if (!p)
            fail_msg("case %zu '%s': compile failed: %s", i, c->ptr, err);
        assert_string_equal(jsonptr_text(p), c->ptr);
        if (jsonscan_parse(js, c->doc, strlen(c->doc)))
            fail_msg("case %zu: document invalid: %s", i,
                     jsonscan_error(js, NULL));
        t = jsonscan_tokens(js, &n);
        idx = jsonptr_get(js, p);
        if (!c->want && idx != -1)
            fail_msg("case %zu '%s': found token %ld, expected none", i, c->ptr,
                     idx);
        if (c->want &&
            (idx < 0 || (size_t)idx >= n || t[idx].len != strlen(c->want) ||
             memcmp(c->doc + t[idx].start, c->want, t[idx].len)))
            fail_msg("case %zu '%s': got token %ld, expected '%s'", i, c->ptr,
                     idx, c->want);
        jsonptr_destroy(p);
    }
    jsonscan_destroy(js);
}

static void test_pointer_on_failed_parse_resolves_nothing(void **state)
{
    jsonscan_t *js = jsonscan_create(0);
    jsonptr_t *root = jsonptr_compile("", NULL, 0);
    jsonptr_t *p = jsonptr_compile("/a", NULL, 0);

    (void)state;
    assert_non_null(js);
    assert_non_null(root);
    assert_non_null(p);
    assert_int_equal(jsonptr_get(js, root), -1); /* nothing parsed yet */
    assert_int_equal(jsonscan_parse(js, "{\"a\":1}", 7), 0);
    assert_int_equal(jsonptr_get(js, p), 2);
    assert_int_equal(jsonscan_parse(js, "{\"a\":1,}", 8), -1);
    assert_int_equal(jsonptr_get(js, p), -1);
    assert_int_equal(jsonptr_get(js, root), -1);
    assert_int_equal(jsonptr_get(NULL, p), -1);
    assert_int_equal(jsonptr_get(js, NULL), -1);
    jsonptr_destroy(p);
    jsonptr_destroy(root);
    jsonptr_destroy(NULL);
    jsonscan_destroy(js);
}

static void test_pointer_compile_errors(void **state)
{
    static const struct {
        const char *ptr;
        const char *why;
    } cases[] = {
        {"a", "JSON Pointer must start with '/'"},
        {"#/a", "JSON Pointer must start with '/'"},
        {" /a", "JSON Pointer must start with '/'"},
        {"/a~2", "invalid escape at offset 2"},
        {"/a~", "invalid escape at offset 2"},
        {"/~", "invalid escape at offset 1"},
        {"/a/~x/b", "invalid escape at offset 3"},
        {"/a~01~", "invalid escape at offset 5"},
        {NULL, "JSON Pointer is missing"},
    };
    char err[128];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        strcpy(err, "unset");
        assert_null(jsonptr_compile(cases[i].ptr, err, sizeof(err)));
        if (!strstr(err, cases[i].why))
            fail_msg("case %zu: error '%s' lacks '%s'", i, err, cases[i].why);
    }
    /* A tiny or missing errstr is no problem. */
    assert_null(jsonptr_compile("a", err, 4));
    assert_string_equal(err, "JSO");
    assert_null(jsonptr_compile("a", NULL, 0));
}

static void test_pointer_escape_order(void **state)
{
    static const char doc[] = "{\"~1\": \"tilde-one\", \"/\": \"slash\"}";
    jsonscan_t *js = jsonscan_create(0);
    jsonptr_t *p = jsonptr_compile("/~01", NULL, 0);
    jsonptr_t *q = jsonptr_compile("/~1", NULL, 0);
    const jsonscan_tok_t *t;
    size_t n;

    (void)state;
    assert_non_null(js);
    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal(jsonscan_parse(js, doc, sizeof(doc) - 1), 0);
    t = jsonscan_tokens(js, &n);
    assert_true(jsonscan_str_eq(js, &t[jsonptr_get(js, p)], "tilde-one", 9));
    assert_true(jsonscan_str_eq(js, &t[jsonptr_get(js, q)], "slash", 5));
    jsonptr_destroy(p);
    jsonptr_destroy(q);
    jsonscan_destroy(js);
}

/* ---- String and number values ---- */

typedef struct str_case {
    const char *json; /* a JSON string literal */
    const char *want; /* its unescaped bytes */
    size_t want_len;  /* their number */
} str_case_t;

static const str_case_t str_cases[] = {
    {"\"\"", "", 0},
    {"\"plain\"", "plain", 5},
    {"\"a\\nb\"", "a\nb", 3},
    {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8},
    {"\"\\u0041\\u00e9\"", "A\xC3\xA9", 3},
    {"\"\\u00E9\"", "\xC3\xA9", 2},
    {"\"\\u20ac\"", "\xE2\x82\xAC", 3},
    {"\"\\ud83d\\ude00\"", "\xF0\x9F\x98\x80", 4},
    {"\"\\uDBFF\\uDFFF\"", "\xF4\x8F\xBF\xBF", 4},
    {"\"\\u0000x\"", "\0x", 2},
    {"\"\\u07ff\\u0800\\uffff\"", "\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF", 8},
    {"\"caf\xC3\xA9\\n\"", "caf\xC3\xA9\n", 6},
};

static void test_str_eq_and_copy(void **state)
{
    jsonscan_t *js = jsonscan_create(0);
    const jsonscan_tok_t *t;
    char out[64];
    size_t i, n;

    (void)state;
    assert_non_null(js);
    for (i = 0; i < sizeof(str_cases) / sizeof(str_cases[0]); i++) {
        const str_case_t *c = &str_cases[i];
        size_t k = c->want_len;

        assert_int_equal(jsonscan_parse(js, c->json, strlen(c->json)), 0);
        t = jsonscan_tokens(js, &n);
        assert_int_equal(t[0].type, JSONSCAN_STRING);
        if (jsonscan_str_copy(js, &t[0], out, sizeof(out)) != (ssize_t)k ||
            memcmp(out, c->want, k))
            fail_msg("case %zu %s: str_copy differs", i, c->json);
        assert_int_equal(jsonscan_str_copy(js, &t[0], out, k), (ssize_t)k);
        if (k > 0) {
            assert_int_equal(jsonscan_str_copy(js, &t[0], out, k - 1), -1);
            /* one byte fewer, one byte more, one byte changed */
            assert_false(jsonscan_str_eq(js, &t[0], c->want, k - 1));
            memcpy(out, c->want, k);
            out[k - 1] ^= 1;
            assert_false(jsonscan_str_eq(js, &t[0], out, k));
        }
        if (!jsonscan_str_eq(js, &t[0], c->want, k))
            fail_msg("case %zu %s: str_eq is 0", i, c->json);
        memcpy(out, c->want, k);
        out[k] = 'z';
        assert_false(jsonscan_str_eq(js, &t[0], out, k + 1));
    }
    jsonscan_destroy(js);
}

static void test_str_on_non_strings(void **state)
{
    jsonscan_t *js = jsonscan_create(0);
    const jsonscan_tok_t *t;
    char out[16];
    double d;
    size_t n;

    (void)state;
    assert_non_null(js);
    assert_int_equal(jsonscan_parse(js, "[1, \"1\", null, {}]", 18), 0);
    t = jsonscan_tokens(js, &n);
    assert_int_equal(n, 5);
    assert_false(jsonscan_str_eq(js, &t[0], "[1", 2));
    assert_false(jsonscan_str_eq(js, &t[1], "1", 1));
    assert_true(jsonscan_str_eq(js, &t[2], "1", 1));
    assert_false(jsonscan_str_eq(js, &t[3], "null", 4));
    assert_int_equal(jsonscan_str_copy(js, &t[0], out, sizeof(out)), -1);
    assert_int_equal(jsonscan_str_copy(js, &t[1], out, sizeof(out)), -1);
    assert_int_equal(jsonscan_str_copy(js, &t[3], out, sizeof(out)), -1);
    assert_int_equal(jsonscan_str_copy(js, &t[2], out, 0), -1);
    assert_int_equal(jsonscan_number(js, &t[2], &d), -1);
    assert_int_equal(jsonscan_number(js, &t[4], &d), -1);
    assert_int_equal(jsonscan_number(js, &t[1], &d), 0);
    assert_true(d == 1.0);
    assert_int_equal(jsonscan_number(js, &t[1], NULL), -1);
    assert_int_equal(jsonscan_str_copy(js, NULL, out, sizeof(out)), -1);
    assert_false(jsonscan_str_eq(js, NULL, "1", 1));
    jsonscan_destroy(js);
}

typedef struct num_case {
    const char *json;
    double want;
} num_case_t;

static const num_case_t num_cases[] = {
    {"0", 0.0},
    {"1", 1.0},
    {"-1", -1.0},
    {"98765", 98765.0},
    {"1732240000123", 1732240000123.0},
    {"0.5", 0.5},
    {"-0.25", -0.25},
    {"1e5", 1e5},
    {"1E+5", 1e5},
    {"1e-5", 1e-5},
    {"1.5e3", 1500.0},
    {"0.1", 0.1},
    {"0.3", 0.3},
    {"123.456", 123.456},
    {"9007199254740993", 9007199254740992.0},
    {"9007199254740995", 9007199254740996.0},
    {"18446744073709551616", 18446744073709551616.0},
    {"2.2250738585072014e-308", 2.2250738585072014e-308},
    {"4.9406564584124654e-324", 4.9406564584124654e-324},
    {"1.7976931348623157e308", 1.7976931348623157e308},
    {"1e-400", 0.0},
    {"0.000001", 1e-6},
    {"2.4703282292062327e-324", 0.0},
    {"2.4703282292062328e-324", 4.9406564584124654e-324},
    {"1e0000000000000000000000000000000001", 10.0},
};

static void test_number_conversion(void **state)
{
    jsonscan_t *js = jsonscan_create(0);
    const jsonscan_tok_t *t;
    double d;
    size_t i, n;

    (void)state;
    assert_non_null(js);
    for (i = 0; i < sizeof(num_cases) / sizeof(num_cases[0]); i++) {
        const char *s = num_cases[i].json;

        assert_int_equal(jsonscan_parse(js, s, strlen(s)), 0);
        t = jsonscan_tokens(js, &n);
        assert_int_equal(jsonscan_number(js, &t[0], &d), 0);
        if (d != num_cases[i].want)
            fail_msg("case %zu %s: got %.17g, want %.17g", i, s, d,
                     num_cases[i].want);
        /* The same as strtod in the C locale of this test. */
        assert_true(d == strtod(s, NULL));
    }
    assert_int_equal(jsonscan_parse(js, "1e400", 5), 0);
    assert_int_equal(jsonscan_number(js, jsonscan_tokens(js, &n), &d), 0);
    assert_true(d == HUGE_VAL);
    assert_int_equal(jsonscan_parse(js, "-1e400", 6), 0);
    assert_int_equal(jsonscan_number(js, jsonscan_tokens(js, &n), &d), 0);
    assert_true(d == -HUGE_VAL);
    assert_int_equal(jsonscan_parse(js, "1e99999999999999999999", 22), 0);
    assert_int_equal(jsonscan_number(js, jsonscan_tokens(js, &n), &d), 0);
    assert_true(d == HUGE_VAL);
    assert_int_equal(jsonscan_parse(js, "-0", 2), 0);
    assert_int_equal(jsonscan_number(js, jsonscan_tokens(js, &n), &d), 0);
    assert_true(d == 0.0 && signbit(d));
    assert_int_equal(jsonscan_parse(js, "-0.0e5", 6), 0);
    assert_int_equal(jsonscan_number(js, jsonscan_tokens(js, &n), &d), 0);
    assert_true(d == 0.0 && signbit(d));
    assert_int_equal(jsonscan_parse(js, "0", 1), 0);
    assert_int_equal(jsonscan_number(js, jsonscan_tokens(js, &n), &d), 0);
    assert_true(d == 0.0 && !signbit(d));
    jsonscan_destroy(js);
}

/* 2^-1075, exactly halfway between 0 and the smallest double: 752
 * significant digits. */
static const char half_min[] =
    "2.47032822920623272088284396434110686182529901307162382212792841"
    "2503377536351043759326499181808179961898982823477228588654633283"
    "5517796989819938739800539093906315035659515570226392290858392449"
    "1051844359318028499365361525003193704576782492193656236698636584"
    "8075700158576926990370631192827955855133292783433840935197801553"
    "1246597263579574622766465272827220056374006485499977096599470454"
    "0208281662262378573934507363390079677619305775067401763246736009"
    "6895134053553745851666113422376667860416215968046191446729184030"
    "0530057530849048765391711386591646239524912623653881879636239373"
    "2804238910186723484976682350898633885879256283027559956575244555"
    "0725518931369083625477918694866799496832404970582102851318545139"
    "6213837722826145437693412532098591327667236328125e-324";

/* Parse head, zeros '0's, tail as one number; compare with strtod. */
static void check_long_number(jsonscan_t *js, const char *head, size_t zeros,
                              const char *tail)
{
    size_t hl = strlen(head), tl = strlen(tail), len = hl + zeros + tl, n;
    char *s = malloc(len + 1);
    double d, want;

    assert_non_null(s);
    memcpy(s, head, hl);
    memset(s + hl, '0', zeros);
    memcpy(s + hl + zeros, tail, tl + 1);
    if (jsonscan_parse(js, s, len))
        fail_msg("'%.40s' invalid: %s", s, jsonscan_error(js, NULL));
    assert_int_equal(jsonscan_number(js, jsonscan_tokens(js, &n), &d), 0);
    want = strtod(s, NULL);
    if (d != want)
        fail_msg("'%.40s...%s' (%zu bytes): %.17g, strtod %.17g", s, tail, len,
                 d, want);
    free(s);
}

/* Numbers longer than the digits kept before strtod still round exactly:
 * at a halfway point a digit far in the tail decides. */
static void test_long_numbers_round_like_strtod(void **state)
{
    static const char *const heads[] = {
        "9007199254740993.", "0.", "-1.", "123.", "1", "-4", "0.000",
    };
    static const char *const tails[] = {"0", "1", "5", "9e-3", "1e5", "1E-400"};
    static const size_t zeros[] = {0, 10, 740, 780, 799, 800, 801, 1500};
    char head[sizeof(half_min)];
    jsonscan_t *js = jsonscan_create(0);
    const char *e = strchr(half_min, 'e');
    size_t h, z, t, n;
    double d;

    (void)state;
    assert_non_null(js);
    for (h = 0; h < sizeof(heads) / sizeof(heads[0]); h++)
        for (z = 0; z < sizeof(zeros) / sizeof(zeros[0]); z++)
            for (t = 0; t < sizeof(tails) / sizeof(tails[0]); t++)
                check_long_number(js, heads[h], zeros[z], tails[t]);

    /* Exactly halfway rounds to even (0); anything above to 2^-1074. */
    assert_int_equal(jsonscan_parse(js, half_min, strlen(half_min)), 0);
    assert_int_equal(jsonscan_number(js, jsonscan_tokens(js, &n), &d), 0);
    assert_true(d == 0.0);
    memcpy(head, half_min, (size_t)(e - half_min));
    head[e - half_min] = '\0';
    for (z = 0; z < sizeof(zeros) / sizeof(zeros[0]); z++) {
        check_long_number(js, head, zeros[z], "1e-324");
        check_long_number(js, head, zeros[z], "0e-324");
    }
    /* The last digit one lower: just below halfway, 0. */
    head[e - half_min - 1]--;
    check_long_number(js, head, 0, "e-324");
    check_long_number(js, head, 900, "9e-324");
    jsonscan_destroy(js);
}

/* A failed parse leaves no tokens; the scanner keeps working after it. */
static void test_reuse_after_failure(void **state)
{
    jsonscan_t *js = jsonscan_create(0);
    const jsonscan_tok_t *t;
    size_t n, off;

    (void)state;
    assert_non_null(js);
    assert_string_equal(jsonscan_error(js, &off), "no error");
    assert_int_equal(jsonscan_parse(js, "[1,2]", 5), 0);
    assert_int_equal(jsonscan_parse(js, "[1,2", 4), -1);
    assert_null(jsonscan_tokens(js, &n));
    assert_int_equal(n, 0);
    assert_int_equal(jsonscan_parse(js, "{\"k\":\"v\"}", 9), 0);
    assert_string_equal(jsonscan_error(js, &off), "no error");
    t = jsonscan_tokens(js, &n);
    assert_int_equal(n, 3);
    assert_true(jsonscan_str_eq(js, &t[2], "v", 1));
    jsonscan_destroy(js);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validation_table),
        cmocka_unit_test(test_every_prefix_of_a_document_is_invalid),
        cmocka_unit_test(test_string_specials_at_every_offset),
        cmocka_unit_test(test_every_byte_value_after_every_run),
        cmocka_unit_test(test_depth_limit_default),
        cmocka_unit_test(test_depth_limit_custom_objects_and_arrays),
        cmocka_unit_test(test_100000_deep_is_rejected),
        cmocka_unit_test(test_input_of_4_gib_is_rejected),
        cmocka_unit_test(test_token_layout),
        cmocka_unit_test(test_scalar_root_and_buffer_growth),
        cmocka_unit_test(test_pointer_table),
        cmocka_unit_test(test_pointer_on_failed_parse_resolves_nothing),
        cmocka_unit_test(test_pointer_compile_errors),
        cmocka_unit_test(test_pointer_escape_order),
        cmocka_unit_test(test_str_eq_and_copy),
        cmocka_unit_test(test_str_on_non_strings),
        cmocka_unit_test(test_number_conversion),
        cmocka_unit_test(test_long_numbers_round_like_strtod),
        cmocka_unit_test(test_reuse_after_failure),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
