//! Incremental reading for cron runs (`--state FILE`): which byte ranges of which files to
//! read this run, so that over many runs every complete log line is read exactly once.
//!
//! Owns: the state file (its JSON format and version, the lock against a concurrent run, its
//! atomic replacement), following each log through appends, rotation by rename (logrotate's
//! default `create`), truncation and `copytruncate`, the `--max-read` bound on a catch-up, and
//! the FNV-1a fingerprint that tells "the same bytes as last time" from "new bytes at the same
//! offset". [`begin`] answers with [`Piece`]s (an open file, a byte range that starts at a line
//! and ends after a newline, the line number of its start) and says what it [`Skipped`] and
//! why; [`Incremental::commit`] moves the state forward once the caller has used the pieces.
//!
//! Does not own: what a line means or reading lines for their content (the scanner reads the
//! pieces through [`Piece::scan_input`], see [`crate::scan`]); stdin and gzip input
//! ([`crate::input`]; both are refused here); printing the notes (the CLI does, through
//! `escape`, since they contain paths). Like `input`, this module touches the
//! filesystem: it stats logs, lists their directory to find a rotated file, and reads bytes
//! around offsets (newline search, newline counts, fingerprints).
//!
//! # How a log is followed
//!
//! The state keeps, per log path, the identity of the file last seen there (device, inode),
//! the offset just after the last complete line read, the line number at that offset, a
//! fingerprint of the bytes before the offset (their length and FNV-1a 64 of up to the last
//! 4096 of them), the size seen and the time of the run. At the next run:
//!
//! * **Append**: same inode, at least as long as the offset, same fingerprint: read from the
//!   offset to the last newline.
//! * **Rotation** (rename, then a new file at the path): the old file is looked up in the
//!   same directory by inode (its fingerprint checked, so a reused inode is not mistaken for
//!   it; with nothing read yet, its name must start with the log's and it must not have
//!   shrunk), or else by content; it is finished from the saved offset, then the new file is
//!   read from its start. nginx keeps writing to the renamed file until it reopens its
//!   logs, so the rotated file is kept in the state and finished again at later runs until it
//!   has stopped changing between two runs, ends with a newline, and the new file has
//!   received lines.
//! * **Truncation / `copytruncate`**: same inode but shorter than the offset, or long enough
//!   but with different bytes before the offset (truncated, then grown past the offset again):
//!   the copy is looked up in the same directory by the fingerprint, finished from the saved
//!   offset, and the live file is read from its start.
//! * **Compressed before the next run** (logrotate without `delaycompress`, or a rotated
//!   file still being finished that got compressed): when neither the inode nor the plain
//!   bytes are found, gzip files named like the log (`access.log.1.gz`,
//!   `access.log-20240501.gz`), newest first, are decompressed until one holds the tracked
//!   bytes before the offset; its content after the offset is read through
//!   [`Piece::compressed`] pieces, and the file is not tracked further (it will not grow), so
//!   those lines are read exactly once. An unterminated last line in it is reported as lost
//!   with its exact size.
//! * A rotated or truncated file whose old content cannot be found is reported in
//!   [`Incremental::skipped`] with `lost` set (the bytes pending when last seen; an unknown
//!   number when none were); nothing is dropped silently.
//! * A trailing line without its newline is never read: it waits for the next run.
//! * `max_read`: when more bytes are pending for one log than allowed, the oldest are skipped,
//!   reading starts at the first line that begins in the last `max_read` bytes, and the skipped
//!   bytes and lines are reported (their newlines are counted so line numbers stay exact).
//!
//! # Assumptions under which every complete line is read exactly once
//!
//! 1. Each log is rotated (renamed or copy-truncated) at most once between two committed runs,
//!    and a rotated file stays in the same directory (plain, or gzip-compressed under a name
//!    that starts with the log's); compressing it before a run is fine, deleting it is not.
//! 2. Lines are written whole (nginx writes each line with one `write`), so a line never
//!    straddles a rotation or a truncation; `copytruncate` itself loses lines written between
//!    its copy and its truncation, which no reader can see.
//! 3. The last 4096 bytes before an offset identify the content (log lines carry timestamps):
//!    a file truncated and rewritten with byte-identical content cannot be told apart.
//! 4. Truncation is recognised from the bytes already read. A log from which no complete line
//!    had been read at the previous run (it was empty, or held one partial line) and that is
//!    copy-truncated and grows back past its old size before the next run looks like an
//!    append: the lines that went to the copy are missed. With runs every few minutes this
//!    needs a log idle across a whole run interval and rotated right after it.
//! 5. Files are not rewritten in the middle, and a file is not truncated while a run reads
//!    it (a copytruncate during a run shortens what the scanner reads: compare the bytes it
//!    read with [`Piece::len`] before committing).
//! 6. Runs that share a state file do not overlap (enforced: the second fails fast).
//!
//! A run that fails before [`Incremental::commit`] leaves the old state, so the next run reads
//! the same bytes again: at least once on failure, exactly once on success.
//!
//! # The state file
//!
//! JSON, `"version": 1`, one entry per log keyed by its absolute path (the directory
//! canonicalized, the file name kept, so a log path that is a symlink is followed through its
//! target's changes). It is replaced atomically (a temporary file in the same directory,
//! fsync, rename, fsync of the directory) and guarded by an exclusive lock on
//! `<state>.lock`, which names the holder's process id and start time for the error a
//! concurrent run reports. A missing state file means a first run; an unreadable, corrupt or
//! newer-version file is an error naming it, never a silent restart. Entries of logs that a
//! run was not given are kept. After a rotation, with nginx not done with the old file yet:
//!
//! ```json
//! {
//!   "version": 1,
//!   "logs": {
//!     "/var/log/nginx/access.log": {
//!       "last_run": 1714557900,
//!       "file": {
//!         "path": "/var/log/nginx/access.log", "dev": 65024, "inode": 10027300,
//!         "offset": 169, "line": 2,
//!         "fingerprint": { "len": 169, "fnv1a64": "b7e1c724e64b06e0" },
//!         "size": 176
//!       },
//!       "rotated": [
//!         {
//!           "path": "/var/log/nginx/access.log.1", "dev": 65024, "inode": 10027297,
//!           "offset": 2115, "line": 23,
//!           "fingerprint": { "len": 2115, "fnv1a64": "b591f4c7539f2b69" },
//!           "size": 2115
//!         }
//!       ]
//!     }
//!   }
//! }
//! ```

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File, Metadata, OpenOptions, TryLockError};
use std::io::{self, Read, Write};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::input::{read_at_most, Opened};
use crate::scan::ScanInput;
use crate::totals::Totals;

/// The state file format version this build reads and writes.
pub const VERSION: u64 = 1;

