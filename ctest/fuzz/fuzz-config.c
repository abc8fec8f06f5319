/* libFuzzer harness over the whole config parser: arbitrary bytes through ima_config_parse (YAML
 * or JSON detection, both readers, every check), with and without --enable-ipv6, and on success
 * on to the model and the validate JSON, as the agent uses them. Besides memory errors (run it
 * with ASan/UBSan) it checks that the result and the diagnostics agree. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/config.h"
#include "lib/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_once(const char *buf, size_t len, bool ipv6)
{
        _cleanup_(ima_diag_freep) struct ima_diag *d = NULL;
        _cleanup_(ima_config_freep) struct ima_config *c = NULL;
        _cleanup_(ima_model_freep) struct ima_model *m = NULL;
        struct ima_config_options o = { .enable_ipv6 = ipv6, .nomasq_all_reserved_ranges = ipv6 };
        struct ima_model_options mo;
        int r;

        if (ima_diag_new("fuzz", &d) < 0)
                return;
        r = ima_config_parse(buf, len, &o, d, &c);
        /* an error return always comes with a recorded error, and success never does */
        if ((r == -EINVAL && d->n_errors == 0) || (r == 0 && d->n_errors != 0) || (r == 0) != (c != NULL))
                abort();
        if (r != 0 && r != -EINVAL && r != -ENOMEM)
                abort();
        ima_diag_sort(d);
        for (size_t i = 0; i < d->n_entries; i++)
                free(ima_diag_entry_format(d, &d->entries[i]));
        if (r < 0)
                return;
        if (c->resync_interval_nsec <= 0 || c->cidr_limit < 0 || (int64_t)c->n_nomasq_dst > c->cidr_limit ||
            (int64_t)c->n_nomasq_src > c->cidr_limit)
                abort();
        for (size_t i = 0; i < c->n_nomasq_dst; i++)
                if (!ima_cidr_is_aligned(&c->nomasq_dst[i]) || (!ipv6 && c->nomasq_dst[i].family == IMA_FAMILY_IPV6))
                        abort();
        ima_model_options_init(&mo);
        mo.enable_ipv6 = ipv6;
        if (ima_model_build(c, &mo, &m) == 0)
                free(ima_config_to_json(c, m));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        parse_once((const char *)data, size, false);
        parse_once((const char *)data, size, true);
        return 0;
}
