#include <errno.h>

#include "nft/needs.h"

/* The kernel looks an expression or chain type up by name and asks modprobe for the module
 * ("nft-expr-2-fib", "nft-chain-2-nat") when it has none; when that fails (no such module, a
 * blacklist, no /lib/modules in the container, a kernel built without it) the object is refused
 * with ENOENT. Only the objects that need more than nf_tables itself are listed: sets, lookups,
 * counters and comments are part of nf_tables on every kernel the agent is tested on. */
static const char *rule_hint(enum ima_family f, const struct ima_rule *rule)
{
        bool v4 = f == IMA_FAMILY_IPV4;

        switch (rule->kind) {
        case IMA_RULE_LOCAL_RETURN:
                return v4 ? "if this persists, the kernel lacks the fib expression for ip: load module nft_fib_ipv4 "
                            "on the node (it needs nft_fib), or use a kernel built with CONFIG_NFT_FIB_IPV4"
                          : "if this persists, the kernel lacks the fib expression for ip6: load module nft_fib_ipv6 "
                            "on the node (it needs nft_fib), or use a kernel built with CONFIG_NFT_FIB_IPV6";
        case IMA_RULE_MASQ:
                if (rule->numgen_mod)
                        return "if this persists, the kernel lacks the masq or the numgen expression: load modules "
                               "nft_masq and nft_numgen on the node (nft_masq needs nf_nat), or use a kernel built "
                               "with CONFIG_NFT_MASQ and CONFIG_NFT_NUMGEN";
                return "if this persists, the kernel lacks the masq expression: load module nft_masq on the node "
                       "(it needs nf_nat), or use a kernel built with CONFIG_NFT_MASQ";
        case IMA_RULE_SRC_RETURN:
        case IMA_RULE_DST_RETURN:
        case IMA_RULE_SRC_RANGE_RETURN:
        case IMA_RULE_DST_RANGE_RETURN:
                return NULL;
        }
        return NULL;
}

const char *ima_needs_hint(const struct ima_op *op, int error, bool refused_again, bool container_refused)
{
        /* EOPNOTSUPP and the rest come from what was asked (a nat chain's priority at or below
         * conntrack's, say), not from a missing module */
        if (error != -ENOENT || !refused_again)
                return NULL;
        switch (op->kind) {
        case IMA_OP_ADD_CHAIN:
                if (container_refused)
                        return NULL;
                /* the kernel looks the rules' expressions up only in a chain it has: a kernel
                 * without this module may lack theirs too, and the next try would say so, one by
                 * one. Naming them now saves the round trips */
                return op->family == IMA_FAMILY_IPV4
                               ? "if this persists, the kernel lacks the nat chain type: load module nft_chain_nat on "
                                 "the node (it needs nf_nat and nf_conntrack), or use a kernel built with "
                                 "CONFIG_NFT_NAT; the chain's rules need nft_fib_ipv4 and nft_masq too (and "
                                 "nft_numgen with several --to-ports ranges): modprobe -a nft_chain_nat "
                                 "nft_fib_ipv4 nft_masq"
                               : "if this persists, the kernel lacks the nat chain type: load module nft_chain_nat on "
                                 "the node (it needs nf_nat and nf_conntrack), or use a kernel built with "
                                 "CONFIG_NFT_NAT; the chain's rules need nft_fib_ipv6 and nft_masq too (and "
                                 "nft_numgen with several --to-ports ranges): modprobe -a nft_chain_nat "
                                 "nft_fib_ipv6 nft_masq";
        case IMA_OP_ADD_RULE:
                return container_refused ? NULL : rule_hint(op->family, &op->rule);
        case IMA_OP_ADD_TABLE:
        case IMA_OP_DEL_TABLE:
        case IMA_OP_ADD_SET:
        case IMA_OP_DEL_SET:
        case IMA_OP_FLUSH_SET:
        case IMA_OP_DEL_CHAIN:
        case IMA_OP_FLUSH_CHAIN:
        case IMA_OP_FLUSH_OTHER_CHAIN:
        case IMA_OP_DEL_OTHER:
        case IMA_OP_ADD_ELEMS:
        case IMA_OP_DEL_ELEMS:
                return NULL;
        }
        return NULL;
}

const char *ima_needs_read_hint(int error)
{
        if (error != -EINVAL)
                return NULL;
        return "if this persists, the kernel lacks nf_tables: load module nf_tables on the node, or use a kernel "
               "built with CONFIG_NF_TABLES";
}
