/* A small regex engine: patterns (literals, ., *, +, ?, |, groups, character
 * classes with ranges/negation, \d \w \s) are parsed by recursive descent into a
 * Thompson NFA, which is simulated state-set by state-set (no backtracking, no DFA
 * cache) over 1 MiB of generated text. For each pattern: unanchored search counting
 * the positions where a match ends, and the lines in which a match ends. */
#include "bench.h"
typedef unsigned short u16;
enum { OP_CHAR, OP_ANY, OP_CLASS, OP_SPLIT, OP_MATCH };
struct state { u8 op, c; u16 cls; i32 out, out1; };
#define MAXST 1024
#define MAXCLS 64
static struct state st[MAXST];
static u32 nst;
static u32 cls[MAXCLS][8];
static u32 ncls;
static const char *pp;   /* parse cursor */
static int perr;

static i32 newstate(u8 op, u8 c, i32 out, i32 out1) {
  if (nst >= MAXST) { perr = 1; return 0; }
  st[nst].op = op; st[nst].c = c; st[nst].cls = 0; st[nst].out = out; st[nst].out1 = out1;
  return (i32)nst++;
}
/* dangling exits are chained through the exit fields themselves:
 * slot = state * 2 + (0 for out, 1 for out1); -1 ends the chain */
static i32 *slotp(i32 slot) { return (slot & 1) ? &st[slot >> 1].out1 : &st[slot >> 1].out; }
static void patch(i32 l, i32 target) { while (l >= 0) { i32 *f = slotp(l); l = *f; *f = target; } }
static i32 append(i32 l1, i32 l2) {
  if (l1 < 0) return l2;
  i32 l = l1;
  while (*slotp(l) >= 0) l = *slotp(l);
  *slotp(l) = l2;
  return l1;
}
struct frag { i32 start, out; };

