#include "live.h"

#include "../consumers/record.h"
#include "../rules/calendar.h"
#include "../rules/policy.h"
#include "../rules/roster.h"
#include "../rules/tz.h"
#include "cli_live.h"
#include "core.h"
#include "jw.h"
#include "output.h"
#include "refdata.h"
#include "store.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Output topics, in core_out_t order, then the dead letters. */
enum { OUT_VIOLATIONS, OUT_TPP, OUT_ALERTS, OUT_DIGESTS, OUT_DLQ, OUT__COUNT };
static const char *const out_names[OUT__COUNT] = {"violations", "tpp", "alerts",
                                                  "digests", "dlq"};

/* One input partition and how far it has been read (SPEC §4.2). */
typedef struct part {
        int topic; /* rec_topic_t */
        int32_t partition;
        bool assigned;
        bool at_end;         /* consumed to its end (EOF, nothing newer) */
        bool has_msg;        /* a record was consumed since assignment */
        ptime_t last_ts;     /* arrival time of the last record consumed */
        int64_t next_offset; /* offset after the last record consumed */
        int64_t closed;      /* next_offset when the last batch closed */
} part_t;

/* A publication or dead letter waiting to be made durable. */
typedef struct out_item {
        int out;   /* OUT_* */
        char *key; /* owned; Kafka key (bytes) */
        size_t key_len;
        char *json; /* owned */
        size_t len;
        int32_t revision; /* of the violation behind it, or 0 */
} out_item_t;

/* An accepted record to append to its Redis list. */
typedef struct rec_item {
        char key[160];
        char *json; /* owned */
        size_t len;
        size_t seq; /* arrival order within the batch */
} rec_item_t;

typedef struct touched {
        int32_t emp, day;
} touched_t;

/* The ledger of one employee-day as it stood when its batch closed:
 * HSET arguments (field, value, field, value, ...). */
typedef struct led_item {
        char key[160];
        char **strs; /* owned */
        size_t *lens;
        size_t n;
} led_item_t;

typedef struct off_item {
        int topic;
        int32_t partition;
        int64_t offset;
} off_item_t;

/*
 * A batch: filled while records are consumed, closed (ledgers and offsets
 * snapshotted), then made durable.  Two exist, so that the next batch is
 * consumed and evaluated while the previous one waits on PostgreSQL, Kafka
 * and Redis; batches are made durable strictly one after the other.
 */
typedef struct batch {
        out_item_t *outs;
        size_t n_outs, cap_outs;
        rec_item_t *recs;
        size_t n_recs, cap_recs;
        touched_t *touched;
        size_t n_touched, cap_touched;
        long n_msgs;      /* input messages consumed into it */
        led_item_t *leds; /* set at close */
        size_t n_leds;
        off_item_t *offs; /* set at close */
        size_t n_offs;
        bool has_wm; /* set at close */
        ptime_t wm;
        int32_t outage; /* no_presence_data cursor, set at close */
} batch_t;

/* A batch's writes: PostgreSQL and Kafka together (the outputs), then
 * Redis (the state), then the offsets. */
enum phase { PH_IDLE, PH_OUTPUTS, PH_REDIS };

typedef struct live {
        const config_t *cfg;
        bool until_idle;
        policy_t *policy;
        roster_t *roster;
        calendar_t *calendar;
        eval_ctx_t ctx;
        core_t *core;
        struct event_base *base;
        struct event *ev_queue, *ev_tick, *ev_term, *ev_int, *ev_retry;
        struct event *ev_kafka; /* waits for the producer's acks */
        struct event *ev_retry_kafka;
        bool pg_ok, kafka_ok; /* this batch's outputs are durable there */
        struct event *ev_pg_read, *ev_pg_write;
        rd_kafka_t *cons;
        rd_kafka_queue_t *cq;
        int pipefd[2];
        rd_kafka_t *prod;
        char in_topics[TOPIC__COUNT][256];
        char out_topics[OUT__COUNT][256];
        long prod_failed;
        char redis_host[256];
        int redis_port, redis_db;
        redisAsyncContext *redis;
        bool redis_up;
        int redis_pending;
        bool redis_error;
        PGconn *pg;
        bool pg_error;
        part_t *parts;
        size_t n_parts, cap_parts;
        int expected_parts;
        batch_t batch[2];
        batch_t *fill;   /* being consumed into */
        batch_t *commit; /* being made durable, or NULL */
        int phase;       /* of the commit */
        int backoff_ms;
        bool stopping;
        int exit_code;
        jw_t w;
        long long consumed, batches;
        /* the engine lease (schemas/sql/004_lease.sql): only its holder
         * evaluates; every batch renews it in its own transaction */
        char holder[192];
        long long epoch;
        int64_t renewed_ms; /* monotonic ms of the last renewal */
        bool lease_lost;
} live_t;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Log lines never carry a configuration value: conninfo may hold a
 * password. */
