/*
 * test_core — the engine's state machine (engine/core.h) driven directly,
 * as replay and patuhd drive it, with a sink that keeps every publication
 * (parsed back from its JSON text, as a reader of patuh.violations,
 * patuh.tpp, patuh.alerts and patuh.digests would see it):
 *   - admission in SPEC §7 order: roster, duplicate, timing; a dead
 *     letter blocks nothing; duplicates are per topic, calls by call_id;
 *   - a duplicate changes nothing, even with other contents;
 *   - a day's close decisions fire only once the watermark is strictly
 *     past the close (SPEC §4.2);
 *   - a late record within the horizon amends (revision 2), an excuse
 *     retracts with reason "excused" and takes the TPP deduction back;
 *   - core_flush_digests() publishes a closed day's rows once, and again
 *     only for the unit a later record changes;
 *   - decisions are dated by the records' watermark, or, fired by the
 *     wall clock (core_set_clock) or the end of input (core_finish), when
 *     they fell due, so that patuhd and replay date them alike;
 *   - restore (core_restore_begin / _pub / _alerted, core_admit,
 *     core_restore_end) with a complete ledger publishes nothing, leaves
 *     the same ledger, and the restored core goes on exactly as the
 *     original does;
 *   - a core that decides for no unit (group mode) publishes nothing,
 *     and one that takes a unit decides for exactly that unit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../engine/core.h"
#include "calendar.h"
#include "pub_compare.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define E1 "198703152010011002" /* pelaksana, diskominfo, under S */
#define S "197905102005011003"  /* administrator, diskominfo */
#define E2 "199001012020011001" /* pelaksana, bappeda, alone in it */
#define EX "199909092020011999" /* not in the roster */

#define ROSTER                                                                 \
        "{\"employee_id\":\"" S "\",\"unit_id\":\"diskominfo\","               \
        "\"position_class\":\"administrator\",\"tpp_monthly\":11200000}\n"     \
        "{\"employee_id\":\"" E1 "\",\"unit_id\":\"diskominfo\","              \
        "\"position_class\":\"pelaksana\",\"supervisor_id\":\"" S "\","        \
        "\"tpp_monthly\":4500000}\n"                                           \
        "{\"employee_id\":\"" E2 "\",\"unit_id\":\"bappeda\","                 \
        "\"position_class\":\"pelaksana\",\"tpp_monthly\":3000000}\n"

/* Monday 6 April 2026, hours 07:30-16:00 (the shipped policy) */
#define MON "2026-04-06"
#define CLOSE "2026-04-07T00:00:00+08:00"

#define PRES(ev, emp, type, at)                                                \
        "{\"event_id\":\"" ev "\",\"employee_id\":\"" emp                      \
        "\",\"type\":\"" type "\",\"mode\":\"wfo\",\"at\":\"" MON "T" at       \
        "+08:00\"}"
#define CALL(ev, id, from, to, at, outcome)                                    \
        "{\"event_id\":\"" ev "\",\"call_id\":\"" id                           \
        "\",\"caller_id\":\"" from "\",\"callee_id\":\"" to "\",\"at\":\"" MON \
        "T" at "+08:00\",\"outcome\":\"" outcome "\"}"
/* Friday 10 April 2026: a WFH day (07:30-16:30) for E1 and E2; S is an
 * administrator, exempt, at the office */
#define FRI "2026-04-10"
#define PRES_F(ev, emp, type, mode, at)                                        \
        "{\"event_id\":\"" ev "\",\"employee_id\":\"" emp                      \
        "\",\"type\":\"" type "\",\"mode\":\"" mode "\",\"at\":\"" FRI "T" at  \
        "+08:00\"}"
#define CALL_F(ev, id, from, to, at, outcome)                                  \
        "{\"event_id\":\"" ev "\",\"call_id\":\"" id                           \
        "\",\"caller_id\":\"" from "\",\"callee_id\":\"" to "\",\"at\":\"" FRI \
        "T" at "+08:00\",\"outcome\":\"" outcome "\"}"
#define EXCUSE_F(ev, emp)                                                      \
        "{\"event_id\":\"" ev "\",\"excuse_id\":\"cuti-" ev "\","              \
        "\"employee_id\":\"" emp "\",\"kind\":\"cuti\",\"from\":\"" FRI "\","  \
        "\"to\":\"" FRI "\",\"updated_at\":\"2026-04-11T08:00:00+08:00\"}"
#define EXCUSE(ev, emp)                                                        \
        "{\"event_id\":\"" ev "\",\"excuse_id\":\"cuti-" ev "\","              \
        "\"employee_id\":\"" emp "\",\"kind\":\"cuti\",\"from\":\"" MON "\","  \
        "\"to\":\"" MON "\",\"updated_at\":\"2026-04-07T08:00:00+08:00\"}"

/* ---- fixture: reference data, a recording sink ------------------------- */

typedef struct pubrec {
        core_out_t out;
        char key[80];
        json_t *doc;
} pubrec_t;

typedef struct sink {
        pubrec_t *v;
        size_t n, cap;
} sink_t;

