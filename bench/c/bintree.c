/* Allocation and pointer chasing: binary trees built in a bump arena, checked
 * recursively and dropped (binary-trees, depth 16). */
#include "bench.h"
struct node { struct node *left, *right; u32 item; };
#define ARENA (1u << 22)
static struct node arena[ARENA];
static u32 top;
static struct node *make(u32 item, u32 depth) {
  struct node *n = &arena[top++];
  n->item = item;
  if (depth == 0) { n->left = n->right = 0; return n; }
  n->left = make(2 * item - 1, depth - 1);
  n->right = make(2 * item, depth - 1);
  return n;
}
static i32 check(const struct node *n) {
  if (!n->left) return (i32)n->item;
  return (i32)n->item + check(n->left) - check(n->right);
}
volatile u32 max_depth = 16;
EXPORT u32 run(void) {
  u32 sum = 0, maxd = max_depth;
  for (u32 d = 4; d <= maxd; d += 2) {
    u32 iterations = 1u << (maxd - d + 4);
    for (u32 i = 1; i <= iterations; i++) {
      top = 0; sum += (u32)check(make(i, d));
      top = 0; sum += (u32)check(make(-i, d));
    }
  }
  return sum;
}
