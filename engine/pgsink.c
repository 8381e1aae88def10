#include "pgsink.h"

#include "jw.h"
#include "log.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* libpq's messages end in a newline: the daemon's log lines do not. */
static void set_err(char *buf, size_t n, const char *prefix, const char *msg)
{
        snprintf(buf, n, "%s%s", prefix, msg);
        size_t len = strlen(buf);
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
                buf[--len] = '\0';
}

struct pgsink {
        const char *conninfo;    /* borrowed: pg.conninfo */
        struct event_base *base; /* borrowed: the daemon's loop */
        long timeout_ms;         /* a write's limit for its Sync result */
        /* A session frozen in mid-batch (its process stopped) would hold
         * its transaction, and the row locks of its work partitions
         * (group mode), for as long as its socket lives: the server ends
         * such a session after the write timeout. */
        char options[96];
        pgsink_done_fn *done;     /* told how each write ended */
        void *ud;                 /* its argument */
        PGconn *pg;               /* owned: the session, or NULL */
        struct event *ev_read;    /* owned: the session's socket readable */
        struct event *ev_write;   /* owned: ... writable (flushing) */
        struct event *ev_timeout; /* owned: the write timeout */
        struct event *ev_again;   /* owned: write_again's deferred send */
        bool busy;                /* a write is waiting for its Sync */
        bool prepared;            /* the session has CHUNK_SQL prepared */
        bool connecting;          /* the write waits for a new session */
        struct event *ev_conn;    /* owned: the connecting socket */
        const batch_t *b;         /* borrowed during a write: its batch */
        const lease_t *lease;     /* ... */
        bool failed;              /* a statement of the write failed */
        bool lease_lost;          /* ... the renewal, with LEASE_LOST_HINT */
        bool duplicate;           /* ... a row already stored (23505) */
        bool careful;             /* this write skips rows already stored */
        bool sent_prepare;        /* this write prepares CHUNK_STMT */
        char err[512];            /* the first error of the write */
        long sessions;            /* sessions opened (pgsink_sessions) */
        jw_t w;                   /* owned: a statement's JSON parameter */
};

pgsink_t *pgsink_new(const char *conninfo, struct event_base *base,
                     long write_timeout_ms, pgsink_done_fn *done, void *ud)
{
        pgsink_t *ps = calloc(1, sizeof(*ps));
        if (!ps)
                return NULL;
        ps->conninfo = conninfo;
        ps->base = base;
        ps->timeout_ms = write_timeout_ms;
        snprintf(ps->options, sizeof(ps->options),
                 "-c idle_in_transaction_session_timeout=%ld",
                 write_timeout_ms);
        ps->done = done;
        ps->ud = ud;
        jw_init(&ps->w);
        return ps;
}

/* The socket's events go with the session; they are freed here, at the
 * next connect or at the end, never inside their own callback. */
static void free_events(pgsink_t *ps)
{
        if (ps->ev_read) {
                event_free(ps->ev_read);
                ps->ev_read = NULL;
        }
        if (ps->ev_write) {
                event_free(ps->ev_write);
                ps->ev_write = NULL;
        }
}

void pgsink_free(pgsink_t *ps)
{
        if (!ps)
                return;
        free_events(ps);
        if (ps->ev_conn)
                event_free(ps->ev_conn);
        if (ps->ev_timeout)
                event_free(ps->ev_timeout);
        if (ps->ev_again)
                event_free(ps->ev_again);
        if (ps->pg)
                PQfinish(ps->pg);
        jw_free(&ps->w);
        free(ps);
}

int pgsink_connect(pgsink_t *ps, char *errstr, size_t errstr_size)
{
        if (ps->pg && PQstatus(ps->pg) == CONNECTION_OK)
                return 0;
        free_events(ps);
        if (ps->pg)
                PQfinish(ps->pg);
        /* connect_timeout keeps a dead server from stalling the loop */
        const char *keys[] = {"dbname", "connect_timeout", "options", NULL};
        const char *vals[] = {ps->conninfo, "3", ps->options, NULL};
        ps->pg = PQconnectdbParams(keys, vals, 1);
        if (PQstatus(ps->pg) != CONNECTION_OK) {
                set_err(errstr, errstr_size,
                        "cannot connect: ", PQerrorMessage(ps->pg));
                return -1;
        }
        ps->prepared = false;
        ps->sessions++;
        if (PQsetnonblocking(ps->pg, 1) != 0 || !PQenterPipelineMode(ps->pg)) {
                snprintf(errstr, errstr_size, "cannot enter pipeline mode");
                PQfinish(ps->pg);
                ps->pg = NULL;
                return -1;
        }
        return 0;
}

