//! The one integration-test binary (`autotests = false`); each module below is one topic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

/// Shared helpers: temp dirs, running the binary, the nginx launcher.
mod util;

/// Table cases ported from the nginx reference (`testdata/resolve/cases.tsv`).
mod resolve;

/// Differential test: the same hostile requests through a real nginx and through `Resolver`.
mod nginx_oracle;

/// Property tests: spoofing resistance, idempotence, canonical output.
mod properties;

/// The `realip` command line: help, single and batch modes, errors and exit codes.
mod cli;

/// `realip scan`: formats end to end, inputs (gzip, stdin, globs, CRLF, long lines), parallel
/// equivalence, percentiles, outputs.
mod scan;

/// Log formats: samples in testdata/logs, detection, template errors, fast vs reference parsers.
mod logfmt;

/// The audit end to end: a real nginx omitting one LB IP, `--check` thresholds, JSON and table.
mod audit;

/// Incremental runs (`--state`): appends, rotation, copytruncate, locking, exactly once.
mod state;

/// Published range files in `testdata/ranges/`: formats, provenance, staleness, AWS service
/// filter, Google refusal as a trust list, errors with their place (golden messages in
/// `testdata/ranges/errors/`), no panic on arbitrary bytes.
mod ranges;

/// nginx configuration parsing: samples in `testdata/nginx/`, includes and globs, `nginx -T`
/// dumps, golden error messages (`testdata/nginx/errors/`), positions, crossplane parity, no
/// panic on arbitrary bytes.
mod nginx_parse;

/// The real-world-shaped corpus in `testdata/nginx/corpus/`: golden findings for every
/// configuration, crossplane parity for every file, `nginx -t` for every whole configuration.
mod nginx_corpus;

/// `realip nginx check` and `snippet` end to end on `testdata/nginx/` (every lint rule at its
/// line, JSON keys, exit codes, `--log` finding the untrusted LB IP, golden outputs in
/// `testdata/nginx/expected/`), and the realip settings extracted from configuration text
/// (inheritance cases of the reference, nginx-tests' `realip.t`).
mod nginx_check;

/// `--lb-ips-from`: gcloud's forwarding-rules and addresses JSON (`testdata/gcp/`), the
/// classification of every kind of rule, `nginx check` findings as golden files, the CI story
/// (a forgotten IPv6 LB IP exits 2 with its fix; fixed, 0), and bad files with their messages.
mod gcp;
/// Monitoring conventions (issue #9): quiet cron runs, `--output-file`, missing and
/// non-seekable inputs, the default output, Prometheus counters across `--state` runs,
/// histograms (checked with promtool), Mackerel, compressed rotated files.
mod monitoring;

/// One test per issue, named `issue_<N>_<what>`, each with a "See: issue #N" line.
mod regression;

/// The library's layers: `crate::` imports follow the order documented in `src/lib.rs`, no
/// circle (issue #12).
mod layers;

/// One CLI vocabulary (issue #12): `--trust` everywhere (`--lb-ip` an alias), `--recursive` /
/// `--no-recursive`, one default in help, `--check` with `-o` refused without `--output-file`.
mod vocabulary;
