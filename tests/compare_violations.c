/*
 * compare_violations EXPECTED GOT — exit 0 when the active violations in
 * GOT (JSONL in the violations.jsonl shape, e.g. `patuh violations`) agree
 * with EXPECTED (a scenario's expected/violations.jsonl) as the scenario
 * README defines: same (kind, employee_id, date, subject), then the same
 * band, minutes, tpp_percent (numerically) and tpp_amount.  Prints every
 * difference.  Used by the live integration test.
 */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static json_t *load(const char *path)
{
        FILE *f = fopen(path, "r");
        json_t *arr = json_array();
        char line[65536];
        while (f && fgets(line, sizeof(line), f)) {
                if (line[0] == '\n' || line[0] == '\0')
                        continue;
                json_t *o = json_loads(line, 0, NULL);
                if (!o) {
                        fprintf(stderr, "%s: not JSON: %.80s\n", path, line);
                        continue;
                }
                const char *st =
                    json_string_value(json_object_get(o, "status"));
                if (!st || strcmp(st, "active") == 0)
                        json_array_append(arr, o);
                json_decref(o);
        }
        if (f)
                fclose(f);
        return arr;
}

static const char *s(const json_t *o, const char *k)
{
        const char *v = json_string_value(json_object_get(o, k));
        return v ? v : "";
}

static bool same_key(const json_t *a, const json_t *b)
{
        return !strcmp(s(a, "kind"), s(b, "kind")) &&
               !strcmp(s(a, "employee_id"), s(b, "employee_id")) &&
               !strcmp(s(a, "date"), s(b, "date")) &&
               !strcmp(s(a, "subject"), s(b, "subject"));
}

static bool same_value(const json_t *a, const json_t *b)
{
        if (json_is_number(a) && json_is_number(b))
                return fabs(json_number_value(a) - json_number_value(b)) < 1e-9;
        return json_equal((json_t *)a, (json_t *)b);
}

int main(int argc, char **argv)
{
        if (argc != 3) {
                fprintf(stderr, "usage: compare_violations EXPECTED GOT\n");
                return 2;
        }
        json_t *exp = load(argv[1]), *got = load(argv[2]);
        static const char *const fields[] = {"band", "minutes", "tpp_percent",
                                             "tpp_amount"};
        int bad = 0;
        size_t i, j;
        json_t *e, *g;
        json_array_foreach(exp, i, e)
        {
                const json_t *match = NULL;
                json_array_foreach(got, j, g) if (same_key(e, g)) match = g;
                if (!match) {
                        printf("missing: %s %s %s %s\n", s(e, "kind"),
                               s(e, "employee_id"), s(e, "date"),
                               s(e, "subject"));
                        bad++;
                        continue;
                }
                for (size_t f = 0; f < 4; f++)
                        if (!same_value(json_object_get(e, fields[f]),
                                        json_object_get(match, fields[f]))) {
                                printf("differs: %s %s %s: %s\n", s(e, "kind"),
                                       s(e, "employee_id"), s(e, "date"),
                                       fields[f]);
                                bad++;
                        }
        }
        json_array_foreach(got, j, g)
        {
                bool found = false;
                json_array_foreach(exp, i, e) found |= same_key(e, g);
                if (!found) {
                        printf("unexpected: %s %s %s %s\n", s(g, "kind"),
                               s(g, "employee_id"), s(g, "date"),
                               s(g, "subject"));
                        bad++;
                }
        }
        json_decref(exp);
        json_decref(got);
        return bad ? 1 : 0;
}