/// How many bytes before an offset a [`Fingerprint`] covers (at most).
pub const FINGERPRINT_BYTES: u64 = 4096;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Size of the blocks read for newline searches and counts.
const BLOCK: usize = 64 << 10;

/// FNV-1a, 64-bit: a fixed, documented hash (unlike `DefaultHasher`, which may change
/// between Rust releases), so state files stay valid across builds.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET_BASIS, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

/// What the bytes just before an offset looked like: how many were hashed (the offset, at
/// most [`FINGERPRINT_BYTES`]) and their FNV-1a 64 hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// How many bytes were hashed: `min(offset, 4096)`.
    pub len: u64,
    /// Their FNV-1a 64 hash (16 hex digits in the state file).
    #[serde(with = "hex64")]
    pub fnv1a64: u64,
}

impl Fingerprint {
    /// The fingerprint of an offset given every byte before it (only the last
    /// [`FINGERPRINT_BYTES`] count).
    pub fn of_prefix(before: &[u8]) -> Self {
        let take = before.len().min(FINGERPRINT_BYTES as usize);
        let tail = &before[before.len() - take..];
        Fingerprint {
            len: take as u64,
            fnv1a64: fnv1a64(tail),
        }
    }

    /// Reads the fingerprint of `file` at `offset`; `None` when the file is shorter than that.
    pub fn read(file: &File, offset: u64) -> io::Result<Option<Self>> {
        let len = offset.min(FINGERPRINT_BYTES);
        let mut buf = vec![0u8; len as usize];
        let n = read_at_most(file, offset - len, &mut buf)?;
        if n < buf.len() {
            return Ok(None);
        }
        Ok(Some(Fingerprint {
            len,
            fnv1a64: fnv1a64(&buf),
        }))
    }
}

/// `u64` as 16 lowercase hex digits (JSON numbers above 2^53 do not survive every tool).
mod hex64 {
    use serde::de::Error as _;

    pub fn serialize<S: serde::Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:016x}"))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        if text.len() != 16 {
            return Err(D::Error::custom(format!(
                "expected 16 hex digits, got \"{text}\""
            )));
        }
        u64::from_str_radix(&text, 16).map_err(D::Error::custom)
    }
}

/// A byte range of one file to read this run.
#[derive(Debug)]
pub struct Piece {
    /// Where the file was found: the log path as given, or the rotated file's path.
    pub path: PathBuf,
    /// The name for reports (`path:line` samples).
    pub name: String,
    /// Where reading starts: the beginning of a line.
    pub start: u64,
    /// Where reading ends: just after a newline.
    pub end: u64,
    /// The 0-based line number of `start` in that file.
    pub first_line: u64,
    /// The file as opened and checked by [`begin`]: read through this handle, not the path,
    /// which may name another file by the time the scan runs (a rotation in between).
    file: File,
    /// Whether the file is gzip: `start` and `end` are then offsets in its decompressed
    /// content (a rotated file compressed before it could be finished).
    pub compressed: bool,
}

impl Piece {
    /// The number of bytes to read.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Whether there is nothing to read (never true for the pieces [`begin`] returns).
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }

    /// The file [`begin`] examined.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The range as an input for [`crate::input`] readers (a new handle on the same file).
    pub fn opened(&self) -> Result<Opened, Error> {
        let file = self
            .file
            .try_clone()
            .map_err(|e| Error::io(&self.name, &e))?;
        if self.compressed {
            // Clones share the file position, which the examination moved: rewind.
            let mut file = file;
            io::Seek::seek(&mut file, io::SeekFrom::Start(0))
                .map_err(|e| Error::io(&self.name, &e))?;
            let mut decoder = MultiGzDecoder::new(io::BufReader::with_capacity(1 << 16, file));
            decoder.seek_relative_from_start(self.start, &self.name)?;
            return Ok(Opened::Stream(Box::new(
                decoder.take(self.end - self.start),
            )));
        }
        Ok(Opened::Plain {
            file,
            start: self.start,
            end: self.end,
        })
    }

    /// The range as a scanner input, with true line numbers.
    pub fn scan_input(&self) -> Result<ScanInput, Error> {
        Ok(ScanInput {
            name: self.name.clone(),
            opened: self.opened()?,
            first_line: self.first_line,
        })
    }
}

/// Skipping the first bytes of a decompressed stream (it cannot seek).
trait SkipFromStart {
    fn seek_relative_from_start(&mut self, n: u64, name: &str) -> Result<(), Error>;
}

impl<R: Read> SkipFromStart for R {
    fn seek_relative_from_start(&mut self, n: u64, name: &str) -> Result<(), Error> {
        let skipped = io::copy(&mut self.by_ref().take(n), &mut io::sink())
            .map_err(|e| Error::io(name, &e))?;
        if skipped < n {
            return Err(Error::io(name, &shrank()));
        }
        Ok(())
    }
}

/// Bytes this run will not read, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// The file they belong to.
    pub name: String,
    /// How many bytes are known to be skipped. For a file that could not be found, the
    /// bytes it had beyond the offset when last seen (it may have grown since).
    pub bytes: u64,
    /// How many complete lines they hold, when known (`--max-read`).
    pub lines: Option<u64>,
    /// Why, in words.
    pub reason: String,
    /// Whether the bytes are lost (rotated away before they could be read), as opposed to
    /// skipped on purpose (`--max-read`). A `--check` answers WARNING for lost bytes.
    pub lost: bool,
}

/// The time the lines of this run were written in: from the previous run to this one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// When the previous run began (seconds since the epoch); the earliest one when the logs
    /// had different previous runs.
    pub since_epoch: u64,
    /// Seconds from then to this run (never 0).
    pub seconds: u64,
}

/// One run's plan: the pieces to read, what is skipped, and the state to write once the
/// pieces have been used. Holds the state lock until committed or dropped; dropping it
/// without [`commit`](Incremental::commit) leaves the old state, so the next run reads the
/// same bytes again.
#[derive(Debug)]
#[must_use = "the state moves forward only when the run is committed"]
pub struct Incremental {
    /// What to read, log by log in the order given, the oldest bytes of each log first.
    pub pieces: Vec<Piece>,
    /// What will not be read, with reasons.
    pub skipped: Vec<Skipped>,
    /// The window since the previous run, when every log has one.
    pub window: Option<Window>,
    /// When the previous run began (the earliest one when the logs had different previous
    /// runs), when every log has one; unlike [`window`](Self::window) also set when it was
    /// within the same second.
    pub previous_run: Option<u64>,
    /// What happened to the logs since the previous run (first run, rotation, truncation...).
    pub notes: Vec<String>,
    state_path: PathBuf,
    state: StateFile,
    _lock: StateLock,
}

