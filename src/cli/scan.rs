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
use realip::audit::{Audit, AuditConfig, TrustChoice};
use realip::input::{self, Opened};
use realip::logfmt::Field;
use realip::logfmt::{self, Format, Plan};
use realip::ranges::gcloud::LbList;
use realip::report::escape::escape_str;
use realip::report::{self, MetricsOptions, Output, ScanReport};
use realip::scan::{self, ScanInput, ScanOptions};
use realip::state;
use realip::summary::{
    buckets_us, GroupBy, RouteRule, SortBy, Summary, SummaryConfig, DEFAULT_BUCKETS,
    DEFAULT_PERCENTILES,
};
use realip::totals::Totals;
use realip::{Header, NginxVersion, Resolver, TrustedSet};

use realip::check::{self, Lost, Status, Thresholds};

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

Percentiles: pN is the smallest recorded value v such that at least N% of requests took v
or less (nearest rank), within 3 significant digits; min, mean and max are exact.

Exit codes: 0 success (malformed lines are counted and reported, not fatal; audit findings do
not change it); 2 usage error, an input that cannot be read or is cut short (e.g. a truncated
.gz; its good lines are still counted), or no line of a non-empty input matched the format.
With --check: 0 OK (also when no new line arrived since the last --state run), 1 WARNING,
2 CRITICAL, 3 UNKNOWN (unreadable log, no line matching the format, no audit possible,
nonsensical thresholds).";

/// The flags of `realip scan` (the help text lives on `Command::Scan`).
#[derive(Debug, clap::Args)]
#[command(after_long_help = EXAMPLES, after_help = "Run with --help for examples.")]
pub struct Args {
    /// Log files (plain or gzip), globs, or - for stdin. None: stdin.
    #[arg(value_name = "FILE")]
    pub files: Vec<std::ffi::OsString>,

    /// auto, combined, main, realip, ltsv, json, or an nginx log_format template
    /// ('$remote_addr …').
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

    /// Distinct group keys tracked (bounds memory). Beyond it, the keys kept are a fixed
    /// sample (smallest key hashes) with exact counts, the rest go to "others", and the
    /// report says so (`groups_approximate`, `max_error`); any split gives the same result.
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

    /// Trusted proxy for the audit: what `set_real_ip_from` should hold (address, CIDR,
    /// unix: or preset; repeatable). Default: none declared; the trust nginx applied is
    /// inferred from the log.
    #[arg(
        long,
        value_name = "SPEC",
        value_delimiter = ',',
        help_heading = "Audit"
    )]
    pub trust: Vec<String>,

    /// Take the audit's trust, header and recursion from this nginx configuration (or
    /// `nginx -T` dump), and --log-format names from its log_format definitions.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["trust", "header", "no_recursive"], help_heading = "Audit")]
    pub nginx_conf: Option<std::path::PathBuf>,

    /// With --nginx-conf: the server (by server_name) whose realip settings apply
    /// [default: the first].
    #[arg(
        long,
        value_name = "NAME",
        requires = "nginx_conf",
        help_heading = "Audit"
    )]
    pub server: Option<String>,

    /// Front ends that append `<client>,<lb-ip>` to X-Forwarded-For, so that the rightmost
    /// entry is a load-balancer IP (repeatable). Default: the gcp preset.
    #[arg(
        long,
        value_name = "SPEC",
        value_delimiter = ',',
        help_heading = "Audit"
    )]
    pub front_end: Vec<String>,

    /// The load balancers' own list (gcloud forwarding-rules JSON, repeatable): their
    /// Application LB IPs (and the gcp preset, for global ones) join the declared trust, and
    /// the audit names the forwarding rule of every LB IP it reports.
    #[command(flatten)]
    pub lb: super::lb::LbArgs,

    /// Header nginx should take the client from (its real_ip_header).
    #[arg(
        long,
        value_name = "NAME",
        default_value = "X-Forwarded-For",
        help_heading = "Audit"
    )]
    pub header: String,

    /// Audit against real_ip_recursive off (default: on).
    #[arg(long, help_heading = "Audit")]
    pub no_recursive: bool,

    /// Reproduce this nginx version's rules in the audit (default: current nginx).
    #[arg(long, value_name = "V", help_heading = "Audit", value_parser = NginxVersion::parse)]
    pub nginx_version: Option<NginxVersion>,

    /// Skip the audit.
    #[arg(long, help_heading = "Audit")]
    pub no_audit: bool,

    /// Skip the latency and status summary.
    #[arg(long)]
    pub no_summary: bool,

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

