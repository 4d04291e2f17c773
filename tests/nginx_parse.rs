//! nginx configuration parsing through `realip::nginx::{load, parse_str, parse_dump}`.
//!
//! * Every sample in `testdata/nginx/` loads; `gcp.conf` pulls in `conf.d/*.conf` in nginx's
//!   order (depth first, globs sorted byte-wise).
//! * Globs, depth-first order and files included twice, on generated trees.
//! * Errors: golden messages in `testdata/nginx/errors/*.conf` (the configuration, a `---`
//!   line, the expected message; helper files beside them end in `.inc`). Set
//!   `REALIP_BLESS=1` to rewrite the expected messages, then review the diff.
//! * `dump.txt` (real `nginx -T` output for `gcp.conf`) splits into the same tree as loading
//!   the files.
//! * Positions of a few directives.
//! * crossplane parity: every sample's tree equals crossplane's (`pip install nginx-crossplane==0.5.14`);
//!   fails under `CI=true` when crossplane is missing, says SKIPPED loudly otherwise.
//! * Neither the lexer nor the parser panics on arbitrary bytes; quoted values round-trip.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use proptest::prelude::*;
use realip::nginx::ast::{Config, Directive, Pos};
use realip::nginx::{lexer, load, parse_dump, parse_str};

use crate::util::fixture;

/// The sample configurations crossplane must agree on.
const SAMPLES: &[&str] = &[
    "gcp.conf",
    "bad-realip.conf",
    "cloudflare.conf",
    "quoting.conf",
];

fn sample(name: &str) -> Config {
    let path = fixture("nginx").join(name);
    load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The paths of a config's files relative to `base`, in order.
fn names(config: &Config, base: &Path) -> Vec<String> {
    config
        .files
        .iter()
        .map(|f| {
            let p = f.path.strip_prefix(base).unwrap_or(&f.path);
            p.display().to_string()
        })
        .collect()
}

fn find<'a>(directives: &'a [Directive], name: &str) -> &'a Directive {
    directives
        .iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("no {name} in {directives:?}"))
}

fn block(d: &Directive) -> &[Directive] {
    d.block
        .as_deref()
        .unwrap_or_else(|| panic!("{} has no block", d.name))
}

/// Writes `files` (relative path, content) under a new temporary directory.
fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    dir
}

#[test]
fn every_sample_loads() {
    for name in SAMPLES.iter().chain(&["dump.txt"]) {
        let config = sample(name);
        assert!(!config.files.is_empty(), "{name}");
        assert!(!config.expanded().is_empty(), "{name}");
    }
    assert_eq!(sample("gcp.conf").files.len(), 3);
    assert_eq!(sample("bad-realip.conf").files.len(), 1);
}

#[test]
fn gcp_includes_conf_d_sorted_bytewise_like_nginx() {
    let base = fixture("nginx");
    let config = sample("gcp.conf");
    // "B" (0x42) sorts before "a" (0x61), as nginx's glob() sorts and its `nginx -T` shows.
    assert_eq!(
        names(&config, &base),
        ["gcp.conf", "conf.d/B-health.conf", "conf.d/a-upstream.conf"]
    );
    let http = find(&config.files[0].directives, "http");
    let include = find(block(http), "include");
    assert_eq!(include.includes, [1, 2]);
    // Expanded, the include is replaced by the health server, then the upstream.
    let expanded = config.expanded();
    let http = find(&expanded, "http");
    let tail: Vec<&str> = block(http)
        .iter()
        .rev()
        .take(2)
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(tail, ["upstream", "server"]);
    assert!(block(http).iter().all(|d| d.name != "include"));
}

#[test]
fn globs_sort_whole_paths_bytewise_skip_hidden_files_and_may_match_nothing() {
    let dir = tree(&[
        (
            "nginx.conf",
            "include */x.conf;\ninclude sites/*.conf;\ninclude none/*.conf;\n",
        ),
        ("a/x.conf", "a;\n"),
        ("a-b/x.conf", "a_b;\n"),
        ("sites/b.conf", "b;\n"),
        ("sites/B.conf", "big_b;\n"),
        ("sites/.hidden.conf", "hidden;\n"),
        ("sites/b.conf.bak", "backup;\n"),
    ]);
    let config = load(&dir.path().join("nginx.conf")).unwrap();
    // Whole paths sorted: "a-b/" < "a/" because '-' < '/'; a per-directory walk would
    // put a/x.conf first.
    assert_eq!(
        names(&config, dir.path()),
        [
            "nginx.conf",
            "a-b/x.conf",
            "a/x.conf",
            "sites/B.conf",
            "sites/b.conf"
        ]
    );
    let includes: Vec<&[usize]> = config.files[0]
        .directives
        .iter()
        .map(|d| d.includes.as_slice())
        .collect();
    assert_eq!(includes, [&[1, 2][..], &[3, 4], &[]]);
}

