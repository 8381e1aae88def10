#include "store.h"

#include "../consumers/envelope.h"
#include "../rules/tz.h"

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void store_format_utc(ptime_t t, char buf[40])
{
        int32_t day = (int32_t)ptime_floordiv(t.sec, 86400);
        int64_t sod = t.sec - (int64_t)day * 86400;
        char date[11];
        ptime_format_date(day, date);
        snprintf(buf, 40, "%sT%02d:%02d:%02d.%09dZ", date, (int)(sod / 3600),
                 (int)(sod / 60 % 60), (int)(sod % 60), (int)t.nsec);
}

void store_key_records(const char *employee_id, int32_t day, char *buf,
                       size_t n)
{
        char d[11];
        ptime_format_date(day, d);
        snprintf(buf, n, "patuh:{%s}:r:%s", employee_id, d);
}

void store_key_excuses(const char *employee_id, char *buf, size_t n)
{
        snprintf(buf, n, "patuh:{%s}:x", employee_id);
}

void store_key_ledger(const char *employee_id, int32_t day, char *buf, size_t n)
{
        char d[11];
        ptime_format_date(day, d);
        snprintf(buf, n, "patuh:{%s}:l:%s", employee_id, d);
}

int64_t store_ttl(const eval_ctx_t *ctx)
{
        return (ctx->policy->amend_horizon_days + 2) * 86400;
}

void store_envelope(jw_t *w, rec_topic_t topic, bool has_ts, ptime_t ts,
                    int32_t partition, int64_t offset, const char *value,
                    size_t len)
{
        char t[40];
        jw_obj_begin(w);
        jw_key(w, "topic");
        jw_str(w, rec_topic_name(topic));
        jw_key(w, "ts");
        if (has_ts) {
                store_format_utc(ts, t);
                jw_str(w, t);
        } else {
                jw_null(w);
        }
        jw_key(w, "p");
        jw_int(w, partition);
        jw_key(w, "o");
        jw_int(w, offset);
        /* an accepted record's bytes are a valid JSON object: stored as
         * such, not escaped into a string (a third of the size) */
        jw_key(w, "value");
        jw_json(w, value, len);
        jw_obj_end(w);
}

void store_pub(jw_t *w, const eval_ctx_t *ctx, const eval_pub_t *p)
{
        const eval_decision_t *d = &p->d;
        jw_obj_begin(w);
        /* kinds by name: a reordered enum never misreads stored state */
        jw_key(w, "k");
        jw_str(w, vkind_name(d->kind));
        jw_key(w, "s");
        jw_str(w, d->subject);
        jw_key(w, "b");
        jw_str(w, d->band ? d->band->name : NULL);
        jw_key(w, "m");
        jw_int(w, d->minutes);
        jw_key(w, "pc");
        jw_pct(w, d->pct);
        jw_key(w, "pu");
        jw_int(w, d->pct_u);
        jw_key(w, "a");
        jw_int(w, d->amount);
        jw_key(w, "c");
        jw_str(w,
               d->caller >= 0 ? ctx->roster->emp[d->caller].employee_id : NULL);
        jw_key(w, "cs");
        jw_int(w, d->call_at.sec);
        jw_key(w, "cn");
        jw_int(w, d->call_at.nsec);
        jw_key(w, "e");
        jw_arr_begin(w);
        for (size_t i = 0; i < d->n_evidence; i++)
                jw_str(w, d->evidence[i]);
        jw_arr_end(w);
        jw_key(w, "r");
        jw_int(w, p->revision);
        jw_key(w, "ac");
        jw_bool(w, p->active);
        jw_key(w, "re");
        jw_str(w, p->reason);
        jw_key(w, "t");
        jw_bool(w, p->tpp_sent);
        jw_key(w, "ds");
        jw_int(w, p->decided_at.sec);
        jw_key(w, "dn");
        jw_int(w, p->decided_at.nsec);
        jw_key(w, "v");
        jw_str(w, p->violation_id);
        jw_obj_end(w);
}

static bool tok_int(const pj_doc_t *d, int t, int64_t *out)
{
        if (t < 0 || d->tok[t].type != PJ_NUMBER || d->tok[t].len > 20)
                return false;
        char buf[24];
        memcpy(buf, d->text + d->tok[t].start, d->tok[t].len);
        buf[d->tok[t].len] = '\0';
        char *end;
        long long v = strtoll(buf, &end, 10);
        if (*end)
                return false;
        *out = v;
        return true;
}

