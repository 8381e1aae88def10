#include "cli_backtest.h"

#include "../rules/policy.h"
#include "../rules/ptime.h"
#include "../rules/roster.h"
#include "../rules/sanction.h"
#include "../rules/strmap.h"
#include "jw.h"
#include "output.h"
#include "replay.h"
#include "viols.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CMD "patuh backtest"

static const char backtest_usage[] =
    "usage: patuh backtest --policy A --policy B --roster R --calendar C\n"
    "                      --events E [--events E2 ...] [--month YYYY-MM]\n"
    "                      [--format table|jsonl|csv]\n"
    "  What a new TPP table would cost before it is signed: replays the\n"
    "  same input under policy A (in force) and policy B (proposed) and\n"
    "  prints per unit the active violations, the distinct violators and\n"
    "  the TPP deduction under A and under B, and B - A.  The deduction is\n"
    "  the payroll month (SPEC 4.4) per employee with each policy's own\n"
    "  monthly cap, summed over every month with an active violation, or\n"
    "  only over --month (violations dated outside it are not counted).\n"
    "  jsonl: one object per unit\n"
    "    {\"unit_id\",\"unit_name\",\"a\":{\"violations\",\"violators\","
    "\"deduction\"},\n"
    "     \"b\":{...},\"diff\":{...}}  (diff = b - a)\n"
    "  sorted by unit_id, then one city total line with \"unit_id\":null\n"
    "  and \"unit_name\":null.  csv (RFC 4180): a header row, one row per\n"
    "  unit, then the city total with an empty unit_id and the unit_name\n"
    "  \"Jumlah seluruh unit\".  The runs' one-line summaries go to stderr.\n"
    "  Exit status: 0 done, 2 bad arguments or a refused policy, roster or\n"
    "  calendar, 1 an I/O error.\n";

typedef enum bt_fmt { BT_TABLE, BT_JSONL, BT_CSV } bt_fmt_t;

typedef struct bt_opts {
        const char *policy[2]; /* A, B */
        int n_policy;
        const char *roster, *calendar;
        const char **events; /* owned array, borrowed strings */
        size_t n_events;
        bool has_month;
        int year, month;
        bt_fmt_t fmt;
} bt_opts_t;

/* The three figures of one unit under one policy. */
typedef struct bt_figures {
        long long violations; /* active violations in the period */
        long long violators;  /* distinct employees with one of them */
        int64_t deduction;    /* rupiah: Σ of the months' capped cuts */
} bt_figures_t;

typedef struct bt_unit {
        const char *unit_id;   /* interned in bt_report_t.index */
        const char *unit_name; /* the roster's, borrowed; NULL if absent */
        bt_figures_t fig[2];   /* under A, under B */
} bt_unit_t;

typedef struct bt_report {
        bt_unit_t *unit; /* owned, n used of cap */
        size_t n, cap;
        strmap_t *index; /* unit_id -> row of unit */
        int *months;     /* owned: months reported, year * 12 + month - 1 */
        size_t n_months, cap_months;
} bt_report_t;

/* ---- options ------------------------------------------------------------ */

/* "2026-04": four digits, a dash, two digits; a real month. */
static bool parse_month(const char *s, int *year, int *month)
{
        if (strlen(s) != 7 || s[4] != '-')
                return false;
        for (int i = 0; i < 7; i++)
                if (i != 4 && (s[i] < '0' || s[i] > '9'))
                        return false;
        char ys[5], ms[3], *end;
        memcpy(ys, s, 4);
        ys[4] = '\0';
        memcpy(ms, s + 5, 2);
        ms[2] = '\0';
        errno = 0;
        long y = strtol(ys, &end, 10);
        if (errno || *end)
                return false;
        long m = strtol(ms, &end, 10);
        if (errno || *end || y < 1970 || m < 1 || m > 12)
                return false;
        *year = (int)y;
        *month = (int)m;
        return true;
}

