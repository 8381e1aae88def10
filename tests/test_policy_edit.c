/*
 * Nothing of the policy is compiled in: each test edits one number of the
 * policy file, replays a public scenario under both policies and checks
 * that the decisions moved exactly as the edit implies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../engine/replay.h"
#include "../rules/eval.h"
#include "../rules/jsonv.h"

#include <jansson.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCEN PATUH_SOURCE_DIR "/tests/scenarios/"

typedef struct run {
        char dir[64];
        json_t *violations; /* active ones */
        size_t dead;
} run_t;

static const char *sget(const json_t *o, const char *k)
{
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "";
}

static json_t *load_jsonl(const char *path, size_t *count)
{
        size_t len, pos = 0, n, line = 0;
        const char *s;
        char *buf = jsonv_slurp(path, &len);
        json_t *arr = json_array();
        *count = 0;
        while (buf && jsonv_next_line(buf, len, &pos, &s, &n, &line)) {
                if (jsonv_is_blank(s, n))
                        continue;
                json_t *o = json_loadb(s, n, 0, NULL);
                assert_non_null(o);
                (*count)++;
                if (strcmp(sget(o, "status"), "retracted") != 0)
                        json_array_append(arr, o);
                json_decref(o);
        }
        free(buf);
        return arr;
}

/* Removes the run folder and whatever replay wrote into it (a list of
 * names would go stale as replay learns new outputs). */
