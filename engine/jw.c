#include "jw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jw_init(jw_t *w)
{
        memset(w, 0, sizeof(*w));
        w->first = true;
}

void jw_free(jw_t *w)
{
        free(w->buf);
        jw_init(w);
}

void jw_reset(jw_t *w)
{
        w->len = 0;
        w->oom = false;
        w->first = true;
        if (w->buf)
                w->buf[0] = '\0';
}

static bool reserve_slow(jw_t *w, size_t n)
{
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n + 1)
                cap *= 2;
        char *b = realloc(w->buf, cap);
        if (!b) {
                w->oom = true;
                return false;
        }
        w->buf = b;
        w->cap = cap;
        return true;
}

static inline bool reserve(jw_t *w, size_t n)
{
        return w->len + n + 1 <= w->cap || reserve_slow(w, n);
}

static inline void raw(jw_t *w, const char *s, size_t n)
{
        if (!reserve(w, n))
                return;
        memcpy(w->buf + w->len, s, n);
        w->len += n;
        w->buf[w->len] = '\0';
}

void jw_raw(jw_t *w, const char *s, size_t n)
{
        raw(w, s, n);
}

static inline void sep(jw_t *w)
{
        if (!w->first)
                raw(w, ",", 1);
        w->first = false;
}

void jw_obj_begin(jw_t *w)
{
        sep(w);
        jw_raw(w, "{", 1);
        w->first = true;
}

void jw_obj_end(jw_t *w)
{
        jw_raw(w, "}", 1);
        w->first = false;
}

void jw_arr_begin(jw_t *w)
{
        sep(w);
        jw_raw(w, "[", 1);
        w->first = true;
}

void jw_arr_end(jw_t *w)
{
        jw_raw(w, "]", 1);
        w->first = false;
}

void jw_key(jw_t *w, const char *key)
{
        size_t n = strlen(key);
        if (!reserve(w, n + 4))
                return;
        char *p = w->buf + w->len;
        if (!w->first)
                *p++ = ',';
        *p++ = '"';
        memcpy(p, key, n);
        p += n;
        *p++ = '"';
        *p++ = ':';
        *p = '\0';
        w->len = (size_t)(p - w->buf);
        w->first = true; /* the value that follows takes no comma */
}

/* Values inside arrays get commas; after a key they do not. */
static void value_sep(jw_t *w)
{
        sep(w);
}

/* Whether none of the 8 bytes in x needs escaping: no byte below 0x20,
 * no '"', no '\\' (each test exact, SWAR style; bytes from 0x80 are
 * UTF-8 and copied as they are). */
static inline bool plain8(uint64_t x)
{
        const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
        uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
        return ((((x - ones * 0x20) & ~x) | ((q - ones) & ~q) |
                 ((b - ones) & ~b)) &
                high) == 0;
}

void jw_strn(jw_t *w, const char *s, size_t n)
{
        static const char hex[] = "0123456789abcdef";
        value_sep(w);
        if (!reserve(w, n + 2))
                return;
        w->buf[w->len++] = '"';
        size_t run = 0; /* start of bytes not yet copied */
        size_t i = 0;
        for (uint64_t x; i + 8 <= n && (memcpy(&x, s + i, 8), plain8(x));)
                i += 8; /* the common case: nothing to escape */
        for (; i < n; i++) {
                unsigned char c = (unsigned char)s[i];
                if (c >= 0x20 && c != '"' && c != '\\')
                        continue;
                raw(w, s + run, i - run);
                char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
                size_t el = 2;
                switch (c) {
                case '"':
                        esc[1] = '"';
                        break;
                case '\\':
                        esc[1] = '\\';
                        break;
                case '\n':
                        esc[1] = 'n';
                        break;
                case '\r':
                        esc[1] = 'r';
                        break;
                case '\t':
                        esc[1] = 't';
                        break;
                default:
                        memcpy(esc + 1, "u00", 3);
                        esc[4] = hex[c >> 4];
                        esc[5] = hex[c & 15];
                        el = 6;
                }
                raw(w, esc, el);
                run = i + 1;
        }
        /* the rest and the closing quote (room for both was reserved
         * when nothing needed escaping) */
        raw(w, s + run, n - run);
        raw(w, "\"", 1);
}

