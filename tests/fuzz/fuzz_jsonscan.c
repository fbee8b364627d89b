/* fuzz_jsonscan.c - libFuzzer target: jsonscan on arbitrary bytes, checked
 * against token invariants, strtod and jansson. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonptr.h"
#include "jsonscan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_ptrs[] = {
    "",      "/a", "/a/b",   "/0",  "/1/0", "/type", "/song/title",
    "/a~1b", "/",  "/arr/2", "/~0",
};

static jsonscan_t *js;
static jsonptr_t *ptrs[sizeof(fuzz_ptrs) / sizeof(fuzz_ptrs[0])];

/* Set up once: the scanner and the pointers live for the whole run. */
static void fuzz_init(void)
{
    size_t i;

    js = jsonscan_create(0);
    if (!js)
        abort();
    for (i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++) {
        ptrs[i] = jsonptr_compile(fuzz_ptrs[i], NULL, 0);
        if (!ptrs[i])
            abort();
    }
}

/* Each container's children, walked by next, end exactly at its next. */
static void check_tokens(const char *buf, size_t size, const jsonscan_tok_t *t,
                         size_t n)
{
    size_t i, c, j;

    if (n == 0 || t[0].next != n)
        abort();
    for (i = 0; i < n; i++) {
        if (t[i].start > size || t[i].len > size - t[i].start ||
            t[i].next <= i || t[i].next > n)
            abort();
        if (t[i].type == JSONSCAN_OBJECT || t[i].type == JSONSCAN_ARRAY) {
            int obj = t[i].type == JSONSCAN_OBJECT;

            if (buf[t[i].start] != (obj ? '{' : '[') ||
                buf[t[i].start + t[i].len - 1] != (obj ? '}' : ']'))
                abort();
            for (j = i + 1, c = 0; c < t[i].count; c++) {
                if (obj) {
                    if (t[j].type != JSONSCAN_STRING)
                        abort();
                    j = t[j].next;
                }
                j = t[j].next;
            }
            if (j != t[i].next)
                abort();
        } else if (t[i].next != i + 1 || t[i].count != 0) {
            abort();
        }
    }
}

/* Values of every token: str_copy agrees with str_eq, number with strtod. */
static void check_values(const char *buf, const jsonscan_tok_t *t, size_t n)
{
    static char out[1 << 16];
    char num[256];
    size_t i;
    double d;

    for (i = 0; i < n; i++) {
        ssize_t k = jsonscan_str_copy(js, &t[i], out, sizeof(out));

        if (t[i].type != JSONSCAN_STRING) {
            if (k != -1 || jsonscan_str_eq(js, &t[i], "", 0))
                abort();
        } else if (k >= 0) {
            if ((size_t)k > t[i].len ||
                !jsonscan_str_eq(js, &t[i], out, (size_t)k))
                abort();
            if (k > 0 &&
                (jsonscan_str_eq(js, &t[i], out, (size_t)k - 1) ||
                 jsonscan_str_copy(js, &t[i], out, (size_t)k - 1) != -1))
                abort();
        }
        if (jsonscan_number(js, &t[i], &d) !=
            (t[i].type == JSONSCAN_NUMBER ? 0 : -1))
            abort();
        if (t[i].type == JSONSCAN_NUMBER && t[i].len < sizeof(num)) {
            memcpy(num, buf + t[i].start, t[i].len);
            num[t[i].len] = '\0';
            if (d != strtod(num, NULL))
                abort();
        }
    }
}

/* jansson must agree on validity, except where the two differ by design:
 * numbers beyond its integer or double range, "\u0000" in a member name
 * (jansson refuses it), nesting deeper than our 512, and a raw NUL byte
 * (jansson 2.14 skips one after a number: "[1\0]" loads). */
static void check_jansson(const char *buf, size_t size, int rc)
{
    json_error_t err;
    json_t *root =
        json_loadb(buf, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);

    if (rc == 0 && !root && !strstr(err.text, "too big") &&
        !strstr(err.text, "overflow") && !strstr(err.text, "NUL byte"))
        abort();
    if (rc != 0 && root && !strstr(jsonscan_error(js, NULL), "nesting") &&
        !memchr(buf, '\0', size))
        abort();
    json_decref(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    const jsonscan_tok_t *t;
    size_t n, i, off;
    int rc;

    if (!js)
        fuzz_init();
    rc = jsonscan_parse(js, buf, size);
    check_jansson(buf, size, rc);
    if (rc != 0) {
        if (!jsonscan_error(js, &off) || off > size ||
            jsonscan_tokens(js, &n) || n != 0)
            abort();
        return 0;
    }
    t = jsonscan_tokens(js, &n);
    if (!t)
        abort();
    check_tokens(buf, size, t, n);
    check_values(buf, t, n);
    for (i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++) {
        long idx = jsonptr_get(js, ptrs[i]);

        if (idx < -1 || idx >= (long)n || (i == 0 && idx != 0))
            abort();
    }
    return 0;
}
