#include "store.h"

#include "../consumers/envelope.h"
#include "../rules/tz.h"

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void store_format_utc(ptime_t t, char buf[40])
{
        ptime_format_datetime(t.sec, buf);
        buf[19] = '.';
        int32_t ns = t.nsec;
        for (int i = 28; i >= 20; i--, ns /= 10)
                buf[i] = (char)('0' + ns % 10);
        buf[29] = 'Z';
        buf[30] = '\0';
}

/* "patuh:{" UNIT "}:" TAIL into buf (cut to n), by hand: once per
 * accepted record. */
static void key3(char *buf, size_t n, const char *unit, const char *tail,
                 const char *date)
{
        size_t ul = strlen(unit), tl = strlen(tail), dl = date ? 10 : 0;
        if (7 + ul + 2 + tl + dl + 1 > n) {
                snprintf(buf, n, "patuh:{%s}:%s%s", unit, tail,
                         date ? date : "");
                return;
        }
        memcpy(buf, "patuh:{", 7);
        memcpy(buf + 7, unit, ul);
        memcpy(buf + 7 + ul, "}:", 2);
        memcpy(buf + 9 + ul, tail, tl);
        if (dl) /* memcpy from NULL is undefined even for 0 bytes */
                memcpy(buf + 9 + ul + tl, date, dl);
        buf[9 + ul + tl + dl] = '\0';
}

void store_key_records(const char *unit_id, int32_t day, char *buf, size_t n)
{
        char d[11];
        ptime_format_date(day, d);
        key3(buf, n, unit_id, "r:", d);
}

void store_key_excuses(const char *unit_id, char *buf, size_t n)
{
        key3(buf, n, unit_id, "x", NULL);
}

void store_key_days(const char *unit_id, char *buf, size_t n)
{
        snprintf(buf, n, "patuh:{%s}:days", unit_id);
}

void store_key_ledger(const char *unit_id, int32_t day, char *buf, size_t n)
{
        char d[11];
        ptime_format_date(day, d);
        snprintf(buf, n, "patuh:{%s}:l:%s", unit_id, d);
}

size_t store_ledger_field(const char *employee_id, const eval_pub_t *p,
                          char *buf, size_t n)
{
        int l = p ? snprintf(buf, n, "%s|%s|%s", employee_id,
                             vkind_name(p->d.kind), p->d.subject)
                  : snprintf(buf, n, "%s|!alerted", employee_id);
        return l < 0 ? 0 : (size_t)l < n ? (size_t)l : n - 1;
}

/* ---- frames -------------------------------------------------------------- */

enum {
        FR_TAG = 0xA0,       /* | topic */
        FR_HAS_TS = 1,       /* an arrival time follows */
        FR_CLOCK_OUT = 2,    /* presence: clock_out, else clock_in */
        FR_WFH = 4,          /* presence: mode wfh */
        FR_REVOKED = 8,      /* excuse: revoked */
        FR_HAS_POS = 0x40,   /* the input partition and offset follow */
        FR_OUTCOME_SHIFT = 4 /* calls: call_outcome_t in bits 4-5 */
};

