/*
 * cli_alerts — `patuh alerts --follow`: the supervisor alerts of topic
 * <prefix>alerts (output.c writes them) delivered to people, either as
 * chat-ready blocks in Bahasa Indonesia on standard output or as JSON POSTs
 * to an http:// webhook (a chat bot, a WhatsApp/Telegram gateway).
 *
 * Delivery is at least once: an alert's offset is committed only after it
 * was printed or the webhook answered 2xx, so a webhook that is down loses
 * nothing and a restart resends from the first unconfirmed alert.  A
 * receiver de-duplicates on alert_id if it must.
 */
#ifndef PATUH_CLI_ALERTS_H
#define PATUH_CLI_ALERTS_H

#include <stddef.h>

/* The command: argv are the arguments after "alerts".  Exit status: 0 done
 * (--until-idle, or stopped by SIGINT/SIGTERM), 2 bad arguments or no
 * Kafka configured, 1 a runtime failure (Kafka, standard output). */
int cli_alerts(int argc, char **argv);

/* A parsed --webhook URL.  Every field is a NUL-terminated copy owned by
 * the struct (no pointers into the URL string). */
typedef struct cli_alerts_url {
        char host[256];        /* for connecting: "127.0.0.1", "::1" */
        int port;              /* 80 when the URL has none */
        char host_header[300]; /* the Host header: host[:port] */
        char hostport[300];    /* host:port — the only part ever logged */
        char path[4096];       /* path and ?query, "/" at least */
} cli_alerts_url_t;

/* Parses an http:// URL (https and others are refused, as are
 * user:password@ parts).  Returns 0, or -1 with a message in errstr that
 * never repeats the URL (it may carry a token). */
int cli_alerts_parse_url(const char *url, cli_alerts_url_t *out, char *errstr,
                         size_t errstr_size)
    __attribute__((warn_unused_result));

/* The chat-ready message of one alert (the JSON of topic <prefix>alerts):
 * a header line by kind and recipient, the work date the Indonesian way,
 * the time the alert was raised, then the alert's text.  No trailing
 * newline.  Writes at most buf_size bytes into buf (NUL-terminated).
 * Returns 0, or -1 with errstr when json is not an alert. */
int cli_alerts_message(const char *json, size_t len, char *buf, size_t buf_size,
                       char *errstr, size_t errstr_size)
    __attribute__((warn_unused_result));

#endif
