//! Differential test: the same hostile requests through a real nginx and through `Resolver`.
//!
//! One nginx (see `util::nginx`) runs six `server`s, each with a different server-level realip
//! configuration, and answers `$remote_addr|$remote_port`. Thousands of generated requests
//! (seeded, reproducible: `REALIP_ORACLE_SEED=0x...`) go to every server from a trusted and an
//! untrusted loopback peer; for each one the library must print exactly what nginx printed.
//! The resolver is built from the very `nginx.conf` nginx was started with (what
//! `--nginx-conf` does), and cross-checked against the settings the test wrote into it.
//! Generators aim at the corners of nginx's grammar (lenient IPv4, `ngx_inet6_addr`, ports,
//! brackets, separators, byte 0 of a value, multi-line headers, header-name case) and at deep
//! walks through the trusted ranges. Fails (never skips) under `CI=true` without nginx.
//!
//! Owns: request generation, the expected answer from the library, the comparison and its
//! coverage checks. Does not own: running nginx or speaking HTTP (`util::nginx`), the rules
//! themselves (`src/resolve`, `src/net`).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::Instant;

use realip::resolve::header::http1_value;
use realip::{Addr, Header, NginxVersion, Resolver, Stop, TrustedSet};

use crate::util::nginx::{nginx_version, Client, Nginx};
use crate::util::rng::Rng;

/// The test must compare at least this many requests.
const MIN_REQUESTS: usize = 6_000;
/// Random requests per config from each peer (in `PEERS` order): fewer from the second one,
/// which most configs do not trust (those requests only check that the header is ignored).
const RANDOM_PER_PEER: [usize; 2] = [1_800, 600];
/// Longest generated header line (nginx: `large_client_header_buffers 4 64k`; a header line
/// must fit in one buffer).
const MAX_LINE: usize = 20_000;
/// Largest generated header block: with lines <= 20 KB every 64 KB buffer holds >= 44 KB, so
/// 120 KB always fits in the four buffers.
const MAX_HEADERS: usize = 120_000;
/// The TCP peers: trusted by most configs, and untrusted by most.
const PEERS: [Ipv4Addr; 2] = [Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(127, 0, 0, 2)];
/// How many disagreements are shown in full.
const SHOW: usize = 20;

/// One server-level realip configuration.
struct Config {
    name: &'static str,
    /// `real_ip_header`, exactly as written in nginx.conf.
    header: &'static str,
    recursive: bool,
    /// `set_real_ip_from` arguments.
    trusted: &'static [&'static str],
    /// Address patterns (see `expand`) inside the trusted set, so that walks go deep.
    inside: &'static [&'static str],
}

const GCP_TRUST: &[&str] = &[
    "127.0.0.1",
    "10.0.0.0/8",
    "2001:db8::/32",
    "::1",
    "35.191.0.0/16",
    "130.211.0.0/22",
    "34.120.5.6",
];

const GCP_INSIDE: &[&str] = &[
    "127.0.0.1",
    "127.000.0.01",
    "10.{o}.{o}.{o}",
    "10..{o}.{o}",
    "10.{o}.{o}.{o}:{p}",
    "[10.{o}.{o}.{o}]:{p}",
    "::ffff:10.{o}.{o}.{o}",
    "::FFFF:a{b}:{h}",
    "2001:db8:{h}:{h}::{h}",
    "2001:DB8::{h}",
    "2001:0db8:{h}:{h}:{h}:{h}:{h}:{h}",
    "2001:db8::{o}.{o}.{o}.{o}",
    "[2001:db8::{h}]:{p}",
    "::1",
    "0:0:0:0:0:0:0:1",
    ":0:0:0:0:0:0:0:1",
    "[::1]:{p}",
    "35.191.{o}.{o}",
    "130.211.{q}.{o}",
    "34.120.5.6",
    "34.120.5.6:{p}",
];

