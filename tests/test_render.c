/*
 * test_render — the reports as people and other systems read them
 * (engine/render.h): the Indonesian text table, RFC 4180 CSV and the one
 * self-contained HTML page, from hand-written SPEC §4.4 rows.
 *
 * Every check is something a reader would notice: a date written the
 * Indonesian way, a rate with a decimal comma, a name with a comma that
 * must not split a CSV record, a name with "<" that must not become
 * markup, totals that equal the sum of the rows, a page that loads nothing
 * from the network.
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

#include "../engine/render.h"
#include "ptime.h"
#include "roster.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- fixtures ------------------------------------------------------ */

/* Heads: 1970... heads diskominfo, 1971... heads bpbd.  One name holds a
 * comma and quotes (CSV), one holds markup (HTML). */
static const char roster_text[] =
    "{\"employee_id\":\"197001012000011001\",\"name\":\"Drs. Kepala Kominfo\","
    "\"unit_id\":\"diskominfo\",\"unit_name\":\"Dinas Komunikasi dan "
    "Informatika\",\"service_class\":null,\"position_class\":\"jpt_pratama\","
    "\"supervisor_id\":null,\"head_id\":null,\"tpp_monthly\":20000000,"
    "\"wfh_exempt\":null,\"active\":true}\n"
    "{\"employee_id\":\"199001012015031001\",\"name\":\"Siti \\\"Ade\\\" "
    "Rahma, S.Kom\",\"unit_id\":\"diskominfo\",\"unit_name\":\"Dinas "
    "Komunikasi dan Informatika\",\"service_class\":null,"
    "\"position_class\":\"pelaksana\",\"supervisor_id\":\"197001012000011001\","
    "\"head_id\":\"197001012000011001\",\"tpp_monthly\":4500000,"
    "\"wfh_exempt\":null,\"active\":true}\n"
    "{\"employee_id\":\"199202022016032002\",\"name\":\"Budi <b>Santoso</b> & "
    "Co\",\"unit_id\":\"diskominfo\",\"unit_name\":\"Dinas Komunikasi dan "
    "Informatika\",\"service_class\":null,\"position_class\":\"pelaksana\","
    "\"supervisor_id\":\"197001012000011001\","
    "\"head_id\":\"197001012000011001\",\"tpp_monthly\":3000000,"
    "\"wfh_exempt\":null,\"active\":true}\n"
    "{\"employee_id\":\"197101012000011002\",\"name\":\"Kepala BPBD\","
    "\"unit_id\":\"bpbd\",\"unit_name\":\"Badan Penanggulangan Bencana "
    "Daerah\",\"service_class\":\"emergency\",\"position_class\":"
    "\"jpt_pratama\",\"supervisor_id\":null,\"head_id\":null,"
    "\"tpp_monthly\":18000000,\"wfh_exempt\":null,\"active\":true}\n"
    "{\"employee_id\":\"199303032017031003\",\"name\":\"Andi Hidayat\","
    "\"unit_id\":\"bpbd\",\"unit_name\":\"Badan Penanggulangan Bencana "
    "Daerah\",\"service_class\":\"emergency\",\"position_class\":"
    "\"pelaksana\",\"supervisor_id\":\"197101012000011002\","
    "\"head_id\":\"197101012000011002\",\"tpp_monthly\":5000000,"
    "\"wfh_exempt\":null,\"active\":true}\n";

static roster_t *load_roster(void)
{
        char err[512] = "";
        roster_t *r = roster_load_buffer(roster_text, strlen(roster_text),
                                         "test roster", err, sizeof(err));
        if (!r)
                fail_msg("test roster refused: %s", err);
        return r;
}

#define KINDS(a, b, c, d, e, f, g)                                             \
        "\"violations\":{\"late_clock_in\":" #a ",\"early_clock_out\":" #b     \
        ",\"missing_clock_in\":" #c ",\"missing_clock_out\":" #d               \
        ",\"absent\":" #e ",\"wfh_not_permitted\":" #f                         \
        ",\"unanswered_call\":" #g "}"

/* Two dates; on the 17th diskominfo is 2 of 3 compliant (66,7%) and its
 * unit name holds a comma and quotes. */
