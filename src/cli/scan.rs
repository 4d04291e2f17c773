//! `realip scan`: read access logs in parallel and summarise latency and status.
//!
//! Owns: the flags of this subcommand, their help and examples, and their mapping onto the
//! library's scan job (`realip::job`), which opens the inputs, chooses the format, audits and
//! assembles the report; then the report is written in the chosen output (and the
//! `--check` status line), and the exit code chosen.

use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::ValueEnum;
use realip::check::{self, Lost, Status, Thresholds};
use realip::job::{
    FinishedScan, Notice, ResolverOptions, ScanJob, Selection, StateOptions, SummaryOptions, Trust,
};
use realip::ranges::gcloud::LbList;
use realip::report::escape::escape_str;
use realip::report::{self, MetricsOptions, Output, ScanReport};
use realip::scan::ScanOptions;
use realip::summary::{
    buckets_us, percentile_key, GroupBy, RouteRule, SortBy, SummaryConfig, DEFAULT_BUCKETS,
    DEFAULT_PERCENTILES,
};
use realip::timespec::{self, TimeRange};

use super::args::{
    FrontEndArgs, HeaderArg, NginxConfArgs, NginxVersionArg, RecursionArgs, ThreadsArg, TrustArgs,
};
use super::exit::ExitCode;
use super::{messages, output};

const EXAMPLES: &str = "\
Examples:
  # Which load-balancer IPs did nginx forget? Nothing to declare: the trust nginx applied is
  # read from the log itself, and each forgotten LB IP is named with its own count and fix:
  realip scan /var/log/nginx/access.log

  # A rotated set, gzip included (detected by content, not name):
  realip scan access.log access.log.1 access.log.2.gz

  # Your own log_format, exactly as written in nginx.conf:
  realip scan --log-format '$remote_addr [$time_local] \"$request\" $status $request_time' app.log

  # Slowest routes by p99, IDs folded into {id}, one rule of your own:
  realip scan --group-by route --sort p99 --route '^/api/v[0-9]+/users=users' access.log

  # JSON for scripts, Prometheus for node_exporter's textfile collector:
  realip scan --output json access.log | jq .audit.unresolved_lb_ips
  realip scan --output prometheus --output-file /var/lib/node_exporter/realip.prom access.log

  # From stdin:
  zcat access.log.*.gz | realip scan -

  # Compare with the trust you expect: the Google front ends and your LB IPs. Differences
  # with what nginx did are reported as config_drift, both ways:
  realip scan --trust gcp --trust 34.120.5.6 access.log

  # Everything from the nginx config you run: trust, header, recursion, log_format:
  realip scan --nginx-conf /etc/nginx/nginx.conf /var/log/nginx/access.log

  # Not behind Google: name the proxies that append `<client>,<lb-ip>`:
  realip scan --front-end 10.0.0.0/8 access.log

  # Monitoring check from cron, reading only what was appended since the last run
  # (one state file per job), with Prometheus metrics from the same lines:
  realip scan --check --state /var/lib/realip/access.state \
    --output prometheus --output-file /var/lib/node_exporter/realip.prom access.log

  # Nagios ranges: warn above 10 misresolved lines, critical above 5% of checked lines:
  realip scan --check --warning 10 --critical 5% access.log

Load balancers' own list (--lb-ips-from, gcloud forwarding-rules JSON): their Application LB
IPs (and the gcp preset, for global ones) join --trust, so the audit judges by a declared trust
even without --trust; with --nginx-conf they are only named. Either way the audit names the
forwarding rule of every LB IP it reports.

Percentiles: pN is the smallest recorded value v such that at least N% of requests took v
or less (nearest rank), within 3 significant digits; min, mean and max are exact.

Exit codes: 0 success (malformed lines are counted and reported, not fatal; audit findings do
not change it); 2 usage error, an input that cannot be read or is cut short (e.g. a truncated
.gz; its good lines are still counted), or no line of a non-empty input matched the format.
With --check: 0 OK (also when no new line arrived since the last --state run), 1 WARNING,
2 CRITICAL, 3 UNKNOWN (unreadable log, no line matching the format, no audit possible,
nonsensical thresholds).";