static bool tok_num(const pj_doc_t *d, int t, double *out)
{
        if (t < 0 || d->tok[t].type != PJ_NUMBER || d->tok[t].len > 40)
                return false;
        char buf[48];
        memcpy(buf, d->text + d->tok[t].start, d->tok[t].len);
        buf[d->tok[t].len] = '\0';
        char *end;
        *out = strtod(buf, &end);
        return *end == '\0';
}

/* The reason strings are static: map a stored one back to them. */
static const char *reason_of(const char *s)
{
        static const char *const reasons[] = {"excused", "superseded",
                                              "late_data"};
        for (size_t i = 0; i < 3; i++)
                if (strcmp(s, reasons[i]) == 0)
                        return reasons[i];
        return "late_data";
}

bool store_pub_parse(const eval_ctx_t *ctx, const char *s, size_t n,
                     eval_pub_t *out)
{
        pj_tok_t tok[128], *heap;
        pj_doc_t d;
        if (!pj_parse_any(&d, s, n, tok, 128, &heap))
                return false;
        memset(out, 0, sizeof(*out));
        eval_decision_t *x = &out->d;
        int64_t v = -1;
        bool ok = d.tok[0].type == PJ_OBJECT;
        char buf[EVAL_ID_MAX];
        int k = pj_get(&d, 0, "k");
        if (ok && k >= 0 && d.tok[k].type == PJ_STRING &&
            pj_string(&d, k, buf, sizeof(buf)) >= 0)
                v = vkind_from_name(buf);
        else if (ok) /* state written before kinds were stored by name */
                ok = tok_int(&d, k, &v);
        ok = ok && v >= 0 && v < VK__COUNT;
        x->kind = (vkind_t)v;
        ok = ok && pj_string(&d, pj_get(&d, 0, "s"), x->subject,
                             sizeof(x->subject)) >= 0;
        int b = pj_get(&d, 0, "b");
        if (ok && b >= 0 && d.tok[b].type == PJ_STRING &&
            pj_string(&d, b, buf, sizeof(buf)) >= 0) {
                const policy_t *p = ctx->policy;
                const policy_band_t *bands =
                    x->kind == VK_LATE_CLOCK_IN ? p->late : p->early;
                size_t nb =
                    x->kind == VK_LATE_CLOCK_IN ? p->n_late : p->n_early;
                for (size_t i = 0; i < nb; i++)
                        if (strcmp(bands[i].name, buf) == 0)
                                x->band = &bands[i];
        }
        ok = ok && tok_int(&d, pj_get(&d, 0, "m"), &x->minutes) &&
             tok_num(&d, pj_get(&d, 0, "pc"), &x->pct) &&
             tok_int(&d, pj_get(&d, 0, "pu"), &x->pct_u) &&
             tok_int(&d, pj_get(&d, 0, "a"), &x->amount);
        int c = pj_get(&d, 0, "c");
        x->caller = -1;
        if (ok && c >= 0 && d.tok[c].type == PJ_STRING &&
            pj_string(&d, c, buf, sizeof(buf)) >= 0)
                x->caller = roster_find(ctx->roster, buf, strlen(buf));
        int64_t cn = 0, dn = 0, rev = 0;
        ok = ok && tok_int(&d, pj_get(&d, 0, "cs"), &x->call_at.sec) &&
             tok_int(&d, pj_get(&d, 0, "cn"), &cn) &&
             tok_int(&d, pj_get(&d, 0, "r"), &rev) &&
             tok_int(&d, pj_get(&d, 0, "ds"), &out->decided_at.sec) &&
             tok_int(&d, pj_get(&d, 0, "dn"), &dn);
        x->call_at.nsec = (int32_t)cn;
        out->decided_at.nsec = (int32_t)dn;
        out->revision = (int32_t)rev;
        int e = pj_get(&d, 0, "e");
        if (ok && e >= 0 && d.tok[e].type == PJ_ARRAY) {
                uint32_t i = (uint32_t)e + 1;
                for (uint32_t m = 0; m < d.tok[e].count; m++) {
                        if (x->n_evidence < EVAL_MAX_EVIDENCE &&
                            pj_string(&d, (int)i, x->evidence[x->n_evidence],
                                      EVAL_ID_MAX) >= 0)
                                x->n_evidence++;
                        i = d.tok[i].end;
                }
        }
        int ac = pj_get(&d, 0, "ac"), t = pj_get(&d, 0, "t");
        out->active = ac >= 0 && d.tok[ac].type == PJ_TRUE;
        out->tpp_sent = t >= 0 && d.tok[t].type == PJ_TRUE;
        int re = pj_get(&d, 0, "re");
        if (!out->active && re >= 0 && d.tok[re].type == PJ_STRING &&
            pj_string(&d, re, buf, sizeof(buf)) >= 0)
                out->reason = reason_of(buf);
        else if (!out->active)
                out->reason = "late_data";
        int vid = pj_get(&d, 0, "v");
        if (ok && vid >= 0)
                ok = pj_string(&d, vid, out->violation_id,
                               sizeof(out->violation_id)) >= 0;
        free(heap);
        return ok;
}

