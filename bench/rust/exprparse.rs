// Expression language front end: generates source text (String building), tokenizes it
// into a Vec of enum tokens, parses it by recursive descent into a Box-based AST, then
// constant-folds and evaluates it (wrapping i64 arithmetic, Result-based errors) under
// several variable bindings. Exercises enums, Box, Vec, match, Result/? and slices.

#[derive(Clone, Copy, PartialEq, Debug)]
enum Tok {
    Num(i64),
    Var(u8),
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Amp,
    Pipe,
    Caret,
    Shl,
    Lt,
    Eq,
    Question,
    Colon,
    LParen,
    RParen,
    Comma,
    Ident(u8), // builtin function id
    Let,
    In,
    Assign,
    Semi,
}

#[derive(Clone, Debug)]
enum Expr {
    Num(i64),
    Var(u8),
    Neg(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    Call(u8, Vec<Expr>),
    Let(u8, Box<Expr>, Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
    And,
    Or,
    Xor,
    Shl,
    Lt,
    Eq,
}

#[derive(Debug)]
enum EvalError {
    DivZero,
    Depth,
}

#[derive(Debug)]
enum ParseError {
    Unexpected(u32),
    Eof,
}

const FUNCS: [&str; 4] = ["min", "max", "abs", "mix"];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

fn gen_expr(rng: &mut Rng, out: &mut String, depth: u32) {
    let r = if depth == 0 { rng.below(3) } else { rng.below(15) };
    match r {
        0 => {
            let v = rng.below(1000);
            out.push_str(&v.to_string());
        }
        1 | 2 => out.push((b'a' + rng.below(8) as u8) as char),
        3..=8 => {
            let ops = ["+", "-", "*", "/", "%", "&", "|", "^", "<<", "<", "=="];
            let op = ops[rng.below(ops.len() as u32) as usize];
            out.push('(');
            gen_expr(rng, out, depth - 1);
            out.push(' ');
            out.push_str(op);
            out.push(' ');
            gen_expr(rng, out, depth - 1);
            out.push(')');
        }
        9 => {
            out.push('-');
            gen_expr(rng, out, depth - 1);
        }
        10 | 11 => {
            let f = rng.below(4) as usize;
            out.push_str(FUNCS[f]);
            out.push('(');
            let n = if f == 2 { 1 } else { 2 + rng.below(2) };
            for i in 0..n {
                if i > 0 {
                    out.push_str(", ");
                }
                gen_expr(rng, out, depth - 1);
            }
            out.push(')');
        }
        12 => {
            out.push('(');
            gen_expr(rng, out, depth - 1);
            out.push_str(" ? ");
            gen_expr(rng, out, depth - 1);
            out.push_str(" : ");
            gen_expr(rng, out, depth - 1);
            out.push(')');
        }
        _ => {
            let v = (b'a' + rng.below(8) as u8) as char;
            out.push_str("(let ");
            out.push(v);
            out.push_str(" = ");
            gen_expr(rng, out, depth - 1);
            out.push_str(" in ");
            gen_expr(rng, out, depth - 1);
            out.push(')');
        }
    }
}

fn tokenize(src: &[u8]) -> Result<Vec<Tok>, ParseError> {
    let mut toks = Vec::with_capacity(src.len() / 2);
    let mut i = 0usize;
    while i < src.len() {
        let c = src[i];
        let t = match c {
            b' ' | b'\n' => {
                i += 1;
                continue;
            }
            b'0'..=b'9' => {
                let mut v: i64 = 0;
                while i < src.len() && src[i].is_ascii_digit() {
                    v = v * 10 + (src[i] - b'0') as i64;
                    i += 1;
                }
                toks.push(Tok::Num(v));
                continue;
            }
            b'a'..=b'z' => {
                let start = i;
                while i < src.len() && src[i].is_ascii_lowercase() {
                    i += 1;
                }
                let word = &src[start..i];
                if word.len() == 1 {
                    toks.push(Tok::Var((word[0] - b'a') & 7));
                } else if word == b"let" {
                    toks.push(Tok::Let);
                } else if word == b"in" {
                    toks.push(Tok::In);
                } else if let Some(f) = FUNCS.iter().position(|f| f.as_bytes() == word) {
                    toks.push(Tok::Ident(f as u8));
                } else {
                    return Err(ParseError::Unexpected(start as u32));
                }
                continue;
            }
            b'+' => Tok::Plus,
            b'-' => Tok::Minus,
            b'*' => Tok::Star,
            b'/' => Tok::Slash,
            b'%' => Tok::Percent,
            b'&' => Tok::Amp,
            b'|' => Tok::Pipe,
            b'^' => Tok::Caret,
            b'?' => Tok::Question,
            b':' => Tok::Colon,
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b',' => Tok::Comma,
            b';' => Tok::Semi,
            b'<' if src.get(i + 1) == Some(&b'<') => {
                i += 1;
                Tok::Shl
            }
            b'<' => Tok::Lt,
            b'=' if src.get(i + 1) == Some(&b'=') => {
                i += 1;
                Tok::Eq
            }
            b'=' => Tok::Assign,
            _ => return Err(ParseError::Unexpected(i as u32)),
        };
        toks.push(t);
        i += 1;
    }
    Ok(toks)
}

struct Parser<'a> {
    toks: &'a [Tok],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<Tok> {
        self.toks.get(self.pos).copied()
    }
    fn bump(&mut self) -> Result<Tok, ParseError> {
        let t = self.peek().ok_or(ParseError::Eof)?;
        self.pos += 1;
        Ok(t)
    }
    fn expect(&mut self, t: Tok) -> Result<(), ParseError> {
        let got = self.bump()?;
        if got == t {
            Ok(())
        } else {
            Err(ParseError::Unexpected(self.pos as u32 - 1))
        }
    }
    // precedence climbing over binary operators
    fn binop(t: Tok) -> Option<(BinOp, u8)> {
        Some(match t {
            Tok::Eq => (BinOp::Eq, 1),
            Tok::Lt => (BinOp::Lt, 2),
            Tok::Pipe => (BinOp::Or, 3),
            Tok::Caret => (BinOp::Xor, 4),
            Tok::Amp => (BinOp::And, 5),
            Tok::Shl => (BinOp::Shl, 6),
            Tok::Plus => (BinOp::Add, 7),
            Tok::Minus => (BinOp::Sub, 7),
            Tok::Star => (BinOp::Mul, 8),
            Tok::Slash => (BinOp::Div, 8),
            Tok::Percent => (BinOp::Rem, 8),
            _ => return None,
        })
    }
    fn expr(&mut self) -> Result<Expr, ParseError> {
        let c = self.binary(0)?;
        if self.peek() == Some(Tok::Question) {
            self.pos += 1;
            let a = self.expr()?;
            self.expect(Tok::Colon)?;
            let b = self.expr()?;
            return Ok(Expr::Cond(Box::new(c), Box::new(a), Box::new(b)));
        }
        Ok(c)
    }
    fn binary(&mut self, min_prec: u8) -> Result<Expr, ParseError> {
        let mut lhs = self.unary()?;
        while let Some((op, prec)) = self.peek().and_then(Self::binop) {
            if prec < min_prec {
                break;
            }
            self.pos += 1;
            let rhs = self.binary(prec + 1)?;
            lhs = Expr::Bin(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }
    fn unary(&mut self) -> Result<Expr, ParseError> {
        match self.bump()? {
            Tok::Num(v) => Ok(Expr::Num(v)),
            Tok::Var(v) => Ok(Expr::Var(v)),
            Tok::Minus => Ok(Expr::Neg(Box::new(self.unary()?))),
            Tok::LParen => {
                if self.peek() == Some(Tok::Let) {
                    self.pos += 1;
                    let v = match self.bump()? {
                        Tok::Var(v) => v,
                        _ => return Err(ParseError::Unexpected(self.pos as u32 - 1)),
                    };
                    self.expect(Tok::Assign)?;
                    let init = self.expr()?;
                    self.expect(Tok::In)?;
                    let body = self.expr()?;
                    self.expect(Tok::RParen)?;
                    return Ok(Expr::Let(v, Box::new(init), Box::new(body)));
                }
                let e = self.expr()?;
                self.expect(Tok::RParen)?;
                Ok(e)
            }
            Tok::Ident(f) => {
                self.expect(Tok::LParen)?;
                let mut args = vec![self.expr()?];
                while self.peek() == Some(Tok::Comma) {
                    self.pos += 1;
                    args.push(self.expr()?);
                }
                self.expect(Tok::RParen)?;
                Ok(Expr::Call(f, args))
            }
            _ => Err(ParseError::Unexpected(self.pos as u32 - 1)),
        }
    }
}

fn apply(op: BinOp, a: i64, b: i64) -> Result<i64, EvalError> {
    Ok(match op {
        BinOp::Add => a.wrapping_add(b),
        BinOp::Sub => a.wrapping_sub(b),
        BinOp::Mul => a.wrapping_mul(b),
        BinOp::Div => {
            if b == 0 {
                return Err(EvalError::DivZero);
            }
            a.wrapping_div(b)
        }
        BinOp::Rem => {
            if b == 0 {
                return Err(EvalError::DivZero);
            }
            a.wrapping_rem(b)
        }
        BinOp::And => a & b,
        BinOp::Or => a | b,
        BinOp::Xor => a ^ b,
        BinOp::Shl => a.wrapping_shl((b & 31) as u32),
        BinOp::Lt => (a < b) as i64,
        BinOp::Eq => (a == b) as i64,
    })
}

fn call(f: u8, args: &[i64]) -> i64 {
    match f {
        0 => *args.iter().min().unwrap(),
        1 => *args.iter().max().unwrap(),
        2 => args[0].wrapping_abs(),
        _ => args
            .iter()
            .fold(0x9E37_79B9i64, |h, &x| (h ^ x).wrapping_mul(0x100_0000_01B3).rotate_left(7)),
    }
}

fn eval(e: &Expr, env: &mut [i64; 8], depth: u32) -> Result<i64, EvalError> {
    if depth > 200 {
        return Err(EvalError::Depth);
    }
    match e {
        Expr::Num(v) => Ok(*v),
        Expr::Var(v) => Ok(env[*v as usize]),
        Expr::Neg(a) => Ok(eval(a, env, depth + 1)?.wrapping_neg()),
        Expr::Bin(op, a, b) => {
            let x = eval(a, env, depth + 1)?;
            let y = eval(b, env, depth + 1)?;
            apply(*op, x, y)
        }
        Expr::Cond(c, a, b) => {
            if eval(c, env, depth + 1)? != 0 {
                eval(a, env, depth + 1)
            } else {
                eval(b, env, depth + 1)
            }
        }
        Expr::Call(f, args) => {
            let vals = args
                .iter()
                .map(|a| eval(a, env, depth + 1))
                .collect::<Result<Vec<i64>, _>>()?;
            Ok(call(*f, &vals))
        }
        Expr::Let(v, init, body) => {
            let x = eval(init, env, depth + 1)?;
            let saved = env[*v as usize];
            env[*v as usize] = x;
            let r = eval(body, env, depth + 1);
            env[*v as usize] = saved;
            r
        }
    }
}

// Constant folding: folds subtrees without variables (keeps errors unfolded).
fn fold(e: Expr) -> Expr {
    match e {
        Expr::Neg(a) => match fold(*a) {
            Expr::Num(v) => Expr::Num(v.wrapping_neg()),
            a => Expr::Neg(Box::new(a)),
        },
        Expr::Bin(op, a, b) => {
            let (a, b) = (fold(*a), fold(*b));
            if let (Expr::Num(x), Expr::Num(y)) = (&a, &b) {
                if let Ok(v) = apply(op, *x, *y) {
                    return Expr::Num(v);
                }
            }
            Expr::Bin(op, Box::new(a), Box::new(b))
        }
        Expr::Cond(c, a, b) => match fold(*c) {
            Expr::Num(0) => fold(*b),
            Expr::Num(_) => fold(*a),
            c => Expr::Cond(Box::new(c), Box::new(fold(*a)), Box::new(fold(*b))),
        },
        Expr::Call(f, args) => {
            let args: Vec<Expr> = args.into_iter().map(fold).collect();
            if args.iter().all(|a| matches!(a, Expr::Num(_))) {
                let vals: Vec<i64> = args
                    .iter()
                    .map(|a| if let Expr::Num(v) = a { *v } else { 0 })
                    .collect();
                return Expr::Num(call(f, &vals));
            }
            Expr::Call(f, args)
        }
        Expr::Let(v, init, body) => Expr::Let(v, Box::new(fold(*init)), Box::new(fold(*body))),
        e => e,
    }
}

fn count_nodes(e: &Expr) -> u32 {
    match e {
        Expr::Num(_) | Expr::Var(_) => 1,
        Expr::Neg(a) => 1 + count_nodes(a),
        Expr::Bin(_, a, b) => 1 + count_nodes(a) + count_nodes(b),
        Expr::Cond(c, a, b) => 1 + count_nodes(c) + count_nodes(a) + count_nodes(b),
        Expr::Call(_, args) => 1 + args.iter().map(count_nodes).sum::<u32>(),
        Expr::Let(_, a, b) => 1 + count_nodes(a) + count_nodes(b),
    }
}

fn mix(h: u32, v: u64) -> u32 {
    let x = (h as u64 ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 29) as u32 ^ (x as u32)
}

#[no_mangle]
pub extern "C" fn run() -> u32 {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut h: u32 = 0x811c_9dc5;
    const ROUNDS: u32 = 600;
    for round in 0..ROUNDS {
        // build a program of statements separated by ';'
        let mut src = String::new();
        let nstmt = 12 + rng.below(8);
        for s in 0..nstmt {
            if s > 0 {
                src.push_str(";\n");
            }
            let d = 3 + rng.below(5);
            gen_expr(&mut rng, &mut src, d);
        }
        // occasionally corrupt one byte to exercise the error paths
        if round % 7 == 3 {
            let i = rng.below(src.len() as u32) as usize;
            let mut bytes = src.into_bytes();
            bytes[i] = b"#)(+x"[rng.below(5) as usize];
            src = String::from_utf8(bytes).unwrap();
        }
        h = mix(h, src.len() as u64);
        let toks = match tokenize(src.as_bytes()) {
            Ok(t) => t,
            Err(ParseError::Unexpected(p)) => {
                h = mix(h, 0xBAD0_0000 | p as u64);
                continue;
            }
            Err(ParseError::Eof) => unreachable!(),
        };
        h = mix(h, toks.len() as u64);
        let mut stmts = Vec::new();
        for chunk in toks.split(|t| *t == Tok::Semi) {
            let mut p = Parser { toks: chunk, pos: 0 };
            match p.expr() {
                Ok(e) if p.pos == chunk.len() => stmts.push(e),
                Ok(_) => h = mix(h, 0x7A11 ^ p.pos as u64),
                Err(ParseError::Unexpected(q)) => h = mix(h, 0xE000 ^ q as u64),
                Err(ParseError::Eof) => h = mix(h, 0xE0F),
            }
        }
        let folded: Vec<Expr> = stmts.iter().cloned().map(fold).collect();
        for (e, f) in stmts.iter().zip(folded.iter()) {
            h = mix(h, (count_nodes(e) as u64) << 32 | count_nodes(f) as u64);
            for k in 0..40u32 {
                let mut env = [0i64; 8];
                for (j, slot) in env.iter_mut().enumerate() {
                    *slot = (k as i64 * 37 + j as i64 * 11) % 97 - 20;
                }
                let r1 = eval(e, &mut env, 0);
                let r2 = eval(f, &mut env, 0);
                match (r1, r2) {
                    (Ok(a), Ok(b)) => {
                        if a != b {
                            h = mix(h, 0xDEAD);
                        }
                        h = mix(h, a as u64);
                    }
                    (Err(EvalError::DivZero), _) => h = mix(h, 0xD1F0),
                    (Err(EvalError::Depth), _) => h = mix(h, 0xDE9),
                    (Ok(_), Err(_)) => h = mix(h, 0xF01D),
                }
            }
        }
    }
    h
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    println!("{}", run());
}
