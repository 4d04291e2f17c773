//! Issue #13 end to end: `--bucket` time series against counts computed independently from
//! the log's timestamps, `--since`/`--until` and `--filter` against hand counts, `merge` of
//! random splits equal to one scan of the whole, `diff` on two known logs.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::util::rng::Rng;
use crate::util::{assert_exit, realip};

/// A log format with every field the filter language reads.
const FORMAT: &str = "$remote_addr [$time_iso8601] \"$request\" $status $body_bytes_sent \
                      $request_time \"$http_x_forwarded_for\" $realip_remote_addr $host";

/// 2026-11-25T10:00:00Z.
const T0: i64 = 1_795_600_800;

#[derive(Clone, Debug)]
struct Line {
    time: i64,
    method: &'static str,
    path: String,
    status: u16,
    bytes: u64,
    rt_ms: u64,
    host: &'static str,
    client: String,
    text: String,
}

fn iso(t: i64) -> String {
    // Days from the civil date are not needed: every test time is on 2026-11-25 (UTC).
    let s = t - 1_795_564_800;
    assert!((0..86_400).contains(&s), "test times stay on one day");
    format!(
        "2026-11-25T{:02}:{:02}:{:02}+00:00",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

fn generate(rng: &mut Rng, n: usize, span: i64) -> Vec<Line> {
    (0..n)
        .map(|i| {
            // Not in time order: buckets must come from the timestamps.
            let time = T0 + rng.below(span as u64) as i64;
            let method = rng.pick(&["GET", "GET", "POST", "DELETE"]);
            let path = match rng.below(4) {
                0 => format!("/api/users/{}", rng.below(500)),
                1 => format!("/api/orders/{}?page={}", rng.below(90), rng.below(3)),
                2 => "/healthz".to_string(),
                _ => format!("/static/app.{:08x}.js", rng.below(3) + 0x1000_0000),
            };
            let status = rng.pick(&[200, 200, 200, 201, 301, 404, 499, 500, 503]);
            let bytes = rng.below(5000);
            let rt_ms = rng.below(2000);
            let host = rng.pick(&["a.example", "b.example"]);
            let client = format!("203.0.113.{}", rng.below(250) + 1);
            let lb = if i % 7 == 0 { "34.120.5.9" } else { "34.120.5.6" };
            let logged = if i % 7 == 0 { lb.to_string() } else { client.clone() };
            let text = format!(
                "{logged} [{}] \"{method} {path} HTTP/1.1\" {status} {bytes} {}.{:03} \"{client}, {lb}\" \
                 35.191.0.{} {host}\n",
                iso(time),
                rt_ms / 1000,
                rt_ms % 1000,
                rng.below(200) + 1
            );
            Line {
                time,
                method,
                path,
                status,
                bytes,
                rt_ms,
                host,
                client: logged,
                text,
            }
        })
        .collect()
}

fn write(dir: &Path, name: &str, lines: &[Line]) -> String {
    let p = dir.join(name);
    let text: String = lines.iter().map(|l| l.text.as_str()).collect();
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// `realip scan --output json` as text, exactly as written, with the trust declared.
fn scan_text(args: &[&str]) -> String {
    let mut all = vec!["--trust", "gcp,34.120.5.6"];
    all.extend_from_slice(args);
    scan_inferred(&all)
}

/// The same without `--trust`: the audit infers nginx's trust from the log.
fn scan_inferred(args: &[&str]) -> String {
    let out = realip()
        .args(["scan", "--output", "json", "--log-format", FORMAT])
        .args(args)
        .output()
        .unwrap();
    assert_exit(&out, 0)
}

fn scan(args: &[&str]) -> Value {
    let text = scan_text(args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn seed() -> u64 {
    crate::util::rng::seed("REALIP_SERIES_SEED", 13)
}

#[test]
fn buckets_equal_counts_computed_from_the_timestamps() {
    let seed = seed();
    let mut rng = Rng(seed);
    let lines = generate(&mut rng, 3000, 3 * 3600);
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "access.log", &lines);
    for (bucket, width) in [("5m", 300i64), ("1h", 3600), ("1m", 60)] {
        // Small chunks and two threads: buckets merge across workers.
        let v = scan(&[
            "--bucket",
            bucket,
            "-j2",
            "--chunk-bytes",
            "20000",
            "--block-bytes",
            "4096",
            &log,
        ]);
        let mut want: BTreeMap<i64, (u64, u64, u64)> = BTreeMap::new();
        for l in &lines {
            let e = want.entry(l.time.div_euclid(width) * width).or_default();
            e.0 += 1;
            if l.status >= 500 {
                e.2 += 1;
            }
            if l.client.starts_with("34.120.5.9") {
                e.1 += 1;
            }
        }
        let first = *want.keys().next().unwrap();
        let last = *want.keys().last().unwrap();
        let series = v["summary"]["series"].as_array().unwrap();
        assert_eq!(
            series.len() as i64,
            (last - first) / width + 1,
            "seed {seed} bucket {bucket}: empty buckets between first and last are listed"
        );
        for (i, p) in series.iter().enumerate() {
            let start = first + i as i64 * width;
            assert_eq!(p["start"], iso(start).replace("+00:00", "Z"), "seed {seed}");
            let (n, mis, c5) = want.get(&start).copied().unwrap_or_default();
            assert_eq!(p["requests"], n, "seed {seed} {bucket} bucket {i}");
            assert_eq!(
                p["status_class"]["5xx"], c5,
                "seed {seed} {bucket} bucket {i}"
            );
            assert_eq!(p["misresolved"], mis, "seed {seed} {bucket} bucket {i}");
            for k in ["p50", "p90", "p99", "max"] {
                assert!(
                    p["request_time"][k].is_f64() || (n == 0 && p["request_time"][k].is_null()),
                    "{k} of bucket {i}: {}",
                    p["request_time"]
                );
            }
        }
        assert_eq!(v["summary"]["bucket_seconds"], width);
        assert_eq!(v["summary"]["untimed"], 0);
    }
}

#[test]
fn series_shows_in_the_table_and_tsv() {
    let mut rng = Rng(7);
    let lines = generate(&mut rng, 200, 600);
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "a.log", &lines);
    let out = realip()
        .args([
            "scan",
            "--log-format",
            FORMAT,
            "--bucket",
            "5m",
            "-o",
            "table",
            &log,
        ])
        .output()
        .unwrap();
    let table = assert_exit(&out, 0);
    assert!(table.contains("over time (5m buckets"), "{table}");
    assert!(table.contains("2026-11-25T10:05:00Z"), "{table}");
    let out = realip()
        .args([
            "scan",
            "--log-format",
            FORMAT,
            "--bucket",
            "5m",
            "-o",
            "tsv",
            &log,
        ])
        .output()
        .unwrap();
    let tsv = assert_exit(&out, 0);
    let mut rows = tsv.lines();
    let header: Vec<&str> = rows.next().unwrap().split('\t').collect();
    assert_eq!(header.last(), Some(&"misresolved"));
    let mut total = 0;
    for r in rows {
        let cells: Vec<&str> = r.split('\t').collect();
        assert_eq!(cells.len(), header.len(), "one table: {r}");
        assert!(!r.contains("NaN"), "{r}");
        if cells[0].starts_with("time:") {
            total += cells[1].parse::<u64>().unwrap();
            // Percentiles a bucket does not keep are empty, never NaN.
            assert_eq!(cells[header.iter().position(|h| *h == "p75").unwrap()], "");
        }
    }
    assert_eq!(total, 200);
    assert!(tsv.contains("\naudit:misresolved\t"), "{tsv}");
}

#[test]
fn too_many_buckets_are_refused_with_a_hint() {
    let mut rng = Rng(3);
    let lines = generate(&mut rng, 50, 20_000);
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "a.log", &lines);
    let out = realip()
        .args(["scan", "--log-format", FORMAT, "--bucket", "1s", &log])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--bucket 1s") && err.contains("larger --bucket"),
        "{err}"
    );
}

#[test]
fn since_and_until_are_half_open_and_counted_as_filtered() {
    let seed = seed();
    let mut rng = Rng(seed);
    let lines = generate(&mut rng, 2000, 7200);
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "a.log", &lines);
    let since = T0 + 1800;
    let until = T0 + 3600;
    let kept = lines
        .iter()
        .filter(|l| l.time >= since && l.time < until)
        .count() as u64;
    // RFC 3339 and nginx $time_local spellings of the same instants.
    for (s, u) in [
        ("2026-11-25T10:30:00Z", "2026-11-25T11:00:00Z"),
        ("25/Nov/2026:11:30:00 +0100", "2026-11-25T12:00:00+01:00"),
    ] {
        let v = scan(&["--since", s, "--until", u, &log]);
        assert_eq!(v["summary"]["requests"], kept, "seed {seed}: {s} .. {u}");
        assert_eq!(v["filtered"], 2000 - kept, "seed {seed}");
        assert_eq!(v["parsed"], 2000);
        assert_eq!(
            v["malformed"]["count"], 0,
            "filtered lines are not malformed"
        );
        assert_eq!(v["audit"]["checked"], kept, "the audit sees the same lines");
    }
    // Relative: everything in the test log is long before "-1h".
    let v = scan(&["--since", "-1h", &log]);
    assert_eq!(v["summary"]["requests"], 0);
    assert_eq!(v["filtered"], 2000);
}

