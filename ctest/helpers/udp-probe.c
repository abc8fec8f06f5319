/* udp-probe: the datapath tests' traffic tool.
 *
 *   udp-probe recv PORT COUNT TIMEOUT_MS   print "SOURCE SPORT PAYLOAD" for each datagram received,
 *                                          until COUNT arrived or TIMEOUT_MS passed (exit 1 then)
 *   udp-probe send ADDR PORT PAYLOAD [SPORT]
 *                                          send one datagram, from source port SPORT if given
 *                                          (the same flow, to conntrack, as an earlier send)
 *   udp-probe send-lines PORT [SPORT]      the same for each "ADDR PAYLOAD" line of stdin, each
 *                                          from a new socket: one process for many datagrams
 *                                          (a sanitizer build takes 50 ms to start and exit)
 *   udp-probe flood ADDR PORT COUNT MAX_MS  send up to COUNT datagrams, each from a new socket (a
 *                                          new flow), for at most MAX_MS; print how many were sent
 *   udp-probe tally PORT IDLE_MS MAX_MS     count datagrams by source address until none came for
 *                                          IDLE_MS, or MAX_MS passed; print "SOURCE N" lines
 *
 * IPv4 and IPv6 (recv listens on both). Bounded in count and time by construction. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The sender's address as text: an IPv4 one as such, not as ::ffff:a.b.c.d. */
static void source_text(const struct sockaddr_in6 *from, char addr[static INET6_ADDRSTRLEN])
{
        if (IN6_IS_ADDR_V4MAPPED(&from->sin6_addr))
                inet_ntop(AF_INET, &from->sin6_addr.s6_addr[12], addr, INET6_ADDRSTRLEN);
        else
                inet_ntop(AF_INET6, &from->sin6_addr, addr, INET6_ADDRSTRLEN);
}

/* A UDP socket on PORT for both families, or -1 (the error reported under the name what). */
static int listen_on(const char *port, const char *what)
{
        struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)atoi(port)) };
        int fd = socket(AF_INET6, SOCK_DGRAM, 0), off = 0;

        if (fd < 0 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
            bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                perror(what);
                return -1;
        }
        return fd;
}

/* Waits up to wait_ms for one datagram on fd: its length (payload in buf, sender's address as
 * text in addr, its port in *port), -ETIMEDOUT when none came in time, or -errno when reading it
 * failed (the caller goes on waiting). */
static ssize_t recv_one(int fd, long long wait_ms, char *buf, size_t size, char addr[static INET6_ADDRSTRLEN],
                        unsigned *port)
{
        struct pollfd p = { .fd = fd, .events = POLLIN };
        struct sockaddr_in6 from;
        socklen_t from_len = sizeof(from);
        ssize_t n;

        if (wait_ms <= 0 || poll(&p, 1, (int)wait_ms) <= 0)
                return -ETIMEDOUT;
        n = recvfrom(fd, buf, size, 0, (struct sockaddr *)&from, &from_len);
        if (n < 0)
                return -errno;
        source_text(&from, addr);
        *port = ntohs(from.sin6_port);
        return n;
}

static int do_recv(const char *port, int count, int timeout_ms)
{
        int fd = listen_on(port, "udp-probe recv"), got = 0;
        long long deadline = now_ms() + timeout_ms;

        if (fd < 0)
                return 2;
        printf("ready\n");
        fflush(stdout);
        while (got < count) {
                char buf[512], addr[INET6_ADDRSTRLEN];
                unsigned sport;
                ssize_t n = recv_one(fd, deadline - now_ms(), buf, sizeof(buf) - 1, addr, &sport);

                if (n == -ETIMEDOUT)
                        break;
                if (n < 0)
                        continue;
                buf[n] = '\0';
                printf("%s %u %s\n", addr, sport, buf);
                fflush(stdout);
                got++;
        }
        close(fd);
        return got == count ? 0 : 1;
}

static int bind_port(int fd, int family, const char *sport)
{
        struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)atoi(sport)) };
        struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(sport)) };
        int on = 1;

        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
                return -1;
        if (family == AF_INET6)
                return bind(fd, (struct sockaddr *)&a6, sizeof(a6));
        return bind(fd, (struct sockaddr *)&a4, sizeof(a4));
}

/* Sends one datagram from a new socket: 0, or -1 with the reason on stderr. */
static int send_one(const char *addr, const char *port, const char *payload, const char *sport)
{
        struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
        struct addrinfo *ai;
        int fd, r;

        r = getaddrinfo(addr, port, &hints, &ai);
        if (r != 0) {
                fprintf(stderr, "udp-probe send: %s: %s\n", addr, gai_strerror(r));
                return -1;
        }
        fd = socket(ai->ai_family, SOCK_DGRAM, 0);
        r = fd < 0 || (sport && bind_port(fd, ai->ai_family, sport) < 0) ||
            sendto(fd, payload, strlen(payload), 0, ai->ai_addr, ai->ai_addrlen) < 0;
        if (r)
                fprintf(stderr, "udp-probe send: %s: %s\n", addr, strerror(errno));
        if (fd >= 0)
                close(fd);
        freeaddrinfo(ai);
        return r ? -1 : 0;
}

