//! Reading input with bounded memory.
//!
//! Owns: opening inputs ([`open`]: files, stdin, gzip detected by magic bytes, globs in
//! [`expand_inputs`]), splitting plain files into newline-aligned chunks for parallel workers
//! ([`chunk_file`], [`RangeReader`]), and reading any stream in blocks of whole lines
//! ([`read_blocks`], [`for_each_line`]): lines split at `\n` with one `\r` before it stripped
//! (CRLF input), invalid UTF-8 kept as bytes, a final line without a newline handed over, and a
//! line longer than the limit reported as [`Block::TooLong`] with its first bytes and full
//! length instead of being buffered.
//! Does not own: what a line means (fields, headers), or reporting (callers count and sample).

use std::ffi::OsStr;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::error::Error;

/// Where log lines come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Standard input (`-`).
    Stdin,
    /// A file (plain or gzip, told apart by its first bytes).
    Path(PathBuf),
}

impl Source {
    /// The name used in messages and `path:line` samples.
    pub fn name(&self) -> String {
        match self {
            Source::Stdin => "-".to_string(),
            Source::Path(p) => p.display().to_string(),
        }
    }
}

/// Expands command-line inputs: `-` is stdin, a name with `*`, `?` or `[` that is not an
/// existing file is a glob (sorted matches; none is an error). No inputs means stdin. Names
/// need not be UTF-8 (a name that is not is never a glob).
pub fn expand_inputs<S: AsRef<OsStr>>(args: &[S]) -> Result<Vec<Source>, Error> {
    if args.is_empty() {
        return Ok(vec![Source::Stdin]);
    }
    let mut out = Vec::new();
    for arg in args {
        let arg = arg.as_ref();
        if arg == "-" {
            out.push(Source::Stdin);
            continue;
        }
        let path = Path::new(arg);
        let pattern = arg.to_str().filter(|a| a.contains(['*', '?', '[']));
        let Some(pattern) = pattern.filter(|_| !path.exists()) else {
            out.push(Source::Path(path.to_path_buf()));
            continue;
        };
        let paths = glob::glob(pattern).map_err(|e| Error::input(pattern, e.msg))?;
        let mut matched: Vec<PathBuf> = paths
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .collect();
        if matched.is_empty() {
            return Err(Error::input(pattern, "no file matches this pattern"));
        }
        matched.sort();
        out.extend(matched.into_iter().map(Source::Path));
    }
    Ok(out)
}

/// An opened input.
pub enum Opened {
    /// A regular, uncompressed file, or a byte range of one (incremental runs): it can be
    /// split into chunks read in parallel. `start` is at the beginning of a line.
    Plain {
        /// The file.
        file: File,
        /// Where reading starts.
        start: u64,
        /// Where reading ends (the file's length, or the end of the last complete line).
        end: u64,
    },
    /// A stream read once from start to end (stdin, gzip).
    Stream(Box<dyn Read + Send>),
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens a source; gzip (including multi-member, as `cat a.gz b.gz` makes) is detected by
/// its magic bytes, not its name.
pub fn open(src: &Source) -> Result<Opened, Error> {
    match src {
        Source::Stdin => sniff_stream(BufReader::with_capacity(1 << 16, io::stdin()), "-"),
        Source::Path(p) => {
            let name = p.display().to_string();
            let file = File::open(p).map_err(|e| Error::io(&name, &e))?;
            let meta = file.metadata().map_err(|e| Error::io(&name, &e))?;
            if meta.is_dir() {
                return Err(Error::input(&name, "is a directory"));
            }
            if !meta.is_file() {
                // FIFOs, `<(zcat x.gz)`, character devices, /dev/stdin: they cannot seek, so
                // they are read once as a stream and sniffed for gzip through the buffer.
                return sniff_stream(BufReader::with_capacity(1 << 16, file), &name);
            }
            let mut magic = [0u8; 2];
            let n = read_at_most(&file, 0, &mut magic).map_err(|e| Error::io(&name, &e))?;
            if n == 2 && magic == GZIP_MAGIC {
                let r = BufReader::with_capacity(1 << 16, file);
                Ok(Opened::Stream(Box::new(MultiGzDecoder::new(r))))
            } else {
                Ok(Opened::Plain {
                    file,
                    start: 0,
                    end: meta.len(),
                })
            }
        }
    }
}

/// A stream, decompressed when its first bytes are gzip's magic.
fn sniff_stream<R: BufRead + Send + 'static>(mut r: R, name: &str) -> Result<Opened, Error> {
    let head = loop {
        match r.fill_buf() {
            Ok(h) => break h,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(name, &e)),
        }
    };
    if head.starts_with(&GZIP_MAGIC) {
        Ok(Opened::Stream(Box::new(MultiGzDecoder::new(r))))
    } else {
        Ok(Opened::Stream(Box::new(r)))
    }
}

