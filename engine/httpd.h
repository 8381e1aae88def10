/*
 * httpd — patuhd's HTTP endpoints on libevent's evhttp, on the daemon's
 * own event base (metrics.listen):
 *
 *   GET /metrics  the Prometheus text format (engine/metrics.h)
 *   GET /healthz  200 "ok": the loop runs (it answers this)
 *   GET /readyz   200 {"ready":true}, or 503 {"ready":false,"reasons":
 *                 [{"check":"redis","detail":"..."}, ...]}
 *
 * Anything else is 404, a method other than GET or HEAD 405.  Every
 * answer is built from what the daemon already holds (its callbacks
 * below run on the loop and must not block), so a scrape never waits on
 * Kafka, Redis or PostgreSQL and never stalls the loop; a client slower
 * than HTTPD_TIMEOUT_S is dropped.
 *
 * Ownership: httpd_new returns an httpd_t freed with httpd_free (before
 * the event base); base and the handlers' ud are borrowed.  Nothing here
 * prints: errors go out through errstr.
 */
#ifndef PATUH_HTTPD_H
#define PATUH_HTTPD_H

#include "metrics.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* How long a client may take to send its request or read the answer. */
#define HTTPD_TIMEOUT_S 10

/* The most reasons /readyz lists. */
#define HTTPD_MAX_REASONS 8

typedef struct httpd httpd_t;

typedef struct httpd_handlers {
        void *ud; /* their argument */
        /* Writes the exposition to OUT; 0, or -1 (answered 500). */
        int (*metrics)(void *ud, FILE *out);
        /* The reasons to be unready, at most MAX in OUT; 0: ready. */
        size_t (*readiness)(void *ud, metrics_reason_t *out, size_t max);
} httpd_handlers_t;

/* Listens on LISTEN at once (start-up: a port already taken fails here,
 * not later), serving from BASE once its loop runs.  NULL with errstr
 * set ("cannot listen: Address already in use"; no address: patuhd logs
 * no configuration value). */
httpd_t *httpd_new(struct event_base *base, const char *listen,
                   const httpd_handlers_t *h, char *errstr, size_t errstr_size)
    __attribute__((warn_unused_result));
void httpd_free(httpd_t *hd);

#endif
