/*
 * core — the engine's state machine around the pure evaluator.
 *
 * It admits decoded records (roster, duplicate and timing checks of SPEC
 * §7), keeps every employee's accepted facts, the days in service, the
 * ledger of what was published and the pending decision times, and
 * re-evaluates whatever a record or the watermark touches.  Publications
 * leave through a sink as ready JSON text with their Kafka key, so the
 * replay driver writes files and patuhd writes Kafka and PostgreSQL from
 * the very same decisions.  The core does no I/O itself.
 */
#ifndef PATUH_CORE_H
#define PATUH_CORE_H

#include "../consumers/record.h"
#include "../rules/digest.h"
#include "../rules/eval.h"
#include "report.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct core core_t;

typedef enum core_out {
        CORE_OUT_REVISION, /* a violation revision (patuh.violations) */
        CORE_OUT_TPP,      /* a TPP deduction event (patuh.tpp) */
        CORE_OUT_ALERT,    /* an alert (patuh.alerts) */
        CORE_OUT_DIGEST    /* a daily digest row (patuh.digests) */
} core_out_t;

typedef struct core_sink {
        void *ud;
        /* One publication: JSON text without newline, its Kafka key and
         * the violation behind it (NULL for alerts of other kinds).  All
         * are valid only during the call. */
        void (*emit)(void *ud, core_out_t out, const char *key,
                     const char *json, size_t len, const eval_pub_t *p);
        /* The ledger of (emp, day) changed; may be NULL. */
        void (*touched)(void *ud, int32_t emp, int32_t day);
} core_sink_t;

typedef struct core_stats {
        long long accepted;
        long long duplicates;
        long long dead[DLQ__COUNT];
        long long revisions;
        long long alerts;
} core_stats_t;

/* ctx (policy, calendar, roster) must outlive the core. */
core_t *core_new(const eval_ctx_t *ctx, const core_sink_t *sink);
void core_free(core_t *c);

/*
 * Admission of one decoded record (SPEC §7 order after the form checks):
 * roster, duplicate, timing.  An accepted record is applied at once and
 * every employee-day it can affect is re-evaluated at the current
 * watermark.  Returns DLQ_NONE when accepted or ignored as a duplicate
 * (*duplicate tells which), else the dead-letter reason with detail.
 * has_ts/ts: the arrival time (Kafka timestamp); without it the record's
 * own time stands in and the future check is skipped.
 */
dlq_reason_t core_admit(core_t *c, const record_t *rec, bool has_ts, ptime_t ts,
                        bool *duplicate, char *detail, size_t detail_size);

/*
 * What core_admit() looks up about a record before it touches any state:
 * a pure function of the record and the roster, so that a reader thread
 * can compute it while the core is busy with earlier records.
 */
typedef struct core_hint {
        int32_t subject;   /* roster row of record_subject_id(), or -1 */
        int32_t caller;    /* calls: roster row of caller_id, or -1 */
        uint32_t key_hash; /* strmap_hash() of the de-duplication key */
} core_hint_t;

void core_hint(const roster_t *roster, const record_t *rec, core_hint_t *h);

/* core_admit() with the hint core_hint() gave for rec: the same checks,
 * state and publications. */
dlq_reason_t core_admit_hinted(core_t *c, const record_t *rec,
                               const core_hint_t *h, bool has_ts, ptime_t ts,
                               bool *duplicate, char *detail,
                               size_t detail_size);

/* Asks the CPU for the state a record admitted soon will touch (a hint
 * only: no state changes). */
void core_prefetch(const core_t *c, const record_t *rec, const core_hint_t *h);

/* Sizes the de-duplication sets for about `records` presence records to
 * come (replay knows its input's size): a hint, nothing else changes. */
void core_expect(core_t *c, size_t records);

/*
 * The time model both drivers share (docs/architecture.md, "Time"): a
 * record's arrival time raises the watermark (never lowers it) before the
 * record is admitted, and core_fire() after it fires what that time made
 * due.  A decision is dated by the records' watermark (decided_at), or by
 * its record's arrival when that is later; a decision fired by a
 * watermark ahead of every record — replay's end of input
 * (core_finish), patuhd's wall clock once every partition is read to its
 * end (core_set_clock) — is dated when it fell due (the day's close, the
 * call window's end, the alert minute), so that both date it alike.
 */
void core_set_watermark(core_t *c, ptime_t wm);
/* Raises the watermark to the wall clock NOW without a record: what it
 * fires is dated when it fell due. */
