/* test-needs: which kernel feature a refused op is said to need (nft/needs.c), and when nothing
 * is said: a first refusal, which a concurrent deletion explains as well; errors that name no
 * missing feature; a rule whose chain the same transaction failed to add. And the answer to
 * reading the state of a kernel without nf_tables. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctest/tests.h"
#include "nft/needs.h"

static struct ima_op rule_op(enum ima_family f, enum ima_rule_kind kind)
{
        return (struct ima_op){ .kind = IMA_OP_ADD_RULE, .family = f, .rule = { .kind = kind } };
}

/* whether the hint for op holds every one of the words (NULL-terminated) */
static bool hint_names(const struct ima_op *op, const char *const *words)
{
        const char *h = ima_needs_hint(op, -ENOENT, true, false);

        if (!h)
                return false;
        for (; *words; words++)
                if (!strstr(h, *words))
                        return false;
        return true;
}

static void test_modules_named(void)
{
        struct ima_op chain4 = { .kind = IMA_OP_ADD_CHAIN, .family = IMA_FAMILY_IPV4 };
        struct ima_op chain6 = { .kind = IMA_OP_ADD_CHAIN, .family = IMA_FAMILY_IPV6 };
        struct ima_op fib4 = rule_op(IMA_FAMILY_IPV4, IMA_RULE_LOCAL_RETURN);
        struct ima_op fib6 = rule_op(IMA_FAMILY_IPV6, IMA_RULE_LOCAL_RETURN);
        struct ima_op masq = rule_op(IMA_FAMILY_IPV4, IMA_RULE_MASQ);
        struct ima_op masq_ports = rule_op(IMA_FAMILY_IPV6, IMA_RULE_MASQ);

        masq_ports.rule.l4proto = 6;
        masq_ports.rule.numgen_mod = 3;
        masq_ports.rule.numgen_below = 1;
        CHECK(hint_names(&chain4, (const char *const[]){ "if this persists", "nat chain type", "nft_chain_nat",
                                                         "nf_nat", "CONFIG_NFT_NAT", "nft_fib_ipv4", "nft_masq",
                                                         "nft_numgen", NULL }));
        CHECK(!strstr(ima_needs_hint(&chain4, -ENOENT, true, false), "ipv6"));
        CHECK(hint_names(&chain6, (const char *const[]){ "nft_chain_nat", "nft_fib_ipv6", "nft_masq", NULL }));
        CHECK(!strstr(ima_needs_hint(&chain6, -ENOENT, true, false), "ipv4"));
        CHECK(hint_names(&fib4, (const char *const[]){ "if this persists", "fib expression for ip:", "nft_fib_ipv4",
                                                       "CONFIG_NFT_FIB_IPV4", NULL }));
        CHECK(hint_names(&fib6, (const char *const[]){ "fib expression for ip6:", "nft_fib_ipv6",
                                                       "CONFIG_NFT_FIB_IPV6", NULL }));
        CHECK(hint_names(&masq, (const char *const[]){ "if this persists", "masq expression", "nft_masq",
                                                       "CONFIG_NFT_MASQ", NULL }));
        CHECK(!strstr(ima_needs_hint(&masq, -ENOENT, true, false), "numgen"));
        CHECK(hint_names(&masq_ports, (const char *const[]){ "nft_masq", "nft_numgen", "CONFIG_NFT_NUMGEN", NULL }));
}

static void test_nothing_said(void)
{
        struct ima_op chain = { .kind = IMA_OP_ADD_CHAIN, .family = IMA_FAMILY_IPV4 };
        struct ima_op fib = rule_op(IMA_FAMILY_IPV4, IMA_RULE_LOCAL_RETURN);
        struct ima_op lookup = rule_op(IMA_FAMILY_IPV4, IMA_RULE_DST_RETURN);
        struct ima_op range = rule_op(IMA_FAMILY_IPV6, IMA_RULE_SRC_RANGE_RETURN);
        struct ima_op table = { .kind = IMA_OP_ADD_TABLE, .family = IMA_FAMILY_IPV4 };
        struct ima_op elems = { .kind = IMA_OP_ADD_ELEMS, .family = IMA_FAMILY_IPV4 };

        /* the first refusal: a concurrent deletion gives the same ENOENT */
        CHECK(!ima_needs_hint(&fib, -ENOENT, false, false));
        CHECK(!ima_needs_hint(&chain, -ENOENT, false, false));
        /* errors from what was asked, or from elsewhere */
        CHECK(!ima_needs_hint(&chain, -EOPNOTSUPP, true, false));
        CHECK(!ima_needs_hint(&fib, -EPERM, true, false));
        CHECK(!ima_needs_hint(&fib, -EEXIST, true, false));
        CHECK(!ima_needs_hint(&fib, -ERESTART, true, false));
        /* its chain could not be added: that refusal carries the hint */
        CHECK(!ima_needs_hint(&fib, -ENOENT, true, true));
        CHECK(!ima_needs_hint(&chain, -ENOENT, true, true));
        /* nothing beyond nf_tables itself */
        CHECK(!ima_needs_hint(&lookup, -ENOENT, true, false));
        CHECK(!ima_needs_hint(&range, -ENOENT, true, false));
        CHECK(!ima_needs_hint(&table, -ENOENT, true, false));
        CHECK(!ima_needs_hint(&elems, -ENOENT, true, false));
}

static void test_reading(void)
{
        /* nfnetlink's answer for a subsystem it does not have */
        CHECK(ima_needs_read_hint(-EINVAL) && strstr(ima_needs_read_hint(-EINVAL), "nf_tables") &&
              strstr(ima_needs_read_hint(-EINVAL), "CONFIG_NF_TABLES"));
        CHECK(!ima_needs_read_hint(-EPERM));
        CHECK(!ima_needs_read_hint(-ENOBUFS));
}

int main(void)
{
        TEST_RUN(test_modules_named);
        TEST_RUN(test_nothing_said);
        TEST_RUN(test_reading);
        TEST_EXIT();
}