static void logf_(const char *fmt, ...)
{
        char ts[40];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf(stderr, "%s patuhd: ", ts);
        va_list ap;
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/* The wall clock, or PATUH_NOW (an RFC 3339 instant) when set: tests and
 * backfills of dates not yet reached (the public scenarios run in 2027)
 * pin "now" instead of waiting for it. */
/* PATUH_TRACE=1 logs each phase of each batch with its duration. */
static void trace(live_t *l, const char *what);

static ptime_t wall_now(void)
{
        const char *fake = getenv("PATUH_NOW");
        ptime_t t;
        if (fake && ptime_parse_rfc3339(fake, strlen(fake), &t))
                return t;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (ptime_t){ts.tv_sec, (int32_t)ts.tv_nsec};
}

static int64_t mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A third of the lease's life: renewed well before it can expire. */
static bool lease_due(const live_t *l)
{
        return mono_ms() - l->renewed_ms > l->cfg->lease_ttl_ms / 3;
}

static char *dup_n(const char *s, size_t n)
{
        char *d = malloc(n + 1);
        if (d) {
                memcpy(d, s, n);
                d[n] = '\0';
        }
        return d;
}

static bool grow(void **v, size_t *cap, size_t n, size_t elem)
{
        if (n < *cap)
                return true;
        size_t nc = *cap ? *cap * 2 : 64;
        void *nv = realloc(*v, nc * elem);
        if (!nv)
                return false;
        *v = nv;
        *cap = nc;
        return true;
}

static void trace(live_t *l, const char *what)
{
        static int on = -1;
        static struct timespec last_commit;
        if (on < 0)
                on = getenv("PATUH_TRACE") != NULL;
        if (!on || strcmp(what, "consume") == 0)
                return;
        /* each commit phase, timed from the previous one */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double ms = (double)(now.tv_sec - last_commit.tv_sec) * 1e3 +
                    (double)(now.tv_nsec - last_commit.tv_nsec) / 1e6;
        last_commit = now;
        const batch_t *b = l->commit ? l->commit : l->fill;
        logf_("trace: %-8s +%.1f ms since the previous phase (outs %zu, recs "
              "%zu, ledgers %zu; filling %ld)",
              what, ms, b->n_outs, b->n_recs, b->n_leds, l->fill->n_msgs);
}

/* ---- batch contents ----------------------------------------------------- */

/* Out of memory: the batch in hand may be incomplete, so it must not be
 * written.  Stopping here is a crash by design: nothing of it is durable,
 * its offsets are not stored, and a restart processes it again. */
static void fail_oom(live_t *l)
{
        (void)l;
        logf_("out of memory: stopping without writing the current batch");
        _exit(1);
}

static void add_out(live_t *l, int out, const char *key, size_t key_len,
                    const char *json, size_t len, int32_t revision)
{
        batch_t *b = l->fill;
        if (!grow((void **)&b->outs, &b->cap_outs, b->n_outs,
                  sizeof(*b->outs))) {
                fail_oom(l);
                return;
        }
        out_item_t *o = &b->outs[b->n_outs++];
        o->out = out;
        o->key = dup_n(key ? key : "", key ? key_len : 0);
        o->key_len = key ? key_len : 0;
        o->json = dup_n(json, len);
        o->len = len;
        o->revision = revision;
        if (!o->key || !o->json)
                fail_oom(l);
}

static void sink_emit(void *ud, core_out_t out, const char *key,
                      const char *json, size_t len, const eval_pub_t *p)
{
        live_t *l = ud;
        add_out(l,
                out == CORE_OUT_REVISION ? OUT_VIOLATIONS
                : out == CORE_OUT_TPP    ? OUT_TPP
                : out == CORE_OUT_DIGEST ? OUT_DIGESTS
                                         : OUT_ALERTS,
                key, key ? strlen(key) : 0, json, len, p ? p->revision : 0);
}

static void sink_touched(void *ud, int32_t emp, int32_t day)
{
        live_t *l = ud;
        batch_t *b = l->fill;
        for (size_t i = b->n_touched; i-- > 0 && i + 8 >= b->n_touched;)
                if (b->touched[i].emp == emp && b->touched[i].day == day)
                        return; /* common case: the same day again */
        if (!grow((void **)&b->touched, &b->cap_touched, b->n_touched,
                  sizeof(*b->touched))) {
                fail_oom(l);
                return;
        }
        b->touched[b->n_touched++] = (touched_t){emp, day};
}

static void batch_clear(batch_t *b)
{
        for (size_t i = 0; i < b->n_outs; i++) {
                free(b->outs[i].key);
                free(b->outs[i].json);
        }
        for (size_t i = 0; i < b->n_recs; i++)
                free(b->recs[i].json);
        for (size_t i = 0; i < b->n_leds; i++) {
                for (size_t k = 0; k < b->leds[i].n; k++)
                        free(b->leds[i].strs[k]);
                free(b->leds[i].strs);
                free(b->leds[i].lens);
        }
        free(b->leds);
        free(b->offs);
        b->leds = NULL;
        b->offs = NULL;
        b->n_outs = b->n_recs = b->n_touched = b->n_leds = b->n_offs = 0;
        b->n_msgs = 0;
        b->has_wm = false;
}

static void batch_free(batch_t *b)
{
        batch_clear(b);
        free(b->outs);
        free(b->recs);
        free(b->touched);
}

static bool batch_empty(const batch_t *b)
{
        return !b->n_outs && !b->n_recs && !b->n_touched && !b->n_msgs;
}

/* ---- partitions and the watermark --------------------------------------- */

static part_t *part_get(live_t *l, int topic, int32_t partition)
{
        for (size_t i = 0; i < l->n_parts; i++)
                if (l->parts[i].topic == topic &&
                    l->parts[i].partition == partition)
                        return &l->parts[i];
        if (!grow((void **)&l->parts, &l->cap_parts, l->n_parts,
                  sizeof(*l->parts)))
                return NULL;
        part_t *p = &l->parts[l->n_parts++];
        memset(p, 0, sizeof(*p));
        p->topic = topic;
        p->partition = partition;
        p->next_offset = p->closed = -1;
        return p;
}

static int topic_index(const live_t *l, const char *name)
{
        for (int t = 0; t < TOPIC__COUNT; t++)
                if (strcmp(l->in_topics[t], name) == 0)
                        return t;
        return -1;
}

/* SPEC §4.2: read up to T when every input partition is at its end or
 * past a record stamped later than T; the engine's watermark is the
 * minimum over the partitions (wall clock for those at their end).
 * Nothing fires until every partition is assigned and has been read. */
static bool watermark(const live_t *l, ptime_t *wm)
{
        int assigned = 0;
        ptime_t now = wall_now(), min = PTIME_FOREVER;
        for (size_t i = 0; i < l->n_parts; i++) {
                const part_t *p = &l->parts[i];
                if (!p->assigned)
                        continue;
                assigned++;
                /* at its end: now, but never before what was read */
                ptime_t t =
                    p->at_end && (!p->has_msg || ptime_cmp(now, p->last_ts) > 0)
                        ? now
                    : p->has_msg ? p->last_ts
                                 : PTIME_NEVER;
                if (ptime_cmp(t, min) < 0)
                        min = t;
        }
        if (assigned == 0 || assigned < l->expected_parts ||
            ptime_cmp(min, PTIME_NEVER) == 0)
                return false;
        *wm = min;
        return true;
}

static bool all_at_end(const live_t *l)
{
        int assigned = 0;
        for (size_t i = 0; i < l->n_parts; i++) {
                if (!l->parts[i].assigned)
                        continue;
                assigned++;
                if (!l->parts[i].at_end)
                        return false;
        }
        return assigned > 0 && assigned >= l->expected_parts;
}

/* ---- one input message --------------------------------------------------- */

/* The arrival time: patuh produce's exact ts header, its "no ts" header
 * (replay semantics), or the Kafka message timestamp. */
static bool arrival(const rd_kafka_message_t *m, ptime_t *ts)
{
        rd_kafka_headers_t *h = NULL;
        const void *v;
        size_t n;
        if (rd_kafka_message_headers(m, &h) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                if (rd_kafka_header_get_last(h, PATUH_HDR_NO_TS, &v, &n) ==
                    RD_KAFKA_RESP_ERR_NO_ERROR)
                        return false;
                if (rd_kafka_header_get_last(h, PATUH_HDR_TS, &v, &n) ==
                        RD_KAFKA_RESP_ERR_NO_ERROR &&
                    v && ptime_parse_rfc3339(v, n, ts))
                        return true;
        }
        rd_kafka_timestamp_type_t tt;
        int64_t ms = rd_kafka_message_timestamp(m, &tt);
        if (ms < 0)
                return false;
        ts->sec = ptime_floordiv(ms, 1000);
        ts->nsec = (int32_t)(ptime_floormod(ms, 1000) * 1000000);
        return true;
}

static void persist_record(live_t *l, const record_t *rec, bool has_ts,
                           ptime_t ts, const rd_kafka_message_t *m)
{
        const char *emp_id = record_subject_id(rec);
        batch_t *b = l->fill;
        if (!grow((void **)&b->recs, &b->cap_recs, b->n_recs,
                  sizeof(*b->recs))) {
                l->exit_code = 1;
                l->stopping = true;
                return;
        }
        rec_item_t *r = &b->recs[b->n_recs];
        if (rec->topic == TOPIC_EXCUSES)
                store_key_excuses(emp_id, r->key, sizeof(r->key));
        else
                store_key_records(emp_id,
                                  tz_local_day(l->policy->tz, record_time(rec)),
                                  r->key, sizeof(r->key));
        store_envelope(&l->w, rec->topic, has_ts, ts, m->partition, m->offset,
                       m->payload ? m->payload : "", m->len);
        r->json = dup_n(l->w.buf, l->w.len);
        if (!r->json || l->w.oom)
                fail_oom(l);
        r->len = l->w.len;
        r->seq = b->n_recs;
        jw_reset(&l->w);
        b->n_recs++;
}

static void handle_message(live_t *l, const rd_kafka_message_t *m)
{
        int topic = topic_index(l, rd_kafka_topic_name(m->rkt));
        if (topic < 0)
                return;
        part_t *p = part_get(l, topic, m->partition);
        ptime_t ts = PTIME_NEVER;
        bool has_ts = arrival(m, &ts);
        if (p) {
                p->has_msg = true;
                p->at_end = false;
                p->next_offset = m->offset + 1;
                l->fill->n_msgs++;
                rd_kafka_timestamp_type_t tt;
                int64_t ms = rd_kafka_message_timestamp(m, &tt);
                p->last_ts =
                    has_ts ? ts : (ptime_t){ptime_floordiv(ms, 1000), 0};
        }
        l->consumed++;
        record_t rec;
        char detail[256] = "";
        bool dup = false;
        dlq_reason_t reason = record_decode_bytes(
            (rec_topic_t)topic, m->payload ? m->payload : "", m->len, &rec,
            detail, sizeof(detail));
        if (reason == DLQ_NONE)
                reason = core_admit(l->core, &rec, has_ts, ts, &dup, detail,
                                    sizeof(detail));
        if (reason != DLQ_NONE) {
                /* SPEC §5: with the original bytes and where they came
                 * from; the partition moves on */
                out_dlq_src_t src = {NULL,      -1,     topic, m->partition,
                                     m->offset, has_ts, ts};
                out_dlq(&l->w, &l->ctx, &src, reason, detail,
                        reason == DLQ_MALFORMED ? NULL : rec.event_id,
                        m->payload ? m->payload : "", m->len);
                /* the Kafka key is bytes, not a C string */
                add_out(l, OUT_DLQ, m->key ? (const char *)m->key : "",
                        m->key ? m->key_len : 0, l->w.buf, l->w.len, 0);
                jw_reset(&l->w);
                return;
        }
        if (!dup)
                persist_record(l, &rec, has_ts, ts, m);
}

/* ---- commit: outputs, then state, then offsets --------------------------- */

static void start_pg(live_t *l);
static void start_kafka(live_t *l);
static void phase_redis(live_t *l);
static void phase_offsets(live_t *l);
static void consume(live_t *l);

/* Something failed: try the same write again later, longer each time
 * (ev: the retry timer of that write). */
static void retry_on(live_t *l, struct event *ev, const char *what)
{
        l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : 100;
        if (l->backoff_ms > 5000)
                l->backoff_ms = 5000;
        logf_("%s; retrying in %d ms (consumption paused)", what,
              l->backoff_ms);
        struct timeval tv = {l->backoff_ms / 1000,
                             (l->backoff_ms % 1000) * 1000};
        evtimer_add(ev, &tv);
}

/* PostgreSQL's and Redis's retries share a timer: they are never due at
 * once (Redis waits for the outputs). */
static void retry_later(live_t *l, const char *what)
{
        retry_on(l, l->ev_retry, what);
}

/* Both outputs durable: now the state. */
static void outputs_check(live_t *l)
{
        if (l->phase == PH_OUTPUTS && l->pg_ok && l->kafka_ok)
                phase_redis(l);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
        live_t *l = arg;
        (void)fd;
        (void)what;
        if (l->phase == PH_OUTPUTS && !l->pg_ok)
                start_pg(l);
        else if (l->phase == PH_REDIS)
                phase_redis(l);
}

static void on_retry_kafka(evutil_socket_t fd, short what, void *arg)
{
        live_t *l = arg;
        (void)fd;
        (void)what;
        if (l->phase == PH_OUTPUTS && !l->kafka_ok)
                start_kafka(l); /* produces the batch's outputs again */
}

static bool pg_connect(live_t *l)
{
        if (l->pg && PQstatus(l->pg) == CONNECTION_OK)
                return true;
        if (l->ev_pg_read) {
                event_free(l->ev_pg_read);
                l->ev_pg_read = NULL;
        }
        if (l->ev_pg_write) {
                event_free(l->ev_pg_write);
                l->ev_pg_write = NULL;
        }
        if (l->pg)
                PQfinish(l->pg);
        /* connect_timeout keeps a dead server from stalling the loop */
        const char *keys[] = {"dbname", "connect_timeout", NULL};
        const char *vals[] = {l->cfg->pg_conninfo, "3", NULL};
        l->pg = PQconnectdbParams(keys, vals, 1);
        if (PQstatus(l->pg) != CONNECTION_OK) {
                logf_("PostgreSQL: cannot connect: %s", PQerrorMessage(l->pg));
                return false;
        }
        if (PQsetnonblocking(l->pg, 1) != 0 || !PQenterPipelineMode(l->pg)) {
                logf_("PostgreSQL: cannot enter pipeline mode");
                PQfinish(l->pg);
                l->pg = NULL;
                return false;
        }
        return true;
}

static void pg_done(live_t *l, bool ok)
{
        event_del(l->ev_pg_read);
        event_del(l->ev_pg_write);
        if (l->lease_lost) {
                /* another instance holds the lease now: nothing of this
                 * batch was written, and nothing more may be */
                logf_("lost the engine lease to another instance: stopping "
                      "without writing");
                _exit(1);
        }
        if (ok)
                l->renewed_ms = mono_ms();
        if (!ok) {
                /* a fresh session for the retry, whatever state this one
                 * was left in (pg_connect frees the old events later, not
                 * inside their own callback) */
                PQfinish(l->pg);
                l->pg = NULL;
                retry_later(l, "PostgreSQL write failed");
                return;
        }
        l->pg_ok = true;
        outputs_check(l);
}

static void on_pg_write(evutil_socket_t fd, short what, void *arg)
{
        live_t *l = arg;
        (void)fd;
        (void)what;
        int r = PQflush(l->pg);
        if (r < 0)
                pg_done(l, false);
        else if (r == 0)
                event_del(l->ev_pg_write);
}

static void on_pg_read(evutil_socket_t fd, short what, void *arg)
{
        live_t *l = arg;
        (void)fd;
        (void)what;
        if (!PQconsumeInput(l->pg)) {
                pg_done(l, false);
                return;
        }
        while (!PQisBusy(l->pg)) {
                PGresult *r = PQgetResult(l->pg);
                if (!r)
                        continue; /* end of one statement's results */
                ExecStatusType st = PQresultStatus(r);
                if (st == PGRES_FATAL_ERROR) {
                        const char *hint =
                            PQresultErrorField(r, PG_DIAG_MESSAGE_HINT);
                        if (hint && strcmp(hint, "patuh_lease_lost") == 0)
                                l->lease_lost = true;
                        logf_("PostgreSQL: %s", PQresultErrorMessage(r));
                        l->pg_error = true;
                } else if (st == PGRES_PIPELINE_ABORTED) {
                        l->pg_error = true;
                }
                PQclear(r);
                if (st == PGRES_PIPELINE_SYNC) {
                        pg_done(l, !l->pg_error);
                        return;
                }
        }
}

/* Outputs, part 1: every revision, TPP event and dead letter of the batch
 * in one pipelined transaction (idempotent upserts). */
static void start_pg(live_t *l)
{
        trace(l, "pg");
        size_t n = 0;
        const batch_t *b = l->commit;
        for (size_t i = 0; i < b->n_outs; i++)
                n += b->outs[i].out != OUT_ALERTS;
        n += b->n_recs;
        if (n == 0 && !lease_due(l)) {
                l->pg_ok = true;
                outputs_check(l);
                return;
        }
        if (!pg_connect(l)) {
                retry_later(l, "PostgreSQL is down");
                return;
        }
        if (!l->ev_pg_read) {
                l->ev_pg_read = event_new(l->base, PQsocket(l->pg),
                                          EV_READ | EV_PERSIST, on_pg_read, l);
                l->ev_pg_write =
                    event_new(l->base, PQsocket(l->pg), EV_WRITE | EV_PERSIST,
                              on_pg_write, l);
        }
        l->pg_error = false;
        /* one statement per kind of output: the batch as a JSON array;
         * the accepted records last (the evidence behind the decisions,
         * kept for explain after Redis forgets them) */
        static const char *const sql[5] = {
            "SELECT patuh_publish_revisions($1::jsonb)",
            "SELECT patuh_publish_tpps($1::jsonb)",
            "SELECT patuh_dead_letters($1::jsonb)",
            "SELECT patuh_publish_digests($1::json)",
            "SELECT patuh_input_records($1::jsonb)"};
        static const int kinds[5] = {OUT_VIOLATIONS, OUT_TPP, OUT_DLQ,
                                     OUT_DIGESTS, -1};
        /* no BEGIN/COMMIT: the statements up to the Sync run as one
         * implicit transaction, which an error rolls back as a whole */
        /* first the lease: if another instance took it over, this
         * statement fails and the whole batch with it */
        char epoch[24], ttl[24];
        snprintf(epoch, sizeof(epoch), "%lld", l->epoch);
        snprintf(ttl, sizeof(ttl), "%ld", l->cfg->lease_ttl_ms);
        const char *lease[3] = {l->holder, epoch, ttl};
        bool ok = PQsendQueryParams(
            l->pg, "SELECT patuh_lease_renew($1, $2::bigint, $3::int)", 3, NULL,
            lease, NULL, NULL, 0);
        l->lease_lost = false;
        for (int k = 0; ok && k < 5; k++) {
                bool any = false;
                jw_reset(&l->w);
                jw_raw(&l->w, "[", 1);
                for (size_t i = 0; kinds[k] < 0 && i < b->n_recs; i++) {
                        if (any)
                                jw_raw(&l->w, ",", 1);
                        any = true;
                        jw_raw(&l->w, b->recs[i].json, b->recs[i].len);
                }
                for (size_t i = 0; kinds[k] >= 0 && i < b->n_outs; i++) {
                        const out_item_t *o = &b->outs[i];
                        if (o->out != kinds[k])
                                continue;
                        if (any)
                                jw_raw(&l->w, ",", 1);
                        any = true;
                        if (o->out == OUT_TPP) {
                                char head[48];
                                int hl = snprintf(
                                    head, sizeof(head),
                                    "{\"r\":%d,\"d\":", (int)o->revision);
                                jw_raw(&l->w, head, (size_t)hl);
                                jw_raw(&l->w, o->json, o->len);
                                jw_raw(&l->w, "}", 1);
                        } else {
                                jw_raw(&l->w, o->json, o->len);
                        }
                }
                jw_raw(&l->w, "]", 1);
                if (l->w.oom) {
                        ok = false;
                        break;
                }
                const char *params[1] = {l->w.buf};
                if (any)
                        ok = PQsendQueryParams(l->pg, sql[k], 1, NULL, params,
                                               NULL, NULL, 0);
        }
        jw_reset(&l->w);
        ok = ok && PQpipelineSync(l->pg);
        if (!ok) {
                logf_("PostgreSQL: %s", PQerrorMessage(l->pg));
                PQfinish(l->pg);
                l->pg = NULL;
                event_free(l->ev_pg_read);
                event_free(l->ev_pg_write);
                l->ev_pg_read = l->ev_pg_write = NULL;
                retry_later(l, "PostgreSQL write failed");
                return;
        }
        event_add(l->ev_pg_read, NULL);
        event_add(l->ev_pg_write, NULL);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m,
                        void *opaque)
{
        (void)opaque;
        live_t *l = rd_kafka_opaque(rk);
        if (m->err) {
                l->prod_failed++;
                logf_("Kafka delivery to %s failed: %s",
                      rd_kafka_topic_name(m->rkt), rd_kafka_err2str(m->err));
        }
}

/* Outputs, part 2, at the same time as part 1: the idempotent producer;
 * ev_kafka looks for the acknowledgements. */
static void start_kafka(live_t *l)
{
        trace(l, "kafka");
        l->prod_failed = 0;
        const batch_t *b = l->commit;
        for (size_t i = 0; i < b->n_outs; i++) {
                const out_item_t *o = &b->outs[i];
                rd_kafka_resp_err_t err;
                do {
                        err = rd_kafka_producev(
                            l->prod, RD_KAFKA_V_TOPIC(l->out_topics[o->out]),
                            RD_KAFKA_V_KEY(o->key, o->key_len),
                            RD_KAFKA_V_VALUE(o->json, o->len),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_END);
                        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL)
                                rd_kafka_poll(l->prod, 50);
                } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
                if (err) {
                        l->prod_failed++;
                        logf_("Kafka produce: %s", rd_kafka_err2str(err));
                }
        }
        rd_kafka_poll(l->prod, 0);
        struct timeval tv = {0, 1000};
        evtimer_add(l->ev_kafka, &tv);
}

