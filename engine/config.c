#include "config.h"

#include "../rules/jsonv.h"

#include <errno.h>
#include <stdint.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* offsetof a char * (S) or a long (L) field of config_t.  The dead
 * comparison inside sizeof makes a field of another type a compile error
 * (distinct pointer types, -Werror), so the table cannot point a key's
 * parser at the wrong kind of field. */
#define S(field)                                                               \
        (offsetof(config_t, field) +                                           \
         0 * sizeof(&((config_t *)0)->field == (char **)0))
#define L(field)                                                               \
        (offsetof(config_t, field) +                                           \
         0 * sizeof(&((config_t *)0)->field == (long *)0))

/*
 * The one table.  Order: the order of the docs, of --check and of the
 * "missing ..." checks (the reference files first, then the
 * connections).  A default is spelt as in the file and goes through the
 * same checks as a file's value, so a bad default fails every load (and
 * test_daemon_config) instead of slipping through.
 */
static const config_key_t keys[] = {
    {"policy.file", CONFIG_PATH, NULL, NULL, NULL, 0, 0, NULL, NULL, true,
     false, false, S(policy_file),
     "The policy JSON (`rules/*.json`): bands, hours, sanctions."},
    {"roster.file", CONFIG_PATH, NULL, NULL, NULL, 0, 0, NULL, NULL, true, true,
     false, S(roster_file),
     "The roster, JSON Lines, one employee a line; SIGHUP re-reads it."},
    {"calendar.file", CONFIG_PATH, NULL, NULL, NULL, 0, 0, NULL, NULL, true,
     true, false, S(calendar_file),
     "The calendar JSON (holidays, hours overrides); SIGHUP re-reads it."},
    {"kafka.bootstrap", CONFIG_HOSTS, NULL, NULL, NULL, 0, 0, NULL,
     "PATUH_KAFKA_BOOTSTRAP", true, false, false, S(kafka_bootstrap),
     "The Kafka brokers to start from (librdkafka `bootstrap.servers`)."},
    {"kafka.group", CONFIG_STRING, "patuhd", NULL, NULL, 0, 0, NULL, NULL,
     false, false, false, S(kafka_group),
     "The consumer group holding the committed input offsets."},
    {"kafka.topic_prefix", CONFIG_STRING, "patuh.", NULL, NULL, 0, 0, NULL,
     NULL, false, false, false, S(topic_prefix),
     "Prefix of every topic name: `<prefix>presence`, `<prefix>dlq`, ..."},
    {"redis.url", CONFIG_URL, NULL, NULL, NULL, 0, 0, NULL, "PATUH_REDIS_URL",
     true, false, false, S(redis_url),
     "The Redis holding the rules' state: `redis://host[:port][/db]`."},
    {"pg.conninfo", CONFIG_CONNINFO, NULL, NULL, NULL, 0, 0, NULL,
     "PATUH_PG_CONNINFO", true, false, true, S(pg_conninfo),
     "The PostgreSQL of the decisions and the lease (libpq conninfo)."},
    {"batch.max_records", CONFIG_INT, "10000", NULL, "records", 1, 1000000,
     NULL, NULL, false, false, false, L(batch_max_records),
     "At most this many input records per batch."},
    {"batch.max_ms", CONFIG_INT, "50", NULL, "ms", 1, 60000, NULL, NULL, false,
     false, false, L(batch_max_ms),
     "How often the loop looks for records and due decisions when quiet."},
    {"instance.id", CONFIG_STRING, NULL, "host:pid", NULL, 0, 0, NULL, NULL,
     false, false, false, S(instance_id),
     "This instance's name in the engine lease and its `group.instance.id`."},
    {"lease.ttl_ms", CONFIG_INT, "15000", NULL, "ms", 1000, 600000, NULL, NULL,
     false, false, false, L(lease_ttl_ms),
     "How long the engine lease outlives its holder's last renewal."},
    {"scale.mode", CONFIG_ENUM, "single", NULL, NULL, 0, 0, "single|group",
     NULL, false, false, false, S(scale_mode),
     "`single`: one evaluates, others stand by; `group`: they share units."},
    {"scale.session_timeout_ms", CONFIG_INT, "10000", NULL, "ms", 1000, 300000,
     NULL, NULL, false, false, false, L(scale_session_timeout_ms),
     "Group mode: how long a silent instance keeps its work partitions."},
    {"write.timeout_ms", CONFIG_INT, "30000", NULL, "ms", 1000, 600000, NULL,
     NULL, false, false, false, L(write_timeout_ms),
     "How long a PostgreSQL or Redis write may wait before it is retried."},
    {"quarantine.file", CONFIG_PATH, NULL,
     "$STATE_DIRECTORY/patuhd.crash, else $TMPDIR/patuhd-<kafka.group>.crash",
     NULL, 0, 0, NULL, NULL, false, false, false, S(quarantine_file),
     "Where patuhd marks the record in hand, to quarantine one that kills it."},
    {"quarantine.after", CONFIG_INT, "3", NULL, "deaths", 1, 100, NULL, NULL,
     false, false, false, L(quarantine_after),
     "Deaths in a row with the same record in hand that quarantine it."},
    {"log.format", CONFIG_ENUM, "text", NULL, NULL, 0, 0, "text|json", NULL,
     false, false, false, S(log_format),
     "Log lines on stderr: text, or one JSON object a line."},
    {"log.level", CONFIG_ENUM, "info", NULL, NULL, 0, 0,
     "error|warn|info|debug", NULL, false, true, false, S(log_level),
     "The least severe level written; SIGHUP applies a new one."},
    {"metrics.listen", CONFIG_LISTEN, "127.0.0.1:9187", NULL, NULL, 0, 0, NULL,
     NULL, false, false, false, S(metrics_listen),
     "Where `/metrics` and `/readyz` listen (`host:port`), or `off`."},
};

