#include "cliopt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int cliopt_int(const char *cmd, const char *name, const char *v, long lo,
               long hi, int *out)
{
        char *end;
        errno = 0;
        long x = strtol(v, &end, 10);
        if (errno || end == v || *end || x < lo || x > hi) {
                fprintf(stderr,
                        "patuh %s: %s: expected an integer from %ld to %ld\n",
                        cmd, name, lo, hi);
                return -1;
        }
        *out = (int)x;
        return 0;
}
