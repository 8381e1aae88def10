#include "record.h"

#include "../rules/jsonv.h"
#include "../rules/tz.h"

#include <stdio.h>
#include <string.h>

static const char *const topic_names[TOPIC__COUNT] = {"presence", "calls",
                                                      "excuses"};

static const char *const reason_names[DLQ__COUNT] = {
        "", "malformed", "invalid", "unknown_employee", "too_late", "future"};

const char *rec_topic_name(rec_topic_t t)
{
        return t < TOPIC__COUNT ? topic_names[t] : "?";
}

int rec_topic_from_name(const char *name)
{
        for (int i = 0; i < TOPIC__COUNT; i++)
                if (strcmp(name, topic_names[i]) == 0)
                        return i;
        return -1;
}

const char *dlq_reason_name(dlq_reason_t r)
{
        return r < DLQ__COUNT ? reason_names[r] : "?";
}

/* A required member: missing or null is invalid (SPEC §7). */
static const json_t *req(const json_t *o, const char *key, char *detail,
                         size_t n)
{
        const json_t *j = json_object_get(o, key);
        if (!j || json_is_null(j)) {
                snprintf(detail, n, "missing field %s", key);
                return NULL;
        }
        return j;
}

static bool ident(const json_t *o, const char *key, char dst[REC_ID_MAX],
                  char *detail, size_t n)
{
        const json_t *j = req(o, key, detail, n);
        if (!j)
                return false;
        if (!json_is_string(j) ||
            !jsonv_is_identifier(json_string_value(j), json_string_length(j))) {
                snprintf(detail, n, "bad %s", key);
                return false;
        }
        memcpy(dst, json_string_value(j), json_string_length(j) + 1);
        return true;
}

static bool stamp(const json_t *o, const char *key, ptime_t *out, char *detail,
                  size_t n)
{
        const json_t *j = req(o, key, detail, n);
        if (!j)
                return false;
        if (!json_is_string(j) ||
            !ptime_parse_rfc3339(json_string_value(j), json_string_length(j),
                                 out)) {
                if (json_is_string(j))
                        snprintf(detail, n, "bad timestamp %s='%.80s'", key,
                                 json_string_value(j));
                else
                        snprintf(detail, n, "bad timestamp %s", key);
                return false;
        }
        return true;
}

static bool date(const json_t *o, const char *key, int32_t *out, char *detail,
                 size_t n)
{
        const json_t *j = req(o, key, detail, n);
        if (!j)
                return false;
        if (!json_is_string(j) || !ptime_parse_date(json_string_value(j),
                                                    json_string_length(j),
                                                    out)) {
                snprintf(detail, n, "bad date %s", key);
                return false;
        }
        return true;
}

/* One of a closed set of words; returns its index or -1 (detail set). */
static int word(const json_t *o, const char *key, const char *const *words,
                int n_words, char *detail, size_t n)
{
        const json_t *j = req(o, key, detail, n);
        if (!j)
                return -1;
        if (json_is_string(j))
                for (int i = 0; i < n_words; i++)
                        if (strcmp(json_string_value(j), words[i]) == 0)
                                return i;
        if (json_is_string(j))
                snprintf(detail, n, "unknown %s '%.40s'", key,
                         json_string_value(j));
        else
                snprintf(detail, n, "%s must be a string", key);
        return -1;
}

static dlq_reason_t decode_presence(const json_t *o, record_t *r, char *detail,
                                    size_t n)
{
        static const char *const types[] = {"clock_in", "clock_out"};
        static const char *const modes[] = {"wfo", "wfh"};
        rec_presence_t *p = &r->u.presence;
        if (!ident(o, "employee_id", p->employee_id, detail, n))
                return DLQ_INVALID;
        int t = word(o, "type", types, 2, detail, n);
        if (t < 0)
                return DLQ_INVALID;
        int m = word(o, "mode", modes, 2, detail, n);
        if (m < 0)
                return DLQ_INVALID;
        p->clock_out = t == 1;
        p->wfh = m == 1;
        if (!stamp(o, "at", &p->at, detail, n))
                return DLQ_INVALID;
        return DLQ_NONE;
}

static dlq_reason_t decode_call(const json_t *o, record_t *r, char *detail,
                                size_t n)
{
        static const char *const outcomes[] = {"answered", "missed",
                                               "declined"};
        rec_call_t *c = &r->u.call;
        if (!ident(o, "call_id", c->call_id, detail, n) ||
            !ident(o, "caller_id", c->caller_id, detail, n) ||
            !ident(o, "callee_id", c->callee_id, detail, n) ||
            !stamp(o, "at", &c->at, detail, n))
                return DLQ_INVALID;
        int oc = word(o, "outcome", outcomes, 3, detail, n);
        if (oc < 0)
                return DLQ_INVALID;
        c->outcome = (call_outcome_t)oc;
        return DLQ_NONE;
}

