/*
 * test_record — decoding input records and the admission checks of SPEC
 * §5 and §7: form (malformed / invalid), roster (unknown_employee) and
 * timing (future / too_late).
 *
 * Every bad record must land in the dead-letter stream with the reason an
 * operator would expect; every good one must decode into exactly the
 * fields it carries.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "ptime.h"
#include "../consumers/envelope.h"
#include "../consumers/record.h"
#include "roster.h"

#define POLICY_PATH PATUH_SOURCE_DIR "/rules/balikpapan-se737-2026.json"
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define EMP_A "198703152010011002" /* staff */
#define EMP_S "197905102005011003" /* A's supervisor */
#define EMP_X "199001012020011001" /* not in the roster */
#define ID64 "a234567890123456789012345678901234567890123456789012345678901234"
#define ID65 ID64 "5"

/* Record fields, one JSON member each, so that a case can drop or change
 * exactly one of them. */
#define P_EV "\"event_id\":\"p-0001\""
#define P_EMP "\"employee_id\":\"" EMP_A "\""
#define P_TYPE "\"type\":\"clock_in\""
#define P_MODE "\"mode\":\"wfh\""
#define P_AT "\"at\":\"2026-04-10T07:41:09+08:00\""
#define PRES(...) "{" __VA_ARGS__ "}"
#define P_OK                                                                   \
        PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT                     \
                  ",\"source\":\"e-manuntung\"")

#define C_EV "\"event_id\":\"c-77\""
#define C_ID "\"call_id\":\"call-9f2\""
#define C_FROM "\"caller_id\":\"" EMP_S "\""
#define C_TO "\"callee_id\":\"" EMP_A "\""
#define C_AT "\"at\":\"2026-04-10T09:12:00+08:00\""
#define C_OUT "\"outcome\":\"missed\""
#define C_OK "{" C_EV "," C_ID "," C_FROM "," C_TO "," C_AT "," C_OUT "}"

#define X_EV "\"event_id\":\"x-5\""
#define X_ID "\"excuse_id\":\"cuti-2026-0412\""
#define X_EMP "\"employee_id\":\"" EMP_A "\""
#define X_KIND "\"kind\":\"cuti\""
#define X_FROM "\"from\":\"2026-04-10\""
#define X_TO "\"to\":\"2026-04-14\""
#define X_UPD "\"updated_at\":\"2026-04-09T15:02:00+08:00\""
#define X_BASE X_EV "," X_ID "," X_EMP "," X_KIND "," X_FROM "," X_TO
#define X_OK "{" X_BASE "," X_UPD ",\"revoked\":false}"

/* 2026-04-10T07:41:09+08:00 */
#define T_PRESENCE INT64_C(1775778069)
/* 2026-04-10T09:12:00+08:00 */
#define T_CALL INT64_C(1775783520)
/* 2026-04-09T15:02:00+08:00 */
#define T_UPDATED INT64_C(1775718120)
#define D_20260410 20553

static ptime_t at(const char *s)
{
        ptime_t t = {0, 0};
        if (!ptime_parse_rfc3339(s, strlen(s), &t))
                fail_msg("fixture timestamp '%s' refused", s);
        return t;
}

static const char *reason(dlq_reason_t r)
{
        return r == DLQ_NONE ? "accepted" : dlq_reason_name(r);
}

static dlq_reason_t decode(rec_topic_t topic, const char *s, record_t *r)
{
        char detail[256] = "";
        dlq_reason_t got =
            record_decode_bytes(topic, s, strlen(s), r, detail, sizeof(detail));
        if (got != DLQ_NONE)
                fail_msg("%s refused (%s): %s", s, reason(got), detail);
        return got;
}

/* ---- valid records --------------------------------------------------- */

static void test_presence_fields(void **state)
{
        (void)state;
        record_t r;
        decode(TOPIC_PRESENCE, P_OK, &r);
        assert_int_equal(r.topic, TOPIC_PRESENCE);
        assert_string_equal(r.event_id, "p-0001");
        assert_string_equal(r.u.presence.employee_id, EMP_A);
        assert_false(r.u.presence.clock_out);
        assert_true(r.u.presence.wfh);
        assert_int_equal(r.u.presence.at.sec, T_PRESENCE);
        assert_int_equal(r.u.presence.at.nsec, 0);
        assert_string_equal(record_subject_id(&r), EMP_A);
        assert_int_equal(record_time(&r).sec, T_PRESENCE);

        decode(TOPIC_PRESENCE,
               PRES(P_EV "," P_EMP ",\"type\":\"clock_out\",\"mode\":\"wfo\","
                         "\"at\":\"2026-04-10t08:41:09.25z\""),
               &r);
        assert_true(r.u.presence.clock_out);
        assert_false(r.u.presence.wfh);
        assert_int_equal(r.u.presence.at.sec, T_PRESENCE + 9 * 3600);
        assert_int_equal(r.u.presence.at.nsec, 250000000);
}

struct outcome_case {
        const char *json;
        call_outcome_t outcome;
};

static const struct outcome_case outcomes[] = {
    {"{" C_EV "," C_ID "," C_FROM "," C_TO "," C_AT
     ",\"outcome\":\"answered\"}",
     CALL_ANSWERED},
    {C_OK, CALL_MISSED},
    {"{" C_EV "," C_ID "," C_FROM "," C_TO "," C_AT
     ",\"outcome\":\"declined\"}",
     CALL_DECLINED},
};

static void test_call_fields(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_LEN(outcomes); i++) {
                record_t r;
                decode(TOPIC_CALLS, outcomes[i].json, &r);
                assert_int_equal(r.topic, TOPIC_CALLS);
                assert_string_equal(r.event_id, "c-77");
                assert_string_equal(r.u.call.call_id, "call-9f2");
                assert_string_equal(r.u.call.caller_id, EMP_S);
                assert_string_equal(r.u.call.callee_id, EMP_A);
                assert_int_equal(r.u.call.at.sec, T_CALL);
                assert_int_equal(r.u.call.outcome, outcomes[i].outcome);
                /* a call is keyed and checked by its callee */
                assert_string_equal(record_subject_id(&r), EMP_A);
        }
}

