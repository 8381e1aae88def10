/*
 * test_store — patuhd's state in Redis (engine/store.h), saved and read
 * back:
 *   - store_pub / store_pub_parse: every kind of ledger entry, active and
 *     retracted with each reason, comes back the same — read by a second
 *     load of the policy and roster (a restarted engine), the band is
 *     found by its name and the caller by employee_id;
 *   - store_envelope: what patuhd stores for an accepted record parses
 *     back as a replay envelope with its topic, exact arrival time,
 *     partition, offset and the record itself;
 *   - store_frame / store_frame_next: every topic and flag, with and
 *     without an arrival time, before 1970, comes back field for field;
 *     every cut of a frame and a wrong tag are refused, never misread;
 *   - with a Redis at 127.0.0.1 (PATUH_REDIS_URL; skipped otherwise): a
 *     day's records and ledgers written by patuhd's own writer (the
 *     script, through libevent) as batches, then store_restore() into a
 *     fresh core gives the same ledger, raises nothing again and goes on
 *     as the original, also for a unit that only has a ledger on a day
 *     (an absent employee) and for a day long before the watermark;
 *     state of an older layout is refused by name.  It uses
 *     database 9, flushed before and after.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../consumers/envelope.h"
#include "../engine/config.h"
#include "../engine/core.h"
#include "../engine/store.h"
#include "../engine/work.h"
#include "calendar.h"
#include "pub_compare.h"
#include "tz.h"

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define E1 "198703152010011002" /* pelaksana, diskominfo, under S */
#define S "197905102005011003"  /* administrator, diskominfo */
#define E2 "199001012020011001" /* pelaksana, bappeda */

#define ROSTER                                                                 \
        "{\"employee_id\":\"" S "\",\"unit_id\":\"diskominfo\","               \
        "\"position_class\":\"administrator\",\"tpp_monthly\":11200000}\n"     \
        "{\"employee_id\":\"" E1 "\",\"unit_id\":\"diskominfo\","              \
        "\"position_class\":\"pelaksana\",\"supervisor_id\":\"" S "\","        \
        "\"tpp_monthly\":4500000}\n"                                           \
        "{\"employee_id\":\"" E2 "\",\"unit_id\":\"bappeda\","                 \
        "\"position_class\":\"pelaksana\",\"tpp_monthly\":3000000}\n"

#define REDIS_DB 9

typedef struct refs {
        policy_t *policy;
        roster_t *roster;
        calendar_t *calendar;
        eval_ctx_t ctx;
} refs_t;

static void refs_load(refs_t *r)
{
        char err[512] = "";
        r->policy =
            policy_load(PATUH_SOURCE_DIR "/rules/balikpapan-se737-2026.json",
                        err, sizeof(err));
        r->roster = roster_load_buffer(ROSTER, strlen(ROSTER), "roster", err,
                                       sizeof(err));
        r->calendar = calendar_load_string("{}", "calendar", err, sizeof(err));
        if (!r->policy || !r->roster || !r->calendar)
                fail_msg("fixture: %s", err);
        r->ctx = (eval_ctx_t){r->policy, r->calendar, r->roster};
}

static void refs_free(refs_t *r)
{
        calendar_free(r->calendar);
        roster_free(r->roster);
        policy_free(r->policy);
}

static ptime_t at(const char *s)
{
        ptime_t t = {0, 0};
        if (!ptime_parse_rfc3339(s, strlen(s), &t))
                fail_msg("fixture time %s", s);
        return t;
}

/* ---- ledger entries ------------------------------------------------------ */

/* One entry of each kind, active and retracted, with the engine's record
 * of its publication; band names are resolved in whichever policy. */
struct pub_case {
        vkind_t kind;
        const char *subject;
        const char *band; /* NULL: none */
        int64_t minutes;
        double pct;
        int64_t pct_u, amount;
        const char *caller; /* NULL: none */
        const char *call_at;
        int n_evidence;
        int32_t revision;
        bool active;
        const char *reason;
        bool tpp_sent;
        const char *decided_at;
        const char *violation_id;
};

static const struct pub_case pubs[] = {
    {VK_LATE_CLOCK_IN, "", "TL2", 45, 1, 1000000, 45000, NULL, NULL, 1, 1, true,
     NULL, true, "2026-04-10T08:15:05.123456789+08:00",
     "d53e6af06c74bca8ad9b3b348840ba81"},
    {VK_LATE_CLOCK_IN, "", "TL4", 400, 2, 2000000, 90000, NULL, NULL, 1, 3,
     false, "excused", true, "2026-04-11T09:00:00+08:00",
     "0123456789abcdef0123456789abcdef"},
    {VK_EARLY_CLOCK_OUT, "", "PSW3", 80, 1.5, 1500000, 168000, NULL, NULL, 1, 2,
     false, "late_data", true, "2026-04-11T00:00:01+08:00",
     "fedcba9876543210fedcba9876543210"},
    {VK_EARLY_CLOCK_OUT, "", "PSW1", 1, 0.5, 500000, 56000, NULL, NULL, 1, 1,
     true, NULL, true, "2026-04-11T00:00:01+08:00",
     "00000000000000000000000000000001"},
    {VK_MISSING_CLOCK_IN, "", NULL, -1, 2, 2000000, 90000, NULL, NULL, 1, 1,
     true, NULL, true, "2026-04-11T00:00:01+08:00",
     "00000000000000000000000000000002"},
    {VK_MISSING_CLOCK_OUT, "", NULL, -1, 2, 2000000, 90000, NULL, NULL, 1, 2,
     false, "superseded", true, "2026-04-11T08:00:00+08:00",
     "00000000000000000000000000000003"},
    {VK_ABSENT, "", NULL, -1, 4, 4000000, 120000, NULL, NULL, 0, 1, true, NULL,
     true, "2026-04-11T00:00:01+08:00", "00000000000000000000000000000004"},
    {VK_WFH_NOT_PERMITTED, "", NULL, -1, 0, 0, 0, NULL, NULL, 1, 1, true, NULL,
     false, "2026-04-06T07:20:05+08:00", "00000000000000000000000000000005"},
    {VK_UNANSWERED_CALL, "call-9f2", NULL, -1, 1, 1000000, 45000, S,
     "2026-04-10T09:12:00.5+08:00", 8, 1, true, NULL, true,
     "2026-04-10T09:43:00+08:00", "80814b536709e2df08a2e0ed030fd03b"},
    /* an unknown caller (no roster row) */
    {VK_UNANSWERED_CALL, "call-x", NULL, -1, 1, 1000000, 45000, NULL,
     "2026-04-10T10:00:00+08:00", 1, 2, false, "excused", true,
     "2026-04-11T10:00:00+08:00", "00000000000000000000000000000006"},
};

