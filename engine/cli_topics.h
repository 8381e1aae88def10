/*
 * cli_topics — `patuh topics create`: the Kafka topics patuhd reads and
 * writes, created on a real cluster with the settings they need (librdkafka
 * Admin API).  The sandbox creates its own at start; on a real cluster this
 * is the one step before the first patuhd start.
 *
 * Its table (cli_topics_specs) is the one place that says which topics
 * exist and how each is kept (compacted or by time, and for how long);
 * docs/operations.md explains the values.
 */
#ifndef PATUH_CLI_TOPICS_H
#define PATUH_CLI_TOPICS_H

#include <stddef.h>

/* One topic config entry (a Kafka topic-level property). */
typedef struct cli_topics_config {
        const char *name;  /* e.g. "cleanup.policy" */
        const char *value; /* e.g. "compact" */
} cli_topics_config_t;

#define CLI_TOPICS_MAX_CONFIGS 4

/* One topic of patuh, without its prefix.  Static data: nothing to free. */
typedef struct cli_topics_spec {
        const char *suffix; /* "presence": the topic is <prefix>presence */
        const char *key;    /* what its messages are keyed by (for the log) */
        cli_topics_config_t configs[CLI_TOPICS_MAX_CONFIGS]; /* name NULL
                                                                 ends */
} cli_topics_spec_t;

/* Every topic patuh uses: the three inputs, then the outputs in the order
 * of engine/batch.h.  Sets *n to their number. */
const cli_topics_spec_t *cli_topics_specs(size_t *n);

/* The command: argv are the arguments after "topics".  Exit status: 0
 * every topic created or already there, 1 a topic could not be created
 * (the message names it) or Kafka did not answer, 2 bad arguments (the
 * message names the option) or no bootstrap server. */
int cli_topics(int argc, char **argv);

#endif
