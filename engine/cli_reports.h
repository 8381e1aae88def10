/*
 * cli_reports — the report commands of SPEC §4.4 for the people who use
 * patuh's decisions:
 *   patuh digest     daily digest per unit (agency heads, BKPSDM)
 *   patuh payroll    the month's TPP cuts per employee, with the cap;
 *                    --close locks a month, --corrections lists what
 *                    changed since (BKAD payroll)
 *   patuh discipline the year's discipline per employee (BKPSDM)
 *
 * Each reads PostgreSQL ($PATUH_PG_CONNINFO: the tables patuhd keeps), or
 * a replay's output with --digests / --violations plus --roster and
 * --policy, with no servers.  Both sources go through the same rules
 * (rules/sanction.h) and the same renderers (render.h).
 * Exit status: 0 (also for an empty result, which is said on stderr),
 * 2 bad arguments or input files, 1 a server or I/O failure.
 */
#ifndef PATUH_CLI_REPORTS_H
#define PATUH_CLI_REPORTS_H

int cli_digest(int argc, char **argv);
int cli_payroll(int argc, char **argv);
int cli_discipline(int argc, char **argv);

#endif
