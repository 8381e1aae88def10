/*
 * eval — the pure rule core (SPEC §3, §4.1, §4.2).
 *
 * Given the reference data (policy, calendar, roster), everything accepted
 * so far about one employee-day and the watermark, eval_day() returns the
 * decisions that are due.  eval_reconcile() compares them with what was
 * already published for that employee-day and yields new revisions and
 * retractions.  No I/O, no clock, no globals: `patuh replay` keeps the
 * inputs in memory, `patuhd` in Redis, and both call exactly this code.
 *
 * Because eval_day() recomputes from the accumulated facts instead of
 * updating decisions incrementally, the final decisions depend only on the
 * set of accepted records (SPEC §3.4), never on their order.
 */
#ifndef PATUH_EVAL_H
#define PATUH_EVAL_H

#include "calendar.h"
#include "policy.h"
#include "ptime.h"
#include "roster.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVAL_ID_MAX 65
#define EVAL_MAX_EVIDENCE 8

typedef struct eval_ctx {
        const policy_t *policy;
        const calendar_t *calendar;
        const roster_t *roster;
} eval_ctx_t;

/* One accepted version of an excuse (SPEC §1.3). */
typedef struct eval_excuse {
        char excuse_id[EVAL_ID_MAX];
        char event_id[EVAL_ID_MAX];
        char kind[64];
        int32_t from, to; /* inclusive day numbers */
        ptime_t updated_at;
        bool revoked;
        bool has_arrival;    /* false: replay without ts, counts every day */
        int32_t arrival_day; /* local date of arrival */
} eval_excuse_t;

/* The excuses of one employee, as a read-only view. */
typedef struct eval_excuses {
        const eval_excuse_t *const *v;
        size_t n;
} eval_excuses_t;

/* One accepted call; both parties' employee-days see it. */
typedef struct eval_call {
        char call_id[EVAL_ID_MAX];
        char event_id[EVAL_ID_MAX];
        int32_t caller; /* roster row, -1 when the caller is unknown */
        int32_t callee; /* roster row */
        ptime_t at;
        int outcome; /* EVAL_CALL_* */
} eval_call_t;

#define EVAL_CALL_ANSWERED 0
#define EVAL_CALL_MISSED 1
#define EVAL_CALL_DECLINED 2

/* What the presence records of one employee-day add up to.  Merging is
 * commutative and idempotent, so arrival order does not matter.  The
 * event ids are borrowed: the caller keeps the strings it passes to
 * eval_att_add() alive as long as the summary (replay points them into
 * its de-duplication set, which never moves a key). */
typedef struct eval_att {
        bool has_in, has_out, has_wfh;
        ptime_t in_at, out_at, wfh_at;
        const char *in_event;
        const char *out_event;
        const char *wfh_event;
} eval_att_t;

void eval_att_add(eval_att_t *a, bool clock_out, bool wfh, ptime_t at,
                  const char *event_id);

/* Everything eval_day() reads about employee E on day D. */
typedef struct eval_day_in {
        int32_t emp;            /* roster row of E */
        int32_t day;            /* D */
        bool in_service;        /* SPEC §3.1 */
        const eval_att_t *att;  /* E's presence on D (may be NULL) */
        eval_excuses_t excuses; /* all of E's excuse versions */
        /* Calls with E on either side whose local date is D or D+1 (the
         * day after only settles calls near midnight). */
        const eval_call_t *const *calls;
        size_t n_calls;
        /* Excuses of another employee (a caller in the "vice versa" case
         * of SPEC §3.3); a pure read of the caller's state. */
        eval_excuses_t (*excuses_of)(void *ud, int32_t emp);
        void *ud;
} eval_day_in_t;

/* A decision's strings are borrowed, not copied: subject and evidence
 * point at the ids of the records it rests on (eval_att_t's event ids,
 * eval_call_t's call_id), which must outlive the decision and every
 * ledger entry made from it.  In the core they do: the event ids are the
 * de-duplication sets' own copies, the calls live in the core's arena, and
 * a restored entry's strings are interned by core_restore_pub.  (Copies
 * made an entry 744 bytes: a month's ledgers were a seventh of patuhd's
 * peak heap, and every reconcile copied them.) */
typedef struct eval_decision {
        vkind_t kind;
        const char *subject;       /* "" except unanswered_call; not NULL */
        const policy_band_t *band; /* NULL where none applies */
        int64_t minutes;           /* -1 where none applies */
        double pct;                /* tpp_percent as in the policy */
        int64_t pct_u;
        int64_t amount;  /* rupiah */
        int32_t caller;  /* unanswered_call: opening caller */
        ptime_t call_at; /* unanswered_call: when it rang */
        size_t n_evidence;
        const char *evidence[EVAL_MAX_EVIDENCE];
} eval_decision_t;

/* A growable list of decisions. */
typedef struct eval_list {
        eval_decision_t *v;
        size_t n, cap;
} eval_list_t;

void eval_list_free(eval_list_t *l);