/// The exclusive lock on `<state>.lock`, released explicitly when dropped: closing the file
/// alone would leave it locked while a child process forked meanwhile (between its fork and
/// its exec) still shares the open file.
#[derive(Debug)]
struct StateLock(File);

impl Drop for StateLock {
    fn drop(&mut self) {
        // Nothing to do about a failure: closing the file releases the lock in the end.
        let _ = self.0.unlock();
    }
}

impl Incremental {
    /// The counters kept by previous runs, if any (see [`crate::totals`]).
    pub fn totals(&self) -> Option<&Totals> {
        self.state.totals.as_ref()
    }

    /// Sets the counters to store with the new offsets: [`commit`](Self::commit) writes both
    /// in one atomic replacement, so they never disagree.
    pub fn set_totals(&mut self, totals: Totals) {
        self.state.totals = Some(totals);
    }

    /// The total number of bytes to read.
    pub fn bytes(&self) -> u64 {
        self.pieces.iter().map(Piece::len).sum()
    }

    /// Writes the new state atomically (temporary file in the same directory, fsync, rename,
    /// fsync of the directory) and releases the lock.
    pub fn commit(self) -> Result<(), Error> {
        // Terminal-safe like every JSON realip writes: someone will `cat` it.
        let mut json = crate::escape::json_pretty(&self.state)
            .map_err(|e| Error::state(&self.state_path, format!("cannot encode: {e}")))?
            .into_bytes();
        json.push(b'\n');
        write_atomically(&self.state_path, &json)
        // The lock is released when `self._lock` is dropped here.
    }
}

/// The state file as stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct StateFile {
    version: u64,
    logs: BTreeMap<String, Entry>,
    /// Counters cumulative across runs (Prometheus output), committed with the offsets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    totals: Option<Totals>,
}

impl StateFile {
    fn empty() -> Self {
        StateFile {
            version: VERSION,
            logs: BTreeMap::new(),
            totals: None,
        }
    }
}

/// One log path's state.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Entry {
    /// When the run that wrote this entry began (seconds since the epoch).
    last_run: u64,
    /// The file at the log path when last seen; `null` while the path was missing (rotated
    /// and not recreated yet).
    file: Option<Tracked>,
    /// Rotated files still being finished, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    rotated: Vec<Tracked>,
}

/// How far one file has been read.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Tracked {
    /// Where it was last seen.
    path: String,
    dev: u64,
    inode: u64,
    /// Just after the last complete line read.
    offset: u64,
    /// The 0-based line number at `offset`.
    line: u64,
    /// The bytes before `offset`.
    fingerprint: Fingerprint,
    /// The file's size when last seen.
    size: u64,
}

/// Plans this run: locks the state, reads it, and works out for every log which bytes are
/// new since the previous run (see the module docs for rotation and truncation).
///
/// `logs` are paths of regular, uncompressed files; a path given twice is read once. Entries
/// of logs not given this time are kept as they are. `max_read` bounds the bytes read per
/// log; `now_epoch` is recorded as this run's time.
///
/// Besides small reads around offsets, this reads the pending bytes once to count their
/// newlines (a `memchr` pass, no parsing), so the next run knows its line numbers; with
/// `max_read`, the skipped bytes are counted too.
///
/// Fails, leaving the state file untouched, when another run holds the lock
/// ([`Error::StateLocked`]), when the state file is unreadable, corrupt or of another
/// version ([`Error::State`]), when a log cannot be followed ([`Error::StateInput`]: stdin,
/// gzip, not a regular file), or when a log cannot be read ([`Error::Input`]).
pub fn begin(
    state_path: &Path,
    logs: &[PathBuf],
    max_read: Option<u64>,
    now_epoch: u64,
) -> Result<Incremental, Error> {
    let lock = acquire_lock(state_path, now_epoch)?;
    let mut state = load(state_path)?;
    let mut run = Incremental {
        pieces: Vec::new(),
        skipped: Vec::new(),
        window: None,
        previous_run: None,
        notes: Vec::new(),
        state_path: state_path.to_path_buf(),
        state: StateFile::empty(),
        _lock: lock,
    };
    let mut since: Option<u64> = None;
    let mut every_log_known = !logs.is_empty();
    let mut seen: Vec<String> = Vec::new();
    for path in logs {
        let log = LogPath::new(path)?;
        if seen.contains(&log.key) {
            run.notes
                .push(format!("{}: given more than once, read once", log.name));
            continue;
        }
        seen.push(log.key.clone());
        let prev = state.logs.get(&log.key);
        match prev {
            Some(e) => since = Some(since.map_or(e.last_run, |s| s.min(e.last_run))),
            None => every_log_known = false,
        }
        let entry = follow(&log, prev, max_read, now_epoch, &mut run)?;
        state.logs.insert(log.key, entry);
    }
    if every_log_known {
        run.previous_run = since;
        if let Some(since) = since {
            if now_epoch > since {
                run.window = Some(Window {
                    since_epoch: since,
                    seconds: now_epoch - since,
                });
            }
        }
    }
    run.state = state;
    Ok(run)
}

/// A log path as given, its state key and the directories to look in for its rotated files.
struct LogPath {
    given: PathBuf,
    name: String,
    key: String,
    file_name: OsString,
    dirs: Vec<PathBuf>,
}

impl LogPath {
    fn new(path: &Path) -> Result<Self, Error> {
        let name = path.display().to_string();
        if path.as_os_str() == "-" {
            return Err(Error::state_input(
                &name,
                "standard input cannot be followed from one run to the next; give the log \
                 file's path",
            ));
        }
        let Some(file_name) = path.file_name() else {
            return Err(Error::state_input(&name, "it is not a path to a file"));
        };
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let dir = fs::canonicalize(parent).map_err(|e| Error::io(&name, &e))?;
        let key = dir.join(file_name).to_string_lossy().into_owned();
        let mut dirs = vec![dir];
        // A log path that is a symlink: its rotated files sit beside the target.
        if let Some(real_dir) = fs::canonicalize(path)
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
        {
            if !dirs.contains(&real_dir) {
                dirs.push(real_dir);
            }
        }
        Ok(LogPath {
            given: path.to_path_buf(),
            name,
            key,
            file_name: file_name.to_os_string(),
            dirs,
        })
    }
}

/// A file examined this run, with the range to read from it.
struct Draft {
    path: PathBuf,
    name: String,
    file: File,
    dev: u64,
    inode: u64,
    size: u64,
    start: u64,
    /// Just after the last newline in `start..size` (or `start`).
    end: u64,
    first_line: u64,
    /// `None` for the live file; for a rotated file, whether to keep finishing it later.
    keep: Option<bool>,
    /// A gzip file: `start`/`end` are offsets in its decompressed content.
    compressed: bool,
}

