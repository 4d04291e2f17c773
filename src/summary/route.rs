//! Route normalisation: the group key of `--group-by route` and the `route` filter field.
//! A path loses its query string and each ID-like segment becomes a placeholder.

use super::KEY_SEP;

/// Replaces ID-like path segments with placeholders and drops the query string:
/// all digits -> `{id}`, a UUID -> `{uuid}`, 16 or more hex digits -> `{hex}`, and a
/// content hash inside a file name (`app.0c5e9f7a.js`) -> `app.{hash}.js`.
pub fn normalize_route(path: &[u8], out: &mut Vec<u8>) {
    normalize_route_seen(path, out);
}

// Byte classes of the route normaliser, one table lookup per byte. The `A_*` bits are
// and-ed over a run of bytes (a segment or a dot-separated part of one): set in the result
// when every byte of the run has them.
/// A digit.
const A_DIGIT: u8 = 1;
/// A hex digit (either case), digits included.
const A_HEX: u8 = 2;
/// A hex digit or `-` (what a UUID is made of).
const A_UUID: u8 = 4;
/// Not a digit: and-ed, it says that the run holds no digit.
const A_NO_DIGIT: u8 = 8;
/// `/`: the end of a segment.
const S_SLASH: u8 = 16;
/// `?`: the end of the path.
const S_QUERY: u8 = 32;
/// `.`: the end of a part of a segment.
const S_DOT: u8 = 64;
/// [`KEY_SEP`], which a group key must not hold: noted, then scanned over like other bytes.
const S_SEP: u8 = 128;
/// The bytes that stop the fast scan.
const S_ANY: u8 = S_SLASH | S_QUERY | S_DOT | S_SEP;

const ROUTE_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = if b.is_ascii_digit() {
            A_DIGIT | A_HEX | A_UUID
        } else if b.is_ascii_hexdigit() {
            A_HEX | A_UUID | A_NO_DIGIT
        } else if b == b'-' {
            A_UUID | A_NO_DIGIT
        } else if b == b'/' {
            S_SLASH | A_NO_DIGIT
        } else if b == b'?' {
            S_QUERY | A_NO_DIGIT
        } else if b == b'.' {
            S_DOT | A_NO_DIGIT
        } else if b == KEY_SEP {
            S_SEP | A_NO_DIGIT
        } else {
            A_NO_DIGIT
        };
        i += 1;
    }
    t
};

/// Scans `rest` up to its first `/`, `?` or `.`: returns the `A_*` bits and-ed over the
/// bytes before it, its index (`rest.len()` when there is none) and its class (0 then).
/// Sets `seen` on a [`KEY_SEP`].
#[inline(always)]
fn route_run(rest: &[u8], seen: &mut bool) -> (u8, usize, u8) {
    let mut all = !0u8;
    let mut s = rest;
    // Four bytes at a time (most segments end within one or two steps).
    while let Some((&[a, b, c, d], tail)) = s.split_first_chunk::<4>() {
        let [a, b, c, d] = [a, b, c, d].map(|x| ROUTE_CLASS[usize::from(x)]);
        if (a | b | c | d) & S_ANY == 0 {
            all &= a & b & c & d;
            s = tail;
            continue;
        }
        // The first stop among the four, without reading them again.
        let (k, stop) = if a & S_ANY != 0 {
            (0, a)
        } else if b & S_ANY != 0 {
            all &= a;
            (1, b)
        } else if c & S_ANY != 0 {
            all &= a & b;
            (2, c)
        } else {
            all &= a & b & c;
            (3, d)
        };
        if stop & S_SEP == 0 {
            return (all, rest.len() - s.len() + k, stop);
        }
        *seen = true;
        all &= stop;
        s = s.get(k + 1..).unwrap_or_default();
    }
    // Fewer than four bytes left.
    for (j, &b) in s.iter().enumerate() {
        let c = ROUTE_CLASS[usize::from(b)];
        if c & S_ANY != 0 {
            if c & S_SEP == 0 {
                return (all, rest.len() - s.len() + j, c);
            }
            *seen = true;
        }
        all &= c;
    }
    (all, rest.len(), 0)
}

