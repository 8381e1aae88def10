/*
 * A fuzz harness for the roster loader (rules/roster.c): the bytes are a
 * roster file's content (JSONL, SPEC §1.4 and §7).
 *
 * For any input it asserts what a wrong loader would violate:
 *   - a refusal has a message that starts with the file's name and, when
 *     it names a line, a line the file has;
 *   - loading in 2 and 3 parts (roster_split, the threaded start) gives
 *     exactly what the whole buffer gives: the same rows, or the same
 *     refusal with the same message;
 *   - an accepted file holds no NUL byte (never JSON);
 *   - its rows have distinct identifiers that roster_find finds, and the
 *     supervisor and head rows resolved are the rows of those ids;
 *   - written back by refdata_roster_json (what patuhd publishes) one
 *     row a line and loaded again, it gives the same rows.
 *
 * Built with -DPATUH_LIBFUZZER and -fsanitize=fuzzer it is a libFuzzer
 * target; built normally, main() replays tests/fuzz/corpus/roster, the
 * sample roster and every scenario's roster.jsonl with deterministic
 * mutations (mutate.h).
 */
#include "../../engine/jw.h"
#include "../../engine/refdata.h"
#include "../../rules/roster.h"
#include "mutate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WHAT "roster file fuzz.jsonl"

static bool same(const char *a, const char *b)
{
        return a == b || (a && b && strcmp(a, b) == 0);
}

/* The first field in which two rosters differ, or NULL. */
static const char *roster_diff(const roster_t *a, const roster_t *b)
{
        if (a->n != b->n)
                return "number of rows";
        for (size_t i = 0; i < a->n; i++) {
                const roster_emp_t *x = &a->emp[i], *y = &b->emp[i];
                if (!same(x->employee_id, y->employee_id) ||
                    !same(x->name, y->name) || !same(x->unit_id, y->unit_id) ||
                    !same(x->unit_name, y->unit_name))
                        return "ids or names";
                if (!same(x->supervisor_id, y->supervisor_id) ||
                    !same(x->head_id, y->head_id) ||
                    x->supervisor != y->supervisor || x->head != y->head)
                        return "supervisor or head";
                if (x->position != y->position || x->service != y->service ||
                    x->wfh_exempt != y->wfh_exempt || x->active != y->active ||
                    x->tpp_monthly != y->tpp_monthly ||
                    x->expected_from != y->expected_from)
                        return "classes, flags or tpp_monthly";
        }
        return NULL;
}

static size_t count_lines(const char *s, size_t n)
{
        size_t lines = 1;
        for (const char *p = s; (p = memchr(p, '\n', (size_t)(s + n - p))); p++)
                lines++;
        return lines;
}

static void check_refusal(const char *s, size_t n, const char *err)
{
        fuzz_check(strncmp(err, WHAT, strlen(WHAT)) == 0 &&
                       (err[strlen(WHAT)] == ':' || err[strlen(WHAT)] == ' '),
                   "refusal '%s' does not name the file", err);
        size_t line;
        if (sscanf(err + strlen(WHAT), " line %zu", &line) == 1)
                fuzz_check(line >= 1 && line <= count_lines(s, n),
                           "refusal '%s' names a line the file does not have",
                           err);
}

static void check_parts(const char *s, size_t n, const roster_t *whole,
                        const char *err)
{
        for (size_t k = 2; k <= 3; k++) {
                roster_part_t parts[3];
                char err2[2048] = "";
                size_t np = roster_split(s, n, WHAT, k, parts);
                for (size_t i = 0; i < np; i++)
                        roster_part_read(&parts[i]);
                roster_t *r = roster_parts_join(parts, np, err2, sizeof(err2));
                fuzz_check(!r == !whole, "in %zu parts %s, whole %s", k,
                           r ? "accepted" : err2, whole ? "accepted" : err);
                if (r) {
                        const char *d = roster_diff(whole, r);
                        fuzz_check(!d, "in %zu parts: %s differ", k, d);
                } else {
                        fuzz_check(strcmp(err, err2) == 0,
                                   "in %zu parts refused with '%s', whole "
                                   "with '%s'",
                                   k, err2, err);
                }
                roster_free(r);
        }
}

static void check_rows(const roster_t *r)
{
        for (size_t i = 0; i < r->n; i++) {
                const roster_emp_t *e = &r->emp[i];
                fuzz_check(roster_find(r, e->employee_id,
                                       strlen(e->employee_id)) == (int32_t)i,
                           "row %zu: roster_find(%s) is another row", i,
                           e->employee_id);
                int32_t sup = e->supervisor_id
                                  ? roster_find(r, e->supervisor_id,
                                                strlen(e->supervisor_id))
                                  : -1;
                int32_t head =
                    e->head_id ? roster_find(r, e->head_id, strlen(e->head_id))
                               : -1;
                fuzz_check(e->supervisor == sup && e->head == head,
                           "row %zu: supervisor or head resolved wrong", i);
        }
}

/* Each row through refdata_roster_json, one JSON object a line. */
static char *write_back(const roster_t *r, size_t *len)
{
        jw_t out, w;
        jw_init(&out);
        jw_init(&w);
        for (size_t i = 0; i < r->n; i++) {
                roster_t one = {.emp = &r->emp[i], .n = 1, .index = NULL};
                jw_reset(&w);
                refdata_roster_json(&w, &one);
                fuzz_check(!w.oom && w.len > 2 && w.buf[0] == '[' &&
                               w.buf[w.len - 1] == ']',
                           "refdata_roster_json wrote no array of one row");
                jw_raw(&out, w.buf + 1, w.len - 2);
                jw_raw(&out, "\n", 1);
        }
        jw_free(&w);
        fuzz_check(!out.oom, "out of memory");
        *len = out.len;
        return out.buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data;
        char err[2048] = "";
        fuzz_input("fuzz_roster", data, size);
        roster_t *r = roster_load_buffer(s, size, WHAT, err, sizeof(err));
        if (!r)
                check_refusal(s, size, err);
        check_parts(s, size, r, err);
        if (!r)
                return 0;
        fuzz_check(!memchr(s, '\0', size),
                   "accepted a file holding a NUL byte");
        check_rows(r);
        size_t len;
        char *text = write_back(r, &len);
        roster_t *again = roster_load_buffer(text ? text : "", text ? len : 0,
                                             WHAT, err, sizeof(err));
        fuzz_check(again != NULL, "its rows written back refused: %s", err);
        const char *d = roster_diff(r, again);
        fuzz_check(!d, "its rows written back load differently: %s", d);
        roster_free(again);
        free(text);
        roster_free(r);
        return 0;
}

#ifndef PATUH_LIBFUZZER
#define MUTATIONS 300

int main(void)
{
        static const fuzz_plan_t plan = {
            .harness = "fuzz_roster",
            .corpus = "roster",
            .mutations = MUTATIONS,
            .file = "deploy/sample/roster.jsonl",
            .file_mutations = MUTATIONS,
            .scenario_file = "roster.jsonl",
            .scenario_mutations = 40,
        };
        return fuzz_main(LLVMFuzzerTestOneInput, PATUH_SOURCE_DIR, &plan);
}
#endif
