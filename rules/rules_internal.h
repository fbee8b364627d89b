/* rules_internal.h - private structures of the rule engine, shared only by
 * the files under rules/ (and the unit tests' hooks). */
#ifndef ROUTER_RULES_INTERNAL_H
#define ROUTER_RULES_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <locale.h>
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "jsonptr.h"
#include "jsonscan.h"
#include "rules.h"

/* PCRE2 limits on every match (the JIT uses the match limit only). */
#define RULES_MATCH_LIMIT   100000
#define RULES_DEPTH_LIMIT   10000
#define RULES_JIT_STACK_MAX (1024 * 1024)

/* Longest topic name Kafka accepts. */
#define RULES_TOPIC_MAX 249

/* rules_load_ex() flags. */
#define RULES_LOAD_NO_INDEX 0x1 /* evaluate every route one by one (tests) */

/* ---- a small open-addressing hash map: (tag, bytes) -> uint32 ------------ */

/* Keys up to this long live in the entry itself (no pointer to chase). */
#define RULES_MAP_INLINE 16

typedef struct rules_map_ent {
    uint64_t hash; /* rules_hash(tag, key, len) */
    uint32_t tag;  /* caller's namespace for the key */
    uint32_t len;  /* key length */
    uint32_t val;  /* caller's value */
    uint8_t used;  /* 0: empty slot */
    union {
        char inl[RULES_MAP_INLINE]; /* len <= RULES_MAP_INLINE */
        char *heap;                 /* longer: owned copy */
    } k;
} rules_map_ent_t;

typedef struct rules_map {
    rules_map_ent_t *ents; /* cap slots */
    size_t cap;            /* power of two, or 0 */
    size_t n;              /* used slots */
} rules_map_t;

/* Hash of (tag, key[0..len)). Can't fail. */
uint64_t rules_hash(uint32_t tag, const void *key, size_t len);

/* Insert (tag, key) -> val. Returns 1 when inserted, 0 when the key was
 * there already (*old gets its value, the map is unchanged), -1 when out of
 * memory. The map copies the key. */
int rules_map_put(rules_map_t *m, uint32_t tag, const void *key, size_t len,
                  uint32_t val, uint32_t *old);

/* The value of (tag, key) whose hash is h, or NULL. Allocates nothing. */
const rules_map_ent_t *rules_map_get(const rules_map_t *m, uint64_t h,
                                     uint32_t tag, const void *key, size_t len);

/* Free the map's memory; the map is empty afterwards. */
void rules_map_free(rules_map_t *m);

/* ---- compiled rules ------------------------------------------------------ */

/* A literal operand, typed at load time. type is a jsonscan_type_t
 * (STRING, NUMBER, TRUE, FALSE or NULL) so it compares with tokens. */
typedef struct rules_lit {
    uint8_t type;
    uint32_t len; /* STRING: length in bytes */
    char *str;    /* STRING: owned, NUL-terminated (may hold NULs) */
    double num;   /* NUMBER: the value (-0 stored as 0) */
} rules_lit_t;

enum rules_cond_kind {
    COND_ALL = 1, /* every kid holds (none: true) */
    COND_ANY,     /* some kid holds (none: false) */
    COND_NOT,     /* the one kid does not hold */
    COND_EXISTS,  /* the pointer resolves in a JSON value */
    COND_MISSING, /* not COND_EXISTS */
    COND_JSON,    /* the value is (want=1) or is not (want=0) JSON */
    COND_CMP      /* subject + operator */
};

enum rules_subj {
    SUBJ_FIELD = 1,
    SUBJ_KEY,
    SUBJ_HEADER,
    SUBJ_TOPIC,
    SUBJ_PARTITION,
    SUBJ_VALUE,
    SUBJ_SIZE
};

enum rules_op {
    OP_EQ = 1,
    OP_NE,
    OP_IN,
    OP_PREFIX,
    OP_REGEX,
    OP_LT,
    OP_LE,
    OP_GT,
    OP_GE
};

typedef struct rules_cond {
    uint8_t kind;            /* enum rules_cond_kind */
    uint8_t subj;            /* COND_CMP: enum rules_subj */
    uint8_t op;              /* COND_CMP: enum rules_op */
    uint8_t want;            /* COND_JSON: 1 for "json": true */
    uint32_t slot;           /* FIELD, EXISTS, MISSING: pointer slot;
                              * HEADER: header slot */
    uint32_t nkids;          /* ALL, ANY: count; NOT: 1 */
    uint32_t nlits;          /* operands: 1, or the "in" list */
    struct rules_cond *kids; /* owned array of nkids */
    rules_lit_t *lits;       /* owned array of nlits */
    pcre2_code *re;          /* OP_REGEX: compiled, JIT when possible */
    char *path;              /* where it is, "routes[2].if.all[0]" */
} rules_cond_t;