static const char *const digest_lines[] = {
    "{\"date\":\"2026-04-16\",\"unit_id\":\"bpbd\",\"unit_name\":\"Badan "
    "Penanggulangan Bencana Daerah\",\"expected\":2,\"present\":2,"
    "\"present_wfo\":2,\"present_wfh\":0,\"on_time\":2,\"excused\":0," KINDS(
        0, 0, 0, 0, 0, 0, 0) ",\"violators\":[],\"compliant\":2,"
                             "\"compliance_rate\":1,\"policy\":\"p/1\"}",
    "{\"date\":\"2026-04-17\",\"unit_id\":\"bpbd\",\"unit_name\":\"Badan "
    "Penanggulangan Bencana Daerah\",\"expected\":2,\"present\":1,"
    "\"present_wfo\":1,\"present_wfh\":0,\"on_time\":1,\"excused\":0," KINDS(
        0, 0, 0, 0, 1, 0, 0) ",\"violators\":[\"199303032017031003\"],"
                             "\"compliant\":1,\"compliance_rate\":0.5,"
                             "\"policy\":\"p/1\"}",
    "{\"date\":\"2026-04-17\",\"unit_id\":\"diskominfo\",\"unit_name\":"
    "\"Dinas \\\"Kominfo\\\", Kota\",\"expected\":3,\"present\":3,"
    "\"present_wfo\":1,\"present_wfh\":2,\"on_time\":2,\"excused\":1," KINDS(
        1, 0, 0, 0, 0, 0, 2) ",\"violators\":[\"199202022016032002\","
                             "\"199909092020011009\"],\"compliant\":1,"
                             "\"compliance_rate\":0.6667,\"policy\":\"p/1\"}",
};

/* The percent 1.4 as a double sum would print (0.3 + 1.1), a capped
 * percent, a name with a comma and quotes, one with markup. */
static const char *const payroll_lines[] = {
    "{\"period\":\"2026-04\",\"employee_id\":\"199001012015031001\","
    "\"name\":\"Siti \\\"Ade\\\" Rahma, S.Kom\",\"unit_id\":\"diskominfo\","
    "\"tpp_monthly\":4500000," KINDS(
        2, 0, 0, 0, 1, 0,
        1) ",\"percent\":7.5,\"percent_capped\":6,\"deduction\":270000,"
           "\"tpp_after\":4230000,\"policy\":\"p/1\"}",
    "{\"period\":\"2026-04\",\"employee_id\":\"199202022016032002\","
    "\"name\":\"Budi <b>Santoso</b> & Co\",\"unit_id\":\"diskominfo\","
    "\"tpp_monthly\":3000000," KINDS(
        1, 1, 0, 0, 0, 0,
        0) ",\"percent\":1.4000000000000001,\"percent_capped\":1.4,"
           "\"deduction\":42000,\"tpp_after\":2958000,\"policy\":\"p/1\"}",
    "{\"period\":\"2026-04\",\"employee_id\":\"199303032017031003\","
    "\"name\":\"Andi "
    "Hidayat\",\"unit_id\":\"bpbd\",\"tpp_monthly\":5000000," KINDS(
        0, 0, 0, 0, 1, 0, 0) ",\"percent\":3,\"percent_capped\":3,"
                             "\"deduction\":150000,\"tpp_after\":4850000,"
                             "\"policy\":\"p/1\"}",
};

static const char *const discipline_lines[] = {
    "{\"year\":2026,\"employee_id\":\"199001012015031001\",\"name\":\"Siti "
    "Rahma\",\"unit_id\":\"diskominfo\",\"minutes\":1395,\"days\":3,"
    "\"level\":\"ringan\",\"sanction\":\"teguran_lisan\","
    "\"unanswered_calls\":2,\"call_level\":\"ringan\",\"call_sanction\":"
    "\"teguran_tertulis\",\"policy\":\"p/1\"}",
    "{\"year\":2026,\"employee_id\":\"199303032017031003\",\"name\":null,"
    "\"unit_id\":\"bpbd\",\"minutes\":51,\"days\":0,\"level\":null,"
    "\"sanction\":null,\"unanswered_calls\":0,\"call_level\":null,"
    "\"call_sanction\":null,\"policy\":\"p/1\"}",
};

#define ROWS(a) ((render_rows_t){(a), ARRAY_LEN(a)})

/* ---- helpers ------------------------------------------------------- */

