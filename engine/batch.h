/*
 * batch — one batch of patuhd's work: what was consumed, what it
 * decided, and what must be made durable for it.
 *
 * A batch is filled while records are consumed (outputs, accepted
 * records, the employee-days the core touched), closed (batch_close
 * snapshots the touched ledgers from the core, its watermark and outage
 * cursor; kin_take_offsets adds the offsets it covers), then written by
 * the sinks: outputs to PostgreSQL and Kafka, state to Redis, offsets
 * last.  The daemon keeps two, so the next batch fills while the previous
 * one is written.
 *
 * Ownership: a batch_t is the caller's (usually inside live_t); every
 * pointer in it is owned by the batch, except a record's unit, which
 * borrows the roster's (rec_item_t): the items' strings and arrays live
 * in the batch's arena (blocks released all at once by batch_clear and
 * kept for the next fill; batch_free frees them).  The add functions copy
 * their other arguments.  Every function that allocates returns false when an
 * allocation failed; the batch is then incomplete and must not be written (the
 * daemon stops at once).
 */
#ifndef PATUH_BATCH_H
#define PATUH_BATCH_H

#include "../consumers/record.h"
#include "../rules/eval.h"
#include "core.h"
#include "jw.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Output topics, in core_out_t order, then the dead letters. */
typedef enum batch_out {
        BATCH_OUT_VIOLATIONS,
        BATCH_OUT_TPP,
        BATCH_OUT_ALERTS,
        BATCH_OUT_DIGESTS,
        BATCH_OUT_DLQ,
        BATCH_OUT__COUNT
} batch_out_t;

/* The topic suffix of an output ("violations", ..., "dlq"). */
const char *batch_out_name(batch_out_t out);

/* The output of a core publication. */
batch_out_t batch_out_of_core(core_out_t out);

/* A publication or dead letter waiting to be made durable. */
typedef struct out_item {
        batch_out_t out;  /* the topic it goes to */
        char *key;        /* owned; Kafka key (bytes, NUL-terminated) */
        size_t key_len;   /* bytes in key */
        char *json;       /* owned; the published JSON */
        size_t len;       /* bytes in json */
        int32_t revision; /* of the violation behind it, or 0 */
} out_item_t;

/* An accepted record: its frame for Redis, its envelope for
 * PostgreSQL. */
typedef struct rec_item {
        rec_topic_t topic; /* its input topic */
        int32_t emp;       /* roster row of its subject (callee for calls) */
        int32_t unit_ix;   /* its unit as the first roster row of that unit:
                              equal for the records of one unit */
        int32_t day;       /* its work date; INT32_MIN for an excuse */
        /* borrowed: its subject's unit_id in the roster it was admitted
         * under (a reload or regroup replaces the roster only once every
         * batch in hand is durable and cleared) */
        const char *unit;
        const char *record_id; /* in the batch's arena: event_id, or
                                  call_id for a call */
        int32_t partition;     /* where it was read */
        int64_t offset;        /* ... */
        char *frame;           /* owned, one allocation with env: the frame
                                  (store_frame) */
        size_t frame_len;      /* bytes in frame */
        char *env;             /* inside frame's allocation: the replay
                                  envelope (store_envelope) */
        size_t env_len;        /* bytes in env */
        size_t seq;            /* arrival order within the batch */
} rec_item_t;

/* An employee-day whose ledger the core may have changed. */
typedef struct touched {
        int32_t emp; /* roster index */
        int32_t day; /* civil day number of the work date */
} touched_t;

/* The ledger of one employee-day as it stood when its batch closed:
 * HSET arguments (field, value, field, value, ...) of its unit-day
 * hash. */
typedef struct led_item {
        char unit[REC_ID_MAX]; /* the employee's unit_id: its Redis hash
                                  is store_key_ledger(unit, day) */
        int32_t day;           /* the work date */
        char **strs;           /* owned, each owned: fields and values */
        size_t *lens;          /* owned: their lengths */
        size_t n;              /* strings in strs */
} led_item_t;

/* The offset to store for one input partition once the batch is
 * durable: the offset after the last record it consumed there. */
typedef struct off_item {
        int topic;         /* rec_topic_t */
        int32_t partition; /* Kafka partition */
        int64_t offset;    /* next offset to read */
} off_item_t;

