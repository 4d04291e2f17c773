//! The `realip` command line: help, single and batch modes, errors and exit codes.

use crate::eqnice;
use crate::util::{assert_exit, fixture, realip, run_with_stdin};

#[test]
fn resolve_prints_the_client_behind_a_gcp_load_balancer() {
    let out = realip()
        .args([
            "resolve",
            "--trust",
            "gcp",
            "--trust",
            "34.120.5.6",
            "--peer",
            "35.191.10.20",
        ])
        .args(["--value", "203.0.113.7, 34.120.5.6"])
        .output()
        .unwrap();
    eqnice!("203.0.113.7\n", assert_exit(&out, 0));
}

#[test]
fn resolve_without_the_lb_ip_yields_the_lb_ip() {
    let out = realip()
        .args(["resolve", "--trust", "gcp", "--peer", "35.191.10.20"])
        .args(["--value", "203.0.113.7, 34.120.5.6"])
        .output()
        .unwrap();
    eqnice!("34.120.5.6\n", assert_exit(&out, 0));
}

#[test]
fn resolve_no_recursive_takes_the_rightmost_address() {
    let out = realip()
        .args([
            "resolve",
            "--trust",
            "gcp,34.120.5.6",
            "--no-recursive",
            "--peer",
            "35.191.10.20",
        ])
        .args(["--value", "203.0.113.7, 34.120.5.6"])
        .output()
        .unwrap();
    eqnice!("34.120.5.6\n", assert_exit(&out, 0));
}

#[test]
fn resolve_values_are_header_lines_in_arrival_order() {
    // Two XFF lines: the last one is walked first.
    let out = realip()
        .args(["resolve", "--trust", "10.0.0.0/8", "--peer", "10.0.0.1"])
        .args(["--value", "192.0.2.1", "--value", "10.0.0.2"])
        .output()
        .unwrap();
    eqnice!("192.0.2.1\n", assert_exit(&out, 0));
    // Any other header reads its first line only.
    let out = realip()
        .args([
            "resolve",
            "--trust",
            "10.0.0.0/8",
            "--header",
            "True-Client-IP",
        ])
        .args([
            "--peer",
            "10.0.0.1",
            "--value",
            "192.0.2.1",
            "--value",
            "192.0.2.2",
        ])
        .output()
        .unwrap();
    eqnice!("192.0.2.1\n", assert_exit(&out, 0));
}

#[test]
fn nginx_version_selects_the_bracket_rule() {
    let run = |v: Option<&str>| {
        let mut cmd = realip();
        cmd.args(["resolve", "--trust", "127.0.0.1", "--peer", "127.0.0.1"]);
        cmd.args(["--value", "[2001:db8::1]"]);
        if let Some(v) = v {
            cmd.args(["--nginx-version", v]);
        }
        assert_exit(&cmd.output().unwrap(), 0)
    };
    eqnice!("2001:db8::1\n", run(None));
    eqnice!("2001:db8::1\n", run(Some("1.27.3")));
    eqnice!("127.0.0.1\n", run(Some("1.22.1")));
    let out = realip()
        .args(["resolve", "--nginx-version", "1.9.0", "--peer", "127.0.0.1"])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("1.11.5"));
}

#[test]
fn explain_shows_each_step_and_the_rule_that_trusted_it() {
    let out = realip()
        .args([
            "resolve",
            "--trust",
            "gcp",
            "--trust",
            "34.120.5.6",
            "--peer",
            "35.191.10.20",
        ])
        .args([
            "--value",
            "198.51.100.66, 203.0.113.7, 34.120.5.6",
            "--explain",
        ])
        .output()
        .unwrap();
    let text = assert_exit(&out, 0);
    let expected = "\
header X-Forwarded-For (every line, last first), real_ip_recursive on, 1 line(s) sent
  peer 35.191.10.20: trusted by 35.191.0.0/16 (preset gcp)
  take line 1 bytes 28..38 \"34.120.5.6\" -> 34.120.5.6
  check 34.120.5.6: trusted by 34.120.5.6/32 (--trust 34.120.5.6)
  take line 1 bytes 15..26 \"203.0.113.7\" -> 203.0.113.7
  check 203.0.113.7: not trusted
  => first untrusted address from the right
$remote_addr = 203.0.113.7  $remote_port = empty
";
    eqnice!(expected, text);
}

#[test]
fn explain_escapes_hostile_header_bytes() {
    let out = realip()
        .args(["resolve", "--trust", "127.0.0.1", "--peer", "127.0.0.1"])
        .args(["--value", "\u{1b}[31mevil\u{202e}", "--explain"])
        .output()
        .unwrap();
    let text = assert_exit(&out, 0);
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{202e}'),
        "{text}"
    );
    assert!(text.contains("\\u{001B}[31mevil\\u{202E}"), "{text}");
}

#[test]
fn batch_on_the_sample_matches_the_golden_output() {
    // README shows this command; keep them in sync.
    let readme = std::fs::read_to_string(fixture("../README.md")).unwrap();
    let command = "cargo run --release -q -- resolve --trust gcp --trust 34.120.5.6 --batch < testdata/batch/requests.tsv";
    assert!(
        readme.contains(command),
        "README no longer shows: {command}"
    );

    let input = std::fs::read(fixture("batch/requests.tsv")).unwrap();
    let expected = std::fs::read_to_string(fixture("expected/resolve-batch.txt")).unwrap();
    let out = run_with_stdin(
        realip().args([
            "resolve",
            "--trust",
            "gcp",
            "--trust",
            "34.120.5.6",
            "--batch",
        ]),
        &input,
    );
    eqnice!(expected, assert_exit(&out, 0));
}

