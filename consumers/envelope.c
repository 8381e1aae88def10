#include "envelope.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pj_get() of "topic", "value" and "ts" in one walk over the members (the
 * last of repeated keys wins). */
static void members(const pj_doc_t *d, int *jt, int *jv, int *jts)
{
        *jt = *jv = *jts = -1;
        uint32_t i = 1;
        for (uint32_t m = 0; m < d->tok[0].count; m++) {
                const pj_tok_t *k = &d->tok[i];
                int val = (int)i + 1;
                char buf[128];
                const char *key = d->text + k->start;
                int kl = (int)k->len;
                if (k->escaped) {
                        kl = pj_string(d, (int)i, buf, sizeof(buf));
                        key = buf;
                }
                if (kl == 5 && memcmp(key, "topic", 5) == 0)
                        *jt = val;
                else if (kl == 5 && memcmp(key, "value", 5) == 0)
                        *jv = val;
                else if (kl == 2 && memcmp(key, "ts", 2) == 0)
                        *jts = val;
                i = d->tok[val].end;
        }
}

dlq_reason_t envelope_parse(envelope_t *e, const char *s, size_t n,
                            char *detail, size_t detail_size)
{
        e->topic = -1;
        e->has_ts = false;
        e->ts = PTIME_NEVER;
        e->value_tok = -1;
        e->value = NULL;
        e->value_len = 0;
        e->value_is_string = false;
        e->value_buf = NULL;
        e->heap = NULL;
        pj_doc_t *d = &e->doc;
        bool parsed =
            pj_parse_any(d, s, n, e->tok, RECORD_STACK_TOKENS, &e->heap);
        if (!parsed || d->tok[0].type != PJ_OBJECT) {
                snprintf(detail, detail_size,
                         parsed ? "envelope is not a JSON object"
                                : "envelope is not valid JSON");
                return DLQ_MALFORMED;
        }
        char buf[96];
        int jt, jv, jts;
        members(d, &jt, &jv, &jts);
        if (jt >= 0 && d->tok[jt].type == PJ_STRING &&
            pj_string(d, jt, buf, sizeof(buf)) >= 0)
                e->topic = rec_topic_from_name(buf);
        if (e->topic < 0) {
                int l = jt >= 0 && d->tok[jt].type == PJ_STRING
                            ? (int)d->tok[jt].len
                            : 0;
                snprintf(detail, detail_size, "unknown topic '%.*s'",
                         l < 40 ? l : 40, l ? s + d->tok[jt].start : "");
                return DLQ_INVALID;
        }
        if (jv < 0 || d->tok[jv].type == PJ_NULL) {
                snprintf(detail, detail_size, "envelope without value");
                return DLQ_INVALID;
        }
        if (jts >= 0 && d->tok[jts].type != PJ_NULL) {
                int l = d->tok[jts].type == PJ_STRING
                            ? pj_string(d, jts, buf, sizeof(buf))
                            : -1;
                if (l < 0 || !ptime_parse_rfc3339(buf, (size_t)l, &e->ts)) {
                        snprintf(detail, detail_size, "bad envelope ts '%.60s'",
                                 l < 0 ? "" : buf);
                        e->ts = PTIME_NEVER;
                        return DLQ_INVALID;
                }
                e->has_ts = true;
        }
        e->value_tok = jv;
        if (d->tok[jv].type == PJ_STRING) {
                /* the raw bytes of the record, possibly broken */
                size_t cap = d->tok[jv].len + 1;
                e->value_buf = malloc(cap);
                int l = e->value_buf ? pj_string(d, jv, e->value_buf, cap) : -1;
                e->value_is_string = true;
                e->value = e->value_buf;
                /* a string that cannot be decoded (a NUL inside) is no JSON
                 * text: an empty value, which decoding reports malformed */
                e->value_len = l < 0 ? 0 : (size_t)l;
        } else {
                e->value = s + d->tok[jv].start;
                e->value_len = d->tok[jv].len;
        }
        return DLQ_NONE;
}

dlq_reason_t envelope_record(envelope_t *e, record_t *rec, char *detail,
                             size_t detail_size)
{
        if (e->value_is_string)
                return record_decode_bytes((rec_topic_t)e->topic, e->value,
                                           e->value_len, rec, detail,
                                           detail_size);
        return record_decode_tokens((rec_topic_t)e->topic, &e->doc,
                                    e->value_tok, rec, detail, detail_size);
}

void envelope_free(envelope_t *e)
{
        free(e->value_buf);
        free(e->heap);
        e->value_buf = NULL;
        e->heap = NULL;
}
