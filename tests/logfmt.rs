//! Log formats: the samples in `testdata/logs/`, format detection, template errors, and the
//! fast parsers checked against the reference parsers and against models written here.
//!
//! * Every sample parses with exactly the good and malformed lines recorded in
//!   `testdata/logs/expected/<name>.parse` (line numbers and reasons), and spot-checked values.
//! * `detect` picks each built-in sample's format, and explains itself when nothing fits
//!   (golden messages in `testdata/logs/errors/`, with the template compile errors).
//! * Round trips: records rendered with a generated template, as LTSV, or by serde_json as
//!   JSON parse back to the same fields, through both `Plan::parse` and `reference::parse`.
//! * `Plan::parse == reference::parse` on mutated sample lines and on arbitrary bytes, for
//!   every format; nothing panics.

use std::collections::BTreeMap;
use std::fs;

use proptest::prelude::*;
use proptest::sample::{select, Index};
use realip::logfmt::{
    detect, detect_detailed, record, reference, Field, Format, LineError, LineErrorKind, Piece,
    Plan, Record,
};

use crate::eqnice;
use crate::util::fixture;

/// `cases` per property, or `PROPTEST_CASES` when set (for long runs).
fn config(cases: u32) -> ProptestConfig {
    let env = std::env::var("PROPTEST_CASES").ok();
    ProptestConfig {
        cases: env.and_then(|n| n.parse().ok()).unwrap_or(cases),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// The custom sample's template, from `custom.format`.
fn custom_format() -> Format {
    let text = fs::read_to_string(fixture("logs/custom.format")).unwrap();
    Format::Custom(text.trim_end_matches('\n').to_owned())
}

/// Each sample with its format.
fn samples() -> Vec<(&'static str, Format)> {
    vec![
        ("combined", Format::Combined),
        ("main", Format::Main),
        ("ltsv", Format::Ltsv),
        ("json", Format::Json),
        ("custom", custom_format()),
    ]
}

/// A sample's bytes, split at `\n` only, so that `main.log` keeps its `\r`s.
fn sample_lines(name: &str) -> Vec<Vec<u8>> {
    let data = fs::read(fixture(&format!("logs/{name}.log"))).unwrap();
    let mut lines: Vec<Vec<u8>> = data.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    assert_eq!(
        lines.pop().as_deref(),
        Some(&b""[..]),
        "{name}.log ends with a newline"
    );
    lines
}

fn parse_ok<'a>(plan: &Plan, line: &'a [u8]) -> Record<'a> {
    let mut rec = Record::new();
    if let Err(e) = plan.parse(line, &mut rec) {
        panic!(
            "{}: {e}\n{}",
            plan.format().name(),
            String::from_utf8_lossy(line)
        );
    }
    rec
}

#[test]
fn every_sample_parses_with_the_recorded_good_and_malformed_lines() {
    for (name, format) in samples() {
        let plan = Plan::compile(&format).unwrap();
        let lines = sample_lines(name);
        let mut rec = Record::new();
        let mut got = String::new();
        let mut malformed = String::new();
        let mut parsed = 0;
        for (i, line) in lines.iter().enumerate() {
            match plan.parse(line, &mut rec) {
                Ok(()) => parsed += 1,
                Err(e) => malformed.push_str(&format!("{}\t{e}\n", i + 1)),
            }
        }
        got.push_str(&format!(
            "lines {}\nparsed {parsed}\n{malformed}",
            lines.len()
        ));
        let expected = fs::read_to_string(fixture(&format!("logs/expected/{name}.parse"))).unwrap();
        eqnice!(expected, got);
    }
}

#[test]
fn sample_counts_are_what_the_readme_says() {
    // The exact numbers, also written in testdata/logs/README.md.
    let counts: Vec<(&str, usize, usize)> = samples()
        .into_iter()
        .map(|(name, format)| {
            let plan = Plan::compile(&format).unwrap();
            let lines = sample_lines(name);
            let good = lines
                .iter()
                .filter(|l| plan.parse(l, &mut Record::new()).is_ok())
                .count();
            (name, lines.len(), good)
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("combined", 30, 28),
            ("main", 32, 29),
            ("ltsv", 26, 24),
            ("json", 27, 24),
            ("custom", 26, 24)
        ]
    );
}

