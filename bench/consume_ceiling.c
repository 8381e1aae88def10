/*
 * consume_ceiling — the throughput ceiling for bench/live: reads every
 * partition of the input topics from the beginning to its end (no group,
 * no state, no outputs) and parses each record with the same JSON parser
 * patuhd uses.  patuhd cannot be faster than this on the same broker.
 *   consume_ceiling BOOTSTRAP PREFIX
 */
#include "../consumers/pjson.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
        if (argc != 3) {
                fprintf(stderr, "usage: consume_ceiling BOOTSTRAP PREFIX\n");
                return 2;
        }
        char err[512], topic[256];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err,
                              sizeof(err)) ||
            rd_kafka_conf_set(conf, "group.id", "ceiling", err, sizeof(err)) ||
            rd_kafka_conf_set(conf, "enable.partition.eof", "true", err,
                              sizeof(err)) ||
            rd_kafka_conf_set(conf, "queued.min.messages", "1000000", err,
                              sizeof(err))) {
                fprintf(stderr, "%s\n", err);
                return 2;
        }
        rd_kafka_t *rk =
            rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
        if (!rk) {
                fprintf(stderr, "%s\n", err);
                return 2;
        }
        const struct rd_kafka_metadata *md;
        if (rd_kafka_metadata(rk, 1, NULL, &md, 10000)) {
                fprintf(stderr, "no metadata\n");
                return 1;
        }
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new(64);
        static const char *const names[] = {"presence", "calls", "excuses"};
        for (int t = 0; t < 3; t++) {
                snprintf(topic, sizeof(topic), "%s%s", argv[2], names[t]);
                for (int i = 0; i < md->topic_cnt; i++)
                        if (strcmp(md->topics[i].topic, topic) == 0)
                                for (int p = 0; p < md->topics[i].partition_cnt;
                                     p++)
                                        rd_kafka_topic_partition_list_add(
                                            list, topic, p)
                                            ->offset =
                                            RD_KAFKA_OFFSET_BEGINNING;
        }
        rd_kafka_metadata_destroy(md);
        int parts = list->cnt, ends = 0;
        rd_kafka_assign(rk, list);
        rd_kafka_topic_partition_list_destroy(list);
        long long n = 0, bad = 0;
        pj_tok_t tok[128];
        double t0 = 0;
        while (ends < parts) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 1000);
                if (!m)
                        continue;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        ends++;
                } else if (!m->err) {
                        if (!n)
                                t0 = now();
                        pj_doc_t d;
                        pj_tok_t *heap;
                        if (!pj_parse_any(&d, m->payload, m->len, tok, 128,
                                          &heap))
                                bad++;
                        free(heap);
                        n++;
                }
                rd_kafka_message_destroy(m);
        }
        double dt = now() - t0;
        printf("ceiling_records=%lld\nceiling_seconds=%.3f\n"
               "ceiling_records_per_s=%.0f\nceiling_unparsable=%lld\n",
               n, dt, dt > 0 ? n / dt : 0, bad);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return 0;
}
