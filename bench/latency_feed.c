/*
 * latency_feed — the load and the stopwatch of bench/latency.
 *
 *   latency_feed gen --employees N --days K --out DIR
 *       writes DIR/roster.jsonl (N employees, one unit per 50: the first
 *       of each unit is its jpt_pratama head, the others pelaksana under
 *       that head) and DIR/calendar.json ({}), and prints the first work
 *       date: the first Monday whose K workdays all lie within the
 *       policy's amend horizon (35 days) of today, Asia/Makassar, so no
 *       record sent now is too_late.
 *
 *   latency_feed run --bootstrap B --employees N --monday DATE
 *                    [--rate R] [--seconds D] [--drain S] [--prefix P]
 *       feeds R clock_in records/s for D s to P"presence" (record k: the
 *       employee k % N on the (k / N)-th workday from DATE, at 08:00-09:00
 *       local, so each one is a late_clock_in), each with a patuh-ts
 *       header holding its send instant, and at the same time reads
 *       P"alerts" from the beginning; each `violation` alert is matched to
 *       its (employee_id, date) and its latency is the alert's receipt
 *       minus the record's send instant (both CLOCK_REALTIME).  Stops
 *       when every record has its alert or S s (default 10) after the
 *       last send, and prints the figures.
 */
#include "../consumers/pjson.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define LOCAL_OFFSET_S (8 * 3600) /* Asia/Makassar, no DST */
#define HORIZON_DAYS 35           /* the shipped policy's amend horizon */
#define PER_UNIT 50
#define MAX_DAYS 64

/* ---- dates ------------------------------------------------------------- */

