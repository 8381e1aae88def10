/*
 * test_ptime — RFC 3339 timestamps, civil dates, weekdays, the 5-minute
 * future comparison and the policy time zone (SPEC §3, §7).
 *
 * Every accepted timestamp is checked against the exact instant it names
 * (Unix seconds and nanoseconds, worked out independently with date(1)),
 * so a parser that accepts the right strings but lands on the wrong second
 * fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ptime.h"
#include "tz.h"

/* 2026-04-09T23:41:09Z, the SPEC §1.1 example "2026-04-10T07:41:09+08:00". */
#define T_EXAMPLE INT64_C(1775778069)
/* 2026-06-30T23:59:59Z */
#define T_LEAP INT64_C(1782863999)
/* 2026-04-10T00:00:00Z */
#define T_0410 INT64_C(1775779200)
/* Day numbers (days since 1970-01-01). */
#define D_20260410 20553
#define D_20240229 19782

struct ok_case {
        const char *s;
        int64_t sec;
        int32_t nsec;
};

static const struct ok_case rfc3339_ok[] = {
    {"2026-04-10T07:41:09+08:00", T_EXAMPLE, 0},
    {"2026-04-10t07:41:09+08:00", T_EXAMPLE, 0},
    {"2026-04-09T23:41:09Z", T_EXAMPLE, 0},
    {"2026-04-09T23:41:09z", T_EXAMPLE, 0},
    {"2026-04-09t23:41:09z", T_EXAMPLE, 0},
    {"2026-04-09T23:41:09+00:00", T_EXAMPLE, 0},
    {"2026-04-09T23:41:09-00:00", T_EXAMPLE, 0},
    {"2026-04-09T19:41:09-04:00", T_EXAMPLE, 0},
    {"2026-04-10T06:41:09+07:00", T_EXAMPLE, 0},
    {"2026-04-10T05:26:09+05:45", T_EXAMPLE, 0},
    /* fractions of 1..9 digits, and more (digits past ns ignored) */
    {"2026-04-10T07:41:09.5+08:00", T_EXAMPLE, 500000000},
    {"2026-04-10T07:41:09.05+08:00", T_EXAMPLE, 50000000},
    {"2026-04-10T07:41:09.123+08:00", T_EXAMPLE, 123000000},
    {"2026-04-10T07:41:09.123456+08:00", T_EXAMPLE, 123456000},
    {"2026-04-10T07:41:09.123456789+08:00", T_EXAMPLE, 123456789},
    {"2026-04-10T07:41:09.1234567899+08:00", T_EXAMPLE, 123456789},
    {"2026-04-10T07:41:09.000000001Z", T_EXAMPLE + 8 * 3600, 1},
    {"2026-04-10T07:41:09.000000000000Z", T_EXAMPLE + 8 * 3600, 0},
    {"2026-04-10T07:41:09.999999999-00:00", T_EXAMPLE + 8 * 3600, 999999999},
    /* a leap second reads as :59 */
    {"2026-06-30T23:59:60Z", T_LEAP, 0},
    {"2026-07-01T07:59:60+08:00", T_LEAP, 0},
    {"2026-06-30T23:59:60.25Z", T_LEAP, 250000000},
    /* local midnight is the previous UTC day */
    {"2026-04-10T00:00:00+08:00", T_0410 - 8 * 3600, 0},
    {"2026-04-10T00:00:00Z", T_0410, 0},
    {"2024-02-29T00:00:00Z", INT64_C(1709164800), 0},
    {"1970-01-01T00:00:00Z", 0, 0},
    {"1970-01-01T08:00:00+08:00", 0, 0},
    {"2026-12-31T23:59:59+08:00", INT64_C(1798761599) - 8 * 3600, 0},
};

