/* A JSON tokenizer and recursive-descent parser over generated text: nested
 * objects and arrays, integers/decimals/exponents, strings with escapes
 * (\" \\ \/ \n \t \uXXXX), true/false/null, irregular whitespace. The parser
 * decodes strings, hashes keys, sums numbers and counts nodes; branchy
 * byte-at-a-time code with many calls. */
#include "bench.h"
#define TEXT_CAP (1u << 21)
static u8 text[TEXT_CAP + 64];
static u32 text_len;
static u32 seed;
static inline u32 rnd(void) { seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5; return seed; }

/* ---------- generator ---------- */
static u32 gp;
static void put(u8 c) { if (gp < TEXT_CAP) text[gp++] = c; }
static void put_ws(void) {
  u32 r = rnd() & 15;
  if (r < 9) return;
  if (r < 13) { put(' '); return; }
  if (r < 15) { put('\n'); for (u32 k = rnd() & 7; k > 0; k--) put(' '); return; }
  put('\t');
}
static const char hexd[] = "0123456789abcdef";
static void gen_string(u32 maxlen) {
  put('"');
  u32 n = rnd() % maxlen;
  for (u32 i = 0; i < n; i++) {
    u32 r = rnd();
    u32 k = r % 40;
    if (k < 26) put((u8)('a' + k));
    else if (k < 30) put((u8)('A' + (r >> 8) % 26));
    else if (k < 33) put(' ');
    else if (k < 35) put((u8)('0' + (r >> 8) % 10));
    else if (k == 35) { put('\\'); put("\"\\/nt"[(r >> 8) % 5]); }
    else if (k == 36) { put('\\'); put('u'); put('0'); put('0'); put((u8)hexd[(r >> 8) & 7]); put((u8)hexd[(r >> 12) & 15]); }
    else if (k == 37) { put('\\'); put('u'); put((u8)hexd[(r >> 8) & 15]); put((u8)hexd[(r >> 12) & 15]); put((u8)hexd[(r >> 16) & 15]); put((u8)hexd[(r >> 20) & 15]); }
    else put((u8)"_-.,:"[(r >> 8) % 5]);
  }
  put('"');
}
static void gen_number(void) {
  u32 r = rnd();
  if (r & 1) put('-');
  u32 v = (r >> 1) % ((r & 6) ? 1000u : 100000000u);
  char d[12]; int nd = 0;
  do { d[nd++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (nd) put((u8)d[--nd]);
  if ((r >> 28) == 0) return;
  if ((r >> 28) < 6) {
    put('.');
    for (u32 k = 1 + (r >> 20) % 6; k > 0; k--) put((u8)('0' + rnd() % 10));
  }
  if ((r >> 28) >= 12) {
    put((r >> 27) & 1 ? 'e' : 'E');
    if ((r >> 26) & 1) put((r >> 25) & 1 ? '-' : '+');
    put((u8)('1' + (r >> 16) % 9));
    if ((r >> 24) & 1) put((u8)('0' + (r >> 12) % 10));
  }
}
static void gen_value(u32 depth) {
  u32 r = rnd() % 100;
  if (depth < 10 && r < 18) {
    put('{'); put_ws();
    u32 n = rnd() % 7;
    for (u32 i = 0; i < n; i++) {
      if (i) { put(','); put_ws(); }
      gen_string(12); put_ws(); put(':'); put_ws();
      gen_value(depth + 1); put_ws();
    }
    put('}');
  } else if (depth < 10 && r < 30) {
    put('['); put_ws();
    u32 n = rnd() % 9;
    for (u32 i = 0; i < n; i++) {
      if (i) { put(','); put_ws(); }
      gen_value(depth + 1); put_ws();
    }
    put(']');
  } else if (r < 60) gen_number();
  else if (r < 88) gen_string(40);
  else if (r < 93) { put('t'); put('r'); put('u'); put('e'); }
  else if (r < 97) { put('f'); put('a'); put('l'); put('s'); put('e'); }
  else { put('n'); put('u'); put('l'); put('l'); }
}
static void generate(u32 target) {
  gp = 0;
  put('[');
  for (u32 i = 0; gp + 4096 < target; i++) {
    if (i) { put(','); put_ws(); }
    gen_value(0);
  }
  put(']');
  text_len = gp;
  for (u32 i = 0; i < 64; i++) text[gp + i] = 0;   /* sentinel */
}

/* ---------- tokenizer ---------- */
enum { T_EOF, T_LBRACE, T_RBRACE, T_LBRACK, T_RBRACK, T_COLON, T_COMMA,
       T_STRING, T_NUMBER, T_TRUE, T_FALSE, T_NULL, T_ERROR };
static const u8 *cur, *end;
static i32 tok;
static i64 num_int;          /* integer part (with sign) */
static u32 num_frac, num_exp_hash;
static u8 sbuf[4096];
static u32 slen, shash;
static u32 errors;

static i32 hexval(u8 c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
static void put_utf8(u32 cp) {
  if (slen + 4 > sizeof sbuf) return;
  if (cp < 0x80) sbuf[slen++] = (u8)cp;
  else if (cp < 0x800) { sbuf[slen++] = (u8)(0xC0 | (cp >> 6)); sbuf[slen++] = (u8)(0x80 | (cp & 63)); }
  else { sbuf[slen++] = (u8)(0xE0 | (cp >> 12)); sbuf[slen++] = (u8)(0x80 | ((cp >> 6) & 63)); sbuf[slen++] = (u8)(0x80 | (cp & 63)); }
}
static i32 lex_string(void) {
  slen = 0;
  cur++;                                     /* opening quote */
  for (;;) {
    u8 c = *cur++;
    if (c == '"') break;
    if (c == 0 || c < 0x20) { errors++; return T_ERROR; }
    if (c != '\\') { if (slen < sizeof sbuf) sbuf[slen++] = c; continue; }
    u8 e = *cur++;
    switch (e) {
      case '"': put_utf8('"'); break;
      case '\\': put_utf8('\\'); break;
      case '/': put_utf8('/'); break;
      case 'b': put_utf8(8); break;
      case 'f': put_utf8(12); break;
      case 'n': put_utf8(10); break;
      case 'r': put_utf8(13); break;
      case 't': put_utf8(9); break;
      case 'u': {
        u32 cp = 0;
        for (int k = 0; k < 4; k++) {
          i32 v = hexval(*cur++);
          if (v < 0) { errors++; return T_ERROR; }
          cp = cp * 16 + (u32)v;
        }
        put_utf8(cp);
        break;
      }
      default: errors++; return T_ERROR;
    }
  }
  u32 h = 2166136261u;
  for (u32 i = 0; i < slen; i++) h = (h ^ sbuf[i]) * 16777619u;
  shash = h;
  return T_STRING;
}
static i32 lex_number(void) {
  int neg = 0;
  if (*cur == '-') { neg = 1; cur++; }
  if (*cur < '0' || *cur > '9') { errors++; return T_ERROR; }
  i64 v = 0;
  while (*cur >= '0' && *cur <= '9') v = v * 10 + (*cur++ - '0');
  num_int = neg ? -v : v;
  num_frac = 0; num_exp_hash = 0;
  if (*cur == '.') {
    cur++;
    if (*cur < '0' || *cur > '9') { errors++; return T_ERROR; }
    while (*cur >= '0' && *cur <= '9') num_frac = num_frac * 10 + (u32)(*cur++ - '0');
  }
  if (*cur == 'e' || *cur == 'E') {
    cur++;
    i32 es = 1, ev = 0;
    if (*cur == '+' || *cur == '-') { if (*cur == '-') es = -1; cur++; }
    if (*cur < '0' || *cur > '9') { errors++; return T_ERROR; }
    while (*cur >= '0' && *cur <= '9') ev = ev * 10 + (*cur++ - '0');
    num_exp_hash = (u32)(es * ev) * 2654435761u;
  }
  return T_NUMBER;
}
static int match_word(const char *w) {
  const u8 *p = cur;
  while (*w) { if (*p++ != (u8)*w++) return 0; }
  cur = p;
  return 1;
}
static void next_token(void) {
  for (;;) {
    u8 c = *cur;
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') { cur++; continue; }
    break;
  }
  if (cur >= end) { tok = T_EOF; return; }
  u8 c = *cur;
  switch (c) {
    case '{': cur++; tok = T_LBRACE; return;
    case '}': cur++; tok = T_RBRACE; return;
    case '[': cur++; tok = T_LBRACK; return;
    case ']': cur++; tok = T_RBRACK; return;
    case ':': cur++; tok = T_COLON; return;
    case ',': cur++; tok = T_COMMA; return;
    case '"': tok = lex_string(); return;
    case 't': tok = match_word("true") ? T_TRUE : T_ERROR; return;
    case 'f': tok = match_word("false") ? T_FALSE : T_ERROR; return;
    case 'n': tok = match_word("null") ? T_NULL : T_ERROR; return;
    default:
      if (c == '-' || (c >= '0' && c <= '9')) { tok = lex_number(); return; }
      errors++; cur++; tok = T_ERROR; return;
  }
}

/* ---------- parser ---------- */
struct stats { u32 objects, arrays, keys, strings, numbers, literals, max_depth, str_bytes; i64 int_sum; u32 frac_sum; };
static struct stats st;

static u32 parse_value(u32 depth);
static u32 parse_object(u32 depth) {
  u32 h = 0x0b1ec7u, n = 0;
  next_token();
  if (tok == T_RBRACE) { next_token(); st.objects++; return h; }
  for (;;) {
    if (tok != T_STRING) { errors++; return h; }
    u32 kh = shash;
    st.keys++;
    next_token();
    if (tok != T_COLON) { errors++; return h; }
    next_token();
    u32 vh = parse_value(depth + 1);
    h += (kh ^ vh) * (2 * n + 1);            /* key order matters a little */
    n++;
    if (tok == T_COMMA) { next_token(); continue; }
    if (tok == T_RBRACE) { next_token(); break; }
    errors++; return h;
  }
  st.objects++;
  return h ^ n;
}
static u32 parse_array(u32 depth) {
  u32 h = 0xa77a4u, n = 0;
  next_token();
  if (tok == T_RBRACK) { next_token(); st.arrays++; return h; }
  for (;;) {
    u32 vh = parse_value(depth + 1);
    h = (h ^ vh) * 0x01000193u;
    n++;
    if (tok == T_COMMA) { next_token(); continue; }
    if (tok == T_RBRACK) { next_token(); break; }
    errors++; return h;
  }
  st.arrays++;
  return h + n;
}
static u32 parse_value(u32 depth) {
  if (depth > st.max_depth) st.max_depth = depth;
  u32 h;
  switch (tok) {
    case T_LBRACE: return parse_object(depth);
    case T_LBRACK: return parse_array(depth);
    case T_STRING: st.strings++; st.str_bytes += slen; h = shash; next_token(); return h;
    case T_NUMBER:
      st.numbers++; st.int_sum += num_int; st.frac_sum += num_frac;
      h = (u32)num_int * 31u + num_frac * 7u + num_exp_hash; next_token(); return h;
    case T_TRUE: st.literals++; next_token(); return 1;
    case T_FALSE: st.literals++; next_token(); return 2;
    case T_NULL: st.literals++; next_token(); return 3;
    default: errors++; next_token(); return 0xdead;
  }
}
static u32 parse_document(void) {
  cur = text; end = text + text_len;
  next_token();
  u32 h = parse_value(0);
  if (tok != T_EOF) errors++;
  return h;
}

volatile u32 docs = 3, passes = 16, doc_size = 1u << 20;
EXPORT u32 run(void) {
  u32 h = 0;
  errors = 0;
  st = (struct stats){0};
  for (u32 d = 0; d < docs; d++) {
    seed = 0x1234567u + d * 0x9E3779B9u;
    generate(doc_size);
    for (u32 p = 0; p < passes; p++) {
      h = h * 0x01000193u ^ parse_document();
    }
    h += text_len;
  }
  h ^= st.objects * 3u + st.arrays * 5u + st.keys * 7u + st.strings * 11u + st.numbers * 13u
     + st.literals * 17u + st.max_depth * 19u + st.str_bytes + st.frac_sum;
  return h ^ fold64((u64)st.int_sum) ^ (errors << 24);
}