const CONFIGS: &[Config] = &[
    Config {
        name: "a-xff-recursive",
        header: "X-Forwarded-For",
        recursive: true,
        trusted: GCP_TRUST,
        inside: GCP_INSIDE,
    },
    Config {
        name: "b-xff-not-recursive",
        header: "X-Forwarded-For",
        recursive: false,
        trusted: GCP_TRUST,
        inside: GCP_INSIDE,
    },
    Config {
        name: "c-true-client-ip",
        header: "True-Client-IP",
        recursive: false,
        trusted: &["127.0.0.1", "10.0.0.0/8"],
        inside: &[
            "127.0.0.1",
            "10.{o}.{o}.{o}",
            "10.{o}.{o}.{o}:{p}",
            "[10.{o}.{o}.{o}]:{p}",
            "::ffff:10.{o}.{o}.{o}",
            "::ffff:127.0.0.1",
        ],
    },
    Config {
        name: "d-x-real-ip-recursive",
        header: "X-Real-IP",
        recursive: true,
        // 192.0.2.77/25 has host bits set: nginx warns and uses 192.0.2.0/25.
        // ::ffff:10.0.0.1 is accepted but, being an IPv6 entry, never matches anything.
        trusted: &["127.0.0.0/30", "::ffff:10.0.0.1", "192.0.2.77/25"],
        inside: &[
            "127.0.0.{q}",
            "127..0.{q}",
            "127.0.0.{q}:{p}",
            "::ffff:127.0.0.{q}",
            "192.0.2.{l}",
            "192.0.2.{l}:{p}",
            "[192.0.2.{l}]:{p}",
            "::ffff:192.0.2.{l}",
            "::ffff:10.0.0.1",
        ],
    },
    Config {
        name: "e-lowercase-xff-generic",
        header: "x-forwarded-for",
        recursive: true,
        trusted: &["127.0.0.1/32"],
        inside: &[
            "127.0.0.1",
            "127.0.0.01",
            "127..0.1",
            "127.0.0.1:{p}",
            "[127.0.0.1]:{p}",
            "::ffff:127.0.0.1",
        ],
    },
    Config {
        name: "f-xff-all-ipv4",
        header: "X-Forwarded-For",
        recursive: true,
        trusted: &["0.0.0.0/0"],
        inside: &[
            "{o}.{o}.{o}.{o}",
            "{o}.{o}.{o}.{o}:{p}",
            "[{o}.{o}.{o}.{o}]:{p}",
            "::ffff:{o}.{o}.{o}.{o}",
            "::ffff:{h}:{h}",
            "...",
            "{o}..{o}.",
        ],
    },
];

/// Addresses just outside the trusted sets (and a few that only look trusted).
const NEAR: &[&str] = &[
    "192.0.2.{o}",
    "192.0.2.{u}",
    "198.51.100.{o}",
    "203.0.113.{o}:{p}",
    "[203.0.113.{o}]:{p}",
    "11.0.0.{o}",
    "9.255.255.{o}",
    "35.192.{o}.{o}",
    "35.190.255.{o}",
    "130.211.4.{o}",
    "130.210.255.{o}",
    "34.120.5.7",
    "34.120.5.5",
    "127.0.0.2",
    "127.0.0.4",
    "128.0.0.1",
    "2001:db9::{h}",
    "2001:db7:ffff::{h}",
    "[2001:db9::{h}]:{p}",
    "::2",
    "fe80::{h}",
    "2600:{h}::{h}:{h}",
    "::ffff:11.{o}.{o}.{o}",
    "::10.0.0.1",
    "::ffff:10.0.0.2",
    "0:0:0:0:0:ffff:c000:2{h}",
];

/// Tokens nginx must refuse (or accept in surprising ways), written out.
const GARBAGE: &[&str] = &[
    "unknown",
    "_hidden",
    "_obfuscated1",
    "for=192.0.2.1",
    "\"192.0.2.1\"",
    "'10.0.0.1'",
    ";",
    "192.0.2.1;proto=https",
    "-",
    "localhost",
    "0x7f.0.0.1",
    "2130706433",
    "127.1",
    "192.0.2.1/24",
    "10.0.0.0/8",
    "\t127.0.0.1",
    "127.0.0.1\t",
    "192.0.2.1\t10.0.0.1",
    "fe80::1%eth0",
    "::1%lo",
    "\x01",
    "\x7f",
    "*",
    "[",
    "]",
    ":",
    "::",
    ":::",
    "[]",
    "null",
    "0",
    "1",
    ".",
    "..",
    "....",
    "%",
    "\\",
    "255.255.255.255",
    "::ffff:255.255.255.255",
    "255.255.255.254",
    "0.0.0.0",
    "...",
    "1..2.3",
    ".1.2.3",
    "1.2.3.",
    "1.2.3.4.",
    "1.2.3",
    "1.2.3.00000000004",
    "1:2:3:4:5:6:7::",
    "::2:3:4:5:6:7:8",
    "1::3:4:5:6:7:8",
    ":1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8:9",
    "00001::",
    "1::2::3",
    "::102",
    "::100",
    "::101",
    "::1:0",
    "::ffff:1.2.3",
    "1:2:3:4:5:6:1.2.3.4",
    "1:2:3:4:5:6:7:1.2.3.4",
    "::FFFF:C000:0201",
    "[2001:db8::1]",
    "[192.0.2.1]",
    "[::1]:0",
    "[::1",
    "::1]",
    "[::1]:80]",
    "[]:80",
    "[[::1]]:80",
    ":80",
    "2001:db8::1:80",
];

/// The single-byte strings above are ASCII; a few non-UTF-8 bytes are added separately.
const HIGH_BYTES: &[&[u8]] = &[b"\xff", b"192.0.2.1\x80", b"\xc3\xa9", b"10.0.0.1\xa0"];

/// Ports after an address: valid, out of range, malformed.
const PORTS: &[&str] = &[
    ":80",
    ":0",
    ":65535",
    ":65536",
    ":080",
    ":",
    ":+1",
    ":-1",
    ":80:81",
    ":1",
    ":00000",
    ":0080",
    ":99999999999999999999",
    ":4294967377",
    ":8o",
    ":443",
];

/// Separators between tokens; only `,` and space are separators to nginx.
const SEPS: &[&str] = &[
    ", ", ", ", ", ", ",", ",", " ", ",,", " , ", ",   ", " ,", ", ,", ",\t", "\t,", "\t", ";",
    ", \t",
];

