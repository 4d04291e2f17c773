//! Machine formats of a scan: TSV, Prometheus text exposition, Mackerel metric lines.
//!
//! Owns: metric names and label escaping for those formats. Group keys from logs are
//! escaped for each format (Prometheus label rules; tabs and newlines never reach TSV or
//! Mackerel lines).

use std::fmt::Write;

use super::escape::escape_invisible;
use super::model::ScanReport;
use crate::summary::{LatencyView, StatusClassView, SummaryView};
use crate::totals::{AuditTotals, Histogram, Totals};

fn num(v: Option<f64>) -> String {
    v.map(|v| format!("{v}"))
        .unwrap_or_else(|| "NaN".to_string())
}

/// A TSV number: empty, never `NaN`, when there is no value.
fn tsv_num(v: Option<f64>) -> String {
    v.map(|v| format!("{v}")).unwrap_or_default()
}

/// Keeps TSV cells on one line and in one column, with control, bidi and zero-width
/// characters escaped (`\t`, `\u{202E}`).
fn cell(s: &str) -> String {
    escape_invisible(s).into_owned()
}

/// TSV: one table, header row first: the total, one row per group, then (with `--bucket`) one
/// row per time bucket keyed `time:<start>`, then (with the audit) rows keyed `audit:<what>`
/// (`audit:checked`, `audit:misresolved`, `audit:unresolved_lb_ip:<ip>`,
/// `audit:trusted_lb_ip:<ip>`, `audit:<finding>`) whose `requests` is their line count. A
/// value a row does not have is an empty field, never `NaN`. With the audit, a last column
/// `misresolved` holds the misresolved lines of the total and of each time bucket.
/// With several `--group-by` keys, one column per key (named after it) follows `key` and
/// holds each group's value (empty in the other rows).
/// With `--columns`, only those columns, in that order.
pub fn tsv(r: &ScanReport) -> String {
    let all = tsv_all(r);
    let (Some(columns), Some(_)) = (&r.metrics.columns, &r.summary) else {
        return all;
    };
    let mut lines = all.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
    let picks: Vec<usize> = columns
        .iter()
        .filter_map(|c| header.iter().position(|h| h == c))
        .collect();
    let mut out = String::new();
    for line in std::iter::once(header.join("\t").as_str()).chain(lines) {
        let cells: Vec<&str> = line.split('\t').collect();
        let kept: Vec<&str> = picks
            .iter()
            .map(|&i| cells.get(i).copied().unwrap_or(""))
            .collect();
        let _ = writeln!(out, "{}", kept.join("\t"));
    }
    out
}

/// The whole TSV table, every column, before `--columns` picks some.
fn tsv_all(r: &ScanReport) -> String {
    let Some(s) = &r.summary else {
        return tsv_without_summary(r);
    };
    let mut out = String::new();
    let audited = r.audit.is_some();
    let layout = TsvLayout::new(s, audited);
    let header = layout.header();
    let width = header.len();
    let _ = writeln!(out, "{}", header.join("\t"));
    let total_mis = r.audit.as_ref().map(|a| a.misresolved);
    let _ = writeln!(
        out,
        "{}",
        layout.row(
            "(total)",
            &[],
            s.requests,
            &s.status_class,
            &s.request_time,
            total_mis
        )
    );
    for g in &s.groups {
        let _ = writeln!(
            out,
            "{}",
            layout.row(
                &g.key,
                &g.keys,
                g.requests,
                &g.status_class,
                &g.request_time,
                None
            )
        );
    }
    if let Some(series) = &s.series {
        for p in &series.points {
            let key = format!("time:{}", super::text::utc(p.start));
            let mut l = p.request_time.clone();
            // The bucket's count is its requests with a time; min and mean are not kept.
            l.min = None;
            l.mean = None;
            let mis = audited.then_some(p.misresolved);
            let _ = writeln!(
                out,
                "{}",
                layout.row(&key, &[], p.requests, &p.status_class, &l, mis)
            );
        }
    }
    if let Some(a) = &r.audit {
        for (key, n) in audit_rows(a) {
            let mut cells = vec![cell(&key)];
            cells.resize(1 + layout.names.len(), String::new());
            cells.push(n.to_string());
            cells.resize(width, String::new());
            let _ = writeln!(out, "{}", cells.join("\t"));
        }
    }
    out
}

