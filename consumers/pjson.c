#include "pjson.h"

#include <stdlib.h>
#include <string.h>

#define PJ_MAX_DEPTH 64

typedef struct parser {
        const unsigned char *s;
        size_t len;
        size_t pos;
        pj_doc_t *d;
        int depth;
} parser_t;

static void skip_ws(parser_t *p)
{
        while (p->pos < p->len) {
                unsigned char c = p->s[p->pos];
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
                        return;
                p->pos++;
        }
}

static int new_tok(parser_t *p, pj_type_t type)
{
        if (p->d->n == p->d->cap) {
                p->d->full = true;
                return -1;
        }
        int i = (int)p->d->n++;
        pj_tok_t *t = &p->d->tok[i];
        memset(t, 0, sizeof(*t));
        t->type = (uint8_t)type;
        t->start = (uint32_t)p->pos;
        return i;
}

static int hexval(unsigned char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static bool hex4(const unsigned char *s, unsigned *out)
{
        unsigned v = 0;
        for (int i = 0; i < 4; i++) {
                int h = hexval(s[i]);
                if (h < 0)
                        return false;
                v = v << 4 | (unsigned)h;
        }
        *out = v;
        return true;
}

/* Length of the UTF-8 sequence at s (max n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
        unsigned char c = s[0];
        if (c < 0x80)
                return 1;
        size_t need;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
                need = 2;
                cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
                need = 3;
                cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
                need = 4;
                cp = c & 0x07;
        } else {
                return 0;
        }
        if (n < need)
                return 0;
        for (size_t i = 1; i < need; i++) {
                if ((s[i] & 0xC0) != 0x80)
                        return 0;
                cp = cp << 6 | (s[i] & 0x3F);
        }
        if ((need == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (need == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
                return 0;
        return need;
}

bool pj_utf8_valid(const char *str, size_t n)
{
        const unsigned char *s = (const unsigned char *)str;
        size_t i = 0;
        while (i < n) {
                size_t k = utf8_seq(s + i, n - i);
                if (!k)
                        return false;
                i += k;
        }
        return true;
}

/* Byte classes for the string scanner. */
enum { SC_PLAIN, SC_QUOTE, SC_ESC, SC_CTRL, SC_HIGH };

#define P SC_PLAIN
#define Q SC_QUOTE
#define E SC_ESC
#define C SC_CTRL
#define H SC_HIGH
/* clang-format off */
static const unsigned char str_classes[256] = {
        C, C, C, C, C, C, C, C, C, C, C, C, C, C, C, C, /* 00 */
        C, C, C, C, C, C, C, C, C, C, C, C, C, C, C, C, /* 10 */
        P, P, Q, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 20 */
        P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 30 */
        P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 40 */
        P, P, P, P, P, P, P, P, P, P, P, P, E, P, P, P, /* 50 */
        P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 60 */
        P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, /* 70 */
        H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, /* 80 */
        H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, /* 90 */
        H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, /* a0 */
        H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, /* b0 */
        H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, /* c0 */
        H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, /* d0 */
        H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, /* e0 */
        H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, H, /* f0 */
};
/* clang-format on */
#undef P
#undef Q
#undef E
#undef C
#undef H

static inline int str_class(unsigned char c)
{
        return str_classes[c];
}

/* Whether none of the 8 bytes in x ends a plain run: no byte below 0x20,
 * no '"', no '\\', none from 0x80 (each test exact, SWAR style). */
static inline bool plain8(uint64_t x)
{
        const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
        uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
        uint64_t stop = (x | ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) |
                         ((b - ones) & ~b)) &
                        high;
        return stop == 0;
}

static bool parse_string(parser_t *p, int t)
{
        pj_tok_t *tok = &p->d->tok[t];
        const unsigned char *s = p->s;
        size_t i = p->pos + 1, len = p->len; /* past the opening quote */
        tok->start = (uint32_t)i;
        for (;;) {
                /* the common case: a run of plain ASCII, 8 bytes at a
                 * time while they last, then byte by byte */
                uint64_t x;
                while (i + 8 <= len && (memcpy(&x, s + i, 8), plain8(x)))
                        i += 8;
                while (i < len && str_class(s[i]) == SC_PLAIN)
                        i++;
                if (i >= len)
                        return false;
                switch (str_class(s[i])) {
                case SC_QUOTE:
                        tok->len = (uint32_t)(i - tok->start);
                        p->pos = i + 1;
                        return true;
                case SC_CTRL:
                        return false; /* control characters must be escaped */
                case SC_HIGH: {
                        size_t k = utf8_seq(s + i, len - i);
                        if (!k)
                                return false;
                        i += k;
                        break;
                }
                default: { /* SC_ESC */
                        tok->escaped = 1;
                        if (i + 1 >= len)
                                return false;
                        unsigned char e = s[i + 1];
                        if (e != 'u') {
                                if (!e || !strchr("\"\\/bfnrt", e))
                                        return false;
                                i += 2;
                                break;
                        }
                        unsigned u, u2;
                        if (i + 6 > len || !hex4(s + i + 2, &u))
                                return false;
                        i += 6;
                        if (u >= 0xDC00 && u <= 0xDFFF)
                                return false; /* lone low surrogate */
                        if (u >= 0xD800 && u <= 0xDBFF) {
                                if (i + 6 > len || s[i] != '\\' ||
                                    s[i + 1] != 'u' || !hex4(s + i + 2, &u2) ||
                                    u2 < 0xDC00 || u2 > 0xDFFF)
                                        return false;
                                i += 6;
                        }
                }
                }
        }
}

