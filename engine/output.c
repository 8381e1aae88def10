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

/* Texts are assembled piece by piece, exactly as snprintf(buf, n, ...) of
 * %s and %d pieces would write them (as much as fits in n - 1 bytes,
 * always NUL-terminated), without printf's cost on every output. */
typedef struct sb {
        char *buf;
        size_t n;
        size_t len;
} sb_t;

static void sb_init(sb_t *b, char *buf, size_t n)
{
        b->buf = buf;
        b->n = n;
        b->len = 0;
        if (n)
                buf[0] = '\0';
}

static void sb_put(sb_t *b, const char *s, size_t k)
{
        if (b->n == 0)
                return;
        size_t room = b->n - 1 - b->len;
        if (k > room)
                k = room;
        memcpy(b->buf + b->len, s, k);
        b->len += k;
        b->buf[b->len] = '\0';
}

/* a string literal */
#define sb_lit(b, lit) sb_put((b), (lit), sizeof(lit) - 1)

static void sb_str(sb_t *b, const char *s)
{
        sb_put(b, s, strlen(s));
}

static void sb_int(sb_t *b, int64_t v)
{
        char t[24];
        sb_put(b, t, jw_itoa(v, t));
}

/* %02d of 0 <= v <= 99 */
static void put2(char *p, int v)
{
        p[0] = (char)('0' + v / 10);
        p[1] = (char)('0' + v % 10);
}

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
        if (aoff / 3600 > 99) { /* no such zone; printf's widths then */
                snprintf(buf, 40, "%sT%02d:%02d:%02d%c%02d:%02d", date,
                         (int)(sod / 3600), (int)(sod / 60 % 60),
                         (int)(sod % 60), off < 0 ? '-' : '+', aoff / 3600,
                         aoff / 60 % 60);
                return;
        }
        /* YYYY-MM-DDTHH:MM:SS+HH:MM */
        ptime_format_datetime(local, buf);
        buf[19] = off < 0 ? '-' : '+';
        put2(buf + 20, aoff / 3600);
        buf[22] = ':';
        put2(buf + 23, aoff / 60 % 60);
        buf[25] = '\0';
}

const char *out_month_name(int month)
{
        return month >= 1 && month <= 12 ? bulan[month - 1] : "?";
}

void out_date_text(int32_t day, char *buf, size_t n)
{
        int y, m, d;
        sb_t b;
        ptime_civil_from_days(day, &y, &m, &d);
        sb_init(&b, buf, n);
        sb_str(&b, hari[ptime_weekday(day)]);
        sb_lit(&b, ", ");
        sb_int(&b, d);
        sb_lit(&b, " ");
        sb_str(&b, bulan[m - 1]);
        sb_lit(&b, " ");
        sb_int(&b, y);
}

void out_thousands(int64_t v, char *buf, size_t n)
{
        char d[32], t[48];
        size_t len = jw_itoa(v, d), j = 0;
        /* the sign is no digit: group the digits after it */
        size_t first = d[0] == '-';
        for (size_t i = 0; i < len && j + 2 < sizeof(t); i++) {
                if (i > first && (len - i) % 3 == 0)
                        t[j++] = '.';
                t[j++] = d[i];
        }
        t[j] = '\0';
        sb_t b;
        sb_init(&b, buf, n);
        sb_put(&b, t, j);
}

void out_rupiah(int64_t amount, char *buf, size_t n)
{
        char t[48];
        sb_t b;
        out_thousands(amount, t, sizeof(t));
        sb_init(&b, buf, n);
        sb_lit(&b, "Rp");
        sb_str(&b, t);
}

static void clock_text(const eval_ctx_t *ctx, ptime_t t, char *buf, size_t n)
{
        int64_t m = tz_local_minute(ctx->policy->tz, t);
        int64_t mod = m - ptime_floordiv(m, 1440) * 1440; /* 0 .. 1439 */
        char hm[6];
        sb_t b;
        put2(hm, (int)(mod / 60));
        hm[2] = ':';
        put2(hm + 3, (int)(mod % 60));
        hm[5] = ' ';
        sb_init(&b, buf, n);
        sb_put(&b, hm, 6);
        sb_str(&b, tz_abbrev_at(ctx->policy->tz, t.sec));
}

