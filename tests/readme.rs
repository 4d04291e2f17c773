//! The README never lies: every command it shows runs here, with its output checked.
//!
//! What counts as a command, and how it is checked:
//! * ```` ```console ```` blocks: each `$ CMD` line (a trailing `\` continues it) runs in one
//!   bash session per block, from the repository root, with the test's `realip` first on
//!   `PATH`, on a pseudo-terminal (`script`), as a user would type it. The lines shown after
//!   it must match its output (stdout and stderr, as the terminal shows them), where a `...`
//!   line stands for any number of lines.
//! * A fenced block right after `<!-- readme-output: CMD -->` is CMD's output, checked alike.
//! * ```` ```sh ```` blocks: `cargo run --release -q -- ARGS` runs as `realip ARGS`, a
//!   `realip …` line as is; each must exit 0. `scripts/test` (this suite) and
//!   `scripts/bless-readme` are not run. A block that needs what a test cannot have (gcloud, /etc/nginx) says so in a
//!   `<!-- readme-test: not run: REASON -->` line before it.
//! * ```` ```cron ```` lines and `command = [...]` in ```` ```toml ```` blocks run with
//!   `/var/log/nginx/access.log` replaced by a copy of the sample log and `/var/lib/…` paths by
//!   a temporary directory: they must succeed (a `--check` answers with a status line) and
//!   print nothing on stderr, as cron expects.
//!
//! Every command's full output is also kept as a golden file in `testdata/expected/readme/`
//! (exit code last). After a deliberate change of output, regenerate the golden files and
//! the README's shown outputs with one script, `scripts/bless-readme`, and review the diff.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::fixture;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden_dir() -> PathBuf {
    fixture("expected/readme")
}

fn blessing() -> bool {
    std::env::var_os("REALIP_BLESS").is_some_and(|v| v == "1")
}

/// One command the README shows, with where its shown output sits in the README.
struct Shown {
    /// The command as written (continuations joined).
    cmd: String,
    /// README line indexes (0-based, end exclusive) of the shown output, if any.
    output: Option<(usize, usize)>,
}

/// A bash session: the commands of one console block, or one marked command.
struct Session {
    commands: Vec<Shown>,
}

struct Readme {
    lines: Vec<String>,
    sessions: Vec<Session>,
    /// (README line, command) from sh blocks.
    sh: Vec<(usize, String)>,
    /// (README line, argv) from cron and toml blocks.
    scheduled: Vec<(usize, Vec<String>)>,
    /// Commands a block says it does not run, with the reason.
    not_run: Vec<(usize, String)>,
}

