/*
 * replay — `patuh replay` (SPEC §6): the evaluator over files, no servers.
 *
 * Reads replay envelopes in arrival order, admits records exactly as the
 * live engine does (consumers/record.h), keeps every employee's state in
 * memory and fires decisions when the watermark (the greatest ts read so
 * far) passes their time; at the end of input every day closes.  Writes
 * violations.jsonl, revisions.jsonl, alerts.jsonl, tpp.jsonl and dlq.jsonl.
 */
#ifndef PATUH_REPLAY_H
#define PATUH_REPLAY_H

#include <stddef.h>
#include <stdio.h>

typedef struct replay_opts {
        const char *policy;
        const char *roster;
        const char *calendar;
        const char *const *events; /* files, read in this order */
        size_t n_events;
        const char *out_dir;
        FILE *table; /* readable table of the final
                        violations; NULL for none */
} replay_opts_t;

/* Counts a run reports (and tests read). */
typedef struct replay_stats {
        long long lines; /* non-blank input lines */
        long long accepted;
        long long duplicates;
        long long dead[8]; /* by dlq_reason_t */
        long long revisions;
        long long violations; /* distinct violation ids */
        long long active;     /* of which active at the end */
        long long alerts;
} replay_stats_t;

/* Returns 0 on success, 2 when the policy, roster or calendar is refused
 * (errstr names the file and field), 1 on an I/O failure. */
int replay_run(const replay_opts_t *o, replay_stats_t *stats, char *errstr,
               size_t errstr_size);

/* The one-line summary of a run ("3197 records, 2880 accepted, ...") that
 * `patuh replay` and `patuh backtest` print on stderr. */
void replay_format_summary(const replay_stats_t *st, char *buf, size_t n);

#endif
