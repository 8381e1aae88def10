#include "render.h"

#include "../rules/ptime.h"
#include "jw.h"
#include "output.h"
#include "report.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int render_fmt_from_name(const char *name)
{
        static const char *const names[] = {"table", "jsonl", "csv", "html"};
        for (int i = 0; i < 4; i++)
                if (strcmp(name, names[i]) == 0)
                        return i;
        return -1;
}

static int finish(FILE *f, char *errstr, size_t errstr_size)
{
        if (ferror(f) || fflush(f) != 0) {
                snprintf(errstr, errstr_size, "write error");
                return -1;
        }
        return 0;
}

/* jsonl: the SPEC rows exactly as given. */
static int write_lines(FILE *f, render_rows_t rows, char *errstr,
                       size_t errstr_size)
{
        for (size_t i = 0; i < rows.n; i++)
                if (fputs(rows.lines[i], f) == EOF || fputc('\n', f) == EOF)
                        break;
        return finish(f, errstr, errstr_size);
}

/* ---- dates and numbers as Indonesians write them ------------------------ */

/* The day and month names have one home, output.c (alerts say them too). */
void render_format_date(int32_t day, char *buf, size_t n)
{
        out_date_text(day, buf, n);
}

/* "2026-04" -> year and month; strict, as the rows carry it. */
static bool parse_period(const char *s, int *y, int *m)
{
        if (strlen(s) != 7 || s[4] != '-')
                return false;
        int v[2] = {0, 0};
        for (int i = 0; i < 7; i++) {
                if (i == 4)
                        continue;
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v[i > 4] = v[i > 4] * 10 + (s[i] - '0');
        }
        if (v[1] < 1 || v[1] > 12)
                return false;
        *y = v[0];
        *m = v[1];
        return true;
}

bool render_format_period(const char *period, char *buf, size_t n)
{
        int y, m;
        if (!parse_period(period, &y, &m))
                return false;
        snprintf(buf, n, "%s %d", out_month_name(m), y);
        return true;
}

/* An exact decimal held in millionths ("1.25"), with a decimal comma for
 * people (comma) or a dot for machines (CSV).  The rows' percentages are
 * exact decimal sums (SPEC §4.4); the millionths keep them exact where a
 * double printed with %g would show binary noise or lose digits. */
static void fmt_micro(int64_t micro, bool comma, char *buf, size_t n)
{
        jw_format_fixed(micro, 6, buf, n);
        if (comma)
                for (char *c = buf; *c; c++)
                        if (*c == '.')
                                *c = ',';
}

/* A rate (millionths of 1) as a percentage with one decimal: "66,7%".
 * Rounded half-up on integers so that the same rate always prints the same
 * way (0.0625 is 6,3%, where %.1f on 6.25 might say 6,2). */
static void fmt_rate(int64_t rate_u, char *buf, size_t n)
{
        int64_t t = rate_u > 0 ? (rate_u + 500) / 1000 : 0;
        snprintf(buf, n, "%lld,%lld%%", (long long)(t / 10),
                 (long long)(t % 10));
}

/* compliant / expected the same way, for totals the rows do not carry. */
static int64_t rate_micro(int64_t num, int64_t den)
{
        if (den <= 0)
                return 0;
        /* half-up to 4 decimals first, as the rows' compliance_rate is */
        int64_t r4 = (num * 20000 + den) / (2 * den);
        return r4 * 100;
}

static void fmt_int(int64_t v, char *buf, size_t n)
{
        snprintf(buf, n, "%lld", (long long)v);
}

/* ---- reading the rows --------------------------------------------------- */

/* One row being read: the first bad field is reported, later ones are not
 * (the message names one thing to fix). */
typedef struct rowp {
        json_t *j;        /* the row's object */
        size_t row;       /* 1-based, for the message */
        const char *what; /* "digest" ... */
        char *errstr;
        size_t errstr_size;
        bool bad;
} rowp_t;

static void rowp_fail(rowp_t *p, const char *key, const char *want)
{
        if (p->bad)
                return;
        p->bad = true;
        snprintf(p->errstr, p->errstr_size,
                 "row %zu: not a %s row (SPEC 4.4): \"%s\" %s", p->row, p->what,
                 key, want);
}

/* A string member; "" (and the row marked bad) when it is not one, so
 * that callers can go on reading without NULL checks. */
static const char *rowp_str(rowp_t *p, const char *key)
{
        const char *s = json_string_value(json_object_get(p->j, key));
        if (s)
                return s;
        rowp_fail(p, key, "must be a string");
        return "";
}

/* A string or null (absent reads as null). */
static const char *rowp_str_or_null(rowp_t *p, const char *key)
{
        json_t *v = json_object_get(p->j, key);
        if (!v || json_is_null(v))
                return NULL;
        if (json_is_string(v))
                return json_string_value(v);
        rowp_fail(p, key, "must be a string or null");
        return NULL;
}

static int64_t rowp_int(rowp_t *p, const char *key)
{
        json_t *v = json_object_get(p->j, key);
        if (json_is_integer(v))
                return (int64_t)json_integer_value(v);
        rowp_fail(p, key, "must be an integer");
        return 0;
}

/* A decimal number in millionths (percentages, rates). */
static int64_t rowp_micro(rowp_t *p, const char *key)
{
        json_t *v = json_object_get(p->j, key);
        if (json_is_number(v) && fabs(json_number_value(v)) < 1e12)
                return llround(json_number_value(v) * 1e6);
        rowp_fail(p, key, "must be a number");
        return 0;
}

/* "violations": all seven kinds as integers. */
static void rowp_kinds(rowp_t *p, int64_t kinds[VK__COUNT], int64_t *sum)
{
        json_t *o = json_object_get(p->j, "violations");
        *sum = 0;
        if (!json_is_object(o)) {
                rowp_fail(p, "violations", "must be an object of the kinds");
                return;
        }
        for (int k = 0; k < VK__COUNT; k++) {
                json_t *v = json_object_get(o, vkind_name((vkind_t)k));
                if (!json_is_integer(v)) {
                        rowp_fail(p, "violations",
                                  "must hold every kind as an integer");
                        return;
                }
                kinds[k] = (int64_t)json_integer_value(v);
                *sum += kinds[k];
        }
}

/* Every row struct below starts with the row's JSON object, so that one
 * reader and one release serve all three reports. */
typedef bool (*row_read_fn)(rowp_t *p, void *row);

static void rows_free(void *arr, size_t size, size_t n)
{
        for (size_t i = 0; arr && i < n; i++)
                json_decref(*(json_t **)((char *)arr + i * size));
        free(arr);
}

/* Reads and checks every row before anything is written, so that a bad
 * row never leaves half a report behind.  NULL (errstr set) on failure. */
static void *rows_read(render_rows_t rows, size_t size, const char *what,
                       row_read_fn read_row, char *errstr, size_t errstr_size)
{
        void *arr = calloc(rows.n ? rows.n : 1, size);
        if (!arr) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        for (size_t i = 0; i < rows.n; i++) {
                json_error_t e;
                json_t **slot = (json_t **)((char *)arr + i * size);
                rowp_t p = {.row = i + 1,
                            .what = what,
                            .errstr = errstr,
                            .errstr_size = errstr_size};
                p.j = json_loads(rows.lines[i] ? rows.lines[i] : "",
                                 JSON_DECODE_ANY, &e);
                *slot = p.j;
                if (!p.j) {
                        snprintf(errstr, errstr_size,
                                 "row %zu: not JSON (%s at column %d)", i + 1,
                                 e.text, e.column);
                        goto fail;
                }
                if (!json_is_object(p.j)) {
                        snprintf(errstr, errstr_size,
                                 "row %zu: not a %s row (SPEC 4.4): not a "
                                 "JSON object",
                                 i + 1, what);
                        goto fail;
                }
                if (!read_row(&p, slot) || p.bad) {
                        rowp_fail(&p, "?", "is wrong");
                        goto fail;
                }
                /* read_row() fills the rest of the struct; the object it keeps
                 * is the one loaded here */
                *slot = p.j;
        }
        return arr;
fail:
        rows_free(arr, size, rows.n);
        return NULL;
}

