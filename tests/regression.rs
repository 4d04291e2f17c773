//! Regression tests: one per defect, named `issue_<N>_<what>`, each saying "See: issue #N".

use serde_json::Value;

use crate::util::{assert_exit, realip, run_with_stdin};

/// `realip scan --output json` over `input` on stdin, with extra arguments.
fn scan_stdin(input: &[u8], args: &[&str]) -> Value {
    let out = run_with_stdin(
        realip().args(["scan", "--output", "json"]).args(args),
        input,
    );
    let stdout = assert_exit(&out, 0);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

const GOOD: &str =
    "203.0.113.7 - - [01/May/2024:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"ua\"";

#[test]
fn issue_10_unloggable_status_and_request_time_make_a_line_malformed() {
    // See: issue #10. nginx prints $status with %03ui and $request_time as seconds with
    // decimals; anything else cannot come from nginx and must not pass as "no status".
    let mut input = String::new();
    for status in ["abc", "0", "2000", "20x"] {
        input.push_str(&GOOD.replace(" 200 ", &format!(" {status} ")));
        input.push('\n');
    }
    input.push_str(&GOOD.replace(" 200 ", " 000 "));
    input.push('\n');
    let v = scan_stdin(input.as_bytes(), &["--log-format", "combined"]);
    assert_eq!(v["lines"], 5);
    assert_eq!(v["parsed"], 1, "{v}");
    assert_eq!(v["malformed"]["count"], 4);
    let reason = v["malformed"]["samples"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("invalid $status value at byte 62"),
        "{reason}"
    );

    let fmt = "$remote_addr [$time_local] $status $request_time";
    let lines = "10.0.0.1 [01/May/2024:10:00:00 +0000] 200 0.005\n\
                 10.0.0.1 [01/May/2024:10:00:00 +0000] 200 fast\n\
                 10.0.0.1 [01/May/2024:10:00:00 +0000] 200 -\n";
    let v = scan_stdin(lines.as_bytes(), &["--log-format", fmt]);
    assert_eq!(v["parsed"], 2, "{v}");
    let reason = v["malformed"]["samples"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("invalid $request_time value"), "{reason}");
}

#[test]
fn issue_10_include_of_a_device_fifo_or_directory_is_refused_before_opening() {
    // See: issue #10. `include /dev/zero;` read until memory ran out; a FIFO blocked forever.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.conf");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    std::fs::create_dir(dir.path().join("conf.d")).unwrap();
    std::fs::create_dir(dir.path().join("globbed")).unwrap();
    std::fs::create_dir(dir.path().join("globbed/x.conf")).unwrap();
    let cases = [
        (
            "include /dev/zero;",
            "/dev/zero: a character device; only regular files",
        ),
        (
            "include fifo.conf;",
            "fifo.conf: a FIFO; only regular files",
        ),
        ("include conf.d;", "conf.d: a directory; only regular files"),
        (
            "include globbed/*.conf;",
            "x.conf: a directory; only regular files",
        ),
    ];
    for (directive, want) in cases {
        let main = dir.path().join("nginx.conf");
        std::fs::write(
            &main,
            format!("events {{}}\nhttp {{\n    {directive}\n}}\n"),
        )
        .unwrap();
        let start = std::time::Instant::now();
        let out = realip()
            .args(["nginx", "check"])
            .arg(&main)
            .output()
            .unwrap();
        assert_exit(&out, 2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("nginx.conf:3:13: include"), "{stderr}");
        assert!(stderr.contains(want), "{directive}: {stderr}");
        assert!(start.elapsed().as_secs() < 30, "{directive} took too long");
    }
}

#[test]
fn issue_10_config_files_over_16_mib_are_refused_with_their_name() {
    // See: issue #10.
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.conf");
    let f = std::fs::File::create(&big).unwrap();
    f.set_len((16 << 20) + 1).unwrap();
    let main = dir.path().join("nginx.conf");
    std::fs::write(&main, "events {}\ninclude big.conf;\n").unwrap();
    let out = realip()
        .args(["nginx", "check"])
        .arg(&main)
        .output()
        .unwrap();
    assert_exit(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("big.conf: 16777217 bytes, larger than 16 MiB"),
        "{stderr}"
    );
    // The main file itself, even as a character device, is read up to the cap only.
    let out = realip()
        .args(["nginx", "check", "/dev/zero"])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/dev/zero: larger than 16 MiB"), "{stderr}");
}

#[test]
fn issue_10_spaces_around_header_values_are_ignored_like_nginx_strips_them() {
    // See: issue #10. nginx's HTTP/1 parser strips spaces (not tabs) around a header value
    // before realip reads it; the nginx oracle (tests/nginx_oracle.rs) now sends values with
    // those spaces and compares. By hand and in batches, the same.
    let resolve = |extra: &[&str], value: &str| {
        let out = realip()
            .args(["resolve", "--trust", "10.0.0.0/8", "--peer", "10.0.0.1"])
            .args(extra)
            .args(["--value", value])
            .output()
            .unwrap();
        assert_exit(&out, 0).trim_end().to_string()
    };
    assert_eq!(resolve(&[], " 203.0.113.7, 10.0.0.1"), "203.0.113.7");
    assert_eq!(
        resolve(&["--no-recursive"], "  203.0.113.7  "),
        "203.0.113.7"
    );
    assert_eq!(
        resolve(&["--header", "X-Real-IP"], " 203.0.113.7"),
        "203.0.113.7"
    );
    assert_eq!(
        resolve(&["--header", "X-Real-IP"], "\t203.0.113.7"),
        "10.0.0.1"
    );
    let out = run_with_stdin(
        realip().args(["resolve", "--trust", "10.0.0.0/8", "--batch"]),
        b"10.0.0.1\t 203.0.113.7, 10.0.0.1\n10.0.0.1\t 198.51.100.1 \t 10.0.0.2 \n",
    );
    assert_eq!(assert_exit(&out, 0), "203.0.113.7\n198.51.100.1\n");
}

#[test]
fn issue_10_a_peer_with_a_zone_id_is_refused_with_that_reason() {
    // See: issue #10.
    let out = realip()
        .args(["resolve", "--trust", "fe80::/10", "--peer", "fe80::1%eth0"])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("zone ids are not supported"), "{stderr}");
    let out = run_with_stdin(
        realip().args(["resolve", "--trust", "fe80::/10", "--batch"]),
        b"fe80::1%eth0\t203.0.113.7\n",
    );
    assert_eq!(assert_exit(&out, 2), "\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 1") && stderr.contains("zone ids are not supported"),
        "{stderr}"
    );
}