/// Appends `unchanged` then `placeholder` (inlined: a constant placeholder is a store).
#[inline(always)]
fn put_replaced(out: &mut Vec<u8>, unchanged: &[u8], placeholder: &[u8]) {
    out.reserve(unchanged.len() + placeholder.len());
    out.extend_from_slice(unchanged);
    out.extend_from_slice(placeholder);
}

/// A content-hash-like part of a file name, by its and-ed classes and length: 8 or more hex
/// digits, at least one a digit.
#[inline(always)]
fn hash_like(all: u8, len: usize) -> bool {
    len >= 8 && all & (A_HEX | A_NO_DIGIT) == A_HEX
}

/// [`normalize_route`], returning whether the output holds a [`KEY_SEP`] (copied from the
/// path), so that the group key needs no search for one.
pub(super) fn normalize_route_seen(path: &[u8], out: &mut Vec<u8>) -> bool {
    match normalize_route_or_borrow(path, out) {
        Route::Unchanged(route) => {
            out.extend_from_slice(route);
            false
        }
        Route::Written { seen } => seen,
    }
}

/// A route from [`normalize_route_or_borrow`].
pub(super) enum Route<'p> {
    /// No rule replaced anything and no [`KEY_SEP`] is in it: the route is this start of
    /// the path (it only lost its query string), and nothing was written.
    Unchanged(&'p [u8]),
    /// The route was appended to the output; `seen` says whether it holds a [`KEY_SEP`].
    Written {
        /// A [`KEY_SEP`] was copied from the path.
        seen: bool,
    },
}

/// [`normalize_route`] without a copy when the route is the path's start as it is (the
/// group key then borrows the log line). Paths of 4 to 64 bytes (or whose query string
/// starts within 64) are classified 16 bytes at a time into bit masks (SSE2); shorter and
/// longer ones, and other targets, take the byte-at-a-time pass, which always writes.
#[inline(always)]
pub(super) fn normalize_route_or_borrow<'p>(path: &'p [u8], out: &mut Vec<u8>) -> Route<'p> {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if let Some(classes) = sse2::classes(path) {
        return normalize_classified(path, &classes, out);
    }
    Route::Written {
        seen: normalize_bytewise(path, out),
    }
}

/// The byte classes of a path's first (up to) 64 bytes, one bit per byte.
#[derive(Debug)]
struct Classes {
    /// Where the path ends: its first `?`, else its length (at most 64).
    end: usize,
    /// `/` before `end`.
    slash: u64,
    /// `.`.
    dot: u64,
    /// ASCII digits.
    digit: u64,
    /// Hex digits, either case (digits included).
    hex: u64,
    /// Hex digits and `-`.
    uuid: u64,
    /// Whether a [`KEY_SEP`] comes before `end`.
    seen: bool,
}

/// The bits below `k` (`k < 64`).
#[inline(always)]
fn below(k: usize) -> u64 {
    (1u64 << k) - 1
}

/// The bits `from..to` (`from <= to < 64`).
#[inline(always)]
fn bits(from: usize, to: usize) -> u64 {
    below(to) & !below(from)
}

/// Where a UUID's dashes are, from its first byte.
const UUID_DASHES: u64 = 1 << 8 | 1 << 13 | 1 << 18 | 1 << 23;

