/*
 * Runs every public scenario in tests/scenarios through replay_run() and
 * compares the final active violations and the dead letters with
 * expected/.  Then replays each scenario again with its lines shuffled
 * (each keeping its own ts) and some lines delivered twice, and checks
 * that the final violations do not move (SPEC §3.4).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../engine/replay.h"
#include "../rules/jsonv.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SCENARIOS PATUH_SOURCE_DIR "/tests/scenarios"

/* ---- small helpers ----------------------------------------------------- */

static json_t *load_jsonl(const char *path)
{
        size_t len, pos = 0, n, line = 0;
        const char *s;
        char *buf = jsonv_slurp(path, &len);
        json_t *arr = json_array();
        if (!buf)
                return arr;
        while (jsonv_next_line(buf, len, &pos, &s, &n, &line)) {
                if (jsonv_is_blank(s, n))
                        continue;
                json_error_t err;
                json_t *o = json_loadb(s, n, 0, &err);
                if (!o)
                        fail_msg("%s:%zu: bad JSON %s", path, line, err.text);
                json_array_append_new(arr, o);
        }
        free(buf);
        return arr;
}

static const char *sget(const json_t *o, const char *k)
{
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "";
}

static bool same_value(const json_t *a, const json_t *b)
{
        if (json_is_number(a) && json_is_number(b))
                return fabs(json_number_value(a) - json_number_value(b)) < 1e-9;
        return json_equal((json_t *)a, (json_t *)b);
}

static bool same_key(const json_t *a, const json_t *b)
{
        static const char *const keys[] = {"kind", "employee_id", "date",
                                           "subject"};
        for (size_t i = 0; i < 4; i++)
                if (strcmp(sget(a, keys[i]), sget(b, keys[i])) != 0)
                        return false;
        return true;
}

/* Compares active violations of `got` with `expected` as the scenario
 * README says: key, then band, minutes, tpp_percent, tpp_amount.
 * Returns the number of differences, printing each. */
static int diff_violations(const char *name, json_t *expected, json_t *got)
{
        static const char *const fields[] = {"band", "minutes", "tpp_percent",
                                             "tpp_amount"};
        int bad = 0;
        size_t i, j;
        json_t *e, *g;
        json_array_foreach(expected, i, e)
        {
                bool found = false;
                json_array_foreach(got, j, g)
                {
                        if (strcmp(sget(g, "status"), "active") != 0 ||
                            !same_key(e, g))
                                continue;
                        found = true;
                        for (size_t f = 0; f < 4; f++)
                                if (!same_value(
                                        json_object_get(e, fields[f]),
                                        json_object_get(g, fields[f]))) {
                                        print_error("%s: %s %s %s: %s "
                                                    "differs\n",
                                                    name, sget(e, "kind"),
                                                    sget(e, "employee_id"),
                                                    sget(e, "date"), fields[f]);
                                        bad++;
                                }
                }
                if (!found) {
                        print_error("%s: missing %s %s %s %s\n", name,
                                    sget(e, "kind"), sget(e, "employee_id"),
                                    sget(e, "date"), sget(e, "subject"));
                        bad++;
                }
        }
        json_array_foreach(got, j, g)
        {
                if (strcmp(sget(g, "status"), "active") != 0)
                        continue;
                bool found = false;
                json_array_foreach(expected, i, e) found |= same_key(e, g);
                if (!found) {
                        print_error("%s: unexpected %s %s %s %s\n", name,
                                    sget(g, "kind"), sget(g, "employee_id"),
                                    sget(g, "date"), sget(g, "subject"));
                        bad++;
                }
        }
        return bad;
}

/* Dead letters agree on the multiset of (line, reason). */
static int diff_dlq(const char *name, json_t *expected, json_t *got)
{
        int bad = 0;
        if (json_array_size(expected) != json_array_size(got)) {
                print_error("%s: %zu dead letters, expected %zu\n", name,
                            json_array_size(got), json_array_size(expected));
                bad++;
        }
        size_t i, j;
        json_t *e, *g;
        json_array_foreach(expected, i, e)
        {
                bool found = false;
                json_array_foreach(got, j, g) found |=
                    json_integer_value(json_object_get(g, "line")) ==
                        json_integer_value(json_object_get(e, "line")) &&
                    strcmp(sget(g, "reason"), sget(e, "reason")) == 0;
                if (!found) {
                        print_error("%s: line %lld should be dead-lettered "
                                    "as %s\n",
                                    name,
                                    (long long)json_integer_value(
                                        json_object_get(e, "line")),
                                    sget(e, "reason"));
                        bad++;
                }
        }
        return bad;
}

