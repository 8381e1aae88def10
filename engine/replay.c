#include "replay.h"

#include "../consumers/envelope.h"
#include "../rules/calendar.h"
#include "../rules/jsonv.h"
#include "../rules/policy.h"
#include "../rules/roster.h"
#include "core.h"
#include "jw.h"
#include "output.h"
#include "report.h"
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* An output file: one buffer of lines, written out whole when full (no
 * stdio lock and no call per line). */
typedef struct outf {
        int fd;
        char *buf; /* owned, OUTF_BUF bytes */
        size_t len;
} outf_t;

#define OUTF_BUF (1 << 20)

static bool write_all(int fd, const char *s, size_t n)
{
        while (n > 0) {
                ssize_t k = write(fd, s, n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return false;
                s += k;
                n -= (size_t)k;
        }
        return true;
}

static bool outf_flush(outf_t *f)
{
        bool ok = write_all(f->fd, f->buf, f->len);
        f->len = 0;
        return ok;
}

/* The replay driver: files in, files out, the core in between. */
typedef struct replay {
        eval_ctx_t ctx;
        policy_t *policy;     /* owned */
        roster_t *roster;     /* owned */
        calendar_t *calendar; /* owned */
        core_t *core;         /* owned */
        outf_t *f_rev, *f_alert, *f_tpp, *f_dlq, *f_dgrev;
        jw_t w;      /* dead letter being written */
        bool failed; /* I/O error */
        replay_stats_t *st;
        /* PATUH_TRACE: the time of each phase on stderr */
        bool trace;
        double t_phase;  /* when the phase began */
        double t_waited; /* waiting for the reader, this phase */
} replay_t;

static double mono_s(void)
{
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* PATUH_TRACE=1: one line per phase, with its wall time. */
static void trace(replay_t *rp, const char *phase)
{
        if (!rp->trace)
                return;
        double now = mono_s();
        fprintf(stderr, "patuh replay: trace: %-16s %7.1f ms", phase,
                (now - rp->t_phase) * 1e3);
        if (rp->t_waited > 0)
                fprintf(stderr, " (%.1f ms waiting for the reader)",
                        rp->t_waited * 1e3);
        fputc('\n', stderr);
        rp->t_phase = now;
        rp->t_waited = 0;
}

static void write_line(replay_t *rp, outf_t *f, const char *s, size_t n)
{
        if (n + 1 > OUTF_BUF - f->len) {
                if (!outf_flush(f))
                        rp->failed = true;
                if (n + 1 > OUTF_BUF) { /* a line longer than the buffer */
                        if (!write_all(f->fd, s, n) ||
                            !write_all(f->fd, "\n", 1))
                                rp->failed = true;
                        return;
                }
        }
        memcpy(f->buf + f->len, s, n);
        f->buf[f->len + n] = '\n';
        f->len += n + 1;
}

/* core_sink_t.emit: each publication is one line of its file. */
static void sink_emit(void *ud, core_out_t out, const char *key,
                      const char *json, size_t len, const eval_pub_t *p)
{
        replay_t *rp = ud;
        (void)key;
        (void)p;
        outf_t *f = out == CORE_OUT_REVISION ? rp->f_rev
                    : out == CORE_OUT_TPP    ? rp->f_tpp
                    : out == CORE_OUT_DIGEST ? rp->f_dgrev
                                             : rp->f_alert;
        write_line(rp, f, json, len);
}

static void dead_letter(replay_t *rp, const char *file, long long line,
                        int topic, bool has_ts, ptime_t ts, dlq_reason_t reason,
                        const char *detail, const char *event_id,
                        const char *raw, size_t len)
{
        out_dlq_src_t src = {file, line, topic, -1, -1, has_ts, ts};
        out_dlq(&rp->w, &rp->ctx, &src, reason, detail, event_id, raw, len);
        if (rp->w.oom)
                rp->failed = true;
        else
                write_line(rp, rp->f_dlq, rp->w.buf, rp->w.len);
        jw_reset(&rp->w);
        rp->st->dead[reason]++;
}

/* One events line, decoded by the source (envelope, then value, SPEC
 * §7), then admission.  The watermark moves to the line's ts before the
 * record is applied, and the decisions it makes due fire after it: "read
 * up to T" includes the record that moved the watermark past T. */
static void handle_line(replay_t *rp, const char *file, const src_batch_t *b,
                        const src_line_t *l)
{
        char detail[256];
        const char *form = b->bytes + l->detail_off;
        size_t dn = strlen(form); /* < sizeof(detail): the source's buffer */
        if (dn >= sizeof(detail))
                dn = sizeof(detail) - 1;
        memcpy(detail, form, dn);
        detail[dn] = '\0';
        rp->st->lines++;
        dlq_reason_t reason = (dlq_reason_t)l->reason;
        if (l->env_ok && l->has_ts)
                core_set_watermark(rp->core, l->ts);
        bool duplicate = false;
        if (reason == DLQ_NONE) {
                /* a record without ts arrives at its own time */
                if (!l->has_ts)
                        core_set_watermark(rp->core, record_time(&l->rec));
                reason = core_admit_hinted(rp->core, &l->rec, &l->hint,
                                           l->has_ts, l->ts, &duplicate, detail,
                                           sizeof(detail));
        }
        if (reason != DLQ_NONE) {
                dead_letter(rp, file, l->lineno, l->topic,
                            l->has_ts && !l->malformed_env, l->ts, reason,
                            detail,
                            reason == DLQ_MALFORMED ? NULL : l->rec.event_id,
                            b->bytes + l->raw_off, l->raw_len);
        } else if (duplicate) {
                rp->st->duplicates++;
        } else {
                rp->st->accepted++;
        }
        core_fire(rp->core);
        core_flush_digests(rp->core);
}

static const char *base_name(const char *path)
{
        const char *s = strrchr(path, '/');
        return s ? s + 1 : path;
}

static bool stopped(const replay_t *rp)
{
        return rp->failed || core_failed(rp->core);
}

/* Every events file in order, as the source decodes them.  Returns 0, or
 * 2 when a file cannot be opened and 1 on a read error, as reading them
 * one after the other meets it (errstr says which).  Once the run has
 * failed no more lines are handled; a file's end is still looked at, as
 * the next file would still be opened. */
static int read_events(replay_t *rp, const char *const *paths, size_t n,
                       char *errstr, size_t errstr_size)
{
        /* the de-duplication set sized once for the input instead of
         * rehashed as it fills (a bench line is ~210 bytes) */
        size_t bytes = 0;
        for (size_t i = 0; i < n; i++) {
                struct stat sb;
                if (stat(paths[i], &sb) == 0 && S_ISREG(sb.st_mode))
                        bytes += (size_t)sb.st_size;
        }
        core_expect(rp->core, bytes / 256);
        src_t *src = src_start(paths, n, rp->roster);
        if (!src) {
                snprintf(errstr, errstr_size, "out of memory");
                return 1;
        }
        int rc = 0;
        for (;;) {
                double t0 = rp->trace ? mono_s() : 0;
                const src_batch_t *b = src_next(src);
                if (rp->trace)
                        rp->t_waited += mono_s() - t0;
                const char *file = base_name(paths[b->file]);
                for (size_t i = 0; i < b->n && !stopped(rp); i++) {
                        if (i + 4 < b->n && b->line[i + 4].reason == DLQ_NONE)
                                core_prefetch(rp->core, &b->line[i + 4].rec,
                                              &b->line[i + 4].hint);
                        handle_line(rp, file, b, &b->line[i]);
                }
                /* a read error past the line the run stopped at would not
                 * have been met; the next file would still be opened */
                if (b->file_end && b->status != 0 &&
                    (b->status == 2 || !stopped(rp))) {
                        snprintf(errstr, errstr_size, "%s", b->errstr);
                        rc = b->status;
                }
                bool last = b->last;
                src_done(src);
                if (last || rc != 0)
                        break;
        }
        src_stop(src);
        return rc;
}

/* Lines of violations.jsonl formatted on another thread: rows [from, to)
 * into one buffer, each line with its newline. */
typedef struct final_part {
        const eval_ctx_t *ctx;
        const report_row_t *rows;
        long from, to;
        jw_t line;
        jw_t text;
        bool oom;
} final_part_t;

static void *format_final(void *arg)
{
        final_part_t *fp = arg;
        for (long i = fp->from; i < fp->to; i++) {
                const report_row_t *r = &fp->rows[i];
                out_violation(&fp->line, fp->ctx, r->emp, r->day, r->p);
                if (fp->line.oom)
                        fp->oom = true;
                jw_raw(&fp->text, fp->line.buf, fp->line.len);
                jw_raw(&fp->text, "\n", 1);
                jw_reset(&fp->line);
        }
        fp->oom |= fp->text.oom;
        return NULL;
}

/* violations.jsonl: one line per violation_id with its final revision,
 * sorted by date, employee, kind and subject for people reading it.  The
 * second half of the lines is formatted on another thread meanwhile (the
 * reader is done by now); the file is the same. */
static void write_final(replay_t *rp, outf_t *f, FILE *table)
{
        report_row_t *rows;
        long n = core_final(rp->core, &rows);
        if (n < 0) {
                rp->failed = true;
                return;
        }
        final_part_t fp = {&rp->ctx, rows, n / 2, n, {0}, {0}, false};
        jw_init(&fp.line);
        jw_init(&fp.text);
        pthread_t t;
        bool threaded =
            n >= 4096 && pthread_create(&t, NULL, format_final, &fp) == 0;
        long mine = threaded ? fp.from : n;
        for (long i = 0; i < mine; i++) {
                out_violation(&rp->w, &rp->ctx, rows[i].emp, rows[i].day,
                              rows[i].p);
                if (rp->w.oom)
                        rp->failed = true;
                else
                        write_line(rp, f, rp->w.buf, rp->w.len);
                jw_reset(&rp->w);
        }
        if (threaded) {
                pthread_join(t, NULL);
                if (fp.oom)
                        rp->failed = true;
                else if (!outf_flush(f) ||
                         !write_all(f->fd, fp.text.buf, fp.text.len))
                        rp->failed = true;
        }
        jw_free(&fp.line);
        jw_free(&fp.text);
        for (long i = 0; i < n; i++) {
                rp->st->violations++;
                rp->st->active += rows[i].p->active;
        }
        if (table)
                report_print(table, &rp->ctx, rows, (size_t)n);
        free(rows);
}

/* digests.jsonl: the final digest rows (SPEC §6), by date then unit. */
static void write_digests(replay_t *rp, outf_t *f, FILE *table)
{
        digest_row_t *rows;
        long n = core_digest_rows(rp->core, &rows);
        if (n < 0) {
                rp->failed = true;
                return;
        }
        for (long i = 0; i < n; i++) {
                out_digest(&rp->w, &rp->ctx, &rows[i]);
                if (rp->w.oom)
                        rp->failed = true;
                else
                        write_line(rp, f, rp->w.buf, rp->w.len);
                jw_reset(&rp->w);
        }
        if (table)
                report_print_digest(table, &rp->ctx, rows, (size_t)n);
        core_digest_rows_free(rows, n);
}

/* mkdir -p: the output folder and its missing parents. */
static int make_dirs(const char *dir)
{
        char path[4096];
        size_t n = strlen(dir);
        if (n == 0 || n >= sizeof(path)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        memcpy(path, dir, n + 1);
        for (char *p = path + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(path, 0755) != 0 && errno != EEXIST)
                        return -1;
                *p = '/';
        }
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
                return -1;
        return 0;
}

static outf_t *open_out(const char *dir, const char *name, char *errstr,
                        size_t errstr_size)
{
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        outf_t *f = malloc(sizeof(*f));
        if (!f || !(f->buf = malloc(OUTF_BUF))) {
                free(f);
                snprintf(errstr, errstr_size, "cannot write %s: out of memory",
                         path);
                return NULL;
        }
        f->len = 0;
        /* what fopen(path, "w") does */
        f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (f->fd < 0) {
                snprintf(errstr, errstr_size, "cannot write %s: %s", path,
                         strerror(errno));
                free(f->buf);
                free(f);
                return NULL;
        }
        return f;
}

static bool close_file(outf_t *f)
{
        if (!f)
                return true;
        bool ok = outf_flush(f);
        ok &= close(f->fd) == 0;
        free(f->buf);
        free(f);
        return ok;
}

int replay_run(const replay_opts_t *o, replay_stats_t *stats, char *errstr,
               size_t errstr_size)
{
        replay_stats_t local;
        replay_t rp = {0};
        outf_t *f_viol = NULL, *f_digest = NULL;
        int rc = 2;
        rp.st = stats ? stats : &local;
        const char *tr = getenv("PATUH_TRACE");
        rp.trace = tr && *tr;
        rp.t_phase = rp.trace ? mono_s() : 0;
        memset(rp.st, 0, sizeof(*rp.st));
        jw_init(&rp.w);
        if (!(rp.policy = policy_load(o->policy, errstr, errstr_size)) ||
            !(rp.roster = roster_load(o->roster, errstr, errstr_size)) ||
            !(rp.calendar = calendar_load(o->calendar, errstr, errstr_size)))
                goto out;
        rp.ctx = (eval_ctx_t){rp.policy, rp.calendar, rp.roster};
        core_sink_t sink = {&rp, sink_emit, NULL};
        rc = 1;
        if (!(rp.core = core_new(&rp.ctx, &sink))) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        if (make_dirs(o->out_dir) != 0) {
                snprintf(errstr, errstr_size, "cannot create %s: %s",
                         o->out_dir, strerror(errno));
                rc = 2;
                goto out;
        }
        if (!(rp.f_rev = open_out(o->out_dir, "revisions.jsonl", errstr,
                                  errstr_size)) ||
            !(rp.f_alert =
                  open_out(o->out_dir, "alerts.jsonl", errstr, errstr_size)) ||
            !(rp.f_tpp =
                  open_out(o->out_dir, "tpp.jsonl", errstr, errstr_size)) ||
            !(rp.f_dlq =
                  open_out(o->out_dir, "dlq.jsonl", errstr, errstr_size)) ||
            !(f_viol = open_out(o->out_dir, "violations.jsonl", errstr,
                                errstr_size)) ||
            !(f_digest =
                  open_out(o->out_dir, "digests.jsonl", errstr, errstr_size)) ||
            !(rp.f_dgrev = open_out(o->out_dir, "digest_revisions.jsonl",
                                    errstr, errstr_size)))
                goto out;
        trace(&rp, "start");
        int r = read_events(&rp, o->events, o->n_events, errstr, errstr_size);
        if (r != 0) {
                rc = r;
                goto out;
        }
        trace(&rp, "events");
        core_finish(rp.core);
        core_flush_digests(rp.core);
        trace(&rp, "end of input");
        write_final(&rp, f_viol, o->table);
        trace(&rp, "violations.jsonl");
        write_digests(&rp, f_digest, o->table);
        trace(&rp, "digests.jsonl");
        if (rp.failed || core_failed(rp.core)) {
                snprintf(errstr, errstr_size,
                         "out of memory or write error in %s", o->out_dir);
                goto out;
        }
        rp.st->revisions = core_stats(rp.core)->revisions;
        rp.st->alerts = core_stats(rp.core)->alerts;
        rc = 0;
out:
        if (!close_file(rp.f_rev) || !close_file(rp.f_alert) ||
            !close_file(rp.f_tpp) || !close_file(rp.f_dlq) ||
            !close_file(f_viol) || !close_file(f_digest) ||
            !close_file(rp.f_dgrev)) {
                if (rc == 0)
                        snprintf(errstr, errstr_size, "write error in %s",
                                 o->out_dir);
                rc = rc == 0 ? 1 : rc;
        }
        trace(&rp, "close");
        core_free(rp.core);
        jw_free(&rp.w);
        policy_free(rp.policy);
        roster_free(rp.roster);
        calendar_free(rp.calendar);
        trace(&rp, "free");
        return rc;
}

void replay_format_summary(const replay_stats_t *st, char *buf, size_t n)
{
        long long dead = 0;
        for (size_t i = 0; i < sizeof(st->dead) / sizeof(st->dead[0]); i++)
                dead += st->dead[i];
        snprintf(buf, n,
                 "%lld records, %lld accepted, %lld duplicates, %lld "
                 "dead-lettered; %lld violations (%lld active), %lld "
                 "revisions, %lld alerts",
                 st->lines, st->accepted, st->duplicates, dead, st->violations,
                 st->active, st->revisions, st->alerts);
}
