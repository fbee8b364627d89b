/* admin.c - the admin HTTP endpoint on libmicrohttpd: routing, bearer
 * token, body limit and JSON errors; the work is done by admin_ops_t. */
#include "admin.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "dlqscan.h"
#include "log.h"

#define ADMIN_THREADS      2u  /* libmicrohttpd worker threads */
#define ADMIN_CONN_LIMIT   64u /* connections served at once */
#define ADMIN_CONN_TIMEOUT 10u /* seconds a connection may idle */
#define ADMIN_ECHO_MAX     96  /* bytes of a path echoed in an error */
#define ADMIN_LOG_BURST    10  /* libmicrohttpd log lines a minute */

/* Methods, as bits of admin_route.methods. HEAD is served as GET. */
enum { M_GET = 1, M_PUT = 2, M_POST = 4, M_OTHER = 8 };

enum admin_ep {
    EP_HEALTHZ,
    EP_METRICS,
    EP_STATS,
    EP_RULES,
    EP_RELOAD,
    EP_VALIDATE,
    EP_ANOMALIES
};

/* One endpoint: its path, the methods it takes and their Allow header. */
struct admin_route {
    const char *path;
    enum admin_ep ep;
    unsigned methods;
    const char *allow;
    const char *type; /* content type preset before calling back */
};

static const struct admin_route admin_routes[] = {
    {"/healthz", EP_HEALTHZ, M_GET, "GET, HEAD", ADMIN_TYPE_TEXT},
    {"/metrics", EP_METRICS, M_GET, "GET, HEAD", ADMIN_TYPE_METRICS},
    {"/stats", EP_STATS, M_GET, "GET, HEAD", ADMIN_TYPE_JSON},
    {"/rules", EP_RULES, M_GET | M_PUT, "GET, HEAD, PUT", ADMIN_TYPE_JSON},
    {"/rules/reload", EP_RELOAD, M_POST, "POST", ADMIN_TYPE_JSON},
    {"/rules/validate", EP_VALIDATE, M_POST, "POST", ADMIN_TYPE_JSON},
    {"/anomalies", EP_ANOMALIES, M_GET, "GET, HEAD", ADMIN_TYPE_JSON},
};

struct admin {
    struct MHD_Daemon *mhd; /* NULL until started */
    admin_ops_t ops;        /* copy of the caller's callbacks */
    char *token;            /* owned; NULL: no authentication */
    size_t token_len;
    size_t body_max;      /* larger bodies get 413 */
    int port;             /* port actually bound */
    pthread_mutex_t lock; /* guards the fields below */
    int starting;         /* 1 while in MHD_start_daemon() */
    char start_err[256];  /* first libmicrohttpd message while starting */
    time_t log_start;     /* start of the current log minute */
    int log_count;        /* libmicrohttpd lines in that minute */
    int log_held;         /* of them, not logged */
};

/* Per request state, kept in libmicrohttpd's con_cls. */
struct admin_req {
    const struct admin_route *rt;
    unsigned method; /* M_GET, M_PUT or M_POST */
    size_t seen;     /* body bytes received so far */
    int status;      /* 0, or the error (413, 500) found while receiving */
    char *buf;       /* the body when the endpoint takes one; owned */
    size_t len;
    size_t cap;
};

/* Write s as the inside of a JSON string into out (NUL-terminated), at
 * most max bytes of s; bytes outside printable ASCII become \u00XX. */
