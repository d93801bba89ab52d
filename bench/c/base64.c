/* Encoding: base64 encode and decode of 1 MiB, with table lookups by byte,
 * shifts and masks, many rounds. */
#include "bench.h"
#define N (1u << 20)
static u8 raw[N], text[N / 3 * 4 + 8], back[N];
static const char alphabet[65] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static u8 decode_table[256];
static u32 encode(u32 n) {
  u32 o = 0, i = 0;
  for (; i + 3 <= n; i += 3) {
    u32 v = (u32)raw[i] << 16 | (u32)raw[i + 1] << 8 | raw[i + 2];
    text[o++] = (u8)alphabet[v >> 18]; text[o++] = (u8)alphabet[(v >> 12) & 63];
    text[o++] = (u8)alphabet[(v >> 6) & 63]; text[o++] = (u8)alphabet[v & 63];
  }
  return o;
}
static u32 decode(u32 n) {
  u32 o = 0;
  for (u32 i = 0; i + 4 <= n; i += 4) {
    u32 v = (u32)decode_table[text[i]] << 18 | (u32)decode_table[text[i + 1]] << 12 |
            (u32)decode_table[text[i + 2]] << 6 | decode_table[text[i + 3]];
    back[o++] = (u8)(v >> 16); back[o++] = (u8)(v >> 8); back[o++] = (u8)v;
  }
  return o;
}
volatile u32 rounds = 100;
EXPORT u32 run(void) {
  for (u32 i = 0; i < 64; i++) decode_table[(u8)alphabet[i]] = (u8)i;
  u32 x = 99991, sum = 0, r = rounds, n = N / 3 * 3;
  for (u32 i = 0; i < N; i++) { x = x * 1664525u + 1013904223u; raw[i] = (u8)(x >> 24); }
  for (u32 k = 0; k < r; k++) {
    u32 t = encode(n);
    u32 b = decode(t);
    sum = sum * 31 + t + b + back[k * 7919 % n];
    raw[k] ^= (u8)sum;
  }
  for (u32 i = 0; i < n; i += 4096) sum = sum * 33 + (back[i] ^ raw[i]);
  return sum;
}
