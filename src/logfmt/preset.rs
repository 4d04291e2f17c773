//! The line parser specialised for the predefined templates (`combined`, `main`, `realip`).
//!
//! Owns: one straight-line parser per predefined template, generated from the template's
//! list of (field, literal that ends it) by [`preset!`], in which every literal is a
//! constant: its first byte, the word pattern of the search and the comparison of its other
//! bytes are folded in at compile time, and no per-value step is read from a table.
//! Does not own: the rules (`line.rs`'s, matched exactly: a value runs to the first
//! occurrence of the literal after it, the final literal must end the line), error reports
//! (a line these parsers refuse is handed to `line.rs`, which says where and why), other
//! templates (`line.rs`), or the literal search itself ([`find_byte`]).
//!
//! Why: the generic parser pays, for each of a line's twelve values, a loop step, a jump
//! on the literal's shape and the loads of its search constants; on the formats nearly
//! every log uses that was a third of the parser's instructions.

use super::template::{find_byte, Needle};
use super::{Field, Record};

/// A predefined template with a specialised parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Preset {
    Combined,
    Main,
    Realip,
}

impl Preset {
    /// The preset whose template text is `text`, if any.
    pub(crate) fn of(text: &str) -> Option<Preset> {
        match text {
            super::COMBINED => Some(Preset::Combined),
            super::MAIN => Some(Preset::Main),
            super::REALIP => Some(Preset::Realip),
            _ => None,
        }
    }

    /// Parses a non-empty line without its line ending into `rec`, whatever it held: the
    /// fields outside the template are cleared, the template's own are each written when the
    /// line matches. `false` when the line does not match; `rec` may then hold part of the
    /// line or of what it held.
    #[inline(always)]
    pub(crate) fn parse<'a>(self, line: &'a [u8], rec: &mut Record<'a>) -> bool {
        match self {
            Preset::Combined => combined(line, rec),
            Preset::Main => main(line, rec),
            Preset::Realip => realip(line, rec),
        }
    }

    /// The template's values in order, each with the literal that ends it (empty: the
    /// value runs to the end of the line).
    #[cfg(test)]
    fn slots(self) -> &'static [(Field, &'static [u8])] {
        match self {
            Preset::Combined => COMBINED_SLOTS,
            Preset::Main => MAIN_SLOTS,
            Preset::Realip => REALIP_SLOTS,
        }
    }
}

/// Where the parse of one line stands: the rest of the line.
struct Cursor<'a> {
    rest: &'a [u8],
}

impl<'a> Cursor<'a> {
    /// The next value, up to the first occurrence of `lit` (not empty).
    #[inline(always)]
    fn value(&mut self, rec: &mut Record<'a>, field: Field, lit: &'static [u8]) -> bool {
        let Some((value, after)) = split_at_lit(self.rest, lit) else {
            return false;
        };
        rec.put(field, value);
        self.rest = after;
        true
    }

    /// The last value: up to `lit`, which must end the line (or to the end of the line
    /// when `lit` is empty).
    #[inline(always)]
    fn last(&mut self, rec: &mut Record<'a>, field: Field, lit: &'static [u8]) -> bool {
        let value = if lit.is_empty() {
            self.rest
        } else {
            match split_at_lit(self.rest, lit) {
                Some((value, [])) => value,
                _ => return false,
            }
        };
        rec.put(field, value);
        true
    }
}

/// `hay` split around the first occurrence of `lit` (a constant, not empty): the text before
/// it and the text after it. Slices rather than positions, so that each step is checked once.
#[inline(always)]
fn split_at_lit<'a>(hay: &'a [u8], lit: &'static [u8]) -> Option<(&'a [u8], &'a [u8])> {
    let first = Needle::new(*lit.first()?);
    let at = find_byte(&first, hay)?;
    let (value, from) = hay.split_at_checked(at)?;
    if let Some(after) = from.strip_prefix(lit) {
        return Some((value, after));
    }
    let at = find_lit_after(hay, at + 1, &first, lit)?;
    let (value, from) = hay.split_at_checked(at)?;
    Some((value, from.get(lit.len()..)?))
}

/// The first occurrence of `lit` in `hay` from `from` on, after an occurrence of the
/// literal's first byte that did not start the literal. Out of line: that is rare, and the
/// loop made every search set up for it.
#[inline(never)]
fn find_lit_after(hay: &[u8], mut from: usize, first: &Needle, lit: &[u8]) -> Option<usize> {
    loop {
        let at = from + find_byte(first, hay.get(from..)?)?;
        if hay.get(at..).is_some_and(|rest| rest.starts_with(lit)) {
            return Some(at);
        }
        from = at + 1;
    }
}

