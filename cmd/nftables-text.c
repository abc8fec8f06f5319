#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <nftables/libnftables.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/nftables-text.h"
#include "lib/array.h"
#include "lib/macro.h"

/* Debian: package libnftables1. */
#define NFTABLES_SONAME "libnftables.so.1"

struct nftables_api {
        __typeof__(nft_ctx_new) *ctx_new;
        __typeof__(nft_ctx_free) *ctx_free;
        __typeof__(nft_ctx_output_set_flags) *output_set_flags;
        __typeof__(nft_ctx_buffer_output) *buffer_output;
        __typeof__(nft_ctx_buffer_error) *buffer_error;
        __typeof__(nft_ctx_get_output_buffer) *get_output_buffer;
        __typeof__(nft_ctx_get_error_buffer) *get_error_buffer;
        __typeof__(nft_run_cmd_from_buffer) *run_cmd_from_buffer;
};

static const struct {
        const char *name;
        size_t offset;
} symbols[] = {
        { "nft_ctx_new", offsetof(struct nftables_api, ctx_new) },
        { "nft_ctx_free", offsetof(struct nftables_api, ctx_free) },
        { "nft_ctx_output_set_flags", offsetof(struct nftables_api, output_set_flags) },
        { "nft_ctx_buffer_output", offsetof(struct nftables_api, buffer_output) },
        { "nft_ctx_buffer_error", offsetof(struct nftables_api, buffer_error) },
        { "nft_ctx_get_output_buffer", offsetof(struct nftables_api, get_output_buffer) },
        { "nft_ctx_get_error_buffer", offsetof(struct nftables_api, get_error_buffer) },
        { "nft_run_cmd_from_buffer", offsetof(struct nftables_api, run_cmd_from_buffer) },
};

void nftables_rules_free(char **rules, size_t n)
{
        for (size_t i = 0; rules && i < n; i++)
                free(rules[i]);
        free(rules);
}

/* The rule a line ends, without its " # handle N": its length, or 0 when the line ends no rule. */
static size_t rule_end(const char *line, size_t len)
{
        static const char marker[] = "# handle ";
        size_t digits = 0;

        while (digits < len && isdigit((unsigned char)line[len - 1 - digits]))
                digits++;
        if (digits == 0 || len < digits + strlen(marker) ||
            memcmp(line + len - digits - strlen(marker), marker, strlen(marker)) != 0)
                return 0;
        len -= digits + strlen(marker);
        while (len > 0 && line[len - 1] == ' ')
                len--;
        return len;
}

int nftables_parse_chain_listing(const char *text, const char *chain, char ***ret, size_t *ret_n)
{
        char **rules = NULL;
        size_t n = 0, cap = 0, name_len = strlen(chain);
        bool inside = false, closed = false;
        int r = 0;

        for (const char *line = text; *line && !closed && r == 0;) {
                const char *nl = strchr(line, '\n');
                size_t len = nl ? (size_t)(nl - line) : strlen(line);
                const char *next = nl ? nl + 1 : line + len;
                size_t end;

                while (len > 0 && isspace((unsigned char)*line))
                        line++, len--;
                while (len > 0 && isspace((unsigned char)line[len - 1]))
                        len--;
                if (!inside) {
                        /* "chain NAME {", with " # handle N" after it */
                        inside = len > 6 + name_len + 2 && memcmp(line, "chain ", 6) == 0 &&
                                 memcmp(line + 6, chain, name_len) == 0 && memcmp(line + 6 + name_len, " {", 2) == 0;
                } else if (len == 1 && line[0] == '}') {
                        closed = true;
                } else if ((end = rule_end(line, len)) > 0) {
                        if (IMA_ARRAY_RESERVE(rules, cap, n, 8) < 0 || !(rules[n] = strndup(line, end)))
                                r = -ENOMEM;
                        else
                                n++;
                } else if (n > 0 || !((len > 8 && memcmp(line, "comment ", 8) == 0) ||
                                      (len > 5 && memcmp(line, "type ", 5) == 0))) {
                        /* not the chain's header: a rule nft wrote over several lines (a newline
                         * in its comment, say), which only libnftnl's listing shows escaped */
                        r = -EBADMSG;
                }
                line = next;
        }
        if (r == 0 && !closed)
                r = -EBADMSG;
        if (r < 0) {
                nftables_rules_free(rules, n);
                return r;
        }
        *ret = rules;
        *ret_n = n;
        return 0;
}

static int load(void **ret_lib, struct nftables_api *api, char *reason, size_t reason_size)
{
        void *lib = dlopen(NFTABLES_SONAME, RTLD_NOW | RTLD_LOCAL);

        if (!lib) {
                snprintf(reason, reason_size, "cannot load %s (package libnftables1): %s", NFTABLES_SONAME, dlerror());
                return -ENOPKG;
        }
        for (size_t i = 0; i < ARRAY_SIZE(symbols); i++) {
                void *fn = dlsym(lib, symbols[i].name);

                if (!fn) {
                        snprintf(reason, reason_size, "%s lacks %s", NFTABLES_SONAME, symbols[i].name);
                        dlclose(lib);
                        return -ENOPKG;
                }
                /* POSIX guarantees object and function pointers convert both ways */
                *(void **)((char *)api + symbols[i].offset) = fn;
        }
        *ret_lib = lib;
        return 0;
}

int nftables_chain_rules(const char *family, const char *table, const char *chain, char ***ret, size_t *ret_n,
                         char *reason, size_t reason_size)
{
        struct nftables_api api;
        struct nft_ctx *ctx;
        char cmd[256];
        void *lib;
        int r;

        r = load(&lib, &api, reason, reason_size);
        if (r < 0)
                return r;
        ctx = api.ctx_new(NFT_CTX_DEFAULT);
        if (!ctx) {
                dlclose(lib);
                snprintf(reason, reason_size, "nft_ctx_new failed");
                return -ENOMEM;
        }
        /* handles tell one rule from the next; counter values are no part of what a rule does */
        api.output_set_flags(ctx, NFT_CTX_OUTPUT_HANDLE | NFT_CTX_OUTPUT_STATELESS);
        if (api.buffer_output(ctx) < 0 || api.buffer_error(ctx) < 0) {
                r = -ENOMEM;
                snprintf(reason, reason_size, "cannot buffer nft's output");
        } else {
                snprintf(cmd, sizeof(cmd), "list chain %s %s %s", family, table, chain);
                if (api.run_cmd_from_buffer(ctx, cmd) != 0) {
                        const char *err = api.get_error_buffer(ctx);
                        size_t len = err ? strcspn(err, "\n") : 0;

                        r = -EIO;
                        snprintf(reason, reason_size, "nft %s: %.*s", cmd, (int)len, len ? err : "failed");
                } else {
                        r = nftables_parse_chain_listing(api.get_output_buffer(ctx), chain, ret, ret_n);
                        if (r < 0)
                                snprintf(reason, reason_size, "%s", r == -ENOMEM ? strerror(ENOMEM)
                                                                           : "nft's listing is not one rule per line");
                }
        }
        api.ctx_free(ctx);
        dlclose(lib);
        return r;
}