static void record_emit(void *ud, core_out_t out, const char *key,
                        const char *json, size_t len, const eval_pub_t *p)
{
        sink_t *s = ud;
        (void)p;
        if (s->n == s->cap) {
                s->cap = s->cap ? s->cap * 2 : 64;
                s->v = realloc(s->v, s->cap * sizeof(*s->v));
                assert_non_null(s->v);
        }
        json_error_t err;
        json_t *doc = json_loadb(json, len, 0, &err);
        if (!doc)
                fail_msg("published text is not JSON (%s): %.*s", err.text,
                         (int)len, json);
        pubrec_t *r = &s->v[s->n++];
        r->out = out;
        snprintf(r->key, sizeof(r->key), "%s", key ? key : "");
        r->doc = doc;
}

static void sink_free(sink_t *s)
{
        for (size_t i = 0; i < s->n; i++)
                json_decref(s->v[i].doc);
        free(s->v);
        memset(s, 0, sizeof(*s));
}

typedef struct fixture {
        policy_t *policy;
        roster_t *roster;
        calendar_t *calendar;
        eval_ctx_t ctx;
        sink_t sink;
        core_t *core;
} fixture_t;

static core_t *new_core(fixture_t *f, sink_t *s)
{
        core_sink_t cs = {s, record_emit, NULL};
        core_t *c = core_new(&f->ctx, &cs);
        assert_non_null(c);
        return c;
}

static int setup(void **state)
{
        fixture_t *f = calloc(1, sizeof(*f));
        char err[512] = "";
        f->policy =
            policy_load(PATUH_SOURCE_DIR "/rules/balikpapan-se737-2026.json",
                        err, sizeof(err));
        f->roster = roster_load_buffer(ROSTER, strlen(ROSTER), "roster", err,
                                       sizeof(err));
        f->calendar = calendar_load_string("{}", "calendar", err, sizeof(err));
        if (!f->policy || !f->roster || !f->calendar) {
                fprintf(stderr, "fixture: %s\n", err);
                return -1;
        }
        f->ctx = (eval_ctx_t){f->policy, f->calendar, f->roster};
        f->core = new_core(f, &f->sink);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        fixture_t *f = *state;
        core_free(f->core);
        sink_free(&f->sink);
        calendar_free(f->calendar);
        roster_free(f->roster);
        policy_free(f->policy);
        free(f);
        return 0;
}

static ptime_t at(const char *s)
{
        ptime_t t = {0, 0};
        if (!ptime_parse_rfc3339(s, strlen(s), &t))
                fail_msg("fixture time %s", s);
        return t;
}

/* One record through the path replay takes: decode, the watermark to its
 * arrival, admission, due decisions. */
static dlq_reason_t admit(core_t *c, rec_topic_t topic, const char *json,
                          const char *ts, bool *dup)
{
        record_t rec;
        char detail[256] = "";
        if (record_decode_bytes(topic, json, strlen(json), &rec, detail,
                                sizeof(detail)) != DLQ_NONE)
                fail_msg("fixture record refused (%s): %s", detail, json);
        ptime_t t = ts ? at(ts) : PTIME_NEVER;
        core_set_watermark(c, ts ? t : record_time(&rec));
        bool d = false;
        dlq_reason_t r =
            core_admit(c, &rec, ts != NULL, t, &d, detail, sizeof(detail));
        if (r != DLQ_NONE && detail[0] == '\0')
                fail_msg("%s without detail", dlq_reason_name(r));
        core_fire(c);
        if (dup)
                *dup = d;
        return r;
}

static void accept(core_t *c, rec_topic_t topic, const char *json,
                   const char *ts)
{
        bool dup;
        dlq_reason_t r = admit(c, topic, json, ts, &dup);
        if (r != DLQ_NONE || dup)
                fail_msg("%s: %s", json, r ? dlq_reason_name(r) : "duplicate");
}

static void advance(core_t *c, const char *ts)
{
        core_set_watermark(c, at(ts));
        core_fire(c);
}

static const char *sget(const json_t *o, const char *k)
{
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "";
}

static json_int_t iget(const json_t *o, const char *k)
{
        return json_integer_value(json_object_get(o, k));
}

/* Publications of `out` since index `from`, optionally of one kind/emp. */
static size_t count(const sink_t *s, size_t from, core_out_t out,
                    const char *kind, const char *emp)
{
        size_t n = 0;
        for (size_t i = from; i < s->n; i++)
                if (s->v[i].out == out &&
                    (!kind || strcmp(sget(s->v[i].doc, "kind"), kind) == 0) &&
                    (!emp ||
                     strcmp(sget(s->v[i].doc, "employee_id"), emp) == 0))
                        n++;
        return n;
}

/* The last revision of kind for emp, or NULL. */
static const json_t *last_revision(const sink_t *s, const char *kind,
                                   const char *emp)
{
        for (size_t i = s->n; i-- > 0;)
                if (s->v[i].out == CORE_OUT_REVISION &&
                    strcmp(sget(s->v[i].doc, "kind"), kind) == 0 &&
                    strcmp(sget(s->v[i].doc, "employee_id"), emp) == 0)
                        return s->v[i].doc;
        return NULL;
}

static const json_t *last_of(const sink_t *s, core_out_t out, const char *key)
{
        for (size_t i = s->n; i-- > 0;)
                if (s->v[i].out == out && strcmp(s->v[i].key, key) == 0)
                        return s->v[i].doc;
        return NULL;
}

/* ---- admission order (SPEC §7) ------------------------------------------ */

struct admit_step {
        rec_topic_t topic;
        const char *json;
        const char *ts;
        dlq_reason_t want;
        bool dup;
};

