/* nft-readback: reads the agent's table back through libnftables' JSON output (the test oracle,
 * independent of the agent's libnftnl code) and prints it in a canonical, diffable form:
 *
 *   table ip ip-masq-agent
 *   set nomasq-dst type ipv4_addr flags interval comment "..."
 *     element 10.0.0.0/8
 *   chain postrouting type nat hook postrouting prio 100 policy accept
 *   rule comment "..." expr [...]
 *
 * Usage: nft-readback FAMILY [--counters]. Counter values are printed as 0 unless --counters.
 * Prints "absent" and exits 0 when the table does not exist; exits 1 on any other failure. */
#include <jansson.h>
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

int main(int argc, char **argv)
{
        struct nft_ctx *ctx;
        const char *out, *err;
        json_t *root, *items, *item;
        json_error_t jerr;
        char cmd[128];
        size_t i;
        int rc;

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