/* SPEC §3.1 building blocks. */
bool eval_excused(const eval_ctx_t *ctx, eval_excuses_t ex, int32_t day);
bool eval_is_workday(const eval_ctx_t *ctx, int32_t day);
bool eval_expected(const eval_ctx_t *ctx, int32_t emp, int32_t day,
                   bool in_service, eval_excuses_t ex);
bool eval_mode_wfh(const eval_ctx_t *ctx, int32_t emp, int32_t day);

/* The instant D closes (local midnight after D). */
ptime_t eval_day_close(const eval_ctx_t *ctx, int32_t day);
/* When the not_clocked_in alert of D is due; PTIME_FOREVER if D has no
 * hours. */
ptime_t eval_alert_due(const eval_ctx_t *ctx, int32_t day);
/* When the call window of a call ringing at `at` has passed. */
ptime_t eval_call_due(const eval_ctx_t *ctx, ptime_t at);

/* round-half-up(tpp_monthly x pct / 100) in rupiah (SPEC §4.1). */
int64_t eval_tpp_amount(int64_t tpp_monthly, int64_t pct_u);

/* The decisions for (E, D) that are due at watermark wm, in a stable
 * order.  Returns -1 on allocation failure, else the count. */
int eval_day(const eval_ctx_t *ctx, const eval_day_in_t *in, ptime_t wm,
             eval_list_t *out) __attribute__((warn_unused_result));

/*
 * SPEC §4.3 not_clocked_in: is E to be alerted for D now that the input is
 * read past the alert time (eval_alert_due), the watermark being wm?  Not
 * for a day already closed (a backlog read after a restart alerts nobody
 * about last week), not twice (`alerted`), only for an expected employee,
 * and not when a clock-in counts: one whose minute is at the latest the
 * alert minute (at minute resolution, like every clock comparison),
 * whichever record the watermark passed the alert time with.
 */
bool eval_not_clocked_in(const eval_ctx_t *ctx, const eval_day_in_t *in,
                         bool alerted, ptime_t wm);

/*
 * SPEC §4.3, §7 no_presence_data, one algorithm for both drivers: the
 * closed days after the first date in service are looked at in order.
 * eval_outage_undecided(): day d lies after the last date in service and
 * before yesterday (`today` is the wall clock's local date; replay, at the
 * end of its input, passes INT32_MAX): while history is being read that is
 * not an outage yet, so the look stops there.  Otherwise
 * eval_outage_raised() says whether d gets the operator alert: a workday,
 * not a holiday, with no presence record at all.
 */
bool eval_outage_undecided(int32_t d, int32_t last_in_service, int32_t today);
bool eval_outage_raised(const eval_ctx_t *ctx, int32_t d, bool in_service);

/* Who is told about employee E (SPEC §4.3, the Kafka key of
 * patuh.alerts): E's supervisor; without one the head of the agency;
 * without either the operators. */
const char *eval_alert_recipient(const roster_t *r, int32_t emp);

/* What has been published for one employee-day. */
typedef struct eval_pub {
        eval_decision_t d;  /* content of the last publication */
        int32_t revision;   /* 1, 2, ... */
        bool active;        /* false: retracted */
        const char *reason; /* retraction reason (static string) */
        bool newly_active;  /* set by reconcile: new or reopened */
        bool changed;       /* set by reconcile: publish this entry */
        /* The engine's record of the publication (reconcile keeps them): */
        bool tpp_sent;         /* a TPP event went out for this id */
        ptime_t decided_at;    /* watermark when this revision went out */
        char violation_id[33]; /* cached deterministic id, "" until known */
} eval_pub_t;

typedef struct eval_ledger {
        eval_pub_t *v;
        size_t n, cap;
} eval_ledger_t;

void eval_ledger_free(eval_ledger_t *l);

/* Appends a copy of p to the ledger; NULL on allocation failure, else the
 * stored entry. */
eval_pub_t *eval_ledger_push(eval_ledger_t *l, const eval_pub_t *p);

/*
 * Brings the ledger of (E, D) in line with `now` (the output of eval_day):
 * a new decision opens revision 1 (or reopens a retracted one), a changed
 * band or minutes makes a new revision, a decision no longer made is
 * retracted with reason "excused" (E is now excused on D), "superseded"
 * (another decision of the same family replaces it, e.g. absent by
 * missing_clock_out) or "late_data".  Entries that changed get their
 * `changed` flag set (the caller publishes them and clears it).  Returns
 * the number of changes, or -1 on allocation failure.
 */
int eval_reconcile(eval_ledger_t *ledger, const eval_list_t *now, bool excused)
    __attribute__((warn_unused_result));

/* The emission rules of a changed ledger entry (SPEC §4.1, §4.3): a TPP
 * event for every revision of a violation that cuts TPP or did in an
 * earlier revision (so that payroll sees the cut taken back), and a
 * `violation` alert when it becomes active (first publication or reopened
 * after a retraction; a band change does not alert again). */
bool eval_pub_tpp_event(const eval_pub_t *p);
bool eval_pub_alert(const eval_pub_t *p);

#endif
