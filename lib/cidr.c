#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cidr.h"

/* Go's dtoi gives up at this value: "/99999999" is an error, not an overflow. */
#define GO_DTOI_BIG 0xFFFFFF

unsigned ima_family_bits(enum ima_family f)
{
        switch (f) {
        case IMA_FAMILY_IPV4:
                return 32;
        case IMA_FAMILY_IPV6:
                return 128;
        }
        assert(!"bad family");
        return 0;
}

ima_u128 ima_family_max(enum ima_family f)
{
        return f == IMA_FAMILY_IPV4 ? (ima_u128)UINT32_MAX : ~(ima_u128)0;
}

const char *ima_family_nft_name(enum ima_family f)
{
        static const char *const names[] = { [IMA_FAMILY_IPV4] = "ip", [IMA_FAMILY_IPV6] = "ip6" };

        assert(f == IMA_FAMILY_IPV4 || f == IMA_FAMILY_IPV6);
        return names[f];
}

static int fail(const char **reason, const char *why)
{
        if (reason)
                *reason = why;
        return -EINVAL;
}

static int parse_ipv4(const char *s, size_t len, uint32_t *ret, const char **reason)
{
        unsigned fields = 0, val = 0, digits = 0;
        uint32_t out = 0;

        for (size_t i = 0; i < len; i++) {
                char c = s[i];

                if (c >= '0' && c <= '9') {
                        if (digits == 1 && val == 0)
                                return fail(reason, "IPv4 field has octet with leading zero");
                        val = val * 10 + (unsigned)(c - '0');
                        digits++;
                        if (val > 255)
                                return fail(reason, "IPv4 field has value >255");
                } else if (c == '.') {
                        if (i == 0 || i == len - 1 || digits == 0)
                                return fail(reason, "IPv4 field must have at least one digit");
                        if (fields == 3)
                                return fail(reason, "IPv4 address too long");
                        out = out << 8 | val;
                        fields++;
                        val = digits = 0;
                } else {
                        return fail(reason, "unexpected character");
                }
        }
        if (fields < 3 || digits == 0)
                return fail(reason, "IPv4 address too short");
        *ret = out << 8 | val;
        return 0;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Follows Go's netip parseIPv6 step by step, so that the same strings are accepted. */
static int parse_ipv6(const char *s, size_t len, uint8_t ip[16], const char **reason)
{
        int ellipsis = -1, i = 0;

        if (memchr(s, '%', len))
                return fail(reason, "IPv6 zones are not allowed in a CIDR");
        if (len >= 2 && s[0] == ':' && s[1] == ':') {
                ellipsis = 0;
                s += 2;
                len -= 2;
                if (len == 0) {
                        memset(ip, 0, 16);
                        return 0;
                }
        }
        while (i < 16) {
                size_t off = 0;
                unsigned acc = 0;

                for (; off < len; off++) {
                        int v = hexval(s[off]);

                        if (v < 0)
                                break;
                        if (off > 3)
                                return fail(reason, "each colon-separated field must have at most 4 hex digits");
                        acc = acc << 4 | (unsigned)v;
                }
                if (off == 0)
                        return fail(reason, "each colon-separated field must have at least one digit");
                if (off < len && s[off] == '.') {
                        uint32_t v4;
                        int r;

                        if (ellipsis < 0 && i != 12)
                                return fail(reason, "embedded IPv4 address must replace the final 2 fields of the address");
                        if (i + 4 > 16)
                                return fail(reason, "too many hex fields to fit an embedded IPv4 at the end of the address");
                        r = parse_ipv4(s, len, &v4, reason);
                        if (r < 0)
                                return r;
                        ip[i] = v4 >> 24;
                        ip[i + 1] = v4 >> 16;
                        ip[i + 2] = v4 >> 8;
                        ip[i + 3] = v4;
                        i += 4;
                        len = 0;
                        break;
                }
                ip[i] = acc >> 8;
                ip[i + 1] = acc;
                i += 2;
                s += off;
                len -= off;
                if (len == 0)
                        break;
                if (s[0] != ':')
                        return fail(reason, "unexpected character, want colon");
                if (len == 1)
                        return fail(reason, "colon must be followed by more characters");
                s++;
                len--;
                if (s[0] == ':') {
                        if (ellipsis >= 0)
                                return fail(reason, "multiple :: in address");
                        ellipsis = i;
                        s++;
                        len--;
                        if (len == 0)
                                break;
                }
        }
        if (len != 0)
                return fail(reason, "trailing garbage after address");
        if (i < 16) {
                int n = 16 - i;

                if (ellipsis < 0)
                        return fail(reason, "address string too short");
                memmove(ip + ellipsis + n, ip + ellipsis, (size_t)(i - ellipsis));
                memset(ip + ellipsis, 0, (size_t)n);
        } else if (ellipsis >= 0) {
                return fail(reason, "the :: must expand to at least one field of zeros");
        }
        return 0;
}

int ima_addr_parse(const char *s, size_t len, enum ima_family *ret_family, ima_u128 *ret_addr,
                   const char **reason)
{
        for (size_t i = 0; i < len; i++) {
                if (s[i] == '.') {
                        uint32_t v4;
                        int r = parse_ipv4(s, len, &v4, reason);

                        if (r < 0)
                                return r;
                        *ret_family = IMA_FAMILY_IPV4;
                        *ret_addr = v4;
                        return 0;
                }
                if (s[i] == ':') {
                        uint8_t ip[16];
                        int r = parse_ipv6(s, len, ip, reason);

                        if (r < 0)
                                return r;
                        *ret_family = IMA_FAMILY_IPV6;
                        *ret_addr = ima_addr_from_bytes(IMA_FAMILY_IPV6, ip);
                        return 0;
                }
                if (s[i] == '%')
                        return fail(reason, "missing IPv6 address");
        }
        return fail(reason, "unable to parse IP");
}

int ima_cidr_parse(const char *s, size_t len, struct ima_cidr *ret, const char **reason)
{
        const char *slash = memchr(s, '/', len);
        enum ima_family family;
        ima_u128 addr;
        size_t mask_len, i;
        unsigned n = 0;
        int r;

        if (!slash)
                return fail(reason, "missing '/' and prefix length");
        r = ima_addr_parse(s, (size_t)(slash - s), &family, &addr, reason);
        if (r < 0)
                return r;
        mask_len = len - (size_t)(slash - s) - 1;
        for (i = 0; i < mask_len && slash[1 + i] >= '0' && slash[1 + i] <= '9'; i++) {
                n = n * 10 + (unsigned)(slash[1 + i] - '0');
                if (n >= GO_DTOI_BIG)
                        return fail(reason, "prefix length out of range");
        }
        if (i == 0 || i != mask_len)
                return fail(reason, "prefix length must be a decimal number");
        if (n > ima_family_bits(family))
                return fail(reason, "prefix length out of range");
        *ret = (struct ima_cidr){ .family = family, .addr = addr, .prefix_len = n };
        return 0;
}

static ima_u128 host_mask(const struct ima_cidr *c)
{
        unsigned host_bits = ima_family_bits(c->family) - c->prefix_len;

        /* shifting a 128-bit value by 128 is undefined: the /0 case */
        if (host_bits >= 128)
                return ~(ima_u128)0;
        return (((ima_u128)1) << host_bits) - 1;
}

ima_u128 ima_cidr_first(const struct ima_cidr *c)
{
        return c->addr & ~host_mask(c) & ima_family_max(c->family);
}

ima_u128 ima_cidr_last(const struct ima_cidr *c)
{
        return (c->addr | host_mask(c)) & ima_family_max(c->family);
}

bool ima_cidr_is_aligned(const struct ima_cidr *c)
{
        return (c->addr & host_mask(c)) == 0;
}

bool ima_cidr_is_v4mapped(const struct ima_cidr *c)
{
        return c->family == IMA_FAMILY_IPV6 && (c->addr >> 32) == 0xffff;
}

void ima_addr_to_bytes(enum ima_family f, ima_u128 addr, uint8_t *out)
{
        unsigned n = ima_family_bits(f) / 8;

        for (unsigned i = 0; i < n; i++)
                out[n - 1 - i] = (uint8_t)(addr >> (8 * i));
}

ima_u128 ima_addr_from_bytes(enum ima_family f, const uint8_t *in)
{
        unsigned n = ima_family_bits(f) / 8;
        ima_u128 v = 0;

        for (unsigned i = 0; i < n; i++)
                v = v << 8 | in[i];
        return v;
}

void ima_addr_format(enum ima_family f, ima_u128 addr, char buf[static IMA_ADDR_STRLEN])
{
        uint8_t bytes[16];

        ima_addr_to_bytes(f, addr, bytes);
        if (!inet_ntop(f == IMA_FAMILY_IPV4 ? AF_INET : AF_INET6, bytes, buf, IMA_ADDR_STRLEN))
                snprintf(buf, IMA_ADDR_STRLEN, "?");
}

void ima_cidr_format_go(const struct ima_cidr *c, char buf[static IMA_ADDR_STRLEN + 4])
{
        unsigned best = 0, best_len = 0, pos = 0;
        uint16_t words[8];
        char *p = buf;

        if (c->family == IMA_FAMILY_IPV4 || ima_cidr_is_v4mapped(c)) {
                ima_cidr_format(c, buf);
                if (c->family == IMA_FAMILY_IPV6) {
                        /* Go prints the IPv4 part, and with it the last 32 bits of the mask
                         * (networkNumberAndMask: m[12:]): ::ffff:10.0.0.0/104 is 10.0.0.0/8. An
                         * aligned mapped prefix is /96 to /128. */
                        unsigned v4_len = c->prefix_len >= 96 && c->prefix_len <= 128 ? c->prefix_len - 96 : 0;
                        char a[IMA_ADDR_STRLEN];

                        ima_addr_format(IMA_FAMILY_IPV4, c->addr & UINT32_MAX, a);
                        snprintf(buf, IMA_ADDR_STRLEN + 4, "%s/%u", a, v4_len);
                }
                return;
        }
        for (unsigned i = 0; i < 8; i++)
                words[i] = (uint16_t)(c->addr >> (112 - 16 * i));
        /* the longest run of two or more zero words, the first one on a tie, becomes "::" */
        for (unsigned i = 0; i < 8; i++) {
                unsigned j = i;

                while (j < 8 && words[j] == 0)
                        j++;
                if (j - i > best_len && j - i >= 2) {
                        best = i;
                        best_len = j - i;
                }
                if (j > i)
                        i = j;
        }
        while (pos < 8) {
                if (best_len && pos == best) {
                        p += sprintf(p, "::");
                        pos += best_len;
                        continue;
                }
                p += sprintf(p, "%s%x", pos && !(best_len && pos == best + best_len) ? ":" : "", words[pos]);
                pos++;
        }
        sprintf(p, "/%u", c->prefix_len);
}

void ima_cidr_format(const struct ima_cidr *c, char buf[static IMA_ADDR_STRLEN + 4])
{
        char a[IMA_ADDR_STRLEN];

        ima_addr_format(c->family, c->addr, a);
        snprintf(buf, IMA_ADDR_STRLEN + 4, "%s/%u", a, c->prefix_len);
}