#define P TOPIC_PRESENCE
#define C TOPIC_CALLS
#define X TOPIC_EXCUSES
#define TS_ON "2026-04-06T07:40:00+08:00"
/* the record's work date more than 35 days before the arrival */
#define TS_LATE "2026-05-12T09:00:00+08:00"

static const struct admit_step admit_steps[] = {
    /* unknown employee, stamped in the future and too old as well:
     * the roster is checked first */
    {P, PRES("p-x", EX, "clock_in", "09:00:00"), TS_ON, DLQ_UNKNOWN_EMPLOYEE,
     false},
    {P, PRES("p-x", EX, "clock_in", "07:00:00"), TS_LATE, DLQ_UNKNOWN_EMPLOYEE,
     false},
    /* future: more than 5 minutes after the arrival */
    {P, PRES("p-1", E1, "clock_in", "07:45:01"), TS_ON, DLQ_FUTURE, false},
    /* a dead letter is not accepted and blocks nothing: the same
     * event_id is accepted next */
    {P, PRES("p-1", E1, "clock_in", "07:35:00"), TS_ON, DLQ_NONE, false},
    /* duplicate before timing: the repeat is ignored, though it is
     * stamped in the future or far too late to be admitted */
    {P, PRES("p-1", E1, "clock_in", "09:00:00"), TS_ON, DLQ_NONE, true},
    {P, PRES("p-1", E1, "clock_in", "07:35:00"), TS_LATE, DLQ_NONE, true},
    /* roster before duplicate: an unknown employee is dead-lettered
     * whatever event_id it repeats */
    {P, PRES("p-1", EX, "clock_in", "07:35:00"), TS_ON, DLQ_UNKNOWN_EMPLOYEE,
     false},
    /* too_late, then the same event accepted in time */
    {P, PRES("p-2", S, "clock_in", "07:20:00"), TS_LATE, DLQ_TOO_LATE, false},
    {P, PRES("p-2", S, "clock_in", "07:20:00"), TS_ON, DLQ_NONE, false},
    /* duplicates are per topic: a call may reuse a presence event_id */
    {C, CALL("p-1", "call-1", S, E1, "07:38:00", "answered"), TS_ON, DLQ_NONE,
     false},
    /* calls are duplicates by call_id alone */
    {C, CALL("c-9", "call-1", S, E1, "07:38:30", "missed"), TS_ON, DLQ_NONE,
     true},
    /* an unknown callee is unknown_employee; an unknown caller is not */
    {C, CALL("c-2", "call-2", S, EX, "07:38:00", "missed"), TS_ON,
     DLQ_UNKNOWN_EMPLOYEE, false},
    {C, CALL("c-3", "call-3", EX, E1, "07:38:00", "missed"), TS_ON, DLQ_NONE,
     false},
    {C, CALL("c-4", "call-4", S, E1, "07:46:00", "missed"), TS_ON, DLQ_FUTURE,
     false},
    /* excuses: never future nor too_late, duplicates by event_id */
    {X, EXCUSE("x-1", E2), TS_LATE, DLQ_NONE, false},
    {X, EXCUSE("x-1", E2), TS_ON, DLQ_NONE, true},
    {X, EXCUSE("x-2", EX), TS_ON, DLQ_UNKNOWN_EMPLOYEE, false},
};

static void test_admission_order(void **state)
{
        fixture_t *f = *state;
        for (size_t i = 0; i < ARRAY_LEN(admit_steps); i++) {
                const struct admit_step *s = &admit_steps[i];
                bool dup = false;
                dlq_reason_t r = admit(f->core, s->topic, s->json, s->ts, &dup);
                if (r != s->want || dup != s->dup)
                        fail_msg("step %zu %s at %s: %s%s, want %s%s", i,
                                 s->json, s->ts, dlq_reason_name(r),
                                 dup ? " (duplicate)" : "",
                                 dlq_reason_name(s->want),
                                 s->dup ? " (duplicate)" : "");
        }
        const core_stats_t *st = core_stats(f->core);
        assert_int_equal(st->accepted, 5);
        assert_int_equal(st->duplicates, 4);
        assert_int_equal(st->dead[DLQ_UNKNOWN_EMPLOYEE], 5);
        assert_int_equal(st->dead[DLQ_FUTURE], 2);
        assert_int_equal(st->dead[DLQ_TOO_LATE], 1);
}

/* ---- a duplicate changes nothing --------------------------------------- */

