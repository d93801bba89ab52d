/* Arbitrary-precision arithmetic on u32 limbs with u64 intermediate products:
 * N! by repeated multiply-by-small, its decimal digits by repeated divide by
 * 10^9, pi by Machin's formula (16 atan 1/5 - 4 atan 1/239) in fixed point
 * using divide-by-small and add/sub, and schoolbook big x big multiplies. */
#include "bench.h"
#define FACT_MAX 4096                /* limbs */
#define PI_MAX 2048                  /* limbs */
static u32 fact[FACT_MAX], tmp[FACT_MAX];
static u32 prod[2 * FACT_MAX + 2];
static u32 a5[PI_MAX], a239[PI_MAX], term[PI_MAX], quot[PI_MAX], pi[PI_MAX];

/* Little-endian n-limb x *= m; returns the new length. */
static u32 mul_small(u32 *x, u32 n, u32 m) {
  u64 carry = 0;
  for (u32 i = 0; i < n; i++) {
    u64 t = (u64)x[i] * m + carry;
    x[i] = (u32)t;
    carry = t >> 32;
  }
  if (carry) x[n++] = (u32)carry;
  return n;
}
/* Little-endian x /= d, returns the remainder. */
static u32 divmod_small_le(u32 *x, u32 n, u32 d) {
  u64 rem = 0;
  for (u32 i = n; i-- > 0;) {
    u64 cur = (rem << 32) | x[i];
    x[i] = (u32)(cur / d);
    rem = cur % d;
  }
  return (u32)rem;
}
/* Big-endian fixed point (x[0] is the integer limb): q = x / d from limb `from` on. */
static void div_small_be(u32 *q, const u32 *x, u32 n, u32 from, u32 d) {
  u64 rem = 0;
  for (u32 i = 0; i < from; i++) q[i] = 0;
  for (u32 i = from; i < n; i++) {
    u64 cur = (rem << 32) | x[i];
    q[i] = (u32)(cur / d);
    rem = cur % d;
  }
}
static void add_be(u32 *s, const u32 *t, u32 n, u32 from) {
  u64 c = 0;
  for (u32 i = n; i-- > from;) {
    u64 v = (u64)s[i] + t[i] + c;
    s[i] = (u32)v; c = v >> 32;
  }
  for (u32 i = from; i-- > 0 && c;) { u64 v = (u64)s[i] + c; s[i] = (u32)v; c = v >> 32; }
}
static void sub_be(u32 *s, const u32 *t, u32 n, u32 from) {
  i64 b = 0;
  for (u32 i = n; i-- > from;) {
    i64 v = (i64)s[i] - t[i] - b;
    b = v < 0; s[i] = (u32)v;
  }
  for (u32 i = from; i-- > 0 && b;) { i64 v = (i64)s[i] - b; b = v < 0; s[i] = (u32)v; }
}
/* sum = atan(1/m) in n-limb big-endian fixed point. */
static void arctan_inv(u32 *sum, u32 n, u32 m) {
  for (u32 i = 0; i < n; i++) term[i] = 0;
  term[0] = 1;
  div_small_be(term, term, n, 0, m);
  for (u32 i = 0; i < n; i++) sum[i] = term[i];
  u32 m2 = m * m, first = 0;
  for (u32 k = 1;; k++) {
    while (first < n && term[first] == 0) first++;
    if (first >= n) break;
    div_small_be(term, term, n, first, m2);
    while (first < n && term[first] == 0) first++;
    if (first >= n) break;
    div_small_be(quot, term, n, first, 2 * k + 1);
    if (k & 1) sub_be(sum, quot, n, first); else add_be(sum, quot, n, first);
  }
}
/* Schoolbook product of little-endian a (na limbs) and b (nb limbs). */
static u32 mul_big(u32 *r, const u32 *a, u32 na, const u32 *b, u32 nb) {
  for (u32 i = 0; i < na + nb; i++) r[i] = 0;
  for (u32 i = 0; i < na; i++) {
    u64 carry = 0, ai = a[i];
    for (u32 j = 0; j < nb; j++) {
      u64 t = ai * b[j] + r[i + j] + carry;
      r[i + j] = (u32)t;
      carry = t >> 32;
    }
    r[i + nb] = (u32)carry;
  }
  u32 n = na + nb;
  while (n > 1 && r[n - 1] == 0) n--;
  return n;
}