/* ---- restore ------------------------------------------------------------ */

typedef struct stored {
        int topic;
        int32_t partition;
        int64_t offset;
        char *text; /* owned envelope JSON */
        size_t len;
} stored_t;

static int stored_cmp(const void *a, const void *b)
{
        const stored_t *x = a, *y = b;
        if (x->topic != y->topic)
                return x->topic < y->topic ? -1 : 1;
        if (x->partition != y->partition)
                return x->partition < y->partition ? -1 : 1;
        return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Splits "patuh:{E}:l:YYYY-MM-DD" into employee row and day. */
static bool parse_key(const eval_ctx_t *ctx, const char *key, char kind,
                      int32_t *emp, int32_t *day)
{
        const char *open = strchr(key, '{'), *close = strchr(key, '}');
        if (!open || !close || close < open || strlen(close) != 14 ||
            close[1] != ':' || close[2] != kind || close[3] != ':')
                return false;
        *emp = roster_find(ctx->roster, open + 1, (size_t)(close - open - 1));
        return *emp >= 0 && ptime_parse_date(close + 4, 10, day);
}

int store_fence(const char *host, int port, int db, long long epoch,
                char *errstr, size_t errstr_size)
{
        struct timeval tv = {5, 0};
        redisContext *r = redisConnectWithTimeout(host, port, tv);
        if (!r || r->err) {
                snprintf(errstr, errstr_size, "redis %s:%d: %s", host, port,
                         r ? r->errstr : "cannot connect");
                redisFree(r);
                return -1;
        }
        redisSetTimeout(r, tv);
        /* raise the epoch, never lower it: a newer holder is never undone */
        redisReply *rep = redisCommand(r, "SELECT %d", db);
        if (rep && rep->type != REDIS_REPLY_ERROR) {
                freeReplyObject(rep);
                rep = redisCommand(
                    r, "EVAL %s 0 %lld",
                    "local cur = tonumber(redis.call('GET', '" STORE_KEY_EPOCH
                    "') or '0') "
                    "if cur > tonumber(ARGV[1]) then "
                    "return redis.error_reply('patuh: fenced by epoch ' .. "
                    "cur) end "
                    "redis.call('SET', '" STORE_KEY_EPOCH "', ARGV[1]) "
                    "return 1",
                    epoch);
        }
        int rc = 0;
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
                snprintf(errstr, errstr_size, "redis: %s",
                         rep ? rep->str : r->errstr);
                rc = -1;
        }
        freeReplyObject(rep);
        redisFree(r);
        return rc;
}