static void cls_set(u32 *b, u32 c) { b[c >> 5] |= 1u << (c & 31); }
static void cls_range(u32 *b, u32 lo, u32 hi) { for (u32 c = lo; c <= hi; c++) cls_set(b, c); }
static int cls_escape(u32 *b, char e) {  /* \d \w \s; returns 0 if not a class escape */
  if (e == 'd') { cls_range(b, '0', '9'); return 1; }
  if (e == 'w') { cls_range(b, 'a', 'z'); cls_range(b, 'A', 'Z'); cls_range(b, '0', '9'); cls_set(b, '_'); return 1; }
  if (e == 's') { cls_set(b, ' '); cls_set(b, '\t'); cls_set(b, '\n'); cls_set(b, '\r'); return 1; }
  return 0;
}
static u32 new_cls(void) {
  if (ncls >= MAXCLS) { perr = 1; return 0; }
  for (int i = 0; i < 8; i++) cls[ncls][i] = 0;
  return ncls++;
}
static struct frag single(u8 op, u8 c, u32 k) {
  i32 s = newstate(op, c, -1, -1);
  st[s].cls = (u16)k;
  struct frag f = {s, s * 2};
  return f;
}
static struct frag parse_alt(void);
static struct frag parse_atom(void) {
  char c = *pp++;
  if (c == '(') {
    struct frag f = parse_alt();
    if (*pp != ')') perr = 1; else pp++;
    return f;
  }
  if (c == '.') return single(OP_ANY, 0, 0);
  if (c == '[') {
    u32 k = new_cls();
    u32 *b = cls[k];
    int neg = 0;
    if (*pp == '^') { neg = 1; pp++; }
    int first = 1;
    while (*pp && (*pp != ']' || first)) {
      first = 0;
      u32 lo = (u8)*pp++;
      if (lo == '\\') { char e = *pp++; if (cls_escape(b, e)) continue; lo = (u8)e; }
      if (pp[0] == '-' && pp[1] && pp[1] != ']') { u32 hi = (u8)pp[1]; pp += 2; cls_range(b, lo, hi); }
      else cls_set(b, lo);
    }
    if (*pp != ']') perr = 1; else pp++;
    if (neg) for (int i = 0; i < 8; i++) b[i] = ~b[i];
    return single(OP_CLASS, 0, k);
  }
  if (c == '\\') {
    char e = *pp++;
    u32 k = new_cls();
    if (cls_escape(cls[k], e)) return single(OP_CLASS, 0, k);
    ncls--;
    return single(OP_CHAR, (u8)e, 0);
  }
  if (c == 0 || c == '*' || c == '+' || c == '?' || c == ')' || c == '|') perr = 1;
  return single(OP_CHAR, (u8)c, 0);
}
static struct frag parse_repeat(void) {
  struct frag f = parse_atom();
  for (;;) {
    char c = *pp;
    if (c == '*') { i32 s = newstate(OP_SPLIT, 0, f.start, -1); patch(f.out, s); f.start = s; f.out = s * 2 + 1; }
    else if (c == '+') { i32 s = newstate(OP_SPLIT, 0, f.start, -1); patch(f.out, s); f.out = s * 2 + 1; }
    else if (c == '?') { i32 s = newstate(OP_SPLIT, 0, f.start, -1); f.start = s; f.out = append(f.out, s * 2 + 1); }
    else break;
    pp++;
  }
  return f;
}
static struct frag parse_concat(void) {
  struct frag f = parse_repeat();
  while (*pp && *pp != '|' && *pp != ')') {
    struct frag g = parse_repeat();
    patch(f.out, g.start);
    f.out = g.out;
  }
  return f;
}
static struct frag parse_alt(void) {
  struct frag f = parse_concat();
  while (*pp == '|') {
    pp++;
    struct frag g = parse_concat();
    i32 s = newstate(OP_SPLIT, 0, f.start, g.start);
    f.start = s;
    f.out = append(f.out, g.out);
  }
  return f;
}
static i32 compile(const char *re) {
  nst = 0; ncls = 0; perr = 0; pp = re;
  struct frag f = parse_alt();
  if (*pp) perr = 1;
  i32 m = newstate(OP_MATCH, 0, -1, -1);
  patch(f.out, m);
  return perr ? -1 : f.start;
}

/* simulation */
static i32 lista[MAXST], listb[MAXST];
static u32 mark[MAXST];
static u32 gen;
static u32 nlist_n;
static int matched;
static void addstate(i32 *l, i32 s) {
  if (mark[s] == gen) return;
  mark[s] = gen;
  if (st[s].op == OP_SPLIT) { addstate(l, st[s].out); addstate(l, st[s].out1); return; }
  if (st[s].op == OP_MATCH) matched = 1;
  l[nlist_n++] = s;
}
struct result { u32 ends, lines, hash; };
static struct result search(i32 start, const u8 *text, u32 len) {
  struct result r = {0, 0, 0};
  i32 *cl = lista, *nl = listb;
  for (u32 i = 0; i < nst; i++) mark[i] = 0;
  gen = 1; nlist_n = 0; matched = 0;
  addstate(cl, start);
  u32 cn = nlist_n;
  int line_hit = 0;
  for (u32 i = 0; i < len; i++) {
    u32 c = text[i];
    gen++; nlist_n = 0; matched = 0;
    for (u32 j = 0; j < cn; j++) {
      const struct state *s = &st[cl[j]];
      int ok;
      switch (s->op) {
        case OP_CHAR: ok = s->c == c; break;
        case OP_ANY: ok = c != '\n'; break;
        case OP_CLASS: ok = (cls[s->cls][c >> 5] >> (c & 31)) & 1; break;
        default: ok = 0;
      }
      if (ok) addstate(nl, s->out);
    }
    if (matched) { r.ends++; r.hash = (r.hash ^ i) * 0x01000193u; line_hit = 1; }
    if (c == '\n') { r.lines += line_hit; line_hit = 0; }
    addstate(nl, start);  /* a new match may begin at the next character */
    i32 *t = cl; cl = nl; nl = t;
    cn = nlist_n;
  }
  r.lines += line_hit;
  return r;
}

