/*
 * metrics — patuhd's counters, gauges and histograms, and their
 * rendering in the Prometheus text exposition format (version 0.0.4).
 *
 * Everything is updated on the loop's thread (the daemon has no other),
 * so the counters are plain integers.  What a batch decided — its dead
 * letters and violation publications — is noted per batch
 * (metrics_batch_t) while it fills and added to the totals only once the
 * batch is durable (metrics_batch_done): then patuh_dead_letters_total
 * and patuh_decisions_total count what PostgreSQL holds, never a batch
 * that a crash or a lost lease threw away.  Records are counted as they
 * are consumed.
 *
 * The gauges the daemon reads from its adapters (consumer lag, watermark
 * delay, pending decisions, reconnects) are set by the daemon just
 * before each rendering, from state the adapters already hold: a scrape
 * costs no network round trip.
 *
 * Readiness (metrics_readiness) is judged here from facts the daemon
 * gathers (metrics_ready_t), so that the rule is in one place and tested
 * without servers.
 *
 * Ownership: a metrics_t is the caller's (inside live_t), set up by
 * metrics_init and released by metrics_free; it owns its lag table.
 * Nothing here prints.
 */
#ifndef PATUH_METRICS_H
#define PATUH_METRICS_H

#include "../consumers/record.h"
#include "../rules/eval.h"
#include "../rules/policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* The servers patuhd holds a connection to (patuh_reconnects_total's
 * "server" label). */
typedef enum metrics_server {
        METRICS_SERVER_POSTGRESQL,
        METRICS_SERVER_REDIS,
        METRICS_SERVER__COUNT
} metrics_server_t;

/* The sinks a batch is written to (patuh_sink_errors_total's "sink"). */
typedef enum metrics_sink {
        METRICS_SINK_POSTGRESQL,
        METRICS_SINK_KAFKA,
        METRICS_SINK_REDIS,
        METRICS_SINK__COUNT
} metrics_sink_t;

/* What a violation publication was (patuh_decisions_total's "status"),
 * as PostgreSQL's violation_revisions shows it: "new" is revision 1,
 * "retracted" a revision with status retracted, "amended" any other. */
typedef enum metrics_status {
        METRICS_STATUS_NEW,
        METRICS_STATUS_AMENDED,
        METRICS_STATUS_RETRACTED,
        METRICS_STATUS__COUNT
} metrics_status_t;

/* How a SIGHUP reload ended (patuh_reloads_total's "result"): applied,
 * refused (a bad file: the old ones stay), failed (a server away: tried
 * again). */
typedef enum metrics_reload {
        METRICS_RELOAD_APPLIED,
        METRICS_RELOAD_REFUSED,
        METRICS_RELOAD_FAILED,
        METRICS_RELOAD__COUNT
} metrics_reload_t;

/* The most buckets a histogram has (+Inf not counted). */
#define METRICS_MAX_BUCKETS 16

/* A histogram with fixed upper bounds: counts[i] observations <=
 * bounds[i] and > bounds[i-1] (not cumulative: the renderer adds them
 * up); counts[n_bounds] above the last bound. */
typedef struct metrics_hist {
        const double *bounds; /* static: ascending upper bounds */
        size_t n_bounds;      /* entries in bounds */
        uint64_t counts[METRICS_MAX_BUCKETS + 1]; /* per bucket, +Inf last */
        double sum;                               /* of every observation */
        uint64_t count;                           /* observations */
} metrics_hist_t;

/* One input partition's lag, as the daemon measured it for a scrape. */
typedef struct metrics_lag {
        rec_topic_t topic; /* its input topic */
        int32_t partition; /* Kafka partition */
        int64_t lag;       /* messages between what the engine has taken
                              and the partition's end */
} metrics_lag_t;

/* What one batch adds to the totals once it is durable. */
typedef struct metrics_batch {
        long long dead[DLQ__COUNT]; /* dead letters by reason */
        long long decisions[VK__COUNT][METRICS_STATUS__COUNT];
        struct timespec closed; /* CLOCK_MONOTONIC when it was closed */
} metrics_batch_t;

