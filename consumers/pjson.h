/*
 * pjson — a strict, allocation-free JSON (RFC 8259) parser for the hot path.
 *
 * Every input record is parsed once per delivery; jansson builds a tree of
 * heap objects for that and costs ~10 µs a record, which alone would miss
 * the throughput targets.  pjson validates the whole text (grammar, UTF-8,
 * escapes, surrogate pairs, nesting depth) exactly as strictly as jansson
 * and writes a flat token array into the caller's buffer: no malloc, and
 * strings are unescaped only when a caller asks for a value.  jansson stays
 * for configuration files and tests, where convenience wins.
 */
#ifndef PATUH_PJSON_H
#define PATUH_PJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum pj_type {
        PJ_NULL,
        PJ_FALSE,
        PJ_TRUE,
        PJ_NUMBER,
        PJ_STRING,
        PJ_ARRAY,
        PJ_OBJECT
} pj_type_t;

/* One value.  For a string, [start, start+len) is the raw text between
 * the quotes (escapes not yet decoded).  For arrays and objects, `count`
 * is the number of elements (members) and `end` the index one past the
 * last token of the value; object members are key token, value token. */
typedef struct pj_tok {
        uint32_t start;
        uint32_t len;
        uint32_t count;
        uint32_t end;
        uint8_t type;    /* pj_type_t */
        uint8_t escaped; /* string holds a backslash escape */
} pj_tok_t;

typedef struct pj_doc {
        const char *text;
        pj_tok_t *tok; /* caller's array */
        uint32_t n;    /* tokens used */
        uint32_t cap;
        bool full; /* parse failed only for want of tokens */
} pj_doc_t;

/* Parses one complete JSON text (any value, surrounded by optional white
 * space).  Returns false when it is not valid UTF-8 JSON or needs more
 * than `cap` tokens; the root is tok[0]. */
bool pj_parse(pj_doc_t *d, const char *text, size_t len, pj_tok_t *tok,
              uint32_t cap) __attribute__((warn_unused_result));

/* pj_parse with a stack array first and a heap array sized to the text
 * when that is too small (a token needs at least one byte of text).  On
 * success *heap is NULL or an array the caller frees. */
bool pj_parse_any(pj_doc_t *d, const char *text, size_t len, pj_tok_t *tok,
                  uint32_t cap, pj_tok_t **heap)
    __attribute__((warn_unused_result));

/* The value of member `key` of object token `obj`, or -1.  With repeated
 * keys the last one wins, as in jansson. */
int pj_get(const pj_doc_t *d, int obj, const char *key);

/* Decodes string token `t` into buf (NUL-terminated).  Returns its byte
 * length, or -1 if it does not fit in n-1 bytes or holds a NUL (U+0000),
 * which no field of ours may contain. */
int pj_string(const pj_doc_t *d, int t, char *buf, size_t n);

/* True when s is well-formed UTF-8 (no overlongs, no surrogates). */
bool pj_utf8_valid(const char *s, size_t n);

#endif