static void rm_out(const char *dir)
{
        DIR *dh = opendir(dir);
        struct dirent *de;
        char p[1024];
        while (dh && (de = readdir(dh)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
                unlink(p);
        }
        if (dh)
                closedir(dh);
        rmdir(dir);
}

/* Replays scenario `name` under `policy` (NULL: the scenario's own). */
static void replay(const char *name, json_t *policy, const char *events,
                   run_t *r)
{
        char pol[512], ros[512], cal[512], ev[512], err[1024], p[256];
        snprintf(r->dir, sizeof(r->dir), "/tmp/patuh-edit-XXXXXX");
        assert_non_null(mkdtemp(r->dir));
        snprintf(pol, sizeof(pol), SCEN "%s/policy.json", name);
        if (policy) {
                snprintf(pol, sizeof(pol), "%s/policy.json", r->dir);
                assert_int_equal(json_dump_file(policy, pol, 0), 0);
        }
        snprintf(ros, sizeof(ros), SCEN "%s/roster.jsonl", name);
        snprintf(cal, sizeof(cal), SCEN "%s/calendar.json", name);
        snprintf(ev, sizeof(ev), SCEN "%s/events.jsonl", name);
        if (events) {
                snprintf(ev, sizeof(ev), "%s/events.jsonl", r->dir);
                FILE *f = fopen(ev, "w");
                assert_non_null(f);
                fputs(events, f);
                fclose(f);
        }
        const char *evs[] = {ev};
        replay_opts_t o = {pol, ros, cal, evs, 1, r->dir, NULL};
        int rc = replay_run(&o, NULL, err, sizeof(err));
        if (rc != 0)
                fail_msg("replay %s: %s", name, err);
        size_t n;
        snprintf(p, sizeof(p), "%s/violations.jsonl", r->dir);
        r->violations = load_jsonl(p, &n);
        snprintf(p, sizeof(p), "%s/dlq.jsonl", r->dir);
        json_decref(load_jsonl(p, &r->dead));
}

static void done(run_t *r)
{
        json_decref(r->violations);
        rm_out(r->dir);
}

static json_t *base_policy(const char *name)
{
        char p[512];
        snprintf(p, sizeof(p), SCEN "%s/policy.json", name);
        json_t *j = json_load_file(p, 0, NULL);
        assert_non_null(j);
        return j;
}

static const json_t *find(const json_t *arr, const json_t *like)
{
        static const char *const keys[] = {"kind", "employee_id", "date",
                                           "subject"};
        size_t i;
        const json_t *v;
        json_array_foreach(arr, i, v)
        {
                bool same = true;
                for (size_t k = 0; k < 4; k++)
                        same &= json_equal(json_object_get(v, keys[k]),
                                           json_object_get(like, keys[k]));
                if (same)
                        return v;
        }
        return NULL;
}

static int64_t iget(const json_t *o, const char *k)
{
        return json_integer_value(json_object_get(o, k));
}

static size_t count_kind(const json_t *arr, const char *kind)
{
        size_t i, n = 0;
        const json_t *v;
        json_array_foreach(arr, i, v) n += strcmp(sget(v, "kind"), kind) == 0;
        return n;
}

/* Later start hours: every lateness shrinks by the shift. */
static void test_hours_shift(void **state)
{
        (void)state;
        run_t a, b;
        replay("02-late-bands", NULL, NULL, &a);
        json_t *pol = base_policy("02-late-bands");
        json_t *hours = json_object_get(pol, "hours");
        const char *day;
        json_t *span;
        json_object_foreach(hours, day, span)
            json_array_set_new(span, 0, json_string("08:00"));
        replay("02-late-bands", pol, NULL, &b);
        size_t i, checked = 0;
        const json_t *v;
        json_array_foreach(a.violations, i, v)
        {
                if (strcmp(sget(v, "kind"), "late_clock_in") != 0)
                        continue;
                const json_t *w = find(b.violations, v);
                int64_t m = iget(v, "minutes") - 30;
                if (m < 1) {
                        assert_null(w);
                } else {
                        assert_non_null(w);
                        assert_int_equal(iget(w, "minutes"), m);
                }
                checked++;
        }
        assert_true(checked >= 5);
        assert_true(count_kind(b.violations, "late_clock_in") <
                    count_kind(a.violations, "late_clock_in"));
        json_decref(pol);
        done(&a);
        done(&b);
}

/* Moving the TL1/TL2 edge from 30/31 to 20/21 regrades 21..30. */
static void test_band_edge(void **state)
{
        (void)state;
        run_t a, b;
        replay("02-late-bands", NULL, NULL, &a);
        json_t *pol = base_policy("02-late-bands");
        json_t *bands = json_object_get(pol, "late_bands");
        json_object_set_new(json_array_get(bands, 0), "to", json_integer(20));
        json_object_set_new(json_array_get(bands, 1), "from", json_integer(21));
        replay("02-late-bands", pol, NULL, &b);
        size_t i, moved = 0;
        const json_t *v;
        json_array_foreach(a.violations, i, v)
        {
                if (strcmp(sget(v, "kind"), "late_clock_in") != 0)
                        continue;
                const json_t *w = find(b.violations, v);
                assert_non_null(w);
                int64_t m = iget(v, "minutes");
                if (m >= 21 && m <= 30) {
                        assert_string_equal(sget(w, "band"), "TL2");
                        moved++;
                } else {
                        assert_string_equal(sget(w, "band"), sget(v, "band"));
                }
        }
        assert_true(moved >= 1); /* the scenario has a 30-minute case */
        json_decref(pol);
        done(&a);
        done(&b);
}

/* A different percentage changes the amount by the SPEC formula. */
static void test_percent(void **state)
{
        (void)state;
        run_t b;
        json_t *pol = base_policy("02-late-bands");
        json_t *pct =
            json_object_get(json_object_get(json_object_get(pol, "violations"),
                                            "late_clock_in"),
                            "tpp_percent");
        json_object_set_new(pct, "TL1", json_real(0.75));
        replay("02-late-bands", pol, NULL, &b);
        char ros[256];
        snprintf(ros, sizeof(ros), SCEN "02-late-bands/roster.jsonl");
        size_t i, n = 0, seen = 0;
        const json_t *v;
        json_t *roster = load_jsonl(ros, &n);
        json_array_foreach(b.violations, i, v)
        {
                if (strcmp(sget(v, "band"), "TL1") != 0)
                        continue;
                size_t k;
                const json_t *e;
                json_array_foreach(roster, k, e)
                {
                        if (strcmp(sget(e, "employee_id"),
                                   sget(v, "employee_id")) != 0)
                                continue;
                        assert_int_equal(
                            iget(v, "tpp_amount"),
                            eval_tpp_amount(iget(e, "tpp_monthly"), 750000));
                        seen++;
                }
        }
        assert_true(seen >= 1);
        json_decref(roster);
        json_decref(pol);
        done(&b);
}

/* A supervisor call answered back after 20 minutes: settled within a
 * 30-minute window, unanswered with a 10-minute one. */
static const char call_events[] =
    "{\"topic\":\"presence\",\"ts\":\"2026-04-10T07:10:05+08:00\","
    "\"value\":{\"event_id\":\"p1\",\"employee_id\":\"198703152010011002\","
    "\"type\":\"clock_in\",\"mode\":\"wfh\","
    "\"at\":\"2026-04-10T07:10:00+08:00\"}}\n"
    "{\"topic\":\"calls\",\"ts\":\"2026-04-10T09:00:05+08:00\","
    "\"value\":{\"event_id\":\"c1\",\"call_id\":\"call-1\","
    "\"caller_id\":\"198206212008012004\","
    "\"callee_id\":\"198703152010011002\","
    "\"at\":\"2026-04-10T09:00:00+08:00\",\"outcome\":\"missed\"}}\n"
    "{\"topic\":\"calls\",\"ts\":\"2026-04-10T09:20:05+08:00\","
    "\"value\":{\"event_id\":\"c2\",\"call_id\":\"call-2\","
    "\"caller_id\":\"198703152010011002\","
    "\"callee_id\":\"198206212008012004\","
    "\"at\":\"2026-04-10T09:20:00+08:00\",\"outcome\":\"answered\"}}\n"
    "{\"topic\":\"presence\",\"ts\":\"2026-04-10T16:40:05+08:00\","
    "\"value\":{\"event_id\":\"p2\",\"employee_id\":\"198703152010011002\","
    "\"type\":\"clock_out\",\"mode\":\"wfh\","
    "\"at\":\"2026-04-10T16:40:00+08:00\"}}\n";

static void test_callback_window(void **state)
{
        (void)state;
        run_t a, b;
        replay("10-call-window", NULL, call_events, &a);
        assert_int_equal(count_kind(a.violations, "unanswered_call"), 0);
        json_t *pol = base_policy("10-call-window");
        json_object_set_new(pol, "callback_minutes", json_integer(10));
        replay("10-call-window", pol, call_events, &b);
        assert_int_equal(count_kind(b.violations, "unanswered_call"), 1);
        json_decref(pol);
        done(&a);
        done(&b);
}

/* A shorter horizon turns the 35-day-late record into a dead letter. */
static void test_horizon(void **state)
{
        (void)state;
        run_t a, b;
        replay("17-amend-horizon", NULL, NULL, &a);
        json_t *pol = base_policy("17-amend-horizon");
        json_object_set_new(pol, "amend_horizon_days", json_integer(10));
        replay("17-amend-horizon", pol, NULL, &b);
        assert_int_equal(b.dead, a.dead + 1);
        json_decref(pol);
        done(&a);
        done(&b);
}

/* Another zone: the same instants are an hour earlier in Asia/Jakarta. */
static void test_timezone(void **state)
{
        (void)state;
        run_t a, b;
        replay("02-late-bands", NULL, NULL, &a);
        json_t *pol = base_policy("02-late-bands");
        json_object_set_new(pol, "timezone", json_string("Asia/Jakarta"));
        replay("02-late-bands", pol, NULL, &b);
        size_t i, checked = 0;
        const json_t *v;
        json_array_foreach(a.violations, i, v)
        {
                if (strcmp(sget(v, "kind"), "late_clock_in") != 0)
                        continue;
                const json_t *w = find(b.violations, v);
                int64_t m = iget(v, "minutes") - 60;
                if (m < 1)
                        assert_null(w);
                else
                        assert_int_equal(iget(w, "minutes"), m);
                checked++;
        }
        assert_true(checked >= 5);
        json_decref(pol);
        done(&a);
        done(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_hours_shift),
            cmocka_unit_test(test_band_edge),
            cmocka_unit_test(test_percent),
            cmocka_unit_test(test_callback_window),
            cmocka_unit_test(test_horizon),
            cmocka_unit_test(test_timezone),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
