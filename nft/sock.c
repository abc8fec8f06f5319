#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "nft/sock.h"

/* Large enough for any single netlink message the kernel sends us in a dump. */
#define NL_RECV_BUFSIZE (64 * 1024)
/* Bounds the reads that drop stale answers before a request: reading back 100,000 intervals, all
 * its dumps, takes about 140; past the bound the request goes out anyway (and may see EBUSY). */
#define NL_DRAIN_MAX_READS 100000
/* Empty transactions tried before concluding that they move the generation on this kernel: each
 * try that sees it move may have met another process's commit. */
#define BARRIER_PROBES 5

enum barrier_support {
        BARRIER_UNKNOWN,
        BARRIER_SILENT,    /* an empty transaction commits nothing: usable as a barrier */
        BARRIER_MOVES_GEN, /* it moves the generation and sends NEWGEN (older kernels): not used */
};

struct ima_nl {
        struct mnl_socket *sock;
        uint32_t portid;
        uint32_t next_seq;
        size_t sndbuf;
        size_t rcvbuf;
        char *recv_buf;
        bool stale; /* a request returned before the end of its answer: drop the queue first */
        enum barrier_support barrier;
};

int ima_nl_open(struct ima_nl **ret)
{
        _cleanup_(ima_nl_freep) struct ima_nl *nl = calloc(1, sizeof(*nl));
        int one = 1;

        if (!nl)
                return -ENOMEM;
        nl->recv_buf = malloc(NL_RECV_BUFSIZE);
        if (!nl->recv_buf)
                return -ENOMEM;
        nl->sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
        if (!nl->sock)
                return -errno;
        if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0)
                return -errno;
        /* both are best effort: without EXT_ACK errors lose their text, without CAP_ACK every
         * error echoes the whole request back */
        (void)mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
        (void)mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
        nl->portid = mnl_socket_get_portid(nl->sock);
        /* seq starts from the clock, like nft, so replies to a previous process are never
         * mistaken for ours */
        nl->next_seq = (uint32_t)time(NULL);
        *ret = TAKE_PTR(nl);
        return 0;
}

struct ima_nl *ima_nl_free(struct ima_nl *nl)
{
        if (!nl)
                return NULL;
        if (nl->sock)
                mnl_socket_close(nl->sock);
        free(nl->recv_buf);
        free(nl);
        return NULL;
}

uint32_t ima_nl_portid(const struct ima_nl *nl)
{
        return nl->portid;
}

int ima_nl_fd(const struct ima_nl *nl)
{
        return mnl_socket_get_fd(nl->sock);
}

uint32_t ima_nl_seq_reserve(struct ima_nl *nl, uint32_t n)
{
        uint32_t first = nl->next_seq;

        nl->next_seq += n;
        return first;
}

static void grow_buffer(int fd, int force_opt, int opt, size_t want)
{
        int v = want > INT32_MAX / 2 ? INT32_MAX / 2 : (int)want;

        if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof(v)) < 0)
                (void)setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v));
}

int ima_nl_reserve_buffers(struct ima_nl *nl, size_t snd, size_t rcv)
{
        int fd = ima_nl_fd(nl);

        if (snd > nl->sndbuf) {
                grow_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, snd);
                nl->sndbuf = snd;
        }
        if (rcv > nl->rcvbuf) {
                grow_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, rcv);
                nl->rcvbuf = rcv;
        }
        return 0;
}

int ima_nl_sendv(struct ima_nl *nl, const struct iovec *iov, size_t n_iov)
{
        struct sockaddr_nl snl = { .nl_family = AF_NETLINK };
        struct msghdr msg = {
                .msg_name = &snl,
                .msg_namelen = sizeof(snl),
                .msg_iov = (struct iovec *)iov,
                .msg_iovlen = n_iov,
        };

        for (;;) {
                if (sendmsg(ima_nl_fd(nl), &msg, 0) >= 0)
                        return 0;
                if (errno != EINTR)
                        return -errno;
        }
}

int ima_nl_recv(struct ima_nl *nl, void *buf, size_t size)
{
        for (;;) {
                ssize_t n = recv(ima_nl_fd(nl), buf, size, MSG_DONTWAIT);

                if (n >= 0)
                        return (int)n;
                if (errno == EINTR)
                        continue;
                return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        }
}

