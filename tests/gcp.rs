//! `--lb-ips-from`: the load balancers' own list (issue #14).
//!
//! Fixtures in `testdata/gcp/` are written from the documented field names of `gcloud compute
//! forwarding-rules list --format=json` and `gcloud compute addresses list --format=json`:
//! global classic and global external managed HTTPS, an IPv6 frontend, a regional external
//! managed ALB, an internal ALB, a TCP proxy, a passthrough NLB (target pool), an internal
//! passthrough NLB (backend service), and two rules sharing one address. The classification
//! and the findings are golden files in `testdata/gcp/expected/`; bad files are
//! `testdata/gcp/errors/*.txt` (input, a `---` line, the expected message). Regenerate with
//! `REALIP_BLESS=1 cargo test --test integration gcp` and review the diff like code.

use std::fs;
use std::process::Output;

use realip::ranges::gcloud::{self, LbKind, LbList, NotAlb};
use serde_json::Value;

use crate::eqnice;
use crate::util::rng::Rng;
use crate::util::{assert_exit, fixture, realip};

const RULES: &str = "testdata/gcp/forwarding-rules.json";
const ADDRESSES: &str = "testdata/gcp/addresses.json";

/// Runs `realip ARGS…` from the package root, so paths in the output are relative.
fn run(args: &[&str]) -> Output {
    realip()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .expect("run realip")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Compares `got` with `testdata/gcp/expected/NAME` (rewritten with `REALIP_BLESS=1`).
fn golden(name: &str, got: &str) {
    let path = fixture(&format!("gcp/expected/{name}"));
    if std::env::var_os("REALIP_BLESS").is_some() {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, got).unwrap();
    }
    let expected = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with REALIP_BLESS=1)", path.display()));
    eqnice!(expected, got);
}

fn load_both() -> LbList {
    LbList::new(vec![
        gcloud::load(&fixture("gcp/forwarding-rules.json")).unwrap(),
        gcloud::load(&fixture("gcp/addresses.json")).unwrap(),
    ])
}

#[test]
fn every_fixture_rule_is_classified_as_documented() {
    let list = load_both();
    let got: Vec<(&str, LbKind)> = list
        .rules
        .iter()
        .map(|r| (r.name.as_str(), r.kind))
        .collect();
    assert_eq!(
        got,
        [
            ("web-http", LbKind::GlobalExternal),
            ("web-https", LbKind::GlobalExternal),
            ("shop-https", LbKind::GlobalExternal),
            ("web-https-v6", LbKind::GlobalExternal),
            ("eu-api-https", LbKind::RegionalExternal),
            ("internal-api", LbKind::RegionalInternal),
            ("db-tcp-proxy", LbKind::NotAlb(NotAlb::TcpProxy)),
            ("game-nlb", LbKind::NotAlb(NotAlb::TargetPool)),
            ("dns-ilb", LbKind::NotAlb(NotAlb::Passthrough)),
        ]
    );
    let ips: Vec<(String, String)> = list
        .alb_ips()
        .iter()
        .map(|a| (a.trust_text(), a.names()))
        .collect();
    assert_eq!(
        ips,
        [
            ("34.120.5.6".into(), "web-http, web-https".into()),
            ("34.149.9.9".into(), "shop-https".into()),
            ("2600:1901:0:8c3a::".into(), "web-https-v6".into()),
            ("34.76.10.20".into(), "eu-api-https".into()),
            ("10.128.0.50".into(), "internal-api".into()),
        ]
    );
    let web = &list.rules[1];
    assert_eq!(
        web.source,
        fixture("gcp/forwarding-rules.json").display().to_string()
    );
    assert_eq!(web.scheme.as_deref(), Some("EXTERNAL"));
    assert_eq!(web.region, None);
    assert_eq!(web.address_name.as_deref(), Some("web-ip"));
    assert_eq!(list.rules[5].region.as_deref(), Some("us-central1"));
    assert!(
        list.owns("34.120.7.7".parse().unwrap()),
        "a reserved spare address is ours"
    );
}