static void admin_json_escape(char *out, size_t size, const char *s, size_t max)
{
    size_t o = 0, i;

    for (i = 0; s[i] && i < max && o + 7 < size; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20 || ch > 0x7e) {
            o += (size_t)snprintf(out + o, size - o, "\\u%04x", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    if (s[i] && o + 4 < size) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* Queue a reply; body is malloc'd or NULL and is taken over in all cases.
 * allow and auth, when not NULL, become the Allow and WWW-Authenticate
 * headers. Returns libmicrohttpd's verdict (MHD_NO closes the socket). */
static enum MHD_Result admin_send(struct MHD_Connection *c, int status,
                                  const char *type, char *body,
                                  const char *allow, const char *auth)
{
    struct MHD_Response *resp;
    enum MHD_Result ret = MHD_NO;

    if (body) {
        resp = MHD_create_response_from_buffer(strlen(body), body,
                                               MHD_RESPMEM_MUST_FREE);
        if (!resp) {
            free(body);
            log_error("admin: cannot create a response");
            return MHD_NO;
        }
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"",
                                               MHD_RESPMEM_PERSISTENT);
        if (!resp) {
            log_error("admin: cannot create a response");
            return MHD_NO;
        }
    }
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) !=
            MHD_YES ||
        (allow && MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow) !=
                      MHD_YES) ||
        (auth && MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                         auth) != MHD_YES)) {
        log_error("admin: cannot add a response header");
        goto out;
    }
    ret = MHD_queue_response(c, (unsigned)status, resp);
out:
    MHD_destroy_response(resp);
    return ret;
}

/* Queue a JSON error {"error": "<fmt...>"}; the formatted message must
 * already be JSON-escaped. */
static enum MHD_Result admin_error(struct MHD_Connection *c, int status,
                                   const char *allow, const char *auth,
                                   const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static enum MHD_Result admin_error(struct MHD_Connection *c, int status,
                                   const char *allow, const char *auth,
                                   const char *fmt, ...)
{
    char msg[1024], *body;
    size_t size;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        msg[0] = '\0';
    size = strlen(msg) + sizeof("{\"error\": \"\"}\n");
    body = malloc(size);
    if (!body)
        return MHD_NO;
    if (snprintf(body, size, "{\"error\": \"%s\"}\n", msg) < 0) {
        free(body);
        return MHD_NO;
    }
    return admin_send(c, status, ADMIN_TYPE_JSON, body, allow, auth);
}

/* Compare the presented token with the expected one in time that depends
 * on the expected length only: every byte is looked at, whatever differs,
 * and a presented token of another length is walked cyclically. */
static int admin_token_eq(const admin_t *a, const char *got, size_t glen)
{
    volatile unsigned char diff = 0;
    size_t i;

    diff |= (unsigned char)(glen != a->token_len);
    for (i = 0; i < a->token_len; i++) {
        unsigned char g = glen ? (unsigned char)got[i % glen] : 0;

        diff |= (unsigned char)(a->token[i] ^ g);
    }
    return diff == 0;
}

/* 1 when the request carries "Authorization: Bearer <the token>". */
static int admin_authorized(const admin_t *a, struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);

    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    for (h += 7; *h == ' '; h++)
        ;
    return admin_token_eq(a, h, strlen(h));
}

/* 1 when a Content-Length header announces more than body_max bytes. A
 * malformed value is libmicrohttpd's business (it answers 400 itself). */
static int admin_length_over(const admin_t *a, struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_CONTENT_LENGTH);
    size_t n = 0;

    if (!h)
        return 0;
    for (; *h >= '0' && *h <= '9'; h++) {
        if (n > (SIZE_MAX - 9) / 10)
            return 1;
        n = n * 10 + (size_t)(*h - '0');
        if (n > a->body_max)
            return 1;
    }
    return 0;
}

static unsigned admin_method(const char *m)
{
    if (!strcmp(m, MHD_HTTP_METHOD_GET) || !strcmp(m, MHD_HTTP_METHOD_HEAD))
        return M_GET;
    if (!strcmp(m, MHD_HTTP_METHOD_PUT))
        return M_PUT;
    if (!strcmp(m, MHD_HTTP_METHOD_POST))
        return M_POST;
    return M_OTHER;
}

/* First call for a request (headers in): route, method, token and
 * Content-Length are checked here, so a refused body is never read. */
