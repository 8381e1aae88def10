/*
 * compare_rows — do two JSONL files hold the same report rows?
 *
 *   compare_rows [--drop-zero FIELD] EXPECTED GOT KEY[,KEY...]
 *
 * Rows are matched by the KEY fields (SPEC §4.4: digests by date and
 * unit_id, payroll and discipline by employee_id).  Every field of an
 * expected row must be in the matching row with an equal value: numbers
 * numerically (6 equals 6.0), strings, nulls and lists exactly, objects
 * field by field; the got row may carry more fields.  A row missing on
 * either side is a difference.  Of several got rows with one key the last
 * stands (a stream of publications reads as its final state); with
 * --drop-zero, a got row whose FIELD is 0 takes its key back (a digest
 * row whose unit no longer has anyone expected).  Prints
 * each difference; exits 0 when there is none, 1 otherwise, 2 on bad
 * input.
 */
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static char *key_of(json_t *row, char **keys, int n)
{
        json_t *k = json_array();
        for (int i = 0; i < n; i++) {
                json_t *v = json_object_get(row, keys[i]);
                json_array_append_new(k, v ? json_incref(v) : json_null());
        }
        char *s = json_dumps(k, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(k);
        return s;
}

/* key text -> row, in a JSON object (the last row of a key wins). */
static json_t *load(const char *path, char **keys, int n, const char *drop)
{
        FILE *f = fopen(path, "rb");
        if (!f) {
                /* a report with no rows may have no file at all */
                return json_object();
        }
        json_t *rows = json_object();
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        long lineno = 0;
        while ((len = getline(&line, &cap, f)) > 0) {
                lineno++;
                size_t i = 0;
                while (i < (size_t)len && (line[i] == ' ' || line[i] == '\n' ||
                                           line[i] == '\r' || line[i] == '\t'))
                        i++;
                if (i == (size_t)len)
                        continue;
                json_error_t e;
                json_t *row = json_loadb(line, (size_t)len, 0, &e);
                if (!json_is_object(row)) {
                        fprintf(stderr, "%s:%ld: not a JSON object: %s\n", path,
                                lineno, e.text);
                        exit(2);
                }
                json_t *z = drop ? json_object_get(row, drop) : NULL;
                if (z && json_is_number(z) && json_number_value(z) == 0) {
                        char *k = key_of(row, keys, n);
                        json_object_del(rows, k);
                        free(k);
                        json_decref(row);
                        continue;
                }
                char *k = key_of(row, keys, n);
                json_object_set_new(rows, k, row);
                free(k);
        }
        free(line);
        fclose(f);
        return rows;
}

static bool same(json_t *want, json_t *got)
{
        if (json_is_number(want) && json_is_number(got))
                return fabs(json_number_value(want) - json_number_value(got)) <
                       1e-9;
        if (json_is_object(want) && json_is_object(got)) {
                const char *k;
                json_t *v;
                json_object_foreach(want, k, v)
                {
                        json_t *g = json_object_get(got, k);
                        if (!g || !same(v, g))
                                return false;
                }
                return true;
        }
        if (json_is_array(want) && json_is_array(got)) {
                if (json_array_size(want) != json_array_size(got))
                        return false;
                for (size_t i = 0; i < json_array_size(want); i++)
                        if (!same(json_array_get(want, i),
                                  json_array_get(got, i)))
                                return false;
                return true;
        }
        return json_equal(want, got);
}

int main(int argc, char **argv)
{
        const char *drop = NULL;
        int a = 1;
        for (; a < argc && argv[a][0] == '-' && argv[a][1] == '-'; a++) {
                if (strcmp(argv[a], "--drop-zero") == 0 && a + 1 < argc)
                        drop = argv[++a];
                else
                        break;
        }
        if (argc - a != 3) {
                fprintf(stderr, "usage: compare_rows [--drop-zero F] "
                                "EXPECTED GOT KEY[,KEY...]\n");
                return 2;
        }
        char *keyspec = strdup(argv[a + 2]);
        char *keys[8];
        int nk = 0;
        for (char *p = keyspec; p && nk < 8;) {
                keys[nk++] = p;
                p = strchr(p, ',');
                if (p)
                        *p++ = '\0';
        }
        json_t *want = load(argv[a], keys, nk, NULL);
        json_t *got = load(argv[a + 1], keys, nk, drop);
        int diffs = 0;
        const char *k;
        json_t *row;
        json_object_foreach(want, k, row)
        {
                json_t *g = json_object_get(got, k);
                if (!g) {
                        printf("missing row %s\n", k);
                        diffs++;
                        continue;
                }
                const char *f;
                json_t *v;
                json_object_foreach(row, f, v)
                {
                        json_t *gv = json_object_get(g, f);
                        if (!gv || !same(v, gv)) {
                                char *ws = json_dumps(v, JSON_ENCODE_ANY);
                                char *gs = gv ? json_dumps(gv, JSON_ENCODE_ANY)
                                              : strdup("(absent)");
                                printf("row %s: %s: want %s, got %s\n", k, f,
                                       ws, gs);
                                free(ws);
                                free(gs);
                                diffs++;
                        }
                }
        }
        json_object_foreach(got, k, row)
        {
                if (!json_object_get(want, k)) {
                        printf("extra row %s\n", k);
                        diffs++;
                }
        }
        json_decref(want);
        json_decref(got);
        free(keyspec);
        return diffs ? 1 : 0;
}