static void test_duplicate_changes_nothing(void **state)
{
        fixture_t *f = *state;
        sink_t *s = &f->sink;
        /* late 45 minutes: TL2 on arrival */
        accept(f->core, P, PRES("p-1", E1, "clock_in", "08:15:00"),
               "2026-04-06T08:15:05+08:00");
        const json_t *v = last_revision(s, "late_clock_in", E1);
        assert_non_null(v);
        assert_string_equal(sget(v, "band"), "TL2");
        assert_int_equal(iget(v, "minutes"), 45);
        size_t before = s->n;
        /* the same event again, and again with another time: ignored */
        bool dup;
        assert_int_equal(admit(f->core, P,
                               PRES("p-1", E1, "clock_in", "08:15:00"),
                               "2026-04-06T08:16:00+08:00", &dup),
                         DLQ_NONE);
        assert_true(dup);
        assert_int_equal(admit(f->core, P,
                               PRES("p-1", E1, "clock_in", "07:31:00"),
                               "2026-04-06T08:16:30+08:00", &dup),
                         DLQ_NONE);
        assert_true(dup);
        core_flush_digests(f->core);
        assert_int_equal(s->n, before);
        /* the final state still says TL2 once the day is closed */
        advance(f->core, "2026-04-07T00:00:00.000000001+08:00");
        assert_int_equal(
            count(s, before, CORE_OUT_REVISION, "late_clock_in", E1), 0);
        report_row_t *rows;
        long n = core_final(f->core, &rows);
        bool seen = false;
        for (long i = 0; i < n; i++)
                if (rows[i].p->d.kind == VK_LATE_CLOCK_IN) {
                        assert_int_equal(rows[i].p->revision, 1);
                        assert_int_equal(rows[i].p->d.minutes, 45);
                        seen = true;
                }
        free(rows);
        assert_true(seen);
}

/* ---- the close fires strictly past midnight ----------------------------- */

static void test_close_strictly_past(void **state)
{
        fixture_t *f = *state;
        sink_t *s = &f->sink;
        /* E1 clocks in and never out; S does both; E2 has nothing */
        accept(f->core, P, PRES("p-1", E1, "clock_in", "07:29:00"),
               "2026-04-06T07:29:10+08:00");
        accept(f->core, P, PRES("p-2", S, "clock_in", "07:20:00"),
               "2026-04-06T07:20:10+08:00");
        accept(f->core, P, PRES("p-3", S, "clock_out", "16:05:00"),
               "2026-04-06T16:05:10+08:00");
        advance(f->core, "2026-04-06T23:59:59.999999999+08:00");
        assert_int_equal(count(s, 0, CORE_OUT_REVISION, NULL, NULL), 0);
        /* exactly at the close: read up to T is not read past T */
        advance(f->core, CLOSE);
        assert_int_equal(count(s, 0, CORE_OUT_REVISION, NULL, NULL), 0);
        advance(f->core, "2026-04-07T00:00:00.000000001+08:00");
        assert_int_equal(count(s, 0, CORE_OUT_REVISION, NULL, NULL), 2);
        const json_t *mco = last_revision(s, "missing_clock_out", E1);
        const json_t *abs = last_revision(s, "absent", E2);
        assert_non_null(mco);
        assert_non_null(abs);
        assert_string_equal(sget(mco, "date"), MON);
        assert_int_equal(iget(mco, "revision"), 1);
        assert_string_equal(sget(mco, "status"), "active");
        /* 2 % of 4,500,000; 4 % of 3,000,000 */
        assert_int_equal(iget(mco, "tpp_amount"), 90000);
        assert_int_equal(iget(abs, "tpp_amount"), 120000);
        assert_string_equal(sget(abs, "band"), "");
        assert_true(json_is_null(json_object_get(abs, "minutes")));
        /* a TPP event and a supervisor alert for each, keyed as SPEC §4 */
        assert_int_equal(count(s, 0, CORE_OUT_TPP, NULL, NULL), 2);
        const json_t *tpp = last_of(s, CORE_OUT_TPP, E2);
        assert_non_null(tpp);
        assert_string_equal(sget(tpp, "period"), "2026-04");
        assert_int_equal(iget(tpp, "amount"), 120000);
        assert_string_equal(sget(tpp, "status"), "active");
        assert_non_null(last_of(s, CORE_OUT_ALERT, S)); /* E1's supervisor */
        /* E2 has neither supervisor nor head: the operators are told */
        assert_non_null(last_of(s, CORE_OUT_ALERT, "operators"));
        /* the watermark moving on fires nothing twice */
        size_t n = s->n;
        advance(f->core, "2026-04-08T12:00:00+08:00");
        assert_int_equal(count(s, n, CORE_OUT_REVISION, NULL, NULL), 0);
}

/* ---- amendments and retractions ----------------------------------------- */

