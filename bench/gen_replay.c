/*
 * gen_replay.c - synthetic input for benchmarking `patuh replay` (SPEC section
 * 6).
 *
 *   gen_replay [--records N] [--employees M] [--seed S] --out DIR
 *
 * Writes DIR/roster.jsonl, DIR/calendar.json, DIR/policy.json and
 * DIR/events.jsonl (N replay envelopes in arrival order, `ts` non-decreasing).
 * The output is a pure function of (N, M, S).  Summary figures go to stderr as
 * `key=value` lines.
 *
 * Standalone C11 + libc (POSIX only for mkdir); no libm.  Build:
 *   cc -std=c11 -O2 -Wall -Wextra -Werror -o gen_replay bench/gen_replay.c
 * or, from CMake:  add_executable(gen_replay bench/gen_replay.c)
 *
 * Data shape and rates: see bench/README.md.  All rates below are per million
 * (ppm).
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ------------------------------------------------------------------ policy */

/* SPEC section 2, verbatim (byte-identical to the scenarios' policy.json). */
static const char *const POLICY_LINES[] = {
    "{\"policy_id\":\"balikpapan-se737-2026\",\"version\":1,\n",
    " \"timezone\":\"Asia/Makassar\",\n",
    " \"workdays\":[\"mon\",\"tue\",\"wed\",\"thu\",\"fri\"],\n",
    " \"hours\":{\"mon\":[\"07:30\",\"16:00\"],\"tue\":[\"07:30\",\"16:00\"],"
    "\"wed\":[\"07:30\",\"16:00\"],\n",
    "          \"thu\":[\"07:30\",\"16:00\"],\"fri\":[\"07:30\",\"16:30\"]},\n",
    " \"wfh_days\":[\"fri\"], \"wfh_from\":\"2026-04-08\",\n",
    " \"wfh_exempt_positions\":[\"jpt_pratama\",\"administrator\",\"camat\","
    "\"lurah\"],\n",
    " \"wfh_exempt_services\":[\"emergency\",\"public_order\",\"sanitation\","
    "\"civil_registry\",\n",
    "   "
    "\"licensing\",\"health\",\"education\",\"revenue\",\"public_service\","
    "\"asri\"],\n",
    " \"late_bands\":[{\"band\":\"TL1\",\"from\":1,\"to\":30},{\"band\":"
    "\"TL2\",\"from\":31,\"to\":60},\n",
    "               "
    "{\"band\":\"TL3\",\"from\":61,\"to\":90},{\"band\":\"TL4\",\"from\":91,"
    "\"to\":null}],\n",
    " \"early_bands\":[{\"band\":\"PSW1\",\"from\":1,\"to\":30},{\"band\":"
    "\"PSW2\",\"from\":31,\"to\":60},\n",
    "               "
    "{\"band\":\"PSW3\",\"from\":61,\"to\":90},{\"band\":\"PSW4\",\"from\":91,"
    "\"to\":null}],\n",
    " \"not_clocked_in_alert_minutes\":30,\n",
    " \"callback_minutes\":30,\n",
    " \"amend_horizon_days\":35,\n",
    " \"violations\":{\n",
    "   \"late_clock_in\":     "
    "{\"severity\":\"ringan\",\"tpp_percent\":{\"TL1\":0.5,\"TL2\":1,\"TL3\":1."
    "5,\"TL4\":2},\"clause\":\"SE 737 angka 3\"},\n",
    "   \"early_clock_out\":   "
    "{\"severity\":\"ringan\",\"tpp_percent\":{\"PSW1\":0.5,\"PSW2\":1,"
    "\"PSW3\":1.5,\"PSW4\":2},\"clause\":\"SE 737 angka 3\"},\n",
    "   \"missing_clock_in\":  "
    "{\"severity\":\"ringan\",\"tpp_percent\":2,\"clause\":\"SE 737 angka "
    "3\"},\n",
    "   \"missing_clock_out\": "
    "{\"severity\":\"ringan\",\"tpp_percent\":2,\"clause\":\"SE 737 angka "
    "3\"},\n",
    "   \"absent\":            "
    "{\"severity\":\"ringan\",\"tpp_percent\":4,\"clause\":\"SE 737 angka "
    "3\"},\n",
    "   \"wfh_not_permitted\": "
    "{\"severity\":\"notice\",\"tpp_percent\":0,\"clause\":\"SE 737 angka 2 "
    "dan 7\"},\n",
    "   \"unanswered_call\":   "
    "{\"severity\":\"ringan\",\"tpp_percent\":1,\"clause\":\"SE 737 angka "
    "5\"}},\n",
    " \"tpp_monthly_cap_percent\":100,\n",
    " \"discipline\":{\"minutes_per_day\":450,\n",
    "   "
    "\"minutes\":{\"late_clock_in\":\"actual\",\"early_clock_out\":\"actual\","
    "\n",
    "              "
    "\"missing_clock_in\":225,\"missing_clock_out\":225,\"absent\":450},\n",
    "   "
    "\"ladder\":[{\"from_days\":3,\"level\":\"ringan\",\"sanction\":\"teguran_"
    "lisan\"},\n",
    "             "
    "{\"from_days\":4,\"level\":\"ringan\",\"sanction\":\"teguran_tertulis\"},"
    "\n",
    "             "
    "{\"from_days\":7,\"level\":\"ringan\",\"sanction\":\"pernyataan_tidak_"
    "puas\"},\n",
    "             "
    "{\"from_days\":11,\"level\":\"sedang\",\"sanction\":\"potong_tunjangan_25_"
    "6_bulan\"},\n",
    "             "
    "{\"from_days\":14,\"level\":\"sedang\",\"sanction\":\"potong_tunjangan_25_"
    "9_bulan\"},\n",
    "             "
    "{\"from_days\":17,\"level\":\"sedang\",\"sanction\":\"potong_tunjangan_25_"
    "12_bulan\"},\n",
    "             "
    "{\"from_days\":21,\"level\":\"berat\",\"sanction\":\"penurunan_jabatan_12_"
    "bulan\"},\n",
    "             "
    "{\"from_days\":25,\"level\":\"berat\",\"sanction\":\"pembebasan_jabatan_"
    "12_bulan\"},\n",
    "             "
    "{\"from_days\":28,\"level\":\"berat\",\"sanction\":\"pemberhentian\"}],\n",
    "   "
    "\"call_ladder\":[{\"from_count\":1,\"level\":\"ringan\",\"sanction\":"
    "\"teguran_lisan\"},\n",
    "                  "
    "{\"from_count\":2,\"level\":\"ringan\",\"sanction\":\"teguran_tertulis\"},"
    "\n",
    "                  "
    "{\"from_count\":3,\"level\":\"ringan\",\"sanction\":\"pernyataan_tidak_"
    "puas\"},\n",
    "                  "
    "{\"from_count\":4,\"level\":\"sedang\",\"sanction\":\"pemeriksaan_"
    "sedang\"}]}}\n",
};

/* What the generator assumes of that policy (keep in step with POLICY_LINES).
 */
#define START_SEC (7 * 3600 + 30 * 60)    /* 07:30 every workday */
#define END_SEC_MON_THU (16 * 3600)       /* 16:00 */
#define END_SEC_FRI (16 * 3600 + 30 * 60) /* 16:30 */

/* ------------------------------------------------------------------ rates
 * (ppm) */

#define PPM_INACTIVE 10000 /* 1 %   of employees inactive */
#define PPM_SERVICE 30000  /* 3 %   of employees with a service_class        */
#define PPM_SAKIT 3000     /* 0.3 % per employee-day: sick note, same day    */
#define PPM_CUTI 6000      /* 0.6 % per employee-day: leave from next workday */
#define PPM_CUTI_REVOKED                                                       \
        80000            /* 8 %   of leave records revoked later that day  */
#define PPM_ABSENT 30000 /* 3 %   of expected employee-days: no presence   */
#define PPM_MISSING_IN                                                         \
        10000 /* 1 %   clock_out only                           */
#define PPM_MISSING_OUT                                                        \
        10000               /* 1 %   clock_in only                            */