#define N_KEYS (sizeof(keys) / sizeof(keys[0]))
_Static_assert(N_KEYS <= CONFIG_MAX_KEYS, "config_t.source is too small");

const config_key_t *config_keys(size_t *n)
{
        *n = N_KEYS;
        return keys;
}

static char *dup_range(const char *s, size_t n)
{
        char *d = malloc(n + 1);
        if (d) {
                memcpy(d, s, n);
                d[n] = '\0';
        }
        return d;
}

static char *dup_str(const char *s)
{
        return dup_range(s, strlen(s));
}

static void trim(const char **s, size_t *n)
{
        while (*n && (**s == ' ' || **s == '\t')) {
                (*s)++;
                (*n)--;
        }
        while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' ||
                      (*s)[*n - 1] == '\r'))
                (*n)--;
}

static bool parse_long(const char *v, long min, long max, long *out)
{
        char *end;
        errno = 0;
        long x = strtol(v, &end, 10);
        if (errno || end == v || *end || x < min || x > max)
                return false;
        *out = x;
        return true;
}

static char **str_field(config_t *c, const config_key_t *k)
{
        return (char **)(void *)((char *)c + k->offset);
}

static long *long_field(config_t *c, const config_key_t *k)
{
        return (long *)(void *)((char *)c + k->offset);
}

static const char *const *cstr_field(const config_t *c, const config_key_t *k)
{
        return (const char *const *)(const void *)((const char *)c + k->offset);
}

static long clong_field(const config_t *c, const config_key_t *k)
{
        return *(const long *)(const void *)((const char *)c + k->offset);
}

static bool same_str(const char *a, const char *b)
{
        return a == b || (a && b && strcmp(a, b) == 0);
}

void config_restart_changes(const config_t *a, const config_t *b, char *out,
                            size_t out_size)
{
        size_t len = 0;
        out[0] = '\0';
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                const config_key_t *k = &keys[i];
                bool same =
                    k->type == CONFIG_INT
                        ? clong_field(a, k) == clong_field(b, k)
                        : same_str(*cstr_field(a, k), *cstr_field(b, k));
                if (same || k->reloadable)
                        continue;
                int w = snprintf(out + len, out_size - len, "%s%s",
                                 len ? ", " : "", k->key);
                if (w < 0 || (size_t)w >= out_size - len)
                        return;
                len += (size_t)w;
        }
        bool kafka_same = a->n_kafka == b->n_kafka;
        for (size_t i = 0; kafka_same && i < a->n_kafka; i++)
                kafka_same = same_str(a->kafka[i].key, b->kafka[i].key) &&
                             same_str(a->kafka[i].value, b->kafka[i].value);
        if (!kafka_same)
                snprintf(out + len, out_size - len, "%skafka.*",
                         len ? ", " : "");
}

void config_free(config_t *c)
{
        if (!c)
                return;
        for (size_t i = 0; i < N_KEYS; i++)
                if (keys[i].type != CONFIG_INT)
                        free(*str_field(c, &keys[i]));
        for (size_t i = 0; i < c->n_kafka; i++) {
                free(c->kafka[i].key);
                free(c->kafka[i].value);
        }
        free(c->kafka);
        free(c);
}

