//! The route memo of `--group-by route`: per worker, the group that a raw request path went
//! to, so that a path seen again skips the `--route` rules, the normaliser and the group
//! lookup (real traffic repeats its paths: `/`, health checks, static files, API lists).
//!
//! Owns: [`RouteMemo`], a direct-mapped table of [`SLOTS`] slots of one cache line each,
//! filled on first use, and the ids it gives groups. A slot holds a path of up to
//! [`MAX_PATH`] bytes, the index of its group in the summary's group map and that group's id
//! (never 0); longer paths are never memoised. The caller takes a slot's group only when the
//! group at that index still has that id: removing a group moves another one into its index,
//! and ids are never reused (when they run out, after 2^32 - 1 groups, the caller empties the
//! memo and takes every group's id back), so a slot that outlived its group misses instead of
//! counting into the wrong one. A miss only costs time: the path goes
//! the long way and takes the slot. A path whose key is not a kept group ("others") is never
//! memoised, so a hit is always the group that the long way finds.
//! Does not own: route keys (`route`), groups (`summary`).

use crate::bytes::ends;
use crate::logfmt::record::same_short;

/// Slots in a worker's memo: 256 KiB, enough to hold the repeated paths of busy hosts.
pub(super) const SLOTS: usize = 4096;

/// The longest key memoised, so that a slot is one 64-byte cache line.
pub(super) const MAX_PATH: usize = 54;

/// One memoised path and its group.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Slot {
    /// The group's id (0: an empty slot).
    id: u32,
    /// The group's index in the summary's group map when the slot was written.
    group: u32,
    /// The key's length.
    len: u8,
    /// The key's tail (see [`RouteMemo::find`]).
    tail: u8,
    /// The key, then zeros.
    path: [u8; MAX_PATH],
}

const EMPTY: Slot = Slot {
    id: 0,
    group: 0,
    len: 0,
    tail: 0,
    path: [0; MAX_PATH],
};

/// A path's place in the memo, from [`RouteMemo::find`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Found {
    /// The path's group when memoised: valid if the group at `index` still has `id`.
    Group {
        /// The slot, which [`RouteMemo::put`] rewrites if the group is not there any more.
        at: usize,
        /// Where the group was.
        index: usize,
        /// The group's id.
        id: u32,
    },
    /// Not memoised; [`RouteMemo::put`] takes its group into this slot.
    Vacant(usize),
    /// Too long to memoise.
    TooLong,
}

/// Raw request path -> group index, per worker (see the module docs).
#[derive(Clone, Default)]
pub(super) struct RouteMemo {
    /// Empty until the first [`put`](RouteMemo::put), then [`SLOTS`] long.
    slots: Vec<Slot>,
    /// The last id given (0: none yet).
    last_id: u32,
}

impl std::fmt::Debug for RouteMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteMemo")
            .field("slots", &self.slots.len())
            .field("last_id", &self.last_id)
            .finish()
    }
}

/// The slot of `path` (at most [`MAX_PATH`] bytes): a hash of its length and of its first and
/// last 16 bytes (all of it up to 32 bytes; an ID is nearly always in them), by one folded
/// multiply. Paths that differ only in the middle of a long path share a slot, which costs
/// misses, never a wrong group: a hit compares the whole path.
#[inline(always)]
fn slot_of(path: &[u8], tail: u8) -> usize {
    fn fold(a: u64, b: u64) -> u64 {
        let m = u128::from(a ^ 0x243f_6a88_85a3_08d3)
            .wrapping_mul(u128::from(b ^ 0x1319_8a2e_0370_7344));
        (m as u64) ^ (m >> 64) as u64
    }
    let n = path.len();
    let (a, b, c, d) = if let Some((head, tail)) = ends::<16>(path) {
        let w = |x: [u8; 16]| {
            let [lo, hi] =
                [&x[..8], &x[8..]].map(|h| u64::from_le_bytes(h.try_into().unwrap_or_default()));
            (lo, hi)
        };
        let ((a, b), (c, d)) = (w(head), w(tail));
        (a, b, c, d)
    } else if let Some((head, tail)) = ends::<8>(path) {
        (u64::from_le_bytes(head), u64::from_le_bytes(tail), 0, 0)
    } else if let Some((head, tail)) = ends::<4>(path) {
        (
            u64::from(u32::from_le_bytes(head)),
            u64::from(u32::from_le_bytes(tail)),
            0,
            0,
        )
    } else {
        let mut w = [0u8; 8];
        if let Some(to) = w.get_mut(..n) {
            to.copy_from_slice(path);
        }
        (u64::from_le_bytes(w), 0, 0, 0)
    };
    // The words at the end are turned so that equal ends (a path of 16 bytes) do not cancel.
    let h = fold(
        a ^ c.rotate_left(29),
        b ^ d.rotate_left(43) ^ (n as u64 | u64::from(tail) << 8),
    );
    (h >> 32) as usize % SLOTS
}

impl RouteMemo {
    /// Where the key (`path`, `tail`) is in the memo: a raw path with `tail` 0, or the start
    /// of a path before a last segment that the normaliser replaces whole, with that
    /// segment's kind (`route::Tail` as a byte).
    #[inline(always)]
    pub(super) fn find(&self, path: &[u8], tail: u8) -> Found {
        if path.len() > MAX_PATH {
            return Found::TooLong;
        }
        let at = slot_of(path, tail);
        match self.slots.get(at) {
            Some(s)
                if s.id != 0
                    && usize::from(s.len) == path.len()
                    && s.tail == tail
                    && same_short(s.path.get(..path.len()).unwrap_or_default(), path) =>
            {
                Found::Group {
                    at,
                    index: s.group as usize,
                    id: s.id,
                }
            }
            _ => Found::Vacant(at),
        }
    }

