//! The data every scan report renders, gathered in one place.
//!
//! Owns: [`ScanReport`], the plain data of a finished scan (counts, malformed samples, input
//! errors, the summary view). Renderers in this folder turn it into text, JSON, TSV,
//! Prometheus or Mackerel lines; none of them computes anything.

use crate::audit::AuditView;
use crate::scan::Sample;
use crate::summary::SummaryView;
use crate::totals::Totals;

/// Options of the metric formats.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricsOptions {
    /// Prometheus: also print this run's percentiles as `…_quantile_seconds` gauges.
    pub prometheus_quantiles: bool,
    /// Mackerel: the first segment of every metric name (default `realip`).
    pub metric_key_prefix: Option<String>,
    /// Mackerel: print the graph definitions (`# mackerel-agent-plugin` and JSON) instead of
    /// values, as mackerel-agent asks with `MACKEREL_AGENT_PLUGIN_META` set.
    pub mackerel_meta: bool,
    /// `--columns`: the columns of the groups table and of TSV, by header name (`key` for
    /// the group key), in this order; `None`: all.
    pub columns: Option<Vec<String>>,
}

/// Everything a scan report shows.
#[derive(Clone, Debug)]
pub struct ScanReport {
    /// Input names, in order.
    pub inputs: Vec<String>,
    /// The log format used, and whether it was detected.
    pub format: String,
    /// Whether the format was detected (`--log-format auto`).
    pub format_detected: bool,
    /// Lines read.
    pub lines: u64,
    /// Lines parsed.
    pub parsed: u64,
    /// Malformed lines.
    pub malformed: u64,
    /// The first malformed lines.
    pub samples: Vec<Sample>,
    /// Inputs that could not be read (or were cut short), as messages.
    pub errors: Vec<String>,
    /// The summary, unless `--no-summary`.
    pub summary: Option<SummaryView>,
    /// The audit, unless `--no-audit` (or it could not run: see `audit_note`).
    pub audit: Option<AuditView>,
    /// Why the audit did not run, or what it assumed.
    pub audit_note: Option<String>,
    /// With `--state`: what this run did (rotations followed, bytes skipped).
    pub state_notes: Option<Vec<String>>,
    /// Seconds covered by this run (incremental runs with `--state`), for rates.
    pub window_seconds: Option<u64>,
    /// Seconds since the epoch when the report was made (for Mackerel lines).
    pub epoch: u64,
    /// The counters Prometheus reports: cumulative since the state file's totals began
    /// (with `--state`); `None` means this run's own counts.
    pub totals: Option<Totals>,
    /// Options of the metric formats.
    pub metrics: MetricsOptions,
    /// Parsed lines left out by `--filter`, `--since` or `--until` (in no summary or audit).
    pub filtered: u64,
    /// What `realip merge` needs (`merge::MergeState` as JSON), written under `mergeable`.
    pub mergeable: Option<serde_json::Value>,
}
