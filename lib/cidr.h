/* cidr.h: one address or one prefix of one family: parse (as strictly as Go's net.ParseCIDR),
 * alignment, format. Addresses are held as 128-bit host integers so that interval arithmetic is
 * plain integer arithmetic for both families. No sets, no config syntax, no netlink. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef unsigned __int128 ima_u128;

enum ima_family {
        IMA_FAMILY_IPV4,
        IMA_FAMILY_IPV6,
};
#define IMA_FAMILY_COUNT 2
/* every family, as a mask of 1 << family */
#define IMA_ALL_FAMILIES ((1u << IMA_FAMILY_COUNT) - 1)

/* Longest text of an address ("ffff:...:255.255.255.255") / of a range "a-b", with NUL. */
#define IMA_ADDR_STRLEN 46
#define IMA_RANGE_STRLEN (2 * IMA_ADDR_STRLEN + 4)

/* addr first: the 128-bit member sets the alignment, and this order makes the struct 32 bytes
 * instead of 48 (a config holds one per CIDR written, 100,000 of them in large ones) */
struct ima_cidr {
        ima_u128 addr;          /* as written; may have host bits set */
        enum ima_family family;
        unsigned prefix_len;    /* 0..32 or 0..128 */
};

unsigned ima_family_bits(enum ima_family f);
/* All-ones address of the family: the one value whose successor does not exist. */
ima_u128 ima_family_max(enum ima_family f);
/* "ip" / "ip6": the nftables family keyword. */
const char *ima_family_nft_name(enum ima_family f);

/* Parses an address exactly as Go's netip.ParseAddr does, zones rejected. On failure returns
 * -EINVAL and, if reason is not NULL, points it at a static explanation. */
int ima_addr_parse(const char *s, size_t len, enum ima_family *ret_family, ima_u128 *ret_addr,
                   const char **reason);

/* Parses "addr/len" exactly as Go's net.ParseCIDR does ('/' required, no leading zeros in IPv4
 * octets, no zone, decimal length within the family). Host bits are NOT rejected here: see
 * ima_cidr_is_aligned(). Returns 0 or -EINVAL (reason as above). */
int ima_cidr_parse(const char *s, size_t len, struct ima_cidr *ret, const char **reason);

/* First and last address covered by the prefix (host bits ignored). */
ima_u128 ima_cidr_first(const struct ima_cidr *c);
ima_u128 ima_cidr_last(const struct ima_cidr *c);
bool ima_cidr_is_aligned(const struct ima_cidr *c);
/* True for IPv6 prefixes inside ::ffff:0:0/96 (IPv4-mapped). */
bool ima_cidr_is_v4mapped(const struct ima_cidr *c);

/* Text forms, as nft prints them (inet_ntop). buf must hold IMA_ADDR_STRLEN + 4 for a cidr. */
void ima_addr_format(enum ima_family f, ima_u128 addr, char buf[static IMA_ADDR_STRLEN]);
void ima_cidr_format(const struct ima_cidr *c, char buf[static IMA_ADDR_STRLEN + 4]);
/* As Go's net.IPNet.String() writes it, the form upstream's files and logs use. It differs
 * from inet_ntop only for IPv6 addresses that start with 96 zero bits ("::102:304", where
 * inet_ntop writes "::1.2.3.4") and IPv4-mapped ones (written as plain IPv4, the length less 96). */
void ima_cidr_format_go(const struct ima_cidr *c, char buf[static IMA_ADDR_STRLEN + 4]);

/* Network byte order (4 or 16 bytes) <-> host integer. */
void ima_addr_to_bytes(enum ima_family f, ima_u128 addr, uint8_t *out);
ima_u128 ima_addr_from_bytes(enum ima_family f, const uint8_t *in);
