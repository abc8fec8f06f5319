/* verb-run.c: the resident agent. Applies the configuration, then re-reads and re-applies it
 * every ResyncInterval and on SIGHUP, until SIGTERM or SIGINT, which leave the rules in place so
 * pods keep their SNAT across a rolling update. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "cmd/common.h"
#include "cmd/log.h"
#include "cmd/verbs.h"
#include "lib/duration.h"
#include "nft/sock.h"

/* One resync. A bad configuration keeps the last good model in force (and keeps healing it);
 * *good_model is replaced only by a valid one. */
static void resync(struct ima_reconciler *rc, struct ima_model **good_model, int64_t *interval)
{
        _cleanup_(ima_config_freep) struct ima_config *config = NULL;
        _cleanup_(ima_model_freep) struct ima_model *model = NULL;
        int r;

        r = load_config(DIAG_AS_LOG, &config);
        if (r >= 0 && build_model(config, &model) >= 0) {
                ima_model_free(*good_model);
                *good_model = TAKE_PTR(model);
                *interval = config->resync_interval_nsec;
        }
        if (!*good_model) {
                log_error("no valid configuration yet: nothing applied");
                return;
        }
        /* trust our own last commit only while nobody has committed anything since */
        if (reconcile_logged(rc, *good_model, IMA_TRUST_GENID, "resync", NULL) < 0)
                log_error("resync failed; retrying in the next interval");
}

int verb_run(void)
{
        _cleanup_(ima_model_freep) struct ima_model *model = NULL;
        _cleanup_(ima_reconciler_freep) struct ima_reconciler *rc = NULL;
        _cleanup_(ima_nl_freep) struct ima_nl *nl = NULL;
        int64_t interval = IMA_CONFIG_DEFAULT_RESYNC_NSEC;
        char text[IMA_DURATION_STRLEN];
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 || open_netlink(&nl) < 0 || ima_reconciler_new(nl, &rc) < 0)
                return EXIT_FAILURE_RUNTIME;
        for (;;) {
                struct timespec timeout;
                siginfo_t info;
                int sig;

                resync(rc, &model, &interval);
                ima_duration_format(interval, text);
                log_v(4, "next resync in %s", text);
                timeout.tv_sec = interval / IMA_NSEC_PER_SEC;
                timeout.tv_nsec = interval % IMA_NSEC_PER_SEC;
                sig = sigtimedwait(&mask, &info, &timeout);
                if (sig == SIGTERM || sig == SIGINT) {
                        log_info("received %s: exiting, rules stay in place", strsignal(sig));
                        return EXIT_OK;
                }
                if (sig == SIGHUP)
                        log_info("received SIGHUP: reloading");
        }
}
