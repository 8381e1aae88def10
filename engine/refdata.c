#include "refdata.h"

#include "../rules/jsonv.h"
#include "../rules/sha256.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An optional text of the roster: empty is none (null, NULL in COPY). */
static const char *opt(const char *s)
{
        return s && *s ? s : NULL;
}

static void opt_str(jw_t *w, const char *key, const char *s)
{
        jw_key(w, key);
        jw_str(w, opt(s));
}

/* One roster row as the SPEC §1.4 record. */
static void emp_json(jw_t *w, const roster_emp_t *e)
{
        jw_obj_begin(w);
        jw_key(w, "employee_id");
        jw_str(w, e->employee_id);
        opt_str(w, "name", e->name);
        jw_key(w, "unit_id");
        jw_str(w, e->unit_id);
        opt_str(w, "unit_name", e->unit_name);
        jw_key(w, "service_class");
        jw_str(w, e->service >= 0 ? policy_service_name(e->service) : NULL);
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

void refdata_roster_json(jw_t *w, const roster_t *r)
{
        jw_arr_begin(w);
        for (size_t i = 0; i < r->n; i++)
                emp_json(w, &r->emp[i]);
        jw_arr_end(w);
}

/* One field of COPY's text format, then its tab or the row's newline:
 * NULL as \N, and the characters the format gives a meaning (backslash,
 * tab, newline, carriage return) escaped; everything else as it is. */
static void copy_field(jw_t *w, const char *s, size_t n, bool last)
{
        if (!s) {
                jw_raw(w, "\\N", 2);
        } else {
                size_t from = 0;
                for (size_t i = 0; i < n; i++) {
                        const char *esc = s[i] == '\\'   ? "\\\\"
                                          : s[i] == '\t' ? "\\t"
                                          : s[i] == '\n' ? "\\n"
                                          : s[i] == '\r' ? "\\r"
                                                         : NULL;
                        if (!esc)
                                continue;
                        jw_raw(w, s + from, i - from);
                        jw_raw(w, esc, 2);
                        from = i + 1;
                }
                jw_raw(w, s + from, n - from);
        }
        jw_raw(w, last ? "\n" : "\t", 1);
}

static void copy_str(jw_t *w, const char *s)
{
        copy_field(w, s, s ? strlen(s) : 0, false);
}

/* The roster as COPY rows of pg_temp.patuh_roster_in (schemas/sql/009):
 * the columns, then the record itself, written into doc as it is
 * written into w, so both stay one text.  Returns false out of memory. */
static bool roster_copy_rows(jw_t *w, const roster_t *r)
{
        jw_t doc;
        jw_init(&doc);
        for (size_t i = 0; i < r->n; i++) {
                const roster_emp_t *e = &r->emp[i];
                char tpp[24];
                copy_str(w, e->employee_id);
                copy_str(w, opt(e->name));
                copy_str(w, e->unit_id);
                copy_str(w, opt(e->unit_name));
                copy_str(w, policy_position_name(e->position));
                copy_str(w, e->supervisor_id);
                copy_str(w, e->head_id);
                jw_itoa(e->tpp_monthly, tpp);
                copy_str(w, tpp);
                copy_str(w, e->active ? "t" : "f");
                jw_reset(&doc);
                emp_json(&doc, e);
                copy_field(w, doc.buf, doc.len, true);
                if (doc.oom)
                        w->oom = true;
        }
        jw_free(&doc);
        return !w->oom;
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

/* COPY ... FROM STDIN of rows already in COPY's text format. */
static bool copy_in(PGconn *pg, const char *sql, const char *rows, size_t len,
                    char *errstr, size_t errstr_size)
{
        PGresult *r = PQexec(pg, sql);
        bool started = PQresultStatus(r) == PGRES_COPY_IN;
        PQclear(r);
        if (!started) {
                snprintf(errstr, errstr_size, "PostgreSQL: %s",
                         PQerrorMessage(pg));
                return false;
        }
        bool ok = true;
        /* libpq takes at most INT_MAX bytes a call */
        for (size_t at = 0; ok && at < len;) {
                size_t n = len - at > (1u << 30) ? (1u << 30) : len - at;
                ok = PQputCopyData(pg, rows + at, (int)n) == 1;
                at += n;
        }
        if (ok)
                ok = PQputCopyEnd(pg, NULL) == 1;
        else
                (void)PQputCopyEnd(pg, "patuh: the rows could not be sent");
        /* the COPY's own result, then the end of the command; still in
         * COPY (the end could not be queued: out of memory) is a failure,
         * and the caller closes the connection */
        while ((r = PQgetResult(pg)) != NULL) {
                ExecStatusType st = PQresultStatus(r);
                PQclear(r);
                if (st != PGRES_COMMAND_OK)
                        ok = false;
                if (st == PGRES_COPY_IN)
                        break;
        }
        if (!ok)
                snprintf(errstr, errstr_size, "PostgreSQL: %s",
                         PQerrorMessage(pg));
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
 * (rows of patuh_publish_roster_staged); the others keep INT32_MIN. */
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
        if (!roster_copy_rows(&w, roster)) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        /* one transaction: the temporary table lives until its COMMIT */
        char jd[16];
        ptime_format_date(joined, jd);
        const char *params[1] = {jd};
        if (!exec_ok(pg, "BEGIN", 0, NULL, errstr, errstr_size) ||
            !exec_ok(pg,
                     "CREATE TEMP TABLE patuh_roster_in (employee_id text, "
                     "name text, unit_id text, unit_name text, "
                     "position_class text, supervisor_id text, head_id "
                     "text, tpp_monthly bigint, active boolean, doc text) "
                     "ON COMMIT DROP",
                     0, NULL, errstr, errstr_size) ||
            !copy_in(pg, "COPY patuh_roster_in FROM STDIN", w.buf, w.len,
                     errstr, errstr_size))
                goto out;
        PGresult *r = PQexecParams(pg,
                                   "SELECT emp_id, emp_from::text FROM "
                                   "patuh_publish_roster_staged($1::date)",
                                   1, NULL, params, NULL, NULL, 0);
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
                         errstr_size) ||
            !exec_ok(pg, "COMMIT", 0, NULL, errstr, errstr_size))
                goto out;
        rc = 0;
out:
        jw_free(&w);
        PQfinish(pg);
        return rc;
}