/* Whether V is one of K's choices ("a|b|c"). */
static bool enum_ok(const config_key_t *k, const char *v)
{
        size_t vn = strlen(v);
        for (const char *p = k->choices; *p;) {
                const char *bar = strchr(p, '|');
                size_t n = bar ? (size_t)(bar - p) : strlen(p);
                if (n == vn && strncmp(p, v, n) == 0)
                        return true;
                p += n + (bar != NULL);
        }
        return false;
}

/* libpq's own parser, so a typo in a keyword shows at start-up (and in
 * --check) instead of at the first connect.  Its message is not used: for
 * a missing '=' it quotes the next word, which may be the password. */
static bool conninfo_ok(const char *v)
{
        char *err = NULL;
        PQconninfoOption *o = PQconninfoParse(v, &err);
        bool ok = o != NULL;
        PQconninfoFree(o);
        PQfreemem(err);
        return ok;
}

/* Checks V against K's type; NULL when accepted, else why not (into
 * WHY), never quoting V. */
static const char *check_value(const config_key_t *k, const char *v, char *why,
                               size_t n)
{
        if (k->type != CONFIG_INT && k->type != CONFIG_ENUM && !*v)
                return "empty value";
        char host[256];
        int port, db;
        long x;
        switch (k->type) {
        case CONFIG_PATH:
        case CONFIG_STRING:
        case CONFIG_HOSTS: /* librdkafka checks the list itself */
                return NULL;
        case CONFIG_INT:
                if (parse_long(v, k->min, k->max, &x))
                        return NULL;
                snprintf(why, n, "expected an integer between %ld and %ld",
                         k->min, k->max);
                return why;
        case CONFIG_ENUM:
                if (enum_ok(k, v))
                        return NULL;
                snprintf(why, n, "expected one of %s", k->choices);
                return why;
        case CONFIG_URL:
                return config_redis_url(v, host, sizeof(host), &port, &db)
                           ? NULL
                           : "expected redis://host:port/db";
        case CONFIG_CONNINFO:
                return conninfo_ok(v) ? NULL
                                      : "not a connection string libpq "
                                        "accepts (keyword = value ..., or "
                                        "postgresql://...)";
        case CONFIG_LISTEN:
                return strcmp(v, "off") == 0 ||
                               config_listen(v, host, sizeof(host), &port)
                           ? NULL
                           : "expected host:port (port 1 to 65535) or off";
        }
        return "unknown type";
}

/* Stores an accepted V in K's field; false when out of memory. */
static bool store_value(config_t *c, const config_key_t *k, const char *v)
{
        if (k->type == CONFIG_INT)
                return parse_long(v, k->min, k->max, long_field(c, k));
        char **dst = str_field(c, k);
        free(*dst);
        *dst = dup_str(v);
        return *dst != NULL;
}

static const config_key_t *find_key(const char *key)
{
        for (size_t i = 0; i < N_KEYS; i++)
                if (strcmp(keys[i].key, key) == 0)
                        return &keys[i];
        return NULL;
}

/* One `key = value`; false with errstr set when refused. */
static bool apply(config_t *c, const char *key, const char *value,
                  const char *where, char *errstr, size_t n)
{
        const config_key_t *k = find_key(key);
        if (k) {
                char why[160];
                const char *bad = check_value(k, value, why, sizeof(why));
                if (bad) {
                        snprintf(errstr, n, "%s: %s: %s", where, key, bad);
                        return false;
                }
                if (!store_value(c, k, value)) {
                        snprintf(errstr, n, "out of memory");
                        return false;
                }
                c->source[k - keys] = CONFIG_SRC_FILE;
                return true;
        }
        if (strncmp(key, "kafka.", 6) == 0 && key[6]) {
                config_kv_t *kv =
                    realloc(c->kafka, (c->n_kafka + 1) * sizeof(*kv));
                if (!kv) {
                        snprintf(errstr, n, "out of memory");
                        return false;
                }
                c->kafka = kv;
                kv[c->n_kafka].key = dup_str(key + 6);
                kv[c->n_kafka].value = dup_str(value);
                c->n_kafka++;
                if (kv[c->n_kafka - 1].key && kv[c->n_kafka - 1].value)
                        return true;
                snprintf(errstr, n, "out of memory");
                return false;
        }
        snprintf(errstr, n, "%s: unknown key '%s'", where, key);
        return false;
}

