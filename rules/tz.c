#include "tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tz_type {
        int32_t utoff;
        uint8_t isdst;
        uint8_t abbr;
};

struct tz {
        int64_t *at;  /* transition instants, ascending */
        uint8_t *idx; /* type index of each transition */
        size_t n_at;
        struct tz_type *types; /* local time types */
        size_t n_types;
        char *chars; /* abbreviation strings */
        size_t n_chars;
        int32_t footer_off; /* fixed offset after the last transition */
        int footer_type;    /* type index used for the footer's abbr */
};

static uint32_t be32(const unsigned char *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
               (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
        return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static bool name_ok(const char *name)
{
        if (!*name || name[0] == '/' || strstr(name, ".."))
                return false;
        for (const char *p = name; *p; p++) {
                char c = *p;
                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                      (c >= '0' && c <= '9') || c == '/' || c == '_' ||
                      c == '-' || c == '+'))
                        return false;
        }
        return true;
}

/* Parses a POSIX TZ footer without a DST part ("WITA-8", "<+07>-7",
 * "UTC0") into an offset east of UTC.  Returns false for anything with a
 * daylight-saving rule. */
static bool footer_fixed(const char *s, int32_t *off)
{
        if (*s == '<') {
                s = strchr(s, '>');
                if (!s)
                        return false;
                s++;
        } else {
                while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
                        s++;
        }
        int sign = 1;
        if (*s == '+' || *s == '-') {
                sign = *s == '-' ? -1 : 1;
                s++;
        }
        char *end;
        long h = strtol(s, &end, 10);
        if (end == s || h < 0 || h > 167)
                return false;
        long m = 0, sec = 0;
        s = end;
        if (*s == ':') {
                m = strtol(s + 1, &end, 10);
                s = end;
                if (*s == ':') {
                        sec = strtol(s + 1, &end, 10);
                        s = end;
                }
        }
        if (*s != '\0')
                return false; /* a DST part follows */
        /* POSIX offsets are west of UTC: "WITA-8" is UTC+8. */
        *off = (int32_t)(-sign * (h * 3600 + m * 60 + sec));
        return true;
}