/// How many bytes [`peek`] looks at.
pub const PEEK_BYTES: usize = 64 << 10;

/// The first bytes of an input (decompressed), for format detection, and the input itself,
/// still readable from its start.
pub fn peek(opened: Opened) -> io::Result<(Vec<u8>, Opened)> {
    match opened {
        Opened::Plain { file, start, end } => {
            let len = end.saturating_sub(start);
            let mut head = vec![0u8; PEEK_BYTES.min(usize::try_from(len).unwrap_or(PEEK_BYTES))];
            let n = read_at_most(&file, start, &mut head)?;
            head.truncate(n);
            Ok((head, Opened::Plain { file, start, end }))
        }
        Opened::Stream(mut r) => {
            let mut head = Vec::with_capacity(PEEK_BYTES);
            let mut failed = None;
            while head.len() < PEEK_BYTES {
                let mut buf = [0u8; 8192];
                let want = buf.len().min(PEEK_BYTES - head.len());
                match r.read(&mut buf[..want]) {
                    Ok(0) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            let replay = io::Cursor::new(head.clone());
            let rest: Box<dyn Read + Send> = match failed {
                // Replay what was read, then report the error where the scan will see it.
                Some(e) => Box::new(replay.chain(FailingReader(Some(e)))),
                None => Box::new(replay.chain(r)),
            };
            Ok((head, Opened::Stream(rest)))
        }
    }
}

/// The most bytes [`peek_lines`] reads looking for lines.
pub const PEEK_LINES_MAX_BYTES: usize = 8 << 20;

/// Lines longer than this are not sampled by [`peek_lines`] (they are still scanned).
pub const PEEK_LINE_MAX_BYTES: usize = 64 << 10;

/// Collects whole, non-empty lines of at most [`PEEK_LINE_MAX_BYTES`] from bytes fed in
/// order; longer lines are skipped up to their newline.
struct LineSampler {
    want: usize,
    lines: Vec<Vec<u8>>,
    partial: Vec<u8>,
    skipping: bool,
}

impl LineSampler {
    fn done(&self) -> bool {
        self.lines.len() >= self.want
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.done() {
            let (part, rest, ended) = match memchr::memchr(b'\n', bytes) {
                Some(i) => (&bytes[..i], &bytes[i + 1..], true),
                None => (bytes, &b""[..], false),
            };
            if !self.skipping {
                if self.partial.len() + part.len() > PEEK_LINE_MAX_BYTES {
                    self.skipping = true;
                    self.partial.clear();
                } else {
                    self.partial.extend_from_slice(part);
                }
            }
            if ended {
                self.end_line();
            }
            bytes = rest;
        }
    }

    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.partial);
        let blank = line.iter().all(|&b| b == b'\r');
        if !self.skipping && !blank {
            self.lines.push(line);
        }
        self.skipping = false;
    }
}