#[test]
fn filters_match_hand_counts() {
    let seed = seed();
    let mut rng = Rng(seed);
    let lines = generate(&mut rng, 2000, 3600);
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "a.log", &lines);
    type Pred = fn(&Line) -> bool;
    let cases: &[(&str, Pred)] = &[
        ("status >= 500", |l| l.status >= 500),
        ("status == 499 or status == 404", |l| {
            l.status == 499 || l.status == 404
        }),
        ("method == \"POST\" and not status < 300", |l| {
            l.method == "POST" && l.status >= 300
        }),
        ("host == \"b.example\"", |l| l.host == "b.example"),
        ("path =~ \"^/api/orders/\" and path !~ \"page\"", |l| {
            l.path.starts_with("/api/orders/")
        }),
        ("route == \"/api/users/{id}\"", |l| {
            l.path.starts_with("/api/users/")
        }),
        ("route == \"/static/app.{hash}.js\"", |l| {
            l.path.starts_with("/static/")
        }),
        ("request_time > 1.5 or request_time < 10ms", |l| {
            l.rt_ms > 1500 || l.rt_ms < 10
        }),
        ("bytes <= 100", |l| l.bytes <= 100),
        ("client == \"34.120.5.0/24\"", |l| {
            l.client.starts_with("34.120.5.")
        }),
        (
            "client != \"34.120.5.0/24\" and (status == 200 or status == 201)",
            |l| !l.client.starts_with("34.120.5.") && (l.status == 200 || l.status == 201),
        ),
    ];
    for (expr, pred) in cases {
        let want = lines.iter().filter(|l| pred(l)).count() as u64;
        let v = scan(&["--filter", expr, "-j2", "--chunk-bytes", "30000", &log]);
        assert_eq!(v["summary"]["requests"], want, "seed {seed}: {expr}");
        assert_eq!(v["filtered"], 2000 - want, "seed {seed}: {expr}");
    }
}

