/* jsonscan.c - strict RFC 8259 JSON validator and flat tokenizer, for the
 * per-message path (the values of its tokens: jsonscan_val.c). */
#include "jsonscan_int.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSONSCAN_INITIAL_TOKENS 64

/* Byte classes inside a string. */
enum {
    SC_PLAIN = 0, /* ASCII that stands for itself */
    SC_QUOTE,     /* '"' ends the string */
    SC_BSLASH,    /* '\' starts an escape */
    SC_CTRL,      /* 0x00-0x1F must be escaped */
    SC_U2,        /* C2-DF: 1 continuation byte */
    SC_E0,        /* E0: A0-BF, then 1 more */
    SC_U3,        /* E1-EC, EE-EF: 2 continuation bytes */
    SC_ED,        /* ED: 80-9F (no surrogates), then 1 more */
    SC_F0,        /* F0: 90-BF, then 2 more */
    SC_U4,        /* F1-F3: 3 continuation bytes */
    SC_F4,        /* F4: 80-8F (up to U+10FFFF), then 2 more */
    SC_BAD        /* 80-BF stray continuation, C0, C1 overlong, F5-FF */
};

/* clang-format off */
static const uint8_t str_class[256] = {
    /* 0x00 */ 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    /* 0x10 */ 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    /* 0x20 */ 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x30 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x40 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x50 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
    /* 0x60 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x70 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    /* 0x80 */ 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11,
    /* 0x90 */ 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11,
    /* 0xA0 */ 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11,
    /* 0xB0 */ 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11,
    /* 0xC0 */ 11, 11, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    /* 0xD0 */ 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    /* 0xE0 */ 5, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 7, 6, 6,
    /* 0xF0 */ 8, 9, 9, 9, 10, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11, 11,
};
/* clang-format on */

/* For SC_U2..SC_F4: continuation bytes, and the range of the first one. */
static const struct {
    uint8_t n, lo, hi;
} utf8_seq[] = {
    [SC_U2] = {1, 0x80, 0xBF}, [SC_E0] = {2, 0xA0, 0xBF},
    [SC_U3] = {2, 0x80, 0xBF}, [SC_ED] = {2, 0x80, 0x9F},
    [SC_F0] = {3, 0x90, 0xBF}, [SC_U4] = {3, 0x80, 0xBF},
    [SC_F4] = {3, 0x80, 0x8F},
};

static const uint8_t ws_tab[256] = {
    [' '] = 1,
    ['\t'] = 1,
    ['\n'] = 1,
    ['\r'] = 1,
};

