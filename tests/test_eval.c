/*
 * The rule core, case by case: each table entry is one employee-day with
 * its presence, excuses, calls and watermark, and the decisions SPEC §3
 * says it must produce.  Uses the shipped policy, so edges are the SPEC's
 * (TL1 1-30, callback 30, Friday 07:30-16:30, ...).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../rules/eval.h"
#include "../rules/jsonv.h"
#include "../rules/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char roster_jsonl[] =
    "{\"employee_id\":\"H\",\"name\":\"Kepala\",\"unit_id\":\"u\","
    "\"position_class\":\"jpt_pratama\",\"supervisor_id\":null,"
    "\"head_id\":null,\"tpp_monthly\":20000000}\n"
    "{\"employee_id\":\"S\",\"name\":\"Atasan\",\"unit_id\":\"u\","
    "\"position_class\":\"pengawas\",\"supervisor_id\":\"H\","
    "\"head_id\":\"H\",\"tpp_monthly\":8000000}\n"
    "{\"employee_id\":\"A\",\"name\":\"Staf A\",\"unit_id\":\"u\","
    "\"position_class\":\"pelaksana\",\"supervisor_id\":\"S\","
    "\"head_id\":\"H\",\"tpp_monthly\":4500000}\n"
    "{\"employee_id\":\"B\",\"name\":\"Staf B\",\"unit_id\":\"u\","
    "\"position_class\":\"pelaksana\",\"supervisor_id\":\"S\","
    "\"head_id\":\"H\",\"tpp_monthly\":4500000,\"wfh_exempt\":true}\n"
    "{\"employee_id\":\"C\",\"name\":\"Perawat\",\"unit_id\":\"u\","
    "\"position_class\":\"pelaksana\",\"service_class\":\"health\","
    "\"supervisor_id\":\"S\",\"head_id\":\"H\",\"tpp_monthly\":4500000}\n"
    "{\"employee_id\":\"F\",\"name\":\"Camat WFH\",\"unit_id\":\"u\","
    "\"position_class\":\"camat\",\"supervisor_id\":\"H\","
    "\"head_id\":\"H\",\"tpp_monthly\":9000000,\"wfh_exempt\":false}\n"
    "{\"employee_id\":\"I\",\"name\":\"Nonaktif\",\"unit_id\":\"u\","
    "\"position_class\":\"pelaksana\",\"supervisor_id\":\"S\","
    "\"head_id\":\"H\",\"tpp_monthly\":4500000,\"active\":false}\n";

static const char calendar_json[] =
    "{\"holidays\":[{\"date\":\"2026-04-16\",\"name\":\"Libur\"}],"
    "\"wfh_suspended\":[{\"date\":\"2026-04-24\",\"reason\":\"darurat\"}]}";

static policy_t *policy;
static roster_t *roster;
static calendar_t *calendar;
static eval_ctx_t ctx;

static int setup(void **state)
{
        (void)state;
        char err[512];
        policy =
            policy_load(PATUH_SOURCE_DIR "/rules/balikpapan-se737-2026.json",
                        err, sizeof(err));
        roster = roster_load_buffer(roster_jsonl, strlen(roster_jsonl),
                                    "roster", err, sizeof(err));
        calendar =
            calendar_load_string(calendar_json, "calendar", err, sizeof(err));
        if (!policy || !roster || !calendar) {
                print_error("setup: %s\n", err);
                return -1;
        }
        ctx = (eval_ctx_t){policy, calendar, roster};
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        policy_free(policy);
        roster_free(roster);
        calendar_free(calendar);
        return 0;
}

static ptime_t at(const char *s)
{
        ptime_t t;
        if (!ptime_parse_rfc3339(s, strlen(s), &t))
                fail_msg("bad time in test: %s", s);
        return t;
}

static int32_t row(const char *id)
{
        return roster_find(roster, id, strlen(id));
}

static int32_t date(const char *s)
{
        int32_t d;
        if (!ptime_parse_date(s, strlen(s), &d))
                fail_msg("bad date in test: %s", s);
        return d;
}

/* ---- the table ---------------------------------------------------------- */

