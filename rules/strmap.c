#include "strmap.h"

#include <stdlib.h>
#include <string.h>

/* The table is two arrays: slots, probed linearly, hold only the hash and
 * which entry it is (8 bytes: a probe that misses, as most de-duplication
 * look-ups do, reads no key and eight slots share a cache line); entries,
 * dense in insertion order, hold the key and value.  For replay's and
 * patuhd's de-duplication sets (a million ids a month) this is 16 + 8 /
 * 0.75 load bytes per key instead of 24 / 0.75, and a rehash copies only
 * the slots (bench/live: the sets were a quarter of patuhd's peak heap). */
struct slot {
        uint32_t hash;
        uint32_t ix; /* entry index + 1; 0 = empty */
};

struct entry {
        const char *key; /* into the arena */
        uint32_t len;
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
        struct entry *ents;
        size_t count, cap_ents;
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
        free(m->ents);
        free(m);
}

size_t strmap_count(const strmap_t *m)
{
        return m->count;
}

/* The slot holding key, or the empty slot where it would go. */
static struct slot *find(const strmap_t *m, const char *key, size_t len,
                         uint32_t h)
{
        size_t i = h & (m->cap - 1);
        for (;;) {
                struct slot *s = &m->slots[i];
                if (!s->ix)
                        return s;
                if (s->hash == h) {
                        const struct entry *e = &m->ents[s->ix - 1];
                        if (e->len == len && memcmp(e->key, key, len) == 0)
                                return s;
                }
                i = (i + 1) & (m->cap - 1);
        }
}

uint32_t strmap_hash(const char *key, size_t len)
{
        return hash_bytes(key, len);
}

int32_t strmap_get_h(const strmap_t *m, const char *key, size_t len, uint32_t h)
{
        const struct slot *s = find(m, key, len, h);
        return s->ix ? m->ents[s->ix - 1].val : -1;
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
                const struct slot *s = &m->slots[i];
                if (!s->ix)
                        continue;
                size_t j = s->hash & (cap - 1);
                while (slots[j].ix) /* keys are distinct: no compare */
                        j = (j + 1) & (cap - 1);
                slots[j] = *s;
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
        if (n > m->cap_ents && n < UINT32_MAX) {
                struct entry *ne = realloc(m->ents, n * sizeof(*ne));
                if (!ne)
                        return false;
                m->ents = ne;
                m->cap_ents = n;
        }
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
        struct slot *s = find(m, key, len, h);
        if (added)
                *added = false;
        if (s->ix)
                return m->ents[s->ix - 1].key;
        if (m->count == UINT32_MAX - 1)
                return NULL; /* ix would not fit */
        if ((m->count + 1) * 4 > m->cap * 3) {
                if (!grow(m))
                        return NULL;
                s = find(m, key, len, h);
        }
        if (m->count == m->cap_ents) {
                size_t nc = m->cap_ents ? m->cap_ents * 2 : 64;
                struct entry *ne = realloc(m->ents, nc * sizeof(*ne));
                if (!ne)
                        return NULL;
                m->ents = ne;
                m->cap_ents = nc;
        }
        const char *copy = arena_copy(m, key, len);
        if (!copy)
                return NULL;
        m->ents[m->count] = (struct entry){copy, (uint32_t)len, val};
        s->hash = h;
        s->ix = (uint32_t)++m->count;
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