static void test_amend_and_excuse(void **state)
{
        fixture_t *f = *state;
        sink_t *s = &f->sink;
        accept(f->core, P, PRES("p-1", E1, "clock_in", "08:15:00"),
               "2026-04-06T08:15:05+08:00");
        accept(f->core, P, PRES("p-2", E1, "clock_out", "16:10:00"),
               "2026-04-06T16:10:05+08:00");
        advance(f->core, "2026-04-07T00:00:01+08:00");
        const json_t *v = last_revision(s, "late_clock_in", E1);
        assert_int_equal(iget(v, "revision"), 1);
        assert_string_equal(sget(v, "band"), "TL2");
        const char *vid = sget(v, "violation_id");
        char id[33];
        snprintf(id, sizeof(id), "%s", vid);
        assert_int_equal(strlen(id), 32);
        /* an earlier clock-in arrives the next day (within the horizon):
         * the same violation, revision 2, 20 minutes, TL1 */
        size_t n = s->n;
        accept(f->core, P, PRES("p-3", E1, "clock_in", "07:50:00"),
               "2026-04-07T09:00:00+08:00");
        assert_int_equal(count(s, n, CORE_OUT_REVISION, NULL, NULL), 1);
        v = last_revision(s, "late_clock_in", E1);
        assert_string_equal(sget(v, "violation_id"), id);
        assert_int_equal(iget(v, "revision"), 2);
        assert_string_equal(sget(v, "status"), "active");
        assert_string_equal(sget(v, "band"), "TL1");
        assert_int_equal(iget(v, "minutes"), 20);
        assert_int_equal(iget(v, "tpp_amount"), 22500); /* 0.5 % */
        const json_t *tpp = last_of(s, CORE_OUT_TPP, E1);
        assert_int_equal(iget(tpp, "amount"), 22500);
        /* a band change alerts nobody again */
        assert_int_equal(count(s, n, CORE_OUT_ALERT, NULL, NULL), 0);
        /* E2's absence, then a leave letter for the day */
        const json_t *abs = last_revision(s, "absent", E2);
        assert_int_equal(iget(abs, "revision"), 1);
        n = s->n;
        accept(f->core, X, EXCUSE("x-1", E2), "2026-04-07T10:00:00+08:00");
        assert_int_equal(count(s, n, CORE_OUT_REVISION, NULL, NULL), 1);
        abs = last_revision(s, "absent", E2);
        assert_int_equal(iget(abs, "revision"), 2);
        assert_string_equal(sget(abs, "status"), "retracted");
        assert_string_equal(sget(abs, "reason"), "excused");
        /* the deduction is taken back */
        tpp = last_of(s, CORE_OUT_TPP, E2);
        assert_string_equal(sget(tpp, "status"), "retracted");
        assert_int_equal(iget(tpp, "amount"), 120000);
        /* and E1's leave retracts the lateness: revision 3 */
        accept(f->core, X, EXCUSE("x-2", E1), "2026-04-07T10:05:00+08:00");
        v = last_revision(s, "late_clock_in", E1);
        assert_int_equal(iget(v, "revision"), 3);
        assert_string_equal(sget(v, "status"), "retracted");
        assert_string_equal(sget(v, "reason"), "excused");
}

/* ---- digests ------------------------------------------------------------ */

static void test_digests(void **state)
{
        fixture_t *f = *state;
        sink_t *s = &f->sink;
        accept(f->core, P, PRES("p-1", E1, "clock_in", "08:15:00"),
               "2026-04-06T08:15:05+08:00");
        accept(f->core, P, PRES("p-2", E1, "clock_out", "16:10:00"),
               "2026-04-06T16:10:05+08:00");
        accept(f->core, P, PRES("p-3", S, "clock_in", "07:20:00"),
               "2026-04-06T07:20:05+08:00");
        accept(f->core, P, PRES("p-4", S, "clock_out", "16:01:00"),
               "2026-04-06T16:01:05+08:00");
        /* no row before the day closes */
        core_flush_digests(f->core);
        assert_int_equal(count(s, 0, CORE_OUT_DIGEST, NULL, NULL), 0);
        advance(f->core, "2026-04-07T00:00:01+08:00");
        core_flush_digests(f->core);
        assert_int_equal(count(s, 0, CORE_OUT_DIGEST, NULL, NULL), 2);
        const json_t *d = last_of(s, CORE_OUT_DIGEST, "diskominfo");
        assert_non_null(d);
        assert_string_equal(sget(d, "date"), MON);
        assert_int_equal(iget(d, "expected"), 2);
        assert_int_equal(iget(d, "present"), 2);
        assert_int_equal(iget(d, "on_time"), 1);
        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(d, "violations"),
                                               "late_clock_in")),
            1);
        assert_int_equal(iget(d, "compliant"), 1);
        d = last_of(s, CORE_OUT_DIGEST, "bappeda");
        assert_non_null(d);
        assert_int_equal(iget(d, "expected"), 1);
        assert_int_equal(iget(d, "present"), 0);
        /* once: a flush with nothing new publishes nothing */
        size_t n = s->n;
        core_flush_digests(f->core);
        advance(f->core, "2026-04-07T12:00:00+08:00");
        core_flush_digests(f->core);
        assert_int_equal(count(s, n, CORE_OUT_DIGEST, NULL, NULL), 0);
        /* a later record that changes no row (TL2 becomes TL1: still one
         * lateness, still not on time) republishes none */
        accept(f->core, P, PRES("p-5", E1, "clock_in", "07:50:00"),
               "2026-04-07T12:01:00+08:00");
        core_flush_digests(f->core);
        assert_int_equal(count(s, n, CORE_OUT_REVISION, NULL, NULL), 1);
        assert_int_equal(count(s, n, CORE_OUT_DIGEST, NULL, NULL), 0);
        /* E1's leave changes diskominfo's row only */
        accept(f->core, X, EXCUSE("x-1", E1), "2026-04-07T12:02:00+08:00");
        core_flush_digests(f->core);
        assert_int_equal(count(s, n, CORE_OUT_DIGEST, NULL, NULL), 1);
        d = last_of(s, CORE_OUT_DIGEST, "diskominfo");
        assert_int_equal(iget(d, "expected"), 1);
        assert_int_equal(iget(d, "excused"), 1);
        assert_int_equal(iget(d, "compliant"), 1);
        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(d, "violations"),
                                               "late_clock_in")),
            0);
        core_flush_digests(f->core);
        assert_int_equal(count(s, n, CORE_OUT_DIGEST, NULL, NULL), 1);
}

/* ---- restore --------------------------------------------------------------
 */

typedef struct step {
        rec_topic_t topic; /* -1: only move the watermark to ts */
        const char *json;
        const char *ts;
} step_t;

