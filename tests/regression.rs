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
