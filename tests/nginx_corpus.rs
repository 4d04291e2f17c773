//! The corpus in `testdata/nginx/corpus/`: configurations shaped like the ones people run
//! (whole configurations and fragments; Google Cloud, Cloudflare, AWS, Fastly, Docker,
//! OpenResty and ingress-nginx; stale and complete provider lists), each checked three ways:
//!
//! * `realip nginx check` gives exactly the findings (and exit code) in `NAME.expected`.
//!   Extra flags come from a `# check: …` comment near the top of the file. Set
//!   `REALIP_BLESS=1` to rewrite the expected files, then review the diff like code.
//! * Every `.conf` file under the corpus (included files too) parses to the same tree as
//!   crossplane's (nginx-crossplane 0.5.14, read with its Python API so that fragments are
//!   not refused for their context). Fails under `CI=true` when crossplane is missing.
//! * Every whole configuration (one with `events`) passes `nginx -t`, run on a copy in a
//!   temporary prefix, unless its `# nginx-t: refuses TEXT` comment says nginx must refuse
//!   it (with TEXT in its message) or `# nginx-t: lua` says it uses `*_by_lua_block`: those
//!   need OpenResty's Lua module, which Debian's nginx does not have, so `nginx -t` cannot
//!   accept them here; the test lists them on stderr. Fails under `CI=true` when nginx is
//!   missing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use realip::nginx::ast::{ConfFile, Config};
use realip::nginx::lexer;

use crate::nginx_parse::{diff, render_crossplane, render_ours};
use crate::util::nginx::require_nginx;
use crate::util::{fixture, realip};

fn corpus_dir() -> PathBuf {
    fixture("nginx/corpus")
}

/// The corpus configurations (top-level `.conf` files), sorted.
fn configs() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.ends_with(".conf").then_some(name)
        })
        .collect();
    names.sort();
    names
}

/// Every `.conf` file under the corpus, included ones too, relative to it.
fn all_files(dir: &Path, rel: &str, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().into_string().unwrap();
        let r = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if e.file_type().unwrap().is_dir() {
            all_files(&e.path(), &r, out);
        } else if name.ends_with(".conf") {
            out.push(r);
        }
    }
}

/// The value of a `# KEY: value` comment among a file's first lines.
fn meta(name: &str, key: &str) -> Option<String> {
    let bytes = std::fs::read(corpus_dir().join(name)).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let prefix = format!("# {key}: ");
    text.lines()
        .take(6)
        .find_map(|l| l.trim_start_matches('\u{feff}').strip_prefix(&prefix))
        .map(str::to_string)
}

/// Whether a configuration is a whole one (nginx's main file), not a fragment.
fn is_whole(name: &str) -> bool {
    let bytes = std::fs::read(corpus_dir().join(name)).unwrap();
    let directives = lexer::parse(&bytes, 0).unwrap();
    directives.iter().any(|d| d.name == "events")
}

#[test]
fn the_corpus_holds_at_least_40_configs_of_every_shape() {
    let names = configs();
    assert!(names.len() >= 40, "{} configurations", names.len());
    let whole = names.iter().filter(|n| is_whole(n)).count();
    assert!(whole >= 25, "{whole} whole configurations");
    assert!(
        names.len() - whole >= 10,
        "{} fragments",
        names.len() - whole
    );
    for shape in [
        "gcp-",
        "cloudflare-",
        "aws-",
        "fastly-",
        "docker-",
        "openresty-",
        "ingress-",
        "frag-",
    ] {
        assert!(names.iter().any(|n| n.starts_with(shape)), "{shape}");
    }
    for name in &names {
        let expected = corpus_dir().join(name.replace(".conf", ".expected"));
        assert!(
            expected.is_file() || bless(),
            "{name} has no .expected file"
        );
    }
}

fn bless() -> bool {
    std::env::var("REALIP_BLESS").is_ok_and(|v| v == "1")
}