fn parse(text: &str) -> Readme {
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut r = Readme {
        lines: lines.clone(),
        sessions: Vec::new(),
        sh: Vec::new(),
        scheduled: Vec::new(),
        not_run: Vec::new(),
    };
    let mut i = 0;
    while i < lines.len() {
        let Some(lang) = lines[i].strip_prefix("```") else {
            i += 1;
            continue;
        };
        let lang = lang.trim().to_string();
        let start = i + 1;
        let mut end = start;
        while end < lines.len() && !lines[end].starts_with("```") {
            end += 1;
        }
        let prev = (0..i)
            .rev()
            .map(|j| lines[j].trim())
            .find(|l| !l.is_empty())
            .unwrap_or("");
        let body = &lines[start..end];
        if let Some(cmd) = prev
            .strip_prefix("<!-- readme-output:")
            .and_then(|c| c.strip_suffix("-->"))
        {
            r.sessions.push(Session {
                commands: vec![Shown {
                    cmd: cmd.trim().to_string(),
                    output: Some((start, end)),
                }],
            });
        } else if lang == "console" {
            let mut session = Session {
                commands: Vec::new(),
            };
            let mut j = start;
            while j < end {
                let Some(first) = lines[j].strip_prefix("$ ") else {
                    panic!("README.md:{}: console output without a `$ ` command", j + 1);
                };
                let mut cmd = first.to_string();
                while cmd.ends_with('\\') && j + 1 < end {
                    cmd.pop();
                    j += 1;
                    cmd.push(' ');
                    cmd.push_str(lines[j].trim());
                }
                j += 1;
                let out_start = j;
                while j < end && !lines[j].starts_with("$ ") {
                    j += 1;
                }
                // A blank line before the next command separates, it is not output.
                let mut out_end = j;
                while out_end > out_start && j < end && lines[out_end - 1].trim().is_empty() {
                    out_end -= 1;
                }
                session.commands.push(Shown {
                    cmd,
                    output: Some((out_start, out_end)),
                });
            }
            r.sessions.push(session);
        } else if lang == "sh" {
            if let Some(reason) = prev
                .strip_prefix("<!-- readme-test: not run:")
                .and_then(|c| c.strip_suffix("-->"))
            {
                r.not_run.push((i + 1, reason.trim().to_string()));
            } else {
                for (k, l) in body.iter().enumerate() {
                    let l = l.trim();
                    // The suite itself, and the script that blesses this test's goldens.
                    if l.is_empty()
                        || l.starts_with('#')
                        || l == "scripts/test"
                        || l == "scripts/bless-readme"
                    {
                        continue;
                    }
                    let cmd = match l.strip_prefix("cargo run --release -q -- ") {
                        Some(rest) => format!("realip {rest}"),
                        None => l.to_string(),
                    };
                    assert!(
                        cmd.starts_with("realip "),
                        "README.md:{}: a sh command the tests cannot run ({l}); run it in a \
                         console block or say why with <!-- readme-test: not run: REASON -->",
                        start + k + 1
                    );
                    r.sh.push((start + k + 1, cmd));
                }
            }
        } else if lang == "cron" {
            for (k, l) in body.iter().enumerate() {
                let l = l.trim();
                if l.is_empty() || l.starts_with('#') {
                    continue;
                }
                let argv: Vec<String> = l.split_whitespace().skip(5).map(String::from).collect();
                r.scheduled.push((start + k + 1, argv));
            }
        } else if lang == "toml" {
            for (k, l) in body.iter().enumerate() {
                if let Some(array) = l.trim().strip_prefix("command = ") {
                    let argv: Vec<String> = serde_json::from_str(array).unwrap_or_else(|e| {
                        panic!(
                            "README.md:{}: command is not a JSON array: {e}",
                            start + k + 1
                        )
                    });
                    r.scheduled.push((start + k + 1, argv));
                }
            }
        }
        i = end + 1;
    }
    r
}

/// Epoch timestamps (a run's time) vary: replaced by `<EPOCH>`.
fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit()) {
            let mut j = i;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            let n: u64 = text[i..j].parse().unwrap_or(0);
            if j - i == 10 && (1_600_000_000..2_100_000_000).contains(&n) {
                out.push_str("<EPOCH>");
            } else {
                out.push_str(&text[i..j]);
            }
            i = j;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Whether the shown lines match the actual ones, `...` standing for any number of lines.
fn matches(shown: &[&str], actual: &[&str]) -> bool {
    match shown.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first.trim() == "..." => {
            (0..=actual.len()).any(|k| matches(rest, &actual[k..]))
        }
        Some((first, rest)) => actual
            .split_first()
            .is_some_and(|(a, arest)| first.trim_end() == a.trim_end() && matches(rest, arest)),
    }
}

/// The README text a blessing writes for `actual`, keeping the shown elision's shape.
fn blessed(shown: &[&str], actual: &[&str]) -> Vec<String> {
    let Some(first_gap) = shown.iter().position(|l| l.trim() == "...") else {
        return actual.iter().map(|l| l.to_string()).collect();
    };
    let last_gap = shown.iter().rposition(|l| l.trim() == "...").unwrap();
    let head = first_gap.min(actual.len());
    let tail = (shown.len() - last_gap - 1).min(actual.len() - head);
    let mut out: Vec<String> = actual[..head].iter().map(|l| l.to_string()).collect();
    out.push(shown[first_gap].to_string());
    out.extend(actual[actual.len() - tail..].iter().map(|l| l.to_string()));
    out
}