long store_restore(core_t *core, const eval_ctx_t *ctx, const char *host,
                   int port, int db, char *errstr, size_t errstr_size)
{
        struct timeval tv = {5, 0};
        redisContext *r = redisConnectWithTimeout(host, port, tv);
        if (!r || r->err) {
                snprintf(errstr, errstr_size, "redis %s:%d: %s", host, port,
                         r ? r->errstr : "cannot connect");
                redisFree(r);
                return -1;
        }
        redisReply *rep = redisCommand(r, "SELECT %d", db);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
                snprintf(errstr, errstr_size, "redis SELECT %d failed", db);
                freeReplyObject(rep);
                redisFree(r);
                return -1;
        }
        freeReplyObject(rep);
        /* 0. the watermark the engine had reached: evaluating with an
         * earlier one would retract decisions already due */
        ptime_t wm = PTIME_NEVER;
        rep = redisCommand(r, "GET " STORE_KEY_WATERMARK);
        if (rep && rep->type == REDIS_REPLY_STRING) {
                /* "seconds.nanoseconds" */
                char *end;
                long long sec = strtoll(rep->str, &end, 10);
                long nsec = 0;
                if (*end == '.')
                        nsec = strtol(end + 1, &end, 10);
                if (*end == '\0' && nsec >= 0 && nsec < 1000000000)
                        wm = (ptime_t){sec, (int32_t)nsec};
        }
        freeReplyObject(rep);
        core_restore_begin(core, wm);
        rep = redisCommand(r, "GET " STORE_KEY_OUTAGE);
        if (rep && rep->type == REDIS_REPLY_STRING) {
                char *end;
                long v = strtol(rep->str, &end, 10);
                if (*end == '\0' && v >= INT32_MIN && v <= INT32_MAX)
                        core_set_outage_cursor(core, (int32_t)v);
        }
        freeReplyObject(rep);
        /* 1. every key of ours */
        char **keys = NULL;
        size_t nkeys = 0, capk = 0;
        char cursor[32] = "0";
        do {
                rep = redisCommand(r, "SCAN %s MATCH patuh:{* COUNT 1000",
                                   cursor);
                if (!rep || rep->type != REDIS_REPLY_ARRAY ||
                    rep->elements != 2) {
                        snprintf(errstr, errstr_size, "redis SCAN failed");
                        freeReplyObject(rep);
                        goto fail;
                }
                snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
                redisReply *arr = rep->element[1];
                for (size_t i = 0; i < arr->elements; i++) {
                        if (nkeys == capk) {
                                capk = capk ? capk * 2 : 1024;
                                char **nk = realloc(keys, capk * sizeof(*nk));
                                if (!nk) {
                                        freeReplyObject(rep);
                                        goto oom;
                                }
                                keys = nk;
                        }
                        keys[nkeys++] = strdup(arr->element[i]->str);
                }
                freeReplyObject(rep);
        } while (strcmp(cursor, "0") != 0);
        /* 2. ledgers first, so that admitting the records again finds
         * nothing new to publish */
        for (size_t i = 0; i < nkeys; i++) {
                int32_t emp, day;
                if (parse_key(ctx, keys[i], 'l', &emp, &day))
                        redisAppendCommand(r, "HGETALL %s", keys[i]);
        }
        for (size_t i = 0; i < nkeys; i++) {
                int32_t emp, day;
                if (!parse_key(ctx, keys[i], 'l', &emp, &day))
                        continue;
                if (redisGetReply(r, (void **)&rep) != REDIS_OK || !rep) {
                        snprintf(errstr, errstr_size, "redis HGETALL failed");
                        goto fail;
                }
                for (size_t k = 0; k + 1 < rep->elements; k += 2) {
                        const redisReply *f = rep->element[k],
                                         *v = rep->element[k + 1];
                        eval_pub_t p;
                        if (strcmp(f->str, "!alerted") == 0)
                                core_restore_alerted(core, emp, day);
                        else if (store_pub_parse(ctx, v->str, v->len, &p))
                                core_restore_pub(core, emp, day, &p);
                }
                freeReplyObject(rep);
        }
        /* 3. the accepted records */
        stored_t *recs = NULL;
        size_t nrec = 0, capr = 0;
        for (size_t i = 0; i < nkeys; i++)
                if (strstr(keys[i], "}:r:") || strstr(keys[i], "}:x"))
                        redisAppendCommand(r, "LRANGE %s 0 -1", keys[i]);
        for (size_t i = 0; i < nkeys; i++) {
                if (!strstr(keys[i], "}:r:") && !strstr(keys[i], "}:x"))
                        continue;
                if (redisGetReply(r, (void **)&rep) != REDIS_OK || !rep) {
                        snprintf(errstr, errstr_size, "redis LRANGE failed");
                        free(recs);
                        goto fail;
                }
                for (size_t k = 0; k < rep->elements; k++) {
                        if (nrec == capr) {
                                capr = capr ? capr * 2 : 4096;
                                stored_t *nr =
                                    realloc(recs, capr * sizeof(*nr));
                                if (!nr) {
                                        freeReplyObject(rep);
                                        free(recs);
                                        goto oom;
                                }
                                recs = nr;
                        }
                        const redisReply *e = rep->element[k];
                        stored_t *s = &recs[nrec];
                        pj_tok_t tok[16], *heap;
                        pj_doc_t d;
                        int64_t p = 0, o = 0;
                        char topic[16];
                        if (!pj_parse_any(&d, e->str, e->len, tok, 16, &heap))
                                continue;
                        int tt = pj_get(&d, 0, "topic");
                        bool ok =
                            tt >= 0 &&
                            pj_string(&d, tt, topic, sizeof(topic)) >= 0 &&
                            tok_int(&d, pj_get(&d, 0, "p"), &p) &&
                            tok_int(&d, pj_get(&d, 0, "o"), &o);
                        free(heap);
                        if (!ok)
                                continue;
                        s->topic = rec_topic_from_name(topic);
                        s->partition = (int32_t)p;
                        s->offset = o;
                        s->text = malloc(e->len + 1);
                        if (!s->text)
                                continue;
                        memcpy(s->text, e->str, e->len + 1);
                        s->len = e->len;
                        nrec++;
                }
                freeReplyObject(rep);
        }
        if (nrec)
                qsort(recs, nrec, sizeof(*recs), stored_cmp);
        for (size_t i = 0; i < nrec; i++) {
                envelope_t env;
                record_t rec;
                char detail[256];
                bool dup;
                if (envelope_parse(&env, recs[i].text, recs[i].len, detail,
                                   sizeof(detail)) == DLQ_NONE &&
                    envelope_record(&env, &rec, detail, sizeof(detail)) ==
                        DLQ_NONE)
                        (void)core_admit(core, &rec, env.has_ts, env.ts, &dup,
                                         detail, sizeof(detail));
                envelope_free(&env);
                free(recs[i].text);
        }
        free(recs);
        for (size_t i = 0; i < nkeys; i++)
                free(keys[i]);
        free(keys);
        redisFree(r);
        core_restore_end(core);
        return (long)nrec;
