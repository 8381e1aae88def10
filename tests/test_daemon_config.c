/*
 * test_daemon_config — patuhd's `key = value` configuration
 * (engine/config.h): defaults, every key, the PATUH_* variables that
 * default and override the connection settings, the librdkafka
 * pass-through, and refusals that name the file, the line and the key but
 * never a value: a PostgreSQL password in pg.conninfo (or in the
 * environment) appears in no message.  Also the table itself
 * (config_keys: unique keys, a doc line, a default or required, shown in
 * the sample), the new keys log.format, log.level and metrics.listen, the
 * masking of secrets and the --check listing.
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
    {"password as batch size",
     REFS CONNS "batch.max_ms = " SECRET "\n",
     {NULL, NULL, NULL},
     "line 7: batch.max_ms: expected an integer between 1 and 60000"},
    /* log.format, log.level, metrics.listen */
    {"log format",
     REFS CONNS "log.format = logfmt\n",
     {NULL, NULL, NULL},
     "line 7: log.format: expected one of text|json"},
    {"log format case",
     REFS CONNS "log.format = JSON\n",
     {NULL, NULL, NULL},
     "line 7: log.format: expected one of text|json"},
    {"log format empty",
     REFS CONNS "log.format =\n",
     {NULL, NULL, NULL},
     "line 7: log.format: expected one of text|json"},
    {"log level",
     REFS CONNS "log.level = warning\n",
     {NULL, NULL, NULL},
     "line 7: log.level: expected one of error|warn|info|debug"},
    {"password as log level",
     REFS CONNS "log.level = " SECRET "\n",
     {NULL, NULL, NULL},
     "line 7: log.level: expected one of error|warn|info|debug"},
    {"listen port only",
     REFS CONNS "metrics.listen = 9187\n",
     {NULL, NULL, NULL},
     "line 7: metrics.listen: expected host:port (port 1 to 65535) or off"},
    {"listen no host",
     REFS CONNS "metrics.listen = :9187\n",
     {NULL, NULL, NULL},
     "line 7: metrics.listen: expected host:port"},
    {"listen port 0",
     REFS CONNS "metrics.listen = 127.0.0.1:0\n",
     {NULL, NULL, NULL},
     "line 7: metrics.listen: expected host:port"},
    {"listen port too big",
     REFS CONNS "metrics.listen = 127.0.0.1:65536\n",
     {NULL, NULL, NULL},
     "line 7: metrics.listen: expected host:port"},
    {"listen port signed",
     REFS CONNS "metrics.listen = 127.0.0.1:+80\n",
     {NULL, NULL, NULL},
     "line 7: metrics.listen: expected host:port"},
    {"listen bare v6",
     REFS CONNS "metrics.listen = ::1:9187\n",
     {NULL, NULL, NULL},
     "line 7: metrics.listen: expected host:port"},
    {"listen v6 no port",
     REFS CONNS "metrics.listen = [::1]\n",
     {NULL, NULL, NULL},
     "line 7: metrics.listen: expected host:port"},
    {"listen OFF",
     REFS CONNS "metrics.listen = OFF\n",
     {NULL, NULL, NULL},
     "line 7: metrics.listen: expected host:port"},
    {"listen url",
     REFS CONNS "metrics.listen = http://127.0.0.1:9187/\n",
     {NULL, NULL, NULL},
     "line 7: metrics.listen: expected host:port"},
    {"password as listen",
     REFS CONNS "metrics.listen = " SECRET ":99999\n",
     {NULL, NULL, NULL},
     "line 7: metrics.listen: expected host:port"},
    {"listen empty",
     REFS CONNS "metrics.listen =\n",
     {NULL, NULL, NULL},
     "line 7: metrics.listen: empty value"},
    /* libpq's own parser, its message (which may quote the password) not
     * repeated */
    {"conninfo keyword",
     REFS "pg.conninfo = hots=db password=" SECRET "\n",
     {NULL, NULL, NULL},
     "line 4: pg.conninfo: not a connection string libpq accepts"},
    {"conninfo no equals",
     REFS "pg.conninfo = host=db password " SECRET "\n",
     {NULL, NULL, NULL},
     "line 4: pg.conninfo: not a connection string libpq accepts"},
    {"conninfo from env",
     REFS CONNS,
     {NULL, NULL, "host=db password " SECRET},
     "pg.conninfo: not a connection string libpq accepts (keyword = value "
     "..., or postgresql://...) (the value of PATUH_PG_CONNINFO)"},
    {"redis url from env names the variable",
     REFS CONNS,
     {NULL, "redis://h:" SECRET "/0", NULL},
     "redis.url: expected redis://host:port/db (the value of "
     "PATUH_REDIS_URL)"},
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

