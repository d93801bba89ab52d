/* Virtual dispatch: random expression trees whose nodes carry a pointer to a
 * "class" (a table of function pointers: eval, size, depth, hash, simplify-check).
 * Every method call on a child is an indirect call (call_indirect in wasm); the trees
 * are evaluated for many variable bindings. */
#include "bench.h"
struct node;
typedef u32 (*eval_fn)(const struct node *, const u32 *env);
typedef u32 (*count_fn)(const struct node *);
typedef u32 (*hash_fn)(const struct node *, u32 h);
struct vtbl { eval_fn eval; count_fn size; count_fn depth; hash_fn hash; u32 tag; };
struct node { const struct vtbl *vt; const struct node *a, *b, *c; u32 k; };

#define EVAL(n, env) ((n)->vt->eval((n), (env)))
#define SIZE(n) ((n)->vt->size(n))
#define DEPTH(n) ((n)->vt->depth(n))
#define HASH(n, h) ((n)->vt->hash((n), (h)))

static u32 max2(u32 x, u32 y) { return x > y ? x : y; }
/* leaves */
static u32 const_eval(const struct node *n, const u32 *env) { (void)env; return n->k; }
static u32 var_eval(const struct node *n, const u32 *env) { return env[n->k]; }
static u32 leaf_size(const struct node *n) { (void)n; return 1; }
static u32 leaf_depth(const struct node *n) { (void)n; return 1; }
static u32 leaf_hash(const struct node *n, u32 h) { return (h ^ (n->vt->tag * 0x9e3779b1u + n->k)) * 0x01000193u; }
/* unary */
static u32 neg_eval(const struct node *n, const u32 *env) { return 0u - EVAL(n->a, env); }
static u32 not_eval(const struct node *n, const u32 *env) { return ~EVAL(n->a, env); }
static u32 rot_eval(const struct node *n, const u32 *env) { u32 v = EVAL(n->a, env); u32 r = n->k & 31; return r ? (v << r) | (v >> (32 - r)) : v; }
static u32 sq_eval(const struct node *n, const u32 *env) { u32 v = EVAL(n->a, env); return v * v + n->k; }
static u32 un_size(const struct node *n) { return 1 + SIZE(n->a); }
static u32 un_depth(const struct node *n) { return 1 + DEPTH(n->a); }
static u32 un_hash(const struct node *n, u32 h) { h = HASH(n->a, h); return (h ^ (n->vt->tag + n->k)) * 0x01000193u; }
/* binary */
static u32 add_eval(const struct node *n, const u32 *env) { return EVAL(n->a, env) + EVAL(n->b, env); }
static u32 sub_eval(const struct node *n, const u32 *env) { return EVAL(n->a, env) - EVAL(n->b, env); }
static u32 mul_eval(const struct node *n, const u32 *env) { return EVAL(n->a, env) * EVAL(n->b, env); }
static u32 xor_eval(const struct node *n, const u32 *env) { return EVAL(n->a, env) ^ EVAL(n->b, env); }
static u32 min_eval(const struct node *n, const u32 *env) { u32 x = EVAL(n->a, env), y = EVAL(n->b, env); return x < y ? x : y; }
static u32 max_eval(const struct node *n, const u32 *env) { return max2(EVAL(n->a, env), EVAL(n->b, env)); }
static u32 div_eval(const struct node *n, const u32 *env) { u32 x = EVAL(n->a, env), y = EVAL(n->b, env); return x / (y | 1); }
static u32 bin_size(const struct node *n) { return 1 + SIZE(n->a) + SIZE(n->b); }
static u32 bin_depth(const struct node *n) { return 1 + max2(DEPTH(n->a), DEPTH(n->b)); }
static u32 bin_hash(const struct node *n, u32 h) { h = HASH(n->a, h); h = HASH(n->b, h * 31u); return (h ^ n->vt->tag) * 0x01000193u; }
/* ternary: if (a & 1) b else c -- only one branch is evaluated */
static u32 sel_eval(const struct node *n, const u32 *env) { return (EVAL(n->a, env) & 1) ? EVAL(n->b, env) : EVAL(n->c, env); }
static u32 sel_size(const struct node *n) { return 1 + SIZE(n->a) + SIZE(n->b) + SIZE(n->c); }
static u32 sel_depth(const struct node *n) { return 1 + max2(DEPTH(n->a), max2(DEPTH(n->b), DEPTH(n->c))); }
static u32 sel_hash(const struct node *n, u32 h) { h = HASH(n->a, h); h = HASH(n->b, h + 7); h = HASH(n->c, h + 13); return (h ^ n->vt->tag) * 0x01000193u; }

