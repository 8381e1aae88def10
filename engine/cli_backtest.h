/*
 * cli_backtest — `patuh backtest`: what a new TPP table (a Perwali not yet
 * signed) would cost, before it is signed.
 *
 * Replays the same roster, calendar and events under two policies, A (in
 * force) and B (proposed), each run into its own temporary directory
 * (removed afterwards), and prints per unit and for the whole city the
 * active violations, the distinct violators and the TPP deduction under
 * each policy, and B − A.  The deduction is the payroll month of SPEC
 * §4.4 (rules/sanction.h, with each policy's own monthly cap), summed
 * over the months reported.
 *
 * Exit status: 0 done, 2 bad arguments or a refused policy, roster or
 * calendar (replay's message, naming the file and field), 1 an I/O error.
 */
#ifndef PATUH_CLI_BACKTEST_H
#define PATUH_CLI_BACKTEST_H

int cli_backtest(int argc, char **argv);

#endif