static bool digits(parser_t *p)
{
        size_t start = p->pos;
        while (p->pos < p->len && p->s[p->pos] >= '0' && p->s[p->pos] <= '9')
                p->pos++;
        return p->pos > start;
}

static bool parse_number(parser_t *p, int t)
{
        size_t start = p->pos;
        if (p->s[p->pos] == '-')
                p->pos++;
        if (p->pos >= p->len)
                return false;
        if (p->s[p->pos] == '0') {
                p->pos++;
        } else if (!digits(p)) {
                return false;
        }
        if (p->pos < p->len && p->s[p->pos] == '.') {
                p->pos++;
                if (!digits(p))
                        return false;
        }
        if (p->pos < p->len && (p->s[p->pos] == 'e' || p->s[p->pos] == 'E')) {
                p->pos++;
                if (p->pos < p->len &&
                    (p->s[p->pos] == '+' || p->s[p->pos] == '-'))
                        p->pos++;
                if (!digits(p))
                        return false;
        }
        p->d->tok[t].len = (uint32_t)(p->pos - start);
        return true;
}

static bool literal(parser_t *p, const char *word)
{
        size_t n = strlen(word);
        if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
                return false;
        p->pos += n;
        return true;
}

static bool parse_value(parser_t *p);

static bool parse_container(parser_t *p, int t, bool object)
{
        if (++p->depth > PJ_MAX_DEPTH)
                return false;
        p->pos++; /* [ or { */
        skip_ws(p);
        uint32_t count = 0;
        char close = object ? '}' : ']';
        if (p->pos < p->len && p->s[p->pos] == close) {
                p->pos++;
        } else {
                for (;;) {
                        skip_ws(p);
                        if (object) {
                                if (p->pos >= p->len || p->s[p->pos] != '"')
                                        return false;
                                int k = new_tok(p, PJ_STRING);
                                if (k < 0 || !parse_string(p, k))
                                        return false;
                                p->d->tok[k].end = (uint32_t)k + 1;
                                skip_ws(p);
                                if (p->pos >= p->len || p->s[p->pos] != ':')
                                        return false;
                                p->pos++;
                                skip_ws(p);
                        }
                        if (!parse_value(p))
                                return false;
                        count++;
                        skip_ws(p);
                        if (p->pos >= p->len)
                                return false;
                        if (p->s[p->pos] == ',') {
                                p->pos++;
                                continue;
                        }
                        if (p->s[p->pos] != close)
                                return false;
                        p->pos++;
                        break;
                }
        }
        p->depth--;
        pj_tok_t *tok = &p->d->tok[t];
        tok->count = count;
        tok->len = (uint32_t)(p->pos - tok->start);
        return true;
}

static bool parse_value(parser_t *p)
{
        if (p->pos >= p->len)
                return false;
        unsigned char c = p->s[p->pos];
        int t;
        bool ok;
        switch (c) {
        case '{':
        case '[':
                t = new_tok(p, c == '{' ? PJ_OBJECT : PJ_ARRAY);
                ok = t >= 0 && parse_container(p, t, c == '{');
                break;
        case '"':
                t = new_tok(p, PJ_STRING);
                ok = t >= 0 && parse_string(p, t);
                break;
        case 't':
                t = new_tok(p, PJ_TRUE);
                ok = t >= 0 && literal(p, "true");
                break;
        case 'f':
                t = new_tok(p, PJ_FALSE);
                ok = t >= 0 && literal(p, "false");
                break;
        case 'n':
                t = new_tok(p, PJ_NULL);
                ok = t >= 0 && literal(p, "null");
                break;
        default:
                if (c != '-' && (c < '0' || c > '9'))
                        return false;
                t = new_tok(p, PJ_NUMBER);
                ok = t >= 0 && parse_number(p, t);
        }
        if (ok) {
                p->d->tok[t].end = p->d->n;
                if (c == 't' || c == 'f' || c == 'n')
                        p->d->tok[t].len =
                            (uint32_t)(p->pos - p->d->tok[t].start);
        }
        return ok;
}