/// Generates a preset's parser and, for the test that ties it to the template text, its
/// list of slots, from one list.
macro_rules! preset {
    ($name:ident, $slots:ident, [$(($field:ident, $lit:literal)),+ $(,)?]) => {
        #[cfg(test)]
        const $slots: &[(Field, &[u8])] = &[$((Field::$field, $lit)),+];

        #[inline(always)]
        fn $name<'a>(line: &'a [u8], rec: &mut Record<'a>) -> bool {
            // Only the fields this template does not write need clearing.
            const WRITTEN: u64 = 0 $(| 1u64 << (Field::$field as usize))+;
            rec.clear_outside(WRITTEN);
            let mut c = Cursor { rest: line };
            preset!(@steps c, rec, $(($field, $lit)),+)
        }
    };
    (@steps $c:ident, $rec:ident, ($field:ident, $lit:literal)) => {
        $c.last($rec, Field::$field, $lit)
    };
    (@steps $c:ident, $rec:ident, ($field:ident, $lit:literal), $($more:tt)+) => {
        $c.value($rec, Field::$field, $lit) && preset!(@steps $c, $rec, $($more)+)
    };
}

preset!(
    combined,
    COMBINED_SLOTS,
    [
        (RemoteAddr, b" - "),
        (RemoteUser, b" ["),
        (TimeLocal, b"] \""),
        (Request, b"\" "),
        (Status, b" "),
        (BodyBytesSent, b" \""),
        (HttpReferer, b"\" \""),
        (HttpUserAgent, b"\""),
    ]
);

preset!(
    main,
    MAIN_SLOTS,
    [
        (RemoteAddr, b" - "),
        (RemoteUser, b" ["),
        (TimeLocal, b"] \""),
        (Request, b"\" "),
        (Status, b" "),
        (BodyBytesSent, b" \""),
        (HttpReferer, b"\" \""),
        (HttpUserAgent, b"\" \""),
        (HttpXForwardedFor, b"\""),
    ]
);

preset!(
    realip,
    REALIP_SLOTS,
    [
        (RemoteAddr, b" - "),
        (RemoteUser, b" ["),
        (TimeLocal, b"] \""),
        (Request, b"\" "),
        (Status, b" "),
        (BodyBytesSent, b" \""),
        (HttpReferer, b"\" \""),
        (HttpUserAgent, b"\" \""),
        (HttpXForwardedFor, b"\" "),
        (RealipRemoteAddr, b" "),
        (RequestTime, b" "),
        (UpstreamResponseTime, b""),
    ]
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logfmt::template::Template;

    /// Each specialised parser follows its template exactly: the same values in the same
    /// order, each ended by the same literal, and no leading literal.
    #[test]
    fn each_preset_follows_its_template() {
        for (text, preset) in [
            (super::super::COMBINED, Preset::Combined),
            (super::super::MAIN, Preset::Main),
            (super::super::REALIP, Preset::Realip),
        ] {
            assert_eq!(Preset::of(text), Some(preset));
            let t = Template::compile(text).unwrap();
            assert!(t.head.bytes.is_empty(), "{text}");
            let from_template: Vec<(Option<Field>, Vec<u8>)> = t
                .slots
                .iter()
                .map(|s| (s.var.field, s.until.bytes.to_vec()))
                .collect();
            let specialised: Vec<(Option<Field>, Vec<u8>)> = preset
                .slots()
                .iter()
                .map(|(f, lit)| (Some(*f), lit.to_vec()))
                .collect();
            assert_eq!(from_template, specialised, "{text}");
        }
        assert_eq!(Preset::of("$remote_addr"), None);
    }

    /// A literal is found at its first occurrence, past partial matches of it, and the
    /// text is split around it.
    #[test]
    fn literals_are_found_at_their_first_whole_occurrence() {
        let split = |hay: &'static [u8], lit| split_at_lit(hay, lit);
        assert_eq!(
            split(b"ab\" \"c\" \"", b"\" \""),
            Some((&b"ab"[..], &b"c\" \""[..]))
        );
        assert_eq!(
            split(b"a\"b\" c\" \"", b"\" \""),
            Some((&b"a\"b\" c"[..], &b""[..]))
        );
        assert_eq!(split(b"a\" ", b"\" \""), None);
        assert_eq!(split(b"a\"", b"\" \""), None);
        assert_eq!(split(b"", b" "), None);
        assert_eq!(split(b" ", b" "), Some((&b""[..], &b""[..])));
        assert_eq!(
            split(b"x\"\"\" y", b"\" "),
            Some((&b"x\"\""[..], &b"y"[..]))
        );
    }
}
