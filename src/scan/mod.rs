//! Parallel scanning of access logs: every line read once, folded into per-worker
//! accumulators, merged at the end.
//!
//! Owns: parallelism only. Plain files are split into newline-aligned chunks that rayon
//! workers read with positional reads; streams (stdin, gzip) are read by one producer thread
//! in blocks of whole lines that workers take from a bounded channel. Each worker folds its
//! own [`Accumulate`] value (a `Summary`, or a tuple of accumulators so that the audit
//! rides the same read) and its own [`Malformed`] counts; the driver reduces them. There is no
//! lock or shared state per line. Line numbers are fixed up once every unit's line count is
//! known. The format is looked at once per block: each predefined template gets a line loop
//! of its own with its parser inlined.
//! Does not own: field layouts (`logfmt`), what is accumulated (`summary`, audit), output.

pub mod malformed;

use std::collections::HashMap;
use std::fs::File;
use std::ops::{ControlFlow, Range};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;

use rayon::prelude::*;

pub use crate::accumulate::{Accumulate, LineAt};
use crate::error::Error;
use crate::input::{self, Block, Opened, RangeReader};
use crate::logfmt::{LineError, Plan, Preset, Record};
pub use malformed::{Malformed, Sample};

/// One input to scan.
pub struct ScanInput {
    /// Its name in reports (`-` for stdin).
    pub name: String,
    /// The opened input (for an incremental run, a byte range of a file).
    pub opened: Opened,
    /// The 0-based number of the input's first line within its file (non-zero when an
    /// incremental run starts in the middle), so samples carry true line numbers.
    pub first_line: u64,
}

impl ScanInput {
    /// A whole input, from its first line.
    pub fn new(name: String, opened: Opened) -> Self {
        ScanInput {
            name,
            opened,
            first_line: 0,
        }
    }
}

/// How to scan.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// Worker threads; 0 means one per core.
    pub threads: usize,
    /// Target size of a plain-file chunk.
    pub chunk_bytes: u64,
    /// Target size of a block handed to a worker.
    pub block_bytes: usize,
    /// Longest line parsed; longer lines are malformed ("too long") and skipped.
    pub max_line: usize,
    /// Malformed lines kept as samples.
    pub samples: usize,
    /// Bytes read so far, for a progress bar (updated once per block).
    pub progress: Option<Arc<AtomicU64>>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            threads: 0,
            chunk_bytes: 16 << 20,
            block_bytes: 1 << 20,
            max_line: 4 << 20,
            samples: 10,
            progress: None,
        }
    }
}

/// What a scan found.
#[derive(Debug)]
pub struct Scanned<A> {
    /// Lines read (every line: parsed, malformed or too long).
    pub lines: u64,
    /// Lines parsed into records.
    pub parsed: u64,
    /// Malformed lines, with samples as `path:line: reason`.
    pub malformed: Malformed,
    /// Malformed samples resolved to paths and line numbers.
    pub samples: Vec<Sample>,
    /// Inputs that could not be opened or were cut short (their good lines are counted).
    pub errors: Vec<Error>,
    /// The merged accumulator.
    pub acc: A,
    /// Input names, by file index.
    pub names: Vec<String>,
    offsets: HashMap<(u32, u32), u64>,
}

impl<A> Scanned<A> {
    /// The input name and 1-based line number of a position.
    pub fn locate(&self, at: LineAt) -> (&str, u64) {
        let name = self
            .names
            .get(at.file as usize)
            .map(String::as_str)
            .unwrap_or("?");
        let base = self.offsets.get(&(at.file, at.unit)).copied().unwrap_or(0);
        (name, base + at.line + 1)
    }
}

struct Worker<A> {
    acc: A,
    malformed: Malformed,
    lines: u64,
    parsed: u64,
    /// Lines per (file, unit), to turn unit-relative positions into line numbers.
    units: Vec<(u32, u32, u64)>,
    errors: Vec<Error>,
}

impl<A: Accumulate> Worker<A> {
    fn new(acc: A, samples: usize) -> Self {
        Worker {
            acc,
            malformed: Malformed::new(samples),
            lines: 0,
            parsed: 0,
            units: Vec::new(),
            errors: Vec::new(),
        }
    }

    fn merge(mut self, other: Self) -> Self {
        self.acc.merge(other.acc);
        self.malformed.merge(other.malformed);
        self.lines += other.lines;
        self.parsed += other.parsed;
        self.units.extend(other.units);
        self.errors.extend(other.errors);
        self
    }