static void test_excuse_fields(void **state)
{
        (void)state;
        record_t r;
        decode(TOPIC_EXCUSES, X_OK, &r);
        assert_int_equal(r.topic, TOPIC_EXCUSES);
        assert_string_equal(r.event_id, "x-5");
        assert_string_equal(r.u.excuse.excuse_id, "cuti-2026-0412");
        assert_string_equal(r.u.excuse.employee_id, EMP_A);
        assert_string_equal(r.u.excuse.kind, "cuti");
        assert_int_equal(r.u.excuse.from, D_20260410);
        assert_int_equal(r.u.excuse.to, D_20260410 + 4);
        assert_int_equal(r.u.excuse.updated_at.sec, T_UPDATED);
        assert_false(r.u.excuse.revoked);
        assert_string_equal(record_subject_id(&r), EMP_A);
        assert_int_equal(record_time(&r).sec, T_UPDATED);

        static const struct {
                const char *json;
                bool revoked;
        } rv[] = {
            {"{" X_BASE "," X_UPD ",\"revoked\":true}", true},
            {"{" X_BASE "," X_UPD ",\"revoked\":null}", false},
            {"{" X_BASE "," X_UPD "}", false},
        };
        for (size_t i = 0; i < ARRAY_LEN(rv); i++) {
                decode(TOPIC_EXCUSES, rv[i].json, &r);
                if (r.u.excuse.revoked != rv[i].revoked)
                        fail_msg("%s: revoked %d", rv[i].json,
                                 r.u.excuse.revoked);
        }
        decode(TOPIC_EXCUSES,
               "{" X_EV "," X_ID "," X_EMP ",\"kind\":\"cuti_bersalin\","
               "\"from\":\"2026-04-10\",\"to\":\"2026-04-10\"," X_UPD "}",
               &r);
        assert_string_equal(r.u.excuse.kind, "cuti_bersalin");
        assert_int_equal(r.u.excuse.from, r.u.excuse.to);
}

/* Escapes are JSON, not bytes: an escaped key or value is the same
 * member and the same text as its plain spelling. */
static void test_escaped_members(void **state)
{
        (void)state;
        record_t r;
        decode(TOPIC_PRESENCE,
               "{\"event\\u005fid\":\"p-\\u0030001\","
               "\"employee_id\":\"1987\\u00303152010011002\","
               "\"type\":\"clock\\u005fout\",\"\\u006dode\":\"wfh\","
               "\"at\":\"2026-04-10T07:41:09\\u002b08:00\"}",
               &r);
        assert_string_equal(r.event_id, "p-0001");
        assert_string_equal(r.u.presence.employee_id, EMP_A);
        assert_true(r.u.presence.clock_out);
        assert_true(r.u.presence.wfh);
        assert_int_equal(r.u.presence.at.sec, T_PRESENCE);
}

/* Records of unusual size or depth are decided, never crash the decoder:
 * many unknown members (more tokens than fit on the stack) are ignored. */
static void test_large_records(void **state)
{
        (void)state;
        size_t cap = 1 << 20, len = 0;
        char *buf = malloc(cap);
        assert_non_null(buf);
        static const char head[] =
            "{" P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT ",\"samples\":[";
        memcpy(buf, head, sizeof(head) - 1);
        len = sizeof(head) - 1;
        for (int i = 0; i < 5000; i++) {
                int w = snprintf(buf + len, cap - len, "%s{\"v\":%d}",
                                 i ? "," : "", i);
                assert_true(w > 0 && (size_t)w < cap - len);
                len += (size_t)w;
        }
        memcpy(buf + len, "]}", 2);
        len += 2;
        record_t r;
        char detail[256] = "";
        assert_int_equal(record_decode_bytes(TOPIC_PRESENCE, buf, len, &r,
                                             detail, sizeof(detail)),
                         DLQ_NONE);
        assert_string_equal(r.u.presence.employee_id, EMP_A);

        /* 200000 nested arrays in an unknown member: whatever the depth
         * limit, the answer is a decision (the engine must not crash). */
        len = sizeof(head) - 1;
        for (int i = 0; i < 200000; i++)
                buf[len++] = '[';
        for (int i = 0; i < 200000; i++)
                buf[len++] = ']';
        memcpy(buf + len, "]}", 2);
        len += 2;
        assert_true(len < cap);
        dlq_reason_t got = record_decode_bytes(TOPIC_PRESENCE, buf, len, &r,
                                               detail, sizeof(detail));
        if (got != DLQ_NONE && got != DLQ_MALFORMED)
                fail_msg("deep record: %s", reason(got));
        /* unbalanced: always malformed */
        len -= 3;
        assert_int_equal(record_decode_bytes(TOPIC_PRESENCE, buf, len, &r,
                                             detail, sizeof(detail)),
                         DLQ_MALFORMED);
        free(buf);
}

/* ---- the dead-letter table ------------------------------------------ */

struct form_case {
        rec_topic_t topic;
        const char *bytes;
        size_t len; /* 0: strlen(bytes) */
        dlq_reason_t want;
};

#define P TOPIC_PRESENCE
#define C TOPIC_CALLS
#define X TOPIC_EXCUSES
#define MAL DLQ_MALFORMED
#define INV DLQ_INVALID
#define OK DLQ_NONE

#define NUL_INSIDE "{\"event_id\":\"p-1\"\0}"

