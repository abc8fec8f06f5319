#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cmd/http.h"
#include "cmd/log.h"
#include "cmd/mhd.h"
#include "lib/clock.h"

/* Probes and one or two scrapers need a handful; the cap bounds what a misbehaving client costs. */
#define HTTP_CONNECTION_LIMIT 32
/* ...and no one address may take them all: the idle timeout does not stop a client that trickles
 * a byte every few seconds, and health often shares the listener with metrics on every node
 * address. kubelet's probes and a scraper each hold one or two at a time. */
#define HTTP_PER_IP_CONNECTION_LIMIT 8
/* Seconds a connection may sit idle (also mid-request) before it is closed. */
#define HTTP_CONNECTION_TIMEOUT 10
/* ...and the time a request has to arrive whole (from the connection's start or the previous
 * answer), and an answer to be taken: libmicrohttpd's timeout counts idle time only, so a client
 * sending a byte every few seconds would hold a connection for good. Probes and scrapes take
 * milliseconds. */
#define HTTP_REQUEST_DEADLINE_MS (10 * 1000)
#define HTTP_LISTEN_BACKLOG 64
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define TEXT_CONTENT_TYPE "text/plain; charset=utf-8"

/* libmicrohttpd's last message while a server was starting: its reason when it fails to start.
 * Written only inside start_daemon(); global because the failed server is gone by the time the
 * caller reads the reason. */
static char mhd_start_error[256];

/* A connection libmicrohttpd holds, and when it is cut if no request has come whole by then. */
struct http_connection {
        struct MHD_Connection *connection; /* NULL: a free slot */
        int fd;
        uint64_t deadline_ms; /* UINT64_MAX once cut */
};

struct http_server {
        bool starting;
        const struct mhd_api *mhd;
        struct MHD_Daemon *daemon;
        unsigned paths;
        struct http_handlers handlers;
        void *userdata;
        struct sockaddr_storage bound; /* what the kernel bound: the port it picked for port 0 */
        int epoll_fd;
        bool out_of_fds;
        /* libmicrohttpd takes its listening socket out of its epoll set at the connection limit
         * and puts it back only at the start of a pass: one must follow the pass that left the
         * limit, or new connections wait in the backlog until something else wakes the loop */
        bool relisten;
        unsigned n_connections;
        struct http_connection connections[HTTP_CONNECTION_LIMIT];
};

/* ---- addresses ---------------------------------------------------------------------------- */

static int parse_port(const char *s, uint16_t *ret)
{
        unsigned long v = 0;

        if (*s == '\0')
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned long)(*s - '0');
                if (v > 65535)
                        return -EINVAL;
        }
        *ret = (uint16_t)v;
        return 0;
}

static void set_ipv4(struct http_address *a, in_addr_t addr, uint16_t port)
{
        struct sockaddr_in *in = (struct sockaddr_in *)&a->sa;

        in->sin_family = AF_INET;
        in->sin_addr.s_addr = addr;
        in->sin_port = htons(port);
        a->sa_len = sizeof(*in);
}

static void set_ipv6(struct http_address *a, const struct in6_addr *addr, uint16_t port)
{
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->sa;

        in6->sin6_family = AF_INET6;
        in6->sin6_addr = *addr;
        in6->sin6_port = htons(port);
        a->sa_len = sizeof(*in6);
}

/* inet_pton() on the len bytes at s, which are not NUL-terminated. */
static bool parse_ip(int af, const char *s, size_t len, void *ret)
{
        char buf[INET6_ADDRSTRLEN];

        if (len >= sizeof(buf))
                return false;
        memcpy(buf, s, len);
        buf[len] = '\0';
        return inet_pton(af, buf, ret) == 1;
}

/* "[v6]:port": the part in brackets must be an IPv6 address (no zone). */
static int parse_bracketed(const char *text, struct http_address *a, const char **reason)
{
        const char *close = strchr(text, ']');
        struct in6_addr addr;
        uint16_t port;

        if (!close || close[1] != ':') {
                *reason = "expected [IPv6 address]:port, as in [::1]:8080";
                return -EINVAL;
        }
        if (!parse_ip(AF_INET6, text + 1, (size_t)(close - text - 1), &addr)) {
                *reason = "the part in brackets is not an IPv6 address";
                return -EINVAL;
        }
        if (parse_port(close + 2, &port) < 0) {
                *reason = "the port must be a number from 0 to 65535";
                return -EINVAL;
        }
        set_ipv6(a, &addr, port);
        a->dual_stack = IN6_IS_ADDR_UNSPECIFIED(&addr);
        return 0;
}

