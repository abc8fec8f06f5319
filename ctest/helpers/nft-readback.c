/* nft-readback: reads the agent's table back through libnftables' JSON output (the test oracle,
 * independent of the agent's libnftnl code) and prints it in a canonical, diffable form:
 *
 *   table ip ip-masq-agent
 *   set nomasq-dst type ipv4_addr flags interval comment "..."
 *     element 10.0.0.0/8
 *   chain postrouting type nat hook postrouting prio 101 policy accept
 *   rule comment "..." expr [...]
 *
 * Usage: nft-readback FAMILY [--counters]. Counter values are printed as 0 unless --counters.
 * Prints "absent" and exits 0 when the table does not exist; exits 1 on any other failure.
 * "nft-readback --genid" prints the ruleset's generation id (it grows by one per transaction). */
#include <jansson.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <nftables/libnftables.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static bool show_counters;

static void print_element(json_t *e)
{
        json_t *p = json_object_get(e, "prefix");
        json_t *r = json_object_get(e, "range");

        if (json_is_string(e))
                printf("  element %s\n", json_string_value(e));
        else if (p)
                printf("  element %s/%lld\n", json_string_value(json_object_get(p, "addr")),
                       json_integer_value(json_object_get(p, "len")));
        else if (r)
                printf("  element %s-%s\n", json_string_value(json_array_get(r, 0)),
                       json_string_value(json_array_get(r, 1)));
        else {
                char *s = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);

                printf("  element %s\n", s ? s : "?");
                free(s);
        }
}

static void print_set(json_t *s)
{
        json_t *flags = json_object_get(s, "flags"), *elems = json_object_get(s, "elem"), *v;
        size_t i;

        printf("set %s type %s flags", json_string_value(json_object_get(s, "name")),
               json_string_value(json_object_get(s, "type")));
        json_array_foreach(flags, i, v)
                printf("%s%s", i ? "," : " ", json_string_value(v));
        if (json_object_get(s, "comment"))
                printf(" comment \"%s\"", json_string_value(json_object_get(s, "comment")));
        printf("\n");
        json_array_foreach(elems, i, v)
                print_element(v);
}

static void zero_counters(json_t *expr)
{
        size_t i;
        json_t *v;

        json_array_foreach(expr, i, v) {
                json_t *c = json_object_get(v, "counter");

                if (c && json_is_object(c)) {
                        json_object_set_new(c, "packets", json_integer(0));
                        json_object_set_new(c, "bytes", json_integer(0));
                }
        }
}

static void print_rule(json_t *r)
{
        json_t *expr = json_object_get(r, "expr");
        char *text;

        if (!show_counters)
                zero_counters(expr);
        text = json_dumps(expr, JSON_COMPACT | JSON_SORT_KEYS);
        printf("rule comment \"%s\" expr %s\n",
               json_object_get(r, "comment") ? json_string_value(json_object_get(r, "comment")) : "",
               text ? text : "?");
        free(text);
}

static int gen_cb(const struct nlmsghdr *nlh, void *data)
{
        struct nftnl_gen *gen = nftnl_gen_alloc();

        if (!gen || nftnl_gen_nlmsg_parse(nlh, gen) < 0)
                return MNL_CB_ERROR;
        *(uint32_t *)data = nftnl_gen_get_u32(gen, NFTNL_GEN_ID);
        nftnl_gen_free(gen);
        return MNL_CB_OK;
}

static int print_genid(void)
{
        struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
        char buf[8192];
        struct nlmsghdr *nlh;
        uint32_t genid = 0;
        int n;

        if (!nl || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
                return 1;
        nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, 0, 1);
        if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
                return 1;
        n = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
        if (n <= 0 || mnl_cb_run(buf, (size_t)n, 1, mnl_socket_get_portid(nl), gen_cb, &genid) < 0)
                return 1;
        mnl_socket_close(nl);
        printf("%u\n", genid);
        return 0;
}

int main(int argc, char **argv)
{
        struct nft_ctx *ctx;
        const char *out, *err;
        json_t *root, *items, *item;
        json_error_t jerr;
        char cmd[128];
        size_t i;
        int rc;

        if (argc == 2 && strcmp(argv[1], "--genid") == 0)
                return print_genid();
        if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "--counters") != 0)) {
                fprintf(stderr, "usage: nft-readback ip|ip6 [--counters]\n");
                return 2;
        }
        show_counters = argc == 3;
        ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!ctx)
                return 1;
        nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
        nft_ctx_buffer_output(ctx);
        nft_ctx_buffer_error(ctx);
        snprintf(cmd, sizeof(cmd), "list table %s ip-masq-agent", argv[1]);
        rc = nft_run_cmd_from_buffer(ctx, cmd);
        out = nft_ctx_get_output_buffer(ctx);
        err = nft_ctx_get_error_buffer(ctx);
        if (rc != 0) {
                if (err && strstr(err, "No such file or directory")) {
                        printf("absent\n");
                        nft_ctx_free(ctx);
                        return 0;
                }
                fprintf(stderr, "nft-readback: %s", err ? err : "list failed\n");
                nft_ctx_free(ctx);
                return 1;
        }
        root = json_loads(out, 0, &jerr);
        nft_ctx_free(ctx);
        if (!root) {
                fprintf(stderr, "nft-readback: bad JSON from libnftables: %s\n", jerr.text);
                return 1;
        }
        items = json_object_get(root, "nftables");
        json_array_foreach(items, i, item) {
                json_t *v;

                if ((v = json_object_get(item, "table")))
                        printf("table %s %s\n", json_string_value(json_object_get(v, "family")),
                               json_string_value(json_object_get(v, "name")));
                else if ((v = json_object_get(item, "set")))
                        print_set(v);
                else if ((v = json_object_get(item, "chain")))
                        printf("chain %s type %s hook %s prio %lld policy %s\n",
                               json_string_value(json_object_get(v, "name")),
                               json_string_value(json_object_get(v, "type")),
                               json_string_value(json_object_get(v, "hook")),
                               json_integer_value(json_object_get(v, "prio")),
                               json_string_value(json_object_get(v, "policy")));
                else if ((v = json_object_get(item, "rule")))
                        print_rule(v);
        }
        json_decref(root);
        return 0;
}
