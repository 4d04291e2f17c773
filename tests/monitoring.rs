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
        if output == "prometheus" {
            // The run's timestamp differs.
            let strip = |t: &str| -> String {
                t.lines()
                    .filter(|l| !l.starts_with("realip_last_run_timestamp_seconds "))
                    .collect()
            };
            assert_eq!(strip(&written), strip(&direct));
        } else if output != "mackerel" {
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

// ---------------------------------------------------------------------------------------------
// Prometheus and Mackerel
// ---------------------------------------------------------------------------------------------

/// `promtool`, or `None` after a loud message outside CI; panics when missing under CI=true
/// (scripts/test installs Debian's `prometheus` package, which ships it).
fn promtool() -> Option<PathBuf> {
    for p in ["/usr/bin/promtool", "/usr/local/bin/promtool"] {
        if Path::new(p).exists() {
            return Some(PathBuf::from(p));
        }
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("promtool not found; CI=true requires it (apt-get install -y prometheus)");
    }
    eprintln!(
        "\n*** promtool not found: the exposition was NOT checked with promtool.\n\
         *** Install it (apt-get install -y prometheus); with CI=true this is an error.\n"
    );
    None
}

/// Asserts that `promtool check metrics` accepts `text` without a single complaint.
fn assert_promtool_clean(text: &str) {
    let Some(tool) = promtool() else { return };
    let out = crate::util::run_with_stdin(
        std::process::Command::new(tool).args(["check", "metrics"]),
        text.as_bytes(),
    );
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics:\n{}{}\n--- input\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `name{labels} value` samples of an exposition, by the full series text.
fn samples(text: &str) -> std::collections::BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, v) = l.rsplit_once(' ').unwrap();
            (series.to_string(), v.parse::<f64>().unwrap())
        })
        .collect()
}

/// Checks every histogram of an exposition: buckets monotonic in `le`, `+Inf` = `_count`.
fn assert_histograms_consistent(text: &str) {
    let mut by_series: std::collections::BTreeMap<String, Vec<(f64, f64)>> = Default::default();
    let all = samples(text);
    for (series, v) in &all {
        let Some((name, labels)) = series.split_once("_bucket{") else {
            continue;
        };
        let labels = labels.trim_end_matches('}');
        let (rest, le) = labels.rsplit_once("le=\"").unwrap();
        let le = le.trim_end_matches('"');
        let le = if le == "+Inf" {
            f64::INFINITY
        } else {
            le.parse().unwrap()
        };
        by_series
            .entry(format!("{name}{{{rest}"))
            .or_default()
            .push((le, *v));
    }
    assert!(!by_series.is_empty(), "no histogram in:\n{text}");
    for (key, mut buckets) in by_series {
        buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
        for w in buckets.windows(2) {
            assert!(
                w[0].1 <= w[1].1,
                "{key}: buckets not monotonic: {buckets:?}"
            );
        }
        let inf = buckets.last().unwrap();
        assert_eq!(inf.0, f64::INFINITY, "{key}");
        let (name, rest) = key.split_once('{').unwrap();
        let labels = rest.trim_end_matches(',');
        let count_series = if labels.is_empty() {
            format!("{name}_count")
        } else {
            format!("{name}_count{{{labels}}}")
        };
        assert_eq!(all.get(&count_series), Some(&inf.1), "{key}: +Inf = _count");
    }
}

fn prom(args: &[&str]) -> String {
    let out = scan(&[&["--output", "prometheus"], args].concat());
    let text = assert_exit(&out, 0);
    assert_eq!(stderr(&out), "", "{args:?}");
    text
}