static const policy_band_t *band_named(const policy_t *p, vkind_t kind,
                                       const char *name)
{
        const policy_band_t *b = kind == VK_LATE_CLOCK_IN ? p->late : p->early;
        size_t n = kind == VK_LATE_CLOCK_IN ? p->n_late : p->n_early;
        for (size_t i = 0; name && i < n; i++)
                if (strcmp(b[i].name, name) == 0)
                        return &b[i];
        return NULL;
}

static void make_pub(const refs_t *r, const struct pub_case *c, eval_pub_t *p)
{
        /* the decision borrows its evidence ids: one string per (index,
         * kind), alive for the whole test */
        static char ev[EVAL_MAX_EVIDENCE][VK__COUNT][24];
        memset(p, 0, sizeof(*p));
        eval_decision_t *d = &p->d;
        d->kind = c->kind;
        d->subject = c->subject;
        d->band = band_named(r->policy, c->kind, c->band);
        if (c->band && !d->band)
                fail_msg("no band %s in the policy", c->band);
        d->minutes = c->minutes;
        d->pct = c->pct;
        d->pct_u = c->pct_u;
        d->amount = c->amount;
        d->caller = c->caller
                        ? roster_find(r->roster, c->caller, strlen(c->caller))
                        : -1;
        d->call_at = c->call_at ? at(c->call_at) : (ptime_t){0, 0};
        d->n_evidence = (size_t)c->n_evidence;
        for (int i = 0; i < c->n_evidence; i++) {
                snprintf(ev[i][c->kind], sizeof(ev[i][c->kind]), "ev-%d.x:%d",
                         i, (int)c->kind);
                d->evidence[i] = ev[i][c->kind];
        }
        p->revision = c->revision;
        p->active = c->active;
        p->reason = c->reason;
        p->tpp_sent = c->tpp_sent;
        p->decided_at = at(c->decided_at);
        snprintf(p->violation_id, sizeof(p->violation_id), "%s",
                 c->violation_id);
}

static void test_pub_round_trip(void **state)
{
        (void)state;
        refs_t a, b; /* the engine that wrote, the one that reads */
        refs_load(&a);
        refs_load(&b);
        for (size_t i = 0; i < ARRAY_LEN(pubs); i++) {
                eval_pub_t p, q;
                make_pub(&a, &pubs[i], &p);
                jw_t w;
                jw_init(&w);
                store_pub(&w, &a.ctx, &p);
                assert_false(w.oom);
                /* stored text is JSON anyone can read */
                json_t *j = json_loadb(w.buf, w.len, 0, NULL);
                if (!json_is_object(j))
                        fail_msg("case %zu: not JSON: %.*s", i, (int)w.len,
                                 w.buf);
                /* the kind by name, never an enum number */
                assert_string_equal(json_string_value(json_object_get(j, "k")),
                                    vkind_name(pubs[i].kind));
                json_decref(j);
                store_pub_ids_t ids;
                if (!store_pub_parse(&b.ctx, w.buf, w.len, &q, &ids))
                        fail_msg("case %zu refused: %.*s", i, (int)w.len,
                                 w.buf);
                /* the band is the reader's own, found by name */
                if (pubs[i].band) {
                        assert_ptr_equal(
                            q.d.band,
                            band_named(b.policy, pubs[i].kind, pubs[i].band));
                        q.d.band = p.d.band; /* for pub_diff */
                } else {
                        assert_null(q.d.band);
                }
                const char *diff = pub_diff(&p, &q);
                if (diff)
                        fail_msg("case %zu (%s): %s differs after the round "
                                 "trip: %.*s",
                                 i, vkind_name(p.d.kind), diff, (int)w.len,
                                 w.buf);
                /* the retraction reason is one of the static strings */
                if (!q.active)
                        assert_string_equal(q.reason, pubs[i].reason);
                jw_free(&w);
        }
        refs_free(&a);
        refs_free(&b);
}

/* A stored entry that is not ours is refused, never half read. */
static void test_pub_refused(void **state)
{
        (void)state;
        static const char *const bad[] = {
            "",
            "[]",
            "{}",
            "{\"k\":99,\"s\":\"\",\"m\":1,\"pc\":1,\"pu\":1,\"a\":1,\"cs\":0,"
            "\"cn\":0,\"r\":1,\"ds\":0,\"dn\":0,\"v\":\"x\"}",
            "{\"k\":-1,\"s\":\"\",\"m\":1,\"pc\":1,\"pu\":1,\"a\":1,\"cs\":0,"
            "\"cn\":0,\"r\":1,\"ds\":0,\"dn\":0,\"v\":\"x\"}",
            "{\"k\":0,\"s\":\"\",\"m\":\"1\",\"pc\":1,\"pu\":1,\"a\":1,\"cs\":"
            "0,"
            "\"cn\":0,\"r\":1,\"ds\":0,\"dn\":0,\"v\":\"x\"}",
            "{\"k\":0,\"s\":\"\",\"m\":1,\"pc\":1,\"pu\":1,\"a\":1,\"cs\":0,"
            "\"cn\":0,\"ds\":0,\"dn\":0,\"v\":\"x\"}",
        };
        refs_t r;
        refs_load(&r);
        for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
                eval_pub_t p;
                store_pub_ids_t ids;
                if (store_pub_parse(&r.ctx, bad[i], strlen(bad[i]), &p, &ids))
                        fail_msg("accepted %s", bad[i]);
        }
        refs_free(&r);
}

/* ---- stored records -------------------------------------------------------
 */

#define P_REC                                                                  \
        "{\"event_id\":\"p-0001\",\"employee_id\":\"" E1 "\","                 \
        "\"type\":\"clock_in\",\"mode\":\"wfh\","                              \
        "\"at\":\"2026-04-10T07:41:09+08:00\",\"source\":\"e-manuntung\"}"
