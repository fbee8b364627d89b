/* jsonscan.c - strict RFC 8259 JSON validator, flat tokenizer and RFC 6901
 * JSON Pointers, for the per-message path. */
#include "jsonscan.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSONSCAN_INITIAL_TOKENS 64

/* Significant digits kept when a long number is shortened before strtod:
 * the exact decimal form of a midpoint between two doubles never has more
 * than 767, so 800 digits plus one sticky digit round the same way. */
#define JSONSCAN_NUM_DIGITS 800

struct jsonscan {
    size_t max_depth;     /* deepest nesting accepted */
    uint32_t *stack;      /* token index of each open container */
    jsonscan_tok_t *toks; /* token buffer, grown by doubling */
    size_t cap;           /* entries allocated in toks */
    size_t ntoks;         /* tokens of the last successful parse */
    const char *buf;      /* input of the last successful parse, or NULL */
    size_t len;           /* its length */
    const char *err;      /* reason of the last failure */
    size_t err_off;       /* its byte offset */
    locale_t c_locale;    /* "C" locale for strtod_l() */
    char err_buf[48];     /* formatted reasons (nesting depth) */
};

/* One reference token of a compiled pointer. */
typedef struct ptr_seg {
    const char *name; /* unescaped, into jsonscan_ptr.names */
    size_t len;       /* its length */
    long index;       /* its value as an array index, or -1 */
} ptr_seg_t;

