//! The line parser specialised for the predefined templates (`combined`, `main`, `realip`).
//!
//! Owns: one straight-line parser per predefined template, generated from the template's
//! list of (field, literal that ends it) by [`preset!`], in which every literal is a
//! constant: its first byte, the word pattern of the search and the comparison of its other
//! bytes are folded in at compile time, and no per-value step is read from a table. Values
//! with a usual shape are tried in it first, with a comparison instead of a search:
//! `$remote_user` and `$http_referer` as `-`, `$time_local` as 26 bytes, `$status` as three
//! digits and `$request_time` as `d.ddd` (their numbers are read there and kept in the
//! record).
//! Does not own: the rules (`line.rs`'s, matched exactly: a value runs to the first
//! occurrence of the literal after it, the final literal must end the line), error reports
//! (a line these parsers refuse is handed to `line.rs`, which says where and why), other
//! templates (`line.rs`), or the literal search itself ([`find_byte`]).
//!
//! Why: the generic parser pays, for each of a line's twelve values, a loop step, a jump
//! on the literal's shape and the loads of its search constants; on the formats nearly
//! every log uses that was a third of the parser's instructions.

use super::record::{short_seconds_us, status_digits};
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
    /// line or of what it held. `outside_clear`: the fields outside the template are known
    /// to be absent already (a new record, or one only this template has written since), so
    /// only the values derived from fields are forgotten.
    #[inline(always)]
    pub(crate) fn parse<'a>(
        self,
        line: &'a [u8],
        rec: &mut Record<'a>,
        outside_clear: bool,
    ) -> bool {
        match self {
            Preset::Combined => combined(line, rec, outside_clear),
            Preset::Main => main(line, rec, outside_clear),
            Preset::Realip => realip(line, rec, outside_clear),
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
    /// The next value, up to the first occurrence of `lit` (not empty). Fields with a usual
    /// shape are tried in that shape first, which costs a comparison instead of a search:
    /// `$remote_user` and `$http_referer` are most often `-`, `$time_local` is 26 bytes,
    /// `$status` three digits, `$request_time` `d.ddd`.
    #[inline(always)]
    fn value<const N: usize>(
        &mut self,
        rec: &mut Record<'a>,
        field: Field,
        lit: &'static [u8; N],
    ) -> bool {
        if field == Field::Status {
            if let Some((value, after, status)) = status_then(self.rest, lit) {
                rec.put(field, value);
                rec.know_status(status);
                self.rest = after;
                return true;
            }
        }
        if field == Field::RequestTime {
            if let Some((value, after, us)) = seconds_then(self.rest, lit) {
                rec.put(field, value);
                rec.know_request_time(us);
                self.rest = after;
                return true;
            }
        }
        let usual = match field {
            Field::RemoteUser | Field::HttpReferer => dash_then(self.rest, lit),
            Field::TimeLocal => sized_then::<TIME_LOCAL_BYTES, N>(self.rest, lit),
            _ => None,
        };
        let found = match usual {
            Some(split) => Some(split),
            None => split_at_lit(self.rest, lit),
        };
        let Some((value, after)) = found else {
            return false;
        };
        rec.put(field, value);
        self.rest = after;
        true
    }

    /// The last value: up to `lit`, which must end the line (or to the end of the line
    /// when `lit` is empty).
    #[inline(always)]
    fn last<const N: usize>(
        &mut self,
        rec: &mut Record<'a>,
        field: Field,
        lit: &'static [u8; N],
    ) -> bool {
        let value = if N == 0 {
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

/// The length of every `$time_local` (`10/Oct/2000:13:55:36 -0700`).
const TIME_LOCAL_BYTES: usize = 26;

/// `hay` split as [`split_at_lit`] splits it when it starts with `-` and `lit`: the value
/// `-` (a `-` is not the literal's first byte in any predefined template, so the literal
/// cannot start earlier).
#[inline(always)]
fn dash_then<'a, const N: usize>(
    hay: &'a [u8],
    lit: &'static [u8; N],
) -> Option<(&'a [u8], &'a [u8])> {
    const { assert!(N > 0) };
    let (value, rest) = hay.split_first_chunk::<1>()?;
    let (head, after) = rest.split_first_chunk::<N>()?;
    (value == b"-" && lit[0] != b'-' && head == lit).then_some((&value[..], after))
}

/// `hay` split as [`split_at_lit`] splits it when it starts with three digits and `lit` (not
/// a digit, so it cannot start earlier), and the status the digits spell, read once here
/// instead of in a check after the parse ([`status_digits`]).
#[inline(always)]
fn status_then<'a, const N: usize>(
    hay: &'a [u8],
    lit: &'static [u8; N],
) -> Option<(&'a [u8], &'a [u8], Option<u16>)> {
    const { assert!(N > 0) };
    let (value, rest) = hay.split_first_chunk::<3>()?;
    let (head, after) = rest.split_first_chunk::<N>()?;
    if lit[0].is_ascii_digit() || head != lit {
        return None;
    }
    Some((&value[..], after, status_digits(*value)?))
}

/// `hay` split as [`split_at_lit`] splits it when it starts with `d.ddd` seconds and `lit`
/// (neither a digit nor a dot, so it cannot start earlier), and those seconds in
/// microseconds, read once here instead of in a check after the parse
/// ([`short_seconds_us`]).
#[inline(always)]
fn seconds_then<'a, const N: usize>(
    hay: &'a [u8],
    lit: &'static [u8; N],
) -> Option<(&'a [u8], &'a [u8], u64)> {
    const { assert!(N > 0) };
    let (value, rest) = hay.split_first_chunk::<5>()?;
    let (head, after) = rest.split_first_chunk::<N>()?;
    if lit[0].is_ascii_digit() || lit[0] == b'.' || head != lit {
        return None;
    }
    Some((&value[..], after, short_seconds_us(*value)?))
}

/// `hay` split as [`split_at_lit`] splits it when its first `W` bytes (16 to 32) are
/// followed by `lit` and do not hold the literal's first byte (so that the literal cannot
/// start earlier): two overlapping blocks tested instead of a search.
#[inline(always)]
fn sized_then<'a, const W: usize, const N: usize>(
    hay: &'a [u8],
    lit: &'static [u8; N],
) -> Option<(&'a [u8], &'a [u8])> {
    const { assert!(N > 0 && W >= 16 && W <= 32) };
    let (value, rest) = hay.split_first_chunk::<W>()?;
    let (head, after) = rest.split_first_chunk::<N>()?;
    if head != lit || holds_byte(value, lit[0]) {
        return None;
    }
    Some((&value[..], after))
}

