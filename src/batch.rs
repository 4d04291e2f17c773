//! The batch contract of `realip resolve --batch`: one request per input line.
//!
//! Owns: the line format `PEER<TAB>VALUE1<TAB>VALUE2…` (no tab after PEER = header absent,
//! an empty field = an empty header line, values in arrival order) and the streaming loop
//! that answers each input line with exactly one output line: the resolved `$remote_addr`, or
//! an empty line for a malformed input line, so outputs stay aligned with inputs.
//! Malformed lines are handed to the caller's callback with their line number; nothing here
//! prints or decides exit codes. Memory is bounded by the longest line allowed.

use std::io::{self, Read, Write};
use std::ops::ControlFlow;

use crate::error::Error;
use crate::input::{self, Block};
use crate::net::Addr;
use crate::resolve::header::http1_value;
use crate::resolve::Resolver;

/// A malformed batch line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchError {
    /// 1-based line number in the input.
    pub line: u64,
    /// What is wrong.
    pub kind: BatchErrorKind,
}

/// What is wrong with a batch line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchErrorKind {
    /// The peer field is not an address.
    BadPeer(Error),
    /// The line is longer than the limit.
    TooLong {
        /// The line's length in bytes.
        len: u64,
        /// The limit.
        max: usize,
    },
}

impl std::fmt::Display for BatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            BatchErrorKind::BadPeer(e) => write!(f, "line {}: bad peer: {e}", self.line),
            BatchErrorKind::TooLong { len, max } => {
                write!(
                    f,
                    "line {}: {len} bytes, longer than the limit of {max} bytes",
                    self.line
                )
            }
        }
    }
}

/// Counts from one batch run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Input lines read.
    pub lines: u64,
    /// Lines resolved (realip applied or not).
    pub resolved: u64,
    /// Malformed lines (answered with an empty line).
    pub malformed: u64,
}

/// Splits a batch line into its peer and, if a tab follows the peer, the header values.
pub fn split_line(line: &[u8]) -> (&[u8], Option<&[u8]>) {
    match memchr::memchr(b'\t', line) {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    }
}

/// Reads batch lines from `input`, writes one answer line per input line to `out`, and calls
/// `on_error` for each malformed line. Lines longer than `max_line` bytes are malformed.
/// Stops at the first write error (a closed pipe, say) without reading the rest of the input.
pub fn run<R: Read, W: Write>(
    resolver: &Resolver,
    input: R,
    out: &mut W,
    max_line: usize,
    mut on_error: impl FnMut(BatchError),
) -> io::Result<BatchStats> {
    let mut stats = BatchStats::default();
    let mut failed: Option<io::Error> = None;
    let mut one = |line: Option<&[u8]>, len: u64, stats: &mut BatchStats| -> io::Result<()> {
        stats.lines += 1;
        let no = stats.lines;
        let Some(line) = line.filter(|l| l.len() <= max_line) else {
            stats.malformed += 1;
            on_error(BatchError {
                line: no,
                kind: BatchErrorKind::TooLong { len, max: max_line },
            });
            return out.write_all(b"\n");
        };
        let (peer, values) = split_line(line);
        let peer = match Addr::parse(peer) {
            Ok(p) => p,
            Err(e) => {
                stats.malformed += 1;
                on_error(BatchError {
                    line: no,
                    kind: BatchErrorKind::BadPeer(e),
                });
                return out.write_all(b"\n");
            }
        };
        let res = match values {
            None => resolver.resolve(peer, std::iter::empty()),
            // Fields are header lines as sent over HTTP/1: spaces around them are dropped, as
            // nginx's parser does.
            Some(v) => resolver.resolve(peer, v.split(|&b| b == b'\t').map(http1_value)),
        };
        stats.resolved += 1;
        writeln!(out, "{}", res.addr)
    };
    input::read_blocks(input, BLOCK_BYTES, max_line, |block| {
        match block {
            Block::Lines(bytes) => input::for_each_line(bytes, |l| {
                if failed.is_none() {
                    if let Err(e) = one(Some(l), l.len() as u64, &mut stats) {
                        failed = Some(e);
                    }
                }
            }),
            Block::TooLong { len, .. } => {
                if let Err(e) = one(None, len, &mut stats) {
                    failed = Some(e);
                }
            }
        }
        if failed.is_some() {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(stats),
    }
}

/// Input is read in blocks of this size: small enough that answers stream promptly.
const BLOCK_BYTES: usize = 64 << 10;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::TrustedSet;
    use crate::resolve::Header;

    fn run_str(input: &str) -> (String, Vec<String>, BatchStats) {
        let (t, _) = TrustedSet::parse(["gcp", "34.120.5.6"]).unwrap();
        let r = Resolver::new(t, Header::x_forwarded_for(), true);
        let mut out = Vec::new();
        let mut errs = Vec::new();
        let stats = run(&r, input.as_bytes(), &mut out, 64, |e| {
            errs.push(e.to_string())
        })
        .unwrap();
        (String::from_utf8(out).unwrap(), errs, stats)
    }

    #[test]
    fn one_answer_per_line_even_for_bad_lines() {
        let input = "35.191.10.20\t203.0.113.7, 34.120.5.6\n\
                     nonsense\t1.2.3.4\n\
                     35.191.10.20\n\
                     35.191.10.20\t\n\
                     35.191.10.20\t198.51.100.1\t203.0.113.7,34.120.5.6\n";
        let (out, errs, stats) = run_str(input);
        assert_eq!(
            out,
            "203.0.113.7\n\n35.191.10.20\n35.191.10.20\n203.0.113.7\n"
        );
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].starts_with("line 2: bad peer: invalid address \"nonsense\""),
            "{errs:?}"
        );
        assert_eq!(
            stats,
            BatchStats {
                lines: 5,
                resolved: 4,
                malformed: 1
            }
        );
    }

    #[test]
    fn long_lines_are_malformed_not_fatal() {
        let long = format!("35.191.10.20\t{}\n1.2.3.4\n", "1.2.3.4, ".repeat(20));
        let (out, errs, _) = run_str(&long);
        assert_eq!(out, "\n1.2.3.4\n");
        assert!(
            errs[0].contains("longer than the limit of 64 bytes"),
            "{errs:?}"
        );
    }
}
