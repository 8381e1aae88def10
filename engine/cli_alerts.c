#include "cli_alerts.h"

#include "../rules/ptime.h"
#include "cliopt.h"
#include "output.h"

#include <errno.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define ALERTS_DEFAULT_GROUP "patuh-alerts"
#define ALERTS_FIRST_RETRY_MS 100
#define ALERTS_TICK_MS 100
/* messages handled per wake-up, so that a long backlog in print mode
 * leaves the loop free to see a signal */
#define ALERTS_MAX_PER_PUMP 1000
/* alerts read ahead of the one being delivered (--read-ahead); beyond
 * this the partitions are paused until half of them are delivered */
#define ALERTS_DEFAULT_READ_AHEAD 1000
#define ALERTS_MAX_KAFKA_PROPS 64

/* One assigned partition of <prefix>alerts. */
typedef struct alerts_part {
        int32_t partition;
        bool assigned; /* in the current assignment */
        bool at_end;   /* PARTITION_EOF seen, nothing read since */
} alerts_part_t;

/* The whole command: options, the consumer, the loop and the one alert in
 * hand.  Everything is owned by this struct and freed by alerts_cleanup. */
typedef struct alerts {
        /* options */
        char topic[256];        /* <prefix>alerts */
        const char *group;      /* consumer group */
        const char *supervisor; /* only this key, or NULL */
        bool until_idle;        /* exit once everything is delivered */
        bool webhook;           /* POST instead of printing */
        cli_alerts_url_t url;   /* the webhook, when webhook */
        int retry_max_ms;       /* cap of the doubling backoff */
        int timeout_ms;         /* per webhook request */
        int read_ahead;         /* alerts queued before fetching pauses */
        const char *kafka[ALERTS_MAX_KAFKA_PROPS]; /* --kafka NAME=VALUE */
        size_t n_kafka;
        /* Kafka */
        rd_kafka_t *rk;       /* the consumer */
        rd_kafka_queue_t *cq; /* its queue, which writes to pipefd[1] */
        int pipefd[2];        /* the loop watches pipefd[0] */
        alerts_part_t *parts; /* every partition seen, n_parts of them */
        size_t n_parts;
        bool uncommitted; /* offsets stored since the last commit */
        bool paused;      /* the queue is full: fetching paused */
        /* read, not yet delivered, in the order read (so each partition
         * in offset order): q[q_head .. q_len), owned */
        rd_kafka_message_t **q;
        size_t q_head, q_len, q_cap;
        bool no_topic; /* the broker says the topic does not exist */
        /* loop */
        struct event_base *base;
        struct event *ev_queue; /* the consumer queue turned non-empty */
        struct event *ev_tick;  /* periodic: serve the consumer, idle check */
        struct event *ev_next;  /* one-shot: take the next alert */
        struct event *ev_retry; /* one-shot: the backoff is over */
        struct event *ev_int, *ev_term;
        struct evdns_base *dns;         /* non-blocking resolver, or NULL */
        struct evhttp_connection *conn; /* to the webhook, kept alive */
        /* the alert in hand (webhook mode) */
        rd_kafka_message_t *held; /* owned, or NULL */
        char *body;               /* owned JSON body of the POST */
        char alert_id[64];        /* for the log */
        bool in_flight;           /* request sent, no answer yet */
        bool orphaned;            /* its partition was revoked meanwhile */
        enum evhttp_request_error last_error; /* of the last failed request */
        bool has_error;                       /* last_error is set */
        int attempt;                          /* failed attempts so far */
        /* end */
        bool stopping; /* a signal, idle, or an error */
        bool finished; /* consumer closed */
        int exit_code;
        long long delivered, skipped, failures;
} alerts_t;

