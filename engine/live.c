#include "live.h"

#include "../consumers/record.h"
#include "../rules/calendar.h"
#include "../rules/jsonv.h"
#include "../rules/policy.h"
#include "../rules/roster.h"
#include "../rules/sha256.h"
#include "../rules/strmap.h"
#include "../rules/tz.h"
#include "batch.h"
#include "core.h"
#include "failpoint.h"
#include "quarantine.h"
#include "httpd.h"
#include "jw.h"
#include "kin.h"
#include "ksink.h"
#include "lease.h"
#include "log.h"
#include "metrics.h"
#include "output.h"
#include "pgsink.h"
#include "refdata.h"
#include "store.h"
#include "work.h"

#include <event2/event.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long SIGTERM's drain may take before patuhd gives up on it.  (A
 * write that waits for PostgreSQL's or Redis's answer longer than
 * write.timeout_ms is dropped and retried: a frozen server shows as
 * failures in the log instead of a silent stall.) */
#define DRAIN_DEADLINE_S 30

/* Batches in hand: one filling, one in the outputs stage, one in the
 * state stage (below, "the batch chain"). */
#define LIVE_BATCHES 3

/* patuh_build_info's version (CMakeLists.txt, project VERSION). */
#ifndef PATUH_VERSION
#define PATUH_VERSION "unknown"
#endif

typedef struct live {
        const config_t *cfg;  /* borrowed: the configuration */
        bool until_idle;      /* --until-idle: stop once all is durable */
        policy_t *policy;     /* owned: the policy file */
        roster_t *roster;     /* owned: the roster */
        calendar_t *calendar; /* owned: the calendar */
        eval_ctx_t *ctx;      /* the three above, for the core: one of
                                 ctx_slot (a reload builds the other) */
        eval_ctx_t ctx_slot[2];
        core_sink_t sink;        /* the core's publications into the
                                    filling batch */
        core_t *core;            /* owned: the rules' state in memory */
        int32_t *unit_ix;        /* owned: per roster row, the first row of
                                    its unit (batches group by it) */
        struct event_base *base; /* owned: the loop */
        struct event *ev_tick;   /* owned: the one periodic tick */
        struct event *ev_term;   /* owned: SIGTERM */
        struct event *ev_int;    /* owned: SIGINT */
        struct event *ev_drain;  /* owned: the deadline of a drain */
        struct event *ev_hup;    /* owned: SIGHUP, reload */
        struct event *ev_reload; /* owned: a failed reload's retry */
        bool reload;             /* SIGHUP seen: reload once the batches
                                    in hand are durable */
        const char *cfg_path;    /* borrowed: the file a reload reads */
        quarantine_t *qr;        /* owned: the record in hand, for a restart */
        char log_level[16];      /* in force (log.level) */
        char refs_hash[33];      /* of the roster and calendar in force */
        struct event *ev_retry_pg;    /* owned: PostgreSQL's retry */
        struct event *ev_retry_kafka; /* owned: Kafka's retry */
        struct event *ev_retry_redis; /* owned: Redis's retry */
        int backoff_pg, backoff_kafka, backoff_redis; /* retry delays, ms */
        bool pg_ok, kafka_ok; /* this batch's outputs are durable there */
        kin_t *kin;           /* owned: the Kafka input */
        ksink_t *ks;          /* owned: the Kafka sink */
        pgsink_t *ps;         /* owned: the PostgreSQL sink */
        store_writer_t *sw;   /* owned: the Redis state writer */
        char redis_host[256]; /* from redis.url */
        int redis_port;       /* from redis.url */
        int redis_db;         /* from redis.url */
        batch_t batch[LIVE_BATCHES]; /* the batches in hand */
        batch_t *fill;               /* being consumed into */
        batch_t *out;                /* its outputs being written, or NULL */
        batch_t *st;                 /* outputs durable, its state being written
                                        (or waiting for a retry), or NULL */
        struct timespec t_first;     /* the first record consumed */
        struct timespec t_durable;   /* the last batch made durable */
        bool stopping;               /* draining: consume no more */
        int exit_code;               /* of live_run once the loop ends */
        jw_t w;                      /* owned: scratch JSON */
        long long consumed;          /* input messages consumed */
        long long batches;           /* batches made durable */
        /* the engine lease (schemas/sql/004_lease.sql): only its holder
         * evaluates; every batch renews it in its own transaction */
        lease_t lease;
        metrics_t m; /* the counters /metrics shows (metrics.h) */
        metrics_batch_t mb[LIVE_BATCHES]; /* what batch[i] adds to them
                                             once durable */
        httpd_t *httpd;                   /* owned: metrics.listen, or NULL */
        bool standby;                     /* waiting for the engine lease */
        bool redis_up;                    /* the state writer is connected */
        time_t redis_down_logged; /* when "Redis away" was last logged */
        long long redis_tried_ms; /* the tick's last connect, monotonic */
        bool full;                /* the fill batch has no room ... */
        struct timespec t_full;   /* ... since then */
        /* Group mode (scale.mode = group, docs/scale-out.md): the work
         * partitions this instance decides for.  Every input partition is
         * read; only the decisions about the units of its own work
         * partitions are published and stored. */
        bool group;         /* scale.mode = group */
        work_t *work;       /* owned: the member of <group>.work */
        int w_count;        /* work partitions */
        uint8_t *w_state;   /* owned, per work partition: W_* below */
        long long *w_epoch; /* owned, per work partition: ours */
        int32_t *unit_w;    /* owned, per core unit: its work partition */
        int gp_base[TOPIC__COUNT]; /* first global index of each topic */
        size_t n_gp;               /* input partitions over all topics */
        store_pos_t *pos;          /* owned, n_gp: the next offset of each */
        store_ckpt_t *ck;          /* owned, w_count: read at the regroup */
        int64_t *ck_pos;           /* owned, w_count * n_gp: ck as a table */
        size_t *w_missing;         /* owned, per work partition: input
                                      partitions not yet read up to its
                                      checkpoint */
        size_t n_held;             /* work partitions W_HELD */
        bool regroup;              /* the assignment changed: regroup at the
                                      next batch boundary */
        bool lost;                 /* a batch was fenced: drop what is in hand,
                                      then regroup */
        struct event *ev_regroup;  /* owned: a failed regroup's retry */
        long long fenced_ms;       /* monotonic ms of the last fenced batch */
        bool changed_since_fence;  /* the assignment changed since then */
} live_t;

/* A work partition's state in this instance. */
enum {
        W_NONE, /* another instance's */
        W_HELD, /* ours, not caught up with its checkpoint yet: its units'
                   records are read as facts, nothing is decided */
        W_LIVE  /* ours: its units are decided for */
};

/* The metrics of the batch B (one of l->batch). */
static metrics_batch_t *mb_of(live_t *l, const batch_t *b)
{
        return &l->mb[b - l->batch];
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Log lines never carry a configuration value: conninfo may hold a
 * password.  An info line (engine/log.h); errors and retried failures
 * use LOG_ERROR and LOG_WARN. */
static void logf_(const char *fmt, ...)
{
        if (!log_enabled(LOG_LV_INFO))
                return;
        va_list ap;
        va_start(ap, fmt);
        log_vemit(LOG_LV_INFO, fmt, ap);
        va_end(ap);
}

/* The wall clock, or PATUH_NOW (an RFC 3339 instant) when set: tests and
 * backfills of dates not yet reached (the public scenarios run in 2027)
 * pin "now" instead of waiting for it. */
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

/* PATUH_TRACE=1 logs each phase of each batch with its duration. */
static long long mono_ms(void)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
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
        const batch_t *b = l->out ? l->out : l->st ? l->st : l->fill;
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
        LOG_ERROR("out of memory: stopping without writing the current batch");
        _exit(1);
}

