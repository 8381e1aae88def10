#include "cli_topics.h"

#include "cliopt.h"

#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOPICS_MAX_KAFKA_PROPS 64
#define TOPICS_DEFAULT_PARTITIONS 4
#define TOPICS_DEFAULT_REPLICATION 3
#define TOPICS_DEFAULT_TIMEOUT_MS 30000

/* Retention, in ms (docs/operations.md, "Kafka topics", says why):
 * - presence, calls: 90 days.  A Redis rebuild re-reads the inputs from
 *   the earliest offset, and must find every record of every day still
 *   inside the amend horizon (35 days in the shipped policy) plus the 2
 *   days Redis keeps a key past it, with weeks left to notice a loss.
 * - excuses: 400 days.  A leave letter can be filed long before the days
 *   it covers and still decides them; the topic is tiny.
 * - tpp: 400 days.  Payroll reads its events monthly and corrections can
 *   come for any month of the year; each event is a delta, so compaction
 *   would lose money, not just history.
 * - alerts: 14 days.  `patuh alerts --follow` stopped over a long holiday
 *   still finds them; older ones are no longer news.
 * - dlq: 30 days for the operator to look at (PostgreSQL keeps them too).
 * The values are written out rather than computed so that what is sent to
 * the broker is exactly what this file shows. */
static const cli_topics_spec_t specs[] = {
    {"presence",
     "employee_id",
     {{"cleanup.policy", "delete"},
      {"retention.ms", "7776000000"}, /* 90 days */
      /* the Kafka timestamp is the arrival time patuhd reads; a broker
       * default of LogAppendTime would overwrite what patuh produce set */
      {"message.timestamp.type", "CreateTime"}}},
    {"calls",
     "callee_id",
     {{"cleanup.policy", "delete"},
      {"retention.ms", "7776000000"}, /* 90 days */
      {"message.timestamp.type", "CreateTime"}}},
    {"excuses",
     "employee_id",
     {{"cleanup.policy", "delete"},
      {"retention.ms", "34560000000"}, /* 400 days */
      {"message.timestamp.type", "CreateTime"}}},
    /* every revision of a violation has the same key: the latest wins,
     * and a reader at most 7 days behind still sees every revision */
    {"violations",
     "violation_id",
     {{"cleanup.policy", "compact"},
      {"min.compaction.lag.ms", "604800000"}}}, /* 7 days */
    {"tpp",
     "employee_id",
     {{"cleanup.policy", "delete"},
      {"retention.ms", "34560000000"}}}, /* 400 days */
    {"alerts",
     "supervisor_id",
     {{"cleanup.policy", "delete"},
      {"retention.ms", "1209600000"}}}, /* 14 days */
    /* keyed by unit (a unit's rows stay in order) but not compacted:
     * compaction by unit would keep one row per unit, an older day's
     * amended row perhaps, and drop every other day; a reader catching up
     * needs every (date, unit) row, and PostgreSQL (daily_digests) keeps
     * the history beyond the retention */
    {"digests",
     "unit_id",
     {{"cleanup.policy", "delete"},
      {"retention.ms", "7776000000"}}}, /* 90 days */
    {"dlq",
     "(none)",
     {{"cleanup.policy", "delete"},
      {"retention.ms", "2592000000"}}}, /* 30 days */
    /* group mode (docs/scale-out.md): no records, only its partitions,
     * which the instances' consumer group <kafka.group>.work shares out;
     * units are hashed over them, so their number is fixed once state
     * exists */
    {"work",
     "(no records)",
     {{"cleanup.policy", "delete"}, {"retention.ms", "86400000"}}}, /* 1 day */
};

const cli_topics_spec_t *cli_topics_specs(size_t *n)
{
        *n = sizeof(specs) / sizeof(specs[0]);
        return specs;
}

