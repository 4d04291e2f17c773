//! `realip diff` output: a table for people, JSON for scripts.
//!
//! Owns: the layout of a [`Diff`]. Group keys come from logs and are escaped for the terminal.

use std::fmt::Write;

use serde_json::json;

use super::escape::escape_str;
use super::text::thousands;
use crate::summary::Diff;

fn secs(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:.3}"))
}

fn change(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), |v| format!("{v:+.3}"))
}

fn count(v: Option<u64>) -> String {
    v.map_or_else(|| "-".to_string(), thousands)
}

/// The diff as an aligned table, biggest p99 change first.
pub fn table(d: &Diff) -> String {
    let mut rows: Vec<Vec<String>> = vec![[
        d.group_by.as_str(),
        "before",
        "after",
        "change",
        "p50 before",
        "p50 after",
        "p99 before",
        "p99 after",
        "p99 change",
    ]
    .map(String::from)
    .to_vec()];
    for r in &d.rows {
        rows.push(vec![
            escape_str(&r.key).into_owned(),
            count(r.before_count),
            count(r.after_count),
            format!("{:+}", r.count_change),
            secs(r.before_p50),
            secs(r.after_p50),
            secs(r.before_p99),
            secs(r.after_p99),
            change(r.p99_change),
        ]);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let w = widths[c];
            if c == 0 {
                let _ = write!(line, "{cell:<w$}");
            } else {
                let _ = write!(line, "  {cell:>w$}");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str(
        "counts are requests; times are $request_time in seconds; '-': not in that report\n",
    );
    out
}

/// The diff as JSON: `{group_by, rows: [{key, before_count, after_count, count_change,
/// before_p50, after_p50, p50_change, before_p99, after_p99, p99_change}]}`.
pub fn json(d: &Diff) -> String {
    let v = json!({ "group_by": d.group_by, "rows": d.rows });
    let mut s = crate::escape::json_pretty(&v).unwrap_or_else(|_| "{}".to_string());
    s.push('\n');
    s
}