/// The flags of `realip scan` (the help text lives on `Command::Scan`).
///
/// Every flag names its heading: `help_heading` on a flag, `next_help_heading` on a flattened
/// group (clap carries a `next_help_heading` on to every later flag that names none, so a
/// group without one would land under the heading before it). The test
/// `every_scan_flag_sits_under_its_heading` lists them all.
#[derive(Debug, clap::Args)]
#[command(after_long_help = EXAMPLES, after_help = "Run with --help for examples.")]
pub struct Args {
    /// Log files (plain or gzip), globs, or - for stdin. None: stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<std::ffi::OsString>,

    // Input and output: under the default heading ("Options").
    /// auto, combined, main, realip, ltsv, json, or an nginx log_format template
    /// ('$remote_addr …'); with --nginx-conf, also a log_format name from that configuration.
    #[arg(long, value_name = "FORMAT", default_value = "auto")]
    pub log_format: String,

    /// Output format [default: table, whether or not stdout is a terminal; scripts ask for
    /// json].
    #[arg(long, short = 'o', value_enum, value_name = "FORMAT")]
    pub output: Option<OutputArg>,

    /// Write the report to FILE instead of stdout, atomically: into a temporary file in the
    /// same directory, renamed over FILE, so that a collector never reads half a file. FILE
    /// is replaced only by a run without errors. With --check, the status line still goes to
    /// stdout and the --output report to FILE.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<std::path::PathBuf>,

    // `-j/--threads`, under the default heading (a `None` heading, said rather than left to
    // the order of the fields).
    #[command(flatten, next_help_heading = None::<&str>)]
    pub threads: ThreadsArg,

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

