//! The audit of `realip scan` end to end: a real nginx that omits one load-balancer IP from
//! `set_real_ip_from` writes its own access log, and the audit must name exactly that IP with
//! exactly the requests sent through it (and nothing else as misresolved); `--check` statuses,
//! thresholds and UNKNOWN cases; the JSON keys and the table's verdict; logs without
//! `$realip_remote_addr`. The nginx test fails (never skips) under `CI=true` without nginx.
//!
//! Owns: the generated traffic and the counts it must produce, log lines written by hand in
//! nginx's formats, and the assertions on the audit's output. Does not own: running nginx or
//! speaking HTTP (`util::nginx`), the audit policy itself (`src/audit.rs`).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Output;

use serde_json::Value;

use crate::eqnice;
use crate::util::nginx::{Client, Nginx, DIR};
use crate::util::rng::Rng;
use crate::util::{assert_exit, realip};

/// The Google front end of the nginx test: the TCP peer every proxied request comes from.
const FRONT_END: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);
/// The peer of direct hits that bypass the load balancer.
const DIRECT: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// The load-balancer IP nginx trusts.
const KEPT_LB: &str = "34.120.5.6";
/// The load-balancer IP left out of `set_real_ip_from` in the audited config.
const OMITTED_LB: &str = "34.149.9.9";
/// Requests sent (to each of the two servers).
const REQUESTS: usize = 3_000;
/// The recommended log format (built into realip as `realip`), as an nginx directive.
const REALIP_LOG_FORMAT: &str = "log_format realip '$remote_addr - $remote_user [$time_local] \
     \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" \
     \"$http_x_forwarded_for\" $realip_remote_addr $request_time $upstream_response_time';";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// The seed: `REALIP_AUDIT_SEED` (see `util::rng::seed`).
fn seed() -> u64 {
    crate::util::rng::seed("REALIP_AUDIT_SEED", 0x5eed_2026_0a0d_0004)
}

/// Counts as the verdict line prints them: plain numbers, as in the issue's example.
fn grouped(n: usize) -> String {
    n.to_string()
}

/// Runs `realip scan` with `args`; returns the output.
fn scan(args: &[&str]) -> Output {
    realip()
        .arg("scan")
        .args(args)
        .output()
        .expect("run realip")
}

/// Runs `realip scan --output json` with `args`, asserts exit 0 and parses the report.
fn scan_json(args: &[&str]) -> Value {
    let out = realip()
        .args(["scan", "--output", "json"])
        .args(args)
        .output()
        .expect("run realip");
    let stdout = assert_exit(&out, 0);
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// Runs `realip scan --check` with `args`; returns the exit code and the status line, after
/// checking that stdout is exactly one line.
fn check(args: &[&str]) -> (i32, String) {
    let out = scan(&[&["--check"], args].concat());
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let code = out.status.code().expect("exit code");
    assert!(
        stdout.ends_with('\n') && stdout.lines().count() == 1,
        "--check must print exactly one line, got {stdout:?} (exit {code}, stderr {:?})",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, stdout.trim_end().to_string())
}

/// The findings of an audit report by kind: `kind -> count`.
fn finding_counts(audit: &Value) -> BTreeMap<String, u64> {
    audit["findings"]
        .as_array()
        .expect("audit.findings is an array")
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().expect("kind").to_string(),
                f["count"].as_u64().expect("count"),
            )
        })
        .collect()
}

/// The finding of `kind`, if reported.
fn finding<'a>(audit: &'a Value, kind: &str) -> Option<&'a Value> {
    audit["findings"]
        .as_array()
        .expect("audit.findings is an array")
        .iter()
        .find(|f| f["kind"] == kind)
}

/// `path:line` -> (path, 1-based line).
fn split_sample(sample: &str) -> (&str, usize) {
    let (path, line) = sample
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("sample {sample:?} is not path:line"));
    let line = line
        .parse()
        .unwrap_or_else(|e| panic!("sample {sample:?}: line: {e}"));
    assert!(line >= 1, "sample {sample:?}: lines count from 1");
    (path, line)
}

/// The strings of a JSON array.
fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap_or_else(|| panic!("not a string: {s}")))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1. End to end with real nginx
// ---------------------------------------------------------------------------------------------

/// What a generated request is, for counting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Shape {
    /// From the front end: `client,<kept LB>`.
    ViaKept,
    /// From the front end: `client,<omitted LB>`.
    ViaOmitted,
    /// From the front end: `<spoofed…>, client,<kept LB>`.
    SpoofKept,
    /// From the front end: `<spoofed…>, client,<omitted LB>`.
    SpoofOmitted,
    /// From the front end without X-Forwarded-For.
    NoHeader,
    /// A direct hit from 127.0.0.2 with a forged X-Forwarded-For.
    DirectForged,
    /// A direct hit from 127.0.0.2 without X-Forwarded-For.
    DirectPlain,
}

/// One request and what nginx must log for it.
struct Request {
    shape: Shape,
    source: Ipv4Addr,
    /// Header lines after `Host`, each ending in CRLF.
    headers: String,
    /// `$remote_addr` under the config that omits the LB IP.
    omitting: IpAddr,
    /// `$remote_addr` under the control config that trusts both LB IPs.
    control: IpAddr,
}

/// A public-looking client: 8.0.0.0/8, 81.0.0.0/8 or 2a00::/16 (never reserved, never an LB).
fn client(rng: &mut Rng) -> IpAddr {
    match rng.below(3) {
        0 => IpAddr::V4(Ipv4Addr::new(
            8,
            rng.below(256) as u8,
            rng.below(256) as u8,
            1 + rng.below(254) as u8,
        )),
        1 => IpAddr::V4(Ipv4Addr::new(
            81,
            rng.below(256) as u8,
            rng.below(256) as u8,
            1 + rng.below(254) as u8,
        )),
        _ => IpAddr::V6(Ipv6Addr::new(
            0x2a00,
            rng.below(0x10000) as u16,
            rng.below(0x10000) as u16,
            0,
            0,
            0,
            rng.below(0x10000) as u16,
            1 + rng.below(0xfffe) as u16,
        )),
    }
}

/// One or two spoofed entries a client put in front of itself (addresses of every kind,
/// including both LB IPs and the front end, and a word).
fn spoofed(rng: &mut Rng) -> String {
    let one = |rng: &mut Rng| match rng.below(6) {
        0 => "1.2.3.4".to_string(),
        1 => "10.0.0.1".to_string(),
        2 => OMITTED_LB.to_string(),
        3 => "127.0.0.1".to_string(),
        4 => "unknown".to_string(),
        _ => client(rng).to_string(),
    };
    if rng.below(3) == 0 {
        let first = one(rng);
        format!("{first}, {}", one(rng))
    } else {
        one(rng)
    }
}

/// The separator between the client and the LB IP: the GFE writes `,`; some proxies `, `.
fn sep(rng: &mut Rng) -> &'static str {
    if rng.below(3) == 0 {
        ", "
    } else {
        ","
    }
}

fn xff(value: &str) -> String {
    format!("X-Forwarded-For: {value}\r\n")
}

/// `n` requests of every shape, in random order.
fn traffic(rng: &mut Rng, n: usize) -> Vec<Request> {
    let omitted: IpAddr = OMITTED_LB.parse().expect("LB IP");
    let front = IpAddr::V4(FRONT_END);
    let direct = IpAddr::V4(DIRECT);
    (0..n)
        .map(|_| {
            let c = client(rng);
            let roll = rng.below(100);
            let (shape, source, headers, omitting, control) = match roll {
                0..=39 => {
                    let h = xff(&format!("{c}{}{KEPT_LB}", sep(rng)));
                    (Shape::ViaKept, FRONT_END, h, c, c)
                }
                40..=54 => {
                    let h = xff(&format!("{c}{}{OMITTED_LB}", sep(rng)));
                    (Shape::ViaOmitted, FRONT_END, h, omitted, c)
                }
                55..=64 => {
                    let h = xff(&format!("{}, {c}{}{KEPT_LB}", spoofed(rng), sep(rng)));
                    (Shape::SpoofKept, FRONT_END, h, c, c)
                }
                65..=69 => {
                    let h = xff(&format!("{}, {c}{}{OMITTED_LB}", spoofed(rng), sep(rng)));
                    (Shape::SpoofOmitted, FRONT_END, h, omitted, c)
                }
                70..=79 => (Shape::NoHeader, FRONT_END, String::new(), front, front),
                80..=91 => {
                    // Forged to look like every proxied shape, LB IPs included.
                    let value = match rng.below(4) {
                        0 => c.to_string(),
                        1 => format!("{c},{OMITTED_LB}"),
                        2 => format!("{}, {c},{KEPT_LB}", spoofed(rng)),
                        _ => OMITTED_LB.to_string(),
                    };
                    (Shape::DirectForged, DIRECT, xff(&value), direct, direct)
                }
                _ => (Shape::DirectPlain, DIRECT, String::new(), direct, direct),
            };
            let headers = headers + "User-Agent: realip-audit-test\r\n";
            Request {
                shape,
                source,
                headers,
                omitting,
                control,
            }
        })
        .collect()
}

/// The address in nginx's `$remote_addr|$remote_port\n` answer.
fn answered(body: &[u8]) -> IpAddr {
    let text = String::from_utf8_lossy(body);
    let addr = text.split('|').next().unwrap_or("");
    addr.parse()
        .unwrap_or_else(|e| panic!("nginx answered {text:?}: {e}"))
}