#define C_REC                                                                  \
        "{\"event_id\":\"c-77\",\"call_id\":\"call-9f2\",\"caller_id\":\"" S   \
        "\",\"callee_id\":\"" E1 "\",\"at\":\"2026-04-10T09:12:00+08:00\","    \
        "\"outcome\":\"missed\"}"
#define X_REC                                                                  \
        "{\"event_id\":\"x-5\",\"excuse_id\":\"cuti-1\",\"employee_id\":\"" E2 \
        "\",\"kind\":\"cuti\",\"from\":\"2026-04-10\",\"to\":\"2026-04-14\","  \
        "\"updated_at\":\"2026-04-09T15:02:00+08:00\",\"revoked\":false}"

struct env_case {
        rec_topic_t topic;
        const char *value;
        const char *ts; /* NULL: no arrival time */
        int32_t partition;
        int64_t offset;
        const char *event_id;
};

static const struct env_case envs[] = {
    {TOPIC_PRESENCE, P_REC, "2026-04-10T07:41:10.123456789+08:00", 3, 1234,
     "p-0001"},
    {TOPIC_CALLS, C_REC, "2026-04-10T01:12:01Z", 0, INT64_C(9007199254740993),
     "c-77"},
    {TOPIC_EXCUSES, X_REC, NULL, 11, 0, "x-5"},
    /* before 1970 and a partition past 16 bits */
    {TOPIC_PRESENCE, P_REC, "1969-12-31T23:59:59.5Z", 70000, 7, "p-0001"},
};

static void test_envelope_round_trip(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_LEN(envs); i++) {
                const struct env_case *c = &envs[i];
                ptime_t ts = c->ts ? at(c->ts) : PTIME_NEVER;
                jw_t w;
                jw_init(&w);
                store_envelope(&w, c->topic, c->ts != NULL, ts, c->partition,
                               c->offset, c->value, strlen(c->value));
                assert_false(w.oom);
                envelope_t env;
                record_t rec;
                char detail[256] = "";
                dlq_reason_t r =
                    envelope_parse(&env, w.buf, w.len, detail, sizeof(detail));
                if (r == DLQ_NONE)
                        r = envelope_record(&env, &rec, detail, sizeof(detail));
                if (r != DLQ_NONE)
                        fail_msg("case %zu: %s (%s): %.*s", i,
                                 dlq_reason_name(r), detail, (int)w.len, w.buf);
                assert_int_equal(env.topic, c->topic);
                assert_int_equal(env.has_ts, c->ts != NULL);
                if (c->ts) {
                        assert_int_equal(env.ts.sec, ts.sec);
                        assert_int_equal(env.ts.nsec, ts.nsec);
                }
                assert_string_equal(rec.event_id, c->event_id);
                /* the value is the record as it arrived, byte for byte */
                assert_int_equal(env.value_len, strlen(c->value));
                assert_memory_equal(env.value, c->value, env.value_len);
                envelope_free(&env);
                /* the coordinates restore sorts by */
                json_t *j = json_loadb(w.buf, w.len, 0, NULL);
                assert_non_null(j);
                assert_int_equal(json_integer_value(json_object_get(j, "p")),
                                 c->partition);
                assert_int_equal(json_integer_value(json_object_get(j, "o")),
                                 c->offset);
                json_decref(j);
                jw_free(&w);
        }
}

/* The fields the rules read, compared one by one. */
static void assert_same_record(const record_t *a, const record_t *b)
{
        assert_int_equal(a->topic, b->topic);
        assert_string_equal(a->event_id, b->event_id);
        switch (a->topic) {
        case TOPIC_PRESENCE:
                assert_string_equal(a->u.presence.employee_id,
                                    b->u.presence.employee_id);
                assert_int_equal(a->u.presence.clock_out,
                                 b->u.presence.clock_out);
                assert_int_equal(a->u.presence.wfh, b->u.presence.wfh);
                assert_int_equal(ptime_cmp(a->u.presence.at, b->u.presence.at),
                                 0);
                break;
        case TOPIC_CALLS:
                assert_string_equal(a->u.call.call_id, b->u.call.call_id);
                assert_string_equal(a->u.call.caller_id, b->u.call.caller_id);
                assert_string_equal(a->u.call.callee_id, b->u.call.callee_id);
                assert_int_equal(a->u.call.outcome, b->u.call.outcome);
                assert_int_equal(ptime_cmp(a->u.call.at, b->u.call.at), 0);
                break;
        default:
                assert_string_equal(a->u.excuse.excuse_id,
                                    b->u.excuse.excuse_id);
                assert_string_equal(a->u.excuse.employee_id,
                                    b->u.excuse.employee_id);
                assert_string_equal(a->u.excuse.kind, b->u.excuse.kind);
                assert_int_equal(a->u.excuse.from, b->u.excuse.from);
                assert_int_equal(a->u.excuse.to, b->u.excuse.to);
                assert_int_equal(a->u.excuse.revoked, b->u.excuse.revoked);
                assert_int_equal(
                    ptime_cmp(a->u.excuse.updated_at, b->u.excuse.updated_at),
                    0);
        }
}

