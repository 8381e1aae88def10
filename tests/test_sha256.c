/*
 * test_sha256 — the digest behind every violation_id and alert_id.
 *
 * FIPS 180-4 vectors, a million 'a', a chain over every message length
 * from 0 to 299 (each padding case, one to five blocks, fed in pieces of
 * every size) and an id of SPEC §4.1, all worked out with Python's
 * hashlib.  Whichever compression the CPU gets (the portable rounds or
 * the x86 SHA extensions), the ids must not move.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sha256.h"

static void hex(const unsigned char d[32], char out[65])
{
        for (int i = 0; i < 32; i++)
                snprintf(out + 2 * i, 3, "%02x", d[i]);
}

struct vec {
        const char *msg;
        const char *want;
};

static const struct vec vecs[] = {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
};

static void test_vectors(void **state)
{
        (void)state;
        for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
                sha256_t c;
                unsigned char d[32];
                char got[65];
                sha256_init(&c);
                sha256_update(&c, vecs[i].msg, strlen(vecs[i].msg));
                sha256_final(&c, d);
                hex(d, got);
                assert_string_equal(got, vecs[i].want);
        }
}

static void test_million_a(void **state)
{
        (void)state;
        char a[1000];
        memset(a, 'a', sizeof(a));
        sha256_t c;
        unsigned char d[32];
        char got[65];
        sha256_init(&c);
        for (int i = 0; i < 1000; i++)
                sha256_update(&c, a, sizeof(a));
        sha256_final(&c, d);
        hex(d, got);
        assert_string_equal(
            got,
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* h(i+1) = SHA-256(h(i) || i bytes (j*7+i) & 0xff), h(0) empty; the
 * message of step i is fed in pieces of i % 13 + 1 bytes. */
static void test_chain(void **state)
{
        (void)state;
        unsigned char h[32], msg[32 + 300];
        size_t hn = 0;
        for (int i = 0; i < 300; i++) {
                memcpy(msg, h, hn);
                for (int j = 0; j < i; j++)
                        msg[hn + (size_t)j] =
                            (unsigned char)((j * 7 + i) & 0xff);
                size_t n = hn + (size_t)i, piece = (size_t)(i % 13) + 1;
                sha256_t c;
                sha256_init(&c);
                for (size_t off = 0; off < n; off += piece)
                        sha256_update(&c, msg + off,
                                      n - off < piece ? n - off : piece);
                sha256_final(&c, h);
                hn = 32;
        }
        char got[65];
        hex(h, got);
        assert_string_equal(
            got,
            "d862fa7709f1a0ab662c69027d3957d7f0032a3b741198b773390159507aaab5");
}

static void test_id32(void **state)
{
        (void)state;
        const char *f[] = {"balikpapan-se737-2026", "late_clock_in",
                           "199001012015011001", "2026-04-13", ""};
        char id[33];
        sha256_id32(f, 5, id);
        assert_string_equal(id, "318244c7a6f0b04b36cbd8283e6b0332");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_vectors),
            cmocka_unit_test(test_million_a),
            cmocka_unit_test(test_chain),
            cmocka_unit_test(test_id32),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
