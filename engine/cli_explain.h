/*
 * cli_explain — `patuh explain VIOLATION_ID [--json]`: why a violation was
 * decided, for an auditor or an employee who objects.  Everything comes
 * from PostgreSQL, which keeps it after Redis has forgotten: the
 * violation and its revisions, the evidence records with their Kafka
 * coordinates (input_records), the roster, policy and calendar patuhd ran
 * with (refdata.h).  The day is explained by the same rule functions the
 * evaluator used (rules/eval.h), not by a second reading.
 * Exit status: 0, 2 for a malformed or unknown id, 1 a server failure.
 */
#ifndef PATUH_CLI_EXPLAIN_H
#define PATUH_CLI_EXPLAIN_H

int cli_explain(int argc, char **argv);

#endif