static void test_frame_round_trip(void **state)
{
        (void)state;
        static const struct {
                rec_topic_t topic;
                const char *json;
        } recs[] = {
            {TOPIC_PRESENCE, P_REC},
            {TOPIC_PRESENCE,
             "{\"event_id\":\"p.9:Z-\",\"employee_id\":\"" S "\","
             "\"type\":\"clock_out\",\"mode\":\"wfo\","
             "\"at\":\"1969-12-31T23:59:58.999999999Z\"}"},
            {TOPIC_CALLS, C_REC},
            {TOPIC_CALLS,
             "{\"event_id\":\"c-2\",\"call_id\":\"k\",\"caller_id\":\"" E1
             "\",\"callee_id\":\"" S "\",\"at\":\"2026-04-10T23:59:59.5Z\","
             "\"outcome\":\"declined\"}"},
            {TOPIC_CALLS,
             "{\"event_id\":\"c-3\",\"call_id\":\"k3\",\"caller_id\":\"" E1
             "\",\"callee_id\":\"" S "\",\"at\":\"2026-04-10T09:00:00Z\","
             "\"outcome\":\"answered\"}"},
            {TOPIC_EXCUSES, X_REC},
            {TOPIC_EXCUSES,
             "{\"event_id\":\"x-6\",\"excuse_id\":\"dl-1\",\"employee_id\":"
             "\"" E2 "\",\"kind\":\"dinas luar \\u00e9\",\"from\":"
             "\"2026-04-10\",\"to\":\"2026-04-10\",\"updated_at\":"
             "\"2026-04-09T15:02:00.25+08:00\",\"revoked\":true}"},
        };
        const char *arrivals[] = {NULL, "2026-04-10T07:41:10.123456789+08:00",
                                  "1960-01-01T00:00:00Z"};
        for (size_t i = 0; i < ARRAY_LEN(recs); i++)
                for (size_t t = 0; t < ARRAY_LEN(arrivals); t++) {
                        record_t in, out;
                        char detail[256];
                        assert_int_equal(
                            record_decode_bytes(recs[i].topic, recs[i].json,
                                                strlen(recs[i].json), &in,
                                                detail, sizeof(detail)),
                            DLQ_NONE);
                        ptime_t ts =
                            arrivals[t] ? at(arrivals[t]) : PTIME_NEVER;
                        jw_t w;
                        jw_init(&w);
                        /* two frames back to back, as a unit-day holds */
                        store_frame(&w, &in, arrivals[t] != NULL, ts);
                        size_t one = w.len;
                        store_frame(&w, &in, arrivals[t] != NULL, ts);
                        assert_false(w.oom);
                        assert_true(one < 120); /* compact: not JSON */
                        size_t pos = 0;
                        for (int k = 0; k < 2; k++) {
                                bool has_ts;
                                ptime_t got;
                                if (!store_frame_next(w.buf, w.len, &pos, &out,
                                                      &has_ts, &got))
                                        fail_msg("record %zu arrival %zu: "
                                                 "frame %d unreadable",
                                                 i, t, k);
                                assert_same_record(&in, &out);
                                assert_int_equal(has_ts, arrivals[t] != NULL);
                                if (has_ts)
                                        assert_int_equal(ptime_cmp(got, ts), 0);
                        }
                        assert_int_equal(pos, w.len);
                        /* every cut is refused and leaves pos alone */
                        for (size_t cut = 0; cut < one; cut++) {
                                size_t p0 = 0;
                                bool has_ts;
                                ptime_t got;
                                if (store_frame_next(w.buf, cut, &p0, &out,
                                                     &has_ts, &got))
                                        fail_msg("record %zu: a frame cut to "
                                                 "%zu of %zu bytes was read",
                                                 i, cut, one);
                                assert_int_equal(p0, 0);
                        }
                        /* not a frame: JSON where frames were expected */
                        size_t p0 = 0;
                        bool has_ts;
                        ptime_t got;
                        assert_false(store_frame_next(P_REC, strlen(P_REC), &p0,
                                                      &out, &has_ts, &got));
                        jw_free(&w);
                }
}

/* ---- save in Redis, restore a fresh core ----------------------------------
 */

typedef struct sink {
        size_t n;
        char last[512];
        batch_t *batch; /* the batch the touched employee-days go to */
} sink_t;

static void count_emit(void *ud, core_out_t out, const char *key,
                       const char *json, size_t len, const eval_pub_t *p)
{
        sink_t *s = ud;
        (void)key;
        (void)p;
        if (out == CORE_OUT_DIGEST)
                return; /* digests are not stored: published afresh */
        s->n++;
        snprintf(s->last, sizeof(s->last), "%.*s", (int)len, json);
}

static void note_touched(void *ud, int32_t emp, int32_t day)
{
        sink_t *s = ud;
        if (s->batch)
                assert_true(batch_touch(s->batch, emp, day));
}

#define FRI "2026-04-10"
#define PRES_F(ev, emp, type, mode, at)                                        \
        "{\"event_id\":\"" ev "\",\"employee_id\":\"" emp                      \
        "\",\"type\":\"" type "\",\"mode\":\"" mode "\",\"at\":\"" FRI "T" at  \
        "+08:00\"}"

struct kept {
        rec_topic_t topic;
        const char *json;
        const char *ts;
};

/* A Friday through the close: lateness, an unanswered call, an early
 * leave retracted by the next day's excuse, an absence, a missing
 * clock-out. */
static const struct kept day[] = {
    /* a Monday long before, in a unit with no records on the Friday */
    {TOPIC_PRESENCE,
     "{\"event_id\":\"p-0\",\"employee_id\":\"" E2 "\",\"type\":"
     "\"clock_in\",\"mode\":\"wfo\",\"at\":\"2026-03-02T07:25:00+08:00\"}",
     "2026-03-02T07:25:05+08:00"},
    {TOPIC_PRESENCE, PRES_F("p-1", S, "clock_in", "wfo", "07:20:00"),
     "2026-04-10T07:20:05+08:00"},
    {TOPIC_PRESENCE, PRES_F("p-2", E1, "clock_in", "wfh", "08:15:00"),
     "2026-04-10T08:15:05+08:00"},
    {TOPIC_CALLS,
     "{\"event_id\":\"c-1\",\"call_id\":\"call-1\",\"caller_id\":\"" S
     "\",\"callee_id\":\"" E1 "\",\"at\":\"" FRI "T09:00:00+08:00\","
     "\"outcome\":\"missed\"}",
     "2026-04-10T09:00:05+08:00"},
    {TOPIC_PRESENCE, PRES_F("p-3", S, "clock_out", "wfo", "15:10:00"),
     "2026-04-10T15:10:05+08:00"},
    {TOPIC_EXCUSES,
     "{\"event_id\":\"x-1\",\"excuse_id\":\"cuti-1\",\"employee_id\":\"" S
     "\",\"kind\":\"cuti\",\"from\":\"" FRI "\",\"to\":\"" FRI "\","
     "\"updated_at\":\"2026-04-11T08:00:00+08:00\"}",
     "2026-04-11T08:00:05+08:00"},
};

/* REC (K's record, arrived at TS, read at OFFSET of partition 0) into B
 * as patuhd keeps an accepted record (engine/live.c persist_record): its
 * frame, with its place when PLACE (group mode), and its envelope. */