/// See: issue #9. The exposition is clean for promtool (histograms, summaries on request,
/// groups, audit, gauges) and its histograms are consistent.
#[test]
fn issue_9_prometheus_output_passes_promtool_and_histograms_are_consistent() {
    let sample = fixture("logs/sample.log");
    let text = prom(&[
        "--trust",
        TRUST,
        "--group-by",
        "route",
        "--prometheus-quantiles",
        s(&sample),
    ]);
    assert_promtool_clean(&text);
    assert_histograms_consistent(&text);
    let v = samples(&text);
    assert_eq!(v["realip_request_time_seconds_count"], 2000.0);
    assert!(text.contains("# TYPE realip_request_time_seconds histogram\n"));
    assert!(text.contains("# TYPE realip_run_request_time_seconds summary\n"));
    assert!(v.contains_key("realip_run_request_time_seconds{quantile=\"0.99\"}"));
    // Default buckets: 1 ms to 60 s.
    assert!(v.contains_key("realip_request_time_seconds_bucket{le=\"0.001\"}"));
    assert!(v.contains_key("realip_request_time_seconds_bucket{le=\"60\"}"));
    assert!(v.contains_key("realip_last_run_timestamp_seconds"));
    // Without --prometheus-quantiles, no summary.
    let text = prom(&["--no-audit", s(&sample)]);
    assert!(!text.contains("quantile="), "{text}");
    assert_promtool_clean(&text);
}

/// See: issue #9. Bucket counts are exact: a value equal to a bound is in that bound's
/// bucket; `--buckets` chooses the bounds.
#[test]
fn issue_9_buckets_count_exactly_at_the_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("t.log");
    let times = [
        "0.050", "0.050", "0.051", "0.100", "0.300", "2.000", "61.000",
    ];
    let text: String = times.iter().map(|t| format!("200 {t}\n")).collect();
    std::fs::write(&log, text).unwrap();
    let text = prom(&[
        "--log-format",
        "$status $request_time",
        "--no-audit",
        "--buckets",
        "0.05,0.1,2",
        s(&log),
    ]);
    assert_promtool_clean(&text);
    let v = samples(&text);
    assert_eq!(v["realip_request_time_seconds_bucket{le=\"0.05\"}"], 2.0);
    assert_eq!(v["realip_request_time_seconds_bucket{le=\"0.1\"}"], 4.0);
    assert_eq!(v["realip_request_time_seconds_bucket{le=\"2\"}"], 6.0);
    assert_eq!(v["realip_request_time_seconds_bucket{le=\"+Inf\"}"], 7.0);
    assert!((v["realip_request_time_seconds_sum"] - 63.551).abs() < 1e-9);
    // Bad bounds are refused.
    for bad in ["0", "-1", "0.1,0.1", "x", "4000"] {
        let out = scan(&[&format!("--buckets={bad}"), s(&log)]);
        assert_exit(&out, 2);
        assert!(
            stderr(&out).contains("--buckets"),
            "{bad}: {}",
            stderr(&out)
        );
    }
}