#[test]
fn every_corpus_config_gets_exactly_its_expected_findings() {
    let mut failures = Vec::new();
    for name in configs() {
        let mut cmd = realip();
        cmd.current_dir(corpus_dir()).args(["nginx", "check"]);
        if let Some(args) = meta(&name, "check") {
            cmd.args(args.split_whitespace());
        }
        let out = cmd.arg(&name).output().unwrap();
        let got = format!(
            "{}--- exit {}\n",
            String::from_utf8_lossy(&out.stdout),
            out.status.code().unwrap_or(-1)
        );
        let path = corpus_dir().join(name.replace(".conf", ".expected"));
        if bless() {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_default();
        if expected != got {
            let lines = |s: &str| s.lines().map(str::to_string).collect::<Vec<_>>();
            failures.push(format!(
                "{name} (- expected, + got; stderr: {}):\n{}",
                String::from_utf8_lossy(&out.stderr),
                diff(&lines(&expected), &lines(&got))
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// crossplane's Python API on one file: no includes, no context or argument checks (a
/// fragment's directives are not "allowed here" at the top level).
const CROSSPLANE_PY: &str = "import json, sys, crossplane\n\
    print(json.dumps(crossplane.parse(sys.argv[1], single=True, check_ctx=False, \
    check_args=False, catch_errors=False)))";

/// Whether `python3 -c 'import crossplane'` works; loud (or fatal under CI) when not.
fn crossplane_python() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import crossplane"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let msg =
            "crossplane is not importable by python3 (pip install nginx-crossplane==0.5.14); \
                   the corpus parity test cannot run";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        eprintln!("\n*** SKIPPED: {msg} ***\n");
    }
    ok
}

#[test]
fn every_corpus_file_parses_exactly_as_crossplane_does() {
    if !crossplane_python() {
        return;
    }
    let base = corpus_dir();
    let mut files = Vec::new();
    all_files(&base, "", &mut files);
    files.sort();
    let mut failures = Vec::new();
    let mut compared = 0;
    for rel in &files {
        let path = base.join(rel);
        let out = Command::new("python3")
            .args(["-c", CROSSPLANE_PY])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "crossplane on {rel}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            json["status"], "ok",
            "crossplane on {rel}: {}",
            json["errors"]
        );
        // A byte-order mark: crossplane keeps it in the first directive's name (as nginx
        // does, which refuses it); realip reads the name without it and reports the mark.
        if let Some(first) = json["config"][0]["parsed"].get_mut(0) {
            let name = first["directive"].as_str().unwrap_or_default().to_string();
            if let Some(stripped) = name.strip_prefix('\u{feff}') {
                first["directive"] = serde_json::Value::from(stripped);
            }
        }
        let theirs = render_crossplane(&json, &base);
        let bytes = std::fs::read(&path).unwrap();
        let directives = lexer::parse(&bytes, 0).unwrap_or_else(|e| panic!("{rel}: {e:?}"));
        let ours = render_ours(
            &Config {
                files: vec![ConfFile {
                    path: path.clone(),
                    directives,
                    bom: lexer::has_bom(&bytes),
                }],
                unmatched: Vec::new(),
            },
            &base,
        );
        let theirs: BTreeMap<_, _> = theirs.into_iter().collect();
        for (file, expected) in &theirs {
            compared += expected.len();
            let got = ours.get(file).cloned().unwrap_or_default();
            if *expected != got {
                failures.push(format!(
                    "{file} differs (- crossplane, + realip):\n{}",
                    diff(expected, &got)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert!(compared > 1000, "only {compared} lines compared");
}

/// Copies the corpus into `dir`, reading absolute includes the way `# check: --prefix` and
/// `--prefix-map` tell realip to, so that nginx sees the same files.
fn copy_corpus(dir: &Path, name: &str) {
    let mut files = Vec::new();
    all_files(&corpus_dir(), "", &mut files);
    let mut maps: Vec<(String, String)> = Vec::new();
    if let Some(args) = meta(name, "check") {
        let words: Vec<&str> = args.split_whitespace().collect();
        for pair in words.windows(2) {
            match pair {
                ["--prefix", d] => {
                    maps.push(("/etc/nginx/".into(), format!("{}/", dir.join(d).display())))
                }
                ["--prefix-map", m] => {
                    let (from, to) = m.split_once('=').unwrap();
                    maps.push((from.into(), dir.join(to).display().to_string()));
                }
                _ => {}
            }
        }
    }
    for rel in files {
        let mut bytes = std::fs::read(corpus_dir().join(&rel)).unwrap();
        for (from, to) in &maps {
            let text = String::from_utf8_lossy(&bytes).replace(from, to);
            if text.as_bytes() != bytes.as_slice() && !bytes.contains(&0xff) {
                bytes = text.into_bytes();
            }
        }
        let target = dir.join(&rel);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, bytes).unwrap();
    }
    for d in ["logs", "html", "sites-enabled-empty"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
}

#[test]
fn whole_corpus_configs_pass_nginx_t_unless_marked() {
    let Some(nginx) = require_nginx() else {
        return;
    };
    let mut failures = Vec::new();
    let mut lua = Vec::new();
    let mut checked = 0;
    for name in configs().into_iter().filter(|n| is_whole(n)) {
        let mark = meta(&name, "nginx-t");
        if mark.as_deref() == Some("lua") {
            lua.push(name);
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        copy_corpus(dir.path(), &name);
        let out = Command::new(&nginx)
            .arg("-t")
            .arg("-p")
            .arg(format!("{}/", dir.path().display()))
            .arg("-c")
            .arg(dir.path().join(&name))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        checked += 1;
        match mark.as_deref().and_then(|m| m.strip_prefix("refuses ")) {
            Some(text) => {
                if out.status.success() || !stderr.contains(text) {
                    failures.push(format!(
                        "{name}: nginx -t should refuse it ({text}):\n{stderr}"
                    ));
                }
            }
            None => {
                if !out.status.success() {
                    failures.push(format!("{name}: nginx -t failed:\n{stderr}"));
                }
            }
        }
    }
    eprintln!(
        "nginx -t ran on {checked} whole corpus configurations; not run on {} that use \
         *_by_lua_block, which Debian's nginx (no Lua module) cannot accept: {}",
        lua.len(),
        lua.join(", ")
    );
    assert!(checked >= 25, "only {checked} configurations checked");
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn the_readme_gives_every_rule_an_example_and_shows_a_corpus_check_as_printed() {
    let readme = std::fs::read_to_string(fixture("../README.md")).unwrap();
    for rule in realip::nginx::lint::RULES {
        assert!(
            readme.contains(&format!("| `{}` |", rule.id)),
            "README's rule table lacks {}",
            rule.id
        );
    }
    let out = realip()
        .current_dir(corpus_dir())
        .args(["nginx", "check", "frag-cloudflare-stale.conf"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        readme.contains(&format!(
            "$ cd testdata/nginx/corpus && realip nginx check frag-cloudflare-stale.conf\n{text}```"
        )),
        "README must show what the tool prints:\n{text}"
    );
}

/// Rules about a single line, which a fix line must never trip.
const LINE_RULES: &[&str] = &[
    "hostname-in-trust",
    "invalid-trust",
    "trusts-internet",
    "host-bits-set",
    "never-matches",
    "header-case",
    "invalid-realip-directive",
    "provider-list-stale",
    "duplicate-trust",
    "shadowed-trust",
    "unknown-log-format",
];

#[test]
fn every_corpus_finding_says_what_to_do_and_no_fix_trips_another_rule() {
    // See: issue #11: "fixes never suggest what another rule warns against".
    let dir = tempfile::tempdir().unwrap();
    let mut fixes = 0;
    for name in configs() {
        let mut cmd = realip();
        cmd.current_dir(corpus_dir())
            .args(["nginx", "check", "--output", "json"]);
        if let Some(args) = meta(&name, "check") {
            cmd.args(args.split_whitespace());
        }
        let out = cmd.arg(&name).output().unwrap();
        let findings: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{name}: {e}: {}", String::from_utf8_lossy(&out.stdout)));
        for f in findings.as_array().unwrap() {
            assert!(
                f["fix"].is_string() || f["remove"].is_string(),
                "{name}: a finding with neither fix nor remove: {f}"
            );
            let Some(fix) = f["fix"].as_str() else {
                continue;
            };
            fixes += 1;
            let path = dir.path().join("fix.conf");
            std::fs::write(&path, fix).unwrap();
            let out = realip()
                .args(["nginx", "check", "--context", "server", "--output", "json"])
                .arg(&path)
                .output()
                .unwrap();
            let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            for g in got.as_array().unwrap() {
                let id = g["id"].as_str().unwrap();
                assert!(
                    !LINE_RULES.contains(&id),
                    "{name}: the fix of {} trips {id}:\n{fix}\n{}",
                    f["id"],
                    g["message"]
                );
            }
        }
    }
    assert!(fixes >= 40, "only {fixes} fixes tried");
}
