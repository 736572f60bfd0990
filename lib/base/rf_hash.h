/* rf_hash: SHA-256, HMAC-SHA256 and hex helpers on OpenSSL's libcrypto.
 * Used for artifact content addresses, cache keys and SigV4 signing. */
#ifndef RF_HASH_H
#define RF_HASH_H

#include <stddef.h>
#include <stdint.h>

#define RF_SHA256_LEN 32
#define RF_SHA256_HEX 65 /* 64 hex digits + NUL */

typedef struct rf_sha256_ctx rf_sha256_ctx; /* opaque (EVP_MD_CTX inside) */

rf_sha256_ctx *rf_sha256_new(void);
void rf_sha256_update(rf_sha256_ctx *c, const void *p, size_t n);
void rf_sha256_final(rf_sha256_ctx *c, uint8_t out[RF_SHA256_LEN]);
void rf_sha256_free(rf_sha256_ctx *c);

void rf_sha256(const void *p, size_t n, uint8_t out[RF_SHA256_LEN]);
void rf_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                    uint8_t out[RF_SHA256_LEN]);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void rf_hex(char *out, const uint8_t *in, size_t n);
/* Parse 2n hex digits into out; -1 on a bad digit. */
int rf_unhex(uint8_t *out, const char *in, size_t n);

/* SHA-256 of a whole file as hex; -1 with errno set on I/O failure. */
int rf_sha256_file(const char *path, char hex[RF_SHA256_HEX]);

#endif
