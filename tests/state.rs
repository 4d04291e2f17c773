//! Incremental runs (`realip::state`): appends, partial lines, rotation by rename,
//! copytruncate, lost rotated files, `--max-read`, locking, corrupt state, atomic commits, and
//! a seeded random sequence of all of them checked against a model for exactly-once reading.
//!
//! Every test reads the pieces' bytes itself and compares the multiset of lines read over all
//! runs with the lines written; every piece is checked to start at a line, end after a
//! newline, and carry the true line number of its start.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use realip::input::Opened;
use realip::state::{self, Incremental, Piece, Skipped};
use realip::Error;

use crate::util::rng::Rng;

/// A temp directory holding `access.log` and the state file.
struct Logs {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    live: PathBuf,
    state: PathBuf,
    next: usize,
}

impl Logs {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let live = dir.join("access.log");
        fs::write(&live, "").unwrap();
        Logs {
            state: dir.join("realip.state"),
            live,
            dir,
            _dir: tmp,
            next: 0,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `n` new unique complete lines appended to `path`; returns them without newlines.
    fn append_to(&mut self, path: &Path, n: usize) -> Vec<String> {
        let lines: Vec<String> = (0..n).map(|_| self.fresh_line()).collect();
        let mut text = String::new();
        for l in &lines {
            text.push_str(l);
            text.push('\n');
        }
        append(path, text.as_bytes());
        lines
    }

    fn append(&mut self, n: usize) -> Vec<String> {
        let live = self.live.clone();
        self.append_to(&live, n)
    }

    fn fresh_line(&mut self) -> String {
        self.next += 1;
        let i = self.next;
        // Varying lengths, unique content (a timestamp-like counter), like real log lines.
        format!(
            "203.0.113.{} - - [01/May/2024:10:00:{:02}] \"GET /p/{i:06}{} HTTP/1.1\" 200 {}",
            i % 250,
            i % 60,
            "x".repeat(i * 7 % 40),
            i * 13
        )
    }

    /// Begins a run on `access.log` alone.
    fn begin(&self, now: u64) -> Result<Incremental, Error> {
        state::begin(&self.state, std::slice::from_ref(&self.live), None, now)
    }

    /// Begins, reads every piece, commits.
    fn run(&self, max_read: Option<u64>, now: u64) -> Run {
        let inc = state::begin(&self.state, std::slice::from_ref(&self.live), max_read, now)
            .unwrap_or_else(|e| panic!("begin: {e}"));
        let out = Run::read(&inc);
        inc.commit().unwrap();
        out
    }
}

fn append(path: &Path, bytes: &[u8]) {
    OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap()
        .write_all(bytes)
        .unwrap();
}

/// What one run read.
#[derive(Debug)]
struct Run {
    lines: Vec<String>,
    skipped: Vec<Skipped>,
    notes: Vec<String>,
    /// (name, first_line, number of lines) per piece.
    pieces: Vec<(String, u64, u64)>,
}

impl Run {
    fn read(inc: &Incremental) -> Run {
        let mut lines = Vec::new();
        let mut pieces = Vec::new();
        for p in &inc.pieces {
            let got = read_piece(p);
            pieces.push((p.name.clone(), p.first_line, got.len() as u64));
            lines.extend(got);
        }
        Run {
            lines,
            skipped: inc.skipped.clone(),
            notes: inc.notes.clone(),
            pieces,
        }
    }

