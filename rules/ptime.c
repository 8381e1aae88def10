#include "ptime.h"

#include <string.h>

int ptime_cmp(ptime_t a, ptime_t b)
{
        if (a.sec != b.sec)
                return a.sec < b.sec ? -1 : 1;
        if (a.nsec != b.nsec)
                return a.nsec < b.nsec ? -1 : 1;
        return 0;
}

bool ptime_diff_exceeds(ptime_t a, ptime_t b, int64_t seconds)
{
        if (a.sec == INT64_MAX || b.sec == INT64_MIN)
                return true;
        if (a.sec == INT64_MIN || b.sec == INT64_MAX)
                return false;
        /* (a - b) - seconds = ds s + dn ns with |dn| < 1e9, so its sign is
         * the sign of ds unless ds is 0. */
        int64_t ds = a.sec - b.sec - seconds;
        int32_t dn = a.nsec - b.nsec;
        if (ds != 0)
                return ds > 0;
        return dn > 0;
}

static bool digits(const char *s, int n, int *out)
{
        int v = 0;
        for (int i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (s[i] - '0');
        }
        *out = v;
        return true;
}

static bool is_leap(int y)
{
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
        static const int dim[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
        return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Howard Hinnant's days_from_civil, valid for the whole int range we use. */
int32_t ptime_days_from_civil(int y, int m, int d)
{
        y -= m <= 2;
        const int era = (y >= 0 ? y : y - 399) / 400;
        const unsigned yoe = (unsigned)(y - era * 400);
        const unsigned doy =
            (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
        const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int32_t)doe - 719468;
}

void ptime_civil_from_days(int32_t z, int *y, int *m, int *d)
{
        z += 719468;
        const int32_t era = (z >= 0 ? z : z - 146096) / 146097;
        const unsigned doe = (unsigned)(z - era * 146097);
        const unsigned yoe =
            (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        const int32_t yy = (int32_t)yoe + era * 400;
        const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        const unsigned mp = (5 * doy + 2) / 153;
        *d = (int)(doy - (153 * mp + 2) / 5 + 1);
        *m = (int)(mp < 10 ? mp + 3 : mp - 9);
        *y = (int)(yy + (*m <= 2));
}

static bool parse_date_part(const char *s, int *y, int *m, int *d)
{
        if (!digits(s, 4, y) || s[4] != '-' || !digits(s + 5, 2, m) ||
            s[7] != '-' || !digits(s + 8, 2, d))
                return false;
        if (*m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
                return false;
        return true;
}

bool ptime_parse_date(const char *s, size_t len, int32_t *day)
{
        int y, m, d;
        if (len != 10 || !parse_date_part(s, &y, &m, &d))
                return false;
        *day = ptime_days_from_civil(y, m, d);
        return true;
}

bool ptime_parse_rfc3339(const char *s, size_t len, ptime_t *out)
{
        int y, mo, d, hh, mi, ss;
        if (len < 20 || !parse_date_part(s, &y, &mo, &d))
                return false;
        if (s[10] != 'T' && s[10] != 't')
                return false;
        if (!digits(s + 11, 2, &hh) || s[13] != ':' ||
            !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &ss))
                return false;
        if (hh > 23 || mi > 59 || ss > 60)
                return false;
        if (ss == 60)
                ss = 59; /* SPEC §7: a leap second reads as :59 */
        size_t i = 19;
        int32_t nsec = 0;
        if (i < len && s[i] == '.') {
                i++;
                size_t start = i;
                int32_t scale = 100000000;
                while (i < len && s[i] >= '0' && s[i] <= '9') {
                        nsec += (s[i] - '0') * scale;
                        scale /= 10;
                        i++;
                }
                if (i == start)
                        return false;
        }
        if (i >= len)
                return false;
        int off = 0;
        if (s[i] == 'Z' || s[i] == 'z') {
                i++;
        } else if (s[i] == '+' || s[i] == '-') {
                int oh, om;
                if (len - i < 6 || !digits(s + i + 1, 2, &oh) ||
                    s[i + 3] != ':' || !digits(s + i + 4, 2, &om))
                        return false;
                if (oh > 23 || om > 59)
                        return false;
                off = (oh * 60 + om) * 60;
                if (s[i] == '-')
                        off = -off;
                i += 6;
        } else {
                return false;
        }
        if (i != len)
                return false;
        int64_t days = ptime_days_from_civil(y, mo, d);
        out->sec = days * 86400 + hh * 3600 + mi * 60 + ss - off;
        out->nsec = nsec;
        return true;
}

static void put2(char *b, int v)
{
        b[0] = (char)('0' + v / 10);
        b[1] = (char)('0' + v % 10);
}

void ptime_format_datetime(int64_t sec, char buf[static 19])
{
        int32_t day = (int32_t)ptime_floordiv(sec, 86400);
        int64_t sod = sec - (int64_t)day * 86400;
        char date[11];
        ptime_format_date(day, date);
        memcpy(buf, date, 10);
        buf[10] = 'T';
        put2(buf + 11, (int)(sod / 3600));
        buf[13] = ':';
        put2(buf + 14, (int)(sod / 60 % 60));
        buf[16] = ':';
        put2(buf + 17, (int)(sod % 60));
}

void ptime_format_date(int32_t day, char buf[static 11])
{
        int y, m, d;
        ptime_civil_from_days(day, &y, &m, &d);
        if (y < 0 || y > 9999) {
                memcpy(buf, "0000-00-00", 11);
                return;
        }
        buf[0] = (char)('0' + y / 1000);
        buf[1] = (char)('0' + y / 100 % 10);
        buf[2] = (char)('0' + y / 10 % 10);
        buf[3] = (char)('0' + y % 10);
        buf[4] = '-';
        buf[5] = (char)('0' + m / 10);
        buf[6] = (char)('0' + m % 10);
        buf[7] = '-';
        buf[8] = (char)('0' + d / 10);
        buf[9] = (char)('0' + d % 10);
        buf[10] = '\0';
}

int ptime_weekday(int32_t day)
{
        /* 1970-01-01 was a Thursday (3 when Monday is 0). */
        return (int)ptime_floormod((int64_t)day + 3, 7);
}

bool ptime_parse_hhmm(const char *s, int *minutes)
{
        int h, m;
        if (strlen(s) != 5 || !digits(s, 2, &h) || s[2] != ':' ||
            !digits(s + 3, 2, &m) || h > 23 || m > 59)
                return false;
        *minutes = h * 60 + m;
        return true;
}

static const char *const wd_names[] = {"mon", "tue", "wed", "thu",
                                       "fri", "sat", "sun"};

int ptime_weekday_from_name(const char *name)
{
        for (int i = 0; i < 7; i++)
                if (strcmp(name, wd_names[i]) == 0)
                        return i;
        return -1;
}

const char *ptime_weekday_name(int wd)
{
        return wd >= 0 && wd < 7 ? wd_names[wd] : "?";
}
