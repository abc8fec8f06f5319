/* test-http.c: the HTTP endpoints served from a single-threaded epoll loop exactly as http.h tells
 * the daemon to run them, with curl (a separate process) as the client. It binds and connects, so
 * it runs only inside the private network namespace test-http.sh creates. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd/http.h"
#include "cmd/metrics.h"
#include "ctest/tests.h"

/* What the callbacks report; the cases flip it. */
struct state {
        bool ready;
        const char *reason;
        int metrics_error;
        unsigned healthz_calls, metrics_calls;
        struct metrics *metrics;
};

static bool cb_healthz(void *userdata, char *reason, size_t size)
{
        struct state *s = userdata;

        s->healthz_calls++;
        return true;
}

static bool cb_readyz(void *userdata, char *reason, size_t size)
{
        struct state *s = userdata;

        if (!s->ready)
                snprintf(reason, size, "%s", s->reason);
        return s->ready;
}

static int cb_metrics(void *userdata, char **ret, size_t *ret_len)
{
        struct state *s = userdata;

        s->metrics_calls++;
        if (s->metrics_error)
                return s->metrics_error;
        return metrics_render(s->metrics, NULL, ret, ret_len);
}

static struct state st = { .ready = true };

static const struct http_handlers handlers = {
        .healthz = cb_healthz,
        .readyz = cb_readyz,
        .metrics = cb_metrics,
};

/* ---- the event loop, as the daemon's will be ---------------------------------------------- */

#define MAX_SERVERS 8
#define CLIENT_TAG 0xffff

struct loop {
        int epfd;
        struct http_server *servers[MAX_SERVERS];
        size_t n_servers;
};

static struct loop loop;

static struct http_server *serve(const char *address, unsigned paths)
{
        struct http_server *s = NULL;
        const char *reason = NULL;
        int r;

        r = http_server_new(address, paths, &handlers, &st, &s, &reason);
        if (r < 0) {
                fprintf(stderr, "%s: %s: %s\n", address, reason, strerror(-r));
                exit(2);
        }
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)loop.n_servers };
        if (loop.n_servers == MAX_SERVERS || epoll_ctl(loop.epfd, EPOLL_CTL_ADD, http_server_get_fd(s), &ev) < 0)
                exit(2);
        loop.servers[loop.n_servers++] = s;
        return s;
}

static void stop_all(void)
{
        for (size_t i = 0; i < loop.n_servers; i++) {
                epoll_ctl(loop.epfd, EPOLL_CTL_DEL, http_server_get_fd(loop.servers[i]), NULL);
                loop.servers[i] = http_server_free(loop.servers[i]);
        }
        loop.n_servers = 0;
}

static int64_t now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One iteration: wait for any fd or the earliest server timeout, then process every server whose
 * fd was readable or whose timeout ran out. Returns whether the client pipe has data or EOF. */
static bool loop_iterate(void)
{
        int64_t deadline[MAX_SERVERS], now = now_ms();
        bool ready[MAX_SERVERS] = { false }, client = false;
        struct epoll_event events[16];
        int timeout = -1, n;

        for (size_t i = 0; i < loop.n_servers; i++) {
                int t = http_server_get_timeout(loop.servers[i]);

                deadline[i] = t < 0 ? INT64_MAX : now + t;
                if (t >= 0 && (timeout < 0 || t < timeout))
                        timeout = t;
        }
        n = epoll_wait(loop.epfd, events, 16, timeout);
        if (n < 0 && errno != EINTR)
                exit(2);
        for (int i = 0; i < n; i++) {
                if (events[i].data.u32 == CLIENT_TAG)
                        client = true;
                else
                        ready[events[i].data.u32] = true;
        }
        now = now_ms();
        for (size_t i = 0; i < loop.n_servers; i++)
                if (ready[i] || now >= deadline[i])
                        CHECK_INT(http_server_process(loop.servers[i]), 0);
        return client;
}

/* Runs curl with args (after the common ones) and serves every server until curl exits.
 * Returns curl's exit status; *ret_out gets its stdout (malloc'd). */