/// The `$remote_addr` of every line of an nginx access log (the first field).
fn logged_clients(log: &[u8]) -> Vec<IpAddr> {
    String::from_utf8_lossy(log)
        .lines()
        .map(|l| {
            let first = l.split(' ').next().unwrap_or("");
            first
                .parse()
                .unwrap_or_else(|e| panic!("log line {l:?}: $remote_addr: {e}"))
        })
        .collect()
}

#[test]
fn real_nginx_log_names_exactly_the_omitted_lb_ip_with_the_requests_sent_through_it() {
    let realip_conf = |trusted: &[&str], log: &str| {
        let mut s: String = trusted
            .iter()
            .map(|t| format!("set_real_ip_from {t}; "))
            .collect();
        s.push_str("real_ip_header X-Forwarded-For; real_ip_recursive on; ");
        s.push_str(&format!("access_log {DIR}/{log} realip;"));
        s
    };
    let servers = [
        // The audited config: the second LB IP is missing.
        realip_conf(&["127.0.0.1", KEPT_LB], "omitting.log"),
        // The control: both LB IPs trusted.
        realip_conf(&["127.0.0.1", KEPT_LB, OMITTED_LB], "control.log"),
    ];
    let Some(mut nginx) = Nginx::start_with(REALIP_LOG_FORMAT, &servers) else {
        return;
    };
    let seed = seed();
    eprintln!("audit e2e: seed 0x{seed:016x} (REALIP_AUDIT_SEED to reproduce)");
    let requests = traffic(&mut Rng(seed), REQUESTS);

    let mut clients: Vec<[Client; 2]> = [FRONT_END, DIRECT]
        .iter()
        .map(|&src| {
            [
                Client::new(src, nginx.port(0)),
                Client::new(src, nginx.port(1)),
            ]
        })
        .collect();
    for (i, r) in requests.iter().enumerate() {
        if i == REQUESTS / 2 {
            // The control log is rotated halfway (create + move) and audited as two files.
            nginx.rotate_log("control.log", "control.log.1");
        }
        let pair = &mut clients[usize::from(r.source == DIRECT)];
        for (server, want) in [(0, r.omitting), (1, r.control)] {
            let resp = pair[server].get(r.headers.as_bytes());
            assert_eq!(resp.status, 200, "request {i} to server {server}");
            assert_eq!(
                answered(&resp.body),
                want,
                "request {i} ({:?}, headers {:?}) to server {server}: nginx resolved otherwise",
                r.shape,
                r.headers
            );
        }
    }
    drop(clients);
    nginx.stop();

    // What was sent, by shape.
    let count = |shapes: &[Shape]| {
        requests
            .iter()
            .filter(|r| shapes.contains(&r.shape))
            .count()
    };
    let omitted = count(&[Shape::ViaOmitted, Shape::SpoofOmitted]);
    let spoofs = count(&[Shape::SpoofKept, Shape::SpoofOmitted]);
    let forged = count(&[Shape::DirectForged]);
    let loopback_clients = count(&[Shape::NoHeader, Shape::DirectForged, Shape::DirectPlain]);
    let ipv6 = requests
        .iter()
        .filter(|r| r.control.is_ipv6() && r.omitting.is_ipv6())
        .count();
    eprintln!(
        "audit e2e: {REQUESTS} requests: {omitted} through {OMITTED_LB}, {spoofs} spoofed, \
         {forged} forged direct hits, {} without forwarding header from the front end, \
         {} plain direct hits, {ipv6} IPv6 clients logged",
        count(&[Shape::NoHeader]),
        count(&[Shape::DirectPlain])
    );
    for shape in [
        Shape::ViaKept,
        Shape::ViaOmitted,
        Shape::SpoofKept,
        Shape::SpoofOmitted,
        Shape::NoHeader,
        Shape::DirectForged,
        Shape::DirectPlain,
    ] {
        assert!(count(&[shape]) >= 20, "seed sent too few {shape:?}");
    }
    assert!(ipv6 >= 20, "seed sent too few IPv6 clients");

    // nginx's own logs hold one line per request, in order, with the expected client.
    let omitting_log = nginx.read("omitting.log");
    let logged = logged_clients(&omitting_log);
    let want: Vec<IpAddr> = requests.iter().map(|r| r.omitting).collect();
    assert_eq!(logged, want, "omitting.log is not what nginx answered");
    let control_want: Vec<IpAddr> = requests.iter().map(|r| r.control).collect();
    let control_logs = [nginx.read("control.log.1"), nginx.read("control.log")].concat();
    assert_eq!(logged_clients(&control_logs), control_want);
    let omitted_lines: Vec<usize> = (1..=REQUESTS)
        .filter(|&n| requests[n - 1].omitting.to_string() == OMITTED_LB)
        .collect();
    assert_eq!(omitted_lines.len(), omitted);

    let log_path = nginx.dir().join("omitting.log");
    let log = log_path.to_str().expect("utf-8 temp path");
    let v = scan_json(&[
        "--front-end",
        "127.0.0.1",
        "--trust",
        "127.0.0.1,34.120.5.6",
        log,
    ]);
    assert_eq!(v["format"]["name"], "realip", "detected format");
    let a = &v["audit"];
    eprintln!(
        "audit e2e: audit findings {:?}, misresolved {}",
        finding_counts(a),
        a["misresolved"]
    );
    assert_eq!(a["checked"], REQUESTS, "checked");
    assert_eq!(a["peer_logged"], true);
    let lbs = a["unresolved_lb_ips"]
        .as_array()
        .expect("unresolved_lb_ips");
    let ips: Vec<&str> = lbs.iter().map(|l| l["ip"].as_str().expect("ip")).collect();
    assert_eq!(ips, [OMITTED_LB], "unresolved_lb_ips");
    assert_eq!(lbs[0]["lines"], omitted, "lines through {OMITTED_LB}");
    assert_eq!(strings(&a["suggested_set_real_ip_from"]), [OMITTED_LB]);
    assert_eq!(a["misresolved"], omitted, "misresolved");
    let counts = finding_counts(a);
    assert_eq!(counts.get("unresolved_lb_ip"), Some(&(omitted as u64)));
    assert_eq!(counts.get("config_drift"), None, "nothing else misreported");
    assert_eq!(
        counts.get("untrusted_peer"),
        Some(&(forged as u64)),
        "untrusted_peer"
    );
    assert_eq!(
        counts.get("spoof_attempt"),
        Some(&(spoofs as u64)),
        "spoof_attempt"
    );
    assert_eq!(
        counts.get("reserved_client"),
        Some(&(loopback_clients as u64)),
        "reserved_client: exactly the lines logged as 127.0.0.1 / 127.0.0.2"
    );
    let expected_kinds = [
        "reserved_client",
        "spoof_attempt",
        "unresolved_lb_ip",
        "untrusted_peer",
    ];
    assert_eq!(
        counts.keys().map(String::as_str).collect::<Vec<_>>(),
        expected_kinds,
        "no other finding"
    );

    // Every sample of the LB IP points at a line nginx logged with it as $remote_addr, the
    // first one at the first such line.
    let text = String::from_utf8_lossy(&omitting_log).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let mut samples: Vec<&str> = strings(&lbs[0]["samples"]);
    assert!(!samples.is_empty(), "no samples for {OMITTED_LB}");
    assert_eq!(
        lbs[0]["first"].as_str(),
        Some(format!("{log}:{}", omitted_lines[0]).as_str())
    );
    samples.push(lbs[0]["first"].as_str().expect("first"));
    samples.extend(strings(
        &finding(a, "unresolved_lb_ip").expect("finding")["samples"],
    ));
    for s in samples {
        let (path, n) = split_sample(s);
        assert_eq!(path, log, "sample {s}");
        let line = lines
            .get(n - 1)
            .unwrap_or_else(|| panic!("sample {s}: no such line"));
        assert!(
            line.starts_with(&format!("{OMITTED_LB} - ")),
            "sample {s} is not a line logged as {OMITTED_LB}: {line:?}"
        );
    }
    for f in ["first_time", "last_time"] {
        assert!(
            lbs[0][f].is_string(),
            "unresolved_lb_ips[0].{f}: {}",
            lbs[0][f]
        );
    }

    // The monitoring check: CRITICAL (the share is far above 1 %), with the fix.
    let (code, line) = check(&[
        "--front-end",
        "127.0.0.1",
        "--trust",
        "127.0.0.1,34.120.5.6",
        log,
    ]);
    let prefix = format!(
        "REALIP CRITICAL: {} of {} requests (",
        grouped(omitted),
        grouped(REQUESTS)
    );
    assert!(
        line.starts_with(&prefix),
        "{line:?} should start with {prefix:?}"
    );
    assert!(
        line.contains(&format!(
            "resolved to untrusted LB IP {OMITTED_LB} — add: set_real_ip_from {OMITTED_LB};"
        )),
        "{line:?}"
    );
    let pct = omitted as f64 * 100.0 / REQUESTS as f64;
    assert!(
        line.ends_with(&format!(
            " | misresolved={omitted};0;;0; misresolved_pct={}%;;1;0;100 checked={REQUESTS}",
            realip::check::percent_text(pct)
        )),
        "{line:?}"
    );
    assert_eq!(code, 2, "{line}");

    // The control: nginx trusted both LB IPs, so the same traffic is resolved correctly
    // (its log was rotated halfway: both files together hold every request).
    let control_paths = [
        nginx.dir().join("control.log.1"),
        nginx.dir().join("control.log"),
    ];
    let control: Vec<&str> = control_paths
        .iter()
        .map(|p| p.to_str().expect("utf-8 temp path"))
        .collect();
    let trust_all = "127.0.0.1,34.120.5.6,34.149.9.9";
    let v = scan_json(
        &[
            &["--front-end", "127.0.0.1", "--trust", trust_all],
            &control[..],
        ]
        .concat(),
    );
    let a = &v["audit"];
    assert_eq!(a["checked"], REQUESTS);
    assert_eq!(a["misresolved"], 0, "control: {}", a["findings"]);
    assert_eq!(a["unresolved_lb_ips"].as_array().map(Vec::len), Some(0));
    assert_eq!(
        a["suggested_set_real_ip_from"].as_array().map(Vec::len),
        Some(0)
    );
    let counts = finding_counts(a);
    assert_eq!(counts.get("untrusted_peer"), Some(&(forged as u64)));
    assert_eq!(counts.get("spoof_attempt"), Some(&(spoofs as u64)));
    assert_eq!(counts.get("config_drift"), None);
    assert_eq!(counts.get("unresolved_lb_ip"), None);
    let (code, line) = check(
        &[
            &["--front-end", "127.0.0.1", "--trust", trust_all],
            &control[..],
        ]
        .concat(),
    );
    assert!(
        line.starts_with(&format!(
            "REALIP OK: 0 of {} requests misresolved | misresolved=0;",
            grouped(REQUESTS)
        )),
        "{line:?}"
    );
    assert_eq!(code, 0, "{line}");

    // Issue #8: audited with nothing declared (only the front end named, since the test's
    // front end is not Google's), the same logs give exactly the omitted IP with the requests
    // sent through it, and what nginx trusts; the control gives 0.
    let kept = count(&[Shape::ViaKept, Shape::SpoofKept]) as u64;
    let v = scan_json(&["--front-end", "127.0.0.1", log]);
    let a = &v["audit"];
    assert_eq!(a["trust_source"], "inferred");
    assert_eq!(
        ip_lines(&a["unresolved_lb_ips"]),
        [(OMITTED_LB.to_string(), omitted as u64)],
        "inferred: unresolved_lb_ips"
    );
    assert_eq!(
        ip_lines(&a["trusted_lb_ips"]),
        [(KEPT_LB.to_string(), kept)],
        "inferred: trusted_lb_ips"
    );
    assert_eq!(a["misresolved"], omitted, "inferred: misresolved");
    let counts = finding_counts(a);
    assert_eq!(counts.get("config_drift"), None, "inferred: {counts:?}");
    assert_eq!(counts.get("spoof_attempt"), Some(&(spoofs as u64)));
    assert_eq!(counts.get("untrusted_peer"), Some(&(forged as u64)));
    assert_eq!(strings(&a["suggested_set_real_ip_from"]), [OMITTED_LB]);
    let (code, line) = check(&["--front-end", "127.0.0.1", log]);
    assert!(
        line.starts_with(&format!(
            "REALIP CRITICAL: {omitted} of {REQUESTS} requests ("
        )) && line.contains(&format!(
            "resolved to untrusted LB IP {OMITTED_LB} — add: set_real_ip_from {OMITTED_LB}; \
             (trust inferred from the log: nginx trusts {KEPT_LB} and the front end 127.0.0.1)"
        )),
        "{line:?}"
    );
    assert_eq!(code, 2, "{line}");
    let v = scan_json(&[&["--front-end", "127.0.0.1"], &control[..]].concat());
    let a = &v["audit"];
    assert_eq!(a["misresolved"], 0, "inferred control: {}", a["findings"]);
    assert_eq!(ip_lines(&a["unresolved_lb_ips"]), []);
    assert_eq!(
        ip_lines(&a["trusted_lb_ips"]),
        by_lines(vec![
            (KEPT_LB.to_string(), kept),
            (OMITTED_LB.to_string(), omitted as u64)
        ])
    );
    assert_eq!(finding_counts(a).get("config_drift"), None);
}

