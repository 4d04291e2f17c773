//! Compiling an nginx `log_format` template into the steps the line parser follows.
//!
//! Owns: the template grammar (nom, run once per template, never per line), its error
//! messages (column + offending text, like nginx's own `ngx_http_log_compile`), and the
//! compiled `Template`: a leading literal, then one `Slot` per variable, each ended by the
//! literal that follows it, with a `memmem` finder built once for long literals.
//! Does not own: applying the template to lines (`line.rs` fast, `reference.rs` slow),
//! reading `log_format` out of nginx.conf (`nginx/log_format.rs`), field meanings (`record`).
//!
//! The grammar is nginx's: `$name` or `${name}` with `name` made of `[A-Za-z0-9_]` (nginx
//! lower-cases it), everything else literal. Two variables with nothing between them cannot be
//! split apart and are refused, as is a newline (it would spread each entry over two lines).

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use memchr::memmem::Finder;
use nom::branch::alt;
use nom::bytes::complete::{is_not, tag, take_while1};
use nom::combinator::map;
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};

use super::Field;
use crate::escape::escape_str;
use crate::Error;

/// One piece of a template, as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// Text that appears verbatim in every line.
    Literal(String),
    /// A variable.
    Var(Var),
}

/// A template variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Var {
    /// The name without `$`, lower-cased as nginx does.
    pub name: &'static str,
    /// The field it fills, or `None` for a variable realip does not interpret (its value is
    /// matched and skipped).
    pub field: Option<Field>,
}

/// A literal with its precompiled substring finder.
#[derive(Clone, Debug)]
pub(crate) struct Lit {
    pub(crate) bytes: Box<[u8]>,
    pub(crate) finder: Finder<'static>,
    /// The literal as shown in error messages (see [`intern`]).
    pub(crate) label: Option<&'static str>,
    shape: Shape,
}

/// Literals of up to this many bytes are found with [`find_byte`] on their first byte and a
/// byte-by-byte comparison of the rest; longer ones with the `memmem` finder. Values are
/// short, and both the finder's per-call setup and a libc `memcmp` call cost more than the
/// few bytes they look at (comparing inline made `combined` 2.4× faster).
const SHORT_LITERAL: usize = 5;

/// How [`Lit::find`] searches, decided once when the template is compiled.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// The empty literal (a variable that ends the template).
    Empty,
    /// One byte: [`find_byte`].
    Byte(Needle),
    /// A short literal: its first byte, then the rest (little-endian in a word, and the
    /// mask of its bytes) compared in place.
    Short(Needle, u32, u32),
    /// The precompiled `memmem` finder.
    Long,
}

impl Lit {
    /// The position of the first occurrence of the literal in `hay`. Inlined into the line
    /// parser: a call per value cost more than most searches.
    #[inline(always)]
    pub(crate) fn find(&self, hay: &[u8]) -> Option<usize> {
        match self.shape {
            Shape::Byte(ref byte) => find_byte(byte, hay),
            Shape::Short(ref first, rest, mask) => Self::find_short(first, rest, mask, hay),
            Shape::Empty => Some(0),
            Shape::Long => self.finder.find(hay),
        }
    }

    #[inline(always)]
    fn find_short(first: &Needle, rest: u32, mask: u32, hay: &[u8]) -> Option<usize> {
        let at = find_byte(first, hay)?;
        if Self::rest_follows(rest, mask, hay, at) {
            return Some(at);
        }
        Self::find_short_after(first, rest, mask, hay, at + 1)
    }

    /// [`Lit::find_short`] from `from` on, after an occurrence of the literal's first byte
    /// that did not start the literal. Out of line: that is rare, and the loop made every
    /// search set up for it.
    #[inline(never)]
    fn find_short_after(
        first: &Needle,
        rest: u32,
        mask: u32,
        hay: &[u8],
        mut from: usize,
    ) -> Option<usize> {
        loop {
            let at = from + find_byte(first, hay.get(from..)?)?;
            if Self::rest_follows(rest, mask, hay, at) {
                return Some(at);
            }
            from = at + 1;
        }
    }

