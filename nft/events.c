#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "lib/array.h"
#include "lib/model.h"
#include "nft/events.h"
#include "nft/sock.h"

#define EVENTS_RCVBUF (16 << 20)
#define EVENTS_READ_BUFSIZE (64 * 1024)

struct ima_events {
        struct mnl_socket *sock;
        char *buf;
        struct ima_event_decoder dec;
};

int ima_events_open(uint32_t own_portid, struct ima_events **ret)
{
        _cleanup_(ima_events_freep) struct ima_events *ev = calloc(1, sizeof(*ev));
        int group = NFNLGRP_NFTABLES, size = EVENTS_RCVBUF;

        if (!ev)
                return -ENOMEM;
        ima_event_decoder_init(&ev->dec, own_portid);
        ev->buf = malloc(EVENTS_READ_BUFSIZE);
        if (!ev->buf)
                return -ENOMEM;
        ev->sock = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (!ev->sock)
                return -errno;
        if (mnl_socket_bind(ev->sock, 0, MNL_SOCKET_AUTOPID) < 0)
                return -errno;
        if (mnl_socket_setsockopt(ev->sock, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) < 0)
                return -errno;
        if (setsockopt(ima_events_fd(ev), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
                (void)setsockopt(ima_events_fd(ev), SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
        *ret = TAKE_PTR(ev);
        return 0;
}

int ima_events_listen(struct ima_events *ev, bool on)
{
        int group = NFNLGRP_NFTABLES;

        if (mnl_socket_setsockopt(ev->sock, on ? NETLINK_ADD_MEMBERSHIP : NETLINK_DROP_MEMBERSHIP, &group,
                                  sizeof(group)) < 0)
                return -errno;
        return 0;
}

struct ima_events *ima_events_free(struct ima_events *ev)
{
        if (!ev)
                return NULL;
        if (ev->sock)
                mnl_socket_close(ev->sock);
        free(ev->buf);
        free(ev);
        return NULL;
}

int ima_events_fd(const struct ima_events *ev)
{
        return mnl_socket_get_fd(ev->sock);
}

enum ima_events_verdict ima_event_batch_judge(const struct ima_event_batch *batch, uint32_t from, uint32_t to)
{
        uint32_t want = ima_genid_next(from);

        if (batch->lost)
                return IMA_EVENTS_TOUCHED;
        for (size_t i = 0; i < batch->n_txns && from != to; i++) {
                const struct ima_event_txn *t = &batch->txns[i];

                /* serial arithmetic: in (from, to] */
                if ((int32_t)(t->genid - from) <= 0 || (int32_t)(t->genid - to) > 0)
                        continue;
                /* one missing from the sequence was dropped whole, and may have been anything */
                if (t->genid != want || t->touched)
                        return IMA_EVENTS_TOUCHED;
                if (want == to)
                        return IMA_EVENTS_UNTOUCHED;
                want = ima_genid_next(want);
        }
        return from == to ? IMA_EVENTS_UNTOUCHED : IMA_EVENTS_INCOMPLETE;
}

void ima_event_batch_clear(struct ima_event_batch *batch)
{
        free(batch->txns);
        *batch = (struct ima_event_batch){ 0 };
}

/* Every nf_tables object message names its table in attribute 1 (NFTA_TABLE_NAME,
 * NFTA_CHAIN_TABLE, NFTA_SET_TABLE, NFTA_SET_ELEM_LIST_TABLE, NFTA_RULE_TABLE, NFTA_OBJ_TABLE,
 * NFTA_FLOWTABLE_TABLE). */
static bool names_our_table(const struct nlmsghdr *nlh)
{
        const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *a;

        if (g->nfgen_family != NFPROTO_IPV4 && g->nfgen_family != NFPROTO_IPV6)
                return false;
        mnl_attr_for_each(a, nlh, sizeof(*g)) {
                if (mnl_attr_get_type(a) != 1)
                        continue;
                return mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0 &&
                       strcmp(mnl_attr_get_str(a), IMA_TABLE_NAME) == 0;
        }
        return false;
}

void ima_event_decoder_init(struct ima_event_decoder *d, uint32_t own_portid)
{
        *d = (struct ima_event_decoder){ .own_portid = own_portid };
}

static int end_txn(struct ima_event_decoder *ev, const struct nlmsghdr *nlh, struct ima_event_batch *batch)
{
        const struct nfgenmsg *g = mnl_nlmsg_get_payload(nlh);
        struct ima_event_txn *t;
        const struct nlattr *a;

        if (IMA_ARRAY_RESERVE(batch->txns, batch->cap, batch->n_txns, 8) < 0)
                return -ENOMEM;
        t = &batch->txns[batch->n_txns++];
        /* NEWGEN carries the committing socket's portid. It alone says whose transaction this
         * was: the earlier messages may belong to a transaction whose NEWGEN a queue overflow
         * dropped (our own large commits do that), and must not make the next one look ours. */
        *t = (struct ima_event_txn){
                .own = nlh->nlmsg_pid == ev->own_portid,
                .touched = ev->txn_touched || ev->txn_partial,
                .cut = ev->txn_partial,
        };
        mnl_attr_for_each(a, nlh, sizeof(*g)) {
                switch (mnl_attr_get_type(a)) {
                case NFTA_GEN_ID:
                        if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
                                t->genid = ntohl(mnl_attr_get_u32(a));
                        break;
                case NFTA_GEN_PROC_PID:
                        if (mnl_attr_validate(a, MNL_TYPE_U32) == 0)
                                t->pid = ntohl(mnl_attr_get_u32(a));
                        break;
                case NFTA_GEN_PROC_NAME:
                        if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
                                snprintf(t->comm, sizeof(t->comm), "%s", mnl_attr_get_str(a));
                        break;
                }
        }
        /* serial arithmetic: generations wrap (skipping 0) */
        if (ev->gap && (int32_t)(t->genid - ev->gap_genid) <= 0)
                t->touched = t->cut = true;
        else if (ev->gap)
                ev->gap = false; /* later transactions began after the join: all of them was seen */
        ev->txn_touched = false;
        ev->txn_partial = ev->loss_window;
        return 0;
}

static int handle_msg(struct ima_event_decoder *ev, const struct nlmsghdr *nlh, struct ima_event_batch *batch)
{
        if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
            mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nfgenmsg))
                return 0;
        if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWGEN)
                return end_txn(ev, nlh, batch);
        if (names_our_table(nlh))
                ev->txn_touched = true;
        return 0;
}

