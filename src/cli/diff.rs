//! `realip diff`: compare two JSON reports of `realip scan` per route (or group).
//!
//! Owns: the flags and the wiring; the comparison is the library's (`merge::diff`).

use std::io::{self, Write};
use std::path::PathBuf;

use realip::merge;
use realip::report;

use super::exit::ExitCode;

const EXAMPLES: &str = "\
Examples:
  # Before and after a deploy, per route:
  realip scan --output json --group-by route --until 2026-11-25T14:00:00Z access.log > before.json
  realip scan --output json --group-by route --since 2026-11-25T14:00:00Z access.log > after.json
  realip diff before.json after.json

  # For scripts:
  realip diff --output json before.json after.json | jq '.rows[0]'

Rows are every group both reports track (not only the ones their tables show), with the
count, p50 and p99 of $request_time before and after, sorted by the biggest p99 change.
Both reports must be grouped by the same key; without --group-by there is one row, '*'.

Exit codes: 0 compared; 2 a file that cannot be read or compared.";

/// `--output` values of `realip diff`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum DiffOutput {
    /// An aligned table.
    Table,
    /// JSON.
    Json,
}

/// The flags of `realip diff`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = EXAMPLES, after_help = "Run with --help for examples.")]
pub struct Args {
    /// The earlier report (`realip scan --output json` or `realip merge --output json`).
    #[arg(value_name = "BEFORE.json")]
    pub before: PathBuf,

    /// The later report.
    #[arg(value_name = "AFTER.json")]
    pub after: PathBuf,

    /// Output format [default: table].
    #[arg(long, short = 'o', value_enum, value_name = "FORMAT")]
    pub output: Option<DiffOutput>,
}

/// Runs `realip diff`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let before = super::merge::read_part(&args.before)?;
    let after = super::merge::read_part(&args.after)?;
    let d = merge::diff(&before, &after)?;
    let output = args.output.unwrap_or(DiffOutput::Table);
    let text = match output {
        DiffOutput::Table => report::diff::table(&d),
        DiffOutput::Json => report::diff::json(&d),
    };
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::Ok)
}
