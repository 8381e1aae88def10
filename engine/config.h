/*
 * config — patuhd's configuration file: `key = value` lines, `#` comments.
 *
 * The file may hold credentials (a PostgreSQL password in pg.conninfo, a
 * Kafka SASL password in kafka.sasl.password): keep it readable by the
 * service account only; patuhd never logs a value.  Connection settings
 * default to the PATUH_* variables that `deploy/stack env` prints, and
 * those variables override the file, so a config holding only the three
 * reference files runs against the local stack.
 */
#ifndef PATUH_CONFIG_H
#define PATUH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct config_kv {
        char *key;   /* owned, without the "kafka." prefix */
        char *value; /* owned */
} config_kv_t;

typedef struct config {
        char *policy_file;      /* policy.file (required) */
        char *roster_file;      /* roster.file (required) */
        char *calendar_file;    /* calendar.file (required) */
        char *kafka_bootstrap;  /* kafka.bootstrap / PATUH_KAFKA_BOOTSTRAP */
        char *kafka_group;      /* kafka.group, default "patuhd" */
        char *topic_prefix;     /* kafka.topic_prefix, default "patuh." */
        char *redis_url;        /* redis.url / PATUH_REDIS_URL */
        char *pg_conninfo;      /* pg.conninfo / PATUH_PG_CONNINFO */
        long batch_max_records; /* batch.max_records, default 10000 */
        long batch_max_ms;      /* batch.max_ms, default 50 */
        char *instance_id;      /* instance.id: this instance's name in the
                                   engine lease (and, when set, its Kafka
                                   group.instance.id); default host:pid */
        long lease_ttl_ms;      /* lease.ttl_ms, default 15000 */
        long write_timeout_ms;  /* write.timeout_ms, default 30000: how long
                                   a PostgreSQL or Redis write may wait for
                                   its answer before it counts as failed */
        char *metrics_listen;   /* metrics.listen, default "127.0.0.1:9187":
                                   where /metrics, /healthz and /readyz
                                   are served; "off": not at all */
        config_kv_t *kafka;     /* other kafka.* properties, passed through */
        size_t n_kafka;
} config_t;

/* Loads and validates FILE; on failure NULL with a message naming the file,
 * line and key.  Caller frees with config_free. */
config_t *config_load(const char *path, char *errstr, size_t errstr_size);
void config_free(config_t *c);

/* Host, port and database number of a redis://host:port/db URL. */
bool config_redis_url(const char *url, char *host, size_t host_size, int *port,
                      int *db);

#endif
