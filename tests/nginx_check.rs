//! `realip nginx check` and `realip nginx snippet` end to end, and the realip settings the
//! library extracts from real configuration text (inheritance cases from the reference).
//!
//! Golden outputs live in `testdata/nginx/expected/`; regenerate them with
//! `REALIP_BLESS=1 cargo test nginx_check` and review the diff like code.

use std::path::Path;
use std::process::Output;

use realip::nginx::lint::RULES;
use realip::nginx::realip::effective;
use realip::{Addr, TrustedSet};
use serde_json::Value;

use crate::eqnice;
use crate::util::{assert_exit, fixture, realip};

/// Runs `realip ARGS…` from the package root, so paths in the output are relative.
fn run(args: &[&str]) -> Output {
    realip()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("run realip")
}

/// Compares `got` with the golden file `testdata/nginx/expected/NAME` (rewrites it with
/// `REALIP_BLESS=1`).
fn golden(name: &str, got: &str) {
    let path = fixture(&format!("nginx/expected/{name}"));
    if std::env::var_os("REALIP_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with REALIP_BLESS=1)", path.display()));
    eqnice!(expected, got);
}

/// `(id, line)` of each finding in a JSON report.
fn ids_and_lines(json: &str) -> Vec<(String, u64)> {
    let v: Value = serde_json::from_str(json).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn json_check(args: &[&str], code: i32) -> String {
    let mut all = vec!["nginx", "check", "--output", "json"];
    all.extend_from_slice(args);
    assert_exit(&run(&all), code)
}

#[test]
fn every_rule_fires_on_bad_realip_conf_at_its_line() {
    let got = ids_and_lines(&json_check(&["testdata/nginx/bad-realip.conf"], 2));
    let want: Vec<(String, u64)> = [
        ("header-case", 16),
        ("recursive-off-behind-proxies", 18),
        ("gcp-ranges-incomplete", 21),
        ("shadowed-trust", 23),
        ("hostname-in-trust", 25),
        ("host-bits-set", 27),
        ("duplicate-trust", 30),
        ("never-matches", 32),
        ("log-format-incomplete", 35),
        ("trusts-internet", 44),
        ("location-drops-trust", 44),
        ("no-real-ip-header", 55),
    ]
    .iter()
    .map(|(id, line)| (id.to_string(), *line))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn lb_ip_missing_fires_on_bad_realip_conf_for_each_list() {
    let got = ids_and_lines(&json_check(
        &["--lb-ip", "34.120.5.6", "testdata/nginx/bad-realip.conf"],
        2,
    ));
    let lb: Vec<u64> = got
        .iter()
        .filter(|(id, _)| id == "lb-ip-missing")
        .map(|(_, l)| *l)
        .collect();
    // The shop server's list (first line 21), /admin/'s own list trusts everything, and the
    // blog server's list (line 55).
    assert_eq!(lb, [21, 55]);
}

#[test]
fn bad_realip_conf_table_matches_the_golden_output() {
    let out = run(&["nginx", "check", "testdata/nginx/bad-realip.conf"]);
    golden("check-bad-realip.txt", &assert_exit(&out, 2));
}

#[test]
fn bad_realip_conf_json_matches_the_golden_output() {
    golden(
        "check-bad-realip.json",
        &json_check(&["testdata/nginx/bad-realip.conf"], 2),
    );
}

#[test]
fn gcp_conf_has_only_the_intended_location_drops_trust() {
    let json = json_check(&["testdata/nginx/gcp.conf"], 1);
    assert_eq!(ids_and_lines(&json), [("location-drops-trust".into(), 58)]);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v[0]["fix"],
        "set_real_ip_from 130.211.0.0/22;\nset_real_ip_from 35.191.0.0/16;\n\
         set_real_ip_from 34.120.5.6;"
    );
    let out = run(&["nginx", "check", "testdata/nginx/gcp.conf"]);
    golden("check-gcp.txt", &assert_exit(&out, 1));
}

#[test]
fn an_nginx_t_dump_gives_the_same_findings_as_the_files() {
    let files = ids_and_lines(&json_check(&["testdata/nginx/gcp.conf"], 1));
    let dump = ids_and_lines(&json_check(&["testdata/nginx/dump.txt"], 1));
    assert_eq!(files, dump);
}

#[test]
fn json_findings_have_exactly_the_documented_keys() {
    let json = json_check(&["testdata/nginx/bad-realip.conf"], 2);
    let v: Value = serde_json::from_str(&json).unwrap();
    for f in v.as_array().unwrap() {
        let keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["id", "severity", "file", "line", "message", "fix", "remove"]
        );
        assert!(f["remove"].is_null() || f["remove"].is_string());
        assert!(!f["fix"].is_null() || !f["remove"].is_null(), "{f}");
        assert!(["error", "warning", "info"].contains(&f["severity"].as_str().unwrap()));
        assert!(f["fix"].is_null() || f["fix"].is_string());
        assert_eq!(f["file"], "testdata/nginx/bad-realip.conf");
    }
}

