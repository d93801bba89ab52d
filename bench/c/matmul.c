/* Dense double-precision matrix multiply (naive i-k-j), repeated. */
#include "bench.h"
#define N 256
static double a[N][N], b[N][N], c[N][N];
EXPORT u32 run(void) {
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      a[i][j] = (double)((i * 7 + j * 3) % 17) * 0.25 - 1.0;
      b[i][j] = (double)((i * 5 + j * 11) % 13) * 0.5 - 2.0;
    }
  u64 h = 0;
  for (int rep = 0; rep < 20; rep++) {
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++) c[i][j] = 0.0;
    for (int i = 0; i < N; i++)
      for (int k = 0; k < N; k++) {
        double aik = a[i][k];
        for (int j = 0; j < N; j++) c[i][j] += aik * b[k][j];
      }
    double s = 0.0;
    for (int i = 0; i < N; i++) s += c[i][(i * 13 + rep) % N];
    h = h * 1000003u ^ f64_bits(s);
    a[rep][rep] += 1.0;
  }
  return fold64(h);
}
