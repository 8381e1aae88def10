/*
 * test_metrics — patuhd's metrics (engine/metrics.h) and HTTP endpoints
 * (engine/httpd.h) without servers: the exposition format as Prometheus
 * parses it (HELP and TYPE before the samples, escaped label values,
 * cumulative histogram buckets ending in +Inf = _count), a batch's
 * decisions and dead letters counted only once it is durable, the
 * readiness rule, metrics.listen's forms, and the endpoints answered by
 * evhttp on a loopback port (404, 405, 503 with its reasons, a port
 * already taken refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../engine/config.h"
#include "../engine/httpd.h"
#include "../engine/metrics.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* M rendered; the caller frees. */
static char *render(const metrics_t *m)
{
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        assert_non_null(f);
        assert_int_equal(metrics_render(m, f), 0);
        assert_int_equal(fclose(f), 0);
        return text;
}

/* The value of the sample line that starts with SERIES (name and labels
 * as rendered), or -1 when there is none. */
static double sample(const char *text, const char *series)
{
        size_t n = strlen(series);
        for (const char *p = text; p && *p; p = strchr(p, '\n'), p += !!p) {
                if (strncmp(p, series, n) == 0 && p[n] == ' ')
                        return strtod(p + n + 1, NULL);
        }
        return -1;
}