void ima_nl_parse_error(const struct nlmsghdr *nlh, int *ret_err, uint32_t *ret_seq, const char **ret_msg)
{
        const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
        size_t len = mnl_nlmsg_get_payload_len(nlh);
        const char *msg = NULL;

        if (len < sizeof(*e)) { /* too short to say which request failed, or why */
                *ret_err = -EBADMSG;
                *ret_seq = nlh->nlmsg_seq;
                if (ret_msg)
                        *ret_msg = NULL;
                return;
        }
        *ret_err = e->error;
        *ret_seq = e->msg.nlmsg_seq;
        if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
                /* with NETLINK_CAP_ACK only the request's header is echoed, then the TLVs; else
                 * the whole request, padded to the netlink alignment */
                size_t off = sizeof(*e);
                const struct nlattr *a;
                int left;

                if (!(nlh->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len > sizeof(e->msg))
                        off += MNL_ALIGN(e->msg.nlmsg_len - sizeof(e->msg));
                if (off > len)
                        off = len;
                a = (const struct nlattr *)((const char *)e + off);
                left = (int)(len - off);
                for (; mnl_attr_ok(a, left); left -= (int)MNL_ALIGN(a->nla_len), a = mnl_attr_next(a))
                        if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
                            mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
                                msg = mnl_attr_get_str(a);
        }
        if (ret_msg)
                *ret_msg = msg;
}

/* Each read lets the kernel queue the next part of a dump left running, so this ends with it. */
void ima_nl_drop_stale(struct ima_nl *nl)
{
        if (!nl->stale)
                return;
        for (unsigned i = 0; i < NL_DRAIN_MAX_READS; i++) {
                int n = ima_nl_recv(nl, nl->recv_buf, NL_RECV_BUFSIZE);

                if (n < 0 && n != -ENOBUFS)
                        break;
        }
        nl->stale = false;
}

int ima_nl_request(struct ima_nl *nl, const struct nlmsghdr *req, ima_nl_msg_cb cb, void *userdata)
{
        bool interrupted = false, lost = false;
        int failed = 0; /* the callback's first error: the rest of the answer is drained unread */
        struct iovec iov = { .iov_base = (void *)req, .iov_len = req->nlmsg_len };
        int r;

        ima_nl_drop_stale(nl);
        r = ima_nl_sendv(nl, &iov, 1);
        if (r < 0)
                return r;
        nl->stale = true; /* until the ACK or DONE is read */
        /* nfnetlink answers a request inside sendmsg(), and queues a dump's next part inside the
         * recv() that takes the previous one: an empty queue before the ACK or DONE means the
         * answer was dropped (receive buffer overrun). Waiting for it would wait for ever. */
        for (;;) {
                int n = ima_nl_recv(nl, nl->recv_buf, NL_RECV_BUFSIZE);

                if (n == -ENOBUFS) {
                        /* some of the answer is gone; read on, so no dump is left running */
                        lost = true;
                        continue;
                }
                if (n == -EAGAIN)
                        return failed ? failed : -ENOBUFS;
                if (n < 0)
                        return n;
                for (const struct nlmsghdr *h = (const struct nlmsghdr *)nl->recv_buf; mnl_nlmsg_ok(h, n);
                     h = mnl_nlmsg_next(h, &n)) {
                        int err;
                        uint32_t seq;

                        if (h->nlmsg_seq != req->nlmsg_seq || h->nlmsg_pid != nl->portid)
                                continue; /* a stale answer to an earlier, abandoned request */
                        if (h->nlmsg_flags & NLM_F_DUMP_INTR)
                                interrupted = true;
                        if (h->nlmsg_type == NLMSG_DONE) {
                                /* a dump the kernel ended early says so in DONE's payload: what
                                 * came before it is not the whole answer */
                                int done_err = mnl_nlmsg_get_payload_len(h) >= sizeof(int)
                                                       ? *(const int *)mnl_nlmsg_get_payload(h) : 0;

                                nl->stale = false;
                                return failed ? failed : lost ? -ENOBUFS : interrupted ? -EINTR
                                                                        : done_err < 0 ? done_err : 0;
                        }
                        if (h->nlmsg_type == NLMSG_ERROR) {
                                ima_nl_parse_error(h, &err, &seq, NULL);
                                /* a zero error is the ACK; for dumps DONE follows */
                                if (err == 0 && (req->nlmsg_flags & NLM_F_DUMP))
                                        continue;
                                nl->stale = false;
                                if (err < 0)
                                        return failed ? failed : err;
                                return failed ? failed : lost ? -ENOBUFS : interrupted ? -EINTR : 0;
                        }
                        if (h->nlmsg_type < NLMSG_MIN_TYPE)
                                continue;
                        /* a dump left running would make the socket's next dump fail with EBUSY:
                         * after a callback error the answer is still read to its end */
                        if (!interrupted && !failed && !lost && cb) {
                                r = cb(h, userdata);
                                if (r < 0)
                                        failed = r;
                        }
                }
        }
}