static int run_curl(const char *const *args, char **ret_out, size_t *ret_len)
{
        const char *argv[32] = { "curl", "-q", "-sS", "--max-time", "10", "--noproxy", "*" };
        posix_spawn_file_actions_t fa;
        size_t argc = 7, len = 0;
        char *out = NULL;
        int pipefd[2], status;
        pid_t pid;

        for (size_t i = 0; args[i]; i++)
                argv[argc++] = args[i];
        argv[argc] = NULL;
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                exit(2);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
        if (posix_spawnp(&pid, "curl", &fa, NULL, (char *const *)argv, environ) != 0) {
                perror("curl");
                exit(2);
        }
        posix_spawn_file_actions_destroy(&fa);
        close(pipefd[1]);
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = CLIENT_TAG };
        if (epoll_ctl(loop.epfd, EPOLL_CTL_ADD, pipefd[0], &ev) < 0)
                exit(2);
        for (;;) {
                char buf[4096], *grown;
                ssize_t k;

                if (!loop_iterate())
                        continue;
                k = read(pipefd[0], buf, sizeof(buf));
                if (k == 0)
                        break;
                if (k < 0)
                        exit(2);
                grown = realloc(out, len + (size_t)k + 1);
                if (!grown)
                        exit(2);
                out = grown;
                memcpy(out + len, buf, (size_t)k);
                len += (size_t)k;
                out[len] = '\0';
        }
        epoll_ctl(loop.epfd, EPOLL_CTL_DEL, pipefd[0], NULL);
        close(pipefd[0]);
        waitpid(pid, &status, 0);
        *ret_out = out ? out : strdup("");
        *ret_len = len;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

struct reply {
        int curl_exit;
        int status;
        char *raw;     /* curl -i output: status line, headers, blank line, body */
        char *headers; /* inside raw */
        char *body;    /* inside raw */
        size_t body_len;
};

static void reply_done(struct reply *r)
{
        free(r->raw);
}

/* curl -i [extra...] url; parses the one response. */
static struct reply fetch(const char *url, const char *extra1, const char *extra2, const char *extra3)
{
        const char *args[] = { "-i", url, extra1, extra2, extra3, NULL };
        struct reply r = { 0 };
        size_t len;
        char *end;

        r.curl_exit = run_curl(args, &r.raw, &len);
        if (r.curl_exit != 0 || sscanf(r.raw, "HTTP/1.1 %d ", &r.status) != 1) {
                r.body = r.headers = r.raw + len;
                return r;
        }
        end = strstr(r.raw, "\r\n\r\n");
        r.headers = r.raw;
        r.body = end ? end + 4 : r.raw + len;
        if (end)
                end[2] = '\0';
        r.body_len = len - (size_t)(r.body - r.raw);
        return r;
}

/* The value of header name (case-insensitive), or "" when absent. */
static const char *header(const struct reply *r, const char *name, char *buf, size_t size)
{
        size_t n = strlen(name);

        buf[0] = '\0';
        for (const char *p = r->headers; p && *p; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL)
                if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
                        const char *v = p + n + 1 + strspn(p + n + 1, " ");
                        size_t vlen = strcspn(v, "\r");

                        snprintf(buf, size, "%.*s", (int)(vlen < size ? vlen : size - 1), v);
                        break;
                }
        return buf;
}

#define URL(addr, path) ("http://" addr path)

/* ---- cases (in order: later ones rely on the servers earlier ones started) -------------------------------------------------------------------------------- */