#[test]
fn filter_errors_point_at_the_column() {
    let out = realip()
        .args([
            "scan",
            "--filter",
            "status >= 500 and metod == \"GET\"",
            "-",
        ])
        .output()
        .unwrap();
    assert_exit(&out, 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--filter: column 19: unknown field 'metod'"),
        "{err}"
    );
    assert!(
        err.contains("  status >= 500 and metod == \"GET\"\n                    ^"),
        "{err}"
    );
}

/// Removes what names an input or a line in it: `inputs`, `samples`, `first`.
fn strip_places(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for k in ["inputs", "samples", "first"] {
                m.remove(k);
            }
            m.values_mut().for_each(strip_places);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_places),
        _ => {}
    }
}

fn merge(files: &[String], extra: &[&str]) -> std::process::Output {
    realip()
        .arg("merge")
        .args(extra)
        .args(files)
        .output()
        .unwrap()
}

#[test]
fn merge_of_random_splits_equals_one_scan_of_the_whole() {
    let seed = seed();
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    for round in 0..4 {
        let n = 600 + rng.below(600) as usize;
        let lines = generate(&mut rng, n, 5400);
        // Random split points, empty parts allowed.
        let k = 1 + rng.below(5) as usize;
        let mut cuts: Vec<usize> = (0..k - 1)
            .map(|_| rng.below(lines.len() as u64 + 1) as usize)
            .collect();
        cuts.push(0);
        cuts.push(lines.len());
        cuts.sort_unstable();
        let mut parts = Vec::new();
        for (i, w) in cuts.windows(2).enumerate() {
            parts.push(write(
                dir.path(),
                &format!("r{round}p{i}.log"),
                &lines[w[0]..w[1]],
            ));
        }
        let declared = ["--trust", "gcp,34.120.5.6"];
        let opts = [
            if round % 2 == 0 {
                declared[0]
            } else {
                "--front-end"
            },
            if round % 2 == 0 { declared[1] } else { "gcp" },
            "--group-by",
            "route",
            "--bucket",
            "10m",
            "--filter",
            "status != 301",
            "--top",
            "5",
        ];
        let mut jsons = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let mut args: Vec<&str> = opts.to_vec();
            args.push(p);
            let f = dir.path().join(format!("r{round}p{i}.json"));
            std::fs::write(&f, scan_inferred(&args)).unwrap();
            jsons.push(f.display().to_string());
        }
        let out = merge(&jsons, &["-o", "json"]);
        let merged = assert_exit(&out, 0);
        // One scan over every part, in order: byte-identical JSON.
        let mut args: Vec<&str> = opts.to_vec();
        args.extend(parts.iter().map(String::as_str));
        let whole_text = scan_inferred(&args);
        crate::eqnice!(whole_text, merged);
        // And the concatenated log: the same apart from the input list.
        let cat = write(dir.path(), &format!("r{round}all.log"), &lines);
        let mut args: Vec<&str> = opts.to_vec();
        args.push(&cat);
        let mut one: Value = serde_json::from_str(&scan_inferred(&args)).unwrap();
        let mut m: Value = serde_json::from_str(&merged).unwrap();
        // Apart from the inputs: their names, and the positions (path:line) of samples.
        strip_places(&mut one);
        strip_places(&mut m);
        assert_eq!(one, m, "seed {seed} round {round} with {k} parts");
    }
}

