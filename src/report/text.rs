//! Human-readable tables for `realip scan --output table`.
//!
//! Owns: layout (aligned columns, thousands separators, a few significant digits for times).
//! Every text that came from a log goes through [`escape_str`] first.

use std::fmt::Write;

use super::model::ScanReport;
use crate::audit::{AuditView, FindingView};
use crate::escape::escape_str;
use crate::summary::{LatencyView, SeriesView, SortBy, StatusClassView, SummaryView};

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

/// Seconds shown as milliseconds with three significant digits (`0.000382` -> `0.382`,
/// `0.0125` -> `12.5`, `0.382` -> `382`, `60` -> `60,000`): one rule for every time in a
/// table, so that values of any size line up and compare at a glance. `-` when missing.
pub fn ms(v: Option<f64>) -> String {
    let Some(v) = v else {
        return "-".to_string();
    };
    let m = v * 1000.0;
    if m == 0.0 {
        "0".to_string()
    } else if m < 1.0 {
        format!("{m:.3}")
    } else if m < 10.0 {
        format!("{m:.2}")
    } else if m < 100.0 {
        format!("{m:.1}")
    } else {
        // Three significant digits, then thousands separators: 1262 -> 1,260.
        let digits = (m.log10().floor() as i32) + 1;
        let scale = 10f64.powi((digits - 3).max(0));
        thousands(((m / scale).round() * scale) as u64)
    }
}

fn secs(v: Option<f64>) -> String {
    ms(v)
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

/// Whether a cell reads as a number (counts, times, shares, `-` for none): right-aligned.
fn numeric(cell: &str) -> bool {
    !cell.is_empty()
        && cell.chars().any(|c| c.is_ascii_digit() || c == '-')
        && cell
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ',' | '.' | '-' | '+' | '%' | '<'))
}