/* A Friday as patuhd reads it: S at the office, E1 late from home, S's
 * call to E1 unanswered (its window ends 09:31), E2 not clocked in
 * (alerted at 08:00); the window passes, S leaves early, the day closes
 * (E1 never clocked out, E2 absent); the next day an earlier clock-in of
 * E1 and a leave letter of S arrive, and a repeat of the first record. */
static const step_t history[] = {
    {P, PRES_F("p-1", S, "clock_in", "wfo", "07:20:00"),
     "2026-04-10T07:20:05+08:00"},
    {P, PRES_F("p-2", E1, "clock_in", "wfh", "08:15:00"),
     "2026-04-10T08:15:05+08:00"},
    {C, CALL_F("c-1", "call-1", S, E1, "09:00:00", "missed"),
     "2026-04-10T09:00:05+08:00"},
    {-1, NULL, "2026-04-10T09:05:00+08:00"},
    {-1, NULL, "2026-04-10T09:40:00+08:00"},
    {P, PRES_F("p-3", S, "clock_out", "wfo", "15:10:00"),
     "2026-04-10T15:10:05+08:00"},
    {-1, NULL, "2026-04-11T00:00:01+08:00"},
    {P, PRES_F("p-4", E1, "clock_in", "wfh", "07:50:00"),
     "2026-04-11T08:00:00+08:00"},
    {X, EXCUSE_F("x-1", S), "2026-04-11T09:00:00+08:00"},
    {P, PRES_F("p-1", S, "clock_in", "wfo", "07:20:00"),
     "2026-04-11T09:10:00+08:00"},
};

static void run_steps(core_t *c, const step_t *steps, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                if ((int)steps[i].topic < 0)
                        advance(c, steps[i].ts);
                else
                        (void)admit(c, steps[i].topic, steps[i].json,
                                    steps[i].ts, NULL);
                core_flush_digests(c);
        }
}

/* Restarts after history[0 .. at): b is rebuilt from a's store. */
static void restart_at(fixture_t *f, size_t at_step, size_t want_pubs)
{
        int32_t fri;
        assert_true(ptime_parse_date(FRI, 10, &fri));
        sink_t sa = {0}, sb = {0};
        core_t *a = new_core(f, &sa);
        run_steps(a, history, at_step);
        assert_true(core_alerted(a, 2, fri)); /* E2 at 08:00 */

        /* a fresh core from what patuhd stores: the watermark, the
         * ledgers and alerted flags, then every accepted record */
        core_t *b = new_core(f, &sb);
        core_restore_begin(b, core_watermark(a));
        size_t pubs = 0;
        for (int32_t e = 0; e < (int32_t)f->roster->n; e++) {
                const eval_ledger_t *l = core_ledger(a, e, fri);
                for (size_t k = 0; l && k < l->n; k++, pubs++)
                        assert_true(core_restore_pub(b, e, fri, &l->v[k]));
                if (core_alerted(a, e, fri))
                        assert_true(core_restore_alerted(b, e, fri));
        }
        assert_int_equal(pubs, want_pubs);
        for (size_t i = 0; i < at_step; i++) {
                const step_t *h = &history[i];
                if ((int)h->topic < 0)
                        continue;
                record_t rec;
                char detail[256];
                bool dup;
                assert_int_equal(record_decode_bytes(h->topic, h->json,
                                                     strlen(h->json), &rec,
                                                     detail, sizeof(detail)),
                                 DLQ_NONE);
                assert_int_equal(core_admit(b, &rec, true, at(h->ts), &dup,
                                            detail, sizeof(detail)),
                                 DLQ_NONE);
                assert_false(dup);
        }
        core_restore_end(b);
        core_fire(b);
        /* nothing new to publish: no revision, TPP event or alert */
        for (size_t i = 0; i < sb.n; i++)
                if (sb.v[i].out != CORE_OUT_DIGEST) {
                        char *t = json_dumps(sb.v[i].doc, JSON_COMPACT);
                        fail_msg("restart after step %zu published %s", at_step,
                                 t);
                }
        /* the same ledger */
        for (int32_t e = 0; e < (int32_t)f->roster->n; e++) {
                const eval_ledger_t *la = core_ledger(a, e, fri);
                const eval_ledger_t *lb = core_ledger(b, e, fri);
                size_t na = la ? la->n : 0, nb = lb ? lb->n : 0;
                assert_int_equal(na, nb);
                for (size_t k = 0; k < na; k++) {
                        const char *diff = pub_diff(&la->v[k], &lb->v[k]);
                        if (diff)
                                fail_msg("ledger of %d entry %zu: %s differs",
                                         e, k, diff);
                }
                assert_int_equal(core_alerted(a, e, fri),
                                 core_alerted(b, e, fri));
        }
        /* and both go on alike: what is still to come (the call window,
         * the close, the amendment, the retraction) comes out of the
         * restored core exactly as out of the one that never stopped.
         * (Digest rows are not in the store: a restarted engine publishes
         * the closed days' rows afresh, so they are left out here.) */
        size_t from = sa.n;
        run_steps(a, history + at_step, ARRAY_LEN(history) - at_step);
        run_steps(b, history + at_step, ARRAY_LEN(history) - at_step);
        size_t j = 0, compared = 0;
        for (size_t i = from; i < sa.n; i++) {
                if (sa.v[i].out == CORE_OUT_DIGEST)
                        continue;
                while (j < sb.n && sb.v[j].out == CORE_OUT_DIGEST)
                        j++;
                assert_true(j < sb.n);
                const pubrec_t *x = &sa.v[i], *y = &sb.v[j++];
                if (x->out != y->out || strcmp(x->key, y->key) != 0 ||
                    !json_equal(x->doc, y->doc)) {
                        char *tx = json_dumps(x->doc, JSON_COMPACT);
                        char *ty = json_dumps(y->doc, JSON_COMPACT);
                        fail_msg("restart after step %zu:\n"
                                 "  original %s %s\n  restored %s %s",
                                 at_step, x->key, tx, y->key, ty);
                }
                compared++;
        }
        while (j < sb.n && sb.v[j].out == CORE_OUT_DIGEST)
                j++;
        assert_int_equal(j, sb.n);
        assert_true(compared >= 3);
        /* the day as it ended, whichever core */
        assert_non_null(last_revision(&sa, "unanswered_call", E1));
        assert_non_null(last_revision(&sa, "missing_clock_out", E1));
        assert_non_null(last_revision(&sa, "absent", E2));
        assert_string_equal(
            sget(last_revision(&sa, "early_clock_out", S), "reason"),
            "excused");
        assert_int_equal(
            iget(last_revision(&sa, "late_clock_in", E1), "revision"), 2);
        core_free(a);
        core_free(b);
        sink_free(&sa);
        sink_free(&sb);
}