static void put_uv(jw_t *w, uint64_t v)
{
        char b[10];
        size_t n = 0;
        do {
                b[n++] = (char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
                v >>= 7;
        } while (v);
        jw_raw(w, b, n);
}

static void put_sv(jw_t *w, int64_t v)
{
        put_uv(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void put_str(jw_t *w, const char *s)
{
        size_t n = strlen(s);
        unsigned char l = (unsigned char)(n < 255 ? n : 255);
        jw_raw(w, (const char *)&l, 1);
        jw_raw(w, s, l);
}

/* A time relative to the arrival (or to 0 without one): small numbers. */
static void put_time(jw_t *w, ptime_t t, int64_t base)
{
        put_sv(w, t.sec - base);
        put_uv(w, (uint64_t)t.nsec);
}

void store_frame(jw_t *w, const record_t *rec, bool has_ts, ptime_t ts)
{
        store_frame_at(w, rec, has_ts, ts, -1, -1);
}

void store_frame_at(jw_t *w, const record_t *rec, bool has_ts, ptime_t ts,
                    int32_t partition, int64_t offset)
{
        bool at = partition >= 0 && offset >= 0;
        unsigned char head[2] = {
            (unsigned char)(FR_TAG | rec->topic),
            (unsigned char)((has_ts ? FR_HAS_TS : 0) | (at ? FR_HAS_POS : 0))};
        int64_t base = has_ts ? ts.sec : 0;
        switch (rec->topic) {
        case TOPIC_PRESENCE:
                head[1] |= (rec->u.presence.clock_out ? FR_CLOCK_OUT : 0) |
                           (rec->u.presence.wfh ? FR_WFH : 0);
                break;
        case TOPIC_CALLS:
                head[1] |=
                    (unsigned char)(rec->u.call.outcome << FR_OUTCOME_SHIFT);
                break;
        case TOPIC_EXCUSES:
                head[1] |= rec->u.excuse.revoked ? FR_REVOKED : 0;
                break;
        default:
                break;
        }
        jw_raw(w, (const char *)head, 2);
        if (at) {
                put_uv(w, (uint64_t)partition);
                put_uv(w, (uint64_t)offset);
        }
        if (has_ts) {
                put_sv(w, ts.sec);
                put_uv(w, (uint64_t)ts.nsec);
        }
        put_str(w, rec->event_id);
        switch (rec->topic) {
        case TOPIC_PRESENCE:
                put_str(w, rec->u.presence.employee_id);
                put_time(w, rec->u.presence.at, base);
                break;
        case TOPIC_CALLS:
                put_str(w, rec->u.call.call_id);
                put_str(w, rec->u.call.caller_id);
                put_str(w, rec->u.call.callee_id);
                put_time(w, rec->u.call.at, base);
                break;
        case TOPIC_EXCUSES:
                put_str(w, rec->u.excuse.excuse_id);
                put_str(w, rec->u.excuse.employee_id);
                put_str(w, rec->u.excuse.kind);
                put_sv(w, rec->u.excuse.from);
                put_sv(w, (int64_t)rec->u.excuse.to - rec->u.excuse.from);
                put_time(w, rec->u.excuse.updated_at, base);
                break;
        default:
                break;
        }
}

typedef struct rd {
        const unsigned char *p, *end;
        bool ok;
} rd_t;

static uint64_t get_uv(rd_t *r)
{
        uint64_t v = 0;
        for (int shift = 0; r->ok && shift < 64; shift += 7) {
                if (r->p >= r->end) {
                        r->ok = false;
                        break;
                }
                unsigned char c = *r->p++;
                v |= (uint64_t)(c & 0x7f) << shift;
                if (!(c & 0x80))
                        return v;
        }
        r->ok = false;
        return 0;
}

static int64_t get_sv(rd_t *r)
{
        uint64_t u = get_uv(r);
        return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* An identifier (1..64 bytes) or, with max REC_KIND_MAX, the kind. */
static void get_str(rd_t *r, char *out, size_t max)
{
        if (!r->ok || r->p >= r->end) {
                r->ok = false;
                return;
        }
        size_t n = *r->p++;
        if (n >= max || (size_t)(r->end - r->p) < n) {
                r->ok = false;
                return;
        }
        memcpy(out, r->p, n);
        out[n] = '\0';
        r->p += n;
}

static ptime_t get_time(rd_t *r, int64_t base)
{
        int64_t d = get_sv(r);
        uint64_t ns = get_uv(r);
        if (ns >= 1000000000u)
                r->ok = false;
        return (ptime_t){base + d, (int32_t)(r->ok ? ns : 0)};
}

bool store_frame_next(const char *buf, size_t len, size_t *pos, record_t *rec,
                      bool *has_ts, ptime_t *ts)
{
        int32_t partition;
        int64_t offset;
        return store_frame_next_at(buf, len, pos, rec, has_ts, ts, &partition,
                                   &offset);
}

bool store_frame_next_at(const char *buf, size_t len, size_t *pos,
                         record_t *rec, bool *has_ts, ptime_t *ts,
                         int32_t *partition, int64_t *offset)
{
        rd_t r = {(const unsigned char *)buf + *pos,
                  (const unsigned char *)buf + len, *pos + 2 <= len};
        if (!r.ok)
                return false;
        unsigned char tag = r.p[0], fl = r.p[1];
        r.p += 2;
        if ((tag & 0xf0) != FR_TAG || (tag & 0x0f) >= TOPIC__COUNT)
                return false;
        memset(rec, 0, sizeof(*rec));
        rec->topic = (rec_topic_t)(tag & 0x0f);
        *has_ts = fl & FR_HAS_TS;
        *ts = PTIME_NEVER;
        *partition = -1;
        *offset = -1;
        if (fl & FR_HAS_POS) {
                uint64_t p = get_uv(&r), o = get_uv(&r);
                r.ok = r.ok && p <= INT32_MAX && o <= INT64_MAX;
                *partition = (int32_t)p;
                *offset = (int64_t)o;
        }
        int64_t base = 0;
        if (*has_ts) {
                ts->sec = get_sv(&r);
                uint64_t ns = get_uv(&r);
                r.ok = r.ok && ns < 1000000000u;
                ts->nsec = (int32_t)(r.ok ? ns : 0);
                base = ts->sec;
        }
        get_str(&r, rec->event_id, REC_ID_MAX);
        switch (rec->topic) {
        case TOPIC_PRESENCE:
                rec->u.presence.clock_out = fl & FR_CLOCK_OUT;
                rec->u.presence.wfh = fl & FR_WFH;
                get_str(&r, rec->u.presence.employee_id, REC_ID_MAX);
                rec->u.presence.at = get_time(&r, base);
                break;
        case TOPIC_CALLS: {
                unsigned o = (fl >> FR_OUTCOME_SHIFT) & 3;
                r.ok = r.ok && o <= CALL_DECLINED;
                rec->u.call.outcome = (call_outcome_t)o;
                get_str(&r, rec->u.call.call_id, REC_ID_MAX);
                get_str(&r, rec->u.call.caller_id, REC_ID_MAX);
                get_str(&r, rec->u.call.callee_id, REC_ID_MAX);
                rec->u.call.at = get_time(&r, base);
                break;
        }
        case TOPIC_EXCUSES: {
                rec_excuse_t *x = &rec->u.excuse;
                x->revoked = fl & FR_REVOKED;
                get_str(&r, x->excuse_id, REC_ID_MAX);
                get_str(&r, x->employee_id, REC_ID_MAX);
                get_str(&r, x->kind, REC_KIND_MAX);
                int64_t from = get_sv(&r), span = get_sv(&r);
                r.ok = r.ok && from >= INT32_MIN && from <= INT32_MAX &&
                       span >= 0 && from + span <= INT32_MAX;
                x->from = (int32_t)from;
                x->to = (int32_t)(from + span);
                x->updated_at = get_time(&r, base);
                break;
        }
        default:
                r.ok = false;
        }
        if (!r.ok)
                return false;
        *pos = (size_t)(r.p - (const unsigned char *)buf);
        return true;
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
                     eval_pub_t *out, store_pub_ids_t *ids)
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
        ok = ok && pj_string(&d, pj_get(&d, 0, "s"), ids->s[0],
                             sizeof(ids->s[0])) >= 0;
        x->subject = ids->s[0];
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
                        char *id = x->n_evidence < EVAL_MAX_EVIDENCE
                                       ? ids->s[1 + x->n_evidence]
                                       : NULL;
                        if (id && pj_string(&d, (int)i, id, EVAL_ID_MAX) >= 0)
                                x->evidence[x->n_evidence++] = id;
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

static int str_cmp(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The distinct unit ids of the roster, sorted (borrowed strings). */
static const char **roster_units(const roster_t *ro, size_t *n)
{
        const char **u = malloc((ro->n ? ro->n : 1) * sizeof(*u));
        if (!u)
                return NULL;
        for (size_t i = 0; i < ro->n; i++)
                u[i] = ro->emp[i].unit_id;
        qsort(u, ro->n, sizeof(*u), str_cmp);
        size_t k = 0;
        for (size_t i = 0; i < ro->n; i++)
                if (k == 0 || strcmp(u[k - 1], u[i]) != 0)
                        u[k++] = u[i];
        *n = k;
        return u;
}

/* A blocking session on database DB, 5 s per reply (start-up only);
 * NULL with errstr set. */
static redisContext *connect_blocking(const char *host, int port, int db,
                                      char *errstr, size_t errstr_size)
{
        struct timeval tv = {5, 0};
        redisContext *r = redisConnectWithTimeout(host, port, tv);
        if (!r || r->err) {
                snprintf(errstr, errstr_size, "redis %s:%d: %s", host, port,
                         r ? r->errstr : "cannot connect");
                redisFree(r);
                return NULL;
        }
        redisSetTimeout(r, tv);
        redisReply *rep = redisCommand(r, "SELECT %d", db);
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
                snprintf(errstr, errstr_size, "redis SELECT %d failed: %s", db,
                         rep ? rep->str : r->errstr);
                freeReplyObject(rep);
                redisFree(r);
                return NULL;
        }
        freeReplyObject(rep);
        return r;
}

int store_fence(const char *host, int port, int db, long long epoch,
                char *errstr, size_t errstr_size)
{
        redisContext *r = connect_blocking(host, port, db, errstr, errstr_size);
        if (!r)
                return -1;
        /* raise the epoch, never lower it: a newer holder is never undone */
        redisReply *rep = redisCommand(
            r, "EVAL %s 0 %lld",
            "local cur = tonumber(redis.call('GET', '" STORE_KEY_EPOCH
            "') or '0') "
            "if cur > tonumber(ARGV[1]) then "
            "return redis.error_reply('patuh: fenced by epoch ' .. "
            "cur) end "
            "redis.call('SET', '" STORE_KEY_EPOCH "', ARGV[1]) "
            "return 1",
            epoch);
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

static redisReply *reply(redisContext *r, const char *what, char *errstr,
                         size_t errstr_size);

/* ---- scale-out: work partitions' checkpoints and epochs ---------------- */

/* One blocking command; 0, or -1 with errstr set (an error reply too). */
static int command_argv(redisContext *r, size_t argc, const char **argv,
                        const size_t *lens, char *errstr, size_t errstr_size)
{
        redisReply *rep = redisCommandArgv(r, (int)argc, argv, lens);
        int rc = 0;
        if (!rep || rep->type == REDIS_REPLY_ERROR) {
                snprintf(errstr, errstr_size, "redis: %s",
                         rep ? rep->str : r->errstr);
                rc = -1;
        }
        freeReplyObject(rep);
        return rc;
}

static void key_work(char *buf, size_t n, int32_t w, const char *tail)
{
        snprintf(buf, n, "patuh:{w%d}:%s", (int)w, tail);
}

void store_ckpt_format(jw_t *w, bool has_wm, ptime_t wm, int32_t outage,
                       const store_pos_t *pos, size_t n)
{
        char buf[64];
        int k = has_wm ? snprintf(buf, sizeof(buf), "%lld.%09d",
                                  (long long)wm.sec, (int)wm.nsec)
                       : snprintf(buf, sizeof(buf), "-");
        jw_raw(w, buf, (size_t)k);
        k = outage == INT32_MIN
                ? snprintf(buf, sizeof(buf), " -")
                : snprintf(buf, sizeof(buf), " %d", (int)outage);
        jw_raw(w, buf, (size_t)k);
        for (size_t i = 0; i < n; i++) {
                k = snprintf(buf, sizeof(buf), " %d:%d:%lld", pos[i].topic,
                             (int)pos[i].partition, (long long)pos[i].offset);
                jw_raw(w, buf, (size_t)k);
        }
}

int64_t store_ckpt_offset(const store_ckpt_t *c, int topic, int32_t partition)
{
        for (size_t i = 0; c->found && i < c->n; i++)
                if (c->pos[i].topic == topic &&
                    c->pos[i].partition == partition)
                        return c->pos[i].offset;
        return -2; /* RD_KAFKA_OFFSET_BEGINNING */
}

/* A decimal integer of s[*i..len) up to the next separator in SEPS. */
static bool ckpt_int(const char *s, size_t len, size_t *i, const char *seps,
                     long long *out)
{
        size_t j = *i;
        bool neg = j < len && s[j] == '-';
        if (neg)
                j++;
        long long v = 0;
        size_t start = j;
        while (j < len && s[j] >= '0' && s[j] <= '9') {
                if (v > (LLONG_MAX - 9) / 10)
                        return false;
                v = v * 10 + (s[j++] - '0');
        }
        if (j == start || (j < len && !strchr(seps, s[j])))
                return false;
        *out = neg ? -v : v;
        *i = j;
        return true;
}

/* A string reply that is a whole decimal integer. */
static bool reply_int(const redisReply *rep, long long *out)
{
        size_t i = 0;
        return rep->len > 0 && ckpt_int(rep->str, rep->len, &i, "", out) &&
               i == rep->len;
}

bool store_ckpt_parse(const char *s, size_t len, store_ckpt_t *out)
{
        memset(out, 0, sizeof(*out));
        out->outage = INT32_MIN;
        size_t i = 0;
        long long v;
        if (len >= 2 && s[0] == '-' && s[1] == ' ') {
                i++; /* no watermark */
        } else {
                long long ns;
                size_t at;
                if (!ckpt_int(s, len, &i, ".", &v) || i >= len ||
                    s[i++] != '.' ||
                    (at = i, !ckpt_int(s, len, &i, " ", &ns)) || i - at != 9 ||
                    ns < 0)
                        return false; /* nanoseconds: nine digits */
                out->has_wm = true;
                out->wm = (ptime_t){v, (int32_t)ns};
        }
        if (i >= len || s[i++] != ' ')
                return false;
        if (i < len && s[i] == '-' && (i + 1 == len || s[i + 1] == ' ')) {
                i++;
        } else {
                if (!ckpt_int(s, len, &i, " ", &v) || v < INT32_MIN ||
                    v > INT32_MAX)
                        return false;
                out->outage = (int32_t)v;
        }
        size_t cap = 0;
        while (i < len) {
                long long t, p, o;
                if (s[i++] != ' ' || !ckpt_int(s, len, &i, ":", &t) ||
                    i >= len || s[i++] != ':' ||
                    !ckpt_int(s, len, &i, ":", &p) || i >= len ||
                    s[i++] != ':' || !ckpt_int(s, len, &i, " ", &o) || t < 0 ||
                    t >= TOPIC__COUNT || p < 0 || p > INT32_MAX || o < -2)
                        goto bad;
                if (out->n == cap) {
                        cap = cap ? cap * 2 : 64;
                        store_pos_t *nx = realloc(out->pos, cap * sizeof(*nx));
                        if (!nx)
                                goto bad;
                        out->pos = nx;
                }
                out->pos[out->n++] = (store_pos_t){(int)t, (int32_t)p, o};
        }
        out->found = true;
        return true;
bad:
        free(out->pos);
        out->pos = NULL;
        out->n = 0;
        return false;
}

int store_read_ckpts(const char *host, int port, int db, int w_count,
                     store_ckpt_t *out, char *errstr, size_t errstr_size)
{
        for (int w = 0; w < w_count; w++) {
                memset(&out[w], 0, sizeof(out[w]));
                out[w].outage = INT32_MIN;
        }
        redisContext *r = connect_blocking(host, port, db, errstr, errstr_size);
        if (!r)
                return -1;
        char key[64];
        redisAppendCommand(r, "GET " STORE_KEY_WORK_PARTITIONS);
        redisAppendCommand(r, "EXISTS " STORE_KEY_WATERMARK);
        for (int w = 0; w < w_count; w++) {
                key_work(key, sizeof(key), w, "pos");
                redisAppendCommand(r, "GET %s", key);
                key_work(key, sizeof(key), w, "epoch");
                redisAppendCommand(r, "GET %s", key);
        }
        int rc = 0;
        long long stored;
        redisReply *rep = reply(r, "GET", errstr, errstr_size);
        if (!rep)
                rc = -1;
        else if (rep->type == REDIS_REPLY_STRING &&
                 (!reply_int(rep, &stored) || stored != w_count)) {
                snprintf(errstr, errstr_size,
                         "the state in Redis was shared over %s work "
                         "partitions, the work topic has %d: "
                         "docs/scale-out.md, \"Setting it up\" (changing W)",
                         rep->str, w_count);
                rc = -1;
        }
        freeReplyObject(rep);
        /* single mode's state: its ledgers were decided at a watermark
         * no checkpoint holds (docs/scale-out.md, "From single mode") */
        redisReply *single = reply(r, "EXISTS", errstr, errstr_size);
        bool from_single = single && single->type == REDIS_REPLY_INTEGER &&
                           single->integer == 1;
        if (!single)
                rc = -1;
        freeReplyObject(single);
        for (int w = 0; rc == 0 && w < w_count; w++) {
                redisReply *pr = reply(r, "GET", errstr, errstr_size);
                redisReply *er =
                    pr ? reply(r, "GET", errstr, errstr_size) : NULL;
                if (!er) {
                        freeReplyObject(pr);
                        rc = -1;
                        break;
                }
                if (pr->type == REDIS_REPLY_STRING &&
                    !store_ckpt_parse(pr->str, pr->len, &out[w])) {
                        snprintf(errstr, errstr_size,
                                 "patuh:{w%d}:pos: not a checkpoint", w);
                        rc = -1;
                }
                out[w].epoch =
                    er->type == REDIS_REPLY_STRING && reply_int(er, &stored)
                        ? stored
                        : 0;
                freeReplyObject(pr);
                freeReplyObject(er);
        }
        redisFree(r);
        bool any = false;
        for (int w = 0; w < w_count; w++)
                any |= out[w].found;
        if (rc == 0 && from_single && !any) {
                snprintf(errstr, errstr_size,
                         "Redis database %d holds the state of a patuhd in "
                         "single mode (" STORE_KEY_WATERMARK ")",
                         db);
                rc = 1; /* store_from_single converts it */
        }
        if (rc != 0)
                for (int w = 0; w < w_count; w++) {
                        free(out[w].pos);
                        out[w].pos = NULL;
                }
        return rc;
}

int store_from_single(const char *host, int port, int db, int w_count,
                      const store_pos_t *pos, size_t n, char *errstr,
                      size_t errstr_size)
{
        redisContext *r = connect_blocking(host, port, db, errstr, errstr_size);
        if (!r)
                return -1;
        /* the engine's watermark and outage cursor, with the offsets it
         * had committed: where single mode would restart from */
        static const char script[] =
            "local wm = redis.call('GET', '" STORE_KEY_WATERMARK "')\n"
            "if not wm then return redis.error_reply('patuh: no "
            "single-mode watermark') end\n"
            "local out = redis.call('GET', '" STORE_KEY_OUTAGE "') or '-'\n"
            "local wm9 = wm\n"
            "local dot = string.find(wm, '.', 1, true)\n"
            "if not dot then wm9 = wm .. '.000000000' end\n"
            "local v = wm9 .. ' ' .. out .. ARGV[1]\n"
            "local n = 0\n"
            "for i = 1, #KEYS do\n"
            "  if redis.call('SET', KEYS[i], v, 'NX') then n = n + 1 end\n"
            "end\n"
            "return n\n";
        jw_t w;
        jw_init(&w);
        char buf[64];
        for (size_t i = 0; i < n; i++) {
                int k =
                    snprintf(buf, sizeof(buf), " %d:%d:%lld", pos[i].topic,
                             (int)pos[i].partition, (long long)pos[i].offset);
                jw_raw(&w, buf, (size_t)k);
        }
        size_t argc = 5 + (size_t)w_count;
        const char **argv = malloc(argc * sizeof(*argv));
        size_t *lens = malloc(argc * sizeof(*lens));
        char(*keys)[64] = malloc(((size_t)w_count + 1) * sizeof(*keys));
        int rc = -1;
        if (!argv || !lens || !keys || w.oom) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        size_t a = 0;
        char nk[24];
        snprintf(nk, sizeof(nk), "%d", w_count);
        argv[a] = "EVAL";
        lens[a++] = 4;
        argv[a] = script;
        lens[a++] = sizeof(script) - 1;
        argv[a] = nk;
        lens[a++] = strlen(nk);
        for (int k = 0; k < w_count; k++) {
                key_work(keys[k], sizeof(keys[k]), k, "pos");
                argv[a] = keys[k];
                lens[a++] = strlen(keys[k]);
        }
        argv[a] = w.buf ? w.buf : "";
        lens[a++] = w.len;
        rc = command_argv(r, a, argv, lens, errstr, errstr_size);
out:
        free(argv);
        free(lens);
        free(keys);
        jw_free(&w);
        redisFree(r);
        return rc;
}

int store_fence_work(const char *host, int port, int db, int w_count,
                     const int32_t *ws, const long long *epochs, size_t n,
                     char *errstr, size_t errstr_size)
{
        redisContext *r = connect_blocking(host, port, db, errstr, errstr_size);
        if (!r)
                return -1;
        /* KEYS: the epoch keys; ARGV: W, then each one's epoch.  Every
         * check first, so that a refusal raises none of them. */
        static const char script[] =
            "local nw = redis.call('GET', '" STORE_KEY_WORK_PARTITIONS "')\n"
            "if nw and nw ~= ARGV[1] then\n"
            "  return redis.error_reply('patuh: state shared over ' .. nw .. "
            "' work partitions')\n"
            "end\n"
            "for i = 1, #KEYS do\n"
            "  local cur = tonumber(redis.call('GET', KEYS[i]) or '0')\n"
            "  if cur > tonumber(ARGV[i + 1]) then\n"
            "    return redis.error_reply('patuh: ' .. KEYS[i] .. ' fenced by "
            "epoch ' .. cur)\n"
            "  end\n"
            "end\n"
            "redis.call('SET', '" STORE_KEY_WORK_PARTITIONS "', ARGV[1])\n"
            "for i = 1, #KEYS do redis.call('SET', KEYS[i], ARGV[i + 1]) end\n"
            "return 1\n";
        size_t argc = 4 + 2 * n;
        const char **argv = malloc(argc * sizeof(*argv));
        size_t *lens = malloc(argc * sizeof(*lens));
        char(*txt)[64] = malloc((2 * n + 2) * sizeof(*txt));
        int rc = -1;
        if (!argv || !lens || !txt) {
                snprintf(errstr, errstr_size, "out of memory");
                goto out;
        }
        size_t a = 0, t = 0;
        argv[a] = "EVAL";
        lens[a++] = 4;
        argv[a] = script;
        lens[a++] = sizeof(script) - 1;
        snprintf(txt[t], sizeof(txt[t]), "%zu", n);
        argv[a] = txt[t];
        lens[a++] = strlen(txt[t++]);
        for (size_t i = 0; i < n; i++) {
                key_work(txt[t], sizeof(txt[t]), ws[i], "epoch");
                argv[a] = txt[t];
                lens[a++] = strlen(txt[t++]);
        }
        snprintf(txt[t], sizeof(txt[t]), "%d", w_count);
        argv[a] = txt[t];
        lens[a++] = strlen(txt[t++]);
        for (size_t i = 0; i < n; i++) {
                snprintf(txt[t], sizeof(txt[t]), "%lld", epochs[i]);
                argv[a] = txt[t];
                lens[a++] = strlen(txt[t++]);
        }
        rc = command_argv(r, a, argv, lens, errstr, errstr_size);
out:
        free(argv);
        free(lens);
        free(txt);
        redisFree(r);
        return rc;
}

/* One reply of a pipelined restore; NULL with errstr set when missing. */
static redisReply *reply(redisContext *r, const char *what, char *errstr,
                         size_t errstr_size)
{
        redisReply *rep = NULL;
        if (redisGetReply(r, (void **)&rep) != REDIS_OK || !rep ||
            rep->type == REDIS_REPLY_ERROR) {
                snprintf(errstr, errstr_size, "redis %s failed: %s", what,
                         rep ? rep->str : r->errstr);
                freeReplyObject(rep);
                return NULL;
        }
        return rep;
}

/* Admits every frame of one stored string again; -1 when unreadable. */
static long admit_frames(core_t *core, const char *key, const redisReply *v,
                         const store_scope_t *scope, char *errstr,
                         size_t errstr_size)
{
        if (v->type != REDIS_REPLY_STRING)
                return 0; /* expired since the days were listed */
        long n = 0;
        for (size_t pos = 0; pos < v->len;) {
                record_t rec;
                bool has_ts, dup;
                ptime_t ts;
                char detail[256];
                int32_t partition;
                int64_t offset;
                if (!store_frame_next_at(v->str, v->len, &pos, &rec, &has_ts,
                                         &ts, &partition, &offset)) {
                        snprintf(errstr, errstr_size,
                                 "%s: unreadable frame at byte %zu", key, pos);
                        return -1;
                }
                /* a scale-out restore: a record at or after the input
                 * position read again from comes again from Kafka */
                if (scope && partition >= 0 &&
                    !scope->fact(scope->ud, rec.topic, partition, offset))
                        continue;
                (void)core_admit(core, &rec, has_ts, ts, &dup, detail,
                                 sizeof(detail));
                n++;
        }
        return n;
}

/* The ledger entries of one unit-day hash into the core. */
static void restore_ledger(core_t *core, const eval_ctx_t *ctx, int32_t day,
                           const redisReply *rep)
{
        for (size_t k = 0; k + 1 < rep->elements; k += 2) {
                const redisReply *f = rep->element[k], *v = rep->element[k + 1];
                const char *bar = memchr(f->str, '|', f->len);
                if (!bar)
                        continue;
                int32_t emp =
                    roster_find(ctx->roster, f->str, (size_t)(bar - f->str));
                if (emp < 0)
                        continue; /* left the roster: nothing to decide */
                eval_pub_t p;
                store_pub_ids_t ids;
                if (strcmp(bar + 1, "!alerted") == 0)
                        core_restore_alerted(core, emp, day);
                else if (store_pub_parse(ctx, v->str, v->len, &p, &ids))
                        core_restore_pub(core, emp, day, &p);
        }
}

static long restore(core_t *core, const eval_ctx_t *ctx, const char *host,
                    int port, int db, const store_scope_t *scope, char *errstr,
                    size_t errstr_size);

long store_restore(core_t *core, const eval_ctx_t *ctx, const char *host,
                   int port, int db, char *errstr, size_t errstr_size)
{
        return restore(core, ctx, host, port, db, NULL, errstr, errstr_size);
}

long store_restore_scoped(core_t *core, const eval_ctx_t *ctx, const char *host,
                          int port, int db, const store_scope_t *scope,
                          char *errstr, size_t errstr_size)
{
        return restore(core, ctx, host, port, db, scope, errstr, errstr_size);
}

static long restore(core_t *core, const eval_ctx_t *ctx, const char *host,
                    int port, int db, const store_scope_t *scope, char *errstr,
                    size_t errstr_size)
{
        redisContext *r = connect_blocking(host, port, db, errstr, errstr_size);
        if (!r)
                return -1;
        size_t nu = 0;
        const char **units = roster_units(ctx->roster, &nu);
        int32_t *days = NULL; /* per unit: the days to read */
        size_t *ndays = NULL; /* per unit: how many */
        long total = 0;
        redisReply *rep;
        if (!units)
                goto oom;
        /* 0. the watermark the engine had reached: evaluating with an
         * earlier one would retract decisions already due; and the layout
         * it was written in */
        redisAppendCommand(r, "GET " STORE_KEY_WATERMARK);
        redisAppendCommand(r, "GET " STORE_KEY_OUTAGE);
        redisAppendCommand(r, "GET " STORE_KEY_LAYOUT);
        redisAppendCommand(r, "EXISTS " STORE_KEY_WORK_PARTITIONS);
        redisReply *wm_r = reply(r, "GET", errstr, errstr_size);
        redisReply *out_r = wm_r ? reply(r, "GET", errstr, errstr_size) : NULL;
        redisReply *lay_r = out_r ? reply(r, "GET", errstr, errstr_size) : NULL;
        redisReply *grp_r =
            lay_r ? reply(r, "EXISTS", errstr, errstr_size) : NULL;
        if (!grp_r) {
                freeReplyObject(wm_r);
                freeReplyObject(out_r);
                freeReplyObject(lay_r);
                goto fail;
        }
        /* group mode's state has no engine watermark: its ledgers were
         * decided at the work partitions' (docs/scale-out.md) */
        bool from_group =
            !scope && grp_r->type == REDIS_REPLY_INTEGER && grp_r->integer == 1;
        freeReplyObject(grp_r);
        ptime_t wm = PTIME_NEVER;
        if (wm_r->type == REDIS_REPLY_STRING) {
                /* "seconds.nanoseconds" */
                char *end;
                long long sec = strtoll(wm_r->str, &end, 10);
                long nsec = 0;
                if (*end == '.')
                        nsec = strtol(end + 1, &end, 10);
                if (*end == '\0' && nsec >= 0 && nsec < 1000000000)
                        wm = (ptime_t){sec, (int32_t)nsec};
        }
        bool old_layout = wm_r->type == REDIS_REPLY_STRING &&
                          (lay_r->type != REDIS_REPLY_STRING ||
                           strcmp(lay_r->str, STORE_LAYOUT) != 0);
        long outage = LONG_MIN;
        if (out_r->type == REDIS_REPLY_STRING) {
                char *end;
                long v = strtol(out_r->str, &end, 10);
                if (*end == '\0' && v >= INT32_MIN && v <= INT32_MAX)
                        outage = v;
        }
        freeReplyObject(wm_r);
        freeReplyObject(out_r);
        freeReplyObject(lay_r);
        if (old_layout) {
                snprintf(errstr, errstr_size,
                         "Redis database %d holds patuh state in another "
                         "layout than " STORE_LAYOUT " (" STORE_KEY_LAYOUT
                         "): see docs/architecture.md, \"Redis layout\"",
                         db);
                goto fail;
        }
        if (from_group) {
                snprintf(errstr, errstr_size,
                         "Redis database %d holds the state of patuhd in "
                         "group mode (" STORE_KEY_WORK_PARTITIONS
                         "): start with scale.mode = group, or see "
                         "docs/scale-out.md, \"From single mode\"",
                         db);
                goto fail;
        }
        if (scope) {
                /* the work partitions' checkpoints say where time stood */
                wm = scope->has_wm ? scope->wm : PTIME_NEVER;
                outage = scope->outage == INT32_MIN ? LONG_MIN : scope->outage;
        }
        core_restore_begin(core, wm);
        if (outage != LONG_MIN)
                core_set_outage_cursor(core, (int32_t)outage);
        /* 1. each unit's days */
        char key[200];
        for (size_t u = 0; u < nu; u++) {
                store_key_days(units[u], key, sizeof(key));
                redisAppendCommand(r, "SMEMBERS %s", key);
        }
        ndays = calloc(nu ? nu : 1, sizeof(*ndays));
        size_t capd = 0, nd = 0;
        size_t *first = calloc(nu ? nu : 1, sizeof(*first));
        if (!ndays || !first) {
                free(first);
                goto oom;
        }
        for (size_t u = 0; u < nu; u++) {
                if (!(rep = reply(r, "SMEMBERS", errstr, errstr_size))) {
                        free(first);
                        goto fail;
                }
                first[u] = nd;
                for (size_t k = 0; k < rep->elements; k++) {
                        int32_t d;
                        const redisReply *m = rep->element[k];
                        if (m->type != REDIS_REPLY_STRING ||
                            !ptime_parse_date(m->str, m->len, &d))
                                continue;
                        if (nd == capd) {
                                capd = capd ? capd * 2 : 1024;
                                int32_t *nx = realloc(days, capd * sizeof(*nx));
                                if (!nx) {
                                        freeReplyObject(rep);
                                        free(first);
                                        goto oom;
                                }
                                days = nx;
                        }
                        days[nd++] = d;
                }
                ndays[u] = nd - first[u];
                freeReplyObject(rep);
        }
        /* 2. ledgers first, so that admitting the records again finds
         * nothing new to publish */
        for (size_t u = 0; u < nu; u++)
                for (size_t k = 0; k < ndays[u]; k++) {
                        if (scope && !scope->ledger(scope->ud, units[u]))
                                break; /* another instance decides for it */
                        store_key_ledger(units[u], days[first[u] + k], key,
                                         sizeof(key));
                        redisAppendCommand(r, "HGETALL %s", key);
                }
        for (size_t u = 0; u < nu; u++)
                for (size_t k = 0; k < ndays[u]; k++) {
                        if (scope && !scope->ledger(scope->ud, units[u]))
                                break;
                        if (!(rep = reply(r, "HGETALL", errstr, errstr_size))) {
                                free(first);
                                goto fail;
                        }
                        restore_ledger(core, ctx, days[first[u] + k], rep);
                        freeReplyObject(rep);
                }
        /* 3. the records: each unit's excuses, then its days */
        for (size_t u = 0; u < nu; u++) {
                store_key_excuses(units[u], key, sizeof(key));
                redisAppendCommand(r, "GET %s", key);
                for (size_t k = 0; k < ndays[u]; k++) {
                        store_key_records(units[u], days[first[u] + k], key,
                                          sizeof(key));
                        redisAppendCommand(r, "GET %s", key);
                }
        }
        for (size_t u = 0; u < nu; u++)
                for (size_t k = 0; k <= ndays[u]; k++) {
                        if (k == 0)
                                store_key_excuses(units[u], key, sizeof(key));
                        else
                                store_key_records(units[u],
                                                  days[first[u] + k - 1], key,
                                                  sizeof(key));
                        if (!(rep = reply(r, "GET", errstr, errstr_size))) {
                                free(first);
                                goto fail;
                        }
                        long n = admit_frames(core, key, rep, scope, errstr,
                                              errstr_size);
                        freeReplyObject(rep);
                        if (n < 0) {
                                free(first);
                                goto fail;
                        }
                        total += n;
                }
        free(first);
        free(days);
        free(ndays);
        free(units);
        redisFree(r);
        core_restore_end(core);
        return total;
oom:
        snprintf(errstr, errstr_size, "out of memory");
fail:
        free(days);
        free(ndays);
        free(units);
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
        jw_t frames;                /* owned: a write's frames, grouped */
};

/*
 * State, written by one server-side script per batch: the accepted records
 * (one APPEND of the batch's frames per unit-day, the unit's set of days,
 * the TTL renewed by each write), the ledger entries of the employee-days
 * the batch touched as they stood when it closed, and the watermark.  A
 * script runs atomically, so records and ledgers never disagree, and one
 * command replaces thousands of queued ones.  Keys travel as arguments: a
 * Redis Cluster would need the batch split by slot (the unit hash tag
 * keeps a unit's keys in one).
 *
 * ARGV: ttl wm outage ckpt nw {poskey epochkey epoch}... nrec
 *       {key dayskey date frames}... nled
 *       {key dayskey date count fields-and-values...}... epoch
 * (group mode: wm and outage "", the lease epoch -1, the checkpoint
 * written for each work partition decided for; otherwise nw 0)
 */
static const char redis_script[] =
    /* the last argument is the lease epoch (-1 in group mode): a stale
     * instance is refused */
    "local ep = tonumber(ARGV[#ARGV])\n"
    "if ep >= 0 then\n"
    "  local cur = tonumber(redis.call('GET', '" STORE_KEY_EPOCH "') or '0')\n"
    "  if cur > ep then\n"
    "    return redis.error_reply('patuh: fenced by epoch ' .. cur)\n"
    "  end\n"
    "end\n"
    /* group mode: each work partition's owner epoch, all checked before
     * anything is written */
    "local nw = tonumber(ARGV[5])\n"
    "local i = 6\n"
    "for k = 1, nw do\n"
    "  local cur = tonumber(redis.call('GET', ARGV[i + 1]) or '0')\n"
    "  if cur > tonumber(ARGV[i + 2]) then\n"
    "    return redis.error_reply('patuh: fenced by epoch ' .. cur .. "
    "' of ' .. ARGV[i + 1])\n"
    "  end\n"
    "  i = i + 3\n"
    "end\n"
    "i = 6\n"
    "for k = 1, nw do\n"
    "  if ARGV[i] ~= '' then redis.call('SET', ARGV[i], ARGV[4]) end\n"
    "  i = i + 3\n"
    "end\n"
    "local ttl = ARGV[1]\n"
    "local nr = tonumber(ARGV[i])\n"
    "i = i + 1\n"
    "for k = 1, nr do\n"
    "  redis.call('APPEND', ARGV[i], ARGV[i + 3])\n"
    "  redis.call('EXPIRE', ARGV[i], ttl)\n"
    "  if ARGV[i + 1] ~= '' then\n"
    "    redis.call('SADD', ARGV[i + 1], ARGV[i + 2])\n"
    "    redis.call('EXPIRE', ARGV[i + 1], ttl)\n"
    "  end\n"
    "  i = i + 4\n"
    "end\n"
    "local nl = tonumber(ARGV[i])\n"
    "i = i + 1\n"
    /* unpack() is capped near 8,000 values: HSET in chunks */
    "for k = 1, nl do\n"
    "  local key, c = ARGV[i], tonumber(ARGV[i + 3])\n"
    /* an absent employee's unit may have no records that day: its days
     * list the ledger's day as well */
    "  redis.call('SADD', ARGV[i + 1], ARGV[i + 2])\n"
    "  redis.call('EXPIRE', ARGV[i + 1], ttl)\n"
    "  i = i + 4\n"
    "  for s = i, i + c - 1, 1000 do\n"
    "    redis.call('HSET', key, unpack(ARGV, s, math.min(s + 999, i + c - "
    "1)))\n"
    "  end\n"
    "  redis.call('EXPIRE', key, ttl)\n"
    "  i = i + c\n"
    "end\n"
    "if ARGV[2] ~= '' then redis.call('SET', '" STORE_KEY_WATERMARK
    "', ARGV[2]) end\n"
    "if ARGV[3] ~= '' then redis.call('SET', '" STORE_KEY_OUTAGE
    "', ARGV[3]) end\n"
    "redis.call('SET', '" STORE_KEY_LAYOUT "', '" STORE_LAYOUT "')\n"
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
        jw_init(&sw->frames);
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
        jw_free(&sw->frames);
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
        return !b->n_recs && !b->n_leds && !b->has_wm && !b->ckpt;
}

/* The days key of UNIT and DAY's date (""/"" for an excuse, DAY
 * INT32_MIN: excuses are not listed by day). */
static void days_of(const char *unit, int32_t day, char days[180],
                    char date[11])
{
        days[0] = date[0] = '\0';
        if (day == INT32_MIN)
                return;
        store_key_days(unit, days, 180);
        ptime_format_date(day, date);
}

/* One unit-day's (or unit's excuses') frames of a batch, concatenated. */
typedef struct group {
        char key[180];  /* its string: store_key_records or _excuses */
        char days[180]; /* patuh:{U}:days, "" for the excuses */
        char date[11];  /* the work date, "" for the excuses */
        size_t at, len; /* in the frames buffer */
} group_t;

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
        group_t *gs = malloc((b->n_recs + 1) * sizeof(*gs));
        size_t ng = 0;
        if (!gs)
                goto oom;
        /* the batch's records in unit-day runs (batch_close): one run,
         * one key */
        jw_reset(&sw->frames);
        for (size_t i = 0; i < b->n_recs;) {
                const rec_item_t *first = &b->recs[b->order[i]];
                group_t *g = &gs[ng++];
                if (first->day == INT32_MIN)
                        store_key_excuses(first->unit, g->key, sizeof(g->key));
                else
                        store_key_records(first->unit, first->day, g->key,
                                          sizeof(g->key));
                days_of(first->unit, first->day, g->days, g->date);
                g->at = sw->frames.len;
                size_t j = i;
                for (; j < b->n_recs; j++) {
                        const rec_item_t *r = &b->recs[b->order[j]];
                        if (r->unit_ix != first->unit_ix ||
                            r->day != first->day)
                                break;
                        jw_raw(&sw->frames, r->frame, r->frame_len);
                }
                g->len = sw->frames.len - g->at;
                i = j;
        }
        if (sw->frames.oom)
                goto oom;
        /* EVAL script 0 ttl wm outage ngroups {key days date frames}...
         * nled {key days date count fields-and-values...}... epoch */
        size_t nled = 0, max = 11 + 4 * ng + 3 * b->n_ckpt_w;
        for (size_t i = 0; i < b->n_leds; i++)
                if (b->leds[i].n) {
                        max += 4 + b->leds[i].n;
                        nled++;
                }
        group_t *lk = malloc((nled + 1) * sizeof(*lk)); /* their keys */
        const char **argv = malloc(max * sizeof(*argv));
        size_t *lens = malloc(max * sizeof(*lens));
        size_t nnum = 6 + nled + b->n_ckpt_w;
        char(*num)[24] = malloc(nnum * sizeof(*num));
        char(*wk)[2][64] = malloc((b->n_ckpt_w + 1) * sizeof(*wk));
        if (!argv || !lens || !num || !lk || !wk) {
                free(wk);
                free(argv);
                free(lens);
                free(num);
                free(lk);
                goto oom;
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
        bool group = epoch < 0; /* group mode: no engine epoch */
        if (b->has_wm && !group) {
                int wl = snprintf(wm_s, sizeof(wm_s), "%lld.%09d",
                                  (long long)b->wm.sec, (int)b->wm.nsec);
                ARG(wm_s, (size_t)wl);
        } else {
                ARG("", 0);
        }
        if (group)
                ARG("", 0);
        else
                NUM(b->outage);
        ARG(group ? b->ckpt : "", group ? b->ckpt_len : 0);
        NUM(b->n_ckpt_w);
        for (size_t i = 0; i < b->n_ckpt_w; i++) {
                key_work(wk[i][0], sizeof(wk[i][0]), b->ckpt_w[i], "pos");
                key_work(wk[i][1], sizeof(wk[i][1]), b->ckpt_w[i], "epoch");
                /* a held work partition: checked, its checkpoint kept */
                if (!b->ckpt_live[i] || !b->ckpt)
                        wk[i][0][0] = '\0';
                ARG(wk[i][0], strlen(wk[i][0]));
                ARG(wk[i][1], strlen(wk[i][1]));
                NUM(b->ckpt_ep[i]);
        }
        NUM(ng);
        for (size_t i = 0; i < ng; i++) {
                ARG(gs[i].key, strlen(gs[i].key));
                ARG(gs[i].days, strlen(gs[i].days));
                ARG(gs[i].date, strlen(gs[i].date));
                ARG(sw->frames.buf + gs[i].at, gs[i].len);
        }
        NUM(nled);
        for (size_t i = 0, li = 0; i < b->n_leds; i++) {
                const led_item_t *d = &b->leds[i];
                if (!d->n)
                        continue;
                group_t *g = &lk[li++];
                store_key_ledger(d->unit, d->day, g->key, sizeof(g->key));
                days_of(d->unit, d->day, g->days, g->date);
                ARG(g->key, strlen(g->key));
                ARG(g->days, strlen(g->days));
                ARG(g->date, strlen(g->date));
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
        free(wk);
        free(lk);
        free(gs);
        jw_reset(&sw->frames);
        return rc;
oom:
        free(gs);
        jw_reset(&sw->frames);
        snprintf(errstr, errstr_size, "out of memory");
        return -1;
}
