/*
 * pub_compare — what makes two ledger entries (eval_pub_t) the same
 * publication, for the tests of restore (test_core) and of the Redis
 * round trip (test_store).  Every field a republication would show, and
 * the engine's record of it (TPP sent, decided_at, violation_id).
 */
#ifndef PATUH_TESTS_PUB_COMPARE_H
#define PATUH_TESTS_PUB_COMPARE_H

#include "eval.h"

#include <string.h>

/* NULL when a and b are the same, else the first field that differs. */
static inline const char *pub_diff(const eval_pub_t *a, const eval_pub_t *b)
{
        const eval_decision_t *x = &a->d, *y = &b->d;
        if (x->kind != y->kind)
                return "kind";
        if (strcmp(x->subject, y->subject) != 0)
                return "subject";
        if (x->band != y->band)
                return "band";
        if (x->minutes != y->minutes)
                return "minutes";
        if (x->pct != y->pct || x->pct_u != y->pct_u)
                return "percent";
        if (x->amount != y->amount)
                return "amount";
        if (x->caller != y->caller)
                return "caller";
        if (ptime_cmp(x->call_at, y->call_at) != 0)
                return "call_at";
        if (x->n_evidence != y->n_evidence)
                return "evidence count";
        for (size_t i = 0; i < x->n_evidence; i++)
                if (strcmp(x->evidence[i], y->evidence[i]) != 0)
                        return "evidence";
        if (a->revision != b->revision)
                return "revision";
        if (a->active != b->active)
                return "status";
        if (!a->active && strcmp(a->reason, b->reason) != 0)
                return "reason";
        if (a->tpp_sent != b->tpp_sent)
                return "tpp_sent";
        if (ptime_cmp(a->decided_at, b->decided_at) != 0)
                return "decided_at";
        if (strcmp(a->violation_id, b->violation_id) != 0)
                return "violation_id";
        return NULL;
}

#endif