/// Builds the audit configuration, or says why there is no audit. With neither `--trust` nor
/// `--nginx-conf`, the trust is inferred from the log itself.
fn audit_config(
    args: &Args,
    plan: &Plan,
    lbs: Option<&LbList>,
) -> anyhow::Result<(Option<Arc<AuditConfig>>, Option<String>)> {
    if args.no_audit {
        return Ok((None, None));
    }
    let version = args.nginx_version;
    let with_version = |r: Resolver| match version {
        Some(v) => r.with_nginx_version(v),
        None => r,
    };
    let mut note = None;
    let trust = if let Some(conf) = &args.nginx_conf {
        let r = super::resolve::resolver_from_conf(conf, args.server.as_deref(), None)?;
        note = Some(format!("checked against {}", conf.display()));
        TrustChoice::NginxConf(with_version(r))
    } else if args.trust.is_empty() && lbs.is_none() {
        if args.no_recursive || args.nginx_version.is_some() {
            messages::warning(
                "--no-recursive and --nginx-version describe a declared trust; without --trust \
                 or --nginx-conf the trust, recursion included, is read from the log",
            );
        }
        TrustChoice::Inferred(Header::new(&args.header)?)
    } else {
        let mut specs = args.trust.clone();
        if let Some(list) = lbs {
            specs.extend(super::lb::trust_specs(list, &args.trust));
        }
        let (trusted, warnings) = TrustedSet::parse(&specs)?;
        for w in &warnings {
            messages::warning(&escape_str(&w.to_string()));
        }
        let header = Header::new(&args.header)?;
        TrustChoice::Declared(with_version(Resolver::new(
            trusted,
            header,
            !args.no_recursive,
        )))
    };
    let front_ends = realip::audit::front_ends(&args.front_end).context("--front-end")?;
    let fields: Vec<Field> = plan.fields().collect();
    match AuditConfig::for_log(trust, front_ends, &fields) {
        Ok(config) => Ok((Some(Arc::new(config)), note)),
        Err(skip) => Ok((None, Some(format!("skipped: {skip}")))),
    }
}