tz_t *tz_load(const char *name, char *errstr, size_t errstr_size)
{
        if (!name_ok(name)) {
                snprintf(errstr, errstr_size, "not a zone name: '%s'", name);
                return NULL;
        }
        const char *dir = getenv("TZDIR");
        if (!dir || !*dir)
                dir = "/usr/share/zoneinfo";
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        FILE *f = fopen(path, "rb");
        if (!f) {
                snprintf(errstr, errstr_size,
                         "unknown time zone '%s' (no %s; is tzdata "
                         "installed?)",
                         name, path);
                return NULL;
        }
        unsigned char *buf = NULL;
        size_t len = 0, cap = 0;
        for (;;) {
                if (len == cap) {
                        cap = cap ? cap * 2 : 4096;
                        unsigned char *nb = realloc(buf, cap);
                        if (!nb) {
                                free(buf);
                                fclose(f);
                                snprintf(errstr, errstr_size, "out of memory");
                                return NULL;
                        }
                        buf = nb;
                }
                size_t n = fread(buf + len, 1, cap - len, f);
                if (n == 0)
                        break;
                len += n;
        }
        fclose(f);

        tz_t *tz = calloc(1, sizeof(*tz));
        if (!tz)
                goto bad;
        if (len < 44 || memcmp(buf, "TZif", 4) != 0)
                goto bad;
        /* Skip the v1 block; we read the 64-bit v2+ block only. */
        const unsigned char *h = buf;
        if (h[4] < '2')
                goto bad;
        size_t v1 = 44 + be32(h + 32) * 5 + be32(h + 36) * 6 + be32(h + 40) +
                    be32(h + 28) * 8 + be32(h + 24) + be32(h + 20);
        if (v1 + 44 > len)
                goto bad;
        h = buf + v1;
        if (memcmp(h, "TZif", 4) != 0)
                goto bad;
        size_t isut = be32(h + 20), isstd = be32(h + 24), leap = be32(h + 28),
               timecnt = be32(h + 32), typecnt = be32(h + 36),
               charcnt = be32(h + 40);
        const unsigned char *p = h + 44;
        size_t need =
            timecnt * 9 + typecnt * 6 + charcnt + leap * 12 + isstd + isut;
        if (typecnt == 0 || (size_t)(p - buf) + need > len)
                goto bad;
        tz->n_at = timecnt;
        tz->n_types = typecnt;
        tz->n_chars = charcnt;
        tz->at = calloc(timecnt + 1, sizeof(*tz->at));
        tz->idx = calloc(timecnt + 1, 1);
        tz->types = calloc(typecnt, sizeof(*tz->types));
        tz->chars = calloc(charcnt + 1, 1);
        if (!tz->at || !tz->idx || !tz->types || !tz->chars)
                goto bad;
        for (size_t i = 0; i < timecnt; i++)
                tz->at[i] = be64(p + i * 8);
        p += timecnt * 8;
        for (size_t i = 0; i < timecnt; i++) {
                tz->idx[i] = p[i];
                if (p[i] >= typecnt)
                        goto bad;
        }
        p += timecnt;
        for (size_t i = 0; i < typecnt; i++) {
                tz->types[i].utoff = (int32_t)be32(p + i * 6);
                tz->types[i].isdst = p[i * 6 + 4];
                tz->types[i].abbr = p[i * 6 + 5];
                if (tz->types[i].abbr >= charcnt)
                        goto bad;
        }
        p += typecnt * 6;
        memcpy(tz->chars, p, charcnt);
        p += charcnt + leap * 12 + isstd + isut;

        /* Footer "\n<POSIX TZ>\n": the rule after the last transition. */
        tz->footer_type = timecnt ? tz->idx[timecnt - 1] : 0;
        tz->footer_off = tz->types[tz->footer_type].utoff;
        if ((size_t)(p - buf) < len && *p == '\n') {
                const unsigned char *e =
                    memchr(p + 1, '\n', len - (size_t)(p - buf) - 1);
                if (e && e > p + 1) {
                        char footer[128];
                        size_t fl = (size_t)(e - p - 1);
                        if (fl >= sizeof(footer))
                                goto bad;
                        memcpy(footer, p + 1, fl);
                        footer[fl] = '\0';
                        if (!footer_fixed(footer, &tz->footer_off)) {
                                snprintf(errstr, errstr_size,
                                         "time zone '%s' observes daylight "
                                         "saving time; only fixed-offset "
                                         "zones are supported",
                                         name);
                                free(buf);
                                tz_free(tz);
                                return NULL;
                        }
                }
        }
        free(buf);
        return tz;
bad:
        free(buf);
        tz_free(tz);
        snprintf(errstr, errstr_size, "cannot read time zone file %s", path);
        return NULL;
}

void tz_free(tz_t *tz)
{
        if (!tz)
                return;
        free(tz->at);
        free(tz->idx);
        free(tz->types);
        free(tz->chars);
        free(tz);
}

/* Type in force at t, or -1 when the footer rule applies. */
static int type_at(const tz_t *tz, int64_t t)
{
        if (tz->n_at == 0 || t < tz->at[0]) {
                for (size_t i = 0; i < tz->n_types; i++)
                        if (!tz->types[i].isdst)
                                return (int)i;
                return 0;
        }
        if (t >= tz->at[tz->n_at - 1])
                return -1;
        size_t lo = 0, hi = tz->n_at - 1; /* at[lo] <= t < at[hi] */
        while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;
                if (tz->at[mid] <= t)
                        lo = mid;
                else
                        hi = mid;
        }
        return tz->idx[lo];
}

int32_t tz_offset_at(const tz_t *tz, int64_t t)
{
        int ty = type_at(tz, t);
        return ty < 0 ? tz->footer_off : tz->types[ty].utoff;
}

const char *tz_abbrev_at(const tz_t *tz, int64_t t)
{
        int ty = type_at(tz, t);
        if (ty < 0)
                ty = tz->footer_type;
        return tz->chars + tz->types[ty].abbr;
}

int32_t tz_local_day(const tz_t *tz, ptime_t t)
{
        int64_t local = t.sec + tz_offset_at(tz, t.sec);
        return (int32_t)ptime_floordiv(local, 86400);
}

int64_t tz_local_minute(const tz_t *tz, ptime_t t)
{
        int64_t local = t.sec + tz_offset_at(tz, t.sec);
        return ptime_floordiv(local, 60);
}

int64_t tz_utc_of_local(const tz_t *tz, int32_t day, int64_t minute)
{
        int64_t local = (int64_t)day * 86400 + minute * 60;
        /* Two rounds settle the offset for any zone without an ongoing
         * DST rule (historic changes only shift by whole offsets). */
        int32_t off = tz_offset_at(tz, local);
        off = tz_offset_at(tz, local - off);
        return local - off;
}
