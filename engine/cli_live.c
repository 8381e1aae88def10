#include "cli_live.h"

#include "../consumers/envelope.h"
#include "../rules/jsonv.h"
#include "output.h"
#include "report.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *env_or(const char *var, const char *dflt)
{
        const char *v = getenv(var);
        return v && *v ? v : dflt;
}

/* ---- patuh produce ------------------------------------------------------ */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
        (void)rk;
        (void)opaque;
        if (m->err) {
                long *failed = rd_kafka_opaque(rk);
                (*failed)++;
                fprintf(stderr, "patuh produce: delivery failed: %s\n",
                        rd_kafka_err2str(m->err));
        }
}

static int produce_file(rd_kafka_t *rk, const char *prefix, const char *path,
                        long *sent, long *skipped, unsigned long long run,
                        unsigned long long *seq)
{
        FILE *f = fopen(path, "rb");
        if (!f) {
                fprintf(stderr, "patuh produce: cannot open %s\n", path);
                return 2;
        }
        char *line = NULL;
        size_t cap = 0, n;
        long long lineno = 0;
        const char *s;
        while (jsonv_read_line(f, &line, &cap, &lineno, &s, &n)) {
                envelope_t env;
                char detail[256];
                if (envelope_parse(&env, s, n, detail, sizeof(detail)) !=
                    DLQ_NONE) {
                        /* no topic to send it to: said here, not lost */
                        fprintf(stderr,
                                "patuh produce: %s line %lld: %s "
                                "(not sent)\n",
                                path, lineno, detail);
                        (*skipped)++;
                        envelope_free(&env);
                        continue;
                }
                record_t rec;
                bool ok = envelope_record(&env, &rec, detail, sizeof(detail)) ==
                          DLQ_NONE;
                /* SPEC §1: the key is the employee (the callee for calls);
                 * a broken record keeps no key and patuhd dead-letters it */
                const char *key = ok ? record_key(&rec) : NULL;
                ptime_t t = env.has_ts ? env.ts
                            : ok       ? record_time(&rec)
                                       : PTIME_NEVER;
                int64_t ms = ptime_cmp(t, PTIME_NEVER) == 0
                                 ? 0
                                 : t.sec * 1000 + t.nsec / 1000000;
                char topic[256], tsbuf[256] = "";
                snprintf(topic, sizeof(topic), "%s%s", prefix,
                         rec_topic_name((rec_topic_t)env.topic));
                int tl = env.has_ts
                             ? pj_string(&env.doc, pj_get(&env.doc, 0, "ts"),
                                         tsbuf, sizeof(tsbuf))
                             : 0;
                rd_kafka_headers_t *h = rd_kafka_headers_new(2);
                if (env.has_ts && tl > 0)
                        rd_kafka_header_add(h, PATUH_HDR_TS, -1, tsbuf, tl);
                else
                        rd_kafka_header_add(h, PATUH_HDR_NO_TS, -1, "1", 1);
                /* the file order, which the partitions lose between keys:
                 * patuhd releases the records in it (engine/kin.h) */
                char seqbuf[48];
                int sl =
                    snprintf(seqbuf, sizeof(seqbuf), "%llu:%llu", run, ++*seq);
                rd_kafka_header_add(h, PATUH_HDR_SEQ, -1, seqbuf, sl);
                rd_kafka_resp_err_t err;
                for (;;) {
                        err = rd_kafka_producev(
                            rk, RD_KAFKA_V_TOPIC(topic),
                            RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
                            RD_KAFKA_V_VALUE((void *)env.value, env.value_len),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_TIMESTAMP(ms > 0 ? ms : 0),
                            RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END);
                        if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                                break;
                        rd_kafka_poll(rk, 100); /* let the queue drain */
                }
                if (err) {
                        rd_kafka_headers_destroy(h);
                        fprintf(stderr, "patuh produce: %s line %lld: %s\n",
                                path, lineno, rd_kafka_err2str(err));
                        envelope_free(&env);
                        free(line);
                        fclose(f);
                        return 1;
                }
                (*sent)++;
                rd_kafka_poll(rk, 0);
                envelope_free(&env);
        }
        free(line);
        fclose(f);
        return 0;
}