/* The table's defaults, through the same checks as a file's values. */
static bool apply_defaults(config_t *c, char *errstr, size_t n)
{
        for (size_t i = 0; i < N_KEYS; i++) {
                const config_key_t *k = &keys[i];
                if (!k->def)
                        continue;
                char why[160];
                const char *bad = check_value(k, k->def, why, sizeof(why));
                if (bad) {
                        snprintf(errstr, n, "default of %s: %s", k->key, bad);
                        return false;
                }
                if (!store_value(c, k, k->def)) {
                        snprintf(errstr, n, "out of memory");
                        return false;
                }
                c->source[i] = CONFIG_SRC_DEFAULT;
        }
        return true;
}

/* The environment overrides the file for the keys that name a variable;
 * an empty variable is no override. */
static bool apply_env(config_t *c, const char *path, char *errstr, size_t n)
{
        for (size_t i = 0; i < N_KEYS; i++) {
                const config_key_t *k = &keys[i];
                const char *v = k->env ? getenv(k->env) : NULL;
                if (!v || !*v)
                        continue;
                char why[160];
                const char *bad = check_value(k, v, why, sizeof(why));
                if (bad) {
                        snprintf(errstr, n,
                                 "config file %s: %s: %s (the value of %s)",
                                 path, k->key, bad, k->env);
                        return false;
                }
                if (!store_value(c, k, v)) {
                        snprintf(errstr, n, "out of memory");
                        return false;
                }
                c->source[i] = CONFIG_SRC_ENV;
        }
        return true;
}

static bool check_required(const config_t *c, const char *path, char *errstr,
                           size_t n)
{
        for (size_t i = 0; i < N_KEYS; i++) {
                const config_key_t *k = &keys[i];
                if (!k->required || c->source[i] != CONFIG_SRC_UNSET)
                        continue;
                if (k->env)
                        snprintf(errstr, n,
                                 "config file %s: missing %s (or %s)", path,
                                 k->key, k->env);
                else
                        snprintf(errstr, n, "config file %s: missing %s", path,
                                 k->key);
                return false;
        }
        return true;
}

config_t *config_load_buffer(const char *buf, size_t len, const char *path,
                             char *errstr, size_t errstr_size)
{
        config_t *c = calloc(1, sizeof(*c));
        if (!c) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        bool ok = apply_defaults(c, errstr, errstr_size);
        size_t pos = 0, n, line = 0;
        const char *s;
        while (ok && jsonv_next_line(buf, len, &pos, &s, &n, &line)) {
                trim(&s, &n);
                char where[600];
                snprintf(where, sizeof(where), "config file %s line %zu", path,
                         line);
                /* A NUL byte (even in a comment) would end a key or a
                 * value early and drop the rest of the line unseen: such a
                 * file is damaged, not text. */
                if (memchr(s, '\0', n)) {
                        snprintf(errstr, errstr_size,
                                 "%s: a NUL byte (not a text file)", where);
                        ok = false;
                        break;
                }
                if (n == 0 || s[0] == '#')
                        continue;
                const char *eq = memchr(s, '=', n);
                if (!eq) {
                        snprintf(errstr, errstr_size,
                                 "%s: expected 'key = value'", where);
                        ok = false;
                        break;
                }
                const char *k = s, *v = eq + 1;
                size_t kn = (size_t)(eq - s), vn = n - kn - 1;
                trim(&k, &kn);
                trim(&v, &vn);
                char *key = dup_range(k, kn), *value = dup_range(v, vn);
                if (!key || !value) {
                        snprintf(errstr, errstr_size, "out of memory");
                        ok = false;
                } else {
                        ok = apply(c, key, value, where, errstr, errstr_size);
                }
                free(key);
                free(value);
        }
        ok = ok && apply_env(c, path, errstr, errstr_size) &&
             check_required(c, path, errstr, errstr_size);
        if (!ok) {
                config_free(c);
                return NULL;
        }
        return c;
}

config_t *config_load(const char *path, char *errstr, size_t errstr_size)
{
        size_t len;
        char *buf = jsonv_slurp(path, &len);
        if (!buf) {
                snprintf(errstr, errstr_size, "config file %s: cannot read",
                         path);
                return NULL;
        }
        config_t *c = config_load_buffer(buf, len, path, errstr, errstr_size);
        free(buf);
        return c;
}

