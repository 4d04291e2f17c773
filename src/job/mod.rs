//! The scan job: everything `realip scan` does between its flags and its output, as a library
//! call.
//!
//! Owns: [`ScanJob`], a builder that takes inputs (paths, globs, `-`), a log format (or
//! detection), a trust source (declared, from nginx.conf, or the default), resolver and audit
//! options, summary options and an optional `--state` file, and produces a [`ScanReport`].
//! It opens the inputs (or, with a state file, only what was appended since the last run),
//! chooses the format (given, a `log_format` name from nginx.conf, the format of the
//! `access_log` that writes the file, or detected from the first lines), builds the audit,
//! runs the parallel scan and assembles the report. The same job serves the CLI, `nginx check
//! --log` and any library user.
//! Does not own: printing (the job returns [`Notice`]s and a report; `report` renders it and
//! the CLI writes it), exit codes, flags, `--check` semantics (`check`).
//!
//! ```no_run
//! use realip::job::{ScanJob, Trust};
//!
//! let prepared = ScanJob::new(["/var/log/nginx/access.log"])
//!     .trust(Trust::Declared(vec!["gcp".into(), "34.120.5.6".into()]))
//!     .prepare()?;
//! for notice in prepared.notices() {
//!     eprintln!("realip: {notice}");
//! }
//! let finished = prepared.run()?;
//! println!("{} lines, {} parsed", finished.report.lines, finished.report.parsed);
//! finished.commit()?; // moves a --state file forward; nothing without one
//! # Ok::<(), realip::Error>(())
//! ```

mod format;

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use crate::audit::{Audit, AuditConfig, TrustChoice};
use crate::error::Error;
use crate::escape::escape_str;
use crate::filter::Filter;
use crate::fold::Fold;
use crate::input::{self, Opened};
use crate::logfmt::{Field, Format, Plan};
use crate::merge::{MergeOptions, MergeState, MERGE_VERSION};
use crate::nginx::ast::Config;
use crate::report::{MetricsOptions, ScanReport};
use crate::resolve::{Header, NginxVersion, Resolver};
use crate::scan::{self, ScanInput, ScanOptions};
use crate::state::{self, Incremental};
use crate::summary::{SortBy, Summary, SummaryConfig, DEFAULT_PERCENTILES, MAX_BUCKETS};
use crate::timespec::TimeRange;
use crate::totals::Totals;
use crate::TrustedSet;

/// Where the audit's trust (and, from nginx.conf, header and recursion) comes from
/// (reported as `audit.trust_source`).
#[derive(Clone, Debug, Default)]
pub enum Trust {
    /// Nothing declared: nginx's trust is inferred from the log itself.
    #[default]
    Inferred,
    /// `--trust`: what the user says `set_real_ip_from` should hold (addresses, CIDRs,
    /// `unix:`, presets). An empty list means [`Inferred`](Trust::Inferred).
    Declared(Vec<String>),
    /// `--nginx-conf`: the realip settings of this configuration (or `nginx -T` dump), of the
    /// server named (default: the first); its `log_format`s also name formats.
    NginxConf {
        /// The configuration file.
        path: PathBuf,
        /// The `server_name` whose settings apply.
        server: Option<String>,
    },
    /// Realip settings the caller already read from a configuration, as a resolver (e.g.
    /// `nginx check --log`, which audits with the server the log belongs to).
    NginxSettings(Resolver),
}

/// How the resolver is built when the trust is not read from nginx.conf.
#[derive(Clone, Debug)]
pub struct ResolverOptions {
    /// The header nginx takes the client from (`real_ip_header`).
    pub header: String,
    /// `real_ip_recursive on`.
    pub recursive: bool,
    /// Reproduce this nginx version's rules (applies to nginx.conf trust too).
    pub nginx_version: Option<NginxVersion>,
}

