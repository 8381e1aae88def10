#include "calendar.h"

#include "jsonv.h"
#include "ptime.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int day_cmp(const void *a, const void *b)
{
        const cal_day_t *x = a, *y = b;
        return x->day < y->day ? -1 : x->day > y->day;
}

static int ovr_cmp(const void *a, const void *b)
{
        const cal_override_t *x = a, *y = b;
        return x->from < y->from ? -1 : x->from > y->from;
}

static bool get_date(const jsonv_t *v, const json_t *o, const char *path,
                     const char *key, int32_t *day)
{
        char p[256];
        jsonv_key(p, sizeof(p), path, key);
        const json_t *j = json_object_get(o, key);
        if (!j)
                return jsonv_fail(v, p, "missing");
        if (!json_is_string(j) ||
            !ptime_parse_date(json_string_value(j), json_string_length(j), day))
                return jsonv_fail(v, p, "expected a date YYYY-MM-DD");
        return true;
}

static char *get_name(const jsonv_t *v, const json_t *o, const char *path,
                      const char *key)
{
        char p[256];
        const json_t *j = json_object_get(o, key);
        const char *s = "";
        if (j && !json_is_null(j)) {
                if (!json_is_string(j)) {
                        jsonv_fail(v, jsonv_key(p, sizeof(p), path, key),
                                   "expected a string");
                        return NULL;
                }
                s = json_string_value(j);
        }
        size_t n = strlen(s) + 1;
        char *d = malloc(n);
        if (!d) {
                jsonv_fail(v, path, "out of memory");
                return NULL;
        }
        memcpy(d, s, n);
        return d;
}

static bool load_days(const jsonv_t *v, const json_t *root, const char *key,
                      const char *name_key, cal_day_t **out, size_t *n_out)
{
        char path[256];
        const json_t *arr = json_object_get(root, key);
        if (!arr || json_is_null(arr))
                return true; /* all three lists are optional */
        if (!json_is_array(arr))
                return jsonv_fail(v, key, "expected an array");
        size_t n = json_array_size(arr);
        *out = calloc(n ? n : 1, sizeof(**out));
        if (!*out)
                return jsonv_fail(v, key, "out of memory");
        for (size_t i = 0; i < n; i++) {
                const json_t *e = json_array_get(arr, i);
                jsonv_idx(path, sizeof(path), key, i);
                if (!json_is_object(e))
                        return jsonv_fail(v, path, "expected an object");
                if (!get_date(v, e, path, "date", &(*out)[i].day))
                        return false;
                (*out)[i].name = get_name(v, e, path, name_key);
                *n_out = i + 1;
                if (!(*out)[i].name)
                        return false;
        }
        qsort(*out, n, sizeof(**out), day_cmp);
        return true;
}

static bool load_overrides(const jsonv_t *v, const json_t *root, calendar_t *c)
{
        char path[256], p2[256];
        const json_t *arr = json_object_get(root, "hours_overrides");
        if (!arr || json_is_null(arr))
                return true;
        if (!json_is_array(arr))
                return jsonv_fail(v, "hours_overrides", "expected an array");
        size_t n = json_array_size(arr);
        c->overrides = calloc(n ? n : 1, sizeof(*c->overrides));
        if (!c->overrides)
                return jsonv_fail(v, "hours_overrides", "out of memory");
        for (size_t i = 0; i < n; i++) {
                const json_t *e = json_array_get(arr, i);
                cal_override_t *o = &c->overrides[i];
                jsonv_idx(path, sizeof(path), "hours_overrides", i);
                if (!json_is_object(e))
                        return jsonv_fail(v, path, "expected an object");
                if (!get_date(v, e, path, "from", &o->from) ||
                    !get_date(v, e, path, "to", &o->to))
                        return false;
                if (o->from > o->to)
                        return jsonv_fail(v, path, "from is after to");
                o->name = get_name(v, e, path, "name");
                c->n_overrides = i + 1;
                if (!o->name)
                        return false;
                const json_t *h = json_object_get(e, "hours");
                jsonv_key(p2, sizeof(p2), path, "hours");
                if (!h)
                        return jsonv_fail(v, p2, "missing");
                if (!policy_parse_hours(v, h, p2, o->has, o->hours))
                        return false;
        }
        qsort(c->overrides, n, sizeof(*c->overrides), ovr_cmp);
        for (size_t i = 1; i < n; i++)
                if (c->overrides[i].from <= c->overrides[i - 1].to)
                        return jsonv_fail(v, "hours_overrides",
                                          "entries '%s' and '%s' overlap",
                                          c->overrides[i - 1].name,
                                          c->overrides[i].name);
        return true;
}

