/* fuzz_rules_eval.c - libFuzzer target: arbitrary message bytes against a
 * fixed rule set that uses every condition, operator and template. The
 * same message is also evaluated with the route index disabled, and the
 * two results must be identical.
 *
 * Input: byte 0 flags (1: null key, 2: null value, 4: headers present),
 * byte 1 partition, byte 2 key length, byte 3 header length, then the key,
 * the "tier" header value, and the rest is the message value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../rules/rules_internal.h"
#include "rules.h"

static const char fuzz_rules[] =
    "{\"version\":1,\"sources\":[\"music.events\"],"
    "\"dead_letter\":{\"topic\":\"dl\"},"
    "\"unmatched\":{\"topic\":\"other\"},"
    "\"anomalies\":["
    " {\"name\":\"huge\",\"if\":{\"size\":{\"gt\":4000}}},"
    " {\"name\":\"evil\",\"if\":{\"header\":\"tier\","
    "  \"regex\":\"^(a|aa)+$\"}},"
    " {\"name\":\"bad_uid\",\"if\":{\"all\":[{\"exists\":\"/uid\"},"
    "  {\"not\":{\"field\":\"/uid\",\"regex\":\"^u[0-9]+$\"}}]}}],"
    "\"routes\":["
    " {\"name\":\"play\",\"if\":{\"field\":\"/type\",\"eq\":\"play\"},"
    "  \"to\":\"music.play\"},"
    " {\"name\":\"types\",\"if\":{\"field\":\"/type\",\"in\":[\"skip\","
    "  \"like\",1,true,null]},\"to\":\"music.type.${/type}\"},"
    " {\"name\":\"song\",\"if\":{\"all\":[{\"field\":\"/song\",\"eq\":"
    "  \"s1\"},{\"key\":true,\"prefix\":\"u\"}]},\"to\":[\"songs\","
    "  \"s.${/song}.${partition}\"],\"key\":\"${/uid}\"},"
    " {\"name\":\"n\",\"if\":{\"field\":\"/n\",\"in\":[1,2.5,-0]},"
    "  \"to\":\"nums\",\"partition\":\"source\"},"
    " {\"name\":\"deep\",\"if\":{\"field\":\"/o/a/1\",\"eq\":2},"
    "  \"to\":\"deep.${/o/a/2}\"},"
    " {\"name\":\"q\",\"if\":{\"any\":[{\"field\":\"/q\",\"prefix\":"
    "  \"jay\"},{\"field\":\"/q\",\"regex\":\"(?i)chou\"}]},"
    "  \"to\":\"music.search\",\"stop\":true},"
    " {\"name\":\"vip\",\"if\":{\"header\":\"tier\",\"in\":[\"vip\","
    "  \"gold\"]},\"to\":\"vip.${header:tier}\",\"key\":\"${key}\"},"
    " {\"name\":\"numkey\",\"if\":{\"key\":true,\"ge\":100},"
    "  \"to\":\"bigkeys\"},"
    " {\"name\":\"nums\",\"if\":{\"all\":[{\"field\":\"/n\",\"gt\":3},"
    "  {\"field\":\"/n\",\"le\":1e6}]},\"to\":\"n.${/n}\"},"
    " {\"name\":\"topic\",\"if\":{\"topic\":true,\"regex\":\"events$\"},"
    "  \"to\":\"t.${topic}\"},"
    " {\"name\":\"part\",\"if\":{\"partition\":true,\"lt\":3},"
    "  \"to\":\"low\"},"
    " {\"name\":\"raw\",\"if\":{\"value\":true,\"regex\":\"\\\\bERROR\\\\b\"},"
    "  \"to\":\"errors\"},"
    " {\"name\":\"notjson\",\"if\":{\"json\":false},\"to\":\"raw\"},"
    " {\"name\":\"miss\",\"if\":{\"missing\":\"/type\"},\"to\":\"untyped\"},"
    " {\"name\":\"ne\",\"if\":{\"field\":\"/type\",\"ne\":\"play\"},"
    "  \"to\":\"notplay\"},"
    " {\"name\":\"root\",\"if\":{\"field\":\"/0\",\"eq\":\"x\"},"
    "  \"to\":\"root.${/1}\"},"
    " {\"name\":\"esc\",\"if\":{\"field\":\"/a~1b\",\"eq\":\"\\u00e9\"},"
    "  \"to\":\"esc\"}"
    "]}";

typedef struct fuzz_hdr {
    const char *val;
    size_t len;
} fuzz_hdr_t;

static int fuzz_header(void *opaque, const char *name, const void **val,
                       size_t *len)
{
    const fuzz_hdr_t *h = opaque;

    if (strcmp(name, "tier") != 0)
        return -1;
    *val = h->val;
    *len = h->len;
    return 0;
}

static void same(const rules_result_t *a, const rules_result_t *b)
{
    size_t i, k;

    if (a->ndests != b->ndests || a->nmatched != b->nmatched ||
        a->dead_letter != b->dead_letter || a->route != b->route ||
        a->anomaly != b->anomaly || a->unmatched != b->unmatched ||
        strcmp(a->detail, b->detail) != 0 ||
        (a->dead_letter && strcmp(a->reason, b->reason) != 0))
        abort();
    for (i = 0; i < a->nmatched; i++)
        if (a->matched[i] != b->matched[i])
            abort();
    for (i = 0; i < a->ndests; i++) {
        const rules_dest_t *x = &a->dests[i], *y = &b->dests[i];
        if (strcmp(x->topic, y->topic) != 0 || x->route != y->route ||
            x->partition != y->partition || x->key_len != y->key_len ||
            (x->key == NULL) != (y->key == NULL) ||
            (x->key != NULL && memcmp(x->key, y->key, x->key_len) != 0))
            abort();
        if (!rules_topic_valid(x->topic, strlen(x->topic)))
            abort();
        for (k = 0; k < i; k++) /* each topic gets the message once */
            if (strcmp(a->dests[k].topic, x->topic) == 0)
                abort();
    }
    if (a->dead_letter && a->reason == NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static rules_set_t *ra, *rb;
    static rules_scratch_t *sa, *sb;
    const rules_result_t *a, *b;
    rules_msg_t m;
    fuzz_hdr_t h;
    size_t klen, hlen;

    if (ra == NULL) {
        rules_error_t err;
        ra = rules_load(fuzz_rules, strlen(fuzz_rules), &err);
        rb = rules_load_ex(fuzz_rules, strlen(fuzz_rules), &err,
                           RULES_LOAD_NO_INDEX);
        sa = rules_scratch_create();
        sb = rules_scratch_create();
        if (ra == NULL || rb == NULL || sa == NULL || sb == NULL)
            abort();
    }
    if (size < 4)
        return 0;
    klen = data[2];
    hlen = data[3];
    if (4 + klen + hlen > size)
        return 0;
    memset(&m, 0, sizeof(m));
    m.topic = "music.events";
    m.partition = data[1];
    if (!(data[0] & 1)) {
        m.key = data + 4;
        m.key_len = klen;
    }
    if (!(data[0] & 2)) {
        m.value = data + 4 + klen + hlen;
        m.value_len = size - 4 - klen - hlen;
    }
    if (data[0] & 4) {
        h.val = (const char *)data + 4 + klen;
        h.len = hlen;
        m.header = fuzz_header;
        m.header_opaque = &h;
    }
    a = rules_eval(ra, &m, sa);
    b = rules_eval(rb, &m, sb);
    if (a == NULL || b == NULL)
        abort();
    same(a, b);
    return 0;
}