int http_address_parse(const char *text, struct http_address *ret, const char **ret_reason)
{
        struct http_address a = { 0 };
        const char *colon = strrchr(text, ':');
        struct in_addr addr;
        size_t host_len;
        uint16_t port;
        int r;

        if (text[0] == '[') {
                r = parse_bracketed(text, &a, ret_reason);
                if (r < 0)
                        return r;
                *ret = a;
                return 0;
        }
        if (!colon) {
                *ret_reason = "expected host:port, as in 0.0.0.0:10254, 127.0.0.1:8080 or :8080";
                return -EINVAL;
        }
        if (memchr(text, ':', (size_t)(colon - text))) {
                *ret_reason = "IPv6 addresses must be in brackets, as in [::1]:8080";
                return -EINVAL;
        }
        if (parse_port(colon + 1, &port) < 0) {
                *ret_reason = "the port must be a number from 0 to 65535";
                return -EINVAL;
        }
        host_len = (size_t)(colon - text);
        if (host_len == 0) {
                /* ":port" means every address, as Go's net.Listen reads it */
                set_ipv6(&a, &in6addr_any, port);
                a.dual_stack = a.ipv4_fallback = true;
        } else if (host_len == 9 && strncmp(text, "localhost", 9) == 0) {
                set_ipv4(&a, htonl(INADDR_LOOPBACK), port);
        } else if (parse_ip(AF_INET, text, host_len, &addr)) {
                set_ipv4(&a, addr.s_addr, port);
        } else {
                *ret_reason = "the host must be an IP address (or empty for every address); host names are not resolved";
                return -EINVAL;
        }
        *ret = a;
        return 0;
}

bool http_address_equal(const struct http_address *a, const struct http_address *b)
{
        return a->sa_len == b->sa_len && a->dual_stack == b->dual_stack && memcmp(&a->sa, &b->sa, a->sa_len) == 0;
}

/* A non-blocking listening socket on a. *reason names the step that failed. */
static int open_listener(const struct http_address *a, int *ret_fd, const char **reason)
{
        _cleanup_close_ int fd = -1;
        int one = 1, v6only = !a->dual_stack;

        *reason = "cannot create the listening socket";
        fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* a restarted agent must not wait for the old connections' TIME_WAIT to end */
        if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
                return -errno;
        /* set explicitly: the default follows the net.ipv6.bindv6only sysctl */
        if (a->sa.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)) < 0)
                return -errno;
        *reason = "cannot bind";
        if (bind(fd, (const struct sockaddr *)&a->sa, a->sa_len) < 0)
                return -errno;
        *reason = "cannot listen";
        if (listen(fd, HTTP_LISTEN_BACKLOG) < 0)
                return -errno;
        *ret_fd = fd;
        fd = -1;
        return 0;
}

static int open_listener_with_fallback(const struct http_address *a, int *ret_fd, const char **reason)
{
        struct http_address v4 = { 0 };
        uint16_t port;
        int r;

        r = open_listener(a, ret_fd, reason);
        if (r != -EAFNOSUPPORT || !a->ipv4_fallback)
                return r;
        port = ntohs(((const struct sockaddr_in6 *)&a->sa)->sin6_port);
        set_ipv4(&v4, htonl(INADDR_ANY), port);
        return open_listener(&v4, ret_fd, reason);
}