#[test]
fn combined_sample_fields_come_from_the_right_columns() {
    let plan = Plan::compile(&Format::Combined).unwrap();
    let lines = sample_lines("combined");
    let r = parse_ok(&plan, &lines[0]);
    assert_eq!(r.get(Field::RemoteAddr), Some(&b"198.51.100.23"[..]));
    assert_eq!(r.get(Field::RemoteUser), None);
    assert_eq!(r.epoch_seconds(), Some(1_714_557_601));
    assert_eq!(r.method(), Some(&b"GET"[..]));
    assert_eq!(r.path(), Some(&b"/favicon.ico"[..]));
    assert_eq!((r.status(), r.bytes()), (Some(200), Some(24_998)));
    assert_eq!(r.get(Field::HttpReferer), None);
    assert!(r
        .get(Field::HttpUserAgent)
        .unwrap()
        .starts_with(b"Mozilla/5.0 (iPhone;"));
    assert_eq!(r.get(Field::HttpXForwardedFor), None);

    let r = parse_ok(&plan, &lines[5]);
    assert_eq!(r.get(Field::RemoteAddr), Some(&b"2001:db8:4:1::c0a8:1"[..]));
    assert_eq!(r.get(Field::RemoteUser), Some(&b"alice"[..]));
    // A TLS handshake on the plain-HTTP port, as nginx logs it: escaped, status 400.
    let r = parse_ok(&plan, &lines[13]);
    assert_eq!(
        r.get(Field::Request),
        Some(&br"\x16\x03\x01\x00\xF1\x01\x00\x00\xED\x03\x03"[..])
    );
    assert_eq!(r.status(), Some(400));
    assert_eq!(r.get(Field::HttpUserAgent), None);
    assert_eq!(parse_ok(&plan, &lines[26]).status(), Some(499));
}

#[test]
fn main_sample_keeps_the_forwarded_for_chain_and_ignores_crlf() {
    let plan = Plan::compile(&Format::Main).unwrap();
    let lines = sample_lines("main");
    assert!(lines[0].ends_with(b"\r"));
    let r = parse_ok(&plan, &lines[0]);
    assert_eq!(
        r.get(Field::HttpXForwardedFor),
        Some(&b"203.0.113.7, 34.120.5.6"[..])
    );
    assert_eq!(r.path(), Some(&b"/search?q=nginx+realip&page=2"[..]));
    // The second load balancer, missing from set_real_ip_from, shows up as the client.
    let r = parse_ok(&plan, &lines[8]);
    assert_eq!(r.get(Field::RemoteAddr), Some(&b"34.149.22.8"[..]));
    assert!(r
        .get(Field::HttpXForwardedFor)
        .unwrap()
        .ends_with(b", 34.149.22.8"));
}

#[test]
fn ltsv_sample_reads_aliases() {
    let plan = Plan::compile(&Format::Ltsv).unwrap();
    let lines = sample_lines("ltsv");
    let r = parse_ok(&plan, &lines[0]);
    assert_eq!(
        r.get(Field::RemoteAddr),
        Some(&b"2001:db8:85a3::8a2e:370:7334"[..])
    );
    assert_eq!(
        r.get(Field::TimeLocal),
        Some(&b"01/May/2024:10:00:01 +0000"[..])
    );
    assert_eq!(r.epoch_seconds(), Some(1_714_557_601));
    assert_eq!(r.get(Field::Host), Some(&b"shop.example.com"[..]));
    assert_eq!(r.get(Field::RequestUri), Some(&b"/favicon.ico"[..]));
    assert_eq!(r.get(Field::RealipRemoteAddr), Some(&b"130.211.0.77"[..]));
    assert_eq!(r.request_time_us(), Some(31_000));
    let up = r.upstream_time().unwrap();
    assert_eq!((up.total_us, up.tries), (30_000, 2));
    assert_eq!(r.status(), Some(500));
}