impl Draft {
    fn new(
        path: PathBuf,
        name: String,
        file: File,
        meta: &Metadata,
        start: u64,
        first_line: u64,
        keep: Option<bool>,
    ) -> Result<Self, Error> {
        let size = meta.len();
        let end = last_line_end(&file, start, size).map_err(|e| Error::io(&name, &e))?;
        Ok(Draft {
            path,
            name,
            file,
            dev: meta.dev(),
            inode: meta.ino(),
            size,
            start,
            end,
            first_line,
            keep,
            compressed: false,
        })
    }

    /// A tracked file found again after it left the log path: read on from its saved
    /// offset and line, and kept for later runs.
    fn resume(found: Found, t: &Tracked) -> Result<Self, Error> {
        let name = found.path.display().to_string();
        Draft::new(
            found.path,
            name,
            found.file,
            &found.meta,
            t.offset,
            t.line,
            Some(true),
        )
    }

    /// The piece to read from this draft: its range, through the handle already opened.
    fn into_piece(self) -> Piece {
        Piece {
            path: self.path,
            name: self.name,
            start: self.start,
            end: self.end,
            first_line: self.first_line,
            file: self.file,
            compressed: self.compressed,
        }
    }
}

/// Works out one log's pieces, skips and notes, and returns its new state entry.
fn follow(
    log: &LogPath,
    prev: Option<&Entry>,
    max_read: Option<u64>,
    now_epoch: u64,
    run: &mut Incremental,
) -> Result<Entry, Error> {
    let live = open_live(log, prev.is_some())?;
    let mut dirs = DirIndex::new(log, prev);
    let mut claimed: Vec<(u64, u64)> = Vec::new();
    if let Some((_, meta)) = &live {
        claimed.push((meta.dev(), meta.ino()));
    }
    let live_has_lines = live.as_ref().is_some_and(|(_, m)| m.len() > 0);
    // Oldest first: rotated files still being finished, the previous file, the live file.
    let mut previous: Vec<Draft> = Vec::new();

    // 1. The file that was at the path at the previous run.
    let live_start = check_previous_file(
        log,
        prev,
        live.as_ref(),
        &mut dirs,
        &mut claimed,
        &mut previous,
        run,
    )?;

    // 2. Rotated files still being finished (nginx may have written to them since). Looked
    //    for after the previous file, whose match is checked by content: a rotated file with
    //    nothing read (offset 0) is known by inode alone, which a new file may have reused.
    let mut drafts = find_rotated(log, prev, live_has_lines, &mut dirs, &mut claimed, run)?;
    drafts.append(&mut previous);

    // 3. The file at the path now.
    if let Some((file, meta)) = live {
        let d = Draft::new(
            log.given.clone(),
            log.name.clone(),
            file,
            &meta,
            live_start.0,
            live_start.1,
            None,
        )?;
        drafts.push(d);
    }

    if let Some(max) = max_read {
        apply_max_read(&mut drafts, max, &log.name, run)?;
    }

    // 4. Pieces and the new state.
    settle_drafts(log, drafts, now_epoch, run)
}

/// Checks the file that was at the log path at the previous run against the live file;
/// returns where to start reading the live file (offset, line), and finishes the previous
/// file into `drafts` when it was rotated or truncated.
fn check_previous_file(
    log: &LogPath,
    prev: Option<&Entry>,
    live: Option<&(File, Metadata)>,
    dirs: &mut DirIndex,
    claimed: &mut Vec<(u64, u64)>,
    drafts: &mut Vec<Draft>,
    run: &mut Incremental,
) -> Result<(u64, u64), Error> {
    let prev_file = prev.and_then(|e| e.file.as_ref());
    let mut live_start = (0, 0); // (offset, line)
    match (prev_file, live) {
        (None, _) => {
            if prev.is_none() {
                run.notes
                    .push(format!("{}: first run, reading from the start", log.name));
            }
        }
        (Some(t), Some((file, meta))) if (meta.dev(), meta.ino()) == (t.dev, t.inode) => {
            // With nothing read yet (offset 0) the bytes before the offset say nothing; a
            // file shorter than it was seen is still known to be truncated.
            let shrunk_before_any_line = t.offset == 0 && meta.len() < t.size;
            let same = meta.len() >= t.offset
                && !shrunk_before_any_line
                && Fingerprint::read(file, t.offset).map_err(|e| Error::io(&log.name, &e))?
                    == Some(t.fingerprint);
            if same {
                live_start = (t.offset, t.line);
            } else {
                let how = if meta.len() < t.offset || shrunk_before_any_line {
                    format!(
                        "truncated ({} bytes; {} were read before, {} seen)",
                        meta.len(),
                        t.offset,
                        t.size
                    )
                } else {
                    format!(
                        "truncated and rewritten past the previous offset (the bytes before \
                         byte {} changed)",
                        t.offset
                    )
                };
                finish_previous(log, t, &how, dirs, claimed, drafts, run)?;
            }
        }
        (Some(t), live) => {
            let how = match live {
                Some((_, meta)) => {
                    format!("rotated (inode {} is now inode {})", t.inode, meta.ino())
                }
                None => format!("rotated (inode {} renamed, no new file yet)", t.inode),
            };
            finish_previous(log, t, &how, dirs, claimed, drafts, run)?;
        }
    }
    Ok(live_start)
}

/// Finds the previous run's rotated files that were still being finished, plain or
/// compressed, and returns their drafts oldest first; notes or skips the ones gone.
fn find_rotated(
    log: &LogPath,
    prev: Option<&Entry>,
    live_has_lines: bool,
    dirs: &mut DirIndex,
    claimed: &mut Vec<(u64, u64)>,
    run: &mut Incremental,
) -> Result<Vec<Draft>, Error> {
    let mut older: Vec<Draft> = Vec::new();
    for t in prev.map(|e| e.rotated.as_slice()).unwrap_or_default() {
        match dirs.find(log, t, claimed, false)? {
            Some(found) => {
                claimed.push((found.meta.dev(), found.meta.ino()));
                older.push(resume_rotated(log, t, found, live_has_lines, run)?);
            }
            None => older.extend(resume_compressed_or_lost(log, t, dirs, run)?),
        }
    }
    Ok(older)
}

/// Drafts a rotated file found again from its saved offset; marks it finished (not kept)
/// once it stopped growing and the live file has lines.
fn resume_rotated(
    log: &LogPath,
    t: &Tracked,
    found: Found,
    live_has_lines: bool,
    run: &mut Incremental,
) -> Result<Draft, Error> {
    let mut d = Draft::resume(found, t)?;
    let finished = d.size == t.size && d.end == d.size && live_has_lines;
    if finished {
        d.keep = Some(false);
        run.notes.push(format!(
            "{}: finished rotated file {} ({} lines)",
            log.name, d.name, d.first_line
        ));
    } else if d.end > d.start {
        run.notes.push(format!(
            "{}: rotated file {} grew after the previous run (nginx had not \
             reopened its log yet); reading it from byte {}",
            log.name, d.name, d.start
        ));
    }
    Ok(d)
}

