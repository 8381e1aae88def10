#include "sha256.h"

#include <stdbool.h>
#include <string.h>

static const uint32_t k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t rotr(uint32_t x, int n)
{
        return (x >> n) | (x << (32 - n));
}

static void block_portable(sha256_t *c, const unsigned char *p)
{
        uint32_t w[64];
        for (int i = 0; i < 16; i++)
                w[i] = (uint32_t)p[i * 4] << 24 | (uint32_t)p[i * 4 + 1] << 16 |
                       (uint32_t)p[i * 4 + 2] << 8 | p[i * 4 + 3];
        for (int i = 16; i < 64; i++) {
                uint32_t s0 =
                    rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
                uint32_t s1 =
                    rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
                w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3],
                 e = c->h[4], f = c->h[5], g = c->h[6], h = c->h[7];
        for (int i = 0; i < 64; i++) {
                uint32_t s1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
                uint32_t ch = (e & f) ^ (~e & g);
                uint32_t t1 = h + s1 + ch + k[i] + w[i];
                uint32_t s0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
                uint32_t maj = (a & b) ^ (a & cc) ^ (b & cc);
                uint32_t t2 = s0 + maj;
                h = g;
                g = f;
                f = e;
                e = d + t1;
                d = cc;
                cc = b;
                b = a;
                a = t1 + t2;
        }
        c->h[0] += a;
        c->h[1] += b;
        c->h[2] += cc;
        c->h[3] += d;
        c->h[4] += e;
        c->h[5] += f;
        c->h[6] += g;
        c->h[7] += h;
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(PATUH_SHA256_PORTABLE)
#include <cpuid.h>
#include <immintrin.h>

/* The same compression with the SHA extensions of x86 (Intel's reference
 * layout: the state as ABEF/CDGH, four rounds per message group).  Ids are
 * hashed for every publication; this is several times faster than the
 * portable rounds, with the very same result. */
__attribute__((target("sha,sse4.1,ssse3"))) static void
block_ni(uint32_t h[8], const unsigned char *p)
{
        const __m128i bswap =
            _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
        __m128i tmp = _mm_loadu_si128((const __m128i *)&h[0]);
        __m128i st1 = _mm_loadu_si128((const __m128i *)&h[4]);
        tmp = _mm_shuffle_epi32(tmp, 0xB1);         /* CDAB */
        st1 = _mm_shuffle_epi32(st1, 0x1B);         /* EFGH */
        __m128i st0 = _mm_alignr_epi8(tmp, st1, 8); /* ABEF */
        st1 = _mm_blend_epi16(st1, tmp, 0xF0);      /* CDGH */
        const __m128i abef = st0, cdgh = st1;
        __m128i w[4];
        for (int i = 0; i < 16; i++) {
                if (i < 4) {
                        w[i] = _mm_shuffle_epi8(
                            _mm_loadu_si128((const __m128i *)(p + 16 * i)),
                            bswap);
                } else {
                        /* W[t-16] + s0(W[t-15]) + W[t-7] + s1(W[t-2]) */
                        __m128i x =
                            _mm_sha256msg1_epu32(w[i % 4], w[(i + 1) % 4]);
                        x = _mm_add_epi32(
                            x,
                            _mm_alignr_epi8(w[(i + 3) % 4], w[(i + 2) % 4], 4));
                        w[i % 4] = _mm_sha256msg2_epu32(x, w[(i + 3) % 4]);
                }
                __m128i m = _mm_add_epi32(
                    w[i % 4], _mm_loadu_si128((const __m128i *)&k[4 * i]));
                st1 = _mm_sha256rnds2_epu32(st1, st0, m);
                m = _mm_shuffle_epi32(m, 0x0E);
                st0 = _mm_sha256rnds2_epu32(st0, st1, m);
        }
        st0 = _mm_add_epi32(st0, abef);
        st1 = _mm_add_epi32(st1, cdgh);
        tmp = _mm_shuffle_epi32(st0, 0x1B);    /* FEBA */
        st1 = _mm_shuffle_epi32(st1, 0xB1);    /* DCHG */
        st0 = _mm_blend_epi16(tmp, st1, 0xF0); /* DCBA */
        st1 = _mm_alignr_epi8(st1, tmp, 8);    /* ABEF */
        _mm_storeu_si128((__m128i *)&h[0], st0);
        _mm_storeu_si128((__m128i *)&h[4], st1);
}

/* CPUID itself rather than __builtin_cpu_supports("sha"), which clang 14
 * does not know (the libFuzzer build): leaf 7 EBX bit 29 is SHA, leaf 1
 * ECX bits 19 and 9 are SSE4.1 and SSSE3.  Asked once before main(), as
 * libgcc does for __builtin_cpu_supports, so threads only read it. */
static bool ni;

__attribute__((constructor)) static void detect_ni(void)
{
        unsigned a, b, c, d;
        bool sha = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
        bool sse = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 19)) &&
                   (c & (1u << 9));
        ni = sha && sse;
}

static bool have_ni(void)
{
        return ni;
}

static void block(sha256_t *c, const unsigned char *p)
{
        if (have_ni())
                block_ni(c->h, p);
        else
                block_portable(c, p);
}
#else
static void block(sha256_t *c, const unsigned char *p)
{
        block_portable(c, p);
}
#endif

void sha256_init(sha256_t *c)
{
        static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
                                       0xa54ff53a, 0x510e527f, 0x9b05688c,
                                       0x1f83d9ab, 0x5be0cd19};
        memcpy(c->h, iv, sizeof(iv));
        c->len = 0;
        c->fill = 0;
}

void sha256_update(sha256_t *c, const void *data, size_t n)
{
        const unsigned char *p = data;
        c->len += n;
        while (n > 0) {
                size_t take = 64 - c->fill;
                if (take > n)
                        take = n;
                memcpy(c->buf + c->fill, p, take);
                c->fill += take;
                p += take;
                n -= take;
                if (c->fill == 64) {
                        block(c, c->buf);
                        c->fill = 0;
                }
        }
}

void sha256_final(sha256_t *c, unsigned char out[32])
{
        static const unsigned char pad[64] = {0x80};
        uint64_t bits = c->len * 8;
        sha256_update(c, pad, 1 + (119 - c->fill % 64) % 64);
        unsigned char lenbuf[8];
        for (int i = 0; i < 8; i++)
                lenbuf[i] = (unsigned char)(bits >> (56 - 8 * i));
        sha256_update(c, lenbuf, 8);
        for (int i = 0; i < 8; i++) {
                out[i * 4] = (unsigned char)(c->h[i] >> 24);
                out[i * 4 + 1] = (unsigned char)(c->h[i] >> 16);
                out[i * 4 + 2] = (unsigned char)(c->h[i] >> 8);
                out[i * 4 + 3] = (unsigned char)c->h[i];
        }
}

void sha256_id32(const char *const *fields, size_t n, char out[33])
{
        static const char hex[] = "0123456789abcdef";
        sha256_t c;
        unsigned char d[32];
        sha256_init(&c);
        for (size_t i = 0; i < n; i++) {
                if (i)
                        sha256_update(&c, "\x1f", 1);
                sha256_update(&c, fields[i], strlen(fields[i]));
        }
        sha256_final(&c, d);
        for (int i = 0; i < 16; i++) {
                out[i * 2] = hex[d[i] >> 4];
                out[i * 2 + 1] = hex[d[i] & 15];
        }
        out[32] = '\0';
}
