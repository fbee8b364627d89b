/* test_admin.c - unit tests of the admin HTTP endpoint, spoken to over
 * loopback by a tiny HTTP client, with fake callbacks behind it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "log.h"

#define TOKEN     "s3cret-token"
#define AUTH      "Authorization: Bearer " TOKEN "\r\n"
#define BODY_MAX  1024
#define RESP_MAX  (256 * 1024)
#define T_JSON    "application/json"
#define T_TEXT    "text/plain; charset=utf-8"
#define T_METRICS "text/plain; version=0.0.4; charset=utf-8"

/* ---- fake router behind the endpoints -------------------------------- */

enum cb {
    CB_HEALTH,
    CB_METRICS,
    CB_STATS,
    CB_RULES_GET,
    CB_RULES_PUT,
    CB_RELOAD,
    CB_ANOMALIES,
    CB_N
};

#define BODY_KEEP 4096

/* Calls counted and arguments recorded by the fake callbacks. */
static struct fake {
    pthread_mutex_t lock;
    int calls[CB_N];
    int apply; /* last rules_put */
    size_t len;
    int body_null;
    char body[BODY_KEEP + 1];
    int has_reason, has_q; /* last anomalies */
    char reason[256], q[256];
    int limit;
    admin_anom_source_t source;
    int64_t since_ms, until_ms;
    int unhealthy;  /* health says 503 */
    int bad_status; /* stats replies status 0 */
} fk = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void fake_reset(void)
{
    pthread_mutex_lock(&fk.lock);
    memset(fk.calls, 0, sizeof(fk.calls));
    fk.apply = -1;
    fk.len = 0;
    fk.body_null = 0;
    fk.body[0] = '\0';
    fk.has_reason = fk.has_q = 0;
    fk.limit = 0;
    fk.source = ADMIN_ANOM_RING;
    fk.since_ms = fk.until_ms = -2;
    fk.unhealthy = fk.bad_status = 0;
    pthread_mutex_unlock(&fk.lock);
}

static int fake_calls(enum cb which)
{
    int n;

    pthread_mutex_lock(&fk.lock);
    n = fk.calls[which];
    pthread_mutex_unlock(&fk.lock);
    return n;
}

static int fake_total(void)
{
    int i, n = 0;

    for (i = 0; i < CB_N; i++)
        n += fake_calls((enum cb)i);
    return n;
}

static void fake_reply(admin_reply_t *r, int status, const char *body)
{
    r->status = status;
    r->body = body ? strdup(body) : NULL;
    assert_true(!body || r->body);
}

static void fake_count(enum cb which)
{
    pthread_mutex_lock(&fk.lock);
    fk.calls[which]++;
    pthread_mutex_unlock(&fk.lock);
}

static void fake_health(void *opaque, admin_reply_t *r)
{
    assert_ptr_equal(opaque, &fk);
    fake_count(CB_HEALTH);
    if (fk.unhealthy)
        fake_reply(r, 503, "not consuming: broker down\n");
    else
        fake_reply(r, 200, "ok\n");
}

/* Leaves r->type alone: the admin's preset must apply. */
static void fake_metrics(void *opaque, admin_reply_t *r)
{
    (void)opaque;
    fake_count(CB_METRICS);
    fake_reply(r, 200, "router_messages_in_total 42\n");
}

static void fake_stats(void *opaque, admin_reply_t *r)
{
    (void)opaque;
    fake_count(CB_STATS);
    r->type = T_JSON;
    fake_reply(r, fk.bad_status ? 0 : 200, "{\"messages_in\": 42}\n");
}

static void fake_rules_get(void *opaque, admin_reply_t *r)
{
    (void)opaque;
    fake_count(CB_RULES_GET);
    fake_reply(r, 200, "{\"version\": 3}\n");
}

/* A body starting with "bad" is refused like an invalid rules file. */
static void fake_rules_put(void *opaque, const char *body, size_t len,
                           int apply, admin_reply_t *r)
{
    (void)opaque;
    pthread_mutex_lock(&fk.lock);
    fk.calls[CB_RULES_PUT]++;
    fk.apply = apply;
    fk.len = len;
    fk.body_null = body == NULL;
    if (body) {
        memcpy(fk.body, body, len < BODY_KEEP ? len : BODY_KEEP);
        fk.body[len < BODY_KEEP ? len : BODY_KEEP] = '\0';
    }
    pthread_mutex_unlock(&fk.lock);
    if (body && len >= 3 && !memcmp(body, "bad", 3))
        fake_reply(r, 400,
                   "{\"error\": \"routes[2].to: unknown\", \"line\": 14, "
                   "\"column\": 9}\n");
    else
        fake_reply(r, 200,
                   apply ? "{\"applied\": true}\n" : "{\"valid\": true}\n");
}

static void fake_reload(void *opaque, admin_reply_t *r)
{
    (void)opaque;
    fake_count(CB_RELOAD);
    fake_reply(r, 200, "{\"reloaded\": true}\n");
}

static void fake_anomalies(void *opaque, const admin_anom_query_t *aq,
                           admin_reply_t *r)
{
    (void)opaque;
    pthread_mutex_lock(&fk.lock);
    fk.calls[CB_ANOMALIES]++;
    fk.has_reason = aq->reason != NULL;
    fk.has_q = aq->q != NULL;
    snprintf(fk.reason, sizeof(fk.reason), "%s", aq->reason ? aq->reason : "");
    snprintf(fk.q, sizeof(fk.q), "%s", aq->q ? aq->q : "");
    fk.limit = aq->limit;
    fk.source = aq->source;
    fk.since_ms = aq->since_ms;
    fk.until_ms = aq->until_ms;
    pthread_mutex_unlock(&fk.lock);
    fake_reply(r, 200, "{\"anomalies\": []}\n");
}

static const admin_ops_t fake_ops = {
    .opaque = &fk,
    .health = fake_health,
    .metrics = fake_metrics,
    .stats = fake_stats,
    .rules_get = fake_rules_get,
    .rules_put = fake_rules_put,
    .rules_reload = fake_reload,
    .anomalies = fake_anomalies,
};

/* ---- a tiny HTTP client ---------------------------------------------- */

struct resp {
    char *raw; /* the whole reply, NUL-terminated */
    size_t len;
    int status;       /* -1: no status line */
    const char *body; /* inside raw */
    size_t body_len;
    int timed_out; /* the server neither answered nor closed */
};

static int cli_connect(int port)
{
    struct sockaddr_in sa;
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)),
                     0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

