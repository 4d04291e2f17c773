//! `realip nginx check` and `realip nginx snippet`: lint a configuration's realip setup, or
//! write a correct one.
//!
//! Owns: the flags of both subcommands, their help and examples, and the wiring: the
//! configuration is loaded (`nginx::load`), load-balancer IPs are gathered from `--trust`
//! (alias `--lb-ip`) and from `--log` (the library's scan and audit, run with the
//! configuration's own realip settings and log format), the lint runs in the library (`nginx::lint`), and the findings are
//! printed as a table or JSON. Snippets come from `nginx::snippet`. No rule logic here.

use std::io::{self, Write};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::ValueEnum;
use realip::job::{ScanJob, Trust};
use realip::logfmt::Format;
use realip::nginx::ast::Config;
use realip::nginx::lint::{
    self, Context as Block, Finding, LintOptions, ProviderKind, ProviderList, Severity,
};
use realip::nginx::log_format::{access_logs, format_named};
use realip::nginx::realip::{contexts, effective, RealipSettings};
use realip::nginx::snippet;
use realip::nginx::LoadOptions;
use realip::presets;
use realip::ranges::gcloud::LbKind;
use realip::report::escape::escape_str;
use realip::scan::ScanOptions;
use realip::{Header, TrustedSet};

use super::args::{FrontEndArgs, HeaderArg, MustTrustArgs, RecursionArgs, ThreadsArg, TrustArgs};
use super::exit::ExitCode;
use super::lb::LbArgs;
use super::messages;

const CHECK_EXAMPLES: &str = "\
Examples:
  # Lint the configuration nginx runs (includes are followed, like nginx does):
  realip nginx check /etc/nginx/nginx.conf

  # The output of `nginx -T` works too, with every included file in it:
  nginx -T 2>/dev/null > dump.txt && realip nginx check dump.txt

  # Behind a Google Cloud load balancer: name its forwarding-rule IPs, and realip says which
  # set_real_ip_from lines are missing:
  realip nginx check --trust 34.120.5.6 --trust 34.149.9.9 /etc/nginx/nginx.conf

  # In CI, before a load balancer change ships: every Application LB that Google Cloud
  # lists must be trusted (exit 2 names the forwarding rule and the line to add):
  gcloud compute forwarding-rules list --format=json > rules.json
  realip nginx check --lb-ips-from rules.json /etc/nginx/nginx.conf

  # Or let the access log tell: load-balancer IPs logged as the client are found by the
  # audit (run with this configuration's own trust and log_format):
  realip nginx check --log /var/log/nginx/access.log /etc/nginx/nginx.conf

  # The same when your front ends are not Google's (as for realip scan --front-end):
  realip nginx check --log access.log --front-end 10.9.0.0/16 /etc/nginx/nginx.conf

  # A repository checkout of /etc/nginx: absolute includes are read from the checkout, and
  # includes matching nothing fail the check:
  realip nginx check --prefix deploy/nginx --strict deploy/nginx/nginx.conf

  # One snippet on its own (a fragment: nothing is said about what its includer has):
  realip nginx check --context server deploy/nginx/snippets/realip.conf

  # Compare Cloudflare lists with a fresh download (stale and missing ranges, with the lines):
  curl -sO https://www.cloudflare.com/ips-v4 && realip nginx check --ranges-file ips-v4 nginx.conf

  # In CI, as JSON (a list of findings with id, severity, file, line, message, fix, remove):
  realip nginx check --output json nginx.conf | jq '.[] | select(.severity == \"error\")'

Exit codes: 0 no findings (or info only); 1 warnings, no errors; 2 errors, or the
configuration cannot be read (printed as file:line:col with the offending line).";

const SNIPPET_EXAMPLES: &str = "\
Examples:
  # Behind a Google Cloud HTTP(S) load balancer: Google's front ends plus your own
  # forwarding-rule IP, which no preset can know:
  realip nginx snippet --trust gcp --trust 34.120.5.6

  # Cloudflare, reading its single-address header:
  realip nginx snippet --trust cloudflare --header CF-Connecting-IP --no-recursive

  # Your own proxies:
  realip nginx snippet --trust 10.0.0.0/8,192.168.0.0/16

Paste the output into http { } or server { }. Presets: gcp (Google front ends), cloudflare.

