/*
 * store — patuhd's state in Redis.
 *
 * The state of the rules is a pure function of the accepted records
 * (SPEC §3.4), so Redis keeps exactly those, plus the ledger of what was
 * published; everything else (days in service, duplicate sets, pending
 * decision times) is rebuilt by admitting the records again at start.
 * Keys carry the *unit* (the subject's roster unit_id) as a hash tag:
 * the scale-out that follows moves units between instances, a Redis
 * Cluster shards by unit, and restoring a unit is a handful of reads.
 * Keys expire past the amend horizon (store_ttl):
 *
 *   patuh:{U}:r:YYYY-MM-DD  string  frames (below) of the accepted
 *                                 presence and call records of U's
 *                                 employees for that work date (calls
 *                                 under the callee), appended per batch
 *   patuh:{U}:x             string  frames of U's employees' excuses
 *   patuh:{U}:days          set     the work dates U has records for
 *   patuh:{U}:l:YYYY-MM-DD  hash    ledger: "E|kind|subject" ->
 *                                 publication, "E|!alerted" -> 1 once
 *                                 not_clocked_in went out
 *   patuh:watermark         string  the engine watermark ("sec.nsec") the
 *                                 ledgers were computed at
 *   patuh:outage_next       string  first day not yet checked for
 *                                 no_presence_data (none raised twice)
 *   patuh:epoch             string  the engine lease epoch of the last
 *                                 instance that wrote state: a write with a
 *                                 lower epoch is refused (a stale instance
 *                                 never overwrites its successor's state)
 *   patuh:layout            string  "2": this layout (the first one kept
 *                                 JSON lists per employee; patuhd refuses
 *                                 to start on it rather than forget it)
 *
 * A frame is the accepted record's rule fields in a compact binary form
 * (~50 bytes instead of ~230 of JSON): a tag byte (0xA0 | topic), a flags
 * byte, the arrival time, the ids as length-prefixed bytes and the times
 * as zigzag varints relative to the arrival.  The record's own bytes,
 * partition and offset go to PostgreSQL instead (input_records, for
 * explain).  Frames are self-delimiting, so a unit-day is one string that
 * each batch appends to: Redis does one APPEND per unit-day and batch,
 * not one command per record.  A batch written twice (a retry after a
 * lost reply) appends its frames twice; restore admits them again as the
 * duplicates they are.
 */
#ifndef PATUH_STORE_H
#define PATUH_STORE_H

#include "../consumers/record.h"
#include "../rules/eval.h"
#include "batch.h"
#include "core.h"
#include "jw.h"

#include <event2/event.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 3339 in UTC with nanoseconds ("2026-04-06T23:18:32.000000000Z"). */
void store_format_utc(ptime_t t, char buf[40]);

/* The key names above, for unit UNIT_ID. */
void store_key_records(const char *unit_id, int32_t day, char *buf, size_t n);
void store_key_excuses(const char *unit_id, char *buf, size_t n);
void store_key_days(const char *unit_id, char *buf, size_t n);
void store_key_ledger(const char *unit_id, int32_t day, char *buf, size_t n);

/* A ledger field of employee EMPLOYEE_ID: "E|kind|subject" for P, or
 * "E|!alerted" when P is NULL.  Returns its length (cut to fit n). */
size_t store_ledger_field(const char *employee_id, const eval_pub_t *p,
                          char *buf, size_t n);

/* Appends REC's frame (arrival time TS when HAS_TS) to W. */
void store_frame(jw_t *w, const record_t *rec, bool has_ts, ptime_t ts);
/* The same with where the record was read (input partition and offset of
 * its topic): a scale-out restore admits a frame as a fact only when its
 * place lies before the position it reads the input again from. */
void store_frame_at(jw_t *w, const record_t *rec, bool has_ts, ptime_t ts,
                    int32_t partition, int64_t offset);

/* Decodes the frame at BUF[*pos..len) into REC, *HAS_TS and *TS and moves
 * *pos past it.  False (and *pos unchanged) when the bytes are no frame:
 * the rest of that string is unreadable. */
bool store_frame_next(const char *buf, size_t len, size_t *pos, record_t *rec,
                      bool *has_ts, ptime_t *ts);
/* store_frame_next with the frame's place (*partition -1 when it has
 * none). */
bool store_frame_next_at(const char *buf, size_t len, size_t *pos,
                         record_t *rec, bool *has_ts, ptime_t *ts,
                         int32_t *partition, int64_t *offset);

/* How long a key lives after its last write, in seconds: the amend
 * horizon plus two days.  Relative to the write, not to the work date, so
 * that a backfill of old days survives a restart as long as a live day
 * would (in live operation a day's keys are written on the day). */
int64_t store_ttl(const eval_ctx_t *ctx);