static void test_endpoints(void)
{
        char buf[256];
        struct reply r;

        serve("127.0.0.1:18080", HTTP_PATHS_ALL);

        r = fetch(URL("127.0.0.1:18080", "/healthz"), NULL, NULL, NULL);
        CHECK_INT(r.curl_exit, 0);
        CHECK_INT(r.status, 200);
        CHECK_STR(r.body, "ok");
        CHECK_STR(header(&r, "Content-Type", buf, sizeof(buf)), "text/plain; charset=utf-8");
        CHECK_STR(header(&r, "X-Content-Type-Options", buf, sizeof(buf)), "nosniff");
        CHECK_INT(st.healthz_calls, 1);
        reply_done(&r);

        st.ready = false;
        st.reason = "no valid configuration yet: /etc/config/ip-masq-agent line 3";
        r = fetch(URL("127.0.0.1:18080", "/readyz"), NULL, NULL, NULL);
        CHECK_INT(r.status, 503);
        CHECK_STR(r.body, "no valid configuration yet: /etc/config/ip-masq-agent line 3\n");
        reply_done(&r);

        st.ready = true;
        r = fetch(URL("127.0.0.1:18080", "/readyz"), NULL, NULL, NULL);
        CHECK_INT(r.status, 200);
        CHECK_STR(r.body, "ok");
        reply_done(&r);

        /* unknown paths, also near misses, whatever the method */
        static const char *const missing[] = { "/", "/healthz/", "/metric", "/Metrics", "/metrics/x", "/readyz.json" };
        for (size_t i = 0; i < ARRAY_SIZE(missing); i++) {
                char url[128];

                snprintf(url, sizeof(url), "http://127.0.0.1:18080%s", missing[i]);
                r = fetch(url, NULL, NULL, NULL);
                CHECK_INT(r.status, 404);
                CHECK_STR(r.body, "404 page not found\n");
                reply_done(&r);
        }
        r = fetch(URL("127.0.0.1:18080", "/nope"), "-X", "DELETE", NULL);
        CHECK_INT(r.status, 404);
        reply_done(&r);
}

static void test_methods(void)
{
        static const char *const methods[] = { "POST", "PUT", "DELETE", "OPTIONS", "PATCH" };
        char buf[256];
        struct reply r;

        for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
                r = fetch(URL("127.0.0.1:18080", "/metrics"), "-X", methods[i], NULL);
                CHECK_INT(r.status, 405);
                CHECK_STR(header(&r, "Allow", buf, sizeof(buf)), "GET, HEAD");
                CHECK_STR(r.body, "method not allowed\n");
                reply_done(&r);
        }
        /* a GET that carries a body: the body is ignored */
        r = fetch(URL("127.0.0.1:18080", "/healthz"), "-X", "GET", "-dx=1");
        CHECK_INT(r.status, 200);
        CHECK_STR(r.body, "ok");
        reply_done(&r);
        /* a request body is not read: the 405 goes out before it */
        r = fetch(URL("127.0.0.1:18080", "/healthz"), "--data", "x=1", NULL);
        CHECK_INT(r.status, 405);
        reply_done(&r);
}

static void test_metrics(void)
{
        _cleanup_free_ char *want = NULL;
        size_t want_len = 0;
        char buf[256];
        struct reply r;

        CHECK_INT(metrics_render(st.metrics, NULL, &want, &want_len), 0);
        r = fetch(URL("127.0.0.1:18080", "/metrics"), NULL, NULL, NULL);
        CHECK_INT(r.status, 200);
        CHECK_STR(header(&r, "Content-Type", buf, sizeof(buf)), "text/plain; version=0.0.4; charset=utf-8");
        CHECK_INT(r.body_len, want_len);
        CHECK_STR(r.body, want);
        reply_done(&r);

        /* the query string is not part of the path */
        r = fetch(URL("127.0.0.1:18080", "/metrics?name[]=ip_masq_agent_build_info"), NULL, NULL, NULL);
        CHECK_INT(r.status, 200);
        reply_done(&r);

        /* HEAD: the GET's headers, Content-Length included, and no body */
        st.metrics_calls = 0;
        r = fetch(URL("127.0.0.1:18080", "/metrics"), "-I", NULL, NULL);
        CHECK_INT(r.curl_exit, 0);
        CHECK_INT(r.status, 200);
        CHECK_INT(atol(header(&r, "Content-Length", buf, sizeof(buf))), want_len);
        CHECK_STR(header(&r, "Content-Type", buf, sizeof(buf)), "text/plain; version=0.0.4; charset=utf-8");
        CHECK_INT(r.body_len, 0);
        CHECK_INT(st.metrics_calls, 1);
        reply_done(&r);

        st.metrics_error = -ENOMEM;
        fprintf(stderr, "(the error logged next is expected)\n");
        r = fetch(URL("127.0.0.1:18080", "/metrics"), NULL, NULL, NULL);
        CHECK_INT(r.status, 500);
        CHECK_STR(r.body, "metrics unavailable\n");
        reply_done(&r);
        st.metrics_error = 0;
}