static const char *const rfc3339_bad[] = {
    "2026-04-10 07:41:09+08:00",     /* space separator */
    "2026-04-10_07:41:09+08:00",     /* other separator */
    "2026-04-10T07:12+08:00",        /* no seconds */
    "2026-04-10T07:41:09",           /* no offset */
    "2026-04-10T07:41:09.5",         /* fraction, no offset */
    "2026-04-10T07:41:09+08",        /* offset without minutes */
    "2026-04-10T07:41:09+0800",      /* offset without colon */
    "2026-04-10T07:41:09+8:00",      /* one-digit offset hour */
    "2026-04-10T07:41:09+24:00",     /* offset hour 24 */
    "2026-04-10T07:41:09+08:60",     /* offset minute 60 */
    "2026-04-10T07:41:09 +08:00",    /* space before offset */
    "2026-04-10T07:41:09UTC",        /* named zone */
    "2026-04-10T07:41:09+08:00x",    /* trailing junk */
    "2026-04-10T07:41:09Zx",         /* trailing junk after Z */
    "2026-04-10T07:41:09+08:00 ",    /* trailing space */
    "2026-04-10T07:41:09ZZ",         /* two offsets */
    "2026-04-10T07:00:00.+08:00",    /* empty fraction */
    "2026-04-10T07:00:00.Z",         /* empty fraction before Z */
    "2026-04-10T07:41:09,5+08:00",   /* comma fraction */
    "2026-13-10T07:41:09+08:00",     /* month 13 */
    "2026-00-10T07:41:09+08:00",     /* month 0 */
    "2026-04-00T07:41:09+08:00",     /* day 0 */
    "2026-02-29T07:41:09+08:00",     /* 2026 is not a leap year */
    "2026-04-31T07:41:09+08:00",     /* April has 30 days */
    "2026-04-10T24:00:00+08:00",     /* hour 24 */
    "2026-04-10T07:60:00+08:00",     /* minute 60 */
    "2026-04-10T07:41:61+08:00",     /* second 61 */
    "2026-4-10T07:41:09+08:00",      /* one-digit month */
    "2026-04-10T7:41:09+08:00",      /* one-digit hour */
    " 2026-04-10T07:41:09+08:00",    /* leading space */
    "2026-04-10",                    /* a date alone */
    "07:41:09+08:00",                /* a time alone */
    "",                              /* nothing */
    "2026-04-10T07:41:09.5.5+08:00", /* two fractions */
    "2026-04-10T07:41:09-+08:00",    /* doubled sign */
};

static void test_rfc3339_accepted(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(rfc3339_ok) / sizeof(rfc3339_ok[0]);
             i++) {
                const struct ok_case *c = &rfc3339_ok[i];
                ptime_t t = {-1, -1};
                if (!ptime_parse_rfc3339(c->s, strlen(c->s), &t))
                        fail_msg("'%s' refused", c->s);
                if (t.sec != c->sec || t.nsec != c->nsec)
                        fail_msg("'%s' -> %lld.%09d, expected %lld.%09d", c->s,
                                 (long long)t.sec, (int)t.nsec,
                                 (long long)c->sec, (int)c->nsec);
        }
}

static void test_rfc3339_rejected(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(rfc3339_bad) / sizeof(rfc3339_bad[0]);
             i++) {
                const char *s = rfc3339_bad[i];
                ptime_t t;
                if (ptime_parse_rfc3339(s, strlen(s), &t))
                        fail_msg("'%s' accepted as %lld.%09d", s,
                                 (long long)t.sec, (int)t.nsec);
        }
}

/* The parser reads exactly len bytes: JSON strings carry their length and
 * may hold a NUL, which must not cut a bad timestamp down to a good one. */
static void test_rfc3339_length(void **state)
{
        (void)state;
        static const char buf[] = "2026-04-09T23:41:09Zjunk";
        static const char nul[] = "2026-04-09T23:41:09Z\0+08:00";
        ptime_t t = {0, 0};
        assert_true(ptime_parse_rfc3339(buf, 20, &t));
        assert_int_equal(t.sec, T_EXAMPLE);
        assert_false(ptime_parse_rfc3339(buf, strlen(buf), &t));
        assert_false(ptime_parse_rfc3339(buf, 19, &t));
        assert_false(ptime_parse_rfc3339(nul, sizeof(nul) - 1, &t));
}

struct date_case {
        const char *s;
        bool ok;
        int32_t day;
};

static const struct date_case dates[] = {
    {"2026-04-10", true, D_20260410},
    {"2024-02-29", true, D_20240229},
    {"1970-01-01", true, 0},
    {"1969-12-31", true, -1},
    {"2000-02-29", true, 11016}, /* divisible by 400: leap */
    {"2026-12-31", true, D_20260410 + 265},
    {"2026-02-29", false, 0},
    {"1900-02-29", false, 0}, /* divisible by 100: not leap */
    {"2026-04-31", false, 0},
    {"2026-02-30", false, 0},
    {"2026-13-01", false, 0},
    {"2026-00-01", false, 0},
    {"2026-12-32", false, 0},
    {"2026-04-00", false, 0},
    {"2026-4-1", false, 0},
    {"2026-04-1", false, 0},
    {"2026-4-10", false, 0},
    {"2026/04/10", false, 0},
    {"20260410", false, 0},
    {"2026-04-10 ", false, 0},
    {" 2026-04-10", false, 0},
    {"2026-04-10T00:00:00Z", false, 0},
    {"", false, 0},
};