/// For a rotated file no longer found plain: drafts its compressed copy, or reports it as
/// lost (unread bytes) or gone (read to its end).
fn resume_compressed_or_lost(
    log: &LogPath,
    t: &Tracked,
    dirs: &mut DirIndex,
    run: &mut Incremental,
) -> Result<Option<Draft>, Error> {
    match find_compressed(log, t, dirs)? {
        Some(d) => {
            if d.size > d.end {
                run.skipped.push(unterminated_tail(&d));
            }
            run.notes.push(format!(
                "{}: rotated file {} was compressed: reading {} from byte {} of its \
                 content ({} new bytes)",
                log.name,
                t.path,
                d.name,
                t.offset,
                d.end - d.start
            ));
            Ok(Some(d))
        }
        None if t.size > t.offset => {
            run.skipped.push(lost_file(
                t,
                &format!(
                    "rotated file of {} no longer found, plain or compressed (deleted?)",
                    log.name
                ),
            ));
            Ok(None)
        }
        None => {
            run.notes.push(format!(
                "{}: rotated file {} is gone (deleted?) and no compressed copy holds its \
                 content; it had been read to its end",
                log.name, t.path
            ));
            Ok(None)
        }
    }
}

/// Turns the drafts into this run's pieces and the log's new state entry (the live file
/// and the rotated files still to finish).
fn settle_drafts(
    log: &LogPath,
    drafts: Vec<Draft>,
    now_epoch: u64,
    run: &mut Incremental,
) -> Result<Entry, Error> {
    let mut entry = Entry {
        last_run: now_epoch,
        file: None,
        rotated: Vec::new(),
    };
    for d in drafts {
        if d.compressed {
            // Finished for good: a compressed file does not grow, it is not tracked further.
            run.pieces.push(d.into_piece());
            continue;
        }
        let read_lines =
            count_newlines(&d.file, d.start, d.end).map_err(|e| Error::io(&d.name, &e))?;
        let fingerprint = Fingerprint::read(&d.file, d.end)
            .map_err(|e| Error::io(&d.name, &e))?
            .ok_or_else(|| Error::io(&d.name, &shrank()))?;
        let path = match d.keep {
            None => log.key.clone(),
            Some(_) => d.path.to_string_lossy().into_owned(),
        };
        let tracked = Tracked {
            path,
            dev: d.dev,
            inode: d.inode,
            offset: d.end,
            line: d.first_line + read_lines,
            fingerprint,
            size: d.size,
        };
        match d.keep {
            None => entry.file = Some(tracked),
            Some(true) => entry.rotated.push(tracked),
            Some(false) => {}
        }
        if d.end > d.start {
            run.pieces.push(d.into_piece());
        }
    }
    Ok(entry)
}

/// The previous file's content moved away (rotation or copytruncate): finish it from the
/// saved offset if it can be found, or report what is lost.
fn finish_previous(
    log: &LogPath,
    t: &Tracked,
    how: &str,
    dirs: &mut DirIndex,
    claimed: &mut Vec<(u64, u64)>,
    drafts: &mut Vec<Draft>,
    run: &mut Incremental,
) -> Result<(), Error> {
    match dirs.find(log, t, claimed, true)? {
        Some(found) => {
            claimed.push((found.meta.dev(), found.meta.ino()));
            let d = Draft::resume(found, t)?;
            run.notes.push(format!(
                "{}: {how}; finishing {} from byte {} (line {}), complete lines only: a \
                 line still being written is read at a later run; then reading {} from \
                 the start",
                log.name,
                d.name,
                t.offset,
                t.line + 1,
                log.name
            ));
            drafts.push(d);
        }
        None => match find_compressed(log, t, dirs)? {
            Some(d) => {
                if d.size > d.end {
                    run.skipped.push(unterminated_tail(&d));
                }
                run.notes.push(format!(
                    "{}: {how}; the old file was compressed before this run: reading {} from \
                     byte {} of its content (line {}), then {} from the start",
                    log.name,
                    d.name,
                    t.offset,
                    t.line + 1,
                    log.name
                ));
                drafts.push(d);
            }
            None => run.skipped.push(lost_file(
                t,
                &format!(
                    "{}: {how}, but the old content (read up to byte {}) was found in {} \
                     neither by inode nor by its bytes, plain or gzip-compressed (moved or \
                     deleted before this run?); reading {} from the start",
                    log.name,
                    t.offset,
                    dirs.describe(),
                    log.name
                ),
            )),
        },
    }
    Ok(())
}

/// The last line of a compressed file that has no newline: nginx is done with the file, so
/// it will never be completed; its exact size is reported.
fn unterminated_tail(d: &Draft) -> Skipped {
    Skipped {
        name: d.name.clone(),
        bytes: d.size - d.end,
        lines: None,
        reason: format!(
            "{}: its last {} bytes are a line without a newline, which a compressed file \
             will never complete; not read",
            d.name,
            d.size - d.end
        ),
        lost: true,
    }
}

/// What is known to be lost with a file that cannot be found: the bytes it had beyond the
/// offset when last seen (exact at that time), and anything written to it since.
fn lost_file(t: &Tracked, why: &str) -> Skipped {
    let pending = t.size.saturating_sub(t.offset);
    let how_much = if pending > 0 {
        format!(
            "at least {pending} bytes are lost ({pending} were pending when last seen, plus \
             anything written to it since)"
        )
    } else {
        "lines written to it after the previous run, if any, are lost (none were pending \
         when last seen; their number is unknown)"
            .to_string()
    };
    Skipped {
        name: t.path.clone(),
        bytes: pending,
        lines: None,
        reason: format!("{why}: {how_much}"),
        lost: true,
    }
}