int cli_produce(int argc, char **argv)
{
        const char *files[256];
        size_t nf = 0;
        const char *bootstrap = env_or("PATUH_KAFKA_BOOTSTRAP", NULL);
        const char *prefix = env_or("PATUH_TOPIC_PREFIX", "patuh.");
        for (int i = 0; i < argc; i++) {
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (strcmp(argv[i], "--events") == 0 && v && nf < 256) {
                        files[nf++] = v;
                        i++;
                } else if (strcmp(argv[i], "--bootstrap") == 0 && v) {
                        bootstrap = v;
                        i++;
                } else if (strcmp(argv[i], "--prefix") == 0 && v) {
                        prefix = v;
                        i++;
                } else {
                        fprintf(stderr,
                                "usage: patuh produce --events FILE [--events "
                                "FILE ...] [--bootstrap HOST:PORT] [--prefix "
                                "patuh.]\n");
                        return 2;
                }
        }
        if (!nf || !bootstrap) {
                fprintf(stderr, "patuh produce: %s\n",
                        !nf ? "missing --events"
                            : "no Kafka: set PATUH_KAFKA_BOOTSTRAP "
                              "(eval \"$(deploy/stack env)\") or --bootstrap");
                return 2;
        }
        char err[512];
        long failed = 0;
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err,
                              sizeof(err)) ||
            rd_kafka_conf_set(conf, "enable.idempotence", "true", err,
                              sizeof(err)) ||
            rd_kafka_conf_set(conf, "linger.ms", "20", err, sizeof(err)) ||
            rd_kafka_conf_set(conf, "partitioner", "murmur2_random", err,
                              sizeof(err))) {
                fprintf(stderr, "patuh produce: %s\n", err);
                rd_kafka_conf_destroy(conf);
                return 2;
        }
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
        rd_kafka_conf_set_opaque(conf, &failed);
        rd_kafka_t *rk =
            rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!rk) {
                fprintf(stderr, "patuh produce: %s\n", err);
                return 2;
        }
        long sent = 0, skipped = 0;
        /* a run is numbered by its start (µs): a later run's lines come
         * after an earlier run's */
        struct timespec t0;
        clock_gettime(CLOCK_REALTIME, &t0);
        unsigned long long run = (unsigned long long)t0.tv_sec * 1000000ULL +
                                 (unsigned long long)t0.tv_nsec / 1000ULL;
        unsigned long long seq = 0;
        int rc = 0;
        for (size_t i = 0; i < nf && rc == 0; i++)
                rc = produce_file(rk, prefix, files[i], &sent, &skipped, run,
                                  &seq);
        if (rd_kafka_flush(rk, 60000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                fprintf(stderr, "patuh produce: not all messages were "
                                "delivered within 60 s\n");
                rc = 1;
        }
        if (failed)
                rc = 1;
        rd_kafka_destroy(rk);
        fprintf(stderr,
                "patuh produce: %ld records sent, %ld lines not sendable "
                "(bad envelope), %ld failed\n",
                sent, skipped, failed);
        return rc;
}

/* ---- patuh violations --------------------------------------------------- */

static void cell(const char *s, int width)
{
        int cols = 0;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                if ((*p & 0xC0) != 0x80)
                        cols++;
        fputs(s, stdout);
        for (; cols < width; cols++)
                putchar(' ');
        putchar(' ');
}

/* "45000" -> "Rp45.000" */
static const char *rupiah(const char *digits, char *out, size_t n)
{
        char *end;
        long long v = strtoll(digits, &end, 10);
        if (*end || end == digits)
                snprintf(out, n, "%s", digits);
        else
                out_rupiah(v, out, n);
        return out;
}

