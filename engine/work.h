/*
 * work — which units this instance decides for, in group mode
 * (scale.mode = group, docs/scale-out.md).
 *
 * The units are hashed over the partitions of an internal topic,
 * `<prefix>work` (work_of_unit); the instances are members of one Kafka
 * consumer group on it, `<kafka.group>.work`, with the cooperative-sticky
 * assignor, and the work partitions the group assigns to an instance are
 * the units it decides for.  Kafka does the membership, the failure
 * detection (session.timeout.ms) and the assignment: there is no
 * home-made clustering.  The topic carries no records: every instance
 * reads every input partition itself (kin), so that each sees the whole
 * city's facts in replay's order — days in service, a caller's excuses,
 * a call_id seen under another callee, the watermark — and only the
 * decisions are split.
 *
 * The consumer is polled from the daemon's tick (work_poll, never
 * blocking); a rebalance's callback runs inside that poll, applies the
 * incremental assignment at once and notes the change, which the daemon
 * takes at a batch boundary (live.c, "regroup").
 *
 * Ownership: work_new returns a work_t freed with work_free (which
 * leaves the group); cfg is borrowed.  Nothing here prints.
 */
#ifndef PATUH_WORK_H
#define PATUH_WORK_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct work work_t;

/* Joins the group (start-up: blocks while the work topic's metadata is
 * read, up to 30 s for a topic not there yet).  NULL with errstr set. */
work_t *work_new(const config_t *cfg, char *errstr, size_t errstr_size)
    __attribute__((warn_unused_result));

/* Leaves the group (its partitions go to the others at once). */
void work_free(work_t *w);

/* Serves the consumer once without waiting (heartbeats run on
 * librdkafka's own thread; a rebalance's callback runs here).  True when
 * the assignment changed since the last work_owned. */
bool work_poll(work_t *w);

/* A first assignment has come (it may be empty: more instances than
 * work partitions). */
bool work_assigned(const work_t *w);

/* The partitions of the work topic. */
int work_count(const work_t *w);

/* The work partitions assigned now, ascending, into OUT (room for
 * work_count); returns how many.  Clears the changed flag. */
size_t work_owned(work_t *w, int32_t *out);

/* The work partition of a unit: FNV-1a of its unit_id modulo W.  Fixed
 * for good: a changed hash would move every unit's state. */
int32_t work_of_unit(const char *unit_id, int w_count);

#endif