typedef struct pres {
        const char *type; /* "in" / "out" */
        const char *mode; /* "wfo" / "wfh" */
        const char *at;
} pres_t;

typedef struct exc {
        const char *id, *event, *from, *to, *updated;
        bool revoked;
        const char *arrival; /* NULL: no arrival time */
} exc_t;

typedef struct call {
        const char *id, *from, *to, *at, *outcome;
} call_t;

typedef struct want {
        const char *kind, *band;
        int64_t minutes;     /* -1: null */
        const char *subject; /* "" unless unanswered_call */
} want_t;

typedef struct ecase {
        const char *name;
        const char *emp;
        const char *day;
        bool out_of_service;
        const char *wm; /* NULL: end of input (every day closed) */
        pres_t pres[6];
        exc_t exc[4];
        call_t calls[8];
        exc_t caller_exc[2]; /* excuses of the counterpart in calls[0] */
        want_t want[6];
} ecase_t;

#define MON "2026-04-13"
#define FRI "2026-04-17"

static const ecase_t cases[] = {
    /* SPEC §3: minute truncation and late bands (start 07:30) */
    {"on time at 07:30:59", "A", MON,
     .pres = {{"in", "wfo", MON "T07:30:59+08:00"},
              {"out", "wfo", MON "T16:00:00+08:00"}}},
    {"1 minute late at 07:31:00", "A", MON,
     .pres = {{"in", "wfo", MON "T07:31:00+08:00"},
              {"out", "wfo", MON "T16:00:00+08:00"}},
     .want = {{"late_clock_in", "TL1", 1, ""}}},
    {"30 minutes is TL1", "A", MON,
     .pres = {{"in", "wfo", MON "T08:00:59+08:00"},
              {"out", "wfo", MON "T16:00:00+08:00"}},
     .want = {{"late_clock_in", "TL1", 30, ""}}},
    {"31 minutes is TL2", "A", MON,
     .pres = {{"in", "wfo", MON "T08:01:00+08:00"},
              {"out", "wfo", MON "T16:00:00+08:00"}},
     .want = {{"late_clock_in", "TL2", 31, ""}}},
    {"60 minutes is TL2", "A", MON,
     .pres = {{"in", "wfo", MON "T08:30:00+08:00"},
              {"out", "wfo", MON "T16:00:00+08:00"}},
     .want = {{"late_clock_in", "TL2", 60, ""}}},
    {"61 minutes is TL3", "A", MON,
     .pres = {{"in", "wfo", MON "T08:31:00+08:00"},
              {"out", "wfo", MON "T16:00:00+08:00"}},
     .want = {{"late_clock_in", "TL3", 61, ""}}},
    {"90 minutes is TL3", "A", MON,
     .pres = {{"in", "wfo", MON "T09:00:00+08:00"},
              {"out", "wfo", MON "T16:00:00+08:00"}},
     .want = {{"late_clock_in", "TL3", 90, ""}}},
    {"91 minutes is TL4", "A", MON,
     .pres = {{"in", "wfo", MON "T09:01:00+08:00"},
              {"out", "wfo", MON "T16:00:00+08:00"}},
     .want = {{"late_clock_in", "TL4", 91, ""}}},
    {"clock-in after the end is TL4 with its minutes", "A", MON,
     .pres = {{"in", "wfo", MON "T17:00:00+08:00"},
              {"out", "wfo", MON "T17:30:00+08:00"}},
     .want = {{"late_clock_in", "TL4", 570, ""}}},
    {"the earliest clock-in counts", "A", MON,
     .pres = {{"in", "wfo", MON "T08:10:00+08:00"},
              {"in", "wfo", MON "T07:40:00+08:00"},
              {"out", "wfo", MON "T16:05:00+08:00"}},
     .want = {{"late_clock_in", "TL1", 10, ""}}},
    {"an offset other than +08:00 is read in the policy zone", "A", MON,
     .pres = {{"in", "wfo", "2026-04-12T23:45:00Z"},
              {"out", "wfo", MON "T15:00:00+07:00"}},
     .want = {{"late_clock_in", "TL1", 15, ""}}},
    /* early bands (Monday end 16:00, Friday 16:30) */
    {"16:00:00 is not early", "A", MON,
     .pres = {{"in", "wfo", MON "T07:00:00+08:00"},
              {"out", "wfo", MON "T16:00:00+08:00"}}},
    {"15:59:59 is 1 minute early", "A", MON,
     .pres = {{"in", "wfo", MON "T07:00:00+08:00"},
              {"out", "wfo", MON "T15:59:59+08:00"}},
     .want = {{"early_clock_out", "PSW1", 1, ""}}},
    {"30 minutes early is PSW1", "A", MON,
     .pres = {{"in", "wfo", MON "T07:00:00+08:00"},
              {"out", "wfo", MON "T15:30:00+08:00"}},
     .want = {{"early_clock_out", "PSW1", 30, ""}}},
    {"31 minutes early is PSW2", "A", MON,
     .pres = {{"in", "wfo", MON "T07:00:00+08:00"},
              {"out", "wfo", MON "T15:29:59+08:00"}},
     .want = {{"early_clock_out", "PSW2", 31, ""}}},
    {"61 minutes early is PSW3", "A", MON,
     .pres = {{"in", "wfo", MON "T07:00:00+08:00"},
              {"out", "wfo", MON "T14:59:00+08:00"}},
     .want = {{"early_clock_out", "PSW3", 61, ""}}},
    {"91 minutes early is PSW4", "A", MON,
     .pres = {{"in", "wfo", MON "T07:00:00+08:00"},
              {"out", "wfo", MON "T14:29:00+08:00"}},
     .want = {{"early_clock_out", "PSW4", 91, ""}}},
    {"the latest clock-out counts", "A", MON,
     .pres = {{"in", "wfo", MON "T07:00:00+08:00"},
              {"out", "wfo", MON "T12:00:00+08:00"},
              {"out", "wfo", MON "T16:01:00+08:00"}}},
    {"a clock-out before the clock-in still counts", "A", MON,
     .pres = {{"in", "wfo", MON "T09:00:00+08:00"},
              {"out", "wfo", MON "T07:00:00+08:00"}},
     .want = {{"late_clock_in", "TL3", 90, ""},
              {"early_clock_out", "PSW4", 540, ""}}},
    {"Friday ends at 16:30", "A", FRI,
     .pres = {{"in", "wfh", FRI "T07:00:00+08:00"},
              {"out", "wfh", FRI "T16:00:00+08:00"}},
     .want = {{"early_clock_out", "PSW1", 30, ""}}},
    /* missing and absent, and when they are due */
    {"no presence at all is absent", "A", MON, .wm = NULL,
     .want = {{"absent", NULL, -1, ""}}},
    {"absent waits for the day to close", "A", MON,
     .wm = MON "T23:59:59+08:00"},
    {"only a clock-out: missing clock-in", "A", MON,
     .pres = {{"out", "wfo", MON "T16:10:00+08:00"}},
     .want = {{"missing_clock_in", NULL, -1, ""}}},
    {"only a clock-in: missing clock-out", "A", MON,
     .pres = {{"in", "wfo", MON "T07:10:00+08:00"}},
     .want = {{"missing_clock_out", NULL, -1, ""}}},
    {"late is due at once, early and missing at the close", "A", MON,
     .wm = MON "T12:00:00+08:00",
     .pres = {{"in", "wfo", MON "T08:00:00+08:00"},
              {"out", "wfo", MON "T11:00:00+08:00"}},
     .want = {{"late_clock_in", "TL1", 30, ""}}},
    {"the day closes once read past local midnight", "A", MON,
     .wm = "2026-04-13T16:00:01Z",
     .pres = {{"in", "wfo", MON "T07:00:00+08:00"}},
     .want = {{"missing_clock_out", NULL, -1, ""}}},
    /* who is expected */
    {"inactive employees have no expectations", "I", MON, .wm = NULL},
    {"a day out of service has no decisions", "A", MON, .out_of_service = true},
    {"a holiday has no expectations", "A", "2026-04-16",
     .pres = {{"in", "wfh", "2026-04-16T09:00:00+08:00"}}},
    {"a Saturday has no expectations", "A", "2026-04-18", .wm = NULL},
    {"an excuse covering the day", "A", MON,
     .exc = {{"cuti-1", "x1", "2026-04-10", "2026-04-14",
              "2026-04-09T10:00:00+08:00", false, NULL}}},
    {"a revoked newer version removes the excuse", "A", MON,
     .exc = {{"cuti-1", "x1", MON, MON, "2026-04-09T10:00:00+08:00", false,
              NULL},
             {"cuti-1", "x2", MON, MON, "2026-04-10T10:00:00+08:00", true,
              NULL}},
     .want = {{"absent", NULL, -1, ""}}},
    {"an older revocation does not", "A", MON,
     .exc = {{"cuti-1", "x2", MON, MON, "2026-04-09T10:00:00+08:00", true,
              NULL},
             {"cuti-1", "x1", MON, MON, "2026-04-10T10:00:00+08:00", false,
              NULL}}},
    {"updated_at compares instants across offsets", "A", MON,
     .exc = {{"cuti-1", "x1", MON, MON, "2026-04-10T10:00:00+08:00", false,
              NULL},
             {"cuti-1", "x2", MON, MON, "2026-04-10T03:00:00+00:00", true,
              NULL}},
     .want = {{"absent", NULL, -1, ""}}},
    {"tied updated_at: the greater event_id (byte-wise) wins", "A", MON,
     .exc = {{"cuti-1", "x-9", MON, MON, "2026-04-10T10:00:00+08:00", true,
              NULL},
             {"cuti-1", "x-10", MON, MON, "2026-04-10T10:00:00+08:00", false,
              NULL}},
     .want = {{"absent", NULL, -1, ""}}},
    {"a replacement that no longer covers the day", "A", MON,
     .exc = {{"cuti-1", "x1", MON, MON, "2026-04-09T10:00:00+08:00", false,
              NULL},
             {"cuti-1", "x2", "2026-04-14", "2026-04-14",
              "2026-04-10T10:00:00+08:00", false, NULL}},
     .want = {{"absent", NULL, -1, ""}}},
    {"an excuse arriving 35 days later still counts", "A", MON,
     .exc = {{"sakit-1", "x1", MON, MON, "2026-05-18T09:00:00+08:00", false,
              "2026-05-18T09:00:00+08:00"}}},
    {"an excuse arriving 36 days later does not", "A", MON,
     .exc = {{"sakit-1", "x1", MON, MON, "2026-05-19T09:00:00+08:00", false,
              "2026-05-19T09:00:00+08:00"}},
     .want = {{"absent", NULL, -1, ""}}},
    {"a late revocation leaves the version in force", "A", MON,
     .exc = {{"izin-1", "x1", MON, MON, "2026-04-10T09:00:00+08:00", false,
              "2026-04-10T09:00:00+08:00"},
             {"izin-1", "x2", MON, MON, "2026-05-19T09:00:00+08:00", true,
              "2026-05-19T09:00:00+08:00"}}},
    /* WFH (SPEC §3.1, §3.2) */
    {"wfh on a Monday is not permitted", "A", MON,
     .pres = {{"in", "wfh", MON "T07:10:00+08:00"},
              {"out", "wfo", MON "T16:10:00+08:00"}},
     .want = {{"wfh_not_permitted", NULL, -1, ""}}},
    {"wfh on Friday is the rule", "A", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}}},
    {"wfo on Friday is allowed", "A", FRI,
     .pres = {{"in", "wfo", FRI "T07:10:00+08:00"},
              {"out", "wfo", FRI "T16:40:00+08:00"}}},
    {"wfh_exempt true overrides the policy", "B", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfo", FRI "T16:40:00+08:00"}},
     .want = {{"wfh_not_permitted", NULL, -1, ""}}},
    {"exempt position", "H", FRI,
     .pres = {{"in", "wfo", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}},
     .want = {{"wfh_not_permitted", NULL, -1, ""}}},
    {"exempt service class", "C", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}},
     .want = {{"wfh_not_permitted", NULL, -1, ""}}},
    {"wfh_exempt false beats an exempt position", "F", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}}},
    {"before wfh_from Friday is an office day", "A", "2026-03-27",
     .pres = {{"in", "wfh", "2026-03-27T07:10:00+08:00"},
              {"out", "wfh", "2026-03-27T16:40:00+08:00"}},
     .want = {{"wfh_not_permitted", NULL, -1, ""}}},
    {"a wfh_suspended Friday is an office day", "A", "2026-04-24",
     .pres = {{"in", "wfh", "2026-04-24T07:10:00+08:00"},
              {"out", "wfo", "2026-04-24T16:40:00+08:00"}},
     .want = {{"wfh_not_permitted", NULL, -1, ""}}},
    {"wfh_not_permitted is due at once", "A", MON, .wm = MON "T07:11:00+08:00",
     .pres = {{"in", "wfh", MON "T07:10:00+08:00"}},
     .want = {{"wfh_not_permitted", NULL, -1, ""}}},
    /* duty calls (SPEC §3.3) */
    {"a missed supervisor call", "A", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}},
     .calls = {{"c1", "S", "A", FRI "T09:00:00+08:00", "missed"}},
     .want = {{"unanswered_call", NULL, -1, "c1"}}},
    {"a declined call from the head", "A", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}},
     .calls = {{"c1", "H", "A", FRI "T09:00:00+08:00", "declined"}},
     .want = {{"unanswered_call", NULL, -1, "c1"}}},
    {"called back at t+30 settles", "A", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}},
     .calls = {{"c1", "S", "A", FRI "T09:00:40+08:00", "missed"},
               {"c2", "A", "S", FRI "T09:30:59+08:00", "answered"}}},
    {"called back at t+31 does not", "A", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}},
     .calls = {{"c1", "S", "A", FRI "T09:00:00+08:00", "missed"},
               {"c2", "A", "S", FRI "T09:31:00+08:00", "answered"}},
     .want = {{"unanswered_call", NULL, -1, "c1"}}},
    {"an answer in the same minute, seconds before, settles", "A", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}},
     .calls = {{"c1", "S", "A", FRI "T09:00:50+08:00", "missed"},
               {"c2", "S", "A", FRI "T09:00:10+08:00", "answered"}}},
    {"the window must have passed", "A", FRI, .wm = FRI "T09:31:00+08:00",
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"}},
     .calls = {{"c1", "S", "A", FRI "T09:00:00+08:00", "missed"}}},
    {"read past 09:31:00, the window has passed", "A", FRI,
     .wm = FRI "T09:31:00.001+08:00",
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"}},
     .calls = {{"c1", "S", "A", FRI "T09:00:00+08:00", "missed"}},
     .want = {{"unanswered_call", NULL, -1, "c1"}}},
    {"grouping from the opening call", "A", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}},
     .calls = {{"c1", "S", "A", FRI "T09:00:00+08:00", "missed"},
               {"c2", "S", "A", FRI "T09:20:00+08:00", "missed"},
               {"c3", "S", "A", FRI "T09:30:59+08:00", "missed"},
               {"c4", "S", "A", FRI "T09:31:00+08:00", "missed"}},
     .want = {{"unanswered_call", NULL, -1, "c1"},
              {"unanswered_call", NULL, -1, "c4"}}},
    {"groups are per caller", "A", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}},
     .calls = {{"c1", "S", "A", FRI "T09:00:00+08:00", "missed"},
               {"c2", "H", "A", FRI "T09:05:00+08:00", "missed"}},
     .want = {{"unanswered_call", NULL, -1, "c1"},
              {"unanswered_call", NULL, -1, "c2"}}},
    {"same instant: the smaller call_id opens", "A", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}},
     .calls = {{"call-9", "S", "A", FRI "T09:00:00+08:00", "missed"},
               {"call-10", "S", "A", FRI "T09:00:00+08:00", "missed"}},
     .want = {{"unanswered_call", NULL, -1, "call-10"}}},
    {"07:29:59 is before hours", "A", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}},
     .calls = {{"c1", "S", "A", FRI "T07:29:59+08:00", "missed"}}},
    {"the start minute is inside", "A", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}},
     .calls = {{"c1", "S", "A", FRI "T07:30:00+08:00", "missed"}},
     .want = {{"unanswered_call", NULL, -1, "c1"}}},
    {"the end minute is inside", "A", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}},
     .calls = {{"c1", "S", "A", FRI "T16:30:59+08:00", "missed"}},
     .want = {{"unanswered_call", NULL, -1, "c1"}}},
    {"16:31 is after hours", "A", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}},
     .calls = {{"c1", "S", "A", FRI "T16:31:00+08:00", "missed"}}},
    {"not a WFH day: no duty call", "A", MON,
     .pres = {{"in", "wfo", MON "T07:10:00+08:00"},
              {"out", "wfo", MON "T16:10:00+08:00"}},
     .calls = {{"c1", "S", "A", MON "T09:00:00+08:00", "missed"}}},
    {"a WFH-exempt callee: no duty call", "B", FRI,
     .pres = {{"in", "wfo", FRI "T07:10:00+08:00"},
              {"out", "wfo", FRI "T16:40:00+08:00"}},
     .calls = {{"c1", "S", "B", FRI "T09:00:00+08:00", "missed"}}},
    {"peers: no duty call", "A", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}},
     .calls = {{"c1", "C", "A", FRI "T09:00:00+08:00", "missed"}}},
    {"vice versa: the supervisor misses a WFH subordinate", "S", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}},
     .calls = {{"c1", "A", "S", FRI "T10:00:00+08:00", "missed"}},
     .want = {{"unanswered_call", NULL, -1, "c1"}}},
    {"vice versa: an exempt head misses a WFH subordinate", "H", FRI,
     .pres = {{"in", "wfo", FRI "T07:10:00+08:00"},
              {"out", "wfo", FRI "T16:40:00+08:00"}},
     .calls = {{"c1", "A", "H", FRI "T10:00:00+08:00", "missed"}},
     .want = {{"unanswered_call", NULL, -1, "c1"}}},
    {"vice versa: an excused caller is not on WFH", "S", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}},
     .calls = {{"c1", "A", "S", FRI "T10:00:00+08:00", "missed"}},
     .caller_exc = {{"cuti-9", "x9", FRI, FRI, "2026-04-15T10:00:00+08:00",
                     false, NULL}}},
    {"vice versa: an inactive caller is not on WFH", "S", FRI,
     .pres = {{"in", "wfh", FRI "T07:10:00+08:00"},
              {"out", "wfh", FRI "T16:40:00+08:00"}},
     .calls = {{"c1", "I", "S", FRI "T10:00:00+08:00", "missed"}}},
    {"an excused callee has no duty calls", "A", FRI,
     .exc = {{"cuti-1", "x1", FRI, FRI, "2026-04-15T10:00:00+08:00", false,
              NULL}},
     .calls = {{"c1", "S", "A", FRI "T09:00:00+08:00", "missed"}}},
};

