/* syslog_sink: a syslog receiver for bench/policy.sh, as fast as the
 * syslog daemons of real hosts (journald, rsyslog), so that timing the
 * policy service with /dev/log present measures the service, not the
 * receiver (a unix datagram socket queues only net.unix.max_dgram_qlen
 * messages, 10 by default: a slow receiver makes syslog(3) wait).
 *
 *   syslog_sink SOCKET-PATH PATTERN
 *
 * Binds a unix datagram socket at SOCKET-PATH (mode 0666), prints "ready",
 * then counts the datagrams that contain PATTERN. On SIGTERM it prints the
 * count on stdout and exits. Bounded: it also exits after 15 minutes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: syslog_sink SOCKET-PATH PATTERN\n");
        return 2;
    }
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof addr.sun_path) {
        fprintf(stderr, "syslog_sink: path too long\n");
        return 2;
    }
    strcpy(addr.sun_path, argv[1]);
    unlink(argv[1]);
    int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || chmod(argv[1], 0666) != 0) {
        perror("syslog_sink");
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: recv returns EINTR */
    sigaction(SIGALRM, &sa, NULL);
    alarm(15 * 60);
    printf("ready\n");
    fflush(stdout);
    unsigned long count = 0;
    static char message[65536];
    while (!stop) {
        ssize_t n = recv(fd, message, sizeof message - 1, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("syslog_sink: recv");
            break;
        }
        message[n] = '\0';
        if (strstr(message, argv[2]) != NULL) count++;
    }
    printf("%lu\n", count);
    unlink(argv[1]);
    return 0;
}
