/* Priority queue: a binary heap of 64-bit keys (push all, pop all) on 1M
 * pseudo-random values, several times: sift loops with data-dependent branches. */
#include "bench.h"
#define N (1u << 20)
static u64 heap[N + 1];
static u32 size;
static void push(u64 v) {
  u32 i = ++size;
  while (i > 1 && heap[i / 2] > v) { heap[i] = heap[i / 2]; i /= 2; }
  heap[i] = v;
}
static u64 pop(void) {
  u64 top = heap[1], last = heap[size--];
  u32 i = 1;
  for (;;) {
    u32 c = 2 * i;
    if (c > size) break;
    if (c < size && heap[c + 1] < heap[c]) c++;
    if (heap[c] >= last) break;
    heap[i] = heap[c]; i = c;
  }
  heap[i] = last;
  return top;
}
volatile u32 rounds = 1;
EXPORT u32 run(void) {
  u64 x = 0x2545F4914F6CDD1Dull, sum = 0, prev = 0;
  u32 bad = 0, r = rounds;
  for (u32 k = 0; k < r; k++) {
    size = 0;
    for (u32 i = 0; i < N; i++) { x ^= x >> 12; x ^= x << 25; x ^= x >> 27; push(x * 0x2545F4914F6CDD1Dull); }
    prev = 0;
    for (u32 i = 0; i < N; i++) { u64 v = pop(); bad += v < prev; prev = v; sum += v * (i | 1); }
  }
  return fold64(sum) ^ bad;
}
