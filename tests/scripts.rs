//! The measuring scripts (`scripts/compare.sh`) run end to end on a stand-in binary: what
//! they write next to the numbers must name what was measured.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// A stand-in `realip` that says which build it is and answers `scan --output json` with
/// the line count of its last argument, every line parsed and audited.
const FAKE_REALIP: &str = r#"#!/bin/sh
case "$1" in
  --version) echo "realip 9.8.7-other-build"; exit 0 ;;
  scan) ;;
  *) exit 2 ;;
esac
[ "$2" = --help ] && exit 0
for a in "$@"; do last=$a; done
n=$(wc -l < "$last")
printf '{"lines": %s, "parsed": %s, "malformed": {"count": 0}, "summary": {"requests": %s}, "audit": {"checked": %s}}\n' "$n" "$n" "$n" "$n"
"#;

/// Runs `scripts/compare.sh --format realip` on a stand-in binary and a 10-line log, with
/// `REALIP_BENCH_ROUNDS` set when given; returns the output, the run directories it wrote,
/// the stand-in's path and the temporary directory holding them.
fn run_compare(
    rounds: Option<&str>,
) -> (
    std::process::Output,
    Vec<std::path::PathBuf>,
    std::path::PathBuf,
    tempfile::TempDir,
) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().canonicalize().unwrap();
    let bin = dir.join("realip-other");
    std::fs::write(&bin, FAKE_REALIP).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let log = dir.join("access.log");
    std::fs::write(&log, "a line\n".repeat(10)).unwrap();
    let results = dir.join("results");
    let mut cmd = Command::new("bash");
    cmd.arg(repo.join("scripts/compare.sh"))
        .args(["--format", "realip"])
        .env("REALIP_BIN", &bin)
        .env("REALIP_BENCH_FILE", &log)
        .env("REALIP_BENCH_RESULTS", &results);
    if let Some(n) = rounds {
        cmd.env("REALIP_BENCH_ROUNDS", n);
    }
    let out = cmd.output().unwrap();
    let runs = std::fs::read_dir(&results)
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    (out, runs, bin, tmp)
}

/// With `REALIP_BENCH_ROUNDS=3` every tool runs three times, interleaved: raw.csv keeps each
/// run, the summary one row per tool (its median round) and each command once; a count that
/// is not a positive number is refused.
#[test]
fn compare_reports_the_median_of_its_rounds() {
    let (out, runs, _bin, _tmp) = run_compare(Some("3"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(runs.len(), 1, "{runs:?}");
    let run = &runs[0];
    let raw = std::fs::read_to_string(run.join("raw.csv")).unwrap();
    for tool in [
        "wc -l,",
        "realip scan,1,",
        "realip scan,2,",
        "realip scan --group-by route,",
    ] {
        let n = raw.lines().filter(|l| l.starts_with(tool)).count();
        assert!(
            n == 3 || (tool == "realip scan,2," && n == 0),
            "{tool}: {n} in\n{raw}"
        );
    }
    let summary = std::fs::read_to_string(run.join("summary")).unwrap();
    assert!(
        summary.contains("(seconds: the median of 3 interleaved rounds"),
        "{summary}"
    );
    assert_eq!(summary.matches("wc -l: wc -l FILE").count(), 1, "{summary}");
    let table: Vec<&str> = summary
        .lines()
        .filter(|l| l.starts_with("realip scan -j 1 "))
        .collect();
    assert_eq!(table.len(), 1, "{summary}");

    let (out, runs, _bin, _tmp) = run_compare(Some("0"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("REALIP_BENCH_ROUNDS"));
    assert!(runs.is_empty(), "{runs:?}");
}

#[test]
fn compare_labels_a_realip_bin_by_its_own_version_not_by_this_checkouts_commit() {
    // See: issue #12. A REALIP_BIN built from another commit was labelled with the git hash
    // of the checkout running the script, so an A/B result named the wrong build.
    for tool in ["/usr/bin/time", "python3", "git"] {
        let found = if tool.starts_with('/') {
            Path::new(tool).exists()
        } else {
            Command::new(tool).arg("--version").output().is_ok()
        };
        assert!(
            found,
            "{tool} is needed by scripts/compare.sh (scripts/test installs GNU time)"
        );
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let (out, runs, bin, _tmp) = run_compare(None);
    assert!(
        out.status.success(),
        "compare.sh failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(runs.len(), 1, "{runs:?}");
    let summary = std::fs::read_to_string(runs[0].join("summary")).unwrap();
    let label = summary
        .lines()
        .find(|l| l.starts_with("realip:"))
        .unwrap_or_else(|| panic!("no realip: line in\n{summary}"));
    assert!(label.contains("realip 9.8.7-other-build"), "{label}");
    assert!(label.contains(&bin.display().to_string()), "{label}");
    let head = Command::new("git")
        .args([
            "-C",
            &repo.display().to_string(),
            "rev-parse",
            "--short",
            "HEAD",
        ])
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    assert!(
        !label.contains("git ") && (head.is_empty() || !label.contains(&head)),
        "the binary is labelled with this checkout's commit {head}: {label}"
    );
    // The counts it reported are next to its time.
    assert!(summary.contains("10 (parsed 10, malformed 0)"), "{summary}");
}