/// What may come before the first or after the last token.
const EDGES: &[&str] = &[",", ", ", ",,", " ,", ", ,", " , ", "\t", ",\t"];

/// Header names mixed into requests besides the configured one.
const NOISE: &[&str] = &[
    "X-Real-IP",
    "X-Forwarded-For",
    "True-Client-IP",
    "Forwarded",
    "X-Forwarded-For-Original",
    "X-Forwarded",
    "X-Client-IP",
    "CF-Connecting-IP",
    "User-Agent",
    "X-Real-IP-Custom",
    "X-Forwarded-Fo",
    "X_Forwarded_For",
    "Accept",
];

/// Hand-picked sharp cases sent to every config from both peers, whatever the seed.
const FIXED: &[&[&str]] = &[
    &[],
    &["X-Forwarded-For: 192.0.2.1", "X-Forwarded-For:"],
    &[
        "X-Forwarded-For: 192.0.2.1",
        "X-Forwarded-For:",
        "X-Forwarded-For: 127.0.0.1",
    ],
    &[
        "X-Forwarded-For: 192.0.2.1",
        "X-Forwarded-For: garbage",
        "X-Forwarded-For: 127.0.0.1",
    ],
    &["X-Forwarded-For: 192.0.2.1", "X-Forwarded-For: ,127.0.0.1"],
    &["X-Forwarded-For: 192.0.2.1", "X-Forwarded-For: , 127.0.0.1"],
    &["X-Forwarded-For: 192.0.2.1", "X-Forwarded-For: 127.0.0.1,"],
    &["x-forwarded-for: 192.0.2.1", "X-FORWARDED-FOR: 127.0.0.1"],
    &["X-Forwarded-For: 192.0.2.1, 10.0.1.1, 127.0.0.1"],
    &["X-Forwarded-For: 198.51.100.7, 2001:db8::1, 10.0.0.1"],
    &["X-Forwarded-For: 203.0.113.9, 34.120.5.6"],
    &["X-Forwarded-For: 198.51.100.66, 203.0.113.7, 34.120.5.6"],
    &["X-Forwarded-For: ,192.0.2.1"],
    &["X-Forwarded-For: , 192.0.2.1"],
    &["X-Forwarded-For: ,,192.0.2.1"],
    &["X-Forwarded-For: ,"],
    &["X-Forwarded-For:     "],
    &["X-Forwarded-For:\t192.0.2.1"],
    &["X-Forwarded-For: 192.0.2.1\t"],
    &["X-Forwarded-For: 192.0.2.1,\t10.0.0.1"],
    &["X-Forwarded-For:     192.0.2.1     "],
    &["X-Forwarded-For: 192.0.2.1:0"],
    &["X-Forwarded-For: 192.0.2.1:080"],
    &["X-Forwarded-For: 192.0.2.1:5555, 127.0.0.1:123"],
    &["X-Forwarded-For: [2001:db8::1]"],
    &["X-Forwarded-For: [2001:db8::1]:8080"],
    &["X-Forwarded-For: [192.0.2.1]:80"],
    &["X-Forwarded-For: 2001:db8::1:80"],
    &["X-Forwarded-For: ::102"],
    &["X-Forwarded-For: ::1:0"],
    &["X-Forwarded-For: 1:0:0:0:1:0:0:0"],
    &["X-Forwarded-For: ::ffff:10.0.0.1"],
    &["X-Forwarded-For: 192.0.2.1, ::ffff:10.0.0.1"],
    &["X-Real-IP: 192.0.2.1, 127.0.0.1", "X-Real-IP: 10.0.0.1"],
    &["X-Real-IP: garbage", "X-Real-IP: 10.0.0.1"],
    &["X-Real-IP: 192.0.2.200, 192.0.2.100, 127.0.0.3"],
    &["True-Client-IP: 192.0.2.1, 10.0.0.1"],
    &["true-client-ip: 192.0.2.1", "True-Client-IP: 10.0.0.1"],
];

/// The seed: `REALIP_ORACLE_SEED` (see `util::rng::seed`).
fn seed() -> u64 {
    crate::util::rng::seed("REALIP_ORACLE_SEED", 0x5eed_2026_1122_0002)
}

/// Expands an address pattern: `{o}` octet, `{q}` 0..=3, `{l}` 0..=127, `{u}` 128..=255,
/// `{h}` hex group, `{b}` two hex digits, `{p}` valid port.
fn expand(rng: &mut Rng, pattern: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        out.extend_from_slice(&rest.as_bytes()[..open]);
        let close = open + rest[open..].find('}').expect("unclosed { in pattern");
        let piece = match &rest[open + 1..close] {
            "o" => octet(rng, 0, 255),
            "q" => octet(rng, 0, 3),
            "l" => octet(rng, 0, 127),
            "u" => octet(rng, 128, 255),
            "h" => hex_group(rng),
            "b" => format!("{:02x}", rng.below(256)),
            "p" => valid_port(rng),
            other => panic!("unknown placeholder {{{other}}} in {pattern:?}"),
        };
        out.extend_from_slice(piece.as_bytes());
        rest = &rest[close + 1..];
    }
    out.extend_from_slice(rest.as_bytes());
    out
}

