/*
 * jsonv — typed access to jansson values with error messages that name the
 * file and the field ("policy file p.json: late_bands[2].from: expected an
 * integer").  Shared by the policy, roster and calendar loaders so that
 * every refusal reads the same way.
 */
#ifndef PATUH_JSONV_H
#define PATUH_JSONV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Where an error message goes and what it is about. */
typedef struct jsonv {
        const char *what; /* "policy file x.json", "roster file r.jsonl:3" */
        char *errstr;     /* caller's buffer */
        size_t errstr_size;
} jsonv_t;

/* Formats "<what>: <path>: <msg>" into the error buffer; returns false so
 * callers can `return jsonv_fail(...)`. */
bool jsonv_fail(const jsonv_t *v, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Child path "parent.key" or "parent[i]" into buf. */
const char *jsonv_key(char *buf, size_t n, const char *parent, const char *key);
const char *jsonv_idx(char *buf, size_t n, const char *parent, size_t i);

/* Required members: a missing member or a wrong type fails. */
bool jsonv_int(const jsonv_t *v, const json_t *obj, const char *parent,
               const char *key, int64_t min, int64_t max, int64_t *out);
bool jsonv_str(const jsonv_t *v, const json_t *obj, const char *parent,
               const char *key, const char **out);
bool jsonv_num(const jsonv_t *v, const json_t *val, const char *path,
               double min, double *out);
const json_t *jsonv_get(const jsonv_t *v, const json_t *obj, const char *parent,
                        const char *key, json_type type);

/* SPEC §1: identifiers are 1-64 characters of [A-Za-z0-9._:-]. */
bool jsonv_is_identifier(const char *s, size_t len);

/* A percentage in millionths of a percent, exact for any value the policy
 * writes with up to six decimals; all money arithmetic uses these. */
int64_t jsonv_percent_micro(double pct);

/* Reads a whole file into a NUL-terminated buffer the caller frees;
 * NULL when it cannot be read. */
char *jsonv_slurp(const char *path, size_t *len);

/* The text of a buffer past a leading byte-order mark (SPEC §7). */
const char *jsonv_skip_bom(const char *buf, size_t len);

/* Line iteration over a buffer for the JSONL files (roster, events):
 * returns false at the end; *line counts from 1 and includes blank lines.
 * The caller handles a byte-order mark on line 1 (SPEC §7). */
bool jsonv_next_line(const char *buf, size_t len, size_t *pos,
                     const char **start, size_t *n, size_t *line);

/* The next record line of a JSONL stream (SPEC §7): reads with getline
 * into *buf (caller frees), counts every line in *line, drops the line
 * end, a byte-order mark on line 1 and blank lines.  False at the end of
 * the file. */
bool jsonv_read_line(FILE *f, char **buf, size_t *cap, long long *line,
                     const char **s, size_t *n);

/* A line holding only white space is blank (SPEC §7). */
bool jsonv_is_blank(const char *s, size_t n);

#endif