#[test]
fn json_sample_reads_numbers_and_raw_strings() {
    let plan = Plan::compile(&Format::Json).unwrap();
    let lines = sample_lines("json");
    let r = parse_ok(&plan, &lines[0]);
    assert_eq!(r.get(Field::RealipRemoteAddr), Some(&b"130.211.2.9"[..]));
    assert_eq!(
        r.get(Field::TimeIso8601),
        Some(&b"2024-05-01T10:00:01+00:00"[..])
    );
    assert_eq!(r.epoch_seconds(), Some(1_714_557_601));
    assert_eq!((r.status(), r.bytes()), (Some(200), Some(36_125)));
    assert_eq!(r.request_time_us(), Some(31_000));
    assert_eq!(r.upstream_time().unwrap().tries, 2);
    assert_eq!(r.get(Field::HttpReferer), None, "\"\" is no value");
    assert_eq!(r.get(Field::Host), Some(&b"shop.example.com"[..]));
    // String values stay JSON-escaped.
    let r = parse_ok(&plan, &lines[8]);
    assert_eq!(
        r.get(Field::HttpUserAgent),
        Some(&br#"Mozilla/5.0 \"quoted\" \u0001 agent"#[..])
    );
}

#[test]
fn custom_sample_reads_its_template() {
    let plan = Plan::compile(&custom_format()).unwrap();
    let lines = sample_lines("custom");
    let r = parse_ok(&plan, &lines[2]);
    assert_eq!(r.get(Field::RemoteAddr), Some(&b"198.51.100.201"[..]));
    assert_eq!(r.get(Field::RealipRemoteAddr), Some(&b"35.191.3.141"[..]));
    assert_eq!(r.epoch_seconds(), Some(1_714_557_615));
    assert_eq!(r.request_time_us(), Some(49_000));
    assert_eq!(r.upstream_time().unwrap().total_us, 48_000);
    assert_eq!(
        r.get(Field::HttpXForwardedFor),
        Some(&b"198.51.100.201, 34.120.5.6"[..])
    );
    // A Google health check: straight from a front end, no X-Forwarded-For.
    let r = parse_ok(&plan, &lines[4]);
    assert_eq!(r.get(Field::RemoteAddr), r.get(Field::RealipRemoteAddr));
    assert_eq!(r.get(Field::HttpXForwardedFor), None);
    assert_eq!(r.get(Field::HttpUserAgent), Some(&b"GoogleHC/1.0"[..]));
    assert_eq!(r.get(Field::UpstreamResponseTime), Some(&b"0.001"[..]));
    // `-` in a quoted value is still "no value".
    assert_eq!(parse_ok(&plan, &lines[0]).upstream_time(), None);
}

#[test]
fn plan_fields_are_the_known_variables_of_the_template() {
    let plan = Plan::compile(&custom_format()).unwrap();
    let fields: Vec<Field> = plan.fields().collect();
    assert_eq!(
        fields,
        [
            Field::RemoteAddr,
            Field::RealipRemoteAddr,
            Field::TimeIso8601,
            Field::Request,
            Field::Status,
            Field::BodyBytesSent,
            Field::RequestTime,
            Field::UpstreamResponseTime,
            Field::Host,
            Field::HttpXForwardedFor,
            Field::HttpUserAgent,
        ]
    );
    let combined = Plan::compile(&Format::Combined).unwrap();
    assert!(!combined.fields().any(|f| f == Field::RealipRemoteAddr));
    assert_eq!(
        Plan::compile(&Format::Json).unwrap().fields().count(),
        Field::COUNT
    );
}

#[test]
fn fast_and_reference_parsers_agree_on_every_sample_line() {
    for (name, format) in samples() {
        let plan = Plan::compile(&format).unwrap();
        for line in sample_lines(name) {
            assert_agree(&plan, &line);
        }
    }
}

#[test]
fn detect_picks_the_format_of_each_builtin_sample() {
    for name in ["combined", "main", "ltsv", "json"] {
        let lines = sample_lines(name);
        let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        let d = detect_detailed(&refs).unwrap();
        assert_eq!(d.format.name(), name);
        assert_eq!(d.sampled, 20);
        assert!(d.parsed >= 18, "{name}: {d:?}");
    }
}

#[test]
fn detect_prefers_the_majority_then_the_richer_format() {
    let main = sample_lines("main");
    let combined = sample_lines("combined");
    // A main line is not a combined line, nor the other way round.
    let mixed: Vec<&[u8]> = vec![&main[0], &combined[0], &combined[1], b"", b"\r"];
    assert_eq!(detect(&mixed).unwrap(), Format::Combined);
    let mixed: Vec<&[u8]> = vec![&main[0], &main[1], &combined[0]];
    assert_eq!(detect(&mixed).unwrap(), Format::Main);
}

/// Golden error fixtures: the input, a `---` line, then the expected message.
fn error_fixtures(prefix: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for entry in fs::read_dir(fixture("logs/errors")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !name.starts_with(prefix) {
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        let (input, expected) = text
            .split_once("\n---\n")
            .unwrap_or_else(|| panic!("{name}: no --- line"));
        out.push((name, input.to_owned(), expected.trim_end().to_owned()));
    }
    assert!(!out.is_empty(), "no {prefix}* fixtures");
    out.sort();
    out
}

#[test]
fn template_errors_match_their_golden_messages() {
    for (name, template, expected) in error_fixtures("template-") {
        let err = Plan::compile(&Format::Custom(template)).unwrap_err();
        assert_eq!(err.to_string(), expected, "{name}");
    }
}

#[test]
fn detect_errors_match_their_golden_messages() {
    for (name, input, expected) in error_fixtures("detect-") {
        let lines: Vec<&[u8]> = input.split('\n').map(str::as_bytes).collect();
        let err = detect(&lines).unwrap_err();
        assert_eq!(err.to_string(), expected, "{name}");
    }
}

#[test]
fn detect_explains_why_a_custom_log_fits_no_builtin_format() {
    let lines = sample_lines("custom");
    let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
    let msg = detect(&refs).unwrap_err().to_string();
    assert!(
        msg.starts_with(
            "cannot detect the log format: no line parses as json, ltsv, realip, main or combined \
             (non-empty lines tried: 20); first line: \"2001:db8::1f 35.191.24.6 \
             [2024-05-01T10:00:04+00:00] \"GET /favicon.ico HTTP/2.0\""
        ),
        "{msg}"
    );
    // The line is cut at 200 bytes.
    assert!(msg.contains(
        "(Windows NT 10.0; Win64…\"; closest is combined: missing ` - ` \
                          after $remote_addr (its value starts at byte 0);"
    ));
}

#[test]
fn unknown_format_names_list_the_choices() {
    let err = "nginx".parse::<Format>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown log format \"nginx\": use combined, main, ltsv, json, or an nginx log_format \
         template with $variables, e.g. '$remote_addr [$time_local] \"$request\" $status'"
    );
}

// ---- properties -------------------------------------------------------------------------

/// Checks `Plan::parse` against `reference::parse` on one line. Templates and LTSV must agree
/// on the exact error too; JSON only on acceptance (the two report errors differently).
/// A record that holds every field and a parsed `$request_time`, as one reused for the
/// line before: a parser must leave none of it behind.
fn dirty_record() -> Record<'static> {
    static LINE: &[u8] = b"203.0.113.7 - - [10/Oct/2026:13:55:36 +0000] \"GET / HTTP/1.1\" 200 5 \"-\" \"ua\" \"203.0.113.7,34.120.5.6\" 35.191.1.1 0.106 0.105";
    let mut rec = Record::new();
    Plan::compile(&Format::Realip)
        .unwrap()
        .parse(LINE, &mut rec)
        .unwrap();
    for &f in Field::ALL {
        if rec.get(f).is_none() {
            rec.set(f, b"1");
        }
    }
    rec
}

