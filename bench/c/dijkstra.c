/* Single-source shortest paths with Dijkstra's algorithm on a generated
 * 256x256 grid graph (directed 4-neighbour edges with random weights, some
 * expensive "walls" and a sprinkling of long "tunnel" edges), using an indexed
 * binary min-heap with decrease-key. Several sources; between them some edge
 * weights change. Checksums distances, parents and path lengths. */
#include "bench.h"
#define SIDE 256
#define NV (SIDE * SIDE)
#define NT 4096                       /* tunnel edges */
static u32 wt[NV][4];                 /* weight to right, left, down, up (0 = no edge) */
static u32 tun_start[NV + 1];         /* CSR of tunnel edges by source node */
static u32 tun_to[NT], tun_w[NT];
static u32 tmp_from[NT], tmp_to[NT], tmp_w[NT];
static u32 dist[NV], parent[NV];
static i32 pos[NV];                   /* index in heap, -1 = not in heap, -2 = done */
static u32 heap[NV];
static u32 heap_n;
static u32 seed;
static inline u32 rnd(void) { seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5; return seed; }

static void sift_up(u32 i) {
  u32 v = heap[i], d = dist[v];
  while (i > 0) {
    u32 p = (i - 1) >> 1;
    u32 pv = heap[p];
    if (dist[pv] <= d) break;
    heap[i] = pv; pos[pv] = (i32)i;
    i = p;
  }
  heap[i] = v; pos[v] = (i32)i;
}
static void sift_down(u32 i) {
  u32 v = heap[i], d = dist[v];
  for (;;) {
    u32 c = 2 * i + 1;
    if (c >= heap_n) break;
    if (c + 1 < heap_n && dist[heap[c + 1]] < dist[heap[c]]) c++;
    if (dist[heap[c]] >= d) break;
    heap[i] = heap[c]; pos[heap[i]] = (i32)i;
    i = c;
  }
  heap[i] = v; pos[v] = (i32)i;
}
static void push_or_decrease(u32 v, u32 d, u32 from) {
  if (pos[v] == -2 || d >= dist[v]) return;
  dist[v] = d; parent[v] = from;
  if (pos[v] < 0) { heap[heap_n] = v; pos[v] = (i32)heap_n; heap_n++; sift_up(heap_n - 1); }
  else sift_up((u32)pos[v]);
}
static u32 pop_min(void) {
  u32 v = heap[0];
  heap_n--;
  if (heap_n) { heap[0] = heap[heap_n]; pos[heap[0]] = 0; sift_down(0); }
  pos[v] = -2;
  return v;
}
static u32 dijkstra(u32 src) {
  for (u32 v = 0; v < NV; v++) { dist[v] = 0xFFFFFFFFu; pos[v] = -1; parent[v] = v; }
  heap_n = 0;
  dist[src] = 0; heap[0] = src; pos[src] = 0; heap_n = 1;
  u32 settled = 0;
  while (heap_n) {
    u32 v = pop_min();
    settled++;
    u32 d = dist[v], x = v % SIDE, y = v / SIDE;
    if (wt[v][0] && x + 1 < SIDE) push_or_decrease(v + 1, d + wt[v][0], v);
    if (wt[v][1] && x > 0) push_or_decrease(v - 1, d + wt[v][1], v);
    if (wt[v][2] && y + 1 < SIDE) push_or_decrease(v + SIDE, d + wt[v][2], v);
    if (wt[v][3] && y > 0) push_or_decrease(v - SIDE, d + wt[v][3], v);
    for (u32 e = tun_start[v]; e < tun_start[v + 1]; e++) push_or_decrease(tun_to[e], d + tun_w[e], v);
  }
  return settled;
}

volatile u32 n_sources = 24;
EXPORT u32 run(void) {
  seed = 0xC0FFEE11u;
  for (u32 v = 0; v < NV; v++)
    for (u32 k = 0; k < 4; k++) {
      u32 r = rnd();
      wt[v][k] = (r % 23 == 0) ? 0 : (r % 11 == 0) ? 500 + (r >> 16) % 500 : 1 + (r >> 8) % 100;
    }
  /* Tunnels, bucketed by source node (counting sort into CSR). */
  for (u32 v = 0; v <= NV; v++) tun_start[v] = 0;
  for (u32 t = 0; t < NT; t++) {
    tmp_from[t] = rnd() % NV; tmp_to[t] = rnd() % NV; tmp_w[t] = 200 + rnd() % 3000;
    tun_start[tmp_from[t] + 1]++;
  }
  for (u32 v = 0; v < NV; v++) tun_start[v + 1] += tun_start[v];
  for (u32 t = 0; t < NT; t++) {
    u32 slot = tun_start[tmp_from[t]]++;
    tun_to[slot] = tmp_to[t]; tun_w[slot] = tmp_w[t];
  }
  for (u32 v = NV; v > 0; v--) tun_start[v] = tun_start[v - 1];
  tun_start[0] = 0;

  u32 h = 0, ns = n_sources;
  for (u32 s = 0; s < ns; s++) {
    u32 src = rnd() % NV;
    u32 settled = dijkstra(src);
    u64 sum = 0;
    u32 maxd = 0, reach = 0, ph = 0;
    for (u32 v = 0; v < NV; v++) {
      if (dist[v] == 0xFFFFFFFFu) continue;
      reach++; sum += dist[v];
      if (dist[v] > maxd) maxd = dist[v];
      ph = (ph ^ parent[v]) * 0x01000193u;
    }
    /* Hop count of the path to the farthest corner from the source. */
    u32 far = (src % SIDE < SIDE / 2 ? SIDE - 1 : 0) + (src / SIDE < SIDE / 2 ? SIDE - 1 : 0) * SIDE;
    u32 hops = 0;
    for (u32 v = far; v != src && hops < NV && parent[v] != v; v = parent[v]) hops++;
    h = h * 31u + (fold64(sum) ^ maxd ^ (reach << 3) ^ ph ^ (hops << 16) ^ settled);
    /* Perturb some weights before the next source. */
    for (u32 k = 0; k < 2000; k++) {
      u32 r = rnd();
      wt[r % NV][(r >> 20) & 3] = 1 + (r >> 8) % 150;
    }
  }
  return h;
}