oom:
        snprintf(errstr, errstr_size, "out of memory");
fail:
        for (size_t i = 0; i < nkeys; i++)
                free(keys[i]);
        free(keys);
        redisFree(r);
        core_restore_end(core);
        return -1;
}

/* ---- the writer ---------------------------------------------------------- */

struct store_writer {
        struct event_base *base;    /* borrowed: the daemon's loop */
        const char *host;           /* borrowed */
        int port, db;               /* where, and which database */
        int64_t ttl;                /* store_ttl, seconds */
        long timeout_ms;            /* a write's limit for its reply */
        store_writer_done_fn *done; /* told how each write ended */
        store_writer_conn_fn *conn; /* told of the connection */
        void *ud;                   /* their argument */
        redisAsyncContext *ac;      /* hiredis's (it frees it on a
                                       disconnect), or NULL */
        bool up;                    /* ac is connected */
        bool pending;               /* a write waits for its reply */
        struct event *ev_timeout;   /* owned: the write timeout */
};

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
    "if ARGV[2] ~= '' then redis.call('SET', '" STORE_KEY_WATERMARK
    "', ARGV[2]) end\n"
    "redis.call('SET', '" STORE_KEY_OUTAGE "', ARGV[3])\n"
    "return 1\n";

static void on_timeout(evutil_socket_t fd, short what, void *arg);

store_writer_t *store_writer_new(struct event_base *base, const char *host,
                                 int port, int db, int64_t ttl,
                                 long write_timeout_ms,
                                 store_writer_done_fn *done,
                                 store_writer_conn_fn *conn, void *ud)
{
        store_writer_t *sw = calloc(1, sizeof(*sw));
        if (!sw)
                return NULL;
        sw->base = base;
        sw->host = host;
        sw->port = port;
        sw->db = db;
        sw->ttl = ttl;
        sw->timeout_ms = write_timeout_ms;
        sw->done = done;
        sw->conn = conn;
        sw->ud = ud;
        sw->ev_timeout = evtimer_new(base, on_timeout, sw);
        if (!sw->ev_timeout) {
                free(sw);
                return NULL;
        }
        return sw;
}

/* Lets go of the connection: hiredis calls back with NULL replies and
 * then the disconnect, which a NULL data makes no-ops. */
static void drop(store_writer_t *sw)
{
        redisAsyncContext *ac = sw->ac;
        sw->ac = NULL;
        sw->up = false;
        if (ac) {
                ac->data = NULL;
                redisAsyncFree(ac);
        }
}

void store_writer_free(store_writer_t *sw)
{
        if (!sw)
                return;
        drop(sw);
        event_free(sw->ev_timeout);
        free(sw);
}

