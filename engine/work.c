#include "work.h"

#include "kin.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct work {
        rd_kafka_t *cons; /* owned: the group member */
        char topic[256];  /* <prefix>work */
        int count;        /* its partitions */
        bool assigned;    /* a first assignment came */
        bool changed;     /* since the last work_owned */
};

int32_t work_of_unit(const char *unit_id, int w_count)
{
        uint32_t h = 2166136261u;
        for (const unsigned char *p = (const unsigned char *)unit_id; *p; p++)
                h = (h ^ *p) * 16777619u;
        return w_count > 0 ? (int32_t)(h % (uint32_t)w_count) : 0;
}

/* Runs inside rd_kafka_consumer_poll: the incremental assignment is
 * applied at once (cooperative-sticky moves only what must move), and
 * the daemon regroups at its next batch boundary.  A revoked partition
 * may still have a batch of this instance in flight: the new owner's
 * epoch fails it (lease.h, WORK_CHECK_SQL; store.h). */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
        work_t *w = opaque;
        bool coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                if (coop) {
                        rd_kafka_error_t *e =
                            rd_kafka_incremental_assign(rk, parts);
                        if (e)
                                rd_kafka_error_destroy(e);
                } else {
                        rd_kafka_assign(rk, parts);
                }
                w->assigned = true;
        } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
                if (coop) {
                        rd_kafka_error_t *e =
                            rd_kafka_incremental_unassign(rk, parts);
                        if (e)
                                rd_kafka_error_destroy(e);
                } else {
                        rd_kafka_assign(rk, NULL);
                }
        } else {
                /* anything else: librdkafka asks for everything back */
                rd_kafka_assign(rk, NULL);
        }
        w->changed = true;
}

static bool kconf(rd_kafka_conf_t *c, const char *k, const char *v, char *err,
                  size_t n)
{
        return rd_kafka_conf_set(c, k, v, err, n) == RD_KAFKA_CONF_OK;
}

work_t *work_new(const config_t *cfg, char *errstr, size_t errstr_size)
{
        work_t *w = calloc(1, sizeof(*w));
        if (!w) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        snprintf(w->topic, sizeof(w->topic), "%swork", cfg->topic_prefix);
        char group[512], session[32], heartbeat[32];
        snprintf(group, sizeof(group), "%s.work", cfg->kafka_group);
        snprintf(session, sizeof(session), "%ld",
                 cfg->scale_session_timeout_ms);
        snprintf(heartbeat, sizeof(heartbeat), "%ld",
                 cfg->scale_session_timeout_ms / 4);
        rd_kafka_conf_t *cc = kin_conf_new(cfg, errstr, errstr_size);
        if (!cc || !kconf(cc, "group.id", group, errstr, errstr_size) ||
            !kconf(cc, "partition.assignment.strategy", "cooperative-sticky",
                   errstr, errstr_size) ||
            !kconf(cc, "session.timeout.ms", session, errstr, errstr_size) ||
            !kconf(cc, "heartbeat.interval.ms", heartbeat, errstr,
                   errstr_size) ||
            !kconf(cc, "enable.auto.commit", "false", errstr, errstr_size) ||
            !kconf(cc, "client.id",
                   cfg->instance_id ? cfg->instance_id : "patuhd", errstr,
                   errstr_size)) {
                if (cc)
                        rd_kafka_conf_destroy(cc);
                free(w);
                return NULL;
        }
        rd_kafka_conf_set_rebalance_cb(cc, on_rebalance);
        rd_kafka_conf_set_opaque(cc, w);
        if (!(w->cons =
                  rd_kafka_new(RD_KAFKA_CONSUMER, cc, errstr, errstr_size))) {
                free(w);
                return NULL;
        }
        rd_kafka_poll_set_consumer(w->cons);
        /* the partition count decides every unit's work partition */
        for (int tries = 0; tries < 60 && w->count == 0; tries++) {
                w->count = kin_topic_partitions(w->cons, w->topic);
                if (w->count == 0) {
                        struct timespec ts = {0, 500 * 1000000};
                        nanosleep(&ts, NULL);
                }
        }
        if (w->count == 0) {
                snprintf(errstr, errstr_size,
                         "topic %s: not found (patuh topics create makes it)",
                         w->topic);
                work_free(w);
                return NULL;
        }
        rd_kafka_topic_partition_list_t *sub =
            rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, w->topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t e = rd_kafka_subscribe(w->cons, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (e) {
                snprintf(errstr, errstr_size, "subscribe %s: %s", w->topic,
                         rd_kafka_err2str(e));
                work_free(w);
                return NULL;
        }
        return w;
}

void work_free(work_t *w)
{
        if (!w)
                return;
        if (w->cons) {
                rd_kafka_consumer_close(w->cons);
                rd_kafka_destroy(w->cons);
        }
        free(w);
}

bool work_poll(work_t *w)
{
        /* the topic has no records: what comes is the rebalance callback
         * (run inside) or an error worth nothing more than a retry */
        rd_kafka_message_t *m;
        while ((m = rd_kafka_consumer_poll(w->cons, 0)) != NULL)
                rd_kafka_message_destroy(m);
        return w->changed;
}

bool work_assigned(const work_t *w)
{
        return w->assigned;
}

int work_count(const work_t *w)
{
        return w->count;
}

static int i32_cmp(const void *a, const void *b)
{
        int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
        return (x > y) - (x < y);
}

size_t work_owned(work_t *w, int32_t *out)
{
        w->changed = false;
        /* lost (a session expired while this process was stopped, cut
         * off): nothing is ours until the group says so again */
        if (rd_kafka_assignment_lost(w->cons))
                return 0;
        rd_kafka_topic_partition_list_t *list = NULL;
        if (rd_kafka_assignment(w->cons, &list) != RD_KAFKA_RESP_ERR_NO_ERROR ||
            !list)
                return 0;
        size_t n = 0;
        for (int i = 0; i < list->cnt; i++)
                if (strcmp(list->elems[i].topic, w->topic) == 0 &&
                    list->elems[i].partition >= 0 &&
                    list->elems[i].partition < w->count)
                        out[n++] = list->elems[i].partition;
        rd_kafka_topic_partition_list_destroy(list);
        qsort(out, n, sizeof(*out), i32_cmp);
        return n;
}