/* ---- the roster's share: names of people and units ---------------------- */

static const roster_emp_t *find_emp(const roster_t *r, const char *id)
{
        if (!r || !id)
                return NULL;
        int32_t i = roster_find(r, id, strlen(id));
        return i >= 0 ? &r->emp[i] : NULL;
}

static const char *emp_name(const roster_t *r, const char *id)
{
        const roster_emp_t *e = find_emp(r, id);
        return e && *e->name ? e->name : NULL;
}

/* A unit's name: the roster's (the rows of payroll carry none, a digest
 * row may carry null), else its id. */
static const char *unit_name(const roster_t *r, const char *unit_id,
                             const char *given)
{
        if (given && *given)
                return given;
        for (size_t i = 0; r && i < r->n; i++)
                if (strcmp(r->emp[i].unit_id, unit_id) == 0 &&
                    *r->emp[i].unit_name)
                        return r->emp[i].unit_name;
        return unit_id;
}

/* The head of a unit, who signs its payroll sheet: the head_id most of
 * its active employees name (a unit's head names none, or a higher one).
 * NULL when no employee names one. */
static const char *unit_head(const roster_t *r, const char *unit_id)
{
        enum { MAX_HEADS = 8 };
        const char *id[MAX_HEADS];
        size_t count[MAX_HEADS], n = 0;
        for (size_t i = 0; r && i < r->n; i++) {
                const roster_emp_t *e = &r->emp[i];
                if (!e->active || !e->head_id ||
                    strcmp(e->unit_id, unit_id) != 0)
                        continue;
                size_t k = 0;
                while (k < n && strcmp(id[k], e->head_id) != 0)
                        k++;
                if (k == n && n < MAX_HEADS) {
                        id[n] = e->head_id;
                        count[n++] = 0;
                }
                if (k < n)
                        count[k]++;
        }
        size_t best = 0;
        for (size_t k = 1; k < n; k++)
                if (count[k] > count[best])
                        best = k;
        return n ? id[best] : NULL;
}

/* ---- text tables -------------------------------------------------------- */

/* Display columns of UTF-8 text (continuation bytes do not count). */
static int text_cols(const char *s)
{
        int cols = 0;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++)
                cols += (*p & 0xC0) != 0x80;
        return cols;
}

/* Writes s in width display columns: cut with "…" when longer, padded on
 * the left for numbers (right) or on the right for text, then a space
 * between columns.  The last column of a line gets neither the right
 * padding nor the space, so that no line ends in blanks; width <= 0 writes
 * it as is. */
static void tcell(FILE *f, const char *s, int width, bool right, bool last)
{
        if (!s)
                s = "";
        if (width <= 0) {
                fputs(s, f);
                return;
        }
        int cols = text_cols(s);
        if (cols > width) {
                int kept = 0;
                const char *p = s;
                for (; *p; p++) {
                        if ((*p & 0xC0) != 0x80 && kept++ == width - 1)
                                break;
                }
                fwrite(s, 1, (size_t)(p - s), f);
                fputs("…", f);
                cols = width;
        } else {
                for (int i = cols; right && i < width; i++)
                        fputc(' ', f);
                fputs(s, f);
        }
        if (last)
                return;
        for (int i = cols; !right && i < width; i++)
                fputc(' ', f);
        fputc(' ', f);
}

/* A table column: two header lines (top may be ""), a width in display
 * columns (0 for a last column of any length) and the alignment. */
typedef struct tcol {
        const char *top, *bottom;
        int width;
        bool right;
} tcol_t;

static int tcols_width(const tcol_t *c, size_t n)
{
        int w = 0;
        for (size_t i = 0; i < n; i++)
                w += c[i].width > 0 ? c[i].width + 1 : 24;
        return w - 1;
}

static void trule(FILE *f, const tcol_t *c, size_t n)
{
        for (int i = tcols_width(c, n); i > 0; i--)
                fputc('-', f);
        fputc('\n', f);
}

static void trow(FILE *f, const tcol_t *c, size_t n, const char *const *v)
{
        /* empty cells at the end would only leave blanks */
        while (n > 1 && (!v[n - 1] || !*v[n - 1]))
                n--;
        for (size_t i = 0; i < n; i++)
                tcell(f, v[i], c[i].width, c[i].right, i + 1 == n);
        fputc('\n', f);
}

/* The header: one or two lines of labels, then a rule. */
static void theader(FILE *f, const tcol_t *c, size_t n)
{
        const char *top[16], *bottom[16];
        bool two = false;
        for (size_t i = 0; i < n && i < 16; i++) {
                top[i] = c[i].top;
                bottom[i] = c[i].bottom;
                two |= *c[i].top != '\0';
        }
        if (two)
                trow(f, c, n, top);
        trow(f, c, n, bottom);
        trule(f, c, n);
}

/* ---- CSV (RFC 4180) ----------------------------------------------------- */

/* One field: quoted when it holds a comma, a quote or a line break, quotes
 * doubled; NULL is an empty field. */