enum rules_tvar {
    TV_LIT = 0,   /* literal text */
    TV_PTR,       /* ${/json/pointer} */
    TV_KEY,       /* ${key} */
    TV_TOPIC,     /* ${topic} */
    TV_PARTITION, /* ${partition} */
    TV_HEADER     /* ${header:name} */
};

typedef struct rules_tpart {
    uint8_t kind;  /* enum rules_tvar */
    uint32_t slot; /* TV_PTR: pointer slot; TV_HEADER: header slot */
    uint32_t len;  /* length of text */
    char *text;    /* TV_LIT: the bytes; else "${...}" as written */
} rules_tpart_t;

/* A "to" or "key" string, split into literal parts and variables. */
typedef struct rules_tmpl {
    uint32_t topic;   /* literal topic: its index in rs->topics;
                       * UINT32_MAX when the template has variables */
    uint8_t is_topic; /* the result must be a valid topic name */
    uint32_t nparts;
    size_t len;           /* length of the template as written */
    const char *name;     /* literal topic: rs->topics[topic] */
    rules_tpart_t *parts; /* owned array of nparts */
    char *path;           /* "routes[2].to[1]", "routes[2].key" */
} rules_tmpl_t;

typedef struct rules_route { /* the fields used per message first */
    uint8_t indexed;         /* reached through rs->index, not rs->plain */
    uint8_t stop;            /* "stop": true */
    uint8_t part_source;     /* "partition": "source" */
    uint32_t nto;
    uint32_t nrest;
    rules_tmpl_t *to;         /* array of nto, at least one: &to1 or owned */
    rules_tmpl_t *key;        /* owned, NULL: keep the source key */
    const rules_cond_t *rest; /* indexed: conditions left to check (kids
                               * after the first of an "all"), in cond */
    rules_tmpl_t to1;         /* "to" when it names one topic */
    rules_cond_t cond;        /* "if" */
    char *name;
} rules_route_t;

typedef struct rules_anomaly {
    char *name;
    rules_cond_t cond;
    char *desc; /* the condition as compact JSON, for dead-letter details */
} rules_anomaly_t;

enum rules_unmatched { UNM_DROP = 0, UNM_DEAD_LETTER, UNM_TOPIC };

/* Routes reached through one (pointer, literal) index key. */
typedef struct rules_ilist {
    uint32_t *r; /* ascending route indexes */
    uint32_t n, cap;
} rules_ilist_t;

/* An index map value with this bit is the only route of its key, not an
 * index into rs->ilists: one memory access less per message. */
#define RULES_INDEX_ONE 0x80000000u

/* A JSON Pointer of one segment ("/type"): resolved with every other such
 * pointer in one pass over the root object's members. */
typedef struct rules_top {
    uint32_t slot; /* its pointer slot */
    uint32_t len;  /* length of name */
    char *name;    /* the member name, unescaped, owned */
} rules_top_t;

/* Beyond this many one-segment pointers, the pass looks names up in
 * rs->top_map instead of comparing with each. */
#define RULES_TOP_LINEAR 16

/* Buckets of rs->top_hint, by name length, first and last byte. */
#define RULES_TOP_HINTS   256
#define RULES_TOP_SEVERAL 255

static inline unsigned rules_top_hint(const char *name, size_t len)
{
    if (len == 0)
        return 0;
    return ((unsigned)len * 7u + (unsigned char)name[0] * 3u +
            (unsigned char)name[len - 1]) &
           (RULES_TOP_HINTS - 1);
}

struct rules_set {
    uint64_t serial; /* unique per loaded set, from 1: a scratch fitted to
                      * this set knows it without re-checking sizes */
    char **sources;  /* owned strings */
    size_t nsources;
    char *dead_letter;        /* owned, NULL when none */
    uint8_t unmatched;        /* enum rules_unmatched */
    uint32_t unmatched_topic; /* UNM_TOPIC: index in topics */
    rules_anomaly_t *anomalies;
    size_t nanomalies;
    rules_route_t *routes;
    size_t nroutes;
    jsonptr_t **ptrs; /* distinct JSON Pointers (slots), owned */
    size_t nptrs;
    uint8_t *ptr_top;  /* per slot: 1 when it is in tops */
    rules_top_t *tops; /* the one-segment pointers */
    size_t ntops;
    rules_map_t top_map; /* name -> index in tops (many tops only) */
    uint8_t top_hint[RULES_TOP_HINTS]; /* per bucket: 0 no top, k + 1 only
                                        * tops[k], RULES_TOP_SEVERAL */
    char **headers; /* distinct header names (slots), owned */
    size_t nheaders;
    char **topics; /* literal topics, deduplicated, owned */
    size_t ntopics;
    size_t max_dests; /* most destinations one message can get */
    /* The index: key (tag = pointer slot << 3 | literal type, literal
     * bytes or the double) -> index into ilists. */
    rules_map_t index;
    rules_ilist_t *ilists;
    size_t nilists;
    uint32_t *islots; /* pointer slots that have indexed routes */
    size_t nislots;
    uint32_t *plain; /* routes not indexed, ascending */
    size_t nplain;
};

