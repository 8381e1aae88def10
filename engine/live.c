#include "live.h"

#include "../consumers/record.h"
#include "../rules/calendar.h"
#include "../rules/policy.h"
#include "../rules/roster.h"
#include "../rules/tz.h"
#include "batch.h"
#include "core.h"
#include "jw.h"
#include "kin.h"
#include "lease.h"
#include "output.h"
#include "refdata.h"
#include "store.h"

#include <errno.h>
#include <event2/event.h>
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
        struct event *ev_tick, *ev_term, *ev_int, *ev_retry;
        struct event *ev_kafka; /* waits for the producer's acks */
        struct event *ev_retry_kafka;
        bool pg_ok, kafka_ok; /* this batch's outputs are durable there */
        struct event *ev_pg_read, *ev_pg_write;
        kin_t *kin;
        rd_kafka_t *prod;
        char out_topics[BATCH_OUT__COUNT][256];
        long prod_failed;
        char redis_host[256];
        int redis_port, redis_db;
        redisAsyncContext *redis;
        bool redis_up;
        int redis_pending;
        bool redis_error;
        PGconn *pg;
        bool pg_error;
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
        lease_t lease;
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

static void sink_emit(void *ud, core_out_t out, const char *key,
                      const char *json, size_t len, const eval_pub_t *p)
{
        live_t *l = ud;
        if (!batch_add_out(l->fill, batch_out_of_core(out), key,
                           key ? strlen(key) : 0, json, len,
                           p ? p->revision : 0))
                fail_oom(l);
}

static void sink_touched(void *ud, int32_t emp, int32_t day)
{
        live_t *l = ud;
        if (!batch_touch(l->fill, emp, day))
                fail_oom(l);
}

static void persist_record(live_t *l, const record_t *rec, bool has_ts,
                           ptime_t ts, const rd_kafka_message_t *m)
{
        const char *emp_id = record_subject_id(rec);
        char key[160];
        if (rec->topic == TOPIC_EXCUSES)
                store_key_excuses(emp_id, key, sizeof(key));
        else
                store_key_records(emp_id,
                                  tz_local_day(l->policy->tz, record_time(rec)),
                                  key, sizeof(key));
        store_envelope(&l->w, rec->topic, has_ts, ts, m->partition, m->offset,
                       m->payload ? m->payload : "", m->len);
        if (l->w.oom || !batch_add_record(l->fill, key, l->w.buf, l->w.len))
                fail_oom(l);
        jw_reset(&l->w);
}