fn assert_agree(plan: &Plan, line: &[u8]) {
    let mut fast = Record::new();
    let mut slow = Record::new();
    let a = plan.parse(line, &mut fast);
    let b = reference::parse(plan, line, &mut slow);
    let shown = String::from_utf8_lossy(line);
    // Parsing into a record that held another line answers the same.
    thread_local!(static DIRTY: Record<'static> = dirty_record());
    let mut reused = DIRTY.with(|r| *r);
    assert_eq!(plan.parse(line, &mut reused), a, "reused record: {shown}");
    assert_eq!(reused, fast, "reused record: {shown}");
    if *plan.format() == Format::Json {
        assert_eq!(a.is_ok(), b.is_ok(), "{a:?} vs {b:?}: {shown}");
        if let (Err(a), Err(b)) = (a, b) {
            assert_eq!(is_syntax(a), is_syntax(b), "{a:?} vs {b:?}: {shown}");
        }
    } else {
        assert_eq!(a, b, "{shown}");
    }
    assert_eq!(fast, slow, "{shown}");
}

fn is_syntax(e: LineError) -> bool {
    !matches!(e.kind, LineErrorKind::NoFields | LineErrorKind::Empty)
}

/// Variables a generated template may use: known ones (with their field) and opaque ones.
const VARS: &[(&str, Option<Field>)] = &[
    ("remote_addr", Some(Field::RemoteAddr)),
    ("remote_user", Some(Field::RemoteUser)),
    ("time_local", Some(Field::TimeLocal)),
    ("request", Some(Field::Request)),
    ("status", Some(Field::Status)),
    ("body_bytes_sent", Some(Field::BodyBytesSent)),
    ("http_user_agent", Some(Field::HttpUserAgent)),
    ("http_x_forwarded_for", Some(Field::HttpXForwardedFor)),
    ("realip_remote_addr", Some(Field::RealipRemoteAddr)),
    ("upstream_response_time", Some(Field::UpstreamResponseTime)),
    ("host", Some(Field::Host)),
    ("upstream_addr", None),
    ("scheme", None),
    ("ssl_protocol", None),
];

const LITERALS: &[&str] = &[
    " ", " - ", "\"", "\" \"", " [", "] \"", "|", "\t", ", ", " rt=", " é ", "::", "{", "}x", "a",
    "_", "-", "\" host=", " urt=\"",
];

/// Bytes a generated value is made of: separators, quotes, text, and invalid UTF-8.
/// Values that fit most fields of the predefined templates.
const WELL_FORMED: &[&[u8]] = &[b"200", b"0.123", b"-", b"", b"10.0.0.1", b"a b"];

/// Values next to the shapes the predefined parsers try first: `-` before a literal.
const USUAL_SHAPES: &[&[u8]] = &[b"- [", b"-\" \"", b"-]", b"--", b"-\""];

const VALUE_BYTES: &[u8] = b" \t\"[]{}|,:=-_.\\/aZ09\x00\x1b\x7f\xc3\xa9\xff\r\n$";

fn literal() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(LITERALS).prop_map(str::to_owned),
        1 => prop::collection::vec(select(&b" \t\"[]{}|,:=-_.\\/aZ09"[..]), 1..4)
            .prop_map(|v| String::from_utf8(v).unwrap()),
    ]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => Just(Vec::new()),
        1 => Just(b"-".to_vec()),
        6 => prop::collection::vec(select(VALUE_BYTES), 1..12),
    ]
}

