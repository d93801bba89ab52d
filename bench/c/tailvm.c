// wasm-flags: -mtail-call
/* A direct-threaded bytecode VM whose opcode handlers end by tail-calling the next
 * instruction's handler (`musttail` -> wasm return_call_indirect). Each decoded
 * instruction carries its handler pointer; the program counter, VM pointer, a step
 * counter and a running hash travel in the handler arguments. The bytecode is
 * assembled at run time: a sieve, a Collatz loop, a recursive Fibonacci using CALL/RET,
 * and a pseudo-randomly generated block of ALU/memory/branch code run in a loop.
 * A plain `switch` interpreter re-runs a short version of the generated program as a
 * cross-check. gcc has no musttail; natively MUSTTAIL is empty and gcc -O2 turns the
 * calls into sibling-call jumps anyway. */
#include "bench.h"
#ifdef DEBUG
#include <stdio.h>
#endif

#if defined(__has_attribute)
#if __has_attribute(musttail)
#define MUSTTAIL __attribute__((musttail))
#endif
#endif
#ifndef MUSTTAIL
#define MUSTTAIL
#endif

enum {
  HALT, LI, MOV, ADD, SUB, MUL, AND, OR, XOR, SHL, SHR, ROTL, ADDI, DIVU,
  LD, ST, JMP, JZ, JNZ, JEQ, JNE, JLT, JLTU, DJNZ, CALL, RET, MIX, NOPS
};

typedef struct vm vm;
typedef struct insn insn;
typedef u32 (*op_fn)(const insn *ip, vm *m, u32 steps, u32 x);
struct insn { op_fn fn; u8 op, a, b, c; i32 imm; };

#define MEM_WORDS (1u << 19)
#define MEM_MASK (MEM_WORDS - 1)
#define MAX_CODE 4096
#define MAX_DEPTH 256

struct vm {
  u32 r[16];
  u32 *mem;
  const insn *code;
  const insn *stack[MAX_DEPTH];
  int sp;
  u32 steps;
};

static u32 memory[MEM_WORDS];

#define OP(name) static u32 op_##name(const insn *ip, vm *m, u32 steps, u32 x)
#define DISPATCH(target) do { const insn *n_ = (target); MUSTTAIL return n_->fn(n_, m, steps + 1, x); } while (0)
#define NEXT DISPATCH(ip + 1)
#define R m->r

OP(halt) { m->steps = steps; return x; }
OP(li) { R[ip->a] = (u32)ip->imm; NEXT; }
OP(mov) { R[ip->a] = R[ip->b]; NEXT; }
OP(add) { R[ip->a] = R[ip->b] + R[ip->c]; NEXT; }
OP(sub) { R[ip->a] = R[ip->b] - R[ip->c]; NEXT; }
OP(mul) { R[ip->a] = R[ip->b] * R[ip->c]; NEXT; }
OP(and) { R[ip->a] = R[ip->b] & R[ip->c]; NEXT; }
OP(or) { R[ip->a] = R[ip->b] | R[ip->c]; NEXT; }
OP(xor) { R[ip->a] = R[ip->b] ^ R[ip->c]; NEXT; }
OP(shl) { R[ip->a] = R[ip->b] << (R[ip->c] & 31); NEXT; }
OP(shr) { R[ip->a] = R[ip->b] >> (R[ip->c] & 31); NEXT; }
OP(rotl) { u32 s = R[ip->c] & 31, v = R[ip->b]; R[ip->a] = (v << s) | (v >> ((32 - s) & 31)); NEXT; }
OP(addi) { R[ip->a] = R[ip->b] + (u32)ip->imm; NEXT; }
OP(divu) { u32 d = R[ip->c]; R[ip->a] = d ? R[ip->b] / d : 0; NEXT; }
OP(ld) { R[ip->a] = m->mem[(R[ip->b] + (u32)ip->imm) & MEM_MASK]; NEXT; }
OP(st) { m->mem[(R[ip->b] + (u32)ip->imm) & MEM_MASK] = R[ip->a]; NEXT; }
OP(jmp) { DISPATCH(m->code + ip->imm); }
OP(jz) { if (R[ip->a] == 0) DISPATCH(m->code + ip->imm); NEXT; }
OP(jnz) { if (R[ip->a] != 0) DISPATCH(m->code + ip->imm); NEXT; }
OP(jeq) { if (R[ip->a] == R[ip->b]) DISPATCH(m->code + ip->imm); NEXT; }
OP(jne) { if (R[ip->a] != R[ip->b]) DISPATCH(m->code + ip->imm); NEXT; }
OP(jlt) { if ((i32)R[ip->a] < (i32)R[ip->b]) DISPATCH(m->code + ip->imm); NEXT; }
OP(jltu) { if (R[ip->a] < R[ip->b]) DISPATCH(m->code + ip->imm); NEXT; }
OP(djnz) { if (--R[ip->a] != 0) DISPATCH(m->code + ip->imm); NEXT; }
OP(call) {
  if (m->sp >= MAX_DEPTH) { m->steps = steps; return x ^ 0xdeadbeefu; }
  m->stack[m->sp++] = ip + 1;
  DISPATCH(m->code + ip->imm);
}
OP(ret) {
  if (m->sp == 0) { m->steps = steps; return x ^ 0xbadc0deu; }
  DISPATCH(m->stack[--m->sp]);
}
OP(mix) {
  u32 v = (x ^ R[ip->a]) * 0x9E3779B1u;
  x = (v << 13) | (v >> 19);
  NEXT;
}