#[test]
fn double_star_is_a_single_star_as_in_glob3() {
    let dir = tree(&[
        ("nginx.conf", "include conf/**/*.conf;\n"),
        ("conf/one/a.conf", "a;\n"),
        ("conf/one/two/b.conf", "b;\n"),
    ]);
    let config = load(&dir.path().join("nginx.conf")).unwrap();
    assert_eq!(
        names(&config, dir.path()),
        ["nginx.conf", "conf/one/a.conf"]
    );
}

#[test]
fn includes_are_read_depth_first_and_a_file_included_twice_is_listed_once() {
    let dir = tree(&[
        (
            "nginx.conf",
            "http {\n    include a.conf;\n    include b.conf;\n}\n",
        ),
        ("a.conf", "include c.conf;\nserver { include c.conf; }\n"),
        ("b.conf", "b;\n"),
        ("c.conf", "c;\n"),
    ]);
    let config = load(&dir.path().join("nginx.conf")).unwrap();
    assert_eq!(
        names(&config, dir.path()),
        ["nginx.conf", "a.conf", "c.conf", "b.conf"]
    );
    let a = &config.files[1].directives;
    assert_eq!(a[0].includes, [2]);
    assert_eq!(block(&a[1])[0].includes, [2]);
    // Expanded, c's directive appears at both places.
    let http = find(&config.expanded(), "http").clone();
    let names: Vec<&str> = block(&http).iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["c", "server", "b"]);
}

#[test]
fn absolute_include_paths_are_used_as_they_are() {
    let dir = tree(&[("abs.conf", "x;\n")]);
    let main = format!("include {}/abs.conf;\n", dir.path().display());
    let dir2 = tree(&[("nginx.conf", &main)]);
    let config = load(&dir2.path().join("nginx.conf")).unwrap();
    assert_eq!(config.files[1].path, dir.path().join("abs.conf"));
}

#[test]
fn parse_str_does_not_follow_includes() {
    let config = parse_str("http { include conf.d/*.conf; }\n", Path::new("x.conf")).unwrap();
    assert_eq!(config.files.len(), 1);
    assert_eq!(config.files[0].path, Path::new("x.conf"));
    let http = &config.files[0].directives[0];
    assert!(block(http)[0].includes.is_empty());
}

#[test]
fn parse_str_splits_a_dump() {
    let text = std::fs::read_to_string(fixture("nginx/dump.txt")).unwrap();
    let config = parse_str(&text, Path::new("dump.txt")).unwrap();
    assert_eq!(config, parse_dump(&text).unwrap());
    assert_eq!(config.files.len(), 3);
}

#[test]
fn the_dump_splits_into_the_same_tree_as_loading_the_files() {
    let base = fixture("nginx");
    let files = sample("gcp.conf");
    let text = std::fs::read_to_string(base.join("dump.txt")).unwrap();
    for dump in [parse_dump(&text).unwrap(), sample("dump.txt")] {
        // The dump was made from a copy installed as /etc/nginx/nginx.conf.
        let mut expected = names(&files, &base);
        expected[0] = "nginx.conf".into();
        assert_eq!(names(&dump, Path::new("/etc/nginx")), expected);
        for (got, want) in dump.files.iter().zip(&files.files) {
            assert_eq!(got.directives, want.directives, "{}", got.path.display());
        }
        assert_eq!(dump.expanded(), files.expanded());
    }
}

