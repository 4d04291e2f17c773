//! Fixed-size loads from short byte slices, shared by the hot paths that compare or classify
//! a few dozen bytes per line without a call (`memcmp`, `memchr`) or a byte loop.
//!
//! Owns: [`ends`] (a slice's first and last `N` bytes as two arrays, overlapping when it is
//! shorter than `2N`) and [`right_aligned`] (a slice of 4 to 16 bytes placed at the end of a
//! zeroed 16-byte block, ready for one SIMD load). Nothing here knows what the bytes mean.
//! Does not own: comparisons and searches built on them (`logfmt::record`, `resolve::header`,
//! `summary`).

/// The first and the last `N` bytes of `s` (the same bytes twice when `s.len() == N`,
/// overlapping below `2N`), or `None` when `s` is shorter than `N`.
#[inline(always)]
pub(crate) fn ends<const N: usize>(s: &[u8]) -> Option<([u8; N], [u8; N])> {
    let n = s.len();
    Some((
        s.get(..N)?.try_into().ok()?,
        s.get(n.checked_sub(N)?..)?.try_into().ok()?,
    ))
}

/// `s` (4 to 16 bytes, else `None`) at the end of a 16-byte block of zeros, and where it
/// starts in the block: two fixed copies of 8 (or 4) bytes from each end, which overlap on the
/// same bytes, instead of a copy of variable length.
#[inline(always)]
pub(crate) fn right_aligned(s: &[u8]) -> Option<([u8; 16], usize)> {
    let n = s.len();
    if !(4..=16).contains(&n) {
        return None;
    }
    let mut block = [0u8; 16];
    let pad = 16 - n;
    if n >= 8 {
        let (head, tail) = ends::<8>(s)?;
        block[pad..pad + 8].copy_from_slice(&head);
        block[8..].copy_from_slice(&tail);
    } else {
        let (head, tail) = ends::<4>(s)?;
        block[pad..pad + 4].copy_from_slice(&head);
        block[12..].copy_from_slice(&tail);
    }
    Some((block, pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ends_are_the_first_and_last_bytes() {
        assert_eq!(ends::<2>(b"abcde"), Some((*b"ab", *b"de")));
        assert_eq!(ends::<2>(b"ab"), Some((*b"ab", *b"ab")));
        assert_eq!(ends::<2>(b"a"), None);
    }

    #[test]
    fn right_aligned_puts_every_length_after_zeros() {
        let bytes: Vec<u8> = (1..=16).collect();
        for n in 0..=17usize {
            let s: Vec<u8> = (1..=n as u8).collect();
            let got = right_aligned(&s);
            if (4..=16).contains(&n) {
                let mut want = [0u8; 16];
                want[16 - n..].copy_from_slice(&bytes[..n]);
                assert_eq!(got, Some((want, 16 - n)), "{n}");
            } else {
                assert_eq!(got, None, "{n}");
            }
        }
    }
}