    /// Percentiles to report, comma-separated.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_values_t = DEFAULT_PERCENTILES.to_vec(),
        help_heading = "Summary"
    )]
    pub percentiles: Vec<f64>,

    /// Group requests by route, host, method, status or client; several keys
    /// (comma-separated or repeated, e.g. host,route) group by the tuple of their values.
    #[arg(
        long,
        value_enum,
        value_name = "KEY[,KEY…]",
        value_delimiter = ',',
        help_heading = "Summary"
    )]
    pub group_by: Vec<GroupByArg>,

    /// Route rule REGEX=NAME (repeatable, first match wins), for --group-by route.
    #[arg(long, value_name = "REGEX=NAME", help_heading = "Summary")]
    pub route: Vec<String>,

    /// Groups shown; the rest are merged into "others".
    #[arg(long, value_name = "N", default_value_t = 20, help_heading = "Summary")]
    pub top: usize,

    /// Order of groups.
    #[arg(long, value_enum, default_value = "count", help_heading = "Summary")]
    pub sort: SortArg,

    /// The columns of the groups table and of TSV, in this order, e.g.
    /// key,requests,5xx,p99 (key: the group key). Default: all.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        help_heading = "Summary"
    )]
    pub columns: Vec<String>,

    /// Distinct group keys tracked (bounds memory). Beyond it, the keys kept are a fixed
    /// sample (smallest key hashes) with exact counts, the rest go to "others", and the
    /// report says so (`groups_approximate`, `max_error`); any split gives the same result.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1000,
        help_heading = "Summary"
    )]
    pub max_groups: usize,

    /// Skip the latency and status summary.
    #[arg(long, help_heading = "Summary")]
    pub no_summary: bool,

    /// Time buckets (1m, 5m, 1h, 1d) for a series over time from each line's own timestamp:
    /// requests, status classes, p50/p90/p99/max and misresolved per bucket, empty buckets
    /// included (JSON summary.series, a table, TSV rows). Buckets start at multiples of the
    /// width since the epoch, UTC. Default with --output html: 5m.
    #[arg(long, value_name = "DURATION", help_heading = "Selection and time")]
    pub bucket: Option<String>,

    /// Keep requests at or after TIME: RFC 3339 (2026-11-25T10:00:00Z), a date, nginx
    /// $time_local (25/Nov/2026:10:00:00 +0000), or relative to now (-1h, -30m, -2d).
    #[arg(
        long,
        value_name = "TIME",
        allow_hyphen_values = true,
        help_heading = "Selection and time"
    )]
    pub since: Option<String>,

    /// Keep requests before TIME (the range is half-open: [since, until)); same forms as
    /// --since.
    #[arg(
        long,
        value_name = "TIME",
        allow_hyphen_values = true,
        help_heading = "Selection and time"
    )]
    pub until: Option<String>,

    /// Keep only requests matching EXPR; the others are counted as "filtered". Fields: status,
    /// method, host, path (without query), route (as grouped), client, request_time,
    /// upstream_response_time (seconds, or 250ms), bytes. Operators: == != < <= > >= =~ !~
    /// (regex), and, or, not, parentheses; strings in double quotes; client ==
    /// "10.0.0.0/8" tests a network. A comparison with a value the line lacks is false.
    #[arg(long, value_name = "EXPR", help_heading = "Selection and time")]
    pub filter: Option<String>,

    // The audit's flags. A doc comment on a flattened field never reaches --help (clap
    // drops it): what a group means in `scan` is said in EXAMPLES.
    #[command(flatten, next_help_heading = "Audit")]
    pub trust: TrustArgs,

    #[command(flatten, next_help_heading = "Audit")]
    pub nginx_conf: NginxConfArgs,

    #[command(flatten, next_help_heading = "Audit")]
    pub lb: super::lb::LbArgs,

    #[command(flatten, next_help_heading = "Audit")]
    pub front_end: FrontEndArgs,

    #[command(flatten, next_help_heading = "Audit")]
    pub header: HeaderArg,

    #[command(flatten, next_help_heading = "Audit")]
    pub recursion: RecursionArgs,

    #[command(flatten, next_help_heading = "Audit")]
    pub nginx_version: NginxVersionArg,

    /// Skip the audit.
    #[arg(long, help_heading = "Audit")]
    pub no_audit: bool,

    /// Run as a monitoring check: print one status line, exit 0 OK, 1 WARNING, 2 CRITICAL,
    /// 3 UNKNOWN.
    #[arg(long, help_heading = "Alerting")]
    pub check: bool,

    /// WARNING range of misresolved lines, Nagios style: N alerts above N (N:, ~:N, N:M,
    /// @N:M too); a trailing % judges the share of checked lines instead of the count.
    #[arg(
        long,
        value_name = "RANGE",
        default_value = "0",
        allow_hyphen_values = true,
        help_heading = "Alerting"
    )]
    pub warning: String,

    /// CRITICAL range of misresolved lines (same syntax as --warning); the default alerts
    /// above 1% of checked lines.
    #[arg(
        long,
        value_name = "RANGE",
        default_value = "1%",
        allow_hyphen_values = true,
        help_heading = "Alerting"
    )]
    pub critical: String,

    /// Remember where the last run stopped in FILE and read only what was appended since,
    /// following rotation (create+move) and copytruncate. For cron.
    #[arg(long, value_name = "FILE", help_heading = "Alerting")]
    pub state: Option<std::path::PathBuf>,

    /// With --state: read at most this many new bytes per log (skipping the oldest and saying
    /// so), to bound a catch-up run.
    #[arg(
        long,
        value_name = "BYTES",
        requires = "state",
        help_heading = "Alerting"
    )]
    pub max_read: Option<u64>,

    /// Latency histogram bucket bounds in seconds (Prometheus `le`), comma-separated.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_values_t = DEFAULT_BUCKETS.to_vec(),
        help_heading = "Metrics"
    )]
    pub buckets: Vec<f64>,

    /// Prometheus: also print this run's percentiles as realip_run_*_seconds summary
    /// quantiles (they cannot be summed across hosts; the histograms can).
    #[arg(long, help_heading = "Metrics")]
    pub prometheus_quantiles: bool,

    /// Mackerel: the first segment of every metric name. With MACKEREL_AGENT_PLUGIN_META set
    /// (mackerel-agent does), the graph definitions are printed instead of values.
    #[arg(
        long,
        value_name = "PREFIX",
        default_value = "realip",
        help_heading = "Metrics"
    )]
    pub metric_key_prefix: String,
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
    /// One self-contained HTML page: charts over time (with --bucket), latency
    /// distribution, top routes, the audit.
    Html,
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

/// The `--group-by` keys in order (comma-separated or repeated); a key given twice is an
/// error.
fn group_keys(args: &[GroupByArg]) -> anyhow::Result<Vec<GroupBy>> {
    let mut keys: Vec<GroupBy> = Vec::new();
    for g in args.iter().copied().map(GroupBy::from) {
        if keys.contains(&g) {
            anyhow::bail!("--group-by {} is given twice", g.name());
        }
        keys.push(g);
    }
    Ok(keys)
}