#[test]
fn merge_refuses_reports_made_with_other_options() {
    let mut rng = Rng(11);
    let lines = generate(&mut rng, 100, 600);
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "a.log", &lines);
    let mut files = Vec::new();
    for (i, extra) in [
        vec!["--group-by", "route"],
        vec!["--group-by", "host"],
        vec!["--group-by", "route", "--percentiles", "50,99"],
        vec!["--group-by", "route", "--trust", "34.120.5.9"],
    ]
    .iter()
    .enumerate()
    {
        let mut args = extra.clone();
        args.push(&log);
        let v = scan(&args);
        let f = dir.path().join(format!("{i}.json"));
        std::fs::write(&f, v.to_string()).unwrap();
        files.push(f.display().to_string());
    }
    for (other, what) in [(1, "--group-by"), (2, "--percentiles"), (3, "trust")] {
        let out = merge(&[files[0].clone(), files[other].clone()], &[]);
        assert_exit(&out, 2);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("made with other options") && err.contains(what),
            "{err}"
        );
    }
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"lines\": 1}").unwrap();
    let out = merge(&[bad.display().to_string()], &[]);
    assert_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no \"mergeable\" key"));
}

#[test]
fn diff_compares_two_known_logs_by_route() {
    let dir = tempfile::tempdir().unwrap();
    let mk = |name: &str, rows: &[(&str, u64, usize)]| {
        let mut text = String::new();
        for (path, ms, n) in rows {
            for i in 0..*n {
                text.push_str(&format!(
                    "203.0.113.1 [{}] \"GET {path} HTTP/1.1\" 200 10 {}.{:03} \"-\" 35.191.0.1 a.example\n",
                    iso(T0 + i as i64),
                    ms / 1000,
                    ms % 1000
                ));
            }
        }
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let v = scan(&["--group-by", "route", &p.display().to_string()]);
        let j = dir.path().join(format!("{name}.json"));
        std::fs::write(&j, v.to_string()).unwrap();
        j.display().to_string()
    };
    let before = mk(
        "before.log",
        &[("/a", 100, 10), ("/b", 200, 10), ("/gone", 50, 3)],
    );
    let after = mk(
        "after.log",
        &[("/a", 120, 10), ("/b", 900, 20), ("/new", 10, 1)],
    );
    let out = realip()
        .args(["diff", "-o", "json", &before, &after])
        .output()
        .unwrap();
    let v: Value = serde_json::from_str(&assert_exit(&out, 0)).unwrap();
    let rows = v["rows"].as_array().unwrap();
    let keys: Vec<&str> = rows.iter().map(|r| r["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        ["/b", "/a", "/gone", "/new"],
        "biggest p99 change first"
    );
    assert_eq!(rows[0]["before_count"], 10);
    assert_eq!(rows[0]["after_count"], 20);
    assert_eq!(rows[0]["count_change"], 10);
    assert_eq!(rows[0]["before_p99"], 0.2);
    assert_eq!(rows[0]["after_p99"], 0.9);
    assert_eq!(rows[0]["p99_change"], 0.7);
    assert_eq!(rows[1]["p50_change"], 0.02);
    assert!(rows[2]["after_count"].is_null());
    assert!(rows[3]["before_p99"].is_null());
    let out = realip().args(["diff", &before, &after]).output().unwrap();
    let table = assert_exit(&out, 0);
    let first = table.lines().nth(1).unwrap();
    assert!(
        first.starts_with("/b ") && first.ends_with("+0.700"),
        "{table}"
    );
}

#[test]
fn columns_pick_the_table_and_tsv_columns_in_order() {
    let mut rng = Rng(5);
    let lines = generate(&mut rng, 100, 600);
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "a.log", &lines);
    let run = |out: &str| {
        let o = realip()
            .args([
                "scan",
                "--log-format",
                FORMAT,
                "--group-by",
                "host",
                "-o",
                out,
            ])
            .args(["--columns", "key,p99,requests", &log])
            .output()
            .unwrap();
        assert_exit(&o, 0)
    };
    let tsv = run("tsv");
    assert_eq!(tsv.lines().next(), Some("key\tp99\trequests"));
    assert!(tsv.lines().all(|l| l.split('\t').count() == 3), "{tsv}");
    let table = run("table");
    let at = table.find("by host:").unwrap();
    let header = table[at..].lines().nth(1).unwrap();
    let words: Vec<&str> = header.split_whitespace().collect();
    assert_eq!(words, ["host", "p99", "requests"], "{table}");
    let o = realip()
        .args(["scan", "--columns", "key,p42", &log])
        .output()
        .unwrap();
    assert_exit(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown column \"p42\""));
}

