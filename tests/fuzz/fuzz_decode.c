/*
 * A fuzz harness for every decoder input passes through: the replay
 * envelope (consumers/envelope.c), the record decoder (consumers/record.c)
 * over its JSON parser (consumers/pjson.c), the stored-state parser
 * (engine/store.c) and the dead-letter writer (engine/output.c).
 *
 * For any input it asserts what a wrong decoder would violate, each
 * judged independently of the code under test:
 *   - malformed exactly when the bytes are not one UTF-8 JSON object, as
 *     jansson reads them (SPEC §7), for the record and for the envelope
 *     and its value alike;
 *   - invalid or accepted as a small model of SPEC §1 and §7 written over
 *     jansson's tree says, and when accepted the very fields it holds;
 *   - the same verdict and record from the bytes, from jansson's own
 *     re-serialization and from the envelope's inline value; an accepted
 *     record written out again from its fields decodes to itself;
 *   - the dead letter is strict JSON (no \u0000, valid UTF-8) with the
 *     reason given and the original bytes, as "raw" when they are UTF-8
 *     without NUL, else as "raw_base64" decoding to them.
 * Any violation prints the input and aborts.
 *
 * Built with -fsanitize=fuzzer it is a libFuzzer target
 * (LLVMFuzzerTestOneInput).  Built normally, main() first checks every
 * line of the public scenarios against the scenario's expected/dlq.jsonl
 * through the replay path (envelope, value, then the core's roster,
 * duplicate and timing checks): the reason of each dead-lettered line,
 * and every other line accepted.  Then it replays, through the
 * properties above, every line and every record value with deterministic
 * mutations (mutate.h: byte flips, truncations, insertions of JSON
 * punctuation and UTF-8 fragments, dropped spans); under the sanitizer build
 * any memory error fails the test as well.
 */
#include "../../consumers/envelope.h"
#include "../../engine/core.h"
#include "../../engine/jw.h"
#include "../../engine/output.h"
#include "../../engine/store.h"
#include "../../rules/calendar.h"
#include "../../rules/jsonv.h"
#include "mutate.h"

#include <dirent.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static eval_ctx_t *ctx(void)
{
        static policy_t *p;
        static roster_t *r;
        static calendar_t *c;
        static eval_ctx_t x;
        if (!p) {
                char err[512];
                p = policy_load(PATUH_SOURCE_DIR
                                "/rules/balikpapan-se737-2026.json",
                                err, sizeof(err));
                r = roster_load(PATUH_SOURCE_DIR "/deploy/sample/roster.jsonl",
                                err, sizeof(err));
                c = calendar_load_string("{}", "calendar", err, sizeof(err));
                if (!p || !r || !c) {
                        fprintf(stderr, "fuzz: %s\n", err);
                        abort();
                }
                x = (eval_ctx_t){p, c, r};
        }
        return &x;
}

/* ---- reporting ----------------------------------------------------------- */

static void show(const char *what, const char *s, size_t n)
{
        fprintf(stderr, "%s (%zu bytes): ", what, n);
        for (size_t i = 0; i < n && i < 600; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c >= 0x20 && c < 0x7f && c != '\\')
                        fputc(c, stderr);
                else
                        fprintf(stderr, "\\x%02x", c);
        }
        fputc('\n', stderr);
}

static const char *verdict(dlq_reason_t r)
{
        return r == DLQ_NONE ? "accepted" : dlq_reason_name(r);
}

static const char *input_s; /* the input being checked, for messages */
static size_t input_n;

static void must(bool ok, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void must(bool ok, const char *fmt, ...)
{
        if (ok)
                return;
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "fuzz_decode: ");
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        show("input", input_s, input_n);
        abort();
}

/* ---- the independent reading: jansson ------------------------------------ */

typedef enum { J_OBJECT, J_NOT_OBJECT, J_UNKNOWN } jverdict_t;

static size_t depth(const json_t *v)
{
        size_t d = 0, i;
        const char *k;
        json_t *m;
        if (json_is_object(v)) {
                json_object_foreach((json_t *)v, k, m)
                {
                        size_t x = depth(m);
                        d = x > d ? x : d;
                }
                return d + 1;
        }
        if (json_is_array(v)) {
                json_array_foreach(v, i, m)
                {
                        size_t x = depth(m);
                        d = x > d ? x : d;
                }
                return d + 1;
        }
        return 0;
}

/* Is s one JSON object (RFC 8259, UTF-8)?  jansson's choices are set to
 * the architecture's: \u0000 is legal in strings (JSON_ALLOW_NUL), a
 * repeated key keeps the last value, integers of any length are numbers
 * (JSON_DECODE_INT_AS_REAL), nesting beyond 64 is malformed.  jansson
 * refuses two things that are valid JSON — a number beyond a double and
 * \u0000 in a key — and there the answer is unknown.  It also skips a raw
 * NUL byte after a number or a literal (`false\0}` reads as `false}`): a
 * raw NUL is never JSON, so such text is no object whatever jansson says.
 * *out (may be NULL) gets the value when jansson read one. */