#[test]
fn batch_reports_bad_lines_with_their_number_and_keeps_alignment() {
    let input = b"35.191.10.20\t203.0.113.7, 34.120.5.6\nnot-an-ip\t1.2.3.4\n\xff\xfe\n127.0.0.1\n";
    let out = run_with_stdin(
        realip().args(["resolve", "--trust", "gcp,34.120.5.6", "--batch"]),
        input,
    );
    eqnice!("203.0.113.7\n\n\n127.0.0.1\n", assert_exit(&out, 2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("stdin: line 2: bad peer: invalid address \"not-an-ip\""),
        "{err}"
    );
    assert!(
        err.contains("stdin: line 3: bad peer: invalid address \"\\xFF\\xFE\""),
        "{err}"
    );
    assert!(err.contains("2 of 4 input lines were malformed"), "{err}");
}

#[test]
fn batch_handles_crlf_empty_input_and_a_missing_final_newline() {
    let out = run_with_stdin(
        realip().args(["resolve", "--trust", "127.0.0.1", "--batch"]),
        b"127.0.0.1\t192.0.2.1\r\n127.0.0.1\t192.0.2.2",
    );
    eqnice!("192.0.2.1\n192.0.2.2\n", assert_exit(&out, 0));
    let out = run_with_stdin(
        realip().args(["resolve", "--trust", "127.0.0.1", "--batch"]),
        b"",
    );
    eqnice!("", assert_exit(&out, 0));
}

#[test]
fn batch_rejects_overlong_lines_without_dying() {
    let mut input = b"127.0.0.1\t".to_vec();
    input.extend(std::iter::repeat_n(b'1', 2 << 20));
    input.extend_from_slice(b"\n127.0.0.1\t192.0.2.9\n");
    let out = run_with_stdin(
        realip().args([
            "resolve",
            "--trust",
            "127.0.0.1",
            "--batch",
            "--max-line-bytes",
            "1048576",
        ]),
        &input,
    );
    eqnice!("\n192.0.2.9\n", assert_exit(&out, 2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1: 2097162 bytes, longer than"));
}

#[test]
fn resolve_help_shows_examples_and_exit_codes() {
    let out = realip().args(["resolve", "--help"]).output().unwrap();
    let help = assert_exit(&out, 0);
    assert!(help.contains("Examples:"), "{help}");
    assert!(help.contains("--trust gcp --trust 34.120.5.6"), "{help}");
    assert!(help.contains("Exit codes:"), "{help}");
}

#[test]
fn usage_errors_exit_2_with_a_clear_message() {
    let cases: &[(&[&str], &str)] = &[
        (&["resolve"], "--peer"),
        (
            &["resolve", "--peer", "1.2.3.4", "--batch"],
            "cannot be used with",
        ),
        (
            &["resolve", "--trust", "10.0.0.0/33", "--peer", "1.2.3.4"],
            "\"10.0.0.0/33\"",
        ),
        (
            &["resolve", "--trust", "gpc", "--peer", "1.2.3.4"],
            "presets: gcp, cloudflare",
        ),
        (
            &["resolve", "--peer", "1.2.3.4:80"],
            "invalid address \"1.2.3.4:80\"",
        ),
        (
            &["resolve", "--header", "X Bad", "--peer", "1.2.3.4"],
            "not a valid HTTP header name",
        ),
    ];
    for (args, needle) in cases {
        let out = realip().args(*args).output().unwrap();
        assert_exit(&out, 2);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn a_closed_stdout_is_a_quiet_success() {
    use std::io::Write;
    use std::process::Stdio;
    let line = b"35.191.10.20\t203.0.113.7, 34.120.5.6\n".repeat(200_000);
    let mut child = realip()
        .args(["resolve", "--trust", "gcp,34.120.5.6", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&line);
    });
    drop(child.stdout.take()); // the reader goes away, like `| head -0`
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn nginx_conf_drives_resolve_and_scan() {
    let conf = fixture("nginx/gcp.conf");
    let conf = conf.to_str().unwrap();
    let out = realip()
        .args(["resolve", "--nginx-conf", conf, "--peer", "35.191.10.20"])
        .args(["--value", "203.0.113.7, 34.120.5.6"])
        .output()
        .unwrap();
    eqnice!("203.0.113.7\n", assert_exit(&out, 0));
    // --nginx-conf replaces the flags it would contradict.
    let out = realip()
        .args([
            "resolve",
            "--nginx-conf",
            conf,
            "--trust",
            "gcp",
            "--peer",
            "1.2.3.4",
        ])
        .output()
        .unwrap();
    assert_exit(&out, 2);

    let log = fixture("logs/sample.log");
    let out = realip()
        .args(["scan", "--output", "json", "--nginx-conf", conf])
        .arg(&log)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&assert_exit(&out, 0)).unwrap();
    assert_eq!(
        v["audit"]["suggested_set_real_ip_from"],
        serde_json::json!(["34.149.9.9"])
    );
    assert_eq!(v["audit"]["header"], "X-Forwarded-For");
}

#[test]
fn snippet_loads_published_range_files_and_refuses_google_lists() {
    let aws = fixture("ranges/aws-ip-ranges.json");
    let out = realip()
        .args([
            "nginx",
            "snippet",
            "--service",
            "CLOUDFRONT_ORIGIN_FACING",
            "--ranges-file",
        ])
        .arg(&aws)
        .output()
        .unwrap();
    let text = assert_exit(&out, 0);
    assert!(text.contains("service CLOUDFRONT_ORIGIN_FACING"), "{text}");
    assert!(text.contains("set_real_ip_from 15.158.0.0/16;"), "{text}");
    let out = realip()
        .args(["nginx", "snippet", "--ranges-file"])
        .arg(fixture("ranges/cloud.json"))
        .output()
        .unwrap();
    assert_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to trust"));
}
