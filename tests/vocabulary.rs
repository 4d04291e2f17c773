//! One CLI vocabulary across subcommands (issue #12): the same flag names for the same
//! concepts, one default shown per flag, and flag combinations that would silently do nothing
//! refused with a message that says what to do.

use crate::util::{assert_exit, fixture, realip};

fn sample() -> String {
    fixture("logs/sample.log").display().to_string()
}

#[test]
fn scan_check_with_output_but_no_output_file_is_refused_as_unknown() {
    let out = realip()
        .args(["scan", "--check", "-o", "json"])
        .arg(sample())
        .output()
        .unwrap();
    let stdout = assert_exit(&out, 3);
    assert!(stdout.starts_with("REALIP UNKNOWN:"), "{stdout}");
    assert!(
        stdout.contains("--output needs --output-file"),
        "the status line says what to do: {stdout}"
    );
}

#[test]
fn scan_check_with_output_and_output_file_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("realip.prom");
    let out = realip()
        .args(["scan", "--check", "-o", "prometheus", "--output-file"])
        .arg(&file)
        .arg(sample())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("REALIP "), "{stdout}");
    assert!(!stdout.starts_with("REALIP UNKNOWN"), "{stdout}");
    assert!(file.exists(), "the report went to the file");
}

#[test]
fn threads_help_shows_one_default() {
    let out = realip().args(["scan", "--help"]).output().unwrap();
    let help = assert_exit(&out, 0);
    let j = help
        .lines()
        .skip_while(|l| !l.contains("--threads"))
        .take(3)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(j.contains("[default: one per core]"), "{j}");
    assert!(!j.contains("[default: 0]"), "two defaults shown: {j}");
}

#[test]
fn nginx_check_takes_trust_like_every_other_subcommand_and_lb_ip_as_its_alias() {
    let conf = fixture("nginx/bad-realip.conf").display().to_string();
    let run = |flag: &str| {
        let out = realip()
            .args([
                "nginx",
                "check",
                flag,
                "34.120.5.6",
                "--output",
                "json",
                &conf,
            ])
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code_trust, trust) = run("--trust");
    let (code_alias, alias) = run("--lb-ip");
    assert_eq!(code_trust, code_alias);
    assert_eq!(trust, alias);
    assert!(trust.contains("lb-ip-missing"), "{trust}");
}

#[test]
fn recursive_and_no_recursive_exist_wherever_a_resolver_is_built_and_the_last_one_wins() {
    for cmd in [
        &["scan", "--trust", "gcp", "-o", "json"][..],
        &["nginx", "snippet", "--trust", "gcp"][..],
    ] {
        for (flags, want_on) in [
            (&["--recursive"][..], true),
            (&["--no-recursive"][..], false),
            (&["--no-recursive", "--recursive"][..], true),
            (&["--recursive", "--no-recursive"][..], false),
        ] {
            let mut c = realip();
            c.args(cmd).args(flags);
            if cmd[0] == "scan" {
                c.arg(sample());
            }
            let out = c.output().unwrap();
            let stdout = assert_exit(&out, 0);
            let on = if cmd[0] == "scan" {
                let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
                v["audit"]["recursive"].as_bool().unwrap()
            } else {
                stdout.contains("real_ip_recursive on;")
            };
            assert_eq!(on, want_on, "{cmd:?} {flags:?}");
        }
    }
}