static const op_fn handlers[NOPS] = {
  op_halt, op_li, op_mov, op_add, op_sub, op_mul, op_and, op_or, op_xor, op_shl, op_shr,
  op_rotl, op_addi, op_divu, op_ld, op_st, op_jmp, op_jz, op_jnz, op_jeq, op_jne, op_jlt,
  op_jltu, op_djnz, op_call, op_ret, op_mix,
};

/* ---- assembler with labels ---- */
static insn code[MAX_CODE];
static int ncode;
static int label_pos[64];

static int is_jump(int op) { return (op >= JMP && op <= DJNZ) || op == CALL; }
static void E(int op, int a, int b, int c, i32 imm) {
  insn *i = &code[ncode++];
  i->op = (u8)op; i->a = (u8)a; i->b = (u8)b; i->c = (u8)c; i->imm = imm; i->fn = 0;
}
static void L(int id) { label_pos[id] = ncode; }

static u32 lcg_state;
static u32 rnd(void) { lcg_state = lcg_state * 1664525u + 1013904223u; return lcg_state >> 8; }

enum { L_SIEVE = 1, L_CLR, L_OUTER, L_INNER, L_NEXT, L_COUNT, L_CL, L_SKIP,
       L_COLL, L_LP, L_CZ, L_EVEN, L_CNT, L_DONE,
       L_FIB, L_BASE, L_GEN, L_GLOOP, L_MAIN, L_GSKIP0 };

#define GEN_LEN 48
#define STACK_BASE 400000

typedef struct { i32 sieve_n, collatz_m, fib_n, gen_iters; } params;

