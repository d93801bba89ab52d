/* A Brainfuck interpreter: a pre-pass folds runs of +/- and </> into "add n" /
 * "move n", recognises [-] / [+] as "clear" and [>] / [<] as "scan", and
 * matches brackets; then a `switch` dispatch loop runs the ops. It runs two
 * embedded BF programs: one prints the squares 0..10000 in decimal, the other
 * ROT13-encodes generated text read through ','. The output is hashed. */
#include "bench.h"
enum { OP_ADD, OP_MOVE, OP_CLEAR, OP_SCANR, OP_SCANL, OP_JZ, OP_JNZ, OP_OUT, OP_IN, OP_END };
typedef struct { i32 op; i32 arg; } bfop;

/* Daniel B. Cristofani: squares from 0 to 10000. */
static const char squares_src[] =
  "++++[>+++++<-]>[<+++++>-]+<+[>[>+>+<<-]++>>[<<+>>-]>>>[-]++>[-]+>>>+[[-]++++++>>>]<<<"
  "[[<++++++++<++>>-]+<.<[>----<-]<]<<[>>>>>[>>>[-]+++++++++<[>-<-]+++++++++>[-[<->-]+[<<<]]"
  "<[>+<-]>]<<-]<<-]";
/* ROT13 (from the Wikipedia Brainfuck article), comments stripped. EOF leaves the cell unchanged. */
static const char rot13_src[] =
  "-,+[-[>>++++[>++++++++<-]<+<-[>+>+>-[>>>]<[[>+<-]>>+>]<<<<<-]]>>>[-]+>--[-[<->+++[-]]]<"
  "[++++++++++++<[>-[>+>>]>[+[<+>-]>+>>]<<<<<-]>>[<+>-]>[-[-<<[-]>>]<<[<<->>-]>>]<<[<<+>>-]]"
  "<[-]<.[-]<-,+]";

#define MAXOPS 1024
#define TAPE 4096
#define OUTCAP (1 << 20)
#define INCAP (1 << 17)
static bfop prog_sq[MAXOPS], prog_rot[MAXOPS];
static u8 tape[TAPE];
static u8 outbuf[OUTCAP];
static u8 inbuf[INCAP];
static i32 stackbuf[256];

static int is_cmd(char c) {
  return c == '+' || c == '-' || c == '<' || c == '>' || c == '[' || c == ']' || c == '.' || c == ',';
}

/* Returns the number of ops, or -1 on unbalanced brackets. */
static i32 compile(const char *src, bfop *out) {
  i32 n = 0, sp = 0;
  const char *s = src;
  while (*s) {
    char c = *s;
    if (!is_cmd(c)) { s++; continue; }
    if (c == '+' || c == '-') {
      i32 v = 0;
      while (*s == '+' || *s == '-') { v += (*s == '+') ? 1 : -1; s++; }
      out[n].op = OP_ADD; out[n].arg = v & 255; n++;
      continue;
    }
    if (c == '>' || c == '<') {
      i32 v = 0;
      while (*s == '>' || *s == '<') { v += (*s == '>') ? 1 : -1; s++; }
      out[n].op = OP_MOVE; out[n].arg = v; n++;
      continue;
    }
    if (c == '[') {
      if ((s[1] == '-' || s[1] == '+') && s[2] == ']') { out[n].op = OP_CLEAR; out[n].arg = 0; n++; s += 3; continue; }
      if (s[1] == '>' && s[2] == ']') { out[n].op = OP_SCANR; out[n].arg = 0; n++; s += 3; continue; }
      if (s[1] == '<' && s[2] == ']') { out[n].op = OP_SCANL; out[n].arg = 0; n++; s += 3; continue; }
      stackbuf[sp++] = n;
      out[n].op = OP_JZ; out[n].arg = 0; n++;
      s++;
      continue;
    }
    if (c == ']') {
      if (sp == 0) return -1;
      i32 open = stackbuf[--sp];
      out[open].arg = n + 1;          /* jump past the matching ']' */
      out[n].op = OP_JNZ; out[n].arg = open + 1; n++;
      s++;
      continue;
    }
    out[n].op = (c == '.') ? OP_OUT : OP_IN; out[n].arg = 0; n++;
    s++;
  }
  if (sp != 0) return -1;
  out[n].op = OP_END; out[n].arg = 0;
  return n;
}

/* Runs a program; returns the number of output bytes written at out. */
static u32 execute(const bfop *code, const u8 *in, u32 in_len, u8 *out, u32 out_cap) {
  u8 *t = tape;
  u32 ip = 0, op_n = 0, pc = 0;
  for (u32 k = 0; k < TAPE; k++) tape[k] = 0;
  t = tape + 16;
  for (;;) {
    const bfop *o = &code[pc++];
    switch (o->op) {
      case OP_ADD: *t = (u8)(*t + o->arg); break;
      case OP_MOVE: t += o->arg; break;
      case OP_CLEAR: *t = 0; break;
      case OP_SCANR: while (*t) t++; break;
      case OP_SCANL: while (*t) t--; break;
      case OP_JZ: if (!*t) pc = (u32)o->arg; break;
      case OP_JNZ: if (*t) pc = (u32)o->arg; break;
      case OP_OUT: if (op_n < out_cap) out[op_n++] = *t; break;
      case OP_IN: if (ip < in_len) *t = in[ip++]; break;
      case OP_END: return op_n;
    }
  }
}

static u32 hash_bytes(u32 h, const u8 *p, u32 n) {
  for (u32 i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
  return h;
}

volatile u32 square_runs = 100;
volatile u32 text_len = 36000;
EXPORT u32 run(void) {
  i32 nsq = compile(squares_src, prog_sq);
  i32 nrot = compile(rot13_src, prog_rot);
  if (nsq < 0 || nrot < 0) return 0;
  u32 h = 2166136261u ^ (u32)nsq ^ ((u32)nrot << 16);
  u32 total = 0;
  u32 runs = square_runs;
  for (u32 r = 0; r < runs; r++) {
    u32 n = execute(prog_sq, 0, 0, outbuf, OUTCAP);
    h = hash_bytes(h, outbuf, n) + r;
    total += n;
  }
  /* Generated text: words of letters, some punctuation and digits. */
  u32 x = 2463534242u, len = text_len;
  if (len > INCAP) len = INCAP;
  for (u32 i = 0; i < len; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    u32 k = x % 64;
    u8 c;
    if (k < 26) c = (u8)('a' + k);
    else if (k < 52) c = (u8)('A' + k - 26);
    else if (k < 58) c = ' ';
    else if (k < 61) c = (u8)('0' + (x >> 8) % 10);
    else c = (u8)(",.!"[(x >> 8) % 3]);
    inbuf[i] = c;
  }
  /* Encode in chunks, then decode the whole result again (ROT13 twice = identity). */
  u32 pos = 0, enc = 0;
  while (pos < len) {
    u32 chunk = 1000 + (pos * 7) % 3000;
    if (chunk > len - pos) chunk = len - pos;
    u32 n = execute(prog_rot, inbuf + pos, chunk, outbuf + enc, OUTCAP - enc);
    pos += chunk; enc += n;
  }
  h = hash_bytes(h, outbuf, enc);
  u32 dec = execute(prog_rot, outbuf, enc, outbuf + enc, OUTCAP - enc);
  u32 same = 0;
  for (u32 i = 0; i < dec && i < len; i++) same += (outbuf[enc + i] == inbuf[i]);
  h = hash_bytes(h, outbuf + enc, dec);
  return h ^ (total * 31u) ^ (same << 7) ^ enc;
}
