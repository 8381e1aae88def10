/*
 * envelope — the replay envelope of SPEC §6, one line of an events file:
 * {"topic":"presence|calls|excuses","ts":"...","value":{...} or "..."}.
 *
 * Shared by `patuh replay` (which then decodes the value) and `patuh
 * produce` (which sends the value bytes to Kafka with ts as the message
 * timestamp).  The envelope is checked before its value (SPEC §7).
 */
#ifndef PATUH_ENVELOPE_H
#define PATUH_ENVELOPE_H

#include "pjson.h"
#include "record.h"

typedef struct envelope {
        int topic;   /* rec_topic_t, or -1 when unknown */
        bool has_ts; /* false when absent or null */
        ptime_t ts;
        /* The value: an object inline (value_tok >= 0 into doc), or the
         * bytes of a string value (decoded, owned: value_buf). */
        pj_doc_t doc;
        int value_tok;
        const char *value; /* raw value bytes (into the line or value_buf) */
        size_t value_len;
        bool value_is_string;
        char *value_buf; /* owned */
        pj_tok_t tok[RECORD_STACK_TOKENS];
        pj_tok_t *heap; /* owned */
} envelope_t;

/* Parses and checks one envelope line.  Returns DLQ_NONE, DLQ_MALFORMED
 * (not JSON, not an object) or DLQ_INVALID (unknown topic, no value, bad
 * ts), with detail.  Always call envelope_free() afterwards. */
dlq_reason_t envelope_parse(envelope_t *e, const char *line, size_t len,
                            char *detail, size_t detail_size);

/* Decodes the envelope's value into a record (SPEC §5 form checks). */
dlq_reason_t envelope_record(envelope_t *e, record_t *rec, char *detail,
                             size_t detail_size);

void envelope_free(envelope_t *e);

#endif
