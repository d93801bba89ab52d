/* 64-bit hashing: xxHash64 over 4 MiB of generated data, re-hashed for many rounds
 * with chained seeds, plus many short inputs at odd offsets and lengths (the
 * unaligned and tail paths). i64 multiply/rotate heavy. */
#include "bench.h"
#define LEN (4 * 1024 * 1024)
static u8 data[LEN + 64];
#define P1 0x9E3779B185EBCA87ull
#define P2 0xC2B2AE3D27D4EB4Full
#define P3 0x165667B19E3779F9ull
#define P4 0x85EBCA77C2B2AE63ull
#define P5 0x27D4EB2F165667C5ull
static inline u64 rotl(u64 x, int r) { return (x << r) | (x >> ((64 - r) & 63)); }
static inline u64 rd64(const u8 *p) { u64 v; __builtin_memcpy(&v, p, 8); return v; }
static inline u32 rd32(const u8 *p) { u32 v; __builtin_memcpy(&v, p, 4); return v; }
static inline u64 round1(u64 acc, u64 in) { acc += in * P2; acc = rotl(acc, 31); return acc * P1; }
static inline u64 merge(u64 acc, u64 v) { acc ^= round1(0, v); return acc * P1 + P4; }
static u64 xxh64(const u8 *p, usize len, u64 seed) {
  const u8 *end = p + len;
  u64 h;
  if (len >= 32) {
    const u8 *limit = end - 32;
    u64 v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
    do {
      v1 = round1(v1, rd64(p)); v2 = round1(v2, rd64(p + 8));
      v3 = round1(v3, rd64(p + 16)); v4 = round1(v4, rd64(p + 24));
      p += 32;
    } while (p <= limit);
    h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
    h = merge(h, v1); h = merge(h, v2); h = merge(h, v3); h = merge(h, v4);
  } else {
    h = seed + P5;
  }
  h += (u64)len;
  while (p + 8 <= end) { h ^= round1(0, rd64(p)); h = rotl(h, 27) * P1 + P4; p += 8; }
  if (p + 4 <= end) { h ^= (u64)rd32(p) * P1; h = rotl(h, 23) * P2 + P3; p += 4; }
  while (p < end) { h ^= (u64)(*p) * P5; h = rotl(h, 11) * P1; p++; }
  h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32;
  return h;
}
volatile u32 rounds = 400;
EXPORT u32 run(void) {
  u64 s = 0x0123456789ABCDEFull;
  for (u32 i = 0; i < LEN + 64; i += 8) {  /* splitmix64 fill */
    s += 0x9E3779B97F4A7C15ull;
    u64 z = s;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    __builtin_memcpy(data + i, &z, 8);
  }
  /* self-test vectors: xxh64("", 0) and xxh64("abc", 0) */
  if (xxh64((const u8 *)"", 0, 0) != 0xEF46DB3751D8E999ull) return 1;
  if (xxh64((const u8 *)"abc", 3, 0) != 0x44BC2CF5AD770999ull) return 2;
  u64 seed = 0, acc = 0;
  u32 n = rounds;
  for (u32 r = 0; r < n; r++) {
    seed = xxh64(data, LEN, seed);
    acc ^= rotl(seed, r & 63);
    data[(seed >> 8) & (LEN - 1)] ^= (u8)seed;  /* perturb the input */
    /* short keys: 4096 slices of length 0..95 at arbitrary offsets */
    u64 off = seed;
    for (u32 k = 0; k < 4096; k++) {
      off = off * 6364136223846793005ull + 1442695040888963407ull;
      usize o = (usize)((off >> 40) % (LEN - 96));  /* o + l stays inside data */
      usize l = (usize)((off >> 20) % 96);
      acc += xxh64(data + o, l, k) * (2 * k + 1);
    }
  }
  return fold64(acc) ^ fold64(seed);
}
