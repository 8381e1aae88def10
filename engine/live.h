/*
 * live — patuhd, the live engine: Kafka in, the core in memory, outputs to
 * PostgreSQL and Kafka, state to Redis, offsets last.
 *
 * One libevent loop drives everything.  Records are consumed in batches
 * (up to batch.max_records or batch.max_ms); a batch is decoded, admitted
 * and evaluated in memory, then made durable in a fixed order — outputs
 * (PostgreSQL in one pipelined transaction, then Kafka through the
 * idempotent producer), then state (Redis, one MULTI/EXEC pipeline), then
 * the consumed offsets — so a crash anywhere replays the batch and yields
 * the same ids: nothing lost, nothing twice.  Consumption pauses while a
 * batch is being made durable, and while PostgreSQL or Redis are down
 * (reconnect with backoff).
 */
#ifndef PATUH_LIVE_H
#define PATUH_LIVE_H

#include "config.h"

#include <stdbool.h>

typedef struct live_opts {
        const config_t *config;
        bool until_idle; /* exit 0 once everything is consumed and durable */
} live_opts_t;

/* Runs until SIGTERM/SIGINT (or idle).  Returns the process exit code:
 * 0 clean stop, 2 refused configuration or reference data, 1 failure. */
int live_run(const live_opts_t *o);

#endif