static enum MHD_Result admin_begin(admin_t *a, struct MHD_Connection *c,
                                   const char *url, const char *method,
                                   void **con_cls)
{
    const struct admin_route *rt = NULL;
    struct admin_req *rq;
    char path[ADMIN_ECHO_MAX * 6 + 8], meth[64];
    unsigned m;
    size_t i;

    for (i = 0; i < sizeof(admin_routes) / sizeof(admin_routes[0]) && !rt; i++)
        if (!strcmp(url, admin_routes[i].path))
            rt = &admin_routes[i];
    if (!rt) {
        admin_json_escape(path, sizeof(path), url, ADMIN_ECHO_MAX);
        return admin_error(c, MHD_HTTP_NOT_FOUND, NULL, NULL,
                           "no such endpoint: %s", path);
    }
    m = admin_method(method);
    if (!(m & rt->methods)) {
        admin_json_escape(meth, sizeof(meth), method, 8);
        return admin_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, rt->allow, NULL,
                           "%s: method %s not allowed (allowed: %s)", rt->path,
                           meth, rt->allow);
    }
    if (m != M_GET && a->token && !admin_authorized(a, c))
        return admin_error(c, MHD_HTTP_UNAUTHORIZED, NULL,
                           "Bearer realm=\"router\"",
                           "%s: missing or wrong bearer token", rt->path);
    if (admin_length_over(a, c))
        return admin_error(c, MHD_HTTP_CONTENT_TOO_LARGE, NULL, NULL,
                           "%s: request body larger than %zu bytes", rt->path,
                           a->body_max);
    rq = calloc(1, sizeof(*rq));
    if (!rq)
        return MHD_NO;
    rq->rt = rt;
    rq->method = m;
    *con_cls = rq;
    return MHD_YES;
}

/* Take a piece of the body: kept for PUT/POST, counted for all; past
 * body_max nothing more is kept and the request will get 413. */
static void admin_take(const admin_t *a, struct admin_req *rq, const char *data,
                       size_t size)
{
    size_t cap;
    char *p;

    if (size > a->body_max - rq->seen) {
        rq->status = MHD_HTTP_CONTENT_TOO_LARGE;
        rq->seen = a->body_max;
    } else {
        rq->seen += size;
    }
    if (rq->status || rq->method == M_GET) {
        free(rq->buf);
        rq->buf = NULL;
        rq->len = rq->cap = 0;
        return;
    }
    if (rq->len + size + 1 > rq->cap) {
        cap = rq->cap ? rq->cap : 4096;
        while (cap < rq->len + size + 1)
            cap *= 2;
        if (cap > a->body_max + 1)
            cap = a->body_max + 1;
        p = realloc(rq->buf, cap);
        if (!p) {
            rq->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
            free(rq->buf);
            rq->buf = NULL;
            rq->len = rq->cap = 0;
            return;
        }
        rq->buf = p;
        rq->cap = cap;
    }
    memcpy(rq->buf + rq->len, data, size);
    rq->len += size;
    rq->buf[rq->len] = '\0';
}

/* Read limit= of GET /anomalies: 1..ADMIN_LIMIT_MAX, digits only; absent
 * or empty means the default. Returns -1 when invalid. */
static int admin_parse_limit(const char *s)
{
    int n = 0;

    if (!s || !*s)
        return ADMIN_LIMIT_DEFAULT;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        n = n * 10 + (*s - '0');
        if (n > ADMIN_LIMIT_MAX)
            return -1;
    }
    return n >= 1 ? n : -1;
}

/* An empty query value is no filter. */
static const char *admin_arg(struct MHD_Connection *c, const char *key)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);

    return v && *v ? v : NULL;
}

#define ADMIN_TIME_FORMS "2026-12-02T10:00:00Z, epoch s or ms, 30m, 2h, 7d"

/* Read the query of GET /anomalies into aq. Returns 0, or -1 with errstr
 * for a 400: naming the parameter, already JSON-escaped (admin_error()). */