/* Keep-alive: curl sends both requests on one connection, the loop answers both. */
static void test_two_requests_one_connection(void)
{
        const char *args[] = { "-i", "-w", "[%{num_connects}]", URL("127.0.0.1:18080", "/healthz"),
                               URL("127.0.0.1:18080", "/readyz"), NULL };
        _cleanup_free_ char *out = NULL;
        size_t len;

        CHECK_INT(run_curl(args, &out, &len), 0);
        /* the second transfer reused the first one's connection: 0 new connects */
        CHECK(strstr(out, "\r\n\r\nok[1]HTTP/1.1 200 OK\r\n") != NULL);
        CHECK(len > 5 && strcmp(out + len - 5, "ok[0]") == 0);
}

/* A client that connects and sends half a request must not hold up anyone else: the loop never
 * blocks on a connection. */
static void test_stalled_client(void)
{
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(18080),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        static const char partial[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct reply r;

        CHECK(fd >= 0);
        CHECK_INT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        CHECK_INT(write(fd, partial, sizeof(partial) - 1), sizeof(partial) - 1);
        r = fetch(URL("127.0.0.1:18080", "/readyz"), NULL, NULL, NULL);
        CHECK_INT(r.status, 200);
        reply_done(&r);
        close(fd);
}

/* Clients that trickle bytes are never idle long enough for the timeout; from one address they
 * must not take every connection: a probe from another address still gets its answer. */
static void test_one_address_cannot_take_every_connection(void)
{
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(18080),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        static const char partial[] = "GET /healthz HTTP/1.1\r\n";
        int fds[40];
        struct reply r;

        for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
                fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                CHECK(fds[i] >= 0);
                CHECK_INT(connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
                CHECK_INT(write(fds[i], partial, sizeof(partial) - 1), sizeof(partial) - 1);
        }
        /* 127.0.0.2 is another source address on the same loopback */
        r = fetch(URL("127.0.0.1:18080", "/healthz"), "--interface", "127.0.0.2", NULL);
        CHECK_INT(r.curl_exit, 0);
        CHECK_INT(r.status, 200);
        reply_done(&r);
        for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
                close(fds[i]);
}

/* Opens as many connections as the server takes (HTTP_CONNECTION_LIMIT): eight, the most one
 * address may hold, from each of 127.0.0.2 to 127.0.0.5, each with the start of a request. */
static void open_connections_to_the_limit(int fds[32], const char *partial)
{
        for (size_t i = 0; i < 32; i++) {
                struct sockaddr_in from = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000002 + i / 8) };
                struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(18080),
                                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

                fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
                CHECK(fds[i] >= 0);
                CHECK_INT(bind(fds[i], (struct sockaddr *)&from, sizeof(from)), 0);
                CHECK_INT(connect(fds[i], (struct sockaddr *)&to, sizeof(to)), 0);
                CHECK_INT(send(fds[i], partial, strlen(partial), MSG_NOSIGNAL), strlen(partial));
        }
}

/* Serves every server for ms milliseconds. */
static void serve_for(unsigned ms)
{
        struct itimerspec once = { .it_value = { ms / 1000, (long)(ms % 1000) * 1000000 } };
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = CLIENT_TAG };
        int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        uint64_t expirations;

        if (tfd < 0 || timerfd_settime(tfd, 0, &once, NULL) < 0 || epoll_ctl(loop.epfd, EPOLL_CTL_ADD, tfd, &ev) < 0)
                exit(2);
        while (!loop_iterate() || read(tfd, &expirations, sizeof(expirations)) != sizeof(expirations))
                ;
        epoll_ctl(loop.epfd, EPOLL_CTL_DEL, tfd, NULL);
        close(tfd);
}

/* Clients on four addresses, eight connections each, that trickle a byte a second are never idle
 * long enough for the idle timeout, and hold every connection the server takes: each is cut once
 * the request deadline passes, and the next probe is answered. */