#[test]
fn the_verbose_classification_is_the_golden_one() {
    let out = run(&[
        "nginx",
        "check",
        "-v",
        "--lb-ips-from",
        RULES,
        "--lb-ips-from",
        ADDRESSES,
        "testdata/gcp/nginx.conf",
    ]);
    assert_eq!(assert_exit(&out, 0), "no findings\n");
    golden("classification.txt", &stderr(&out));
}

#[test]
fn without_verbose_a_ci_run_prints_nothing_on_stderr_and_quiet_hides_the_empty_list_warning() {
    let out = run(&[
        "nginx",
        "check",
        "--lb-ips-from",
        RULES,
        "testdata/gcp/nginx.conf",
    ]);
    assert_exit(&out, 0);
    eqnice!("", stderr(&out));
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("rules.json");
    fs::write(&empty, "[]\n").unwrap();
    let empty = empty.to_str().unwrap();
    let out = run(&[
        "nginx",
        "check",
        "--lb-ips-from",
        empty,
        "testdata/gcp/nginx.conf",
    ]);
    assert_exit(&out, 0);
    assert!(
        stderr(&out).contains("realip: warning: no Application Load Balancer in the list"),
        "{}",
        stderr(&out)
    );
    let out = run(&[
        "nginx",
        "check",
        "-q",
        "--lb-ips-from",
        empty,
        "testdata/gcp/nginx.conf",
    ]);
    assert_exit(&out, 0);
    eqnice!("", stderr(&out));
}

/// The story CI tells: an IPv6 frontend was added and its IP forgotten in nginx.conf; the
/// check fails with the line to add; with that line added, it passes.
#[test]
fn issue_14_ci_fails_on_a_forgotten_ipv6_lb_ip_with_the_fix_and_passes_once_fixed() {
    // See: issue #14.
    let conf = "testdata/gcp/nginx-missing-v6.conf";
    let out = run(&["nginx", "check", "--lb-ips-from", RULES, conf]);
    let table = assert_exit(&out, 2);
    golden("check-missing-v6.txt", &table);

    let json = assert_exit(
        &run(&["nginx", "check", "-o", "json", "--lb-ips-from", RULES, conf]),
        2,
    );
    let findings: Value = serde_json::from_str(&json).unwrap();
    let findings = findings.as_array().unwrap();
    assert_eq!(findings.len(), 1, "{json}");
    let f = &findings[0];
    assert_eq!(f["id"], "lb-ip-missing");
    assert_eq!(f["severity"], "error");
    assert!(
        f["message"].as_str().unwrap().contains("web-https-v6"),
        "{f}"
    );
    let fix = f["fix"].as_str().unwrap();
    assert_eq!(
        fix,
        "set_real_ip_from 2600:1901:0:8c3a::;  # forwarding rule web-https-v6 (global external \
         Application LB)"
    );

    // Apply the fix where the finding points, as a person would, and check again.
    let text = fs::read_to_string(fixture("gcp/nginx-missing-v6.conf")).unwrap();
    let line = f["line"].as_u64().unwrap() as usize;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.insert(line - 1, format!("    {fix}"));
    let dir = tempfile::tempdir().unwrap();
    let fixed = dir.path().join("nginx.conf");
    fs::write(&fixed, lines.join("\n")).unwrap();
    let out = run(&[
        "nginx",
        "check",
        "--lb-ips-from",
        RULES,
        fixed.to_str().unwrap(),
    ]);
    assert_eq!(assert_exit(&out, 0), "no findings\n");

    let out = run(&[
        "nginx",
        "check",
        "--lb-ips-from",
        RULES,
        "testdata/gcp/nginx.conf",
    ]);
    assert_eq!(assert_exit(&out, 0), "no findings\n");
}