static void assemble(params p) {
  ncode = 0;
  /* main */
  E(JMP, 0, 0, 0, L_MAIN);
  /* sieve: primes below SIEVE_N in mem[0..N) */
  L(L_SIEVE);
  E(LI, 9, 0, 0, 0); E(LI, 1, 0, 0, 0); E(LI, 5, 0, 0, p.sieve_n); E(LI, 8, 0, 0, 1);
  L(L_CLR);
  E(ST, 9, 1, 0, 0); E(ADDI, 1, 1, 0, 1); E(JLTU, 1, 5, 0, L_CLR);
  E(LI, 1, 0, 0, 2);
  L(L_OUTER);
  E(MUL, 2, 1, 1, 0); E(JLTU, 5, 2, 0, L_COUNT);
  E(LD, 3, 1, 0, 0); E(JNZ, 3, 0, 0, L_NEXT);
  E(MOV, 4, 2, 0, 0);
  L(L_INNER);
  E(ST, 8, 4, 0, 0); E(ADD, 4, 4, 1, 0); E(JLTU, 4, 5, 0, L_INNER);
  L(L_NEXT);
  E(ADDI, 1, 1, 0, 1); E(JMP, 0, 0, 0, L_OUTER);
  L(L_COUNT);
  E(LI, 1, 0, 0, 2); E(LI, 6, 0, 0, 0);
  L(L_CL);
  E(LD, 3, 1, 0, 0); E(JNZ, 3, 0, 0, L_SKIP); E(ADDI, 6, 6, 0, 1); E(MIX, 1, 0, 0, 0);
  L(L_SKIP);
  E(ADDI, 1, 1, 0, 1); E(JLTU, 1, 5, 0, L_CL);
  E(MIX, 6, 0, 0, 0); E(RET, 0, 0, 0, 0);
  /* collatz: r6 = total steps for n in 1..M, r7 = max steps */
  L(L_COLL);
  E(LI, 1, 0, 0, 1); E(LI, 5, 0, 0, p.collatz_m); E(LI, 6, 0, 0, 0); E(LI, 7, 0, 0, 0);
  E(LI, 10, 0, 0, 1);
  L(L_LP);
  E(MOV, 2, 1, 0, 0); E(LI, 11, 0, 0, 0);
  E(JEQ, 2, 10, 0, L_DONE);
  L(L_CZ);
  E(AND, 3, 2, 10, 0); E(JZ, 3, 0, 0, L_EVEN);
  E(ADD, 4, 2, 2, 0); E(ADD, 2, 4, 2, 0); E(ADDI, 2, 2, 0, 1); E(JMP, 0, 0, 0, L_CNT);
  L(L_EVEN);
  E(SHR, 2, 2, 10, 0);
  L(L_CNT);
  E(ADDI, 11, 11, 0, 1); E(JNE, 2, 10, 0, L_CZ);
  L(L_DONE);
  E(ADD, 6, 6, 11, 0);
  E(JLTU, 11, 7, 0, L_GSKIP0); E(MOV, 7, 11, 0, 0); E(MIX, 1, 0, 0, 0);
  L(L_GSKIP0);
  E(ADDI, 1, 1, 0, 1); E(JLTU, 1, 5, 0, L_LP);
  E(MIX, 6, 0, 0, 0); E(MIX, 7, 0, 0, 0); E(RET, 0, 0, 0, 0);
  /* fib: r2 = fib(r1), data stack pointer r15, r12 = 2 */
  L(L_FIB);
  E(JLTU, 1, 12, 0, L_BASE);
  E(ST, 1, 15, 0, 0); E(ADDI, 15, 15, 0, 1);
  E(ADDI, 1, 1, 0, -1); E(CALL, 0, 0, 0, L_FIB);
  E(ADDI, 15, 15, 0, -1); E(LD, 1, 15, 0, 0);
  E(ST, 2, 15, 0, 0); E(ADDI, 15, 15, 0, 1);
  E(ADDI, 1, 1, 0, -2); E(CALL, 0, 0, 0, L_FIB);
  E(ADDI, 15, 15, 0, -1); E(LD, 3, 15, 0, 0);
  E(ADD, 2, 2, 3, 0); E(RET, 0, 0, 0, 0);
  L(L_BASE);
  E(MOV, 2, 1, 0, 0); E(RET, 0, 0, 0, 0);
  /* generated block: loop r9 times over GEN_LEN pseudo-random ops on r1..r8 */
  L(L_GEN);
  for (int k = 1; k <= 8; k++) E(LI, k, 0, 0, (i32)(rnd() * 2654435761u));
  L(L_GLOOP);
  {
    int start = ncode;
    int pending = -1; /* index of a forward branch whose target is still open */
    int pend_left = 0;
    for (int k = 0; k < GEN_LEN; k++) {
      u32 r = rnd();
      int a = 1 + (int)(r % 8), b = 1 + (int)((r >> 3) % 8), c = 1 + (int)((r >> 6) % 8);
      u32 kind = (r >> 9) % 20;
      if (pending >= 0 && --pend_left == 0) { code[pending].imm = ncode; pending = -1; }
      switch (kind) {
        case 0: case 1: E(ADD, a, b, c, 0); break;
        case 2: E(SUB, a, b, c, 0); break;
        case 3: case 4: E(MUL, a, b, c, 0); break;
        case 5: E(XOR, a, b, c, 0); break;
        case 6: E(AND, a, b, c, 0); break;
        case 7: E(OR, a, b, c, 0); break;
        case 8: E(SHL, a, b, c, 0); break;
        case 9: E(SHR, a, b, c, 0); break;
        case 10: case 11: E(ROTL, a, b, c, 0); break;
        case 12: case 13: E(ADDI, a, b, 0, (i32)(r >> 14) - 100000); break;
        case 14: E(DIVU, a, b, c, 0); break;
        case 15: E(LD, a, b, 0, (i32)(r >> 16)); break;
        case 16: E(ST, a, b, 0, (i32)(r >> 16)); break;
        case 17: E(MIX, a, 0, 0, 0); break;
        default:
          if (pending < 0 && k + 6 < GEN_LEN) {
            pending = ncode; pend_left = 2 + (int)((r >> 14) % 4);
            E((r >> 20) & 1 ? JLTU : JLT, a, b, 0, 0); /* target patched later (absolute) */
            code[pending].op |= 0x80; /* mark: already absolute */
          } else {
            E(ADD, a, a, b, 0);
          }
      }
    }
    if (pending >= 0) code[pending].imm = ncode;
    (void)start;
  }
  E(MIX, 1, 0, 0, 0); E(MIX, 5, 0, 0, 0);
  E(DJNZ, 9, 0, 0, L_GLOOP);
  for (int k = 1; k <= 8; k++) E(MIX, k, 0, 0, 0);
  E(RET, 0, 0, 0, 0);
  /* main */
  L(L_MAIN);
  E(LI, 15, 0, 0, STACK_BASE); E(LI, 12, 0, 0, 2);
  E(CALL, 0, 0, 0, L_SIEVE);
  E(CALL, 0, 0, 0, L_COLL);
  E(LI, 1, 0, 0, p.fib_n); E(CALL, 0, 0, 0, L_FIB); E(MIX, 2, 0, 0, 0);
  E(LI, 9, 0, 0, p.gen_iters); E(CALL, 0, 0, 0, L_GEN);
  E(HALT, 0, 0, 0, 0);
  /* resolve labels; branches marked 0x80 already hold absolute targets */
  for (int k = 0; k < ncode; k++) {
    if (code[k].op & 0x80) code[k].op &= 0x7f;
    else if (is_jump(code[k].op)) code[k].imm = label_pos[code[k].imm];
    code[k].fn = handlers[code[k].op];
  }
}