static void kafka_check(live_t *l)
{
        rd_kafka_poll(l->prod, 0);
        if (rd_kafka_outq_len(l->prod) > 0) {
                /* acknowledgements come within milliseconds: look again
                 * soon rather than at the next tick */
                struct timeval tv = {0, 1000};
                evtimer_add(l->ev_kafka, &tv);
                return;
        }
        if (l->prod_failed) {
                retry_on(l, l->ev_retry_kafka,
                         "Kafka outputs not acknowledged");
                return;
        }
        l->kafka_ok = true;
        outputs_check(l);
}

static void redis_connect(live_t *l);

static void on_redis_reply(redisAsyncContext *ac, void *reply, void *priv)
{
        live_t *l = ac->data;
        redisReply *r = reply;
        (void)priv;
        if (!l)
                return;
        if (!r || r->type == REDIS_REPLY_ERROR) {
                if (r)
                        logf_("Redis: %s", r->str);
                if (r && strncmp(r->str, "patuh: fenced", 13) == 0) {
                        logf_("a newer instance holds the engine lease: "
                              "stopping without writing");
                        _exit(1);
                }
                l->redis_error = true;
        }
        if (l->phase == PH_REDIS && --l->redis_pending == 0) {
                if (l->redis_error)
                        retry_later(l, "Redis write failed");
                else
                        phase_offsets(l);
        }
}