typedef struct metrics {
        char version[32];                /* patuh's version */
        char policy[96];                 /* the policy's label (id/version) */
        char topics[TOPIC__COUNT][256];  /* input topic names (labels) */
        long long records[TOPIC__COUNT]; /* records consumed per topic */
        long long dead[DLQ__COUNT];      /* durable dead letters */
        long long decisions[VK__COUNT][METRICS_STATUS__COUNT]; /* durable */
        long long connects[METRICS_SERVER__COUNT];  /* connections made: the
                                                       first is no reconnect */
        long long sink_errors[METRICS_SINK__COUNT]; /* failed writes */
        long long reloads[METRICS_RELOAD__COUNT];   /* SIGHUPs, by result */
        metrics_hist_t batch_seconds; /* close to durable, per batch */
        metrics_hist_t batch_records; /* input messages per batch */
        /* gauges, set before each rendering: */
        bool has_wm_delay; /* the engine has a watermark ... */
        double wm_delay;   /* ... this many seconds behind the clock */
        long long pending; /* decision timers not fired yet */
        /* group mode (docs/scale-out.md): work partitions decided for and
         * held (catching up with their checkpoints); -1: single mode */
        int work_live, work_held;
        metrics_lag_t *lag;    /* owned: per partition, this scrape's */
        size_t n_lag, cap_lag; /* used and allocated in lag */
} metrics_t;

/* Zeroes M and sets its constant labels (version, policy label). */
void metrics_init(metrics_t *m, const char *version, const char *policy);
void metrics_free(metrics_t *m);

/* The histogram's bucket of V, summed and counted. */
void metrics_hist_observe(metrics_hist_t *h, double v);

/* A violation publication of batch B (P: the revision published). */
void metrics_batch_decision(metrics_batch_t *b, const eval_pub_t *p);

/* Batch B is durable: its dead letters and decisions join the totals,
 * its duration (from B->closed to NOW) and RECORDS the histograms; B is
 * zeroed for the next fill. */
void metrics_batch_done(metrics_t *m, metrics_batch_t *b,
                        const struct timespec *now, long records);

/* Starts a new lag table for this scrape; then metrics_lag_add per
 * partition (false when out of memory: the table is then short). */
void metrics_lag_reset(metrics_t *m);
bool metrics_lag_add(metrics_t *m, rec_topic_t topic, int32_t partition,
                     int64_t lag) __attribute__((warn_unused_result));

/* Writes every family to OUT.  Returns 0, or -1 when OUT failed. */
int metrics_render(const metrics_t *m, FILE *out)
    __attribute__((warn_unused_result));

/* Appends S to OUT as the inside of a Prometheus label value (backslash,
 * double quote and newline escaped). */
void metrics_label_value(FILE *out, const char *s);

/* ---- readiness -------------------------------------------------------- */

/* What the daemon knows, without asking any server, when /readyz is
 * asked. */
typedef struct metrics_ready {
        int assigned;          /* input partitions assigned ... */
        int expected;          /* ... of the input topics' partitions */
        bool redis_up;         /* the state writer's connection is up */
        bool redis_failing;    /* Redis's last write failed, none since ok */
        bool pg_failing;       /* the same for PostgreSQL */
        bool kafka_failing;    /* ... and the Kafka outputs */
        bool standby;          /* another instance holds the engine lease */
        bool stopping;         /* draining after SIGTERM/SIGINT */
        int work_held;         /* group mode: work partitions held */
        long paused_ms;        /* consumption has had no room (the batch
                                  chain full) this long; 0: it has room */
        long write_timeout_ms; /* write.timeout_ms */
} metrics_ready_t;

/* One reason to be unready. */
typedef struct metrics_reason {
        const char *check; /* static: "partitions", "redis", ... */
        char detail[160];  /* a short sentence */
} metrics_reason_t;

/* The reasons F gives to be unready (0: ready), at most MAX of them in
 * OUT. */
size_t metrics_readiness(const metrics_ready_t *f, metrics_reason_t *out,
                         size_t max);

#endif
