//! Exact merging of scan reports made on many hosts (`realip merge`) and comparing two of them
//! (`realip diff`).
//!
//! Owns: [`MergeState`], what `scan --output json` writes under the top-level key
//! [`MERGEABLE_KEY`] (`mergeable`): the options that shaped the numbers and the full
//! summary state (every group, every HDR histogram as base64 of hdrhistogram's V2
//! serialisation); [`merge`], which combines any number of reports into the report of the
//! whole, identical to scanning every part's inputs in one run; and [`diff`].
//! Does not own: the states themselves (`summary`), reading files (the CLI), rendering
//! (`report`).

use std::collections::HashMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::audit::{Audit, AuditConfig, AuditOptions, AuditState, AuditView};
use crate::escape::escape_str;
use crate::report::ScanReport;
use crate::resolve::NginxVersion;
use crate::scan::Sample;
use crate::summary::{Diff, RouteRule, SortBy, Summary, SummaryConfig, SummaryState};
use crate::Error;

/// The top-level JSON key holding a report's [`MergeState`].
pub const MERGEABLE_KEY: &str = "mergeable";

/// The version of [`MergeState`] this realip writes and reads.
pub const MERGE_VERSION: u32 = 1;

/// The key, beside `options` in [`MERGEABLE_KEY`], naming the `--nginx-version` whose realip
/// rules the audit reproduced; absent without `--nginx-version` (the newest rules).
pub const NGINX_VERSION_KEY: &str = "nginx_version";

/// Everything in a scan that decides its numbers; reports merge only when these are equal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MergeOptions {
    /// `--percentiles`.
    pub percentiles: Vec<f64>,
    /// `--group-by`, by name.
    pub group_by: Option<String>,
    /// `--route` rules as given.
    pub routes: Vec<String>,
    /// `--max-groups`.
    pub max_groups: usize,
    /// `--buckets` (Prometheus histogram bounds), microseconds.
    pub buckets_us: Vec<u64>,
    /// `--bucket`, seconds.
    pub bucket: Option<u64>,
    /// `--filter`, as given.
    pub filter: Option<String>,
    /// `--since`, seconds since the epoch.
    pub since: Option<i64>,
    /// `--until`, seconds since the epoch.
    pub until: Option<i64>,
    /// The audit's trust, header, recursion and front ends; `None` without an audit.
    pub audit: Option<AuditOptions>,
    /// `--samples` (malformed lines kept).
    pub samples: usize,
    /// `--top` (groups shown; the first report's value is used).
    pub top: usize,
    /// `--sort` (the first report's value is used).
    pub sort: String,
}

impl MergeOptions {
    /// The [`SummaryConfig`] these options describe.
    pub fn summary_config(&self) -> Result<SummaryConfig, String> {
        let group_by = match self.group_by.as_deref() {
            None => Vec::new(),
            Some(list) => crate::summary::group_by_parse(list)
                .ok_or_else(|| format!("unknown group-by {list:?}"))?,
        };
        let routes = self
            .routes
            .iter()
            .map(|r| RouteRule::parse(r).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SummaryConfig {
            group_by,
            routes,
            max_groups: self.max_groups,
            buckets_us: self.buckets_us.clone().into(),
            bucket: self.bucket,
        })
    }

    /// `sort` as a [`SortBy`].
    pub fn sort_by(&self) -> SortBy {
        match self.sort.as_str() {
            "sum" => SortBy::Sum,
            "p99" => SortBy::P99,
            _ => SortBy::Count,
        }
    }