static void test_trickling_clients_are_cut(void)
{
        struct itimerspec every_second = { .it_interval = { 1, 0 }, .it_value = { 1, 0 } };
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = CLIENT_TAG };
        int fds[32], tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        bool cut[ARRAY_SIZE(fds)] = { false };
        size_t n_cut = 0;
        struct reply r;

        CHECK(tfd >= 0);
        open_connections_to_the_limit(fds, "GET /healthz HTTP/1.1\r\nX-Slow: ");
        CHECK_INT(timerfd_settime(tfd, 0, &every_second, NULL), 0);
        CHECK_INT(epoll_ctl(loop.epfd, EPOLL_CTL_ADD, tfd, &ev), 0);
        /* the deadline is 10 s: give it twice that */
        for (unsigned ticks = 0; ticks < 20 && n_cut < ARRAY_SIZE(fds);) {
                uint64_t expirations;

                if (!loop_iterate() || read(tfd, &expirations, sizeof(expirations)) != sizeof(expirations))
                        continue;
                ticks++;
                for (size_t i = 0; i < ARRAY_SIZE(fds); i++) {
                        char c;
                        ssize_t k;

                        if (cut[i])
                                continue;
                        k = recv(fds[i], &c, 1, MSG_DONTWAIT | MSG_PEEK);
                        if (k == 0 || (k < 0 && errno != EAGAIN) || send(fds[i], "x", 1, MSG_NOSIGNAL) != 1) {
                                cut[i] = true;
                                n_cut++;
                        }
                }
        }
        CHECK_INT(n_cut, ARRAY_SIZE(fds));
        epoll_ctl(loop.epfd, EPOLL_CTL_DEL, tfd, NULL);
        close(tfd);
        r = fetch(URL("127.0.0.1:18080", "/healthz"), NULL, NULL, NULL);
        CHECK_INT(r.curl_exit, 0);
        CHECK_INT(r.status, 200);
        reply_done(&r);
        for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
                close(fds[i]);
}

/* Serves until fd has received a whole answer to GET /healthz (its body "ok" after the headers)
 * into buf, for at most 5 s; returns the bytes received, 0 if the server closed the connection. */
static size_t serve_until_answered(int fd, char *buf, size_t size)
{
        size_t len = 0;

        buf[0] = '\0';
        for (unsigned round = 0; round < 100 && !strstr(buf, "\r\n\r\nok"); round++) {
                ssize_t k;

                serve_for(50);
                k = recv(fd, buf + len, size - 1 - len, MSG_DONTWAIT);
                if (k == 0 || (k < 0 && errno != EAGAIN))
                        return 0;
                if (k > 0)
                        len += (size_t)k;
                buf[len] = '\0';
        }
        return len;
}

/* A client that keeps its connection and asks again now and then (kubelet's probes, Prometheus'
 * scrapes) is not cut: each request it sends starts the request deadline again. Seven requests
 * 2 s apart outlast the 10 s deadline. */
