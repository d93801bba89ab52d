//! The REPL driven through a pseudo-terminal, as a person would use it. Every step
//! waits for specific output (never a sleep), with generous timeouts for a loaded
//! machine.

use expectrl::process::unix::WaitStatus;
use expectrl::{ControlCode, Eof, Expect, Regex, Session};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

type Pty = expectrl::session::OsSession;

fn start(history: &Path, color: bool) -> Pty {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sidewinder"));
    cmd.env("SIDEWINDER_HISTORY", history).env("TERM", "xterm");
    if color {
        cmd.env_remove("NO_COLOR");
    } else {
        cmd.env("NO_COLOR", "1");
    }
    let mut session = Session::spawn(cmd).expect("spawn the REPL in a pty");
    session.set_expect_timeout(Some(Duration::from_secs(30)));
    session.expect("Ctrl-D or quit() to exit").expect("banner");
    prompt(&mut session);
    session
}

/// Rustyline redraws the prompt after a carriage return (and usually an erase-line),
/// which keeps "> " inside output such as "at <main> (" from counting as a prompt.
fn prompt(session: &mut Pty) {
    session.expect(Regex(r"\r(\x1b\[K)?> ")).expect("prompt");
}

/// Types a line and waits for `expected` in the output.
fn line(session: &mut Pty, input: &str, expected: &str) {
    session.send(format!("{input}\r")).unwrap();
    session.expect(expected).unwrap_or_else(|e| panic!("after typing {input:?}, expected {expected:?}: {e}"));
    prompt(session);
}

fn exit_code(session: &Pty) -> i32 {
    match session.get_process().wait().expect("wait for the REPL") {
        WaitStatus::Exited(_, code) => code,
        other => panic!("REPL did not exit normally: {other:?}"),
    }
}

#[test]
fn multiline_function_error_and_ctrl_d() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history");
    let mut s = start(&history, false);

    // Each line but the last is incomplete, so Enter continues the input.
    s.send("function twice(x) {\r").unwrap();
    s.send("  return x * 1001;\r").unwrap();
    s.send("}\r").unwrap();
    s.expect("undefined").unwrap();
    prompt(&mut s);
    line(&mut s, "twice(7)", "7007");

    line(&mut s, "({ k: [1, 'two'], n: 10n })", "{ k: [ 1, 'two' ], n: 10n }");
    line(
        &mut s,
        "(function thrower() { throw new TypeError('pty-boom') })()",
        "Uncaught TypeError: pty-boom",
    );

    // Ctrl-C abandons the half-typed line; the REPL keeps going.
    s.send("let abandoned = ").unwrap();
    s.send(ControlCode::EndOfText).unwrap();
    prompt(&mut s);
    line(&mut s, "typeof abandoned", "'undefined'");

    s.send(ControlCode::EndOfTransmission).unwrap();
    s.expect(Eof).unwrap();
    assert_eq!(exit_code(&s), 0);

    let saved = std::fs::read_to_string(&history).unwrap();
    assert!(saved.contains("twice(7)"), "{saved}");
    assert!(saved.contains("function twice(x) {"), "{saved}");
}

#[test]
fn history_recall_with_up_arrow() {
    let dir = tempfile::tempdir().unwrap();
    let history = dir.path().join("history");
    let mut s = start(&history, false);
    line(&mut s, "6 * 7000", "42000");
    line(&mut s, "'other'", "'other'");
    // Up twice reaches the first entry again.
    s.send("\x1b[A\x1b[A\r").unwrap();
    s.expect("42000").unwrap();
    prompt(&mut s);
    s.send(ControlCode::EndOfTransmission).unwrap();
    s.expect(Eof).unwrap();

    // A new session loads the saved history, whose last entry is the recalled line.
    let mut s = start(&history, false);
    s.send("\x1b[A\r").unwrap();
    s.expect("42000").unwrap();
    prompt(&mut s);
    s.send("quit(5)\r").unwrap();
    s.expect(Eof).unwrap();
    assert_eq!(exit_code(&s), 5);
}

#[test]
fn tab_completion_of_globals_and_properties() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = start(&dir.path().join("history"), false);
    line(&mut s, "var completeMe = { uniqueAlphaProp: 4321 }", "undefined");
    // `completeM` is unique among globals; `uniqueAl` among its properties.
    s.send("completeM\t.uniqueAl\t\r").unwrap();
    s.expect("4321").unwrap();
    prompt(&mut s);
    // let bindings are not on the global object but still complete.
    line(&mut s, "let lexicalThing = 'abc'", "undefined");
    s.send("lexicalTh\t.toUpperC\t()\r").unwrap();
    s.expect("'ABC'").unwrap();
    prompt(&mut s);
    s.send("quit()\r").unwrap();
    s.expect(Eof).unwrap();
    assert_eq!(exit_code(&s), 0);
}

#[test]
fn colour_on_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = start(&dir.path().join("history"), true);
    line(&mut s, "40 + 2", "\x1b[33m42\x1b[0m");
    line(&mut s, "'str'", "\x1b[32m'str'\x1b[0m");
    s.send(ControlCode::EndOfTransmission).unwrap();
    s.expect(Eof).unwrap();
}

#[test]
fn array_result() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = start(&dir.path().join("history"), false);
    s.send("[1, 2, 3].map(x => x * 2)\r").unwrap();
    s.expect(Regex(r"\[ 2, 4, 6 \]")).unwrap();
    prompt(&mut s);
    s.send(ControlCode::EndOfTransmission).unwrap();
    s.expect(Eof).unwrap();
}