#[test]
fn exit_codes_are_0_clean_1_warnings_2_errors() {
    assert_exit(
        &run(&["nginx", "check", "testdata/nginx/cloudflare.conf"]),
        0,
    );
    assert_exit(&run(&["nginx", "check", "testdata/nginx/quoting.conf"]), 0);
    assert_exit(&run(&["nginx", "check", "testdata/nginx/gcp.conf"]), 1);
    assert_exit(
        &run(&["nginx", "check", "testdata/nginx/bad-realip.conf"]),
        2,
    );
}

#[test]
fn info_findings_alone_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        "http {\n  set_real_ip_from 10.0.0.0/8;\n  set_real_ip_from 10.0.0.0/8;\n  \
         real_ip_header X-Forwarded-For;\n  real_ip_recursive on;\n  access_log off;\n}\n",
    )
    .unwrap();
    let out = run(&["nginx", "check", conf.to_str().unwrap()]);
    let text = assert_exit(&out, 0);
    assert!(text.contains(":3: info duplicate-trust: "), "{text}");
    assert!(text.ends_with("0 errors, 0 warnings, 1 info\n"), "{text}");
}

#[test]
fn a_configuration_that_does_not_parse_exits_2_with_file_line_col() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broken.conf");
    std::fs::write(&conf, "http {\n    set_real_ip_from 10.0.0.0/8\n}\n").unwrap();
    let out = run(&["nginx", "check", conf.to_str().unwrap()]);
    assert_exit(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // nginx reports the `}` that comes where the `;` belongs.
    let want = format!("{}:3:1: ", conf.display());
    assert!(stderr.contains(&want), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_missing_configuration_exits_2() {
    let out = run(&["nginx", "check", "testdata/nginx/no-such.conf"]);
    assert_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such.conf"));
}

#[test]
fn lb_ips_given_on_the_command_line_are_checked() {
    let json = json_check(
        &[
            "--lb-ip",
            "34.120.5.6,34.149.9.9",
            "testdata/nginx/gcp.conf",
        ],
        2,
    );
    let v: Value = serde_json::from_str(&json).unwrap();
    let lb: Vec<(u64, &str)> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "lb-ip-missing")
        .map(|f| (f["line"].as_u64().unwrap(), f["fix"].as_str().unwrap()))
        .collect();
    // The http list lacks 34.149.9.9; /internal/'s own list lacks both.
    assert_eq!(
        lb,
        [
            (22, "set_real_ip_from 34.149.9.9;"),
            (58, "set_real_ip_from 34.120.5.6;"),
            (58, "set_real_ip_from 34.149.9.9;"),
        ]
    );
    let out = run(&[
        "nginx",
        "check",
        "--lb-ip",
        "lb.example",
        "testdata/nginx/gcp.conf",
    ]);
    assert_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--lb-ip lb.example"));
}

#[test]
fn a_log_reveals_the_untrusted_load_balancer_ip() {
    let out = run(&[
        "nginx",
        "check",
        "--output",
        "json",
        "--log",
        "testdata/logs/sample.log",
        "testdata/nginx/gcp.conf",
    ]);
    let json = assert_exit(&out, 2);
    let v: Value = serde_json::from_str(&json).unwrap();
    let http_list: Vec<&Value> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "lb-ip-missing" && f["line"] == 22)
        .collect();
    assert_eq!(http_list.len(), 1, "{json}");
    assert_eq!(http_list[0]["fix"], "set_real_ip_from 34.149.9.9;");
    let lb_fixes: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "lb-ip-missing")
        .map(|f| f["fix"].as_str().unwrap())
        .collect();
    assert!(
        lb_fixes
            .iter()
            .all(|f| *f == "set_real_ip_from 34.149.9.9;"),
        "only the untrusted LB IP is reported: {lb_fixes:?}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("34.149.9.9 logged as the client"),
        "{stderr}"
    );
    assert!(stderr.contains("testdata/logs/sample.log:11"), "{stderr}");
}

