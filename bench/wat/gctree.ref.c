/* Native reference for gctree.wat: the same trees with malloc (never freed, as the
 * wasm heap frees nothing) and the same fold.
 * Build: gcc -O2 -o gctree_ref gctree.ref.c && ./gctree_ref */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

typedef uint32_t u32;
struct node { struct node *left, *right; u32 value; };

static struct node *build(u32 depth, u32 value) {
  struct node *n = malloc(sizeof *n);
  if (depth == 0) {
    n->left = n->right = NULL;
  } else {
    n->left = build(depth - 1, value * 2 + 1);
    n->right = build(depth - 1, value * 3 + 7);
  }
  n->value = value;
  return n;
}

static u32 check(const struct node *n) {
  if (!n) return 1;
  return n->value + 31u * check(n->left) + 17u * check(n->right);
}

int main(void) {
  u32 sum = 0;
  for (u32 i = 0; i < 40; i++) sum = sum * 0x9e3779b1u + check(build(16, i));
  printf("%u\n", sum);
  return 0;
}