/// `realip scan --output json ARGS` as written (no format or trust added).
fn scan_plain(args: &[&str]) -> String {
    let out = realip()
        .args(["scan", "-q", "--output", "json"])
        .args(args)
        .output()
        .unwrap();
    assert_exit(&out, 0)
}

/// testdata/gcp/access.log cut in two (lines 1-2, 3-5), so that each part shows LB IPs the
/// other does not: their paths.
fn gcp_log_in_two(dir: &Path) -> (String, String) {
    let log = std::fs::read_to_string(crate::util::fixture("gcp/access.log")).unwrap();
    let lines: Vec<&str> = log.split_inclusive('\n').collect();
    assert_eq!(lines.len(), 5, "the fixture changed");
    let a = dir.join("p1.log");
    let b = dir.join("p2.log");
    std::fs::write(&a, lines[..2].concat()).unwrap();
    std::fs::write(&b, lines[2..].concat()).unwrap();
    (a.display().to_string(), b.display().to_string())
}

#[test]
fn merge_carries_the_forwarding_rule_names_of_lb_ips_from() {
    // See: issue #12 (noticed in #13): merge dropped the names --lb-ips-from gives LB IPs.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = gcp_log_in_two(dir.path());
    let rules = crate::util::fixture("gcp/forwarding-rules.json");
    let rules = rules.to_str().unwrap();
    let mut files = Vec::new();
    for (i, part) in [&a, &b].into_iter().enumerate() {
        let f = dir.path().join(format!("p{i}.json"));
        std::fs::write(&f, scan_plain(&["--lb-ips-from", rules, part])).unwrap();
        files.push(f.display().to_string());
    }
    let merged = assert_exit(&merge(&files, &["-o", "json"]), 0);
    // Byte-identical to one scan of both parts, names included.
    let whole = scan_plain(&["--lb-ips-from", rules, &a, &b]);
    crate::eqnice!(whole, merged);
    let v: Value = serde_json::from_str(&merged).unwrap();
    let named: BTreeMap<String, Value> = ["unresolved_lb_ips", "trusted_lb_ips"]
        .iter()
        .flat_map(|k| v["audit"][k].as_array().unwrap().clone())
        .map(|l| (l["ip"].as_str().unwrap().to_string(), l["rules"].clone()))
        .collect();
    assert_eq!(
        named["34.120.5.6"],
        serde_json::json!(["web-http", "web-https"])
    );
    assert_eq!(named["34.149.9.9"], serde_json::json!(["shop-https"]));
    assert_eq!(
        named["2600:1901:0:8c3a::"],
        serde_json::json!(["web-https-v6"])
    );
    let table = assert_exit(&merge(&files, &["-o", "table"]), 0);
    assert!(table.contains("forwarding rule"), "{table}");
    assert!(
        table.contains("your forwarding rule web-https-v6"),
        "{table}"
    );
}

