/* test-sock: how a netlink error message is read (nft/sock.c, ima_nl_parse_error): the error,
 * the sequence number it answers, and the kernel's extended-ACK text in each form the kernel
 * sends it (the request echoed in full, or capped to its header), on made-up messages. */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netlink.h>
#include <stdlib.h>

#include "ctest/tests.h"
#include "nft/sock.h"

struct datagram {
        char buf[4096] __attribute__((aligned(8)));
};

/* An NLMSG_ERROR answering a request of request_payload bytes with sequence number seq; capped:
 * NETLINK_CAP_ACK's form (only the request's header echoed); text: an NLMSGERR_ATTR_MSG. */
static struct nlmsghdr *put_error(struct datagram *d, int err, uint32_t seq, size_t request_payload, bool capped,
                                  const char *text)
{
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(d->buf);
        size_t echoed = capped ? 0 : request_payload;
        struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e) + echoed);

        nlh->nlmsg_type = NLMSG_ERROR;
        e->error = err;
        e->msg.nlmsg_len = (uint32_t)(sizeof(struct nlmsghdr) + request_payload);
        e->msg.nlmsg_seq = seq;
        memset((char *)(e + 1), 0xaa, echoed); /* the request's payload: not TLVs */
        if (capped)
                nlh->nlmsg_flags |= NLM_F_CAPPED;
        if (text) {
                nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
                mnl_attr_put_u32(nlh, NLMSGERR_ATTR_OFFS, 20);
                mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, text);
        }
        return nlh;
}

static void test_plain_error(void)
{
        struct datagram d = { 0 };
        const char *msg = "unset";
        uint32_t seq = 0;
        int err = 0;

        ima_nl_parse_error(put_error(&d, -ENOENT, 77, 64, true, NULL), &err, &seq, &msg);
        CHECK_INT(err, -ENOENT);
        CHECK_INT(seq, 77);
        CHECK(msg == NULL);
}

static void test_ack(void)
{
        struct datagram d = { 0 };
        const char *msg = "unset";
        uint32_t seq = 0;
        int err = 1;

        ima_nl_parse_error(put_error(&d, 0, 5, 32, true, NULL), &err, &seq, &msg);
        CHECK_INT(err, 0);
        CHECK_INT(seq, 5);
        CHECK(msg == NULL);
}

static void test_text_capped(void)
{
        struct datagram d = { 0 };
        const char *msg = NULL;
        uint32_t seq = 0;
        int err = 0;

        ima_nl_parse_error(put_error(&d, -EINVAL, 9, 120, true, "Chain priority out of range"), &err, &seq, &msg);
        CHECK_INT(err, -EINVAL);
        CHECK_INT(seq, 9);
        CHECK_STR(msg, "Chain priority out of range");
}

/* without NETLINK_CAP_ACK the whole request comes back first: its bytes are skipped, not read as
 * attributes */
static void test_text_after_echoed_request(void)
{
        struct datagram d = { 0 };
        const char *msg = NULL;
        uint32_t seq = 0;
        int err = 0;

        ima_nl_parse_error(put_error(&d, -EOPNOTSUPP, 11, 200, false, "no such hook"), &err, &seq, &msg);
        CHECK_INT(err, -EOPNOTSUPP);
        CHECK_INT(seq, 11);
        CHECK_STR(msg, "no such hook");
}

/* a request whose length is not a multiple of 4 comes back padded: the text follows the padding */
static void test_text_after_unaligned_request(void)
{
        struct datagram d = { 0 };
        const char *msg = NULL;
        uint32_t seq = 0;
        int err = 0;

        ima_nl_parse_error(put_error(&d, -EINVAL, 12, 201, false, "unaligned"), &err, &seq, &msg);
        CHECK_INT(err, -EINVAL);
        CHECK_INT(seq, 12);
        CHECK_STR(msg, "unaligned");
}

/* an error message too short to hold its nlmsgerr is not read past its end */
static void test_truncated_error(void)
{
        struct datagram d = { 0 };
        const char *msg = "unset";
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(d.buf);
        uint32_t seq = 0;
        int err = 0;

        nlh->nlmsg_type = NLMSG_ERROR;
        nlh->nlmsg_seq = 21;
        mnl_nlmsg_put_extra_header(nlh, 4);
        memset(d.buf + nlh->nlmsg_len, 0x55, 64); /* what lies beyond must not be taken for it */
        ima_nl_parse_error(nlh, &err, &seq, &msg);
        CHECK_INT(err, -EBADMSG);
        CHECK_INT(seq, 21);
        CHECK(msg == NULL);
}

/* a text attribute cut short (no NUL within its length) is not taken */
static void test_text_without_nul(void)
{
        struct datagram d = { 0 };
        const char *msg = "unset";
        uint32_t seq = 0;
        int err = 0;
        struct nlmsghdr *nlh = put_error(&d, -EINVAL, 3, 16, true, NULL);
        struct nlattr *a;

        nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
        a = (struct nlattr *)mnl_nlmsg_get_payload_tail(nlh);
        mnl_attr_put(nlh, NLMSGERR_ATTR_MSG, 4, "abcd");
        CHECK(mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG);
        ima_nl_parse_error(nlh, &err, &seq, &msg);
        CHECK_INT(err, -EINVAL);
        CHECK(msg == NULL);
}

int main(void)
{
        TEST_RUN(test_plain_error);
        TEST_RUN(test_ack);
        TEST_RUN(test_text_capped);
        TEST_RUN(test_text_after_echoed_request);
        TEST_RUN(test_text_without_nul);
        TEST_RUN(test_text_after_unaligned_request);
        TEST_RUN(test_truncated_error);
        TEST_EXIT();
}