    /// Processes one block of a unit; `line` is the unit-relative number of its first line.
    #[inline]
    fn block(&mut self, plan: &Plan, max_line: usize, block: Block<'_>, at: LineAt) -> u64 {
        let mut at = at;
        let start = at.line;
        match block {
            // The format is picked here, once per block: each predefined template gets a
            // loop of its own with its parser inlined, and its record (new for the block, and
            // given to that parser only) has its other fields cleared once.
            Block::Lines(bytes) => match plan.preset() {
                Some(Preset::Realip) => self.lines(bytes, max_line, &mut at, |line, rec| {
                    plan.parse_preset(Preset::Realip, line, rec, true)
                }),
                Some(Preset::Main) => self.lines(bytes, max_line, &mut at, |line, rec| {
                    plan.parse_preset(Preset::Main, line, rec, true)
                }),
                Some(Preset::Combined) => self.lines(bytes, max_line, &mut at, |line, rec| {
                    plan.parse_preset(Preset::Combined, line, rec, true)
                }),
                None => self.lines(bytes, max_line, &mut at, |line, rec| plan.parse(line, rec)),
            },
            Block::TooLong { len, .. } => {
                self.malformed.add(at, || {
                    format!("line of {len} bytes is longer than the limit of {max_line}")
                });
                at.line += 1;
            }
        }
        let n = at.line - start;
        self.lines += n;
        n
    }
}

impl<A: Accumulate> Worker<A> {
    /// Parses the lines of a block with `parse` and folds them; `at` is the first line's
    /// position and ends past the last one.
    #[inline(always)]
    fn lines<'a, P>(&mut self, bytes: &'a [u8], max_line: usize, at: &mut LineAt, parse: P)
    where
        P: Fn(&'a [u8], &mut Record<'a>) -> Result<(), LineError>,
    {
        let mut rec = Record::new();
        input::for_each_line(bytes, |line| {
            if line.len() > max_line {
                let len = line.len();
                self.malformed.add(*at, || {
                    format!("line of {len} bytes is longer than the limit of {max_line}")
                });
            } else if line.is_empty() {
                self.malformed.add(*at, || "empty line".to_string());
            } else {
                match parse(line, &mut rec) {
                    Ok(()) => {
                        self.parsed += 1;
                        self.acc.record(&rec, *at);
                    }
                    Err(e) => self.malformed.add(*at, || e.to_string()),
                }
            }
            at.line += 1;
        });
    }
}

/// Scans opened inputs in order (each one in parallel) with `plan`, folding every parsed
/// line into accumulators made by `make`. A read error (a truncated gzip, an I/O error) is
/// reported in [`Scanned::errors`] after the lines read before it are counted; it does not
/// stop the scan. Only a thread-pool failure is an error.
pub fn scan<A, F>(
    inputs: Vec<ScanInput>,
    plan: &Plan,
    opts: &ScanOptions,
    make: F,
) -> Result<Scanned<A>, Error>
where
    A: Accumulate,
    F: Fn() -> A + Sync,
{
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|e| Error::input("thread pool", e.to_string()))?;
    let names: Vec<String> = inputs.iter().map(|i| i.name.clone()).collect();
    let first_lines: Vec<u64> = inputs.iter().map(|i| i.first_line).collect();
    let total = pool.install(|| {
        let mut total = Worker::new(make(), opts.samples);
        for (fi, input) in inputs.into_iter().enumerate() {
            let fi = u32::try_from(fi).unwrap_or(u32::MAX);
            let name = input.name;
            let w = match input.opened {
                Opened::Plain { file, start, end } => {
                    scan_plain(&file, start..end, &name, fi, plan, opts, &make)
                }
                Opened::Stream(r) => scan_stream(r, &name, fi, plan, opts, &make),
            };
            total = total.merge(w);
        }
        total
    });

    // Line offsets of every unit: prefix sums of line counts in unit order, per file.
    let mut units = total.units;
    units.sort_unstable();
    let mut offsets = HashMap::with_capacity(units.len());
    let mut file = u32::MAX;
    let mut base = 0u64;
    for (f, u, n) in units {
        if f != file {
            file = f;
            base = first_lines.get(f as usize).copied().unwrap_or(0);
        }
        offsets.insert((f, u), base);
        base += n;
    }
    let samples = total.malformed.resolve(&names, |at| {
        offsets.get(&(at.file, at.unit)).copied().unwrap_or(0) + at.line
    });
    Ok(Scanned {
        lines: total.lines,
        parsed: total.parsed,
        malformed: total.malformed,
        samples,
        errors: total.errors,
        acc: total.acc,
        names,
        offsets,
    })
}