What to trust: --trust, PRESET arguments, --ranges-file or --lb-ips-from (at least one).
The load balancers' own list (--lb-ips-from, gcloud forwarding-rules JSON) gives one
commented set_real_ip_from line per Application LB address, and the gcp preset when global
external Application LBs are listed.

Exit codes: 0 success; 2 usage error.";

/// `realip nginx`'s own subcommands.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: NginxCommand,
}

/// `check` or `snippet`.
#[derive(Debug, clap::Subcommand)]
pub enum NginxCommand {
    /// Lint the realip setup of an nginx configuration: findings with ids, file:line and fixes.
    ///
    /// Reads the configuration as nginx does (includes, globs, or an `nginx -T` dump), works
    /// out the realip settings of every http, server and location context with nginx's
    /// inheritance, and reports what makes nginx resolve the wrong client or lets clients
    /// choose their own address, each with the exact configuration text that fixes it.
    Check(CheckArgs),
    /// Print a correct, commented realip configuration block.
    ///
    /// Each preset's ranges come with their source and the date they were checked; your own
    /// entries follow; then real_ip_header and real_ip_recursive.
    Snippet(SnippetArgs),
}

/// The flags of `realip nginx check`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = check_help(), after_help = "Run with --help for examples and the rules.")]
#[command(mut_arg("front_end", |a| a.requires("log")))]
#[command(mut_arg("threads", |a| a.requires("log")))]
pub struct CheckArgs {
    /// The configuration: nginx.conf (includes are followed) or `nginx -T` output.
    #[arg(value_name = "CONF")]
    pub conf: PathBuf,

    // `--trust` (alias `--lb-ip`) and `--lb-ips-from`: what the configuration must trust. A
    // doc comment on a flattened field never reaches --help (clap drops it).
    #[command(flatten)]
    pub lb_ip: MustTrustArgs,

    #[command(flatten)]
    pub lb: LbArgs,

    /// With --lb-ips-from: Google's cloud.json (https://www.gstatic.com/ipranges/cloud.json),
    /// to tell whether a trusted address that no forwarding rule holds any more is a Google
    /// Cloud customer address (then a warning: someone else may own it now).
    #[arg(long, value_name = "FILE", requires = "lb_ips_from")]
    pub google_ranges: Option<PathBuf>,

    /// An access log to audit (repeatable; plain or gzip): load-balancer IPs that nginx
    /// logged as the client are reported as missing set_real_ip_from lines.
    ///
    /// The audit resolves with this configuration's own set_real_ip_from, real_ip_header and
    /// real_ip_recursive (of the server whose access_log writes the file, else the first),
    /// under the newest nginx's rules: there is no --header, --recursive or --nginx-version
    /// here, on purpose, since the question is what this configuration does (`realip scan`
    /// takes them, to try another setup). --front-end and -j/--threads work as in `scan`.
    #[arg(long, value_name = "FILE")]
    pub log: Vec<std::ffi::OsString>,

    // `--front-end` and `-j/--threads`, for the audit of --log (both require it).
    #[command(flatten)]
    pub front_end: FrontEndArgs,

    #[command(flatten)]
    pub threads: ThreadsArg,

    /// The format of the --log files: a log_format name from the configuration, a built-in
    /// (combined, main, realip, ltsv, json) or a template. Default: the configuration's
    /// access_log format that fits the first lines best, else detected.
    #[arg(long, value_name = "NAME", requires = "log")]
    pub log_format: Option<String>,

    /// The site is served over IPv6 (default: guessed from `listen [...]` directives), so
    /// Google's IPv6 front-end range must be trusted too.
    #[arg(long)]
    pub serves_ipv6: bool,

    /// CONF is a fragment included in this block (http, server or location): it gets
    /// findings about what it contains, never about what its includer would have. Default:
    /// a whole configuration when it has `events` or `http`, else inferred (server blocks:
    /// http; location, listen or server_name: server; otherwise http).
    #[arg(long, value_enum, value_name = "BLOCK")]
    pub context: Option<ContextArg>,

    /// The directory that stands for nginx's configuration directory (like nginx -p for a
    /// checkout): relative includes resolve against it, and absolute includes under
    /// /etc/nginx are read from it.
    #[arg(long, value_name = "DIR")]
    pub prefix: Option<PathBuf>,