/* The end of a write: the session is dropped unless it committed, and
 * the daemon told (last: it may start the next write). */
static void finish(pgsink_t *ps, pgsink_status_t st)
{
        event_del(ps->ev_read);
        event_del(ps->ev_write);
        evtimer_del(ps->ev_timeout);
        ps->busy = false;
        ps->careful = false; /* the next batch is written fresh again */
        if (st != PGSINK_OK) {
                /* a fresh session for the retry, whatever state this one
                 * was left in */
                PQfinish(ps->pg);
                ps->pg = NULL;
                ps->prepared = false;
        }
        ps->done(ps->ud, st, st == PGSINK_OK ? "" : ps->err);
}

static void fail(pgsink_t *ps, const char *what)
{
        if (!ps->err[0])
                set_err(ps->err, sizeof(ps->err), "", what);
        finish(ps, ps->lease_lost ? PGSINK_LEASE_LOST : PGSINK_FAILED);
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
        pgsink_t *ps = arg;
        (void)fd;
        (void)what;
        int r = PQflush(ps->pg);
        if (r < 0)
                fail(ps, PQerrorMessage(ps->pg));
        else if (r == 0)
                event_del(ps->ev_write);
}

static int send_batch(pgsink_t *ps, const batch_t *b, const lease_t *lease,
                      char *errstr, size_t errstr_size);

/* The batch again, careful this time (from the loop, not inside the
 * socket's callback: a failed send frees the socket's events). */
static void on_again(evutil_socket_t fd, short what, void *arg)
{
        pgsink_t *ps = arg;
        (void)fd;
        (void)what;
        char err[512];
        if (send_batch(ps, ps->b, ps->lease, err, sizeof(err)) != 0) {
                ps->busy = false;
                ps->careful = false;
                snprintf(ps->err, sizeof(ps->err), "%s", err);
                ps->done(ps->ud, PGSINK_FAILED, ps->err);
        }
}

/* A fresh write found a row already stored (the batch, or part of it,
 * was written before: a restart re-read it), so all of it was rolled
 * back: the same batch goes again, on the same session, with the
 * statements that skip what is there (schemas/sql/007_lean_writes.sql). */
static void write_again(pgsink_t *ps)
{
        event_del(ps->ev_read);
        event_del(ps->ev_write);
        evtimer_del(ps->ev_timeout);
        /* the statements after the failed one were not run: nor was the
         * chunk statement's Prepare, if this write sent it */
        if (ps->sent_prepare)
                ps->prepared = false;
        ps->careful = true;
        LOG_INFO("PostgreSQL: a revision of the batch is already stored: "
                 "written again, skipping what is there");
        struct timeval now = {0, 0};
        if (!ps->ev_again)
                ps->ev_again = evtimer_new(ps->base, on_again, ps);
        if (!ps->ev_again || evtimer_add(ps->ev_again, &now) != 0) {
                ps->careful = false;
                snprintf(ps->err, sizeof(ps->err), "out of memory");
                finish(ps, PGSINK_FAILED);
        }
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
        pgsink_t *ps = arg;
        (void)fd;
        (void)what;
        if (!PQconsumeInput(ps->pg)) {
                fail(ps, PQerrorMessage(ps->pg));
                return;
        }
        while (!PQisBusy(ps->pg)) {
                PGresult *r = PQgetResult(ps->pg);
                if (!r)
                        continue; /* end of one statement's results */
                ExecStatusType st = PQresultStatus(r);
                if (st == PGRES_FATAL_ERROR) {
                        const char *hint =
                            PQresultErrorField(r, PG_DIAG_MESSAGE_HINT);
                        if (hint && strcmp(hint, LEASE_LOST_HINT) == 0)
                                ps->lease_lost = true;
                        const char *state =
                            PQresultErrorField(r, PG_DIAG_SQLSTATE);
                        if (state && strcmp(state, "23505") == 0)
                                ps->duplicate = true;
                        if (!ps->err[0])
                                set_err(ps->err, sizeof(ps->err), "",
                                        PQresultErrorMessage(r));
                        ps->failed = true;
                } else if (st == PGRES_PIPELINE_ABORTED) {
                        ps->failed = true;
                }
                PQclear(r);
                if (st == PGRES_PIPELINE_SYNC) {
                        if (ps->failed && ps->duplicate && !ps->careful &&
                            !ps->lease_lost)
                                write_again(ps);
                        else if (ps->failed)
                                fail(ps, "transaction rolled back");
                        else
                                finish(ps, PGSINK_OK);
                        return;
                }
        }
}

