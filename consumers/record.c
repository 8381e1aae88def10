#include "record.h"

#include "../rules/jsonv.h"
#include "../rules/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const topic_names[TOPIC__COUNT] = {"presence", "calls",
                                                      "excuses"};

static const char *const reason_names[DLQ__COUNT] = {
    "",         "malformed", "invalid",    "unknown_employee",
    "too_late", "future",    "quarantined"};

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

/* Decoding works on a pjson token array: one pass over the bytes, no
 * allocation.  The members we know are indexed in one walk over the
 * object (the last of repeated keys wins, as in jansson). */
#define FIELD(s)                                                               \
        {                                                                      \
                s, sizeof(s) - 1                                               \
        }
static const struct {
        const char *name;
        size_t len;
} fields[] = {FIELD("event_id"),  FIELD("employee_id"), FIELD("type"),
              FIELD("mode"),      FIELD("at"),          FIELD("call_id"),
              FIELD("caller_id"), FIELD("callee_id"),   FIELD("outcome"),
              FIELD("excuse_id"), FIELD("kind"),        FIELD("from"),
              FIELD("to"),        FIELD("updated_at"),  FIELD("revoked")};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

/* Indexes into fields[], in its order. */
enum {
        F_EVENT_ID,
        F_EMPLOYEE_ID,
        F_TYPE,
        F_MODE,
        F_AT,
        F_CALL_ID,
        F_CALLER_ID,
        F_CALLEE_ID,
        F_OUTCOME,
        F_EXCUSE_ID,
        F_KIND,
        F_FROM,
        F_TO,
        F_UPDATED_AT,
        F_REVOKED,
};

typedef struct src {
        const pj_doc_t *d;
        int o;
        int tok[N_FIELDS]; /* value token of each known member, or -1 */
} src_t;

static void index_fields(src_t *r)
{
        for (size_t f = 0; f < N_FIELDS; f++)
                r->tok[f] = -1;
        const pj_doc_t *d = r->d;
        uint32_t i = (uint32_t)r->o + 1;
        for (uint32_t m = 0; m < d->tok[r->o].count; m++) {
                const pj_tok_t *k = &d->tok[i];
                int val = (int)i + 1;
                char buf[64];
                const char *key = d->text + k->start;
                size_t kl = k->len;
                if (k->escaped) {
                        int l = pj_string(d, (int)i, buf, sizeof(buf));
                        key = buf;
                        kl = l < 0 ? 0 : (size_t)l;
                }
                for (size_t f = 0; f < N_FIELDS; f++)
                        if (kl == fields[f].len &&
                            memcmp(key, fields[f].name, kl) == 0)
                                r->tok[f] = val;
                i = d->tok[val].end;
        }
}

static int field(const src_t *r, int f)
{
        return r->tok[f];
}

/* A required member: missing or null is invalid (SPEC §7). */
static int req(const src_t *r, int f, char *detail, size_t n)
{
        const char *key = fields[f].name;
        int j = field(r, f);
        if (j < 0 || r->d->tok[j].type == PJ_NULL) {
                snprintf(detail, n, "missing field %s", key);
                return -1;
        }
        return j;
}

static bool is_string(const src_t *r, int j)
{
        return r->d->tok[j].type == PJ_STRING;
}

static bool ident(const src_t *r, int f, char dst[REC_ID_MAX], char *detail,
                  size_t n)
{
        const char *key = fields[f].name;
        int j = req(r, f, detail, n);
        if (j < 0)
                return false;
        int len = is_string(r, j) ? pj_string(r->d, j, dst, REC_ID_MAX) : -1;
        if (len < 0 || !jsonv_is_identifier(dst, (size_t)len)) {
                snprintf(detail, n, "bad %s", key);
                dst[0] = '\0';
                return false;
        }
        return true;
}

