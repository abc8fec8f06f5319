/* verbs.h: one function per subcommand; each returns the process exit code. */
#pragma once

#include <stdbool.h>

enum exit_code {
        EXIT_OK = 0,
        EXIT_FAILURE_RUNTIME = 1, /* kernel or runtime failure */
        EXIT_USAGE = 2,           /* usage error or invalid configuration */
        EXIT_DRIFT = 3,           /* "diff" found the kernel differs */
};

int verb_run(void);
int verb_apply(void);
int verb_diff(void);
int verb_render(void);
int verb_validate(void);
int verb_cleanup(void);

/* Whether these arguments (argv[0] the program) start the daemon, "run" or flags alone, rather than
 * a command that exits when done. Reads them as main() does, flag values included, and sets nothing. */
bool args_run_daemon(int argc, char **argv);
