/*
 * patuh-kafka-sandbox — an embedded Kafka for the quick start and tests.
 *
 * Debian ships librdkafka but no broker.  librdkafka's mock cluster speaks
 * the real Kafka protocol on loopback (consumer groups, committed offsets,
 * several brokers, fault injection), so patuhd, `patuh produce` and kcat
 * talk to it like to any cluster.  It runs as its own process so that a
 * fault test can kill the engine and keep the broker (whose log lives in
 * memory).  Not for production: a real cluster is one bootstrap.servers
 * away.
 *
 * Control channel: a FIFO (--control PATH) taking one command per line:
 *   broker down ID | broker up ID | rtt ID MS |
 *   leader TOPIC PARTITION ID | topic TOPIC PARTITIONS [REPLICAS] |
 *   coordinator GROUP ID (the group's coordinator moves to broker ID) |
 *   produce-errors N (the next N Produce requests fail with a retriable
 *   NOT_LEADER_FOR_PARTITION, as during a leader election)
 * The mock cluster answers no CreateTopics request (librdkafka implements
 * none in it), so `patuh topics create --sandbox-control FIFO` creates its
 * topics through `topic`.  It keeps no topic configs either: nothing here
 * compacts or expires.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Created at start so that the sandbox is ready without a patuh build;
 * engine/cli_topics.c owns the list, and `deploy/stack up` runs `patuh
 * topics create` to add any topic missing here. */
static const char *const topics[] = {"presence",   "calls", "excuses",
                                     "violations", "tpp",   "alerts",
                                     "digests",    "dlq",   "work"};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
        (void)sig;
        stop = 1;
}

static int parse_int(const char *s, long min, long max, long *out)
{
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max)
                return -1;
        *out = v;
        return 0;
}

/* Executes one control command; answers on stderr (the log). */
static void control(rd_kafka_mock_cluster_t *mc, char *line)
{
        char *argv[5] = {0};
        int argc = 0;
        for (char *save = NULL, *tok = strtok_r(line, " \t\r", &save);
             tok && argc < 5; tok = strtok_r(NULL, " \t\r", &save))
                argv[argc++] = tok;
        long a = 0, b = 0, c = 0;
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
        if (argc == 3 && strcmp(argv[0], "broker") == 0 &&
            parse_int(argv[2], 1, 64, &a) == 0) {
                if (strcmp(argv[1], "down") == 0)
                        err = rd_kafka_mock_broker_set_down(mc, (int32_t)a);
                else if (strcmp(argv[1], "up") == 0)
                        err = rd_kafka_mock_broker_set_up(mc, (int32_t)a);
                else
                        goto usage;
        } else if (argc == 3 && strcmp(argv[0], "rtt") == 0 &&
                   parse_int(argv[1], 1, 64, &a) == 0 &&
                   parse_int(argv[2], 0, 600000, &b) == 0) {
                err = rd_kafka_mock_broker_set_rtt(mc, (int32_t)a, (int)b);
        } else if (argc == 4 && strcmp(argv[0], "leader") == 0 &&
                   parse_int(argv[2], 0, 100000, &b) == 0 &&
                   parse_int(argv[3], -1, 64, &c) == 0) {
                err = rd_kafka_mock_partition_set_leader(
                    mc, argv[1], (int32_t)b, (int32_t)c);
        } else if ((argc == 3 || argc == 4) && strcmp(argv[0], "topic") == 0 &&
                   parse_int(argv[2], 1, 10000, &b) == 0 &&
                   (argc == 3 || parse_int(argv[3], 1, 64, &c) == 0)) {
                err = rd_kafka_mock_topic_create(mc, argv[1], (int)b,
                                                 argc == 4 ? (int)c : 1);
        } else if (argc == 3 && strcmp(argv[0], "coordinator") == 0 &&
                   parse_int(argv[2], 1, 64, &a) == 0) {
                err = rd_kafka_mock_coordinator_set(mc, "group", argv[1],
                                                    (int32_t)a);
        } else if (argc == 2 && strcmp(argv[0], "produce-errors") == 0 &&
                   parse_int(argv[1], 1, 100000, &a) == 0) {
                /* ApiKey 0 is Produce (the protocol's numbering; the
                 * public headers name no ApiKeys) */
                for (long i = 0; i < a; i++)
                        rd_kafka_mock_push_request_errors(
                            mc, 0, 1,
                            RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION);
        } else {
                goto usage;
        }
        fprintf(stderr, "sandbox: %s: %s\n", argv[0],
                err ? rd_kafka_err2str(err) : "ok");
        return;
usage:
        fprintf(stderr, "sandbox: unknown control command\n");
}