/// The first `want` whole, non-empty lines of an input (decompressed) for format detection,
/// and the input itself, still readable from its start. Unlike [`peek`], it reads past a first
/// line longer than the peek window: lines over [`PEEK_LINE_MAX_BYTES`] are skipped, and up to
/// [`PEEK_LINES_MAX_BYTES`] are read. A last line without its newline counts only at the end
/// of the input.
pub fn peek_lines(opened: Opened, want: usize) -> io::Result<(Vec<Vec<u8>>, Opened)> {
    let mut sampler = LineSampler {
        want,
        lines: Vec::new(),
        partial: Vec::new(),
        skipping: false,
    };
    let mut buf = vec![0u8; PEEK_BYTES];
    match opened {
        Opened::Plain { file, start, end } => {
            let mut at = start;
            let limit = end.min(start.saturating_add(PEEK_LINES_MAX_BYTES as u64));
            while at < limit && !sampler.done() {
                let len = usize::try_from(limit - at)
                    .unwrap_or(PEEK_BYTES)
                    .min(PEEK_BYTES);
                let n = read_at_most(&file, at, &mut buf[..len])?;
                if n == 0 {
                    break;
                }
                sampler.feed(&buf[..n]);
                at += n as u64;
            }
            if at >= end && !sampler.done() && !sampler.partial.is_empty() {
                sampler.end_line();
            }
            Ok((sampler.lines, Opened::Plain { file, start, end }))
        }
        Opened::Stream(mut r) => {
            let mut head = Vec::new();
            let mut failed = None;
            let mut eof = false;
            while head.len() < PEEK_LINES_MAX_BYTES && !sampler.done() {
                match r.read(&mut buf) {
                    Ok(0) => {
                        eof = true;
                        break;
                    }
                    Ok(n) => {
                        sampler.feed(&buf[..n]);
                        head.extend_from_slice(&buf[..n]);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            if eof && !sampler.done() && !sampler.partial.is_empty() {
                sampler.end_line();
            }
            let replay = io::Cursor::new(head);
            let rest: Box<dyn Read + Send> = match failed {
                Some(e) => Box::new(replay.chain(FailingReader(Some(e)))),
                None => Box::new(replay.chain(r)),
            };
            Ok((sampler.lines, Opened::Stream(rest)))
        }
    }
}

struct FailingReader(Option<io::Error>);

impl Read for FailingReader {
    fn read(&mut self, _buf: &mut [u8]) -> io::Result<usize> {
        match self.0.take() {
            Some(e) => Err(e),
            None => Ok(0),
        }
    }
}

/// Reads up to `buf.len()` bytes at `offset` (fewer only at the end of the file); returns
/// how many were read.
pub fn read_at_most(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Reads a byte range of a file through positional reads (`pread`), so many workers can
/// share one handle.
#[derive(Debug)]
pub struct RangeReader<'f> {
    file: &'f File,
    pos: u64,
    end: u64,
}

impl<'f> RangeReader<'f> {
    /// Reads `file` from `range.start` to `range.end`.
    pub fn new(file: &'f File, range: Range<u64>) -> Self {
        RangeReader {
            file,
            pos: range.start,
            end: range.end,
        }
    }
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Splits the byte range `range` of a file (starting at the beginning of a line) into ranges
/// of about `target` bytes, each starting at the beginning of a line and ending just after a
/// newline (or at the end of the range).
pub fn chunk_file(file: &File, range: Range<u64>, target: u64) -> io::Result<Vec<Range<u64>>> {
    let target = target.max(1);
    let len = range.end;
    let mut out = Vec::new();
    let mut start = range.start;
    let mut buf = vec![0u8; 64 << 10];
    while start < len {
        let mut probe = start.saturating_add(target);
        if probe >= len {
            out.push(start..len);
            break;
        }
        // Find the first newline at or after `probe - 1`: the chunk ends just after it.
        probe -= 1;
        let end = loop {
            let n = read_at_most(file, probe, &mut buf)?;
            if n == 0 {
                break len;
            }
            if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
                break probe + i as u64 + 1;
            }
            probe += n as u64;
        };
        out.push(start..end);
        start = end;
    }
    Ok(out)
}

/// A piece of input handed to a line consumer by [`read_blocks`].
#[derive(Debug, PartialEq, Eq)]
pub enum Block<'a> {
    /// Whole lines, each ending in `\n` except possibly the very last line of the input.
    Lines(&'a [u8]),
    /// One line longer than the limit, skipped: its first bytes and its full length.
    TooLong {
        /// The first bytes of the line (up to [`SAMPLE_BYTES`]).
        prefix: &'a [u8],
        /// The line's full length in bytes.
        len: u64,
    },
}

/// How many bytes of an overlong line are kept for the report.
pub const SAMPLE_BYTES: usize = 256;

/// Reads `r` to its end and hands over blocks of whole lines of about `block` bytes, with
/// bounded memory: a line longer than `max_line` is not buffered but skipped and reported as
/// [`Block::TooLong`]. Returns the number of bytes read. `f` may stop the reading early by
/// returning `ControlFlow::Break`.
pub fn read_blocks<R: Read>(
    mut r: R,
    block: usize,
    max_line: usize,
    mut f: impl FnMut(Block<'_>) -> ControlFlow<()>,
) -> io::Result<u64> {
    let block = block.max(1);
    let cap = block + max_line + 1;
    let mut buf = vec![0u8; cap];
    let mut filled = 0usize;
    let mut searched = 0usize; // bytes of buf[..filled] known to hold no newline
    let mut eof = false;
    let mut failed: Option<io::Error> = None;
    let mut total = 0u64;
    loop {
        // Fill until a block's worth with a newline in it, the buffer is full, or EOF.
        while !eof && filled < cap {
            if filled >= block {
                if memchr::memchr(b'\n', &buf[searched..filled]).is_some() {
                    break;
                }
                searched = filled;
            }
            match r.read(&mut buf[filled..cap]) {
                Ok(0) => eof = true,
                Ok(n) => {
                    filled += n;
                    total += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Hand over what was read (a truncated gzip keeps its good lines), then
                    // report the error.
                    eof = true;
                    failed = Some(e);
                }
            }
        }
        if filled == 0 {
            return match failed {
                Some(e) => Err(e),
                None => Ok(total),
            };
        }
        match memchr::memrchr(b'\n', &buf[..filled]) {
            Some(i) => {
                if f(Block::Lines(&buf[..=i])).is_break() {
                    return Ok(total);
                }
                buf.copy_within(i + 1..filled, 0);
                filled -= i + 1;
                searched = 0;
            }
            None if eof => {
                if f(Block::Lines(&buf[..filled])).is_break() {
                    return Ok(total);
                }
                filled = 0;
            }
            None => {
                // One line fills the buffer and exceeds max_line: skip to its newline.
                let prefix: Vec<u8> = buf[..SAMPLE_BYTES.min(filled)].to_vec();
                let mut len = filled as u64;
                filled = 0;
                searched = 0;
                loop {
                    let n = match r.read(&mut buf[..]) {
                        Ok(n) => n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            failed = Some(e);
                            0
                        }
                    };
                    total += n as u64;
                    if n == 0 {
                        eof = true;
                        break;
                    }
                    if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
                        len += i as u64;
                        buf.copy_within(i + 1..n, 0);
                        filled = n - (i + 1);
                        break;
                    }
                    len += n as u64;
                }
                if f(Block::TooLong {
                    prefix: &prefix,
                    len,
                })
                .is_break()
                {
                    return Ok(total);
                }
            }
        }
    }
}

/// Calls `f(line)` for every line of a [`Block::Lines`] block, without its `\n` or `\r\n`.
#[inline]
pub fn for_each_line<'a>(block: &'a [u8], f: impl FnMut(&'a [u8])) {
    // The AVX2 searcher called directly: `memchr::memchr` picks its implementation through
    // a function pointer on every call, which costs more than the search of a short line.
    #[cfg(target_arch = "x86_64")]
    if let Some(newline) = memchr::arch::x86_64::avx2::memchr::One::new(b'\n') {
        return split_lines(block, |hay| newline.find(hay), f);
    }
    split_lines(block, |hay| memchr::memchr(b'\n', hay), f)
}

#[inline(always)]
fn split_lines<'a>(
    block: &'a [u8],
    find: impl Fn(&[u8]) -> Option<usize>,
    mut f: impl FnMut(&'a [u8]),
) {
    let mut rest = block;
    while !rest.is_empty() {
        let (line, next) = match find(rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &b""[..]),
        };
        let line = match line {
            [head @ .., b'\r'] => head,
            l => l,
        };
        f(line);
        rest = next;
    }
}

#[cfg(test)]
mod block_tests {
    use super::*;

    fn collect(input: &[u8], block: usize, max_line: usize) -> Vec<String> {
        let mut out = Vec::new();
        read_blocks(input, block, max_line, |b| {
            match b {
                Block::Lines(l) => for_each_line(l, |line| {
                    out.push(String::from_utf8_lossy(line).into_owned())
                }),
                Block::TooLong { prefix, len } => out.push(format!(
                    "TOOLONG({len},{})",
                    String::from_utf8_lossy(&prefix[..prefix.len().min(3)])
                )),
            }
            ControlFlow::Continue(())
        })
        .unwrap();
        out
    }

    #[test]
    fn blocks_hold_whole_lines_whatever_the_block_size() {
        let input = b"alpha\r\nbeta\n\ngamma";
        for block in [1, 2, 3, 5, 8, 64] {
            assert_eq!(
                collect(input, block, 100),
                ["alpha", "beta", "", "gamma"],
                "block {block}"
            );
        }
        assert!(collect(b"", 4, 10).is_empty());
    }

    #[test]
    fn overlong_lines_are_skipped_with_their_length() {
        let mut input = b"ok\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 5000));
        input.extend_from_slice(b"\nafter\n");
        for block in [4, 16, 1000] {
            assert_eq!(
                collect(&input, block, 100),
                ["ok", "TOOLONG(5000,xxx)", "after"],
                "block {block}"
            );
        }
        // A long line at the very end without a newline.
        let input = [b"ok\n".as_slice(), &[b'y'; 300]].concat();
        assert_eq!(collect(&input, 8, 100), ["ok", "TOOLONG(300,yyy)"]);
    }

    #[test]
    fn chunks_end_at_newlines_and_cover_the_file() {
        use std::io::Write;
        let mut tmp = tempfile::tempfile().unwrap();
        let data = b"aaaa\nbb\ncccccccccc\nd\n\ne";
        tmp.write_all(data).unwrap();
        for target in [1, 3, 6, 100] {
            let chunks = chunk_file(&tmp, 0..data.len() as u64, target).unwrap();
            assert_eq!(chunks.first().unwrap().start, 0);
            assert_eq!(chunks.last().unwrap().end, data.len() as u64);
            for w in chunks.windows(2) {
                assert_eq!(w[0].end, w[1].start);
                assert_eq!(data[w[0].end as usize - 1], b'\n');
            }
            let mut lines = Vec::new();
            for c in &chunks {
                let mut r = RangeReader::new(&tmp, c.clone());
                let mut bytes = Vec::new();
                r.read_to_end(&mut bytes).unwrap();
                for_each_line(&bytes, |l| lines.push(l.to_vec()));
            }
            assert_eq!(lines.len(), 6, "target {target}");
        }
    }
}

#[cfg(test)]
mod peek_lines_tests {
    use super::*;

    fn sample(input: &[u8], want: usize) -> (Vec<String>, Vec<u8>) {
        let stream = Opened::Stream(Box::new(io::Cursor::new(input.to_vec())));
        let (lines, opened) = peek_lines(stream, want).unwrap();
        let Opened::Stream(mut r) = opened else {
            panic!("a stream stays a stream")
        };
        let mut replay = Vec::new();
        r.read_to_end(&mut replay).unwrap();
        let lines = lines
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        (lines, replay)
    }

    #[test]
    fn lines_past_a_first_line_longer_than_the_peek_window_are_sampled() {
        let mut input = vec![b'x'; PEEK_BYTES + 10];
        input.extend_from_slice(b"\none\r\n\ntwo\nthree");
        let (lines, replay) = sample(&input, 20);
        assert_eq!(lines, ["one\r", "two", "three"]);
        assert_eq!(replay, input, "the stream is replayed whole");
        let (lines, _) = sample(&input, 2);
        assert_eq!(lines, ["one\r", "two"]);
    }

    #[test]
    fn plain_files_are_sampled_in_their_byte_range() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let mut input = vec![b'y'; PEEK_LINE_MAX_BYTES + 1];
        input.extend_from_slice(b"\nfirst\nsecond\nthird\n");
        std::fs::write(&path, &input).unwrap();
        let file = File::open(&path).unwrap();
        let end = input.len() as u64;
        let (lines, _) = peek_lines(
            Opened::Plain {
                file,
                start: 0,
                end,
            },
            20,
        )
        .unwrap();
        assert_eq!(
            lines,
            [b"first".to_vec(), b"second".to_vec(), b"third".to_vec()]
        );
        let file = File::open(&path).unwrap();
        let start = (PEEK_LINE_MAX_BYTES + 1 + 7) as u64;
        let (lines, _) = peek_lines(
            Opened::Plain {
                file,
                start,
                end: start + 9,
            },
            20,
        )
        .unwrap();
        assert_eq!(lines, [b"second".to_vec(), b"th".to_vec()]);
    }
}
