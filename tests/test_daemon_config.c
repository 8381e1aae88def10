/*
 * test_daemon_config — patuhd's `key = value` configuration
 * (engine/config.h): defaults, every key, the PATUH_* variables that
 * default and override the connection settings, the librdkafka
 * pass-through, and refusals that name the file, the line and the key but
 * never a value: a PostgreSQL password in pg.conninfo (or in the
 * environment) appears in no message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../engine/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define SECRET "s3cr3t-Pw0rd"
#define REFS                                                                   \
        "policy.file = /etc/patuh/policy.json\n"                               \
        "roster.file = /etc/patuh/roster.jsonl\n"                              \
        "calendar.file = /etc/patuh/calendar.json\n"
#define CONNS                                                                  \
        "kafka.bootstrap = broker1:9092,broker2:9092\n"                        \
        "redis.url = redis://10.0.0.5:6380/2\n"                                \
        "pg.conninfo = host=db port=5432 dbname=patuh user=patuhd "            \
        "password=" SECRET "\n"
#define ENV_PG "host=127.0.0.1 port=5447 user=t password=" SECRET

static const char *const env_names[] = {"PATUH_KAFKA_BOOTSTRAP",
                                        "PATUH_REDIS_URL", "PATUH_PG_CONNINFO"};

/* A file the engine accepts, and what it reads from it. */
struct cfg_case {
        const char *name;
        const char *text;
        const char *env[3]; /* PATUH_KAFKA_BOOTSTRAP, _REDIS_URL,
                               _PG_CONNINFO; NULL: unset */
        const char *policy, *bootstrap, *group, *prefix, *redis, *pg;
        long max_records, max_ms;
        const char *kafka; /* pass-through "key=value;..." */
};

static const struct cfg_case cases[] = {
    /* the three reference files and the stack's variables: defaults */
    {"env only",
     REFS,
     {"127.0.0.1:9092", "redis://127.0.0.1:6390/0", ENV_PG},
     "/etc/patuh/policy.json",
     "127.0.0.1:9092",
     "patuhd",
     "patuh.",
     "redis://127.0.0.1:6390/0",
     ENV_PG,
     10000,
     50,
     ""},
    /* every key from the file */
    {"file only",
     REFS CONNS "kafka.group = patuhd-kota\n"
                "kafka.topic_prefix = bpp.\n"
                "batch.max_records = 500\n"
                "batch.max_ms = 20\n"
                "kafka.security.protocol = SASL_SSL\n"
                "kafka.sasl.password = " SECRET "\n",
     {NULL, NULL, NULL},
     "/etc/patuh/policy.json",
     "broker1:9092,broker2:9092",
     "patuhd-kota",
     "bpp.",
     "redis://10.0.0.5:6380/2",
     "host=db port=5432 dbname=patuh user=patuhd password=" SECRET,
     500,
     20,
     "security.protocol=SASL_SSL;sasl.password=" SECRET ";"},
    /* the variables override the file (connection settings only) */
    {"env overrides file",
     REFS CONNS "kafka.group = g1\n",
     {"k:1", "redis://127.0.0.1:1/3", "host=x"},
     "/etc/patuh/policy.json",
     "k:1",
     "g1",
     "patuh.",
     "redis://127.0.0.1:1/3",
     "host=x",
     10000,
     50,
     ""},
    /* an empty variable is no override */
    {"empty env",
     REFS CONNS,
     {"", "", ""},
     "/etc/patuh/policy.json",
     "broker1:9092,broker2:9092",
     "patuhd",
     "patuh.",
     "redis://10.0.0.5:6380/2",
     "host=db port=5432 dbname=patuh user=patuhd password=" SECRET,
     10000,
     50,
     ""},
    /* layout: comments, blank lines, tabs, CRLF, spaces around '=', a value
     * holding '=' and '#', the last of a repeated key */
    {"layout",
     "# patuhd\r\n\r\n  \t\r\n"
     "\tpolicy.file\t=\t/p.json \r\n"
     "roster.file=/r.jsonl\n"
     "calendar.file =/c.json\n"
     "   # indented comment\n"
     "kafka.bootstrap = a:1\n"
     "kafka.bootstrap = b:2\n"
     "redis.url = redis://h\n"
     "pg.conninfo = host=h options='-c x=y' application_name=#1\n"
     "batch.max_records = 1\n"
     "batch.max_ms = 60000\n",
     {NULL, NULL, NULL},
     "/p.json",
     "b:2",
     "patuhd",
     "patuh.",
     "redis://h",
     "host=h options='-c x=y' application_name=#1",
     1,
     60000,
     ""},
    {"batch upper bounds",
     REFS CONNS "batch.max_records = 1000000\n",
     {NULL, NULL, NULL},
     "/etc/patuh/policy.json",
     "broker1:9092,broker2:9092",
     "patuhd",
     "patuh.",
     "redis://10.0.0.5:6380/2",
     "host=db port=5432 dbname=patuh user=patuhd password=" SECRET,
     1000000,
     50,
     ""},

};

