//! Human-readable tables for `realip scan --output table`.
//!
//! Owns: layout (aligned columns, thousands separators, a few significant digits for times).
//! Every text that came from a log goes through [`escape_str`] first.

use std::fmt::Write;

use super::model::ScanReport;
use crate::audit::{AuditView, FindingView};
use crate::escape::escape_str;
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
            // Padding by hand: `{:<w$}` panics when `w` exceeds u16::MAX, and a cell is
            // untrusted text of any length (issue #10).
            let pad = widths[c].saturating_sub(cell.chars().count());
            line.push_str("  ");
            if c == 0 {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            } else {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
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
    out.push('\n');
    let _ = writeln!(out, "{}", s.percentile_definition);
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

fn write_audit(out: &mut String, a: &AuditView) {
    let _ = writeln!(out, "audit: {}", verdict_with(a, &thousands));
    for fix in &a.fixes {
        let _ = writeln!(out, "  fix: {fix}");
    }
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
    let source = match a.trust_source {
        "inferred" => "trust inferred from the log".to_string(),
        "nginx-conf" => "checked against the nginx configuration".to_string(),
        _ => "checked against the declared trust".to_string(),
    };
    let trust = if a.trust_source == "inferred" {
        trust_sentence(a)
    } else if a.trust.is_empty() {
        "set_real_ip_from (none)".to_string()
    } else {
        format!("set_real_ip_from {}", a.trust.join(", "))
    };
    let _ = writeln!(
        out,
        "  {source}: real_ip_header {}; real_ip_recursive {recursion}; {trust}",
        escape_str(&a.header),
    );
    if !a.peer_logged {
        let _ = writeln!(
            out,
            "  note: the log has no $realip_remote_addr; direct hits and drift cannot be told \
             apart (see the recommended log_format)"
        );
    }
    if !a.unresolved_lb_ips.is_empty() || !a.trusted_lb_ips.is_empty() {
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
            let meaning = drift_message(f, &thousands);
            rows.push(vec![
                f.kind.to_string(),
                thousands(f.count),
                pct(f.share),
                first,
                meaning,
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
