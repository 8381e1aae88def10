#include "cli_reports.h"

#include "../rules/jsonv.h"
#include "../rules/policy.h"
#include "../rules/ptime.h"
#include "../rules/roster.h"
#include "../rules/sanction.h"
#include "jw.h"
#include "output.h"
#include "pgread.h"
#include "render.h"
#include "viols.h"

#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- options ------------------------------------------------------------- */

typedef struct opts {
        const char *cmd; /* "patuh payroll", for messages */
        const char *date, *from, *to, *month, *year;
        const char *unit, *employee, *format;
        const char *violations, *digests, *roster, *policy;
        bool close, corrections;
        render_fmt_t fmt;
} opts_t;

/* One flag a command takes: its name and where its value goes (NULL for a
 * switch, whose bool goes to *flag). */
typedef struct opt_spec {
        const char *name;
        const char **value;
        bool *flag;
} opt_spec_t;

static int parse_opts(opts_t *o, const opt_spec_t *spec, int argc, char **argv,
                      const char *usage)
{
        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--help") == 0 ||
                    strcmp(argv[i], "-h") == 0) {
                        fputs(usage, stdout);
                        return 0;
                }
                const opt_spec_t *s = spec;
                while (s->name && strcmp(s->name, argv[i]) != 0)
                        s++;
                if (!s->name) {
                        fprintf(stderr, "%s: unknown option %s\n%s", o->cmd,
                                argv[i], usage);
                        return 2;
                }
                if (s->flag) {
                        *s->flag = true;
                        continue;
                }
                if (i + 1 >= argc) {
                        fprintf(stderr, "%s: %s needs a value\n", o->cmd,
                                argv[i]);
                        return 2;
                }
                *s->value = argv[++i];
        }
        int f = render_fmt_from_name(o->format ? o->format : "table");
        if (f < 0) {
                fprintf(stderr,
                        "%s: --format must be table, jsonl, csv or html, not "
                        "'%s'\n",
                        o->cmd, o->format);
                return 2;
        }
        o->fmt = (render_fmt_t)f;
        return -1; /* go on */
}

static bool parse_day(const opts_t *o, const char *flag, const char *s,
                      int32_t *day)
{
        if (ptime_parse_date(s, strlen(s), day))
                return true;
        fprintf(stderr, "%s: %s must be a date YYYY-MM-DD, not '%s'\n", o->cmd,
                flag, s);
        return false;
}

static bool parse_int(const char *s, size_t len, int *out)
{
        int v = 0;
        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (s[i] - '0');
        }
        *out = v;
        return true;
}

/* "2026-04" */
static bool parse_month(const opts_t *o, const char *s, int *y, int *m)
{
        if (strlen(s) == 7 && s[4] == '-' && parse_int(s, 4, y) &&
            parse_int(s + 5, 2, m) && *y >= 1970 && *m >= 1 && *m <= 12)
                return true;
        fprintf(stderr, "%s: --month must be YYYY-MM, not '%s'\n", o->cmd, s);
        return false;
}

static bool parse_year(const opts_t *o, const char *s, int *y)
{
        if (strlen(s) == 4 && parse_int(s, 4, y) && *y >= 1970)
                return true;
        fprintf(stderr, "%s: --year must be YYYY, not '%s'\n", o->cmd, s);
        return false;
}

/* ---- lines of JSON text ----------------------------------------------------
 */

typedef struct lines {
        char **v; /* owned */
        size_t n, cap;
} lines_t;

static bool lines_add(lines_t *l, const char *s, size_t n)
{
        if (l->n == l->cap) {
                size_t cap = l->cap ? l->cap * 2 : 64;
                char **v = realloc(l->v, cap * sizeof(*v));
                if (!v)
                        return false;
                l->v = v;
                l->cap = cap;
        }
        char *c = malloc(n + 1);
        if (!c)
                return false;
        memcpy(c, s, n);
        c[n] = '\0';
        l->v[l->n++] = c;
        return true;
}

static void lines_free(lines_t *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
        free(l->v);
        memset(l, 0, sizeof(*l));
}

static render_rows_t lines_rows(const lines_t *l)
{
        return (render_rows_t){(const char *const *)l->v, l->n};
}

/* ---- sources: PostgreSQL or files ------------------------------------------
 */

