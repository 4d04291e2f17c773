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

/// The flags of one concept each, with the subcommands that take them today (more may).
const SHARED_FLAGS: &[(&str, &[&str])] = &[
    ("--trust", &["resolve", "scan", "nginx snippet"]),
    ("--header", &["resolve", "scan", "nginx snippet"]),
    ("--recursive", &["resolve", "scan", "nginx snippet"]),
    ("--no-recursive", &["resolve", "scan", "nginx snippet"]),
    ("--nginx-version", &["resolve", "scan"]),
    ("--nginx-conf", &["resolve", "scan"]),
    ("--server", &["resolve", "scan"]),
    ("--front-end", &["scan", "nginx check"]),
    ("--threads", &["scan"]),
    (
        "--lb-ips-from",
        &["resolve", "scan", "nginx check", "nginx snippet"],
    ),
];

/// Where a flag of the same name is another concept on purpose, and shared as such
/// (`cli/args.rs`): `nginx check --trust IP` names the addresses a configuration must trust
/// (load-balancer IPs and proxy subnets, no presets), and keeps its first name as an alias.
const VARIANTS: &[(&str, &str)] = &[("nginx check", "--trust")];

/// `realip ARGS --help`.
fn long_help(path: &[&str]) -> String {
    let out = realip().args(path).arg("--help").output().unwrap();
    assert_exit(&out, 0)
}

/// The leaf subcommands, as "nginx check", found from the help of every level.
fn subcommands(path: &[&str]) -> Vec<String> {
    let help = long_help(path);
    let names: Vec<String> = help
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "help")
        .map(str::to_string)
        .collect();
    if names.is_empty() {
        return vec![path.join(" ")];
    }
    names
        .iter()
        .flat_map(|n| {
            let mut sub = path.to_vec();
            sub.push(n);
            subcommands(&sub)
        })
        .collect()
}

/// Each flag's block in a long help, by long name: its line (`-j, --threads <N>`, aliases
/// and all) and its help text, defaults included, wherever the heading puts it.
fn flag_blocks(help: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in help.lines() {
        let flag = line.trim_start();
        let indent = line.len() - flag.len();
        if flag.starts_with('-') && (indent == 2 || indent == 6) {
            let long = flag
                .split([' ', ','])
                .find(|w| w.starts_with("--"))
                .unwrap_or(flag)
                .to_string();
            out.push((long, format!("{flag}\n")));
        } else if let Some((_, block)) = out.last_mut().filter(|_| indent >= 10 || flag.is_empty())
        {
            block.push_str(line.trim_end());
            block.push('\n');
        } else {
            // A heading ends the block.
            out.push((String::new(), String::new()));
        }
    }
    out.retain(|(long, _)| !long.is_empty());
    for (_, block) in &mut out {
        let trimmed = block.trim_end().len();
        block.truncate(trimmed);
    }
    out
}

#[test]
fn every_subcommand_that_takes_a_shared_flag_declares_it_word_for_word() {
    let subs = subcommands(&[]);
    assert!(subs.contains(&"nginx check".to_string()), "{subs:?}");
    let helps: Vec<(String, Vec<(String, String)>)> = subs
        .iter()
        .map(|s| {
            let path: Vec<&str> = s.split(' ').collect();
            (s.clone(), flag_blocks(&long_help(&path)))
        })
        .collect();
    for &(flag, known) in SHARED_FLAGS {
        let mut first: Option<(&str, &str)> = None;
        let mut takers = Vec::new();
        for (sub, blocks) in &helps {
            let Some((_, block)) = blocks.iter().find(|(long, _)| long == flag) else {
                continue;
            };
            takers.push(sub.as_str());
            if VARIANTS.contains(&(sub.as_str(), flag)) {
                continue;
            }
            match first {
                None => first = Some((sub, block)),
                Some((first_sub, first_block)) => assert!(
                    first_block == block,
                    "`realip {sub}` declares {flag} unlike `realip {first_sub}`: flatten the \
                     shared group from src/cli/args.rs instead of declaring it by hand\n\
                     --- {first_sub}\n{first_block}\n--- {sub}\n{block}\n"
                ),
            }
        }
        for k in known {
            assert!(takers.contains(k), "`realip {k}` no longer takes {flag}");
        }
    }
    for &(sub, flag) in VARIANTS {
        let (_, blocks) = helps.iter().find(|(s, _)| s == sub).unwrap();
        let block = &blocks.iter().find(|(l, _)| l == flag).unwrap().1;
        assert!(block.contains("[alias: --lb-ip]"), "{block}");
    }
}
