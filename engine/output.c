#include "output.h"

#include "../rules/sha256.h"
#include "../rules/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const hari[] = {"Senin", "Selasa", "Rabu",  "Kamis",
                                   "Jumat", "Sabtu",  "Minggu"};
static const char *const bulan[] = {
        "Januari", "Februari", "Maret",     "April",   "Mei",      "Juni",
        "Juli",    "Agustus",  "September", "Oktober", "November", "Desember"};

void out_violation_id(const eval_ctx_t *ctx, int32_t emp, int32_t day,
                      const eval_decision_t *d, char id[33])
{
        char date[11];
        ptime_format_date(day, date);
        const char *fields[] = {ctx->policy->policy_id, vkind_name(d->kind),
                                ctx->roster->emp[emp].employee_id, date,
                                d->subject};
        sha256_id32(fields, 5, id);
}

void out_format_time(const eval_ctx_t *ctx, ptime_t t, char buf[40])
{
        int32_t off = tz_offset_at(ctx->policy->tz, t.sec);
        int64_t local = t.sec + off;
        int32_t day = (int32_t)ptime_floordiv(local, 86400);
        int64_t sod = local - (int64_t)day * 86400;
        char date[11];
        ptime_format_date(day, date);
        int aoff = off < 0 ? -off : off;
        snprintf(buf, 40, "%sT%02d:%02d:%02d%c%02d:%02d", date,
                 (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60),
                 off < 0 ? '-' : '+', aoff / 3600, aoff / 60 % 60);
}

static json_t *str_or_null(const char *s)
{
        return s ? json_string(s) : json_null();
}

static json_t *percent_json(double pct)
{
        /* Integral percentages print as integers, as in the policy. */
        if (pct == (double)(long long)pct)
                return json_integer((json_int_t)pct);
        return json_real(pct);
}

/* Indonesian long date: "Jumat, 10 April 2026". */
static void tanggal(int32_t day, char *buf, size_t n)
{
        int y, m, d;
        ptime_civil_from_days(day, &y, &m, &d);
        snprintf(buf, n, "%s, %d %s %d", hari[ptime_weekday(day)], d,
                 bulan[m - 1], y);
}

/* "Rp45.000": thousands separated by dots. */
static void rupiah(int64_t amount, char *buf, size_t n)
{
        char digits[32];
        snprintf(digits, sizeof(digits), "%lld", (long long)amount);
        size_t len = strlen(digits), j = 0;
        char tmp[48];
        for (size_t i = 0; i < len && j + 2 < sizeof(tmp); i++) {
                if (i > 0 && (len - i) % 3 == 0)
                        tmp[j++] = '.';
                tmp[j++] = digits[i];
        }
        tmp[j] = '\0';
        snprintf(buf, n, "Rp%s", tmp);
}

static void clock_text(const eval_ctx_t *ctx, ptime_t t, char *buf, size_t n)
{
        int64_t m = tz_local_minute(ctx->policy->tz, t);
        int64_t mod = m - ptime_floordiv(m, 1440) * 1440;
        snprintf(buf, n, "%02d:%02d %s", (int)(mod / 60), (int)(mod % 60),
                 tz_abbrev_at(ctx->policy->tz, t.sec));
}

void out_violation_text(const eval_ctx_t *ctx, int32_t emp, int32_t day,
                        const eval_decision_t *d, char *buf, size_t n)
{
        (void)emp;
        (void)day;
        char clk[32];
        const char *band = d->band ? d->band->name : "";
        switch (d->kind) {
        case VK_LATE_CLOCK_IN:
                snprintf(buf, n, "terlambat masuk %lld menit (%s)",
                         (long long)d->minutes, band);
                break;
        case VK_EARLY_CLOCK_OUT:
                snprintf(buf, n, "pulang sebelum waktunya %lld menit (%s)",
                         (long long)d->minutes, band);
                break;
        case VK_MISSING_CLOCK_IN:
                snprintf(buf, n, "tidak melakukan presensi masuk");
                break;
        case VK_MISSING_CLOCK_OUT:
                snprintf(buf, n, "tidak melakukan presensi pulang");
                break;
        case VK_ABSENT:
                snprintf(buf, n, "tidak masuk kerja tanpa keterangan");
                break;
        case VK_WFH_NOT_PERMITTED:
                snprintf(buf, n,
                         "melakukan presensi Tugas Luar Kantor (WFH) pada "
                         "hari yang wajib bekerja di kantor");
                break;
        case VK_UNANSWERED_CALL:
                clock_text(ctx, d->call_at, clk, sizeof(clk));
                snprintf(buf, n,
                         "tidak menjawab panggilan dinas dari %s pukul %s "
                         "dan tidak membalas dalam %lld menit",
                         d->caller >= 0 && ctx->roster->emp[d->caller].name[0]
                                 ? ctx->roster->emp[d->caller].name
                                 : "atasan/rekan kerja",
                         clk, (long long)ctx->policy->callback_minutes);
                break;
        default:
                snprintf(buf, n, "pelanggaran");
        }
}