static const struct form_case forms[] = {
    /* not JSON, or JSON that is not an object: malformed */
    {P, "not json", 0, MAL},
    {P, "", 0, MAL},
    {P, "[" P_OK "]", 0, MAL},
    {P, "\"clock_in\"", 0, MAL},
    {P, "42", 0, MAL},
    {P, "null", 0, MAL},
    {P, "true", 0, MAL},
    {P, "{\"event_id\":\"p-0001\",\"employee_id\":\"1987", 0, MAL},
    {P, P_OK P_OK, 0, MAL},
    {P, P_OK ",", 0, MAL},
    {P,
     PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT
               ",\"source\":\"e-\xff\xfe\""),
     0, MAL},                          /* not UTF-8 */
    {P, P_OK "\0", sizeof(P_OK), MAL}, /* a NUL byte after the object */
    {C, "[]", 0, MAL},
    {C, "{" C_EV "," C_ID, 0, MAL},
    {X, "\"cuti\"", 0, MAL},
    {X, "{" X_BASE, 0, MAL},

    /* JSON grammar, strictly (RFC 8259): malformed */
    {P, "{\"event_id\":\"p-1\",}", 0, MAL},
    {P, "{'event_id':'p-1'}", 0, MAL},
    {P, "{\"event_id\":\"p-1\"", 0, MAL},
    {P, "{\"event_id\":\"p-1}", 0, MAL},
    {P, "{\"event_id\" \"p-1\"}", 0, MAL},
    {P, "{event_id:\"p-1\"}", 0, MAL},
    {P, P_OK " x", 0, MAL},
    {P, "\xEF\xBB\xBF" P_OK, 0, MAL}, /* a BOM is not part of JSON */
    {P,
     PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT ",\"note\":\"a\tb\""),
     0, MAL}, /* raw control character in a string */
    {P,
     PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT ",\"note\":\"a\\xb\""),
     0, MAL}, /* unknown escape */
    {P,
     PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT ",\"note\":\"\\u12\""),
     0, MAL},
    {P,
     PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT
               ",\"note\":\"\\ud800\""),
     0, MAL}, /* lone surrogate */
    {P,
     PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT
               ",\"note\":\"\xC0\xAF\""),
     0, MAL}, /* overlong UTF-8 */
    {P,
     PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT
               ",\"note\":\"\xED\xA0\x80\""),
     0, MAL}, /* UTF-8-encoded surrogate */
    {P, PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT ",\"n\":01"), 0,
     MAL},
    {P, PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT ",\"n\":1."), 0,
     MAL},
    {P, PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT ",\"n\":.5"), 0,
     MAL},
    {P, PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT ",\"n\":+1"), 0,
     MAL},
    {P, PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT ",\"n\":1e"), 0,
     MAL},
    {P, PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT ",\"n\":NaN"), 0,
     MAL},
    {P, PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT ",\"n\":tru"), 0,
     MAL},
    {P, PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT ",\"n\":[1,2"), 0,
     MAL},
    {P, NUL_INSIDE, sizeof(NUL_INSIDE) - 1, MAL}, /* raw NUL */
    /* JSON grammar: accepted */
    {P, " \n\t" P_OK " \r\n", 0, OK},
    {P,
     PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT
               ",\"nama\":\"S\xC3\xAFti \xF0\x9F\x98\x80\","
               "\"e\":\"\\ud83d\\ude00 \\\" \\\\ \\/\","
               "\"n\":[0,-0.5e+10,1E5,true,false,null,{}]"),
     0, OK},

    /* presence: required fields, missing or null */
    {P, PRES(P_EMP "," P_TYPE "," P_MODE "," P_AT), 0, INV},
    {P, PRES("\"event_id\":null," P_EMP "," P_TYPE "," P_MODE "," P_AT), 0,
     INV},
    {P, PRES(P_EV "," P_TYPE "," P_MODE "," P_AT), 0, INV},
    {P, PRES(P_EV ",\"employee_id\":null," P_TYPE "," P_MODE "," P_AT), 0, INV},
    {P, PRES(P_EV "," P_EMP "," P_MODE "," P_AT), 0, INV},
    {P, PRES(P_EV "," P_EMP ",\"type\":null," P_MODE "," P_AT), 0, INV},
    {P, PRES(P_EV "," P_EMP "," P_TYPE "," P_AT), 0, INV},
    {P, PRES(P_EV "," P_EMP "," P_TYPE ",\"mode\":null," P_AT), 0, INV},
    {P, PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE), 0, INV},
    {P, PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE ",\"at\":null"), 0, INV},
    {P, "{}", 0, INV},
    /* presence: values out of form */
    {P, PRES(P_EV "," P_EMP ",\"type\":\"clock-out\"," P_MODE "," P_AT), 0,
     INV},
    {P, PRES(P_EV "," P_EMP ",\"type\":\"CLOCK_IN\"," P_MODE "," P_AT), 0, INV},
    {P, PRES(P_EV "," P_EMP ",\"type\":1," P_MODE "," P_AT), 0, INV},
    {P, PRES(P_EV "," P_EMP "," P_TYPE ",\"mode\":\"home\"," P_AT), 0, INV},
    {P, PRES(P_EV "," P_EMP "," P_TYPE ",\"mode\":\"WFH\"," P_AT), 0, INV},
    {P, PRES("\"event_id\":\"p 1\"," P_EMP "," P_TYPE "," P_MODE "," P_AT), 0,
     INV},
    {P, PRES("\"event_id\":\"p/1\"," P_EMP "," P_TYPE "," P_MODE "," P_AT), 0,
     INV},
    {P, PRES("\"event_id\":1," P_EMP "," P_TYPE "," P_MODE "," P_AT), 0, INV},
    {P, PRES("\"event_id\":\"" ID65 "\"," P_EMP "," P_TYPE "," P_MODE "," P_AT),
     0, INV},
    {P, PRES(P_EV ",\"employee_id\":\"1987 0315\"," P_TYPE "," P_MODE "," P_AT),
     0, INV},
    {P, PRES(P_EV ",\"employee_id\":\"" ID65 "\"," P_TYPE "," P_MODE "," P_AT),
     0, INV},
    {P, PRES(P_EV ",\"employee_id\":\"\"," P_TYPE "," P_MODE "," P_AT), 0, INV},
    {P,
     PRES(P_EV ",\"employee_id\":198703152010011002," P_TYPE "," P_MODE
               "," P_AT),
     0, INV},
    {P,
     PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE
               ",\"at\":\"2026-04-10T07:41:09\""),
     0, INV},
    {P,
     PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE
               ",\"at\":\"2026-04-10 07:41:09+08:00\""),
     0, INV},
    {P,
     PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE
               ",\"at\":\"2026-04-10T07:41+08:00\""),
     0, INV},
    {P, PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE ",\"at\":1775778069"), 0,
     INV},
    /* valid JSON (\u0000 is legal in a JSON string), bad timestamp */
    {P,
     PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE
               ",\"at\":\"2026-04-10T07:41:09+08:00\\u0000\""),
     0, INV},
    /* presence: accepted */
    {P, P_OK, 0, OK},
    {P, PRES(P_EV ",\"employee_id\":\"" ID64 "\"," P_TYPE "," P_MODE "," P_AT),
     0, OK},
    {P, PRES("\"event_id\":\"Az09._:-\"," P_EMP "," P_TYPE "," P_MODE "," P_AT),
     0, OK},
    {P,
     PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT
               ",\"device\":{\"id\":[1,2,{\"x\":null}]},\"lat\":-1.2"),
     0, OK},
    /* unknown fields are ignored, whatever they hold */
    {P,
     PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE "," P_AT
               ",\"note\":\"a\\u0000b\""),
     0, OK},

    /* calls */
    {C, C_OK, 0, OK},
    {C,
     "{" C_EV "," C_ID "," C_FROM "," C_TO "," C_AT "," C_OUT
     ",\"duration_s\":0,\"channel\":\"whatsapp\"}",
     0, OK},
    {C, "{" C_ID "," C_FROM "," C_TO "," C_AT "," C_OUT "}", 0, INV},
    {C, "{" C_EV "," C_FROM "," C_TO "," C_AT "," C_OUT "}", 0, INV},
    {C, "{" C_EV ",\"call_id\":null," C_FROM "," C_TO "," C_AT "," C_OUT "}", 0,
     INV},
    {C, "{" C_EV "," C_ID "," C_TO "," C_AT "," C_OUT "}", 0, INV},
    {C,
     "{" C_EV "," C_ID ",\"caller_id\":\"bad id\"," C_TO "," C_AT "," C_OUT "}",
     0, INV},
    {C, "{" C_EV "," C_ID "," C_FROM "," C_AT "," C_OUT "}", 0, INV},
    {C, "{" C_EV "," C_ID "," C_FROM ",\"callee_id\":null," C_AT "," C_OUT "}",
     0, INV},
    {C, "{" C_EV "," C_ID "," C_FROM "," C_TO "," C_OUT "}", 0, INV},
    {C,
     "{" C_EV "," C_ID "," C_FROM "," C_TO
     ",\"at\":\"2026-04-10T09:12:00\"," C_OUT "}",
     0, INV},
    {C, "{" C_EV "," C_ID "," C_FROM "," C_TO "," C_AT "}", 0, INV},
    {C, "{" C_EV "," C_ID "," C_FROM "," C_TO "," C_AT ",\"outcome\":null}", 0,
     INV},
    {C, "{" C_EV "," C_ID "," C_FROM "," C_TO "," C_AT ",\"outcome\":\"busy\"}",
     0, INV},
    {C,
     "{" C_EV "," C_ID "," C_FROM "," C_TO "," C_AT ",\"outcome\":\"Missed\"}",
     0, INV},
    {C, "{" C_EV "," C_ID "," C_FROM "," C_TO "," C_AT ",\"outcome\":false}", 0,
     INV},

    /* excuses */
    {X, X_OK, 0, OK},
    {X, "{" X_BASE "," X_UPD ",\"revoked\":null}", 0, OK},
    {X, "{" X_BASE "," X_UPD ",\"approved_by\":\"x\"}", 0, OK},
    {X,
     "{" X_EV "," X_ID "," X_EMP ",\"kind\":\"cuti_besar\"," X_FROM "," X_TO
     "," X_UPD "}",
     0, OK},
    {X,
     "{" X_EV "," X_ID "," X_EMP ",\"kind\":\"dinas_luar\"," X_FROM "," X_TO
     "," X_UPD "}",
     0, OK},
    {X, "{" X_BASE "}", 0, INV}, /* no updated_at */
    {X, "{" X_BASE ",\"updated_at\":null}", 0, INV},
    {X, "{" X_BASE ",\"updated_at\":\"2026-04-09T15:02:00\"}", 0, INV},
    {X, "{" X_BASE ",\"updated_at\":\"2026-04-09\"}", 0, INV},
    {X, "{" X_BASE "," X_UPD ",\"revoked\":\"false\"}", 0, INV},
    {X, "{" X_BASE "," X_UPD ",\"revoked\":\"true\"}", 0, INV},
    {X, "{" X_BASE "," X_UPD ",\"revoked\":0}", 0, INV},
    {X,
     "{" X_EV "," X_ID "," X_EMP "," X_KIND ",\"from\":\"2026-04-15\"," X_TO
     "," X_UPD "}",
     0, INV}, /* from after to */
    {X,
     "{" X_EV "," X_ID "," X_EMP "," X_KIND ",\"from\":\"2026-4-10\"," X_TO
     "," X_UPD "}",
     0, INV},
    {X,
     "{" X_EV "," X_ID "," X_EMP "," X_KIND ",\"from\":\"2026-02-30\"," X_TO
     "," X_UPD "}",
     0, INV},
    {X,
     "{" X_EV "," X_ID "," X_EMP "," X_KIND
     ",\"from\":\"2026-04-10T00:00:00+08:00\"," X_TO "," X_UPD "}",
     0, INV},
    {X, "{" X_EV "," X_ID "," X_EMP "," X_KIND "," X_FROM "," X_UPD "}", 0,
     INV}, /* no to */
    {X,
     "{" X_EV "," X_ID "," X_EMP "," X_KIND "," X_FROM ",\"to\":null," X_UPD
     "}",
     0, INV},
    {X, "{" X_EV "," X_ID "," X_EMP "," X_FROM "," X_TO "," X_UPD "}", 0,
     INV}, /* no kind */
    {X,
     "{" X_EV "," X_ID "," X_EMP ",\"kind\":null," X_FROM "," X_TO "," X_UPD
     "}",
     0, INV},
    {X,
     "{" X_EV "," X_ID "," X_EMP ",\"kind\":5," X_FROM "," X_TO "," X_UPD "}",
     0, INV},
    {X,
     "{" X_EV "," X_ID "," X_EMP ",\"kind\":[\"cuti\"]," X_FROM "," X_TO
     "," X_UPD "}",
     0, INV},
    {X, "{" X_EV "," X_EMP "," X_KIND "," X_FROM "," X_TO "," X_UPD "}", 0,
     INV}, /* no excuse_id */
    {X,
     "{" X_EV ",\"excuse_id\":\"cuti 1\"," X_EMP "," X_KIND "," X_FROM "," X_TO
     "," X_UPD "}",
     0, INV},
    {X, "{" X_EV "," X_ID "," X_KIND "," X_FROM "," X_TO "," X_UPD "}", 0,
     INV}, /* no employee_id */
    {X, "{" X_ID "," X_EMP "," X_KIND "," X_FROM "," X_TO "," X_UPD "}", 0,
     INV}, /* no event_id */
};

