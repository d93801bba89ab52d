/* Recursive backtracking: N-queens solution counting with bitmasks (N = 4..13, and
 * N = 13 split by the column of the first queen), plus a sudoku solver (bitmask
 * candidates, most-constrained-cell heuristic) that solves a few hard fixed puzzles
 * (in fixed and randomized digit orders), then fills random grids, digs holes and
 * counts solutions of the resulting puzzles (up to 2). */
#include "bench.h"
static u64 qnodes;
static u32 queens(u32 all, u32 cols, u32 d1, u32 d2) {
  qnodes++;
  if (cols == all) return 1;
  u32 count = 0;
  u32 avail = all & ~(cols | d1 | d2);
  while (avail) {
    u32 bit = avail & (0u - avail);
    avail ^= bit;
    count += queens(all, cols | bit, ((d1 | bit) << 1) & all, (d2 | bit) >> 1);
  }
  return count;
}

/* sudoku: cells 0..80, value 0 = empty; row/col/box masks of used digits (bits 1..9) */
static u8 grid[81];
static unsigned short rowm[9], colm[9], boxm[9];
static u64 snodes;
static u32 rng;
static u32 rnd(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }
static inline int boxof(int c) { return (c / 27) * 3 + (c % 9) / 3; }
static void place(int c, int v) { grid[c] = (u8)v; rowm[c / 9] |= 1 << v; colm[c % 9] |= 1 << v; boxm[boxof(c)] |= 1 << v; }
static void unplace(int c, int v) { grid[c] = 0; rowm[c / 9] &= ~(1 << v); colm[c % 9] &= ~(1 << v); boxm[boxof(c)] &= ~(1 << v); }
static int load(const u8 *g) {
  for (int i = 0; i < 9; i++) rowm[i] = colm[i] = boxm[i] = 0;
  for (int c = 0; c < 81; c++) grid[c] = 0;
  for (int c = 0; c < 81; c++)
    if (g[c]) {
      int v = g[c];
      if (((rowm[c / 9] | colm[c % 9] | boxm[boxof(c)]) >> v) & 1) return 0;
      place(c, v);
    }
  return 1;
}
/* count solutions up to `limit`; if randomize, try digits in a random rotation.
 * The first solution found is saved in `sol`. */
static u8 sol[81];
static u32 solve(u32 limit, int randomize) {
  snodes++;
  int best = -1, bestn = 10;
  u32 bestmask = 0;
  for (int c = 0; c < 81; c++) {
    if (grid[c]) continue;
    u32 m = 0x3FE & ~(u32)(rowm[c / 9] | colm[c % 9] | boxm[boxof(c)]);
    int n = __builtin_popcount(m);
    if (n < bestn) { best = c; bestn = n; bestmask = m; if (n <= 1) break; }
  }
  if (best < 0) {
    for (int c = 0; c < 81; c++) sol[c] = grid[c];
    return 1;
  }
  if (bestn == 0) return 0;
  u32 found = 0;
  int start = randomize ? (int)(rnd() % 9) : 0;
  for (int k = 0; k < 9; k++) {
    int v = 1 + (start + k) % 9;
    if (!((bestmask >> v) & 1)) continue;
    place(best, v);
    found += solve(limit - found, randomize);
    unplace(best, v);
    if (found >= limit) break;
  }
  return found;
}
static const char *hard[] = {
  "8..........36......7..9.2...5...7.......457.....1...3...1....68..85...1..9....4..",
  "4.....8.5.3..........7......2.....6.....8.4......1.......6.3.7.5..2.....1.4......",
  "52...6.........7.13...........4..8..6......5...........418.........3..2...87.....",
  "6.....8.3.4.7.................5.4.7.3..2.....1.6.......2.....5.....8.6......1....",
  "48.3............71.2.......7.5....6....2..8.............1.76...3.....4......5....",
  "....14....3....2...7..........9...3.6.1.............8.2.....1.4....5.6.....7.8...",
};
volatile u32 qn = 13, npuzzles = 4000;
EXPORT u32 run(void) {
  u32 h = 0;
  /* N-queens: total counts for N = 4..qn, and per-first-queen-column counts for qn */
  u32 n = qn;
  qnodes = 0;
  for (u32 k = 4; k <= n; k++) h = h * 31 + queens((1u << k) - 1, 0, 0, 0);
  u32 all = (1u << n) - 1;
  for (u32 c = 0; c < n; c++) {
    u32 bit = 1u << c;
    h = h * 31 + queens(all, bit, (bit << 1) & all, bit >> 1);
  }
  h = h * 31 + (u32)qnodes;
  /* fixed hard puzzles */
  snodes = 0;
  rng = 0x9E3779B9u;
  for (u32 p = 0; p < 3 * (sizeof hard / sizeof hard[0]); p++) {
    const char *s = hard[p % (sizeof hard / sizeof hard[0])];
    u8 g[81];
    for (int c = 0; c < 81; c++) g[c] = s[c] == '.' ? 0 : (u8)(s[c] - '0');
    u32 cnt = load(g) ? solve(2, p >= sizeof hard / sizeof hard[0]) : 99;
    h = h * 31 + cnt;
    for (int c = 0; c < 81; c++) h = h * 7 + sol[c];
  }
  /* generated puzzles: random full grid, dig holes, count solutions (max 2) */
  u32 np = npuzzles, unique = 0;
  for (u32 p = 0; p < np; p++) {
    u8 g[81];
    for (int c = 0; c < 81; c++) g[c] = 0;
    load(g);
    solve(1, 1);
    for (int c = 0; c < 81; c++) g[c] = sol[c];
    int holes = 50 + (int)(rnd() % 12);
    for (int k = 0; k < holes; k++) g[rnd() % 81] = 0;
    load(g);
    u32 cnt = solve(2, 0);
    unique += cnt == 1;
    h = h * 31 + cnt;
    for (int c = 0; c < 81; c++) h = h * 7 + sol[c];
  }
  h = h * 31 + unique;
  h = h * 31 + (u32)snodes;
  return h;
}
