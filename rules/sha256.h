/*
 * sha256 — FIPS 180-4 SHA-256, used only to derive deterministic ids
 * (violation_id, alert_id) from their defining fields.  Not for secrets.
 */
#ifndef PATUH_SHA256_H
#define PATUH_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct sha256 {
        uint32_t h[8];
        uint64_t len;
        unsigned char buf[64];
        size_t fill;
} sha256_t;

void sha256_init(sha256_t *c);
void sha256_update(sha256_t *c, const void *data, size_t n);
void sha256_final(sha256_t *c, unsigned char out[32]);

/* Hex of the first 16 bytes of SHA-256 over the fields joined by 0x1f
 * (unit separator): the 32-hex ids of SPEC §4.1. */
void sha256_id32(const char *const *fields, size_t n, char out[33]);

#endif
