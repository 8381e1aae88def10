#include "viols.h"

#include "../rules/jsonv.h"
#include "../rules/ptime.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void viols_free(viols_t *vs)
{
        for (size_t i = 0; i < vs->n; i++) {
                free((char *)vs->v[i].employee_id);
                free((char *)vs->v[i].unit_id);
        }
        free(vs->v);
        memset(vs, 0, sizeof(*vs));
}

bool viols_add(viols_t *vs, const char *emp, const char *unit, const char *kind,
               const char *date, int64_t pct_u, int64_t minutes, bool active)
{
        int k = vkind_from_name(kind);
        int32_t day;
        if (k < 0 || !ptime_parse_date(date, strlen(date), &day))
                return false;
        if (vs->n == vs->cap) {
                size_t cap = vs->cap ? vs->cap * 2 : 256;
                sanction_viol_t *v = realloc(vs->v, cap * sizeof(*v));
                if (!v)
                        return false;
                vs->v = v;
                vs->cap = cap;
        }
        sanction_viol_t *v = &vs->v[vs->n];
        v->employee_id = strdup(emp);
        v->unit_id = strdup(unit);
        if (!v->employee_id || !v->unit_id) {
                free((char *)v->employee_id);
                free((char *)v->unit_id);
                return false;
        }
        v->kind = (vkind_t)k;
        v->day = day;
        v->pct_u = pct_u;
        v->minutes = minutes;
        v->active = active;
        vs->n++;
        return true;
}

static const char *jstr(json_t *o, const char *k)
{
        return json_string_value(json_object_get(o, k));
}

int viols_read_file(viols_t *vs, const char *path, char *errstr,
                    size_t errstr_size)
{
        FILE *f = fopen(path, "rb");
        if (!f) {
                snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
                return 2;
        }
        char *line = NULL;
        size_t cap = 0, n;
        long long lineno = 0;
        const char *s;
        int rc = 0;
        while (rc == 0 && jsonv_read_line(f, &line, &cap, &lineno, &s, &n)) {
                json_t *j = json_loadb(s, n, 0, NULL);
                json_t *pct = json_object_get(j, "tpp_percent");
                json_t *min = json_object_get(j, "minutes");
                const char *st = jstr(j, "status");
                if (!j || !json_is_number(pct) || !st || !jstr(j, "unit_id") ||
                    !jstr(j, "employee_id") || !jstr(j, "kind") ||
                    !jstr(j, "date") ||
                    !viols_add(vs, jstr(j, "employee_id"), jstr(j, "unit_id"),
                               jstr(j, "kind"), jstr(j, "date"),
                               jsonv_percent_micro(json_number_value(pct)),
                               json_is_integer(min) ? json_integer_value(min)
                                                    : -1,
                               strcmp(st, "active") == 0)) {
                        snprintf(errstr, errstr_size,
                                 "%s line %lld: not a violation record of "
                                 "patuh replay",
                                 path, lineno);
                        rc = 2;
                }
                json_decref(j);
        }
        free(line);
        fclose(f);
        return rc;
}
