/* Memory-heavy: an open-addressing hash table (64 MiB of slots, linear probing)
 * with random inserts and lookups, so most accesses miss the caches. */
#include "bench.h"
#define BITS 22
#define SLOTS (1u << BITS)
struct slot { u64 key; u64 val; };
static struct slot table[SLOTS];
static inline u32 hash(u64 k) { return (u32)((k * 0x9E3779B97F4A7C15ull) >> (64 - BITS)); }
static void insert(u64 k, u64 v) {
  u32 h = hash(k);
  for (;;) {
    if (table[h].key == 0 || table[h].key == k) { table[h].key = k; table[h].val += v; return; }
    h = (h + 1) & (SLOTS - 1);
  }
}
static u64 lookup(u64 k) {
  u32 h = hash(k);
  for (;;) {
    if (table[h].key == k) return table[h].val;
    if (table[h].key == 0) return 0;
    h = (h + 1) & (SLOTS - 1);
  }
}
volatile u32 n_ops = 2000000;
EXPORT u32 run(void) {
  u64 x = 88172645463325252ull, sum = 0;
  u32 n = n_ops;
  for (u32 i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    insert((x % (SLOTS / 2)) + 1, i);
  }
  for (u32 i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    sum += lookup((x % (SLOTS / 2)) + 1) ^ i;
  }
  return fold64(sum);
}