/* Roster and policy: the files named, else PostgreSQL's. */
static int load_reference(const opts_t *o, PGconn *pg, roster_t **ro,
                          policy_t **po)
{
        char err[1024];
        if (o->roster) {
                if (!(*ro = roster_load(o->roster, err, sizeof(err)))) {
                        fprintf(stderr, "%s: %s\n", o->cmd, err);
                        return 2;
                }
        } else if (!pg || !(*ro = pgread_roster(o->cmd, pg))) {
                if (!pg)
                        fprintf(stderr, "%s: --roster is needed\n", o->cmd);
                return pg ? 1 : 2;
        }
        if (!po)
                return 0;
        if (o->policy) {
                if (!(*po = policy_load(o->policy, err, sizeof(err)))) {
                        fprintf(stderr, "%s: %s\n", o->cmd, err);
                        return 2;
                }
        } else if (!pg || !(*po = pgread_policy(o->cmd, pg, NULL))) {
                if (!pg)
                        fprintf(stderr, "%s: --policy is needed\n", o->cmd);
                return pg ? 1 : 2;
        }
        return 0;
}

/* "1.5" -> 1500000: tpp_percent as PostgreSQL's numeric prints it, read
 * exactly (no binary rounding). */
static bool decimal_micro(const char *s, int64_t *out)
{
        int64_t ip = 0, fp = 0, scale = 1000000;
        bool neg = *s == '-', digits = false;
        if (neg)
                s++;
        for (; *s >= '0' && *s <= '9'; s++, digits = true)
                ip = ip * 10 + (*s - '0');
        if (*s == '.')
                for (s++; *s >= '0' && *s <= '9'; s++, digits = true)
                        if (scale > 1) {
                                scale /= 10;
                                fp += (*s - '0') * scale;
                        }
        if (*s || !digits)
                return false;
        *out = (neg ? -1 : 1) * (ip * 1000000 + fp);
        return true;
}

static const char *jstr(json_t *o, const char *k)
{
        return json_string_value(json_object_get(o, k));
}

/* A replay's violations.jsonl (SPEC §6). */
static int viols_from_file(const opts_t *o, viols_t *vs)
{
        char err[1024];
        int rc = viols_read_file(vs, o->violations, err, sizeof(err));
        if (rc != 0)
                fprintf(stderr, "%s: %s\n", o->cmd, err);
        return rc;
}

/* The active violations dated in [lo, hi) from PostgreSQL. */
static int viols_from_pg(const opts_t *o, PGconn *pg, int32_t lo, int32_t hi,
                         viols_t *vs)
{
        char a[11], b[11];
        ptime_format_date(lo, a);
        ptime_format_date(hi, b);
        const char *params[2] = {a, b};
        PGresult *r = pgread_query(
            o->cmd, pg,
            "SELECT employee_id, unit_id, kind, date::text, "
            "tpp_percent::text, minutes FROM violations WHERE status = "
            "'active' AND date >= $1::date AND date < $2::date",
            2, params);
        if (!r)
                return 1;
        int rc = 0;
        for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
                int64_t pct;
                if (!decimal_micro(PQgetvalue(r, i, 4), &pct) ||
                    !viols_add(vs, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                               PQgetvalue(r, i, 2), PQgetvalue(r, i, 3), pct,
                               PQgetisnull(r, i, 5)
                                   ? -1
                                   : strtoll(PQgetvalue(r, i, 5), NULL, 10),
                               true)) {
                        fprintf(stderr, "%s: unreadable violation row %d\n",
                                o->cmd, i);
                        rc = 1;
                }
        }
        PQclear(r);
        return rc;
}

static int finish_output(const opts_t *o)
{
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "%s: write error\n", o->cmd);
                return 1;
        }
        return 0;
}

static void say_empty(const opts_t *o, const char *what)
{
        fprintf(stderr, "%s: tidak ada data: %s\n", o->cmd, what);
}

/* The first column of every row of a query, as lines (0, 1 on failure). */
static int query_lines(const opts_t *o, PGconn *pg, const char *sql, int n,
                       const char *const *params, lines_t *out)
{
        PGresult *r = pgread_query(o->cmd, pg, sql, n, params);
        if (!r)
                return 1;
        int rc = 0;
        for (int i = 0; rc == 0 && i < PQntuples(r); i++)
                if (!lines_add(out, PQgetvalue(r, i, 0),
                               (size_t)PQgetlength(r, i, 0)))
                        rc = 1;
        PQclear(r);
        return rc;
}

/* ---- patuh digest -------------------------------------------------------- */