static void alerts_log(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static void alerts_log(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fputs("patuh alerts: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

/* ---- the message ---------------------------------------------------------
 */

/* The Indonesian zones by UTC offset; anything else as "UTC+hh:mm". */
static void zone_label(int offset_min, char *buf, size_t n)
{
        switch (offset_min) {
        case 7 * 60:
                snprintf(buf, n, "WIB");
                return;
        case 8 * 60:
                snprintf(buf, n, "WITA");
                return;
        case 9 * 60:
                snprintf(buf, n, "WIT");
                return;
        case 0:
                snprintf(buf, n, "UTC");
                return;
        default: {
                int a = offset_min < 0 ? -offset_min : offset_min;
                snprintf(buf, n, "UTC%c%02d:%02d", offset_min < 0 ? '-' : '+',
                         a / 60, a % 60);
                return;
        }
        }
}

/* The local date, HH:MM and offset of an RFC 3339 time as it is written
 * (output.c writes `at` in the policy zone). */
static int local_time(const char *s, int32_t *day, char hhmm[6],
                      int *offset_min)
{
        size_t len = strlen(s);
        ptime_t t;
        if (!ptime_parse_rfc3339(s, len, &t) || !ptime_parse_date(s, 10, day))
                return -1;
        memcpy(hhmm, s + 11, 5);
        hhmm[5] = '\0';
        char last = s[len - 1];
        if (last == 'Z' || last == 'z') {
                *offset_min = 0;
                return 0;
        }
        const char *o = s + len - 6; /* "+hh:mm", checked by the parser */
        int m = ((o[1] - '0') * 10 + (o[2] - '0')) * 60 + (o[4] - '0') * 10 +
                (o[5] - '0');
        *offset_min = o[0] == '-' ? -m : m;
        return 0;
}

static const char *str_member(json_t *o, const char *k)
{
        json_t *v = json_object_get(o, k);
        return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The header line names what happened and, but for the operators' alert,
 * who is told.  Returns whether the recipient is named. */
static bool kind_label(const char *kind, const char **label)
{
        if (strcmp(kind, "violation") == 0)
                *label = "[Pelanggaran]";
        else if (strcmp(kind, "not_clocked_in") == 0)
                *label = "[Belum presensi]";
        else if (strcmp(kind, "no_presence_data") == 0)
                *label = "[Operator: data presensi tidak ada]";
        else /* a kind added later still reaches its reader */
                *label = "[Pemberitahuan]";
        return strcmp(kind, "no_presence_data") != 0;
}

static int message_of(json_t *alert, char *buf, size_t buf_size, char *errstr,
                      size_t errstr_size)
{
        static const char *const required[] = {"alert_id", "kind", "key",
                                               "date",     "text", "at"};
        if (!json_is_object(alert)) {
                snprintf(errstr, errstr_size, "not a JSON object");
                return -1;
        }
        for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
                if (!str_member(alert, required[i])) {
                        snprintf(errstr, errstr_size,
                                 "%s: missing or not a string", required[i]);
                        return -1;
                }
        }
        const char *date = str_member(alert, "date");
        const char *at = str_member(alert, "at");
        int32_t day, at_day;
        int off;
        char hhmm[6], tgl[64], when[128], zone[16];
        if (!ptime_parse_date(date, strlen(date), &day) || strlen(date) != 10) {
                snprintf(errstr, errstr_size, "date: not YYYY-MM-DD");
                return -1;
        }
        if (local_time(at, &at_day, hhmm, &off) != 0) {
                snprintf(errstr, errstr_size, "at: not an RFC 3339 time");
                return -1;
        }
        const char *label, *key = str_member(alert, "key");
        bool to = kind_label(str_member(alert, "kind"), &label);
        out_date_text(day, tgl, sizeof(tgl));
        zone_label(off, zone, sizeof(zone));
        if (at_day == day) {
                snprintf(when, sizeof(when), "%s %s", hhmm, zone);
        } else {
                /* raised on another day (a day close, an outage): say so */
                char at_tgl[64];
                out_date_text(at_day, at_tgl, sizeof(at_tgl));
                snprintf(when, sizeof(when), "%s %s %s", at_tgl, hhmm, zone);
        }
        int n = snprintf(buf, buf_size, "%s%s%s\nTanggal: %s\nWaktu: %s\n%s",
                         label, to ? " Kepada: " : "", to ? key : "", tgl, when,
                         str_member(alert, "text"));
        if (n < 0 || (size_t)n >= buf_size) {
                /* never a message cut in the middle of a character */
                snprintf(errstr, errstr_size, "the message is too long");
                return -1;
        }
        return 0;
}

int cli_alerts_message(const char *json, size_t len, char *buf, size_t buf_size,
                       char *errstr, size_t errstr_size)
{
        json_error_t jerr;
        json_t *o = json_loadb(json, len, 0, &jerr);
        if (!o) {
                snprintf(errstr, errstr_size, "not valid JSON: %s", jerr.text);
                return -1;
        }
        int rc = message_of(o, buf, buf_size, errstr, errstr_size);
        json_decref(o);
        return rc;
}

/* ---- the webhook URL -----------------------------------------------------
 */

int cli_alerts_parse_url(const char *url, cli_alerts_url_t *out, char *errstr,
                         size_t errstr_size)
{
        memset(out, 0, sizeof(*out));
        struct evhttp_uri *u = evhttp_uri_parse_with_flags(url, 0);
        int rc = -1;
        if (!u) {
                snprintf(errstr, errstr_size, "not a valid URL");
                return -1;
        }
        const char *scheme = evhttp_uri_get_scheme(u);
        const char *host = evhttp_uri_get_host(u);
        const char *path = evhttp_uri_get_path(u);
        const char *query = evhttp_uri_get_query(u);
        int port = evhttp_uri_get_port(u);
        if (!scheme || strcasecmp(scheme, "http") != 0) {
                snprintf(errstr, errstr_size,
                         "only http:// URLs are supported (https and other "
                         "schemes are not)");
                goto out_free_uri;
        }
        if (!host || !*host) {
                snprintf(errstr, errstr_size, "the URL has no host");
                goto out_free_uri;
        }
        if (evhttp_uri_get_userinfo(u)) {
                snprintf(errstr, errstr_size,
                         "user:password@ in the URL is not supported");
                goto out_free_uri;
        }
        if (port == 0 || port > 65535) {
                snprintf(errstr, errstr_size, "the URL has a bad port");
                goto out_free_uri;
        }
        out->port = port < 0 ? 80 : port;
        /* an IPv6 literal comes bracketed; it is connected to bare and
         * shown bracketed in headers and logs */
        size_t hlen = strlen(host);
        bool v6 = host[0] == '[' && hlen > 2 && host[hlen - 1] == ']';
        char shown[270];
        int hl = v6 ? snprintf(out->host, sizeof(out->host), "%.*s",
                               (int)(hlen - 2), host + 1)
                    : snprintf(out->host, sizeof(out->host), "%s", host);
        snprintf(shown, sizeof(shown), v6 ? "[%s]" : "%s", out->host);
        int pl = snprintf(out->path, sizeof(out->path), "%s%s%s",
                          path && *path ? path : "/", query ? "?" : "",
                          query ? query : "");
        if (hl < 0 || (size_t)hl >= sizeof(out->host) || pl < 0 ||
            (size_t)pl >= sizeof(out->path)) {
                snprintf(errstr, errstr_size, "the URL is too long");
                goto out_free_uri;
        }
        snprintf(out->hostport, sizeof(out->hostport), "%s:%d", shown,
                 out->port);
        if (out->port == 80)
                snprintf(out->host_header, sizeof(out->host_header), "%s",
                         shown);
        else
                snprintf(out->host_header, sizeof(out->host_header), "%s:%d",
                         shown, out->port);
        rc = 0;
out_free_uri:
        evhttp_uri_free(u);
        return rc;
}

/* ---- Kafka ---------------------------------------------------------------
 */

static alerts_part_t *part_get(alerts_t *a, int32_t partition)
{
        for (size_t i = 0; i < a->n_parts; i++)
                if (a->parts[i].partition == partition)
                        return &a->parts[i];
        alerts_part_t *p =
            realloc(a->parts, (a->n_parts + 1) * sizeof(*a->parts));
        if (!p)
                return NULL;
        a->parts = p;
        p = &a->parts[a->n_parts++];
        *p = (alerts_part_t){partition, false, false};
        return p;
}

/* Back-pressure: pauses or resumes everything assigned while the consumer
 * is still polled (group membership, rebalances).  librdkafka drops what
 * it had fetched for a paused partition and fetches again from the
 * position after the last message handed out, so nothing is skipped. */
static void pause_all(alerts_t *a, bool pause)
{
        rd_kafka_topic_partition_list_t *list = NULL;
        if (rd_kafka_assignment(a->rk, &list) != RD_KAFKA_RESP_ERR_NO_ERROR)
                return;
        if (list->cnt > 0) {
                rd_kafka_resp_err_t err =
                    pause ? rd_kafka_pause_partitions(a->rk, list)
                          : rd_kafka_resume_partitions(a->rk, list);
                if (err)
                        alerts_log("Kafka %s: %s", pause ? "pause" : "resume",
                                   rd_kafka_err2str(err));
        }
        rd_kafka_topic_partition_list_destroy(list);
}

/* Marks m as done: its offset + 1 is stored, and sent by the next commit. */
static void store_done(alerts_t *a, const rd_kafka_message_t *m)
{
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(list, rd_kafka_topic_name(m->rkt),
                                          m->partition)
            ->offset = m->offset + 1;
        rd_kafka_resp_err_t err = rd_kafka_offsets_store(a->rk, list);
        if (!err)
                err = list->elems[0].err;
        if (err)
                alerts_log("partition %d offset %lld: cannot store the "
                           "offset: %s",
                           (int)m->partition, (long long)m->offset,
                           rd_kafka_err2str(err));
        else
                a->uncommitted = true;
        rd_kafka_topic_partition_list_destroy(list);
}

/* Sends the stored offsets without waiting; a failed commit is sent again
 * by the next one, and the final commit waits. */
static void commit_async(alerts_t *a)
{
        if (!a->uncommitted)
                return;
        rd_kafka_resp_err_t err = rd_kafka_commit(a->rk, NULL, 1);
        if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
                alerts_log("Kafka commit: %s", rd_kafka_err2str(err));
        a->uncommitted = false;
}

static bool commit_sync(alerts_t *a)
{
        rd_kafka_resp_err_t err = rd_kafka_commit(a->rk, NULL, 0);
        if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
                alerts_log("Kafka commit: %s", rd_kafka_err2str(err));
                return false;
        }
        a->uncommitted = false;
        return true;
}

static void on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t *offsets, void *opaque)
{
        (void)rk;
        (void)opaque;
        if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
                alerts_log("Kafka commit: %s", rd_kafka_err2str(err));
                return;
        }
        for (int i = 0; offsets && i < offsets->cnt; i++)
                if (offsets->elems[i].err)
                        alerts_log("Kafka commit partition %d: %s",
                                   (int)offsets->elems[i].partition,
                                   rd_kafka_err2str(offsets->elems[i].err));
}

