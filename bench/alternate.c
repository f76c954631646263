/* bench/alternate.c: times commands run by run, taking turns (A B C, then
 * B C A, then C A B, ...), so that a slow moment of the machine falls on
 * every command alike and two builds can be compared run against run.
 *
 *   alternate WARMUP ROUNDS OUT -- NAME PROGRAM [ARG...] -- NAME PROGRAM [ARG...] ...
 *
 * Each round runs every command once; the first WARMUP rounds are not
 * written. OUT gets one line per timed run: "ROUND NAME NANOSECONDS", the
 * wall time from posix_spawn to waitpid (as hyperfine -N measures). The
 * commands run with stdin, stdout and stderr on /dev/null; their exit
 * status is not judged (smtpdcheck exits 1 when a server is up), but a
 * command killed by a signal stops the run.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#define MAX_COMMANDS 16

extern char **environ;

struct command {
    const char *name;
    char **argv;
};

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* One run of `c`: its wall time in nanoseconds, or -1 on failure. */
static long long run_once(const struct command *c, posix_spawn_file_actions_t *quiet) {
    pid_t pid;
    int status;
    long long start = now_ns();
    if (posix_spawn(&pid, c->argv[0], quiet, NULL, c->argv, environ) != 0) {
        fprintf(stderr, "alternate: cannot run %s\n", c->argv[0]);
        return -1;
    }
    if (waitpid(pid, &status, 0) != pid) {
        perror("alternate: waitpid");
        return -1;
    }
    long long elapsed = now_ns() - start;
    if (WIFSIGNALED(status)) {
        fprintf(stderr, "alternate: %s killed by signal %d\n", c->name, WTERMSIG(status));
        return -1;
    }
    return elapsed;
}

int main(int argc, char **argv) {
    if (argc < 7 || strcmp(argv[4], "--") != 0) {
        fprintf(stderr, "usage: alternate WARMUP ROUNDS OUT -- NAME PROGRAM [ARG...] [-- NAME PROGRAM...]\n");
        return 2;
    }
    int warmup = atoi(argv[1]);
    int rounds = atoi(argv[2]);
    struct command commands[MAX_COMMANDS];
    int n = 0;
    /* Split the rest at "--": each part is NAME PROGRAM [ARG...]. */
    for (int i = 5; i < argc;) {
        if (n == MAX_COMMANDS || i + 1 >= argc || strcmp(argv[i + 1], "--") == 0) {
            fprintf(stderr, "alternate: each command needs a NAME and a PROGRAM (at most %d)\n", MAX_COMMANDS);
            return 2;
        }
        commands[n].name = argv[i];
        commands[n].argv = &argv[i + 1];
        int end = i + 1;
        while (end < argc && strcmp(argv[end], "--") != 0) end++;
        argv[end < argc ? end : argc] = NULL; /* ends this command's argv */
        n++;
        i = end + 1;
    }
    FILE *out = fopen(argv[3], "w");
    if (out == NULL) {
        perror(argv[3]);
        return 2;
    }
    posix_spawn_file_actions_t quiet;
    posix_spawn_file_actions_init(&quiet);
    for (int fd = 0; fd <= 2; fd++) posix_spawn_file_actions_addopen(&quiet, fd, "/dev/null", O_RDWR, 0);
    for (int round = 0; round < warmup + rounds; round++) {
        for (int k = 0; k < n; k++) {
            const struct command *c = &commands[(round + k) % n];
            long long ns = run_once(c, &quiet);
            if (ns < 0) return 1;
            if (round >= warmup) fprintf(out, "%d %s %lld\n", round - warmup, c->name, ns);
        }
    }
    return fclose(out) == 0 ? 0 : 1;
}
