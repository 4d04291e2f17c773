//! What a scan folds each parsed line into.
//!
//! Owns: the [`Accumulate`] trait (take one record, merge with a peer from another worker),
//! its combinators (a pair rides one read; `None` is an accumulator that is switched off) and
//! [`LineAt`], the position of a line before line numbers are known. `scan` drives
//! accumulators; `summary` and `audit` implement it; it sits below all three so that neither
//! needs to import the scanner.
//! Does not own: parallelism (`scan`), what is accumulated (`summary`, `audit`).

use crate::logfmt::Record;

/// Where a line is before line numbers are known: file, unit (chunk or block) within the
/// file, and line within the unit (all 0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineAt {
    /// Index of the input file.
    pub file: u32,
    /// Index of the chunk or block within the file.
    pub unit: u32,
    /// Line within the unit.
    pub line: u64,
}

/// Something that takes parsed records and merges with its peers from other workers.
pub trait Accumulate: Send + Sized {
    /// Takes one parsed line.
    fn record(&mut self, rec: &Record<'_>, at: LineAt);
    /// Merges another worker's accumulator into this one.
    fn merge(&mut self, other: Self);
}

impl<A: Accumulate, B: Accumulate> Accumulate for (A, B) {
    #[inline]
    fn record(&mut self, rec: &Record<'_>, at: LineAt) {
        self.0.record(rec, at);
        self.1.record(rec, at);
    }

    fn merge(&mut self, other: Self) {
        self.0.merge(other.0);
        self.1.merge(other.1);
    }
}

impl<A: Accumulate> Accumulate for Option<A> {
    #[inline]
    fn record(&mut self, rec: &Record<'_>, at: LineAt) {
        if let Some(a) = self {
            a.record(rec, at);
        }
    }

    fn merge(&mut self, other: Self) {
        match (self.as_mut(), other) {
            (Some(a), Some(b)) => a.merge(b),
            (None, Some(b)) => *self = Some(b),
            _ => {}
        }
    }
}
