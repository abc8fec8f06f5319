/* http.h: the daemon's HTTP endpoints (/healthz, /readyz, /metrics) on libmicrohttpd, run by
 * the caller's single-threaded epoll loop: no thread of its own, nothing blocks. Owns the
 * listening socket, libmicrohttpd's daemon, its connections and its epoll fd. Decides nothing
 * about health, readiness or metrics: the caller's callbacks do, on the loop's thread.
 *
 * Integration, for each server (one per distinct bind address):
 *   epoll_ctl(loop, EPOLL_CTL_ADD, http_server_get_fd(s), EPOLLIN)
 *   each iteration: timeout = min(own timeout, http_server_get_timeout(s))   (-1: none)
 *                   epoll_wait(loop, ..., timeout)
 *                   if s's fd was readable or its timeout ran out: http_server_process(s)
 * The timeout must be re-read after every http_server_process(): libmicrohttpd's own epoll set is
 * edge-triggered, and when a connection still has buffered work it asks for 0 ms instead of making
 * its fd readable again. A spurious http_server_process() costs one epoll_wait(0) and is harmless.
 *
 * Bind addresses, as Kubernetes components spell them (--health-bind-address and friends):
 *   "127.0.0.1:8080", "0.0.0.0:10254"  one IPv4 address / every IPv4 address (IPv4 only)
 *   "[::1]:8080"                        one IPv6 address (IPv6 only)
 *   "[::]:8080", ":8080"                every address, IPv4 and IPv6 (one dual-stack socket, as Go
 *                                       listens); ":8080" falls back to IPv4 only on a kernel
 *                                       without IPv6
 *   "localhost:8080"                    127.0.0.1; other host names are refused (no DNS here)
 * Port 0 picks a free port (see http_server_get_port()).
 *
 * libmicrohttpd sends with MSG_NOSIGNAL (checked at start), so a client that hangs up raises no
 * SIGPIPE; the caller need not ignore it.
 *
 * Responses: GET and HEAD only (405 with "Allow: GET, HEAD" otherwise), 404 for other paths and
 * for paths this server does not serve; text/plain bodies; at most 32 connections, idle ones
 * closed after 10 s so a stuck client cannot pin a slot. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/macro.h"

struct http_server;

/* Which endpoints a server answers; the rest get 404. */
enum http_path {
        HTTP_PATH_HEALTHZ = 1 << 0,
        HTTP_PATH_READYZ = 1 << 1,
        HTTP_PATH_METRICS = 1 << 2,
};
#define HTTP_PATHS_HEALTH (HTTP_PATH_HEALTHZ | HTTP_PATH_READYZ)
#define HTTP_PATHS_ALL (HTTP_PATHS_HEALTH | HTTP_PATH_METRICS)

/* Called on the loop's thread while a request is being answered; must not block. */
struct http_handlers {
        /* /healthz and /readyz: true for 200 "ok"; false for 503 with the text the callback put in
         * reason (NUL-terminated, at most reason_size bytes). healthz may be NULL: answering at all
         * proves the loop is alive. */
        bool (*healthz)(void *userdata, char *reason, size_t reason_size);
        bool (*readyz)(void *userdata, char *reason, size_t reason_size);
        /* /metrics: 0 and a malloc'd body (the server frees it), or -errno for a 500. Typically
         * reads the kernel counters and calls metrics_render(). */
        int (*metrics)(void *userdata, char **ret, size_t *ret_len);
};

/* A parsed bind address. */
struct http_address {
        struct sockaddr_storage sa; /* AF_INET or AF_INET6, with the port */
        socklen_t sa_len;
        bool dual_stack;   /* an IPv6 wildcard that also accepts IPv4 */
        bool ipv4_fallback; /* ":port": 0.0.0.0 when the kernel has no IPv6 */
};

/* Parses a bind address (syntax above). -EINVAL with *ret_reason set to a static explanation,
 * e.g. "IPv6 addresses must be in brackets, as in [::1]:8080". */
int http_address_parse(const char *text, struct http_address *ret, const char **ret_reason);
/* Whether two addresses name the same socket (":8080" and "[::]:8080" do): the loop then starts
 * one server for both health and metrics. */
bool http_address_equal(const struct http_address *a, const struct http_address *b);

/* Binds address and starts serving paths (a mask of enum http_path). handlers is copied;
 * userdata is passed to every callback. Returns 0, or -errno with *ret_reason (static text) saying
 * which step failed: -EINVAL (bad address syntax), -EADDRINUSE, -EADDRNOTAVAIL (no such local
 * address), -EACCES (privileged port), -EAFNOSUPPORT (IPv6 address on a kernel without IPv6),
 * -EOPNOTSUPP (libmicrohttpd built without epoll), -ENOMEM. Log it as
 * log_error_errno(r, "--metrics-bind-address=%s: %s", address, reason). */
int http_server_new(const char *address, unsigned paths, const struct http_handlers *handlers, void *userdata,
                    struct http_server **ret, const char **ret_reason);
/* Closes every connection and the listening socket. Accepts NULL; returns NULL. */
struct http_server *http_server_free(struct http_server *s);
DEFINE_FREEP(struct http_server, http_server_free)

/* The fd to watch for EPOLLIN (libmicrohttpd's epoll fd; owned by s). */
int http_server_get_fd(const struct http_server *s);
/* Milliseconds until http_server_process() is due even without activity on the fd; -1 for
 * none, 0 for at once. Valid until the next http_server_process(). */
int http_server_get_timeout(struct http_server *s);
/* Accepts connections, reads requests, calls the handlers and writes responses, without blocking.
 * 0, or -EIO when libmicrohttpd reports an unrecoverable error (its epoll set is broken: the
 * caller should free and re-create the server). */
int http_server_process(struct http_server *s);
/* Whether libmicrohttpd said, since the last call, that it could not accept a connection for
 * want of file descriptors. With no connection open it then retries at once, forever: the caller
 * should stop polling the fd for a while. */
bool http_server_out_of_fds(struct http_server *s);
/* The bound port (the one the kernel picked for port 0). */
uint16_t http_server_get_port(const struct http_server *s);
/* The bound address as "127.0.0.1:10254" or "[::]:10254", with the port the kernel picked for
 * port 0 and the wildcard ":port" fell back to. 0, -EAFNOSUPPORT when it is not known, or
 * -ENOBUFS. HTTP_BOUND_MAX holds any. */
#define HTTP_BOUND_MAX (INET6_ADDRSTRLEN + 8)
int http_server_format_bound(const struct http_server *s, char *buf, size_t size);