fn octet(rng: &mut Rng, lo: u64, hi: u64) -> String {
    let n = rng.range(lo, hi);
    if rng.chance(8) {
        format!("{n:03}")
    } else {
        n.to_string()
    }
}

fn hex_group(rng: &mut Rng) -> String {
    let v = match rng.below(10) {
        0..=2 => 0,
        3..=5 => rng.range(1, 0xff),
        _ => rng.below(0x1_0000),
    };
    match rng.below(10) {
        0..=6 => format!("{v:x}"),
        7 => format!("{v:04x}"),
        8 => format!("{v:X}"),
        _ => format!("{v:04X}"),
    }
}

fn valid_port(rng: &mut Rng) -> String {
    match rng.below(8) {
        0 => "80".into(),
        1 => "443".into(),
        2 => "65535".into(),
        3 => "1".into(),
        4 => format!("0{}", rng.range(1, 9999)),
        _ => rng.range(1, 65535).to_string(),
    }
}

/// An IPv4-looking token: usually valid, often with nginx's lenient oddities.
fn ipv4_weird(rng: &mut Rng) -> Vec<u8> {
    let parts = match rng.below(20) {
        0 => 3,
        1 => 5,
        2 => 2,
        _ => 4,
    };
    let mut out = String::new();
    for i in 0..parts {
        if i > 0 {
            out.push('.');
        }
        match rng.below(100) {
            0..=59 => out.push_str(&rng.below(256).to_string()),
            60..=69 => out.push_str(&format!(
                "{:0w$}",
                rng.below(256),
                w = rng.range(2, 4) as usize
            )),
            70..=77 => {} // empty octet counts as 0
            78..=84 => out.push_str(&rng.range(256, 999).to_string()),
            85..=86 => out.push_str(&rng.range(1000, 4_294_967_296).to_string()),
            87..=91 => out.push_str(&format!("{:011}", rng.below(256))),
            _ => out.push_str("255"),
        }
    }
    out.into_bytes()
}

