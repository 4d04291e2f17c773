//! Text rendering of a resolution walk (`realip resolve --explain`).
//!
//! Owns: the human-readable form of an [`Explanation`]. Header bytes go through
//! [`escape_bytes`]; nothing here decides anything.

use std::fmt::{self, Write};

use crate::escape::escape_bytes;
use crate::net::{Addr, NginxText, TrustEntry};
use crate::resolve::{Explanation, Step};

fn trust_text(entry: &Option<TrustEntry>) -> String {
    match entry {
        Some(e) => format!("trusted by {} ({})", e.net, e.origin),
        None => "not trusted".to_string(),
    }
}

/// Writes the walk, one step per line, then the result.
pub fn write_explanation(out: &mut impl Write, ex: &Explanation) -> fmt::Result {
    let on_off = if ex.recursive { "on" } else { "off" };
    let which = if ex.all_lines {
        "every line, last first"
    } else {
        "first line only"
    };
    writeln!(
        out,
        "header {} ({which}), real_ip_recursive {on_off}, {} line(s) sent",
        escape_bytes(ex.header.as_bytes()),
        ex.lines
    )?;
    let mut first = true;
    for step in &ex.steps {
        match step {
            Step::Check { addr, trusted_by } => {
                let what = if first { "peer" } else { "check" };
                first = false;
                writeln!(out, "  {what} {addr}: {}", trust_text(trusted_by))?;
            }
            Step::Token {
                line,
                span,
                text,
                parsed,
            } => {
                let text = escape_bytes(text);
                match parsed {
                    Ok((ip, port)) => {
                        let port = port.map(|p| format!(" port {p}")).unwrap_or_default();
                        writeln!(
                            out,
                            "  take line {} bytes {}..{} \"{text}\" -> {}{port}",
                            line + 1,
                            span.start,
                            span.end,
                            NginxText(*ip)
                        )?;
                    }
                    Err(e) => writeln!(
                        out,
                        "  stop line {} bytes {}..{} \"{text}\": {e}",
                        line + 1,
                        span.start,
                        span.end
                    )?,
                }
            }
        }
    }
    let r = &ex.resolution;
    writeln!(out, "  => {}", r.stop)?;
    let port = if !r.applied() {
        "the peer's port".to_string()
    } else if let Some(p) = r.port {
        p.to_string()
    } else {
        "empty".to_string()
    };
    writeln!(out, "$remote_addr = {}  $remote_port = {port}", r.addr)?;
    if !r.applied() {
        if let Addr::Ip(_) = ex.peer {
            writeln!(out, "realip not applied: $remote_addr stays the TCP peer")?;
        }
    }
    Ok(())
}

/// The walk as a string.
pub fn explanation_text(ex: &Explanation) -> String {
    let mut s = String::new();
    let _ = write_explanation(&mut s, ex);
    s
}