/// The TSV of a scan without a summary: the line counts, then the audit's rows if any.
fn tsv_without_summary(r: &ScanReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "lines\tparsed\tmalformed\n{}\t{}\t{}",
        r.lines, r.parsed, r.malformed
    );
    if let Some(a) = &r.audit {
        let _ = writeln!(out, "\nkey\trequests");
        for (key, n) in audit_rows(a) {
            let _ = writeln!(out, "{}\t{n}", cell(&key));
        }
    }
    out
}

/// The columns of the TSV table with a summary: group key names, percentile keys, and
/// whether the `misresolved` column is there.
struct TsvLayout {
    /// With several `--group-by` keys, one column per key after `key`.
    names: Vec<String>,
    /// The percentile columns, from the total's latency.
    pkeys: Vec<String>,
    audited: bool,
}

impl TsvLayout {
    /// Works out the columns from the summary and whether the audit ran.
    fn new(s: &SummaryView, audited: bool) -> Self {
        // Several --group-by keys: one column per key after `key`.
        let names: Vec<String> = match &s.group_by {
            Some(by) if by.contains(',') => by.split(',').map(str::to_string).collect(),
            _ => Vec::new(),
        };
        let pkeys: Vec<String> = s
            .request_time
            .percentiles
            .iter()
            .map(|(k, _)| k.clone())
            .collect();
        TsvLayout {
            names,
            pkeys,
            audited,
        }
    }

    /// The header row's cells.
    fn header(&self) -> Vec<String> {
        let mut header = vec!["key".to_string()];
        header.extend(self.names.iter().cloned());
        header.extend(
            [
                "requests", "1xx", "2xx", "3xx", "4xx", "5xx", "499", "count", "min", "mean",
            ]
            .map(String::from),
        );
        header.extend(self.pkeys.iter().cloned());
        header.push("max".into());
        if self.audited {
            header.push("misresolved".into());
        }
        header
    }

    /// One row (total, group or time bucket), tab-separated, without its newline.
    fn row(
        &self,
        key: &str,
        parts: &[String],
        requests: u64,
        c: &StatusClassView,
        l: &LatencyView,
        misresolved: Option<u64>,
    ) -> String {
        let mut cells = vec![cell(key)];
        cells.extend(parts.iter().map(|p| cell(p)));
        cells.resize(1 + self.names.len(), String::new());
        cells.push(requests.to_string());
        cells.extend(c.pairs().iter().map(|(_, n)| n.to_string()));
        cells.extend([l.count.to_string(), tsv_num(l.min), tsv_num(l.mean)]);
        // By key: a time bucket has only p50, p90 and p99.
        cells.extend(self.pkeys.iter().map(|k| {
            tsv_num(
                l.percentiles
                    .iter()
                    .find(|(pk, _)| pk == k)
                    .and_then(|(_, v)| *v),
            )
        }));
        cells.push(tsv_num(l.max));
        if self.audited {
            cells.push(misresolved.map(|n| n.to_string()).unwrap_or_default());
        }
        cells.join("\t")
    }
}

/// The audit's TSV rows: `(key, lines)`.
fn audit_rows(a: &crate::audit::AuditView) -> Vec<(String, u64)> {
    let mut rows = vec![
        ("audit:checked".to_string(), a.checked),
        ("audit:misresolved".to_string(), a.misresolved),
    ];
    for l in &a.unresolved_lb_ips {
        rows.push((format!("audit:unresolved_lb_ip:{}", l.ip), l.lines));
    }
    for l in &a.trusted_lb_ips {
        rows.push((format!("audit:trusted_lb_ip:{}", l.ip), l.lines));
    }
    for f in &a.findings {
        let key = match f.direction {
            Some(d) => format!("audit:{}:{d}", f.kind),
            None => format!("audit:{}", f.kind),
        };
        rows.push((key, f.count));
    }
    rows
}