#define TLEN (1 << 20)
static u8 text[TLEN];
static u32 rng;
static u32 rnd(void) { rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5; return rng; }
static const char *common[] = {"the", "this", "that", "then", "and", "of", "to", "in", "is",
  "nation", "kindness", "running", "quick", "quiet", "queue", "xylophone", "syzygy",
  "action", "darkness", "sing", "thing", "abcdef", "cdcdeff", "eeef", "aaa", "ioa"};
static const char *syl[] = {"ka", "ri", "to", "ne", "sa", "lo", "mi", "qu", "th", "ing", "ion",
  "ness", "ab", "cd", "ef", "x", "y", "ou", "ea", "st", "pr", "gh", "ch", "z"};
static void gen_text(void) {
  u32 i = 0, col = 0, sentence_start = 1;
  rng = 0xC0FFEE11u;
  while (i < TLEN - 64) {
    u32 x = rnd();
    char w[48];
    u32 n = 0;
    if ((x & 31) == 0) {  /* a number, sometimes with a fraction */
      u32 v = rnd();
      u32 d = 1 + v % 5;
      for (u32 k = 0; k < d; k++) { w[n++] = (char)('0' + (rnd() % 10)); }
      if (v & 0x100) { w[n++] = '.'; w[n++] = (char)('0' + (v >> 12) % 10); w[n++] = (char)('0' + (v >> 16) % 10); }
    } else if ((x & 3) == 0) {
      const char *s = common[(x >> 8) % (sizeof common / sizeof common[0])];
      while (*s) w[n++] = *s++;
    } else {
      u32 ns = 1 + (x >> 8) % 4;
      for (u32 k = 0; k < ns; k++) {
        const char *s = syl[rnd() % (sizeof syl / sizeof syl[0])];
        while (*s) w[n++] = *s++;
      }
    }
    if (sentence_start && w[0] >= 'a' && w[0] <= 'z') w[0] = (char)(w[0] - 32);
    sentence_start = 0;
    for (u32 k = 0; k < n; k++) text[i++] = (u8)w[k];
    col += n;
    u32 y = rnd() % 16;
    if (y == 0) { text[i++] = '.'; sentence_start = 1; }
    else if (y == 1) text[i++] = ',';
    if (col > 60 + (x >> 26)) { text[i++] = '\n'; col = 0; }
    else { text[i++] = ' '; col++; }
  }
  while (i < TLEN) text[i++] = '\n';
}
static const char *patterns[] = {
  "th(e|is|at)",
  "[a-z]+ing",
  "\\d+\\.\\d+",
  "(ab|cd)*e?f+",
  "q.i|qu.?e",
  "[A-Z][a-z]*(ion|ness)",
  "(a|e|i|o|u)(a|e|i|o|u)(a|e|i|o|u)",
  "x[^aeiou ]+y",
  "(ka|ri|to)+(ne|sa)?[.,]",
  "\\w+\\s\\w+ness",
  "(th|ch|sh)[aeiou]+[^ \n]*",
  "[0-9][0-9][0-9]+",
  "(k|r|t)(a|i|o)(n|s)?(e|a)",
  "\\.\\s+[A-Z]\\w*",
};
volatile u32 passes = 1;
EXPORT u32 run(void) {
  gen_text();
  u32 h = 0;
  u32 np = passes;
  for (u32 pass = 0; pass < np; pass++)
    for (u32 p = 0; p < sizeof patterns / sizeof patterns[0]; p++) {
      i32 start = compile(patterns[p]);
      if (start < 0) return 0xbad0000u + p;
      struct result r = search(start, text, TLEN);
      h = h * 31 + r.ends;
      h = h * 31 + r.lines;
      h = h * 31 + r.hash;
      h = h * 31 + nst;
    }
  return h;
}