    fn file_names(&self) -> Vec<String> {
        self.pieces
            .iter()
            .map(|(n, _, _)| {
                Path::new(n)
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }
}

/// Reads a piece through the handle `begin` opened, checking its invariants against the
/// whole file: starts at a line, ends after a newline, `first_line` is the true line number.
fn read_piece(p: &Piece) -> Vec<String> {
    let Opened::Plain { file, start, end } = p.opened().unwrap() else {
        panic!("{}: a piece is a plain range", p.name);
    };
    assert_eq!((start, end), (p.start, p.end));
    assert!(start < end, "{}: empty piece {start}..{end}", p.name);
    let all = whole(&file);
    assert!(end as usize <= all.len(), "{}: range past the end", p.name);
    assert_eq!(all[end as usize - 1], b'\n', "{}: ends mid-line", p.name);
    assert!(
        start == 0 || all[start as usize - 1] == b'\n',
        "{}: starts mid-line at {start}",
        p.name
    );
    let before = all[..start as usize]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64;
    assert_eq!(
        p.first_line, before,
        "{}: first_line at byte {start}",
        p.name
    );
    let text = std::str::from_utf8(&all[start as usize..end as usize]).unwrap();
    text.lines().map(str::to_owned).collect()
}

fn whole(file: &File) -> Vec<u8> {
    let len = file.metadata().unwrap().len() as usize;
    let mut buf = vec![0u8; len];
    file.read_exact_at(&mut buf, 0).unwrap();
    buf
}

/// The multiset of lines.
fn counts(lines: &[String]) -> BTreeMap<&str, usize> {
    let mut m = BTreeMap::new();
    for l in lines {
        *m.entry(l.as_str()).or_insert(0) += 1;
    }
    m
}

fn assert_exactly_once(written: &[String], read: &[String]) {
    let (w, r) = (counts(written), counts(read));
    if w != r {
        let missing: Vec<_> = w.keys().filter(|k| !r.contains_key(*k)).take(5).collect();
        let twice: Vec<_> = r.iter().filter(|(_, &n)| n > 1).take(5).collect();
        let extra: Vec<_> = r.keys().filter(|k| !w.contains_key(*k)).take(5).collect();
        panic!(
            "written {} lines, read {}\nmissing: {missing:?}\nread twice: {twice:?}\n\
             never written: {extra:?}",
            written.len(),
            read.len()
        );
    }
}

#[test]
fn appends_across_several_runs_are_read_exactly_once() {
    let mut logs = Logs::new();
    let mut written = logs.append(50);
    let first = logs.run(None, 1000);
    assert_eq!(first.lines, written);
    assert!(first.notes.iter().any(|n| n.contains("first run")));
    let mut read = first.lines;
    for (i, n) in [1, 0, 17, 200, 3].into_iter().enumerate() {
        let new = logs.append(n);
        let r = logs.run(None, 1001 + i as u64);
        assert_eq!(r.lines, new, "run {i}");
        assert!(r.skipped.is_empty() && r.notes.is_empty(), "{r:?}");
        // The line numbers continue where the previous run stopped.
        if n > 0 {
            assert_eq!(
                r.pieces,
                [(
                    logs.live.display().to_string(),
                    written.len() as u64,
                    n as u64
                )]
            );
        }
        written.extend(new);
        read.extend(r.lines);
    }
    assert_exactly_once(&written, &read);
}

#[test]
fn a_partial_last_line_waits_for_its_newline() {
    let mut logs = Logs::new();
    let mut written = logs.append(3);
    append(&logs.live, b"half of a li");
    let r1 = logs.run(None, 1);
    assert_eq!(r1.lines, written);
    // Nothing new but the partial line: nothing is read.
    let r2 = logs.run(None, 2);
    assert!(r2.lines.is_empty(), "{r2:?}");
    append(&logs.live, b"ne\n");
    written.push("half of a line".into());
    written.extend(logs.append(2));
    let r3 = logs.run(None, 3);
    assert_eq!(r3.lines, written[3..]);
    assert_eq!(r3.pieces[0].1, 3);
    assert_exactly_once(&written, &[r1.lines, r3.lines].concat());
}

#[test]
fn create_and_move_rotation_between_runs_finishes_the_old_file_then_reads_the_new_one() {
    let mut logs = Logs::new();
    let mut written = logs.append(20);
    let mut read = logs.run(None, 100).lines;
    // Lines before the rotation, then logrotate's rename + create; nginx keeps its old
    // descriptor until it reopens, so one more line lands in the rotated file.
    written.extend(logs.append(5));
    let mut nginx = OpenOptions::new().append(true).open(&logs.live).unwrap();
    let rotated = logs.path("access.log.1");
    fs::rename(&logs.live, &rotated).unwrap();
    fs::write(&logs.live, "").unwrap();
    let late = logs.fresh_line();
    writeln!(nginx, "{late}").unwrap();
    written.push(late);
    // nginx reopens; lines after the rotation go to the new file.
    written.extend(logs.append(7));
    let r = logs.run(None, 200);
    assert_eq!(r.file_names(), ["access.log.1", "access.log"]);
    assert_eq!(r.pieces[0].1, 20, "the rotated file continues at line 20");
    assert_eq!(r.pieces[1].1, 0);
    assert_eq!(r.lines, written[20..]);
    assert!(
        r.notes.iter().any(|n| n.contains("rotated")),
        "{:?}",
        r.notes
    );
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
    read.extend(r.lines);

    // Another line reaches the rotated file after that run (a worker that had not reopened
    // yet): the next run finishes it, and the one after lets the rotated file go.
    let later = logs.fresh_line();
    writeln!(nginx, "{later}").unwrap();
    written.push(later.clone());
    drop(nginx);
    let new = logs.append(2);
    written.extend(new.clone());
    let r = logs.run(None, 300);
    assert_eq!(r.lines, [vec![later], new].concat());
    read.extend(r.lines);
    let r = logs.run(None, 400);
    assert!(r.lines.is_empty());
    assert!(
        r.notes.iter().any(|n| n.contains("finished rotated file")),
        "{:?}",
        r.notes
    );
    let state = fs::read_to_string(&logs.state).unwrap();
    assert!(!state.contains("access.log.1"), "{state}");
    assert_exactly_once(&written, &read);
}

/// logrotate's copytruncate: copy the live file, then truncate it in place.
fn copytruncate(logs: &Logs, copy: &str) {
    fs::copy(&logs.live, logs.path(copy)).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&logs.live)
        .unwrap()
        .set_len(0)
        .unwrap();
}

#[test]
fn copytruncate_with_the_live_file_shorter_than_the_offset_finishes_the_copy() {
    let mut logs = Logs::new();
    let mut written = logs.append(30);
    let mut read = logs.run(None, 1).lines;
    written.extend(logs.append(4));
    copytruncate(&logs, "access.log.1");
    written.extend(logs.append(2));
    assert!(
        fs::metadata(&logs.live).unwrap().len()
            < fs::metadata(logs.path("access.log.1")).unwrap().len()
    );
    let r = logs.run(None, 2);
    assert_eq!(r.file_names(), ["access.log.1", "access.log"]);
    assert_eq!((r.pieces[0].1, r.pieces[0].2), (30, 4));
    assert!(
        r.notes.iter().any(|n| n.contains("truncated")),
        "{:?}",
        r.notes
    );
    assert!(r.skipped.is_empty());
    read.extend(r.lines);
    written.extend(logs.append(3));
    read.extend(logs.run(None, 3).lines);
    assert_exactly_once(&written, &read);
}

#[test]
fn copytruncate_with_the_live_file_grown_past_the_offset_is_detected_by_fingerprint() {
    let mut logs = Logs::new();
    let mut written = logs.append(10);
    let mut read = logs.run(None, 1).lines;
    let offset = fs::metadata(&logs.live).unwrap().len();
    written.extend(logs.append(2));
    copytruncate(&logs, "access.log-20240501");
    // The truncated file grows past the old offset before the next run.
    written.extend(logs.append(40));
    assert!(fs::metadata(&logs.live).unwrap().len() > offset);
    let r = logs.run(None, 2);
    assert_eq!(r.file_names(), ["access.log-20240501", "access.log"]);
    assert_eq!((r.pieces[0].1, r.pieces[0].2), (10, 2));
    assert_eq!((r.pieces[1].1, r.pieces[1].2), (0, 40));
    assert!(
        r.notes.iter().any(|n| n.contains("rewritten")),
        "{:?}",
        r.notes
    );
    read.extend(r.lines);
    assert_exactly_once(&written, &read);
}

#[test]
fn a_rotated_file_that_is_gone_is_reported_as_skipped() {
    let mut logs = Logs::new();
    let written = logs.append(10);
    let read = logs.run(None, 1).lines;
    assert_eq!(read, written);
    logs.append(3);
    append(&logs.live, b"partial");
    // Rotated and compressed (here: removed) before the next run.
    fs::rename(&logs.live, logs.path("access.log.1")).unwrap();
    fs::write(logs.path("access.log.1.gz"), b"\x1f\x8b\x08\x00rest").unwrap();
    fs::remove_file(logs.path("access.log.1")).unwrap();
    let new = logs.append(2);
    let r = logs.run(None, 2);
    assert_eq!(r.lines, new);
    assert_eq!(r.skipped.len(), 1, "{:?}", r.skipped);
    let s = &r.skipped[0];
    assert_eq!(s.name, logs.live.display().to_string());
    assert!(
        s.reason.contains("neither by inode nor by its bytes"),
        "{}",
        s.reason
    );
    assert_eq!(s.lines, None);
}

#[test]
fn a_copy_that_is_gone_after_copytruncate_is_reported_as_skipped() {
    let mut logs = Logs::new();
    logs.append(10);
    logs.run(None, 1);
    logs.append(2);
    OpenOptions::new()
        .write(true)
        .open(&logs.live)
        .unwrap()
        .set_len(0)
        .unwrap();
    let new = logs.append(1);
    let r = logs.run(None, 2);
    assert_eq!(r.lines, new);
    assert_eq!(r.skipped.len(), 1, "{:?}", r.skipped);
    assert!(r.skipped[0].reason.contains("truncated"), "{:?}", r.skipped);
}

#[test]
fn max_read_skips_the_oldest_bytes_and_keeps_line_numbers_exact() {
    let mut logs = Logs::new();
    let written = logs.append(100);
    let data = fs::read(&logs.live).unwrap();
    let max = 1000u64;
    let r = logs.run(Some(max), 1);
    // Reading starts at the first line beginning in the last `max` bytes.
    let cut = data.len() - max as usize;
    let start = if data[cut - 1] == b'\n' {
        cut
    } else {
        cut + data[cut..].iter().position(|&b| b == b'\n').unwrap() + 1
    };
    let skipped_lines = data[..start].iter().filter(|&&b| b == b'\n').count();
    assert_eq!(r.pieces[0].1, skipped_lines as u64);
    assert_eq!(r.lines, written[skipped_lines..]);
    assert!(r.lines.iter().map(|l| l.len() as u64 + 1).sum::<u64>() <= max);
    assert_eq!(
        r.skipped,
        [Skipped {
            name: logs.live.display().to_string(),
            bytes: start as u64,
            lines: Some(skipped_lines as u64),
            reason: r.skipped[0].reason.clone(),
            lost: false,
        }]
    );
    assert!(r.skipped[0].reason.contains("--max-read 1000"));
    // Within the bound, nothing is skipped and numbering continues.
    let new = logs.append(3);
    let r = logs.run(Some(max), 2);
    assert_eq!(r.lines, new);
    assert_eq!(r.pieces[0].1, 100);
    assert!(r.skipped.is_empty());
}

#[test]
fn max_read_counts_the_rotated_file_and_the_new_one_together() {
    let mut logs = Logs::new();
    logs.append(5);
    logs.run(None, 1);
    let old = logs.append(50);
    fs::rename(&logs.live, logs.path("access.log.1")).unwrap();
    let new = logs.append(5);
    let new_bytes: u64 = new.iter().map(|l| l.len() as u64 + 1).sum();
    let r = logs.run(Some(new_bytes + 100), 2);
    let old_read = &r.lines[..r.lines.len() - 5];
    assert!(!old_read.is_empty() && old_read.len() < 50, "{r:?}");
    assert_eq!(old_read, &old[50 - old_read.len()..]);
    assert_eq!(r.lines[r.lines.len() - 5..], new);
    assert_eq!(r.skipped.len(), 1);
    assert_eq!(
        r.skipped[0].lines,
        Some(50 - old_read.len() as u64),
        "{:?}",
        r.skipped
    );
}

#[test]
fn a_second_run_fails_fast_while_the_first_holds_the_lock() {
    let mut logs = Logs::new();
    logs.append(2);
    let first = logs.begin(1_700_000_000).unwrap();
    let err = logs.begin(1_700_000_060).unwrap_err();
    assert!(matches!(err, Error::StateLocked { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("another realip run holds the lock on "),
        "{msg}"
    );
    assert!(msg.contains("realip.state.lock"), "{msg}");
    assert!(
        msg.contains(&format!(
            "(pid {}, since 2023-11-14T22:13:20Z)",
            std::process::id()
        )),
        "{msg}"
    );
    // Once the first run is over (committed or not), the next one proceeds.
    drop(first);
    let second = logs.begin(1_700_000_120).unwrap();
    assert_eq!(second.pieces.len(), 1);
}

#[test]
fn a_corrupt_or_unknown_state_file_is_an_error_naming_it() {
    let mut logs = Logs::new();
    logs.append(1);
    let cases: [(&[u8], &str); 5] = [
        (b"{\"version\": 1, \"logs\": {", "not JSON"),
        (b"", "not JSON"),
        (b"{\"logs\": {}}", "no \"version\""),
        (b"{\"version\": 2, \"logs\": {}}", "has version 2"),
        (
            b"{\"version\": 1, \"logs\": {\"/x\": {\"last_run\": \"soon\"}}}",
            "not a valid version 1",
        ),
    ];
    for (content, expected) in cases {
        fs::write(&logs.state, content).unwrap();
        let err = logs.begin(1).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::State { .. }), "{err:?}");
        assert!(msg.contains(&logs.state.display().to_string()), "{msg}");
        assert!(msg.contains(expected), "{msg}");
        assert!(msg.contains("move it away to start over"), "{msg}");
        // The file is left alone.
        assert_eq!(fs::read(&logs.state).unwrap(), content);
    }
}

#[test]
fn the_state_is_replaced_atomically_and_an_uncommitted_run_is_read_again() {
    let mut logs = Logs::new();
    let mut written = logs.append(5);
    let mut read = logs.run(None, 10).lines;
    let committed = fs::read(&logs.state).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&committed).unwrap();
    assert_eq!(v["version"], 1);
    let key = fs::canonicalize(&logs.dir).unwrap().join("access.log");
    let entry = &v["logs"][key.to_str().unwrap()];
    assert_eq!(entry["last_run"], 10);
    assert_eq!(
        entry["file"]["offset"],
        fs::metadata(&logs.live).unwrap().len()
    );
    assert_eq!(entry["file"]["line"], 5);
    assert_eq!(
        entry["file"]["fingerprint"]["fnv1a64"]
            .as_str()
            .unwrap()
            .len(),
        16
    );