bool pj_parse(pj_doc_t *d, const char *text, size_t len, pj_tok_t *tok,
              uint32_t cap)
{
        if (len > UINT32_MAX / 2)
                return false;
        d->text = text;
        d->tok = tok;
        d->n = 0;
        d->cap = cap;
        d->full = false;
        parser_t p = {(const unsigned char *)text, len, 0, d, 0};
        skip_ws(&p);
        if (!parse_value(&p))
                return false;
        skip_ws(&p);
        return p.pos == len;
}

/* Compares string token t with key, decoding escapes only when present. */
static bool key_equals(const pj_doc_t *d, int t, const char *key)
{
        const pj_tok_t *k = &d->tok[t];
        if (!k->escaped)
                return strlen(key) == k->len &&
                       memcmp(d->text + k->start, key, k->len) == 0;
        char buf[128];
        int n = pj_string(d, t, buf, sizeof(buf));
        return n >= 0 && strcmp(buf, key) == 0;
}

int pj_get(const pj_doc_t *d, int obj, const char *key)
{
        if (obj < 0 || d->tok[obj].type != PJ_OBJECT)
                return -1;
        int found = -1;
        uint32_t i = (uint32_t)obj + 1;
        for (uint32_t m = 0; m < d->tok[obj].count; m++) {
                int val = (int)i + 1;
                if (key_equals(d, (int)i, key))
                        found = val;
                i = d->tok[val].end;
        }
        return found;
}

static size_t put_utf8(char *out, unsigned cp)
{
        if (cp < 0x80) {
                out[0] = (char)cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char)(0xC0 | cp >> 6);
                out[1] = (char)(0x80 | (cp & 0x3F));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char)(0xE0 | cp >> 12);
                out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
                out[2] = (char)(0x80 | (cp & 0x3F));
                return 3;
        }
        out[0] = (char)(0xF0 | cp >> 18);
        out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
        out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        return 4;
}

int pj_string(const pj_doc_t *d, int t, char *buf, size_t n)
{
        const pj_tok_t *k = &d->tok[t];
        const unsigned char *s = (const unsigned char *)d->text + k->start;
        if (!k->escaped) {
                if (k->len + 1 > n || memchr(s, 0, k->len))
                        return -1;
                memcpy(buf, s, k->len);
                buf[k->len] = '\0';
                return (int)k->len;
        }
        size_t o = 0;
        for (uint32_t i = 0; i < k->len;) {
                unsigned cp = 0;
                size_t adv = 1;
                char tmp[4];
                size_t tn;
                if (s[i] != '\\') {
                        if (o + 1 >= n)
                                return -1;
                        buf[o++] = (char)s[i++];
                        continue;
                }
                switch (s[i + 1]) {
                case 'b':
                        cp = '\b';
                        break;
                case 'f':
                        cp = '\f';
                        break;
                case 'n':
                        cp = '\n';
                        break;
                case 'r':
                        cp = '\r';
                        break;
                case 't':
                        cp = '\t';
                        break;
                case 'u': {
                        unsigned lo = 0xDC00;
                        (void)hex4(s + i + 2, &cp); /* validated by parse */
                        adv = 6;
                        if (cp >= 0xD800 && cp <= 0xDBFF) {
                                (void)hex4(s + i + 8, &lo);
                                cp = 0x10000 + ((cp - 0xD800) << 10) +
                                     (lo - 0xDC00);
                                adv = 12;
                        }
                        break;
                }
                default:
                        cp = s[i + 1]; /* \" \\ \/ */
                }
                if (adv == 1)
                        adv = 2;
                if (cp == 0)
                        return -1;
                tn = put_utf8(tmp, cp);
                if (o + tn >= n)
                        return -1;
                memcpy(buf + o, tmp, tn);
                o += tn;
                i += (uint32_t)adv;
        }
        buf[o] = '\0';
        return (int)o;
}

bool pj_parse_any(pj_doc_t *d, const char *text, size_t len, pj_tok_t *tok,
                  uint32_t cap, pj_tok_t **heap)
{
        *heap = NULL;
        if (pj_parse(d, text, len, tok, cap))
                return true;
        if (!d->full || len + 1 > UINT32_MAX)
                return false;
        *heap = malloc((len + 1) * sizeof(**heap));
        if (*heap && pj_parse(d, text, len, *heap, (uint32_t)len + 1))
                return true;
        free(*heap);
        *heap = NULL;
        return false;
}