    /// Memoises the key (`path`, `tail`), which [`find`](RouteMemo::find) placed at `at`, as
    /// going to the group at `group`, whose id is `id` (0, a group without one: not
    /// memoised).
    #[inline]
    pub(super) fn put(&mut self, at: usize, path: &[u8], tail: u8, group: usize, id: u32) {
        let Ok(group) = u32::try_from(group) else {
            return;
        };
        if id == 0 {
            return;
        }
        if self.slots.is_empty() {
            self.slots = vec![EMPTY; SLOTS];
        }
        if let (Some(slot), Ok(len)) = (self.slots.get_mut(at), u8::try_from(path.len())) {
            if let Some(to) = slot.path.get_mut(..path.len()) {
                to.copy_from_slice(path);
                slot.id = id;
                slot.group = group;
                slot.len = len;
                slot.tail = tail;
            }
        }
    }

    /// An id for a group, never 0 and never given before; `None` once every id was given:
    /// the caller then [`clear`](RouteMemo::clear)s the memo and takes back every group's id
    /// before it asks again.
    #[inline]
    pub(super) fn new_id(&mut self) -> Option<u32> {
        self.last_id = self.last_id.checked_add(1)?;
        Some(self.last_id)
    }

    /// Empties every slot and starts the ids again.
    pub(super) fn clear(&mut self) {
        self.slots.fill(EMPTY);
        self.last_id = 0;
    }

    /// Makes the next id the last one (tests of running out of ids).
    #[cfg(test)]
    pub(super) fn use_ids_up_to(&mut self, last: u32) {
        self.last_id = last;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_found_once_put_with_its_group_and_id() {
        let mut memo = RouteMemo::default();
        let id = memo.new_id().unwrap();
        let Found::Vacant(at) = memo.find(b"/api/v1/users/47", 0) else {
            panic!("an empty memo holds nothing");
        };
        memo.put(at, b"/api/v1/users/47", 0, 3, id);
        assert_eq!(
            memo.find(b"/api/v1/users/47", 0),
            Found::Group { at, index: 3, id }
        );
        assert!(matches!(
            memo.find(b"/api/v1/users/48", 0),
            Found::Vacant(_)
        ));
        assert!(matches!(memo.find(b"/api/v1/users/4", 0), Found::Vacant(_)));
        // A group without an id is never memoised.
        let Found::Vacant(at) = memo.find(b"/b", 0) else {
            panic!("not put");
        };
        memo.put(at, b"/b", 0, 1, 0);
        assert_eq!(memo.find(b"/b", 0), Found::Vacant(at));
        // The same bytes with another tail are another key.
        let id = memo.new_id().unwrap();
        let Found::Vacant(at) = memo.find(b"/api/v1/users/", 1) else {
            panic!("not put");
        };
        memo.put(at, b"/api/v1/users/", 1, 4, id);
        assert!(matches!(
            memo.find(b"/api/v1/users/", 1),
            Found::Group { index: 4, .. }
        ));
        assert!(matches!(memo.find(b"/api/v1/users/", 0), Found::Vacant(_)));
        assert!(matches!(memo.find(b"/api/v1/users/", 2), Found::Vacant(_)));
    }

    #[test]
    fn paths_up_to_the_limit_are_memoised_and_longer_ones_never() {
        let mut memo = RouteMemo::default();
        for n in [0, 1, 4, 8, 16, 17, 32, 33, MAX_PATH] {
            let path = vec![b'/'; n];
            let Found::Vacant(at) = memo.find(&path, 0) else {
                panic!("{n} bytes: found before put");
            };
            let id = memo.new_id().unwrap();
            memo.put(at, &path, 0, n, id);
            assert_eq!(
                memo.find(&path, 0),
                Found::Group { at, index: n, id },
                "{n} bytes"
            );
        }
        assert_eq!(memo.find(&[b'/'; MAX_PATH + 1], 0), Found::TooLong);
    }

    #[test]
    fn ids_run_out_instead_of_wrapping_and_clear_starts_again_empty() {
        let mut memo = RouteMemo::default();
        assert_eq!(memo.new_id(), Some(1));
        let Found::Vacant(at) = memo.find(b"/a", 0) else {
            panic!("empty");
        };
        memo.put(at, b"/a", 0, 0, 1);
        memo.use_ids_up_to(u32::MAX - 1);
        assert_eq!(memo.new_id(), Some(u32::MAX));
        assert_eq!(memo.new_id(), None);
        assert_eq!(memo.new_id(), None);
        memo.clear();
        assert_eq!(memo.find(b"/a", 0), Found::Vacant(at));
        assert_eq!(memo.new_id(), Some(1));
    }

    proptest::proptest! {
        /// Whatever is put, a hit is the group and id last put for exactly that path.
        #[test]
        fn a_hit_is_the_last_group_put_for_that_path(
            ops in proptest::collection::vec(
                (proptest::collection::vec(proptest::sample::select(vec![b'/', b'1', b'a']), 0..60), 0usize..50),
                1..200,
            ),
        ) {
            let mut memo = RouteMemo::default();
            let mut truth: std::collections::HashMap<Vec<u8>, (usize, u32)> = Default::default();
            for (path, group) in ops {
                match memo.find(&path, 0) {
                    Found::Group { index, id, .. } => {
                        proptest::prop_assert_eq!(Some(&(index, id)), truth.get(&path));
                    }
                    Found::Vacant(at) => {
                        let id = memo.new_id().unwrap();
                        memo.put(at, &path, 0, group, id);
                        truth.insert(path, (group, id));
                    }
                    Found::TooLong => proptest::prop_assert!(path.len() > MAX_PATH),
                }
            }
        }
    }
}
