/* floor: the smallest greeting probe, the benchmark's floor.
 *
 *   floor HOST PORT
 *
 * getaddrinfo on HOST (an IP literal in the benchmark), connect to the first
 * address, read the greeting until the first LF, and check that it starts
 * with "220". Exit 0 when it does, 1 otherwise. No QUIT, no timeout.
 */
#include <netdb.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3)
        return 2;
    struct addrinfo hints, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(argv[1], argv[2], &hints, &ai) != 0)
        return 1;
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0)
        return 1;
    char buf[1024];
    size_t len = 0;
    while (len < sizeof buf) {
        ssize_t r = read(fd, buf + len, sizeof buf - len);
        if (r <= 0)
            return 1;
        len += (size_t)r;
        if (memchr(buf, '\n', len))
            break;
    }
    return (len >= 3 && memcmp(buf, "220", 3) == 0) ? 0 : 1;
}