#[test]
fn a_dump_never_reads_the_filesystem() {
    // /etc/nginx may well exist on this machine; the dump's include must still resolve
    // only among the dump's files.
    let text = "# configuration file /etc/nginx/nginx.conf:\ninclude /etc/nginx/*.conf;\n\n";
    let config = parse_dump(text).unwrap();
    assert_eq!(config.files.len(), 1);
    assert!(config.files[0].directives[0].includes.is_empty());
    let missing = "# configuration file /etc/nginx/nginx.conf:\ninclude mime.types;\n\n";
    let err = parse_dump(missing).unwrap_err().to_string();
    assert!(
        err.starts_with(
            "/etc/nginx/nginx.conf:1:9: include \"mime.types\": no such file \
             (/etc/nginx/mime.types)"
        ),
        "{err}"
    );
}

#[test]
fn positions_are_lines_and_byte_columns() {
    let config = sample("gcp.conf");
    let main = &config.files[0].directives;
    let http = find(main, "http");
    assert_eq!(
        http.pos,
        Pos {
            file: 0,
            line: 16,
            col: 1
        }
    );
    let header = find(block(http), "real_ip_header");
    assert_eq!(
        header.pos,
        Pos {
            file: 0,
            line: 25,
            col: 5
        }
    );
    assert_eq!(
        header.args[0].pos,
        Pos {
            file: 0,
            line: 25,
            col: 20
        }
    );
    let json = block(http)
        .iter()
        .find(|d| d.name == "log_format" && d.args[0].value == "json")
        .unwrap();
    assert_eq!(json.args.len(), 12);
    assert!(json.args[2].quoted && !json.args[1].quoted);
    assert_eq!(
        json.args[3].pos,
        Pos {
            file: 0,
            line: 31,
            col: 33
        }
    );
    let internal = block(find(block(http), "server"))
        .iter()
        .find(|d| d.name == "location" && d.args[0].value == "/internal/")
        .unwrap();
    let own = &block(internal)[0];
    assert_eq!(
        (own.name.as_str(), own.args[0].value.as_str()),
        ("set_real_ip_from", "10.0.0.0/8")
    );
    assert_eq!(
        own.pos,
        Pos {
            file: 0,
            line: 58,
            col: 13
        }
    );
    // Positions in an included file carry its index.
    let health = find(&config.files[1].directives, "server");
    assert_eq!(
        health.pos,
        Pos {
            file: 1,
            line: 3,
            col: 1
        }
    );
    assert_eq!(
        config.path(health.pos),
        fixture("nginx/conf.d/B-health.conf").display().to_string()
    );
}