#define PPM_LATE 50000      /* 5 %   clock_in after 07:30 (TL1..TL4)          */
#define PPM_EARLY 30000     /* 3 %   clock_out before the end (PSW1..PSW4)    */
#define PPM_WRONG_MODE 2000 /* 0.2 % presence with mode wfh on a wfo day */
#define PPM_DUP 2000      /* 0.2 % presence records delivered twice          */
#define PPM_CALLED 400000 /* 40 %  of WFH staff called on a WFH Friday      */
#define PPM_CALL_BY_HEAD                                                       \
        150000              /* 15 %  of those calls come from the unit head   */
#define PPM_CALL_UP 40000   /* 4 %   of WFH staff call their supervisor       */
#define PPM_CALLBACK 600000 /* 60 %  of unanswered calls get a callback */
#define PPM_BAD 2000        /* 0.2 % of records malformed / invalid           */

/* ------------------------------------------------------------------ PRNG */

typedef struct {
        uint64_t s[4];
} rng_t;

static uint64_t splitmix64(uint64_t *x)
{
        uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
}

static void rng_seed(rng_t *r, uint64_t seed)
{
        uint64_t x = seed;
        for (int i = 0; i < 4; i++)
                r->s[i] = splitmix64(&x);
}

static uint64_t rotl64(uint64_t x, int k)
{
        return (x << k) | (x >> (64 - k));
}

/* xoshiro256** */
static uint64_t rng_next(rng_t *r)
{
        uint64_t *s = r->s;
        uint64_t result = rotl64(s[1] * 5, 7) * 9;
        uint64_t t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl64(s[3], 45);
        return result;
}