/* Loads TEXT under ENV; NULL (with the message printed) when refused. */
static config_t *load_text(const char *text, const char *const env[3])
{
        char path[32], err[1024] = "";
        write_conf(text, path);
        set_env(env);
        config_t *c = config_load(path, err, sizeof(err));
        unlink(path);
        if (!c)
                print_error("refused: %s\n", err);
        return c;
}

static const char *const no_env[3] = {NULL, NULL, NULL};

/* log.format, log.level and metrics.listen: defaults, then every value. */
static void test_new_keys(void **state)
{
        (void)state;
        config_t *c = load_text(REFS CONNS, no_env);
        assert_non_null(c);
        assert_string_equal(c->log_format, "text");
        assert_string_equal(c->log_level, "info");
        assert_string_equal(c->metrics_listen, "127.0.0.1:9187");
        assert_null(c->instance_id);
        assert_int_equal(c->lease_ttl_ms, 15000);
        assert_int_equal(c->write_timeout_ms, 30000);
        config_free(c);
        struct {
                const char *lines, *format, *level, *listen;
        } vals[] = {
            {"log.format = json\nlog.level = debug\nmetrics.listen = off\n",
             "json", "debug", "off"},
            {"log.level = error\nmetrics.listen = 0.0.0.0:1\n", "text", "error",
             "0.0.0.0:1"},
            {"log.level = warn\nmetrics.listen = [::1]:65535\n", "text", "warn",
             "[::1]:65535"},
            {"log.format = text\nlog.level = info\n"
             "metrics.listen = metrics.example.org:9187\n",
             "text", "info", "metrics.example.org:9187"},
        };
        for (size_t i = 0; i < ARRAY_LEN(vals); i++) {
                char text[1024];
                snprintf(text, sizeof(text), "%s%s", REFS CONNS, vals[i].lines);
                c = load_text(text, no_env);
                assert_non_null(c);
                assert_string_equal(c->log_format, vals[i].format);
                assert_string_equal(c->log_level, vals[i].level);
                assert_string_equal(c->metrics_listen, vals[i].listen);
                config_free(c);
        }
}

struct listen_case {
        const char *v;
        bool ok;
        const char *host;
        int port;
};

static const struct listen_case listens[] = {
    {"127.0.0.1:9187", true, "127.0.0.1", 9187},
    {"localhost:1", true, "localhost", 1},
    {"[::]:65535", true, "::", 65535},
    {"[fe80::1%eth0]:80", true, "fe80::1%eth0", 80},
    {"off", false, NULL, 0},
    {"127.0.0.1", false, NULL, 0},
    {"127.0.0.1:", false, NULL, 0},
    {"127.0.0.1:0", false, NULL, 0},
    {"127.0.0.1:65536", false, NULL, 0},
    {"127.0.0.1:-1", false, NULL, 0},
    {"127.0.0.1:80x", false, NULL, 0},
    {":80", false, NULL, 0},
    {"[]:80", false, NULL, 0},
    {"[::1]80", false, NULL, 0},
    {"::1:80", false, NULL, 0},
    {"a b:80", false, NULL, 0},
    {"h/x:80", false, NULL, 0},
};

static void test_listen(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_LEN(listens); i++) {
                const struct listen_case *t = &listens[i];
                char host[64] = "";
                int port = -1;
                bool ok = config_listen(t->v, host, sizeof(host), &port);
                if (ok != t->ok)
                        fail_msg("%s: %s", t->v, ok ? "accepted" : "refused");
                if (ok && (strcmp(host, t->host) || port != t->port))
                        fail_msg("%s: %s %d", t->v, host, port);
        }
}

