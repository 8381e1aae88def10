#include "metrics.h"

#include <stdlib.h>
#include <string.h>

/* From a batch of one record on an idle day (~1 ms) to a PostgreSQL or
 * Redis write retried past its timeout (write.timeout_ms, 30 s): the
 * alert on the p99 (PatuhBatchSlow, 5 s) falls between two bounds. */
static const double batch_seconds_bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                              0.05,  0.1,    0.25,  0.5,  1,
                                              2.5,   5,      10,    30,   60};

/* Up to batch.max_records' ceiling (1,000,000). */
static const double batch_records_bounds[] = {1,     10,     100,    1000,
                                              10000, 100000, 1000000};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void metrics_init(metrics_t *m, const char *version, const char *policy)
{
        memset(m, 0, sizeof(*m));
        snprintf(m->version, sizeof(m->version), "%s", version);
        snprintf(m->policy, sizeof(m->policy), "%s", policy);
        m->work_live = -1; /* single mode until told */
        m->batch_seconds.bounds = batch_seconds_bounds;
        m->batch_seconds.n_bounds = ARRAY_LEN(batch_seconds_bounds);
        m->batch_records.bounds = batch_records_bounds;
        m->batch_records.n_bounds = ARRAY_LEN(batch_records_bounds);
        for (int t = 0; t < TOPIC__COUNT; t++)
                snprintf(m->topics[t], sizeof(m->topics[t]), "%s",
                         rec_topic_name((rec_topic_t)t));
}

void metrics_free(metrics_t *m)
{
        free(m->lag);
        m->lag = NULL;
        m->n_lag = m->cap_lag = 0;
}

void metrics_hist_observe(metrics_hist_t *h, double v)
{
        size_t i = 0;
        while (i < h->n_bounds && v > h->bounds[i])
                i++;
        h->counts[i]++;
        h->sum += v;
        h->count++;
}

void metrics_batch_decision(metrics_batch_t *b, const eval_pub_t *p)
{
        metrics_status_t st = !p->active         ? METRICS_STATUS_RETRACTED
                              : p->revision <= 1 ? METRICS_STATUS_NEW
                                                 : METRICS_STATUS_AMENDED;
        if ((unsigned)p->d.kind < VK__COUNT)
                b->decisions[p->d.kind][st]++;
}

void metrics_batch_done(metrics_t *m, metrics_batch_t *b,
                        const struct timespec *now, long records)
{
        for (int r = 0; r < DLQ__COUNT; r++)
                m->dead[r] += b->dead[r];
        for (int k = 0; k < VK__COUNT; k++)
                for (int s = 0; s < METRICS_STATUS__COUNT; s++)
                        m->decisions[k][s] += b->decisions[k][s];
        double secs = (double)(now->tv_sec - b->closed.tv_sec) +
                      (double)(now->tv_nsec - b->closed.tv_nsec) / 1e9;
        metrics_hist_observe(&m->batch_seconds, secs < 0 ? 0 : secs);
        metrics_hist_observe(&m->batch_records, (double)records);
        memset(b, 0, sizeof(*b));
}

void metrics_lag_reset(metrics_t *m)
{
        m->n_lag = 0;
}

bool metrics_lag_add(metrics_t *m, rec_topic_t topic, int32_t partition,
                     int64_t lag)
{
        if (m->n_lag == m->cap_lag) {
                size_t nc = m->cap_lag ? m->cap_lag * 2 : 16;
                metrics_lag_t *nl = realloc(m->lag, nc * sizeof(*nl));
                if (!nl)
                        return false;
                m->lag = nl;
                m->cap_lag = nc;
        }
        m->lag[m->n_lag++] = (metrics_lag_t){topic, partition, lag};
        return true;
}

/* ---- the text format ---------------------------------------------------
 *
 * https://prometheus.io/docs/instrumenting/exposition_formats/: one
 * "# HELP" and one "# TYPE" line per family, then its samples; label
 * values escape \, " and newline; HELP text escapes \ and newline (ours
 * are constants without either). */

static const char *const server_names[METRICS_SERVER__COUNT] = {"postgresql",
                                                                "redis"};
static const char *const sink_names[METRICS_SINK__COUNT] = {"postgresql",
                                                            "kafka", "redis"};
static const char *const status_names[METRICS_STATUS__COUNT] = {
    "new", "amended", "retracted"};