// ---------------------------------------------------------------------------------------------
// Logs written by the tests (Google front ends as peers: the GCP shape)
// ---------------------------------------------------------------------------------------------

/// The trust the generated logs are audited against.
const GCP_TRUST: &str = "gcp,34.120.5.6";

/// One line in the recommended `realip` format, from a Google front end.
fn realip_line(i: usize, remote: &str, xff: &str) -> String {
    format!(
        "{remote} - - [01/May/2024:10:{:02}:{:02} +0000] \"GET /r/{i} HTTP/1.1\" 200 5 \"-\" \
         \"curl/8.5.0\" \"{xff}\" 35.191.{}.{} 0.00{} -\n",
        i / 60 % 60,
        i % 60,
        i / 250 % 256,
        i % 250 + 1,
        i % 10
    )
}

/// A client for line `i`: 81.0.0.0/8, never reserved.
fn client_for(i: usize) -> String {
    format!("81.{}.{}.{}", i / 65_536 % 256, i / 256 % 256, i % 256)
}

/// `total` lines in `realip` format, `bad` of them (spread evenly, the first bad one not
/// first) logged as the untrusted LB IP 34.149.9.9; the rest resolved through 34.120.5.6.
fn realip_log(total: usize, bad: usize) -> String {
    let mut out = String::new();
    for i in 0..total {
        let c = client_for(i);
        // Line i is bad when the running share of bad lines steps up here.
        if (i + 1) * bad / total > i * bad / total {
            out.push_str(&realip_line(i, OMITTED_LB, &format!("{c},{OMITTED_LB}")));
        } else {
            out.push_str(&realip_line(i, &c, &format!("{c},{KEPT_LB}")));
        }
    }
    out
}

/// A temp dir holding `access.log` with `text`; returns the dir and the log's path.
fn log_file(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("access.log");
    std::fs::write(&path, text).expect("write log");
    let p = path.to_str().expect("utf-8 temp path").to_string();
    (dir, p)
}

// ---------------------------------------------------------------------------------------------
// 2. --check
// ---------------------------------------------------------------------------------------------

#[test]
fn check_is_ok_with_exit_0_when_nothing_is_misresolved() {
    let (_dir, log) = log_file(&realip_log(100, 0));
    let (code, line) = check(&["--trust", GCP_TRUST, &log]);
    eqnice!(
        "REALIP OK: 0 of 100 requests misresolved | misresolved=0;0;;0; \
         misresolved_pct=0%;;1;0;100 checked=100",
        line
    );
    assert_eq!(code, 0);
}

#[test]
fn check_warns_with_exit_1_between_the_warning_and_critical_thresholds() {
    let (_dir, log) = log_file(&realip_log(100, 3));
    let (code, line) = check(&[
        "--trust",
        GCP_TRUST,
        "--warning",
        "1",
        "--critical",
        "50%",
        &log,
    ]);
    eqnice!(
        "REALIP WARNING: 3 of 100 requests (3.0%) resolved to untrusted LB IP 34.149.9.9 — \
         add: set_real_ip_from 34.149.9.9; | misresolved=3;1;;0; misresolved_pct=3%;;50;0;100 \
         checked=100",
        line
    );
    assert_eq!(code, 1);
}

#[test]
fn check_is_critical_with_exit_2_above_the_critical_threshold() {
    let (_dir, log) = log_file(&realip_log(100, 3));
    // The defaults: warning above 0 lines, critical above 1 %.
    let (code, line) = check(&["--trust", GCP_TRUST, &log]);
    assert!(
        line.starts_with("REALIP CRITICAL: 3 of 100 requests (3.0%)"),
        "{line:?}"
    );
    assert!(
        line.ends_with("| misresolved=3;0;;0; misresolved_pct=3%;;1;0;100 checked=100"),
        "{line:?}"
    );
    assert_eq!(code, 2);
    // A count N alerts above N (Nagios): 3 lines are critical for 2, not for 3.
    let (code, line) = check(&["--trust", GCP_TRUST, "--critical", "2", &log]);
    assert!(line.starts_with("REALIP CRITICAL: "), "{line:?}");
    assert_eq!(code, 2);
    for critical in ["3", "4"] {
        let (code, line) = check(&["--trust", GCP_TRUST, "--critical", critical, &log]);
        assert!(
            line.starts_with("REALIP WARNING: "),
            "--critical {critical}: {line:?}"
        );
        assert_eq!(code, 1, "--critical {critical}");
    }
}