static void test_form_table(void **state)
{
        (void)state;
        int failures = 0;
        for (size_t i = 0; i < ARRAY_LEN(forms); i++) {
                const struct form_case *c = &forms[i];
                size_t len = c->len ? c->len : strlen(c->bytes);
                record_t r;
                char detail[256] = "";
                dlq_reason_t got = record_decode_bytes(
                    c->topic, c->bytes, len, &r, detail, sizeof(detail));
                if (got != c->want) {
                        print_error("case %zu (%s) %s: got %s, want %s "
                                    "(%s)\n",
                                    i, rec_topic_name(c->topic), c->bytes,
                                    reason(got), reason(c->want), detail);
                        failures++;
                        continue;
                }
                if (got != DLQ_NONE && detail[0] == '\0') {
                        print_error("case %zu: no detail for %s\n", i,
                                    reason(got));
                        failures++;
                }
                /* The parsed-value path agrees wherever the bytes parse. */
                json_error_t jerr;
                json_t *v = json_loadb(c->bytes, len,
                                       JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
                if (!v)
                        continue;
                dlq_reason_t got2 =
                    record_decode_json(c->topic, v, &r, detail, sizeof(detail));
                json_decref(v);
                if (got2 != c->want) {
                        print_error("case %zu (json) %s: got %s, want %s\n", i,
                                    c->bytes, reason(got2), reason(c->want));
                        failures++;
                }
        }
        assert_int_equal(failures, 0);
}

/* ---- every entry point, literal fields -------------------------------- */

/* A record reaches the decoder four ways: Kafka bytes, a jansson value, a
 * replay envelope with the record inline (decoded from the envelope's own
 * tokens) and a replay envelope with the record as a string.  Each must
 * give the fields SPEC §1 and §7 say, written out here by hand. */
struct field_case {
        const char *json;
        record_t want;
};

#define A10 "aaaaaaaaaa"
#define KIND70 A10 A10 A10 A10 A10 A10 A10
#define KIND62 A10 A10 A10 A10 A10 A10 "aa"
#define X_KIND_OF(k)                                                           \
        "{" X_EV "," X_ID "," X_EMP ",\"kind\":\"" k "\"," X_FROM "," X_TO     \
        "," X_UPD "}"
#define PRES_WANT(ev, out, home, s, ns)                                        \
        {                                                                      \
                .topic = TOPIC_PRESENCE, .event_id = ev,                       \
                .u.presence = {.employee_id = EMP_A,                           \
                               .clock_out = out,                               \
                               .wfh = home,                                    \
                               .at = {s, ns}},                                 \
        }
#define CALL_WANT(oc)                                                          \
        {                                                                      \
                .topic = TOPIC_CALLS, .event_id = "c-77",                      \
                .u.call = {.call_id = "call-9f2",                              \
                           .caller_id = EMP_S,                                 \
                           .callee_id = EMP_A,                                 \
                           .at = {T_CALL, 0},                                  \
                           .outcome = oc},                                     \
        }
#define EXCUSE_WANT(k, f, t, rv)                                               \
        {                                                                      \
                .topic = TOPIC_EXCUSES, .event_id = "x-5",                     \
                .u.excuse = {.excuse_id = "cuti-2026-0412",                    \
                             .employee_id = EMP_A,                             \
                             .kind = k,                                        \
                             .from = f,                                        \
                             .to = t,                                          \
                             .updated_at = {T_UPDATED, 0},                     \
                             .revoked = rv},                                   \
        }

static const struct field_case field_cases[] = {
    {P_OK, PRES_WANT("p-0001", false, true, T_PRESENCE, 0)},
    /* repeated keys: the last wins */
    {PRES("\"event_id\":\"p-9\"," P_EV ",\"type\":\"clock_out\"," P_EMP
          "," P_TYPE ",\"mode\":\"wfo\"," P_MODE "," P_AT),
     PRES_WANT("p-0001", false, true, T_PRESENCE, 0)},
    /* t/z in either case, fractions kept to the nanosecond */
    {PRES(P_EV "," P_EMP ",\"type\":\"clock_out\",\"mode\":\"wfo\","
               "\"at\":\"2026-04-10t08:41:09.25z\""),
     PRES_WANT("p-0001", true, false, T_PRESENCE + 9 * 3600, 250000000)},
    /* -00:00 is UTC; a leap second reads as :59 */
    {PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE
               ",\"at\":\"2026-04-09T23:41:09-00:00\""),
     PRES_WANT("p-0001", false, true, T_PRESENCE, 0)},
    {PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE
               ",\"at\":\"2026-04-10T07:41:60+08:00\""),
     PRES_WANT("p-0001", false, true, T_PRESENCE + 50, 0)},
    {C_OK, CALL_WANT(CALL_MISSED)},
    {"{" C_EV "," C_ID "," C_FROM "," C_TO "," C_AT
     ",\"outcome\":\"answered\"}",
     CALL_WANT(CALL_ANSWERED)},
    {"{" C_EV "," C_ID "," C_FROM "," C_TO "," C_AT
     ",\"outcome\":\"declined\"}",
     CALL_WANT(CALL_DECLINED)},
    {X_OK, EXCUSE_WANT("cuti", D_20260410, D_20260410 + 4, false)},
    {"{" X_BASE "," X_UPD ",\"revoked\":true}",
     EXCUSE_WANT("cuti", D_20260410, D_20260410 + 4, true)},
    {"{" X_BASE "," X_UPD ",\"revoked\":null}",
     EXCUSE_WANT("cuti", D_20260410, D_20260410 + 4, false)},
    /* free text kind: 63 bytes kept, cut on a character boundary */
    {X_KIND_OF(KIND70),
     EXCUSE_WANT(KIND62 "a", D_20260410, D_20260410 + 4, false)},
    {X_KIND_OF(KIND62 "\xC3\xA9"),
     EXCUSE_WANT(KIND62, D_20260410, D_20260410 + 4, false)},
};