static void test_parse_date(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
                const struct date_case *c = &dates[i];
                int32_t day = INT32_MIN;
                bool ok = ptime_parse_date(c->s, strlen(c->s), &day);
                if (ok != c->ok)
                        fail_msg("'%s' %s", c->s, ok ? "accepted" : "refused");
                if (!ok)
                        continue;
                if (day != c->day)
                        fail_msg("'%s' -> day %d, expected %d", c->s, (int)day,
                                 (int)c->day);
                char back[11];
                ptime_format_date(day, back);
                assert_string_equal(back, c->s);
        }
}

struct wd_case {
        const char *date;
        int wd; /* 0 = Monday */
};

static const struct wd_case weekdays[] = {
    {"2026-04-10", 4}, /* the first WFH Friday of SE 737 */
    {"2026-04-06", 0}, {"2026-04-11", 5}, {"2026-04-12", 6}, {"2026-04-08", 2},
    {"1970-01-01", 3}, {"1969-12-31", 2}, {"2024-02-29", 3}, {"2026-01-01", 3},
};

static void test_weekday(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(weekdays) / sizeof(weekdays[0]); i++) {
                int32_t day;
                const char *s = weekdays[i].date;
                assert_true(ptime_parse_date(s, strlen(s), &day));
                if (ptime_weekday(day) != weekdays[i].wd)
                        fail_msg("%s: weekday %d, expected %d", s,
                                 ptime_weekday(day), weekdays[i].wd);
        }
        assert_string_equal(ptime_weekday_name(4), "fri");
        assert_int_equal(ptime_weekday_from_name("fri"), 4);
        assert_int_equal(ptime_weekday_from_name("Fri"), -1);
        assert_int_equal(ptime_weekday_from_name("jumat"), -1);
}

struct hhmm_case {
        const char *s;
        int minutes; /* -1: refused */
};

static const struct hhmm_case hhmm[] = {
    {"07:30", 450}, {"16:30", 990}, {"00:00", 0},  {"23:59", 1439},
    {"24:00", -1},  {"7:30", -1},   {"07:60", -1}, {"07:30:00", -1},
    {"0730", -1},   {"", -1},
};

static void test_parse_hhmm(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(hhmm) / sizeof(hhmm[0]); i++) {
                int m = -1;
                bool ok = ptime_parse_hhmm(hhmm[i].s, &m);
                if (ok != (hhmm[i].minutes >= 0) ||
                    (ok && m != hhmm[i].minutes))
                        fail_msg("'%s': ok=%d minutes=%d, expected %d",
                                 hhmm[i].s, ok, m, hhmm[i].minutes);
        }
}

struct diff_case {
        ptime_t a, b;
        bool exceeds; /* a - b > 300 s */
};

static const struct diff_case diffs[] = {
    {{1300, 0}, {1000, 0}, false},                 /* exactly 300 s */
    {{1300, 500000000}, {1000, 0}, true},          /* 300.5 s */
    {{1360, 0}, {1000, 0}, true},                  /* 360 s */
    {{1299, 999999999}, {1000, 0}, false},         /* just under */
    {{1300, 1}, {1000, 0}, true},                  /* 1 ns over */
    {{1300, 700}, {1000, 700}, false},             /* equal ns, 300 s */
    {{1300, 700}, {1000, 600}, true},              /* 300 s + 100 ns */
    {{1300, 600}, {1000, 700}, false},             /* 300 s - 100 ns */
    {{1301, 100}, {1000, 900000000}, true},        /* 300.1 s */
    {{1300, 100}, {1000, 900000000}, false},       /* 299.2 s */
    {{1300, 900000000}, {1000, 900000000}, false}, /* exactly 300 s */
    {{1000, 0}, {1300, 0}, false},                 /* a before b */
    {{1000, 0}, {1000, 0}, false},
};

static void test_diff_exceeds(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(diffs) / sizeof(diffs[0]); i++) {
                const struct diff_case *c = &diffs[i];
                bool got = ptime_diff_exceeds(c->a, c->b, 300);
                if (got != c->exceeds)
                        fail_msg("%lld.%09d - %lld.%09d > 300: got %d",
                                 (long long)c->a.sec, (int)c->a.nsec,
                                 (long long)c->b.sec, (int)c->b.nsec, got);
        }
}

static ptime_t at(const char *s)
{
        ptime_t t = {0, 0};
        if (!ptime_parse_rfc3339(s, strlen(s), &t))
                fail_msg("fixture timestamp '%s' refused", s);
        return t;
}

static int32_t day_of(const char *s)
{
        int32_t d = 0;
        if (!ptime_parse_date(s, strlen(s), &d))
                fail_msg("fixture date '%s' refused", s);
        return d;
}

