/* 64-bit integer arithmetic: a splitmix64 stream, Miller-Rabin primality of 32-bit
 * numbers (modular exponentiation with 64-bit products and remainders), rotations,
 * bit counts, and signed and unsigned 64-bit division. */
#include "bench.h"
static inline u64 splitmix(u64 *state) {
  u64 z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static u64 powmod(u64 base, u64 exp, u64 mod) {
  u64 result = 1;
  base %= mod;
  while (exp) {
    if (exp & 1) result = result * base % mod;
    base = base * base % mod;
    exp >>= 1;
  }
  return result;
}
static int is_prime(u32 n) {
  static const u32 small[] = {2, 3, 5, 7, 11, 13};
  if (n < 2) return 0;
  for (int i = 0; i < 6; i++)
    if (n % small[i] == 0) return n == small[i];
  u32 d = n - 1;
  int s = 0;
  while (!(d & 1)) { d >>= 1; s++; }
  static const u64 witnesses[] = {2, 7, 61};
  for (int w = 0; w < 3; w++) {
    u64 x = powmod(witnesses[w], d, n);
    if (x == 1 || x == n - 1) continue;
    int composite = 1;
    for (int r = 1; r < s; r++) {
      x = x * x % n;
      if (x == n - 1) { composite = 0; break; }
    }
    if (composite) return 0;
  }
  return 1;
}
static inline u64 rotl(u64 x, int k) { return (x << k) | (x >> (64 - k)); }
EXPORT u32 run(void) {
  u64 state = 42, acc = 0;
  u32 primes = 0;
  for (int i = 0; i < 1200000; i++) {
    u64 r = splitmix(&state);
    primes += is_prime((u32)r | 1);
    acc ^= rotl(r, i % 63 + 1) + (u64)__builtin_popcountll(r) * (u64)__builtin_clzll(r | 1);
    acc += r / ((r >> 40) | 1) + (u64)((i64)r / (i64)((r >> 44) | 3)) + (u64)((i64)acc % 1000003);
    acc = acc * 6364136223846793005ull + 1442695040888963407ull;
  }
  return fold64(acc) ^ primes;
}
