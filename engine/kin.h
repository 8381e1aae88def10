/*
 * kin — patuhd's Kafka input: the consumer, the input partitions and how
 * far each has been read, the order records are released to the core in
 * (which gives the watermark, SPEC §4.2), and the offsets stored once a
 * batch is durable.
 *
 * The time model (docs/architecture.md, "Time"): records are released to
 * the core one at a time, merged over the partitions, each only once
 * every other partition has a record held back or is read to its end, so
 * that no partition can still bring one that goes first.  What goes first:
 * for what patuh produce sent, the order of its runs and file lines (its
 * sequence header) — the order `patuh replay` reads the same files in,
 * which the partitions lose between keys; for other producers the arrival
 * time (the partition's greatest so far: Kafka timestamp, or the ts
 * header), then topic and partition.  Each partition's records go in
 * offset order.  The core then sees the same records at the same
 * watermarks as in replay.
 *
 * The consumer takes every partition of the input topics directly
 * (kin_new → assign_all), from the offsets committed to kafka.group: the
 * engine lease already makes this instance the only evaluator.  librdkafka
 * writes to a pipe when the queue turns non-empty; kin watches it on the
 * caller's event base and calls the caller's ready callback, so the loop
 * wakes on data instead of polling.
 *
 * Ownership: kin_new returns a kin_t the caller frees with kin_free; cfg
 * and base are borrowed and must outlive it.  kin holds the messages it
 * polled until kin_next releases them; a released message is the
 * caller's (rd_kafka_message_destroy).  Nothing here prints: errors go
 * out through errstr.
 */
#ifndef PATUH_KIN_H
#define PATUH_KIN_H

#include "../consumers/record.h"
#include "../rules/ptime.h"
#include "batch.h"
#include "config.h"

#include <event2/event.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct kin kin_t;

/* Called from the loop when the consumer queue has something. */
typedef void kin_ready_fn(void *ud);

/* A configuration with bootstrap.servers and every kafka.* property of
 * CFG (shared with ksink).  NULL with errstr set on a refused property;
 * the caller owns the result (rd_kafka_new takes it). */
rd_kafka_conf_t *kin_conf_new(const config_t *cfg, char *errstr,
                              size_t errstr_size);

/* Told when start-up waits ("waiting for topic ..."). */
typedef void kin_status_fn(void *ud, const char *msg);

/* The consumer, assigned every input partition (start-up: blocks while
 * the topics' metadata is read, up to 30 s for a topic not there yet).
 * NULL with errstr set. */
kin_t *kin_new(const config_t *cfg, struct event_base *base,
               kin_ready_fn *ready, kin_status_fn *status, void *ud,
               char *errstr, size_t errstr_size)
    __attribute__((warn_unused_result));

/* Where a partition is read from in group mode (docs/scale-out.md): the
 * next offset, or RD_KAFKA_OFFSET_BEGINNING.  Nothing is committed to
 * kafka.group then: the positions live in the work partitions'
 * checkpoints. */
typedef int64_t kin_start_fn(void *ud, rec_topic_t topic, int32_t partition);

/* kin_new, every partition read from START's offset. */
kin_t *kin_new_at(const config_t *cfg, struct event_base *base,
                  kin_ready_fn *ready, kin_status_fn *status, void *ud,
                  kin_start_fn *start, void *start_ud, char *errstr,
                  size_t errstr_size) __attribute__((warn_unused_result));

/* The offsets committed to kafka.group for every input partition, told
 * one by one (RD_KAFKA_OFFSET_BEGINNING where none is): where a single-
 * mode engine would restart.  Blocking, bounded (a converting start).
 * Returns 0 or -1 with errstr set. */
typedef void kin_offset_fn(void *ud, rec_topic_t topic, int32_t partition,
                           int64_t offset);
int kin_committed(const config_t *cfg, kin_offset_fn *fn, void *ud,
                  char *errstr, size_t errstr_size)
    __attribute__((warn_unused_result));

/* The number of partitions of TOPIC as RK's metadata says (one request,
 * up to 5 s), 0 while it is not there yet.  Start-up only. */
int kin_topic_partitions(rd_kafka_t *rk, const char *topic);

