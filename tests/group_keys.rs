//! Issue #13, item 7: `--group-by` with several keys (`host,route`). Counts per (host, route)
//! pair against hand counts on a generated log, the JSON `keys` object, one table and TSV
//! column and one Prometheus label per key (checked with promtool), merge of two halves equal
//! to one scan of the whole, and merge refusing another key list.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::util::rng::Rng;
use crate::util::{assert_exit, realip};

const FORMAT: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status \
                      $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_time $host";

/// A log of `n` lines and the hand count of every (host, route) pair, the route folded by
/// hand (`/api/users/<n>` -> `/api/users/{id}`, the query dropped).
fn generate(seed: u64, n: usize) -> (Vec<String>, BTreeMap<(String, String), u64>) {
    let mut rng = Rng(seed);
    let mut counts = BTreeMap::new();
    let lines = (0..n)
        .map(|i| {
            let host = rng.pick(&["a.example", "b.example", "c.example"]);
            let (path, route) = match rng.below(3) {
                0 => {
                    let id = rng.below(900) + 1;
                    (format!("/api/users/{id}"), "/api/users/{id}".to_string())
                }
                1 => (
                    format!("/healthz?probe={}", rng.below(3)),
                    "/healthz".to_string(),
                ),
                // A comma in the route: the pair must still split back exactly.
                _ => ("/a,b".to_string(), "/a,b".to_string()),
            };
            let status = rng.pick(&[200, 200, 404, 502]);
            *counts.entry((host.to_string(), route)).or_insert(0) += 1;
            format!(
                "192.0.2.{} - - [25/Nov/2026:10:{:02}:{:02} +0000] \"GET {path} HTTP/1.1\" {status} \
                 {} \"-\" \"ua\" 0.{:03} {host}\n",
                i % 250 + 1,
                i / 60 % 60,
                i % 60,
                rng.below(5000),
                rng.below(1000),
            )
        })
        .collect();
    (lines, counts)
}

fn write(dir: &Path, name: &str, lines: &[String]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, lines.concat()).unwrap();
    p.display().to_string()
}

fn scan(args: &[&str]) -> String {
    let out = realip()
        .args(["scan", "--log-format", FORMAT, "--top", "100"])
        .args(args)
        .output()
        .unwrap();
    assert_exit(&out, 0)
}

#[test]
fn counts_per_host_and_route_equal_hand_counts_with_a_keys_object() {
    let (lines, counts) = generate(crate::util::rng::seed("REALIP_GROUP_KEYS_SEED", 7), 900);
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", &lines);
    // Comma-separated and repeated spell the same thing.
    for args in [
        vec!["--group-by", "host,route"],
        vec!["--group-by", "host", "--group-by", "route"],
    ] {
        let mut all = args.clone();
        all.extend(["--output", "json", &log]);
        let v: Value = serde_json::from_str(&scan(&all)).unwrap();
        let s = &v["summary"];
        assert_eq!(s["group_by"], "host,route");
        assert_eq!(v["mergeable"]["options"]["group_by"], "host,route");
        let mut got = BTreeMap::new();
        for g in s["groups"].as_array().unwrap() {
            let keys = g["keys"].as_object().expect("a keys object per group");
            assert_eq!(keys.len(), 2, "{g}");
            let host = keys["host"].as_str().unwrap().to_string();
            let route = keys["route"].as_str().unwrap().to_string();
            assert_eq!(g["key"], format!("{host},{route}"));
            got.insert((host, route), g["requests"].as_u64().unwrap());
        }
        assert_eq!(got, counts);
        assert_eq!(s["requests"], 900);
    }
}