/* Returns -1 to go on, else the exit status. */
static int parse_opts(bt_opts_t *o, int argc, char **argv)
{
        const char *format = "table";
        if (!(o->events =
                  malloc((size_t)(argc > 0 ? argc : 1) * sizeof(*o->events)))) {
                fprintf(stderr, CMD ": out of memory\n");
                return 1;
        }
        for (int i = 0; i < argc; i++) {
                const char *a = argv[i];
                if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
                        fputs(backtest_usage, stdout);
                        return 0;
                }
                bool known =
                    strcmp(a, "--policy") == 0 || strcmp(a, "--roster") == 0 ||
                    strcmp(a, "--calendar") == 0 ||
                    strcmp(a, "--events") == 0 || strcmp(a, "--month") == 0 ||
                    strcmp(a, "--format") == 0;
                if (!known) {
                        fprintf(stderr, CMD ": unknown option %s\n%s", a,
                                backtest_usage);
                        return 2;
                }
                if (i + 1 >= argc) {
                        fprintf(stderr, CMD ": %s needs a value\n", a);
                        return 2;
                }
                const char *v = argv[++i];
                if (strcmp(a, "--policy") == 0) {
                        if (o->n_policy == 2) {
                                fprintf(stderr,
                                        CMD ": --policy is given exactly "
                                            "twice (A, then B), not a "
                                            "third time ('%s')\n",
                                        v);
                                return 2;
                        }
                        o->policy[o->n_policy++] = v;
                } else if (strcmp(a, "--roster") == 0) {
                        o->roster = v;
                } else if (strcmp(a, "--calendar") == 0) {
                        o->calendar = v;
                } else if (strcmp(a, "--events") == 0) {
                        o->events[o->n_events++] = v;
                } else if (strcmp(a, "--month") == 0) {
                        if (!parse_month(v, &o->year, &o->month)) {
                                fprintf(stderr,
                                        CMD ": --month must be YYYY-MM, not "
                                            "'%s'\n",
                                        v);
                                return 2;
                        }
                        o->has_month = true;
                } else {
                        format = v;
                }
        }
        if (strcmp(format, "table") == 0) {
                o->fmt = BT_TABLE;
        } else if (strcmp(format, "jsonl") == 0) {
                o->fmt = BT_JSONL;
        } else if (strcmp(format, "csv") == 0) {
                o->fmt = BT_CSV;
        } else {
                fprintf(stderr,
                        CMD ": --format must be table, jsonl or csv, not "
                            "'%s'\n",
                        format);
                return 2;
        }
        if (o->n_policy < 2) {
                fprintf(stderr,
                        CMD ": --policy is needed twice (A in force, then B "
                            "proposed); %d given\n",
                        o->n_policy);
                return 2;
        }
        const char *missing = !o->roster     ? "--roster"
                              : !o->calendar ? "--calendar"
                              : !o->n_events ? "--events"
                                             : NULL;
        if (missing) {
                fprintf(stderr, CMD ": missing %s\n", missing);
                return 2;
        }
        return -1;
}

/* ---- the report's rows --------------------------------------------------- */

static void report_free(bt_report_t *r)
{
        free(r->unit);
        strmap_free(r->index);
        free(r->months);
}

/* The row of a unit, added (with its roster name) when new; -1 when out
 * of memory. */
static long unit_row(bt_report_t *r, const char *unit_id, const char *name)
{
        bool added = false;
        const char *id = strmap_intern(r->index, unit_id, strlen(unit_id),
                                       (int32_t)r->n, &added);
        if (!id)
                return -1;
        if (!added)
                return strmap_get(r->index, unit_id, strlen(unit_id));
        if (r->n == r->cap) {
                size_t cap = r->cap ? r->cap * 2 : 32;
                bt_unit_t *u = realloc(r->unit, cap * sizeof(*u));
                if (!u)
                        return -1;
                r->unit = u;
                r->cap = cap;
        }
        bt_unit_t *u = &r->unit[r->n];
        memset(u, 0, sizeof(*u));
        u->unit_id = id;
        u->unit_name = name && *name ? name : NULL;
        return (long)r->n++;
}

