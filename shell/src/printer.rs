//! Readable, Node-like rendering of JavaScript values and uncaught errors.
//!
//! Printing must never run user code: getters are shown as `[Getter]`, proxies are
//! not looked into, and only builtin internal slots are read.

use boa_engine::builtins::promise::PromiseState;
use boa_engine::object::builtins::{JsArrayBuffer, JsMap, JsPromise, JsProxy, JsSet, JsTypedArray};
use boa_engine::property::{PropertyDescriptor, PropertyKey};
use boa_engine::{js_string, Context, JsError, JsObject, JsValue, JsVariant};
use std::io::IsTerminal;
use std::sync::OnceLock;

/// Containers nested deeper than this are abbreviated (`[Object]`, `[Array]`).
const MAX_DEPTH: usize = 2;
/// Elements shown per array, typed array, map or set before "... N more items".
const MAX_ITEMS: usize = 100;
/// A container whose one-line form is wider than this is broken over lines.
const LINE_WIDTH: usize = 80;

static COLOR_OVERRIDE: OnceLock<bool> = OnceLock::new();

/// `--color=always|never`; without it colour follows the terminal and NO_COLOR.
pub fn set_color_override(on: bool) {
    let _ = COLOR_OVERRIDE.set(on);
}

fn wants_color(is_terminal: bool) -> bool {
    if let Some(&forced) = COLOR_OVERRIDE.get() {
        return forced;
    }
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && is_terminal
}

/// Whether to colour output written to stdout: only on a terminal, never with NO_COLOR.
pub fn stdout_wants_color() -> bool {
    wants_color(std::io::stdout().is_terminal())
}

pub fn stderr_wants_color() -> bool {
    wants_color(std::io::stderr().is_terminal())
}

#[derive(Clone, Copy)]
enum Style {
    Dim,
    Bold,
    Number,
    String,
    Symbol,
    Function,
    Special,
    Error,
}

#[derive(Clone, Copy, Debug)]
pub struct Printer {
    pub color: bool,
}