/// See: issue #9. Under --state, counters are cumulative since the state file was created,
/// across appends, a rotation (create) and a copytruncate; a per-LB-IP series keeps
/// reporting once seen; gauges say when the run was and how long its window is.
#[test]
fn issue_9_counters_are_cumulative_across_state_runs_rotation_and_copytruncate() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let state = dir.path().join("access.state");
    let sample = std::fs::read_to_string(fixture("logs/sample.log")).unwrap();
    let lines: Vec<&str> = sample.lines().collect();
    // Lines with the untrusted LB IP (34.149.9.9 logged as the client) and without.
    let (bad, good): (Vec<&str>, Vec<&str>) =
        lines.iter().partition(|l| l.starts_with("34.149.9.9 "));
    assert!(bad.len() >= 3 && good.len() > 600);
    let chunk = |v: &[&str]| v.iter().map(|l| format!("{l}\n")).collect::<String>();
    let run = || {
        let text = prom(&["--trust", TRUST, "--state", s(&state), s(&log)]);
        assert_promtool_clean(&text);
        assert_histograms_consistent(&text);
        samples(&text)
    };
    let lb = "realip_audit_unresolved_lb_ip_lines_total{ip=\"34.149.9.9\"}";

    // Run 1: 200 good lines and 1 bad one.
    std::fs::write(&log, chunk(&[&good[..200], &bad[..1]].concat())).unwrap();
    let v = run();
    assert_eq!(v["realip_lines_total"], 201.0);
    assert_eq!(v["realip_request_time_seconds_count"], 201.0);
    assert_eq!(v[lb], 1.0);
    let since = v["realip_counters_since_timestamp_seconds"];
    assert!(
        !v.contains_key("realip_window_seconds"),
        "no window on a first run"
    );

    // Run 2: 100 appended good lines; the LB IP series stays (at its total).
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(chunk(&good[200..300]).as_bytes()).unwrap();
    drop(f);
    let v = run();
    assert_eq!(v["realip_lines_total"], 301.0);
    assert_eq!(v["realip_request_time_seconds_count"], 301.0);
    assert_eq!(v[lb], 1.0);
    assert!(v["realip_window_seconds"] >= 1.0);
    assert_eq!(v["realip_counters_since_timestamp_seconds"], since);

    // Run 3: 50 more lines, then logrotate (create): rename, new file with 100 lines.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(chunk(&[&good[300..349], &bad[1..2]].concat()).as_bytes())
        .unwrap();
    drop(f);
    std::fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    std::fs::write(&log, chunk(&good[349..449])).unwrap();
    let v = run();
    assert_eq!(v["realip_lines_total"], 451.0);
    assert_eq!(v["realip_audit_checked_lines_total"], 451.0);
    assert_eq!(v[lb], 2.0);

    // Run 4: copytruncate: 30 more lines, copied away, truncated, 20 new ones.
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(chunk(&good[449..479]).as_bytes()).unwrap();
    drop(f);
    std::fs::copy(&log, dir.path().join("access.log.2")).unwrap();
    std::fs::write(&log, chunk(&[&good[479..498], &bad[2..3]].concat())).unwrap();
    let v = run();
    assert_eq!(v["realip_lines_total"], 501.0);
    assert_eq!(v["realip_request_time_seconds_count"], 501.0);
    assert_eq!(v[lb], 3.0);

    // Run 5: nothing new: every counter stays, none goes back to 0.
    let v2 = run();
    for (series, value) in &v {
        if series.starts_with("realip_last_run")
            || series.starts_with("realip_window")
            || series.starts_with("realip_requests_per_second")
        {
            continue;
        }
        assert_eq!(v2.get(series), Some(value), "{series}");
    }
    // The counters live in the state file, next to the offsets.
    let st: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert_eq!(st["totals"]["lines"], 501);
    assert_eq!(st["totals"]["runs"], 5);
}

/// See: issue #9. A failed run does not count: its lines are read again, once, by the next.
#[test]
fn issue_9_a_failed_run_adds_nothing_to_the_counters() {
    let (dir, log) = sample_copy();
    let state = dir.path().join("access.state");
    let missing = dir.path().join("missing.log");
    let out = scan(&[
        "--output",
        "prometheus",
        "--state",
        s(&state),
        s(&log),
        s(&missing),
    ]);
    assert_ne!(out.status.code(), Some(0));
    let v = samples(&prom(&["--state", s(&state), s(&log)]));
    assert_eq!(v["realip_lines_total"], 2000.0);
}