/* A file the engine refuses: the message names the file, the line and
 * the key, and holds no value. */
struct refuse_case {
        const char *name;
        const char *text;
        const char *env[3];
        const char *error; /* part of the message */
};

static const struct refuse_case refusals[] = {
    /* refusals: file, line and key named, no value */
    {"unknown key",
     REFS CONNS "batch.max_record = 10\n",
     {NULL, NULL, NULL},
     "line 7: unknown key 'batch.max_record'"},
    {"kafka. alone",
     REFS CONNS "kafka. = x\n",
     {NULL, NULL, NULL},
     "line 7: unknown key 'kafka.'"},
    {"no equals",
     REFS "kafka.bootstrap broker:9092\n" CONNS,
     {NULL, NULL, NULL},
     "line 4: expected 'key = value'"},
    {"empty value",
     REFS CONNS "kafka.group =\n",
     {NULL, NULL, NULL},
     "line 7: kafka.group: empty value"},
    {"empty policy",
     "policy.file = \n" REFS CONNS,
     {NULL, NULL, NULL},
     "line 1: policy.file: empty value"},
    {"records 0",
     REFS CONNS "batch.max_records = 0\n",
     {NULL, NULL, NULL},
     "line 7: batch.max_records: expected an integer between 1 and 1000000"},
    {"records too many",
     REFS CONNS "batch.max_records = 1000001\n",
     {NULL, NULL, NULL},
     "line 7: batch.max_records: expected an integer between 1 and 1000000"},
    {"records 10k",
     REFS CONNS "batch.max_records = 10k\n",
     {NULL, NULL, NULL},
     "line 7: batch.max_records: expected an integer between 1 and 1000000"},
    {"records negative",
     REFS CONNS "batch.max_records = -5\n",
     {NULL, NULL, NULL},
     "line 7: batch.max_records: expected an integer between 1 and 1000000"},
    {"ms too long",
     REFS CONNS "batch.max_ms = 60001\n",
     {NULL, NULL, NULL},
     "line 7: batch.max_ms: expected an integer between 1 and 60000"},
    {"ms not a number",
     REFS CONNS "batch.max_ms = soon\n",
     {NULL, NULL, NULL},
     "line 7: batch.max_ms: expected an integer between 1 and 60000"},
    {"no policy",
     "roster.file = /r\ncalendar.file = /c\n" CONNS,
     {NULL, NULL, NULL},
     "missing policy.file"},
    {"no roster",
     "policy.file = /p\ncalendar.file = /c\n" CONNS,
     {NULL, NULL, NULL},
     "missing roster.file"},
    {"no calendar",
     "policy.file = /p\nroster.file = /r\n" CONNS,
     {NULL, NULL, NULL},
     "missing calendar.file"},
    {"no kafka",
     REFS "redis.url = redis://h/0\n",
     {NULL, NULL, ENV_PG},
     "missing kafka.bootstrap (or PATUH_KAFKA_BOOTSTRAP)"},
    {"no redis",
     REFS,
     {"k:1", NULL, ENV_PG},
     "missing redis.url (or PATUH_REDIS_URL)"},
    {"no pg",
     REFS,
     {"k:1", "redis://h/0", NULL},
     "missing pg.conninfo (or PATUH_PG_CONNINFO)"},
    {"empty file", "", {"k:1", "redis://h/0", ENV_PG}, "missing policy.file"},
    {"redis url",
     REFS CONNS "redis.url = localhost:6379\n",
     {NULL, NULL, NULL},
     "redis.url: expected redis://host:port/db"},
    /* a password in the Redis URL is not echoed either */
    {"redis url with password",
     REFS CONNS "redis.url = redis://:" SECRET "@10.0.0.5:6380/2\n",
     {NULL, NULL, NULL},
     "redis.url: expected redis://host:port/db"},
    {"redis url from env",
     REFS CONNS,
     {NULL, "redis://10.0.0.5:" SECRET "/0", NULL},
     "redis.url: expected redis://host:port/db"},
    /* the password's own line, mistyped */
    {"conninfo without ' = '",
     REFS "pg.conninfo password=" SECRET " host=db\n",
     {NULL, NULL, NULL},
     "line 4: unknown key 'pg.conninfo password'"},
    {"conninfo key misspelt",
     REFS "pg.conninf = password=" SECRET "\n",
     {NULL, NULL, NULL},
     "line 4: unknown key 'pg.conninf'"},
    {"password alone",
     REFS SECRET "\n",
     {NULL, NULL, NULL},
     "line 4: expected 'key = value'"},
    {"metrics.listen without a port",
     REFS CONNS "metrics.listen = 127.0.0.1\n",
     {NULL, NULL, NULL},
     "line 7: metrics.listen: expected host:port, [address]:port, :port or "
     "off"},
    {"metrics.listen port 0",
     REFS CONNS "metrics.listen = 127.0.0.1:0\n",
     {NULL, NULL, NULL},
     "line 7: metrics.listen: expected host:port"},
    {"metrics.listen v6 without brackets",
     REFS CONNS "metrics.listen = ::1:9187\n",
     {NULL, NULL, NULL},
     "line 7: metrics.listen: expected host:port"},
    {"password as batch size",
     REFS CONNS "batch.max_ms = " SECRET "\n",
     {NULL, NULL, NULL},
     "line 7: batch.max_ms: expected an integer between 1 and 60000"},
};