static void release_held(alerts_t *a)
{
        if (!a->held)
                return;
        rd_kafka_message_destroy(a->held);
        a->held = NULL;
        free(a->body);
        a->body = NULL;
        a->in_flight = a->orphaned = false;
        a->attempt = 0;
        if (a->ev_retry)
                evtimer_del(a->ev_retry);
}

static size_t queued(const alerts_t *a)
{
        return a->q_len - a->q_head;
}

static int enqueue(alerts_t *a, rd_kafka_message_t *m)
{
        if (a->q_len == a->q_cap && a->q_head > 0) {
                memmove(a->q, a->q + a->q_head, queued(a) * sizeof(*a->q));
                a->q_len -= a->q_head;
                a->q_head = 0;
        }
        if (a->q_len == a->q_cap) {
                size_t cap = a->q_cap ? a->q_cap * 2 : 64;
                rd_kafka_message_t **q = realloc(a->q, cap * sizeof(*q));
                if (!q)
                        return -1;
                a->q = q;
                a->q_cap = cap;
        }
        a->q[a->q_len++] = m;
        return 0;
}

static rd_kafka_message_t *dequeue(alerts_t *a)
{
        if (!queued(a))
                return NULL;
        rd_kafka_message_t *m = a->q[a->q_head++];
        if (a->q_head == a->q_len)
                a->q_head = a->q_len = 0;
        return m;
}