/* Send it all; the server may close early (413, 401...): -1 then. */
static int cli_send(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Close; abrupt = reset the connection instead of a FIN. */
static void cli_close(int fd, int abrupt)
{
    struct linger lg = {1, 0};

    if (abrupt)
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)),
                         0);
    assert_int_equal(close(fd), 0);
}

/* Read until the server closes (or resets, or 5 s pass), then parse. */
static void cli_read(int fd, struct resp *r)
{
    const char *p, *end;

    memset(r, 0, sizeof(*r));
    r->raw = malloc(RESP_MAX + 1);
    assert_non_null(r->raw);
    for (;;) {
        ssize_t k = recv(fd, r->raw + r->len, RESP_MAX - r->len, 0);

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            r->timed_out = 1;
        if (k <= 0)
            break;
        r->len += (size_t)k;
        assert_true(r->len < RESP_MAX);
    }
    r->raw[r->len] = '\0';
    r->status = -1;
    if (r->len < 12 || strncmp(r->raw, "HTTP/1.", 7) != 0)
        return;
    r->status = atoi(r->raw + 9);
    end = strstr(r->raw, "\r\n\r\n");
    if (!end)
        return;
    p = end + 4;
    r->body = p;
    r->body_len = r->len - (size_t)(p - r->raw);
}

static void resp_free(struct resp *r)
{
    free(r->raw);
    r->raw = NULL;
}

/* The value of header name in r (copied to out), or NULL. */
static const char *resp_header(const struct resp *r, const char *name,
                               char *out, size_t size)
{
    const char *line = strstr(r->raw, "\r\n");
    const char *end = r->body ? r->body - 2 : r->raw + r->len;
    size_t nlen = strlen(name);

    while (line && line < end) {
        const char *eol;

        line += 2;
        eol = strstr(line, "\r\n");
        if (!eol || eol > end)
            break;
        if ((size_t)(eol - line) > nlen && line[nlen] == ':' &&
            !strncasecmp(line, name, nlen)) {
            const char *v = line + nlen + 1;

            while (*v == ' ')
                v++;
            snprintf(out, size, "%.*s", (int)(eol - v), v);
            return out;
        }
        line = eol;
    }
    return NULL;
}

/* One exchange on a fresh connection. */
static void http_raw(int port, const char *req, size_t len, struct resp *r)
{
    int fd = cli_connect(port);

    (void)cli_send(fd, req, len);
    cli_read(fd, r);
    cli_close(fd, 1);
}

/* A request with "Connection: close"; body NULL sends no Content-Length. */
static void http(int port, const char *method, const char *target,
                 const char *headers, const char *body, size_t body_len,
                 struct resp *r)
{
    size_t size = 1024 + body_len, n;
    char *req = malloc(size);

    assert_non_null(req);
    if (body)
        n = (size_t)snprintf(req, size,
                             "%s %s HTTP/1.1\r\nHost: test\r\n"
                             "Connection: close\r\n%sContent-Length: %zu"
                             "\r\n\r\n",
                             method, target, headers, body_len);
    else
        n = (size_t)snprintf(req, size,
                             "%s %s HTTP/1.1\r\nHost: test\r\n"
                             "Connection: close\r\n%s\r\n",
                             method, target, headers);
    assert_true(n + body_len < size);
    if (body)
        memcpy(req + n, body, body_len);
    http_raw(port, req, n + body_len, r);
    free(req);
}

/* The body is a JSON object with a string "error". */
static void assert_json_error(const struct resp *r)
{
    json_error_t err;
    json_t *root = json_loadb(r->body, r->body_len, 0, &err);

    if (!root)
        fail_msg("not JSON (%s): %.*s", err.text, (int)r->body_len, r->body);
    assert_true(json_is_string(json_object_get(root, "error")));
    json_decref(root);
}

/* ---- servers ---------------------------------------------------------- */

static admin_t *srv;      /* token TOKEN, body_max BODY_MAX */
static admin_t *srv_open; /* no token, the default body_max */

