#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/args.h"
#include "cmd/common.h"
#include "cmd/log.h"
#include "cmd/verbs.h"
#include "ima-version.h"
#include "lib/render.h"

int verb_render(void)
{
        _cleanup_(ima_config_freep) struct ima_config *config = NULL;
        _cleanup_(ima_model_freep) struct ima_model *model = NULL;
        _cleanup_free_ char *header = NULL;
        int r;

        r = load_desired_model("render", &config, &model);
        if (r != EXIT_OK)
                return r;
        if (asprintf(&header, "ip-masq-agent %s: desired state for %s%s\nLoad with \"nft -f FILE\": it replaces "
                              "the agent's tables in one transaction.",
                     IMA_VERSION, arg_config_path,
                     config->source == IMA_CONFIG_SOURCE_DEFAULTS ? " (file not found: built-in defaults)" : "") < 0)
                return EXIT_FAILURE_RUNTIME;
        r = ima_render_model(model, header, stdout);
        if (r < 0) {
                log_error("writing the script failed: %m"); /* the failed write's errno, not r's EIO */
                return EXIT_FAILURE_RUNTIME;
        }
        return stdout_status(EXIT_OK);
}