static int admin_anom_query(struct MHD_Connection *c, admin_anom_query_t *aq,
                            char *errstr, size_t errstr_size)
{
    const char *scan = admin_arg(c, "scan");
    const char *names[2] = {"since", "until"};
    int64_t *dst[2] = {&aq->since_ms, &aq->until_ms};
    int64_t now = (int64_t)time(NULL) * 1000;
    char echo[ADMIN_ECHO_MAX * 6 + 8];

    memset(aq, 0, sizeof(*aq));
    aq->reason = admin_arg(c, "reason");
    aq->q = admin_arg(c, "q");
    aq->since_ms = aq->until_ms = -1;
    aq->limit = admin_parse_limit(
        MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit"));
    if (aq->limit < 0) {
        snprintf(errstr, errstr_size, "limit: expected an integer from 1 to %d",
                 ADMIN_LIMIT_MAX);
        return -1;
    }
    if (scan && strcmp(scan, "ring") && strcmp(scan, "topic")) {
        admin_json_escape(echo, sizeof(echo), scan, ADMIN_ECHO_MAX);
        snprintf(errstr, errstr_size,
                 "scan: expected ring or topic, not \\\"%s\\\"", echo);
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        const char *v = admin_arg(c, names[i]);

        if (!v)
            continue;
        if (dlqscan_parse_time(v, now, dst[i])) {
            admin_json_escape(echo, sizeof(echo), v, ADMIN_ECHO_MAX);
            snprintf(errstr, errstr_size, "%s: \\\"%s\\\" is not a time (%s)",
                     names[i], echo, ADMIN_TIME_FORMS);
            return -1;
        }
        if (scan && !strcmp(scan, "ring")) {
            snprintf(errstr, errstr_size,
                     "%s: the ring has no time range; leave scan=ring out "
                     "(since and until read the dead-letter topic)",
                     names[i]);
            return -1;
        }
    }
    if (aq->since_ms >= 0 && aq->until_ms >= 0 && aq->since_ms > aq->until_ms) {
        snprintf(errstr, errstr_size, "since: later than until");
        return -1;
    }
    aq->source = (scan && !strcmp(scan, "topic")) || aq->since_ms >= 0 ||
                         aq->until_ms >= 0
                     ? ADMIN_ANOM_TOPIC
                     : ADMIN_ANOM_RING;
    return 0;
}

/* Whole request in: call the endpoint's callback and send its reply. */
static enum MHD_Result admin_dispatch(admin_t *a, struct MHD_Connection *c,
                                      struct admin_req *rq)
{
    const struct admin_route *rt = rq->rt;
    const admin_ops_t *o = &a->ops;
    admin_reply_t r = {0, rt->type, NULL};
    admin_anom_query_t aq;
    char msg[1024];

    if (rq->status == MHD_HTTP_CONTENT_TOO_LARGE)
        return admin_error(c, rq->status, NULL, NULL,
                           "%s: request body larger than %zu bytes", rt->path,
                           a->body_max);
    if (rq->status)
        return admin_error(c, rq->status, NULL, NULL, "%s: out of memory",
                           rt->path);
    switch (rt->ep) {
    case EP_HEALTHZ:
        if (!o->health)
            goto none;
        o->health(o->opaque, &r);
        break;
    case EP_METRICS:
        if (!o->metrics)
            goto none;
        o->metrics(o->opaque, &r);
        break;
    case EP_STATS:
        if (!o->stats)
            goto none;
        o->stats(o->opaque, &r);
        break;
    case EP_RULES:
        if (rq->method == M_GET) {
            if (!o->rules_get)
                goto none;
            o->rules_get(o->opaque, &r);
            break;
        }
        /* PUT /rules applies what POST /rules/validate only checks. */
        /* fall through */
    case EP_VALIDATE:
        if (!o->rules_put)
            goto none;
        o->rules_put(o->opaque, rq->buf ? rq->buf : "", rq->len,
                     rt->ep == EP_RULES, &r);
        break;
    case EP_RELOAD:
        if (!o->rules_reload)
            goto none;
        o->rules_reload(o->opaque, &r);
        break;
    case EP_ANOMALIES:
        if (!o->anomalies)
            goto none;
        if (admin_anom_query(c, &aq, msg, sizeof(msg)))
            return admin_error(c, MHD_HTTP_BAD_REQUEST, NULL, NULL, "%s", msg);
        o->anomalies(o->opaque, &aq, &r);
        break;
    }
    if (r.status < 100 || r.status > 599) {
        log_error("admin: %s: callback replied status %d", rt->path, r.status);
        free(r.body);
        return admin_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, NULL,
                           "%s: internal error", rt->path);
    }
    /* r.body is taken over by admin_send() */
    return admin_send(c, r.status, r.type ? r.type : rt->type, r.body, NULL,
                      NULL);
none:
    return admin_error(c, MHD_HTTP_NOT_IMPLEMENTED, NULL, NULL,
                       "%s: not implemented", rt->path);
}