static int group_setup(void **state)
{
    char err[256];

    (void)state;
    srv = admin_start("127.0.0.1:0", TOKEN, BODY_MAX, &fake_ops, err,
                      sizeof(err));
    if (!srv) {
        fprintf(stderr, "admin_start: %s\n", err);
        return -1;
    }
    srv_open = admin_start("127.0.0.1:0", NULL, ADMIN_DEFAULT_BODY_MAX,
                           &fake_ops, err, sizeof(err));
    if (!srv_open) {
        fprintf(stderr, "admin_start: %s\n", err);
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    admin_stop(srv);
    admin_stop(srv_open);
    return 0;
}

static int test_setup(void **state)
{
    (void)state;
    fake_reset();
    return 0;
}

/* ---- every endpoint, its errors and its arguments -------------------- */

enum check { CHK_NONE, CHK_PUT, CHK_ANOM };

struct ep_case {
    const char *name;
    const char *method;
    const char *target;
    const char *headers; /* extra header lines */
    const char *body;    /* NULL: no body */
    int status;
    const char *type;     /* Content-Type expected */
    const char *body_has; /* substring of the reply body */
    int cb;               /* callback called once; -1: none at all */
    const char *allow;    /* Allow header expected, NULL: none */
    enum check check;
    int apply;              /* CHK_PUT */
    const char *reason, *q; /* CHK_ANOM, NULL: no filter */
    int limit;
};

static const struct ep_case ep_cases[] = {
    {"healthz ok", "GET", "/healthz", "", NULL, 200, T_TEXT, "ok\n", CB_HEALTH,
     NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"healthz ignores unknown query parameters", "GET", "/healthz?verbose=1&x",
     "", NULL, 200, T_TEXT, "ok", CB_HEALTH, NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"metrics gets the Prometheus type by default", "GET", "/metrics", "", NULL,
     200, T_METRICS, "router_messages_in_total 42", CB_METRICS, NULL, CHK_NONE,
     0, NULL, NULL, 0},
    {"stats keeps the callback's type", "GET", "/stats", "", NULL, 200, T_JSON,
     "messages_in", CB_STATS, NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"rules get needs no token", "GET", "/rules", "", NULL, 200, T_JSON,
     "version", CB_RULES_GET, NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"rules put applies the body", "PUT", "/rules", AUTH, "{\"routes\": []}",
     200, T_JSON, "applied", CB_RULES_PUT, NULL, CHK_PUT, 1, NULL, NULL, 0},
    {"rules put invalid: the callback's 400 passes through", "PUT", "/rules",
     AUTH, "bad rules", 400, T_JSON, "\"line\": 14", CB_RULES_PUT, NULL,
     CHK_PUT, 1, NULL, NULL, 0},
    {"rules validate does not apply", "POST", "/rules/validate", AUTH,
     "{\"routes\": []}", 200, T_JSON, "valid", CB_RULES_PUT, NULL, CHK_PUT, 0,
     NULL, NULL, 0},
    {"rules reload without a body", "POST", "/rules/reload", AUTH, NULL, 200,
     T_JSON, "reloaded", CB_RELOAD, NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"lower-case bearer scheme is accepted", "POST", "/rules/reload",
     "Authorization: bearer " TOKEN "\r\n", "", 200, T_JSON, "reloaded",
     CB_RELOAD, NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"anomalies default limit, no filters", "GET", "/anomalies", "", NULL, 200,
     T_JSON, "anomalies", CB_ANOMALIES, NULL, CHK_ANOM, 0, NULL, NULL, 100},
    {"anomalies decodes reason, q and limit", "GET",
     "/anomalies?reason=no_match&q=jay%20chou&limit=5", "", NULL, 200, T_JSON,
     "anomalies", CB_ANOMALIES, NULL, CHK_ANOM, 0, "no_match", "jay chou", 5},
    {"anomalies decodes + and %XX in q", "GET", "/anomalies?q=a+b%2Bc%26d%3D",
     "", NULL, 200, T_JSON, "anomalies", CB_ANOMALIES, NULL, CHK_ANOM, 0, NULL,
     "a b+c&d=", 100},
    {"anomalies empty values are no filter", "GET",
     "/anomalies?reason=&q=&limit=", "", NULL, 200, T_JSON, "anomalies",
     CB_ANOMALIES, NULL, CHK_ANOM, 0, NULL, NULL, 100},
    {"anomalies limit 1 is the lower bound", "GET", "/anomalies?limit=1", "",
     NULL, 200, T_JSON, "anomalies", CB_ANOMALIES, NULL, CHK_ANOM, 0, NULL,
     NULL, 1},
    {"anomalies limit 10000 is the upper bound", "GET",
     "/anomalies?limit=10000&foo=bar", "", NULL, 200, T_JSON, "anomalies",
     CB_ANOMALIES, NULL, CHK_ANOM, 0, NULL, NULL, 10000},
    {"anomalies limit 0 is refused", "GET", "/anomalies?limit=0", "", NULL, 400,
     T_JSON, "limit", -1, NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"anomalies limit 10001 is refused", "GET", "/anomalies?limit=10001", "",
     NULL, 400, T_JSON, "limit", -1, NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"anomalies limit -1 is refused", "GET", "/anomalies?limit=-1", "", NULL,
     400, T_JSON, "limit", -1, NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"anomalies limit abc is refused", "GET", "/anomalies?limit=abc", "", NULL,
     400, T_JSON, "limit", -1, NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"anomalies limit 5x is refused", "GET", "/anomalies?limit=5x", "", NULL,
     400, T_JSON, "limit", -1, NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"anomalies huge limit is refused", "GET",
     "/anomalies?limit=99999999999999999999", "", NULL, 400, T_JSON, "limit",
     -1, NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"unknown path is 404", "GET", "/nope", "", NULL, 404, T_JSON,
     "no such endpoint: /nope", -1, NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"root is 404", "GET", "/", "", NULL, 404, T_JSON, "no such endpoint", -1,
     NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"trailing slash is another path", "GET", "/rules/", "", NULL, 404, T_JSON,
     "no such endpoint", -1, NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"unknown path with odd bytes gives valid JSON", "GET", "/x%22%5C%01%FF%0A",
     "", NULL, 404, T_JSON, "no such endpoint", -1, NULL, CHK_NONE, 0, NULL,
     NULL, 0},
    {"unknown path even with a valid token", "PUT", "/rules/x", AUTH, "{}", 404,
     T_JSON, "no such endpoint", -1, NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"DELETE /rules is 405", "DELETE", "/rules", AUTH, NULL, 405, T_JSON,
     "not allowed", -1, "GET, HEAD, PUT", CHK_NONE, 0, NULL, NULL, 0},
    {"GET /rules/reload is 405", "GET", "/rules/reload", "", NULL, 405, T_JSON,
     "not allowed", -1, "POST", CHK_NONE, 0, NULL, NULL, 0},
    {"PUT /rules/validate is 405", "PUT", "/rules/validate", AUTH, "{}", 405,
     T_JSON, "not allowed", -1, "POST", CHK_NONE, 0, NULL, NULL, 0},
    {"POST /healthz is 405", "POST", "/healthz", AUTH, "x", 405, T_JSON,
     "not allowed", -1, "GET, HEAD", CHK_NONE, 0, NULL, NULL, 0},
    {"PUT /anomalies is 405", "PUT", "/anomalies", AUTH, "x", 405, T_JSON,
     "not allowed", -1, "GET, HEAD", CHK_NONE, 0, NULL, NULL, 0},
    {"OPTIONS /metrics is 405", "OPTIONS", "/metrics", "", NULL, 405, T_JSON,
     "not allowed", -1, "GET, HEAD", CHK_NONE, 0, NULL, NULL, 0},
    {"lower-case get is another method", "get", "/stats", "", NULL, 405, T_JSON,
     "not allowed", -1, "GET, HEAD", CHK_NONE, 0, NULL, NULL, 0},
    {"put without a token is 401", "PUT", "/rules", "", "{}", 401, T_JSON,
     "bearer token", -1, NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"post with a wrong token is 401", "POST", "/rules/validate",
     "Authorization: Bearer s3cret-tokeX\r\n", "{}", 401, T_JSON,
     "bearer token", -1, NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"a prefix of the token is 401", "POST", "/rules/reload",
     "Authorization: Bearer s3cret\r\n", NULL, 401, T_JSON, "bearer token", -1,
     NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"the token plus more is 401", "POST", "/rules/reload",
     "Authorization: Bearer " TOKEN TOKEN "\r\n", NULL, 401, T_JSON,
     "bearer token", -1, NULL, CHK_NONE, 0, NULL, NULL, 0},
    {"an empty bearer is 401", "POST", "/rules/reload",
     "Authorization: Bearer\r\n", NULL, 401, T_JSON, "bearer token", -1, NULL,
     CHK_NONE, 0, NULL, NULL, 0},
    {"basic auth with the token is 401", "PUT", "/rules",
     "Authorization: Basic " TOKEN "\r\n", "{}", 401, T_JSON, "bearer token",
     -1, NULL, CHK_NONE, 0, NULL, NULL, 0},
};

static void run_ep_case(int port, const struct ep_case *c)
{
    struct resp r;
    char v[256];
    int i;

    fake_reset();
    http(port, c->method, c->target, c->headers, c->body,
         c->body ? strlen(c->body) : 0, &r);
    if (r.status != c->status)
        fail_msg("%s: status %d, expected %d: %s", c->name, r.status, c->status,
                 r.raw);
    assert_non_null(resp_header(&r, "Content-Type", v, sizeof(v)));
    assert_string_equal(v, c->type);
    assert_non_null(r.body);
    if (!strstr(r.body, c->body_has))
        fail_msg("%s: body lacks \"%s\": %s", c->name, c->body_has, r.body);
    if (c->allow) {
        assert_non_null(resp_header(&r, "Allow", v, sizeof(v)));
        assert_string_equal(v, c->allow);
    } else {
        assert_null(resp_header(&r, "Allow", v, sizeof(v)));
    }
    if (c->status == 401) {
        assert_non_null(resp_header(&r, "WWW-Authenticate", v, sizeof(v)));
        assert_int_equal(strncmp(v, "Bearer", 6), 0);
    }
    if (c->status >= 400 && c->cb < 0)
        assert_json_error(&r);
    for (i = 0; i < CB_N; i++)
        if (fake_calls((enum cb)i) != (i == c->cb))
            fail_msg("%s: callback %d called %d times", c->name, i,
                     fake_calls((enum cb)i));
    if (c->check == CHK_PUT) {
        assert_int_equal(fk.apply, c->apply);
        assert_int_equal(fk.body_null, 0);
        assert_int_equal(fk.len, strlen(c->body));
        assert_string_equal(fk.body, c->body);
    } else if (c->check == CHK_ANOM) {
        assert_int_equal(fk.has_reason, c->reason != NULL);
        assert_int_equal(fk.has_q, c->q != NULL);
        if (c->reason)
            assert_string_equal(fk.reason, c->reason);
        if (c->q)
            assert_string_equal(fk.q, c->q);
        assert_int_equal(fk.limit, c->limit);
    }
    resp_free(&r);
}

static void test_endpoints_route_to_their_callbacks(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(ep_cases) / sizeof(ep_cases[0]); i++)
        run_ep_case(admin_port(srv), &ep_cases[i]);
}

