/* fuzz_admin.c - libFuzzer target: arbitrary bytes as a raw HTTP request
 * to the admin endpoint over loopback; the reply must be HTTP or nothing,
 * and the callbacks must only ever see arguments within the contract. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "admin.h"
#include "log.h"

#define FUZZ_TOKEN    "fuzz-token"
#define FUZZ_BODY_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static admin_t *adm;

static void fuzz_reply(admin_reply_t *r, int status, const char *body)
{
    r->status = status;
    r->body = strdup(body);
    if (!r->body)
        abort();
}

static void fuzz_get(void *opaque, admin_reply_t *r)
{
    (void)opaque;
    fuzz_reply(r, 200, "{}\n");
}

static void fuzz_rules_put(void *opaque, const char *body, size_t len,
                           int apply, admin_reply_t *r)
{
    (void)opaque;
    if (!body || len > FUZZ_BODY_MAX || body[len] != '\0' ||
        (apply != 0 && apply != 1))
        abort();
    fuzz_reply(r, len % 2 ? 400 : 200, "{\"error\": \"x\"}\n");
}

static void fuzz_anomalies(void *opaque, const admin_anom_query_t *aq,
                           admin_reply_t *r)
{
    (void)opaque;
    if (aq->limit < 1 || aq->limit > ADMIN_LIMIT_MAX ||
        (aq->reason && !*aq->reason) || (aq->q && !*aq->q) ||
        (aq->source != ADMIN_ANOM_RING && aq->source != ADMIN_ANOM_TOPIC) ||
        (aq->source == ADMIN_ANOM_RING &&
         (aq->since_ms != -1 || aq->until_ms != -1)) ||
        aq->since_ms < -1 || aq->until_ms < -1 ||
        (aq->since_ms >= 0 && aq->until_ms >= 0 && aq->since_ms > aq->until_ms))
        abort();
    fuzz_reply(r, 200, "[]\n");
}

static const admin_ops_t fuzz_ops = {
    .health = fuzz_get,
    .metrics = fuzz_get,
    .stats = fuzz_get,
    .rules_get = fuzz_get,
    .rules_put = fuzz_rules_put,
    .rules_reload = fuzz_get,
    .anomalies = fuzz_anomalies,
};

static void fuzz_init(void)
{
    char err[256];

    log_set_level(LOG_ERROR);
    adm = admin_start("127.0.0.1:0", FUZZ_TOKEN, FUZZ_BODY_MAX, &fuzz_ops, err,
                      sizeof(err));
    if (!adm) {
        fprintf(stderr, "fuzz_admin: %s\n", err);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char reply[1 << 16], sink[1 << 16];
    struct sockaddr_in sa;
    struct timeval tv = {5, 0};
    struct linger lg = {1, 0};
    size_t got = 0, off = 0;
    ssize_t k;
    int fd, tries;

    if (!adm)
        fuzz_init();
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) != 0)
        abort();
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)admin_port(adm));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Tens of thousands of connections a minute can run out of local
     * ports (EADDRNOTAVAIL) while the server's side waits in TIME_WAIT:
     * that is the machine, not the server; wait and retry. */
    for (tries = 0; connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0;
         tries++) {
        if ((errno != EADDRNOTAVAIL && errno != EAGAIN && errno != EINTR) ||
            tries == 500) {
            fprintf(stderr, "fuzz_admin: connect: %s\n", strerror(errno));
            abort();
        }
        usleep(10000);
    }
    while (off < size) {
        k = send(fd, data + off, size - off, MSG_NOSIGNAL);
        if (k <= 0)
            break; /* the server may refuse early and close */
        off += (size_t)k;
    }
    if (shutdown(fd, SHUT_WR) != 0 && errno != ENOTCONN)
        abort();
    for (;;) {
        /* keep the head of the reply, drain the rest */
        if (got < sizeof(reply))
            k = recv(fd, reply + got, sizeof(reply) - got, 0);
        else
            k = recv(fd, sink, sizeof(sink), 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            fprintf(stderr, "fuzz_admin: no reply and no close in 5 s\n");
            abort();
        }
        if (k <= 0)
            break;
        if (got < sizeof(reply))
            got += (size_t)k;
    }
    if (got > 0 && got < 7 && memcmp(reply, "HTTP/1.", got) != 0)
        abort();
    if (got >= 7 && memcmp(reply, "HTTP/1.", 7) != 0)
        abort();
    if (close(fd) != 0)
        abort();
    return 0;
}