/// A generated template: an optional head literal, then variables each followed by a
/// literal (the last one's may be empty), with the values to render.
#[derive(Clone, Debug)]
struct Generated {
    head: String,
    vars: Vec<(usize, String, bool, Vec<u8>)>,
}

fn generated() -> impl Strategy<Value = Generated> {
    let var = (0..VARS.len(), literal(), any::<bool>(), value());
    (
        prop_oneof![Just(String::new()), literal()],
        prop::collection::vec(var, 1..7),
        any::<bool>(),
    )
        .prop_map(|(head, mut vars, open_end)| {
            if open_end {
                vars.last_mut().unwrap().1.clear();
            }
            Generated { head, vars }
        })
}

impl Generated {
    fn template(&self) -> String {
        let mut t = self.head.clone();
        for (v, lit, braces, _) in &self.vars {
            let name = VARS[*v].0;
            let glued = lit.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_');
            if *braces || glued {
                t.push_str(&format!("${{{name}}}{lit}"));
            } else {
                t.push_str(&format!("${name}{lit}"));
            }
        }
        t
    }

    /// The value actually written: without line breaks, without the first byte of the
    /// literal that ends it (so that literal's first occurrence is the delimiter), and `-`
    /// for empty, as nginx writes it (unless the literal starts with `-`: nginx's own output
    /// is ambiguous there, so the value is `x` instead).
    fn rendered_value(&self, i: usize) -> Vec<u8> {
        let (_, lit, _, v) = &self.vars[i];
        let stop = lit.as_bytes().first().copied();
        let mut v: Vec<u8> = v
            .iter()
            .copied()
            .filter(|&b| b != b'\r' && b != b'\n' && Some(b) != stop)
            .collect();
        if v.is_empty() {
            v.push(if stop == Some(b'-') { b'x' } else { b'-' });
        }
        v
    }

    fn line(&self) -> Vec<u8> {
        let mut line = self.head.as_bytes().to_vec();
        for (i, (_, lit, _, _)) in self.vars.iter().enumerate() {
            line.extend(self.rendered_value(i));
            line.extend(lit.as_bytes());
        }
        line
    }

    /// What the record must hold: the last value of each known field, `-` as absent.
    fn expected(&self) -> BTreeMap<Field, Option<Vec<u8>>> {
        let mut out = BTreeMap::new();
        for (i, (v, _, _, _)) in self.vars.iter().enumerate() {
            if let Some(f) = VARS[*v].1 {
                let val = self.rendered_value(i);
                out.insert(f, (val != b"-").then_some(val));
            }
        }
        out
    }
}

/// Whether the expected record holds a value nginx cannot log (issue #10): a `$status` that
/// is not three digits or a `$request_time` that is not seconds. Such a line is malformed.
fn unloggable(expected: &BTreeMap<Field, Option<Vec<u8>>>) -> bool {
    let get = |f| expected.get(&f).cloned().flatten();
    get(Field::Status).is_some_and(|v| v.len() != 3 || !v.iter().all(u8::is_ascii_digit))
        || get(Field::RequestTime).is_some_and(|v| record::parse_seconds_us(&v).is_none())
}

/// The raw bytes the JSON parser stores for a member's value (still JSON-escaped).
fn json_raw(v: &serde_json::Value) -> Option<Vec<u8>> {
    let raw = match v {
        serde_json::Value::String(s) => {
            let quoted = serde_json::to_string(s).unwrap();
            quoted[1..quoted.len() - 1].to_string()
        }
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::Bool(b) => b.to_string(),
        _ => return None,
    };
    (!raw.is_empty() && raw != "-").then(|| raw.into_bytes())
}