/*
 * A batch: filled while records are consumed, closed (ledgers and offsets
 * snapshotted), then made durable.
 */
typedef struct batch {
        out_item_t *outs;              /* owned: publications, dead letters */
        size_t n_outs, cap_outs;       /* used and allocated in outs */
        rec_item_t *recs;              /* owned: accepted records */
        size_t n_recs, cap_recs;       /* used and allocated in recs */
        touched_t *touched;            /* owned: employee-days touched */
        size_t n_touched, cap_touched; /* used and allocated in touched */
        long n_msgs;                   /* input messages consumed into it */
        led_item_t *leds;              /* owned; set at close */
        size_t n_leds;                 /* entries in leds */
        size_t *order;                 /* owned; set at close: recs by
                                          (unit, day, arrival), so that
                                          each unit-day is one run */
        off_item_t *offs;              /* owned; set at close */
        size_t n_offs, cap_offs;       /* used and allocated in offs */
        bool has_wm;                   /* wm is set (set at close) */
        ptime_t wm;                    /* the core's watermark at close */
        int32_t outage; /* no_presence_data cursor, set at close */
        /* Scale-out (docs/scale-out.md), set at close by the daemon: the
         * checkpoint of every work partition this instance decides for
         * (store_ckpt_format: watermark, outage cursor, the position in
         * every input partition) and each one's owner epoch. */
        char *ckpt;                /* owned, NULL: not in group mode */
        size_t ckpt_len;           /* bytes in ckpt */
        int32_t *ckpt_w;           /* owned: the work partitions */
        long long *ckpt_ep;        /* owned: their epochs */
        uint8_t *ckpt_live;        /* owned: 1 decided for (its checkpoint
                                      written), 0 held (its epoch checked) */
        size_t n_ckpt_w;           /* entries in both */
        struct arena_block *arena; /* owned: blocks in use (batch.c) */
        struct arena_block *spare; /* owned: blocks kept for reuse */
} batch_t;

/* Appends a publication or dead letter (key may be NULL: no key). */
bool batch_add_out(batch_t *b, batch_out_t out, const char *key, size_t key_len,
                   const char *json, size_t len, int32_t revision)
    __attribute__((warn_unused_result));

/* Appends an accepted record (copies of FRAME, ENV and RECORD_ID, its
 * event_id or call_id; UNIT is borrowed from the roster, see rec_item_t).
 * Its Redis key follows from UNIT and DAY (engine/store.h). */
bool batch_add_record(batch_t *b, rec_topic_t topic, int32_t emp,
                      int32_t unit_ix, const char *unit, int32_t day,
                      const char *record_id, int32_t partition, int64_t offset,
                      const char *frame, size_t frame_len, const char *env,
                      size_t env_len) __attribute__((warn_unused_result));

/* Notes an employee-day whose ledger the core may have changed. */
bool batch_touch(batch_t *b, int32_t emp, int32_t day)
    __attribute__((warn_unused_result));

/* Appends the offset to store for one partition. */
bool batch_add_offset(batch_t *b, int topic, int32_t partition, int64_t offset)
    __attribute__((warn_unused_result));

/* Sets b->order: the records by unit, day (excuses first) and arrival,
 * as the sinks group them (batch_close does it first).  False when out of
 * memory. */
bool batch_order(batch_t *b) __attribute__((warn_unused_result));

/*
 * Closes the batch: the ledgers of the touched employee-days are
 * serialized now, as they stand in CORE (a later batch may change them
 * again before this one is written), with the core's watermark and
 * outage cursor.  W is scratch space (reset on return).
 */
bool batch_close(batch_t *b, const core_t *core, const eval_ctx_t *ctx, jw_t *w)
    __attribute__((warn_unused_result));

/* Nothing consumed, nothing to write. */
bool batch_empty(const batch_t *b);

/* Publications bound for PostgreSQL (all but the alerts) plus accepted
 * records: 0 means the batch has no rows for PostgreSQL. */
size_t batch_pg_rows(const batch_t *b);

/* Empties the batch for reuse (keeps the arrays' capacity). */
void batch_clear(batch_t *b);
/* Frees everything the batch owns (not the batch_t itself). */
void batch_free(batch_t *b);

#endif