static void keep_record(batch_t *b, const refs_t *a, const record_t *rec,
                        const struct kept *k, ptime_t ts, int64_t offset,
                        bool place)
{
        const char *id = record_subject_id(rec);
        int32_t emp = roster_find(a->roster, id, strlen(id));
        assert_true(emp >= 0);
        const char *unit = a->roster->emp[emp].unit_id;
        int32_t d = k->topic == TOPIC_EXCUSES
                        ? INT32_MIN
                        : tz_local_day(a->policy->tz, record_time(rec));
        jw_t w;
        jw_init(&w);
        if (place)
                store_frame_at(&w, rec, true, ts, 0, offset);
        else
                store_frame(&w, rec, true, ts);
        size_t flen = w.len;
        store_envelope(&w, k->topic, true, ts, 0, offset, k->json,
                       strlen(k->json));
        /* the unit as its first roster row, as patuhd numbers it */
        int32_t ux = 0;
        while (strcmp(a->roster->emp[ux].unit_id, unit) != 0)
                ux++;
        assert_true(batch_add_record(b, k->topic, emp, ux, unit, d,
                                     rec->event_id, 0, offset, w.buf, flen,
                                     w.buf + flen, w.len - flen));
        jw_free(&w);
}

/* A frame with its place in the input (group mode) gives back the place
 * as well as the record; one without says it has none; every cut of one
 * is refused. */
static void test_frame_place(void **state)
{
        (void)state;
        record_t in, out;
        char detail[256];
        assert_int_equal(record_decode_bytes(TOPIC_CALLS, C_REC, strlen(C_REC),
                                             &in, detail, sizeof(detail)),
                         DLQ_NONE);
        ptime_t ts = at("2026-04-10T07:41:10+08:00");
        static const struct {
                int32_t partition;
                int64_t offset;
        } places[] = {{0, 0}, {5, 123456789012LL}, {INT32_MAX, INT64_MAX}};
        for (size_t i = 0; i < ARRAY_LEN(places); i++) {
                jw_t w;
                jw_init(&w);
                store_frame_at(&w, &in, true, ts, places[i].partition,
                               places[i].offset);
                size_t one = w.len;
                store_frame(&w, &in, true, ts);
                size_t pos = 0;
                bool has_ts;
                ptime_t got;
                int32_t p;
                int64_t o;
                assert_true(store_frame_next_at(w.buf, w.len, &pos, &out,
                                                &has_ts, &got, &p, &o));
                assert_same_record(&in, &out);
                assert_int_equal(p, places[i].partition);
                assert_true(o == places[i].offset);
                assert_true(has_ts && ptime_cmp(got, ts) == 0);
                assert_true(store_frame_next_at(w.buf, w.len, &pos, &out,
                                                &has_ts, &got, &p, &o));
                assert_int_equal(p, -1);
                assert_int_equal(pos, w.len);
                for (size_t cut = 0; cut < one; cut++) {
                        size_t p0 = 0;
                        assert_false(store_frame_next_at(
                            w.buf, cut, &p0, &out, &has_ts, &got, &p, &o));
                }
                jw_free(&w);
        }
}

/* The reference order of batch_order: unit, day, arrival. */
static const rec_item_t *ref_recs;
static int ref_cmp(const void *a, const void *b)
{
        const rec_item_t *x = &ref_recs[*(const size_t *)a],
                         *y = &ref_recs[*(const size_t *)b];
        if (x->unit_ix != y->unit_ix)
                return x->unit_ix < y->unit_ix ? -1 : 1;
        if (x->day != y->day)
                return x->day < y->day ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A batch's records go to the sinks by unit, day and arrival (a unit-day
 * is one evidence chunk): the counting passes give the order a sort
 * gives, with excuses (no day) first in their unit, with records of one
 * unit-day far apart in arrival, with excuses only, with no record, and
 * with days too far apart for counts (a sort then). */
static void test_batch_order(void **state)
{
        (void)state;
        /* span 0: excuses only */
        static const struct {
                int32_t span;
                size_t n;
        } cases[] = {{3, 3000}, {40, 3000}, {5000000, 3000}, {0, 500}, {3, 0}};
        unsigned seed = 7;
        for (size_t s = 0; s < ARRAY_LEN(cases); s++) {
                batch_t b = {0};
                size_t n = cases[s].n;
                for (size_t i = 0; i < n; i++) {
                        seed = seed * 1103515245u + 12345u;
                        int32_t ux = (int32_t)((seed >> 8) % 50) * 7;
                        seed = seed * 1103515245u + 12345u;
                        int32_t wd =
                            cases[s].span == 0 || (seed >> 8) % 10 == 0
                                ? INT32_MIN
                                : 20550 + (int32_t)((seed >> 4) %
                                                    (unsigned)cases[s].span);
                        char id[32];
                        snprintf(id, sizeof(id), "r%zu", i);
                        assert_true(batch_add_record(
                            &b,
                            wd == INT32_MIN ? TOPIC_EXCUSES : TOPIC_PRESENCE, 0,
                            ux, "u", wd, id, 0, (int64_t)i, "f", 1, "e", 1));
                }
                assert_true(batch_order(&b));
                size_t *want = malloc((n + 1) * sizeof(*want));
                assert_non_null(want);
                for (size_t i = 0; i < n; i++)
                        want[i] = i;
                ref_recs = b.recs;
                qsort(want, n, sizeof(*want), ref_cmp);
                for (size_t i = 0; i < n; i++)
                        if (b.order[i] != want[i])
                                fail_msg("span %d: place %zu holds record "
                                         "%zu, not %zu",
                                         (int)cases[s].span, i, b.order[i],
                                         want[i]);
                free(want);
                batch_free(&b);
        }
}

/* A work partition's checkpoint goes out and comes back: the watermark
 * (or none), the outage cursor (or none) and every input position; text
 * that is not one is refused. */