typedef int (*render_fn)(FILE *f, render_fmt_t fmt, render_rows_t rows,
                         const roster_t *roster, char *errstr,
                         size_t errstr_size);

static int payroll_open(FILE *f, render_fmt_t fmt, render_rows_t rows,
                        const roster_t *roster, char *errstr,
                        size_t errstr_size)
{
        return render_payroll(f, fmt, rows, roster, false, errstr, errstr_size);
}

static int payroll_locked(FILE *f, render_fmt_t fmt, render_rows_t rows,
                          const roster_t *roster, char *errstr,
                          size_t errstr_size)
{
        return render_payroll(f, fmt, rows, roster, true, errstr, errstr_size);
}

/* Renders into a string the caller frees; fails the test on an error. */
static char *render(render_fn fn, render_fmt_t fmt, render_rows_t rows,
                    const roster_t *roster)
{
        char *buf = NULL, err[256] = "";
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_non_null(f);
        int rc = fn(f, fmt, rows, roster, err, sizeof(err));
        fclose(f);
        if (rc != 0)
                fail_msg("render failed: %s", err);
        return buf;
}

static void expect_has(const char *text, const char *needle)
{
        if (!strstr(text, needle))
                fail_msg("output lacks \"%s\":\n%s", needle, text);
}

static void expect_lacks(const char *text, const char *needle)
{
        if (strstr(text, needle))
                fail_msg("output has \"%s\":\n%s", needle, text);
}

static size_t count(const char *text, const char *needle)
{
        size_t n = 0;
        for (const char *p = text; (p = strstr(p, needle)); p++)
                n++;
        return n;
}

/* The text between the first `from` and the next `to` (owned copy). */
static char *between(const char *text, const char *from, const char *to)
{
        const char *a = strstr(text, from);
        if (!a)
                fail_msg("no \"%s\" in:\n%s", from, text);
        const char *b = strstr(a + strlen(from), to);
        size_t n = b ? (size_t)(b - a) : strlen(a);
        char *s = malloc(n + 1);
        assert_non_null(s);
        memcpy(s, a, n);
        s[n] = '\0';
        return s;
}

/* Every line ends in CRLF, and no bare LF or CR anywhere (RFC 4180). */
static void expect_crlf(const char *csv)
{
        assert_true(strlen(csv) >= 2);
        assert_string_equal(csv + strlen(csv) - 2, "\r\n");
        for (const char *p = csv; *p; p++) {
                if (*p == '\n' && (p == csv || p[-1] != '\r'))
                        fail_msg("bare LF at byte %td", p - csv);
                if (*p == '\r' && p[1] != '\n')
                        fail_msg("bare CR at byte %td", p - csv);
        }
}

/* A page that loads nothing: no script, no external reference at all. */
static void expect_self_contained(const char *html)
{
        expect_has(html, "<!DOCTYPE html>");
        expect_has(html, "<html lang=\"id\">");
        expect_has(html, "<meta name=\"viewport\"");
        expect_has(html, "<style>");
        expect_has(html, "@media print");
        expect_has(html, "size:A4");
        expect_lacks(html, "<script");
        expect_lacks(html, "src=");
        expect_lacks(html, "href=");
        expect_lacks(html, "http");
        expect_lacks(html, "url(");
        expect_lacks(html, "@import");
        expect_has(html, "</html>\n");
}

/* ---- dates --------------------------------------------------------- */

static void test_dates(void **state)
{
        (void)state;
        static const struct {
                const char *iso, *want;
        } cases[] = {
            {"2026-04-17", "Jumat, 17 April 2026"},
            {"2026-04-13", "Senin, 13 April 2026"},
            {"2026-04-19", "Minggu, 19 April 2026"},
            {"2026-01-01", "Kamis, 1 Januari 2026"},
            {"2026-12-31", "Kamis, 31 Desember 2026"},
            {"2024-02-29", "Kamis, 29 Februari 2024"},
        };
        for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
                int32_t day;
                char buf[64];
                assert_true(
                    ptime_parse_date(cases[i].iso, strlen(cases[i].iso), &day));
                render_format_date(day, buf, sizeof(buf));
                assert_string_equal(buf, cases[i].want);
        }
        char buf[32] = "x";
        assert_true(render_format_period("2026-04", buf, sizeof(buf)));
        assert_string_equal(buf, "April 2026");
        assert_false(render_format_period("2026-13", buf, sizeof(buf)));
        assert_false(render_format_period("2026-4", buf, sizeof(buf)));
}