    /// Read absolute includes under FROM from TO instead (repeatable), e.g.
    /// --prefix-map /etc/nginx=deploy/nginx.
    #[arg(long, value_name = "FROM=TO")]
    pub prefix_map: Vec<String>,

    /// Report includes whose glob matches no file as errors (exit 2), not info.
    #[arg(long)]
    pub strict: bool,

    /// A provider's published range list to compare the configuration's lists with
    /// (repeatable): Cloudflare ips-v4/ips-v6 text or API JSON, AWS ip-ranges.json (with
    /// --service), Fastly public-ip-list JSON. Stale and missing ranges are reported with the
    /// lines to delete and add. The gcp and cloudflare presets are always compared.
    #[arg(long, value_name = "FILE")]
    pub ranges_file: Vec<PathBuf>,

    /// With an AWS ip-ranges.json in --ranges-file: the service to take, e.g.
    /// CLOUDFRONT_ORIGIN_FACING.
    #[arg(long, value_name = "NAME", requires = "ranges_file")]
    pub service: Option<String>,

    /// Output format.
    #[arg(
        long,
        short = 'o',
        value_enum,
        value_name = "FORMAT",
        default_value = "table"
    )]
    pub output: CheckOutput,
}

/// `--context` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ContextArg {
    /// Included in http { } (conf.d/*.conf).
    Http,
    /// Included in server { } (snippets).
    Server,
    /// Included in a location { }.
    Location,
}

impl From<ContextArg> for Block {
    fn from(c: ContextArg) -> Self {
        match c {
            ContextArg::Http => Block::Http,
            ContextArg::Server => Block::Server,
            ContextArg::Location => Block::Location,
        }
    }
}

/// `--output` values of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckOutput {
    /// One finding per line (file:line: severity id: message), then its fix.
    Table,
    /// A JSON list of findings: id, severity, file, line, message, fix.
    Json,
}

/// The flags of `realip nginx snippet`.
#[derive(Debug, clap::Args)]
#[command(after_long_help = SNIPPET_EXAMPLES, after_help = "Run with --help for examples.")]
#[command(mut_arg("trust", |a| a.required_unless_present_any(["ranges_file", "presets", "lb_ips_from"])))]
pub struct SnippetArgs {
    /// Presets or other trusted proxies, as with --trust: `realip nginx snippet gcp`.
    #[arg(value_name = "PRESET")]
    pub presets: Vec<String>,

    // `--trust` and `--lb-ips-from`. A doc comment on a flattened field never reaches --help
    // (clap drops it): what they mean here is in SNIPPET_EXAMPLES.
    #[command(flatten)]
    pub trust: TrustArgs,

    #[command(flatten)]
    pub lb: LbArgs,

    /// A published range list to trust: Cloudflare ips-v4/ips-v6 text or API JSON, AWS
    /// ip-ranges.json (with --service), Fastly public-ip-list JSON (repeatable). Google's
    /// goog.json/cloud.json are refused: they hold every Google customer's addresses.
    #[arg(long, value_name = "FILE")]
    pub ranges_file: Vec<std::path::PathBuf>,

    /// With an AWS ip-ranges.json: the service to take, e.g. CLOUDFRONT_ORIGIN_FACING.
    #[arg(long, value_name = "NAME", requires = "ranges_file")]
    pub service: Option<String>,

    #[command(flatten)]
    pub header: HeaderArg,

    #[command(flatten)]
    pub recursion: RecursionArgs,
}

/// The examples, then every rule with its id and usual severity.
fn check_help() -> String {
    let mut out = String::from(CHECK_EXAMPLES);
    out.push_str("\n\nRules (id, usual severity):\n");
    for r in lint::RULES {
        out.push_str(&format!("  {} ({}): {}\n", r.id, r.severity, r.summary));
    }
    out
}

/// Runs `realip nginx …`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        NginxCommand::Check(a) => check(a),
        NginxCommand::Snippet(a) => print_snippet(a),
    }
}