static eval_excuse_t make_excuse(const exc_t *x)
{
        eval_excuse_t e = {0};
        snprintf(e.excuse_id, sizeof(e.excuse_id), "%s", x->id);
        snprintf(e.event_id, sizeof(e.event_id), "%s", x->event);
        e.from = date(x->from);
        e.to = date(x->to);
        e.updated_at = at(x->updated);
        e.revoked = x->revoked;
        e.has_arrival = x->arrival != NULL;
        if (x->arrival)
                e.arrival_day = tz_local_day(policy->tz, at(x->arrival));
        return e;
}

static eval_excuse_t caller_ex[2];
static const eval_excuse_t *caller_ex_p[2];
static size_t n_caller_ex;

static eval_excuses_t caller_excuses(void *ud, int32_t emp)
{
        const ecase_t *c = ud;
        if (c->calls[0].id && emp == row(c->calls[0].from))
                return (eval_excuses_t){caller_ex_p, n_caller_ex};
        return (eval_excuses_t){NULL, 0};
}

static void run_case(const ecase_t *c, eval_list_t *out)
{
        eval_att_t att = {0};
        for (size_t i = 0; i < 6 && c->pres[i].type; i++)
                eval_att_add(&att, strcmp(c->pres[i].type, "out") == 0,
                             strcmp(c->pres[i].mode, "wfh") == 0,
                             at(c->pres[i].at), c->pres[i].at);
        eval_excuse_t ex[4];
        const eval_excuse_t *exp[4];
        size_t nex = 0;
        for (; nex < 4 && c->exc[nex].id; nex++) {
                ex[nex] = make_excuse(&c->exc[nex]);
                exp[nex] = &ex[nex];
        }
        for (n_caller_ex = 0; n_caller_ex < 2 && c->caller_exc[n_caller_ex].id;
             n_caller_ex++) {
                caller_ex[n_caller_ex] =
                    make_excuse(&c->caller_exc[n_caller_ex]);
                caller_ex_p[n_caller_ex] = &caller_ex[n_caller_ex];
        }
        /* static: an unanswered_call decision borrows its call's call_id
         * (eval_decision_t), and the caller reads the decisions after
         * this returns */
        static eval_call_t calls[8];
        static const eval_call_t *callp[8];
        size_t nc = 0;
        for (; nc < 8 && c->calls[nc].id; nc++) {
                eval_call_t *k = &calls[nc];
                memset(k, 0, sizeof(*k));
                snprintf(k->call_id, sizeof(k->call_id), "%s", c->calls[nc].id);
                snprintf(k->event_id, sizeof(k->event_id), "e-%s",
                         c->calls[nc].id);
                k->caller = row(c->calls[nc].from);
                k->callee = row(c->calls[nc].to);
                k->at = at(c->calls[nc].at);
                k->outcome = strcmp(c->calls[nc].outcome, "answered") == 0
                                 ? EVAL_CALL_ANSWERED
                             : strcmp(c->calls[nc].outcome, "missed") == 0
                                 ? EVAL_CALL_MISSED
                                 : EVAL_CALL_DECLINED;
                callp[nc] = k;
        }
        eval_day_in_t in = {
            .emp = row(c->emp),
            .day = date(c->day),
            .in_service = !c->out_of_service,
            .att = &att,
            .excuses = {exp, nex},
            .calls = callp,
            .n_calls = nc,
            .excuses_of = caller_excuses,
            .ud = (void *)c,
        };
        assert_true(in.emp >= 0);
        ptime_t wm = c->wm ? at(c->wm) : PTIME_FOREVER;
        assert_true(eval_day(&ctx, &in, wm, out) >= 0);
}

