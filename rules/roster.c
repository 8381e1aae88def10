#include "roster.h"

#include "jsonv.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_str(const char *s)
{
        size_t n = strlen(s) + 1;
        char *d = malloc(n);
        if (d)
                memcpy(d, s, n);
        return d;
}

/* Optional string-or-null member that must be an identifier when set. */
static bool opt_ident(const jsonv_t *v, const json_t *o, const char *key,
                      char **out)
{
        const json_t *j = json_object_get(o, key);
        *out = NULL;
        if (!j || json_is_null(j))
                return true;
        if (!json_is_string(j) ||
            !jsonv_is_identifier(json_string_value(j), json_string_length(j)))
                return jsonv_fail(v, key, "expected an identifier or null");
        *out = dup_str(json_string_value(j));
        return *out != NULL || jsonv_fail(v, key, "out of memory");
}

static bool opt_text(const jsonv_t *v, const json_t *o, const char *key,
                     char **out)
{
        const json_t *j = json_object_get(o, key);
        if (j && !json_is_null(j) && !json_is_string(j))
                return jsonv_fail(v, key, "expected a string");
        *out = dup_str(j && json_is_string(j) ? json_string_value(j) : "");
        return *out != NULL || jsonv_fail(v, key, "out of memory");
}

static bool req_ident(const jsonv_t *v, const json_t *o, const char *key,
                      char **out)
{
        const json_t *j = json_object_get(o, key);
        if (!j)
                return jsonv_fail(v, key, "missing");
        if (!json_is_string(j) ||
            !jsonv_is_identifier(json_string_value(j), json_string_length(j)))
                return jsonv_fail(v, key, "expected an identifier");
        *out = dup_str(json_string_value(j));
        return *out != NULL || jsonv_fail(v, key, "out of memory");
}

static bool load_emp(const jsonv_t *v, const json_t *o, roster_emp_t *e)
{
        if (!json_is_object(o))
                return jsonv_fail(v, "", "expected a JSON object");
        if (!req_ident(v, o, "employee_id", &e->employee_id) ||
            !req_ident(v, o, "unit_id", &e->unit_id) ||
            !opt_text(v, o, "name", &e->name) ||
            !opt_text(v, o, "unit_name", &e->unit_name) ||
            !opt_ident(v, o, "supervisor_id", &e->supervisor_id) ||
            !opt_ident(v, o, "head_id", &e->head_id))
                return false;
        const json_t *pc = json_object_get(o, "position_class");
        if (!pc)
                return jsonv_fail(v, "position_class", "missing");
        e->position = json_is_string(pc)
                          ? policy_position_from_name(json_string_value(pc))
                          : -1;
        if (e->position < 0)
                return jsonv_fail(v, "position_class",
                                  "expected one of jpt_pratama, "
                                  "administrator, pengawas, pelaksana, "
                                  "fungsional, camat, lurah");
        const json_t *sc = json_object_get(o, "service_class");
        e->service = -1;
        if (sc && !json_is_null(sc)) {
                e->service =
                    json_is_string(sc)
                        ? policy_service_from_name(json_string_value(sc))
                        : -1;
                if (e->service < 0)
                        return jsonv_fail(v, "service_class",
                                          "expected null or a service class "
                                          "of SPEC 1.4");
        }
        int64_t tpp;
        if (!jsonv_int(v, o, "", "tpp_monthly", 0, INT64_MAX / 100000000, &tpp))
                return false;
        e->tpp_monthly = tpp;
        const json_t *ex = json_object_get(o, "wfh_exempt");
        if (!ex || json_is_null(ex))
                e->wfh_exempt = -1;
        else if (json_is_boolean(ex))
                e->wfh_exempt = json_is_true(ex);
        else
                return jsonv_fail(v, "wfh_exempt",
                                  "expected true, false or null");
        const json_t *ac = json_object_get(o, "active");
        if (!ac)
                e->active = true;
        else if (json_is_boolean(ac))
                e->active = json_is_true(ac);
        else
                return jsonv_fail(v, "active", "expected true or false");
        return true;
}

static void emp_free(roster_emp_t *e)
{
        free(e->employee_id);
        free(e->name);
        free(e->unit_id);
        free(e->unit_name);
        free(e->supervisor_id);
        free(e->head_id);
}

