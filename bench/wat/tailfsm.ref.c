/* Native reference for tailfsm.wat: the same generator, the tokenizer as a switch over an
 * explicit state variable, and the tree fold as plain recursion.
 * Build: gcc -O2 -o tailfsm_ref tailfsm.ref.c && ./tailfsm_ref */
#include <stdio.h>
#include <stdint.h>

typedef uint32_t u32;
typedef uint8_t u8;

#define IN 4096u
static u8 mem[1 << 20];
static u8 cls[256];
static u32 seed;
static const u8 opch[10] = {'+', '-', '*', '/', '=', '<', '>', '!', '&', '|'};
static const u8 punct[8] = {'(', ')', '{', '}', ';', ',', '.', '@'};
static const u8 mut[6] = {'"', '#', 'x', ' ', '9', '\\'};

static u32 rnd(void) { seed = seed * 1103515245u + 12345u; return seed >> 16; }
static u32 rotl(u32 x, int s) { return (x << s) | (x >> (32 - s)); }

static void init_classes(void) {
  for (u32 c = 0; c < 256; c++) {
    u32 k = 9;
    if ((c | 32) - 97 < 26) k = 1;
    if (c == '_') k = 1;
    if (c - 48 < 10) k = 2;
    if (c == ' ' || c == '\t' || c == '\r') k = 3;
    if (c == '"') k = 4;
    if (c == '\\') k = 5;
    if (c == '#') k = 6;
    if (c == '+' || c == '-' || c == '*' || c == '/' || c == '=' || c == '<' || c == '>' ||
        c == '!' || c == '&' || c == '|')
      k = 7;
    if (c == '\n') k = 8;
    if (c == 0) k = 0;
    cls[c] = (u8)k;
  }
}

static u32 gen_input(u32 limit) {
  u32 p = IN;
  while (p < IN + limit) {
    u32 r = rnd() % 10;
    if (r < 3) {
      u32 n = rnd() % 8;
      mem[p++] = (u8)(97 + rnd() % 26);
      while (n) {
        u32 t = rnd() % 36;
        mem[p++] = (u8)(t < 26 ? 97 + t : 22 + t);
        n--;
      }
    } else if (r < 5) {
      u32 n = 1 + rnd() % 6;
      do { mem[p++] = (u8)(48 + rnd() % 10); } while (--n);
    } else if (r == 5) {
      mem[p++] = '"';
      u32 n = rnd() % 12;
      while (n) {
        u32 t = rnd() % 40;
        if (t == 0) {
          mem[p] = '\\';
          mem[p + 1] = (u8)(97 + rnd() % 26);
          p += 2;
        } else {
          mem[p++] = (u8)(t < 5 ? 32 : 97 + t % 26);
        }
        n--;
      }
      mem[p++] = '"';
    } else if (r == 6) {
      mem[p++] = '#';
      u32 n = rnd() % 20;
      while (n) { mem[p++] = (u8)(97 + rnd() % 26); n--; }
      mem[p++] = '\n';
    } else if (r == 7) {
      u32 n = 1 + rnd() % 2;
      do { mem[p++] = opch[rnd() % 10]; } while (--n);
    } else if (r == 8) {
      mem[p++] = punct[rnd() % 8];
    } else {
      mem[p++] = (rnd() & 1) ? 10 : 9;
    }
    if (rnd() % 3) mem[p++] = ' ';
  }
  mem[p] = 0;
  return p - IN;
}

enum { S_START, S_IDENT, S_NUMBER, S_STRING, S_ESC, S_COMMENT, S_OP };
static u32 tok(u32 h, u32 v, u32 kind) { return rotl((h ^ (v + kind * 0x9e3779b1u)) * 16777619u, 5); }

static u32 tokenize(u32 p, u32 h) {
  u32 n = 0, v = 0;
  int s = S_START;
  for (;;) {
    u32 c = mem[p];
    u32 k = cls[c];
    switch (s) {
      case S_START:
        v = 0;
        switch (k) {
          case 0: return h ^ (n * 0x85ebca6bu);
          case 1: v = c; s = S_IDENT; p++; break;
          case 2: v = c - 48; s = S_NUMBER; p++; break;
          case 3: p++; break;
          case 4: s = S_STRING; p++; break;
          case 5: h = tok(h, 92, 6); n++; p++; break;
          case 6: s = S_COMMENT; p++; break;
          case 7: v = c; s = S_OP; p++; break;
          case 8: h += 0x10000; p++; break;
          default: h = tok(h, c, 7); n++; p++; break;
        }
        break;
      case S_IDENT:
        if (k - 1 < 2) { v = v * 33 + c; p++; }
        else { h = tok(h, v, 1); n++; s = S_START; }
        break;
      case S_NUMBER:
        if (k == 2) { v = v * 10 + (c - 48); p++; }
        else if (k == 1) { v = v * 33 + c; p++; s = S_IDENT; }
        else { h = tok(h, v, 2); n++; s = S_START; }
        break;
      case S_STRING:
        if (c == '"') { h = tok(h, v, 3); n++; s = S_START; p++; }
        else if (c == 0) { h = tok(h, v, 3); n++; s = S_START; }
        else if (c == '\\') { s = S_ESC; p++; }
        else { v = v * 31 + c; p++; }
        break;
      case S_ESC:
        if (c == 0) { h = tok(h, v, 3); n++; s = S_START; }
        else { v = v * 31 + (c ^ 32); p++; s = S_STRING; }
        break;
      case S_COMMENT:
        if (c == 0 || c == '\n') { h = tok(h, v, 4); n++; s = S_START; }
        else { v++; p++; }
        break;
      case S_OP:
        if (k == 7 && v < 256) { v = (v << 8) + c; p++; }
        else { h = tok(h, v, 5); n++; s = S_START; }
        break;
    }
  }
}

/* tree: node i has left, right, key */
static u32 L[65537], R[65537], K[65537];
static u32 rnd32(void) { u32 hi = rnd(); u32 lo = rnd(); return (hi << 16) | lo; }
static void build_tree(u32 n) {
  L[1] = R[1] = 0;
  K[1] = rnd32();
  for (u32 i = 2; i <= n; i++) {
    u32 key = rnd32();
    u32 cur = 1;
    for (;;) {
      u32 *slot = key < K[cur] ? &L[cur] : &R[cur];
      if (*slot == 0) { *slot = i; break; }
      cur = *slot;
    }
    L[i] = R[i] = 0;
    K[i] = key;
  }
}
static u32 fold(u32 node, u32 acc) {
  if (!node) return acc;
  acc = fold(L[node], acc);
  acc = (rotl(acc, 3) ^ K[node]) * 0x27d4eb2du;
  acc = fold(R[node], acc);
  return acc + 1;
}

int main(void) {
  init_classes();
  seed = 777;
  u32 len = gen_input(524288);
  u32 h = len;
  for (u32 pass = 0; pass < 64; pass++) {
    mem[IN + (pass * 7919u + 13) % len] = mut[pass % 6];
    h = rotl(h, 7) ^ tokenize(IN, pass);
  }
  build_tree(65536);
  for (u32 pass = 0; pass < 80; pass++) h = h * 31 + fold(1, pass);
  printf("%u\n", h);
  return 0;
}