int ima_event_decoder_feed(struct ima_event_decoder *d, const void *buf, size_t len, struct ima_event_batch *batch)
{
        int left = (int)len;

        for (const struct nlmsghdr *h = buf; mnl_nlmsg_ok(h, left); h = mnl_nlmsg_next(h, &left)) {
                int r = handle_msg(d, h, batch);

                if (r < 0)
                        return r;
        }
        return 0;
}

void ima_event_decoder_lost(struct ima_event_decoder *d, struct ima_event_batch *batch)
{
        /* A transaction that lost some of its messages counts as touching our tables, or the
         * caller could move its cached generation over a change to them. Once the queue
         * overflows, the kernel drops every message until the reader empties it, so that
         * transaction is the one in progress when delivery resumes: its NEWGEN comes after the
         * messages queued before the drop (read first, though the error comes before them), and
         * may come only after the queue was seen empty. Transactions dropped whole leave a gap in
         * the generations instead. */
        batch->lost = true;
        d->txn_partial = true;
        d->loss_window = true;
}

void ima_event_decoder_drained(struct ima_event_decoder *d)
{
        /* txn_partial stays set for the next NEWGEN */
        d->loss_window = false;
}

void ima_event_decoder_rejoined(struct ima_event_decoder *d, bool known, uint32_t genid)
{
        if (!known) {
                d->txn_partial = true;
                d->loss_window = true;
                return;
        }
        d->gap = true;
        d->gap_genid = genid;
}

void ima_events_rejoined(struct ima_events *ev, bool known, uint32_t genid)
{
        ima_event_decoder_rejoined(&ev->dec, known, genid);
}

int ima_events_read(struct ima_events *ev, struct ima_event_batch *batch)
{
        for (;;) {
                ssize_t n = recv(ima_events_fd(ev), ev->buf, EVENTS_READ_BUFSIZE, MSG_DONTWAIT);
                int r;

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        ima_event_decoder_drained(&ev->dec);
                        return 0;
                }
                if (n < 0 && errno == ENOBUFS) {
                        ima_event_decoder_lost(&ev->dec, batch);
                        continue;
                }
                /* after any other failure what was not decoded is unknown: a loss, for the caller too */
                if (n < 0) {
                        r = -errno;
                        ima_event_decoder_lost(&ev->dec, batch);
                        return r;
                }
                r = ima_event_decoder_feed(&ev->dec, ev->buf, (size_t)n, batch);
                if (r < 0) {
                        ima_event_decoder_lost(&ev->dec, batch);
                        return r;
                }
        }
}