/// Looks for a tracked file that was gzip-compressed after the previous run: among the
/// files named like the log (`access.log.1.gz`, `access.log-20240501.gz`), newest first,
/// the one whose decompressed content holds the tracked bytes before the offset. Its
/// pending lines are then everything after the offset up to the last newline; a trailing
/// line without a newline is reported as lost (exact bytes). `None` when nothing matches,
/// or when nothing had been read from the file (no bytes to recognise it by).
fn find_compressed(
    log: &LogPath,
    t: &Tracked,
    dirs: &mut DirIndex,
) -> Result<Option<Draft>, Error> {
    if t.offset == 0 {
        return Ok(None);
    }
    let prefix = log.file_name.as_encoded_bytes();
    let mut named: Vec<(std::time::SystemTime, PathBuf)> = dirs
        .candidates(log)?
        .iter()
        .filter(|c| {
            c.path
                .file_name()
                .is_some_and(|n| n.as_encoded_bytes().starts_with(prefix))
        })
        .filter_map(|c| {
            let mtime = fs::metadata(&c.path).and_then(|m| m.modified()).ok()?;
            Some((mtime, c.path.clone()))
        })
        .collect();
    named.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    for (_, path) in named {
        let Ok(file) = File::open(&path) else {
            continue;
        };
        if !is_gzip(&file).unwrap_or(false) {
            continue;
        }
        // A corrupt or foreign archive is not ours: try the next one.
        if let Ok(Some((end, total))) = gz_match(&file, t) {
            let name = path.display().to_string();
            return Ok(Some(Draft {
                path,
                name,
                file,
                dev: 0,
                inode: 0,
                size: total,
                start: t.offset,
                end,
                first_line: t.line,
                keep: Some(false),
                compressed: true,
            }));
        }
    }
    Ok(None)
}

/// Decompresses `file`: when the bytes before `t.offset` match its fingerprint, the
/// decompressed offset just after the last newline (at least `t.offset`) and the
/// decompressed length.
fn gz_match(file: &File, t: &Tracked) -> io::Result<Option<(u64, u64)>> {
    let mut r = MultiGzDecoder::new(io::BufReader::with_capacity(1 << 16, file.try_clone()?));
    let len = t.fingerprint.len;
    let before = t.offset - len;
    if io::copy(&mut r.by_ref().take(before), &mut io::sink())? < before {
        return Ok(None);
    }
    let mut window = vec![0u8; usize::try_from(len).unwrap_or(0)];
    if r.read_exact(&mut window).is_err() || fnv1a64(&window) != t.fingerprint.fnv1a64 {
        return Ok(None);
    }
    let mut pos = t.offset;
    let mut end = t.offset;
    let mut buf = vec![0u8; BLOCK];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if let Some(i) = memchr::memrchr(b'\n', &buf[..n]) {
            end = pos + i as u64 + 1;
        }
        pos += n as u64;
    }
    Ok(Some((end, pos)))
}

/// Skips the oldest bytes of a log when more than `max` are pending.
fn apply_max_read(
    drafts: &mut [Draft],
    max: u64,
    log_name: &str,
    run: &mut Incremental,
) -> Result<(), Error> {
    let pending: u64 = drafts
        .iter()
        .filter(|d| !d.compressed)
        .map(|d| d.end - d.start)
        .sum();
    if pending <= max {
        return Ok(());
    }
    let mut budget = max;
    // Compressed pieces cannot be cut by byte offset; they are read whole.
    for d in drafts.iter_mut().rev().filter(|d| !d.compressed) {
        let len = d.end - d.start;
        if len <= budget {
            budget -= len;
            continue;
        }
        let cut = d.end - budget;
        budget = 0;
        let new_start = line_start_at_or_after(&d.file, cut, d.start, d.end)
            .map_err(|e| Error::io(&d.name, &e))?;
        let lines =
            count_newlines(&d.file, d.start, new_start).map_err(|e| Error::io(&d.name, &e))?;
        run.skipped.push(Skipped {
            name: d.name.clone(),
            bytes: new_start - d.start,
            lines: Some(lines),
            reason: format!(
                "--max-read {max}: {pending} bytes were pending for {log_name}; the oldest \
                 were skipped (lines {} to {} of {})",
                d.first_line + 1,
                d.first_line + lines,
                d.name
            ),
            lost: false,
        });
        d.first_line += lines;
        d.start = new_start;
    }
    Ok(())
}