/// Whether 16 to 32 bytes hold `byte`: their first 16 and their last 16 tested at once.
#[inline(always)]
fn holds_byte<const W: usize>(bytes: &[u8; W], byte: u8) -> bool {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if let (Some(a), Some(b)) = (bytes.first_chunk::<16>(), bytes.last_chunk::<16>()) {
        let needle = Needle::new(byte);
        return needle.in_block(a) | needle.in_block(b) != 0;
    }
    bytes.contains(&byte)
}

/// `hay` split around the first occurrence of `lit` (a constant, not empty): the text before
/// it and the text after it. Slices rather than positions, so that each step is checked once.
#[inline(always)]
fn split_at_lit<'a, const N: usize>(
    hay: &'a [u8],
    lit: &'static [u8; N],
) -> Option<(&'a [u8], &'a [u8])> {
    let first = Needle::new(*lit.first()?);
    let at = find_byte(&first, hay)?;
    // One bounds check for the value and the literal after it.
    if let Some((head, after)) = hay.split_at_checked(at + N) {
        if let Some((value, found)) = head.split_last_chunk::<N>() {
            if found == lit {
                return Some((value, after));
            }
        }
    }
    let at = find_lit_after(hay, at + 1, &first, lit)?;
    let (value, from) = hay.split_at_checked(at)?;
    Some((value, from.get(N..)?))
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
        fn $name<'a>(line: &'a [u8], rec: &mut Record<'a>, outside_clear: bool) -> bool {
            // Only the fields this template does not write need clearing.
            const WRITTEN: u64 = 0 $(| 1u64 << (Field::$field as usize))+;
            if outside_clear {
                rec.forget_derived(WRITTEN);
            } else {
                rec.clear_outside(WRITTEN);
            }
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

    /// The usual shapes tried first split a value exactly where the search does, or not at
    /// all: every text of up to six bytes over the literals' bytes for the `-` value.
    #[test]
    fn a_dash_value_is_split_like_the_search_splits_it() {
        let alphabet = [b'-', b' ', b'[', b'"', b']', b'a'];
        let mut found = 0;
        for len in 0..=6u32 {
            for code in 0..6usize.pow(len) {
                let hay: Vec<u8> = (0..len)
                    .map(|i| alphabet[code / 6usize.pow(i) % 6])
                    .collect();
                for (got, want) in [
                    (dash_then(&hay, b" ["), split_at_lit(&hay, b" [")),
                    (dash_then(&hay, b"\" \""), split_at_lit(&hay, b"\" \"")),
                    (dash_then(&hay, b" "), split_at_lit(&hay, b" ")),
                ] {
                    if got.is_some() {
                        found += 1;
                        assert_eq!(got, want, "{hay:?}");
                        assert_eq!(got.map(|(v, _)| v), Some(&b"-"[..]));
                    }
                }
            }
        }
        assert!(found > 100, "{found}");
    }

    /// `$status` and `$request_time` read in their usual shape split where the search splits
    /// and read the numbers the record's own parsers read: every text of up to seven bytes
    /// over digits, a dot, a space and a letter.
    #[test]
    fn numbers_in_their_usual_shape_are_split_and_read_like_the_search_and_the_record() {
        let alphabet = [b'0', b'9', b'.', b' ', b'a'];
        let (mut statuses, mut seconds) = (0, 0);
        for len in 0..=7u32 {
            for code in 0..5usize.pow(len) {
                let hay: Vec<u8> = (0..len)
                    .map(|i| alphabet[code / 5usize.pow(i) % 5])
                    .collect();
                if let Some((value, after, status)) = status_then(&hay, b" ") {
                    statuses += 1;
                    assert_eq!(Some((value, after)), split_at_lit(&hay, b" "), "{hay:?}");
                    let mut rec = Record::new();
                    rec.set(Field::Status, value);
                    assert_eq!(rec.status(), status, "{hay:?}");
                    assert_eq!(rec.parse_status_digits(), Ok(()), "{hay:?}");
                }
                if let Some((value, after, us)) = seconds_then(&hay, b" ") {
                    seconds += 1;
                    assert_eq!(Some((value, after)), split_at_lit(&hay, b" "), "{hay:?}");
                    assert_eq!(
                        crate::logfmt::record::parse_seconds_us(value),
                        Some(us),
                        "{hay:?}"
                    );
                }
            }
        }
        assert!(statuses > 100 && seconds > 10, "{statuses} {seconds}");
    }

    proptest::proptest! {
        /// A value of a fixed width is split exactly where the search splits it, or not at
        /// all; with the literal at that width and not before, always.
        #[test]
        fn a_sized_value_is_split_like_the_search_splits_it(
            hay in proptest::collection::vec(proptest::sample::select(vec![b']', b' ', b'"', b'a', b'-']), 0..40),
            at in 0usize..40,
        ) {
            let mut hay = hay;
            for (got, want) in [
                (sized_then::<26, 3>(&hay, b"] \""), split_at_lit(&hay, b"] \"")),
                (sized_then::<16, 3>(&hay, b"] \""), split_at_lit(&hay, b"] \"")),
                (sized_then::<32, 2>(&hay, b"\" "), split_at_lit(&hay, b"\" ")),
            ] {
                proptest::prop_assert!(got.is_none() || got == want, "{:?}", hay);
            }
            // The usual line: 26 bytes without `]`, then the literal.
            hay.retain(|&b| b != b']');
            hay.resize(26, b'a');
            hay.extend_from_slice(b"] \" x");
            if let Some(b) = hay.get_mut(26 + 3 + at) {
                *b = b']';
            }
            let got = sized_then::<26, 3>(&hay, b"] \"");
            proptest::prop_assert!(got.is_some());
            proptest::prop_assert_eq!(got, split_at_lit(&hay, b"] \""));
        }
    }

    /// A literal is found at its first occurrence, past partial matches of it, and the
    /// text is split around it.
    #[test]
    fn literals_are_found_at_their_first_whole_occurrence() {
        assert_eq!(
            split_at_lit(b"ab\" \"c\" \"", b"\" \""),
            Some((&b"ab"[..], &b"c\" \""[..]))
        );
        assert_eq!(
            split_at_lit(b"a\"b\" c\" \"", b"\" \""),
            Some((&b"a\"b\" c"[..], &b""[..]))
        );
        assert_eq!(split_at_lit(b"a\" ", b"\" \""), None);
        assert_eq!(split_at_lit(b"a\"", b"\" \""), None);
        assert_eq!(split_at_lit(b"", b" "), None);
        assert_eq!(split_at_lit(b" ", b" "), Some((&b""[..], &b""[..])));
        assert_eq!(
            split_at_lit(b"x\"\"\" y", b"\" "),
            Some((&b"x\"\""[..], &b"y"[..]))
        );
    }
}