static void on_redis_connect(const redisAsyncContext *ac, int status)
{
        live_t *l = ac->data;
        if (status != REDIS_OK) {
                logf_("Redis: cannot connect: %s", ac->errstr);
                l->redis = NULL; /* hiredis frees the context */
                return;
        }
        l->redis_up = true;
        logf_("Redis: connected");
}

static void on_redis_disconnect(const redisAsyncContext *ac, int status)
{
        live_t *l = ac->data;
        (void)status;
        l->redis = NULL;
        l->redis_up = false;
        if (l->phase == PH_REDIS && l->redis_pending > 0) {
                l->redis_pending = 0;
                retry_later(l, "Redis connection lost");
        }
}

static void redis_connect(live_t *l)
{
        if (l->redis)
                return;
        l->redis = redisAsyncConnect(l->redis_host, l->redis_port);
        if (!l->redis || l->redis->err) {
                logf_("Redis: %s", l->redis ? l->redis->errstr : "no memory");
                if (l->redis)
                        redisAsyncFree(l->redis);
                l->redis = NULL;
                return;
        }
        l->redis->data = l;
        redisLibeventAttach(l->redis, l->base);
        redisAsyncSetConnectCallback(l->redis, on_redis_connect);
        redisAsyncSetDisconnectCallback(l->redis, on_redis_disconnect);
        char db[16];
        snprintf(db, sizeof(db), "%d", l->redis_db);
        const char *argv[2] = {"SELECT", db};
        redisAsyncCommandArgv(l->redis, NULL, NULL, 2, argv, NULL);
}