static void csv_field(FILE *f, const char *s)
{
        if (!s)
                return;
        if (!strpbrk(s, ",\"\r\n")) {
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

/* An array of strings as one field, joined by spaces (NIPs hold none),
 * quoted as a whole when any of them needs it. */
static void csv_joined(FILE *f, const json_t *arr)
{
        size_t n = json_array_size(arr);
        bool quote = false;
        for (size_t i = 0; i < n; i++)
                quote |= strpbrk(json_string_value(json_array_get(arr, i)),
                                 ",\"\r\n") != NULL;
        if (quote)
                fputc('"', f);
        for (size_t i = 0; i < n; i++) {
                if (i)
                        fputc(' ', f);
                for (const char *c = json_string_value(json_array_get(arr, i));
                     *c; c++) {
                        if (*c == '"')
                                fputc('"', f);
                        fputc(*c, f);
                }
        }
        if (quote)
                fputc('"', f);
}

static void csv_int(FILE *f, int64_t v)
{
        fprintf(f, "%lld", (long long)v);
}

static void csv_micro(FILE *f, int64_t micro)
{
        char b[48];
        fmt_micro(micro, false, b, sizeof(b));
        fputs(b, f);
}

/* ---- HTML --------------------------------------------------------------- */

/* Text and attribute values alike: the five characters HTML gives a
 * meaning, so that a name can never become markup. */
static void h(FILE *f, const char *s)
{
        for (; s && *s; s++) {
                switch (*s) {
                case '&':
                        fputs("&amp;", f);
                        break;
                case '<':
                        fputs("&lt;", f);
                        break;
                case '>':
                        fputs("&gt;", f);
                        break;
                case '"':
                        fputs("&quot;", f);
                        break;
                case '\'':
                        fputs("&#39;", f);
                        break;
                default:
                        fputc(*s, f);
                }
        }
}

/* The page's only style: system fonts (no download), fluid width with
 * wide tables scrolling inside their wrapper on a phone, A4 when printed
 * with a unit's block kept on one page. */
static const char html_css[] =
    "*{box-sizing:border-box}"
    "html{-webkit-text-size-adjust:100%;text-size-adjust:100%}"
    "body{margin:0;color:#1a1a1a;background:#fff;line-height:1.45;"
    "font:16px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,"
    "\"Noto Sans\",\"Liberation Sans\",Arial,sans-serif}"
    "main{max-width:76rem;margin:0 auto;padding:1rem}"
    "h1{font-size:1.35rem;margin:0 0 .25rem;color:#123a5c}"
    "h2{font-size:1.15rem;margin:1.75rem 0 .5rem;padding-bottom:.2rem;"
    "border-bottom:2px solid #1f5f99;color:#123a5c}"
    "h3{font-size:1rem;margin:1rem 0 .35rem}"
    "h4{font-size:.95rem;margin:0 0 .2rem}"
    ".meta{color:#4a4a4a;font-size:.9rem;margin:.15rem 0}"
    ".note{font-size:.85rem;color:#4a4a4a}"
    ".locked{display:inline-block;font-weight:600;color:#7a4b00;"
    "background:#fff4d6;border:1px solid #e5c46b;padding:.2rem .5rem;"
    "border-radius:4px}"
    ".scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;"
    "margin:.5rem 0 1rem;max-width:100%}"
    "table{border-collapse:collapse;font-size:.875rem;width:100%}"
    "table.units{font-size:.8125rem}"
    "table.units th,table.units td{padding:.25rem .35rem}"
    "th,td{border:1px solid #c9d1d9;padding:.3rem .45rem;text-align:left;"
    "vertical-align:top}"
    "thead th{background:#eaf1f8;font-weight:600}"
    ".n{text-align:right;font-variant-numeric:tabular-nums}"
    "td.n{white-space:nowrap}td.z{color:#9aa3ad}"
    "table.units th:first-child,table.units td:first-child{position:sticky;"
    "left:0;background:#fff;min-width:10rem;z-index:1}"
    "table.units thead th:first-child{background:#eaf1f8}"
    "table.units tfoot td:first-child{background:#f3f5f7}"
    ".nip{font-variant-numeric:tabular-nums;white-space:nowrap}"
    "tfoot td{font-weight:700;background:#f3f5f7}"
    "td small{color:#5a5a5a;white-space:nowrap}"
    "svg.chart{display:block;width:100%;max-width:40rem;margin:.5rem 0 1rem}"
    "svg.chart text{font-size:14px;fill:#1a1a1a}"
    "svg.chart text.pct{font-weight:600}"
    ".blocks{display:grid;grid-template-columns:repeat(auto-fill,"
    "minmax(16rem,1fr));gap:.75rem}"
    ".unit-block{border:1px solid #d6dde4;border-radius:6px;"
    "padding:.5rem .75rem;break-inside:avoid;page-break-inside:avoid}"
    ".unit-block ul{margin:.2rem 0 0;padding-left:1.1rem}"
    ".signatures{display:flex;flex-wrap:wrap;justify-content:space-between;"
    "gap:1.5rem;margin-top:1.5rem;break-inside:avoid;"
    "page-break-inside:avoid}"
    ".sign{flex:1 1 14rem;max-width:20rem;display:flex;"
    "flex-direction:column}"
    ".sign p{margin:0}"
    ".sign .space{flex:1 0 4.5rem}"
    ".sign .who{font-weight:700;text-decoration:underline}"
    ".sign .line{display:inline-block;min-width:12rem;"
    "border-bottom:1px solid #1a1a1a}"
    "footer{margin-top:2rem;font-size:.8rem;color:#5a5a5a}"
    "@media (max-width:40rem){main{padding:.75rem}"
    "table{font-size:.8rem}th,td{padding:.25rem .35rem}"
    ".no{display:none}td.nip{font-size:.75rem}}"
    "@page{size:A4;margin:14mm 12mm}"
    "@media print{body{font-size:10pt}main{max-width:none;padding:0}"
    ".scroll{overflow:visible}table{font-size:8.5pt}"
    "thead{display:table-header-group}tfoot{display:table-row-group}"
    "tr{break-inside:avoid}"
    "section.day+section.day,section.sheet+section.sheet{"
    "break-before:page;page-break-before:always}"
    "svg.chart{max-width:16cm}"
    /* fifteen columns fit the width of A4: smaller type, no sticky
     * column, the unit id left to the screen */
    "table.units{font-size:7pt}"
    "table.units th,table.units td{padding:.1rem .2rem}"
    "table.units th:first-child,table.units td:first-child{position:static;"
    "min-width:0}"
    "table.units td small{display:none}"
    "thead th,tfoot td,.locked{-webkit-print-color-adjust:exact;"
    "print-color-adjust:exact}}";

static void html_begin(FILE *f, const char *title)
{
        fputs("<!DOCTYPE html>\n<html lang=\"id\">\n<head>\n"
              "<meta charset=\"utf-8\">\n"
              "<meta name=\"viewport\" content=\"width=device-width, "
              "initial-scale=1\">\n<title>",
              f);
        h(f, title);
        fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n<main>\n",
                html_css);
}

static void html_end(FILE *f, const char *policy)
{
        fputs("<footer>Dibuat oleh patuh dari data kehadiran akhir", f);
        if (policy) {
                fputs("; kebijakan ", f);
                h(f, policy);
        }
        fputs(".</footer>\n</main>\n</body>\n</html>\n", f);
}

/* A <td class="n"> with an integer; zeros muted, so that the few counts
 * that matter stand out in a wide table. */
static void html_td_int(FILE *f, int64_t v)
{
        fprintf(f, "<td class=\"n%s\">%lld</td>", v ? "" : " z", (long long)v);
}

static void html_td_rp(FILE *f, int64_t v)
{
        char b[48];
        out_thousands(v, b, sizeof(b));
        fprintf(f, "<td class=\"n\">%s</td>", b);
}

/* ---- daily digest ------------------------------------------------------- */

typedef struct dg_row {
        json_t *j; /* owned; the strings below live in it */
        const char *date, *unit_id, *unit_name, *policy;
        int32_t day;
        int64_t expected, present, present_wfo, present_wfh, on_time, excused;
        int64_t compliant;
        int64_t kinds[VK__COUNT];
        int64_t violations;      /* the kinds' sum */
        const json_t *violators; /* array of NIP strings */
        int64_t rate_u;          /* compliance_rate in millionths */
} dg_row_t;

static bool dg_read(rowp_t *p, void *row)
{
        dg_row_t *r = row;
        r->date = rowp_str(p, "date");
        if (!p->bad && !ptime_parse_date(r->date, strlen(r->date), &r->day))
                rowp_fail(p, "date", "must be a date YYYY-MM-DD");
        r->unit_id = rowp_str(p, "unit_id");
        r->unit_name = rowp_str_or_null(p, "unit_name");
        r->expected = rowp_int(p, "expected");
        r->present = rowp_int(p, "present");
        r->present_wfo = rowp_int(p, "present_wfo");
        r->present_wfh = rowp_int(p, "present_wfh");
        r->on_time = rowp_int(p, "on_time");
        r->excused = rowp_int(p, "excused");
        rowp_kinds(p, r->kinds, &r->violations);
        r->violators = json_object_get(p->j, "violators");
        if (!json_is_array(r->violators)) {
                rowp_fail(p, "violators", "must be an array of NIPs");
        } else {
                for (size_t i = 0; i < json_array_size(r->violators); i++)
                        if (!json_is_string(json_array_get(r->violators, i)))
                                rowp_fail(p, "violators",
                                          "must be an array of NIPs");
        }
        r->compliant = rowp_int(p, "compliant");
        r->rate_u = rowp_micro(p, "compliance_rate");
        r->policy = rowp_str_or_null(p, "policy");
        return !p->bad;
}

static const char *violator_id(const dg_row_t *r, size_t i)
{
        return json_string_value(json_array_get(r->violators, i));
}

/* Sums of one date's rows, for the total lines and attributes. */
typedef struct dg_sum {
        int64_t units, expected, present, present_wfo, present_wfh, on_time;
        int64_t excused, compliant, violations, violators;
        int64_t kinds[VK__COUNT];
} dg_sum_t;

static void dg_add(dg_sum_t *s, const dg_row_t *r)
{
        s->units++;
        s->expected += r->expected;
        s->present += r->present;
        s->present_wfo += r->present_wfo;
        s->present_wfh += r->present_wfh;
        s->on_time += r->on_time;
        s->excused += r->excused;
        s->compliant += r->compliant;
        s->violations += r->violations;
        s->violators += (int64_t)json_array_size(r->violators);
        for (int k = 0; k < VK__COUNT; k++)
                s->kinds[k] += r->kinds[k];
}

/* "Terlambat masuk 1, Tidak masuk tanpa ket. 2", or "-". */
static void kinds_text(const int64_t kinds[VK__COUNT], char *buf, size_t n)
{
        size_t len = 0;
        buf[0] = '\0';
        for (int k = 0; k < VK__COUNT; k++) {
                if (!kinds[k] || len >= n)
                        continue;
                int w =
                    snprintf(buf + len, n - len, "%s%s %lld", len ? ", " : "",
                             report_kind_label(k), (long long)kinds[k]);
                len += w > 0 ? (size_t)w : 0;
        }
        if (!len)
                snprintf(buf, n, "-");
}

/* The dates in the order they first appear; rows of a date need not be
 * adjacent (the caller sorts them, but a renderer does not rely on it). */
static size_t dg_dates(const dg_row_t *r, size_t n, int32_t *days)
{
        size_t nd = 0;
        for (size_t i = 0; i < n; i++) {
                size_t k = 0;
                while (k < nd && days[k] != r[i].day)
                        k++;
                if (k == nd)
                        days[nd++] = r[i].day;
        }
        return nd;
}

static const tcol_t dg_cols[] = {
    {"", "Unit", 22, false},     {"", "Nama unit", 30, false},
    {"Wajib", "hadir", 5, true}, {"Hadir", "WFO", 5, true},
    {"Hadir", "WFH", 5, true},   {"Tepat", "waktu", 5, true},
    {"Izin/", "cuti", 5, true},  {"", "Patuh", 5, true},
    {"", "Kepatuhan", 9, true},  {"", "Pelanggaran; pelanggar", 0, false},
};
#define DG_NCOLS (sizeof(dg_cols) / sizeof(dg_cols[0]))

/* The unit line's last column: counts by kind, then the violators, names
 * first with the NIP to tell namesakes apart.  Returns false when out of
 * memory. */
static bool dg_last_column(jw_t *w, const dg_row_t *r, const roster_t *roster)
{
        char kinds[1024];
        kinds_text(r->kinds, kinds, sizeof(kinds));
        jw_reset(w);
        jw_raw(w, kinds, strlen(kinds));
        size_t nv = json_array_size(r->violators);
        for (size_t k = 0; k < nv; k++) {
                const char *id = violator_id(r, k);
                const char *nm = emp_name(roster, id);
                const char *sep = k ? ", " : "; pelanggar: ";
                jw_raw(w, sep, strlen(sep));
                if (nm) {
                        jw_raw(w, nm, strlen(nm));
                        jw_raw(w, " (", 2);
                }
                jw_raw(w, id, strlen(id));
                if (nm)
                        jw_raw(w, ")", 1);
        }
        return !w->oom;
}

static int dg_table(FILE *f, const dg_row_t *r, size_t n, const int32_t *days,
                    size_t nd, const roster_t *roster)
{
        jw_t w;
        jw_init(&w);
        fputs("Rekap harian kepatuhan per unit kerja\n"
              "(kepatuhan = pegawai wajib hadir tanpa pelanggaran aktif / "
              "pegawai wajib hadir)\n",
              f);
        for (size_t d = 0; d < nd; d++) {
                char date[64];
                render_format_date(days[d], date, sizeof(date));
                fprintf(f, "\n%s\n", date);
                theader(f, dg_cols, DG_NCOLS);
                dg_sum_t s = {0};
                for (size_t i = 0; i < n; i++) {
                        if (r[i].day != days[d])
                                continue;
                        dg_add(&s, &r[i]);
                        char b[7][24];
                        fmt_int(r[i].expected, b[0], sizeof(b[0]));
                        fmt_int(r[i].present_wfo, b[1], sizeof(b[1]));
                        fmt_int(r[i].present_wfh, b[2], sizeof(b[2]));
                        fmt_int(r[i].on_time, b[3], sizeof(b[3]));
                        fmt_int(r[i].excused, b[4], sizeof(b[4]));
                        fmt_int(r[i].compliant, b[5], sizeof(b[5]));
                        fmt_rate(r[i].rate_u, b[6], sizeof(b[6]));
                        if (!dg_last_column(&w, &r[i], roster)) {
                                jw_free(&w);
                                return -1;
                        }
                        const char *v[DG_NCOLS] = {
                            r[i].unit_id,
                            unit_name(roster, r[i].unit_id, r[i].unit_name),
                            b[0],
                            b[1],
                            b[2],
                            b[3],
                            b[4],
                            b[5],
                            b[6],
                            w.buf};
                        trow(f, dg_cols, DG_NCOLS, v);
                }
                char b[7][24], units[48], last[1024];
                snprintf(units, sizeof(units), "Jumlah (%lld unit)",
                         (long long)s.units);
                fmt_int(s.expected, b[0], sizeof(b[0]));
                fmt_int(s.present_wfo, b[1], sizeof(b[1]));
                fmt_int(s.present_wfh, b[2], sizeof(b[2]));
                fmt_int(s.on_time, b[3], sizeof(b[3]));
                fmt_int(s.excused, b[4], sizeof(b[4]));
                fmt_int(s.compliant, b[5], sizeof(b[5]));
                fmt_rate(rate_micro(s.compliant, s.expected), b[6],
                         sizeof(b[6]));
                kinds_text(s.kinds, last, sizeof(last));
                const char *v[DG_NCOLS] = {units, "",   b[0], b[1], b[2],
                                           b[3],  b[4], b[5], b[6], last};
                trule(f, dg_cols, DG_NCOLS);
                trow(f, dg_cols, DG_NCOLS, v);
        }
        jw_free(&w);
        return 0;
}

static void dg_csv(FILE *f, const dg_row_t *r, size_t n)
{
        fputs("date,unit_id,unit_name,expected,present,present_wfo,"
              "present_wfh,on_time,excused",
              f);
        for (int k = 0; k < VK__COUNT; k++)
                fprintf(f, ",%s", vkind_name((vkind_t)k));
        fputs(",compliant,compliance_rate,violators\r\n", f);
        for (size_t i = 0; i < n; i++) {
                csv_field(f, r[i].date);
                fputc(',', f);
                csv_field(f, r[i].unit_id);
                fputc(',', f);
                csv_field(f, r[i].unit_name);
                const int64_t counts[] = {r[i].expected,    r[i].present,
                                          r[i].present_wfo, r[i].present_wfh,
                                          r[i].on_time,     r[i].excused};
                for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]);
                     k++) {
                        fputc(',', f);
                        csv_int(f, counts[k]);
                }
                for (int k = 0; k < VK__COUNT; k++) {
                        fputc(',', f);
                        csv_int(f, r[i].kinds[k]);
                }
                fputc(',', f);
                csv_int(f, r[i].compliant);
                fputc(',', f);
                csv_micro(f, r[i].rate_u);
                fputc(',', f);
                csv_joined(f, r[i].violators);
                fputs("\r\n", f);
        }
}