impl Default for ResolverOptions {
    fn default() -> Self {
        ResolverOptions {
            header: "X-Forwarded-For".to_string(),
            recursive: true,
            nginx_version: None,
        }
    }
}

/// How the summary is built and shown.
#[derive(Clone, Debug)]
pub struct SummaryOptions {
    /// Group-by, route rules and the group bound.
    pub config: SummaryConfig,
    /// Percentiles to report (each between 0 and 100).
    pub percentiles: Vec<f64>,
    /// Groups shown; the rest are merged into "others".
    pub top: usize,
    /// Order of groups.
    pub sort: SortBy,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        SummaryOptions {
            config: SummaryConfig::default(),
            percentiles: DEFAULT_PERCENTILES.to_vec(),
            top: 20,
            sort: SortBy::Count,
        }
    }
}

/// Which parsed lines count: a time window and a filter expression. Lines left out are
/// counted in the report's `filtered`, and reach neither the summary nor the audit.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// `[since, until)`, seconds since the epoch; lines without a time are outside a set range.
    pub range: TimeRange,
    /// A `--filter` expression (see [`crate::filter`]).
    pub filter: Option<String>,
}

/// An incremental run: read only what was appended since the last run recorded in `path`.
#[derive(Clone, Debug)]
pub struct StateOptions {
    /// The state file.
    pub path: PathBuf,
    /// Read at most this many new bytes per log (the oldest are skipped, and reported).
    pub max_read: Option<u64>,
}

/// Something a person running the job should be told before the scan runs (the CLI writes
/// these to stderr as `realip: <notice>`, notes only when asked or on a terminal). Texts are
/// already escaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// Worth knowing, not a problem: the detected format, how nginx.conf's settings were
    /// read. The text carries its own lead (`log format: …`, `note: …`).
    Note(String),
    /// Probably a mistake: a questionable trust entry, a format detected from only some
    /// lines.
    Warning(String),
}

impl fmt::Display for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notice::Note(n) => f.write_str(n),
            Notice::Warning(w) => write!(f, "warning: {w}"),
        }
    }
}

/// A scan to run: build it with the setters, then [`prepare`](ScanJob::prepare) and
/// [`run`](PreparedScan::run).
#[derive(Clone, Debug)]
pub struct ScanJob {
    inputs: Vec<OsString>,
    format: format::Choice,
    trust: Trust,
    resolver: ResolverOptions,
    front_ends: Vec<String>,
    audit: bool,
    summary: Option<SummaryOptions>,
    state: Option<StateOptions>,
    scan: ScanOptions,
    metrics: MetricsOptions,
    selection: Selection,
    now: Option<u64>,
}

impl ScanJob {
    /// A job over these inputs (paths, globs, `-` for stdin; none means stdin), with the
    /// defaults of `realip scan`: format detected, default trust, audit and summary on.
    pub fn new<I, S>(inputs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        ScanJob {
            inputs: inputs.into_iter().map(Into::into).collect(),
            format: format::Choice::Text("auto".to_string()),
            trust: Trust::Inferred,
            resolver: ResolverOptions::default(),
            front_ends: Vec::new(),
            audit: true,
            summary: Some(SummaryOptions::default()),
            state: None,
            scan: ScanOptions::default(),
            metrics: MetricsOptions::default(),
            selection: Selection::default(),
            now: None,
        }
    }

    /// The log format: `auto` (detect), a built-in name, a `log_format` name from the
    /// nginx.conf trust source, or a template.
    pub fn log_format(mut self, format: impl Into<String>) -> Self {
        self.format = format::Choice::Text(format.into());
        self
    }

    /// Exactly this format, already chosen.
    pub fn format(mut self, format: Format) -> Self {
        self.format = format::Choice::Given(format);
        self
    }

    /// The candidate that parses most of the first lines of the first input (the earlier
    /// one on a tie), else the detected format: e.g. the formats of nginx.conf's
    /// `access_log`s, the one bound to the log's file name first.
    pub fn best_fit_format(mut self, candidates: Vec<Format>) -> Self {
        self.format = format::Choice::BestFit(candidates);
        self
    }

