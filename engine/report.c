#include "report.h"

#include "output.h"

#include <stdlib.h>
#include <string.h>

static const char *const labels[VK__COUNT] = {
    "Terlambat masuk",        "Pulang sebelum waktunya", "Tidak presensi masuk",
    "Tidak presensi pulang",  "Tidak masuk tanpa ket.",  "WFH tidak diizinkan",
    "Panggilan tidak dijawab"};

const char *report_kind_label(vkind_t k)
{
        return k < VK__COUNT ? labels[k] : "?";
}

/* Pads to `width` display columns, counting UTF-8 sequences once. */
static void cell(FILE *f, const char *s, int width)
{
        int cols = 0;
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
                if ((*p & 0xC0) == 0x80)
                        continue;
                if (cols == width - 1 && p[1] && strlen((const char *)p) > 1) {
                        fputs("…", f);
                        cols++;
                        break;
                }
                fputc(*p, f);
                cols++;
                /* copy the continuation bytes of this character */
                while ((p[1] & 0xC0) == 0x80)
                        fputc(*++p, f);
        }
        for (; cols < width; cols++)
                fputc(' ', f);
        fputc(' ', f);
}

typedef struct unit_sum {
        const char *unit_id;
        const char *unit_name;
        long count[VK__COUNT];
        long total;
        int64_t amount;
} unit_sum_t;

void report_print(FILE *f, const eval_ctx_t *ctx, const report_row_t *rows,
                  size_t n)
{
        size_t active = 0;
        for (size_t i = 0; i < n; i++)
                active += rows[i].p->active;
        fprintf(f, "\nPelanggaran aktif: %zu\n\n", active);
        if (active) {
                cell(f, "Tanggal", 10);
                cell(f, "NIP", 18);
                cell(f, "Nama", 22);
                cell(f, "Unit", 12);
                cell(f, "Pelanggaran", 24);
                cell(f, "Band", 5);
                cell(f, "Menit", 5);
                cell(f, "TPP %", 5);
                fputs("Potongan (Rp)\n", f);
                for (int i = 0; i < 120; i++)
                        fputc('-', f);
                fputc('\n', f);
        }
        unit_sum_t *units =
            calloc(ctx->roster->n ? ctx->roster->n : 1, sizeof(*units));
        size_t n_units = 0;
        for (size_t i = 0; i < n; i++) {
                const eval_pub_t *p = rows[i].p;
                if (!p->active)
                        continue;
                const roster_emp_t *e = &ctx->roster->emp[rows[i].emp];
                char date[11], mins[16], pct[16], amt[48];
                ptime_format_date(rows[i].day, date);
                snprintf(mins, sizeof(mins), "%lld", (long long)p->d.minutes);
                snprintf(pct, sizeof(pct), "%g", p->d.pct);
                for (char *c = pct; *c; c++)
                        if (*c == '.')
                                *c = ','; /* Indonesian decimal comma */
                out_thousands(p->d.amount, amt, sizeof(amt));
                cell(f, date, 10);
                cell(f, e->employee_id, 18);
                cell(f, e->name, 22);
                cell(f, e->unit_id, 12);
                cell(f, report_kind_label(p->d.kind), 24);
                cell(f, p->d.band ? p->d.band->name : "-", 5);
                cell(f, p->d.minutes >= 0 ? mins : "-", 5);
                cell(f, pct, 5);
                fprintf(f, "%s\n", amt);
                if (!units)
                        continue;
                size_t u;
                for (u = 0; u < n_units; u++)
                        if (strcmp(units[u].unit_id, e->unit_id) == 0)
                                break;
                if (u == n_units) {
                        units[n_units].unit_id = e->unit_id;
                        units[n_units].unit_name = e->unit_name;
                        n_units++;
                }
                units[u].count[p->d.kind]++;
                units[u].total++;
                units[u].amount += p->d.amount;
        }
        if (n_units) {
                fprintf(f, "\nRekap per unit kerja\n\n");
                cell(f, "Unit", 12);
                cell(f, "Nama unit", 34);
                cell(f, "Jumlah", 6);
                fputs("Rincian\n", f);
                for (size_t u = 0; u < n_units; u++) {
                        char total[16], amt[48], detail[512] = "";
                        size_t len = 0;
                        for (int k = 0; k < VK__COUNT; k++)
                                if (units[u].count[k] && len < sizeof(detail))
                                        len += (size_t)snprintf(
                                            detail + len, sizeof(detail) - len,
                                            "%s%s %ld", len ? ", " : "",
                                            labels[k], units[u].count[k]);
                        snprintf(total, sizeof(total), "%ld", units[u].total);
                        out_thousands(units[u].amount, amt, sizeof(amt));
                        cell(f, units[u].unit_id, 12);
                        cell(f, units[u].unit_name, 34);
                        cell(f, total, 6);
                        fprintf(f, "%s; potongan TPP Rp%s\n", detail, amt);
                }
        }
        free(units);
}

void report_print_digest(FILE *f, const eval_ctx_t *ctx,
                         const digest_row_t *rows, size_t n)
{
        fprintf(f, "\nRekap harian per unit kerja (kepatuhan = pegawai wajib "
                   "hadir tanpa pelanggaran aktif / pegawai wajib hadir)\n\n");
        cell(f, "Tanggal", 10);
        cell(f, "Unit", 12);
        cell(f, "Wajib", 5);
        cell(f, "WFO", 4);
        cell(f, "WFH", 4);
        cell(f, "Tepat", 5);
        cell(f, "Patuh", 5);
        cell(f, "Kepatuhan", 9);
        fputs("Pelanggaran\n", f);
        for (size_t i = 0; i < n; i++) {
                const digest_row_t *r = &rows[i];
                char date[11], b[5][16], rate[16], detail[512] = "";
                size_t len = 0;
                ptime_format_date(r->day, date);
                snprintf(b[0], sizeof(b[0]), "%ld", r->expected);
                snprintf(b[1], sizeof(b[1]), "%ld", r->present_wfo);
                snprintf(b[2], sizeof(b[2]), "%ld", r->present_wfh);
                snprintf(b[3], sizeof(b[3]), "%ld", r->on_time);
                snprintf(b[4], sizeof(b[4]), "%ld", r->compliant);
                if (r->expected)
                        snprintf(rate, sizeof(rate), "%.1f%%",
                                 100.0 * (double)r->compliant /
                                     (double)r->expected);
                else
                        snprintf(rate, sizeof(rate), "-");
                for (char *c = rate; *c; c++)
                        if (*c == '.')
                                *c = ',';
                for (int k = 0; k < VK__COUNT; k++)
                        if (r->by_kind[k] && len < sizeof(detail))
                                len += (size_t)snprintf(
                                    detail + len, sizeof(detail) - len,
                                    "%s%s %ld", len ? ", " : "", labels[k],
                                    r->by_kind[k]);
                cell(f, date, 10);
                cell(f, ctx->roster->emp[r->unit_emp].unit_id, 12);
                cell(f, b[0], 5);
                cell(f, b[1], 4);
                cell(f, b[2], 4);
                cell(f, b[3], 5);
                cell(f, b[4], 5);
                cell(f, rate, 9);
                fprintf(f, "%s\n", len ? detail : "-");
        }
}
