/*
 * record — decoding and admission checks of input records (SPEC §1, §5, §7).
 *
 * The same code serves the Kafka consumers and the replay file source: a
 * record arrives as bytes (or an already parsed JSON value) with its topic
 * and arrival time, and leaves either as a typed record_t or with a
 * dead-letter reason and a human detail.  The checks run in SPEC §7 order:
 * form (record_decode), roster (record_check_roster), duplicate (the
 * caller's state), timing (record_check_timing).
 */
#ifndef PATUH_RECORD_H
#define PATUH_RECORD_H

#include "../rules/policy.h"
#include "../rules/ptime.h"
#include "../rules/roster.h"
#include "pjson.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum rec_topic {
        TOPIC_PRESENCE,
        TOPIC_CALLS,
        TOPIC_EXCUSES,
        TOPIC__COUNT
} rec_topic_t;

/* "presence", "calls", "excuses" and back; -1 if unknown. */
const char *rec_topic_name(rec_topic_t t);
int rec_topic_from_name(const char *name);

typedef enum dlq_reason {
        DLQ_NONE = 0,
        DLQ_MALFORMED,
        DLQ_INVALID,
        DLQ_UNKNOWN_EMPLOYEE,
        DLQ_TOO_LATE,
        DLQ_FUTURE,
        /* not a decoder's verdict: patuhd died with the record in hand
         * (engine/quarantine.h); replay never gives it */
        DLQ_QUARANTINED,
        DLQ__COUNT
} dlq_reason_t;

const char *dlq_reason_name(dlq_reason_t r);

typedef enum call_outcome {
        CALL_ANSWERED,
        CALL_MISSED,
        CALL_DECLINED
} call_outcome_t;

#define REC_ID_MAX 65   /* identifiers are at most 64 bytes */
#define REC_KIND_MAX 64 /* excuse kind is free text; kept truncated */

typedef struct rec_presence {
        char employee_id[REC_ID_MAX];
        bool clock_out; /* else clock_in */
        bool wfh;       /* mode */
        ptime_t at;
} rec_presence_t;

typedef struct rec_call {
        char call_id[REC_ID_MAX];
        char caller_id[REC_ID_MAX];
        char callee_id[REC_ID_MAX];
        ptime_t at;
        call_outcome_t outcome;
} rec_call_t;

typedef struct rec_excuse {
        char excuse_id[REC_ID_MAX];
        char employee_id[REC_ID_MAX];
        char kind[REC_KIND_MAX];
        int32_t from, to; /* inclusive day numbers */
        ptime_t updated_at;
        bool revoked;
} rec_excuse_t;

typedef struct record {
        rec_topic_t topic;
        char event_id[REC_ID_MAX];
        union {
                rec_presence_t presence;
                rec_call_t call;
                rec_excuse_t excuse;
        } u;
} record_t;

/* Decodes raw bytes of `topic`: malformed when not UTF-8 JSON or not an
 * object, invalid when a field breaks SPEC §7.  detail gets a hint. */
dlq_reason_t record_decode_bytes(rec_topic_t topic, const char *buf, size_t len,
                                 record_t *out, char *detail,
                                 size_t detail_size);

/* Tokens parsed on the stack; a record with more (large unknown fields)
 * falls back to one heap array. */
#define RECORD_STACK_TOKENS 128

/* Same from an object token of an already parsed document (replay
 * envelopes carry the record inline). */
dlq_reason_t record_decode_tokens(rec_topic_t topic, const pj_doc_t *d, int obj,
                                  record_t *out, char *detail,
                                  size_t detail_size);

/* Same from a jansson value (convenience for tests and tools; slower). */
dlq_reason_t record_decode_json(rec_topic_t topic, const json_t *value,
                                record_t *out, char *detail,
                                size_t detail_size);

/* The employee the record is about: presence/excuse employee, call callee. */
const char *record_subject_id(const record_t *r);

/* The key the topic is partitioned by (SPEC §1): the same as above. */
#define record_key record_subject_id

/* Roster check: unknown_employee when the subject is not in the roster. */
dlq_reason_t record_check_roster(const record_t *r, const roster_t *roster,
                                 char *detail, size_t detail_size);

/* Timing checks for presence and calls: future (at more than 5 minutes
 * after arrival) then too_late (work date before the arrival's local date
 * minus amend_horizon_days).  has_arrival false skips both (replay without
 * ts: the arrival is the record's own time). */
dlq_reason_t record_check_timing(const record_t *r, const policy_t *p,
                                 bool has_arrival, ptime_t arrival,
                                 char *detail, size_t detail_size);

/* The record's own time: presence/call `at`, excuse `updated_at`. */
ptime_t record_time(const record_t *r);

#endif