/// [`normalize_route`] from the path's [`Classes`] (`c.end < 64`). A rule replaces either a
/// whole segment of digits or a segment or part of 8 bytes or more, all hex digits and
/// dashes, so only the segments holding one of those are looked at, and every rule is a
/// test of bits. The unchanged runs between replacements are copied in one piece.
#[inline(always)]
fn normalize_classified<'p>(path: &'p [u8], c: &Classes, out: &mut Vec<u8>) -> Route<'p> {
    let within = below(c.end);
    // Bit `i` of `run8` is set when bytes `i..i + 8` are hex digits or dashes.
    let mut run8 = c.uuid & c.uuid >> 1;
    run8 &= run8 >> 2;
    run8 &= run8 >> 4;
    // Segments of digits only: adding a segment's first bit to the digits carries through a
    // run of them from there to the first byte after it; the run is the whole segment when
    // that byte ends the segment (a `/` or the end). The bit below it is the last digit.
    let digits = c.digit & within;
    let starts = (c.slash << 1 | 1) & within;
    let ends = c.slash | 1 << c.end;
    let digit_segments = ((digits + (starts & digits)) & !digits & ends) >> 1;
    let mut candidates = (digit_segments | run8) & within;
    // `path[copied..]` is not in `out` yet; `path[..copied]` is (or its replacement is).
    let mut copied = 0;
    while candidates != 0 {
        let at = candidates.trailing_zeros() as usize;
        // The segment around `at`: after the last `/` before it, up to the next or the end.
        let start = match c.slash & below(at) {
            0 => 0,
            before => 64 - before.leading_zeros() as usize,
        };
        let end = match c.slash & !below(at) {
            0 => c.end,
            after => after.trailing_zeros() as usize,
        };
        let seg = bits(start, end);
        let dots = c.dot & seg;
        if dots != 0 {
            // A file name: each dot-separated part may be a content hash.
            let (mut part, mut rest) = (start, dots);
            loop {
                let part_end = match rest {
                    0 => end,
                    _ => rest.trailing_zeros() as usize,
                };
                let m = bits(part, part_end);
                if part_end - part >= 8 && c.hex & m == m && c.digit & m != 0 {
                    put_replaced(out, &path[copied..part], b"{hash}");
                    copied = part_end;
                }
                if rest == 0 {
                    break;
                }
                rest &= rest - 1;
                part = part_end + 1;
            }
        } else {
            let len = end - start;
            if c.digit & seg == seg {
                put_replaced(out, &path[copied..start], b"{id}");
                copied = end;
            } else if len >= 8 && c.uuid & seg == seg {
                let dashes = seg & !c.hex;
                if len == 36 && dashes == UUID_DASHES << start {
                    put_replaced(out, &path[copied..start], b"{uuid}");
                    copied = end;
                } else if dashes == 0 && (len >= 16 || c.digit & seg != 0) {
                    let placeholder: &[u8] = if len >= 16 { b"{hex}" } else { b"{hash}" };
                    put_replaced(out, &path[copied..start], placeholder);
                    copied = end;
                }
            }
        }
        candidates &= !below(end);
    }
    if copied == 0 && !c.seen {
        return Route::Unchanged(&path[..c.end]);
    }
    out.extend_from_slice(&path[copied..c.end]);
    Route::Written { seen: c.seen }
}

/// A last segment that the normaliser replaces whole, whatever comes before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tail {
    /// All digits: `{id}`.
    Id = 1,
    /// A UUID: `{uuid}`.
    Uuid = 2,
}

/// Where `path`'s last segment starts and what it is, when it is all digits or a UUID (the
/// segments REST APIs end with: `/users/47`, `/orders/<uuid>`). Two paths with the same bytes
/// before that start and the same [`Tail`] have the same route: every rule applies to one
/// segment alone, and when the start is in the query string both lose it. The route memo
/// keys such paths by what comes before the tail, so that one slot serves every ID.
#[inline(always)]
pub(super) fn replaced_tail(path: &[u8]) -> Option<(usize, Tail)> {
    let n = path.len();
    let digits = trailing_digits(path);
    if digits > 0 && digits < n && path.get(n - digits - 1) == Some(&b'/') {
        return Some((n - digits, Tail::Id));
    }
    let start = n.checked_sub(36)?;
    let uuid = path.get(start..)?;
    (start > 0
        && path.get(start - 1) == Some(&b'/')
        && all_hex_or_dash(uuid)
        && is_uuid_of_hex_and_dashes(uuid))
    .then_some((start, Tail::Uuid))
}

