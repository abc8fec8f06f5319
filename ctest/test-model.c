/* --to-ports as upstream's pkg/interval reads it (strconv.Atoi per port, '-' between, ',' between
 * ranges), minus what upstream passes on to a failing iptables-restore. */
#include <errno.h>

#include "lib/model.h"
#include "tests.h"

static void test_port_ranges(void)
{
        static const struct {
                const char *in, *out; /* out: "a-b,c-d" or NULL for an error */
        } cases[] = {
                { "1024-29999,32768-65535", "1024-29999,32768-65535" },
                { "1024", "1024-1024" },
                { "1024,65535", "1024-1024,65535-65535" },
                { "+1024-+2048", "1024-2048" },  /* Atoi takes a '+' */
                { "01024-002048", "1024-2048" }, /* and leading zeros */
                { "5-5", "5-5" },
                { "0-100", NULL },               /* port 0: upstream passes it to iptables */
                { "1-65536", NULL },
                { "99999999999999999999", NULL },
                { "2000-1000", NULL },           /* upstream: first is greater than last */
                { "1001-1000", NULL },           /* by one: a range of no port */
                { "1-2-3", NULL },               /* upstream: more than one '-' */
                { "1000-2000,1500-2500", NULL }, /* overlap: upstream would pick ports twice */
                { "1000-2000,2000", NULL },
                { "1000-", NULL },
                { "-1000", NULL },
                { "1000,", NULL },
                { ",1000", NULL },
                { " 1000", NULL },
                { "1000 ", NULL },
                { "1a", NULL },
                { "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16", "1-1,2-2,3-3,4-4,5-5,6-6,7-7,8-8,9-9,10-10,11-11,12-12,13-13,14-14,15-15,16-16" },
                { "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17", NULL },
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct ima_port_range v[IMA_MAX_PORT_RANGES];
                const char *reason = NULL;
                size_t n = 0;
                int r = ima_port_ranges_parse(cases[i].in, v, IMA_MAX_PORT_RANGES, &n, &reason);
                char got[512] = "";

                for (size_t k = 0; r == 0 && k < n; k++)
                        snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%u-%u", k ? "," : "", v[k].first,
                                 v[k].last);
                if (!cases[i].out) {
                        if (r == 0)
                                fprintf(stderr, "accepted \"%s\" as %s\n", cases[i].in, got);
                        CHECK_INT(r, -EINVAL);
                        CHECK(reason != NULL);
                        continue;
                }
                CHECK_INT(r, 0);
                CHECK_STR(got, cases[i].out);
        }
}

int main(void)
{
        TEST_RUN(test_port_ranges);
        TEST_EXIT();
}