/* ---- GET /anomalies: where it looks and over which times ------------- */

#define AGO   (-1000)         /* scan_case.since: about 2 h before now */
#define T_DAY 1764633600000LL /* 2025-12-02T00:00:00Z */

struct scan_case {
    const char *name;
    const char *target;
    int status;
    const char *body_has; /* 400: in the error */
    admin_anom_source_t source;
    int64_t since, until; /* -1: open; AGO: now - 2 h, about */
};

static const struct scan_case scan_cases[] = {
    {"nothing said: the ring", "/anomalies?reason=x", 200, "", ADMIN_ANOM_RING,
     -1, -1},
    {"scan=ring: the ring", "/anomalies?scan=ring", 200, "", ADMIN_ANOM_RING,
     -1, -1},
    {"scan= empty: the ring", "/anomalies?scan=&since=&until=", 200, "",
     ADMIN_ANOM_RING, -1, -1},
    {"scan=topic: the whole topic", "/anomalies?scan=topic&q=k", 200, "",
     ADMIN_ANOM_TOPIC, -1, -1},
    {"since alone means the topic", "/anomalies?since=2025-12-02", 200, "",
     ADMIN_ANOM_TOPIC, T_DAY, -1},
    {"until alone means the topic", "/anomalies?until=2025-12-02T00:00:01.5Z",
     200, "", ADMIN_ANOM_TOPIC, -1, T_DAY + 1500},
    {"epoch seconds and milliseconds",
     "/anomalies?since=1764633600&until="
     "1764633600001&scan=topic",
     200, "", ADMIN_ANOM_TOPIC, T_DAY, T_DAY + 1},
    {"an age counts back from now", "/anomalies?since=2h", 200, "",
     ADMIN_ANOM_TOPIC, AGO, -1},
    {"since equal to until is one instant",
     "/anomalies?since=1764633600000"
     "&until=2025-12-02T00:00:00Z",
     200, "", ADMIN_ANOM_TOPIC, T_DAY, T_DAY},
    {"scan=all is refused", "/anomalies?scan=all", 400,
     "scan: expected ring or topic, not \\\"all\\\"", ADMIN_ANOM_RING, -1, -1},
    {"scan=TOPIC is refused (exact words)", "/anomalies?scan=TOPIC", 400,
     "scan: expected ring or topic", ADMIN_ANOM_RING, -1, -1},
    {"since=tomorrow is refused", "/anomalies?since=tomorrow", 400,
     "since: \\\"tomorrow\\\" is not a time", ADMIN_ANOM_RING, -1, -1},
    {"until=2h30m is refused", "/anomalies?until=2h30m", 400,
     "until: \\\"2h30m\\\" is not a time", ADMIN_ANOM_RING, -1, -1},
    {"since=-5 is refused", "/anomalies?since=-5", 400,
     "since: ", ADMIN_ANOM_RING, -1, -1},
    {"a bad date is refused", "/anomalies?since=2025-13-45", 400,
     "since: ", ADMIN_ANOM_RING, -1, -1},
    {"a time before 1970 is refused", "/anomalies?since=1012-12-02T10:00:00Z",
     400, "since: \\\"1012-12-02T10:00:00Z\\\" is not a time", ADMIN_ANOM_RING,
     -1, -1},
    {"an age before 1970 is refused", "/anomalies?until=30000000d", 400,
     "until: ", ADMIN_ANOM_RING, -1, -1},
    {"an age past int64 is refused", "/anomalies?until=1764000000000000d", 400,
     "until: ", ADMIN_ANOM_RING, -1, -1},
    {"odd bytes in a bad time give valid JSON", "/anomalies?until=%22%5C%01%FF",
     400, "until: ", ADMIN_ANOM_RING, -1, -1},
    {"scan=ring with since is refused", "/anomalies?scan=ring&since=1h", 400,
     "since: the ring has no time range", ADMIN_ANOM_RING, -1, -1},
    {"scan=ring with until is refused", "/anomalies?until=1h&scan=ring", 400,
     "until: the ring has no time range", ADMIN_ANOM_RING, -1, -1},
    {"since after until is refused",
     "/anomalies?since=2025-12-03&until="
     "2025-12-02",
     400, "since: later than until", ADMIN_ANOM_RING, -1, -1},
    {"a bad limit is still refused first", "/anomalies?limit=0&since=x", 400,
     "limit: ", ADMIN_ANOM_RING, -1, -1},
};