/// See: issue #9. Nagios ranges: value = N is OK for `N`, N+1 alerts.
#[test]
fn issue_9_threshold_boundaries_follow_nagios_ranges() {
    let (_dir, log) = log_file(&realip_log(100, 3));
    // (warning, critical, expected exit, perfdata thresholds as echoed)
    for (warning, critical, want, perf) in [
        (
            "3",
            "50%",
            0,
            "misresolved=3;3;;0; misresolved_pct=3%;;50;0;100",
        ),
        (
            "2",
            "50%",
            1,
            "misresolved=3;2;;0; misresolved_pct=3%;;50;0;100",
        ),
        (
            "3%",
            "50%",
            0,
            "misresolved=3;;;0; misresolved_pct=3%;3;50;0;100",
        ),
        (
            "2.9%",
            "50%",
            1,
            "misresolved=3;;;0; misresolved_pct=3%;2.9;50;0;100",
        ),
        (
            "0",
            "3%",
            1,
            "misresolved=3;0;;0; misresolved_pct=3%;;3;0;100",
        ),
        (
            "0",
            "2%",
            2,
            "misresolved=3;0;;0; misresolved_pct=3%;;2;0;100",
        ),
        // N: alerts below N; ~:N above N; N:M outside; @N:M inside.
        (
            "5:",
            "50%",
            1,
            "misresolved=3;5:;;0; misresolved_pct=3%;;50;0;100",
        ),
        (
            "3:",
            "50%",
            0,
            "misresolved=3;3:;;0; misresolved_pct=3%;;50;0;100",
        ),
        (
            "~:2",
            "~:10",
            1,
            "misresolved=3;~:2;~:10;0; misresolved_pct=3%;;;0;100",
        ),
        (
            "1:2",
            "1:10",
            1,
            "misresolved=3;1:2;1:10;0; misresolved_pct=3%;;;0;100",
        ),
        (
            "@3:4",
            "@3:3",
            2,
            "misresolved=3;@3:4;@3:3;0; misresolved_pct=3%;;;0;100",
        ),
        (
            "@4:9",
            "@5:9",
            0,
            "misresolved=3;@4:9;@5:9;0; misresolved_pct=3%;;;0;100",
        ),
    ] {
        let (code, line) = check(&[
            "--trust",
            GCP_TRUST,
            &format!("--warning={warning}"),
            &format!("--critical={critical}"),
            &log,
        ]);
        assert_eq!(
            code, want,
            "--warning {warning} --critical {critical}: {line}"
        );
        assert!(
            line.ends_with(&format!("| {perf} checked=100")),
            "--warning {warning} --critical {critical}: {line:?}"
        );
    }
}

/// See: issue #9. A warning that alerts later than the critical range is refused.
#[test]
fn issue_9_warning_alerting_later_than_critical_is_unknown() {
    let (_dir, log) = log_file(&realip_log(10, 0));
    for (warning, critical) in [("100", "10"), ("10%", "5%"), ("@0:5", "@0:10")] {
        let (code, line) = check(&[
            "--trust",
            GCP_TRUST,
            "--warning",
            warning,
            "--critical",
            critical,
            &log,
        ]);
        assert!(line.starts_with("REALIP UNKNOWN: "), "{line:?}");
        assert!(line.contains("alerts later than --critical"), "{line:?}");
        assert_eq!(code, 3, "{line}");
    }
}

#[test]
fn check_critical_10_percent_alerts_above_10_percent() {
    // (lines, misresolved, expected exit): exactly 10 % is a warning, above is critical.
    for (total, bad, want) in [
        (100, 11, 2),
        (100, 10, 1),
        (30, 4, 2),
        (30, 3, 1),
        (70, 8, 2),
        (70, 7, 1),
    ] {
        let (_dir, log) = log_file(&realip_log(total, bad));
        let (code, line) = check(&["--trust", GCP_TRUST, "--critical", "10%", &log]);
        let want_word = if want == 2 { "CRITICAL" } else { "WARNING" };
        assert!(
            line.starts_with(&format!("REALIP {want_word}: {bad} of {total} requests")),
            "{bad} of {total} with --critical 10%: {line:?}"
        );
        assert_eq!(code, want, "{bad} of {total} with --critical 10%: {line}");
    }
}

#[test]
fn check_is_unknown_with_exit_3_when_the_log_is_missing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no-such.log");
    let missing = missing.to_str().expect("utf-8 temp path");
    let (code, line) = check(&["--trust", GCP_TRUST, missing]);
    assert!(line.starts_with("REALIP UNKNOWN: "), "{line:?}");
    assert!(
        line.contains("no-such.log"),
        "the status says which log: {line:?}"
    );
    assert_eq!(code, 3, "{line}");
}

#[test]
fn check_is_unknown_with_exit_3_when_the_log_is_unreadable() {
    // A directory cannot be read as a log, whoever runs the test (root reads mode 000 files).
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_str().expect("utf-8 temp path");
    let (code, line) = check(&["--trust", GCP_TRUST, "--log-format", "realip", path]);
    assert!(line.starts_with("REALIP UNKNOWN: "), "{line:?}");
    assert_eq!(code, 3, "{line}");
}

#[test]
fn check_is_unknown_with_exit_3_when_no_line_is_usable() {
    // An empty log is not a failure: nothing to judge, OK.
    let (_dir, log) = log_file("");
    let (code, line) = check(&["--trust", GCP_TRUST, &log]);
    assert!(
        line.starts_with("REALIP OK: no requests in the log"),
        "{line:?}"
    );
    assert_eq!(code, 0, "{line}");
    // Lines that do not match the format: realip cannot do its job.
    let (_dir, log) = log_file("not a log line\nnor this one\n");
    let (code, line) = check(&["--trust", GCP_TRUST, "--log-format", "realip", &log]);
    assert!(
        line.starts_with("REALIP UNKNOWN: no line of 2 matched the log format realip"),
        "{line:?}"
    );
    assert_eq!(code, 3, "{line}");
}

#[test]
fn check_is_unknown_with_exit_3_when_the_log_format_has_no_client_fields() {
    let (_dir, log) = log_file("200 0.001\n404 0.020\n200 0.003\n");
    let (code, line) = check(&[
        "--trust",
        GCP_TRUST,
        "--log-format",
        "$status $request_time",
        &log,
    ]);
    assert!(line.starts_with("REALIP UNKNOWN: "), "{line:?}");
    assert!(
        line.contains("$remote_addr"),
        "says what is missing: {line:?}"
    );
    assert_eq!(code, 3, "{line}");
}