/// See: issue #9. Mackerel: --metric-key-prefix, per-group metrics, and the graph
/// definitions when mackerel-agent asks for them.
#[test]
fn issue_9_mackerel_prefix_groups_and_graph_definitions() {
    let sample = fixture("logs/sample.log");
    let args = [
        "--output",
        "mackerel",
        "--metric-key-prefix",
        "nginx.realip",
        "--group-by",
        "method",
        "--trust",
        TRUST,
        s(&sample),
    ];
    let out = scan(&args);
    let text = assert_exit(&out, 0);
    for l in text.lines() {
        let cells: Vec<&str> = l.split('\t').collect();
        assert_eq!(cells.len(), 3, "{l:?}");
        assert!(cells[0].starts_with("nginx.realip."), "{l:?}");
        assert!(
            cells[0]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
            "{l:?}"
        );
        cells[1].parse::<f64>().unwrap();
        cells[2].parse::<u64>().unwrap();
    }
    let value = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{name}\t")))
            .unwrap_or_else(|| panic!("{name} missing in\n{text}"))
            .split('\t')
            .nth(1)
            .unwrap()
            .to_string()
    };
    assert_eq!(value("nginx.realip.lines.total"), "2000");
    let get: u64 = value("nginx.realip.method.GET.requests").parse().unwrap();
    assert!(get > 1000);
    value("nginx.realip.method.GET.p99");
    value("nginx.realip.method_status.GET.2xx");

    let out = realip()
        .arg("scan")
        .args(args)
        .env("MACKEREL_AGENT_PLUGIN_META", "1")
        .output()
        .unwrap();
    let meta = assert_exit(&out, 0);
    let (head, json) = meta.split_once('\n').unwrap();
    assert_eq!(head, "# mackerel-agent-plugin");
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    let graphs = v["graphs"].as_object().unwrap();
    for g in [
        "nginx.realip.lines",
        "nginx.realip.audit",
        "nginx.realip.status",
        "nginx.realip.request_time",
        "nginx.realip.method.#",
        "nginx.realip.method_status.#",
    ] {
        assert!(graphs.contains_key(g), "{g} in {graphs:?}");
        assert!(graphs[g]["metrics"]
            .as_array()
            .is_some_and(|m| !m.is_empty()));
    }
    // Every metric printed belongs to a defined graph.
    for l in text.lines() {
        let name = l.split('\t').next().unwrap();
        let (graph, _) = name.rsplit_once('.').unwrap();
        let dynamic = graph.rsplit_once('.').map(|(g, _)| format!("{g}.#"));
        assert!(
            graphs.contains_key(graph) || dynamic.is_some_and(|d| graphs.contains_key(&d)),
            "{name} has no graph"
        );
    }
    // A bad prefix is refused.
    let out = scan(&[
        "--output",
        "mackerel",
        "--metric-key-prefix",
        "a..b",
        s(&sample),
    ]);
    assert_exit(&out, 2);
}

// ---------------------------------------------------------------------------------------------
// Rotated files compressed before the next run
// ---------------------------------------------------------------------------------------------

/// The sample's lines, and a function appending `range` of them to a file.
fn sample_lines() -> Vec<String> {
    std::fs::read_to_string(fixture("logs/sample.log"))
        .unwrap()
        .lines()
        .map(|l| format!("{l}\n"))
        .collect()
}

fn append(path: &Path, lines: &[String]) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(lines.concat().as_bytes()).unwrap();
}

fn gzip(path: &Path) {
    let ok = std::process::Command::new("gzip")
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "gzip {}", path.display());
}

/// Runs a --state scan and returns (lines read, the JSON report).
fn state_run(state: &Path, log: &Path) -> (u64, serde_json::Value) {
    let out = scan(&[
        "--output",
        "json",
        "--trust",
        TRUST,
        "--state",
        s(state),
        s(log),
    ]);
    let v: serde_json::Value = serde_json::from_str(&assert_exit(&out, 0)).unwrap();
    (v["lines"].as_u64().unwrap(), v)
}

fn check_run(state: &Path, log: &Path) -> (i32, String) {
    let out = scan(&["--check", "--trust", TRUST, "--state", s(state), s(log)]);
    let code = out.status.code().unwrap();
    (code, String::from_utf8_lossy(&out.stdout).into_owned())
}