impl Printer {
    pub fn new(color: bool) -> Self {
        Printer { color }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if !self.color {
            return text.to_string();
        }
        let code = match style {
            Style::Dim => "90",
            Style::Bold => "1",
            Style::Number => "33",
            Style::String => "32",
            Style::Symbol => "32",
            Style::Function => "36",
            Style::Special => "35",
            Style::Error => "31",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }

    /// Renders a value the way the REPL shows results: strings quoted.
    pub fn format(&self, value: &JsValue, context: &mut Context) -> String {
        let mut seen = Vec::new();
        self.value(value, 0, &mut seen, context)
    }

    /// Renders an uncaught exception: `Name: message` plus the stack for errors.
    pub fn format_error(&self, error: &JsError, context: &mut Context) -> String {
        if let Some(engine) = error.as_engine() {
            // Runtime-limit errors are not JS values, so there is no stack to show.
            return self.paint(Style::Error, &format!("Uncaught {engine}"));
        }
        let value = match error.as_opaque() {
            Some(v) => v.clone(),
            None => match error.clone().into_opaque(context) {
                Ok(v) => v,
                Err(_) => return self.paint(Style::Error, &format!("Uncaught {error}")),
            },
        };
        format!("Uncaught {}", self.format_thrown(&value, context))
    }

    /// A thrown value: errors as `Name: message\n    at ...`, anything else formatted.
    pub fn format_thrown(&self, value: &JsValue, context: &mut Context) -> String {
        if let Some(obj) = value.as_object() {
            if obj.is::<boa_engine::builtins::error::Error>() {
                return self.error_text(&obj, context);
            }
        }
        self.format(value, context)
    }

    fn error_text(&self, obj: &JsObject, context: &mut Context) -> String {
        let field = |name: &str| {
            data_property_chain(obj, &PropertyKey::from(js_string!(name)))
                .and_then(|v| v.as_string().map(|s| s.to_std_string_escaped()))
                .unwrap_or_default()
        };
        let name = field("name");
        let message = field("message");
        let head = match (name.is_empty(), message.is_empty()) {
            (true, _) => message,
            (false, true) => name,
            (false, false) => format!("{name}: {message}"),
        };
        let mut text = self.paint(Style::Error, &head);
        if let Ok(stack) = obj.get(js_string!("stack"), context) {
            if let Some(s) = stack.as_string() {
                let s = s.to_std_string_escaped();
                let s = s.trim_end();
                if !s.is_empty() {
                    text.push('\n');
                    text.push_str(&self.paint(Style::Dim, s));
                }
            }
        }
        if let Some(cause) = data_own(obj, &PropertyKey::from(js_string!("cause"))) {
            text.push_str("\n  [cause]: ");
            text.push_str(&self.format_thrown(&cause, context));
        }
        text
    }

    fn value(
        &self,
        value: &JsValue,
        depth: usize,
        seen: &mut Vec<JsObject>,
        context: &mut Context,
    ) -> String {
        match value.variant() {
            JsVariant::Undefined => self.paint(Style::Dim, "undefined"),
            JsVariant::Null => self.paint(Style::Bold, "null"),
            JsVariant::Boolean(b) => self.paint(Style::Number, &b.to_string()),
            JsVariant::Integer32(i) => self.paint(Style::Number, &i.to_string()),
            JsVariant::Float64(f) => self.paint(Style::Number, &number_text(f)),
            JsVariant::BigInt(b) => self.paint(Style::Number, &format!("{b}n")),
            JsVariant::String(s) => self.paint(Style::String, &quote(&s.to_std_string_escaped())),
            JsVariant::Symbol(s) => {
                self.paint(Style::Symbol, &s.descriptive_string().to_std_string_escaped())
            }
            JsVariant::Object(obj) => self.object(&obj, depth, seen, context),
        }
    }

    fn object(
        &self,
        obj: &JsObject,
        depth: usize,
        seen: &mut Vec<JsObject>,
        context: &mut Context,
    ) -> String {
        if seen.iter().any(|o| JsObject::equals(o, obj)) {
            return self.paint(Style::Special, "[Circular]");
        }
        // An exported GC object is a Proxy to Boa; say what it stands for.
        if let Some(o) = sidewinder_js::gc_object_of(obj, context) {
            let text = match o.kind() {
                sidewinder_engine::ObjectKind::Array => format!("[wasm array, length {}]", o.array_len()),
                _ => "[wasm struct]".to_string(),
            };
            return self.paint(Style::Special, &text);
        }
        if JsProxy::from_object(obj.clone()).is_ok() {
            return self.paint(Style::Special, "Proxy [ ... ]");
        }
        if obj.is_callable() {
            return self.function(obj);
        }
        if obj.is::<boa_engine::builtins::error::Error>() {
            return self.error_text(obj, context);
        }
        seen.push(obj.clone());
        let text = self.container(obj, depth, seen, context);
        seen.pop();
        text
    }

    fn function(&self, obj: &JsObject) -> String {
        let name = data_own(obj, &PropertyKey::from(js_string!("name")))
            .and_then(|v| v.as_string().map(|s| s.to_std_string_escaped()))
            .unwrap_or_default();
        let kind = "Function";
        let label =
            if name.is_empty() { format!("[{kind} (anonymous)]") } else { format!("[{kind}: {name}]") };
        self.paint(Style::Function, &label)
    }

    fn container(
        &self,
        obj: &JsObject,
        depth: usize,
        seen: &mut Vec<JsObject>,
        context: &mut Context,
    ) -> String {
        let ctor = constructor_name(obj);
        if obj.is_array() {
            if depth > MAX_DEPTH {
                return self.paint(Style::Special, "[Array]");
            }
            let len = data_own(obj, &PropertyKey::from(js_string!("length")))
                .and_then(|v| v.as_number())
                .unwrap_or(0.0) as u64;
            let mut items = Vec::new();
            let mut holes = 0u64;
            for i in 0..len.min(MAX_ITEMS as u64) {
                match obj.borrow().properties().get(&PropertyKey::from(i as u32)) {
                    Some(d) => {
                        if holes > 0 {
                            items.push(self.paint(Style::Dim, &hole_text(holes)));
                            holes = 0;
                        }
                        items.push(self.descriptor(&d, depth, seen, context));
                    }
                    None => holes += 1,
                }
            }
            if holes > 0 {
                items.push(self.paint(Style::Dim, &hole_text(holes)));
            }
            if len > MAX_ITEMS as u64 {
                items.push(format!("... {} more items", len - MAX_ITEMS as u64));
            }
            self.extra_props(obj, depth, seen, context, &mut items, true);
            let prefix = if ctor.as_deref() == Some("Array") || ctor.is_none() {
                String::new()
            } else {
                format!("{}({len}) ", ctor.unwrap_or_default())
            };
            return self.wrap(&prefix, "[", "]", items, depth);
        }
        if let Ok(ta) = JsTypedArray::from_object(obj.clone()) {
            let len = ta.length(context).unwrap_or(0);
            let name = ctor.unwrap_or_else(|| "TypedArray".into());
            if depth > MAX_DEPTH {
                return self.paint(Style::Special, &format!("[{name}]"));
            }
            let mut items = Vec::new();
            for i in 0..len.min(MAX_ITEMS) {
                let v = ta.at(i as i64, context).unwrap_or_default();
                items.push(self.value(&v, depth + 1, seen, context));
            }
            if len > MAX_ITEMS {
                items.push(format!("... {} more items", len - MAX_ITEMS));
            }
            return self.wrap(&format!("{name}({len}) "), "[", "]", items, depth);
        }
        if let Ok(buffer) = JsArrayBuffer::from_object(obj.clone()) {
            let bytes: Option<Vec<u8>> = buffer.data().map(|d| d.iter().take(50).copied().collect());
            let len = buffer.byte_length();
            let mut items = Vec::new();
            if let Some(bytes) = bytes {
                let mut hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
                if len > 50 {
                    hex.push(format!("... {} more bytes", len - 50));
                }
                items.push(format!("[Uint8Contents]: <{}>", hex.join(" ")));
            } else {
                items.push("(detached)".into());
            }
            items.push(format!("byteLength: {}", self.paint(Style::Number, &len.to_string())));
            return self.wrap("ArrayBuffer ", "{", "}", items, depth);
        }
        if let Ok(promise) = JsPromise::from_object(obj.clone()) {
            let inner = match promise.state() {
                PromiseState::Pending => self.paint(Style::Special, "<pending>"),
                PromiseState::Fulfilled(v) => self.value(&v, depth + 1, seen, context),
                PromiseState::Rejected(v) => format!(
                    "{} {}",
                    self.paint(Style::Error, "<rejected>"),
                    self.value(&v, depth + 1, seen, context)
                ),
            };
            return self.wrap("Promise ", "{", "}", vec![inner], depth);
        }
        if let Ok(map) = JsMap::from_object(obj.clone()) {
            let mut entries = Vec::new();
            let _ = map.for_each_native(|k, v| {
                entries.push((k, v));
                Ok(())
            });
            let name = format!("Map({}) ", entries.len());
            if depth > MAX_DEPTH {
                return self.paint(Style::Special, "[Map]");
            }
            let total = entries.len();
            let mut items: Vec<String> = entries
                .into_iter()
                .take(MAX_ITEMS)
                .map(|(k, v)| {
                    format!(
                        "{} => {}",
                        self.value(&k, depth + 1, seen, context),
                        self.value(&v, depth + 1, seen, context)
                    )
                })
                .collect();
            if total > MAX_ITEMS {
                items.push(format!("... {} more items", total - MAX_ITEMS));
            }
            return self.wrap(&name, "{", "}", items, depth);
        }
        if let Ok(set) = JsSet::from_object(obj.clone()) {
            let total = set.size();
            if depth > MAX_DEPTH {
                return self.paint(Style::Special, "[Set]");
            }
            let mut values = Vec::new();
            if let Ok(iter) = set.values(context) {
                while values.len() < MAX_ITEMS {
                    match iter.next(context) {
                        Ok(v) if v.as_object().is_some() => {
                            let o = v.as_object().unwrap_or_else(|| unreachable!());
                            let done = o.get(js_string!("done"), context).unwrap_or_default();
                            if done.to_boolean() {
                                break;
                            }
                            values.push(o.get(js_string!("value"), context).unwrap_or_default());
                        }
                        _ => break,
                    }
                }
            }
            let mut items: Vec<String> =
                values.iter().map(|v| self.value(v, depth + 1, seen, context)).collect();
            if total > MAX_ITEMS {
                items.push(format!("... {} more items", total - MAX_ITEMS));
            }
            return self.wrap(&format!("Set({total}) "), "{", "}", items, depth);
        }
        if let Some(primitive) = boxed_primitive(obj) {
            let inner = self.value(&primitive, depth + 1, seen, context);
            return format!("[{}: {inner}]", ctor.unwrap_or_else(|| "Object".into()));
        }

        let prefix = match ctor.as_deref() {
            Some("Object") => String::new(),
            Some(name) => format!("{name} "),
            None => {
                if obj.prototype().is_none() {
                    "[Object: null prototype] ".into()
                } else {
                    String::new()
                }
            }
        };
        if depth > MAX_DEPTH {
            let name = ctor.unwrap_or_else(|| "Object".into());
            return self.paint(Style::Special, &format!("[{name}]"));
        }
        let mut items = Vec::new();
        self.extra_props(obj, depth, seen, context, &mut items, false);
        self.wrap(&prefix, "{", "}", items, depth)
    }

    /// Own enumerable properties, skipping array indices when `skip_indices`.
    fn extra_props(
        &self,
        obj: &JsObject,
        depth: usize,
        seen: &mut Vec<JsObject>,
        context: &mut Context,
        items: &mut Vec<String>,
        skip_indices: bool,
    ) {
        let Ok(keys) = obj.own_property_keys(context) else {
            return;
        };
        let mut shown = 0;
        for key in keys {
            if skip_indices && matches!(key, PropertyKey::Index(_)) {
                continue;
            }
            let Some(desc) = obj.borrow().properties().get(&key) else {
                continue;
            };
            if !desc.enumerable().unwrap_or(false) {
                continue;
            }
            if shown == MAX_ITEMS {
                items.push("...".into());
                break;
            }
            shown += 1;
            let name = match &key {
                PropertyKey::String(s) => {
                    let s = s.to_std_string_escaped();
                    if is_identifier(&s) {
                        s
                    } else {
                        self.paint(Style::String, &quote(&s))
                    }
                }
                PropertyKey::Index(i) => i.get().to_string(),
                PropertyKey::Symbol(s) => format!(
                    "[{}]",
                    self.paint(Style::Symbol, &s.descriptive_string().to_std_string_escaped())
                ),
            };
            items.push(format!("{name}: {}", self.descriptor(&desc, depth, seen, context)));
        }
    }

    fn descriptor(
        &self,
        desc: &PropertyDescriptor,
        depth: usize,
        seen: &mut Vec<JsObject>,
        context: &mut Context,
    ) -> String {
        if desc.is_accessor_descriptor() {
            let get = desc.get().is_some_and(|g| !g.is_undefined());
            let set = desc.set().is_some_and(|s| !s.is_undefined());
            let label = match (get, set) {
                (true, true) => "[Getter/Setter]",
                (true, false) => "[Getter]",
                _ => "[Setter]",
            };
            return self.paint(Style::Special, label);
        }
        let v = desc.value().cloned().unwrap_or_default();
        self.value(&v, depth + 1, seen, context)
    }

    fn wrap(&self, prefix: &str, open: &str, close: &str, items: Vec<String>, depth: usize) -> String {
        if items.is_empty() {
            return format!("{prefix}{open}{close}");
        }
        let one_line = format!("{prefix}{open} {} {close}", items.join(", "));
        let multiline = items.iter().any(|i| i.contains('\n'));
        if !multiline && visible_len(&one_line) + depth * 2 <= LINE_WIDTH {
            return one_line;
        }
        let indent = "  ".repeat(depth + 1);
        let closing_indent = "  ".repeat(depth);
        // Many short items (typically numbers) are packed several per line.
        let packable = items.len() > 6 && items.iter().all(|i| !i.contains('\n') && visible_len(i) <= 16);
        let body: Vec<String> = if packable {
            let mut lines = Vec::new();
            let mut line = String::new();
            for item in &items {
                let extra = if line.is_empty() { 0 } else { 2 };
                if !line.is_empty()
                    && indent.len() + visible_len(&line) + extra + visible_len(item) + 1 > LINE_WIDTH
                {
                    lines.push(format!("{indent}{line}"));
                    line.clear();
                }
                if !line.is_empty() {
                    line.push_str(", ");
                }
                line.push_str(item);
            }
            lines.push(format!("{indent}{line}"));
            lines
        } else {
            items.iter().map(|i| format!("{indent}{i}")).collect()
        };
        format!("{prefix}{open}\n{}\n{closing_indent}{close}", body.join(",\n"))
    }
}

fn hole_text(n: u64) -> String {
    if n == 1 {
        "<1 empty item>".into()
    } else {
        format!("<{n} empty items>")
    }
}

fn number_text(f: f64) -> String {
    if f == 0.0 && f.is_sign_negative() {
        "-0".into()
    } else {
        JsValue::from(f).display().to_string()
    }
}

/// Single-quoted like Node, choosing double quotes when that avoids escapes.
pub fn quote(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' || c == '$' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || c == '_' || c == '$')
}

fn visible_len(s: &str) -> usize {
    let mut len = 0;
    let mut in_escape = false;
    for c in s.chars() {
        if in_escape {
            if c == 'm' {
                in_escape = false;
            }
        } else if c == '\x1b' {
            in_escape = true;
        } else {
            len += 1;
        }
    }
    len
}

/// An own data property, read without running getters or proxy traps.
pub fn data_own(obj: &JsObject, key: &PropertyKey) -> Option<JsValue> {
    let desc = obj.borrow().properties().get(key)?;
    desc.value().cloned()
}

/// A data property found along the prototype chain; `None` at the first accessor or
/// proxy, since reading those could run user code.
pub fn data_property_chain(obj: &JsObject, key: &PropertyKey) -> Option<JsValue> {
    let mut current = Some(obj.clone());
    let mut hops = 0;
    while let Some(o) = current {
        if JsProxy::from_object(o.clone()).is_ok() || hops > 1000 {
            return None;
        }
        let desc = o.borrow().properties().get(key);
        if let Some(desc) = desc {
            return desc.value().cloned();
        }
        current = o.prototype();
        hops += 1;
    }
    None
}

fn constructor_name(obj: &JsObject) -> Option<String> {
    let proto = obj.prototype()?;
    let ctor = data_property_chain(&proto, &PropertyKey::from(js_string!("constructor")))?;
    let ctor = ctor.as_object()?;
    let name = data_own(&ctor, &PropertyKey::from(js_string!("name")))?;
    let name = name.as_string()?.to_std_string_escaped();
    (!name.is_empty()).then_some(name)
}

fn boxed_primitive(obj: &JsObject) -> Option<JsValue> {
    use boa_engine::bigint::JsBigInt;
    use boa_engine::{JsString, JsSymbol};
    if let Some(s) = obj.downcast_ref::<JsString>() {
        return Some(s.clone().into());
    }
    if let Some(n) = obj.downcast_ref::<f64>() {
        return Some((*n).into());
    }
    if let Some(b) = obj.downcast_ref::<bool>() {
        return Some((*b).into());
    }
    if let Some(b) = obj.downcast_ref::<JsBigInt>() {
        return Some(b.clone().into());
    }
    if let Some(s) = obj.downcast_ref::<JsSymbol>() {
        return Some(s.clone().into());
    }
    None
}

#[cfg(test)]
mod gc_object_tests {
    use super::Printer;
    use boa_engine::{Context, Source};

    /// The REPL names an exported GC object for what it stands for; a Proxy of the
    /// script's own stays opaque.
    #[test]
    fn exported_gc_objects_print_as_what_they_stand_for() {
        let mut ctx = Context::default();
        sidewinder_js::install(&mut ctx).expect("install");
        let bytes = wat::parse_str(
            r#"(module (type $s (struct)) (type $a (array i8))
                 (func (export "s") (result (ref $s)) (struct.new $s))
                 (func (export "a") (result (ref $a)) (array.new_default $a (i32.const 3))))"#,
        )
        .expect("wat");
        let list: Vec<String> = bytes.iter().map(u8::to_string).collect();
        let src = format!(
            "const m = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array([{}]))).exports;
             [m.s(), m.a(), new Proxy({{}}, {{}})]",
            list.join(",")
        );
        let value = ctx.eval(Source::from_bytes(&src)).expect("script");
        let text = Printer::new(false).format(&value, &mut ctx);
        assert_eq!(text, "[ [wasm struct], [wasm array, length 3], Proxy [ ... ] ]");
    }
}