static bool add_month(bt_report_t *r, int ym)
{
        for (size_t i = 0; i < r->n_months; i++)
                if (r->months[i] == ym)
                        return true;
        if (r->n_months == r->cap_months) {
                size_t cap = r->cap_months ? r->cap_months * 2 : 8;
                int *m = realloc(r->months, cap * sizeof(*m));
                if (!m)
                        return false;
                r->months = m;
                r->cap_months = cap;
        }
        r->months[r->n_months++] = ym;
        return true;
}

static int int_cmp(const void *a, const void *b)
{
        int x = *(const int *)a, y = *(const int *)b;
        return (x > y) - (x < y);
}

/* Every month in which vs has an active violation. */
static bool collect_months(bt_report_t *r, const viols_t *vs)
{
        for (size_t i = 0; i < vs->n; i++) {
                int y, m, d;
                if (!vs->v[i].active)
                        continue;
                ptime_civil_from_days(vs->v[i].day, &y, &m, &d);
                if (!add_month(r, y * 12 + m - 1))
                        return false;
        }
        qsort(r->months, r->n_months, sizeof(*r->months), int_cmp);
        return true;
}

/*
 * The figures of one run: the payroll rows of each month reported, per
 * unit.  An employee counts once as a violator however many months hold
 * his violations.  Returns false when out of memory.
 */
static bool tally(bt_report_t *r, int which, const policy_t *p,
                  const roster_t *ro, const viols_t *vs)
{
        strmap_t *seen = strmap_new(); /* violators met so far */
        bool ok = seen != NULL;
        for (size_t k = 0; ok && k < r->n_months; k++) {
                sanction_payroll_t *rows;
                int y = r->months[k] / 12, m = r->months[k] % 12 + 1;
                long n =
                    sanction_payroll_month(p, ro, vs->v, vs->n, y, m, &rows);
                if (n < 0) {
                        ok = false;
                        break;
                }
                for (long i = 0; ok && i < n; i++) {
                        const sanction_payroll_t *row = &rows[i];
                        long nv = 0;
                        for (int kind = 0; kind < VK__COUNT; kind++)
                                nv += row->by_kind[kind];
                        if (nv == 0 && row->deduction == 0)
                                continue;
                        long u = unit_row(
                            r, row->unit_id,
                            row->emp >= 0 ? ro->emp[row->emp].unit_name : NULL);
                        if (u < 0) {
                                ok = false;
                                break;
                        }
                        bt_figures_t *f = &r->unit[u].fig[which];
                        f->violations += nv;
                        f->deduction += row->deduction;
                        bool added = false;
                        if (nv > 0 && strmap_put(seen, row->employee_id,
                                                 strlen(row->employee_id), 0,
                                                 &added) == INT32_MIN)
                                ok = false;
                        f->violators += added;
                }
                free(rows);
        }
        strmap_free(seen);
        return ok;
}

static int unit_cmp(const void *a, const void *b)
{
        const bt_unit_t *x = a, *y = b;
        return strcmp(x->unit_id, y->unit_id);
}

/* ---- the two runs -------------------------------------------------------- */

/* Removes a run's output directory: replay writes plain files only. */
static int remove_dir(const char *dir)
{
        DIR *d = opendir(dir);
        if (!d)
                return -1;
        int rc = 0;
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                        continue;
                if (unlinkat(dirfd(d), e->d_name, 0) != 0)
                        rc = -1;
        }
        closedir(d);
        if (rmdir(dir) != 0)
                rc = -1;
        return rc;
}

/* Replays the input under one policy into a fresh temporary directory of
 * its own and reads back its final violations. */
