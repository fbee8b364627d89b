/* jsonscan.h - strict RFC 8259 JSON validator and flat tokenizer, and the
 * values of its tokens (JSON Pointers into them: jsonptr.h).
 *
 * Built for the per-message path: a jsonscan_t is created once and reused;
 * after its token buffer has grown to fit the largest document seen, parsing
 * allocates nothing. Tokens point into the caller's buffer (no copies), so
 * the buffer must outlive every use of the tokens. Not thread-safe: one
 * jsonscan_t per thread. */
#ifndef ROUTER_JSONSCAN_H
#define ROUTER_JSONSCAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define JSONSCAN_DEFAULT_MAX_DEPTH 512

typedef enum jsonscan_type {
    JSONSCAN_OBJECT = 1,
    JSONSCAN_ARRAY,
    JSONSCAN_STRING,
    JSONSCAN_NUMBER,
    JSONSCAN_TRUE,
    JSONSCAN_FALSE,
    JSONSCAN_NULL
} jsonscan_type_t;

/* One value (or object member name) of the document, in document order.
 * An object's children are name, value, name, value...; an array's are its
 * elements. */
typedef struct jsonscan_tok {
    uint8_t type;    /* jsonscan_type_t */
    uint8_t escaped; /* STRING: the raw span holds at least one '\' */
    uint32_t start;  /* byte offset of the span in the input; for a
                      * STRING the span excludes the quotes, for an
                      * OBJECT/ARRAY it includes the brackets */
    uint32_t len;    /* span length in bytes */
    uint32_t count;  /* OBJECT: members; ARRAY: elements; else 0 */
    uint32_t next;   /* index of the token after this one's subtree */
} jsonscan_tok_t;

typedef struct jsonscan jsonscan_t;

/* Create a scanner that rejects documents nested deeper than max_depth
 * (0 = JSONSCAN_DEFAULT_MAX_DEPTH). Returns NULL when out of memory. */
jsonscan_t *jsonscan_create(size_t max_depth);

/* Free the scanner. Accepts NULL. */
void jsonscan_destroy(jsonscan_t *js);

/* Validate and tokenize buf[0..len) as one JSON text per RFC 8259:
 * optional whitespace around exactly one value, UTF-8 without overlongs,
 * surrogates or code points above U+10FFFF, no unescaped control
 * characters, escapes and \u surrogate pairs well formed, numbers in the
 * RFC grammar (no leading zeros, no '+', no '.5', no NaN), no trailing
 * commas, nesting at most max_depth. A BOM is not accepted. Inputs of 4 GiB
 * or more are rejected. Iterative: any input is safe.
 * Returns 0 when valid; -1 when not (see jsonscan_error()) or when out of
 * memory. After -1 no tokens are available. */
int jsonscan_parse(jsonscan_t *js, const char *buf, size_t len);

/* The reason and byte offset of the last jsonscan_parse() failure, e.g.
 * "trailing comma" at 17. The string is static or owned by js. */
const char *jsonscan_error(const jsonscan_t *js, size_t *offset);

/* Tokens of the last successful parse; *n gets their number. Token 0 is
 * the root value. Valid until the next jsonscan_parse(). */
const jsonscan_tok_t *jsonscan_tokens(const jsonscan_t *js, size_t *n);

/* The input buffer of the last successful parse. */
const char *jsonscan_input(const jsonscan_t *js);

/* 1 when STRING token t, unescaped, equals s[0..n), else 0 (also for a
 * token that is not a string). Allocates nothing. */
int jsonscan_str_eq(const jsonscan_t *js, const jsonscan_tok_t *t,
                    const char *s, size_t n);

/* Unescape STRING token t into out[0..cap). Returns the unescaped length
 * (not NUL-terminated), or -1 when t is not a string or cap is too small. */
ssize_t jsonscan_str_copy(const jsonscan_t *js, const jsonscan_tok_t *t,
                          char *out, size_t cap);

/* Convert NUMBER token t to a double (locale independent). Returns 0, or -1
 * when t is not a number. Values beyond double's range become +/-HUGE_VAL. */
int jsonscan_number(const jsonscan_t *js, const jsonscan_tok_t *t, double *out);

#endif
