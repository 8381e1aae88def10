/*
 * patuhd — the live engine (see engine/live.h).
 *   patuhd --config FILE [--until-idle]
 */
#include "config.h"
#include "live.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
        fputs("usage: patuhd --config FILE [--until-idle]\n"
              "\n"
              "The live patuh engine: consumes patuh.presence, patuh.calls "
              "and\npatuh.excuses, keeps state in Redis, publishes to "
              "PostgreSQL and to\npatuh.violations, patuh.tpp, patuh.alerts "
              "and patuh.dlq.\n"
              "  --until-idle  exit 0 once every input partition is consumed "
              "to its end,\n                every due decision has fired and "
              "every output is durable\n"
              "Config: key = value lines (deploy/patuhd.conf.sample); "
              "PATUH_KAFKA_BOOTSTRAP,\nPATUH_REDIS_URL and PATUH_PG_CONNINFO "
              "override the file.\n"
              "Exit status: 0 stopped cleanly, 2 refused configuration, 1 "
              "failure.\n",
              f);
}

int main(int argc, char **argv)
{
        const char *path = NULL;
        bool until_idle = false;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
                        path = argv[++i];
                } else if (strcmp(argv[i], "--until-idle") == 0) {
                        until_idle = true;
                } else if (strcmp(argv[i], "--help") == 0) {
                        usage(stdout);
                        return 0;
                } else {
                        usage(stderr);
                        return 2;
                }
        }
        if (!path) {
                usage(stderr);
                return 2;
        }
        char err[1024];
        config_t *cfg = config_load(path, err, sizeof(err));
        if (!cfg) {
                fprintf(stderr, "patuhd: %s\n", err);
                return 2;
        }
        live_opts_t o = {cfg, until_idle};
        int rc = live_run(&o);
        config_free(cfg);
        return rc;
}