/* The command's options.  Strings point into argv or the environment. */
typedef struct topics_opts {
        const char *bootstrap;
        const char *prefix;
        int partitions;
        int replication;
        int timeout_ms;
        bool dry_run; /* print what would be created, touch nothing */
        const char *sandbox_control; /* the sandbox's control FIFO, or
                                        NULL: create through the Admin API */
        const char *kafka[TOPICS_MAX_KAFKA_PROPS]; /* --kafka NAME=VALUE */
        size_t n_kafka;
} topics_opts_t;

static void usage(FILE *f)
{
        fputs("usage: patuh topics create [--partitions N] "
              "[--replication-factor R]\n"
              "         [--prefix P] [--bootstrap HOST:PORT] "
              "[--kafka NAME=VALUE ...]\n"
              "         [--timeout-ms MS] [--dry-run] [--sandbox-control "
              "FIFO]\n"
              "  Creates patuh's Kafka topics with the settings they need:\n"
              "  <P>presence, <P>calls, <P>excuses (in) and <P>violations,\n"
              "  <P>tpp, <P>alerts, <P>digests, <P>dlq (out); P is --prefix,\n"
              "  else $PATUH_TOPIC_PREFIX, else \"patuh.\".  A topic that\n"
              "  exists is left as it is.  Defaults: 4 partitions,\n"
              "  replication factor 3, the bootstrap from\n"
              "  $PATUH_KAFKA_BOOTSTRAP.  --kafka passes a librdkafka\n"
              "  property (security.protocol, sasl.*); --dry-run prints the\n"
              "  topics and their configs without connecting.  The sandbox\n"
              "  (librdkafka's mock cluster) has no CreateTopics: give it\n"
              "  --sandbox-control $PATUH_SANDBOX_CONTROL (its FIFO), which\n"
              "  creates partitions only, no configs.\n"
              "  Exit status: 0 all created or existing, 1 a topic could\n"
              "  not be created, 2 bad arguments.\n",
              f);
}

/* A checked integer option in [lo, hi] (cliopt). */
static int int_option(const char *name, const char *v, long lo, long hi,
                      int *out)
{
        return cliopt_int("topics", name, v, lo, hi, out);
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(topics_opts_t *o, int argc, char **argv)
{
        const char *env = getenv("PATUH_KAFKA_BOOTSTRAP");
        o->bootstrap = env && *env ? env : NULL;
        env = getenv("PATUH_TOPIC_PREFIX");
        o->prefix = env && *env ? env : "patuh.";
        o->partitions = TOPICS_DEFAULT_PARTITIONS;
        o->replication = TOPICS_DEFAULT_REPLICATION;
        o->timeout_ms = TOPICS_DEFAULT_TIMEOUT_MS;
        if (argc == 0 || strcmp(argv[0], "--help") == 0 ||
            strcmp(argv[0], "-h") == 0) {
                usage(argc == 0 ? stderr : stdout);
                return argc == 0 ? 2 : 0;
        }
        if (strcmp(argv[0], "create") != 0) {
                fprintf(stderr,
                        "patuh topics: unknown action '%s' (only create)\n",
                        argv[0]);
                usage(stderr);
                return 2;
        }
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                        usage(stdout);
                        return 0;
                }
                if (strcmp(a, "--dry-run") == 0) {
                        o->dry_run = true;
                        continue;
                }
                static const char *const valued[] = {
                    "--partitions",     "--replication-factor",
                    "--prefix",         "--bootstrap",
                    "--kafka",          "--timeout-ms",
                    "--sandbox-control"};
                bool known = false;
                for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++)
                        known = known || strcmp(a, valued[k]) == 0;
                if (!known) {
                        fprintf(stderr, "patuh topics: unknown option %s\n", a);
                        usage(stderr);
                        return 2;
                }
                /* an empty prefix is a choice (bare topic names) */
                if (i + 1 >= argc ||
                    (!*argv[i + 1] && strcmp(a, "--prefix") != 0)) {
                        fprintf(stderr, "patuh topics: %s needs a value\n", a);
                        return 2;
                }
                const char *v = argv[++i];
                if (strcmp(a, "--partitions") == 0) {
                        if (int_option(a, v, 1, 10000, &o->partitions) != 0)
                                return 2;
                } else if (strcmp(a, "--replication-factor") == 0) {
                        if (int_option(a, v, 1, 32, &o->replication) != 0)
                                return 2;
                } else if (strcmp(a, "--timeout-ms") == 0) {
                        if (int_option(a, v, 100, 600000, &o->timeout_ms) != 0)
                                return 2;
                } else if (strcmp(a, "--prefix") == 0) {
                        o->prefix = v;
                } else if (strcmp(a, "--bootstrap") == 0) {
                        o->bootstrap = v;
                } else if (strcmp(a, "--sandbox-control") == 0) {
                        o->sandbox_control = v;
                } else {
                        const char *eq = strchr(v, '=');
                        if (!eq || eq == v ||
                            o->n_kafka == TOPICS_MAX_KAFKA_PROPS) {
                                fprintf(stderr,
                                        "patuh topics: --kafka: expected "
                                        "NAME=VALUE (at most %d)\n",
                                        TOPICS_MAX_KAFKA_PROPS);
                                return 2;
                        }
                        o->kafka[o->n_kafka++] = v;
                }
        }
        if (strlen(o->prefix) > 200) {
                fprintf(stderr, "patuh topics: --prefix: longer than 200 "
                                "characters\n");
                return 2;
        }
        if (!o->bootstrap && !o->dry_run) {
                fprintf(stderr, "patuh topics: no Kafka: set "
                                "PATUH_KAFKA_BOOTSTRAP (eval \"$(deploy/stack "
                                "env)\") or --bootstrap\n");
                return 2;
        }
        return -1;
}

