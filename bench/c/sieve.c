/* Integer loops over a byte array: sieve of Eratosthenes, repeated. */
#include "bench.h"
#define N (8 * 1024 * 1024)
static u8 flags[N];
EXPORT u32 run(void) {
  u32 total = 0;
  for (int rep = 0; rep < 6; rep++) {
    for (u32 i = 0; i < N; i++) flags[i] = 1;
    flags[0] = flags[1] = 0;
    for (u32 i = 2; (u64)i * i < N; i++)
      if (flags[i])
        for (u32 j = i * i; j < N; j += i) flags[j] = 0;
    u32 count = 0;
    for (u32 i = 0; i < N; i++) count += flags[i];
    total = total * 31 + count;
  }
  return total;
}
