/* Floating point: the spectral norm of an infinite matrix (n = 1300), with a
 * division per element and function calls in the inner loops. */
#include "bench.h"
#define N 1300
static double u[N], v[N], tmp[N];
static double __attribute__((noinline)) A(u32 i, u32 j) { return 1.0 / ((i + j) * (i + j + 1) / 2 + i + 1); }
static void mul_av(const double *x, double *y) {
  for (u32 i = 0; i < N; i++) { double s = 0; for (u32 j = 0; j < N; j++) s += A(i, j) * x[j]; y[i] = s; }
}
static void mul_atv(const double *x, double *y) {
  for (u32 i = 0; i < N; i++) { double s = 0; for (u32 j = 0; j < N; j++) s += A(j, i) * x[j]; y[i] = s; }
}
static void mul_atav(const double *x, double *y) { mul_av(x, tmp); mul_atv(tmp, y); }
EXPORT u32 run(void) {
  for (u32 i = 0; i < N; i++) u[i] = 1.0;
  for (u32 i = 0; i < 10; i++) { mul_atav(u, v); mul_atav(v, u); }
  double vbv = 0, vv = 0;
  for (u32 i = 0; i < N; i++) { vbv += u[i] * v[i]; vv += v[i] * v[i]; }
  return fold64(f64_bits(vbv / vv));
}
