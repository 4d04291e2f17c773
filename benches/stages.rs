//! Benchmarks per stage of a scan with the audit on (issue #12): the line parser alone, then
//! parser + summary, parser + summary grouped by route, parser + audit (trust inferred from
//! the log, and declared), over `testdata/logs/sample.log` (realip format, 2,000 lines), in
//! bytes per second. The difference between two rows is the cost of a stage. Apart, in
//! `route`: the route normaliser alone on the sample's 2,000 paths, and the plain reference
//! rule it replaced.
//!
//! Owns: one assertion per bench on what the stage computed, before anything is timed.
//! Does not own: reading and splitting input, threads (`scripts/compare.sh` times the whole
//! scan against `wc -l`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use realip::accumulate::LineAt;
use realip::audit::{Audit, AuditConfig, TrustChoice};
use realip::logfmt::{Field, Format, Plan, Record};
use realip::summary::{
    normalize_route, normalize_route_reference, GroupBy, Summary, SummaryConfig,
};
use realip::{Header, Resolver, TrustedSet};

fn lines(plan: &Plan) -> Vec<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/logs/sample.log");
    let data = std::fs::read(path).unwrap();
    let lines: Vec<Vec<u8>> = data
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let mut rec = Record::new();
    assert!(lines.iter().all(|l| plan.parse(l, &mut rec).is_ok()));
    assert_eq!(lines.len(), 2000);
    lines
}

fn at(n: usize) -> LineAt {
    LineAt {
        file: 0,
        unit: 0,
        line: n as u64,
    }
}

/// Parses every line and hands it to `each`.
fn run(plan: &Plan, lines: &[Vec<u8>], mut each: impl FnMut(&Record<'_>, LineAt)) {
    let mut rec = Record::new();
    for (n, line) in lines.iter().enumerate() {
        if plan.parse(line, &mut rec).is_ok() {
            each(&rec, at(n));
        }
    }
}

fn audit_config(trust: Option<&[&str]>, fields: &[Field]) -> AuditConfig {
    let header = Header::x_forwarded_for();
    let choice = match trust {
        Some(t) => {
            TrustChoice::Declared(Resolver::new(TrustedSet::parse(t).unwrap().0, header, true))
        }
        None => TrustChoice::Inferred(header),
    };
    AuditConfig::for_log(choice, None, fields).unwrap()
}

fn stages(c: &mut Criterion) {
    let plan = Plan::compile(&Format::Realip).unwrap();
    let lines = lines(&plan);
    let bytes: u64 = lines.iter().map(|l| l.len() as u64).sum();
    let fields: Vec<Field> = plan.fields().collect();
    let plain = Arc::new(SummaryConfig::default());
    let routes = Arc::new(SummaryConfig {
        group_by: vec![GroupBy::Route],
        ..SummaryConfig::default()
    });
    let inferred = audit_config(None, &fields);
    let declared = audit_config(Some(&["gcp", "34.120.5.6"]), &fields);

    // What each stage computes, checked once.
    let mut s = Summary::new(Arc::clone(&routes));
    run(&plan, &lines, |r, _| s.record(r));
    assert_eq!(s.requests(), 2000);
    for cfg in [&inferred, &declared] {
        let mut a = Audit::new(cfg);
        run(&plan, &lines, |r, at| a.record(r, at));
        assert_eq!(a.checked(), 2000);
        assert!(a.misresolved() > 0, "the sample has a forgotten LB IP");
    }

    let mut g = c.benchmark_group("stage");
    g.throughput(Throughput::Bytes(bytes));
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("parse", |b| {
        b.iter(|| {
            let mut n = 0u64;
            run(&plan, &lines, |r, _| {
                n += u64::from(r.status().unwrap_or(0))
            });
            black_box(n)
        })
    });
    for (name, cfg) in [
        ("parse+summary", &plain),
        ("parse+summary_by_route", &routes),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut s = Summary::new(Arc::clone(cfg));
                run(&plan, &lines, |r, _| s.record(r));
                black_box(s.requests())
            })
        });
    }
    for (name, cfg) in [
        ("parse+audit_inferred", &inferred),
        ("parse+audit_declared", &declared),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut a = Audit::new(cfg);
                run(&plan, &lines, |r, at| a.record(r, at));
                black_box(a.checked())
            })
        });
    }
    g.finish();

    // The route normaliser alone: each line's path into one reused buffer.
    let paths: Vec<Vec<u8>> = {
        let mut rec = Record::new();
        lines
            .iter()
            .map(|l| {
                plan.parse(l, &mut rec).unwrap();
                rec.path().unwrap_or(b"-").to_vec()
            })
            .collect()
    };
    let mut out = Vec::new();
    for p in &paths {
        let mut want = Vec::new();
        normalize_route_reference(p, &mut want);
        out.clear();
        normalize_route(p, &mut out);
        assert_eq!(out, want);
    }
    let mut g = c.benchmark_group("route");
    g.throughput(Throughput::Elements(paths.len() as u64));
    g.measurement_time(Duration::from_secs(3));
    for (name, f) in [
        ("normalize", normalize_route as fn(&[u8], &mut Vec<u8>)),
        ("reference", normalize_route_reference),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0;
                for p in &paths {
                    out.clear();
                    f(black_box(p), &mut out);
                    n += out.len();
                }
                black_box(n)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