static void conn_failed(pgsink_t *ps, const char *why);

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
        pgsink_t *ps = arg;
        (void)fd;
        (void)what;
        if (ps->connecting) {
                char why[96];
                snprintf(why, sizeof(why), "no session within %ld ms",
                         ps->timeout_ms);
                conn_failed(ps, why);
                return;
        }
        snprintf(ps->err, sizeof(ps->err),
                 "no result within %ld ms: session dropped", ps->timeout_ms);
        finish(ps, PGSINK_FAILED);
}

/* One statement's parameter: the batch's outputs of one kind (or, for
 * kind < 0, its accepted records) as a JSON array.  *any: not empty. */
static void rows_json(jw_t *w, const batch_t *b, int kind, bool *any)
{
        *any = false;
        jw_reset(w);
        jw_raw(w, "[", 1);
        for (size_t i = 0; kind < 0 && i < b->n_recs; i++) {
                if (b->recs[i].topic != TOPIC_EXCUSES)
                        continue; /* presence and calls go in chunks */
                if (*any)
                        jw_raw(w, ",", 1);
                *any = true;
                jw_raw(w, b->recs[i].env, b->recs[i].env_len);
        }
        for (size_t i = 0; kind >= 0 && i < b->n_outs; i++) {
                const out_item_t *o = &b->outs[i];
                if ((int)o->out != kind)
                        continue;
                if (*any)
                        jw_raw(w, ",", 1);
                *any = true;
                if (o->out == BATCH_OUT_TPP) {
                        char head[48];
                        int hl = snprintf(head, sizeof(head),
                                          "{\"r\":%d,\"d\":", (int)o->revision);
                        jw_raw(w, head, (size_t)hl);
                        jw_raw(w, o->json, o->len);
                        jw_raw(w, "}", 1);
                } else {
                        jw_raw(w, o->json, o->len);
                }
        }
        jw_raw(w, "]", 1);
}

/* One chunk of input_chunks (schemas/sql/005_input_chunks.sql): the
 * batch's presence and call records of one unit-day, one envelope per
 * line.  A statement per chunk (hundreds per batch, not one per record),
 * prepared once per session; parameters travel as they are, with no
 * escaping into an array or JSON document. */
#define CHUNK_STMT "patuh_chunk"
#define CHUNK_SQL                                                              \
        "INSERT INTO input_chunks (unit_id, work_date, chunk, n, records) "    \
        "VALUES ($1, $2::date, $3, $4::int, $5) ON CONFLICT DO NOTHING"

/* Queues the batch's chunks; false when a send failed or memory ran out
 * (*oom). */
static bool send_chunks(pgsink_t *ps, const batch_t *b, bool *oom)
{
        /* the records in unit-day runs (batch_close), excuses left out */
        const rec_item_t **ord = malloc((b->n_recs + 1) * sizeof(*ord));
        if (!ord) {
                *oom = true;
                return false;
        }
        size_t n = 0;
        for (size_t i = 0; i < b->n_recs; i++)
                if (b->recs[b->order[i]].topic != TOPIC_EXCUSES)
                        ord[n++] = &b->recs[b->order[i]];
        bool ok = true;
        if (n && !ps->prepared) {
                ok = PQsendPrepare(ps->pg, CHUNK_STMT, CHUNK_SQL, 5, NULL);
                ps->prepared = ps->sent_prepare = ok;
        }
        for (size_t i = 0; ok && i < n;) {
                size_t j = i;
                jw_reset(&ps->w);
                for (; j < n && ord[j]->day == ord[i]->day &&
                       ord[j]->unit_ix == ord[i]->unit_ix;
                     j++) {
                        if (j > i)
                                jw_raw(&ps->w, "\n", 1);
                        jw_raw(&ps->w, ord[j]->env, ord[j]->env_len);
                }
                if (ps->w.oom) {
                        *oom = true;
                        ok = false;
                        break;
                }
                /* a deterministic id: the same batch written again writes
                 * the same chunks; the first record's id (unique in its
                 * topic, SPEC §1), not its offset, which a recreated topic
                 * starts again.  (A re-read after a crash, cut into other
                 * batches, at worst keeps a record twice: explain shows
                 * each once.) */
                char date[11], chunk[16 + REC_ID_MAX], count[24];
                ptime_format_date(ord[i]->day, date);
                snprintf(chunk, sizeof(chunk), "%s:%s",
                         rec_topic_name(ord[i]->topic), ord[i]->record_id);
                snprintf(count, sizeof(count), "%zu", j - i);
                const char *vals[5] = {ord[i]->unit, date, chunk, count,
                                       ps->w.buf};
                ok = PQsendQueryPrepared(ps->pg, CHUNK_STMT, 5, vals, NULL,
                                         NULL, 0);
                i = j;
        }
        free(ord);
        jw_reset(&ps->w);
        return ok;
}

