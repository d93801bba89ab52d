//! jsonrt: serde + serde_json with derived impls. Builds a document of nested structs,
//! enums (unit, newtype, struct and tuple variants), `Vec`s, `BTreeMap`s, `Option`s,
//! strings with escapes and non-ASCII, integers and floats; serializes it (compact and
//! pretty), parses it back typed and as `serde_json::Value`, compares, walks the
//! `Value` tree, edits it, re-serializes and reparses it, and turns it back into the
//! typed document with `from_value`. The checksum folds lengths, the bytes of
//! the output, and integers and float bits found in the parsed trees.
//!
//! Determinism: maps are `BTreeMap` (serde_json's `Map` too, without `preserve_order`),
//! never a randomly seeded `HashMap`; floats are made from integers by division (no
//! libm), and serde_json's float printing and parsing (`float_roundtrip`: correctly
//! rounded, so every round trip is exact) are integer code and IEEE arithmetic, the
//! same on wasm32 and x86-64.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
    fn u64(&mut self) -> u64 {
        ((self.next() as u64) << 32) | self.next() as u64
    }
}

#[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Catalog {
    name: String,
    schema_version: u32,
    generated_at: i64,
    sections: Vec<Section>,
    index: BTreeMap<String, u64>,
    settings: Settings,
}

#[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
pub struct Settings {
    locale: String,
    currency: Option<String>,
    ratios: Vec<f64>,
    flags: BTreeMap<String, bool>,
}

#[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
pub struct Section {
    title: String,
    depth: u8,
    items: Vec<Item>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    subsections: Vec<Section>,
}

#[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
pub struct Item {
    id: u64,
    sku: String,
    description: String,
    price: f64,
    weight: f32,
    stock: i32,
    #[serde(default)]
    tags: Vec<String>,
    dims: Option<(u16, u16, u16)>,
    kind: Kind,
    attrs: BTreeMap<String, Attr>,
}

#[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Kind {
    Physical { warehouse: String, fragile: bool },
    Digital { url: String, size_kb: u32 },
    Service { hours: f64 },
    Bundle { members: Vec<u64> },
}

#[derive(Serialize, Deserialize, PartialEq, Debug, Clone)]
#[serde(untagged)]
pub enum Attr {
    Int(i64),
    Float(f64),
    Text(String),
    List(Vec<i32>),
}

const SYL: &[&str] = &[
    "ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zu", "an", "el", "or", "ix", "qu",
    "é", "ß", "ø", "日", "本", "\"", "\\", "\n", "\t", "/", " ",
];

fn word(r: &mut Lcg, syl: u32) -> String {
    let mut s = String::new();
    for i in 0..syl {
        // Escapes and non-ASCII are rarer than plain syllables.
        let k = if r.below(8) == 0 || i == 0 { r.below(SYL.len() as u32) } else { r.below(14) };
        s.push_str(SYL[k as usize]);
    }
    s
}

fn float(r: &mut Lcg) -> f64 {
    match r.below(4) {
        0 => (r.below(1_000_000) as f64) / 100.0,
        1 => (r.next() as f64) / 4096.0 - 500_000.0,
        2 => (r.u64() >> 11) as f64 / (1u64 << 53) as f64,
        _ => -((r.below(100_000) as f64) * 1.0e-7),
    }
}

fn item(r: &mut Lcg, id: u64) -> Item {
    let ntags = r.below(5);
    let nattrs = r.below(5);
    let kind = match r.below(4) {
        0 => Kind::Physical { warehouse: word(r, 3), fragile: r.below(2) == 0 },
        1 => Kind::Digital { url: format!("https://cdn.example/{}/{}", word(r, 2), r.next()), size_kb: r.next() >> 12 },
        2 => Kind::Service { hours: float(r) },
        _ => Kind::Bundle { members: (0..1 + r.below(6)).map(|_| r.u64() >> r.below(64)).collect() },
    };
    Item {
        id,
        sku: format!("SKU-{:06}-{}", r.below(1_000_000), word(r, 2)),
        description: (0..3 + r.below(10)).map(|_| {
            let n = 1 + r.below(4);
            word(r, n)
        }).collect::<Vec<_>>().join(" "),
        price: float(r),
        weight: (r.below(1 << 20) as f32) / 64.0,
        stock: r.next() as i32 >> 8,
        tags: (0..ntags).map(|_| word(r, 2)).collect(),
        dims: if r.below(3) == 0 { None } else { Some((r.next() as u16, r.next() as u16, r.below(100) as u16)) },
        kind,
        attrs: (0..nattrs)
            .map(|_| {
                let a = match r.below(4) {
                    0 => Attr::Int(r.u64() as i64),
                    1 => Attr::Float(float(r)),
                    2 => Attr::Text(word(r, 4)),
                    _ => Attr::List((0..r.below(6)).map(|_| r.next() as i32).collect()),
                };
                (word(r, 2), a)
            })
            .collect(),
    }
}

fn section(r: &mut Lcg, depth: u8, next_id: &mut u64) -> Section {
    let n = 3 + r.below(10);
    let items = (0..n)
        .map(|_| {
            *next_id += 1 + r.below(3) as u64;
            item(r, *next_id)
        })
        .collect();
    let subs = if depth < 3 { r.below(4) } else { 0 };
    Section {
        title: word(r, 4),
        depth,
        items,
        subsections: (0..subs).map(|_| section(r, depth + 1, next_id)).collect(),
    }
}

