//! regexscan: the `regex` crate (1.13, with its default `perf` + `unicode` features)
//! over generated log-like text. Every call compiles its patterns afresh (regex-syntax's
//! parser and translator, regex-automata's NFA/DFA builders, the literal prefilters),
//! then scans: `find_iter`, `captures_iter` with capture offsets, `is_match` per line,
//! a `RegexSet`, `split` and `replace_all`. The checksum folds match counts, capture
//! offsets and lengths; nothing depends on hashing or floats.

use regex::{Regex, RegexSet};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

const WORDS: &[&str] = &[
    "the", "request", "server", "client", "timeout", "reading", "writing", "Loading",
    "Parsing", "cache", "miss", "hit", "user", "session", "token", "expired", "retrying",
    "connection", "refused", "index", "shard", "Compacting", "segment", "flush", "queue",
    "worker", "started", "stopped", "Processing", "batch", "of", "records", "in", "ms",
    "error", "warning", "info", "debug", "foo", "bar", "baz", "qux", "naïve", "café",
    "Zürich", "über", "résumé", "Ελλάδα", "данные", "東京", "id", "GET", "POST", "/api/v1",
];
const DOMAINS: &[&str] = &["example", "mail", "corp", "uni", "test", "host"];
const TLDS: &[&str] = &["com", "org", "net", "io", "de"];
const LEVELS: &[&str] = &["ERROR:", "error:", "Warn:", "INFO", "Error: ", "debug"];

fn push_num(s: &mut String, mut n: u32, width: usize) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for _ in (buf.len() - i)..width {
        s.push('0');
    }
    s.push_str(core::str::from_utf8(&buf[i..]).unwrap());
}

fn push_ident(s: &mut String, r: &mut Lcg, len: u32) {
    for _ in 0..len {
        let c = r.below(36);
        s.push(if c < 26 { (b'a' + c as u8) as char } else { (b'0' + (c - 26) as u8) as char });
    }
}

/// Generates `lines` lines of log-like text: dates at some line starts, comments,
/// e-mail addresses, dotted quads, level markers, words (some non-ASCII), numbers.
fn gen_text(r: &mut Lcg, lines: usize) -> String {
    let mut s = String::with_capacity(lines * 80);
    for _ in 0..lines {
        match r.below(10) {
            0..=5 => {
                push_num(&mut s, 1990 + r.below(40), 4);
                s.push('-');
                push_num(&mut s, 1 + r.below(12), 2);
                s.push('-');
                push_num(&mut s, 1 + r.below(31), 2);
                s.push(' ');
            }
            6 => s.push_str("  # "),
            7 => s.push_str("    "),
            _ => {}
        }
        let n = 4 + r.below(12);
        for w in 0..n {
            if w > 0 {
                s.push(if r.below(9) == 0 { '\t' } else { ' ' });
            }
            match r.below(24) {
                0 => {
                    let len = 2 + r.below(8);
                    push_ident(&mut s, r, len);
                    s.push('@');
                    s.push_str(DOMAINS[r.below(DOMAINS.len() as u32) as usize]);
                    s.push('.');
                    s.push_str(TLDS[r.below(TLDS.len() as u32) as usize]);
                }
                1 => {
                    for k in 0..4 {
                        if k > 0 {
                            s.push('.');
                        }
                        push_num(&mut s, r.below(300), 0);
                    }
                }
                2 => {
                    s.push_str(LEVELS[r.below(LEVELS.len() as u32) as usize]);
                    s.push(' ');
                    let len = 3 + r.below(6);
                    push_ident(&mut s, r, len);
                }
                3 => push_num(&mut s, r.next() % 100_000, 0),
                4 => {
                    s.push_str("qux");
                    push_num(&mut s, r.below(1000), 0);
                }
                5 => {
                    s.push_str("key_");
                    let len = 1 + r.below(5);
                    push_ident(&mut s, r, len);
                    s.push('=');
                    push_num(&mut s, r.below(5000), 0);
                }
                _ => s.push_str(WORDS[r.below(WORDS.len() as u32) as usize]),
            }
        }
        if r.below(5) == 0 {
            s.push_str(" ;");
        }
        s.push('\n');
    }
    s
}

