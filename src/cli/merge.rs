//! `realip merge`: combine JSON reports of `realip scan` from many hosts into the report of
//! the whole.
//!
//! Owns: the flags, reading the files, and writing the merged report in the chosen format.
//! The merging is the library's (`merge::merge`).

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use realip::merge::{self, Part};
use realip::report;

use super::exit::ExitCode;
use super::scan::OutputArg;

const EXAMPLES: &str = "\
Examples:
  # Every host summarises its own log; one place merges them:
  realip scan --output json --group-by route /var/log/nginx/access.log > $(hostname).json
  realip merge web1.json web2.json web3.json

  # The merged JSON merges again (merging is associative), or feeds Prometheus:
  realip merge --output json web*.json > fleet.json
  realip merge --output prometheus fleet.json other-dc.json

Counts, status codes, groups, time buckets and every percentile are exactly those of one
scan over all the inputs: the JSON of 'realip scan --output json' carries every histogram
(base64 of hdrhistogram's V2 serialisation) under the key \"mergeable\". Reports made with
different options (--percentiles, --group-by, --route, --max-groups, --bucket, --filter,
--since, --until, --samples, or the audit's trust) are refused. --top and --sort come from the
first report. Audits under --nginx-version rules that differ are merged with a warning;
--lb-ips-from rule names are carried. A --state report holds its run's lines: merge adds the
runs, not the state files' cumulative totals.

Exit codes: 0 merged; 2 a file that cannot be read or merged.";

/// The flags of `realip merge`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = EXAMPLES, after_help = "Run with --help for examples.")]
pub struct Args {
    /// JSON reports of `realip scan --output json` (or of `realip merge`), in input order.
    #[arg(value_name = "FILE.json", required = true)]
    pub files: Vec<PathBuf>,

    /// Output format [default: table].
    #[arg(long, short = 'o', value_enum, value_name = "FORMAT")]
    pub output: Option<OutputArg>,

    /// Write the report to FILE, replaced atomically, instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
}

/// Reads one JSON report.
pub fn read_part(path: &PathBuf) -> anyhow::Result<Part> {
    let name = path.display().to_string();
    let text = std::fs::read(path).with_context(|| format!("reading {name}"))?;
    let json = serde_json::from_slice(&text)
        .with_context(|| format!("{name}: not a JSON report of realip scan"))?;
    Ok(Part { name, json })
}

/// Runs `realip merge`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let parts = args
        .files
        .iter()
        .map(read_part)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let merge::Merged { report, warnings } = merge::merge(&parts, now)?;
    for w in &warnings {
        super::messages::warning(w);
    }
    let output = args
        .output
        .map_or(report::Output::Table, report::Output::from);
    let text = match &args.output_file {
        Some(_) => report::render(&report, output),
        None => report::render_width(&report, output, super::output::terminal_width()),
    };
    match &args.output_file {
        Some(path) => super::output::write_atomically(path, text.as_bytes())?,
        None => {
            let mut out = io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(ExitCode::Ok)
}