bool config_redis_url(const char *url, char *host, size_t host_size, int *port,
                      int *db)
{
        if (strncmp(url, "redis://", 8) != 0)
                return false;
        const char *h = url + 8;
        const char *colon = strchr(h, ':');
        const char *slash = strchr(h, '/');
        const char *hend = colon ? colon : slash ? slash : h + strlen(h);
        if (hend == h || (size_t)(hend - h) >= host_size)
                return false;
        memcpy(host, h, (size_t)(hend - h));
        host[hend - h] = '\0';
        long p = 6379, d = 0;
        char tmp[32];
        if (colon) {
                const char *pend = slash ? slash : colon + strlen(colon);
                size_t pl = (size_t)(pend - colon - 1);
                if (pl == 0 || pl >= sizeof(tmp))
                        return false;
                memcpy(tmp, colon + 1, pl);
                tmp[pl] = '\0';
                if (!parse_long(tmp, 1, 65535, &p))
                        return false;
        }
        if (slash && slash[1] && !parse_long(slash + 1, 0, 1023, &d))
                return false;
        *port = (int)p;
        *db = (int)d;
        return true;
}

bool config_listen(const char *value, char *host, size_t host_size, int *port)
{
        const char *h = value, *hend, *colon;
        if (*h == '[') {
                /* an IPv6 address: [addr]:port */
                h++;
                hend = strchr(h, ']');
                if (!hend || hend[1] != ':')
                        return false;
                colon = hend + 1;
        } else {
                colon = strrchr(h, ':');
                hend = colon;
                /* a bare IPv6 address is ambiguous: brackets needed */
                if (!colon || memchr(h, ':', (size_t)(colon - h)))
                        return false;
        }
        size_t hl = (size_t)(hend - h);
        if (hl == 0 || hl >= host_size || strpbrk(value, " \t/"))
                return false;
        long p;
        if (!parse_long(colon + 1, 1, 65535, &p) || colon[1] == '+' ||
            colon[1] == '-')
                return false;
        memcpy(host, h, hl);
        host[hl] = '\0';
        *port = (int)p;
        return true;
}

bool config_kafka_secret(const char *key)
{
        return strstr(key, "password") || strstr(key, "secret") ||
               strcmp(key, "ssl.key.pem") == 0 ||
               strcmp(key, "sasl.oauthbearer.config") == 0;
}

/* ---- masking ------------------------------------------------------------ */

/* A growing string; oom once an allocation failed. */
typedef struct sbuf {
        char *s;
        size_t len, cap;
        bool oom;
} sbuf_t;

static void sb_add(sbuf_t *b, const char *s, size_t n)
{
        if (b->oom || n > SIZE_MAX / 4 - b->len) {
                b->oom = true;
                return;
        }
        if (b->len + n + 1 > b->cap) {
                size_t cap = (b->len + n + 1) * 2;
                char *p = realloc(b->s, cap);
                if (!p) {
                        b->oom = true;
                        return;
                }
                b->s = p;
                b->cap = cap;
        }
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = '\0';
}

static char *sb_done(sbuf_t *b)
{
        if (b->oom || !b->s) {
                free(b->s);
                return b->oom ? NULL : dup_str("");
        }
        return b->s;
}

static bool is_space(char ch)
{
        return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' ||
               ch == '\f' || ch == '\v';
}

/* Whether a conninfo keyword's value is masked: password and every
 * other *password (sslpassword), and dbname, which libpq expands when it
 * holds a whole connection string (dbname='host=... password=...'). */
static bool mask_keyword(const char *kw, size_t n)
{
        return (n >= 8 && strncmp(kw + n - 8, "password", 8) == 0) ||
               (n == 6 && strncmp(kw, "dbname", 6) == 0);
}

/* The value of dbname is masked only when it is a connection string in
 * its turn; a plain database name stays visible. */
static bool nested_conninfo(const char *val, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (val[i] == '=' || (val[i] == ':' && i + 2 < n &&
                                      val[i + 1] == '/' && val[i + 2] == '/'))
                        return true;
        return false;
}

/* A postgresql:// URI (AUTH: the offset past "://"): the password of
 * user:password@ and any password= parameter of the query. */