/// Runs `realip scan`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    for p in &args.percentiles {
        if !(0.0..=100.0).contains(p) || p.is_nan() {
            anyhow::bail!("--percentiles: {p} is not between 0 and 100");
        }
    }
    let nginx_cfg = match &args.nginx_conf {
        Some(p) => Some(realip::nginx::load(p)?),
        None => None,
    };
    let thresholds = Thresholds::parse(&args.warning, &args.critical)?;
    let routes = args
        .route
        .iter()
        .map(|r| RouteRule::parse(r))
        .collect::<Result<Vec<_>, _>>()?;
    let buckets = buckets_us(&args.buckets).map_err(|e| anyhow::anyhow!("--buckets: {e}"))?;
    if args.metric_key_prefix.is_empty()
        || !args.metric_key_prefix.split('.').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    {
        anyhow::bail!(
            "--metric-key-prefix {:?}: expected dot-separated segments of letters, digits, - and _",
            escape_str(&args.metric_key_prefix)
        );
    }
    let summary_config = (!args.no_summary).then(|| {
        Arc::new(SummaryConfig {
            group_by: args.group_by.map(|g| match g {
                GroupByArg::Route => GroupBy::Route,
                GroupByArg::Host => GroupBy::Host,
                GroupByArg::Method => GroupBy::Method,
                GroupByArg::Status => GroupBy::Status,
                GroupByArg::Client => GroupBy::Client,
            }),
            routes,
            max_groups: args.max_groups,
            buckets_us: buckets.into(),
        })
    });
    let sort = match args.sort {
        SortArg::Count => SortBy::Count,
        SortArg::Sum => SortBy::Sum,
        SortArg::P99 => SortBy::P99,
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);

    // Open every input; unreadable ones are reported, the rest are scanned. With --state,
    // only what was appended since the last run is read.
    let mut errors = Vec::new();
    let mut inputs: Vec<ScanInput> = Vec::new();
    let mut incremental = None;
    let mut state_notes = Vec::new();
    if let Some(state_path) = &args.state {
        let sources = input::expand_inputs(&args.files)?;
        let mut paths = Vec::new();
        for s in sources {
            match s {
                input::Source::Path(p) => paths.push(p),
                input::Source::Stdin => anyhow::bail!("--state needs log files, not stdin"),
            }
        }
        let inc = state::begin(state_path, &paths, args.max_read, now)?;
        for piece in &inc.pieces {
            // Through the handle `begin` checked: the path may have been rotated since.
            match piece.scan_input() {
                Ok(input) => inputs.push(input),
                Err(e) => errors.push(e.to_string()),
            }
        }
        for s in &inc.skipped {
            state_notes.push(format!(
                "skipped {} bytes of {}: {}",
                s.bytes, s.name, s.reason
            ));
        }
        state_notes.extend(inc.notes.iter().cloned());
        incremental = Some(inc);
    } else {
        for src in &input::expand_inputs(&args.files)? {
            match input::open(src) {
                Ok(o) => inputs.push(ScanInput::new(src.name(), o)),
                Err(e) => errors.push(e.to_string()),
            }
        }
    }
    if inputs.is_empty() && !errors.is_empty() {
        // Nothing could be read: an error, not a report of zeros.
        anyhow::bail!("{}", escape_str(&errors.join("; ")));
    }
    let total_bytes: u64 = inputs
        .iter()
        .map(|i| match &i.opened {
            Opened::Plain { start, end, .. } => end.saturating_sub(*start),
            Opened::Stream(_) => 0,
        })
        .sum();

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
            Format::Realip
        } else {
            let d = logfmt::detect_detailed(&lines).context("--log-format auto")?;
            if d.parsed < d.sampled {
                messages::warning(&format!(
                    "detected {} from only {} of the first {} lines; if that is wrong, give \
                     --log-format",
                    d.format.name(),
                    d.parsed,
                    d.sampled
                ));
            }
            d.format
        }
    } else if let Some(f) = nginx_cfg
        .as_ref()
        .filter(|_| !args.log_format.contains('$'))
        .and_then(|cfg| realip::nginx::log_format::format_named(cfg, &args.log_format))
    {
        // A format name defined in the nginx config wins over a built-in of the same name.
        f
    } else {
        args.log_format
            .parse::<Format>()
            .map_err(anyhow::Error::msg)
            .context("--log-format")?
    };
    let format = match &nginx_cfg {
        // auto with a config: the format of the access_log that writes this file, if any.
        Some(cfg) if detected => {
            let first = args.files.first().map(std::path::Path::new);
            let by_path = first.and_then(|f| {
                let name = f.file_name()?;
                realip::nginx::log_format::access_logs(cfg)
                    .into_iter()
                    .find(|a| std::path::Path::new(&a.path).file_name() == Some(name))
            });
            by_path
                .and_then(|a| realip::nginx::log_format::format_named(cfg, &a.format))
                .unwrap_or(format)
        }
        _ => format,
    };
    let plan = Plan::compile(&format).context("--log-format")?;
    if detected {
        messages::note(&format!(
            "log format: {} (detected; use --log-format to choose)",
            format.name()
        ));
    }
    let lb_list = args.lb.load()?;
    let (audit_config, audit_note) = audit_config(&args, &plan, lb_list.as_ref())?;

    let progress = Arc::new(AtomicU64::new(0));
    let show_progress = !args.no_progress
        && !args.check
        && io::stderr().is_terminal()
        && total_bytes >= PROGRESS_MIN_BYTES;
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
    let scanned = scan::scan(inputs, &plan, &opts, || {
        (
            summary_config.as_ref().map(|c| Summary::new(Arc::clone(c))),
            audit_config.as_ref().map(|c| Audit::new(c)),
        )
    });
    done.store(true, Ordering::Relaxed);
    if let Some(b) = bar {
        let _ = b.join();
    }
    let scanned = scanned?;
    errors.extend(scanned.errors.iter().map(ToString::to_string));
    let locate = |at| {
        let (name, line) = scanned.locate(at);
        format!("{name}:{line}")
    };
    let (summary, audit) = &scanned.acc;
    let mut audit_view = audit.as_ref().map(|a| a.view(locate));
    if let (Some(view), Some(list)) = (audit_view.as_mut(), &lb_list) {
        view.name_lb_rules(|ip| super::lb::rule_names(list, ip));
    }
    let report = ScanReport {
        inputs: scanned.names.clone(),
        format: format.name().to_string(),
        format_detected: detected,
        lines: scanned.lines,
        parsed: scanned.parsed,
        malformed: scanned.malformed.count(),
        samples: scanned.samples.clone(),
        errors: errors.clone(),
        summary: summary
            .as_ref()
            .map(|s| s.view(&args.percentiles, args.top, sort)),
        audit: audit_view,
        audit_note,
        state_notes: incremental.as_ref().map(|_| state_notes.clone()),
        window_seconds: incremental
            .as_ref()
            .and_then(|i| i.window.as_ref().map(|w| w.seconds)),
        epoch: now,
        totals: None,
        metrics: MetricsOptions {
            prometheus_quantiles: args.prometheus_quantiles,
            metric_key_prefix: Some(args.metric_key_prefix.clone()),
            mackerel_meta: std::env::var_os("MACKEREL_AGENT_PLUGIN_META")
                .is_some_and(|v| !v.is_empty()),
        },
    };
    let mut report = report;
    // Under --state, counters add up across runs: this run is added to the stored totals,
    // which are committed with the offsets.
    if let Some(inc) = incremental.as_mut() {
        let mut totals = inc.totals().cloned().unwrap_or_else(|| Totals::new(now));
        totals.add_run(
            report.lines,
            report.parsed,
            report.malformed,
            report.summary.as_ref(),
            report.audit.as_ref(),
        );
        inc.set_totals(totals.clone());
        report.totals = Some(totals);
    }

    let output = match args.output {
        Some(OutputArg::Table) | None => Output::Table,
        Some(OutputArg::Json) => Output::Json,
        Some(OutputArg::Tsv) => Output::Tsv,
        Some(OutputArg::Prometheus) => Output::Prometheus,
        Some(OutputArg::Mackerel) => Output::Mackerel,
    };
    for e in &errors {
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
    let code = if !errors.is_empty() {
        ExitCode::Error
    } else if report.lines > 0 && report.parsed == 0 {
        eprintln!(
            "realip: error: no line matched the log format {}; see the malformed samples",
            format.name()
        );
        ExitCode::Error
    } else {
        ExitCode::Ok
    };
    let mut out = io::stdout().lock();
    // The report: to --output-file (only from a run without errors), else to stdout unless
    // this is a check (whose stdout is its one status line).
    match &args.output_file {
        Some(path) if code == ExitCode::Ok => {
            output::write_atomically(path, report::render(&report, output).as_bytes())?;
        }
        Some(path) => eprintln!(
            "realip: {} left as it was: this run had errors",
            escape_str(&path.display().to_string())
        ),
        None if args.check => {}
        None => out.write_all(report::render(&report, output).as_bytes())?,
    }
    let code = if args.check {
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
            &report,
            &thresholds,
            &lost,
            incremental.as_ref().and_then(|i| i.previous_run),
        );
        writeln!(out, "{}", outcome.line())?;
        match outcome.status {
            Status::Ok => ExitCode::Ok,
            Status::Warning => ExitCode::Warning,
            Status::Critical => ExitCode::Critical,
            Status::Unknown => ExitCode::Unknown,
        }
    } else {
        code
    };
    // The state moves forward only once the report is out: a failed run is read again.
    if let Some(inc) = incremental {
        if errors.is_empty() {
            inc.commit()?;
        }
    }
    Ok(code)
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