static void test_ckpt_round_trip(void **state)
{
        (void)state;
        store_pos_t pos[] = {
            {0, 0, 17}, {1, 63, -2}, {2, 5, 9007199254740993LL}};
        static const struct {
                bool has_wm;
                const char *wm;
                int32_t outage;
        } cases[] = {{true, "2026-04-10T07:41:10.123456789+08:00", 20551},
                     {false, NULL, INT32_MIN},
                     {true, "1969-12-31T23:59:59.5Z", -3}};
        for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
                jw_t w;
                jw_init(&w);
                ptime_t wm = cases[i].has_wm ? at(cases[i].wm) : PTIME_NEVER;
                store_ckpt_format(&w, cases[i].has_wm, wm, cases[i].outage, pos,
                                  ARRAY_LEN(pos));
                store_ckpt_t c;
                if (!store_ckpt_parse(w.buf, w.len, &c))
                        fail_msg("not read back: %.*s", (int)w.len, w.buf);
                assert_true(c.found);
                assert_int_equal(c.has_wm, cases[i].has_wm);
                if (c.has_wm)
                        assert_int_equal(ptime_cmp(c.wm, wm), 0);
                assert_int_equal(c.outage, cases[i].outage);
                assert_int_equal(c.n, ARRAY_LEN(pos));
                for (size_t k = 0; k < c.n; k++) {
                        assert_int_equal(c.pos[k].topic, pos[k].topic);
                        assert_int_equal(c.pos[k].partition, pos[k].partition);
                        assert_true(c.pos[k].offset == pos[k].offset);
                }
                free(c.pos);
                jw_free(&w);
        }
        static const char *const bad[] = {"",
                                          "-",
                                          "- -x",
                                          "1.5 7",
                                          "1 7",
                                          "1.0 7 0:1",
                                          "1.0 7 3:1:1",
                                          "1.0 7 0:-1:1",
                                          "1.0 7 0:1:-3",
                                          "x.0 7",
                                          "1.1000000000 7",
                                          "1.0 7 0:1:1 "};
        for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
                store_ckpt_t c;
                if (store_ckpt_parse(bad[i], strlen(bad[i]), &c))
                        fail_msg("\"%s\" read as a checkpoint", bad[i]);
                assert_null(c.pos);
        }
}

/* The work partition of a unit is FNV-1a of its id: fixed, since moving
 * it would move every unit's state. */
static void test_work_of_unit(void **state)
{
        (void)state;
        assert_int_equal(work_of_unit("a", 1 << 30), 0xe40c292cu % (1u << 30));
        assert_int_equal(work_of_unit("foobar", 1000), 0xbf9cf968u % 1000);
        assert_int_equal(work_of_unit("", 7), 2166136261u % 7);
        assert_int_equal(work_of_unit("anything", 1), 0);
}

/* Redis at 127.0.0.1 from PATUH_REDIS_URL, database 9 flushed; NULL (and
 * the test skipped) without one. */
static redisContext *redis_or_skip(char *host, size_t n, int *port)
{
        const char *url = getenv("PATUH_REDIS_URL");
        int db;
        if (!url || !config_redis_url(url, host, n, port, &db) ||
            strcmp(host, "127.0.0.1") != 0) {
                print_message("no PATUH_REDIS_URL at 127.0.0.1: skipped\n");
                return NULL;
        }
        struct timeval tv = {2, 0};
        redisContext *r = redisConnectWithTimeout(host, *port, tv);
        if (!r || r->err) {
                print_message("redis %s:%d unreachable: skipped\n", host,
                              *port);
                redisFree(r);
                return NULL;
        }
        freeReplyObject(redisCommand(r, "SELECT %d", REDIS_DB));
        freeReplyObject(redisCommand(r, "FLUSHDB"));
        return r;
}

static void ok_reply(redisContext *r, redisReply *rep)
{
        if (!rep || rep->type == REDIS_REPLY_ERROR)
                fail_msg("redis: %s", rep ? rep->str : r->errstr);
        freeReplyObject(rep);
}

/* patuhd's writer on a loop of the test's own. */
typedef struct writer {
        struct event_base *base;
        store_writer_t *sw;
        bool up, done;
        store_write_status_t st;
        char err[256];
} writer_t;

static void w_done(void *ud, store_write_status_t st, const char *err)
{
        writer_t *w = ud;
        w->done = true;
        w->st = st;
        snprintf(w->err, sizeof(w->err), "%s", err);
        event_base_loopbreak(w->base);
}

static void w_conn(void *ud, bool up, const char *err)
{
        writer_t *w = ud;
        w->up = up;
        snprintf(w->err, sizeof(w->err), "%s", err);
        event_base_loopbreak(w->base);
}

/* patuhd's writer on a loop of the test's own, connected. */
static void writer_open(writer_t *w, const char *host, int port,
                        const eval_ctx_t *ctx)
{
        w->base = event_base_new();
        assert_non_null(w->base);
        w->sw = store_writer_new(w->base, host, port, REDIS_DB, store_ttl(ctx),
                                 5000, w_done, w_conn, w);
        assert_non_null(w->sw);
        store_writer_connect(w->sw);
        event_base_dispatch(w->base);
        if (!w->up)
                fail_msg("writer: %s", w->err);
}

/* Closes B against CORE and writes it as patuhd does with the lease
 * EPOCH (-1: group mode); then empties it. */
static void write_batch_at(writer_t *w, batch_t *b, const core_t *core,
                           const eval_ctx_t *ctx, long long epoch)
{
        jw_t scratch;
        jw_init(&scratch);
        assert_true(batch_close(b, core, ctx, &scratch));
        jw_free(&scratch);
        char err[256];
        w->done = false;
        if (store_writer_write(w->sw, b, epoch, err, sizeof(err)) != 0)
                fail_msg("store_writer_write: %s", err);
        while (!w->done)
                event_base_dispatch(w->base);
        if (w->st != STORE_WRITE_OK)
                fail_msg("the batch was not written: %s", w->err);
        batch_clear(b);
}

static void write_batch(writer_t *w, batch_t *b, const core_t *core,
                        const eval_ctx_t *ctx)
{
        write_batch_at(w, b, core, ctx, 1);
}

static bool scoped_all(void *ud, const char *unit_id)
{
        (void)ud;
        (void)unit_id;
        return true;
}

/* a frame is a fact before offset *(int64_t *)ud */
static bool scoped_before(void *ud, int topic, int32_t partition,
                          int64_t offset)
{
        (void)topic;
        (void)partition;
        return offset < *(const int64_t *)ud;
}

/* Group mode's state: owner epochs raised only upwards and all or none,
 * the number of work partitions fixed once written, a batch's checkpoint
 * written for its work partitions only and refused behind a newer owner,
 * and a restore that admits only the frames before a position. */