/* With three replicas or more, a write is acknowledged by two of them
 * (patuhd's producer is idempotent, acks=all): one broker may be down
 * without stopping patuhd or losing an acknowledged decision.  With fewer,
 * the broker default (1) is the only value that lets writes go on. */
static const char *min_insync(int replication)
{
        return replication >= 3 ? "2" : NULL;
}

static void print_plan(const topics_opts_t *o)
{
        size_t n;
        const cli_topics_spec_t *s = cli_topics_specs(&n);
        for (size_t i = 0; i < n; i++) {
                printf("%s%s partitions=%d replication.factor=%d key=%s",
                       o->prefix, s[i].suffix, o->partitions, o->replication,
                       s[i].key);
                for (size_t c = 0;
                     c < CLI_TOPICS_MAX_CONFIGS && s[i].configs[c].name; c++)
                        printf(" %s=%s", s[i].configs[c].name,
                               s[i].configs[c].value);
                if (min_insync(o->replication))
                        printf(" min.insync.replicas=%s",
                               min_insync(o->replication));
                putchar('\n');
        }
}

/* The client: bootstrap and --kafka properties.  NULL with errstr set;
 * errstr never repeats a property's value (it may be a password). */
static rd_kafka_t *new_client(const topics_opts_t *o, char *errstr,
                              size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char err[256];
        if (rd_kafka_conf_set(conf, "bootstrap.servers", o->bootstrap, err,
                              sizeof(err)) != RD_KAFKA_CONF_OK) {
                snprintf(errstr, errstr_size, "--bootstrap: %s", err);
                goto out_conf;
        }
        for (size_t i = 0; i < o->n_kafka; i++) {
                const char *eq = strchr(o->kafka[i], '=');
                char name[256];
                snprintf(name, sizeof(name), "%.*s", (int)(eq - o->kafka[i]),
                         o->kafka[i]);
                if (rd_kafka_conf_set(conf, name, eq + 1, err, sizeof(err)) !=
                    RD_KAFKA_CONF_OK) {
                        snprintf(errstr, errstr_size,
                                 "--kafka %s: librdkafka refuses this "
                                 "property or its value",
                                 name);
                        goto out_conf;
                }
        }
        rd_kafka_t *rk =
            rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!rk) {
                snprintf(errstr, errstr_size, "%s", err);
                goto out_conf;
        }
        return rk; /* rd_kafka_new took conf */