/* Forgets what was read from the partitions in list (NULL: all); their
 * next owner reads them again from the committed offset. */
static void drop_queued(alerts_t *a,
                        const rd_kafka_topic_partition_list_t *list)
{
        size_t keep = a->q_head;
        for (size_t i = a->q_head; i < a->q_len; i++) {
                bool drop = !list;
                for (int j = 0; list && j < list->cnt && !drop; j++)
                        drop = list->elems[j].partition == a->q[i]->partition;
                if (drop)
                        rd_kafka_message_destroy(a->q[i]);
                else
                        a->q[keep++] = a->q[i];
        }
        a->q_len = keep;
        if (a->q_head == a->q_len)
                a->q_head = a->q_len = 0;
}

static void schedule_next(alerts_t *a)
{
        struct timeval now = {0, 0};
        evtimer_add(a->ev_next, &now);
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
        alerts_t *a = opaque;
        bool assign = err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS;
        for (int i = 0; i < parts->cnt; i++) {
                alerts_part_t *p = part_get(a, parts->elems[i].partition);
                if (p) {
                        p->assigned = assign;
                        p->at_end = false;
                }
        }
        if (assign) {
                alerts_log("assigned %d partitions of %s", parts->cnt,
                           a->topic);
                a->no_topic = false;
                rd_kafka_assign(rk, parts);
                if (a->paused)
                        rd_kafka_pause_partitions(rk, parts);
                return;
        }
        /* what is confirmed stays confirmed before others take over */
        commit_sync(a);
        drop_queued(a, parts);
        if (a->held) {
                /* its next owner (perhaps us again) resends it from the
                 * committed offset: at least once, never lost */
                a->orphaned = true;
                if (!a->in_flight) {
                        release_held(a);
                        schedule_next(a);
                }
        }
        rd_kafka_assign(rk, NULL);
}

/* ---- delivery ------------------------------------------------------------
 */

static void finish(alerts_t *a)
{
        if (a->finished)
                return;
        a->finished = true;
        /* stopped before confirmation: resent after a restart */
        if (a->held) {
                rd_kafka_message_destroy(a->held);
                a->held = NULL;
        }
        drop_queued(a, NULL);
        if (!commit_sync(a) && a->exit_code == 0)
                a->exit_code = 1;
        rd_kafka_consumer_close(a->rk);
        alerts_log("stopped: %lld delivered, %lld skipped, %lld failed "
                   "attempts",
                   a->delivered, a->skipped, a->failures);
        event_base_loopbreak(a->base);
}

static void send_held(alerts_t *a);

static void on_request_error(enum evhttp_request_error error, void *arg)
{
        alerts_t *a = arg;
        a->last_error = error;
        a->has_error = true;
}

static const char *request_error_text(enum evhttp_request_error e)
{
        switch (e) {
        case EVREQ_HTTP_TIMEOUT:
                return "timed out";
        case EVREQ_HTTP_EOF:
                return "connection closed or refused";
        case EVREQ_HTTP_INVALID_HEADER:
                return "invalid response header";
        case EVREQ_HTTP_BUFFER_ERROR:
                return "connection failed";
        case EVREQ_HTTP_REQUEST_CANCEL:
                return "cancelled";
        case EVREQ_HTTP_DATA_TOO_LONG:
                return "response too long";
        }
        return "failed";
}

/* May run inside evhttp_make_request (a refused local connection fails at
 * once): it only decides and arms timers, never sends. */
static void on_response(struct evhttp_request *req, void *arg)
{
        alerts_t *a = arg;
        int code = req ? evhttp_request_get_response_code(req) : 0;
        a->in_flight = false;
        if (code >= 200 && code < 300) {
                if (!a->orphaned) {
                        store_done(a, a->held);
                        commit_async(a);
                        a->delivered++;
                }
                release_held(a);
                if (a->stopping)
                        finish(a);
                else
                        schedule_next(a);
                return;
        }
        a->failures++;
        a->attempt++;
        char what[64];
        if (code)
                snprintf(what, sizeof(what), "HTTP %d", code);
        else
                snprintf(what, sizeof(what), "%s",
                         /* libevent reports a failed connect without an
                          * error code */
                         a->has_error ? request_error_text(a->last_error)
                                      : "cannot connect");
        if (a->orphaned || a->stopping) {
                alerts_log("webhook %s: %s for alert %s; not retried (%s)",
                           a->url.hostport, what, a->alert_id,
                           a->stopping ? "stopping" : "partition revoked");
                release_held(a);
                if (a->stopping)
                        finish(a);
                else
                        schedule_next(a);
                return;
        }
        long delay = ALERTS_FIRST_RETRY_MS;
        for (int i = 1; i < a->attempt && delay < a->retry_max_ms; i++)
                delay *= 2;
        if (delay > a->retry_max_ms)
                delay = a->retry_max_ms;
        alerts_log("webhook %s: %s for alert %s; retry %d in %ld ms",
                   a->url.hostport, what, a->alert_id, a->attempt, delay);
        struct timeval tv = {delay / 1000, (delay % 1000) * 1000};
        evtimer_add(a->ev_retry, &tv);
}

