/*
 * jw — a small JSON writer into a growable buffer.
 *
 * Output records are written once per publication, hundreds of thousands
 * of times in a replay; building jansson trees and dumping them cost a
 * third of the run.  jw appends text directly, escaping strings as RFC 8259
 * requires.  Commas are managed by the writer: call jw_key() before every
 * member of an object and the values in between.
 */
#ifndef PATUH_JW_H
#define PATUH_JW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The text of a non-integral percentage, kept: printf's %f and %g cost
 * microseconds, and a policy has only a handful of percentages. */
typedef struct jw_memo {
        double v; /* compared bit for bit */
        char fmt; /* 'f' (jw_pct) or 'g' (jw_format_g), 0 = unused */
        uint8_t len;
        char text[38];
} jw_memo_t;

#define JW_MEMO 8

typedef struct jw {
        char *buf; /* owned; NUL-terminated after every call */
        size_t len;
        size_t cap;
        bool oom;   /* an allocation failed: the text is incomplete */
        bool first; /* no member written yet in the current object/array */
        jw_memo_t memo[JW_MEMO]; /* survives jw_reset() */
        unsigned memo_next;
} jw_t;

void jw_init(jw_t *w);
void jw_free(jw_t *w);
void jw_reset(jw_t *w);

void jw_raw(jw_t *w, const char *s, size_t n);
void jw_obj_begin(jw_t *w);
void jw_obj_end(jw_t *w);
void jw_arr_begin(jw_t *w);
void jw_arr_end(jw_t *w);

/* Member name of the next value in an object (keys are plain ASCII). */
void jw_key(jw_t *w, const char *key);
/* Values; jw_str(NULL) writes null. */
void jw_str(jw_t *w, const char *s);
void jw_strn(jw_t *w, const char *s, size_t n);
void jw_int(jw_t *w, int64_t v);
void jw_null(jw_t *w);
/* A value that is already valid JSON text (copied as is). */
void jw_json(jw_t *w, const char *json, size_t n);
void jw_bool(jw_t *w, bool v);
/* A percentage: integral values as integers, others with up to 6
 * decimals and no trailing zeros (0.5, 1.25). */
void jw_pct(jw_t *w, double v);
/* An exact decimal v / 10^scale (scale <= 18) without trailing zeros:
 * jw_fixed(w, 1400000, 6) writes 1.4, jw_fixed(w, 6000000, 6) writes 6. */
void jw_fixed(jw_t *w, int64_t v, int scale);
/* The same text into buf (for tables); returns its length. */
size_t jw_format_fixed(int64_t v, int scale, char *buf, size_t n);
/* snprintf(buf, n, "%g", v), remembered in w (the text is the same). */
int jw_format_g(jw_t *w, double v, char *buf, size_t n);
/* v in decimal into buf (at least 21 bytes), NUL-terminated; returns the
 * length (what snprintf "%lld" writes). */
size_t jw_itoa(int64_t v, char *buf);

#endif
