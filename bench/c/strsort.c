/* Sorting strings: generate 100k short pseudo-random words (skewed letter
 * distribution, lengths 1..12, many duplicates) into one NUL-separated buffer, merge
 * sort an array of pointers with a hand-written strcmp, check the order, dedupe, and
 * hash the distinct words with their multiplicities. Repeated for several rounds. */
#include "bench.h"
#define NW 100000
#define BUFSZ (NW * 13)
static char buf[BUFSZ];
static const char *words[NW], *tmp[NW];
static u32 rng;
static u32 rnd(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }
static int scmp(const char *a, const char *b) {
  while (*a && *a == *b) { a++; b++; }
  return (int)(u8)*a - (int)(u8)*b;
}
/* top-down merge sort of v[0..n) using t as scratch; stable */
static void msort(const char **v, const char **t, u32 n) {
  if (n <= 8) {
    for (u32 i = 1; i < n; i++) {
      const char *x = v[i];
      u32 j = i;
      while (j > 0 && scmp(v[j - 1], x) > 0) { v[j] = v[j - 1]; j--; }
      v[j] = x;
    }
    return;
  }
  u32 h = n / 2;
  msort(v, t, h);
  msort(v + h, t, n - h);
  if (scmp(v[h - 1], v[h]) <= 0) return;  /* already ordered */
  for (u32 i = 0; i < h; i++) t[i] = v[i];
  u32 i = 0, j = h, k = 0;
  while (i < h && j < n) v[k++] = scmp(v[j], t[i]) < 0 ? v[j++] : t[i++];
  while (i < h) v[k++] = t[i++];
}
/* letters weighted roughly like English; a few common prefixes to lengthen shared runs */
static const char freq[] = "eeeeeeeeeeeetttttttttaaaaaaaaooooooooiiiiiiinnnnnnnsssssshhhhhhrrrrrrddddllllcccuuummwwffggyyppbbvkjxqz";
static const char *prefixes[] = {"", "", "", "", "un", "re", "pre", "con", "inter", "anti"};
volatile u32 rounds = 12;
EXPORT u32 run(void) {
  u32 h = 0x811c9dc5u;
  u32 nr = rounds;
  for (u32 r = 0; r < nr; r++) {
    rng = 0x1234567u + r * 0x9E3779B9u;
    char *p = buf;
    for (u32 w = 0; w < NW; w++) {
      words[w] = p;
      u32 x = rnd();
      const char *pre = prefixes[x % 10];
      u32 len = 1 + ((x >> 4) % 6) + ((x >> 8) % 6);  /* 1..11, peaked in the middle */
      while (*pre && len) { *p++ = *pre++; len--; }
      while (len--) { x = rnd(); *p++ = freq[x % (sizeof freq - 1)]; }
      *p++ = 0;
    }
    msort(words, tmp, NW);
    u32 distinct = 0, maxrun = 0, cnt = 1;
    for (u32 i = 1; i <= NW; i++) {
      int c = i < NW ? scmp(words[i - 1], words[i]) : 1;
      if (c > 0 && i < NW) return 0xdeadbeef;
      if (c == 0) { cnt++; continue; }
      /* words[i-1] ends a run of `cnt` equal words */
      distinct++;
      if (cnt > maxrun) maxrun = cnt;
      for (const char *s = words[i - 1]; *s; s++) h = (h ^ (u8)*s) * 0x01000193u;
      h = (h ^ cnt) * 0x01000193u;
      cnt = 1;
    }
    /* stability: equal words keep buffer order, so their pointers ascend */
    for (u32 i = 1; i < NW; i++)
      if (words[i - 1] > words[i] && scmp(words[i - 1], words[i]) == 0) return 0xbadbad;
    h = h * 31 + distinct;
    h = h * 31 + maxrun;
  }
  return h;
}