void core_set_clock(core_t *c, ptime_t now);
ptime_t core_watermark(const core_t *c);
/* Fires every decision whose time the watermark has reached. */
void core_fire(core_t *c);

/* End of input (replay): every day closes, then no_presence_data alerts
 * for the workdays between the first and last date in service that are
 * not in service (SPEC §7). */
void core_finish(core_t *c);

/* Live engine (SPEC §4.3): raises no_presence_data once for each closed
 * workday that is not in service and lies after the first date in
 * service — either between two dates in service (a gap a backfill shows)
 * or no older than the day before `today` (a current outage).  Old days
 * after the last date in service are left alone: while history is being
 * read they are not outages yet. */
void core_alert_closed_outages(core_t *c, int32_t today);

/* The first day not yet checked for no_presence_data, to store and
 * restore across restarts (INT32_MIN: none checked yet). */
int32_t core_outage_cursor(const core_t *c);
void core_set_outage_cursor(core_t *c, int32_t day);

/* The ledger of (emp, day), or NULL (read-only view for persistence). */
const eval_ledger_t *core_ledger(const core_t *c, int32_t emp, int32_t day);
/* Whether the not_clocked_in alert of (emp, day) went out. */
bool core_alerted(const core_t *c, int32_t emp, int32_t day);

/*
 * Live restart: core_restore_begin() with the watermark the engine had
 * reached, then the ledger (core_restore_pub, core_restore_alerted) and
 * the accepted records (core_admit: facts only, nothing is evaluated
 * meanwhile), then core_restore_end() evaluates every employee-day once.
 * With a complete store that finds nothing new to publish; whatever it
 * does find goes out with the first batch.
 */
void core_restore_begin(core_t *c, ptime_t wm);
void core_restore_end(core_t *c);
/* Keeps a copy of P and of its strings (the core's, until core_free). */
bool core_restore_pub(core_t *c, int32_t emp, int32_t day, const eval_pub_t *p);
/*
 * A reload's restore (patuhd on SIGHUP: the same state under a new roster
 * or calendar): call before core_restore_begin().  Only days on or after
 * `day` (the amend horizon back from now) are evaluated again, and
 * core_restore_end() then also closes again the days already closed, so
 * that whatever the new reference data changes there goes out as
 * ordinary amendments while older days keep their decisions.
 */
void core_restore_floor(core_t *c, int32_t day);
bool core_restore_alerted(core_t *c, int32_t emp, int32_t day);

/*
 * Scale-out (docs/scale-out.md): an instance decides for the units of the
 * work partitions it owns.  Units are numbered 0..core_units()-1 in
 * roster order of first appearance.  core_own_none() makes this core
 * decide for no unit (records are still admitted: other units' facts
 * matter for days in service, a caller's excuses and duplicates), and
 * whether it raises no_presence_data (one instance does).
 * core_take_unit() starts deciding for unit U: every employee-day of U
 * with state is evaluated at the current watermark against the ledger
 * restored for it, and U's digest rows of closed days are published
 * again.  A core decides for every unit until told otherwise.
 */
size_t core_units(const core_t *c);
const char *core_unit_id(const core_t *c, size_t u);
size_t core_unit_of(const core_t *c, int32_t emp);
void core_own_none(core_t *c, bool outages);
bool core_owns(const core_t *c, size_t u);
void core_take_unit(core_t *c, size_t u);
void core_set_outages(core_t *c, bool on);
/* Every violation ever published, sorted by date, employee, kind, subject
 * (caller frees *rows).  Returns the count or -1. */
long core_final(const core_t *c, report_row_t **rows);

/*
 * Daily digests (SPEC §4.4).  A unit-day's row is published
 * (CORE_OUT_DIGEST, key unit_id) once its day has closed, and again
 * whenever a later record, excuse or decision changes it; a row whose
 * unit no longer has anyone expected is published once more with
 * "expected": 0, so that a reader holding the old row sees it go.
 * core_flush_digests() publishes what changed since the last flush (the
 * drivers call it once per batch, or per record in replay).
 */
void core_flush_digests(core_t *c);

/* The final rows: every reported date, every unit with someone expected,
 * sorted by date then unit_id.  Returns the count or -1; free with
 * core_digest_rows_free(). */
long core_digest_rows(const core_t *c, digest_row_t **rows);
void core_digest_rows_free(digest_row_t *rows, long n);

const core_stats_t *core_stats(const core_t *c);
/* Decision timers (day closes, alerts, call windows) not fired yet. */
size_t core_pending(const core_t *c);
/* True after an allocation failure: the caller must stop. */
bool core_failed(const core_t *c);

#endif