/* ---- digest -------------------------------------------------------- */

static void test_digest_table(void **state)
{
        (void)state;
        roster_t *ro = load_roster();
        char *t = render(render_digest, RENDER_TABLE, ROWS(digest_lines), ro);
        expect_has(t, "Kamis, 16 April 2026\n");
        expect_has(t, "Jumat, 17 April 2026\n");
        /* the 16th comes first, as given */
        assert_true(strstr(t, "Kamis, 16") < strstr(t, "Jumat, 17"));
        expect_has(t, "Wajib");
        expect_has(t, "Tepat");
        expect_has(t, "66,7%");
        expect_has(t, "50,0%");
        expect_has(t, "100,0%");
        /* the 17th's total: 2 of 5 compliant */
        expect_has(t, "40,0%");
        expect_has(t, "Terlambat masuk 1, Panggilan tidak dijawab 2");
        expect_has(t, "Tidak masuk tanpa ket. 1");
        /* violators by name from the roster, NIP alone when absent */
        expect_has(t, "Budi <b>Santoso</b> & Co (199202022016032002)");
        expect_has(t, ", 199909092020011009");
        expect_has(t, "Andi Hidayat (199303032017031003)");
        /* one line per unit: the unit's counts and its violators together */
        char *line = between(t, "diskominfo ", "\n");
        expect_has(line, "66,7%");
        expect_has(line, "pelanggar: Budi");
        free(line);
        expect_lacks(t, " \n");
        free(t);

        /* without a roster: NIPs only */
        t = render(render_digest, RENDER_TABLE, ROWS(digest_lines), NULL);
        expect_has(t, "pelanggar: 199202022016032002, 199909092020011009");
        expect_lacks(t, "Budi");
        free(t);
        roster_free(ro);
}

static void test_digest_csv(void **state)
{
        (void)state;
        char *c = render(render_digest, RENDER_CSV, ROWS(digest_lines), NULL);
        expect_crlf(c);
        const char header[] =
            "date,unit_id,unit_name,expected,present,present_wfo,present_wfh,"
            "on_time,excused,late_clock_in,early_clock_out,missing_clock_in,"
            "missing_clock_out,absent,wfh_not_permitted,unanswered_call,"
            "compliant,compliance_rate,violators\r\n";
        assert_memory_equal(c, header, strlen(header));
        expect_has(c, "\r\n2026-04-16,bpbd,Badan Penanggulangan Bencana "
                      "Daerah,2,2,2,0,2,0,0,0,0,0,0,0,0,2,1,\r\n");
        expect_has(c, "\r\n2026-04-17,diskominfo,\"Dinas \"\"Kominfo\"\", "
                      "Kota\",3,3,1,2,2,1,1,0,0,0,0,0,2,1,0.6667,"
                      "199202022016032002 199909092020011009\r\n");
        assert_int_equal(count(c, "\r\n"), 1 + ARRAY_LEN(digest_lines));
        free(c);
}