/// An IPv6-looking token: groups with zero runs, `::` in random places (also where it is
/// not allowed), odd widths and case, dotted tails, leading colons, zone ids.
fn ipv6_weird(rng: &mut Rng) -> Vec<u8> {
    match rng.below(20) {
        0 => return expand(rng, "::ffff:{o}.{o}.{o}.{o}"),
        1 => {
            // nginx's ntop prints some of these with a dotted tail.
            let v = rng.below(0x1_0000);
            return match rng.below(3) {
                0 => format!("::{v:x}"),
                1 => format!("::{v:x}:0"),
                _ => format!("::{:x}", rng.below(0x300)),
            }
            .into_bytes();
        }
        _ => {}
    }
    let groups: Vec<u64> = (0..8)
        .map(|_| match rng.below(10) {
            0..=4 => 0,
            5..=6 => rng.range(1, 0xff),
            _ => rng.below(0x1_0000),
        })
        .collect();
    let case = rng.below(10);
    let fmt_group = |rng: &mut Rng, v: u64| -> String {
        let s = match rng.below(20) {
            0..=13 => format!("{v:x}"),
            14..=17 => format!("{v:04x}"),
            18 => format!("{v:05x}"), // 5 nibbles: invalid
            _ => format!("{v:0w$x}", w = rng.range(1, 4) as usize),
        };
        match case {
            0..=5 => s,
            6..=7 => s.to_uppercase(),
            _ => s
                .chars()
                .map(|c| {
                    if rng.chance(50) {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect(),
        }
    };
    // How many groups are written out, and whether a dotted IPv4 tail replaces two of them.
    let tail = rng.chance(15);
    let total = match rng.below(20) {
        0 => 7,
        1 => 9,
        _ => 8,
    };
    let compress = rng.chance(70);
    let (explicit, gap_at) = if compress {
        // Drop a run of groups (preferring zero runs) and write `::` there.
        let start = rng.below(total as u64) as usize;
        let mut len = 0;
        while start + len < total && (len == 0 || groups[(start + len) % 8] == 0 || rng.chance(20))
        {
            len += 1;
            if rng.chance(15) {
                break;
            }
        }
        if rng.chance(5) {
            len = 0; // `::` standing for nothing: invalid when all groups are written
        }
        (total - len, Some(start))
    } else {
        (total, None)
    };
    let mut parts: Vec<String> = Vec::new();
    let n_hex = if tail {
        explicit.saturating_sub(2)
    } else {
        explicit
    };
    for i in 0..n_hex {
        parts.push(fmt_group(rng, groups[i % 8]));
    }
    let mut out = String::new();
    let gap = gap_at.map(|g| g.min(n_hex));
    if rng.chance(4) {
        out.push(':'); // one leading colon is skipped by nginx
    }
    for (i, p) in parts.iter().enumerate() {
        if gap == Some(i) {
            out.push_str("::");
        } else if i > 0 {
            out.push(':');
        }
        out.push_str(p);
    }
    if gap == Some(n_hex) {
        out.push_str("::");
    }
    if tail {
        if !out.is_empty() && !out.ends_with(':') {
            out.push(':');
        }
        let v4 = if rng.chance(70) {
            expand(rng, "{o}.{o}.{o}.{o}")
        } else {
            ipv4_weird(rng)
        };
        out.push_str(&String::from_utf8_lossy(&v4));
    }
    if rng.chance(3) {
        let zone = rng.pick(&["%eth0", "%1", "%25", "%"]);
        out.push_str(zone);
    }
    if rng.chance(2) {
        out.push(':');
    }
    out.into_bytes()
}

/// Any hostile token: odd addresses, ports, brackets, garbage.
fn hostile(rng: &mut Rng) -> Vec<u8> {
    match rng.below(20) {
        0..=4 => {
            let mut t = ipv4_weird(rng);
            if rng.chance(25) {
                t.extend_from_slice(rng.pick(PORTS).as_bytes());
            }
            t
        }
        5..=9 => ipv6_weird(rng),
        10..=12 => {
            // Brackets, balanced or not, around v6 or v4, with or without a port.
            let inner = if rng.chance(70) {
                ipv6_weird(rng)
            } else {
                ipv4_weird(rng)
            };
            let inner = String::from_utf8_lossy(&inner).into_owned();
            let port = rng.pick(PORTS);
            match rng.below(10) {
                0..=4 => format!("[{inner}]{port}"),
                5 => format!("[{inner}]"),
                6 => format!("[{inner}"),
                7 => format!("{inner}]"),
                8 => format!("[{inner}]{port}]"),
                _ => format!("[]{port}"),
            }
            .into_bytes()
        }
        13..=14 => {
            let pattern = any_pattern(rng);
            let mut t = expand(rng, pattern);
            t.extend_from_slice(rng.pick(PORTS).as_bytes());
            t
        }
        15 => rng.pick(HIGH_BYTES).to_vec(),
        _ => rng.pick(GARBAGE).as_bytes().to_vec(),
    }
}

/// An address pattern from inside or just outside the trusted sets.
fn any_pattern(rng: &mut Rng) -> &'static str {
    if rng.chance(50) {
        rng.pick(NEAR)
    } else {
        rng.pick(GCP_INSIDE)
    }
}

/// One token, drawn by the request's profile (percent trusted, percent hostile).
fn token(rng: &mut Rng, cfg: &Config, trusted_pct: u64, hostile_pct: u64) -> Vec<u8> {
    let r = rng.below(100);
    let pattern = if r < trusted_pct {
        rng.pick(cfg.inside)
    } else if r < trusted_pct + hostile_pct {
        return hostile(rng);
    } else {
        rng.pick(NEAR)
    };
    expand(rng, pattern)
}

/// A list value: tokens joined by separators, maybe with leading and trailing separators.
fn chain(rng: &mut Rng, cfg: &Config) -> Vec<u8> {
    let long = rng.chance(8);
    let n = match rng.below(100) {
        _ if long => rng.range(31, 400),
        0..=14 => 1,
        15..=64 => rng.range(2, 5),
        _ => rng.range(6, 30),
    };
    let (trusted_pct, hostile_pct) = if long {
        (rng.pick(&[90, 97, 99, 100]), rng.pick(&[0, 1, 2]))
    } else {
        (rng.pick(&[0, 30, 60, 85, 97]), rng.pick(&[3, 10, 30, 60]))
    };
    let hostile_pct = hostile_pct.min(100 - trusted_pct);
    let mut tokens: Vec<Vec<u8>> = (0..n)
        .map(|_| token(rng, cfg, trusted_pct, hostile_pct))
        .collect();
    if rng.chance(50) {
        // A trusted rightmost address lets the walk go past the first step.
        let pattern = rng.pick(cfg.inside);
        tokens[n as usize - 1] = expand(rng, pattern);
    }
    if rng.chance(10) {
        // The Google Cloud load balancer shape: `<client>, <forwarding-rule IP>`.
        tokens.push(b"34.120.5.6".to_vec());
    }
    let mut out = Vec::new();
    if rng.chance(12) {
        out.extend_from_slice(rng.pick(EDGES).as_bytes());
    }
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(rng.pick(SEPS).as_bytes());
        }
        out.extend_from_slice(t);
    }
    if rng.chance(12) {
        out.extend_from_slice(rng.pick(EDGES).as_bytes());
    }
    out
}

/// The raw text after `Name:` for one header line (nginx trims the spaces around it).
fn raw_value(rng: &mut Rng, cfg: &Config) -> Vec<u8> {
    let value = match rng.below(100) {
        0..=4 => Vec::new(),
        5..=7 => rng
            .pick(&["   ", ",", ", ,", ",,,", " , ", "\t"])
            .as_bytes()
            .to_vec(),
        8..=11 => hostile(rng),
        _ => chain(rng, cfg),
    };
    let mut raw = Vec::new();
    match rng.below(10) {
        0 => {}
        1 => raw.extend_from_slice(b"   "),
        _ => raw.push(b' '),
    }
    raw.extend_from_slice(&value);
    if rng.chance(10) {
        raw.extend_from_slice(b"  ");
    }
    raw
}

