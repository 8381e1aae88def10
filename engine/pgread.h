/*
 * pgread — what the report commands read back from PostgreSQL: a
 * connection from $PATUH_PG_CONNINFO, parameterized queries, and the
 * reference data patuhd published (refdata.h) loaded again through the
 * ordinary loaders, so a report sees exactly the roster, policy and
 * calendar the engine ran with.  Every failure is said on stderr,
 * prefixed with the command's name (`cmd`); none prints the conninfo.
 */
#ifndef PATUH_PGREAD_H
#define PATUH_PGREAD_H

#include "../rules/calendar.h"
#include "../rules/policy.h"
#include "../rules/roster.h"

#include <libpq-fe.h>

/* NULL (said) when PATUH_PG_CONNINFO is unset or the server is down. */
PGconn *pgread_open(const char *cmd);

/* A parameterized query (text parameters, NULL = SQL null); NULL (said)
 * on failure.  The caller PQclear()s the result. */
PGresult *pgread_query(const char *cmd, PGconn *pg, const char *sql, int n,
                       const char *const *params);

/* The employees table as a roster; an employee who left the roster reads
 * as inactive, so old violations keep a name.  Caller frees. */
roster_t *pgread_roster(const char *cmd, PGconn *pg);

/* The policy with that label ("id/version"), or the one loaded last when
 * label is NULL.  Caller frees. */
policy_t *pgread_policy(const char *cmd, PGconn *pg, const char *label);

/* The calendar loaded last.  Caller frees. */
calendar_t *pgread_calendar(const char *cmd, PGconn *pg);

#endif