#[test]
fn one_key_has_no_keys_object_and_a_repeated_key_is_refused() {
    let (lines, _) = generate(3, 50);
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", &lines);
    let v: Value =
        serde_json::from_str(&scan(&["--group-by", "route", "--output", "json", &log])).unwrap();
    assert_eq!(v["summary"]["group_by"], "route");
    for g in v["summary"]["groups"].as_array().unwrap() {
        assert!(g.get("keys").is_none(), "{g}");
    }
    let out = realip()
        .args([
            "scan",
            "--log-format",
            FORMAT,
            "--group-by",
            "host,host",
            &log,
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--group-by host is given twice"), "{err}");
}

#[test]
fn table_and_tsv_have_one_column_per_key() {
    let (lines, counts) = generate(5, 300);
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", &lines);
    let table = scan(&["--group-by", "host,route", &log]);
    let at = table.find("by host,route:\n").expect(&table);
    let mut rows = table[at..].lines().skip(1);
    let header: Vec<&str> = rows.next().unwrap().split_whitespace().collect();
    assert_eq!(&header[..3], ["host", "route", "requests"], "{table}");
    let mut got = BTreeMap::new();
    for r in rows.take(counts.len()) {
        let cells: Vec<&str> = r.split_whitespace().collect();
        got.insert(
            (cells[0].to_string(), cells[1].to_string()),
            cells[2].replace(',', "").parse::<u64>().unwrap(),
        );
    }
    assert_eq!(got, counts, "{table}");

    let tsv = scan(&["--group-by", "host,route", "--output", "tsv", &log]);
    let mut lines = tsv.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    assert_eq!(&header[..4], ["key", "host", "route", "requests"]);
    let mut got = BTreeMap::new();
    for l in lines {
        let cells: Vec<&str> = l.split('\t').collect();
        assert_eq!(cells.len(), header.len(), "{l}");
        if cells[0] == "(total)" {
            assert_eq!((cells[1], cells[2], cells[3]), ("", "", "300"));
            continue;
        }
        got.insert(
            (cells[1].to_string(), cells[2].to_string()),
            cells[3].parse::<u64>().unwrap(),
        );
    }
    assert_eq!(got, counts, "{tsv}");
}

/// `promtool`, failing under CI=true when it is missing.
fn promtool() -> Option<PathBuf> {
    for p in ["/usr/bin/promtool", "/usr/local/bin/promtool"] {
        if Path::new(p).exists() {
            return Some(PathBuf::from(p));
        }
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("promtool not found; CI=true requires it (apt-get install -y prometheus)");
    }
    eprintln!("\n*** promtool not found: the exposition was NOT checked with promtool.\n");
    None
}

#[test]
fn prometheus_has_one_label_per_key_and_passes_promtool() {
    let (lines, counts) = generate(9, 400);
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", &lines);
    let text = scan(&["--group-by", "host,route", "--output", "prometheus", &log]);
    for ((host, route), n) in &counts {
        let series =
            format!("realip_group_requests_total{{host=\"{host}\",route=\"{route}\"}} {n}\n");
        assert!(text.contains(&series), "missing {series}in\n{text}");
        let count = format!(
            "realip_group_request_time_seconds_count{{host=\"{host}\",route=\"{route}\"}} {n}\n"
        );
        assert!(text.contains(&count), "missing {count}in\n{text}");
    }
    if let Some(tool) = promtool() {
        let out = crate::util::run_with_stdin(
            std::process::Command::new(tool).args(["check", "metrics"]),
            text.as_bytes(),
        );
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "promtool check metrics:\n{}{}\n--- input\n{text}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn merge(files: &[String]) -> std::process::Output {
    realip()
        .args(["merge", "-o", "json"])
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn merge_of_two_halves_equals_one_scan_of_the_whole_with_two_keys() {
    let (lines, _) = generate(11, 1000);
    let dir = tempfile::tempdir().unwrap();
    let halves = [
        write(dir.path(), "h1.log", &lines[..437]),
        write(dir.path(), "h2.log", &lines[437..]),
    ];
    // A small --max-groups: `others` and the deterministic selection take part too.
    let opts = [
        "--group-by",
        "host,route",
        "--max-groups",
        "5",
        "--output",
        "json",
    ];
    let mut jsons = Vec::new();
    for (i, h) in halves.iter().enumerate() {
        let f = dir.path().join(format!("h{i}.json"));
        std::fs::write(&f, scan(&[&opts[..], &[h.as_str()]].concat())).unwrap();
        jsons.push(f.display().to_string());
    }
    let merged = assert_exit(&merge(&jsons), 0);
    let whole = scan(&[&opts[..], &[halves[0].as_str(), halves[1].as_str()]].concat());
    crate::eqnice!(whole, merged);
    let v: Value = serde_json::from_str(&merged).unwrap();
    assert!(v["summary"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .all(|g| g["keys"].is_object()));

    // Another key list (even the same keys in another order) is refused.
    let other = dir.path().join("other.json");
    let swapped = [
        "--group-by",
        "route,host",
        "--max-groups",
        "5",
        "--output",
        "json",
    ];
    std::fs::write(
        &other,
        scan(&[&swapped[..], &[halves[1].as_str()]].concat()),
    )
    .unwrap();
    let out = merge(&[jsons[0].clone(), other.display().to_string()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("host,route") && err.contains("route,host"),
        "{err}"
    );
}

#[test]
fn state_totals_are_keyed_by_the_pair_across_runs() {
    let (lines, counts) = generate(13, 600);
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", &lines[..250]);
    let state = dir.path().join("prom.state").display().to_string();
    let args = [
        "--state",
        &state,
        "--group-by",
        "host,route",
        "--output",
        "prometheus",
        &log,
    ];
    scan(&args);
    // The log grows; the second run reads only the new lines, the counters hold all of them.
    std::fs::write(&log, lines.concat()).unwrap();
    let text = scan(&args);
    for ((host, route), n) in &counts {
        let series =
            format!("realip_group_requests_total{{host=\"{host}\",route=\"{route}\"}} {n}\n");
        assert!(text.contains(&series), "missing {series}in\n{text}");
    }
}
