//! Benchmarks for the per-line parser: `Plan::parse` over the sample logs in `testdata/logs/`,
//! one bench per format, in bytes per second.
//!
//! Owns: loading the samples (the lines that parse; malformed ones are dropped so that every
//! bench times the path real logs take), one assertion per bench on the parsed values before
//! anything is timed, and the throughput unit (bytes of log lines, without newlines).
//! Does not own: correctness (`tests/logfmt.rs`), reading or splitting input (`benches/scan.rs`
//! times the whole pipeline).
//!
//! `combined/reference` times the slow test oracle on the same lines, to keep the gap visible.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use realip::logfmt::{reference, Field, Format, Plan, Record};

/// The sample's lines that `plan` parses, checking how many there are.
fn good_lines(name: &str, plan: &Plan, expected: usize) -> Vec<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("testdata/logs/{name}.log"));
    let data = std::fs::read(&path).unwrap();
    let lines: Vec<Vec<u8>> = data
        .split(|&b| b == b'\n')
        .filter(|l| plan.parse(l, &mut Record::new()).is_ok())
        .map(<[u8]>::to_vec)
        .collect();
    assert_eq!(lines.len(), expected, "{name}: good lines");
    lines
}

fn custom_format() -> Format {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/logs/custom.format");
    Format::Custom(std::fs::read_to_string(path).unwrap().trim_end().to_owned())
}

/// Sums the statuses of every line, so that no parse can be optimised away.
fn parse_all(plan: &Plan, lines: &[Vec<u8>]) -> u64 {
    let mut rec = Record::new();
    let mut sum = 0u64;
    for line in lines {
        if plan.parse(line, &mut rec).is_ok() {
            sum += u64::from(rec.status().unwrap_or(0));
        }
    }
    sum
}

/// One bench: the sample `testdata/logs/{name}.log` in its format, how many of its lines
/// parse, and a field of its first line with the value it must have.
struct Case {
    name: &'static str,
    format: Format,
    good: usize,
    field: Field,
    want: &'static [u8],
}

fn parse_line(c: &mut Criterion) {
    let case = |name, format, good, field, want| Case {
        name,
        format,
        good,
        field,
        want,
    };
    let cases = [
        case("combined", Format::Combined, 28, Field::Status, b"200"),
        case(
            "main",
            Format::Main,
            29,
            Field::HttpXForwardedFor,
            b"203.0.113.7, 34.120.5.6",
        ),
        case(
            "ltsv",
            Format::Ltsv,
            24,
            Field::RealipRemoteAddr,
            b"130.211.0.77",
        ),
        case(
            "json",
            Format::Json,
            24,
            Field::RealipRemoteAddr,
            b"130.211.2.9",
        ),
        case(
            "custom",
            custom_format(),
            24,
            Field::RealipRemoteAddr,
            b"35.191.24.6",
        ),
    ];
    let mut group = c.benchmark_group("parse_line");
    for Case {
        name,
        format,
        good,
        field,
        want,
    } in cases
    {
        let plan = Plan::compile(&format).unwrap();
        let lines = good_lines(name, &plan, good);
        let mut rec = Record::new();
        plan.parse(&lines[0], &mut rec).unwrap();
        assert_eq!(
            rec.get(field),
            Some(want),
            "{name}: {field} of the first line"
        );
        assert!(parse_all(&plan, &lines) > 0);
        let bytes: usize = lines.iter().map(Vec::len).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(name, |b| b.iter(|| parse_all(&plan, black_box(&lines))));
        if name == "combined" {
            let mut slow = Record::new();
            reference::parse(&plan, &lines[0], &mut slow).unwrap();
            assert_eq!(slow, rec, "the reference reads the first line the same way");
            group.bench_function("combined/reference", |b| {
                b.iter(|| {
                    let mut rec = Record::new();
                    black_box(&lines)
                        .iter()
                        .filter(|l| reference::parse(&plan, l, &mut rec).is_ok())
                        .count()
                })
            });
        }
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .noise_threshold(0.05)
        .configure_from_args()
}

criterion_group! { name = benches; config = config(); targets = parse_line }
criterion_main!(benches);