    /// The first option that differs from `other`, with both values, for an error message.
    fn difference(&self, other: &MergeOptions) -> Option<(&'static str, String, String)> {
        let show = |v: &dyn std::fmt::Debug| format!("{v:?}");
        let pairs: [(&'static str, String, String); 10] = [
            (
                "--percentiles",
                show(&self.percentiles),
                show(&other.percentiles),
            ),
            ("--group-by", show(&self.group_by), show(&other.group_by)),
            ("--route", show(&self.routes), show(&other.routes)),
            (
                "--max-groups",
                show(&self.max_groups),
                show(&other.max_groups),
            ),
            ("--buckets", show(&self.buckets_us), show(&other.buckets_us)),
            ("--bucket", show(&self.bucket), show(&other.bucket)),
            ("--filter", show(&self.filter), show(&other.filter)),
            ("--since", show(&self.since), show(&other.since)),
            ("--until", show(&self.until), show(&other.until)),
            ("--samples", show(&self.samples), show(&other.samples)),
        ];
        if let Some(d) = pairs.into_iter().find(|(_, a, b)| a != b) {
            return Some(d);
        }
        audit_difference(self.audit.as_ref(), other.audit.as_ref())
    }
}

/// The first audit option that differs, named by the flag (or fact) that sets it.
fn audit_difference(
    a: Option<&AuditOptions>,
    b: Option<&AuditOptions>,
) -> Option<(&'static str, String, String)> {
    let (a, b) = match (a, b) {
        (Some(a), Some(b)) => (a, b),
        (None, None) => return None,
        _ => {
            let show = |v: Option<&AuditOptions>| {
                if v.is_some() { "an audit" } else { "no audit" }.to_string()
            };
            return Some((
                "the audit (--no-audit, or a log format without the addresses)",
                show(a),
                show(b),
            ));
        }
    };
    let list = |v: &[String]| {
        if v.is_empty() {
            "(none)".to_string()
        } else {
            v.join(",")
        }
    };
    let pairs: [(&'static str, String, String); 9] = [
        (
            "where the audit's trust comes from (inferred from the log, --trust or \
             --lb-ips-from, --nginx-conf)",
            a.trust_source.clone(),
            b.trust_source.clone(),
        ),
        (
            "the audit's trust (--trust, --lb-ips-from, --nginx-conf)",
            list(&a.trust),
            list(&b.trust),
        ),
        ("--header", a.header.clone(), b.header.clone()),
        (
            "--recursive/--no-recursive",
            a.recursive.to_string(),
            b.recursive.to_string(),
        ),
        ("--front-end", list(&a.front_ends), list(&b.front_ends)),
        (
            "whether the log has $realip_remote_addr (the log format)",
            a.peer_logged.to_string(),
            b.peer_logged.to_string(),
        ),
        (
            "the audit's samples kept per finding",
            a.samples.to_string(),
            b.samples.to_string(),
        ),
        (
            "the audit's spoofed values kept",
            a.max_spoof_values.to_string(),
            b.max_spoof_values.to_string(),
        ),
        (
            "the audit's addresses kept",
            a.max_addresses.to_string(),
            b.max_addresses.to_string(),
        ),
    ];
    pairs.into_iter().find(|(_, x, y)| x != y).or_else(|| {
        // Fields not listed above (front-end names in words): refuse all the same.
        (a != b).then(|| ("the audit's options", format!("{a:?}"), format!("{b:?}")))
    })
}

/// What a JSON report carries so that reports merge exactly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MergeState {
    /// [`MERGE_VERSION`].
    pub version: u32,
    /// The options the numbers depend on.
    pub options: MergeOptions,
    /// The summary in full (absent with `--no-summary`).
    pub summary: Option<SummaryState>,
    /// The audit in full (absent without an audit); sample positions are `[input index,
    /// line]`, the index into the report's `inputs`.
    pub audit: Option<AuditState>,
    /// [`NGINX_VERSION_KEY`]: the nginx version whose realip rules the audit reproduced
    /// (`--nginx-version`, as [`NginxVersion`] displays it), so that [`merge`] can tell
    /// audits made under other rules; absent without one (the newest rules). Written by the
    /// scan job ([`crate::job`]) and by [`merge`] when every part agrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nginx_version: Option<String>,
}

/// One report to merge: its file name (for errors) and its parsed JSON.
#[derive(Clone, Debug)]
pub struct Part {
    /// The file, as given.
    pub name: String,
    /// The JSON document.
    pub json: Value,
}

fn bad(part: &Part, reason: impl Into<String>) -> Error {
    Error::Merge {
        file: escape_str(&part.name).into_owned(),
        reason: reason.into(),
    }
}

fn state_of(part: &Part) -> Result<MergeState, Error> {
    let Some(v) = part.json.get(MERGEABLE_KEY) else {
        return Err(bad(
            part,
            format!(
                "no \"{MERGEABLE_KEY}\" key: not a report of 'realip scan --output json' (or one \
                 from a realip too old to merge)"
            ),
        ));
    };
    let version = v.get("version").and_then(Value::as_u64);
    if version != Some(u64::from(MERGE_VERSION)) {
        return Err(bad(
            part,
            format!(
                "\"{MERGEABLE_KEY}\" has version {}; this realip reads version {MERGE_VERSION}",
                version.map_or("(none)".to_string(), |v| v.to_string())
            ),
        ));
    }
    MergeState::deserialize(v).map_err(|e| bad(part, format!("\"{MERGEABLE_KEY}\": {e}")))
}

fn u64_at(part: &Part, pointer: &str) -> Result<u64, Error> {
    part.json
        .pointer(pointer)
        .and_then(Value::as_u64)
        .ok_or_else(|| bad(part, format!("missing number at {pointer}")))
}

fn strings_at(part: &Part, key: &str) -> Result<Vec<String>, Error> {
    match part.json.get(key) {
        None => Ok(Vec::new()),
        Some(v) => Vec::<String>::deserialize(v).map_err(|e| bad(part, format!("\"{key}\": {e}"))),
    }
}

/// Reads the options and summaries of `parts`, refusing any that differ from the first.
fn states(parts: &[Part]) -> Result<Vec<MergeState>, Error> {
    let mut out: Vec<MergeState> = Vec::with_capacity(parts.len());
    for p in parts {
        let st = state_of(p)?;
        if let Some(first) = out.first() {
            if let Some((what, a, b)) = first.options.difference(&st.options) {
                return Err(bad(
                    p,
                    format!(
                        "made with other options than {}: {what} is {} there and {} here; \
                         reports merge only when made with the same options",
                        escape_str(&parts[0].name),
                        escape_str(&a),
                        escape_str(&b)
                    ),
                ));
            }
            if first.summary.is_some() != st.summary.is_some() {
                return Err(bad(
                    p,
                    format!(
                        "one of this report and {} was made with --no-summary",
                        escape_str(&parts[0].name)
                    ),
                ));
            }
        }
        out.push(st);
    }
    Ok(out)
}

/// The nginx version a part's audit reproduced; `None` without `--nginx-version`.
fn nginx_version_of(part: &Part) -> Result<Option<NginxVersion>, Error> {
    let key = format!("\"{MERGEABLE_KEY}.{NGINX_VERSION_KEY}\"");
    match part
        .json
        .get(MERGEABLE_KEY)
        .and_then(|m| m.get(NGINX_VERSION_KEY))
    {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => NginxVersion::parse(text)
            .map(Some)
            .map_err(|e| bad(part, format!("{key}: {e}"))),
        Some(_) => Err(bad(part, format!("{key} is not a string"))),
    }
}

/// Whether an audit under `version` (`None`: the newest rules) reads `[addr]` without a port
/// as an address: the one realip rule that changed between nginx versions.
fn brackets_without_port(version: Option<NginxVersion>) -> bool {
    version.is_none_or(NginxVersion::brackets_without_port)
}

fn rules_of(version: Option<NginxVersion>) -> String {
    match version {
        Some(v) => format!("nginx {v}"),
        None => "the newest nginx (no --nginx-version)".to_string(),
    }
}

/// A warning when the audits of `parts` reproduced realip rules that differ: each audit is
/// right for its own nginx (a fleet may run several versions), so they are added up, but the
/// reader should know.
fn nginx_rules_warning(parts: &[Part], versions: &[Option<NginxVersion>]) -> Option<String> {
    let first = *versions.first()?;
    let (i, other) = versions
        .iter()
        .enumerate()
        .find(|(_, v)| brackets_without_port(**v) != brackets_without_port(first))?;
    Some(format!(
        "{} was audited with the realip rules of {} and {} with those of {}, which differ: \
         `[addr]` without a port in the header is an address from nginx 1.27.3 on, and invalid \
         before; each audit is right for its own nginx, and the merged audit adds them up",
        escape_str(&parts[0].name),
        rules_of(first),
        escape_str(&parts[i].name),
        rules_of(*other)
    ))
}

/// The forwarding-rule names (`--lb-ips-from`) that the parts' audits give their addresses,
/// united over the parts in the order they first appear.
fn lb_rule_names(parts: &[Part]) -> HashMap<String, Vec<String>> {
    let mut names: HashMap<String, Vec<String>> = HashMap::new();
    let lists = [
        ("/audit/unresolved_lb_ips", "ip"),
        ("/audit/trusted_lb_ips", "ip"),
        ("/audit/misresolutions", "address"),
    ];
    for p in parts {
        for (list, key) in lists {
            let Some(items) = p.json.pointer(list).and_then(Value::as_array) else {
                continue;
            };
            for item in items {
                let address = item.get(key).and_then(Value::as_str);
                let rules = item.get("rules").and_then(Value::as_array);
                let (Some(address), Some(rules)) = (address, rules) else {
                    continue;
                };
                let known = names.entry(address.to_string()).or_default();
                for r in rules.iter().filter_map(Value::as_str) {
                    if !known.iter().any(|k| k == r) {
                        known.push(r.to_string());
                    }
                }
            }
        }
    }
    names
}

/// A merged report, and what a person should be told about it.
#[derive(Clone, Debug)]
pub struct Merged {
    /// The report of the whole.
    pub report: ScanReport,
    /// Warnings (already escaped): the parts merged, but differ in a way the reader should
    /// know (their audits reproduced different nginx versions' rules).
    pub warnings: Vec<String>,
}

/// Merges the summaries of `states` (all made with the same options).
fn merged_summary(states: &[MergeState], parts: &[Part]) -> Result<Option<Summary>, Error> {
    let Some(first) = states.first() else {
        return Ok(None);
    };
    let config = Arc::new(
        first
            .options
            .summary_config()
            .map_err(|e| bad(&parts[0], e))?,
    );
    let mut total: Option<Summary> = None;
    for (st, part) in states.iter().zip(parts) {
        let Some(s) = &st.summary else { continue };
        let s = Summary::from_state(Arc::clone(&config), s).map_err(|e| bad(part, e))?;
        match &mut total {
            Some(t) => *t += &s,
            None => total = Some(s),
        }
    }
    Ok(total)
}

/// The counts, inputs, errors and samples of the parts, added up in order.
struct Counts {
    inputs: Vec<String>,
    errors: Vec<String>,
    samples: Vec<Sample>,
    lines: u64,
    parsed: u64,
    malformed: u64,
    filtered: u64,
    /// The parts' log format names, each once, in the order they first appear.
    formats: Vec<String>,
    /// Whether every part's format was detected.
    detected: bool,
}

impl Counts {
    /// Adds up the parts' counts and lists; malformed samples are not cut here.
    fn of(parts: &[Part]) -> Result<Self, Error> {
        let mut t = Counts {
            inputs: Vec::new(),
            errors: Vec::new(),
            samples: Vec::new(),
            lines: 0,
            parsed: 0,
            malformed: 0,
            filtered: 0,
            formats: Vec::new(),
            detected: true,
        };
        for p in parts {
            t.inputs.extend(strings_at(p, "inputs")?);
            t.errors.extend(strings_at(p, "errors")?);
            t.lines += u64_at(p, "/lines")?;
            t.parsed += u64_at(p, "/parsed")?;
            t.malformed += u64_at(p, "/malformed/count")?;
            t.filtered += p.json.get("filtered").and_then(Value::as_u64).unwrap_or(0);
            if let Some(list) = p.json.pointer("/malformed/samples") {
                let mut s = Vec::<Sample>::deserialize(list)
                    .map_err(|e| bad(p, format!("malformed.samples: {e}")))?;
                t.samples.append(&mut s);
            }
            let name = p
                .json
                .pointer("/format/name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            if !t.formats.contains(&name) {
                t.formats.push(name);
            }
            t.detected &= p
                .json
                .pointer("/format/detected")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        }
        Ok(t)
    }
}

/// Merges the audit states of `states` under `config`, each part's input numbers shifted
/// past the inputs of the parts before it.
fn merged_audit<'c>(
    config: &'c AuditConfig,
    states: &[MergeState],
    parts: &[Part],
) -> Result<Option<Audit<'c>>, Error> {
    let mut audit: Option<Audit<'c>> = None;
    let mut offset = 0u32;
    for (st, p) in states.iter().zip(parts) {
        let n = u32::try_from(strings_at(p, "inputs")?.len()).unwrap_or(u32::MAX);
        if let Some(a) = &st.audit {
            let a = Audit::from_state(config, a, offset).map_err(|e| bad(p, e))?;
            match &mut audit {
                Some(t) => t.merge(a),
                None => audit = Some(a),
            }
        } else {
            return Err(bad(
                p,
                "the audit options are there but the audit state is not",
            ));
        }
        offset = offset.saturating_add(n);
    }
    Ok(audit)
}