static dlq_reason_t decode_excuse(const json_t *o, record_t *r, char *detail,
                                  size_t n)
{
        rec_excuse_t *x = &r->u.excuse;
        if (!ident(o, "excuse_id", x->excuse_id, detail, n) ||
            !ident(o, "employee_id", x->employee_id, detail, n))
                return DLQ_INVALID;
        const json_t *k = req(o, "kind", detail, n);
        if (!k)
                return DLQ_INVALID;
        if (!json_is_string(k)) {
                snprintf(detail, n, "kind must be a string");
                return DLQ_INVALID;
        }
        snprintf(x->kind, sizeof(x->kind), "%s", json_string_value(k));
        if (!date(o, "from", &x->from, detail, n) ||
            !date(o, "to", &x->to, detail, n) ||
            !stamp(o, "updated_at", &x->updated_at, detail, n))
                return DLQ_INVALID;
        if (x->from > x->to) {
                snprintf(detail, n, "from after to");
                return DLQ_INVALID;
        }
        const json_t *rv = json_object_get(o, "revoked");
        if (!rv || json_is_null(rv)) {
                x->revoked = false;
        } else if (json_is_boolean(rv)) {
                x->revoked = json_is_true(rv);
        } else {
                snprintf(detail, n, "revoked must be true or false");
                return DLQ_INVALID;
        }
        return DLQ_NONE;
}

dlq_reason_t record_decode_json(rec_topic_t topic, const json_t *o,
                                record_t *r, char *detail, size_t n)
{
        memset(r, 0, sizeof(*r));
        r->topic = topic;
        if (!json_is_object(o)) {
                snprintf(detail, n, "record is not a JSON object");
                return DLQ_MALFORMED;
        }
        if (!ident(o, "event_id", r->event_id, detail, n))
                return DLQ_INVALID;
        switch (topic) {
        case TOPIC_PRESENCE:
                return decode_presence(o, r, detail, n);
        case TOPIC_CALLS:
                return decode_call(o, r, detail, n);
        case TOPIC_EXCUSES:
                return decode_excuse(o, r, detail, n);
        default:
                snprintf(detail, n, "unknown topic");
                return DLQ_INVALID;
        }
}

dlq_reason_t record_decode_bytes(rec_topic_t topic, const char *buf,
                                 size_t len, record_t *out, char *detail,
                                 size_t detail_size)
{
        json_error_t jerr;
        /* JSON_DECODE_ANY: a bare array or string is valid JSON but not a
         * record; we want "not an object", not "not JSON", for it. */
        json_t *o = json_loadb(buf, len, JSON_DECODE_ANY, &jerr);
        if (!o) {
                snprintf(detail, detail_size, "value is not valid JSON");
                return DLQ_MALFORMED;
        }
        dlq_reason_t r = record_decode_json(topic, o, out, detail, detail_size);
        json_decref(o);
        return r;
}

const char *record_subject_id(const record_t *r)
{
        switch (r->topic) {
        case TOPIC_PRESENCE:
                return r->u.presence.employee_id;
        case TOPIC_CALLS:
                return r->u.call.callee_id;
        case TOPIC_EXCUSES:
                return r->u.excuse.employee_id;
        default:
                return "";
        }
}

dlq_reason_t record_check_roster(const record_t *r, const roster_t *roster,
                                 char *detail, size_t n)
{
        const char *id = record_subject_id(r);
        if (roster_find(roster, id, strlen(id)) >= 0)
                return DLQ_NONE;
        snprintf(detail, n, "%s %s not in roster",
                 r->topic == TOPIC_CALLS ? "callee" : "employee", id);
        return DLQ_UNKNOWN_EMPLOYEE;
}

ptime_t record_time(const record_t *r)
{
        switch (r->topic) {
        case TOPIC_PRESENCE:
                return r->u.presence.at;
        case TOPIC_CALLS:
                return r->u.call.at;
        default:
                return r->u.excuse.updated_at;
        }
}

dlq_reason_t record_check_timing(const record_t *r, const policy_t *p,
                                 bool has_arrival, ptime_t arrival,
                                 char *detail, size_t n)
{
        if (r->topic == TOPIC_EXCUSES || !has_arrival)
                return DLQ_NONE;
        ptime_t at = record_time(r);
        if (ptime_diff_exceeds(at, arrival, 300)) {
                int64_t d = at.sec - arrival.sec;
                snprintf(detail, n, "at is %lld:%02lld:%02lld after ts",
                         (long long)(d / 3600), (long long)(d / 60 % 60),
                         (long long)(d % 60));
                return DLQ_FUTURE;
        }
        int32_t work = tz_local_day(p->tz, at);
        int32_t arr = tz_local_day(p->tz, arrival);
        if ((int64_t)work < (int64_t)arr - p->amend_horizon_days) {
                char a[11], b[11];
                ptime_format_date(work, a);
                ptime_format_date(arr, b);
                snprintf(detail, n, "work date %s, arrival %s", a, b);
                return DLQ_TOO_LATE;
        }
        return DLQ_NONE;
}
