//! Human-readable tables for `realip scan --output table`.
//!
//! Owns: layout (aligned columns, thousands separators, a few significant digits for times).
//! Every text that came from a log goes through [`escape_str`] first.

use std::fmt::Write;

use super::escape::escape_str;
use super::model::ScanReport;
use crate::audit::AuditView;
use crate::summary::{LatencyView, StatusClassView, SummaryView};

/// `1234567` -> `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
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

/// Seconds since the epoch as `2026-11-22T18:37:00Z`.
pub fn utc(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A share as a percentage: `2.5%`, `0.02%`, `<0.01%`.
fn pct(share: f64) -> String {
    let p = share * 100.0;
    if p == 0.0 {
        "0%".into()
    } else if p < 0.01 {
        "<0.01%".into()
    } else if p < 0.1 {
        format!("{p:.2}%")
    } else {
        format!("{p:.1}%")
    }
}

/// The audit's one-line verdict (also the `--check` status text, without the status word),
/// with plain numbers so that scripts can read it:
/// `1234 of 50000 requests (2.5%) resolved to untrusted LB IP 34.120.5.6 — add: …`.
pub fn verdict(a: &AuditView) -> String {
    if let Some(lb) = a.unresolved_lb_ips.first() {
        let more = if a.unresolved_lb_ips.len() > 1 {
            format!(" (and {} more LB IPs)", a.unresolved_lb_ips.len() - 1)
        } else {
            String::new()
        };
        let fix: Vec<String> = a
            .suggested_set_real_ip_from
            .iter()
            .map(|ip| format!("set_real_ip_from {ip};"))
            .collect();
        return format!(
            "{} of {} requests ({}) resolved to untrusted LB IP {}{more} — add: {}",
            a.misresolved,
            a.checked,
            pct(if a.checked == 0 {
                0.0
            } else {
                a.misresolved as f64 / a.checked as f64
            }),
            lb.ip,
            fix.join(" ")
        );
    }
    if a.misresolved > 0 {
        return format!(
            "{} of {} requests ({}) misresolved: logged client differs from the resolution \
             under the declared trust (config drift)",
            a.misresolved,
            a.checked,
            pct(a.misresolved as f64 / a.checked.max(1) as f64)
        );
    }
    format!("0 of {} requests misresolved", a.checked)
}

fn write_audit(out: &mut String, a: &AuditView) {
    let _ = writeln!(out, "audit: {}", verdict(a));
    for ip in &a.suggested_set_real_ip_from {
        let _ = writeln!(out, "  fix: set_real_ip_from {ip};");
    }
    let _ = writeln!(
        out,
        "  checked against: real_ip_header {}; real_ip_recursive {}; set_real_ip_from {}",
        escape_str(&a.header),
        if a.recursive { "on" } else { "off" },
        if a.trust.is_empty() {
            "(none)".to_string()
        } else {
            a.trust.join(", ")
        }
    );
    if !a.peer_logged {
        let _ = writeln!(
            out,
            "  note: the log has no $realip_remote_addr; direct hits and drift cannot be told \
             apart (see the recommended log_format)"
        );
    }
    if !a.unresolved_lb_ips.is_empty() {
        let mut rows = vec![[
            "LB IP",
            "lines",
            "share",
            "first",
            "first seen",
            "last seen",
        ]
        .map(String::from)
        .to_vec()];
        for l in &a.unresolved_lb_ips {
            rows.push(vec![
                l.ip.clone(),
                thousands(l.lines),
                pct(l.share),
                escape_str(&l.first).into_owned(),
                l.first_time.map(utc).unwrap_or_else(|| "-".into()),
                l.last_time.map(utc).unwrap_or_else(|| "-".into()),
            ]);
        }
        out.push_str(&table(&rows));
    }
    if !a.findings.is_empty() {
        let mut rows = vec![["finding", "lines", "share", "first sample", "meaning"]
            .map(String::from)
            .to_vec()];
        for f in &a.findings {
            let first = f
                .samples
                .first()
                .map(|s| escape_str(s).into_owned())
                .unwrap_or_default();
            rows.push(vec![
                f.kind.to_string(),
                thousands(f.count),
                pct(f.share),
                first,
                f.description.to_string(),
            ]);
        }
        out.push_str(&table(&rows));
        if let Some(spoof) = a.findings.iter().find(|f| !f.top.is_empty()) {
            let top: Vec<String> = spoof
                .top
                .iter()
                .take(5)
                .map(|(v, n)| format!("{} ({})", escape_str(v), thousands(*n)))
                .collect();
            let _ = writeln!(out, "  most spoofed values: {}", top.join(", "));
        }
    }
}

/// The whole report as aligned text.
pub fn render(r: &ScanReport) -> String {
    let mut out = String::new();
    if let Some(a) = &r.audit {
        write_audit(&mut out, a);
        out.push('\n');
    } else if let Some(note) = &r.audit_note {
        let _ = writeln!(out, "audit: {}\n", escape_str(note));
    }
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
    for n in r.state_notes.iter().flatten() {
        let _ = writeln!(out, "  state: {}", escape_str(n));
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
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(971_211_336), "2000-10-10T20:55:36Z");
        assert_eq!(utc(1_795_000_000), "2026-11-18T11:06:40Z");
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