static void check_record(const char *via, size_t i, const record_t *w,
                         const record_t *g)
{
        const char *what = NULL;
        if (g->topic != w->topic)
                what = "topic";
        else if (strcmp(g->event_id, w->event_id) != 0)
                what = "event_id";
        else if (w->topic == TOPIC_PRESENCE) {
                const rec_presence_t *a = &w->u.presence, *b = &g->u.presence;
                what = strcmp(a->employee_id, b->employee_id) ? "employee_id"
                       : a->clock_out != b->clock_out         ? "type"
                       : a->wfh != b->wfh                     ? "mode"
                       : ptime_cmp(a->at, b->at) != 0         ? "at"
                                                              : NULL;
        } else if (w->topic == TOPIC_CALLS) {
                const rec_call_t *a = &w->u.call, *b = &g->u.call;
                what = strcmp(a->call_id, b->call_id)       ? "call_id"
                       : strcmp(a->caller_id, b->caller_id) ? "caller_id"
                       : strcmp(a->callee_id, b->callee_id) ? "callee_id"
                       : ptime_cmp(a->at, b->at) != 0       ? "at"
                       : a->outcome != b->outcome           ? "outcome"
                                                            : NULL;
        } else {
                const rec_excuse_t *a = &w->u.excuse, *b = &g->u.excuse;
                what = strcmp(a->excuse_id, b->excuse_id)        ? "excuse_id"
                       : strcmp(a->employee_id, b->employee_id)  ? "employee_id"
                       : strcmp(a->kind, b->kind)                ? "kind"
                       : a->from != b->from                      ? "from"
                       : a->to != b->to                          ? "to"
                       : ptime_cmp(a->updated_at, b->updated_at) ? "updated_at"
                       : a->revoked != b->revoked                ? "revoked"
                                                                 : NULL;
        }
        if (what)
                fail_msg("case %zu via %s: %s differs (%s)", i, via, what,
                         field_cases[i].json);
}

