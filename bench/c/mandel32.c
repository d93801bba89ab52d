/* Single-precision kernels: a Mandelbrot set in f32, then a blur of it clamped with
 * f32 min/max, with float/int conversions both ways. */
#include "bench.h"
#define W 512
#define H 512
/* f32.min/f32.max in wasm; fminf/fmaxf natively (they agree on these values: no NaNs,
 * no signed zeros). */
#ifdef NATIVE
#include <math.h>
#define MIN32 fminf
#define MAX32 fmaxf
#else
#define MIN32 __builtin_wasm_min_f32
#define MAX32 __builtin_wasm_max_f32
#endif
static float image[W * H];
static float blurred[W * H];
EXPORT u32 run(void) {
  u32 sum = 0;
  for (int rep = 0; rep < 3; rep++) {
    float zoom = 2.5f - 0.25f * (float)rep;
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        float cr = -2.0f + zoom * (float)x / (float)W, ci = -1.25f + zoom * (float)y / (float)H;
        float zr = 0.0f, zi = 0.0f;
        int k = 0;
        while (k < 200 && zr * zr + zi * zi < 4.0f) {
          float t = zr * zr - zi * zi + cr;
          zi = 2.0f * zr * zi + ci;
          zr = t;
          k++;
        }
        image[y * W + x] = (float)k + __builtin_sqrtf(zr * zr + zi * zi);
      }
    for (int y = 1; y < H - 1; y++)
      for (int x = 1; x < W - 1; x++) {
        int i = y * W + x;
        float v = (image[i - 1] + image[i + 1] + image[i - W] + image[i + W]) * 0.25f;
        blurred[i] = MIN32(MAX32(v, 1.0f), 150.0f);
      }
    for (int i = 0; i < W * H; i++) sum = sum * 31 + (u32)(i32)(blurred[i] * 16.0f);
  }
  return sum;
}