static uint16_t sockaddr_port(const struct sockaddr_storage *ss)
{
        if (ss->ss_family == AF_INET6)
                return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* ---- requests ----------------------------------------------------------------------------- */

/* Queues a response with a malloc'd body that libmicrohttpd frees once sent (freed here when
 * this fails). */
/* One request being answered: what the reply functions need, and what its log line names. */
struct request {
        const struct mhd_api *mhd;
        struct MHD_Connection *c;
        const char *method, *url;
};

static enum MHD_Result reply(const struct request *req, unsigned status, const char *content_type, char *body,
                             size_t len)
{
        const struct mhd_api *mhd = req->mhd;
        struct MHD_Response *resp;
        enum MHD_Result r;

        log_v_kv(5, "http request", LOG_STR("method", req->method), LOG_STR("path", req->url),
                 LOG_INT("status", (int64_t)status));
        resp = mhd->create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        if (!resp) {
                free(body);
                return MHD_NO; /* out of memory: drop the connection */
        }
        if (mhd->add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES ||
            mhd->add_response_header(resp, "X-Content-Type-Options", "nosniff") != MHD_YES ||
            (status == MHD_HTTP_METHOD_NOT_ALLOWED &&
             mhd->add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES)) {
                mhd->destroy_response(resp);
                return MHD_NO;
        }
        r = mhd->queue_response(req->c, status, resp);
        mhd->destroy_response(resp); /* the connection holds its own reference */
        return r;
}

static enum MHD_Result reply_text(const struct request *req, unsigned status, const char *text)
{
        /* the API takes a mutable buffer; give it a copy to free rather than cast const away */
        char *copy = strdup(text);

        if (!copy)
                return MHD_NO;
        return reply(req, status, TEXT_CONTENT_TYPE, copy, strlen(copy));
}

static enum MHD_Result reply_check(const struct request *req, bool (*check)(void *, char *, size_t), void *userdata)
{
        char reason[512] = "";
        char body[sizeof(reason) + 1];

        if (!check || check(userdata, reason, sizeof(reason)))
                return reply_text(req, MHD_HTTP_OK, "ok");
        reason[sizeof(reason) - 1] = '\0';
        snprintf(body, sizeof(body), "%s\n", reason[0] ? reason : "not ok");
        return reply_text(req, MHD_HTTP_SERVICE_UNAVAILABLE, body);
}

static enum MHD_Result reply_metrics(struct http_server *s, const struct request *req)
{
        char *body = NULL;
        size_t len = 0;
        int r;

        r = s->handlers.metrics ? s->handlers.metrics(s->userdata, &body, &len) : -EOPNOTSUPP;
        if (r < 0) {
                log_error_errno(r, "cannot produce the metrics for a scrape");
                return reply_text(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "metrics unavailable\n");
        }
        return reply(req, MHD_HTTP_OK, METRICS_CONTENT_TYPE, body, len);
}

/* The request is in: the answer, and the next request on this connection, get their own time. */
static void restart_deadline(struct http_server *s, const struct MHD_Connection *c)
{
        for (size_t i = 0; i < HTTP_CONNECTION_LIMIT; i++)
                if (s->connections[i].connection == c && s->connections[i].deadline_ms != UINT64_MAX) {
                        s->connections[i].deadline_ms = ima_now_ms() + HTTP_REQUEST_DEADLINE_MS;
                        return;
                }
}

/* libmicrohttpd's connection start and end. A connection that finds no slot (more than the limit
 * cannot happen) is left to the idle timeout. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
        struct http_server *s = cls;
        struct http_connection *slot = *socket_context;
        const union MHD_ConnectionInfo *info;

        if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
                if (slot) {
                        *slot = (struct http_connection){ .fd = -1 };
                        if (s->n_connections-- == HTTP_CONNECTION_LIMIT)
                                s->relisten = true;
                }
                *socket_context = NULL;
                return;
        }
        info = s->mhd->get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!info)
                return;
        for (size_t i = 0; i < HTTP_CONNECTION_LIMIT; i++)
                if (!s->connections[i].connection) {
                        s->connections[i] = (struct http_connection){
                                .connection = c,
                                .fd = info->connect_fd,
                                .deadline_ms = ima_now_ms() + HTTP_REQUEST_DEADLINE_MS,
                        };
                        *socket_context = &s->connections[i];
                        s->n_connections++;
                        return;
                }
}

/* Cuts the connections past their deadline: shut down, the socket reads as closed, and
 * libmicrohttpd closes it on its next pass. */
static void cut_late_connections(struct http_server *s)
{
        uint64_t now = ima_now_ms();

        for (size_t i = 0; i < HTTP_CONNECTION_LIMIT; i++) {
                struct http_connection *hc = &s->connections[i];

                if (!hc->connection || hc->deadline_ms > now)
                        continue;
                log_v(2, "HTTP connection cut: no whole request in %d s", HTTP_REQUEST_DEADLINE_MS / 1000);
                (void)shutdown(hc->fd, SHUT_RDWR);
                hc->deadline_ms = UINT64_MAX;
        }
}

static unsigned path_of(const char *url)
{
        if (strcmp(url, "/healthz") == 0)
                return HTTP_PATH_HEALTHZ;
        if (strcmp(url, "/readyz") == 0)
                return HTTP_PATH_READYZ;
        if (strcmp(url, "/metrics") == 0)
                return HTTP_PATH_METRICS;
        return 0;
}

/* libmicrohttpd's access handler: called once when the headers are in, again for each chunk of
 * request body, and once more when the request is complete. url comes without the query string.
 *
 * Errors are answered on the first call: libmicrohttpd then closes the connection after the
 * response instead of reading a body we don't want. Answers that should keep the connection open
 * wait for the last call, because a response queued on the first one makes libmicrohttpd
 * (0.9.75) close the connection even when the request had no body. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
        struct http_server *s = cls;
        unsigned path = path_of(url) & s->paths;
        const struct request req = { .mhd = s->mhd, .c = c, .method = method, .url = url };

        if (!*req_cls) {
                if (!path)
                        return reply_text(&req, MHD_HTTP_NOT_FOUND, "404 page not found\n");
                if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
                        return reply_text(&req, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
                *req_cls = s; /* any non-NULL mark: "seen" */
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                *upload_data_size = 0; /* a GET with a body: ignore the body */
                return MHD_YES;
        }
        restart_deadline(s, c);
        /* HEAD: libmicrohttpd sends the headers (with Content-Length) and drops the body */
        switch (path) {
        case HTTP_PATH_HEALTHZ:
                return reply_check(&req, s->handlers.healthz, s->userdata);
        case HTTP_PATH_READYZ:
                return reply_check(&req, s->handlers.readyz, s->userdata);
        default:
                return reply_metrics(s, &req);
        }
}