#[test]
fn an_ipv4_lb_ip_missing_from_a_location_list_is_an_error_there() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    let text = fs::read_to_string(fixture("gcp/nginx.conf"))
        .unwrap()
        .replace(
            "        location / {\n",
            "        location /shop/ {\n            set_real_ip_from 130.211.0.0/22;\n            \
             set_real_ip_from 35.191.0.0/16;\n            set_real_ip_from 10.0.0.0/8;\n            \
             set_real_ip_from 34.120.5.6;\n            set_real_ip_from 2600:1901:0:8c3a::;\n        \
             }\n        location / {\n",
        );
    fs::write(&conf, text).unwrap();
    let json = assert_exit(
        &run(&[
            "nginx",
            "check",
            "-o",
            "json",
            "--lb-ips-from",
            RULES,
            conf.to_str().unwrap(),
        ]),
        2,
    );
    let v: Value = serde_json::from_str(&json).unwrap();
    let lb: Vec<(u64, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "lb-ip-missing")
        .map(|f| {
            (
                f["line"].as_u64().unwrap(),
                f["fix"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(lb.len(), 2, "{json}");
    assert!(lb.iter().all(|(line, _)| *line == 30), "{lb:?}");
    assert!(lb[0]
        .1
        .starts_with("set_real_ip_from 34.149.9.9;  # forwarding rule shop-https"));
}

#[test]
fn a_trusted_lb_ip_no_rule_holds_any_more_is_a_warning_when_google_owns_it() {
    let out = run(&[
        "nginx",
        "check",
        "--lb-ips-from",
        RULES,
        "--lb-ips-from",
        ADDRESSES,
        "--google-ranges",
        "testdata/ranges/cloud.json",
        "testdata/gcp/nginx-old-lb.conf",
    ]);
    let table = assert_exit(&out, 1);
    golden("check-old-lb.txt", &table);
    assert!(table.contains("set_real_ip_from 34.120.9.9"));
    assert!(
        !table.contains("34.120.7.7"),
        "the reserved spare address is still ours"
    );

    // Named with --trust, it is a load balancer the user knows about: not stale.
    let out = run(&[
        "nginx",
        "check",
        "--trust",
        "34.120.9.9",
        "--lb-ips-from",
        RULES,
        "--lb-ips-from",
        ADDRESSES,
        "--google-ranges",
        "testdata/ranges/cloud.json",
        "testdata/gcp/nginx-old-lb.conf",
    ]);
    assert_eq!(assert_exit(&out, 0), "no findings\n");

    // Without cloud.json the same address is only a hint.
    let out = run(&[
        "nginx",
        "check",
        "--lb-ips-from",
        RULES,
        "--lb-ips-from",
        ADDRESSES,
        "testdata/gcp/nginx-old-lb.conf",
    ]);
    let table = assert_exit(&out, 0);
    assert!(
        table.contains(": info stale-lb-ip: set_real_ip_from 34.120.9.9:"),
        "{table}"
    );
}

#[test]
fn regional_albs_ask_for_the_proxy_only_subnet_and_check_it_when_given() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    let text: String = fs::read_to_string(fixture("gcp/nginx.conf"))
        .unwrap()
        .lines()
        .filter(|l| !l.contains("10.129.0.0/23") && !l.contains("10.130.0.0/23"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&conf, text).unwrap();
    let conf = conf.to_str().unwrap();
    let table = assert_exit(&run(&["nginx", "check", "--lb-ips-from", RULES, conf]), 1);
    assert!(
        table.contains("warning proxy-subnet-unknown: forwarding rules eu-api-https"),
        "{table}"
    );
    assert!(table.contains("--trust CIDR"), "{table}");
    let table = assert_exit(
        &run(&[
            "nginx",
            "check",
            "--trust",
            "10.129.0.0/23",
            "--lb-ips-from",
            RULES,
            conf,
        ]),
        2,
    );
    assert!(
        table.contains("error lb-ip-missing: range 10.129.0.0/23 (given for the regional"),
        "{table}"
    );
    assert!(
        table.contains("fix: set_real_ip_from 10.129.0.0/23;"),
        "{table}"
    );
    // The original, which trusts both subnets, passes with them given.
    let out = run(&[
        "nginx",
        "check",
        "--trust",
        "10.129.0.0/23,10.130.0.0/23",
        "--lb-ips-from",
        RULES,
        "testdata/gcp/nginx.conf",
    ]);
    assert_eq!(assert_exit(&out, 0), "no findings\n");
}

#[test]
fn a_config_without_realip_gets_the_whole_block_as_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    fs::write(
        &conf,
        "events {}\nhttp {\n    server {\n        listen 80;\n    }\n}\n",
    )
    .unwrap();
    let json = assert_exit(
        &run(&[
            "nginx",
            "check",
            "-o",
            "json",
            "--lb-ips-from",
            RULES,
            conf.to_str().unwrap(),
        ]),
        2,
    );
    let v: Value = serde_json::from_str(&json).unwrap();
    let f = v
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "lb-ip-missing")
        .unwrap();
    let fix = f["fix"].as_str().unwrap();
    for want in [
        "set_real_ip_from 130.211.0.0/22;",
        "set_real_ip_from 35.191.0.0/16;",
        "set_real_ip_from 34.120.5.6;  # forwarding rules web-http, web-https",
        "set_real_ip_from 2600:1901:0:8c3a::;  # forwarding rule web-https-v6",
        "real_ip_header X-Forwarded-For;",
        "real_ip_recursive on;",
    ] {
        assert!(fix.contains(want), "{want}\n{fix}");
    }
    assert!(
        !fix.contains("34.111.2.3"),
        "the TCP proxy is not an Application LB"
    );
}

#[test]
fn an_addresses_list_alone_warns_about_the_rules_it_names() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    fs::write(
        &conf,
        "http { set_real_ip_from 130.211.0.0/22; set_real_ip_from 35.191.0.0/16; \
         real_ip_header X-Forwarded-For; real_ip_recursive on; access_log off; server { } }\n",
    )
    .unwrap();
    let out = run(&[
        "nginx",
        "check",
        "--lb-ips-from",
        ADDRESSES,
        conf.to_str().unwrap(),
    ]);
    let table = assert_exit(&out, 1);
    assert!(
        table.contains(
            "warning lb-ip-missing: address 34.120.5.6 is used by forwarding rules \
                        web-http, web-https, which no forwarding-rules list describes"
        ),
        "{table}"
    );
}

