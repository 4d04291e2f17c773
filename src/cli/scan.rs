//! `realip scan`: read access logs in parallel and summarise latency and status.
//!
//! Owns: the flags of this subcommand, their help and examples, and the wiring: inputs are
//! opened, the format is chosen (or detected from the first lines), the scan runs in the
//! library, and the report is rendered in the chosen output format.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::ValueEnum;
use realip::input::{self, Opened};
use realip::logfmt::{self, Format, Plan};
use realip::report::escape::escape_str;
use realip::report::{self, Output, ScanReport};
use realip::scan::{self, ScanInput, ScanOptions};
use realip::summary::{GroupBy, RouteRule, SortBy, Summary, SummaryConfig, DEFAULT_PERCENTILES};

use super::exit::ExitCode;

const EXAMPLES: &str = "\
Examples:
  # Summarise a log (format detected from the first lines):
  realip scan /var/log/nginx/access.log

  # A rotated set, gzip included (detected by content, not name):
  realip scan access.log access.log.1 access.log.2.gz

  # Your own log_format, exactly as written in nginx.conf:
  realip scan --log-format '$remote_addr [$time_local] \"$request\" $status $request_time' app.log

  # Slowest routes by p99, IDs folded into {id}, one rule of your own:
  realip scan --group-by route --sort p99 --route '^/api/v[0-9]+/users=users' access.log

  # JSON for scripts, Prometheus for node_exporter's textfile collector:
  realip scan --output json access.log | jq .summary.request_time.p99
  realip scan --output prometheus access.log > /var/lib/node_exporter/realip.prom

  # From stdin:
  zcat access.log.*.gz | realip scan -

Percentiles: pN is the smallest recorded value v such that at least N% of requests took v
or less (nearest rank), within 3 significant digits; min, mean and max are exact.

Exit codes: 0 success (malformed lines are counted and reported, not fatal); 2 usage error,
an input that cannot be read or is cut short (e.g. a truncated .gz; its good lines are still
counted), or no line of a non-empty input matched the format.";

/// The flags of `realip scan` (the help text lives on `Command::Scan`).
#[derive(Debug, clap::Args)]
#[command(after_long_help = EXAMPLES, after_help = "Run with --help for examples.")]
pub struct Args {
    /// Log files (plain or gzip), globs, or - for stdin. None: stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<String>,

    /// auto, combined, main, realip, ltsv, json, or an nginx log_format template
    /// ('$remote_addr …').
    #[arg(long, value_name = "FORMAT", default_value = "auto")]
    pub log_format: String,

    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, short = 'o', value_enum, value_name = "FORMAT")]
    pub output: Option<OutputArg>,

    /// Percentiles to report, comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',', default_values_t = DEFAULT_PERCENTILES.to_vec())]
    pub percentiles: Vec<f64>,

    /// Group requests by route, host, method, status or client.
    #[arg(long, value_enum, value_name = "KEY")]
    pub group_by: Option<GroupByArg>,

    /// Route rule REGEX=NAME (repeatable, first match wins), for --group-by route.
    #[arg(long, value_name = "REGEX=NAME")]
    pub route: Vec<String>,

    /// Groups shown; the rest are merged into "others".
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub top: usize,

    /// Order of groups.
    #[arg(long, value_enum, default_value = "count")]
    pub sort: SortArg,

    /// Distinct group keys tracked; further keys are counted in "others" (bounds memory).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_groups: usize,

    /// Worker threads [default: one per core].
    #[arg(long, short = 'j', value_name = "N", default_value_t = 0)]
    pub threads: usize,

    /// Longest line parsed; longer lines are reported as malformed and skipped.
    #[arg(long, value_name = "BYTES", default_value_t = 4 << 20)]
    pub max_line_bytes: usize,

    /// Malformed lines listed (all are counted).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub samples: usize,

    /// Chunk size for splitting plain files among workers (testing and tuning).
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20, hide = true)]
    pub chunk_bytes: u64,

    /// Block size handed to a worker (testing and tuning).
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20, hide = true)]
    pub block_bytes: usize,

    /// Never show a progress bar (it shows on a terminal for inputs over 256 MiB).
    #[arg(long)]
    pub no_progress: bool,
}

/// `--output` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum OutputArg {
    /// Aligned tables.
    Table,
    /// The stable JSON contract.
    Json,
    /// Tab-separated values.
    Tsv,
    /// Prometheus text exposition.
    Prometheus,
    /// Mackerel metric lines (name, value, epoch).
    Mackerel,
}

/// `--group-by` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum GroupByArg {
    /// Request path with IDs folded into {id}, {uuid}, {hex} (and --route rules).
    Route,
    /// $host.
    Host,
    /// Request method.
    Method,
    /// Status code.
    Status,
    /// $remote_addr.
    Client,
}

/// `--sort` values.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SortArg {
    /// Most requests first.
    Count,
    /// Largest total $request_time first.
    Sum,
    /// Largest p99 $request_time first.
    P99,
}

const PROGRESS_MIN_BYTES: u64 = 256 << 20;

