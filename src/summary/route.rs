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

/// [`normalize_route`] in one pass over the path: each segment (and each dot-separated part
/// of one) is classified while its end is searched, and the unchanged runs between
/// replacements are copied in one piece. Returns whether the output holds a [`KEY_SEP`]
/// (copied from the path).
pub(super) fn normalize_route_seen(path: &[u8], out: &mut Vec<u8>) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The normalisation as first written: the reference the faster one must agree with.
    fn normalize_route_reference(path: &[u8], out: &mut Vec<u8>) {
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

    proptest::proptest! {
        #[test]
        fn route_normalisation_agrees_with_the_reference(
            path in "(/|[0-9]{1,20}|[0-9a-f]{1,20}|[0-9A-Fa-f]{6,18}|[a-z]{1,6}|[g-zG-Z%_~+]{1,3}|\\.|-|\\?|\u{1f}|[0-9a-f-]{36}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-f]{4}-[0-9A-F]{4}-[0-9a-f]{12}|[0-9a-f-]{8}-[0-9a-f-]{4}-[0-9a-f-]{4}-[0-9a-f-]{4}-[0-9a-f-]{12}){0,12}"
        ) {
            let (mut a, mut b) = (b"prefix".to_vec(), b"prefix".to_vec());
            let seen = normalize_route_seen(path.as_bytes(), &mut a);
            normalize_route_reference(path.as_bytes(), &mut b);
            proptest::prop_assert_eq!(&a, &b);
            // The normaliser's word on KEY_SEP lets the group key skip its search.
            proptest::prop_assert_eq!(seen, a.contains(&KEY_SEP));
        }

        /// Whole segments near each rule's edges (a digit, hex or dash more or less).
        #[test]
        fn route_segments_agree_with_the_reference(
            path in "(/([0-9]{0,3}|[0-9a-fA-F]{7,17}|([0-9a-f]{8}|[0-9a-f]{2}-[0-9a-f]{5}|[0-9a-f]{7})-[0-9a-fA-F]{4}-([0-9a-f]{4}|[0-9a-f]{3}-)-[0-9a-f]{4}-([0-9a-f]{12}|[0-9a-f]{6}-[0-9a-f]{5}|[0-9a-f]{13})|[a-z0-9]{0,9}\\.[0-9a-f]{7,9}(\\.[a-z0-9]{0,3})?|[0-9a-f\u{1f}]{1,9})){0,6}/?(\\?[a-z0-9./]{0,8})?"
        ) {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let seen = normalize_route_seen(path.as_bytes(), &mut a);
            normalize_route_reference(path.as_bytes(), &mut b);
            proptest::prop_assert_eq!(&a, &b);
            proptest::prop_assert_eq!(seen, a.contains(&KEY_SEP));
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
