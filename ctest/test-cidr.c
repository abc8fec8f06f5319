#include <errno.h>

#include "lib/cidr.h"
#include "lib/macro.h"
#include "tests.h"

static const char *fmt(const struct ima_cidr *c)
{
        static char buf[IMA_ADDR_STRLEN + 4];

        ima_cidr_format(c, buf);
        return buf;
}

static int parse(const char *s, struct ima_cidr *c)
{
        return ima_cidr_parse(s, strlen(s), c, NULL);
}

static void test_accepts_what_go_accepts(void)
{
        static const struct {
                const char *in, *canonical;
                enum ima_family family;
        } cases[] = {
                { "10.0.0.0/8", "10.0.0.0/8", IMA_FAMILY_IPV4 },
                { "0.0.0.0/0", "0.0.0.0/0", IMA_FAMILY_IPV4 },
                { "255.255.255.255/32", "255.255.255.255/32", IMA_FAMILY_IPV4 },
                { "10.0.0.0/08", "10.0.0.0/8", IMA_FAMILY_IPV4 },          /* Go's dtoi takes leading zeros */
                { "::/0", "::/0", IMA_FAMILY_IPV6 },
                { "FD00::/8", "fd00::/8", IMA_FAMILY_IPV6 },
                { "fe80::/10", "fe80::/10", IMA_FAMILY_IPV6 },
                { "2001:db8:0:0:0:0:0:0/32", "2001:db8::/32", IMA_FAMILY_IPV6 },
                { "::ffff:10.0.0.0/104", "::ffff:10.0.0.0/104", IMA_FAMILY_IPV6 },
                { "1:2:3:4:5:6:1.2.3.4/128", "1:2:3:4:5:6:102:304/128", IMA_FAMILY_IPV6 },
                { "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", IMA_FAMILY_IPV6 },
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct ima_cidr c;

                CHECK_INT(parse(cases[i].in, &c), 0);
                CHECK_INT(c.family, cases[i].family);
                CHECK_STR(fmt(&c), cases[i].canonical);
        }
}

static void test_rejects_what_go_rejects(void)
{
        static const char *const bad[] = {
                "10.0.0.0", "10.0.0.0/", "10.0.0.0/33", "010.0.0.0/8", "10.0.0.00/8", "10.0.0/8",
                "10.0.0.0.0/8", "10.0.0.256/32", " 10.0.0.0/8", "10.0.0.0/8 ", "10.0.0.0/+8", "10.0.0.0/-1",
                "fe80::1%eth0/64", "::/129", "1::2::3/64", "12345::/16", "1:2:3:4:5:6:7:8:9/128",
                "1:2:3:4:5:6:7::8/128", ":1::/16", "1::1.2.3/128", "", "/8", "10.0.0.0/99999999",
                "1.2.3.4::/64",
                /* 2^32 + 8: a 32-bit count would wrap it to /8 */
                "10.0.0.0/4294967304",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                struct ima_cidr c;
                const char *reason = NULL;
                int r = ima_cidr_parse(bad[i], strlen(bad[i]), &c, &reason);

                if (r != -EINVAL)
                        fprintf(stderr, "accepted: \"%s\"\n", bad[i]);
                CHECK_INT(r, -EINVAL);
                CHECK(reason != NULL);
        }
}

static void test_ranges_and_alignment(void)
{
        struct ima_cidr c;

        CHECK_INT(parse("10.0.0.1/8", &c), 0);
        CHECK(!ima_cidr_is_aligned(&c));
        CHECK(ima_cidr_first(&c) == 0x0a000000);
        CHECK(ima_cidr_last(&c) == 0x0affffff);
        CHECK_INT(parse("0.0.0.0/0", &c), 0);
        CHECK(ima_cidr_is_aligned(&c));
        CHECK(ima_cidr_last(&c) == 0xffffffff);
        CHECK_INT(parse("255.255.255.255/32", &c), 0);
        CHECK(ima_cidr_first(&c) == ima_cidr_last(&c));
        CHECK_INT(parse("::/0", &c), 0);
        CHECK(ima_cidr_last(&c) == ~(ima_u128)0);
        CHECK_INT(parse("::1/128", &c), 0);
        CHECK(ima_cidr_is_aligned(&c));
        CHECK_INT(parse("::ffff:10.0.0.0/104", &c), 0);
        CHECK(ima_cidr_is_v4mapped(&c));
        CHECK_INT(parse("fd00::/8", &c), 0);
        CHECK(!ima_cidr_is_v4mapped(&c));
}