static bool stamp(const src_t *r, int f, ptime_t *out, char *detail, size_t n)
{
        char buf[96];
        const char *key = fields[f].name;
        int j = req(r, f, detail, n);
        if (j < 0)
                return false;
        int len = is_string(r, j) ? pj_string(r->d, j, buf, sizeof(buf)) : -1;
        if (len < 0 || !ptime_parse_rfc3339(buf, (size_t)len, out)) {
                if (len >= 0)
                        snprintf(detail, n, "bad timestamp %s='%.80s'", key,
                                 buf);
                else
                        snprintf(detail, n, "bad timestamp %s", key);
                return false;
        }
        return true;
}

static bool date(const src_t *r, int f, int32_t *out, char *detail, size_t n)
{
        char buf[32];
        const char *key = fields[f].name;
        int j = req(r, f, detail, n);
        if (j < 0)
                return false;
        int len = is_string(r, j) ? pj_string(r->d, j, buf, sizeof(buf)) : -1;
        if (len < 0 || !ptime_parse_date(buf, (size_t)len, out)) {
                snprintf(detail, n, "bad date %s", key);
                return false;
        }
        return true;
}

/* One of a closed set of words; returns its index or -1 (detail set). */
static int word(const src_t *r, int f, const char *const *words, int n_words,
                char *detail, size_t n)
{
        char buf[48];
        const char *key = fields[f].name;
        int j = req(r, f, detail, n);
        if (j < 0)
                return -1;
        if (!is_string(r, j)) {
                snprintf(detail, n, "%s must be a string", key);
                return -1;
        }
        if (pj_string(r->d, j, buf, sizeof(buf)) >= 0)
                for (int i = 0; i < n_words; i++)
                        if (strcmp(buf, words[i]) == 0)
                                return i;
        const pj_tok_t *t = &r->d->tok[j];
        snprintf(detail, n, "unknown %s '%.*s'", key,
                 (int)(t->len < 40 ? t->len : 40), r->d->text + t->start);
        return -1;
}

static dlq_reason_t decode_presence(const src_t *o, record_t *r, char *detail,
                                    size_t n)
{
        static const char *const types[] = {"clock_in", "clock_out"};
        static const char *const modes[] = {"wfo", "wfh"};
        rec_presence_t *p = &r->u.presence;
        if (!ident(o, F_EMPLOYEE_ID, p->employee_id, detail, n))
                return DLQ_INVALID;
        int t = word(o, F_TYPE, types, 2, detail, n);
        if (t < 0)
                return DLQ_INVALID;
        int m = word(o, F_MODE, modes, 2, detail, n);
        if (m < 0)
                return DLQ_INVALID;
        p->clock_out = t == 1;
        p->wfh = m == 1;
        if (!stamp(o, F_AT, &p->at, detail, n))
                return DLQ_INVALID;
        return DLQ_NONE;
}

static dlq_reason_t decode_call(const src_t *o, record_t *r, char *detail,
                                size_t n)
{
        static const char *const outcomes[] = {"answered", "missed",
                                               "declined"};
        rec_call_t *c = &r->u.call;
        if (!ident(o, F_CALL_ID, c->call_id, detail, n) ||
            !ident(o, F_CALLER_ID, c->caller_id, detail, n) ||
            !ident(o, F_CALLEE_ID, c->callee_id, detail, n) ||
            !stamp(o, F_AT, &c->at, detail, n))
                return DLQ_INVALID;
        int oc = word(o, F_OUTCOME, outcomes, 3, detail, n);
        if (oc < 0)
                return DLQ_INVALID;
        c->outcome = (call_outcome_t)oc;
        return DLQ_NONE;
}