/* uniform in [0, n), n < 2^32 (multiply-shift; bias is negligible for our n) */
static uint32_t rng_below(rng_t *r, uint32_t n)
{
        return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* uniform in [lo, hi] */
static uint32_t rng_range(rng_t *r, uint32_t lo, uint32_t hi)
{
        return lo + rng_below(r, hi - lo + 1);
}

static int rng_ppm(rng_t *r, uint32_t ppm)
{
        return rng_below(r, 1000000u) < ppm;
}

/* ------------------------------------------------------------------ dates */

/* days since 1970-01-01 (proleptic Gregorian) */
static int32_t days_from_civil(int y, int m, int d)
{
        y -= m <= 2;
        int era = (y >= 0 ? y : y - 399) / 400;
        int yoe = y - era * 400;
        int mp = (m + 9) % 12;
        int doy = (153 * mp + 2) / 5 + d - 1;
        int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return (int32_t)(era * 146097 + doe - 719468);
}

static void civil_from_days(int32_t z, int *y, int *m, int *d)
{
        int zz = (int)z + 719468;
        int era = (zz >= 0 ? zz : zz - 146096) / 146097;
        int doe = zz - era * 146097;
        int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int mp = (5 * doy + 2) / 153;
        int dd = doy - (153 * mp + 2) / 5 + 1;
        int mm = mp < 10 ? mp + 3 : mp - 9;
        *y = yoe + era * 400 + (mm <= 2);
        *m = mm;
        *d = dd;
}

/* 0 = Sunday ... 6 = Saturday */
static int weekday(int32_t z)
{
        int w = (int)((z + 4) % 7);
        return w < 0 ? w + 7 : w;
}

static int is_weekend(int32_t z)
{
        int w = weekday(z);
        return w == 0 || w == 6;
}

static int32_t next_weekday(int32_t z)
{
        do
                z++;
        while (is_weekend(z));
        return z;
}

/* "YYYY-MM-DD" into out[11] */
static void format_date(int32_t z, char out[11])
{
        int y, m, d;
        civil_from_days(z, &y, &m, &d);
        out[0] = (char)('0' + (y / 1000) % 10);
        out[1] = (char)('0' + (y / 100) % 10);
        out[2] = (char)('0' + (y / 10) % 10);
        out[3] = (char)('0' + y % 10);
        out[4] = '-';
        out[5] = (char)('0' + m / 10);
        out[6] = (char)('0' + m % 10);
        out[7] = '-';
        out[8] = (char)('0' + d / 10);
        out[9] = (char)('0' + d % 10);
        out[10] = '\0';
}

/* ------------------------------------------------------------------ string
 * builder */

typedef struct {
        char *p;
        size_t len, cap;
        int overflow;
} sb_t;

static void sb_mem(sb_t *b, const char *s, size_t n)
{
        if (b->cap - b->len < n) {
                b->overflow = 1;
                return;
        }
        memcpy(b->p + b->len, s, n);
        b->len += n;
}

static void sb_str(sb_t *b, const char *s)
{
        sb_mem(b, s, strlen(s));
}

#define SB_LIT(b, lit) sb_mem((b), (lit), sizeof(lit) - 1)

static void sb_ch(sb_t *b, char c)
{
        if (b->len >= b->cap) {
                b->overflow = 1;
                return;
        }
        b->p[b->len++] = c;
}

/* unsigned decimal, zero-padded to at least `width` digits */
static void sb_u(sb_t *b, uint64_t v, int width)
{
        char t[24];
        int n = 0;
        do {
                t[n++] = (char)('0' + v % 10);
                v /= 10;
        } while (v);
        while (n < width && n < (int)sizeof t)
                t[n++] = '0';
        if (b->cap - b->len < (size_t)n) {
                b->overflow = 1;
                return;
        }
        while (n)
                b->p[b->len++] = t[--n];
}

/* local timestamp: date (cached text) + seconds of day, optionally with
 * "+08:00" */
static void sb_ts(sb_t *b, const char *date, uint32_t sec, int with_offset)
{
        if (sec > 86399)
                sec = 86399;
        sb_mem(b, date, 10);
        sb_ch(b, 'T');
        sb_u(b, sec / 3600, 2);
        sb_ch(b, ':');
        sb_u(b, (sec / 60) % 60, 2);
        sb_ch(b, ':');
        sb_u(b, sec % 60, 2);
        if (with_offset)
                SB_LIT(b, "+08:00");
}

/* ------------------------------------------------------------------ buffered
 * output */

typedef struct {
        FILE *f;
        const char *path;
        char *buf;
        size_t len, cap;
        int err;
} out_t;

static int out_open(out_t *o, const char *path, size_t cap)
{
        o->path = path;
        o->len = 0;
        o->cap = cap;
        o->err = 0;
        o->buf = malloc(cap);
        o->f = fopen(path, "wb");
        if (!o->buf || !o->f) {
                fprintf(stderr, "gen_replay: cannot open %s: %s\n", path,
                        strerror(errno));
                if (o->f)
                        fclose(o->f);
                free(o->buf);
                return -1;
        }
        return 0;
}

static void out_flush(out_t *o)
{
        if (o->len && fwrite(o->buf, 1, o->len, o->f) != o->len)
                o->err = 1;
        o->len = 0;
}

/* a builder over the free tail of the buffer, with room for at least `need`
 * bytes */
static sb_t out_begin(out_t *o, size_t need)
{
        if (o->cap - o->len < need)
                out_flush(o);
        sb_t b = {o->buf + o->len, 0, o->cap - o->len, 0};
        return b;
}

static void out_commit(out_t *o, const sb_t *b)
{
        o->len += b->len;
}

static int out_close(out_t *o)
{
        out_flush(o);
        if (fclose(o->f) != 0)
                o->err = 1;
        free(o->buf);
        if (o->err) {
                fprintf(stderr, "gen_replay: write error on %s\n", o->path);
                return -1;
        }
        return 0;
}

/* ------------------------------------------------------------------ reference
 * data */

enum { POS_JPT, POS_ADMIN, POS_PENGAWAS, POS_PELAKSANA, POS_FUNGSIONAL };
static const char *const POS_NAMES[] = {"jpt_pratama", "administrator",
                                        "pengawas", "pelaksana", "fungsional"};

enum {
        SVC_NONE,
        SVC_EMERGENCY,
        SVC_PUBLIC_ORDER,
        SVC_SANITATION,
        SVC_CIVIL_REGISTRY,
        SVC_LICENSING,
        SVC_HEALTH,
        SVC_EDUCATION,
        SVC_REVENUE,
        SVC_PUBLIC_SERVICE,
        SVC_ASRI
};
static const char *const SVC_NAMES[] = {
    NULL,        "emergency", "public_order", "sanitation", "civil_registry",
    "licensing", "health",    "education",    "revenue",    "public_service",
    "asri"};

/* Unit names (Pemerintah Kota); the designated service class is what the ~3 %
 * of staff with a service_class in that unit get (front offices, clinics,
 * posts). */
static const struct {
        const char *name;
        int svc;
} UNITS[] = {
    {"Sekretariat Daerah", SVC_PUBLIC_SERVICE},
    {"Sekretariat DPRD", SVC_PUBLIC_SERVICE},
    {"Inspektorat Daerah", SVC_PUBLIC_SERVICE},
    {"Dinas Pendidikan dan Kebudayaan", SVC_EDUCATION},
    {"Dinas Kesehatan", SVC_HEALTH},
    {"Dinas Pekerjaan Umum", SVC_PUBLIC_SERVICE},
    {"Dinas Perumahan dan Permukiman", SVC_PUBLIC_SERVICE},
    {"Satuan Polisi Pamong Praja", SVC_PUBLIC_ORDER},
    {"Dinas Pemadam Kebakaran dan Penyelamatan", SVC_EMERGENCY},
    {"Dinas Sosial", SVC_PUBLIC_SERVICE},
    {"Dinas Tenaga Kerja", SVC_PUBLIC_SERVICE},
    {"Dinas Pemberdayaan Perempuan dan Perlindungan Anak", SVC_PUBLIC_SERVICE},
    {"Dinas Ketahanan Pangan, Pertanian dan Perikanan", SVC_PUBLIC_SERVICE},
    {"Dinas Lingkungan Hidup", SVC_SANITATION},
    {"Dinas Kependudukan dan Pencatatan Sipil", SVC_CIVIL_REGISTRY},
    {"Dinas Perhubungan", SVC_PUBLIC_ORDER},
    {"Dinas Komunikasi dan Informatika", SVC_PUBLIC_SERVICE},
    {"Dinas Koperasi, Usaha Mikro, Kecil dan Menengah", SVC_PUBLIC_SERVICE},
    {"Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu", SVC_LICENSING},
    {"Dinas Pemuda, Olahraga dan Pariwisata", SVC_PUBLIC_SERVICE},
    {"Dinas Perpustakaan dan Kearsipan", SVC_PUBLIC_SERVICE},
    {"Dinas Perdagangan", SVC_PUBLIC_SERVICE},
    {"Dinas Pertanahan dan Penataan Ruang", SVC_PUBLIC_SERVICE},
    {"Dinas Pengendalian Penduduk dan Keluarga Berencana", SVC_HEALTH},
    {"Badan Perencanaan Pembangunan Daerah", SVC_PUBLIC_SERVICE},
    {"Badan Pengelolaan Keuangan dan Aset Daerah", SVC_REVENUE},
    {"Badan Pengelolaan Pajak Daerah dan Retribusi Daerah", SVC_REVENUE},
    {"Badan Kepegawaian dan Pengembangan Sumber Daya Manusia",
     SVC_PUBLIC_SERVICE},
    {"Badan Kesatuan Bangsa dan Politik", SVC_PUBLIC_SERVICE},
    {"Badan Penanggulangan Bencana Daerah", SVC_EMERGENCY},
    {"Badan Riset dan Inovasi Daerah", SVC_PUBLIC_SERVICE},
    {"Rumah Sakit Umum Daerah Beriman", SVC_HEALTH},
    {"Unit Pelaksana Teknis Pengelolaan Sampah", SVC_SANITATION},
    {"Unit Pelaksana Teknis Taman Kota", SVC_ASRI},
    {"Kecamatan Balikpapan Kota", SVC_PUBLIC_SERVICE},
    {"Kecamatan Balikpapan Selatan", SVC_PUBLIC_SERVICE},
    {"Kecamatan Balikpapan Utara", SVC_PUBLIC_SERVICE},
    {"Kecamatan Balikpapan Timur", SVC_PUBLIC_SERVICE},
    {"Kecamatan Balikpapan Barat", SVC_PUBLIC_SERVICE},
    {"Kecamatan Balikpapan Tengah", SVC_PUBLIC_SERVICE},
};
#define MAX_UNITS ((int)(sizeof UNITS / sizeof UNITS[0]))

static const char *const FIRST_NAMES[] = {
    "Siti",    "Ahmad", "Muhammad", "Dewi",   "Rina",  "Andi",  "Budi",
    "Hendra",  "Sri",   "Agus",     "Nur",    "Eko",   "Wahyu", "Fitri",
    "Ratna",   "Yusuf", "Rahmat",   "Dian",   "Indah", "Rudi",  "Lestari",
    "Hasanah", "Fajar", "Ayu",      "Bayu",   "Putri", "Arif",  "Nurul",
    "Rizky",   "Reza",  "Wulan",    "Taufik", "Irwan", "Yanti", "Suryani",
    "Hadi",    "Joko",  "Kartini",  "Lina",   "Mega"};
static const char *const LAST_NAMES[] = {
    "Rahma",       "Wijaya",    "Susanti",   "Baharuddin", "Lestari",
    "Rahman",      "Saputra",   "Hidayat",   "Pratama",    "Kurniawan",
    "Setiawan",    "Nugroho",   "Santoso",   "Siregar",    "Hasibuan",
    "Lubis",       "Nasution",  "Syahputra", "Ramadhani",  "Permana",
    "Gunawan",     "Wibowo",    "Hakim",     "Anwar",      "Sulistyo",
    "Yulianti",    "Handayani", "Marpaung",  "Tanjung",    "Sitompul",
    "Daeng",       "Mappa",     "Latif",     "Amir",       "Pongsibanne",
    "Tandirerung", "Samad",     "Hamzah",    "Arsyad",     "Noor"};
#define NFIRST ((uint32_t)(sizeof FIRST_NAMES / sizeof FIRST_NAMES[0]))
#define NLAST ((uint32_t)(sizeof LAST_NAMES / sizeof LAST_NAMES[0]))

typedef struct {
        char id[20]; /* 18-digit NIP */
        int32_t unit;
        int32_t sup;  /* index or -1 (null) */
        int32_t head; /* index or -1 (null) */
        uint32_t tpp;
        uint8_t pos, svc, active, exempt;
        uint8_t first, last;
        int32_t exc_from,
            exc_to; /* excused days (inclusive), exc_to < exc_from when none */
} emp_t;

/* open-addressing set of 64-bit NIPs, to keep ids unique */
typedef struct {
        uint64_t *slot;
        size_t mask;
} idset_t;

static int idset_init(idset_t *s, size_t n)
{
        size_t cap = 16;
        while (cap < n * 2)
                cap <<= 1;
        s->slot = calloc(cap, sizeof *s->slot);
        s->mask = cap - 1;
        return s->slot ? 0 : -1;
}

/* 1 if inserted, 0 if present (ids are never 0) */
static int idset_add(idset_t *s, uint64_t v)
{
        size_t i = (size_t)((v * 0x9E3779B97F4A7C15ull) >> 20) & s->mask;
        while (s->slot[i]) {
                if (s->slot[i] == v)
                        return 0;
                i = (i + 1) & s->mask;
        }
        s->slot[i] = v;
        return 1;
}

/* NIP: birth YYYYMMDD + CPNS TMT YYYYMM + sex (1/2) + sequence (3 digits) */
static uint64_t make_nip(rng_t *r, int pos)
{
        int by_lo = 1965, by_hi = 2000;
        if (pos == POS_JPT) {
                by_lo = 1966;
                by_hi = 1978;
        } else if (pos == POS_ADMIN) {
                by_lo = 1968;
                by_hi = 1984;
        } else if (pos == POS_PENGAWAS) {
                by_lo = 1970;
                by_hi = 1990;
        }
        uint64_t by = rng_range(r, (uint32_t)by_lo, (uint32_t)by_hi);
        uint64_t bm = rng_range(r, 1, 12), bd = rng_range(r, 1, 28);
        uint64_t ty = by + rng_range(r, 22, 32);
        if (ty > 2025)
                ty = 2025;
        uint64_t tm = rng_range(r, 1, 12);
        uint64_t sex = rng_range(r, 1, 2), seq = rng_range(r, 1, 999);
        return ((((by * 100 + bm) * 100 + bd) * 10000 + ty) * 100 + tm) *
                   10000 +
               sex * 1000 + seq;
}

static int is_exempt(const emp_t *e)
{
        return e->pos == POS_JPT || e->pos == POS_ADMIN || e->svc != SVC_NONE;
}

/* Build the roster: units of varying size; per unit one jpt_pratama head, ~2 %
 * administrators, ~8 % pengawas, the rest pelaksana (55 %) / fungsional (45 %).
 */
static emp_t *build_roster(rng_t *r, uint32_t m, int *nunits_out)
{
        int nunits = (int)(m / 25);
        if (nunits < 1)
                nunits = 1;
        if (nunits > MAX_UNITS)
                nunits = MAX_UNITS;
        emp_t *emp = calloc(m, sizeof *emp);
        uint32_t *size = calloc((size_t)nunits, sizeof *size);
        idset_t ids;
        if (!emp || !size || idset_init(&ids, m) != 0) {
                free(emp);
                free(size);
                return NULL;
        }
        /* unit sizes: weights 50..149, at least 1 employee each */
        uint64_t wsum = 0;
        uint32_t w[MAX_UNITS];
        for (int u = 0; u < nunits; u++) {
                w[u] = rng_range(r, 50, 149);
                wsum += w[u];
        }
        uint32_t assigned = 0;
        for (int u = 0; u < nunits; u++) {
                size[u] = 1 + (uint32_t)((uint64_t)(m - (uint32_t)nunits) *
                                         w[u] / wsum);
                assigned += size[u];
        }
        for (int u = 0; assigned < m; u = (u + 1) % nunits, assigned++)
                size[u]++;

        uint32_t base = 0;
        for (int u = 0; u < nunits; u++) {
                uint32_t s = size[u];
                uint32_t nadm =
                    s >= 3 ? (s * 2 / 100 > 0 ? s * 2 / 100 : 1) : 0;
                uint32_t npeng =
                    s >= 4 ? (s * 8 / 100 > 0 ? s * 8 / 100 : 1) : 0;
                uint32_t head = base;
                for (uint32_t k = 0; k < s; k++) {
                        emp_t *e = &emp[base + k];
                        e->unit = u;
                        e->active = 1;
                        e->exc_from = 1;
                        e->exc_to = 0;
                        e->first = (uint8_t)rng_below(r, NFIRST);
                        e->last = (uint8_t)rng_below(r, NLAST);
                        if (k == 0) {
                                e->pos = POS_JPT;
                                e->sup = -1;
                                e->head = -1;
                                e->tpp = rng_range(r, 180000, 250000) * 100;
                        } else if (k <= nadm) {
                                e->pos = POS_ADMIN;
                                e->sup = (int32_t)head;
                                e->head = (int32_t)head;
                                e->tpp = rng_range(r, 100000, 160000) * 100;
                        } else if (k <= nadm + npeng) {
                                e->pos = POS_PENGAWAS;
                                e->sup = nadm ? (int32_t)(head + 1 +
                                                          rng_below(r, nadm))
                                              : (int32_t)head;
                                e->head = (int32_t)head;
                                e->tpp = rng_range(r, 60000, 100000) * 100;
                        } else {
                                int fung = rng_ppm(r, 450000);
                                e->pos = fung ? POS_FUNGSIONAL : POS_PELAKSANA;
                                if (npeng && !rng_ppm(r, 100000))
                                        e->sup = (int32_t)(head + 1 + nadm +
                                                           rng_below(r, npeng));
                                else if (nadm)
                                        e->sup = (int32_t)(head + 1 +
                                                           rng_below(r, nadm));
                                else
                                        e->sup = (int32_t)head;
                                e->head = (int32_t)head;
                                e->tpp = (fung ? rng_range(r, 30000, 90000)
                                               : rng_range(r, 20000, 50000)) *
                                         100;
                                if (rng_ppm(r, PPM_SERVICE * 100 /
                                                   90)) /* staff are ~90 %: ~3 %
                                                           overall */
                                        e->svc = (uint8_t)UNITS[u].svc;
                        }
                        if (k > 0 && rng_ppm(r, PPM_INACTIVE))
                                e->active = 0;
                        uint64_t nip;
                        do
                                nip = make_nip(r, e->pos);
                        while (!idset_add(&ids, nip));
                        snprintf(e->id, sizeof e->id, "%018llu",
                                 (unsigned long long)nip);
                }
                base += s;
        }
        for (uint32_t i = 0; i < m; i++)
                emp[i].exempt = (uint8_t)is_exempt(&emp[i]);
        free(ids.slot);
        free(size);
        *nunits_out = nunits;
        return emp;
}

static void sb_id_or_null(sb_t *b, const emp_t *emp, int32_t idx)
{
        if (idx < 0) {
                SB_LIT(b, "null");
                return;
        }
        sb_ch(b, '"');
        sb_str(b, emp[idx].id);
        sb_ch(b, '"');
}

static int write_roster(const char *path, const emp_t *emp, uint32_t m)
{
        out_t o;
        if (out_open(&o, path, 1 << 20) != 0)
                return -1;
        for (uint32_t i = 0; i < m; i++) {
                const emp_t *e = &emp[i];
                sb_t b = out_begin(&o, 1024);
                SB_LIT(&b, "{\"employee_id\":\"");
                sb_str(&b, e->id);
                SB_LIT(&b, "\",\"name\":\"");
                sb_str(&b, FIRST_NAMES[e->first]);
                sb_ch(&b, ' ');
                sb_str(&b, LAST_NAMES[e->last]);
                SB_LIT(&b, "\",\"unit_id\":\"unit-");
                sb_u(&b, (uint64_t)e->unit + 1, 2);
                SB_LIT(&b, "\",\"unit_name\":\"");
                sb_str(&b, UNITS[e->unit].name);
                SB_LIT(&b, "\",\"service_class\":");
                if (e->svc) {
                        sb_ch(&b, '"');
                        sb_str(&b, SVC_NAMES[e->svc]);
                        sb_ch(&b, '"');
                } else {
                        SB_LIT(&b, "null");
                }
                SB_LIT(&b, ",\"position_class\":\"");
                sb_str(&b, POS_NAMES[e->pos]);
                SB_LIT(&b, "\",\"supervisor_id\":");
                sb_id_or_null(&b, emp, e->sup);
                SB_LIT(&b, ",\"head_id\":");
                sb_id_or_null(&b, emp, e->head);
                SB_LIT(&b, ",\"tpp_monthly\":");
                sb_u(&b, e->tpp, 1);
                SB_LIT(&b, ",\"wfh_exempt\":null,\"active\":");
                if (e->active)
                        SB_LIT(&b, "true}\n");
                else
                        SB_LIT(&b, "false}\n");
                if (b.overflow) {
                        fprintf(stderr, "gen_replay: roster line too long\n");
                        return -1;
                }
                out_commit(&o, &b);
        }
        return out_close(&o);
}

static int write_text(const char *path, const char *const *lines, size_t n)
{
        FILE *f = fopen(path, "wb");
        if (!f) {
                fprintf(stderr, "gen_replay: cannot open %s: %s\n", path,
                        strerror(errno));
                return -1;
        }
        int err = 0;
        for (size_t i = 0; i < n; i++)
                if (fputs(lines[i], f) == EOF)
                        err = 1;
        if (fclose(f) != 0 || err) {
                fprintf(stderr, "gen_replay: write error on %s\n", path);
                return -1;
        }
        return 0;
}

/* ------------------------------------------------------------------ calendar
 */

static const struct {
        int y, m, d;
        const char *name;
} NATIONAL_HOLIDAYS[] = {
    {2026, 5, 1, "Hari Buruh Internasional"},
    {2026, 5, 14, "Kenaikan Yesus Kristus"},
    {2026, 5, 27, "Hari Raya Idul Adha 1447 H"},
    {2026, 6, 1, "Hari Lahir Pancasila"},
    {2026, 6, 16, "Tahun Baru Islam 1448 H"},
    {2026, 8, 17, "Hari Proklamasi Kemerdekaan RI"},
    {2026, 12, 25, "Hari Raya Natal"},
};

typedef struct {
        int32_t start;    /* first generated day (a Monday) */
        int32_t wfh_from; /* policy wfh_from */
        int32_t holiday;
        const char *holiday_name;
        int32_t suspended; /* a Friday */
} cal_t;

static int32_t nth_weekday(int32_t start, uint32_t idx)
{
        int32_t z = start;
        while (idx--)
                z = next_weekday(z);
        return z;
}

static uint32_t weekday_index(int32_t start, int32_t z)
{
        uint32_t idx = 0;
        for (int32_t d = start; d < z; d = next_weekday(d))
                idx++;
        return idx;
}

/* Pick the wfh_suspended Friday and the holiday inside the first ~80 % of the
 * estimated range of workdays, so that both fall among the generated days. */
static void plan_calendar(cal_t *c, uint64_t n, uint32_t m)
{
        c->start = days_from_civil(2026, 4, 13);
        c->wfh_from = days_from_civil(2026, 4, 8);
        uint64_t est =
            n * 10 / (19 * (uint64_t)m); /* ~1.9 records per employee-day */
        if (est < 1)
                est = 1;
        if (est > 100000)
                est = 100000;
        uint32_t within = (uint32_t)(est * 8 / 10);
        uint32_t susp_idx =
            9 < within ? 9 : 4; /* second Friday if it fits, else the first */
        c->suspended = nth_weekday(c->start, susp_idx);
        c->holiday = -1;
        for (size_t i = 0;
             i < sizeof NATIONAL_HOLIDAYS / sizeof NATIONAL_HOLIDAYS[0]; i++) {
                int32_t z = days_from_civil(NATIONAL_HOLIDAYS[i].y,
                                            NATIONAL_HOLIDAYS[i].m,
                                            NATIONAL_HOLIDAYS[i].d);
                uint32_t idx = weekday_index(c->start, z);
                if (z > c->start && !is_weekend(z) && idx < within &&
                    z != c->suspended) {
                        c->holiday = z;
                        c->holiday_name = NATIONAL_HOLIDAYS[i].name;
                        break;
                }
        }
        if (c->holiday < 0) {
                uint32_t idx = (uint32_t)(est / 2);
                if (idx < 1)
                        idx = 1;
                if (idx == susp_idx)
                        idx++;
                c->holiday = nth_weekday(c->start, idx);
                c->holiday_name = "Cuti Bersama";
        }
}

static int write_calendar(const char *path, const cal_t *c)
{
        char h[11], s[11], buf[512];
        format_date(c->holiday, h);
        format_date(c->suspended, s);
        int n = snprintf(buf, sizeof buf,
                         "{\"holidays\":[{\"date\":\"%s\",\"name\":\"%s\"}],\n"
                         " \"wfh_suspended\":[{\"date\":\"%s\",\"reason\":"
                         "\"kondisi kedaruratan\"}],\n"
                         " \"hours_overrides\":[]}\n",
                         h, c->holiday_name, s);
        if (n < 0 || (size_t)n >= sizeof buf)
                return -1;
        const char *lines[] = {buf};
        return write_text(path, lines, 1);
}

/* ------------------------------------------------------------------ events */

enum { T_PRESENCE, T_CALLS, T_EXCUSES, T_N };
static const char *const TOPIC_NAMES[] = {"presence", "calls", "excuses"};
static const char *const BAD_TOPIC_NAMES[] = {"presensi", "panggilan", "izin"};

enum { OUT_ANSWERED, OUT_MISSED, OUT_DECLINED };
static const char *const OUTCOME_NAMES[] = {"answered", "missed", "declined"};

/* kinds of intentionally bad records (each replaces one good record) */
enum {
        BAD_NONE,
        BAD_JSON,
        BAD_RAW_STRING,
        BAD_MISSING_FIELD,
        BAD_NO_OFFSET,
        BAD_VALUE,
        BAD_UNKNOWN_EMPLOYEE,
        BAD_TOPIC,
        BAD_N
};
static const char *const BAD_NAMES[] = {
    "none",      "json",  "raw_string",       "missing_field",
    "no_offset", "value", "unknown_employee", "topic"};
/* relative weights, in %, of BAD_JSON .. BAD_TOPIC */
static const uint32_t BAD_WEIGHTS[] = {0, 20, 15, 20, 20, 10, 10, 5};

#define SUB_CLOCK_OUT 1u
#define SUB_WFH 2u
#define SUB_SAKIT 1u
#define FLAG_REVOKED 1u
#define FLAG_DUP 2u

typedef struct {
        uint32_t ts;  /* envelope ts, seconds since local midnight of the day */
        uint32_t at;  /* record time: presence/call `at`, excuse `updated_at` */
        uint32_t id;  /* event number */
        uint32_t aux; /* call number / excuse number */
        int32_t emp;  /* presence/excuse employee; call callee */
        int32_t emp2; /* call caller */
        int32_t from, to; /* excuse dates */
        uint16_t cut;     /* per mille, for BAD_JSON / BAD_RAW_STRING */
        uint8_t topic, sub, flag, bad;
} rec_t;

typedef struct {
        rec_t *v;
        size_t n, cap;
} recvec_t;

typedef struct {
        rng_t rng;  /* workday stream */
        rng_t wrng; /* weekend-duty stream (kept apart so the workdays do not
                       depend on it) */
        rng_t *cur; /* the stream in use */
        emp_t *emp;
        uint32_t m;
        uint32_t next_event[T_N];
        uint32_t next_call, next_excuse;
        recvec_t day;
        uint8_t *status; /* per employee for the current day: 0 away, 1 absent,
                            2 present */
} gen_t;

enum { ST_AWAY, ST_ABSENT, ST_PRESENT };

static rec_t *slot(gen_t *g)
{
        recvec_t *d = &g->day;
        if (d->n == d->cap) {
                size_t cap = d->cap ? d->cap * 2 : 65536;
                rec_t *v = realloc(d->v, cap * sizeof *v);
                if (!v) {
                        fprintf(stderr, "gen_replay: out of memory\n");
                        exit(1);
                }
                d->v = v;
                d->cap = cap;
        }
        return &d->v[d->n++];
}

static rec_t *push(gen_t *g, int topic, uint32_t at)
{
        rec_t *r = slot(g);
        memset(r, 0, sizeof *r);
        r->topic = (uint8_t)topic;
        r->at = at;
        r->ts = at + rng_range(g->cur, 5, 60);
        r->id = ++g->next_event[topic];
        if (rng_ppm(g->cur, PPM_BAD)) {
                uint32_t x = rng_below(g->cur, 100), acc = 0;
                int k = BAD_JSON;
                for (; k < BAD_N - 1; k++) {
                        acc += BAD_WEIGHTS[k];
                        if (x < acc)
                                break;
                }
                r->bad = (uint8_t)k;
                r->cut = (uint16_t)rng_range(g->cur, 300, 800);
        }
        return r;
}

static void push_presence(gen_t *g, int32_t e, uint32_t at, unsigned sub)
{
        rec_t *r = push(g, T_PRESENCE, at);
        r->emp = e;
        r->sub = (uint8_t)sub;
        if (!r->bad &&
            rng_ppm(g->cur,
                    PPM_DUP)) {  /* at-least-once delivery: same record again */
                rec_t copy = *r; /* copy first: slot() may move the vector */
                copy.ts += rng_range(g->cur, 30, 900);
                copy.flag |= FLAG_DUP;
                *slot(g) = copy;
        }
}

static void push_call(gen_t *g, int32_t caller, int32_t callee, uint32_t at,
                      int outcome)
{
        rec_t *r = push(g, T_CALLS, at);
        r->emp = callee;
        r->emp2 = caller;
        r->sub = (uint8_t)outcome;
        r->aux = ++g->next_call;
}

static void push_excuse(gen_t *g, int32_t e, uint32_t at, int sakit,
                        int32_t from, int32_t to, uint32_t xid, int revoked)
{
        rec_t *r = push(g, T_EXCUSES, at);
        r->emp = e;
        r->sub = (uint8_t)(sakit ? SUB_SAKIT : 0);
        r->from = from;
        r->to = to;
        r->aux = xid;
        r->flag = (uint8_t)(revoked ? FLAG_REVOKED : 0);
}

/* minutes past a bound, in the bands 1-30 (60 %), 31-60 (20 %), 61-90 (12 %),
 * 91-max (8 %) */
static uint32_t band_minutes(rng_t *r, uint32_t max)
{
        uint32_t x = rng_below(r, 100);
        if (x < 60)
                return rng_range(r, 1, 30);
        if (x < 80)
                return rng_range(r, 31, 60);
        if (x < 92)
                return rng_range(r, 61, 90);
        return rng_range(r, 91, max);
}

/* All records of one workday, in generation order (not yet sorted). */
static void gen_day(gen_t *g, const cal_t *cal, int32_t z)
{
        rng_t *r = g->cur = &g->rng;
        const int fri = weekday(z) == 5;
        const int wfh_day = fri && z >= cal->wfh_from && z != cal->suspended;
        const uint32_t end = fri ? END_SEC_FRI : END_SEC_MON_THU;
        g->day.n = 0;

        for (uint32_t i = 0; i < g->m; i++) {
                emp_t *e = &g->emp[i];
                g->status[i] = ST_AWAY;
                if (!e->active || (z >= e->exc_from && z <= e->exc_to))
                        continue;
                if (rng_ppm(r, PPM_SAKIT)) { /* sick note, sent in the morning,
                                                1-3 days from today */
                        int32_t to = z + (int32_t)rng_below(r, 3);
                        uint32_t at = rng_range(r, 6 * 3600, 9 * 3600 + 1800);
                        push_excuse(g, (int32_t)i, at, 1, z, to,
                                    ++g->next_excuse, 0);
                        e->exc_from = z;
                        e->exc_to = to;
                        continue;
                }
                if (rng_ppm(r, PPM_CUTI)) { /* leave from the next workday, 1-3
                                               workdays, filed this afternoon */
                        int32_t from = next_weekday(z), to = from;
                        for (uint32_t k = rng_range(r, 1, 3); k > 1; k--)
                                to = next_weekday(to);
                        uint32_t at = rng_range(r, 13 * 3600, 16 * 3600);
                        uint32_t xid = ++g->next_excuse;
                        push_excuse(g, (int32_t)i, at, 0, from, to, xid, 0);
                        if (rng_ppm(r, PPM_CUTI_REVOKED)) {
                                push_excuse(g, (int32_t)i,
                                            at + rng_range(r, 1800, 7200), 0,
                                            from, to, xid, 1);
                        } else {
                                e->exc_from = from;
                                e->exc_to = to;
                        }
                }
                unsigned mode = (wfh_day && !e->exempt) ? SUB_WFH : 0;
                if (!mode && rng_ppm(r, PPM_WRONG_MODE))
                        mode = SUB_WFH;
                uint32_t u = rng_below(r, 1000000);
                if (u < PPM_ABSENT) {
                        g->status[i] = ST_ABSENT;
                        continue;
                }
                g->status[i] = ST_PRESENT;
                u -= PPM_ABSENT;
                const int has_in = !(u < PPM_MISSING_IN);
                const int has_out = !(u >= PPM_MISSING_IN &&
                                      u < PPM_MISSING_IN + PPM_MISSING_OUT);
                if (has_in) {
                        uint32_t at;
                        if (rng_ppm(r, PPM_LATE))
                                at = START_SEC + band_minutes(r, 240) * 60 +
                                     rng_below(r, 60);
                        else
                                at = START_SEC - 40 * 60 +
                                     rng_below(
                                         r, 41 * 60); /* 06:50:00 - 07:30:59 */
                        push_presence(g, (int32_t)i, at, mode);
                }
                if (has_out) {
                        uint32_t at;
                        if (rng_ppm(r, PPM_EARLY))
                                at = end - band_minutes(r, 180) * 60 +
                                     rng_below(r, 60);
                        else
                                at = end + rng_below(r, 75 * 60);
                        push_presence(g, (int32_t)i, at, mode | SUB_CLOCK_OUT);
                }
        }

        if (!wfh_day)
                return;
        /* SE 737 angka 5: supervisors (sometimes the head) call WFH staff; some
         * calls are missed/declined, and the callee sometimes calls back; some
         * staff call up. */
        for (uint32_t i = 0; i < g->m; i++) {
                const emp_t *e = &g->emp[i];
                if (g->status[i] == ST_AWAY || e->exempt || e->sup < 0)
                        continue;
                if (rng_ppm(r, PPM_CALLED)) {
                        int32_t caller =
                            (e->head >= 0 && rng_ppm(r, PPM_CALL_BY_HEAD))
                                ? e->head
                                : e->sup;
                        if (g->status[caller] != ST_AWAY) {
                                uint32_t t =
                                    rng_range(r, 8 * 3600, 15 * 3600 + 45 * 60);
                                uint32_t x = rng_below(r, 100);
                                int outcome;
                                if (g->status[i] == ST_ABSENT)
                                        outcome =
                                            x < 85 ? OUT_MISSED : OUT_DECLINED;
                                else
                                        outcome = x < 86   ? OUT_ANSWERED
                                                  : x < 96 ? OUT_MISSED
                                                           : OUT_DECLINED;
                                push_call(g, caller, (int32_t)i, t, outcome);
                                if (outcome != OUT_ANSWERED &&
                                    g->status[i] == ST_PRESENT &&
                                    rng_ppm(r, PPM_CALLBACK))
                                        push_call(g, (int32_t)i, caller,
                                                  t + rng_range(r, 60, 50 * 60),
                                                  OUT_ANSWERED);
                        }
                }
                if (g->status[i] == ST_PRESENT &&
                    g->status[e->sup] != ST_AWAY && rng_ppm(r, PPM_CALL_UP)) {
                        uint32_t t =
                            rng_range(r, 8 * 3600, 15 * 3600 + 45 * 60);
                        push_call(g, (int32_t)i, e->sup, t,
                                  rng_below(r, 100) < 90 ? OUT_ANSWERED
                                                         : OUT_MISSED);
                }
        }
}

/* Weekend duty (piket): exactly `quota` presence records of staff on duty on a
 * Saturday or Sunday.  A weekend day is no workday, so the engine accepts these
 * and decides nothing on them: they make up N without cutting a workday short.
 * Returns the records it could not place (too few staff). */
static uint32_t gen_weekend(gen_t *g, int32_t z, uint32_t quota)
{
        rng_t *r = g->cur = &g->wrng;
        g->day.n = 0;
        memset(g->status, ST_AWAY, g->m);
        for (uint64_t tries = 0; g->day.n < quota && tries < 4ull * g->m + 16;
             tries++) {
                uint32_t i = rng_below(r, g->m);
                const emp_t *e = &g->emp[i];
                if (g->status[i] != ST_AWAY || !e->active ||
                    (z >= e->exc_from && z <= e->exc_to))
                        continue;
                g->status[i] = ST_PRESENT;
                rec_t *in = push(g, T_PRESENCE,
                                 rng_range(r, 7 * 3600, 8 * 3600 + 1800));
                in->emp = (int32_t)i;
                if (g->day.n < quota) {
                        rec_t *out = push(g, T_PRESENCE,
                                          rng_range(r, 12 * 3600, 15 * 3600));
                        out->emp = (int32_t)i;
                        out->sub = SUB_CLOCK_OUT;
                }
        }
        g->cur = &g->rng;
        return quota - (uint32_t)g->day.n;
}

/* ------------------------------------------------------------------ formatting
 */

static void sb_date(sb_t *b, int32_t z)
{
        char d[11];
        format_date(z, d);
        sb_mem(b, d, 10);
}

static void sb_emp_id(sb_t *b, const gen_t *g, int32_t idx, const rec_t *r,
                      int unknown)
{
        if (unknown) { /* well-formed NIP of nobody: birth year 2005 is outside
                          the roster's range */
                SB_LIT(b, "200501012030011");
                sb_u(b, r->id % 1000, 3);
        } else {
                sb_str(b, g->emp[idx].id);
        }
}

/* the record (the envelope's value) */
static void format_value(sb_t *b, const gen_t *g, const rec_t *r,
                         const char *date)
{
        const int bad = r->bad;
        switch (r->topic) {
        case T_PRESENCE:
                SB_LIT(b, "{\"event_id\":\"p-");
                sb_u(b, r->id, 8);
                SB_LIT(b, "\",\"employee_id\":\"");
                sb_emp_id(b, g, r->emp, r, bad == BAD_UNKNOWN_EMPLOYEE);
                if (bad == BAD_VALUE)
                        sb_str(b, (r->sub & SUB_CLOCK_OUT)
                                      ? "\",\"type\":\"clock-out"
                                      : "\",\"type\":\"clock-in");
                else
                        sb_str(b, (r->sub & SUB_CLOCK_OUT)
                                      ? "\",\"type\":\"clock_out"
                                      : "\",\"type\":\"clock_in");
                sb_str(b, (r->sub & SUB_WFH) ? "\",\"mode\":\"wfh\""
                                             : "\",\"mode\":\"wfo\"");
                if (bad != BAD_MISSING_FIELD) {
                        SB_LIT(b, ",\"at\":\"");
                        sb_ts(b, date, r->at, bad != BAD_NO_OFFSET);
                        sb_ch(b, '"');
                }
                SB_LIT(b, ",\"source\":\"e-manuntung\"}");
                break;
        case T_CALLS:
                SB_LIT(b, "{\"event_id\":\"c-");
                sb_u(b, r->id, 8);
                SB_LIT(b, "\",\"call_id\":\"call-");
                sb_u(b, r->aux, 8);
                SB_LIT(b, "\",\"caller_id\":\"");
                sb_emp_id(b, g, r->emp2, r, 0);
                SB_LIT(b, "\",\"callee_id\":\"");
                sb_emp_id(b, g, r->emp, r, bad == BAD_UNKNOWN_EMPLOYEE);
                SB_LIT(b, "\",\"at\":\"");
                sb_ts(b, date, r->at, bad != BAD_NO_OFFSET);
                sb_ch(b, '"');
                if (bad == BAD_VALUE) {
                        SB_LIT(b, ",\"outcome\":\"busy\"");
                } else if (bad != BAD_MISSING_FIELD) {
                        SB_LIT(b, ",\"outcome\":\"");
                        sb_str(b, OUTCOME_NAMES[r->sub]);
                        sb_ch(b, '"');
                }
                sb_ch(b, '}');
                break;
        default: {
                int32_t from = r->from, to = r->to;
                if (bad == BAD_VALUE) { /* `from` after `to` */
                        from = r->to + 1;
                        to = r->from;
                }
                const char *kind = (r->sub & SUB_SAKIT) ? "sakit" : "cuti";
                int y, mo, d;
                civil_from_days(r->from, &y, &mo, &d);
                SB_LIT(b, "{\"event_id\":\"x-");
                sb_u(b, r->id, 8);
                SB_LIT(b, "\",\"excuse_id\":\"");
                sb_str(b, kind);
                sb_ch(b, '-');
                sb_u(b, (uint64_t)y, 4);
                sb_ch(b, '-');
                sb_u(b, r->aux, 6);
                SB_LIT(b, "\",\"employee_id\":\"");
                sb_emp_id(b, g, r->emp, r, bad == BAD_UNKNOWN_EMPLOYEE);
                SB_LIT(b, "\",\"kind\":\"");
                sb_str(b, kind);
                SB_LIT(b, "\",\"from\":\"");
                sb_date(b, from);
                SB_LIT(b, "\",\"to\":\"");
                sb_date(b, to);
                sb_ch(b, '"');
                if (bad != BAD_MISSING_FIELD) {
                        SB_LIT(b, ",\"updated_at\":\"");
                        sb_ts(b, date, r->at, bad != BAD_NO_OFFSET);
                        sb_ch(b, '"');
                }
                sb_str(b, (r->flag & FLAG_REVOKED) ? ",\"revoked\":true}"
                                                   : ",\"revoked\":false}");
                break;
        }
        }
}

/* one envelope line, newline included */
static void format_line(sb_t *b, const gen_t *g, const rec_t *r,
                        const char *date)
{
        SB_LIT(b, "{\"topic\":\"");
        sb_str(b, r->bad == BAD_TOPIC ? BAD_TOPIC_NAMES[r->topic]
                                      : TOPIC_NAMES[r->topic]);
        SB_LIT(b, "\",\"ts\":\"");
        sb_ts(b, date, r->ts, 1);
        SB_LIT(b, "\",\"value\":");
        if (r->bad == BAD_RAW_STRING) { /* raw bytes of a cut-off record, as a
                                           JSON string */
                char raw[1024];
                sb_t v = {raw, 0, sizeof raw, 0};
                format_value(&v, g, r, date);
                size_t keep = v.len * r->cut / 1000;
                sb_ch(b, '"');
                for (size_t i = 0; i < keep; i++) {
                        if (raw[i] == '"' || raw[i] == '\\')
                                sb_ch(b, '\\');
                        sb_ch(b, raw[i]);
                }
                sb_ch(b, '"');
        } else {
                format_value(b, g, r, date);
        }
        sb_ch(b, '}');
        if (r->bad == BAD_JSON) /* cut the line: not JSON any more */
                b->len = b->len * r->cut / 1000;
        sb_ch(b, '\n');
}

/* ------------------------------------------------------------------ emitting
 */

typedef struct {
        uint64_t emitted, by_topic[T_N], by_bad[BAD_N], dups;
} stats_t;

typedef struct {
        uint32_t *bucket; /* 86401 counters */
        uint32_t *order;
        size_t cap;
} sorter_t;

/* (re)start the event streams: both passes must see the same workdays */
static void events_reset(gen_t *g, uint64_t seed)
{
        rng_seed(&g->rng, seed ^ 0x4576656e7473ull);  /* "Events" */
        rng_seed(&g->wrng, seed ^ 0x5765656b656eull); /* "Weeken" */
        g->cur = &g->rng;
        memset(g->next_event, 0, sizeof g->next_event);
        g->next_call = g->next_excuse = 0;
        for (uint32_t i = 0; i < g->m; i++) {
                g->emp[i].exc_from = 1;
                g->emp[i].exc_to = 0;
        }
}

/* Sort the day's records by ts (stable counting sort: arrival order, ties in
 * generation order) and write them until n records have been written in all.
 * *sent: how many of the day's records were written. */
static int emit_day(gen_t *g, int32_t z, sorter_t *so, out_t *o, uint64_t n,
                    stats_t *st, size_t *sent)
{
        recvec_t *d = &g->day;
        if (so->cap < d->n) {
                free(so->order);
                so->cap = d->n * 2;
                so->order = malloc(so->cap * sizeof *so->order);
                if (!so->order) {
                        fprintf(stderr, "gen_replay: out of memory\n");
                        return -1;
                }
        }
        memset(so->bucket, 0, (86400 + 1) * sizeof *so->bucket);
        for (size_t i = 0; i < d->n; i++) {
                if (d->v[i].ts > 86399)
                        d->v[i].ts = 86399;
                so->bucket[d->v[i].ts + 1]++;
        }
        for (size_t s = 1; s <= 86400; s++)
                so->bucket[s] += so->bucket[s - 1];
        for (size_t i = 0; i < d->n; i++)
                so->order[so->bucket[d->v[i].ts]++] = (uint32_t)i;

        char date[11];
        format_date(z, date);
        size_t k = 0;
        for (; k < d->n && st->emitted < n; k++) {
                const rec_t *r = &d->v[so->order[k]];
                sb_t b = out_begin(o, 4096);
                format_line(&b, g, r, date);
                if (b.overflow) {
                        fprintf(stderr, "gen_replay: event line too long\n");
                        return -1;
                }
                out_commit(o, &b);
                st->emitted++;
                st->by_topic[r->topic]++;
                st->by_bad[r->bad]++;
                if (r->flag & FLAG_DUP)
                        st->dups++;
        }
        *sent = k;
        return 0;
}

/* ------------------------------------------------------------------ main */

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
        if (!s || *s < '0' || *s > '9')
                return -1;
        errno = 0;
        char *end = NULL;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || !end || *end != '\0' || v < lo || v > hi)
                return -1;
        *out = (uint64_t)v;
        return 0;
}

