/* jsonptr.h - RFC 6901 JSON Pointers, compiled once and resolved against
 * the tokens of the last jsonscan_parse() without allocating. */
#ifndef ROUTER_JSONPTR_H
#define ROUTER_JSONPTR_H

#include <stddef.h>

#include "jsonscan.h"

typedef struct jsonptr jsonptr_t;

/* Compile an RFC 6901 JSON Pointer: "" is the whole document, otherwise it
 * must start with '/'; "~0" is '~', "~1" is '/', any other '~' is an
 * error. On error NULL is returned and errstr says why, e.g.
 * "JSON Pointer must start with '/'". Caller frees with
 * jsonptr_destroy(). */
jsonptr_t *jsonptr_compile(const char *ptr, char *errstr, size_t errstr_size);

/* Free a compiled pointer. Accepts NULL. */
void jsonptr_destroy(jsonptr_t *p);

/* The pointer's text as given to jsonptr_compile(). */
const char *jsonptr_text(const jsonptr_t *p);

/* Resolve p against the last successful parse: the token index, or -1 when
 * the document has no such value. Array indexes are decimal without
 * leading zeros ("-" never resolves). Object member names are compared
 * after unescaping; with duplicate names the last one wins. Allocates
 * nothing. */
long jsonptr_get(const jsonscan_t *js, const jsonptr_t *p);

#endif
