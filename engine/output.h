/*
 * output — the JSON shapes patuh publishes (SPEC §4.1, §4.3, §5) and the
 * Bahasa Indonesia texts of its alerts.  Shared by replay (files) and the
 * live engine (Kafka, PostgreSQL) so both publish byte-identical records.
 * Every writer appends one JSON object (no newline) to the caller's jw_t.
 */
#ifndef PATUH_OUTPUT_H
#define PATUH_OUTPUT_H

#include "../consumers/record.h"
#include "../rules/digest.h"
#include "../rules/eval.h"
#include "../rules/sanction.h"

#include "jw.h"

/* SPEC §4.1: hash of (policy_id, kind, employee_id, date, subject). */
void out_violation_id(const eval_ctx_t *ctx, int32_t emp, int32_t day,
                      const eval_decision_t *d, char id[33]);

/* "2026-04-10T08:12:00+08:00" in the policy zone. */
void out_format_time(const eval_ctx_t *ctx, ptime_t t, char buf[40]);

/* The violation as last published: p->decided_at and p->violation_id are
 * the engine's record of that publication. */
void out_violation(jw_t *w, const eval_ctx_t *ctx, int32_t emp, int32_t day,
                   const eval_pub_t *p);
void out_tpp(jw_t *w, const eval_ctx_t *ctx, int32_t emp, int32_t day,
             const eval_pub_t *p);

/* A "violation" alert for a newly active violation. */
void out_alert_violation(jw_t *w, const eval_ctx_t *ctx, int32_t emp,
                         int32_t day, const eval_pub_t *p, ptime_t at);
/* "not_clocked_in": no clock-in N minutes after start. */
void out_alert_not_clocked_in(jw_t *w, const eval_ctx_t *ctx, int32_t emp,
                              int32_t day, ptime_t at);
/* Operator alert "no_presence_data" for a closed workday not in service. */
void out_alert_no_presence(jw_t *w, const eval_ctx_t *ctx, int32_t day,
                           ptime_t at);

/* A dead letter.  file/line for replay, topic/partition/offset for Kafka
 * (pass NULL / -1 where unknown); raw is the original bytes. */
typedef struct out_dlq_src {
        const char *file;
        long long line;
        int topic;        /* rec_topic_t, or -1 */
        int partition;    /* -1 when unknown */
        long long offset; /* -1 when unknown */
        bool has_ts;
        ptime_t ts;
} out_dlq_src_t;

void out_dlq(jw_t *w, const eval_ctx_t *ctx, const out_dlq_src_t *src,
             dlq_reason_t reason, const char *detail, const char *event_id,
             const char *raw, size_t raw_len);

/* SPEC §4.4 report rows, fields in the SPEC's order. */
void out_digest(jw_t *w, const eval_ctx_t *ctx, const digest_row_t *r);
void out_payroll(jw_t *w, const policy_t *p, int year, int month,
                 const sanction_payroll_t *r);
void out_discipline(jw_t *w, const policy_t *p, int year,
                    const sanction_discipline_t *r);

/* The Indonesian sentence describing a violation, for alerts and reports
 * ("terlambat masuk 42 menit (TL2)").  Writes into buf. */
void out_violation_text(const eval_ctx_t *ctx, int32_t emp, int32_t day,
                        const eval_decision_t *d, char *buf, size_t n);

/* The Indonesian long date of a day number: "Jumat, 10 April 2026". */
void out_date_text(int32_t day, char *buf, size_t n);
/* "April" for 4. */
const char *out_month_name(int month);

/* "4.500.000" and "Rp4.500.000": amounts as Indonesians write them. */
void out_thousands(int64_t v, char *buf, size_t n);
void out_rupiah(int64_t amount, char *buf, size_t n);

#endif