static void sink_emit(void *ud, core_out_t out, const char *key,
                      const char *json, size_t len, const eval_pub_t *p)
{
        live_t *l = ud;
        if (out == CORE_OUT_REVISION && p)
                metrics_batch_decision(mb_of(l, l->fill), p);
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

/* ---- group mode: whose decisions these are ------------------------------ */

/* Whether a record of a unit of work partition W, read at OFFSET of
 * input partition GP, is this instance's to store and publish: W is
 * decided for here, or held here and the record lies past its checkpoint
 * (its previous owner never stored it: whoever holds W now must, or it is
 * lost; it is decided for when W goes live). */
static bool w_ours(const live_t *l, int32_t w, size_t gp, int64_t offset)
{
        if (l->w_state[w] == W_LIVE)
                return true;
        return l->w_state[w] == W_HELD &&
               offset >= l->ck_pos[(size_t)w * l->n_gp + gp];
}

/* EMP's record at (GP, OFFSET) is kept here (always, outside group
 * mode). */
static bool unit_ours(const live_t *l, int32_t emp, size_t gp, int64_t offset)
{
        return !l->group ||
               w_ours(l, l->unit_w[core_unit_of(l->core, emp)], gp, offset);
}

/* A dead letter is published by the owner of its subject's unit; one
 * without a subject (malformed, invalid, unknown_employee) by the owner
 * of the work partition its input partition maps to, so that exactly
 * one instance publishes each. */
static bool dlq_ours(const live_t *l, int32_t subject, size_t gp,
                     int64_t offset)
{
        if (!l->group)
                return true;
        if (subject >= 0)
                return unit_ours(l, subject, gp, offset);
        return w_ours(l, (int32_t)(gp % (size_t)l->w_count), gp, offset);
}

/* Work partition W has caught up with its checkpoint: from here on this
 * instance decides for its units, starting from the ledgers its previous
 * owner made durable. */
static void go_live(live_t *l, int w, bool forced)
{
        l->w_state[w] = W_LIVE;
        l->n_held--;
        size_t units = 0;
        for (size_t u = 0; u < core_units(l->core); u++)
                if (l->unit_w[u] == w) {
                        core_take_unit(l->core, u);
                        units++;
                }
        if (w == 0)
                core_set_outages(l->core, true);
        LOG_INFO("work partition %d: deciding for its %zu units%s", w, units,
                 forced ? " (the input ended before its checkpoint: records "
                          "it had read are gone from Kafka)"
                        : "");
}

/* Held work partitions whose checkpoint has been reached (every input
 * partition read up to it, the watermark at it) go live; FORCED: the
 * input is read to its end, whatever the checkpoint says. */
static void check_holds(live_t *l, bool forced)
{
        if (l->n_held == 0)
                return;
        for (int w = 0; w < l->w_count; w++) {
                if (l->w_state[w] != W_HELD ||
                    (l->w_missing[w] != 0 && !forced))
                        continue;
                /* read up to the checkpoint: its previous owner's time
                 * there may be the wall clock's, once it had read every
                 * partition to its end (consume) — so had this instance,
                 * at this position, and its clock moves there too */
                if (l->ck[w].has_wm &&
                    ptime_cmp(core_watermark(l->core), l->ck[w].wm) < 0) {
                        core_set_clock(l->core, l->ck[w].wm);
                        core_fire(l->core);
                }
                go_live(l, w, l->w_missing[w] != 0);
        }
}

/* The input position moved past OFFSET of input partition GP. */
static void advance(live_t *l, size_t gp, int64_t offset)
{
        int64_t old = l->pos[gp].offset, nw = offset + 1;
        if (nw <= old)
                return;
        l->pos[gp].offset = nw;
        if (l->n_held == 0)
                return;
        bool any = false;
        for (int w = 0; w < l->w_count; w++) {
                int64_t v = l->ck_pos[(size_t)w * l->n_gp + gp];
                if (l->w_state[w] == W_HELD && old < v && nw >= v) {
                        l->w_missing[w]--;
                        any = true;
                }
        }
        if (any)
                check_holds(l, false);
}

/* An accepted record for the batch: its frame for its unit's Redis key,
 * its envelope (bytes and coordinates) for PostgreSQL.  EMP: its
 * subject's roster row (accepted, so there is one). */
static void persist_record(live_t *l, const record_t *rec, int32_t emp,
                           bool has_ts, ptime_t ts, const kin_msg_t *m)
{
        int32_t day = rec->topic == TOPIC_EXCUSES
                          ? INT32_MIN
                          : tz_local_day(l->policy->tz, record_time(rec));
        /* its place in the input too: a group-mode restore tells the
         * records it reads again from the ones it must not miss */
        store_frame_at(&l->w, rec, has_ts, ts, l->group ? m->partition : -1,
                       m->offset);
        size_t flen = l->w.len;
        store_envelope(&l->w, rec->topic, has_ts, ts, m->partition, m->offset,
                       m->payload ? m->payload : "", m->len);
        if (l->w.oom ||
            !batch_add_record(l->fill, rec->topic, emp, l->unit_ix[emp],
                              l->roster->emp[emp].unit_id, day,
                              rec->topic == TOPIC_CALLS ? rec->u.call.call_id
                                                        : rec->event_id,
                              m->partition, m->offset, l->w.buf, flen,
                              l->w.buf + flen, l->w.len - flen))
                fail_oom(l);
        jw_reset(&l->w);
}

/*
 * One record released by kin, in arrival order (kin.h), handled as replay
 * handles a line (replay.c handle_line): the watermark moves to its
 * arrival time (without one, to its own time when it decodes), the record
 * is admitted or dead-lettered, then the decisions that time makes due
 * fire and the digest rows it changed go out.  The same records at the
 * same watermarks give the same publications in both drivers.
 */
static void handle_message(live_t *l, const kin_rec_t *r, ptime_t now,
                           int32_t today)
{
        const kin_msg_t *m = r->m;
        rec_topic_t topic = r->topic;
        ptime_t ts = r->ts;
        bool has_ts = r->has_ts;
        l->fill->n_msgs++;
        /* counted as consumed, unlike its dead letter or decisions
         * (counted once durable): it is the input rate */
        l->m.records[topic]++;
        if (l->consumed++ == 0)
                clock_gettime(CLOCK_MONOTONIC, &l->t_first);
        record_t rec;
        char detail[256] = "";
        bool dup = false;
        dlq_reason_t reason;
        if (quarantine_is(l->qr, topic, m->partition, m->offset)) {
                /* it killed the engine: not even decoded again */
                reason = DLQ_QUARANTINED;
                snprintf(detail, sizeof(detail),
                         "patuhd died %ld times in a row with this record in "
                         "hand; put aside",
                         l->cfg->quarantine_after);
                memset(&rec, 0, sizeof(rec));
                LOG_ERROR("quarantined %s partition %d offset %lld: %s",
                          kin_topic_name(l->kin, topic), (int)m->partition,
                          (long long)m->offset, detail);
        } else {
                quarantine_begin(l->qr, topic, m->partition, m->offset);
                reason =
                    record_decode_bytes(topic, m->payload ? m->payload : "",
                                        m->len, &rec, detail, sizeof(detail));
                if (reason == DLQ_NONE)
                        failpoint_record(rec.event_id);
        }
        /* A record stamped after patuhd's clock (a producer's clock
         * ahead, PATUH_NOW pinned behind the data) is no sign that time
         * has passed: the wall clock caps what it may close.  Replay has
         * no clock; the tests pin it past every scenario date. */
        if (has_ts || reason == DLQ_NONE) {
                ptime_t t = has_ts ? ts : record_time(&rec);
                core_set_watermark(l->core, ptime_cmp(t, now) > 0 ? now : t);
        }
        /* the roster rows once: the core's admission and the stored
         * record's unit both need the subject's */
        core_hint_t hint = {-1, -1, 0};
        if (reason == DLQ_NONE) {
                core_hint(l->roster, &rec, &hint);
                reason = core_admit_hinted(l->core, &rec, &hint, has_ts, ts,
                                           &dup, detail, sizeof(detail));
        }
        size_t gp =
            l->group ? (size_t)l->gp_base[topic] + (size_t)m->partition : 0;
        if (reason != DLQ_NONE && !dlq_ours(l, hint.subject, gp, m->offset)) {
                /* another instance publishes this one */
        } else if (reason != DLQ_NONE) {
                /* SPEC §5: with the original bytes and where they came
                 * from; the partition moves on */
                out_dlq_src_t src = {NULL,      -1,     topic, m->partition,
                                     m->offset, has_ts, ts};
                out_dlq(&l->w, l->ctx, &src, reason, detail,
                        reason == DLQ_MALFORMED || reason == DLQ_QUARANTINED
                            ? NULL
                            : rec.event_id,
                        m->payload ? m->payload : "", m->len);
                /* the Kafka key is bytes, not a C string */
                if (l->w.oom ||
                    !batch_add_out(l->fill, BATCH_OUT_DLQ,
                                   m->key ? (const char *)m->key : "",
                                   m->key ? m->key_len : 0, l->w.buf, l->w.len,
                                   0))
                        fail_oom(l);
                jw_reset(&l->w);
                mb_of(l, l->fill)->dead[reason]++;
        } else if (!dup && unit_ours(l, hint.subject, gp, m->offset)) {
                persist_record(l, &rec, hint.subject, has_ts, ts, m);
        }
        if (l->group)
                advance(l, gp, m->offset);
        core_fire(l->core);
        core_alert_closed_outages(l->core, today);
        core_flush_digests(l->core);
        quarantine_end(l->qr);
}

/* ---- the batch chain: outputs, then state, then offsets ------------------
 *
 * Two stages, each one batch at a time and in consumption order: the
 * outputs (PostgreSQL and Kafka together) of batch N+1 are written while
 * the state (Redis, then the offsets) of batch N is, so a batch costs the
 * slower stage, not the sum of both.  Per batch the order stays outputs,
 * state, offsets; and batches reach Redis in order, since the outputs
 * stage hands them over in order.  (Outputs of N+1 may be durable before
 * the state of N: a crash then re-reads both from N's offsets, and the
 * idempotent sinks take the repeat.) */

static void start_pg(live_t *l);
static void start_kafka(live_t *l);
static void start_redis(live_t *l);
static void start_commit(live_t *l);

/* Something failed: try the same write again later, longer each time
 * (ev: the retry timer of that write, backoff: its delay). */
static void retry_on(live_t *l, struct event *ev, int *backoff,
                     const char *what)
{
        /* every failed write comes through here: its retry timer says
         * which sink it was */
        l->m.sink_errors[ev == l->ev_retry_pg      ? METRICS_SINK_POSTGRESQL
                         : ev == l->ev_retry_kafka ? METRICS_SINK_KAFKA
                                                   : METRICS_SINK_REDIS]++;
        *backoff = *backoff ? *backoff * 2 : 100;
        if (*backoff > 5000)
                *backoff = 5000;
        LOG_WARN("%s; retrying in %d ms", what, *backoff);
        struct timeval tv = {*backoff / 1000, (*backoff % 1000) * 1000};
        evtimer_add(ev, &tv);
}

/* The outputs of l->out are durable: hand it to the state stage when that
 * is free, and close the next batch for the outputs stage. */
static void outputs_check(live_t *l)
{
        if (!l->out || !l->pg_ok || !l->kafka_ok)
                return;
        if (l->lost) {
                /* fenced: its state must not be written; the regroup
                 * decides its records again (consume) */
                batch_clear(l->out);
                memset(mb_of(l, l->out), 0, sizeof(metrics_batch_t));
                l->out = NULL;
                kin_wake(l->kin);
                return;
        }
        if (l->st)
                return; /* its turn comes when the state stage is free */
        l->st = l->out;
        l->out = NULL;
        start_redis(l);
        if (!l->out && !batch_empty(l->fill))
                start_commit(l); /* consumed while the outputs were written */
}

static void on_retry_pg(evutil_socket_t fd, short what, void *arg)
{
        live_t *l = arg;
        (void)fd;
        (void)what;
        if (l->out && !l->pg_ok)
                start_pg(l);
}

static void on_retry_kafka(evutil_socket_t fd, short what, void *arg)
{
        live_t *l = arg;
        (void)fd;
        (void)what;
        if (l->out && !l->kafka_ok)
                start_kafka(l); /* produces the batch's outputs again */
}

static void on_retry_redis(evutil_socket_t fd, short what, void *arg)
{
        live_t *l = arg;
        (void)fd;
        (void)what;
        if (l->st)
                start_redis(l);
}

/* pgsink's verdict on the batch's transaction. */
static void on_pg_done(void *ud, pgsink_status_t st, const char *err)
{
        live_t *l = ud;
        if (st == PGSINK_LEASE_LOST && l->group) {
                /* a work partition of this batch has a new owner: drop the
                 * batches in hand and regroup (its records are decided
                 * again by whoever owns them now, from their checkpoint) */
                LOG_WARN("PostgreSQL: %s; dropping the batches in hand and "
                         "regrouping",
                         err);
                l->lost = true;
                l->fenced_ms = mono_ms();
                l->changed_since_fence = false;
                l->pg_ok = true;
                outputs_check(l);
                return;
        }
        if (st == PGSINK_LEASE_LOST) {
                /* another instance holds the lease now: nothing of this
                 * batch was written, and nothing more may be */
                LOG_ERROR("PostgreSQL: %s", err);
                LOG_ERROR("lost the engine lease to another instance: stopping "
                          "without writing");
                _exit(1);
        }
        if (st != PGSINK_OK) {
                char what[600];
                snprintf(what, sizeof(what), "PostgreSQL write failed: %s",
                         err);
                retry_on(l, l->ev_retry_pg, &l->backoff_pg, what);
                return;
        }
        failpoint("after_pg");
        lease_renewed(&l->lease);
        trace(l, "pg ok");
        l->backoff_pg = 0;
        l->pg_ok = true;
        outputs_check(l);
}

/* Outputs, part 1: every revision, TPP event and dead letter of the batch
 * in one pipelined transaction (idempotent upserts), behind the lease
 * renewal; an idle engine still renews the lease every third of its
 * life. */
static void start_pg(live_t *l)
{
        trace(l, "pg");
        if (batch_pg_rows(l->out) == 0 && !lease_due(&l->lease)) {
                l->pg_ok = true;
                outputs_check(l);
                return;
        }
        char err[512], what[600];
        failpoint("before_pg");
        if (pgsink_write(l->ps, l->out, &l->lease, err, sizeof(err)) != 0) {
                snprintf(what, sizeof(what), "PostgreSQL: %s", err);
                retry_on(l, l->ev_retry_pg, &l->backoff_pg, what);
        }
}

/* ksink's verdict on the batch's outputs. */
static void on_kafka_done(void *ud, bool ok, const char *err)
{
        live_t *l = ud;
        if (!ok) {
                char what[700];
                snprintf(what, sizeof(what),
                         "Kafka outputs not acknowledged: %s", err);
                retry_on(l, l->ev_retry_kafka, &l->backoff_kafka, what);
                return;
        }
        trace(l, "kafka ok");
        l->backoff_kafka = 0;
        l->kafka_ok = true;
        outputs_check(l);
}

/* Outputs, part 2, at the same time as part 1: the idempotent
 * producer. */
static void start_kafka(live_t *l)
{
        trace(l, "kafka");
        ksink_write(l->ks, l->out);
}

/* How often the tick tries to connect to a Redis that is away, and logs
 * that it still is: a restart of Redis takes seconds, and one line per
 * tick (50 ms) would flood the journal. */
#define REDIS_RECONNECT_MS 500
#define REDIS_DOWN_LOG_S 10

static void on_redis_conn(void *ud, bool up, const char *err)
{
        live_t *l = ud;
        bool was_up = l->redis_up;
        l->redis_up = up;
        if (up) {
                l->m.connects[METRICS_SERVER_REDIS]++;
                l->redis_down_logged = 0;
                logf_("Redis: connected");
                return;
        }
        time_t now = time(NULL);
        if (was_up || !l->redis_down_logged ||
            now - l->redis_down_logged >= REDIS_DOWN_LOG_S) {
                LOG_WARN("Redis: %s", err);
                l->redis_down_logged = now;
        }
}

/* Offsets last: only now is the batch's input safe to skip. */
static void finish_state(live_t *l)
{
        trace(l, "offsets");
        batch_t *b = l->st;
        char err[512];
        if (kin_store_offsets(l->kin, b, err, sizeof(err)) != 0)
                LOG_WARN("offsets store: %s", err);
        clock_gettime(CLOCK_MONOTONIC, &l->t_durable);
        metrics_batch_done(&l->m, mb_of(l, b), &l->t_durable, b->n_msgs);
        batch_clear(b);
        l->st = NULL;
        l->batches++;
        outputs_check(l); /* the next batch may be waiting for its turn */
        kin_wake(l->kin);
}

/* The store writer's verdict on the batch's state. */
static void on_redis_done(void *ud, store_write_status_t st, const char *err)
{
        live_t *l = ud;
        if (st == STORE_WRITE_FENCED && l->group && l->st) {
                LOG_WARN("Redis: %s; dropping the batches in hand and "
                         "regrouping",
                         err);
                l->lost = true;
                l->fenced_ms = mono_ms();
                l->changed_since_fence = false;
                batch_clear(l->st);
                memset(mb_of(l, l->st), 0, sizeof(metrics_batch_t));
                l->st = NULL;
                /* the batch waiting for the state stage is dropped too */
                outputs_check(l);
                kin_wake(l->kin);
                return;
        }
        if (st == STORE_WRITE_FENCED) {
                LOG_ERROR("Redis: %s", err);
                LOG_ERROR("a newer instance holds the engine lease: "
                          "stopping without writing");
                _exit(1);
        }
        if (!l->st)
                return;
        if (st != STORE_WRITE_OK) {
                char what[600];
                snprintf(what, sizeof(what), "Redis write failed: %s", err);
                retry_on(l, l->ev_retry_redis, &l->backoff_redis, what);
                return;
        }
        l->backoff_redis = 0;
        failpoint("after_redis");
        finish_state(l);
}

/* State: the batch's accepted records, the ledgers it changed, the
 * watermark and outage cursor, in one atomic script (engine/store). */
static void start_redis(live_t *l)
{
        trace(l, "redis");
        if (store_writer_nothing(l->st)) {
                finish_state(l);
                return;
        }
        char err[512], what[600];
        /* group mode: no engine epoch, the batch's work partitions' */
        if (store_writer_write(l->sw, l->st, l->group ? -1 : l->lease.epoch,
                               err, sizeof(err)) != 0) {
                snprintf(what, sizeof(what), "Redis: %s", err);
                retry_on(l, l->ev_retry_redis, &l->backoff_redis, what);
        }
}

/* Closes the fill batch — the ledgers it changed are serialized now (a
 * later batch may change them again before this one is written), the
 * offsets it covers and the watermark are taken — then writes its
 * outputs while a new batch fills (in the one slot that is neither in
 * the outputs nor in the state stage). */
/* Group mode: the batch carries the checkpoint of every work partition
 * decided for here — the watermark, the outage cursor and the position in
 * every input partition as of its close — written with its state. */
static bool add_ckpt(live_t *l, batch_t *b)
{
        if (!l->group)
                return true;
        /* the watermark lives in the checkpoints */
        b->has_wm = false;
        size_t n = 0, live = 0;
        for (int w = 0; w < l->w_count; w++) {
                n += l->w_state[w] != W_NONE;
                live += l->w_state[w] == W_LIVE;
        }
        if (n == 0)
                return true;
        b->ckpt_w = malloc(n * sizeof(*b->ckpt_w));
        b->ckpt_ep = malloc(n * sizeof(*b->ckpt_ep));
        b->ckpt_live = malloc(n);
        if (!b->ckpt_w || !b->ckpt_ep || !b->ckpt_live)
                return false;
        /* held ones are checked, not moved: what this batch stores of
         * them (records past their checkpoint) is fenced all the same */
        for (int w = 0; w < l->w_count; w++)
                if (l->w_state[w] != W_NONE) {
                        b->ckpt_w[b->n_ckpt_w] = w;
                        b->ckpt_ep[b->n_ckpt_w] = l->w_epoch[w];
                        b->ckpt_live[b->n_ckpt_w++] = l->w_state[w] == W_LIVE;
                }
        if (live == 0)
                return true;
        ptime_t wm = core_watermark(l->core);
        store_ckpt_format(&l->w, ptime_cmp(wm, PTIME_NEVER) != 0, wm,
                          core_outage_cursor(l->core), l->pos, l->n_gp);
        b->ckpt = l->w.oom ? NULL : malloc(l->w.len + 1);
        if (!b->ckpt) {
                jw_reset(&l->w);
                return false;
        }
        memcpy(b->ckpt, l->w.buf, l->w.len);
        b->ckpt[l->w.len] = '\0';
        b->ckpt_len = l->w.len;
        jw_reset(&l->w);
        return true;
}

static void start_commit(live_t *l)
{
        batch_t *b = l->fill;
        if (!batch_close(b, l->core, l->ctx, &l->w) ||
            !kin_take_offsets(l->kin, b) || !add_ckpt(l, b)) {
                fail_oom(l);
                return;
        }
        l->out = b;
        clock_gettime(CLOCK_MONOTONIC, &mb_of(l, b)->closed);
        for (int i = 0; i < LIVE_BATCHES; i++)
                if (&l->batch[i] != l->out && &l->batch[i] != l->st)
                        l->fill = &l->batch[i];
        /* the two outputs at once: max(PostgreSQL, Kafka), not their sum */
        l->pg_ok = l->kafka_ok = false;
        start_kafka(l);
        if (l->out == b && !l->pg_ok)
                start_pg(l);
}

/* Per roster row, the first row of the same unit; NULL when out of
 * memory. */
static int32_t *unit_rows(const roster_t *ro)
{
        int32_t *ix = malloc((ro->n ? ro->n : 1) * sizeof(*ix));
        strmap_t *m = strmap_new();
        for (size_t i = 0; ix && m && i < ro->n; i++) {
                const char *u = ro->emp[i].unit_id;
                int32_t v = strmap_put(m, u, strlen(u), (int32_t)i, NULL);
                if (v == INT32_MIN) {
                        free(ix);
                        ix = NULL;
                        break;
                }
                ix[i] = v;
        }
        if (!m) {
                free(ix);
                ix = NULL;
        }
        strmap_free(m);
        return ix;
}

/* ---- reload (SIGHUP) ------------------------------------------------------
 *
 * A new roster or calendar, without a restart.  The files are read and
 * validated first: a refusal keeps the ones in force.  Then, with every
 * batch in hand durable, the state is what Redis holds, so the reload is
 * a restore in place (store_restore, as at start) into a new core under
 * the new reference data: every employee-day within the amend horizon is
 * evaluated again and whatever changed goes out with the next batch as
 * ordinary amendments (a new holiday retracts that day's violations, a
 * wfh_suspended day turns WFH presence into wfh_not_permitted); older
 * days keep their decisions.  An employee new to the roster is expected
 * from tomorrow (refdata.h).  The restore reads Redis over a blocking
 * connection while consumption is paused, as at start; a failure (Redis
 * or PostgreSQL away) keeps the old core and tries again in
 * RELOAD_RETRY_S seconds. */

#define RELOAD_RETRY_S 5

static void consume(live_t *l);

static void reload_later(live_t *l, const char *why)
{
        l->m.reloads[METRICS_RELOAD_FAILED]++;
        LOG_WARN("reload failed, keeping the roster and calendar in force: "
                 "%s; retrying in %d s",
                 why, RELOAD_RETRY_S);
        struct timeval tv = {RELOAD_RETRY_S, 0};
        evtimer_add(l->ev_reload, &tv);
}

static void reload_refused(live_t *l, const char *why)
{
        /* a bad file is the operator's to fix: no retry */
        l->m.reloads[METRICS_RELOAD_REFUSED]++;
        LOG_WARN("reload refused, keeping the roster and calendar in force: "
                 "%s",
                 why);
}

/* The content of the roster and calendar files, hashed: a SIGHUP that
 * changes neither (a new log level) needs no restore.  False when one
 * cannot be read. */
static bool refs_hash(const char *roster, const char *calendar, char out[33])
{
        size_t n1, n2;
        char *a = jsonv_slurp(roster, &n1), *b = jsonv_slurp(calendar, &n2);
        bool ok = a && b;
        if (ok) {
                const char *fields[2] = {a, b};
                sha256_id32(fields, 2, out);
        }
        free(a);
        free(b);
        return ok;
}

/* The log level of the file read again, and the keys that wait for a
 * restart (named, never their values). */
static void reload_config(live_t *l, const config_t *nc)
{
        log_level_t lv;
        if (log_level_parse(nc->log_level, &lv) &&
            strcmp(nc->log_level, l->log_level) != 0) {
                log_set_level(lv);
                snprintf(l->log_level, sizeof(l->log_level), "%s",
                         nc->log_level);
                LOG_WARN("log level now %s", l->log_level);
        }
        char changed[512];
        config_restart_changes(l->cfg, nc, changed, sizeof(changed));
        if (changed[0])
                LOG_WARN("reload: %s changed in %s; a restart applies it",
                         changed, l->cfg_path);
}

static void reload(live_t *l)
{
        l->reload = false;
        char err[1024] = "", hash[33];
        config_t *nc = config_load(l->cfg_path, err, sizeof(err));
        if (!nc) {
                reload_refused(l, err);
                return;
        }
        reload_config(l, nc);
        roster_t *ro = NULL;
        calendar_t *ca = NULL;
        core_t *core = NULL;
        int32_t *uix = NULL;
        if (!refs_hash(nc->roster_file, nc->calendar_file, hash) ||
            !(ro = roster_load(nc->roster_file, err, sizeof(err))) ||
            !(ca = calendar_load(nc->calendar_file, err, sizeof(err)))) {
                if (!ro && !ca && !err[0])
                        snprintf(err, sizeof(err), "cannot read %s or %s",
                                 nc->roster_file, nc->calendar_file);
                reload_refused(l, err);
                goto fail;
        }
        if (strcmp(hash, l->refs_hash) == 0) {
                l->m.reloads[METRICS_RELOAD_APPLIED]++;
                LOG_INFO("reload: the roster and calendar are unchanged");
                goto fail; /* nothing to swap */
        }
        if (l->group) {
                /* every instance would have to switch at the same input
                 * position: a rolling restart does (docs/scale-out.md) */
                reload_refused(l, "scale.mode = group: a new roster or "
                                  "calendar is applied by restarting the "
                                  "instances one at a time");
                goto fail;
        }
        eval_ctx_t *ctx =
            l->ctx == &l->ctx_slot[0] ? &l->ctx_slot[1] : &l->ctx_slot[0];
        *ctx = (eval_ctx_t){l->policy, ca, ro};
        int32_t today = tz_local_day(l->policy->tz, wall_now());
        int32_t floor = today - (int32_t)l->policy->amend_horizon_days;
        if (refdata_publish(l->cfg->pg_conninfo, ctx, ro, today + 1,
                            l->cfg->policy_file, nc->calendar_file, err,
                            sizeof(err)) != 0) {
                l->refs_hash[0] = '\0'; /* not published: the next SIGHUP
                                           publishes again */
                reload_later(l, err);
                goto fail;
        }
        if (!(core = core_new(ctx, &l->sink)) || !(uix = unit_rows(ro)))
                fail_oom(l);
        core_restore_floor(core, floor);
        long restored = store_restore(core, ctx, l->redis_host, l->redis_port,
                                      l->redis_db, err, sizeof(err));
        if (restored < 0) {
                /* PostgreSQL has the new roster already: the next SIGHUP
                 * must not take the files for the ones in force */
                l->refs_hash[0] = '\0';
                /* what the new core published, and its count */
                batch_clear(l->fill);
                memset(mb_of(l, l->fill), 0, sizeof(metrics_batch_t));
                reload_later(l, err);
                goto fail;
        }
        if (core_failed(core))
                fail_oom(l);
        size_t joined = 0;
        for (size_t i = 0; i < ro->n; i++)
                joined += ro->emp[i].expected_from == today + 1;
        char from[11];
        ptime_format_date(floor, from);
        LOG_INFO("reloaded the roster (%zu employees, %zu new: expected from "
                 "tomorrow) and the calendar; %ld stored records evaluated "
                 "again from %s: %zu publications",
                 ro->n, joined, restored, from, l->fill->n_outs);
        l->m.reloads[METRICS_RELOAD_APPLIED]++;
        memcpy(l->refs_hash, hash, sizeof(hash));
        core_free(l->core);
        roster_free(l->roster);
        calendar_free(l->calendar);
        free(l->unit_ix);
        l->core = core;
        l->roster = ro;
        l->calendar = ca;
        l->unit_ix = uix;
        l->ctx = ctx;
        config_free(nc);
        return;
fail:
        core_free(core);
        free(uix);
        roster_free(ro);
        calendar_free(ca);
        config_free(nc);
}

/* ---- group mode: the regroup -----------------------------------------------
 *
 * At start and after every change of the work partitions assigned (and
 * after a batch was fenced), with no batch in hand: this instance takes
 * its work partitions (their epochs raised in PostgreSQL, then in Redis,
 * so that a former owner's batch in flight fails), reads every work
 * partition's checkpoint and reads the input again from the earliest of
 * them, into a new core restored from Redis: every unit's records before
 * that position (the facts every decision may need), the ledgers of its
 * own units.  Its work partitions are held until the input is read up to
 * their own checkpoint — the very records and watermark their previous
 * owner had decided from — and then decided for (go_live): the same
 * records in the same order give the same decisions, so nothing is
 * decided early and nothing twice.  Blocking, bounded reads of
 * PostgreSQL and Redis, as at start; a failure retries in 1 s. */

static void consume(live_t *l);
static void on_ready(void *ud);
static void on_kin_status(void *ud, const char *msg);

/* Where to read input partition (topic, partition) from: the earliest
 * position over every work partition's checkpoint (its beginning when a
 * work partition has none yet). */
static int64_t earliest(void *ud, rec_topic_t topic, int32_t partition)
{
        const live_t *l = ud;
        int64_t v = INT64_MAX;
        for (int w = 0; w < l->w_count; w++) {
                int64_t here =
                    store_ckpt_offset(&l->ck[w], (int)topic, partition);
                if (here < v)
                        v = here;
        }
        return v == INT64_MAX ? RD_KAFKA_OFFSET_BEGINNING : v;
}

static bool scope_ledger(void *ud, const char *unit_id)
{
        const live_t *l = ud;
        return l->w_state[work_of_unit(unit_id, l->w_count)] != W_NONE;
}

static bool scope_fact(void *ud, int topic, int32_t partition, int64_t offset)
{
        const live_t *l = ud;
        if (topic < 0 || topic >= TOPIC__COUNT || partition < 0 ||
            partition >= kin_partitions(l->kin, (rec_topic_t)topic))
                return true;
        return offset <
               l->pos[(size_t)l->gp_base[topic] + (size_t)partition].offset;
}

static void ckpts_free(live_t *l)
{
        for (int w = 0; l->ck && w < l->w_count; w++) {
                free(l->ck[w].pos);
                l->ck[w].pos = NULL;
        }
}

/* The tables of the positions (l->pos, l->ck_pos), once kin knows the
 * partitions.  False when out of memory. */
static bool position_tables(live_t *l)
{
        size_t n = 0;
        for (int t = 0; t < TOPIC__COUNT; t++) {
                l->gp_base[t] = (int)n;
                n += (size_t)kin_partitions(l->kin, (rec_topic_t)t);
        }
        l->n_gp = n;
        free(l->pos);
        free(l->ck_pos);
        l->pos = malloc((n ? n : 1) * sizeof(*l->pos));
        l->ck_pos = malloc(((size_t)l->w_count * n + 1) * sizeof(*l->ck_pos));
        if (!l->pos || !l->ck_pos)
                return false;
        for (int t = 0; t < TOPIC__COUNT; t++)
                for (int p = 0; p < kin_partitions(l->kin, (rec_topic_t)t);
                     p++) {
                        size_t gp = (size_t)l->gp_base[t] + (size_t)p;
                        l->pos[gp] =
                            (store_pos_t){t, p, earliest(l, (rec_topic_t)t, p)};
                        for (int w = 0; w < l->w_count; w++)
                                l->ck_pos[(size_t)w * n + gp] =
                                    store_ckpt_offset(&l->ck[w], t, p);
                }
        return true;
}

/* The offsets single mode committed, gathered (kin_committed). */
typedef struct positions {
        store_pos_t *pos;
        size_t n, cap;
        bool oom;
} positions_t;

static void note_committed(void *ud, rec_topic_t topic, int32_t partition,
                           int64_t offset)
{
        positions_t *p = ud;
        if (p->n == p->cap) {
                size_t cap = p->cap ? p->cap * 2 : 64;
                store_pos_t *nx = realloc(p->pos, cap * sizeof(*nx));
                if (!nx) {
                        p->oom = true;
                        return;
                }
                p->pos = nx;
                p->cap = cap;
        }
        p->pos[p->n++] = (store_pos_t){(int)topic, partition, offset};
}

static void regroup_later(live_t *l, const char *why)
{
        LOG_ERROR("regroup: %s; trying again in 1 s", why);
        struct timeval tv = {1, 0};
        evtimer_add(l->ev_regroup, &tv);
}

/* The group's assignment is what this instance holds already (a
 * rebalance elsewhere in the group); else it says it will regroup. */
static bool same_assignment(live_t *l)
{
        int32_t *ws = malloc(((size_t)l->w_count + 1) * sizeof(*ws));
        if (!ws)
                return false;
        size_t n = work_owned(l->work, ws), k = 0;
        bool same = true;
        for (int w = 0; w < l->w_count && same; w++)
                if (l->w_state[w] != W_NONE)
                        same = k < n && ws[k++] == w;
        same = same && k == n;
        free(ws);
        if (!same)
                LOG_INFO("work partitions reassigned: regrouping once the "
                         "batches in flight are durable");
        return same;
}

static int regroup(live_t *l)
{
        char err[1024];
        int32_t *ws = malloc((size_t)l->w_count * sizeof(*ws));
        long long *eps = malloc((size_t)l->w_count * sizeof(*eps));
        core_t *core = NULL;
        if (!ws || !eps) {
                free(ws);
                free(eps);
                fail_oom(l);
                return -1;
        }
        size_t n = work_owned(l->work, ws);
        l->regroup = false;
        /* the epochs Redis holds first: PostgreSQL hands out higher ones
         * (a database restored from a backup would otherwise be fenced
         * by Redis for good); the checkpoints are read again once fenced */
        ckpts_free(l);
        if (store_read_ckpts(l->redis_host, l->redis_port, l->redis_db,
                             l->w_count, l->ck, err, sizeof(err)) < 0)
                goto later;
        for (size_t i = 0; i < n; i++)
                eps[i] = l->ck[ws[i]].epoch;
        if (lease_acquire_work(&l->lease, ws, n, eps, eps, err, sizeof(err)) !=
                0 ||
            store_fence_work(l->redis_host, l->redis_port, l->redis_db,
                             l->w_count, ws, eps, n, err, sizeof(err)) != 0)
                goto later;
        ckpts_free(l);
        int got = store_read_ckpts(l->redis_host, l->redis_port, l->redis_db,
                                   l->w_count, l->ck, err, sizeof(err));
        if (got == 1) {
                LOG_WARN("%s: taking it over (docs/scale-out.md, \"From "
                         "single mode\"): every work partition starts where "
                         "it stood, at its watermark and the offsets committed "
                         "to %s",
                         err, l->cfg->kafka_group);
                positions_t cv = {0};
                if (kin_committed(l->cfg, note_committed, &cv, err,
                                  sizeof(err)) != 0 ||
                    (cv.oom && snprintf(err, sizeof(err), "out of memory")) ||
                    store_from_single(l->redis_host, l->redis_port, l->redis_db,
                                      l->w_count, cv.pos, cv.n, err,
                                      sizeof(err)) != 0 ||
                    (got = store_read_ckpts(l->redis_host, l->redis_port,
                                            l->redis_db, l->w_count, l->ck, err,
                                            sizeof(err))) != 0) {
                        free(cv.pos);
                        if (got == 1)
                                snprintf(err, sizeof(err),
                                         "single mode's state not converted");
                        goto later;
                }
                free(cv.pos);
        }
        if (got != 0)
                goto later;
        memset(l->w_state, W_NONE, (size_t)l->w_count);
        for (size_t i = 0; i < n; i++) {
                l->w_state[ws[i]] = W_HELD;
                l->w_epoch[ws[i]] = eps[i];
        }
        /* the input again, from the earliest checkpoint */
        kin_free(l->kin);
        if (!(l->kin = kin_new_at(l->cfg, l->base, on_ready, on_kin_status, l,
                                  earliest, l, err, sizeof(err))))
                goto later;
        if (!position_tables(l) || !(core = core_new(l->ctx, &l->sink))) {
                fail_oom(l);
                goto fail;
        }
        core_own_none(core, false);
        ptime_t wm = PTIME_NEVER;
        bool has_wm = false;
        for (int w = 0; w < l->w_count; w++) {
                /* the earliest checkpoint's time: none if one has none */
                if (!l->ck[w].found || !l->ck[w].has_wm) {
                        has_wm = false;
                        break;
                }
                if (!has_wm || ptime_cmp(l->ck[w].wm, wm) < 0)
                        wm = l->ck[w].wm;
                has_wm = true;
        }
        store_scope_t scope = {has_wm,       wm,         l->ck[0].outage,
                               scope_ledger, scope_fact, l};
        if (l->w_state[0] == W_NONE)
                scope.outage = INT32_MIN;
        long restored =
            store_restore_scoped(core, l->ctx, l->redis_host, l->redis_port,
                                 l->redis_db, &scope, err, sizeof(err));
        if (restored < 0)
                goto later;
        if (core_failed(core)) {
                fail_oom(l);
                goto fail;
        }
        core_free(l->core);
        l->core = core;
        core = NULL;
        free(l->unit_w);
        if (!(l->unit_w =
                  malloc((core_units(l->core) + 1) * sizeof(*l->unit_w)))) {
                fail_oom(l);
                goto fail;
        }
        for (size_t u = 0; u < core_units(l->core); u++)
                l->unit_w[u] =
                    work_of_unit(core_unit_id(l->core, u), l->w_count);
        l->n_held = 0;
        for (int w = 0; w < l->w_count; w++) {
                l->w_missing[w] = 0;
                if (l->w_state[w] != W_HELD)
                        continue;
                l->n_held++;
                for (size_t gp = 0; gp < l->n_gp; gp++)
                        l->w_missing[w] += l->pos[gp].offset <
                                           l->ck_pos[(size_t)w * l->n_gp + gp];
        }
        char list[512] = "";
        for (size_t i = 0, at = 0; i < n && at < sizeof(list) - 12; i++)
                at += (size_t)snprintf(list + at, sizeof(list) - at, "%s%d",
                                       i ? "," : "", (int)ws[i]);
        LOG_INFO("regrouped: work partitions [%s] of %d; %ld stored records "
                 "restored; reading every input partition from the earliest "
                 "checkpoint",
                 list, l->w_count, restored);
        check_holds(l, false);
        for (int t = 0; t < TOPIC__COUNT; t++)
                snprintf(l->m.topics[t], sizeof(l->m.topics[t]), "%s",
                         kin_topic_name(l->kin, (rec_topic_t)t));
        free(ws);
        free(eps);
        kin_wake(l->kin);
        return 0;
later:
        l->regroup = true;
        regroup_later(l, err);
fail:
        core_free(core);
        free(ws);
        free(eps);
        return -1;
}

static void on_regroup_retry(evutil_socket_t fd, short what, void *arg)
{
        live_t *l = arg;
        (void)fd;
        (void)what;
        consume(l);
}

static void on_reload_retry(evutil_socket_t fd, short what, void *arg)
{
        live_t *l = arg;
        (void)fd;
        (void)what;
        l->reload = true;
        consume(l);
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
                if (!l->out && !batch_empty(l->fill))
                        start_commit(l);
                else if (!l->out && !l->st)
                        finish(l);
                return;
        }
        if (l->group && l->regroup && !l->lost && same_assignment(l))
                l->regroup = false; /* a rebalance that moved nothing here */
        if (l->group && (l->regroup || l->lost)) {
                /* a regroup swaps the core and reads the input again from
                 * the earliest checkpoint: what the batch being filled
                 * holds is decided again there (and, a partition revoked,
                 * by its new owner), so it is dropped rather than
                 * published; the batches in flight end first */
                batch_clear(l->fill);
                memset(mb_of(l, l->fill), 0, sizeof(metrics_batch_t));
                if (l->out || l->st || evtimer_pending(l->ev_regroup, NULL))
                        return;
                /* fenced: this instance's view of the group is likely
                 * stale (a frozen process, a cut network); taking its old
                 * partitions again would fence their new owner in turn,
                 * so it waits for the group to tell it, or for its session
                 * to have expired */
                if (l->fenced_ms && !l->changed_since_fence &&
                    mono_ms() - l->fenced_ms < l->cfg->scale_session_timeout_ms)
                        return;
                l->lost = false;
                l->fenced_ms = 0;
                if (regroup(l) != 0 || l->regroup)
                        return;
        }
        if (l->reload) {
                /* a reload swaps the core: first make everything it
                 * decided durable, consuming nothing meanwhile */
                if (!l->out && !batch_empty(l->fill))
                        start_commit(l);
                else if (!l->out && !l->st)
                        reload(l);
                if (l->reload)
                        return;
        }
        long n = 0, room = l->cfg->batch_max_records - l->fill->n_msgs;
        if (room > 0)
                l->full = false;
        else if (!l->full) {
                l->full = true;
                clock_gettime(CLOCK_MONOTONIC, &l->t_full);
        }
        ptime_t now = wall_now();
        int32_t today = tz_local_day(l->policy->tz, now);
        trace(l, "consume");
        /* records go to the core in arrival order (kin_next); the queue is
         * read only as far as the merge needs to release the next one, so
         * that what is held back stays small */
        while (n < room) {
                kin_rec_t r;
                if (kin_next(l->kin, &r)) {
                        handle_message(l, &r, now, today);
                        kin_release(l->kin, r.m);
                        n++;
                        continue;
                }
                char err[512];
                kin_poll_t got = kin_poll(l->kin, err, sizeof(err));
                if (got == KIN_EMPTY)
                        break;
                if (got == KIN_NOMEM)
                        fail_oom(l);
                if (got == KIN_ERROR)
                        LOG_WARN("Kafka: %s", err);
        }
        /* Every partition read to its end and every record in the core:
         * the wall clock closes days and call windows (SPEC §4.2: read up
         * to T is also "consumed to its end"), as replay's end of input
         * does, and dates what it fires when it fell due
         * (core_set_clock).  Before that only records move the
         * watermark, so nothing fires before replay would fire it. */
        if (kin_held(l->kin) == 0 && kin_all_at_end(l->kin)) {
                core_set_clock(l->core, now);
                if (l->group)
                        check_holds(l, true);
                core_fire(l->core);
                core_alert_closed_outages(l->core, today);
        }
        core_flush_digests(l->core);
        if (core_failed(l->core))
                fail_oom(l);
        if (!l->out && (!batch_empty(l->fill) || lease_due(&l->lease))) {
                start_commit(l);
                return;
        }
        if (l->until_idle && n == 0 && !l->out && !l->st && l->n_held == 0 &&
            batch_empty(l->fill) && kin_held(l->kin) == 0 &&
            kin_all_at_end(l->kin) && ksink_queue_len(l->ks) == 0) {
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

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
        live_t *l = arg;
        (void)fd;
        (void)what;
        if (!l->out)
                ksink_poll(l->ks);
        if (l->work && work_poll(l->work) && !l->regroup) {
                l->regroup = true;
                l->changed_since_fence = true;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long long ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
        if (!store_writer_attached(l->sw) &&
            ms - l->redis_tried_ms >= REDIS_RECONNECT_MS) {
                l->redis_tried_ms = ms;
                store_writer_connect(l->sw);
        }
        consume(l);
}

/* A drain that cannot finish (a server that stays away) must not keep
 * the process from stopping: what is not durable yet is processed again
 * on restart. */
static void on_drain_deadline(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        (void)arg;
        LOG_ERROR(
            "drain not finished within %d s of the signal: exiting without "
            "writing more",
            DRAIN_DEADLINE_S);
        _exit(1);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
        live_t *l = arg;
        (void)what;
        if (l->stopping) {
                /* a second signal while a write cannot get through: exit
                 * now; the batch in hand is processed again on restart */
                LOG_WARN("signal %d again: exiting without waiting", (int)sig);
                _exit(1);
        }
        logf_("signal %d: draining and committing", (int)sig);
        l->stopping = true;
        struct timeval tv = {DRAIN_DEADLINE_S, 0};
        evtimer_add(l->ev_drain, &tv);
        consume(l);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
        live_t *l = arg;
        (void)sig;
        (void)what;
        if (l->stopping) {
                LOG_WARN("SIGHUP while draining: not reloaded");
                return;
        }
        logf_("SIGHUP: reloading the roster and calendar once the batches "
              "in hand are durable");
        evtimer_del(l->ev_reload);
        l->reload = true;
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

/* ---- the HTTP endpoints (httpd.h) ------------------------------------------
 */

static void on_lag(void *ud, rec_topic_t topic, int32_t partition, int64_t lag)
{
        live_t *l = ud;
        if (!metrics_lag_add(&l->m, topic, partition, lag))
                return; /* out of memory: this scrape's table is short */
}

/* /metrics: the gauges read now from what the adapters hold (no request
 * to any server), then every family. */
static int serve_metrics(void *ud, FILE *out)
{
        live_t *l = ud;
        metrics_lag_reset(&l->m);
        if (l->kin)
                kin_lag(l->kin, on_lag, l);
        ptime_t wm = core_watermark(l->core);
        l->m.has_wm_delay = ptime_cmp(wm, PTIME_NEVER) != 0;
        if (l->m.has_wm_delay) {
                ptime_t now = wall_now();
                l->m.wm_delay = (double)(now.sec - wm.sec) +
                                (double)(now.nsec - wm.nsec) / 1e9;
        }
        l->m.pending = (long long)core_pending(l->core);
        if (l->group) {
                l->m.work_live = l->m.work_held = 0;
                for (int w = 0; w < l->w_count; w++) {
                        l->m.work_live += l->w_state[w] == W_LIVE;
                        l->m.work_held += l->w_state[w] == W_HELD;
                }
        }
        if (l->ps)
                l->m.connects[METRICS_SERVER_POSTGRESQL] =
                    pgsink_sessions(l->ps);
        return metrics_render(&l->m, out);
}

/* /readyz: from the outcome of the last writes (a frozen server fails
 * its write within write.timeout_ms) and the batch chain's room. */
static size_t serve_readiness(void *ud, metrics_reason_t *out, size_t max)
{
        live_t *l = ud;
        metrics_ready_t f;
        memset(&f, 0, sizeof(f));
        /* assigned and answering: a partition whose start offset is
         * still being looked up delays a record by up to a second */
        f.assigned = l->kin ? kin_fetching(l->kin) : 0;
        f.expected = l->kin ? kin_expected(l->kin) : 0;
        f.redis_up = l->redis_up;
        f.redis_failing = l->backoff_redis != 0;
        f.pg_failing = l->backoff_pg != 0;
        f.kafka_failing = l->backoff_kafka != 0;
        f.stopping = l->stopping;
        f.standby = l->standby;
        f.work_held = l->group ? (int)l->n_held : 0;
        f.write_timeout_ms = l->cfg->write_timeout_ms;
        if (l->full && l->fill->n_msgs >= l->cfg->batch_max_records) {
                struct timespec now;
                clock_gettime(CLOCK_MONOTONIC, &now);
                f.paused_ms =
                    (long)((now.tv_sec - l->t_full.tv_sec) * 1000 +
                           (now.tv_nsec - l->t_full.tv_nsec) / 1000000);
        }
        return metrics_readiness(&f, out, max);
}

/* The standby's pause between two looks at the lease: the loop runs for
 * MS, serving only the HTTP endpoints (nothing else is on it yet). */
static void standby_wait(void *ud, long ms)
{
        live_t *l = ud;
        struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
        event_base_loopexit(l->base, &tv);
        event_base_dispatch(l->base);
}

/* Listens on metrics.listen before anything waits (the lease, the
 * restore), so that a port already taken — a second patuhd on the host
 * — stops start-up at once.  Requests are answered once the loop runs. */
static int setup_httpd(live_t *l)
{
        if (strcmp(l->cfg->metrics_listen, "off") == 0)
                return 0;
        httpd_handlers_t h = {l, serve_metrics, serve_readiness};
        char err[512];
        if (!(l->httpd = httpd_new(l->base, l->cfg->metrics_listen, &h, err,
                                   sizeof(err)))) {
                LOG_ERROR(
                    "metrics.listen: %s (another patuhd on this host? give "
                    "each its own metrics.listen, or off)",
                    err);
                return -1;
        }
        logf_("metrics.listen: serving /metrics, /healthz, /readyz");
        return 0;
}

/* ---- set-up -----------------------------------------------------------------
 */

/* quarantine.file, else $STATE_DIRECTORY/patuhd.crash (systemd's
 * StateDirectory= survives a restart; PrivateTmp does not), else
 * $TMPDIR/patuhd-<group>.crash; then what the last stop left there. */
static int open_quarantine(live_t *l, char *err, size_t n)
{
        char path[4096];
        const char *sd = getenv("STATE_DIRECTORY");
        const char *tmp = getenv("TMPDIR");
        if (l->cfg->quarantine_file)
                snprintf(path, sizeof(path), "%s", l->cfg->quarantine_file);
        else if (sd && *sd)
                snprintf(path, sizeof(path), "%s/patuhd.crash", sd);
        else
                snprintf(path, sizeof(path), "%s/patuhd-%s.crash",
                         tmp && *tmp ? tmp : "/tmp", l->cfg->kafka_group);
        if (!(l->qr = quarantine_open(path, l->cfg->quarantine_after, err, n)))
                return -1;
        int topic;
        int32_t partition;
        int64_t offset;
        long deaths = quarantine_deaths(l->qr, &topic, &partition, &offset);
        if (deaths > 0)
                LOG_WARN("the last %ld stop%s died with input %s partition %d "
                         "offset %lld in hand%s",
                         deaths, deaths > 1 ? "s in a row" : "",
                         rec_topic_name((rec_topic_t)topic), (int)partition,
                         (long long)offset,
                         deaths >= l->cfg->quarantine_after
                             ? ": it will be quarantined (dead-lettered as "
                               "quarantined and skipped)"
                             : "");
        return 0;
}

static int setup_kafka(live_t *l, char *err, size_t n)
{
        if (!(l->ks = ksink_new(l->cfg, l->base, on_kafka_done, l, err, n)))
                return -1;
        if (!(l->kin =
                  kin_new(l->cfg, l->base, on_ready, on_kin_status, l, err, n)))
                return -1;
        logf_("assigned %d partitions", kin_assigned(l->kin));
        return 0;
}

/* Group mode: the Kafka sink, the member of <kafka.group>.work, its
 * first assignment (waited for while serving the HTTP endpoints), then
 * the first regroup (which creates the input). */
static int setup_group(live_t *l, char *err, size_t n)
{
        if (!l->cfg->instance_id) {
                snprintf(err, n,
                         "scale.mode = group needs instance.id: each instance "
                         "its own, stable across restarts");
                return -1;
        }
        if (!(l->ks = ksink_new(l->cfg, l->base, on_kafka_done, l, err, n)) ||
            !(l->work = work_new(l->cfg, err, n)))
                return -1;
        l->w_count = work_count(l->work);
        size_t w = (size_t)l->w_count;
        l->w_state = calloc(w, 1);
        l->w_epoch = calloc(w, sizeof(*l->w_epoch));
        l->w_missing = calloc(w, sizeof(*l->w_missing));
        l->ck = calloc(w, sizeof(*l->ck));
        if (!l->w_state || !l->w_epoch || !l->w_missing || !l->ck) {
                snprintf(err, n, "out of memory");
                return -1;
        }
        logf_("joining group %s.work (%d work partitions) as %s",
              l->cfg->kafka_group, l->w_count, l->cfg->instance_id);
        while (!work_assigned(l->work)) {
                work_poll(l->work);
                standby_wait(l, 100);
        }
        if (regroup(l) != 0 && !l->kin) {
                snprintf(err, n, "the first regroup failed (see above)");
                return -1;
        }
        return 0;
}

int live_run(const live_opts_t *o)
{
        live_t l;
        memset(&l, 0, sizeof(l));
        l.cfg = o->config;
        l.until_idle = o->until_idle;
        l.cfg_path = o->config_path;
        snprintf(l.log_level, sizeof(l.log_level), "%s", l.cfg->log_level);
        l.fill = &l.batch[0];
        jw_init(&l.w);
        char err[1024];
        int rc = 2;
        if (!(l.policy = policy_load(l.cfg->policy_file, err, sizeof(err))) ||
            !(l.roster = roster_load(l.cfg->roster_file, err, sizeof(err))) ||
            !(l.calendar =
                  calendar_load(l.cfg->calendar_file, err, sizeof(err)))) {
                LOG_ERROR("%s", err);
                goto out;
        }
        if (!refs_hash(l.cfg->roster_file, l.cfg->calendar_file, l.refs_hash))
                l.refs_hash[0] = '\0'; /* read a moment ago: a race */
        l.ctx = &l.ctx_slot[0];
        *l.ctx = (eval_ctx_t){l.policy, l.calendar, l.roster};
        metrics_init(&l.m, PATUH_VERSION, l.policy->label);
        l.sink = (core_sink_t){&l, sink_emit, sink_touched};
        rc = 1;
        if (!(l.core = core_new(l.ctx, &l.sink)) ||
            !(l.unit_ix = unit_rows(l.roster)) || !(l.base = event_base_new()))
                goto out;
        if (setup_httpd(&l) != 0)
                goto out;
        config_redis_url(l.cfg->redis_url, l.redis_host, sizeof(l.redis_host),
                         &l.redis_port, &l.redis_db);
        lease_init(&l.lease, l.cfg->pg_conninfo, l.cfg->instance_id,
                   l.cfg->lease_ttl_ms);
        /* a standby answers /metrics and /readyz (503) while it waits */
        l.lease.wait = standby_wait;
        l.lease.wait_ud = &l;
        l.group = strcmp(l.cfg->scale_mode, "group") == 0;
        l.standby = !l.group;
        /* state is read only once the lease is ours: a standby's copy
         * would be stale by the time it takes over.  Group mode has no
         * engine lease: the work group shares the units instead */
        int lw = l.group ? 0
                         : lease_acquire(&l.lease, on_lease_status, &l, err,
                                         sizeof(err));
        if (lw < 0)
                LOG_ERROR("engine lease: %s", err);
        else if (lw == 1)
                logf_("stopped while standing by");
        l.standby = false;
        if (lw != 0) {
                rc = lw < 0 ? 1 : 0;
                goto out;
        }
        if (!l.group)
                logf_("holding the engine lease as %s (epoch %lld)",
                      l.lease.holder, l.lease.epoch);
        if (open_quarantine(&l, err, sizeof(err)) != 0) {
                LOG_ERROR("%s", err);
                goto out;
        }
        if (!l.group && store_fence(l.redis_host, l.redis_port, l.redis_db,
                                    l.lease.epoch, err, sizeof(err)) != 0) {
                LOG_ERROR("cannot fence Redis state: %s", err);
                goto out;
        }
        /* the roster first: who joined since the last start is expected
         * from tomorrow (refdata.h), before restore evaluates anyone */
        if (refdata_publish(l.cfg->pg_conninfo, l.ctx, l.roster,
                            tz_local_day(l.policy->tz, wall_now()) + 1,
                            l.cfg->policy_file, l.cfg->calendar_file, err,
                            sizeof(err)) != 0) {
                LOG_ERROR("cannot publish the roster, policy and calendar: %s",
                          err);
                goto out;
        }
        long restored =
            l.group ? 0
                    : store_restore(l.core, l.ctx, l.redis_host, l.redis_port,
                                    l.redis_db, err, sizeof(err));
        if (restored < 0) {
                LOG_ERROR("cannot restore state: %s", err);
                goto out;
        }
        if (!l.group)
                logf_("restored %ld accepted records from Redis", restored);
        if (!(l.ps = pgsink_new(l.cfg->pg_conninfo, l.base,
                                l.cfg->write_timeout_ms, on_pg_done, &l)) ||
            !(l.sw = store_writer_new(l.base, l.redis_host, l.redis_port,
                                      l.redis_db, store_ttl(l.ctx),
                                      l.cfg->write_timeout_ms, on_redis_done,
                                      on_redis_conn, &l))) {
                LOG_ERROR("out of memory");
                goto out;
        }
        if (pgsink_connect(l.ps, err, sizeof(err)) != 0) {
                LOG_ERROR("PostgreSQL: %s", err);
                LOG_ERROR("PostgreSQL is required at start");
                goto out;
        }
        l.ev_regroup = evtimer_new(l.base, on_regroup_retry, &l);
        if (l.group ? setup_group(&l, err, sizeof(err))
                    : setup_kafka(&l, err, sizeof(err))) {
                LOG_ERROR("Kafka: %s", err);
                rc = 2;
                goto out;
        }
        for (int t = 0; t < TOPIC__COUNT; t++)
                snprintf(l.m.topics[t], sizeof(l.m.topics[t]), "%s",
                         kin_topic_name(l.kin, (rec_topic_t)t));
        l.ev_tick = event_new(l.base, -1, EV_PERSIST, on_tick, &l);
        l.ev_retry_pg = evtimer_new(l.base, on_retry_pg, &l);
        l.ev_retry_kafka = evtimer_new(l.base, on_retry_kafka, &l);
        l.ev_retry_redis = evtimer_new(l.base, on_retry_redis, &l);
        l.ev_term = evsignal_new(l.base, SIGTERM, on_signal, &l);
        l.ev_int = evsignal_new(l.base, SIGINT, on_signal, &l);
        l.ev_drain = evtimer_new(l.base, on_drain_deadline, &l);
        l.ev_hup = evsignal_new(l.base, SIGHUP, on_hup, &l);
        l.ev_reload = evtimer_new(l.base, on_reload_retry, &l);
        struct timeval tick = {0, l.cfg->batch_max_ms * 1000};
        event_add(l.ev_tick, &tick);
        event_add(l.ev_term, NULL);
        event_add(l.ev_int, NULL);
        event_add(l.ev_hup, NULL);
        store_writer_connect(l.sw);
        if (l.group)
                logf_("consuming %s, %s, %s; deciding for the work "
                      "partitions group %s.work assigns",
                      kin_topic_name(l.kin, (rec_topic_t)0),
                      kin_topic_name(l.kin, (rec_topic_t)1),
                      kin_topic_name(l.kin, (rec_topic_t)2),
                      l.cfg->kafka_group);
        else
                logf_("consuming %s, %s, %s as group %s",
                      kin_topic_name(l.kin, (rec_topic_t)0),
                      kin_topic_name(l.kin, (rec_topic_t)1),
                      kin_topic_name(l.kin, (rec_topic_t)2),
                      l.cfg->kafka_group);
        event_base_dispatch(l.base);
        rc = l.exit_code;
        work_free(l.work); /* leaves the group: the others take over */
        l.work = NULL;
        if (!l.group && lease_release(&l.lease, err, sizeof(err)) != 0)
                LOG_WARN("engine lease not released (it expires in %ld ms): %s",
                         l.cfg->lease_ttl_ms, err);
        /* the steady rate: from the first record consumed to the last
         * batch made durable (start-up and the final idle check left
         * out) */
        double span = (double)(l.t_durable.tv_sec - l.t_first.tv_sec) +
                      (double)(l.t_durable.tv_nsec - l.t_first.tv_nsec) / 1e9;
        if (l.consumed > 0 && l.batches > 0 && span > 0)
                logf_("stopped: %lld records consumed, %lld batches made "
                      "durable; %.0f records/s from the first record "
                      "consumed to the last batch durable (%.2f s)",
                      l.consumed, l.batches, (double)l.consumed / span, span);
        else
                logf_("stopped: %lld records consumed, %lld batches made "
                      "durable",
                      l.consumed, l.batches);
out:
        quarantine_close(l.qr, rc == 0);
        for (int i = 0; i < LIVE_BATCHES; i++)
                batch_free(&l.batch[i]);
        work_free(l.work);
        ckpts_free(&l);
        free(l.ck);
        free(l.ck_pos);
        free(l.pos);
        free(l.w_state);
        free(l.w_epoch);
        free(l.w_missing);
        free(l.unit_w);
        kin_free(l.kin);
        ksink_free(l.ks);
        store_writer_free(l.sw);
        pgsink_free(l.ps);
        struct event *evs[] = {
            l.ev_tick,   l.ev_retry_pg, l.ev_retry_kafka, l.ev_retry_redis,
            l.ev_term,   l.ev_int,      l.ev_drain,       l.ev_hup,
            l.ev_reload, l.ev_regroup};
        for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
                if (evs[i])
                        event_free(evs[i]);
        httpd_free(l.httpd);
        if (l.base)
                event_base_free(l.base);
        metrics_free(&l.m);
        core_free(l.core);
        free(l.unit_ix);
        jw_free(&l.w);
        policy_free(l.policy);
        roster_free(l.roster);
        calendar_free(l.calendar);
        return rc;
}