/* Load-time context: where we are, what was interned. */
typedef struct rules_ctx {
    rules_set_t *rs;
    rules_error_t *err;
    char path[256];                   /* the place being compiled */
    rules_map_t ptr_map;              /* pointer text -> slot */
    rules_map_t hdr_map;              /* header name -> slot */
    rules_map_t top_map;              /* literal topic -> index */
    size_t ptr_cap, hdr_cap, top_cap; /* room in rs->ptrs, headers, topics */
    int needs_dl; /* a reason to need "dead_letter" was seen */
    char needs_dl_why[320];
} rules_ctx_t;

/* ---- per-thread scratch -------------------------------------------------- */

typedef struct rules_pcache {
    uint32_t gen;    /* == sc->gen: tok is this message's */
    uint32_t numgen; /* == sc->gen: num is this message's */
    long tok;        /* token index, -1: absent */
    double num;
} rules_pcache_t;

typedef struct rules_hcache {
    uint32_t gen; /* == sc->gen: found/val/len are this message's */
    int found;    /* 1: present with a non-null value */
    const void *val;
    size_t len;
} rules_hcache_t;

typedef struct rules_dtmp {
    size_t toff, tlen; /* templated topic: its place in the arena */
    size_t koff;       /* rewritten key: its place in the arena */
    uint8_t tarena;    /* topic is in the arena */
    uint8_t karena;    /* key is in the arena */
} rules_dtmp_t;

typedef struct rules_cursor {
    const uint32_t *p, *end;
} rules_cursor_t;

struct rules_scratch {
    uint32_t gen;           /* this message's stamp for the caches */
    uint64_t fit_serial;    /* serial of the set the buffers fit, 0 none */
    const rules_set_t *rs;  /* the message being evaluated: rule set */
    const rules_msg_t *msg; /* and message */
    jsonscan_t *js;
    int json;                    /* 0: not parsed yet, 1: valid, -1: not */
    const char *jin;             /* json == 1: the parsed input */
    const jsonscan_tok_t *jtoks; /* and its tokens (no call per use) */
    pcre2_match_data *md;        /* one pair, shared by every pattern */
    pcre2_match_context *mc;     /* match and depth limits, JIT stack */
    pcre2_jit_stack *jit;
    locale_t cloc;             /* "C" numbers for strtod_l() */
    const rules_cond_t *limit; /* the regex that hit a limit */
    int limit_rc;              /* and the PCRE2 error */
    rules_pcache_t *pc;        /* per pointer slot */
    size_t pc_cap;
    rules_hcache_t *hc; /* per header slot */
    size_t hc_cap;
    uint32_t *tseen; /* per literal topic: gen when produced */
    size_t tseen_cap;
    rules_dest_t *dests;
    rules_dtmp_t *dtmp; /* parallel to dests */
    size_t dests_cap;
    size_t ntdests; /* destinations with templated topics */
    uint32_t *matched;
    size_t matched_cap;
    rules_cursor_t *cur; /* index merge */
    size_t cur_cap;
    uint32_t *ones; /* routes of RULES_INDEX_ONE keys */
    size_t ones_cap;
    char *arena; /* resolved templates of this message */
    size_t arena_len, arena_cap;
    char *ubuf; /* an unescaped JSON string */
    size_t ubuf_cap;
    int oom;           /* an allocation failed during this message */
    char detail[512];  /* the result's detail */
    char tdetail[512]; /* why the last template failed */
    rules_result_t res;
};

/* ---- functions shared between the files ---------------------------------- */

/* rules_load.c */

/* rules_load() with flags (RULES_LOAD_NO_INDEX). */
rules_set_t *rules_load_ex(const char *text, size_t len, rules_error_t *err,
                           unsigned flags);

/* rules_ctx.c */

