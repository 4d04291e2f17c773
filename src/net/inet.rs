//! nginx's address grammar and text form, byte for byte.
//!
//! Owns: parsing an address the way nginx's `ngx_inet_addr`, `ngx_inet6_addr` and
//! `ngx_parse_addr` do (lenient IPv4, nginx's IPv6 grammar), and printing an address the way
//! `ngx_sock_ntop`/`ngx_inet6_ntop` do (what `$remote_addr` shows).
//! Does not own: ports and brackets in header tokens (`resolve::header`), trust decisions
//! (`net::TrustedSet`).
//!
//! These differ from the standard library on purpose: `010.0.0.1` is `10.0.0.1`, `1..2.3` is
//! `1.0.2.3`, `255.255.255.255` is rejected (it is nginx's error sentinel), `:1:2:3:4:5:6:7:8` is
//! accepted, `1:2:3:4:5:6:7::` is rejected, and `::102` prints as `::0.0.1.2`.
//!
//! Parsing has two tiers: the common shapes (four 1-3 digit octets; IPv6 groups of 1-4 hex
//! digits with at most one `::`) are read an octet or a group at a time, and every other text
//! goes to a byte-at-a-time transcription of nginx's grammar, the reference the property
//! tests below compare the fast readers with.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Parses an IPv4 address like nginx's `ngx_inet_addr`: digits and dots only, exactly three
/// dots, decimal octets up to 255 (leading zeros allowed, an empty octet is 0), and
/// `255.255.255.255` rejected because nginx uses it as its error value.
pub fn parse_ipv4(text: &[u8]) -> Option<Ipv4Addr> {
    match ipv4_common(text) {
        Shape::Parsed(v4) => Some(v4),
        Shape::NotIpv4 => None,
        Shape::Other => parse_ipv4_general(text),
    }
}

/// The common IPv4 shape's address as `1 << 32 | address`, [`NOT_IPV4`] for a text that
/// cannot be IPv4, and 0 for every other text: an answer in one register, for
/// [`Addr::parse_line`](super::Addr::parse_line), which parses the rest.
#[inline(never)]
pub(crate) fn ipv4_common_packed(text: &[u8]) -> u64 {
    match ipv4_common(text) {
        Shape::Parsed(v4) => 1 << 32 | u64::from(u32::from(v4)),
        Shape::NotIpv4 => NOT_IPV4,
        Shape::Other => 0,
    }
}

/// [`ipv4_common_packed`]'s answer for a text [`parse_ip`] reads as IPv6 or nothing.
pub(crate) const NOT_IPV4: u64 = 1;

/// What the common-case IPv4 reader made of a text.
enum Shape {
    Parsed(Ipv4Addr),
    /// Certainly not an IPv4 address (a `:`, an octet over 255, the error value).
    NotIpv4,
    /// Not the common shape: the general parser decides.
    Other,
}

/// The common shape, 7 to 15 bytes of four 1-3 digit octets, read an octet at a time from a
/// zero-padded copy (no bounds checks, no per-byte loop counter: about 40 % fewer
/// instructions than the general loop). Texts of another shape (empty octets, leading zeros
/// beyond three digits, junk) go to [`parse_ipv4_general`]; a `:` in the first eight bytes of
/// a longer text answers "not IPv4" at once, so an IPv6 address costs no failed IPv4 pass.
#[inline(always)]
fn ipv4_common(text: &[u8]) -> Shape {
    let n = text.len();
    let mut buf = [0u8; 24];
    if (8..=15).contains(&n) {
        buf[..8].copy_from_slice(&text[..8]);
        buf[n - 8..n].copy_from_slice(&text[n - 8..]);
    } else if n == 7 {
        buf[..4].copy_from_slice(&text[..4]);
        buf[3..7].copy_from_slice(&text[3..]);
    } else {
        return match text.first_chunk::<8>() {
            Some(head) if has_byte(u64::from_le_bytes(*head), b':') => Shape::NotIpv4,
            _ => Shape::Other,
        };
    }
    let mut addr = 0u32;
    let mut at = 0usize;
    for _ in 0..3 {
        let (octet, end) = match octet(&buf, at) {
            Ok(read) => read,
            Err(shape) => return shape,
        };
        if buf[end] != b'.' {
            return Shape::Other;
        }
        addr = addr << 8 | octet;
        at = end + 1;
    }
    let (octet, end) = match octet(&buf, at) {
        Ok(read) => read,
        Err(shape) => return shape,
    };
    if end != n {
        return Shape::Other;
    }
    let addr = addr << 8 | octet;
    if addr == u32::MAX {
        return Shape::NotIpv4;
    }
    Shape::Parsed(Ipv4Addr::from(addr))
}

