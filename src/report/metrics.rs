//! Machine formats of a scan: TSV, Prometheus text exposition, Mackerel metric lines.
//!
//! Owns: metric names and label escaping for those formats. Group keys from logs are
//! escaped for each format (Prometheus label rules; tabs and newlines never reach TSV or
//! Mackerel lines).

use std::fmt::Write;

use super::model::ScanReport;
use crate::summary::{LatencyView, SummaryView};

fn num(v: Option<f64>) -> String {
    v.map(|v| format!("{v}"))
        .unwrap_or_else(|| "NaN".to_string())
}

/// Keeps TSV cells on one line and in one column.
fn cell(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// TSV: one row for the total, then one per group; header row first.
pub fn tsv(r: &ScanReport) -> String {
    let mut out = String::new();
    let Some(s) = &r.summary else {
        let _ = writeln!(
            out,
            "lines\tparsed\tmalformed\n{}\t{}\t{}",
            r.lines, r.parsed, r.malformed
        );
        return out;
    };
    let mut header = vec![
        "key", "requests", "1xx", "2xx", "3xx", "4xx", "5xx", "499", "count", "min", "mean",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    header.extend(s.request_time.percentiles.iter().map(|(k, _)| k.clone()));
    header.push("max".into());
    let _ = writeln!(out, "{}", header.join("\t"));
    let row = |key: &str, requests: u64, c: &crate::summary::StatusClassView, l: &LatencyView| {
        let mut cells = vec![cell(key), requests.to_string()];
        cells.extend(c.pairs().iter().map(|(_, n)| n.to_string()));
        cells.extend([l.count.to_string(), num(l.min), num(l.mean)]);
        cells.extend(l.percentiles.iter().map(|(_, v)| num(*v)));
        cells.push(num(l.max));
        cells.join("\t")
    };
    let _ = writeln!(
        out,
        "{}",
        row("(total)", s.requests, &s.status_class, &s.request_time)
    );
    for g in &s.groups {
        let _ = writeln!(
            out,
            "{}",
            row(&g.key, g.requests, &g.status_class, &g.request_time)
        );
    }
    out
}

/// A Prometheus label value: backslash, double quote and newline escaped.
fn label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn quantile(key: &str) -> String {
    // "p999" -> "0.999", "p50" -> "0.5"
    let digits = key.trim_start_matches('p');
    let q: f64 = format!("0.{digits}").parse().unwrap_or(0.0);
    if digits.len() <= 2 {
        let whole: f64 = digits.parse().unwrap_or(0.0);
        return format!("{}", whole / 100.0);
    }
    format!("{q}")
}

fn prom_summary(
    out: &mut String,
    name: &str,
    help: &str,
    labels: &str,
    l: &LatencyView,
    head: bool,
) {
    if head {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} summary");
    }
    let sep = if labels.is_empty() { "" } else { "," };
    for (k, v) in &l.percentiles {
        let _ = writeln!(
            out,
            "{name}{{{labels}{sep}quantile=\"{}\"}} {}",
            quantile(k),
            num(*v)
        );
    }
    let braces = if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    };
    let _ = writeln!(out, "{name}_sum{braces} {}", l.sum);
    let _ = writeln!(out, "{name}_count{braces} {}", l.count);
}

fn prom_counter(out: &mut String, name: &str, help: &str, rows: &[(String, u64)]) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} counter");
    for (labels, v) in rows {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {v}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {v}");
        }
    }
}

/// Prometheus text exposition format (e.g. for node_exporter's textfile collector).
pub fn prometheus(r: &ScanReport) -> String {
    let mut out = String::new();
    prom_counter(
        &mut out,
        "realip_lines_total",
        "Log lines read.",
        &[(String::new(), r.lines)],
    );
    prom_counter(
        &mut out,
        "realip_parsed_lines_total",
        "Log lines parsed.",
        &[(String::new(), r.parsed)],
    );
    prom_counter(
        &mut out,
        "realip_malformed_lines_total",
        "Log lines that could not be parsed.",
        &[(String::new(), r.malformed)],
    );
    if let Some(s) = &r.summary {
        write_prom_summary(&mut out, s);
    }
    if let (Some(w), Some(s)) = (r.window_seconds, &r.summary) {
        let _ = writeln!(
            out,
            "# HELP realip_requests_per_second Requests per second since the previous --state run."
        );
        let _ = writeln!(out, "# TYPE realip_requests_per_second gauge");
        let _ = writeln!(
            out,
            "realip_requests_per_second {}",
            s.requests as f64 / w.max(1) as f64
        );
    }
    if let Some(a) = &r.audit {
        prom_counter(
            &mut out,
            "realip_audit_checked_lines_total",
            "Log lines audited.",
            &[(String::new(), a.checked)],
        );
        prom_counter(
            &mut out,
            "realip_audit_misresolved_lines_total",
            "Lines whose logged client is not the real client.",
            &[(String::new(), a.misresolved)],
        );
        let lbs: Vec<(String, u64)> = a
            .unresolved_lb_ips
            .iter()
            .map(|l| (format!("ip=\"{}\"", label(&l.ip)), l.lines))
            .collect();
        prom_counter(
            &mut out,
            "realip_audit_unresolved_lb_ip_lines_total",
            "Lines logged with an untrusted load-balancer IP as the client.",
            &lbs,
        );
        let kinds: Vec<(String, u64)> = a
            .findings
            .iter()
            .map(|f| (format!("kind=\"{}\"", f.kind), f.count))
            .collect();
        prom_counter(
            &mut out,
            "realip_audit_findings_total",
            "Audit findings by kind.",
            &kinds,
        );
    }
    out
}