    /// Where the audit's trust comes from.
    pub fn trust(mut self, trust: Trust) -> Self {
        self.trust = trust;
        self
    }

    /// Header, recursion and nginx version of the resolver.
    pub fn resolver(mut self, options: ResolverOptions) -> Self {
        self.resolver = options;
        self
    }

    /// Front ends that append `<client>,<lb-ip>` (default: the `gcp` preset).
    pub fn front_ends(mut self, specs: Vec<String>) -> Self {
        self.front_ends = specs;
        self
    }

    /// Whether to audit (default: yes).
    pub fn audit(mut self, on: bool) -> Self {
        self.audit = on;
        self
    }

    /// The summary, or `None` to skip it.
    pub fn summary(mut self, options: Option<SummaryOptions>) -> Self {
        self.summary = options;
        self
    }

    /// Make the run incremental, following `state`.
    pub fn state(mut self, state: Option<StateOptions>) -> Self {
        self.state = state;
        self
    }

    /// Threads, chunk and block sizes, line limit, samples.
    pub fn scan_options(mut self, options: ScanOptions) -> Self {
        self.scan = options;
        self
    }

    /// How metrics outputs (Prometheus, Mackerel) render the report.
    pub fn metrics(mut self, options: MetricsOptions) -> Self {
        self.metrics = options;
        self
    }

    /// Which lines count: a time window and a filter.
    pub fn select(mut self, selection: Selection) -> Self {
        self.selection = selection;
        self
    }

    /// The time of the run, seconds since the epoch (default: now).
    pub fn now(mut self, epoch: u64) -> Self {
        self.now = Some(epoch);
        self
    }

    /// Checks the options, opens the inputs (or begins the incremental run, taking the state
    /// lock), chooses the format and builds the audit. Inputs that cannot be opened are
    /// recorded as report errors, not returned as `Err`.
    pub fn prepare(self) -> Result<PreparedScan, Error> {
        if let Some(s) = &self.summary {
            if let Some(p) = s
                .percentiles
                .iter()
                .find(|p| !(0.0..=100.0).contains(*p) || p.is_nan())
            {
                return Err(Error::option(
                    "--percentiles",
                    format!("{p}: not between 0 and 100"),
                ));
            }
        }
        let nginx_cfg = match &self.trust {
            Trust::NginxConf { path, .. } => Some(crate::nginx::load(path)?),
            _ => None,
        };
        let now = self.now.unwrap_or_else(epoch_now);
        let mut opened = self.open_inputs(now)?;
        let mut notices = Vec::new();
        // Lines lost in a rotation need a human: a warning on stderr (unless -q), not only
        // a line in the report.
        for s in opened
            .incremental
            .iter()
            .flat_map(|i| i.skipped.iter())
            .filter(|s| s.lost)
        {
            notices.push(Notice::Warning(escape_str(&skip_text(s)).into_owned()));
        }
        let detected = matches!(&self.format, format::Choice::Text(t) if t == "auto");
        let format = format::choose(
            &mut opened.inputs,
            &self.inputs,
            &self.format,
            nginx_cfg.as_ref(),
            &mut notices,
        )?;
        let plan = Plan::compile(&format).map_err(|e| Error::context("--log-format", e))?;
        if detected {
            notices.push(Notice::Note(format!(
                "log format: {} (detected; use --log-format to choose)",
                format.name()
            )));
        }
        let (audit, audit_note) = self.audit_config(&plan, nginx_cfg.as_ref(), &mut notices)?;
        // Only an audit that judges by a declared or nginx.conf trust applies the version's
        // rules; an inferred one ignores it, and recording it would make `merge` warn about
        // rules that were never used.
        let nginx_version = self
            .resolver
            .nginx_version
            .filter(|_| audit.as_ref().is_some_and(|a| a.declared().is_some()));
        let routes = self
            .summary
            .as_ref()
            .map(|s| s.config.routes.clone())
            .unwrap_or_default();
        let filter = self
            .selection
            .filter
            .as_deref()
            .map(|f| Filter::parse(f, routes))
            .transpose()?;
        let bucket = self.summary.as_ref().and_then(|s| s.config.bucket);
        check_fields(
            &plan,
            bucket.is_some(),
            self.selection.range.is_set(),
            filter.as_ref(),
        )?;
        let selection = self.selection;
        let samples = self.scan.samples;
        let summary = self
            .summary
            .map(|s| (Arc::new(s.config.clone()), s))
            .map(|(config, s)| (config, s.percentiles, s.top, s.sort));
        Ok(PreparedScan {
            opened,
            format,
            detected,
            plan,
            audit,
            audit_note,
            summary,
            scan: self.scan,
            metrics: self.metrics,
            selection,
            filter,
            samples,
            notices,
            now,
            nginx_version,
        })
    }