out_conf:
        rd_kafka_conf_destroy(conf);
        return NULL;
}

/* Which of patuh's topics the cluster has: exists[i] and, when it does,
 * parts[i] its partition count.  Asks for every topic rather than for
 * ours, because a metadata request naming a missing topic makes a broker
 * with auto-creation on (and the sandbox) create it with its defaults.
 * Returns 0, or -1 with errstr. */
static int existing_topics(rd_kafka_t *rk, const topics_opts_t *o, bool *exists,
                           int *parts, char *errstr, size_t errstr_size)
{
        size_t n;
        const cli_topics_spec_t *s = cli_topics_specs(&n);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t err =
            rd_kafka_metadata(rk, 1, NULL, &md, o->timeout_ms);
        if (err) {
                snprintf(errstr, errstr_size,
                         "cannot read the topics of %s: %s", o->bootstrap,
                         rd_kafka_err2str(err));
                return -1;
        }
        for (size_t i = 0; i < n; i++) {
                char name[256];
                snprintf(name, sizeof(name), "%s%s", o->prefix, s[i].suffix);
                exists[i] = false;
                for (int t = 0; t < md->topic_cnt; t++)
                        if (strcmp(md->topics[t].topic, name) == 0 &&
                            md->topics[t].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                                exists[i] = true;
                                parts[i] = md->topics[t].partition_cnt;
                        }
        }
        rd_kafka_metadata_destroy(md);
        return 0;
}

/* Builds the NewTopic objects of the topics not in exists[] into nt
 * (caller destroys them), their spec index in idx; sets *cnt.  -1 with
 * errstr naming the topic. */
static int new_topics(const topics_opts_t *o, const bool *exists,
                      rd_kafka_NewTopic_t **nt, size_t *idx, size_t *cnt,
                      char *errstr, size_t errstr_size)
{
        size_t n;
        const cli_topics_spec_t *s = cli_topics_specs(&n);
        *cnt = 0;
        for (size_t i = 0; i < n; i++) {
                if (exists[i])
                        continue;
                char name[256], err[256];
                snprintf(name, sizeof(name), "%s%s", o->prefix, s[i].suffix);
                rd_kafka_NewTopic_t *t = rd_kafka_NewTopic_new(
                    name, o->partitions, o->replication, err, sizeof(err));
                if (!t) {
                        snprintf(errstr, errstr_size, "%s: %s", name, err);
                        return -1;
                }
                nt[*cnt] = t;
                idx[(*cnt)++] = i;
                for (size_t c = 0;
                     c < CLI_TOPICS_MAX_CONFIGS && s[i].configs[c].name; c++)
                        if (rd_kafka_NewTopic_set_config(
                                t, s[i].configs[c].name,
                                s[i].configs[c].value)) {
                                snprintf(errstr, errstr_size, "%s: config %s",
                                         name, s[i].configs[c].name);
                                return -1;
                        }
                const char *mir = min_insync(o->replication);
                if (mir && rd_kafka_NewTopic_set_config(
                               t, "min.insync.replicas", mir)) {
                        snprintf(errstr, errstr_size,
                                 "%s: config min.insync.replicas", name);
                        return -1;
                }
        }
        return 0;
}

/* The Admin API: one CreateTopics request for the missing topics, each
 * answer reported.  Returns the number of topics not created. */