/* By key, then by position in the batch (qsort is not stable). */
static int rec_cmp(const void *a, const void *b)
{
        const rec_item_t *x = a, *y = b;
        int c = strcmp(x->key, y->key);
        if (c)
                return c;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int touched_cmp(const void *a, const void *b)
{
        const touched_t *x = a, *y = b;
        if (x->emp != y->emp)
                return x->emp < y->emp ? -1 : 1;
        return x->day < y->day ? -1 : x->day > y->day;
}

/* State: the batch's accepted records and the ledgers it changed, in one
 * MULTI/EXEC so that records and ledgers never disagree. */
/*
 * State, written by one server-side script per batch: the accepted records
 * (RPUSH per employee-day, the TTL renewed by each write), the
 * ledgers the batch changed as they stood when it closed, and the
 * watermark.  A script runs atomically, so records and ledgers never
 * disagree, and one command replaces ~10,000 queued ones (the client's
 * formatting and reply parsing were most of the cost).  Keys travel as
 * arguments: a Redis Cluster would need the batch split by slot.
 */
static const char redis_script[] =
    /* the last argument is the lease epoch: a stale instance is refused */
    "local ep = tonumber(ARGV[#ARGV])\n"
    "local cur = tonumber(redis.call('GET', '" STORE_KEY_EPOCH "') or '0')\n"
    "if cur > ep then\n"
    "  return redis.error_reply('patuh: fenced by epoch ' .. cur)\n"
    "end\n"
    "local ttl = ARGV[1]\n"
    /* unpack() is capped near 8,000 values: push in chunks */
    "local function chunks(cmd, key, from, count)\n"
    "  local r = 0\n"
    "  for s = from, from + count - 1, 1000 do\n"
    "    r = redis.call(cmd, key,\n"
    "          unpack(ARGV, s, math.min(s + 999, from + count - 1)))\n"
    "  end\n"
    "  return r\n"
    "end\n"
    "local i = 5\n"
    "for k = 1, tonumber(ARGV[4]) do\n"
    "  local key, c = ARGV[i], tonumber(ARGV[i + 1])\n"
    "  i = i + 2\n"
    "  chunks('RPUSH', key, i, c)\n"
    "  redis.call('EXPIRE', key, ttl)\n"
    "  i = i + c\n"
    "end\n"
    "local nl = tonumber(ARGV[i])\n"
    "i = i + 1\n"
    "for k = 1, nl do\n"
    "  local key, c = ARGV[i], tonumber(ARGV[i + 1])\n"
    "  i = i + 2\n"
    "  redis.call('DEL', key)\n"
    "  if c > 0 then\n"
    "    chunks('HSET', key, i, c)\n"
    "    redis.call('EXPIRE', key, ttl)\n"
    "  end\n"
    "  i = i + c\n"
    "end\n"
    "if ARGV[2] ~= '' then redis.call('SET', 'patuh:watermark', ARGV[2]) end\n"
    "redis.call('SET', 'patuh:outage_next', ARGV[3])\n"
    "return 1\n";

static void phase_redis(live_t *l)
{
        trace(l, "redis");
        l->phase = PH_REDIS;
        batch_t *b = l->commit;
        if (!b->n_recs && !b->n_leds && !b->has_wm) {
                phase_offsets(l);
                return;
        }
        if (!l->redis || !l->redis_up) {
                redis_connect(l);
                retry_later(l, "Redis is not connected");
                return;
        }
        l->redis_error = false;
        l->redis_pending = 0;
        if (b->n_recs)
                qsort(b->recs, b->n_recs, sizeof(*b->recs), rec_cmp);
        /* EVAL script 0 ttl wm nkeys {key count values...} nled
         * {key count fields-and-values...} */
        size_t max = 9 + 3 * b->n_recs + 3 * b->n_leds;
        for (size_t i = 0; i < b->n_leds; i++)
                max += b->leds[i].n;
        const char **argv = malloc(max * sizeof(*argv));
        size_t *lens = malloc(max * sizeof(*lens));
        /* ttl, outage, n_leds, counts */
        size_t nnum = 5 + b->n_recs + b->n_leds;
        char(*num)[24] = malloc(nnum * sizeof(*num));
        if (!argv || !lens || !num) {
                free(argv);
                free(lens);
                free(num);
                retry_later(l, "out of memory writing to Redis");
                return;
        }
        size_t a = 0, k = 0;
#define ARG(s, n)                                                              \
        do {                                                                   \
                argv[a] = (s);                                                 \
                lens[a++] = (n);                                               \
        } while (0)
#define NUM(v)                                                                 \
        do {                                                                   \
                int nl_ =                                                      \
                    snprintf(num[k], sizeof(num[k]), "%lld", (long long)(v));  \
                ARG(num[k], (size_t)nl_);                                      \
                k++;                                                           \
        } while (0)
        ARG("EVAL", 4);
        ARG(redis_script, sizeof(redis_script) - 1);
        ARG("0", 1);
        NUM(store_ttl(&l->ctx));
        char wm_s[40];
        if (b->has_wm) {
                int wl = snprintf(wm_s, sizeof(wm_s), "%lld.%09d",
                                  (long long)b->wm.sec, (int)b->wm.nsec);
                ARG(wm_s, (size_t)wl);
        } else {
                ARG("", 0);
        }
        NUM(b->outage);
        size_t nkeys_at = a;
        ARG("", 0); /* number of record keys, filled below */
        size_t nkeys = 0;
        for (size_t i = 0; i < b->n_recs;) {
                size_t j = i;
                while (j < b->n_recs &&
                       strcmp(b->recs[j].key, b->recs[i].key) == 0)
                        j++;
                ARG(b->recs[i].key, strlen(b->recs[i].key));
                NUM(j - i);
                for (size_t r = i; r < j; r++)
                        ARG(b->recs[r].json, b->recs[r].len);
                nkeys++;
                i = j;
        }
        char nkeys_s[24];
        int nks = snprintf(nkeys_s, sizeof(nkeys_s), "%zu", nkeys);
        argv[nkeys_at] = nkeys_s;
        lens[nkeys_at] = (size_t)nks;
        NUM(b->n_leds);
        for (size_t i = 0; i < b->n_leds; i++) {
                const led_item_t *d = &b->leds[i];
                ARG(d->key, strlen(d->key));
                NUM(d->n);
                for (size_t f = 0; f < d->n; f++)
                        ARG(d->strs[f], d->lens[f]);
        }
        NUM(l->epoch);
#undef ARG
#undef NUM
        l->redis_pending = 1;
        if (redisAsyncCommandArgv(l->redis, on_redis_reply, NULL, (int)a, argv,
                                  lens) != REDIS_OK) {
                l->redis_pending = 0;
                free(argv);
                free(lens);
                free(num);
                retry_later(l, "Redis write failed");
                return;
        }
        free(argv);
        free(lens);
        free(num);
}

/* Offsets last: only now is the batch's input safe to skip. */
static void start_commit(live_t *l);

static void phase_offsets(live_t *l)
{
        trace(l, "offsets");
        batch_t *b = l->commit;
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new((int)b->n_offs + 1);
        for (size_t i = 0; i < b->n_offs; i++) {
                const off_item_t *o = &b->offs[i];
                part_t *p = part_get(l, o->topic, o->partition);
                if (!p || !p->assigned)
                        continue; /* revoked meanwhile: its new owner
                                     reads the batch again (idempotent) */
                rd_kafka_topic_partition_list_add(list, l->in_topics[o->topic],
                                                  o->partition)
                    ->offset = o->offset;
        }
        if (list->cnt > 0) {
                rd_kafka_resp_err_t err = rd_kafka_offsets_store(l->cons, list);
                if (err)
                        logf_("offsets store: %s", rd_kafka_err2str(err));
        }
        rd_kafka_topic_partition_list_destroy(list);
        batch_clear(b);
        l->commit = NULL;
        l->batches++;
        l->backoff_ms = 0;
        l->phase = PH_IDLE;
        if (!batch_empty(l->fill))
                start_commit(l); /* consumed while this one was written */
        event_active(l->ev_queue, EV_READ, 0);
}

/* Closes the fill batch: the ledgers it changed are serialized now (a
 * later batch may change them again before this one is written), the
 * offsets it covers and the watermark are taken; then it is made durable
 * while a new batch fills. */
static void start_commit(live_t *l)
{
        batch_t *b = l->fill;
        if (b->n_touched)
                qsort(b->touched, b->n_touched, sizeof(*b->touched),
                      touched_cmp);
        b->leds = calloc(b->n_touched ? b->n_touched : 1, sizeof(*b->leds));
        b->offs = calloc(l->n_parts ? l->n_parts : 1, sizeof(*b->offs));
        if (!b->leds || !b->offs) {
                fail_oom(l);
                return;
        }
        for (size_t i = 0; i < b->n_touched; i++) {
                if (i && !touched_cmp(&b->touched[i - 1], &b->touched[i]))
                        continue;
                int32_t emp = b->touched[i].emp, day = b->touched[i].day;
                led_item_t *d = &b->leds[b->n_leds++];
                store_key_ledger(l->roster->emp[emp].employee_id, day, d->key,
                                 sizeof(d->key));
                const eval_ledger_t *led = core_ledger(l->core, emp, day);
                size_t n = (led ? led->n : 0) * 2 + 2;
                d->strs = calloc(n, sizeof(*d->strs));
                d->lens = calloc(n, sizeof(*d->lens));
                if (!d->strs || !d->lens) {
                        fail_oom(l);
                        return;
                }
                for (size_t j = 0; led && j < led->n; j++) {
                        const eval_pub_t *p = &led->v[j];
                        char field[EVAL_ID_MAX + 32];
                        int fl = snprintf(field, sizeof(field), "%s|%s",
                                          vkind_name(p->d.kind), p->d.subject);
                        d->strs[d->n] = dup_n(field, (size_t)fl);
                        d->lens[d->n++] = (size_t)fl;
                        store_pub(&l->w, &l->ctx, p);
                        d->strs[d->n] = dup_n(l->w.buf, l->w.len);
                        d->lens[d->n++] = l->w.len;
                        jw_reset(&l->w);
                }
                if (core_alerted(l->core, emp, day)) {
                        d->strs[d->n] = dup_n("!alerted", 8);
                        d->lens[d->n++] = 8;
                        d->strs[d->n] = dup_n("1", 1);
                        d->lens[d->n++] = 1;
                }
        }
        for (size_t i = 0; i < l->n_parts; i++) {
                part_t *p = &l->parts[i];
                if (!p->assigned || p->next_offset <= p->closed)
                        continue;
                b->offs[b->n_offs++] =
                    (off_item_t){p->topic, p->partition, p->next_offset};
                p->closed = p->next_offset;
        }
        ptime_t wm = core_watermark(l->core);
        b->has_wm = ptime_cmp(wm, PTIME_NEVER) != 0;
        b->wm = wm;
        b->outage = core_outage_cursor(l->core);
        l->commit = b;
        l->fill = b == &l->batch[0] ? &l->batch[1] : &l->batch[0];
        /* the two outputs at once: the chain is max(PostgreSQL, Kafka) +
         * Redis, not their sum */
        l->phase = PH_OUTPUTS;
        l->pg_ok = l->kafka_ok = false;
        start_kafka(l);
        if (l->phase == PH_OUTPUTS && !l->pg_ok)
                start_pg(l);
}

/* ---- consumption ----------------------------------------------------------
 */

static void finish(live_t *l)
{
        if (l->cons) {
                rd_kafka_commit(l->cons, NULL, 0); /* stored offsets, sync */
                rd_kafka_consumer_close(l->cons);
        }
        event_base_loopbreak(l->base);
}

static void consume(live_t *l)
{
        if (l->stopping) {
                /* drain: write what was consumed, then stop */
                if (!l->commit && !batch_empty(l->fill))
                        start_commit(l);
                else if (!l->commit)
                        finish(l);
                return;
        }
        long n = 0, room = l->cfg->batch_max_records - l->fill->n_msgs;
        trace(l, "consume");
        while (n < room) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(l->cons, 0);
                if (!m)
                        break;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                        int t = topic_index(l, rd_kafka_topic_name(m->rkt));
                        part_t *p =
                            t >= 0 ? part_get(l, t, m->partition) : NULL;
                        if (p)
                                p->at_end = true;
                } else if (m->err) {
                        logf_("Kafka: %s", rd_kafka_message_errstr(m));
                } else {
                        handle_message(l, m);
                        n++;
                }
                rd_kafka_message_destroy(m);
        }
        ptime_t wm;
        if (watermark(l, &wm)) {
                core_set_watermark(l->core, wm);
                core_fire(l->core);
                core_alert_closed_outages(
                    l->core, tz_local_day(l->policy->tz, wall_now()));
        }
        core_flush_digests(l->core);
        if (core_failed(l->core))
                fail_oom(l);
        if (!l->commit && (!batch_empty(l->fill) || lease_due(l))) {
                start_commit(l);
                return;
        }
        if (l->until_idle && n == 0 && !l->commit && batch_empty(l->fill) &&
            all_at_end(l) && rd_kafka_outq_len(l->prod) == 0) {
                logf_("idle: every partition consumed, every due decision "
                      "published and durable (%lld records, %lld batches)",
                      l->consumed, l->batches);
                l->stopping = true;
                finish(l);
        }
}