#[test]
fn bad_threshold_text_is_unknown_with_exit_3_under_check() {
    let (_dir, log) = log_file(&realip_log(10, 0));
    for (flag, value) in [
        ("--warning", "abc"),
        ("--critical", "5%%"),
        ("--critical", "10:5"),
        ("--warning", "1:x"),
    ] {
        // `--flag=value`, so that `-1` is not taken for a flag.
        let arg = format!("{flag}={value}");
        let out = scan(&["--check", "--trust", GCP_TRUST, &arg, &log]);
        // A check answers in the plugin convention: UNKNOWN on stdout, exit 3.
        assert_exit(&out, 3);
        assert!(String::from_utf8_lossy(&out.stdout).starts_with("REALIP UNKNOWN: "));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(flag) && stderr.contains(value) && stderr.contains("Nagios range"),
            "{flag} {value}: the message names the flag, the value and the forms: {stderr:?}"
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("REALIP OK"),
            "{flag} {value}: no OK status on a usage error"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 3. JSON keys, --no-audit, --no-summary, table
// ---------------------------------------------------------------------------------------------

/// 100 lines: 3 through the untrusted LB IP, one direct hit, one spoofed chain.
fn mixed_log() -> String {
    let mut log = realip_log(98, 3);
    log.push_str(
        "81.9.9.9 - - [01/May/2024:11:00:00 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl\" \
         \"1.2.3.4\" 81.9.9.9 0.001 -\n",
    );
    log.push_str(
        "81.9.9.8 - - [01/May/2024:11:00:01 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"curl\" \
         \"1.2.3.4, 81.9.9.8,34.120.5.6\" 35.191.0.1 0.001 -\n",
    );
    log
}

#[test]
fn json_has_the_audit_keys() {
    let (_dir, log) = log_file(&mixed_log());
    let v = scan_json(&["--trust", GCP_TRUST, &log]);
    let a = &v["audit"];
    assert_eq!(a["checked"], 100);
    assert_eq!(a["misresolved"], 3);
    assert_eq!(a["no_client"], 0);
    assert_eq!(a["header"], "X-Forwarded-For");
    assert_eq!(a["recursive"], true);
    assert_eq!(a["peer_logged"], true);
    assert!(
        !strings(&a["trust"]).is_empty(),
        "audit.trust: {}",
        a["trust"]
    );
    let lb = &a["unresolved_lb_ips"][0];
    assert_eq!(lb["ip"], OMITTED_LB);
    assert_eq!(lb["lines"], 3);
    assert!(
        (lb["share"].as_f64().expect("share") - 0.03).abs() < 1e-9,
        "{}",
        lb["share"]
    );
    let (path, n) = split_sample(lb["first"].as_str().expect("first"));
    assert_eq!(path, log);
    assert!(
        mixed_log()
            .lines()
            .nth(n - 1)
            .is_some_and(|l| l.starts_with("34.149.9.9 ")),
        "first: {}",
        lb["first"]
    );
    for k in ["first_time", "last_time"] {
        let t = lb[k].as_str().unwrap_or_else(|| panic!("{k}: {}", lb[k]));
        assert!(t.starts_with("2024-05-01T10:"), "{k}: {t}");
    }
    assert!(lb["samples"].is_array());
    assert_eq!(strings(&a["suggested_set_real_ip_from"]), [OMITTED_LB]);
    for f in a["findings"].as_array().expect("findings") {
        assert!(f["kind"].is_string(), "{f}");
        assert!(f["count"].as_u64().is_some_and(|n| n > 0), "{f}");
        assert!(f["share"].is_f64(), "{f}");
        assert!(f["description"].is_string(), "{f}");
        assert!(!strings(&f["samples"]).is_empty(), "{f}");
        assert!(
            f["first_time"].is_string() && f["last_time"].is_string(),
            "{f}"
        );
    }
    let counts = finding_counts(a);
    assert_eq!(counts.get("unresolved_lb_ip"), Some(&3), "{counts:?}");
    assert_eq!(counts.get("untrusted_peer"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("spoof_attempt"), Some(&1), "{counts:?}");
    let spoof = finding(a, "spoof_attempt").expect("spoof_attempt");
    assert_eq!(spoof["top"][0]["value"], "1.2.3.4", "{spoof}");
    assert_eq!(spoof["top"][0]["count"], 1, "{spoof}");
    // The summary rides along.
    assert_eq!(v["summary"]["requests"], 100);
}

#[test]
fn no_audit_removes_the_audit_and_no_summary_removes_the_summary() {
    let (_dir, log) = log_file(&mixed_log());
    let v = scan_json(&["--trust", GCP_TRUST, "--no-audit", &log]);
    assert!(v.get("audit").is_none(), "--no-audit: {v}");
    assert_eq!(v["summary"]["requests"], 100);
    let v = scan_json(&["--trust", GCP_TRUST, "--no-summary", &log]);
    assert!(v.get("summary").is_none(), "--no-summary: {v}");
    assert_eq!(v["audit"]["misresolved"], 3);
    assert_eq!(v["lines"], 100);
}

#[test]
fn table_output_leads_with_the_verdict_and_the_fix() {
    let (_dir, log) = log_file(&mixed_log());
    let out = scan(&["--output", "table", "--trust", GCP_TRUST, &log]);
    let stdout = assert_exit(&out, 0);
    let mut lines = stdout.lines();
    eqnice!(
        "audit: 3 of 100 requests (3.0%) resolved to untrusted LB IP 34.149.9.9 — add: \
         set_real_ip_from 34.149.9.9;",
        lines.next().unwrap_or("")
    );
    // The headline carries the fix; no line says it again (issue #13).
    let second = lines.next().unwrap_or("");
    assert!(
        second.starts_with("  checked against the declared trust: "),
        "{second}"
    );
    assert_eq!(stdout.matches("set_real_ip_from 34.149.9.9;").count(), 1);
}

// ---------------------------------------------------------------------------------------------
// 4. Without $realip_remote_addr
// ---------------------------------------------------------------------------------------------

#[test]
fn without_the_peer_in_the_log_the_lb_ip_is_found_from_the_header_shape() {
    // nginx's `main` format: no $realip_remote_addr.
    let main_line = |i: usize, remote: &str, xff: &str| {
        format!(
            "{remote} - - [01/May/2024:12:00:{:02} +0000] \"GET /m/{i} HTTP/1.1\" 200 5 \"-\" \
             \"curl/8.5.0\" \"{xff}\"\n",
            i % 60
        )
    };
    let mut log = String::new();
    let mut bad = Vec::new();
    let mut forged = Vec::new();
    for i in 0..40 {
        let c = client_for(i);
        let line = match i % 8 {
            1 | 5 => {
                bad.push(i + 1);
                main_line(i, OMITTED_LB, &format!("{c},{OMITTED_LB}"))
            }
            3 => {
                // A direct hit with a forged header: nginx kept the peer. Without the peer in
                // the log, it cannot be told from drift.
                forged.push(i + 1);
                main_line(i, &c, "10.0.0.1")
            }
            7 => main_line(i, &c, "-"),
            _ => main_line(i, &c, &format!("{c},{KEPT_LB}")),
        };
        log.push_str(&line);
    }
    let (_dir, path) = log_file(&log);
    let v = scan_json(&["--trust", GCP_TRUST, "--log-format", "main", &path]);
    let a = &v["audit"];
    assert_eq!(a["peer_logged"], false);
    assert_eq!(
        a["undecidable"],
        serde_json::json!(["untrusted_peer", "config_drift"])
    );
    assert_eq!(a["checked"], 40);
    let lbs = a["unresolved_lb_ips"]
        .as_array()
        .expect("unresolved_lb_ips");
    assert_eq!(lbs.len(), 1, "{lbs:?}");
    assert_eq!(lbs[0]["ip"], OMITTED_LB);
    assert_eq!(lbs[0]["lines"], bad.len());
    assert_eq!(lbs[0]["first"], format!("{path}:{}", bad[0]));
    assert_eq!(strings(&a["suggested_set_real_ip_from"]), [OMITTED_LB]);
    assert_eq!(a["misresolved"], bad.len());
    let counts = finding_counts(a);
    assert_eq!(
        counts.get("undecided"),
        Some(&(forged.len() as u64)),
        "{counts:?}"
    );
    assert_eq!(counts.get("config_drift"), None, "{counts:?}");
    assert_eq!(
        counts.get("untrusted_peer"),
        None,
        "needs the peer: {counts:?}"
    );
    let samples = strings(&finding(a, "undecided").expect("undecided")["samples"]);
    let want: Vec<String> = forged.iter().map(|n| format!("{path}:{n}")).collect();
    assert_eq!(samples, want[..samples.len()], "undecided samples");
}

// ---------------------------------------------------------------------------------------------
// 5. --state from the command line
// ---------------------------------------------------------------------------------------------

#[test]
fn state_runs_read_each_appended_line_once_across_a_rotation() {
    use std::io::Write;
    let (dir, log) = log_file(&realip_log(10, 2));
    let state = dir.path().join("access.state");
    let state = state.to_str().unwrap();
    let run = |extra: &[&str]| {
        let v = scan_json(&[&["--trust", GCP_TRUST, "--state", state], extra, &[&log]].concat());
        (
            v["lines"].as_u64().unwrap(),
            v["audit"]["misresolved"].as_u64().unwrap(),
            v,
        )
    };
    let (lines, bad, first) = run(&[]);
    assert_eq!((lines, bad), (10, 2));
    assert!(first.get("window").is_none(), "no window on a first run");

    // Nothing new: nothing read.
    let (lines, bad, _) = run(&[]);
    assert_eq!((lines, bad), (0, 0));

    // Five more lines, the last one without its newline yet: four are read.
    let more = realip_log(5, 5);
    let (complete, partial) = more.split_at(more.len() - 20);
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    f.write_all(complete.as_bytes()).unwrap();
    // Rates need a window of at least one second since the previous run.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (lines, bad, v) = run(&[]);
    assert_eq!((lines, bad), (4, 4));
    assert!(v["window"]["seconds"].as_u64().is_some(), "{}", v["window"]);

    // The partial line is finished, then logrotate moves the file and nginx starts a new one.
    f.write_all(partial.as_bytes()).unwrap();
    drop(f);
    std::fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    std::fs::write(&log, realip_log(3, 0)).unwrap();
    let (lines, bad, v) = run(&[]);
    assert_eq!((lines, bad), (1 + 3, 1), "{}", v["inputs"]);
    let notes = v["state"]["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n.as_str().unwrap().contains("access.log.1")),
        "{notes:?}"
    );

    // A check with the same state reads nothing new and says so: OK on a quiet window
    // (check_logfiles' convention), never UNKNOWN, and nothing on stderr.
    let out = scan(&["--check", "--trust", GCP_TRUST, "--state", state, &log]);
    let stdout = assert_exit(&out, 0);
    assert!(
        stdout.starts_with("REALIP OK: no new requests since 20"),
        "{stdout:?}"
    );
    assert!(
        stdout.ends_with("| misresolved=0;0;;0; misresolved_pct=0%;;1;0;100 checked=0\n"),
        "{stdout:?}"
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn state_refuses_stdin_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("s");
    let out = scan(&["--state", state.to_str().unwrap(), "-"]);
    assert_exit(&out, 2);
    assert!(String::from_utf8_lossy(&out.stderr).contains("stdin"));
}

#[test]
fn metrics_outputs_carry_the_audit_counts() {
    let (_dir, log) = log_file(&realip_log(100, 3));
    let out = scan(&["--output", "prometheus", "--trust", GCP_TRUST, &log]);
    let prom = assert_exit(&out, 0);
    assert!(
        prom.contains("realip_audit_misresolved_lines_total 3\n"),
        "{prom}"
    );
    assert!(
        prom.contains("realip_audit_unresolved_lb_ip_lines_total{ip=\"34.149.9.9\"} 3\n"),
        "{prom}"
    );
    let out = scan(&["--output", "mackerel", "--trust", GCP_TRUST, &log]);
    let mk = assert_exit(&out, 0);
    assert!(
        mk.lines()
            .any(|l| l.starts_with("realip.audit.misresolved\t3\t")),
        "{mk}"
    );
    assert!(
        mk.lines()
            .any(|l| l.starts_with("realip.audit.checked\t100\t")),
        "{mk}"
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Issue #8: right on the first run, with nothing declared
// ---------------------------------------------------------------------------------------------

#[test]
fn issue_8_sample_log_with_no_flags_names_the_forgotten_lb_ip_and_what_nginx_trusts() {
    // See: issue #8. The headline, --check and JSON name 34.149.9.9 with its own 49 lines and
    // say nginx trusts 34.120.5.6; the README shows the headline the tool prints.
    let sample = crate::util::fixture("logs/sample.log");
    let sample = sample.to_str().expect("utf-8 path");
    let out = scan(&["--output", "table", "--no-summary", sample]);
    let stdout = assert_exit(&out, 0);
    let headline = stdout.lines().next().unwrap_or("").to_string();
    let want = "audit: 49 of 2,000 requests (2.5%) resolved to untrusted LB IP 34.149.9.9 — add: \
                set_real_ip_from 34.149.9.9; (trust inferred from the log: nginx trusts \
                34.120.5.6 and the Google front ends)";
    eqnice!(want, headline);
    // Said once: the line under the headline adds only the header and the recursion (issue #12).
    assert_eq!(
        stdout.matches("trust inferred from the log").count(),
        1,
        "{stdout}"
    );
    eqnice!(
        "  real_ip_header X-Forwarded-For; real_ip_recursive on (seen in the log)",
        stdout.lines().nth(1).unwrap_or("")
    );
    let readme = std::fs::read_to_string(crate::util::fixture("../README.md")).expect("README");
    assert!(
        readme.contains(&format!("\n{want}\n")),
        "README must show the headline the tool prints: {want}"
    );

    let (code, line) = check(&[sample]);
    // The status text; the perfdata after ` | ` belongs to the thresholds' tests.
    let status = line.split(" | ").next().unwrap_or("");
    eqnice!(
        "REALIP CRITICAL: 49 of 2000 requests (2.5%) resolved to untrusted LB IP 34.149.9.9 — \
         add: set_real_ip_from 34.149.9.9; (trust inferred from the log: nginx trusts \
         34.120.5.6 and the Google front ends)",
        status
    );
    assert_eq!(code, 2);

    let v = scan_json(&[sample]);
    let a = &v["audit"];
    assert_eq!(a["trust_source"], "inferred");
    assert_eq!(a["misresolved"], 49);
    let lb = |key: &str| -> Vec<(String, u64)> {
        a[key]
            .as_array()
            .expect("array")
            .iter()
            .map(|l| {
                (
                    l["ip"].as_str().expect("ip").to_string(),
                    l["lines"].as_u64().expect("lines"),
                )
            })
            .collect()
    };
    assert_eq!(lb("unresolved_lb_ips"), [("34.149.9.9".to_string(), 49)]);
    assert_eq!(lb("trusted_lb_ips"), [("34.120.5.6".to_string(), 1688)]);
    let counts = finding_counts(a);
    assert_eq!(
        counts.get("config_drift"),
        None,
        "nothing declared, no drift"
    );
    // Only the 78 chains with entries left of the real client are spoof attempts.
    assert_eq!(counts.get("spoof_attempt"), Some(&78));
    assert!(a["verdict"]
        .as_str()
        .expect("verdict")
        .starts_with("49 of 2000 requests (2.5%) resolved to untrusted LB IP 34.149.9.9"));
}

/// Load-balancer IPs of the generated logs: some trusted by the simulated nginx, some forgotten.
const GEN_LBS: [&str; 4] = ["34.120.5.6", "34.149.9.9", "34.111.2.3", "2600:1901:0:1::7"];

/// One generated request as nginx logged it.
struct GenLine {
    remote: String,
    peer: String,
    xff: Option<String>,
    ua: &'static str,
}

/// What the generated traffic must audit to.
#[derive(Default, Debug)]
struct GenTruth {
    /// Lines through each LB IP (index into the LB list).
    via: Vec<u64>,
    spoofed: u64,
    health: u64,
    forged: u64,
}

/// A front end of Google: the TCP peer of every proxied request.
fn gfe(rng: &mut Rng) -> String {
    if rng.below(2) == 0 {
        format!("35.191.{}.{}", rng.below(256), 1 + rng.below(254))
    } else {
        format!("130.211.{}.{}", rng.below(4), 1 + rng.below(254))
    }
}

/// `n` requests through `lbs` (address, trusted by nginx), with health checks, spoofed
/// prefixes and direct hits; `$remote_addr` is what nginx (recursive, trusting the Google front
/// ends and the trusted LB IPs) logs.
fn generated(rng: &mut Rng, lbs: &[(&str, bool)], n: usize) -> (Vec<GenLine>, GenTruth) {
    let mut truth = GenTruth {
        via: vec![0; lbs.len()],
        ..GenTruth::default()
    };
    let mut lines = Vec::new();
    for i in 0..n {
        // Every LB IP carries traffic: the first lines go through each in turn.
        let roll = if i < lbs.len() { 0 } else { rng.below(100) };
        let c = client(rng).to_string();
        let line = match roll {
            0..=69 => {
                let k = if i < lbs.len() {
                    i
                } else {
                    rng.below(lbs.len() as u64) as usize
                };
                let (lb, trusted) = lbs[k];
                truth.via[k] += 1;
                let mut xff = format!("{c}{}{lb}", sep(rng));
                if rng.below(4) == 0 {
                    truth.spoofed += 1;
                    let prefix = match rng.below(4) {
                        0 => lbs[rng.below(lbs.len() as u64) as usize].0.to_string(),
                        _ => spoofed(rng),
                    };
                    xff = format!("{prefix}, {xff}");
                }
                GenLine {
                    remote: if trusted { c } else { lb.to_string() },
                    peer: gfe(rng),
                    xff: Some(xff),
                    ua: "Mozilla/5.0",
                }
            }
            70..=79 => {
                truth.health += 1;
                let p = gfe(rng);
                GenLine {
                    remote: p.clone(),
                    peer: p,
                    xff: None,
                    ua: "GoogleHC/1.0",
                }
            }
            80..=89 => {
                // A direct hit with a forged header that never names the peer.
                truth.forged += 1;
                let (lb, _) = lbs[rng.below(lbs.len() as u64) as usize];
                let xff = match rng.below(3) {
                    0 => format!("{},{lb}", client(rng)),
                    1 => format!("{}, {}", spoofed(rng), client(rng)),
                    _ => lb.to_string(),
                };
                GenLine {
                    remote: c.clone(),
                    peer: c,
                    xff: Some(xff),
                    ua: "curl/8.5.0",
                }
            }
            _ => GenLine {
                remote: c.clone(),
                peer: c,
                xff: None,
                ua: "curl/8.5.0",
            },
        };
        lines.push(line);
    }
    (lines, truth)
}

/// The log formats of the generated logs: `--log-format` value, whether the peer is logged,
/// and the renderer of one line.
type Render = fn(usize, &GenLine) -> String;

fn formats() -> Vec<(&'static str, bool, Render)> {
    fn time(i: usize) -> String {
        format!("01/May/2024:10:{:02}:{:02} +0000", i / 60 % 60, i % 60)
    }
    vec![
        ("realip", true, |i, l| {
            format!(
                "{} - - [{}] \"GET /g/{i} HTTP/1.1\" 200 5 \"-\" \"{}\" \"{}\" {} 0.001 -\n",
                l.remote,
                time(i),
                l.ua,
                l.xff.as_deref().unwrap_or("-"),
                l.peer
            )
        }),
        ("main", false, |i, l| {
            format!(
                "{} - - [{}] \"GET /g/{i} HTTP/1.1\" 200 5 \"-\" \"{}\" \"{}\"\n",
                l.remote,
                time(i),
                l.ua,
                l.xff.as_deref().unwrap_or("-")
            )
        }),
        (
            "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \
             \"$http_referer\" \"$http_user_agent\" xff=\"$http_x_forwarded_for\" \
             rt=$request_time",
            false,
            |i, l| {
                format!(
                    "{} - - [{}] \"GET /g/{i} HTTP/1.1\" 200 5 \"-\" \"{}\" xff=\"{}\" rt=0.001\n",
                    l.remote,
                    time(i),
                    l.ua,
                    l.xff.as_deref().unwrap_or("-")
                )
            },
        ),
        ("ltsv", true, |i, l| {
            format!(
                "time:[{}]\thost:{}\tforwardedfor:{}\treq:GET /g/{i} HTTP/1.1\tstatus:200\t\
                 size:5\tua:{}\treqtime:0.001\trealip_remote_addr:{}\n",
                time(i),
                l.remote,
                l.xff.as_deref().unwrap_or("-"),
                l.ua,
                l.peer
            )
        }),
        ("json", true, |i, l| {
            format!(
                "{{\"time\":\"2024-05-01T10:{:02}:{:02}+00:00\",\"remote_addr\":\"{}\",\
                 \"realip_remote_addr\":\"{}\",\"http_x_forwarded_for\":\"{}\",\
                 \"request\":\"GET /g/{i} HTTP/1.1\",\"status\":200,\"body_bytes_sent\":5,\
                 \"request_time\":0.001,\"http_user_agent\":\"{}\"}}\n",
                i / 60 % 60,
                i % 60,
                l.remote,
                l.peer,
                l.xff.as_deref().unwrap_or(""),
                l.ua
            )
        }),
    ]
}

/// `[{ip, lines}]` as pairs, most lines first.
fn ip_lines(v: &Value) -> Vec<(String, u64)> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|l| {
            (
                l["ip"].as_str().expect("ip").to_string(),
                l["lines"].as_u64().expect("lines"),
            )
        })
        .collect()
}

/// Sorted as the audit lists them: most lines first, then by address text.
fn by_lines(mut v: Vec<(String, u64)>) -> Vec<(String, u64)> {
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

#[test]
fn issue_8_generated_logs_with_nothing_declared_give_exact_per_ip_counts_in_every_format() {
    // See: issue #8. 2 to 4 LB IPs, some trusted by nginx and some forgotten, in realip, main,
    // combined + X-Forwarded-For (a template), LTSV and JSON, with spoofed prefixes, health
    // checks and forged direct hits.
    let seed = crate::util::rng::seed("REALIP_AUDIT_SEED", 0x5eed_2026_0a0d_0008);
    eprintln!("issue 8 generated logs: seed 0x{seed:016x} (REALIP_AUDIT_SEED to reproduce)");
    let mut rng = Rng(seed);
    let setups: [&[bool]; 4] = [
        &[true, false],
        &[true, false, false],
        &[true, true, false, true],
        &[false, true, true, false],
    ];
    for (case, trusted) in setups.iter().enumerate() {
        let lbs: Vec<(&str, bool)> = GEN_LBS
            .iter()
            .copied()
            .zip(trusted.iter().copied())
            .collect();
        let (lines, truth) = generated(&mut rng, &lbs, 700);
        let want_trusted = by_lines(
            lbs.iter()
                .zip(&truth.via)
                .filter(|((_, t), _)| *t)
                .map(|((ip, _), n)| (ip.to_string(), *n))
                .collect(),
        );
        let want_forgotten = by_lines(
            lbs.iter()
                .zip(&truth.via)
                .filter(|((_, t), _)| !*t)
                .map(|((ip, _), n)| (ip.to_string(), *n))
                .collect(),
        );
        let misresolved: u64 = want_forgotten.iter().map(|(_, n)| n).sum();
        for (format, peer_logged, render) in formats() {
            let what = format!("case {case} ({lbs:?}), format {format}");
            let text: String = lines
                .iter()
                .enumerate()
                .map(|(i, l)| render(i, l))
                .collect();
            let (_dir, log) = log_file(&text);
            let v = scan_json(&["--log-format", format, &log]);
            let a = &v["audit"];
            assert_eq!(v["parsed"], lines.len(), "{what}: parsed");
            assert_eq!(a["trust_source"], "inferred", "{what}");
            assert_eq!(a["peer_logged"], peer_logged, "{what}");
            assert_eq!(
                ip_lines(&a["trusted_lb_ips"]),
                want_trusted,
                "{what}: trusted_lb_ips"
            );
            assert_eq!(
                ip_lines(&a["unresolved_lb_ips"]),
                want_forgotten,
                "{what}: unresolved_lb_ips"
            );
            assert_eq!(a["misresolved"], misresolved, "{what}: misresolved");
            let counts = finding_counts(a);
            assert_eq!(
                counts.get("config_drift"),
                None,
                "{what}: no drift: {counts:?}"
            );
            assert_eq!(
                counts.get("spoof_attempt"),
                Some(&truth.spoofed),
                "{what}: {counts:?}"
            );
            assert_eq!(
                counts.get("health_check"),
                Some(&truth.health),
                "{what}: {counts:?}"
            );
            let forged_kind = if peer_logged {
                "untrusted_peer"
            } else {
                "undecided"
            };
            assert_eq!(
                counts.get(forged_kind),
                Some(&truth.forged),
                "{what}: {counts:?}"
            );
            // One clause per forgotten IP, biggest first, each with its own count.
            let verdict = a["verdict"].as_str().expect("verdict");
            let mut from = 0;
            for (ip, n) in &want_forgotten {
                let clause = format!("{n} of {} requests (", lines.len());
                let tail =
                    format!("resolved to untrusted LB IP {ip} — add: set_real_ip_from {ip};");
                let at = verdict[from..]
                    .find(&clause)
                    .unwrap_or_else(|| panic!("{what}: {clause:?} in order in {verdict:?}"));
                let end = verdict[from + at..]
                    .find(&tail)
                    .unwrap_or_else(|| panic!("{what}: {tail:?} in {verdict:?}"));
                from += at + end + tail.len();
            }
            // Then what nginx trusts, most lines first.
            let mut trusted: Vec<String> = want_trusted.iter().map(|(ip, _)| ip.clone()).collect();
            // Without $realip_remote_addr the log cannot name the peers.
            trusted.push(if peer_logged {
                "the Google front ends".to_string()
            } else {
                "the peers it came through".to_string()
            });
            let sentence = match trusted.split_last() {
                Some((last, [])) => last.clone(),
                Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
                None => unreachable!(),
            };
            assert!(
                verdict.ends_with(&format!(
                    "(trust inferred from the log: nginx trusts {sentence})"
                )),
                "{what}: the verdict says what nginx trusts: {verdict:?}"
            );

            // Under the full declared trust (every LB IP): the same spoofs and misresolution,
            // the forgotten IPs flagged as declared.
            let all: Vec<&str> = lbs.iter().map(|(ip, _)| *ip).collect();
            let full = format!("gcp,{}", all.join(","));
            let d = scan_json(&["--log-format", format, "--trust", &full, &log]);
            let d = &d["audit"];
            assert_eq!(d["trust_source"], "declared", "{what}");
            let dc = finding_counts(d);
            assert_eq!(
                dc.get("spoof_attempt"),
                counts.get("spoof_attempt"),
                "{what}: {dc:?}"
            );
            assert_eq!(
                d["misresolved"], misresolved,
                "{what}: declared misresolved"
            );
            assert_eq!(ip_lines(&d["unresolved_lb_ips"]), want_forgotten, "{what}");
            for l in d["unresolved_lb_ips"].as_array().expect("array") {
                assert_eq!(l["declared"], true, "{what}: {l}");
            }
            assert_eq!(dc.get("config_drift"), None, "{what}: {dc:?}");

            // Declaring exactly what nginx trusts: no drift, the same forgotten IPs.
            let kept: Vec<&str> = lbs.iter().filter(|(_, t)| *t).map(|(ip, _)| *ip).collect();
            let exact = format!("gcp,{}", kept.join(","));
            let e = scan_json(&["--log-format", format, "--trust", &exact, &log]);
            assert_eq!(
                finding_counts(&e["audit"]).get("config_drift"),
                None,
                "{what}"
            );
            assert_eq!(
                ip_lines(&e["audit"]["unresolved_lb_ips"]),
                want_forgotten,
                "{what}"
            );

            // Declaring only the Google front ends: nginx's own LB trust is drift, as
            // information ("nginx trusts X, which you did not declare"), never misresolution.
            let g = scan_json(&["--log-format", format, "--trust", "gcp", &log]);
            let g = &g["audit"];
            assert_eq!(g["misresolved"], misresolved, "{what}: gcp only");
            let drift = finding(g, "config_drift").unwrap_or_else(|| panic!("{what}: drift"));
            assert_eq!(drift["direction"], "trusted_not_declared", "{what}");
            assert_eq!(drift["misresolution"], false, "{what}");
            let drift_ips: Vec<(String, u64)> = drift["addresses"]
                .as_array()
                .expect("addresses")
                .iter()
                .map(|x| {
                    (
                        x["address"].as_str().expect("address").to_string(),
                        x["lines"].as_u64().expect("lines"),
                    )
                })
                .collect();
            assert_eq!(drift_ips, want_trusted, "{what}: drift addresses");
            let message = drift["message"].as_str().expect("message");
            assert!(
                message.starts_with("nginx trusts ")
                    && message.ends_with(", which you did not declare"),
                "{what}: {message:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Property: inferred trust is the trust nginx was given
// ---------------------------------------------------------------------------------------------

mod inferred_trust_property {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use realip::audit::{Audit, AuditConfig};
    use realip::logfmt::{Field, Record};
    use realip::scan::LineAt;
    use realip::{Addr, Header, Resolver, TrustedSet};

    /// Candidate LB IPs.
    const LBS: [&str; 4] = ["34.120.5.6", "34.149.9.9", "34.111.2.3", "2600:1901:0:1::7"];

    /// One request: which LB (or a direct hit / health check), the client, a spoofed prefix.
    #[derive(Clone, Debug)]
    struct Req {
        shape: u8,
        lb: usize,
        client: u32,
        spoof: u8,
        gfe: u16,
    }

    fn req() -> impl Strategy<Value = Req> {
        (0u8..10, 0usize..4, any::<u32>(), 0u8..4, any::<u16>()).prop_map(
            |(shape, lb, client, spoof, gfe)| Req {
                shape,
                lb,
                client,
                spoof,
                gfe,
            },
        )
    }

    fn client_text(n: u32) -> String {
        // 81.0.0.0/8: public, never an LB IP or a front end.
        format!(
            "81.{}.{}.{}",
            (n >> 16) & 255,
            (n >> 8) & 255,
            1 + (n & 127)
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: 128,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        /// See: issue #8. For random traffic and a random subset of LB IPs given to nginx,
        /// the audit with nothing declared finds exactly that subset among the LB IPs the log
        /// shows, and misresolved = the lines through the others.
        #[test]
        fn inferred_trust_is_the_subset_nginx_was_given(
            nlb in 2usize..=4,
            mask in 0u8..16,
            reqs in prop::collection::vec(req(), 1..150),
            peer_logged in any::<bool>(),
        ) {
            let lbs = &LBS[..nlb];
            let given: Vec<&str> = lbs
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, ip)| *ip)
                .collect();
            // nginx: the Google front ends and the given LB IPs, recursive.
            let mut specs = vec!["gcp"];
            specs.extend(&given);
            let (set, _) = TrustedSet::parse(&specs).unwrap();
            let nginx = Resolver::new(set, Header::x_forwarded_for(), true);
            let fields = if peer_logged {
                vec![Field::RemoteAddr, Field::HttpXForwardedFor, Field::RealipRemoteAddr]
            } else {
                vec![Field::RemoteAddr, Field::HttpXForwardedFor]
            };
            let config = AuditConfig::for_log(
                realip::audit::TrustChoice::Inferred(Header::x_forwarded_for()),
                None,
                &fields,
            )
            .unwrap();
            let mut audit = Audit::new(&config);
            let mut through: BTreeMap<&str, u64> = BTreeMap::new();
            for (i, r) in reqs.iter().enumerate() {
                let c = client_text(r.client);
                let gfe = format!("35.191.{}.{}", r.gfe >> 8, 1 + (r.gfe & 127));
                let lb = lbs[r.lb % nlb];
                let (peer, xff) = match r.shape {
                    // A direct hit, the forged header never naming the peer.
                    0 => (c.clone(), Some(format!("1.2.3.4,{lb}"))),
                    1 => (c.clone(), None),
                    _ => {
                        *through.entry(lb).or_default() += 1;
                        let prefix = match r.spoof {
                            0 => String::new(),
                            1 => "10.0.0.1, ".to_string(),
                            2 => format!("{}, ", lbs[(r.lb + 1) % nlb]),
                            _ => "unknown, 35.191.0.9, ".to_string(),
                        };
                        (gfe, Some(format!("{prefix}{c},{lb}")))
                    }
                };
                let peer_addr = Addr::parse(peer.as_bytes()).unwrap();
                let xs: Vec<&[u8]> = xff.iter().map(|x| x.as_bytes()).collect();
                let remote = nginx.resolve(peer_addr, xs).addr.to_string();
                let mut rec = Record::new();
                rec.set(Field::RemoteAddr, remote.as_bytes());
                if peer_logged {
                    rec.set(Field::RealipRemoteAddr, peer.as_bytes());
                }
                if let Some(x) = &xff {
                    rec.set(Field::HttpXForwardedFor, x.as_bytes());
                }
                audit.record(&rec, LineAt { file: 0, unit: 0, line: i as u64 });
            }
            let v = audit.view(|at| at.line.to_string());
            let seen = |trusted: bool| -> BTreeMap<String, u64> {
                through
                    .iter()
                    .filter(|(ip, _)| given.contains(ip) == trusted)
                    .map(|(ip, n)| (ip.to_string(), *n))
                    .collect()
            };
            let got = |list: &[realip::audit::LbIpView]| -> BTreeMap<String, u64> {
                list.iter().map(|l| (l.ip.clone(), l.lines)).collect()
            };
            prop_assert_eq!(got(&v.trusted_lb_ips), seen(true));
            prop_assert_eq!(got(&v.unresolved_lb_ips), seen(false));
            prop_assert_eq!(v.misresolved, seen(false).values().sum::<u64>());
            prop_assert_eq!(v.trust_source, "inferred");
            prop_assert!(v.findings.iter().all(|f| f.kind != "config_drift"));
        }
    }
}

#[test]
fn issue_8_readme_audit_table_is_what_the_tool_prints() {
    // See: issue #8: the README's sample figures are the ones the tool prints.
    let out = realip()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["scan", "--output", "table", "--no-summary"])
        .arg("testdata/logs/sample.log")
        .output()
        .expect("run realip");
    let stdout = assert_exit(&out, 0);
    let audit: String = stdout
        .lines()
        .take_while(|l| !l.is_empty())
        .map(|l| format!("{l}\n"))
        .collect();
    let golden = std::fs::read_to_string(crate::util::fixture("expected/scan-sample-audit.txt"))
        .expect("golden");
    eqnice!(golden, audit);
    let readme = std::fs::read_to_string(crate::util::fixture("../README.md")).expect("README");
    assert!(
        readme.contains(&format!("```\n{golden}```\n")),
        "README's audit example must be testdata/expected/scan-sample-audit.txt"
    );
    let check = realip()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["scan", "--check", "testdata/logs/sample.log"])
        .output()
        .expect("run realip");
    let line = String::from_utf8_lossy(&check.stdout)
        .trim_end()
        .to_string();
    assert!(
        readme.contains(&format!(
            "$ realip scan --check testdata/logs/sample.log\n{line}\n"
        )),
        "README's --check example must be what the tool prints: {line}"
    );
}

#[test]
fn issue_8_declared_trust_that_nginx_did_not_apply_is_drift_in_plain_words_counted_once() {
    // See: issue #8. An internal proxy 10.0.0.5 is declared but nginx did not trust it (it
    // logged the proxy as the client): a misresolution, "you declared X, but nginx did not
    // trust it on N lines". nginx trusts 34.120.5.6, which is not declared: information.
    let mut log = realip_log(20, 0);
    for i in 0..4 {
        log.push_str(&format!(
            "10.0.0.5 - - [01/May/2024:11:00:0{i} +0000] \"GET /p HTTP/1.1\" 200 5 \"-\" \"curl\" \
             \"81.9.9.{i}\" 10.0.0.5 0.001 -\n"
        ));
    }
    let (_dir, path) = log_file(&log);
    let v = scan_json(&["--trust", "gcp,10.0.0.5", &path]);
    let a = &v["audit"];
    assert_eq!(a["trust_source"], "declared");
    assert_eq!(a["misresolved"], 4, "{}", a["findings"]);
    let drift: Vec<&Value> = a["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["kind"] == "config_drift")
        .collect();
    assert_eq!(drift.len(), 2, "two separate findings: {drift:?}");
    assert_eq!(drift[0]["direction"], "declared_not_trusted");
    assert_eq!(drift[0]["misresolution"], true);
    assert_eq!(drift[0]["count"], 4);
    assert_eq!(
        drift[0]["message"],
        "you declared 10.0.0.5, but nginx did not trust it on 4 lines"
    );
    assert_eq!(drift[1]["direction"], "trusted_not_declared");
    assert_eq!(drift[1]["misresolution"], false);
    assert_eq!(drift[1]["count"], 20);
    assert_eq!(
        drift[1]["message"],
        "nginx trusts 34.120.5.6 (20 lines), which you did not declare"
    );
    // The verdict names it with its count and fix; the sum of misresolution kinds is
    // `misresolved`.
    let verdict = a["verdict"].as_str().expect("verdict");
    assert_eq!(
        verdict,
        "4 of 24 requests (16.7%) stopped at 10.0.0.5, which you declared, but nginx did not \
         trust — add: set_real_ip_from 10.0.0.5;"
    );
    let sum: u64 = a["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["misresolution"] == true)
        .map(|f| f["count"].as_u64().expect("count"))
        .sum();
    assert_eq!(a["misresolved"], sum);
}

#[test]
fn issue_8_prometheus_counts_trusted_and_forgotten_lb_ips_and_drift_by_direction() {
    // See: issue #8.
    let sample = crate::util::fixture("logs/sample.log");
    let sample = sample.to_str().expect("utf-8 path");
    let out = scan(&["--output", "prometheus", "--no-summary", sample]);
    let prom = assert_exit(&out, 0);
    for want in [
        "realip_audit_unresolved_lb_ip_lines_total{ip=\"34.149.9.9\"} 49\n",
        "realip_audit_trusted_lb_ip_lines_total{ip=\"34.120.5.6\"} 1688\n",
        "realip_audit_misresolved_lines_total 49\n",
    ] {
        assert!(prom.contains(want), "{want}: {prom}");
    }
    assert!(
        !prom.contains("realip_audit_config_drift_lines_total"),
        "{prom}"
    );
    let out = scan(&[
        "--output",
        "prometheus",
        "--no-summary",
        "--trust",
        "gcp",
        sample,
    ]);
    let prom = assert_exit(&out, 0);
    assert!(
        prom.contains(
            "realip_audit_config_drift_lines_total{direction=\"trusted_not_declared\"} 1688\n"
        ),
        "{prom}"
    );
    // Mackerel: one metric per drift direction, never the same name twice.
    let out = scan(&[
        "--output",
        "mackerel",
        "--no-summary",
        "--trust",
        "gcp",
        sample,
    ]);
    let mk = assert_exit(&out, 0);
    assert!(
        mk.lines()
            .any(|l| l.starts_with("realip.audit.config_drift_trusted_not_declared\t1688\t")),
        "{mk}"
    );
    let names: Vec<&str> = mk.lines().filter_map(|l| l.split('\t').next()).collect();
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(
        names.len(),
        unique.len(),
        "duplicate Mackerel metrics: {mk}"
    );
}

#[test]
fn issue_8_a_declared_lb_ip_nginx_did_not_trust_is_said_so_in_the_table_once() {
    // See: issue #8: "you declared X, but nginx did not trust it", counted once.
    let sample = crate::util::fixture("logs/sample.log");
    let sample = sample.to_str().expect("utf-8 path");
    let trust = "gcp,34.120.5.6,34.149.9.9";
    let out = scan(&[
        "--output",
        "table",
        "--no-summary",
        "--trust",
        trust,
        sample,
    ]);
    let stdout = assert_exit(&out, 0);
    let mut lines = stdout.lines();
    eqnice!(
        "audit: 49 of 2,000 requests (2.5%) resolved to untrusted LB IP 34.149.9.9 (you declared \
         it, but nginx did not trust it) — add: set_real_ip_from 34.149.9.9;",
        lines.next().unwrap_or("")
    );
    assert!(
        stdout.lines().any(|l| l
            .trim_start()
            .starts_with("34.149.9.9  NOT trusted (declared)     49")),
        "{stdout}"
    );
    let v = scan_json(&["--trust", trust, sample]);
    assert_eq!(v["audit"]["misresolved"], 49);
    assert_eq!(v["audit"]["unresolved_lb_ips"][0]["declared"], true);
    assert_eq!(finding_counts(&v["audit"]).get("config_drift"), None);
}
