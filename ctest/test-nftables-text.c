/* Reading nft's listing of a chain (`nft -a -s list chain`) into one text per rule, as diff shows
 * others' rules: anything that is not one rule per line is refused, never guessed at. */
#include <errno.h>
#include <stdlib.h>

#include "cmd/nftables-text.h"
#include "tests.h"

static const char listing[] =
        "table ip ip-masq-agent {\n"
        "\tchain postrouting { # handle 3\n"
        "\t\tcomment \"SNAT pod traffic to the node address unless exempt\"\n"
        "\t\ttype nat hook postrouting priority srcnat + 1; policy accept;\n"
        "\t\tip daddr 1.1.1.1 counter accept # handle 8\n"
        "\t\tfib daddr type local return comment \"local destinations are not masqueraded\" # handle 4\n"
        "\t\tmeta mark 0x00000010 log prefix \"a # handle 5\" drop # handle 9\n"
        "\t}\n"
        "}\n";

static void test_rules_in_order(void)
{
        char **rules = NULL;
        size_t n = 0;

        CHECK_INT(nftables_parse_chain_listing(listing, "postrouting", &rules, &n), 0);
        CHECK_INT(n, 3);
        if (n == 3) {
                CHECK_STR(rules[0], "ip daddr 1.1.1.1 counter accept");
                CHECK_STR(rules[1], "fib daddr type local return comment \"local destinations are not masqueraded\"");
                /* only the last "# handle N" is the handle */
                CHECK_STR(rules[2], "meta mark 0x00000010 log prefix \"a # handle 5\" drop");
        }
        nftables_rules_free(rules, n);
}

static void test_empty_chain_and_no_header(void)
{
        char **rules = NULL;
        size_t n = 1;

        CHECK_INT(nftables_parse_chain_listing("table ip t {\n\tchain postrouting { # handle 1\n\t}\n}\n",
                                               "postrouting", &rules, &n), 0);
        CHECK_INT(n, 0);
        nftables_rules_free(rules, n);
        CHECK_INT(nftables_parse_chain_listing("table ip t {\n\tchain postrouting { # handle 1\n"
                                               "\t\taccept # handle 2\n\t}\n}\n",
                                               "postrouting", &rules, &n), 0);
        CHECK_INT(n, 1);
        if (n == 1)
                CHECK_STR(rules[0], "accept");
        nftables_rules_free(rules, n);
}

static void test_refused(void)
{
        static const char *const bad[] = {
                /* a rule over two lines: a newline in its comment */
                "table ip t {\n\tchain postrouting { # handle 1\n\t\taccept # handle 2\n"
                "\t\taccept comment \"by\nhand\" # handle 3\n\t}\n}\n",
                /* a header line after a rule: no header, so a rule's line that only reads like one */
                "table ip t {\n\tchain postrouting { # handle 1\n\t\taccept # handle 2\n"
                "\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t}\n}\n",
                /* a line before the first rule that is no header */
                "table ip t {\n\tchain postrouting { # handle 1\n\t\taccept comment \"by\nhand\" # handle 3\n\t}\n}\n",
                /* no end */
                "table ip t {\n\tchain postrouting { # handle 1\n\t\taccept # handle 2\n",
                /* a rule without its handle */
                "table ip t {\n\tchain postrouting { # handle 1\n\t\taccept # handle 2\n\t\tdrop\n\t}\n}\n",
                /* another chain only, whose name starts alike */
                "table ip t {\n\tchain postrouting2 { # handle 1\n\t\taccept # handle 2\n\t}\n}\n",
                "",
        };

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char **rules = NULL;
                size_t n = 0;

                CHECK_INT(nftables_parse_chain_listing(bad[i], "postrouting", &rules, &n), -EBADMSG);
        }
}

int main(void)
{
        TEST_RUN(test_rules_in_order);
        TEST_RUN(test_empty_chain_and_no_header);
        TEST_RUN(test_refused);
        TEST_EXIT();
}