#[test]
fn an_unreadable_log_exits_2() {
    let out = run(&[
        "nginx",
        "check",
        "--log",
        "testdata/logs/no-such.log",
        "testdata/nginx/cloudflare.conf",
    ]);
    assert_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such.log"));
}

#[test]
fn configuration_text_is_escaped_in_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("evil.conf");
    std::fs::write(
        &conf,
        "http {\n  set_real_ip_from \"lb\u{1b}[2J.example\";\n  \
         real_ip_header X-Forwarded-For;\n  access_log off;\n}\n",
    )
    .unwrap();
    let out = run(&["nginx", "check", conf.to_str().unwrap()]);
    let text = assert_exit(&out, 2);
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.contains("invalid-trust"), "{text}");
}

#[test]
fn check_help_lists_every_rule_and_the_exit_codes() {
    let text = assert_exit(&run(&["nginx", "check", "--help"]), 0);
    for r in RULES {
        assert!(text.contains(r.id), "{} missing from --help", r.id);
    }
    assert!(text.contains("Exit codes: 0"));
}

#[test]
fn the_gcp_snippet_matches_the_golden_output() {
    let out = run(&[
        "nginx",
        "snippet",
        "--trust",
        "gcp",
        "--trust",
        "34.120.5.6",
    ]);
    golden("snippet-gcp.txt", &assert_exit(&out, 0));
}

/// The snippet, read back by the configuration parser, gives the settings it was made from.
fn round_trip(args: &[&str], specs: &[&str], header: &str, recursive: bool) {
    let mut all = vec!["nginx", "snippet"];
    all.extend_from_slice(args);
    let text = assert_exit(&run(&all), 0);
    let cfg = realip::nginx::parse_str(&text, Path::new("snippet.conf")).unwrap();
    let s = effective(&cfg, None, None).unwrap();
    let (want, _) = TrustedSet::parse(specs).unwrap();
    let nets = |t: &TrustedSet| t.entries().iter().map(|e| e.net).collect::<Vec<_>>();
    assert_eq!(nets(&s.trusted), nets(&want));
    assert_eq!(s.header.name(), header);
    assert_eq!(s.recursive, recursive);
    assert!(realip::nginx::lint::check(&cfg, &Default::default())
        .iter()
        .all(|f| f.id == "log-format-incomplete"));
}

#[test]
fn snippets_parse_back_into_the_same_settings() {
    round_trip(
        &["--trust", "gcp", "--trust", "34.120.5.6"],
        &["gcp", "34.120.5.6"],
        "X-Forwarded-For",
        true,
    );
    round_trip(
        &[
            "--trust",
            "cloudflare",
            "--header",
            "CF-Connecting-IP",
            "--no-recursive",
        ],
        &["cloudflare"],
        "CF-Connecting-IP",
        false,
    );
    round_trip(
        &["--trust", "10.0.0.0/8,unix:,2001:db8::1"],
        &["10.0.0.0/8", "unix:", "2001:db8::1"],
        "X-Forwarded-For",
        true,
    );
}

#[test]
fn snippet_needs_trust_and_refuses_bad_values() {
    assert_exit(&run(&["nginx", "snippet"]), 2);
    let out = run(&["nginx", "snippet", "--trust", "lb.example"]);
    assert_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("lb.example"));
    let out = run(&["nginx", "snippet", "--trust", "10.1.2.3/8"]);
    let text = assert_exit(&out, 0);
    assert!(text.contains("set_real_ip_from 10.0.0.0/8;"));
    assert!(String::from_utf8_lossy(&out.stderr).contains("low address bits"));
}