/* The compliance chart of one date: one bar per unit row, its length the
 * rate.  Inline SVG with lengths in percent of its width and text in
 * pixels: the bars follow the screen (phone or desktop, and A4 when
 * printed) while the labels keep the size of the page's text, which a
 * scaled viewBox would shrink on a phone and blow up on a desktop. */
static void dg_chart(FILE *f, const dg_row_t *r, size_t n, int32_t day,
                     const char *date, const roster_t *roster)
{
        enum { ROW_H = 40, TRACK_PCT = 82 };
        size_t rows = 0;
        for (size_t i = 0; i < n; i++)
                rows += r[i].day == day;
        fprintf(f,
                "<svg class=\"chart\" width=\"100%%\" height=\"%zu\" "
                "role=\"img\" aria-label=\"Kepatuhan per unit, ",
                rows * ROW_H + 4);
        h(f, date);
        fputs("\">\n", f);
        size_t at = 0;
        for (size_t i = 0; i < n; i++) {
                if (r[i].day != day)
                        continue;
                size_t y = at++ * ROW_H + 2;
                int64_t rate = r[i].rate_u < 0         ? 0
                               : r[i].rate_u > 1000000 ? 1000000
                                                       : r[i].rate_u;
                /* hundredths of a percent of the width, exact from the
                 * millionths */
                int64_t w = (rate * TRACK_PCT * 100 + 500000) / 1000000;
                char pct[24], rate_s[32];
                fmt_rate(r[i].rate_u, pct, sizeof(pct));
                fmt_micro(r[i].rate_u, false, rate_s, sizeof(rate_s));
                fprintf(f, "<text x=\"0\" y=\"%zu\">", y + 14);
                h(f, unit_name(roster, r[i].unit_id, r[i].unit_name));
                fprintf(f,
                        "</text>\n<rect class=\"track\" x=\"0\" y=\"%zu\" "
                        "width=\"%d%%\" height=\"14\" rx=\"3\" "
                        "fill=\"#e3e8ee\"/>\n",
                        y + 20, TRACK_PCT);
                fputs("<rect class=\"bar\" data-unit=\"", f);
                h(f, r[i].unit_id);
                fprintf(f,
                        "\" data-rate=\"%s\" x=\"0\" y=\"%zu\" "
                        "width=\"%lld.%02lld%%\" height=\"14\" rx=\"3\" "
                        "fill=\"#1f6fb2\"/>\n",
                        rate_s, y + 20, (long long)(w / 100),
                        (long long)(w % 100));
                fprintf(f,
                        "<text class=\"pct\" x=\"100%%\" y=\"%zu\" "
                        "text-anchor=\"end\">%s</text>\n",
                        y + 32, pct);
        }
        fputs("</svg>\n", f);
}