/* libmicrohttpd's own diagnostics (malformed requests, resets). Clients cause them, so they stay
 * below the default verbosity. */
static void _printf_(2, 0) on_mhd_log(void *cls, const char *fmt, va_list ap)
{
        struct http_server *s = cls;
        _cleanup_free_ char *msg = NULL;
        size_t len;

        if (s->starting) {
                va_list copy;
                int n;

                va_copy(copy, ap);
                n = snprintf(mhd_start_error, sizeof(mhd_start_error), "libmicrohttpd could not start: ");
                (void)vsnprintf(mhd_start_error + n, sizeof(mhd_start_error) - (size_t)n, fmt, copy);
                va_end(copy);
                len = strlen(mhd_start_error);
                while (len > 0 && mhd_start_error[len - 1] == '\n')
                        mhd_start_error[--len] = '\0';
        }
        /* "Hit process or system resource limit at ... connection(s)": accept() failed with EMFILE
         * or ENFILE. The message is the only sign libmicrohttpd gives of it. */
        if (strstr(fmt, "resource limit"))
                s->out_of_fds = true;
        if (!log_v_enabled(2, __FILE__) || vasprintf(&msg, fmt, ap) < 0)
                return;
        len = strlen(msg);
        while (len > 0 && msg[len - 1] == '\n')
                msg[--len] = '\0';
        log_v(2, "libmicrohttpd: %s", msg);
}

/* ---- server ------------------------------------------------------------------------------- */

static int start_daemon(struct http_server *s, int listen_fd, const char **reason)
{
        const union MHD_DaemonInfo *info;

        snprintf(mhd_start_error, sizeof(mhd_start_error),
                 "libmicrohttpd could not start (out of memory or file descriptors)");
        *reason = mhd_start_error;
        s->starting = true;
        /* MHD_USE_EPOLL without MHD_USE_INTERNAL_POLLING_THREAD: no threads, the caller polls.
         * The logger comes first: libmicrohttpd prints what the options before it cause on its
         * own stderr logger, bypassing ours (and says so) */
        s->daemon = s->mhd->start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, s,
                                     MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
                                     MHD_OPTION_LISTEN_SOCKET, listen_fd,
                                     MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTION_LIMIT,
                                     MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_PER_IP_CONNECTION_LIMIT,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_CONNECTION_TIMEOUT,
                                     MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                                     MHD_OPTION_END);
        s->starting = false;
        if (!s->daemon) {
                /* Whether libmicrohttpd closed our socket on failure depends on where it failed;
                 * we are single-threaded, so a still-valid fd is still ours. */
                if (fcntl(listen_fd, F_GETFD) >= 0)
                        close(listen_fd);
                return -ENOMEM;
        }
        info = s->mhd->get_daemon_info(s->daemon, MHD_DAEMON_INFO_EPOLL_FD);
        if (!info) {
                *reason = "libmicrohttpd did not expose its epoll fd";
                return -EOPNOTSUPP;
        }
        s->epoll_fd = info->epoll_fd;
        return 0;
}

