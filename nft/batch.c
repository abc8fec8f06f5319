#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "lib/array.h"
#include "nft/batch.h"
#include "nft/sock.h"

/* Pages of the batch buffer, and the room a single message may take past a page end: one
 * element message stays well under 64 KiB (the attribute length limit). */
#define BATCH_PAGE_SIZE (256 * 1024)
#define BATCH_MSG_MAX (UINT16_MAX + 4096)
/* Receive room per ACK (an NLMSG_ERROR skb with its overhead). */
#define ACK_TRUESIZE 1024

struct recorded_error {
        int error;
        size_t index; /* message index, or SIZE_MAX for the transaction */
        char *kernel;
};

struct batch_msg {
        uint32_t seq;
        char *what;
};

struct ima_batch {
        struct ima_nl *nl;
        struct nftnl_batch *buf;
        uint32_t begin_seq;
        uint32_t end_seq;
        struct batch_msg *msgs;
        size_t n_msgs;
        size_t cap;
        struct recorded_error *errors;
        size_t n_errors;
        size_t bytes; /* of the messages so far: counted as they are added, so that telling it
                       * needs no allocation */
};

/* Takes the message just written at the batch's write position into the batch. */
static int batch_update(struct ima_batch *b)
{
        uint32_t len = ((const struct nlmsghdr *)nftnl_batch_buffer(b->buf))->nlmsg_len;

        if (nftnl_batch_update(b->buf) < 0)
                return -ENOMEM;
        b->bytes += len;
        return 0;
}

int ima_batch_new(struct ima_nl *nl, uint32_t genid, struct ima_batch **ret)
{
        _cleanup_(ima_batch_freep) struct ima_batch *b = calloc(1, sizeof(*b));
        struct nlmsghdr *nlh;

        if (!b)
                return -ENOMEM;
        b->nl = nl;
        b->buf = nftnl_batch_alloc(BATCH_PAGE_SIZE, BATCH_MSG_MAX);
        if (!b->buf)
                return -ENOMEM;
        /* libmnl 1.0.4 leaves attribute padding as it finds it, and the pages are malloc'd:
         * zero each page once so that no stale heap bytes travel to the kernel */
        memset(nftnl_batch_buffer(b->buf), 0, BATCH_PAGE_SIZE + BATCH_MSG_MAX);
        b->begin_seq = ima_nl_seq_reserve(nl, 1);
        nlh = nftnl_batch_begin(nftnl_batch_buffer(b->buf), b->begin_seq);
        if (genid)
                mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(genid));
        if (batch_update(b) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(b);
        return 0;
}

struct ima_batch *ima_batch_free(struct ima_batch *b)
{
        if (!b)
                return NULL;
        for (size_t i = 0; i < b->n_msgs; i++)
                free(b->msgs[i].what);
        for (size_t i = 0; i < b->n_errors; i++)
                free(b->errors[i].kernel);
        free(b->msgs);
        free(b->errors);
        if (b->buf)
                nftnl_batch_free(b->buf);
        free(b);
        return NULL;
}

struct nlmsghdr *ima_batch_msg(struct ima_batch *b, uint16_t type, uint16_t family, uint16_t flags,
                               const char *what)
{
        struct batch_msg *m;

        if (IMA_ARRAY_RESERVE(b->msgs, b->cap, b->n_msgs, 32) < 0)
                return NULL;
        m = &b->msgs[b->n_msgs];
        m->what = strdup(what);
        if (!m->what)
                return NULL;
        m->seq = ima_nl_seq_reserve(b->nl, 1);
        b->n_msgs++;
        return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(b->buf), type, family, flags | NLM_F_ACK, m->seq);
}

/* Start of the page the batch is writing to. */
static char *page_start(struct nftnl_batch *buf)
{
        return (char *)nftnl_batch_buffer(buf) - nftnl_batch_buffer_len(buf);
}

int ima_batch_msg_done(struct ima_batch *b)
{
        char *page = page_start(b->buf), *now;

        if (batch_update(b) < 0)
                return -ENOMEM;
        /* A message that crossed the page size was moved to a fresh page: zero the rest of it. */
        now = page_start(b->buf);
        if (now != page)
                memset(nftnl_batch_buffer(b->buf), 0,
                       BATCH_PAGE_SIZE + BATCH_MSG_MAX - nftnl_batch_buffer_len(b->buf));
        return 0;
}

size_t ima_batch_n_msgs(const struct ima_batch *b)
{
        return b->n_msgs;
}