/* Record "<path>: <message>" as the load error (the first one wins);
 * returns -1. */
int rules_fail(rules_ctx_t *cx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
enum rules_intern_kind { INTERN_PTR, INTERN_HEADER, INTERN_TOPIC };
/* The slot of pointer, header name or literal topic s[0..n), added (a
 * pointer compiled) when new. -1 with the error recorded on failure. */
int rules_intern(rules_ctx_t *cx, int kind, const char *s, size_t n,
                 uint32_t *slot);
/* Note that the current path needs a dead-letter topic, and why. */
void rules_need_dl(rules_ctx_t *cx, const char *why);
/* Append to the path ("[3]", ".if"); returns the old length for
 * rules_path_pop(). Can't fail (a path too long is cut). */
size_t rules_path_push(rules_ctx_t *cx, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rules_path_pop(rules_ctx_t *cx, size_t old);

/* rules_escape.c */

/* s[0..n) for a message: printable ASCII kept, other bytes, '"' and '\'
 * as \xHH, cut with "..." to fit out[0..cap). Can't fail. */
void rules_escape(char *out, size_t cap, const char *s, size_t n);

/* rules_topic.c (and rules_topic_valid(), rules.h) */

/* 0 when s[0..n) is a valid literal topic name, else -1 with the error
 * recorded ("a b" is not a valid topic name...). */
int rules_topic_check(rules_ctx_t *cx, const char *s, size_t n);
/* 1 when c may appear in a topic name. */
int rules_topic_char(unsigned char c);

/* rules_set.c */

/* Build the route index (all routes plain with RULES_LOAD_NO_INDEX) and
 * the one-segment pointer table. -1 when out of memory. */
int rules_index_build(rules_set_t *rs, unsigned flags);
int rules_tops_build(rules_set_t *rs);

/* rules_cond.c */

/* Compile condition j at the current path into c (zeroed by the caller).
 * -1 with the error recorded; c is then half-built: rules_cond_free(). */
int rules_cond_compile(rules_ctx_t *cx, const json_t *j, rules_cond_t *c);
/* Free what c owns. Accepts NULL and half-built conditions. */
void rules_cond_free(rules_cond_t *c);

/* rules_match.c (per message, on sc->rs and sc->msg) */

/* 1 when c holds, 0 when not, -1 when a regex hit a limit (sc->limit and
 * sc->limit_rc say which). */
int rules_cond_eval(const rules_cond_t *c, rules_scratch_t *sc);
/* rules_field() when slot is not resolved for this message yet. */
long rules_field_resolve(rules_scratch_t *sc, uint32_t slot);

/* The token of pointer slot in the value, -1 when absent or not JSON.
 * Inline: most calls find the slot resolved for this message. */
static inline long rules_field(rules_scratch_t *sc, uint32_t slot)
{
    const rules_pcache_t *pc = &sc->pc[slot];

    return pc->gen == sc->gen ? pc->tok : rules_field_resolve(sc, slot);
}
/* The number at pointer slot: 0, or -1 when absent or not a number. */
int rules_field_num(rules_scratch_t *sc, uint32_t slot, double *out);
/* Parse the value once: 1 when it is JSON, -1 when not (or null). */
int rules_json(rules_scratch_t *sc);
/* The unescaped bytes of STRING token t (the input, or sc->ubuf until the
 * next call). -1 when out of memory (sc->oom set). */
int rules_str(rules_scratch_t *sc, const jsonscan_tok_t *t, const char **p,
              size_t *n);
/* 1 with *val and *len set when header slot is present with a non-null
 * value, else 0. */
int rules_header(rules_scratch_t *sc, uint32_t slot, const void **val,
                 size_t *len);

/* rules_tmpl.c */

/* Compile template s[0..n) at the current path into t (zeroed by the
 * caller; a literal topic is validated and interned). -1 with the error
 * recorded. */
int rules_tmpl_compile(rules_ctx_t *cx, const char *s, size_t n, int is_topic,
                       rules_tmpl_t *t);
/* Free what t owns. Accepts NULL and half-built templates. */
void rules_tmpl_free(rules_tmpl_t *t);

/* rules_expand.c */

/* Fill t in for the message into the arena at *off, *len bytes. 0; 1 when
 * it cannot be filled or is no valid topic (sc->tdetail says why); -1
 * when out of memory. */
int rules_tmpl_expand(const rules_tmpl_t *t, rules_scratch_t *sc, size_t *off,
                      size_t *len);
/* Append s[0..n) to the scratch arena; -1 when out of memory. */
int rules_arena_put(rules_scratch_t *sc, const void *s, size_t n);

#endif
