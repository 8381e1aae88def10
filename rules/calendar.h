/*
 * calendar — holidays, WFH suspensions and hours overrides (SPEC §1.5).
 */
#ifndef PATUH_CALENDAR_H
#define PATUH_CALENDAR_H

#include "policy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cal_day {
        int32_t day;
        char *name; /* owned: holiday name or suspension reason */
} cal_day_t;

typedef struct cal_override {
        int32_t from, to; /* inclusive day numbers */
        char *name;       /* owned */
        bool has[7];
        int hours[7][2];
} cal_override_t;

typedef struct calendar {
        cal_day_t *holidays; /* owned, sorted by day */
        size_t n_holidays;
        cal_day_t *suspended; /* owned, sorted by day */
        size_t n_suspended;
        cal_override_t *overrides; /* owned, sorted, never overlapping */
        size_t n_overrides;
} calendar_t;

calendar_t *calendar_load(const char *path, char *errstr, size_t errstr_size);
/* The same from the LEN bytes of a file's content (a byte-order mark
 * first is skipped); `what` names the source in messages. */
calendar_t *calendar_load_buffer(const char *buf, size_t len, const char *what,
                                 char *errstr, size_t errstr_size);
calendar_t *calendar_load_string(const char *json, const char *what,
                                 char *errstr, size_t errstr_size);
void calendar_free(calendar_t *c);

bool calendar_is_holiday(const calendar_t *c, int32_t day);
bool calendar_is_wfh_suspended(const calendar_t *c, int32_t day);

/* Why D is special, for explanations: the holiday's name, the
 * suspension's reason, the hours override in force (NULL: none). */
const char *calendar_holiday_name(const calendar_t *c, int32_t day);
const char *calendar_suspension_reason(const calendar_t *c, int32_t day);
const cal_override_t *calendar_override(const calendar_t *c, int32_t day);

/* D's hours (SPEC §3.1): the override for D's weekday if one applies, else
 * the policy's.  False when neither gives hours for that weekday. */
bool calendar_hours(const calendar_t *c, const policy_t *p, int32_t day,
                    int *start, int *end);

#endif