static void send_held(alerts_t *a)
{
        struct evhttp_request *req = evhttp_request_new(on_response, a);
        if (!req) {
                on_response(NULL, a);
                return;
        }
        evhttp_request_set_error_cb(req, on_request_error);
        struct evkeyvalq *h = evhttp_request_get_output_headers(req);
        evhttp_add_header(h, "Host", a->url.host_header);
        evhttp_add_header(h, "Content-Type", "application/json");
        evhttp_add_header(h, "User-Agent", "patuh-alerts");
        evbuffer_add(evhttp_request_get_output_buffer(req), a->body,
                     strlen(a->body));
        a->has_error = false;
        a->in_flight = true;
        if (evhttp_make_request(a->conn, req, EVHTTP_REQ_POST, a->url.path) !=
            0) {
                /* not queued: ours to free */
                evhttp_request_free(req);
                a->has_error = true;
                a->last_error = EVREQ_HTTP_BUFFER_ERROR;
                on_response(NULL, a);
        }
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
        alerts_t *a = arg;
        (void)fd;
        (void)what;
        if (!a->held)
                return;
        send_held(a);
}

static bool key_matches(const alerts_t *a, const rd_kafka_message_t *m,
                        json_t *alert)
{
        if (!a->supervisor)
                return true;
        size_t n = strlen(a->supervisor);
        if (m->key)
                return m->key_len == n && memcmp(m->key, a->supervisor, n) == 0;
        const char *k = str_member(alert, "key");
        return k && strcmp(k, a->supervisor) == 0;
}

/* Delivers one alert read from Kafka (m is ours).  Returns true when it is
 * now in hand (a webhook request under way). */
static bool deliver(alerts_t *a, rd_kafka_message_t *m)
{
        json_error_t jerr;
        char err[256];
        json_t *alert = NULL;
        /* the text and key are parts of the payload; the rest is short */
        size_t msg_size = m->len + 1024;
        char *msg = malloc(msg_size);
        if (!msg) {
                alerts_log("out of memory");
                a->exit_code = 1;
                a->stopping = true;
                rd_kafka_message_destroy(m);
                return false;
        }
        /* skip by Kafka key before parsing: most alerts are someone else's */
        if (a->supervisor && m->key && !key_matches(a, m, NULL))
                goto out_skip;
        alert = json_loadb(m->payload, m->len, 0, &jerr);
        if (!alert) {
                snprintf(err, sizeof(err), "not valid JSON: %s", jerr.text);
                goto out_bad;
        }
        if (message_of(alert, msg, msg_size, err, sizeof(err)) != 0)
                goto out_bad;
        if (!key_matches(a, m, alert))
                goto out_skip;
        if (!a->webhook) {
                if (printf("%s\n\n", msg) < 0 || fflush(stdout) != 0) {
                        alerts_log("cannot write to standard output: %s",
                                   strerror(errno));
                        a->exit_code = 1;
                        a->stopping = true;
                        goto out_free; /* not committed: printed again */
                }
                store_done(a, m);
                a->delivered++;
                goto out_free;
        }
        if (json_object_set_new(alert, "message", json_string(msg)) != 0 ||
            !(a->body = json_dumps(alert, JSON_COMPACT))) {
                snprintf(err, sizeof(err), "cannot build the webhook body");
                goto out_bad;
        }
        snprintf(a->alert_id, sizeof(a->alert_id), "%s",
                 str_member(alert, "alert_id"));
        json_decref(alert);
        free(msg);
        a->held = m;
        a->attempt = 0;
        send_held(a);
        return true;
out_bad:
        /* not an alert: nobody can be told; said here and passed over */
        alerts_log("partition %d offset %lld: not an alert (%s); skipped",
                   (int)m->partition, (long long)m->offset, err);
out_skip:
        store_done(a, m);
        a->skipped++;
out_free:
        json_decref(alert);
        free(msg);
        rd_kafka_message_destroy(m);
        return false;
}

static bool all_at_end(const alerts_t *a)
{
        size_t assigned = 0;
        for (size_t i = 0; i < a->n_parts; i++) {
                if (!a->parts[i].assigned)
                        continue;
                assigned++;
                if (!a->parts[i].at_end)
                        return false;
        }
        return assigned > 0;
}

/* Takes what the consumer returned: alerts into the queue, end-of-partition
 * and errors into the state. */