/* reference: a plain switch interpreter over the same decoded program */
static u32 run_switch(vm *m) {
  const insn *ip = m->code;
  u32 x = 0, steps = 0;
  u32 *r = m->r;
  for (;;) {
    const insn *i = ip++;
    steps++;
    switch (i->op) {
      case HALT: m->steps = steps; return x;
      case LI: r[i->a] = (u32)i->imm; break;
      case MOV: r[i->a] = r[i->b]; break;
      case ADD: r[i->a] = r[i->b] + r[i->c]; break;
      case SUB: r[i->a] = r[i->b] - r[i->c]; break;
      case MUL: r[i->a] = r[i->b] * r[i->c]; break;
      case AND: r[i->a] = r[i->b] & r[i->c]; break;
      case OR: r[i->a] = r[i->b] | r[i->c]; break;
      case XOR: r[i->a] = r[i->b] ^ r[i->c]; break;
      case SHL: r[i->a] = r[i->b] << (r[i->c] & 31); break;
      case SHR: r[i->a] = r[i->b] >> (r[i->c] & 31); break;
      case ROTL: { u32 s = r[i->c] & 31, v = r[i->b]; r[i->a] = (v << s) | (v >> ((32 - s) & 31)); break; }
      case ADDI: r[i->a] = r[i->b] + (u32)i->imm; break;
      case DIVU: { u32 d = r[i->c]; r[i->a] = d ? r[i->b] / d : 0; break; }
      case LD: r[i->a] = m->mem[(r[i->b] + (u32)i->imm) & MEM_MASK]; break;
      case ST: m->mem[(r[i->b] + (u32)i->imm) & MEM_MASK] = r[i->a]; break;
      case JMP: ip = m->code + i->imm; break;
      case JZ: if (r[i->a] == 0) ip = m->code + i->imm; break;
      case JNZ: if (r[i->a] != 0) ip = m->code + i->imm; break;
      case JEQ: if (r[i->a] == r[i->b]) ip = m->code + i->imm; break;
      case JNE: if (r[i->a] != r[i->b]) ip = m->code + i->imm; break;
      case JLT: if ((i32)r[i->a] < (i32)r[i->b]) ip = m->code + i->imm; break;
      case JLTU: if (r[i->a] < r[i->b]) ip = m->code + i->imm; break;
      case DJNZ: if (--r[i->a] != 0) ip = m->code + i->imm; break;
      case CALL:
        if (m->sp >= MAX_DEPTH) { m->steps = steps; return x ^ 0xdeadbeefu; }
        m->stack[m->sp++] = ip; ip = m->code + i->imm; break;
      case RET:
        if (m->sp == 0) { m->steps = steps; return x ^ 0xbadc0deu; }
        ip = m->stack[--m->sp]; break;
      case MIX: { u32 v = (x ^ r[i->a]) * 0x9E3779B1u; x = (v << 13) | (v >> 19); break; }
      default: return 0xffffffffu;
    }
  }
}