fn check(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let mut lb_ips = Vec::new();
    let mut subnets = Vec::new();
    for text in args.lb_ip.texts() {
        let context = || format!("--trust/--lb-ip {}", escape_str(text));
        if text.contains('/') {
            subnets.push(parse_lb_net(text).with_context(context)?);
        } else {
            lb_ips.push(parse_lb_ip(text).with_context(context)?);
        }
    }
    let lb_list = args.lb.load()?;
    let google = google_ranges(args.google_ranges.as_deref())?;
    let load = load_options(&args)?;
    let mut providers = Vec::new();
    let now = now_epoch();
    for path in &args.ranges_file {
        providers.push(provider_list(path, args.service.as_deref(), now)?);
    }
    let cfg = match realip::nginx::load_with(&args.conf, &load) {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("realip: {e}");
            return Ok(ExitCode::Error);
        }
    };
    // Checked before any log is read.
    realip::audit::front_ends(args.front_end.specs()).context("--front-end")?;
    let mut code = ExitCode::Ok;
    for log in &args.log {
        match lb_ips_from_log(
            &cfg,
            log,
            args.log_format.as_deref(),
            args.front_end.specs(),
            args.threads.threads(),
        )? {
            Some(found) => {
                for ip in found {
                    if !lb_ips.contains(&ip) {
                        lb_ips.push(ip);
                    }
                }
            }
            None => code = code.merge(ExitCode::Error),
        }
    }
    // Addresses given with --trust (or found in logs) are LB IPs too: never stale.
    let declared = lb_ips.clone();
    if let Some(list) = &lb_list {
        // Addresses the list names are reported with their forwarding rules.
        lb_ips.retain(|ip| list.rules_at(*ip).is_empty());
    }
    let opts = LintOptions {
        lb_ips,
        serves_ipv6: args.serves_ipv6.then_some(true),
        context: args.context.map(Block::from),
        providers,
        strict: args.strict,
    };
    let scope = opts
        .context
        .map_or_else(|| lint::scope(&cfg), lint::Scope::Fragment);
    let mut findings = lint::check(&cfg, &opts);
    findings.extend(lb_list_findings(
        &cfg,
        lb_list.as_ref(),
        &subnets,
        google.as_ref(),
        &declared,
    ));
    write_findings(&findings, args.output, scope)?;
    Ok(code.merge(exit_code(&findings)))
}

/// `--google-ranges`: Google's cloud.json (or goog.json), refused when it is another list.
fn google_ranges(path: Option<&Path>) -> anyhow::Result<Option<realip::ranges::RangeList>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let list = realip::ranges::load(path, None, now_epoch()).context("--google-ranges")?;
    use realip::ranges::Provider;
    if !matches!(
        list.provenance.provider,
        Provider::GoogleCloud | Provider::GoogleGoog
    ) {
        anyhow::bail!(
            "--google-ranges: {} is a {}, not Google's cloud.json (or goog.json)",
            escape_str(&path.display().to_string()),
            list.provenance.provider.description()
        );
    }
    for w in &list.warnings {
        messages::warning(&format!(
            "{}: {}",
            escape_str(&path.display().to_string()),
            escape_str(w)
        ));
    }
    Ok(Some(list))
}

/// `--prefix` and `--prefix-map`, checked.
fn load_options(args: &CheckArgs) -> anyhow::Result<LoadOptions> {
    let mut load = LoadOptions {
        prefix: args.prefix.clone(),
        prefix_map: Vec::new(),
    };
    for m in &args.prefix_map {
        let Some((from, to)) = m.split_once('=') else {
            anyhow::bail!(
                "--prefix-map {}: expected FROM=TO, e.g. /etc/nginx=deploy/nginx",
                escape_str(m)
            );
        };
        if !from.starts_with('/') || to.is_empty() {
            anyhow::bail!(
                "--prefix-map {}: FROM must be an absolute path and TO a directory",
                escape_str(m)
            );
        }
        load.prefix_map
            .push((PathBuf::from(from), PathBuf::from(to)));
    }
    Ok(load)
}

/// The findings about the load balancers' own list (`--lb-ips-from`) and proxy subnets.
fn lb_list_findings(
    cfg: &Config,
    list: Option<&realip::ranges::gcloud::LbList>,
    subnets: &[ipnet::IpNet],
    google: Option<&realip::ranges::RangeList>,
    declared: &[IpAddr],
) -> Vec<Finding> {
    let empty = realip::ranges::gcloud::LbList::default();
    let (list, google) = match list {
        Some(l) => (l, google),
        None if !subnets.is_empty() => (&empty, None),
        None => return Vec::new(),
    };
    lint::check_lb_list(
        cfg,
        &lint::LbCheck {
            list,
            proxy_subnets: subnets,
            google,
            declared,
        },
    )
}