/// `realip.t` from nginx-tests (reference §5.1): the list at the http level, locations that
/// change the header and recursion.
const REALIP_T: &str = "
http {
    set_real_ip_from 127.0.0.1/32;
    set_real_ip_from 10.0.1.0/24;
    server {
        listen 127.0.0.1:8080;
        server_name localhost;
        location / { }
        location /custom { real_ip_header X-Real-IP-Custom; }
        location /1 { real_ip_header X-Forwarded-For; real_ip_recursive off; }
        location /2 { real_ip_header X-Forwarded-For; real_ip_recursive on; }
    }
}
";

/// Resolves one request to `uri` of `conf` with the location's effective settings.
fn resolve(conf: &str, uri: &str, peer: &str, lines: &[&str]) -> String {
    let cfg = realip::nginx::parse_str(conf, Path::new("test.conf")).unwrap();
    let s = effective(&cfg, None, Some(uri)).unwrap();
    let peer = Addr::parse(peer.as_bytes()).unwrap();
    let res = s
        .resolver()
        .resolve(peer, lines.iter().map(|l| l.as_bytes()));
    res.addr.to_string()
}

#[test]
fn the_realip_t_configuration_resolves_the_nginx_tests_vectors() {
    let r = |uri, lines: &[&str]| resolve(REALIP_T, uri, "127.0.0.1", lines);
    assert_eq!(r("/", &["192.0.2.1"]), "192.0.2.1");
    assert_eq!(r("/custom", &["192.0.2.1"]), "192.0.2.1");
    assert_eq!(r("/1", &["10.0.0.1, 192.0.2.1"]), "192.0.2.1");
    assert_eq!(r("/1", &["192.0.2.1, 10.0.1.1, 127.0.0.1"]), "127.0.0.1");
    assert_eq!(r("/2", &["10.0.1.1, 192.0.2.1, 127.0.0.1"]), "192.0.2.1");
    assert_eq!(r("/1", &["192.0.2.1", "127.0.0.1, 10.0.1.1"]), "10.0.1.1");
    assert_eq!(
        r("/2", &["10.0.1.1", "192.0.2.1", "127.0.0.1"]),
        "192.0.2.1"
    );
    let cfg = realip::nginx::parse_str(REALIP_T, Path::new("t.conf")).unwrap();
    assert_eq!(
        effective(&cfg, None, Some("/custom"))
            .unwrap()
            .header
            .name(),
        "X-Real-IP-Custom"
    );
}

/// Config L of the reference (§6.3 "phase interplay").
const CONFIG_L: &str = "
http {
    server {
        listen 127.0.0.1:18091;
        set_real_ip_from 127.0.0.1;
        location /xff/ { real_ip_header X-Forwarded-For; real_ip_recursive on; }
        location /xff2/ {
            set_real_ip_from 10.0.0.0/8;
            real_ip_header X-Forwarded-For;
            real_ip_recursive on;
        }
        location = /ret { real_ip_header X-Forwarded-For; return 200 ok; }
    }
}
";

#[test]
fn in_config_l_a_location_list_replaces_the_parent_and_the_header_inherits() {
    // /xff/ inherits the server's list and reads X-Forwarded-For.
    assert_eq!(
        resolve(CONFIG_L, "/xff/index.html", "127.0.0.1", &["192.0.2.7"]),
        "192.0.2.7"
    );
    // /xff2/'s own list {10/8} replaces {127.0.0.1}: the peer is untrusted there.
    assert_eq!(
        resolve(CONFIG_L, "/xff2/index.html", "127.0.0.1", &["192.0.2.7"]),
        "127.0.0.1"
    );
    assert_eq!(
        resolve(CONFIG_L, "/xff2/index.html", "10.1.2.3", &["192.0.2.7"]),
        "192.0.2.7"
    );
    // The server level reads X-Real-IP (the default), so an XFF value is not consulted.
    let cfg = realip::nginx::parse_str(CONFIG_L, Path::new("l.conf")).unwrap();
    let s = effective(&cfg, None, Some("/file")).unwrap();
    assert_eq!(s.header.name(), "X-Real-IP");
    assert!(!s.recursive);
    // The location settings come with a note that the server level runs first.
    let s = effective(&cfg, None, Some("/xff/a")).unwrap();
    assert!(
        s.notes.iter().any(|n| n.contains("applies them first")),
        "{:?}",
        s.notes
    );
    // And the lint says so too, at the location's real_ip_header.
    let f = realip::nginx::lint::check(&cfg, &Default::default());
    assert!(
        f.iter()
            .any(|f| f.id == "server-level-preempts" && f.line == 6),
        "{f:?}"
    );
}

