/* Strings: counting occurrences of many short patterns in 1 MiB of text with a
 * naive search and a Horspool search; byte compares, skip tables. */
#include "bench.h"
#define N (1u << 20)
static u8 text[N];
static u32 skip[256];
static u32 naive(const u8 *p, u32 m) {
  u32 count = 0;
  for (u32 i = 0; i + m <= N; i++) {
    u32 j = 0;
    while (j < m && text[i + j] == p[j]) j++;
    count += j == m;
  }
  return count;
}
static u32 horspool(const u8 *p, u32 m) {
  for (u32 c = 0; c < 256; c++) skip[c] = m;
  for (u32 j = 0; j + 1 < m; j++) skip[p[j]] = m - 1 - j;
  u32 count = 0;
  for (u32 i = 0; i + m <= N; i += skip[text[i + m - 1]]) {
    u32 j = m;
    while (j > 0 && text[i + j - 1] == p[j - 1]) j--;
    count += j == 0;
  }
  return count;
}
EXPORT u32 run(void) {
  u32 x = 7, sum = 0;
  for (u32 i = 0; i < N; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; text[i] = (u8)('a' + (x % 7)); }
  u8 pat[16];
  for (u32 k = 0; k < 60; k++) {
    u32 m = 3 + k % 10;
    for (u32 j = 0; j < m; j++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; pat[j] = (u8)('a' + (x % 7)); }
    sum = sum * 31 + (k & 1 ? horspool(pat, m) : naive(pat, m));
  }
  return sum;
}