/* The replay envelope of an accepted record with its Kafka coordinates,
 * {"topic":"calls","ts":"...Z"|null,"p":3,"o":1234,"value":{<the record
 * as it arrived>}}: what PostgreSQL keeps for explain (input_records).
 * value/len: the accepted record's bytes (a valid JSON object). */
void store_envelope(jw_t *w, rec_topic_t topic, bool has_ts, ptime_t ts,
                    int32_t partition, int64_t offset, const char *value,
                    size_t len);

/* A ledger entry and back (band resolved by name in the policy). */
void store_pub(jw_t *w, const eval_ctx_t *ctx, const eval_pub_t *p);
/* The strings of a parsed entry (eval_decision_t borrows its subject and
 * evidence): the caller's, until it copies them (core_restore_pub). */
typedef struct store_pub_ids {
        char s[1 + EVAL_MAX_EVIDENCE][EVAL_ID_MAX];
} store_pub_ids_t;
bool store_pub_parse(const eval_ctx_t *ctx, const char *s, size_t n,
                     eval_pub_t *out, store_pub_ids_t *ids);

#define STORE_KEY_EPOCH "patuh:epoch"
#define STORE_KEY_WATERMARK "patuh:watermark"
#define STORE_KEY_OUTAGE "patuh:outage_next"
#define STORE_KEY_LAYOUT "patuh:layout"
#define STORE_LAYOUT "2"

/* Raises patuh:epoch to epoch at start, once this instance holds the
 * engine lease (blocking, start-up only).  Fails when a newer epoch is
 * already there.  Returns 0 or -1 with errstr set. */
int store_fence(const char *host, int port, int db, long long epoch,
                char *errstr, size_t errstr_size)
    __attribute__((warn_unused_result));

/*
 * Rebuilds the core from Redis at start, unit by unit of the roster (no
 * scan of the keyspace): the days each unit lists, their ledgers, then
 * their records and the unit's excuses admitted again.  Every listed day
 * that has not expired is read, not only those near the watermark: a
 * record's reach is bounded by its own arrival time (SPEC §7, too_late),
 * and a producer may send old arrival times (a backfill, a replayed
 * file) after newer ones, so the TTL is the only safe bound.  Uses a
 * blocking connection with a 5 s timeout per reply (start-up only).
 * Returns the number of records restored, or -1 with errstr set
 * (unreachable, a reply missing, a frame unreadable, an older layout).
 */
long store_restore(core_t *core, const eval_ctx_t *ctx, const char *host,
                   int port, int db, char *errstr, size_t errstr_size);

/* ---- scale-out: work partitions (docs/scale-out.md) ----------------------
 *
 *   patuh:{wN}:pos     string  the checkpoint of work partition N: what
 *                              its owner had made durable (watermark,
 *                              outage cursor, and the position reached in
 *                              every input partition), written with each
 *                              batch's state
 *   patuh:{wN}:epoch   string  the epoch of N's owner (PostgreSQL's
 *                              work_owners): an older owner's write is
 *                              refused
 *   patuh:work_partitions  the number of work partitions the units were
 *                              hashed over (refused if it changes)
 */
#define STORE_KEY_WORK_PARTITIONS "patuh:work_partitions"

/* One input partition's position: the next offset to read
 * (RD_KAFKA_OFFSET_BEGINNING, -2, for "from its beginning"). */
typedef struct store_pos {
        int topic; /* rec_topic_t */
        int32_t partition;
        int64_t offset;
} store_pos_t;

typedef struct store_ckpt {
        bool found;       /* the key exists */
        bool has_wm;      /* wm is set */
        ptime_t wm;       /* the owner's watermark */
        int32_t outage;   /* its outage cursor (INT32_MIN: none) */
        store_pos_t *pos; /* owned (free()), n entries */
        size_t n;         /* entries in pos */
        long long epoch;  /* patuh:{wN}:epoch, 0 when absent */
} store_ckpt_t;

/* Formats a checkpoint: "wm outage t:p:o ..." (wm "sec.nsec" or "-"). */
void store_ckpt_format(jw_t *w, bool has_wm, ptime_t wm, int32_t outage,
                       const store_pos_t *pos, size_t n);
/* Parses one; false when it is not one (pos is then NULL). */
bool store_ckpt_parse(const char *s, size_t len, store_ckpt_t *out);

/* C's position in input partition (TOPIC, PARTITION):
 * RD_KAFKA_OFFSET_BEGINNING (-2) when C is absent or does not list it. */
int64_t store_ckpt_offset(const store_ckpt_t *c, int topic, int32_t partition);

/* Reads the checkpoints of work partitions 0..W-1 into OUT (W entries,
 * each freed with free(out[i].pos)).  Blocking, bounded (start-up and a
 * rebalance).  Fails when the state was hashed over another number of
 * work partitions.  Returns 0, 1 when Redis holds a single-mode engine's
 * state and no checkpoint (store_from_single converts it), or -1 with
 * errstr set. */
