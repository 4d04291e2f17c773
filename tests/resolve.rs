//! Every case of the nginx reference, as data: `testdata/resolve/cases.tsv`.
//!
//! Each row is one request (config, peer, header lines) and the `$remote_addr` /
//! `$remote_port` nginx produced. The file's README describes the columns.

use realip::{Addr, Header, NginxVersion, Resolver, TrustedSet};

use crate::util::fixture;

struct Case {
    id: String,
    header: String,
    recursive: bool,
    trusted: Vec<String>,
    peer: String,
    lines: Vec<String>,
    nginx: String,
    expected_addr: String,
    expected_port: String,
}

fn load() -> Vec<Case> {
    let text = std::fs::read_to_string(fixture("resolve/cases.tsv")).unwrap();
    let mut rows = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty());
    let header: Vec<&str> = rows.next().unwrap().split('\t').collect();
    assert_eq!(
        header,
        [
            "id",
            "header",
            "recursive",
            "trusted",
            "peer",
            "lines",
            "nginx",
            "expected_addr",
            "expected_port",
            "note"
        ]
    );
    rows.map(|row| {
        let f: Vec<&str> = row.split('\t').collect();
        assert_eq!(f.len(), 10, "row {row:?}");
        Case {
            id: f[0].into(),
            header: f[1].into(),
            recursive: match f[2] {
                "on" => true,
                "off" => false,
                other => panic!("{}: recursive {other:?}", f[0]),
            },
            trusted: if f[3] == "-" {
                vec![]
            } else {
                f[3].split(',').map(String::from).collect()
            },
            peer: f[4].into(),
            lines: serde_json::from_str(f[5]).unwrap(),
            nginx: f[6].into(),
            expected_addr: f[7].into(),
            expected_port: f[8].into(),
        }
    })
    .collect()
}

/// The nginx versions a row applies to, as one representative version each.
fn versions(spec: &str) -> Vec<NginxVersion> {
    let old = NginxVersion(1, 22, 1);
    let new = NginxVersion(1, 27, 3);
    match spec {
        "all" => vec![old, new],
        "<1.27.3" => vec![old],
        ">=1.27.3" => vec![new],
        other => panic!("nginx column {other:?}"),
    }
}

#[test]
fn every_reference_case_resolves_like_nginx() {
    let cases = load();
    assert!(cases.len() >= 250, "only {} cases", cases.len());
    let mut failures = Vec::new();
    let mut checked = 0;
    for c in &cases {
        let (trusted, _) = TrustedSet::parse(&c.trusted).unwrap();
        let header = Header::new(&c.header).unwrap();
        let peer = Addr::parse(c.peer.as_bytes()).unwrap();
        for v in versions(&c.nginx) {
            let r =
                Resolver::new(trusted.clone(), header.clone(), c.recursive).with_nginx_version(v);
            let res = r.resolve(peer, c.lines.iter().map(|l| l.as_bytes()));
            let (addr, port) = if res.applied() {
                let port = res
                    .port
                    .map(|p| p.to_string())
                    .unwrap_or_else(|| "empty".into());
                (res.addr.to_string(), port)
            } else {
                assert_eq!(
                    res.addr, peer,
                    "{}: unapplied result must be the peer",
                    c.id
                );
                ("unchanged".to_string(), "peer".to_string())
            };
            checked += 1;
            if addr != c.expected_addr || port != c.expected_port {
                let ex = r.explain(peer, c.lines.iter().map(|l| l.as_bytes()));
                failures.push(format!(
                    "{} (nginx {v}): expected {} port {}, got {addr} port {port}\n{}",
                    c.id,
                    c.expected_addr,
                    c.expected_port,
                    realip::report::explain::explanation_text(&ex)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Long chains (reference §6.3), generated rather than stored.
#[test]
fn long_chains_resolve_like_nginx() {
    let r = |trust: &[&str], recursive: bool| {
        let (t, _) = TrustedSet::parse(trust).unwrap();
        Resolver::new(t, Header::x_forwarded_for(), recursive)
    };
    let peer = Addr::parse(b"127.0.0.1").unwrap();
    let one = |r: &Resolver, v: &str| r.resolve(peer, [v.as_bytes()]).addr.to_string();

    let s = r(&["127.0.0.0/8"], true);
    for n in [1_000, 10_000, 50_000] {
        let chain = format!("192.0.2.1{}", ", 127.0.0.1".repeat(n));
        assert_eq!(one(&s, &chain), "192.0.2.1", "n={n}");
        let all = vec!["127.0.0.1"; n].join(", ");
        assert_eq!(one(&s, &all), "127.0.0.1");
        assert_eq!(one(&s, &format!("127.0.0.9, {all}")), "127.0.0.9");
    }
    let t = r(&["127.0.0.1"], false);
    let chain = format!("192.0.2.1{}, 198.51.100.1", ", 127.0.0.1".repeat(1_000));
    assert_eq!(one(&t, &chain), "198.51.100.1");

    let distinct: Vec<String> = (0..20_000u32)
        .map(|i| format!("127.{}.{}.{}", 0, (i >> 8) & 0xff, 1 + (i & 0x7f)))
        .collect();
    assert_eq!(one(&s, &distinct.join(", ")), "127.0.0.1");

    let trusted: Vec<String> = (1..=49).map(|i| format!("127.0.1.{i}")).collect();
    let garbage = format!("{}, garbage, {}", trusted.join(", "), trusted.join(", "));
    assert_eq!(one(&s, &garbage), "127.0.1.1");
    let mid = format!("{}, 192.0.2.50, {}", trusted.join(", "), trusted.join(", "));
    assert_eq!(one(&s, &mid), "192.0.2.50");

    // 61 lines: 192.0.2.1 then 60 x 127.0.0.1 (recursive); 30 x 192.0.2.1 then 10.9.9.9 (off).
    let b = r(&["127.0.0.1"], true);
    let mut lines = vec!["192.0.2.1"];
    lines.extend(std::iter::repeat_n("127.0.0.1", 60));
    assert_eq!(
        b.resolve(peer, lines.iter().map(|l| l.as_bytes()))
            .addr
            .to_string(),
        "192.0.2.1"
    );
    let a = r(&["127.0.0.1"], false);
    let mut lines = vec!["192.0.2.1"; 30];
    lines.push("10.9.9.9");
    assert_eq!(
        a.resolve(peer, lines.iter().map(|l| l.as_bytes()))
            .addr
            .to_string(),
        "10.9.9.9"
    );
}