impl From<GroupByArg> for GroupBy {
    fn from(g: GroupByArg) -> GroupBy {
        match g {
            GroupByArg::Route => GroupBy::Route,
            GroupByArg::Host => GroupBy::Host,
            GroupByArg::Method => GroupBy::Method,
            GroupByArg::Status => GroupBy::Status,
            GroupByArg::Client => GroupBy::Client,
        }
    }
}

impl From<SortArg> for SortBy {
    fn from(s: SortArg) -> SortBy {
        match s {
            SortArg::Count => SortBy::Count,
            SortArg::Sum => SortBy::Sum,
            SortArg::P99 => SortBy::P99,
        }
    }
}

impl From<OutputArg> for Output {
    fn from(o: OutputArg) -> Output {
        match o {
            OutputArg::Table => Output::Table,
            OutputArg::Json => Output::Json,
            OutputArg::Tsv => Output::Tsv,
            OutputArg::Prometheus => Output::Prometheus,
            OutputArg::Mackerel => Output::Mackerel,
            OutputArg::Html => Output::Html,
        }
    }
}

/// The metrics options, with `--metric-key-prefix` checked.
fn metrics_options(args: &Args) -> anyhow::Result<MetricsOptions> {
    let prefix = &args.metric_key_prefix;
    let segment_ok = |seg: &str| {
        !seg.is_empty()
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if prefix.is_empty() || !prefix.split('.').all(segment_ok) {
        anyhow::bail!(
            "--metric-key-prefix {:?}: expected dot-separated segments of letters, digits, - and _",
            escape_str(prefix)
        );
    }
    Ok(MetricsOptions {
        prometheus_quantiles: args.prometheus_quantiles,
        metric_key_prefix: Some(prefix.clone()),
        mackerel_meta: std::env::var_os("MACKEREL_AGENT_PLUGIN_META")
            .is_some_and(|v| !v.is_empty()),
        columns: columns(args)?,
    })
}

/// `--columns`, checked against the columns a table or TSV can have.
fn columns(args: &Args) -> anyhow::Result<Option<Vec<String>>> {
    if args.columns.is_empty() {
        return Ok(None);
    }
    let mut known: Vec<String> = [
        "key", "requests", "1xx", "2xx", "3xx", "4xx", "5xx", "499", "count", "sum", "min", "mean",
    ]
    .map(String::from)
    .to_vec();
    known.extend(args.percentiles.iter().map(|&p| percentile_key(p)));
    known.extend(["max".to_string(), "misresolved".to_string()]);
    for c in &args.columns {
        if !known.contains(c) {
            anyhow::bail!(
                "--columns: unknown column {:?}; columns: {}",
                escape_str(c),
                known.join(", ")
            );
        }
    }
    Ok(Some(args.columns.clone()))
}

/// The library scan job the flags describe; `lbs` adds its LB IPs to the declared trust.
fn job(args: &Args, lbs: Option<&LbList>) -> anyhow::Result<ScanJob> {
    let routes = args
        .route
        .iter()
        .map(|r| RouteRule::parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    let buckets = buckets_us(&args.buckets).map_err(|e| anyhow::anyhow!("--buckets: {e}"))?;
    let metrics = metrics_options(args)?;
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
    )
    .unwrap_or(0);
    let bucket = match &args.bucket {
        Some(b) => Some(timespec::parse_duration("--bucket", b)?),
        None if matches!(args.output, Some(OutputArg::Html)) => Some(300),
        None => None,
    };
    let range = TimeRange {
        since: args
            .since
            .as_deref()
            .map(|t| timespec::parse_time("--since", t, now))
            .transpose()?,
        until: args
            .until
            .as_deref()
            .map(|t| timespec::parse_time("--until", t, now))
            .transpose()?,
    };
    if let (Some(a), Some(b)) = (range.since, range.until) {
        if a >= b {
            anyhow::bail!(
                "--since {} is not before --until {}: the range [since, until) is empty",
                realip::timefmt::utc(a),
                realip::timefmt::utc(b)
            );
        }
    }
    let group_keys = group_keys(&args.group_by)?;
    let summary = (!args.no_summary).then(|| SummaryOptions {
        config: SummaryConfig {
            group_by: group_keys.clone(),
            routes,
            max_groups: args.max_groups,
            buckets_us: buckets.into(),
            bucket,
        },
        percentiles: args.percentiles.clone(),
        top: args.top,
        sort: args.sort.into(),
    });
    let trust = match args.nginx_conf.path() {
        Some(path) => Trust::NginxConf {
            path: path.to_path_buf(),
            server: args.nginx_conf.server().map(str::to_string),
        },
        None => Trust::Declared(args.trust.with_lbs(lbs)),
    };
    Ok(ScanJob::new(args.files.iter().cloned())
        .log_format(args.log_format.clone())
        .trust(trust)
        .resolver(ResolverOptions {
            header: args.header.name().to_string(),
            recursive: args.recursion.recursive(),
            nginx_version: args.nginx_version.version(),
        })
        .front_ends(args.front_end.specs().to_vec())
        .metrics(metrics)
        .audit(!args.no_audit)
        .summary(summary)
        .select(Selection {
            range,
            filter: args.filter.clone(),
        })
        .state(args.state.clone().map(|path| StateOptions {
            path,
            max_read: args.max_read,
        }))
        .scan_options(ScanOptions {
            threads: args.threads.threads(),
            chunk_bytes: args.chunk_bytes,
            block_bytes: args.block_bytes,
            max_line: args.max_line_bytes,
            samples: args.samples,
            progress: None,
        }))
}

/// Runs `realip scan`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.check && args.output.is_some() && args.output_file.is_none() {
        // A check's stdout is its one status line: a report there would break the plugin
        // convention, and dropping it silently would hide the mistake.
        anyhow::bail!(
            "--check prints one status line on stdout, so --output needs --output-file \
             (e.g. --output prometheus --output-file /var/lib/node_exporter/realip.prom)"
        );
    }
    let thresholds = Thresholds::parse(&args.warning, &args.critical)?;
    let lb_list = args.lb.load()?;
    let mut prepared = job(&args, lb_list.as_ref())?.prepare()?;
    for notice in prepared.notices() {
        match notice {
            // A check prints its one status line and nothing else, even on a terminal.
            Notice::Note(n) if !args.check => messages::note(n),
            Notice::Note(_) => {}
            Notice::Warning(w) => messages::warning(w),
        }
    }
    let total_bytes = prepared.total_bytes();
    let show_progress = !args.no_progress
        && !args.check
        && io::stderr().is_terminal()
        && total_bytes >= PROGRESS_MIN_BYTES;
    let done = Arc::new(AtomicBool::new(false));
    let bar = show_progress.then(|| {
        let read = Arc::new(AtomicU64::new(0));
        prepared.progress(Arc::clone(&read));
        spawn_progress(total_bytes, read, Arc::clone(&done))
    });
    let finished = prepared.run();
    done.store(true, Ordering::Relaxed);
    if let Some(b) = bar {
        let _ = b.join();
    }
    let mut finished = finished?;
    if let (Some(view), Some(list)) = (finished.report.audit.as_mut(), &lb_list) {
        view.name_lb_rules(|ip| super::lb::rule_names(list, ip));
    }
    let code = write_report(&finished.report, &args)?;
    let code = if args.check {
        check_line(&finished, &thresholds)?
    } else {
        code
    };
    // The state moves forward only once the report is out: a failed run is read again.
    finished.commit()?;
    Ok(code)
}