/// See: issue #9. logrotate without delaycompress: the rotated file is compressed before
/// the next run; its pending lines are read from the .gz, exactly once.
#[test]
fn issue_9_pending_lines_of_a_rotated_file_compressed_at_once_are_read_exactly_once() {
    let lines = sample_lines();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let state = dir.path().join("access.state");
    append(&log, &lines[..500]);
    assert_eq!(state_run(&state, &log).0, 500);
    // 300 more lines, then rotation: rename, compress at once, new file with 100 lines.
    append(&log, &lines[500..800]);
    let rotated = dir.path().join("access.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    gzip(&rotated);
    append(&log, &lines[800..900]);
    let (code, line) = check_run(&state, &log);
    // The check read the same 400 lines: nothing lost, no WARNING for rotation.
    assert!(!line.contains("lost"), "{line}");
    assert_eq!(code, 2, "CRITICAL for the sample's untrusted LB IP: {line}");
    assert!(line.contains("checked=400"), "{line}");
    // Nothing new since: nothing is read again from the .gz.
    let (n, v) = state_run(&state, &log);
    assert_eq!(n, 0, "{v}");
    append(&log, &lines[900..950]);
    assert_eq!(state_run(&state, &log).0, 50);
}

/// See: issue #9. A dated name (logrotate's dateext) is found, and an older archive with the
/// same prefix is not taken for it.
#[test]
fn issue_9_a_dated_compressed_rotation_is_found_among_older_archives() {
    let lines = sample_lines();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let state = dir.path().join("access.state");
    append(&log, &lines[..100]);
    assert_eq!(state_run(&state, &log).0, 100);
    append(&log, &lines[100..130]);
    let rotated = dir.path().join("access.log-20261125");
    std::fs::rename(&log, &rotated).unwrap();
    gzip(&rotated);
    // An older, unrelated archive with the same prefix must not be taken.
    let older = dir.path().join("access.log-20261124");
    std::fs::write(&older, lines[1000..1200].concat()).unwrap();
    gzip(&older);
    append(&log, &lines[130..140]);
    let (n, v) = state_run(&state, &log);
    assert_eq!(n, 40, "{v}");
    let notes = v["state"]["notes"].to_string();
    assert!(notes.contains("access.log-20261125.gz"), "{notes}");
    assert_eq!(state_run(&state, &log).0, 0);
}

/// See: issue #9. delaycompress: the renamed file is finished by a run, nginx writes a few
/// more lines to it before reopening, then it is compressed: those lines come from the .gz.
#[test]
fn issue_9_lines_written_to_a_rotated_file_before_its_compression_are_read_once() {
    let lines = sample_lines();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let state = dir.path().join("access.state");
    append(&log, &lines[..200]);
    assert_eq!(state_run(&state, &log).0, 200);
    let rotated = dir.path().join("access.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    append(&log, &lines[200..210]);
    assert_eq!(state_run(&state, &log).0, 10);
    // nginx had not reopened yet: 5 lines went to the renamed file; then it is compressed.
    append(&rotated, &lines[210..215]);
    gzip(&rotated);
    append(&log, &lines[215..220]);
    let (n, v) = state_run(&state, &log);
    assert_eq!(n, 10, "{v}");
    assert_eq!(state_run(&state, &log).0, 0);
}

/// See: issue #9. When the rotated file is truly gone, the lost bytes are reported (never
/// "0 bytes") and --check answers WARNING for them; a compressed file's unterminated last
/// line is reported with its exact size.
#[test]
fn issue_9_lost_rotated_lines_are_reported_and_the_check_warns() {
    let lines = sample_lines();
    // Only lines that resolve correctly, so the thresholds alone would say OK.
    let good: Vec<String> = lines
        .iter()
        .filter(|l| !l.starts_with("34.149.9.9 "))
        .cloned()
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let state = dir.path().join("access.state");
    append(&log, &good[..100]);
    let (code, line) = check_run(&state, &log);
    assert_eq!(code, 0, "{line}");
    // Read to its end, then more lines, rotated and deleted before the next run.
    append(&log, &good[100..120]);
    std::fs::remove_file(&log).unwrap();
    append(&log, &good[120..130]);
    let out = scan(&["--check", "--trust", TRUST, "--state", s(&state), s(&log)]);
    let (code, line) = (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    );
    // A human is told on stderr too (cron mails it), never with "0 bytes".
    let err = stderr(&out);
    assert!(
        err.starts_with("realip: warning: lost lines of ") && err.contains("unknown"),
        "{err}"
    );
    assert_eq!(code, 1, "{line}");
    assert!(line.starts_with("REALIP WARNING: "), "{line}");
    assert!(line.contains("lost in rotation"), "{line}");
    assert!(!line.contains(" 0 pending bytes"), "{line}");

    // A compressed rotation whose last line has no newline: its exact size is reported.
    append(&log, &good[130..140]);
    assert_eq!(check_run(&state, &log).0, 0);
    let tail = &good[140][..40];
    append(&log, &[tail.to_string()]);
    let rotated = dir.path().join("access.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    gzip(&rotated);
    append(&log, &good[141..150]);
    let (_, v) = state_run(&state, &log);
    let notes = v["state"]["notes"].to_string();
    assert!(
        notes.contains(&format!("lost {} bytes of", tail.len())),
        "{notes}"
    );
}