static int do_send(const char *addr, const char *port, const char *payload, const char *sport)
{
        return send_one(addr, port, payload, sport) < 0 ? 2 : 0;
}

static int do_send_lines(const char *port, const char *sport)
{
        char *line = NULL, *payload;
        size_t size = 0;
        ssize_t len;
        int rc = 0;

        while (rc == 0 && (len = getline(&line, &size, stdin)) > 0) {
                if (line[len - 1] == '\n')
                        line[--len] = '\0';
                payload = strchr(line, ' ');
                if (!payload) {
                        fprintf(stderr, "udp-probe send-lines: expected \"ADDR PAYLOAD\", got \"%s\"\n", line);
                        rc = 2;
                        break;
                }
                *payload++ = '\0';
                if (send_one(line, port, payload, sport) < 0)
                        rc = 2;
        }
        free(line);
        return rc;
}

static int do_flood(const char *addr, const char *port, long count, int max_ms)
{
        struct addrinfo hints = { .ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
        long long deadline = now_ms() + max_ms;
        struct addrinfo *ai;
        long sent = 0;
        int r;

        r = getaddrinfo(addr, port, &hints, &ai);
        if (r != 0) {
                fprintf(stderr, "udp-probe flood: %s\n", gai_strerror(r));
                return 2;
        }
        for (; sent < count && (sent % 256 != 0 || now_ms() < deadline); sent++) {
                int fd = socket(ai->ai_family, SOCK_DGRAM, 0);

                if (fd < 0) {
                        perror("udp-probe flood");
                        break;
                }
                /* a full socket buffer or a dropped route is the flood's own doing: go on */
                (void)sendto(fd, "f", 1, 0, ai->ai_addr, ai->ai_addrlen);
                close(fd);
        }
        freeaddrinfo(ai);
        printf("%ld\n", sent);
        return 0;
}

static int do_tally(const char *port, int idle_ms, int max_ms)
{
        int fd = listen_on(port, "udp-probe tally"), size = 8 << 20;
        long long deadline = now_ms() + max_ms;
        struct {
                char addr[INET6_ADDRSTRLEN];
                long n;
        } seen[16];
        int n_seen = 0;

        if (fd < 0)
                return 2;
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
        printf("ready\n");
        fflush(stdout);
        for (;;) {
                char buf[64], addr[INET6_ADDRSTRLEN];
                long long left = deadline - now_ms();
                unsigned sport;
                ssize_t n = recv_one(fd, left < idle_ms ? left : idle_ms, buf, sizeof(buf), addr, &sport);
                int i;

                if (n == -ETIMEDOUT)
                        break;
                if (n < 0)
                        continue;
                for (i = 0; i < n_seen && strcmp(seen[i].addr, addr) != 0; i++) {
                }
                if (i == n_seen) {
                        if (n_seen == (int)(sizeof(seen) / sizeof(seen[0])))
                                continue;
                        snprintf(seen[n_seen].addr, sizeof(seen[n_seen].addr), "%s", addr);
                        seen[n_seen++].n = 0;
                }
                seen[i].n++;
        }
        for (int i = 0; i < n_seen; i++)
                printf("%s %ld\n", seen[i].addr, seen[i].n);
        close(fd);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc == 6 && strcmp(argv[1], "flood") == 0)
                return do_flood(argv[2], argv[3], atol(argv[4]), atoi(argv[5]));
        if (argc == 5 && strcmp(argv[1], "tally") == 0)
                return do_tally(argv[2], atoi(argv[3]), atoi(argv[4]));
        if (argc == 5 && strcmp(argv[1], "recv") == 0)
                return do_recv(argv[2], atoi(argv[3]), atoi(argv[4]));
        if ((argc == 5 || argc == 6) && strcmp(argv[1], "send") == 0)
                return do_send(argv[2], argv[3], argv[4], argc == 6 ? argv[5] : NULL);
        if ((argc == 3 || argc == 4) && strcmp(argv[1], "send-lines") == 0)
                return do_send_lines(argv[2], argc == 4 ? argv[3] : NULL);
        fprintf(stderr, "usage: udp-probe recv PORT COUNT TIMEOUT_MS | send ADDR PORT PAYLOAD [SPORT] | "
                        "send-lines PORT [SPORT] | "
                        "flood ADDR PORT COUNT MAX_MS | tally PORT IDLE_MS MAX_MS\n");
        return 2;
}