static dlq_reason_t decode_excuse(const src_t *o, record_t *r, char *detail,
                                  size_t n)
{
        rec_excuse_t *x = &r->u.excuse;
        if (!ident(o, F_EXCUSE_ID, x->excuse_id, detail, n) ||
            !ident(o, F_EMPLOYEE_ID, x->employee_id, detail, n))
                return DLQ_INVALID;
        int k = req(o, F_KIND, detail, n);
        if (k < 0)
                return DLQ_INVALID;
        if (!is_string(o, k)) {
                snprintf(detail, n, "kind must be a string");
                return DLQ_INVALID;
        }
        /* free text: keep what fits; a longer kind is truncated on a
         * character boundary, an embedded NUL reads as empty */
        char kind[1024];
        if (pj_string(o->d, k, kind, sizeof(kind)) < 0)
                kind[0] = '\0';
        size_t kl = strlen(kind);
        if (kl >= sizeof(x->kind)) {
                kl = sizeof(x->kind) - 1;
                while (kl > 0 && ((unsigned char)kind[kl] & 0xC0) == 0x80)
                        kl--;
        }
        memcpy(x->kind, kind, kl);
        x->kind[kl] = '\0';
        if (!date(o, F_FROM, &x->from, detail, n) ||
            !date(o, F_TO, &x->to, detail, n) ||
            !stamp(o, F_UPDATED_AT, &x->updated_at, detail, n))
                return DLQ_INVALID;
        if (x->from > x->to) {
                snprintf(detail, n, "from after to");
                return DLQ_INVALID;
        }
        int rv = field(o, F_REVOKED);
        int rt = rv < 0 ? PJ_NULL : o->d->tok[rv].type;
        if (rt == PJ_NULL || rt == PJ_FALSE) {
                x->revoked = false;
        } else if (rt == PJ_TRUE) {
                x->revoked = true;
        } else {
                snprintf(detail, n, "revoked must be true or false");
                return DLQ_INVALID;
        }
        return DLQ_NONE;
}

dlq_reason_t record_decode_tokens(rec_topic_t topic, const pj_doc_t *d, int obj,
                                  record_t *r, char *detail, size_t n)
{
        memset(r, 0, sizeof(*r));
        r->topic = topic;
        if (obj < 0 || d->tok[obj].type != PJ_OBJECT) {
                snprintf(detail, n, "record is not a JSON object");
                return DLQ_MALFORMED;
        }
        src_t o = {.d = d, .o = obj};
        index_fields(&o);
        if (!ident(&o, F_EVENT_ID, r->event_id, detail, n))
                return DLQ_INVALID;
        switch (topic) {
        case TOPIC_PRESENCE:
                return decode_presence(&o, r, detail, n);
        case TOPIC_CALLS:
                return decode_call(&o, r, detail, n);
        case TOPIC_EXCUSES:
                return decode_excuse(&o, r, detail, n);
        default:
                snprintf(detail, n, "unknown topic");
                return DLQ_INVALID;
        }
}

dlq_reason_t record_decode_bytes(rec_topic_t topic, const char *buf, size_t len,
                                 record_t *out, char *detail,
                                 size_t detail_size)
{
        pj_tok_t tok[RECORD_STACK_TOKENS], *heap;
        pj_doc_t d;
        memset(out, 0, sizeof(*out));
        out->topic = topic;
        if (!pj_parse_any(&d, buf, len, tok, RECORD_STACK_TOKENS, &heap)) {
                snprintf(detail, detail_size, "value is not valid JSON");
                return DLQ_MALFORMED;
        }
        dlq_reason_t r =
            record_decode_tokens(topic, &d, 0, out, detail, detail_size);
        free(heap);
        return r;
}

dlq_reason_t record_decode_json(rec_topic_t topic, const json_t *value,
                                record_t *out, char *detail, size_t detail_size)
{
        char *text = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
        if (!text) {
                memset(out, 0, sizeof(*out));
                snprintf(detail, detail_size, "value is not valid JSON");
                return DLQ_MALFORMED;
        }
        dlq_reason_t r = record_decode_bytes(topic, text, strlen(text), out,
                                             detail, detail_size);
        free(text);
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
