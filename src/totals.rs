//! Counters that add up across runs: what Prometheus counters and histograms report.
//!
//! Owns: [`Totals`], the cumulative counts of every run since a state file was created
//! (lines, requests by status and class, bytes, latency histograms, audit counts per
//! load-balancer IP and finding, per-group requests and latency), how one run is added to
//! them, and their serde shape (stored in the `--state` file under `"totals"`, written in the
//! same atomic replacement as the offsets, so counters and offsets never disagree).
//! Without `--state`, [`Totals::of_run`] gives the totals of the one run.
//!
//! Does not own: computing a run (that is `scan`, `summary`, `audit`), rendering (that is
//! `report::metrics`), or the state file itself (`state`).
//!
//! Counters only ever grow, so Prometheus' `rate()` and `increase()` see one counter through
//! every run, rotation and restart. A label once seen keeps its series (at its cumulative
//! value) instead of vanishing; the number of labels kept is bounded ([`MAX_KEYS`]), further
//! keys are counted under `other`. A histogram whose bucket bounds changed (`--buckets`) is
//! restarted, which Prometheus treats as a counter reset.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::audit::AuditView;
use crate::summary::{LatencyView, SummaryView};

/// Distinct label values kept per family (status codes, LB IPs, findings, groups).
pub const MAX_KEYS: usize = 1000;

/// A cumulative latency histogram.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    /// Bucket upper bounds in seconds (`le`), ascending.
    pub le: Vec<f64>,
    /// Values at or below each bound (cumulative), one per bound.
    pub buckets: Vec<u64>,
    /// Every value (the `+Inf` bucket).
    pub count: u64,
    /// Sum of the values in seconds.
    pub sum: f64,
}

impl Histogram {
    fn of(l: &LatencyView) -> Self {
        Histogram {
            le: l.buckets.iter().map(|b| b.0).collect(),
            buckets: l.buckets.iter().map(|b| b.1).collect(),
            count: l.count,
            sum: l.sum,
        }
    }

    /// Adds a run; restarts when the bounds changed.
    fn add(&mut self, run: &Histogram) {
        if self.le != run.le {
            *self = run.clone();
            return;
        }
        for (a, b) in self.buckets.iter_mut().zip(&run.buckets) {
            *a += b;
        }
        self.count += run.count;
        self.sum += run.sum;
    }
}

/// Cumulative audit counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditTotals {
    /// Lines audited.
    pub checked: u64,
    /// Lines whose logged client is not the real client.
    pub misresolved: u64,
    /// Lines logged with an untrusted load-balancer IP as the client, per IP.
    pub unresolved_lb_ips: BTreeMap<String, u64>,
    /// Findings by kind.
    pub findings: BTreeMap<String, u64>,
    /// Lines nginx resolved past a load-balancer IP (it trusts it), per IP.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub trusted_lb_ips: BTreeMap<String, u64>,
    /// `config_drift` lines by direction (`trusted_not_declared`, `declared_not_trusted`, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub config_drift: BTreeMap<String, u64>,
}

/// Cumulative per-group counts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupTotals {
    /// Requests.
    pub requests: u64,
    /// `$request_time`.
    pub request_time: Histogram,
}

/// Counts since `since`, cumulative across runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// When counting started (seconds since the epoch): the first run that kept totals.
    pub since: u64,
    /// Runs added.
    pub runs: u64,
    /// Lines read.
    pub lines: u64,
    /// Lines parsed.
    pub parsed: u64,
    /// Lines that could not be parsed.
    pub malformed: u64,
    /// Requests (parsed lines).
    pub requests: u64,
    /// Sum of `$body_bytes_sent`.
    pub bytes: u64,
    /// Requests by status code.
    pub status: BTreeMap<String, u64>,
    /// Requests by status class (`499` also in `4xx`).
    pub status_class: BTreeMap<String, u64>,
    /// `$request_time`.
    pub request_time: Histogram,
    /// `$upstream_response_time` (sum per request).
    pub upstream_response_time: Histogram,
    /// The audit, once one ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditTotals>,
    /// The group-by key of `groups`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<String>,
    /// Per group (the top groups of each run, and `others`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub groups: BTreeMap<String, GroupTotals>,
}

