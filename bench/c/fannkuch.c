/* Permutations: fannkuch-redux (n = 10), flipping prefixes of small arrays.
 * Short loops over a few bytes, swaps and data-dependent trip counts. */
#include "bench.h"
#define NMAX 16
volatile i32 size = 10;
EXPORT u32 run(void) {
  i32 n = size;
  i32 perm[NMAX], perm1[NMAX], count[NMAX];
  i32 max_flips = 0, checksum = 0, r = n, permutations = 0;
  for (i32 i = 0; i < n; i++) perm1[i] = i;
  for (;;) {
    for (; r != 1; r--) count[r - 1] = r;
    for (i32 i = 0; i < n; i++) perm[i] = perm1[i];
    i32 flips = 0, k;
    while ((k = perm[0]) != 0) {
      for (i32 i = 0, j = k; i < j; i++, j--) { i32 t = perm[i]; perm[i] = perm[j]; perm[j] = t; }
      flips++;
    }
    if (flips > max_flips) max_flips = flips;
    checksum += (permutations & 1) ? -flips : flips;
    for (;;) {
      if (r == n) return (u32)(checksum * 1000 + max_flips);
      i32 first = perm1[0];
      for (i32 i = 0; i < r; i++) perm1[i] = perm1[i + 1];
      perm1[r] = first;
      if (--count[r] > 0) break;
      r++;
    }
    permutations++;
  }
}