static const char digest_usage[] =
    "usage: patuh digest (--date D | --from D --to D) [--unit U]\n"
    "                    [--format table|jsonl|csv|html]\n"
    "                    [--digests FILE [--roster R]]\n"
    "  The daily digest per unit (SPEC 4.4) from PostgreSQL\n"
    "  ($PATUH_PG_CONNINFO), or from a replay's digests.jsonl.\n";

/* Keeps the rows of a digests.jsonl within [lo, hi] (and the unit). */
static int digest_rows_file(const opts_t *o, int32_t lo, int32_t hi,
                            lines_t *out)
{
        FILE *f = fopen(o->digests, "rb");
        if (!f) {
                fprintf(stderr, "%s: %s: %s\n", o->cmd, o->digests,
                        strerror(errno));
                return 2;
        }
        char *line = NULL;
        size_t cap = 0, n;
        long long lineno = 0;
        const char *s;
        int rc = 0;
        while (rc == 0 && jsonv_read_line(f, &line, &cap, &lineno, &s, &n)) {
                json_t *j = json_loadb(s, n, 0, NULL);
                const char *date = jstr(j, "date"), *unit = jstr(j, "unit_id");
                int32_t day;
                if (!date || !unit ||
                    !ptime_parse_date(date, strlen(date), &day)) {
                        fprintf(stderr,
                                "%s: %s line %lld: not a digest row of patuh "
                                "replay\n",
                                o->cmd, o->digests, lineno);
                        rc = 2;
                } else if (day >= lo && day <= hi &&
                           (!o->unit || strcmp(o->unit, unit) == 0) &&
                           !lines_add(out, s, n)) {
                        rc = 1;
                }
                json_decref(j);
        }
        free(line);
        fclose(f);
        return rc;
}

static int digest_rows_pg(const opts_t *o, PGconn *pg, int32_t lo, int32_t hi,
                          lines_t *out)
{
        char a[11], b[11];
        ptime_format_date(lo, a);
        ptime_format_date(hi, b);
        const char *params[3] = {a, b, o->unit};
        /* a row published with expected 0 says its unit no longer has
         * anyone expected that day: not a row of the report */
        return query_lines(
            o, pg,
            "SELECT doc::text FROM daily_digests WHERE date BETWEEN "
            "$1::date AND $2::date AND ($3::text IS NULL OR unit_id = $3) "
            "AND expected > 0 ORDER BY date, unit_id",
            3, params, out);
}

int cli_digest(int argc, char **argv)
{
        opts_t o = {.cmd = "patuh digest"};
        const opt_spec_t spec[] = {
            {"--date", &o.date, NULL},     {"--from", &o.from, NULL},
            {"--to", &o.to, NULL},         {"--unit", &o.unit, NULL},
            {"--format", &o.format, NULL}, {"--digests", &o.digests, NULL},
            {"--roster", &o.roster, NULL}, {NULL, NULL, NULL}};
        int rc = parse_opts(&o, spec, argc, argv, digest_usage);
        if (rc >= 0)
                return rc;
        int32_t lo, hi;
        if (o.date ? (o.from || o.to) : !(o.from && o.to)) {
                fprintf(stderr, "%s: give --date D, or --from D and --to D\n",
                        o.cmd);
                return 2;
        }
        if (!parse_day(&o, o.date ? "--date" : "--from",
                       o.date ? o.date : o.from, &lo) ||
            !parse_day(&o, o.date ? "--date" : "--to", o.date ? o.date : o.to,
                       &hi))
                return 2;
        if (hi < lo) {
                fprintf(stderr, "%s: --from is after --to\n", o.cmd);
                return 2;
        }
        PGconn *pg = NULL;
        roster_t *ro = NULL;
        lines_t rows = {0};
        if (!o.digests && !(pg = pgread_open(o.cmd)))
                return 1;
        rc = o.digests ? digest_rows_file(&o, lo, hi, &rows)
                       : digest_rows_pg(&o, pg, lo, hi, &rows);
        /* names of the violators: the roster named, or patuhd's */
        if (rc == 0 && (o.roster || pg))
                rc = load_reference(&o, pg, &ro, NULL);
        if (rc == 0 && rows.n == 0) {
                say_empty(&o, "tidak ada rekap harian untuk tanggal itu");
        } else if (rc == 0) {
                char err[256];
                if (render_digest(stdout, o.fmt, lines_rows(&rows), ro, err,
                                  sizeof(err)) != 0) {
                        fprintf(stderr, "%s: %s\n", o.cmd, err);
                        rc = 1;
                }
                rc = rc ? rc : finish_output(&o);
        }
        lines_free(&rows);
        roster_free(ro);
        PQfinish(pg);
        return rc;
}

