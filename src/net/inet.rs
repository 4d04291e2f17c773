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

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Parses an IPv4 address like nginx's `ngx_inet_addr`: digits and dots only, exactly three
/// dots, decimal octets up to 255 (leading zeros allowed, an empty octet is 0), and
/// `255.255.255.255` rejected because nginx uses it as its error value.
pub fn parse_ipv4(text: &[u8]) -> Option<Ipv4Addr> {
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
            let v4 = u32::from(parse_ipv4(&p[start..])?);
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
pub fn parse_ip(text: &[u8]) -> Option<IpAddr> {
    if let Some(v4) = parse_ipv4(text) {
        return Some(IpAddr::V4(v4));
    }
    parse_ipv6(text).map(IpAddr::V6)
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