fn progress(opts: &ScanOptions, bytes: u64) {
    if let Some(p) = &opts.progress {
        p.fetch_add(bytes, Ordering::Relaxed);
    }
}

fn scan_plain<A, F>(
    file: &File,
    range: Range<u64>,
    name: &str,
    fi: u32,
    plan: &Plan,
    opts: &ScanOptions,
    make: &F,
) -> Worker<A>
where
    A: Accumulate,
    F: Fn() -> A + Sync,
{
    let chunks: Vec<Range<u64>> = match input::chunk_file(file, range, opts.chunk_bytes) {
        Ok(c) => c,
        Err(e) => {
            let mut w = Worker::new(make(), opts.samples);
            w.errors.push(Error::io(name, &e));
            return w;
        }
    };
    // One accumulator per thread, each taking the next chunk until none is left: rayon's
    // `fold` would start a new accumulator at every split of the chunk list, and with
    // thousands of tracked groups each holding a histogram, the accumulators alive at once
    // (not the file size) set the peak memory.
    let next = AtomicUsize::new(0);
    let threads = rayon::current_num_threads().clamp(1, chunks.len().max(1));
    (0..threads)
        .into_par_iter()
        .map(|_| {
            let mut w = Worker::new(make(), opts.samples);
            loop {
                let ci = next.fetch_add(1, Ordering::Relaxed);
                let Some(range) = chunks.get(ci) else {
                    return w;
                };
                let unit = u32::try_from(ci).unwrap_or(u32::MAX);
                let mut at = LineAt {
                    file: fi,
                    unit,
                    line: 0,
                };
                let reader = RangeReader::new(file, range.clone());
                let result = input::read_blocks(reader, opts.block_bytes, opts.max_line, |b| {
                    let bytes = match &b {
                        Block::Lines(l) => l.len() as u64,
                        Block::TooLong { len, .. } => *len,
                    };
                    at.line += w.block(plan, opts.max_line, b, at);
                    progress(opts, bytes);
                    ControlFlow::Continue(())
                });
                if let Err(e) = result {
                    w.errors.push(Error::io(name, &e));
                }
                w.units.push((fi, unit, at.line));
            }
        })
        .reduce(|| Worker::new(make(), opts.samples), Worker::merge)
}

/// A block read by the producer thread, owned so it can cross to a worker.
enum OwnedBlock {
    Lines(Vec<u8>),
    TooLong(u64),
}