/* The number of partitions of an input topic (read at start). */
int kin_partitions(const kin_t *k, rec_topic_t topic);

/* Commits the stored offsets (synchronously) and leaves; then
 * kin_free. */
void kin_close(kin_t *k);
void kin_free(kin_t *k);

/* Input partitions assigned (the number in "assigned N partitions"). */
int kin_assigned(const kin_t *k);

/* Partitions of the input topics (read at start): every one of them is
 * assigned when kin_assigned equals this. */
int kin_expected(const kin_t *k);

/* Assigned partitions whose first fetch has answered (a record or the
 * end): the consumer reads them, it is not still looking up where to
 * start (/readyz waits for all of them). */
int kin_fetching(const kin_t *k);

/* Told one assigned partition's lag: the messages from the first one the
 * engine has not taken yet (held back or not fetched) to the
 * partition's end. */
typedef void kin_lag_fn(void *ud, rec_topic_t topic, int32_t partition,
                        int64_t lag);

/* The lag of every assigned partition whose end and position are known
 * (both from librdkafka's cache: the end as of the last fetch response,
 * no request is made).  A partition read to its end with nothing held
 * counts 0. */
void kin_lag(kin_t *k, kin_lag_fn *fn, void *ud);

/* The full name of an input topic (prefix included). */
const char *kin_topic_name(const kin_t *k, rec_topic_t topic);

/* Runs the ready callback from the loop soon, whether or not the queue
 * has anything (after a batch turned durable, to go on consuming). */
void kin_wake(kin_t *k);

typedef enum kin_poll {
        KIN_EMPTY,  /* nothing more for now */
        KIN_RECORD, /* a record of an input topic, held until released */
        KIN_EOF,    /* a partition is read to its end (noted) */
        KIN_ERROR,  /* a consumer error (errstr set); go on */
        KIN_NOMEM   /* out of memory: the record is lost, stop */
} kin_poll_t;

/* The next event from the consumer queue, without waiting: a record is
 * held back in its partition, in offset order, until kin_next. */
kin_poll_t kin_poll(kin_t *k, char *errstr, size_t errstr_size);

/* A polled record's bytes and coordinates, copied out of librdkafka's
 * message when it is held (a held rd_kafka_message_t pins its whole fetch
 * response: bench/live, +170 MiB).  Owned by the kin_t it came from:
 * give it back with kin_release, before kin_free. */
typedef struct kin_msg {
        const void *payload; /* the value's bytes, or NULL */
        size_t len;          /* bytes in payload */
        const void *key;     /* the Kafka key's bytes, or NULL */
        size_t key_len;      /* bytes in key */
        int32_t partition;   /* where it was read */
        int64_t offset;      /* ... */
} kin_msg_t;

/* A record released to the caller. */
typedef struct kin_rec {
        kin_msg_t *m;      /* the caller's until kin_release */
        rec_topic_t topic; /* its input topic */
        bool has_ts;       /* the arrival time is known ... */
        ptime_t ts;        /* ... and is this (SPEC §6 "ts") */
} kin_rec_t;

/* The next record in arrival order, once every other partition has a
 * record held back or is read to its end (and every partition is
 * assigned); false while none may go yet.  The offsets a batch takes
 * (kin_take_offsets) cover released records only. */
bool kin_next(kin_t *k, kin_rec_t *out) __attribute__((warn_unused_result));

/* The record's bytes back to K (M may be NULL). */
void kin_release(kin_t *k, kin_msg_t *m);

/* Records polled and not released yet. */
size_t kin_held(const kin_t *k);

/* Every assigned partition is read to its end. */
bool kin_all_at_end(const kin_t *k);

/* At a batch's close: the offsets it covers (released since the previous
 * close: a record held back is not in the batch) into B.  False when out of
 * memory. */
bool kin_take_offsets(kin_t *k, batch_t *b) __attribute__((warn_unused_result));

/* Once B is durable: stores its offsets (auto-commit sends them).
 * Partitions no longer assigned are skipped (their new owner reads the
 * batch again).  Returns 0, or -1 with errstr set. */
int kin_store_offsets(kin_t *k, const batch_t *b, char *errstr,
                      size_t errstr_size) __attribute__((warn_unused_result));

#endif
