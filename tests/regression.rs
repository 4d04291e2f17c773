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

const GOOD: &str = "203.0.113.7 - - [01/May/2024:10:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"ua\"";

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
    assert!(reason.contains("invalid $status value at byte 62"), "{reason}");

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
        ("include /dev/zero;", "/dev/zero: a character device; only regular files"),
        ("include fifo.conf;", "fifo.conf: a FIFO; only regular files"),
        ("include conf.d;", "conf.d: a directory; only regular files"),
        ("include globbed/*.conf;", "x.conf: a directory; only regular files"),
    ];
    for (directive, want) in cases {
        let main = dir.path().join("nginx.conf");
        std::fs::write(&main, format!("events {{}}\nhttp {{\n    {directive}\n}}\n")).unwrap();
        let start = std::time::Instant::now();
        let out = realip().args(["nginx", "check"]).arg(&main).output().unwrap();
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
    let out = realip().args(["nginx", "check"]).arg(&main).output().unwrap();
    assert_exit(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("big.conf: 16777217 bytes, larger than 16 MiB"), "{stderr}");
    // The main file itself, even as a character device, is read up to the cap only.
    let out = realip().args(["nginx", "check", "/dev/zero"]).output().unwrap();
    assert_exit(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/dev/zero: larger than 16 MiB"), "{stderr}");
}