static void handle_message(live_t *l, const rd_kafka_message_t *m)
{
        rec_topic_t topic;
        ptime_t ts;
        bool has_ts;
        int noted = kin_note(l->kin, m, &topic, &has_ts, &ts);
        if (noted < 0)
                fail_oom(l);
        if (noted <= 0)
                return;
        l->fill->n_msgs++;
        l->consumed++;
        record_t rec;
        char detail[256] = "";
        bool dup = false;
        dlq_reason_t reason =
            record_decode_bytes(topic, m->payload ? m->payload : "", m->len,
                                &rec, detail, sizeof(detail));
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
                if (l->w.oom ||
                    !batch_add_out(l->fill, BATCH_OUT_DLQ,
                                   m->key ? (const char *)m->key : "",
                                   m->key ? m->key_len : 0, l->w.buf, l->w.len,
                                   0))
                        fail_oom(l);
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
                lease_renewed(&l->lease);
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
                        if (hint && strcmp(hint, LEASE_LOST_HINT) == 0)
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
                n += b->outs[i].out != BATCH_OUT_ALERTS;
        n += b->n_recs;
        if (n == 0 && !lease_due(&l->lease)) {
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
        static const int kinds[5] = {BATCH_OUT_VIOLATIONS, BATCH_OUT_TPP,
                                     BATCH_OUT_DLQ, BATCH_OUT_DIGESTS, -1};
        /* no BEGIN/COMMIT: the statements up to the Sync run as one
         * implicit transaction, which an error rolls back as a whole */
        /* first the lease: if another instance took it over, this
         * statement fails and the whole batch with it */
        const char *lease[3];
        lease_renew_params(&l->lease, lease);
        bool ok = PQsendQueryParams(l->pg, LEASE_RENEW_SQL, 3, NULL, lease,
                                    NULL, NULL, 0);
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
                        if ((int)o->out != kinds[k])
                                continue;
                        if (any)
                                jw_raw(&l->w, ",", 1);
                        any = true;
                        if (o->out == BATCH_OUT_TPP) {
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
        NUM(l->lease.epoch);
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
        char err[512];
        if (kin_store_offsets(l->kin, b, err, sizeof(err)) != 0)
                logf_("offsets store: %s", err);
        batch_clear(b);
        l->commit = NULL;
        l->batches++;
        l->backoff_ms = 0;
        l->phase = PH_IDLE;
        if (!batch_empty(l->fill))
                start_commit(l); /* consumed while this one was written */
        kin_wake(l->kin);
}

/* Closes the fill batch: the ledgers it changed are serialized now (a
 * later batch may change them again before this one is written), the
 * offsets it covers and the watermark are taken; then it is made durable
 * while a new batch fills. */
static void start_commit(live_t *l)
{
        batch_t *b = l->fill;
        if (!batch_close(b, l->core, &l->ctx, &l->w) ||
            !kin_take_offsets(l->kin, b)) {
                fail_oom(l);
                return;
        }
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
        if (l->kin)
                kin_close(l->kin);
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
                rd_kafka_message_t *m;
                char err[512];
                kin_poll_t got = kin_poll(l->kin, &m, err, sizeof(err));
                if (got == KIN_EMPTY)
                        break;
                if (got == KIN_ERROR)
                        logf_("Kafka: %s", err);
                if (got != KIN_RECORD)
                        continue;
                handle_message(l, m);
                n++;
                rd_kafka_message_destroy(m);
        }
        ptime_t wm;
        if (kin_watermark(l->kin, wall_now(), &wm)) {
                core_set_watermark(l->core, wm);
                core_fire(l->core);
                core_alert_closed_outages(
                    l->core, tz_local_day(l->policy->tz, wall_now()));
        }
        core_flush_digests(l->core);
        if (core_failed(l->core))
                fail_oom(l);
        if (!l->commit && (!batch_empty(l->fill) || lease_due(&l->lease))) {
                start_commit(l);
                return;
        }
        if (l->until_idle && n == 0 && !l->commit && batch_empty(l->fill) &&
            kin_all_at_end(l->kin) && rd_kafka_outq_len(l->prod) == 0) {
                logf_("idle: every partition consumed, every due decision "
                      "published and durable (%lld records, %lld batches)",
                      l->consumed, l->batches);
                l->stopping = true;
                finish(l);
        }
}

static void on_ready(void *ud)
{
        consume(ud);
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

static void on_lease_status(void *ud, const char *msg)
{
        (void)ud;
        logf_("%s", msg);
}

static void on_kin_status(void *ud, const char *msg)
{
        (void)ud;
        logf_("%s", msg);
}

/* ---- set-up -----------------------------------------------------------------
 */

static bool kconf(rd_kafka_conf_t *c, const char *k, const char *v, char *err,
                  size_t n)
{
        return rd_kafka_conf_set(c, k, v, err, n) == RD_KAFKA_CONF_OK;
}

static int setup_kafka(live_t *l, char *err, size_t n)
{
        for (int o = 0; o < BATCH_OUT__COUNT; o++)
                snprintf(l->out_topics[o], sizeof(l->out_topics[o]), "%s%s",
                         l->cfg->topic_prefix, batch_out_name((batch_out_t)o));
        rd_kafka_conf_t *pc = kin_conf_new(l->cfg, err, n);
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
        if (!(l->kin =
                  kin_new(l->cfg, l->base, on_ready, on_kin_status, l, err, n)))
                return -1;
        logf_("assigned %d partitions", kin_assigned(l->kin));
        return 0;
}

int live_run(const live_opts_t *o)
{
        live_t l;
        memset(&l, 0, sizeof(l));
        l.cfg = o->config;
        l.until_idle = o->until_idle;
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
        lease_init(&l.lease, l.cfg->pg_conninfo, l.cfg->instance_id,
                   l.cfg->lease_ttl_ms);
        /* state is read only once the lease is ours: a standby's copy
         * would be stale by the time it takes over */
        int lw = lease_acquire(&l.lease, on_lease_status, &l, err, sizeof(err));
        if (lw < 0)
                logf_("engine lease: %s", err);
        else if (lw == 1)
                logf_("stopped while standing by");
        if (lw != 0) {
                rc = lw < 0 ? 1 : 0;
                goto out;
        }
        logf_("holding the engine lease as %s (epoch %lld)", l.lease.holder,
              l.lease.epoch);
        if (store_fence(l.redis_host, l.redis_port, l.redis_db, l.lease.epoch,
                        err, sizeof(err)) != 0) {
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
        l.ev_tick = event_new(l.base, -1, EV_PERSIST, on_tick, &l);
        l.ev_retry = evtimer_new(l.base, on_retry, &l);
        l.ev_kafka = evtimer_new(l.base, on_kafka, &l);
        l.ev_retry_kafka = evtimer_new(l.base, on_retry_kafka, &l);
        l.ev_term = evsignal_new(l.base, SIGTERM, on_signal, &l);
        l.ev_int = evsignal_new(l.base, SIGINT, on_signal, &l);
        struct timeval tick = {0, l.cfg->batch_max_ms * 1000};
        event_add(l.ev_tick, &tick);
        event_add(l.ev_term, NULL);
        event_add(l.ev_int, NULL);
        redis_connect(&l);
        logf_("consuming %s, %s, %s as group %s",
              kin_topic_name(l.kin, (rec_topic_t)0),
              kin_topic_name(l.kin, (rec_topic_t)1),
              kin_topic_name(l.kin, (rec_topic_t)2), l.cfg->kafka_group);
        event_base_dispatch(l.base);
        rc = l.exit_code;
        if (lease_release(&l.lease, err, sizeof(err)) != 0)
                logf_("engine lease not released (it expires in %ld ms): %s",
                      l.cfg->lease_ttl_ms, err);
        logf_("stopped: %lld records consumed, %lld batches made durable",
              l.consumed, l.batches);
out:
        batch_free(&l.batch[0]);
        batch_free(&l.batch[1]);
        kin_free(l.kin);
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
        struct event *evs[] = {l.ev_tick, l.ev_retry, l.ev_term,
                               l.ev_int,  l.ev_kafka, l.ev_retry_kafka};
        for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
                if (evs[i])
                        event_free(evs[i]);
        if (l.base)
                event_base_free(l.base);
        core_free(l.core);
        jw_free(&l.w);
        policy_free(l.policy);
        roster_free(l.roster);
        calendar_free(l.calendar);
        return rc;
}
