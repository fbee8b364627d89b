/* bench_proc.c - child processes of the benchmark harness: spawn, line
 * reading, wait with rusage, /proc sampling and per-process TCP byte
 * counters (sock_diag). */
#include "bench.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t bench_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void bench_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

double bench_ru_cpu(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
           (double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
}

/* ---- spawning --------------------------------------------------------- */

/* In the child after fork: wire fd to target (or /dev/null when fd < 0). */
static void child_fd(int fd, int target, int flags)
{
    if (fd < 0)
        fd = open("/dev/null", flags);
    if (fd < 0 || dup2(fd, target) < 0)
        _exit(127);
}

int bench_spawn(bench_child_t *c, char *const argv[], int want_in, int want_out,
                int in_fd_dup, int out_fd_dup, const char *errlog, char *errstr,
                size_t errstr_size)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err_fd = -1;
    pid_t parent = getpid();

    memset(c, 0, sizeof(*c));
    c->in_fd = c->out_fd = -1;
    if ((want_in && pipe2(in, O_CLOEXEC) != 0) ||
        (want_out && pipe2(out, O_CLOEXEC) != 0)) {
        snprintf(errstr, errstr_size, "pipe: %s", strerror(errno));
        goto err;
    }
    if (errlog) {
        err_fd = open(errlog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (err_fd < 0) {
            snprintf(errstr, errstr_size, "%s: %s", errlog, strerror(errno));
            goto err;
        }
    }
    fflush(NULL);
    c->pid = fork();
    if (c->pid < 0) {
        snprintf(errstr, errstr_size, "fork: %s", strerror(errno));
        c->pid = 0;
        goto err;
    }
    if (c->pid == 0) {
        /* Die with the harness; never outlive it. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
            _exit(127);
        child_fd(want_in ? in[0] : in_fd_dup, STDIN_FILENO, O_RDONLY);
        child_fd(want_out ? out[1] : out_fd_dup, STDOUT_FILENO, O_WRONLY);
        if (err_fd >= 0 && dup2(err_fd, STDERR_FILENO) < 0)
            _exit(127);
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (err_fd >= 0)
        close(err_fd);
    if (want_in) {
        close(in[0]);
        c->in_fd = in[1];
    }
    if (want_out) {
        close(out[1]);
        c->out_fd = out[0];
    }
    return 0;
err:
    for (int i = 0; i < 2; i++) {
        if (in[i] >= 0)
            close(in[i]);
        if (out[i] >= 0)
            close(out[i]);
    }
    if (err_fd >= 0)
        close(err_fd);
    return -1;
}

int bench_child_readline(bench_child_t *c, char *line, size_t size,
                         int timeout_ms)
{
    double end = bench_now() + timeout_ms / 1000.0;

    if (c->out_fd < 0 || size == 0)
        return -1;
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->buflen);
        struct pollfd pfd = {c->out_fd, POLLIN, 0};
        double left;
        ssize_t r;

        if (nl) {
            size_t n = (size_t)(nl - c->buf);

            snprintf(line, size, "%.*s", (int)n, c->buf);
            memmove(c->buf, nl + 1, c->buflen - n - 1);
            c->buflen -= n + 1;
            return 0;
        }
        if (c->buflen == sizeof(c->buf))
            c->buflen = 0; /* an endless line: drop it */
        left = end - bench_now();
        if (left <= 0)
            return -1;
        if (poll(&pfd, 1, (int)(left * 1000) + 1) < 0 && errno != EINTR)
            return -1;
        if (!(pfd.revents & (POLLIN | POLLHUP)))
            continue;
        r = read(c->out_fd, c->buf + c->buflen, sizeof(c->buf) - c->buflen);
        if (r == 0)
            return -1;
        if (r < 0 && errno != EINTR && errno != EAGAIN)
            return -1;
        if (r > 0)
            c->buflen += (size_t)r;
    }
}

void bench_child_close_in(bench_child_t *c)
{
    if (c->in_fd >= 0) {
        close(c->in_fd);
        c->in_fd = -1;
    }
}

void bench_child_kill(bench_child_t *c, int sig)
{
    if (c->pid > 0)
        kill(c->pid, sig);
}

int bench_child_alive(bench_child_t *c)
{
    char path[64], buf[512], *p;
    FILE *f;
    size_t n;

    if (c->pid <= 0)
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)c->pid);
    f = fopen(path, "r");
    if (!f)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    return p && p[1] == ' ' && p[2] != 'Z';
}

/* waitpid with a deadline; 1 when reaped, 0 on timeout. */
static int reap(bench_child_t *c, double deadline)
{
    for (;;) {
        pid_t r = wait4(c->pid, &c->status, WNOHANG, &c->ru);

        if (r == c->pid || (r < 0 && errno == ECHILD)) {
            c->pid = 0;
            return 1;
        }
        if (bench_now() >= deadline)
            return 0;
        bench_sleep_ms(5);
    }
}

int bench_child_wait(bench_child_t *c, int timeout_ms)
{
    int clean = 1;

    if (c->pid > 0 && !reap(c, bench_now() + timeout_ms / 1000.0)) {
        clean = 0;
        kill(c->pid, SIGTERM);
        if (!reap(c, bench_now() + 5.0)) {
            kill(c->pid, SIGKILL);
            reap(c, bench_now() + 60.0);
        }
    }
    bench_child_close_in(c);
    if (c->out_fd >= 0) {
        close(c->out_fd);
        c->out_fd = -1;
    }
    return clean && WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0 ? 0
                                                                        : -1;
}

/* ---- /proc ------------------------------------------------------------ */