static int run_one(const bt_opts_t *o, int which, const policy_t *p,
                   viols_t *vs)
{
        const char *tmp = getenv("TMPDIR");
        char dir[4096], path[4200], err[1024];
        if (!tmp || !*tmp)
                tmp = "/tmp";
        int len = snprintf(dir, sizeof(dir), "%s/patuh-backtest-XXXXXX", tmp);
        if (len < 0 || (size_t)len >= sizeof(dir)) {
                fprintf(stderr, CMD ": TMPDIR is too long\n");
                return 1;
        }
        if (!mkdtemp(dir)) {
                fprintf(stderr,
                        CMD ": cannot create a temporary directory in %s: "
                            "%s\n",
                        tmp, strerror(errno));
                return 1;
        }
        replay_opts_t ro = {.policy = o->policy[which],
                            .roster = o->roster,
                            .calendar = o->calendar,
                            .events = o->events,
                            .n_events = o->n_events,
                            .out_dir = dir,
                            .table = NULL};
        replay_stats_t st;
        int rc = replay_run(&ro, &st, err, sizeof(err));
        if (rc != 0) {
                fprintf(stderr, CMD ": %s\n", err);
        } else {
                char summary[512];
                replay_format_summary(&st, summary, sizeof(summary));
                fprintf(stderr, CMD ": %c %s: %s\n", 'A' + which, p->label,
                        summary);
                snprintf(path, sizeof(path), "%s/violations.jsonl", dir);
                /* our own run's file: unreadable is an I/O failure */
                if (viols_read_file(vs, path, err, sizeof(err)) != 0) {
                        fprintf(stderr, CMD ": %s\n", err);
                        rc = 1;
                }
        }
        if (remove_dir(dir) != 0) {
                fprintf(stderr, CMD ": cannot remove %s: %s\n", dir,
                        strerror(errno));
                rc = rc ? rc : 1;
        }
        return rc;
}

/* ---- output ------------------------------------------------------------- */

static bt_figures_t fig_diff(const bt_figures_t *a, const bt_figures_t *b)
{
        return (bt_figures_t){b->violations - a->violations,
                              b->violators - a->violators,
                              b->deduction - a->deduction};
}

static void fig_add(bt_figures_t *sum, const bt_figures_t *f)
{
        sum->violations += f->violations;
        sum->violators += f->violators;
        sum->deduction += f->deduction;
}

/* "1.234.567", with a sign for differences ("+45.370", "-1.000"). */
static void amount_text(int64_t v, bool sign, char *buf, size_t n)
{
        char t[32]; /* 19 digits and 6 dots at most */
        out_thousands(v < 0 ? -v : v, t, sizeof(t));
        snprintf(buf, n, "%s%s", v < 0 ? "-" : sign && v > 0 ? "+" : "", t);
}

static void count_text(long long v, bool sign, char *buf, size_t n)
{
        snprintf(buf, n, "%s%lld", sign && v > 0 ? "+" : "", v);
}

/* s padded (or cut) to width characters, counting UTF-8 sequences as one
 * and never cutting one in the middle. */
static void put_cell(FILE *f, const char *s, int width)
{
        int chars = 0;
        const char *p = s;
        while (*p && chars < width) {
                p++;
                while (((unsigned char)*p & 0xC0) == 0x80)
                        p++;
                chars++;
        }
        fwrite(s, 1, (size_t)(p - s), f);
        for (; chars < width; chars++)
                fputc(' ', f);
}

static void table_row(FILE *f, const char *id, const char *name,
                      const bt_figures_t *fa, const bt_figures_t *fb)
{
        bt_figures_t d = fig_diff(fa, fb);
        char da[40], db[40], dd[40], c1[24], c2[24];
        amount_text(fa->deduction, false, da, sizeof(da));
        amount_text(fb->deduction, false, db, sizeof(db));
        amount_text(d.deduction, true, dd, sizeof(dd));
        count_text(d.violations, true, c1, sizeof(c1));
        count_text(d.violators, true, c2, sizeof(c2));
        put_cell(f, id, 22);
        fputc(' ', f);
        put_cell(f, name ? name : "-", 36);
        fprintf(f, " %13lld %11lld %15s %13lld %11lld %15s %19s %17s %21s\n",
                fa->violations, fa->violators, da, fb->violations,
                fb->violators, db, c1, c2, dd);
}

/* The policy's monthly cap as people write it ("6 %", "2,5 %"). */
static void cap_text(const policy_t *p, char *buf, size_t n)
{
        jw_format_fixed(p->cap_pct_u, 6, buf, n);
        for (char *c = buf; *c; c++)
                if (*c == '.')
                        *c = ',';
}