fn scan_stream<A, F>(
    reader: Box<dyn std::io::Read + Send>,
    name: &str,
    fi: u32,
    plan: &Plan,
    opts: &ScanOptions,
    make: &F,
) -> Worker<A>
where
    A: Accumulate,
    F: Fn() -> A + Sync,
{
    let (tx, rx) = sync_channel::<(u32, OwnedBlock)>(4 * rayon::current_num_threads().max(1));
    std::thread::scope(|s| {
        let producer = s.spawn(move || {
            let mut unit = 0u32;
            input::read_blocks(reader, opts.block_bytes, opts.max_line, |b| {
                let owned = match b {
                    Block::Lines(l) => OwnedBlock::Lines(l.to_vec()),
                    Block::TooLong { len, .. } => OwnedBlock::TooLong(len),
                };
                let this = unit;
                unit = unit.saturating_add(1);
                // A closed channel means the workers are gone; nothing left to do.
                match tx.send((this, owned)) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(_) => ControlFlow::Break(()),
                }
            })
        });
        let mut w = rx
            .into_iter()
            .par_bridge()
            .fold(
                || Worker::new(make(), opts.samples),
                |mut w, (unit, block)| {
                    let at = LineAt {
                        file: fi,
                        unit,
                        line: 0,
                    };
                    let (b, bytes) = match &block {
                        OwnedBlock::Lines(l) => (Block::Lines(l), l.len() as u64),
                        OwnedBlock::TooLong(len) => (
                            Block::TooLong {
                                prefix: &[],
                                len: *len,
                            },
                            *len,
                        ),
                    };
                    let n = w.block(plan, opts.max_line, b, at);
                    w.units.push((fi, unit, n));
                    progress(opts, bytes);
                    w
                },
            )
            .reduce(|| Worker::new(make(), opts.samples), Worker::merge);
        match producer.join() {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => w.errors.push(Error::io(name, &e)),
            Err(_) => w.errors.push(Error::input(name, "reader thread failed")),
        }
        w
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logfmt::{Field, Format};

    /// One record as read: where, every field's bytes, the status and the request time.
    type Read = (LineAt, Vec<Option<Vec<u8>>>, Option<u16>, Option<u64>);

    /// Every record, as read.
    #[derive(Default)]
    struct Seen(Vec<Read>);

    impl Accumulate for Seen {
        fn record(&mut self, rec: &Record<'_>, at: LineAt) {
            let fields = Field::ALL
                .iter()
                .map(|&f| rec.get(f).map(<[u8]>::to_vec))
                .collect();
            self.0
                .push((at, fields, rec.status(), rec.request_time_us()));
        }

        fn merge(&mut self, other: Self) {
            self.0.extend(other.0);
        }
    }

    /// The loop picked per block (each predefined template's parser inlined) reads a block
    /// exactly as `Plan::parse` reads its lines one by one: the same records, the same
    /// malformed lines with the same reasons, CRLF, empty, refused and overlong lines included.
    #[test]
    fn the_loop_of_each_format_reads_lines_like_plan_parse() {
        let realip = "203.0.113.7 - - [10/Oct/2026:13:55:36 +0000] \"GET /a?b=1 HTTP/1.1\" 200 612 \"-\" \"curl/8.5\" \"198.51.100.1, 203.0.113.7\" 130.211.0.5 0.106 0.105";
        let main = "203.0.113.7 - bob [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/2.0\" 503 0 \"https://x/\" \"a \\x22b\\x22\" \"-\"";
        let combined = "2001:db8::1 - - [10/Oct/2026:13:55:36 +0000] \"POST /x HTTP/1.1\" 099 12345678901 \"-\" \"-\"";
        let mut block = Vec::new();
        for line in [
            realip,
            main,
            combined,
            "",
            "\r",
            "garbage",
            "203.0.113.7 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 20x 1 \"-\" \"-\"",
            "203.0.113.7 - - [x] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\" \"-\" 1.2.3.4 abc -",
        ] {
            block.extend_from_slice(line.as_bytes());
            block.extend_from_slice(b"\r\n");
        }
        block.extend_from_slice(&vec![b'x'; 300]);
        block.push(b'\n');
        block.extend_from_slice(realip.as_bytes());
        let formats = [
            Format::Realip,
            Format::Main,
            Format::Combined,
            Format::Custom("$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent".to_string()),
        ];
        for format in formats {
            let plan = Plan::compile(&format).unwrap();
            let max_line = 299;
            let mut w = Worker::new(Seen::default(), 100);
            let at = LineAt {
                file: 0,
                unit: 3,
                line: 5,
            };
            let n = w.block(&plan, max_line, Block::Lines(&block), at);

            let mut want = Seen::default();
            let mut bad = Malformed::new(100);
            let mut rec = Record::new();
            let mut at = at;
            input::for_each_line(&block, |line| {
                if line.len() > max_line {
                    bad.add(at, || {
                        format!(
                            "line of {} bytes is longer than the limit of {max_line}",
                            line.len()
                        )
                    });
                } else if line.is_empty() {
                    bad.add(at, || "empty line".to_string());
                } else {
                    match plan.parse(line, &mut rec) {
                        Ok(()) => want.record(&rec, at),
                        Err(e) => bad.add(at, || e.to_string()),
                    }
                }
                at.line += 1;
            });
            assert_eq!(n, 10, "{format:?}");
            assert_eq!(w.parsed, want.0.len() as u64, "{format:?}");
            assert!(w.parsed >= 1, "{format:?}");
            assert_eq!(w.acc.0, want.0, "{format:?}");
            assert_eq!(w.malformed.count(), bad.count(), "{format:?}");
            let lines = |m: &Malformed| m.resolve(&["f".to_string()], |at| at.line);
            let (got, want) = (lines(&w.malformed), lines(&bad));
            assert_eq!(
                got.iter().map(|s| (s.line, &s.reason)).collect::<Vec<_>>(),
                want.iter().map(|s| (s.line, &s.reason)).collect::<Vec<_>>(),
                "{format:?}"
            );
        }
    }
}