static void test_format(void **state)
{
        (void)state;
        metrics_t m;
        metrics_init(&m, "1.2.3", "odd\"policy\\x\ny/2");
        m.records[TOPIC_PRESENCE] = 7;
        m.connects[METRICS_SERVER_REDIS] = 3;
        m.connects[METRICS_SERVER_POSTGRESQL] = 1;
        m.sink_errors[METRICS_SINK_KAFKA] = 2;
        m.reloads[METRICS_RELOAD_REFUSED] = 1;
        assert_true(metrics_lag_add(&m, TOPIC_CALLS, 3, 42));
        char *t = render(&m);
        /* escaped label values */
        assert_non_null(strstr(t, "patuh_build_info{version=\"1.2.3\",policy="
                                  "\"odd\\\"policy\\\\x\\ny/2\"} 1\n"));
        assert_true(sample(t, "patuh_records_total{topic=\"presence\"}") == 7);
        assert_true(sample(t, "patuh_consumer_lag{topic=\"calls\",partition="
                              "\"3\"}") == 42);
        /* the first connection is no reconnect */
        assert_true(sample(t, "patuh_reconnects_total{server=\"redis\"}") == 2);
        assert_true(
            sample(t, "patuh_reconnects_total{server=\"postgresql\"}") == 0);
        assert_true(sample(t, "patuh_sink_errors_total{sink=\"kafka\"}") == 2);
        assert_true(sample(t, "patuh_reloads_total{result=\"refused\"}") == 1);
        assert_true(sample(t, "patuh_reloads_total{result=\"applied\"}") == 0);
        /* single mode: no work partitions family */
        assert_null(strstr(t, "patuh_work_partitions"));
        free(t);
        m.work_live = 3;
        m.work_held = 1;
        t = render(&m);
        assert_true(sample(t, "patuh_work_partitions{state=\"live\"}") == 3);
        assert_true(sample(t, "patuh_work_partitions{state=\"held\"}") == 1);
        /* no watermark yet: no delay sample, but its family */
        assert_null(strstr(t, "\npatuh_watermark_delay_seconds "));
        assert_non_null(
            strstr(t, "# TYPE patuh_watermark_delay_seconds gauge\n"));
        /* every sample belongs to the family whose HELP and TYPE came
         * last, and every line is a comment or "series value" */
        char family[128] = "";
        int help = 0, type = 0;
        char *save = NULL;
        for (char *line = strtok_r(t, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
                char name[128];
                if (sscanf(line, "# HELP %127s", name) == 1) {
                        snprintf(family, sizeof(family), "%s", name);
                        help++;
                        continue;
                }
                if (sscanf(line, "# TYPE %127s", name) == 1) {
                        assert_string_equal(name, family);
                        type++;
                        continue;
                }
                size_t fn = strlen(family);
                if (strncmp(line, family, fn) != 0)
                        fail_msg("'%s' outside its family %s", line, family);
                const char *rest = line + fn;
                if (strncmp(rest, "_bucket", 7) == 0)
                        rest += 7;
                else if (strncmp(rest, "_sum", 4) == 0)
                        rest += 4;
                else if (strncmp(rest, "_count", 6) == 0)
                        rest += 6;
                if (*rest == '{')
                        rest = strstr(rest, "} ");
                assert_non_null(rest);
                assert_true(rest[0] == ' ' || rest[0] == '}');
                char *end;
                strtod(rest + (rest[0] == '}' ? 2 : 1), &end);
                if (*end)
                        fail_msg("'%s': no value", line);
        }
        assert_int_equal(help, 13); /* the work partitions too */
        assert_int_equal(type, 13);
        free(t);
        metrics_free(&m);
}

static void test_histogram(void **state)
{
        (void)state;
        metrics_t m;
        metrics_init(&m, "v", "p");
        /* a bound is inclusive (le) */
        const double v[] = {0.0005, 0.05, 0.05, 0.051, 100};
        for (size_t i = 0; i < ARRAY_LEN(v); i++)
                metrics_hist_observe(&m.batch_seconds, v[i]);
        char *t = render(&m);
        const struct {
                const char *le;
                double want;
        } b[] = {{"0.001", 1}, {"0.025", 1}, {"0.05", 3},
                 {"0.1", 4},   {"60", 4},    {"+Inf", 5}};
        for (size_t i = 0; i < ARRAY_LEN(b); i++) {
                char s[128];
                snprintf(s, sizeof(s),
                         "patuh_batch_duration_seconds_bucket{le=\"%s\"}",
                         b[i].le);
                if (sample(t, s) != b[i].want)
                        fail_msg("%s: %g, want %g", s, sample(t, s), b[i].want);
        }
        assert_true(sample(t, "patuh_batch_duration_seconds_count") == 5);
        double sum = sample(t, "patuh_batch_duration_seconds_sum");
        assert_true(sum > 100.1514 && sum < 100.1516);
        /* buckets never decrease, and +Inf is last */
        double prev = -1;
        const char *p = t, *last = NULL;
        while ((p = strstr(p, "patuh_batch_records_bucket{le=\""))) {
                double c = strtod(strstr(p, "} ") + 2, NULL);
                assert_true(c >= prev);
                prev = c;
                last = p;
                p++;
        }
        assert_non_null(last);
        assert_int_equal(
            strncmp(last, "patuh_batch_records_bucket{le=\"+Inf\"}", 37), 0);
        free(t);
        metrics_free(&m);
}

/* Decisions and dead letters join the totals when their batch is
 * durable, with the status PostgreSQL's revisions show. */
static void test_batch(void **state)
{
        (void)state;
        metrics_t m;
        metrics_init(&m, "v", "p");
        metrics_batch_t b;
        memset(&b, 0, sizeof(b));
        eval_pub_t p;
        memset(&p, 0, sizeof(p));
        const struct {
                vkind_t kind;
                int32_t revision;
                bool active;
        } pubs[] = {{VK_LATE_CLOCK_IN, 1, true},  {VK_LATE_CLOCK_IN, 2, true},
                    {VK_LATE_CLOCK_IN, 3, false}, {VK_ABSENT, 1, true},
                    {VK_ABSENT, 1, true},         {VK_ABSENT, 2, false}};
        for (size_t i = 0; i < ARRAY_LEN(pubs); i++) {
                p.d.kind = pubs[i].kind;
                p.revision = pubs[i].revision;
                p.active = pubs[i].active;
                metrics_batch_decision(&b, &p);
        }
        b.dead[DLQ_MALFORMED] = 2;
        clock_gettime(CLOCK_MONOTONIC, &b.closed);
        char *t = render(&m);
        assert_true(sample(t, "patuh_decisions_total{kind=\"absent\",status="
                              "\"new\"}") == 0);
        free(t);
        struct timespec now = b.closed;
        now.tv_sec += 2;
        metrics_batch_done(&m, &b, &now, 17);
        t = render(&m);
        const struct {
                const char *series;
                double want;
        } want[] = {
            {"patuh_decisions_total{kind=\"late_clock_in\",status=\"new\"}", 1},
            {"patuh_decisions_total{kind=\"late_clock_in\",status=\"amended\"}",
             1},
            {"patuh_decisions_total{kind=\"late_clock_in\",status="
             "\"retracted\"}",
             1},
            {"patuh_decisions_total{kind=\"absent\",status=\"new\"}", 2},
            {"patuh_decisions_total{kind=\"absent\",status=\"retracted\"}", 1},
            {"patuh_decisions_total{kind=\"absent\",status=\"amended\"}", 0},
            {"patuh_dead_letters_total{reason=\"malformed\"}", 2},
            {"patuh_dead_letters_total{reason=\"future\"}", 0},
            {"patuh_batch_duration_seconds_bucket{le=\"1\"}", 0},
            {"patuh_batch_duration_seconds_bucket{le=\"2.5\"}", 1},
            {"patuh_batch_records_sum", 17},
            {"patuh_batch_records_count", 1},
        };
        for (size_t i = 0; i < ARRAY_LEN(want); i++)
                if (sample(t, want[i].series) != want[i].want)
                        fail_msg("%s: %g, want %g", want[i].series,
                                 sample(t, want[i].series), want[i].want);
        free(t);
        /* the batch slot is empty again for its next fill */
        metrics_batch_done(&m, &b, &now, 0);
        t = render(&m);
        assert_true(
            sample(t, "patuh_dead_letters_total{reason=\"malformed\"}") == 2);
        free(t);
        metrics_free(&m);
}

static void test_readiness(void **state)
{
        (void)state;
        const metrics_ready_t ok = {.assigned = 12,
                                    .expected = 12,
                                    .redis_up = true,
                                    .write_timeout_ms = 1000};
        static const struct {
                const char *name;
                int field; /* which fact differs from ok */
                const char *check;
        } cases[] = {
            {"ready", 0, NULL},
            {"a partition not assigned", 1, "partitions"},
            {"Redis not connected", 2, "redis"},
            {"Redis write failed", 3, "redis"},
            {"PostgreSQL failed", 4, "postgresql"},
            {"Kafka failed", 5, "kafka"},
            {"draining", 6, "stopping"},
            {"paused past the timeout", 7, "consumption"},
            {"paused, within the timeout", 8, NULL},
            {"standby", 9, "standby"},
            {"group mode, a work partition catching up", 10, "work"},
        };
        for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
                metrics_ready_t f = ok;
                switch (cases[i].field) {
                case 1:
                        f.assigned = 11;
                        break;
                case 2:
                        f.redis_up = false;
                        break;
                case 3:
                        f.redis_failing = true;
                        break;
                case 4:
                        f.pg_failing = true;
                        break;
                case 5:
                        f.kafka_failing = true;
                        break;
                case 6:
                        f.stopping = true;
                        break;
                case 7:
                        f.paused_ms = 1500;
                        break;
                case 8:
                        f.paused_ms = 900;
                        break;
                case 9:
                        /* nothing assigned or connected yet: one reason */
                        f.standby = true;
                        f.assigned = f.expected = 0;
                        f.redis_up = false;
                        break;
                case 10:
                        f.work_held = 2;
                        break;
                }
                metrics_reason_t r[4];
                size_t n = metrics_readiness(&f, r, ARRAY_LEN(r));
                if (!cases[i].check && n != 0)
                        fail_msg("%s: unready (%s)", cases[i].name, r[0].check);
                if (cases[i].check &&
                    (n != 1 || strcmp(r[0].check, cases[i].check) != 0 ||
                     !r[0].detail[0]))
                        fail_msg("%s: %zu reasons, first %s", cases[i].name, n,
                                 n ? r[0].check : "-");
        }
        /* several reasons, cut to the room given */
        metrics_ready_t f = ok;
        f.redis_failing = f.pg_failing = f.kafka_failing = true;
        metrics_reason_t r[2];
        assert_int_equal(metrics_readiness(&f, r, 2), 2);
        assert_string_equal(r[0].check, "redis");
        assert_string_equal(r[1].check, "postgresql");
}

