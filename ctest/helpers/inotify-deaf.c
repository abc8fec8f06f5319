/* inotify-deaf: an LD_PRELOAD library that makes the agent miss creations, for
 * kernel/test-daemon-watch-lost.sh. While the file named by IMA_INOTIFY_DEAF exists, every watch
 * added is blind to entries created or renamed into its directory (IN_CREATE, IN_MOVED_TO), as if
 * those events had been lost. A watch added again once the file is gone hears everything: adding
 * a watch for a directory already watched replaces its mask. Otherwise inotify is untouched. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

int inotify_add_watch(int fd, const char *path, uint32_t mask)
{
        const char *control = getenv("IMA_INOTIFY_DEAF");

        if (control && access(control, F_OK) == 0)
                mask &= ~(uint32_t)(IN_CREATE | IN_MOVED_TO);
        return (int)syscall(SYS_inotify_add_watch, fd, path, mask);
}
