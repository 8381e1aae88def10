#include "cli_explain.h"

#include "../consumers/record.h"
#include "../rules/eval.h"
#include "../rules/jsonv.h"
#include "../rules/ptime.h"
#include "../rules/tz.h"
#include "jw.h"
#include "output.h"
#include "pgread.h"
#include "report.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char cmd[] = "patuh explain";

static const char usage[] =
    "usage: patuh explain VIOLATION_ID [--json]\n"
    "  Why a violation was decided, in Bahasa Indonesia: the employee, the\n"
    "  day (expected or not and why, the hours in force, the expected mode\n"
    "  and why the employee is or is not WFH-exempt), the rule and its\n"
    "  clause, the policy, the evidence records with where they came from,\n"
    "  and every revision.  Reads PostgreSQL ($PATUH_PG_CONNINFO).\n";

/* Everything explain gathers, owned. */
typedef struct why {
        json_t *viol;      /* the violation as last published */
        json_t *revisions; /* array of every revision, in order */
        json_t *evidence;  /* array of {topic, record_id, partition, offset,
                              arrival, value} */
        json_t *excuses;   /* the same for E's excuse records covering D */
        roster_t *roster;
        policy_t *policy;
        calendar_t *calendar;
        int32_t emp; /* roster row, -1 when not in the roster */
        int32_t day;
} why_t;

static const char *js(const json_t *o, const char *k)
{
        return json_string_value(json_object_get(o, k));
}