static void test_listen(void **state)
{
        (void)state;
        static const struct {
                const char *s;
                bool ok;
                const char *host;
                int port;
        } cases[] = {
            {"127.0.0.1:9187", true, "127.0.0.1", 9187},
            {":9187", false, NULL, 0}, /* every interface: 0.0.0.0:9187 */
            {"[::1]:9187", true, "::1", 9187},
            {"localhost:1", true, "localhost", 1},
            {"h:65535", true, "h", 65535},
            {"h:65536", false, NULL, 0},
            {"h:0", false, NULL, 0},
            {"h:-1", false, NULL, 0},
            {"h:+80", false, NULL, 0},
            {"h:80x", false, NULL, 0},
            {"h:", false, NULL, 0},
            {"h", false, NULL, 0},
            {"::1:9187", false, NULL, 0},
            {"[]:9187", false, NULL, 0},
            {"[::1:9187", false, NULL, 0},
            {"off", false, NULL, 0},
        };
        for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
                char host[64] = "?";
                int port = -1;
                bool ok = config_listen(cases[i].s, host, sizeof(host), &port);
                if (ok != cases[i].ok)
                        fail_msg("%s: %s", cases[i].s,
                                 ok ? "accepted" : "refused");
                if (ok &&
                    (strcmp(host, cases[i].host) || port != cases[i].port))
                        fail_msg("%s: %s %d", cases[i].s, host, port);
        }
}