#[test]
fn effective_reads_the_sample_gcp_configuration_with_its_includes() {
    let cfg = realip::nginx::load(&fixture("nginx/gcp.conf")).unwrap();
    let s = effective(&cfg, Some("api.example.com"), Some("/")).unwrap();
    let nets: Vec<String> = s
        .trusted
        .entries()
        .iter()
        .map(|e| e.net.to_string())
        .collect();
    assert_eq!(nets, ["130.211.0.0/22", "35.191.0.0/16", "34.120.5.6/32"]);
    assert_eq!(s.header.name(), "X-Forwarded-For");
    assert!(s.recursive);
    assert_eq!(
        s.from_pos.iter().map(|p| p.line).collect::<Vec<_>>(),
        [22, 23, 24]
    );
    let internal = effective(&cfg, Some("www.example.com"), Some("/internal/x")).unwrap();
    assert_eq!(internal.trusted.entries().len(), 1);
    assert_eq!(internal.location.as_deref(), Some("/internal/"));
    // The health-check server comes from conf.d/B-health.conf and inherits the http list.
    let health = effective(&cfg, Some("_"), Some("/healthz")).unwrap();
    assert_eq!(health.location.as_deref(), Some("= /healthz"));
    assert_eq!(health.trusted.entries().len(), 3);
    let logs = realip::nginx::log_format::access_logs(&cfg);
    let formats: Vec<(&str, Option<&str>)> = logs
        .iter()
        .map(|l| (l.format.as_str(), l.server.as_deref()))
        .collect();
    assert_eq!(
        formats,
        [
            ("realip", None),
            ("realip", Some("www.example.com")),
            ("json", Some("api.example.com")),
        ]
    );
    assert_eq!(
        realip::nginx::log_format::format_named(&cfg, "realip"),
        Some(realip::logfmt::Format::Custom(
            realip::logfmt::REALIP.to_string()
        ))
    );
}

#[test]
fn issue_8_nginx_check_log_and_scan_share_one_audit_configuration_front_end_included() {
    // See: issue #8. `nginx check --log` missed a forgotten LB IP that `scan` found, because
    // only `scan` had --front-end. Both now build the audit the same way and print the same
    // verdict, with and without --front-end.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        format!(
            "http {{\n  set_real_ip_from 10.9.0.0/16;\n  set_real_ip_from 34.120.5.6;\n  \
             real_ip_header X-Forwarded-For;\n  real_ip_recursive on;\n  \
             server {{\n    listen 80;\n    access_log {} realip;\n  }}\n}}\n",
            log.display()
        ),
    )
    .unwrap();
    let mut text = String::new();
    let mut omitted = 0;
    for i in 0..60 {
        let c = format!("81.1.{}.{}", i / 200, 1 + i % 200);
        let (remote, lb) = if i % 4 == 1 {
            omitted += 1;
            ("34.149.9.9".to_string(), "34.149.9.9")
        } else {
            (c.clone(), "34.120.5.6")
        };
        text.push_str(&format!(
            "{remote} - - [01/May/2024:10:00:{:02} +0000] \"GET /{i} HTTP/1.1\" 200 5 \"-\" \
             \"curl\" \"{c},{lb}\" 10.9.0.{} 0.001 -\n",
            i % 60,
            1 + i % 9
        ));
    }
    std::fs::write(&log, text).unwrap();
    let (log, conf) = (log.to_str().unwrap(), conf.to_str().unwrap());

    let verdicts = |front_end: &[&str]| {
        let check = run(&[
            &["nginx", "check", "--output", "json", "--log", log],
            front_end,
            &[conf],
        ]
        .concat());
        let stderr = String::from_utf8_lossy(&check.stderr).into_owned();
        let from_check = stderr
            .lines()
            .find_map(|l| l.split_once(": audit: ").map(|(_, v)| v.to_string()))
            .unwrap_or_else(|| panic!("no audit verdict on stderr: {stderr}"));
        let scan = run(&[
            &["scan", "--output", "json", "--nginx-conf", conf],
            front_end,
            &[log],
        ]
        .concat());
        let v: Value = serde_json::from_str(&assert_exit(&scan, 0)).unwrap();
        assert_eq!(v["audit"]["trust_source"], "nginx-conf");
        let from_scan = v["audit"]["verdict"].as_str().unwrap().to_string();
        (from_check, from_scan, stderr, v)
    };

    let (from_check, from_scan, stderr, v) = verdicts(&["--front-end", "10.9.0.0/16"]);
    eqnice!(from_scan, from_check);
    assert!(
        from_scan.starts_with(&format!(
            "{omitted} of 60 requests (25.0%) resolved to untrusted LB IP 34.149.9.9"
        )),
        "{from_scan}"
    );
    assert!(
        stderr.contains(&format!(
            "34.149.9.9 logged as the client on {omitted} line(s)"
        )),
        "{stderr}"
    );
    assert_eq!(v["audit"]["unresolved_lb_ips"][0]["lines"], omitted);
    assert_eq!(v["audit"]["trusted_lb_ips"][0]["ip"], "34.120.5.6");

    // Without --front-end (Google's front ends), neither names an LB IP: they still agree.
    let (from_check, from_scan, _, v) = verdicts(&[]);
    eqnice!(from_scan, from_check);
    assert_eq!(
        v["audit"]["unresolved_lb_ips"].as_array().map(Vec::len),
        Some(0)
    );
}

