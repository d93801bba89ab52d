/* Checksums: table-driven CRC-32 and Adler-32 over a 256 KiB buffer, many passes.
 * A tight byte loop of loads, shifts and table lookups. */
#include "bench.h"
#define N (1u << 18)
static u8 buf[N];
static u32 table[256];
volatile u32 passes = 160;
static void make_table(void) {
  for (u32 i = 0; i < 256; i++) {
    u32 c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
}
static u32 crc32(const u8 *p, u32 n, u32 crc) {
  crc = ~crc;
  for (u32 i = 0; i < n; i++) crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return ~crc;
}
static u32 adler32(const u8 *p, u32 n) {
  u32 a = 1, b = 0;
  while (n) {
    u32 chunk = n < 5552 ? n : 5552;
    n -= chunk;
    while (chunk--) { a += *p++; b += a; }
    a %= 65521; b %= 65521;
  }
  return b << 16 | a;
}
EXPORT u32 run(void) {
  make_table();
  u32 x = 2463534242u;
  for (u32 i = 0; i < N; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; buf[i] = (u8)x; }
  u32 crc = 0, adler = 0, n = passes;
  for (u32 k = 0; k < n; k++) {
    crc = crc32(buf, N, crc);
    adler ^= adler32(buf, N - k);
    buf[k] ^= (u8)crc;
  }
  return crc ^ adler;
}