/// The 1-3 digit octet starting at `buf[at]` and the index just after it. Three digits over
/// 255 are an error whatever follows (more digits only make it larger).
#[inline(always)]
fn octet(buf: &[u8; 24], at: usize) -> Result<(u32, usize), Shape> {
    // `at` is at most 12 for a text of at most 15 bytes; the mask lets the compiler drop the
    // bounds checks.
    let at = at & 15;
    let d0 = u32::from(buf[at]).wrapping_sub(u32::from(b'0'));
    if d0 > 9 {
        return Err(Shape::Other);
    }
    let d1 = u32::from(buf[at + 1]).wrapping_sub(u32::from(b'0'));
    if d1 > 9 {
        return Ok((d0, at + 1));
    }
    let d2 = u32::from(buf[at + 2]).wrapping_sub(u32::from(b'0'));
    if d2 > 9 {
        return Ok((d0 * 10 + d1, at + 2));
    }
    let value = d0 * 100 + d1 * 10 + d2;
    if value > 255 {
        return Err(Shape::NotIpv4);
    }
    Ok((value, at + 3))
}

/// Whether any of the eight bytes of `word` is `byte`.
#[inline(always)]
fn has_byte(word: u64, byte: u8) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = word ^ (LO * u64::from(byte));
    // 0x80 in each zero byte of `x`, exactly.
    !(((x & LOW7).wrapping_add(LOW7)) | x | LOW7) != 0
}

/// nginx's IPv4 grammar, a byte at a time: the reference [`ipv4_common`] falls back to.
fn parse_ipv4_general(text: &[u8]) -> Option<Ipv4Addr> {
    let mut addr: u32 = 0;
    let mut octet: u32 = 0;
    let mut dots = 0u32;
    for &c in text {
        match c {
            b'0'..=b'9' => {
                octet = octet * 10 + u32::from(c - b'0');
                if octet > 255 {
                    return None;
                }
            }
            b'.' => {
                // More than three dots is rejected below; shifting past 32 bits must not panic.
                addr = addr.wrapping_shl(8).wrapping_add(octet);
                octet = 0;
                dots += 1;
            }
            _ => return None,
        }
    }
    if dots != 3 {
        return None;
    }
    let addr = (addr << 8) + octet;
    if addr == u32::MAX {
        return None;
    }
    Some(Ipv4Addr::from(addr))
}

/// Parses an IPv6 address like nginx's `ngx_inet6_addr`: one leading `:` is skipped, groups of
/// at most four hex digits, at most one `::` (which may not stand for the last group alone),
/// an optional dotted IPv4 tail when at least two groups remain, no zone ids, no brackets.
pub fn parse_ipv6(text: &[u8]) -> Option<Ipv6Addr> {
    ipv6_common(text).or_else(|| parse_ipv6_general(text))
}

/// Hex digit values; 0xff for every other byte.
static HEX: [u8; 256] = {
    let mut table = [0xffu8; 256];
    let mut i = 0;
    while i < 16 {
        let value = i as u8;
        if i < 10 {
            table[(b'0' + value) as usize] = value;
        } else {
            table[(b'a' + value - 10) as usize] = value;
            table[(b'A' + value - 10) as usize] = value;
        }
        i += 1;
    }
    table
};

