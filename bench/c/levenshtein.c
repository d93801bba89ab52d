/* Dynamic programming: edit distances between pairs of generated strings with one
 * rolling row, the minimum of three neighbours per cell. */
#include "bench.h"
#define LEN 1500
#define PAIRS 40
static u8 a[LEN], b[LEN];
static u32 row[LEN + 1];
static u32 seed = 7;
static u32 rnd(void) { seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5; return seed; }
static u32 distance(const u8 *s, u32 n, const u8 *t, u32 m) {
  for (u32 j = 0; j <= m; j++) row[j] = j;
  for (u32 i = 1; i <= n; i++) {
    u32 diag = row[0], si = s[i - 1];
    row[0] = i;
    for (u32 j = 1; j <= m; j++) {
      u32 up = row[j];
      u32 best = diag + (si != t[j - 1]);
      u32 del = up + 1, ins = row[j - 1] + 1;
      if (del < best) best = del;
      if (ins < best) best = ins;
      row[j] = best;
      diag = up;
    }
  }
  return row[m];
}
EXPORT u32 run(void) {
  u32 sum = 0;
  for (u32 p = 0; p < PAIRS; p++) {
    for (u32 i = 0; i < LEN; i++) a[i] = (u8)('a' + rnd() % 4);
    for (u32 i = 0; i < LEN; i++) b[i] = (rnd() & 3) ? a[i] : (u8)('a' + rnd() % 4);
    sum = sum * 31 + distance(a, LEN - p, b, LEN);
  }
  return sum;
}