struct Acc(u32);

impl Acc {
    fn add(&mut self, v: usize) {
        self.0 = (self.0 ^ v as u32).wrapping_mul(0x0100_0193).rotate_left(5);
    }
}

#[no_mangle]
pub extern "C" fn run() -> u32 {
    let mut rng = Lcg(0x5eed_1234_abcd_0001);
    let text = gen_text(&mut rng, 9_000);
    let mut acc = Acc(0x811c_9dc5);
    acc.add(text.len());

    let email = Regex::new(r"\b([a-z0-9]+)@([a-z]+)\.(com|org|net|io)\b").unwrap();
    let date = Regex::new(r"(?m)^(\d{4})-(0[1-9]|1[0-2])-(\d{2}) ").unwrap();
    let alt = Regex::new(r"foo|bar|baz|qux[0-9]{2,}|timeout|refused").unwrap();
    let class = Regex::new(r"\b[A-Z][a-z]{3,8}ing\b").unwrap();
    let level = Regex::new(r"(?i)\b(error|warn):\s+(\w+)").unwrap();
    let quad = Regex::new(r"\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b").unwrap();
    let comment = Regex::new(r"(?m)^\s*#.*$").unwrap();
    let unicode = Regex::new(r"\p{L}*[^\x00-\x7F]\p{L}*").unwrap();
    let kv = Regex::new(r"(?P<key>key_\w+)=(?P<val>\d+)").unwrap();
    let tail = Regex::new(r"(?m)(\w+) ;$").unwrap();

    // find_iter: counts and offsets of whole matches.
    for re in [&alt, &class, &unicode, &comment] {
        let mut n = 0;
        for m in re.find_iter(&text) {
            n += 1;
            acc.add(m.start() & 0xffff);
            acc.add(m.len());
        }
        acc.add(n);
    }

    // captures_iter: sum of capture-group offsets.
    for re in [&email, &date, &level, &quad, &kv, &tail] {
        let mut n = 0usize;
        let mut sum = 0usize;
        for c in re.captures_iter(&text) {
            n += 1;
            for g in c.iter().flatten() {
                sum = sum.wrapping_add(g.start()).wrapping_add(g.end() << 1);
            }
        }
        acc.add(n);
        acc.add(sum);
    }

    // Values from named groups; dotted quads that are valid IPv4 addresses.
    let mut vals = 0u64;
    for c in kv.captures_iter(&text) {
        vals += c["val"].parse::<u64>().unwrap() + c["key"].len() as u64;
    }
    acc.add(vals as usize);
    let mut valid = 0;
    for c in quad.captures_iter(&text) {
        if (1..=4).all(|i| c[i].parse::<u32>().unwrap() < 256) {
            valid += 1;
        }
    }
    acc.add(valid);

    // Line by line: anchored is_match, a RegexSet over every line.
    let anchored = Regex::new(r"^\d{4}-\d{2}-\d{2} [A-Z]").unwrap();
    let set = RegexSet::new([
        r"^\s",
        r"@\w+\.de\b",
        r"(?i)error",
        r"\d{5}",
        r"[;]$",
        r"東京|Zürich",
    ])
    .unwrap();
    let mut per = [0usize; 6];
    let mut lines = 0;
    for (i, line) in text.lines().enumerate() {
        lines += 1;
        if anchored.is_match(line) {
            acc.add(i);
        }
        for k in set.matches(line).into_iter() {
            per[k] += 1;
        }
    }
    acc.add(lines);
    for p in per {
        acc.add(p);
    }

    // split on whitespace runs; replace_all with capture references.
    let ws = Regex::new(r"[ \t]+").unwrap();
    let mut fields = 0;
    let mut flen = 0;
    for f in ws.split(&text) {
        fields += 1;
        flen += f.len() * (fields & 7);
    }
    acc.add(fields);
    acc.add(flen);
    let swapped = email.replace_all(&text, "$2 at $1 dot $3");
    acc.add(swapped.len());
    let redacted = quad.replace_all(&swapped, "x.x.$3.$4");
    acc.add(redacted.len());
    acc.add(redacted.bytes().fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize)));
    acc.0
}
