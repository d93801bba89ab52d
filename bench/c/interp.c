/* An interpreter loop: a register bytecode VM whose dispatch `switch` over 24
 * opcodes compiles to a big br_table. The bytecode runs nested loops that mix
 * arithmetic, memory and branches. */
#include "bench.h"
enum { HALT, LI, MOV, ADD, SUB, MUL, AND, OR, XOR, SHL, SHR, ROL, ADDI, INC, DEC,
       LD, ST, JMP, JNZ, JLT, CALL, RET, NOP, SWAP };
typedef struct { u8 op, a, b, c; i32 imm; } insn;
static u32 mem[1024];
static u32 stack[64];
static u32 execute(const insn *code) {
  u32 r[16] = {0};
  int pc = 0, sp = 0;
  for (;;) {
    const insn *i = &code[pc++];
    switch (i->op) {
      case HALT: return r[i->a];
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
      case ROL: { u32 s = r[i->c] & 31; r[i->a] = (r[i->b] << s) | (r[i->b] >> ((32 - s) & 31)); break; }
      case ADDI: r[i->a] = r[i->b] + (u32)i->imm; break;
      case INC: r[i->a]++; break;
      case DEC: r[i->a]--; break;
      case LD: r[i->a] = mem[(r[i->b] + (u32)i->imm) & 1023]; break;
      case ST: mem[(r[i->b] + (u32)i->imm) & 1023] = r[i->a]; break;
      case JMP: pc = i->imm; break;
      case JNZ: if (r[i->a]) pc = i->imm; break;
      case JLT: if (r[i->a] < r[i->b]) pc = i->imm; break;
      case CALL: stack[sp++ & 63] = (u32)pc; pc = i->imm; break;
      case RET: pc = (int)stack[--sp & 63]; break;
      case NOP: break;
      case SWAP: { u32 t = r[i->a]; r[i->a] = r[i->b]; r[i->b] = t; break; }
    }
  }
}
#define I(op, a, b, c, imm) {op, a, b, c, imm}
static const insn prog[] = {
  /* 0 */ I(LI, 1, 0, 0, 0),          /* r1 = outer counter */
  /* 1 */ I(LI, 2, 0, 0, 300000),     /* r2 = outer limit (patched at run time) */
  /* 2 */ I(LI, 3, 0, 0, 0x12345),    /* r3 = acc */
  /* 3 */ I(LI, 9, 0, 0, 5),          /* r9 = shift */
  /* 4 */ I(LI, 4, 0, 0, 64),         /* loop: r4 = inner count */
  /* 5 */ I(ADD, 5, 3, 4, 0),         /* inner: r5 = acc + r4 */
  /* 6 */ I(MUL, 5, 5, 5, 0),
  /* 7 */ I(ROL, 6, 5, 9, 0),
  /* 8 */ I(XOR, 3, 3, 6, 0),
  /* 9 */ I(ST, 3, 4, 0, 7),
  /* 10 */ I(LD, 7, 5, 0, 0),
  /* 11 */ I(ADD, 3, 3, 7, 0),
  /* 12 */ I(CALL, 0, 0, 0, 24),
  /* 13 */ I(DEC, 4, 0, 0, 0),
  /* 14 */ I(JNZ, 4, 0, 0, 5),
  /* 15 */ I(INC, 1, 0, 0, 0),
  /* 16 */ I(SHR, 8, 3, 9, 0),
  /* 17 */ I(AND, 8, 8, 9, 0),
  /* 18 */ I(OR, 3, 3, 8, 0),
  /* 19 */ I(NOP, 0, 0, 0, 0),
  /* 20 */ I(JLT, 1, 2, 0, 4),
  /* 21 */ I(SWAP, 3, 1, 0, 0),
  /* 22 */ I(SUB, 3, 1, 3, 0),
  /* 23 */ I(HALT, 3, 0, 0, 0),
  /* 24 */ I(ADDI, 3, 3, 0, 0x9e37),  /* subroutine */
  /* 25 */ I(SHL, 10, 3, 9, 0),
  /* 26 */ I(XOR, 3, 3, 10, 0),
  /* 27 */ I(MOV, 11, 3, 0, 0),
  /* 28 */ I(RET, 0, 0, 0, 0),
};
static insn code[sizeof prog / sizeof prog[0]];
volatile i32 iterations = 120000;
EXPORT u32 run(void) {
  for (usize k = 0; k < sizeof prog / sizeof prog[0]; k++) code[k] = prog[k];
  code[1].imm = iterations;
  for (int k = 0; k < 1024; k++) mem[k] = (u32)k * 2654435761u;
  return execute(code);
}