/// The common shapes, a group at a time from a zero-padded copy: groups of 1-4 hex digits
/// separated by single colons, eight of them, or fewer with one `::` (also leading or
/// trailing). `None` for every other shape (a leading single `:`, a dotted tail, a trailing
/// single `:`, too many groups, junk): [`parse_ipv6_general`] decides those.
#[inline(always)]
fn ipv6_common(text: &[u8]) -> Option<Ipv6Addr> {
    let n = text.len();
    if !(2..=39).contains(&n) {
        return None;
    }
    let mut buf = [0u8; 56];
    if n >= 8 {
        let mut k = 0;
        while k + 8 <= n {
            buf[k..k + 8].copy_from_slice(&text[k..k + 8]);
            k += 8;
        }
        buf[n - 8..n].copy_from_slice(&text[n - 8..]);
    } else {
        buf[..n].copy_from_slice(text);
    }
    let mut groups: u128 = 0;
    let mut count = 0usize;
    // How many groups stand before the `::`, when there is one.
    let mut head = None;
    let mut at = 0usize;
    if buf[0] == b':' {
        if buf[1] != b':' {
            return None;
        }
        if n == 2 {
            return Some(Ipv6Addr::UNSPECIFIED);
        }
        head = Some(0);
        at = 2;
    }
    loop {
        let (group, end) = hex_group(&buf, at)?;
        groups = groups << 16 | u128::from(group);
        count += 1;
        if end == n {
            break;
        }
        if buf[end] != b':' || count == 8 {
            return None;
        }
        if buf[end + 1] == b':' {
            if head.is_some() {
                return None;
            }
            head = Some(count);
            at = end + 2;
            if at == n {
                break;
            }
        } else {
            at = end + 1;
        }
    }
    let Some(head) = head else {
        return (count == 8).then(|| Ipv6Addr::from(groups));
    };
    let tail = count - head;
    // nginx lets `::` stand for one group or more, and a trailing `::` counts as a group.
    if head + tail.max(1) > 7 {
        return None;
    }
    let low = match tail {
        0 => 0,
        _ => groups & (u128::MAX >> (128 - 16 * tail)),
    };
    let high = match head {
        0 => 0,
        _ => (groups >> (16 * tail)) << (128 - 16 * head),
    };
    Some(Ipv6Addr::from(high | low))
}

/// The 1-4 hex digit group starting at `buf[at]` and the index just after it.
#[inline(always)]
fn hex_group(buf: &[u8; 56], at: usize) -> Option<(u32, usize)> {
    // `at` is at most 40 for a text of at most 39 bytes; the bound lets the compiler drop the
    // bounds checks.
    let at = at.min(44);
    let h0 = u32::from(HEX[usize::from(buf[at])]);
    if h0 > 15 {
        return None;
    }
    let h1 = u32::from(HEX[usize::from(buf[at + 1])]);
    if h1 > 15 {
        return Some((h0, at + 1));
    }
    let h2 = u32::from(HEX[usize::from(buf[at + 2])]);
    if h2 > 15 {
        return Some((h0 << 4 | h1, at + 2));
    }
    let h3 = u32::from(HEX[usize::from(buf[at + 3])]);
    if h3 > 15 {
        return Some((h0 << 8 | h1 << 4 | h2, at + 3));
    }
    Some((h0 << 12 | h1 << 8 | h2 << 4 | h3, at + 4))
}

