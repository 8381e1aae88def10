/*
 * patuhd — the live engine (see engine/live.h).
 *   patuhd --config FILE [--until-idle]
 *   patuhd --config FILE --check
 *   patuhd --print-config-doc
 */
#include "../rules/calendar.h"
#include "../rules/policy.h"
#include "../rules/roster.h"
#include "config.h"
#include "live.h"
#include "log.h"

#include <librdkafka/rdkafka.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
        fputs("usage: patuhd --config FILE [--until-idle]\n"
              "       patuhd --config FILE --check\n"
              "       patuhd --print-config-doc\n"
              "\n"
              "The live patuh engine: consumes patuh.presence, patuh.calls "
              "and\npatuh.excuses, keeps state in Redis, publishes to "
              "PostgreSQL and to\npatuh.violations, patuh.tpp, patuh.alerts "
              "and patuh.dlq.\n"
              "  --until-idle        exit 0 once every input partition is "
              "consumed to its\n                      end, every due "
              "decision has fired and every output is\n"
              "                      durable\n"
              "  --check             validate FILE and the policy, roster "
              "and calendar it\n                      names, print the "
              "effective configuration (secrets\n                      "
              "masked) and exit; connects to no server\n"
              "  --print-config-doc  print docs/configuration.md, the "
              "reference of every key\n"
              "Config: key = value lines (docs/configuration.md, "
              "deploy/patuhd.conf.sample);\nPATUH_KAFKA_BOOTSTRAP, "
              "PATUH_REDIS_URL and PATUH_PG_CONNINFO override the file.\n"
              "Exit status: 0 stopped cleanly (or --check passed), 2 "
              "refused configuration,\n1 failure.\n",
              f);
}

/* librdkafka's verdict on every pass-through kafka.<property>, before
 * anything connects.  Its own message is not used: for a bad value it
 * quotes the value, which may be a password. */
static bool check_kafka(const config_t *cfg, const char *path, char *err,
                        size_t n)
{
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        char why[512];
        bool ok = c != NULL;
        for (size_t i = 0; ok && i < cfg->n_kafka; i++)
                if (rd_kafka_conf_set(c, cfg->kafka[i].key, cfg->kafka[i].value,
                                      why, sizeof(why)) != RD_KAFKA_CONF_OK) {
                        snprintf(err, n,
                                 "config file %s: kafka.%s: librdkafka "
                                 "refuses it (unknown property or bad value)",
                                 path, cfg->kafka[i].key);
                        ok = false;
                }
        if (c)
                rd_kafka_conf_destroy(c);
        else
                snprintf(err, n, "out of memory");
        return ok;
}

/* --check: the reference files load as live_run would load them. */
static int check(const config_t *cfg, const char *path)
{
        char err[1024];
        policy_t *p = NULL;
        roster_t *r = NULL;
        calendar_t *c = NULL;
        int rc = 2;
        if ((p = policy_load(cfg->policy_file, err, sizeof(err))) &&
            (r = roster_load(cfg->roster_file, err, sizeof(err))) &&
            (c = calendar_load(cfg->calendar_file, err, sizeof(err)))) {
                config_print_effective(cfg, path, stdout);
                rc = fflush(stdout) == 0 ? 0 : 1;
        } else {
                fprintf(stderr, "patuhd: %s\n", err);
        }
        policy_free(p);
        roster_free(r);
        calendar_free(c);
        return rc;
}

int main(int argc, char **argv)
{
        /* SIGHUP's default would kill patuhd before the loop handles it
         * (while it stands by or restores: `systemctl reload` then), and a
         * peer that hangs up (a /metrics client, a Redis reset) must be an
         * error on that socket, not the end of the process */
        signal(SIGHUP, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
#ifdef __GLIBC__
        /* Blocks of 256 KiB and more straight from mmap, so that freeing
         * one gives it back.  glibc's default threshold rises with every
         * large block freed, after which the big tables patuhd grows by
         * doubling (the de-duplication sets, the batches' arrays) and
         * librdkafka's fetch buffers come from the heap, where the freed
         * halves stay resident: bench/live's peak RSS ~256 -> ~247 MB,
         * at the same speed. */
        mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
        const char *path = NULL;
        bool until_idle = false, check_only = false;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
                        path = argv[++i];
                } else if (strcmp(argv[i], "--until-idle") == 0) {
                        until_idle = true;
                } else if (strcmp(argv[i], "--check") == 0) {
                        check_only = true;
                } else if (strcmp(argv[i], "--print-config-doc") == 0) {
                        config_print_doc(stdout);
                        return fflush(stdout) == 0 ? 0 : 1;
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
        /* A refusal goes to stderr as a plain "patuhd: ..." line: the log
         * format is part of what was refused. */
        char err[1024];
        config_t *cfg = config_load(path, err, sizeof(err));
        if (!cfg || !check_kafka(cfg, path, err, sizeof(err))) {
                fprintf(stderr, "patuhd: %s\n", err);
                config_free(cfg);
                return 2;
        }
        if (check_only) {
                int rc = check(cfg, path);
                config_free(cfg);
                return rc;
        }
        /* both names passed config_load's check against the same lists */
        log_format_t format = LOG_FMT_TEXT;
        log_level_t level = LOG_LV_INFO;
        log_format_parse(cfg->log_format, &format);
        log_level_parse(cfg->log_level, &level);
        log_init(format, level);
        live_opts_t o = {cfg, path, until_idle};
        int rc = live_run(&o);
        config_free(cfg);
        return rc;
}