void jw_str(jw_t *w, const char *s)
{
        if (!s)
                jw_null(w);
        else
                jw_strn(w, s, strlen(s));
}

size_t jw_itoa(int64_t v, char *buf)
{
        char t[24];
        size_t n = 0, o = 0;
        uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        do {
                t[n++] = (char)('0' + a % 10);
                a /= 10;
        } while (a);
        if (v < 0)
                buf[o++] = '-';
        while (n)
                buf[o++] = t[--n];
        buf[o] = '\0';
        return o;
}

void jw_int(jw_t *w, int64_t v)
{
        char b[24];
        size_t n = jw_itoa(v, b);
        value_sep(w);
        raw(w, b, n);
}

void jw_json(jw_t *w, const char *json, size_t n)
{
        value_sep(w);
        jw_raw(w, json, n);
}

void jw_null(jw_t *w)
{
        value_sep(w);
        jw_raw(w, "null", 4);
}

void jw_bool(jw_t *w, bool v)
{
        value_sep(w);
        jw_raw(w, v ? "true" : "false", v ? 4 : 5);
}

static const jw_memo_t *memo_find(const jw_t *w, char fmt, double v)
{
        for (unsigned i = 0; i < JW_MEMO; i++)
                if (w->memo[i].fmt == fmt &&
                    memcmp(&w->memo[i].v, &v, sizeof(v)) == 0)
                        return &w->memo[i];
        return NULL;
}

static void memo_put(jw_t *w, char fmt, double v, const char *text, size_t n)
{
        if (n >= sizeof(w->memo[0].text))
                return;
        jw_memo_t *m = &w->memo[w->memo_next++ % JW_MEMO];
        m->v = v;
        m->fmt = fmt;
        m->len = (uint8_t)n;
        memcpy(m->text, text, n + 1);
}

void jw_pct(jw_t *w, double v)
{
        if (isfinite(v) && v == (double)(long long)v) {
                jw_int(w, (long long)v);
                return;
        }
        const jw_memo_t *m = memo_find(w, 'f', v);
        if (m) {
                value_sep(w);
                raw(w, m->text, m->len);
                return;
        }
        char b[40];
        int n = snprintf(b, sizeof(b), "%.6f", v);
        while (n > 1 && b[n - 1] == '0')
                n--;
        if (n > 1 && b[n - 1] == '.')
                n--;
        b[n] = '\0';
        memo_put(w, 'f', v, b, (size_t)n);
        value_sep(w);
        raw(w, b, (size_t)n);
}

int jw_format_g(jw_t *w, double v, char *buf, size_t n)
{
        const jw_memo_t *m = memo_find(w, 'g', v);
        if (m && m->len < n) {
                memcpy(buf, m->text, (size_t)m->len + 1);
                return m->len;
        }
        char b[40];
        int len = snprintf(b, sizeof(b), "%g", v);
        if (len < 0 || (size_t)len >= sizeof(b))
                return snprintf(buf, n, "%g", v);
        memo_put(w, 'g', v, b, (size_t)len);
        return snprintf(buf, n, "%s", b);
}

size_t jw_format_fixed(int64_t v, int scale, char *buf, size_t n)
{
        if (scale < 0)
                scale = 0;
        if (scale > 18)
                scale = 18;
        int64_t p = 1;
        for (int i = 0; i < scale; i++)
                p *= 10;
        uint64_t a = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
        uint64_t ip = a / (uint64_t)p, fp = a % (uint64_t)p;
        int len = snprintf(buf, n, "%s%llu", v < 0 ? "-" : "",
                           (unsigned long long)ip);
        if (fp && scale > 0 && len > 0 && (size_t)len < n) {
                /* the fraction's digits, most significant first */
                char f[19];
                int fl = scale;
                for (int i = scale; i-- > 0; fp /= 10)
                        f[i] = (char)('0' + fp % 10);
                while (fl > 0 && f[fl - 1] == '0')
                        fl--;
                len += snprintf(buf + len, n - (size_t)len, ".%.*s", fl, f);
        }
        return len < 0 ? 0 : (size_t)len < n ? (size_t)len : n - 1;
}

void jw_fixed(jw_t *w, int64_t v, int scale)
{
        char b[48];
        size_t n = jw_format_fixed(v, scale, b, sizeof(b));
        value_sep(w);
        jw_raw(w, b, n);
}