/* An envelope line around `json`: inline, or as a JSON string. */
static void envelope_of(rec_topic_t topic, const char *json, bool as_string,
                        char *buf, size_t n)
{
        size_t k = (size_t)snprintf(buf, n,
                                    "{\"topic\":\"%s\",\"ts\":"
                                    "\"2026-04-10T08:00:00+08:00\",\"value\":",
                                    rec_topic_name(topic));
        if (as_string)
                buf[k++] = '"';
        for (const char *s = json; *s && k + 4 < n; s++) {
                if (as_string && (*s == '"' || *s == '\\'))
                        buf[k++] = '\\';
                buf[k++] = *s;
        }
        if (as_string)
                buf[k++] = '"';
        assert_true(k + 2 < n);
        buf[k++] = '}';
        buf[k] = '\0';
}

static void test_entry_points(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_LEN(field_cases); i++) {
                const struct field_case *c = &field_cases[i];
                rec_topic_t t = c->want.topic;
                record_t got;
                char detail[256] = "";

                decode(t, c->json, &got);
                check_record("bytes", i, &c->want, &got);

                json_t *v = json_loads(c->json, 0, NULL);
                assert_non_null(v);
                assert_int_equal(
                    record_decode_json(t, v, &got, detail, sizeof(detail)),
                    DLQ_NONE);
                json_decref(v);
                check_record("jansson", i, &c->want, &got);

                for (int as_string = 0; as_string < 2; as_string++) {
                        char line[2048];
                        envelope_t env;
                        envelope_of(t, c->json, as_string, line, sizeof(line));
                        dlq_reason_t r = envelope_parse(
                            &env, line, strlen(line), detail, sizeof(detail));
                        if (r == DLQ_NONE)
                                r = envelope_record(&env, &got, detail,
                                                    sizeof(detail));
                        bool has_ts = env.has_ts;
                        int64_t ts = env.ts.sec;
                        envelope_free(&env);
                        if (r != DLQ_NONE)
                                fail_msg("%s: refused (%s): %s", line,
                                         reason(r), detail);
                        assert_true(has_ts);
                        /* 2026-04-10T08:00:00+08:00 */
                        assert_int_equal(ts, INT64_C(1775779200));
                        check_record(as_string ? "envelope string"
                                               : "envelope inline",
                                     i, &c->want, &got);
                }
        }
}

/* SPEC §7 "Envelope before value": the envelope is checked first, then the
 * record inside it, whichever way the record is carried. */
struct envelope_case {
        const char *line;
        dlq_reason_t want;
        bool has_ts; /* when accepted */
};

#define ENV_TS "\"ts\":\"2026-04-10T08:00:00+08:00\""
#define P_STR                                                                  \
        "\"{\\\"event_id\\\":\\\"p-0001\\\",\\\"employee_id\\\":\\\"" EMP_A    \
        "\\\",\\\"type\\\":\\\"clock_in\\\",\\\"mode\\\":\\\"wfh\\\","         \
        "\\\"at\\\":\\\"2026-04-10T07:41:09+08:00\\\"}\""