/* ---- patuh payroll
 * ------------------------------------------------------------- */

static const char payroll_usage[] =
    "usage: patuh payroll --month YYYY-MM [--unit U]\n"
    "                     [--format table|jsonl|csv|html]\n"
    "                     [--violations FILE --roster R --policy P]\n"
    "       patuh payroll --month YYYY-MM --close\n"
    "       patuh payroll --month YYYY-MM --corrections [--format ...]\n"
    "  The month's TPP deductions per employee with the monthly cap\n"
    "  (SPEC 4.4), from PostgreSQL ($PATUH_PG_CONNINFO) or from a\n"
    "  replay's violations.jsonl.  --close locks the month: its figures\n"
    "  no longer move; --corrections lists, per employee, today's\n"
    "  figures against the locked ones, for the next payroll.\n";

/* The payroll rows of the month as JSON lines (unit filter applied). */
static int payroll_lines(const opts_t *o, const policy_t *po,
                         const roster_t *ro, const viols_t *vs, int y, int m,
                         lines_t *out)
{
        sanction_payroll_t *rows;
        long n = sanction_payroll_month(po, ro, vs->v, vs->n, y, m, &rows);
        if (n < 0)
                return 1;
        jw_t w;
        jw_init(&w);
        int rc = 0;
        for (long i = 0; rc == 0 && i < n; i++) {
                if (o->unit && strcmp(o->unit, rows[i].unit_id) != 0)
                        continue;
                out_payroll(&w, po, y, m, &rows[i]);
                if (w.oom || !lines_add(out, w.buf, w.len))
                        rc = 1;
                jw_reset(&w);
        }
        jw_free(&w);
        free(rows);
        return rc;
}

static bool month_closed(const opts_t *o, PGconn *pg, const char *period,
                         bool *closed)
{
        const char *params[1] = {period};
        PGresult *r = pgread_query(
            o->cmd, pg, "SELECT 1 FROM payroll_closures WHERE period = $1", 1,
            params);
        if (!r)
                return false;
        *closed = PQntuples(r) > 0;
        PQclear(r);
        return true;
}

/* The locked snapshot of a closed month (unit filter applied). */
static int snapshot_lines(const opts_t *o, PGconn *pg, const char *period,
                          lines_t *out)
{
        const char *params[2] = {period, o->unit};
        return query_lines(o, pg,
                           "SELECT doc::text FROM payroll_snapshots WHERE "
                           "period = $1 AND ($2::text IS NULL OR unit_id = "
                           "$2) ORDER BY employee_id",
                           2, params, out);
}

/* --close: the month's rows become its snapshot, in one transaction; a
 * month closes once. */
static int close_month(const opts_t *o, PGconn *pg, const policy_t *po,
                       const char *period, const lines_t *rows)
{
        jw_t w;
        jw_init(&w);
        jw_raw(&w, "[", 1);
        for (size_t i = 0; i < rows->n; i++) {
                if (i)
                        jw_raw(&w, ",", 1);
                jw_raw(&w, rows->v[i], strlen(rows->v[i]));
        }
        jw_raw(&w, "]", 1);
        if (w.oom) {
                jw_free(&w);
                return 1;
        }
        const char *params[3] = {period, po->label, w.buf};
        /* one statement, one transaction: the closure row and every
         * snapshot row, or nothing */
        PGresult *r = pgread_query(
            o->cmd, pg,
            "WITH c AS (INSERT INTO payroll_closures (period, policy) "
            "VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING period), "
            "s AS (INSERT INTO payroll_snapshots (period, employee_id, "
            "unit_id, deduction, doc) SELECT c.period, d->>'employee_id', "
            "d->>'unit_id', (d->>'deduction')::bigint, d FROM c, "
            "json_array_elements($3::json) AS d RETURNING 1) "
            "SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM s)",
            3, params);
        jw_free(&w);
        if (!r)
                return 1;
        bool done = strcmp(PQgetvalue(r, 0, 0), "1") == 0;
        if (done)
                fprintf(stderr,
                        "%s: bulan %s dikunci: %s baris disimpan; angkanya "
                        "tidak berubah lagi, koreksi dengan --corrections\n",
                        o->cmd, period, PQgetvalue(r, 0, 1));
        else
                fprintf(stderr, "%s: bulan %s sudah dikunci sebelumnya\n",
                        o->cmd, period);
        PQclear(r);
        return done ? 0 : 2;
}