#[test]
fn merge_refuses_other_trust_naming_both_files_and_the_setting() {
    // See: issue #12: audits judged against other trust cannot be added up.
    let dir = tempfile::tempdir().unwrap();
    let log = crate::util::fixture("logs/sample.log");
    let log = log.to_str().unwrap();
    let mut files = Vec::new();
    for (name, args) in [
        ("one.json", vec!["--trust", "gcp,34.120.5.6"]),
        ("two.json", vec!["--trust", "gcp,34.120.5.9"]),
        ("inferred.json", vec![]),
        (
            "norec.json",
            vec!["--trust", "gcp,34.120.5.6", "--no-recursive"],
        ),
    ] {
        let mut args = args.clone();
        args.push(log);
        let f = dir.path().join(name);
        std::fs::write(&f, scan_plain(&args)).unwrap();
        files.push(f.display().to_string());
    }
    for (other, setting, values) in [
        (1, "the audit's trust", ("34.120.5.6/32", "34.120.5.9/32")),
        (
            2,
            "where the audit's trust comes from",
            ("declared", "inferred"),
        ),
        (3, "--recursive/--no-recursive", ("true", "false")),
    ] {
        let out = merge(&[files[0].clone(), files[other].clone()], &["-o", "json"]);
        assert_exit(&out, 2);
        assert!(out.stdout.is_empty(), "a report was written");
        let err = String::from_utf8_lossy(&out.stderr);
        for want in [&files[0], &files[other], setting, values.0, values.1] {
            assert!(err.contains(want), "{want:?} missing from: {err}");
        }
    }
}