calendar_t *calendar_load_buffer(const char *buf, size_t len, const char *what,
                                 char *errstr, size_t errstr_size)
{
        jsonv_t v = {what, errstr, errstr_size};
        const char *text = jsonv_skip_bom(buf, len);
        size_t n = len - (size_t)(text - buf);
        /* A NUL byte is never JSON text.  Read as a C string, a file
         * with one after a valid document loaded with the rest unseen,
         * and jansson does not refuse every raw NUL on its own. */
        const char *nul = memchr(text, '\0', n);
        if (nul) {
                jsonv_fail(&v, "", "a NUL byte at offset %zu (not a text file)",
                           (size_t)(nul - buf));
                return NULL;
        }
        json_error_t jerr;
        json_t *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                jsonv_fail(&v, "", "not valid JSON (line %d: %s)", jerr.line,
                           jerr.text);
                return NULL;
        }
        calendar_t *c = calloc(1, sizeof(*c));
        bool ok = c != NULL;
        if (!ok)
                jsonv_fail(&v, "", "out of memory");
        else if (!json_is_object(root))
                ok = jsonv_fail(&v, "", "expected a JSON object");
        else
                ok = load_days(&v, root, "holidays", "name", &c->holidays,
                               &c->n_holidays) &&
                     load_days(&v, root, "wfh_suspended", "reason",
                               &c->suspended, &c->n_suspended) &&
                     load_overrides(&v, root, c);
        json_decref(root);
        if (!ok) {
                calendar_free(c);
                return NULL;
        }
        return c;
}

calendar_t *calendar_load_string(const char *json, const char *what,
                                 char *errstr, size_t errstr_size)
{
        return calendar_load_buffer(json, strlen(json), what, errstr,
                                    errstr_size);
}

calendar_t *calendar_load(const char *path, char *errstr, size_t errstr_size)
{
        char what[512];
        snprintf(what, sizeof(what), "calendar file %s", path);
        size_t len;
        char *buf = jsonv_slurp(path, &len);
        if (!buf) {
                snprintf(errstr, errstr_size, "%s: cannot read", what);
                return NULL;
        }
        calendar_t *c =
            calendar_load_buffer(buf, len, what, errstr, errstr_size);
        free(buf);
        return c;
}

static void free_days(cal_day_t *d, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(d[i].name);
        free(d);
}

void calendar_free(calendar_t *c)
{
        if (!c)
                return;
        free_days(c->holidays, c->n_holidays);
        free_days(c->suspended, c->n_suspended);
        for (size_t i = 0; i < c->n_overrides; i++)
                free(c->overrides[i].name);
        free(c->overrides);
        free(c);
}

static const cal_day_t *find_day(const cal_day_t *d, size_t n, int32_t day)
{
        size_t lo = 0, hi = n;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (d[mid].day < day)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo < n && d[lo].day == day ? &d[lo] : NULL;
}

bool calendar_is_holiday(const calendar_t *c, int32_t day)
{
        return find_day(c->holidays, c->n_holidays, day) != NULL;
}

bool calendar_is_wfh_suspended(const calendar_t *c, int32_t day)
{
        return find_day(c->suspended, c->n_suspended, day) != NULL;
}

const char *calendar_holiday_name(const calendar_t *c, int32_t day)
{
        const cal_day_t *d = find_day(c->holidays, c->n_holidays, day);
        return d ? d->name : NULL;
}

const char *calendar_suspension_reason(const calendar_t *c, int32_t day)
{
        const cal_day_t *d = find_day(c->suspended, c->n_suspended, day);
        return d ? d->name : NULL;
}

const cal_override_t *calendar_override(const calendar_t *c, int32_t day)
{
        int wd = ptime_weekday(day);
        for (size_t i = 0; i < c->n_overrides; i++) {
                const cal_override_t *o = &c->overrides[i];
                if (day >= o->from && day <= o->to && o->has[wd])
                        return o;
        }
        return NULL;
}

bool calendar_hours(const calendar_t *c, const policy_t *p, int32_t day,
                    int *start, int *end)
{
        int wd = ptime_weekday(day);
        const cal_override_t *o = calendar_override(c, day);
        if (o) {
                *start = o->hours[wd][0];
                *end = o->hours[wd][1];
                return true;
        }
        if (!p->has_hours[wd])
                return false;
        *start = p->hours[wd][0];
        *end = p->hours[wd][1];
        return true;
}
