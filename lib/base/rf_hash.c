/* rf_hash: SHA-256 and HMAC via libcrypto; see rf_hash.h. */
#include "base/rf_hash.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <unistd.h>

struct rf_sha256_ctx {
    EVP_MD_CTX *md;
};

rf_sha256_ctx *rf_sha256_new(void)
{
    rf_sha256_ctx *c = malloc(sizeof *c);
    if (!c)
        abort();
    c->md = EVP_MD_CTX_new();
    if (!c->md || EVP_DigestInit_ex(c->md, EVP_sha256(), NULL) != 1)
        abort();
    return c;
}

void rf_sha256_update(rf_sha256_ctx *c, const void *p, size_t n)
{
    EVP_DigestUpdate(c->md, p, n);
}

void rf_sha256_final(rf_sha256_ctx *c, uint8_t out[RF_SHA256_LEN])
{
    unsigned int len = RF_SHA256_LEN;
    EVP_DigestFinal_ex(c->md, out, &len);
}

void rf_sha256_free(rf_sha256_ctx *c)
{
    if (!c)
        return;
    EVP_MD_CTX_free(c->md);
    free(c);
}

void rf_sha256(const void *p, size_t n, uint8_t out[RF_SHA256_LEN])
{
    unsigned int len = RF_SHA256_LEN;
    EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

void rf_hmac_sha256(const void *key, size_t klen, const void *msg, size_t mlen,
                    uint8_t out[RF_SHA256_LEN])
{
    unsigned int len = RF_SHA256_LEN;
    HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &len);
}

void rf_hex(char *out, const uint8_t *in, size_t n)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int rf_unhex(uint8_t *out, const char *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(in[2 * i]), lo = hi < 0 ? -1 : hexval(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int rf_sha256_file(const char *path, char hex[RF_SHA256_HEX])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    rf_sha256_ctx *c = rf_sha256_new();
    static __thread char buf[1 << 16];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        rf_sha256_update(c, buf, (size_t)n);
    close(fd);
    uint8_t d[RF_SHA256_LEN];
    rf_sha256_final(c, d);
    rf_sha256_free(c);
    if (n < 0)
        return -1;
    rf_hex(hex, d, RF_SHA256_LEN);
    return 0;
}
