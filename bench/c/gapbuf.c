// wasm-flags: -mbulk-memory
/* A text editor simulation on a gap buffer (4 MiB): random cursor moves (small
 * steps and far jumps, which memmove the gap), inserts of snippets (memcpy),
 * runs of one character (memset), deletes that clear the freed bytes (memset),
 * copy/paste through a clipboard, and periodic "save" passes that copy the text
 * out and back with the gap re-placed. Built with -mbulk-memory, so the copies
 * and fills are memory.copy / memory.fill in wasm. */
#include "bench.h"
#define CAP (4u << 20)
#define DICT (1u << 16)
#define CLIP (1u << 14)
static u8 buf[CAP];
static u8 save_buf[CAP];
static u8 dict[DICT];
static u8 clip[CLIP];
static u32 gs, ge, clip_len;
static u64 rng;

static inline u32 next(void) {
  rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
  return (u32)(rng >> 32);
}
static inline u32 text_len(void) { return CAP - (ge - gs); }
static inline u8 char_at(u32 i) { return i < gs ? buf[i] : buf[i + (ge - gs)]; }

static void move_gap(u32 pos) {
  if (pos < gs) {
    u32 n = gs - pos;
    __builtin_memmove(buf + ge - n, buf + pos, n);
    gs -= n; ge -= n;
  } else if (pos > gs) {
    u32 n = pos - gs;
    __builtin_memmove(buf + gs, buf + ge, n);
    gs += n; ge += n;
  }
}
static u32 insert(const u8 *src, u32 n) {
  if (n > ge - gs) n = ge - gs;
  __builtin_memcpy(buf + gs, src, n);
  gs += n;
  return n;
}
static u32 insert_run(u8 c, u32 n) {
  if (n > ge - gs) n = ge - gs;
  __builtin_memset(buf + gs, c, n);
  gs += n;
  return n;
}
static u32 delete_forward(u32 n) {
  if (n > CAP - ge) n = CAP - ge;
  __builtin_memset(buf + ge, 0, n);
  ge += n;
  return n;
}
static u32 delete_backward(u32 n) {
  if (n > gs) n = gs;
  gs -= n;
  __builtin_memset(buf + gs, 0, n);
  return n;
}
/* Copies logical text [pos, pos+n) to dst (in at most two pieces). */
static void copy_out(u32 pos, u32 n, u8 *dst) {
  if (pos + n <= gs) { __builtin_memcpy(dst, buf + pos, n); return; }
  if (pos >= gs) { __builtin_memcpy(dst, buf + pos + (ge - gs), n); return; }
  u32 a = gs - pos;
  __builtin_memcpy(dst, buf + pos, a);
  __builtin_memcpy(dst + a, buf + ge, n - a);
}
/* "Save": copy the text out contiguously, hash a sample of it, and rebuild the
 * buffer with the gap at a new position. */
static u32 save(u32 newpos, u32 h) {
  u32 len = text_len();
  copy_out(0, len, save_buf);
  for (u32 i = 0; i < len; i += 61) h = (h ^ save_buf[i]) * 16777619u;
  u32 gap = CAP - len;
  __builtin_memcpy(buf, save_buf, newpos);
  __builtin_memcpy(buf + newpos + gap, save_buf + newpos, len - newpos);
  __builtin_memset(buf + newpos, 0, gap);
  gs = newpos; ge = newpos + gap;
  return h;
}

volatile u32 n_ops = 200000;
EXPORT u32 run(void) {
  rng = 0x9E3779B97F4A7C15ull;
  /* A dictionary of pseudo-words to type from. */
  for (u32 i = 0; i < DICT; i++) {
    u32 r = next();
    dict[i] = (r % 7 == 0) ? ' ' : (r % 53 == 0) ? '\n' : (u8)('a' + (r >> 8) % 26);
  }
  /* Initial document: 2 MiB, gap at the end. */
  u32 init = 2u << 20;
  for (u32 i = 0; i < init; i += DICT) __builtin_memcpy(buf + i, dict, DICT);
  for (u32 i = 0; i < init; i += 4093) buf[i] = (u8)('A' + i % 26);
  gs = init; ge = CAP;
  __builtin_memset(buf + gs, 0, ge - gs);
  clip_len = 0;
  u32 cursor = init / 2, h = 2166136261u;
  u64 moved = 0;
  u32 n = n_ops;
  for (u32 op = 0; op < n; op++) {
    u32 r = next();
    u32 len = text_len();
    u32 kind = r % 100;
    if (kind < 30) {                       /* small cursor step */
      i32 d = (i32)((r >> 8) % 513) - 256;
      i32 c = (i32)cursor + d;
      cursor = c < 0 ? 0 : (u32)c > len ? len : (u32)c;
    } else if (kind < 31) {                /* far jump */
      cursor = next() % (len + 1);
    } else if (kind < 58) {                /* type a snippet */
      u32 m = 1 + (r >> 8) % 96;
      u32 from = next() % (DICT - m);
      move_gap(cursor);
      cursor += insert(dict + from, m);
    } else if (kind < 62) {                /* indentation / ruler */
      u32 m = 1 + (r >> 8) % 200;
      move_gap(cursor);
      cursor += insert_run((u8)" -=#"[(r >> 20) & 3], m);
    } else if (kind < 82) {                /* delete forward or backward */
      u32 m = 1 + (r >> 8) % 160;
      if (len > (5u << 19)) m = 1 + (r >> 8) % 65536;  /* keep the document from growing without bound */
      move_gap(cursor);
      if (r & (1u << 30)) delete_forward(m);
      else cursor -= delete_backward(m);
    } else if (kind < 88) {                /* copy a range to the clipboard */
      u32 m = 1 + (r >> 8) % CLIP;
      if (m > len) m = len;
      u32 pos = next() % (len - m + 1);
      copy_out(pos, m, clip);
      clip_len = m;
    } else if (kind < 97) {                /* paste */
      move_gap(cursor);
      cursor += insert(clip, clip_len);
    } else if (kind < 98 && (op & 15) == 0) {  /* save and re-place the gap */
      h = save(next() % (text_len() + 1), h);
    } else {                               /* read around the cursor */
      for (u32 i = 0; i < 32 && cursor + i < len; i++) h = (h ^ char_at(cursor + i)) * 16777619u;
    }
    moved += gs;
    h = (h ^ char_at(cursor < text_len() ? cursor : 0)) * 16777619u ^ text_len();
  }
  /* Final document hash, word at a time over both halves. */
  u32 len = text_len();
  copy_out(0, len, save_buf);
  u32 a = 0x12345678u;
  for (u32 i = 0; i < len; i++) a = (a + save_buf[i]) * 0x01000193u ^ (a >> 15);
  return h ^ a ^ fold64(moved) ^ len;
}