/// Writes the findings as a table (with the scope when not the whole configuration) or JSON.
fn write_findings(
    findings: &[Finding],
    output: CheckOutput,
    scope: lint::Scope,
) -> anyhow::Result<()> {
    let mut out = io::stdout().lock();
    match output {
        CheckOutput::Table => {
            out.write_all(table(findings).as_bytes())?;
            if scope != lint::Scope::Whole {
                // Said, since findings about the includer are left out.
                writeln!(out, "(checked as {scope})")?;
            }
        }
        CheckOutput::Json => {
            let mut text = realip::escape::json_pretty(findings)?;
            text.push('\n');
            out.write_all(text.as_bytes())?;
        }
    }
    out.flush()?;
    Ok(())
}

/// 2 with any error, 1 with warnings only, else 0.
fn exit_code(findings: &[Finding]) -> ExitCode {
    match findings.iter().map(|f| f.severity).min() {
        Some(Severity::Error) => ExitCode::Error,
        Some(Severity::Warning) => ExitCode::Findings,
        Some(Severity::Info) | None => ExitCode::Ok,
    }
}

/// `file:line: severity id: message`, then the fix lines, then a count.
fn table(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        out.push_str(&format!(
            "{}:{}: {} {}: {}\n",
            escape_str(&f.file),
            f.line,
            f.severity,
            f.id,
            escape_str(&f.message)
        ));
        if let Some(remove) = &f.remove {
            for (k, line) in remove.lines().enumerate() {
                let lead = if k == 0 {
                    "    delete: "
                } else {
                    "            "
                };
                out.push_str(lead);
                out.push_str(&escape_str(line));
                out.push('\n');
            }
        }
        if let Some(fix) = &f.fix {
            for (k, line) in fix.lines().enumerate() {
                let lead = if k == 0 { "    fix: " } else { "         " };
                out.push_str(lead);
                out.push_str(&escape_str(line));
                out.push('\n');
            }
        }
    }
    let count = |s| findings.iter().filter(|f| f.severity == s).count();
    let (e, w, i) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    );
    if findings.is_empty() {
        out.push_str("no findings\n");
    } else {
        out.push_str(&format!(
            "{e} error{}, {w} warning{}, {i} info\n",
            if e == 1 { "" } else { "s" },
            if w == 1 { "" } else { "s" }
        ));
    }
    out
}

/// A `--ranges-file` as a provider list for the lint (Google's lists are refused: they hold
/// every Google Cloud customer's addresses).
fn provider_list(path: &Path, service: Option<&str>, now: i64) -> anyhow::Result<ProviderList> {
    let shown = escape_str(&path.display().to_string()).into_owned();
    let list = realip::ranges::load(path, service, now)?;
    for w in &list.warnings {
        eprintln!("realip: warning: {shown}: {}", escape_str(w));
    }
    list.trust_specs()
        .with_context(|| format!("--ranges-file {shown}"))?;
    let p = &list.provenance;
    let (kind, name) = match p.provider {
        realip::ranges::Provider::Aws => (
            ProviderKind::Aws,
            format!("AWS {}", p.service.as_deref().unwrap_or("")),
        ),
        realip::ranges::Provider::Fastly => (ProviderKind::Fastly, "Fastly".to_string()),
        _ => (ProviderKind::Cloudflare, "Cloudflare".to_string()),
    };
    Ok(ProviderList {
        name: name.trim().to_string(),
        kind,
        source: shown,
        dated: match &p.created {
            Some(c) => format!("created {c}"),
            None => "undated".to_string(),
        },
        nets: list.nets.clone(),
        former: Vec::new(),
    })
}

/// An address as the user types it, or in nginx's lenient grammar.
fn parse_lb_ip(text: &str) -> anyhow::Result<IpAddr> {
    let t = text.trim();
    t.parse::<IpAddr>()
        .ok()
        .or_else(|| realip::net::inet::parse_ip(t.as_bytes()))
        .ok_or_else(|| anyhow::anyhow!("not an IPv4 or IPv6 address"))
}

