/*
 * tz — the policy time zone, read from the system's TZif database.
 *
 * All clock arithmetic of SPEC §3 happens in the policy zone.  We read the
 * zone once at start (no TZ environment juggling, no global state: the
 * evaluator stays pure and reentrant) and answer "what is the local date
 * and minute of this instant" and "which instant is local midnight".
 * Zones whose current rules still change offsets (daylight saving) are
 * refused at load: Indonesian zones have none, and a half-supported DST
 * zone would silently shift decisions.
 */
#ifndef PATUH_TZ_H
#define PATUH_TZ_H

#include "ptime.h"

#include <stddef.h>
#include <stdint.h>

typedef struct tz tz_t;

/* Loads zone `name` (e.g. "Asia/Makassar") from $TZDIR or
 * /usr/share/zoneinfo.  Returns NULL and fills errstr on failure.  The
 * caller owns the result (tz_free). */
tz_t *tz_load(const char *name, char *errstr, size_t errstr_size);
void tz_free(tz_t *tz);

/* UTC offset in seconds east of Greenwich in force at UTC second t. */
int32_t tz_offset_at(const tz_t *tz, int64_t t);

/* Abbreviation in force at t ("WITA"), for texts read by people. */
const char *tz_abbrev_at(const tz_t *tz, int64_t t);

/* The local date (day number) of an instant. */
int32_t tz_local_day(const tz_t *tz, ptime_t t);

/* Local minutes since the epoch's local midnight: floor(local seconds/60).
 * Minute arithmetic across a day boundary stays correct. */
int64_t tz_local_minute(const tz_t *tz, ptime_t t);

/* The instant (UTC seconds) of local day `day`, `minute` minutes after its
 * midnight; minute may exceed 1440 to reach the following days. */
int64_t tz_utc_of_local(const tz_t *tz, int32_t day, int64_t minute);

#endif
