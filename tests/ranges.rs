//! Published range files: the samples in `testdata/ranges/`, read through `realip::ranges`.
//!
//! * Every sample loads as the right provider with the right counts per family and the
//!   provenance the file carries (sync token, creation date); the Cloudflare text and API
//!   samples agree with each other and with the `cloudflare` preset.
//! * The AWS service filter keeps exactly the entries of that service (checked against the
//!   JSON read here with serde_json); no or an unknown service lists the services present; a
//!   service filter on any other list is refused.
//! * Google's lists refuse to become trust lists, with the explanation; the others feed
//!   `TrustedSet::parse` without warnings.
//! * Staleness: warned at 91 days, not at 89 or 90; undated lists say so.
//! * Errors name their place (line number, JSON path, or JSON line:column): golden messages in
//!   `testdata/ranges/errors/*.txt` (input, a `---` line, the expected message), plus every
//!   line of a text sample corrupted in turn.
//! * Nothing panics on arbitrary bytes or on mutated samples.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::Path;

use ipnet::IpNet;
use proptest::prelude::*;
use realip::ranges::{self, Provider, RangeList};
use realip::{Error, TrustedSet};
use serde_json::Value;

use crate::eqnice;
use crate::util::fixture;

/// 2026-11-22T00:00:00Z: two days after the Google samples, one after the AWS sample.
const NOW: i64 = 1_795_305_600;
const DAY: i64 = 86_400;

