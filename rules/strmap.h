/*
 * strmap — an open-addressing hash map from byte strings to int32 values.
 *
 * Used for the roster index (employee_id -> row) and for the replay
 * engine's de-duplication sets, where millions of short ids are looked up:
 * keys are copied into a chunked arena owned by the map, so inserting does
 * one allocation per 64 KiB of keys, not one per key.
 */
#ifndef PATUH_STRMAP_H
#define PATUH_STRMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct strmap strmap_t;

strmap_t *strmap_new(void);
void strmap_free(strmap_t *m);

/* Value of key, or -1 when absent. */
int32_t strmap_get(const strmap_t *m, const char *key, size_t len);

/* The hash the map files key under: computed once (on another thread,
 * say) it can be handed to the _h variants below, which behave exactly as
 * the plain ones given h == strmap_hash(key, len). */
uint32_t strmap_hash(const char *key, size_t len);
int32_t strmap_get_h(const strmap_t *m, const char *key, size_t len,
                     uint32_t h);
const char *strmap_intern_h(strmap_t *m, const char *key, size_t len,
                            uint32_t h, int32_t val, bool *added);
/* Asks the CPU for the slot key with hash h would start probing at. */
void strmap_prefetch(const strmap_t *m, uint32_t h);

/* Inserts key -> val unless present.  Returns the value now stored (the
 * old one when present), or INT32_MIN when out of memory.  *added tells
 * which, when not NULL. */
int32_t strmap_put(strmap_t *m, const char *key, size_t len, int32_t val,
                   bool *added);

/* Like strmap_put, returning the map's own copy of the key, which stays
 * valid and unmoved until strmap_free(); NULL when out of memory. */
const char *strmap_intern(strmap_t *m, const char *key, size_t len, int32_t val,
                          bool *added);

size_t strmap_count(const strmap_t *m);

/* Makes room for n keys in all, so that inserting them moves no slot
 * (a hint: false when out of memory, the map unchanged). */
bool strmap_reserve(strmap_t *m, size_t n);

#endif