static void on_queue(evutil_socket_t fd, short what, void *arg)
{
        live_t *l = arg;
        char buf[256];
        (void)what;
        while (read(fd, buf, sizeof(buf)) > 0)
                ;
        consume(l);
}

static void on_kafka(evutil_socket_t fd, short what, void *arg)
{
        live_t *l = arg;
        (void)fd;
        (void)what;
        if (l->phase == PH_OUTPUTS && !l->kafka_ok &&
            !evtimer_pending(l->ev_retry_kafka, NULL))
                kafka_check(l);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
        live_t *l = arg;
        (void)fd;
        (void)what;
        if (l->phase != PH_OUTPUTS)
                rd_kafka_poll(l->prod, 0);
        if (!l->redis)
                redis_connect(l);
        consume(l);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
        live_t *l = arg;
        (void)what;
        if (l->stopping) {
                /* a second signal while a write cannot get through: exit
                 * now; the batch in hand is processed again on restart */
                logf_("signal %d again: exiting without waiting", (int)sig);
                _exit(1);
        }
        logf_("signal %d: draining and committing", (int)sig);
        l->stopping = true;
        consume(l);
}

/* ---- the engine lease: stand by until it is ours ------------------------- */

static volatile sig_atomic_t standby_stop;

static void on_standby_signal(int sig)
{
        (void)sig;
        standby_stop = 1;
}

/*
 * Start-up, before the loop runs: take the engine lease, or stand by —
 * outside the consumer group, so the holder keeps every partition — until
 * the holder's lease expires.  Blocking with bounded waits (connect and
 * statement timeouts); SIGTERM/SIGINT end the wait.  Returns 0 holding the
 * lease, 1 when stopped by a signal, -1 on a PostgreSQL error that is not
 * just an unreachable server.
 */