/// How many ASCII digits `s` ends with: the last eight bytes as one word, then a byte at a
/// time when they are all digits.
#[inline(always)]
fn trailing_digits(s: &[u8]) -> usize {
    if let Some(w) = s.last_chunk::<8>() {
        // The last byte lowest. A digit's byte becomes 0x00..=0x09 after the xor: no bit in
        // its high nibble, and adding 6 does not reach 0x10. A carry out of another byte only
        // runs into the bytes before it in the path, which are not counted.
        let x = u64::from_be_bytes(*w) ^ 0x3030_3030_3030_3030;
        let not_digit = x & 0xf0f0_f0f0_f0f0_f0f0
            | x.wrapping_add(0x0606_0606_0606_0606) & 0x1010_1010_1010_1010;
        if not_digit != 0 {
            return (not_digit.trailing_zeros() / 8) as usize;
        }
    }
    s.iter().rev().take_while(|b| b.is_ascii_digit()).count()
}

/// Whether every byte of `s` is a hex digit or a dash.
#[inline(always)]
fn all_hex_or_dash(s: &[u8]) -> bool {
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    if let Some(all) = sse2::all_hex_or_dash(s) {
        return all;
    }
    s.iter().all(|&b| ROUTE_CLASS[usize::from(b)] & A_UUID != 0)
}

/// [`Classes`] 16 bytes at a time (SSE2, which every x86-64 has, through `safe_arch`: no
/// `unsafe` here): a compare or two per class and block, and a bit per byte from each.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
mod sse2 {
    use safe_arch::{
        bitand_m128i, bitor_m128i, cmp_eq_mask_i8_m128i, cmp_gt_mask_i8_m128i,
        cmp_lt_mask_i8_m128i, load_unaligned_m128i, m128i, move_mask_i8_m128i, set_splat_i8_m128i,
    };

    use super::{below, Classes, KEY_SEP};

    /// A block's masks: `/`, `?`, `.`, KEY_SEP, digit, hex, hex-or-dash.
    type Block = [u64; 7];

    /// `/`, `?`, `.`, KEY_SEP, digit, hex, hex-or-dash: bit `i` for byte `i` of `block`.
    #[inline(always)]
    fn block(block: &[u8; 16]) -> Block {
        let v = load_unaligned_m128i(block);
        let splat = |b: u8| set_splat_i8_m128i(b as i8);
        let eq = |b: u8| cmp_eq_mask_i8_m128i(v, splat(b));
        // Bytes of 0x80 and up are negative as i8: below `0` and `a`, so in no range.
        let within = |x: m128i, lo: u8, hi: u8| {
            bitand_m128i(
                cmp_gt_mask_i8_m128i(x, splat(lo - 1)),
                cmp_lt_mask_i8_m128i(x, splat(hi + 1)),
            )
        };
        let digit = within(v, b'0', b'9');
        // Or-ing 0x20 maps `A`-`F` (and nothing else outside it) onto `a`-`f`.
        let hex = bitor_m128i(digit, within(bitor_m128i(v, splat(0x20)), b'a', b'f'));
        let uuid = bitor_m128i(hex, eq(b'-'));
        let bits = |m: m128i| u64::from(move_mask_i8_m128i(m) as u16);
        [
            bits(eq(b'/')),
            bits(eq(b'?')),
            bits(eq(b'.')),
            bits(eq(KEY_SEP)),
            bits(digit),
            bits(hex),
            bits(uuid),
        ]
    }

    /// Ors `masks >> drop << at` into `into`.
    #[inline(always)]
    fn put(into: &mut Block, masks: Block, drop: usize, at: usize) {
        for (i, m) in into.iter_mut().zip(masks) {
            *i |= m >> drop << at;
        }
    }