static char *mask_uri(const char *v, size_t auth)
{
        sbuf_t b = {0};
        size_t an = auth + strcspn(v + auth, "/?"), at = 0, colon = 0;
        for (size_t i = auth; i < an; i++)
                if (v[i] == '@')
                        at = i;
        for (size_t i = auth; i < at && !colon; i++)
                if (v[i] == ':')
                        colon = i;
        size_t q = 0; /* copied up to here */
        if (colon) {
                sb_add(&b, v, colon + 1);
                sb_add(&b, CONFIG_MASK, strlen(CONFIG_MASK));
                q = at;
        }
        size_t query = an + strcspn(v + an, "?");
        if (!v[query]) {
                sb_add(&b, v + q, strlen(v + q));
                return sb_done(&b);
        }
        sb_add(&b, v + q, query + 1 - q);
        for (const char *p = v + query + 1; *p;) {
                size_t pn = strcspn(p, "&");
                size_t nn = strcspn(p, "=&");
                if (p[nn] == '=' && mask_keyword(p, nn)) {
                        sb_add(&b, p, nn + 1);
                        sb_add(&b, CONFIG_MASK, strlen(CONFIG_MASK));
                } else {
                        sb_add(&b, p, pn);
                }
                p += pn;
                if (*p == '&')
                        sb_add(&b, p++, 1);
        }
        return sb_done(&b);
}

/* keyword = value pairs as libpq reads them (fe-connect.c
 * conninfo_parse): spaces around '=' allowed, a value quoted with '...'
 * and backslash escapes.  Only password's value is replaced; NULL (mask
 * everything) when the text does not parse. */
static char *mask_pairs(const char *v, bool *parsed)
{
        sbuf_t b = {0};
        const char *p = v;
        *parsed = false;
        while (*p) {
                const char *from = p;
                while (is_space(*p))
                        p++;
                if (!*p) {
                        sb_add(&b, from, (size_t)(p - from));
                        break;
                }
                const char *kw = p;
                while (*p && *p != '=' && !is_space(*p))
                        p++;
                size_t kwn = (size_t)(p - kw);
                while (is_space(*p))
                        p++;
                if (*p != '=' || kwn == 0)
                        goto bad;
                p++;
                while (is_space(*p))
                        p++;
                const char *val = p;
                if (*p == '\'') {
                        for (p++; *p && *p != '\''; p++)
                                if (*p == '\\' && p[1])
                                        p++;
                        if (*p != '\'')
                                goto bad;
                        p++;
                } else {
                        for (; *p && !is_space(*p); p++)
                                if (*p == '\\' && p[1])
                                        p++;
                }
                sb_add(&b, from, (size_t)(val - from));
                bool dbname = kwn == 6 && strncmp(kw, "dbname", 6) == 0;
                if (mask_keyword(kw, kwn) &&
                    (!dbname || nested_conninfo(val, (size_t)(p - val))))
                        sb_add(&b, CONFIG_MASK, strlen(CONFIG_MASK));
                else
                        sb_add(&b, val, (size_t)(p - val));
        }
        *parsed = true;
        return sb_done(&b);
bad:
        free(b.s);
        return NULL;
}

static char *mask_conninfo(const char *v)
{
        if (strncmp(v, "postgresql://", 13) == 0)
                return mask_uri(v, 13);
        if (strncmp(v, "postgres://", 11) == 0)
                return mask_uri(v, 11);
        bool parsed;
        char *m = mask_pairs(v, &parsed);
        return parsed ? m : dup_str(CONFIG_MASK);
}

char *config_mask(const config_key_t *k, const char *kafka_key,
                  const char *value)
{
        bool secret = k ? k->secret : config_kafka_secret(kafka_key);
        if (!secret)
                return dup_str(value);
        if (k && k->type == CONFIG_CONNINFO)
                return mask_conninfo(value);
        return dup_str(CONFIG_MASK);
}

/* ---- --check and the reference ------------------------------------------ */

static const char *source_name(config_source_t s)
{
        switch (s) {
        case CONFIG_SRC_UNSET:
                return "unset";
        case CONFIG_SRC_DEFAULT:
                return "default";
        case CONFIG_SRC_FILE:
                return "file";
        case CONFIG_SRC_ENV:
                return "environment";
        }
        return "?";
}

