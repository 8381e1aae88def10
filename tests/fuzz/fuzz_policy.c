/*
 * A fuzz harness for the policy loader (rules/policy.c): the bytes are a
 * policy file's content, read as policy_load reads a file.
 *
 * For any input it asserts what a wrong loader would violate:
 *   - a refusal has a message that starts with the file's name (the
 *     operator must know which file to fix);
 *   - an accepted file is one JSON object (after an optional BOM) with no
 *     NUL byte and no repeated key, as jansson reads it on its own;
 *   - its bands are ordered and disjoint, an open band only last, and
 *     each band's first minute finds that band (policy_band_for);
 *   - the same bytes load to the same policy, and so does jansson's
 *     re-serialization of them: the loader reads values, not spelling.
 *
 * Built with -DPATUH_LIBFUZZER and -fsanitize=fuzzer it is a libFuzzer
 * target; built normally, main() replays tests/fuzz/corpus/policy, the
 * real policy and every scenario's policy.json, each with deterministic
 * mutations (mutate.h).
 */
#include "../../rules/policy.h"
#include "mutate.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHAT "policy file fuzz.json"

static const char *bands_diff(const policy_band_t *a, size_t na,
                              const policy_band_t *b, size_t nb)
{
        if (na != nb)
                return "number of bands";
        for (size_t i = 0; i < na; i++)
                if (strcmp(a[i].name, b[i].name) || a[i].from != b[i].from ||
                    a[i].to != b[i].to || a[i].pct_u != b[i].pct_u)
                        return "a band";
        return NULL;
}

static const char *ladder_diff(const policy_ladder_step_t *a, size_t na,
                               const policy_ladder_step_t *b, size_t nb)
{
        if (na != nb)
                return "number of ladder steps";
        for (size_t i = 0; i < na; i++)
                if (a[i].from != b[i].from || strcmp(a[i].level, b[i].level) ||
                    strcmp(a[i].sanction, b[i].sanction))
                        return "a ladder step";
        return NULL;
}

/* The first field in which two policies differ, or NULL. */
static const char *policy_diff(const policy_t *a, const policy_t *b)
{
        const char *d;
        if (strcmp(a->policy_id, b->policy_id) || a->version != b->version ||
            strcmp(a->label, b->label))
                return "policy_id/version";
        if (strcmp(a->timezone, b->timezone))
                return "timezone";
        if (memcmp(a->workday, b->workday, sizeof(a->workday)) ||
            memcmp(a->has_hours, b->has_hours, sizeof(a->has_hours)) ||
            memcmp(a->wfh_day, b->wfh_day, sizeof(a->wfh_day)))
                return "weekdays";
        for (int wd = 0; wd < 7; wd++)
                if (a->has_hours[wd] && (a->hours[wd][0] != b->hours[wd][0] ||
                                         a->hours[wd][1] != b->hours[wd][1]))
                        return "hours";
        if (a->has_wfh_from != b->has_wfh_from ||
            (a->has_wfh_from && a->wfh_from != b->wfh_from))
                return "wfh_from";
        if (memcmp(a->exempt_position, b->exempt_position,
                   sizeof(a->exempt_position)) ||
            memcmp(a->exempt_service, b->exempt_service,
                   sizeof(a->exempt_service)))
                return "wfh exemptions";
        if ((d = bands_diff(a->late, a->n_late, b->late, b->n_late)) ||
            (d = bands_diff(a->early, a->n_early, b->early, b->n_early)))
                return d;
        if (a->not_clocked_in_alert_minutes !=
                b->not_clocked_in_alert_minutes ||
            a->callback_minutes != b->callback_minutes ||
            a->amend_horizon_days != b->amend_horizon_days)
                return "minutes or horizon";
        for (int k = 0; k < VK__COUNT; k++)
                if (strcmp(a->kind[k].severity, b->kind[k].severity) ||
                    strcmp(a->kind[k].clause, b->kind[k].clause) ||
                    a->kind[k].pct_u != b->kind[k].pct_u)
                        return vkind_name((vkind_t)k);
        if (a->cap_pct_u != b->cap_pct_u)
                return "tpp_monthly_cap_percent";
        if (a->has_discipline != b->has_discipline)
                return "discipline";
        if (!a->has_discipline)
                return NULL;
        if (a->minutes_per_day != b->minutes_per_day ||
            memcmp(a->discipline_minutes, b->discipline_minutes,
                   sizeof(a->discipline_minutes)))
                return "discipline minutes";
        if ((d = ladder_diff(a->ladder, a->n_ladder, b->ladder, b->n_ladder)) ||
            (d = ladder_diff(a->call_ladder, a->n_call_ladder, b->call_ladder,
                             b->n_call_ladder)))
                return d;
        return NULL;
}

static void check_bands(const char *key, const policy_band_t *b, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                fuzz_check(b[i].from >= 0 &&
                               (b[i].to < 0 || b[i].to >= b[i].from),
                           "%s '%s': from %lld, to %lld", key, b[i].name,
                           (long long)b[i].from, (long long)b[i].to);
                if (i > 0)
                        fuzz_check(b[i - 1].to >= 0 && b[i - 1].to < b[i].from,
                                   "%s '%s' and '%s' out of order or "
                                   "overlapping",
                                   key, b[i - 1].name, b[i].name);
                fuzz_check(policy_band_for(b, n, b[i].from) == &b[i],
                           "%s: minute %lld does not find band '%s'", key,
                           (long long)b[i].from, b[i].name);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data;
        char err[2048] = "";
        fuzz_input("fuzz_policy", data, size);
        policy_t *p = policy_load_buffer(s, size, WHAT, err, sizeof(err));
        if (!p) {
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
        check_bands("late_bands", p->late, p->n_late);
        check_bands("early_bands", p->early, p->n_early);

        policy_t *again = policy_load_buffer(s, size, WHAT, err, sizeof(err));
        fuzz_check(again != NULL, "the same bytes refused: %s", err);
        const char *d = policy_diff(p, again);
        fuzz_check(!d, "the same bytes loaded differently: %s", d);
        char *dump = json_dumps(j, JSON_COMPACT);
        fuzz_check(dump != NULL, "out of memory");
        policy_t *re = policy_load_string(dump, WHAT, err, sizeof(err));
        fuzz_check(re != NULL, "jansson's re-serialization refused: %s", err);
        d = policy_diff(p, re);
        fuzz_check(!d, "jansson's re-serialization loads differently: %s", d);
        free(dump);
        json_decref(j);
        policy_free(re);
        policy_free(again);
        policy_free(p);
        return 0;
}

#ifndef PATUH_LIBFUZZER
#define MUTATIONS 300

int main(void)
{
        static const fuzz_plan_t plan = {
            .harness = "fuzz_policy",
            .corpus = "policy",
            .mutations = MUTATIONS,
            .file = "rules/balikpapan-se737-2026.json",
            .file_mutations = MUTATIONS * 4,
            .scenario_file = "policy.json",
            .scenario_mutations = 60,
        };
        return fuzz_main(LLVMFuzzerTestOneInput, PATUH_SOURCE_DIR, &plan);
}
#endif
