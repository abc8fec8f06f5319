#include "cmd/daemon.h"
#include "cmd/verbs.h"

int verb_run(void)
{
        return daemon_run();
}