static int lease_wait(live_t *l)
{
        struct sigaction sa, old_term, old_int;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_standby_signal;
        sigaction(SIGTERM, &sa, &old_term);
        sigaction(SIGINT, &sa, &old_int);
        const char *keys[] = {"dbname", "connect_timeout", "options", NULL};
        const char *vals[] = {l->cfg->pg_conninfo, "3",
                              "-c statement_timeout=5000", NULL};
        char said[256] = "";
        char ttl[24];
        snprintf(ttl, sizeof(ttl), "%ld", l->cfg->lease_ttl_ms);
        int rc = 1;
        while (!standby_stop) {
                PGconn *pg = PQconnectdbParams(keys, vals, 1);
                char now[256] = "";
                if (PQstatus(pg) != CONNECTION_OK) {
                        snprintf(now, sizeof(now),
                                 "PostgreSQL unreachable, waiting");
                } else {
                        const char *p[2] = {l->holder, ttl};
                        PGresult *r = PQexecParams(
                            pg, "SELECT patuh_lease_acquire($1, $2::int)", 2,
                            NULL, p, NULL, NULL, 0);
                        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                                logf_("engine lease: %s", PQerrorMessage(pg));
                                PQclear(r);
                                PQfinish(pg);
                                rc = -1;
                                break;
                        }
                        if (!PQgetisnull(r, 0, 0)) {
                                l->epoch =
                                    strtoll(PQgetvalue(r, 0, 0), NULL, 10);
                                PQclear(r);
                                PQfinish(pg);
                                rc = 0;
                                break;
                        }
                        PQclear(r);
                        r = PQexec(pg, "SELECT holder, epoch FROM "
                                       "patuh_lease_holder()");
                        if (PQresultStatus(r) == PGRES_TUPLES_OK &&
                            PQntuples(r) == 1)
                                snprintf(now, sizeof(now),
                                         "standing by: %s holds the engine "
                                         "lease (epoch %s)",
                                         PQgetvalue(r, 0, 0),
                                         PQgetvalue(r, 0, 1));
                        PQclear(r);
                }
                PQfinish(pg);
                if (strcmp(now, said) != 0) {
                        logf_("%s", now);
                        memcpy(said, now, sizeof(said));
                }
                struct timespec ts = {0, 250 * 1000000};
                nanosleep(&ts, NULL); /* a signal cuts it short */
        }
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGINT, &old_int, NULL);
        if (rc == 0)
                logf_("holding the engine lease as %s (epoch %lld)", l->holder,
                      l->epoch);
        else if (rc == 1)
                logf_("stopped while standing by");
        return rc;
}

/* After a clean stop (the loop has ended): the lease goes back. */
static void lease_release(const live_t *l)
{
        const char *keys[] = {"dbname", "connect_timeout", "options", NULL};
        const char *vals[] = {l->cfg->pg_conninfo, "3",
                              "-c statement_timeout=5000", NULL};
        PGconn *pg = PQconnectdbParams(keys, vals, 1);
        char epoch[24];
        snprintf(epoch, sizeof(epoch), "%lld", l->epoch);
        const char *p[2] = {l->holder, epoch};
        PGresult *r = PQstatus(pg) == CONNECTION_OK
                          ? PQexecParams(pg,
                                         "SELECT patuh_lease_release($1, "
                                         "$2::bigint)",
                                         2, NULL, p, NULL, NULL, 0)
                          : NULL;
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
                logf_("engine lease not released (it expires in %ld ms): %s",
                      l->cfg->lease_ttl_ms, PQerrorMessage(pg));
        PQclear(r);
        PQfinish(pg);
}

/* ---- set-up -----------------------------------------------------------------
 */

static bool kconf(rd_kafka_conf_t *c, const char *k, const char *v, char *err,
                  size_t n)
{
        return rd_kafka_conf_set(c, k, v, err, n) == RD_KAFKA_CONF_OK;
}

static rd_kafka_conf_t *base_conf(const live_t *l, char *err, size_t n)
{
        rd_kafka_conf_t *c = rd_kafka_conf_new();
        bool ok =
            kconf(c, "bootstrap.servers", l->cfg->kafka_bootstrap, err, n);
        for (size_t i = 0; ok && i < l->cfg->n_kafka; i++)
                ok = kconf(c, l->cfg->kafka[i].key, l->cfg->kafka[i].value, err,
                           n);
        if (!ok) {
                rd_kafka_conf_destroy(c);
                return NULL;
        }
        return c;
}

/*
 * Every partition of the input topics, from the committed offsets.  The
 * engine lease already makes this instance the only one evaluating, so it
 * takes the partitions directly instead of through group rebalances: a
 * restarted instance consumes at once, with no session of a killed member
 * to wait out.  (Sharing partitions between instances is the scale-out
 * step; offsets are still committed to kafka.group.)  Start-up only: the
 * topic metadata is read with a timeout before the loop runs; a topic not
 * there yet is waited for, up to 30 s.
 */
static int assign_all(live_t *l, char *err, size_t n)
{
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new(64);
        for (int t = 0; t < TOPIC__COUNT; t++) {
                int parts = 0;
                for (int tries = 0; tries < 60 && parts == 0; tries++) {
                        rd_kafka_topic_t *rkt =
                            rd_kafka_topic_new(l->cons, l->in_topics[t], NULL);
                        const struct rd_kafka_metadata *md = NULL;
                        if (rkt &&
                            rd_kafka_metadata(l->cons, 0, rkt, &md, 5000) ==
                                RD_KAFKA_RESP_ERR_NO_ERROR &&
                            md->topic_cnt == 1 && !md->topics[0].err)
                                parts = md->topics[0].partition_cnt;
                        if (md)
                                rd_kafka_metadata_destroy(md);
                        if (rkt)
                                rd_kafka_topic_destroy(rkt);
                        if (parts == 0) {
                                if (tries == 0)
                                        logf_("waiting for topic %s",
                                              l->in_topics[t]);
                                struct timespec ts = {0, 500 * 1000000};
                                nanosleep(&ts, NULL);
                        }
                }
                if (parts == 0) {
                        snprintf(err, n, "topic %s: not found",
                                 l->in_topics[t]);
                        rd_kafka_topic_partition_list_destroy(list);
                        return -1;
                }
                for (int p = 0; p < parts; p++) {
                        rd_kafka_topic_partition_list_add(list, l->in_topics[t],
                                                          p)
                            ->offset = RD_KAFKA_OFFSET_STORED;
                        part_t *pt = part_get(l, t, p);
                        if (!pt) {
                                rd_kafka_topic_partition_list_destroy(list);
                                snprintf(err, n, "out of memory");
                                return -1;
                        }
                        pt->assigned = true;
                        pt->next_offset = pt->closed = -1;
                }
                l->expected_parts += parts;
        }
        rd_kafka_resp_err_t e = rd_kafka_assign(l->cons, list);
        if (e)
                snprintf(err, n, "assign: %s", rd_kafka_err2str(e));
        else
                logf_("assigned %d partitions", list->cnt);
        rd_kafka_topic_partition_list_destroy(list);
        return e ? -1 : 0;
}