void metrics_label_value(FILE *out, const char *s)
{
        for (; *s; s++) {
                if (*s == '\\')
                        fputs("\\\\", out);
                else if (*s == '"')
                        fputs("\\\"", out);
                else if (*s == '\n')
                        fputs("\\n", out);
                else
                        fputc(*s, out);
        }
}

static void family(FILE *out, const char *name, const char *type,
                   const char *help)
{
        fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{label="value"} N */
static void sample1(FILE *out, const char *name, const char *label,
                    const char *value, long long n)
{
        fprintf(out, "%s{%s=\"", name, label);
        metrics_label_value(out, value);
        fprintf(out, "\"} %lld\n", n);
}

/* A histogram's buckets, cumulative as the format wants, then +Inf (equal
 * to _count), _sum and _count. */
static void histogram(FILE *out, const char *name, const char *help,
                      const metrics_hist_t *h)
{
        family(out, name, "histogram", help);
        uint64_t cum = 0;
        for (size_t i = 0; i < h->n_bounds; i++) {
                cum += h->counts[i];
                fprintf(out, "%s_bucket{le=\"%g\"} %llu\n", name, h->bounds[i],
                        (unsigned long long)cum);
        }
        cum += h->counts[h->n_bounds];
        fprintf(out, "%s_bucket{le=\"+Inf\"} %llu\n", name,
                (unsigned long long)cum);
        fprintf(out, "%s_sum %.9g\n%s_count %llu\n", name, h->sum, name,
                (unsigned long long)h->count);
}

int metrics_render(const metrics_t *m, FILE *out)
{
        family(out, "patuh_build_info", "gauge",
               "patuh's version and the policy loaded (id/version); always "
               "1.");
        fputs("patuh_build_info{version=\"", out);
        metrics_label_value(out, m->version);
        fputs("\",policy=\"", out);
        metrics_label_value(out, m->policy);
        fputs("\"} 1\n", out);

        family(out, "patuh_records_total", "counter",
               "Input records consumed, per input topic.");
        for (int t = 0; t < TOPIC__COUNT; t++)
                sample1(out, "patuh_records_total", "topic", m->topics[t],
                        m->records[t]);

        family(out, "patuh_dead_letters_total", "counter",
               "Dead letters made durable, per reason.");
        for (int r = 1; r < DLQ__COUNT; r++)
                sample1(out, "patuh_dead_letters_total", "reason",
                        dlq_reason_name((dlq_reason_t)r), m->dead[r]);

        family(out, "patuh_decisions_total", "counter",
               "Violation revisions made durable, per kind and status (new: "
               "revision 1, amended, retracted).");
        for (int k = 0; k < VK__COUNT; k++)
                for (int s = 0; s < METRICS_STATUS__COUNT; s++)
                        fprintf(out,
                                "patuh_decisions_total{kind=\"%s\",status="
                                "\"%s\"} %lld\n",
                                vkind_name((vkind_t)k), status_names[s],
                                m->decisions[k][s]);

        family(out, "patuh_consumer_lag", "gauge",
               "Messages of an input partition not taken by the engine yet "
               "(the partition's end minus the engine's position).");
        for (size_t i = 0; i < m->n_lag; i++) {
                const metrics_lag_t *l = &m->lag[i];
                fputs("patuh_consumer_lag{topic=\"", out);
                metrics_label_value(out, m->topics[l->topic]);
                fprintf(out, "\",partition=\"%d\"} %lld\n", (int)l->partition,
                        (long long)l->lag);
        }

        family(out, "patuh_watermark_delay_seconds", "gauge",
               "The wall clock minus the engine's watermark.");
        if (m->has_wm_delay)
                fprintf(out, "patuh_watermark_delay_seconds %.3f\n",
                        m->wm_delay);

        family(out, "patuh_pending_decisions", "gauge",
               "Decision timers (day closes, alerts, call windows) not "
               "fired yet.");
        fprintf(out, "patuh_pending_decisions %lld\n", m->pending);

        if (m->work_live >= 0) {
                family(out, "patuh_work_partitions", "gauge",
                       "Group mode: work partitions this instance holds, "
                       "deciding for their units (live) or catching up with "
                       "their checkpoints (held).");
                fprintf(out, "patuh_work_partitions{state=\"live\"} %d\n",
                        m->work_live);
                fprintf(out, "patuh_work_partitions{state=\"held\"} %d\n",
                        m->work_held);
        }

        histogram(out, "patuh_batch_duration_seconds",
                  "Seconds from a batch's close until it is durable "
                  "(outputs, state, offsets).",
                  &m->batch_seconds);
        histogram(out, "patuh_batch_records",
                  "Input messages per batch made durable.", &m->batch_records);

        family(out, "patuh_reconnects_total", "counter",
               "Connections opened again after the first, per server.");
        for (int s = 0; s < METRICS_SERVER__COUNT; s++)
                sample1(out, "patuh_reconnects_total", "server",
                        server_names[s],
                        m->connects[s] > 1 ? m->connects[s] - 1 : 0);

        family(out, "patuh_sink_errors_total", "counter",
               "Failed writes (each retried), per sink.");
        for (int s = 0; s < METRICS_SINK__COUNT; s++)
                sample1(out, "patuh_sink_errors_total", "sink", sink_names[s],
                        m->sink_errors[s]);

        static const char *const reload_names[METRICS_RELOAD__COUNT] = {
            "applied", "refused", "failed"};
        family(out, "patuh_reloads_total", "counter",
               "SIGHUP reloads of the roster, calendar and log level, by "
               "result.");
        for (int r = 0; r < METRICS_RELOAD__COUNT; r++)
                sample1(out, "patuh_reloads_total", "result", reload_names[r],
                        m->reloads[r]);
        return ferror(out) ? -1 : 0;
}

/* ---- readiness ---------------------------------------------------------- */

/* The next free reason, or NULL when MAX are taken. */
static metrics_reason_t *slot(metrics_reason_t *out, size_t *n, size_t max,
                              const char *check)
{
        if (*n >= max)
                return NULL;
        out[*n].check = check;
        out[*n].detail[0] = '\0';
        return &out[(*n)++];
}

/* Every check from facts already known: a probe never waits on a
 * server, and a frozen server shows within write.timeout_ms (its write
 * fails then, see pgsink.h and store.h). */
size_t metrics_readiness(const metrics_ready_t *f, metrics_reason_t *out,
                         size_t max)
{
        size_t n = 0;
        metrics_reason_t *r;
        /* a standby has nothing else to check yet */
        if (f->standby) {
                if ((r = slot(out, &n, max, "standby")))
                        snprintf(r->detail, sizeof(r->detail),
                                 "another instance holds the engine lease");
                return n;
        }
        if (f->work_held > 0 && (r = slot(out, &n, max, "work"))) {
                snprintf(r->detail, sizeof(r->detail),
                         "%d work partition%s catching up with %s checkpoint",
                         f->work_held, f->work_held > 1 ? "s" : "",
                         f->work_held > 1 ? "their" : "its");
        }
        if ((f->expected <= 0 || f->assigned < f->expected) &&
            (r = slot(out, &n, max, "partitions")))
                snprintf(r->detail, sizeof(r->detail),
                         "%d of %d input partitions assigned and read",
                         f->assigned, f->expected);
        if (f->redis_failing && (r = slot(out, &n, max, "redis")))
                snprintf(r->detail, sizeof(r->detail),
                         "the last state write failed (no answer within %ld "
                         "ms, or an error); retrying",
                         f->write_timeout_ms);
        else if (!f->redis_up && (r = slot(out, &n, max, "redis")))
                snprintf(r->detail, sizeof(r->detail), "not connected");
        if (f->pg_failing && (r = slot(out, &n, max, "postgresql")))
                snprintf(r->detail, sizeof(r->detail),
                         "the last transaction failed (no answer within %ld "
                         "ms, or an error); retrying",
                         f->write_timeout_ms);
        if (f->kafka_failing && (r = slot(out, &n, max, "kafka")))
                snprintf(r->detail, sizeof(r->detail),
                         "outputs not acknowledged; retrying");
        if (f->stopping && (r = slot(out, &n, max, "stopping")))
                snprintf(r->detail, sizeof(r->detail),
                         "draining after a signal: consuming no more");
        if (f->paused_ms > f->write_timeout_ms &&
            (r = slot(out, &n, max, "consumption")))
                snprintf(r->detail, sizeof(r->detail),
                         "paused for %ld ms: the batches in hand are not "
                         "durable yet",
                         f->paused_ms);
        return n;
}