/* Sends the batch on the open session (pipeline mode). */
static int send_batch(pgsink_t *ps, const batch_t *b, const lease_t *lease,
                      char *errstr, size_t errstr_size)
{
        if (!ps->ev_read) {
                int fd = PQsocket(ps->pg);
                ps->ev_read =
                    event_new(ps->base, fd, EV_READ | EV_PERSIST, on_read, ps);
                ps->ev_write = event_new(ps->base, fd, EV_WRITE | EV_PERSIST,
                                         on_write, ps);
        }
        if (!ps->ev_timeout)
                ps->ev_timeout = evtimer_new(ps->base, on_timeout, ps);
        if (!ps->ev_read || !ps->ev_write || !ps->ev_timeout) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        ps->failed = ps->lease_lost = ps->duplicate = false;
        ps->sent_prepare = false;
        ps->err[0] = '\0';
        ps->b = b;
        ps->lease = lease;
        /* one statement per kind of output: the batch as a JSON array;
         * the accepted records last (the evidence behind the decisions,
         * kept for explain after Redis forgets them).  Revisions and TPP
         * rows first without ON CONFLICT (fresh: a row already stored is
         * an error, and the batch goes again careful: write_again). */
        static const char *const sql[5] = {
            "SELECT patuh_publish_revisions_fresh($1::jsonb)",
            "SELECT patuh_publish_tpps_fresh($1::jsonb)",
            "SELECT patuh_dead_letters($1::jsonb)",
            "SELECT patuh_publish_digests($1::json)",
            "SELECT patuh_input_records($1::jsonb)"};
        static const char *const careful_sql[2] = {
            "SELECT patuh_publish_revisions($1::jsonb)",
            "SELECT patuh_publish_tpps($1::jsonb)"};
        static const int kinds[5] = {BATCH_OUT_VIOLATIONS, BATCH_OUT_TPP,
                                     BATCH_OUT_DLQ, BATCH_OUT_DIGESTS, -1};
        /* first the lease: if another instance took it over, this
         * statement fails and the whole batch with it */
        const char *params[3];
        lease_renew_params(lease, params);
        bool ok = PQsendQueryParams(ps->pg, lease_renew_sql(lease), 3, NULL,
                                    params, NULL, NULL, 0);
        bool oom = false;
        for (int k = 0; ok && k < 5; k++) {
                bool any;
                rows_json(&ps->w, b, kinds[k], &any);
                if (ps->w.oom) {
                        oom = true;
                        ok = false;
                        break;
                }
                const char *json[1] = {ps->w.buf};
                const char *q = ps->careful && k < 2 ? careful_sql[k] : sql[k];
                if (any)
                        ok = PQsendQueryParams(ps->pg, q, 1, NULL, json, NULL,
                                               NULL, 0);
        }
        jw_reset(&ps->w);
        ok = ok && send_chunks(ps, b, &oom);
        ok = ok && PQpipelineSync(ps->pg);
        if (!ok) {
                set_err(errstr, errstr_size, "",
                        oom ? "out of memory" : PQerrorMessage(ps->pg));
                PQfinish(ps->pg);
                ps->pg = NULL;
                ps->prepared = false;
                free_events(ps); /* not inside their callbacks: here */
                return -1;
        }
        ps->busy = true;
        struct timeval tv = {ps->timeout_ms / 1000,
                             (ps->timeout_ms % 1000) * 1000};
        evtimer_add(ps->ev_timeout, &tv);
        event_add(ps->ev_read, NULL);
        event_add(ps->ev_write, NULL);
        return 0;
}

