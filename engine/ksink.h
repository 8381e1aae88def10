/*
 * ksink — patuhd's Kafka sink: one batch's outputs through the idempotent
 * producer.
 *
 * Every output goes to <prefix><name> (batch_out_name): violations (key
 * violation_id), tpp (employee_id), alerts (supervisor or "operators"),
 * digests (unit_id), dlq (the input's key).  A write produces them in
 * order and looks for the acknowledgements every millisecond (a timer);
 * when the producer's queue is full it stops and goes on from the same
 * output at the next look, so the loop never blocks.  The write is done
 * once every output is produced and acknowledged; the done callback says
 * whether all were delivered (a failed write is produced again whole:
 * the producer is idempotent and the consumers de-duplicate by id).
 *
 * Ownership: ksink_new returns a ksink_t freed with ksink_free (which
 * flushes for up to 10 s; not from inside its done callback); cfg and
 * base are borrowed.  The batch given to ksink_write is borrowed until
 * the done callback.  Nothing here prints: errors go out through errstr.
 */
#ifndef PATUH_KSINK_H
#define PATUH_KSINK_H

#include "batch.h"
#include "config.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct ksink ksink_t;

/* ok: every output acknowledged; else errstr says how many failed and the
 * first reason. */
typedef void ksink_done_fn(void *ud, bool ok, const char *errstr);

/* The idempotent producer.  NULL with errstr set. */
ksink_t *ksink_new(const config_t *cfg, struct event_base *base,
                   ksink_done_fn *done, void *ud, char *errstr,
                   size_t errstr_size) __attribute__((warn_unused_result));
void ksink_free(ksink_t *ks);

/* Produces B's outputs; the done callback comes from the loop, never
 * from inside this call.  One write at a time. */
void ksink_write(ksink_t *ks, const batch_t *b);

/* Serves the producer's callbacks (between writes, from the tick). */
void ksink_poll(ksink_t *ks);

/* Messages not yet acknowledged. */
int ksink_queue_len(const ksink_t *ks);

#endif