static void test_digest_html(void **state)
{
        (void)state;
        roster_t *ro = load_roster();
        char *h = render(render_digest, RENDER_HTML, ROWS(digest_lines), ro);
        expect_self_contained(h);
        expect_has(h, "<h2>Kamis, 16 April 2026</h2>");
        expect_has(h, "<h2>Jumat, 17 April 2026</h2>");
        expect_has(h, "<svg");
        /* one bar per unit row, in the section of its date */
        assert_int_equal(count(h, "class=\"bar\""), ARRAY_LEN(digest_lines));
        char *d16 = between(
            h, "<section class=\"day\" data-date=\"2026-04-16\"", "</section>");
        char *d17 = between(
            h, "<section class=\"day\" data-date=\"2026-04-17\"", "</section>");
        assert_int_equal(count(d16, "class=\"bar\""), 1);
        assert_int_equal(count(d17, "class=\"bar\""), 2);
        expect_has(d17, "<rect class=\"bar\" data-unit=\"diskominfo\" "
                        "data-rate=\"0.6667\"");
        expect_has(d17, "<rect class=\"bar\" data-unit=\"bpbd\" "
                        "data-rate=\"0.5\"");
        expect_has(d17, ">66,7%</text>");
        /* the 17th's totals: sums over its two rows */
        expect_has(d17, "<tr class=\"total\" data-date=\"2026-04-17\" "
                        "data-units=\"2\" data-expected=\"5\" "
                        "data-present=\"4\"");
        expect_has(d17, "data-compliant=\"2\" data-violations=\"4\" "
                        "data-violators=\"3\"");
        expect_has(d16, "data-expected=\"2\"");
        expect_has(d16, "data-violations=\"0\"");
        /* Indonesian labels of the kinds */
        expect_has(h, "<th class=\"n\">Terlambat masuk</th>");
        expect_has(h, "<th class=\"n\">Panggilan tidak dijawab</th>");
        expect_has(h, "Tepat waktu");
        /* violators with NIP and name; markup in a name is text */
        expect_has(h, "<span class=\"nip\">199202022016032002</span> Budi "
                      "&lt;b&gt;Santoso&lt;/b&gt; &amp; Co</li>");
        expect_has(h, "<span class=\"nip\">199909092020011009</span></li>");
        expect_has(h, "Dinas &quot;Kominfo&quot;, Kota");
        expect_lacks(h, "<b>");
        expect_has(h, "class=\"unit-block\"");
        expect_has(h, "break-inside:avoid");
        free(d16);
        free(d17);
        free(h);
        roster_free(ro);
}

/* ---- payroll ------------------------------------------------------- */

static void test_payroll_table(void **state)
{
        (void)state;
        roster_t *ro = load_roster();
        char *t = render(payroll_open, RENDER_TABLE, ROWS(payroll_lines), ro);
        expect_has(t, "April 2026");
        expect_lacks(t, "sudah dikunci");
        /* grouped per unit, by unit_id: bpbd before diskominfo */
        char *bpbd = between(t, "bpbd — Badan Penanggulangan Bencana Daerah",
                             "Jumlah unit");
        char *kominfo = between(t,
                                "diskominfo — Dinas Komunikasi dan "
                                "Informatika",
                                "Jumlah unit");
        assert_true(strstr(t, "bpbd —") < strstr(t, "diskominfo —"));
        expect_has(bpbd, "Andi Hidayat");
        expect_lacks(bpbd, "Siti");
        expect_has(kominfo, "199001012015031001");
        /* rupiah with dots, percents exact with a decimal comma */
        expect_has(kominfo, "4.500.000");
        expect_has(kominfo, "7,5 ");
        expect_has(kominfo, "270.000");
        expect_has(kominfo, "4.230.000");
        expect_has(kominfo, " 1,4 ");
        expect_lacks(kominfo, "1,400");
        free(bpbd);
        free(kominfo);
        /* unit totals and the city's: 150.000 + 312.000 = 462.000 */
        char *unit = between(t, "Jumlah unit (2 pegawai)", "\n");
        expect_has(unit, "7.500.000");
        expect_has(unit, "312.000");
        expect_has(unit, "7.188.000");
        free(unit);
        char *city = between(t, "Total seluruh unit (3 pegawai)", "\n");
        expect_has(city, "12.500.000");
        expect_has(city, "462.000");
        expect_has(city, "12.038.000");
        free(city);
        free(t);

        t = render(payroll_locked, RENDER_TABLE, ROWS(payroll_lines), ro);
        expect_has(t, "Bulan ini sudah dikunci");
        free(t);
        roster_free(ro);
}

static void test_payroll_csv(void **state)
{
        (void)state;
        char *c = render(payroll_open, RENDER_CSV, ROWS(payroll_lines), NULL);
        expect_crlf(c);
        const char header[] =
            "period,employee_id,name,unit_id,tpp_monthly,late_clock_in,"
            "early_clock_out,missing_clock_in,missing_clock_out,absent,"
            "wfh_not_permitted,unanswered_call,percent,percent_capped,"
            "deduction,tpp_after\r\n";
        assert_memory_equal(c, header, strlen(header));
        /* the name keeps its comma and quotes inside one field; numbers
         * plain, dot decimals, in the rows' order */
        const char rows[] =
            "2026-04,199001012015031001,\"Siti \"\"Ade\"\" Rahma, S.Kom\","
            "diskominfo,4500000,2,0,0,0,1,0,1,7.5,6,270000,4230000\r\n"
            "2026-04,199202022016032002,Budi <b>Santoso</b> & Co,diskominfo,"
            "3000000,1,1,0,0,0,0,0,1.4,1.4,42000,2958000\r\n"
            "2026-04,199303032017031003,Andi Hidayat,bpbd,5000000,0,0,0,0,1,"
            "0,0,3,3,150000,4850000\r\n";
        assert_string_equal(c + strlen(header), rows);
        free(c);
}

