//! The one place where untrusted bytes become terminal-safe text.
//!
//! Owns: turning header values, log fields, paths and config arguments into text that cannot
//! move the cursor, recolour the terminal, reorder a line (bidi controls) or hide characters
//! (zero-width). Invalid UTF-8 becomes `\xNN`, control and format characters become `\u{NNNN}`
//! or the usual short escapes, and a backslash is doubled so the result is unambiguous.
//! Clean text is borrowed, not copied.
//! Does not own: JSON output, which relies on serde's escaping.
//! Sits below every other module (errors, parsers and reports all escape), so it depends on
//! nothing in the crate; `report::escape` is the same module.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Escapes arbitrary bytes for display on a terminal. Borrows when nothing needs escaping.
pub fn escape_bytes(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => escape_str(s),
        Err(_) => Cow::Owned(escape_invalid(bytes)),
    }
}

/// Escapes a string for display on a terminal. Borrows when nothing needs escaping.
pub fn escape_str(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_char(&mut out, c);
    }
    Cow::Owned(out)
}

/// Escapes control, bidi and zero-width characters like [`escape_str`] but leaves backslashes
/// alone: for formats with quoting rules of their own that apply afterwards (Prometheus label
/// values, TSV cells), where a doubled backslash would change the value. Borrows when clean.
pub fn escape_invisible(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| c != '\\' && needs_escape(c)) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c == '\\' {
            out.push(c);
        } else {
            push_char(&mut out, c);
        }
    }
    Cow::Owned(out)
}

fn escape_invalid(mut bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 8);
    loop {
        match std::str::from_utf8(bytes) {
            Ok(s) => {
                for c in s.chars() {
                    push_char(&mut out, c);
                }
                return out;
            }
            Err(e) => {
                let (good, rest) = bytes.split_at(e.valid_up_to());
                // `good` is valid UTF-8 by construction.
                for c in String::from_utf8_lossy(good).chars() {
                    push_char(&mut out, c);
                }
                let bad = e.error_len().unwrap_or(rest.len());
                for b in &rest[..bad] {
                    let _ = write!(out, "\\x{b:02X}");
                }
                bytes = &rest[bad..];
            }
        }
    }
}

fn needs_escape(c: char) -> bool {
    c == '\\'
        || c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

fn push_char(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\t' => out.push_str("\\t"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        c if needs_escape(c) => {
            let _ = write!(out, "\\u{{{:04X}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_text_is_borrowed() {
        assert!(matches!(
            escape_str("203.0.113.7, 34.120.5.6"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(escape_bytes("café".as_bytes()), Cow::Borrowed(_)));
    }

    #[test]
    fn control_bidi_and_zero_width_are_escaped() {
        assert_eq!(escape_str("a\x1b[31mb"), "a\\u{001B}[31mb");
        assert_eq!(escape_str("x\u{202E}y"), "x\\u{202E}y");
        assert_eq!(escape_str("x\u{200B}y"), "x\\u{200B}y");
        assert_eq!(escape_str("\u{85}"), "\\u{0085}");
        assert_eq!(escape_str("a\tb\r\n"), "a\\tb\\r\\n");
        assert_eq!(escape_str("a\\b"), "a\\\\b");
    }

    #[test]
    fn invisible_characters_are_escaped_and_backslashes_kept() {
        assert_eq!(escape_invisible("a\\x22b"), "a\\x22b");
        assert!(matches!(escape_invisible("a\\b"), Cow::Borrowed(_)));
        assert_eq!(
            escape_invisible("\x1b\r\x07\0\u{9B}\u{202E}\u{200B}"),
            "\\u{001B}\\r\\u{0007}\\u{0000}\\u{009B}\\u{202E}\\u{200B}"
        );
    }

    #[test]
    fn invalid_utf8_becomes_hex() {
        assert_eq!(escape_bytes(b"a\xffb\xc3"), "a\\xFFb\\xC3");
        assert_eq!(escape_bytes(b"\xe2\x80\xaeok"), "\\u{202E}ok");
    }
}
