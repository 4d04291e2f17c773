//! `--output html` in a real browser: headless Chromium (Debian's `chromium`) renders the page;
//! the rendered DOM must have every chart and table, the page's own script must have run
//! (its CSP hash is right), nothing may reach the console (no error, no CSP violation), and
//! XSS payloads in every field of the log must render as text and run nothing.
//! Fails (never skips) under `CI=true` when Chromium is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{assert_exit, realip};

/// The Chromium binary, or `None` after a loud message when it is missing outside CI.
fn chromium() -> Option<PathBuf> {
    for p in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(p).exists() {
            return Some(PathBuf::from(p));
        }
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("chromium not found; CI=true requires it (apt-get install -y chromium)");
    }
    eprintln!(
        "\n********************************************************************\n\
         * chromium not found: the HTML report browser tests did NOT run.    *\n\
         * Install it (apt-get install -y chromium); with CI=true: an error. *\n\
         ********************************************************************\n"
    );
    None
}

/// What the browser made of a page.
struct Rendered {
    /// The DOM after load (scripts run), serialised.
    dom: String,
    /// Everything the page wrote to the console, CSP violations included.
    console: Vec<String>,
}

/// Loads `page` in headless Chromium and returns the rendered DOM and the console lines.
fn render(chromium: &Path, page: &Path) -> Rendered {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let console = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    Rendered {
        dom: String::from_utf8_lossy(&out.stdout).into_owned(),
        console,
    }
}

/// A log line format with every attacker-controlled field a report shows.
const FORMAT: &str = "$remote_addr [$time_iso8601] \"$request\" $status $body_bytes_sent \
                      \"$http_referer\" \"$http_user_agent\" \"$http_x_forwarded_for\" \
                      $realip_remote_addr $request_time $host";

/// Payloads: each would change the page title (or add an element) if it ever ran.
const PAYLOADS: [&str; 5] = [
    "<script>document.title='pwned1'</script>",
    "\"><img src=x onerror=\"document.title='pwned2'\">",
    "</script><script>document.title='pwned3'</script>",
    "javascript:document.title='pwned4'",
    "'--><svg onload=document.title='pwned5'>",
];

fn hostile_log(dir: &Path) -> PathBuf {
    let mut text = String::new();
    for i in 0..300u32 {
        // As nginx writes them: `"` escaped as \x22, `<`, `>` and `'` as they came.
        let p = PAYLOADS[i as usize % PAYLOADS.len()].replace('"', "\\x22");
        let p = p.as_str();
        // Paths, hosts, user agents, referers and XFF entries all carry a payload; LB
        // 34.120.5.9 is forgotten on every third line.
        let (logged, xff) = if i % 3 == 0 {
            (
                "34.120.5.9".to_string(),
                format!("{p}, 203.0.113.{}, 34.120.5.9", i % 200 + 1),
            )
        } else {
            (
                format!("203.0.113.{}", i % 200 + 1),
                format!("{p}, 203.0.113.{}, 34.120.5.6", i % 200 + 1),
            )
        };
        text.push_str(&format!(
            "{logged} [2026-11-25T10:{:02}:{:02}+00:00] \"GET /p/{p}/{i} HTTP/1.1\" {} 10 \
             \"{p}\" \"{p}\" \"{xff}\" 35.191.0.{} 0.{:03} {}\n",
            i / 10 % 60,
            i % 60,
            [200, 404, 503][i as usize % 3],
            i % 200 + 1,
            i % 1000,
            p.replace(' ', "")
        ));
    }
    let p = dir.join("hostile.log");
    std::fs::write(&p, text).unwrap();
    p
}

fn report(args: &[&str], dir: &Path) -> PathBuf {
    let page = dir.join("report.html");
    let out = realip()
        .args(["scan", "--output", "html", "--output-file"])
        .arg(&page)
        .args(args)
        .output()
        .unwrap();
    assert_exit(&out, 0);
    page
}