static void test_payroll_html(void **state)
{
        (void)state;
        roster_t *ro = load_roster();
        char *h = render(payroll_locked, RENDER_HTML, ROWS(payroll_lines), ro);
        expect_self_contained(h);
        expect_has(h, "Periode April 2026");
        expect_has(h, "Bulan ini sudah dikunci");
        assert_int_equal(count(h, "<section class=\"sheet\""), 2);
        /* page breaks between the sheets when printed */
        expect_has(h, "section.sheet+section.sheet{break-before:page");
        expect_has(h, "<th>NIP</th><th>Nama</th>");
        expect_has(h, "% potongan");
        expect_has(h, "TPP diterima");
        expect_has(h, "Budi &lt;b&gt;Santoso&lt;/b&gt; &amp; Co");
        expect_lacks(h, "<b>");
        expect_has(h, "dari 7,5");
        /* the totals: per unit, and the city equal to their sum */
        expect_has(h, "<tr class=\"unit-total\" data-unit=\"bpbd\" "
                      "data-employees=\"1\" data-tpp-monthly=\"5000000\" "
                      "data-deduction=\"150000\" data-tpp=\"4850000\">");
        expect_has(h, "<tr class=\"unit-total\" data-unit=\"diskominfo\" "
                      "data-employees=\"2\" data-tpp-monthly=\"7500000\" "
                      "data-deduction=\"312000\" data-tpp=\"7188000\">");
        expect_has(h, "<tr class=\"city-total\" data-employees=\"3\" "
                      "data-tpp-monthly=\"12500000\" "
                      "data-deduction=\"462000\" data-tpp=\"12038000\">");
        expect_has(h, "Total seluruh unit");
        /* signatures: the unit's head from the roster, the treasurer
         * blank, the place */
        char *kominfo = between(h,
                                "<section class=\"sheet\" "
                                "data-unit=\"diskominfo\"",
                                "</section>");
        expect_has(kominfo, "Kepala Dinas Komunikasi dan Informatika");
        expect_has(kominfo, "Drs. Kepala Kominfo");
        expect_has(kominfo, "NIP. 197001012000011001");
        expect_has(kominfo, "Bendahara Pengeluaran");
        expect_has(kominfo, "Balikpapan, ");
        free(kominfo);
        char *bpbd = between(h, "<section class=\"sheet\" data-unit=\"bpbd\"",
                             "</section>");
        expect_has(bpbd, "Kepala Badan Penanggulangan Bencana Daerah");
        expect_has(bpbd, "Kepala BPBD");
        free(bpbd);
        free(h);

        /* no roster: unit ids for names, a blank line for the head */
        h = render(payroll_open, RENDER_HTML, ROWS(payroll_lines), NULL);
        expect_lacks(h, "sudah dikunci");
        expect_has(h, "Kepala diskominfo");
        expect_lacks(h, "Drs. Kepala");
        expect_has(h, "<p>NIP. </p>");
        free(h);
        roster_free(ro);
}

/* ---- discipline ---------------------------------------------------- */

static void test_discipline(void **state)
{
        (void)state;
        roster_t *ro = load_roster();
        char *t =
            render(render_discipline, RENDER_TABLE, ROWS(discipline_lines), ro);
        expect_has(t, "tahun 2026");
        expect_has(t, "teguran lisan");
        expect_has(t, "teguran tertulis");
        expect_lacks(t, "teguran_");
        /* the order given, and the roster's name where the row has none */
        assert_true(strstr(t, "Siti Rahma") < strstr(t, "Andi Hidayat"));
        char *line = between(t, "199001012015031001", "\n");
        expect_has(line, "1395");
        expect_has(line, "ringan");
        free(line);
        free(t);

        char *c =
            render(render_discipline, RENDER_CSV, ROWS(discipline_lines), NULL);
        expect_crlf(c);
        const char want[] =
            "year,employee_id,name,unit_id,minutes,days,level,sanction,"
            "unanswered_calls,call_level,call_sanction,policy\r\n"
            "2026,199001012015031001,Siti Rahma,diskominfo,1395,3,ringan,"
            "teguran_lisan,2,ringan,teguran_tertulis,p/1\r\n"
            "2026,199303032017031003,,bpbd,51,0,,,0,,,p/1\r\n";
        assert_string_equal(c, want);
        free(c);

        char *buf = NULL, err[256] = "";
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        assert_int_equal(render_discipline(f, RENDER_HTML,
                                           ROWS(discipline_lines), ro, err,
                                           sizeof(err)),
                         -1);
        fclose(f);
        assert_string_equal(err, "format html tidak tersedia untuk disiplin");
        free(buf);
        roster_free(ro);
}

