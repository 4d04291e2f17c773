//! The library's scan job (`realip::job::ScanJob`) used directly, as a library user would:
//! what it records is what `realip scan` records, without the CLI adding anything.

use realip::job::{ResolverOptions, ScanJob, Trust};
use realip::merge::{self, Part, MERGEABLE_KEY, NGINX_VERSION_KEY};
use realip::report::{self, Output, ScanReport};
use realip::resolve::NginxVersion;
use serde_json::Value;

use crate::util::{assert_exit, fixture, realip};

/// A scan of `logs/sample.log` with the Google front ends and one LB IP trusted, reproducing
/// `version`'s realip rules (none: the newest).
fn scan(version: Option<&str>) -> ScanReport {
    scan_with(
        Some(Trust::Declared(vec!["gcp".into(), "34.120.5.6".into()])),
        version,
    )
}

/// The same scan with `trust` (none: inferred from the log).
fn scan_with(trust: Option<Trust>, version: Option<&str>) -> ScanReport {
    let mut job = ScanJob::new([fixture("logs/sample.log")]);
    if let Some(trust) = trust {
        job = job.trust(trust);
    }
    job.resolver(ResolverOptions {
        nginx_version: version.map(|v| NginxVersion::parse(v).unwrap()),
        ..ResolverOptions::default()
    })
    .now(1_764_000_000)
    .prepare()
    .unwrap()
    .run()
    .unwrap()
    .report
}

/// A report as `merge` reads it from a file.
fn part(name: &str, r: &ScanReport) -> Part {
    Part {
        name: name.to_string(),
        json: serde_json::from_str(&report::render(r, Output::Json)).unwrap(),
    }
}

fn mergeable(report: &ScanReport) -> &serde_json::Map<String, Value> {
    report
        .mergeable
        .as_ref()
        .and_then(Value::as_object)
        .expect("a mergeable state")
}

#[test]
fn a_scan_job_records_the_nginx_version_its_audit_reproduced() {
    // See: issue #12. The version was written by cli/scan.rs after the job ran, so a library
    // user's reports lacked it and `merge` could not tell audits under other rules apart.
    let old = scan(Some("1.22.1"));
    let m = mergeable(&old);
    assert_eq!(m.get(NGINX_VERSION_KEY), Some(&Value::from("1.22.1")));
    // Where the CLI always put it: after the version, options, summary and audit.
    let keys: Vec<&str> = m.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["version", "options", "summary", "audit", NGINX_VERSION_KEY]
    );

    let newest = scan(None);
    assert!(
        !mergeable(&newest).contains_key(NGINX_VERSION_KEY),
        "no --nginx-version: the newest rules, and no key"
    );

    // merge reads it from reports the library made.
    let two_rules = merge::merge(
        &[
            part("old.json", &old),
            part("new.json", &scan(Some("1.27.3"))),
        ],
        1_764_000_000,
    )
    .unwrap();
    assert_eq!(two_rules.warnings.len(), 1, "{:?}", two_rules.warnings);
    assert!(
        two_rules.warnings[0].contains("nginx 1.22.1"),
        "{:?}",
        two_rules.warnings
    );
    let same = merge::merge(
        &[part("a.json", &old), part("b.json", &scan(Some("1.22.1")))],
        1_764_000_000,
    )
    .unwrap();
    assert!(same.warnings.is_empty(), "{:?}", same.warnings);
    assert_eq!(
        mergeable(&same.report).get(NGINX_VERSION_KEY),
        Some(&Value::from("1.22.1"))
    );
}

#[test]
fn the_cli_records_the_nginx_version_exactly_as_the_job_does() {
    let out = realip()
        .args([
            "scan",
            "-o",
            "json",
            "--trust",
            "gcp,34.120.5.6",
            "--nginx-version",
            "1.22.1",
        ])
        .arg(fixture("logs/sample.log"))
        .output()
        .unwrap();
    let cli: Value = serde_json::from_str(&assert_exit(&out, 0)).unwrap();
    let job = scan(Some("1.22.1"));
    let job = mergeable(&job);
    assert_eq!(
        cli[MERGEABLE_KEY][NGINX_VERSION_KEY],
        job[NGINX_VERSION_KEY]
    );
    assert_eq!(cli[MERGEABLE_KEY]["audit"], job["audit"]);
}

#[test]
fn an_inferred_audit_records_no_nginx_version_because_it_applied_none() {
    // See: issue #12. Without --trust or --nginx-conf the audit infers the trust from the
    // log and ignores --nginx-version (the CLI warns); recording the version anyway made
    // `merge` warn about rules no audit used.
    let inferred = |version: &str| scan_with(None, Some(version));
    let old = inferred("1.22.1");
    assert!(!mergeable(&old).contains_key(NGINX_VERSION_KEY));
    let merged = merge::merge(
        &[part("a.json", &old), part("b.json", &inferred("1.27.3"))],
        1_764_000_000,
    )
    .unwrap();
    assert!(merged.warnings.is_empty(), "{:?}", merged.warnings);
}