static int setup_kafka(live_t *l, char *err, size_t n)
{
        for (int t = 0; t < TOPIC__COUNT; t++)
                snprintf(l->in_topics[t], sizeof(l->in_topics[t]), "%s%s",
                         l->cfg->topic_prefix, rec_topic_name((rec_topic_t)t));
        for (int o = 0; o < OUT__COUNT; o++)
                snprintf(l->out_topics[o], sizeof(l->out_topics[o]), "%s%s",
                         l->cfg->topic_prefix, out_names[o]);
        rd_kafka_conf_t *pc = base_conf(l, err, n);
        if (!pc || !kconf(pc, "enable.idempotence", "true", err, n) ||
            !kconf(pc, "linger.ms", "5", err, n)) {
                if (pc)
                        rd_kafka_conf_destroy(pc);
                return -1;
        }
        rd_kafka_conf_set_dr_msg_cb(pc, on_delivery);
        rd_kafka_conf_set_opaque(pc, l);
        if (!(l->prod = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, n)))
                return -1;
        rd_kafka_conf_t *cc = base_conf(l, err, n);
        /* offsets are stored by us once a batch is durable; the DESIGN's
         * 2.0.2 measurement asks for a deep pre-fetch queue */
        if (!cc || !kconf(cc, "group.id", l->cfg->kafka_group, err, n) ||
            !kconf(cc, "enable.auto.offset.store", "false", err, n) ||
            !kconf(cc, "enable.auto.commit", "true", err, n) ||
            !kconf(cc, "auto.commit.interval.ms", "500", err, n) ||
            !kconf(cc, "auto.offset.reset", "earliest", err, n) ||
            !kconf(cc, "enable.partition.eof", "true", err, n) ||
            !kconf(cc, "queued.min.messages", "1000000", err, n)) {
                if (cc)
                        rd_kafka_conf_destroy(cc);
                return -1;
        }
        rd_kafka_conf_set_opaque(cc, l);
        if (!(l->cons = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, n)))
                return -1;
        rd_kafka_poll_set_consumer(l->cons);
        if (assign_all(l, err, n) != 0)
                return -1;
        /* librdkafka writes to the pipe when the queue turns non-empty:
         * the loop wakes on data instead of polling */
        if (pipe(l->pipefd) != 0)
                return -1;
        fcntl(l->pipefd[0], F_SETFL, O_NONBLOCK);
        fcntl(l->pipefd[1], F_SETFL, O_NONBLOCK);
        l->cq = rd_kafka_queue_get_consumer(l->cons);
        rd_kafka_queue_io_event_enable(l->cq, l->pipefd[1], "1", 1);
        return 0;
}

int live_run(const live_opts_t *o)
{
        live_t l;
        memset(&l, 0, sizeof(l));
        l.cfg = o->config;
        l.until_idle = o->until_idle;
        l.pipefd[0] = l.pipefd[1] = -1;
        l.fill = &l.batch[0];
        jw_init(&l.w);
        char err[1024];
        int rc = 2;
        if (!(l.policy = policy_load(l.cfg->policy_file, err, sizeof(err))) ||
            !(l.roster = roster_load(l.cfg->roster_file, err, sizeof(err))) ||
            !(l.calendar =
                  calendar_load(l.cfg->calendar_file, err, sizeof(err)))) {
                logf_("%s", err);
                goto out;
        }
        l.ctx = (eval_ctx_t){l.policy, l.calendar, l.roster};
        core_sink_t sink = {&l, sink_emit, sink_touched};
        rc = 1;
        if (!(l.core = core_new(&l.ctx, &sink)))
                goto out;
        config_redis_url(l.cfg->redis_url, l.redis_host, sizeof(l.redis_host),
                         &l.redis_port, &l.redis_db);
        if (l.cfg->instance_id) {
                snprintf(l.holder, sizeof(l.holder), "%s", l.cfg->instance_id);
        } else {
                char host[128] = "patuhd";
                gethostname(host, sizeof(host) - 1);
                snprintf(l.holder, sizeof(l.holder), "%s:%ld", host,
                         (long)getpid());
        }
        /* state is read only once the lease is ours: a standby's copy
         * would be stale by the time it takes over */
        int lw = lease_wait(&l);
        if (lw != 0) {
                rc = lw < 0 ? 1 : 0;
                goto out;
        }
        if (store_fence(l.redis_host, l.redis_port, l.redis_db, l.epoch, err,
                        sizeof(err)) != 0) {
                logf_("cannot fence Redis state: %s", err);
                goto out;
        }
        long restored =
            store_restore(l.core, &l.ctx, l.redis_host, l.redis_port,
                          l.redis_db, err, sizeof(err));
        if (restored < 0) {
                logf_("cannot restore state: %s", err);
                goto out;
        }
        logf_("restored %ld accepted records from Redis", restored);
        if (refdata_publish(l.cfg->pg_conninfo, &l.ctx, l.cfg->policy_file,
                            l.cfg->calendar_file, err, sizeof(err)) != 0) {
                logf_("cannot publish the roster, policy and calendar: %s",
                      err);
                goto out;
        }
        if (!pg_connect(&l)) {
                logf_("PostgreSQL is required at start");
                goto out;
        }
        l.base = event_base_new();
        if (!l.base || setup_kafka(&l, err, sizeof(err)) != 0) {
                logf_("Kafka: %s", err);
                rc = 2;
                goto out;
        }
        l.ev_queue =
            event_new(l.base, l.pipefd[0], EV_READ | EV_PERSIST, on_queue, &l);
        l.ev_tick = event_new(l.base, -1, EV_PERSIST, on_tick, &l);
        l.ev_retry = evtimer_new(l.base, on_retry, &l);
        l.ev_kafka = evtimer_new(l.base, on_kafka, &l);
        l.ev_retry_kafka = evtimer_new(l.base, on_retry_kafka, &l);
        l.ev_term = evsignal_new(l.base, SIGTERM, on_signal, &l);
        l.ev_int = evsignal_new(l.base, SIGINT, on_signal, &l);
        struct timeval tick = {0, l.cfg->batch_max_ms * 1000};
        event_add(l.ev_queue, NULL);
        event_add(l.ev_tick, &tick);
        event_add(l.ev_term, NULL);
        event_add(l.ev_int, NULL);
        redis_connect(&l);
        logf_("consuming %s, %s, %s as group %s", l.in_topics[0],
              l.in_topics[1], l.in_topics[2], l.cfg->kafka_group);
        event_base_dispatch(l.base);
        rc = l.exit_code;
        lease_release(&l);
        logf_("stopped: %lld records consumed, %lld batches made durable",
              l.consumed, l.batches);
out:
        batch_free(&l.batch[0]);
        batch_free(&l.batch[1]);
        free(l.parts);
        if (l.cq) {
                rd_kafka_queue_io_event_enable(l.cq, -1, NULL, 0);
                rd_kafka_queue_destroy(l.cq);
        }
        if (l.cons)
                rd_kafka_destroy(l.cons);
        if (l.prod) {
                rd_kafka_flush(l.prod, 10000);
                rd_kafka_destroy(l.prod);
        }
        if (l.redis)
                redisAsyncFree(l.redis);
        if (l.ev_pg_read)
                event_free(l.ev_pg_read);
        if (l.ev_pg_write)
                event_free(l.ev_pg_write);
        if (l.pg)
                PQfinish(l.pg);
        struct event *evs[] = {l.ev_queue,      l.ev_tick, l.ev_retry,
                               l.ev_term,       l.ev_int,  l.ev_kafka,
                               l.ev_retry_kafka};
        for (size_t i = 0; i < 7; i++)
                if (evs[i])
                        event_free(evs[i]);
        if (l.base)
                event_base_free(l.base);
        if (l.pipefd[0] >= 0) {
                close(l.pipefd[0]);
                close(l.pipefd[1]);
        }
        core_free(l.core);
        jw_free(&l.w);
        policy_free(l.policy);
        roster_free(l.roster);
        calendar_free(l.calendar);
        return rc;
}