static void test_keepalive_client_is_not_cut(void)
{
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(18080),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        static const char request[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        CHECK(fd >= 0);
        CHECK_INT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        for (unsigned i = 0; i < 7; i++) {
                char buf[1024];

                if (i > 0)
                        serve_for(2000);
                CHECK_INT(send(fd, request, sizeof(request) - 1, MSG_NOSIGNAL), sizeof(request) - 1);
                if (!serve_until_answered(fd, buf, sizeof(buf))) {
                        fprintf(stderr, "request %u on one connection: the server closed it\n", i + 1);
                        CHECK(false);
                        break;
                }
                CHECK(strncmp(buf, "HTTP/1.1 200 ", 13) == 0);
        }
        close(fd);
}

/* At its connection limit the server stops listening; once the connections are gone it must
 * listen again by itself, also when they all close at once and nothing else wakes the loop. */
static void test_listens_again_after_the_limit(void)
{
        int fds[32];
        struct reply r;

        open_connections_to_the_limit(fds, "GET /healthz HTTP/1.1\r\n");
        serve_for(300); /* time to accept them all */
        for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
                close(fds[i]);
        r = fetch(URL("127.0.0.1:18080", "/healthz"), NULL, NULL, NULL);
        CHECK_INT(r.curl_exit, 0);
        CHECK_INT(r.status, 200);
        reply_done(&r);
}

/* Health and metrics on two addresses, each server answering only its own paths. */
static void test_two_servers(void)
{
        struct reply r;

        serve("127.0.0.1:18081", HTTP_PATHS_HEALTH);
        serve("[::1]:18082", HTTP_PATH_METRICS);

        r = fetch(URL("127.0.0.1:18081", "/healthz"), NULL, NULL, NULL);
        CHECK_INT(r.status, 200);
        reply_done(&r);
        r = fetch(URL("127.0.0.1:18081", "/metrics"), NULL, NULL, NULL);
        CHECK_INT(r.status, 404);
        reply_done(&r);
        r = fetch(URL("[::1]:18082", "/metrics"), NULL, NULL, NULL);
        CHECK_INT(r.status, 200);
        reply_done(&r);
        r = fetch(URL("[::1]:18082", "/readyz"), NULL, NULL, NULL);
        CHECK_INT(r.status, 404);
        reply_done(&r);
        /* [::1] is IPv6 only */
        r = fetch(URL("127.0.0.1:18082", "/metrics"), NULL, NULL, NULL);
        CHECK_INT(r.curl_exit, 7); /* could not connect */
        reply_done(&r);
}

/* Which families each form of bind address accepts. */
static void test_address_forms(void)
{
        static const struct {
                const char *bind, *v4_url, *v6_url;
                bool v4, v6;
                const char *bound; /* as the log shows it */
        } cases[] = {
                { ":18083", "http://127.0.0.1:18083/healthz", "http://[::1]:18083/healthz", true, true, "[::]:18083" },
                { "[::]:18084", "http://127.0.0.1:18084/healthz", "http://[::1]:18084/healthz", true, true, "[::]:18084" },
                { "0.0.0.0:18085", "http://127.0.0.1:18085/healthz", "http://[::1]:18085/healthz", true, false,
                  "0.0.0.0:18085" },
                { "localhost:18086", "http://127.0.0.1:18086/healthz", "http://[::1]:18086/healthz", true, false,
                  "127.0.0.1:18086" },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                char bound[HTTP_BOUND_MAX];
                struct reply r;

                CHECK_INT(http_server_format_bound(serve(cases[i].bind, HTTP_PATHS_ALL), bound, sizeof(bound)), 0);
                CHECK_STR(bound, cases[i].bound);
                r = fetch(cases[i].v4_url, NULL, NULL, NULL);
                if (r.status != (cases[i].v4 ? 200 : 0))
                        fprintf(stderr, "%s via IPv4: %d\n", cases[i].bind, r.status);
                CHECK_INT(r.status, cases[i].v4 ? 200 : 0);
                reply_done(&r);
                r = fetch(cases[i].v6_url, NULL, NULL, NULL);
                if (r.status != (cases[i].v6 ? 200 : 0))
                        fprintf(stderr, "%s via IPv6: %d\n", cases[i].bind, r.status);
                CHECK_INT(r.status, cases[i].v6 ? 200 : 0);
                reply_done(&r);
        }

        /* port 0: the kernel picks one */
        struct http_server *s = serve("127.0.0.1:0", HTTP_PATHS_ALL);
        char url[64];
        struct reply r;

        char bound[HTTP_BOUND_MAX], expected[HTTP_BOUND_MAX];

        CHECK(http_server_get_port(s) != 0);
        CHECK_INT(http_server_format_bound(s, bound, sizeof(bound)), 0);
        snprintf(expected, sizeof(expected), "127.0.0.1:%u", http_server_get_port(s));
        CHECK_STR(bound, expected);
        CHECK_INT(http_server_format_bound(s, bound, strlen(expected)), -ENOBUFS);
        snprintf(url, sizeof(url), "http://127.0.0.1:%u/healthz", http_server_get_port(s));
        r = fetch(url, NULL, NULL, NULL);
        CHECK_INT(r.status, 200);
        reply_done(&r);
}

static void test_bind_errors(void)
{
        static const struct {
                const char *address;
                int error;
        } cases[] = {
                /* syntax */
                { "", -EINVAL },                 { "8080", -EINVAL },            { ":", -EINVAL },
                { "127.0.0.1", -EINVAL },        { "127.0.0.1:", -EINVAL },      { "127.0.0.1:65536", -EINVAL },
                { "127.0.0.1:-1", -EINVAL },     { "127.0.0.1:+80", -EINVAL },   { "127.0.0.1:http", -EINVAL },
                { "127.0.0.1:80 ", -EINVAL },    { " 127.0.0.1:80", -EINVAL },   { "127.0.0.256:80", -EINVAL },
                { "::1:8080", -EINVAL },         { "[::1]8080", -EINVAL },       { "[::1]:", -EINVAL },
                { "[::1", -EINVAL },             { "[127.0.0.1]:80", -EINVAL },  { "[fe80::1%lo]:80", -EINVAL },
                { "example.com:80", -EINVAL },   { "[::1]:80:80", -EINVAL },
                /* the kernel's answers */
                { "192.0.2.1:18090", -EADDRNOTAVAIL },  /* not an address of this host */
                { "[2001:db8::1]:18090", -EADDRNOTAVAIL },
                { "127.0.0.1:18080", -EADDRINUSE },     /* test_endpoints' server */
                { ":18085", -EADDRINUSE },              /* dual stack overlaps 0.0.0.0:18085 */
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct http_server *s = NULL;
                const char *reason = NULL;
                int r = http_server_new(cases[i].address, HTTP_PATHS_ALL, &handlers, &st, &s, &reason);

                if (r != cases[i].error)
                        fprintf(stderr, "\"%s\": %d (%s), expected %d\n", cases[i].address, r,
                                reason ? reason : "-", cases[i].error);
                CHECK_INT(r, cases[i].error);
                CHECK(s == NULL);
                CHECK(reason != NULL && reason[0] != '\0');
                http_server_free(s);
        }
}

static void test_address_equal(void)
{
        static const struct {
                const char *a, *b;
                bool equal;
        } cases[] = {
                { ":8080", "[::]:8080", true },           { "localhost:80", "127.0.0.1:80", true },
                { "127.0.0.1:08080", "127.0.0.1:8080", true }, { "127.0.0.1:8080", "127.0.0.1:8081", false },
                { "0.0.0.0:8080", ":8080", false },       { "[::1]:8080", "127.0.0.1:8080", false },
                { "[::]:8080", "[::1]:8080", false },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct http_address a, b;
                const char *reason;

                CHECK_INT(http_address_parse(cases[i].a, &a, &reason), 0);
                CHECK_INT(http_address_parse(cases[i].b, &b, &reason), 0);
                CHECK_INT(http_address_equal(&a, &b), cases[i].equal);
        }
}

int main(void)
{
        _cleanup_(metrics_freep) struct metrics *m = NULL;

        /* Binding and connecting belong in a private namespace, never the machine's own. */
        if (!getenv("IMA_SANDBOX")) {
                fprintf(stderr, "test-http must run inside test-http.sh's private network namespace\n");
                return 2;
        }
        if (metrics_new("0.1.0-test", &m) < 0)
                return 2;
        metrics_reconcile_done(m, METRICS_RECONCILE_CHANGED, 0.003, 1795534282.5);
        st.metrics = m;
        loop.epfd = epoll_create1(EPOLL_CLOEXEC);
        if (loop.epfd < 0)
                return 2;

        TEST_RUN(test_address_equal);
        TEST_RUN(test_endpoints);
        TEST_RUN(test_methods);
        TEST_RUN(test_metrics);
        TEST_RUN(test_two_requests_one_connection);
        TEST_RUN(test_stalled_client);
        TEST_RUN(test_one_address_cannot_take_every_connection);
        TEST_RUN(test_trickling_clients_are_cut);
        TEST_RUN(test_keepalive_client_is_not_cut);
        TEST_RUN(test_listens_again_after_the_limit);
        TEST_RUN(test_two_servers);
        TEST_RUN(test_address_forms);
        TEST_RUN(test_bind_errors);
        stop_all();
        close(loop.epfd);
        TEST_EXIT();
}