static jverdict_t jansson_object(const char *s, size_t n, json_t **out)
{
        json_error_t err;
        if (out)
                *out = NULL;
        if (memchr(s, '\0', n))
                return J_NOT_OBJECT;
        json_t *v = json_loadb(
            s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL | JSON_DECODE_INT_AS_REAL,
            &err);
        if (out)
                *out = v;
        if (!v) {
                enum json_error_code c = json_error_code(&err);
                return c == json_error_numeric_overflow ||
                               c == json_error_null_byte_in_key ||
                               c == json_error_out_of_memory
                           ? J_UNKNOWN
                           : J_NOT_OBJECT;
        }
        jverdict_t r =
            !json_is_object(v) || depth(v) > 64 ? J_NOT_OBJECT : J_OBJECT;
        if (!out)
                json_decref(v);
        return r;
}

/* ---- a model of SPEC §1 and §7 over jansson's tree ------------------------
 */

typedef enum { M_OK, M_INVALID, M_UNKNOWN } mverdict_t;

/* A required member: missing or null is invalid. */
static const json_t *req(const json_t *o, const char *key)
{
        const json_t *v = json_object_get(o, key);
        return v && !json_is_null(v) ? v : NULL;
}

/* Identifiers: 1-64 characters of [A-Za-z0-9._:-]. */
static bool m_ident(const json_t *o, const char *key, char dst[REC_ID_MAX])
{
        const json_t *v = req(o, key);
        if (!json_is_string(v))
                return false;
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (n < 1 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'A' && s[i] <= 'Z') ||
                      (s[i] >= 'a' && s[i] <= 'z') ||
                      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
                      s[i] == '_' || s[i] == ':' || s[i] == '-'))
                        return false;
        memcpy(dst, s, n + 1);
        return true;
}

/* RFC 3339 with offset.  The decoder reads timestamps into 96 bytes; a
 * longer one (a fraction of 70 digits) it refuses, which RFC 3339 does
 * not: unknown. */
static mverdict_t m_stamp(const json_t *o, const char *key, ptime_t *t)
{
        const json_t *v = req(o, key);
        if (!json_is_string(v))
                return M_INVALID;
        if (json_string_length(v) >= 96)
                return M_UNKNOWN;
        return ptime_parse_rfc3339(json_string_value(v), json_string_length(v),
                                   t)
                   ? M_OK
                   : M_INVALID;
}

static bool m_date(const json_t *o, const char *key, int32_t *day)
{
        const json_t *v = req(o, key);
        return json_is_string(v) &&
               ptime_parse_date(json_string_value(v), json_string_length(v),
                                day);
}

/* One of a closed set of words, exactly (a NUL inside matches none). */
static int m_word(const json_t *o, const char *key, const char *const *words,
                  int n)
{
        const json_t *v = req(o, key);
        if (!json_is_string(v))
                return -1;
        for (int i = 0; i < n; i++)
                if (json_string_length(v) == strlen(words[i]) &&
                    memcmp(json_string_value(v), words[i], strlen(words[i])) ==
                        0)
                        return i;
        return -1;
}

#define M_STAMP(o, key, t)                                                     \
        do {                                                                   \
                mverdict_t s_ = m_stamp(o, key, t);                            \
                if (s_ != M_OK)                                                \
                        return s_;                                             \
        } while (0)

