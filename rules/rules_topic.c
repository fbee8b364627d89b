/* rules_topic.c - Kafka topic names: which bytes may appear, which names
 * are valid, and the load error for one that is not. */
#include "rules_internal.h"

#include <stdint.h>

/* Kafka's topic characters: [a-zA-Z0-9._-]. */
static const uint8_t topic_chars[256] = {
    ['.'] = 1, ['_'] = 1, ['-'] = 1, ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1,
    ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1,
    ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1,
    ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1,
    ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1,
    ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1,
    ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1,
    ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

int rules_topic_char(unsigned char c)
{
    return topic_chars[c];
}

int rules_topic_valid(const char *name, size_t len)
{
    const unsigned char *p = (const unsigned char *)name;
    unsigned ok = 1;
    size_t i;

    if (name == NULL || len == 0 || len > RULES_TOPIC_MAX)
        return 0;
    if (p[0] == '.' && (len == 1 || (len == 2 && p[1] == '.')))
        return 0;
    for (i = 0; i < len; i++)
        ok &= topic_chars[p[i]];
    return (int)ok;
}

int rules_topic_check(rules_ctx_t *cx, const char *s, size_t n)
{
    char esc[300];

    if (rules_topic_valid(s, n))
        return 0;
    rules_escape(esc, sizeof(esc), s, n);
    return rules_fail(cx,
                      "\"%s\" is not a valid topic name (1..249 of "
                      "[a-zA-Z0-9._-], not \".\" or \"..\")",
                      esc);
}