    /// Whether the short literal's bytes after the first (`rest` under `mask`) follow
    /// `hay[at]`: the (at most four) bytes compared as one word.
    #[inline(always)]
    fn rest_follows(rest: u32, mask: u32, hay: &[u8], at: usize) -> bool {
        let Some(after) = hay.get(at + 1..) else {
            return false;
        };
        match after.first_chunk::<4>() {
            Some(four) => u32::from_le_bytes(*four) & mask == rest,
            None => tail_starts_with(after, rest, mask),
        }
    }

    fn new(text: &str) -> Lit {
        let bytes = text.as_bytes();
        let shape = match *bytes {
            [] => Shape::Empty,
            [byte] => Shape::Byte(Needle::new(byte)),
            [first, ref rest @ ..] if rest.len() < SHORT_LITERAL => Shape::Short(
                Needle::new(first),
                rest.iter().rev().fold(0, |w, &b| (w << 8) | u32::from(b)),
                u32::MAX >> (8 * (4 - rest.len())),
            ),
            _ => Shape::Long,
        };
        Lit {
            bytes: bytes.into(),
            finder: Finder::new(bytes).into_owned(),
            label: intern(text),
            shape,
        }
    }
}

/// A byte to search for, with the patterns the searches compare against built once, when
/// the template is compiled, instead of at every search.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Needle {
    /// The byte in every byte of a word (the word-at-a-time test).
    word: u64,
    /// The byte in every lane of a vector (the SSE2 search).
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    lanes: safe_arch::m128i,
}

impl Needle {
    /// The needle for `byte`; inlined, so that a constant byte's patterns are constants.
    #[inline(always)]
    pub(crate) fn new(byte: u8) -> Needle {
        Needle {
            word: LO * u64::from(byte),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            lanes: safe_arch::set_splat_i8_m128i(i8::from_ne_bytes([byte])),
        }
    }

    /// The byte, as [`Needle::new`] was given it.
    fn byte(&self) -> u8 {
        self.word.to_le_bytes()[0]
    }

    /// The bytes of `word` equal to the needle, as their top bits: exact for the lowest one;
    /// a byte above a match may show falsely (a borrow only runs upwards from a true match).
    #[inline(always)]
    fn in_word(&self, word: &[u8; 8]) -> u64 {
        let x = u64::from_le_bytes(*word) ^ self.word;
        x.wrapping_sub(LO) & !x & HI
    }

    /// The bytes of `block` equal to the needle, one bit each (bit `i` for byte `i`).
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    #[inline(always)]
    pub(crate) fn in_block(&self, block: &[u8; 16]) -> u32 {
        use safe_arch::{cmp_eq_mask_i8_m128i, load_unaligned_m128i, move_mask_i8_m128i};
        let eq = cmp_eq_mask_i8_m128i(load_unaligned_m128i(block), self.lanes);
        move_mask_i8_m128i(eq) as u32
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// The first occurrence of the needle's byte in `hay`, without calls: a `memchr` call (not
/// inlined, dispatched at run time, vector set-up) cost about 100 instructions, several times
/// a search of the few to 120 bytes a value has. With SSE2 (every x86-64 has it), 16 bytes, then
/// 32 at a time (two blocks, one test); the last, partial block is the slice's last 16
/// bytes, overlapping bytes already searched, so nothing past the slice is read. Under 16
/// bytes, a word at a time.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
pub(crate) fn find_byte(needle: &Needle, hay: &[u8]) -> Option<usize> {
    let Some(block) = hay.first_chunk::<16>() else {
        return find_byte_in_short(needle, hay);
    };
    let found = needle.in_block(block);
    if found != 0 {
        return Some(found.trailing_zeros() as usize);
    }
    // Then two blocks per step, then a block left over, if any.
    let mut at = 16;
    while let Some(pair) = hay.get(at..).and_then(<[u8]>::first_chunk::<32>) {
        let (a, b) = pair.split_at(16);
        let found = needle.in_block(a.try_into().ok()?) | needle.in_block(b.try_into().ok()?) << 16;
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize);
        }
        at += 32;
    }
    if let Some(block) = hay.get(at..).and_then(<[u8]>::first_chunk::<16>) {
        let found = needle.in_block(block);
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize);
        }
        at += 16;
    }
    if at == hay.len() {
        return None;
    }
    let from = hay.len() - 16;
    let block = hay.last_chunk::<16>()?;
    let found = needle.in_block(block);
    (found != 0).then(|| from + found.trailing_zeros() as usize)
}