void config_print_effective(const config_t *c, const char *path, FILE *f)
{
        fprintf(f, "# patuhd --check: the effective configuration of %s\n",
                path);
        fprintf(f, "# (secrets masked as %s; source after '#')\n", CONFIG_MASK);
        for (size_t i = 0; i < N_KEYS; i++) {
                const config_key_t *k = &keys[i];
                config_source_t src = (config_source_t)c->source[i];
                char num[32];
                const char *v;
                char *masked = NULL;
                if (k->type == CONFIG_INT) {
                        snprintf(num, sizeof(num), "%ld",
                                 *(const long *)(const void *)((const char *)c +
                                                               k->offset));
                        v = num;
                } else if (*cstr_field(c, k)) {
                        masked = config_mask(k, NULL, *cstr_field(c, k));
                        v = masked ? masked : CONFIG_MASK;
                } else {
                        v = "(unset)";
                }
                fprintf(f, "%-24s = %s  # %s", k->key, v, source_name(src));
                if (src == CONFIG_SRC_ENV)
                        fprintf(f, " %s", k->env);
                if (src == CONFIG_SRC_UNSET && k->def_doc)
                        fprintf(f, ": %s", k->def_doc);
                fprintf(f, "%s\n", k->reloadable ? ", reloads on SIGHUP" : "");
                free(masked);
        }
        fprintf(f, "# passed through to librdkafka (kafka.<property>): %zu\n",
                c->n_kafka);
        for (size_t i = 0; i < c->n_kafka; i++) {
                char *masked =
                    config_mask(NULL, c->kafka[i].key, c->kafka[i].value);
                fprintf(f, "kafka.%-18s = %s  # file\n", c->kafka[i].key,
                        masked ? masked : CONFIG_MASK);
                free(masked);
        }
}

static void type_doc(const config_key_t *k, FILE *f)
{
        switch (k->type) {
        case CONFIG_PATH:
                fputs("path", f);
                return;
        case CONFIG_STRING:
                fputs("string", f);
                return;
        case CONFIG_HOSTS:
                fputs("host:port list", f);
                return;
        case CONFIG_INT:
                fprintf(f, "integer, %ld–%ld", k->min, k->max);
                return;
        case CONFIG_ENUM:
                for (const char *p = k->choices; *p;) {
                        size_t n = strcspn(p, "|");
                        fprintf(f, "%s`%.*s`", p == k->choices ? "" : ", ",
                                (int)n, p);
                        p += n + (p[n] == '|');
                }
                return;
        case CONFIG_URL:
                fputs("redis URL", f);
                return;
        case CONFIG_CONNINFO:
                fputs("libpq conninfo", f);
                return;
        case CONFIG_LISTEN:
                fputs("host:port or `off`", f);
                return;
        }
}

