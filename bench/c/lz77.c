/* Compression: LZ77 with a hash-chain match finder over 1 MiB of generated text,
 * then decompression, checked against the input. Byte loads and stores, short
 * compare loops and unpredictable branches. */
#include "bench.h"
#define N (1u << 20)
#define HBITS 15
#define WINDOW (1u << 15)
#define MAXCHAIN 16
static u8 input[N];
static u8 packed[N + N / 8 + 16];
static u8 output[N];
static i32 head[1u << HBITS];
static i32 prev_pos[N];
static const char *words[16] = {"the ", "quick ", "brown ", "fox ", "jumps ", "over ", "lazy ", "dog ",
  "wasm ", "engine ", "compiles ", "code ", "fast ", "and ", "then ", "runs "};
static u32 seed = 12345;
static u32 rnd(void) { seed = seed * 1103515245u + 12345u; return seed >> 16; }
static void make_text(void) {
  u32 i = 0;
  while (i < N) {
    const char *w = words[rnd() & 15];
    if ((rnd() & 7) == 0) { input[i++] = (u8)('a' + rnd() % 26); continue; }
    while (*w && i < N) input[i++] = (u8)*w++;
  }
}
static inline u32 hash3(const u8 *p) { return ((p[0] << 16 | p[1] << 8 | p[2]) * 2654435761u) >> (32 - HBITS); }
static u32 compress(void) {
  u32 out = 0, i = 0;
  for (u32 h = 0; h < (1u << HBITS); h++) head[h] = -1;
  while (i < N) {
    u32 best_len = 0, best_dist = 0;
    if (i + 3 <= N) {
      u32 h = hash3(input + i);
      i32 cand = head[h];
      for (u32 chain = 0; cand >= 0 && chain < MAXCHAIN && i - (u32)cand <= WINDOW; chain++) {
        u32 len = 0, max = N - i < 255 ? N - i : 255;
        while (len < max && input[cand + len] == input[i + len]) len++;
        if (len > best_len) { best_len = len; best_dist = i - (u32)cand; }
        cand = prev_pos[cand];
      }
      prev_pos[i] = head[h];
      head[h] = (i32)i;
    }
    if (best_len >= 4) {
      packed[out++] = 0xFF; packed[out++] = (u8)best_len;
      packed[out++] = (u8)best_dist; packed[out++] = (u8)(best_dist >> 8);
      for (u32 k = 1; k < best_len && i + k + 3 <= N; k++) {
        u32 h = hash3(input + i + k);
        prev_pos[i + k] = head[h]; head[h] = (i32)(i + k);
      }
      i += best_len;
    } else {
      u8 c = input[i++];
      packed[out++] = c;
      if (c == 0xFF) packed[out++] = 0;
    }
  }
  return out;
}
static u32 decompress(u32 len) {
  u32 o = 0;
  for (u32 p = 0; p < len;) {
    u8 c = packed[p++];
    if (c != 0xFF) { output[o++] = c; continue; }
    u32 l = packed[p++];
    if (l == 0) { output[o++] = 0xFF; continue; }
    u32 d = packed[p] | (u32)packed[p + 1] << 8; p += 2;
    for (u32 k = 0; k < l; k++, o++) output[o] = output[o - d];
  }
  return o;
}
volatile u32 rounds = 4;
EXPORT u32 run(void) {
  u32 sum = 0, r = rounds;
  for (u32 k = 0; k < r; k++) {
    make_text();
    u32 len = compress();
    u32 n = decompress(len);
    sum = sum * 31 + len + n;
    for (u32 i = 0; i < N; i++) sum = sum * 33 + (output[i] ^ input[i]);
  }
  return sum;
}