size_t roster_split(const char *buf, size_t len, const char *what, size_t n,
                    roster_part_t *parts)
{
        size_t pos = 0, line = 0, k = 0;
        if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
                pos = 3;
        while (k < n) {
                /* the next part starts at the first line start past an
                 * even share of what is left */
                size_t to = len;
                if (k + 1 < n) {
                        size_t want = pos + (len - pos) / (n - k);
                        const char *nl =
                            want < len ? memchr(buf + want, '\n', len - want)
                                       : NULL;
                        to = nl ? (size_t)(nl - buf) + 1 : len;
                }
                roster_part_t *p = &parts[k++];
                memset(p, 0, sizeof(*p));
                p->buf = buf;
                p->from = pos;
                p->to = to;
                p->line0 = line;
                p->what = what;
                for (const char *c = buf + pos;
                     (c = memchr(c, '\n', (size_t)(buf + to - c))) != NULL; c++)
                        line++;
                pos = to;
                if (pos >= len)
                        break;
        }
        return k;
}

void roster_part_read(roster_part_t *p)
{
        size_t pos = p->from, n, line = p->line0;
        const char *s;
        while (jsonv_next_line(p->buf, p->to, &pos, &s, &n, &line)) {
                if (jsonv_is_blank(s, n))
                        continue;
                char where[600];
                snprintf(where, sizeof(where), "%s line %zu", p->what, line);
                jsonv_t v = {where, p->err, sizeof(p->err)};
                /* jansson skips a raw NUL after a literal (`null<NUL>,`
                 * reads as `null,`), but a NUL byte is never JSON */
                if (memchr(s, '\0', n)) {
                        jsonv_fail(&v, "", "not valid JSON (a NUL byte)");
                        p->failed = true;
                        return;
                }
                json_error_t jerr;
                json_t *o = json_loadb(s, n, JSON_REJECT_DUPLICATES, &jerr);
                if (!o) {
                        jsonv_fail(&v, "", "not valid JSON (%s)", jerr.text);
                        p->failed = true;
                        return;
                }
                if (p->n == p->cap) {
                        size_t cap = p->cap ? p->cap * 2 : 256;
                        roster_emp_t *ne = realloc(p->emp, cap * sizeof(*ne));
                        size_t *nl =
                            ne ? realloc(p->lines, cap * sizeof(*nl)) : NULL;
                        if (ne)
                                p->emp = ne;
                        if (!nl) {
                                json_decref(o);
                                jsonv_fail(&v, "", "out of memory");
                                p->failed = true;
                                return;
                        }
                        p->lines = nl;
                        p->cap = cap;
                }
                roster_emp_t *e = &p->emp[p->n];
                memset(e, 0, sizeof(*e));
                e->expected_from = INT32_MIN;
                bool ok = load_emp(&v, o, e);
                json_decref(o);
                if (!ok) {
                        emp_free(e);
                        p->failed = true;
                        return;
                }
                p->lines[p->n++] = line;
        }
}

/* The parts' arrays and whatever employees they still own. */
static void parts_free(roster_part_t *parts, size_t n)
{
        for (size_t k = 0; k < n; k++) {
                for (size_t i = 0; i < parts[k].n; i++)
                        emp_free(&parts[k].emp[i]);
                free(parts[k].emp);
                free(parts[k].lines);
        }
}