    /// Whether every byte of `s` (16 to 64 bytes long, else `None`) is a hex digit or a dash.
    #[inline(always)]
    pub(super) fn all_hex_or_dash(s: &[u8]) -> Option<bool> {
        let n = s.len();
        if !(16..=64).contains(&n) {
            return None;
        }
        let mut all = true;
        let mut at = 0;
        while at < n {
            // The last block overlaps the one before it instead of reading past the end.
            let from = at.min(n - 16);
            let b: &[u8; 16] = s.get(from..from + 16)?.try_into().ok()?;
            all &= block(b)[6] == 0xffff;
            at += 16;
        }
        Some(all)
    }

    /// The classes of `path`, or `None` when it is shorter than 4 bytes or 64 or longer
    /// without a `?` among its first 64.
    #[inline(always)]
    pub(super) fn classes(path: &[u8]) -> Option<Classes> {
        let n = path.len().min(64);
        if n < 4 {
            return None;
        }
        let mut m: Block = [0; 7];
        if n < 16 {
            // The path right-aligned in a zeroed block (zero is in no class), then shifted
            // down.
            let (b, pad) = crate::bytes::right_aligned(path.get(..n)?)?;
            put(&mut m, block(&b), pad, 0);
        } else {
            let mut at = 0;
            while let Some(b) = path.get(at..at + 16).filter(|_| at + 16 <= n) {
                put(&mut m, block(b.try_into().ok()?), 0, at);
                at += 16;
            }
            if at < n {
                // The last 16 bytes, overlapping the block before: its bytes' bits again.
                let b = path.get(n - 16..n)?.try_into().ok()?;
                put(&mut m, block(b), 0, n - 16);
            }
        }
        let [slash, query, dot, sep, digit, hex, uuid] = m;
        let end = match query {
            0 if path.len() >= 64 => return None,
            0 => n,
            q => q.trailing_zeros() as usize,
        };
        let within = below(end);
        Some(Classes {
            end,
            slash: slash & within,
            dot,
            digit,
            hex,
            uuid,
            seen: sep & within != 0,
        })
    }
}

/// [`normalize_route`] in one pass over the path, a byte at a time: each segment (and each
/// dot-separated part of one) is classified while its end is searched, and the unchanged
/// runs between replacements are copied in one piece. Returns whether the output holds a
/// [`KEY_SEP`] (copied from the path).
#[inline(never)]
fn normalize_bytewise(path: &[u8], out: &mut Vec<u8>) -> bool {
    let mut seen = false;
    // `path[copied..]` is not in `out` yet; `path[..copied]` is (or its replacement is).
    let mut copied = 0;
    // The empty segment before a leading `/` (nearly every path) needs no look.
    let mut start = usize::from(path.first() == Some(&b'/'));
    loop {
        let (mut all, mut end, mut stop) = route_run(&path[start..], &mut seen);
        end += start;
        if stop & S_DOT != 0 {
            // A file name: no whole-segment rule applies (a dot is neither a digit nor hex),
            // but each dot-separated part may be a content hash (`app.0c5e9f7a.js`).
            let mut part = start;
            loop {
                if hash_like(all, end - part) {
                    put_replaced(out, &path[copied..part], b"{hash}");
                    copied = end;
                }
                if stop & S_DOT == 0 {
                    break;
                }
                part = end + 1;
                let run;
                (all, run, stop) = route_run(&path[part..], &mut seen);
                end = part + run;
            }
        } else {
            let len = end - start;
            if all & A_DIGIT != 0 && len > 0 {
                put_replaced(out, &path[copied..start], b"{id}");
                copied = end;
            } else if all & A_UUID != 0 && len >= 8 {
                // Only hex digits and dashes: a UUID, a long hex string or a content hash.
                if len == 36 && is_uuid_of_hex_and_dashes(&path[start..end]) {
                    put_replaced(out, &path[copied..start], b"{uuid}");
                    copied = end;
                } else if all & A_HEX != 0 && len >= 16 {
                    put_replaced(out, &path[copied..start], b"{hex}");
                    copied = end;
                } else if hash_like(all, len) {
                    put_replaced(out, &path[copied..start], b"{hash}");
                    copied = end;
                }
            }
        }
        if stop & S_SLASH == 0 {
            // The end of the path or the start of its query string.
            out.extend_from_slice(&path[copied..end]);
            return seen;
        }
        start = end + 1;
    }
}

