#include "jsonv.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool jsonv_fail(const jsonv_t *v, const char *path, const char *fmt, ...)
{
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (path && *path)
                snprintf(v->errstr, v->errstr_size, "%s: %s: %s", v->what, path,
                         msg);
        else
                snprintf(v->errstr, v->errstr_size, "%s: %s", v->what, msg);
        return false;
}

const char *jsonv_key(char *buf, size_t n, const char *parent, const char *key)
{
        if (parent && *parent)
                snprintf(buf, n, "%s.%s", parent, key);
        else
                snprintf(buf, n, "%s", key);
        return buf;
}

const char *jsonv_idx(char *buf, size_t n, const char *parent, size_t i)
{
        snprintf(buf, n, "%s[%zu]", parent ? parent : "", i);
        return buf;
}

static const char *type_name(json_type t)
{
        switch (t) {
        case JSON_OBJECT:
                return "an object";
        case JSON_ARRAY:
                return "an array";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
                return "an integer";
        case JSON_REAL:
                return "a number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "a boolean";
        case JSON_NULL:
                return "null";
        }
        return "a value";
}

const json_t *jsonv_get(const jsonv_t *v, const json_t *obj, const char *parent,
                        const char *key, json_type type)
{
        char path[256];
        jsonv_key(path, sizeof(path), parent, key);
        const json_t *j = json_object_get(obj, key);
        if (!j) {
                jsonv_fail(v, path, "missing");
                return NULL;
        }
        if (json_typeof(j) != type) {
                jsonv_fail(v, path, "expected %s", type_name(type));
                return NULL;
        }
        return j;
}

bool jsonv_int(const jsonv_t *v, const json_t *obj, const char *parent,
               const char *key, int64_t min, int64_t max, int64_t *out)
{
        char path[256];
        jsonv_key(path, sizeof(path), parent, key);
        const json_t *j = jsonv_get(v, obj, parent, key, JSON_INTEGER);
        if (!j)
                return false;
        json_int_t x = json_integer_value(j);
        if (x < min || x > max)
                return jsonv_fail(v, path, "must be between %lld and %lld",
                                  (long long)min, (long long)max);
        *out = x;
        return true;
}

bool jsonv_str(const jsonv_t *v, const json_t *obj, const char *parent,
               const char *key, const char **out)
{
        const json_t *j = jsonv_get(v, obj, parent, key, JSON_STRING);
        if (!j)
                return false;
        *out = json_string_value(j);
        return true;
}

bool jsonv_num(const jsonv_t *v, const json_t *val, const char *path,
               double min, double *out)
{
        if (!json_is_number(val))
                return jsonv_fail(v, path, "expected a number");
        double d = json_number_value(val);
        if (!isfinite(d) || d < min || d > 1e6)
                return jsonv_fail(v, path, "must be a number >= %g", min);
        *out = d;
        return true;
}

bool jsonv_is_identifier(const char *s, size_t len)
{
        if (len < 1 || len > 64)
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                      c == ':' || c == '-'))
                        return false;
        }
        return true;
}

int64_t jsonv_percent_micro(double pct)
{
        return llround(pct * 1e6);
}

char *jsonv_slurp(const char *path, size_t *len)
{
        FILE *f = fopen(path, "rb");
        if (!f)
                return NULL;
        char *buf = NULL;
        size_t n = 0, cap = 0;
        for (;;) {
                if (cap - n < 4096) {
                        cap = cap ? cap * 2 : 8192;
                        char *nb = realloc(buf, cap);
                        if (!nb) {
                                free(buf);
                                fclose(f);
                                return NULL;
                        }
                        buf = nb;
                }
                size_t got = fread(buf + n, 1, cap - n - 1, f);
                if (got == 0)
                        break;
                n += got;
        }
        bool err = ferror(f);
        fclose(f);
        if (err) {
                free(buf);
                return NULL;
        }
        buf[n] = '\0';
        *len = n;
        return buf;
}

bool jsonv_next_line(const char *buf, size_t len, size_t *pos,
                     const char **start, size_t *n, size_t *line)
{
        if (*pos >= len)
                return false;
        const char *s = buf + *pos;
        const char *nl = memchr(s, '\n', len - *pos);
        size_t l = nl ? (size_t)(nl - s) : len - *pos;
        *pos += l + (nl ? 1 : 0);
        if (l > 0 && s[l - 1] == '\r')
                l--;
        *start = s;
        *n = l;
        (*line)++;
        return true;
}

bool jsonv_is_blank(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' &&
                    s[i] != '\n' && s[i] != '\f' && s[i] != '\v')
                        return false;
        return true;
}

const char *jsonv_skip_bom(const char *buf, size_t len)
{
        return len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0 ? buf + 3 : buf;
}

bool jsonv_read_line(FILE *f, char **buf, size_t *cap, long long *line,
                     const char **s, size_t *n)
{
        ssize_t got;
        while ((got = getline(buf, cap, f)) >= 0) {
                size_t len = (size_t)got;
                const char *p = *buf;
                (*line)++;
                while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
                        len--;
                if (*line == 1) {
                        const char *t = jsonv_skip_bom(p, len);
                        len -= (size_t)(t - p);
                        p = t;
                }
                if (jsonv_is_blank(p, len))
                        continue;
                *s = p;
                *n = len;
                return true;
        }
        return false;
}
