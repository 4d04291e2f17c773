//! What goes to stderr besides errors: notes and warnings, and when.
//!
//! Owns: the process-wide verbosity (one global, set once from `-v` / `-q` before any
//! subcommand runs, like ripgrep's `messages.rs`) and the rule a cron job relies on:
//! informational notes (detected log format, assumed trust, configuration notes) are printed
//! only when stderr is a terminal or with `-v`; warnings always, unless `-q`; errors always.
//! A clean cron run therefore prints nothing on stderr, and cron sends no mail.
//!
//! Does not own: the text (callers escape untrusted parts with `report::escape`).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU8, Ordering};

/// How chatty stderr is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbosity {
    /// `-q`: errors only.
    Quiet,
    /// Default: warnings and errors; notes only on a terminal.
    Normal,
    /// `-v`: notes too, terminal or not.
    Verbose,
}

static VERBOSITY: AtomicU8 = AtomicU8::new(1);

/// Sets the verbosity for the rest of the process.
pub fn set(v: Verbosity) {
    let n = match v {
        Verbosity::Quiet => 0,
        Verbosity::Normal => 1,
        Verbosity::Verbose => 2,
    };
    VERBOSITY.store(n, Ordering::Relaxed);
}

fn level() -> u8 {
    VERBOSITY.load(Ordering::Relaxed)
}

/// Whether informational notes are shown.
pub fn notes_shown() -> bool {
    match level() {
        0 => false,
        1 => std::io::stderr().is_terminal(),
        _ => true,
    }
}

/// Whether `-v` was given (lists that are too long for a terminal by default).
pub fn verbose() -> bool {
    level() == 2
}

/// Whether warnings are shown.
pub fn warnings_shown() -> bool {
    level() > 0
}

/// Prints `realip: <text>` as a note (already escaped by the caller).
pub fn note(text: &str) {
    if notes_shown() {
        eprintln!("realip: {text}");
    }
}

/// Prints `realip: warning: <text>` (already escaped by the caller).
pub fn warning(text: &str) {
    if warnings_shown() {
        eprintln!("realip: warning: {text}");
    }
}