/* The batch pages as iovecs; *ret_total gets the byte count. NULL on ENOMEM. */
static struct iovec *batch_iovec(const struct ima_batch *b, size_t *ret_n, size_t *ret_total)
{
        int n = nftnl_batch_iovec_len(b->buf);
        struct iovec *iov = calloc(n > 0 ? (size_t)n : 1, sizeof(*iov));
        size_t total = 0;

        if (!iov)
                return NULL;
        nftnl_batch_iovec(b->buf, iov, (uint32_t)n);
        for (int i = 0; i < n; i++)
                total += iov[i].iov_len;
        *ret_n = (size_t)n;
        *ret_total = total;
        return iov;
}

size_t ima_batch_size(const struct ima_batch *b)
{
        return b->bytes;
}

static size_t msg_index(const struct ima_batch *b, uint32_t seq)
{
        for (size_t i = 0; i < b->n_msgs; i++)
                if (b->msgs[i].seq == seq)
                        return i;
        return SIZE_MAX;
}

static int record_error(struct ima_batch *b, int error, uint32_t seq, const char *kernel)
{
        struct recorded_error *v = realloc(b->errors, (b->n_errors + 1) * sizeof(*v));

        if (!v)
                return -ENOMEM;
        b->errors = v;
        v[b->n_errors] = (struct recorded_error){
                .error = error,
                .index = msg_index(b, seq),
                .kernel = kernel ? strdup(kernel) : NULL,
        };
        b->n_errors++;
        return 0;
}

/* Reads every queued answer: nfnetlink handles the whole batch inside sendmsg(), so all of them
 * are waiting by the time it returns. */
static int drain_acks(struct ima_batch *b, size_t *ret_acks, bool *ret_lost)
{
        char buf[16384];

        for (;;) {
                int n = ima_nl_recv(b->nl, buf, sizeof(buf));

                if (n == -EAGAIN)
                        return 0;
                if (n == -ENOBUFS) {
                        *ret_lost = true;
                        continue;
                }
                if (n < 0)
                        return n;
                for (const struct nlmsghdr *h = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(h, n);
                     h = mnl_nlmsg_next(h, &n)) {
                        const char *kernel;
                        uint32_t seq;
                        int err, r;

                        if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_pid != ima_nl_portid(b->nl))
                                continue;
                        ima_nl_parse_error(h, &err, &seq, &kernel);
                        if (seq != b->begin_seq && seq != b->end_seq && msg_index(b, seq) == SIZE_MAX)
                                continue; /* not ours: an answer to an earlier request */
                        (*ret_acks)++;
                        if (err == 0)
                                continue;
                        r = record_error(b, err, seq, kernel);
                        if (r < 0)
                                return r;
                }
        }
}

int ima_batch_commit(struct ima_batch *b, enum ima_batch_mode mode)
{
        _cleanup_free_ struct iovec *iov = NULL;
        size_t acks = 0, n_iov, size;
        bool lost = false;
        int r;

        if (b->n_msgs == 0)
                return 0;
        if (mode == IMA_BATCH_COMMIT) {
                b->end_seq = ima_nl_seq_reserve(b->nl, 1);
                nftnl_batch_end(nftnl_batch_buffer(b->buf), b->end_seq);
                if (batch_update(b) < 0)
                        return -ENOMEM;
        }
        iov = batch_iovec(b, &n_iov, &size);
        if (!iov)
                return -ENOMEM;
        ima_nl_reserve_buffers(b->nl, size + 4096, (b->n_msgs + 8) * ACK_TRUESIZE);
        /* the receive buffer is sized for this batch's ACKs alone */
        ima_nl_drop_stale(b->nl);
        r = ima_nl_sendv(b->nl, iov, n_iov);
        if (r < 0)
                return r;
        r = drain_acks(b, &acks, &lost);
        if (r < 0)
                return r;
        if (b->n_errors > 0)
                return b->errors[0].error;
        if (lost || acks < b->n_msgs)
                return -ENOBUFS;
        return 0;
}

size_t ima_batch_n_errors(const struct ima_batch *b)
{
        return b->n_errors;
}

void ima_batch_get_error(const struct ima_batch *b, size_t i, struct ima_batch_error *ret)
{
        const struct recorded_error *e = &b->errors[i];

        *ret = (struct ima_batch_error){
                .error = e->error,
                .what = e->index == SIZE_MAX ? "transaction" : b->msgs[e->index].what,
                .kernel = e->kernel,
                .index = e->index,
        };
}
