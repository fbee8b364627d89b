/* fuzz_rules_load.c - libFuzzer target: arbitrary bytes as a rules file.
 * A file that loads is evaluated against a few fixed messages, so every
 * compiled condition, template and index entry gets exercised too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

static int fuzz_header(void *opaque, const char *name, const void **val,
                       size_t *len)
{
    (void)opaque;
    if (strcmp(name, "tier") != 0)
        return -1;
    *val = "vip";
    *len = 3;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const values[] = {
        "{\"type\":\"play\",\"uid\":\"u1\",\"song\":\"s1\",\"n\":5,"
        "\"q\":\"jay chou\",\"o\":{\"a\":[1,2,\"x\"]}}",
        "{\"type\":\"a b\",\"uid\":7}", "[1,\"two\",{\"3\":null}]", "not json",
        NULL};
    rules_error_t err;
    rules_scratch_t *sc;
    rules_set_t *rs;
    size_t i, k;

    rs = rules_load((const char *)data, size, &err);
    if (rs == NULL) {
        if (err.msg[0] == '\0')
            abort(); /* a failure always says why */
        return 0;
    }
    for (i = 0; i < rules_source_count(rs); i++)
        if (rules_source(rs, i) == NULL)
            abort();
    for (i = 0; i < rules_topic_count(rs); i++) {
        const char *t = rules_topic(rs, i);
        if (!rules_topic_valid(t, strlen(t)))
            abort();
    }
    sc = rules_scratch_create();
    if (sc == NULL)
        abort();
    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        rules_msg_t m;
        const rules_result_t *r;

        memset(&m, 0, sizeof(m));
        m.topic = "music.events";
        m.partition = (int32_t)i;
        m.key = i % 2 ? NULL : "u1";
        m.key_len = i % 2 ? 0 : 2;
        m.value = values[i];
        m.value_len = values[i] != NULL ? strlen(values[i]) : 0;
        m.header = i % 3 ? fuzz_header : NULL;
        r = rules_eval(rs, &m, sc);
        if (r == NULL)
            abort();
        if (r->detail == NULL || (r->dead_letter && r->reason == NULL))
            abort();
        for (k = 0; k < r->ndests; k++) {
            const char *t = r->dests[k].topic;
            size_t j;

            if (!rules_topic_valid(t, strlen(t)))
                abort();
            for (j = 0; j < k; j++) /* each topic gets the message once */
                if (strcmp(r->dests[j].topic, t) == 0)
                    abort();
        }
    }
    rules_scratch_destroy(sc);
    rules_destroy(rs);
    return 0;
}