#[test]
fn issue_10_nginx_version_is_parsed_the_same_way_by_every_subcommand() {
    // See: issue #10. `1.22` means 1.22.0 everywhere; a bad version is refused by the
    // argument parser with one message, whether or not the value would be used.
    let log = crate::util::fixture("logs/combined.log");
    let log = log.to_str().unwrap();
    let runs: [&[&str]; 3] = [
        &["resolve", "--peer", "10.0.0.1"],
        &["scan", "--output", "json", log],
        &["scan", "--output", "json", "--no-audit", log],
    ];
    for args in runs {
        let out = realip()
            .args(args)
            .args(["--nginx-version", "1.22"])
            .output()
            .unwrap();
        assert_exit(&out, 0);
        for (bad, why) in [
            ("1.x", "expected MAJOR.MINOR.PATCH"),
            ("1.2", "before nginx 1.11.5"),
        ] {
            let out = realip()
                .args(args)
                .args(["--nginx-version", bad])
                .output()
                .unwrap();
            assert_exit(&out, 2);
            let stderr = String::from_utf8_lossy(&out.stderr);
            let want = format!("invalid value '{bad}' for '--nginx-version <V>': unsupported nginx version \"{bad}\": ");
            assert!(
                stderr.contains(&want) && stderr.contains(why),
                "{args:?} {bad}: {stderr}"
            );
        }
    }
}

#[test]
fn issue_10_file_names_that_are_not_utf8_are_accepted() {
    // See: issue #10. The argument parser refused them.
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let name = std::ffi::OsStr::from_bytes(b"access-\xff.log");
    let path = dir.path().join(name);
    std::fs::write(&path, format!("{GOOD}\n")).unwrap();
    let out = realip()
        .args(["scan", "--output", "json", "--log-format", "combined"])
        .arg(&path)
        .output()
        .unwrap();
    let v: Value = serde_json::from_str(&assert_exit(&out, 0)).unwrap();
    assert_eq!(v["parsed"], 1);
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        "events {}\nhttp { set_real_ip_from 10.0.0.0/8; real_ip_header X-Forwarded-For; }\n",
    )
    .unwrap();
    let out = realip()
        .args(["nginx", "check", "--log"])
        .arg(&path)
        .arg(&conf)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("invalid UTF-8"), "{stderr}");
    assert!(out.status.code().is_some_and(|c| c < 2), "{stderr}");
}