fn json_expected(members: &BTreeMap<usize, serde_json::Value>) -> BTreeMap<Field, Option<Vec<u8>>> {
    members
        .iter()
        .filter_map(|(&k, v)| Some((JSON_KEYS[k].1?, json_raw(v))))
        .collect()
}

fn assert_record(rec: &Record<'_>, expected: &BTreeMap<Field, Option<Vec<u8>>>) {
    for &f in Field::ALL {
        let want = expected.get(&f).cloned().flatten();
        assert_eq!(rec.get(f).map(<[u8]>::to_vec), want, "{f}");
    }
}

/// Sample lines and their plans, for mutation.
fn sample_corpus() -> Vec<(Plan, Vec<Vec<u8>>)> {
    samples()
        .into_iter()
        .map(|(name, f)| (Plan::compile(&f).unwrap(), sample_lines(name)))
        .collect()
}

const LTSV_LABELS: &[(&str, Option<Field>)] = &[
    ("host", Some(Field::RemoteAddr)),
    ("remote_addr", Some(Field::RemoteAddr)),
    ("vhost", Some(Field::Host)),
    ("status", Some(Field::Status)),
    ("reqtime", Some(Field::RequestTime)),
    ("apptime", Some(Field::UpstreamResponseTime)),
    ("forwardedfor", Some(Field::HttpXForwardedFor)),
    ("realip_remote_addr", Some(Field::RealipRemoteAddr)),
    ("uri", Some(Field::RequestUri)),
    ("ua", Some(Field::HttpUserAgent)),
    ("cache", None),
    ("x.runtime-ms", None),
];