static int64_t days_from_civil(int64_t y, int m, int d)
{
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        int64_t yoe = y - era * 400;
        int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
        z += 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        *d = (int)(doy - (153 * mp + 2) / 5 + 1);
        *m = (int)(mp < 10 ? mp + 3 : mp - 9);
        *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* 0 = Monday ... 6 = Sunday (1970-01-01 was a Thursday) */
static int weekday(int64_t day)
{
        return (int)(((day % 7) + 7 + 3) % 7);
}

static void format_date(int64_t day, char out[11])
{
        int y, m, d;
        civil_from_days(day, &y, &m, &d);
        snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

static bool parse_date(const char *s, int64_t *day)
{
        int v[3];
        const int len[3] = {4, 2, 2};
        const char *p = s;
        for (int i = 0; i < 3; i++) {
                v[i] = 0;
                for (int j = 0; j < len[i]; j++, p++) {
                        if (*p < '0' || *p > '9')
                                return false;
                        v[i] = v[i] * 10 + (*p - '0');
                }
                if (i < 2 && *p++ != '-')
                        return false;
        }
        if (*p || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31)
                return false;
        *day = days_from_civil(v[0], v[1], v[2]);
        return true;
}

/* The k workdays (Monday to Friday) from `first` on. */
static int workdays(int64_t first, int k, int64_t *out)
{
        int n = 0;
        for (int64_t d = first; n < k; d++)
                if (weekday(d) < 5)
                        out[n++] = d;
        return n;
}

static int64_t realtime_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t monotonic_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- arguments --------------------------------------------------------- */

static bool parse_long(const char *s, long lo, long hi, long *out)
{
        if (!s || !*s)
                return false;
        char *end;
        errno = 0;
        long v = strtol(s, &end, 10);
        if (errno || *end || v < lo || v > hi)
                return false;
        *out = v;
        return true;
}

static void employee_id(long i, char out[32])
{
        /* an 18-digit NIP: birth date, TMT, then a sequence number */
        snprintf(out, 32, "198001012005%06d", (int)(i % 1000000));
}

/* ---- gen --------------------------------------------------------------- */

static int gen(long n, long days, const char *dir)
{
        int64_t now_day = (realtime_ns() / 1000000000 + LOCAL_OFFSET_S) / 86400;
        /* a day of margin: the run may cross local midnight */
        int64_t first = now_day - HORIZON_DAYS + 1;
        while (weekday(first) != 0)
                first++;
        int64_t wd[MAX_DAYS];
        workdays(first, (int)days, wd);
        if (wd[days - 1] > now_day) {
                fprintf(stderr,
                        "latency_feed: %ld workdays do not fit in the "
                        "%d-day horizon before today: fewer records or "
                        "more employees\n",
                        days, HORIZON_DAYS);
                return 2;
        }
        mkdir(dir, 0777);
        char path[4096];
        snprintf(path, sizeof(path), "%s/calendar.json", dir);
        FILE *f = fopen(path, "w");
        if (!f || fputs("{}\n", f) < 0 || fclose(f) != 0) {
                fprintf(stderr, "latency_feed: cannot write %s\n", path);
                return 1;
        }
        snprintf(path, sizeof(path), "%s/roster.jsonl", dir);
        if (!(f = fopen(path, "w"))) {
                fprintf(stderr, "latency_feed: cannot write %s\n", path);
                return 1;
        }
        for (long i = 0; i < n; i++) {
                char id[32], head[32];
                long unit = i / PER_UNIT;
                employee_id(i, id);
                employee_id(unit * PER_UNIT, head);
                bool is_head = i % PER_UNIT == 0;
                char boss[40];
                snprintf(boss, sizeof(boss), is_head ? "null" : "\"%s\"", head);
                fprintf(f,
                        "{\"employee_id\":\"%s\",\"name\":\"Pegawai %06ld\","
                        "\"unit_id\":\"unit-%04ld\",\"unit_name\":\"Unit "
                        "%04ld\",\"service_class\":null,"
                        "\"position_class\":\"%s\",\"supervisor_id\":%s,"
                        "\"head_id\":%s,\"tpp_monthly\":%ld,"
                        "\"wfh_exempt\":null,\"active\":true}\n",
                        id, i, unit + 1, unit + 1,
                        is_head ? "jpt_pratama" : "pelaksana", boss, boss,
                        is_head ? 20000000L : 5000000L);
        }
        if (fclose(f) != 0) {
                fprintf(stderr, "latency_feed: cannot write %s\n", path);
                return 1;
        }
        char date[11];
        format_date(first, date);
        printf("%s\n", date);
        return 0;
}

/* ---- run --------------------------------------------------------------- */

typedef struct {
        const char *bootstrap, *prefix;
        long n, rate, seconds, drain;
        int ndays;
        int64_t wd[MAX_DAYS];
        long long total;
        _Atomic long long *sent_ns; /* per record k: realtime send, 0 = not */
        double *lat_ms;             /* per record k: latency, < 0 = none */
        atomic_llong sent, matched, unmatched, others;
        atomic_bool stop;
        atomic_int consumer_ready; /* 1 ready, -1 failed */
} run_t;

static long long record_index(const run_t *r, const char *emp, const char *date)
{
        size_t len = strlen(emp);
        if (len != 18 || memcmp(emp, "198001012005", 12) != 0)
                return -1;
        long idx;
        if (!parse_long(emp + 12, 0, r->n - 1, &idx))
                return -1;
        int64_t day;
        if (!parse_date(date, &day))
                return -1;
        for (int j = 0; j < r->ndays; j++)
                if (r->wd[j] == day)
                        return (long long)j * r->n + idx;
        return -1;
}

static void on_alert(run_t *r, const rd_kafka_message_t *m, int64_t recv)
{
        pj_tok_t tok[256], *heap = NULL;
        pj_doc_t d;
        char kind[32], emp[80], date[16];
        if (!pj_parse_any(&d, m->payload, m->len, tok, 256, &heap)) {
                free(heap);
                atomic_fetch_add(&r->others, 1);
                return;
        }
        bool ok =
            pj_string(&d, pj_get(&d, 0, "kind"), kind, sizeof(kind)) > 0 &&
            strcmp(kind, "violation") == 0 &&
            pj_string(&d, pj_get(&d, 0, "employee_id"), emp, sizeof(emp)) > 0 &&
            pj_string(&d, pj_get(&d, 0, "date"), date, sizeof(date)) > 0;
        free(heap);
        if (!ok) {
                atomic_fetch_add(&r->others, 1);
                return;
        }
        long long k = record_index(r, emp, date);
        long long t = k >= 0 && k < r->total ? atomic_load(&r->sent_ns[k]) : 0;
        if (t == 0 || r->lat_ms[k] >= 0) {
                atomic_fetch_add(&r->unmatched, 1);
                return;
        }
        r->lat_ms[k] = (double)(recv - t) / 1e6;
        atomic_fetch_add(&r->matched, 1);
}

static rd_kafka_conf_t *conf_new(const run_t *r, char *err, size_t n)
{
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        if (rd_kafka_conf_set(c, "bootstrap.servers", r->bootstrap, err, n) !=
            RD_KAFKA_CONF_OK) {
                rd_kafka_conf_destroy(c);
                return NULL;
        }
        return c;
}

static void *consume(void *arg)
{
        run_t *r = arg;
        char err[512], topic[256];
        snprintf(topic, sizeof(topic), "%salerts", r->prefix);
        rd_kafka_conf_t *c = conf_new(r, err, sizeof(err));
        /* its own group; partitions assigned directly, no rebalance; a
         * short fetch wait so the stopwatch adds no broker long-poll */
        if (!c ||
            rd_kafka_conf_set(c, "group.id", "latency-bench", err,
                              sizeof(err)) ||
            rd_kafka_conf_set(c, "enable.auto.commit", "false", err,
                              sizeof(err)) ||
            rd_kafka_conf_set(c, "fetch.wait.max.ms", "5", err, sizeof(err)) ||
            rd_kafka_conf_set(c, "enable.partition.eof", "true", err,
                              sizeof(err))) {
                fprintf(stderr, "latency_feed: consumer: %s\n", err);
                if (c)
                        rd_kafka_conf_destroy(c);
                atomic_store(&r->consumer_ready, -1);
                return NULL;
        }
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, c, err, sizeof(err));
        if (!rk) {
                fprintf(stderr, "latency_feed: consumer: %s\n", err);
                atomic_store(&r->consumer_ready, -1);
                return NULL;
        }
        const struct rd_kafka_metadata *md;
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new(64);
        if (rd_kafka_metadata(rk, 1, NULL, &md, 10000) == 0) {
                for (int i = 0; i < md->topic_cnt; i++)
                        if (strcmp(md->topics[i].topic, topic) == 0)
                                for (int p = 0; p < md->topics[i].partition_cnt;
                                     p++)
                                        rd_kafka_topic_partition_list_add(
                                            list, topic, p)
                                            ->offset =
                                            RD_KAFKA_OFFSET_BEGINNING;
                rd_kafka_metadata_destroy(md);
        }
        if (list->cnt == 0 || rd_kafka_assign(rk, list)) {
                fprintf(stderr, "latency_feed: no topic %s\n", topic);
                rd_kafka_topic_partition_list_destroy(list);
                rd_kafka_destroy(rk);
                atomic_store(&r->consumer_ready, -1);
                return NULL;
        }
        int parts = list->cnt, at_end = 0;
        rd_kafka_topic_partition_list_destroy(list);
        /* ready once every partition has answered a fetch (its end): an
         * alert read late because this reader was still starting would
         * count against the engine */
        int64_t give_up = monotonic_ns() + 10000000000LL;
        while (at_end < parts && monotonic_ns() < give_up) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);
                if (m && m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
                        at_end++;
                if (m)
                        rd_kafka_message_destroy(m);
        }
        atomic_store(&r->consumer_ready, 1);
        while (!atomic_load(&r->stop)) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);
                if (!m)
                        continue;
                int64_t recv = realtime_ns();
                if (!m->err)
                        on_alert(r, m, recv);
                rd_kafka_message_destroy(m);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return NULL;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
        (void)opaque;
        if (m->err) {
                long *failed = rd_kafka_opaque(rk);
                (*failed)++;
        }
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return (x > y) - (x < y);
}