static void test_rule_table(void **state)
{
        (void)state;
        eval_list_t out = {0};
        int failures = 0;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                const ecase_t *c = &cases[i];
                run_case(c, &out);
                size_t nwant = 0;
                while (nwant < 6 && c->want[nwant].kind)
                        nwant++;
                bool ok = out.n == nwant;
                for (size_t w = 0; ok && w < nwant; w++) {
                        bool found = false;
                        for (size_t g = 0; g < out.n; g++) {
                                const eval_decision_t *d = &out.v[g];
                                if (strcmp(vkind_name(d->kind),
                                           c->want[w].kind) != 0 ||
                                    strcmp(d->subject, c->want[w].subject) != 0)
                                        continue;
                                found = d->minutes == c->want[w].minutes &&
                                        (c->want[w].band
                                             ? d->band &&
                                                   strcmp(d->band->name,
                                                          c->want[w].band) == 0
                                             : d->band == NULL);
                        }
                        ok = found;
                }
                if (!ok) {
                        failures++;
                        print_error("case '%s': got %zu decision(s):\n",
                                    c->name, out.n);
                        for (size_t g = 0; g < out.n; g++)
                                print_error("    %s %s %lld '%s'\n",
                                            vkind_name(out.v[g].kind),
                                            out.v[g].band ? out.v[g].band->name
                                                          : "-",
                                            (long long)out.v[g].minutes,
                                            out.v[g].subject);
                }
        }
        eval_list_free(&out);
        assert_int_equal(failures, 0);
}