const JSON_KEYS: &[(&str, Option<Field>)] = &[
    ("remote_addr", Some(Field::RemoteAddr)),
    ("host", Some(Field::Host)),
    ("uri", Some(Field::Uri)),
    ("status", Some(Field::Status)),
    ("apptime", Some(Field::UpstreamResponseTime)),
    ("http_user_agent", Some(Field::HttpUserAgent)),
    ("request_time", Some(Field::RequestTime)),
    ("upstream_addr", None),
    ("geo", None),
];

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{json, Value};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        (0u32..100_000).prop_map(|n| json!(f64::from(n) / 1000.0)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z\"{]{1,3}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Renders JSON like a hand-written `log_format` might: whitespace of every kind between
/// tokens, taken in turn from `ws`.
fn json_text(v: &serde_json::Value, ws: &[&str], n: &mut usize, out: &mut String) {
    use serde_json::Value;
    fn space(ws: &[&str], n: &mut usize, out: &mut String) {
        if !ws.is_empty() {
            out.push_str(ws[*n % ws.len()]);
            *n += 1;
        }
    }
    match v {
        Value::Object(m) => {
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                space(ws, n, out);
                out.push_str(&serde_json::to_string(k).unwrap());
                space(ws, n, out);
                out.push(':');
                space(ws, n, out);
                json_text(v, ws, n, out);
                space(ws, n, out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                space(ws, n, out);
                json_text(v, ws, n, out);
            }
            out.push(']');
        }
        leaf => out.push_str(&serde_json::to_string(leaf).unwrap()),
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn fast_equals_reference_on_mutated_json(
        members in prop::collection::btree_map(0..JSON_KEYS.len(), json_value(), 0..6),
        ws in prop::collection::vec(select(&["", " ", "\t", "\r\n", " \t "][..]), 0..6),
        edits in prop::collection::vec((any::<Index>(), select(&b"{}[]\",: \\tn1-"[..])), 0..3),
    ) {
        let plan = Plan::compile(&Format::Json).unwrap();
        let object = serde_json::Value::Object(
            members.iter().map(|(k, v)| (JSON_KEYS[*k].0.to_owned(), v.clone())).collect(),
        );
        let mut text = String::new();
        json_text(&object, &ws, &mut 0, &mut text);
        let mut line = text.into_bytes();
        let known = members.keys().any(|&k| JSON_KEYS[k].1.is_some());
        let bad = unloggable(&json_expected(&members));
        prop_assert_eq!(plan.parse(&line, &mut Record::new()).is_ok(), known && !bad);
        assert_agree(&plan, &line);
        for (at, byte) in edits {
            let at = at.index(line.len());
            line[at] = byte;
            assert_agree(&plan, &line);
        }
    }

    #[test]
    fn fast_equals_reference_on_ltsv_like_lines(
        fields in prop::collection::vec(
            (
                prop::collection::vec(select(&b"ab_.-/ :0"[..]), 0..5),
                prop::collection::vec(select(VALUE_BYTES), 0..6),
            ),
            0..6,
        ),
    ) {
        let plan = Plan::compile(&Format::Ltsv).unwrap();
        let line: Vec<u8> = fields
            .iter()
            .map(|(label, v)| {
                let label = if label.is_empty() { b"status".to_vec() } else { label.clone() };
                [&label[..], b":", v].concat()
            })
            .collect::<Vec<_>>()
            .join(&b'\t');
        assert_agree(&plan, &line);
    }

    #[test]
    fn template_records_round_trip_through_both_parsers(g in generated()) {
        let template = g.template();
        let plan = Plan::compile(&Format::Custom(template.clone()))
            .unwrap_or_else(|e| panic!("{template:?}: {e}"));
        let line = g.line();
        let expected = g.expected();
        let mut rec = Record::new();
        if unloggable(&expected) {
            prop_assert_eq!(plan.parse(&line, &mut rec).unwrap_err().kind, LineErrorKind::BadValue);
            assert_agree(&plan, &line);
            return Ok(());
        }
        plan.parse(&line, &mut rec)
            .unwrap_or_else(|e| panic!("{template:?} {:?}: {e}", String::from_utf8_lossy(&line)));
        assert_record(&rec, &expected);
        let mut slow = Record::new();
        reference::parse(&plan, &line, &mut slow).unwrap();
        assert_record(&slow, &expected);
    }

    #[test]
    fn fast_equals_reference_on_mutated_template_lines(
        g in generated(),
        cut in any::<(Index, Index)>(),
        junk in prop::collection::vec(select(VALUE_BYTES), 0..4),
    ) {
        let plan = Plan::compile(&Format::Custom(g.template())).unwrap();
        let line = g.line();
        let (a, b) = (cut.0.index(line.len() + 1), cut.1.index(line.len() + 1));
        let (a, b) = (a.min(b), a.max(b));
        let mutated = [&line[..a], &junk, &line[b..]].concat();
        assert_agree(&plan, &mutated);
    }

    /// `combined`, `main` and `realip` take a parser specialised for them: on lines built
    /// from their own pieces with values that are clean, well-formed or full of the
    /// templates' delimiters, then cut and spliced, it agrees with the reference parser.
    #[test]
    fn preset_parsers_equal_reference(
        which in select(&[Format::Combined, Format::Main, Format::Realip][..]),
        values in prop::collection::vec(
            prop_oneof![
                select(WELL_FORMED).prop_map(<[u8]>::to_vec),
                prop::collection::vec(select(&b"az09./:"[..]), 0..8),
                prop::collection::vec(select(VALUE_BYTES), 0..8),
                // The shapes the parsers try first (`-`, a 26-byte `$time_local`), near misses.
                select(USUAL_SHAPES).prop_map(<[u8]>::to_vec),
                prop::collection::vec(select(&b"0/: ]\"-"[..]), 25..28),
            ],
            12,
        ),
        cut in any::<(Index, Index)>(),
        junk in prop::collection::vec(select(VALUE_BYTES), 0..4),
    ) {
        let plan = Plan::compile(&which).unwrap();
        let mut values = values.iter();
        let mut line = Vec::new();
        for piece in plan.pieces().unwrap() {
            match piece {
                Piece::Literal(l) => line.extend_from_slice(l.as_bytes()),
                Piece::Var(_) => line.extend_from_slice(values.next().unwrap()),
            }
        }
        assert_agree(&plan, &line);
        let (a, b) = (cut.0.index(line.len() + 1), cut.1.index(line.len() + 1));
        let (a, b) = (a.min(b), a.max(b));
        assert_agree(&plan, &[&line[..a], &junk, &line[b..]].concat());
    }

    #[test]
    fn fast_equals_reference_on_mutated_sample_lines(
        pick in any::<(Index, Index)>(),
        cut in any::<(Index, Index)>(),
        junk in prop::collection::vec(select(VALUE_BYTES), 0..6),
    ) {
        thread_local!(static CORPUS: Vec<(Plan, Vec<Vec<u8>>)> = sample_corpus());
        CORPUS.with(|corpus| {
            let (plan, lines) = &corpus[pick.0.index(corpus.len())];
            let line = &lines[pick.1.index(lines.len())];
            let (a, b) = (cut.0.index(line.len() + 1), cut.1.index(line.len() + 1));
            let (a, b) = (a.min(b), a.max(b));
            let mutated = [&line[..a], &junk, &line[b..]].concat();
            for (other, _) in corpus {
                assert_agree(other, &mutated);
            }
            assert_agree(plan, &mutated);
        });
    }

    #[test]
    fn fast_equals_reference_on_arbitrary_bytes(
        line in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            prop::collection::vec(select(&b"{}[]\":,\\ \t-0e1.tnrul\x00\xff"[..]), 0..48),
        ],
    ) {
        thread_local!(static CORPUS: Vec<(Plan, Vec<Vec<u8>>)> = sample_corpus());
        CORPUS.with(|corpus| {
            for (plan, _) in corpus {
                assert_agree(plan, &line);
            }
        });
    }

    #[test]
    fn ltsv_records_round_trip(
        pairs in prop::collection::vec((0..LTSV_LABELS.len(), value()), 1..8),
        empty_fields in any::<Index>(),
    ) {
        let plan = Plan::compile(&Format::Ltsv).unwrap();
        let mut fields: Vec<Vec<u8>> = Vec::new();
        let mut expected = BTreeMap::new();
        let mut known = false;
        for (label, v) in &pairs {
            let (name, field) = LTSV_LABELS[*label];
            let v: Vec<u8> = v.iter().copied().filter(|b| !b"\t\r\n".contains(b)).collect();
            if let Some(f) = field {
                known = true;
                expected.insert(f, (!v.is_empty() && v != b"-").then(|| v.clone()));
            }
            fields.push([name.as_bytes(), b":", &v].concat());
        }
        // An empty field (two tabs in a row) somewhere is ignored.
        fields.insert(empty_fields.index(fields.len() + 1), Vec::new());
        let line = fields.join(&b'\t');
        let mut rec = Record::new();
        let got = plan.parse(&line, &mut rec);
        if known && unloggable(&expected) {
            prop_assert_eq!(got.unwrap_err().kind, LineErrorKind::BadValue);
        } else if known {
            got.unwrap();
            assert_record(&rec, &expected);
        } else {
            prop_assert_eq!(got.unwrap_err().kind, LineErrorKind::NoFields);
        }
        assert_agree(&plan, &line);
    }

    #[test]
    fn json_lines_read_what_serde_json_wrote(
        members in prop::collection::btree_map(0..JSON_KEYS.len(), json_value(), 0..8),
        pretty in any::<bool>(),
    ) {
        let plan = Plan::compile(&Format::Json).unwrap();
        let map: serde_json::Map<String, serde_json::Value> = members
            .iter()
            .map(|(k, v)| (JSON_KEYS[*k].0.to_owned(), v.clone()))
            .collect();
        let object = serde_json::Value::Object(map);
        let text = if pretty {
            serde_json::to_string_pretty(&object).unwrap().replace('\n', " ")
        } else {
            serde_json::to_string(&object).unwrap()
        };
        let line = text.as_bytes();
        let mut rec = Record::new();
        let got = plan.parse(line, &mut rec);
        let known = members.keys().any(|&k| JSON_KEYS[k].1.is_some());
        if !known {
            prop_assert_eq!(got.unwrap_err().kind, LineErrorKind::NoFields);
            return Ok(());
        }
        if unloggable(&json_expected(&members)) {
            prop_assert_eq!(got.unwrap_err().kind, LineErrorKind::BadValue, "{}", text);
            return Ok(());
        }
        got.unwrap_or_else(|e| panic!("{text}: {e}"));
        for (&k, v) in &members {
            let Some(field) = JSON_KEYS[k].1 else { continue };
            let raw = rec.get(field);
            match v {
                serde_json::Value::String(s) => {
                    // Raw bytes are still escaped: unescape them with serde to compare.
                    let decoded = raw.map(|r| {
                        serde_json::from_slice::<String>(&[b"\"", r, b"\""].concat()).unwrap()
                    });
                    let want = (!s.is_empty() && s != "-").then(|| s.clone());
                    prop_assert_eq!(decoded, want, "{}", text);
                }
                serde_json::Value::Number(n) => {
                    prop_assert_eq!(raw.map(<[u8]>::to_vec), Some(n.to_string().into_bytes()), "{}", text);
                }
                serde_json::Value::Bool(b) => {
                    prop_assert_eq!(raw.map(<[u8]>::to_vec), Some(b.to_string().into_bytes()), "{}", text);
                }
                _ => prop_assert_eq!(raw, None, "{}", text),
            }
        }
        assert_agree(&plan, line);
    }

    #[test]
    fn detect_never_panics(lines in prop::collection::vec(
        prop::collection::vec(any::<u8>(), 0..80), 0..30)
    ) {
        let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
        let _ = detect(&refs);
    }
}