#[test]
fn merge_warns_when_audits_reproduced_other_nginx_versions() {
    // See: issue #12 (noticed in #13): merge ignored --nginx-version. Hosts may run other nginx
    // versions and each audit is right for its own, so merge adds them up, but says so when the
    // rules differ (`[addr]` without a port: an address from 1.27.3 on).
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = gcp_log_in_two(dir.path());
    let report = |name: &str, version: Option<&str>, part: &str| {
        let mut args = vec!["--trust", "gcp,34.120.5.6"];
        if let Some(v) = version {
            args.extend(["--nginx-version", v]);
        }
        args.push(part);
        let f = dir.path().join(name);
        std::fs::write(&f, scan_plain(&args)).unwrap();
        f.display().to_string()
    };
    let old_a = report("old-a.json", Some("1.22.1"), &a);
    let old_b = report("old-b.json", Some("1.22.1"), &b);
    let new_b = report("new-b.json", Some("1.27.3"), &b);
    let none_a = report("none-a.json", None, &a);

    let out = merge(&[old_a.clone(), new_b.clone()], &["-o", "json"]);
    assert_exit(&out, 0);
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "warning",
        &old_a,
        "nginx 1.22.1",
        &new_b,
        "nginx 1.27.3",
        "[addr]",
    ] {
        assert!(err.contains(want), "{want:?} missing from: {err}");
    }
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["mergeable"]["nginx_version"],
        Value::Null,
        "mixed: no one version"
    );

    // The same version: silent, carried on, and the same as one scan of both parts.
    let out = merge(&[old_a.clone(), old_b], &["-o", "json"]);
    let merged = assert_exit(&out, 0);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let whole = scan_plain(&[
        "--trust",
        "gcp,34.120.5.6",
        "--nginx-version",
        "1.22.1",
        &a,
        &b,
    ]);
    crate::eqnice!(whole, merged);
    let v: Value = serde_json::from_str(&merged).unwrap();
    assert_eq!(v["mergeable"]["nginx_version"], "1.22.1");

    // No --nginx-version means the newest rules: the same as 1.27.3's, so nothing to say.
    let out = merge(&[none_a, new_b], &["-o", "json"]);
    assert_exit(&out, 0);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn merge_adds_up_the_runs_of_state_reports_not_their_totals() {
    // See: issue #12: what merge does with --state reports, as the README says: each report
    // holds the lines its run read (new since the run before), so merge adds those runs; the
    // cumulative totals stay in each host's state file and are not carried.
    let dir = tempfile::tempdir().unwrap();
    let sample = std::fs::read_to_string(crate::util::fixture("logs/sample.log")).unwrap();
    let lines: Vec<&str> = sample.split_inclusive('\n').collect();
    let log = dir.path().join("access.log");
    let state = dir.path().join("host.state");
    let state_arg = state.display().to_string();
    let log_arg = log.display().to_string();
    let mut files = Vec::new();
    for (run, range) in [(0, 0..300), (1, 300..500)] {
        let mut text = std::fs::read_to_string(&log).unwrap_or_default();
        text.push_str(&lines[range].concat());
        std::fs::write(&log, text).unwrap();
        let f = dir.path().join(format!("run{run}.json"));
        std::fs::write(&f, scan_plain(&["--state", &state_arg, &log_arg])).unwrap();
        files.push(f.display().to_string());
    }
    let runs: Vec<Value> = files
        .iter()
        .map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())
        .collect();
    assert_eq!(
        (runs[0]["lines"].as_u64(), runs[1]["lines"].as_u64()),
        (Some(300), Some(200))
    );
    assert!(runs[1].get("state").is_some(), "a --state report says so");
    let merged: Value =
        serde_json::from_str(&assert_exit(&merge(&files, &["-o", "json"]), 0)).unwrap();
    assert_eq!(merged["lines"], 500);
    assert_eq!(merged["summary"]["requests"], 500);
    assert_eq!(
        merged.get("state"),
        None,
        "the state's notes and totals are not carried"
    );
    assert_eq!(merged.get("window"), None);
}