static bool id_form(const char *s)
{
        size_t n = strlen(s);
        if (n != 32)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') ||
                      (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

/* Rows of (topic, record_id, partition, offset, arrival epoch, value). */
static json_t *records(PGresult *r)
{
        json_t *a = json_array();
        for (int i = 0; a && i < PQntuples(r); i++) {
                json_t *v = json_loads(PQgetvalue(r, i, 5), 0, NULL);
                json_t *o = json_pack(
                    "{s:s, s:s, s:I, s:I, s:o, s:o}", "topic",
                    PQgetvalue(r, i, 0), "record_id", PQgetvalue(r, i, 1),
                    "partition",
                    (json_int_t)strtoll(PQgetvalue(r, i, 2), NULL, 10),
                    "offset",
                    (json_int_t)strtoll(PQgetvalue(r, i, 3), NULL, 10),
                    "arrival_epoch",
                    PQgetisnull(r, i, 4)
                        ? json_null()
                        : json_integer(strtoll(PQgetvalue(r, i, 4), NULL, 10)),
                    "value", v ? v : json_null());
                if (!o || json_array_append_new(a, o) != 0) {
                        json_decref(a);
                        return NULL;
                }
        }
        return a;
}

static int gather(PGconn *pg, const char *id, why_t *w)
{
        const char *p1[1] = {id};
        PGresult *r = pgread_query(
            cmd, pg, "SELECT doc::text FROM violations WHERE violation_id = $1",
            1, p1);
        if (!r)
                return 1;
        if (PQntuples(r) == 0) {
                fprintf(stderr,
                        "%s: pelanggaran %s tidak ditemukan (violation id not "
                        "in PostgreSQL)\n",
                        cmd, id);
                PQclear(r);
                return 2;
        }
        w->viol = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
        PQclear(r);
        const char *date = js(w->viol, "date");
        const char *emp = js(w->viol, "employee_id");
        if (!date || !emp || !ptime_parse_date(date, strlen(date), &w->day)) {
                fprintf(stderr, "%s: unreadable violation row\n", cmd);
                return 1;
        }
        if (!(r = pgread_query(cmd, pg,
                               "SELECT doc::text FROM violation_revisions "
                               "WHERE violation_id = $1 ORDER BY revision",
                               1, p1)))
                return 1;
        w->revisions = json_array();
        for (int i = 0; i < PQntuples(r); i++)
                json_array_append_new(w->revisions,
                                      json_loads(PQgetvalue(r, i, 0), 0, NULL));
        PQclear(r);
        /* the records the decision rests on: presence by event_id, calls
         * by call_id (SPEC §4.1 evidence) */
        if (!(r = pgread_query(
                  cmd, pg,
                  /* the chunks of the violation's unit-day (005),
                   * then the per-record rows earlier versions wrote;
                   * a record kept twice is shown once */
                  "WITH v AS (SELECT * FROM violations WHERE "
                  "violation_id = $1), e AS (SELECT l::jsonb AS e FROM v "
                  "JOIN input_chunks c ON c.unit_id = v.unit_id AND "
                  "c.work_date = v.date, regexp_split_to_table(c.records, "
                  "E'\\n') AS l), r AS (SELECT e->>'topic' AS topic, "
                  "CASE e->>'topic' WHEN 'calls' THEN e->'value'->>'call_id' "
                  "ELSE e->'value'->>'event_id' END AS record_id, "
                  "(e->>'p')::int AS partition, (e->>'o')::bigint AS "
                  "\"offset\", (e->>'ts')::timestamptz AS arrival, "
                  "e->'value' AS value FROM e UNION ALL SELECT topic, "
                  "record_id, partition, \"offset\", arrival, value FROM "
                  "input_records) SELECT DISTINCT ON (r.value->>'at', "
                  "r.record_id) r.topic, r.record_id, r.partition, "
                  "r.\"offset\", floor(extract(epoch FROM "
                  "r.arrival))::bigint, r.value::text FROM v JOIN r ON "
                  "r.record_id IN (SELECT jsonb_array_elements_text("
                  "v.evidence)) AND r.topic = CASE WHEN v.kind = "
                  "'unanswered_call' THEN 'calls' ELSE 'presence' END "
                  "ORDER BY r.value->>'at', r.record_id",
                  1, p1)))
                return 1;
        w->evidence = records(r);
        PQclear(r);
        const char *p2[2] = {emp, date};
        if (!(r = pgread_query(
                  cmd, pg,
                  "SELECT topic, record_id, partition, \"offset\", "
                  "floor(extract(epoch FROM arrival))::bigint, value::text "
                  "FROM input_records WHERE topic = 'excuses' AND "
                  "employee_id = $1 AND (value->>'from') <= $2 AND "
                  "(value->>'to') >= $2 ORDER BY value->>'excuse_id', "
                  "value->>'updated_at', record_id",
                  2, p2)))
                return 1;
        w->excuses = records(r);
        PQclear(r);
        if (!w->revisions || !w->evidence || !w->excuses || !w->viol)
                return 1;
        if (!(w->roster = pgread_roster(cmd, pg)) ||
            !(w->policy = pgread_policy(cmd, pg, js(w->viol, "policy"))) ||
            !(w->calendar = pgread_calendar(cmd, pg)))
                return 1;
        w->emp = roster_find(w->roster, emp, strlen(emp));
        return 0;
}

/* ---- the day, as the rules saw it ---------------------------------------- */

typedef struct day_facts {
        bool workday, holiday, wfh_day, suspended, excused, expected, wfh;
        bool has_hours;
        int start, end;
        const char *holiday_name, *suspension, *override_name;
        char exempt_why[160]; /* "" when not exempt */
        char mode_why[256];
} day_facts_t;

/* The excuse versions of the records, as the evaluator reads them. */
static size_t excuse_versions(const why_t *w, eval_excuse_t *v, size_t max)
{
        size_t n = 0;
        for (size_t i = 0; i < json_array_size(w->excuses) && n < max; i++) {
                json_t *o = json_array_get(w->excuses, i);
                char *text = json_dumps(json_object_get(o, "value"), 0);
                record_t rec;
                char detail[128];
                if (text &&
                    record_decode_bytes(TOPIC_EXCUSES, text, strlen(text), &rec,
                                        detail, sizeof(detail)) == DLQ_NONE) {
                        eval_excuse_t *x = &v[n++];
                        memset(x, 0, sizeof(*x));
                        memcpy(x->excuse_id, rec.u.excuse.excuse_id,
                               sizeof(x->excuse_id));
                        memcpy(x->event_id, rec.event_id, sizeof(x->event_id));
                        memcpy(x->kind, rec.u.excuse.kind, sizeof(x->kind));
                        x->from = rec.u.excuse.from;
                        x->to = rec.u.excuse.to;
                        x->updated_at = rec.u.excuse.updated_at;
                        x->revoked = rec.u.excuse.revoked;
                        json_t *arr = json_object_get(o, "arrival_epoch");
                        x->has_arrival = json_is_integer(arr);
                        if (x->has_arrival)
                                x->arrival_day = tz_local_day(
                                    w->policy->tz,
                                    (ptime_t){json_integer_value(arr), 0});
                }
                free(text);
        }
        return n;
}

static void facts_of(const why_t *w, day_facts_t *f)
{
        const eval_ctx_t ctx = {w->policy, w->calendar, w->roster};
        const policy_t *p = w->policy;
        int wd = ptime_weekday(w->day);
        memset(f, 0, sizeof(*f));
        f->holiday_name = calendar_holiday_name(w->calendar, w->day);
        f->holiday = f->holiday_name != NULL;
        f->workday = p->workday[wd] && !f->holiday;
        f->suspension = calendar_suspension_reason(w->calendar, w->day);
        f->suspended = f->suspension != NULL;
        const cal_override_t *o = calendar_override(w->calendar, w->day);
        f->override_name = o ? o->name : NULL;
        f->has_hours =
            calendar_hours(w->calendar, p, w->day, &f->start, &f->end);
        f->wfh_day =
            p->wfh_day[wd] && (!p->has_wfh_from || w->day >= p->wfh_from);
        eval_excuse_t v[64];
        const eval_excuse_t *pv[64];
        size_t n = excuse_versions(w, v, 64);
        for (size_t i = 0; i < n; i++)
                pv[i] = &v[i];
        f->excused = eval_excused(&ctx, (eval_excuses_t){pv, n}, w->day);
        if (w->emp < 0) {
                snprintf(f->mode_why, sizeof(f->mode_why),
                         "pegawai tidak ada lagi di roster");
                return;
        }
        const roster_emp_t *e = &w->roster->emp[w->emp];
        f->expected = f->workday && e->active && !f->excused;
        if (e->wfh_exempt == 1)
                snprintf(f->exempt_why, sizeof(f->exempt_why),
                         "ditetapkan dikecualikan di roster (wfh_exempt)");
        else if (e->wfh_exempt < 0 && p->exempt_position[e->position])
                snprintf(f->exempt_why, sizeof(f->exempt_why),
                         "jabatan %s termasuk yang dikecualikan (SE 737 "
                         "angka 7)",
                         policy_position_name(e->position));
        else if (e->wfh_exempt < 0 && e->service >= 0 &&
                 p->exempt_service[e->service])
                snprintf(f->exempt_why, sizeof(f->exempt_why),
                         "unit layanan %s termasuk yang dikecualikan (SE 737 "
                         "angka 7)",
                         policy_service_name(e->service));
        f->wfh = eval_mode_wfh(&ctx, w->emp, w->day);
        if (f->wfh)
                snprintf(f->mode_why, sizeof(f->mode_why),
                         "hari WFH menurut kebijakan dan pegawai tidak "
                         "dikecualikan");
        else if (!p->wfh_day[wd])
                snprintf(f->mode_why, sizeof(f->mode_why),
                         "bukan hari WFH menurut kebijakan");
        else if (p->has_wfh_from && w->day < p->wfh_from)
                snprintf(f->mode_why, sizeof(f->mode_why),
                         "sebelum WFH berlaku (wfh_from)");
        else if (f->suspended)
                snprintf(f->mode_why, sizeof(f->mode_why),
                         "WFH ditangguhkan hari itu: %s (SE 737 angka 9)",
                         f->suspension);
        else
                snprintf(f->mode_why, sizeof(f->mode_why), "%s",
                         f->exempt_why[0] ? f->exempt_why
                                          : "dikecualikan dari WFH");
}

static void hhmm(int m, char buf[8])
{
        snprintf(buf, 8, "%02d:%02d", (m / 60) % 100, m % 60);
}

/* ---- output ----------------------------------------------------------------
 */

static const char *status_text(const json_t *v)
{
        const char *st = js(v, "status");
        return st && strcmp(st, "active") == 0 ? "aktif" : "dicabut";
}

static const char *reason_text(const char *r)
{
        if (!r)
                return "";
        if (strcmp(r, "excused") == 0)
                return "pegawai ternyata berizin/cuti/dinas pada hari itu";
        if (strcmp(r, "superseded") == 0)
                return "digantikan keputusan lain dari jenis yang sama";
        if (strcmp(r, "late_data") == 0)
                return "data yang datang kemudian mengubah keputusan";
        return r;
}

static void person(const why_t *w, const char *label, const char *id)
{
        if (!id) {
                printf("  %s: -\n", label);
                return;
        }
        int32_t row = roster_find(w->roster, id, strlen(id));
        printf("  %s: %s (NIP %s)\n", label,
               row >= 0 && w->roster->emp[row].name[0]
                   ? w->roster->emp[row].name
                   : "(tidak ada di roster)",
               id);
}

static void local_time(const why_t *w, int64_t epoch, char *buf, size_t n)
{
        eval_ctx_t ctx = {w->policy, w->calendar, w->roster};
        char t[40];
        out_format_time(&ctx, (ptime_t){epoch, 0}, t);
        snprintf(buf, n, "%s", t);
}

static void print_records(const why_t *w, const json_t *a)
{
        for (size_t i = 0; i < json_array_size(a); i++) {
                json_t *o = json_array_get(a, i);
                json_t *v = json_object_get(o, "value");
                json_t *arr = json_object_get(o, "arrival_epoch");
                char at[48] = "-";
                if (json_is_integer(arr))
                        local_time(w, json_integer_value(arr), at, sizeof(at));
                char *text = json_dumps(v, JSON_COMPACT);
                printf(
                    "  %zu. %s %s: waktu kejadian %s, diterima %s; topik "
                    "%s, partisi %lld, offset %lld\n     %s\n",
                    i + 1, js(o, "topic"), js(o, "record_id"),
                    js(v, "at")           ? js(v, "at")
                    : js(v, "updated_at") ? js(v, "updated_at")
                                          : "-",
                    at, js(o, "topic"),
                    (long long)json_integer_value(
                        json_object_get(o, "partition")),
                    (long long)json_integer_value(json_object_get(o, "offset")),
                    text ? text : "");
                free(text);
        }
}

static void print_text(const why_t *w, const day_facts_t *f)
{
        const json_t *v = w->viol;
        const char *kind = js(v, "kind");
        int k = kind ? vkind_from_name(kind) : -1;
        char tgl[64], pct[32] = "0", rp[48], reason[256] = "";
        out_date_text(w->day, tgl, sizeof(tgl));
        json_t *jp = json_object_get(v, "tpp_percent");
        jw_format_fixed(jsonv_percent_micro(json_number_value(jp)), 6, pct,
                        sizeof(pct));
        for (char *c = pct; *c; c++)
                if (*c == '.')
                        *c = ',';
        out_rupiah(json_integer_value(json_object_get(v, "tpp_amount")), rp,
                   sizeof(rp));
        if (js(v, "reason"))
                snprintf(reason, sizeof(reason), " — %s",
                         reason_text(js(v, "reason")));
        printf("Pelanggaran %s (revisi %lld, %s%s)\n", js(v, "violation_id"),
               (long long)json_integer_value(json_object_get(v, "revision")),
               status_text(v), reason);
        printf("  Jenis: %s", k >= 0 ? report_kind_label((vkind_t)k) : kind);
        if (js(v, "band"))
                printf(", band %s", js(v, "band"));
        if (json_is_integer(json_object_get(v, "minutes")))
                printf(", %lld menit", (long long)json_integer_value(
                                           json_object_get(v, "minutes")));
        if (js(v, "subject") && *js(v, "subject"))
                printf(", panggilan %s", js(v, "subject"));
        printf("\n  Dasar: %s; tingkat %s; potongan TPP %s%% (%s)\n",
               js(v, "clause"), js(v, "severity"), pct, rp);
        printf("  Kebijakan: %s versi %lld (%s)\n", w->policy->policy_id,
               (long long)w->policy->version, w->policy->label);

        printf("\nPegawai\n");
        if (w->emp >= 0) {
                const roster_emp_t *e = &w->roster->emp[w->emp];
                printf("  Nama: %s (NIP %s)\n  Unit: %s (%s)\n  Jabatan: %s; "
                       "layanan: %s; %s\n",
                       e->name, e->employee_id,
                       e->unit_name[0] ? e->unit_name : "-", e->unit_id,
                       policy_position_name(e->position),
                       e->service >= 0 ? policy_service_name(e->service)
                                       : "kantor biasa",
                       e->active ? "aktif" : "tidak aktif");
                person(w, "Atasan langsung", e->supervisor_id);
                person(w, "Kepala perangkat daerah", e->head_id);
        } else {
                printf("  NIP %s (tidak ada lagi di roster), unit %s\n",
                       js(v, "employee_id"), js(v, "unit_id"));
        }

        printf("\nHari: %s\n", tgl);
        if (f->holiday)
                printf("  Hari libur: %s — tidak ada kewajiban hadir\n",
                       f->holiday_name);
        else
                printf("  Hari kerja: %s\n",
                       f->workday ? "ya" : "tidak (bukan hari kerja)");
        if (f->has_hours) {
                char a[8], b[8];
                hhmm(f->start, a);
                hhmm(f->end, b);
                printf("  Jam kerja yang berlaku: %s–%s (%s)\n", a, b,
                       f->override_name ? f->override_name
                                        : "jam kerja kebijakan");
        }
        printf("  Wajib hadir: %s\n",
               f->expected ? "ya"
               : f->excused
                   ? "tidak — ada izin/cuti/dinas yang berlaku (lihat di bawah)"
                   : "tidak");
        printf("  Mode kerja yang diharapkan: %s — %s\n",
               f->wfh ? "WFH (Presensi Tugas Luar Kantor)" : "WFO (di kantor)",
               f->mode_why);
        printf("  Pengecualian WFH: %s\n",
               f->exempt_why[0] ? f->exempt_why : "tidak dikecualikan");

        printf("\nBukti (catatan masukan yang mendasari keputusan)\n");
        if (json_array_size(w->evidence) == 0)
                printf("  (tidak ada catatan: %s)\n",
                       k == VK_ABSENT ? "tidak ada presensi yang diterima "
                                        "untuk hari itu"
                                      : "catatan tidak tersimpan");
        print_records(w, w->evidence);
        if (json_array_size(w->excuses)) {
                printf("\nIzin/cuti/dinas yang tercatat untuk hari itu\n");
                print_records(w, w->excuses);
        }

        printf("\nRiwayat keputusan\n");
        for (size_t i = 0; i < json_array_size(w->revisions); i++) {
                json_t *r = json_array_get(w->revisions, i);
                printf("  revisi %lld  %s  %s",
                       (long long)json_integer_value(
                           json_object_get(r, "revision")),
                       js(r, "decided_at"), status_text(r));
                if (js(r, "band"))
                        printf("  band %s", js(r, "band"));
                if (json_is_integer(json_object_get(r, "minutes")))
                        printf("  %lld menit",
                               (long long)json_integer_value(
                                   json_object_get(r, "minutes")));
                if (js(r, "reason"))
                        printf("  alasan: %s (%s)", js(r, "reason"),
                               reason_text(js(r, "reason")));
                putchar('\n');
        }
}

static void print_json(const why_t *w, const day_facts_t *f)
{
        char a[8] = "", b[8] = "";
        if (f->has_hours) {
                hhmm(f->start, a);
                hhmm(f->end, b);
        }
        json_t *emp = json_null();
        if (w->emp >= 0) {
                const roster_emp_t *e = &w->roster->emp[w->emp];
                emp = json_pack(
                    "{s:s, s:s, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:b}",
                    "employee_id", e->employee_id, "name", e->name, "unit_id",
                    e->unit_id, "unit_name", e->unit_name, "position_class",
                    policy_position_name(e->position), "service_class",
                    e->service >= 0 ? policy_service_name(e->service) : NULL,
                    "supervisor_id", e->supervisor_id, "head_id", e->head_id,
                    "active", e->active);
        }
        json_t *day = json_pack(
            "{s:s, s:b, s:s?, s:b, s:s?, s:s?, s:s?, s:b, s:b, s:s, s:s, "
            "s:s?}",
            "date", js(w->viol, "date"), "workday", f->workday, "holiday",
            f->holiday_name, "wfh_day", f->wfh_day, "wfh_suspended",
            f->suspension, "hours_start", f->has_hours ? a : NULL, "hours_end",
            f->has_hours ? b : NULL, "expected", f->expected, "excused",
            f->excused, "expected_mode", f->wfh ? "wfh" : "wfo", "mode_reason",
            f->mode_why, "wfh_exempt_reason",
            f->exempt_why[0] ? f->exempt_why : NULL);
        json_t *out =
            json_pack("{s:O, s:o, s:o, s:{s:s, s:I}, s:O, s:O, s:O}",
                      "violation", w->viol, "employee", emp ? emp : json_null(),
                      "day", day ? day : json_null(), "policy", "policy_id",
                      w->policy->policy_id, "version",
                      (json_int_t)w->policy->version, "evidence", w->evidence,
                      "excuses", w->excuses, "revisions", w->revisions);
        char *s = out ? json_dumps(out, JSON_INDENT(2)) : NULL;
        if (s)
                puts(s);
        free(s);
        json_decref(out);
}

int cli_explain(int argc, char **argv)
{
        const char *id = NULL;
        bool as_json = false;
        for (int i = 0; i < argc; i++) {
                if (strcmp(argv[i], "--help") == 0 ||
                    strcmp(argv[i], "-h") == 0) {
                        fputs(usage, stdout);
                        return 0;
                }
                if (strcmp(argv[i], "--json") == 0) {
                        as_json = true;
                } else if (argv[i][0] == '-' || id) {
                        fprintf(stderr, "%s: unexpected argument %s\n%s", cmd,
                                argv[i], usage);
                        return 2;
                } else {
                        id = argv[i];
                }
        }
        if (!id) {
                fprintf(stderr, "%s: VIOLATION_ID is needed\n%s", cmd, usage);
                return 2;
        }
        if (!id_form(id)) {
                fprintf(stderr,
                        "%s: '%s' is not a violation id (32 lowercase hex "
                        "digits)\n",
                        cmd, id);
                return 2;
        }
        PGconn *pg = pgread_open(cmd);
        if (!pg)
                return 1;
        why_t w = {.emp = -1};
        int rc = gather(pg, id, &w);
        if (rc == 0) {
                day_facts_t f;
                facts_of(&w, &f);
                if (as_json)
                        print_json(&w, &f);
                else
                        print_text(&w, &f);
                if (fflush(stdout) != 0 || ferror(stdout)) {
                        fprintf(stderr, "%s: write error\n", cmd);
                        rc = 1;
                }
        }
        json_decref(w.viol);
        json_decref(w.revisions);
        json_decref(w.evidence);
        json_decref(w.excuses);
        roster_free(w.roster);
        policy_free(w.policy);
        calendar_free(w.calendar);
        PQfinish(pg);
        return rc;
}