/* The table's invariants: what the docs, --check and the parser rely on. */
static void test_table(void **state)
{
        (void)state;
        size_t n;
        const config_key_t *k = config_keys(&n);
        assert_true(n >= 16 && n <= CONFIG_MAX_KEYS);
        char *sample = NULL;
        FILE *f = fopen(PATUH_SOURCE_DIR "/deploy/patuhd.conf.sample", "r");
        assert_non_null(f);
        sample = calloc(1, 1 << 16);
        assert_non_null(sample);
        assert_true(fread(sample, 1, (1 << 16) - 1, f) > 0);
        fclose(f);
        const char *reloadable[] = {"roster.file", "calendar.file",
                                    "log.level"};
        size_t n_reload = 0;
        for (size_t i = 0; i < n; i++) {
                const config_key_t *e = &k[i];
                if (!e->key || !*e->key)
                        fail_msg("entry %zu has no key", i);
                if (!e->doc || strlen(e->doc) < 10 || strchr(e->doc, '\n') ||
                    strlen(e->doc) > 80)
                        fail_msg("%s: doc must be one line of 10-80", e->key);
                if (!e->def && !e->required && !e->def_doc)
                        fail_msg("%s: no default, not required, no "
                                 "def_doc",
                                 e->key);
                if (e->def && e->required)
                        fail_msg("%s: required with a default", e->key);
                if (e->type == CONFIG_INT &&
                    (!e->unit || e->min > e->max || !e->def))
                        fail_msg("%s: an integer needs a unit, a range, a "
                                 "default",
                                 e->key);
                if ((e->type == CONFIG_ENUM) != (e->choices != NULL))
                        fail_msg("%s: choices only for an enum", e->key);
                if (e->offset + sizeof(char *) > offsetof(config_t, kafka))
                        fail_msg("%s: offset past the keys' fields", e->key);
                if (strncmp(e->key, "kafka.", 6) == 0 &&
                    config_kafka_secret(e->key + 6) != e->secret)
                        fail_msg("%s: pass-through secrecy differs", e->key);
                for (size_t j = 0; j < i; j++) {
                        if (strcmp(k[j].key, e->key) == 0)
                                fail_msg("%s: listed twice", e->key);
                        if (k[j].offset == e->offset)
                                fail_msg("%s, %s: the same field", k[j].key,
                                         e->key);
                }
                bool want_reload = false;
                for (size_t j = 0; j < ARRAY_LEN(reloadable); j++)
                        want_reload |= strcmp(reloadable[j], e->key) == 0;
                if (e->reloadable != want_reload)
                        fail_msg("%s: reloadable %d", e->key, e->reloadable);
                n_reload += e->reloadable;
                /* the sample shows every key (set or commented out) */
                char needle[64];
                snprintf(needle, sizeof(needle), "\n%s ", e->key);
                char commented[64];
                snprintf(commented, sizeof(commented), "\n# %s ", e->key);
                if (!strstr(sample, needle) && !strstr(sample, commented))
                        fail_msg("%s: not in deploy/patuhd.conf.sample",
                                 e->key);
        }
        assert_int_equal(n_reload, ARRAY_LEN(reloadable));
        free(sample);
        /* pg.conninfo is the one secret among the keys */
        for (size_t i = 0; i < n; i++)
                assert_int_equal(k[i].secret,
                                 strcmp(k[i].key, "pg.conninfo") == 0);
}

struct mask_case {
        const char *key; /* a table key, or NULL */
        const char *kafka_key;
        const char *value, *want;
};

static const struct mask_case masks[] = {
    {"pg.conninfo", NULL,
     "host=db port=5432 dbname=patuh user=patuhd password=" SECRET,
     "host=db port=5432 dbname=patuh user=patuhd password=********"},
    {"pg.conninfo", NULL, "password=" SECRET " host=db",
     "password=******** host=db"},
    {"pg.conninfo", NULL, "host = db password = '" SECRET " \\' x' user=u",
     "host = db password = ******** user=u"},
    {"pg.conninfo", NULL, "host=db password=a\\ " SECRET " user=u",
     "host=db password=******** user=u"},
    {"pg.conninfo", NULL, "host=db passfile=/etc/patuh/pgpass",
     "host=db passfile=/etc/patuh/pgpass"},
    {"pg.conninfo", NULL, "host=db", "host=db"},
    /* every *password keyword, and a dbname that is a connection string
     * in its turn (libpq expands it); a plain dbname stays */
    {"pg.conninfo", NULL, "host=db sslpassword=" SECRET " sslmode=require",
     "host=db sslpassword=******** sslmode=require"},
    {"pg.conninfo", NULL, "dbname='host=db password=" SECRET "'",
     "dbname=********"},
    {"pg.conninfo", NULL, "dbname=postgresql://u:" SECRET "@db/patuh",
     "dbname=********"},
    {"pg.conninfo", NULL, "postgresql://u@db/patuh?sslpassword=" SECRET,
     "postgresql://u@db/patuh?sslpassword=********"},
    /* what the masking cannot parse is masked whole */
    {"pg.conninfo", NULL, "host=db password " SECRET, "********"},
    {"pg.conninfo", NULL, "password='" SECRET, "********"},
    {"pg.conninfo", NULL, "postgresql://patuhd:" SECRET "@db:5432/patuh",
     "postgresql://patuhd:********@db:5432/patuh"},
    {"pg.conninfo", NULL,
     "postgres://patuhd@db/patuh?sslmode=require&password=" SECRET "&x=1",
     "postgres://patuhd@db/patuh?sslmode=require&password=********&x=1"},
    {"pg.conninfo", NULL, "postgresql://db/patuh", "postgresql://db/patuh"},
    {"redis.url", NULL, "redis://h:1/0", "redis://h:1/0"},
    {"policy.file", NULL, "/etc/patuh/policy.json", "/etc/patuh/policy.json"},
    {NULL, "sasl.password", SECRET, "********"},
    {NULL, "ssl.key.password", SECRET, "********"},
    {NULL, "ssl.keystore.password", SECRET, "********"},
    {NULL, "sasl.oauthbearer.client.secret", SECRET, "********"},
    {NULL, "ssl.key.pem", "-----BEGIN PRIVATE KEY-----", "********"},
    {NULL, "sasl.oauthbearer.config", "principal=x secret=" SECRET, "********"},
    {NULL, "security.protocol", "SASL_SSL", "SASL_SSL"},
    {NULL, "sasl.username", "patuhd", "patuhd"},
};

