/*
 * kafka_committed — the offsets a consumer group has committed, for the
 * live tests (tests/live_test.sh faults: SIGTERM drains and commits).
 *
 *   kafka_committed [--rewind N] BOOTSTRAP GROUP TOPIC...
 *
 * Prints one line "TOPIC PARTITION OFFSET" per partition with a committed
 * offset to stderr, and on stdout the sum of the committed offsets over
 * every partition of the topics (a partition without one counts 0): for
 * topics read from their start, the number of records the group will not
 * read again.  Exits 1 when the broker cannot be asked.
 * --rewind N then moves the committed offsets back by N records in all,
 * spread over the partitions (none below 0), and commits them: the group
 * reads those records again, as after an operator's reset (the fault
 * tests: nothing may be written twice).  The sum printed is the one
 * before the rewind.
 */
#include <librdkafka/rdkafka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
        fprintf(stderr, "usage: kafka_committed [--rewind N] BOOTSTRAP GROUP "
                        "TOPIC...\n");
        return 2;
}

/* Moves LIST's offsets back by N in all, a record at a time round the
 * partitions so that every one is rewound alike; returns how many. */
static long long rewind_by(rd_kafka_topic_partition_list_t *list, long long n)
{
        long long done = 0;
        for (bool moved = true; done < n && moved;) {
                moved = false;
                for (int i = 0; i < list->cnt && done < n; i++)
                        if (list->elems[i].offset > 0) {
                                list->elems[i].offset--;
                                done++;
                                moved = true;
                        }
        }
        return done;
}

int main(int argc, char **argv)
{
        long long rewind = 0;
        if (argc > 2 && strcmp(argv[1], "--rewind") == 0) {
                char *end;
                rewind = strtoll(argv[2], &end, 10);
                if (*end || rewind < 1)
                        return usage();
                argv += 2;
                argc -= 2;
        }
        if (argc < 4)
                return usage();
        char err[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "bootstrap.servers", argv[1], err,
                              sizeof(err)) != RD_KAFKA_CONF_OK ||
            rd_kafka_conf_set(conf, "group.id", argv[2], err, sizeof(err)) !=
                RD_KAFKA_CONF_OK) {
                fprintf(stderr, "kafka_committed: %s\n", err);
                rd_kafka_conf_destroy(conf);
                return 1;
        }
        rd_kafka_t *rk =
            rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
        if (!rk) {
                fprintf(stderr, "kafka_committed: %s\n", err);
                rd_kafka_conf_destroy(conf);
                return 1;
        }
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new(16);
        int rc = 0;
        for (int i = 3; i < argc && rc == 0; i++) {
                rd_kafka_topic_t *t = rd_kafka_topic_new(rk, argv[i], NULL);
                const struct rd_kafka_metadata *md = NULL;
                rd_kafka_resp_err_t e =
                    t ? rd_kafka_metadata(rk, 0, t, &md, 10000)
                      : RD_KAFKA_RESP_ERR__INVALID_ARG;
                if (e || md->topic_cnt != 1 || md->topics[0].err) {
                        fprintf(stderr, "kafka_committed: %s: %s\n", argv[i],
                                rd_kafka_err2str(e ? e : md->topics[0].err));
                        rc = 1;
                } else {
                        for (int p = 0; p < md->topics[0].partition_cnt; p++)
                                rd_kafka_topic_partition_list_add(
                                    list, argv[i],
                                    md->topics[0].partitions[p].id);
                }
                if (md)
                        rd_kafka_metadata_destroy(md);
                if (t)
                        rd_kafka_topic_destroy(t);
        }
        if (rc == 0) {
                rd_kafka_resp_err_t e = rd_kafka_committed(rk, list, 10000);
                if (e) {
                        fprintf(stderr, "kafka_committed: %s\n",
                                rd_kafka_err2str(e));
                        rc = 1;
                }
        }
        long long sum = 0;
        for (int i = 0; rc == 0 && i < list->cnt; i++) {
                const rd_kafka_topic_partition_t *tp = &list->elems[i];
                if (tp->err) {
                        fprintf(stderr, "kafka_committed: %s %d: %s\n",
                                tp->topic, (int)tp->partition,
                                rd_kafka_err2str(tp->err));
                        rc = 1;
                } else if (tp->offset >= 0) {
                        fprintf(stderr, "%s %d %lld\n", tp->topic,
                                (int)tp->partition, (long long)tp->offset);
                        sum += tp->offset;
                }
        }
        if (rc == 0)
                printf("%lld\n", sum);
        if (rc == 0 && rewind > 0) {
                /* partitions without a committed offset stay as they are */
                for (int i = 0; i < list->cnt; i++)
                        if (list->elems[i].offset < 0)
                                list->elems[i].offset = 0;
                long long got = rewind_by(list, rewind);
                rd_kafka_resp_err_t e = rd_kafka_commit(rk, list, 0);
                if (e) {
                        fprintf(stderr, "kafka_committed: commit: %s\n",
                                rd_kafka_err2str(e));
                        rc = 1;
                } else {
                        fprintf(stderr, "rewound %lld records\n", got);
                }
        }
        rd_kafka_topic_partition_list_destroy(list);
        rd_kafka_destroy(rk);
        return rc;
}
