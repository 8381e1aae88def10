/*
 * ptime — instants, civil dates and RFC 3339 timestamps.
 *
 * Every timestamp patuh handles is an exact instant (seconds + nanoseconds
 * since the Unix epoch, UTC).  Civil dates are day numbers since
 * 1970-01-01 so that "date + 35 days" is integer arithmetic.  Nothing here
 * knows about time zones: rules/tz.h turns instants into local dates and
 * minutes.
 */
#ifndef PATUH_PTIME_H
#define PATUH_PTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An exact instant.  nsec is always in [0, 1e9). */
typedef struct ptime {
        int64_t sec;
        int32_t nsec;
} ptime_t;

#define PTIME_NEVER ((ptime_t){INT64_MIN, 0})
#define PTIME_FOREVER ((ptime_t){INT64_MAX, 0})

int ptime_cmp(ptime_t a, ptime_t b);

/* Exactly: a - b > seconds (the 5-minute future check). */
bool ptime_diff_exceeds(ptime_t a, ptime_t b, int64_t seconds);

/*
 * Parses an RFC 3339 date-time with seconds and an explicit offset
 * ("T"/"t", "Z"/"z", fractions, "-00:00" accepted; a space separator or a
 * missing offset is not).  A leap second ":60" reads as ":59".  Digits of a
 * fraction past nanoseconds are ignored.  Returns false on any deviation.
 */
bool ptime_parse_rfc3339(const char *s, size_t len, ptime_t *out)
    __attribute__((warn_unused_result));

/* Day number of a proleptic Gregorian date (1970-01-01 = 0). */
int32_t ptime_days_from_civil(int y, int m, int d);
void ptime_civil_from_days(int32_t day, int *y, int *m, int *d);

/* Strict "YYYY-MM-DD" with a real calendar date. */
bool ptime_parse_date(const char *s, size_t len, int32_t *day)
    __attribute__((warn_unused_result));

/* Writes "YYYY-MM-DD" (11 bytes with the NUL). */
void ptime_format_date(int32_t day, char buf[static 11]);

/* Writes "YYYY-MM-DDTHH:MM:SS" (19 bytes, no NUL) for the local or UTC
 * seconds SEC; by hand, not printf: outputs write one per record. */
void ptime_format_datetime(int64_t sec, char buf[static 19]);

/* 0 = Monday ... 6 = Sunday. */
int ptime_weekday(int32_t day);

/* Strict "HH:MM" (00:00..23:59) into minutes after midnight. */
bool ptime_parse_hhmm(const char *s, int *minutes)
    __attribute__((warn_unused_result));

/* Weekday names as the policy spells them ("mon".."sun"); -1 if unknown. */
int ptime_weekday_from_name(const char *name);
const char *ptime_weekday_name(int wd);

/* floor(a / b) and the matching non-negative remainder, b > 0. */
static inline int64_t ptime_floordiv(int64_t a, int64_t b)
{
        int64_t q = a / b;
        if ((a % b) < 0)
                q--;
        return q;
}

static inline int64_t ptime_floormod(int64_t a, int64_t b)
{
        int64_t r = a % b;
        if (r < 0)
                r += b;
        return r;
}

#endif