#[test]
fn explain_with_nginx_conf_names_the_file_and_line_of_each_trusted_entry() {
    // See: issue #11.
    let out = run(&[
        "resolve",
        "--nginx-conf",
        "testdata/nginx/gcp.conf",
        "--server",
        "www.example.com",
        "--peer",
        "35.191.1.1",
        "--value",
        "1.2.3.4, 34.120.5.6",
        "--explain",
    ]);
    let text = assert_exit(&out, 0);
    assert!(
        text.contains("(set_real_ip_from 35.191.0.0/16 at testdata/nginx/gcp.conf:23)"),
        "{text}"
    );
    assert!(
        text.contains("(set_real_ip_from 34.120.5.6 at testdata/nginx/gcp.conf:24)"),
        "{text}"
    );
    assert!(!text.contains("--trust"), "{text}");
}

#[test]
fn prefix_map_values_are_checked() {
    for bad in ["etc-nginx", "relative=dir", "/etc/nginx="] {
        let out = run(&[
            "nginx",
            "check",
            "--prefix-map",
            bad,
            "testdata/nginx/gcp.conf",
        ]);
        assert_exit(&out, 2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--prefix-map"), "{bad}: {stderr}");
    }
}

#[test]
fn a_missing_absolute_include_is_read_from_the_prefix() {
    // See: issue #11. Without --prefix, a checkout's absolute include is looked for on the
    // machine (and, missing, refused as nginx would); with it, it is read from the checkout.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("etc/snippets")).unwrap();
    std::fs::write(
        dir.path().join("etc/nginx.conf"),
        "events {}\nhttp {\n    include /etc/nginx/snippets/realip-i11-test.conf;\n}\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("etc/snippets/realip-i11-test.conf"),
        "set_real_ip_from 0.0.0.0/0;\nreal_ip_header X-Forwarded-For;\nreal_ip_recursive on;\n",
    )
    .unwrap();
    let conf = dir.path().join("etc/nginx.conf");
    let out = run(&["nginx", "check", conf.to_str().unwrap()]);
    assert_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no such file"));
    let prefix = dir.path().join("etc");
    let out = run(&[
        "nginx",
        "check",
        "--prefix",
        prefix.to_str().unwrap(),
        conf.to_str().unwrap(),
    ]);
    let text = assert_exit(&out, 2);
    assert!(
        text.contains("realip-i11-test.conf:1: error trusts-internet"),
        "{text}"
    );
}