static void test_bytes_roundtrip(void)
{
        uint8_t b[16];
        ima_u128 v = ((ima_u128)0x20010db8 << 96) | 0x1234;

        ima_addr_to_bytes(IMA_FAMILY_IPV6, v, b);
        CHECK_INT(b[0], 0x20);
        CHECK_INT(b[15], 0x34);
        CHECK(ima_addr_from_bytes(IMA_FAMILY_IPV6, b) == v);
        ima_addr_to_bytes(IMA_FAMILY_IPV4, 0x0a010203, b);
        CHECK_INT(b[0], 10);
        CHECK_INT(b[3], 3);
        CHECK(ima_addr_from_bytes(IMA_FAMILY_IPV4, b) == 0x0a010203);
}

/* Expected texts are what Go's net.ParseCIDR followed by IPNet.String() prints. */
static void test_go_text(void)
{
        static const struct {
                const char *in, *go, *nft;
        } cases[] = {
                { "::/0", "::/0", "::/0" },
                { "::1/128", "::1/128", "::1/128" },
                { "::102:304/128", "::102:304/128", "::1.2.3.4/128" },
                { "::/96", "::/96", "::/96" },
                { "fd00::/8", "fd00::/8", "fd00::/8" },
                { "2001:db8:0:0:1:0:0:1/128", "2001:db8::1:0:0:1/128", "2001:db8::1:0:0:1/128" },
                { "2001:0:0:1:0:0:0:1/128", "2001:0:0:1::1/128", "2001:0:0:1::1/128" },
                { "1:0:1:1:1:1:1:1/128", "1:0:1:1:1:1:1:1/128", "1:0:1:1:1:1:1:1/128" },
                { "fe80::/64", "fe80::/64", "fe80::/64" },
                { "1:2:3:4:5:6:7:8/128", "1:2:3:4:5:6:7:8/128", "1:2:3:4:5:6:7:8/128" },
                { "10.0.0.0/8", "10.0.0.0/8", "10.0.0.0/8" },
                { "0.0.0.0/0", "0.0.0.0/0", "0.0.0.0/0" },
        };
        char buf[IMA_ADDR_STRLEN + 4];
        struct ima_cidr c;

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                CHECK_INT(parse(cases[i].in, &c), 0);
                ima_cidr_format_go(&c, buf);
                CHECK_STR(buf, cases[i].go);
                CHECK_STR(fmt(&c), cases[i].nft);
        }
        /* IPv4-mapped: Go prints the IPv4 address and the mask's last 32 bits (go1.19 prints
         * 10.0.0.0/8, 0.0.0.0/0 and 10.1.2.3/32 for these) */
        CHECK_INT(parse("::ffff:10.0.0.0/104", &c), 0);
        ima_cidr_format_go(&c, buf);
        CHECK_STR(buf, "10.0.0.0/8");
        CHECK_INT(parse("::ffff:0.0.0.0/96", &c), 0);
        ima_cidr_format_go(&c, buf);
        CHECK_STR(buf, "0.0.0.0/0");
        CHECK_INT(parse("::ffff:10.1.2.3/128", &c), 0);
        ima_cidr_format_go(&c, buf);
        CHECK_STR(buf, "10.1.2.3/32");
}

int main(void)
{
        TEST_RUN(test_accepts_what_go_accepts);
        TEST_RUN(test_rejects_what_go_rejects);
        TEST_RUN(test_ranges_and_alignment);
        TEST_RUN(test_bytes_roundtrip);
        TEST_RUN(test_go_text);
        TEST_EXIT();
}