/// nginx's IPv6 grammar, a byte at a time: the reference [`ipv6_common`] falls back to.
fn parse_ipv6_general(text: &[u8]) -> Option<Ipv6Addr> {
    let mut p = text;
    if p.is_empty() {
        return None;
    }
    if p[0] == b':' {
        p = &p[1..];
    }
    let mut out = [0u8; 16];
    let mut at = 0usize; // next byte of `out` to write
    let mut zero: Option<usize> = None; // where `::` stands
    let mut digit: Option<usize> = None; // index in `p` just after the last ':'
    let mut nibbles = 0u32;
    let mut word: u32 = 0;
    let mut groups_left = 8u32;
    let mut i = 0usize;
    while i < p.len() {
        let c = p[i];
        i += 1;
        if c == b':' {
            if nibbles > 0 {
                digit = Some(i);
                out[at] = (word >> 8) as u8;
                out[at + 1] = (word & 0xff) as u8;
                at += 2;
                groups_left -= 1;
                if groups_left > 0 {
                    nibbles = 0;
                    word = 0;
                    continue;
                }
            } else if zero.is_none() {
                digit = Some(i);
                zero = Some(at);
                continue;
            }
            return None;
        }
        if c == b'.' && nibbles > 0 {
            let start = digit?;
            if groups_left < 2 {
                return None;
            }
            let v4 = u32::from(parse_ipv4_general(&p[start..])?);
            out[at] = (v4 >> 24) as u8;
            out[at + 1] = (v4 >> 16) as u8;
            at += 2;
            groups_left -= 1;
            word = v4 & 0xffff;
            // nibbles stays non-zero: the low half is written below.
            break;
        }
        nibbles += 1;
        if nibbles > 4 {
            return None;
        }
        let v = match c {
            b'0'..=b'9' => c - b'0',
            _ => match c | 0x20 {
                lc @ b'a'..=b'f' => lc - b'a' + 10,
                _ => return None,
            },
        };
        word = word * 16 + u32::from(v);
    }
    if nibbles == 0 && zero.is_none() {
        return None;
    }
    out[at] = (word >> 8) as u8;
    out[at + 1] = (word & 0xff) as u8;
    at += 2;
    groups_left -= 1;
    if groups_left > 0 {
        let z = zero?;
        // Move the groups written after `::` to the end and zero the gap.
        let n = groups_left as usize * 2;
        out.copy_within(z..at, z + n);
        out[z..z + n].fill(0);
        return Some(Ipv6Addr::from(out));
    }
    if zero.is_none() {
        Some(Ipv6Addr::from(out))
    } else {
        None
    }
}

/// Parses a bare address like nginx's `ngx_parse_addr`: IPv4 first, then IPv6.
///
/// The common IPv4 shape (most addresses in a log) is read inline; IPv6 and the other shapes
/// are calls.
#[inline]
pub fn parse_ip(text: &[u8]) -> Option<IpAddr> {
    match ipv4_common(text) {
        Shape::Parsed(v4) => Some(IpAddr::V4(v4)),
        Shape::NotIpv4 => parse_ipv6_ip(text),
        Shape::Other => parse_ip_other(text),
    }
}

/// [`parse_ip`] of a text that cannot be IPv4.
#[inline(never)]
fn parse_ipv6_ip(text: &[u8]) -> Option<IpAddr> {
    parse_ipv6(text).map(IpAddr::V6)
}

/// [`parse_ip`] of a text of no common IPv4 shape.
#[inline(never)]
fn parse_ip_other(text: &[u8]) -> Option<IpAddr> {
    match parse_ipv4_general(text) {
        Some(v4) => Some(IpAddr::V4(v4)),
        None => parse_ipv6(text).map(IpAddr::V6),
    }
}

/// An IP address that displays exactly as nginx prints it in `$remote_addr`.
///
/// IPv4 is dotted decimal; IPv6 follows `ngx_inet6_ntop`, which differs from Rust's
/// `Ipv6Addr` display: a single zero group is never compressed, the first of equally long zero
/// runs is, and some addresses starting with a zero run get a dotted tail (`::0.0.1.2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NginxText(pub IpAddr);

impl fmt::Display for NginxText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => {
                let [a, b, c, d] = v4.octets();
                write!(f, "{a}.{b}.{c}.{d}")
            }
            IpAddr::V6(v6) => fmt_ipv6(&v6.octets(), f),
        }
    }
}