/// [`find_byte`] without SSE2.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
pub(crate) fn find_byte(needle: &Needle, hay: &[u8]) -> Option<usize> {
    find_byte_by_words(needle, hay)
}

/// [`find_byte`] on targets without SSE2: the first 16 bytes a word at a time, the rest with
/// `memchr`. Compiled (and tested) on every target.
#[cfg_attr(
    all(target_arch = "x86_64", target_feature = "sse2"),
    allow(dead_code, reason = "the SSE2 search is used instead; tested here too")
)]
#[inline(always)]
fn find_byte_by_words(needle: &Needle, hay: &[u8]) -> Option<usize> {
    if let (Some(first), Some(second)) = (
        hay.first_chunk::<8>(),
        hay.get(8..).and_then(<[u8]>::first_chunk::<8>),
    ) {
        let found = needle.in_word(first);
        if found != 0 {
            return Some((found.trailing_zeros() / 8) as usize);
        }
        let found = needle.in_word(second);
        if found != 0 {
            return Some(8 + (found.trailing_zeros() / 8) as usize);
        }
        return memchr::memchr(needle.byte(), &hay[16..]).map(|i| i + 16);
    }
    find_byte_in_short(needle, hay)
}

/// [`find_byte`] in fewer than 16 bytes: the first eight as one word, then the last eight
/// (overlapping the first, which hold no match, so the lowest flagged byte is still the first
/// match); under eight bytes, one at a time.
#[inline(always)]
fn find_byte_in_short(needle: &Needle, hay: &[u8]) -> Option<usize> {
    let (Some(first), Some(last)) = (hay.first_chunk::<8>(), hay.last_chunk::<8>()) else {
        let byte = needle.byte();
        return hay.iter().position(|&b| b == byte);
    };
    let found = needle.in_word(first);
    if found != 0 {
        return Some((found.trailing_zeros() / 8) as usize);
    }
    let found = needle.in_word(last);
    (found != 0).then(|| hay.len() - 8 + (found.trailing_zeros() / 8) as usize)
}

/// Whether `tail`, the last (fewer than four) bytes of a line, starts with the rest of a
/// short literal (`rest` and `mask` of [`Shape::Short`]). Out of line: a literal this close to
/// the end of the line is rare.
#[cold]
#[inline(never)]
fn tail_starts_with(tail: &[u8], rest: u32, mask: u32) -> bool {
    let len = (mask.count_ones() / 8) as usize;
    tail.get(..len) == rest.to_le_bytes().get(..len)
}

/// A variable and the literal that ends its value.
#[derive(Clone, Debug)]
pub(crate) struct Slot {
    pub(crate) var: Var,
    /// The literal after the variable. Empty only for a variable that ends the template.
    pub(crate) until: Lit,
}

/// A compiled template: `head`, then each slot's value followed by its `until` literal.
#[derive(Clone, Debug)]
pub(crate) struct Template {
    pub(crate) pieces: Box<[Piece]>,
    pub(crate) head: Lit,
    /// Never empty: a template without variables does not compile.
    pub(crate) slots: Box<[Slot]>,
}

