/* rules_escape.c - bytes made safe to quote in a message a person reads. */
#include "rules_internal.h"

#include <string.h>

void rules_escape(char *out, size_t cap, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i, o = 0;

    if (cap == 0)
        return;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
        size_t need = plain ? 1 : 4;

        if (o + need + 4 > cap) { /* keep room for "..." and the NUL */
            if (o + 3 < cap)
                memcpy(out + o, "...", 3), o += 3;
            break;
        }
        if (plain) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
}