void config_print_doc(FILE *f)
{
        fputs("# patuhd configuration reference\n"
              "\n"
              "<!-- Generated by `build/patuhd --print-config-doc` from the "
              "table in\n     engine/config.c; the config_doc test fails "
              "when this file differs.\n     Do not edit by hand: change "
              "the table and regenerate. -->\n"
              "\n"
              "`patuhd --config FILE` reads `key = value` lines; `#` starts "
              "a comment line,\nblank lines are ignored, spaces around `=` "
              "and at the ends are trimmed, and\nthe last of a repeated key "
              "wins. An unknown key, an empty or ill-typed value\nor a "
              "missing required key stops start-up with exit status 2 and "
              "a message\nnaming the file, the line and the key — never "
              "the value. The sample is\n`deploy/patuhd.conf.sample`.\n"
              "\n"
              "| key | type | default | unit | reload | description |\n"
              "|---|---|---|---|---|---|\n",
              f);
        for (size_t i = 0; i < N_KEYS; i++) {
                const config_key_t *k = &keys[i];
                fprintf(f, "| `%s` | ", k->key);
                type_doc(k, f);
                fputs(" | ", f);
                if (k->def)
                        fprintf(f, "`%s`", k->def);
                else if (k->required && k->env)
                        fprintf(f, "required (or `$%s`)", k->env);
                else if (k->required)
                        fputs("required", f);
                else if (k->def_doc)
                        fputs(k->def_doc, f);
                fprintf(f, " | %s | %s | %s%s |\n", k->unit ? k->unit : "",
                        k->reloadable ? "SIGHUP" : "restart", k->doc,
                        k->secret ? " **Secret.**" : "");
        }
        fputs("\n## Environment\n\n", f);
        for (size_t i = 0; i < N_KEYS; i++)
                if (keys[i].env)
                        fprintf(f, "- `%s` sets `%s`.\n", keys[i].env,
                                keys[i].key);
        fputs("\nEach variable is the key's default and overrides the file "
              "(an empty\nvariable is no override), so a file holding only "
              "the three reference files\nruns against the local stack "
              "after `eval \"$(deploy/stack env)\"`. Under\nsystemd leave "
              "them unset: the file is the configuration.\n"
              "\n"
              "## Kafka pass-through\n"
              "\n"
              "Any other `kafka.<property>` goes to librdkafka as "
              "`<property>` (for the\nconsumer and the producer alike), "
              "e.g. `kafka.security.protocol = SASL_SSL`.\nlibrdkafka "
              "checks them when patuhd starts (and with `--check`); a "
              "refusal names\nthe key, never the value.\n"
              "\n"
              "## Secrets\n"
              "\n"
              "Secret values are never logged and `--check` prints them "
              "as `" CONFIG_MASK "`:\n"
              "\n"
              "- `pg.conninfo`: only the password is masked "
              "(`password=" CONFIG_MASK "`, the\n  password of a "
              "`postgresql://user:password@host/db` URI, and a "
              "`password=`\n  query parameter); host, port, dbname and "
              "user stay visible. A conninfo\n  the masking cannot parse "
              "is masked whole.\n"
              "- every pass-through `kafka.<property>` whose name contains "
              "`password` or\n  `secret` (`kafka.sasl.password`, "
              "`kafka.ssl.key.password`,\n  "
              "`kafka.sasl.oauthbearer.client.secret`, ...), and "
              "`kafka.ssl.key.pem`,\n  `kafka.sasl.oauthbearer.config`.\n"
              "\n"
              "Keep the file readable by the service account only (mode "
              "0640, owner root,\ngroup patuh: `docs/operations.md`).\n"
              "\n"
              "## Checking a file\n"
              "\n"
              "    patuhd --config /etc/patuh/patuhd.conf --check\n"
              "\n"
              "validates the file, the environment and the policy, roster "
              "and calendar it\nnames, prints every key above with its "
              "effective value and where it came\nfrom (`default`, "
              "`file`, `environment`), then the pass-through properties,\n"
              "and exits 0; a refusal exits 2 with the message start-up "
              "would give. It\nconnects to no server.\n"
              "\n"
              "## Reload\n"
              "\n"
              "Keys marked SIGHUP are the ones SIGHUP (`systemctl reload "
              "patuhd`) applies\nto the running engine (for `roster.file` "
              "and `calendar.file`: the files'\ncontents, re-read); every "
              "other key needs a restart, and a SIGHUP that\nfinds one "
              "changed names it in the log (`reload: batch.max_ms changed "
              "...;\na restart applies it`). The file and the roster and "
              "calendar it names are\nvalidated first: a refusal is "
              "logged and the ones in force stay. patuhd\nthen lets the "
              "batches in hand become durable, evaluates every stored\n"
              "employee-day within the amend horizon again under the new "
              "roster and\ncalendar, and publishes what changed as "
              "ordinary amendments (a new holiday\nretracts that day's "
              "violations, reason `late_data`; a `wfh_suspended` day\n"
              "turns WFH presence into `wfh_not_permitted`); older days "
              "keep their\ndecisions. An employee new to the roster is "
              "expected from the day after\n(`employees.expected_from`). "
              "`patuh_reloads_total{result}` counts each\nSIGHUP: "
              "`applied`, `refused` (a bad file) or `failed` (PostgreSQL or "
              "Redis\naway: tried again every 5 s). Details: "
              "[operations.md](operations.md),\n\"Reload\".\n"
              "\n"
              "## Logs\n"
              "\n"
              "patuhd writes one line per event to stderr (the journal "
              "under systemd).\n`log.format = text`:\n"
              "\n"
              "    2026-12-01T12:00:00.123Z info patuhd: holding the engine "
              "lease as B (epoch 2)\n"
              "\n"
              "`log.format = json`, one object a line:\n"
              "\n"
              "    {\"ts\":\"2026-12-01T12:00:00.123Z\",\"level\":\"info\","
              "\"msg\":\"holding the engine lease as B (epoch 2)\"}\n"
              "\n"
              "Levels, most severe first: `error` (patuhd stops on it: out "
              "of memory, the\nengine lease lost to another instance, a "
              "server or file it cannot start\nwithout), `warn` (a write "
              "failed and is retried, a reload refused or\nfailed, a new "
              "log level), `info` (start-up, the lease, reloads, drain,\n"
              "shutdown), `debug`. A line below `log.level` is not even "
              "formatted.\nNewlines in a message (PostgreSQL's errors "
              "have them) are written as `\\n`,\nso an event stays one "
              "line. A refused configuration is reported before the\nlog "
              "format is known: as a plain `patuhd: ...` line on stderr.\n",
              f);
}