/* SPEC §4.1: round-half-up of tpp_monthly x percent / 100. */
static void test_tpp_amount(void **state)
{
        (void)state;
        static const struct {
                int64_t tpp;
                double pct;
                int64_t want;
        } t[] = {
            {4500000, 1, 45000},       {4500100, 2, 90002},
            {3333300, 2, 66666},       {3333300, 4, 133332},
            {4500101, 0.5, 22501}, /* 22500.505 */
            {1000100, 0.5, 5001},  /* 5000.5 rounds up */
            {1000099, 0.5, 5000},  /* 5000.495 */
            {7400000, 1.5, 111000},    {0, 4, 0},
            {24000000, 100, 24000000},
        };
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
                assert_int_equal(
                    eval_tpp_amount(t[i].tpp, jsonv_percent_micro(t[i].pct)),
                    t[i].want);
}

/* Reconciliation: revisions and retraction reasons (SPEC §4.1). */
static eval_decision_t dec(vkind_t k, const char *subject, int64_t minutes)
{
        eval_decision_t d = {0};
        d.kind = k;
        d.subject = subject; /* a literal: outlives the ledger */
        d.minutes = minutes;
        return d;
}

static void reconcile(eval_ledger_t *l, eval_decision_t *v, size_t n,
                      bool excused, int want_changes)
{
        eval_list_t now = {v, n, n};
        int nch = eval_reconcile(l, &now, excused);
        size_t flagged = 0;
        for (size_t i = 0; i < l->n; i++) {
                flagged += l->v[i].changed;
                l->v[i].changed = false;
        }
        assert_int_equal(nch, want_changes);
        assert_int_equal(flagged, (size_t)want_changes);
}