static void print_table(FILE *f, const bt_opts_t *o, const bt_report_t *r,
                        policy_t *const p[2], const bt_figures_t *city)
{
        char cap[2][32];
        cap_text(p[0], cap[0], sizeof(cap[0]));
        cap_text(p[1], cap[1], sizeof(cap[1]));
        fprintf(f,
                "Uji kebijakan TPP (backtest): data yang sama di bawah dua "
                "kebijakan\n"
                "Kebijakan A: %s (%s), batas potongan bulanan %s %%\n"
                "Kebijakan B: %s (%s), batas potongan bulanan %s %%\n",
                p[0]->label, o->policy[0], cap[0], p[1]->label, o->policy[1],
                cap[1]);
        if (o->has_month) {
                fprintf(f, "Periode: %04d-%02d\n", o->year, o->month);
        } else {
                fputs("Periode: setiap bulan dengan pelanggaran aktif:", f);
                for (size_t i = 0; i < r->n_months; i++)
                        fprintf(f, "%s %04d-%02d", i ? "," : "",
                                r->months[i] / 12, r->months[i] % 12 + 1);
                fputs(r->n_months ? "\n" : " tidak ada\n", f);
        }
        fputs("Potongan: per pegawai per bulan dengan batas bulanan "
              "kebijakannya; Selisih = B - A\n\n",
              f);
        put_cell(f, "Unit", 22);
        fputc(' ', f);
        put_cell(f, "Nama unit", 36);
        fprintf(f, " %13s %11s %15s %13s %11s %15s %19s %17s %21s\n",
                "Pelanggaran A", "Pelanggar A", "Potongan A (Rp)",
                "Pelanggaran B", "Pelanggar B", "Potongan B (Rp)",
                "Selisih pelanggaran", "Selisih pelanggar",
                "Selisih potongan (Rp)");
        for (size_t i = 0; i < r->n; i++)
                table_row(f, r->unit[i].unit_id, r->unit[i].unit_name,
                          &r->unit[i].fig[0], &r->unit[i].fig[1]);
        table_row(f, "JUMLAH", "Seluruh unit (kota)", &city[0], &city[1]);
}

static void json_figures(jw_t *w, const char *key, const bt_figures_t *f)
{
        jw_key(w, key);
        jw_obj_begin(w);
        jw_key(w, "violations");
        jw_int(w, f->violations);
        jw_key(w, "violators");
        jw_int(w, f->violators);
        jw_key(w, "deduction");
        jw_int(w, f->deduction);
        jw_obj_end(w);
}

/* One jsonl line; unit_id NULL for the city total. */
static bool json_row(FILE *f, jw_t *w, const char *id, const char *name,
                     const bt_figures_t *fa, const bt_figures_t *fb)
{
        bt_figures_t d = fig_diff(fa, fb);
        jw_reset(w);
        jw_obj_begin(w);
        jw_key(w, "unit_id");
        jw_str(w, id);
        jw_key(w, "unit_name");
        jw_str(w, name);
        json_figures(w, "a", fa);
        json_figures(w, "b", fb);
        json_figures(w, "diff", &d);
        jw_obj_end(w);
        if (w->oom)
                return false;
        fwrite(w->buf, 1, w->len, f);
        fputc('\n', f);
        return true;
}

/* An RFC 4180 field: quoted when it holds a comma, a quote or a line
 * end. */
static void csv_field(FILE *f, const char *s)
{
        if (!s[strcspn(s, ",\"\r\n")]) {
                fputs(s, f);
                return;
        }
        fputc('"', f);
        for (; *s; s++) {
                if (*s == '"')
                        fputc('"', f);
                fputc(*s, f);
        }
        fputc('"', f);
}

static void csv_row(FILE *f, const char *id, const char *name,
                    const bt_figures_t *fa, const bt_figures_t *fb)
{
        bt_figures_t d = fig_diff(fa, fb);
        csv_field(f, id);
        fputc(',', f);
        csv_field(f, name ? name : "");
        const bt_figures_t *figs[3] = {fa, fb, &d};
        for (int i = 0; i < 3; i++)
                fprintf(f, ",%lld,%lld,%lld", figs[i]->violations,
                        figs[i]->violators, (long long)figs[i]->deduction);
        fputs("\r\n", f);
}