/// The merged audit's view: samples located in the merged inputs, LB IPs named after the
/// parts' forwarding rules.
fn merged_audit_view(audit: &Audit<'_>, inputs: &[String], parts: &[Part]) -> AuditView {
    let locate = |at: crate::scan::LineAt| {
        let name = inputs.get(at.file as usize).map_or("?", String::as_str);
        format!("{name}:{}", at.line + 1)
    };
    let mut view = audit.view(locate);
    let names = lb_rule_names(parts);
    if !names.is_empty() {
        view.name_lb_rules(|ip| names.get(ip).cloned().unwrap_or_default());
    }
    view
}

/// The nginx version every part's audit reproduced, when they all name the same one.
fn agreed_version(versions: &[Option<NginxVersion>]) -> Option<String> {
    match versions.first() {
        Some(&Some(v)) if versions.iter().all(|w| *w == Some(v)) => Some(v.to_string()),
        _ => None,
    }
}

/// Merges reports of `realip scan --output json` into the report of the whole: counts,
/// status, every group and every percentile as if one run had scanned every part's inputs in
/// order. Refuses reports made with different options; the forwarding-rule names of
/// `--lb-ips-from` are united. `epoch` stamps the result.
pub fn merge(parts: &[Part], epoch: u64) -> Result<Merged, Error> {
    if parts.is_empty() {
        return Err(Error::Merge {
            file: "-".to_string(),
            reason: "nothing to merge".to_string(),
        });
    }
    let states = states(parts)?;
    let opts = &states[0].options;
    let summary = merged_summary(&states, parts)?;
    let mut counts = Counts::of(parts)?;
    counts.samples.truncate(opts.samples);
    let audit_config = match &opts.audit {
        Some(o) => Some(AuditConfig::from_options(o).map_err(|e| bad(&parts[0], e.to_string()))?),
        None => None,
    };
    let audit = match &audit_config {
        Some(config) => merged_audit(config, &states, parts)?,
        None => None,
    };
    let audit_note = parts[0]
        .json
        .pointer("/audit/note")
        .or_else(|| parts[0].json.pointer("/audit/skipped"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let audit_view = audit
        .as_ref()
        .map(|a| merged_audit_view(a, &counts.inputs, parts));
    let versions = parts
        .iter()
        .map(nginx_version_of)
        .collect::<Result<Vec<_>, Error>>()?;
    let warnings: Vec<String> = opts
        .audit
        .as_ref()
        .and_then(|_| nginx_rules_warning(parts, &versions))
        .into_iter()
        .collect();
    let view = summary
        .as_ref()
        .map(|s| s.view(&opts.percentiles, opts.top, opts.sort_by()));
    // The version travels on while every part agrees (a merge of merges compares it again).
    let nginx_version = agreed_version(&versions);
    let mergeable = MergeState {
        version: MERGE_VERSION,
        options: opts.clone(),
        summary: summary.as_ref().map(Summary::state),
        audit: audit.as_ref().map(|a| a.state(|at| (at.file, at.line + 1))),
        nginx_version,
    };
    let report = ScanReport {
        format: counts.formats.join(", "),
        inputs: counts.inputs,
        format_detected: counts.detected,
        lines: counts.lines,
        parsed: counts.parsed,
        malformed: counts.malformed,
        samples: counts.samples,
        errors: counts.errors,
        summary: view,
        audit: audit_view,
        audit_note,
        state_notes: None,
        window_seconds: None,
        epoch,
        totals: None,
        metrics: crate::report::model::MetricsOptions::default(),
        filtered: counts.filtered,
        mergeable: serde_json::to_value(&mergeable).ok(),
    };
    Ok(Merged { report, warnings })
}

/// Compares two reports per group (every group they track, not only the ones shown), by
/// count, p50 and p99 of `$request_time`. Refuses reports grouped differently.
pub fn diff(before: &Part, after: &Part) -> Result<Diff, Error> {
    let b = state_of(before)?;
    let a = state_of(after)?;
    if b.options.group_by != a.options.group_by {
        return Err(bad(
            after,
            format!(
                "grouped by {} but {} is grouped by {}; diff compares reports made with the same \
                 --group-by",
                a.options.group_by.as_deref().unwrap_or("nothing"),
                escape_str(&before.name),
                b.options.group_by.as_deref().unwrap_or("nothing"),
            ),
        ));
    }
    let load = |st: &MergeState, part: &Part| -> Result<Summary, Error> {
        let config = Arc::new(st.options.summary_config().map_err(|e| bad(part, e))?);
        let s = st
            .summary
            .as_ref()
            .ok_or_else(|| bad(part, "made with --no-summary: nothing to compare"))?;
        Summary::from_state(config, s).map_err(|e| bad(part, e))
    };
    let sb = load(&b, before)?;
    let sa = load(&a, after)?;
    Ok(crate::summary::diff(&sb, &sa))
}
