//! Any bytes (after a first byte choosing the format, the group-by key and the threads) as
//! an access log: scanned in every format (summary grouped by route and by
//! client, audit), then every output rendered (table, JSON, TSV, Prometheus, Mackerel, the
//! check line). No panic; the JSON parses; no control, bidi or zero-width character reaches
//! a terminal, a Prometheus label or a TSV cell.
#![no_main]

use std::io::Cursor;
use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use realip::audit::{Audit, AuditConfig};
use realip::check::{self, Thresholds};
use realip::input::Opened;
use realip::logfmt::{Format, Plan};
use realip::report::model::MetricsOptions;
use realip::report::{self, Output, ScanReport};
use realip::scan::{self, ScanInput, ScanOptions};
use realip::summary::{GroupBy, SortBy, Summary, SummaryConfig, DEFAULT_PERCENTILES};
use realip::{Header, Resolver, TrustedSet};

/// Characters no rendered text may carry: C0/C1 controls (but the newlines and tabs that
/// separate lines and TSV cells), bidi controls, zero-width characters.
fn invisible(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{061C}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

fn assert_clean(what: &str, text: &str) {
    if let Some(c) = text.chars().find(|&c| invisible(c)) {
        panic!("{what} output carries U+{:04X}:\n{text}", u32::from(c));
    }
}

fn run(data: &[u8], format: &Format, group_by: GroupBy, threads: usize, pick_quantiles: bool) {
    let Ok(plan) = Plan::compile(format) else {
        return;
    };
    let summary_config = Arc::new(SummaryConfig {
        group_by: vec![group_by],
        routes: Vec::new(),
        max_groups: 4,
        ..SummaryConfig::default()
    });
    let Ok((trusted, _)) = TrustedSet::parse(["gcp", "10.0.0.0/8"]) else {
        return;
    };
    let resolver = Resolver::new(trusted, Header::x_forwarded_for(), true);
    let peer_logged = plan
        .fields()
        .any(|f| f == realip::logfmt::Field::RealipRemoteAddr);
    let audit_config = AuditConfig::new(
        resolver,
        realip::logfmt::Field::HttpXForwardedFor,
        peer_logged,
    );
    let input = ScanInput::new(
        "fuzz.log".to_string(),
        Opened::Stream(Box::new(Cursor::new(data.to_vec()))),
    );
    let opts = ScanOptions {
        threads,
        block_bytes: 64,
        max_line: 1 << 16,
        ..ScanOptions::default()
    };
    let Ok(scanned) = scan::scan(vec![input], &plan, &opts, || {
        (
            Summary::new(Arc::clone(&summary_config)),
            Audit::new(&audit_config),
        )
    }) else {
        return;
    };
    let (summary, audit) = &scanned.acc;
    let locate = |at| {
        let (name, line) = scanned.locate(at);
        format!("{name}:{line}")
    };
    let report = ScanReport {
        inputs: scanned.names.clone(),
        format: format.name().to_string(),
        format_detected: false,
        lines: scanned.lines,
        parsed: scanned.parsed,
        malformed: scanned.malformed.count(),
        samples: scanned.samples.clone(),
        errors: scanned.errors.iter().map(ToString::to_string).collect(),
        summary: Some(summary.view(DEFAULT_PERCENTILES, 3, SortBy::Count)),
        audit: Some(audit.view(locate)),
        audit_note: None,
        state_notes: None,
        window_seconds: Some(60),
        epoch: 1_795_000_000,
        totals: None,
        metrics: MetricsOptions {
            // Quantiles too, so that every Prometheus line is rendered.
            prometheus_quantiles: pick_quantiles,
            metric_key_prefix: Some("realip".to_string()),
            mackerel_meta: pick_quantiles,
            columns: None,
        },
        filtered: 0,
        mergeable: None,
    };
    for output in [
        Output::Table,
        Output::Tsv,
        Output::Prometheus,
        Output::Mackerel,
    ] {
        assert_clean(&format!("{output:?}"), &report::render(&report, output));
    }
    let json = report::render(&report, Output::Json);
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&json) {
        panic!("invalid JSON ({e}):\n{json}");
    }
    // JSON too: its strings carry controls, bidi and zero-width characters as \uXXXX.
    assert_clean("Json", &json);
    if let Ok(t) = Thresholds::parse("1", "5%") {
        let line = check::outcome(&report, &t, &[], None).line();
        assert_clean("check", &line);
        assert!(!line.contains('\n'), "the check line spans lines: {line}");
    }
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks the format, the group-by key and the thread count, so that each
    // input is scanned once (fast) and every combination is reached.
    let Some((&pick, log)) = data.split_first() else {
        return;
    };
    let formats = [
        Format::Combined,
        Format::Main,
        Format::Realip,
        Format::Ltsv,
        Format::Json,
    ];
    let keys = [
        GroupBy::Route,
        GroupBy::Client,
        GroupBy::Host,
        GroupBy::Method,
        GroupBy::Status,
    ];
    let format = &formats[usize::from(pick) % formats.len()];
    let key = keys[usize::from(pick / 5) % keys.len()];
    let threads = 1 + usize::from(pick / 25 % 2);
    run(log, format, key, threads, pick / 50 % 2 == 1);
});
