/* family.h: the netfilter protocol family (nfgen_family) each of the agent's address families
 * is written and read under: table ip is NFPROTO_IPV4, table ip6 is NFPROTO_IPV6. */
#pragma once

#include <linux/netfilter.h>
#include <stdint.h>

#include "lib/cidr.h"

static inline uint16_t ima_family_nfproto(enum ima_family f)
{
        return f == IMA_FAMILY_IPV4 ? NFPROTO_IPV4 : NFPROTO_IPV6;
}
