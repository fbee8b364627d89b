/* jsonscan_int.h - the jsonscan module's private parts, shared by
 * jsonscan.c (validate, tokenize) and jsonscan_val.c (token values). */
#ifndef ROUTER_JSONSCAN_INT_H
#define ROUTER_JSONSCAN_INT_H

#include <locale.h>
#include <stdint.h>

#include "jsonscan.h"

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

/* Hex digit value + 1; 0 for a non-hex byte. */
extern const uint8_t jsonscan_hex_tab[256];
/* The byte a one-character escape stands for; 'u' for \u; 0 = invalid. */
extern const uint8_t jsonscan_esc_tab[256];

static inline int jsonscan_is_digit(uint8_t c)
{
    return (unsigned)(c - '0') < 10;
}

/* The value of the four hex digits at b[0..4), or -1 when one is not a hex
 * digit. The caller checks that the four bytes exist. */
static inline long jsonscan_hex4(const uint8_t *b)
{
    unsigned h0 = jsonscan_hex_tab[b[0]], h1 = jsonscan_hex_tab[b[1]];
    unsigned h2 = jsonscan_hex_tab[b[2]], h3 = jsonscan_hex_tab[b[3]];

    if (!h0 || !h1 || !h2 || !h3)
        return -1;
    return (long)((h0 - 1) << 12 | (h1 - 1) << 8 | (h2 - 1) << 4 | (h3 - 1));
}

#endif
