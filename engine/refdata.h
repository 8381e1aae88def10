/*
 * refdata — the reference data patuhd runs with, published to PostgreSQL
 * at start: the roster (table employees: COPY, then
 * patuh_publish_roster_staged, schemas/sql/009)
 * and the policy and calendar documents (reference_docs), so that the
 * reports show names and units and `patuh explain` can say which rules
 * were in force.  Idempotent: publishing the same files again changes
 * nothing.
 */
#ifndef PATUH_REFDATA_H
#define PATUH_REFDATA_H

#include "../rules/eval.h"
#include "jw.h"

#include <stddef.h>

/* The roster as a JSON array of SPEC §1.4 records (roster_load reads each
 * of them back as it was). */
void refdata_roster_json(jw_t *w, const roster_t *r);

/*
 * Publishes roster, policy and calendar over a connection of its own
 * (blocking, connect_timeout bounds it: at start before the loop runs,
 * and at a reload while consumption is paused).  The files are read again
 * for their exact text.  An employee the published roster did not list
 * before is expected from day `joined` on (schemas/sql/006: nobody at the
 * first publication); every row of `roster` gets its expected_from from
 * PostgreSQL.  Returns 0, or -1 with errstr set (never holding the
 * conninfo: it may hold a password).
 */
int refdata_publish(const char *conninfo, const eval_ctx_t *ctx,
                    roster_t *roster, int32_t joined, const char *policy_file,
                    const char *calendar_file, char *errstr, size_t errstr_size)
    __attribute__((warn_unused_result));

#endif
