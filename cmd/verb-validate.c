/* verb-validate.c: parse and check the configuration, then print what the agent would use: the
 * effective settings and the sets exactly as "apply" would program them. No kernel access. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/args.h"
#include "cmd/common.h"
#include "cmd/verbs.h"

int verb_validate(void)
{
        _cleanup_(ima_config_freep) struct ima_config *config = NULL;
        _cleanup_(ima_model_freep) struct ima_model *model = NULL;
        _cleanup_free_ char *json = NULL;
        int r;

        r = load_config(DIAG_LINES, &config);
        if (r == -EINVAL)
                return EXIT_USAGE;
        if (r >= 0)
                r = build_model(config, &model);
        if (r < 0) {
                fprintf(stderr, "validate failed: %s\n", strerror(-r));
                return EXIT_FAILURE_RUNTIME;
        }
        json = ima_config_to_json(config, model);
        if (!json) {
                fprintf(stderr, "validate failed: %s\n", strerror(ENOMEM));
                return EXIT_FAILURE_RUNTIME;
        }
        /* a typo in --config would otherwise look like a valid file that says nothing */
        if (config->source == IMA_CONFIG_SOURCE_DEFAULTS)
                fprintf(stderr, "%s: file not found; showing the built-in defaults, which the agent uses until "
                        "the file appears\n", arg_config_path);
        fputs(json, stdout);
        return stdout_status(EXIT_OK);
}
