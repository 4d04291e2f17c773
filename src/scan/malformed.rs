//! Counting and sampling lines that could not be parsed.
//!
//! Owns: [`Malformed`], the count of bad lines and the first few of them (by position in the
//! input, whatever order the workers met them in) with a reason. Positions are kept as
//! [`LineAt`] until the scan knows every chunk's line count; [`Malformed::resolve`] turns them
//! into `path:line`. Nothing here prints or decides an exit code.

use serde::Serialize;

pub use crate::accumulate::LineAt;

/// A malformed line as reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Sample {
    /// The input's name (`-` for stdin).
    pub path: String,
    /// 1-based line number.
    pub line: u64,
    /// Why the line was not parsed.
    pub reason: String,
}

/// Malformed lines: how many, and the first `limit` of them.
#[derive(Clone, Debug, Default)]
pub struct Malformed {
    count: u64,
    limit: usize,
    samples: Vec<(LineAt, String)>,
}

impl Malformed {
    /// Keeps up to `limit` samples.
    pub fn new(limit: usize) -> Self {
        Malformed {
            count: 0,
            limit,
            samples: Vec::new(),
        }
    }

    /// How many lines were malformed.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether a sample at `at` would be kept (so callers build the reason text only then).
    #[inline]
    pub fn wants(&self, at: LineAt) -> bool {
        self.samples.len() < self.limit || self.samples.last().is_some_and(|(last, _)| at < *last)
    }

    /// Counts one malformed line; `reason` is only called when the sample is kept.
    #[inline]
    pub fn add(&mut self, at: LineAt, reason: impl FnOnce() -> String) {
        self.count += 1;
        if self.wants(at) {
            let i = self.samples.partition_point(|(p, _)| *p < at);
            self.samples.insert(i, (at, reason()));
            self.samples.truncate(self.limit);
        }
    }

    /// Merges another worker's count and samples, keeping the first `limit` by position.
    pub fn merge(&mut self, other: Malformed) {
        self.count += other.count;
        for (at, reason) in other.samples {
            if self.wants(at) {
                let i = self.samples.partition_point(|(p, _)| *p < at);
                self.samples.insert(i, (at, reason));
                self.samples.truncate(self.limit);
            }
        }
    }

    /// The samples with real paths and 1-based line numbers; `line_of` maps a position to
    /// its 0-based line in the file.
    pub fn resolve(&self, names: &[String], line_of: impl Fn(LineAt) -> u64) -> Vec<Sample> {
        self.samples
            .iter()
            .map(|(at, reason)| Sample {
                path: names.get(at.file as usize).cloned().unwrap_or_default(),
                line: line_of(*at) + 1,
                reason: reason.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unit: u32, line: u64) -> LineAt {
        LineAt {
            file: 0,
            unit,
            line,
        }
    }

    #[test]
    fn keeps_the_first_samples_by_position_in_any_order() {
        let mut a = Malformed::new(2);
        a.add(at(3, 0), || "c".into());
        a.add(at(1, 5), || "b".into());
        let mut b = Malformed::new(2);
        b.add(at(0, 9), || "a".into());
        b.add(at(4, 0), || "d".into());
        a.merge(b);
        assert_eq!(a.count(), 4);
        let s = a.resolve(&["x.log".into()], |p| u64::from(p.unit) * 100 + p.line);
        let got: Vec<(u64, &str)> = s.iter().map(|s| (s.line, s.reason.as_str())).collect();
        assert_eq!(got, [(10, "a"), (106, "b")]);
    }
}