#[test]
fn issue_10_group_by_over_max_groups_gives_byte_identical_json_for_every_split() {
    // See: issue #10. Beyond --max-groups, group counts depended on the thread count.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    let mut text = String::new();
    for i in 0..4000u64 {
        // 400 routes, skewed: route k gets about 4000/(k+1) requests.
        let k = (i * 7919) % 400 % (1 + i % 150);
        text.push_str(&format!(
            "10.0.{}.{} - - [01/May/2024:10:00:00 +0000] \"GET /r/x{k}/a HTTP/1.1\" 200 5 \"-\" \"ua\"\n",
            i % 7,
            k % 250
        ));
    }
    std::fs::write(&path, &text).unwrap();
    let run = |extra: &[&str]| {
        let out = realip()
            .args([
                "scan",
                "--output",
                "json",
                "--log-format",
                "combined",
                "--no-audit",
            ])
            .args(["--group-by", "route", "--max-groups", "40", "--top", "15"])
            .args(extra)
            .arg(&path)
            .output()
            .unwrap();
        assert_exit(&out, 0)
    };
    let want = run(&["-j1"]);
    let v: Value = serde_json::from_str(&want).unwrap();
    assert_eq!(v["summary"]["groups_approximate"], true);
    assert!(v["summary"]["max_error"].as_u64().unwrap() > 0);
    for extra in [
        &["-j2"][..],
        &["-j2", "--chunk-bytes", "4096", "--block-bytes", "512"],
        &["-j1", "--chunk-bytes", "1000", "--block-bytes", "300"],
        &["-j3", "--chunk-bytes", "70000", "--block-bytes", "9000"],
    ] {
        crate::eqnice!(want, run(extra));
    }
    // Under the cap, the same log is exact.
    let out = realip()
        .args([
            "scan",
            "--output",
            "json",
            "--log-format",
            "combined",
            "--no-audit",
        ])
        .args(["--group-by", "route", "--max-groups", "1000"])
        .arg(&path)
        .output()
        .unwrap();
    let v: Value = serde_json::from_str(&assert_exit(&out, 0)).unwrap();
    assert_eq!(v["summary"]["groups_approximate"], false);
    assert_eq!(v["summary"]["max_error"], 0);
}

#[test]
fn issue_10_auto_detects_main_and_combined_with_trailing_latencies_and_says_which() {
    // See: issue #10. `combined` + "$http_x_forwarded_for" + $request_time (alp's sample
    // shape) was rejected line by line.
    let base =
        "203.0.113.7 - - [01/May/2024:10:00:00 +0000] \"GET /x HTTP/1.1\" 200 5 \"-\" \"ua\"";
    let cases = [
        (" \"198.51.100.1\" 0.012", "main + $request_time"),
        (
            " \"-\" 0.012 0.010",
            "main + $request_time $upstream_response_time",
        ),
        (" 0.012", "combined + $request_time"),
        (
            " 0.012 0.004, 0.006",
            "combined + $request_time $upstream_response_time",
        ),
        (
            " \"-\" rt=0.012 uct=\"0.001\" uht=\"0.009\" urt=\"0.010\"",
            "main + rt= uct= uht= urt=",
        ),
    ];
    for (tail, variant) in cases {
        let lines: Vec<String> = (0..14).map(|_| format!("{base}{tail}")).collect();
        let refs: Vec<&[u8]> = lines.iter().map(|l| l.as_bytes()).collect();
        let d = realip::logfmt::detect_detailed(&refs).unwrap();
        assert_eq!(d.variant, Some(variant), "{tail}");
        assert_eq!((d.parsed, d.sampled), (14, 14), "{tail}");
        let plan = realip::logfmt::Plan::compile(&d.format).unwrap();
        let mut rec = realip::logfmt::Record::new();
        plan.parse(refs[0], &mut rec).unwrap();
        assert_eq!(rec.request_time_us(), Some(12_000), "{tail}");
    }
    // The built-ins still win on their own lines.
    let refs: Vec<&[u8]> = vec![base.as_bytes(); 5];
    let d = realip::logfmt::detect_detailed(&refs).unwrap();
    assert_eq!((d.format.name(), d.variant), ("combined", None));
}