/// Opens the file at the log path, refusing what cannot be followed. `None` when it is
/// missing but known from a previous run (rotated, not recreated yet).
fn open_live(log: &LogPath, known: bool) -> Result<Option<(File, Metadata)>, Error> {
    // Check the type before opening: opening a FIFO would block.
    match fs::metadata(&log.given) {
        Ok(meta) => {
            if meta.is_dir() {
                return Err(Error::state_input(&log.name, "it is a directory"));
            }
            if !meta.is_file() {
                return Err(not_regular(&log.name));
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound && known => return Ok(None),
        Err(e) => return Err(Error::io(&log.name, &e)),
    }
    let file = match File::open(&log.given) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound && known => return Ok(None),
        Err(e) => return Err(Error::io(&log.name, &e)),
    };
    let meta = file.metadata().map_err(|e| Error::io(&log.name, &e))?;
    if !meta.is_file() {
        return Err(not_regular(&log.name));
    }
    if is_gzip(&file).map_err(|e| Error::io(&log.name, &e))? {
        return Err(Error::state_input(
            &log.name,
            "it is gzip-compressed; --state follows the plain log nginx writes to (scan rotated \
             .gz files without --state)",
        ));
    }
    Ok(Some((file, meta)))
}

fn not_regular(name: &str) -> Error {
    Error::state_input(
        name,
        "it is not a regular file (a pipe or a device cannot be followed from one run to the \
         next)",
    )
}

fn is_gzip(file: &File) -> io::Result<bool> {
    let mut magic = [0u8; 2];
    Ok(read_at_most(file, 0, &mut magic)? == 2 && magic == GZIP_MAGIC)
}

/// The regular files of a log's directories, listed once per log and only when needed.
struct DirIndex {
    dirs: Vec<PathBuf>,
    listed: Option<Vec<Candidate>>,
}

struct Candidate {
    path: PathBuf,
    dev: u64,
    inode: u64,
    size: u64,
}

struct Found {
    path: PathBuf,
    file: File,
    meta: Metadata,
}

impl DirIndex {
    fn new(log: &LogPath, prev: Option<&Entry>) -> Self {
        let mut dirs = log.dirs.clone();
        // Where the tracked files were last seen, in case a symlinked path was re-pointed.
        let saved = prev
            .into_iter()
            .flat_map(|e| e.file.iter().chain(e.rotated.iter()));
        for t in saved {
            if let Some(dir) = Path::new(&t.path).parent() {
                if !dirs.iter().any(|d| d == dir) {
                    dirs.push(dir.to_path_buf());
                }
            }
        }
        DirIndex { dirs, listed: None }
    }

    fn describe(&self) -> String {
        let names: Vec<String> = self.dirs.iter().map(|d| d.display().to_string()).collect();
        names.join(" or ")
    }

    fn candidates(&mut self, log: &LogPath) -> Result<&[Candidate], Error> {
        if self.listed.is_none() {
            let mut out: Vec<Candidate> = Vec::new();
            for (i, dir) in self.dirs.iter().enumerate() {
                let entries = match fs::read_dir(dir) {
                    Ok(e) => e,
                    // Only the log's own directory must exist.
                    Err(e) if i > 0 && e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(Error::io(&dir.display().to_string(), &e)),
                };
                for entry in entries {
                    let entry = entry.map_err(|e| Error::io(&dir.display().to_string(), &e))?;
                    // Files vanish while we look (logrotate at work): skip them.
                    let Ok(meta) = entry.metadata() else { continue };
                    if !meta.is_file() {
                        continue;
                    }
                    if out
                        .iter()
                        .any(|c| (c.dev, c.inode) == (meta.dev(), meta.ino()))
                    {
                        continue;
                    }
                    out.push(Candidate {
                        path: entry.path(),
                        dev: meta.dev(),
                        inode: meta.ino(),
                        size: meta.len(),
                    });
                }
            }
            // Files named like the log (access.log.1, access.log-20240501) first.
            let prefix = log.file_name.as_encoded_bytes();
            out.sort_by_key(|c| {
                let name = c.path.file_name().unwrap_or(OsStr::new(""));
                (
                    !name.as_encoded_bytes().starts_with(prefix),
                    name.to_os_string(),
                )
            });
            self.listed = Some(out);
        }
        Ok(self.listed.as_deref().unwrap_or_default())
    }

    /// Finds a tracked file that left the log path: by inode (its bytes before the offset
    /// checked), else, when `by_content`, by those bytes alone. Never one in `claimed`.
    fn find(
        &mut self,
        log: &LogPath,
        t: &Tracked,
        claimed: &[(u64, u64)],
        by_content: bool,
    ) -> Result<Option<Found>, Error> {
        let candidates = self.candidates(log)?;
        let free = |c: &&Candidate| !claimed.contains(&(c.dev, c.inode));
        // With nothing read (offset 0) the content check is empty, and a deleted file's inode
        // may have been given to a new one: then also ask for a name like the log's
        // (access.log.1, access.log-20240501) and no shrinking (rotated files only grow).
        let prefix = log.file_name.as_encoded_bytes();
        let plausible = |c: &&Candidate| {
            t.offset > 0
                || (c.size >= t.size
                    && c.path
                        .file_name()
                        .is_some_and(|n| n.as_encoded_bytes().starts_with(prefix)))
        };
        for c in candidates
            .iter()
            .filter(free)
            .filter(|c| (c.dev, c.inode) == (t.dev, t.inode))
            .filter(plausible)
        {
            if let Some(found) = open_if_same(c, t)? {
                return Ok(Some(found));
            }
        }
        // An empty prefix matches any file: content says nothing at offset 0.
        if by_content && t.offset > 0 {
            for c in candidates
                .iter()
                .filter(free)
                .filter(|c| c.size >= t.offset)
            {
                // Unreadable strangers in the directory are not our business.
                if let Ok(Some(found)) = open_if_same(c, t) {
                    return Ok(Some(found));
                }
            }
        }
        Ok(None)
    }
}

/// Opens a candidate if it is still the file listed, is not gzip, and holds the tracked
/// file's bytes before the offset.
fn open_if_same(c: &Candidate, t: &Tracked) -> Result<Option<Found>, Error> {
    let name = c.path.display().to_string();
    let file = match File::open(&c.path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(&name, &e)),
    };
    let meta = file.metadata().map_err(|e| Error::io(&name, &e))?;
    if (meta.dev(), meta.ino()) != (c.dev, c.inode) || !meta.is_file() {
        return Ok(None);
    }
    let same = !is_gzip(&file).map_err(|e| Error::io(&name, &e))?
        && meta.len() >= t.offset
        && Fingerprint::read(&file, t.offset).map_err(|e| Error::io(&name, &e))?
            == Some(t.fingerprint);
    Ok(same.then_some(Found {
        path: c.path.clone(),
        file,
        meta,
    }))
}

fn shrank() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the file shrank while being examined (truncated during the run?); run again",
    )
}

fn read_full(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    if read_at_most(file, offset, buf)? < buf.len() {
        return Err(shrank());
    }
    Ok(())
}

/// Just after the last newline in `start..limit`, or `start` when there is none.
fn last_line_end(file: &File, start: u64, limit: u64) -> io::Result<u64> {
    let mut buf = vec![0u8; BLOCK];
    let mut hi = limit;
    while hi > start {
        let lo = hi.saturating_sub(BLOCK as u64).max(start);
        let chunk = &mut buf[..(hi - lo) as usize];
        read_full(file, lo, chunk)?;
        if let Some(i) = memchr::memrchr(b'\n', chunk) {
            return Ok(lo + i as u64 + 1);
        }
        hi = lo;
    }
    Ok(start)
}

/// The number of newlines in `start..end`.
fn count_newlines(file: &File, start: u64, end: u64) -> io::Result<u64> {
    let mut buf = vec![0u8; BLOCK.min(usize::try_from(end - start).unwrap_or(BLOCK))];
    let mut pos = start;
    let mut count = 0u64;
    while pos < end {
        let want = buf
            .len()
            .min(usize::try_from(end - pos).unwrap_or(usize::MAX));
        let chunk = &mut buf[..want];
        read_full(file, pos, chunk)?;
        count += memchr::memchr_iter(b'\n', chunk).count() as u64;
        pos += want as u64;
    }
    Ok(count)
}

/// The first line beginning at or after `pos` within `start..end` (`start` begins a line,
/// `end` follows a newline).
fn line_start_at_or_after(file: &File, pos: u64, start: u64, end: u64) -> io::Result<u64> {
    if pos <= start {
        return Ok(start);
    }
    if pos >= end {
        return Ok(end);
    }
    let mut buf = vec![0u8; BLOCK];
    // Search from the byte before `pos`: if it is a newline, `pos` begins a line.
    let mut at = pos - 1;
    while at < end {
        let want = buf
            .len()
            .min(usize::try_from(end - at).unwrap_or(usize::MAX));
        let chunk = &mut buf[..want];
        read_full(file, at, chunk)?;
        if let Some(i) = memchr::memchr(b'\n', chunk) {
            return Ok(at + i as u64 + 1);
        }
        at += want as u64;
    }
    Ok(end)
}

