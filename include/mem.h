/* mem.h - heap copies of byte ranges and growing arrays, for the rule
 * engine and the pipeline alike. */
#ifndef ROUTER_MEM_H
#define ROUTER_MEM_H

#include <stddef.h>

/* A heap copy of b[0..n) with a NUL after it (so a string copy is a
 * C string), or NULL when out of memory. b may be NULL when n is 0. The
 * caller frees it. */
char *mem_dup(const void *b, size_t n);

/* Make the array *arr (of elements of size bytes, *cap of them) hold at
 * least n: its capacity doubles (from 8) until it does, the new elements
 * zeroed. 0, or -1 when out of memory (the array is unchanged). */
int mem_grow(void *arr, size_t *cap, size_t n, size_t size);

#endif
