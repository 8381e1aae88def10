/*
 * cli_live — the `patuh` subcommands that talk to the live stack:
 *   patuh produce --events FILE ...   replay envelopes to Kafka
 *   patuh violations [--format jsonl|table]   final violations from PostgreSQL
 * Both find the stack through PATUH_KAFKA_BOOTSTRAP / PATUH_PG_CONNINFO.
 */
#ifndef PATUH_CLI_LIVE_H
#define PATUH_CLI_LIVE_H

int cli_produce(int argc, char **argv);
int cli_violations(int argc, char **argv);

/* Headers patuh produce sets so that patuhd reads a replay file exactly as
 * `patuh replay` does: the envelope's ts to the nanosecond, or its
 * absence (the future check is then skipped, SPEC §6). */
#define PATUH_HDR_TS "patuh-ts"
#define PATUH_HDR_NO_TS "patuh-no-ts"
/* "RUN:N": the run of patuh produce (its start, µs since 1970) and the
 * record's place among the lines it sent, in decimal.  patuhd releases
 * the records in this order, the order replay reads them in
 * (engine/kin.h). */
#define PATUH_HDR_SEQ "patuh-seq"

#endif
