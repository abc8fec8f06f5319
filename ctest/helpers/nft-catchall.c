/* nft-catchall: adds a catch-all element ("*", which matches every key) to a set, in one
 * transaction of its own, the way a stray tool could. nft 1.0.6 crashes when asked to add one to
 * an interval set, though the kernel accepts it; the drift tests need it.
 *
 * Usage: nft-catchall FAMILY TABLE SET   (FAMILY: ip or ip6). Exits 0 once the kernel ACKed it,
 * 1 with the kernel's error otherwise. */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Builds BEGIN, NEWSETELEM { catch-all }, END into buf; returns its length, or 0. */
static size_t build_batch(char *buf, size_t size, uint16_t family, const char *table, const char *set, uint32_t seq)
{
        struct mnl_nlmsg_batch *b = mnl_nlmsg_batch_start(buf, size);
        struct nftnl_set *s = nftnl_set_alloc();
        struct nftnl_set_elem *e = nftnl_set_elem_alloc();
        struct nlmsghdr *nlh;
        size_t len;

        if (!b || !s || !e) {
                nftnl_set_free(s);
                nftnl_set_elem_free(e);
                if (b)
                        mnl_nlmsg_batch_stop(b);
                return 0;
        }
        nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
        nftnl_set_set_str(s, NFTNL_SET_NAME, set);
        nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_CATCHALL);
        nftnl_set_elem_add(s, e); /* s owns e now */
        nftnl_batch_begin(mnl_nlmsg_batch_current(b), seq);
        mnl_nlmsg_batch_next(b);
        nlh = nftnl_nlmsg_build_hdr(mnl_nlmsg_batch_current(b), NFT_MSG_NEWSETELEM, family,
                                    NLM_F_CREATE | NLM_F_ACK, seq + 1);
        nftnl_set_elems_nlmsg_build_payload(nlh, s);
        mnl_nlmsg_batch_next(b);
        nftnl_batch_end(mnl_nlmsg_batch_current(b), seq + 2);
        mnl_nlmsg_batch_next(b);
        len = mnl_nlmsg_batch_size(b);
        mnl_nlmsg_batch_stop(b);
        nftnl_set_free(s);
        return len;
}

int main(int argc, char **argv)
{
        static char buf[65536];
        uint32_t seq = (uint32_t)time(NULL);
        struct mnl_socket *nl;
        uint16_t family;
        size_t len;
        int n, r = 0;

        if (argc != 4 || (strcmp(argv[1], "ip") != 0 && strcmp(argv[1], "ip6") != 0)) {
                fprintf(stderr, "usage: nft-catchall ip|ip6 TABLE SET\n");
                return 2;
        }
        family = strcmp(argv[1], "ip") == 0 ? NFPROTO_IPV4 : NFPROTO_IPV6;
        len = build_batch(buf, sizeof(buf), family, argv[2], argv[3], seq);
        nl = mnl_socket_open(NETLINK_NETFILTER);
        if (!len || !nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0 || mnl_socket_sendto(nl, buf, len) < 0) {
                perror("nft-catchall");
                return 1;
        }
        /* the element message's ACK (or error) is the only answer */
        n = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
        if (n > 0)
                r = mnl_cb_run(buf, (size_t)n, seq + 1, mnl_socket_get_portid(nl), NULL, NULL);
        if (n <= 0 || r < 0) {
                fprintf(stderr, "nft-catchall: %s\n", strerror(errno));
                mnl_socket_close(nl);
                return 1;
        }
        mnl_socket_close(nl);
        return 0;
}