int store_read_ckpts(const char *host, int port, int db, int w_count,
                     store_ckpt_t *out, char *errstr, size_t errstr_size)
    __attribute__((warn_unused_result));

/* Single mode's state as group mode's: every work partition's checkpoint
 * (none is overwritten) becomes the single engine's watermark and outage
 * cursor with the input positions POS (the offsets it committed), the
 * point a single-mode restart would read from.  Its frames carry no
 * place, so a restore admits all of them; the ledgers are every unit's.
 * Returns 0 or -1 with errstr set. */
int store_from_single(const char *host, int port, int db, int w_count,
                      const store_pos_t *pos, size_t n, char *errstr,
                      size_t errstr_size) __attribute__((warn_unused_result));

/* Raises patuh:{wN}:epoch to EPOCHS[i] for each WS[i] (and notes W):
 * refused when a newer owner is there.  Returns 0 or -1 with errstr. */
int store_fence_work(const char *host, int port, int db, int w_count,
                     const int32_t *ws, const long long *epochs, size_t n,
                     char *errstr, size_t errstr_size)
    __attribute__((warn_unused_result));

/* What a scale-out restore reads (store_restore_scoped). */
typedef struct store_scope {
        bool has_wm;    /* the watermark to restore at ... */
        ptime_t wm;     /* ... (the earliest checkpoint's) */
        int32_t outage; /* the outage cursor, INT32_MIN: none */
        /* whether UNIT_ID's ledgers are read (the units decided for) */
        bool (*ledger)(void *ud, const char *unit_id);
        /* whether a frame read at (topic, partition, offset) is admitted
         * (partition -1: a frame without its place, always admitted) */
        bool (*fact)(void *ud, int topic, int32_t partition, int64_t offset);
        void *ud;
} store_scope_t;

/* store_restore for an instance that decides for some units only: every
 * unit's frames before the input position it reads again from (the
 * facts), the ledgers of its own units, at the scope's watermark. */
long store_restore_scoped(core_t *core, const eval_ctx_t *ctx, const char *host,
                          int port, int db, const store_scope_t *scope,
                          char *errstr, size_t errstr_size);

/* ---- the writer: one batch's state, asynchronously ---------------------
 *
 * hiredis async on the libevent adapter.  A batch's state is written by
 * one server-side script: the accepted records (one APPEND of the batch's
 * frames per unit-day, the TTL renewed by each write), the ledger entries
 * of the employee-days the batch touched as they stood when it closed
 * (HSET: an entry is never removed, only revised), the watermark and the
 * outage cursor, behind the
 * epoch fence (a write with a lower lease epoch than patuh:epoch is
 * refused).  A script runs atomically, so records and ledgers never
 * disagree.  hiredis 0.14 has no reconnect and no timeouts: the writer
 * connects when asked (store_writer_connect, from the daemon's tick or a
 * write), and a write with no reply within its timeout drops the
 * connection and is reported failed (a frozen Redis is a visible failure).
 *
 * Ownership: store_writer_new returns a writer freed with
 * store_writer_free (not from inside one of its callbacks); host and base
 * are borrowed.  The batch given to store_writer_write is read during the
 * call only.  Nothing here prints.
 */
typedef struct store_writer store_writer_t;

typedef enum store_write_status {
        STORE_WRITE_OK,     /* the state is in Redis */
        STORE_WRITE_FAILED, /* nothing written: write again */
        STORE_WRITE_FENCED  /* refused: a newer instance holds the lease */
} store_write_status_t;

/* errstr: what failed, "" for STORE_WRITE_OK. */
typedef void store_writer_done_fn(void *ud, store_write_status_t status,
                                  const char *errstr);
/* The connection came up (up, errstr "") or failed or was lost. */
typedef void store_writer_conn_fn(void *ud, bool up, const char *errstr);

store_writer_t *store_writer_new(struct event_base *base, const char *host,
                                 int port, int db, int64_t ttl,
                                 long write_timeout_ms,
                                 store_writer_done_fn *done,
                                 store_writer_conn_fn *conn, void *ud);
void store_writer_free(store_writer_t *sw);

/* Starts connecting unless connected or connecting. */
void store_writer_connect(store_writer_t *sw);

/* The connection is there (possibly not connected yet). */
bool store_writer_attached(const store_writer_t *sw);

/* B changes nothing in Redis (no records, ledgers or watermark). */
bool store_writer_nothing(const batch_t *b);

/*
 * Sends B's state with the lease EPOCH.  Returns 0 when on its way (the
 * done callback tells how it ended), -1 with errstr set when it could not
 * be sent (not connected: a connection is started; out of memory; the
 * send failed), done not called.  One write at a time.
 */
int store_writer_write(store_writer_t *sw, batch_t *b, long long epoch,
                       char *errstr, size_t errstr_size)
    __attribute__((warn_unused_result));

#endif
