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
 * fails with ENOBUFS. Only the outcome of the batch is unknown to the caller.
 *
 * IMA_NLFAULT=expr:FAMILY:NAME:FILE (FAMILY ip or ip6) instead renames, while FILE exists, the
 * expression NAME in every rule of that family the process sends (its last letter becomes '_'),
 * on a copy of what is sent: the kernel then refuses the rule as it does on a node whose kernel
 * lacks the expression's module (ENOENT, "expr:ip6:fib:F" is a kernel without nft_fib_ipv6).
 * NAME is renamed as a chain's type too: "expr:ip6:nat:F" is a kernel without nft_chain_nat. */
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
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
static int expr_family = -1; /* expr:FAMILY:NAME:FILE: NFPROTO_* of the rules to change... */
static char expr_name[32];   /* ...and the expression they lose */
static int acks_pending_fd = -1; /* a batch went out on this socket: its answers are to be lost */

__attribute__((constructor)) static void init(void)
{
        const char *spec = getenv("IMA_NLFAULT");
        unsigned long long seed;
        int used = 0;

        log_path = getenv("IMA_NLFAULT_LOG");
        if (spec && strncmp(spec, "expr:", 5) == 0) {
                char family[8];
                int n = 0;

                if (sscanf(spec + 5, "%7[^:]:%31[^:]:%n", family, expr_name, &n) != 2 || !n ||
                    (strcmp(family, "ip") != 0 && strcmp(family, "ip6") != 0)) {
                        fprintf(stderr, "nl-fault: bad IMA_NLFAULT \"%s\"\n", spec);
                        abort();
                }
                expr_family = strcmp(family, "ip") == 0 ? NFPROTO_IPV4 : NFPROTO_IPV6;
                snprintf(control, sizeof(control), "%s", spec + 5 + n);
                return;
        }
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

/* expr:FAMILY:NAME:FILE: renames the expression in each rule message of buf (a run of netlink
 * messages) of the chosen family, and the type of each chain. Its name attribute is found by its
 * bytes: NFTA_EXPR_NAME (NFTA_CHAIN_TYPE), the name, NUL and padding. */
static void rename_expr(char *buf, size_t len)
{
        size_t name_len = strlen(expr_name), attr_len = NLA_HDRLEN + name_len + 1;

        for (size_t off = 0; off + sizeof(struct nlmsghdr) <= len;) {
                struct nlmsghdr *nlh = (struct nlmsghdr *)(buf + off);
                struct nfgenmsg *nfg = (struct nfgenmsg *)(buf + off + NLMSG_HDRLEN);
                bool rule = nlh->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE);
                bool chain = nlh->nlmsg_type == ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN);

                if (nlh->nlmsg_len < NLMSG_HDRLEN || off + nlh->nlmsg_len > len)
                        return;
                if ((rule || chain) && nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(*nfg) &&
                    nfg->nfgen_family == expr_family) {
                        for (size_t i = off + NLMSG_HDRLEN; i + NLA_HDRLEN + name_len < off + nlh->nlmsg_len; i++) {
                                struct nlattr a;

                                memcpy(&a, buf + i, sizeof(a));
                                if (a.nla_len == attr_len &&
                                    (a.nla_type & NLA_TYPE_MASK) == (rule ? NFTA_EXPR_NAME : NFTA_CHAIN_TYPE) &&
                                    memcmp(buf + i + NLA_HDRLEN, expr_name, name_len + 1) == 0)
                                        buf[i + NLA_HDRLEN + name_len - 1] = '_';
                        }
                }
                off += NLMSG_ALIGN(nlh->nlmsg_len);
        }
}

/* expr:FAMILY:NAME:FILE: sends a renamed copy of msg. */
static ssize_t send_renamed(int fd, const struct msghdr *msg, int flags)
{
        struct msghdr copy = *msg;
        struct iovec one;
        size_t len = 0;
        char *buf;
        ssize_t n;

        for (size_t i = 0; i < msg->msg_iovlen; i++)
                len += msg->msg_iov[i].iov_len;
        buf = malloc(len ? len : 1);
        if (!buf) {
                errno = ENOMEM;
                return -1;
        }
        len = 0;
        for (size_t i = 0; i < msg->msg_iovlen; i++) {
                memcpy(buf + len, msg->msg_iov[i].iov_base, msg->msg_iov[i].iov_len);
                len += msg->msg_iov[i].iov_len;
        }
        rename_expr(buf, len);
        one = (struct iovec){ .iov_base = buf, .iov_len = len };
        copy.msg_iov = &one;
        copy.msg_iovlen = 1;
        n = syscall(SYS_sendmsg, fd, &copy, flags);
        free(buf);
        return n;
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
        int err = fault(fd, flags, false, "sendmsg");

        if (err) {
                errno = err;
                return -1;
        }
        if (expr_family >= 0 && access(control, F_OK) == 0 && is_netlink(fd))
                return send_renamed(fd, msg, flags);
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