/* A write ended: the daemon is told last (it may write again). */
static void write_done(store_writer_t *sw, store_write_status_t st,
                       const char *err)
{
        sw->pending = false;
        evtimer_del(sw->ev_timeout);
        sw->done(sw->ud, st, err);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
        store_writer_t *sw = arg;
        (void)fd;
        (void)what;
        if (!sw->pending)
                return;
        /* a frozen server: the connection is dropped, a new one made by
         * the next write */
        drop(sw);
        char err[96];
        snprintf(err, sizeof(err), "no reply within %ld ms: connection dropped",
                 sw->timeout_ms);
        write_done(sw, STORE_WRITE_FAILED, err);
}

static void on_reply(redisAsyncContext *ac, void *reply, void *priv)
{
        store_writer_t *sw = ac->data;
        redisReply *r = reply;
        (void)priv;
        if (!sw || !sw->pending)
                return;
        if (!r) {
                write_done(sw, STORE_WRITE_FAILED, "no reply");
                return;
        }
        if (r->type == REDIS_REPLY_ERROR) {
                char err[512];
                snprintf(err, sizeof(err), "%s", r->str);
                write_done(sw,
                           strncmp(r->str, "patuh: fenced", 13) == 0
                               ? STORE_WRITE_FENCED
                               : STORE_WRITE_FAILED,
                           err);
                return;
        }
        write_done(sw, STORE_WRITE_OK, "");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
        store_writer_t *sw = ac->data;
        if (!sw)
                return;
        if (status != REDIS_OK) {
                char err[256];
                snprintf(err, sizeof(err), "cannot connect: %s", ac->errstr);
                sw->ac = NULL; /* hiredis frees the context */
                sw->conn(sw->ud, false, err);
                return;
        }
        sw->up = true;
        sw->conn(sw->ud, true, "");
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
        store_writer_t *sw = ac->data;
        (void)status;
        if (!sw)
                return;
        sw->ac = NULL; /* hiredis frees the context */
        sw->up = false;
        if (sw->pending)
                write_done(sw, STORE_WRITE_FAILED, "connection lost");
}

void store_writer_connect(store_writer_t *sw)
{
        if (sw->ac)
                return;
        redisAsyncContext *ac = redisAsyncConnect(sw->host, sw->port);
        if (!ac || ac->err) {
                char err[256];
                snprintf(err, sizeof(err), "%s", ac ? ac->errstr : "no memory");
                if (ac)
                        redisAsyncFree(ac);
                sw->conn(sw->ud, false, err);
                return;
        }
        sw->ac = ac;
        ac->data = sw;
        redisLibeventAttach(ac, sw->base);
        redisAsyncSetConnectCallback(ac, on_connect);
        redisAsyncSetDisconnectCallback(ac, on_disconnect);
        char db[16];
        snprintf(db, sizeof(db), "%d", sw->db);
        const char *argv[2] = {"SELECT", db};
        redisAsyncCommandArgv(ac, NULL, NULL, 2, argv, NULL);
}

bool store_writer_attached(const store_writer_t *sw)
{
        return sw->ac != NULL;
}

bool store_writer_nothing(const batch_t *b)
{
        return !b->n_recs && !b->n_leds && !b->has_wm;
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

int store_writer_write(store_writer_t *sw, batch_t *b, long long epoch,
                       char *errstr, size_t errstr_size)
{
        if (sw->pending) {
                snprintf(errstr, errstr_size, "a write is in flight");
                return -1;
        }
        if (!sw->ac || !sw->up) {
                store_writer_connect(sw);
                snprintf(errstr, errstr_size, "not connected");
                return -1;
        }
        if (b->n_recs)
                qsort(b->recs, b->n_recs, sizeof(*b->recs), rec_cmp);
        /* EVAL script 0 ttl wm outage nkeys {key count values...} nled
         * {key count fields-and-values...} epoch */
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
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
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
        NUM(sw->ttl);
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
        NUM(epoch);
#undef ARG
#undef NUM
        sw->pending = true;
        int rc = 0;
        if (redisAsyncCommandArgv(sw->ac, on_reply, NULL, (int)a, argv, lens) !=
            REDIS_OK) {
                sw->pending = false;
                snprintf(errstr, errstr_size, "write failed");
                rc = -1;
        } else {
                struct timeval tv = {sw->timeout_ms / 1000,
                                     (sw->timeout_ms % 1000) * 1000};
                evtimer_add(sw->ev_timeout, &tv);
        }
        free(argv);
        free(lens);
        free(num);
        return rc;
}