/// `<state><suffix>` beside the state file.
fn sibling(state_path: &Path, suffix: &str) -> Result<PathBuf, Error> {
    let Some(name) = state_path.file_name() else {
        return Err(Error::state(
            state_path,
            "is not a path to a file".to_string(),
        ));
    };
    let mut name = name.to_os_string();
    name.push(suffix);
    Ok(state_path.with_file_name(name))
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Takes the exclusive lock on `<state>.lock` without waiting, and writes who holds it.
fn acquire_lock(state_path: &Path, now_epoch: u64) -> Result<StateLock, Error> {
    let lock_path = sibling(state_path, ".lock")?;
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| Error::state_io(&lock_path, "cannot open the lock file", &e))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            // Best effort: the holder may be rewriting it right now.
            let _ = file.read_to_string(&mut holder);
            let (pid, since) = parse_holder(&holder);
            return Err(Error::state_locked(&lock_path, pid, since));
        }
        Err(TryLockError::Error(e)) => {
            return Err(Error::state_io(&lock_path, "cannot lock", &e));
        }
    }
    let holder = format!("pid {} since {now_epoch}\n", std::process::id());
    file.set_len(0)
        .and_then(|()| file.write_all_at(holder.as_bytes(), 0))
        .map_err(|e| Error::state_io(&lock_path, "cannot write the lock file", &e))?;
    Ok(StateLock(file))
}

/// `pid 1234 since 1714557600` -> (pid, since).
fn parse_holder(text: &str) -> (Option<u32>, Option<u64>) {
    let mut words = text.split_whitespace();
    let mut pid = None;
    let mut since = None;
    while let Some(w) = words.next() {
        match w {
            "pid" => pid = words.next().and_then(|v| v.parse().ok()),
            "since" => since = words.next().and_then(|v| v.parse().ok()),
            _ => {}
        }
    }
    (pid, since)
}

/// The largest state file read: real ones are a few KiB to a few MiB (offsets, fingerprints and
/// bounded totals), so anything bigger is not one, and reading it whole would only eat memory.
const MAX_STATE_BYTES: u64 = 64 << 20;

/// Reads the state; a missing file is an empty state (first run). Only a regular file of at
/// most [`MAX_STATE_BYTES`] is read: a device (`/dev/zero`), FIFO or directory is refused
/// before it is opened, so a wrong path can neither hang the run nor fill memory.
fn load(path: &Path) -> Result<StateFile, Error> {
    const START_OVER: &str = "move it away to start over (every log is then read from its start)";
    match fs::metadata(path) {
        Ok(meta) if !meta.is_file() => {
            return Err(Error::state(
                path,
                "is not a regular file (a device, FIFO or directory): give --state a file path"
                    .to_string(),
            ))
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(StateFile::empty()),
        Err(e) => return Err(Error::state_io(path, "cannot read", &e)),
    }
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|f| f.take(MAX_STATE_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| Error::state_io(path, "cannot read", &e))?;
    if bytes.len() as u64 > MAX_STATE_BYTES {
        return Err(Error::state(
            path,
            format!(
                "is larger than {} MiB, so it is not a realip state file; {START_OVER}",
                MAX_STATE_BYTES >> 20
            ),
        ));
    }
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        Error::state(
            path,
            format!("is not a realip state file (not JSON: {e}); {START_OVER}"),
        )
    })?;
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(VERSION) => {}
        Some(v) => {
            return Err(Error::state(
                path,
                format!(
                    "has version {v}, this realip reads version {VERSION}: use a newer realip, \
                     or {START_OVER}"
                ),
            ))
        }
        None => {
            return Err(Error::state(
                path,
                format!("is not a realip state file (no \"version\" number); {START_OVER}"),
            ))
        }
    }
    serde_json::from_value(value).map_err(|e| {
        Error::state(
            path,
            format!("is not a valid version {VERSION} state file ({e}); {START_OVER}"),
        )
    })
}

/// Replaces `path` with `bytes` so that a crash leaves either the old or the new content.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let tmp = sibling(path, ".tmp")?;
    let written = (|| -> io::Result<()> {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)?;
        File::open(parent_dir(path))?.sync_all()
    })();
    written.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::state_io(path, "cannot write the new state", &e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_published_test_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn fingerprint_covers_the_last_4096_bytes_before_the_offset() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&data).unwrap();
        for offset in [0usize, 1, 100, 4095, 4096, 4097, 9999, 10_000] {
            let fp = Fingerprint::read(&file, offset as u64).unwrap().unwrap();
            let expected_len = offset.min(4096);
            assert_eq!(fp.len, expected_len as u64, "offset {offset}");
            assert_eq!(
                fp.fnv1a64,
                fnv1a64(&data[offset - expected_len..offset]),
                "offset {offset}"
            );
            assert_eq!(fp, Fingerprint::of_prefix(&data[..offset]));
        }
        // Past the end of the file there is no fingerprint.
        assert_eq!(Fingerprint::read(&file, 10_001).unwrap(), None);
        // Bytes before the window do not matter; bytes inside it do.
        let mut changed = data.clone();
        changed[0] ^= 1;
        assert_eq!(
            Fingerprint::of_prefix(&changed[..9000]),
            Fingerprint::of_prefix(&data[..9000])
        );
        changed[8000] ^= 1;
        assert_ne!(
            Fingerprint::of_prefix(&changed[..9000]),
            Fingerprint::of_prefix(&data[..9000])
        );
    }

    #[test]
    fn fingerprint_is_stored_as_16_hex_digits() {
        let fp = Fingerprint {
            len: 3,
            fnv1a64: 0x00ab_cdef_0123_4567,
        };
        let json = serde_json::to_string(&fp).unwrap();
        assert_eq!(json, r#"{"len":3,"fnv1a64":"00abcdef01234567"}"#);
        assert_eq!(serde_json::from_str::<Fingerprint>(&json).unwrap(), fp);
        assert!(serde_json::from_str::<Fingerprint>(r#"{"len":3,"fnv1a64":"abc"}"#).is_err());
    }

    #[test]
    fn newline_helpers_find_line_ends_starts_and_counts() {
        let data = b"aa\nbbbb\n\ncc\ntail";
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(data).unwrap();
        let len = data.len() as u64;
        assert_eq!(last_line_end(&file, 0, len).unwrap(), 12);
        assert_eq!(last_line_end(&file, 12, len).unwrap(), 12);
        assert_eq!(last_line_end(&file, 0, 2).unwrap(), 0);
        assert_eq!(count_newlines(&file, 0, 12).unwrap(), 4);
        assert_eq!(count_newlines(&file, 3, 9).unwrap(), 2);
        // Line starts: 0, 3, 8, 9, 12.
        let starts: Vec<u64> = (0..=12)
            .map(|p| line_start_at_or_after(&file, p, 0, 12).unwrap())
            .collect();
        assert_eq!(starts, [0, 3, 3, 3, 8, 8, 8, 8, 8, 9, 12, 12, 12]);
    }

    #[test]
    fn lock_holder_text_round_trips() {
        assert_eq!(
            parse_holder("pid 42 since 1700000000\n"),
            (Some(42), Some(1_700_000_000))
        );
        assert_eq!(parse_holder(""), (None, None));
        assert_eq!(parse_holder("garbage"), (None, None));
    }
}
