/* nl-fault: an LD_PRELOAD library that makes netlink socket calls fail, for
 * kernel/test-daemon-netlink-faults.sh. IMA_NLFAULT=RATE:SEED:FILE: while FILE exists, each
 * recv(), recvfrom(), recvmsg(), send(), sendto() and sendmsg() on an AF_NETLINK socket fails with
 * probability 1/RATE, drawn from SEED, before the kernel is asked, so nothing is sent or taken
 * from the queue, as with the real errors:
 * - receiving: ENOBUFS (the kernel dropped messages for this socket: for an event socket events
 *   were lost, while ACKs are drained the outcome of a batch is unknown), EINTR, and EAGAIN when
 *   the call would not have blocked (MSG_DONTWAIT or O_NONBLOCK);
 * - sending: EINTR, ENOBUFS.
 * Data is never cut short: a netlink datagram is read whole or not at all, and what the agent does
 * with a message the kernel itself cut (MSG_TRUNC) is not something a preload can make realistic.
 * With IMA_NLFAULT_LOG=PATH each fault appends one line to PATH ("recv ENOBUFS"). Other sockets,
 * and every socket while FILE is missing, are untouched.
 *
 * IMA_NLFAULT=acks:FILE instead loses the answers to every nf_tables batch while FILE exists, as
 * the kernel does when they overflow the socket's receive buffer: the batch is sent and committed
 * (or refused) as usual, then the first receive on that socket discards every message queued and
 * fails with ENOBUFS. Only the outcome of the batch is unknown to the caller. */
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

static unsigned long rate;
static uint64_t state;
static char control[256];
static const char *log_path;
static bool lose_acks;       /* acks:FILE */
static int acks_pending_fd = -1; /* a batch went out on this socket: its answers are to be lost */

__attribute__((constructor)) static void init(void)
{
        const char *spec = getenv("IMA_NLFAULT");
        unsigned long long seed;
        int used = 0;

        log_path = getenv("IMA_NLFAULT_LOG");
        if (spec && strncmp(spec, "acks:", 5) == 0) {
                snprintf(control, sizeof(control), "%s", spec + 5);
                lose_acks = true;
                return;
        }
        if (!spec || sscanf(spec, "%lu:%llu:%n", &rate, &seed, &used) != 2 || !used || !rate)
                return;
        snprintf(control, sizeof(control), "%s", spec + used);
        state = seed * 2 + 1;
}

static uint64_t next(void)
{
        /* xorshift64 */
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
}

static bool is_netlink(int fd)
{
        int domain = 0;
        socklen_t len = sizeof(domain);

        return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_NETLINK;
}

static void note(const char *call, int err)
{
        char line[64];
        int fd, n;

        if (!log_path)
                return;
        fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
                return;
        n = snprintf(line, sizeof(line), "%s %s\n", call,
                     err == ENOBUFS ? "ENOBUFS" : err == EINTR ? "EINTR" : "EAGAIN");
        if (write(fd, line, (size_t)n) < 0) {
                /* the log is a courtesy to the reader of a failed test */
        }
        close(fd);
}

/* acks:FILE: whether this send is an nf_tables batch (it starts with NFNL_MSG_BATCH_BEGIN). */
static bool is_batch(const void *buf, size_t len)
{
        struct nlmsghdr nlh;

        if (len < sizeof(nlh))
                return false;
        memcpy(&nlh, buf, sizeof(nlh));
        return nlh.nlmsg_type == NFNL_MSG_BATCH_BEGIN;
}

/* acks:FILE: after a batch is sent on fd, its answers are to be lost. */
static void sent(int fd, const void *buf, size_t len)
{
        int saved = errno;

        if (lose_acks && access(control, F_OK) == 0 && is_batch(buf, len) && is_netlink(fd))
                acks_pending_fd = fd;
        errno = saved;
}

/* acks:FILE: the receive that would read a batch's answers drops them all, as an overflowing
 * receive buffer does, and reports it. Returns the errno, or 0. */
static int lost_acks(int fd, const char *call)
{
        char discard[8192];

        if (fd != acks_pending_fd)
                return 0;
        acks_pending_fd = -1;
        while (syscall(SYS_recvfrom, fd, discard, sizeof(discard), MSG_DONTWAIT, NULL, NULL) >= 0) {
        }
        note(call, ENOBUFS);
        return ENOBUFS;
}

/* The errno to fail this call with, or 0 to let it through. */
static int fault(int fd, int flags, bool receiving, const char *call)
{
        int saved = errno, err;

        if (lose_acks) {
                err = receiving ? lost_acks(fd, call) : 0;
                errno = saved;
                return err;
        }
        if (!rate || !control[0] || access(control, F_OK) != 0 || !is_netlink(fd)) {
                errno = saved;
                return 0;
        }
        if (next() % rate != 0) {
                errno = saved;
                return 0;
        }
        if (!receiving)
                err = next() % 2 ? EINTR : ENOBUFS;
        else {
                bool nonblocking = (flags & MSG_DONTWAIT) || (fcntl(fd, F_GETFL) & O_NONBLOCK);

                switch (next() % (nonblocking ? 3 : 2)) {
                case 0: err = ENOBUFS; break;
                case 1: err = EINTR; break;
                default: err = EAGAIN; break;
                }
        }
        note(call, err);
        return err;
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
        int err = fault(fd, flags, true, "recvmsg");

        if (err) {
                errno = err;
                return -1;
        }
        return syscall(SYS_recvmsg, fd, msg, flags);
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, struct sockaddr *addr, socklen_t *addr_len)
{
        int err = fault(fd, flags, true, "recvfrom");

        if (err) {
                errno = err;
                return -1;
        }
        return syscall(SYS_recvfrom, fd, buf, len, flags, addr, addr_len);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
        int err = fault(fd, flags, true, "recv");

        if (err) {
                errno = err;
                return -1;
        }
        return syscall(SYS_recvfrom, fd, buf, len, flags, NULL, NULL);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
        int err = fault(fd, flags, false, "sendmsg");

        if (err) {
                errno = err;
                return -1;
        }
        ssize_t n = syscall(SYS_sendmsg, fd, msg, flags);

        if (n > 0 && msg->msg_iovlen > 0)
                sent(fd, msg->msg_iov[0].iov_base, msg->msg_iov[0].iov_len);
        return n;
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *addr, socklen_t addr_len)
{
        int err = fault(fd, flags, false, "sendto");

        if (err) {
                errno = err;
                return -1;
        }
        ssize_t n = syscall(SYS_sendto, fd, buf, len, flags, addr, addr_len);

        if (n > 0)
                sent(fd, buf, len);
        return n;
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
        int err = fault(fd, flags, false, "send");

        if (err) {
                errno = err;
                return -1;
        }
        ssize_t n = syscall(SYS_sendto, fd, buf, len, flags, NULL, 0);

        if (n > 0)
                sent(fd, buf, len);
        return n;
}
