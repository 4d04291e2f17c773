//! What a scan job folds every parsed line into: the time window and the filter decide
//! whether the line counts, then the summary and the audit take it, and lines the audit finds
//! misresolved are counted in the summary's time series.
//!
//! Owns: [`Fold`], one per worker, merged like any accumulator; the `filtered` count.
//! Does not own: the filter language (`filter`), times (`timespec`), what is accumulated
//! (`summary`, `audit`), parallelism (`scan`).
//!
//! The request time is read only when something needs it (`--since`, `--until`,
//! `--bucket`, the audit's first/last times), once per line through a [`TimeCache`], and
//! shared.

use crate::audit::Audit;
use crate::filter::Matcher;
use crate::logfmt::{Record, TimeCache};
use crate::scan::{Accumulate, LineAt};
use crate::summary::Summary;
use crate::timespec::TimeRange;

/// One worker's accumulators behind the time window and the filter.
#[derive(Debug)]
pub struct Fold<'c> {
    /// The summary, unless switched off.
    pub summary: Option<Summary>,
    /// The audit, unless switched off.
    pub audit: Option<Audit<'c>>,
    matcher: Option<Matcher<'c>>,
    range: TimeRange,
    need_time: bool,
    bucketed: bool,
    clock: TimeCache,
    /// Parsed lines left out by the time window or the filter.
    pub filtered: u64,
}

impl<'c> Fold<'c> {
    /// Accumulators behind a window (`range`, open when unset) and a filter (`matcher`).
    /// `bucketed`: the summary keeps a time series (the line's time is needed).
    pub fn new(
        summary: Option<Summary>,
        audit: Option<Audit<'c>>,
        matcher: Option<Matcher<'c>>,
        range: TimeRange,
        bucketed: bool,
    ) -> Self {
        let bucketed = bucketed && summary.is_some();
        let need_time = range.is_set() || bucketed || audit.is_some();
        Fold {
            summary,
            audit,
            matcher,
            range,
            need_time,
            bucketed,
            clock: TimeCache::default(),
            filtered: 0,
        }
    }
}

impl Accumulate for Fold<'_> {
    #[inline]
    fn record(&mut self, rec: &Record<'_>, at: LineAt) {
        let time = if self.need_time {
            self.clock.epoch_seconds(rec)
        } else {
            None
        };
        if self.range.is_set() && !time.is_some_and(|t| self.range.contains(t)) {
            // Outside the window, or without a time to tell.
            self.filtered += 1;
            return;
        }
        if let Some(m) = &mut self.matcher {
            if !m.matches(rec) {
                self.filtered += 1;
                return;
            }
        }
        if let Some(s) = &mut self.summary {
            s.record_at(rec, time);
        }
        if let Some(a) = &mut self.audit {
            if a.record_at(rec, at, time) && self.bucketed {
                if let Some(s) = &mut self.summary {
                    s.note_misresolved(time);
                }
            }
        }
    }

    fn merge(&mut self, other: Self) {
        self.summary.merge(other.summary);
        self.audit.merge(other.audit);
        self.filtered += other.filtered;
    }
}