/* The total attributes are the page's machine-checkable claims: a reader
 * (or a test) compares them with the rows without parsing the cells. */
static void dg_html_total(FILE *f, const dg_sum_t *s, const char *date)
{
        char rate[24];
        fmt_rate(rate_micro(s->compliant, s->expected), rate, sizeof(rate));
        fputs("<tfoot><tr class=\"total\" data-date=\"", f);
        h(f, date);
        fprintf(f,
                "\" data-units=\"%lld\" data-expected=\"%lld\" "
                "data-present=\"%lld\" data-present-wfo=\"%lld\" "
                "data-present-wfh=\"%lld\" data-on-time=\"%lld\" "
                "data-excused=\"%lld\" data-compliant=\"%lld\" "
                "data-violations=\"%lld\" data-violators=\"%lld\">"
                "<td>Jumlah (%lld unit)</td>",
                (long long)s->units, (long long)s->expected,
                (long long)s->present, (long long)s->present_wfo,
                (long long)s->present_wfh, (long long)s->on_time,
                (long long)s->excused, (long long)s->compliant,
                (long long)s->violations, (long long)s->violators,
                (long long)s->units);
        const int64_t v[] = {s->expected, s->present_wfo, s->present_wfh,
                             s->on_time, s->excused};
        for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
                html_td_int(f, v[k]);
        html_td_int(f, s->compliant);
        fprintf(f, "<td class=\"n\">%s</td>", rate);
        for (int k = 0; k < VK__COUNT; k++)
                html_td_int(f, s->kinds[k]);
        fputs("</tr></tfoot>\n", f);
}

static void dg_html_day(FILE *f, const dg_row_t *r, size_t n, int32_t day,
                        const roster_t *roster)
{
        char date[64], iso[11];
        render_format_date(day, date, sizeof(date));
        ptime_format_date(day, iso);
        fprintf(f, "<section class=\"day\" data-date=\"%s\">\n<h2>", iso);
        h(f, date);
        fputs("</h2>\n<h3>Tingkat kepatuhan per unit</h3>\n", f);
        dg_chart(f, r, n, day, date, roster);

        fputs("<h3>Kehadiran dan pelanggaran per unit</h3>\n"
              "<div class=\"scroll\"><table class=\"units\">\n<thead><tr>"
              "<th>Unit</th><th class=\"n\">Wajib hadir</th>"
              "<th class=\"n\">Hadir WFO</th><th class=\"n\">Hadir WFH</th>"
              "<th class=\"n\">Tepat waktu</th>"
              "<th class=\"n\">Izin/<wbr>cuti</th>"
              "<th class=\"n\">Patuh</th><th class=\"n\">Kepatuhan</th>",
              f);
        /* the counts by kind last: on a phone the figures a reader looks
         * for first are in view before the table scrolls */
        for (int k = 0; k < VK__COUNT; k++) {
                fputs("<th class=\"n\">", f);
                h(f, report_kind_label((vkind_t)k));
                fputs("</th>", f);
        }
        fputs("</tr></thead>\n<tbody>\n", f);
        dg_sum_t s = {0};
        for (size_t i = 0; i < n; i++) {
                if (r[i].day != day)
                        continue;
                dg_add(&s, &r[i]);
                char rate[24];
                fmt_rate(r[i].rate_u, rate, sizeof(rate));
                fputs("<tr data-unit=\"", f);
                h(f, r[i].unit_id);
                fputs("\"><td>", f);
                h(f, unit_name(roster, r[i].unit_id, r[i].unit_name));
                fputs("<br><small>", f);
                h(f, r[i].unit_id);
                fputs("</small></td>", f);
                const int64_t v[] = {r[i].expected, r[i].present_wfo,
                                     r[i].present_wfh, r[i].on_time,
                                     r[i].excused};
                for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
                        html_td_int(f, v[k]);
                html_td_int(f, r[i].compliant);
                fprintf(f, "<td class=\"n\">%s</td>", rate);
                for (int k = 0; k < VK__COUNT; k++)
                        html_td_int(f, r[i].kinds[k]);
                fputs("</tr>\n", f);
        }
        fputs("</tbody>\n", f);
        dg_html_total(f, &s, iso);
        fputs("</table></div>\n<h3>Pegawai dengan pelanggaran</h3>\n", f);
        if (s.violators == 0) {
                fputs("<p>Tidak ada pelanggar pada tanggal ini.</p>\n", f);
        } else {
                fputs("<div class=\"blocks\">\n", f);
                for (size_t i = 0; i < n; i++) {
                        size_t nv = json_array_size(r[i].violators);
                        if (r[i].day != day || nv == 0)
                                continue;
                        fputs("<div class=\"unit-block\" data-unit=\"", f);
                        h(f, r[i].unit_id);
                        fputs("\"><h4>", f);
                        h(f, unit_name(roster, r[i].unit_id, r[i].unit_name));
                        fprintf(f, " (%zu)</h4>\n<ul>\n", nv);
                        for (size_t k = 0; k < nv; k++) {
                                const char *id = violator_id(&r[i], k);
                                const char *nm = emp_name(roster, id);
                                fputs("<li><span class=\"nip\">", f);
                                h(f, id);
                                fputs("</span>", f);
                                if (nm) {
                                        fputs(" ", f);
                                        h(f, nm);
                                }
                                fputs("</li>\n", f);
                        }
                        fputs("</ul></div>\n", f);
                }
                fputs("</div>\n", f);
        }
        fputs("</section>\n", f);
}

static void dg_html(FILE *f, const dg_row_t *r, size_t n, const int32_t *days,
                    size_t nd, const roster_t *roster)
{
        char first[64] = "", last[64] = "";
        if (nd) {
                render_format_date(days[0], first, sizeof(first));
                render_format_date(days[nd - 1], last, sizeof(last));
        }
        html_begin(f, "Rekap Harian Kepatuhan ASN");
        fputs("<h1>Rekap Harian Kepatuhan ASN</h1>\n<p class=\"meta\">", f);
        h(f, nd ? first : "Tidak ada rekap harian untuk tanggal itu.");
        if (nd > 1) {
                fputs(" – ", f);
                h(f, last);
        }
        fputs("</p>\n<p class=\"note\">Kepatuhan = pegawai wajib hadir "
              "tanpa pelanggaran aktif ÷ pegawai wajib hadir.</p>\n",
              f);
        for (size_t d = 0; d < nd; d++)
                dg_html_day(f, r, n, days[d], roster);
        html_end(f, n ? r[0].policy : NULL);
}

