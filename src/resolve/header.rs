//! Splitting one header value into candidate addresses, byte-exact with nginx.
//!
//! Owns: where nginx's right-to-left walk finds the next token in a header value
//! (`ngx_http_get_forwarded_addr_internal`: SPACE and COMMA separate, runs of them collapse,
//! trailing ones are skipped, and byte 0 is never looked at as a separator), and what a token
//! may be (`ngx_parse_addr_port`: a bare address, `addr:port`, `[addr]:port`, and `[addr]` from
//! nginx 1.27.3).
//! Does not own: trust decisions or the order of lines (`resolve`), the address grammar itself
//! (`net::inet`).

use std::fmt;
use std::net::IpAddr;
use std::ops::Range;

use crate::net::inet::parse_ip;

/// Why a token is not an address nginx would accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenError {
    /// The header value (or what is left of it) is empty.
    Empty,
    /// Not an address, `addr:port` or `[addr]:port`.
    NotAnAddress,
    /// A port that is not 1..=65535 written in decimal digits.
    BadPort,
    /// `[addr]` without a port, which nginx accepts only from 1.27.3.
    BracketsWithoutPort,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenError::Empty => "empty value",
            TokenError::NotAnAddress => "not an address",
            TokenError::BadPort => "port is not 1..65535",
            TokenError::BracketsWithoutPort => "[address] without a port (valid from nginx 1.27.3)",
        })
    }
}

/// A header line's value as nginx's HTTP/1 parser stores it: without the spaces (0x20 only;
/// tabs stay) around it. Values given by hand or in a batch are taken as sent over HTTP/1
/// and go through this first (HTTP/2 keeps them, which the [`Resolver`](super::Resolver)
/// reproduces when given the stored value).
#[inline]
pub fn http1_value(mut value: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' '] = value {
        value = rest;
    }
    value
}

#[inline]
fn is_sep(b: u8) -> bool {
    b == b' ' || b == b','
}

/// The span of the rightmost token within `value[..len]`, the way nginx finds it.
///
/// Trailing separators are skipped, then the token runs back to just after the previous
/// separator. Index 0 is never treated as a separator: a value starting with one separator
/// glues it to the first address (`,192.0.2.1` is one, invalid, token). An empty prefix gives
/// an empty span. The caller continues the walk with `len = span.start - 1` while
/// `span.start > 0`.
#[inline(always)]
pub fn token_span(value: &[u8], len: usize) -> Range<usize> {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if let Some(span) = sse2::token_span(value, len) {
        return span;
    }
    token_span_words(value, len)
}

/// [`token_span`] eight bytes at a time: for values under four bytes, values of 16
/// separators in a row, and targets without SSE2.
#[inline(always)]
fn token_span_words(value: &[u8], len: usize) -> Range<usize> {
    if len == 0 {
        return 0..0;
    }
    // Index 0 is never a separator, so both searches look at `value[1..]` only.
    let Some(body) = value.get(1..len) else {
        return 0..len.min(value.len());
    };
    let end = match body.iter().rposition(|&b| !is_sep(b)) {
        Some(i) => i + 2,
        None => 1,
    };
    match rfind_sep(&body[..end - 1]) {
        Some(i) => i + 2..end,
        None => 0..end,
    }
}

/// [`token_span`] 16 bytes at a time (SSE2, which every x86-64 has, through `safe_arch`: no
/// `unsafe` here). A compare per block gives a bit per separator, so the trailing separators
/// and the one before the token are found with bit counts instead of a byte or word loop.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use std::ops::Range;

    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i,
    };

    /// Bit `i` set when `block[i]` is a separator.
    #[inline(always)]
    fn separators(block: &[u8; 16]) -> u32 {
        let bytes = load_unaligned_m128i(block);
        let space = cmp_eq_mask_i8_m128i(bytes, set_splat_i8_m128i(b' ' as i8));
        let comma = cmp_eq_mask_i8_m128i(bytes, set_splat_i8_m128i(b',' as i8));
        move_mask_i8_m128i(bitor_m128i(space, comma)) as u32
    }

    /// `value[end - 16..end]`'s separators (`16 <= end <= value.len()`).
    #[inline(always)]
    fn separators_before(value: &[u8], end: usize) -> Option<u32> {
        let block = <&[u8; 16]>::try_from(value.get(end.checked_sub(16)?..end)?).ok()?;
        Some(separators(block))
    }

    /// One past the highest set bit of a non-zero mask.
    #[inline(always)]
    fn after_highest(mask: u32) -> usize {
        32 - mask.leading_zeros() as usize
    }

    /// The token's end and the bits below it, from the mask of the 16 bytes before `len`:
    /// `None` when all 16 are separators.
    #[inline(always)]
    fn trim(mask: u32, len: usize) -> Option<(usize, u32)> {
        // Separators at the top of the block trail the token.
        let trailing = ((!mask) << 16).leading_zeros() as usize;
        if trailing >= 16 {
            return None;
        }
        Some((len - trailing, mask & ((1u32 << (16 - trailing)) - 1)))
    }

    /// [`super::token_span`] for `4 <= len <= value.len()` unless 16 separators trail the
    /// token; `None` hands the call to the word search.
    #[inline(always)]
    pub(super) fn token_span(value: &[u8], len: usize) -> Option<Range<usize>> {
        if len > value.len() || len < 4 {
            return None;
        }
        if len <= 16 {
            // The value right-aligned in a block, zeros (not separators) before it; byte 0
            // is never a separator.
            let (block, pad) = crate::bytes::right_aligned(value.get(..len)?)?;
            let mask = separators(&block) & !(1u32 << pad);
            let (end, below) = trim(mask, len)?;
            return Some(match below {
                0 => 0..end,
                _ => after_highest(below) - pad..end,
            });
        }
        let (end, below) = trim(separators_before(value, len)?, len)?;
        if below != 0 {
            return Some(len - 16 + after_highest(below)..end);
        }
        // The token is longer than the block: search on leftwards, 16 bytes at a time while
        // they all lie after byte 0, then the rest within `value[1..17]`.
        let mut at = len - 16;
        while at > 16 {
            let mask = separators_before(value, at)?;
            if mask != 0 {
                return Some(at - 16 + after_highest(mask)..end);
            }
            at -= 16;
        }
        if at > 1 {
            let mask = separators_before(value, 17)? & ((1u32 << (at - 1)) - 1);
            if mask != 0 {
                return Some(1 + after_highest(mask)..end);
            }
        }
        Some(0..end)
    }
}

