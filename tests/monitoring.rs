//! Monitoring conventions (issue #9): quiet cron runs, `--output-file` replaced atomically,
//! missing and unreadable inputs, non-seekable inputs read as streams, the table as the
//! default output whatever stdout is.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::util::{assert_exit, fixture, realip};

const TRUST: &str = "gcp,34.120.5.6";

fn scan(args: &[&str]) -> Output {
    realip()
        .arg("scan")
        .args(args)
        .output()
        .expect("run realip")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A temp dir holding a copy of the sample log as `access.log`.
fn sample_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::copy(fixture("logs/sample.log"), &log).unwrap();
    (dir, log)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// See: issue #9. A cron run (stderr not a terminal) with --state and nothing wrong prints
/// nothing on stderr: no detected-format note, no assumed-trust note.
#[test]
fn issue_9_clean_cron_runs_print_nothing_on_stderr() {
    let (dir, log) = sample_copy();
    let state = dir.path().join("access.state");
    for output in ["table", "json", "prometheus", "mackerel"] {
        let out = scan(&["--state", s(&state), "--output", output, s(&log)]);
        assert_exit(&out, 0);
        assert_eq!(stderr(&out), "", "--output {output}");
    }
    let out = scan(&["--check", "--trust", TRUST, "--state", s(&state), s(&log)]);
    assert_exit(&out, 0);
    assert_eq!(stderr(&out), "");
    // -v shows the notes; -q hides warnings too.
    let out = scan(&["-v", "--no-audit", "--output", "json", s(&log)]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("realip: log format: realip (detected"),
        "{}",
        stderr(&out)
    );
    std::fs::write(&log, "garbage line\n").unwrap();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .and_then(|mut f| {
            use std::io::Write;
            f.write_all(&std::fs::read(fixture("logs/sample.log")).unwrap())
        })
        .unwrap();
    let args = ["--log-format", "realip", "--output", "json", s(&log)];
    let out = scan(&args);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("warning: 1 malformed line(s), first at"),
        "{}",
        stderr(&out)
    );
    let out = scan(&[&["-q"], &args[..]].concat());
    assert_exit(&out, 0);
    assert_eq!(stderr(&out), "");
}

/// See: issue #9. Without --output, the table is printed whether or not stdout is a terminal.
#[test]
fn issue_9_the_table_is_the_default_output_on_a_pipe_too() {
    let out = scan(&["--trust", TRUST, s(&fixture("logs/sample.log"))]);
    let stdout = assert_exit(&out, 0);
    assert!(stdout.starts_with("audit: "), "{stdout}");
    assert!(!stdout.trim_start().starts_with('{'));
}

/// See: issue #9. A missing file is an error with no report; with several inputs, the
/// readable ones are scanned and the others named.
#[test]
fn issue_9_missing_inputs_exit_2_and_print_no_report_of_zeros() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.log");
    let out = scan(&["--output", "json", s(&missing)]);
    assert_exit(&out, 2);
    assert!(out.stdout.is_empty(), "no report: {:?}", out.stdout);
    assert!(stderr(&out).contains("missing.log"), "{}", stderr(&out));

    let sample = fixture("logs/sample.log");
    let out = scan(&["--output", "json", s(&missing), s(&sample)]);
    let stdout = assert_exit(&out, 2);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["lines"], 2000);
    assert!(stderr(&out).contains("missing.log"), "{}", stderr(&out));
}

/// See: issue #9. `realip scan <(cat file)` and FIFOs are read as streams (no "Illegal seek"),
/// compressed or not.
#[test]
fn issue_9_non_seekable_inputs_are_read_as_streams() {
    let sample = fixture("logs/sample.log");
    for cmd in [
        "\"$0\" scan --output json <(cat \"$1\")",
        "\"$0\" scan --output json <(gzip -c \"$1\")",
    ] {
        let out = std::process::Command::new("bash")
            .args(["-c", cmd, env!("CARGO_BIN_EXE_realip"), s(&sample)])
            .output()
            .unwrap();
        let stdout = assert_exit(&out, 0);
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(v["lines"], 2000, "{cmd}");
        assert_eq!(v["parsed"], 2000, "{cmd}");
    }
    // A named pipe.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, std::fs::read(sample).unwrap()))
    };
    let out = scan(&["--output", "json", s(&fifo)]);
    writer.join().unwrap().unwrap();
    let v: serde_json::Value = serde_json::from_str(&assert_exit(&out, 0)).unwrap();
    assert_eq!(v["lines"], 2000);
}

/// See: issue #9. `--output-file` replaces the file atomically for every format, leaves no
/// temporary file behind, keeps the old content when the run fails, and keeps the mode.
#[test]
fn issue_9_output_file_is_replaced_atomically_and_only_by_a_good_run() {
    let dir = tempfile::tempdir().unwrap();
    let sample = fixture("logs/sample.log");
    let target = dir.path().join("realip.prom");
    for output in ["table", "json", "tsv", "prometheus", "mackerel"] {
        let out = scan(&["--output", output, "--output-file", s(&target), s(&sample)]);
        assert_exit(&out, 0);
        assert!(
            out.stdout.is_empty(),
            "--output {output}: stdout stays empty"
        );
        let written = std::fs::read_to_string(&target).unwrap();
        let direct = assert_exit(&scan(&["--output", output, s(&sample)]), 0);
        if output != "mackerel" {
            assert_eq!(written, direct, "--output {output}");
        } else {
            // Mackerel lines carry the run's epoch.
            assert_eq!(written.lines().count(), direct.lines().count());
        }
        assert_eq!(dir_names(dir.path()), ["realip.prom"], "--output {output}");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&target).unwrap().permissions(),
        );
        assert_eq!(
            mode & 0o777,
            0o644,
            "readable by a collector running as another user"
        );
    }
    // A failing run (one input missing) leaves the old content and no temporary file.
    let before = std::fs::read(&target).unwrap();
    let missing = dir.path().join("missing.log");
    let out = scan(&[
        "--output",
        "json",
        "--output-file",
        s(&target),
        s(&sample),
        s(&missing),
    ]);
    assert_exit(&out, 2);
    assert_eq!(std::fs::read(&target).unwrap(), before);
    assert_eq!(dir_names(dir.path()), ["realip.prom"]);
    // A run that fails before any report (no input at all) too.
    let out = scan(&["--output-file", s(&target), s(&missing)]);
    assert_exit(&out, 2);
    assert_eq!(std::fs::read(&target).unwrap(), before);
    assert_eq!(dir_names(dir.path()), ["realip.prom"]);
    // With --check the status line goes to stdout and the report to the file.
    let out = scan(&[
        "--check",
        "--trust",
        TRUST,
        "--output",
        "json",
        "--output-file",
        s(&target),
        s(&sample),
    ]);
    let stdout = assert_exit(&out, 2);
    assert!(stdout.starts_with("REALIP CRITICAL: "), "{stdout}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&target).unwrap()).unwrap();
    assert_eq!(v["lines"], 2000);
}
