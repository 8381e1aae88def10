/*
 * patuh — command-line entry point.  Subcommands:
 *   replay      run the evaluator over files (SPEC §6), no servers needed
 *   produce     send replay envelopes to Kafka (for patuhd)
 *   violations  print the final violations from PostgreSQL
 *   digest, payroll, discipline   the reports of SPEC §4.4
 *   backtest    the cost of a proposed policy against the one in force
 *   alerts      deliver supervisor alerts to a webhook or standard output
 *   topics      create the Kafka topics on a real cluster
 */
#include "cli_alerts.h"
#include "cli_backtest.h"
#include "cli_explain.h"
#include "cli_live.h"
#include "cli_reports.h"
#include "cli_topics.h"
#include "replay.h"

#include <stdio.h>
#include <string.h>

#define MAX_EVENTS 256

static void usage(FILE *f)
{
        fputs("usage: patuh replay --policy P --roster R --calendar C\n"
              "                    --events E [--events E2 ...] --out DIR "
              "[--table]\n"
              "\n"
              "Runs the patuh rule engine over files, without servers.\n"
              "Each events line is an envelope\n"
              "  {\"topic\":\"presence|calls|excuses\",\"ts\":\"...\","
              "\"value\":{...}}\n"
              "in arrival order.  Writes violations.jsonl (final state),\n"
              "revisions.jsonl, alerts.jsonl, tpp.jsonl and dlq.jsonl to "
              "DIR.  --table also prints the final violations and a\n"
              "per-unit summary (in Bahasa Indonesia) to standard output.\n"
              "\n"
              "Exit status: 0 done, 2 bad arguments or a refused policy,\n"
              "roster or calendar (the message names the file and field),\n"
              "1 an I/O error.\n"
              "\n"
              "       patuh produce --events FILE [--events FILE ...]\n"
              "         sends the envelopes' values to Kafka "
              "($PATUH_KAFKA_BOOTSTRAP)\n"
              "       patuh violations [--format jsonl|table] [--all]\n"
              "         prints the final violations from PostgreSQL "
              "($PATUH_PG_CONNINFO)\n"
              "       patuh digest (--date D | --from D --to D) [--unit U] "
              "[--format F]\n"
              "       patuh payroll --month YYYY-MM [--unit U] [--format F] "
              "[--close | --corrections]\n"
              "       patuh discipline --year YYYY [--unit U] [--employee E] "
              "[--format F]\n"
              "         the reports (daily digest, payroll month, discipline "
              "year) from\n"
              "         PostgreSQL, or from a replay's output "
              "(--digests/--violations FILE\n"
              "         --roster R --policy P); F = table|jsonl|csv|html\n"
              "       patuh explain VIOLATION_ID [--json]\n"
              "         why a violation was decided (evidence, rules, "
              "revisions)\n"
              "       patuh backtest --policy A --policy B --roster R "
              "--calendar C --events E ...\n"
              "                      [--month YYYY-MM] [--format "
              "table|jsonl|csv]\n"
              "         replays under both policies and prints per unit the "
              "violations,\n"
              "         violators and TPP deduction under A, under B, and B - "
              "A\n"
              "         (patuh backtest --help for the jsonl and csv rows)\n"
              "       patuh alerts --follow [--supervisor ID] [--webhook URL] "
              "[--prefix P] [--group G]\n"
              "         delivers the alerts of Kafka to supervisors "
              "(patuh alerts --help)\n"
              "       patuh topics create [--partitions N] "
              "[--replication-factor R] [--prefix P]\n"
              "                           [--bootstrap HOST:PORT]\n"
              "         creates the Kafka topics with their retention and "
              "compaction\n"
              "         (patuh topics --help)\n"
              "       patuhd --config FILE [--until-idle]   the live engine\n",
              f);
}

static int cmd_replay(int argc, char **argv)
{
        replay_opts_t o = {0};
        const char *events[MAX_EVENTS];
        for (int i = 0; i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                        usage(stdout);
                        return 0;
                }
                if (strcmp(a, "--table") == 0) {
                        o.table = stdout;
                        continue;
                }
                if (i + 1 >= argc) {
                        fprintf(stderr, "patuh replay: %s needs a value\n", a);
                        return 2;
                }
                const char *v = argv[++i];
                if (strcmp(a, "--policy") == 0) {
                        o.policy = v;
                } else if (strcmp(a, "--roster") == 0) {
                        o.roster = v;
                } else if (strcmp(a, "--calendar") == 0) {
                        o.calendar = v;
                } else if (strcmp(a, "--out") == 0) {
                        o.out_dir = v;
                } else if (strcmp(a, "--events") == 0) {
                        if (o.n_events == MAX_EVENTS) {
                                fprintf(stderr,
                                        "patuh replay: at most %d --events\n",
                                        MAX_EVENTS);
                                return 2;
                        }
                        events[o.n_events++] = v;
                } else {
                        fprintf(stderr, "patuh replay: unknown option %s\n", a);
                        usage(stderr);
                        return 2;
                }
        }
        const char *missing = !o.policy     ? "--policy"
                              : !o.roster   ? "--roster"
                              : !o.calendar ? "--calendar"
                              : !o.n_events ? "--events"
                              : !o.out_dir  ? "--out"
                                            : NULL;
        if (missing) {
                fprintf(stderr, "patuh replay: missing %s\n", missing);
                usage(stderr);
                return 2;
        }
        o.events = events;
        replay_stats_t st;
        char err[1024];
        int rc = replay_run(&o, &st, err, sizeof(err));
        if (rc != 0) {
                fprintf(stderr, "patuh replay: %s\n", err);
                return rc;
        }
        char summary[512];
        replay_format_summary(&st, summary, sizeof(summary));
        fprintf(stderr, "patuh replay: %s\n", summary);
        return 0;
}

int main(int argc, char **argv)
{
        if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
            strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
                usage(argc < 2 ? stderr : stdout);
                return argc < 2 ? 2 : 0;
        }
        if (strcmp(argv[1], "replay") == 0)
                return cmd_replay(argc - 2, argv + 2);
        if (strcmp(argv[1], "produce") == 0)
                return cli_produce(argc - 2, argv + 2);
        if (strcmp(argv[1], "violations") == 0)
                return cli_violations(argc - 2, argv + 2);
        if (strcmp(argv[1], "digest") == 0)
                return cli_digest(argc - 2, argv + 2);
        if (strcmp(argv[1], "payroll") == 0)
                return cli_payroll(argc - 2, argv + 2);
        if (strcmp(argv[1], "discipline") == 0)
                return cli_discipline(argc - 2, argv + 2);
        if (strcmp(argv[1], "explain") == 0)
                return cli_explain(argc - 2, argv + 2);
        if (strcmp(argv[1], "backtest") == 0)
                return cli_backtest(argc - 2, argv + 2);
        if (strcmp(argv[1], "alerts") == 0)
                return cli_alerts(argc - 2, argv + 2);
        if (strcmp(argv[1], "topics") == 0)
                return cli_topics(argc - 2, argv + 2);
        fprintf(stderr, "patuh: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return 2;
}