static void take(alerts_t *a, rd_kafka_message_t *m)
{
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                alerts_part_t *p = part_get(a, m->partition);
                if (p)
                        p->at_end = true;
        } else if (m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
                if (!a->no_topic)
                        alerts_log("topic %s does not exist (yet)", a->topic);
                a->no_topic = true;
        } else if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
                alerts_log("Kafka: %s", rd_kafka_message_errstr(m));
                a->exit_code = 1;
                a->stopping = true;
        } else if (m->err) {
                alerts_log("Kafka: %s", rd_kafka_message_errstr(m));
        } else {
                alerts_part_t *p = part_get(a, m->partition);
                if (p)
                        p->at_end = false;
                a->no_topic = false;
                if (enqueue(a, m) == 0)
                        return;
                alerts_log("out of memory");
                a->exit_code = 1;
                a->stopping = true;
        }
        rd_kafka_message_destroy(m);
}

static void pump(alerts_t *a)
{
        if (a->finished)
                return;
        /* poll even with a full queue or an alert in hand: rebalances,
         * commit results and group membership are served by the poll */
        int n = 0;
        rd_kafka_message_t *m;
        while (!a->stopping && n < ALERTS_MAX_PER_PUMP &&
               (m = rd_kafka_consumer_poll(a->rk, 0))) {
                n++;
                take(a, m);
        }
        if (a->finished)
                return;
        if (!a->paused && queued(a) >= (size_t)a->read_ahead) {
                pause_all(a, true);
                a->paused = true;
        } else if (a->paused && queued(a) <= (size_t)a->read_ahead / 2) {
                pause_all(a, false);
                a->paused = false;
        }
        /* one alert at a time, in the order read */
        while (!a->held && !a->stopping && (m = dequeue(a)))
                deliver(a, m);
        if (a->finished)
                return;
        if (!a->held)
                commit_async(a);
        if (a->stopping) {
                if (!a->held || !a->in_flight)
                        finish(a);
                return;
        }
        if (n == ALERTS_MAX_PER_PUMP) {
                schedule_next(a);
                return;
        }
        if (a->until_idle && !a->held && !queued(a) && n == 0 &&
            (all_at_end(a) || a->no_topic)) {
                alerts_log("idle: every partition of %s read to its end, "
                           "every alert delivered",
                           a->topic);
                a->stopping = true;
                finish(a);
        }
}

static void on_queue(evutil_socket_t fd, short what, void *arg)
{
        char buf[256];
        (void)what;
        while (read(fd, buf, sizeof(buf)) > 0)
                ;
        pump(arg);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        pump(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
        alerts_t *a = arg;
        (void)what;
        if (a->stopping) {
                alerts_log("signal %d again: exiting without waiting for "
                           "the webhook",
                           (int)sig);
                a->exit_code = 1;
                finish(a);
                return;
        }
        a->stopping = true;
        if (a->held && a->in_flight) {
                alerts_log("signal %d: stopping after the alert in flight",
                           (int)sig);
                return;
        }
        alerts_log("signal %d: stopping", (int)sig);
        finish(a);
}

/* ---- set-up --------------------------------------------------------------
 */

/* Returns 0, -2 for a configuration librdkafka refuses (the caller's
 * --kafka properties, the bootstrap list), or -1. */
static int setup_kafka(alerts_t *a, const char *bootstrap, char *errstr,
                       size_t errstr_size)
{
        static const char *const props[][2] = {
            {"enable.auto.commit", "false"},
            {"enable.auto.offset.store", "false"},
            {"auto.offset.reset", "earliest"},
            {"enable.partition.eof", "true"},
        };
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        /* the caller's properties first (security, tuning), so that the
         * settings the delivery guarantee rests on below always win */
        for (size_t i = 0; i < a->n_kafka; i++) {
                const char *eq = strchr(a->kafka[i], '=');
                char name[256];
                snprintf(name, sizeof(name), "%.*s", (int)(eq - a->kafka[i]),
                         a->kafka[i]);
                char ignored[512];
                if (rd_kafka_conf_set(conf, name, eq + 1, ignored,
                                      sizeof(ignored)) != RD_KAFKA_CONF_OK) {
                        /* librdkafka's message repeats the value, which
                         * may be a password */
                        snprintf(errstr, errstr_size,
                                 "--kafka %s: librdkafka refuses this "
                                 "property or its value",
                                 name);
                        goto out_free_conf;
                }
        }
        if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr,
                              errstr_size) != RD_KAFKA_CONF_OK ||
            rd_kafka_conf_set(conf, "group.id", a->group, errstr,
                              errstr_size) != RD_KAFKA_CONF_OK)
                goto out_free_conf;
        for (size_t i = 0; i < sizeof(props) / sizeof(props[0]); i++)
                if (rd_kafka_conf_set(conf, props[i][0], props[i][1], errstr,
                                      errstr_size) != RD_KAFKA_CONF_OK)
                        goto out_free_conf;
        rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
        rd_kafka_conf_set_offset_commit_cb(conf, on_commit);
        rd_kafka_conf_set_opaque(conf, a);
        if (!(a->rk =
                  rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, errstr_size)))
                goto out_free_conf; /* not taken on failure */
        rd_kafka_poll_set_consumer(a->rk);
        rd_kafka_topic_partition_list_t *sub =
            rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(sub, a->topic, RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t err = rd_kafka_subscribe(a->rk, sub);
        rd_kafka_topic_partition_list_destroy(sub);
        if (err) {
                snprintf(errstr, errstr_size, "subscribe to %s: %s", a->topic,
                         rd_kafka_err2str(err));
                return -1;
        }
        if (pipe(a->pipefd) != 0) {
                snprintf(errstr, errstr_size, "pipe: %s", strerror(errno));
                return -1;
        }
        fcntl(a->pipefd[0], F_SETFL, O_NONBLOCK);
        fcntl(a->pipefd[1], F_SETFL, O_NONBLOCK);
        /* librdkafka writes to the pipe when the queue turns non-empty */
        a->cq = rd_kafka_queue_get_consumer(a->rk);
        rd_kafka_queue_io_event_enable(a->cq, a->pipefd[1], "1", 1);
        return 0;
out_free_conf:
        rd_kafka_conf_destroy(conf);
        return -2;
}