/// The last separator in `s`. Tokens are a few to a few dozen bytes, too short for a
/// `memchr` call to pay off and long enough that a byte loop costs more than the rest of
/// the walk: eight bytes at a time are tested in a `u64`, then the head byte by byte.
#[inline]
fn rfind_sep(s: &[u8]) -> Option<usize> {
    let mut end = s.len();
    while let Some(Ok(word)) = end
        .checked_sub(8)
        .map(|start| <[u8; 8]>::try_from(&s[start..end]))
    {
        let w = u64::from_le_bytes(word);
        let found = zero_bytes(w ^ (LO * u64::from(b' '))) | zero_bytes(w ^ (LO * u64::from(b',')));
        if found != 0 {
            // The highest flagged byte is the last separator of the word.
            return Some(end - 1 - (found.leading_zeros() / 8) as usize);
        }
        end -= 8;
    }
    s[..end].iter().rposition(|&b| is_sep(b))
}

const LO: u64 = 0x0101_0101_0101_0101;

/// `0x80` in every byte of `x` that is zero, nothing elsewhere: the exact test (no false
/// positives above a zero byte, unlike the cheaper borrow trick), so the highest flag is
/// a true match.
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7)
}

/// Parses a token like nginx's `ngx_parse_addr_port`: the whole token as an address, else
/// `[addr]:port` (or `[addr]` when `brackets_without_port`), else `addr:port` split at the
/// first colon. Ports are decimal digits, 1..=65535, leading zeros allowed.
#[inline]
pub fn parse_token(
    token: &[u8],
    brackets_without_port: bool,
) -> Result<(IpAddr, Option<u16>), TokenError> {
    if token.is_empty() {
        return Err(TokenError::Empty);
    }
    if let Some(ip) = parse_ip(token) {
        return Ok((ip, None));
    }
    let (addr, port) = if token[0] == b'[' {
        let close = memchr::memchr(b']', token).ok_or(TokenError::NotAnAddress)?;
        if close == token.len() - 1 {
            if !brackets_without_port {
                return Err(TokenError::BracketsWithoutPort);
            }
            let ip = parse_ip(&token[1..close]).ok_or(TokenError::NotAnAddress)?;
            return Ok((ip, None));
        }
        if token[close + 1] != b':' {
            return Err(TokenError::NotAnAddress);
        }
        (&token[1..close], &token[close + 2..])
    } else {
        let colon = memchr::memchr(b':', token).ok_or(TokenError::NotAnAddress)?;
        (&token[..colon], &token[colon + 1..])
    };
    let port = parse_port(port).ok_or(TokenError::BadPort)?;
    let ip = parse_ip(addr).ok_or(TokenError::NotAnAddress)?;
    Ok((ip, Some(port)))
}