static int run(const char *dir, const char *events, const char *out)
{
        char policy[1024], roster[1024], calendar[1024], err[1024];
        snprintf(policy, sizeof(policy), "%s/policy.json", dir);
        if (access(policy, R_OK) != 0) /* the sample uses the shipped one */
                snprintf(policy, sizeof(policy), "%s",
                         PATUH_SOURCE_DIR "/rules/balikpapan-se737-2026.json");
        snprintf(roster, sizeof(roster), "%s/roster.jsonl", dir);
        snprintf(calendar, sizeof(calendar), "%s/calendar.json", dir);
        const char *ev[] = {events};
        replay_opts_t o = {policy, roster, calendar, ev, 1, out, NULL};
        int rc = replay_run(&o, NULL, err, sizeof(err));
        if (rc != 0)
                print_error("%s: replay failed: %s\n", dir, err);
        return rc;
}

static char *tmpdir(void)
{
        char *d = strdup("/tmp/patuh-test-XXXXXX");
        assert_non_null(d);
        assert_non_null(mkdtemp(d));
        return d;
}

/* Removes the run folder and whatever replay wrote into it (a list of
 * names would go stale as replay learns new outputs). */
static void rmtree(const char *d)
{
        DIR *dh = opendir(d);
        struct dirent *de;
        char p[1024];
        while (dh && (de = readdir(dh)) != NULL) {
                if (de->d_name[0] == '.')
                        continue;
                snprintf(p, sizeof(p), "%s/%s", d, de->d_name);
                unlink(p);
        }
        if (dh)
                closedir(dh);
        rmdir(d);
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted scenario folder names; NULL-terminated, caller frees. */
static char **list_scenarios(size_t *count)
{
        DIR *d = opendir(SCENARIOS);
        assert_non_null(d);
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                char p[1024];
                snprintf(p, sizeof(p), "%s/%s/expected", SCENARIOS, de->d_name);
                if (de->d_name[0] == '.' || access(p, F_OK) != 0)
                        continue;
                names = realloc(names, (n + 2) * sizeof(*names));
                names[n++] = strdup(de->d_name);
        }
        closedir(d);
        qsort(names, n, sizeof(*names), name_cmp);
        names[n] = NULL;
        *count = n;
        return names;
}

static void free_list(char **names)
{
        for (char **p = names; *p; p++)
                free(*p);
        free(names);
}

static int check_outputs(const char *name, const char *dir, const char *out,
                         bool with_dlq)
{
        char p[1024];
        snprintf(p, sizeof(p), "%s/expected/violations.jsonl", dir);
        json_t *ev = load_jsonl(p);
        snprintf(p, sizeof(p), "%s/violations.jsonl", out);
        json_t *gv = load_jsonl(p);
        int bad = diff_violations(name, ev, gv);
        json_decref(ev);
        json_decref(gv);
        if (with_dlq) {
                snprintf(p, sizeof(p), "%s/expected/dlq.jsonl", dir);
                json_t *ed = load_jsonl(p);
                snprintf(p, sizeof(p), "%s/dlq.jsonl", out);
                json_t *gd = load_jsonl(p);
                bad += diff_dlq(name, ed, gd);
                json_decref(ed);
                json_decref(gd);
        }
        return bad;
}

/* ---- the tests ---------------------------------------------------------- */

static void test_public_scenarios(void **state)
{
        (void)state;
        size_t n;
        char **names = list_scenarios(&n);
        assert_true(n >= 27); /* the copy of ../shared/scenarios is here */
        int failed = 0;
        for (size_t i = 0; i < n; i++) {
                char dir[1024], ev[1100];
                snprintf(dir, sizeof(dir), "%s/%s", SCENARIOS, names[i]);
                snprintf(ev, sizeof(ev), "%s/events.jsonl", dir);
                char *out = tmpdir();
                int bad = run(dir, ev, out) != 0
                              ? 1
                              : check_outputs(names[i], dir, out, true);
                if (bad)
                        failed++;
                rmtree(out);
                free(out);
        }
        free_list(names);
        assert_int_equal(failed, 0);
}

/* xorshift64*: reproducible shuffles per seed. */
static uint64_t rnd(uint64_t *s)
{
        *s ^= *s >> 12;
        *s ^= *s << 25;
        *s ^= *s >> 27;
        return *s * 2685821657736338717ull;
}

/* The de-duplication key of an events line ("calls|call-9"), or the line
 * itself when it has none: lines sharing a key keep their relative order
 * in a shuffle, since which copy arrives first is part of the input. */