/// The header name with its letter case shuffled (names match case-insensitively).
fn name_variant(rng: &mut Rng, name: &str) -> Vec<u8> {
    match rng.below(10) {
        0..=5 => name.as_bytes().to_vec(),
        6 => name.to_ascii_lowercase().into_bytes(),
        7 => name.to_ascii_uppercase().into_bytes(),
        _ => name
            .bytes()
            .map(|b| {
                if rng.chance(50) {
                    b.to_ascii_uppercase()
                } else {
                    b.to_ascii_lowercase()
                }
            })
            .collect(),
    }
}

/// One request's header lines (besides `Host`), as `(name, raw value)`.
struct Request {
    headers: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Request {
    fn generate(rng: &mut Rng, cfg: &Config) -> Request {
        loop {
            let n = match rng.below(100) {
                0..=7 => 0,
                8..=59 => 1,
                60..=89 => rng.range(2, 4),
                90..=97 => rng.range(5, 30),
                _ => rng.range(31, 100),
            };
            let mut headers: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
                .map(|_| (name_variant(rng, cfg.header), raw_value(rng, cfg)))
                .collect();
            for _ in 0..rng.below(4) {
                let noise = rng.pick(NOISE);
                let name = name_variant(rng, noise);
                let value = raw_value(rng, cfg);
                let at = rng.below(headers.len() as u64 + 1) as usize;
                headers.insert(at, (name, value));
            }
            let req = Request { headers };
            // Stay inside nginx's header buffers (see MAX_LINE, MAX_HEADERS); regenerate
            // otherwise. This bounds the generator, it hides nothing nginx would answer.
            let longest = req.headers.iter().map(|(n, v)| n.len() + v.len() + 3).max();
            if longest.unwrap_or(0) <= MAX_LINE && req.wire().len() <= MAX_HEADERS {
                return req;
            }
        }
    }

    /// One line of the configured header close to nginx's 64 KB buffer: an outside address,
    /// then thousands of trusted ones, so the walk goes all the way left.
    fn long_line(rng: &mut Rng, cfg: &Config) -> Request {
        let mut value = b"198.51.100.1".to_vec();
        while value.len() < 55_000 {
            value.extend_from_slice(b", ");
            let pattern = rng.pick(cfg.inside);
            value.extend_from_slice(&expand(rng, pattern));
        }
        let mut space_value = vec![b' '];
        space_value.extend_from_slice(&value);
        Request {
            headers: vec![(cfg.header.as_bytes().to_vec(), space_value)],
        }
    }

    fn fixed(lines: &[&str]) -> Request {
        let headers = lines
            .iter()
            .map(|l| {
                let (name, value) = l.split_once(':').expect("fixed line has a colon");
                (name.as_bytes().to_vec(), value.as_bytes().to_vec())
            })
            .collect();
        Request { headers }
    }

    /// The header lines as sent, each ending in CRLF.
    fn wire(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, value) in &self.headers {
            // nginx rejects these bytes in values; the generators never produce them.
            assert!(!value.iter().any(|b| matches!(b, b'\0' | b'\r' | b'\n')));
            out.extend_from_slice(name);
            out.push(b':');
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// The values of every line of `header` (names compared case-insensitively), in arrival
    /// order, as nginx's HTTP/1 parser stores them: the library's `http1_value`, checked here
    /// against nginx (issue #10).
    fn lines_of(&self, header: &str) -> Vec<&[u8]> {
        self.headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(header.as_bytes()))
            .map(|(_, value)| http1_value(value))
            .collect()
    }

    /// The request as readable text for failure messages.
    fn show(&self) -> String {
        let mut out = String::from("GET / HTTP/1.1\\r\\nHost: t\\r\\n");
        for (name, value) in &self.headers {
            out.push_str("\n    ");
            out.push_str(&escape(name));
            out.push(':');
            out.push_str(&escape(value));
            out.push_str("\\r\\n");
        }
        out
    }
}

/// Printable ASCII as is; everything else as `\t` or `\xNN`.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        match b {
            b'\t' => out.push_str("\\t"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => write!(out, "\\x{b:02x}").expect("write to String"),
        }
    }
    out
}

impl Config {
    fn directives(&self) -> String {
        let mut d = String::new();
        for t in self.trusted {
            write!(d, "set_real_ip_from {t}; ").expect("write to String");
        }
        let recursive = if self.recursive { "on" } else { "off" };
        write!(
            d,
            "real_ip_header {}; real_ip_recursive {recursive};",
            self.header
        )
        .expect("write to String");
        d
    }

    fn resolver(&self, version: NginxVersion) -> Resolver {
        let (trusted, _warnings) = TrustedSet::parse(self.trusted.iter().copied()).expect("trust");
        let header = Header::new(self.header).expect("header");
        Resolver::new(trusted, header, self.recursive).with_nginx_version(version)
    }
}

/// Everything counted while comparing.
#[derive(Default)]
struct Tally {
    requests: usize,
    agree: usize,
    failures: Vec<String>,
    stops: HashMap<Stop, usize>,
    applied: usize,
    unapplied: usize,
    with_port: usize,
}