static void set_env(const char *const env[3])
{
        for (size_t i = 0; i < 3; i++)
                if (env[i])
                        setenv(env_names[i], env[i], 1);
                else
                        unsetenv(env_names[i]);
}

static void kafka_list(const config_t *c, char *buf, size_t n)
{
        size_t k = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < c->n_kafka && k < n; i++)
                k += (size_t)snprintf(buf + k, n - k, "%s=%s;", c->kafka[i].key,
                                      c->kafka[i].value);
}

/* Writes text to a fresh file under /tmp; path receives its name. */
static void write_conf(const char *text, char path[32])
{
        snprintf(path, 32, "/tmp/patuhd-conf-XXXXXX");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        size_t len = strlen(text);
        assert_int_equal(write(fd, text, len), (ssize_t)len);
        close(fd);
}

static void test_accepted(void **state)
{
        (void)state;
        int failures = 0;
        for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
                const struct cfg_case *t = &cases[i];
                char path[32], err[1024] = "";
                write_conf(t->text, path);
                set_env(t->env);
                config_t *c = config_load(path, err, sizeof(err));
                unlink(path);
                if (!c) {
                        print_error("%s: refused: %s\n", t->name, err);
                        failures++;
                        continue;
                }
                char kv[512];
                kafka_list(c, kv, sizeof(kv));
                const char *bad =
                    strcmp(c->policy_file, t->policy) ? "policy.file"
                    : strcmp(c->kafka_bootstrap, t->bootstrap)
                        ? "kafka.bootstrap"
                    : strcmp(c->kafka_group, t->group)   ? "kafka.group"
                    : strcmp(c->topic_prefix, t->prefix) ? "kafka.topic_prefix"
                    : strcmp(c->redis_url, t->redis)     ? "redis.url"
                    : strcmp(c->pg_conninfo, t->pg)      ? "pg.conninfo"
                    : c->batch_max_records != t->max_records
                        ? "batch.max_records"
                    : c->batch_max_ms != t->max_ms ? "batch.max_ms"
                    : strcmp(kv, t->kafka)         ? "kafka.*"
                                                   : NULL;
                if (bad) {
                        print_error("%s: %s differs (kafka '%s')\n", t->name,
                                    bad, kv);
                        failures++;
                }
                config_free(c);
        }
        assert_int_equal(failures, 0);
}

static void test_refused(void **state)
{
        (void)state;
        int failures = 0;
        for (size_t i = 0; i < ARRAY_LEN(refusals); i++) {
                const struct refuse_case *t = &refusals[i];
                char path[32], err[1024] = "";
                write_conf(t->text, path);
                set_env(t->env);
                config_t *c = config_load(path, err, sizeof(err));
                unlink(path);
                if (c) {
                        print_error("%s: accepted, want '%s'\n", t->name,
                                    t->error);
                        config_free(c);
                        failures++;
                } else if (!strstr(err, t->error) || !strstr(err, path)) {
                        print_error("%s: '%s' does not say '%s' and name %s\n",
                                    t->name, err, t->error, path);
                        failures++;
                } else if (strstr(err, SECRET)) {
                        print_error("%s: the password is in '%s'\n", t->name,
                                    err);
                        failures++;
                }
        }
        assert_int_equal(failures, 0);
}