/// Adds `n` to `key`, or to `other` when `MAX_KEYS` keys are already kept.
fn bump(map: &mut BTreeMap<String, u64>, key: &str, n: u64) {
    if let Some(v) = map.get_mut(key) {
        *v += n;
    } else if map.len() < MAX_KEYS {
        map.insert(key.to_string(), n);
    } else {
        *map.entry("other".to_string()).or_insert(0) += n;
    }
}

impl Totals {
    /// Empty totals starting at `since`.
    pub fn new(since: u64) -> Self {
        Totals {
            since,
            ..Totals::default()
        }
    }

    /// The totals of one run alone.
    pub fn of_run(
        epoch: u64,
        lines: u64,
        parsed: u64,
        malformed: u64,
        summary: Option<&SummaryView>,
        audit: Option<&AuditView>,
    ) -> Self {
        let mut t = Totals::new(epoch);
        t.add_run(lines, parsed, malformed, summary, audit);
        t
    }

    /// Adds one run.
    pub fn add_run(
        &mut self,
        lines: u64,
        parsed: u64,
        malformed: u64,
        summary: Option<&SummaryView>,
        audit: Option<&AuditView>,
    ) {
        self.runs += 1;
        self.lines += lines;
        self.parsed += parsed;
        self.malformed += malformed;
        if let Some(s) = summary {
            self.requests += s.requests;
            self.bytes = self.bytes.saturating_add(s.bytes);
            for (code, n) in &s.status {
                bump(&mut self.status, code, *n);
            }
            for (class, n) in s.status_class.pairs() {
                bump(&mut self.status_class, class, n);
            }
            self.request_time.add(&Histogram::of(&s.request_time));
            self.upstream_response_time
                .add(&Histogram::of(&s.upstream_response_time));
            let by = s.group_by.clone();
            if by != self.group_by {
                // Another grouping: its series start over.
                self.groups.clear();
                self.group_by = by;
            }
            // Several keys: the values joined by KEY_SEP (one Prometheus label each).
            let sep = char::from(crate::summary::KEY_SEP).to_string();
            let nkeys = self.group_by.as_deref().map_or(1, |b| b.split(',').count());
            for g in &s.groups {
                let run = Histogram::of(&g.request_time);
                let own = if g.keys.is_empty() {
                    g.key.clone()
                } else {
                    g.keys.join(&sep)
                };
                let key = if self.groups.contains_key(&own) || self.groups.len() < MAX_KEYS {
                    own
                } else {
                    vec!["others"; nkeys].join(&sep)
                };
                let e = self.groups.entry(key).or_default();
                e.requests += g.requests;
                if e.request_time.le.is_empty() && e.request_time.count == 0 {
                    e.request_time = run;
                } else {
                    e.request_time.add(&run);
                }
            }
        }
        if let Some(a) = audit {
            let t = self.audit.get_or_insert_with(AuditTotals::default);
            t.checked += a.checked;
            t.misresolved += a.misresolved;
            for l in &a.unresolved_lb_ips {
                bump(&mut t.unresolved_lb_ips, &l.ip, l.lines);
            }
            for l in &a.trusted_lb_ips {
                bump(&mut t.trusted_lb_ips, &l.ip, l.lines);
            }
            for f in &a.findings {
                bump(&mut t.findings, f.kind, f.count);
                if let Some(d) = f.direction {
                    bump(&mut t.config_drift, d, f.count);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(le: &[f64], buckets: &[u64], count: u64, sum: f64) -> Histogram {
        Histogram {
            le: le.to_vec(),
            buckets: buckets.to_vec(),
            count,
            sum,
        }
    }

    #[test]
    fn histograms_add_bucket_by_bucket_and_restart_on_new_bounds() {
        let mut h = Histogram::default();
        h.add(&hist(&[0.1, 1.0], &[1, 2], 3, 2.5));
        h.add(&hist(&[0.1, 1.0], &[0, 4], 4, 1.0));
        assert_eq!(h, hist(&[0.1, 1.0], &[1, 6], 7, 3.5));
        h.add(&hist(&[0.5], &[1], 1, 0.2));
        assert_eq!(h, hist(&[0.5], &[1], 1, 0.2));
    }

    #[test]
    fn label_values_are_bounded() {
        let mut m = BTreeMap::new();
        for i in 0..MAX_KEYS + 5 {
            bump(&mut m, &i.to_string(), 1);
        }
        assert_eq!(m.len(), MAX_KEYS + 1);
        assert_eq!(m["other"], 5);
        bump(&mut m, "0", 2);
        assert_eq!(m["0"], 3);
    }
}