/// A CIDR as the user types it (`10.129.0.0/23`); host bits are refused.
fn parse_lb_net(text: &str) -> anyhow::Result<ipnet::IpNet> {
    let net: ipnet::IpNet = text
        .trim()
        .parse()
        .map_err(|_| anyhow::anyhow!("not an address or a CIDR (address/prefix-length)"))?;
    if net.trunc() != net {
        anyhow::bail!("host bits are set (the network is {})", net.trunc());
    }
    Ok(net)
}

/// Seconds since the epoch (0 when the clock is before it).
fn now_epoch() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Audits one log with the configuration's own settings (the library's scan job, as `realip
/// scan --nginx-conf` runs it, on `threads` workers: `-j`, 0 for one per core) and returns the
/// load-balancer IPs it logged as clients; `None` (after saying why on stderr) when the log
/// cannot be read.
fn lb_ips_from_log(
    cfg: &Config,
    log: &std::ffi::OsStr,
    format_arg: Option<&str>,
    front_ends: &[String],
    threads: usize,
) -> anyhow::Result<Option<Vec<IpAddr>>> {
    let name = realip::report::escape::escape_bytes(log.as_encoded_bytes()).into_owned();
    let logs = access_logs(cfg);
    let file_name = Path::new(log).file_name();
    let bound = logs
        .iter()
        .find(|l| Path::new(&l.path).file_name() == file_name && file_name.is_some());
    let job = ScanJob::new([log])
        .summary(None)
        .front_ends(front_ends.to_vec())
        .scan_options(ScanOptions {
            samples: 5,
            threads,
            ..ScanOptions::default()
        })
        .trust(Trust::NginxSettings(
            audit_settings(cfg, bound.and_then(|l| l.server.as_deref())).resolver(),
        ));
    let job = match format_arg {
        Some(n) => job.format(match format_named(cfg, n) {
            Some(f) => f,
            None => n.parse::<Format>().context("--log-format")?,
        }),
        None => job.best_fit_format(candidate_formats(cfg, bound.map(|l| l.format.as_str()))),
    };
    let report = match job.prepare() {
        Ok(p) => p.run()?.report,
        Err(e @ realip::Error::NothingReadable { .. }) => {
            eprintln!("realip: --log: {e}");
            return Ok(None);
        }
        Err(e) => return Err(anyhow::Error::new(e).context(format!("--log {name}"))),
    };
    if let Some(e) = report.errors.first() {
        eprintln!("realip: --log: {e}");
        return Ok(None);
    }
    let Some(view) = report.audit else {
        let why = report.audit_note.unwrap_or_default();
        let why = why.strip_prefix("skipped: ").unwrap_or(&why);
        eprintln!("realip: --log {name}: not audited: {why}");
        return Ok(Some(Vec::new()));
    };
    eprintln!(
        "realip: --log {name}: audit: {}",
        realip::report::text::verdict(&view)
    );
    for lb in &view.unresolved_lb_ips {
        eprintln!(
            "realip: --log {name}: load-balancer IP {} logged as the client on {} line(s), \
             first at {}",
            escape_str(&lb.ip),
            lb.lines,
            escape_str(&lb.first)
        );
    }
    Ok(Some(
        view.suggested_set_real_ip_from
            .iter()
            .filter_map(|ip| realip::net::inet::parse_ip(ip.as_bytes()))
            .collect(),
    ))
}

/// The configuration's access_log format that parses most of `lines` (the one bound to the
/// The configuration's access_log formats, the one bound to the log's file name first: the
/// candidates the scan job fits to the log's first lines (else it detects a built-in).
fn candidate_formats(cfg: &Config, bound: Option<&str>) -> Vec<Format> {
    let mut names: Vec<String> = bound.map(str::to_string).into_iter().collect();
    for l in access_logs(cfg) {
        if !names.contains(&l.format) {
            names.push(l.format);
        }
    }
    names.iter().filter_map(|n| format_named(cfg, n)).collect()
}