/// A Prometheus label value: control, bidi and zero-width characters escaped as text
/// (`\u{001B}`), then backslash, double quote and newline escaped by the exposition rules.
fn label(v: &str) -> String {
    let v = escape_invisible(v);
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

fn prom_head(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn prom_counter(out: &mut String, name: &str, help: &str, rows: &[(String, u64)]) {
    prom_head(out, name, "counter", help);
    for (labels, v) in rows {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {v}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {v}");
        }
    }
}

fn prom_gauge(out: &mut String, name: &str, help: &str, v: impl std::fmt::Display) {
    prom_head(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {v}");
}

/// The samples of one histogram (`_bucket` per bound and `+Inf`, `_sum`, `_count`), with
/// extra labels (already escaped) before `le`.
fn prom_histogram_samples(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    let sep = if labels.is_empty() { "" } else { "," };
    for (le, n) in h.le.iter().zip(&h.buckets) {
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{le}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", h.count);
    let braces = if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    };
    let _ = writeln!(out, "{name}_sum{braces} {}", h.sum);
    let _ = writeln!(out, "{name}_count{braces} {}", h.count);
}

fn rows<'a>(
    label_name: &str,
    map: impl IntoIterator<Item = (&'a String, &'a u64)>,
) -> Vec<(String, u64)> {
    map.into_iter()
        .map(|(k, n)| (format!("{label_name}=\"{}\"", label(k)), *n))
        .collect()
}

/// This run's percentiles as a summary's quantiles (`--prometheus-quantiles`); quantiles cannot be summed
/// across hosts, the histograms can.
fn prom_quantiles(out: &mut String, name: &str, help: &str, l: &LatencyView) {
    if l.count == 0 {
        return;
    }
    prom_head(out, name, "summary", help);
    for (k, v) in &l.percentiles {
        let _ = writeln!(out, "{name}{{quantile=\"{}\"}} {}", quantile(k), num(*v));
    }
}

/// Prometheus text exposition format (e.g. for node_exporter's textfile collector).
///
/// Counters and histograms come from [`ScanReport::totals`]: cumulative since the state
/// file's totals began under `--state`, this run's alone otherwise. Gauges describe this run.
pub fn prometheus(r: &ScanReport) -> String {
    let mut out = String::new();
    let own;
    let t = match &r.totals {
        Some(t) => t,
        None => {
            own = Totals::of_run(
                r.epoch,
                r.lines,
                r.parsed,
                r.malformed,
                r.summary.as_ref(),
                r.audit.as_ref(),
            );
            &own
        }
    };
    prom_line_counters(&mut out, t);
    if r.summary.is_some() {
        prom_request_metrics(&mut out, t);
    }
    if let Some(a) = &t.audit {
        prom_audit_counters(&mut out, a);
    }
    prom_run_gauges(&mut out, r, t);
    if r.metrics.prometheus_quantiles {
        if let Some(s) = &r.summary {
            prom_quantiles(
                &mut out,
                "realip_run_request_time_seconds",
                "$request_time percentiles of this run (nearest rank; not summable).",
                &s.request_time,
            );
            prom_quantiles(
                &mut out,
                "realip_run_upstream_response_time_seconds",
                "$upstream_response_time percentiles of this run (nearest rank; not summable).",
                &s.upstream_response_time,
            );
        }
    }
    out
}

/// The line counters: lines read, parsed and malformed.
fn prom_line_counters(out: &mut String, t: &Totals) {
    prom_counter(
        out,
        "realip_lines_total",
        "Log lines read.",
        &[(String::new(), t.lines)],
    );
    prom_counter(
        out,
        "realip_parsed_lines_total",
        "Log lines parsed.",
        &[(String::new(), t.parsed)],
    );
    prom_counter(
        out,
        "realip_malformed_lines_total",
        "Log lines that could not be parsed.",
        &[(String::new(), t.malformed)],
    );
}

/// The request counters and latency histograms, with the per-group ones under `--group-by`.
fn prom_request_metrics(out: &mut String, t: &Totals) {
    prom_counter(
        out,
        "realip_requests_total",
        "Requests by status code.",
        &rows("status", &t.status),
    );
    prom_counter(
        out,
        "realip_requests_by_class_total",
        "Requests by status class (499 also in 4xx).",
        &rows("class", &t.status_class),
    );
    prom_counter(
        out,
        "realip_response_bytes_total",
        "Sum of $body_bytes_sent.",
        &[(String::new(), t.bytes)],
    );
    for (name, help, h) in [
        (
            "realip_request_time_seconds",
            "$request_time.",
            &t.request_time,
        ),
        (
            "realip_upstream_response_time_seconds",
            "$upstream_response_time (sum per request).",
            &t.upstream_response_time,
        ),
    ] {
        prom_head(out, name, "histogram", help);
        prom_histogram_samples(out, name, "", h);
    }
    if let Some(by) = &t.group_by {
        prom_group_metrics(out, by, t);
    }
}

/// The per-group request counter and `$request_time` histogram, one label per group key.
fn prom_group_metrics(out: &mut String, by: &str, t: &Totals) {
    // One label per key (`host="…",route="…"`); several values are stored joined by
    // KEY_SEP.
    let labels = |k: &str| -> String {
        by.split(',')
            .zip(k.split(char::from(crate::summary::KEY_SEP)))
            .map(|(name, v)| format!("{name}=\"{}\"", label(v)))
            .collect::<Vec<_>>()
            .join(",")
    };
    let group_rows: Vec<(String, u64)> = t
        .groups
        .iter()
        .map(|(k, g)| (labels(k), g.requests))
        .collect();
    prom_counter(
        out,
        "realip_group_requests_total",
        "Requests per group.",
        &group_rows,
    );
    let name = "realip_group_request_time_seconds";
    prom_head(out, name, "histogram", "$request_time per group.");
    for (k, g) in &t.groups {
        prom_histogram_samples(out, name, &labels(k), &g.request_time);
    }
}

/// The audit's counters: lines checked and misresolved, untrusted and trusted LB IPs,
/// findings and config drift.
fn prom_audit_counters(out: &mut String, a: &AuditTotals) {
    prom_counter(
        out,
        "realip_audit_checked_lines_total",
        "Log lines audited.",
        &[(String::new(), a.checked)],
    );
    prom_counter(
        out,
        "realip_audit_misresolved_lines_total",
        "Lines whose logged client is not the real client.",
        &[(String::new(), a.misresolved)],
    );
    prom_counter(
        out,
        "realip_audit_unresolved_lb_ip_lines_total",
        "Lines logged with an untrusted load-balancer IP as the client.",
        &rows("ip", &a.unresolved_lb_ips),
    );
    prom_counter(
        out,
        "realip_audit_findings_total",
        "Audit findings by kind.",
        &rows("kind", &a.findings),
    );
    if !a.trusted_lb_ips.is_empty() {
        prom_counter(
            out,
            "realip_audit_trusted_lb_ip_lines_total",
            "Lines nginx resolved past a load-balancer IP it trusts.",
            &rows("ip", &a.trusted_lb_ips),
        );
    }
    if !a.config_drift.is_empty() {
        prom_counter(
            out,
            "realip_audit_config_drift_lines_total",
            "Lines where nginx's trust and the declared trust differ, by direction.",
            &rows("direction", &a.config_drift),
        );
    }
}

/// The gauges of this run: when it began, since when the counters count, and the window
/// and request rate since the previous `--state` run.
fn prom_run_gauges(out: &mut String, r: &ScanReport, t: &Totals) {
    prom_gauge(
        out,
        "realip_last_run_timestamp_seconds",
        "When this run began (seconds since the epoch).",
        r.epoch,
    );
    if r.totals.is_some() {
        prom_gauge(
            out,
            "realip_counters_since_timestamp_seconds",
            "Since when the counters count (the first run that kept them in the --state file).",
            t.since,
        );
    }
    if let Some(w) = r.window_seconds {
        prom_gauge(
            out,
            "realip_window_seconds",
            "Seconds from the previous --state run to this one.",
            w,
        );
        if let Some(s) = &r.summary {
            prom_gauge(
                out,
                "realip_requests_per_second",
                "Requests per second since the previous --state run.",
                s.requests as f64 / w.max(1) as f64,
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

/// Mackerel plugin metric lines: `name<TAB>value<TAB>epoch`, every name under the
/// `--metric-key-prefix` (default `realip`). Values are this run's (a `--state` run's lines
/// since the previous run); per-group metrics follow `--group-by`. With
/// [`MetricsOptions::mackerel_meta`](super::MetricsOptions), the graph definitions instead.
pub fn mackerel(r: &ScanReport) -> String {
    let prefix = r.metrics.metric_key_prefix.as_deref().unwrap_or("realip");
    if r.metrics.mackerel_meta {
        return mackerel_meta(r, prefix);
    }
    let mut out = String::new();
    let t = r.epoch;
    let mut line = |name: String, v: String| {
        let _ = writeln!(out, "{prefix}.{name}\t{v}\t{t}");
    };
    line("lines.total".into(), r.lines.to_string());
    line("lines.parsed".into(), r.parsed.to_string());
    line("lines.malformed".into(), r.malformed.to_string());
    if let Some(a) = &r.audit {
        line("audit.checked".into(), a.checked.to_string());
        line("audit.misresolved".into(), a.misresolved.to_string());
        for f in &a.findings {
            // config_drift comes once per direction: one metric each.
            let name = match f.direction {
                Some(d) => format!("audit.{}_{d}", f.kind),
                None => format!("audit.{}", f.kind),
            };
            line(name, f.count.to_string());
        }
    }
    if let (Some(w), Some(s)) = (r.window_seconds, &r.summary) {
        line(
            "requests.per_second".into(),
            (s.requests as f64 / w.max(1) as f64).to_string(),
        );
    }
    if let Some(s) = &r.summary {
        line("requests.total".into(), s.requests.to_string());
        for (k, n) in s.status_class.pairs() {
            line(format!("status.{k}"), n.to_string());
        }
        for (name, l) in [
            ("request_time", &s.request_time),
            ("upstream_response_time", &s.upstream_response_time),
        ] {
            if l.count == 0 {
                continue;
            }
            line(format!("{name}.mean"), num(l.mean));
            line(format!("{name}.max"), num(l.max));
            for (k, v) in &l.percentiles {
                line(format!("{name}.{k}"), num(*v));
            }
        }
        if let Some(by) = &s.group_by {
            // Several keys: `host_route.<host>.<route>`.
            let by = by.replace(',', "_");
            for g in &s.groups {
                let key = if g.keys.is_empty() {
                    segment(&g.key)
                } else {
                    g.keys
                        .iter()
                        .map(|v| segment(v))
                        .collect::<Vec<_>>()
                        .join(".")
                };
                line(format!("{by}.{key}.requests"), g.requests.to_string());
                for (k, n) in g.status_class.pairs() {
                    line(format!("{by}_status.{key}.{k}"), n.to_string());
                }
                if g.request_time.count == 0 {
                    continue;
                }
                line(format!("{by}.{key}.mean"), num(g.request_time.mean));
                for (k, v) in &g.request_time.percentiles {
                    line(format!("{by}.{key}.{k}"), num(*v));
                }
            }
        }
    }
    out
}

/// The graph definitions of the Mackerel plugin protocol: `# mackerel-agent-plugin`, then
/// one JSON object naming every graph, its unit and its metrics (`*` for a dynamic last
/// segment, `#` for a dynamic middle one).
fn mackerel_meta(r: &ScanReport, prefix: &str) -> String {
    use serde_json::{json, Map, Value};
    let metric = |name: &str, label: &str| json!({"name": name, "label": label, "stacked": false});
    let mut graphs = Map::new();
    let mut graph = |name: String, label: String, unit: &str, metrics: Vec<Value>| {
        graphs.insert(
            format!("{prefix}.{name}"),
            json!({"label": label, "unit": unit, "metrics": metrics}),
        );
    };
    graph(
        "lines".into(),
        "realip: log lines".into(),
        "integer",
        vec![
            metric("total", "read"),
            metric("parsed", "parsed"),
            metric("malformed", "malformed"),
        ],
    );
    graph(
        "audit".into(),
        "realip: audit (lines)".into(),
        "integer",
        vec![metric("*", "%1")],
    );
    graph(
        "requests".into(),
        "realip: requests".into(),
        "float",
        vec![
            metric("total", "requests"),
            metric("per_second", "per second"),
        ],
    );
    graph(
        "status".into(),
        "realip: status classes".into(),
        "integer",
        vec![metric("*", "%1")],
    );
    for (name, label) in [
        ("request_time", "realip: $request_time (s)"),
        (
            "upstream_response_time",
            "realip: $upstream_response_time (s)",
        ),
    ] {
        graph(name.into(), label.into(), "float", vec![metric("*", "%1")]);
    }
    if let Some(given) = r.summary.as_ref().and_then(|s| s.group_by.as_deref()) {
        let n = given.split(',').count();
        let by = given.replace(',', "_");
        let hashes = ".#".repeat(n);
        let last = format!("%{}", n + 1);
        graph(
            format!("{by}{hashes}"),
            format!("realip: per {given} (requests; $request_time in s)"),
            "float",
            vec![metric("*", &last)],
        );
        graph(
            format!("{by}_status{hashes}"),
            format!("realip: status classes per {given}"),
            "integer",
            vec![metric("*", &last)],
        );
    }
    let meta = crate::escape::json_compact(&json!({ "graphs": Value::Object(graphs) }))
        .unwrap_or_else(|_| "{}".into());
    format!("# mackerel-agent-plugin\n{meta}\n")
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
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\\\nd");
        assert_eq!(segment("/users/{id}"), "_users__id_");
    }

    #[test]
    fn issue_10_prometheus_labels_and_tsv_cells_escape_controls_bidi_and_zero_width() {
        // See: issue #10.
        let hostile = "a\x1b[2J\r\x07\0\u{85}\u{9B}\u{202E}\u{200B}\u{2066}b";
        for out in [label(hostile), cell(hostile)] {
            assert!(
                !out.chars().any(|c| c.is_control()
                    || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}')),
                "{out:?}"
            );
        }
        assert_eq!(cell("a\tb\\x22"), "a\\tb\\x22");
    }
}
