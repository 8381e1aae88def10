/*
 * failpoint — named crash points for the fault tests
 * (tests/faults_test.sh, docs/reliability.md).
 *
 * PATUH_FAILPOINT=NAME:N makes the Nth pass through failpoint(NAME) kill
 * the process with SIGKILL, as an operator's `kill -9` at exactly that
 * moment of a batch would: a test can then restart the engine and check
 * that nothing was lost or written twice, without racing a signal against
 * the batch chain.  Unset (always, outside the tests) a call costs one
 * test of a cached flag.  Points: "before_pg" (a batch's outputs about to
 * go to PostgreSQL), "after_pg" (its PostgreSQL transaction committed, its
 * state not yet in Redis), "after_redis" (its state in Redis, its offsets
 * not yet stored).
 */
#ifndef PATUH_FAILPOINT_H
#define PATUH_FAILPOINT_H

void failpoint(const char *name);

/* PATUH_FAILPOINT=record:EVENT_ID kills the process at every pass with
 * that record in the core's hands: a record whose evaluation crashes the
 * engine, for the quarantine test (engine/quarantine.h). */
void failpoint_record(const char *event_id);

#endif