static mverdict_t model(rec_topic_t topic, const json_t *o, record_t *r)
{
        static const char *const types[] = {"clock_in", "clock_out"};
        static const char *const modes[] = {"wfo", "wfh"};
        static const char *const outcomes[] = {"answered", "missed",
                                               "declined"};
        memset(r, 0, sizeof(*r));
        r->topic = topic;
        if (!m_ident(o, "event_id", r->event_id))
                return M_INVALID;
        if (topic == TOPIC_PRESENCE) {
                rec_presence_t *p = &r->u.presence;
                if (!m_ident(o, "employee_id", p->employee_id))
                        return M_INVALID;
                int t = m_word(o, "type", types, 2);
                int m = m_word(o, "mode", modes, 2);
                if (t < 0 || m < 0)
                        return M_INVALID;
                p->clock_out = t == 1;
                p->wfh = m == 1;
                M_STAMP(o, "at", &p->at);
                return M_OK;
        }
        if (topic == TOPIC_CALLS) {
                rec_call_t *c = &r->u.call;
                if (!m_ident(o, "call_id", c->call_id) ||
                    !m_ident(o, "caller_id", c->caller_id) ||
                    !m_ident(o, "callee_id", c->callee_id))
                        return M_INVALID;
                M_STAMP(o, "at", &c->at);
                int oc = m_word(o, "outcome", outcomes, 3);
                if (oc < 0)
                        return M_INVALID;
                c->outcome = (call_outcome_t)oc;
                return M_OK;
        }
        rec_excuse_t *x = &r->u.excuse;
        if (!m_ident(o, "excuse_id", x->excuse_id) ||
            !m_ident(o, "employee_id", x->employee_id))
                return M_INVALID;
        const json_t *k = req(o, "kind");
        if (!json_is_string(k))
                return M_INVALID;
        /* free text: 63 bytes kept, cut on a character boundary; a NUL
         * inside reads as empty.  Beyond 1023 bytes the decoder reads an
         * empty kind rather than a cut one: unknown. */
        size_t kl = json_string_length(k);
        const char *ks = json_string_value(k);
        if (kl >= 1024)
                return M_UNKNOWN;
        if (memchr(ks, '\0', kl))
                kl = 0;
        if (kl >= sizeof(x->kind)) {
                kl = sizeof(x->kind) - 1;
                while (kl > 0 && ((unsigned char)ks[kl] & 0xC0) == 0x80)
                        kl--;
        }
        memcpy(x->kind, ks, kl);
        if (!m_date(o, "from", &x->from) || !m_date(o, "to", &x->to))
                return M_INVALID;
        M_STAMP(o, "updated_at", &x->updated_at);
        if (x->from > x->to)
                return M_INVALID;
        const json_t *rv = json_object_get(o, "revoked");
        if (rv && !json_is_null(rv) && !json_is_boolean(rv))
                return M_INVALID;
        x->revoked = json_is_true(rv);
        return M_OK;
}

/* ---- comparing and re-writing records ------------------------------------ */

static const char *record_diff(const record_t *a, const record_t *b)
{
        if (a->topic != b->topic)
                return "topic";
        if (strcmp(a->event_id, b->event_id) != 0)
                return "event_id";
        if (a->topic == TOPIC_PRESENCE) {
                const rec_presence_t *x = &a->u.presence, *y = &b->u.presence;
                return strcmp(x->employee_id, y->employee_id) ? "employee_id"
                       : x->clock_out != y->clock_out         ? "type"
                       : x->wfh != y->wfh                     ? "mode"
                       : ptime_cmp(x->at, y->at)              ? "at"
                                                              : NULL;
        }
        if (a->topic == TOPIC_CALLS) {
                const rec_call_t *x = &a->u.call, *y = &b->u.call;
                return strcmp(x->call_id, y->call_id)       ? "call_id"
                       : strcmp(x->caller_id, y->caller_id) ? "caller_id"
                       : strcmp(x->callee_id, y->callee_id) ? "callee_id"
                       : ptime_cmp(x->at, y->at)            ? "at"
                       : x->outcome != y->outcome           ? "outcome"
                                                            : NULL;
        }
        const rec_excuse_t *x = &a->u.excuse, *y = &b->u.excuse;
        return strcmp(x->excuse_id, y->excuse_id)        ? "excuse_id"
               : strcmp(x->employee_id, y->employee_id)  ? "employee_id"
               : strcmp(x->kind, y->kind)                ? "kind"
               : x->from != y->from                      ? "from"
               : x->to != y->to                          ? "to"
               : ptime_cmp(x->updated_at, y->updated_at) ? "updated_at"
               : x->revoked != y->revoked                ? "revoked"
                                                         : NULL;
}

/* Years 1-9999 in UTC: what RFC 3339 can write back. */
static bool writable(ptime_t t)
{
        return t.sec >= INT64_C(-62135596800) && t.sec <= INT64_C(253402300799);
}

/* The record as a producer would send it, from its fields; false when a
 * time cannot be written in RFC 3339. */
static bool write_record(jw_t *w, const record_t *r)
{
        static const char *const outcomes[] = {"answered", "missed",
                                               "declined"};
        char t[40], d1[11], d2[11];
        jw_obj_begin(w);
        jw_key(w, "event_id");
        jw_str(w, r->event_id);
        if (r->topic == TOPIC_PRESENCE) {
                const rec_presence_t *p = &r->u.presence;
                if (!writable(p->at))
                        return false;
                store_format_utc(p->at, t);
                jw_key(w, "employee_id");
                jw_str(w, p->employee_id);
                jw_key(w, "type");
                jw_str(w, p->clock_out ? "clock_out" : "clock_in");
                jw_key(w, "mode");
                jw_str(w, p->wfh ? "wfh" : "wfo");
                jw_key(w, "at");
                jw_str(w, t);
        } else if (r->topic == TOPIC_CALLS) {
                const rec_call_t *c = &r->u.call;
                if (!writable(c->at))
                        return false;
                store_format_utc(c->at, t);
                jw_key(w, "call_id");
                jw_str(w, c->call_id);
                jw_key(w, "caller_id");
                jw_str(w, c->caller_id);
                jw_key(w, "callee_id");
                jw_str(w, c->callee_id);
                jw_key(w, "at");
                jw_str(w, t);
                jw_key(w, "outcome");
                jw_str(w, outcomes[c->outcome]);
        } else {
                const rec_excuse_t *x = &r->u.excuse;
                if (!writable(x->updated_at))
                        return false;
                store_format_utc(x->updated_at, t);
                ptime_format_date(x->from, d1);
                ptime_format_date(x->to, d2);
                jw_key(w, "excuse_id");
                jw_str(w, x->excuse_id);
                jw_key(w, "employee_id");
                jw_str(w, x->employee_id);
                jw_key(w, "kind");
                jw_str(w, x->kind);
                jw_key(w, "from");
                jw_str(w, d1);
                jw_key(w, "to");
                jw_str(w, d2);
                jw_key(w, "updated_at");
                jw_str(w, t);
                jw_key(w, "revoked");
                jw_bool(w, x->revoked);
        }
        jw_obj_end(w);
        return !w->oom;
}