json_t *out_violation(const eval_ctx_t *ctx, int32_t emp, int32_t day,
                      const eval_pub_t *p, ptime_t decided_at)
{
        const roster_emp_t *e = &ctx->roster->emp[emp];
        const eval_decision_t *d = &p->d;
        const policy_kind_t *pk = &ctx->policy->kind[d->kind];
        char id[33], date[11], at[40];
        out_violation_id(ctx, emp, day, d, id);
        ptime_format_date(day, date);
        out_format_time(ctx, decided_at, at);
        json_t *ev = json_array();
        for (size_t i = 0; i < d->n_evidence; i++)
                json_array_append_new(ev, json_string(d->evidence[i]));
        json_t *o = json_object();
        json_object_set_new(o, "violation_id", json_string(id));
        json_object_set_new(o, "kind", json_string(vkind_name(d->kind)));
        json_object_set_new(o, "employee_id", json_string(e->employee_id));
        json_object_set_new(o, "unit_id", json_string(e->unit_id));
        json_object_set_new(o, "supervisor_id", str_or_null(e->supervisor_id));
        json_object_set_new(o, "date", json_string(date));
        json_object_set_new(o, "subject", json_string(d->subject));
        json_object_set_new(o, "band",
                            d->band ? json_string(d->band->name) : json_null());
        json_object_set_new(o, "minutes",
                            d->minutes >= 0 ? json_integer(d->minutes)
                                            : json_null());
        json_object_set_new(o, "severity", json_string(pk->severity));
        json_object_set_new(o, "clause", json_string(pk->clause));
        json_object_set_new(o, "tpp_percent", percent_json(d->pct));
        json_object_set_new(o, "tpp_amount", json_integer(d->amount));
        json_object_set_new(o, "evidence", ev);
        json_object_set_new(o, "status",
                            json_string(p->active ? "active" : "retracted"));
        if (!p->active)
                json_object_set_new(o, "reason", json_string(p->reason));
        json_object_set_new(o, "revision", json_integer(p->revision));
        json_object_set_new(o, "decided_at", json_string(at));
        json_object_set_new(o, "policy", json_string(ctx->policy->label));
        return o;
}

json_t *out_tpp(const eval_ctx_t *ctx, int32_t emp, int32_t day,
                const eval_pub_t *p)
{
        char id[33], date[11];
        out_violation_id(ctx, emp, day, &p->d, id);
        ptime_format_date(day, date);
        date[7] = '\0'; /* "YYYY-MM" */
        json_t *o = json_object();
        json_object_set_new(o, "violation_id", json_string(id));
        json_object_set_new(o, "employee_id",
                            json_string(ctx->roster->emp[emp].employee_id));
        json_object_set_new(o, "period", json_string(date));
        json_object_set_new(o, "percent", percent_json(p->d.pct));
        json_object_set_new(o, "amount", json_integer(p->d.amount));
        json_object_set_new(o, "status",
                            json_string(p->active ? "active" : "retracted"));
        return o;
}

/* Alerts go to the violator's supervisor; without one, to the head of the
 * agency; without either, to the operators (documented choice). */
static const char *alert_key(const roster_emp_t *e)
{
        if (e->supervisor_id)
                return e->supervisor_id;
        if (e->head_id)
                return e->head_id;
        return "operators";
}

static json_t *alert_base(const eval_ctx_t *ctx, const char *kind,
                          const char *key, int32_t emp, int32_t day,
                          const char *violation_id, const char *text,
                          ptime_t at)
{
        char date[11], ts[40], aid[33];
        ptime_format_date(day, date);
        out_format_time(ctx, at, ts);
        const roster_emp_t *e = emp >= 0 ? &ctx->roster->emp[emp] : NULL;
        const char *fields[] = {kind, e ? e->employee_id : "", date,
                                violation_id ? violation_id : ""};
        sha256_id32(fields, 4, aid);
        json_t *o = json_object();
        json_object_set_new(o, "alert_id", json_string(aid));
        json_object_set_new(o, "kind", json_string(kind));
        json_object_set_new(o, "key", json_string(key));
        json_object_set_new(o, "employee_id",
                            e ? json_string(e->employee_id) : json_null());
        json_object_set_new(o, "supervisor_id",
                            e ? str_or_null(e->supervisor_id) : json_null());
        json_object_set_new(o, "unit_id",
                            e ? json_string(e->unit_id) : json_null());
        json_object_set_new(o, "date", json_string(date));
        json_object_set_new(o, "violation_id", str_or_null(violation_id));
        json_object_set_new(o, "text", json_string(text));
        json_object_set_new(o, "at", json_string(ts));
        return o;
}

