#include "refdata.h"

#include "../rules/jsonv.h"
#include "../rules/sha256.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void opt_str(jw_t *w, const char *key, const char *s)
{
        jw_key(w, key);
        jw_str(w, s && *s ? s : NULL);
}

void refdata_roster_json(jw_t *w, const roster_t *r)
{
        jw_arr_begin(w);
        for (size_t i = 0; i < r->n; i++) {
                const roster_emp_t *e = &r->emp[i];
                jw_obj_begin(w);
                jw_key(w, "employee_id");
                jw_str(w, e->employee_id);
                opt_str(w, "name", e->name);
                jw_key(w, "unit_id");
                jw_str(w, e->unit_id);
                opt_str(w, "unit_name", e->unit_name);
                jw_key(w, "service_class");
                jw_str(w, e->service >= 0 ? policy_service_name(e->service)
                                          : NULL);
                jw_key(w, "position_class");
                jw_str(w, policy_position_name(e->position));
                jw_key(w, "supervisor_id");
                jw_str(w, e->supervisor_id);
                jw_key(w, "head_id");
                jw_str(w, e->head_id);
                jw_key(w, "tpp_monthly");
                jw_int(w, e->tpp_monthly);
                jw_key(w, "wfh_exempt");
                if (e->wfh_exempt < 0)
                        jw_null(w);
                else
                        jw_bool(w, e->wfh_exempt == 1);
                jw_key(w, "active");
                jw_bool(w, e->active);
                jw_obj_end(w);
        }
        jw_arr_end(w);
}

static bool exec_ok(PGconn *pg, const char *sql, int n,
                    const char *const *params, char *errstr, size_t errstr_size)
{
        PGresult *r = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(r);
        bool ok = st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK;
        if (!ok)
                snprintf(errstr, errstr_size, "PostgreSQL: %s",
                         PQerrorMessage(pg));
        PQclear(r);
        return ok;
}

/* reference_docs row of one file, labelled as given or by its hash. */
static bool publish_doc(PGconn *pg, const char *kind, const char *label,
                        const char *path, char *errstr, size_t errstr_size)
{
        size_t len;
        char *doc = jsonv_slurp(path, &len);
        if (!doc) {
                snprintf(errstr, errstr_size, "cannot read %s", path);
                return false;
        }
        char hash[33];
        if (!label) {
                const char *fields[1] = {doc};
                sha256_id32(fields, 1, hash);
                label = hash;
        }
        const char *params[3] = {kind, label, doc};
        /* a document already stored under its label is the same one: only
         * its load time moves, which makes it the one in force */
        bool ok = exec_ok(pg,
                          "INSERT INTO reference_docs (kind, label, doc) "
                          "VALUES ($1, $2, $3) ON CONFLICT (kind, label) DO "
                          "UPDATE SET doc = EXCLUDED.doc, loaded_at = now()",
                          3, params, errstr, errstr_size);
        free(doc);
        return ok;
}

/* The first expected day of the employees PostgreSQL says joined late
 * (rows of patuh_publish_roster_joined); the others keep INT32_MIN. */
static bool mark_joined(PGresult *r, roster_t *roster, char *errstr,
                        size_t errstr_size)
{
        for (size_t i = 0; i < roster->n; i++)
                roster->emp[i].expected_from = INT32_MIN;
        for (int i = 0; i < PQntuples(r); i++) {
                const char *id = PQgetvalue(r, i, 0);
                const char *d = PQgetvalue(r, i, 1);
                int32_t row = strmap_get(roster->index, id, strlen(id));
                int32_t day;
                if (row < 0)
                        continue; /* not in this roster: nothing to mark */
                if (!ptime_parse_date(d, strlen(d), &day)) {
                        snprintf(errstr, errstr_size,
                                 "PostgreSQL: employees.expected_from: "
                                 "unexpected value");
                        return false;
                }
                roster->emp[row].expected_from = day;
        }
        return true;
}

int refdata_publish(const char *conninfo, const eval_ctx_t *ctx,
                    roster_t *roster, int32_t joined, const char *policy_file,
                    const char *calendar_file, char *errstr, size_t errstr_size)
{
        /* bounded both ways: at a reload the loop waits on this */
        const char *keys[] = {"dbname", "connect_timeout", "options", NULL};
        const char *vals[] = {conninfo, "3", "-c statement_timeout=5000", NULL};
        PGconn *pg = PQconnectdbParams(keys, vals, 1);
        int rc = -1;
        jw_t w;
        jw_init(&w);
        if (PQstatus(pg) != CONNECTION_OK) {
                snprintf(errstr, errstr_size, "PostgreSQL: cannot connect: %s",
                         PQerrorMessage(pg));
                goto out;
        }
        refdata_roster_json(&w, roster);
        if (w.oom) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        char jd[16];
        ptime_format_date(joined, jd);
        const char *params[2] = {w.buf, jd};
        PGresult *r =
            PQexecParams(pg,
                         "SELECT emp_id, emp_from::text FROM "
                         "patuh_publish_roster_joined($1::json, $2::date)",
                         2, NULL, params, NULL, NULL, 0);
        bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        if (!ok)
                snprintf(errstr, errstr_size, "PostgreSQL: %s",
                         PQerrorMessage(pg));
        ok = ok && mark_joined(r, roster, errstr, errstr_size);
        PQclear(r);
        if (!ok ||
            !publish_doc(pg, "policy", ctx->policy->label, policy_file, errstr,
                         errstr_size) ||
            !publish_doc(pg, "calendar", NULL, calendar_file, errstr,
                         errstr_size))
                goto out;
        rc = 0;
out:
        jw_free(&w);
        PQfinish(pg);
        return rc;
}