    // A run that fails before committing leaves the state as it was...
    let new = logs.append(4);
    written.extend(new.clone());
    let failed = logs.begin(20).unwrap();
    assert_eq!(Run::read(&failed).lines, new);
    drop(failed);
    assert_eq!(fs::read(&logs.state).unwrap(), committed);
    // ...so the next run reads the same lines again, and no temporary file is left behind.
    let r = logs.run(None, 30);
    assert_eq!(r.lines, new);
    read.extend(r.lines);
    let mut names: Vec<String> = fs::read_dir(&logs.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["access.log", "realip.state", "realip.state.lock"]);
    assert_exactly_once(&written, &read);
}

#[test]
fn the_window_spans_the_time_since_the_previous_run() {
    let mut logs = Logs::new();
    logs.append(1);
    let first = logs.begin(1000).unwrap();
    assert_eq!(first.window, None, "no previous run");
    first.commit().unwrap();
    let second = logs.begin(1300).unwrap();
    assert_eq!(
        second.window,
        Some(state::Window {
            since_epoch: 1000,
            seconds: 300
        })
    );
}

#[test]
fn stdin_gzip_directories_and_pipes_are_refused() {
    let logs = Logs::new();
    let gz = logs.path("old.log.gz");
    fs::write(&gz, b"\x1f\x8b\x08\x00\x00\x00\x00\x00").unwrap();
    let fifo = logs.path("pipe");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    let mut cases = vec![
        (PathBuf::from("-"), "standard input"),
        (gz, "gzip-compressed"),
        (logs.dir.clone(), "directory"),
    ];
    if made.is_ok_and(|s| s.success()) {
        cases.push((fifo, "not a regular file"));
    }
    for (path, expected) in cases {
        let err = state::begin(&logs.state, std::slice::from_ref(&path), None, 1).unwrap_err();
        assert!(matches!(err, Error::StateInput { .. }), "{path:?}: {err:?}");
        let msg = err.to_string();
        assert!(msg.starts_with("--state cannot follow "), "{msg}");
        assert!(msg.contains(expected), "{msg}");
    }
    // A missing log on a first run is an error too (a typo must not look like an empty log).
    let err = state::begin(&logs.state, &[logs.path("acess.log")], None, 1).unwrap_err();
    assert!(err.to_string().contains("acess.log"), "{err}");
}

#[test]
fn a_log_missing_after_rotation_is_finished_and_followed_once_recreated() {
    let mut logs = Logs::new();
    let mut written = logs.append(3);
    let mut read = logs.run(None, 1).lines;
    written.extend(logs.append(2));
    // logrotate without `create`: the path is missing until nginx reopens its log.
    fs::rename(&logs.live, logs.path("access.log.1")).unwrap();
    let r = logs.run(None, 2);
    assert_eq!(r.file_names(), ["access.log.1"]);
    read.extend(r.lines);
    written.extend(logs.append(4));
    let r = logs.run(None, 3);
    assert_eq!(r.file_names(), ["access.log"]);
    assert!(
        !r.notes.iter().any(|n| n.contains("first run")),
        "{:?}",
        r.notes
    );
    read.extend(r.lines);
    assert_exactly_once(&written, &read);
}

#[test]
fn a_log_given_twice_is_read_once() {
    let mut logs = Logs::new();
    let written = logs.append(3);
    let twice = [logs.live.clone(), logs.dir.join(".").join("access.log")];
    let inc = state::begin(&logs.state, &twice, None, 1).unwrap();
    assert_eq!(Run::read(&inc).lines, written);
    assert!(inc.notes.iter().any(|n| n.contains("given more than once")));
}

#[test]
fn entries_of_logs_not_given_are_kept() {
    let mut logs = Logs::new();
    let other = logs.path("other.log");
    logs.append_to(&other, 2);
    logs.append(1);
    let both = [logs.live.clone(), other.clone()];
    let inc = state::begin(&logs.state, &both, None, 1).unwrap();
    assert_eq!(Run::read(&inc).lines.len(), 3);
    inc.commit().unwrap();
    // A run on access.log alone leaves other.log's entry as it was...
    logs.append(1);
    logs.run(None, 2);
    // ...so other.log continues where it stopped, with its own window.
    let new = logs.append_to(&other, 1);
    let inc = state::begin(&logs.state, std::slice::from_ref(&other), None, 3).unwrap();
    assert_eq!(Run::read(&inc).lines, new);
    assert_eq!(
        inc.window,
        Some(state::Window {
            since_epoch: 1,
            seconds: 2
        })
    );
}

/// A model of nginx writing through one descriptor, logrotate, and cron runs.
struct Model {
    logs: Logs,
    /// nginx's descriptor: stays on the renamed file until it reopens.
    writer: Option<File>,
    writer_on_live: bool,
    /// The rest of a line whose beginning was written.
    partial: Option<(String, String)>,
    /// Whether logrotate may act: once per committed run, and only after nginx reopened
    /// and a run saw the result (the module's assumption 1).
    may_rotate: bool,
    /// Complete lines in the live file since it was created or truncated, and whether the
    /// last committed run saw any (copytruncate is only recognised then: assumption 4).
    live_lines: usize,
    live_had_lines_at_run: bool,
    written: Vec<String>,
    read: Vec<String>,
    now: u64,
    runs: usize,
    rotations: usize,
    copytruncates: usize,
    /// What happened, for the failure message.
    trace: Vec<String>,
}

impl Model {
    fn new() -> Self {
        let logs = Logs::new();
        let writer = OpenOptions::new().append(true).open(&logs.live).unwrap();
        Model {
            logs,
            writer: Some(writer),
            writer_on_live: true,
            partial: None,
            // A first run reads only the live file: rotations start after it.
            may_rotate: false,
            live_lines: 0,
            live_had_lines_at_run: false,
            written: Vec::new(),
            read: Vec::new(),
            now: 1_000,
            runs: 0,
            rotations: 0,
            copytruncates: 0,
            trace: Vec::new(),
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        self.writer.as_mut().unwrap().write_all(bytes).unwrap();
    }

    fn finish_partial(&mut self) {
        if let Some((line, rest)) = self.partial.take() {
            self.write(format!("{rest}\n").as_bytes());
            self.written.push(line);
            self.live_lines += usize::from(self.writer_on_live);
        }
    }

    fn append(&mut self, n: usize) {
        self.finish_partial();
        if n > 0 {
            self.trace
                .push(format!("append {n} from {}", self.logs.next + 1));
        }
        for _ in 0..n {
            let line = self.logs.fresh_line();
            self.write(format!("{line}\n").as_bytes());
            self.written.push(line);
            self.live_lines += usize::from(self.writer_on_live);
        }
    }

    fn start_partial(&mut self, rng: &mut Rng) {
        if self.partial.is_some() {
            return;
        }
        let line = self.logs.fresh_line();
        let cut = 1 + rng.below(line.len() as u64 - 1) as usize;
        self.write(&line.as_bytes()[..cut]);
        let rest = line[cut..].to_string();
        self.trace.push(format!("partial {}", self.logs.next));
        self.partial = Some((line, rest));
    }

    /// Moves the previous rotated file out of the way, as `delaycompress` does at the next
    /// rotation: it becomes a `.gz`.
    fn compress_previous(&self) {
        let one = self.logs.path("access.log.1");
        if one.exists() {
            fs::remove_file(&one).unwrap();
            fs::write(self.logs.path("access.log.2.gz"), b"\x1f\x8b\x08\x00older").unwrap();
        }
    }

    fn rotate(&mut self, create: bool) {
        if !(self.may_rotate && self.writer_on_live) {
            return;
        }
        self.compress_previous();
        fs::rename(&self.logs.live, self.logs.path("access.log.1")).unwrap();
        if create {
            fs::write(&self.logs.live, "").unwrap();
        }
        self.writer_on_live = false;
        self.may_rotate = false;
        self.live_lines = 0;
        self.rotations += 1;
        self.trace.push(format!("rotate (create: {create})"));
    }

    fn reopen(&mut self) {
        if self.writer_on_live {
            return;
        }
        // nginx writes whole lines: a line in progress ends in the file it started in.
        self.finish_partial();
        self.writer = Some(
            OpenOptions::new()
                .append(true)
                .create(true)
                .open(&self.logs.live)
                .unwrap(),
        );
        self.writer_on_live = true;
        self.trace.push("reopen".into());
    }

    fn copytruncate(&mut self) {
        if !(self.may_rotate && self.writer_on_live && self.live_had_lines_at_run) {
            return;
        }
        self.finish_partial();
        self.compress_previous();
        copytruncate(&self.logs, "access.log.1");
        self.may_rotate = false;
        self.live_lines = 0;
        self.copytruncates += 1;
        self.trace.push("copytruncate".into());
    }

    fn run(&mut self, commit: bool, seed: u64, step: usize) {
        self.now += 60;
        let inc = state::begin(
            &self.logs.state,
            std::slice::from_ref(&self.logs.live),
            None,
            self.now,
        )
        .unwrap_or_else(|e| panic!("seed {seed} step {step}: {e}"));
        let r = Run::read(&inc);
        self.trace.push(format!(
            "step {step}: run (commit: {commit}) read {:?} notes {:?}",
            r.pieces, r.notes
        ));
        assert!(
            r.skipped.is_empty(),
            "seed {seed} step {step}: skipped {:?}\n{}",
            r.skipped,
            self.trace.join("\n")
        );
        if commit {
            inc.commit().unwrap();
            self.read.extend(r.lines);
            self.runs += 1;
            if self.writer_on_live {
                self.may_rotate = true;
            }
            self.live_had_lines_at_run = self.writer_on_live && self.live_lines > 0;
        }
    }
}

#[test]
fn random_sequences_of_appends_rotations_and_runs_read_every_line_exactly_once() {
    let (mut runs, mut rotations, mut copytruncates) = (0, 0, 0);
    for seed in 1..=12u64 {
        let mut rng = Rng(seed);
        let mut m = Model::new();
        for step in 0..300 {
            match rng.below(100) {
                0..=34 => {
                    let n = rng.below(6) as usize;
                    m.append(n);
                }
                35..=44 => m.start_partial(&mut rng),
                45..=52 => m.rotate(true),
                53..=55 => m.rotate(false),
                56..=63 => m.copytruncate(),
                64..=73 => m.reopen(),
                74..=95 => m.run(true, seed, step),
                _ => m.run(false, seed, step),
            }
        }
        // Let everything settle: the last line ends, nginx reopens, two runs finish the
        // rotated file and let it go.
        m.finish_partial();
        m.reopen();
        m.run(true, seed, 300);
        m.append(1);
        m.run(true, seed, 301);
        m.run(true, seed, 302);
        if counts(&m.written) != counts(&m.read) {
            eprintln!("seed {seed}:\n{}", m.trace.join("\n"));
        }
        assert_exactly_once(&m.written, &m.read);
        runs += m.runs;
        rotations += m.rotations;
        copytruncates += m.copytruncates;
    }
    // The sequences really exercised what they claim to.
    assert!(
        runs > 500 && rotations > 50 && copytruncates > 30,
        "{runs} {rotations} {copytruncates}"
    );
}