struct gen_answer {
        uint32_t genid;
        bool seen;
};

static int gen_cb(const struct nlmsghdr *nlh, void *userdata)
{
        struct nftnl_gen *gen = nftnl_gen_alloc();
        struct gen_answer *a = userdata;

        if (!gen)
                return -ENOMEM;
        if (nftnl_gen_nlmsg_parse(nlh, gen) < 0) {
                nftnl_gen_free(gen);
                return -EPROTO;
        }
        a->genid = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
        a->seen = true;
        nftnl_gen_free(gen);
        return 0;
}

int ima_nl_getgen(struct ima_nl *nl, uint32_t *ret)
{
        char buf[8192] = { 0 };
        struct gen_answer a = { 0 };
        struct nlmsghdr *nlh;
        int r;

        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, NFPROTO_UNSPEC, NLM_F_ACK,
                                    ima_nl_seq_reserve(nl, 1));
        r = ima_nl_request(nl, nlh, gen_cb, &a);
        if (r < 0)
                return r;
        /* an ACK with no NEWGEN before it: success, but no generation to hand back. Callers
         * compare what they get (the barrier, the dump's before/after check): never garbage */
        if (!a.seen)
                return -EPROTO;
        *ret = a.genid;
        return 0;
}

static int send_empty_transaction(struct ima_nl *nl)
{
        char buf[2 * NLMSG_ALIGN(NLMSG_HDRLEN + sizeof(struct nfgenmsg))] = { 0 };
        uint32_t seq = ima_nl_seq_reserve(nl, 2);
        struct nlmsghdr *begin = nftnl_batch_begin(buf, seq);
        struct nlmsghdr *end = nftnl_batch_end(buf + begin->nlmsg_len, seq + 1);
        struct iovec iov = { .iov_base = buf, .iov_len = begin->nlmsg_len + end->nlmsg_len };
        int n, r;

        ima_nl_drop_stale(nl);
        r = ima_nl_sendv(nl, &iov, 1);
        if (r < 0)
                return r;
        /* without NLM_F_ACK only a refusal is answered, queued before sendmsg() returned. The
         * wait is over either way: lost messages (a refusal among them, which the next request
         * then meets too) leave the socket to be drained, not the barrier failed */
        n = ima_nl_recv(nl, nl->recv_buf, NL_RECV_BUFSIZE);
        if (n == -ENOBUFS)
                nl->stale = true;
        if (n == -EAGAIN || n == -ENOBUFS)
                return 0;
        if (n < 0)
                return n;
        for (const struct nlmsghdr *h = (const struct nlmsghdr *)nl->recv_buf; mnl_nlmsg_ok(h, n);
             h = mnl_nlmsg_next(h, &n))
                if (h->nlmsg_type == NLMSG_ERROR) {
                        uint32_t err_seq;
                        int err;

                        ima_nl_parse_error(h, &err, &err_seq, NULL);
                        if (err < 0 && (err_seq == seq || err_seq == seq + 1))
                                return err;
                }
        return 0;
}

/* Older kernels (before about 5.3) commit an empty transaction like any other: the generation
 * moves and NEWGEN goes out, so the barrier would move what it guards. Told apart by trying: on a
 * kernel where it is silent, a try that nothing else interrupts leaves the generation where it was. */
static int probe_barrier(struct ima_nl *nl)
{
        for (int i = 0; i < BARRIER_PROBES; i++) {
                uint32_t before, after;
                int r = ima_nl_getgen(nl, &before);

                if (r >= 0)
                        r = send_empty_transaction(nl);
                if (r >= 0)
                        r = ima_nl_getgen(nl, &after);
                if (r < 0)
                        return r;
                if (after == before) {
                        nl->barrier = BARRIER_SILENT;
                        return 0;
                }
        }
        nl->barrier = BARRIER_MOVES_GEN;
        return 0;
}

int ima_nl_barrier(struct ima_nl *nl)
{
        int r;

        if (nl->barrier == BARRIER_UNKNOWN) {
                /* a probe that found it silent has waited already, after the caller's GETGEN */
                r = probe_barrier(nl);
                return r < 0 ? r : 0;
        }
        /* where it cannot be had, reads are not guarded, as before the barrier existed */
        return nl->barrier == BARRIER_SILENT ? send_empty_transaction(nl) : 0;
}

bool ima_nl_barrier_available(struct ima_nl *nl)
{
        return nl->barrier != BARRIER_MOVES_GEN;
}