static int print_report(const bt_opts_t *o, const bt_report_t *r,
                        policy_t *const p[2])
{
        bt_figures_t city[2] = {{0, 0, 0}, {0, 0, 0}};
        for (size_t i = 0; i < r->n; i++) {
                fig_add(&city[0], &r->unit[i].fig[0]);
                fig_add(&city[1], &r->unit[i].fig[1]);
        }
        FILE *f = stdout;
        bool ok = true;
        if (o->fmt == BT_TABLE) {
                print_table(f, o, r, p, city);
        } else if (o->fmt == BT_CSV) {
                fputs("unit_id,unit_name,violations_a,violators_a,"
                      "deduction_a,violations_b,violators_b,deduction_b,"
                      "violations_diff,violators_diff,deduction_diff\r\n",
                      f);
                for (size_t i = 0; i < r->n; i++)
                        csv_row(f, r->unit[i].unit_id, r->unit[i].unit_name,
                                &r->unit[i].fig[0], &r->unit[i].fig[1]);
                csv_row(f, "", "Jumlah seluruh unit", &city[0], &city[1]);
        } else {
                jw_t w;
                jw_init(&w);
                for (size_t i = 0; ok && i < r->n; i++)
                        ok = json_row(f, &w, r->unit[i].unit_id,
                                      r->unit[i].unit_name, &r->unit[i].fig[0],
                                      &r->unit[i].fig[1]);
                ok = ok && json_row(f, &w, NULL, NULL, &city[0], &city[1]);
                jw_free(&w);
        }
        if (!ok) {
                fprintf(stderr, CMD ": out of memory\n");
                return 1;
        }
        if (fflush(f) != 0 || ferror(f)) {
                fprintf(stderr, CMD ": write error on standard output\n");
                return 1;
        }
        return 0;
}

/* ---- the command --------------------------------------------------------- */

int cli_backtest(int argc, char **argv)
{
        bt_opts_t o = {0};
        bt_report_t r = {0};
        policy_t *p[2] = {NULL, NULL};
        roster_t *ro = NULL;
        viols_t vs[2] = {{0}, {0}};
        char err[1024];
        int rc = parse_opts(&o, argc, argv);
        if (rc >= 0)
                goto out;
        /* the same loaders replay uses, so a refusal reads the same; done
         * first so that a bad B is said before A is replayed */
        rc = 2;
        if (!(p[0] = policy_load(o.policy[0], err, sizeof(err))) ||
            !(p[1] = policy_load(o.policy[1], err, sizeof(err))) ||
            !(ro = roster_load(o.roster, err, sizeof(err)))) {
                fprintf(stderr, CMD ": %s\n", err);
                goto out;
        }
        for (int which = 0; which < 2; which++)
                if ((rc = run_one(&o, which, p[which], &vs[which])) != 0)
                        goto out;
        rc = 1;
        if (!(r.index = strmap_new()))
                goto out_oom;
        /* every unit of the roster has a row, zeros included */
        for (size_t i = 0; i < ro->n; i++)
                if (unit_row(&r, ro->emp[i].unit_id, ro->emp[i].unit_name) < 0)
                        goto out_oom;
        if (o.has_month) {
                if (!add_month(&r, o.year * 12 + o.month - 1))
                        goto out_oom;
        } else if (!collect_months(&r, &vs[0]) || !collect_months(&r, &vs[1])) {
                goto out_oom;
        }
        /* a month without a violation under one policy adds nothing to
         * it, so both runs can go over the union of their months */
        if (!tally(&r, 0, p[0], ro, &vs[0]) || !tally(&r, 1, p[1], ro, &vs[1]))
                goto out_oom;
        qsort(r.unit, r.n, sizeof(*r.unit), unit_cmp);
        rc = print_report(&o, &r, p);
        goto out;
out_oom:
        fprintf(stderr, CMD ": out of memory\n");
out:
        report_free(&r);
        viols_free(&vs[0]);
        viols_free(&vs[1]);
        roster_free(ro);
        policy_free(p[0]);
        policy_free(p[1]);
        free(o.events);
        return rc;
}
