/* sha256.h - SHA-256 (FIPS 180-4) of a buffer, for rules checksums that
 * match `sha256sum rules.json`. */
#ifndef ROUTER_SHA256_H
#define ROUTER_SHA256_H

#include <stddef.h>

/* Write the lowercase hex digest of buf[0..len) and a NUL into hex[65].
 * Can't fail. */
void sha256_hex(const void *buf, size_t len, char hex[65]);

#endif
