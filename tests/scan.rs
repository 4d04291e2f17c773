//! `realip scan` end to end: the JSON contract, inputs of every kind, parallel equivalence,
//! percentiles against brute force, and the machine output formats.

use std::io::Write;

use serde_json::Value;

use crate::util::{assert_exit, fixture, realip, run_with_stdin};

fn scan_json(args: &[&str]) -> (Value, String, i32) {
    let out = realip()
        .arg("scan")
        .args(["--output", "json"])
        .args(args)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (v, String::from_utf8_lossy(&out.stderr).into_owned(), code)
}

fn log(name: &str) -> String {
    fixture(&format!("logs/{name}")).display().to_string()
}

/// A combined-format line with the given status, path, user agent and request time.
fn line(i: usize, status: u16, path: &str, ua: &str) -> String {
    format!(
        "203.0.113.{} - - [01/May/2024:10:{:02}:{:02} +0000] \"GET {path} HTTP/1.1\" {status} {} \"-\" \"{ua}\"\n",
        i % 250 + 1,
        i / 60 % 60,
        i % 60,
        i * 10
    )
}

#[test]
fn json_contract_has_the_documented_keys() {
    let (v, _, code) = scan_json(&[&log("combined.log")]);
    assert_eq!(code, 0);
    assert_eq!(v["lines"], 30);
    assert_eq!(v["parsed"], 28);
    assert_eq!(v["malformed"]["count"], 2);
    let samples = v["malformed"]["samples"].as_array().unwrap();
    let lines: Vec<u64> = samples
        .iter()
        .map(|s| s["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [10, 21]);
    assert!(samples[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("combined.log"));
    assert!(!samples[0]["reason"].as_str().unwrap().is_empty());
    let s = &v["summary"];
    assert_eq!(s["requests"], 28);
    for k in ["1xx", "2xx", "3xx", "4xx", "5xx", "499"] {
        assert!(s["status_class"][k].is_u64(), "status_class.{k}");
    }
    assert_eq!(s["status"]["200"], 13);
    for t in ["request_time", "upstream_response_time"] {
        for k in [
            "count", "min", "mean", "max", "p50", "p75", "p90", "p95", "p99", "p999",
        ] {
            assert!(s[t].get(k).is_some(), "{t}.{k}");
        }
    }
    assert!(s["groups"].is_array());
}

#[test]
fn every_sample_format_is_detected_and_counted_exactly() {
    // (file, format, lines, parsed)
    let cases = [
        ("combined.log", "combined", 30, 28),
        ("main.log", "main", 32, 29),
        ("ltsv.log", "ltsv", 26, 24),
        ("json.log", "json", 27, 24),
    ];
    for (file, format, lines, parsed) in cases {
        let (v, err, code) = scan_json(&["-v", &log(file)]);
        assert_eq!(code, 0, "{file}: {err}");
        assert_eq!(v["format"]["name"], format, "{file}");
        assert_eq!(v["format"]["detected"], true);
        assert_eq!(
            (v["lines"].as_u64(), v["parsed"].as_u64()),
            (Some(lines), Some(parsed)),
            "{file}"
        );
        assert_eq!(
            v["malformed"]["count"].as_u64(),
            Some(lines - parsed),
            "{file}"
        );
        assert!(
            err.contains(&format!("log format: {format} (detected")),
            "{err}"
        );
    }
}

#[test]
fn a_custom_log_format_template_is_used_as_given() {
    let template = std::fs::read_to_string(fixture("logs/custom.format")).unwrap();
    let (v, err, code) = scan_json(&["--log-format", template.trim_end(), &log("custom.log")]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["format"]["name"], "custom");
    assert!(v["parsed"].as_u64().unwrap() > 0);
    assert_eq!(
        v["lines"].as_u64().unwrap() - v["parsed"].as_u64().unwrap(),
        v["malformed"]["count"].as_u64().unwrap()
    );
}

#[test]
fn gzip_multi_member_and_plain_give_the_same_summary() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..500)
        .map(|i| line(i, [200, 404, 502][i % 3], "/a", "ua"))
        .collect();
    let plain = dir.path().join("access.log");
    std::fs::write(&plain, &text).unwrap();
    // Two gzip members, as `cat a.gz b.gz` makes; the name has no .gz on purpose.
    let (first, _) = text.split_at(text.len() / 2);
    let first = &first[..first.rfind('\n').unwrap() + 1];
    let mut bytes = Vec::new();
    for part in [first, &text[first.len()..]] {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(part.as_bytes()).unwrap();
        bytes.extend(gz.finish().unwrap());
    }
    let gz = dir.path().join("access.log.1");
    std::fs::write(&gz, &bytes).unwrap();
    let (a, _, ca) = scan_json(&[plain.to_str().unwrap()]);
    let (b, _, cb) = scan_json(&[gz.to_str().unwrap()]);
    assert_eq!((ca, cb), (0, 0));
    assert_eq!(a["lines"], 500);
    assert_eq!(a["summary"], b["summary"]);
    // Both at once: counts add up.
    let (c, _, _) = scan_json(&[plain.to_str().unwrap(), gz.to_str().unwrap()]);
    assert_eq!(c["lines"], 1000);
    assert_eq!(
        c["summary"]["status"]["404"],
        2 * a["summary"]["status"]["404"].as_u64().unwrap()
    );
}

#[test]
fn a_truncated_gzip_keeps_its_good_lines_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..2000).map(|i| line(i, 200, "/a", "ua")).collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(text.as_bytes()).unwrap();
    let bytes = gz.finish().unwrap();
    let cut = dir.path().join("cut.log.gz");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let (v, err, code) = scan_json(&[cut.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    let parsed = v["parsed"].as_u64().unwrap();
    assert!(parsed > 100 && parsed < 2000, "parsed {parsed}");
    assert_eq!(v["errors"].as_array().unwrap().len(), 1);
    assert!(err.contains("cut.log.gz"), "{err}");
}

#[test]
fn stdin_globs_empty_files_and_missing_files() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (0..10).map(|i| line(i, 200, "/a", "ua")).collect();
    for n in ["a.log", "b.log"] {
        std::fs::write(dir.path().join(n), &text).unwrap();
    }
    std::fs::write(dir.path().join("empty.log"), "").unwrap();
    let glob = format!("{}/*.log", dir.path().display());
    let (v, _, code) = scan_json(&["--log-format", "combined", &glob]);
    assert_eq!(code, 0);
    assert_eq!(v["lines"], 20);
    assert_eq!(v["inputs"].as_array().unwrap().len(), 3);

    let out = run_with_stdin(
        realip().args(["scan", "--output", "json", "-"]),
        text.as_bytes(),
    );
    let v: Value = serde_json::from_str(&assert_exit(&out, 0)).unwrap();
    assert_eq!(v["lines"], 10);

    let empty = dir.path().join("empty.log");
    let (v, _, code) = scan_json(&[empty.to_str().unwrap()]);
    assert_eq!((v["lines"].as_u64(), code), (Some(0), 0));

    let missing = dir.path().join("nope.log");
    let a = dir.path().join("a.log");
    let (v, err, code) = scan_json(&[missing.to_str().unwrap(), a.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(v["lines"], 10, "the readable file is still scanned");
    assert!(err.contains("nope.log"), "{err}");
}

#[test]
fn crlf_invalid_utf8_and_long_lines_are_handled() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = Vec::new();
    bytes.extend(line(1, 200, "/crlf", "ua").replace('\n', "\r\n").as_bytes());
    bytes.extend(
        line(2, 200, "/bad-\u{fffd}", "ua\u{1}")
            .as_bytes()
            .iter()
            .map(|&b| if b == 0xbd { 0xff } else { b }),
    );
    let big_ua = "x".repeat(1 << 20);
    bytes.extend(line(3, 200, "/mib", &big_ua).as_bytes());
    let huge_ua = "y".repeat(5 << 20);
    bytes.extend(line(4, 200, "/huge", &huge_ua).as_bytes());
    bytes.extend(line(5, 404, "/after", "ua").as_bytes());
    bytes.extend(b"no newline at the end");
    let f = dir.path().join("mixed.log");
    std::fs::write(&f, &bytes).unwrap();
    for block in ["1048576", "4096"] {
        let (v, _, code) = scan_json(&[
            "--log-format",
            "combined",
            "--block-bytes",
            block,
            f.to_str().unwrap(),
        ]);
        assert_eq!(code, 0);
        assert_eq!(v["lines"], 6, "block {block}");
        assert_eq!(v["parsed"], 4, "block {block}");
        let samples = v["malformed"]["samples"].as_array().unwrap();
        let got: Vec<(u64, bool)> = samples
            .iter()
            .map(|s| {
                (
                    s["line"].as_u64().unwrap(),
                    s["reason"].as_str().unwrap().contains("longer than"),
                )
            })
            .collect();
        assert_eq!(got, [(4, true), (6, false)], "block {block}");
        assert_eq!(v["summary"]["status"]["404"], 1);
    }
}

#[test]
fn any_split_among_workers_gives_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..3000 {
        if i % 97 == 0 {
            text.push_str("garbage line\n");
        } else {
            text.push_str(&line(
                i,
                [200, 301, 404, 499, 500][i % 5],
                &format!("/u/{}", i % 40),
                "ua",
            ));
        }
    }
    let f = dir.path().join("a.log");
    std::fs::write(&f, &text).unwrap();
    let f = f.to_str().unwrap();
    let base = [
        "--log-format",
        "combined",
        "--group-by",
        "route",
        "--samples",
        "50",
    ];
    let (one, _, _) = scan_json(&[&base[..], &["-j", "1", f]].concat());
    for (j, chunk, block) in [
        ("2", "1000", "300"),
        ("2", "64", "64"),
        ("1", "7919", "4096"),
    ] {
        let (many, _, _) = scan_json(
            &[
                &base[..],
                &["-j", j, "--chunk-bytes", chunk, "--block-bytes", block, f],
            ]
            .concat(),
        );
        assert_eq!(one, many, "-j {j} chunk {chunk} block {block}");
    }
    let lines: Vec<u64> = one["malformed"]["samples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["line"].as_u64().unwrap())
        .collect();
    let expected: Vec<u64> = (0..3000).filter(|i| i % 97 == 0).map(|i| i + 1).collect();
    assert_eq!(lines, expected);
}

#[test]
fn percentiles_agree_with_brute_force() {
    let dir = tempfile::tempdir().unwrap();
    let mut times: Vec<u64> = (0..5000u64)
        .map(|i| (i * 7919 + 13) % 2_500_000 / 1000 * 1000 + 1000)
        .collect();
    let text: String = times
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{} 200 {}.{:03}\n", i, t / 1_000_000, t / 1000 % 1000))
        .collect();
    let f = dir.path().join("t.log");
    std::fs::write(&f, text).unwrap();
    let (v, _, code) = scan_json(&[
        "--log-format",
        "$connection $status $request_time",
        "--percentiles",
        "50,90,99,99.9",
        f.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    times.sort_unstable();
    let rt = &v["summary"]["request_time"];
    for (p, key) in [(50.0, "p50"), (90.0, "p90"), (99.0, "p99"), (99.9, "p999")] {
        let rank = ((p / 100.0) * times.len() as f64).ceil() as usize;
        let exact = times[rank - 1] as f64 / 1e6;
        let got = rt[key].as_f64().unwrap();
        assert!(
            (got - exact).abs() <= exact * 0.001,
            "{key}: {got} vs {exact}"
        );
    }
    assert_eq!(rt["min"].as_f64().unwrap(), times[0] as f64 / 1e6);
    assert_eq!(
        rt["max"].as_f64().unwrap(),
        *times.last().unwrap() as f64 / 1e6
    );
    assert!(rt.get("p75").is_none());
}

#[test]
fn group_by_route_folds_ids_and_keeps_top_n() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..100 {
        text.push_str(&line(i, 200, &format!("/users/{i}"), "ua"));
    }
    for i in 0..30 {
        text.push_str(&line(i, 404, "/static/app.js", "ua"));
    }
    for i in 0..5 {
        text.push_str(&line(i, 200, &format!("/r{i}"), "ua"));
    }
    let f = dir.path().join("a.log");
    std::fs::write(&f, text).unwrap();
    let (v, _, _) = scan_json(&[
        "--log-format",
        "combined",
        "--group-by",
        "route",
        "--top",
        "2",
        f.to_str().unwrap(),
    ]);
    let groups: Vec<(String, u64)> = v["summary"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap().to_string(),
                g["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            ("/users/{id}".to_string(), 100),
            ("/static/app.js".to_string(), 30),
            ("others".to_string(), 5)
        ]
    );
}

#[test]
fn machine_outputs_are_well_formed() {
    let f = log("ltsv.log");
    let prom = assert_exit(
        &realip()
            .args(["scan", "--output", "prometheus", &f])
            .output()
            .unwrap(),
        0,
    );
    assert!(
        prom.contains("# TYPE realip_requests_total counter"),
        "{prom}"
    );
    assert!(
        prom.contains("realip_requests_total{status=\"200\"} "),
        "{prom}"
    );
    assert!(
        prom.contains("realip_request_time_seconds_bucket{le=\"+Inf\"} "),
        "{prom}"
    );
    for l in prom.lines().filter(|l| !l.starts_with('#')) {
        assert_eq!(l.split(' ').count(), 2, "{l}");
    }
    let mk = assert_exit(
        &realip()
            .args(["scan", "--output", "mackerel", &f])
            .output()
            .unwrap(),
        0,
    );
    for l in mk.lines() {
        let parts: Vec<&str> = l.split('\t').collect();
        assert_eq!(parts.len(), 3, "{l}");
        assert!(parts[2].parse::<u64>().unwrap() > 1_700_000_000);
    }
    assert!(mk.contains("realip.request_time.p99\t"), "{mk}");
    let tsv = assert_exit(
        &realip()
            .args(["scan", "--output", "tsv", &f])
            .output()
            .unwrap(),
        0,
    );
    let mut rows = tsv.lines();
    let header: Vec<&str> = rows.next().unwrap().split('\t').collect();
    assert_eq!(&header[..3], ["key", "requests", "1xx"]);
    for r in rows {
        assert_eq!(r.split('\t').count(), header.len(), "{r}");
    }
}

#[test]
fn table_output_escapes_text_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let text = line(1, 200, "/evil\u{1b}[31m\u{202e}", "ua");
    let f = dir.path().join("a.log");
    std::fs::write(&f, text).unwrap();
    let out = realip()
        .args([
            "scan",
            "--output",
            "table",
            "--log-format",
            "combined",
            "--group-by",
            "route",
        ])
        .arg(&f)
        .output()
        .unwrap();
    let t = assert_exit(&out, 0);
    assert!(!t.contains('\u{1b}') && !t.contains('\u{202e}'), "{t}");
    assert!(t.contains("/evil\\u{001B}[31m\\u{202E}"), "{t}");
}

#[test]
fn a_log_that_matches_no_format_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("a.log");
    std::fs::write(&f, "this is not\nan access log\n").unwrap();
    let out = realip()
        .args(["scan", "--output", "json"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("this is not"), "{err}");
    let out = realip()
        .args(["scan", "--output", "json", "--log-format", "combined"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no line matched"));
}

#[test]
fn readme_main_command_matches_the_golden_output() {
    // README's first set-up command; keep them in sync.
    let readme = std::fs::read_to_string(fixture("../README.md")).unwrap();
    let command = "cargo run --release -q -- scan --group-by route testdata/logs/sample.log";
    assert!(
        readme.contains(command),
        "README no longer shows: {command}"
    );
    // Run it as the README does: from the repository, with the relative path.
    let out = realip()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["scan", "--output", "json"])
        .args(["--group-by", "route", "testdata/logs/sample.log"])
        .output()
        .unwrap();
    let got: Value = serde_json::from_str(&assert_exit(&out, 0)).unwrap();
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("expected/scan-sample.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(expected, got);
    assert_eq!(got["lines"], 2000);
    assert_eq!(got["malformed"]["count"], 0);
    assert_eq!(got["format"]["name"], "realip");
    // The story the README tells, with nothing declared: nginx trusts 34.120.5.6, forgot
    // 34.149.9.9 (49 lines), and the fix. See: issue #8.
    let a = &got["audit"];
    assert_eq!(a["trust_source"], "inferred");
    assert_eq!(
        a["suggested_set_real_ip_from"],
        serde_json::json!(["34.149.9.9"])
    );
    assert_eq!(a["unresolved_lb_ips"][0]["ip"], "34.149.9.9");
    assert_eq!(a["unresolved_lb_ips"][0]["lines"], 49);
    assert_eq!(a["misresolved"], 49);
    assert_eq!(a["trusted_lb_ips"][0]["ip"], "34.120.5.6");
    assert_eq!(a["trusted_lb_ips"][0]["lines"], 1688);
}