    /// Opens every input; unreadable ones become report errors. With a state file, only what
    /// was appended since the last run is opened.
    fn open_inputs(&self, now: u64) -> Result<OpenedInputs, Error> {
        let sources = input::expand_inputs(&self.inputs)?;
        let mut out = OpenedInputs::default();
        let Some(st) = &self.state else {
            for src in &sources {
                match input::open(src) {
                    Ok(o) => out.inputs.push(ScanInput::new(src.name(), o)),
                    Err(e) => out.errors.push(e.to_string()),
                }
            }
            return out.or_nothing_readable();
        };
        let mut paths = Vec::new();
        for s in sources {
            match s {
                input::Source::Path(p) => paths.push(p),
                input::Source::Stdin => {
                    return Err(Error::option("--state", "needs log files, not stdin"))
                }
            }
        }
        let inc = state::begin(&st.path, &paths, st.max_read, now)?;
        for piece in &inc.pieces {
            // Through the handle `begin` checked: the path may have been rotated since.
            match piece.scan_input() {
                Ok(i) => out.inputs.push(i),
                Err(e) => out.errors.push(e.to_string()),
            }
        }
        let mut notes: Vec<String> = inc.skipped.iter().map(skip_text).collect();
        notes.extend(inc.notes.iter().cloned());
        out.state_notes = Some(notes);
        out.incremental = Some(inc);
        out.or_nothing_readable()
    }

    /// The trust the audit judges by, with a note saying where it came from.
    fn audit_trust(
        &self,
        nginx_cfg: Option<&Config>,
        notices: &mut Vec<Notice>,
    ) -> Result<(TrustChoice, Option<String>), Error> {
        let version = self.resolver.nginx_version;
        let with_version = |r: Resolver| match version {
            Some(v) => r.with_nginx_version(v),
            None => r,
        };
        Ok(match (&self.trust, nginx_cfg) {
            (Trust::NginxSettings(r), _) => (TrustChoice::NginxConf(with_version(r.clone())), None),
            (Trust::NginxConf { path, server }, Some(cfg)) => {
                let settings = crate::nginx::realip::effective(cfg, server.as_deref(), None)?;
                for n in &settings.notes {
                    notices.push(Notice::Note(format!("note: {}", escape_str(n))));
                }
                if !settings.active() {
                    notices.push(Notice::Warning(
                        "no set_real_ip_from applies there: nginx's realip is inactive and \
                         every address stays the peer"
                            .to_string(),
                    ));
                }
                let note = format!("checked against {}", path.display());
                (
                    TrustChoice::NginxConf(with_version(settings.resolver())),
                    Some(note),
                )
            }
            (Trust::Declared(specs), _) if !specs.is_empty() => {
                let (trusted, warnings) = TrustedSet::parse(specs)?;
                for w in &warnings {
                    notices.push(Notice::Warning(escape_str(&w.to_string()).into_owned()));
                }
                let header = Header::new(&self.resolver.header)?;
                let r = Resolver::new(trusted, header, self.resolver.recursive);
                (TrustChoice::Declared(with_version(r)), None)
            }
            _ => {
                if !self.resolver.recursive || version.is_some() {
                    notices.push(Notice::Warning(
                        "--no-recursive and --nginx-version describe a declared trust; without \
                         --trust or --nginx-conf the trust, recursion included, is read from the \
                         log"
                        .to_string(),
                    ));
                }
                (
                    TrustChoice::Inferred(Header::new(&self.resolver.header)?),
                    None,
                )
            }
        })
    }