/// Runs `realip scan`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    for p in &args.percentiles {
        if !(0.0..=100.0).contains(p) || p.is_nan() {
            anyhow::bail!("--percentiles: {p} is not between 0 and 100");
        }
    }
    let routes = args
        .route
        .iter()
        .map(|r| RouteRule::parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    let config = Arc::new(SummaryConfig {
        group_by: args.group_by.map(|g| match g {
            GroupByArg::Route => GroupBy::Route,
            GroupByArg::Host => GroupBy::Host,
            GroupByArg::Method => GroupBy::Method,
            GroupByArg::Status => GroupBy::Status,
            GroupByArg::Client => GroupBy::Client,
        }),
        routes,
        max_groups: args.max_groups,
    });
    let sort = match args.sort {
        SortArg::Count => SortBy::Count,
        SortArg::Sum => SortBy::Sum,
        SortArg::P99 => SortBy::P99,
    };

    // Open every input; unreadable ones are reported, the rest are scanned.
    let sources = input::expand_inputs(&args.files)?;
    let mut errors = Vec::new();
    let mut inputs: Vec<ScanInput> = Vec::new();
    let mut total_bytes = 0u64;
    for src in &sources {
        match input::open(src) {
            Ok(o) => {
                if let Opened::Plain { start, end, .. } = &o {
                    total_bytes += end.saturating_sub(*start);
                }
                inputs.push(ScanInput::new(src.name(), o));
            }
            Err(e) => errors.push(e.to_string()),
        }
    }

    // The format: given, or detected from the first lines of the first input.
    let detected = args.log_format == "auto";
    let format = if detected {
        let mut head = Vec::new();
        if !inputs.is_empty() {
            let first = inputs.remove(0);
            let name = first.name;
            let (h, opened) =
                input::peek(first.opened).with_context(|| format!("reading {name}"))?;
            head = h;
            inputs.insert(
                0,
                ScanInput {
                    name,
                    opened,
                    first_line: first.first_line,
                },
            );
        }
        // Only whole lines count; the last one may be cut by the peek window.
        let complete = match memchr::memrchr(b'\n', &head) {
            Some(i) if head.len() == input::PEEK_BYTES => &head[..=i],
            _ => &head[..],
        };
        let mut lines: Vec<&[u8]> = Vec::new();
        input::for_each_line(complete, |l| {
            if !l.is_empty() && lines.len() < 20 {
                lines.push(l);
            }
        });
        if lines.is_empty() {
            Format::Combined
        } else {
            let d = logfmt::detect_detailed(&lines).context("--log-format auto")?;
            if d.parsed < d.sampled {
                eprintln!(
                    "realip: warning: detected {} from only {} of the first {} lines; if that is \
                     wrong, give --log-format",
                    d.format.name(),
                    d.parsed,
                    d.sampled
                );
            }
            d.format
        }
    } else {
        args.log_format
            .parse::<Format>()
            .map_err(anyhow::Error::msg)
            .context("--log-format")?
    };
    let plan = Plan::compile(&format).context("--log-format")?;
    if detected {
        eprintln!(
            "realip: log format: {} (detected; use --log-format to choose)",
            format.name()
        );
    }

    let progress = Arc::new(AtomicU64::new(0));
    let show_progress =
        !args.no_progress && io::stderr().is_terminal() && total_bytes >= PROGRESS_MIN_BYTES;
    let opts = ScanOptions {
        threads: args.threads,
        chunk_bytes: args.chunk_bytes,
        block_bytes: args.block_bytes,
        max_line: args.max_line_bytes,
        samples: args.samples,
        progress: show_progress.then(|| Arc::clone(&progress)),
    };
    let done = Arc::new(AtomicBool::new(false));
    let bar = show_progress
        .then(|| spawn_progress(total_bytes, Arc::clone(&progress), Arc::clone(&done)));
    let scanned = scan::scan(inputs, &plan, &opts, || Summary::new(Arc::clone(&config)));
    done.store(true, Ordering::Relaxed);
    if let Some(b) = bar {
        let _ = b.join();
    }
    let scanned = scanned?;
    errors.extend(scanned.errors.iter().map(ToString::to_string));

    let epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let report = ScanReport {
        inputs: scanned.names.clone(),
        format: format.name().to_string(),
        format_detected: detected,
        lines: scanned.lines,
        parsed: scanned.parsed,
        malformed: scanned.malformed.count(),
        samples: scanned.samples.clone(),
        errors: errors.clone(),
        summary: Some(scanned.acc.view(&args.percentiles, args.top, sort)),
        epoch,
    };
    let output = match args.output {
        Some(OutputArg::Table) => Output::Table,
        Some(OutputArg::Json) => Output::Json,
        Some(OutputArg::Tsv) => Output::Tsv,
        Some(OutputArg::Prometheus) => Output::Prometheus,
        Some(OutputArg::Mackerel) => Output::Mackerel,
        None if io::stdout().is_terminal() => Output::Table,
        None => Output::Json,
    };
    let text = report::render(&report, output);
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;

    for e in &errors {
        eprintln!("realip: error: {}", escape_str(e));
    }
    if report.malformed > 0 {
        if let Some(first) = report.samples.first() {
            eprintln!(
                "realip: warning: {} malformed line(s), first at {}:{}: {}",
                report.malformed,
                escape_str(&first.path),
                first.line,
                escape_str(&first.reason)
            );
        }
    }
    if !errors.is_empty() {
        return Ok(ExitCode::Error);
    }
    if report.lines > 0 && report.parsed == 0 {
        eprintln!(
            "realip: error: no line matched the log format {}; see the malformed samples",
            format.name()
        );
        return Ok(ExitCode::Error);
    }
    Ok(ExitCode::Ok)
}

fn spawn_progress(
    total: u64,
    read: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        while !done.load(Ordering::Relaxed) {
            bar.set_position(read.load(Ordering::Relaxed).min(total));
            std::thread::sleep(Duration::from_millis(100));
        }
        bar.finish_and_clear();
    })
}
