/*
 * source — replay's events files, read and decoded on a thread of their own.
 *
 * `patuh replay` spends a third of its time turning bytes into records:
 * reading lines, parsing envelopes and values, finding employees in the
 * roster.  None of that depends on the engine's state, so a reader thread
 * does it for the lines ahead while the main thread admits and evaluates
 * the records already decoded.  The reader hands over batches of decoded
 * lines through a bounded ring, strictly in file order: the core sees the
 * very same sequence it would see reading the files itself, and a dead
 * letter keeps the line's original bytes, file and line number.
 *
 * Each line carries what replay's handle_line() needs: the envelope's
 * verdict and ts, the form checks' reason and detail (SPEC §7), the
 * decoded record and its core_hint().  The end of every file is reported
 * in order too (read to its end, read error, cannot open), so that errors
 * surface exactly where reading the files one after the other would meet
 * them.
 */
#ifndef PATUH_SOURCE_H
#define PATUH_SOURCE_H

#include "../consumers/record.h"
#include "core.h"

#include <stdbool.h>
#include <stddef.h>

/* One non-blank line of an events file. */
typedef struct src_line {
        long long lineno; /* 1-based, in its file */
        uint32_t raw_off; /* the line's bytes: bytes + raw_off, raw_len */
        uint32_t raw_len;
        uint32_t detail_off; /* the form checks' detail (NUL-terminated) */
        uint8_t reason;      /* dlq_reason_t of envelope and value checks */
        bool env_ok;         /* the envelope passed (its ts counts) */
        bool has_ts;         /* the envelope's ts, when it has one */
        bool malformed_env;  /* no topic or no value to report */
        int8_t topic;        /* rec_topic_t, -1 unknown */
        ptime_t ts;
        core_hint_t hint; /* when reason is DLQ_NONE */
        record_t rec;     /* as far as decoding got */
} src_line_t;

#define SRC_BATCH_LINES 512

/* Consecutive lines of one file, and perhaps the news that it ended. */
typedef struct src_batch {
        src_line_t line[SRC_BATCH_LINES];
        size_t n;
        size_t file; /* index into the paths given to src_start() */
        char *bytes; /* owned: raw lines and details */
        size_t len, cap;
        /* After the lines: */
        bool file_end; /* `file` ends here with `status`: */
        int status;    /* 0 read to its end, 1 read error, 2 cannot open */
        char errstr[320];
        bool last; /* no batch follows */
} src_batch_t;

typedef struct src src_t;

/* Starts reading paths[0..n) in order; the strings and the roster must
 * outlive the source.  NULL when out of memory or no thread. */
src_t *src_start(const char *const *paths, size_t n, const roster_t *roster);

/* The next batch in order (waits for the reader); valid until src_done().
 * A batch with `last` set is the end: call src_done() and stop asking. */
const src_batch_t *src_next(src_t *s);
void src_done(src_t *s);

/* Stops the reader (wherever it is), joins it and frees everything. */
void src_stop(src_t *s);

#endif
