/* peers.h: other ip-masq-agent daemons in this network namespace. A one-shot apply or cleanup
 * succeeds in the kernel, and a daemon that repairs from events puts its own configuration back
 * a few milliseconds later: the command has to say so, or its exit code 0 misleads. */
#pragma once

#include <sys/types.h>

/* Looks through /proc for another ip-masq-agent process in this network namespace that is not
 * running a one-shot command. Returns 1 and its pid (the first found), 0 when there is none or
 * /proc cannot tell (not mounted, processes hidden from us), -ENOMEM. */
int find_running_daemon(pid_t *ret_pid);

/* After a one-shot command changed the tables: warns, naming the pid, if a daemon will undo it. */
void warn_if_daemon_undoes(const char *verb);
