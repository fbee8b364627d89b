/* mem.c - heap copies of byte ranges and growing arrays. */
#include "mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

char *mem_dup(const void *b, size_t n)
{
    char *d = malloc(n + 1);

    if (d) {
        if (n)
            memcpy(d, b, n);
        d[n] = '\0';
    }
    return d;
}

int mem_grow(void *arr, size_t *cap, size_t n, size_t size)
{
    void **pa = arr;
    size_t ncap = *cap ? *cap : 8;
    char *na;

    if (n <= *cap)
        return 0;
    if (n > SIZE_MAX / 2 / size)
        return -1; /* doubling up to n would overflow */
    while (ncap < n)
        ncap *= 2;
    na = realloc(*pa, ncap * size);
    if (!na)
        return -1;
    memset(na + *cap * size, 0, (ncap - *cap) * size);
    *pa = na;
    *cap = ncap;
    return 0;
}