static void test_tz_makassar(void **state)
{
        (void)state;
        char err[256] = "";
        tz_t *tz = tz_load("Asia/Makassar", err, sizeof(err));
        if (!tz)
                fail_msg("Asia/Makassar: %s", err);
        int32_t d0410 = day_of("2026-04-10");
        ptime_t t = at("2026-04-09T23:30:00Z");
        assert_int_equal(tz_offset_at(tz, t.sec), 8 * 3600);
        assert_int_equal(tz_local_day(tz, t), d0410);
        assert_int_equal(tz_local_minute(tz, t),
                         (int64_t)d0410 * 1440 + 7 * 60 + 30);
        assert_string_equal(tz_abbrev_at(tz, t.sec), "WITA");
        /* local midnight of 2026-04-10 is 16:00Z on the 9th */
        assert_int_equal(tz_utc_of_local(tz, d0410, 0),
                         at("2026-04-09T16:00:00Z").sec);
        /* minutes past 1440 reach the next day: 2026-04-11 07:30 WITA */
        assert_int_equal(tz_utc_of_local(tz, d0410, 1440 + 450),
                         at("2026-04-10T23:30:00Z").sec);
        assert_int_equal(tz_utc_of_local(tz, d0410, 450), t.sec);
        /* the local date turns at 16:00Z, not at 00:00Z */
        assert_int_equal(tz_local_day(tz, at("2026-04-09T15:59:59.999Z")),
                         d0410 - 1);
        assert_int_equal(tz_local_day(tz, at("2026-04-09T16:00:00Z")), d0410);
        assert_int_equal(tz_local_day(tz, at("2026-04-10T15:59:59Z")), d0410);
        /* minutes truncate: 07:41:59.9 local is still minute 07:41 */
        assert_int_equal(tz_local_minute(tz, at("2026-04-10T07:41:59.9+08:00")),
                         (int64_t)d0410 * 1440 + 7 * 60 + 41);
        tz_free(tz);
}

struct zone_case {
        const char *name;
        int32_t offset;
        const char *abbrev;
};

static const struct zone_case zones[] = {
    {"Asia/Makassar", 8 * 3600, "WITA"}, {"Asia/Jakarta", 7 * 3600, "WIB"},
    {"Asia/Jayapura", 9 * 3600, "WIT"},  {"UTC", 0, "UTC"},
    {"Etc/GMT-8", 8 * 3600, "+08"},
};

static void test_tz_fixed_zones(void **state)
{
        (void)state;
        ptime_t t = at("2026-04-09T23:30:00Z");
        for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
                const struct zone_case *c = &zones[i];
                char err[256] = "";
                tz_t *tz = tz_load(c->name, err, sizeof(err));
                if (!tz)
                        fail_msg("%s: %s", c->name, err);
                if (tz_offset_at(tz, t.sec) != c->offset)
                        fail_msg("%s: offset %d, expected %d", c->name,
                                 (int)tz_offset_at(tz, t.sec), (int)c->offset);
                assert_string_equal(tz_abbrev_at(tz, t.sec), c->abbrev);
                assert_int_equal(tz_local_minute(tz, t),
                                 (t.sec + c->offset) / 60);
                tz_free(tz);
        }
}

struct tz_bad_case {
        const char *name;
        const char *msg; /* the message must contain this */
};

static const struct tz_bad_case tz_bad[] = {
    {"Nowhere/Zone", "Nowhere/Zone"},
    {"../etc/passwd", "../etc/passwd"},
    {"/etc/passwd", "/etc/passwd"},
    {"Asia/../../../etc/passwd", "passwd"},
    {"", "zone"},
    {"Europe/Amsterdam", "daylight saving"},
    {"America/New_York", "daylight saving"},
};

static void test_tz_refused(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(tz_bad) / sizeof(tz_bad[0]); i++) {
                char err[256] = "";
                tz_t *tz = tz_load(tz_bad[i].name, err, sizeof(err));
                if (tz) {
                        tz_free(tz);
                        fail_msg("zone '%s' loaded", tz_bad[i].name);
                }
                if (!strstr(err, tz_bad[i].msg))
                        fail_msg("zone '%s': message '%s' lacks '%s'",
                                 tz_bad[i].name, err, tz_bad[i].msg);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rfc3339_accepted),
            cmocka_unit_test(test_rfc3339_rejected),
            cmocka_unit_test(test_rfc3339_length),
            cmocka_unit_test(test_parse_date),
            cmocka_unit_test(test_weekday),
            cmocka_unit_test(test_parse_hhmm),
            cmocka_unit_test(test_diff_exceeds),
            cmocka_unit_test(test_tz_makassar),
            cmocka_unit_test(test_tz_fixed_zones),
            cmocka_unit_test(test_tz_refused),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
