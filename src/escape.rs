//! The one place where untrusted bytes become terminal-safe text.
//!
//! Owns: turning header values, log fields, paths and config arguments into text that cannot
//! move the cursor, recolour the terminal, reorder a line (bidi controls) or hide characters
//! (zero-width). Invalid UTF-8 becomes `\xNN`, control and format characters become `\u{NNNN}`
//! or the usual short escapes, and a backslash is doubled so the result is unambiguous.
//! Clean text is borrowed, not copied.
//! JSON keeps its own quoting (serde's), but every JSON text realip writes goes through
//! [`json_pretty`] / [`json_compact`], whose [`TerminalSafe`] formatter also writes the
//! characters named by [`is_invisible`] as `\uXXXX`: the JSON parses to the same strings, and
//! `cat report.json` cannot reach the terminal with a raw bidi or C1 control.
//! Sits below every other module (errors, parsers and reports all escape), so it depends on
//! nothing in the crate; `report::escape` is the same module.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io;

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter};

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

/// Whether a character must not reach a terminal raw: C0 and C1 controls and DEL (they move
/// the cursor, recolour, or start escape sequences), bidi controls (they reorder what is shown)
/// and zero-width characters (they hide what is there). All lie in the Basic Multilingual Plane.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

fn needs_escape(c: char) -> bool {
    c == '\\' || is_invisible(c)
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

/// A `serde_json` formatter that writes what `F` writes, except that string contents write the
/// characters [`is_invisible`] names as `\uXXXX` escapes (serde already escapes the C0 ones).
/// The JSON stays valid and parses to the identical strings.
#[derive(Clone, Debug)]
pub struct TerminalSafe<F>(pub F);

/// Forwards formatter methods to the wrapped formatter unchanged.
macro_rules! forward {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            #[inline]
            fn $name<W: ?Sized + io::Write>(&mut self, w: &mut W $(, $arg: $ty)*) -> io::Result<()> {
                self.0.$name(w $(, $arg)*)
            }
        )*
    };
}

impl<F: Formatter> Formatter for TerminalSafe<F> {
    forward! {
        write_null();
        write_bool(value: bool);
        write_i8(value: i8);
        write_i16(value: i16);
        write_i32(value: i32);
        write_i64(value: i64);
        write_i128(value: i128);
        write_u8(value: u8);
        write_u16(value: u16);
        write_u32(value: u32);
        write_u64(value: u64);
        write_u128(value: u128);
        write_f32(value: f32);
        write_f64(value: f64);
        write_number_str(value: &str);
        begin_string();
        end_string();
        write_char_escape(char_escape: CharEscape);
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        end_object_key();
        begin_object_value();
        end_object_value();
        write_raw_fragment(fragment: &str);
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some((i, c)) = rest.char_indices().find(|&(_, c)| is_invisible(c)) {
            self.0.write_string_fragment(w, &rest[..i])?;
            // Every such character is in the BMP: one \uXXXX, no surrogate pair.
            write!(w, "\\u{:04x}", u32::from(c))?;
            rest = &rest[i + c.len_utf8()..];
        }
        self.0.write_string_fragment(w, rest)
    }
}

/// `value` as pretty-printed JSON (two-space indent, like `serde_json::to_string_pretty`),
/// terminal-safe (see [`TerminalSafe`]).
pub fn json_pretty<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    json_with(value, serde_json::ser::PrettyFormatter::new())
}

/// `value` as compact JSON (like `serde_json::to_string`), terminal-safe (see
/// [`TerminalSafe`]).
pub fn json_compact<T: Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    json_with(value, serde_json::ser::CompactFormatter)
}

fn json_with<T: Serialize + ?Sized, F: Formatter>(
    value: &T,
    formatter: F,
) -> serde_json::Result<String> {
    let mut out = Vec::with_capacity(256);
    value.serialize(&mut serde_json::Serializer::with_formatter(
        &mut out,
        TerminalSafe(formatter),
    ))?;
    // serde_json writes UTF-8 only, and the escapes added here are ASCII.
    Ok(String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
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

    /// Every character [`is_invisible`] names, plus text around them.
    fn hostile() -> String {
        let mut s = String::from("é\"\\/<x>\u{2028}😀 ");
        for c in ('\0'..='\u{FFFF}').filter(|&c| is_invisible(c)) {
            s.push(c);
            s.push('a');
        }
        s
    }

    #[test]
    fn json_round_trips_with_no_raw_invisible_character() {
        let value = serde_json::json!({
            hostile(): [hostile(), 1, -2.5, null, true, {"k": "\u{202E}evil\u{9B}31m"}],
            "clean": "203.0.113.7",
        });
        for text in [json_pretty(&value).unwrap(), json_compact(&value).unwrap()] {
            // Raw newlines are the pretty printer's own; every other control is escaped.
            assert!(
                !text.chars().any(|c| c != '\n' && is_invisible(c)),
                "{text:?}"
            );
            let back: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(back, value);
        }
        assert!(json_compact(&"\u{202E}\u{85}\u{7F}\u{200E}")
            .unwrap()
            .eq("\"\\u202e\\u0085\\u007f\\u200e\""));
    }

    #[test]
    fn json_without_invisible_characters_is_serde_json_byte_for_byte() {
        let value =
            serde_json::json!({"a": [1, 2.5, "x\"\\\n\u{1}é😀"], "b": {}, "c": [], "d": null});
        assert_eq!(
            json_pretty(&value).unwrap(),
            serde_json::to_string_pretty(&value).unwrap()
        );
        assert_eq!(
            json_compact(&value).unwrap(),
            serde_json::to_string(&value).unwrap()
        );
    }
}
