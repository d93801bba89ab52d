/* Sorting: generic quicksort with a comparator called through a function pointer
 * (call_indirect), over 1M ints. */
#include "bench.h"
#define N (1 << 20)
static i32 arr[N];
typedef int (*cmp_fn)(const void *, const void *);
static int cmp_i32(const void *a, const void *b) {
  i32 x = *(const i32 *)a, y = *(const i32 *)b;
  return (x > y) - (x < y);
}
static void swap(u8 *a, u8 *b, usize size) {
  while (size--) { u8 t = *a; *a++ = *b; *b++ = t; }
}
static void gsort(u8 *base, usize n, usize size, cmp_fn cmp) {
  while (n > 16) {
    u8 *mid = base + (n / 2) * size, *last = base + (n - 1) * size;
    if (cmp(mid, base) < 0) swap(mid, base, size);
    if (cmp(last, mid) < 0) { swap(last, mid, size); if (cmp(mid, base) < 0) swap(mid, base, size); }
    swap(mid, last - size, size);
    u8 *pivot = last - size;
    usize i = 0, j = n - 2;
    for (;;) {
      while (cmp(base + (++i) * size, pivot) < 0) {}
      while (j > 0 && cmp(base + (--j) * size, pivot) > 0) {}
      if (i >= j) break;
      swap(base + i * size, base + j * size, size);
    }
    swap(base + i * size, pivot, size);
    if (i < n - i - 1) { gsort(base, i, size, cmp); base += (i + 1) * size; n -= i + 1; }
    else { gsort(base + (i + 1) * size, n - i - 1, size, cmp); n = i; }
  }
  for (usize i = 1; i < n; i++)
    for (usize j = i; j > 0 && cmp(base + (j - 1) * size, base + j * size) > 0; j--)
      swap(base + (j - 1) * size, base + j * size, size);
}
volatile cmp_fn the_cmp = cmp_i32;
EXPORT u32 run(void) {
  u32 x = 42;
  for (u32 i = 0; i < N; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; arr[i] = (i32)x; }
  gsort((u8 *)arr, N, sizeof(i32), the_cmp);
  u32 h = 0;
  for (u32 i = 0; i < N; i++) {
    if (i && arr[i - 1] > arr[i]) return 0xdeadbeef;
    h = h * 31 + (u32)arr[i];
  }
  return h;
}