/// `testdata/gcp/errors/NAME.txt`: the input, a `---` line, the expected message, with
/// NAME.txt as the file's name.
#[test]
fn bad_files_give_the_golden_error_naming_the_file_and_what_was_expected() {
    let dir = fixture("gcp/errors");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 10);
    let bless = std::env::var_os("REALIP_BLESS").is_some();
    let mut failures = Vec::new();
    for name in &names {
        let text = fs::read_to_string(dir.join(name)).unwrap();
        let (input, expected) = text
            .split_once("\n---\n")
            .unwrap_or_else(|| panic!("{name}: no --- line"));
        let input = if input.is_empty() {
            String::new()
        } else {
            format!("{input}\n")
        };
        let got = match gcloud::parse(&input, name) {
            Ok(f) => format!("unexpectedly parsed: {f:?}"),
            Err(e) => e.to_string(),
        };
        if bless {
            fs::write(
                dir.join(name),
                format!("{}\n---\n{got}\n", input.trim_end_matches('\n')),
            )
            .unwrap();
        } else if got != expected.trim_end_matches('\n') {
            failures.push(format!(
                "{name}\n  want: {}\n  got:  {got}",
                expected.trim_end()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_cli_refuses_a_bad_file_with_exit_2_before_checking_anything() {
    let out = run(&[
        "nginx",
        "check",
        "--lb-ips-from",
        "testdata/gcp/errors/gcloud-error.txt",
        "testdata/gcp/nginx.conf",
    ]);
    assert_eq!(assert_exit(&out, 2), "");
    let err = stderr(&out);
    assert!(
        err.starts_with(
            "realip: --lb-ips-from: testdata/gcp/errors/gcloud-error.txt: gcloud's error message"
        ),
        "{err}"
    );
    let out = run(&[
        "nginx",
        "check",
        "--lb-ips-from",
        "testdata/gcp/missing.json",
        "testdata/gcp/nginx.conf",
    ]);
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("testdata/gcp/missing.json"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn arbitrary_and_mutated_files_never_panic() {
    let sample = fs::read(fixture("gcp/forwarding-rules.json")).unwrap();
    let mut rng = Rng(14);
    for _ in 0..2000 {
        let mut bytes = sample.clone();
        for _ in 0..rng.range(1, 8) {
            let at = rng.below(bytes.len() as u64) as usize;
            match rng.below(3) {
                0 => bytes[at] = rng.below(256) as u8,
                1 => {
                    bytes.remove(at);
                }
                _ => bytes.truncate(at),
            }
            if bytes.is_empty() {
                break;
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        let _ = gcloud::parse(&text, "m.json").map(|f| LbList::new(vec![f]).alb_ips());
    }
    for _ in 0..500 {
        let len = rng.below(64) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
        let _ = gcloud::parse(&String::from_utf8_lossy(&bytes), "r");
    }
}

#[test]
fn readme_shows_the_ci_commands_and_the_golden_output() {
    let readme = fs::read_to_string(fixture("../README.md")).unwrap();
    for want in [
        "### Before you add a load balancer",
        "gcloud compute forwarding-rules list --format=json > rules.json\n",
        "realip nginx check --lb-ips-from rules.json /etc/nginx/nginx.conf\n",
        "$ realip nginx check --lb-ips-from testdata/gcp/forwarding-rules.json \
         testdata/gcp/nginx-missing-v6.conf\n",
    ] {
        assert!(readme.contains(want), "README no longer shows: {want}");
    }
    let golden = fs::read_to_string(fixture("gcp/expected/check-missing-v6.txt")).unwrap();
    assert!(
        readme.contains(&golden),
        "README's output differs from the golden:\n{golden}"
    );
}

#[test]
fn the_snippet_has_one_commented_line_per_lb_address_and_passes_the_check() {
    let out = run(&[
        "nginx",
        "snippet",
        "gcp",
        "--lb-ips-from",
        RULES,
        "--trust",
        "10.129.0.0/23,10.130.0.0/23",
    ]);
    let text = assert_exit(&out, 0);
    golden("snippet-gcp.txt", &text);
    assert!(text.contains(
        "set_real_ip_from 34.120.5.6;  # web-http, web-https (global external Application LB)\n"
    ));
    assert!(text.contains(
        "set_real_ip_from 2600:1901:0:8c3a::;  # web-https-v6 (global external Application LB)\n"
    ));
    assert!(
        !text.contains("set_real_ip_from 34.111.2.3"),
        "TCP proxy trusted:\n{text}"
    );
    assert!(
        text.contains("# db-tcp-proxy, game-nlb, dns-ilb.\n"),
        "{text}"
    );

    // The block, pasted into http { }, is what the check wants.
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    fs::write(
        &conf,
        format!("events {{}}\nhttp {{\n{text}\naccess_log off;\nserver {{ listen 80; }}\n}}\n"),
    )
    .unwrap();
    let out = run(&[
        "nginx",
        "check",
        "--trust",
        "10.129.0.0/23,10.130.0.0/23",
        "--lb-ips-from",
        RULES,
        conf.to_str().unwrap(),
    ]);
    assert_eq!(assert_exit(&out, 0), "no findings\n");

    // Without `gcp`, the preset is added for the global Application LBs.
    let text = assert_exit(&run(&["nginx", "snippet", "--lb-ips-from", RULES]), 0);
    assert!(text.contains("set_real_ip_from 35.191.0.0/16;"), "{text}");
}

#[test]
fn scan_names_the_forwarding_rule_of_an_untrusted_lb_ip() {
    let out = run(&[
        "scan",
        "--no-summary",
        "-o",
        "json",
        "--lb-ips-from",
        RULES,
        "--trust",
        "10.129.0.0/23,10.130.0.0/23",
        "testdata/gcp/access.log",
    ]);
    let json: Value = serde_json::from_str(&assert_exit(&out, 0)).unwrap();
    eqnice!("", stderr(&out));
    let a = &json["audit"];
    assert_eq!(a["trust_source"], "declared");
    let lb = &a["unresolved_lb_ips"];
    assert_eq!(lb.as_array().unwrap().len(), 1, "{lb}");
    assert_eq!(lb[0]["ip"], "2600:1901:0:8c3a::");
    assert_eq!(lb[0]["lines"], 2);
    assert_eq!(lb[0]["rules"], serde_json::json!(["web-https-v6"]));
    assert_eq!(
        a["trusted_lb_ips"][1]["rules"],
        serde_json::json!(["web-http", "web-https"])
    );
    let verdict = a["verdict"].as_str().unwrap();
    assert!(
        verdict.contains(
            "resolved to untrusted LB IP 2600:1901:0:8c3a::, your forwarding rule web-https-v6 \
             (you declared it, but nginx did not trust it)"
        ),
        "{verdict}"
    );
    let trust: Vec<&str> = a["trust"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for want in ["35.191.0.0/16", "2600:1901:0:8c3a::/128", "34.76.10.20/32"] {
        assert!(trust.contains(&want), "{want} not in {trust:?}");
    }
    assert!(
        !trust.contains(&"34.111.2.3/32"),
        "the TCP proxy is not trusted: {trust:?}"
    );

    // The table names it too; without the proxy-only subnets, a warning asks for them.
    let out = run(&[
        "scan",
        "--no-summary",
        "-o",
        "table",
        "--lb-ips-from",
        RULES,
        "testdata/gcp/access.log",
    ]);
    let table = assert_exit(&out, 0);
    assert!(table.contains("forwarding rule"), "{table}");
    assert!(
        stderr(&out).contains("declare it with --trust CIDR"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn resolve_trusts_the_listed_lb_ips_and_names_an_untrusted_one() {
    let value = "2001:db8::7,2600:1901:0:8c3a::";
    let out = run(&[
        "resolve",
        "-q",
        "--lb-ips-from",
        RULES,
        "--peer",
        "35.191.10.20",
        "--value",
        value,
    ]);
    assert_eq!(assert_exit(&out, 0), "2001:db8::7\n");
    let out = run(&[
        "resolve",
        "--nginx-conf",
        "testdata/gcp/nginx-missing-v6.conf",
        "--lb-ips-from",
        RULES,
        "--peer",
        "35.191.10.20",
        "--value",
        value,
    ]);
    assert_eq!(assert_exit(&out, 0), "2600:1901:0:8c3a::\n");
    assert!(
        stderr(&out).contains(
            "2600:1901:0:8c3a:: is your load balancer (forwarding rule web-https-v6), and nginx \
             does not trust it"
        ),
        "{}",
        stderr(&out)
    );
}

/// nginx itself accepts the snippet (the `# …` comments after each directive included).
#[test]
fn nginx_accepts_the_snippet() {
    let Some(bin) = crate::util::nginx::require_nginx() else {
        return;
    };
    let text = assert_exit(
        &run(&[
            "nginx",
            "snippet",
            "gcp",
            "-q",
            "--lb-ips-from",
            RULES,
            "--lb-ips-from",
            ADDRESSES,
        ]),
        0,
    );
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let conf = dir.path().join("nginx.conf");
    fs::write(
        &conf,
        format!(
            "pid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{}}\nhttp {{\n{text}\n\
             access_log off;\nserver {{ listen 127.0.0.1:8080; }}\n}}\n"
        ),
    )
    .unwrap();
    let out = std::process::Command::new(bin)
        .args(["-t", "-p"])
        .arg(dir.path())
        .arg("-c")
        .arg(&conf)
        .output()
        .unwrap();
    assert!(out.status.success(), "nginx -t: {}", stderr(&out));
}

#[test]
fn google_ranges_must_be_a_google_list_and_a_listed_lb_ip_is_reported_once_with_its_rule() {
    let out = run(&[
        "nginx",
        "check",
        "--lb-ips-from",
        RULES,
        "--google-ranges",
        "testdata/ranges/fastly-public-ip-list.json",
        "testdata/gcp/nginx.conf",
    ]);
    assert_eq!(assert_exit(&out, 2), "");
    assert!(
        stderr(&out).contains("not Google's cloud.json"),
        "{}",
        stderr(&out)
    );

    let json = assert_exit(
        &run(&[
            "nginx",
            "check",
            "-o",
            "json",
            "--trust",
            "2600:1901:0:8c3a::",
            "--lb-ips-from",
            RULES,
            "testdata/gcp/nginx-missing-v6.conf",
        ]),
        2,
    );
    let v: Value = serde_json::from_str(&json).unwrap();
    let missing: Vec<&Value> = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "lb-ip-missing")
        .collect();
    assert_eq!(missing.len(), 1, "{json}");
    assert!(missing[0]["message"]
        .as_str()
        .unwrap()
        .contains("web-https-v6"));
}
