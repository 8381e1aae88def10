#include "store.h"

#include "../consumers/envelope.h"
#include "../rules/tz.h"

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
        jw_key(w, "k");
        jw_int(w, d->kind);
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
        ok = ok && tok_int(&d, pj_get(&d, 0, "k"), &v) && v >= 0 &&
             v < VK__COUNT;
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
        rep = redisCommand(r, "GET patuh:watermark");
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
        rep = redisCommand(r, "GET patuh:outage_next");
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