/// Reports problems on stderr and writes the report (to --output-file, or to stdout unless
/// this is a check, whose stdout is its one status line); the exit code without --check.
fn write_report(report: &ScanReport, args: &Args) -> anyhow::Result<ExitCode> {
    let output = args.output.map_or(Output::Table, Output::from);
    for e in &report.errors {
        eprintln!("realip: error: {}", escape_str(e));
    }
    if report.malformed > 0 {
        if let Some(first) = report.samples.first() {
            messages::warning(&format!(
                "{} malformed line(s), first at {}:{}: {}",
                report.malformed,
                escape_str(&first.path),
                first.line,
                escape_str(&first.reason)
            ));
        }
    }
    let code = if !report.errors.is_empty() {
        ExitCode::Error
    } else if report.lines > 0 && report.parsed == 0 {
        eprintln!(
            "realip: error: no line matched the log format {}; see the malformed samples",
            report.format
        );
        ExitCode::Error
    } else {
        ExitCode::Ok
    };
    match &args.output_file {
        Some(path) if code == ExitCode::Ok => {
            output::write_atomically(path, report::render(report, output).as_bytes())?;
        }
        Some(path) => eprintln!(
            "realip: {} left as it was: this run had errors",
            escape_str(&path.display().to_string())
        ),
        None if args.check => {}
        None => {
            let mut out = io::stdout().lock();
            let text = report::render_width(report, output, output::terminal_width());
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(code)
}

/// Prints the --check status line; its exit code.
fn check_line(finished: &FinishedScan, thresholds: &Thresholds) -> anyhow::Result<ExitCode> {
    let incremental = finished.incremental();
    let lost: Vec<Lost> = incremental
        .iter()
        .flat_map(|i| i.skipped.iter())
        .filter(|s| s.lost)
        .map(|s| Lost {
            name: s.name.clone(),
            bytes: s.bytes,
        })
        .collect();
    let outcome = check::outcome(
        &finished.report,
        thresholds,
        &lost,
        incremental.and_then(|i| i.previous_run),
    );
    let mut out = io::stdout().lock();
    writeln!(out, "{}", outcome.line())?;
    out.flush()?;
    Ok(match outcome.status {
        Status::Ok => ExitCode::Ok,
        Status::Warning => ExitCode::Warning,
        Status::Critical => ExitCode::Critical,
        Status::Unknown => ExitCode::Unknown,
    })
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

#[cfg(test)]
mod tests {
    use clap::{Args as _, Command};

    use super::Args;

    /// Every flag of `realip scan` with the heading it is shown under (`None`: "Options").
    /// A new flag fails this test until it is listed here, under the heading that fits it.
    const HEADINGS: &[(&str, Option<&str>)] = &[
        ("log-format", None),
        ("output", None),
        ("output-file", None),
        ("threads", None),
        ("max-line-bytes", None),
        ("samples", None),
        ("chunk-bytes", None),
        ("block-bytes", None),
        ("no-progress", None),
        ("percentiles", Some("Summary")),
        ("group-by", Some("Summary")),
        ("route", Some("Summary")),
        ("top", Some("Summary")),
        ("sort", Some("Summary")),
        ("columns", Some("Summary")),
        ("max-groups", Some("Summary")),
        ("no-summary", Some("Summary")),
        ("bucket", Some("Selection and time")),
        ("since", Some("Selection and time")),
        ("until", Some("Selection and time")),
        ("filter", Some("Selection and time")),
        ("trust", Some("Audit")),
        ("nginx-conf", Some("Audit")),
        ("server", Some("Audit")),
        ("lb-ips-from", Some("Audit")),
        ("front-end", Some("Audit")),
        ("header", Some("Audit")),
        ("recursive", Some("Audit")),
        ("no-recursive", Some("Audit")),
        ("nginx-version", Some("Audit")),
        ("no-audit", Some("Audit")),
        ("check", Some("Alerting")),
        ("warning", Some("Alerting")),
        ("critical", Some("Alerting")),
        ("state", Some("Alerting")),
        ("max-read", Some("Alerting")),
        ("buckets", Some("Metrics")),
        ("prometheus-quantiles", Some("Metrics")),
        ("metric-key-prefix", Some("Metrics")),
    ];

    #[test]
    fn every_scan_flag_sits_under_its_heading() {
        let cmd = Args::augment_args(Command::new("scan"));
        let got: Vec<(String, Option<String>)> = cmd
            .get_arguments()
            .filter_map(|a| {
                let long = a.get_long()?.to_string();
                Some((long, a.get_help_heading().map(str::to_string)))
            })
            .collect();
        let want: Vec<(String, Option<String>)> = HEADINGS
            .iter()
            .map(|(l, h)| (l.to_string(), h.map(str::to_string)))
            .collect();
        for (long, heading) in &got {
            let listed = want.iter().find(|(l, _)| l == long);
            assert!(
                listed.is_some(),
                "--{long} (under {heading:?}) is not listed in HEADINGS: give it the heading \
                 that fits it (help_heading, or next_help_heading on a flattened group) and \
                 list it"
            );
            assert_eq!(listed.map(|(_, h)| h), Some(heading), "--{long}");
        }
        assert_eq!(got.len(), want.len(), "HEADINGS lists a flag scan lost");
    }
}