int http_server_new(const char *address, unsigned paths, const struct http_handlers *handlers, void *userdata,
                    struct http_server **ret, const char **ret_reason)
{
        _cleanup_(http_server_freep) struct http_server *s = NULL;
        const struct mhd_api *mhd;
        struct http_address a;
        socklen_t bound_len = sizeof(struct sockaddr_storage);
        int r, listen_fd = -1;

        r = http_address_parse(address, &a, ret_reason);
        if (r < 0)
                return r;
        mhd = mhd_load(ret_reason);
        if (!mhd)
                return -ENOENT;
        /* Debian's build has both; a build without them would fail in obscure ways: no external
         * epoll loop, or a SIGPIPE that kills the agent when a scraper hangs up mid-response */
        if (mhd->is_feature_supported(MHD_FEATURE_EPOLL) != MHD_YES ||
            mhd->is_feature_supported(MHD_FEATURE_AUTOSUPPRESS_SIGPIPE) != MHD_YES) {
                *ret_reason = "libmicrohttpd was built without epoll or without SIGPIPE suppression";
                return -EOPNOTSUPP;
        }
        s = calloc(1, sizeof(*s));
        if (!s) {
                *ret_reason = "out of memory";
                return -ENOMEM;
        }
        *s = (struct http_server){ .mhd = mhd, .paths = paths, .handlers = *handlers, .userdata = userdata, .epoll_fd = -1 };
        r = open_listener_with_fallback(&a, &listen_fd, ret_reason);
        if (r < 0)
                return r;
        /* the failure leaves the family 0: the log then shows the address as written */
        if (getsockname(listen_fd, (struct sockaddr *)&s->bound, &bound_len) < 0)
                s->bound.ss_family = AF_UNSPEC;
        /* from here on libmicrohttpd owns listen_fd and closes it in MHD_stop_daemon() */
        r = start_daemon(s, listen_fd, ret_reason);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

struct http_server *http_server_free(struct http_server *s)
{
        if (!s)
                return NULL;
        if (s->daemon)
                s->mhd->stop_daemon(s->daemon);
        free(s);
        return NULL;
}

int http_server_get_fd(const struct http_server *s)
{
        return s->epoll_fd;
}

int http_server_get_timeout(struct http_server *s)
{
        MHD_UNSIGNED_LONG_LONG ms;
        uint64_t soonest = UINT64_MAX, now = ima_now_ms();

        if (s->relisten)
                return 0;
        if (s->mhd->get_timeout(s->daemon, &ms) == MHD_YES)
                soonest = ms;
        for (size_t i = 0; i < HTTP_CONNECTION_LIMIT; i++) {
                const struct http_connection *hc = &s->connections[i];
                uint64_t due;

                if (!hc->connection || hc->deadline_ms == UINT64_MAX)
                        continue;
                due = hc->deadline_ms > now ? hc->deadline_ms - now : 0;
                if (due < soonest)
                        soonest = due;
        }
        if (soonest == UINT64_MAX)
                return -1;
        return soonest > INT_MAX ? INT_MAX : (int)soonest;
}

int http_server_process(struct http_server *s)
{
        /* MHD_run_wait(0), not MHD_run(): in 0.9.75 MHD_run() drops the result of its epoll pass
         * and reports success even when the epoll set is broken. In epoll mode this is one
         * epoll_wait(0) on libmicrohttpd's set plus whatever work is due. Connections it closes
         * during the pass set relisten again. */
        s->relisten = false;
        if (s->mhd->run_wait(s->daemon, 0) != MHD_YES)
                return -EIO;
        cut_late_connections(s);
        return 0;
}

bool http_server_out_of_fds(struct http_server *s)
{
        bool r = s->out_of_fds;

        s->out_of_fds = false;
        return r;
}

uint16_t http_server_get_port(const struct http_server *s)
{
        return sockaddr_port(&s->bound);
}

int http_server_format_bound(const struct http_server *s, char *buf, size_t size)
{
        char host[INET6_ADDRSTRLEN];
        const void *addr;
        int n;

        if (s->bound.ss_family == AF_INET6)
                addr = &((const struct sockaddr_in6 *)&s->bound)->sin6_addr;
        else if (s->bound.ss_family == AF_INET)
                addr = &((const struct sockaddr_in *)&s->bound)->sin_addr;
        else
                return -EAFNOSUPPORT;
        if (!inet_ntop(s->bound.ss_family, addr, host, sizeof(host)))
                return -errno;
        n = snprintf(buf, size, s->bound.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host,
                     sockaddr_port(&s->bound));
        return n < 0 || (size_t)n >= size ? -ENOBUFS : 0;
}