static void test_restore(void **state)
{
        fixture_t *f = *state;
        /* before any decision that waits for the watermark: E1's lateness */
        restart_at(f, 4, 1);
        /* after the call window: the lateness and the unanswered call */
        restart_at(f, 5, 2);
        /* after the close: lateness, call, early leave of S, missing
         * clock-out of E1, absence of E2 */
        restart_at(f, 7, 5);
}

/* ---- units decided for (group mode, docs/scale-out.md) ------------------ */

static size_t unit_index(const core_t *c, const char *unit_id)
{
        for (size_t u = 0; u < core_units(c); u++)
                if (strcmp(core_unit_id(c, u), unit_id) == 0)
                        return u;
        fail_msg("no unit %s", unit_id);
        return 0;
}

/* A core that decides for no unit admits every record (facts for the
 * others' decisions) and publishes nothing: no revision, alert or digest
 * row, no no_presence_data.  Once it takes a unit it decides for exactly
 * that unit, from the facts it already has, as a core deciding for all
 * does: the same kinds for the same employees, none for the others. */
static void test_owned_units(void **state)
{
        fixture_t *f = *state;
        sink_t gs = {0};
        core_t *g = new_core(f, &gs);
        core_own_none(g, false);
        assert_int_equal(core_units(g), 2);
        assert_string_equal(core_unit_id(g, core_unit_of(g, 0)), "diskominfo");
        size_t bappeda = unit_index(g, "bappeda");
        core_t *both[2] = {f->core, g};
        for (int i = 0; i < 2; i++) {
                accept(both[i], P, PRES("p-1", E1, "clock_in", "08:12:00"),
                       "2026-04-06T08:12:00+08:00");
                accept(both[i], P, PRES("p-2", S, "clock_in", "07:20:00"),
                       "2026-04-06T07:20:00+08:00");
                /* Wednesday: Tuesday had no presence at all */
                accept(both[i], P,
                       "{\"event_id\":\"p-3\",\"employee_id\":\"" S
                       "\",\"type\":\"clock_in\",\"mode\":\"wfo\","
                       "\"at\":\"2026-04-08T07:20:00+08:00\"}",
                       "2026-04-08T07:20:00+08:00");
                core_alert_closed_outages(
                    both[i],
                    tz_local_day(f->policy->tz, at("2026-04-08T08:00:00Z")));
                core_flush_digests(both[i]);
        }
        /* the full core decided: E1 late, E2 absent, S's missing
         * clock-out; Tuesday has no presence data */
        assert_true(count(&f->sink, 0, CORE_OUT_REVISION, "absent", E2) == 1);
        assert_true(
            count(&f->sink, 0, CORE_OUT_REVISION, "late_clock_in", E1) == 1);
        assert_true(count(&f->sink, 0, CORE_OUT_DIGEST, NULL, NULL) > 0);
        assert_int_equal(
            count(&f->sink, 0, CORE_OUT_ALERT, "no_presence_data", NULL), 1);
        /* the core that owns nothing published nothing */
        assert_int_equal(gs.n, 0);
        assert_false(core_owns(g, bappeda));
        /* it takes bappeda: E2's absence goes out, nothing of
         * diskominfo's */
        core_take_unit(g, bappeda);
        core_flush_digests(g);
        assert_true(core_owns(g, bappeda));
        assert_int_equal(count(&gs, 0, CORE_OUT_REVISION, "absent", E2), 1);
        const json_t *a = last_revision(&gs, "absent", E2);
        assert_string_equal(
            sget(a, "violation_id"),
            sget(last_revision(&f->sink, "absent", E2), "violation_id"));
        assert_int_equal(count(&gs, 0, CORE_OUT_REVISION, NULL, E1), 0);
        assert_int_equal(count(&gs, 0, CORE_OUT_REVISION, NULL, S), 0);
        for (size_t i = 0; i < gs.n; i++)
                if (gs.v[i].out == CORE_OUT_DIGEST)
                        assert_string_equal(gs.v[i].key, "bappeda");
        assert_int_equal(
            count(&gs, 0, CORE_OUT_ALERT, "no_presence_data", NULL), 0);
        /* a later record of diskominfo changes nothing here; E2's
         * amends as in the full core */
        size_t from = gs.n;
        for (int i = 0; i < 2; i++) {
                accept(both[i], P, PRES("p-4", E1, "clock_out", "16:05:00"),
                       "2026-04-08T09:00:00+08:00");
                accept(both[i], P, PRES("p-5", E2, "clock_in", "07:25:00"),
                       "2026-04-08T09:00:00+08:00");
        }
        assert_int_equal(count(&gs, from, CORE_OUT_REVISION, NULL, E1), 0);
        a = last_revision(&gs, "absent", E2);
        assert_string_equal(sget(a, "status"), "retracted");
        assert_string_equal(
            sget(a, "status"),
            sget(last_revision(&f->sink, "absent", E2), "status"));
        /* no_presence_data once it raises them */
        core_set_outages(g, true);
        core_alert_closed_outages(
            g, tz_local_day(f->policy->tz, at("2026-04-08T08:00:00Z")));
        assert_int_equal(
            count(&gs, 0, CORE_OUT_ALERT, "no_presence_data", NULL), 1);
        core_free(g);
        sink_free(&gs);
}