static const char *str_field(json_t *o, const char *k, char *buf, size_t n)
{
        json_t *v = json_object_get(o, k);
        if (json_is_string(v))
                return json_string_value(v);
        if (json_is_integer(v))
                snprintf(buf, n, "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v))
                snprintf(buf, n, "%g", json_real_value(v));
        else
                snprintf(buf, n, "-");
        return buf;
}

int cli_violations(int argc, char **argv)
{
        bool table = false, all = false;
        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--format") == 0 && i + 1 < argc &&
                    (strcmp(argv[i + 1], "jsonl") == 0 ||
                     strcmp(argv[i + 1], "table") == 0)) {
                        table = strcmp(argv[++i], "table") == 0;
                } else if (strcmp(argv[i], "--all") == 0) {
                        all = true;
                } else {
                        fprintf(stderr, "usage: patuh violations [--format "
                                        "jsonl|table] [--all]\n"
                                        "  final violations from PostgreSQL "
                                        "(--all: retracted ones too)\n");
                        return 2;
                }
        }
        const char *conninfo = env_or("PATUH_PG_CONNINFO", NULL);
        if (!conninfo) {
                fprintf(stderr, "patuh violations: no PostgreSQL: set "
                                "PATUH_PG_CONNINFO (eval \"$(deploy/stack "
                                "env)\")\n");
                return 2;
        }
        PGconn *pg = PQconnectdb(conninfo);
        if (PQstatus(pg) != CONNECTION_OK) {
                fprintf(stderr,
                        "patuh violations: cannot connect to "
                        "PostgreSQL: %s",
                        PQerrorMessage(pg));
                PQfinish(pg);
                return 1;
        }
        const char *q = "SELECT doc::text FROM violations "
                        "WHERE $1::bool OR status = 'active' "
                        "ORDER BY date, employee_id, kind, subject";
        const char *params[1] = {all ? "true" : "false"};
        PGresult *r = PQexecParams(pg, q, 1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                fprintf(stderr, "patuh violations: %s", PQerrorMessage(pg));
                PQclear(r);
                PQfinish(pg);
                return 1;
        }
        int n = PQntuples(r);
        if (table) {
                printf("Pelanggaran%s: %d\n\n", all ? "" : " aktif", n);
                cell("Tanggal", 10);
                cell("NIP", 18);
                cell("Unit", 12);
                cell("Pelanggaran", 24);
                cell("Band", 5);
                cell("Menit", 5);
                cell("TPP %", 5);
                cell("Potongan", 12);
                puts("Status");
        }
        for (int i = 0; i < n; i++) {
                const char *doc = PQgetvalue(r, i, 0);
                if (!table) {
                        puts(doc);
                        continue;
                }
                json_t *o = json_loads(doc, 0, NULL);
                char b[8][48], rp[64];
                cell(str_field(o, "date", b[0], 48), 10);
                cell(str_field(o, "employee_id", b[1], 48), 18);
                cell(str_field(o, "unit_id", b[2], 48), 12);
                int k = vkind_from_name(str_field(o, "kind", b[3], 48));
                cell(k >= 0 ? report_kind_label((vkind_t)k) : b[3], 24);
                cell(str_field(o, "band", b[4], 48), 5);
                cell(str_field(o, "minutes", b[5], 48), 5);
                cell(str_field(o, "tpp_percent", b[6], 48), 5);
                cell(rupiah(str_field(o, "tpp_amount", b[7], 48), rp,
                            sizeof(rp)),
                     12);
                const char *st = str_field(o, "status", b[0], 48);
                puts(strcmp(st, "active") == 0 ? "aktif" : "dicabut");
                json_decref(o);
        }
        if (table) {
                /* per unit: how many active violations of each kind */
                PQclear(r);
                r = PQexec(pg, "SELECT unit_id, kind, count(*), "
                               "sum(tpp_amount) FROM violations "
                               "WHERE status = 'active' GROUP BY 1, 2 "
                               "ORDER BY 1, 2");
                if (PQresultStatus(r) == PGRES_TUPLES_OK) {
                        printf("\nRekap per unit kerja (pelanggaran "
                               "aktif)\n\n");
                        for (int i = 0; i < PQntuples(r); i++) {
                                char rp[64];
                                int k = vkind_from_name(PQgetvalue(r, i, 1));
                                printf("  ");
                                cell(PQgetvalue(r, i, 0), 12);
                                cell(k >= 0 ? report_kind_label((vkind_t)k)
                                            : PQgetvalue(r, i, 1),
                                     24);
                                cell(PQgetvalue(r, i, 2), 4);
                                printf("potongan TPP %s\n",
                                       rupiah(PQgetvalue(r, i, 3), rp,
                                              sizeof(rp)));
                        }
                }
        }
        PQclear(r);
        PQfinish(pg);
        return 0;
}
