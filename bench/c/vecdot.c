// wasm-flags: -msimd128
/* Loops that clang auto-vectorizes with -msimd128 (plain C, no intrinsics):
 * int16 dot products with i32 accumulation, saxpy on f32, a 3x3 box filter on
 * a u8 image (widened to u16 sums), and a u8 sum of absolute differences.
 * Arrays are a few hundred KiB; each kernel is repeated. */
#include "bench.h"
#define N16 (96 * 1024)          /* int16 vectors: 192 KiB each */
#define NF (64 * 1024)           /* f32 vectors: 256 KiB each */
#define W 512
#define H 384                    /* u8 image: 192 KiB */
static short va[N16], vb[N16];
static float fx[NF], fy[NF];
static u8 img[H][W], out[H][W];
static unsigned short rowsum[3][W];

static u32 state;
static inline u32 rnd(void) { state ^= state << 13; state ^= state >> 17; state ^= state << 5; return state; }

__attribute__((noinline)) static i32 dot16(const short *a, const short *b, u32 n) {
  u32 s = 0;   /* products fit in i32; the sum wraps, so accumulate unsigned */
  for (u32 i = 0; i < n; i++) s += (u32)((i32)a[i] * (i32)b[i]);
  return (i32)s;
}
__attribute__((noinline)) static void saxpy(float a, const float *x, float *y, u32 n) {
  for (u32 i = 0; i < n; i++) y[i] = a * x[i] + y[i];
}
/* Horizontal 3-tap sum of one row, widened to u16. */
__attribute__((noinline)) static void hsum3(const u8 *src, unsigned short *dst) {
  dst[0] = (unsigned short)(2 * src[0] + src[1]);
  for (u32 x = 1; x < W - 1; x++) dst[x] = (unsigned short)(src[x - 1] + src[x] + src[x + 1]);
  dst[W - 1] = (unsigned short)(src[W - 2] + 2 * src[W - 1]);
}
/* Vertical 3-tap sum and divide by 9 (as multiply by 7282 >> 16, exact for sums <= 2295). */
__attribute__((noinline)) static void vsum3(const unsigned short *a, const unsigned short *b,
                                            const unsigned short *c, u8 *dst) {
  for (u32 x = 0; x < W; x++) {
    u32 s = (u32)a[x] + b[x] + c[x];
    dst[x] = (u8)((s * 7282u + 32768u) >> 16);
  }
}
static void box3x3(void) {
  hsum3(img[0], rowsum[0]);
  hsum3(img[0], rowsum[1]);
  for (u32 y = 0; y < H; y++) {
    hsum3(img[y + 1 < H ? y + 1 : H - 1], rowsum[(y + 2) % 3]);
    vsum3(rowsum[y % 3], rowsum[(y + 1) % 3], rowsum[(y + 2) % 3], out[y]);
  }
}
__attribute__((noinline)) static u32 sad(const u8 *a, const u8 *b, u32 n) {
  u32 s = 0;
  for (u32 i = 0; i < n; i++) {
    i32 d = (i32)a[i] - (i32)b[i];
    s += (u32)(d < 0 ? -d : d);
  }
  return s;
}
__attribute__((noinline)) static u32 fsum_bits(const float *y, u32 n) {
  /* Deterministic integer summary of the floats: clamp, then truncate to int. */
  u32 s = 0;
  for (u32 i = 0; i < n; i++) {
    float v = y[i] * 16.0f;
    v = v > 1.0e9f ? 1.0e9f : v;
    v = v < -1.0e9f ? -1.0e9f : v;
    s += (u32)(i32)v;
  }
  return s;
}

volatile u32 rounds = 300;
EXPORT u32 run(void) {
  state = 0x2545F491u;
  for (u32 i = 0; i < N16; i++) { va[i] = (short)(rnd() & 0xffff); vb[i] = (short)((rnd() & 0x3ff) - 512); }
  for (u32 i = 0; i < NF; i++) { fx[i] = (float)(i32)(rnd() % 2001 - 1000) * 0.001f; fy[i] = (float)(i % 97); }
  for (u32 y = 0; y < H; y++)
    for (u32 x = 0; x < W; x++) img[y][x] = (u8)(((x * x + y * 3) ^ (rnd() & 31)) & 255);
  u32 h = 0, r = rounds;
  for (u32 k = 0; k < r; k++) {
    /* Dot products over shifting windows. */
    for (u32 j = 0; j < 8; j++) {
      u32 off = (k * 8 + j) * 64 % 4096;
      h = h * 31u + (u32)dot16(va + off, vb, N16 - 4096);
      h ^= (u32)dot16(vb + off, va + (j * 16), N16 - 4096) << 1;
    }
    /* saxpy pairs: y += a*x; x -= b*y with fixed a, b is an elliptic (bounded) map. */
    for (u32 j = 0; j < 4; j++) {
      saxpy(0.75f, fx, fy, NF);
      saxpy(-0.375f, fy, fx, NF);
    }
    h += fsum_bits(fy, NF) ^ fsum_bits(fx, NF);
    /* Smooth the image twice per round (ping-pong), then compare. */
    for (u32 j = 0; j < 2; j++) {
      box3x3();
      h = h * 33u + sad(&img[0][0], &out[0][0], W * H);
      for (u32 y = 0; y < H; y++)
        for (u32 x = 0; x < W; x++) img[y][x] = (u8)(out[y][x] + ((x ^ y ^ k) & 7));
    }
  }
  return h;
}
