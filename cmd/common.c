#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/args.h"
#include "cmd/common.h"
#include "cmd/log.h"
#include "lib/diag.h"
#include "nft/batch.h"
#include "nft/build.h"
#include "nft/sock.h"

static void print_diag(const struct ima_diag *d, enum diag_style style)
{
        for (size_t i = 0; i < d->n_entries; i++) {
                const struct ima_diag_entry *e = &d->entries[i];
                _cleanup_free_ char *text = ima_diag_entry_format(d, e);

                if (!text)
                        continue;
                if (style == DIAG_AS_PLAIN)
                        fprintf(stderr, "%s\n", text);
                else if (e->level == IMA_DIAG_ERROR)
                        log_error("%s", text);
                else
                        log_warning("%s", text);
        }
}

int load_config(enum diag_style style, struct ima_config **ret)
{
        _cleanup_(ima_diag_freep) struct ima_diag *diag = NULL;
        int r;

        r = ima_diag_new(arg_config_path, &diag);
        if (r < 0)
                return r;
        r = ima_config_load(arg_config_path, &arg_config_opts, diag, ret);
        ima_diag_sort(diag);
        print_diag(diag, style);
        if (r == -EINVAL && style == DIAG_AS_LOG)
                log_error("%s: %zu error%s in the configuration; nothing was changed", arg_config_path,
                          diag->n_errors, diag->n_errors == 1 ? "" : "s");
        return r;
}

int build_model(const struct ima_config *c, struct ima_model **ret)
{
        return ima_model_build(c, &arg_model_opts, ret);
}

int open_netlink(struct ima_nl **ret)
{
        int r = ima_nl_open(ret);

        if (r < 0)
                log_error("cannot open the netfilter netlink socket: %s", strerror(-r));
        return r;
}

int send_plan(struct ima_nl *nl, const struct ima_plan *p, uint32_t genid)
{
        _cleanup_(ima_batch_freep) struct ima_batch *b = NULL;
        int r;

        r = ima_batch_new(nl, genid, &b);
        if (r < 0)
                return r;
        r = ima_build_plan(b, p);
        if (r < 0)
                return r;
        r = ima_batch_commit(b, IMA_BATCH_COMMIT);
        if (r == 0)
                return 0;
        if (ima_batch_n_errors(b) == 0) {
                if (r == -EMSGSIZE)
                        log_error("transaction of %zu bytes is larger than the socket send buffer allows "
                                  "(raise net.core.wmem_max or run with CAP_NET_ADMIN in the host namespace)",
                                  ima_batch_size(b));
                else if (r == -ENOBUFS)
                        log_error("kernel answers were lost (receive buffer overrun): the outcome is unknown");
                else if (r == -EPERM)
                        log_error("sending the transaction failed: %s (CAP_NET_ADMIN is required)", strerror(-r));
                else
                        log_error("sending the transaction failed: %s", strerror(-r));
                return r;
        }
        for (size_t i = 0; i < ima_batch_n_errors(b); i++) {
                struct ima_batch_error e;

                ima_batch_get_error(b, i, &e);
                if (e.error == -ERESTART)
                        log_error("%s: the ruleset changed while the transaction was prepared", e.what);
                else if (e.kernel)
                        log_error("%s: %s (kernel: %s)", e.what, strerror(-e.error), e.kernel);
                else
                        log_error("%s: %s", e.what, strerror(-e.error));
        }
        log_error("the kernel rejected the transaction: nothing of it was applied");
        return r;
}