/// Aligns columns: text left, numbers right (a column is numeric when every cell below the
/// header is). Padding is done by hand: a cell is untrusted text of any length.
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
    let right: Vec<bool> = (0..cols)
        .map(|c| {
            c > 0
                && rows
                    .iter()
                    .skip(1)
                    .filter_map(|r| r.get(c))
                    .all(|s| numeric(s))
        })
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let pad = widths[c].saturating_sub(cell.chars().count());
            line.push_str("  ");
            if right[c] {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Columns dropped, in this order, when cutting text is not enough for a narrow terminal.
const OPTIONAL_COLUMNS: &[&str] = &[
    "p75",
    "p95",
    "p999",
    "mean",
    "min",
    "1xx",
    "3xx",
    "499",
    "count",
    "first seen",
    "p90",
];

/// Makes rows fit in `width` characters (`None`: no limit, not a terminal): first the widest
/// text columns are cut with `…` (down to 16 characters), then optional columns are dropped
/// (`OPTIONAL_COLUMNS`, by header), then text is cut down to 8 characters. Numbers are
/// never cut; a table that still does not fit is printed as it is, not wrapped.
fn fit(mut rows: Vec<Vec<String>>, width: Option<usize>) -> Vec<Vec<String>> {
    let Some(width) = width else {
        return rows;
    };
    let col_width = |rows: &[Vec<String>], c: usize| {
        rows.iter()
            .filter_map(|r| r.get(c))
            .map(|s| s.chars().count())
            .max()
            .unwrap_or(0)
    };
    let total = |rows: &[Vec<String>]| {
        let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
        (0..cols).map(|c| col_width(rows, c) + 2).sum::<usize>()
    };
    let cut = |rows: &mut Vec<Vec<String>>, min: usize| loop {
        let over = total(rows).saturating_sub(width);
        if over == 0 {
            return;
        }
        let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
        let widest = (0..cols)
            .filter(|&c| {
                c == 0
                    || !rows
                        .iter()
                        .skip(1)
                        .filter_map(|r| r.get(c))
                        .all(|s| numeric(s))
            })
            .map(|c| (col_width(rows, c), c))
            .filter(|&(w, _)| w > min)
            .max();
        let Some((w, c)) = widest else {
            return;
        };
        let target = w.saturating_sub(over).max(min);
        for r in rows.iter_mut() {
            if let Some(cell) = r.get_mut(c) {
                if cell.chars().count() > target {
                    let mut short: String = cell.chars().take(target - 1).collect();
                    short.push('…');
                    *cell = short;
                }
            }
        }
    };
    cut(&mut rows, 16);
    for name in OPTIONAL_COLUMNS {
        if total(&rows) <= width {
            return rows;
        }
        let Some(c) = rows
            .first()
            .and_then(|h| h.iter().position(|cell| cell == name))
        else {
            continue;
        };
        for r in rows.iter_mut() {
            if c < r.len() {
                r.remove(c);
            }
        }
    }
    cut(&mut rows, 8);
    rows
}

fn fitted(rows: Vec<Vec<String>>, width: Option<usize>) -> String {
    table(&fit(rows, width))
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

/// Keeps the columns named in `columns` (by header; `key` is the first column), in that
/// order; all when `None`.
fn select_columns(rows: Vec<Vec<String>>, columns: Option<&[String]>) -> Vec<Vec<String>> {
    let Some(columns) = columns else {
        return rows;
    };
    let Some(header) = rows.first() else {
        return rows;
    };
    let picks: Vec<usize> = columns
        .iter()
        .filter_map(|c| {
            if c == "key" {
                Some(0)
            } else {
                header.iter().position(|h| h == c)
            }
        })
        .collect();
    rows.into_iter()
        .map(|r| {
            picks
                .iter()
                .map(|&i| r.get(i).cloned().unwrap_or_default())
                .collect()
        })
        .collect()
}

fn write_summary(
    out: &mut String,
    s: &SummaryView,
    audited: bool,
    width: Option<usize>,
    columns: Option<&[String]>,
) {
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
    let _ = writeln!(out, "latency in milliseconds:");
    let rows = vec![
        latency_header("", &s.request_time),
        latency_row("request_time", &s.request_time),
        latency_row("upstream_response_time", &s.upstream_response_time),
    ];
    out.push_str(&fitted(rows, width));
    if s.upstream_tries > s.upstream_response_time.count && s.upstream_response_time.count > 0 {
        let _ = writeln!(
            out,
            "  upstream attempts {} for {} requests ({} retries)",
            thousands(s.upstream_tries),
            thousands(s.upstream_response_time.count),
            thousands(s.upstream_tries - s.upstream_response_time.count)
        );
    }
    if let Some(by) = &s.group_by {
        out.push('\n');
        let _ = writeln!(out, "by {by}:");
        let Some(first) = s.groups.first() else {
            let _ = writeln!(out, "  (no requests)");
            return;
        };
        // One column per key (`host`, `route`, …).
        let mut header: Vec<String> = by.split(',').map(str::to_string).collect();
        let nkeys = header.len();
        header.extend(["requests".into(), "2xx".into(), "3xx".into()]);
        header.extend(["4xx".into(), "5xx".into()]);
        // Sorted by the total time: show the total it is sorted by.
        let by_sum = s.sort == SortBy::Sum;
        if by_sum {
            header.push("sum".into());
        }
        let lat = latency_header("", &first.request_time);
        header.extend(lat.into_iter().skip(2));
        let mut rows = vec![header];
        for g in &s.groups {
            let c = g.status_class;
            let mut row: Vec<String> = if nkeys > 1 {
                g.keys.iter().map(|k| escape_str(k).into_owned()).collect()
            } else {
                vec![escape_str(&g.key).into_owned()]
            };
            row.resize(nkeys, String::new());
            row.push(thousands(g.requests));
            row.extend([c.c2xx, c.c3xx, c.c4xx, c.c5xx].map(thousands));
            if by_sum {
                row.push(ms(Some(g.request_time.sum)));
            }
            row.extend(latency_row("", &g.request_time).into_iter().skip(2));
            rows.push(row);
        }
        out.push_str(&fitted(select_columns(rows, columns), width));
        if s.groups_approximate {
            let _ = writeln!(
                out,
                "  (more distinct keys than --max-groups: listed keys are the top of a \
                 fixed sample with exact counts; keys outside it ({} requests in all) may rank \
                 higher)",
                thousands(s.max_error)
            );
        } else if s.groups_in_others > 0 {
            let _ = writeln!(
                out,
                "  (others: {} more keys)",
                thousands(s.groups_in_others)
            );
        }
    }
    if let Some(series) = &s.series {
        out.push('\n');
        write_series(out, series, audited, width);
    }
}

/// `60` -> `1m`, `5400` -> `1h30m`.
pub fn duration(secs: u64) -> String {
    let mut out = String::new();
    let mut rest = secs;
    for (unit, n) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if rest >= n {
            let _ = write!(out, "{}{unit}", rest / n);
            rest %= n;
        }
    }
    if out.is_empty() {
        out.push_str("0s");
    }
    out
}

fn write_series(out: &mut String, s: &SeriesView, audited: bool, width: Option<usize>) {
    let _ = writeln!(
        out,
        "over time ({} buckets, UTC, request_time in milliseconds):",
        duration(s.bucket_seconds)
    );
    if s.points.is_empty() {
        let _ = writeln!(out, "  (no request with a time)");
    } else {
        let mut header: Vec<String> = ["start", "requests", "2xx", "3xx", "4xx", "5xx"]
            .map(String::from)
            .to_vec();
        header.extend(["p50", "p90", "p99", "max"].map(String::from));
        if audited {
            header.push("misresolved".into());
        }
        let mut rows = vec![header];
        for p in &s.points {
            let c = p.status_class;
            let mut row = vec![utc(p.start), thousands(p.requests)];
            row.extend([c.c2xx, c.c3xx, c.c4xx, c.c5xx].map(thousands));
            row.extend(p.request_time.percentiles.iter().map(|(_, v)| secs(*v)));
            row.push(secs(p.request_time.max));
            if audited {
                row.push(thousands(p.misresolved));
            }
            rows.push(row);
        }
        out.push_str(&fitted(rows, width));
    }
    if s.untimed > 0 {
        let _ = writeln!(
            out,
            "  ({} requests without a time are in no bucket)",
            thousands(s.untimed)
        );
    }
}

pub use crate::timefmt::utc;

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

/// The audit's one-line verdict (also the `--check` status text, without the status word, and
/// `audit.verdict` in JSON), with plain numbers so that scripts can read it: one clause per
/// misresolution, biggest first,
/// `49 of 2000 requests (2.5%) resolved to untrusted LB IP 34.149.9.9 — add: set_real_ip_from 34.149.9.9;`,
/// then, with inferred trust, what nginx trusts.
pub fn verdict(a: &AuditView) -> String {
    verdict_with(a, &|n| n.to_string())
}

/// What nginx trusts, as the log shows it: `nginx trusts 34.120.5.6 and the Google front ends`.
pub fn trust_sentence(a: &AuditView) -> String {
    let mut parts: Vec<String> = Vec::new();
    let lbs: Vec<&str> = a
        .trusted_lb_ips
        .iter()
        .map(|l| l.ip.as_str())
        .filter(|ip| *ip != "others")
        .collect();
    if lbs.len() > 4 {
        parts.extend(lbs[..3].iter().map(|s| s.to_string()));
        parts.push(format!("{} more LB IPs", lbs.len() - 3));
    } else {
        parts.extend(lbs.iter().map(|s| s.to_string()));
    }
    if a.front_end_lines > 0 {
        parts.push(a.front_ends.clone());
    }
    let peers: Vec<&str> = a
        .trusted_peers
        .iter()
        .map(|(p, _)| p.as_str())
        .filter(|p| *p != "others")
        .collect();
    if peers.len() > 3 {
        parts.extend(peers[..2].iter().map(|s| escape_str(s).into_owned()));
        parts.push(format!("{} more peers", peers.len() - 2));
    } else {
        parts.extend(peers.iter().map(|s| escape_str(s).into_owned()));
    }
    if a.unknown_peer_lines > 0 && !a.peer_logged {
        parts.push("the peers it came through".to_string());
    }
    if parts.is_empty() {
        "nginx trusts no proxy: no line shows it resolving past its peer".to_string()
    } else {
        format!("nginx trusts {}", crate::audit::and_list(&parts))
    }
}

/// A `config_drift` finding in plain words: "nginx trusts 34.120.5.6, which you did not
/// declare", "you declared 10.0.0.0/8, but nginx did not trust it on 12 lines".
pub fn drift_message(f: &FindingView, num: &dyn Fn(u64) -> String) -> String {
    let with_counts: Vec<String> = f
        .addresses
        .iter()
        .map(|(a, n)| format!("{} ({} lines)", escape_str(a), num(*n)))
        .collect();
    match f.direction {
        Some("trusted_not_declared") => format!(
            "nginx trusts {}, which you did not declare",
            crate::audit::and_list(&with_counts)
        ),
        Some("declared_not_trusted") => f
            .addresses
            .iter()
            .map(|(a, n)| {
                format!(
                    "you declared {}, but nginx did not trust it on {} lines",
                    escape_str(a),
                    num(*n)
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        Some("recursion_not_declared") => format!(
            "nginx walked past {} recursively, but you declared real_ip_recursive off",
            crate::audit::and_list(&with_counts)
        ),
        _ => f.description.to_string(),
    }
}

fn verdict_with(a: &AuditView, num: &dyn Fn(u64) -> String) -> String {
    let share = |n: u64| pct(n as f64 / a.checked.max(1) as f64);
    let mut clauses: Vec<String> = Vec::new();
    for m in &a.misresolutions {
        let lead = format!(
            "{} of {} requests ({})",
            num(m.lines),
            num(a.checked),
            share(m.lines)
        );
        let fix = if m.fix.is_empty() {
            String::new()
        } else {
            format!(" — add: {}", m.fix.join(" "))
        };
        let yours = if m.rules.is_empty() {
            String::new()
        } else {
            format!(
                ", your forwarding rule{} {}",
                if m.rules.len() == 1 { "" } else { "s" },
                escape_str(&m.rules.join(", "))
            )
        };
        let what = match m.kind {
            "unresolved_lb_ip" if m.declared => format!(
                "resolved to untrusted LB IP {}{yours} (you declared it, but nginx did not \
                 trust it)",
                m.address
            ),
            "unresolved_lb_ip" if !m.rules.is_empty() => {
                format!("resolved to untrusted LB IP {}{yours}", m.address)
            }
            "unresolved_lb_ip" => format!("resolved to untrusted LB IP {}", m.address),
            "untrusted_front_end" => format!("logged {} as the client", m.address),
            _ => format!(
                "stopped at {}, which you declared, but nginx did not trust",
                escape_str(&m.address)
            ),
        };
        clauses.push(format!("{lead} {what}{fix}"));
    }
    let mut out = if clauses.is_empty() {
        format!("0 of {} requests misresolved", num(a.checked))
    } else {
        clauses.join(" ")
    };
    if a.recursion_unknown {
        out.push_str(
            " (no line shows nginx walking past an LB IP, so the log cannot tell every LB IP \
             missing from set_real_ip_from from real_ip_recursive off: add the \
             set_real_ip_from lines and real_ip_recursive on;)",
        );
    }
    if a.trust_source == "inferred" {
        out.push_str(&format!(
            " (trust inferred from the log: {})",
            trust_sentence(a)
        ));
    }
    out
}

/// The audit part of the text report: headline, fixes, settings, LB IP and findings tables.
fn write_audit(out: &mut String, a: &AuditView, width: Option<usize>) {
    // The headline carries the fixes of each misresolution (and, inferred, what nginx
    // trusts); the lines below add only what it does not say.
    let headline = verdict_with(a, &thousands);
    let _ = writeln!(out, "audit: {headline}");
    for fix in a.fixes.iter().filter(|f| !headline.contains(f.as_str())) {
        let _ = writeln!(out, "  fix: {fix}");
    }
    write_audit_settings(out, a);
    if !a.peer_logged {
        let _ = writeln!(
            out,
            "  note: the log has no $realip_remote_addr; direct hits and drift cannot be told \
             apart (see the recommended log_format)"
        );
    }
    if !a.unresolved_lb_ips.is_empty() || !a.trusted_lb_ips.is_empty() {
        write_lb_ip_table(out, a, width);
    }
    if !a.findings.is_empty() {
        write_findings_table(out, a, width);
    }
}

/// The line saying what the audit checked against: header, recursion and (unless
/// inferred) the trust.
fn write_audit_settings(out: &mut String, a: &AuditView) {
    let recursion = if a.trust_source == "inferred" {
        if a.recursion_seen {
            "on (seen in the log)"
        } else {
            "not seen in the log"
        }
    } else if a.recursive {
        "on"
    } else {
        "off"
    };
    // Inferred, the headline already says where the trust came from; the line below only
    // adds the header and recursion nginx was seen using.
    let source = match a.trust_source {
        "inferred" => "",
        "nginx-conf" => "checked against the nginx configuration: ",
        _ => "checked against the declared trust: ",
    };
    let trust = if a.trust_source == "inferred" {
        // Said in the headline.
        String::new()
    } else if a.trust.is_empty() {
        "set_real_ip_from (none)".to_string()
    } else {
        format!("set_real_ip_from {}", a.trust.join(", "))
    };
    let trust = if trust.is_empty() {
        String::new()
    } else {
        format!("; {trust}")
    };
    let _ = writeln!(
        out,
        "  {source}real_ip_header {}; real_ip_recursive {recursion}{trust}",
        escape_str(&a.header),
    );
}

/// The table of LB IPs, untrusted first, with a forwarding-rule column when any has one.
fn write_lb_ip_table(out: &mut String, a: &AuditView, width: Option<usize>) {
    let mut rows = vec![[
        "LB IP",
        "nginx",
        "lines",
        "share",
        "first",
        "first seen",
        "last seen",
    ]
    .map(String::from)
    .to_vec()];
    let lists = [
        (&a.unresolved_lb_ips, "NOT trusted"),
        (&a.trusted_lb_ips, "trusted"),
    ];
    // A forwarding-rule column only when --lb-ips-from named some.
    let named = lists
        .iter()
        .any(|(list, _)| list.iter().any(|l| !l.rules.is_empty()));
    if named {
        rows[0].push("forwarding rule".into());
    }
    for (list, word) in lists {
        for l in list {
            let word = if l.declared && word == "NOT trusted" {
                "NOT trusted (declared)"
            } else {
                word
            };
            let mut row = vec![
                l.ip.clone(),
                word.to_string(),
                thousands(l.lines),
                pct(l.share),
                escape_str(&l.first).into_owned(),
                l.first_time.map(utc).unwrap_or_else(|| "-".into()),
                l.last_time.map(utc).unwrap_or_else(|| "-".into()),
            ];
            if named {
                row.push(if l.rules.is_empty() {
                    "-".into()
                } else {
                    escape_str(&l.rules.join(", ")).into_owned()
                });
            }
            rows.push(row);
        }
    }
    out.push_str(&fitted(rows, width));
}

/// The table of findings, then the most spoofed header values if any.
fn write_findings_table(out: &mut String, a: &AuditView, width: Option<usize>) {
    let mut rows = vec![["finding", "lines", "share", "first sample", "meaning"]
        .map(String::from)
        .to_vec()];
    for f in &a.findings {
        let first = f
            .samples
            .first()
            .map(|s| escape_str(s).into_owned())
            .unwrap_or_default();
        let meaning = drift_message(f, &thousands);
        rows.push(vec![
            f.kind.to_string(),
            thousands(f.count),
            pct(f.share),
            first,
            meaning,
        ]);
    }
    out.push_str(&fitted(rows, width));
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

/// The whole report as aligned text, without a width limit.
pub fn render(r: &ScanReport) -> String {
    render_width(r, None)
}

/// The whole report as aligned text whose tables fit in `width` characters (long keys and
/// texts cut with `…`, never wrapped).
pub fn render_width(r: &ScanReport, width: Option<usize>) -> String {
    let mut out = String::new();
    if let Some(a) = &r.audit {
        write_audit(&mut out, a, width);
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
    let filtered = if r.filtered > 0 {
        format!("   filtered {}", thousands(r.filtered))
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "lines {}   parsed {}   malformed {}{filtered}",
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
        write_summary(
            &mut out,
            s,
            r.audit.is_some(),
            width,
            r.metrics.columns.as_deref(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_10_table_cells_of_65536_chars_or_more_do_not_panic() {
        // See: issue #10. `{:<w$}` panicked ("Formatting argument out of range").
        let long = "x".repeat(70_000);
        let out = table(&[
            vec!["key".into(), "n".into()],
            vec![long.clone(), "1".into()],
        ]);
        let first = out.lines().next().unwrap();
        assert_eq!(first.len(), 2 + 70_000 + 2 + 1);
        assert!(out.lines().nth(1).unwrap().ends_with(&format!("{long}  1")));
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