#[test]
fn the_report_renders_its_charts_and_tables_with_a_quiet_console() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let sample = crate::util::fixture("logs/sample.log");
    let page = report(
        &[
            "--trust",
            "gcp,34.120.5.6",
            "--group-by",
            "route",
            "--bucket",
            "1s",
            sample.to_str().unwrap(),
        ],
        dir.path(),
    );
    let html = std::fs::read_to_string(&page).unwrap();
    // Nothing from the network: no src/href to anywhere.
    for needle in ["src=\"http", "href=\"http", "url(", "@import"] {
        assert!(!html.contains(needle), "{needle} in the page");
    }
    let r = render(&chromium, &page);
    assert!(r.console.is_empty(), "console: {:#?}", r.console);
    for id in [
        "chart-requests",
        "chart-latency",
        "chart-distribution",
        "chart-misresolved",
    ] {
        let at = r
            .dom
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no #{id} in the rendered DOM"));
        let svg = &r.dom[at..];
        assert!(
            svg[..svg.find("</figure>").unwrap()].contains("<svg"),
            "#{id} has no svg"
        );
    }
    assert!(r.dom.contains("<title>realip report</title>"));
    assert!(r.dom.contains("id=\"verdict\""));
    assert!(r.dom.contains("set_real_ip_from"), "the fix is shown");
    assert!(r.dom.contains("id=\"lb-ips\""), "forgotten LB IPs table");
    // The page's one script ran (so its CSP hash is right) and found the groups table.
    assert!(
        r.dom.contains("data-ready=\"yes\""),
        "the sort script did not run"
    );
    assert!(r.dom.matches("<tr data-i=").count() >= 5, "top routes rows");
}

/// The attribute names of a serialised tag (`td class="key" title="…"` -> class, title).
fn attribute_names(tag: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut quote: Option<char> = None;
    let mut word = String::new();
    let mut first = true;
    for c in tag.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c.is_whitespace() || c == '=' || c == '/' => {
                if !word.is_empty() {
                    if !first {
                        names.push(std::mem::take(&mut word));
                    }
                    word.clear();
                    first = false;
                }
            }
            None => word.push(c),
        }
    }
    if !word.is_empty() && !first {
        names.push(word);
    }
    names
}

#[test]
fn payloads_in_every_field_render_as_text_and_run_nothing() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = hostile_log(dir.path());
    for group in ["route", "host", "client"] {
        let page = report(
            &[
                "--log-format",
                FORMAT,
                "--trust",
                "gcp,34.120.5.6",
                "--group-by",
                group,
                "--bucket",
                "1m",
                log.to_str().unwrap(),
            ],
            dir.path(),
        );
        let r = render(&chromium, &page);
        assert!(
            r.console.is_empty(),
            "--group-by {group}: console: {:#?}",
            r.console
        );
        assert!(
            r.dom.contains("<title>realip report</title>") && !r.dom.contains("pwned1<"),
            "--group-by {group}: a payload ran"
        );
        let lower = r.dom.to_ascii_lowercase();
        assert!(
            !lower.contains("<img"),
            "--group-by {group}: an img element was created"
        );
        assert_eq!(
            lower.matches("<script").count(),
            2,
            "--group-by {group}: only the data block and the page's script"
        );
        // No element carries an event handler (in text, `<` is `&lt;`, so every `<` here
        // starts a real tag).
        for tag in lower.split('<').skip(1) {
            let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
            for name in attribute_names(tag) {
                assert!(
                    !name.starts_with("on") && name != "href" && name != "src",
                    "--group-by {group}: attribute {name} in <{tag}>"
                );
            }
        }
        // Shown as text: escaped in the serialised DOM.
        if group == "route" {
            assert!(
                r.dom
                    .contains("&lt;script&gt;document.title='pwned1'&lt;/script&gt;"),
                "the route payload is shown as text"
            );
        }
        if group == "host" {
            assert!(r.dom.contains("javascript:document.title='pwned4'"));
            assert!(!lower.contains("href=\"javascript"));
        }
        // Spoofed XFF values reach the audit's list, as text.
        assert!(r.dom.contains("Most spoofed values"), "--group-by {group}");
    }
}

#[test]
fn the_browser_check_catches_a_script_that_runs_and_a_csp_violation() {
    // The detector itself: a page that breaks the rules must be caught.
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("bad.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" \
         content=\"default-src 'none'\"><title>t</title></head><body>\
         <script>document.title='ran'</script></body></html>",
    )
    .unwrap();
    let r = render(&chromium, &page);
    assert!(
        r.console
            .iter()
            .any(|l| l.contains("Content Security Policy")),
        "{:#?}",
        r.console
    );
    let page = dir.path().join("bad2.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><head><title>t</title></head><body>\
         <script>document.title='ran'; missing();</script></body></html>",
    )
    .unwrap();
    let r = render(&chromium, &page);
    assert!(r.dom.contains("<title>ran</title>"));
    assert!(r.console.iter().any(|l| l.contains("ReferenceError")));
}