static int64_t jint(json_t *o, const char *k)
{
        return json_integer_value(json_object_get(o, k));
}

/* --corrections: per employee, today's deduction against the locked one. */
static int corrections(const opts_t *o, PGconn *pg, const char *period,
                       const lines_t *today)
{
        lines_t locked = {0};
        opts_t all = *o;
        int rc = snapshot_lines(&all, pg, period, &locked);
        if (rc)
                return rc;
        /* both lists are sorted by employee_id: merge them */
        size_t i = 0, k = 0, shown = 0;
        int64_t total = 0;
        jw_t w;
        jw_init(&w);
        if (o->fmt == RENDER_CSV)
                puts("period,employee_id,name,unit_id,locked_percent_capped,"
                     "percent_capped,locked_deduction,deduction,difference");
        else if (o->fmt == RENDER_TABLE)
                printf("Koreksi TPP bulan %s (angka sekarang dibanding angka "
                       "yang dikunci)\n\n%-18s %-24s %-16s %14s %14s %14s\n",
                       period, "NIP", "Nama", "Unit", "Dikunci (Rp)",
                       "Sekarang (Rp)", "Selisih (Rp)");
        while (i < locked.n || k < today->n) {
                json_t *a = i < locked.n
                                ? json_loads(locked.v[i], JSON_DECODE_ANY, NULL)
                                : NULL;
                json_t *b = k < today->n
                                ? json_loads(today->v[k], JSON_DECODE_ANY, NULL)
                                : NULL;
                const char *ea = a ? jstr(a, "employee_id") : NULL;
                const char *eb = b ? jstr(b, "employee_id") : NULL;
                int c = !ea ? 1 : !eb ? -1 : strcmp(ea, eb);
                json_t *cur = c <= 0 ? a : b;
                int64_t was = c <= 0 ? jint(a, "deduction") : 0;
                int64_t now = c >= 0 ? jint(b, "deduction") : 0;
                json_t *pw =
                    c <= 0 ? json_object_get(a, "percent_capped") : NULL;
                json_t *pn =
                    c >= 0 ? json_object_get(b, "percent_capped") : NULL;
                i += c <= 0;
                k += c >= 0;
                if (was != now) {
                        shown++;
                        total += now - was;
                        const char *name = jstr(cur, "name");
                        const char *emp = jstr(cur, "employee_id");
                        const char *unit = jstr(cur, "unit_id");
                        int64_t uw =
                            pw ? jsonv_percent_micro(json_number_value(pw)) : 0;
                        int64_t un =
                            pn ? jsonv_percent_micro(json_number_value(pn)) : 0;
                        char spw[32], spn[32];
                        jw_format_fixed(uw, 6, spw, sizeof(spw));
                        jw_format_fixed(un, 6, spn, sizeof(spn));
                        if (o->fmt == RENDER_TABLE) {
                                char r1[32], r2[32], r3[32];
                                out_thousands(was, r1, sizeof(r1));
                                out_thousands(now, r2, sizeof(r2));
                                out_thousands(now - was, r3, sizeof(r3));
                                printf("%-18s %-24.24s %-16.16s %14s %14s "
                                       "%14s\n",
                                       emp, name ? name : "-", unit, r1, r2,
                                       r3);
                        } else if (o->fmt == RENDER_CSV) {
                                /* RFC 4180: names may hold commas */
                                printf("%s,%s,", period, emp);
                                putchar('"');
                                for (const char *p = name ? name : ""; *p;
                                     p++) {
                                        if (*p == '"')
                                                putchar('"');
                                        putchar(*p);
                                }
                                printf("\",%s,%s,%s,%lld,%lld,%lld\r\n", unit,
                                       spw, spn, (long long)was, (long long)now,
                                       (long long)(now - was));
                        } else {
                                jw_obj_begin(&w);
                                jw_key(&w, "period");
                                jw_str(&w, period);
                                jw_key(&w, "employee_id");
                                jw_str(&w, emp);
                                jw_key(&w, "name");
                                jw_str(&w, name);
                                jw_key(&w, "unit_id");
                                jw_str(&w, unit);
                                jw_key(&w, "locked_percent_capped");
                                jw_fixed(&w, uw, 6);
                                jw_key(&w, "percent_capped");
                                jw_fixed(&w, un, 6);
                                jw_key(&w, "locked_deduction");
                                jw_int(&w, was);
                                jw_key(&w, "deduction");
                                jw_int(&w, now);
                                jw_key(&w, "difference");
                                jw_int(&w, now - was);
                                jw_obj_end(&w);
                                puts(w.buf);
                                jw_reset(&w);
                        }
                }
                json_decref(a);
                json_decref(b);
        }
        jw_free(&w);
        lines_free(&locked);
        if (o->fmt == RENDER_TABLE) {
                char t[32];
                out_thousands(total, t, sizeof(t));
                printf("\n%zu pegawai berubah; selisih potongan seluruhnya "
                       "Rp%s (positif: dipotong lagi pada penggajian "
                       "berikutnya, negatif: dikembalikan)\n",
                       shown, t);
        }
        if (shown == 0)
                say_empty(o, "tidak ada koreksi sejak bulan dikunci");
        return finish_output(o);
}