volatile u32 fact_n = 3000, pi_limbs = 1600, mul_reps = 40;
EXPORT u32 run(void) {
  u32 h = 0;
  /* N! */
  u32 n = 1, N = fact_n;
  fact[0] = 1;
  for (u32 k = 2; k <= N; k++) n = mul_small(fact, n, k);
  for (u32 i = 0; i < n; i++) h = (h ^ fact[i]) * 0x01000193u;
  /* Decimal digits of N!: digit sum and digit count. */
  for (u32 i = 0; i < n; i++) tmp[i] = fact[i];
  u32 tn = n, digit_sum = 0, chunks = 0;
  while (tn > 0) {
    u32 r = divmod_small_le(tmp, tn, 1000000000u);
    while (tn > 0 && tmp[tn - 1] == 0) tn--;
    for (u32 d = 0; d < 9; d++) { digit_sum += r % 10; r /= 10; }
    chunks++;
  }
  h = h * 31u + digit_sum * 7u + chunks;
  /* pi = 16 atan(1/5) - 4 atan(1/239). */
  u32 pl = pi_limbs;
  arctan_inv(a5, pl, 5);
  arctan_inv(a239, pl, 239);
  for (u32 i = 0; i < pl; i++) pi[i] = 0;
  /* pi = 4 * (4*a5 - a239): shift-left by 2 twice, via add */
  for (u32 i = 0; i < pl; i++) quot[i] = a5[i];
  add_be(quot, a5, pl, 0); add_be(quot, quot, pl, 0);      /* 4*a5 */
  sub_be(quot, a239, pl, 0);
  add_be(quot, quot, pl, 0); add_be(quot, quot, pl, 0);    /* times 4 */
  for (u32 i = 0; i < pl; i++) pi[i] = quot[i];
  /* Decimal expansion of the fraction: multiply by 10^9, take the integer limb. */
  u32 pi_int = pi[0], pi_digits_hash = 0, first9 = 0;
  pi[0] = 0;
  u32 groups = (pl - 2) * 32 * 3 / 10 / 9;   /* stay clear of the last limbs' rounding */
  for (u32 g = 0; g < groups; g++) {
    u64 carry = 0;
    for (u32 i = pl; i-- > 1;) {
      u64 t = (u64)pi[i] * 1000000000u + carry;
      pi[i] = (u32)t; carry = t >> 32;
    }
    if (g == 0) first9 = (u32)carry;          /* 141592653 */
    pi_digits_hash = (pi_digits_hash ^ (u32)carry) * 0x01000193u;
  }
  h = h * 31u + pi_int + first9 + pi_digits_hash;
  /* Big x big: N! squared, times pi's limbs (read little-endian), repeated on rotated inputs. */
  u32 pn = 0, reps = mul_reps;
  for (u32 r = 0; r < reps; r++) {
    pn = mul_big(prod, fact, n, fact, n);
    for (u32 i = 0; i < pn; i += 7) h = (h ^ prod[i]) * 0x01000193u;
    u32 qn = mul_big(prod, fact, n, a5 + 1 + r, pl - 1 - r);
    for (u32 i = 0; i < qn; i++) h = (h ^ prod[i]) * 0x01000193u;
    /* Rotate N!'s limbs so the next round multiplies different numbers. */
    u32 first = fact[0];
    for (u32 i = 0; i + 1 < n; i++) fact[i] = fact[i + 1] ^ (r + 1);
    fact[n - 1] = first | 1;
  }
  return h ^ pn ^ (n << 20);
}