/// A template piece as the grammar sees it.
enum Raw<'t> {
    Literal(&'t str),
    Var(&'t str),
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// One piece: a run of literal text, `${name}` or `$name`.
fn piece(input: &str) -> IResult<&str, Raw<'_>> {
    alt((
        map(is_not("$"), Raw::Literal),
        map(
            delimited(tag("${"), take_while1(is_name_char), tag("}")),
            Raw::Var,
        ),
        map(preceded(tag("$"), take_while1(is_name_char)), Raw::Var),
    ))
    .parse(input)
}

impl Template {
    /// Compiles `text`, an nginx `log_format` template.
    pub(crate) fn compile(text: &str) -> Result<Template, Error> {
        if text.is_empty() {
            return Err(template_error(text, 0, text, "the template is empty"));
        }
        let mut pieces: Vec<Piece> = Vec::new();
        // Byte offset of the previous piece when it was a variable, for the adjacency error.
        let mut prev_var_at: Option<usize> = None;
        let mut rest = text;
        while !rest.is_empty() {
            let at = text.len() - rest.len();
            let Ok((after, raw)) = piece(rest) else {
                return Err(bad_dollar(text, at));
            };
            let consumed = &rest[..rest.len() - after.len()];
            match raw {
                Raw::Literal(lit) => {
                    if let Some(nl) = lit.find(['\n', '\r']) {
                        return Err(template_error(
                            text,
                            at + nl,
                            &lit[nl..nl + 1],
                            "a line break in the template would spread every entry over \
                             several lines; realip reads one entry per line",
                        ));
                    }
                    pieces.push(Piece::Literal(lit.to_owned()));
                    prev_var_at = None;
                }
                Raw::Var(name) => {
                    if let Some(start) = prev_var_at {
                        let both = &text[start..at + consumed.len()];
                        return Err(template_error(
                            text,
                            start,
                            both,
                            &format!("ambiguous: {both} need a separator"),
                        ));
                    }
                    pieces.push(Piece::Var(var(name)));
                    prev_var_at = Some(at);
                }
            }
            rest = after;
        }
        Template::from_pieces(text, pieces)
    }

    fn from_pieces(text: &str, pieces: Vec<Piece>) -> Result<Template, Error> {
        let mut iter = pieces.iter().peekable();
        let head = match iter.next_if(|p| matches!(p, Piece::Literal(_))) {
            Some(Piece::Literal(l)) => Lit::new(l),
            _ => Lit::new(""),
        };
        let mut slots = Vec::new();
        while let Some(p) = iter.next() {
            if let Piece::Var(var) = p {
                let until = match iter.next_if(|p| matches!(p, Piece::Literal(_))) {
                    Some(Piece::Literal(l)) => Lit::new(l),
                    _ => Lit::new(""),
                };
                slots.push(Slot { var: *var, until });
            }
        }
        if slots.is_empty() {
            return Err(template_error(
                text,
                0,
                text,
                "the template has no $variables, so there is nothing to read from a line",
            ));
        }
        Ok(Template {
            pieces: pieces.into(),
            head,
            slots: slots.into(),
        })
    }

    /// The known fields the template fills, each once, in template order.
    pub(crate) fn fields(&self) -> Vec<Field> {
        let mut out: Vec<Field> = Vec::new();
        for f in self.slots.iter().filter_map(|s| s.var.field) {
            if !out.contains(&f) {
                out.push(f);
            }
        }
        out
    }
}

fn var(name: &str) -> Var {
    let lower = name.to_ascii_lowercase();
    match Field::from_name(&lower) {
        Some(field) => Var {
            name: field.name(),
            field: Some(field),
        },
        None => Var {
            name: intern(&lower).unwrap_or("(unknown variable)"),
            field: None,
        },
    }
}

/// The error for a `$` that does not start a variable, worded like nginx's.
fn bad_dollar(text: &str, at: usize) -> Error {
    let rest = &text[at..];
    let shown_end = rest
        .char_indices()
        .skip(1)
        .find(|&(_, c)| c.is_whitespace() || c == '$')
        .map_or(rest.len(), |(i, _)| i);
    let shown_end = rest
        .char_indices()
        .nth(24)
        .map_or(shown_end, |(i, _)| i.min(shown_end));
    let shown = &rest[..shown_end];
    let reason = match rest.strip_prefix("${") {
        Some(inner) if inner.starts_with(is_name_char) => {
            let name_len = inner.find(|c| !is_name_char(c)).unwrap_or(inner.len());
            format!(
                "the closing bracket in \"{}\" variable is missing",
                &inner[..name_len]
            )
        }
        _ => "invalid variable name: `$` must be followed by a name made of letters, digits \
              and `_`, or by `{name}`"
            .to_owned(),
    };
    template_error(text, at, shown, &reason)
}

fn template_error(text: &str, at: usize, shown: &str, reason: &str) -> Error {
    Error::Template {
        column: text[..at].chars().count() + 1,
        text: escape_str(shown).into_owned(),
        reason: reason.to_owned(),
    }
}

/// Most bytes of template text kept for error messages over the life of the process.
const INTERN_LIMIT: usize = 1 << 20;

/// Returns a `'static` copy of `s`, shared by every template that uses the same text.
///
/// [`LineError`](super::LineError) is `Copy` and names the variable or literal it is about
/// with `&'static str`, so that errors cost nothing to return on the hot path. Names of
/// variables realip does not know and template literals come from the user, so they are
/// copied once here and kept for the life of the process. The table is bounded: past
/// [`INTERN_LIMIT`] bytes (only a program compiling many thousands of distinct templates,
/// such as a fuzzer, gets there) new text is not kept and errors show a generic description.
pub(crate) fn intern(s: &str) -> Option<&'static str> {
    static TABLE: Mutex<(BTreeSet<&'static str>, usize)> = Mutex::new((BTreeSet::new(), 0));
    let mut table = TABLE.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(&kept) = table.0.get(s) {
        return Some(kept);
    }
    if table.1 + s.len() > INTERN_LIMIT {
        return None;
    }
    let kept: &'static str = Box::leak(s.to_owned().into_boxed_str());
    table.0.insert(kept);
    table.1 += s.len();
    Some(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(t: &str) -> String {
        Template::compile(t).unwrap_err().to_string()
    }

    proptest::proptest! {
        /// The word-at-a-time search finds what a byte-by-byte search finds, at every
        /// length and position (the haystack alphabet is small so that matches, bytes next
        /// to the needle's value, and high bytes all occur).
        #[test]
        fn find_byte_agrees_with_a_plain_search(
            hay in proptest::collection::vec(
                proptest::sample::select(vec![0u8, 1, b' ', b'!', b'"', 0x7f, 0x80, 0xa2, 0xff]),
                0..80,
            ),
            byte in proptest::sample::select(vec![0u8, b' ', b'"', 0x80, 0xff]),
        ) {
            for search in SEARCHES {
                proptest::prop_assert_eq!(search(&Needle::new(byte), &hay), hay.iter().position(|&b| b == byte));
            }
        }

        /// Every literal shape finds the first occurrence a plain substring search finds.
        #[test]
        fn literals_are_found_like_a_plain_search(
            hay in proptest::collection::vec(proptest::sample::select(vec![b' ', b'"', b'-', b'a', 0xff]), 0..40),
            lit in proptest::collection::vec(proptest::sample::select(vec![b' ', b'"', b'-', 0xff]), 0..8),
        ) {
            let text = String::from_utf8_lossy(&lit).into_owned();
            let lit = Lit::new(&text);
            let want = if lit.bytes.is_empty() {
                Some(0)
            } else {
                hay.windows(lit.bytes.len()).position(|w| *w == *lit.bytes)
            };
            proptest::prop_assert_eq!(lit.find(&hay), want);
        }
    }

    /// Every length up to 112 (both words, the pairs of 16-byte blocks, a block left over and
    /// the overlapping last block) with the byte at every offset, alone or before a second copy; the byte right after
    /// the slice's end is the needle too, so reading past the end would show.
    #[test]
    fn find_byte_finds_the_byte_at_every_offset_and_never_past_the_end() {
        for search in SEARCHES {
            for byte in [0u8, b' ', b'"', 0x7f, 0x80, 0xff] {
                let needle = Needle::new(byte);
                let near = [
                    byte ^ 1,
                    byte.wrapping_add(0x80),
                    byte.wrapping_sub(1),
                    byte ^ 0x7f,
                ];
                for len in 0..=112 {
                    let mut buf: Vec<u8> = (0..len).map(|i| near[i % near.len()]).collect();
                    buf.push(byte);
                    assert_eq!(search(&needle, &buf[..len]), None, "{byte:#x} in {len}");
                    for at in 0..len {
                        let mut hay = buf.clone();
                        hay[at] = byte;
                        assert_eq!(search(&needle, &hay[..len]), Some(at), "{byte:#x} {at}");
                        for later in at + 1..len {
                            let mut twice = hay.clone();
                            twice[later] = byte;
                            assert_eq!(search(&needle, &twice[..len]), Some(at));
                        }
                    }
                }
            }
        }
    }

    /// A byte search.
    type Search = fn(&Needle, &[u8]) -> Option<usize>;
    /// The byte search in use and the word-at-a-time one of targets without SSE2.
    const SEARCHES: [Search; 2] = [find_byte, find_byte_by_words];

    #[test]
    fn combined_compiles_into_head_and_slots() {
        let t = Template::compile(
            "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \
             \"$http_referer\" \"$http_user_agent\"",
        )
        .unwrap();
        assert_eq!(&*t.head.bytes, b"");
        let names: Vec<_> = t.slots.iter().map(|s| s.var.name).collect();
        assert_eq!(
            names,
            [
                "remote_addr",
                "remote_user",
                "time_local",
                "request",
                "status",
                "body_bytes_sent",
                "http_referer",
                "http_user_agent"
            ]
        );
        assert_eq!(&*t.slots[2].until.bytes, b"] \"");
        assert_eq!(&*t.slots[7].until.bytes, b"\"");
    }

    #[test]
    fn braces_case_and_unknown_variables() {
        let t = Template::compile("[${Remote_Addr}] $upstream_addr|$status").unwrap();
        assert_eq!(&*t.head.bytes, b"[");
        assert_eq!(t.slots[0].var.field, Some(Field::RemoteAddr));
        assert_eq!(t.slots[1].var.name, "upstream_addr");
        assert_eq!(t.slots[1].var.field, None);
        assert_eq!(&*t.slots[2].until.bytes, b"");
        assert_eq!(t.fields(), [Field::RemoteAddr, Field::Status]);
    }

    #[test]
    fn compile_errors_name_the_column_and_the_text() {
        assert_eq!(
            err("$remote_addr $a$b x"),
            "invalid log_format template at column 14 (\"$a$b\"): ambiguous: $a$b need a \
             separator"
        );
        assert_eq!(
            err("x ${status x"),
            "invalid log_format template at column 3 (\"${status\"): the closing bracket in \
             \"status\" variable is missing"
        );
        assert!(err("é $ x").starts_with(
            "invalid log_format template at column 3 (\"$\"): \
                                           invalid variable name"
        ));
        assert!(err("a ${} b").contains("column 3 (\"${}\")"));
        assert!(err("$status\n$uri").contains("column 8 (\"\\n\"): a line break"));
        assert!(err("just text").contains("has no $variables"));
        assert!(err("").contains("empty"));
    }

    #[test]
    fn interned_text_is_shared() {
        let a = intern("some literal").unwrap();
        let b = intern("some literal").unwrap();
        assert!(std::ptr::eq(a, b));
    }
}