/* ---- the endpoints on a loopback port ---------------------------------- */

struct served {
        metrics_t m;
        size_t n_reasons; /* what readiness says */
};

static int stub_metrics(void *ud, FILE *out)
{
        return metrics_render(&((struct served *)ud)->m, out);
}

static size_t stub_ready(void *ud, metrics_reason_t *out, size_t max)
{
        struct served *s = ud;
        size_t n = 0;
        for (; n < s->n_reasons && n < max; n++) {
                out[n].check = "redis";
                snprintf(out[n].detail, sizeof(out[n].detail), "frozen \"%zu\"",
                         n);
        }
        return n;
}

struct answer {
        struct event_base *base;
        int code;
        char body[8192];
        char type[128];
};

static void on_answer(struct evhttp_request *req, void *arg)
{
        struct answer *a = arg;
        a->code = req ? evhttp_request_get_response_code(req) : -1;
        if (req) {
                struct evbuffer *b = evhttp_request_get_input_buffer(req);
                size_t n = evbuffer_get_length(b);
                if (n >= sizeof(a->body))
                        n = sizeof(a->body) - 1;
                evbuffer_remove(b, a->body, n);
                a->body[n] = '\0';
                const char *t = evhttp_find_header(
                    evhttp_request_get_input_headers(req), "Content-Type");
                snprintf(a->type, sizeof(a->type), "%s", t ? t : "");
        }
        event_base_loopexit(a->base, NULL);
}

