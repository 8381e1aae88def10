/*
 * A fuzz harness for the calendar loader (rules/calendar.c): the bytes are
 * a calendar file's content (SPEC §1.5), read as calendar_load reads a
 * file.
 *
 * For any input it asserts what a wrong loader would violate:
 *   - a refusal has a message that starts with the file's name;
 *   - an accepted file is one JSON object (after an optional BOM) with no
 *     NUL byte and no repeated key, as jansson reads it on its own;
 *   - every holiday and suspension listed is found on its day, with a
 *     name; the lists are sorted; the hours overrides run from <= to, are
 *     sorted and disjoint, and calendar_override finds each on its first
 *     and last day when it gives hours for that weekday (else none);
 *   - the same bytes load to the same calendar, and so does jansson's
 *     re-serialization of them.
 *
 * Built with -DPATUH_LIBFUZZER and -fsanitize=fuzzer it is a libFuzzer
 * target; built normally, main() replays tests/fuzz/corpus/calendar and
 * every scenario's calendar.json with deterministic mutations (mutate.h).
 */
#include "../../rules/calendar.h"
#include "../../rules/ptime.h"
#include "mutate.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHAT "calendar file fuzz.json"

static const char *days_diff(const cal_day_t *a, size_t na, const cal_day_t *b,
                             size_t nb)
{
        if (na != nb)
                return "number of days";
        for (size_t i = 0; i < na; i++)
                if (a[i].day != b[i].day || strcmp(a[i].name, b[i].name))
                        return "a day or its name";
        return NULL;
}

/* The first part in which two calendars differ, or NULL. */
static const char *calendar_diff(const calendar_t *a, const calendar_t *b)
{
        const char *d;
        if ((d = days_diff(a->holidays, a->n_holidays, b->holidays,
                           b->n_holidays)) ||
            (d = days_diff(a->suspended, a->n_suspended, b->suspended,
                           b->n_suspended)))
                return d;
        if (a->n_overrides != b->n_overrides)
                return "number of hours overrides";
        for (size_t i = 0; i < a->n_overrides; i++) {
                const cal_override_t *x = &a->overrides[i],
                                     *y = &b->overrides[i];
                if (x->from != y->from || x->to != y->to ||
                    strcmp(x->name, y->name) ||
                    memcmp(x->has, y->has, sizeof(x->has)))
                        return "an hours override";
                for (int wd = 0; wd < 7; wd++)
                        if (x->has[wd] && (x->hours[wd][0] != y->hours[wd][0] ||
                                           x->hours[wd][1] != y->hours[wd][1]))
                                return "an hours override's hours";
        }
        return NULL;
}

static void check_days(const char *key, const cal_day_t *d, size_t n,
                       const calendar_t *c, bool holiday)
{
        for (size_t i = 0; i < n; i++) {
                fuzz_check(i == 0 || d[i - 1].day <= d[i].day, "%s not sorted",
                           key);
                fuzz_check(d[i].name != NULL, "%s[%zu] without a name", key, i);
                bool found = holiday ? calendar_is_holiday(c, d[i].day)
                                     : calendar_is_wfh_suspended(c, d[i].day);
                const char *name =
                    holiday ? calendar_holiday_name(c, d[i].day)
                            : calendar_suspension_reason(c, d[i].day);
                fuzz_check(found && name, "%s day %d listed but not found", key,
                           (int)d[i].day);
        }
}

static void check_overrides(const calendar_t *c)
{
        for (size_t i = 0; i < c->n_overrides; i++) {
                const cal_override_t *o = &c->overrides[i];
                fuzz_check(o->from <= o->to,
                           "override '%s' ends before it "
                           "starts",
                           o->name);
                if (i > 0)
                        fuzz_check(c->overrides[i - 1].to < o->from,
                                   "overrides '%s' and '%s' overlap or are "
                                   "unsorted",
                                   c->overrides[i - 1].name, o->name);
                /* an override stands for the weekdays it gives hours */
                int wf = ptime_weekday(o->from), wt = ptime_weekday(o->to);
                fuzz_check(
                    calendar_override(c, o->from) == (o->has[wf] ? o : NULL) &&
                        calendar_override(c, o->to) == (o->has[wt] ? o : NULL),
                    "override '%s' not found on its days", o->name);
                for (int wd = 0; wd < 7; wd++)
                        fuzz_check(!o->has[wd] ||
                                       (o->hours[wd][0] >= 0 &&
                                        o->hours[wd][0] < o->hours[wd][1] &&
                                        o->hours[wd][1] <= 24 * 60),
                                   "override '%s': hours %d-%d", o->name,
                                   o->hours[wd][0], o->hours[wd][1]);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data;
        char err[2048] = "";
        fuzz_input("fuzz_calendar", data, size);
        calendar_t *c = calendar_load_buffer(s, size, WHAT, err, sizeof(err));
        if (!c) {
                fuzz_check(strncmp(err, WHAT ": ", strlen(WHAT ": ")) == 0 &&
                               err[strlen(WHAT ": ")],
                           "refusal '%s' does not name the file", err);
                return 0;
        }
        const char *t =
            size >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0 ? s + 3 : s;
        size_t n = size - (size_t)(t - s);
        fuzz_check(!memchr(t, '\0', n), "accepted a file holding a NUL byte");
        json_t *j = json_loadb(t, n, JSON_REJECT_DUPLICATES, NULL);
        fuzz_check(json_is_object(j),
                   "accepted what jansson reads as no JSON object");
        check_days("holidays", c->holidays, c->n_holidays, c, true);
        check_days("wfh_suspended", c->suspended, c->n_suspended, c, false);
        check_overrides(c);

        calendar_t *again =
            calendar_load_buffer(s, size, WHAT, err, sizeof(err));
        fuzz_check(again != NULL, "the same bytes refused: %s", err);
        const char *d = calendar_diff(c, again);
        fuzz_check(!d, "the same bytes loaded differently: %s", d);
        char *dump = json_dumps(j, JSON_COMPACT);
        fuzz_check(dump != NULL, "out of memory");
        calendar_t *re = calendar_load_string(dump, WHAT, err, sizeof(err));
        fuzz_check(re != NULL, "jansson's re-serialization refused: %s", err);
        d = calendar_diff(c, re);
        fuzz_check(!d, "jansson's re-serialization loads differently: %s", d);
        free(dump);
        json_decref(j);
        calendar_free(re);
        calendar_free(again);
        calendar_free(c);
        return 0;
}

#ifndef PATUH_LIBFUZZER
#define MUTATIONS 300

int main(void)
{
        static const fuzz_plan_t plan = {
            .harness = "fuzz_calendar",
            .corpus = "calendar",
            .mutations = MUTATIONS,
            .scenario_file = "calendar.json",
            .scenario_mutations = 60,
        };
        return fuzz_main(LLVMFuzzerTestOneInput, PATUH_SOURCE_DIR, &plan);
}
#endif
