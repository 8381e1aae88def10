#include "config.h"

#include "../rules/jsonv.h"
#include "httpd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dup_range(const char *s, size_t n)
{
        char *d = malloc(n + 1);
        if (d) {
                memcpy(d, s, n);
                d[n] = '\0';
        }
        return d;
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

static bool set_str(char **dst, const char *v)
{
        free(*dst);
        *dst = dup_range(v, strlen(v));
        return *dst != NULL;
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

void config_free(config_t *c)
{
        if (!c)
                return;
        free(c->policy_file);
        free(c->roster_file);
        free(c->calendar_file);
        free(c->kafka_bootstrap);
        free(c->kafka_group);
        free(c->topic_prefix);
        free(c->redis_url);
        free(c->pg_conninfo);
        free(c->instance_id);
        free(c->metrics_listen);
        for (size_t i = 0; i < c->n_kafka; i++) {
                free(c->kafka[i].key);
                free(c->kafka[i].value);
        }
        free(c->kafka);
        free(c);
}

/* metrics.listen: "off", or an address httpd can listen on. */
static bool listen_ok(const char *v)
{
        char host[256];
        int port;
        return httpd_listen_off(v) ||
               httpd_parse_listen(v, host, sizeof(host), &port);
}

/* One `key = value`; false with errstr set when refused. */
static bool apply(config_t *c, const char *key, const char *value,
                  const char *where, char *errstr, size_t n)
{
        char **str = strcmp(key, "policy.file") == 0       ? &c->policy_file
                     : strcmp(key, "roster.file") == 0     ? &c->roster_file
                     : strcmp(key, "calendar.file") == 0   ? &c->calendar_file
                     : strcmp(key, "kafka.bootstrap") == 0 ? &c->kafka_bootstrap
                     : strcmp(key, "kafka.group") == 0     ? &c->kafka_group
                     : strcmp(key, "kafka.topic_prefix") == 0 ? &c->topic_prefix
                     : strcmp(key, "redis.url") == 0          ? &c->redis_url
                     : strcmp(key, "pg.conninfo") == 0        ? &c->pg_conninfo
                     : strcmp(key, "instance.id") == 0        ? &c->instance_id
                     : strcmp(key, "metrics.listen") == 0 ? &c->metrics_listen
                                                          : NULL;
        if (str) {
                if (!*value) {
                        snprintf(errstr, n, "%s: %s: empty value", where, key);
                        return false;
                }
                if (str == &c->metrics_listen && !listen_ok(value)) {
                        snprintf(errstr, n,
                                 "%s: %s: expected host:port, "
                                 "[address]:port, :port or off",
                                 where, key);
                        return false;
                }
                return set_str(str, value);
        }
        if (strcmp(key, "lease.ttl_ms") == 0 ||
            strcmp(key, "write.timeout_ms") == 0) {
                long *v = strcmp(key, "lease.ttl_ms") == 0
                              ? &c->lease_ttl_ms
                              : &c->write_timeout_ms;
                if (!parse_long(value, 1000, 600000, v)) {
                        snprintf(errstr, n,
                                 "%s: %s: expected an integer between 1000 "
                                 "and 600000",
                                 where, key);
                        return false;
                }
                return true;
        }
        if (strcmp(key, "batch.max_records") == 0 ||
            strcmp(key, "batch.max_ms") == 0) {
                bool rec = strcmp(key, "batch.max_records") == 0;
                if (!parse_long(value, 1, rec ? 1000000 : 60000,
                                rec ? &c->batch_max_records
                                    : &c->batch_max_ms)) {
                        snprintf(errstr, n,
                                 "%s: %s: expected an integer "
                                 "between 1 and %d",
                                 where, key, rec ? 1000000 : 60000);
                        return false;
                }
                return true;
        }
        if (strncmp(key, "kafka.", 6) == 0 && key[6]) {
                config_kv_t *kv =
                    realloc(c->kafka, (c->n_kafka + 1) * sizeof(*kv));
                if (!kv)
                        return false;
                c->kafka = kv;
                kv[c->n_kafka].key = dup_range(key + 6, strlen(key + 6));
                kv[c->n_kafka].value = dup_range(value, strlen(value));
                c->n_kafka++;
                return kv[c->n_kafka - 1].key && kv[c->n_kafka - 1].value;
        }
        snprintf(errstr, n, "%s: unknown key '%s'", where, key);
        return false;
}

static bool env_override(char **dst, const char *var)
{
        const char *v = getenv(var);
        return !v || !*v || set_str(dst, v);
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
        config_t *c = calloc(1, sizeof(*c));
        if (!c) {
                free(buf);
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        c->batch_max_records = 10000;
        c->batch_max_ms = 50;
        c->lease_ttl_ms = 15000;
        c->write_timeout_ms = 30000;
        size_t pos = 0, n, line = 0;
        const char *s;
        bool ok = true;
        while (ok && jsonv_next_line(buf, len, &pos, &s, &n, &line)) {
                trim(&s, &n);
                if (n == 0 || s[0] == '#')
                        continue;
                char where[600];
                snprintf(where, sizeof(where), "config file %s line %zu", path,
                         line);
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
                ok = key && value &&
                     apply(c, key, value, where, errstr, errstr_size);
                free(key);
                free(value);
        }
        free(buf);
        /* the environment overrides the file for connection settings */
        ok = ok && env_override(&c->kafka_bootstrap, "PATUH_KAFKA_BOOTSTRAP") &&
             env_override(&c->redis_url, "PATUH_REDIS_URL") &&
             env_override(&c->pg_conninfo, "PATUH_PG_CONNINFO");
        if (ok) {
                const char *missing =
                    !c->policy_file       ? "policy.file"
                    : !c->roster_file     ? "roster.file"
                    : !c->calendar_file   ? "calendar.file"
                    : !c->kafka_bootstrap ? "kafka.bootstrap (or "
                                            "PATUH_KAFKA_BOOTSTRAP)"
                    : !c->redis_url       ? "redis.url (or PATUH_REDIS_URL)"
                    : !c->pg_conninfo     ? "pg.conninfo (or PATUH_PG_CONNINFO)"
                                          : NULL;
                if (missing) {
                        snprintf(errstr, errstr_size,
                                 "config file %s: missing %s", path, missing);
                        ok = false;
                }
        }
        if (ok && (!c->kafka_group && !set_str(&c->kafka_group, "patuhd")))
                ok = false;
        if (ok && (!c->topic_prefix && !set_str(&c->topic_prefix, "patuh.")))
                ok = false;
        if (ok && !c->metrics_listen &&
            !set_str(&c->metrics_listen, "127.0.0.1:9187"))
                ok = false;
        if (ok) {
                char host[256];
                int port, db;
                if (!config_redis_url(c->redis_url, host, sizeof(host), &port,
                                      &db)) {
                        snprintf(errstr, errstr_size,
                                 "config file %s: redis.url: expected "
                                 "redis://host:port/db",
                                 path);
                        ok = false;
                }
        }
        if (!ok) {
                config_free(c);
                return NULL;
        }
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