static const struct envelope_case envelopes[] = {
    {"{\"topic\":\"presence\"," ENV_TS ",\"value\":" P_OK "}", OK, true},
    {"{\"topic\":\"presence\"," ENV_TS ",\"value\":" P_STR "}", OK, true},
    {"{\"topic\":\"presence\",\"value\":" P_OK "}", OK, false},
    {"{\"topic\":\"presence\",\"ts\":null,\"value\":" P_OK "}", OK, false},
    /* the envelope itself */
    {"not json", MAL, false},
    {"", MAL, false},
    {"[{\"topic\":\"presence\",\"value\":" P_OK "}]", MAL, false},
    {"{\"topic\":\"presence\",\"value\":" P_OK, MAL, false},
    {"{\"topic\":\"presences\"," ENV_TS ",\"value\":" P_OK "}", INV, false},
    {"{\"topic\":\"Presence\"," ENV_TS ",\"value\":" P_OK "}", INV, false},
    {"{\"topic\":1," ENV_TS ",\"value\":" P_OK "}", INV, false},
    {"{" ENV_TS ",\"value\":" P_OK "}", INV, false},
    {"{\"topic\":\"presence\"," ENV_TS "}", INV, false},
    {"{\"topic\":\"presence\"," ENV_TS ",\"value\":null}", INV, false},
    {"{\"topic\":\"presence\",\"ts\":\"2026-04-10T08:00:00\",\"value\":" P_OK
     "}",
     INV, false},
    {"{\"topic\":\"presence\",\"ts\":1775779200,\"value\":" P_OK "}", INV,
     false},
    /* envelope before value: a bad envelope around a bad value */
    {"{\"topic\":\"bogus\",\"value\":\"not json\"}", INV, false},
    {"{\"topic\":\"presence\",\"ts\":\"yesterday\",\"value\":[1]}", INV, false},
    /* then the value */
    {"{\"topic\":\"presence\"," ENV_TS ",\"value\":\"not json\"}", MAL, false},
    {"{\"topic\":\"presence\"," ENV_TS ",\"value\":\"[1]\"}", MAL, false},
    {"{\"topic\":\"presence\"," ENV_TS ",\"value\":[1]}", MAL, false},
    {"{\"topic\":\"presence\"," ENV_TS ",\"value\":42}", MAL, false},
    {"{\"topic\":\"presence\"," ENV_TS ",\"value\":\"{}\\u0000\"}", MAL, false},
    {"{\"topic\":\"presence\"," ENV_TS ",\"value\":{}}", INV, false},
    {"{\"topic\":\"calls\"," ENV_TS ",\"value\":" P_OK "}", INV, false},
    {"{\"topic\":\"excuses\"," ENV_TS ",\"value\":" C_OK "}", INV, false},
};

static void test_envelope_table(void **state)
{
        (void)state;
        int failures = 0;
        for (size_t i = 0; i < ARRAY_LEN(envelopes); i++) {
                const struct envelope_case *c = &envelopes[i];
                envelope_t env;
                record_t rec;
                char detail[256] = "";
                dlq_reason_t got = envelope_parse(
                    &env, c->line, strlen(c->line), detail, sizeof(detail));
                if (got == DLQ_NONE)
                        got =
                            envelope_record(&env, &rec, detail, sizeof(detail));
                bool has_ts = env.has_ts;
                envelope_free(&env);
                if (got != c->want) {
                        print_error("envelope %zu %s: got %s, want %s (%s)\n",
                                    i, c->line, reason(got), reason(c->want),
                                    detail);
                        failures++;
                } else if (got != DLQ_NONE && detail[0] == '\0') {
                        print_error("envelope %zu: no detail\n", i);
                        failures++;
                } else if (got == DLQ_NONE &&
                           (has_ts != c->has_ts ||
                            strcmp(rec.event_id, "p-0001") != 0)) {
                        print_error("envelope %zu %s: ts %d, event_id %s\n", i,
                                    c->line, has_ts, rec.event_id);
                        failures++;
                }
        }
        assert_int_equal(failures, 0);
}

/* ---- roster check ---------------------------------------------------- */

#define ROSTER                                                                 \
        "{\"employee_id\":\"" EMP_S "\",\"unit_id\":\"diskominfo\","           \
        "\"position_class\":\"administrator\",\"tpp_monthly\":11200000}\n"     \
        "{\"employee_id\":\"" EMP_A "\",\"unit_id\":\"diskominfo\","           \
        "\"position_class\":\"pelaksana\",\"supervisor_id\":\"" EMP_S          \
        "\",\"tpp_monthly\":4500000}\n"

#define PRES_OF(emp)                                                           \
        PRES(P_EV ",\"employee_id\":\"" emp "\"," P_TYPE "," P_MODE "," P_AT)
#define CALL_OF(from, to)                                                      \
        "{" C_EV "," C_ID ",\"caller_id\":\"" from "\",\"callee_id\":\"" to    \
        "\"," C_AT "," C_OUT "}"
#define EXCUSE_OF(emp)                                                         \
        "{" X_EV "," X_ID ",\"employee_id\":\"" emp "\"," X_KIND "," X_FROM    \
        "," X_TO "," X_UPD "}"

struct roster_case {
        rec_topic_t topic;
        const char *json;
        dlq_reason_t want;
};

static const struct roster_case roster_cases[] = {
    {P, PRES_OF(EMP_A), OK},
    {P, PRES_OF(EMP_S), OK},
    {P, PRES_OF(EMP_X), DLQ_UNKNOWN_EMPLOYEE},
    {C, CALL_OF(EMP_S, EMP_A), OK},
    {C, CALL_OF(EMP_A, EMP_S), OK},
    /* an unknown caller only makes it no duty call */
    {C, CALL_OF(EMP_X, EMP_A), OK},
    {C, CALL_OF(EMP_A, EMP_X), DLQ_UNKNOWN_EMPLOYEE},
    {C, CALL_OF(EMP_X, EMP_X), DLQ_UNKNOWN_EMPLOYEE},
    {X, EXCUSE_OF(EMP_A), OK},
    {X, EXCUSE_OF(EMP_X), DLQ_UNKNOWN_EMPLOYEE},
};

static void test_roster_check(void **state)
{
        (void)state;
        char err[512] = "";
        roster_t *roster = roster_load_buffer(
            ROSTER, strlen(ROSTER), "roster file r.jsonl", err, sizeof(err));
        if (!roster)
                fail_msg("roster refused: %s", err);
        for (size_t i = 0; i < ARRAY_LEN(roster_cases); i++) {
                const struct roster_case *c = &roster_cases[i];
                record_t r;
                decode(c->topic, c->json, &r);
                char detail[256] = "";
                dlq_reason_t got =
                    record_check_roster(&r, roster, detail, sizeof(detail));
                if (got != c->want)
                        fail_msg("%s: got %s, want %s", c->json, reason(got),
                                 reason(c->want));
                if (got != DLQ_NONE && !strstr(detail, EMP_X))
                        fail_msg("%s: detail '%s' does not name %s", c->json,
                                 detail, EMP_X);
        }
        roster_free(roster);
}

/* ---- timing ---------------------------------------------------------- */