struct jsonscan_ptr {
    char *text;      /* the pointer as given */
    char *names;     /* unescaped reference tokens, back to back */
    ptr_seg_t *segs; /* the reference tokens, in order */
    size_t nsegs;    /* their number (0 = whole document) */
};

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
static const uint8_t hex_tab[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,
    ['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
    ['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12,
    ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* The byte a one-character escape stands for; 'u' for \u; 0 = invalid. */
static const uint8_t esc_tab[256] = {
    ['"'] = '"',  ['\\'] = '\\', ['/'] = '/',  ['b'] = '\b', ['f'] = '\f',
    ['n'] = '\n', ['r'] = '\r',  ['t'] = '\t', ['u'] = 'u',
};

static inline int is_digit(uint8_t c)
{
    return (unsigned)(c - '0') < 10;
}

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

/* The value of the four hex digits at b[0..4), or -1 when one is not a hex
 * digit. The caller checks that the four bytes exist. */
static inline long hex4(const uint8_t *b)
{
    unsigned h0 = hex_tab[b[0]], h1 = hex_tab[b[1]];
    unsigned h2 = hex_tab[b[2]], h3 = hex_tab[b[3]];

    if (!h0 || !h1 || !h2 || !h3)
        return -1;
    return (long)((h0 - 1) << 12 | (h1 - 1) << 8 | (h2 - 1) << 4 | (h3 - 1));
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
    switch (esc_tab[b[p + 1]]) {
    case 0:
        return fail0(js, "invalid escape in string", p);
    case 'u':
        break;
    default:
        return 2;
    }
    cp = len - p >= 6 ? hex4(b + p + 2) : -1;
    if (cp < 0)
        return fail0(js, "invalid \\u escape in string", p);
    if (cp < 0xD800 || cp > 0xDFFF)
        return 6;
    if (cp >= 0xDC00)
        return fail0(js, "lone surrogate in \\u escape", p);
    lo = len - p >= 12 && b[p + 6] == '\\' && b[p + 7] == 'u' ? hex4(b + p + 8)
                                                              : -1;
    if (lo < 0xDC00 || lo > 0xDFFF)
        return fail0(js, "lone surrogate in \\u escape", p);
    return 12;
}

/* Scan the string whose opening quote is at b[q]. On success *end gets the
 * offset of the closing quote and *escaped whether there was a '\'.
 * Returns 0, or -1 after recording the failure. */
static int scan_string(jsonscan_t *js, const uint8_t *b, size_t len, size_t q,
                       size_t *end, uint8_t *escaped)
{
    size_t p = q + 1, k;
    uint8_t c;

    for (;;) {
        /* Plain bytes four at a time (SC_PLAIN is 0), then one by one. */
        while (len - p >= 4 && !(str_class[b[p]] | str_class[b[p + 1]] |
                                 str_class[b[p + 2]] | str_class[b[p + 3]]))
            p += 4;
        while (p < len && str_class[b[p]] == SC_PLAIN)
            p++;
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
    }
}

/* Scan the number at b[p]. Returns the offset after it, or 0 after
 * recording the failure (a number is never at offset 0 and empty). */
static size_t scan_number(jsonscan_t *js, const uint8_t *b, size_t len,
                          size_t p)
{
    if (b[p] == '-')
        p++;
    if (p >= len || !is_digit(b[p]))
        return fail0(js, "expected a digit in number", p);
    if (b[p] == '0') {
        p++;
        if (p < len && is_digit(b[p]))
            return fail0(js, "leading zero in number", p - 1);
    } else {
        while (p < len && is_digit(b[p]))
            p++;
    }
    if (p < len && b[p] == '.') {
        p++;
        if (p >= len || !is_digit(b[p]))
            return fail0(js, "expected a digit after the decimal point", p);
        while (p < len && is_digit(b[p]))
            p++;
    }
    if (p < len && (b[p] == 'e' || b[p] == 'E')) {
        p++;
        if (p < len && (b[p] == '+' || b[p] == '-'))
            p++;
        if (p >= len || !is_digit(b[p]))
            return fail0(js, "expected a digit in the exponent", p);
        while (p < len && is_digit(b[p]))
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
static int scan_key(jsonscan_t *js, const uint8_t *b, size_t len, size_t *pp,
                    size_t *n)
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
        } else if (c == '-' || is_digit(c)) {
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

/* ---- JSON Pointers ---- */

/* Set errstr, if there is room for it. */
static void set_err(char *errstr, size_t errstr_size, const char *msg)
{
    if (errstr && errstr_size)
        snprintf(errstr, errstr_size, "%s", msg);
}

/* The array index a reference token stands for, or -1: decimal digits
 * without a leading zero, small enough to be a token count. */
static long seg_index(const char *s, size_t len)
{
    unsigned long v = 0;
    size_t i;

    if (len == 0 || len > 10 || (len > 1 && s[0] == '0'))
        return -1;
    for (i = 0; i < len; i++) {
        if (!is_digit((uint8_t)s[i]))
            return -1;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    return v <= UINT32_MAX ? (long)v : -1;
}

jsonscan_ptr_t *jsonscan_ptr_compile(const char *ptr, char *errstr,
                                     size_t errstr_size)
{
    jsonscan_ptr_t *jp = NULL;
    size_t len, i, nsegs = 0;
    char *w;

    if (!ptr) {
        set_err(errstr, errstr_size, "JSON Pointer is missing");
        goto err;
    }
    if (ptr[0] != '\0' && ptr[0] != '/') {
        set_err(errstr, errstr_size, "JSON Pointer must start with '/'");
        goto err;
    }
    len = strlen(ptr);
    for (i = 0; i < len; i++) {
        if (ptr[i] == '/')
            nsegs++;
        else if (ptr[i] == '~' && ptr[i + 1] != '0' && ptr[i + 1] != '1') {
            if (errstr && errstr_size)
                snprintf(errstr, errstr_size,
                         "JSON Pointer has an invalid escape at offset %zu "
                         "('~' must be followed by '0' or '1')",
                         i);
            goto err;
        }
    }
    jp = calloc(1, sizeof(*jp));
    if (!jp)
        goto oom;
    jp->text = strdup(ptr);
    jp->names = malloc(len + 1);
    jp->segs = calloc(nsegs ? nsegs : 1, sizeof(*jp->segs));
    if (!jp->text || !jp->names || !jp->segs)
        goto oom;
    w = jp->names;
    for (i = 0; i < len;) {
        ptr_seg_t *s = &jp->segs[jp->nsegs++];

        i++; /* the '/' */
        s->name = w;
        for (; i < len && ptr[i] != '/'; i++) {
            if (ptr[i] == '~') {
                *w++ = ptr[i + 1] == '0' ? '~' : '/';
                i++;
            } else {
                *w++ = ptr[i];
            }
        }
        s->len = (size_t)(w - s->name);
        s->index = seg_index(s->name, s->len);
    }
    return jp;
oom:
    set_err(errstr, errstr_size, "out of memory");
err:
    jsonscan_ptr_destroy(jp);
    return NULL;
}

void jsonscan_ptr_destroy(jsonscan_ptr_t *p)
{
    if (!p)
        return;
    free(p->text);
    free(p->names);
    free(p->segs);
    free(p);
}

const char *jsonscan_ptr_text(const jsonscan_ptr_t *p)
{
    return p ? p->text : NULL;
}

long jsonscan_get(const jsonscan_t *js, const jsonscan_ptr_t *p)
{
    const jsonscan_tok_t *toks;
    size_t cur = 0, s, i, m;

    if (!js || !p || !js->buf)
        return -1;
    toks = js->toks;
    for (s = 0; s < p->nsegs; s++) {
        const ptr_seg_t *seg = &p->segs[s];
        const jsonscan_tok_t *t = &toks[cur];
        long found = -1;

        if (t->type == JSONSCAN_OBJECT) {
            /* Every member is looked at: with duplicates the last wins. */
            for (i = cur + 1, m = 0; m < t->count; m++) {
                if (jsonscan_str_eq(js, &toks[i], seg->name, seg->len))
                    found = (long)(i + 1);
                i = toks[i + 1].next;
            }
            if (found < 0)
                return -1;
            cur = (size_t)found;
        } else if (t->type == JSONSCAN_ARRAY) {
            if (seg->index < 0 || (unsigned long)seg->index >= t->count)
                return -1;
            for (i = cur + 1, m = 0; m < (size_t)seg->index; m++)
                i = toks[i].next;
            cur = i;
        } else {
            return -1;
        }
    }
    return (long)cur;
}

/* ---- Token values ---- */

/* Decode the escape at r[*i] == '\\' (already validated) into out; advance
 * *i past it. Returns the number of bytes written (1 to 4). */
static size_t unescape_one(const uint8_t *r, size_t *i, uint8_t out[4])
{
    unsigned long cp;
    uint8_t e = esc_tab[r[*i + 1]];

    if (e != 'u') {
        out[0] = e;
        *i += 2;
        return 1;
    }
    cp = (unsigned long)hex4(r + *i + 2);
    *i += 6;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) +
             ((unsigned long)hex4(r + *i + 2) - 0xDC00);
        *i += 6;
    }
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* The raw bytes of token t when it is a STRING of the last parse. */
static const uint8_t *str_raw(const jsonscan_t *js, const jsonscan_tok_t *t)
{
    if (!js || !t || !js->buf || t->type != JSONSCAN_STRING ||
        t->start > js->len || t->len > js->len - t->start)
        return NULL;
    return (const uint8_t *)js->buf + t->start;
}

int jsonscan_str_eq(const jsonscan_t *js, const jsonscan_tok_t *t,
                    const char *s, size_t n)
{
    const uint8_t *r = str_raw(js, t);
    const uint8_t *u = (const uint8_t *)s;
    uint8_t tmp[4];
    size_t i = 0, j = 0, k;

    if (!r || n > t->len || (n && !s))
        return 0;
    if (!t->escaped)
        return n == t->len && (n == 0 || !memcmp(r, s, n));
    while (i < t->len) {
        if (r[i] != '\\') {
            if (j >= n || r[i] != u[j])
                return 0;
            i++;
            j++;
            continue;
        }
        k = unescape_one(r, &i, tmp);
        if (n - j < k || memcmp(tmp, u + j, k))
            return 0;
        j += k;
    }
    return j == n;
}

ssize_t jsonscan_str_copy(const jsonscan_t *js, const jsonscan_tok_t *t,
                          char *out, size_t cap)
{
    const uint8_t *r = str_raw(js, t);
    uint8_t tmp[4];
    size_t i = 0, j = 0, k;

    if (!r)
        return -1;
    if (!t->escaped) {
        if (cap < t->len)
            return -1;
        if (t->len)
            memcpy(out, r, t->len);
        return (ssize_t)t->len;
    }
    while (i < t->len) {
        if (r[i] != '\\') {
            if (j >= cap)
                return -1;
            out[j++] = (char)r[i++];
            continue;
        }
        k = unescape_one(r, &i, tmp);
        if (cap - j < k)
            return -1;
        memcpy(out + j, tmp, k);
        j += k;
    }
    return (ssize_t)j;
}

/* Exact powers of ten for the fast path. */
static const double pow10_tab[] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

int jsonscan_number(const jsonscan_t *js, const jsonscan_tok_t *t, double *out)
{
    /* sign, digits, sticky digit, "e", sign, exponent, NUL */
    char d[JSONSCAN_NUM_DIGITS + 32];
    const uint8_t *s, *e;
    uint64_t mant = 0;
    long long dexp = 0, x = 0;
    size_t nd = 0, sig = 0, w;
    int neg, eneg = 0, sticky = 0;
    double v;

    if (!js || !t || !out || !js->buf || t->type != JSONSCAN_NUMBER ||
        t->start > js->len || t->len > js->len - t->start || t->len == 0)
        return -1;
    s = (const uint8_t *)js->buf + t->start;
    e = s + t->len;
    neg = *s == '-';
    if (neg)
        s++;
    d[nd++] = '-';
    /* Significant digits into d (leading zeros dropped): value is
     * d * 10^dexp, the tail beyond JSONSCAN_NUM_DIGITS summed up as a
     * sticky '1'. mant is the same digits in binary; it is only used (by
     * the fast path) when there are at most 15, so its wrap-around beyond
     * 19 digits does not matter. */
    for (; s < e && is_digit(*s); s++) {
        if (sig == 0 && *s == '0')
            continue;
        if (sig < JSONSCAN_NUM_DIGITS) {
            d[nd++] = (char)*s;
            sig++;
            mant = mant * 10 + (uint64_t)(*s - '0');
        } else {
            dexp++;
            sticky |= *s != '0';
        }
    }
    if (s < e && *s == '.') {
        for (s++; s < e && is_digit(*s); s++) {
            if (sig == 0 && *s == '0') {
                dexp--;
            } else if (sig < JSONSCAN_NUM_DIGITS) {
                d[nd++] = (char)*s;
                sig++;
                mant = mant * 10 + (uint64_t)(*s - '0');
                dexp--;
            } else {
                sticky |= *s != '0';
            }
        }
    }
    if (s < e && (*s == 'e' || *s == 'E')) {
        s++;
        if (s < e && (*s == '+' || *s == '-'))
            eneg = *s++ == '-';
        for (; s < e && is_digit(*s); s++)
            if (x < 1000000000)
                x = x * 10 + (*s - '0');
        dexp += eneg ? -x : x;
    }
    if (sig == 0) {
        *out = neg ? -0.0 : 0.0;
        return 0;
    }
    /* Fast path: mantissa and power of ten both exact in a double, so one
     * correctly rounded operation gives the correctly rounded result. */
    if (sig <= 15 && dexp >= -22 && dexp <= 22) {
        v = (double)mant;
        v = dexp < 0 ? v / pow10_tab[-dexp] : v * pow10_tab[dexp];
        *out = neg ? -v : v;
        return 0;
    }
    if (sticky) {
        d[nd++] = '1';
        dexp--;
    }
    if (dexp > 100000)
        dexp = 100000;
    if (dexp < -100000)
        dexp = -100000;
    w = nd;
    d[w++] = 'e';
    snprintf(d + w, sizeof(d) - w, "%lld", dexp);
    v = strtod_l(neg ? d : d + 1, NULL, js->c_locale);
    *out = v;
    return 0;
}
