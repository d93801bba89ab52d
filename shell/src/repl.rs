//! The interactive shell: rustyline with persistent history, multi-line input that
//! continues while the parser reports an unexpected end of input, and completion of
//! globals and property paths.

use crate::printer::{is_identifier, stdout_wants_color, Printer};
use crate::runner::{drain_jobs, report_uncaught};
use boa_engine::ast::scope::Scope;
use boa_engine::interner::Interner;
use boa_engine::object::builtins::JsProxy;
use boa_engine::parser::{Error as ParseError, Parser};
use boa_engine::property::PropertyKey;
use boa_engine::{js_string, Context, JsObject, JsString, JsValue, Source};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::FileHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{CompletionType, Config, Editor, Helper};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;

const KEYWORDS: &[&str] = &[
    "async",
    "await",
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "let",
    "new",
    "null",
    "return",
    "static",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "yield",
];

/// The history file: `$SIDEWINDER_HISTORY`, else `~/.sidewinder_history`.
pub fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SIDEWINDER_HISTORY") {
        return (!p.is_empty()).then(|| PathBuf::from(p));
    }
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".sidewinder_history"))
}

/// True when `source` fails to parse only because it ends too early, so the REPL
/// should read another line instead of reporting a syntax error.
pub fn is_incomplete(source: &str) -> bool {
    if source.trim().is_empty() {
        return false;
    }
    let mut interner = Interner::default();
    let result = Parser::new(Source::from_bytes(source)).parse_script(&Scope::new_global(), &mut interner);
    match result {
        Ok(_) => false,
        Err(ParseError::AbruptEnd) => true,
        Err(ParseError::Lex { err }) => {
            let text = err.to_string();
            text.contains("unterminated multiline comment") || text.contains("unterminated template literal")
        }
        Err(_) => false,
    }
}

/// Names bound by top-level `let`, `const` and `class` in `source`. They live in the
/// global declarative environment, not on the global object, so completion has to
/// remember them.
fn lexical_names(source: &str) -> Vec<String> {
    let mut interner = Interner::default();
    let Ok(script) =
        Parser::new(Source::from_bytes(source)).parse_script(&Scope::new_global(), &mut interner)
    else {
        return Vec::new();
    };
    boa_engine::ast::operations::lexically_declared_names(&script)
        .into_iter()
        .filter_map(|sym| interner.resolve(sym).map(|s| s.to_string()))
        .collect()
}

struct ShellHelper {
    context: Rc<RefCell<Context>>,
    lexical: Rc<RefCell<BTreeSet<String>>>,
}

enum Lookup {
    Data(JsValue),
    /// An accessor or proxy: reading it could run user code.
    Unsafe,
    Missing,
}

fn lookup(obj: &JsObject, name: &str) -> Lookup {
    let key = PropertyKey::from(JsString::from(name));
    let mut current = Some(obj.clone());
    while let Some(o) = current {
        if JsProxy::from_object(o.clone()).is_ok() {
            return Lookup::Unsafe;
        }
        let desc = o.borrow().properties().get(&key);
        if let Some(desc) = desc {
            return match desc.value() {
                Some(v) => Lookup::Data(v.clone()),
                None => Lookup::Unsafe,
            };
        }
        current = o.prototype();
    }
    Lookup::Missing
}

impl ShellHelper {
    /// Evaluates `a.b.c` without side effects: identifiers come from the global object
    /// or the top-level lexical bindings, and each step must be a data property.
    fn resolve_path(&self, path: &str, context: &mut Context) -> Option<JsValue> {
        let mut parts = path.split('.');
        let first = parts.next()?;
        if !is_identifier(first) {
            return None;
        }
        let global = context.global_object();
        let mut value = match lookup(&global, first) {
            Lookup::Data(v) => v,
            Lookup::Unsafe => return None,
            Lookup::Missing if self.lexical.borrow().contains(first) => {
                // Evaluating a bare identifier reference runs no user code.
                context.eval(Source::from_bytes(first)).ok()?
            }
            Lookup::Missing => return None,
        };
        for part in parts {
            if !is_identifier(part) || value.is_null_or_undefined() {
                return None;
            }
            let obj = value.to_object(context).ok()?;
            value = match lookup(&obj, part) {
                Lookup::Data(v) => v,
                _ => return None,
            };
        }
        Some(value)
    }