/* ---- the dead letter ------------------------------------------------------
 */

static int b64(int c)
{
        return c >= 'A' && c <= 'Z'   ? c - 'A'
               : c >= 'a' && c <= 'z' ? c - 'a' + 26
               : c >= '0' && c <= '9' ? c - '0' + 52
               : c == '+'             ? 62
               : c == '/'             ? 63
                                      : -1;
}

/* Decodes standard padded base64; -1 if it is not. */
static long unbase64(const char *s, size_t n, unsigned char *out)
{
        if (n % 4)
                return -1;
        long k = 0;
        for (size_t i = 0; i < n; i += 4) {
                int v[4];
                for (int j = 0; j < 4; j++) {
                        bool pad = s[i + j] == '=' && i + 4 == n && j >= 2;
                        v[j] = pad ? 0 : b64((unsigned char)s[i + j]);
                        if (v[j] < 0 || (pad && j == 2 && s[i + 3] != '='))
                                return -1;
                }
                out[k++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
                if (s[i + 2] != '=')
                        out[k++] = (unsigned char)(v[1] << 4 | v[2] >> 2);
                if (s[i + 3] != '=')
                        out[k++] = (unsigned char)(v[2] << 6 | v[3]);
        }
        return k;
}

/* out_dlq's text: strict JSON (PostgreSQL's jsonb takes it), the reason
 * and event id given, and the original bytes. */
static void check_dead_letter(const char *s, size_t n, dlq_reason_t reason,
                              const char *detail, const char *event_id)
{
        jw_t w;
        jw_init(&w);
        out_dlq_src_t src = {"f", 1, 0, 3, 17, false, PTIME_NEVER};
        out_dlq(&w, ctx(), &src, reason, detail, event_id, s, n);
        if (w.oom) {
                jw_free(&w);
                return;
        }
        json_error_t err;
        json_t *j = json_loadb(w.buf, w.len, 0, &err);
        must(json_is_object(j), "dead letter is not strict JSON (%s): %.*s",
             err.text, (int)(w.len < 300 ? w.len : 300), w.buf);
        const char *rs = json_string_value(json_object_get(j, "reason"));
        must(rs && strcmp(rs, dlq_reason_name(reason)) == 0,
             "dead letter reason %s, want %s", rs ? rs : "(none)",
             dlq_reason_name(reason));
        const char *ev = json_string_value(json_object_get(j, "event_id"));
        must(event_id && *event_id ? ev && strcmp(ev, event_id) == 0 : !ev,
             "dead letter event_id %s, want %s", ev ? ev : "null",
             event_id ? event_id : "null");
        must(json_integer_value(json_object_get(j, "partition")) == 3 &&
                 json_integer_value(json_object_get(j, "offset")) == 17,
             "dead letter without its partition and offset");
        /* UTF-8 (jansson validates a counted string) without NUL: text */
        json_t *probe = json_stringn(s, n);
        bool text = probe && !memchr(s, '\0', n);
        json_decref(probe);
        const json_t *raw = json_object_get(j, "raw");
        const json_t *r64 = json_object_get(j, "raw_base64");
        if (text) {
                must(json_is_string(raw) && !r64 &&
                         json_string_length(raw) == n &&
                         memcmp(json_string_value(raw), s, n) == 0,
                     "dead letter 'raw' is not the input");
        } else {
                must(json_is_string(r64) && !raw,
                     "dead letter of non-text input without raw_base64");
                unsigned char *b = malloc(json_string_length(r64) / 4 * 3 + 3);
                long bl = b ? unbase64(json_string_value(r64),
                                       json_string_length(r64), b)
                            : (long)n;
                must(bl == (long)n && (!b || memcmp(b, s, n) == 0),
                     "dead letter raw_base64 does not decode to the input");
                free(b);
        }
        json_decref(j);
        jw_free(&w);
}

/* ---- the properties --------------------------------------------------------
 */

/* Raw record bytes of each topic, as Kafka hands them to patuhd.  jv and
 * v: jansson's reading of them; copy: jansson's re-serialization. */
static void check_record_bytes(const char *s, size_t n, jverdict_t jv,
                               const json_t *v, const char *copy)
{
        dlq_reason_t first = DLQ_NONE;
        char first_detail[256] = "", first_event[REC_ID_MAX] = "";
        for (int ti = 0; ti < TOPIC__COUNT; ti++) {
                rec_topic_t t = (rec_topic_t)ti;
                char detail[256] = "";
                record_t rec, other;
                dlq_reason_t r =
                    record_decode_bytes(t, s, n, &rec, detail, sizeof(detail));
                must(r == DLQ_NONE || r == DLQ_MALFORMED || r == DLQ_INVALID,
                     "%s: decoding gave %s", rec_topic_name(t), verdict(r));
                must(r == DLQ_NONE || detail[0], "%s: %s without detail",
                     rec_topic_name(t), verdict(r));
                if (jv != J_UNKNOWN)
                        must((r == DLQ_MALFORMED) == (jv == J_NOT_OBJECT),
                             "%s: %s, but jansson reads %s", rec_topic_name(t),
                             verdict(r),
                             jv == J_OBJECT ? "an object" : "no object");
                if (jv == J_OBJECT) {
                        mverdict_t m = model(t, v, &other);
                        if (m != M_UNKNOWN)
                                must((r == DLQ_NONE) == (m == M_OK),
                                     "%s: %s, SPEC §7 says %s (%s)",
                                     rec_topic_name(t), verdict(r),
                                     m == M_OK ? "accepted" : "invalid",
                                     detail);
                        const char *diff = m == M_OK && r == DLQ_NONE
                                               ? record_diff(&other, &rec)
                                               : NULL;
                        must(!diff, "%s: %s is not what the record holds",
                             rec_topic_name(t), diff);
                }
                /* jansson's re-serialization of the same JSON (escapes
                 * resolved, repeated keys merged) decodes alike */
                if (copy) {
                        char d2[256];
                        dlq_reason_t r2 = record_decode_bytes(
                            t, copy, strlen(copy), &other, d2, sizeof(d2));
                        must(r2 == r, "%s: %s from jansson's copy, %s here",
                             rec_topic_name(t), verdict(r2), verdict(r));
                        const char *diff =
                            r == DLQ_NONE ? record_diff(&rec, &other) : NULL;
                        must(!diff, "%s: %s differs in jansson's copy",
                             rec_topic_name(t), diff);
                }
                /* an accepted record written back from its fields */
                jw_t w;
                jw_init(&w);
                if (r == DLQ_NONE && write_record(&w, &rec)) {
                        dlq_reason_t r3 = record_decode_bytes(
                            t, w.buf, w.len, &other, detail, sizeof(detail));
                        const char *diff = r3 == DLQ_NONE
                                               ? record_diff(&rec, &other)
                                               : "verdict";
                        must(!diff, "%s: written back, %s differs (%s): %.*s",
                             rec_topic_name(t), diff, verdict(r3), (int)w.len,
                             w.buf);
                }
                jw_free(&w);
                if (ti == 0) {
                        first = r;
                        snprintf(first_detail, sizeof(first_detail), "%s",
                                 detail);
                        if (r != DLQ_MALFORMED)
                                memcpy(first_event, rec.event_id,
                                       sizeof(first_event));
                }
        }
        /* the dead letter of these bytes, with the reason and the event
         * id patuhd would give it (the writer does not look at the topic) */
        check_dead_letter(s, n, first == DLQ_NONE ? DLQ_MALFORMED : first,
                          first_detail, first_event);
}

static bool is_topic(const json_t *t)
{
        static const char *const names[] = {"presence", "calls", "excuses"};
        for (size_t i = 0; json_is_string(t) && i < 3; i++)
                if (json_string_length(t) == strlen(names[i]) &&
                    strcmp(json_string_value(t), names[i]) == 0)
                        return true;
        return false;
}

/* A replay envelope line (SPEC §6, §7): the envelope first, then its
 * value, inline or as a string. */
static void check_envelope(const char *s, size_t n, jverdict_t jv,
                           const json_t *v)
{
        char detail[256] = "";
        envelope_t env;
        record_t rec, other;
        dlq_reason_t r = envelope_parse(&env, s, n, detail, sizeof(detail));
        must(r == DLQ_NONE || r == DLQ_MALFORMED || r == DLQ_INVALID,
             "envelope gave %s", verdict(r));
        if (jv != J_UNKNOWN)
                must((r == DLQ_MALFORMED) == (jv == J_NOT_OBJECT),
                     "envelope %s, but jansson reads %s", verdict(r),
                     jv == J_OBJECT ? "an object" : "no object");
        if (jv == J_OBJECT) {
                /* invalid: unknown topic, no value (or null), a ts that is
                 * neither null nor RFC 3339 */
                const json_t *val = json_object_get(v, "value");
                const json_t *ts = json_object_get(v, "ts");
                bool ts_ok =
                    !ts || json_is_null(ts) ||
                    (json_is_string(ts) && json_string_length(ts) < 96 &&
                     ptime_parse_rfc3339(json_string_value(ts),
                                         json_string_length(ts),
                                         &(ptime_t){0, 0}));
                bool unknown =
                    json_is_string(ts) && json_string_length(ts) >= 96;
                bool good = is_topic(json_object_get(v, "topic")) && val &&
                            !json_is_null(val) && ts_ok;
                if (!unknown)
                        must((r == DLQ_NONE) == good,
                             "envelope %s, SPEC §7 says %s (%s)", verdict(r),
                             good ? "accepted" : "invalid", detail);
        }
        if (r == DLQ_NONE) {
                dlq_reason_t r2 =
                    envelope_record(&env, &rec, detail, sizeof(detail));
                must(r2 == DLQ_NONE || r2 == DLQ_MALFORMED || r2 == DLQ_INVALID,
                     "envelope value gave %s", verdict(r2));
                /* malformed exactly when the value is no JSON object */
                jverdict_t vv = J_UNKNOWN;
                if (env.value_is_string)
                        vv = jansson_object(env.value, env.value_len, NULL);
                else if (jv == J_OBJECT)
                        vv = json_is_object(json_object_get(v, "value"))
                                 ? J_OBJECT
                                 : J_NOT_OBJECT;
                if (vv != J_UNKNOWN)
                        must((r2 == DLQ_MALFORMED) == (vv == J_NOT_OBJECT),
                             "envelope value %s, but jansson reads %s",
                             verdict(r2),
                             vv == J_OBJECT ? "an object" : "no object");
                /* the inline value's tokens decode as its bytes would */
                char d2[256];
                dlq_reason_t r3 =
                    record_decode_bytes((rec_topic_t)env.topic, env.value,
                                        env.value_len, &other, d2, sizeof(d2));
                must(r3 == r2, "envelope value %s, its bytes %s", verdict(r2),
                     verdict(r3));
                const char *diff =
                    r2 == DLQ_NONE ? record_diff(&rec, &other) : NULL;
                must(!diff, "envelope value: %s differs from its bytes",
                     diff ? diff : "");
                /* replay's dead letter of a bad value: the whole line */
                if (r2 != DLQ_NONE)
                        check_dead_letter(s, n, r2, detail,
                                          r2 == DLQ_MALFORMED ? NULL
                                                              : rec.event_id);
        } else {
                check_dead_letter(s, n, r, detail, NULL);
        }
        envelope_free(&env);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *s = (const char *)data;
        input_s = s;
        input_n = size;
        json_t *v;
        jverdict_t jv = jansson_object(s, size, &v);
        char *copy = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
        check_record_bytes(s, size, jv, v, copy);
        check_envelope(s, size, jv, v);
        free(copy);
        json_decref(v);
        /* stored state is the engine's own: it must only never crash */
        eval_pub_t pub;
        store_pub_ids_t ids;
        (void)store_pub_parse(ctx(), s, size, &pub, &ids);
        return 0;
}

#ifndef PATUH_LIBFUZZER
/* ---- the corpus: every scenario line, then mutations ----------------------
 */

static void no_emit(void *ud, core_out_t out, const char *key, const char *json,
                    size_t len, const eval_pub_t *p)
{
        (void)ud;
        (void)out;
        (void)key;
        (void)json;
        (void)len;
        (void)p;
}

typedef struct expected {
        char reason[32]; /* "" when the line is accepted */
        char event_id[REC_ID_MAX];
        bool seen;
} expected_t;

/* expected/dlq.jsonl by line number; *n_lines gets the array size. */
static expected_t *load_expected(const char *dir, size_t *n_lines)
{
        char path[1100];
        snprintf(path, sizeof(path), "%s/expected/dlq.jsonl", dir);
        size_t len, pos = 0, n, line = 0, cap = 4096;
        const char *s;
        char *buf = jsonv_slurp(path, &len);
        expected_t *e = calloc(cap, sizeof(*e));
        if (!buf || !e) {
                fprintf(stderr, "fuzz: cannot read %s\n", path);
                exit(1);
        }
        while (jsonv_next_line(buf, len, &pos, &s, &n, &line)) {
                if (jsonv_is_blank(s, n))
                        continue;
                json_t *o = json_loadb(s, n, 0, NULL);
                json_int_t at = json_integer_value(json_object_get(o, "line"));
                const char *r = json_string_value(json_object_get(o, "reason"));
                const char *ev =
                    json_string_value(json_object_get(o, "event_id"));
                if (!o || at < 1 || (size_t)at >= cap || !r) {
                        fprintf(stderr, "fuzz: %s:%zu unreadable\n", path,
                                line);
                        exit(1);
                }
                snprintf(e[at].reason, sizeof(e[at].reason), "%s", r);
                snprintf(e[at].event_id, sizeof(e[at].event_id), "%s",
                         ev ? ev : "");
                json_decref(o);
        }
        free(buf);
        *n_lines = cap;
        return e;
}

/* One scenario through the replay path: each line's verdict equals the
 * expected one.  Returns the number of disagreements. */
static int check_scenario(const char *dir, const char *name, long *checked,
                          long *dead)
{
        char p[1100], r[1100], c[1100], err[512];
        snprintf(p, sizeof(p), "%s/policy.json", dir);
        snprintf(r, sizeof(r), "%s/roster.jsonl", dir);
        snprintf(c, sizeof(c), "%s/calendar.json", dir);
        policy_t *pol = policy_load(p, err, sizeof(err));
        roster_t *ros = pol ? roster_load(r, err, sizeof(err)) : NULL;
        calendar_t *cal = ros ? calendar_load(c, err, sizeof(err)) : NULL;
        if (!cal) {
                fprintf(stderr, "fuzz: %s: %s\n", name, err);
                exit(1);
        }
        eval_ctx_t x = {pol, cal, ros};
        core_sink_t sink = {NULL, no_emit, NULL};
        core_t *core = core_new(&x, &sink);
        size_t n_exp;
        expected_t *exp = load_expected(dir, &n_exp);
        int bad = 0;
        snprintf(p, sizeof(p), "%s/events.jsonl", dir);
        size_t len, pos = 0, n, line = 0;
        const char *s;
        char *buf = jsonv_slurp(p, &len);
        while (buf && core && jsonv_next_line(buf, len, &pos, &s, &n, &line)) {
                if (line == 1) {
                        const char *t = jsonv_skip_bom(s, n);
                        n -= (size_t)(t - s);
                        s = t;
                }
                if (jsonv_is_blank(s, n))
                        continue;
                char detail[256] = "";
                envelope_t env;
                record_t rec;
                memset(&rec, 0, sizeof(rec));
                bool dup = false;
                dlq_reason_t got =
                    envelope_parse(&env, s, n, detail, sizeof(detail));
                if (got == DLQ_NONE && env.has_ts)
                        core_set_watermark(core, env.ts);
                if (got == DLQ_NONE)
                        got =
                            envelope_record(&env, &rec, detail, sizeof(detail));
                if (got == DLQ_NONE) {
                        if (!env.has_ts)
                                core_set_watermark(core, record_time(&rec));
                        got = core_admit(core, &rec, env.has_ts, env.ts, &dup,
                                         detail, sizeof(detail));
                }
                envelope_free(&env);
                const expected_t *e = line < n_exp ? &exp[line] : NULL;
                const char *want = e && e->reason[0] ? e->reason : "accepted";
                if (e)
                        exp[line].seen = true;
                bool ok = strcmp(verdict(got), want) == 0;
                if (ok && got != DLQ_NONE && got != DLQ_MALFORMED && e &&
                    e->event_id[0] && strcmp(e->event_id, rec.event_id) != 0)
                        ok = false;
                if (!ok) {
                        fprintf(stderr,
                                "fuzz: %s line %zu: %s (%s, event %s), "
                                "expected/dlq.jsonl says %s (event %s)\n",
                                name, line, verdict(got), detail, rec.event_id,
                                want, e && e->event_id[0] ? e->event_id : "-");
                        bad++;
                }
                (*checked)++;
                *dead += got != DLQ_NONE;
        }
        for (size_t i = 0; i < n_exp; i++)
                if (exp[i].reason[0] && !exp[i].seen) {
                        fprintf(stderr,
                                "fuzz: %s: expected/dlq.jsonl names line %zu, "
                                "which is no record\n",
                                name, i);
                        bad++;
                }
        free(buf);
        free(exp);
        core_free(core);
        calendar_free(cal);
        roster_free(ros);
        policy_free(pol);
        return bad;
}

#define MUTATIONS 40

static long run_input(const char *line, size_t n, uint64_t *seed)
{
        static const char *const bits[] = {"\"",
                                           "{",
                                           "}",
                                           "[",
                                           "]",
                                           ",",
                                           ":",
                                           "\\",
                                           "\\u0000",
                                           "\\ud800",
                                           "\xC3",
                                           "\xE2\x82",
                                           "\xF0\x9F\x98",
                                           "\xEF\xBB\xBF",
                                           "null",
                                           "1e999",
                                           "-0",
                                           "\x00",
                                           "\"at\":",
                                           "\"value\":",
                                           "true",
                                           "\"\"",
                                           "\\u005f",
                                           "Z",
                                           "+08:00",
                                           ".5"};
        char buf[8192];
        long runs = 0;
        if (n > sizeof(buf) - 64)
                n = sizeof(buf) - 64;
        LLVMFuzzerTestOneInput((const uint8_t *)line, n);
        for (int m = 0; m < MUTATIONS; m++, runs++) {
                memcpy(buf, line, n);
                size_t len = fuzz_mutate(buf, n, sizeof(buf), seed, bits,
                                         sizeof(bits) / sizeof(bits[0]));
                LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
        }
        return runs;
}

/* Mutates the line, and the record bytes it carries (the value, inline
 * or as a string) as patuhd would receive them from Kafka. */
static long run_line(const char *line, size_t n, uint64_t *seed)
{
        long runs = run_input(line, n, seed);
        envelope_t env;
        char detail[256];
        if (envelope_parse(&env, line, n, detail, sizeof(detail)) == DLQ_NONE)
                runs += run_input(env.value, env.value_len, seed);
        envelope_free(&env);
        return runs;
}

/* Inputs found by libFuzzer or written by hand for an edge the mutations
 * rarely reach: a bad value quoted in the detail and cut to fit inside a
 * character (the dead letter must stay UTF-8). */
#define E2 "\xC3\xA9"      /* two bytes of one character */
#define E10 E2 E2 E2 E2 E2 /* ten bytes */
#define E40 E10 E10 E10 E10
#define X27 "xxxxxxxxxxxxxxxxxxxxxxxxxxx"
static const char *const seeds[] = {
    /* "unknown type '%.40s'": 1 + 39 bytes, then half a character */
    "{\"event_id\":\"p-1\",\"employee_id\":\"198703152010011002\","
    "\"type\":\"a" E40 "\",\"mode\":\"wfh\","
    "\"at\":\"2026-04-10T07:41:09+08:00\"}",
    /* "bad timestamp at='%.80s'": 79 bytes, then half a character */
    "{\"event_id\":\"p-1\",\"employee_id\":\"198703152010011002\","
    "\"type\":\"clock_in\",\"mode\":\"wfh\","
    "\"at\":\"2026-04-10T07:41:09+08:00" X27 X27 E10 "\"}",
    /* "unknown topic '%.40s'" */
    "{\"topic\":\"a" E40 "\",\"value\":{}}",
    /* "bad envelope ts '%.60s'": 59 bytes, then half a character */
    "{\"topic\":\"calls\",\"ts\":\"2026-04-10T07:41:09+08:00" X27 "xxxxxxx" E10
    "\",\"value\":{}}",
};

int main(void)
{
        const char *dir = PATUH_SOURCE_DIR "/tests/scenarios";
        struct dirent **names;
        int nd = scandir(dir, &names, NULL, alphasort);
        if (nd < 0) {
                fprintf(stderr, "fuzz: no corpus at %s\n", dir);
                return 1;
        }
        uint64_t seed = 88172645463325252ull;
        long runs = 0, lines = 0, checked = 0, dead = 0;
        int bad = 0, scenarios = 0;
        for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
                LLVMFuzzerTestOneInput((const uint8_t *)seeds[i],
                                       strlen(seeds[i]));
        /* 1. every scenario line against its expected verdict */
        for (int i = 0; i < nd; i++) {
                char sdir[1024], ev[1100];
                snprintf(sdir, sizeof(sdir), "%s/%s", dir, names[i]->d_name);
                snprintf(ev, sizeof(ev), "%s/events.jsonl", sdir);
                if (names[i]->d_name[0] != '.' && access(ev, R_OK) == 0) {
                        bad += check_scenario(sdir, names[i]->d_name, &checked,
                                              &dead);
                        scenarios++;
                }
        }
        printf("fuzz_decode: %ld records of %d scenarios checked against "
               "expected/dlq.jsonl (%ld dead letters): %d disagreements\n",
               checked, scenarios, dead, bad);
        /* 2. every line and its value, mutated, through the properties */
        for (int i = 0; bad == 0 && i < nd; i++) {
                char path[1100];
                snprintf(path, sizeof(path), "%s/%s/events.jsonl", dir,
                         names[i]->d_name);
                size_t len, pos = 0, n, line = 0;
                const char *s;
                char *buf =
                    names[i]->d_name[0] == '.' ? NULL : jsonv_slurp(path, &len);
                while (buf && jsonv_next_line(buf, len, &pos, &s, &n, &line)) {
                        runs += run_line(s, n, &seed);
                        lines++;
                }
                free(buf);
        }
        for (int i = 0; i < nd; i++)
                free(names[i]);
        free(names);
        if (bad == 0)
                printf("fuzz_decode: %ld lines and their values, %ld mutated "
                       "inputs: every property holds\n",
                       lines, runs);
        return checked > 0 && lines > 0 && bad == 0 ? 0 : 1;
}
#endif
