/*
 * policy — the policy file of SPEC §2, loaded and validated as a whole.
 *
 * Every number the rules use (hours, bands, percentages, windows, the
 * horizon) lives here and comes from the file; nothing is compiled in.
 * A file that breaks the format is refused with a message naming the field,
 * so the engine never runs on a half-read policy.
 */
#ifndef PATUH_POLICY_H
#define PATUH_POLICY_H

#include "jsonv.h"
#include "tz.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The violation kinds of SPEC §3, in output order. */
typedef enum vkind {
        VK_LATE_CLOCK_IN,
        VK_EARLY_CLOCK_OUT,
        VK_MISSING_CLOCK_IN,
        VK_MISSING_CLOCK_OUT,
        VK_ABSENT,
        VK_WFH_NOT_PERMITTED,
        VK_UNANSWERED_CALL,
        VK__COUNT
} vkind_t;

const char *vkind_name(vkind_t k);
int vkind_from_name(const char *name); /* -1 if unknown */

/* SPEC §1.4 position_class and service_class values. */
#define POSITION__COUNT 7
#define SERVICE__COUNT 10
int policy_position_from_name(const char *name);
int policy_service_from_name(const char *name);
const char *policy_position_name(int pos);
const char *policy_service_name(int svc);

/* One lateness/earliness band: minutes in [from, to] (to < 0: open). */
typedef struct policy_band {
        char name[32];
        int64_t from;
        int64_t to;
        double pct;    /* tpp_percent as written, for output */
        int64_t pct_u; /* the same in millionths of a percent */
} policy_band_t;

/* Per violation kind: grading and the legal clause behind it. */
typedef struct policy_kind {
        char severity[32];
        char clause[128];
        double pct; /* kinds without bands */
        int64_t pct_u;
} policy_kind_t;

typedef struct policy_ladder_step {
        int64_t from; /* from_days or from_count */
        char level[32];
        char sanction[64];
} policy_ladder_step_t;

typedef struct policy {
        char policy_id[65];
        int64_t version;
        char label[96]; /* "policy_id/version" */
        char timezone[64];
        tz_t *tz;        /* owned */
        bool workday[7]; /* index 0 = Monday */
        bool has_hours[7];
        int hours[7][2]; /* start, end in minutes after 00:00 */
        bool wfh_day[7];
        bool has_wfh_from;
        int32_t wfh_from; /* day number */
        bool exempt_position[POSITION__COUNT];
        bool exempt_service[SERVICE__COUNT];
        policy_band_t *late; /* owned */
        size_t n_late;
        policy_band_t *early; /* owned */
        size_t n_early;
        int64_t not_clocked_in_alert_minutes;
        int64_t callback_minutes;
        int64_t amend_horizon_days;
        policy_kind_t kind[VK__COUNT];
        double cap_pct;
        int64_t cap_pct_u;
        /* discipline (SPEC §4.4), validated when present */
        bool has_discipline;
        int64_t minutes_per_day;
        int64_t discipline_minutes[VK__COUNT]; /* -1 = "actual" */
        policy_ladder_step_t *ladder;          /* owned */
        size_t n_ladder;
        policy_ladder_step_t *call_ladder; /* owned */
        size_t n_call_ladder;
} policy_t;

/* Loads and validates a policy file.  On failure returns NULL with a
 * message naming the file and field in errstr.  Caller frees. */
policy_t *policy_load(const char *path, char *errstr, size_t errstr_size);
/* The same from the LEN bytes of a file's content (a byte-order mark
 * first is skipped, SPEC §7); `what` names the source in messages
 * ("policy file x.json").  policy_load reads the file into this. */
policy_t *policy_load_buffer(const char *buf, size_t len, const char *what,
                             char *errstr, size_t errstr_size);
/* Same from a string (tests); `what` names the source in messages. */
policy_t *policy_load_string(const char *json, const char *what, char *errstr,
                             size_t errstr_size);
void policy_free(policy_t *p);

/* Weekday hours {"mon":["07:30","16:00"], ...} into has/hours (minutes);
 * shared with the calendar's hours_overrides. */
bool policy_parse_hours(const jsonv_t *v, const json_t *obj, const char *path,
                        bool has[7], int hours[7][2]);

/* The band holding `minutes`, or NULL (a gap the policy leaves as grace). */
const policy_band_t *policy_band_for(const policy_band_t *bands, size_t n,
                                     int64_t minutes);

#endif