static u32 fold_state(vm *m, u32 x) {
  u64 h = 0xcbf29ce484222325ull ^ x;
  for (int k = 0; k < 16; k++) h = (h ^ m->r[k]) * 0x100000001b3ull;
  h = (h ^ m->steps) * 0x100000001b3ull;
  for (u32 k = 0; k < MEM_WORDS; k += 509) h = (h ^ m->mem[k]) * 0x100000001b3ull;
  return fold64(h);
}

static vm machine;

static u32 run_threaded(vm *m) {
  m->sp = 0;
  return m->code->fn(m->code, m, 1, 0);
}

EXPORT u32 run(void) {
  u32 result = 0;
  /* short run with both interpreters: they must agree */
  lcg_state = 2024;
  params small = { 20011, 3000, 15, 3000 };
  assemble(small);
  for (int pass = 0; pass < 2; pass++) {
    for (u32 k = 0; k < MEM_WORDS; k++) memory[k] = 0;
    for (int k = 0; k < 16; k++) machine.r[k] = 0;
    machine.mem = memory; machine.code = code; machine.sp = 0;
    u32 x = pass == 0 ? run_threaded(&machine) : run_switch(&machine);
    u32 f = fold_state(&machine, x);
#ifdef DEBUG
    printf("pass %d x %u steps %u f %u\n", pass, x, machine.steps, f);
#endif
    result = pass == 0 ? f : (result == f ? result : result ^ 0x55555555u);
  }
  /* the long run: threaded only */
  lcg_state = 7;
  params big = { 200000, 50000, 26, 400000 };
  assemble(big);
  for (u32 k = 0; k < MEM_WORDS; k++) memory[k] = 0;
  for (int k = 0; k < 16; k++) machine.r[k] = 0;
  machine.mem = memory; machine.code = code; machine.sp = 0;
  u32 x = run_threaded(&machine);
#ifdef DEBUG
  printf("long: x %u steps %u ncode %d r6 %u r7 %u r2 %u\n", x, machine.steps, ncode, machine.r[6], machine.r[7], machine.r[2]);
#endif
  return result * 31u + fold_state(&machine, x) + (u32)ncode;
}