/* libmicrohttpd's access handler: called once with the headers, once per
 * piece of body, and once more at the end of the request. */
static enum MHD_Result admin_handler(void *cls, struct MHD_Connection *c,
                                     const char *url, const char *method,
                                     const char *version,
                                     const char *upload_data,
                                     size_t *upload_data_size, void **con_cls)
{
    admin_t *a = cls;
    struct admin_req *rq = *con_cls;

    (void)version;
    if (!rq)
        return admin_begin(a, c, url, method, con_cls);
    if (*upload_data_size) {
        admin_take(a, rq, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    return admin_dispatch(a, c, rq);
}

/* libmicrohttpd's end of request (also on abrupt close and at stop). */
static void admin_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                            enum MHD_RequestTerminationCode toe)
{
    struct admin_req *rq = *con_cls;

    (void)cls;
    (void)c;
    (void)toe;
    if (rq) {
        free(rq->buf);
        free(rq);
        *con_cls = NULL;
    }
}

/* libmicrohttpd's error log: kept for errstr while starting, then sent to
 * log_warn(), at most ADMIN_LOG_BURST lines a minute since any client can
 * make it talk; the lines held back are counted in the next one. */
static void admin_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void admin_mhd_log(void *cls, const char *fmt, va_list ap)
{
    admin_t *a = cls;
    char msg[1024];
    time_t now = time(NULL);
    size_t n;
    int quiet = 0, held = 0;

    if (vsnprintf(msg, sizeof(msg), fmt, ap) < 0)
        return;
    n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r' ||
                     msg[n - 1] == ' ' || msg[n - 1] == '.'))
        msg[--n] = '\0';
    if (pthread_mutex_lock(&a->lock) != 0)
        return;
    if (a->starting) {
        if (!a->start_err[0])
            snprintf(a->start_err, sizeof(a->start_err), "%.*s",
                     (int)sizeof(a->start_err) - 1, msg);
        quiet = 1;
    } else if (now - a->log_start >= 60) {
        a->log_start = now;
        a->log_count = 1;
        held = a->log_held;
        a->log_held = 0;
    } else if (++a->log_count > ADMIN_LOG_BURST) {
        a->log_held++;
        quiet = 1;
    }
    pthread_mutex_unlock(&a->lock);
    if (quiet)
        return;
    if (held)
        log_warn("admin: %s (and %d more libmicrohttpd messages)", msg, held);
    else
        log_warn("admin: %s", msg);
}

/* Parse "A.B.C.D:PORT" or "[V6]:PORT" into ss. Returns 0, or -1 with
 * errstr naming addr. */
static int admin_parse_addr(const char *addr, struct sockaddr_storage *ss,
                            char *errstr, size_t errstr_size)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *h, *colon;
    size_t hlen;
    long port = 0;
    int v6 = addr[0] == '[';

    memset(ss, 0, sizeof(*ss));
    h = addr + v6;
    colon = v6 ? strstr(h, "]:") : strrchr(h, ':');
    if (!colon)
        goto bad;
    hlen = (size_t)(colon - h);
    if (hlen == 0 || hlen >= sizeof(host))
        goto bad;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    h = colon + 1 + v6;
    if (!*h)
        goto bad;
    for (; *h; h++) {
        if (*h < '0' || *h > '9' || port > 65535)
            goto bad;
        port = port * 10 + (*h - '0');
    }
    if (port > 65535)
        goto bad;
    if (v6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
            goto bad;
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
            goto bad;
    }
    return 0;
