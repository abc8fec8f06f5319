/* events.h: the nf_tables event stream (multicast group NFNLGRP_NFTABLES), reduced to what the
 * agent acts on: the transactions committed since the last read, each with its generation, who
 * committed it, and whether it touched table ip/ip6 ip-masq-agent; and whether events were lost
 * (then only the generation id can tell whether anyone else committed). Transactions committed
 * through the agent's own socket are marked as its own. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/macro.h"

struct ima_events;

struct ima_event_txn {
        uint32_t genid;          /* the generation this transaction produced */
        bool own;                /* committed through the socket whose portid was given at open */
        bool touched;            /* changed one of our tables (or anything inside them); also set
                                  * when events were lost before it ended, since then nobody knows */
        bool cut;                /* events were lost before it ended: touched is a guess */
        uint32_t pid;            /* committing process, as the kernel reports it */
        char comm[32];           /* its name */
};

struct ima_event_batch {
        struct ima_event_txn *txns; /* in commit order */
        size_t n_txns;
        size_t cap;
        bool lost;               /* the socket overflowed: events were dropped */
};

/* The part that makes sense of the messages, apart from the socket so that it can be tested with
 * made-up messages. Transactions end with NEWGEN, which names the committing socket. */
struct ima_event_decoder {
        uint32_t own_portid;
        /* whether the transaction whose messages are being read touches our tables */
        bool txn_touched;
        /* messages may have been dropped before the next NEWGEN: the transaction it ends may
         * have named our tables in a message we never saw */
        bool txn_partial;
        /* a loss was reported and the queue has not been read empty since: every transaction
         * ending now may be the one that lost messages */
        bool loss_window;
        /* the group was rejoined while generation gap_genid was the kernel's: a transaction up
         * to it may have sent its first messages while nobody listened, and its NEWGEN after */
        bool gap;
        uint32_t gap_genid;
};

void ima_event_decoder_init(struct ima_event_decoder *d, uint32_t own_portid);
/* Decodes one datagram of netlink messages, appending each transaction a NEWGEN completes to
 * batch. 0 or -ENOMEM. */
int ima_event_decoder_feed(struct ima_event_decoder *d, const void *buf, size_t len, struct ima_event_batch *batch);
/* The socket dropped messages (ENOBUFS): sets batch->lost, and makes every transaction that ends
 * from now until the queue has been read empty, and the first one after that, count as touching
 * our tables. The kernel reports the loss before the messages still queued ahead of it, and
 * drops everything after it until the queue is empty, so the transaction that lost messages is
 * one of those, and which one cannot be told. */
void ima_event_decoder_lost(struct ima_event_decoder *d, struct ima_event_batch *batch);
/* The socket's queue was read empty. */
void ima_event_decoder_drained(struct ima_event_decoder *d);
/* The socket joined the event group again after it had left it (ima_events_listen()), and the
 * kernel's generation, asked after joining, was genid (known false: it could not be asked). A
 * transaction committed around the join may have lost its first messages, the ones naming our
 * tables, and still deliver its NEWGEN: every transaction ending at a generation up to genid
 * counts as touching our tables (cut). Unknown: as after a loss. */
void ima_event_decoder_rejoined(struct ima_event_decoder *d, bool known, uint32_t genid);

enum ima_events_verdict {
        IMA_EVENTS_UNTOUCHED,  /* every transaction in the range was seen, and none touched our tables */
        IMA_EVENTS_TOUCHED,    /* one touched them, or may have (events lost) */
        IMA_EVENTS_INCOMPLETE, /* not every transaction in the range has been seen (yet) */
};

/* What batch says about the transactions that produced the generations after from, up to and
 * including to (generations skip 0 when they wrap): a read of our tables taken across them is
 * one state when none touched them. Transactions outside the range are ignored. */
enum ima_events_verdict ima_event_batch_judge(const struct ima_event_batch *batch, uint32_t from, uint32_t to);

/* Subscribes to nf_tables events. own_portid identifies the agent's batch socket. The receive
 * buffer is made large (forced when privileged) so that a big transaction's events fit. */
int ima_events_open(uint32_t own_portid, struct ima_events **ret);
struct ima_events *ima_events_free(struct ima_events *ev);
DEFINE_FREEP(struct ima_events, ima_events_free)
int ima_events_fd(const struct ima_events *ev);
/* Leaves (false) or rejoins (true) the event group. While nobody listens the kernel builds no
 * notifications: a commit of 100,000 intervals then costs a tenth of what it costs with a
 * listener. Whatever is committed meanwhile is never seen: the caller must treat the gap as a
 * loss. Messages queued before leaving stay queued. 0 or -errno. */
int ima_events_listen(struct ima_events *ev, bool on);
/* After ima_events_listen(ev, true): see ima_event_decoder_rejoined(). */
void ima_events_rejoined(struct ima_events *ev, bool known, uint32_t genid);

/* Reads everything queued (never blocks) and appends completed transactions to batch. Messages
 * of a transaction whose NEWGEN has not arrived yet are kept for the next call. Returns 0 or
 * -errno; on an error batch holds what was decoded before it, and counts as lost. */
int ima_events_read(struct ima_events *ev, struct ima_event_batch *batch);
void ima_event_batch_clear(struct ima_event_batch *batch);