/* nearest rank */
static double pct(const double *v, long long n, double p)
{
        if (n == 0)
                return 0;
        long long i = (long long)(p / 100.0 * (double)n + 0.999999999) - 1;
        if (i < 0)
                i = 0;
        if (i >= n)
                i = n - 1;
        return v[i];
}

static void sleep_until(int64_t mono)
{
        struct timespec ts = {(time_t)(mono / 1000000000),
                              (long)(mono % 1000000000)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
               EINTR)
                ;
}

static int run(run_t *r)
{
        char err[512], topic[256];
        snprintf(topic, sizeof(topic), "%spresence", r->prefix);
        r->total = (long long)r->rate * r->seconds;
        r->ndays = (int)((r->total + r->n - 1) / r->n);
        if (r->ndays > MAX_DAYS) {
                fprintf(stderr, "latency_feed: more than %d workdays\n",
                        MAX_DAYS);
                return 2;
        }
        r->ndays = workdays(r->wd[0], r->ndays, r->wd);
        r->sent_ns = calloc((size_t)r->total, sizeof(*r->sent_ns));
        r->lat_ms = malloc((size_t)r->total * sizeof(*r->lat_ms));
        if (!r->sent_ns || !r->lat_ms) {
                fprintf(stderr, "latency_feed: out of memory\n");
                return 1;
        }
        for (long long k = 0; k < r->total; k++)
                r->lat_ms[k] = -1;

        long failed = 0;
        rd_kafka_conf_t *c = conf_new(r, err, sizeof(err));
        /* as patuh produce: librdkafka's defaults, linger.ms 5 spelled out */
        if (!c || rd_kafka_conf_set(c, "linger.ms", "5", err, sizeof(err)) !=
                      RD_KAFKA_CONF_OK) {
                fprintf(stderr, "latency_feed: producer: %s\n", err);
                return 1;
        }
        rd_kafka_conf_set_dr_msg_cb(c, on_delivery);
        rd_kafka_conf_set_opaque(c, &failed);
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
        if (!rk) {
                fprintf(stderr, "latency_feed: producer: %s\n", err);
                return 1;
        }
        /* The producer's first message would wait for its metadata and
         * its connections to the leaders: asked for now, before the clock
         * starts, so that the figures time the engine, not the feed's
         * start-up (patuhd's own producer is warmed up the same way). */
        rd_kafka_topic_t *wt = rd_kafka_topic_new(rk, topic, NULL);
        const struct rd_kafka_metadata *wmd = NULL;
        if (wt && rd_kafka_metadata(rk, 0, wt, &wmd, 10000) ==
                      RD_KAFKA_RESP_ERR_NO_ERROR)
                rd_kafka_metadata_destroy(wmd);
        if (wt)
                rd_kafka_topic_destroy(wt);
        pthread_t th;
        if (pthread_create(&th, NULL, consume, r) != 0) {
                fprintf(stderr, "latency_feed: no thread\n");
                return 1;
        }
        while (atomic_load(&r->consumer_ready) == 0)
                sleep_until(monotonic_ns() + 10000000);
        if (atomic_load(&r->consumer_ready) < 0) {
                pthread_join(th, NULL);
                return 1;
        }

        const int64_t slice = 1000000; /* 1 ms */
        int64_t t0 = monotonic_ns(), first_rt = 0, last_rt = 0;
        int64_t end = t0 + (int64_t)r->seconds * 1000000000;
        long long k = 0;
        int rc = 0;
        for (int64_t tick = t0; k < r->total; tick += slice) {
                int64_t now = monotonic_ns();
                long long due =
                    (long long)((double)(now - t0) * (double)r->rate / 1e9) + 1;
                if (now >= end)
                        due = r->total;
                for (; k < due && k < r->total; k++) {
                        long e = (long)(k % r->n);
                        int64_t day = r->wd[k / r->n];
                        char id[32], date[11], value[512], ts[64];
                        employee_id(e, id);
                        format_date(day, date);
                        long off = e * 3600 / r->n; /* 08:00:00-08:59:59 */
                        int vl = snprintf(
                            value, sizeof(value),
                            "{\"event_id\":\"lat-%lld\",\"employee_id\":\"%s\","
                            "\"type\":\"clock_in\",\"mode\":\"wfo\","
                            "\"at\":\"%sT08:%02ld:%02ld+08:00\","
                            "\"source\":\"bench-latency\"}",
                            k, id, date, off / 60, off % 60);
                        int64_t rt = realtime_ns();
                        int64_t sec = rt / 1000000000;
                        int y, mo, d;
                        civil_from_days(sec / 86400, &y, &mo, &d);
                        int tl = snprintf(
                            ts, sizeof(ts),
                            "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", y, mo, d,
                            (int)(sec % 86400 / 3600), (int)(sec % 3600 / 60),
                            (int)(sec % 60), (int)(rt % 1000000000));
                        rd_kafka_headers_t *h = rd_kafka_headers_new(1);
                        rd_kafka_header_add(h, "patuh-ts", -1, ts, tl);
                        atomic_store(&r->sent_ns[k], rt);
                        rd_kafka_resp_err_t e2;
                        while ((e2 = rd_kafka_producev(
                                    rk, RD_KAFKA_V_TOPIC(topic),
                                    RD_KAFKA_V_KEY(id, 18),
                                    RD_KAFKA_V_VALUE(value, (size_t)vl),
                                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                    RD_KAFKA_V_TIMESTAMP(rt / 1000000),
                                    RD_KAFKA_V_HEADERS(h), RD_KAFKA_V_END)) ==
                               RD_KAFKA_RESP_ERR__QUEUE_FULL)
                                rd_kafka_poll(rk, 1);
                        if (e2) {
                                rd_kafka_headers_destroy(h);
                                atomic_store(&r->sent_ns[k], 0);
                                fprintf(stderr, "latency_feed: produce: %s\n",
                                        rd_kafka_err2str(e2));
                                rc = 1;
                                break;
                        }
                        if (!first_rt)
                                first_rt = rt;
                        last_rt = rt;
                        atomic_fetch_add(&r->sent, 1);
                }
                if (rc)
                        break;
                rd_kafka_poll(rk, 0);
                if (k < r->total)
                        sleep_until(tick + slice);
        }
        int64_t feed_end = monotonic_ns();
        long long sent = atomic_load(&r->sent);
        rd_kafka_flush(rk, 10000);

        /* drain: every record has its alert, or r->drain s pass */
        while (atomic_load(&r->matched) < sent &&
               monotonic_ns() - feed_end < (int64_t)r->drain * 1000000000)
                sleep_until(monotonic_ns() + 10000000);
        int64_t drained = monotonic_ns();
        atomic_store(&r->stop, true);
        pthread_join(th, NULL);
        rd_kafka_destroy(rk);

        /* per 10 s of feeding (by send instant): does latency grow? */
        long nwin = (r->seconds + 9) / 10;
        double *scratch = malloc((size_t)r->total * sizeof(double));
        double(*win)[4] = calloc((size_t)nwin, sizeof(*win));
        if (!scratch || !win) {
                fprintf(stderr, "latency_feed: out of memory\n");
                return 1;
        }
        for (long w = 0; w < nwin; w++) {
                long long m = 0, all = 0;
                for (long long i = 0; i < r->total; i++) {
                        int64_t t = atomic_load(&r->sent_ns[i]);
                        long tw =
                            t ? (long)((t - first_rt) / 10000000000LL) : -1;
                        if (tw >= nwin)
                                tw = nwin - 1; /* the last send, at D s */
                        if (tw != w)
                                continue;
                        all++;
                        if (r->lat_ms[i] >= 0)
                                scratch[m++] = r->lat_ms[i];
                }
                qsort(scratch, (size_t)m, sizeof(double), cmp_double);
                win[w][0] = pct(scratch, m, 50);
                win[w][1] = pct(scratch, m, 99);
                win[w][2] = m ? scratch[m - 1] : 0;
                win[w][3] = (double)(all - m);
        }
        free(scratch);

        long long matched = atomic_load(&r->matched), n = 0;
        for (long long i = 0; i < r->total; i++)
                if (r->lat_ms[i] >= 0)
                        r->lat_ms[n++] = r->lat_ms[i];
        qsort(r->lat_ms, (size_t)n, sizeof(double), cmp_double);
        double feed_s = (double)(last_rt - first_rt) / 1e9;
        char d0[11], d1[11];
        format_date(r->wd[0], d0);
        format_date(r->wd[r->ndays - 1], d1);
        printf("  work dates         %s..%s (%d workdays)\n", d0, d1, r->ndays);
        printf("  records sent       %lld in %.2f s (target %ld x %ld s), "
               "%ld delivery failures\n",
               sent, feed_s, r->rate, r->seconds, failed);
        printf("  feed rate          %.0f records/s\n",
               feed_s > 0 ? (double)(sent - 1) / feed_s : 0.0);
        printf("  alerts matched     %lld\n", matched);
        printf("  missing            %lld (drain %.1f s after the last send)\n",
               sent - matched, (double)(drained - feed_end) / 1e9);
        printf("  other alerts       %lld violation not matched, %lld other "
               "kinds\n",
               (long long)atomic_load(&r->unmatched),
               (long long)atomic_load(&r->others));
        printf("  latency p50        %.1f ms\n", pct(r->lat_ms, n, 50));
        printf("  latency p90        %.1f ms\n", pct(r->lat_ms, n, 90));
        printf("  latency p99        %.1f ms\n", pct(r->lat_ms, n, 99));
        printf("  latency max        %.1f ms\n", n ? r->lat_ms[n - 1] : 0.0);
        if (n)
                printf("  latency min        %.1f ms\n", r->lat_ms[0]);
        printf("  per 10 s of feed   p50 / p99 / max ms (missing)\n");
        for (long w = 0; w < nwin; w++)
                printf("    %3ld-%3ld s        %.1f / %.1f / %.1f (%.0f)\n",
                       w * 10, w * 10 + 10, win[w][0], win[w][1], win[w][2],
                       win[w][3]);
        free(win);
        free(r->lat_ms);
        free((void *)r->sent_ns);
        return rc;
}