#[test]
fn quoting_sample_values_are_unescaped_as_nginx_does() {
    let config = sample("quoting.conf");
    let http = find(&config.files[0].directives, "http");
    let header = |name: &str| -> String {
        block(http)
            .iter()
            .find(|d| d.args.first().is_some_and(|a| a.value == name))
            .unwrap_or_else(|| panic!("{name}"))
            .args[1]
            .value
            .clone()
    };
    assert_eq!(header("X-Fragment"), "a#b");
    assert_eq!(header("X-Apostrophe"), "it's");
    assert_eq!(header("X-Double"), "a b; {c} #d");
    assert_eq!(header("X-Empty"), "");
    assert_eq!(header("X-Escaped-Double"), r#"say "hi" and it's \ok\"#);
    assert_eq!(header("X-Escaped-Single"), r#"say 'hi' and "bye""#);
    assert_eq!(header("X-Unquoted-Escapes"), r#"a"b'c\d\;e\ f"#);
    assert_eq!(header("X-Tab"), "a\tb");
    assert_eq!(header("X-Split"), "value");
    assert_eq!(header("X-Quoted-Name"), "yes");
}

// ---- golden error messages -------------------------------------------------------------

/// Splits an error fixture into its configuration and expected message.
fn split_fixture(bytes: &[u8]) -> (&[u8], String) {
    let sep = b"\n---\n";
    let at = bytes
        .windows(sep.len())
        .rposition(|w| w == sep)
        .expect("a line \"---\" before the expected message");
    let expected = String::from_utf8(bytes[at + sep.len()..].to_vec()).unwrap();
    (&bytes[..=at], expected.trim_end_matches('\n').to_string())
}

#[test]
fn error_messages_match_the_golden_files() {
    let dir = fixture("nginx/errors");
    let tmp = tempfile::tempdir().unwrap();
    let mut fixtures = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        let bytes = std::fs::read(&path).unwrap();
        if path.extension().is_some_and(|e| e == "conf") {
            let (config, expected) = split_fixture(&bytes);
            std::fs::write(tmp.path().join(&name), config).unwrap();
            fixtures.push((path, expected));
        } else {
            std::fs::write(tmp.path().join(&name), &bytes).unwrap();
        }
    }
    fixtures.sort();
    assert!(
        fixtures.len() >= 10,
        "only {} error fixtures",
        fixtures.len()
    );
    let bless = std::env::var_os("REALIP_BLESS").is_some();
    let mut failures = Vec::new();
    for (path, expected) in &fixtures {
        let name = path.file_name().unwrap();
        let got = match load(&tmp.path().join(name)) {
            Ok(config) => format!("(loaded without error: {} files)", config.files.len()),
            Err(e) => e
                .to_string()
                .replace(&format!("{}/", tmp.path().display()), ""),
        };
        if &got == expected {
            continue;
        }
        if bless {
            let bytes = std::fs::read(path).unwrap();
            let (config, _) = split_fixture(&bytes);
            let mut out = config.to_vec();
            out.extend_from_slice(format!("---\n{got}\n").as_bytes());
            std::fs::write(path, out).unwrap();
        }
        failures.push(format!(
            "{}\n---- expected\n{expected}\n---- got\n{got}\n",
            path.display()
        ));
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn a_missing_main_file_is_an_input_error() {
    let err = load(Path::new("/nonexistent/nginx.conf")).unwrap_err();
    assert!(
        matches!(
            err,
            realip::Error::Input {
                kind: Some(std::io::ErrorKind::NotFound),
                ..
            }
        ),
        "{err:?}"
    );
}

// ---- crossplane parity -----------------------------------------------------------------

/// How to run crossplane here, if it is installed.
pub(crate) fn crossplane() -> Option<Vec<String>> {
    let works = |cmd: &[&str]| {
        Command::new(cmd[0])
            .args(&cmd[1..])
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    [&["crossplane"][..], &["python3", "-m", "crossplane"]]
        .into_iter()
        .find(|cmd| works(cmd))
        .map(|cmd| cmd.iter().map(|s| s.to_string()).collect())
}

/// One line per directive: indentation, line, name, arguments (JSON-quoted), included files.
fn render(
    out: &mut Vec<String>,
    depth: usize,
    line: u64,
    name: &str,
    args: &[String],
    includes: &[String],
) {
    let args: Vec<String> = args
        .iter()
        .map(|a| serde_json::to_string(a).unwrap())
        .collect();
    let mut s = format!(
        "{:indent$}{line} {name} {}",
        "",
        args.join(" "),
        indent = depth * 2
    );
    if !includes.is_empty() {
        s.push_str(&format!(" -> {}", includes.join(", ")));
    }
    out.push(s);
}

/// Our tree, rendered per file with the normalisations crossplane applies: `if`'s
/// parentheses stripped from its first and last arguments.
pub(crate) fn render_ours(config: &Config, base: &Path) -> BTreeMap<String, Vec<String>> {
    fn walk(config: &Config, base: &Path, ds: &[Directive], depth: usize, out: &mut Vec<String>) {
        for d in ds {
            let mut args: Vec<String> = d.args.iter().map(|a| a.value.clone()).collect();
            if d.name == "if" {
                prepare_if_args(&mut args);
            }
            let includes: Vec<String> = d
                .includes
                .iter()
                .map(|&i| rel(&config.files[i].path, base))
                .collect();
            render(out, depth, u64::from(d.pos.line), &d.name, &args, &includes);
            if let Some(b) = &d.block {
                out.push(format!("{:indent$}{{", "", indent = depth * 2));
                walk(config, base, b, depth + 1, out);
                out.push(format!("{:indent$}}}", "", indent = depth * 2));
            }
        }
    }
    config
        .files
        .iter()
        .map(|f| {
            let mut out = Vec::new();
            walk(config, base, &f.directives, 0, &mut out);
            (rel(&f.path, base), out)
        })
        .collect()
}

/// crossplane's `_prepare_if_args`.
fn prepare_if_args(args: &mut Vec<String>) {
    let (Some(first), Some(last)) = (args.first(), args.last()) else {
        return;
    };
    if !(first.starts_with('(') && last.ends_with(')')) {
        return;
    }
    let n = args.len();
    args[0] = args[0][1..].trim_start().to_string();
    let l = args[n - 1].len();
    args[n - 1] = args[n - 1][..l - 1].trim_end().to_string();
    if args[n - 1].is_empty() {
        args.pop();
    }
    if args.first().is_some_and(String::is_empty) {
        args.remove(0);
    }
}

fn rel(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

/// crossplane's tree, rendered the same way. Its arguments keep nginx's escapes, so they
/// go through nginx's unescaping first; comment entries (which crossplane emits for
/// comments between arguments even without `--include-comments`) are dropped.
pub(crate) fn render_crossplane(
    json: &serde_json::Value,
    base: &Path,
) -> BTreeMap<String, Vec<String>> {
    use serde_json::Value;
    let configs = json["config"].as_array().expect("config list");
    let paths: Vec<String> = configs
        .iter()
        .map(|c| rel(Path::new(c["file"].as_str().unwrap()), base))
        .collect();
    fn walk(paths: &[String], ds: &[Value], depth: usize, out: &mut Vec<String>) {
        for d in ds {
            let name = d["directive"].as_str().unwrap();
            if name == "#" {
                continue;
            }
            let args: Vec<String> = d["args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    let raw = a.as_str().unwrap();
                    // A Lua body is OpenResty's, read as written (no nginx unescaping).
                    if lexer::is_lua_block(name) {
                        return raw.to_string();
                    }
                    String::from_utf8_lossy(&lexer::unescape(raw.as_bytes())).into_owned()
                })
                .collect();
            let includes: Vec<String> = d
                .get("includes")
                .and_then(Value::as_array)
                .map(|v| {
                    v.iter()
                        .map(|i| paths[i.as_u64().unwrap() as usize].clone())
                        .collect()
                })
                .unwrap_or_default();
            render(
                out,
                depth,
                d["line"].as_u64().unwrap(),
                name,
                &args,
                &includes,
            );
            if let Some(b) = d.get("block").and_then(Value::as_array) {
                out.push(format!("{:indent$}{{", "", indent = depth * 2));
                walk(paths, b, depth + 1, out);
                out.push(format!("{:indent$}}}", "", indent = depth * 2));
            }
        }
    }
    configs
        .iter()
        .zip(&paths)
        .map(|(c, path)| {
            let mut out = Vec::new();
            walk(&paths, c["parsed"].as_array().unwrap(), 0, &mut out);
            (path.clone(), out)
        })
        .collect()
}

/// A line diff (longest common subsequence): ` ` common, `-` crossplane only, `+` ours only.
pub(crate) fn diff(expected: &[String], got: &[String]) -> String {
    let (n, m) = (expected.len(), got.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == got[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut lines) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && expected[i] == got[j] {
            lines.push(format!("  {}", expected[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            lines.push(format!("+ {}", got[j]));
            j += 1;
        } else {
            lines.push(format!("- {}", expected[i]));
            i += 1;
        }
    }
    // Changed lines with three lines of context around them.
    let changed: Vec<usize> = (0..lines.len())
        .filter(|&k| !lines[k].starts_with(' '))
        .collect();
    let near = |k: usize| changed.iter().any(|&c| c.abs_diff(k) <= 3);
    let mut out = String::new();
    let mut skipped = false;
    for (k, line) in lines.iter().enumerate() {
        if near(k) {
            out.push_str(line);
            out.push('\n');
            skipped = false;
        } else if !skipped {
            out.push_str("  ...\n");
            skipped = true;
        }
    }
    out
}

#[test]
fn every_sample_parses_exactly_as_crossplane_does() {
    let Some(cmd) = crossplane() else {
        let msg = "crossplane is not installed (pip install nginx-crossplane==0.5.14); \
                   the crossplane parity test cannot run";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg}");
        }
        // Written to stderr directly, past the test harness's capture.
        let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {msg} ***\n");
        return;
    };
    let base = fixture("nginx");
    let mut failures = Vec::new();
    let mut compared = 0;
    for name in SAMPLES {
        let path = base.join(name);
        let out = Command::new(&cmd[0])
            .args(&cmd[1..])
            .args(["parse", "--no-catch"])
            .arg(&path)
            .output()
            .expect("run crossplane");
        assert!(
            out.status.success(),
            "crossplane failed on {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            json["status"], "ok",
            "crossplane on {name}: {}",
            json["errors"]
        );
        let theirs = render_crossplane(&json, &base);
        let ours = render_ours(&sample(name), &base);
        assert_eq!(
            theirs.keys().collect::<Vec<_>>(),
            ours.keys().collect::<Vec<_>>(),
            "{name}: files"
        );
        for (file, expected) in &theirs {
            compared += expected.len();
            let got = &ours[file];
            if expected != got {
                failures.push(format!(
                    "{name}: {file} differs (- crossplane, + realip):\n{}",
                    diff(expected, got)
                ));
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    assert!(compared > 100, "only {compared} lines compared");
}

#[test]
fn the_parity_diff_is_readable() {
    let lines = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let a = lines(&["1 a", "2 b", "3 c", "4", "5", "6", "7", "8"]);
    let b = lines(&["1 a", "2 x", "3 c", "4", "5", "6", "7", "8"]);
    assert_eq!(
        diff(&a, &b),
        "  1 a\n+ 2 x\n- 2 b\n  3 c\n  4\n  5\n  ...\n"
    );
}

// ---- no panics, round trips ------------------------------------------------------------

/// Fragments that reach every branch of the lexer when strung together.
const FRAGMENTS: &[&[u8]] = &[
    b" ",
    b"\t",
    b"\n",
    b"\r\n",
    b";",
    b"{",
    b"}",
    b"#",
    b"\"",
    b"'",
    b"\\",
    b"$",
    b"${",
    b"(",
    b")",
    b"a",
    b"if",
    b"include",
    b"\xc3\xa9",
    b"\xff",
    b"x y;",
    b"a { b; }",
    b"\"q\"",
    b"access_by_lua_block {",
    b"set_by_lua_block $v {",
    b"--",
    b"--[[",
    b"[==[",
    b"]]",
    b"]==]",
    b"\xef\xbb\xbf",
];

fn config(cases: u32) -> ProptestConfig {
    let env = std::env::var("PROPTEST_CASES").ok();
    ProptestConfig {
        cases: env.and_then(|n| n.parse().ok()).unwrap_or(cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn the_lexer_and_parser_never_panic_on_arbitrary_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..512)
    ) {
        let _ = lexer::tokenize(&bytes);
        let _ = lexer::parse(&bytes, 0);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = parse_str(text, Path::new("fuzz.conf"));
            let _ = parse_dump(text);
        }
    }

    #[test]
    fn the_lexer_never_panics_on_strings_of_syntax(
        picks in proptest::collection::vec(0..FRAGMENTS.len(), 0..64)
    ) {
        let bytes: Vec<u8> = picks.iter().flat_map(|&i| FRAGMENTS[i].iter().copied()).collect();
        let tokens = lexer::tokenize(&bytes);
        let parsed = lexer::parse(&bytes, 0);
        // Whatever the lexer accepts, errors come with a position inside the input.
        for e in [tokens.err(), parsed.err()].into_iter().flatten() {
            let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
            prop_assert!(e.line >= 1 && e.line as usize <= lines, "{e:?}");
            prop_assert!(e.col >= 1, "{e:?}");
        }
    }

    #[test]
    fn values_written_in_double_quotes_round_trip(
        values in proptest::collection::vec("[ -~\t\n\u{e9}\u{4e16}]{0,20}", 1..6)
    ) {
        let quoted: Vec<String> = values
            .iter()
            .map(|v| format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
            .collect();
        let text = format!("name {};\n", quoted.join(" "));
        let config = parse_str(&text, Path::new("t.conf")).unwrap();
        let got: Vec<&str> = config.files[0].directives[0].arg_values();
        prop_assert_eq!(got, values.iter().map(String::as_str).collect::<Vec<_>>());
    }
}

#[test]
fn error_positions_in_included_files_name_that_file() {
    let dir = tree(&[
        ("nginx.conf", "http {\n    include site.conf;\n}\n"),
        ("site.conf", "server {\n    listen 80\n}\n"),
    ]);
    let err = load(&dir.path().join("nginx.conf"))
        .unwrap_err()
        .to_string();
    let site: PathBuf = dir.path().join("site.conf");
    assert!(
        err.starts_with(&format!(
            "{}:3:1: unexpected \"}}\": directive \"listen\" is not terminated by \";\"",
            site.display()
        )),
        "{err}"
    );
}