static int setup_loop(alerts_t *a, char *errstr, size_t errstr_size)
{
        if (!(a->base = event_base_new())) {
                snprintf(errstr, errstr_size, "cannot create the event loop");
                return -1;
        }
        a->ev_queue =
            event_new(a->base, a->pipefd[0], EV_READ | EV_PERSIST, on_queue, a);
        a->ev_tick = event_new(a->base, -1, EV_PERSIST, on_timer, a);
        a->ev_next = evtimer_new(a->base, on_timer, a);
        a->ev_retry = evtimer_new(a->base, on_retry, a);
        a->ev_int = evsignal_new(a->base, SIGINT, on_signal, a);
        a->ev_term = evsignal_new(a->base, SIGTERM, on_signal, a);
        if (!a->ev_queue || !a->ev_tick || !a->ev_next || !a->ev_retry ||
            !a->ev_int || !a->ev_term) {
                snprintf(errstr, errstr_size, "cannot create events");
                return -1;
        }
        struct timeval tick = {0, ALERTS_TICK_MS * 1000};
        event_add(a->ev_queue, NULL);
        event_add(a->ev_tick, &tick);
        event_add(a->ev_int, NULL);
        event_add(a->ev_term, NULL);
        if (!a->webhook)
                return 0;
        /* a non-blocking resolver; without one the host is resolved by a
         * blocking lookup, still correct */
        a->dns = evdns_base_new(a->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
        a->conn = evhttp_connection_base_new(a->base, a->dns, a->url.host,
                                             (unsigned short)a->url.port);
        if (!a->conn) {
                snprintf(errstr, errstr_size,
                         "cannot create the webhook "
                         "connection");
                return -1;
        }
        struct timeval to = {a->timeout_ms / 1000,
                             (a->timeout_ms % 1000) * 1000};
        evhttp_connection_set_timeout_tv(a->conn, &to);
        evhttp_connection_set_retries(a->conn, 0); /* our backoff decides */
        return 0;
}

static void alerts_cleanup(alerts_t *a)
{
        /* Kafka first: destroying an unclosed consumer may still call
         * on_rebalance, which must find the loop's objects alive */
        if (a->held)
                rd_kafka_message_destroy(a->held);
        a->held = NULL;
        free(a->body);
        a->body = NULL;
        drop_queued(a, NULL);
        free(a->q);
        a->q = NULL;
        if (a->cq) {
                rd_kafka_queue_io_event_enable(a->cq, -1, NULL, 0);
                rd_kafka_queue_destroy(a->cq);
        }
        if (a->rk)
                rd_kafka_destroy(a->rk);
        if (a->conn)
                evhttp_connection_free(a->conn);
        if (a->dns)
                evdns_base_free(a->dns, 0);
        struct event *evs[] = {a->ev_queue, a->ev_tick, a->ev_next,
                               a->ev_retry, a->ev_int,  a->ev_term};
        for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
                if (evs[i])
                        event_free(evs[i]);
        if (a->base)
                event_base_free(a->base);
        if (a->pipefd[0] >= 0) {
                close(a->pipefd[0]);
                close(a->pipefd[1]);
        }
        free(a->parts);
}

/* ---- arguments -----------------------------------------------------------
 */

static void usage(FILE *f)
{
        fputs(
            "usage: patuh alerts --follow [--supervisor ID] [--webhook URL]\n"
            "                    [--prefix patuh.] [--group patuh-alerts]\n"
            "                    [--retry-max-ms 5000] [--timeout-ms 10000]\n"
            "                    [--read-ahead 1000] [--kafka NAME=VALUE ...]\n"
            "                    [--until-idle]\n"
            "  Follows <prefix>alerts ($PATUH_KAFKA_BOOTSTRAP) and prints\n"
            "  each alert as a message in Bahasa Indonesia, or POSTs it as\n"
            "  JSON to an http:// webhook, retrying until it answers 2xx.\n"
            "  An alert is committed only once delivered.  --kafka passes\n"
            "  a librdkafka property (security.protocol, sasl.*, ...); a\n"
            "  command line is visible to other users, so keep secrets\n"
            "  out of it on shared machines.\n",
            f);
}

/* A checked integer option in [lo, hi] (cliopt). */
static int int_option(const char *name, const char *v, long lo, long hi,
                      int *out)
{
        return cliopt_int("alerts", name, v, lo, hi, out);
}

static int parse_args(alerts_t *a, int argc, char **argv)
{
        const char *prefix = getenv("PATUH_TOPIC_PREFIX");
        const char *webhook = NULL;
        bool follow = false;
        if (!prefix || !*prefix)
                prefix = "patuh.";
        a->group = ALERTS_DEFAULT_GROUP;
        a->retry_max_ms = 5000;
        a->timeout_ms = 10000;
        a->read_ahead = ALERTS_DEFAULT_READ_AHEAD;
        for (int i = 0; i < argc; i++) {
                const char *o = argv[i];
                if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
                        usage(stdout);
                        return 0;
                }
                if (strcmp(o, "--follow") == 0) {
                        follow = true;
                        continue;
                }
                if (strcmp(o, "--until-idle") == 0) {
                        a->until_idle = true;
                        continue;
                }
                static const char *const valued[] = {
                    "--supervisor", "--webhook",      "--prefix",
                    "--group",      "--retry-max-ms", "--timeout-ms",
                    "--kafka",      "--read-ahead"};
                bool known = false;
                for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++)
                        known = known || strcmp(o, valued[k]) == 0;
                if (!known) {
                        fprintf(stderr, "patuh alerts: unknown option %s\n", o);
                        usage(stderr);
                        return 2;
                }
                if (i + 1 >= argc ||
                    (!*argv[i + 1] && strcmp(o, "--prefix") != 0)) {
                        fprintf(stderr, "patuh alerts: %s needs a value\n", o);
                        return 2;
                }
                const char *v = argv[++i];
                if (strcmp(o, "--supervisor") == 0) {
                        a->supervisor = v;
                } else if (strcmp(o, "--webhook") == 0) {
                        webhook = v;
                } else if (strcmp(o, "--prefix") == 0) {
                        prefix = v;
                } else if (strcmp(o, "--group") == 0) {
                        a->group = v;
                } else if (strcmp(o, "--kafka") == 0) {
                        const char *eq = strchr(v, '=');
                        if (!eq || eq == v || eq - v >= 256 ||
                            a->n_kafka == ALERTS_MAX_KAFKA_PROPS) {
                                fprintf(stderr,
                                        "patuh alerts: --kafka: expected "
                                        "NAME=VALUE (at most %d)\n",
                                        ALERTS_MAX_KAFKA_PROPS);
                                return 2;
                        }
                        a->kafka[a->n_kafka++] = v;
                } else if (strcmp(o, "--retry-max-ms") == 0) {
                        if (int_option(o, v, ALERTS_FIRST_RETRY_MS, 3600000,
                                       &a->retry_max_ms) != 0)
                                return 2;
                } else if (strcmp(o, "--read-ahead") == 0) {
                        if (int_option(o, v, 1, 1000000, &a->read_ahead) != 0)
                                return 2;
                } else if (int_option(o, v, 100, 600000, &a->timeout_ms) != 0) {
                        return 2;
                }
        }
        if (!follow) {
                fprintf(stderr, "patuh alerts: --follow is required (only "
                                "following the topic is supported)\n");
                usage(stderr);
                return 2;
        }
        int tl = snprintf(a->topic, sizeof(a->topic), "%salerts", prefix);
        if (tl < 0 || (size_t)tl >= sizeof(a->topic)) {
                fprintf(stderr, "patuh alerts: --prefix: too long\n");
                return 2;
        }
        if (webhook) {
                char err[256];
                if (cli_alerts_parse_url(webhook, &a->url, err, sizeof(err)) !=
                    0) {
                        fprintf(stderr, "patuh alerts: --webhook: %s\n", err);
                        return 2;
                }
                a->webhook = true;
        }
        return -1; /* go on */
}