static int join_path(char *buf, size_t cap, const char *dir, const char *name)
{
        int n = snprintf(buf, cap, "%s/%s", dir, name);
        if (n < 0 || (size_t)n >= cap) {
                fprintf(stderr, "gen_replay: path too long: %s/%s\n", dir,
                        name);
                return -1;
        }
        return 0;
}

static double now_s(void)
{
        struct timespec ts;
        if (timespec_get(&ts, TIME_UTC) != TIME_UTC)
                return 0.0;
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(FILE *f)
{
        fprintf(f,
                "usage: gen_replay [--records N] [--employees M] [--seed S] "
                "--out DIR\n"
                "  N replay envelopes (default 1000000) for M employees "
                "(default 20000),\n"
                "  seed S (default 1); writes "
                "DIR/{roster.jsonl,calendar.json,policy.json,events.jsonl}\n");
}

int main(int argc, char **argv)
{
        uint64_t n = 1000000, m = 20000, seed = 1;
        const char *dir = NULL;
        for (int i = 1; i < argc; i += 2) { /* every option takes a value */
                const char *a = argv[i];
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;
                int bad = 0;
                if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                        usage(stdout);
                        return 0;
                } else if (strcmp(a, "--records") == 0) {
                        bad = parse_u64(v, 0, 4000000000ull, &n);
                } else if (strcmp(a, "--employees") == 0) {
                        bad = parse_u64(v, 1, 10000000ull, &m);
                } else if (strcmp(a, "--seed") == 0) {
                        bad = parse_u64(v, 0, UINT64_MAX, &seed);
                } else if (strcmp(a, "--out") == 0) {
                        dir = v;
                        bad = (v == NULL || *v == '\0');
                } else {
                        fprintf(stderr, "gen_replay: unknown argument '%s'\n",
                                a);
                        usage(stderr);
                        return 2;
                }
                if (bad) {
                        fprintf(stderr,
                                "gen_replay: bad or missing value for %s\n", a);
                        usage(stderr);
                        return 2;
                }
        }
        if (!dir) {
                fprintf(stderr, "gen_replay: --out DIR is required\n");
                usage(stderr);
                return 2;
        }
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
                fprintf(stderr, "gen_replay: cannot create %s: %s\n", dir,
                        strerror(errno));
                return 1;
        }
        char p_roster[4096], p_cal[4096], p_policy[4096], p_events[4096];
        if (join_path(p_roster, sizeof p_roster, dir, "roster.jsonl") ||
            join_path(p_cal, sizeof p_cal, dir, "calendar.json") ||
            join_path(p_policy, sizeof p_policy, dir, "policy.json") ||
            join_path(p_events, sizeof p_events, dir, "events.jsonl"))
                return 1;

        const double t0 = now_s();
        rng_t rr;
        rng_seed(&rr, seed ^ 0x526f73746572ull); /* roster stream */
        int nunits = 0;
        emp_t *emp = build_roster(&rr, (uint32_t)m, &nunits);
        if (!emp) {
                fprintf(stderr, "gen_replay: out of memory\n");
                return 1;
        }
        cal_t cal;
        plan_calendar(&cal, n, (uint32_t)m);
        if (write_text(p_policy, POLICY_LINES,
                       sizeof POLICY_LINES / sizeof POLICY_LINES[0]) != 0 ||
            write_calendar(p_cal, &cal) != 0 ||
            write_roster(p_roster, emp, (uint32_t)m) != 0)
                return 1;

        gen_t g;
        memset(&g, 0, sizeof g);
        g.emp = emp;
        g.m = (uint32_t)m;
        g.status = calloc(m, 1);
        sorter_t so = {calloc(86400 + 1, sizeof(uint32_t)), NULL, 0};
        if (!g.status || !so.bucket) {
                fprintf(stderr, "gen_replay: out of memory\n");
                return 1;
        }

        /* Pass 1 (no output): how many whole workdays fit in N? */
        events_reset(&g, seed);
        uint64_t total = 0;
        uint32_t full_days = 0, idle = 0;
        int32_t last_full = cal.start - 1;
        for (int32_t z = cal.start; total < n; z++) {
                if (is_weekend(z) || z == cal.holiday)
                        continue;
                gen_day(&g, &cal, z);
                if (g.day.n == 0 && ++idle > 60) {
                        fprintf(stderr, "gen_replay: no records generated (no "
                                        "active employees?)\n");
                        return 1;
                }
                if (total + g.day.n > n)
                        break;
                total += g.day.n;
                full_days++;
                last_full = z;
        }
        /* The rest, n - total, is spread over the weekend days before the last
         * whole workday as weekend duty; without such days the next workday is
         * cut at N. */
        uint64_t rest = n - total;
        uint32_t wdays = 0;
        for (int32_t z = cal.start + 1; z < last_full; z++)
                wdays += (uint32_t)is_weekend(z);

        /* Pass 2: the same workdays again, plus the weekend duty, written out.
         */
        events_reset(&g, seed);
        out_t o;
        if (out_open(&o, p_events, 4u << 20) != 0)
                return 1;
        stats_t st;
        memset(&st, 0, sizeof st);
        uint32_t days = 0, wk_seen = 0, wk_days = 0, last_cut = 86400;
        uint64_t wk_records = 0, carry = 0;
        int32_t last = cal.start;
        idle = 0;
        for (int32_t z = cal.start; st.emitted < n; z++) {
                const int workday = !is_weekend(z) && z != cal.holiday;
                if (workday) {
                        gen_day(&g, &cal, z);
                        if (g.day.n == 0 && ++idle > 60) {
                                fprintf(stderr,
                                        "gen_replay: no records generated (no "
                                        "active employees?)\n");
                                return 1;
                        }
                } else if (wdays && is_weekend(z) && z > cal.start &&
                           z < last_full) {
                        uint64_t quota =
                            rest / wdays + (wk_seen < rest % wdays) + carry;
                        wk_seen++;
                        if (quota > UINT32_MAX)
                                quota = UINT32_MAX;
                        carry = gen_weekend(&g, z, (uint32_t)quota);
                } else {
                        continue;
                }
                size_t sent = 0;
                if (emit_day(&g, z, &so, &o, n, &st, &sent) != 0)
                        return 1;
                if (workday && g.day.n) {
                        days++;
                        last = z;
                        last_cut = sent < g.day.n
                                       ? g.day.v[so.order[sent]].ts
                                       : 86400; /* first record left out */
                } else if (!workday && sent) {
                        wk_days++;
                        wk_records += sent;
                }
        }
        if (out_close(&o) != 0)
                return 1;
        const double t1 = now_s();

        char d0[11], d1[11], dh[11], ds[11];
        format_date(cal.start, d0);
        format_date(last, d1);
        format_date(cal.holiday, dh);
        format_date(cal.suspended, ds);
        uint64_t nbad = st.emitted - st.by_bad[BAD_NONE];
        fprintf(stderr, "records=%llu\nemployees=%llu\nunits=%d\nseed=%llu\n",
                (unsigned long long)st.emitted, (unsigned long long)m, nunits,
                (unsigned long long)seed);
        fprintf(stderr,
                "workdays=%u\nfirst_date=%s\nlast_date=%s\nholiday=%s\nwfh_"
                "suspended=%s\n",
                days, d0, d1, dh, ds);
        if (last_cut < 86400) /* N reached mid-day: the stream stops there, the
                                 rest of that day is not sent */
                fprintf(stderr, "last_day_cut_at=%02u:%02u:%02u\n",
                        last_cut / 3600, last_cut / 60 % 60, last_cut % 60);
        else
                fprintf(stderr, "last_day_cut_at=none\n");
        fprintf(stderr, "weekend_duty_days=%u\nweekend_duty_records=%llu\n",
                wk_days, (unsigned long long)wk_records);
        for (int t = 0; t < T_N; t++)
                fprintf(stderr, "topic_%s=%llu\n", TOPIC_NAMES[t],
                        (unsigned long long)st.by_topic[t]);
        fprintf(stderr, "duplicates=%llu\nbad=%llu\n",
                (unsigned long long)st.dups, (unsigned long long)nbad);
        for (int k = 1; k < BAD_N; k++)
                fprintf(stderr, "bad_%s=%llu\n", BAD_NAMES[k],
                        (unsigned long long)st.by_bad[k]);
        fprintf(stderr, "expected_dlq=%llu\nelapsed_s=%.3f\n",
                (unsigned long long)nbad, t1 - t0);

        free(so.order);
        free(so.bucket);
        free(g.status);
        free(g.day.v);
        free(emp);
        return 0;
}