    /// Builds the audit configuration, or says why there is no audit.
    fn audit_config(
        &self,
        plan: &Plan,
        nginx_cfg: Option<&Config>,
        notices: &mut Vec<Notice>,
    ) -> Result<(Option<Arc<AuditConfig>>, Option<String>), Error> {
        if !self.audit {
            return Ok((None, None));
        }
        let (trust, note) = self.audit_trust(nginx_cfg, notices)?;
        let front_ends = crate::audit::front_ends(&self.front_ends)
            .map_err(|e| Error::context("--front-end", e))?;
        let fields: Vec<Field> = plan.fields().collect();
        match AuditConfig::for_log(trust, front_ends, &fields) {
            Ok(config) => Ok((Some(Arc::new(config)), note)),
            Err(skip) => Ok((None, Some(format!("skipped: {skip}")))),
        }
    }
}

/// Refuses selections the log format cannot answer: times without a time field, filters on
/// fields the format does not have (every line would be filtered out).
fn check_fields(
    plan: &Plan,
    bucket: bool,
    range: bool,
    filter: Option<&Filter>,
) -> Result<(), Error> {
    let fields: Vec<Field> = plan.fields().collect();
    let timed = [Field::TimeLocal, Field::TimeIso8601, Field::Msec]
        .iter()
        .any(|f| fields.contains(f));
    if (bucket || range) && !timed {
        return Err(Error::option(
            if bucket {
                "--bucket"
            } else {
                "--since/--until"
            },
            "needs the time of each request, but the log format has no $time_local, \
             $time_iso8601 or $msec",
        ));
    }
    if let Some(f) = filter {
        for ff in f.fields() {
            if !ff.needs().iter().any(|n| fields.contains(n)) {
                let names: Vec<String> = ff
                    .needs()
                    .iter()
                    .map(|n| format!("${}", n.name()))
                    .collect();
                return Err(Error::option(
                    "--filter",
                    format!(
                        "reads {}, but the log format has none of {}: every line would be \
                         filtered out",
                        ff.name(),
                        names.join(", ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn epoch_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The inputs of a run, opened.
#[derive(Default)]
struct OpenedInputs {
    inputs: Vec<ScanInput>,
    /// Inputs that could not be opened, as messages.
    errors: Vec<String>,
    /// With a state file: what this run reads and will write.
    incremental: Option<Incremental>,
    /// With a state file: rotations followed, bytes skipped.
    state_notes: Option<Vec<String>>,
}

impl OpenedInputs {
    /// Nothing could be read: an error, not a report of zeros.
    fn or_nothing_readable(self) -> Result<Self, Error> {
        if self.inputs.is_empty() && !self.errors.is_empty() {
            return Err(Error::NothingReadable {
                errors: escape_str(&self.errors.join("; ")).into_owned(),
            });
        }
        Ok(self)
    }
}

/// A job whose inputs are open and whose format and audit are decided; [`run`](Self::run)
/// scans.
pub struct PreparedScan {
    opened: OpenedInputs,
    format: Format,
    detected: bool,
    plan: Plan,
    audit: Option<Arc<AuditConfig>>,
    audit_note: Option<String>,
    summary: Option<SummaryPlan>,
    scan: ScanOptions,
    metrics: MetricsOptions,
    selection: Selection,
    filter: Option<Filter>,
    samples: usize,
    notices: Vec<Notice>,
    now: u64,
    /// Recorded in the mergeable state, so that `merge` tells audits made under other rules.
    nginx_version: Option<NginxVersion>,
}

impl PreparedScan {
    /// What to tell a person before the scan runs, in order.
    pub fn notices(&self) -> &[Notice] {
        &self.notices
    }

    /// The format the scan will use.
    pub fn format(&self) -> &Format {
        &self.format
    }

    /// Bytes of the plain-file inputs (streams count 0), e.g. to size a progress bar.
    pub fn total_bytes(&self) -> u64 {
        self.opened
            .inputs
            .iter()
            .map(|i| match &i.opened {
                Opened::Plain { start, end, .. } => end.saturating_sub(*start),
                Opened::Stream(_) => 0,
            })
            .sum()
    }

    /// Count bytes read into `counter` (updated once per block), for a progress bar.
    pub fn progress(&mut self, counter: Arc<AtomicU64>) {
        self.scan.progress = Some(counter);
    }

    /// Scans every input once, summary and audit in the same pass, and assembles the report.
    /// Read errors are report errors; only a thread-pool failure is an `Err`.
    pub fn run(self) -> Result<FinishedScan, Error> {
        let PreparedScan {
            opened,
            format,
            detected,
            plan,
            audit,
            audit_note,
            summary,
            scan: opts,
            metrics,
            selection,
            filter,
            samples,
            notices: _,
            now,
            nginx_version,
        } = self;
        let bucket = summary.as_ref().and_then(|(c, ..)| c.bucket);
        let scanned = scan::scan(opened.inputs, &plan, &opts, || {
            Fold::new(
                summary.as_ref().map(|(c, ..)| Summary::new(Arc::clone(c))),
                audit.as_ref().map(|c| Audit::new(c)),
                filter.as_ref().map(Filter::matcher),
                selection.range,
                bucket.is_some(),
            )
        })?;
        let mut errors = opened.errors;
        errors.extend(scanned.errors.iter().map(ToString::to_string));
        let locate = |at| {
            let (name, line) = scanned.locate(at);
            format!("{name}:{line}")
        };
        let (sum, aud) = (&scanned.acc.summary, &scanned.acc.audit);
        check_series_length(sum.as_ref(), bucket)?;
        let mergeable = MergeState {
            version: MERGE_VERSION,
            options: merge_options(summary.as_ref(), &selection, audit.as_ref(), samples),
            summary: sum.as_ref().map(Summary::state),
            audit: aud
                .as_ref()
                .map(|a| a.state(|at| (at.file, scanned.locate(at).1))),
            nginx_version: nginx_version.map(|v| v.to_string()),
        };
        let report = ScanReport {
            inputs: scanned.names.clone(),
            format: format.name().to_string(),
            format_detected: detected,
            lines: scanned.lines,
            parsed: scanned.parsed,
            malformed: scanned.malformed.count(),
            samples: scanned.samples.clone(),
            errors,
            summary: sum
                .as_ref()
                .zip(summary.as_ref())
                .map(|(s, (_, p, top, sort))| s.view(p, *top, *sort)),
            audit: aud.as_ref().map(|a| a.view(locate)),
            audit_note,
            state_notes: opened.state_notes,
            window_seconds: opened
                .incremental
                .as_ref()
                .and_then(|i| i.window.as_ref().map(|w| w.seconds)),
            epoch: now,
            totals: None,
            metrics,
            filtered: scanned.acc.filtered,
            mergeable: serde_json::to_value(&mergeable).ok(),
        };
        let mut finished = FinishedScan {
            report,
            incremental: opened.incremental,
        };
        finished.add_to_totals(now);
        Ok(finished)
    }
}

/// The summary of a scan to come: its config, percentiles, `--top` and sort order.
type SummaryPlan = (Arc<SummaryConfig>, Vec<f64>, usize, SortBy);

/// Refuses a time series with more than [`MAX_BUCKETS`] buckets of `bucket` seconds.
fn check_series_length(summary: Option<&Summary>, bucket: Option<u64>) -> Result<(), Error> {
    if let (Some(s), Some(width)) = (summary, bucket) {
        if let Some(n) = s.series_too_long() {
            return Err(Error::option(
                "--bucket",
                format!(
                    "{} gives {n} buckets between the first and the last request (at most \
                     {MAX_BUCKETS}): use a larger --bucket, or --since/--until",
                    crate::report::text::duration(width)
                ),
            ));
        }
    }
    Ok(())
}

/// The options a report is made with, as recorded in its mergeable state (`merge` refuses
/// parts whose options differ).
fn merge_options(
    summary: Option<&SummaryPlan>,
    selection: &Selection,
    audit: Option<&Arc<AuditConfig>>,
    samples: usize,
) -> MergeOptions {
    MergeOptions {
        percentiles: summary.map(|(_, p, ..)| p.clone()).unwrap_or_default(),
        group_by: summary.and_then(|(c, ..)| crate::summary::group_by_name(&c.group_by)),
        routes: summary
            .map(|(c, ..)| {
                c.routes
                    .iter()
                    .map(|r| format!("{}={}", r.regex.as_str(), r.name))
                    .collect()
            })
            .unwrap_or_default(),
        max_groups: summary.map_or(0, |(c, ..)| c.max_groups),
        buckets_us: summary
            .map(|(c, ..)| c.buckets_us.to_vec())
            .unwrap_or_default(),
        bucket: summary.and_then(|(c, ..)| c.bucket),
        filter: selection.filter.clone(),
        since: selection.range.since,
        until: selection.range.until,
        audit: audit.map(|c| c.options()),
        samples,
        top: summary.map_or(0, |(_, _, top, _)| *top),
        sort: summary
            .map_or("count", |(.., sort)| sort.name())
            .to_string(),
    }
}

/// A finished scan: the report, and (for an incremental run) the state still to commit.
#[derive(Debug)]
pub struct FinishedScan {
    /// The report.
    pub report: ScanReport,
    incremental: Option<Incremental>,
}

impl FinishedScan {
    /// Under a state file, counters add up across runs: this run is added to the stored
    /// totals, which are committed with the offsets.
    fn add_to_totals(&mut self, now: u64) {
        let Some(inc) = self.incremental.as_mut() else {
            return;
        };
        let r = &mut self.report;
        let mut totals = inc.totals().cloned().unwrap_or_else(|| Totals::new(now));
        totals.add_run(
            r.lines,
            r.parsed,
            r.malformed,
            r.summary.as_ref(),
            r.audit.as_ref(),
        );
        inc.set_totals(totals.clone());
        r.totals = Some(totals);
    }

    /// For an incremental run: what was read, skipped or lost, and when the previous run was.
    pub fn incremental(&self) -> Option<&Incremental> {
        self.incremental.as_ref()
    }

    /// Moves the state file forward (incremental runs; nothing otherwise), unless an input
    /// could not be read: a failed run is read again next time. Call it once the report is
    /// out.
    pub fn commit(self) -> Result<(), Error> {
        match self.incremental {
            Some(inc) if self.report.errors.is_empty() => inc.commit(),
            _ => Ok(()),
        }
    }
}

/// One skipped or lost range in words: never "0 bytes" for lines lost in a rotation.
fn skip_text(s: &crate::state::Skipped) -> String {
    if s.lost && s.bytes == 0 {
        format!(
            "lost lines of {} (how many is unknown): {}",
            s.name, s.reason
        )
    } else if s.lost {
        format!("lost {} bytes of {}: {}", s.bytes, s.name, s.reason)
    } else {
        format!("skipped {} bytes of {}: {}", s.bytes, s.name, s.reason)
    }
}
