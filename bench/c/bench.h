/* Shared freestanding helpers for the benchmark programs.
 * Built for wasm32 with clang -nostdlib, and natively with gcc (-DNATIVE) to
 * compute the expected checksums. Each program defines `u32 run(void)`. */
#ifndef BENCH_H
#define BENCH_H
typedef unsigned char u8;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;
typedef long long i64;
typedef unsigned long usize;

#ifdef NATIVE
#define EXPORT
#else
#define EXPORT __attribute__((export_name("run")))
/* clang may emit calls to these; LLVM does not turn loops inside functions
 * named memset/memcpy back into calls to themselves. */
void *memset(void *d, int c, usize n) { u8 *p = d; while (n--) *p++ = (u8)c; return d; }
void *memcpy(void *d, const void *s, usize n) { u8 *p = d; const u8 *q = s; while (n--) *p++ = *q++; return d; }
void *memmove(void *d, const void *s, usize n) {
  u8 *p = d; const u8 *q = s;
  if (p < q) { while (n--) *p++ = *q++; } else { p += n; q += n; while (n--) *--p = *--q; }
  return d;
}
#endif

static inline u32 fold64(u64 x) { return (u32)x ^ (u32)(x >> 32); }
static inline u64 f64_bits(double d) { union { double d; u64 u; } v; v.d = d; return v.u; }
#endif