/* ---- decision times (the time model both drivers share) ----------------- */

/* Day-close decisions of MON fired three ways: by a record past the close
 * (dated at that record's arrival), by the wall clock once every input is
 * read (patuhd: dated at the close, not at the clock), by the end of input
 * (replay: dated at the close as well); the not_clocked_in alert the clock
 * fires is dated at the alert minute (a record past it: at its arrival);
 * a record arriving below the clock's watermark is dated at its
 * arrival. */
static void test_decision_times(void **state)
{
        fixture_t *f = *state;
        struct {
                int how; /* 0 record, 1 clock, 2 end of input */
                const char *want_close, *want_alert;
        } cases[] = {
            {0, "2026-04-07T07:00:00+08:00", "2026-04-06T16:05:10+08:00"},
            {1, "2026-04-07T00:00:00+08:00", "2026-04-06T08:00:00+08:00"},
            {2, "2026-04-07T00:00:00+08:00", "2026-04-06T16:05:10+08:00"},
        };
        for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
                sink_t s = {0};
                core_t *c = new_core(f, &s);
                accept(c, P, PRES("p-1", S, "clock_in", "07:20:00"),
                       "2026-04-06T07:20:10+08:00");
                if (cases[i].how == 1) /* E1 not in by 08:00 */
                        core_set_clock(c, at("2026-04-06T08:03:00+08:00"));
                core_fire(c);
                accept(c, P, PRES("p-2", S, "clock_out", "16:05:00"),
                       "2026-04-06T16:05:10+08:00");
                if (cases[i].how == 0)
                        accept(c, P,
                               "{\"event_id\":\"p-3\",\"employee_id\":\"" S
                               "\",\"type\":\"clock_in\",\"mode\":\"wfo\","
                               "\"at\":\"2026-04-07T06:59:00+08:00\"}",
                               "2026-04-07T07:00:00+08:00");
                else if (cases[i].how == 1)
                        core_set_clock(c, at("2026-04-07T00:05:00+08:00"));
                else
                        core_finish(c);
                core_fire(c);
                const json_t *abs = last_revision(&s, "absent", E1);
                assert_non_null(abs);
                assert_string_equal(sget(abs, "decided_at"),
                                    cases[i].want_close);
                const json_t *alert = NULL;
                for (size_t k = 0; k < s.n; k++)
                        if (s.v[k].out == CORE_OUT_ALERT &&
                            strcmp(sget(s.v[k].doc, "kind"),
                                   "not_clocked_in") == 0 &&
                            strcmp(sget(s.v[k].doc, "employee_id"), E1) == 0)
                                alert = s.v[k].doc;
                assert_non_null(alert);
                assert_string_equal(sget(alert, "at"), cases[i].want_alert);
                if (cases[i].how == 1) {
                        /* E2 clocks in late on Tuesday: the clock is past
                         * it, the decision is dated at its arrival */
                        accept(c, P,
                               "{\"event_id\":\"p-4\",\"employee_id\":\"" E2
                               "\",\"type\":\"clock_in\",\"mode\":\"wfo\","
                               "\"at\":\"2026-04-07T08:10:00+08:00\"}",
                               "2026-04-07T08:10:10+08:00");
                        const json_t *late =
                            last_revision(&s, "late_clock_in", E2);
                        assert_non_null(late);
                        assert_string_equal(sget(late, "decided_at"),
                                            "2026-04-07T08:10:10+08:00");
                }
                core_free(c);
                sink_free(&s);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_admission_order, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_duplicate_changes_nothing,
                                            setup, teardown),
            cmocka_unit_test_setup_teardown(test_close_strictly_past, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_amend_and_excuse, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_digests, setup, teardown),
            cmocka_unit_test_setup_teardown(test_restore, setup, teardown),
            cmocka_unit_test_setup_teardown(test_owned_units, setup, teardown),
            cmocka_unit_test_setup_teardown(test_decision_times, setup,
                                            teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