static void test_missing_file(void **state)
{
        (void)state;
        char err[512] = "";
        assert_null(config_load("/nonexistent/patuhd.conf", err, sizeof(err)));
        assert_non_null(strstr(err, "/nonexistent/patuhd.conf"));
        assert_non_null(strstr(err, "cannot read"));
}

struct url_case {
        const char *url;
        bool ok;
        const char *host;
        int port, db;
};

static const struct url_case urls[] = {
    {"redis://127.0.0.1:6397/9", true, "127.0.0.1", 6397, 9},
    {"redis://localhost", true, "localhost", 6379, 0},
    {"redis://localhost/", true, "localhost", 6379, 0},
    {"redis://h:1/", true, "h", 1, 0},
    {"redis://h:65535/1023", true, "h", 65535, 1023},
    {"redis://h/5", true, "h", 6379, 5},
    {"redis://", false, NULL, 0, 0},
    {"redis://:6379/0", false, NULL, 0, 0},
    {"redis://h:/0", false, NULL, 0, 0},
    {"redis://h:0/0", false, NULL, 0, 0},
    {"redis://h:65536", false, NULL, 0, 0},
    {"redis://h:63a9/0", false, NULL, 0, 0},
    {"redis://h/1024", false, NULL, 0, 0},
    {"redis://h/x", false, NULL, 0, 0},
    {"redis://h/0/1", false, NULL, 0, 0},
    {"http://h:6379/0", false, NULL, 0, 0},
    {"127.0.0.1:6379", false, NULL, 0, 0},
};

static void test_redis_url(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_LEN(urls); i++) {
                const struct url_case *u = &urls[i];
                char host[64] = "";
                int port = -1, db = -1;
                bool ok =
                    config_redis_url(u->url, host, sizeof(host), &port, &db);
                if (ok != u->ok)
                        fail_msg("%s: %s", u->url, ok ? "accepted" : "refused");
                if (!ok)
                        continue;
                if (strcmp(host, u->host) || port != u->port || db != u->db)
                        fail_msg("%s: %s %d %d", u->url, host, port, db);
        }
}

/* metrics.listen: 127.0.0.1:9187 unless set; "off" and addresses kept
 * as written (httpd parses them at start). */
static void test_metrics_listen(void **state)
{
        (void)state;
        static const struct {
                const char *line, *want;
        } cases_ml[] = {
            {"", "127.0.0.1:9187"},
            {"metrics.listen = off\n", "off"},
            {"metrics.listen = 0.0.0.0:9200\n", "0.0.0.0:9200"},
            {"metrics.listen = :9200\n", ":9200"},
            {"metrics.listen = [::1]:9187\n", "[::1]:9187"},
            {"metrics.listen = localhost:9187\n", "localhost:9187"},
        };
        const char *const env[3] = {NULL, NULL, NULL};
        set_env(env);
        for (size_t i = 0; i < ARRAY_LEN(cases_ml); i++) {
                char text[1024], path[32], err[1024] = "";
                snprintf(text, sizeof(text), "%s%s%s", REFS, CONNS,
                         cases_ml[i].line);
                write_conf(text, path);
                config_t *c = config_load(path, err, sizeof(err));
                unlink(path);
                if (!c)
                        fail_msg("'%s': refused: %s", cases_ml[i].line, err);
                if (strcmp(c->metrics_listen, cases_ml[i].want) != 0)
                        fail_msg("'%s': %s", cases_ml[i].line,
                                 c->metrics_listen);
                config_free(c);
        }
}

/* The stack's variables must not leak into the cases (tests/run exports
 * them), nor the cases' into the next test binary. */
static char *saved[3];

static int save_env(void **state)
{
        (void)state;
        for (size_t i = 0; i < 3; i++) {
                const char *v = getenv(env_names[i]);
                saved[i] = v ? strdup(v) : NULL;
        }
        return 0;
}

static int restore_env(void **state)
{
        (void)state;
        set_env((const char *const *)saved);
        for (size_t i = 0; i < 3; i++)
                free(saved[i]);
        return 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_accepted),
            cmocka_unit_test(test_refused),
            cmocka_unit_test(test_missing_file),
            cmocka_unit_test(test_redis_url),
            cmocka_unit_test(test_metrics_listen),
        };
        return cmocka_run_group_tests(tests, save_env, restore_env);
}