roster_t *roster_parts_join(roster_part_t *parts, size_t n, char *errstr,
                            size_t errstr_size)
{
        const char *what = n ? parts[0].what : "roster";
        size_t total = 0;
        for (size_t k = 0; k < n; k++)
                total += parts[k].n;
        roster_t *r = calloc(1, sizeof(*r));
        if (!r || !(r->index = strmap_new()) ||
            !(r->emp = malloc((total ? total : 1) * sizeof(*r->emp)))) {
                snprintf(errstr, errstr_size, "%s: out of memory", what);
                roster_free(r);
                parts_free(parts, n);
                return NULL;
        }
        /* In file order, as one pass over the lines would meet them: each
         * part's employees (a repeated id stops there), then the line the
         * part refused, if any. */
        for (size_t k = 0; k < n; k++) {
                roster_part_t *p = &parts[k];
                for (size_t i = 0; i < p->n; i++) {
                        roster_emp_t *e = &r->emp[r->n++];
                        *e = p->emp[i];
                        memset(&p->emp[i], 0, sizeof(p->emp[i]));
                        bool added;
                        int32_t row = strmap_put(r->index, e->employee_id,
                                                 strlen(e->employee_id),
                                                 (int32_t)(r->n - 1), &added);
                        if (row == INT32_MIN || !added) {
                                char where[600];
                                snprintf(where, sizeof(where), "%s line %zu",
                                         p->what, p->lines[i]);
                                jsonv_t v = {where, errstr, errstr_size};
                                jsonv_fail(&v, "employee_id",
                                           "repeated employee_id %s",
                                           e->employee_id);
                                goto fail;
                        }
                }
                if (p->failed) {
                        snprintf(errstr, errstr_size, "%s", p->err);
                        goto fail;
                }
        }
        parts_free(parts, n);
        for (size_t i = 0; i < r->n; i++) {
                roster_emp_t *e = &r->emp[i];
                e->supervisor = e->supervisor_id
                                    ? roster_find(r, e->supervisor_id,
                                                  strlen(e->supervisor_id))
                                    : -1;
                e->head = e->head_id
                              ? roster_find(r, e->head_id, strlen(e->head_id))
                              : -1;
        }
        return r;
fail:
        parts_free(parts, n);
        roster_free(r);
        return NULL;
}

static void *read_part(void *part)
{
        roster_part_read(part);
        return NULL;
}

/* BUF in WANT parts (1 or 2), the second read on another thread: the
 * same roster, or the same refusal and message, as one pass gives. */
static roster_t *load_parts(const char *buf, size_t len, const char *what,
                            size_t want, char *errstr, size_t errstr_size)
{
        roster_part_t *parts = malloc(2 * sizeof(*parts));
        if (!parts) {
                snprintf(errstr, errstr_size, "%s: out of memory", what);
                return NULL;
        }
        size_t n = roster_split(buf, len, what, want, parts);
        pthread_t t;
        bool threaded =
            n == 2 && pthread_create(&t, NULL, read_part, &parts[1]) == 0;
        if (n)
                roster_part_read(&parts[0]);
        if (threaded)
                pthread_join(t, NULL);
        else if (n == 2)
                roster_part_read(&parts[1]);
        roster_t *r = roster_parts_join(parts, n, errstr, errstr_size);
        free(parts);
        return r;
}

roster_t *roster_load_buffer(const char *buf, size_t len, const char *what,
                             char *errstr, size_t errstr_size)
{
        return load_parts(buf, len, what, 1, errstr, errstr_size);
}

/* The second half of the file is read on another thread: a city's roster
 * is the slowest reference file (20,000 employees: ~170 ms of jansson on
 * one thread, before patuhd or replay can start). */
roster_t *roster_load(const char *path, char *errstr, size_t errstr_size)
{
        char what[512];
        snprintf(what, sizeof(what), "roster file %s", path);
        size_t len;
        char *buf = jsonv_slurp(path, &len);
        if (!buf) {
                snprintf(errstr, errstr_size, "%s: cannot read", what);
                return NULL;
        }
        /* small rosters are not worth a thread */
        roster_t *r = load_parts(buf, len, what, len > (1 << 16) ? 2 : 1,
                                 errstr, errstr_size);
        free(buf);
        return r;
}

void roster_free(roster_t *r)
{
        if (!r)
                return;
        for (size_t i = 0; i < r->n; i++)
                emp_free(&r->emp[i]);
        free(r->emp);
        strmap_free(r->index);
        free(r);
}

int32_t roster_find(const roster_t *r, const char *id, size_t len)
{
        return strmap_get(r->index, id, len);
}

bool roster_wfh_exempt(const roster_t *r, const policy_t *p, int32_t row)
{
        const roster_emp_t *e = &r->emp[row];
        if (e->wfh_exempt >= 0)
                return e->wfh_exempt == 1;
        return p->exempt_position[e->position] ||
               (e->service >= 0 && p->exempt_service[e->service]);
}