static const struct vtbl V_CONST = {const_eval, leaf_size, leaf_depth, leaf_hash, 1};
static const struct vtbl V_VAR = {var_eval, leaf_size, leaf_depth, leaf_hash, 2};
static const struct vtbl V_UN[4] = {
  {neg_eval, un_size, un_depth, un_hash, 3}, {not_eval, un_size, un_depth, un_hash, 4},
  {rot_eval, un_size, un_depth, un_hash, 5}, {sq_eval, un_size, un_depth, un_hash, 6}};
static const struct vtbl V_BIN[7] = {
  {add_eval, bin_size, bin_depth, bin_hash, 7}, {sub_eval, bin_size, bin_depth, bin_hash, 8},
  {mul_eval, bin_size, bin_depth, bin_hash, 9}, {xor_eval, bin_size, bin_depth, bin_hash, 10},
  {min_eval, bin_size, bin_depth, bin_hash, 11}, {max_eval, bin_size, bin_depth, bin_hash, 12},
  {div_eval, bin_size, bin_depth, bin_hash, 13}};
static const struct vtbl V_SEL = {sel_eval, sel_size, sel_depth, sel_hash, 14};

#define MAXNODES (1 << 15)
#define NVARS 8
static struct node pool[MAXNODES];
static u32 npool;
static u32 rng;
static u32 rnd(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }
static const struct node *build(u32 depth) {
  struct node *n = &pool[npool++];
  u32 r = rnd();
  n->k = rnd();
  n->a = n->b = n->c = 0;
  if (depth == 0 || (r & 15) < 2 || npool > MAXNODES - 8) {
    if (r & 0x100) { n->vt = &V_VAR; n->k %= NVARS; } else { n->vt = &V_CONST; }
    return n;
  }
  u32 kind = (r >> 4) % 16;
  if (kind < 3) { n->vt = &V_UN[(r >> 9) & 3]; n->a = build(depth - 1); }
  else if (kind < 15) { n->vt = &V_BIN[(r >> 9) % 7]; n->a = build(depth - 1); n->b = build(depth - 1); }
  else { n->vt = &V_SEL; n->a = build(depth - 1); n->b = build(depth - 1); n->c = build(depth - 1); }
  return n;
}
#define NTREES 48
volatile u32 evals = 6000;
EXPORT u32 run(void) {
  rng = 0x2545F491u;
  const struct node *trees[NTREES];
  u32 h = 0x811c9dc5u;
  npool = 0;
  for (int t = 0; t < NTREES; t++) {
    trees[t] = build(6 + (t % 3));
    h = HASH(trees[t], h);
    h = h * 31 + SIZE(trees[t]) * 7 + DEPTH(trees[t]);
  }
  u32 env[NVARS];
  u32 n = evals, x = 12345;
  for (u32 i = 0; i < n; i++) {
    for (int v = 0; v < NVARS; v++) { x = x * 1664525u + 1013904223u; env[v] = x ^ (x >> 16); }
    for (int t = 0; t < NTREES; t++) {
      u32 r = EVAL(trees[t], env);
      h = (h ^ r) * 0x01000193u;
      env[t & (NVARS - 1)] ^= r;   /* feed results forward */
    }
  }
  return h;
}