/// `cases` per property, or `PROPTEST_CASES` when set (for long runs).
fn config(cases: u32) -> ProptestConfig {
    let env = std::env::var("PROPTEST_CASES").ok();
    ProptestConfig {
        cases: env.and_then(|n| n.parse().ok()).unwrap_or(cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn load(name: &str, service: Option<&str>) -> RangeList {
    ranges::load(&fixture(&format!("ranges/{name}")), service, NOW)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn count(list: &RangeList) -> (usize, usize) {
    let v4 = list
        .nets
        .iter()
        .filter(|n| matches!(n, IpNet::V4(_)))
        .count();
    (v4, list.nets.len() - v4)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

struct Expect {
    file: &'static str,
    service: Option<&'static str>,
    provider: Provider,
    v4: usize,
    v6: usize,
    sync_token: Option<&'static str>,
    created: Option<&'static str>,
    created_epoch: Option<i64>,
}

const SAMPLES: &[Expect] = &[
    Expect {
        file: "goog.json",
        service: None,
        provider: Provider::GoogleGoog,
        v4: 6,
        v6: 3,
        sync_token: Some("1795145533447"),
        created: Some("2026-11-20T03:32:13.447623"),
        created_epoch: Some(1_795_145_533),
    },
    Expect {
        file: "cloud.json",
        service: None,
        provider: Provider::GoogleCloud,
        v4: 5,
        v6: 2,
        sync_token: Some("1795145533447"),
        created: Some("2026-11-20T03:32:13.447623"),
        created_epoch: Some(1_795_145_533),
    },
    Expect {
        file: "cloudflare-ips-v4.txt",
        service: None,
        provider: Provider::CloudflareText,
        v4: 15,
        v6: 0,
        sync_token: None,
        created: None,
        created_epoch: None,
    },
    Expect {
        file: "cloudflare-ips-v6.txt",
        service: None,
        provider: Provider::CloudflareText,
        v4: 0,
        v6: 7,
        sync_token: None,
        created: None,
        created_epoch: None,
    },
    Expect {
        file: "cloudflare-api.json",
        service: None,
        provider: Provider::CloudflareApi,
        v4: 15,
        v6: 7,
        sync_token: Some("38f79d050aa027e3be3865e495dcc9bc"),
        created: None,
        created_epoch: None,
    },
    Expect {
        file: "aws-ip-ranges.json",
        service: Some("CLOUDFRONT_ORIGIN_FACING"),
        provider: Provider::Aws,
        v4: 4,
        v6: 0,
        sync_token: Some("1795288388"),
        created: Some("2026-11-21-19-13-08"),
        created_epoch: Some(1_795_288_388),
    },
    Expect {
        file: "fastly-public-ip-list.json",
        service: None,
        provider: Provider::Fastly,
        v4: 10,
        v6: 2,
        sync_token: None,
        created: None,
        created_epoch: None,
    },
];

#[test]
fn every_sample_loads_with_its_provider_counts_and_provenance() {
    for e in SAMPLES {
        let list = load(e.file, e.service);
        let p = &list.provenance;
        assert_eq!(p.provider, e.provider, "{}", e.file);
        assert_eq!(count(&list), (e.v4, e.v6), "{}", e.file);
        assert_eq!(p.sync_token.as_deref(), e.sync_token, "{}", e.file);
        assert_eq!(p.created.as_deref(), e.created, "{}", e.file);
        assert_eq!(p.created_epoch, e.created_epoch, "{}", e.file);
        assert_eq!(p.service.as_deref(), e.service, "{}", e.file);
        assert_eq!(
            p.source,
            fixture(&format!("ranges/{}", e.file)).display().to_string()
        );
        // Fresh samples: the only warning is for lists that carry no date.
        if e.created_epoch.is_some() {
            assert!(list.warnings.is_empty(), "{}: {:?}", e.file, list.warnings);
        } else {
            assert_eq!(list.warnings.len(), 1, "{}: {:?}", e.file, list.warnings);
            assert!(
                list.warnings[0].contains("carries no date")
                    && list.warnings[0].contains(e.provider.url()),
                "{}: {:?}",
                e.file,
                list.warnings
            );
        }
    }
}

#[test]
fn every_sample_file_is_covered_by_a_test() {
    let mut files: Vec<String> = fs::read_dir(fixture("ranges"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md" && n != "errors")
        .collect();
    files.sort();
    let mut covered: Vec<String> = SAMPLES.iter().map(|e| e.file.to_string()).collect();
    covered.sort();
    assert_eq!(files, covered);
}

#[test]
fn cloudflare_text_and_api_samples_agree_with_each_other_and_the_preset() {
    let mut text = load("cloudflare-ips-v4.txt", None).nets;
    text.extend(load("cloudflare-ips-v6.txt", None).nets);
    let api = load("cloudflare-api.json", None);
    assert_eq!(text, api.nets);
    let preset: Vec<String> = realip::presets::CLOUDFLARE
        .ranges
        .iter()
        .map(|r| r.to_string())
        .collect();
    assert_eq!(api.trust_specs().unwrap(), preset);
}

#[test]
fn a_text_list_without_a_final_newline_keeps_its_last_range() {
    let raw = fs::read(fixture("ranges/cloudflare-ips-v6.txt")).unwrap();
    assert_ne!(
        raw.last(),
        Some(&b'\n'),
        "the sample must end without a newline"
    );
    let list = load("cloudflare-ips-v6.txt", None);
    assert_eq!(list.nets.last().unwrap().to_string(), "2c0f:f248::/32");
}

/// The AWS sample's (prefix, service) pairs, read with serde_json: the model for the filter.
fn aws_model() -> Vec<(String, String)> {
    let text = fs::read_to_string(fixture("ranges/aws-ip-ranges.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let mut out = Vec::new();
    for (key, field) in [("prefixes", "ip_prefix"), ("ipv6_prefixes", "ipv6_prefix")] {
        for e in doc[key].as_array().unwrap() {
            out.push((
                e[field].as_str().unwrap().to_string(),
                e["service"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

#[test]
fn the_aws_service_filter_keeps_exactly_that_services_ranges_in_both_families() {
    let model = aws_model();
    let services: BTreeSet<&str> = model.iter().map(|(_, s)| s.as_str()).collect();
    assert!(services.len() >= 5);
    for service in services {
        let list = load("aws-ip-ranges.json", Some(service));
        let got: Vec<String> = list.nets.iter().map(IpNet::to_string).collect();
        let want: Vec<String> = model
            .iter()
            .filter(|(_, s)| s == service)
            .map(|(p, _)| p.clone())
            .collect();
        assert_eq!(got, want, "{service}");
        assert_eq!(list.provenance.service.as_deref(), Some(service));
    }
    // CLOUDFRONT has both families and does not include CLOUDFRONT_ORIGIN_FACING.
    let cf = load("aws-ip-ranges.json", Some("CLOUDFRONT"));
    assert_eq!(count(&cf), (2, 1));
    assert!(cf.contains(ip("2600:9000::1")));
    assert!(!cf.contains(ip("15.158.1.1")));
    let r53 = load("aws-ip-ranges.json", Some("ROUTE53_HEALTHCHECKS"));
    assert_eq!(count(&r53), (2, 1));
}

#[test]
fn aws_without_a_service_or_with_an_unknown_one_lists_the_services_present() {
    let path = fixture("ranges/aws-ip-ranges.json");
    let name = path.display().to_string();
    let present = "AMAZON, CLOUDFRONT, CLOUDFRONT_ORIGIN_FACING, EC2, ROUTE53_HEALTHCHECKS, S3";
    let err = ranges::load(&path, None, NOW).unwrap_err();
    assert!(matches!(err, Error::RangesService { given: None, .. }));
    eqnice!(
        format!(
            "{name}: AWS ip-ranges.json lists every AWS service; choose one (e.g. \
             CLOUDFRONT_ORIGIN_FACING); services present: {present}"
        ),
        err.to_string()
    );
    let err = ranges::load(&path, Some("CLOUDFRONT_ORIGIN"), NOW).unwrap_err();
    eqnice!(
        format!(
            "{name}: no AWS service \"CLOUDFRONT_ORIGIN\" in this ip-ranges.json; services \
             present: {present}"
        ),
        err.to_string()
    );
}

#[test]
fn a_service_filter_on_a_list_without_services_is_refused() {
    for e in SAMPLES.iter().filter(|e| e.provider != Provider::Aws) {
        let path = fixture(&format!("ranges/{}", e.file));
        let err = ranges::load(&path, Some("CLOUDFRONT_ORIGIN_FACING"), NOW).unwrap_err();
        assert!(
            matches!(err, Error::RangesServiceNotApplicable { .. }),
            "{}: {err}",
            e.file
        );
        assert!(err
            .to_string()
            .contains("applies to AWS ip-ranges.json only"));
    }
}

#[test]
fn google_lists_refuse_to_become_trust_lists_and_say_why() {
    for (file, list) in [
        ("goog.json", "Google goog.json"),
        ("cloud.json", "Google cloud.json"),
    ] {
        let ranges = load(file, None);
        let err = ranges.trust_specs().unwrap_err();
        assert!(matches!(err, Error::RangesUntrusted { .. }));
        let msg = err.to_string();
        for part in [
            &format!("refusing to trust the {list}: "),
            "every Google Cloud customer",
            "anyone with a GCP VM spoof X-Forwarded-For",
            "only to recognise Google addresses",
            "--trust gcp",
            "forwarding-rule IPs",
        ] {
            assert!(msg.contains(part), "{file}: missing {part:?} in {msg}");
        }
        // Recognition still works.
        assert!(!ranges.nets.is_empty());
    }
}

#[test]
fn the_other_lists_feed_trusted_set_parse_without_warnings() {
    for e in SAMPLES
        .iter()
        .filter(|e| !matches!(e.provider, Provider::GoogleGoog | Provider::GoogleCloud))
    {
        let list = load(e.file, e.service);
        let specs = list.trust_specs().unwrap();
        assert_eq!(specs.len(), list.nets.len());
        let (set, warnings) = TrustedSet::parse(&specs).unwrap();
        assert!(warnings.is_empty(), "{}: {warnings:?}", e.file);
        assert_eq!(set.entries().len(), list.nets.len());
        for net in &list.nets {
            assert!(set.contains_ip(net.network()), "{}: {net}", e.file);
            assert!(set.contains_ip(net.broadcast()), "{}: {net}", e.file);
            assert!(list.contains(net.network()) && list.contains(net.broadcast()));
        }
        // Round trip: the strings parse back to the same ranges.
        let back: Vec<IpNet> = specs.iter().map(|s| s.parse().unwrap()).collect();
        assert_eq!(back, list.nets);
    }
}

#[test]
fn contains_recognises_addresses_of_both_families() {
    let cloud = load("cloud.json", None);
    assert!(cloud.contains(ip("34.120.5.6")));
    assert!(cloud.contains(ip("::ffff:34.120.5.6")));
    assert!(cloud.contains(ip("2600:1901::abcd")));
    assert!(!cloud.contains(ip("203.0.113.7")));
    assert!(!cloud.contains(ip("2600:1902::1")));
    let goog = load("goog.json", None);
    assert!(goog.contains(ip("8.8.8.8")));
    assert!(goog.contains(ip("2001:4860:4860::8888")));
    assert!(!goog.contains(ip("9.9.9.9")));
    let fastly = load("fastly-public-ip-list.json", None);
    assert!(fastly.contains(ip("151.101.1.1")));
    assert!(fastly.contains(ip("2a04:4e42::1")));
    assert!(!fastly.contains(ip("2a04:4e41::1")));
}

fn stale_warnings(file: &str, service: Option<&str>, days: i64) -> Vec<String> {
    let text = fs::read_to_string(fixture(&format!("ranges/{file}"))).unwrap();
    let created = ranges::parse(&text, file, service, NOW)
        .unwrap()
        .provenance
        .created_epoch
        .unwrap();
    ranges::parse(&text, file, service, created + days * DAY)
        .unwrap()
        .warnings
}

#[test]
fn a_snapshot_older_than_90_days_is_stale_and_names_where_to_fetch_it() {
    eqnice!(
        "snapshot from 2026-11-20 is 91 days old; fetch a fresh copy from \
         https://www.gstatic.com/ipranges/cloud.json",
        stale_warnings("cloud.json", None, 91).join("\n")
    );
    eqnice!(
        "snapshot from 2026-11-21 is 91 days old; fetch a fresh copy from \
         https://ip-ranges.amazonaws.com/ip-ranges.json",
        stale_warnings("aws-ip-ranges.json", Some("CLOUDFRONT_ORIGIN_FACING"), 91).join("\n")
    );
    assert_eq!(
        stale_warnings("goog.json", None, 400)[0],
        "snapshot from 2026-11-20 is 400 days old; fetch a fresh copy from \
         https://www.gstatic.com/ipranges/goog.json"
    );
}

#[test]
fn a_snapshot_of_89_or_90_days_is_not_stale() {
    for days in [0, 89, 90] {
        assert_eq!(
            stale_warnings("goog.json", None, days),
            Vec::<String>::new()
        );
        assert_eq!(
            stale_warnings("aws-ip-ranges.json", Some("S3"), days),
            Vec::<String>::new()
        );
    }
}

#[test]
fn undated_lists_warn_that_their_age_is_unknown_whatever_the_clock() {
    let list = ranges::parse("173.245.48.0/20\n", "ips-v4", None, NOW + 1000 * DAY).unwrap();
    eqnice!(
        "a plain-text CIDR list (Cloudflare ips-v4/ips-v6 format) carries no date, so the \
         snapshot's age is unknown; fetch a fresh copy from https://www.cloudflare.com/ips-v4 \
         and https://www.cloudflare.com/ips-v6 if in doubt",
        list.warnings.join("\n")
    );
}

/// `testdata/ranges/errors/NAME.txt`: the input, a `---` line, the expected message. The
/// input is parsed with NAME.txt as its source name.
#[test]
fn malformed_inputs_give_the_golden_error_naming_the_place() {
    let dir = fixture("ranges/errors");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 10);
    let mut failures = Vec::new();
    for name in &names {
        let text = fs::read_to_string(dir.join(name)).unwrap();
        let (input, expected) = text
            .split_once("\n---\n")
            .unwrap_or_else(|| panic!("{name}: no --- line"));
        let input = format!("{input}\n");
        let got = match ranges::parse(&input, name, None, NOW) {
            Ok(list) => format!("unexpectedly parsed: {:?}", list.nets),
            Err(e) => e.to_string(),
        };
        if got != expected.trim_end_matches('\n') {
            failures.push(format!(
                "{name}\n  want: {}\n  got:  {got}",
                expected.trim_end()
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn every_line_of_a_text_sample_corrupted_in_turn_is_reported_at_its_line() {
    let text = fs::read_to_string(fixture("ranges/cloudflare-ips-v4.txt")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for bad in 0..lines.len() {
        let mut edited: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        edited[bad] = format!("{}9", edited[bad]); // "/20" -> "/209"
        let err = ranges::parse(&edited.join("\n"), "v4", None, NOW).unwrap_err();
        match err {
            Error::RangesEntry { place, text, .. } => {
                assert_eq!(place, format!("line {}", bad + 1));
                assert_eq!(text.as_deref(), Some(edited[bad].as_str()));
            }
            other => panic!("line {}: {other}", bad + 1),
        }
    }
}

#[test]
fn every_prefix_of_a_json_sample_corrupted_in_turn_is_reported_at_its_path() {
    let text = fs::read_to_string(fixture("ranges/goog.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let n = doc["prefixes"].as_array().unwrap().len();
    for i in 0..n {
        let mut doc = doc.clone();
        let entry = doc["prefixes"][i].as_object_mut().unwrap();
        let (key, value) = entry.iter_mut().next().unwrap();
        let key = key.clone();
        *value = Value::String(format!("{}0", value.as_str().unwrap()));
        let err = ranges::parse(&doc.to_string(), "goog", None, NOW).unwrap_err();
        match err {
            Error::RangesEntry { place, .. } => {
                assert_eq!(place, format!(".prefixes[{i}].{key}"));
            }
            other => panic!("prefix {i}: {other}"),
        }
    }
}

#[test]
fn load_reports_missing_files_directories_and_non_utf8_with_the_path() {
    let missing = fixture("ranges/no-such-file.json");
    let err = ranges::load(&missing, None, NOW).unwrap_err();
    assert!(matches!(
        err,
        Error::Input {
            kind: Some(std::io::ErrorKind::NotFound),
            ..
        }
    ));
    assert!(err.to_string().contains("no-such-file.json"));

    let err = ranges::load(&fixture("ranges"), None, NOW).unwrap_err();
    assert!(err.to_string().ends_with("is a directory"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let latin1 = dir.path().join("latin1.txt");
    fs::write(&latin1, b"10.0.0.0/8\n# caf\xe9\n").unwrap();
    let err = ranges::load(&latin1, None, NOW).unwrap_err();
    assert!(matches!(err, Error::RangesFormat { .. }));
    assert!(
        err.to_string()
            .contains("not UTF-8 text: invalid byte at offset 16"),
        "{err}"
    );
}

#[test]
fn load_reads_a_gzipped_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("ip-ranges.json.gz");
    let raw = fs::read(fixture("ranges/aws-ip-ranges.json")).unwrap();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&raw).unwrap();
    fs::write(&gz, enc.finish().unwrap()).unwrap();
    let list = ranges::load(&gz, Some("CLOUDFRONT_ORIGIN_FACING"), NOW).unwrap();
    assert_eq!(
        list.nets,
        load("aws-ip-ranges.json", Some("CLOUDFRONT_ORIGIN_FACING")).nets
    );
}

/// Any outcome but a panic; an `Ok` list is never empty and holds valid, canonical ranges.
fn check_total(text: &str, service: Option<&str>) {
    if let Ok(list) = ranges::parse(text, "p", service, NOW) {
        assert!(!list.nets.is_empty());
        for net in &list.nets {
            assert_eq!(*net, net.trunc());
        }
    }
}

fn samples() -> Vec<String> {
    SAMPLES
        .iter()
        .map(|e| fs::read_to_string(fixture(&format!("ranges/{}", e.file))).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        check_total(&text, None);
        check_total(&text, Some("EC2"));
    }

    #[test]
    fn json_shaped_noise_never_panics(
        text in r#"[{}\[\]",:0-9a-fA-F./ _a-z]{0,200}"#,
        key in prop::sample::select(vec![
            "prefixes", "ipv6_prefixes", "createDate", "creationTime", "result", "addresses",
            "ipv4Prefix", "ip_prefix", "ipv4_cidrs", "service", "success",
        ]),
    ) {
        check_total(&format!("{{\"{key}\":{text}"), None);
        check_total(&format!("{{\"{key}\":[{{\"{key}\":{text}}}]}}"), Some("S3"));
    }

    #[test]
    fn mutated_samples_never_panic(
        which in 0..SAMPLES.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = samples()[which].clone().into_bytes();
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        check_total(&String::from_utf8_lossy(&bytes), SAMPLES[which].service);
    }
}

#[test]
fn load_of_arbitrary_bytes_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("noise");
    let mut runner = proptest::test_runner::TestRunner::new(config(64));
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..256), |bytes| {
            fs::write(&path, &bytes).unwrap();
            let _ = ranges::load(Path::new(&path), None, NOW);
            Ok(())
        })
        .unwrap();
}
