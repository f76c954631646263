/* instant_server: a local SMTP server for bench/run.sh that answers at once.
 *
 *   instant_server PORT UP_ADDR [SILENT_ADDR...]
 *
 * Single thread, epoll. On UP_ADDR:PORT it greets "220 bench ESMTP" as soon
 * as a connection is accepted and answers, line by line (pipelined lines
 * included):
 *   EHLO  -> 250-bench / 250-PIPELINING / 250-ETRN / 250 8BITMIME
 *   HELO  -> 250 bench
 *   ETRN  -> 250 Queuing started
 *   QUIT  -> 221 Bye, then closes
 *   RSET, NOOP -> 250 OK;  anything else -> 502 Command not implemented
 * On every SILENT_ADDR:PORT it accepts and never sends a byte (a "blackhole"
 * that is reachable but never greets); it closes when the client does.
 * Only the given (loopback) addresses are bound, never the wildcard.
 * When every listener is bound it prints "ready" on stdout and flushes.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum kind { LISTEN_UP, LISTEN_SILENT, CONN_UP, CONN_SILENT };

struct conn {
    enum kind kind;
    int fd;
    size_t len;
    char buf[8192];
};

static int ep;

static const char GREETING[] = "220 bench ESMTP\r\n";
static const char EHLO_REPLY[] = "250-bench\r\n250-PIPELINING\r\n250-ETRN\r\n250 8BITMIME\r\n";
static const char HELO_REPLY[] = "250 bench\r\n";
static const char ETRN_REPLY[] = "250 Queuing started\r\n";
static const char QUIT_REPLY[] = "221 Bye\r\n";
static const char OK_REPLY[] = "250 OK\r\n";
static const char UNKNOWN_REPLY[] = "502 Command not implemented\r\n";

static struct conn *new_conn(enum kind kind, int fd) {
    struct conn *c = malloc(sizeof *c);
    if (!c) {
        perror("malloc");
        exit(1);
    }
    c->kind = kind;
    c->fd = fd;
    c->len = 0;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        perror("epoll_ctl");
        exit(1);
    }
    return c;
}

static void drop(struct conn *c) {
    close(c->fd); /* also removes it from the epoll set */
    free(c);
}

static void listen_on(const char *addr, int port, enum kind kind) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        fprintf(stderr, "instant_server: bad IPv4 address %s\n", addr);
        exit(2);
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4096) < 0) {
        fprintf(stderr, "instant_server: %s:%d: %s\n", addr, port, strerror(errno));
        exit(1);
    }
    new_conn(kind, fd);
}

/* Sends a short reply; replies are tiny and the socket buffer is empty
 * between replies, so one send normally takes all of it. */
static int say(int fd, const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                usleep(100);
                continue;
            }
            return -1;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static int verb_is(const char *line, size_t n, const char *verb) {
    size_t v = strlen(verb);
    return n >= v && strncasecmp(line, verb, v) == 0 &&
           (n == v || line[v] == ' ' || line[v] == '\r' || line[v] == '\n');
}

/* Answers every complete line in the buffer. Returns -1 to close. */
static int serve_lines(struct conn *c) {
    char out[8192];
    size_t olen = 0;
    size_t start = 0;
    int quit = 0;
    for (;;) {
        char *lf = memchr(c->buf + start, '\n', c->len - start);
        if (!lf)
            break;
        size_t n = (size_t)(lf - (c->buf + start)) + 1;
        const char *line = c->buf + start;
        const char *r;
        size_t rl;
        if (verb_is(line, n, "EHLO")) {
            r = EHLO_REPLY, rl = sizeof EHLO_REPLY - 1;
        } else if (verb_is(line, n, "HELO")) {
            r = HELO_REPLY, rl = sizeof HELO_REPLY - 1;
        } else if (verb_is(line, n, "ETRN")) {
            r = ETRN_REPLY, rl = sizeof ETRN_REPLY - 1;
        } else if (verb_is(line, n, "QUIT")) {
            r = QUIT_REPLY, rl = sizeof QUIT_REPLY - 1, quit = 1;
        } else if (verb_is(line, n, "RSET") || verb_is(line, n, "NOOP")) {
            r = OK_REPLY, rl = sizeof OK_REPLY - 1;
        } else {
            r = UNKNOWN_REPLY, rl = sizeof UNKNOWN_REPLY - 1;
        }
        if (olen + rl > sizeof out) {
            if (say(c->fd, out, olen) < 0)
                return -1;
            olen = 0;
        }
        memcpy(out + olen, r, rl);
        olen += rl;
        start += n;
        if (quit)
            break;
    }
    if (olen && say(c->fd, out, olen) < 0)
        return -1;
    if (quit)
        return -1;
    memmove(c->buf, c->buf + start, c->len - start);
    c->len -= start;
    if (c->len == sizeof c->buf) /* an over-long line: give up on it */
        return -1;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: instant_server PORT UP_ADDR [SILENT_ADDR...]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    int port = atoi(argv[1]);
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        perror("epoll_create1");
        return 1;
    }
    listen_on(argv[2], port, LISTEN_UP);
    for (int i = 3; i < argc; i++)
        listen_on(argv[i], port, LISTEN_SILENT);
    printf("ready\n");
    fflush(stdout);

    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("epoll_wait");
            return 1;
        }
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->kind == LISTEN_UP || c->kind == LISTEN_SILENT) {
                for (;;) {
                    int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (fd < 0)
                        break; /* EAGAIN, or a transient error: wait for the next event */
                    if (c->kind == LISTEN_UP) {
                        int one = 1;
                        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                        if (say(fd, GREETING, sizeof GREETING - 1) < 0) {
                            close(fd);
                            continue;
                        }
                        new_conn(CONN_UP, fd);
                    } else {
                        new_conn(CONN_SILENT, fd);
                    }
                }
                continue;
            }
            ssize_t r = read(c->fd, c->buf + c->len, sizeof c->buf - c->len);
            if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
                drop(c);
                continue;
            }
            if (r < 0)
                continue;
            if (c->kind == CONN_SILENT) {
                c->len = 0; /* read and discard; never answer */
                continue;
            }
            c->len += (size_t)r;
            if (serve_lines(c) < 0)
                drop(c);
        }
    }
}
