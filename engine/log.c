#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A line that fits goes through the stack; only a longer one allocates
 * (and, out of memory, is cut to fit rather than lost: "out of memory"
 * itself must still be logged). */
#define MSG_STACK 1024
#define LINE_STACK 4096
/* Room around the escaped message: time stamp, level, JSON keys. */
#define LINE_FRAME 96

atomic_int log_threshold_ = LOG_LV_INFO;
static atomic_int format_ = LOG_FMT_TEXT;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

bool log_level_parse(const char *name, log_level_t *out)
{
        for (int i = 0; i <= LOG_LV_DEBUG; i++)
                if (strcmp(name, level_names[i]) == 0) {
                        *out = (log_level_t)i;
                        return true;
                }
        return false;
}

bool log_format_parse(const char *name, log_format_t *out)
{
        if (strcmp(name, "text") == 0)
                *out = LOG_FMT_TEXT;
        else if (strcmp(name, "json") == 0)
                *out = LOG_FMT_JSON;
        else
                return false;
        return true;
}

const char *log_level_name(log_level_t lv)
{
        return (unsigned)lv <= LOG_LV_DEBUG ? level_names[lv] : "?";
}

void log_init(log_format_t format, log_level_t level)
{
        atomic_store(&format_, (int)format);
        log_set_level(level);
}

void log_set_level(log_level_t level)
{
        atomic_store(&log_threshold_, (int)level);
}

/* Length of the valid UTF-8 sequence at S (N bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
        size_t len = s[0] >= 0xf0 && s[0] <= 0xf4   ? 4
                     : s[0] >= 0xe0                 ? 3
                     : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
                                                    : 0;
        if (len == 0 || len > n)
                return 0;
        for (size_t i = 1; i < len; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        return len;
}

/* Appends MSG (N bytes) to OUT escaped for the format: control
 * characters as \n, \r, \t or \u00XX (JSON) / \xXX (text), in JSON also
 * '"' and '\', and a byte that is not UTF-8 as U+FFFD (JSON: the line
 * must parse) or '?'.  OUT has room for 6 bytes per input byte. */
static size_t escape(char *out, const char *msg, size_t n, bool json)
{
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)msg[i];
                if (ch == '\n' || ch == '\r' || ch == '\t') {
                        out[k++] = '\\';
                        out[k++] = ch == '\n' ? 'n' : ch == '\r' ? 'r' : 't';
                } else if (ch < 0x20 || ch == 0x7f) {
                        /* by hand: no terminating NUL past the 6 bytes a
                         * byte may take */
                        static const char hex[] = "0123456789abcdef";
                        out[k++] = '\\';
                        if (json) {
                                out[k++] = 'u';
                                out[k++] = '0';
                                out[k++] = '0';
                        } else {
                                out[k++] = 'x';
                        }
                        out[k++] = hex[ch >> 4];
                        out[k++] = hex[ch & 0xf];
                } else if (json && (ch == '"' || ch == '\\')) {
                        out[k++] = '\\';
                        out[k++] = (char)ch;
                } else if (ch < 0x80) {
                        out[k++] = (char)ch;
                } else {
                        size_t len =
                            utf8_len((const unsigned char *)msg + i, n - i);
                        if (len) {
                                memcpy(out + k, msg + i, len);
                                k += len;
                                i += len - 1;
                        } else if (json) {
                                memcpy(out + k, "\\ufffd", 6);
                                k += 6;
                        } else {
                                out[k++] = '?';
                        }
                }
        }
        return k;
}

static void write_all(const char *p, size_t n)
{
        while (n > 0) {
                ssize_t w = write(STDERR_FILENO, p, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return; /* nowhere left to say so */
                p += w;
                n -= (size_t)w;
        }
}

void log_vemit(log_level_t lv, const char *fmt, va_list ap)
{
        int saved_errno = errno;
        char small[MSG_STACK], *msg = small;
        va_list ap2;
        va_copy(ap2, ap);
        int got = vsnprintf(small, sizeof(small), fmt, ap);
        size_t mlen = got < 0 ? 0 : (size_t)got;
        if (mlen >= sizeof(small)) {
                char *big = malloc(mlen + 1);
                if (big && vsnprintf(big, mlen + 1, fmt, ap2) >= 0)
                        msg = big;
                else
                        mlen = sizeof(small) - 1;
                if (!big || msg != big)
                        free(big);
        }
        va_end(ap2);
        /* libpq ends its messages with a newline: not part of the event */
        while (mlen > 0 && (msg[mlen - 1] == '\n' || msg[mlen - 1] == '\r' ||
                            msg[mlen - 1] == ' ' || msg[mlen - 1] == '\t'))
                mlen--;

        char lsmall[LINE_STACK], *line = lsmall;
        size_t need = mlen * 6 + LINE_FRAME;
        if (need > sizeof(lsmall)) {
                line = malloc(need);
                if (!line) {
                        line = lsmall;
                        mlen = (sizeof(lsmall) - LINE_FRAME) / 6;
                }
        }
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        char stamp[40];
        size_t sl = strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(stamp + sl, sizeof(stamp) - sl, ".%03dZ",
                 (int)(ts.tv_nsec / 1000000));
        bool json = atomic_load(&format_) == LOG_FMT_JSON;
        int k = json ? snprintf(line, LINE_FRAME,
                                "{\"ts\":\"%s\",\"level\":\"%s\",\"msg\":\"",
                                stamp, log_level_name(lv))
                     : snprintf(line, LINE_FRAME, "%s %s patuhd: ", stamp,
                                log_level_name(lv));
        size_t len = (size_t)k + escape(line + k, msg, mlen, json);
        if (json) {
                line[len++] = '"';
                line[len++] = '}';
        }
        line[len++] = '\n';
        write_all(line, len);
        if (line != lsmall)
                free(line);
        if (msg != small)
                free(msg);
        errno = saved_errno;
}

void log_emit(log_level_t lv, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        log_vemit(lv, fmt, ap);
        va_end(ap);
}
