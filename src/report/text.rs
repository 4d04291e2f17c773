//! Human-readable tables for `realip scan --output table`.
//!
//! Owns: layout (aligned columns, thousands separators, a few significant digits for times).
//! Every text that came from a log goes through [`escape_str`] first.

use std::fmt::Write;

use super::escape::escape_str;
use super::model::ScanReport;
use crate::summary::{LatencyView, StatusClassView, SummaryView};

/// `1234567` -> `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn secs(v: Option<f64>) -> String {
    match v {
        None => "-".to_string(),
        Some(v) if v >= 100.0 => format!("{v:.0}"),
        Some(v) if v >= 10.0 => format!("{v:.1}"),
        Some(v) => format!("{v:.3}"),
    }
}

fn bytes(n: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// Left-aligns the first column and right-aligns the rest.
fn table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let w = widths[c];
            if c == 0 {
                let _ = write!(line, "  {cell:<w$}");
            } else {
                let _ = write!(line, "  {cell:>w$}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn latency_row(name: &str, l: &LatencyView) -> Vec<String> {
    let mut row = vec![
        name.to_string(),
        thousands(l.count),
        secs(l.min),
        secs(l.mean),
    ];
    row.extend(l.percentiles.iter().map(|(_, v)| secs(*v)));
    row.push(secs(l.max));
    row
}

fn latency_header(first: &str, l: &LatencyView) -> Vec<String> {
    let mut row = vec![
        first.to_string(),
        "count".into(),
        "min".into(),
        "mean".into(),
    ];
    row.extend(l.percentiles.iter().map(|(k, _)| k.clone()));
    row.push("max".into());
    row
}

fn classes(c: &StatusClassView) -> String {
    c.pairs()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k} {}", thousands(*n)))
        .collect::<Vec<_>>()
        .join("  ")
}

fn write_summary(out: &mut String, s: &SummaryView) {
    let _ = writeln!(
        out,
        "requests {}   bytes {}",
        thousands(s.requests),
        bytes(s.bytes)
    );
    let _ = writeln!(out, "status classes  {}", classes(&s.status_class));
    let codes: Vec<String> = s
        .status
        .iter()
        .map(|(k, n)| format!("{} {}", escape_str(k), thousands(*n)))
        .collect();
    let _ = writeln!(out, "status codes    {}", codes.join("  "));
    out.push('\n');
    let _ = writeln!(out, "latency in seconds:");
    let rows = vec![
        latency_header("", &s.request_time),
        latency_row("request_time", &s.request_time),
        latency_row("upstream_response_time", &s.upstream_response_time),
    ];
    out.push_str(&table(&rows));
    if s.upstream_tries > s.upstream_response_time.count && s.upstream_response_time.count > 0 {
        let _ = writeln!(
            out,
            "  upstream attempts {} for {} requests ({} retries)",
            thousands(s.upstream_tries),
            thousands(s.upstream_response_time.count),
            thousands(s.upstream_tries - s.upstream_response_time.count)
        );
    }
    if let Some(by) = s.group_by {
        out.push('\n');
        let _ = writeln!(out, "by {by}:");
        let Some(first) = s.groups.first() else {
            let _ = writeln!(out, "  (no requests)");
            return;
        };
        let mut header = vec![
            by.to_string(),
            "requests".into(),
            "2xx".into(),
            "3xx".into(),
        ];
        header.extend(["4xx".into(), "5xx".into()]);
        let lat = latency_header("", &first.request_time);
        header.extend(lat.into_iter().skip(2));
        let mut rows = vec![header];
        for g in &s.groups {
            let c = g.status_class;
            let mut row = vec![escape_str(&g.key).into_owned(), thousands(g.requests)];
            row.extend([c.c2xx, c.c3xx, c.c4xx, c.c5xx].map(thousands));
            row.extend(latency_row("", &g.request_time).into_iter().skip(2));
            rows.push(row);
        }
        out.push_str(&table(&rows));
        if s.groups_in_others > 0 {
            let _ = writeln!(
                out,
                "  (others: {} more keys)",
                thousands(s.groups_in_others)
            );
        }
    }
    out.push('\n');
    let _ = writeln!(out, "{}", s.percentile_definition);
}

/// The whole report as aligned text.
pub fn render(r: &ScanReport) -> String {
    let mut out = String::new();
    let how = if r.format_detected {
        "detected"
    } else {
        "given"
    };
    let inputs: Vec<String> = r
        .inputs
        .iter()
        .map(|i| escape_str(i).into_owned())
        .collect();
    let _ = writeln!(
        out,
        "realip scan: {} (format {} {how})",
        inputs.join(", "),
        r.format
    );
    let _ = writeln!(
        out,
        "lines {}   parsed {}   malformed {}",
        thousands(r.lines),
        thousands(r.parsed),
        thousands(r.malformed)
    );
    for s in &r.samples {
        let _ = writeln!(
            out,
            "  malformed {}:{}: {}",
            escape_str(&s.path),
            s.line,
            escape_str(&s.reason)
        );
    }
    if r.malformed > r.samples.len() as u64 {
        let _ = writeln!(
            out,
            "  ({} more malformed lines)",
            thousands(r.malformed - r.samples.len() as u64)
        );
    }
    for e in &r.errors {
        let _ = writeln!(out, "  error: {}", escape_str(e));
    }
    if let Some(s) = &r.summary {
        out.push('\n');
        write_summary(&mut out, s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