static void test_redis_work(void **state)
{
        (void)state;
        char host[64], err[256] = "";
        int port;
        redisContext *r = redis_or_skip(host, sizeof(host), &port);
        if (!r) {
                skip();
                return;
        }
        int32_t ws[] = {0, 2}, w2[] = {2}, w1[] = {1};
        long long eps[] = {3, 3}, old[] = {2}, nine[] = {9};
        assert_int_equal(store_fence_work(host, port, REDIS_DB, 4, ws, eps, 2,
                                          err, sizeof(err)),
                         0);
        assert_int_equal(store_fence_work(host, port, REDIS_DB, 4, w2, old, 1,
                                          err, sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "fenced by epoch 3"));
        assert_int_equal(store_fence_work(host, port, REDIS_DB, 5, w1, nine, 1,
                                          err, sizeof(err)),
                         -1);
        assert_non_null(strstr(err, "4 work partitions"));
        /* a batch of the Friday's records with their places, and its
         * checkpoint for work partitions 0 and 2 */
        refs_t a;
        refs_load(&a);
        writer_t wr = {0};
        writer_open(&wr, host, port, &a.ctx);
        batch_t batch = {0};
        sink_t sa = {0};
        sa.batch = &batch;
        core_sink_t csa = {&sa, count_emit, note_touched};
        core_t *ca = core_new(&a.ctx, &csa);
        for (size_t i = 0; i < ARRAY_LEN(day); i++) {
                record_t rec;
                char detail[256];
                bool dup;
                assert_int_equal(record_decode_bytes(day[i].topic, day[i].json,
                                                     strlen(day[i].json), &rec,
                                                     detail, sizeof(detail)),
                                 DLQ_NONE);
                ptime_t ts = at(day[i].ts);
                core_set_watermark(ca, ts);
                assert_int_equal(core_admit(ca, &rec, true, ts, &dup, detail,
                                            sizeof(detail)),
                                 DLQ_NONE);
                keep_record(&batch, &a, &rec, &day[i], ts, (int64_t)i, true);
        }
        store_pos_t pos[] = {{0, 0, (int64_t)ARRAY_LEN(day)}, {1, 0, -2}};
        jw_t cw;
        jw_init(&cw);
        store_ckpt_format(&cw, true, at("2026-04-11T08:00:05+08:00"), 7, pos,
                          2);
        batch.ckpt = strdup(cw.buf ? cw.buf : "");
        batch.ckpt_len = cw.len;
        jw_free(&cw);
        batch.ckpt_w = malloc(2 * sizeof(*batch.ckpt_w));
        batch.ckpt_ep = malloc(2 * sizeof(*batch.ckpt_ep));
        batch.ckpt_live = malloc(3);
        batch.ckpt_w[0] = 0;
        batch.ckpt_w[1] = 2;
        batch.ckpt_ep[0] = batch.ckpt_ep[1] = 3;
        batch.ckpt_live[0] = batch.ckpt_live[1] = 1;
        batch.n_ckpt_w = 2;
        write_batch_at(&wr, &batch, ca, &a.ctx, -1);
        store_ckpt_t ck[4];
        assert_int_equal(
            store_read_ckpts(host, port, REDIS_DB, 4, ck, err, sizeof(err)), 0);
        assert_true(ck[0].found && ck[2].found);
        assert_false(ck[1].found || ck[3].found);
        assert_true(ck[0].epoch == 3 && ck[2].epoch == 3 && ck[1].epoch == 0);
        assert_int_equal(ck[2].outage, 7);
        assert_int_equal(ck[2].n, 2);
        assert_true(ck[2].pos[0].offset == (int64_t)ARRAY_LEN(day));
        assert_true(ck[2].pos[1].offset == -2);
        for (int w = 0; w < 4; w++)
                free(ck[w].pos);
        /* no global watermark in group mode: the checkpoints hold it */
        redisReply *g = redisCommand(r, "EXISTS " STORE_KEY_WATERMARK);
        assert_int_equal(g->integer, 0);
        freeReplyObject(g);
        store_ckpt_t ck5[5];
        assert_int_equal(
            store_read_ckpts(host, port, REDIS_DB, 5, ck5, err, sizeof(err)),
            -1);
        assert_non_null(strstr(err, "shared over 4 work partitions"));
        /* a former owner of work partition 2 (epoch 2) is refused */
        batch.ckpt = strdup("- - 0:0:99");
        batch.ckpt_len = strlen(batch.ckpt);
        batch.ckpt_w = malloc(sizeof(*batch.ckpt_w));
        batch.ckpt_ep = malloc(sizeof(*batch.ckpt_ep));
        batch.ckpt_live = malloc(1);
        batch.ckpt_w[0] = 2;
        batch.ckpt_ep[0] = 2;
        batch.ckpt_live[0] = 0; /* held: checked all the same */
        batch.n_ckpt_w = 1;
        wr.done = false;
        assert_int_equal(
            store_writer_write(wr.sw, &batch, -1, err, sizeof(err)), 0);
        while (!wr.done)
                event_base_dispatch(wr.base);
        assert_int_equal(wr.st, STORE_WRITE_FENCED);
        batch_clear(&batch);
        /* a restore reading the input again from offset 3 admits the
         * frames before it only */
        core_t *cb = core_new(&a.ctx, &csa);
        int64_t from = 3;
        store_scope_t scope = {
            true, at("2026-04-11T08:00:05+08:00"), 7, scoped_all, scoped_before,
            &from};
        assert_int_equal(store_restore_scoped(cb, &a.ctx, host, port, REDIS_DB,
                                              &scope, err, sizeof(err)),
                         3);
        assert_int_equal(core_stats(cb)->accepted, 3);
        assert_int_equal(core_outage_cursor(cb), 7);
        core_free(cb);
        core_free(ca);
        batch_free(&batch);
        store_writer_free(wr.sw);
        event_base_free(wr.base);
        refs_free(&a);
        freeReplyObject(redisCommand(r, "FLUSHDB"));
        redisFree(r);
}

