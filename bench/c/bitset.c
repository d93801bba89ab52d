/* Bit sets, 64-bit words: (1) transitive closure of a random 2048-node digraph by
 * Warshall's algorithm on adjacency rows (row |= row, then popcounts and mutual
 * reachability for strongly connected components); (2) a Bloom filter (8 Mbit,
 * 7 probes by double hashing) in front of an LSD radix-sorted key array (512K u64
 * keys, 16-bit digits), queried with present and absent keys, positives confirmed
 * by binary search; (3) a rank/select directory over a 32 Mbit bit vector of uneven
 * density, with random rank and select queries checked against each other. */
#include "bench.h"

static inline u32 popc(u64 x) { return (u32)__builtin_popcountll(x); }
static inline u32 ctz(u64 x) { return (u32)__builtin_ctzll(x); }
static u64 sm_state;
static u64 splitmix(void) {
  u64 z = (sm_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static inline u64 mix64(u64 x) {
  x ^= x >> 33; x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ull;
  return x ^ (x >> 33);
}

/* ---- (1) transitive closure ---- */
#define GN 2048
#define GW (GN / 64)
static u64 reach[GN][GW];

static u32 closure(u32 seed) {
  sm_state = seed;
  for (u32 i = 0; i < GN; i++) for (u32 j = 0; j < GW; j++) reach[i][j] = 0;
  /* Mostly short forward edges (a DAG of overlapping chains), some back edges that
   * close cycles, and a few long jumps. */
  for (u32 i = 0; i < GN; i++) {
    u64 r = splitmix();
    u32 deg = 1 + (u32)(r & 1);
    for (u32 e = 0; e < deg; e++) {
      u64 s = splitmix();
      u32 j;
      u32 kind = (u32)(s & 31);
      if (kind < 26) j = i + 1 + (u32)((s >> 8) % 24);
      else if (kind < 30) j = i - (u32)((s >> 8) % 40);
      else j = (u32)((s >> 8) % GN);
      if (j >= GN) j = (u32)((s >> 20) % GN);
      reach[i][j >> 6] |= 1ull << (j & 63);
    }
  }
  for (u32 k = 0; k < GN; k++) {
    const u64 *rk = reach[k];
    u32 kw = k >> 6; u64 kb = 1ull << (k & 63);
    for (u32 i = 0; i < GN; i++) {
      if (reach[i][kw] & kb) {
        u64 *ri = reach[i];
        for (u32 w = 0; w < GW; w++) ri[w] |= rk[w];
      }
    }
  }
  u32 h = 0x811c9dc5u;
  for (u32 i = 0; i < GN; i++) {
    u32 c = 0;
    for (u32 w = 0; w < GW; w++) c += popc(reach[i][w]);
    h = (h ^ c) * 0x01000193u;
  }
  /* Strongly connected components: i's component is every j with i->j and j->i
   * (plus i). Label each node with the smallest member, count the components. */
  u32 ncomp = 0, biggest = 0;
  static u32 label[GN];
  for (u32 i = 0; i < GN; i++) label[i] = GN;
  for (u32 i = 0; i < GN; i++) {
    if (label[i] != GN) continue;
    label[i] = i; ncomp++;
    u32 size = 1;
    for (u32 w = i >> 6; w < GW; w++) {
      u64 m = reach[i][w];
      while (m) {
        u32 j = w * 64 + ctz(m); m &= m - 1;
        if (j > i && label[j] == GN && (reach[j][i >> 6] >> (i & 63) & 1)) { label[j] = i; size++; }
      }
    }
    if (size > biggest) biggest = size;
  }
  return h ^ (ncomp * 0x9E3779B1u) ^ (biggest << 20);
}

/* ---- (2) Bloom filter + radix-sorted keys ---- */
#define NKEYS (1u << 19)
#define BLOOM_BITS (1u << 23)
#define PROBES 7
static u64 bloom[BLOOM_BITS / 64];
static u64 keys[NKEYS], tmpk[NKEYS];
static u32 hist[4][65536];

static void radix_sort(u64 *a, u64 *t, u32 n) {
  for (u32 d = 0; d < 4; d++) for (u32 b = 0; b < 65536; b++) hist[d][b] = 0;
  for (u32 i = 0; i < n; i++) {
    u64 k = a[i];
    hist[0][k & 0xffff]++; hist[1][(k >> 16) & 0xffff]++;
    hist[2][(k >> 32) & 0xffff]++; hist[3][k >> 48]++;
  }
  for (u32 d = 0; d < 4; d++) {
    u32 sum = 0;
    for (u32 b = 0; b < 65536; b++) { u32 c = hist[d][b]; hist[d][b] = sum; sum += c; }
    u32 sh = d * 16;
    for (u32 i = 0; i < n; i++) { u64 k = a[i]; t[hist[d][(k >> sh) & 0xffff]++] = k; }
    u64 *x = a; a = t; t = x;
  }
}
static void bloom_add(u64 key) {
  u64 h = mix64(key);
  u32 h1 = (u32)h, h2 = (u32)(h >> 32) | 1;
  for (u32 p = 0; p < PROBES; p++) {
    u32 bit = (h1 + p * h2) & (BLOOM_BITS - 1);
    bloom[bit >> 6] |= 1ull << (bit & 63);
  }
}
static u32 bloom_maybe(u64 key) {
  u64 h = mix64(key);
  u32 h1 = (u32)h, h2 = (u32)(h >> 32) | 1;
  for (u32 p = 0; p < PROBES; p++) {
    u32 bit = (h1 + p * h2) & (BLOOM_BITS - 1);
    if (!(bloom[bit >> 6] >> (bit & 63) & 1)) return 0;
  }
  return 1;
}
static u32 sorted_has(const u64 *a, u32 n, u64 key) {
  u32 lo = 0, hi = n;
  while (lo < hi) { u32 mid = lo + (hi - lo) / 2; if (a[mid] < key) lo = mid + 1; else hi = mid; }
  return lo < n && a[lo] == key;
}

static u32 bloom_bench(u32 seed) {
  for (u32 i = 0; i < BLOOM_BITS / 64; i++) bloom[i] = 0;
  sm_state = seed;
  /* Keys are clustered: a random high part shared by runs of keys, so sorted runs
   * and digit histograms are uneven. */
  u64 base = 0;
  for (u32 i = 0; i < NKEYS; i++) {
    if ((i & 15) == 0) base = splitmix() & 0xffffffffff000000ull;
    u64 k = base | (splitmix() & 0xffffff);
    keys[i] = k;
    bloom_add(k);
  }
  radix_sort(keys, tmpk, NKEYS);
  u32 h = 0;
  for (u32 i = 1; i < NKEYS; i += 4099) h = (h ^ fold64(keys[i])) * 0x01000193u;
  u32 dups = 0;
  for (u32 i = 1; i < NKEYS; i++) { dups += keys[i] == keys[i - 1]; if (keys[i] < keys[i - 1]) return 0; }
  /* Queries: every third is a stored key, the rest random (mostly absent). */
  u32 maybe = 0, present = 0, falsepos = 0;
  u64 q = seed ^ 0x1234567ull;
  for (u32 i = 0; i < NKEYS; i++) {
    q = q * 6364136223846793005ull + 1442695040888963407ull;
    u64 key = (i % 3 == 0) ? keys[(q >> 33) & (NKEYS - 1)] : q ^ (q >> 29);
    if (bloom_maybe(key)) {
      maybe++;
      if (sorted_has(keys, NKEYS, key)) present++; else falsepos++;
    }
  }
  h = (h ^ maybe) * 0x01000193u;
  h = (h ^ present) * 0x01000193u;
  h = (h ^ falsepos) * 0x01000193u;
  return h ^ (dups << 16);
}

/* ---- (3) rank / select ---- */
#define RS_BITS (1u << 25)
#define RS_WORDS (RS_BITS / 64)
#define SB_WORDS 8                     /* a superblock: 512 bits */
#define NSB (RS_WORDS / SB_WORDS)
static u64 bv[RS_WORDS];
static u32 sb_rank[NSB + 1];

static u32 rank1(u32 pos) { /* ones in [0, pos) */
  u32 w = pos >> 6, s = w / SB_WORDS;
  u32 r = sb_rank[s];
  for (u32 i = s * SB_WORDS; i < w; i++) r += popc(bv[i]);
  u32 b = pos & 63;
  if (b) r += popc(bv[w] & ((1ull << b) - 1));
  return r;
}
static u32 select1(u32 k) { /* position of the one with rank k (0-based) */
  u32 lo = 0, hi = NSB;           /* last superblock whose rank <= k */
  while (hi - lo > 1) { u32 mid = (lo + hi) / 2; if (sb_rank[mid] <= k) lo = mid; else hi = mid; }
  u32 r = k - sb_rank[lo];
  u32 w = lo * SB_WORDS;
  for (;;) { u32 c = popc(bv[w]); if (r < c) break; r -= c; w++; }
  u64 x = bv[w];
  for (u32 i = 0; i < r; i++) x &= x - 1;
  return w * 64 + ctz(x);
}

static u32 rank_select(u32 seed) {
  sm_state = seed;
  /* Density varies by region: AND/OR of random words gives 1/16 to 15/16 ones. */
  for (u32 w = 0; w < RS_WORDS; w++) {
    u32 region = (w >> 12) & 7;
    u64 x = splitmix();
    switch (region & 3) {
    case 0: x &= splitmix() & splitmix() & splitmix(); break;
    case 1: x &= splitmix(); break;
    case 2: break;
    default: x |= splitmix(); break;
    }
    if (region >= 6) x = (w & 1) ? x : 0;
    bv[w] = x;
  }
  u32 acc = 0;
  for (u32 s = 0; s < NSB; s++) {
    sb_rank[s] = acc;
    for (u32 i = 0; i < SB_WORDS; i++) acc += popc(bv[s * SB_WORDS + i]);
  }
  sb_rank[NSB] = acc;
  u32 total = acc, h = total, bad = 0;
  u64 q = seed;
  for (u32 i = 0; i < (1u << 18); i++) {
    q = q * 6364136223846793005ull + 1442695040888963407ull;
    u32 pos = (u32)(q >> 39);              /* 25 bits */
    u32 r = rank1(pos);
    h = (h ^ r) * 0x01000193u;
    /* The next one at or after pos is select(rank(pos)). */
    if (r < total) {
      u32 p = select1(r);
      if (p < pos || !(bv[p >> 6] >> (p & 63) & 1) || rank1(p) != r) bad++;
      h = (h ^ (p - pos)) * 0x01000193u;
    }
    u32 k = (u32)((q >> 7) % total);
    u32 sp = select1(k);
    h = (h + sp) * 0x9E3779B1u;
  }
  return h ^ (bad * 0x85ebca6bu);
}

EXPORT u32 run(void) {
  u32 h = 0;
  for (u32 g = 0; g < 2; g++) h = (h ^ closure(0x1000 + g)) * 0x01000193u;
  h = (h ^ bloom_bench(0xB100Du)) * 0x01000193u;
  h = (h ^ rank_select(0x5E1Ecu)) * 0x01000193u;
  return h;
}