bad:
    snprintf(errstr, errstr_size,
             "%.128s: admin address must be IPV4:PORT or [IPV6]:PORT", addr);
    return -1;
}

admin_t *admin_start(const char *addr, const char *token, size_t body_max,
                     const admin_ops_t *ops, char *errstr, size_t errstr_size)
{
    struct sockaddr_storage ss;
    const union MHD_DaemonInfo *info;
    admin_t *a = NULL;
    unsigned flags;
    size_t i;

    if (!addr || !ops) {
        snprintf(errstr, errstr_size, "admin: no address or no callbacks");
        return NULL;
    }
    if (admin_parse_addr(addr, &ss, errstr, errstr_size) != 0)
        return NULL;
    if (token) {
        for (i = 0; token[i]; i++)
            if ((unsigned char)token[i] <= 0x20 ||
                (unsigned char)token[i] >= 0x7f)
                break;
        if (i == 0 || token[i]) {
            snprintf(errstr, errstr_size, "admin token: %s",
                     i == 0 && !token[i]
                         ? "empty"
                         : "must be printable ASCII without spaces");
            return NULL;
        }
    }
    a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(errstr, errstr_size, "admin: out of memory");
        return NULL;
    }
    if (pthread_mutex_init(&a->lock, NULL) != 0) {
        free(a);
        snprintf(errstr, errstr_size, "admin: cannot create a mutex");
        return NULL;
    }
    a->ops = *ops;
    a->body_max = body_max;
    if (token) {
        a->token = strdup(token);
        if (!a->token) {
            snprintf(errstr, errstr_size, "admin: out of memory");
            goto err;
        }
        a->token_len = strlen(token);
    }
    /* poll(), not epoll: libmicrohttpd 0.9.75's epoll mode can miss a
     * client's half-close after a partial request line and keep the
     * connection until its timeout. */
    flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    a->starting = 1; /* no MHD thread runs yet */
    a->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, admin_handler, a, MHD_OPTION_EXTERNAL_LOGGER,
        admin_mhd_log, a, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, ADMIN_THREADS, MHD_OPTION_CONNECTION_LIMIT,
        ADMIN_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT, ADMIN_CONN_TIMEOUT,
        MHD_OPTION_STRICT_FOR_CLIENT, 1, /* e.g. Host: required */
        MHD_OPTION_NOTIFY_COMPLETED, admin_completed, a, MHD_OPTION_END);
    if (pthread_mutex_lock(&a->lock) == 0) {
        a->starting = 0;
        pthread_mutex_unlock(&a->lock);
    }
    if (!a->mhd) {
        /* start_err: e.g. "Failed to bind to port 8080: Address already
         * in use"; only this thread touches it now. */
        snprintf(errstr, errstr_size, "%.128s: %s", addr,
                 a->start_err[0] ? a->start_err : "cannot start the server");
        goto err;
    }
    info = MHD_get_daemon_info(a->mhd, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || info->port == 0) {
        snprintf(errstr, errstr_size, "%.128s: cannot tell the bound port",
                 addr);
        goto err;
    }
    a->port = info->port;
    return a;
err:
    admin_stop(a);
    return NULL;
}

int admin_port(const admin_t *a)
{
    return a ? a->port : -1;
}

void admin_stop(admin_t *a)
{
    if (!a)
        return;
    if (a->mhd)
        MHD_stop_daemon(a->mhd);
    if (a->token) {
        explicit_bzero(a->token, a->token_len);
        free(a->token);
    }
    pthread_mutex_destroy(&a->lock);
    free(a);
}