/// `ngx_atoi` restricted to a port: digits only, non-empty, 1..=65535.
fn parse_port(text: &[u8]) -> Option<u16> {
    if text.is_empty() {
        return None;
    }
    let mut v: u32 = 0;
    for &c in text {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
        if v > 65535 {
            return None;
        }
    }
    u16::try_from(v).ok().filter(|&p| p != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn the_word_search_finds_the_last_separator(
            s in proptest::collection::vec(
                proptest::sample::select(&[b' ', b',', b'\t', b'1', b'.', b':', 0x2c | 0x80, 0xa0, 0][..]),
                0..40,
            )
        ) {
            proptest::prop_assert_eq!(rfind_sep(&s), s.iter().rposition(|&b| is_sep(b)));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 50_000, failure_persistence: None, ..proptest::prelude::ProptestConfig::default() })]
        /// The block search against the word search: separators in runs and alone, at both
        /// ends and at every offset of values up to 70 bytes, any `len` (also past the end).
        #[test]
        fn the_block_search_agrees_with_the_word_search(
            value in proptest::collection::vec(
                proptest::sample::select(&[b' ', b',', b' ', b',', b'1', b'.', b':', b'\t', 0x2c | 0x80, 0][..]),
                0..70,
            ),
            len in 0usize..74,
        ) {
            proptest::prop_assert_eq!(token_span(&value, len), token_span_words(&value, len));
        }

        /// The same on header-shaped values: addresses of any length separated by runs of
        /// separators, so blocks end inside tokens, separator runs and at their edges.
        #[test]
        fn whole_walks_agree(
            parts in proptest::collection::vec((0usize..45, 0usize..4, proptest::bool::ANY), 0..6),
            lead in 0usize..3,
        ) {
            let mut value = vec![b','; lead];
            for (token, seps, comma) in parts {
                value.extend(std::iter::repeat_n(b'a', token));
                value.extend(std::iter::repeat_n(if comma { b',' } else { b' ' }, seps));
            }
            let mut len = value.len();
            loop {
                let span = token_span(&value, len);
                proptest::prop_assert_eq!(span.clone(), token_span_words(&value, len));
                if span.start == 0 {
                    break;
                }
                len = span.start - 1;
            }
        }
    }

    /// All tokens nginx's recursive walk visits, right to left, as text.
    fn tokens(value: &str) -> Vec<&str> {
        let v = value.as_bytes();
        let mut out = Vec::new();
        let mut len = v.len();
        loop {
            let span = token_span(v, len);
            out.push(&value[span.clone()]);
            if span.start == 0 {
                return out;
            }
            len = span.start - 1;
        }
    }

    #[test]
    fn space_and_comma_separate_and_collapse() {
        assert_eq!(tokens("a, b"), ["b", "a"]);
        assert_eq!(tokens("a,,b"), ["b", "a"]);
        assert_eq!(tokens("a , ,, ,b,, "), ["b", "a"]);
        assert_eq!(tokens("a b"), ["b", "a"]);
        assert_eq!(tokens("a,\tb"), ["\tb", "a"]);
        assert_eq!(tokens("a;b"), ["a;b"]);
    }

    #[test]
    fn byte_zero_is_never_a_separator() {
        assert_eq!(tokens(",a"), [",a"]);
        assert_eq!(tokens(", a"), ["a", ","]);
        assert_eq!(tokens(",,a"), ["a", ","]);
        assert_eq!(tokens(","), [","]);
        assert_eq!(tokens(",,,"), [","]);
        assert_eq!(tokens("a,"), ["a"]);
        assert_eq!(tokens(""), [""]);
    }

    fn tok(s: &str, brackets: bool) -> Result<(String, Option<u16>), TokenError> {
        parse_token(s.as_bytes(), brackets)
            .map(|(ip, port)| (crate::net::NginxText(ip).to_string(), port))
    }

    #[test]
    fn ports_follow_ngx_parse_addr_port() {
        assert_eq!(
            tok("192.0.2.1:80", true),
            Ok(("192.0.2.1".into(), Some(80)))
        );
        assert_eq!(
            tok("192.0.2.1:080", true),
            Ok(("192.0.2.1".into(), Some(80)))
        );
        assert_eq!(
            tok("192.0.2.1:000000000000000000000443", true),
            Ok(("192.0.2.1".into(), Some(443)))
        );
        assert_eq!(
            tok("[2001:db8::1]:8080", true),
            Ok(("2001:db8::1".into(), Some(8080)))
        );
        assert_eq!(
            tok("[192.0.2.1]:80", true),
            Ok(("192.0.2.1".into(), Some(80)))
        );
        assert_eq!(
            tok("2001:db8::1:80", true),
            Ok(("2001:db8::1:80".into(), None))
        );
        for bad in [
            "192.0.2.1:0",
            "192.0.2.1:65536",
            "192.0.2.1:",
            "192.0.2.1:80:81",
            "192.0.2.1:http",
            "192.0.2.1:+80",
            "[::1]:0",
            "[::1]:99999999999999999999",
        ] {
            assert_eq!(tok(bad, true), Err(TokenError::BadPort), "{bad}");
        }
        for bad in [
            "[::1",
            "::1]",
            "[::1]:80]",
            "[]:80",
            ":80",
            "fe80::1%eth0",
            "unknown",
            "[::1]x",
        ] {
            assert!(tok(bad, true).is_err(), "{bad}");
        }
    }

    #[test]
    fn brackets_without_port_depend_on_the_version() {
        assert_eq!(tok("[2001:db8::1]", true), Ok(("2001:db8::1".into(), None)));
        assert_eq!(tok("[192.0.2.1]", true), Ok(("192.0.2.1".into(), None)));
        assert_eq!(
            tok("[2001:db8::1]", false),
            Err(TokenError::BracketsWithoutPort)
        );
        assert_eq!(tok("[]", true), Err(TokenError::NotAnAddress));
    }
}
