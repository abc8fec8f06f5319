/* daemon.h: the resident agent ("run"): one single-threaded epoll loop over the configuration
 * directory (inotify), the nf_tables event stream, a resync timer, debounce/heal timers and
 * signals (signalfd). Keeps the kernel matching the last valid configuration. */
#pragma once

/* Runs until SIGTERM/SIGINT. Returns the process exit code. */
int daemon_run(void);
