/* Sec-WebSocket-Accept (RFC 6455 §4.2.2 and §1.3): base64 of the SHA-1 of
 * the client's Sec-WebSocket-Key followed by the protocol's GUID. Shared by
 * the benchmark's WebSocket echo application (ws_echo.c) and its load
 * generator (../ws/ws_load.c).
 *
 * SHA-1 (FIPS 180-4 §6.1) and base64 (RFC 4648 §4) are written out here, in
 * about eighty lines, rather than taken from libcrypto: the benchmark's C
 * programs then build with nothing but a C compiler, as fast_upstream.c
 * does, and a handshake's hash of 60 bytes is nowhere near a hot path.
 * ws_accept_selftest() checks both against the example of RFC 6455 §1.3.
 */
#ifndef WS_ACCEPT_H
#define WS_ACCEPT_H

#include <stdint.h>
#include <string.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_ACCEPT_LEN 28 /* base64 of 20 bytes, without the NUL */

static uint32_t ws_rol(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

/* One 64-byte block into the running hash h. */
static void ws_sha1_block(uint32_t h[5], const unsigned char *p) {
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 80; i++) w[i] = ws_rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
        }
        uint32_t t = ws_rol(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = ws_rol(b, 30);
        b = a;
        a = t;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
}

static void ws_sha1(const unsigned char *msg, size_t len, unsigned char out[20]) {
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    size_t i = 0;
    for (; i + 64 <= len; i += 64) ws_sha1_block(h, msg + i);
    /* The tail, the 0x80 marker and the length in bits, big-endian, in the
     * last 8 bytes of one block or, when they do not fit, of a second. */
    unsigned char last[128] = {0};
    size_t rest = len - i;
    memcpy(last, msg + i, rest);
    last[rest] = 0x80;
    size_t blocks = rest + 9 <= 64 ? 1 : 2;
    uint64_t bits = (uint64_t)len * 8;
    for (int j = 0; j < 8; j++) last[blocks * 64 - 1 - j] = (unsigned char)(bits >> (8 * j));
    for (size_t j = 0; j < blocks; j++) ws_sha1_block(h, last + 64 * j);
    for (int j = 0; j < 5; j++) {
        out[4 * j] = (unsigned char)(h[j] >> 24);
        out[4 * j + 1] = (unsigned char)(h[j] >> 16);
        out[4 * j + 2] = (unsigned char)(h[j] >> 8);
        out[4 * j + 3] = (unsigned char)h[j];
    }
}

/* base64 of len bytes into out (4 * ceil(len / 3) characters and a NUL). */
static void ws_base64(const unsigned char *in, size_t len, char *out) {
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len) v |= in[i + 2];
        out[o++] = abc[(v >> 18) & 63];
        out[o++] = abc[(v >> 12) & 63];
        out[o++] = i + 1 < len ? abc[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? abc[v & 63] : '=';
    }
    out[o] = '\0';
}

/* The Sec-WebSocket-Accept for a key of key_len bytes, NUL-terminated.
 * Returns -1 for a key too long to be one (a real key is 24 characters). */
static int ws_accept(const char *key, size_t key_len, char out[WS_ACCEPT_LEN + 1]) {
    unsigned char buf[128], digest[20];
    size_t guid_len = sizeof WS_GUID - 1;
    if (key_len + guid_len > sizeof buf) return -1;
    memcpy(buf, key, key_len);
    memcpy(buf + key_len, WS_GUID, guid_len);
    ws_sha1(buf, key_len + guid_len, digest);
    ws_base64(digest, 20, out);
    return 0;
}

/* RFC 6455 §1.3's example: 0 when SHA-1 and base64 agree with it. */
static int ws_accept_selftest(void) {
    char out[WS_ACCEPT_LEN + 1];
    ws_accept("dGhlIHNhbXBsZSBub25jZQ==", 24, out);
    return strcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0 ? 0 : -1;
}

#endif