static void test_reconcile(void **state)
{
        (void)state;
        eval_ledger_t l = {0};
        eval_decision_t absent = dec(VK_ABSENT, "", -1);
        reconcile(&l, &absent, 1, false, 1);
        assert_int_equal(l.v[0].revision, 1);
        assert_true(l.v[0].active && l.v[0].newly_active);
        /* the same decision again changes nothing */
        reconcile(&l, &absent, 1, false, 0);
        /* a late clock-out arrives: absent is superseded */
        eval_decision_t mi = dec(VK_MISSING_CLOCK_IN, "", -1);
        reconcile(&l, &mi, 1, false, 2);
        assert_false(l.v[0].active);
        assert_int_equal(l.v[0].revision, 2);
        assert_string_equal(l.v[0].reason, "superseded");
        assert_true(l.v[1].active);
        /* a changed band/minutes is a new revision of the same id */
        eval_decision_t late[2] = {mi, dec(VK_LATE_CLOCK_IN, "", 40)};
        reconcile(&l, late, 2, false, 1);
        late[1].minutes = 12;
        reconcile(&l, late, 2, false, 1);
        assert_int_equal(l.v[2].revision, 2);
        assert_int_equal(l.v[2].d.minutes, 12);
        assert_false(l.v[2].newly_active);
        /* an excuse arrives: everything is retracted as excused */
        reconcile(&l, NULL, 0, true, 2);
        assert_string_equal(l.v[1].reason, "excused");
        assert_string_equal(l.v[2].reason, "excused");
        /* the excuse is revoked: the decisions come back, newly active */
        reconcile(&l, late, 2, false, 2);
        assert_true(l.v[2].active && l.v[2].newly_active);
        assert_int_equal(l.v[2].revision, 4);
        /* a clock-in that arrives late makes the lateness go away */
        reconcile(&l, &mi, 1, false, 1);
        assert_string_equal(l.v[2].reason, "late_data");
        eval_ledger_free(&l);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rule_table),
            cmocka_unit_test(test_tpp_amount),
            cmocka_unit_test(test_reconcile),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
