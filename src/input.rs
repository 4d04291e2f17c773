//! Reading input line by line with bounded memory.
//!
//! Owns: [`LineReader`], which splits any byte stream at `\n`, strips one `\r` before it
//! (CRLF input), keeps invalid UTF-8 as bytes, hands back a final line that has no newline,
//! and bounds memory: a line longer than the limit is reported as [`Line::TooLong`] with its
//! first bytes and full length, and reading goes on at the next line. Line numbers start at 1.
//! Does not own: what a line means (fields, headers), or reporting (callers count and sample).

use std::io::{self, BufRead};

/// One line read.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// The line, without its `\n` (or `\r\n`).
    Complete(&'a [u8]),
    /// The line exceeded the limit: its first `limit` bytes and its full length in bytes.
    TooLong {
        /// The first bytes of the line.
        prefix: &'a [u8],
        /// The full length of the line, without its line ending.
        len: u64,
    },
}

/// Splits a byte stream into lines of at most `max` bytes each (see the module docs).
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    max: usize,
    buf: Vec<u8>,
    line_no: u64,
}

impl<R: BufRead> LineReader<R> {
    /// Reads `inner`, keeping at most `max` bytes of any one line in memory.
    pub fn new(inner: R, max: usize) -> Self {
        LineReader {
            inner,
            max,
            buf: Vec::new(),
            line_no: 0,
        }
    }

    /// The number of the line last returned (1-based; 0 before the first).
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// The next line with its number, or `None` at the end of input.
    pub fn next_line(&mut self) -> io::Result<Option<(u64, Line<'_>)>> {
        self.buf.clear();
        let mut len: u64 = 0;
        let mut saw_any = false;
        let mut ended = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                break;
            }
            saw_any = true;
            let (take, used) = match memchr::memchr(b'\n', chunk) {
                Some(i) => {
                    ended = true;
                    (i, i + 1)
                }
                None => (chunk.len(), chunk.len()),
            };
            let room = self.max.saturating_sub(self.buf.len());
            self.buf.extend_from_slice(&chunk[..take.min(room)]);
            len += take as u64;
            self.inner.consume(used);
            if ended {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        self.line_no += 1;
        if len > self.max as u64 {
            return Ok(Some((
                self.line_no,
                Line::TooLong {
                    prefix: &self.buf,
                    len,
                },
            )));
        }
        if ended && self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(Some((self.line_no, Line::Complete(&self.buf))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<(u64, String)> {
        let mut r = LineReader::new(input, max);
        let mut out = Vec::new();
        while let Some((n, line)) = r.next_line().unwrap() {
            let text = match line {
                Line::Complete(b) => String::from_utf8_lossy(b).into_owned(),
                Line::TooLong { prefix, len } => {
                    format!("TOOLONG({},{len})", String::from_utf8_lossy(prefix))
                }
            };
            out.push((n, text));
        }
        out
    }

    #[test]
    fn splits_lines_and_strips_crlf() {
        assert_eq!(
            lines(b"a\r\nb\n\nc", 100),
            [
                (1, "a".into()),
                (2, "b".into()),
                (3, "".into()),
                (4, "c".into())
            ]
        );
        assert!(lines(b"", 100).is_empty());
        assert_eq!(lines(b"\n", 100), [(1, "".into())]);
    }

    #[test]
    fn long_lines_are_bounded_and_reading_goes_on() {
        let mut input = vec![b'x'; 10_000];
        input.extend_from_slice(b"\nok\n");
        let got = lines(&input, 8);
        assert_eq!(
            got,
            [(1, "TOOLONG(xxxxxxxx,10000)".into()), (2, "ok".into())]
        );
    }

    #[test]
    fn invalid_utf8_is_kept_as_bytes() {
        let mut r = LineReader::new(&b"\xff\xfe\n"[..], 100);
        assert_eq!(
            r.next_line().unwrap(),
            Some((1, Line::Complete(&b"\xff\xfe"[..])))
        );
    }
}
