#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/common.h"
#include "cmd/verbs.h"

int verb_validate(void)
{
        _cleanup_(ima_config_freep) struct ima_config *config = NULL;
        _cleanup_free_ char *json = NULL;
        int r;

        r = load_config(DIAG_AS_PLAIN, &config);
        if (r == -EINVAL)
                return EXIT_USAGE;
        if (r < 0) {
                fprintf(stderr, "validate failed: %s\n", strerror(-r));
                return EXIT_FAILURE_RUNTIME;
        }
        json = ima_config_to_json(config);
        if (!json)
                return EXIT_FAILURE_RUNTIME;
        fputs(json, stdout);
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_RUNTIME;
}
