#include <errno.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>
#include <linux/netfilter/nf_tables.h>

#include "lib/model.h"
#include "nft/batch.h"
#include "nft/probe.h"
#include "nft/sock.h"

bool ima_features_table_comments(void)
{
        unsigned major = 0, minor = 0;
        struct utsname u;

        /* unknown is taken as no: a comment not repaired costs less than a table re-created at
         * every read on a kernel that drops it */
        if (uname(&u) < 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
                return false;
        return major > 5 || (major == 5 && minor >= 10);
}

/* The probe's table is named after our socket, and must be new (NLM_F_EXCL): a table of that name
 * someone already has would make the probe an update of it, refused (EOPNOTSUPP) for changing its
 * owner flag whatever the kernel supports. Another name is tried then. */
#define PROBE_NAME_ATTEMPTS 4

static int probe_table_persist(struct ima_nl *nl, unsigned attempt)
{
        _cleanup_(ima_batch_freep) struct ima_batch *b = NULL;
        struct nftnl_table *t = nftnl_table_alloc();
        char name[64];
        struct nlmsghdr *nlh;
        int r;

        snprintf(name, sizeof(name), "%s-probe-%u-%u", IMA_TABLE_NAME, ima_nl_portid(nl), attempt);
        if (!t || nftnl_table_set_str(t, NFTNL_TABLE_NAME, name) < 0) {
                if (t)
                        nftnl_table_free(t);
                return -ENOMEM;
        }
        nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, IMA_TABLE_F_OWNER | IMA_TABLE_F_PERSIST);
        r = ima_batch_new(nl, 0, &b);
        if (r >= 0) {
                nlh = ima_batch_msg(b, NFT_MSG_NEWTABLE, NFPROTO_IPV4, NLM_F_CREATE | NLM_F_EXCL,
                                    "probe table flags owner,persist");
                if (!nlh)
                        r = -ENOMEM;
                else {
                        nftnl_table_nlmsg_build_payload(nlh, t);
                        r = ima_batch_msg_done(b);
                }
        }
        nftnl_table_free(t);
        if (r < 0)
                return r;
        return ima_batch_commit(b, IMA_BATCH_VALIDATE_ONLY);
}

int ima_features_table_persist(struct ima_nl *nl)
{
        int r = -EEXIST;

        for (unsigned attempt = 0; attempt < PROBE_NAME_ATTEMPTS && r == -EEXIST; attempt++)
                r = probe_table_persist(nl, attempt);
        if (r == -EOPNOTSUPP || r == -EINVAL) {
                uint32_t genid;

                /* flags the kernel does not know, or no nf_tables at all: nfnetlink refuses a
                 * transaction for a subsystem it lacks with the same errors */
                r = ima_nl_getgen(nl, &genid);
                return r < 0 ? r : 0;
        }
        return r < 0 ? r : 1;
}