int cli_alerts(int argc, char **argv)
{
        alerts_t a;
        memset(&a, 0, sizeof(a));
        a.pipefd[0] = a.pipefd[1] = -1;
        int rc = parse_args(&a, argc, argv);
        if (rc >= 0)
                return rc;
        const char *bootstrap = getenv("PATUH_KAFKA_BOOTSTRAP");
        if (!bootstrap || !*bootstrap) {
                fprintf(stderr, "patuh alerts: no Kafka: set "
                                "PATUH_KAFKA_BOOTSTRAP (eval \"$(deploy/stack "
                                "env)\")\n");
                return 2;
        }
        /* a webhook that closes its socket, or a reader of our output that
         * goes away, is an error to handle, not a reason to die */
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
        char err[512];
        rc = setup_kafka(&a, bootstrap, err, sizeof(err));
        if (rc == 0)
                rc = setup_loop(&a, err, sizeof(err));
        if (rc != 0) {
                alerts_log("%s", err);
                rc = rc == -2 ? 2 : 1;
                goto out;
        }
        if (a.webhook)
                alerts_log("following %s as group %s, delivering to webhook "
                           "%s",
                           a.topic, a.group, a.url.hostport);
        else
                alerts_log("following %s as group %s", a.topic, a.group);
        event_base_dispatch(a.base);
        if (!a.finished) {
                alerts_log("the event loop ended unexpectedly");
                a.exit_code = 1;
                finish(&a);
        }
        rc = a.exit_code;
out:
        alerts_cleanup(&a);
        return rc;
}