static char *dedup_key(const char *line)
{
        json_t *env = json_loads(line, JSON_DECODE_ANY, NULL);
        const json_t *v = json_object_get(env, "value");
        json_t *parsed = NULL;
        if (json_is_string(v))
                v = parsed = json_loads(json_string_value(v), 0, NULL);
        const char *topic = json_string_value(json_object_get(env, "topic"));
        const char *id = json_string_value(json_object_get(
            v, topic && strcmp(topic, "calls") == 0 ? "call_id" : "event_id"));
        char *key;
        if (topic && id) {
                size_t n = strlen(topic) + strlen(id) + 2;
                key = malloc(n);
                snprintf(key, n, "%s|%s", topic, id);
        } else {
                key = strdup(line);
        }
        json_decref(parsed);
        json_decref(env);
        return key;
}

static void write_shuffled(const char *src, const char *dst, uint64_t seed)
{
        size_t len, pos = 0, n, line = 0, count = 0;
        const char *s;
        char *buf = jsonv_slurp(src, &len);
        assert_non_null(buf);
        char **lines = NULL;
        while (jsonv_next_line(buf, len, &pos, &s, &n, &line)) {
                if (line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
                        s += 3;
                        n -= 3;
                }
                if (jsonv_is_blank(s, n))
                        continue;
                lines = realloc(lines, (count + 1) * sizeof(*lines));
                lines[count++] = strndup(s, n);
        }
        free(buf);
        /* Shuffle positions, then put each key group back in its own
         * order on the positions it drew. */
        size_t *perm = malloc(count * sizeof(*perm));
        char **keys = malloc(count * sizeof(*keys));
        for (size_t i = 0; i < count; i++) {
                perm[i] = i;
                keys[i] = dedup_key(lines[i]);
        }
        for (size_t i = count; i > 1; i--) {
                size_t j = rnd(&seed) % i;
                size_t t = perm[i - 1];
                perm[i - 1] = perm[j];
                perm[j] = t;
        }
        bool *done = calloc(count, sizeof(*done));
        for (size_t a = 0; a < count; a++) {
                if (done[perm[a]])
                        continue;
                /* members of this key group in original order are
                 * perm-independent: collect positions holding them */
                const char *k = keys[perm[a]];
                size_t next_member = 0;
                for (size_t b = a; b < count; b++) {
                        if (strcmp(keys[perm[b]], k) != 0)
                                continue;
                        while (strcmp(keys[next_member], k) != 0)
                                next_member++;
                        perm[b] = next_member++;
                        done[perm[b]] = true;
                }
        }
        FILE *f = fopen(dst, "w");
        assert_non_null(f);
        /* One line in four is delivered again, right away or a few lines
         * later (never before the original). */
        size_t *due = calloc(count, sizeof(*due));
        for (size_t a = 0; a < count; a++)
                due[a] = rnd(&seed) % 4 == 0 ? a + rnd(&seed) % 6 : SIZE_MAX;
        for (size_t a = 0; a < count; a++) {
                fprintf(f, "%s\n", lines[perm[a]]);
                for (size_t b = 0; b <= a; b++)
                        if (due[b] == a || (a == count - 1 &&
                                            due[b] != SIZE_MAX && due[b] > a))
                                fprintf(f, "%s\n", lines[perm[b]]);
        }
        free(due);
        fclose(f);
        for (size_t i = 0; i < count; i++) {
                free(lines[i]);
                free(keys[i]);
        }
        free(lines);
        free(keys);
        free(perm);
        free(done);
}

static void test_shuffled_and_duplicated(void **state)
{
        (void)state;
        size_t n;
        char **names = list_scenarios(&n);
        int failed = 0;
        for (size_t i = 0; i < n; i++) {
                char dir[1024], src[1100], dst[1100];
                snprintf(dir, sizeof(dir), "%s/%s", SCENARIOS, names[i]);
                snprintf(src, sizeof(src), "%s/events.jsonl", dir);
                for (uint64_t seed = 1; seed <= 4; seed++) {
                        char *out = tmpdir();
                        snprintf(dst, sizeof(dst), "%s/events.jsonl", out);
                        write_shuffled(src, dst, seed * 7919 + i);
                        char label[256];
                        snprintf(label, sizeof(label), "%s (shuffle %llu)",
                                 names[i], (unsigned long long)seed);
                        int bad = run(dir, dst, out) != 0
                                      ? 1
                                      : check_outputs(label, dir, out, false);
                        if (bad)
                                failed++;
                        rmtree(out);
                        free(out);
                }
        }
        free_list(names);
        assert_int_equal(failed, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_public_scenarios),
            cmocka_unit_test(test_shuffled_and_duplicated),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
