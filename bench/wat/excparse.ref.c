/* Native reference for excparse.wat: the same generator and parser, with exceptions
 * replaced by an error code checked after every call (err: 0 none, 1 syntax, 2 deep).
 * Build: gcc -O2 -o excparse_ref excparse.ref.c && ./excparse_ref */
#include <stdio.h>
#include <stdint.h>

typedef uint32_t u32;
typedef uint8_t u8;

#define BASE 1024u
static u8 mem[64 * 65536];
static u32 pos, seed, out, nest_err, trace, passes;
static int err; /* 0 none, 1 syntax (payload err_pos), 2 deep */
static u32 err_pos;
static const u8 ops[4] = {'+', '-', '*', '^'};
static const u8 bad[5] = {'#', '(', ')', '+', '*'};

static u32 rnd(void) { seed = seed * 1103515245u + 12345u; return seed >> 16; }
static void emit(u32 c) { mem[out++] = (u8)c; }
static void gen_num(void) {
  u32 d = rnd() % 3 + 1;
  do { emit(rnd() % 10 + 48); } while (--d);
}
static void gen(u32 depth) {
  u32 r = rnd() % 8;
  if (depth == 0 || r < 2) { gen_num(); return; }
  if (r < 4) { emit('('); gen(depth - 1); emit(')'); return; }
  if (r < 7) { gen(depth - 1); emit(ops[rnd() % 4]); gen(depth - 1); return; }
  emit('-'); gen(depth - 1);
}
static void gen_stmt(void) {
  u32 start = out;
  if (rnd() % 32 == 0) {
    u32 k = 20 + rnd() % 20, i;
    for (i = k; i; i--) emit('(');
    gen(2);
    for (i = k; i; i--) emit(')');
  } else {
    gen(1 + rnd() % 6);
  }
  if (rnd() % 8 < 3) {
    u32 i = start + rnd() % (out - start);
    mem[i] = bad[rnd() % 5];
  }
  emit(';');
}
static void gen_batch(u32 n) {
  out = BASE;
  do {
    gen_stmt();
    if (out > 3500000u) break;
  } while (--n);
  emit(0);
}

static u32 peek(void) { return mem[pos]; }
static u32 expr(u32 depth);
static u32 number(void) {
  u32 v = 0, c;
  while ((c = peek() - 48) < 10) { v = v * 10 + c; pos++; }
  return v;
}
#define CHECK if (err) return 0
static u32 factor(u32 depth) {
  if (depth > 30) { err = 2; return 0; }
  u32 c = peek();
  if (c - 48 < 10) return number();
  if (c == '-') { pos++; u32 v = factor(depth + 1); CHECK; return 0u - v; }
  if (c == '(') {
    pos++;
    u32 v = expr(depth + 1);
    if (!err && peek() != ')') { err = 1; err_pos = pos; }
    if (err == 1) { /* catch_ref $syntax ... throw_ref */
      nest_err++;
      trace = trace * 31 + (err_pos ^ depth);
    }
    CHECK;
    pos++;
    return v;
  }
  err = 1; err_pos = pos; return 0;
}
static u32 term(u32 depth) {
  u32 v = factor(depth); CHECK;
  for (;;) {
    u32 c = peek();
    if (c == '*') { pos++; u32 w = factor(depth); CHECK; v *= w; continue; }
    if (c == '^') { pos++; u32 w = factor(depth); CHECK; v ^= w; continue; }
    return v;
  }
}
static u32 expr_inner(u32 depth) {
  u32 v = term(depth); CHECK;
  for (;;) {
    u32 c = peek();
    if (c == '+') { pos++; u32 w = term(depth); CHECK; v += w; continue; }
    if (c == '-') { pos++; u32 w = term(depth); CHECK; v -= w; continue; }
    return v;
  }
}
static u32 expr(u32 depth) {
  u32 v = expr_inner(depth);
  if ((depth & 7) == 4 && err) passes++; /* catch_all_ref ... throw_ref */
  return v;
}
static void skip(void) {
  for (;;) {
    u32 c = peek();
    if (c == 0) return;
    pos++;
    if (c == ';') return;
  }
}
static u32 throws_total, stmts_total;
static u32 parse_all(void) {
  u32 h = 2166136261u, errs = 0, deeps = 0;
  pos = BASE;
  while (peek() != 0) {
    stmts_total++;
    err = 0;
    u32 v = expr(0);
    if (!err && peek() != ';') { err = 1; err_pos = pos; }
    if (err == 0) {
      pos++;
      h = (h ^ v) * 16777619u;
    } else if (err == 1) {
      errs++;
      h = (h ^ ((err_pos - 1024) | 0x40000000u)) * 16777619u;
      skip();
    } else {
      deeps++;
      h = (h + 0x9e3779b9u) * 16777619u;
      skip();
    }
    if (err) throws_total++;
  }
  return h + (errs * 65599u + (deeps << 20));
}

int main(int argc, char **argv) {
  u32 h = 0;
  seed = 20240607;
  for (u32 b = 0; b < 120; b++) {
    gen_batch(5000);
    h = ((h << 5) | (h >> 27)) ^ parse_all();
  }
  u32 r = (h ^ trace) + (nest_err * 2654435761u + (passes << 16));
  if (argc > 1)
    fprintf(stderr, "statements %u throwing %u nest_err %u passes %u\n", stmts_total, throws_total,
            nest_err, passes);
  printf("%u\n", r);
  return 0;
}
