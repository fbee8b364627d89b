/* admin.h - the admin HTTP endpoint (libmicrohttpd): rules, health,
 * metrics, anomaly lookup (README.md, "Admin API").
 *
 * The admin module only speaks HTTP: what each endpoint does is asked of
 * the callbacks in admin_ops_t, so it can be tested without Kafka. Requests
 * are served on libmicrohttpd's own thread(s), never the routing thread. */
#ifndef ROUTER_ADMIN_H
#define ROUTER_ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "rules.h"

#define ADMIN_DEFAULT_ADDR     "127.0.0.1:8080"
#define ADMIN_DEFAULT_BODY_MAX 8388608 /* bytes (8 MiB): --admin-body-max */
/* Content types of the replies. */
#define ADMIN_TYPE_JSON    "application/json"
#define ADMIN_TYPE_TEXT    "text/plain; charset=utf-8"
#define ADMIN_TYPE_METRICS "text/plain; version=0.0.4; charset=utf-8"

/* What a callback returns to be sent: a body (malloc'd, taken over by the
 * admin module) and its content type. */
typedef struct admin_reply {
    int status;       /* HTTP status */
    const char *type; /* static string, e.g. "application/json" */
    char *body;       /* malloc'd, NUL-terminated; NULL = empty */
} admin_reply_t;

/* Where GET /anomalies looks. */
typedef enum admin_anom_source {
    ADMIN_ANOM_RING, /* this instance's ring of recent dead letters */
    ADMIN_ANOM_TOPIC /* the dead-letter topic itself (every instance's) */
} admin_anom_source_t;

/* The query of GET /anomalies, parsed and checked (malformed ones get 400
 * before any callback): reason=, q=, limit=, scan=ring|topic, since=,
 * until= (times as `router dlq --since` takes them, dlqscan.h). since or
 * until without scan= means scan=topic; scan=ring with either is 400. */
typedef struct admin_anom_query {
    const char *reason;         /* NULL: any; else not "" */
    const char *q;              /* NULL: any; else not "" */
    int limit;                  /* 1..ADMIN_LIMIT_MAX */
    admin_anom_source_t source; /* ADMIN_ANOM_RING when nothing says */
    int64_t since_ms, until_ms; /* ms since the epoch, -1: open; both -1
                                 * with ADMIN_ANOM_RING; since <= until */
} admin_anom_query_t;

#define ADMIN_LIMIT_DEFAULT 100 /* GET /anomalies without limit= */
#define ADMIN_LIMIT_MAX     10000

/* The router behind the endpoints. Every callback may be called from
 * several admin threads at once and must be thread-safe; each fills *r. */
typedef struct admin_ops {
    void *opaque;
    /* GET /healthz: 200 "ok\n" or 503 with the reason. */
    void (*health)(void *opaque, admin_reply_t *r);
    /* GET /metrics: Prometheus text exposition format. */
    void (*metrics)(void *opaque, admin_reply_t *r);
    /* GET /stats: the same figures as JSON. */
    void (*stats)(void *opaque, admin_reply_t *r);
    /* GET /rules: the running rules, version, load time, checksum. */
    void (*rules_get)(void *opaque, admin_reply_t *r);
    /* PUT /rules (apply=1) and POST /rules/validate (apply=0): load the
     * body; 400 {"error": ..., "line": L, "column": C} when invalid. */
    void (*rules_put)(void *opaque, const char *body, size_t len, int apply,
                      admin_reply_t *r);
    /* POST /rules/reload: re-read the rules file. */
    void (*rules_reload)(void *opaque, admin_reply_t *r);
    /* GET /anomalies: the checked query (valid during the call). */
    void (*anomalies)(void *opaque, const admin_anom_query_t *aq,
                      admin_reply_t *r);
} admin_ops_t;

typedef struct admin admin_t;

/* Start serving on addr ("HOST:PORT", IPv4 or "[v6]:PORT"; port 0 picks a
 * free one). token: when not NULL, PUT/POST need "Authorization: Bearer
 * <token>" (compared in constant time). body_max: larger bodies get 413.
 * ops is copied. Returns NULL with errstr set (e.g. "127.0.0.1:8080:
 * Address already in use"). */
admin_t *admin_start(const char *addr, const char *token, size_t body_max,
                     const admin_ops_t *ops, char *errstr, size_t errstr_size);

/* The port actually bound. */
int admin_port(const admin_t *a);

/* Stop serving and free. Accepts NULL. */
void admin_stop(admin_t *a);

#endif
