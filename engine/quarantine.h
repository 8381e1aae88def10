/*
 * quarantine — a record that crashes the engine is put aside instead of
 * crashing it forever.
 *
 * A record whose evaluation kills patuhd (a bug the rules did not
 * foresee: the process dies, systemd restarts it, the restart reads the
 * same record from the same committed offset, and dies again) would stop
 * the whole city's decisions.  So while the core handles a record, its
 * coordinates (topic, partition, offset) sit in a small file mapped into
 * memory (a few stores, no system call per record); between records the
 * mark is cleared.  A process that dies leaves the mark behind: the next
 * start reads it, and when the same record was in hand at `after`
 * consecutive deaths, it is quarantined — dead-lettered with reason
 * `quarantined` and skipped — and the engine goes on.  A kill -9 that
 * lands at random while a record is in hand counts once; it takes `after`
 * deaths on the very same record in a row to quarantine it.
 *
 * The file must outlive a restart (systemd: StateDirectory, not
 * PrivateTmp).  Ownership: quarantine_open returns a handle freed by
 * quarantine_close; nothing here logs.
 */
#ifndef PATUH_QUARANTINE_H
#define PATUH_QUARANTINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct quarantine quarantine_t;

/* Opens (or creates) PATH and reads what a dead process left.  AFTER: the
 * deaths on one record that quarantine it (>= 1).  NULL with errstr set
 * when the file cannot be used. */
quarantine_t *quarantine_open(const char *path, long after, char *errstr,
                              size_t errstr_size);

/* The suspect: the record the last dead process had in hand, and how many
 * deaths in a row had it in hand (0: none since the last clean stop). */
long quarantine_deaths(const quarantine_t *q, int *topic, int32_t *partition,
                       int64_t *offset);

/* Whether the record at (topic, partition, offset) is the one to put
 * aside: it was in hand at `after` deaths in a row. */
bool quarantine_is(const quarantine_t *q, int topic, int32_t partition,
                   int64_t offset);

/* Around the core's handling of one record. */
void quarantine_begin(quarantine_t *q, int topic, int32_t partition,
                      int64_t offset);
void quarantine_end(quarantine_t *q);

/* Releases Q.  CLEAN (a stop that drained): no record in hand, no deaths
 * to remember, nothing put aside; otherwise the file stays as it is. */
void quarantine_close(quarantine_t *q, bool clean);

#endif