int bench_proc_usage(pid_t pid, double *cpu_s, long *hwm_kb)
{
    char path[64], buf[1024], *p;
    unsigned long ut, st;
    long tck = sysconf(_SC_CLK_TCK);
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* After "pid (comm) ": state is field 3, utime 14, stime 15. */
    p = strrchr(buf, ')');
    if (!p || tck <= 0 ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &ut, &st) != 2)
        return -1;
    *cpu_s = (double)(ut + st) / (double)tck;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (!(f = fopen(path, "r")))
        return -1;
    *hwm_kb = -1;
    while (fgets(buf, sizeof(buf), f))
        if (sscanf(buf, "VmHWM: %ld kB", hwm_kb) == 1)
            break;
    fclose(f);
    return *hwm_kb >= 0 ? 0 : -1;
}

double bench_proc_cpu(pid_t pid)
{
    char path[96], buf[128];
    struct dirent *de;
    double sum = 0;
    DIR *d;

    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    if (!(d = opendir(path)))
        return -1;
    while ((de = readdir(d))) {
        unsigned long long ns;
        FILE *f;

        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "/proc/%d/task/%.20s/schedstat", (int)pid,
                 de->d_name);
        if (!(f = fopen(path, "r")))
            continue; /* the thread just ended */
        if (fgets(buf, sizeof(buf), f) && sscanf(buf, "%llu", &ns) == 1)
            sum += (double)ns / 1e9;
        fclose(f);
    }
    closedir(d);
    return sum;
}

/* ---- TCP byte counters ------------------------------------------------ */

/* The socket inodes of pid; *n set. NULL when none or on error (never a
 * partial list: that would undercount). */
static unsigned long *socket_inodes(pid_t pid, size_t *n)
{
    char path[64], link[64], name[400];
    unsigned long *v = NULL, ino;
    size_t cap = 0;
    struct dirent *de;
    DIR *d;

    *n = 0;
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    if (!(d = opendir(path)))
        return NULL;
    while ((de = readdir(d))) {
        ssize_t r;

        snprintf(name, sizeof(name), "%s/%s", path, de->d_name);
        r = readlink(name, link, sizeof(link) - 1);
        if (r <= 0)
            continue;
        link[r] = '\0';
        if (sscanf(link, "socket:[%lu]", &ino) != 1)
            continue;
        if (*n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            unsigned long *nv = realloc(v, ncap * sizeof(*v));

            if (!nv) {
                free(v);
                v = NULL;
                *n = 0;
                break;
            }
            v = nv;
            cap = ncap;
        }
        v[(*n)++] = ino;
    }
    closedir(d);
    return v;
}

static int has_inode(const unsigned long *v, size_t n, unsigned long ino)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == ino)
            return 1;
    return 0;
}

/* Dump the TCP sockets of one address family and add the counters of
 * those in inodes. Returns 0, or -1. */
static int diag_family(int family, const unsigned long *inodes, size_t n,
                       uint64_t *rx, uint64_t *tx)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } q;
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    static char buf[65536];
    int fd, rc = -1;

    fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0)
        return -1;
    memset(&q, 0, sizeof(q));
    q.nlh.nlmsg_len = sizeof(q);
    q.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    q.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    q.req.sdiag_family = (uint8_t)family;
    q.req.sdiag_protocol = IPPROTO_TCP;
    q.req.idiag_states = ~0U;
    q.req.idiag_ext = 1 << (INET_DIAG_INFO - 1);
    if (sendto(fd, &q, sizeof(q), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        goto out;
    for (;;) {
        ssize_t len = recv(fd, buf, sizeof(buf), 0);
        struct nlmsghdr *h;

        if (len < 0 && errno == EINTR)
            continue;
        if (len <= 0)
            goto out;
        for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len);
             h = NLMSG_NEXT(h, len)) {
            struct inet_diag_msg *m = NLMSG_DATA(h);
            struct rtattr *a;
            unsigned alen;

            if (h->nlmsg_type == NLMSG_DONE) {
                rc = 0;
                goto out;
            }
            if (h->nlmsg_type == NLMSG_ERROR)
                goto out;
            if (!has_inode(inodes, n, m->idiag_inode))
                continue;
            alen = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
            for (a = (struct rtattr *)(m + 1); RTA_OK(a, alen);
                 a = RTA_NEXT(a, alen)) {
                struct tcp_info ti;
                size_t tl = RTA_PAYLOAD(a);

                if (a->rta_type != INET_DIAG_INFO)
                    continue;
                memset(&ti, 0, sizeof(ti));
                memcpy(&ti, RTA_DATA(a), tl < sizeof(ti) ? tl : sizeof(ti));
                *rx += ti.tcpi_bytes_received;
                *tx += ti.tcpi_bytes_acked > 0 ? ti.tcpi_bytes_acked - 1 : 0;
            }
        }
    }
out:
    close(fd);
    return rc;
}

int bench_tcp_bytes(pid_t pid, uint64_t *rx, uint64_t *tx, char *errstr,
                    size_t errstr_size)
{
    size_t n;
    unsigned long *inodes = socket_inodes(pid, &n);
    int rc = 0;

    *rx = *tx = 0;
    if (!inodes) {
        snprintf(errstr, errstr_size, "process %d has no sockets", (int)pid);
        return -1;
    }
    if (diag_family(AF_INET, inodes, n, rx, tx) != 0 ||
        diag_family(AF_INET6, inodes, n, rx, tx) != 0) {
        snprintf(errstr, errstr_size, "sock_diag: %s", strerror(errno));
        *rx = *tx = 0; /* unknown, not a partial sum */
        rc = -1;
    }
    free(inodes);
    return rc;
}