fn fmt_ipv6(p: &[u8; 16], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    // Find the longest run of zero groups (length >= 2; first one wins a tie).
    let mut zero: Option<usize> = None;
    let mut last = 0usize;
    let mut max = 1usize;
    let mut n = 0usize;
    for i in (0..16).step_by(2) {
        if p[i] != 0 || p[i + 1] != 0 {
            if max < n {
                zero = Some(last);
                max = n;
            }
            n = 0;
            continue;
        }
        if n == 0 {
            last = i;
        }
        n += 1;
    }
    if max < n {
        zero = Some(last);
        max = n;
    }

    let mut end = 16;
    if zero == Some(0) {
        if (max == 5 && p[10] == 0xff && p[11] == 0xff)
            || max == 6
            || (max == 7 && p[14] != 0 && p[15] != 1)
        {
            end = 12;
        }
        f.write_str(":")?;
    }
    let mut i = 0;
    while i < end {
        if Some(i) == zero {
            f.write_str(":")?;
            i += max * 2;
            continue;
        }
        write!(f, "{:x}", u16::from(p[i]) << 8 | u16::from(p[i + 1]))?;
        if i < 14 {
            f.write_str(":")?;
        }
        i += 2;
    }
    if end == 12 {
        write!(f, "{}.{}.{}.{}", p[12], p[13], p[14], p[15])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    use crate::net::Addr;

    #[test]
    fn the_per_line_reading_takes_unix_and_refuses_junk_like_parse_opt() {
        for text in [&b"unix:"[..], b"", b"1.2.3.4", b"::1", b"1.2.3", b"x"] {
            assert_eq!(Addr::parse_line(text), Addr::parse_opt(text));
        }
        assert_eq!(Addr::parse_line(b"unix:"), Some(Addr::Unix));
    }

    /// nginx's `ngx_parse_addr` with the general parsers only: the reference for the
    /// common-shape readers.
    fn parse_ip_general(text: &[u8]) -> Option<IpAddr> {
        parse_ipv4_general(text)
            .map(IpAddr::V4)
            .or_else(|| parse_ipv6_general(text).map(IpAddr::V6))
    }

    /// An IPv4 octet as a client may write it: 0..=300 (past 255 on purpose), with up to
    /// five leading zeros, sometimes empty.
    fn octet_text() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            8 => (0u32..=300, prop_oneof![6 => Just(0usize), 2 => 1usize..=2, 1 => 3usize..=5])
                .prop_map(|(v, zeros)| format!("{}{v}", "0".repeat(zeros)).into_bytes()),
            2 => (250u32..=260).prop_map(|v| v.to_string().into_bytes()),
            1 => Just(Vec::new()),
        ]
    }

    fn ipv4_text() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            8 => Just(4usize),
            1 => Just(3usize),
            1 => Just(5usize),
        ]
        .prop_flat_map(|n| proptest::collection::vec(octet_text(), n))
        .prop_map(|octets| octets.join(&b'.'))
    }

    /// A group of 0-5 hex digits in either case (mostly 1-4).
    fn group_text() -> impl Strategy<Value = Vec<u8>> {
        let digit = proptest::sample::select(b"0123456789abcdefABCDEF".to_vec());
        prop_oneof![
            12 => proptest::collection::vec(digit.clone(), 1..=4),
            1 => Just(Vec::new()),
            1 => proptest::collection::vec(digit, 5),
        ]
    }

    /// IPv6 texts of every shape nginx's grammar has: 0-9 groups, `::` at any position (or
    /// twice), a leading or trailing single `:`, a dotted tail.
    fn ipv6_text() -> impl Strategy<Value = Vec<u8>> {
        (
            prop_oneof![1 => 0usize..=9, 4 => Just(8usize), 2 => 1usize..=7],
            proptest::collection::vec(group_text(), 9),
            proptest::collection::vec(0usize..=9, 0..=2),
            any::<bool>(),
            any::<bool>(),
            proptest::option::weighted(0.2, ipv4_text()),
        )
            .prop_map(|(n, groups, gaps, lead, trail, tail)| {
                let mut parts: Vec<Vec<u8>> = groups.into_iter().take(n).collect();
                // `::` is an empty part between two colons.
                for gap in gaps {
                    let at = gap.min(parts.len());
                    parts.insert(at, Vec::new());
                    if at == 0 || at == parts.len() - 1 {
                        parts.insert(at, Vec::new());
                    }
                }
                if let Some(tail) = tail {
                    parts.push(tail);
                }
                let mut text = parts.join(&b':');
                if lead {
                    text.insert(0, b':');
                }
                if trail {
                    text.push(b':');
                }
                text
            })
    }

    /// A text with, sometimes, one byte replaced or inserted anywhere: a byte of the other
    /// grammar, a separator, a letter, a control or non-ASCII byte.
    fn mutated(text: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
        let junk = proptest::sample::select(b":./ a gF0\x009%]-[\x80\xff".to_vec());
        (
            text,
            proptest::option::weighted(
                0.4,
                (any::<proptest::sample::Index>(), junk, any::<bool>()),
            ),
        )
            .prop_map(|(mut text, edit)| {
                if let Some((at, byte, insert)) = edit {
                    if insert || text.is_empty() {
                        let at = at.index(text.len() + 1);
                        text.insert(at, byte);
                    } else {
                        let at = at.index(text.len());
                        text[at] = byte;
                    }
                }
                text
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 20_000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn the_common_ipv4_reader_agrees_with_the_general_parser(text in mutated(ipv4_text())) {
            prop_assert_eq!(parse_ipv4(&text), parse_ipv4_general(&text));
            prop_assert_eq!(parse_ip(&text), parse_ip_general(&text));
            // The audit's per-line reading (the common shape packed in a register).
            prop_assert_eq!(Addr::parse_line(&text), Addr::parse_opt(&text));
        }

        #[test]
        fn the_common_ipv6_reader_agrees_with_the_general_parser(text in mutated(ipv6_text())) {
            prop_assert_eq!(parse_ipv6(&text), parse_ipv6_general(&text));
            prop_assert_eq!(parse_ip(&text), parse_ip_general(&text));
            prop_assert_eq!(Addr::parse_line(&text), Addr::parse_opt(&text));
        }

        #[test]
        fn any_address_reads_back_from_its_expanded_forms(bits in any::<u128>(), upper in any::<bool>(), zeros in any::<bool>()) {
            let v6 = Ipv6Addr::from(bits);
            let full = v6.segments().map(|g| match (upper, zeros) {
                (true, true) => format!("{g:04X}"),
                (true, false) => format!("{g:X}"),
                (false, true) => format!("{g:04x}"),
                (false, false) => format!("{g:x}"),
            }).join(":");
            prop_assert_eq!(parse_ipv6(full.as_bytes()), Some(v6));
            let v4 = Ipv4Addr::from(bits as u32);
            let dotted = v4.octets().map(|o| o.to_string()).join(".");
            let want = (v4 != Ipv4Addr::BROADCAST).then_some(v4);
            prop_assert_eq!(parse_ipv4(dotted.as_bytes()), want);
        }

        #[test]
        fn arbitrary_bytes_agree_too(text in proptest::collection::vec(
            proptest::sample::select(b"0123456789abcdefABCDEF:.: /%\x00\xff".to_vec()), 0..45)) {
            prop_assert_eq!(parse_ipv4(&text), parse_ipv4_general(&text));
            prop_assert_eq!(parse_ipv6(&text), parse_ipv6_general(&text));
        }
    }

    #[test]
    fn the_shapes_the_common_readers_pass_on_still_parse() {
        // Each goes through the general parser: its answer must be nginx's.
        assert_eq!(v4("1.2.3.0004").as_deref(), Some("1.2.3.4"));
        assert_eq!(v4("1..3.4").as_deref(), Some("1.0.3.4"));
        assert_eq!(v4("0000000001.2.3.4").as_deref(), Some("1.2.3.4"));
        assert_eq!(v4("255.255.255.255"), None);
        assert_eq!(v4("1.2.3.256"), None);
        assert_eq!(v4("1.2.3.4:80"), None);
        assert_eq!(
            v6("1::2:").as_deref(),
            parse_ipv6_general(b"1::2:")
                .map(|a| NginxText(IpAddr::V6(a)).to_string())
                .as_deref()
        );
        assert_eq!(v6(":1:2:3:4:5:6:7:8").as_deref(), Some("1:2:3:4:5:6:7:8"));
        assert_eq!(v6("::ffff:1.2.3.4").as_deref(), Some("::ffff:1.2.3.4"));
        assert_eq!(v6("1:2:3:4:5:6::").as_deref(), Some("1:2:3:4:5:6::"));
        assert_eq!(v6("1:2:3:4:5:6:7::"), None);
        assert_eq!(v6("1:2:3::4:5:6:7"), Some("1:2:3:0:4:5:6:7".into()));
        assert_eq!(v6("1:2:3:4::5:6:7:8"), None);
        assert_eq!(v6(":::1"), None);
        assert_eq!(
            v6("2A02:8108:F9B4:D5E:5006:EA83:6335:170E").as_deref(),
            Some("2a02:8108:f9b4:d5e:5006:ea83:6335:170e")
        );
    }

    fn v4(s: &str) -> Option<String> {
        parse_ipv4(s.as_bytes()).map(|a| a.to_string())
    }

    fn v6(s: &str) -> Option<String> {
        parse_ipv6(s.as_bytes()).map(|a| NginxText(IpAddr::V6(a)).to_string())
    }

    #[test]
    fn ipv4_is_lenient_like_ngx_inet_addr() {
        assert_eq!(v4("192.0.2.1").as_deref(), Some("192.0.2.1"));
        assert_eq!(v4("010.0.0.1").as_deref(), Some("10.0.0.1"));
        assert_eq!(v4("1..2.3").as_deref(), Some("1.0.2.3"));
        assert_eq!(v4("...").as_deref(), Some("0.0.0.0"));
        assert_eq!(v4(".1.2.3").as_deref(), Some("0.1.2.3"));
        assert_eq!(v4("1.2.3.").as_deref(), Some("1.2.3.0"));
        assert_eq!(v4("1.2.3.00000000004").as_deref(), Some("1.2.3.4"));
        assert_eq!(v4("255.255.255.254").as_deref(), Some("255.255.255.254"));
    }

    #[test]
    fn ipv4_rejects_what_nginx_rejects() {
        for bad in [
            "",
            "1.2.3",
            "1.2.3.4.5",
            "1.2.3.4.",
            "1.2.3.256",
            "255.255.255.255",
            "0x7f.0.0.1",
            "2130706433",
            "1.2.3.4/24",
            " 1.2.3.4",
            "1.2.3.4\t",
            "1.2.3.4.5.6.7.8.9.10.11",
        ] {
            assert_eq!(v4(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ipv6_follows_ngx_inet6_addr() {
        assert_eq!(v6("::").as_deref(), Some("::"));
        assert_eq!(v6("::1").as_deref(), Some("::1"));
        assert_eq!(v6("2001:DB8::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(v6(":1:2:3:4:5:6:7:8").as_deref(), Some("1:2:3:4:5:6:7:8"));
        assert_eq!(v6("::2:3:4:5:6:7:8").as_deref(), Some("0:2:3:4:5:6:7:8"));
        assert_eq!(v6("1::3:4:5:6:7:8").as_deref(), Some("1:0:3:4:5:6:7:8"));
        assert_eq!(
            v6("1:2:3:4:5:6:1.2.3.4").as_deref(),
            Some("1:2:3:4:5:6:102:304")
        );
        assert_eq!(v6("::FFFF:C000:0201").as_deref(), Some("::ffff:192.0.2.1"));
        assert_eq!(v6("1::").as_deref(), Some("1::"));
    }

    #[test]
    fn ipv6_rejects_what_nginx_rejects() {
        for bad in [
            "",
            ":",
            "1:",
            "1:2:3:4:5:6:7::",
            "1::2::3",
            "1:2:3:4:5:6:7:8:9",
            "00001::",
            "fe80::1%eth0",
            "[::1]",
            "1:2:3:4:5:6:7:1.2.3.4",
            "::ffff:1.2.3",
            "::ffff:255.255.255.255",
            "::g",
            "1.2.3.4",
        ] {
            assert_eq!(v6(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn ipv6_text_follows_ngx_inet6_ntop() {
        let cases = [
            ("::102", "::0.0.1.2"),
            ("::101", "::101"),
            ("::2", "::2"),
            ("::100", "::0.0.1.0"),
            ("::1:0", "::0.1.0.0"),
            ("::192.0.2.1", "::192.0.2.1"),
            ("1:0:0:1:0:0:0:1", "1:0:0:1::1"),
            ("1:0:0:0:1:0:0:0", "1::1:0:0:0"),
            ("0:0:1:0:0:0:0:0", "0:0:1::"),
            ("1:2:3:4:5:6::8", "1:2:3:4:5:6:0:8"),
            ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ];
        for (input, want) in cases {
            assert_eq!(v6(input).as_deref(), Some(want), "{input}");
        }
    }
}
