/*
 * live — patuhd, the live engine's daemon: Kafka in (kin), the core in
 * memory, outputs to PostgreSQL (pgsink) and Kafka (ksink) at the same
 * time, then state to Redis (store_writer), then the consumed offsets.
 *
 * One libevent loop drives everything.  Records are consumed in batches
 * (up to batch.max_records or batch.max_ms); a batch is decoded, admitted
 * and evaluated in memory, then made durable in that fixed order, one
 * batch at a time, so a crash anywhere replays the batch and yields the
 * same ids: nothing lost, nothing twice.  Consumption pauses while the
 * next batch is full and the previous one is still being written, and
 * while PostgreSQL or Redis are down (each write retried with backoff; a
 * write with no answer within 30 s counts as failed).  The adapters
 * report through callbacks and errstr buffers; only this module logs.
 * /metrics, /healthz and /readyz (metrics.listen) are served from the
 * same loop (httpd, metrics), from the counters this module keeps and
 * what the adapters already know: no request to a server per scrape.
 */
#ifndef PATUH_LIVE_H
#define PATUH_LIVE_H

#include "config.h"

#include <stdbool.h>

typedef struct live_opts {
        const config_t *config;
        const char *config_path; /* the file config came from: a SIGHUP
                                    reads it again (log.level, and the
                                    roster and calendar it names) */
        bool until_idle; /* exit 0 once everything is consumed and durable */
} live_opts_t;

/* Runs until SIGTERM/SIGINT (or idle).  Returns the process exit code:
 * 0 clean stop, 2 refused configuration or reference data, 1 failure. */
int live_run(const live_opts_t *o);

#endif