/// Whether 36 hex digits and dashes are a UUID: dashes at their four places and nowhere else.
fn is_uuid_of_hex_and_dashes(s: &[u8]) -> bool {
    // Every byte is a hex digit (0x30 and up) or a dash (0x2D): adding 0x50 sets the top bit
    // of a digit's byte only, without a carry into the next byte. Each eight bytes must show
    // digits everywhere but at the dashes' places (8, 13 | 18, 23).
    const TOP: u64 = 0x8080_8080_8080_8080;
    const WANT: [u64; 4] = [
        TOP,
        TOP & !(0x80 | 0x80 << 40),
        TOP & !(0x80 << 16 | 0x80 << 56),
        TOP,
    ];
    let (words, rest) = s.as_chunks::<8>();
    s.len() == 36
        && words.iter().zip(WANT).all(|(w, want)| {
            u64::from_le_bytes(*w).wrapping_add(0x5050_5050_5050_5050) & TOP == want
        })
        && rest.iter().all(|&b| b >= b'0')
}

/// [`normalize_route`] as first written, slow and plain: split at `/`, test each segment
/// against each rule, then split file names at `.`. The oracle the fast normaliser is tested
/// against (unit and property tests, and the `route` fuzz target); nothing on the hot path
/// calls it.
pub fn normalize_route_reference(path: &[u8], out: &mut Vec<u8>) {
    let path = match memchr::memchr(b'?', path) {
        Some(q) => &path[..q],
        None => path,
    };
    let uuid = |s: &[u8]| {
        s.len() == 36
            && s.iter().enumerate().all(|(i, &c)| match i {
                8 | 13 | 18 | 23 => c == b'-',
                _ => c.is_ascii_hexdigit(),
            })
    };
    for (i, seg) in path.split(|&b| b == b'/').enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        if !seg.is_empty() && seg.iter().all(u8::is_ascii_digit) {
            out.extend_from_slice(b"{id}");
        } else if uuid(seg) {
            out.extend_from_slice(b"{uuid}");
        } else if seg.len() >= 16 && seg.iter().all(u8::is_ascii_hexdigit) {
            out.extend_from_slice(b"{hex}");
        } else {
            for (j, part) in seg.split(|&b| b == b'.').enumerate() {
                if j > 0 {
                    out.push(b'.');
                }
                let hashlike = part.len() >= 8
                    && part.iter().all(u8::is_ascii_hexdigit)
                    && part.iter().any(u8::is_ascii_digit);
                out.extend_from_slice(if hashlike { b"{hash}" } else { part });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaced_tails_are_whole_segments_of_digits_or_a_uuid() {
        let u = "0c5e9f7a-1b2c-4d3e-8f9a-0b1c2d3e4f5a";
        for (path, want) in [
            ("/users/47".to_string(), Some((7, Tail::Id))),
            ("/users/0123456789012".to_string(), Some((7, Tail::Id))),
            ("/47".to_string(), Some((1, Tail::Id))),
            ("47".to_string(), None),
            ("/users/a47".to_string(), None),
            ("/users/".to_string(), None),
            ("/v1".to_string(), None),
            ("/search?page=/3".to_string(), Some((14, Tail::Id))),
            (format!("/orders/{u}"), Some((8, Tail::Uuid))),
            (
                format!("/orders/{}", u.to_uppercase()),
                Some((8, Tail::Uuid)),
            ),
            (format!("/orders/{}1", &u[..35]), Some((8, Tail::Uuid))),
            (format!("/orders/x{u}"), None),
            (format!("/orders/{}", u.replace('-', "0")), None),
            (format!("/orders/{}", &u[..35]), None),
            (u.to_string(), None),
        ] {
            assert_eq!(replaced_tail(path.as_bytes()), want, "{path}");
        }
    }

    proptest::proptest! {
        /// The digit count by words is the count byte by byte, for any bytes before them.
        #[test]
        fn trailing_digits_by_words_count_like_bytes(
            s in proptest::collection::vec(proptest::sample::select(
                b"0123456789/:\x00\x2f\x3a\x39\x30\xff\xc9\x36\x40".to_vec()), 0..24),
        ) {
            proptest::prop_assert_eq!(
                trailing_digits(&s),
                s.iter().rev().take_while(|b| b.is_ascii_digit()).count()
            );
        }

        /// Paths with the same bytes before a replaced tail, and tails of the same kind, have
        /// the same route (what the route memo's keys rely on).
        #[test]
        fn paths_that_differ_only_in_a_replaced_tail_share_their_route(
            prefix in "(/|[0-9]{1,3}|[a-f]{1,9}|[g-z]{1,3}|\\.|-|\\?|\u{1f}){0,8}/",
            a in "[0-9]{1,12}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
            b in "[0-9]{1,12}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        ) {
            let (pa, pb) = (format!("{prefix}{a}"), format!("{prefix}{b}"));
            let (ta, tb) = (replaced_tail(pa.as_bytes()), replaced_tail(pb.as_bytes()));
            proptest::prop_assert_eq!(ta.map(|t| t.0), Some(prefix.len()));
            if ta.map(|t| t.1) == tb.map(|t| t.1) {
                let (mut ra, mut rb) = (Vec::new(), Vec::new());
                normalize_route_reference(pa.as_bytes(), &mut ra);
                normalize_route_reference(pb.as_bytes(), &mut rb);
                proptest::prop_assert_eq!(ra, rb);
            }
        }

        #[test]
        fn route_normalisation_agrees_with_the_reference(
            path in "(/|[0-9]{1,20}|[0-9a-f]{1,20}|[0-9A-Fa-f]{6,18}|[a-z]{1,6}|[g-zG-Z%_~+]{1,3}|\\.|-|\\?|\u{1f}|[0-9a-f-]{36}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-f]{4}-[0-9A-F]{4}-[0-9a-f]{12}|[0-9a-f-]{8}-[0-9a-f-]{4}-[0-9a-f-]{4}-[0-9a-f-]{4}-[0-9a-f-]{12}){0,12}"
        ) {
            agrees(path.as_bytes())?;
        }

        /// Whole segments near each rule's edges (a digit, hex or dash more or less).
        #[test]
        fn route_segments_agree_with_the_reference(
            path in "(/([0-9]{0,3}|[0-9a-fA-F]{7,17}|([0-9a-f]{8}|[0-9a-f]{2}-[0-9a-f]{5}|[0-9a-f]{7})-[0-9a-fA-F]{4}-([0-9a-f]{4}|[0-9a-f]{3}-)-[0-9a-f]{4}-([0-9a-f]{12}|[0-9a-f]{6}-[0-9a-f]{5}|[0-9a-f]{13})|[a-z0-9]{0,9}\\.[0-9a-f]{7,9}(\\.[a-z0-9]{0,3})?|[0-9a-f\u{1f}]{1,9})){0,6}/?(\\?[a-z0-9./]{0,8})?"
        ) {
            agrees(path.as_bytes())?;
        }

        /// Any bytes of the classes' edges (`/` and `:` around the digits, `` ` `` and `g`
        /// around `a`-`f`, `@` and `G` around `A`-`F`, bytes of 0x80 and up), at every length
        /// around the 16-byte blocks and the 64-byte reach of the masks.
        #[test]
        fn any_path_agrees_with_the_reference(
            path in proptest::collection::vec(proptest::sample::select(
                b"/////...??--0123456789:`abcdefgAFG@\x1f\x00\x80\xc3\xff".to_vec()), 0..100),
        ) {
            agrees(&path)?;
        }
    }

    /// The normaliser (with its SSE2 masks where it has them) and the byte-at-a-time one
    /// give the reference's output after a prefix, and say whether it holds a KEY_SEP.
    fn agrees(path: &[u8]) -> Result<(), proptest::test_runner::TestCaseError> {
        let mut want = b"prefix".to_vec();
        normalize_route_reference(path, &mut want);
        let (mut fast, mut bytewise) = (b"prefix".to_vec(), b"prefix".to_vec());
        let seen = normalize_route_seen(path, &mut fast);
        let seen_bytewise = normalize_bytewise(path, &mut bytewise);
        proptest::prop_assert_eq!(&fast, &want, "{:?}", String::from_utf8_lossy(path));
        proptest::prop_assert_eq!(&bytewise, &want);
        // The normaliser's word on KEY_SEP lets the group key skip its search.
        proptest::prop_assert_eq!(seen, want.contains(&KEY_SEP));
        proptest::prop_assert_eq!(seen_bytewise, seen);
        Ok(())
    }

    /// Each rule's segment at every offset of the masks' reach, and a query string starting
    /// on each side of byte 64.
    #[test]
    fn segments_at_every_offset_agree() {
        let segments = [
            "3f2b8c1e-1d2a-4c3b-9a8e-0123456789ab",
            "3f2b8c1e-1d2a-4c3b-9a8e-0123456789a-",
            "deadbeefdeadbeef",
            "deadbee1",
            "12345",
            "app.0c5e9f7a.js",
        ];
        for seg in segments {
            for pad in 0..70 {
                for tail in ["", "/", "?q=1", "/x?y/1"] {
                    let path = format!("/{}/{seg}{tail}", "a".repeat(pad));
                    agrees(path.as_bytes()).unwrap();
                }
            }
        }
    }

    #[test]
    fn routes_are_normalised() {
        let n = |p: &str| {
            let mut out = Vec::new();
            normalize_route(p.as_bytes(), &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(n("/users/123/posts/9?x=1"), "/users/{id}/posts/{id}");
        assert_eq!(n("/o/3f2b8c1e-1d2a-4c3b-9a8e-0123456789ab"), "/o/{uuid}");
        assert_eq!(n("/blob/deadbeefdeadbeef00"), "/blob/{hex}");
        assert_eq!(n("/static/app.js"), "/static/app.js");
        assert_eq!(n("/static/app.0c5e9f7a.js"), "/static/app.{hash}.js");
        assert_eq!(n("/static/deadbeef.css"), "/static/deadbeef.css");
        assert_eq!(n("/v1.2/x"), "/v1.2/x");
        // Each rule's edges: case, length, a dash more or out of place, parts of a file name.
        assert_eq!(n("/o/3F2B8C1E-1D2A-4C3B-9A8E-0123456789AB/"), "/o/{uuid}/");
        for near in [
            "0123abcd-0123-012-30123-0123456789ab",
            "0123abcd-0123-0123-0123-0123456789-b",
            "0123abcd-0123-0123-0123-0123456789abc",
        ] {
            assert_eq!(n(&format!("/o/{near}")), format!("/o/{near}"));
        }
        assert_eq!(n("/ABCDEFabcdefABCD"), "/{hex}");
        assert_eq!(n("/abcdefabcdefabc"), "/abcdefabcdefabc");
        assert_eq!(n("/abcdefabcdefab1"), "/{hash}");
        assert_eq!(n("/deadbee1/deadbee/deadbeef"), "/{hash}/deadbee/deadbeef");
        assert_eq!(n("/APP.0C5E9F7A.JS?v=0c5e9f7a1"), "/APP.{hash}.JS");
        assert_eq!(n("/a.b.0c5e9f7a./.0c5e9f7a"), "/a.b.{hash}./.{hash}");
        assert_eq!(n("//1//?/2"), "//{id}//");
    }
}