void out_violation_text(const eval_ctx_t *ctx, int32_t emp, int32_t day,
                        const eval_decision_t *d, char *buf, size_t n)
{
        (void)emp;
        (void)day;
        char clk[32];
        const char *band = d->band ? d->band->name : "";
        sb_t b;
        sb_init(&b, buf, n);
        switch (d->kind) {
        case VK_LATE_CLOCK_IN:
        case VK_EARLY_CLOCK_OUT:
                sb_str(&b, d->kind == VK_LATE_CLOCK_IN
                               ? "terlambat masuk "
                               : "pulang sebelum waktunya ");
                sb_int(&b, d->minutes);
                sb_lit(&b, " menit (");
                sb_str(&b, band);
                sb_lit(&b, ")");
                break;
        case VK_MISSING_CLOCK_IN:
                sb_str(&b, "tidak melakukan presensi masuk");
                break;
        case VK_MISSING_CLOCK_OUT:
                sb_str(&b, "tidak melakukan presensi pulang");
                break;
        case VK_ABSENT:
                sb_str(&b, "tidak masuk kerja tanpa keterangan");
                break;
        case VK_WFH_NOT_PERMITTED:
                sb_str(&b, "melakukan presensi Tugas Luar Kantor (WFH) pada "
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

void out_violation(jw_t *w, const eval_ctx_t *ctx, int32_t emp, int32_t day,
                   const eval_pub_t *p)
{
        const roster_emp_t *e = &ctx->roster->emp[emp];
        const eval_decision_t *d = &p->d;
        const policy_kind_t *pk = &ctx->policy->kind[d->kind];
        char id[33], date[11], at[40];
        if (p->violation_id[0])
                memcpy(id, p->violation_id, sizeof(id));
        else
                out_violation_id(ctx, emp, day, d, id);
        ptime_format_date(day, date);
        out_format_time(ctx, p->decided_at, at);
        jw_obj_begin(w);
        jw_key(w, "violation_id");
        jw_str(w, id);
        jw_key(w, "kind");
        jw_str(w, vkind_name(d->kind));
        jw_key(w, "employee_id");
        jw_str(w, e->employee_id);
        jw_key(w, "unit_id");
        jw_str(w, e->unit_id);
        jw_key(w, "supervisor_id");
        jw_str(w, e->supervisor_id);
        jw_key(w, "date");
        jw_str(w, date);
        jw_key(w, "subject");
        jw_str(w, d->subject);
        jw_key(w, "band");
        jw_str(w, d->band ? d->band->name : NULL);
        jw_key(w, "minutes");
        if (d->minutes >= 0)
                jw_int(w, d->minutes);
        else
                jw_null(w);
        jw_key(w, "severity");
        jw_str(w, pk->severity);
        jw_key(w, "clause");
        jw_str(w, pk->clause);
        jw_key(w, "tpp_percent");
        jw_pct(w, d->pct);
        jw_key(w, "tpp_amount");
        jw_int(w, d->amount);
        jw_key(w, "evidence");
        jw_arr_begin(w);
        for (size_t i = 0; i < d->n_evidence; i++)
                jw_str(w, d->evidence[i]);
        jw_arr_end(w);
        jw_key(w, "status");
        jw_str(w, p->active ? "active" : "retracted");
        if (!p->active) {
                jw_key(w, "reason");
                jw_str(w, p->reason);
        }
        jw_key(w, "revision");
        jw_int(w, p->revision);
        jw_key(w, "decided_at");
        jw_str(w, at);
        jw_key(w, "policy");
        jw_str(w, ctx->policy->label);
        jw_obj_end(w);
}

void out_tpp(jw_t *w, const eval_ctx_t *ctx, int32_t emp, int32_t day,
             const eval_pub_t *p)
{
        char id[33], date[11];
        if (p->violation_id[0])
                memcpy(id, p->violation_id, sizeof(id));
        else
                out_violation_id(ctx, emp, day, &p->d, id);
        ptime_format_date(day, date);
        date[7] = '\0'; /* "YYYY-MM" */
        jw_obj_begin(w);
        jw_key(w, "violation_id");
        jw_str(w, id);
        jw_key(w, "employee_id");
        jw_str(w, ctx->roster->emp[emp].employee_id);
        jw_key(w, "period");
        jw_str(w, date);
        jw_key(w, "percent");
        jw_pct(w, p->d.pct);
        jw_key(w, "amount");
        jw_int(w, p->d.amount);
        jw_key(w, "status");
        jw_str(w, p->active ? "active" : "retracted");
        jw_obj_end(w);
}

static void alert_base(jw_t *w, const eval_ctx_t *ctx, const char *kind,
                       const char *key, int32_t emp, int32_t day,
                       const char *violation_id, const char *text, ptime_t at)
{
        char date[11], ts[40], aid[33];
        ptime_format_date(day, date);
        out_format_time(ctx, at, ts);
        const roster_emp_t *e = emp >= 0 ? &ctx->roster->emp[emp] : NULL;
        const char *fields[] = {kind, e ? e->employee_id : "", date,
                                violation_id ? violation_id : ""};
        sha256_id32(fields, 4, aid);
        jw_obj_begin(w);
        jw_key(w, "alert_id");
        jw_str(w, aid);
        jw_key(w, "kind");
        jw_str(w, kind);
        jw_key(w, "key");
        jw_str(w, key);
        jw_key(w, "employee_id");
        jw_str(w, e ? e->employee_id : NULL);
        jw_key(w, "supervisor_id");
        jw_str(w, e ? e->supervisor_id : NULL);
        jw_key(w, "unit_id");
        jw_str(w, e ? e->unit_id : NULL);
        jw_key(w, "date");
        jw_str(w, date);
        jw_key(w, "violation_id");
        jw_str(w, violation_id);
        jw_key(w, "text");
        jw_str(w, text);
        jw_key(w, "at");
        jw_str(w, ts);
        jw_obj_end(w);
}

void out_alert_violation(jw_t *w, const eval_ctx_t *ctx, int32_t emp,
                         int32_t day, const eval_pub_t *p, ptime_t at)
{
        const roster_emp_t *e = &ctx->roster->emp[emp];
        char id[33], what[256], tgl[64], rp[64], text[768];
        if (p->violation_id[0])
                memcpy(id, p->violation_id, sizeof(id));
        else
                out_violation_id(ctx, emp, day, &p->d, id);
        out_violation_text(ctx, emp, day, &p->d, what, sizeof(what));
        out_date_text(day, tgl, sizeof(tgl));
        out_rupiah(p->d.amount, rp, sizeof(rp));
        sb_t b;
        sb_init(&b, text, sizeof(text));
        sb_str(&b, e->name);
        sb_lit(&b, " (NIP ");
        sb_str(&b, e->employee_id);
        sb_lit(&b, ") ");
        sb_str(&b, what);
        sb_lit(&b, " pada ");
        sb_str(&b, tgl);
        if (p->d.pct_u > 0) {
                char pct[32];
                jw_format_g(w, p->d.pct, pct, sizeof(pct));
                for (char *c = pct; *c; c++)
                        if (*c == '.')
                                *c = ',';
                sb_lit(&b, ". Potongan TPP ");
                sb_str(&b, pct);
                sb_lit(&b, "% (");
                sb_str(&b, rp);
                sb_lit(&b, "), dasar ");
                sb_str(&b, ctx->policy->kind[p->d.kind].clause);
                sb_lit(&b, ".");
        } else {
                sb_lit(&b, " (");
                sb_str(&b, ctx->policy->kind[p->d.kind].clause);
                sb_lit(&b, ").");
        }
        alert_base(w, ctx, "violation", eval_alert_recipient(ctx->roster, emp),
                   emp, day, id, text, at);
}

void out_alert_not_clocked_in(jw_t *w, const eval_ctx_t *ctx, int32_t emp,
                              int32_t day, ptime_t at)
{
        const roster_emp_t *e = &ctx->roster->emp[emp];
        char tgl[64], clk[32], text[512];
        sb_t b;
        out_date_text(day, tgl, sizeof(tgl));
        clock_text(ctx, eval_alert_due(ctx, day), clk, sizeof(clk));
        sb_init(&b, text, sizeof(text));
        sb_str(&b, e->name);
        sb_lit(&b, " (NIP ");
        sb_str(&b, e->employee_id);
        sb_lit(&b, ") belum melakukan presensi masuk hingga pukul ");
        sb_str(&b, clk);
        sb_lit(&b, " pada ");
        sb_str(&b, tgl);
        sb_lit(&b, ".");
        alert_base(w, ctx, "not_clocked_in",
                   eval_alert_recipient(ctx->roster, emp), emp, day, NULL, text,
                   at);
}

void out_alert_no_presence(jw_t *w, const eval_ctx_t *ctx, int32_t day,
                           ptime_t at)
{
        char tgl[64], text[512];
        out_date_text(day, tgl, sizeof(tgl));
        snprintf(text, sizeof(text),
                 "Tidak ada data presensi yang diterima untuk hari kerja %s. "
                 "Kemungkinan sumber data (e-Manuntung) terganggu; keputusan "
                 "kehadiran dan panggilan untuk hari itu tidak dibuat.",
                 tgl);
        alert_base(w, ctx, "no_presence_data", "operators", -1, day, NULL, text,
                   at);
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

/* A detail quotes the bad value cut to fit (40, 60 or 80 bytes), which can
 * end inside a character: its longest UTF-8 prefix keeps the dead letter
 * text that PostgreSQL's jsonb takes (it refuses invalid UTF-8, and
 * patuhd retries a refused batch). */
static size_t utf8_prefix(const char *s)
{
        size_t n = strlen(s);
        while (n > 0 && !pj_utf8_valid(s, n))
                n--;
        return n;
}

void out_dlq(jw_t *w, const eval_ctx_t *ctx, const out_dlq_src_t *src,
             dlq_reason_t reason, const char *detail, const char *event_id,
             const char *raw, size_t raw_len)
{
        jw_obj_begin(w);
        jw_key(w, "file");
        jw_str(w, src->file);
        jw_key(w, "line");
        if (src->line > 0)
                jw_int(w, src->line);
        else
                jw_null(w);
        jw_key(w, "topic");
        jw_str(w, src->topic >= 0 ? rec_topic_name((rec_topic_t)src->topic)
                                  : NULL);
        jw_key(w, "partition");
        if (src->partition >= 0)
                jw_int(w, src->partition);
        else
                jw_null(w);
        jw_key(w, "offset");
        if (src->offset >= 0)
                jw_int(w, src->offset);
        else
                jw_null(w);
        jw_key(w, "reason");
        jw_str(w, dlq_reason_name(reason));
        jw_key(w, "detail");
        jw_strn(w, detail ? detail : "", detail ? utf8_prefix(detail) : 0);
        jw_key(w, "event_id");
        jw_str(w, event_id && *event_id ? event_id : NULL);
        jw_key(w, "ts");
        if (src->has_ts) {
                char ts[40];
                out_format_time(ctx, src->ts, ts);
                jw_str(w, ts);
        } else {
                jw_null(w);
        }
        /* text when it is UTF-8 without NUL (PostgreSQL's jsonb refuses
         * \u0000), else base64 */
        if (pj_utf8_valid(raw, raw_len) && !memchr(raw, '\0', raw_len)) {
                jw_key(w, "raw");
                jw_strn(w, raw, raw_len);
        } else {
                char *b = malloc(raw_len / 3 * 4 + 8);
                if (b) {
                        base64((const unsigned char *)raw, raw_len, b);
                        jw_key(w, "raw_base64");
                        jw_str(w, b);
                        free(b);
                } else {
                        w->oom = true;
                }
        }
        jw_obj_end(w);
}

/* ---- reports (SPEC §4.4) --------------------------------------------- */

static void kind_counts(jw_t *w, const long by_kind[VK__COUNT])
{
        jw_key(w, "violations");
        jw_obj_begin(w);
        for (int k = 0; k < VK__COUNT; k++) {
                jw_key(w, vkind_name((vkind_t)k));
                jw_int(w, by_kind[k]);
        }
        jw_obj_end(w);
}

void out_digest(jw_t *w, const eval_ctx_t *ctx, const digest_row_t *r)
{
        const roster_emp_t *u = &ctx->roster->emp[r->unit_emp];
        char date[11];
        ptime_format_date(r->day, date);
        jw_obj_begin(w);
        jw_key(w, "date");
        jw_str(w, date);
        jw_key(w, "unit_id");
        jw_str(w, u->unit_id);
        jw_key(w, "unit_name");
        jw_str(w, u->unit_name[0] ? u->unit_name : NULL);
        jw_key(w, "expected");
        jw_int(w, r->expected);
        jw_key(w, "present");
        jw_int(w, r->present);
        jw_key(w, "present_wfo");
        jw_int(w, r->present_wfo);
        jw_key(w, "present_wfh");
        jw_int(w, r->present_wfh);
        jw_key(w, "on_time");
        jw_int(w, r->on_time);
        jw_key(w, "excused");
        jw_int(w, r->excused);
        kind_counts(w, r->by_kind);
        jw_key(w, "violators");
        jw_arr_begin(w);
        for (size_t i = 0; i < r->n_violators; i++)
                jw_str(w, ctx->roster->emp[r->violators[i]].employee_id);
        jw_arr_end(w);
        jw_key(w, "compliant");
        jw_int(w, r->compliant);
        jw_key(w, "compliance_rate");
        jw_fixed(w, r->rate_e4, 4);
        jw_key(w, "policy");
        jw_str(w, ctx->policy->label);
        jw_obj_end(w);
}

void out_payroll(jw_t *w, const policy_t *p, int year, int month,
                 const sanction_payroll_t *r)
{
        char period[16];
        snprintf(period, sizeof(period), "%04d-%02d", year, month);
        jw_obj_begin(w);
        jw_key(w, "period");
        jw_str(w, period);
        jw_key(w, "employee_id");
        jw_str(w, r->employee_id);
        jw_key(w, "name");
        jw_str(w, r->name);
        jw_key(w, "unit_id");
        jw_str(w, r->unit_id);
        jw_key(w, "tpp_monthly");
        jw_int(w, r->tpp_monthly);
        kind_counts(w, r->by_kind);
        jw_key(w, "percent");
        jw_fixed(w, r->pct_u, 6);
        jw_key(w, "percent_capped");
        jw_fixed(w, r->pct_capped_u, 6);
        jw_key(w, "deduction");
        jw_int(w, r->deduction);
        jw_key(w, "tpp_after");
        jw_int(w, r->tpp_after);
        jw_key(w, "policy");
        jw_str(w, p->label);
        jw_obj_end(w);
}

static void ladder_fields(jw_t *w, const char *level, const char *sanction,
                          const policy_ladder_step_t *s)
{
        jw_key(w, level);
        jw_str(w, s ? s->level : NULL);
        jw_key(w, sanction);
        jw_str(w, s ? s->sanction : NULL);
}

void out_discipline(jw_t *w, const policy_t *p, int year,
                    const sanction_discipline_t *r)
{
        jw_obj_begin(w);
        jw_key(w, "year");
        jw_int(w, year);
        jw_key(w, "employee_id");
        jw_str(w, r->employee_id);
        jw_key(w, "name");
        jw_str(w, r->name);
        jw_key(w, "unit_id");
        jw_str(w, r->unit_id);
        jw_key(w, "minutes");
        jw_int(w, r->minutes);
        jw_key(w, "days");
        jw_int(w, r->days);
        ladder_fields(w, "level", "sanction", r->step);
        jw_key(w, "unanswered_calls");
        jw_int(w, r->unanswered_calls);
        ladder_fields(w, "call_level", "call_sanction", r->call_step);
        jw_key(w, "policy");
        jw_str(w, p->label);
        jw_obj_end(w);
}
