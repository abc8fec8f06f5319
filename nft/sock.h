/* sock.h: one netfilter netlink socket (libmnl) for requests and batches: sequence numbers,
 * buffer sizing, request/response loops with dump-interruption detection, and decoding of
 * (extended) ACKs. Knows nothing about tables or sets. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lib/macro.h"

struct nlmsghdr;
struct ima_nl;

/* Opens and binds a NETLINK_NETFILTER socket with NETLINK_EXT_ACK and NETLINK_CAP_ACK.
 * Returns 0 or -errno (-EPERM without CAP_NET_ADMIN is reported at the first request). */
int ima_nl_open(struct ima_nl **ret);
struct ima_nl *ima_nl_free(struct ima_nl *nl);
DEFINE_FREEP(struct ima_nl, ima_nl_free)

uint32_t ima_nl_portid(const struct ima_nl *nl);
int ima_nl_fd(const struct ima_nl *nl);
/* Reserves n consecutive sequence numbers and returns the first. */
uint32_t ima_nl_seq_reserve(struct ima_nl *nl, uint32_t n);

/* Grows SO_SNDBUF/SO_RCVBUF to at least the given sizes, with the *FORCE variants when privileged
 * and the plain ones (capped by net.core.[rw]mem_max) otherwise. Returns 0; a size that could not
 * be reached is detected by the kernel later (EMSGSIZE / ENOBUFS). */
int ima_nl_reserve_buffers(struct ima_nl *nl, size_t snd, size_t rcv);

/* Sends the iovecs as one datagram (a batch must be one sendmsg). 0 or -errno. */
int ima_nl_sendv(struct ima_nl *nl, const struct iovec *iov, size_t n_iov);

/* Receives one queued datagram into buf, without waiting: nfnetlink queues its answers before
 * sendmsg() returns. Returns the length, -EAGAIN when nothing is queued, or -errno (-ENOBUFS: the
 * kernel dropped messages for us). */
int ima_nl_recv(struct ima_nl *nl, void *buf, size_t size);

/* When a request returned before the end of its answer, reads and drops whatever is queued: its
 * answers (their seq is past, and they take room the next answer needs) and the rest of a dump
 * left running, which would make the socket's next dump fail with EBUSY. Otherwise does nothing. */
void ima_nl_drop_stale(struct ima_nl *nl);

/* Callback for each data message of a request's answer; returns 0 to go on or -errno to fail. */
typedef int (*ima_nl_msg_cb)(const struct nlmsghdr *nlh, void *userdata);

/* Sends one request (built in buf by the caller, with its own seq) and feeds every answer
 * message to cb until the kernel's ACK or NLMSG_DONE. Returns 0, the kernel's -errno (e.g.
 * -ENOENT), cb's first error, -EINTR when a dump was interrupted by a concurrent change, or
 * -ENOBUFS when part of the answer was dropped (the rest is read, not passed to cb). Never waits
 * for an answer that is not queued. The answer is read to its end, so the socket can dump again;
 * what a request that returned early left queued is dropped first (ima_nl_drop_stale()). */
int ima_nl_request(struct ima_nl *nl, const struct nlmsghdr *req, ima_nl_msg_cb cb, void *userdata);

/* The current nf_tables generation (NFT_MSG_GETGEN). 0 or -errno. The kernel moves it when a
 * commit starts applying its changes, before they are all visible and before its events are
 * sent: see ima_nl_barrier(). */
int ima_nl_getgen(struct ima_nl *nl, uint32_t *ret);

/* The generation a commit at g produces: one more, except that the kernel skips 0. */
static inline uint32_t ima_genid_next(uint32_t g)
{
        return g == UINT32_MAX ? 1 : g + 1;
}

/* Returns once every commit that had begun is over: its changes visible, its events queued. An
 * empty transaction takes the commit lock, which a commit holds from moving the generation to
 * sending its last event, and commits nothing (no generation, no event). On older kernels an
 * empty transaction moves the generation like any commit; the first call finds that out (a few
 * tries) and then none waits. 0 or -errno. */
int ima_nl_barrier(struct ima_nl *nl);
/* Whether ima_nl_barrier() waits on this kernel (before the first call: not known, true). */
bool ima_nl_barrier_available(struct ima_nl *nl);

/* For an NLMSG_ERROR message: the (negative or zero) error code, the seq it answers, and the
 * kernel's extended-ACK text when present (pointer into nlh, or NULL). */
void ima_nl_parse_error(const struct nlmsghdr *nlh, int *ret_err, uint32_t *ret_seq, const char **ret_msg);
