/*
 * util.c — small utilities of libjag: strict base64 (RFC 4648 §4, decoding as Python's
 * base64.b64decode(s, validate=True)), SHA-256 (FIPS 180-4), whole-file reading, atomic
 * file writing (temporary file + fsync + rename, spec/README.md §6 "Atomic writes"),
 * bounded formatting and overflow-checked int64 arithmetic.
 */
#include "jag_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ---------------------------------------------------------------- formatting, arithmetic */

void jag_format(char *buf, size_t size, const char *fmt, ...)
{
    if (!buf || size == 0) return;
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    if (r < 0) buf[0] = '\0';
    buf[size - 1] = '\0';
}

bool jag_mul_i64(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0) return false;
    if (a != 0 && b > INT64_MAX / a) return false;
    *out = a * b;
    return true;
}

bool jag_add_i64(int64_t a, int64_t b, int64_t *out)
{
    if (a < 0 || b < 0) return false;
    if (a > INT64_MAX - b) return false;
    *out = a + b;
    return true;
}

/* ---------------------------------------------------------------- base64 */

/* 0..63 for the alphabet, 64 for '=', 255 for anything else. */
static const uint8_t B64[256] = {
#define X255 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255
    X255, X255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 62, 255, 255, 255, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 255, 255, 255, 64, 255, 255,
    255, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 255, 255, 255, 255, 255,
    255, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 255, 255, 255, 255, 255,
    X255, X255, X255, X255, X255, X255, X255, X255
#undef X255
};

int64_t jag_base64_decoded_size(const char *text, size_t len)
{
    if (len % 4 != 0 || (len > 0 && !text)) return -1;
    if (len == 0) return 0;
    const unsigned char *s = (const unsigned char *)text;
    size_t pad = 0;
    if (s[len - 1] == '=') pad = (s[len - 2] == '=') ? 2 : 1;
    /* the character before the padding must be data */
    if (pad > 0 && B64[s[len - pad - 1]] >= 64) return -1;
    if (len / 4 > (size_t)INT64_MAX / 3) return -1;
    return (int64_t)(len / 4 * 3 - pad);
}

bool jag_base64_decode(const char *text, size_t len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (out_len) *out_len = 0;
    int64_t size = jag_base64_decoded_size(text, len);
    if (size < 0 || (uint64_t)size > out_cap) return false;
    if (size == 0) return true;
    const unsigned char *s = (const unsigned char *)text;
    size_t full = len / 4 - 1;  /* quanta before the last one: no padding allowed */
    size_t o = 0;
    for (size_t q = 0; q < full; q++) {
        const unsigned char *c = s + 4 * q;
        uint32_t a = B64[c[0]], b = B64[c[1]], d = B64[c[2]], e = B64[c[3]];
        if ((a | b | d | e) >= 64) return false;    /* also catches '=' (64) and junk (255) */
        uint32_t v = (a << 18) | (b << 12) | (d << 6) | e;
        out[o++] = (uint8_t)(v >> 16);
        out[o++] = (uint8_t)(v >> 8);
        out[o++] = (uint8_t)v;
    }
    /* last quantum: xxxx, xxx= or xx== (non-zero trailing bits accepted, as Python) */
    const unsigned char *c = s + 4 * full;
    uint32_t a = B64[c[0]], b = B64[c[1]], d = B64[c[2]], e = B64[c[3]];
    if (a >= 64 || b >= 64) return false;
    uint32_t v = (a << 18) | (b << 12);
    out[o++] = (uint8_t)(v >> 16);
    if (d == 64) {
        if (e != 64) return false;
    } else {
        if (d > 64) return false;
        v |= d << 6;
        out[o++] = (uint8_t)(v >> 8);
        if (e != 64) {
            if (e > 64) return false;
            v |= e;
            out[o++] = (uint8_t)v;
        }
    }
    if (out_len) *out_len = o;
    return o == (size_t)size;
}

/* ---------------------------------------------------------------- SHA-256 (FIPS 180-4) */

