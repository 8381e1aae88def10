/*
 * roster — the employees (SPEC §1.4), loaded once at start from JSONL.
 *
 * Rows are indexed 0..n-1 in file order; everything else in patuh refers
 * to an employee by that index, and the supervisor/head references are
 * resolved to indexes at load (-1 when the id is null or not in the roster).
 */
#ifndef PATUH_ROSTER_H
#define PATUH_ROSTER_H

#include "policy.h"
#include "strmap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct roster_emp {
        char *employee_id; /* owned strings, never NULL ("" if absent) */
        char *name;
        char *unit_id;
        char *unit_name;
        char *supervisor_id; /* NULL when null */
        char *head_id;       /* NULL when null */
        int position;        /* policy_position_* index */
        int service;         /* policy_service_* index, -1 for null */
        int wfh_exempt;      /* -1 null (policy decides), 0 false, 1 true */
        bool active;
        int64_t tpp_monthly; /* rupiah */
        int32_t supervisor;  /* resolved row, -1 if none */
        int32_t head;        /* resolved row, -1 if none */
        /* The first day E is expected (SPEC §3.1 "in the roster" as of
         * that day).  The roster file has no start date: INT32_MIN (from
         * the start) after loading; patuhd sets the day after an employee
         * first appears in the roster of a running engine (a SIGHUP reload,
         * or a restart with a changed roster), so that nobody is marked
         * absent for days before they joined (engine/refdata.h). */
        int32_t expected_from;
} roster_emp_t;

typedef struct roster {
        roster_emp_t *emp; /* owned, n rows */
        size_t n;
        strmap_t *index; /* employee_id -> row */
} roster_t;

/* The roster file (SPEC §1.4, JSON Lines), a large one read on two threads
 * (the same roster, or the same refusal and message). */
roster_t *roster_load(const char *path, char *errstr, size_t errstr_size);
/* From a buffer (tests); `what` names the source in messages. */
roster_t *roster_load_buffer(const char *buf, size_t len, const char *what,
                             char *errstr, size_t errstr_size);
void roster_free(roster_t *r);

/*
 * Loading in parts, for a loader with a thread to spare (a roster of the
 * whole city is the slowest file to read at start).  roster_split() cuts
 * buf after its byte-order mark into at most n parts at line starts;
 * roster_part_read() reads the lines of one part and may run for several
 * parts at once, each on its own thread (nothing is shared but the
 * buffer, read-only); roster_parts_join() then puts them together in
 * order: its result, or its refusal and message, is exactly what
 * roster_load_buffer() gives for the whole buffer.  The join frees what
 * the parts hold (not the array, not buf).
 */
typedef struct roster_part {
        const char *buf;   /* borrowed: the whole buffer */
        size_t from, to;   /* the part's bytes, from a line start */
        size_t line0;      /* lines before the part */
        const char *what;  /* borrowed: names the file in messages */
        roster_emp_t *emp; /* owned: the employees read */
        size_t *lines;     /* owned: the line of each */
        size_t n, cap;
        bool failed;    /* stopped at a line it refuses, with: */
        char err[2048]; /* the message */
} roster_part_t;

size_t roster_split(const char *buf, size_t len, const char *what, size_t n,
                    roster_part_t *parts);
void roster_part_read(roster_part_t *p);
roster_t *roster_parts_join(roster_part_t *parts, size_t n, char *errstr,
                            size_t errstr_size);

/* Row of an employee id, or -1. */
int32_t roster_find(const roster_t *r, const char *id, size_t len);

/* SPEC §3.1 WFH-exempt: the roster override, else position or service. */
bool roster_wfh_exempt(const roster_t *r, const policy_t *p, int32_t row);

#endif