/// The settings to audit a log with: the server the log belongs to (or the first).
fn audit_settings(cfg: &Config, server: Option<&str>) -> RealipSettings {
    match effective(cfg, server, None) {
        Ok(s) => s,
        // The lint reports what made it fail; audit with what can be used.
        Err(_) => {
            let all = contexts(cfg);
            let pick = all
                .iter()
                .find(|s| {
                    s.location.is_none()
                        && s.server.is_some()
                        && (server.is_none() || s.server.as_deref() == server)
                })
                .or(all.first());
            match pick {
                Some(s) => s.clone(),
                None => RealipSettings::default(),
            }
        }
    }
}

fn print_snippet(args: SnippetArgs) -> anyhow::Result<ExitCode> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut specs = args.presets.clone();
    specs.extend(args.trust.specs().iter().cloned());
    let lb_list = args.lb.load()?;
    if let Some(list) = &lb_list {
        let global = list
            .alb_ips()
            .iter()
            .any(|a| a.rules.iter().any(|r| r.kind == LbKind::GlobalExternal));
        if global && !specs.iter().any(|s| s.trim() == presets::GCP.name) {
            messages::note("adding the gcp preset: global external Application LBs are reached through Google front ends");
            specs.insert(0, presets::GCP.name.to_string());
        }
    }
    let mut provenance = String::new();
    for path in &args.ranges_file {
        let list = realip::ranges::load(path, args.service.as_deref(), now)?;
        for w in &list.warnings {
            eprintln!(
                "realip: warning: {}: {}",
                escape_str(&path.display().to_string()),
                escape_str(w)
            );
        }
        specs.extend(list.trust_specs()?);
        let p = &list.provenance;
        provenance.push_str(&format!(
            "# From {} ({}{}{}{}): {} ranges.\n",
            escape_str(&p.source),
            p.provider.description(),
            p.service
                .as_deref()
                .map(|s| format!(", service {s}"))
                .unwrap_or_default(),
            p.created
                .as_deref()
                .map(|c| format!(", created {c}"))
                .unwrap_or_default(),
            p.sync_token
                .as_deref()
                .map(|t| format!(", sync token {t}"))
                .unwrap_or_default(),
            list.nets.len()
        ));
    }
    let (trusted, warnings) = TrustedSet::parse(&specs).context("--trust")?;
    for w in &warnings {
        eprintln!("realip: warning: {}", escape_str(&w.to_string()));
    }
    let header = Header::new(args.header.name()).context("--header")?;
    let recursive = args.recursion.recursive();
    let text = match &lb_list {
        Some(list) => snippet::render_with_lbs(&trusted, &header, recursive, list),
        None => snippet::render(&trusted, &header, recursive),
    };
    let mut out = io::stdout().lock();
    out.write_all(provenance.as_bytes())?;
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(ExitCode::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(severity: Severity) -> Finding {
        Finding {
            id: "x",
            severity,
            file: "a.conf".into(),
            line: 1,
            message: "m".into(),
            fix: None,
            remove: None,
        }
    }

    #[test]
    fn exit_codes_follow_the_worst_severity() {
        assert_eq!(exit_code(&[]), ExitCode::Ok);
        assert_eq!(exit_code(&[finding(Severity::Info)]), ExitCode::Ok);
        assert_eq!(
            exit_code(&[finding(Severity::Info), finding(Severity::Warning)]),
            ExitCode::Findings
        );
        assert_eq!(
            exit_code(&[finding(Severity::Warning), finding(Severity::Error)]),
            ExitCode::Error
        );
    }

    #[test]
    fn the_table_escapes_configuration_text_and_indents_fixes() {
        let mut f = finding(Severity::Warning);
        f.message = "bad \u{1b}[31m value".into();
        f.fix = Some("set_real_ip_from 1.2.3.4;\nset_real_ip_from 5.6.7.8;".into());
        let t = table(&[f]);
        assert!(!t.contains('\u{1b}'), "{t}");
        assert!(t.contains("a.conf:1: warning x: bad "), "{t}");
        assert!(
            t.contains("    fix: set_real_ip_from 1.2.3.4;\n         set_real_ip_from 5.6.7.8;\n")
        );
        assert!(t.ends_with("0 errors, 1 warning, 0 info\n"), "{t}");
    }

    #[test]
    fn lb_ips_are_read_leniently() {
        assert_eq!(
            parse_lb_ip(" 34.149.9.9 ").unwrap().to_string(),
            "34.149.9.9"
        );
        assert!(parse_lb_ip("lb.example").is_err());
    }
}