static void usage(void)
{
        fputs(
            "usage: patuh-kafka-sandbox [--brokers N] [--partitions P]\n"
            "         [--prefix patuh.] [--bootstrap-file F] [--control FIFO]\n"
            "Starts a librdkafka mock cluster on 127.0.0.1, creates the "
            "patuh topics,\nprints the bootstrap address and runs until "
            "SIGTERM.\n",
            stderr);
}

int main(int argc, char **argv)
{
        long brokers = 1, partitions = 4;
        const char *prefix = "patuh.", *bootstrap_file = NULL, *fifo = NULL;
        for (int i = 1; i < argc; i++) {
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (strcmp(argv[i], "--brokers") == 0 && v &&
                    parse_int(v, 1, 16, &brokers) == 0) {
                        i++;
                } else if (strcmp(argv[i], "--partitions") == 0 && v &&
                           parse_int(v, 1, 1000, &partitions) == 0) {
                        i++;
                } else if (strcmp(argv[i], "--prefix") == 0 && v) {
                        prefix = v;
                        i++;
                } else if (strcmp(argv[i], "--bootstrap-file") == 0 && v) {
                        bootstrap_file = v;
                        i++;
                } else if (strcmp(argv[i], "--control") == 0 && v) {
                        fifo = v;
                        i++;
                } else {
                        usage();
                        return 2;
                }
        }
        char errstr[512];
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
        /* the mock brokers' sockets take this handle's settings: without
         * TCP_NODELAY a produce to more than one partition waited ~40 ms
         * for the client's delayed ACK before its second response went
         * out (48 ms for 100 messages to 12 partitions, 6.6 ms with it).
         * Kafka's brokers set TCP_NODELAY (socket server tcpNoDelay), so
         * this is what a real cluster does. */
        rd_kafka_conf_set(conf, "socket.nagle.disable", "true", errstr,
                          sizeof(errstr));
        rd_kafka_t *rk =
            rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "sandbox: %s\n", errstr);
                return 1;
        }
        rd_kafka_mock_cluster_t *mc =
            rd_kafka_mock_cluster_new(rk, (int)brokers);
        if (!mc) {
                fprintf(stderr, "sandbox: cannot start the mock cluster\n");
                rd_kafka_destroy(rk);
                return 1;
        }
        for (size_t t = 0; t < sizeof(topics) / sizeof(topics[0]); t++) {
                char name[256];
                snprintf(name, sizeof(name), "%s%s", prefix, topics[t]);
                rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
                    mc, name, (int)partitions, brokers < 3 ? (int)brokers : 3);
                if (err)
                        fprintf(stderr, "sandbox: topic %s: %s\n", name,
                                rd_kafka_err2str(err));
        }
        const char *bootstrap = rd_kafka_mock_cluster_bootstraps(mc);
        printf("%s\n", bootstrap);
        fflush(stdout);
        if (bootstrap_file) {
                char tmp[4096];
                snprintf(tmp, sizeof(tmp), "%s.tmp", bootstrap_file);
                FILE *f = fopen(tmp, "w");
                if (!f || fprintf(f, "%s\n", bootstrap) < 0 || fclose(f) ||
                    rename(tmp, bootstrap_file)) {
                        fprintf(stderr, "sandbox: cannot write %s\n",
                                bootstrap_file);
                        return 1;
                }
        }
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        int fd = -1;
        if (fifo) {
                unlink(fifo);
                if (mkfifo(fifo, 0600) != 0 ||
                    (fd = open(fifo, O_RDWR | O_NONBLOCK)) < 0) {
                        fprintf(stderr, "sandbox: control %s: %s\n", fifo,
                                strerror(errno));
                        return 1;
                }
        }
        char buf[1024];
        size_t fill = 0;
        while (!stop) {
                struct pollfd p = {fd, POLLIN, 0};
                int r = poll(&p, fd >= 0 ? 1 : 0, 200);
                if (r <= 0 || !(p.revents & POLLIN))
                        continue;
                ssize_t n = read(fd, buf + fill, sizeof(buf) - 1 - fill);
                if (n <= 0)
                        continue;
                fill += (size_t)n;
                buf[fill] = '\0';
                char *nl;
                while ((nl = strchr(buf, '\n'))) {
                        *nl = '\0';
                        control(mc, buf);
                        fill -= (size_t)(nl + 1 - buf);
                        memmove(buf, nl + 1, fill + 1);
                }
                if (fill == sizeof(buf) - 1)
                        fill = 0; /* an overlong line: drop it */
        }
        if (fd >= 0) {
                close(fd);
                unlink(fifo);
        }
        rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
        return 0;
}
