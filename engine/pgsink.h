/*
 * pgsink — patuhd's PostgreSQL sink: one batch's outputs in one pipelined
 * transaction.
 *
 * The session is put in pipeline mode on a non-blocking socket that
 * libevent watches.  A write sends the engine lease renewal first
 * (LEASE_RENEW_SQL), then one set-based statement per kind of output
 * (patuh_publish_revisions, _tpps, patuh_dead_letters,
 * patuh_publish_digests, patuh_input_records for excuses), then one
 * prepared insert per unit-day chunk of evidence (input_chunks; all
 * idempotent), then one Sync: no BEGIN/COMMIT, the statements up to the Sync
 * run as one implicit transaction that an error rolls back whole.  The result
 * comes through the done callback, from the loop, never from inside
 * pgsink_write.  A failed session is dropped and a new one opened by the
 * next write, without blocking the loop (PQconnectStartParams and
 * PQconnectPoll on the socket's events, bounded by the write timeout);
 * only pgsink_connect, at start, waits.  A write with no Sync result within the
 * write timeout drops the session as well and is reported failed: a frozen
 * server is a visible failure, not a silent stall.
 *
 * Ownership: pgsink_new returns a pgsink_t freed with pgsink_free (not
 * from inside its done callback); conninfo and base are borrowed.  The
 * batch and lease given to pgsink_write are borrowed until the done
 * callback (a write that first opens a session sends them later).
 * Nothing here prints: errors go out through errstr.
 */
#ifndef PATUH_PGSINK_H
#define PATUH_PGSINK_H

#include "batch.h"
#include "lease.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct pgsink pgsink_t;

typedef enum pgsink_status {
        PGSINK_OK,        /* committed */
        PGSINK_FAILED,    /* rolled back, session dropped: write again */
        PGSINK_LEASE_LOST /* another instance holds the engine lease */
} pgsink_status_t;

/* errstr: what failed (the first error of the transaction), "" for
 * PGSINK_OK. */
typedef void pgsink_done_fn(void *ud, pgsink_status_t status,
                            const char *errstr);

/* write_timeout_ms: how long a write may wait for its Sync result. */
pgsink_t *pgsink_new(const char *conninfo, struct event_base *base,
                     long write_timeout_ms, pgsink_done_fn *done, void *ud);
void pgsink_free(pgsink_t *ps);

/* Opens the session now if there is none: at start only (blocking,
 * bounded by connect_timeout, 3 s).  Returns 0, or -1 with errstr set. */
int pgsink_connect(pgsink_t *ps, char *errstr, size_t errstr_size)
    __attribute__((warn_unused_result));

/* Sessions opened so far (at start and for retries): the second and
 * later are reconnects. */
long pgsink_sessions(const pgsink_t *ps);

/*
 * Sends B's outputs and accepted records, after the renewal of LEASE.
 * Returns 0 when the transaction is on its way (the done callback tells
 * how it ended), -1 with errstr set when it could not be sent (no
 * session, or the send failed: the session is dropped, done is not
 * called).  One write at a time.
 */
int pgsink_write(pgsink_t *ps, const batch_t *b, const lease_t *lease,
                 char *errstr, size_t errstr_size)
    __attribute__((warn_unused_result));

#endif
