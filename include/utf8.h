/* utf8.h - UTF-8 made safe to show: invalid sequences replaced. */
#ifndef ROUTER_UTF8_H
#define ROUTER_UTF8_H

#include <stddef.h>

/* Write buf[0..n) to out, which has room for 3 * n + 1 bytes, as
 * NUL-terminated UTF-8: every byte that does not start a valid sequence
 * (overlong, surrogate, above U+10FFFF, cut short) and every NUL becomes
 * U+FFFD. Returns the length written, without the NUL. Can't fail. */
size_t utf8_clean(const void *buf, size_t n, char *out);

#endif