/* One request to 127.0.0.1:PORT from the same loop that serves it. */
static void ask(struct event_base *base, int port, enum evhttp_cmd_type cmd,
                const char *path, struct answer *a)
{
        memset(a, 0, sizeof(*a));
        a->base = base;
        struct evhttp_connection *c =
            evhttp_connection_base_new(base, NULL, "127.0.0.1", (uint16_t)port);
        assert_non_null(c);
        struct evhttp_request *req = evhttp_request_new(on_answer, a);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Host",
                          "127.0.0.1");
        assert_int_equal(evhttp_make_request(c, req, cmd, path), 0);
        struct timeval tv = {5, 0};
        event_base_loopexit(base, &tv);
        event_base_dispatch(base);
        evhttp_connection_free(c);
}

/* A port free right now (the kernel's choice). */
static int free_port(void)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof(sa);
        assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
        close(fd);
        return ntohs(sa.sin_port);
}

static void test_endpoints(void **state)
{
        (void)state;
        struct served s;
        metrics_init(&s.m, "9.9", "pol/1");
        s.m.records[TOPIC_CALLS] = 5;
        s.n_reasons = 0;
        struct event_base *base = event_base_new();
        assert_non_null(base);
        int port = free_port();
        char listen[32], err[256] = "";
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
        httpd_handlers_t h = {&s, stub_metrics, stub_ready};
        httpd_t *hd = httpd_new(base, listen, &h, err, sizeof(err));
        assert_non_null(hd);
        /* a second listener on the same port fails at once, saying why */
        httpd_t *again = httpd_new(base, listen, &h, err, sizeof(err));
        assert_null(again);
        assert_non_null(strstr(err, "cannot listen: Address already in use"));

        struct answer a;
        ask(base, port, EVHTTP_REQ_GET, "/metrics", &a);
        assert_int_equal(a.code, 200);
        assert_string_equal(a.type, "text/plain; version=0.0.4; charset=utf-8");
        assert_true(sample(a.body, "patuh_records_total{topic=\"calls\"}") ==
                    5);
        ask(base, port, EVHTTP_REQ_GET, "/metrics?x=1", &a);
        assert_int_equal(a.code, 200);
        ask(base, port, EVHTTP_REQ_GET, "/healthz", &a);
        assert_int_equal(a.code, 200);
        assert_string_equal(a.body, "ok\n");
        ask(base, port, EVHTTP_REQ_GET, "/readyz", &a);
        assert_int_equal(a.code, 200);
        assert_string_equal(a.body, "{\"ready\":true}\n");
        s.n_reasons = 2;
        ask(base, port, EVHTTP_REQ_GET, "/readyz", &a);
        assert_int_equal(a.code, 503);
        assert_string_equal(a.type, "application/json");
        assert_string_equal(
            a.body, "{\"ready\":false,\"reasons\":[{\"check\":\"redis\","
                    "\"detail\":\"frozen \\\"0\\\"\"},{\"check\":\"redis\","
                    "\"detail\":\"frozen \\\"1\\\"\"}]}\n");
        ask(base, port, EVHTTP_REQ_GET, "/", &a);
        assert_int_equal(a.code, 404);
        ask(base, port, EVHTTP_REQ_GET, "/metricsx", &a);
        assert_int_equal(a.code, 404);
        ask(base, port, EVHTTP_REQ_POST, "/metrics", &a);
        assert_int_equal(a.code, 405);
        ask(base, port, EVHTTP_REQ_DELETE, "/readyz", &a);
        assert_int_equal(a.code, 405);

        /* after it is freed the port is free again */
        httpd_free(hd);
        hd = httpd_new(base, listen, &h, err, sizeof(err));
        assert_non_null(hd);
        httpd_free(hd);
        /* a malformed address is refused before any socket */
        assert_null(httpd_new(base, "127.0.0.1", &h, err, sizeof(err)));
        assert_non_null(strstr(err, "expected host:port"));
        event_base_free(base);
        metrics_free(&s.m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_format), cmocka_unit_test(test_histogram),
            cmocka_unit_test(test_batch),  cmocka_unit_test(test_readiness),
            cmocka_unit_test(test_listen), cmocka_unit_test(test_endpoints),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