int cli_payroll(int argc, char **argv)
{
        opts_t o = {.cmd = "patuh payroll"};
        const opt_spec_t spec[] = {{"--month", &o.month, NULL},
                                   {"--unit", &o.unit, NULL},
                                   {"--format", &o.format, NULL},
                                   {"--violations", &o.violations, NULL},
                                   {"--roster", &o.roster, NULL},
                                   {"--policy", &o.policy, NULL},
                                   {"--close", NULL, &o.close},
                                   {"--corrections", NULL, &o.corrections},
                                   {NULL, NULL, NULL}};
        int rc = parse_opts(&o, spec, argc, argv, payroll_usage);
        if (rc >= 0)
                return rc;
        int y, m;
        if (!o.month) {
                fprintf(stderr, "%s: --month YYYY-MM is needed\n", o.cmd);
                return 2;
        }
        if (!parse_month(&o, o.month, &y, &m))
                return 2;
        if ((o.close || o.corrections) && o.violations) {
                fprintf(stderr,
                        "%s: --close and --corrections work on PostgreSQL, "
                        "not on --violations\n",
                        o.cmd);
                return 2;
        }
        if (o.close && (o.corrections || o.unit)) {
                fprintf(stderr,
                        "%s: --close locks the whole month: no --unit, no "
                        "--corrections\n",
                        o.cmd);
                return 2;
        }
        if (o.corrections && o.fmt == RENDER_HTML) {
                fprintf(stderr,
                        "%s: --corrections prints table, jsonl or "
                        "csv\n",
                        o.cmd);
                return 2;
        }
        char period[24];
        snprintf(period, sizeof(period), "%04d-%02d", y, m);
        PGconn *pg = NULL;
        roster_t *ro = NULL;
        policy_t *po = NULL;
        viols_t vs = {0};
        lines_t rows = {0};
        bool closed = false;
        if (!o.violations && !(pg = pgread_open(o.cmd)))
                return 1;
        if (pg && !month_closed(&o, pg, period, &closed)) {
                rc = 1;
                goto out;
        }
        if (o.corrections && !closed) {
                fprintf(stderr,
                        "%s: bulan %s belum dikunci (--close): belum ada "
                        "koreksi\n",
                        o.cmd, period);
                rc = 2;
                goto out;
        }
        if ((rc = load_reference(&o, pg, &ro, &po)) != 0)
                goto out;
        if (closed && !o.corrections) {
                /* a closed month's figures do not move */
                if (o.close) {
                        rc = close_month(&o, pg, po, period, &rows);
                        goto out;
                }
                rc = snapshot_lines(&o, pg, period, &rows);
        } else {
                int32_t lo = ptime_days_from_civil(y, m, 1);
                int32_t hi = m == 12 ? ptime_days_from_civil(y + 1, 1, 1)
                                     : ptime_days_from_civil(y, m + 1, 1);
                rc = o.violations ? viols_from_file(&o, &vs)
                                  : viols_from_pg(&o, pg, lo, hi, &vs);
                if (rc == 0)
                        rc = payroll_lines(&o, po, ro, &vs, y, m, &rows);
                if (rc == 0 && o.close) {
                        /* says what was locked; the sheet is one more
                         * `patuh payroll --month M` away */
                        rc = close_month(&o, pg, po, period, &rows);
                        goto out;
                }
                if (rc == 0 && o.corrections) {
                        rc = corrections(&o, pg, period, &rows);
                        goto out;
                }
        }
        if (rc == 0 && rows.n == 0) {
                say_empty(&o, "tidak ada pegawai untuk bulan dan unit itu");
        } else if (rc == 0) {
                char err[256];
                if (render_payroll(stdout, o.fmt, lines_rows(&rows), ro,
                                   closed || o.close, err, sizeof(err)) != 0) {
                        fprintf(stderr, "%s: %s\n", o.cmd, err);
                        rc = 1;
                }
                rc = rc ? rc : finish_output(&o);
        }
out:
        lines_free(&rows);
        viols_free(&vs);
        roster_free(ro);
        policy_free(po);
        PQfinish(pg);
        return rc;
}