/* ---- a new session without blocking the loop ----------------------------
 * PQconnectStartParams + PQconnectPoll on the socket's events, bounded by
 * the write timeout; the write goes out once the session is up. */

static void conn_step(pgsink_t *ps);

static void on_conn(evutil_socket_t fd, short what, void *arg)
{
        (void)fd;
        (void)what;
        conn_step(arg);
}

/* The connection attempt failed: the write with it (from the loop). */
static void conn_failed(pgsink_t *ps, const char *why)
{
        ps->connecting = false;
        if (ps->ev_conn) {
                event_free(ps->ev_conn);
                ps->ev_conn = NULL;
        }
        set_err(ps->err, sizeof(ps->err), "cannot connect: ", why);
        evtimer_del(ps->ev_timeout);
        ps->busy = false;
        PQfinish(ps->pg);
        ps->pg = NULL;
        ps->done(ps->ud, PGSINK_FAILED, ps->err);
}

static void conn_step(pgsink_t *ps)
{
        PostgresPollingStatusType st = PQconnectPoll(ps->pg);
        if (st == PGRES_POLLING_FAILED) {
                conn_failed(ps, PQerrorMessage(ps->pg));
                return;
        }
        if (ps->ev_conn) {
                event_free(ps->ev_conn);
                ps->ev_conn = NULL;
        }
        if (st == PGRES_POLLING_OK) {
                ps->connecting = false;
                ps->sessions++;
                evtimer_del(ps->ev_timeout);
                if (PQsetnonblocking(ps->pg, 1) != 0 ||
                    !PQenterPipelineMode(ps->pg)) {
                        conn_failed(ps, "cannot enter pipeline mode");
                        return;
                }
                char err[512];
                ps->busy = false;
                if (send_batch(ps, ps->b, ps->lease, err, sizeof(err)) != 0) {
                        /* the session was dropped; say so from here */
                        snprintf(ps->err, sizeof(ps->err), "%s", err);
                        ps->done(ps->ud, PGSINK_FAILED, ps->err);
                }
                return;
        }
        /* the socket may change between attempts (several hosts) */
        short ev = st == PGRES_POLLING_READING ? EV_READ : EV_WRITE;
        ps->ev_conn = event_new(ps->base, PQsocket(ps->pg), ev, on_conn, ps);
        if (!ps->ev_conn || event_add(ps->ev_conn, NULL) != 0)
                conn_failed(ps, "out of memory");
}

int pgsink_write(pgsink_t *ps, const batch_t *b, const lease_t *lease,
                 char *errstr, size_t errstr_size)
{
        if (ps->busy) {
                snprintf(errstr, errstr_size, "a write is in flight");
                return -1;
        }
        if (!ps->ev_timeout &&
            !(ps->ev_timeout = evtimer_new(ps->base, on_timeout, ps))) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        if (ps->pg && PQstatus(ps->pg) == CONNECTION_OK)
                return send_batch(ps, b, lease, errstr, errstr_size);
        /* a new session first: asynchronously */
        free_events(ps);
        if (ps->pg)
                PQfinish(ps->pg);
        ps->prepared = false;
        const char *keys[] = {"dbname", "options", NULL};
        const char *vals[] = {ps->conninfo, ps->options, NULL};
        ps->pg = PQconnectStartParams(keys, vals, 1);
        if (!ps->pg || PQstatus(ps->pg) == CONNECTION_BAD) {
                set_err(errstr, errstr_size, "cannot connect: ",
                        ps->pg ? PQerrorMessage(ps->pg) : "out of memory");
                PQfinish(ps->pg);
                ps->pg = NULL;
                return -1;
        }
        ps->b = b;
        ps->lease = lease;
        ps->busy = ps->connecting = true;
        ps->err[0] = '\0';
        struct timeval tv = {ps->timeout_ms / 1000,
                             (ps->timeout_ms % 1000) * 1000};
        evtimer_add(ps->ev_timeout, &tv);
        /* PQconnectStart has sent nothing yet: wait until writable */
        ps->ev_conn =
            event_new(ps->base, PQsocket(ps->pg), EV_WRITE, on_conn, ps);
        if (!ps->ev_conn || event_add(ps->ev_conn, NULL) != 0) {
                evtimer_del(ps->ev_timeout);
                ps->busy = ps->connecting = false;
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        return 0;
}

long pgsink_sessions(const pgsink_t *ps)
{
        return ps->sessions;
}