json_t *out_alert_violation(const eval_ctx_t *ctx, int32_t emp, int32_t day,
                            const eval_pub_t *p, ptime_t at)
{
        const roster_emp_t *e = &ctx->roster->emp[emp];
        char id[33], what[256], tgl[64], rp[64], text[768];
        out_violation_id(ctx, emp, day, &p->d, id);
        out_violation_text(ctx, emp, day, &p->d, what, sizeof(what));
        tanggal(day, tgl, sizeof(tgl));
        rupiah(p->d.amount, rp, sizeof(rp));
        if (p->d.pct_u > 0) {
                char pct[32];
                snprintf(pct, sizeof(pct), "%g", p->d.pct);
                for (char *c = pct; *c; c++)
                        if (*c == '.')
                                *c = ',';
                snprintf(text, sizeof(text),
                         "%s (NIP %s) %s pada %s. Potongan TPP %s%% (%s), "
                         "dasar %s.",
                         e->name, e->employee_id, what, tgl, pct, rp,
                         ctx->policy->kind[p->d.kind].clause);
        } else {
                snprintf(text, sizeof(text), "%s (NIP %s) %s pada %s (%s).",
                         e->name, e->employee_id, what, tgl,
                         ctx->policy->kind[p->d.kind].clause);
        }
        return alert_base(ctx, "violation", alert_key(e), emp, day, id, text,
                          at);
}

json_t *out_alert_not_clocked_in(const eval_ctx_t *ctx, int32_t emp,
                                 int32_t day, ptime_t at)
{
        const roster_emp_t *e = &ctx->roster->emp[emp];
        char tgl[64], clk[32], text[512];
        tanggal(day, tgl, sizeof(tgl));
        clock_text(ctx, eval_alert_due(ctx, day), clk, sizeof(clk));
        snprintf(text, sizeof(text),
                 "%s (NIP %s) belum melakukan presensi masuk hingga pukul %s "
                 "pada %s.",
                 e->name, e->employee_id, clk, tgl);
        return alert_base(ctx, "not_clocked_in", alert_key(e), emp, day, NULL,
                          text, at);
}

json_t *out_alert_no_presence(const eval_ctx_t *ctx, int32_t day, ptime_t at)
{
        char tgl[64], text[512];
        tanggal(day, tgl, sizeof(tgl));
        snprintf(text, sizeof(text),
                 "Tidak ada data presensi yang diterima untuk hari kerja %s. "
                 "Kemungkinan sumber data (e-Manuntung) terganggu; keputusan "
                 "kehadiran dan panggilan untuk hari itu tidak dibuat.",
                 tgl);
        return alert_base(ctx, "no_presence_data", "operators", -1, day, NULL,
                          text, at);
}

static bool valid_utf8(const char *s, size_t n)
{
        json_t *j = json_stringn(s, n); /* jansson validates UTF-8 */
        bool ok = j != NULL;
        json_decref(j);
        return ok;
}

static void base64(const unsigned char *in, size_t n, char *out)
{
        static const char tb[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        size_t j = 0;
        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t)in[i] << 16;
                if (i + 1 < n)
                        v |= (uint32_t)in[i + 1] << 8;
                if (i + 2 < n)
                        v |= in[i + 2];
                out[j++] = tb[v >> 18 & 63];
                out[j++] = tb[v >> 12 & 63];
                out[j++] = i + 1 < n ? tb[v >> 6 & 63] : '=';
                out[j++] = i + 2 < n ? tb[v & 63] : '=';
        }
        out[j] = '\0';
}

json_t *out_dlq(const eval_ctx_t *ctx, const out_dlq_src_t *src,
                dlq_reason_t reason, const char *detail, const char *event_id,
                const char *raw, size_t raw_len)
{
        json_t *o = json_object();
        json_object_set_new(o, "file", str_or_null(src->file));
        json_object_set_new(o, "line", src->line > 0 ? json_integer(src->line)
                                                     : json_null());
        json_object_set_new(o, "topic",
                            src->topic >= 0
                                    ? json_string(rec_topic_name(
                                              (rec_topic_t)src->topic))
                                    : json_null());
        json_object_set_new(o, "partition",
                            src->partition >= 0 ? json_integer(src->partition)
                                                : json_null());
        json_object_set_new(o, "offset", src->offset >= 0
                                                 ? json_integer(src->offset)
                                                 : json_null());
        json_object_set_new(o, "reason", json_string(dlq_reason_name(reason)));
        json_object_set_new(o, "detail", json_string(detail ? detail : ""));
        json_object_set_new(o, "event_id",
                            event_id && *event_id ? json_string(event_id)
                                                  : json_null());
        if (src->has_ts) {
                char ts[40];
                out_format_time(ctx, src->ts, ts);
                json_object_set_new(o, "ts", json_string(ts));
        } else {
                json_object_set_new(o, "ts", json_null());
        }
        if (valid_utf8(raw, raw_len)) {
                json_object_set_new(o, "raw", json_stringn(raw, raw_len));
        } else {
                char *b = malloc(raw_len / 3 * 4 + 8);
                if (b) {
                        base64((const unsigned char *)raw, raw_len, b);
                        json_object_set_new(o, "raw_base64", json_string(b));
                        free(b);
                }
        }
        return o;
}