#[test]
fn issue_10_auto_detection_reads_past_a_first_line_longer_than_the_peek_window() {
    // See: issue #10. A first line over 64 KiB made `--log-format auto` fail, with 100 good
    // lines after it; and a variant log says which variant it is.
    let mut text = format!("{}\n", "x".repeat(100_000));
    for _ in 0..100 {
        text.push_str(&format!("{GOOD} \"-\" 0.250\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    std::fs::write(&path, &text).unwrap();
    let from_file = realip()
        .args(["scan", "--output", "json", "-v"])
        .arg(&path)
        .output()
        .unwrap();
    let from_stdin = run_with_stdin(
        realip().args(["scan", "--output", "json", "-v"]),
        text.as_bytes(),
    );
    for out in [from_file, from_stdin] {
        let stdout = assert_exit(&out, 0);
        let v: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(v["lines"], 101, "{v}");
        assert_eq!(v["parsed"], 100, "{v}");
        assert_eq!(v["malformed"]["samples"][0]["line"], 1);
        assert_eq!(v["summary"]["request_time"]["max"], 0.25);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("log format: main + $request_time"),
            "{stderr}"
        );
    }
}

#[test]
fn issue_10_a_state_path_that_is_a_device_fifo_or_huge_file_is_refused() {
    // See: issue #10 (noticed while fixing it): `--state` read its file whole with no size
    // limit, so a state path pointing at /dev/zero filled memory and a FIFO blocked forever.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::copy(crate::util::fixture("logs/sample.log"), &log).unwrap();
    let zero = dir.path().join("zero.state");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    let fifo = dir.path().join("fifo.state");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let huge = dir.path().join("huge.state");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len((64 << 20) + 1)
        .unwrap();
    for (state, want) in [
        (&zero, "is not a regular file"),
        (&fifo, "is not a regular file"),
        (&huge, "is larger than 64 MiB"),
    ] {
        let out = realip()
            .args(["scan", "-q", "--state"])
            .arg(state)
            .arg(&log)
            .output()
            .unwrap();
        assert_exit(&out, 2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(want), "{}: {stderr}", state.display());
        assert!(
            out.stdout.is_empty(),
            "a report was printed for {}",
            state.display()
        );
    }
}

/// The characters JSON may carry raw but a terminal must not get: C1 controls, bidi controls
/// and the left-to-right / right-to-left marks.
fn terminal_unsafe(c: char) -> bool {
    matches!(c, '\u{80}'..='\u{9F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        | '\u{200E}' | '\u{200F}')
}

/// Asserts `bytes` is JSON with no raw terminal-unsafe character, and returns it parsed.
fn safe_json(what: &str, bytes: &[u8]) -> Value {
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
    let raw: Vec<char> = text.chars().filter(|&c| terminal_unsafe(c)).collect();
    assert!(raw.is_empty(), "{what} has raw {raw:?}: {text}");
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what}: {e}: {text}"))
}

#[test]
fn issue_12_json_output_escapes_bidi_and_c1_controls_and_parses_to_the_same_strings() {
    // See: issue #12 (noticed in #10): JSON kept bidi and C1 controls raw, so `cat report.json`
    // on a terminal could reorder or recolour what it shows. They are \uXXXX escapes now, in
    // every JSON realip writes, and the JSON still parses to the very same strings.
    let route = "/a\u{202E}b\u{85}c\u{200E}d\u{2066}e\u{9B}31m";
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let line = GOOD.replace("GET / ", &format!("GET {route} "));
    std::fs::write(&log, format!("{line}\n{line}\n")).unwrap();
    let state = dir.path().join("scan.state");
    let out = realip()
        .args(["scan", "-q", "--output", "json", "--log-format", "combined"])
        .args(["--group-by", "route", "--state"])
        .arg(&state)
        .arg(&log)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    let v = safe_json("scan --output json", &out.stdout);
    assert_eq!(v["summary"]["groups"][0]["key"], route, "{v}");
    let state_json = safe_json("the --state file", &std::fs::read(&state).unwrap());
    assert_eq!(
        state_json["totals"]["groups"][route]["requests"], 2,
        "{state_json}"
    );

    let report = dir.path().join("report.json");
    std::fs::write(&report, &out.stdout).unwrap();
    let merged = realip()
        .args(["merge", "--output", "json"])
        .arg(&report)
        .arg(&report)
        .output()
        .unwrap();
    assert_exit(&merged, 0);
    let m = safe_json("merge --output json", &merged.stdout);
    assert_eq!(m["summary"]["groups"][0]["key"], route, "{m}");
    assert_eq!(m["summary"]["groups"][0]["requests"], 4, "{m}");

    let diff = realip()
        .args(["diff", "--output", "json"])
        .arg(&report)
        .arg(&report)
        .output()
        .unwrap();
    assert_exit(&diff, 0);
    let d = safe_json("diff --output json", &diff.stdout);
    assert_eq!(d["rows"][0]["key"], route, "{d}");

    // A config argument with a bidi control comes back in a finding's `remove` line.
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        "events {}\nhttp { set_real_ip_from 10.0.0.1\u{202E}; real_ip_header X-Forwarded-For; \
         server { listen 80; } }\n",
    )
    .unwrap();
    let check = realip()
        .args(["nginx", "check", "--output", "json"])
        .arg(&conf)
        .output()
        .unwrap();
    let findings = safe_json("nginx check --output json", &check.stdout);
    assert!(
        findings
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["remove"] == "set_real_ip_from 10.0.0.1\u{202E};"),
        "{findings}"
    );
}