#define PRES_AT(t)                                                             \
        PRES(P_EV "," P_EMP "," P_TYPE "," P_MODE ",\"at\":\"" t "\"")
#define CALL_AT(t)                                                             \
        "{" C_EV "," C_ID "," C_FROM "," C_TO ",\"at\":\"" t "\"," C_OUT "}"
#define EXCUSE_UPD(from, to, t)                                                \
        "{" X_EV "," X_ID "," X_EMP "," X_KIND ",\"from\":\"" from             \
        "\",\"to\":\"" to "\",\"updated_at\":\"" t "\"}"

#define ARR "2026-04-10T08:00:00+08:00"
/* Horizon 35 days: arrival local 2026-05-11 still admits work date
 * 2026-04-06 (= 2026-05-11 - 35); arrival 2026-05-12 does not. */
#define ARR_0511 "2026-05-11T09:00:00+08:00"
#define ARR_0512 "2026-05-12T09:00:00+08:00"
#define AT_0406 "2026-04-06T16:10:00+08:00"

struct timing_case {
        rec_topic_t topic;
        const char *json;
        const char *arrival; /* NULL: no arrival time */
        dlq_reason_t want;
};

static const struct timing_case timing[] = {
    /* future: more than 5 minutes, exact instants */
    {P, PRES_AT("2026-04-10T08:00:00+08:00"), ARR, OK},
    {P, PRES_AT("2026-04-10T07:00:00+08:00"), ARR, OK},
    {P, PRES_AT("2026-04-10T08:05:00+08:00"), ARR, OK},
    {P, PRES_AT("2026-04-10T00:05:00Z"), ARR, OK},
    {P, PRES_AT("2026-04-10T08:05:00.5+08:00"), ARR, DLQ_FUTURE},
    {P, PRES_AT("2026-04-10T08:05:00.000000001+08:00"), ARR, DLQ_FUTURE},
    {P, PRES_AT("2026-04-10T08:06:00+08:00"), ARR, DLQ_FUTURE},
    {P, PRES_AT("2026-04-10T00:05:01Z"), ARR, DLQ_FUTURE},
    {P, PRES_AT("2026-04-10T08:05:00.7+08:00"), "2026-04-10T08:00:00.7+08:00",
     OK},
    {P, PRES_AT("2026-04-10T08:05:00.700000001+08:00"),
     "2026-04-10T08:00:00.7+08:00", DLQ_FUTURE},
    {C, CALL_AT("2026-04-10T08:05:00+08:00"), ARR, OK},
    {C, CALL_AT("2026-04-10T08:05:01+08:00"), ARR, DLQ_FUTURE},
    /* no arrival time: both checks are skipped */
    {P, PRES_AT("2026-04-10T09:00:00+08:00"), NULL, OK},
    {P, PRES_AT("2025-01-01T09:00:00+08:00"), NULL, OK},
    {C, CALL_AT("2026-04-10T09:00:00+08:00"), NULL, OK},
    /* excuses are never future nor too late */
    {X, EXCUSE_UPD("2026-04-10", "2026-04-10", "2027-04-10T08:00:00Z"), ARR,
     OK},
    {X, EXCUSE_UPD("2026-01-05", "2026-01-06", "2026-01-05T08:00:00Z"),
     ARR_0512, OK},
    /* too_late: D < local arrival date - 35 days */
    {P, PRES_AT(AT_0406), ARR_0511, OK},
    {P, PRES_AT(AT_0406), "2026-05-11T23:59:59+08:00", OK},
    {P, PRES_AT(AT_0406), ARR_0512, DLQ_TOO_LATE},
    /* the arrival's local date: 16:00Z is already the 12th in WITA */
    {P, PRES_AT(AT_0406), "2026-05-11T15:59:59Z", OK},
    {P, PRES_AT(AT_0406), "2026-05-11T16:00:00Z", DLQ_TOO_LATE},
    /* the record's local work date, whatever offset it is written in */
    {P, PRES_AT("2026-04-05T16:10:00Z"), ARR_0511, OK},
    {P, PRES_AT("2026-04-06T00:30:00+09:00"), ARR_0511, DLQ_TOO_LATE},
    {P, PRES_AT("2026-04-05T23:30:00-01:00"), ARR_0511, OK},
    {P, PRES_AT("2026-04-05T23:59:00+08:00"), ARR_0511, DLQ_TOO_LATE},
    {P, PRES_AT("2026-04-06T15:59:59Z"), "2026-05-11T16:00:00Z", DLQ_TOO_LATE},
    {C, CALL_AT(AT_0406), ARR_0511, OK},
    {C, CALL_AT(AT_0406), ARR_0512, DLQ_TOO_LATE},
};

static void test_timing(void **state)
{
        (void)state;
        char err[512] = "";
        policy_t *p = policy_load(POLICY_PATH, err, sizeof(err));
        if (!p)
                fail_msg("shipped policy refused: %s", err);
        assert_int_equal(p->amend_horizon_days, 35);
        for (size_t i = 0; i < ARRAY_LEN(timing); i++) {
                const struct timing_case *c = &timing[i];
                record_t r;
                decode(c->topic, c->json, &r);
                ptime_t arrival = c->arrival ? at(c->arrival) : PTIME_NEVER;
                char detail[256] = "";
                dlq_reason_t got = record_check_timing(
                    &r, p, c->arrival != NULL, arrival, detail, sizeof(detail));
                if (got != c->want)
                        fail_msg("%s arriving %s: got %s, want %s (%s)",
                                 c->json, c->arrival ? c->arrival : "(none)",
                                 reason(got), reason(c->want), detail);
                if (got != DLQ_NONE && detail[0] == '\0')
                        fail_msg("%s: no detail", c->json);
        }
        policy_free(p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_presence_fields),
            cmocka_unit_test(test_call_fields),
            cmocka_unit_test(test_excuse_fields),
            cmocka_unit_test(test_escaped_members),
            cmocka_unit_test(test_large_records),
            cmocka_unit_test(test_form_table),
            cmocka_unit_test(test_entry_points),
            cmocka_unit_test(test_envelope_table),
            cmocka_unit_test(test_roster_check),
            cmocka_unit_test(test_timing),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
