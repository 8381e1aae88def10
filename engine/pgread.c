#include "pgread.h"

#include "jw.h"

#include <stdio.h>
#include <stdlib.h>

PGconn *pgread_open(const char *cmd)
{
        const char *conninfo = getenv("PATUH_PG_CONNINFO");
        if (!conninfo || !*conninfo) {
                fprintf(stderr,
                        "%s: PATUH_PG_CONNINFO is not set (or read a "
                        "replay's output with --violations/--digests, "
                        "--roster and --policy)\n",
                        cmd);
                return NULL;
        }
        PGconn *pg = PQconnectdb(conninfo);
        if (PQstatus(pg) != CONNECTION_OK) {
                /* libpq's message names host and port, never the
                 * password */
                fprintf(stderr, "%s: cannot connect to PostgreSQL: %s", cmd,
                        PQerrorMessage(pg));
                PQfinish(pg);
                return NULL;
        }
        return pg;
}

/* Runs a parameterized query expecting rows; NULL (said) on failure. */
PGresult *pgread_query(const char *cmd, PGconn *pg, const char *sql, int n,
                       const char *const *params)
{
        PGresult *r = PQexecParams(pg, sql, n, NULL, params, NULL, NULL, 0);
        ExecStatusType st = PQresultStatus(r);
        if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
                fprintf(stderr, "%s: PostgreSQL: %s", cmd, PQerrorMessage(pg));
                PQclear(r);
                return NULL;
        }
        return r;
}

/* The roster patuhd published (employees table), former employees
 * included as inactive so that their old violations keep a name. */
roster_t *pgread_roster(const char *cmd, PGconn *pg)
{
        PGresult *r =
            pgread_query(cmd, pg,
                         "SELECT CASE WHEN in_roster THEN doc::text ELSE "
                         "(doc::jsonb || '{\"active\":false}')::text END "
                         "FROM employees ORDER BY employee_id",
                         0, NULL);
        if (!r)
                return NULL;
        jw_t w;
        jw_init(&w);
        for (int i = 0; i < PQntuples(r); i++) {
                jw_raw(&w, PQgetvalue(r, i, 0), (size_t)PQgetlength(r, i, 0));
                jw_raw(&w, "\n", 1);
        }
        PQclear(r);
        char err[512];
        roster_t *ro = w.oom ? NULL
                             : roster_load_buffer(w.buf ? w.buf : "", w.len,
                                                  "PostgreSQL employees", err,
                                                  sizeof(err));
        if (!ro)
                fprintf(stderr, "%s: %s\n", cmd, w.oom ? "out of memory" : err);
        jw_free(&w);
        return ro;
}

/* The policy patuhd loaded last (reference_docs). */
policy_t *pgread_policy(const char *cmd, PGconn *pg, const char *label)
{
        const char *params[1] = {label};
        PGresult *r = pgread_query(
            cmd, pg,
            "SELECT doc FROM reference_docs WHERE kind = 'policy' AND "
            "($1::text IS NULL OR label = $1) ORDER BY loaded_at DESC LIMIT 1",
            1, params);
        if (!r)
                return NULL;
        if (PQntuples(r) == 0) {
                fprintf(stderr,
                        "%s: policy %s is not in PostgreSQL (patuhd stores "
                        "the one it loads at start); pass --policy FILE\n",
                        cmd, label ? label : "(any)");
                PQclear(r);
                return NULL;
        }
        char err[512];
        policy_t *p = policy_load_string(PQgetvalue(r, 0, 0),
                                         "PostgreSQL reference_docs policy",
                                         err, sizeof(err));
        if (!p)
                fprintf(stderr, "%s: %s\n", cmd, err);
        PQclear(r);
        return p;
}

calendar_t *pgread_calendar(const char *cmd, PGconn *pg)
{
        PGresult *r = pgread_query(cmd, pg,
                                   "SELECT doc FROM reference_docs WHERE "
                                   "kind = 'calendar' ORDER BY loaded_at DESC "
                                   "LIMIT 1",
                                   0, NULL);
        if (!r)
                return NULL;
        if (PQntuples(r) == 0) {
                fprintf(stderr, "%s: no calendar in PostgreSQL yet\n", cmd);
                PQclear(r);
                return NULL;
        }
        char err[512];
        calendar_t *c = calendar_load_string(PQgetvalue(r, 0, 0),
                                             "PostgreSQL reference_docs "
                                             "calendar",
                                             err, sizeof(err));
        if (!c)
                fprintf(stderr, "%s: %s\n", cmd, err);
        PQclear(r);
        return c;
}
