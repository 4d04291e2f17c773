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
    ("--threads", &["scan", "nginx check"]),
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

/// A help text with every run of whitespace as one space: clap wraps long help to the width.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn what_a_shared_flag_means_in_one_subcommand_is_in_that_subcommands_help() {
    // clap drops a doc comment on a `#[command(flatten)]` field: these notes were written
    // there once and never reached --help.
    for (path, wants) in [
        (
            &["resolve"][..],
            &[
                "--lb-ips-from",
                "join --trust; with --nginx-conf they are only named: a result that is one of \
                 your LB IPs is reported on stderr with its forwarding rule.",
            ][..],
        ),
        (
            &["scan"][..],
            &[
                "join --trust, so the audit judges by a declared trust even without --trust; \
                 with --nginx-conf they are only named.",
                "the audit names the forwarding rule of every LB IP it reports.",
            ][..],
        ),
        (
            &["nginx", "snippet"][..],
            &[
                "What to trust: --trust, PRESET arguments, --ranges-file or --lb-ips-from \
                 (at least one).",
                "one commented set_real_ip_from line per Application LB address, and the gcp \
                 preset when global external Application LBs are listed.",
            ][..],
        ),
        (
            &["nginx", "check"][..],
            &[
                "there is no --header, --recursive or --nginx-version here, on purpose",
                "--front-end and -j/--threads work as in `scan`.",
            ][..],
        ),
    ] {
        let help = flat(&long_help(path));
        for want in wants {
            assert!(
                help.contains(&flat(want)),
                "`realip {} --help` lacks {want:?}:\n{help}",
                path.join(" ")
            );
        }
    }
}

#[test]
fn no_flattened_field_in_src_cli_carries_a_doc_comment() {
    // A `///` comment on a `#[command(flatten)]` field reads like help but never reaches it;
    // say what a group means in the subcommand's own help instead (and `//` for the reader).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cli");
    let mut checked = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            if !line.trim_start().starts_with("#[command(flatten") {
                continue;
            }
            checked += 1;
            // The lines above the attribute, over any other attributes.
            let above = lines[..i]
                .iter()
                .rev()
                .map(|l| l.trim_start())
                .find(|l| !l.starts_with("#["))
                .unwrap_or("");
            assert!(
                !above.starts_with("///"),
                "{}:{}: a doc comment on a flattened field never reaches --help: {above:?}",
                path.display(),
                i + 1
            );
        }
    }
    assert!(checked >= 20, "only {checked} flattened fields found");
}

/// The headings of `realip scan --help` by flag, in order: ("Options", "--log-format"), ….
fn headings(help: &str) -> Vec<(String, String)> {
    let mut heading = String::new();
    let mut out = Vec::new();
    for line in help.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            heading = line.trim_end_matches(':').to_string();
        } else if let Some(long) = line
            .trim_start()
            .strip_prefix('-')
            .and_then(|_| line.split([' ', ',']).find(|w| w.starts_with("--")))
        {
            out.push((heading.clone(), long.to_string()));
        }
    }
    out
}

#[test]
fn scan_help_shows_each_flag_under_the_heading_that_fits_it() {
    let help = long_help(&["scan"]);
    let got = headings(&help);
    let under = |flag: &str| {
        got.iter()
            .find(|(_, l)| l == flag)
            .map(|(h, _)| h.as_str())
            .unwrap_or_else(|| panic!("{flag} missing from scan --help:\n{help}"))
    };
    for (flag, heading) in [
        ("--log-format", "Options"),
        ("--threads", "Options"),
        ("--no-progress", "Options"),
        ("--percentiles", "Summary"),
        ("--max-groups", "Summary"),
        ("--no-summary", "Summary"),
        ("--since", "Selection and time"),
        ("--trust", "Audit"),
        ("--lb-ips-from", "Audit"),
        ("--nginx-version", "Audit"),
        ("--no-audit", "Audit"),
        ("--check", "Alerting"),
        ("--buckets", "Metrics"),
    ] {
        assert_eq!(under(flag), heading, "{flag}");
    }
}

#[test]
fn nginx_check_log_takes_threads_like_scan() {
    let conf = fixture("nginx/gcp.conf").display().to_string();
    let check = |extra: &[&str]| {
        realip()
            .args(["nginx", "check", "--output", "json", "--log"])
            .arg(sample())
            .args(extra)
            .arg(&conf)
            .output()
            .unwrap()
    };
    let default = check(&[]);
    let default_json = assert_exit(&default, 2);
    for j in [&["-j", "1"][..], &["--threads", "2"][..]] {
        let out = check(j);
        assert_eq!(assert_exit(&out, 2), default_json, "{j:?}");
        assert_eq!(out.stderr, default.stderr, "{j:?}");
    }
    // A value scan refuses is refused the same way.
    let err = |args: &[&str]| {
        let out = realip().args(args).output().unwrap();
        assert_exit(&out, 2);
        let text = String::from_utf8_lossy(&out.stderr).into_owned();
        text.lines().next().unwrap_or_default().to_string()
    };
    assert_eq!(
        err(&["nginx", "check", "--log", "x.log", "-j", "many", "x.conf"]),
        err(&["scan", "-j", "many", "x.log"])
    );
    // Without --log there is nothing to read in parallel: refused, not silently ignored.
    let out = realip()
        .args(["nginx", "check", "-j", "2"])
        .arg(&conf)
        .output()
        .unwrap();
    assert_exit(&out, 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--log <FILE>"), "{stderr}");
}

#[test]
fn nginx_check_log_takes_header_and_recursion_from_the_configuration_only() {
    // On purpose: the audit of --log answers what this configuration does.
    for flag in [
        &["--header", "X-Real-IP"][..],
        &["--nginx-version", "1.22"][..],
    ] {
        let out = realip()
            .args(["nginx", "check", "--log"])
            .arg(sample())
            .args(flag)
            .arg(fixture("nginx/gcp.conf"))
            .output()
            .unwrap();
        assert_exit(&out, 2);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("unexpected argument"), "{flag:?}: {stderr}");
    }
}
