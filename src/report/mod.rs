//! Rendering results for people and machines.
//!
//! Owns: turning library results into text ([`explain`], [`text`]), JSON ([`json`], the
//! stable contract), TSV, Prometheus and Mackerel lines ([`metrics`]). Computes nothing;
//! renderers return text that the CLI writes. Untrusted bytes become terminal text through
//! [`escape`] (re-exported here; it lives at the bottom of the crate so that errors and
//! parsers below `report` can use it without importing `report`).

pub mod diff;
pub use crate::escape;
pub mod explain;
pub mod html;
pub mod json;
pub mod metrics;
pub mod model;
pub mod text;

pub use model::{MetricsOptions, ScanReport};

/// An output format of `realip scan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Aligned tables (the default on a terminal).
    Table,
    /// The JSON contract (the default when stdout is not a terminal).
    Json,
    /// Tab-separated values.
    Tsv,
    /// Prometheus text exposition.
    Prometheus,
    /// Mackerel metric lines.
    Mackerel,
    /// One self-contained HTML page with charts.
    Html,
}

/// Renders a scan report in the chosen format; tables fit in `width` characters when given
/// (a terminal's width).
pub fn render_width(report: &ScanReport, output: Output, width: Option<usize>) -> String {
    match output {
        Output::Table => text::render_width(report, width),
        other => render(report, other),
    }
}

/// Renders a scan report in the chosen format.
pub fn render(report: &ScanReport, output: Output) -> String {
    match output {
        Output::Table => text::render(report),
        Output::Json => json::render(report),
        Output::Tsv => metrics::tsv(report),
        Output::Prometheus => metrics::prometheus(report),
        Output::Mackerel => metrics::mackerel(report),
        Output::Html => html::render(report),
    }
}