fn slug(cmd: &str) -> String {
    let mut s: String = cmd
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let s = s.trim_matches('-');
    let short: String = s.chars().take(60).collect();
    let hash = cmd.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{}-{:08x}.txt", short.trim_end_matches('-'), hash as u32)
}

/// `'…'` for sh, with embedded quotes closed and reopened.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

const MARK: &str = "@@realip-readme-command-done@@";

/// Runs the commands of a session in one bash; returns (output, exit code) per command.
fn run_session(cmds: &[&str]) -> Vec<(String, i32)> {
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_realip")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut script = String::new();
    for c in cmds {
        script.push_str(&format!(
            "{c}\n__rc=$?\nprintf '\\n{MARK} %s\\n' \"$__rc\"\n(exit $__rc)\n"
        ));
    }
    // On a terminal, as the README shows it: `script` runs the session on a pseudo-terminal
    // (stdout and stderr interleaved as a user sees them, notes shown as on a terminal).
    let out = Command::new("script")
        .args(["-q", "-e", "-c"])
        .arg(format!("bash -c {}", shell_quote(&script)))
        .arg("/dev/null")
        .stdin(std::process::Stdio::null())
        .current_dir(root())
        .env("PATH", path)
        .env("TZ", "UTC")
        .env("LC_ALL", "C.UTF-8")
        .env_remove("MACKEREL_AGENT_PLUGIN_META")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    // The terminal turns every newline into CR LF.
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    let mut results = Vec::new();
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        if let Some(code) = line.trim_end().strip_prefix(&format!("{MARK} ")) {
            // The marker's own leading newline: drop it (and only it).
            let output = current.strip_suffix('\n').unwrap_or(&current).to_string();
            results.push((output, code.parse().unwrap()));
            current.clear();
        } else {
            current.push_str(line);
        }
    }
    assert_eq!(
        results.len(),
        cmds.len(),
        "a README session stopped early:\n{text}"
    );
    results
}

