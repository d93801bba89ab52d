/* Floating point with calls: a tiny ray tracer (spheres, one light, shadows)
 * rendering 256x256 pixels, f64 vector math in small functions. */
#include "bench.h"
typedef struct { double x, y, z; } vec;
static vec v(double x, double y, double z) { vec r = {x, y, z}; return r; }
static vec add(vec a, vec b) { return v(a.x + b.x, a.y + b.y, a.z + b.z); }
static vec sub(vec a, vec b) { return v(a.x - b.x, a.y - b.y, a.z - b.z); }
static vec scale(vec a, double s) { return v(a.x * s, a.y * s, a.z * s); }
static double dot(vec a, vec b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
static double sqrt_(double x) { return __builtin_sqrt(x); }
static vec norm(vec a) { return scale(a, 1.0 / sqrt_(dot(a, a))); }
#define NS 5
static vec centers[NS]; static double radii[NS]; static double shades[NS];
static double hit(vec o, vec d, int *which) {
  double best = 1e30; *which = -1;
  for (int i = 0; i < NS; i++) {
    vec oc = sub(o, centers[i]);
    double b = dot(oc, d), c = dot(oc, oc) - radii[i] * radii[i], disc = b * b - c;
    if (disc > 0) {
      double t = -b - sqrt_(disc);
      if (t > 1e-6 && t < best) { best = t; *which = i; }
    }
  }
  return best;
}
volatile int size = 256;
EXPORT u32 run(void) {
  for (int i = 0; i < NS; i++) {
    centers[i] = v((i - 2) * 1.3, 0.3 * (i & 1), 5.0 + i);
    radii[i] = 0.6 + 0.1 * i; shades[i] = 0.3 + 0.15 * i;
  }
  vec light = norm(v(-1, 1, -1));
  int n = size; u32 sum = 0;
  for (int frame = 0; frame < 60; frame++) {
    for (int y = 0; y < n; y++) for (int x = 0; x < n; x++) {
      vec d = norm(v((x - n / 2) / (double)n, (y - n / 2) / (double)n + 0.01 * frame, 1.0));
      vec o = v(0, 0, 0);
      int which; double t = hit(o, d, &which);
      double c = 0.05;
      if (which >= 0) {
        vec p = add(o, scale(d, t));
        vec nrm = norm(sub(p, centers[which]));
        double lambert = dot(nrm, light);
        int blocker;
        if (lambert > 0 && hit(add(p, scale(nrm, 1e-4)), light, &blocker) > 1e29) c += lambert * shades[which];
      }
      sum = sum * 31 + (u32)(c * 255.0);
    }
  }
  return sum;
}