static void run_scan_case(int port, const struct scan_case *c)
{
    int64_t now = (int64_t)time(NULL) * 1000;
    struct resp r;

    fake_reset();
    http(port, "GET", c->target, "", NULL, 0, &r);
    if (r.status != c->status)
        fail_msg("%s: status %d, expected %d: %s", c->name, r.status, c->status,
                 r.raw);
    if (!strstr(r.body, c->body_has))
        fail_msg("%s: body lacks \"%s\": %s", c->name, c->body_has, r.body);
    if (c->status == 400) {
        assert_json_error(&r);
        if (fake_calls(CB_ANOMALIES) != 0)
            fail_msg("%s: the callback was called", c->name);
        resp_free(&r);
        return;
    }
    if (fake_calls(CB_ANOMALIES) != 1)
        fail_msg("%s: callback called %d times", c->name,
                 fake_calls(CB_ANOMALIES));
    if (fk.source != c->source)
        fail_msg("%s: source %d, expected %d", c->name, (int)fk.source,
                 (int)c->source);
    if (c->since == AGO) {
        /* Two hours before a now read around the request: bounds that
         * hold however long the request took. */
        if (fk.since_ms < now - 7200000 - 600000 ||
            fk.since_ms > (int64_t)time(NULL) * 1000 - 7200000 + 1000)
            fail_msg("%s: since %lld, expected about %lld", c->name,
                     (long long)fk.since_ms, (long long)(now - 7200000));
    } else if (fk.since_ms != c->since) {
        fail_msg("%s: since %lld, expected %lld", c->name,
                 (long long)fk.since_ms, (long long)c->since);
    }
    if (fk.until_ms != c->until)
        fail_msg("%s: until %lld, expected %lld", c->name,
                 (long long)fk.until_ms, (long long)c->until);
    resp_free(&r);
}

static void test_anomalies_scan_since_until_parsed_or_400(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(scan_cases) / sizeof(scan_cases[0]); i++)
        run_scan_case(admin_port(srv), &scan_cases[i]);
}

/* Without a token, PUT and POST are open; errors are the same. */
static void test_no_token_leaves_mutations_open(void **state)
{
    struct resp r;

    (void)state;
    http(admin_port(srv_open), "PUT", "/rules", "", "{}", 2, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(fake_calls(CB_RULES_PUT), 1);
    assert_int_equal(fk.apply, 1);
    resp_free(&r);
    http(admin_port(srv_open), "POST", "/rules/reload",
         "Authorization: Bearer whatever\r\n", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(fake_calls(CB_RELOAD), 1);
    resp_free(&r);
}

static void test_unhealthy_is_503_with_the_reason(void **state)
{
    struct resp r;

    (void)state;
    fk.unhealthy = 1;
    http(admin_port(srv), "GET", "/healthz", "", NULL, 0, &r);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "broker down"));
    resp_free(&r);
}