fn catalog(r: &mut Lcg, sections: u32) -> Catalog {
    let mut next_id = 1000;
    let sections: Vec<Section> = (0..sections).map(|_| section(r, 0, &mut next_id)).collect();
    let mut index = BTreeMap::new();
    for (i, s) in sections.iter().enumerate() {
        index.insert(format!("{}#{}", s.title, i), s.items.iter().map(|it| it.id).sum());
    }
    Catalog {
        name: "catalog \"main\" — ünïcödé".to_string(),
        schema_version: 7,
        generated_at: -(r.u64() as i64 >> 3),
        sections,
        index,
        settings: Settings {
            locale: "de-CH".into(),
            currency: Some("CHF".into()),
            ratios: (0..64).map(|_| float(r)).collect(),
            flags: (0..16).map(|i| (format!("flag{i}"), r.below(2) == 1)).collect(),
        },
    }
}

struct Acc(u32);

impl Acc {
    fn add(&mut self, v: u64) {
        self.0 = (self.0 ^ (v as u32) ^ ((v >> 32) as u32)).wrapping_mul(0x0100_0193).rotate_left(7);
    }
    fn bytes(&mut self, b: &[u8]) {
        let mut h: u32 = 0x9e37_79b9;
        for &x in b {
            h = (h ^ x as u32).wrapping_mul(0x0100_0193);
        }
        self.add(h as u64);
    }
}

/// Folds a parsed `Value` tree: every key, string, number (as integer or float bits)
/// and container size, in document order.
fn walk(v: &Value, acc: &mut Acc, depth: u32) {
    match v {
        Value::Null => acc.add(1),
        Value::Bool(b) => acc.add(2 + *b as u64),
        Value::Number(n) => {
            if let Some(i) = n.as_u64() {
                acc.add(i)
            } else if let Some(i) = n.as_i64() {
                acc.add(i as u64 ^ 0x55)
            } else {
                acc.add(n.as_f64().unwrap().to_bits())
            }
        }
        Value::String(s) => acc.add(s.len() as u64 * 31 + s.chars().count() as u64),
        Value::Array(a) => {
            acc.add(a.len() as u64 + depth as u64);
            for x in a {
                walk(x, acc, depth + 1);
            }
        }
        Value::Object(o) => {
            acc.add(o.len() as u64 + 1000);
            for (k, x) in o {
                acc.add(k.len() as u64);
                walk(x, acc, depth + 1);
            }
        }
    }
}

/// Edits the `Value` tree: scales every "price", drops "tags", counts the items.
fn edit(v: &mut Value) -> u64 {
    match v {
        Value::Array(a) => a.iter_mut().map(edit).sum(),
        Value::Object(o) => {
            let mut n = 0;
            if let Some(p) = o.get_mut("price") {
                let x = p.as_f64().unwrap();
                *p = Value::from(x * 0.5 + 1.0);
                n += 1;
            }
            o.remove("tags");
            for (_, x) in o.iter_mut() {
                n += edit(x);
            }
            n
        }
        _ => 0,
    }
}

#[no_mangle]
pub extern "C" fn run() -> u32 {
    let mut r = Lcg(0x0dd_ba11_c0ffee);
    let mut acc = Acc(0x811c_9dc5);
    for round in 0..3 {
        let doc = catalog(&mut r, 12 + round);

        let compact = serde_json::to_string(&doc).unwrap();
        let pretty = serde_json::to_string_pretty(&doc).unwrap();
        acc.add(compact.len() as u64);
        acc.add(pretty.len() as u64);
        acc.bytes(compact.as_bytes());

        // Typed round trip, from both forms.
        let back: Catalog = serde_json::from_str(&compact).unwrap();
        let back2: Catalog = serde_json::from_str(&pretty).unwrap();
        acc.add((back == doc) as u64 * 2 + (back2 == back) as u64);
        let again = serde_json::to_string(&back).unwrap();
        acc.add((again == compact) as u64);
        for s in &back.sections {
            for it in &s.items {
                acc.add(it.id ^ it.price.to_bits() ^ (it.weight.to_bits() as u64) << 1);
            }
        }

        // Untyped: parse, walk, edit, re-serialize, parse as bytes.
        let mut v: Value = serde_json::from_str(&pretty).unwrap();
        walk(&v, &mut acc, 0);
        acc.add(edit(&mut v));
        let edited = serde_json::to_vec(&v).unwrap();
        acc.add(edited.len() as u64);
        acc.bytes(&edited);
        let v2: Value = serde_json::from_slice(&edited).unwrap();
        acc.add((v2 == v) as u64);
        // Value -> typed: the edited document still fits the schema (`tags` defaults to
        // empty); an error would be counted, not unwrapped.
        match serde_json::from_value::<Catalog>(v2) {
            Ok(c) => acc.add(c.sections.len() as u64),
            Err(e) => acc.add(e.line() as u64 + 77),
        }
        // Pointer lookups.
        let p = v.pointer("/sections/0/items/0/sku").and_then(Value::as_str).unwrap_or("");
        acc.add(p.len() as u64);
        let typed_v = serde_json::to_value(&back).unwrap();
        acc.add(typed_v["settings"]["ratios"].as_array().map_or(0, |a| a.len()) as u64);
    }
    acc.0
}