fn write_prom_summary(out: &mut String, s: &SummaryView) {
    let status: Vec<(String, u64)> = s
        .status
        .iter()
        .map(|(k, n)| (format!("status=\"{}\"", label(k)), *n))
        .collect();
    prom_counter(
        out,
        "realip_requests_total",
        "Requests by status code.",
        &status,
    );
    let classes: Vec<(String, u64)> = s
        .status_class
        .pairs()
        .iter()
        .map(|(k, n)| (format!("class=\"{k}\""), *n))
        .collect();
    prom_counter(
        out,
        "realip_requests_by_class_total",
        "Requests by status class (499 also in 4xx).",
        &classes,
    );
    prom_counter(
        out,
        "realip_response_bytes_total",
        "Sum of $body_bytes_sent.",
        &[(String::new(), s.bytes)],
    );
    prom_summary(
        out,
        "realip_request_time_seconds",
        "$request_time.",
        "",
        &s.request_time,
        true,
    );
    prom_summary(
        out,
        "realip_upstream_response_time_seconds",
        "$upstream_response_time (sum per request).",
        "",
        &s.upstream_response_time,
        true,
    );
    if let Some(by) = s.group_by {
        let rows: Vec<(String, u64)> = s
            .groups
            .iter()
            .map(|g| (format!("{by}=\"{}\"", label(&g.key)), g.requests))
            .collect();
        prom_counter(
            out,
            "realip_group_requests_total",
            "Requests per group.",
            &rows,
        );
        for (i, g) in s.groups.iter().enumerate() {
            let labels = format!("{by}=\"{}\"", label(&g.key));
            prom_summary(
                out,
                "realip_group_request_time_seconds",
                "$request_time per group.",
                &labels,
                &g.request_time,
                i == 0,
            );
        }
    }
}

/// A Mackerel metric name segment: `[A-Za-z0-9_-]`, everything else `_`.
fn segment(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() {
        "_".to_string()
    } else {
        out
    }
}

/// Mackerel check-plugin metric lines: `name<TAB>value<TAB>epoch`.
pub fn mackerel(r: &ScanReport) -> String {
    let mut out = String::new();
    let t = r.epoch;
    let mut line = |name: String, v: String| {
        let _ = writeln!(out, "{name}\t{v}\t{t}");
    };
    line("realip.lines.total".into(), r.lines.to_string());
    line("realip.lines.parsed".into(), r.parsed.to_string());
    line("realip.lines.malformed".into(), r.malformed.to_string());
    if let Some(a) = &r.audit {
        line("realip.audit.checked".into(), a.checked.to_string());
        line("realip.audit.misresolved".into(), a.misresolved.to_string());
        for f in &a.findings {
            line(format!("realip.audit.{}", f.kind), f.count.to_string());
        }
    }
    if let (Some(w), Some(s)) = (r.window_seconds, &r.summary) {
        line(
            "realip.requests.per_second".into(),
            (s.requests as f64 / w.max(1) as f64).to_string(),
        );
    }
    if let Some(s) = &r.summary {
        line("realip.requests.total".into(), s.requests.to_string());
        for (k, n) in s.status_class.pairs() {
            line(format!("realip.status.{k}"), n.to_string());
        }
        for (name, l) in [
            ("request_time", &s.request_time),
            ("upstream_response_time", &s.upstream_response_time),
        ] {
            if l.count == 0 {
                continue;
            }
            line(format!("realip.{name}.mean"), num(l.mean));
            line(format!("realip.{name}.max"), num(l.max));
            for (k, v) in &l.percentiles {
                line(format!("realip.{name}.{k}"), num(*v));
            }
        }
        if let Some(by) = s.group_by {
            for g in &s.groups {
                line(
                    format!("realip.{by}.{}.requests", segment(&g.key)),
                    g.requests.to_string(),
                );
                if let Some(p99) = g.request_time.percentiles.iter().find(|(k, _)| k == "p99") {
                    line(format!("realip.{by}.{}.p99", segment(&g.key)), num(p99.1));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_labels() {
        assert_eq!(quantile("p50"), "0.5");
        assert_eq!(quantile("p99"), "0.99");
        assert_eq!(quantile("p999"), "0.999");
        assert_eq!(quantile("p75"), "0.75");
    }

    #[test]
    fn labels_and_segments_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(segment("/users/{id}"), "_users__id_");
    }
}