/* ---- jsonl and refusals -------------------------------------------- */

static void test_jsonl(void **state)
{
        (void)state;
        char *j = render(render_digest, RENDER_JSONL, ROWS(digest_lines), NULL);
        assert_int_equal(count(j, "\n"), ARRAY_LEN(digest_lines));
        assert_memory_equal(j, digest_lines[0], strlen(digest_lines[0]));
        free(j);
}

static void test_bad_rows(void **state)
{
        (void)state;
        static const struct {
                render_fn fn;
                const char *bad; /* the second row */
                const char *err; /* in the message */
        } cases[] = {
            {render_digest, "not json", "row 2: not JSON"},
            {render_digest, "[1,2]", "row 2: not a digest row"},
            {render_digest, "\"text\"", "row 2: not a digest row"},
            {render_digest, "{\"date\":\"2026-04-17\"}", "\"unit_id\""},
            {render_digest, "{\"date\":\"17-04-2026\",\"unit_id\":\"x\"}",
             "\"date\""},
            {render_digest, NULL /* a payroll row */, "row 2: not a digest"},
            {payroll_open, "{\"period\":\"2026-04\",\"employee_id\":\"e\"}",
             "row 2: not a payroll row"},
            {payroll_open,
             "{\"period\":\"2026-05\",\"employee_id\":\"199303032017031003\","
             "\"name\":\"Andi\",\"unit_id\":\"bpbd\",\"tpp_monthly\":"
             "5000000," KINDS(0, 0, 0, 0, 1, 0,
                              0) ",\"percent\":3,\"percent_capped\":3,"
                                 "\"deduction\":150000,\"tpp_after\":"
                                 "4850000}",
             "row 2: period 2026-05, not 2026-04"},
            {render_discipline, "{\"year\":\"2026\"}",
             "row 2: not a discipline row"},
        };
        for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
                const char *first =
                    cases[i].fn == render_digest  ? digest_lines[0]
                    : cases[i].fn == payroll_open ? payroll_lines[0]
                                                  : discipline_lines[0];
                const char *lines[3] = {
                    first, cases[i].bad ? cases[i].bad : payroll_lines[0],
                    first};
                for (int fmt = RENDER_TABLE; fmt <= RENDER_HTML; fmt++) {
                        if (fmt == RENDER_JSONL ||
                            (fmt == RENDER_HTML &&
                             cases[i].fn == render_discipline))
                                continue;
                        char *buf = NULL, err[256] = "";
                        size_t len = 0;
                        FILE *f = open_memstream(&buf, &len);
                        int rc = cases[i].fn(f, (render_fmt_t)fmt,
                                             (render_rows_t){lines, 3}, NULL,
                                             err, sizeof(err));
                        fclose(f);
                        if (rc != -1 || !strstr(err, cases[i].err))
                                fail_msg("case %zu fmt %d: rc %d, message "
                                         "\"%s\" lacks \"%s\"",
                                         i, fmt, rc, err, cases[i].err);
                        /* nothing written: no half report */
                        assert_int_equal(len, 0);
                        free(buf);
                }
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_dates),
            cmocka_unit_test(test_digest_table),
            cmocka_unit_test(test_digest_csv),
            cmocka_unit_test(test_digest_html),
            cmocka_unit_test(test_payroll_table),
            cmocka_unit_test(test_payroll_csv),
            cmocka_unit_test(test_payroll_html),
            cmocka_unit_test(test_discipline),
            cmocka_unit_test(test_jsonl),
            cmocka_unit_test(test_bad_rows),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