static size_t admin_create(rd_kafka_t *rk, const topics_opts_t *o,
                           rd_kafka_NewTopic_t **nt, const size_t *idx,
                           size_t cnt, size_t *created, size_t *existing)
{
        char errstr[1024];
        size_t failed = cnt;
        rd_kafka_AdminOptions_t *opts =
            rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
        /* the request timeout bounds an unreachable controller; the
         * operation timeout makes the controller answer only once the
         * topics exist on the brokers, so that patuhd started right after
         * finds every partition */
        if (rd_kafka_AdminOptions_set_request_timeout(opts, o->timeout_ms,
                                                      errstr, sizeof(errstr)) ||
            rd_kafka_AdminOptions_set_operation_timeout(
                opts, o->timeout_ms, errstr, sizeof(errstr))) {
                fprintf(stderr, "patuh topics: %s\n", errstr);
                rd_kafka_AdminOptions_destroy(opts);
                return failed;
        }
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_CreateTopics(rk, nt, cnt, opts, q);
        /* the request times out by itself; this wait is only a backstop */
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, o->timeout_ms + 10000);
        if (!ev || rd_kafka_event_error(ev)) {
                /* the whole request failed: none of them was created */
                for (size_t i = 0; i < cnt; i++)
                        fprintf(stderr, "patuh topics: %s%s: %s\n", o->prefix,
                                specs[idx[i]].suffix,
                                ev ? rd_kafka_event_error_string(ev)
                                   : "no answer from the cluster");
                goto out;
        }
        const rd_kafka_CreateTopics_result_t *res =
            rd_kafka_event_CreateTopics_result(ev);
        size_t nres = 0;
        const rd_kafka_topic_result_t **tr =
            res ? rd_kafka_CreateTopics_result_topics(res, &nres) : NULL;
        for (size_t i = 0; i < nres; i++) {
                const char *name = rd_kafka_topic_result_name(tr[i]);
                rd_kafka_resp_err_t err = rd_kafka_topic_result_error(tr[i]);
                if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
                        printf("%s: created (%d partitions, replication "
                               "factor %d)\n",
                               name, o->partitions, o->replication);
                        (*created)++;
                        failed--;
                } else if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                        /* created by someone else since we looked */
                        printf("%s: exists (left as it is)\n", name);
                        (*existing)++;
                        failed--;
                } else {
                        const char *detail =
                            rd_kafka_topic_result_error_string(tr[i]);
                        fprintf(stderr, "patuh topics: %s: %s%s%s\n", name,
                                rd_kafka_err2str(err), detail ? ": " : "",
                                detail ? detail : "");
                }
        }
        if (nres != cnt)
                fprintf(stderr,
                        "patuh topics: the cluster answered for %zu of %zu "
                        "topics\n",
                        nres, cnt);
out:
        if (ev)
                rd_kafka_event_destroy(ev);
        rd_kafka_queue_destroy(q);
        rd_kafka_AdminOptions_destroy(opts);
        return failed;
}

/* The sandbox (librdkafka's mock cluster) has no CreateTopics: its
 * control FIFO creates a topic with partitions and replicas, and keeps no
 * topic configs (nothing there compacts or expires).  The commands go
 * down the FIFO, then the metadata is read until every topic is there.
 * Returns the number of topics not created. */
static size_t sandbox_create(rd_kafka_t *rk, const topics_opts_t *o,
                             bool *exists, int *parts, size_t *created)
{
        size_t n, failed = 0;
        const cli_topics_spec_t *s = cli_topics_specs(&n);
        char errstr[1024];
        int fd = open(o->sandbox_control, O_WRONLY | O_NONBLOCK);
        if (fd < 0) {
                fprintf(stderr,
                        "patuh topics: --sandbox-control %s: %s (is the "
                        "sandbox running?)\n",
                        o->sandbox_control, strerror(errno));
                for (size_t i = 0; i < n; i++)
                        failed += !exists[i];
                return failed;
        }
        bool want[sizeof(specs) / sizeof(specs[0])];
        for (size_t i = 0; i < n; i++) {
                want[i] = !exists[i];
                if (!want[i])
                        continue;
                char line[512];
                int len = snprintf(line, sizeof(line), "topic %s%s %d %d\n",
                                   o->prefix, s[i].suffix, o->partitions,
                                   o->replication);
                /* one line is far below PIPE_BUF: written whole or not */
                if (write(fd, line, (size_t)len) != len) {
                        fprintf(stderr,
                                "patuh topics: %s%s: cannot write to "
                                "the sandbox control FIFO: %s\n",
                                o->prefix, s[i].suffix, strerror(errno));
                        want[i] = false;
                        failed++;
                }
        }
        close(fd);
        /* wait until every topic asked for shows in the metadata */
        for (int waited = 0;; waited += 100) {
                if (existing_topics(rk, o, exists, parts, errstr,
                                    sizeof(errstr)) != 0) {
                        fprintf(stderr, "patuh topics: %s\n", errstr);
                        break;
                }
                bool all = true;
                for (size_t i = 0; i < n; i++)
                        all = all && (!want[i] || exists[i]);
                if (all || waited >= o->timeout_ms)
                        break;
                poll(NULL, 0, 100);
        }
        for (size_t i = 0; i < n; i++) {
                if (!want[i])
                        continue;
                if (exists[i]) {
                        printf("%s%s: created in the sandbox (%d "
                               "partitions)\n",
                               o->prefix, s[i].suffix, parts[i]);
                        (*created)++;
                } else {
                        fprintf(stderr,
                                "patuh topics: %s%s: the sandbox did not "
                                "create it (see its log)\n",
                                o->prefix, s[i].suffix);
                        failed++;
                }
        }
        if (*created)
                fprintf(stderr, "patuh topics: the sandbox keeps no topic "
                                "configs: cleanup.policy and retention.ms "
                                "apply on a real cluster only\n");
        return failed;
}