static void test_redis_restore(void **state)
{
        (void)state;
        char host[64];
        int port;
        redisContext *r = redis_or_skip(host, sizeof(host), &port);
        if (!r) {
                skip();
                return;
        }
        refs_t a;
        refs_load(&a);
        writer_t wr = {0};
        writer_open(&wr, host, port, &a.ctx);
        batch_t batch = {0};
        sink_t sa = {0};
        sa.batch = &batch;
        core_sink_t csa = {&sa, count_emit, note_touched};
        core_t *ca = core_new(&a.ctx, &csa);
        assert_non_null(ca);
        /* the original engine reads the days, one partition per topic, in
         * two batches (the second appends to the unit-days of the first) */
        int64_t offset[TOPIC__COUNT] = {0};
        for (size_t i = 0; i < ARRAY_LEN(day); i++) {
                record_t rec;
                char detail[256];
                bool dup;
                const struct kept *k = &day[i];
                assert_int_equal(record_decode_bytes(k->topic, k->json,
                                                     strlen(k->json), &rec,
                                                     detail, sizeof(detail)),
                                 DLQ_NONE);
                ptime_t ts = at(k->ts);
                core_set_watermark(ca, ts);
                core_fire(ca); /* the close before the next day's excuse */
                assert_int_equal(core_admit(ca, &rec, true, ts, &dup, detail,
                                            sizeof(detail)),
                                 DLQ_NONE);
                core_fire(ca);
                keep_record(&batch, &a, &rec, k, ts, offset[k->topic]++, false);
                if (i == 2)
                        write_batch(&wr, &batch, ca, &a.ctx);
        }
        core_set_watermark(ca, at("2026-04-11T09:00:00+08:00"));
        core_fire(ca);
        write_batch(&wr, &batch, ca, &a.ctx);
        assert_true(sa.n >= 8);
        int32_t fri, mar;
        assert_true(ptime_parse_date(FRI, 10, &fri));
        assert_true(ptime_parse_date("2026-03-02", 10, &mar));
        size_t entries = 0, retracted = 0;
        for (int32_t e = 0; e < (int32_t)a.roster->n; e++) {
                const eval_ledger_t *l = core_ledger(ca, e, fri);
                for (size_t k = 0; l && k < l->n; k++, entries++)
                        retracted += !l->v[k].active;
        }
        assert_true(entries >= 5);
        assert_true(retracted >= 1); /* S's early leave, excused */
        /* the March day was kept too, with its decision */
        int32_t e2 = roster_find(a.roster, E2, strlen(E2));
        assert_non_null(core_ledger(ca, e2, mar));
        ptime_t wm = core_watermark(ca);

        /* a restart: new reference data, new core, state from Redis */
        refs_t b;
        refs_load(&b);
        sink_t sb = {0};
        core_sink_t csb = {&sb, count_emit, NULL};
        core_t *cb = core_new(&b.ctx, &csb);
        char err[256] = "";
        long n =
            store_restore(cb, &b.ctx, host, port, REDIS_DB, err, sizeof(err));
        if (n < 0)
                fail_msg("store_restore: %s", err);
        assert_int_equal(n, ARRAY_LEN(day));
        /* the March day too: a record with an old arrival time could
         * still reach it */
        const eval_ledger_t *lma = core_ledger(ca, e2, mar),
                            *lmb = core_ledger(cb, e2, mar);
        assert_non_null(lmb);
        assert_int_equal(lma->n, lmb->n);
        assert_int_equal(ptime_cmp(core_watermark(cb), wm), 0);
        assert_int_equal(core_outage_cursor(cb), core_outage_cursor(ca));
        core_fire(cb);
        if (sb.n)
                fail_msg("the restored core published %zu: %s", sb.n, sb.last);
        for (int32_t e = 0; e < (int32_t)a.roster->n; e++) {
                const eval_ledger_t *la = core_ledger(ca, e, fri);
                const eval_ledger_t *lb = core_ledger(cb, e, fri);
                size_t na = la ? la->n : 0, nb = lb ? lb->n : 0;
                assert_int_equal(na, nb);
                /* a Redis hash keeps no order: entries by kind|subject */
                for (size_t k = 0; k < na; k++) {
                        const eval_pub_t *o = &la->v[k];
                        const eval_pub_t *m = NULL;
                        for (size_t x = 0; x < nb && !m; x++)
                                if (lb->v[x].d.kind == o->d.kind &&
                                    strcmp(lb->v[x].d.subject, o->d.subject) ==
                                        0)
                                        m = &lb->v[x];
                        if (!m)
                                fail_msg("employee %d: %s not restored", e,
                                         vkind_name(o->d.kind));
                        eval_pub_t q = *m;
                        /* the restarted engine's band, by name */
                        if (o->d.band) {
                                assert_non_null(q.d.band);
                                assert_string_equal(q.d.band->name,
                                                    o->d.band->name);
                                q.d.band = o->d.band;
                        }
                        const char *diff = pub_diff(o, &q);
                        if (diff)
                                fail_msg("employee %d %s: %s differs after "
                                         "restore",
                                         e, vkind_name(o->d.kind), diff);
                }
                assert_int_equal(core_alerted(ca, e, fri),
                                 core_alerted(cb, e, fri));
        }
        /* the duplicate sets came back: a repeat is ignored */
        record_t rec;
        char detail[256];
        bool dup = false;
        assert_int_equal(record_decode_bytes(day[2].topic, day[2].json,
                                             strlen(day[2].json), &rec, detail,
                                             sizeof(detail)),
                         DLQ_NONE);
        assert_int_equal(core_admit(cb, &rec, true,
                                    at("2026-04-11T09:10:00+08:00"), &dup,
                                    detail, sizeof(detail)),
                         DLQ_NONE);
        assert_true(dup);
        assert_int_equal(sb.n, 0);

        /* state in the first layout (no patuh:layout) is refused by name */
        freeReplyObject(redisCommand(r, "FLUSHDB"));
        ok_reply(r, redisCommand(r, "SET patuh:watermark 1775779200.0"));
        refs_t c;
        refs_load(&c);
        core_t *cc = core_new(&c.ctx, &csb);
        err[0] = '\0';
        assert_int_equal(
            store_restore(cc, &c.ctx, host, port, REDIS_DB, err, sizeof(err)),
            -1);
        assert_non_null(strstr(err, "layout"));
        core_free(cc);
        refs_free(&c);

        freeReplyObject(redisCommand(r, "FLUSHDB"));
        redisFree(r);
        batch_free(&batch);
        store_writer_free(wr.sw);
        event_base_free(wr.base);
        core_free(ca);
        core_free(cb);
        refs_free(&a);
        refs_free(&b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_pub_round_trip),
            cmocka_unit_test(test_pub_refused),
            cmocka_unit_test(test_envelope_round_trip),
            cmocka_unit_test(test_frame_round_trip),
            cmocka_unit_test(test_frame_place),
            cmocka_unit_test(test_batch_order),
            cmocka_unit_test(test_ckpt_round_trip),
            cmocka_unit_test(test_work_of_unit),
            cmocka_unit_test(test_redis_work),
            cmocka_unit_test(test_redis_restore),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