static int usage(void)
{
        fprintf(stderr,
                "usage: latency_feed gen --employees N --days K --out DIR\n"
                "       latency_feed run --bootstrap B --employees N --monday "
                "DATE [--rate R] [--seconds D] [--drain S] [--prefix P]\n");
        return 2;
}

int main(int argc, char **argv)
{
        if (argc < 2)
                return usage();
        bool is_gen = strcmp(argv[1], "gen") == 0;
        if (!is_gen && strcmp(argv[1], "run") != 0)
                return usage();
        static run_t r;
        r.prefix = "patuh.";
        r.n = 20000;
        r.rate = 5000;
        r.seconds = 60;
        r.drain = 10;
        long days = 1;
        const char *out = NULL, *monday = NULL;
        for (int i = 2; i < argc; i += 2) {
                const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                bool ok = v != NULL;
                if (!ok)
                        ;
                else if (strcmp(k, "--employees") == 0)
                        ok = parse_long(v, 1, 999999, &r.n);
                else if (strcmp(k, "--days") == 0)
                        ok = parse_long(v, 1, MAX_DAYS, &days);
                else if (strcmp(k, "--rate") == 0)
                        ok = parse_long(v, 1, 10000000, &r.rate);
                else if (strcmp(k, "--seconds") == 0)
                        ok = parse_long(v, 1, 86400, &r.seconds);
                else if (strcmp(k, "--drain") == 0)
                        ok = parse_long(v, 0, 3600, &r.drain);
                else if (strcmp(k, "--out") == 0)
                        out = v;
                else if (strcmp(k, "--bootstrap") == 0)
                        r.bootstrap = v;
                else if (strcmp(k, "--prefix") == 0)
                        r.prefix = v;
                else if (strcmp(k, "--monday") == 0)
                        monday = v;
                else
                        ok = false;
                if (!ok) {
                        fprintf(stderr, "latency_feed: bad argument %s\n", k);
                        return usage();
                }
        }
        if (is_gen)
                return out ? gen(r.n, days, out) : usage();
        if (!r.bootstrap || !monday || !parse_date(monday, &r.wd[0]) ||
            weekday(r.wd[0]) != 0) {
                fprintf(stderr, "latency_feed: --bootstrap and --monday (a "
                                "Monday, YYYY-MM-DD) are needed\n");
                return usage();
        }
        return run(&r);
}