int render_digest(FILE *f, render_fmt_t fmt, render_rows_t rows,
                  const roster_t *roster, char *errstr, size_t errstr_size)
{
        if (fmt == RENDER_JSONL)
                return write_lines(f, rows, errstr, errstr_size);
        dg_row_t *r =
            rows_read(rows, sizeof(*r), "digest", dg_read, errstr, errstr_size);
        if (!r)
                return -1;
        int32_t *days = calloc(rows.n ? rows.n : 1, sizeof(*days));
        if (!days) {
                rows_free(r, sizeof(*r), rows.n);
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        size_t nd = dg_dates(r, rows.n, days);
        int rc = 0;
        if (fmt == RENDER_TABLE)
                rc = dg_table(f, r, rows.n, days, nd, roster);
        else if (fmt == RENDER_CSV)
                dg_csv(f, r, rows.n);
        else
                dg_html(f, r, rows.n, days, nd, roster);
        free(days);
        rows_free(r, sizeof(*r), rows.n);
        if (rc) {
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        return finish(f, errstr, errstr_size);
}

/* ---- payroll month ------------------------------------------------------ */

typedef struct pr_row {
        json_t *j; /* owned; the strings below live in it */
        const char *period, *employee_id, *name, *unit_id, *policy;
        int64_t tpp_monthly, tpp_after, deduction;
        int64_t kinds[VK__COUNT], violations;
        int64_t pct_u, capped_u; /* percent, percent_capped in millionths */
} pr_row_t;

static bool pr_read(rowp_t *p, void *row)
{
        pr_row_t *r = row;
        int y, m;
        r->period = rowp_str(p, "period");
        if (!p->bad && !parse_period(r->period, &y, &m))
                rowp_fail(p, "period", "must be a month YYYY-MM");
        r->employee_id = rowp_str(p, "employee_id");
        r->name = rowp_str_or_null(p, "name");
        r->unit_id = rowp_str(p, "unit_id");
        r->tpp_monthly = rowp_int(p, "tpp_monthly");
        rowp_kinds(p, r->kinds, &r->violations);
        r->pct_u = rowp_micro(p, "percent");
        r->capped_u = rowp_micro(p, "percent_capped");
        r->deduction = rowp_int(p, "deduction");
        r->tpp_after = rowp_int(p, "tpp_after");
        r->policy = rowp_str_or_null(p, "policy");
        return !p->bad;
}

/* The name of a payroll row: the row's, else the roster's. */
static const char *pr_name(const pr_row_t *r, const roster_t *roster)
{
        if (r->name && *r->name)
                return r->name;
        return emp_name(roster, r->employee_id);
}

/* A unit's sums over its rows (or the city's over all). */
typedef struct pr_sum {
        const char *unit_id; /* borrowed from a row */
        int64_t employees, tpp_monthly, deduction, tpp_after;
} pr_sum_t;

static int pr_sum_cmp(const void *a, const void *b)
{
        return strcmp(((const pr_sum_t *)a)->unit_id,
                      ((const pr_sum_t *)b)->unit_id);
}

/* The units of the rows, sorted by unit_id (byte order, as every list of
 * patuh), each with its sums; *city gets the sums of all.  NULL when out
 * of memory. */
static pr_sum_t *pr_units(const pr_row_t *r, size_t n, size_t *nu,
                          pr_sum_t *city)
{
        pr_sum_t *u = calloc(n ? n : 1, sizeof(*u));
        *nu = 0;
        *city = (pr_sum_t){.unit_id = ""};
        if (!u)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                size_t k = 0;
                while (k < *nu && strcmp(u[k].unit_id, r[i].unit_id) != 0)
                        k++;
                if (k == *nu)
                        u[(*nu)++].unit_id = r[i].unit_id;
                pr_sum_t *s[2] = {&u[k], city};
                for (int t = 0; t < 2; t++) {
                        s[t]->employees++;
                        s[t]->tpp_monthly += r[i].tpp_monthly;
                        s[t]->deduction += r[i].deduction;
                        s[t]->tpp_after += r[i].tpp_after;
                }
        }
        qsort(u, *nu, sizeof(*u), pr_sum_cmp);
        return u;
}

static const char locked_text[] =
    "Bulan ini sudah dikunci: angkanya tidak berubah lagi.";
static const char open_text[] =
    "Bulan ini belum dikunci: angka sementara, dapat berubah bila ada data "
    "susulan.";

static const tcol_t pr_cols[] = {
    {"", "NIP", 18, false},
    {"", "Nama", 24, false},
    {"TPP", "(Rp)", 12, true},
    {"Potongan", "%", 8, true},
    {"Setelah", "batas %", 8, true},
    {"Potongan", "(Rp)", 11, true},
    {"TPP diterima", "(Rp)", 12, true},
};
#define PR_NCOLS (sizeof(pr_cols) / sizeof(pr_cols[0]))

/* A total line: its label spans the NIP and name columns. */
static void pr_total_line(FILE *f, const char *label, const pr_sum_t *s)
{
        tcol_t c[PR_NCOLS - 1];
        c[0] = (tcol_t){"", "", pr_cols[0].width + 1 + pr_cols[1].width, false};
        memcpy(c + 1, pr_cols + 2, sizeof(c) - sizeof(c[0]));
        char b[3][48];
        out_thousands(s->tpp_monthly, b[0], sizeof(b[0]));
        out_thousands(s->deduction, b[1], sizeof(b[1]));
        out_thousands(s->tpp_after, b[2], sizeof(b[2]));
        const char *v[PR_NCOLS - 1] = {label, b[0], "", "", b[1], b[2]};
        trule(f, pr_cols, PR_NCOLS);
        trow(f, c, PR_NCOLS - 1, v);
}

static void pr_table(FILE *f, const pr_row_t *r, size_t n, const pr_sum_t *u,
                     size_t nu, const pr_sum_t *city, const roster_t *roster,
                     bool locked)
{
        char month[32];
        if (!render_format_period(r[0].period, month, sizeof(month)))
                snprintf(month, sizeof(month), "%s", r[0].period);
        fprintf(f, "Potongan TPP bulan %s (periode %s)\n%s\n", month,
                r[0].period, locked ? locked_text : open_text);
        for (size_t k = 0; k < nu; k++) {
                fputc('\n', f);
                fprintf(f, "%s — %s\n", u[k].unit_id,
                        unit_name(roster, u[k].unit_id, NULL));
                theader(f, pr_cols, PR_NCOLS);
                for (size_t i = 0; i < n; i++) {
                        if (strcmp(r[i].unit_id, u[k].unit_id) != 0)
                                continue;
                        char b[5][48];
                        out_thousands(r[i].tpp_monthly, b[0], sizeof(b[0]));
                        fmt_micro(r[i].pct_u, true, b[1], sizeof(b[1]));
                        fmt_micro(r[i].capped_u, true, b[2], sizeof(b[2]));
                        out_thousands(r[i].deduction, b[3], sizeof(b[3]));
                        out_thousands(r[i].tpp_after, b[4], sizeof(b[4]));
                        const char *nm = pr_name(&r[i], roster);
                        const char *v[PR_NCOLS] = {r[i].employee_id,
                                                   nm ? nm : "-",
                                                   b[0],
                                                   b[1],
                                                   b[2],
                                                   b[3],
                                                   b[4]};
                        trow(f, pr_cols, PR_NCOLS, v);
                }
                char label[64];
                snprintf(label, sizeof(label), "Jumlah unit (%lld pegawai)",
                         (long long)u[k].employees);
                pr_total_line(f, label, &u[k]);
        }
        char label[64];
        snprintf(label, sizeof(label), "Total seluruh unit (%lld pegawai)",
                 (long long)city->employees);
        fputc('\n', f);
        pr_total_line(f, label, city);
}

static void pr_csv(FILE *f, const pr_row_t *r, size_t n)
{
        fputs("period,employee_id,name,unit_id,tpp_monthly", f);
        for (int k = 0; k < VK__COUNT; k++)
                fprintf(f, ",%s", vkind_name((vkind_t)k));
        fputs(",percent,percent_capped,deduction,tpp_after\r\n", f);
        for (size_t i = 0; i < n; i++) {
                csv_field(f, r[i].period);
                fputc(',', f);
                csv_field(f, r[i].employee_id);
                fputc(',', f);
                csv_field(f, r[i].name);
                fputc(',', f);
                csv_field(f, r[i].unit_id);
                fputc(',', f);
                csv_int(f, r[i].tpp_monthly);
                for (int k = 0; k < VK__COUNT; k++) {
                        fputc(',', f);
                        csv_int(f, r[i].kinds[k]);
                }
                fputc(',', f);
                csv_micro(f, r[i].pct_u);
                fputc(',', f);
                csv_micro(f, r[i].capped_u);
                fputc(',', f);
                csv_int(f, r[i].deduction);
                fputc(',', f);
                csv_int(f, r[i].tpp_after);
                fputs("\r\n", f);
        }
}

/* The two signatures of a unit's sheet: its head (named from the roster
 * when known) and the treasurer, whose name is written by hand. */
static void pr_signatures(FILE *f, const char *unit, const char *uname,
                          const roster_t *roster)
{
        const char *head = unit_head(roster, unit);
        const char *head_name = emp_name(roster, head);
        fputs("<div class=\"signatures\">\n<div class=\"sign head\">"
              "<p>Mengetahui,</p><p>Kepala ",
              f);
        h(f, uname);
        fputs("</p><p class=\"space\"></p><p class=\"who\">", f);
        if (head_name)
                h(f, head_name);
        else
                fputs("<span class=\"line\">&nbsp;</span>", f);
        fputs("</p><p>NIP. ", f);
        if (head)
                h(f, head);
        fputs("</p></div>\n<div class=\"sign treasurer\">"
              "<p>Balikpapan, <span class=\"line\">&nbsp;</span></p>"
              "<p>Bendahara Pengeluaran</p><p class=\"space\"></p>"
              "<p class=\"who\"><span class=\"line\">&nbsp;</span></p>"
              "<p>NIP. <span class=\"line\">&nbsp;</span></p></div>\n"
              "</div>\n",
              f);
}

/* The sums as attributes, for a reader or a test to check against the
 * rows: data-tpp is what is paid (tpp_after). */
static void pr_sum_attrs(FILE *f, const pr_sum_t *s)
{
        fprintf(f,
                " data-employees=\"%lld\" data-tpp-monthly=\"%lld\" "
                "data-deduction=\"%lld\" data-tpp=\"%lld\"",
                (long long)s->employees, (long long)s->tpp_monthly,
                (long long)s->deduction, (long long)s->tpp_after);
}

static void pr_html_sheet(FILE *f, const pr_row_t *r, size_t n,
                          const pr_sum_t *u, const char *month,
                          const roster_t *roster, bool locked)
{
        const char *uname = unit_name(roster, u->unit_id, NULL);
        fputs("<section class=\"sheet\" data-unit=\"", f);
        h(f, u->unit_id);
        fputs("\">\n<h2>", f);
        h(f, uname);
        fputs("</h2>\n<p class=\"meta\">Daftar potongan TPP periode ", f);
        h(f, month);
        fprintf(f, " · %lld pegawai%s</p>\n", (long long)u->employees,
                locked ? " · dikunci" : "");
        fputs("<div class=\"scroll\"><table>\n<thead><tr><th "
              "class=\"n no\">No</th><th>NIP</th><th>Nama</th>"
              "<th class=\"n\">TPP (Rp)</th><th class=\"n\">% potongan</th>"
              "<th class=\"n\">Potongan (Rp)</th>"
              "<th class=\"n\">TPP diterima (Rp)</th></tr></thead>\n<tbody>\n",
              f);
        size_t no = 0;
        for (size_t i = 0; i < n; i++) {
                if (strcmp(r[i].unit_id, u->unit_id) != 0)
                        continue;
                char pct[48], before[48];
                fmt_micro(r[i].capped_u, true, pct, sizeof(pct));
                fmt_micro(r[i].pct_u, true, before, sizeof(before));
                const char *nm = pr_name(&r[i], roster);
                fprintf(f, "<tr><td class=\"n no\">%zu</td><td class=\"nip\">",
                        ++no);
                h(f, r[i].employee_id);
                fputs("</td><td>", f);
                h(f, nm ? nm : "-");
                fputs("</td>", f);
                html_td_rp(f, r[i].tpp_monthly);
                fprintf(f, "<td class=\"n\">%s", pct);
                /* the cap binds: say what the violations added up to */
                if (r[i].capped_u != r[i].pct_u)
                        fprintf(f, "<br><small>dari %s (batas)</small>",
                                before);
                fputs("</td>", f);
                html_td_rp(f, r[i].deduction);
                html_td_rp(f, r[i].tpp_after);
                fputs("</tr>\n", f);
        }
        fputs("</tbody>\n<tfoot><tr class=\"unit-total\" data-unit=\"", f);
        h(f, u->unit_id);
        fputc('"', f);
        pr_sum_attrs(f, u);
        fputs("><td class=\"no\"></td><td colspan=\"2\">Jumlah unit</td>", f);
        html_td_rp(f, u->tpp_monthly);
        fputs("<td></td>", f);
        html_td_rp(f, u->deduction);
        html_td_rp(f, u->tpp_after);
        fputs("</tr></tfoot>\n</table></div>\n", f);
        pr_signatures(f, u->unit_id, uname, roster);
        fputs("</section>\n", f);
}

static void pr_html(FILE *f, const pr_row_t *r, size_t n, const pr_sum_t *u,
                    size_t nu, const pr_sum_t *city, const roster_t *roster,
                    bool locked)
{
        char month[32];
        if (!render_format_period(r[0].period, month, sizeof(month)))
                snprintf(month, sizeof(month), "%s", r[0].period);
        char title[64];
        snprintf(title, sizeof(title), "Potongan TPP %s", month);
        html_begin(f, title);
        fputs("<h1>Daftar Potongan TPP</h1>\n<p class=\"meta\">Periode ", f);
        h(f, month);
        fputs("</p>\n<p", f);
        fputs(locked ? " class=\"locked\">" : " class=\"note\">", f);
        fputs(locked ? locked_text : open_text, f);
        fputs("</p>\n", f);
        for (size_t k = 0; k < nu; k++)
                pr_html_sheet(f, r, n, &u[k], month, roster, locked);
        fputs("<section class=\"sheet summary\">\n<h2>Rekapitulasi seluruh "
              "unit</h2>\n<p class=\"meta\">Periode ",
              f);
        h(f, month);
        fputs("</p>\n<div class=\"scroll\"><table>\n<thead><tr><th>Unit</th>"
              "<th class=\"n\">Pegawai</th><th class=\"n\">TPP (Rp)</th>"
              "<th class=\"n\">Potongan (Rp)</th>"
              "<th class=\"n\">TPP diterima (Rp)</th></tr></thead>\n<tbody>\n",
              f);
        for (size_t k = 0; k < nu; k++) {
                fputs("<tr><td>", f);
                h(f, unit_name(roster, u[k].unit_id, NULL));
                fputs("</td>", f);
                html_td_int(f, u[k].employees);
                html_td_rp(f, u[k].tpp_monthly);
                html_td_rp(f, u[k].deduction);
                html_td_rp(f, u[k].tpp_after);
                fputs("</tr>\n", f);
        }
        fputs("</tbody>\n<tfoot><tr class=\"city-total\"", f);
        pr_sum_attrs(f, city);
        fputs("><td>Total seluruh unit</td>", f);
        html_td_int(f, city->employees);
        html_td_rp(f, city->tpp_monthly);
        html_td_rp(f, city->deduction);
        html_td_rp(f, city->tpp_after);
        fputs("</tr></tfoot>\n</table></div>\n</section>\n", f);
        html_end(f, r[0].policy);
}

/* No rows: say so in the format asked rather than print nothing. */
static void pr_empty(FILE *f, render_fmt_t fmt)
{
        static const char text[] = "Tidak ada pegawai untuk periode itu.";
        if (fmt == RENDER_TABLE) {
                fprintf(f, "Potongan TPP\n%s\n", text);
                return;
        }
        html_begin(f, "Potongan TPP");
        fprintf(f, "<h1>Daftar Potongan TPP</h1>\n<p>%s</p>\n", text);
        html_end(f, NULL);
}

int render_payroll(FILE *f, render_fmt_t fmt, render_rows_t rows,
                   const roster_t *roster, bool locked, char *errstr,
                   size_t errstr_size)
{
        if (fmt == RENDER_JSONL)
                return write_lines(f, rows, errstr, errstr_size);
        pr_row_t *r = rows_read(rows, sizeof(*r), "payroll", pr_read, errstr,
                                errstr_size);
        if (!r)
                return -1;
        /* one period per sheet: a row of another month would be paid twice
         * or in the wrong month */
        for (size_t i = 1; i < rows.n; i++) {
                if (strcmp(r[i].period, r[0].period) != 0) {
                        snprintf(errstr, errstr_size,
                                 "row %zu: period %s, not %s (one period per "
                                 "report)",
                                 i + 1, r[i].period, r[0].period);
                        rows_free(r, sizeof(*r), rows.n);
                        return -1;
                }
        }
        size_t nu;
        pr_sum_t city;
        pr_sum_t *u = pr_units(r, rows.n, &nu, &city);
        if (!u) {
                rows_free(r, sizeof(*r), rows.n);
                snprintf(errstr, errstr_size, "out of memory");
                return -1;
        }
        if (fmt == RENDER_CSV)
                pr_csv(f, r, rows.n);
        else if (rows.n == 0)
                pr_empty(f, fmt);
        else if (fmt == RENDER_TABLE)
                pr_table(f, r, rows.n, u, nu, &city, roster, locked);
        else
                pr_html(f, r, rows.n, u, nu, &city, roster, locked);
        free(u);
        rows_free(r, sizeof(*r), rows.n);
        return finish(f, errstr, errstr_size);
}

/* ---- discipline year ---------------------------------------------------- */

typedef struct ds_row {
        json_t *j; /* owned; the strings below live in it */
        int64_t year, minutes, days, calls;
        const char *employee_id, *name, *unit_id, *policy;
        const char *level, *sanction, *call_level, *call_sanction;
} ds_row_t;

static bool ds_read(rowp_t *p, void *row)
{
        ds_row_t *r = row;
        r->year = rowp_int(p, "year");
        r->employee_id = rowp_str(p, "employee_id");
        r->name = rowp_str_or_null(p, "name");
        r->unit_id = rowp_str(p, "unit_id");
        r->minutes = rowp_int(p, "minutes");
        r->days = rowp_int(p, "days");
        r->level = rowp_str_or_null(p, "level");
        r->sanction = rowp_str_or_null(p, "sanction");
        r->calls = rowp_int(p, "unanswered_calls");
        r->call_level = rowp_str_or_null(p, "call_level");
        r->call_sanction = rowp_str_or_null(p, "call_sanction");
        r->policy = rowp_str_or_null(p, "policy");
        return !p->bad;
}

/* "teguran_tertulis" -> "teguran tertulis"; "-" for none. */
static void sanction_text(const char *s, char *buf, size_t n)
{
        snprintf(buf, n, "%s", s && *s ? s : "-");
        for (char *c = buf; *c; c++)
                if (*c == '_')
                        *c = ' ';
}

static const tcol_t ds_cols[] = {
    {"", "NIP", 18, false},
    {"", "Nama", 22, false},
    {"", "Unit", 22, false},
    {"", "Menit", 6, true},
    {"", "Hari", 4, true},
    {"", "Tingkat", 7, false},
    {"", "Sanksi", 20, false},
    {"Panggilan", "tdk dijawab", 11, true},
    {"Tingkat", "panggilan", 9, false},
    {"Sanksi", "panggilan", 0, false},
};
#define DS_NCOLS (sizeof(ds_cols) / sizeof(ds_cols[0]))

static void ds_table(FILE *f, const ds_row_t *r, size_t n,
                     const roster_t *roster)
{
        if (n)
                fprintf(f,
                        "Rekap disiplin tahun %lld (yang paling berat di "
                        "atas)\n\n",
                        (long long)r[0].year);
        theader(f, ds_cols, DS_NCOLS);
        for (size_t i = 0; i < n; i++) {
                char b[3][24], sanksi[128], call[128];
                fmt_int(r[i].minutes, b[0], sizeof(b[0]));
                fmt_int(r[i].days, b[1], sizeof(b[1]));
                fmt_int(r[i].calls, b[2], sizeof(b[2]));
                sanction_text(r[i].sanction, sanksi, sizeof(sanksi));
                sanction_text(r[i].call_sanction, call, sizeof(call));
                const char *nm = r[i].name && *r[i].name
                                     ? r[i].name
                                     : emp_name(roster, r[i].employee_id);
                const char *v[DS_NCOLS] = {r[i].employee_id,
                                           nm ? nm : "-",
                                           r[i].unit_id,
                                           b[0],
                                           b[1],
                                           r[i].level ? r[i].level : "-",
                                           sanksi,
                                           b[2],
                                           r[i].call_level ? r[i].call_level
                                                           : "-",
                                           call};
                trow(f, ds_cols, DS_NCOLS, v);
        }
        fprintf(f, "\n%zu pegawai dengan pelanggaran aktif\n", n);
}

static void ds_csv(FILE *f, const ds_row_t *r, size_t n)
{
        fputs("year,employee_id,name,unit_id,minutes,days,level,sanction,"
              "unanswered_calls,call_level,call_sanction,policy\r\n",
              f);
        for (size_t i = 0; i < n; i++) {
                csv_int(f, r[i].year);
                const char *s1[] = {r[i].employee_id, r[i].name, r[i].unit_id};
                for (size_t k = 0; k < 3; k++) {
                        fputc(',', f);
                        csv_field(f, s1[k]);
                }
                fputc(',', f);
                csv_int(f, r[i].minutes);
                fputc(',', f);
                csv_int(f, r[i].days);
                fputc(',', f);
                csv_field(f, r[i].level);
                fputc(',', f);
                csv_field(f, r[i].sanction);
                fputc(',', f);
                csv_int(f, r[i].calls);
                const char *s2[] = {r[i].call_level, r[i].call_sanction,
                                    r[i].policy};
                for (size_t k = 0; k < 3; k++) {
                        fputc(',', f);
                        csv_field(f, s2[k]);
                }
                fputs("\r\n", f);
        }
}

int render_discipline(FILE *f, render_fmt_t fmt, render_rows_t rows,
                      const roster_t *roster, char *errstr, size_t errstr_size)
{
        if (fmt == RENDER_JSONL)
                return write_lines(f, rows, errstr, errstr_size);
        if (fmt == RENDER_HTML) {
                snprintf(errstr, errstr_size,
                         "format html tidak tersedia untuk disiplin");
                return -1;
        }
        ds_row_t *r = rows_read(rows, sizeof(*r), "discipline", ds_read, errstr,
                                errstr_size);
        if (!r)
                return -1;
        if (fmt == RENDER_TABLE)
                ds_table(f, r, rows.n, roster);
        else
                ds_csv(f, r, rows.n);
        rows_free(r, sizeof(*r), rows.n);
        return finish(f, errstr, errstr_size);
}