static const config_key_t *key_named(const char *name)
{
        size_t n;
        const config_key_t *k = config_keys(&n);
        for (size_t i = 0; i < n; i++)
                if (strcmp(k[i].key, name) == 0)
                        return &k[i];
        fail_msg("no key %s", name);
        return NULL;
}

static void test_mask(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_LEN(masks); i++) {
                const struct mask_case *t = &masks[i];
                char *m = config_mask(t->key ? key_named(t->key) : NULL,
                                      t->kafka_key, t->value);
                assert_non_null(m);
                if (strcmp(m, t->want))
                        fail_msg("%s: '%s', want '%s'", t->value, m, t->want);
                free(m);
        }
}

/* --check's listing: every key once, its source, no secret. */
static void test_print_effective(void **state)
{
        (void)state;
        const char *env[3] = {NULL, NULL, ENV_PG};
        config_t *c =
            load_text(REFS "kafka.bootstrap = b:1\nredis.url = redis://h/0\n"
                           "log.level = debug\n"
                           "kafka.sasl.password = " SECRET "\n"
                           "kafka.client.id = patuhd-1\n",
                      env);
        assert_non_null(c);
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        assert_non_null(f);
        config_print_effective(c, "/etc/patuh/patuhd.conf", f);
        fclose(f);
        config_free(c);
        if (strstr(out, SECRET))
                fail_msg("a secret in --check's output:\n%s", out);
        size_t n;
        const config_key_t *k = config_keys(&n);
        for (size_t i = 0; i < n; i++) {
                char needle[64];
                snprintf(needle, sizeof(needle), "\n%s ", k[i].key);
                const char *at = strstr(out, needle);
                if (!at || strstr(at + 1, needle))
                        fail_msg("%s: not listed once:\n%s", k[i].key, out);
        }
        const char *want[] = {
            "\npolicy.file              = /etc/patuh/policy.json  # file\n",
            "\nkafka.group              = patuhd  # default\n",
            /* one line, cut in two */
            ("\npg.conninfo              = host=127.0.0.1 port=5447 user=t "
             "password=********  # environment PATUH_PG_CONNINFO\n"),
            "\nlog.level                = debug  # file, reloads on SIGHUP\n",
            "\ninstance.id              = (unset)  # unset: host:pid\n",
            "\nbatch.max_records        = 10000  # default\n",
            "\nkafka.sasl.password      = ********  # file\n",
            "\nkafka.client.id          = patuhd-1  # file\n",
        };
        for (size_t i = 0; i < ARRAY_LEN(want); i++)
                if (!strstr(out, want[i]))
                        fail_msg("lacks '%s':\n%s", want[i] + 1, out);
        free(out);
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
            cmocka_unit_test(test_new_keys),
            cmocka_unit_test(test_listen),
            cmocka_unit_test(test_table),
            cmocka_unit_test(test_mask),
            cmocka_unit_test(test_print_effective),
        };
        return cmocka_run_group_tests(tests, save_env, restore_env);
}
