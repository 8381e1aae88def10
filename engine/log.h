/*
 * log — patuhd's one logging module: one line per event on stderr (the
 * journal under systemd), as text or as one JSON object a line.
 *
 *   text: 2026-12-01T12:00:00.123Z info patuhd: message
 *   json: {"ts":"2026-12-01T12:00:00.123Z","level":"info","msg":"message"}
 *
 * The LOG_* macros test the level before they evaluate their arguments,
 * so a debug line costs one atomic load when debug is off.  Each line is
 * built in a buffer and written with one write(2): lines of concurrent
 * threads do not interleave.  A message's newlines and other control
 * characters are escaped (\n, \r, \t, else \u00XX in JSON and \xXX in
 * text), trailing whitespace dropped: libpq's messages end in a newline
 * and may hold several lines, and one event must stay one line.  In JSON
 * a byte that is not UTF-8 becomes U+FFFD, so every line parses.
 *
 * Callers never pass a configuration value (conninfo may hold a
 * password): the module cannot tell a secret from a message.
 *
 * Before log_init: text at info.  log_set_level may be called at any
 * time from any thread (SIGHUP); log_init once, before other threads log.
 */
#ifndef PATUH_LOG_H
#define PATUH_LOG_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>

/* Most severe first: a level lets through itself and those before it. */
typedef enum log_level {
        LOG_LV_ERROR,
        LOG_LV_WARN,
        LOG_LV_INFO,
        LOG_LV_DEBUG,
} log_level_t;

typedef enum log_format {
        LOG_FMT_TEXT,
        LOG_FMT_JSON,
} log_format_t;

/* "error", "warn", "info", "debug" (log.level); false for anything else. */
bool log_level_parse(const char *name, log_level_t *out);
/* "text", "json" (log.format); false for anything else. */
bool log_format_parse(const char *name, log_format_t *out);
/* The name log_level_parse takes. */
const char *log_level_name(log_level_t lv);

void log_init(log_format_t format, log_level_t level);
void log_set_level(log_level_t level);

/* The threshold; read through log_enabled. */
extern atomic_int log_threshold_;

static inline bool log_enabled(log_level_t lv)
{
        return (int)lv <=
               atomic_load_explicit(&log_threshold_, memory_order_relaxed);
}

/* One line at LV, unconditionally (the macros test the level first). */
void log_emit(log_level_t lv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_vemit(log_level_t lv, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#define LOG_AT_(lv, ...)                                                       \
        do {                                                                   \
                if (log_enabled(lv))                                           \
                        log_emit(lv, __VA_ARGS__);                             \
        } while (0)
#define LOG_ERROR(...) LOG_AT_(LOG_LV_ERROR, __VA_ARGS__)
#define LOG_WARN(...) LOG_AT_(LOG_LV_WARN, __VA_ARGS__)
#define LOG_INFO(...) LOG_AT_(LOG_LV_INFO, __VA_ARGS__)
#define LOG_DEBUG(...) LOG_AT_(LOG_LV_DEBUG, __VA_ARGS__)

#endif