static const uint32_t SHA_K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = ((uint32_t)p[4 * i] << 24) | ((uint32_t)p[4 * i + 1] << 16) | ((uint32_t)p[4 * i + 2] << 8) |
               (uint32_t)p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t S1 = ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + S1 + ch + SHA_K[i] + w[i];
        uint32_t S0 = ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        hh = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d;
    h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void jag_sha256(const void *data, size_t len, uint8_t digest[32])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const uint8_t *p = (const uint8_t *)data;
    size_t full = len / 64;
    for (size_t i = 0; i < full; i++) sha256_block(h, p + 64 * i);
    uint8_t tail[128];
    size_t rest = len - 64 * full;
    if (rest) memcpy(tail, p + 64 * full, rest);
    tail[rest] = 0x80;
    size_t tlen = rest + 1 + 8 <= 64 ? 64 : 128;
    memset(tail + rest + 1, 0, tlen - rest - 1);
    uint64_t bits = (uint64_t)len * 8u;   /* modulo 2^64, as FIPS 180-4 */
    for (int i = 0; i < 8; i++) tail[tlen - 1 - (size_t)i] = (uint8_t)(bits >> (8 * i));
    sha256_block(h, tail);
    if (tlen == 128) sha256_block(h, tail + 64);
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(h[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(h[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(h[i] >> 8);
        digest[4 * i + 3] = (uint8_t)h[i];
    }
}

void jag_sha256_hex(const void *data, size_t len, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    uint8_t d[32];
    jag_sha256(data, len, d);
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[64] = '\0';
}

/* ---------------------------------------------------------------- files */

enum jag_status jag_read_file(const char *path, int64_t max_bytes, uint8_t **data, size_t *len,
                              char *why, size_t why_size)
{
    *data = NULL;
    *len = 0;
    if (!path) {
        jag_format(why, why_size, "cannot read a file: no path given");
        return JAG_STATUS_E_FILE;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        jag_format(why, why_size, "cannot read '%s': %s", path, strerror(errno));
        return JAG_STATUS_E_FILE;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        jag_format(why, why_size, "cannot read '%s': %s", path, strerror(errno));
        fclose(f);
        return JAG_STATUS_E_FILE;
    }
    if (S_ISDIR(st.st_mode)) {
        jag_format(why, why_size, "cannot read '%s': it is a folder", path);
        fclose(f);
        return JAG_STATUS_E_FILE;
    }
    uint64_t limit = max_bytes < 0 ? (uint64_t)SIZE_MAX - 1 : (uint64_t)max_bytes;
    if ((uint64_t)SIZE_MAX - 1 < limit) limit = (uint64_t)SIZE_MAX - 1;
    uint8_t *buf = NULL;
    size_t n = 0;
    if (S_ISREG(st.st_mode)) {
        if (st.st_size < 0 || (uint64_t)st.st_size > limit) {
            jag_format(why, why_size, "cannot read '%s': it is too large (%lld bytes; the limit is %lld)", path,
                       (long long)st.st_size, (long long)max_bytes);
            fclose(f);
            return JAG_STATUS_E_FILE;
        }
        size_t size = (size_t)st.st_size;
        buf = malloc(size + 1);
        if (!buf) {
            jag_format(why, why_size, "cannot read '%s': out of memory (%zu bytes)", path, size);
            fclose(f);
            return JAG_STATUS_OUT_OF_MEMORY;
        }
        n = size > 0 ? fread(buf, 1, size, f) : 0;
        if (n != size || ferror(f)) {
            int e = errno;
            jag_format(why, why_size, "cannot read '%s': %s", path,
                       ferror(f) && e ? strerror(e) : "the file changed while it was read");
            free(buf);
            fclose(f);
            return JAG_STATUS_E_FILE;
        }
    } else {
        /* a pipe or device: read in chunks */
        size_t cap = 0;
        for (;;) {
            if (n + 1 >= cap) {
                size_t ncap = cap ? cap * 2 : 65536;
                if (ncap <= cap) ncap = (size_t)limit + 1;
                uint8_t *nb = realloc(buf, ncap);
                if (!nb) {
                    free(buf);
                    fclose(f);
                    jag_format(why, why_size, "cannot read '%s': out of memory", path);
                    return JAG_STATUS_OUT_OF_MEMORY;
                }
                buf = nb;
                cap = ncap;
            }
            size_t r = fread(buf + n, 1, cap - 1 - n, f);
            n += r;
            if ((uint64_t)n > limit) {
                jag_format(why, why_size, "cannot read '%s': it is too large (the limit is %lld bytes)", path,
                           (long long)max_bytes);
                free(buf);
                fclose(f);
                return JAG_STATUS_E_FILE;
            }
            if (r == 0) {
                if (ferror(f)) {
                    jag_format(why, why_size, "cannot read '%s': %s", path, strerror(errno));
                    free(buf);
                    fclose(f);
                    return JAG_STATUS_E_FILE;
                }
                break;
            }
        }
        if (!buf) {
            buf = malloc(1);
            if (!buf) {
                fclose(f);
                jag_format(why, why_size, "cannot read '%s': out of memory", path);
                return JAG_STATUS_OUT_OF_MEMORY;
            }
        }
    }
    fclose(f);
    buf[n] = 0;
    *data = buf;
    *len = n;
    return JAG_STATUS_OK;
}

enum jag_status jag_write_file_atomic(const char *path, const void *data, size_t len, char *why, size_t why_size)
{
    static unsigned long counter = 0;
    if (!path || !*path) {
        jag_format(why, why_size, "cannot write a file: no path given");
        return JAG_STATUS_E_FILE;
    }
    size_t plen = strlen(path);
    size_t tsize = plen + 64;
    char *tmp = malloc(tsize);
    if (!tmp) {
        jag_format(why, why_size, "cannot write '%s': out of memory", path);
        return JAG_STATUS_OUT_OF_MEMORY;
    }
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        counter++;
        snprintf(tmp, tsize, "%s.tmp.%ld.%lu", path, (long)getpid(), counter);
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        jag_format(why, why_size, "cannot write '%s': %s", path, strerror(errno));
        free(tmp);
        return JAG_STATUS_E_FILE;
    }
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        int e = errno;
        close(fd);
        unlink(tmp);
        jag_format(why, why_size, "cannot write '%s': %s", path, strerror(e));
        free(tmp);
        return JAG_STATUS_E_FILE;
    }
    bool ok = len == 0 || fwrite(data, 1, len, f) == len;
    int e = ok ? 0 : errno;
    if (ok && fflush(f) != 0) { ok = false; e = errno; }
    if (ok && fsync(fileno(f)) != 0) { ok = false; e = errno; }
    if (fclose(f) != 0 && ok) { ok = false; e = errno; }
    if (ok && rename(tmp, path) != 0) { ok = false; e = errno; }
    if (!ok) {
        unlink(tmp);
        jag_format(why, why_size, "cannot write '%s': %s", path, e ? strerror(e) : "write failed");
        free(tmp);
        return JAG_STATUS_E_FILE;
    }
    free(tmp);
    return JAG_STATUS_OK;
}