#[test]
fn nginx_agrees_with_resolver_on_random_hostile_requests() {
    // Each server is named so that realip can pick it out of the same file nginx runs.
    let servers: Vec<String> = CONFIGS
        .iter()
        .enumerate()
        .map(|(i, c)| format!("server_name s{i}; {}", c.directives()))
        .collect();
    let Some(nginx) = Nginx::start(&servers) else {
        return;
    };
    // `--nginx-conf` parity: realip reads the very config nginx was started with.
    let conf = realip::nginx::load(&nginx.dir().join("nginx.conf"))
        .unwrap_or_else(|e| panic!("realip cannot read the config nginx runs: {e}"));
    let version_text = nginx_version();
    let version = NginxVersion::parse(&version_text).expect("nginx version");
    let seed = seed();
    let started = Instant::now();
    let mut rng = Rng(seed);
    let mut tally = Tally::default();

    for (ci, cfg) in CONFIGS.iter().enumerate() {
        let settings = realip::nginx::realip::effective(&conf, Some(&format!("s{ci}")), None)
            .unwrap_or_else(|e| panic!("server s{ci}: {e}"));
        let resolver = settings.resolver().with_nginx_version(version);
        // The hand-built resolver must read the same settings; both are compared below.
        let by_hand = cfg.resolver(version);
        for (pi, source) in PEERS.into_iter().enumerate() {
            let peer = Addr::parse(source.to_string().as_bytes()).expect("peer");
            let mut client = Client::new(source, nginx.port(ci));
            let mut requests: Vec<Request> = FIXED.iter().map(|l| Request::fixed(l)).collect();
            requests.push(Request::long_line(&mut rng, cfg));
            requests.extend((0..RANDOM_PER_PEER[pi]).map(|_| Request::generate(&mut rng, cfg)));
            for req in requests {
                let response = client.get(&req.wire());
                let lines = req.lines_of(cfg.header);
                let res = resolver.resolve(peer, lines.iter().copied());
                let hand = by_hand.resolve(peer, lines.iter().copied());
                if hand != res && tally.failures.len() < SHOW {
                    tally.failures.push(format!(
                        "config {}: from nginx.conf {res:?} but from the test's settings {hand:?}",
                        cfg.name
                    ));
                }
                let expected = if res.applied() {
                    let port = res.port.map(|p| p.to_string()).unwrap_or_default();
                    format!("{}|{port}\n", res.addr)
                } else {
                    format!("{peer}|{}\n", response.local_port)
                };
                let got = String::from_utf8_lossy(&response.body);
                tally.requests += 1;
                *tally.stops.entry(res.stop).or_default() += 1;
                if res.applied() {
                    tally.applied += 1;
                    tally.with_port += usize::from(res.port.is_some());
                } else {
                    tally.unapplied += 1;
                }
                if response.status == 200 && got == expected {
                    tally.agree += 1;
                    continue;
                }
                if tally.failures.len() < SHOW {
                    tally.failures.push(format!(
                        "config {} ({}), peer {peer}:{}\n  request: {}\n  nginx:   {} {:?}\n  \
                         ours:    {expected:?} (stop {:?})\n  explain: {:?}",
                        cfg.name,
                        servers[ci],
                        response.local_port,
                        req.show(),
                        response.status,
                        got,
                        res.stop,
                        resolver.explain(peer, lines.iter().copied()),
                    ));
                } else {
                    tally.failures.push(String::new());
                }
            }
        }
    }

    let elapsed = started.elapsed();
    let disagree = tally.requests - tally.agree;
    let summary = format!(
        "nginx oracle: {} requests, {} configs, {} peers, seed {seed:#018x}, nginx {version_text}: \
         {} agree, {disagree} disagree ({:.1} s)",
        tally.requests,
        CONFIGS.len(),
        PEERS.len(),
        tally.agree,
        elapsed.as_secs_f64(),
    );
    let mut stops: Vec<(&str, usize)> = tally.stops.iter().map(|(s, n)| (s.as_str(), *n)).collect();
    stops.sort();
    let coverage = format!(
        "  stops {stops:?}; applied {} (with port {}), unapplied {}",
        tally.applied, tally.with_port, tally.unapplied
    );
    eprintln!("{summary}\n{coverage}");

    if disagree > 0 {
        let shown: Vec<&String> = tally.failures.iter().filter(|f| !f.is_empty()).collect();
        panic!(
            "{summary}\n{coverage}\nrerun with REALIP_ORACLE_SEED={seed:#x}\nfirst {} \
             disagreements:\n\n{}",
            shown.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n\n")
        );
    }
    assert!(
        tally.failures.is_empty(),
        "{summary}: the settings read from nginx.conf differ from the test's:\n{}",
        tally.failures.join("\n")
    );
    assert!(
        tally.requests >= MIN_REQUESTS,
        "{summary}: fewer than {MIN_REQUESTS} requests"
    );
    for stop in [
        Stop::HeaderAbsent,
        Stop::PeerUntrusted,
        Stop::RightmostInvalid,
        Stop::NotRecursive,
        Stop::Untrusted,
        Stop::InvalidToken,
        Stop::AllTrusted,
    ] {
        let n = tally.stops.get(&stop).copied().unwrap_or(0);
        assert!(
            n >= 10,
            "{summary}\n{coverage}\nstop {stop:?} occurred only {n} times"
        );
    }
    assert!(
        tally.applied >= 100 && tally.unapplied >= 100,
        "{summary}\n{coverage}"
    );
    assert!(
        tally.with_port >= 10,
        "{summary}\n{coverage}\ntoo few resolved ports"
    );
}