static void test_head_sends_headers_without_body(void **state)
{
    struct resp r;
    char v[256];

    (void)state;
    http(admin_port(srv), "HEAD", "/metrics", "", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(resp_header(&r, "Content-Type", v, sizeof(v)));
    assert_string_equal(v, T_METRICS);
    assert_non_null(resp_header(&r, "Content-Length", v, sizeof(v)));
    assert_int_equal(atoi(v), strlen("router_messages_in_total 42\n"));
    assert_int_equal(r.body_len, 0);
    assert_int_equal(fake_calls(CB_METRICS), 1);
    resp_free(&r);
    http(admin_port(srv), "HEAD", "/rules/reload", "", NULL, 0, &r);
    assert_int_equal(r.status, 405);
    assert_int_equal(r.body_len, 0);
    assert_int_equal(fake_calls(CB_RELOAD), 0);
    resp_free(&r);
}

/* A callback that replies nonsense gets a 500, and its body is freed. */
static void test_bad_callback_status_is_500(void **state)
{
    struct resp r;

    (void)state;
    fk.bad_status = 1;
    http(admin_port(srv), "GET", "/stats", "", NULL, 0, &r);
    assert_int_equal(r.status, 500);
    assert_json_error(&r);
    assert_int_equal(fake_calls(CB_STATS), 1);
    resp_free(&r);
}

static void test_missing_callback_is_501(void **state)
{
    admin_ops_t ops = {.opaque = &fk, .health = fake_health};
    char err[256];
    admin_t *a;
    struct resp r;

    (void)state;
    a = admin_start("127.0.0.1:0", NULL, BODY_MAX, &ops, err, sizeof(err));
    assert_non_null(a);
    http(admin_port(a), "GET", "/stats", "", NULL, 0, &r);
    assert_int_equal(r.status, 501);
    assert_json_error(&r);
    resp_free(&r);
    http(admin_port(a), "GET", "/healthz", "", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    admin_stop(a);
}

/* ---- body limit ------------------------------------------------------ */

/* Content-Length over the limit: 413 at once, the body is never sent. */
static void test_content_length_over_limit_is_413_up_front(void **state)
{
    static const char *const lens[] = {"1025", "8388608",
                                       "99999999999999999999999"};
    char req[512];
    struct resp r;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        snprintf(req, sizeof(req),
                 "PUT /rules HTTP/1.1\r\nHost: t\r\n" AUTH
                 "Content-Length: %s\r\n\r\n",
                 lens[i]);
        http_raw(admin_port(srv), req, strlen(req), &r);
        assert_int_equal(r.timed_out, 0);
        if (r.status != 413)
            fail_msg("Content-Length %s: %s", lens[i], r.raw);
        /* ours is JSON; past 2^64 libmicrohttpd answers itself */
        if (i < 2)
            assert_json_error(&r);
        resp_free(&r);
    }
    /* "Expect: 100-continue" must not get its 100 Continue first */
    snprintf(req, sizeof(req),
             "POST /rules/validate HTTP/1.1\r\nHost: t\r\n" AUTH
             "Expect: 100-continue\r\nContent-Length: 5000\r\n\r\n");
    http_raw(admin_port(srv), req, strlen(req), &r);
    assert_int_equal(r.status, 413);
    resp_free(&r);
    assert_int_equal(fake_total(), 0);
}

/* Send len bytes of 'a'..'z' as chunks of chunk bytes. */
static void send_chunked(int port, size_t len, size_t chunk, struct resp *r)
{
    char *req = malloc(len * 2 + 4096), *p;
    size_t i, n;
    int fd;

    assert_non_null(req);
    p = req + sprintf(req, "PUT /rules HTTP/1.1\r\nHost: t\r\n" AUTH
                           "Connection: close\r\nTransfer-Encoding: chunked"
                           "\r\n\r\n");
    for (i = 0; i < len; i += n) {
        n = len - i < chunk ? len - i : chunk;
        p += sprintf(p, "%zx\r\n", n);
        for (size_t j = 0; j < n; j++)
            *p++ = (char)('a' + (i + j) % 26);
        p += sprintf(p, "\r\n");
    }
    p += sprintf(p, "0\r\n\r\n");
    fd = cli_connect(port);
    (void)cli_send(fd, req, (size_t)(p - req));
    cli_read(fd, r);
    cli_close(fd, 1);
    free(req);
}

static void assert_pattern_body(size_t len)
{
    size_t i;

    assert_int_equal(fake_calls(CB_RULES_PUT), 1);
    assert_int_equal(fk.len, len);
    for (i = 0; i < len && i < BODY_KEEP; i++)
        assert_int_equal(fk.body[i], 'a' + i % 26);
}

struct limit_case {
    size_t len;
    size_t chunk; /* 0: Content-Length */
    int status;
};

static const struct limit_case limit_cases[] = {
    {0, 0, 200},          {1023, 0, 200},
    {BODY_MAX, 0, 200},   {1025, 0, 413},
    {1, 1, 200},          {600, 300, 200},
    {BODY_MAX, 100, 200}, {BODY_MAX, BODY_MAX, 200},
    {1025, 100, 413},     {1025, 1025, 413},
    {3 * 512, 512, 413},  {100000, 4000, 413},
};

static void test_body_limit_at_and_over(void **state)
{
    struct resp r;
    size_t i, j;
    char *body;

    (void)state;
    for (i = 0; i < sizeof(limit_cases) / sizeof(limit_cases[0]); i++) {
        const struct limit_case *c = &limit_cases[i];

        fake_reset();
        if (c->chunk) {
            send_chunked(admin_port(srv), c->len, c->chunk, &r);
        } else {
            body = malloc(c->len + 1);
            assert_non_null(body);
            for (j = 0; j < c->len; j++)
                body[j] = (char)('a' + j % 26);
            http(admin_port(srv), "PUT", "/rules", AUTH, body, c->len, &r);
            free(body);
        }
        if (r.status != c->status)
            fail_msg("%zu bytes in chunks of %zu: %d, expected %d", c->len,
                     c->chunk, r.status, c->status);
        if (c->status == 200) {
            assert_pattern_body(c->len);
        } else {
            assert_json_error(&r);
            assert_int_equal(fake_total(), 0);
        }
        resp_free(&r);
    }
}

/* An empty PUT body reaches the callback (it decides what that means). */
static void test_empty_put_body_is_passed_through(void **state)
{
    struct resp r;

    (void)state;
    http(admin_port(srv), "PUT", "/rules", AUTH, "", 0, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(fake_calls(CB_RULES_PUT), 1);
    assert_int_equal(fk.len, 0);
    assert_int_equal(fk.body_null, 0);
    assert_string_equal(fk.body, "");
    resp_free(&r);
    /* and without any Content-Length at all */
    http(admin_port(srv), "POST", "/rules/validate", AUTH, NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(fake_calls(CB_RULES_PUT), 2);
    assert_int_equal(fk.len, 0);
    assert_int_equal(fk.apply, 0);
    resp_free(&r);
}

/* A GET with a body over the limit is refused too. */
static void test_get_with_large_body_is_413(void **state)
{
    char body[BODY_MAX + 1];
    struct resp r;

    (void)state;
    memset(body, 'x', sizeof(body));
    http(admin_port(srv), "GET", "/stats", "", body, sizeof(body), &r);
    assert_int_equal(r.status, 413);
    assert_int_equal(fake_total(), 0);
    resp_free(&r);
    http(admin_port(srv), "GET", "/stats", "", body, 10, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

/* ---- malformed requests and connections ------------------------------ */

/* Broken HTTP is libmicrohttpd's business: it answers (status, or 0 for
 * "any 4xx or a plain close"), and the endpoints are never reached. */
static const struct {
    const char *req;
    int status;
} malformed[] = {
    {"GARBAGE\r\n\r\n", 0},
    {"GET\r\n\r\n", 0},
    {"\x01\x02\x03\xff\r\n\r\n", 0},
    {"GET /healthz HTTP/1.1\r\n\r\n", 400}, /* no Host */
    {"GET /healthz HTTP/9.9\r\nHost: t\r\n\r\n", 505},
    {"PUT /rules HTTP/1.1\r\nHost: t\r\n" AUTH "Content-Length: abc\r\n\r\n",
     400},
    {"PUT /rules HTTP/1.1\r\nHost: t\r\n" AUTH
     "Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
     400},
    {"GET /healthz HTTP/1.1\r\nHost: t\r\nNoColonHere\r\n\r\n", 400},
};

static void test_malformed_requests_get_4xx(void **state)
{
    struct resp r;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        http_raw(admin_port(srv), malformed[i].req, strlen(malformed[i].req),
                 &r);
        if (r.timed_out ||
            (malformed[i].status && r.status != malformed[i].status) ||
            (!malformed[i].status && r.len > 0 &&
             (r.status < 400 || r.status > 499)))
            fail_msg("request %zu: %s", i, r.raw);
        resp_free(&r);
    }
    assert_int_equal(fake_total(), 0);
    http(admin_port(srv), "GET", "/healthz", "", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

/* Two requests on one kept-alive connection are both answered. */
static void test_keep_alive_serves_pipelined_requests(void **state)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"
                              "GET /stats HTTP/1.1\r\nHost: t\r\n"
                              "Connection: close\r\n\r\n";
    struct resp r;

    (void)state;
    http_raw(admin_port(srv), req, sizeof(req) - 1, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "HTTP/1.1 200"));
    assert_non_null(strstr(r.body, "messages_in"));
    assert_int_equal(fake_calls(CB_HEALTH), 1);
    assert_int_equal(fake_calls(CB_STATS), 1);
    resp_free(&r);
}

struct worker {
    int port;
    int ok;
};

static void *client_thread(void *arg)
{
    struct worker *w = arg;
    struct resp r;
    int i;

    for (i = 0; i < 50; i++) {
        http(w->port, "GET", "/stats", "", NULL, 0, &r);
        w->ok += r.status == 200 && strstr(r.body, "messages_in") != NULL;
        resp_free(&r);
    }
    return NULL;
}

static void test_concurrent_clients_are_all_served(void **state)
{
    struct worker w[4];
    pthread_t t[4];
    int i;

    (void)state;
    for (i = 0; i < 4; i++) {
        w[i].port = admin_port(srv);
        w[i].ok = 0;
        assert_int_equal(pthread_create(&t[i], NULL, client_thread, &w[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].ok, 50);
    }
    assert_int_equal(fake_calls(CB_STATS), 200);
}

/* ---- garbage storm --------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return n ? (uint32_t)(rng_state % n) : 0;
}

static const char *const storm_methods[] = {
    "GET",
    "HEAD",
    "PUT",
    "POST",
    "DELETE",
    "OPTIONS",
    "PATCH",
    "get",
    "G\x01T",
    "",
    "CONNECT",
    "TRACE",
    "XXXXXXXXXXXXXXXXXXXXXXXXXXXX",
};

static const char *const storm_paths[] = {
    "/healthz",
    "/metrics",
    "/stats",
    "/rules",
    "/rules/reload",
    "/rules/validate",
    "/anomalies",
    "/anomalies?limit=",
    "/anomalies?limit=0",
    "/anomalies?limit=5&q=%zz&reason=%",
    "/anomalies?q=%00&limit=10000",
    "/",
    "*",
    "",
    "//rules",
    "/rules/../x",
    "/%",
    "/%%%",
    "http://h/healthz",
    "/healthz?&&==&",
    "/rules?x=1",
};

static const char *const storm_headers[] = {
    "Host: t\r\n",
    AUTH,
    "Authorization: Bearer x\r\n",
    "Authorization: Bearer\r\n",
    "Content-Length: 10\r\n",
    "Content-Length: 0\r\n",
    "Content-Length: -1\r\n",
    "Content-Length: 99999999999\r\n",
    "Content-Length: 1 1\r\n",
    "Transfer-Encoding: chunked\r\n",
    "Transfer-Encoding: gzip\r\n",
    "Expect: 100-continue\r\n",
    "Connection: close\r\n",
    "Connection: keep-alive\r\n",
    "X: \x01\x02\r\n",
    ": empty\r\n",
    "Bad header\r\n",
    "Host:\r\n",
    " folded\r\n",
};

static const char *const storm_bodies[] = {
    "",
    "{\"routes\": [",
    "{\"routes\": []}",
    "5\r\nhello\r\n0\r\n\r\n",
    "ffffffffffffffff\r\nx",
    "3\r\nab",
    "bad",
    "0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
};

#define STORM_REQ_MAX 4096

#define NELEM(x) (sizeof(x) / sizeof((x)[0]))

/* One random request in buf; returns its length. Half of them are sane
 * (a known method and path, Host, maybe the token, an exact body), the
 * rest are anything, truncated or with flipped bytes. */
static size_t storm_request(char *buf)
{
    size_t n = 0, i, k;
    int sane = (int)rnd(2);
    const char *b;

    if (rnd(8) == 0) { /* pure noise */
        k = rnd(600);
        for (i = 0; i < k; i++)
            buf[n++] = (char)rnd(256);
        return n;
    }
    n = (size_t)sprintf(buf, "%s %s %s\r\n",
                        storm_methods[rnd(sane ? 4 : NELEM(storm_methods))],
                        storm_paths[rnd(sane ? 11 : NELEM(storm_paths))],
                        sane || rnd(6) ? "HTTP/1.1"
                                       : (rnd(2) ? "HTTP/1.0" : "HTTP/x"));
    if (sane || rnd(4))
        n += (size_t)sprintf(buf + n, "Host: t\r\n");
    for (k = rnd(sane ? 2 : 5); k > 0; k--)
        n += (size_t)sprintf(
            buf + n, "%s", storm_headers[rnd(sane ? 4 : NELEM(storm_headers))]);
    b = storm_bodies[rnd(NELEM(storm_bodies))];
    if (sane)
        n += (size_t)sprintf(buf + n, "Content-Length: %zu\r\n\r\n%s",
                             strlen(b), b);
    else if (rnd(3) == 0)
        n += (size_t)sprintf(buf + n, "Content-Length: %zu\r\n\r\n%s",
                             strlen(b) + rnd(3) - 1, b);
    else
        n += (size_t)sprintf(buf + n, "\r\n%s", b);
    if (sane)
        return n;
    if (rnd(5) == 0)
        n = rnd((uint32_t)n + 1); /* truncated */
    for (k = rnd(4) == 0 ? rnd(4) + 1 : 0; k > 0 && n > 0; k--)
        buf[rnd((uint32_t)n)] = (char)rnd(256); /* flipped bytes */
    return n;
}

static void test_garbage_storm_keeps_serving(void **state)
{
    char *buf = malloc(STORM_REQ_MAX);
    int status_seen[6] = {0}; /* by hundreds; [0]: no reply */
    struct resp r;
    int i, fd, port = admin_port(srv);

    (void)state;
    assert_non_null(buf);
    for (i = 0; i < 10000; i++) {
        size_t n = storm_request(buf);
        int mode = (int)rnd(10);

        fd = cli_connect(port);
        if (mode == 0) { /* connect and go */
            cli_close(fd, 1);
            continue;
        }
        (void)cli_send(fd, buf, n);
        if (mode == 1) { /* send and reset */
            cli_close(fd, 1);
            continue;
        }
        /* half-close so the server sees the end, then read it all */
        (void)shutdown(fd, SHUT_WR);
        cli_read(fd, &r);
        if (r.timed_out)
            fail_msg("request %d: no answer and no close", i);
        if (r.len > 0 && strncmp(r.raw, "HTTP/1.", 7) != 0)
            fail_msg("request %d: not HTTP: %.40s", i, r.raw);
        if (r.status >= 100 && r.status < 600)
            status_seen[r.status / 100]++;
        else
            status_seen[0]++;
        resp_free(&r);
        cli_close(fd, 1);
    }
    free(buf);
    /* the storm reached the endpoints, and errors of every kind */
    assert_true(status_seen[2] > 800);
    assert_true(status_seen[4] > 2000);
    assert_true(fake_total() > 800);
    fake_reset();
    http(port, "GET", "/healthz", "", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok\n");
    assert_int_equal(fake_calls(CB_HEALTH), 1);
    resp_free(&r);
    http(port, "PUT", "/rules", AUTH, "{}", 2, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
}

/* ---- start and stop -------------------------------------------------- */

static void test_port_in_use_is_a_clear_error(void **state)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    char addr[64], err[256];
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    (void)state;
    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", ntohs(sa.sin_port));
    err[0] = '\0';
    assert_null(admin_start(addr, NULL, BODY_MAX, &fake_ops, err, sizeof(err)));
    assert_int_equal(strncmp(err, addr, strlen(addr)), 0);
    if (!strstr(err, "Address already in use"))
        fail_msg("errstr: %s", err);
    assert_int_equal(close(fd), 0);
}

static void test_bad_addresses_are_named(void **state)
{
    static const char *const bad[] = {
        "",
        "127.0.0.1",
        "127.0.0.1:",
        ":8080",
        "localhost:8080",
        "127.0.0.1:65536",
        "127.0.0.1:80x",
        "::1:8080",
        "[::1]8080",
        "[::1]:",
        "[::1:80",
        "256.0.0.1:80",
        "1.2.3.4:-1",
        "1.2.3.4: 80",
        "[127.0.0.1]:80",
        "off",
    };
    char err[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (admin_start(bad[i], NULL, BODY_MAX, &fake_ops, err, sizeof(err)))
            fail_msg("\"%s\" was accepted", bad[i]);
        assert_int_equal(strncmp(err, bad[i], strlen(bad[i])), 0);
        assert_non_null(strstr(err, "IPV4:PORT"));
    }
}

static void test_ipv6_loopback_works_when_available(void **state)
{
    struct sockaddr_in6 sa;
    char err[256], req[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n"
                           "Connection: close\r\n\r\n";
    char buf[512];
    admin_t *a;
    ssize_t k;
    size_t n = 0;
    int fd = socket(AF_INET6, SOCK_STREAM, 0);

    (void)state;
    memset(&sa, 0, sizeof(sa));
    sa.sin6_family = AF_INET6;
    sa.sin6_addr = in6addr_loopback;
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (fd >= 0)
            close(fd);
        skip();
    }
    assert_int_equal(close(fd), 0);
    a = admin_start("[::1]:0", NULL, BODY_MAX, &fake_ops, err, sizeof(err));
    if (!a)
        fail_msg("[::1]:0: %s", err);
    assert_true(admin_port(a) > 0);
    fd = socket(AF_INET6, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    sa.sin6_port = htons((uint16_t)admin_port(a));
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(cli_send(fd, req, strlen(req)), 0);
    while ((k = recv(fd, buf + n, sizeof(buf) - 1 - n, 0)) > 0)
        n += (size_t)k;
    buf[n] = '\0';
    assert_int_equal(strncmp(buf, "HTTP/1.1 200", 12), 0);
    assert_int_equal(close(fd), 0);
    admin_stop(a);
}

static void test_bad_tokens_are_refused(void **state)
{
    static const char *const bad[] = {"", "has space", "newline\n", "tab\there",
                                      "\x7f"};
    char err[256];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        assert_null(admin_start("127.0.0.1:0", bad[i], BODY_MAX, &fake_ops, err,
                                sizeof(err)));
        assert_int_equal(strncmp(err, "admin token: ", 13), 0);
    }
}

static void test_start_reports_port_and_stop_accepts_null(void **state)
{
    char err[256];
    admin_t *a;
    struct resp r;

    (void)state;
    assert_null(admin_start(NULL, NULL, BODY_MAX, &fake_ops, err, sizeof(err)));
    assert_null(
        admin_start("127.0.0.1:0", NULL, BODY_MAX, NULL, err, sizeof(err)));
    a = admin_start("127.0.0.1:0", NULL, BODY_MAX, &fake_ops, err, sizeof(err));
    assert_non_null(a);
    assert_true(admin_port(a) > 0 && admin_port(a) < 65536);
    assert_int_not_equal(admin_port(a), admin_port(srv));
    http(admin_port(a), "GET", "/healthz", "", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    resp_free(&r);
    admin_stop(a);
    admin_stop(NULL);
    assert_int_equal(admin_port(NULL), -1);
}

/* Stop while a client holds a half-sent request: no leak, no hang. */
static void test_stop_with_a_request_in_flight(void **state)
{
    static const char req[] = "PUT /rules HTTP/1.1\r\nHost: t\r\n"
                              "Content-Length: 100\r\n\r\n{\"rou";
    char err[256];
    admin_t *a;
    int fd;

    (void)state;
    a = admin_start("127.0.0.1:0", NULL, BODY_MAX, &fake_ops, err, sizeof(err));
    assert_non_null(a);
    fd = cli_connect(admin_port(a));
    assert_int_equal(cli_send(fd, req, sizeof(req) - 1), 0);
    usleep(50000);
    admin_stop(a);
    cli_close(fd, 1);
    assert_int_equal(fake_total(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_endpoints_route_to_their_callbacks,
                               test_setup),
        cmocka_unit_test_setup(test_anomalies_scan_since_until_parsed_or_400,
                               test_setup),
        cmocka_unit_test_setup(test_no_token_leaves_mutations_open, test_setup),
        cmocka_unit_test_setup(test_unhealthy_is_503_with_the_reason,
                               test_setup),
        cmocka_unit_test_setup(test_head_sends_headers_without_body,
                               test_setup),
        cmocka_unit_test_setup(test_bad_callback_status_is_500, test_setup),
        cmocka_unit_test_setup(test_missing_callback_is_501, test_setup),
        cmocka_unit_test_setup(test_content_length_over_limit_is_413_up_front,
                               test_setup),
        cmocka_unit_test_setup(test_body_limit_at_and_over, test_setup),
        cmocka_unit_test_setup(test_empty_put_body_is_passed_through,
                               test_setup),
        cmocka_unit_test_setup(test_get_with_large_body_is_413, test_setup),
        cmocka_unit_test_setup(test_malformed_requests_get_4xx, test_setup),
        cmocka_unit_test_setup(test_keep_alive_serves_pipelined_requests,
                               test_setup),
        cmocka_unit_test_setup(test_concurrent_clients_are_all_served,
                               test_setup),
        cmocka_unit_test_setup(test_garbage_storm_keeps_serving, test_setup),
        cmocka_unit_test_setup(test_port_in_use_is_a_clear_error, test_setup),
        cmocka_unit_test_setup(test_bad_addresses_are_named, test_setup),
        cmocka_unit_test_setup(test_ipv6_loopback_works_when_available,
                               test_setup),
        cmocka_unit_test_setup(test_bad_tokens_are_refused, test_setup),
        cmocka_unit_test_setup(test_start_reports_port_and_stop_accepts_null,
                               test_setup),
        cmocka_unit_test_setup(test_stop_with_a_request_in_flight, test_setup),
    };

    log_set_level(LOG_ERROR); /* libmicrohttpd's complaints about garbage */
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