    fn property_names(value: &JsValue, context: &mut Context) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        if value.is_null_or_undefined() {
            return names;
        }
        let Ok(obj) = value.to_object(context) else {
            return names;
        };
        let mut current = Some(obj);
        let mut hops = 0;
        while let Some(o) = current {
            if JsProxy::from_object(o.clone()).is_ok() || hops > 100 {
                break;
            }
            if let Ok(keys) = o.own_property_keys(context) {
                for key in keys {
                    if let PropertyKey::String(s) = key {
                        let s = s.to_std_string_escaped();
                        if is_identifier(&s) {
                            names.insert(s);
                        }
                    }
                }
            }
            current = o.prototype();
            hops += 1;
        }
        names
    }

    fn candidates(&self, path: &str) -> BTreeSet<String> {
        let Ok(mut context) = self.context.try_borrow_mut() else {
            return BTreeSet::new();
        };
        if path.is_empty() {
            let global: JsValue = context.global_object().into();
            let mut names = Self::property_names(&global, &mut context);
            names.extend(self.lexical.borrow().iter().cloned());
            names.extend(KEYWORDS.iter().map(|k| k.to_string()));
            return names;
        }
        match self.resolve_path(path, &mut context) {
            Some(v) => Self::property_names(&v, &mut context),
            None => BTreeSet::new(),
        }
    }
}

impl Completer for ShellHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '$' || c == '.';
        let start =
            before.char_indices().rev().take_while(|&(_, c)| is_word(c)).last().map_or(pos, |(i, _)| i);
        let token = &before[start..];
        if token.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            return Ok((pos, Vec::new()));
        }
        let (path, prefix, prefix_start) = match token.rfind('.') {
            Some(dot) => (&token[..dot], &token[dot + 1..], start + dot + 1),
            None => ("", token, start),
        };
        let pairs = self
            .candidates(path)
            .into_iter()
            .filter(|n| n.starts_with(prefix))
            .map(|n| Pair { display: n.clone(), replacement: n })
            .collect();
        Ok((prefix_start, pairs))
    }
}

impl Validator for ShellHelper {
    fn validate(&self, ctx: &mut ValidationContext<'_>) -> rustyline::Result<ValidationResult> {
        Ok(if is_incomplete(ctx.input()) {
            ValidationResult::Incomplete
        } else {
            ValidationResult::Valid(None)
        })
    }
}

impl Hinter for ShellHelper {
    type Hint = String;
}

impl Highlighter for ShellHelper {}

impl Helper for ShellHelper {}

/// Runs the REPL until Ctrl-D (or `quit()`); returns the exit status.
pub fn run(context: Context) -> i32 {
    let color = stdout_wants_color();
    let context = Rc::new(RefCell::new(context));
    let lexical = Rc::new(RefCell::new(BTreeSet::new()));
    let config = Config::builder()
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .max_history_size(10_000)
        .and_then(|b| Ok(b.history_ignore_dups(true)?.build()));
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: cannot configure the line editor: {e}");
            return 1;
        }
    };
    let mut editor: Editor<ShellHelper, FileHistory> = match Editor::with_config(config) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot start the line editor: {e}");
            return 1;
        }
    };
    editor.set_helper(Some(ShellHelper { context: context.clone(), lexical: lexical.clone() }));
    let history = history_path();
    if let Some(path) = &history {
        // A missing file just means a first run.
        let _ = editor.load_history(path);
    }

    println!("Sidewinder {} (Boa + WebAssembly). Ctrl-D or quit() to exit.", env!("CARGO_PKG_VERSION"));
    let printer = Printer::new(color);
    loop {
        let input = match editor.readline("> ") {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("error: {e}");
                return 1;
            }
        };
        if input.trim().is_empty() {
            continue;
        }
        if let Some(path) = &history {
            // Appending after every entry keeps the history even when the session
            // ends through quit(), which exits the process directly.
            if editor.add_history_entry(input.as_str()).unwrap_or(false) {
                let _ = editor.append_history(path);
            }
        } else {
            let _ = editor.add_history_entry(input.as_str());
        }

        let mut ctx = context.borrow_mut();
        let result = ctx
            .eval(Source::from_bytes(input.as_str()).with_path(std::path::Path::new("<repl>")))
            .and_then(|v| drain_jobs(&mut ctx).map(|()| v));
        lexical.borrow_mut().extend(lexical_names(&input));
        match result {
            Ok(value) => {
                let text = printer.format(&value, &mut ctx);
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{text}");
                let _ = out.flush();
                let _ = ctx.global_object().set(js_string!("_"), value, false, &mut ctx);
            }
            Err(e) => report_uncaught(&e, &mut ctx),
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_input() {
        assert!(is_incomplete("function f() {"));
        assert!(is_incomplete("let x = ["));
        assert!(is_incomplete("foo(1,"));
        assert!(is_incomplete("`abc"));
        assert!(is_incomplete("/* comment"));
        assert!(is_incomplete("if (x)"));
        assert!(!is_incomplete("let x = 1;"));
        assert!(!is_incomplete("let = = 3"));
        assert!(!is_incomplete("}"));
        assert!(!is_incomplete("'abc"));
    }

    #[test]
    fn lexical() {
        let names = lexical_names("let a = 1; const b = 2; class C {} var d; function e() {}");
        assert_eq!(names, ["a", "b", "C"]);
    }
}