#[test]
fn nginx_launcher_reports_the_tcp_peer_and_restores_it_between_keepalive_requests() {
    let servers = vec![CONFIGS[0].directives()];
    let Some(nginx) = Nginx::start(&servers) else {
        return;
    };
    for source in PEERS {
        let mut client = Client::new(source, nginx.port(0));
        let plain = client.get(b"");
        assert_eq!(plain.status, 200);
        assert_eq!(
            String::from_utf8_lossy(&plain.body),
            format!("{source}|{}\n", plain.local_port),
            "no header: nginx must answer with the TCP peer and its port"
        );
        let xff = client.get(b"X-Forwarded-For: 192.0.2.1:81\r\n");
        let expected = if source == PEERS[0] {
            "192.0.2.1|81\n".to_string()
        } else {
            format!("{source}|{}\n", xff.local_port)
        };
        assert_eq!(String::from_utf8_lossy(&xff.body), expected);
        // Same connection: realip's change does not outlive its request.
        let again = client.get(b"");
        assert_eq!(
            again.local_port, plain.local_port,
            "keep-alive connection was not reused"
        );
        assert_eq!(
            String::from_utf8_lossy(&again.body),
            format!("{source}|{}\n", again.local_port)
        );
    }
}

/// `realip resolve --nginx-conf … --server … --batch` against nginx running that very file,
/// with realip settings spread over http and server levels: a server that inherits
/// everything, one that overrides recursion, one whose own `set_real_ip_from` list replaces
/// the inherited one, and one that reads X-Real-IP.
#[test]
fn nginx_conf_with_inheritance_drives_resolve_batch_like_nginx() {
    let http = "set_real_ip_from 127.0.0.1; set_real_ip_from 10.0.0.0/8; \
                set_real_ip_from 2001:db8::/32; real_ip_header X-Forwarded-For; \
                real_ip_recursive on;";
    let servers: Vec<String> = [
        "server_name s0;",
        "server_name s1; real_ip_recursive off;",
        "server_name s2; set_real_ip_from 127.0.0.1; set_real_ip_from 192.0.2.0/25;",
        "server_name s3; real_ip_header X-Real-IP;",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let headers = [
        "X-Forwarded-For",
        "X-Forwarded-For",
        "X-Forwarded-For",
        "X-Real-IP",
    ];
    let Some(nginx) = Nginx::start_with(http, &servers) else {
        return;
    };
    let conf = nginx.dir().join("nginx.conf");
    let version = nginx_version();
    let seed = seed() ^ 0x0c0f;
    let mut rng = Rng(seed);
    let (mut compared, mut skipped) = (0usize, 0usize);
    for (si, header) in headers.iter().enumerate() {
        let gen_cfg = if *header == "X-Real-IP" {
            &CONFIGS[3]
        } else {
            &CONFIGS[0]
        };
        let mut batch = Vec::new();
        let mut answers = Vec::new();
        for source in PEERS {
            let mut client = Client::new(source, nginx.port(si));
            for _ in 0..1_200 {
                let req = Request::generate(&mut rng, gen_cfg);
                let lines = req.lines_of(header);
                // The batch format separates header lines with tabs.
                if lines
                    .iter()
                    .any(|l| l.contains(&b'\t') || l.contains(&b'\n'))
                {
                    skipped += 1;
                    continue;
                }
                let response = client.get(&req.wire());
                assert_eq!(response.status, 200, "{}", req.show());
                let body = String::from_utf8_lossy(&response.body).into_owned();
                let addr = body.split('|').next().unwrap_or_default().to_string();
                let mut line = source.to_string().into_bytes();
                for l in &lines {
                    line.push(b'\t');
                    line.extend_from_slice(l);
                }
                line.push(b'\n');
                batch.extend(line);
                answers.push((addr, req.show()));
            }
        }
        let out = crate::util::run_with_stdin(
            crate::util::realip()
                .args(["resolve", "--nginx-conf"])
                .arg(&conf)
                .args([
                    "--server",
                    &format!("s{si}"),
                    "--nginx-version",
                    &version,
                    "--batch",
                ]),
            &batch,
        );
        let stdout = crate::util::assert_exit(&out, 0);
        let got: Vec<&str> = stdout.lines().collect();
        assert_eq!(
            got.len(),
            answers.len(),
            "server s{si}: one answer per request"
        );
        for (g, (want, shown)) in got.iter().zip(&answers) {
            assert_eq!(g, want, "server s{si} (seed {seed:#x}), request {shown}");
            compared += 1;
        }
    }
    eprintln!(
        "nginx --nginx-conf batch: {compared} requests over 4 servers agree with nginx \
         ({skipped} generated requests with tabs in a header skipped: not expressible in the \
         batch format)"
    );
    assert!(compared >= 2_000, "only {compared} requests compared");
}
