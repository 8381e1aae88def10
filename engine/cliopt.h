/*
 * cliopt — what the `patuh` subcommands share in reading their options.
 *
 * Nothing here allocates; messages go to stderr with the subcommand's
 * name, and the caller exits 2 (a bad argument).
 */
#ifndef PATUH_CLIOPT_H
#define PATUH_CLIOPT_H

/* V as an integer in [lo, hi] into *out: 0, or -1 after saying on stderr
 * "patuh CMD: NAME: expected an integer from LO to HI". */
int cliopt_int(const char *cmd, const char *name, const char *v, long lo,
               long hi, int *out) __attribute__((warn_unused_result));

#endif
