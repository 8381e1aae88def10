#include "strmap.h"

#include <stdlib.h>
#include <string.h>

struct slot {
        const char *key; /* into the arena; NULL = empty */
        uint32_t len;
        uint32_t hash;
        int32_t val;
};

struct chunk {
        struct chunk *next;
        size_t used;
        size_t cap;
        char data[];
};

struct strmap {
        struct slot *slots;
        size_t cap; /* power of two */
        size_t count;
        struct chunk *arena;
};

/* FNV-1a: short ids, no adversarial input that can slow us down beyond a
 * linear probe (keys come from validated 1-64 byte identifiers). */
static uint32_t hash_bytes(const char *s, size_t n)
{
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < n; i++) {
                h ^= (unsigned char)s[i];
                h *= 16777619u;
        }
        return h;
}

strmap_t *strmap_new(void)
{
        strmap_t *m = calloc(1, sizeof(*m));
        if (!m)
                return NULL;
        m->cap = 64;
        m->slots = calloc(m->cap, sizeof(*m->slots));
        if (!m->slots) {
                free(m);
                return NULL;
        }
        return m;
}

void strmap_free(strmap_t *m)
{
        if (!m)
                return;
        struct chunk *c = m->arena;
        while (c) {
                struct chunk *next = c->next;
                free(c);
                c = next;
        }
        free(m->slots);
        free(m);
}

size_t strmap_count(const strmap_t *m)
{
        return m->count;
}

static struct slot *find(const struct slot *slots, size_t cap, const char *key,
                         size_t len, uint32_t h)
{
        size_t i = h & (cap - 1);
        for (;;) {
                const struct slot *s = &slots[i];
                if (!s->key || (s->hash == h && s->len == len &&
                                memcmp(s->key, key, len) == 0))
                        return (struct slot *)s;
                i = (i + 1) & (cap - 1);
        }
}

uint32_t strmap_hash(const char *key, size_t len)
{
        return hash_bytes(key, len);
}

int32_t strmap_get_h(const strmap_t *m, const char *key, size_t len, uint32_t h)
{
        struct slot *s = find(m->slots, m->cap, key, len, h);
        return s->key ? s->val : -1;
}

int32_t strmap_get(const strmap_t *m, const char *key, size_t len)
{
        return strmap_get_h(m, key, len, hash_bytes(key, len));
}

void strmap_prefetch(const strmap_t *m, uint32_t h)
{
        __builtin_prefetch(&m->slots[h & (m->cap - 1)]);
}

static const char *arena_copy(strmap_t *m, const char *key, size_t len)
{
        struct chunk *c = m->arena;
        if (!c || c->cap - c->used < len + 1) {
                size_t cap = len + 1 > 65536 ? len + 1 : 65536;
                c = malloc(sizeof(*c) + cap);
                if (!c)
                        return NULL;
                c->next = m->arena;
                c->used = 0;
                c->cap = cap;
                m->arena = c;
        }
        char *dst = c->data + c->used;
        memcpy(dst, key, len);
        dst[len] = '\0';
        c->used += len + 1;
        return dst;
}

static bool rehash(strmap_t *m, size_t cap)
{
        struct slot *slots = calloc(cap, sizeof(*slots));
        if (!slots)
                return false;
        for (size_t i = 0; i < m->cap; i++) {
                struct slot *s = &m->slots[i];
                if (s->key)
                        *find(slots, cap, s->key, s->len, s->hash) = *s;
        }
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
        return true;
}

static bool grow(strmap_t *m)
{
        return rehash(m, m->cap * 2);
}

bool strmap_reserve(strmap_t *m, size_t n)
{
        size_t cap = m->cap;
        while (n * 4 > cap * 3) /* the load strmap_intern keeps */
                cap *= 2;
        return cap == m->cap || rehash(m, cap);
}

const char *strmap_intern(strmap_t *m, const char *key, size_t len, int32_t val,
                          bool *added)
{
        return strmap_intern_h(m, key, len, hash_bytes(key, len), val, added);
}

const char *strmap_intern_h(strmap_t *m, const char *key, size_t len,
                            uint32_t h, int32_t val, bool *added)
{
        struct slot *s = find(m->slots, m->cap, key, len, h);
        if (added)
                *added = false;
        if (s->key)
                return s->key;
        if ((m->count + 1) * 4 > m->cap * 3) {
                if (!grow(m))
                        return NULL;
                s = find(m->slots, m->cap, key, len, h);
        }
        const char *copy = arena_copy(m, key, len);
        if (!copy)
                return NULL;
        s->key = copy;
        s->len = (uint32_t)len;
        s->hash = h;
        s->val = val;
        m->count++;
        if (added)
                *added = true;
        return copy;
}

int32_t strmap_put(strmap_t *m, const char *key, size_t len, int32_t val,
                   bool *added)
{
        bool fresh;
        const char *stored = strmap_intern(m, key, len, val, &fresh);
        if (added)
                *added = fresh;
        if (!stored)
                return INT32_MIN;
        return fresh ? val : strmap_get(m, key, len);
}