/* ---- patuh discipline
 * ------------------------------------------------------------ */

static const char discipline_usage[] =
    "usage: patuh discipline --year YYYY [--unit U] [--employee E]\n"
    "                        [--format table|jsonl|csv]\n"
    "                        [--violations FILE --roster R --policy P]\n"
    "  The year's discipline per employee on the policy's ladders\n"
    "  (SPEC 4.4); the table puts the most serious cases first.\n";

int cli_discipline(int argc, char **argv)
{
        opts_t o = {.cmd = "patuh discipline"};
        const opt_spec_t spec[] = {{"--year", &o.year, NULL},
                                   {"--unit", &o.unit, NULL},
                                   {"--employee", &o.employee, NULL},
                                   {"--format", &o.format, NULL},
                                   {"--violations", &o.violations, NULL},
                                   {"--roster", &o.roster, NULL},
                                   {"--policy", &o.policy, NULL},
                                   {NULL, NULL, NULL}};
        int rc = parse_opts(&o, spec, argc, argv, discipline_usage);
        if (rc >= 0)
                return rc;
        int y;
        if (!o.year) {
                fprintf(stderr, "%s: --year YYYY is needed\n", o.cmd);
                return 2;
        }
        if (!parse_year(&o, o.year, &y))
                return 2;
        if (o.fmt == RENDER_HTML) {
                fprintf(stderr, "%s: --format is table, jsonl or csv\n", o.cmd);
                return 2;
        }
        PGconn *pg = NULL;
        roster_t *ro = NULL;
        policy_t *po = NULL;
        viols_t vs = {0};
        lines_t rows = {0};
        sanction_discipline_t *dr = NULL;
        if (!o.violations && !(pg = pgread_open(o.cmd)))
                return 1;
        if ((rc = load_reference(&o, pg, &ro, &po)) != 0)
                goto out;
        rc = o.violations
                 ? viols_from_file(&o, &vs)
                 : viols_from_pg(&o, pg, ptime_days_from_civil(y, 1, 1),
                                 ptime_days_from_civil(y + 1, 1, 1), &vs);
        if (rc)
                goto out;
        long n = sanction_discipline_year(po, ro, vs.v, vs.n, y, &dr);
        if (n < 0) {
                rc = 1;
                goto out;
        }
        if (o.fmt == RENDER_TABLE)
                sanction_discipline_by_severity(dr, (size_t)n);
        jw_t w;
        jw_init(&w);
        for (long i = 0; rc == 0 && i < n; i++) {
                if ((o.unit && strcmp(o.unit, dr[i].unit_id) != 0) ||
                    (o.employee && strcmp(o.employee, dr[i].employee_id) != 0))
                        continue;
                out_discipline(&w, po, y, &dr[i]);
                if (w.oom || !lines_add(&rows, w.buf, w.len))
                        rc = 1;
                jw_reset(&w);
        }
        jw_free(&w);
        if (rc == 0 && rows.n == 0) {
                say_empty(&o, "tidak ada pelanggaran aktif pada tahun itu");
        } else if (rc == 0) {
                char err[256];
                if (render_discipline(stdout, o.fmt, lines_rows(&rows), ro, err,
                                      sizeof(err)) != 0) {
                        fprintf(stderr, "%s: %s\n", o.cmd, err);
                        rc = 1;
                }
                rc = rc ? rc : finish_output(&o);
        }
out:
        free(dr);
        lines_free(&rows);
        viols_free(&vs);
        roster_free(ro);
        policy_free(po);
        PQfinish(pg);
        return rc;
}