/* Hex digit value + 1; 0 for a non-hex byte. */
const uint8_t jsonscan_hex_tab[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,
    ['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
    ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12,
    ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* The byte a one-character escape stands for; 'u' for \u; 0 = invalid. */
const uint8_t jsonscan_esc_tab[256] = {
    ['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b', ['f'] = '\f',
    ['n'] = '\n', ['r'] = '\r',  ['t'] = '\t', ['u'] = 'u',
};

static inline size_t skip_ws(const uint8_t *b, size_t len, size_t p)
{
    while (p < len && ws_tab[b[p]])
        p++;
    return p;
}

/* Record a parse failure; always returns -1. */
static int fail(jsonscan_t *js, const char *why, size_t off)
{
    js->err = why;
    js->err_off = off;
    return -1;
}

jsonscan_t *jsonscan_create(size_t max_depth)
{
    jsonscan_t *js = calloc(1, sizeof(*js));

    if (!js)
        goto err;
    js->max_depth = max_depth ? max_depth : JSONSCAN_DEFAULT_MAX_DEPTH;
    js->err = "no error";
    if (js->max_depth > SIZE_MAX / sizeof(*js->stack))
        goto err;
    js->stack = malloc(js->max_depth * sizeof(*js->stack));
    js->cap = JSONSCAN_INITIAL_TOKENS;
    js->toks = malloc(js->cap * sizeof(*js->toks));
    js->c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (!js->stack || !js->toks || !js->c_locale)
        goto err;
    return js;
err:
    jsonscan_destroy(js);
    return NULL;
}

void jsonscan_destroy(jsonscan_t *js)
{
    if (!js)
        return;
    if (js->c_locale)
        freelocale(js->c_locale);
    free(js->toks);
    free(js->stack);
    free(js);
}

/* Double the token buffer. Returns 0, or -1 when out of memory (the old
 * buffer is kept). */
static int grow(jsonscan_t *js)
{
    jsonscan_tok_t *t;
    size_t cap = js->cap * 2;

    if (cap > SIZE_MAX / sizeof(*t))
        return -1;
    t = realloc(js->toks, cap * sizeof(*t));
    if (!t)
        return -1;
    js->toks = t;
    js->cap = cap;
    return 0;
}

/* Record a failure where a length is returned; always returns 0. */
static size_t fail0(jsonscan_t *js, const char *why, size_t off)
{
    fail(js, why, off);
    return 0;
}

/* Validate the escape at b[p] == '\\'. Returns its length, or 0 after
 * recording the failure. */
static size_t check_escape(jsonscan_t *js, const uint8_t *b, size_t len,
                           size_t p)
{
    long cp, lo;

    if (len - p < 2)
        return fail0(js, "unterminated string", p);
    switch (jsonscan_esc_tab[b[p + 1]]) {
    case 0:
        return fail0(js, "invalid escape in string", p);
    case 'u':
        break;
    default:
        return 2;
    }
    cp = len - p >= 6 ? jsonscan_hex4(b + p + 2) : -1;
    if (cp < 0)
        return fail0(js, "invalid \\u escape in string", p);
    if (cp < 0xD800 || cp > 0xDFFF)
        return 6;
    if (cp >= 0xDC00)
        return fail0(js, "lone surrogate in \\u escape", p);
    lo = len - p >= 12 && b[p + 6] == '\\' && b[p + 7] == 'u'
             ? jsonscan_hex4(b + p + 8)
             : -1;
    if (lo < 0xDC00 || lo > 0xDFFF)
        return fail0(js, "lone surrogate in \\u escape", p);
    return 12;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* The high bit of each byte of w that is '"', '\\', below 0x20 or 0x80 and
 * above; bytes above the first such byte may be flagged wrongly (a borrow
 * runs upwards), the first one never is. */
static inline uint64_t special_bytes(uint64_t w)
{
    uint64_t q = w ^ (ONES * '"'), s = w ^ (ONES * '\\');

    return ((q - ONES) & ~q) | ((s - ONES) & ~s) | (w - ONES * 0x20) | w;
}

/* The offset of the first byte from b[p] on that is not SC_PLAIN, or len.
 * Eight bytes at a time, jumping straight to the first special one: most
 * strings of an event are shorter than a word. */
static inline size_t skip_plain(const uint8_t *b, size_t len, size_t p)
{
    uint64_t w, m;

    while (len - p >= 8) {
        memcpy(&w, b + p, 8);
        m = special_bytes(w) & HIGHS;
        if (m)
            return p + (size_t)(__builtin_ctzll(m) >> 3);
        p += 8;
    }
    while (p < len && str_class[b[p]] == SC_PLAIN)
        p++;
    return p;
}
#else
static inline size_t skip_plain(const uint8_t *b, size_t len, size_t p)
{
    while (p < len && str_class[b[p]] == SC_PLAIN)
        p++;
    return p;
}
#endif

/* The rest of the string whose opening quote is at b[q], from b[p], the
 * first byte that is not plain ASCII. As scan_string(). */
static int scan_string_rest(jsonscan_t *js, const uint8_t *b, size_t len,
                            size_t q, size_t p, size_t *end, uint8_t *escaped)
{
    size_t k;
    uint8_t c;

    for (;;) {
        if (p >= len)
            return fail(js, "unterminated string", q);
        c = str_class[b[p]];
        switch (c) {
        case SC_QUOTE:
            *end = p;
            return 0;
        case SC_BSLASH:
            *escaped = 1;
            k = check_escape(js, b, len, p);
            if (!k)
                return -1;
            p += k;
            break;
        case SC_CTRL:
            return fail(js, "unescaped control character in string", p);
        case SC_BAD:
            return fail(js, "invalid UTF-8", p);
        default:
            k = utf8_seq[c].n;
            if (len - p <= k || b[p + 1] < utf8_seq[c].lo ||
                b[p + 1] > utf8_seq[c].hi)
                return fail(js, "invalid UTF-8", p);
            if (k > 1 && (b[p + 2] & 0xC0) != 0x80)
                return fail(js, "invalid UTF-8", p);
            if (k > 2 && (b[p + 3] & 0xC0) != 0x80)
                return fail(js, "invalid UTF-8", p);
            p += k + 1;
            break;
        }
        p = skip_plain(b, len, p);
    }
}

/* Scan the string whose opening quote is at b[q]. On success *end gets the
 * offset of the closing quote and *escaped whether there was a '\'.
 * Returns 0, or -1 after recording the failure. Inline for the common
 * string of plain ASCII; escapes and UTF-8 take the call. */
static inline int scan_string(jsonscan_t *js, const uint8_t *b, size_t len,
                              size_t q, size_t *end, uint8_t *escaped)
{
    size_t p = skip_plain(b, len, q + 1);

    if (p < len && b[p] == '"') {
        *end = p;
        return 0;
    }
    return scan_string_rest(js, b, len, q, p, end, escaped);
}

/* Scan the number at b[p]. Returns the offset after it, or 0 after
 * recording the failure (a number is never at offset 0 and empty). */
static size_t scan_number(jsonscan_t *js, const uint8_t *b, size_t len,
                          size_t p)
{
    if (b[p] == '-')
        p++;
    if (p >= len || !jsonscan_is_digit(b[p]))
        return fail0(js, "expected a digit in number", p);
    if (b[p] == '0') {
        p++;
        if (p < len && jsonscan_is_digit(b[p]))
            return fail0(js, "leading zero in number", p - 1);
    } else {
        while (p < len && jsonscan_is_digit(b[p]))
            p++;
    }
    if (p < len && b[p] == '.') {
        p++;
        if (p >= len || !jsonscan_is_digit(b[p]))
            return fail0(js, "expected a digit after the decimal point", p);
        while (p < len && jsonscan_is_digit(b[p]))
            p++;
    }
    if (p < len && (b[p] == 'e' || b[p] == 'E')) {
        p++;
        if (p < len && (b[p] == '+' || b[p] == '-'))
            p++;
        if (p >= len || !jsonscan_is_digit(b[p]))
            return fail0(js, "expected a digit in the exponent", p);
        while (p < len && jsonscan_is_digit(b[p]))
            p++;
    }
    return p;
}

/* Why byte c cannot start a value. */
static const char *bad_value(uint8_t c)
{
    switch (c) {
    case '\'':
        return "single-quoted strings are not allowed";
    case '/':
    case '#':
        return "comments are not allowed";
    case '+':
    case '.':
        return "invalid number";
    case 't':
    case 'f':
    case 'n':
        return "invalid literal";
    default:
        return "expected a JSON value";
    }
}

/* Scan an object member name at b[*pp] (whitespace skipped) and the ':'
 * after it, adding its token as number *n. Returns 0, or -1 after recording
 * the failure. */
static inline __attribute__((always_inline)) int
scan_key(jsonscan_t *js, const uint8_t *b, size_t len, size_t *pp, size_t *n)
{
    jsonscan_tok_t *t;
    size_t p = *pp, end;

    if (p >= len)
        return fail(js, "unexpected end of input", p);
    if (b[p] != '"')
        return fail(js,
                    b[p] == '\''  ? "single-quoted strings are not allowed"
                    : b[p] == '/' ? "comments are not allowed"
                                  : "expected a string as the member name",
                    p);
    if (*n == js->cap && grow(js))
        return fail(js, "out of memory", p);
    t = &js->toks[*n];
    t->type = JSONSCAN_STRING;
    t->escaped = 0;
    if (scan_string(js, b, len, p, &end, &t->escaped))
        return -1;
    t->start = (uint32_t)(p + 1);
    t->len = (uint32_t)(end - p - 1);
    t->count = 0;
    t->next = (uint32_t)(*n + 1);
    (*n)++;
    p = skip_ws(b, len, end + 1);
    if (p >= len || b[p] != ':')
        return fail(js, "expected ':' after the member name", p);
    *pp = p + 1;
    return 0;
}

/* Commit a successful parse. */
static int finish(jsonscan_t *js, const char *buf, size_t len, size_t n)
{
    js->buf = buf;
    js->len = len;
    js->ntoks = n;
    return 0;
}

int jsonscan_parse(jsonscan_t *js, const char *buf, size_t len)
{
    const uint8_t *b = (const uint8_t *)buf;
    jsonscan_tok_t *t;
    size_t p, end, depth = 0, n = 0;
    uint8_t c;

    if (!js)
        return -1;
    js->buf = NULL;
    js->ntoks = 0;
    js->err = "no error";
    js->err_off = 0;
    if (!buf && len)
        return fail(js, "no input buffer", 0);
    if (len > UINT32_MAX)
        return fail(js, "input of 4 GiB or more", 0);
    if (len >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF)
        return fail(js, "byte order mark is not allowed", 0);
    p = skip_ws(b, len, 0);
    if (p == len)
        return fail(js, len ? "only whitespace, no JSON value" : "empty input",
                    p);

    for (;;) {
        /* A value starts at p (after whitespace). */
        p = skip_ws(b, len, p);
        if (p >= len)
            return fail(js, "unexpected end of input", p);
        if (n == js->cap && grow(js))
            return fail(js, "out of memory", p);
        t = &js->toks[n];
        t->escaped = 0;
        t->count = 0;
        t->next = (uint32_t)(n + 1);
        c = b[p];
        if (c == '"') {
            t->type = JSONSCAN_STRING;
            if (scan_string(js, b, len, p, &end, &t->escaped))
                return -1;
            t->start = (uint32_t)(p + 1);
            t->len = (uint32_t)(end - p - 1);
            n++;
            p = end + 1;
        } else if (c == '{' || c == '[') {
            if (depth == js->max_depth) {
                snprintf(js->err_buf, sizeof(js->err_buf),
                         "nesting deeper than %zu", js->max_depth);
                return fail(js, js->err_buf, p);
            }
            t->type = c == '{' ? JSONSCAN_OBJECT : JSONSCAN_ARRAY;
            t->start = (uint32_t)p;
            js->stack[depth++] = (uint32_t)n++;
            p = skip_ws(b, len, p + 1);
            if (p < len && b[p] == c + 2) { /* '{' + 2 is '}', '[' + 2 ']' */
                t->len = (uint32_t)(p + 1 - t->start);
                depth--;
                p++;
            } else {
                t->count = 1;
                if (c == '{' && scan_key(js, b, len, &p, &n))
                    return -1;
                continue;
            }
        } else if (c == '-' || jsonscan_is_digit(c)) {
            t->type = JSONSCAN_NUMBER;
            t->start = (uint32_t)p;
            end = scan_number(js, b, len, p);
            if (!end)
                return -1;
            t->len = (uint32_t)(end - p);
            n++;
            p = end;
        } else if (c == 't' && len - p >= 4 && !memcmp(b + p, "true", 4)) {
            t->type = JSONSCAN_TRUE;
            t->start = (uint32_t)p;
            t->len = 4;
            n++;
            p += 4;
        } else if (c == 'f' && len - p >= 5 && !memcmp(b + p, "false", 5)) {
            t->type = JSONSCAN_FALSE;
            t->start = (uint32_t)p;
            t->len = 5;
            n++;
            p += 5;
        } else if (c == 'n' && len - p >= 4 && !memcmp(b + p, "null", 4)) {
            t->type = JSONSCAN_NULL;
            t->start = (uint32_t)p;
            t->len = 4;
            n++;
            p += 4;
        } else {
            return fail(js, bad_value(c), p);
        }

        /* After a value: close containers until a ',' needs a value. */
        for (;;) {
            jsonscan_tok_t *pt;
            int obj;

            p = skip_ws(b, len, p);
            if (depth == 0) {
                if (p != len)
                    return fail(js, "unexpected data after the JSON value", p);
                return finish(js, buf, len, n);
            }
            pt = &js->toks[js->stack[depth - 1]];
            obj = pt->type == JSONSCAN_OBJECT;
            if (p >= len)
                return fail(js, obj ? "unclosed object" : "unclosed array", p);
            c = b[p];
            if (c == ',') {
                p = skip_ws(b, len, p + 1);
                pt->count++;
                if (obj) {
                    if (p < len && b[p] == '}')
                        return fail(js, "trailing comma in object", p);
                    if (scan_key(js, b, len, &p, &n))
                        return -1;
                } else if (p < len && b[p] == ']') {
                    return fail(js, "trailing comma in array", p);
                }
                break;
            }
            if (c == (obj ? '}' : ']')) {
                pt->len = (uint32_t)(p + 1 - pt->start);
                pt->next = (uint32_t)n;
                depth--;
                p++;
                continue;
            }
            if (c == '/' || c == '#')
                return fail(js, "comments are not allowed", p);
            return fail(js,
                        obj ? "expected ',' or '}' after an object member"
                            : "expected ',' or ']' after an array element",
                        p);
        }
    }
}

const char *jsonscan_error(const jsonscan_t *js, size_t *offset)
{
    if (!js) {
        if (offset)
            *offset = 0;
        return "no scanner";
    }
    if (offset)
        *offset = js->err_off;
    return js->err;
}

const jsonscan_tok_t *jsonscan_tokens(const jsonscan_t *js, size_t *n)
{
    if (!js || !js->buf) {
        if (n)
            *n = 0;
        return NULL;
    }
    if (n)
        *n = js->ntoks;
    return js->toks;
}

const char *jsonscan_input(const jsonscan_t *js)
{
    return js ? js->buf : NULL;
}
