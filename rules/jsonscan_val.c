/* jsonscan_val.c - the values of jsonscan tokens: strings unescaped or
 * compared without a copy, numbers converted (locale independent). */
#include "jsonscan_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decode the escape at r[*i] == '\\' (already validated) into out; advance
 * *i past it. Returns the number of bytes written (1 to 4). */
static size_t unescape_one(const uint8_t *r, size_t *i, uint8_t out[4])
{
    unsigned long cp;
    uint8_t e = jsonscan_esc_tab[r[*i + 1]];

    if (e != 'u') {
        out[0] = e;
        *i += 2;
        return 1;
    }
    cp = (unsigned long)jsonscan_hex4(r + *i + 2);
    *i += 6;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) +
             ((unsigned long)jsonscan_hex4(r + *i + 2) - 0xDC00);
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
    for (; s < e && jsonscan_is_digit(*s); s++) {
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
        for (s++; s < e && jsonscan_is_digit(*s); s++) {
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
        for (; s < e && jsonscan_is_digit(*s); s++)
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
