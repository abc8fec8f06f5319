/* batch.h: one nf_tables transaction: BATCH_BEGIN (optionally pinned to a generation), messages
 * each with its own sequence number and a description, BATCH_END; sent in one sendmsg, every
 * ACK drained, every error mapped back to the message (and description) that caused it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/macro.h"

struct nlmsghdr;
struct ima_nl;
struct ima_batch;

struct ima_batch_error {
        int error;          /* negative errno */
        const char *what;   /* description given for the message, or "transaction" */
        const char *kernel; /* extended-ACK text, or NULL */
        size_t index;       /* of the message, counted from 0 as ima_batch_msg() added them;
                             * SIZE_MAX for the transaction */
};

enum ima_batch_mode {
        IMA_BATCH_COMMIT,
        IMA_BATCH_VALIDATE_ONLY, /* no BATCH_END: the kernel checks every message, then aborts */
};

/* genid != 0 adds NFNL_BATCH_GENID: the kernel refuses the batch with -ERESTART if anything
 * was committed since that generation was read. -ENOMEM. */
int ima_batch_new(struct ima_nl *nl, uint32_t genid, struct ima_batch **ret);
struct ima_batch *ima_batch_free(struct ima_batch *b);
DEFINE_FREEP(struct ima_batch, ima_batch_free)

/* Starts a message; the caller adds its payload to the returned header and then calls
 * ima_batch_msg_done(). NLM_F_ACK is added. Returns NULL on ENOMEM. what is copied. */
struct nlmsghdr *ima_batch_msg(struct ima_batch *b, uint16_t type, uint16_t family, uint16_t flags,
                               const char *what);
int ima_batch_msg_done(struct ima_batch *b);

size_t ima_batch_n_msgs(const struct ima_batch *b);
/* Bytes the batch takes on the wire (after commit: including BEGIN and END). */
size_t ima_batch_size(const struct ima_batch *b);

/* Sends and collects all answers. Returns 0 when every message was ACKed without error; else the
 * first error (-ERESTART: generation moved; -ENOBUFS: answers lost, outcome unknown; -EMSGSIZE:
 * larger than the socket allows). A batch with no messages is not sent (returns 0). */
int ima_batch_commit(struct ima_batch *b, enum ima_batch_mode mode);

size_t ima_batch_n_errors(const struct ima_batch *b);
/* The i-th error; the strings stay valid as long as the batch. */
void ima_batch_get_error(const struct ima_batch *b, size_t i, struct ima_batch_error *ret);
