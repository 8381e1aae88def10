/*
 * lease — the engine lease (schemas/sql/004_lease.sql): only its holder
 * evaluates.
 *
 * At start lease_acquire takes it, or stands by while another instance
 * holds it.  Every batch then renews it as the first statement of its
 * PostgreSQL transaction (LEASE_RENEW_SQL, sent by pgsink): an instance
 * that lost the lease fails that statement and its batch with it.  A clean
 * stop hands it back (lease_release).
 *
 * Ownership: a lease_t is the caller's; conninfo is borrowed and must
 * outlive it.  Nothing here prints: messages go to the caller's status
 * callback or errstr.
 */
#ifndef PATUH_LEASE_H
#define PATUH_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* $1 holder, $2 epoch, $3 ttl in ms; fails with the hint
 * "patuh_lease_lost" when another instance holds the lease now. */
#define LEASE_RENEW_SQL "SELECT patuh_lease_renew($1, $2::bigint, $3::int)"
#define LEASE_LOST_HINT "patuh_lease_lost"

typedef struct lease {
        const char *conninfo; /* borrowed: pg.conninfo */
        long ttl_ms;          /* lease.ttl_ms */
        char holder[192];     /* instance.id, else host:pid */
        long long epoch;      /* ours once acquired */
        int64_t renewed_ms;   /* monotonic ms of the last renewal */
        char epoch_s[24];     /* epoch as text, for LEASE_RENEW_SQL */
        char ttl_s[24];       /* ttl_ms as text, for LEASE_RENEW_SQL */
        /* How a standby waits between two looks at the lease (NULL: it
         * sleeps): patuhd serves its HTTP endpoints meanwhile.  Returns
         * after about MS, or sooner on a signal. */
        void (*wait)(void *wait_ud, long ms);
        void *wait_ud; /* its argument */
        /* Group mode (docs/scale-out.md): no engine lease; the work
         * partitions owned, at their epochs, checked by every batch
         * (patuh_work_check) instead of the renewal. */
        bool work;
        char ws_s[4096];  /* "{0,3,5}" */
        char eps_s[4096]; /* "{7,7,9}" */
} lease_t;

/* Group mode's check, in place of LEASE_RENEW_SQL: $1 holder, $2 the
 * work partitions, $3 their epochs; the same hint when lost. */
#define WORK_CHECK_SQL "SELECT patuh_work_check($1, $2::int[], $3::bigint[])"

/* The statement every batch sends first: LEASE_RENEW_SQL, or
 * WORK_CHECK_SQL in group mode (lease_renew_params fills its three
 * parameters). */
const char *lease_renew_sql(const lease_t *ls);

/*
 * Group mode: takes the work partitions WS (N of them, N may be 0) for
 * this instance in PostgreSQL (patuh_work_acquire: each epoch raised)
 * and puts their epochs in EPOCHS: above PostgreSQL's and FLOORS (the
 * epochs Redis holds for them).  From then on every batch checks them.
 * Blocking, bounded (connect and statement timeouts).  Returns 0, or -1
 * with errstr set.
 */
int lease_acquire_work(lease_t *ls, const int32_t *ws, size_t n,
                       const long long *floors, long long *epochs, char *errstr,
                       size_t errstr_size) __attribute__((warn_unused_result));

/* instance_id may be NULL: the holder is then host:pid. */
void lease_init(lease_t *ls, const char *conninfo, const char *instance_id,
                long ttl_ms);

/* Told each time the standby situation changes ("standing by: ...",
 * "PostgreSQL unreachable, waiting"). */
typedef void lease_status_fn(void *ud, const char *msg);

/*
 * Start-up, before the loop runs: takes the engine lease, or stands by —
 * outside the consumer group, so the holder keeps every partition — until
 * the holder's lease expires.  Blocking with bounded waits (connect and
 * statement timeouts); SIGTERM/SIGINT end the wait (their handlers are
 * replaced meanwhile).  Returns 0 holding the lease (ls->epoch set), 1
 * when stopped by a signal, -1 on a PostgreSQL error that is not just an
 * unreachable server (errstr set).
 */
int lease_acquire(lease_t *ls, lease_status_fn *status, void *ud, char *errstr,
                  size_t errstr_size) __attribute__((warn_unused_result));

/* The three parameters of LEASE_RENEW_SQL (pointers into ls). */
void lease_renew_params(const lease_t *ls, const char *params[3]);

/* A renewal went through (its transaction committed). */
void lease_renewed(lease_t *ls);

/* A third of the lease's life has passed since the last renewal: renew
 * it now, with an empty batch if need be. */
bool lease_due(const lease_t *ls);

/* After a clean stop: hands the lease back (blocking, bounded).  Returns
 * 0, or -1 with errstr set (the lease then expires after ttl_ms). */
int lease_release(const lease_t *ls, char *errstr, size_t errstr_size)
    __attribute__((warn_unused_result));

#endif
