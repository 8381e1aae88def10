/*
 * test_sha256 — the hash behind every violation_id (SPEC §4.1).
 *
 * SHA-256 against the FIPS 180-4 / NIST example vectors and the padding
 * boundaries (55, 56, 63, 64 ... bytes), whole and fed in pieces; then
 * the id derivation: the first 16 bytes, in hex, of SHA-256 over the
 * fields joined by 0x1f.  Every expected value is a literal computed
 * outside patuh (`printf '...' | sha256sum`), so a change of the hash or
 * of the joining rule — which would give every published violation a new
 * id and duplicate it downstream — fails here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "../engine/output.h"
#include "policy.h"
#include "roster.h"
#include "sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void hex(const unsigned char d[32], char out[65])
{
        static const char digits[] = "0123456789abcdef";
        for (int i = 0; i < 32; i++) {
                out[2 * i] = digits[d[i] >> 4];
                out[2 * i + 1] = digits[d[i] & 15];
        }
        out[64] = '\0';
}

/* SHA-256 of msg fed in pieces of `step` bytes (0: in one call). */
static void digest(const char *msg, size_t len, size_t step, char out[65])
{
        sha256_t c;
        unsigned char d[32];
        sha256_init(&c);
        if (step == 0)
                step = len ? len : 1;
        for (size_t at = 0; at < len; at += step)
                sha256_update(&c, msg + at, len - at < step ? len - at : step);
        sha256_final(&c, d);
        hex(d, out);
}

struct vector {
        const char *name;
        char fill;  /* when msg is NULL: `len` copies of fill */
        size_t len; /* when msg is NULL */
        const char *msg;
        const char *want;
};

static const struct vector vectors[] = {
    /* FIPS 180-4 examples (NIST CSRC "SHA256.pdf", FIPS 180-2 App. B) */
    {"abc", 0, 0, "abc",
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"empty", 0, 0, "",
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"448 bits", 0, 0,
     "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"896 bits", 0, 0,
     "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
     "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
     "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    {"one million a", 'a', 1000000, NULL,
     "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
    /* padding edges: the length fits in the last block or needs one more */
    {"55 x", 'x', 55, NULL,
     "d5e285683cd4efc02d021a5c62014694958901005d6f71e89e0989fac77e4072"},
    {"56 x", 'x', 56, NULL,
     "04c26261370ee7541549d16dee320c723e3fd14671e66a099afe0a377c16888e"},
    {"63 x", 'x', 63, NULL,
     "75220b47218278e656f2013bb8f0c455a25eaf01e86c64924e9d48d89776d6f2"},
    {"64 x", 'x', 64, NULL,
     "7ce100971f64e7001e8fe5a51973ecdfe1ced42befe7ee8d5fd6219506b5393c"},
    {"65 x", 'x', 65, NULL,
     "9537c5fdf120482f7d58d25e9ed583f52c02b4e304ea814db1633ad565aed7e9"},
    {"119 x", 'x', 119, NULL,
     "000b48d4edf0fa7bee3c6236ecd2785baa5db4eeb8bb54341b029e0d9fa5fb0c"},
    {"120 x", 'x', 120, NULL,
     "13f05a0b594787f5ecd315edc96141bd3243203d1b7d4f0836f37308b276ba98"},
    {"128 x", 'x', 128, NULL,
     "24da1b81d0b16df6428eee73c69fcb2a93c76bc6df706f0c6670fe6bfe800464"},
};

static void test_vectors(void **state)
{
        (void)state;
        static const size_t steps[] = {0, 1, 3, 63, 64, 65, 1000};
        for (size_t i = 0; i < ARRAY_LEN(vectors); i++) {
                const struct vector *v = &vectors[i];
                size_t len = v->msg ? strlen(v->msg) : v->len;
                char *buf = malloc(len + 1);
                assert_non_null(buf);
                if (v->msg)
                        memcpy(buf, v->msg, len);
                else
                        memset(buf, v->fill, len);
                for (size_t s = 0; s < ARRAY_LEN(steps); s++) {
                        /* bytewise over a million bytes is slow for nothing */
                        if (steps[s] == 1 && len > 4096)
                                continue;
                        char got[65];
                        digest(buf, len, steps[s], got);
                        if (strcmp(got, v->want) != 0)
                                fail_msg("%s in pieces of %zu: %s, want %s",
                                         v->name, steps[s], got, v->want);
                }
                free(buf);
        }
}

struct id_case {
        const char *fields[5];
        size_t n;
        const char *want; /* printf '<fields joined by \x1f>' | sha256sum,
                             first 32 hex digits */
};

static const struct id_case ids[] = {
    /* a late clock-in: subject "" (the join still ends in 0x1f) */
    {{"balikpapan-se737-2026", "late_clock_in", "198703152010011002",
      "2026-04-10", ""},
     5,
     "d53e6af06c74bca8ad9b3b348840ba81"},
    /* an unanswered call: subject = the opening call_id */
    {{"balikpapan-se737-2026", "unanswered_call", "198703152010011002",
      "2026-04-10", "call-9f2"},
     5,
     "80814b536709e2df08a2e0ed030fd03b"},
    /* the separator keeps field boundaries: ab|c, a|bc and abc differ */
    {{"ab", "c"}, 2, "9617c506357d3d46bb660dbde5253de2"},
    {{"a", "bc"}, 2, "624ce4e22aa197da43bff3bcb4717e5b"},
    {{"abc"}, 1, "ba7816bf8f01cfea414140de5dae2223"},
};

static void test_id32(void **state)
{
        (void)state;
        for (size_t i = 0; i < ARRAY_LEN(ids); i++) {
                char got[33];
                memset(got, '#', sizeof(got));
                sha256_id32(ids[i].fields, ids[i].n, got);
                if (strcmp(got, ids[i].want) != 0)
                        fail_msg("id %zu (%s...): %s, want %s", i,
                                 ids[i].fields[0], got, ids[i].want);
        }
}

/* The id a published violation carries: policy_id, kind name, employee,
 * date and subject of the decision, exactly as above. */
static void test_violation_id(void **state)
{
        (void)state;
        static const char roster_text[] =
            "{\"employee_id\":\"198703152010011002\",\"unit_id\":"
            "\"diskominfo\","
            "\"position_class\":\"pelaksana\",\"tpp_monthly\":4500000}\n";
        char err[512] = "";
        policy_t *p =
            policy_load(PATUH_SOURCE_DIR "/rules/balikpapan-se737-2026.json",
                        err, sizeof(err));
        if (!p)
                fail_msg("policy: %s", err);
        roster_t *r = roster_load_buffer(roster_text, sizeof(roster_text) - 1,
                                         "roster", err, sizeof(err));
        if (!r)
                fail_msg("roster: %s", err);
        eval_ctx_t ctx = {p, NULL, r};
        int32_t day;
        assert_true(ptime_parse_date("2026-04-10", 10, &day));
        eval_decision_t d;
        memset(&d, 0, sizeof(d));
        d.subject = "";
        char id[33];
        d.kind = VK_LATE_CLOCK_IN;
        out_violation_id(&ctx, 0, day, &d, id);
        assert_string_equal(id, "d53e6af06c74bca8ad9b3b348840ba81");
        d.kind = VK_UNANSWERED_CALL;
        d.subject = "call-9f2";
        out_violation_id(&ctx, 0, day, &d, id);
        assert_string_equal(id, "80814b536709e2df08a2e0ed030fd03b");
        roster_free(r);
        policy_free(p);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_vectors),
            cmocka_unit_test(test_id32),
            cmocka_unit_test(test_violation_id),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