/* Looks at what exists, creates the rest, reports every topic.  Returns
 * the exit status. */
static int create_all(const topics_opts_t *o)
{
        char errstr[1024];
        size_t n;
        (void)cli_topics_specs(&n);
        rd_kafka_NewTopic_t *nt[sizeof(specs) / sizeof(specs[0])] = {0};
        size_t idx[sizeof(specs) / sizeof(specs[0])], cnt = 0;
        bool exists[sizeof(specs) / sizeof(specs[0])];
        int parts[sizeof(specs) / sizeof(specs[0])];
        size_t created = 0, existing = 0, failed = 0;
        int rc = 1;
        rd_kafka_t *rk = new_client(o, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "patuh topics: %s\n", errstr);
                return 2;
        }
        if (existing_topics(rk, o, exists, parts, errstr, sizeof(errstr))) {
                fprintf(stderr,
                        "patuh topics: %s; no topic created (%s%s "
                        "and the others)\n",
                        errstr, o->prefix, specs[0].suffix);
                goto out_client;
        }
        for (size_t i = 0; i < n; i++) {
                if (!exists[i])
                        continue;
                /* left as it is: its partitions and configs may have been
                 * changed on purpose since; a different count is said */
                if (parts[i] != o->partitions)
                        printf("%s%s: exists (left as it is; %d partitions, "
                               "not %d)\n",
                               o->prefix, specs[i].suffix, parts[i],
                               o->partitions);
                else
                        printf("%s%s: exists (left as it is)\n", o->prefix,
                               specs[i].suffix);
                existing++;
        }
        if (o->sandbox_control) {
                failed = sandbox_create(rk, o, exists, parts, &created);
        } else if (existing < n) {
                if (new_topics(o, exists, nt, idx, &cnt, errstr,
                               sizeof(errstr)) != 0) {
                        fprintf(stderr, "patuh topics: %s\n", errstr);
                        rc = 2;
                        goto out_topics;
                }
                failed = admin_create(rk, o, nt, idx, cnt, &created, &existing);
        }
        fprintf(stderr, "patuh topics: %zu created, %zu existing, %zu failed\n",
                created, existing, failed);
        rc = failed ? 1 : 0;
out_topics:
        for (size_t i = 0; i < cnt; i++)
                rd_kafka_NewTopic_destroy(nt[i]);
out_client:
        rd_kafka_destroy(rk);
        return rc;
}

int cli_topics(int argc, char **argv)
{
        topics_opts_t o;
        memset(&o, 0, sizeof(o));
        int rc = parse_args(&o, argc, argv);
        if (rc >= 0)
                return rc;
        if (o.dry_run) {
                print_plan(&o);
                return 0;
        }
        return create_all(&o);
}