#[test]
fn every_readme_command_runs_with_the_output_it_shows() {
    let readme_path = root().join("README.md");
    let text = std::fs::read_to_string(&readme_path).unwrap();
    let readme = parse(&text);
    assert!(
        readme.sessions.len() >= 5,
        "the README parser found too few commands"
    );
    let bless = blessing();
    if bless {
        std::fs::create_dir_all(golden_dir()).unwrap();
    }
    let mut goldens = BTreeSet::new();
    let mut failures = Vec::new();
    let mut rewrites: Vec<((usize, usize), Vec<String>)> = Vec::new();
    let mut check = |cmd: &str, output: &str, code: i32, shown: Option<(usize, usize)>| {
        let output = normalise(output);
        let name = slug(cmd);
        let golden = format!("$ {cmd}\n{output}\n[exit {code}]\n");
        let path = golden_dir().join(&name);
        if bless {
            std::fs::write(&path, &golden).unwrap();
        } else {
            match std::fs::read_to_string(&path) {
                Ok(g) if g == golden => {}
                Ok(g) => failures.push(format!(
                    "{cmd}\n  differs from {}:\n--- golden\n{g}--- got\n{golden}",
                    path.display()
                )),
                Err(_) => failures.push(format!("{cmd}\n  no golden file {}", path.display())),
            }
        }
        goldens.insert(name);
        if let Some((a, b)) = shown {
            let shown_lines: Vec<&str> = readme.lines[a..b].iter().map(String::as_str).collect();
            let actual: Vec<&str> = if output.is_empty() {
                Vec::new()
            } else {
                output.lines().collect()
            };
            if !matches(&shown_lines, &actual) {
                if bless {
                    rewrites.push(((a, b), blessed(&shown_lines, &actual)));
                } else {
                    failures.push(format!(
                        "README.md:{}: {cmd}\n--- README shows\n{}\n--- the command prints\n{}",
                        a + 1,
                        shown_lines.join("\n"),
                        actual.join("\n")
                    ));
                }
            }
        }
    };
    for session in &readme.sessions {
        let cmds: Vec<&str> = session.commands.iter().map(|c| c.cmd.as_str()).collect();
        let results = run_session(&cmds);
        for (shown, (output, code)) in session.commands.iter().zip(results) {
            check(&shown.cmd, &output, code, shown.output);
        }
    }
    let mut sh_failed = Vec::new();
    for (line, cmd) in &readme.sh {
        let (output, code) = run_session(&[cmd.as_str()]).remove(0);
        check(cmd, &output, code, None);
        sh_failed.extend(
            (code != 0).then(|| format!("README.md:{line}: {cmd}\n  exits {code}:\n{output}")),
        );
    }
    failures.extend(sh_failed);
    for (line, reason) in &readme.not_run {
        eprintln!("README.md:{line}: sh block not run: {reason}");
    }
    if bless && !rewrites.is_empty() {
        // Bottom up, so that earlier ranges stay valid.
        rewrites.sort_by_key(|r| r.0 .0);
        let mut lines = readme.lines.clone();
        for ((a, b), new) in rewrites.into_iter().rev() {
            lines.splice(a..b, new);
        }
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(&readme_path, text).unwrap();
    }
    // Orphans: golden files of commands the README no longer shows.
    if let Ok(entries) = std::fs::read_dir(golden_dir()) {
        for e in entries {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            if !goldens.contains(&name) {
                if bless {
                    std::fs::remove_file(golden_dir().join(&name)).unwrap();
                } else {
                    failures.push(format!(
                        "testdata/expected/readme/{name}: no README command has it"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "\n{}\n\nIf the new output is right, run scripts/bless-readme and review the diff.\n",
        failures.join("\n\n")
    );
}

/// The scheduled commands (cron lines, mackerel-agent.conf) run as pasted, with the paths
/// pointed at a copy of the sample log and a temporary state directory: they succeed and
/// print nothing on stderr.
#[test]
fn readme_cron_and_agent_commands_run_quietly() {
    let readme = parse(&std::fs::read_to_string(root().join("README.md")).unwrap());
    assert!(
        readme.scheduled.len() >= 3,
        "cron and mackerel-agent.conf commands"
    );
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::copy(fixture("logs/sample.log"), &log).unwrap();
    for (line, argv) in &readme.scheduled {
        let argv: Vec<String> = argv
            .iter()
            .map(|a| {
                if a == "/var/log/nginx/access.log" {
                    log.display().to_string()
                } else if let Some(rest) = a.strip_prefix("/var/lib/") {
                    dir.path()
                        .join(rest.replace('/', "_"))
                        .display()
                        .to_string()
                } else {
                    a.clone()
                }
            })
            .collect();
        assert_eq!(argv[0], "realip", "README.md:{line}");
        let out = crate::util::realip()
            .args(&argv[1..])
            .env_remove("MACKEREL_AGENT_PLUGIN_META")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let code = out.status.code().unwrap();
        if argv.iter().any(|a| a == "--check") {
            assert!(
                stdout.starts_with("REALIP ") && code <= 2,
                "README.md:{line}: {argv:?}\n{stdout}{stderr}"
            );
        } else {
            assert_eq!(code, 0, "README.md:{line}: {argv:?}\n{stderr}");
        }
        assert_eq!(stderr, "", "README.md:{line}: cron mails stderr: {argv:?}");
    }
}

#[test]
fn elision_and_blessing_keep_the_shape_of_the_shown_output() {
    assert!(matches(&["a", "...", "d"], &["a", "b", "c", "d"]));
    assert!(matches(&["a", "..."], &["a"]));
    assert!(!matches(&["a", "d"], &["a", "b", "d"]));
    assert!(!matches(&["a"], &["a", "b"]));
    assert_eq!(
        blessed(&["x", "...", "z"], &["a", "b", "c", "d"]),
        ["a", "...", "d"]
    );
    assert_eq!(blessed(&["x"], &["a", "b"]), ["a", "b"]);
    assert_eq!(normalise("t 1795644838 n 12"), "t <EPOCH> n 12");
}
